"""Blocks: the built-in library, saving a selection, inserting into a network."""
import json

import pytest
import torch

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.interop.blocks import (Block, block_library, entry_block, insert_block, read_block, read_library,
                                    save_block)
from pytorchgui.core.graph.catalog import AUTO, default_catalog
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.errors import NetworkError, NetworkFormatError
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes

BUILTIN = {"conv-bn-relu", "residual block", "bottleneck block", "squeeze-and-excitation", "inception branches",
           "transformer encoder"}


def builtin(name: str) -> Block:
    blocks, problems = block_library()
    assert problems == []
    return next(block for block in blocks if block.name == name)


@pytest.fixture
def lenet():
    return network_format.load(paths.example_networks_dir() / "lenet5.json")


def test_the_library_holds_the_builtin_blocks_each_with_one_entry_and_one_exit():
    blocks, problems = block_library()
    assert problems == [] and {block.name for block in blocks} == BUILTIN
    for block in blocks:
        assert block.builtin and block.description and len(block.entries) == 1 and len(block.exits) == 1


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_block_compiles_and_runs_after_a_stem(name):
    network = Network()
    transformer = name.startswith("transformer")
    network.set_input([10, 32] if transformer else [3, 16, 16])
    stem = network.add_node("Linear" if transformer else "Conv2d", "stem",
                            {"in_features": AUTO, "out_features": 32} if transformer
                            else {"in_channels": AUTO, "out_channels": 32, "kernel_size": 3, "padding": 1},
                            position=(0.0, 0.0), first_layer=True)
    added = insert_block(network, builtin(name), after=stem)
    report = infer_shapes(network)
    assert report.ok, report.problems
    assert network.node(stem).next_layers == [added[0]] and network.outputs() == [added[-1]]
    model = compile_network(network)
    output = model(torch.randn(2, *network.input_spec.shape))
    assert output.shape[0] == 2 and torch.isfinite(output).all()


def test_inserting_into_a_link_rewires_it_and_makes_room_below(lenet):
    lenet.move_node("relu1", (0.0, 100.0))
    lenet.move_node("pool1", (0.0, 200.0))
    before_y = lenet.node("pool1").position[1]
    added = insert_block(lenet, builtin("conv-bn-relu"), into=("relu1", "pool1"))
    assert "pool1" not in lenet.node("relu1").next_layers
    assert lenet.node("relu1").next_layers == [added[0]] and lenet.node(added[-1]).next_layers == ["pool1"]
    assert lenet.node(added[0]).position == (0.0, 196.0)  # one gap below relu1
    assert lenet.node("pool1").position[1] > before_y
    assert lenet.node("pool1").position[1] > lenet.node(added[-1]).position[1]
    # the block gives 32 channels where LeNet's conv2 was set for 6: the one problem, named
    assert [problem.node for problem in infer_shapes(lenet).problems] == ["conv2"]


def test_adding_after_a_node_in_a_chain_puts_the_block_between_it_and_its_next_layer(lenet):
    added = insert_block(lenet, entry_block(default_catalog().layers.get("BatchNorm2d"), lenet.catalog),
                         after="conv1")
    assert added == ["batchnorm2d"]
    assert lenet.node("conv1").next_layers == ["batchnorm2d"] and lenet.node("batchnorm2d").next_layers == ["relu1"]
    assert lenet.node("batchnorm2d").parameters["num_features"] == AUTO
    assert infer_shapes(lenet).ok


def test_a_block_at_a_point_of_an_empty_network_becomes_its_first_layer():
    network = Network()
    added = insert_block(network, builtin("conv-bn-relu"), at=(100.0, 50.0))
    assert network.first_layers == [added[0]] and network.node(added[0]).position == (100.0, 50.0)
    again = insert_block(network, builtin("conv-bn-relu"), at=(400.0, 50.0))
    assert again == ["conv 2", "bn 2", "relu 2"] and network.first_layers == [added[0]]


def test_a_single_entry_starts_with_auto_sizes_then_the_catalogue_new_values_then_its_example():
    catalog = default_catalog()
    values = entry_block(catalog.layers.get("Conv2d"), catalog).network.node("conv2d").parameters
    assert (values["in_channels"], values["out_channels"], values["kernel_size"], values["padding"]) == (AUTO, 16, 3, 1)
    assert entry_block(catalog.layers.get("Linear"), catalog).network.node("linear").parameters["out_features"] == 64
    assert entry_block(catalog.layers.get("MaxPool2d"), catalog).network.node("maxpool2d").parameters["kernel_size"] == 2


@pytest.mark.parametrize("name", [entry.name for entry in default_catalog().layers]
                         + [entry.name for entry in default_catalog().activations])
def test_every_catalogue_entry_goes_in_from_the_palette_with_valid_values(name):
    catalog = default_catalog()
    block = entry_block(catalog.node_entry(name), catalog)  # add_node validates: a bad `new` value raises
    network = Network()
    assert len(insert_block(network, block, at=(0.0, 0.0))) == 1


def test_a_new_value_that_is_not_a_parameter_is_refused_on_load(tmp_path):
    from pytorchgui.core.graph.catalog import FunctionDatabase
    from pytorchgui.core.errors import CatalogError

    path = tmp_path / "layers.json"
    path.write_text(json.dumps({"Linear": {"parameters": {"in_features": {"type": "int", "required": True}},
                                           "new": {"out_features": 64}}}))
    with pytest.raises(CatalogError, match="Linear.new names 'out_features'"):
        FunctionDatabase.from_file(path, "layers")


def test_save_a_selection_as_a_block_and_read_it_back(lenet, tmp_path):
    path = save_block(lenet, ["conv2", "relu2", "pool2"], "  my conv  ", "two convs", tmp_path)
    assert path.name == "my-conv.json"
    block = read_block(path)
    assert block.name == "my conv" and block.entries == ["conv2"] and block.exits == ["pool2"]
    assert block.network.node("conv2").parameters == lenet.node("conv2").parameters
    inserted = insert_block(lenet, block, at=(0.0, 0.0))
    assert inserted == ["conv2 2", "relu2 2", "pool2 2"]
    with pytest.raises(NetworkError, match="name"):
        save_block(lenet, ["conv2"], " ", "", tmp_path)


def test_a_malformed_block_file_is_reported_and_the_others_still_load(tmp_path, lenet):
    save_block(lenet, ["conv1", "relu1"], "good", "", tmp_path)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "hostile.json").write_text(json.dumps({
        "$format": "pytorchgui.block", "$version": 1, "name": "x",
        "network": {"evil": {"type": "os.system", "parameters": {}}}}), encoding="utf-8")
    (tmp_path / "network.json").write_text(network_format.dumps(lenet), encoding="utf-8")
    blocks, problems = read_library([(tmp_path, False)])
    assert [block.name for block in blocks] == ["good"]
    assert len(problems) == 3
    assert any("broken.json is not valid JSON" in p for p in problems)
    assert any("hostile.json" in p and "'os.system' is not a layer" in p for p in problems)
    assert any("network.json is not a PyTorchGUI block file" in p for p in problems)


def test_a_block_with_two_ends_cannot_go_into_a_link(lenet, tmp_path):
    lenet.connect("conv1", "pool1")  # pool1 now takes two inputs; not the point: two ends below
    block = read_block(save_block(lenet, ["relu2", "pool2", "fc1"], "two ends", "", tmp_path))
    assert len(block.exits) == 2
    with pytest.raises(NetworkError, match="2 ends"):
        insert_block(lenet, block, into=("conv1", "relu1"))


def test_multiply_and_add_take_inputs_that_broadcast_but_mean_does_not():
    network = Network()
    network.set_input([4, 8, 8])
    network.add_node("Identity", "x", first_layer=True, next_layers=["pool", "mul", "add", "mean"])
    network.add_node("AdaptiveAvgPool2d", "pool", {"output_size": 1}, next_layers=["mul", "add", "mean"])
    network.add_node("Multiply", "mul")  # squeeze-and-excitation's gate
    network.add_node("Add", "add")  # a bias, a position embedding
    network.add_node("Mean", "mean")
    problems = {problem.node: problem.message for problem in infer_shapes(network).problems}
    assert "mul" not in problems and "add" not in problems and "one shape" in problems["mean"]
    with pytest.raises(NetworkFormatError):
        read_block(paths.example_networks_dir() / "lenet5.json")

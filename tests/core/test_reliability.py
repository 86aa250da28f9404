"""Every error a user can cause is the project's own error, with a message: network files
that are hostile or fuzzed, networks that cannot train, data and memory that do not fit."""
import json

import pytest
import torch

from network_fuzz import run_campaign
from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core import network_format
from pytorchgui.core.catalog import default_catalog
from pytorchgui.core.compiler import compile_network
from pytorchgui.core.data_source import builtin_pair
from pytorchgui.core.errors import NetworkError, NetworkFormatError
from pytorchgui.core.network import Network
from pytorchgui.core.shapes import infer_shapes
from pytorchgui.core.training import Trainer, TrainingConfig, TrainingError

LENET = paths.example_networks_dir() / "lenet5.json"


@pytest.fixture(scope="module")
def shapes():
    train, _ = builtin_pair(256, 64)
    return train


def chain(*nodes, shape=(1, 28, 28)):
    network = Network()
    names = [f"n{index}" for index in range(len(nodes))]
    for index, (type_name, parameters) in enumerate(nodes):
        network.add_node(type_name, names[index], parameters, first_layer=index == 0, strict=False,
                         next_layers=names[index + 1:index + 2])
    network.set_input(list(shape))
    network.set_loss("CrossEntropyLoss")
    network.set_optimizer("Adam")
    return network


def problems(network):
    return " | ".join(problem.message for problem in infer_shapes(network).problems)


def test_fuzzed_network_files_raise_only_the_projects_errors(tmp_path):
    catalog = default_catalog()
    types = [entry.name for database in (catalog.layers, catalog.activations) for entry in database]
    outcomes, failures = run_campaign(1500, seed=2026, examples_dir=paths.example_networks_dir(), work=tmp_path,
                                      catalogue_types=types)
    assert failures == [], failures[:3]
    assert outcomes.get("valid and runs", 0) > 30 and outcomes.get("problems reported", 0) > 100  # it reaches far


def document(**changes):
    data = json.loads(LENET.read_text())
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.mark.parametrize("change, message", [
    ({"$input": {"shape": [1, 4611686018427387904], "dtype": "float32"}}, "values per sample a network here can take"),
    ({"$input": {"shape": [1, 10**400], "dtype": "float32"}}, "of 2 sizes has more than"),
    ({"$optimizer": {"type": "Adam", "parameters": {"lr": 10**400}}}, "'lr' must be a number"),
    ({"conv1": {"type": "Conv2d", "parameters": {"in_channels": 1, "out_channels": 6, "kernel_size": 5},
                "nextLayer": "relu1", "firstLayer": True, "position": [10**400, 0]}}, "position must be [x, y]"),
    ({"output\ud800": {"type": "ReLU"}}, "holds a lone surrogate character"),
    ({"conv1": {"type": "Conv2d", "parameters": {"in_channels": 1, "out_channels": 6, "kernel_size": 5,
                                                 "padding": [0, 28, 28]}, "nextLayer": "relu1", "firstLayer": True}},
     "'padding' must be"),
])
def test_hostile_values_are_refused_on_load(tmp_path, change, message):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(document(**change)), encoding="utf-8")
    try:
        network = network_format.load(path)
    except NetworkFormatError as error:
        assert message in str(error)
        return
    assert message in problems(network)


def test_a_lone_surrogate_cannot_name_a_node():
    with pytest.raises(NetworkError, match="cannot name a node"):
        Network().add_node("ReLU", "output\ud800")


@pytest.mark.parametrize("name", ["forward", "train", "parameters", "_modules", "to", "x", "self"])
def test_nodes_named_like_module_attributes_compile_and_train(shapes, name):
    network = network_format.load(LENET)
    network.rename_node("fc3", name)
    model = compile_network(network)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    result = Trainer(network, shapes, TrainingConfig(epochs=1, batch_size=64)).run()
    assert result.status == "finished"


def test_torch_assertions_are_problems_of_the_node():
    hardtanh = chain(("Flatten", {}), ("Hardtanh", {"min_val": 1e30, "max_val": 1.0}),
                     ("Linear", {"in_features": "auto", "out_features": 10}))
    assert "Hardtanh 'n1' cannot be built with these parameters: max_val (1.0) must be greater" in problems(hardtanh)
    attention = chain(("Flatten", {}), ("Linear", {"in_features": "auto", "out_features": 6}),
                      ("MultiheadAttention", {"embed_dim": "auto", "num_heads": 4}))
    assert "embed_dim must be divisible by num_heads" in problems(attention)


def test_too_many_parameters_in_all_is_a_problem():
    layers = [("Flatten", {})] + [("Linear", {"in_features": "auto", "out_features": 20000})] * 12
    assert "parameters in all; PyTorchGUI builds networks of up to 1,000,000,000" in problems(chain(*layers))


def test_networks_that_cannot_train_say_what_to_change(shapes):
    with pytest.raises(TrainingError, match="the network has no parameters to train: add a layer with weights"):
        Trainer(chain(("Flatten", {})), shapes, TrainingConfig(epochs=1)).run()
    no_flatten = chain(("Linear", {"in_features": "auto", "out_features": 10}))
    assert infer_shapes(no_flatten).ok
    with pytest.raises(TrainingError, match=r"the network's output is \[1, 28, 10\] per sample, but classifying "
                                            r"Shapes \(train\) needs one score per class \(\[10\]\): add a Flatten"):
        Trainer(no_flatten, shapes, TrainingConfig(epochs=1)).run()


def test_activations_larger_than_memory_are_refused_before_training(shapes):
    huge = chain(("Upsample", {"scale_factor": 700.0}), ("Conv2d", {"in_channels": 1, "out_channels": 1,
                                                                      "kernel_size": 1}),
                 ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
                 ("Linear", {"in_features": 1, "out_features": 10}))
    assert infer_shapes(huge).activation_values > 10**8
    with pytest.raises(TrainingError, match=r"training needs about .* GB at batch size 128 but CPU memory is .* GB: "
                                            r"choose (a batch size of at most \d+|a smaller network)"):
        Trainer(huge, shapes, TrainingConfig(epochs=1, batch_size=128)).run()


def test_the_cpu_running_out_of_memory_is_a_message_like_the_gpus(shapes, monkeypatch):
    network = network_format.load(LENET)

    def refuse(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 196689920000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(torch.optim.Adam, "step", refuse)
    with pytest.raises(TrainingError, match="memory ran out of memory at batch size 64: try 32, or a smaller network"):
        Trainer(network, shapes, TrainingConfig(epochs=1, batch_size=64)).run()


def test_validate_reports_instead_of_crashing(capsys, tmp_path):
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(document(**{"$input": {"shape": [1, 4611686018427387904], "dtype": "float32"}})))
    assert main(["validate", str(path)]) == 2  # the file itself is refused: a user error, one line
    err = capsys.readouterr().err
    assert "values per sample a network here can take" in err and err.count("\n") == 1


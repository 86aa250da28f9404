"""Tensor operations as nodes (function_db/tensor_ops.json): each one's inferred shape
against a real forward pass, its JSON round trip, and the Python, torch.export and ONNX
exports agreeing with the compiled network."""
import json

import pytest
import numpy
import torch

from pytorchgui import paths
from pytorchgui.core.graph.catalog import default_catalog
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.core.interop.export import export, python_source
from pytorchgui.core.training import network_format

OPERATIONS = [entry for entry in default_catalog().layers if entry.tensor_operation]
# The operations whose torch.export file is also loaded back and run (a batch-dependent
# shape, several inputs, a parameter, a buffer, randomness): every one is exported to ONNX,
# which goes through torch.export on the way.
TRACED_AGAIN = {"Reshape", "MatMul", "ScaledDotProductAttention", "LearnedTensor", "ConstantTensor", "StochasticDepth",
                "Split", "Slice", "RelativePositionBias"}
# Inputs that stay positive, so Log, Sqrt, Rsqrt and Power give numbers to compare.
POSITIVE = {"Log", "Sqrt", "Rsqrt", "Power", "PowerOf", "Divide"}


def network_around(entry) -> Network:
    """The operation fed by as many branches as it takes inputs, each a different function
    of the network's input (so an operation that swapped its inputs would be caught)."""
    network = Network()
    network.set_input(list(entry.example["input_shape"][1:]), entry.example.get("input_dtype", "float32"))
    network.add_node(entry.name, "operation", dict(entry.example.get("parameters", {})))
    if entry.inputs == 1:
        network.set_first_layer("operation")
        return network
    for index in range(entry.inputs):
        if "branches" in entry.example:  # inputs of their own kinds (indices, updates of the indices' shape)
            type_name, values = entry.example["branches"][index]
            branch = network.add_node(type_name, f"branch{index}", values, first_layer=True)
        elif "input_dtype" in entry.example:  # integers stay integers: |x| and -x
            branch = network.add_node(("Absolute", "Negate")[index % 2], f"branch{index}", first_layer=True)
        else:
            branch = network.add_node("Shift", f"branch{index}", {"offset": 0.5 * index + 0.25}, first_layer=True)
        network.connect(branch, "operation")
    return network


def sample(entry, batch: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *entry.example["input_shape"][1:]), generator=generator)
    if "input_dtype" in entry.example:  # an operation of integers (Bitwise)
        return (x * 8).to(getattr(torch, entry.example["input_dtype"]))
    return x.abs() + 0.5 if entry.name in POSITIVE else x


@pytest.mark.parametrize("entry", OPERATIONS, ids=lambda e: e.name)
def test_inferred_shape_is_the_real_output_shape_for_another_batch_size(entry):
    network = network_around(entry)
    report = infer_shapes(network)
    assert report.ok, report.problems
    output = compile_network(network, report).eval()(sample(entry, batch=5))
    expected = tuple(output.shape[1:])
    assert report.nodes["operation"].output_shape == expected
    if entry.name not in ("LearnedTensor", "ConstantTensor", "RelativePositionBias"):  # broadcast: [1, ...]
        assert output.shape[0] == 5  # the batch is never fixed by the node


@pytest.mark.parametrize("entry", OPERATIONS, ids=lambda e: e.name)
def test_json_round_trip_and_python_export_agree_with_the_compiled_network(entry):
    network = network_around(entry)
    reloaded = network_format.loads(network_format.dumps(network))
    assert reloaded == network
    compiled = compile_network(network).eval()
    again = compile_network(reloaded).eval()
    again.load_state_dict(compiled.state_dict())
    x = sample(entry)
    torch.testing.assert_close(again(x), compiled(x), rtol=0, atol=0)
    namespace = {}
    exec(compile(python_source(network), "exported", "exec"), namespace)  # noqa: S102 - our own generated code
    exported = namespace["Network"]().eval()
    exported.load_state_dict(compiled.state_dict())
    torch.testing.assert_close(exported(x), compiled(x), rtol=0, atol=0)


@pytest.mark.parametrize("entry", OPERATIONS, ids=lambda e: e.name)
def test_onnx_and_torch_export_agree_with_the_compiled_network(entry, tmp_path):
    runtime = pytest.importorskip("onnxruntime")
    network = network_around(entry)
    compiled = compile_network(network).eval()
    torch.save(compiled.state_dict(), tmp_path / "weights.pt")
    x = sample(entry)
    expected = compiled(x).detach()
    if entry.name in TRACED_AGAIN:  # the ONNX export is a torch.export program already: the rest once each there
        export(network, "pt2", tmp_path / "net.pt2", tmp_path / "weights.pt")
        torch.testing.assert_close(torch.export.load(tmp_path / "net.pt2").module()(x), expected, rtol=1e-5,
                                   atol=1e-5)
    export(network, "onnx", tmp_path / "net.onnx", tmp_path / "weights.pt")
    session = runtime.InferenceSession(str(tmp_path / "net.onnx"))
    output = session.run(None, {"input": x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(output), expected, rtol=1e-4, atol=1e-4)


def test_operations_of_several_inputs_take_them_in_link_order():
    entry = default_catalog().layers.get("Subtract")
    network = network_around(entry)  # branch0 = x + 0.25, branch1 = x + 0.75
    x = torch.zeros(2, 3, 4)
    torch.testing.assert_close(compile_network(network)(x), torch.full((2, 3, 4), -0.5))


def test_learned_tensor_trains_and_its_weights_load_by_node_name():
    network = Network()
    network.set_input([4, 8])
    network.add_node("LearnedTensor", "token", {"shape": [1, 8], "batch": "expand"}, first_layer=True)
    network.add_node("Identity", "patches", first_layer=True)
    network.add_node("Concatenate", "tokens", {"dim": 1})
    network.add_node("Select", "class_token", {"dim": 1, "index": 0})
    for source, target in (("token", "tokens"), ("patches", "tokens"), ("tokens", "class_token")):
        network.connect(source, target)
    report = infer_shapes(network)
    assert report.ok and report.nodes["tokens"].output_shape == (5, 8)
    assert report.nodes["token"].parameter_count == 8
    model = compile_network(network, report)
    assert list(model.state_dict()) == ["token.weight"]
    before = model.token.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(6, 4, 8)).pow(2).sum().backward()
    optimizer.step()
    assert not torch.equal(model.token.weight, before)


def test_stochastic_depth_drops_whole_samples_while_training_only():
    entry = default_catalog().layers.get("StochasticDepth")
    module = entry.build({"p": 0.5})
    torch.manual_seed(0)
    x = torch.ones(64, 3, 4)
    dropped = module.train()(x)
    per_sample = dropped.flatten(1)
    assert set(per_sample.unique().tolist()) == {0.0, 2.0}  # kept samples scaled by 1 / (1 - p)
    assert all(len(row.unique()) == 1 for row in per_sample)  # a sample is dropped whole
    assert torch.equal(module.eval()(x), x)


def test_reduce_matches_the_torch_methods_it_stands_for():
    x = torch.randn(2, 3, 4, 5)
    catalog = default_catalog().layers
    for operation, expected in (("mean", x.mean((2, 3))), ("max", x.amax((2, 3))), ("std", x.std((2, 3))),
                                ("sum", x.sum((2, 3))), ("norm", x.norm(p=2, dim=(2, 3)))):
        torch.testing.assert_close(catalog.get("Reduce").build({"operation": operation, "dim": [2, 3]})(x), expected)


def test_a_wrong_permutation_names_the_node():
    network = Network()
    network.set_input([3, 4])
    network.add_node("Permute", "to channels last", {"dims": [0, 2]}, first_layer=True)
    report = infer_shapes(network)
    assert not report.ok
    assert "to channels last" in report.problems[0].message


def test_the_catalogue_file_documents_every_operation_it_lists():
    raw = json.loads((paths.function_db_dir() / "tensor_ops.json").read_text())
    assert [entry.name for entry in OPERATIONS] == list(raw)
    for name, entry in raw.items():
        assert len(entry["description"]) > 20, name


def test_a_position_embedding_broadcasts_onto_every_sample_through_add():
    network = Network()
    network.set_input([5, 8])
    network.add_node("Identity", "tokens", first_layer=True)
    network.add_node("LearnedTensor", "position", {"shape": [5, 8]}, first_layer=True)
    network.add_node("Add", "embedded")
    network.connect("tokens", "embedded")
    network.connect("position", "embedded")
    report = infer_shapes(network)
    assert report.ok, report.problems
    assert report.nodes["position"].output_shape == (5, 8) and report.nodes["embedded"].output_shape == (5, 8)
    model = compile_network(network, report)
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(model(x), x + model.position.weight)


def test_moving_an_input_first_changes_what_subtract_computes_and_nothing_else():
    network = network_around(default_catalog().layers.get("Subtract"))
    network.move_input_first("operation", "branch1")
    assert network.inputs_of("operation") == ["branch1", "branch0"]
    x = torch.zeros(2, 3, 4)
    torch.testing.assert_close(compile_network(network)(x), torch.full((2, 3, 4), 0.5))
    network.move_input_first("operation", "branch1")  # already first: unchanged
    assert network.inputs_of("operation") == ["branch1", "branch0"]
    with pytest.raises(Exception, match="'operation' is not an input of 'branch0'"):
        network.move_input_first("branch0", "operation")


def test_rms_norm_and_the_vector_norm_export_to_onnx_with_the_same_outputs(tmp_path):
    """The two entries timm's importer added: RMSNorm (a layer) and Reduce's "norm"."""
    runtime = pytest.importorskip("onnxruntime")
    network = Network()
    network.set_input([4, 8])
    network.add_node("RMSNorm", "rms", {"normalized_shape": 8, "eps": 1e-6}, first_layer=True)
    network.add_node("Reduce", "length", {"operation": "norm", "dim": 2, "keepdim": True})
    network.add_node("Divide", "unit")
    for source, target in (("rms", "length"), ("rms", "unit"), ("length", "unit")):
        network.connect(source, target)
    compiled = compile_network(network).eval()
    with torch.no_grad():
        compiled.rms.weight.uniform_(0.5, 1.5)
    x = torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(1))
    expected = compiled(x).detach()
    rms = torch.nn.functional.rms_norm(x, (8,), compiled.rms.weight, 1e-6)
    torch.testing.assert_close(expected, rms / rms.norm(dim=2, keepdim=True))
    torch.save(compiled.state_dict(), tmp_path / "weights.pt")
    export(network, "onnx", tmp_path / "net.onnx", tmp_path / "weights.pt")
    output = runtime.InferenceSession(str(tmp_path / "net.onnx")).run(None, {"input": x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(output), expected, rtol=1e-4, atol=1e-5)


def test_remainder_is_pythons_modulo_also_for_infinite_divisors():
    """torch.remainder gives NaN for 5 % inf; Python, numpy and ONNX's Mod give 5."""
    from pytorchgui.core.graph.tensor_ops import Remainder

    first = torch.tensor([5.0, -5.0, 5.0, -5.0, 7.0, -7.0, float("inf")])
    second = torch.tensor([float("inf"), float("inf"), -float("inf"), -float("inf"), 3.0, 3.0, 2.0])
    expected = torch.from_numpy(numpy.mod(first.numpy(), second.numpy()))
    torch.testing.assert_close(Remainder()(first, second), expected, equal_nan=True)
    torch.testing.assert_close(Remainder()(torch.tensor([7, -7, 7, -7]), torch.tensor([3, 3, -3, -3])),
                               torch.tensor([1, 2, -2, -1]))
    torch.testing.assert_close(Remainder(fmod=True)(torch.tensor([-7.0]), torch.tensor([3.0])), torch.tensor([-1.0]))

"""Importing ONNX files: our own exports round-trip, other operators and bad files are named."""
import re

import pytest
import torch

from pytorchgui import cli, paths
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.export import export
from pytorchgui.core.interop.onnx_import import OnnxImportError, import_onnx
from tests.readme import paragraph
from bench import onnx_corpus as corpus
import numpy as np

onnx = pytest.importorskip("onnx")


EXAMPLES = sorted(path.stem for path in paths.example_networks_dir().glob("*.json"))
# The examples whose ONNX export does not import back, with what says so; the README names
# the same ones (the last test here).
NOT_IMPORTED_BACK = {
    "legacy_example": r"does not compile",  # nothing to export until its zeros are set
    "lstm_sequences": r"\(LSTM\): an LSTM",
    "lstm_series": r"\(LSTM\): an LSTM",
    # PyTorch's attention is exported with the tokens first, the batch second
    "transformer_sequences": r"\(Transpose\): moves the batch away from the first dimension",
    "vit_tiny": r"\(Transpose\): moves the batch away from the first dimension",
}
IMPORTED_BACK = [name for name in EXAMPLES if name not in NOT_IMPORTED_BACK]


def _export_and_import(name, tmp_path):
    """(the example's network, its compiled model with seeded weights, the ONNX file
    imported back as network and weights)."""
    network = network_format.load(paths.example_networks_dir() / f"{name}.json")
    torch.manual_seed(0)
    model = compile_network(network).eval()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    export(network, "onnx", tmp_path / "net.onnx", tmp_path / "weights.pt", None)
    return network, model, import_onnx(tmp_path / "net.onnx")


@pytest.mark.parametrize("name", IMPORTED_BACK)
def test_our_onnx_export_of_each_example_imports_back_to_the_same_outputs(name, tmp_path):
    network, model, (imported, weights) = _export_and_import(name, tmp_path)
    assert imported.input_spec.shape == network.input_spec.shape
    again = compile_network(imported).eval()
    again.load_state_dict(weights)
    x = torch.randn(4, *network.input_spec.shape)
    with torch.no_grad():
        ours, theirs = again(x), model(x)
    for mine, original in zip(*(o if isinstance(o, tuple) else (o,) for o in (ours, theirs)), strict=True):
        assert (mine - original).abs().max() <= 1e-5  # every output (auxiliary_head_cnn has two)
    weighted = {name.split(".")[0] for name in weights}
    if name != "convnext_tiny":  # its export spells a layer scale and a channels-first norm as MatMul and Mul
        assert weighted and weighted <= set(network.nodes)  # named after the weights' module paths


@pytest.mark.parametrize("name", sorted(NOT_IMPORTED_BACK))
def test_the_examples_whose_export_does_not_import_back_are_refused_saying_why(name, tmp_path):
    with pytest.raises(PyTorchGUIError, match=NOT_IMPORTED_BACK[name]):
        _export_and_import(name, tmp_path)


def test_the_readme_names_the_examples_whose_export_imports_back_and_those_whose_does_not():
    text = paragraph("`import MODEL.onnx")
    imported, refused = text.split("own ONNX export", 1)[1].split("imports back", 1)

    def examples(part):
        return sorted(set(re.findall(r"`([a-z0-9_]+)`", part)) & set(EXAMPLES))
    assert examples(imported) == IMPORTED_BACK
    assert examples(refused) == sorted(NOT_IMPORTED_BACK)


def _single_node_model(tmp_path, op_type, **attributes):
    from onnx import TensorProto, helper

    node = helper.make_node(op_type, ["x"], ["y"], name="the_node", **attributes)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / f"{op_type}.onnx")
    return tmp_path / f"{op_type}.onnx"


def test_an_operator_without_a_catalogue_entry_is_named_with_its_node(tmp_path):
    with pytest.raises(OnnxImportError, match=r"node 'the_node' \(MeanVarianceNormalization\): the operator "
                                              r"MeanVarianceNormalization has no PyTorchGUI"):
        import_onnx(_single_node_model(tmp_path, "MeanVarianceNormalization"))
    lrn, _ = import_onnx(_single_node_model(tmp_path, "LRN", size=3))
    assert [node.type for node in lrn.nodes.values()] == ["LocalResponseNorm"]
    relu, _ = import_onnx(_single_node_model(tmp_path, "Relu"))
    assert [node.type for node in relu.nodes.values()] == ["ReLU"] and relu.input_spec.shape == [3, 8, 8]


def test_a_malformed_or_hostile_file_is_refused_and_nothing_is_written(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(OnnxImportError, match="bad.onnx is not a valid ONNX model"):
        import_onnx(tmp_path / "bad.onnx")
    assert cli.main(["import", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "x.json")]) == cli.USER_ERROR
    assert "is not a valid ONNX model" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_the_command_line_imports_an_onnx_file_with_its_weights(tmp_path, capsys):
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    export(network, "onnx", tmp_path / "lenet.onnx", None, None)
    assert cli.main(["import", str(tmp_path / "lenet.onnx"), "-o", str(tmp_path / "lenet.json"), "--weights-out",
                     str(tmp_path / "lenet.pt")]) == 0
    imported = network_format.load(tmp_path / "lenet.json")
    compile_network(imported).load_state_dict(torch.load(tmp_path / "lenet.pt", weights_only=True))
    assert "12 nodes" in capsys.readouterr().err


def _operator_file(name):
    data = corpus.data_dir()
    if data is None:
        pytest.skip("the onnx package ships no backend test data here")
    return data / "pytorch-operator" / name / "model.onnx"


def test_a_gemm_of_three_inputs_from_addmm_is_refused_cleanly_not_with_an_internal_error(tmp_path, capsys):
    # It ended in "internal error (a bug in PyTorchGUI): KeyError: '1'" with exit 3.
    path = _operator_file("test_operator_addmm")
    # Its three inputs are read now; the Gemm of two computed tensors is refused naming it.
    with pytest.raises(OnnxImportError, match=r"node '3' \(Gemm\): multiplies two computed tensors .*export it as "
                                              r"MatMul, Mul and Add"):
        import_onnx(path)
    assert cli.main(["import", str(path), "-o", str(tmp_path / "x.json")]) == cli.USER_ERROR
    assert "node '3' (Gemm)" in capsys.readouterr().err


def _imports_exactly(case):
    network, weights = import_onnx(case.path)
    model = compile_network(network).eval()
    model.load_state_dict(weights)
    references = case.outputs or corpus.onnxruntime_outputs(case.path, case.inputs)
    with torch.no_grad():
        output = model(torch.from_numpy(case.inputs[0])).numpy()
    assert corpus.close(output, references[0]), abs(output - references[0]).max()
    return network


def test_a_model_zoo_cnn_computing_its_weights_with_constant_of_shape_gives_onnxruntimes_output(tmp_path):
    # SqueezeNet: ConstantOfShape weights folded, Concat, GlobalAveragePool (the nine run in
    # bench/bench_onnx_corpus.py: AlexNet alone takes a minute). The light models' weights
    # are all 0.02: random ones make a wrong mapping show.
    name = "light_squeezenet"
    path = next((path for path in corpus.light_models() if path.stem == name), None)
    if path is None:
        pytest.skip("the onnx package ships no light models here")
    model = corpus.with_random_weights(onnx.load(str(path)))
    onnx.save(model, str(tmp_path / "random.onnx"))
    network = _imports_exactly(corpus.Case("light", name, tmp_path / "random.onnx", [corpus.random_input(model)], None))
    assert "ConstantOfShape" not in {node.type for node in network.nodes.values()}


def _graph_file(tmp_path, nodes, initializers=(), input_shape=(2, 3, 4, 5), output_rank=4, opset=18):
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                             [f"d{index}" for index in range(output_rank)])],
                              [numpy_helper.from_array(np.asarray(value), name) for name, value in initializers])
    path = tmp_path / "graph.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def _check(path, input_shape=(2, 3, 4, 5)):
    x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float32)
    return _imports_exactly(corpus.Case("made", "graph", path, [x], corpus.onnxruntime_outputs(path, [x])))


def test_a_shape_chain_to_reshape_is_folded_at_two_batch_sizes_and_keeps_the_batch(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
             helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
             helper.make_node("Concat", ["batch1", "rest"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"])]
    path = _graph_file(tmp_path, nodes, [("zero", np.array(0)), ("axes", np.array([0])),
                                         ("rest", np.array([-1, 5]))], output_rank=3)
    network = _check(path)
    assert [(node.type, node.parameters) for node in network.nodes.values()] == [("Reshape", {"shape": [12, 5]})]


def test_operations_of_the_catalogue_with_constants_and_on_any_axis_give_onnxruntimes_output(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1, 3]),
             helper.make_node("Softmax", ["t"], ["s"], axis=2),
             helper.make_node("Mul", ["s", "scale"], ["m"]),
             helper.make_node("Sub", ["one", "m"], ["d"]),
             helper.make_node("Split", ["d", "sizes"], ["a", "b"], axis=3),
             helper.make_node("Pad", ["a", "pads"], ["p"], mode="reflect"),
             helper.make_node("Slice", ["p", "starts", "ends", "slice_axes"], ["sl"]),
             helper.make_node("Sum", ["sl", "b", "b"], ["sum"]),
             helper.make_node("Clip", ["sum", "low", "high"], ["c"]),
             helper.make_node("ReduceMean", ["c", "mean_axes"], ["y"], keepdims=0)]
    initializers = [("scale", np.arange(5, dtype=np.float32)), ("one", np.float32(1.0)), ("sizes", np.array([2, 3])),
                    ("pads", np.array([0, 0, 0, 1, 0, 0, 0, 1])), ("starts", np.array([1])), ("ends", np.array([4])),
                    ("slice_axes", np.array([-1])), ("low", np.float32(-0.5)), ("high", np.float32(2.0)),
                    ("mean_axes", np.array([1]))]
    types = {node.type for node in _check(_graph_file(tmp_path, nodes, initializers, output_rank=3)).nodes.values()}
    assert {"Permute", "Softmax", "ConstantTensor", "Multiply", "Negate", "Split", "Pad", "Slice", "Add", "Clamp",
            "Reduce"} <= types


def test_an_operation_across_the_batch_is_refused_naming_the_node_and_what_to_do(tmp_path):
    from onnx import helper

    path = _graph_file(tmp_path, [helper.make_node("Transpose", ["x"], ["y"], name="swap", perm=[1, 0, 2, 3])])
    with pytest.raises(OnnxImportError, match=r"node 'swap' \(Transpose\): moves the batch away from the first "
                                              r"dimension \(perm \[1, 0, 2, 3\]\) \(keep the batch"):
        import_onnx(path)


class _TwoInTwoOut(torch.nn.Module):
    """Two inputs of different widths, two outputs, the second also taken by the first
    (so it needs an end of its own), returned in the order opposite to the graph's."""

    def __init__(self):
        super().__init__()
        self.image_path, self.extra_path = torch.nn.Linear(4, 3), torch.nn.Linear(5, 3)

    def forward(self, image, extra):
        joined = self.image_path(image) + self.extra_path(extra)
        return joined, torch.relu(joined)


def test_a_graph_of_two_inputs_and_two_outputs_imports_as_a_network_of_named_inputs_and_outputs(tmp_path):
    runtime = pytest.importorskip("onnxruntime")
    path = tmp_path / "two.onnx"
    torch.onnx.export(_TwoInTwoOut(), (torch.randn(2, 4), torch.randn(2, 5)), path, input_names=["image", "extra"],
                      output_names=["joined", "activated"], dynamo=False)
    network, weights = import_onnx(path)
    assert [(spec.name, spec.shape) for spec in network.inputs] == [("image", [4]), ("extra", [5])]
    assert [network.input_feeding(name) for name in network.first_layers] == ["image", "extra"]
    network = network_format.loads(network_format.dumps(network))
    model = compile_network(network).eval()
    model.load_state_dict(weights)
    image, extra = np.random.randn(2, 4).astype("float32"), np.random.randn(2, 5).astype("float32")
    expected = runtime.InferenceSession(str(path)).run(None, {"image": image, "extra": extra})
    with torch.no_grad():
        outputs = model(torch.from_numpy(image), torch.from_numpy(extra))
    assert len(outputs) == 2  # in the graph's order: joined, then activated
    for output, reference in zip(outputs, expected):
        assert corpus.close(output.numpy(), reference)
    assert cli.main(["import", str(path), "-o", str(tmp_path / "two.json")]) == 0
    assert [spec.name for spec in network_format.load(tmp_path / "two.json").inputs] == ["image", "extra"]


def test_an_output_no_node_gives_is_refused_naming_it_not_with_an_internal_error(tmp_path):
    # onnx's node test of Dropout returning its mask ended in an internal error (exit 3).
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Dropout", ["x"], ["y", "mask"], name="drop")], "dropout",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4]),
         helper.make_tensor_value_info("mask", TensorProto.BOOL, [1, 3, 4])])
    path = tmp_path / "dropout.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(OnnxImportError, match=r"its output 'mask' is not a tensor a PyTorchGUI node gives .*export "
                                              r"the model without that output"):
        import_onnx(path)
    assert cli.main(["import", str(path), "-o", str(tmp_path / "x.json")]) == cli.USER_ERROR


def test_comparisons_logic_where_casts_argmax_and_functions_give_onnxruntimes_output(tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Less", ["x", "zero"], ["negative"]),
             helper.make_node("Floor", ["x"], ["floor"]),
             helper.make_node("Greater", ["x", "floor"], ["fraction"]),
             helper.make_node("Not", ["fraction"], ["whole"]),
             helper.make_node("Xor", ["negative", "whole"], ["chosen"]),
             helper.make_node("Erf", ["x"], ["erf"]),
             helper.make_node("ArgMax", ["x"], ["largest"], axis=3, keepdims=1, select_last_index=1),
             helper.make_node("Cast", ["largest"], ["index"], to=TensorProto.FLOAT),
             helper.make_node("Where", ["chosen", "erf", "index"], ["y"])]
    network = _check(_graph_file(tmp_path, nodes, [("zero", np.float32(0.0))]))
    assert {"Compare", "Function", "LogicalNot", "Logical", "ArgReduce", "Cast", "Where"} <= {
        node.type for node in network.nodes.values()}


def test_a_rank_1_input_is_one_number_per_sample(tmp_path):
    from onnx import helper

    network = _check(_graph_file(tmp_path, [helper.make_node("Sign", ["x"], ["y"])], input_shape=(7,), output_rank=1),
                     input_shape=(7,))
    assert network.input_spec.shape == [] and network_format.loads(network_format.dumps(network)) == network


def test_a_cast_to_a_type_no_network_holds_is_refused_naming_the_type(tmp_path):
    from onnx import TensorProto, helper

    path = _graph_file(tmp_path, [helper.make_node("Cast", ["x"], ["y"], name="to_text", to=TensorProto.STRING)])
    with pytest.raises(OnnxImportError, match=r"node 'to_text' \(Cast\): converts to string, a type PyTorchGUI's "
                                              r"networks cannot hold \(convert to and from float"):
        import_onnx(path)


def test_a_constant_cast_like_a_computed_tensor_is_folded(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("CastLike", ["half", "x"], ["typed_half"]),
             helper.make_node("Mul", ["x", "typed_half"], ["y"])]
    network = _check(_graph_file(tmp_path, nodes, [("half", np.float64(0.5))]))
    assert [(node.type, node.parameters) for node in network.nodes.values()] == [("Scale", {"factor": 0.5})]


@pytest.mark.parametrize("rank", [3, 4])
def test_onnx_attention_with_grouped_heads_softcap_and_causal_mask_gives_onnxruntimes_output(tmp_path, rank):
    from onnx import TensorProto, helper

    shapes = {"Q": [2, 4, 12], "K": [2, 5, 6], "V": [2, 5, 6]} if rank == 3 else \
        {"Q": [2, 4, 3, 3], "K": [2, 2, 5, 3], "V": [2, 2, 5, 3]}
    heads = {"q_num_heads": 4, "kv_num_heads": 2} if rank == 3 else {}
    node = helper.make_node("Attention", ["Q", "K", "V"], ["Y"], is_causal=1, softcap=2.0, scale=0.4, **heads)
    graph = helper.make_graph([node], "attention",
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
                               for name, shape in shapes.items()],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, shapes["Q"])])
    path = tmp_path / "attention.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), path)
    inputs = [np.random.default_rng(index).standard_normal(shape).astype(np.float32)
              for index, shape in enumerate(shapes.values())]
    network, weights = import_onnx(path)
    assert "Attention" in {node.type for node in network.nodes.values()}
    with torch.no_grad():
        output = compile_network(network).eval()(*map(torch.from_numpy, inputs))
    assert corpus.close(output.numpy(), corpus.onnxruntime_outputs(path, inputs)[0])


def test_bitwise_operations_of_integer_inputs_give_onnxruntimes_output(tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("BitwiseXor", ["a", "b"], ["xor"]), helper.make_node("BitwiseAnd", ["xor", "a"], ["and"]),
             helper.make_node("BitwiseNot", ["and"], ["y"])]
    graph = helper.make_graph(nodes, "bits", [helper.make_tensor_value_info(name, TensorProto.INT32, [2, 3])
                                              for name in "ab"],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])])
    path = tmp_path / "bits.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    inputs = [np.random.default_rng(index).integers(-50, 50, (2, 3)).astype(np.int32) for index in range(2)]
    network, _ = import_onnx(path)
    assert [spec.dtype for spec in network.inputs] == ["int64", "int64"]  # the shapes inferred with integers
    output = compile_network(network).eval()(*map(torch.from_numpy, inputs))
    assert np.array_equal(output.numpy(), corpus.onnxruntime_outputs(path, inputs)[0])


def test_einsum_keeping_the_batch_and_mod_give_onnxruntimes_output_and_an_einsum_across_it_is_refused(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Mod", ["x", "divisor"], ["rest"], fmod=1),
             helper.make_node("Einsum", ["x", "rest"], ["y"], equation="bcij, bckj -> bcik")]
    network = _check(_graph_file(tmp_path, nodes, [("divisor", np.float32(0.7))]))
    assert {"Remainder", "Einsum"} <= {node.type for node in network.nodes.values()}
    path = _graph_file(tmp_path, [helper.make_node("Einsum", ["x"], ["y"], name="swap", equation="bcij->cbij")])
    with pytest.raises(OnnxImportError, match=r"node 'swap' \(Einsum\): sums over the batch or moves it \(equation "
                                              r"'bcij->cbij'\) \(keep the batch as the first index"):
        import_onnx(path)


def test_lp_normalization_swish_and_a_number_divided_by_a_tensor_give_onnxruntimes_output(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("LpNormalization", ["x"], ["unit"], axis=1, p=1),
             helper.make_node("Swish", ["unit"], ["swished"], alpha=1.5),
             helper.make_node("Add", ["swished", "two"], ["positive"]),
             helper.make_node("Div", ["three", "positive"], ["y"])]
    network = _check(_graph_file(tmp_path, nodes, [("two", np.float32(2.0)), ("three", np.float32(3.0))], opset=24))
    assert {"Normalize", "Sigmoid", "PowerOf", "Scale"} <= {node.type for node in network.nodes.values()}


def test_grid_sample_of_an_image_at_a_grid_input_gives_onnxruntimes_output(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("GridSample", ["X", "grid"], ["Y"], mode="cubic", padding_mode="reflection", align_corners=1)
    graph = helper.make_graph([node], "warp", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3, 5, 4]),
                                               helper.make_tensor_value_info("grid", TensorProto.FLOAT, [2, 6, 7, 2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3, 6, 7])])
    path = tmp_path / "warp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]), path)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 3, 5, 4)).astype(np.float32), rng.uniform(-1.2, 1.2, (2, 6, 7, 2)).astype(np.float32)]
    network, _ = import_onnx(path)
    with torch.no_grad():
        output = compile_network(network).eval()(*map(torch.from_numpy, inputs))
    assert corpus.close(output.numpy(), corpus.onnxruntime_outputs(path, inputs)[0])


def test_a_loss_per_sample_with_its_log_probabilities_imports_and_one_averaged_over_the_batch_is_refused(tmp_path):
    from onnx import TensorProto, helper

    def loss_file(reduction):
        node = helper.make_node("SoftmaxCrossEntropyLoss", ["scores", "labels"], ["loss", "log_prob"], name="xent",
                                reduction=reduction, ignore_index=1)
        graph = helper.make_graph([node], "loss", [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [3, 5, 2]),
                                                   helper.make_tensor_value_info("labels", TensorProto.INT64, [3, 2])],
                                  [helper.make_tensor_value_info("loss", TensorProto.FLOAT, [3, 2]),
                                   helper.make_tensor_value_info("log_prob", TensorProto.FLOAT, [3, 5, 2])])
        path = tmp_path / f"{reduction}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
        return path

    path = loss_file("none")
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((3, 5, 2)).astype(np.float32), rng.integers(0, 5, (3, 2))]
    network, _ = import_onnx(path)
    with torch.no_grad():
        outputs = compile_network(network).eval()(*map(torch.from_numpy, inputs))
    for output, reference in zip(outputs, corpus.onnxruntime_outputs(path, inputs), strict=True):
        assert corpus.close(output.numpy(), reference)
    with pytest.raises(OnnxImportError, match=r"node 'xent' \(SoftmaxCrossEntropyLoss\): averages the loss over the "
                                              r"batch \(reduction 'mean'\) \(export it with reduction 'none'"):
        import_onnx(loss_file("mean"))


def test_hardmax_gather_and_scatter_elements_give_onnxruntimes_output(tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Hardmax", ["x"], ["hard"], axis=1),
             helper.make_node("GatherElements", ["x", "positions"], ["picked"], axis=2),
             helper.make_node("ScatterElements", ["hard", "positions", "picked"], ["y"], axis=2, reduction="add")]
    graph = helper.make_graph(nodes, "indexed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
                                                 helper.make_tensor_value_info("positions", TensorProto.INT64, [2, 3, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
    path = tmp_path / "indexed.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 3, 4)).astype(np.float32), rng.integers(-4, 4, (2, 3, 2))]
    network, _ = import_onnx(path)
    assert {"Hardmax", "GatherElements", "ScatterElements"} <= {node.type for node in network.nodes.values()}
    with torch.no_grad():
        output = compile_network(network).eval()(*map(torch.from_numpy, inputs))
    assert corpus.close(output.numpy(), corpus.onnxruntime_outputs(path, inputs)[0])


def test_a_constant_number_beside_a_rank_1_input_keeps_the_output_one_number_per_sample(tmp_path):
    # LeakyRelu as onnx's expanded function writes it: the constants broadcast to [1], not [1, 1]
    from onnx import helper

    nodes = [helper.make_node("Less", ["x", "zero"], ["negative"]), helper.make_node("Mul", ["x", "slope"], ["scaled"]),
             helper.make_node("Where", ["negative", "scaled", "x"], ["y"])]
    _check(_graph_file(tmp_path, nodes, [("zero", np.float32(0.0)), ("slope", np.float32(0.1))], input_shape=(5,),
                       output_rank=1), input_shape=(5,))


def test_a_quotient_of_integers_is_truncated_as_onnx_does(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Div", ["a", "b"], ["y"])], "div",
                              [helper.make_tensor_value_info(name, TensorProto.INT32, [2, 3]) for name in "ab"],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])])
    path = tmp_path / "div.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), path)
    inputs = [np.array([[7, -7, 9], [1, -3, 100]], np.int32), np.array([[2, 2, -4], [3, 2, 7]], np.int32)]
    network, _ = import_onnx(path)
    output = compile_network(network).eval()(*map(torch.from_numpy, inputs))
    assert np.array_equal(output.numpy(), corpus.onnxruntime_outputs(path, inputs)[0])  # 3, -3, -2; 0, -1, 14

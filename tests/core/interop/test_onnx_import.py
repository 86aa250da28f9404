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

onnx = pytest.importorskip("onnx")


EXAMPLES = sorted(path.stem for path in paths.example_networks_dir().glob("*.json"))
# The examples whose ONNX export does not import back, with what says so; the README names
# the same ones (the last test here).
NOT_IMPORTED_BACK = {
    "legacy_example": r"does not compile",  # nothing to export until its zeros are set
    "lstm_sequences": r"node 'node_embedding' \(Gather\): an Embedding",
    "lstm_series": r"\(LSTM\): an LSTM",
    "transformer_sequences": r"node 'node_embedding' \(Gather\): an Embedding",
    "convnext_tiny": r"\(LayerNormalization\): a layer normalisation",
    "vit_tiny": r"\(LayerNormalization\): a layer normalisation",
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
    with pytest.raises(OnnxImportError, match=r"node 'the_node' \(LRN\): the operator LRN has no PyTorchGUI"):
        import_onnx(_single_node_model(tmp_path, "LRN", size=3))
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

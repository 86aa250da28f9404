"""The three exports of networks with two inputs and two outputs agree with the compiled module."""
import pytest
import torch

from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.export import ExportError, export, python_source
from pytorchgui.core.data.samples import Normalization

from tests.core.graph.test_several_inputs_outputs import two_in_two_out


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    network = two_in_two_out()
    compiled = compile_network(network).eval()
    torch.save(compiled.state_dict(), folder / "weights.pt")
    return network, compiled, folder


def inputs():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(3, 1, 6, 6, generator=generator), torch.randn(3, 3, generator=generator)


def test_python_export_takes_both_inputs_and_returns_both_outputs(saved):
    network, compiled, _ = saved
    source = python_source(network)
    assert "Inputs per sample, in order: image [1, 6, 6], metadata [3]; it returns a tuple of classes, value" in source
    namespace = {}
    exec(compile(source, "exported", "exec"), namespace)  # noqa: S102 - our own generated code
    exported = namespace["Network"]().eval()
    exported.load_state_dict(compiled.state_dict())
    for mine, theirs in zip(exported(*inputs()), compiled(*inputs())):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0)


def test_pt2_export_agrees(saved):
    network, compiled, folder = saved
    export(network, "pt2", folder / "net.pt2", folder / "weights.pt")
    program = torch.export.load(folder / "net.pt2").module()
    for mine, theirs in zip(program(*inputs()), compiled(*inputs())):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-5)


def test_onnx_export_names_inputs_and_outputs(saved):
    runtime = pytest.importorskip("onnxruntime")
    network, compiled, folder = saved
    export(network, "onnx", folder / "net.onnx", folder / "weights.pt")
    session = runtime.InferenceSession(str(folder / "net.onnx"))
    assert [i.name for i in session.get_inputs()] == ["image", "metadata"]
    assert [o.name for o in session.get_outputs()] == ["classes", "value"]
    image, metadata = inputs()
    results = session.run(None, {"image": image.numpy(), "metadata": metadata.numpy()})
    for mine, theirs in zip(results, compiled(image, metadata)):
        torch.testing.assert_close(torch.from_numpy(mine), theirs.detach(), rtol=1e-4, atol=1e-4)


def test_one_inputs_normalisation_is_refused_for_two(saved):
    network, _, folder = saved
    with pytest.raises(ExportError, match="takes 2 inputs and the normalisation is one input's"):
        export(network, "python", folder / "n.py", normalization=Normalization([0.5], [0.2]))

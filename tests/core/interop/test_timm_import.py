"""Importing timm models (the optional extra) into editable networks, with their weights."""
import pytest
import torch

from pytorchgui import cli
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.importers import ImportError_, convert_weights
from pytorchgui.core.training import network_format

timm = pytest.importorskip("timm")
from pytorchgui.core.interop import timm_import  # noqa: E402 - after the skip: it needs timm to test anything

SMALL = {  # representative families, cut to a few blocks so that each test stays well under 2 s
    "vit_tiny_patch16_224": ({"img_size": 32, "depth": 2}, [3, 32, 32]),  # class token, position embedding, qkv
    "test_resnet": ({}, [3, 32, 32]),
    "convnext_atto": ({"depths": (1, 1, 1, 1), "dims": (8, 16, 24, 32)}, [3, 32, 32]),  # LayerNorm2d, layer scale
    "test_efficientnet": ({"pad_type": "same"}, [3, 32, 32]),  # Conv2dSame,
    # BatchNormAct2d, squeeze-excite gates
}


@pytest.mark.parametrize("name", SMALL)
def test_a_timm_model_imports_exactly_after_a_json_round_trip(name):
    kwargs, shape = SMALL[name]
    torch.manual_seed(0)
    original = timm.create_model(name, pretrained=False, **kwargs).eval()
    with torch.no_grad():  # zero-initialised class tokens and layer scales would hide a difference
        for parameter in original.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)
    imported = timm_import.trace_timm(original, name, shape)
    weights = convert_weights(imported, original.state_dict())
    model = compile_network(network_format.loads(network_format.dumps(imported.network))).eval()
    model.load_state_dict(weights)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = original(x)
        assert (model(x) - expected).abs().max() <= 1e-4 * expected.abs().max()


def test_timm_modules_kept_whole_become_catalogue_nodes():
    original = timm.create_model("test_efficientnet", pad_type="same").eval()
    network = timm_import.trace_timm(original, "test_efficientnet", [3, 32, 32]).network
    assert network.node("conv_stem.pad").type == "Pad" and network.node("conv_stem").type == "Conv2d"
    assert network.node("bn1").type == "BatchNorm2d" and network.node("bn1.act").type == "SiLU"


def test_the_command_line_writes_a_timm_network(tmp_path, capsys):
    assert cli.main(["import", "timm:test_resnet", "-o", str(tmp_path / "net.json")]) == 0
    network = network_format.load(tmp_path / "net.json")
    assert network.node("fc").type == "Linear" and "timm:test_resnet" in capsys.readouterr().err
    assert cli.main(["import", "timm:no_such_model", "-o", str(tmp_path / "x.json")]) == cli.USER_ERROR
    assert "timm has no model 'no_such_model'" in capsys.readouterr().err


def test_pretrained_weights_that_cannot_be_fetched_say_so(monkeypatch):
    def offline(name, pretrained=False, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(PyTorchGUIError, match="cannot fetch timm's pretrained weights of resnet18 from timm/resnet18"
                                              ".*needs internet.*--weights"):
        timm_import.pretrained_weights("resnet18")


class DataDependent(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.linear(x) if x.sum() > 0 else -x


def test_an_untraceable_model_is_refused_with_what_to_do():
    with pytest.raises(ImportError_, match=r"timm:toy cannot be traced by torch.fx \(TraceError.*control flow "
                                           "depends on the data"):
        timm_import.trace_timm(DataDependent(), "toy", [4])


def test_a_call_without_a_node_names_the_node_and_the_call():
    original = timm.create_model("test_nfnet").eval()  # weight standardisation: weights computed on every call
    with pytest.raises(ImportError_, match=r"timm:test_nfnet: node 'stem.\w+' calls .*: it computes a tensor "
                                           "from the model's parameters alone .*LearnedTensor"):
        timm_import.trace_timm(original, "test_nfnet", [3, 32, 32])

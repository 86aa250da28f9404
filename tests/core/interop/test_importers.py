"""Importing torchvision models into editable networks, with their weights."""
import pytest
import torch
import torchvision

from pytorchgui import cli
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.interop.importers import ImportError_, convert_weights, import_torchvision, trace
from pytorchgui.core.graph.shapes import infer_shapes

REQUIRED = ["resnet18", "resnet50", "vgg11_bn", "mobilenet_v3_small", "efficientnet_b0", "densenet121"]


@pytest.mark.parametrize("name", REQUIRED)
def test_an_imported_model_with_converted_weights_computes_what_torchvision_does(name, tmp_path):
    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    imported = import_torchvision(name)
    network = imported.network
    assert infer_shapes(network).ok and network.input_spec.shape == [3, 224, 224]
    assert all(node.position is not None for node in network.nodes.values())  # laid out
    weights = convert_weights(imported, original.state_dict())
    model = compile_network(network).eval()
    model.load_state_dict(weights)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = original(x)
        assert (model(x) - expected).abs().max() <= 1e-4
        network_format.save(network, tmp_path / "net.json")  # the file round trip compiles to the same model
        again = compile_network(network_format.load(tmp_path / "net.json")).eval()
        again.load_state_dict(weights)
        assert (again(x) - expected).abs().max() <= 1e-4


def test_node_names_keep_the_module_hierarchy_and_functions_become_catalogue_nodes():
    network = import_torchvision("resnet18").network
    assert {"conv1", "layer1.0.conv1", "layer4.1.bn2", "fc"} <= set(network.nodes)
    assert network.node("layer1.0.relu").type == "ReLU" and "layer1.0.relu_2" in network  # called twice
    assert network.node("layer1.0.add").type == "Add" and network.node("flatten").type == "Flatten"
    assert network.first_layers == ["conv1"]
    assert network.node("layer1.0.conv1").parameters["kernel_size"] == [3, 3]
    assert network.node("layer1.0.conv1").parameters["bias"] is False
    densenet = import_torchvision("densenet121").network
    first, second = "features.denseblock1.denselayer1.cat", "features.denseblock1.denselayer2.cat_1"
    assert densenet.node(first).type == "Identity"  # the first dense layer joins a list of one
    assert densenet.node(second).type == "Concatenate" and densenet.node(second).parameters == {"dim": 1}
    assert len(densenet.inputs_of("features.denseblock1.denselayer3.cat_2")) == 3


class ScaledByItsOwnWeights(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(3, 1, 1))

    def forward(self, x):
        return x * self.weight.exp()


def test_models_that_cannot_be_mapped_say_what_and_where():
    with pytest.raises(ImportError_, match=r"the model: node 'exp' calls .exp\(\): it computes a tensor from the "
                                           r"model's parameters alone \(exp\) \(make that tensor a parameter of its own"):
        with torch.device("meta"):  # no weights to compute it from (with weights: a LearnedTensor of its value)
            model = ScaledByItsOwnWeights()
        trace(model, input_shape=[3, 4, 4])
    with pytest.raises(ImportError_, match="no classification model 'resnet99'; close: resnet101"):
        import_torchvision("resnet99")


def test_weights_of_another_architecture_are_named_key_by_key():
    imported = import_torchvision("resnet18")
    with pytest.raises(PyTorchGUIError, match=r"are not this model's \(missing conv1.weight.*unexpected features.0"):
        convert_weights(imported, torchvision.models.vgg11_bn().state_dict())
    state = torchvision.models.resnet18(num_classes=10).state_dict()
    with pytest.raises(PyTorchGUIError, match=r"other shapes: fc.weight \[10, 512\] instead of \[1000, 512\]"):
        convert_weights(imported, state)


def test_the_command_line_writes_the_network_and_its_weights(tmp_path, capsys):
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    assert cli.main(["import", "torchvision:resnet18", "-o", str(tmp_path / "r18.json"), "--weights",
                     str(tmp_path / "r18.pth"), "--weights-out", str(tmp_path / "ours.pt")]) == 0
    network = network_format.load(tmp_path / "r18.json")
    weights = torch.load(tmp_path / "ours.pt", weights_only=True)
    compile_network(network).load_state_dict(weights)
    assert "69 nodes" in capsys.readouterr().err
    (tmp_path / "evil.pth").write_bytes(b"not a torch file")
    assert cli.main(["import", "torchvision:resnet18", "-o", str(tmp_path / "x.json"), "--weights",
                     str(tmp_path / "evil.pth"), "--weights-out", str(tmp_path / "x.pt")]) == cli.USER_ERROR
    assert cli.main(["import", "resnet18", "-o", str(tmp_path / "x.json")]) == cli.USER_ERROR
    assert "give torchvision:NAME" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_safetensors_weights_and_a_download_without_internet(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    from pytorchgui.core.interop.importers import download_weights, read_state_dict

    state = torchvision.models.resnet18().state_dict()
    save_file({key: value.contiguous() for key, value in state.items()}, str(tmp_path / "r18.safetensors"))
    loaded = read_state_dict(tmp_path / "r18.safetensors")
    assert torch.equal(loaded["fc.weight"], state["fc.weight"])
    convert_weights(import_torchvision("resnet18"), loaded)
    (tmp_path / "bad.safetensors").write_bytes(b"{}")
    with pytest.raises(PyTorchGUIError, match="bad.safetensors is not a readable .safetensors file"):
        read_state_dict(tmp_path / "bad.safetensors")

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    from torchvision.models import _api

    monkeypatch.setattr(_api, "load_state_dict_from_url", offline)  # what the weights enums call
    with pytest.raises(PyTorchGUIError, match=r"cannot download the pretrained weights of resnet18 .*with no "
                                              r"internet, download https://download.pytorch.org/models/resnet18"):
        download_weights("resnet18")
    assert cli.main(["import", "torchvision:resnet18", "-o", str(tmp_path / "x.json"), "--pretrained"]) == \
        cli.USER_ERROR  # --pretrained needs --weights-out


class _ThreeHeads(torch.nn.Module):
    """A dict of outputs, one of them (the features) also taken by the two heads."""

    def __init__(self):
        super().__init__()
        self.conv, self.logits, self.aux = torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(4, 5), torch.nn.Linear(4, 2)

    def forward(self, x):
        features = self.conv(x).mean((2, 3))
        return {"logits": self.logits(features), "aux": self.aux(features), "features": features}


def test_a_model_of_several_outputs_imports_with_one_end_per_output_in_its_order():
    model = _ThreeHeads().eval()
    imported = trace(model, input_shape=[3, 8, 8])
    network = network_format.loads(network_format.dumps(imported.network))
    # named after the dict's keys, in its order (the heads' own nodes hold "logits" and "aux" already)
    assert network.outputs() == ["logits_2", "aux_2", "features"]
    compiled = compile_network(network).eval()
    compiled.load_state_dict(convert_weights(imported, model.state_dict()))
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        for output, expected in zip(compiled(x), model(x).values(), strict=True):
            assert torch.allclose(output, expected, atol=1e-6)

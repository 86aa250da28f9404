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
    assert_imports_exactly(original, timm_import.trace_timm(original, name, shape), shape)


def assert_imports_exactly(original, imported, shape, tolerance=1e-4):
    """The imported network, after a JSON round trip and with the converted weights, gives
    the original's output."""
    weights = convert_weights(imported, original.state_dict())
    model = compile_network(network_format.loads(network_format.dumps(imported.network))).eval()
    model.load_state_dict(weights)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = original(x)
        assert (model(x) - expected).abs().max() <= tolerance * expected.abs().max()


class StandardisedConvolutions(torch.nn.Module):
    """timm's weight-standardised convolutions (BiT, NFNet), with 'SAME' padding or not."""

    def __init__(self):
        super().__init__()
        from timm.layers.std_conv import ScaledStdConv2d, ScaledStdConv2dSame, StdConv2d, StdConv2dSame

        self.layers = torch.nn.Sequential(StdConv2d(3, 4, 3, padding=1), StdConv2dSame(4, 4, 3, stride=2),
                                          ScaledStdConv2d(4, 4, 3, gamma=1.5), ScaledStdConv2dSame(4, 4, 3, stride=2))

    def forward(self, x):
        return self.layers(x)


def test_standardised_convolutions_import_exactly():
    original = StandardisedConvolutions().eval()
    with torch.no_grad():
        for gain in (original.layers[2].gain, original.layers[3].gain):
            gain.normal_(1.0, 0.2)
    imported = timm_import.trace_timm(original, "toy", [3, 9, 9])
    assert [imported.network.node(name).type for name in ("layers.1.pad", "layers.1", "layers.3")] == \
        ["Pad", "StandardizedConv2d", "StandardizedConv2d"]
    assert_imports_exactly(original, imported, [3, 9, 9], tolerance=1e-5)


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


def test_an_import_without_weights_writes_the_constants_a_network_file_cannot_carry(tmp_path, capsys):
    """resnetblur18's blur filters are buffers the model never trains: frozen Conv2d nodes whose
    values no network file carries. Imported without weights, they were random; the model's
    own weights (random, but the filters exact) go beside the network, and the note says how
    to train from them."""
    out, weights = tmp_path / "blur.json", tmp_path / "blur_weights.pt"
    assert cli.main(["import", "timm:resnetblur18", "-o", str(out)]) == 0
    assert f"train with --initial-weights {weights}" in capsys.readouterr().err
    network = network_format.load(out)
    # named in the module that calls them (the stem's BlurPool), not after the block reading the result
    assert {"maxpool.1.pad", "layer2.0.aa.conv2d_1"} <= set(network.nodes)
    assert network.node("maxpool.1.conv2d").type == "Conv2d" and not network.node("maxpool.1.conv2d").trainable
    state = torch.load(weights, weights_only=True)
    compile_network(network).load_state_dict(state)  # every tensor of the network, none other
    taps = torch.tensor([1.0, 2.0, 1.0])
    assert torch.equal(state["maxpool_1_conv2d.weight"][0, 0], taps[:, None] * taps[None, :] / 16)


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


class ExponentialWeights(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(4, 4))

    def forward(self, x):
        return x @ self.weight.exp()  # weights computed on every call


class CachedAttentionBiases(torch.nn.Module):
    """As LeViT and EfficientViT: attention biases gathered from a table by an index buffer
    and cached once computed in evaluation, Swin V2's clamped, exponentiated scale and a
    piece of a chunk of parameters (RoPE's learned frequencies)."""

    def __init__(self):
        super().__init__()
        self.attention_biases = torch.nn.Parameter(torch.randn(2, 5))
        self.register_buffer("attention_bias_idxs", torch.tensor([[0, 1, 2], [1, 0, 3], [4, 3, 0]]), persistent=False)
        self.attention_bias_cache = {}
        self.logit_scale = torch.nn.Parameter(torch.randn(2, 1, 1))
        self.shifts = torch.nn.Parameter(torch.randn(2, 3))

    def biases(self, device):
        if str(device) not in self.attention_bias_cache:
            self.attention_bias_cache[str(device)] = self.attention_biases[:, self.attention_bias_idxs]
        return self.attention_bias_cache[str(device)]

    def forward(self, x):
        shift, _ = self.shifts.exp().chunk(2)
        return (x * torch.clamp(self.logit_scale, max=4.6).exp() + self.biases(x.device)).softmax(-1) + shift


def test_tensors_computed_from_parameters_alone_are_recomputed_from_the_weights_converted():
    torch.manual_seed(0)
    model = CachedAttentionBiases().eval()
    model(torch.randn(1, 2, 3, 3))  # fills the cache, as timm's models are run before an import
    imported = timm_import.trace_timm(model, "toy", [2, 3, 3])
    assert sum(node.type == "LearnedTensor" for node in imported.network.nodes.values()) == 3
    assert any("from its parameters alone" in note for note in imported.notes)
    other = CachedAttentionBiases().eval()  # other weights: the tensors follow them
    assert_imports_exactly(other, imported, [2, 3, 3], tolerance=1e-6)


def test_a_call_without_a_node_names_the_node_and_the_call():
    with pytest.raises(ImportError_, match=r"timm:toy: node '\w+' calls .*exp.*: it computes a tensor "
                                           "from the model's parameters alone .*LearnedTensor"):
        with torch.device("meta"):  # no weights to compute it from
            model = ExponentialWeights()
        timm_import.trace_timm(model, "toy", [4])
    with pytest.raises(ImportError_, match=r"timm:toy: node 'cumsum' calls .cumsum\(\), "
                                           "which PyTorchGUI cannot map .* tell us which call it is"):
        timm_import.trace_timm(RunningSums(), "toy", [2, 3])


class RunningSums(torch.nn.Module):
    def forward(self, x):
        return x.cumsum(1)


class OddSidePadded(torch.nn.Module):
    """Control flow on a shape: torch.fx alone cannot trace it."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 2, stride=2)

    def forward(self, x):
        if x.shape[-1] % 2:
            x = torch.nn.functional.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class TraceTimeTables(torch.nn.Module):
    """Tensors made while the model runs, from no input and no parameter: a table torch.fx
    saves as `_tensor_constant0`, and torch.arange over the input's width."""

    def __init__(self):
        super().__init__()
        self.register_buffer("periods", torch.tensor([1.0, 2.0, 4.0]), persistent=False)

    def forward(self, x):
        positions = torch.arange(x.shape[-1], dtype=torch.float32)
        angles = positions[None, None, :] / self.periods[:, None, None]
        return x * angles.sin() + torch.tensor([0.5, 1.0, 2.0])[:, None, None]


class WeightsMadeOfParts(torch.nn.Module):
    """A qkv bias concatenated from parameters and a zero buffer (BEiT, EVA), a gain
    multiplied in place, a [C, 1, 1] gate times a [1, H, W] map (both ways), F.normalize
    and F.interpolate."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(6, 2))
        self.q_bias, self.v_bias = torch.nn.Parameter(torch.randn(2)), torch.nn.Parameter(torch.randn(2))
        self.register_buffer("k_bias", torch.zeros(2), persistent=False)
        self.gain = torch.nn.Parameter(torch.randn(1))
        self.gate = torch.nn.Parameter(torch.randn(3, 1, 1))

    def forward(self, x):
        qkv = torch.nn.functional.linear(x, self.weight, torch.cat((self.q_bias, self.k_bias, self.v_bias)))
        qkv.mul_(self.gain)
        gated = self.gate * qkv.mean(1, keepdim=True)
        return torch.nn.functional.normalize(torch.nn.functional.interpolate(gated, scale_factor=2.0, mode="bilinear"),
                                             dim=1)


class NormsAndLastPieces(torch.nn.Module):
    """F.rms_norm with and without a weight (AIMv2), the last piece of a split by -1
    (Res2Net's spx[-1]) and ConvNeXt V2's global response normalisation (x.norm over
    height and width, torch.addcmul of reshaped parameters)."""

    def __init__(self):
        super().__init__()
        self.norm_weight, self.weight, self.bias = (torch.nn.Parameter(torch.randn(4)) for _ in range(3))

    def forward(self, x):
        pieces = torch.split(x, 2, 1)
        x = torch.cat([pieces[-1], pieces[0]], 1).permute(0, 2, 3, 1)
        x = torch.nn.functional.rms_norm(x, (4,), self.norm_weight, 1e-6)
        norms = x.norm(p=2, dim=(1, 2), keepdim=True)
        x = x + torch.addcmul(self.bias.view(1, 1, 1, -1), self.weight.view(1, 1, 1, -1), x * norms, value=0.5)
        return torch.nn.functional.rms_norm(x.flatten(1, 2), (6, 4))


class PiecesBesideCpuTables(torch.nn.Module):
    """A table made on the CPU while the model runs (RoPE's), which the meta device cannot
    mix with its input, so the import records the model on the CPU; then pieces of a tuple
    computed from the input (DINOv3's q, k, v), which are not constants."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(4))

    def forward(self, x):
        table = torch.arange(x.shape[-1], dtype=torch.float32, device=torch.device("cpu"))
        first, second = x.unbind(1)
        return first * table + second * self.weight


@pytest.mark.parametrize("toy, shape", [(OddSidePadded, [3, 5, 5]), (TraceTimeTables, [3, 4, 5]),
                                        (WeightsMadeOfParts, [3, 4, 2]), (NormsAndLastPieces, [4, 3, 2]),
                                        (PiecesBesideCpuTables, [2, 4])],
                         ids=lambda value: getattr(value, "__name__", ""))
def test_what_timm_models_compute_between_modules_imports_exactly(toy, shape):
    torch.manual_seed(0)
    original = toy().eval()
    assert_imports_exactly(original, timm_import.trace_timm(original, "toy", shape), shape, tolerance=1e-5)

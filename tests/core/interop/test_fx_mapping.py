"""The torch.fx importer's functions and methods between modules (x.flatten(1),
x.mean((2, 3)), x.shape[0], permute, chunk, class tokens, F.avg_pool2d, ...): each small
model imports to catalogue nodes whose compiled network, after a JSON round trip, computes
the original's output at another batch size than the one traced."""
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.core.interop.importers import ImportError_, convert_weights, import_torchvision, trace
from pytorchgui.core.training import network_format


def imported_exactly(model: nn.Module, shape: list[int]):
    """The imported network, checked against the model on a batch of 5 (traced at 2 and 3)."""
    torch.manual_seed(0)
    model.eval()
    imported = trace(model, input_shape=shape)
    network = network_format.loads(network_format.dumps(imported.network))
    report = infer_shapes(network)
    assert report.ok, report.problems
    compiled = compile_network(network, report).eval()
    compiled.load_state_dict(convert_weights(imported, model.state_dict()))
    x = torch.randn(5, *shape)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-5)
    return imported


def types(imported) -> list[str]:
    return [node.type for node in imported.network.nodes.values()]


class PooledByMethods(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3), keepdim=True).flatten(1))


def test_methods_flatten_and_mean_become_flatten_and_reduce():
    imported = imported_exactly(PooledByMethods(), [3, 8, 8])
    assert types(imported) == ["Conv2d", "Reduce", "Flatten", "Linear"]
    assert imported.network.node("mean").parameters.items() >= {"operation": "mean", "dim": [2, 3],
                                                                "keepdim": True}.items()
    assert imported.network.node("flatten").parameters == {"start_dim": 1, "end_dim": -1}


class Spreads(nn.Module):
    """var and std in their three spellings (unbiased positional, correction=, unbiased=), and
    a square: ConvNeXt's RMS variants and CAFormer's head write these."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        x = self.conv(x)
        variance = torch.var(x, (2, 3), False, True)
        deviation = x.std(dim=1, keepdim=True, correction=0)
        squared = torch.square(x).var(dim=-1, unbiased=True) + x.square().std(-1)
        return x / (variance + 1) + deviation, squared


def test_var_std_and_square_become_reduce_and_power_nodes():
    imported = imported_exactly(Spreads(), [3, 5, 6])
    reduced = {name: node.parameters for name, node in imported.network.nodes.items() if node.type == "Reduce"}
    assert [(values["operation"], values["correction"]) for values in reduced.values()] == [
        ("var", 0), ("std", 0), ("var", 1), ("std", 1)]
    assert reduced["var"]["dim"] == [2, 3] and reduced["var"]["keepdim"] is True
    assert [node.parameters for node in imported.network.nodes.values() if node.type == "PowerOf"] == [
        {"exponent": 2}] * 2


class FunctionalConvolutions(nn.Module):
    """F.conv2d with a parameter kernel and bias, and with a fixed blur filter (timm's
    BlurPool2d: a buffer, saved or not), by depth and stride 2."""

    def __init__(self, persistent: bool = False):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.randn(4, 3, 3, 3)), nn.Parameter(torch.randn(4))
        blur = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("filt", (blur[:, None] * blur[None, :] / 16).expand(4, 1, 3, 3).clone(),
                             persistent=persistent)

    def forward(self, x):
        x = F.conv2d(x, self.weight, self.bias, padding=1)
        return torch.conv2d(F.pad(x, [1, 1, 1, 1], mode="reflect"), self.filt, stride=2, groups=4)


@pytest.mark.parametrize("persistent", [False, True])
def test_functional_convolutions_become_conv2d_nodes_and_a_fixed_filter_a_frozen_one(persistent):
    model = FunctionalConvolutions(persistent)
    imported = imported_exactly(model, [3, 8, 8])
    convolutions = [node for node in imported.network.nodes.values() if node.type == "Conv2d"]
    assert [(node.parameters["in_channels"], node.parameters["out_channels"], node.parameters["groups"],
             node.parameters["stride"], node.parameters["bias"], node.trainable) for node in convolutions] == [
        (3, 4, 1, 1, True, True), (4, 4, 4, 2, False, False)]
    # the filter is no weight a file of random ones may replace: the import keeps the model's own
    compiled = compile_network(network_format.loads(network_format.dumps(imported.network))).eval()
    compiled.load_state_dict(imported.own_weights)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x))


class ShapeReads(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x):
        n, channels, height, width = x.shape
        x = self.conv(x).reshape(n, channels * 8 // 3, height * width)  # sizes read from the input
        x = x.permute(0, 2, 1).transpose(1, 2).contiguous()
        return x.view(x.size(0), -1)


def test_shape_reads_are_values_and_the_batch_stays_implicit():
    imported = imported_exactly(ShapeReads(), [3, 4, 4])
    assert types(imported) == ["Conv2d", "Reshape", "Permute", "Transpose", "Reshape"]
    assert imported.network.node("reshape").parameters == {"shape": [8, 16]}
    assert imported.network.node("permute").parameters == {"dims": [0, 2, 1]}


class Halves(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 1)

    def forward(self, x):
        first, second = x.chunk(2, dim=1)
        left, right = torch.split(first, [1, 1], dim=1)
        return torch.cat([self.conv(second) - right, left, x[:, 0, None], x[..., 1::2, :, :]], dim=1)


def test_chunk_split_and_getitem_become_one_node_per_piece_in_order():
    imported = imported_exactly(Halves(), [4, 6, 6])
    network = imported.network
    chunks = [node for node in network.nodes.values() if node.type == "Chunk"]
    assert sorted(node.parameters["piece"] for node in chunks) == [0, 1]
    assert {node.type for node in network.nodes.values()} >= {"Split", "Subtract", "Select", "Unsqueeze", "Slice",
                                                              "Concatenate"}


class TokensAndPositions(nn.Module):
    """ViT's way: a class token expanded to the batch, a position embedding, x[:, 0]."""

    def __init__(self):
        super().__init__()
        self.class_token = nn.Parameter(torch.randn(1, 1, 6))
        self.position = nn.Parameter(torch.randn(1, 5, 6))
        self.register_buffer("offset", torch.randn(6))
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        token = self.class_token.expand(x.shape[0], -1, -1)
        x = torch.cat([token, self.fc(x)], dim=1) + self.position
        return (x - self.offset)[:, 0]


def test_parameters_used_directly_become_learned_tensors_with_their_weights():
    imported = imported_exactly(TokensAndPositions(), [4, 6])
    network = imported.network
    assert network.node("class_token").type == "LearnedTensor"
    assert network.node("class_token").parameters["batch"] == "expand"
    assert network.node("class_token").parameters["shape"] == [1, 6]
    assert network.node("position").parameters["shape"] == [5, 6]
    assert network.node("offset").type == "ConstantTensor"
    assert "Select" in types(imported)


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        x = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1) + F.max_pool2d(self.conv(x), 3, stride=1, padding=1)
        x = F.dropout(F.gelu(x * 0.5 - 1), p=0.2, training=self.training)
        return x - F.relu(x) / 2


def test_functional_pooling_dropout_and_arithmetic_with_constants():
    imported = imported_exactly(Functional(), [3, 6, 6])
    network = imported.network
    assert network.node("avg_pool2d").type == "AvgPool2d"
    assert network.node("avg_pool2d").parameters["kernel_size"] == 3
    assert network.node("max_pool2d").type == "MaxPool2d" and network.node("dropout").parameters["p"] == 0.2
    assert {"Scale", "Shift", "GELU", "Subtract"} <= set(types(imported))


class Attention(nn.Module):
    """timm's way: q, k, v from one Linear, heads by reshape and permute (the batch moved
    to dimension 1 and back), attention written out and fused."""

    def __init__(self):
        super().__init__()
        self.qkv, self.proj = nn.Linear(8, 24), nn.Linear(8, 8)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, 2, c // 2).permute(2, 0, 3, 1, 4).unbind(0)
        attention = torch.einsum("bhid,bhjd->bhij", q, k).mul(c ** -0.5).softmax(dim=-1)
        written = (attention @ v).transpose(1, 2).reshape(b, n, c)
        fused = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c)
        return self.proj(written + fused)


def test_attention_written_with_einsum_matmul_and_the_fused_function():
    imported = imported_exactly(Attention(), [5, 8])
    network = imported.network
    assert network.node("einsum").type == "MatMul" and network.node("einsum").parameters["transpose_second"]
    assert sorted(node.parameters["index"] for node in network.nodes.values() if node.type == "Select") == [0, 1, 2]
    assert {"Scale", "Softmax", "ScaledDotProductAttention"} <= set(types(imported))
    assert len(network.inputs_of("scaled_dot_product_attention")) == 3


class ReadsTheInputTwice(nn.Module):
    def forward(self, x):
        return x - x.abs()


def test_the_network_input_feeding_an_operation_of_several_inputs_goes_through_copies():
    imported = imported_exactly(ReadsTheInputTwice(), [3])
    assert types(imported).count("Identity") == 2


class Einsum(nn.Module):
    def forward(self, x):
        return torch.einsum("bi,bj->bij", x, x)


class Unmapped(nn.Module):
    def forward(self, x):
        return torch.erf(x)


class MixesTheBatch(nn.Module):
    def forward(self, x):
        return x.reshape(-1)


def test_what_cannot_be_mapped_names_the_node_the_call_and_what_to_do():
    with pytest.raises(ImportError_, match=r"the model: node 'einsum' calls torch.functional.einsum: it computes the "
                                           r"einsum 'bi,bj->bij', which is not a batched matrix product \(write it"):
        trace(Einsum(), input_shape=[3])
    with pytest.raises(ImportError_, match=r"node 'erf' calls torch.erf, which PyTorchGUI cannot map to a catalogue "
                                           r"entry yet \(rewrite that part"):
        trace(Unmapped(), input_shape=[3])
    with pytest.raises(ImportError_, match=r"node 'reshape' calls .reshape\(\): it reshapes across the batch .*keep "
                                           r"the batch as the first dimension"):
        trace(MixesTheBatch(), input_shape=[3])
    with pytest.raises(ImportError_, match=r"does not run on an input of shape \[5\] .*give the input shape"):
        trace(PooledByMethods(), input_shape=[5])


def test_googlenet_accepts_its_own_state_dict_with_the_auxiliary_heads():
    imported = import_torchvision("googlenet")
    state = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False).state_dict()
    assert any(key.startswith("aux1.") for key in state)
    weights = convert_weights(imported, state)
    assert not any(key.startswith("aux") for key in weights)
    assert "aux1, aux2 are not used when evaluating" in imported.notes[0]


@pytest.mark.parametrize("name", ["shufflenet_v2_x0_5", "mnasnet0_5", "regnet_x_400mf", "convnext_tiny",
                                  "vit_b_32"])
def test_newly_importable_torchvision_models_compute_what_torchvision_does(name):
    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():  # ViT's zero-initialised head would hide any difference
        for parameter in original.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)
    imported = import_torchvision(name)
    model = compile_network(network_format.loads(network_format.dumps(imported.network))).eval()
    model.load_state_dict(convert_weights(imported, original.state_dict()))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = original(x)
        assert (model(x) - expected).abs().max() <= 1e-4 * expected.abs().max()

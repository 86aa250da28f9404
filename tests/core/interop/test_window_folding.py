"""Windowed attention as timm writes it: the windows folded into the batch
([B * windows, ...]), attention per window, the windows put back. The import keeps the
batch first with the windows in a dimension of their own, and is exact at a batch size
other than the two traced."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pytorchgui.core.interop.importers import ImportError_, trace
from tests.core.interop.test_fx_mapping import imported_exactly, types


class WindowAttention(nn.Module):
    """A channels-last map [B, H, W, C], shifted, cut into windows of 2 x 2 folded into the
    batch, self-attention with a relative position bias gathered through an index the
    model does not save, then the windows put back and the shift undone."""

    def __init__(self, channels=8, heads=2, window=2):
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv, self.proj = nn.Linear(channels, 3 * channels), nn.Linear(channels, channels)
        self.softmax = nn.Softmax(dim=-1)
        self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        index = (offsets[..., 0] + window - 1) * (2 * window - 1) + offsets[..., 1] + window - 1
        self.register_buffer("index", index, persistent=False)

    def forward(self, x):
        batch, height, width, channels = x.shape
        w = self.window
        x = torch.roll(x, shifts=(-1, -1), dims=(1, 2))
        x = x.view(batch, height // w, w, width // w, w, channels).permute(0, 1, 3, 2, 4, 5)
        windows = x.contiguous().view(-1, w * w, channels)  # [B * windows, positions, C]
        folded, positions, _ = windows.shape
        q, k, v = self.qkv(windows).reshape(folded, positions, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        scores = (q * 0.5) @ k.transpose(-2, -1)
        bias = self.table[self.index.view(-1)].view(w * w, w * w, -1).permute(2, 0, 1).contiguous()
        attention = self.softmax(scores + bias.unsqueeze(0))
        out = self.proj((attention @ v).transpose(1, 2).reshape(folded, positions, -1))
        out = out.view(-1, height // w, width // w, w, w, channels).permute(0, 1, 3, 2, 4, 5)
        return torch.roll(out.reshape(batch, height, width, channels), shifts=(1, 1), dims=(1, 2))


def test_windows_folded_into_the_batch_import_exactly_with_the_batch_first():
    imported = imported_exactly(WindowAttention(), [4, 6, 8])
    network = imported.network
    assert "Roll" in types(imported) and "RelativePositionBias" in types(imported)
    folding = next(node for node in network.nodes.values() if node.type == "Reshape"
                   and node.parameters["shape"] == [6, 4, 8])  # 2 x 3 windows of 4 positions, per sample
    assert folding is not None


class BiasedAttention(nn.Module):
    """scaled_dot_product_attention with a learned float mask (MaxViT's position bias)."""

    def __init__(self):
        super().__init__()
        self.qkv, self.bias = nn.Linear(8, 24), nn.Parameter(torch.randn(1, 2, 5, 5))

    def forward(self, x):
        q, k, v = self.qkv(x).reshape(x.shape[0], 5, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=self.bias).transpose(1, 2).flatten(2)


def test_attention_with_a_float_mask_is_written_out_exactly():
    imported = imported_exactly(BiasedAttention(), [5, 8])
    assert {"MatMul", "Scale", "Add", "Softmax"} <= set(types(imported))


class ConvolvedWindows(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        batch, channels, height, width = x.shape
        x = x.view(batch, channels, 2, height // 2, width).permute(0, 2, 1, 3, 4).reshape(-1, channels, height // 2,
                                                                                          width)
        return self.conv(x).reshape(batch, -1)


def test_a_convolution_of_folded_windows_is_refused_with_what_to_do():
    with pytest.raises(ImportError_, match=r"node 'conv'.*Conv2d applied to windows folded into the batch"):
        trace(ConvolvedWindows(), input_shape=[3, 4, 4])


class ReturnsFolded(nn.Module):
    def forward(self, x):
        return x.reshape(-1, 2)


def test_a_model_that_returns_its_samples_folded_into_the_batch_is_refused():
    with pytest.raises(ImportError_, match=r"returns 'output' with windows or pieces of each sample folded into the "
                                           r"batch"):
        trace(ReturnsFolded(), input_shape=[4])

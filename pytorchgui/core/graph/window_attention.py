"""Swin's shifted window attention as one node of the catalogue.

Swin attends within windows of the feature map and shifts the windows by half a window
every other block, masking the pairs of positions the shift brought together. The
windows fold the batch and the windows into one dimension (torchvision's
`B * num_windows`), which no chain of nodes keeping the batch first can write; the mask is
a constant of the window and map sizes. So the whole attention is one node, as a
MultiheadAttention is, whose form keeps what a user edits (width, heads, window, shift,
Swin V1 or V2), and whose weights have torchvision's names (`qkv`, `proj`,
`relative_position_bias_table`; V2's `logit_scale` and `cpb_mlp`), so that a torchvision
Swin's state_dict loads into it key for key.

The class stands alone (it names only torch and nn): the Python export copies its source.
"""
from __future__ import annotations

import torch
from torch import nn


class ShiftedWindowAttention(nn.Module):
    """Multi-head self-attention inside windows of a channels-last map [N, H, W, C],
    shifted by `shift_size` (Liu et al., 2021), with a learned bias for each relative
    position in a window. The map is padded to whole windows and cropped back; a shift is
    skipped where a window covers the whole map. With `v2` (Swin V2): cosine attention
    with a learned temperature per head, and the bias computed by a small network from
    log-spaced relative coordinates."""

    def __init__(self, embed_dim: int, num_heads: int, window_size=(7, 7), shift_size=(0, 0), qkv_bias: bool = True,
                 proj_bias: bool = True, attention_dropout: float = 0.0, dropout: float = 0.0, v2: bool = False):
        super().__init__()
        self.window_size = list(window_size) if isinstance(window_size, (list, tuple)) else [window_size] * 2
        self.shift_size = list(shift_size) if isinstance(shift_size, (list, tuple)) else [shift_size] * 2
        self.num_heads, self.attention_dropout, self.dropout, self.v2 = num_heads, attention_dropout, dropout, v2
        self.qkv = nn.Linear(embed_dim, embed_dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dim, embed_dim, bias=proj_bias)
        height, width = self.window_size
        # one index per pair of positions in a window: their offset, counted row by row in the table
        coords = torch.stack(torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")).flatten(1)
        offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        index = (offsets[..., 0] + height - 1) * (2 * width - 1) + offsets[..., 1] + width - 1
        if v2:
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                         nn.Linear(512, num_heads, bias=False))
            table = torch.stack(torch.meshgrid(torch.arange(-(height - 1), height, dtype=torch.float32),
                                               torch.arange(-(width - 1), width, dtype=torch.float32), indexing="ij"))
            table = table.permute(1, 2, 0).unsqueeze(0) / torch.tensor([max(height - 1, 1), max(width - 1, 1)])
            table = table * 8  # to [-8, 8], then log-spaced
            self.register_buffer("relative_coords_table", torch.sign(table) * torch.log2(table.abs() + 1.0) / 3.0)
            if qkv_bias:
                with torch.no_grad():
                    self.qkv.bias[embed_dim:2 * embed_dim].zero_()
        else:
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * height - 1) * (2 * width - 1),
                                                                         num_heads))
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", index.flatten())

    def relative_position_bias(self) -> torch.Tensor:
        """[1, heads, positions, positions]: the bias added to each window's attention scores."""
        positions = self.window_size[0] * self.window_size[1]
        table = (self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads) if self.v2
                 else self.relative_position_bias_table)
        bias = table[self.relative_position_index].view(positions, positions, -1).permute(2, 0, 1).unsqueeze(0)
        return 16 * torch.sigmoid(bias) if self.v2 else bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = x.shape
        window_h, window_w = self.window_size
        x = torch.nn.functional.pad(x, (0, 0, 0, (window_w - width % window_w) % window_w,
                                        0, (window_h - height % window_h) % window_h))
        padded_h, padded_w = x.shape[1], x.shape[2]
        shift_h = 0 if window_h >= padded_h else self.shift_size[0]
        shift_w = 0 if window_w >= padded_w else self.shift_size[1]
        shifted = shift_h + shift_w > 0
        if shifted:
            x = torch.roll(x, shifts=(-shift_h, -shift_w), dims=(1, 2))
        rows, columns, positions = padded_h // window_h, padded_w // window_w, window_h * window_w
        windows = rows * columns
        x = x.view(batch, rows, window_h, columns, window_w, channels)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch * windows, positions, channels)
        qkv_bias = self.qkv.bias
        if self.v2 and qkv_bias is not None:  # V2 has no key bias
            third = qkv_bias.numel() // 3
            qkv_bias = torch.cat((qkv_bias[:third], torch.zeros_like(qkv_bias[third:2 * third]), qkv_bias[2 * third:]))
        qkv = torch.nn.functional.linear(x, self.qkv.weight, qkv_bias)
        qkv = qkv.reshape(batch * windows, positions, 3, self.num_heads, channels // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if self.v2:
            attention = (torch.nn.functional.normalize(q, dim=-1)
                         @ torch.nn.functional.normalize(k, dim=-1).transpose(-2, -1))
            attention = attention * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # at most log(100)
        else:
            attention = (q * (channels // self.num_heads) ** -0.5).matmul(k.transpose(-2, -1))
        attention = attention + self.relative_position_bias()
        if shifted:
            # positions of a window that the shift brought from different parts of the map do not attend to each other
            region = x.new_zeros((padded_h, padded_w))
            count = 0
            for h in ((0, -window_h), (-window_h, -shift_h), (-shift_h, None)):
                for w in ((0, -window_w), (-window_w, -shift_w), (-shift_w, None)):
                    region[h[0]:h[1], w[0]:w[1]] = count
                    count += 1
            region = region.view(rows, window_h, columns, window_w).permute(0, 2, 1, 3).reshape(windows, positions)
            mask = region.unsqueeze(1) - region.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
            attention = attention.view(batch, windows, self.num_heads, positions, positions)
            attention = (attention + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.num_heads, positions, positions)
        attention = torch.nn.functional.softmax(attention, dim=-1)
        attention = torch.nn.functional.dropout(attention, p=self.attention_dropout, training=self.training)
        x = attention.matmul(v).transpose(1, 2).reshape(batch * windows, positions, channels)
        x = torch.nn.functional.linear(x, self.proj.weight, self.proj.bias)
        x = torch.nn.functional.dropout(x, p=self.dropout, training=self.training)
        x = x.view(batch, rows, columns, window_h, window_w, channels)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, padded_h, padded_w, channels)
        if shifted:
            x = torch.roll(x, shifts=(shift_h, shift_w), dims=(1, 2))
        return x[:, :height, :width, :].contiguous()

    def extra_repr(self) -> str:
        return (f"window_size={self.window_size}, shift_size={self.shift_size}, num_heads={self.num_heads}, "
                f"v2={self.v2}")


WINDOW_MODULES: dict[str, type[nn.Module]] = {"ShiftedWindowAttention": ShiftedWindowAttention}

"""Layers that make recurrent and transformer nodes usable in a graph.

An LSTM's or a transformer's output is a sequence [N, T, F]; a classifier needs one
vector per sample. `SequencePool` takes the last (or first) time step, or the mean or
maximum over time. `PositionalEmbedding` adds a learned vector per position, without
which self-attention cannot tell the first token from the last. Like the merge nodes,
they are the only classes outside torch.nn a network file can name.
"""
from __future__ import annotations

import torch
from torch import nn


class SequencePool(nn.Module):
    """One vector per sequence from [N, T, F]: the last or first time step, or the mean
    or maximum over time (batch_first layout, as the catalogue's recurrent nodes use)."""

    def __init__(self, mode: str = "last"):
        super().__init__()
        if mode not in ("last", "first", "mean", "max"):
            raise ValueError(f"mode must be last, first, mean or max, not {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "last":
            return x[:, -1]
        if self.mode == "first":
            return x[:, 0]
        if self.mode == "mean":
            return x.mean(dim=1)
        return x.amax(dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class PositionalEmbedding(nn.Module):
    """Adds a learned vector for each position to a sequence [N, T, F] (T <= max_length)."""

    def __init__(self, max_length: int, embedding_dim: int):
        super().__init__()
        self.positions = nn.Parameter(torch.randn(max_length, embedding_dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.positions[: x.shape[1]]

    def extra_repr(self) -> str:
        return f"max_length={self.positions.shape[0]}, embedding_dim={self.positions.shape[1]}"


SEQUENCE_MODULES: dict[str, type[nn.Module]] = {
    "SequencePool": SequencePool,
    "PositionalEmbedding": PositionalEmbedding,
}

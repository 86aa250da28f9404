"""Merge nodes: modules that combine the outputs of several nodes into one tensor.

They are the only classes outside torch.nn that a network file can name (as the layer
types Add, Concatenate, Multiply and Mean). Inputs arrive in the order the network
defines for the merge node (see Network.inputs_of).
"""
from __future__ import annotations

import functools
import operator

import torch
from torch import nn

from pytorchgui.core.graph.sequence_layers import SEQUENCE_MODULES
from pytorchgui.core.graph.tensor_ops import TENSOR_OPERATIONS
from pytorchgui.core.graph.window_attention import WINDOW_MODULES


class Add(nn.Module):
    """Element-wise sum of the inputs: a residual connection."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.add, inputs)


class Multiply(nn.Module):
    """Element-wise product of the inputs: gating."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.mul, inputs)


class Mean(nn.Module):
    """Element-wise mean of the inputs: averaging branches (an ensemble)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(operator.add, inputs) / len(inputs)


class Concatenate(nn.Module):
    """The inputs joined along `dim` (1: channels of images, features of vectors)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


MERGE_MODULES: dict[str, type[nn.Module]] = {
    "Add": Add,
    "Concatenate": Concatenate,
    "Multiply": Multiply,
    "Mean": Mean,
}


def pytorchgui_modules() -> dict[str, type[nn.Module]]:
    """Every class a catalogue entry with "source": "pytorchgui" may name."""
    return {**MERGE_MODULES, **SEQUENCE_MODULES, **TENSOR_OPERATIONS, **WINDOW_MODULES}

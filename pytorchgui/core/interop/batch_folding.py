"""Windows folded into the batch, unfolded into a dimension of their own.

Windowed attention (timm's Swin, MaxViT, DaViT) cuts each sample's map into windows and
folds them into the batch: `x.view(-1, window, window, C)` gives [B * windows, ...], on
which the attention runs as if each window were a sample, until a view gives back
[B, H, W, C]. The folded batch is b-major (sample 0's windows first), so each sample's
windows are one contiguous block: the same data is [B, windows, ...], with the batch kept
first. The import reads the folding reshape as a Reshape to [windows, ...] per sample, and
every operation on a folded tensor with its dimensions counted one further (the windows'
dimension second); dimensions counted from the end, as attention's are, do not change.
So the attention is a chain of ordinary, editable nodes, and the network stays exact.
"""
from __future__ import annotations

import functools
import operator
from typing import Any

import torch
from torch import fx
import torch.nn.functional as F

from pytorchgui.core.interop.fx_mapping import BATCHES, Call, MappingError, Permuted, Pieces, plain

# modules that work on the last dimensions only: the windows' dimension changes nothing for them
LAST_DIMENSION_MODULES = (torch.nn.Linear, torch.nn.LayerNorm, torch.nn.Dropout, torch.nn.Identity, torch.nn.GELU,
                          torch.nn.ReLU, torch.nn.SiLU, torch.nn.Sigmoid, torch.nn.Tanh, torch.nn.Hardswish)


def windows_of(runs: list[dict[fx.Node, Any]], node: fx.Node) -> int:
    """k when `node`'s tensor has k * batch entries along its first dimension at every
    recorded batch size (windows folded into the batch), else 1."""
    values = [run.get(node) for run in runs]
    if not all(isinstance(value, torch.Tensor) and value.dim() > 0 for value in values):
        return 1
    counts = {value.shape[0] / batch for value, batch in zip(values, BATCHES)}
    count = counts.pop() if len(counts) == 1 else 1
    return int(count) if count > 1 and float(count).is_integer() else 1


def _unfolded(dim: int) -> int:
    """A dimension of the folded tensor counted on the unfolded one."""
    if dim == 0:
        raise MappingError("works along the batch, into which windows are folded",
                           "work on one window's dimensions (counted from the end)")
    return dim + 1 if dim > 0 else dim


def _dim(call: Call, index: int, name: str, default: Any = None) -> Any:
    dim = call.argument(index, name, default)
    if isinstance(dim, (list, tuple)):
        return [_unfolded(item) for item in dim]
    return dim if dim is None else _unfolded(dim)


def _first(call: Call) -> fx.Node:
    return call.tensors()[0]


def _permute(call: Call, builder):
    dims = list(call.args[1:]) if len(call.args) > 2 else list(plain(call.argument(1, "dims")))
    rank = len(call.shape_of(_first(call)))
    unfolded = []
    for dim in (dim % rank for dim in dims):
        unfolded += [0, 1] if dim == 0 else [dim + 1]
    if unfolded[0] != 0:
        return Permuted(_first(call), unfolded)
    return builder.add("Permute", {"dims": unfolded}, [_first(call)])


def _with_dim(type_name: str, index: int, name: str, default: Any = None, **fixed):
    def read(call: Call, builder):
        return builder.add(type_name, {name: _dim(call, index, name, default), **fixed}, [_first(call)])

    return read


def _transpose(call: Call, builder):
    return builder.add("Transpose", {"dim0": _dim(call, 1, "dim0"), "dim1": _dim(call, 2, "dim1")}, [_first(call)])


def _pieces(type_name: str, size_parameter: str, *names: str):
    def read(call: Call, builder):
        size = next((call.kwargs[name] for name in (size_parameter, *names) if name in call.kwargs),
                    call.args[1] if len(call.args) > 1 else None)
        return Pieces(type_name, {size_parameter: plain(size), "dim": _dim(call, 2, "dim", 0)}, _first(call))

    return read


def _unbind(call: Call, builder):
    return Pieces("Select", {"dim": _dim(call, 1, "dim", 0)}, _first(call), piece_parameter="index")


def _normalize(call: Call, builder):
    values = {"p": float(call.argument(1, "p", 2.0)), "dim": _dim(call, 2, "dim", 1),
              "eps": call.argument(3, "eps", 1e-12)}
    return builder.add("Normalize", values, [_first(call)])


def _reduce(operation: str):
    def read(call: Call, builder):
        dim = call.argument(1, "dim")
        if dim is None:
            raise MappingError(f"takes the {operation} of the whole tensor, windows included", "give the dimensions")
        values = {"operation": operation, "dim": _dim(call, 1, "dim"),
                  "keepdim": bool(call.argument(2, "keepdim", False))}
        return builder.add("Reduce", values, [_first(call)])

    return read


def _getitem(call: Call, builder, readers):
    """Pieces and tuples as anywhere; a folded tensor indexed from its second dimension on."""
    held = builder.held(call.node.args[0])
    index = call.args[1]
    if isinstance(held, (Pieces, tuple)) or isinstance(held, Permuted):
        return readers[operator.getitem](call, builder)
    items = list(index) if isinstance(index, tuple) else [index]
    if items[:1] != [slice(None)] or Ellipsis in items:
        raise MappingError("indexes the batch, into which windows are folded", "index one window's dimensions")
    from pytorchgui.core.interop.fx_mapping import _index  # noqa: PLC0415 - the same chain of Select and Slice
    return _index(call, builder, call.node.args[0], tuple([slice(None), *items]))


@functools.cache
def folded_readers() -> dict[Any, Any]:
    """Function or method name -> reader(call, builder) for operations whose dimension
    arguments count the windows' dimension; the others map as they do anywhere."""
    table: dict[Any, Any] = {}
    for targets, reader in (
            ([torch.permute, "permute"], _permute),
            ([torch.transpose, torch.swapaxes, "transpose", "swapaxes"], _transpose),
            ([torch.chunk, "chunk"], _pieces("Chunk", "chunks")),
            ([torch.split, "split"], _pieces("Split", "split_size", "split_size_or_sections")),
            ([torch.unbind, "unbind"], _unbind),
            ([F.softmax, torch.softmax, "softmax"], _with_dim("Softmax", 1, "dim")),
            ([F.log_softmax, torch.log_softmax, "log_softmax"], _with_dim("LogSoftmax", 1, "dim")),
            ([torch.squeeze, "squeeze"], _with_dim("Squeeze", 1, "dim")),
            ([torch.unsqueeze, "unsqueeze"], _with_dim("Unsqueeze", 1, "dim")),
            ([F.normalize], _normalize),
            ([torch.flatten, "flatten"], lambda call, builder: builder.add(
                "Flatten", {"start_dim": _dim(call, 1, "start_dim", 1), "end_dim": _dim(call, 2, "end_dim", -1)},
                [_first(call)])),
    ):
        for target in targets:
            table[target] = reader
    for operation in ("mean", "sum", "amax", "amin"):
        table[getattr(torch, operation)] = table[operation] = _reduce(operation)
    return table


# operations that read no dimension argument, or only dimensions counted from the end
SAME_ON_WINDOWS = {"view", "reshape", torch.reshape, operator.add, operator.mul, operator.sub, operator.truediv,
                   operator.matmul, torch.add, torch.mul, torch.sub, torch.div, torch.matmul, "add", "mul", "sub",
                   "div", "matmul", "contiguous", "clone", "to", "float", "type_as", F.linear, F.layer_norm,
                   F.dropout, F.gelu, F.silu, F.relu, torch.sigmoid, "sigmoid", F.scaled_dot_product_attention,
                   torch.clamp, "clamp", torch.exp, "exp"}


def map_folded(call: Call, builder, readers: dict[Any, Any], module: torch.nn.Module | None, map_module) -> Any:
    """The node of a call that reads a tensor with windows folded into its batch;
    `map_module()` maps a module call as anywhere."""
    node = call.node
    if node.op == "call_module":
        if isinstance(module, torch.nn.Softmax) and module.dim is not None and module.dim < 0:
            return builder.add("Softmax", {"dim": module.dim}, [_first(call)], module=node.target)
        if not isinstance(module, LAST_DIMENSION_MODULES):
            raise MappingError(f"is a {type(module).__name__} applied to windows folded into the batch",
                               "apply it before the windows are cut, or to their last dimensions only")
        return map_module()
    if node.target is operator.getitem:
        return _getitem(call, builder, readers)
    own = folded_readers().get(node.target)
    if own is not None:
        return own(call, builder)
    if node.target in SAME_ON_WINDOWS and node.target in readers:
        return readers[node.target](call, builder)
    raise MappingError("works on windows folded into the batch, which PyTorchGUI cannot map for this operation",
                       "keep the batch as the first dimension")

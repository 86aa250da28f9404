"""Tensor operations as nodes: everything modern networks write *between* modules.

A `permute`, `x.flatten(1)`, `x.mean((2, 3))`, a split, a matmul of two activations, a
learned class token: each is a small module here, catalogued in function_db/tensor_ops.json
beside the layers, so a node of the designer can be one, its form is generated, shapes are
inferred on the meta device, and the Python, ONNX and torch.export exports carry it like
any other node (the Python export copies these classes' source).

Dimensions count as torch counts them: 0 is the batch, 1 the first dimension of a sample,
negative numbers from the end. Shapes a node gives per sample (Reshape, LearnedTensor)
leave the batch out, so no network hard-codes its batch size. Operations of several
inputs take them in the order the network defines (see Network.inputs_of): Subtract is
the first minus the second, MatMul the first times the second.

Each class stands alone (it names only torch, nn and functools): the Python export copies
its source into a file of its own.
"""
from __future__ import annotations

import functools

import torch
from torch import nn


class Reshape(nn.Module):
    """Each sample reshaped to `shape` (the batch kept; one -1 takes what is left)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(nn.Module):
    """The dimensions reordered (`dims` names every dimension, the batch first: 0)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Transpose(nn.Module):
    """Two dimensions swapped."""

    def __init__(self, dim0: int = 1, dim1: int = 2):
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class Squeeze(nn.Module):
    """A dimension of size 1 removed."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Unsqueeze(nn.Module):
    """A dimension of size 1 inserted."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Chunk(nn.Module):
    """One of `chunks` equal pieces along `dim` (piece 0 is the first)."""

    def __init__(self, chunks: int = 2, dim: int = 1, piece: int = 0):
        super().__init__()
        self.chunks, self.dim, self.piece = chunks, dim, piece

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, self.dim)[self.piece]

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, dim={self.dim}, piece={self.piece}"


class Split(nn.Module):
    """One piece of a split along `dim`: pieces of `split_size` each (the last may be
    shorter), or of the listed sizes."""

    def __init__(self, split_size, dim: int = 1, piece: int = 0):
        super().__init__()
        self.split_size = list(split_size) if isinstance(split_size, (list, tuple)) else split_size
        self.dim, self.piece = dim, piece

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.split(self.split_size, self.dim)[self.piece]

    def extra_repr(self) -> str:
        return f"split_size={self.split_size}, dim={self.dim}, piece={self.piece}"


class Slice(nn.Module):
    """`x[..., start:end:step, ...]` along `dim` (end None: to the end; negative from the end)."""

    def __init__(self, dim: int = 1, start: int = 0, end: int | None = None, step: int = 1):
        super().__init__()
        self.dim, self.start, self.end, self.step = dim, start, end, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = [slice(None)] * x.dim()
        index[self.dim] = slice(self.start, self.end, self.step)
        return x[tuple(index)]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, start={self.start}, end={self.end}, step={self.step}"


class Select(nn.Module):
    """The entry at `index` along `dim`, that dimension removed (`x[:, 0]`: a class token)."""

    def __init__(self, dim: int = 1, index: int = 0):
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"


class MatMul(nn.Module):
    """The matrix product of two inputs over their last two dimensions, batched over the
    others (`q @ k.transpose(-2, -1)` with transpose_second)."""

    def __init__(self, transpose_second: bool = False):
        super().__init__()
        self.transpose_second = transpose_second

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return first @ (second.transpose(-2, -1) if self.transpose_second else second)

    def extra_repr(self) -> str:
        return f"transpose_second={self.transpose_second}"


class ScaledDotProductAttention(nn.Module):
    """softmax(q kᵀ · scale) v of three inputs (query, key, value), as
    torch.nn.functional.scaled_dot_product_attention computes it (fused where it can)."""

    def __init__(self, dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None):
        super().__init__()
        self.dropout_p, self.is_causal, self.scale = dropout_p, is_causal, scale

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(query, key, value, dropout_p=self.dropout_p if self.training else 0.0,
                                              is_causal=self.is_causal, scale=self.scale)

    def extra_repr(self) -> str:
        return f"dropout_p={self.dropout_p}, is_causal={self.is_causal}, scale={self.scale}"


class Reduce(nn.Module):
    """A reduction over one or more dimensions: mean, sum, max (amax), min (amin), var,
    std (unbiased: `correction` 1), logsumexp or norm (the vector 2-norm)."""

    def __init__(self, operation: str = "mean", dim=-1, keepdim: bool = False, correction: int = 1):
        super().__init__()
        self.operation = operation
        self.dim = tuple(dim) if isinstance(dim, (list, tuple)) else dim
        self.keepdim, self.correction = keepdim, correction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.operation in ("var", "std"):
            return getattr(torch, self.operation)(x, dim=self.dim, keepdim=self.keepdim, correction=self.correction)
        if self.operation == "norm":
            return torch.linalg.vector_norm(x, dim=self.dim, keepdim=self.keepdim)
        # max and min reduce as amax and amin: the values x.max(dim) gives, over several dims too
        function = {"max": "amax", "min": "amin"}.get(self.operation, self.operation)
        return getattr(torch, function)(x, dim=self.dim, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"operation={self.operation!r}, dim={self.dim}, keepdim={self.keepdim}"


class Subtract(nn.Module):
    """The first input minus the second, broadcast."""

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return first - second


class Divide(nn.Module):
    """The first input divided by the second, broadcast."""

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return first / second


class Power(nn.Module):
    """The first input to the power of the second, broadcast."""

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return torch.pow(first, second)


class Maximum(nn.Module):
    """The element-wise maximum of the inputs, broadcast."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(torch.maximum, inputs)


class Minimum(nn.Module):
    """The element-wise minimum of the inputs, broadcast."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(torch.minimum, inputs)


class Stack(nn.Module):
    """The inputs stacked along a new dimension `dim`."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Scale(nn.Module):
    """The input times a constant (`x * 0.5`, attention's 1/√d)."""

    def __init__(self, factor: float = 1.0):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class Shift(nn.Module):
    """The input plus a constant."""

    def __init__(self, offset: float = 0.0):
        super().__init__()
        self.offset = offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.offset

    def extra_repr(self) -> str:
        return f"offset={self.offset}"


class PowerOf(nn.Module):
    """The input to a constant power (`x ** 2`)."""

    def __init__(self, exponent: float = 2.0):
        super().__init__()
        self.exponent = exponent

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x ** self.exponent

    def extra_repr(self) -> str:
        return f"exponent={self.exponent}"


class Clamp(nn.Module):
    """The input limited to [min, max] (either may be left open)."""

    def __init__(self, min: float | None = None, max: float | None = None):  # noqa: A002 (torch's names)
        super().__init__()
        self.min, self.max = min, max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.min, self.max)

    def extra_repr(self) -> str:
        return f"min={self.min}, max={self.max}"


class Negate(nn.Module):
    """-x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x


class Absolute(nn.Module):
    """|x|."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs()


class Exp(nn.Module):
    """eˣ."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.exp()


class Log(nn.Module):
    """The natural logarithm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.log()


class Sqrt(nn.Module):
    """The square root."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sqrt()


class Rsqrt(nn.Module):
    """1/√x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.rsqrt()


class Pad(nn.Module):
    """Explicit padding, as torch.nn.functional.pad reads `pads`: (left, right) of the last
    dimension first, then (left, right) of the one before, and so on."""

    def __init__(self, pads, mode: str = "constant", value: float = 0.0):
        super().__init__()
        self.pads = tuple(pads) if isinstance(pads, (list, tuple)) else (pads, pads)
        self.mode, self.value = mode, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "constant":
            return torch.nn.functional.pad(x, self.pads, mode="constant", value=self.value)
        return torch.nn.functional.pad(x, self.pads, mode=self.mode)

    def extra_repr(self) -> str:
        return f"pads={self.pads}, mode={self.mode!r}, value={self.value}"


class Roll(nn.Module):
    """Entries shifted along `dims` by `shifts`, those pushed off one end coming back at the
    other (torch.roll): Swin shifts its windows so. The batch (0) is not rolled."""

    def __init__(self, shifts, dims):
        super().__init__()
        self.shifts = tuple(shifts) if isinstance(shifts, (list, tuple)) else (shifts,)
        self.dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
        if len(self.shifts) != len(self.dims) or 0 in self.dims:
            raise ValueError(f"Roll needs one shift per dimension and not the batch (0): shifts {self.shifts}, "
                             f"dims {self.dims}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(x, self.shifts, self.dims)

    def extra_repr(self) -> str:
        return f"shifts={self.shifts}, dims={self.dims}"


class StochasticDepth(nn.Module):
    """Drops a residual branch at random while training (Huang et al., 2016), scaled so its
    expected value is unchanged: per sample ("row") or for the whole batch ("batch"). The
    identity when evaluating."""

    def __init__(self, p: float = 0.1, mode: str = "row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * noise.div_(keep) if keep > 0.0 else x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"


class LearnedTensor(nn.Module):
    """A tensor of `shape` (per sample) that training learns: a class token, a position
    embedding, a layer scale, a relative position bias. Its input only lends the batch
    size: "broadcast" gives [1, *shape] (to add or multiply), "expand" one copy per sample
    (to concatenate). Starts at zeros, ones, a constant or a normal of std `value`
    (truncated at two std, as ViT's class token)."""

    def __init__(self, shape, init: str = "normal", value: float = 0.02, batch: str = "broadcast"):
        super().__init__()
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        self.init, self.value, self.batch = init, value, batch
        self.weight = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.init == "normal":
                nn.init.trunc_normal_(self.weight, std=self.value, a=-2 * self.value, b=2 * self.value)
            elif self.init == "zeros":
                self.weight.zero_()
            elif self.init == "ones":
                self.weight.fill_(1.0)
            else:
                self.weight.fill_(self.value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [1, *shape] to add or multiply (broadcast), or one copy per sample to join (expand)
        one = self.weight.unsqueeze(0)
        return one.expand(x.shape[0], *self.weight.shape) if self.batch == "expand" else one

    def extra_repr(self) -> str:
        return f"shape={tuple(self.weight.shape)}, init={self.init!r}, batch={self.batch!r}"


class ConstantTensor(nn.Module):
    """A fixed tensor of `shape` (per sample), filled with `value` and saved with the weights
    (a buffer: an imported model's masks and index tables keep their values). Its input only
    lends the batch size, as for LearnedTensor."""

    def __init__(self, shape, value: float = 0.0, batch: str = "broadcast"):
        super().__init__()
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        self.batch = batch
        self.register_buffer("tensor", torch.full(shape, float(value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        one = (self.tensor.to(x.dtype) if x.is_floating_point() else self.tensor).unsqueeze(0)
        return one.expand(x.shape[0], *self.tensor.shape) if self.batch == "expand" else one

    def extra_repr(self) -> str:
        return f"shape={tuple(self.tensor.shape)}, batch={self.batch!r}"


class RelativePositionBias(nn.Module):
    """A learned bias for each pair of positions in a window of `window_size`, one per
    head: [1, heads, positions, positions], to add to attention scores (MaxViT, Swin).
    It is gathered from a table of one value per relative offset and head, so pairs at the
    same offset share it; the index from pair to offset is a constant buffer. Its input
    lends nothing but its place in the network."""

    def __init__(self, window_size=(7, 7), num_heads: int = 1):
        super().__init__()
        height, width = tuple(window_size) if isinstance(window_size, (list, tuple)) else (window_size, window_size)
        self.window_size, self.num_heads = (height, width), num_heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * height - 1) * (2 * width - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # one index per pair of positions: their offset, counted row by row in the table
        coords = torch.stack(torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")).flatten(1)
        offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        index = (offsets[..., 0] + height - 1) * (2 * width - 1) + offsets[..., 1] + width - 1
        self.register_buffer("relative_position_index", index.flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positions = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        return bias.view(positions, positions, -1).permute(2, 0, 1).unsqueeze(0)

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, num_heads={self.num_heads}"


class SpaceToChannels(nn.Module):
    """Each 2 x 2 neighbourhood of a channels-last map [N, H, W, C] made one position of
    4 C channels, in the order (0, 0), (1, 0), (0, 1), (1, 1) (row, column): Swin's patch
    merging before its norm and linear layer. An odd height or width is padded with zeros."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-3], x.shape[-2]
        x = torch.nn.functional.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]],
                         -1)


class Normalize(nn.Module):
    """Each vector along `dim` divided by its `p`-norm, at least `eps` (F.normalize)."""

    def __init__(self, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
        super().__init__()
        self.p, self.dim, self.eps = p, dim, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, p=self.p, dim=self.dim, eps=self.eps)

    def extra_repr(self) -> str:
        return f"p={self.p}, dim={self.dim}, eps={self.eps}"


class StandardizedConv2d(nn.Conv2d):
    """A Conv2d whose kernels are standardised (per output channel: mean 0, variance 1,
    `eps` added) before each use, then with `gain` multiplied by a learned gain per output
    channel times `scale`: BiT's StdConv2d and NFNet's ScaledStdConv2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, eps: float = 1e-6, gain: bool = False, scale: float = 1.0):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.eps, self.scale = eps, scale
        self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1)) if gain else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = None if self.gain is None else (self.gain * self.scale).view(-1)
        weight = nn.functional.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                                          weight=factor, training=True, momentum=0.0, eps=self.eps)
        weight = weight.reshape_as(self.weight)
        return nn.functional.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}, gain={self.gain is not None}, scale={self.scale}"


class Compare(nn.Module):
    """The element-wise comparison of the first input with the second, broadcast: a tensor
    of booleans (less: first < second)."""

    def __init__(self, operation: str = "less"):
        super().__init__()
        self.operation = operation

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return getattr(torch, {"less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge",
                               "equal": "eq", "not_equal": "ne"}[self.operation])(first, second)

    def extra_repr(self) -> str:
        return f"operation={self.operation!r}"


class Logical(nn.Module):
    """The element-wise logical and, or or xor of two inputs (non-zero counts as true), broadcast."""

    def __init__(self, operation: str = "and"):
        super().__init__()
        self.operation = operation

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return getattr(torch, f"logical_{self.operation}")(first, second)

    def extra_repr(self) -> str:
        return f"operation={self.operation!r}"


class LogicalNot(nn.Module):
    """True where the input is zero (or false)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logical_not(x)


class Where(nn.Module):
    """The second input where the first is true (non-zero), the third elsewhere, broadcast."""

    def forward(self, condition: torch.Tensor, chosen: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return torch.where(condition.bool(), chosen, other)


class ArgReduce(nn.Module):
    """The index of the largest (argmax) or smallest (argmin) value along `dim`; of its
    last occurrence with `last` (the first otherwise)."""

    def __init__(self, operation: str = "argmax", dim: int = -1, keepdim: bool = False, last: bool = False):
        super().__init__()
        self.operation, self.dim, self.keepdim, self.last = operation, dim, keepdim, last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.last:
            return getattr(torch, self.operation)(x, dim=self.dim, keepdim=self.keepdim)
        flipped = getattr(torch, self.operation)(x.flip(self.dim), dim=self.dim, keepdim=self.keepdim)
        return x.shape[self.dim] - 1 - flipped

    def extra_repr(self) -> str:
        return f"operation={self.operation!r}, dim={self.dim}, keepdim={self.keepdim}, last={self.last}"


class Cast(nn.Module):
    """The input converted to `dtype` (x.to(dtype)): floats to integers round towards zero."""

    def __init__(self, dtype: str = "float32"):
        super().__init__()
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(getattr(torch, self.dtype))

    def extra_repr(self) -> str:
        return f"dtype={self.dtype!r}"


class Function(nn.Module):
    """An element-wise function of the input, torch's of that name (torch.floor(x), torch.erf(x))."""

    def __init__(self, function: str = "floor"):
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.function)(x)

    def extra_repr(self) -> str:
        return f"function={self.function!r}"


class Attention(nn.Module):
    """softmax(q kᵀ · scale) v over heads, as ONNX's Attention computes it: inputs of
    [batch, heads, tokens, size] (`heads` 0), or of [batch, tokens, features] cut into
    `heads` heads (query) and `kv_heads` heads (key and value; 0: as many). Fewer key and
    value heads are shared by groups of query heads (grouped-query attention); `softcap`
    (when above 0) limits the scores to ±softcap with a tanh; `is_causal` lets each query
    see only the keys up to its own position."""

    def __init__(self, heads: int = 0, kv_heads: int = 0, scale: float | None = None, is_causal: bool = False,
                 softcap: float = 0.0):
        super().__init__()
        self.heads, self.kv_heads, self.scale = heads, kv_heads, scale
        self.is_causal, self.softcap = is_causal, softcap

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        cut = query.dim() == 3
        if cut:
            kv_heads = self.kv_heads or self.heads
            query = query.unflatten(-1, (self.heads, -1)).transpose(1, 2)
            key = key.unflatten(-1, (kv_heads, -1)).transpose(1, 2)
            value = value.unflatten(-1, (kv_heads, -1)).transpose(1, 2)
        if key.shape[1] != query.shape[1]:
            groups = query.shape[1] // key.shape[1]
            key, value = key.repeat_interleave(groups, 1), value.repeat_interleave(groups, 1)
        scale = self.scale if self.scale is not None else query.shape[-1] ** -0.5
        scores = query @ key.transpose(-2, -1) * scale
        if self.softcap > 0:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        if self.is_causal:
            allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
            scores = scores.masked_fill(~allowed, float("-inf"))
        output = scores.softmax(-1) @ value
        return output.transpose(1, 2).flatten(2) if cut else output

    def extra_repr(self) -> str:
        return (f"heads={self.heads}, kv_heads={self.kv_heads}, scale={self.scale}, is_causal={self.is_causal}, "
                f"softcap={self.softcap}")


class Bitwise(nn.Module):
    """The bitwise and, or or xor of two integer inputs, or the first shifted left or right
    by the second's number of bits, broadcast."""

    def __init__(self, operation: str = "and"):
        super().__init__()
        self.operation = operation

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return getattr(torch, f"bitwise_{self.operation}")(first, second)

    def extra_repr(self) -> str:
        return f"operation={self.operation!r}"


class Remainder(nn.Module):
    """The remainder of the first input divided by the second, broadcast: with the sign of
    the divisor (Python's %, torch.remainder), or of the dividend with `fmod` (C's fmod)."""

    def __init__(self, fmod: bool = False):
        super().__init__()
        self.fmod = fmod

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        remainder = torch.fmod(first, second)
        if self.fmod:
            return remainder
        # Python's %, from C's fmod: torch.remainder computes a - b * floor(a / b), which
        # gives NaN for a finite number modulo an infinity (5 % inf is 5, -5 % inf is inf)
        wrong_sign = (remainder != 0) & ((remainder < 0) != (second < 0))
        return torch.where(wrong_sign, remainder + second, remainder)

    def extra_repr(self) -> str:
        return f"fmod={self.fmod}"


class Einsum(nn.Module):
    """torch.einsum of the inputs with `equation` ("bij,bjk->bik"): every operand and the
    result keep the batch as their first index."""

    def __init__(self, equation: str = "bij,bjk->bik"):
        super().__init__()
        self.equation = equation

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.equation, *inputs)

    def extra_repr(self) -> str:
        return f"equation={self.equation!r}"


class GridSample(nn.Module):
    """The first input sampled at the positions the second gives (torch.nn.functional.grid_sample):
    a grid of [batch, height, width, 2] x, y positions from -1 to 1 (3 and a depth for
    volumes), each read from the input with `mode` interpolation; positions outside it
    read `padding_mode`'s values."""

    def __init__(self, mode: str = "bilinear", padding_mode: str = "zeros", align_corners: bool = False):
        super().__init__()
        self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        return nn.functional.grid_sample(x, grid, mode=self.mode, padding_mode=self.padding_mode,
                                         align_corners=self.align_corners)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, padding_mode={self.padding_mode!r}, align_corners={self.align_corners}"


class ClassLoss(nn.Module):
    """The classification loss of each sample (and position) as a tensor, not reduced:
    -log p[target] from log-probabilities (`nll`), or from scores through a log-softmax over
    the classes, dimension 1 (`cross_entropy`). Targets are class indices; those equal to
    `ignore_index` give 0."""

    def __init__(self, operation: str = "cross_entropy", ignore_index: int = -100):
        super().__init__()
        self.operation, self.ignore_index = operation, ignore_index

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_probabilities = scores.log_softmax(1) if self.operation == "cross_entropy" else scores
        return nn.functional.nll_loss(log_probabilities, targets.long(), ignore_index=self.ignore_index,
                                      reduction="none")

    def extra_repr(self) -> str:
        return f"operation={self.operation!r}, ignore_index={self.ignore_index}"


class Hardmax(nn.Module):
    """1 at the largest value along `dim` (the first of equal ones), 0 elsewhere."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x).scatter(self.dim, x.argmax(self.dim, keepdim=True), 1.0)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GatherElements(nn.Module):
    """The first input's values at the second input's indices along `dim` (torch.gather):
    the result has the indices' shape; negative indices count from the end."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        indices = indices.long()
        return x.gather(self.dim, torch.where(indices < 0, indices + x.shape[self.dim], indices))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ScatterElements(nn.Module):
    """The first input with the third input's values written at the second input's indices
    along `dim` (torch.scatter_reduce): replacing them, or combined with them by `reduction`
    (sum, prod, amax, amin); negative indices count from the end."""

    def __init__(self, dim: int = 1, reduction: str = "none"):
        super().__init__()
        self.dim, self.reduction = dim, reduction

    def forward(self, x: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
        indices = indices.long()
        indices = torch.where(indices < 0, indices + x.shape[self.dim], indices)
        if self.reduction == "none":
            return x.scatter(self.dim, indices, updates)
        return x.scatter_reduce(self.dim, indices, updates, self.reduction)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, reduction={self.reduction!r}"


TENSOR_OPERATIONS: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (
        Reshape, Permute, Transpose, Squeeze, Unsqueeze, Chunk, Split, Slice, Select, MatMul,
        ScaledDotProductAttention, Reduce, Subtract, Divide, Power, Maximum, Minimum, Stack, Scale, Shift,
        PowerOf, Clamp, Negate, Absolute, Exp, Log, Sqrt, Rsqrt, Pad, Roll, StochasticDepth, LearnedTensor,
        ConstantTensor, RelativePositionBias, SpaceToChannels, Normalize, StandardizedConv2d, Compare, Logical,
        LogicalNot, Where, ArgReduce, Cast, Function, Attention, Bitwise, Remainder, Einsum,
        GridSample, ClassLoss, Hardmax, GatherElements, ScatterElements,
    )
}

"""Inside the network: what one node gives for one sample, the kernels of a convolution,
and the samples that excite a convolution's channel most.

A compiled network (core/graph/compiler.py) calls one submodule per node, named after the
node, so a forward hook on that submodule sees the node's output. The hook stops the
forward pass once it has the output (the rest of the network is not run), which makes a
look at an early layer of resnet18 cheaper than a prediction. A GraphModule whose node
is a function rather than a module (a traced model of one's own) is run node by node with
torch.fx's Interpreter instead, which sees every value.

An attention node (nn.MultiheadAttention, compiled with need_weights=False) is asked for
its weights by a pre-hook, so it shows what each position attends to.

Plain torch and numpy, no Qt: the Network tab's "Inside" view and `pytorchgui inspect`
call the same functions.
"""
from __future__ import annotations

import difflib
import heapq
import math
import operator
import threading
from dataclasses import dataclass

import numpy
import torch
from torch import fx

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training.tasks import Progress, TaskControl

FEATURE_MAPS = "feature maps"  # [C, H, W]: one image per channel
VECTOR = "vector"  # [N]: one bar per value
MATRIX = "matrix"  # [rows, columns]: a sequence's steps x features, a Conv1d's channels x length
ATTENTION = "attention"  # [queries, keys]: the attention weights of a MultiheadAttention node

CONVOLUTIONS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


class InspectionError(PyTorchGUIError):
    """A node, channel or sample that cannot be looked at, and what to choose instead."""


@dataclass(frozen=True)
class Statistics:
    """What matters of a layer's output at a glance: its scale, and how much of it is dead
    (exact zeros: units a ReLU switched off for this sample)."""

    mean: float
    std: float
    minimum: float
    maximum: float
    zero_share: float  # 0..1

    @classmethod
    def of(cls, values: torch.Tensor) -> "Statistics":
        values = values.detach().double()
        return cls(float(values.mean()), float(values.std(unbiased=False)), float(values.min()), float(values.max()),
                   float((values == 0).double().mean()))

    def describe(self) -> str:
        return (f"mean {self.mean:.4g} · std {self.std:.4g} · min {self.minimum:.4g} · max {self.maximum:.4g} · "
                f"{self.zero_share:.0%} exact zeros")


@dataclass
class NodeOutput:
    """A node's output for the first sample of a batch, and how to draw it (`kind`)."""

    node: str
    values: torch.Tensor  # float, on the CPU; [C, H, W] for feature maps (deeper outputs folded into C)
    kind: str  # FEATURE_MAPS, VECTOR, MATRIX or ATTENTION
    shape: list[int]  # the node's output for one sample, as the network gives it
    statistics: Statistics


@dataclass
class Filters:
    """A convolution's kernels as images in 0..1, each normalised on its own."""

    node: str
    images: numpy.ndarray  # [kernels, h, w], or [kernels, h, w, 3] in colour
    colour: bool
    note: str  # how the images were made from the weights, for a caption


@dataclass
class Exciting:
    """The samples whose mean activation of `channel` at `node` is highest, highest first."""

    node: str
    channel: int
    indices: list[int]
    activations: list[float]


# -- finding nodes -----------------------------------------------------------------------------
def node_names(model: torch.nn.Module) -> list[str]:
    """The nodes of a compiled network in the order the forward pass calls them."""
    return [_node_of(model, node.target) for node in _calls(model)]


def _calls(model: torch.nn.Module) -> list[fx.Node]:
    graph = getattr(model, "graph", None)
    if graph is None:
        raise InspectionError("only a compiled network (a torch.fx GraphModule) can be looked inside")
    return [node for node in graph.nodes if node.op in ("call_module", "call_function", "call_method")
            and node.target is not operator.getitem]


def _node_of(model, target) -> str:
    names = getattr(model, "node_names", {})
    return names.get(target, target if isinstance(target, str) else getattr(target, "__name__", str(target)))


def _graph_node(model: torch.nn.Module, node: str) -> fx.Node:
    """The fx node that computes `node` (a node name as the designer shows it)."""
    for candidate in _calls(model):
        if _node_of(model, candidate.target) == node or candidate.name == node:
            return candidate
    known = node_names(model)
    near = difflib.get_close_matches(node, known, n=5, cutoff=0.4) or known[:8]
    raise InspectionError(f"the network has no node {node!r}: did you mean {', '.join(near)}?")


def convolution_nodes(model: torch.nn.Module) -> list[str]:
    """The convolution nodes, in the order the forward pass calls them."""
    return [_node_of(model, call.target) for call in _calls(model)
            if call.op == "call_module" and isinstance(model.get_submodule(call.target), CONVOLUTIONS)]


def _convolution(model: torch.nn.Module, node: str) -> torch.nn.Module:
    call = _graph_node(model, node)
    module = model.get_submodule(call.target) if call.op == "call_module" else None
    if not isinstance(module, CONVOLUTIONS):
        raise InspectionError(f"{node} is not a convolution: choose one of {', '.join(convolution_nodes(model))}")
    return module


# -- one node's output ----------------------------------------------------------------------------
class _Captured(Exception):
    """Raised by the hook once it holds the output: the rest of the forward pass is not needed."""


def _chosen_output(call: fx.Node, output):
    """The value the network passes on from a module that returns a tuple (a MaxPool with
    its indices, an LSTM's (output, state)): the element its graph reads next."""
    if not isinstance(output, (tuple, list)):
        return output
    read = [user.args[1] for user in call.users if user.target is operator.getitem]
    return output[min(read) if read else 0]


def _run_capturing(model: torch.nn.Module, x: torch.Tensor, call: fx.Node):
    """The value `call` computes when `model` runs on `x` (attention: its weights)."""
    if call.op != "call_module":
        return _interpreted(model, x, call)
    module = model.get_submodule(call.target)
    captured = []
    # The model may be the one the window predicts with at the same time (Try it, saliency,
    # on the GUI thread while this runs in the background): the hooks act on this thread's
    # pass only, and leave every other pass through the module as it is.
    looking = threading.get_ident()

    def keep(_module, _args, output):
        if threading.get_ident() != looking:
            return None
        captured.append(output[1] if attention else _chosen_output(call, output))
        raise _Captured()

    def with_weights(_module, args, kwargs):
        if threading.get_ident() != looking:
            return None
        return args, {**kwargs, "need_weights": True, "average_attn_weights": True}

    attention = isinstance(module, torch.nn.MultiheadAttention)
    handles = [module.register_forward_hook(keep)]
    if attention:  # compiled with need_weights=False; the weights are what this view is for
        handles.append(module.register_forward_pre_hook(with_weights, with_kwargs=True))
    try:
        model(x)
    except _Captured:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return captured[0]


def _interpreted(model: fx.GraphModule, x: torch.Tensor, call: fx.Node):
    captured = []

    class Capturing(fx.Interpreter):
        def run_node(self, node):
            value = super().run_node(node)
            if node is call:
                captured.append(value)
                raise _Captured()
            return value

    try:
        Capturing(model).run(x)
    except _Captured:
        pass
    return captured[0]


def _kind(values: torch.Tensor, attention: bool) -> tuple[str, torch.Tensor]:
    """How to draw one sample's output, and the values laid out for it."""
    if attention:
        return ATTENTION, values
    if values.dim() <= 1 or (values.dim() == 3 and values.shape[-2:] == (1, 1)):  # pooled to one value per channel
        return VECTOR, values.reshape(-1)
    if values.dim() == 2:
        return MATRIX, values
    return FEATURE_MAPS, values.reshape(-1, *values.shape[-2:])  # a Conv3d's depth joins its channels


@torch.no_grad()
def node_output(model: torch.nn.Module, x: torch.Tensor, node: str) -> NodeOutput:
    """What `node` gives for the first sample of the batch `x` (normalised as in training:
    see `sample_batch`). Raises InspectionError for a node the network does not have."""
    call = _graph_node(model, node)
    model.eval()
    output = _run_capturing(model, x, call)
    if not isinstance(output, torch.Tensor):
        raise InspectionError(f"{node} gives {type(output).__name__}, not a tensor: look at the node after it")
    first = output[0].detach().float().cpu()
    attention = call.op == "call_module" and isinstance(model.get_submodule(call.target), torch.nn.MultiheadAttention)
    kind, values = _kind(first, attention)
    return NodeOutput(node, values, kind, list(first.shape), Statistics.of(first))


def sample_batch(dataset, raw: torch.Tensor, normalization) -> torch.Tensor:
    """One raw sample of `dataset` (uint8 image, table row, token ids) as the batch of one
    the network was trained on: scaled and normalised as training batches are."""
    from pytorchgui.core.data.datasets import batches_for

    return batches_for(dataset, normalization, "cpu").normalised(raw[None])


def raw_sample(dataset, index: int) -> torch.Tensor:
    """Sample `index` of `dataset` as stored (InspectionError out of range)."""
    if not 0 <= index < len(dataset):
        raise InspectionError(f"{dataset.name} has samples 0 to {len(dataset) - 1}, not {index}")
    return dataset.inputs[index] if hasattr(dataset, "inputs") else dataset[index][0]


# -- filters ------------------------------------------------------------------------------------------
def _normalised_each(images: torch.Tensor) -> torch.Tensor:
    """Every image (first dimension) stretched to 0..1 on its own: kernels differ in scale."""
    flat = images.reshape(len(images), -1)
    low, high = flat.min(1).values, flat.max(1).values
    span = torch.where(high > low, high - low, torch.ones_like(high))
    shape = [-1] + [1] * (images.dim() - 1)
    return (images - low.reshape(shape)) / span.reshape(shape)


def convolution_filters(model: torch.nn.Module, node: str | None = None) -> Filters:
    """The kernels of convolution `node` (the first convolution by default) as images:
    in colour for 3 input channels, grey for one; a kernel over more channels is shown as
    its mean over them. A Conv1d's kernel is an image of its input channels x width."""
    if node is None:
        convolutions = convolution_nodes(model)
        if not convolutions:
            raise InspectionError("the network has no convolution, so no filters to show")
        node = convolutions[0]
    module = _convolution(model, node)
    weight = module.weight.detach().float().cpu()
    inputs = weight.shape[1]
    if isinstance(module, torch.nn.Conv1d):
        return Filters(node, _normalised_each(weight).numpy(), False, f"{inputs} input channels x kernel width")
    if isinstance(module, torch.nn.Conv3d):
        weight = weight.mean(2)  # a 3-D kernel shown flat: its mean over depth
    if inputs == 3:
        return Filters(node, _normalised_each(weight).permute(0, 2, 3, 1).numpy(), True, "RGB colour")
    note = "one input channel" if inputs == 1 else f"mean over {inputs} input channels"
    return Filters(node, _normalised_each(weight.mean(1)).numpy(), False, note)


# -- samples that excite a channel ------------------------------------------------------------------
@torch.no_grad()
def top_exciting(model: torch.nn.Module, dataset, normalization, node: str, channel: int, count: int = 9, *,
                 batch_size: int = 64, device: str = "cpu", control: TaskControl | None = None) -> Exciting:
    """The `count` samples of `dataset` (the validation samples) whose mean activation of
    `channel` at convolution `node` is highest. Reports Progress after every batch; the
    control's stop raises tasks.Cancelled."""
    from pytorchgui.core.data.datasets import batches_for

    control = control or TaskControl()
    channels = _convolution(model, node).out_channels
    if not 0 <= channel < channels:
        raise InspectionError(f"{node} has channels 0 to {channels - 1}, not {channel}")
    call = _graph_node(model, node)
    model = model.to(device).eval()
    batches = batches_for(dataset, normalization, device)
    total = batches.number_of_batches(batch_size)
    best: list[tuple[float, int]] = []  # a min-heap of (activation, index): the smallest kept goes first
    start = 0
    for batch, (x, _y) in enumerate(batches.batches(batch_size, shuffle=False)):
        control.checkpoint()
        scores = _run_capturing(model, x, call)[:, channel].flatten(1).float().mean(1).cpu().tolist()
        for offset, score in enumerate(scores):
            if math.isfinite(score):
                if len(best) < count:
                    heapq.heappush(best, (score, start + offset))
                else:
                    heapq.heappushpop(best, (score, start + offset))
        start += len(scores)
        control.report(Progress(batch + 1, total))
    ranked = sorted(best, key=lambda pair: (-pair[0], pair[1]))
    return Exciting(node, channel, [index for _, index in ranked], [score for score, _ in ranked])


# -- pictures ---------------------------------------------------------------------------------------
MOSAIC_LIMIT = 64  # maps or kernels drawn at most: resnet18's 512 maps of 7x7 would each be a speck


def mosaic(images: numpy.ndarray, limit: int = MOSAIC_LIMIT) -> numpy.ndarray:
    """The first `limit` images ([n, h, w] or [n, h, w, 3]) side by side in a near-square grid,
    one pixel of NaN between them (drawn as the background)."""
    images = numpy.asarray(images, dtype=numpy.float32)[:limit]
    count, height, width = images.shape[:3]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = numpy.full((rows * (height + 1) - 1, columns * (width + 1) - 1, *images.shape[3:]), numpy.nan,
                      dtype=numpy.float32)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        grid[top:top + height, left:left + width] = image
    return grid


def _title(output: NodeOutput) -> str:
    shape = " x ".join(str(size) for size in output.shape)
    drawn = len(output.values) if output.kind == FEATURE_MAPS else 0
    more = f", the first {MOSAIC_LIMIT} of {drawn} maps" if drawn > MOSAIC_LIMIT else ""
    return f"{output.node}: {output.kind} [{shape}]{more}"


def draw_node_output(output: NodeOutput, axes) -> None:
    """`output` on matplotlib `axes`: maps as a mosaic, a vector as bars, a matrix as a heat map."""
    values = output.values.numpy()
    if output.kind == VECTOR:
        axes.bar(numpy.arange(len(values)), values, width=1.0 if len(values) > 64 else 0.8, color="#3b75af")
        axes.set_xlabel("unit")
        axes.set_ylabel("value")
    else:
        picture = mosaic(values) if output.kind == FEATURE_MAPS else values
        shown = axes.imshow(picture, cmap="viridis", interpolation="nearest", aspect="equal"
                            if output.kind == FEATURE_MAPS else "auto")
        axes.figure.colorbar(shown, ax=axes, shrink=0.8)
        if output.kind == FEATURE_MAPS:
            axes.set_axis_off()
        else:
            axes.set_xlabel("key" if output.kind == ATTENTION else "column")
            axes.set_ylabel("query" if output.kind == ATTENTION else "row")
    axes.set_title(f"{_title(output)}\n{output.statistics.describe()}", fontsize=9)


def save_node_output_figure(output: NodeOutput, path) -> None:
    """`output` as a PNG (the CLI's `inspect`)."""
    from pytorchgui.core.figures import new_figure, save_figure

    figure = new_figure(8, 7 if output.kind == FEATURE_MAPS else 5)
    draw_node_output(output, figure.add_subplot())
    save_figure(figure, path)


def save_filters_figure(filters: Filters, path) -> None:
    """The kernels as a PNG (`inspect --filters`)."""
    from pytorchgui.core.figures import new_figure, save_figure

    figure = new_figure(7, 7)
    axes = figure.add_subplot()
    picture = mosaic(filters.images)
    if filters.colour:  # an RGB image has no "bad" colour: the gaps are painted white
        picture = numpy.nan_to_num(picture, nan=1.0)
    axes.imshow(picture, cmap=None if filters.colour else "gray", interpolation="nearest")
    axes.set_axis_off()
    more = f", the first {MOSAIC_LIMIT}" if len(filters.images) > MOSAIC_LIMIT else ""
    axes.set_title(f"{filters.node}: {len(filters.images)} kernels{more} ({filters.note}), each scaled to its own "
                   "range", fontsize=9)
    save_figure(figure, path)

"""How much memory one training step needs, found without allocating it.

The step (forward, loss, backward) runs on the meta device, where tensors have shapes
but no data, under a dispatch mode that follows every tensor torch creates: its bytes
count from its creation until the tensor is freed (a weak reference's finaliser), so
the highest sum seen is the step's peak of activations, saved tensors, activation
gradients and parameter gradients, exactly as the autograd engine keeps and frees them.
To it come:

- the parameters, and the optimizer's state: the chosen optimizer, with the network's
  settings, takes one step on a small real tensor; its state per parameter value (Adam:
  2, SGD with momentum: 1, plain SGD: 0, ...) is then exact for every optimizer;
- bf16 autocast keeps matrix products and convolutions in 2 bytes: the activation peak
  is halved (an approximation: element-wise layers stay float32).

On the CPU, what the meta device cannot see is added where it was measured
(bench/bench_memory.py, BENCHMARKS.md):

- in the contiguous layout, oneDNN computes a convolution into a copy whose channels are
  padded to a multiple of 16 and then reorders it into torch's tensor (ONEDNN_VERBOSE
  shows it): the largest such output copy. In channels_last (the Train tab's default)
  convolutions read and write torch's tensors directly and there is no copy;
- a training LSTM runs oneDNN's kernel, which keeps a workspace for backward that the
  meta device's cell-by-cell LSTM does not make (LSTM steps measured 2x the meta count);
- the C allocator keeps freed memory: glibc serves tensors under its dynamic mmap
  threshold (up to 32 MB) from a heap it does not give back during the step, so the
  resident peak of a step was 0.96 to 1.68 times its live tensors (median 1.25) on seven
  networks. ALLOCATOR_RETENTION of the batch-dependent bytes is added, less the oneDNN
  copy, which lands in that kept memory (adding both over-estimated the contiguous steps
  by up to 1.37x). Fixing the threshold (mallopt) would remove the retention but doubled
  the step time: not done.

Not modelled: cuDNN's workspace on a GPU (where the peak the caching allocator reports
is the live tensors).

Every term but the parameters, gradients and optimizer state grows with the batch, so
the largest batch that fits in a given memory follows from one estimate.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from pytorchgui.core.data.samples import TensorDataset
from pytorchgui.core.errors import TrainingError
from pytorchgui.core.machine import FLOAT_BYTES, free_ram, size
from pytorchgui.core.graph.compiler import compile_network, uses_channels_last
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.optimizers import probe_step
from pytorchgui.core.graph.shapes import infer_shapes

LSTM_WORKSPACE_EXTRA = 36  # bytes per time step, sample and hidden unit (see onednn_lstm_workspace)
ALLOCATOR_RETENTION = 0.3  # of the batch-dependent bytes: measured median 1.25x, up to 1.68x of the live tensors


@dataclass(frozen=True)
class MemoryEstimate:
    batch_size: int
    parameters: int
    gradients: int
    optimizer_state: int
    activations: int  # activations, saved tensors and their gradients at the step's peak
    batch: int
    library_workspace: int = 0  # the CPU's oneDNN memory: a convolution's output copy (contiguous), LSTM workspaces
    allocator_retention: int = 0  # freed memory the CPU's C allocator keeps during the step, beyond the copy

    @property
    def fixed(self) -> int:
        """What does not depend on the batch size."""
        return self.parameters + self.gradients + self.optimizer_state

    @property
    def total(self) -> int:
        return self.fixed + self.activations + self.batch + self.library_workspace + self.allocator_retention

    @property
    def per_sample(self) -> float:
        return (self.total - self.fixed) / max(self.batch_size, 1)

    def largest_batch(self, available: int) -> int:
        """The largest batch size whose step fits in `available` bytes (0: not even one sample)."""
        room = available - self.fixed
        return max(0, int(room // self.per_sample)) if self.per_sample > 0 and room > 0 else 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total, "per_sample": round(self.per_sample)}


def optimizer_state_per_value(network: Network) -> float:
    """Optimizer state values per parameter value, measured on one step of small tensors
    (probe_step: Muon keeps one value per matrix value, and AdamW two for the rest)."""
    if network.optimizer is None:
        return 0.0
    entry = network.catalog.optimizers.get(network.optimizer.type)
    optimizer = probe_step(entry, network.optimizer.parameters)
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    stored = sum(value.numel() for state in optimizer.state.values() for value in state.values()
                 if isinstance(value, torch.Tensor) and value.numel() > 1)
    history = sum(tensor.numel() for state in optimizer.state.values() for value in state.values()
                  if isinstance(value, list) for tensor in value if isinstance(tensor, torch.Tensor))  # LBFGS's
    return (stored + history) / sum(parameter.numel() for parameter in parameters)


class _LiveBytes(TorchDispatchMode):
    """Follows every tensor an operation creates (views excepted: they share memory)."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0

    def _freed(self, count: int) -> None:
        self.live -= count

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        if not any(result.alias_info is not None for result in func._schema.returns):
            for tensor in output if isinstance(output, (tuple, list)) else (output,):
                if isinstance(tensor, torch.Tensor):
                    count = tensor.numel() * tensor.element_size()
                    self.live += count
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(tensor, self._freed, count)
        return output


def estimate_training_memory(network: Network, batch_size: int, *, bf16: bool = False,
                             device: str = "cpu", channels_last: bool = True) -> MemoryEstimate:
    """The estimate for one training step at `batch_size` on `device`, in the layout the
    trainer will use (`channels_last`: the training option); TrainingError naming the node
    when the network does not compile."""
    report = infer_shapes(network)
    if not report.ok:
        raise TrainingError(f"no memory estimate: {report.problems[0].message}")
    with torch.device("meta"):
        model = compile_network(network, report).train()
    for module in model.modules():
        # momentum None (a cumulative average) divides by num_batches_tracked.item(), which
        # the meta device cannot read; the step's memory is the same with any momentum
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.momentum is None:
            module.momentum = 0.1
    parameters = sum(p.numel() for p in model.parameters()) * FLOAT_BYTES
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad) * FLOAT_BYTES
    tracker = _LiveBytes()
    _shorten_long_recurrences(model, tracker)
    with tracker:
        x = tuple(torch.empty(batch_size, *spec.shape, device="meta", dtype=getattr(torch, spec.dtype))
                  for spec in network.inputs)
        batch = tracker.live
        output = model(*x)
        outputs = output if isinstance(output, tuple) else (output,)
        loss = sum(each.float().square().mean() for each in outputs)  # any loss: its memory is one value per output
        del output, outputs
        if loss.requires_grad:
            loss.backward()
        del loss, x
    step = max(tracker.peak - batch - trainable, 0)  # activations and their gradients at the peak
    if bf16:
        step //= 2
    state = optimizer_state_per_value(network)
    workspace = retention = 0
    if device == "cpu":
        convolution_copy = 0 if convolutions_in_channels_last(network, channels_last) else \
            onednn_output_copy(network, report, batch_size)
        lstm = onednn_lstm_workspace(network, report, batch_size)
        workspace = convolution_copy + lstm
        retention = max(int(ALLOCATOR_RETENTION * (step + batch)) - convolution_copy, 0)
    return MemoryEstimate(batch_size, parameters, trainable, int(state * trainable), step, batch, workspace,
                          retention)


# A recurrent layer runs at most this many time steps in the estimate (see _FewSteps).
ESTIMATE_STEPS = 32


def _shorten_long_recurrences(model: torch.nn.Module, tracker: _LiveBytes) -> None:
    """Wrap the model's batch-first recurrent layers in _FewSteps."""
    for name, child in list(model.named_children()):
        if isinstance(child, torch.nn.RNNBase) and child.batch_first:
            setattr(model, name, _FewSteps(child, tracker))


class _Ballast(torch.autograd.Function):
    """Passes a tensor on, and keeps another for the backward pass, as a layer keeps what
    its gradient needs: the other is freed when the backward pass has gone by."""

    @staticmethod
    def forward(ctx, tensor, ballast):
        ctx.save_for_backward(ballast)
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, gradient):
        return gradient, None


class _FewSteps(torch.nn.Module):
    """A recurrent layer in the estimate of a long sequence. On the meta device it steps
    through every time step (about 2 ms each: 10^5 steps froze the Train tab for minutes),
    and what it keeps grows by the same bytes at each step. So it runs ESTIMATE_STEPS
    steps, measures what they keep, and holds that much more for the steps it skipped,
    until the backward pass; its output has the whole sequence."""

    def __init__(self, layer: torch.nn.RNNBase, tracker: _LiveBytes):
        super().__init__()
        self.layer, self.tracker = layer, tracker

    def forward(self, x, *state):
        steps = x.shape[1] if x.dim() == 3 else 0
        if steps <= ESTIMATE_STEPS:
            return self.layer(x, *state)
        before = self.tracker.live
        output, hidden = self.layer(x[:, :ESTIMATE_STEPS], *state)
        states = hidden if isinstance(hidden, tuple) else (hidden,)
        ends = sum(t.numel() * t.element_size() for t in (output, *states))  # `whole` holds the whole output
        per_step = (self.tracker.live - before - ends) / ESTIMATE_STEPS  # what the steps keep for backward
        whole = output.repeat(1, math.ceil(steps / ESTIMATE_STEPS), 1)[:, :steps]
        ballast = torch.empty(int(per_step * (steps - ESTIMATE_STEPS)), dtype=torch.uint8, device=x.device)
        return _Ballast.apply(whole, ballast), hidden


def convolutions_in_channels_last(network: Network, option: bool) -> bool:
    """Whether training with the channels_last option runs the network's images in that layout
    (not for LBFGS; only image batches have it)."""
    return uses_channels_last(network, option) and len(network.input_spec.shape) == 3


def onednn_output_copy(network: Network, report, batch_size: int) -> int:
    """In the contiguous layout, oneDNN computes a convolution into a blocked copy whose
    channels are padded to a multiple of 16 (6 output channels take 16): the largest copy."""
    largest = 0
    for name, node in network.nodes.items():
        shape = report.nodes.get(name)
        if node.type.startswith("Conv") and shape is not None and shape.output_shape is not None:
            dims = shape.output_shape
            largest = max(largest, math.ceil(dims[0] / 16) * 16 * math.prod(dims[1:]))
    return largest * batch_size * FLOAT_BYTES


def onednn_lstm_workspace(network: Network, report, batch_size: int) -> int:
    """A training LSTM on the CPU runs oneDNN's kernel (mkldnn_rnn_layer), which keeps a
    workspace for the backward pass: 63.5 bytes per time step, sample and hidden unit, per
    layer and direction (read from the kernel's output). The meta device runs the LSTM cell
    by cell instead and already keeps the gates of each step; the kernel's steps measured
    34 to 37 bytes more per step, sample and hidden unit than the meta count."""
    extra = 0
    for name, node in network.nodes.items():
        shape = report.nodes.get(name)
        values = node.parameters
        if node.type != "LSTM" or shape is None or not shape.input_shapes or values.get("proj_size", 0):
            continue
        steps = shape.input_shapes[0][0]
        copies = int(values.get("num_layers", 1)) * (2 if values.get("bidirectional") else 1)
        extra += LSTM_WORKSPACE_EXTRA * steps * int(values["hidden_size"]) * copies
    return extra * batch_size


def available_memory(device: str) -> tuple[int, int] | None:
    """(free, total) bytes of the device: a GPU's, or the machine's RAM; None if unknown."""
    try:
        if device.startswith("cuda"):
            free, total = torch.cuda.mem_get_info(torch.device(device))
            return int(free), int(total)
        if device == "cpu":
            return free_ram()
    except (RuntimeError, AssertionError, ValueError, OSError):
        return None
    return None


def data_moved_to(device: str, *datasets) -> int:
    """Bytes of the in-memory sets training moves whole to `device` (a GPU; on the CPU they
    are in RAM already, counted out of the free memory)."""
    if device == "cpu":
        return 0
    return sum(dataset.memory_bytes for dataset in datasets if isinstance(dataset, TensorDataset))


def does_not_fit(estimate: MemoryEstimate, memory: tuple[int, int] | None, device: str, data: int = 0) -> str | None:
    """Why a run with this step would not fit in `memory` (free, total) beside `data` bytes of
    data sets on the device: the sentence with the largest batch that fits; None if it fits."""
    if memory is None or estimate.total + data <= memory[0]:
        return None
    fits = estimate.largest_batch(memory[0] - data)
    beside = f" beside the data sets moved there ({size(data)})" if data else ""
    advice = f"choose a batch size of at most {fits}" if fits >= 1 else \
        "train on the CPU, or use less data" if data and estimate.total <= memory[0] else "choose a smaller network"
    return (f"a step at batch size {estimate.batch_size} needs about {size(estimate.total)}{beside} but "
            f"{_device_name(device)} has {size(memory[0])} free: {advice}")


def describe(estimate: MemoryEstimate, device: str, memory: tuple[int, int] | None, data: int = 0) -> str:
    """The sentence the Train tab shows: "needs about 1.3 GB of 7.8 GB free on GPU 0; the
    largest batch that fits is about 900" (`data`: bytes of data sets moved there too)."""
    text = f"needs about {size(estimate.total)}"
    if data:
        text += f" beside the data sets ({size(data)})"
    if memory is None:
        return text + f" (free memory {_on_device(device)} unknown)"
    free, _ = memory
    fits = estimate.largest_batch(free - data)
    text += f" of {size(free)} free {_on_device(device)}; the largest batch that fits is about {_round(fits)}"
    return text


def _device_name(device: str) -> str:
    """"RAM" for the CPU, "GPU 1" for cuda:1."""
    return "RAM" if device == "cpu" else f"GPU {device.split(':')[1] if ':' in device else 0}"


def _on_device(device: str) -> str:
    return f"{'in' if device == 'cpu' else 'on'} {_device_name(device)}"


def _round(count: int) -> str:
    """Two significant digits: the estimate is not more precise than that."""
    if count < 100:
        return str(count)
    digits = int(math.log10(count)) - 1
    return f"{round(count, -digits):,}"

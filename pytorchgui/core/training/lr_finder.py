"""The learning-rate range test (L. N. Smith, "Cyclical Learning Rates for Training Neural
Networks", 2017): train a fresh copy of the network for about a hundred batches while the
learning rate grows exponentially, and watch the loss. Where the smoothed loss falls
fastest is a good learning rate; where it blows up, training would diverge.

The network file is only read: the model is built from it here, so the user's network
(and any trained weights) stay as they are.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch

from pytorchgui.core.data.datasets import batches_for
from pytorchgui.core.errors import TrainingError
from pytorchgui.core.graph.compiler import compile_network, forward_inputs
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.core.training.losses import make_loss
from pytorchgui.core.training.optimizers import make_optimizer
from pytorchgui.core.training.smoothing import SmoothedLoss

SMOOTHING = 0.98  # the exponential moving average of the loss, as fastai's finder
DIVERGED = 4.0  # stop once the smoothed loss is this many times its lowest value


@dataclass
class LearningRateCurve:
    learning_rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggested_lr: float | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def suggest(learning_rates: list[float], smoothed: list[float]) -> float | None:
    """The learning rate where the smoothed loss falls fastest against log(lr), before its
    lowest point (past it the loss is already turning up)."""
    lowest = min(range(len(smoothed)), key=smoothed.__getitem__) if smoothed else 0
    if lowest < 3:
        return None
    logs = [math.log10(rate) for rate in learning_rates[:lowest + 1]]
    slopes = [(smoothed[i + 1] - smoothed[i - 1]) / (logs[i + 1] - logs[i - 1]) for i in range(1, lowest)]
    steepest = min(range(len(slopes)), key=slopes.__getitem__)
    return learning_rates[steepest + 1] if slopes[steepest] < 0 else None


def find_learning_rate(network: Network, dataset, *, batch_size: int = 64, start_lr: float = 1e-7,
                       end_lr: float = 10.0, steps: int = 100, device: str = "cpu", seed: int = 0,
                       on_step: Callable[[int, float, float], None] | None = None,
                       cancelled: Callable[[], bool] = lambda: False) -> LearningRateCurve:
    """Run the range test on `dataset` (a training set); on_step(step, lr, loss) after each batch."""
    if network.optimizer is None:
        raise TrainingError("the network has no optimizer: choose one in the Network tab first")
    spec = network.input_spec
    if spec is None or list(spec.shape) != list(dataset.sample_shape):
        raise TrainingError(f"the network takes input of shape {list(spec.shape) if spec else 'not set'} but "
                            f"{dataset.name} has samples of shape {list(dataset.sample_shape)}: fit the network to "
                            "the data first (Fit network to data in the Data tab, --fit on the command line)")
    report = infer_shapes(network)
    if not report.ok:
        raise TrainingError(f"the network does not compile: {report.problems[0].message}")
    if not 0 < start_lr < end_lr or steps < 5:
        raise TrainingError("the range test needs 0 < start learning rate < end learning rate and at least 5 steps")
    loss = make_loss(network, dataset)
    torch.manual_seed(seed)
    model = compile_network(network).to(device).train()
    optimizer = make_optimizer(network, model)
    normalization = dataset.normalization
    batches = batches_for(dataset, normalization, torch.device(device))
    generator = torch.Generator().manual_seed(seed)
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    curve = LearningRateCurve()
    smoothed_loss, stream = SmoothedLoss(SMOOTHING), iter(())
    for step in range(steps):
        if cancelled():
            curve.message = "stopped"
            break
        try:
            x, y = next(stream)
        except StopIteration:  # a small dataset: go round again
            stream = iter(batches.batches(batch_size, generator=generator, drop_last=len(dataset) >= batch_size))
            x, y = next(stream)
        rate = start_lr * factor ** step
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        value = loss(model(*forward_inputs(x)), y)
        value.backward()
        optimizer.step()
        number = float(value.detach())  # one sync per step is the test's point: every loss is plotted
        if not math.isfinite(number):
            curve.message = ("the loss is not a number from the first batch: check the data and the loss, no "
                             "learning rate can be suggested") if step == 0 else f"the loss diverged at lr {rate:.3g}"
            break
        smoothed = smoothed_loss.add(number)
        curve.learning_rates.append(rate)
        curve.losses.append(number)
        curve.smoothed.append(smoothed)
        if on_step is not None:
            on_step(step, rate, number)
        if smoothed > DIVERGED * min(curve.smoothed):
            curve.message = f"the loss diverged at lr {rate:.3g}"
            break
    if curve.smoothed:
        curve.suggested_lr = suggest(curve.learning_rates, curve.smoothed)
        if curve.suggested_lr is None and not curve.message:
            curve.message = "the loss did not fall over the range: no learning rate can be suggested"
    return curve

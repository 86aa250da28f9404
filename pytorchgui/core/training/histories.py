"""Weight and gradient histories: what each layer's values look like, epoch by epoch.

During a run the `LayerRecorder` keeps, for every node with parameters:

- its weights at the end of each epoch, as a histogram of `BINS` bins over their own
  range (the edges are stored with the counts: the range changes from epoch to epoch);
- its gradients, read at `GRADIENT_STEPS` evenly spaced steps of each epoch (not at
  every step: reading them costs a few kernels per layer, and the history must stay under
  2 % of an epoch, bench/bench_histories.py): their RMS over the whole gradient, and a
  fixed random subset of their entries from which the epoch's histogram is drawn;
- the share of dead units of the ReLU after it (or of a ReLU node that follows no layer
  with weights, which gets its own row): units whose output is zero for every sample of
  a fixed probe batch (the first `PROBE_SAMPLES` training samples, not augmented, the
  network in eval mode), measured once after each epoch. A fixed batch, not the epoch's
  batches, because watching every step's activations would cost every step, and the
  epoch's batches would count a unit that died halfway as alive: the probe measures the
  network as it is at the end of the epoch, on the same samples each epoch.

`layer_warnings` reads a history and says which layers' gradients vanish or explode and
which have mostly dead units. Nothing here imports Qt; the run folder stores a history
(runs.py) and draws it (`histories_figure`, `statistics_csv`, `histograms_csv`).
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, replace

import numpy
import torch

from pytorchgui.core.graph.compiler import forward_inputs, module_names
from pytorchgui.core.graph.network import Network

BINS = 40
GRADIENT_STEPS = 8  # steps per epoch whose gradients are read
GRADIENT_SAMPLE = 4096  # entries of a layer's gradient kept per read step, for its histogram
GRADIENT_TAILS = 0.005  # each tail of the gradients counted in an end bin of its histogram
PROBE_SAMPLES = 256
RELU_TYPES = frozenset({"ReLU", "ReLU6"})  # exactly zero below 0: a unit can die

# Warning thresholds. A layer's gradient RMS is compared with the last layer's (the one
# nearest the loss), not with a fixed number: the loss's scale and the optimizer set the
# scale of every gradient, and a converged network has small gradients everywhere.
# Four orders of magnitude below the last layer's, an SGD step of the same learning rate
# moves the layer 10,000 times less: it has stopped learning (a 10-layer sigmoid MLP is
# at 1e-5 to 1e-8 in its first layers; every layer of the shipped templates stays within
# 0.04 to 1.7 times it after 2 epochs on the built-in data, tests/core/training/test_histories.py).
VANISHING_RATIO = 1e-4
EXPLODING_RATIO = 1e4  # the same four orders the other way
# Many dead ReLU units are usual: "as much as 40 % of your network can be dead" with a high
# learning rate (CS231n, Neural Networks 1), and the templates that learn best have many:
# after 2 epochs on the built-in shapes with their own options, mnist_record has 72 % of
# its fc1 units dead (85 % without its warm-up) and small_cnn 60 % (Adam's first steps,
# sign-like, push a wide layer's units below 0 for every input).
# So "most" is no fault by itself; past 90 % the layer has collapsed to a few units and
# they do not come back (a dead unit gets no gradient).
DEAD_SHARE = 0.9

_STATISTICS = ("weight_std", "weight_rms", "gradient_rms", "dead_share")


@dataclass(frozen=True)
class Histogram:
    counts: numpy.ndarray  # int64 [BINS]
    edges: numpy.ndarray  # float64 [BINS + 1]

    @property
    def centres(self) -> numpy.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2


def histogram(values: torch.Tensor, tails: float = 0.0) -> Histogram:
    """`BINS` equal bins from the smallest value to the largest (a constant tensor gets a
    range around its value); computed on the values' device, read once. With `tails`, the
    range ends at the `tails` and 1 - `tails` quantiles and the values beyond are counted
    in the end bins: gradients have long thin tails that would squeeze their bulk into
    two bins."""
    values = values.detach().float().reshape(-1)
    values = values[torch.isfinite(values)]
    if values.numel() == 0:
        return Histogram(numpy.zeros(BINS, dtype=numpy.int64), numpy.full(BINS + 1, numpy.nan))
    if tails:
        low, high = torch.quantile(values, torch.tensor([tails, 1 - tails], device=values.device)).tolist()
        values = values.clamp(low, high)
    else:
        low, high = (float(value) for value in torch.aminmax(values))
    if high - low <= 1e-12 * max(abs(low), abs(high), 1e-30):
        spread = max(abs(low) * 0.5, 1e-12)
        low, high = low - spread, high + spread
    counts = torch.histc(values, BINS, low, high)
    return Histogram(counts.cpu().numpy().astype(numpy.int64), numpy.linspace(low, high, BINS + 1))


@dataclass(frozen=True)
class LayerEpoch:
    """One layer at the end of one epoch (NaN and None for what does not apply)."""

    weights: Histogram | None = None
    gradients: Histogram | None = None
    weight_std: float = math.nan
    weight_rms: float = math.nan
    gradient_rms: float = math.nan
    dead_share: float = math.nan


# what each kind of warning says: of one layer, of several, what follows and what to try
_WARNING_TEXTS = {
    "vanishing": ("its gradients vanish", "the gradients vanish in", "barely learn",
                  "Use ReLU rather than sigmoid or tanh between layers, add BatchNorm, or a residual link around "
                  "the deep part"),
    "exploding": ("its gradients explode", "the gradients explode in", "learn erratically",
                  "Lower the learning rate, turn on gradient clipping, or add BatchNorm"),
    "dead": ("most of its ReLU units are dead", "most ReLU units are dead in", "no longer learn through them",
             "Lower the learning rate, start the biases at 0, or use LeakyReLU"),
}


@dataclass(frozen=True)
class LayerWarning:
    layer: str  # the node the warning is about
    type: str  # its catalogue type
    kind: str  # "vanishing", "exploding" or "dead"
    detail: str  # what was measured

    @property
    def message(self) -> str:
        """Names the layer, says what was measured, what follows and what to try."""
        one, _, follows, advice = _WARNING_TEXTS[self.kind]
        subject = "it" if self.kind != "dead" else "the layers after it"
        return f"'{self.layer}' ({self.type}): {one} ({self.detail}): {subject} {follows}. {advice}"


def describe_warnings(warnings: list[LayerWarning]) -> list[str]:
    """The warnings as log lines: one per kind, naming every layer it concerns."""
    lines = []
    for kind, (_, several, follows, advice) in _WARNING_TEXTS.items():
        found = [warning for warning in warnings if warning.kind == kind]
        if len(found) == 1:
            lines.append(found[0].message)
        elif found:
            named = ", ".join(f"'{warning.layer}' ({warning.detail})" for warning in found)
            lines.append(f"{several} {len(found)} layers: {named}: they {follows}. {advice}")
    return lines


def _empty_counts(layers: int) -> numpy.ndarray:
    return numpy.zeros((layers, 0, BINS), dtype=numpy.int64)


def _empty_edges(layers: int) -> numpy.ndarray:
    return numpy.zeros((layers, 0, BINS + 1))


@dataclass(frozen=True)
class LayerHistories:
    """Every recorded epoch of every layer. Never changed in place: `with_epoch` returns
    a new history, so one handed to another thread stays as it was sent."""

    layers: tuple[str, ...]  # nodes in the order of computation
    types: tuple[str, ...]  # their catalogue types
    relus: tuple[str, ...]  # the ReLU node whose dead units a row counts ("" for none)
    epochs: tuple[int, ...] = ()
    weight_counts: numpy.ndarray = None  # [layers, epochs, BINS]
    weight_edges: numpy.ndarray = None  # [layers, epochs, BINS + 1], NaN for a ReLU row
    gradient_counts: numpy.ndarray = None
    gradient_edges: numpy.ndarray = None  # NaN where there was no gradient (frozen, ReLU)
    statistics: dict[str, numpy.ndarray] = field(default_factory=dict)  # name -> [layers, epochs]

    def __post_init__(self):
        count = len(self.layers)
        for name, empty in (("weight_counts", _empty_counts), ("gradient_counts", _empty_counts),
                            ("weight_edges", _empty_edges), ("gradient_edges", _empty_edges)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, empty(count))
        for name in _STATISTICS:
            self.statistics.setdefault(name, numpy.zeros((count, 0)))

    def index(self, layer: str) -> int:
        return self.layers.index(layer)

    def histograms(self, layer: str, kind: str) -> list[Histogram | None]:
        """`kind` "weights" or "gradients": one histogram per epoch (None where none was taken)."""
        row = self.index(layer)
        counts = self.weight_counts if kind == "weights" else self.gradient_counts
        edges = self.weight_edges if kind == "weights" else self.gradient_edges
        return [Histogram(counts[row, e], edges[row, e]) if numpy.isfinite(edges[row, e]).all() else None
                for e in range(len(self.epochs))]

    def statistic(self, layer: str, name: str) -> numpy.ndarray:
        return self.statistics[name][self.index(layer)]

    def with_epoch(self, epoch: int, rows: dict[str, LayerEpoch]) -> "LayerHistories":
        """This history with `epoch` added (rows by layer; a layer missing is all NaN)."""
        def column(kind: str) -> tuple[numpy.ndarray, numpy.ndarray]:
            counts = numpy.zeros((len(self.layers), 1, BINS), dtype=numpy.int64)
            edges = numpy.full((len(self.layers), 1, BINS + 1), numpy.nan)
            for row, layer in enumerate(self.layers):
                found = getattr(rows.get(layer, LayerEpoch()), kind)
                if found is not None:
                    counts[row, 0], edges[row, 0] = found.counts, found.edges
            return counts, edges

        weight_counts, weight_edges = column("weights")
        gradient_counts, gradient_edges = column("gradients")
        statistics = {name: numpy.concatenate([self.statistics[name], numpy.array(
            [[getattr(rows.get(layer, LayerEpoch()), name)] for layer in self.layers], dtype=float)], axis=1)
            for name in _STATISTICS}
        return replace(self, epochs=self.epochs + (epoch,),
                       weight_counts=numpy.concatenate([self.weight_counts, weight_counts], axis=1),
                       weight_edges=numpy.concatenate([self.weight_edges, weight_edges], axis=1),
                       gradient_counts=numpy.concatenate([self.gradient_counts, gradient_counts], axis=1),
                       gradient_edges=numpy.concatenate([self.gradient_edges, gradient_edges], axis=1),
                       statistics=statistics)

    def before(self, epoch: int) -> "LayerHistories":
        """The epochs before `epoch` (a run resumed after epoch - 1 records the rest again)."""
        kept = numpy.array([e < epoch for e in self.epochs], dtype=bool)
        return replace(self, epochs=tuple(e for e in self.epochs if e < epoch),
                       weight_counts=self.weight_counts[:, kept], weight_edges=self.weight_edges[:, kept],
                       gradient_counts=self.gradient_counts[:, kept], gradient_edges=self.gradient_edges[:, kept],
                       statistics={name: values[:, kept] for name, values in self.statistics.items()})

    # -- as arrays, for the run folder's .npz -----------------------------------------------
    def to_arrays(self) -> dict[str, numpy.ndarray]:
        return {"layers": numpy.array(self.layers, dtype=str), "types": numpy.array(self.types, dtype=str),
                "relus": numpy.array(self.relus, dtype=str), "epochs": numpy.array(self.epochs, dtype=numpy.int64),
                "weight_counts": self.weight_counts, "weight_edges": self.weight_edges,
                "gradient_counts": self.gradient_counts, "gradient_edges": self.gradient_edges,
                **{f"statistic_{name}": values for name, values in self.statistics.items()}}

    @classmethod
    def from_arrays(cls, arrays) -> "LayerHistories":
        """ValueError or KeyError when the arrays do not fit together."""
        layers = tuple(str(name) for name in arrays["layers"])
        epochs = tuple(int(e) for e in arrays["epochs"])
        shape = (len(layers), len(epochs))
        histories = cls(layers, tuple(str(t) for t in arrays["types"]), tuple(str(r) for r in arrays["relus"]),
                        epochs, numpy.asarray(arrays["weight_counts"], dtype=numpy.int64),
                        numpy.asarray(arrays["weight_edges"], dtype=float),
                        numpy.asarray(arrays["gradient_counts"], dtype=numpy.int64),
                        numpy.asarray(arrays["gradient_edges"], dtype=float),
                        {name: numpy.asarray(arrays[f"statistic_{name}"], dtype=float) for name in _STATISTICS})
        expected = {"weight_counts": shape + (BINS,), "gradient_counts": shape + (BINS,),
                    "weight_edges": shape + (BINS + 1,), "gradient_edges": shape + (BINS + 1,)}
        if len(histories.types) != len(layers) or len(histories.relus) != len(layers) \
                or any(getattr(histories, name).shape != wanted for name, wanted in expected.items()) \
                or any(values.shape != shape for values in histories.statistics.values()):
            raise ValueError("its arrays do not fit together")
        return histories


# -- warnings ---------------------------------------------------------------------------
def layer_warnings(histories: LayerHistories, epoch_index: int = -1) -> list[LayerWarning]:
    """What is wrong with the layers at one recorded epoch (the last by default)."""
    if not histories.epochs:
        return []
    rms = histories.statistics["gradient_rms"][:, epoch_index]
    dead = histories.statistics["dead_share"][:, epoch_index]
    found = []
    measured = [row for row in range(len(histories.layers)) if not numpy.isnan(rms[row])]
    reference = next((row for row in reversed(measured) if numpy.isfinite(rms[row]) and rms[row] > 0), None)
    for row in measured:
        ratio = rms[row] / rms[reference] if reference is not None else math.nan
        last = f"'{histories.layers[reference]}'" if reference is not None else ""  # the layer nearest the loss
        if not numpy.isfinite(rms[row]):
            kind, detail = "exploding", "they are no longer finite"
        elif row == reference or reference is None:
            continue
        elif ratio < VANISHING_RATIO:
            kind, detail = "vanishing", f"RMS {rms[row]:.2g}, {ratio:.1g} × the last layer {last}"
        elif ratio > EXPLODING_RATIO:
            kind, detail = "exploding", f"RMS {rms[row]:.2g}, {ratio:.2g} × the last layer {last}"
        else:
            continue
        found.append(LayerWarning(histories.layers[row], histories.types[row], kind, detail))
    for row, share in enumerate(dead):
        if share > DEAD_SHARE:
            relu = histories.relus[row]
            after = f" of '{relu}'" if relu and relu != histories.layers[row] else ""
            found.append(LayerWarning(histories.layers[row], histories.types[row], "dead",
                                      f"{share:.0%}{after} give 0 for each of {PROBE_SAMPLES} probe samples"))
    return found


# -- recording during a run -----------------------------------------------------------------
def _weight_tensors(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters a layer's histogram shows: its matrices and kernels (a bias, on
    another scale, would stretch the range into one spike); all of them for a layer that
    has only vectors (BatchNorm, PReLU)."""
    parameters = list(module.parameters())
    matrices = [p for p in parameters if p.dim() > 1]
    return matrices or parameters


def _unit_dimension(network: Network, relu: str) -> int | None:
    """The dimension of a ReLU's output whose entries are its units: the channels after a
    convolution (dim 1, a channel is dead if it is zero everywhere), the features after a
    linear, recurrent or attention layer (the last dim). None: decided by the rank."""
    name = relu
    while True:
        inputs = network.inputs_of(name)
        if len(inputs) != 1:
            return None
        name = inputs[0]
        category = network.entry(name).category
        if category == "convolution":
            return 1
        if category in ("linear", "recurrent", "transformer", "embedding"):
            return -1


class LayerRecorder:
    """Records a run's `LayerHistories` (see the module docstring). The Trainer calls
    `after_step` after each optimisation step and `end_epoch` after each epoch."""

    def __init__(self, network: Network, model: torch.nn.Module, probe_batches, steps: int,
                 start: LayerHistories | None = None):
        """`probe_batches`: a callable giving (inputs, targets) batches, unshuffled and not
        augmented; `steps`: optimisation steps per epoch; `start`: the history a resumed
        run continues."""
        self.model, self.probe_batches = model, probe_batches
        attributes = module_names(network)
        order = network.topological_order()
        self.modules = {name: getattr(model, attributes[name]) for name in order
                        if hasattr(model, attributes[name])}
        weighted = [name for name in order if name in self.modules and list(self.modules[name].parameters())]
        relus = [name for name in order if network.node(name).type in RELU_TYPES and name in self.modules]
        owner = {}  # ReLU -> the row that counts its dead units: the layer before it, or itself
        for relu in relus:
            inputs = network.inputs_of(relu)
            owner[relu] = inputs[0] if len(inputs) == 1 and inputs[0] in weighted else relu
        rows = [name for name in order if name in weighted or owner.get(name) == name]
        relu_of = {row: relu for relu, row in owner.items()}
        self.unit_dimensions = {relu: _unit_dimension(network, relu) for relu in relus}
        self.relu_rows = owner
        self.weights = {name: _weight_tensors(self.modules[name]) for name in weighted}
        blank = LayerHistories(tuple(rows), tuple(network.node(name).type for name in rows),
                               tuple(relu_of.get(name, "") for name in rows))
        self.histories = start if start is not None and start.layers == blank.layers else blank
        self.stride = max(1, steps // GRADIENT_STEPS)
        generator = torch.Generator().manual_seed(0)  # its own: the run's random streams stay untouched
        self.sample_indices = {}
        for name, tensors in self.weights.items():
            size = sum(t.numel() for t in tensors)
            self.sample_indices[name] = (torch.randperm(size, generator=generator)[:GRADIENT_SAMPLE]
                                         if size > GRADIENT_SAMPLE else None)
        self._reset_gradients()

    def _reset_gradients(self) -> None:
        self.squares: dict[str, torch.Tensor] = {}  # summed over the read steps, on the device
        self.samples: dict[str, list[torch.Tensor]] = {}
        self.reads = 0

    def after_step(self, index: int) -> None:
        """Read the gradients if step `index` (0-based) of the epoch is one of the sampled."""
        if index % self.stride:
            return
        with torch.no_grad():
            for name, tensors in self.weights.items():
                gradients = [t.grad for t in tensors]
                if any(g is None for g in gradients):
                    continue  # frozen, or not reached by this loss
                # an Embedding with sparse=True gives sparse gradients, which cannot reshape
                flat = torch.cat([(g.to_dense() if g.is_sparse else g).detach().reshape(-1).float()
                                  for g in gradients])
                squares = flat.square().sum()
                self.squares[name] = self.squares[name] + squares if name in self.squares else squares
                chosen = self.sample_indices[name]
                self.samples.setdefault(name, []).append(flat if chosen is None else flat[chosen.to(flat.device)])
        self.reads += 1

    def end_epoch(self, epoch: int) -> LayerHistories:
        """Add the epoch: the weights as they are, the gradients read during it, the dead
        units on the probe batch. Returns the whole history."""
        rows: dict[str, LayerEpoch] = {}
        with torch.no_grad():
            for name, tensors in self.weights.items():
                values = torch.cat([t.detach().reshape(-1).float() for t in tensors])
                size = values.numel()
                std = float(values.std()) if size > 1 else 0.0
                rms = float(values.square().mean().sqrt())
                gradient_rms, gradients = math.nan, None
                if name in self.squares and self.reads:
                    gradient_rms = float((self.squares[name] / (self.reads * size)).sqrt())
                    gradients = histogram(torch.cat(self.samples[name]), GRADIENT_TAILS)
                rows[name] = LayerEpoch(histogram(values), gradients, std, rms, gradient_rms)
        for relu, share in self._dead_shares().items():
            row = self.relu_rows[relu]
            rows[row] = replace(rows.get(row, LayerEpoch()), dead_share=share)
        self._reset_gradients()
        self.histories = self.histories.with_epoch(epoch, rows)
        return self.histories

    def _dead_shares(self) -> dict[str, float]:
        """Each ReLU's share of units that give 0 for every probe sample."""
        if not self.relu_rows:
            return {}
        alive: dict[str, torch.Tensor] = {}

        def watch(relu: str):
            def hook(_module, _inputs, output):
                if not isinstance(output, torch.Tensor) or output.dim() < 2:
                    return
                dimension = self.unit_dimensions[relu]
                if dimension is None:
                    dimension = 1 if output.dim() >= 4 else -1
                positive = (output > 0).movedim(dimension, -1).reshape(-1, output.shape[dimension]).any(0)
                alive[relu] = alive[relu] | positive if relu in alive else positive
            return hook

        handles = [self.modules[relu].register_forward_hook(watch(relu)) for relu in self.relu_rows]
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                seen = 0
                for x, _ in self.probe_batches():
                    inputs = forward_inputs(x)
                    self.model(*(values[:PROBE_SAMPLES - seen] for values in inputs))
                    seen += len(inputs[0])
                    if seen >= PROBE_SAMPLES:
                        break
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(was_training)
        return {relu: 1.0 - float(units.float().mean()) for relu, units in alive.items()}


# -- the run folder's tables and figure --------------------------------------------------------
def statistics_csv(histories: LayerHistories) -> str:
    """One row per layer and epoch: the summary numbers (empty where they do not apply)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["epoch", "layer", "type", *_STATISTICS])
    for row, layer in enumerate(histories.layers):
        for column, epoch in enumerate(histories.epochs):
            values = [histories.statistics[name][row, column] for name in _STATISTICS]
            writer.writerow([epoch, layer, histories.types[row],
                             *("" if numpy.isnan(value) else f"{value:.6g}" for value in values)])
    return buffer.getvalue()


def histograms_csv(histories: LayerHistories) -> str:
    """One row per layer, epoch, kind and bin: its edges and its count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["epoch", "layer", "kind", "bin_low", "bin_high", "count"])
    for layer in histories.layers:
        for kind in ("weights", "gradients"):
            for epoch, found in zip(histories.epochs, histories.histograms(layer, kind)):
                if found is None:
                    continue
                for low, high, count in zip(found.edges[:-1], found.edges[1:], found.counts):
                    writer.writerow([epoch, layer, kind, f"{low:.6g}", f"{high:.6g}", int(count)])
    return buffer.getvalue()


FIGURE_LAYERS = 12  # rows of the run folder's figure; the CSV files hold every layer


def figure_layers(histories: LayerHistories) -> list[str]:
    """The layers with weights the figure shows: all, or `FIGURE_LAYERS` spread from the
    first to the last."""
    weighted = [layer for layer in histories.layers
                if any(h is not None for h in histories.histograms(layer, "weights"))]
    if len(weighted) <= FIGURE_LAYERS:
        return weighted
    picks = numpy.linspace(0, len(weighted) - 1, FIGURE_LAYERS).round().astype(int)
    return [weighted[i] for i in sorted(set(picks))]


def histories_figure(histories: LayerHistories):
    """A matplotlib figure: one row per layer, its weights' and its gradients' ridgelines
    (one filled curve per epoch, the first at the top), the dead share in the row's title."""
    from pytorchgui.core.figures import draw_ridgeline, new_figure

    layers = figure_layers(histories)
    figure = new_figure(10, 1.0 + 2.1 * max(len(layers), 1))
    if not layers:
        figure.text(0.5, 0.5, "no layer with weights was recorded", ha="center")
        return figure
    grid = figure.subplots(len(layers), 2, squeeze=False)
    for row, layer in enumerate(layers):
        dead = histories.statistic(layer, "dead_share")
        share = f" · dead units {dead[-1]:.0%}" if len(dead) and not numpy.isnan(dead[-1]) else ""
        for column, kind in enumerate(("weights", "gradients")):
            axes = grid[row, column]
            draw_ridgeline(axes, histories.histograms(layer, kind), histories.epochs)
            axes.set_title(f"{layer} ({histories.types[histories.index(layer)]}): {kind}{share}", fontsize=9)
    shown = "" if len(layers) == len(histories.layers) else f" ({len(layers)} of {len(histories.layers)} layers)"
    figure.suptitle(f"Weight and gradient histograms per epoch{shown}", fontsize=11)
    return figure

"""The embedding view: how the samples lie in the features a network learned, drawn in 2-D.

The features are what feeds the classifier, by default the input of the network's last
Linear node, or the output of any node chosen (flattened per sample). They are gathered
with a forward hook on the compiled network for up to `MAX_SAMPLES` samples (a fixed
random subset of a larger set), batched and normalised as evaluation batches them, then
projected to two dimensions: PCA at once, t-SNE (scikit-learn) or UMAP (umap-learn, the
`embedding` extra). t-SNE and UMAP start from the first 50 principal components, as
their authors advise for high-dimensional features: the same picture, much sooner.

A plain function with progress and a cancel flag (tasks.TaskControl), no Qt: the
Evaluation tab's Embedding page runs it on a worker thread, `pytorchgui embed` in the
terminal.
"""
from __future__ import annotations

import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy
import torch

from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.data.datasets import TensorDataset, batches_for
from pytorchgui.core.errors import PyTorchGUIError, first_line
from pytorchgui.core.graph.compiler import first_output
from pytorchgui.core.training.tasks import Progress, TaskControl
from pytorchgui.core.wording import counted

MAX_SAMPLES = 5000
METHODS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
COMPONENTS_BEFORE_NEIGHBOURS = 50  # t-SNE and UMAP start from this many principal components
FEATURE_BYTES_LIMIT = 1 << 30  # the gathered features (float32) are refused beyond 1 GiB
UMAP_INSTALL = "pip install pytorchgui[embedding]"


class EmbeddingError(PyTorchGUIError):
    """Features that cannot be gathered or projected: an unknown node, too few samples,
    a method whose library is missing."""


@dataclass(frozen=True)
class Projecting:
    """Reported when the features are gathered and the projection starts: it reports no
    progress of its own (scikit-learn's and umap-learn's give none) until it returns."""

    method: str  # as METHODS names it
    samples: int
    features: int


@dataclass
class Embedding:
    """Samples placed in 2-D by their features, with what is needed to colour and name them."""

    points: numpy.ndarray  # [N, 2] float32
    targets: numpy.ndarray  # [N]: class indices (int64), or a regression's first target value
    predictions: numpy.ndarray  # [N]: predicted class indices, or the predicted first target value
    indices: numpy.ndarray  # [N]: the samples' indices in the dataset given
    node: str  # the node whose input or output the features are
    node_input: bool  # True: the node's input (the default, the last Linear's); False: its output
    method: str  # "pca", "tsne" or "umap"
    classes: list[str] | None  # None for regression
    features: int  # values per sample before projection
    dataset_name: str = ""
    seconds_gathering: float = 0.0
    seconds_projecting: float = 0.0

    @property
    def source(self) -> str:
        """What the features are, as a caption says it: "the input of fc3"."""
        return f"the {'input' if self.node_input else 'output'} of {self.node}"

    @property
    def is_regression(self) -> bool:
        return self.classes is None

    def title(self) -> str:
        return (f"{METHODS[self.method]} of {self.source} ({counted(self.features, 'value')} per sample), "
                f"{counted(len(self.points), 'sample')} of {self.dataset_name}")

    def label(self, values: numpy.ndarray, row: int) -> str:
        """A target or prediction of `row` as a person reads it: a class name, or a value."""
        value = values[row]
        return self.classes[int(value)] if self.classes is not None else f"{float(value):.6g}"

    def to_csv(self, path: str | os.PathLike) -> None:
        """One row per sample: index (in the dataset), x, y, true, predicted."""
        lines = ["index,x,y,true,predicted"]
        for row, (x, y) in enumerate(self.points):
            true, predicted = (self.label(values, row).replace('"', '""') for values in (self.targets, self.predictions))
            lines.append(f'{int(self.indices[row])},{x:.6g},{y:.6g},"{true}","{predicted}"')
        atomic_write_text(Path(path), "\n".join(lines) + "\n")

    def save_png(self, path: str | os.PathLike) -> None:
        """The points coloured by class (a legend of the class names) or by target value (a colour bar)."""
        from pytorchgui.core.figures import new_figure, save_figure

        figure = new_figure(8, 6.4)
        axes = figure.add_subplot()
        x, y = self.points[:, 0], self.points[:, 1]
        if self.classes is None:
            drawn = axes.scatter(x, y, c=self.targets, cmap="viridis", s=10, linewidths=0)
            figure.colorbar(drawn, ax=axes, label="true value")
        else:
            colours = class_colours(len(self.classes))
            for index, name in enumerate(self.classes):
                chosen = self.targets == index
                if chosen.any():
                    axes.scatter(x[chosen], y[chosen], s=10, linewidths=0, color=[c / 255 for c in colours[index]],
                                 label=name)
            if len(self.classes) <= 20:
                axes.legend(markerscale=3, fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
        axes.set_title(self.title(), fontsize="medium", wrap=True)
        axes.set_xticks([])
        axes.set_yticks([])
        save_figure(figure, path)


def class_colours(count: int) -> list[tuple[int, int, int]]:
    """`count` distinct colours (RGB 0-255): matplotlib's tab10 up to 10 classes, tab20
    up to 20, evenly spread hues beyond; the window and the PNG colour a class alike."""
    import colorsys

    tab20 = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
             "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
             "#17becf", "#9edae5"]
    if count <= 20:
        names = tab20[::2] if count <= 10 else tab20
        return [tuple(int(name[i:i + 2], 16) for i in (1, 3, 5)) for name in names[:count]]
    return [tuple(int(255 * v) for v in colorsys.hsv_to_rgb(index / count, 0.75, 0.85)) for index in range(count)]


# -- which features ---------------------------------------------------------------------
def feature_nodes(model: torch.nn.Module) -> list[str]:
    """The nodes of a compiled network whose outputs can be projected, in the order its
    forward pass calls them."""
    names = getattr(model, "node_names", {})
    return [names.get(node.target, node.target) for node in model.graph.nodes if node.op == "call_module"]


def last_linear(model: torch.nn.Module) -> str | None:
    """The last Linear node the forward pass calls (the classifier), or None."""
    attributes = {node: attribute for attribute, node in getattr(model, "node_names", {}).items()}
    linear = [node for node in feature_nodes(model)
              if isinstance(model.get_submodule(attributes.get(node, node)), torch.nn.Linear)]
    return linear[-1] if linear else None


def _module_of(model: torch.nn.Module, node: str | None) -> tuple[str, torch.nn.Module]:
    """(node name, its module): `node`, or the last Linear for None. EmbeddingError names
    the nodes there are when `node` is not one of them."""
    nodes = feature_nodes(model)
    if node is None:
        node = last_linear(model)
        if node is None:
            raise EmbeddingError("the network has no Linear node whose input to project: choose a node whose "
                                 "output to project")
    elif node not in nodes:
        shown = ", ".join(nodes[:12]) + (f" and {len(nodes) - 12} more" if len(nodes) > 12 else "")
        raise EmbeddingError(f"the network has no node {node!r}: choose one of {shown}")
    attributes = {name: attribute for attribute, name in getattr(model, "node_names", {}).items()}
    return node, model.get_submodule(attributes.get(node, node))


# -- gathering --------------------------------------------------------------------------
def chosen_samples(count: int, samples: int = MAX_SAMPLES, seed: int = 0) -> torch.Tensor:
    """The indices of the samples projected: all of them, or a fixed random `samples` of a
    larger set (the same ones for the same seed), in their order in the set."""
    if count <= samples:
        return torch.arange(count)
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:samples].sort().values


def _chunks(dataset, indices: torch.Tensor, batch_size: int):
    """The chosen samples as small in-memory datasets of `batch_size`: a subset of one held
    in memory, or the samples of a streamed one read from disk."""
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        if isinstance(dataset, TensorDataset):
            yield dataset.subset(chunk, dataset.name)
            continue
        pairs = [dataset[int(index)] for index in chunk]
        inputs = torch.stack([torch.as_tensor(x) for x, _ in pairs])
        targets = torch.stack([torch.as_tensor(y) for _, y in pairs])
        yield TensorDataset(dataset.name, getattr(dataset, "source", dataset.name), inputs, targets,
                            dataset.classes, dataset.kind)


@dataclass
class Features:
    values: torch.Tensor  # [N, F] float32 on the CPU
    outputs: torch.Tensor  # [N, outputs] the network's outputs, float32 on the CPU
    indices: torch.Tensor  # [N] in the dataset
    node: str
    node_input: bool  # the node's input (the last Linear's, by default), or its output


@torch.no_grad()
def gather_features(trained, dataset, node: str | None = None, *, samples: int = MAX_SAMPLES, batch_size: int = 256,
                    device: str = "cpu", control: TaskControl | None = None, seed: int = 0) -> Features:
    """The features of up to `samples` samples of `dataset` (see chosen_samples) at `node`'s
    output, or at the last Linear's input for None, with the network's outputs; batched and
    normalised as `trained` (a TrainedModel) was trained. Progress after every batch;
    the control's stop raises tasks.Cancelled."""
    control = control or TaskControl()
    model = trained.model.to(torch.device(device)).eval()
    node_input = node is None
    node, module = _module_of(model, node)
    output_index = _output_index(trained, node)
    normalization = trained.normalization_for(dataset)
    indices = chosen_samples(len(dataset), samples, seed)
    caught: list[torch.Tensor] = []
    gathering = threading.get_ident()  # the window may predict with this model meanwhile (Try it): not caught

    def keep(value) -> None:
        if threading.get_ident() != gathering:
            return
        if isinstance(value, (tuple, list)):
            value = value[output_index]
        caught.append(value.detach().float().reshape(len(value), -1).cpu())

    handle = (module.register_forward_pre_hook(lambda _module, arguments: keep(arguments[0])) if node_input
              else module.register_forward_hook(lambda _module, _arguments, output: keep(output)))
    outputs: list[torch.Tensor] = []
    total = -(-len(indices) // batch_size)
    try:
        for done, chunk in enumerate(_chunks(dataset, indices, batch_size), 1):
            control.checkpoint()
            x, _ = next(batches_for(chunk, normalization, device).batches(len(chunk), shuffle=False))
            outputs.append(first_output(model(x)).float().reshape(len(x), -1).cpu())
            if done == 1:
                _check_size(caught[0].shape[1], len(indices), node)
            control.report(Progress(done, total))
    except RuntimeError as error:
        raise EmbeddingError(f"the network cannot take {dataset.name}: {first_line(error)}") from None
    finally:
        handle.remove()
    return Features(torch.cat(caught), torch.cat(outputs), indices, node, node_input)


def _output_index(trained, node: str) -> int:
    """Which element of a node's tuple output is its value (an LSTM's output, a pool's
    values beside its indices)."""
    try:
        index = trained.network.entry(node).output_index
    except (KeyError, PyTorchGUIError, AttributeError):
        return 0
    return index if index is not None else 0


def _check_size(features: int, samples: int, node: str) -> None:
    needed = features * samples * 4
    if needed > FEATURE_BYTES_LIMIT:
        fitting = max(1, FEATURE_BYTES_LIMIT // (features * 4))
        raise EmbeddingError(f"{node} gives {features:,} values per sample: {samples:,} samples would take "
                             f"{needed / 2 ** 30:.1f} GiB; project at most {fitting:,} samples, or choose a later "
                             "node (its features are fewer)")


# -- projecting -------------------------------------------------------------------------
def umap_problem() -> str | None:
    """Why UMAP cannot be chosen (umap-learn is not installed), or None. Looked up without
    importing it: numba behind it takes seconds to import."""
    if importlib.util.find_spec("umap") is None:
        return f"UMAP needs umap-learn, an optional extra: {UMAP_INSTALL}"
    return None


def project(features: numpy.ndarray, method: str = "pca", seed: int = 0) -> numpy.ndarray:
    """[N, F] features placed in 2-D ([N, 2] float32) by PCA, t-SNE or UMAP; the same
    points for the same features and seed."""
    if method not in METHODS:
        raise EmbeddingError(f"{method!r} is not a projection: choose one of {', '.join(METHODS)}")
    samples = len(features)
    if samples < 3:
        raise EmbeddingError(f"{counted(samples, 'sample')} cannot be projected: give at least 3")
    if method == "umap" and umap_problem():
        raise EmbeddingError(umap_problem())
    features = numpy.asarray(features, dtype=numpy.float32)
    if method == "pca":
        return _principal_components(features, 2, seed)
    reduced = _principal_components(features, COMPONENTS_BEFORE_NEIGHBOURS, seed) \
        if features.shape[1] > COMPONENTS_BEFORE_NEIGHBOURS else features
    if method == "tsne":
        return _tsne(reduced, seed)
    import umap  # imported on use: numba behind it takes seconds to import

    # a seed makes UMAP serial; said with n_jobs=1, it does not warn about it
    projection = umap.UMAP(n_components=2, n_neighbors=min(15, samples - 1), random_state=seed, n_jobs=1)
    return numpy.asarray(projection.fit_transform(reduced), dtype=numpy.float32)


def _tsne(features: numpy.ndarray, seed: int) -> numpy.ndarray:
    """t-SNE on one OpenMP thread. scikit-learn's Barnes-Hut t-SNE joins its threads at
    every step of its 1,000 iterations, and a thread waiting for a core busy elsewhere
    stalls them all: on 2 cores shared with other work (bench/bench_embedding.py), 2,000
    points took 124 s on 2 threads and 18 s on one, 400 took 33 s and 4 s."""
    import threadpoolctl
    from sklearn.manifold import TSNE  # imported on use: scikit-learn's import takes a second

    # a perplexity of 30 (scikit-learn's default) needs over 90 samples
    projection = TSNE(2, perplexity=min(30.0, (len(features) - 1) / 3), init="pca", learning_rate="auto",
                      random_state=seed)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        return numpy.asarray(projection.fit_transform(features), dtype=numpy.float32)


def _principal_components(features: numpy.ndarray, components: int, seed: int) -> numpy.ndarray:
    """The first `components` principal components (zeros past the features' rank, so that
    a single feature still gives points in 2-D)."""
    from sklearn.decomposition import PCA

    kept = min(components, *features.shape)
    points = PCA(kept, random_state=seed).fit_transform(features)
    if kept < components:
        points = numpy.pad(points, ((0, 0), (0, components - kept)))
    return points.astype(numpy.float32)


def embed(trained, dataset, node: str | None = None, method: str = "pca", *, samples: int = MAX_SAMPLES,
          batch_size: int = 256, device: str = "cpu", control: TaskControl | None = None,
          seed: int = 0) -> Embedding:
    """The features of `dataset` at `node` (see gather_features) projected by `method`:
    the embedding view of a TrainedModel. Progress while gathering, then a Projecting
    report; the control's stop raises tasks.Cancelled between the steps."""
    control = control or TaskControl()
    trained.check_data(dataset)  # the predictions name the dataset's classes
    if method == "umap" and umap_problem():  # said before the features are gathered, not after
        raise EmbeddingError(umap_problem())
    started = time.perf_counter()
    features = gather_features(trained, dataset, node, samples=samples, batch_size=batch_size, device=device,
                               control=control, seed=seed)
    gathered = time.perf_counter()
    control.checkpoint()
    control.report(Projecting(METHODS[method], len(features.values), features.values.shape[1]))
    points = project(features.values.numpy(), method, seed)
    control.checkpoint()
    targets, predictions = _labels(trained, dataset, features)
    return Embedding(points, targets, predictions, features.indices.numpy(), features.node, features.node_input,
                     method, dataset.classes, int(features.values.shape[1]), dataset.name, gathered - started,
                     time.perf_counter() - gathered)


def _labels(trained, dataset, features: Features) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(true, predicted) of the samples projected: class indices, or for a regression the
    first target's value, the prediction in the target's units."""
    targets = dataset.targets[features.indices]
    if dataset.classes is not None:
        return targets.numpy(), features.outputs.argmax(1).numpy()
    outputs = features.outputs
    if trained.target_normalization is not None:
        outputs = trained.target_normalization.restore(outputs)
    return (targets.float().reshape(len(targets), -1)[:, 0].numpy(),
            outputs.reshape(len(outputs), -1)[:, 0].numpy())

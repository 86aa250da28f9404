"""A trained model: the one way to get a network with its weights and everything its
inputs need, whether from a run folder, a weights file or the run just finished.

The CLI's `evaluate` and `export`, the Evaluation tab, its Try-it pad and the window's
exports all call `open_trained_model`, so for the same run they see the same network,
weights, normalisation, classes and tokenizer.

Where each part comes from:

    source                     network                   normalisation (inputs, regression target),
                                                         classes, tokenizer, drawing style
    a run folder               the run's network.json    the run's config.json (and tokenizer.json)
    a weights file             the network given         the config.json beside the weights, or the
                                                         one given; none without a config
    the result of a run        the run's network.json    the run's config.json; the model is the
                                                         one in memory (the run's last weights)
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pytorchgui.core.data.drawing import DrawingStyle
from pytorchgui.core.data.matching import ExpectedData
from pytorchgui.core.data.samples import Normalization, TargetNormalization
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.core.training import network_format
from pytorchgui.core.training.losses import LossAdapter, loss_adapter
from pytorchgui.core.training.metrics import EvaluationError, load_state, load_weights
from pytorchgui.core.training.runs import RunFolder, RunFolderError

if TYPE_CHECKING:
    from pytorchgui.core.training.trainer import TrainingResult


@dataclass
class TrainedModel:
    """A compiled network with its weights loaded, and what its inputs and outputs need:
    the normalisation its training used (of the inputs, and of a regression target: the
    model's outputs are in those standardised units), its class names, the tokenizer of a
    text network and a description of the data it was trained on."""

    name: str  # what a summary calls it: a run folder's or a weights file's name
    network: Network  # the network the weights belong to (a run's own, as trained)
    model: torch.nn.Module
    weights: Path | None  # the file the weights were read from; None for weights only in memory
    normalization: Normalization | None
    classes: list[str] | None
    tokenizer: Any = None  # data.sequences.Tokenizer of a network trained on a CSV text column
    data: dict[str, Any] = field(default_factory=dict)  # the run's data: sets, sources, validation split
    run: RunFolder | None = None
    drawing_style: DrawingStyle | None = None  # how the training images draw (the Try-it pad's drawings follow)
    target_normalization: TargetNormalization | None = None

    @property
    def input_shape(self) -> list[int] | None:
        return list(self.network.input_spec.shape) if self.network.input_spec else None

    def normalization_for(self, dataset) -> Normalization | None:
        """The statistics that normalise `dataset`'s samples for this model: its training's,
        or, for weights without a recorded normalisation, the dataset's own."""
        if self.normalization is not None or dataset is None:
            return self.normalization
        return dataset.normalization

    @property
    def task(self) -> str | None:
        """"classification" or "regression" as the model was trained, None when nothing
        recorded it (a weights file without its config)."""
        if self.classes is not None:
            return "classification"
        return "regression" if self.run is not None or self.target_normalization is not None else None

    @functools.cached_property
    def output_size(self) -> int | None:
        """The values the network gives per sample (None if its shapes cannot be inferred);
        of a network with several outputs, the first output's."""
        shape = infer_shapes(self.network).output_shape
        return math.prod(shape) if shape is not None else None

    @functools.cached_property
    def outputs(self) -> list[str]:
        """The network's output nodes, in the order its module returns them."""
        return infer_shapes(self.network).outputs or self.network.outputs()

    def output_index(self, output: str | None) -> int:
        """Where `output` (an output node; None: the first) stands in what the module returns."""
        if output is None:
            return 0
        if output not in self.outputs:
            raise EvaluationError(f"'{output}' is not an output of {self.name}'s network; its outputs are "
                                  f"{', '.join(self.outputs)}")
        return self.outputs.index(output)

    def data_for_output(self, dataset, output: str | None = None):
        """`dataset` with the targets of `output` (None: the first output) serving as its targets."""
        if not hasattr(dataset, "for_output") or not self.outputs:
            return dataset
        return dataset.for_output(self.outputs[self.output_index(output)])

    @property
    def expected_data(self) -> ExpectedData:
        """The data these weights can be measured on: of the kind they were trained on."""
        return self.expected_data_of(None)

    def expected_data_of(self, output: str | None) -> ExpectedData:
        """What `expected_data` says, measuring output `output` (None: the first)."""
        size = self.output_size
        if output is not None and self.output_index(output) > 0:
            shape = infer_shapes(self.network).output_shape_of(output)
            size = math.prod(shape) if shape is not None else None
        return ExpectedData("the network takes input", "the network was trained on", "the network gives",
                            "choose data of the kind it was trained on, or fit the network to this data and train "
                            "it again", self.input_shape, self.network.input_spec.dtype if self.network.input_spec
                            else "float32", self.task, self.classes, size)

    def data_problem(self, dataset, output: str | None = None) -> str | None:
        """Why measuring the model (its output `output`, None: the first) on `dataset` would
        mean nothing or fail, in a sentence that says what to do; None when the data fits:
        its sample shape and dtype, its task, its classes (the same names, in the same
        order) or its target count."""
        return self.expected_data_of(output).problem(self.data_for_output(dataset, output))

    def check_data(self, dataset, output: str | None = None) -> None:
        """EvaluationError with `data_problem`'s sentence when the data does not fit."""
        problem = self.data_problem(dataset, output)
        if problem:
            raise EvaluationError(problem)

    def split_of(self, dataset) -> dict | None:
        """The validation split the run recorded, if it split `dataset` itself (the same
        name and size); None otherwise."""
        split = self.data.get("validation_split")
        if isinstance(split, dict) and split.get("whole") == dataset.name and split.get("samples") == len(dataset):
            return split
        return None

    def split_part(self, dataset, part: str = "validation"):
        """The rows of `dataset` the run kept for validation (`part` "validation") or
        trained on ("train"): the validation split the run recorded, drawn again from the
        same data. EvaluationError when the run split no such data."""
        split = self.data.get("validation_split")
        if not isinstance(split, dict):
            raise EvaluationError(f"{self.name} recorded no validation split: it validated on "
                                  f"{self.data.get('validation_set') or 'nothing'}; evaluate on a test set instead")
        if self.split_of(dataset) is None:
            raise EvaluationError(f"{self.name} split {split.get('whole')} ({split.get('samples')} samples), not "
                                  f"{dataset.name} ({len(dataset)} samples): give the data the run was trained on")
        training, validation = dataset.split(split["percent"], split["seed"])
        return validation if part == "validation" else training

    def loss_for(self, dataset, choice=None, output: str | None = None) -> LossAdapter | None:
        """The loss measured as training measured it: `choice` (a FunctionChoice) or the
        loss of `output` (None: the first output; the network's loss unless the output has
        its own), on targets standardised by the run's statistics; None without a loss."""
        outputs = self.outputs
        name = outputs[self.output_index(output)] if outputs else None
        own = self.network.output_loss(name) if name is not None else None
        choice = choice or (own.choice if own is not None else self.network.loss)
        if choice is None:
            return None
        output_type = self.network.node(name).type if name is not None else ""
        dataset = self.data_for_output(dataset, output)
        try:
            return loss_adapter(self.network.catalog, choice, dataset, output_type, self.target_normalization)
        except PyTorchGUIError as error:
            raise EvaluationError(f"the loss cannot be measured on this data: {error}") from None

    def mismatch(self, network: Network) -> str | None:
        """Why `network` (the one in the editor, say) is not the network these weights were
        trained as, or None when it is."""
        if _computation(network) == _computation(self.network):
            return None
        try:  # the model holds the weights, whether they were read from a file or trained in memory
            load_state(compile_network(network), self.model.state_dict(), str(self.weights or self.name))
        except PyTorchGUIError as error:
            return f"the network has changed since {self.name} was trained: {error}"
        return f"the network has changed since {self.name} was trained (its weights still load, but into " \
               "another network)"


def _computation(network: Network) -> tuple:
    """What a network computes, and so what its weights mean: the nodes, their links and
    the input; not where the nodes sit on the canvas, which are frozen, nor the loss and
    optimizer it trains with."""
    nodes = [(n.name, n.type, n.parameters, n.next_layers) for n in network.nodes.values()]
    return nodes, [(name, network.input_feeding(name)) for name in network.first_layers], network.inputs


def open_trained_model(source: str | os.PathLike | "TrainingResult", *, network: Network | str | os.PathLike | None = None,
                       weights: str | os.PathLike | None = None, config_file: str | os.PathLike | None = None,
                       which: str = "best") -> TrainedModel:
    """The trained model `source` names:

    - a run folder: its own network and its `which` ("best" or "last") weights, unless
      `weights` names another file;
    - a weights file: for `network` (a Network or a network file), with the normalisation,
      classes and tokenizer of `config_file` or of the config.json beside the weights;
    - a TrainingResult: the model in memory (the weights it ended with), with its run
      folder's network and config; without a folder, `network` is the one it trained.

    Raises RunFolderError or EvaluationError naming the file and what to do."""
    if not isinstance(source, (str, os.PathLike)):
        return _from_result(source, network)
    path = Path(source)
    if path.is_dir():
        return _from_run_folder(RunFolder.open(path), weights, which)
    if network is None:
        raise RunFolderError(f"{path} is a weights file: open it for a network (the one it was trained as)")
    if not isinstance(network, Network):
        network = network_format.load(network)
    return _from_weights_file(path, network, config_file)


def _from_run_folder(run: RunFolder, weights, which: str) -> TrainedModel:
    chosen = Path(weights) if weights is not None else run.weights_file(which)
    network = run.load_network()
    return _described_by(run, run.name, network, _built(network, chosen), chosen)


def _from_weights_file(path: Path, network: Network, config_file) -> TrainedModel:
    config_file = Path(config_file) if config_file is not None else path.parent / RunFolder.CONFIG
    model = _built(network, path)
    if not config_file.is_file():
        return TrainedModel(path.name, network, model, path, None, None)
    return _described_by(RunFolder(config_file.parent, config_file=config_file), path.name, network, model, path)


def _from_result(result, network: Network | None) -> TrainedModel:
    """The weights the run ended with: the model in memory, which its run folder holds as
    its last weights, with the folder's network, classes and tokenizer; for a run that
    kept no folder, `network` is the network it trained."""
    if result.run_dir is not None:
        run = RunFolder.open(result.run_dir)
        return _described_by(run, run.name, run.load_network(), result.model, run.weights_file("last"))
    if network is None:
        raise EvaluationError("the run kept no run folder: open the network it trained to use its weights")
    return TrainedModel("the network just trained", network, result.model, None, result.normalization, None,
                        target_normalization=result.target_normalization)


def _described_by(run: RunFolder, name: str, network: Network, model: torch.nn.Module,
                  weights: Path) -> TrainedModel:
    """The model with what `run`'s config records: normalisation, classes, tokenizer, data."""
    return TrainedModel(name, network, model, weights, run.normalization(), run.classes(), run.tokenizer(),
                        _data_description(run), run, run.drawing_style(), run.target_normalization())


def _built(network: Network, weights: Path) -> torch.nn.Module:
    try:
        model = compile_network(network)
    except PyTorchGUIError as error:
        raise EvaluationError(f"the network for {weights.name} does not compile: {error}") from None
    load_weights(model, weights)
    return model


def _data_description(run: RunFolder) -> dict[str, Any]:
    config = run.read_config()
    return {key: config[key] for key in ("train_set", "train_source", "validation_set", "validation_source",
                                         "validation_split") if config.get(key) is not None}

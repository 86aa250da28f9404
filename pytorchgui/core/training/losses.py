"""The loss of a network for a dataset: whether the catalogue's loss fits the data, and how
the network's outputs and the dataset's targets are shaped for it (`LossAdapter`). The
Trainer, the LR finder, the Evaluation tab and the CLI share it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from pytorchgui.core.data.samples import TargetNormalization, TensorDataset
from pytorchgui.core.errors import TrainingError
from pytorchgui.core.graph.network import Network

LOG_PROBABILITY_OUTPUTS = {"LogSoftmax", "LogSigmoid"}
PROBABILITY_OUTPUTS = {"Softmax", "Sigmoid", "Softmin", "Hardsigmoid"}


@dataclass
class LossAdapter:
    """The loss, and how network outputs and dataset targets are shaped for it. With
    `target_normalization`, regression targets are standardised by it: the network learns,
    and the loss is measured, in standardised units."""

    loss: torch.nn.Module
    output_transform: str  # none, log_softmax, sigmoid
    target_kind: str
    num_classes: int | None
    notes: list[str]
    target_normalization: TargetNormalization | None = None

    def __call__(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.output_transform == "log_softmax":
            output = output.log_softmax(1)
        elif self.output_transform == "sigmoid":
            output = output.sigmoid()
        value = self.loss(output, self.prepare(targets, output))
        return value if value.dim() == 0 else value.mean()  # reduction="none": train on the mean

    def scored(self, output, targets):
        """(output, targets) that accuracy is measured on: the network's one output."""
        return output, targets

    parts = None  # a network with one output has no per-output losses (OutputLosses has)

    def prepare(self, targets: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        kind = self.target_kind
        if kind == "class_indices":
            return targets
        if self.num_classes is None:  # regression: same-shape float targets
            targets = targets.to(output.dtype).reshape(output.shape)
            return self.target_normalization.standardise(targets) if self.target_normalization else targets
        one_hot = torch.nn.functional.one_hot(targets, self.num_classes).to(output.dtype)
        if kind in ("probabilities", "same_shape", "multi_hot"):
            return one_hot
        if kind == "plus_minus_one":
            return one_hot * 2 - 1
        if kind == "multilabel_indices":
            padded = torch.full((len(targets), self.num_classes), -1, dtype=torch.int64, device=targets.device)
            padded[:, 0] = targets
            return padded
        raise TrainingError(f"cannot prepare {kind} targets")


@dataclass
class OutputLosses:
    """The loss of a network with several outputs: each output's loss (a LossAdapter)
    scaled by its weight, summed. It takes the tuple the network returns and targets that
    are one tensor for every output, or a tuple of one per output (in `outputs` order);
    accuracy is measured on output `outputs[chosen]`. After each call, `parts` holds every
    output's (unweighted) loss, detached, on the device."""

    outputs: list[str]
    adapters: list[LossAdapter]
    weights: list[float]
    chosen: int = 0
    notes: list[str] = field(default_factory=list)
    target_normalization: TargetNormalization | None = None  # per output (see make_loss): none in all
    parts: torch.Tensor | None = None

    @property
    def num_classes(self) -> int | None:
        return self.adapters[self.chosen].num_classes

    @property
    def chosen_output(self) -> str:
        return self.outputs[self.chosen]

    @staticmethod
    def target_of(targets, index: int):
        return targets[index] if isinstance(targets, (tuple, list)) else targets

    def __call__(self, output: tuple, targets) -> torch.Tensor:
        parts = [adapter(each.float() if each.dtype != torch.float32 else each, self.target_of(targets, index))
                 for index, (adapter, each) in enumerate(zip(self.adapters, output))]
        self.parts = torch.stack([part.detach() for part in parts])
        return sum(weight * part for weight, part in zip(self.weights, parts))

    def scored(self, output: tuple, targets):
        return output[self.chosen], self.target_of(targets, self.chosen)

    def describe(self, values: list[float]) -> str:
        """"main 0.53, aux 0.61 (weight 0.3)": each output's loss, as the log shows it."""
        return ", ".join(f"{output} {value:.4g}" + (f" (weight {weight:g})" if weight != 1 else "")
                         for output, value, weight in zip(self.outputs, values, self.weights))


def chosen_output_index(outputs: list[str], output: str | None) -> int:
    """The index of `output` among the network's outputs (None: the first)."""
    if output is None:
        return 0
    if output not in outputs:
        raise TrainingError(f"'{output}' is not an output of the network; its outputs are {', '.join(outputs)}")
    return outputs.index(output)


def make_output_losses(network: Network, dataset: TensorDataset | Any, output: str | None = None) -> OutputLosses:
    """The weighted losses of a network with several outputs, each checked against its
    targets (the dataset's own for that output, when it has them). Regression targets are
    not standardised here: each output's statistics would differ."""
    outputs = network.outputs()
    adapters, weights, notes = [], [], []
    for name in outputs:
        own = network.output_loss(name)
        if own is None:
            raise TrainingError(f"the output '{name}' has no loss: choose the network's loss in the Network tab "
                                "(\"$loss\" in the network file), or one for this output (\"$losses\")")
        targets = dataset.for_output(name) if hasattr(dataset, "for_output") else dataset
        try:
            adapter = loss_adapter(network.catalog, own.choice, targets, network.node(name).type)
        except TrainingError as error:
            raise TrainingError(f"output '{name}': {error}") from None
        adapters.append(adapter)
        weights.append(own.weight)
        notes.extend(f"output '{name}': {note}" for note in adapter.notes)
    chosen = chosen_output_index(outputs, output)
    shown = ", ".join(f"{name} ({choice.type}{'' if weight == 1 else f' x {weight:g}'})" for name, choice, weight
                      in zip(outputs, (network.output_loss(name).choice for name in outputs), weights))
    notes.append(f"{len(outputs)} outputs: the loss is the weighted sum of {shown}; accuracy is measured on "
                 f"'{outputs[chosen]}'")
    return OutputLosses(outputs, adapters, weights, chosen, notes)


def make_loss(network: Network, dataset: TensorDataset | Any, standardize_targets: bool = True,
              output: str | None = None) -> LossAdapter | OutputLosses:
    """Check that the network's loss fits the dataset, and say how targets are made: a
    regression target standardised by the dataset's statistics (`standardize_targets`).
    A network with several outputs gets OutputLosses, measuring accuracy on `output`
    (None: the first)."""
    if len(network.outputs()) > 1:
        return make_output_losses(network, dataset, output)
    outputs = network.outputs()
    own = network.output_losses.get(outputs[0]) if outputs else None  # the one output's own loss, if it has one
    choice = own.choice if own is not None else network.loss
    if choice is None:
        raise TrainingError("the network has no loss function: choose one in the Network tab (\"$loss\" in the "
                            "network file)")
    adapter = loss_adapter(network.catalog, choice, dataset, network.node(outputs[0]).type if outputs else "",
                           dataset.target_normalization if standardize_targets else None)
    statistics = adapter.target_normalization
    if statistics is not None:
        shown = ", ".join(f"{mean:.4g} ± {std:.4g}" for mean, std in zip(statistics.mean, statistics.std))
        adapter.notes.append(f"regression targets standardised by the training set's mean and std ({shown}): the "
                             "losses are in standard deviations of the target; evaluation and exports give values "
                             "in the target's own units")
    return adapter


def loss_adapter(catalog, choice, dataset: TensorDataset | Any, output_type: str = "",
                 target_normalization: TargetNormalization | None = None) -> LossAdapter:
    """The loss `choice` (a FunctionChoice) for `dataset`, for a network whose last node is
    of `output_type` (LogSoftmax, Sigmoid, ...: then no transform is added); regression
    targets standardised by `target_normalization` (the training set's) when given."""
    entry = catalog.losses.get(choice.type)
    info = entry.loss
    name = entry.name
    if not info.takes_one_input:
        what = {"pair": "pairs of inputs", "triplet": "anchor, positive and negative inputs",
                "sequence": "sequences with their lengths", "input_target_variance": "a predicted variance"}
        raise TrainingError(f"{name} needs {what.get(info.call, info.call)}, but PyTorchGUI trains a network with one "
                            "input against a target: choose CrossEntropyLoss for classes or MSELoss for values")
    classes = dataset.num_classes if dataset.is_classification else None
    if info.target in ("class_indices", "multilabel_indices", "plus_minus_one", "multi_hot") and classes is None:
        raise TrainingError(f"{name} needs class labels, but {dataset.name} has a regression target: choose MSELoss, "
                            "L1Loss or HuberLoss")
    notes = []
    transform = "none"
    if info.input == "log_probabilities" and output_type not in LOG_PROBABILITY_OUTPUTS:
        transform = "log_softmax"
        notes.append(f"{name} expects log-probabilities: log_softmax is applied to the output "
                     "(end the network with LogSoftmax to make it explicit)")
    elif info.input == "probabilities" and output_type not in PROBABILITY_OUTPUTS:
        transform = "sigmoid"
        notes.append(f"{name} expects probabilities: sigmoid is applied to the output "
                     "(or use BCEWithLogitsLoss, which is more stable)")
    if classes is not None and info.target in ("probabilities", "same_shape", "multi_hot", "plus_minus_one"):
        notes.append(f"{name} gets one-hot targets of {classes} classes")
    return LossAdapter(entry.build(choice.parameters), transform, info.target, classes, notes,
                       target_normalization if classes is None else None)

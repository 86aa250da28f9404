"""Evaluation: loss, accuracy, top-5, confusion matrix, per-class report, regression
metrics, the worst errors, and the MNIST-style preparation of a drawn digit.

Plain torch and numpy, no Qt: the Evaluation tab and the CLI call the same functions.
Every ratio with an empty denominator (a class never predicted, never present) is 0, not
an error.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy
import torch

from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.data.datasets import batches_for
from pytorchgui.core.data.samples import Normalization, TargetNormalization, TensorDataset
from pytorchgui.core.errors import PyTorchGUIError, first_line
from pytorchgui.core.graph.compiler import first_output, forward_inputs
from pytorchgui.core.safe_load import load_state_dict
from pytorchgui.core.training.tasks import Progress, TaskControl


class EvaluationError(PyTorchGUIError):
    """Evaluation cannot run: no weights, weights of another network, data that does not fit."""


@dataclass
class ClassReport:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvaluationResult:
    samples: int
    seconds: float
    loss: float | None
    classes: list[str] | None
    accuracy: float | None = None
    top5_accuracy: float | None = None
    confusion: torch.Tensor | None = None  # [true, predicted] counts
    report: list[ClassReport] = field(default_factory=list)
    macro: ClassReport | None = None
    weighted: ClassReport | None = None
    predictions: torch.Tensor | None = None
    confidences: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    mse: float | None = None
    mae: float | None = None
    r2: float | None = None
    outputs: torch.Tensor | None = None  # regression: the predictions [samples, targets], in the target's units
    probabilities: torch.Tensor | None = None  # classification: [samples, classes], the softmax of the outputs
    threshold: float | None = None  # two classes: the second predicted above this probability (None: argmax)
    _curves: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_regression(self) -> bool:
        return self.classes is None

    def residuals(self) -> torch.Tensor | None:
        """Regression: prediction minus true value of every sample and target, in the target's units."""
        if self.outputs is None:
            return None
        return self.outputs - self.targets.to(self.outputs.dtype).reshape(self.outputs.shape)

    def worst_errors(self, count: int = 32) -> list[int]:
        """Indices of wrong predictions, most confident first."""
        if self.predictions is None:
            return []
        wrong = (self.predictions != self.targets).nonzero().flatten()
        order = self.confidences[wrong].argsort(descending=True)
        return wrong[order][:count].tolist()

    def cell_samples(self, true_class: int, predicted_class: int, count: int = 64) -> list[int]:
        """Indices of samples of `true_class` predicted as `predicted_class`."""
        if self.predictions is None:
            return []
        mask = (self.targets == true_class) & (self.predictions == predicted_class)
        return mask.nonzero().flatten()[:count].tolist()

    def curves(self):
        """Classification: the ROC, precision–recall and calibration curves (core.training.curves),
        measured on first use (scikit-learn takes a second to import); None for a regression."""
        if self.probabilities is None:
            return None
        if self._curves is None:
            from pytorchgui.core.training.curves import measure_curves

            self._curves = measure_curves(self.probabilities, self.targets, self.classes)
        return self._curves

    def at_threshold(self, threshold: float) -> EvaluationResult:
        """Two classes: this result with the second class predicted where its probability is
        above `threshold`, its confusion matrix, accuracy and report measured again."""
        from pytorchgui.core.training.curves import threshold_predictions

        predictions = threshold_predictions(self.probabilities, threshold)
        confusion = confusion_matrix(self.targets, predictions, len(self.classes))
        moved = replace(self, predictions=predictions, threshold=threshold, confusion=confusion,
                        confidences=self.probabilities.gather(1, predictions[:, None])[:, 0],
                        accuracy=float((predictions == self.targets).double().mean()))
        moved.report, moved.macro, moved.weighted = class_report(confusion, self.classes)
        moved._curves = self._curves  # the same probabilities: the same curves
        return moved

    def summary(self) -> dict[str, Any]:
        values = {"samples": self.samples, "seconds": round(self.seconds, 3), "loss": self.loss}
        if self.classes is not None:
            values.update(accuracy=self.accuracy, top5_accuracy=self.top5_accuracy)
            if self.threshold is not None:
                values["threshold"] = self.threshold
        else:
            values.update(mse=self.mse, mae=self.mae, r2=self.r2)
        return values

    def to_json(self) -> dict[str, Any]:
        data = {"summary": self.summary()}
        if self.classes is not None:
            data["classes"] = self.classes
            data["per_class"] = [vars(row) for row in self.report]
            data["macro_average"] = vars(self.macro)
            data["weighted_average"] = vars(self.weighted)
            data["confusion_matrix"] = self.confusion.tolist()
            data["curves"] = self.curves().to_json()
        return data

    def report_rows(self) -> list[dict[str, Any]]:
        rows = [vars(row) for row in self.report]
        for label, row in (("macro average", self.macro), ("weighted average", self.weighted)):
            if row is not None:
                rows.append({**vars(row), "name": label})
        return rows

    def export(self, path: str | os.PathLike) -> None:
        """The report as .json (everything, the curves too) or .csv (per class with the
        averages; a classifier's curves beside it: report.csv, report_roc.csv, report_pr.csv...)."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            atomic_write_text(path, json.dumps(self.to_json(), indent=2))
            return
        import pandas  # imported on use: pandas takes 0.2 s and only the table export needs it

        if self.classes is None:
            frame = pandas.DataFrame([self.summary()])
        else:
            frame = pandas.DataFrame(self.report_rows(), columns=["name", "precision", "recall", "f1", "support"])
            self.curves().write_tables(path.parent, prefix=f"{path.stem}_")  # report_roc.csv beside report.csv
        atomic_write_text(path, frame.to_csv(index=False))


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def class_report(confusion: torch.Tensor, classes: list[str]) -> tuple[list[ClassReport], ClassReport, ClassReport]:
    """Per-class precision, recall, F1 and support, with macro and weighted averages."""
    true_positive = confusion.diag().double()
    predicted = confusion.sum(0).double()
    actual = confusion.sum(1).double()
    rows = []
    for index, name in enumerate(classes):
        precision = _ratio(true_positive[index], predicted[index])
        recall = _ratio(true_positive[index], actual[index])
        f1 = _ratio(2 * precision * recall, precision + recall)
        rows.append(ClassReport(name, precision, recall, f1, int(actual[index])))
    total = sum(row.support for row in rows)
    macro = ClassReport("macro average", *(sum(getattr(r, k) for r in rows) / len(rows) for k in
                                           ("precision", "recall", "f1")), total)
    weighted = ClassReport("weighted average", *(_ratio(sum(getattr(r, k) * r.support for r in rows), total) for k in
                                                 ("precision", "recall", "f1")), total)
    return rows, macro, weighted


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.bincount(targets * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def regression_metrics(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float, float]:
    """(MSE, MAE, R²); R² is 0 for a constant target (nothing to explain)."""
    outputs, targets = outputs.double().reshape(targets.shape), targets.double()
    error = outputs - targets
    mse = float((error ** 2).mean())
    mae = float(error.abs().mean())
    variance = float(((targets - targets.mean()) ** 2).sum())
    r2 = 1 - float((error ** 2).sum()) / variance if variance else 0.0
    return mse, mae, r2


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset: TensorDataset, normalization: Normalization | None, *,
             loss: Callable | None = None, batch_size: int = 256, device: str = "cpu",
             control: TaskControl | None = None,
             target_normalization: TargetNormalization | None = None, output_index: int = 0) -> EvaluationResult:
    """Run `model` over `dataset` (normalised like its training set) and measure it. A
    regression model trained on standardised targets gives outputs in those units:
    `target_normalization` (the run's) turns them back, so that MSE, MAE and the
    predictions are in the target's own units; `loss` is measured as training measured it.
    Progress goes to `control` after every batch; its stop raises tasks.Cancelled. A model
    with several outputs is measured on the one at `output_index` (TrainedModel.output_index),
    against `dataset`'s targets (TrainedModel.data_for_output gives that output's)."""
    control = control or TaskControl()
    device = torch.device(device)
    model = model.to(device).eval()
    batches = batches_for(dataset, normalization, device)
    total = batches.number_of_batches(batch_size)
    classes = dataset.classes
    started = time.perf_counter()
    loss_sum, outputs_kept, probabilities_kept, top5 = 0.0, [], [], 0
    try:
        for index, (x, y) in enumerate(batches.batches(batch_size, shuffle=False)):
            control.checkpoint()
            output = model(*forward_inputs(x))
            if isinstance(output, tuple):
                output = output[output_index]
            if index == 0:
                _check_output(output, dataset)
            if loss is not None:
                loss_sum += float(loss(output.float(), y)) * len(y)
            if classes is not None:
                probabilities_kept.append(output.float().softmax(1).cpu())
                if len(classes) > 5:
                    top5 += int((output.topk(5, dim=1).indices == y[:, None]).any(1).sum())
            else:
                outputs_kept.append(output.float().cpu())
            control.report(Progress(index + 1, total))
    except torch.cuda.OutOfMemoryError:
        model.to("cpu")
        torch.cuda.empty_cache()
        raise EvaluationError(f"the GPU ran out of memory at batch size {batch_size}: try "
                              f"{max(1, batch_size // 2)}, or evaluate on the CPU") from None
    except RuntimeError as error:
        raise EvaluationError(f"the network cannot take {dataset.name}: {first_line(error)}") from None
    seconds = time.perf_counter() - started
    samples = len(dataset)
    result = EvaluationResult(samples, seconds, loss_sum / samples if loss is not None else None, classes)
    if classes is not None:
        result.probabilities = torch.cat(probabilities_kept)
        result.confidences, result.predictions = result.probabilities.max(1)
        result.targets = dataset.targets.cpu()
        result.accuracy = float((result.predictions == result.targets).double().mean())
        result.top5_accuracy = top5 / samples if len(classes) > 5 else None
        result.confusion = confusion_matrix(result.targets, result.predictions, len(classes))
        result.report, result.macro, result.weighted = class_report(result.confusion, classes)
    else:
        result.targets = dataset.targets.cpu()
        outputs = torch.cat(outputs_kept).reshape(len(result.targets), -1)
        result.outputs = target_normalization.restore(outputs) if target_normalization is not None else outputs
        result.mse, result.mae, result.r2 = regression_metrics(result.outputs, result.targets)
    return result


def _check_output(output: torch.Tensor, dataset: TensorDataset) -> None:
    if dataset.classes is not None:
        if output.dim() != 2 or output.shape[1] != len(dataset.classes):
            raise EvaluationError(f"the network gives {list(output.shape[1:])} values per sample but {dataset.name} has "
                                  f"{len(dataset.classes)} classes: fit the network to the data and train it again")
    elif output[0].numel() != dataset.targets[0].numel():
        raise EvaluationError(f"the network gives {output[0].numel()} values per sample but {dataset.name}'s target "
                              f"has {dataset.targets[0].numel()}")


def load_weights(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """Weights saved by PyTorchGUI (a state_dict, or a checkpoint holding one), loaded
    with weights_only=True; weights of another network are refused with the reason."""
    load_state(model, load_state_dict(path, EvaluationError), str(path))


def load_state(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """`state` loaded into `model`; weights of another network are refused with the reason,
    naming `source` (the file or the run they came from)."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise EvaluationError(f"{source} holds weights of another network: {' '.join(lines[1:3]) or lines[0]}") \
            from None


def prepare_image(image, sample_shape: list[int], normalization: Normalization | None = None):
    """An opened image (PIL) made into a sample for a network taking [C, H, W]: converted
    to C channels (1: grayscale, 3: RGB) and resized to H x W, nothing cropped or moved.

    A single-channel network trained on light shapes on a dark background (MNIST: mean
    well under 0.5) would read a photo of dark ink on white paper as its negative, so
    such an image is inverted. Returns (uint8 sample [C, H, W], whether it was inverted).
    """
    from PIL import Image  # imported on use: only the Try it pad's images need PIL

    if len(sample_shape) != 3 or sample_shape[0] not in (1, 3):
        raise EvaluationError(f"Try it opens images for networks that take 1 or 3 channels; this one takes "
                              f"{list(sample_shape)}")
    channels, height, width = sample_shape
    converted = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
    array = numpy.asarray(converted, dtype=numpy.uint8)
    sample = torch.from_numpy(array.copy()).reshape(height, width, -1).permute(2, 0, 1).contiguous()
    trained_on_dark = normalization is not None and max(normalization.mean) < 0.35
    inverted = channels == 1 and trained_on_dark and float(sample.float().mean()) > 127.5
    return (255 - sample if inverted else sample), inverted


@torch.no_grad()
def model_input(model: torch.nn.Module, sample: torch.Tensor, normalization: Normalization | None) -> torch.Tensor:
    """One uint8 sample [C, H, W] as the batch of one the model was trained on: scaled to
    [0, 1], normalised as in training, on the model's device. Token ids [T] (int64) are
    passed on as they are."""
    device = next(model.parameters(), torch.empty(0)).device
    if sample.dtype == torch.int64:
        return sample[None].to(device)
    x = sample[None].float().to(device) / 255.0
    if normalization is not None:
        shape = [1, -1] + [1] * (x.dim() - 2)
        x = (x - torch.tensor(normalization.mean, device=device).reshape(shape)) / torch.tensor(
            normalization.std, device=device).reshape(shape)
    return x


def _output_at(output, index: int):
    """Output `index` of what a module returns (a tuple when it has several outputs)."""
    return output[index] if isinstance(output, tuple) else first_output(output)


def predict(model: torch.nn.Module, sample: torch.Tensor, normalization: Normalization | None,
            output_index: int = 0) -> torch.Tensor:
    """Class probabilities for one uint8 sample [C, H, W] (or token ids [T]); of a model
    with several outputs, its output at `output_index`."""
    model.eval()
    with torch.no_grad():
        output = _output_at(model(model_input(model, sample, normalization)), output_index)
        return output.float().softmax(1)[0].cpu()


def predict_values(model: torch.nn.Module, sample: torch.Tensor, normalization: Normalization | None,
                   target_normalization: TargetNormalization | None, output_index: int = 0) -> torch.Tensor:
    """A regression network's values for one sample, in the target's units (turned back
    from the standardised units it learned, when `target_normalization` is given)."""
    model.eval()
    with torch.no_grad():
        output = _output_at(model(model_input(model, sample, normalization)), output_index).float()
        output = output.reshape(1, -1).cpu()
    return (target_normalization.restore(output) if target_normalization is not None else output)[0]


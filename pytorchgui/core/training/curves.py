"""A classifier's curves: per class (that class against the rest) the ROC curve with its
area (AUC) and the precision–recall curve with its average precision; the reliability
diagram of the top-class confidence with its expected calibration error (ECE); and, for
two classes, the predictions at any threshold on the second class's probability.

Computed with scikit-learn from every sample's class probabilities (the softmax of the
network's outputs, kept by `metrics.evaluate`). Plain numpy, no Qt: the Evaluation tab,
the report export and `pytorchgui evaluate --curves` share them.

A class with no sample in the data has no ROC or precision–recall curve (no positives to
find), and a class that every sample belongs to has no ROC curve (no negatives to tell it
from): their figures are None and `problem` says why, rather than a NaN or a warning.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import torch

from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.errors import SaveError

CALIBRATION_BINS = 10
TABLE_FILES = ("auc.csv", "roc.csv", "pr.csv", "calibration.csv")
# Their columns, written even when a table has no row (one sample: no curve is defined)
TABLE_COLUMNS = (("class", "samples", "auc", "average_precision", "problem"),
                 ("class", "false_positive_rate", "true_positive_rate", "threshold"),
                 ("class", "recall", "precision", "threshold"),
                 ("bin_start", "bin_end", "samples", "accuracy", "mean_confidence"))
FIGURE_FILE = "curves.png"


@dataclass
class ClassCurves:
    """One class against the rest. Arrays are empty where a curve is undefined."""
    name: str
    positives: int  # samples of this class
    false_positive_rate: numpy.ndarray
    true_positive_rate: numpy.ndarray
    roc_thresholds: numpy.ndarray  # the first is inf: the point (0, 0) where nothing is predicted positive
    precision: numpy.ndarray
    recall: numpy.ndarray
    pr_thresholds: numpy.ndarray  # one fewer than the points: the last point (recall 0, precision 1) has none
    auc: float | None
    average_precision: float | None
    problem: str = ""  # why a figure is None


@dataclass
class Calibration:
    """The reliability diagram: samples binned by the probability of their predicted class."""
    edges: numpy.ndarray  # CALIBRATION_BINS + 1 bin edges from 0 to 1
    counts: numpy.ndarray  # samples per bin
    accuracy: numpy.ndarray  # share predicted right per bin (NaN: an empty bin)
    confidence: numpy.ndarray  # mean predicted-class probability per bin (NaN: an empty bin)
    expected_calibration_error: float  # mean |accuracy - confidence| over the bins, weighted by their counts

    def rows(self) -> list[dict[str, Any]]:
        return [{"bin_start": round(float(self.edges[i]), 6), "bin_end": round(float(self.edges[i + 1]), 6),
                 "samples": int(self.counts[i]), "accuracy": _finite_or_none(self.accuracy[i]),
                 "mean_confidence": _finite_or_none(self.confidence[i])} for i in range(len(self.counts))]


@dataclass
class Curves:
    classes: list[ClassCurves]
    calibration: Calibration
    samples: int

    @property
    def macro_auc(self) -> float | None:
        """The mean AUC of the classes that have one (None if none has)."""
        return _mean_of_defined(curve.auc for curve in self.classes)

    @property
    def macro_average_precision(self) -> float | None:
        return _mean_of_defined(curve.average_precision for curve in self.classes)

    def problems(self) -> list[str]:
        return [curve.problem for curve in self.classes if curve.problem]

    def auc_rows(self) -> list[dict[str, Any]]:
        rows = [{"class": curve.name, "samples": curve.positives, "auc": curve.auc,
                 "average_precision": curve.average_precision, "problem": curve.problem} for curve in self.classes]
        rows.append({"class": "macro average", "samples": self.samples, "auc": self.macro_auc,
                     "average_precision": self.macro_average_precision,
                     "problem": "over the classes that have one" if self.problems() else ""})
        return rows

    def roc_rows(self) -> list[dict[str, Any]]:
        return [{"class": curve.name, "false_positive_rate": float(x), "true_positive_rate": float(y),
                 "threshold": _finite_or_none(threshold)} for curve in self.classes
                for x, y, threshold in zip(curve.false_positive_rate, curve.true_positive_rate, curve.roc_thresholds)]

    def pr_rows(self) -> list[dict[str, Any]]:
        rows = []
        for curve in self.classes:
            thresholds = list(curve.pr_thresholds) + [None]  # the end point (recall 0) has no threshold
            rows += [{"class": curve.name, "recall": float(recall), "precision": float(precision),
                      "threshold": _finite_or_none(threshold)}
                     for recall, precision, threshold in zip(curve.recall, curve.precision, thresholds)]
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"per_class": [{"class": curve.name, "samples": curve.positives, "auc": curve.auc,
                               "average_precision": curve.average_precision, "problem": curve.problem,
                               "roc": {"false_positive_rate": curve.false_positive_rate.tolist(),
                                       "true_positive_rate": curve.true_positive_rate.tolist(),
                                       "thresholds": [_finite_or_none(t) for t in curve.roc_thresholds]},
                               "precision_recall": {"precision": curve.precision.tolist(),
                                                    "recall": curve.recall.tolist(),
                                                    "thresholds": curve.pr_thresholds.tolist()}}
                              for curve in self.classes],
                "macro_auc": self.macro_auc, "macro_average_precision": self.macro_average_precision,
                "calibration": {"bins": self.calibration.rows(),
                                "expected_calibration_error": self.calibration.expected_calibration_error}}

    def write_tables(self, folder: str | os.PathLike, prefix: str = "") -> list[Path]:
        """auc.csv (per class and the macro average), roc.csv, pr.csv and calibration.csv in
        `folder`, each name after `prefix` (a report's "report_" writes report_roc.csv beside it)."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SaveError(error.errno, f"cannot create the folder {folder} for the curves: "
                                         f"{error.strerror or error}") from None
        written = []
        for name, columns, rows in zip(TABLE_FILES, TABLE_COLUMNS, (self.auc_rows(), self.roc_rows(), self.pr_rows(),
                                                                   self.calibration.rows())):
            path = folder / f"{prefix}{name}"
            atomic_write_text(path, _csv_text(rows, columns))
            written.append(path)
        return written

    def write(self, folder: str | os.PathLike) -> list[Path]:
        """The tables and curves.png (ROC, precision–recall and reliability side by side) in `folder`."""
        from pytorchgui.core.figures import save_figure

        written = self.write_tables(folder)
        figure_path = Path(folder) / FIGURE_FILE
        save_figure(curves_figure(self), figure_path)
        return written + [figure_path]


def _finite_or_none(value) -> float | None:
    """CSV readers and JSON take no inf or NaN: an undefined figure is empty (null)."""
    return float(value) if value is not None and math.isfinite(value) else None


def _mean_of_defined(values) -> float | None:
    defined = [value for value in values if value is not None]
    return float(numpy.mean(defined)) if defined else None


def _csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _numpy(values) -> numpy.ndarray:
    return values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else numpy.asarray(values)


def measure_curves(probabilities, targets, classes: list[str]) -> Curves:
    """probabilities: [samples, classes] (each row sums to 1); targets: [samples] class indices."""
    probabilities, targets = _numpy(probabilities).astype(float), _numpy(targets).astype(int)
    per_class = [class_curves(probabilities[:, index], targets == index, name) for index, name in enumerate(classes)]
    return Curves(per_class, calibration(probabilities, targets), len(targets))


def class_curves(scores: numpy.ndarray, positive: numpy.ndarray, name: str) -> ClassCurves:
    """The ROC and precision–recall curves of `scores` (one class's probability) for
    telling the samples where `positive` is true from the others."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve  # 1 s to import

    positives, empty = int(positive.sum()), numpy.zeros(0)
    roc, roc_auc, pr, precision_average, problem = (empty,) * 3, None, (empty,) * 3, None, ""
    if positives == 0:
        problem = (f"no sample of class {name} in the data: its ROC and precision–recall curves, AUC and "
                   "average precision are undefined")
    else:
        precision, recall, pr_thresholds = precision_recall_curve(positive, scores)
        pr, precision_average = (precision, recall, pr_thresholds), float(average_precision_score(positive, scores))
        if positives == len(positive):
            problem = (f"every sample is of class {name}: with no other class to tell it from, its ROC curve and "
                       "AUC are undefined")
        else:
            roc = roc_curve(positive, scores)
            roc_auc = float(auc(roc[0], roc[1]))
    return ClassCurves(name, positives, *roc, *pr, roc_auc, precision_average, problem)


def calibration(probabilities: numpy.ndarray, targets: numpy.ndarray, bins: int = CALIBRATION_BINS) -> Calibration:
    """The reliability diagram of the predicted class's probability in `bins` equal bins of [0, 1]."""
    confidence, predicted = probabilities.max(1), probabilities.argmax(1)
    correct = (predicted == targets).astype(float)
    index = numpy.minimum((confidence * bins).astype(int), bins - 1)  # a probability of 1 is in the last bin
    counts = numpy.bincount(index, minlength=bins)
    with numpy.errstate(invalid="ignore"):  # an empty bin: NaN, drawn as no bar
        accuracy = numpy.bincount(index, weights=correct, minlength=bins) / counts
        mean_confidence = numpy.bincount(index, weights=confidence, minlength=bins) / counts
    filled = counts > 0
    error = float((counts[filled] * numpy.abs(accuracy[filled] - mean_confidence[filled])).sum() / max(len(targets), 1))
    return Calibration(numpy.linspace(0, 1, bins + 1), counts, accuracy, mean_confidence, error)


def threshold_predictions(probabilities: torch.Tensor, threshold: float) -> torch.Tensor:
    """Two classes: the second class (the positive one) where its probability is above
    `threshold`, else the first. At 0.5 these are the argmax predictions (a tie of 0.5 and
    0.5 goes to the first class either way)."""
    if probabilities.dim() != 2 or probabilities.shape[1] != 2:
        raise ValueError(f"a threshold needs the probabilities of two classes, not {list(probabilities.shape)}")
    return (probabilities[:, 1] > threshold).long()


def curves_figure(curves: Curves, legend_limit: int = 10):
    """ROC, precision–recall and reliability diagram side by side, as a matplotlib Figure;
    a legend names the classes when there are at most `legend_limit`."""
    from pytorchgui.core.figures import new_figure

    figure = new_figure(15, 4.8)
    roc_axes, pr_axes, reliability_axes = figure.subplots(1, 3)
    colours = _colours(len(curves.classes))
    labelled = len(curves.classes) <= legend_limit
    for curve, colour in zip(curves.classes, colours):
        if curve.auc is not None:
            roc_axes.plot(curve.false_positive_rate, curve.true_positive_rate, color=colour,
                          label=f"{curve.name} (AUC {curve.auc:.3f})" if labelled else None)
        if curve.average_precision is not None:
            pr_axes.plot(curve.recall, curve.precision, color=colour, drawstyle="steps-post",
                         label=f"{curve.name} (AP {curve.average_precision:.3f})" if labelled else None)
    roc_axes.plot([0, 1], [0, 1], color="#adb5bd", linestyle="--", label="chance")
    _finish_axes(roc_axes, "false positive rate", "true positive rate",
                 "ROC, one class against the rest" + _macro(" (macro AUC {:.3f})", curves.macro_auc), labelled)
    _finish_axes(pr_axes, "recall", "precision",
                 "Precision–recall" + _macro(" (macro AP {:.3f})", curves.macro_average_precision), labelled)
    _draw_reliability(reliability_axes, curves.calibration)
    return figure


def _macro(template: str, value: float | None) -> str:
    return template.format(value) if value is not None else ""


def _colours(count: int) -> list:
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "turbo"]
    return [palette(index if count <= 10 else index / max(count - 1, 1)) for index in range(count)]


def _finish_axes(axes, x_label: str, y_label: str, title: str, legend: bool) -> None:
    axes.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.02), xlabel=x_label, ylabel=y_label, title=title)
    axes.grid(alpha=0.25)
    if legend and axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small", loc="lower right" if x_label.startswith("false") else "lower left")


def _draw_reliability(axes, calibration_bins: Calibration) -> None:
    centres = (calibration_bins.edges[:-1] + calibration_bins.edges[1:]) / 2
    width = calibration_bins.edges[1] - calibration_bins.edges[0]
    filled = calibration_bins.counts > 0
    axes.bar(centres[filled], calibration_bins.accuracy[filled], width=width * 0.9, color="#4c6ef5",
             label="accuracy of the bin")
    for centre, accuracy, count in zip(centres[filled], calibration_bins.accuracy[filled],
                                       calibration_bins.counts[filled]):
        axes.annotate(f"{count}", (centre, accuracy), ha="center", va="bottom", fontsize="x-small")
    axes.plot([0, 1], [0, 1], color="#c92a2a", linestyle="--", label="perfectly calibrated")
    _finish_axes(axes, "probability of the predicted class", "accuracy",
                 f"Reliability (ECE {calibration_bins.expected_calibration_error:.3f}), samples per bin", False)
    axes.set_ylim(0, 1.1)  # room for the counts above a full bar
    axes.legend(fontsize="small", loc="upper left")

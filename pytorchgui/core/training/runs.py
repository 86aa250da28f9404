"""The run folder: the one place that writes, lists and reads what a training run leaves.

    network.json       the network as trained (after any fit to the data)
    config.json        the training options, the data sources and validation split, classes,
                       the normalisation of the inputs and of a regression target
    metrics.csv        one row per epoch
    checkpoint.pt      model, optimizer, schedule, epoch, random-number states
    last_weights.pt    the weights after the last epoch
    best_weights.pt    the weights of the epoch with the best monitored loss (a sweep's
                       trial: the best objective)
    summary.json       how the run ended (finished, stopped, early_stopped, failed) and why
    notes.json         the user's tags and notes on the run (written by the Runs table, not by training)
    layer_histories.npz  every epoch's weight and gradient histograms per layer, dead ReLU units
                       (written after each epoch); at the end of the run also as
                       layer_statistics.csv, layer_histograms.csv and layer_histories.png
    events.out.tfevents.*  TensorBoard's event files, with tensorboard installed (tensorboard_log.py)

Every file is written atomically. Every read is guarded: a damaged or missing file is a
`RunFolderError` that names it, never a traceback. Torch files load with weights_only=True.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy
import torch

from pytorchgui.core.atomic import atomic_write, atomic_write_text
from pytorchgui.core.data.drawing import DrawingStyle
from pytorchgui.core.data.samples import Normalization, TargetNormalization
from pytorchgui.core.data.sequences import Tokenizer
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.safe_load import load_tensors
from pytorchgui.core.training import network_format
from pytorchgui.core.training.histories import LayerHistories, histograms_csv, histories_figure, statistics_csv

CHECKPOINT_FORMAT = "pytorchgui.checkpoint"
CHECKPOINT_VERSION = 1
METRIC_COLUMNS = ("epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy",
                  "learning_rate", "seconds")
SUMMARY_FIGURES = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy")


class RunFolderError(PyTorchGUIError):
    """A run folder, or a file in it, that cannot be read; the message names the file."""


def _finite_or_none(value):
    """JSON has no NaN: a figure that is not finite is written as null."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint, read with weights_only=True: a file holding code is refused."""
    checkpoint = load_tensors(path, RunFolderError, "PyTorchGUI checkpoint")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise RunFolderError(f"{path} is not a PyTorchGUI checkpoint")
    return checkpoint


class RunFolder:
    NETWORK = "network.json"
    CONFIG = "config.json"
    METRICS = "metrics.csv"
    CHECKPOINT = "checkpoint.pt"
    LAST_WEIGHTS = "last_weights.pt"
    BEST_WEIGHTS = "best_weights.pt"
    SUMMARY = "summary.json"
    PREDICTIONS = "validation_predictions.npz"  # the confusion history: every epoch's predicted classes
    TOKENIZER = "tokenizer.json"  # how text was turned into token ids, for evaluation and Try it
    LAYER_HISTORIES = "layer_histories.npz"
    LAYER_STATISTICS = "layer_statistics.csv"
    LAYER_HISTOGRAMS = "layer_histograms.csv"
    LAYER_FIGURE = "layer_histories.png"
    NOTES = "notes.json"

    def __init__(self, path: str | os.PathLike, config_file: str | os.PathLike | None = None):
        """`config_file`: where the run's config is, when it is not the folder's config.json
        (a config kept beside a weights file under another name)."""
        self.path = Path(path)
        self.config_file = Path(config_file) if config_file is not None else self.path / self.CONFIG
        self.network_name: str | None = None  # what the network is called, recorded in config.json when known

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @staticmethod
    def without_stamp(name: str) -> str:
        """A folder's name without the start time `new` puts first ("lenet5" of
        "2026-12-03_15-24-35_lenet5"): a name made from it is not stamped twice."""
        return re.sub(r"^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_", "", name)

    @classmethod
    def new(cls, base: Path, network_name: str) -> "RunFolder":
        """A run folder under `base` that does not exist yet, named by the time and the
        network. It is made when the run really starts (write_start), so a run refused
        before training leaves no empty folder behind."""
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in network_name)[:40] or "network"
        path = base / f"{stamp}_{safe}"
        counter = 2
        while path.exists():
            path = base / f"{stamp}_{safe}_{counter}"
            counter += 1
        folder = cls(path)
        folder.network_name = network_name
        return folder

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunFolder":
        """An existing run folder (RunFolderError if `path` is not one)."""
        folder = cls(path)
        if not (folder.path / cls.NETWORK).is_file():
            raise RunFolderError(f"{folder.path} is not a run folder: it has no {cls.NETWORK}")
        return folder

    def file(self, name: str) -> Path:
        return self.path / name

    def evaluation_folder(self, dataset_name: str) -> Path:
        """Where the figures of an evaluation on `dataset_name` go (evaluation/NAME), the
        name made safe as a folder name."""
        safe = re.sub(r"[^\w.-]+", "_", dataset_name).strip("._") or "data"  # "x.csv (validation)": x.csv_validation
        return self.path / "evaluation" / safe

    # -- writing -------------------------------------------------------------------------
    def write_start(self, network, config: dict[str, Any], tokenizer=None) -> None:
        """The network as it will be trained, the run's settings and the training set's
        tokenizer (for text), before the first epoch."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunFolderError(f"cannot create the run folder {self.path}: {error.strerror or error}") from None
        network_format.save(network, self.file(self.NETWORK))
        if self.network_name and "network_name" not in config:
            config = {"network_name": self.network_name, **config}
        atomic_write_text(self.config_file, json.dumps(config, indent=2))
        if tokenizer is not None:
            tokenizer.save(self.file(self.TOKENIZER))

    def write_epoch(self, checkpoint: dict[str, Any], improved: bool, history: list[dict[str, Any]]) -> None:
        """After an epoch: the checkpoint, the last (and maybe best) weights, the metrics."""
        checkpoint = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **checkpoint}
        weights = torch_bytes(checkpoint["model"])
        atomic_write(self.file(self.CHECKPOINT), lambda stream: stream.write(torch_bytes(checkpoint)))
        atomic_write(self.file(self.LAST_WEIGHTS), lambda stream: stream.write(weights))
        if improved:
            atomic_write(self.file(self.BEST_WEIGHTS), lambda stream: stream.write(weights))
        self.write_metrics(history)

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        buffer = io.StringIO()
        # a network with several outputs adds each one's loss ("train_loss.aux") after the usual columns
        per_output = [key for key in dict.fromkeys(key for row in history for key in row)
                      if key.startswith(("train_loss.", "validation_loss."))]
        writer = csv.DictWriter(buffer, fieldnames=[*METRIC_COLUMNS, *per_output], extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow(row)
        atomic_write_text(self.file(self.METRICS), buffer.getvalue())

    def write_predictions(self, epoch: int, predictions, targets) -> None:
        """Add (or replace) one epoch's predicted class of every validation sample, in the
        validation set's order; the targets are stored once. Epochs after `epoch` (from a
        run resumed earlier) are dropped."""
        predictions = numpy.asarray(predictions, dtype=numpy.int32)
        history = self.read_predictions()
        epochs, rows = [], []
        if history is not None and numpy.array_equal(history.targets, targets):
            kept = [index for index, old in enumerate(history.epochs) if old < epoch]
            epochs, rows = [history.epochs[i] for i in kept], [history.predictions[i] for i in kept]
        buffer = io.BytesIO()
        numpy.savez_compressed(buffer, epochs=numpy.asarray(epochs + [epoch], dtype=numpy.int32),
                               predictions=numpy.stack(rows + [predictions]),
                               targets=numpy.asarray(targets, dtype=numpy.int32))
        atomic_write(self.file(self.PREDICTIONS), lambda stream: stream.write(buffer.getvalue()))

    def read_predictions(self) -> "ConfusionHistory | None":
        """The confusion history, or None for a run without one (a classifier's runs from
        before it was kept, a regression run)."""
        path = self.file(self.PREDICTIONS)
        if not path.is_file():
            return None
        try:
            with numpy.load(path, allow_pickle=False) as data:
                epochs, predictions, targets = data["epochs"], data["predictions"], data["targets"]
        except (OSError, ValueError, KeyError, EOFError) as error:
            raise RunFolderError(f"{path} is damaged ({error}): its confusion history cannot be read") from None
        if predictions.ndim != 2 or predictions.shape != (len(epochs), len(targets)):
            raise RunFolderError(f"{path} is damaged: its arrays do not fit together")
        return ConfusionHistory([int(e) for e in epochs], predictions, targets, self.classes())

    def write_layer_histories(self, histories) -> None:
        """The run's weight and gradient histories so far (a LayerHistories)."""
        buffer = io.BytesIO()
        numpy.savez_compressed(buffer, **histories.to_arrays())
        atomic_write(self.file(self.LAYER_HISTORIES), lambda stream: stream.write(buffer.getvalue()))

    def read_layer_histories(self):
        """The run's LayerHistories, or None for a run without them (from before they were
        kept, or one that ended before its first epoch)."""
        path = self.file(self.LAYER_HISTORIES)
        if not path.is_file():
            return None
        try:
            with numpy.load(path, allow_pickle=False) as data:
                return LayerHistories.from_arrays(data)
        except (OSError, ValueError, KeyError, EOFError) as error:
            raise RunFolderError(f"{path} is damaged ({error}): its layer histories cannot be read") from None

    def write_layer_views(self, histories) -> None:
        """The histories as tables and a figure, for notebooks and papers. The figure is most
        of a short run's ending (0.5 to 1 s of matplotlib): a test suite whose runs last
        seconds may leave it out with PYTORCHGUI_NO_LAYER_FIGURE=1 (tests/conftest.py)."""
        from pytorchgui.core.figures import save_figure

        atomic_write_text(self.file(self.LAYER_STATISTICS), statistics_csv(histories))
        atomic_write_text(self.file(self.LAYER_HISTOGRAMS), histograms_csv(histories))
        if not os.environ.get("PYTORCHGUI_NO_LAYER_FIGURE"):
            save_figure(histories_figure(histories), self.file(self.LAYER_FIGURE))

    def write_summary(self, status: str, message: str, history: list[dict[str, Any]]) -> None:
        last = history[-1] if history else {}
        summary = {"status": status, "message": message, "epochs_done": len(history),
                   **{key: _finite_or_none(last.get(key)) for key in SUMMARY_FIGURES}}
        atomic_write_text(self.file(self.SUMMARY), json.dumps(summary, indent=2))

    def write_notes(self, tags: list[str], notes: str) -> None:
        """The user's tags and notes on the run (notes.json)."""
        atomic_write_text(self.file(self.NOTES), json.dumps({"tags": list(tags), "notes": notes}, indent=2))

    def delete(self) -> None:
        """Remove the run folder and everything in it, for good."""
        try:
            shutil.rmtree(self.path)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise RunFolderError(f"cannot delete the run folder {self.path}: {error.strerror or error}") from None

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunFolderError(f"{path} is missing: the run did not start, or its folder is damaged") from None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise RunFolderError(f"{path} is damaged ({error}): it cannot be read") from None
        if not isinstance(data, dict):
            raise RunFolderError(f"{path} is damaged: it holds {type(data).__name__}, not an object")
        return data

    def read_config(self) -> dict[str, Any]:
        return self._read_json(self.config_file)

    def read_summary(self) -> dict[str, Any]:
        return self._read_json(self.file(self.SUMMARY))

    def read_notes(self) -> tuple[list[str], str]:
        """(tags, notes) the user wrote on the run; ([], "") when there are none."""
        path = self.file(self.NOTES)
        if not path.is_file():
            return [], ""
        data = self._read_json(path)
        tags, notes = data.get("tags", []), data.get("notes", "")
        if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags) and isinstance(notes, str)):
            raise RunFolderError(f"{path} is damaged: its tags must be a list of words and its notes a text; "
                                 "delete the file to start them afresh")
        return tags, notes

    def read_network_document(self) -> dict[str, Any]:
        """network.json as recorded, not built into a network (which needs every node's
        entry in this version's catalogue): what the runs table and a settings diff read."""
        path = self.file(self.NETWORK)
        try:
            document = network_format.parse_json(network_format.read_text(path), str(path))
        except PyTorchGUIError as error:
            raise RunFolderError(str(error)) from None
        if not isinstance(document, dict):
            raise RunFolderError(f"{path} is damaged: it holds {type(document).__name__}, not a network")
        return document

    def read_metrics(self) -> list[dict[str, Any]]:
        """The metrics rows; [] when the run has none yet."""
        path = self.file(self.METRICS)
        try:
            with open(path, newline="", encoding="utf-8") as stream:
                return [{key: (float(value) if value not in ("", None) else None) for key, value in row.items()
                         if key is not None} for row in csv.DictReader(stream)]
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as error:
            raise RunFolderError(f"{path} is damaged ({error}): it cannot be read") from None

    def normalization(self) -> Normalization | None:
        """The normalisation the run's batches used (None if the run recorded none)."""
        return self._statistics("normalization", Normalization)

    def target_normalization(self) -> TargetNormalization | None:
        """The mean and std the run standardised its regression targets by (None: a
        classifier, a run that kept the targets as they were, or one from before)."""
        return self._statistics("target_normalization", TargetNormalization)

    def _statistics(self, key: str, kind: type):
        values = self.read_config().get(key)
        if values is None:
            return None
        try:
            statistics = kind(mean=[float(v) for v in values["mean"]], std=[float(v) for v in values["std"]])
        except (TypeError, KeyError, ValueError):
            raise RunFolderError(f"{self.config_file} is damaged: its {key} needs a mean and a std, "
                                 "lists of numbers") from None
        if len(statistics.mean) != len(statistics.std) or not all(v > 0 for v in statistics.std):
            raise RunFolderError(f"{self.config_file} is damaged: its {key} needs as many positive "
                                 "std values as mean values")
        return statistics

    def drawing_style(self) -> DrawingStyle | None:
        """How the run's training images draw (None for other data, or a run from before
        it was recorded): the Try-it pad prepares drawings to look like them."""
        values = self.read_config().get("drawing_style")
        if values is None:
            return None
        try:
            return DrawingStyle.from_dict(values, f"{self.config_file}'s drawing_style")
        except PyTorchGUIError as error:
            raise RunFolderError(str(error)) from None

    def classes(self) -> list[str] | None:
        classes = self.read_config().get("classes")
        if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
            raise RunFolderError(f"{self.config_file} is damaged: classes must be a list of names")
        return classes

    def tokenizer(self):
        """The tokenizer of a run trained on text (None for other data)."""
        path = self.config_file.parent / self.TOKENIZER
        return Tokenizer.load(path) if path.is_file() else None

    def load_network(self):
        return network_format.load(self.file(self.NETWORK))

    def weights_file(self, which: str = "best") -> Path:
        """best_weights.pt, or last_weights.pt for which="last" (or when there is no best)."""
        best, last = self.file(self.BEST_WEIGHTS), self.file(self.LAST_WEIGHTS)
        chosen = best if which == "best" and best.is_file() else last
        if not chosen.is_file():
            raise RunFolderError(f"{self.path} has no weights yet: the run ended before its first epoch")
        return chosen

    def summary_row(self) -> dict[str, Any]:
        """The figures the runs table shows; an unreadable summary reads as incomplete."""
        try:
            summary = self.read_summary()
        except RunFolderError:
            summary = {"status": "incomplete"}
        return {"path": self.path, "name": self.name, **summary}


@dataclass
class ConfusionHistory:
    """Every epoch's predictions on the validation set: the matrix at any epoch, and which
    samples were in a cell then."""

    epochs: list[int]
    predictions: Any  # numpy int array [epochs, samples]
    targets: Any  # numpy int array [samples]
    classes: list[str] | None

    @property
    def class_count(self) -> int:
        if self.classes:
            return len(self.classes)
        return int(max(self.targets.max(initial=0), self.predictions.max(initial=0))) + 1

    def _row(self, epoch: int):
        if epoch not in self.epochs:
            raise RunFolderError(f"the run has no predictions for epoch {epoch}")
        return self.predictions[self.epochs.index(epoch)]

    def matrix(self, epoch: int):
        """Counts [true class, predicted class] at `epoch`."""
        count = self.class_count
        counts = numpy.zeros((count, count), dtype=numpy.int64)
        numpy.add.at(counts, (self.targets, self._row(epoch)), 1)
        return counts

    def accuracy(self, epoch: int) -> float:
        return float((self._row(epoch) == self.targets).mean())

    def cell(self, epoch: int, true_class: int, predicted_class: int) -> list[int]:
        """The validation samples (indices) that were in this cell at `epoch`."""
        row = self._row(epoch)
        return numpy.flatnonzero((self.targets == true_class) & (row == predicted_class)).tolist()


def run_folders(base: Path) -> list[RunFolder]:
    """Every run folder under `base`, newest first (their names start with the time)."""
    if not base.is_dir():
        return []
    return [RunFolder(folder) for folder in sorted((p for p in base.iterdir() if p.is_dir()), reverse=True)]


def list_runs(base: Path) -> list[dict[str, Any]]:
    """Every run folder under `base`, newest first, with its summary (for the runs table)."""
    return [folder.summary_row() for folder in run_folders(base)]


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    return RunFolder(run_dir).read_metrics()


def normalization_dict(normalization) -> dict[str, Any] | None:
    return asdict(normalization) if normalization is not None else None


def split_dict(split_part) -> dict[str, Any] | None:
    """A validation split as config.json records it: the dataset split, the percent and the seed."""
    if split_part is None or split_part.part != "validation":
        return None
    return {"whole": split_part.whole, "samples": split_part.samples, "percent": split_part.percent,
            "seed": split_part.seed}

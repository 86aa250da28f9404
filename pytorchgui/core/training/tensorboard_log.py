"""TensorBoard event files in the run folder, so that `tensorboard --logdir RUNS` shows the
runs of the window and of the CLI alike (and a sweep's trials in its HParams view).

Written with torch.utils.tensorboard, which needs the `tensorboard` package (the
`tensorboard` extra). Without it, or with PYTORCHGUI_TENSORBOARD=0, nothing is written.
The files are a view of the run, never part of it: a write that fails is said once in
the run's log and the run goes on without them.

What a run writes, at each epoch (the step):
    loss/train, loss/validation        the columns train_loss, validation_loss of metrics.csv
    loss/train.NODE, ...               each output's loss, for a network with several
    accuracy/train, accuracy/validation
    learning_rate, seconds_per_epoch
    confusion_matrix/validation        an image, at each epoch with validation predictions
and once: the network's graph (traced on one batch) and the class order of the matrix.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy
import torch

from pytorchgui.core.errors import first_line
from pytorchgui.core.graph.compiler import forward_inputs
from pytorchgui.core.training.runs import RunFolder, RunFolderError

SWITCH = "PYTORCHGUI_TENSORBOARD"  # "0": write no event files, even with tensorboard installed

# metrics.csv's columns and their tags: "section/name" puts a run's train and validation
# figures side by side in one section of TensorBoard's Scalars view
SCALAR_TAGS = {
    "train_loss": "loss/train",
    "validation_loss": "loss/validation",
    "train_accuracy": "accuracy/train",
    "validation_accuracy": "accuracy/validation",
    "learning_rate": "learning_rate",
    "seconds": "seconds_per_epoch",
}
CONFUSION_TAG = "confusion_matrix/validation"
HPARAMS_METRIC_SECTION = "hparams"  # a sweep's objective figures: hparams/validation_accuracy, ...

CONFUSION_PIXELS = 320  # about the matrix image's side (a cell is 1 pixel at least)
CONFUSION_COLOUR = numpy.array([28, 126, 214], dtype=numpy.float32)  # the figures' blue, #1c7ed6
GRID_GREY = 222


def scalar_tag(column: str) -> str | None:
    """The tag of a metrics.csv column: "train_loss" -> "loss/train", "train_loss.aux" ->
    "loss/train.aux"; None for what is not a figure of the epoch (its number, the run's epochs)."""
    base, dot, output = column.partition(".")
    return SCALAR_TAGS[base] + dot + output if base in SCALAR_TAGS else None


def summary_writer_class():
    """torch's SummaryWriter, or None when tensorboard is not installed or switched off."""
    if os.environ.get(SWITCH, "").strip() == "0":
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch.utils.tensorboard says so when the tensorboard package is missing
        return None
    return SummaryWriter


class TensorBoardLog:
    """The event files of one run. A log opened without TensorBoard (or `TensorBoardLog()`)
    writes nothing, so the trainer calls it the same way in every case."""

    def __init__(self, writer=None, log: Callable[[str], None] = lambda message: None):
        self.writer = writer
        self.log = log
        self.classes_said = False

    @classmethod
    def open(cls, run_dir: Path, start_epoch: int, log: Callable[[str], None]) -> "TensorBoardLog":
        """The log of the run folder `run_dir`. A run resumed at `start_epoch` appends to
        the folder's files and hides what an earlier run wrote from that epoch on (an
        epoch it had begun to log when it stopped)."""
        writer_class = summary_writer_class()
        if writer_class is None:
            return cls(log=log)
        try:
            writer = writer_class(log_dir=str(run_dir), purge_step=start_epoch if start_epoch > 1 else None)
        except Exception as error:  # a broken install or an unwritable folder: the run goes on without it
            log(f"TensorBoard files are not written: {first_line(error)}")
            return cls(log=log)
        return cls(writer, log)

    def _guarded(self, what: str, write: Callable[[], None]) -> None:
        """Run `write`; if it fails, say so once and write no more (the run is not failed)."""
        if self.writer is None:
            return
        try:
            write()
        except Exception as error:
            self.log(f"TensorBoard files are no longer written ({what}: {first_line(error)})")
            self.close()

    def write_graph(self, model: torch.nn.Module, batches: Iterable) -> None:
        """The network's graph, traced on the first batch of `batches` (lazy: nothing is
        read when no file is written). A network that cannot be traced is noted and left out."""
        if self.writer is None:
            return
        try:
            x, _ = next(iter(batches))
            rng = torch.get_rng_state()  # the trace runs the model once: the run's random state stays as it was
            try:
                # add_graph prints a failed trace's whole error on stdout (the log gets one line), and
                # torch.jit.trace warns of its deprecation and of every data-dependent branch
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    self.writer.add_graph(model, forward_inputs(x))
            finally:
                torch.set_rng_state(rng)
        except Exception as error:  # tracing fails on some networks (data-dependent control flow)
            self.log(f"TensorBoard: the graph is left out, the network could not be traced ({first_line(error)})")

    def write_epoch(self, row: dict[str, Any]) -> None:
        """An epoch's figures (a history row, as metrics.csv holds it) as scalars at step `epoch`."""
        def write():
            epoch = int(row["epoch"])
            for column, value in row.items():
                tag = scalar_tag(column)
                if tag is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.writer.add_scalar(tag, value, epoch)
            self.writer.flush()  # TensorBoard shows the epoch while the run goes on
        self._guarded("the epoch's figures", write)

    def write_confusion(self, epoch: int, predictions, targets, classes: list[str] | None) -> None:
        """The validation confusion matrix at `epoch` as an image (rows: true class, columns:
        predicted, each row scaled to its class's count); the class order once, as text."""
        def write():
            count = max(len(classes or ()), int(numpy.max(targets, initial=0)) + 1,
                        int(numpy.max(predictions, initial=0)) + 1)
            if not self.classes_said:
                names = classes if classes and len(classes) == count else [str(index) for index in range(count)]
                self.writer.add_text(CONFUSION_TAG, "Rows: true class, columns: predicted class, each row scaled to "
                                     "its class's count. Classes in order: " + ", ".join(names), epoch)
                self.classes_said = True
            self.writer.add_image(CONFUSION_TAG, confusion_image(predictions, targets, count), epoch,
                                  dataformats="HWC")
        self._guarded("the confusion matrix", write)

    def close(self) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:
            writer.close()
        except Exception as error:
            self.log(f"TensorBoard files may be incomplete: {first_line(error)}")


def confusion_image(predictions, targets, count: int) -> numpy.ndarray:
    """The confusion matrix as an RGB image [height, width, 3] of uint8: white to blue by
    the share of each true class predicted as each class, about 320 pixels wide (cells of
    1 pixel at least), with a grey grid between cells of 8 pixels or more. Drawn with
    numpy, in 7 ms with its PNG: a labelled matplotlib figure took 0.17 s, a quarter of
    LeNet-5's epoch on 2,000 images."""
    counts = numpy.zeros((count, count), dtype=numpy.float32)
    numpy.add.at(counts, (numpy.asarray(targets, dtype=numpy.int64), numpy.asarray(predictions, dtype=numpy.int64)),
                 1)
    shares = counts / numpy.maximum(counts.sum(axis=1, keepdims=True), 1)
    cell = max(1, CONFUSION_PIXELS // count)
    white = numpy.float32(255)
    colours = white - shares[..., None] * (white - CONFUSION_COLOUR)  # [count, count, 3]
    image = numpy.repeat(numpy.repeat(colours, cell, axis=0), cell, axis=1).round().astype(numpy.uint8)
    if cell >= 8:
        image[cell - 1::cell, :, :] = GRID_GREY
        image[:, cell - 1::cell, :] = GRID_GREY
    return image


def write_hparams(run_dir: str | os.PathLike, values: dict[str, Any], metrics: dict[str, float | None]) -> bool:
    """A sweep's trial as TensorBoard HParams: the swept `values` and the objective's
    `metrics` ({"validation_accuracy": ..., "validation_loss": ...}), written into the
    trial's own run folder. False when nothing is written (no tensorboard, switched off,
    no such folder, a write that failed: the trial itself is not failed by it).

    SummaryWriter.add_hparams would write them into a new sub-folder, which TensorBoard
    lists as a second run of each trial, apart from its curves. Written into the run
    folder itself, the trial is one run: the HParams view links it to its scalars and
    graph. The metrics go under their own tags (hparams/validation_accuracy, ...), at the
    run's last epoch, so the HParams view shows exactly the figures the sweep scored."""
    writer_class = summary_writer_class()
    run_dir = Path(run_dir)
    if writer_class is None or not run_dir.is_dir():
        return False
    from torch.utils.tensorboard.summary import hparams

    tags = {f"{HPARAMS_METRIC_SECTION}/{name}": value for name, value in metrics.items()
            if isinstance(value, (int, float)) and math.isfinite(value)}
    experiment, session_start, session_end = hparams({name: _hparam_value(value) for name, value in values.items()},
                                                      tags)
    step = _last_epoch(run_dir)
    try:
        with writer_class(log_dir=str(run_dir)) as writer:
            for summary in (experiment, session_start, session_end):
                writer.file_writer.add_summary(summary, step)
            for tag, value in tags.items():
                writer.add_scalar(tag, value, step)
    except Exception:  # a full disk, a folder made read-only: the trial's figures are in trials.csv anyway
        return False
    return True


def _hparam_value(value):
    """HParams take numbers, strings and booleans; anything else (None, a tuple) as its text."""
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _last_epoch(run_dir: Path) -> int:
    try:
        return len(RunFolder(run_dir).read_metrics())
    except RunFolderError:
        return 0

"""The Evaluation tab's *By epoch* page: a run's validation confusion matrix at any epoch.

A run keeps every epoch's predictions on its validation set (runs.ConfusionHistory). A
slider picks the epoch; a click on a cell shows the samples that were in it then (when
the validation set is open in the Data tab); *Compare with* another run shows the two
runs' last matrices subtracted. A running run's new epochs appear as they are written.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5 import QtCore, QtWidgets

from pytorchgui import paths
from pytorchgui.core.data import datasets
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training.runs import ConfusionHistory, RunFolder, list_runs
from pytorchgui.core.wording import counted
from pytorchgui.core.workspace import Workspace
from pytorchgui.gui.confusion_plot import ConfusionMatrixPlot
from pytorchgui.gui.widgets import ImageGrid


class ConfusionHistoryView(QtWidgets.QWidget):
    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("confusionHistory")
        self.workspace = workspace
        self.history: ConfusionHistory | None = None
        self.folder: RunFolder | None = None
        self._stamp: float | None = None  # the predictions file's time when read
        self.run_combo = QtWidgets.QComboBox()
        self.run_combo.setObjectName("historyRunCombo")
        self.run_combo.currentIndexChanged.connect(self.load_run)
        self.compare_combo = QtWidgets.QComboBox()
        self.compare_combo.setObjectName("historyCompareCombo")
        self.compare_combo.currentIndexChanged.connect(self.show_epoch)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setObjectName("historySlider")
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self.show_epoch)
        self.label = QtWidgets.QLabel()
        self.label.setObjectName("historyLabel")
        self.label.setWordWrap(True)
        self.plot = ConfusionMatrixPlot("Validation matrix at this epoch",
                                        "No confusion history: train a classifier with validation data.")
        self.plot.setObjectName("historyPlot")
        self.plot.cell_clicked.connect(self.show_cell)
        self.difference = ConfusionMatrixPlot("Last epoch: this run minus the other", "", diverging=True)
        self.difference.setObjectName("historyDifference")
        self.difference.hide()
        self.gallery_title = QtWidgets.QLabel("Click a cell to see its samples at that epoch.")
        self.gallery_title.setWordWrap(True)
        self.gallery = ImageGrid(6, "historyGallery")
        top = QtWidgets.QFormLayout()
        top.addRow("Run", self.run_combo)
        top.addRow("Epoch", self.slider)
        top.addRow("Compare with", self.compare_combo)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.label)
        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.plot, 1)
        plots.addWidget(self.difference, 1)
        layout.addLayout(plots, 3)
        layout.addWidget(self.gallery_title)
        layout.addWidget(self.gallery, 1)
        self._poll = QtCore.QTimer(self, interval=2000)  # a running run writes a new epoch now and then
        self._poll.timeout.connect(self._reload_if_changed)
        self.refresh_runs()

    # -- runs ------------------------------------------------------------------------
    def refresh_runs(self, select: Path | None = None) -> None:
        """The runs that kept a confusion history, newest first (or `select`)."""
        current = select or self.run_combo.currentData()
        runs = [run for run in list_runs(paths.runs_dir())
                if (Path(run["path"]) / RunFolder.PREDICTIONS).is_file()]
        for combo, first in ((self.run_combo, None), (self.compare_combo, "—")):
            blocker = QtCore.QSignalBlocker(combo)
            previous = combo.currentData()
            combo.clear()
            if first is not None:
                combo.addItem(first, None)
            for run in runs:
                combo.addItem(run["name"], Path(run["path"]))
            index = combo.findData(current if combo is self.run_combo else previous)
            combo.setCurrentIndex(max(index, 0))
            del blocker
        self.load_run()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._poll.start()
        self.refresh_runs()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._poll.stop()

    def _reload_if_changed(self) -> None:
        if self.folder is None:
            return
        path = self.folder.file(RunFolder.PREDICTIONS)
        stamp = path.stat().st_mtime if path.is_file() else None
        if stamp != self._stamp:
            at_end = self.slider.value() == self.slider.maximum()
            self.load_run(keep_epoch=not at_end)

    def load_run(self, *_, keep_epoch: bool = False) -> None:
        path = self.run_combo.currentData()
        self.history, self.folder = None, RunFolder(path) if path else None
        if self.folder is not None:
            try:
                self.history = self.folder.read_predictions()
                predictions = self.folder.file(RunFolder.PREDICTIONS)
                self._stamp = predictions.stat().st_mtime if predictions.is_file() else None
            except (PyTorchGUIError, OSError) as error:
                self.label.setText(f"<span style='color:#c92a2a'>{error}</span>")
        shown = self.history is not None and bool(self.history.epochs)
        for widget in (self.slider, self.compare_combo):
            widget.setEnabled(shown)
        if shown:
            blocker = QtCore.QSignalBlocker(self.slider)
            value = self.slider.value()
            self.slider.setRange(0, len(self.history.epochs) - 1)
            self.slider.setValue(min(value, self.slider.maximum()) if keep_epoch else self.slider.maximum())
            del blocker
        self.show_epoch()

    # -- showing -----------------------------------------------------------------------
    @property
    def epoch(self) -> int | None:
        return self.history.epochs[self.slider.value()] if self.history is not None and self.history.epochs else None

    def show_epoch(self, *_) -> None:
        history, epoch = self.history, self.epoch
        if epoch is None:
            self.plot.show_matrix(None, None)
            self.difference.hide()
            if self.folder is None:
                self.label.setText("No run with a confusion history yet: train a classifier with validation data.")
            return
        self.plot.show_matrix(history.matrix(epoch), history.classes)
        self.label.setText(f"Epoch <b>{epoch}</b> of {history.epochs[-1]} · validation accuracy "
                           f"<b>{history.accuracy(epoch):.1%}</b> · {len(history.targets):,} samples")
        self._show_difference()

    def _show_difference(self) -> None:
        other_path = self.compare_combo.currentData()
        self.difference.setVisible(other_path is not None)
        if other_path is None:
            return
        other = RunFolder(other_path).read_predictions()
        history = self.history
        if other is None or other.targets.shape != history.targets.shape or (other.targets != history.targets).any():
            self.difference.show_matrix(None, None)
            self.label.setText(self.label.text() + "<br>The other run was validated on other samples: its matrix "
                               "cannot be subtracted.")
            return
        self.difference.show_matrix(history.matrix(history.epochs[-1]) - other.matrix(other.epochs[-1]),
                                    history.classes)
        self.label.setText(self.label.text() + f"<br>Last epochs: {history.accuracy(history.epochs[-1]):.1%} here, "
                           f"{other.accuracy(other.epochs[-1]):.1%} in {other_path.name}")

    def validation_dataset(self):
        """The run's validation set if it is open in the Data tab (same name, same size)."""
        try:
            name = self.folder.read_config().get("validation_set")
        except PyTorchGUIError:
            return None
        for entry in self.workspace.datasets:
            dataset = entry.dataset
            if dataset.name == name and len(dataset) == len(self.history.targets):
                return dataset
        return None

    def show_cell(self, true_class: int, predicted_class: int) -> list[int]:
        """The samples in a cell at the shown epoch, as pictures when the set is open."""
        epoch = self.epoch
        if epoch is None:
            return []
        indices = self.history.cell(epoch, true_class, predicted_class)
        classes = self.history.classes or [str(i) for i in range(self.history.class_count)]
        self.gallery.clear()
        title = (f"Epoch {epoch}: true {classes[true_class]}, predicted {classes[predicted_class]}: "
                 f"{counted(len(indices), 'sample')}")
        dataset = self.validation_dataset()
        if not isinstance(dataset, datasets.TensorDataset) or dataset.kind != "image":
            shown = ", ".join(map(str, indices[:40])) + (" …" if len(indices) > 40 else "")
            self.gallery_title.setText(f"{title} (open the run's validation set in the Data tab to see them): "
                                       f"{shown}")
            return indices
        self.gallery_title.setText(title)
        for index in indices[:60]:
            self.gallery.add(datasets.preview_array(dataset, index), f"sample {index}")
        return indices

"""Find learning rate: the range test (core/lr_finder.py) run on a thread, its curve drawn
as it comes (loss against a log learning-rate axis), the suggestion marked, and one click
that sets it as the optimizer's learning rate (an undoable edit of the network)."""
from __future__ import annotations

import math

import pyqtgraph
from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training.lr_finder import LearningRateCurve, find_learning_rate
from pytorchgui.core.training.tasks import Cancelled
from pytorchgui.core.workspace import Workspace
from pytorchgui.gui.plot_axes import PlainAxis, ScientificAxis
from pytorchgui.gui.workers import Task


class LearningRateDialog(QtWidgets.QDialog):
    applied = QtCore.pyqtSignal(float)

    def __init__(self, workspace: Workspace, dataset, *, batch_size: int, device: str,
                 parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Find the learning rate")
        self.setObjectName("learningRateDialog")
        self.workspace = workspace
        self.curve: LearningRateCurve | None = None
        self._rates: list[float] = []
        self._losses: list[float] = []
        layout = QtWidgets.QVBoxLayout(self)
        self.label = QtWidgets.QLabel(
            f"Training a fresh copy of the network on {dataset.name} for up to 100 batches of {batch_size}, the "
            "learning rate growing from 1e-7 to 10. Your network is not changed.")
        self.label.setObjectName("learningRateLabel")
        self.label.setWordWrap(True)
        layout.addWidget(self.label)
        self.plot = pyqtgraph.PlotWidget(axisItems={"left": PlainAxis("left"), "bottom": ScientificAxis("bottom")})
        self.plot.setObjectName("learningRatePlot")
        self.plot.setBackground("w")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.loss_curve = self.plot.plot(pen=pyqtgraph.mkPen("#adb5bd", width=1))
        self.smooth_curve = self.plot.plot(pen=pyqtgraph.mkPen("#1c7ed6", width=2))
        self.marker = pyqtgraph.InfiniteLine(angle=90, pen=pyqtgraph.mkPen("#2b8a3e", width=2,
                                                                            style=QtCore.Qt.DashLine))
        self.marker.hide()
        self.plot.addItem(self.marker)
        layout.addWidget(self.plot, 1)
        buttons = QtWidgets.QDialogButtonBox()
        self.apply_button = buttons.addButton("Apply", QtWidgets.QDialogButtonBox.AcceptRole)
        self.apply_button.setObjectName("applyLearningRateButton")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.close_button = buttons.addButton("Stop", QtWidgets.QDialogButtonBox.RejectRole)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, 460)
        network = workspace.network.copy()  # read on the worker thread: a snapshot, not the live network

        def job(control):
            def on_step(step: int, rate: float, loss: float) -> None:
                control.report((rate, loss))

            return find_learning_rate(network, dataset, batch_size=batch_size, device=device, on_step=on_step,
                                      cancelled=lambda: control.cancelled)

        self.task = Task(self, job, 100)
        self.task.reported.connect(self._reported)
        self.task.finished.connect(self._finished)
        self.task.failed.connect(self._failed)
        self.task.start()

    def _reported(self, points: list) -> None:
        for rate, loss in points:
            self._rates.append(rate)
            self._losses.append(loss)
        self.loss_curve.setData(self._rates, self._losses)

    def _finished(self, curve: LearningRateCurve) -> None:
        self.curve = curve
        self.close_button.setText("Close")
        self.loss_curve.setData(curve.learning_rates, curve.losses)
        self.smooth_curve.setData(curve.learning_rates, curve.smoothed)
        if curve.smoothed:  # the diverging tail would squash the interesting part
            low, high = min(curve.smoothed), min(max(curve.smoothed), 3 * min(curve.smoothed))
            self.plot.setYRange(low - 0.05 * (high - low), high)
        if curve.suggested_lr is not None:
            self.marker.setValue(math.log10(curve.suggested_lr))
            self.marker.show()
            self.apply_button.setText(f"Apply lr = {curve.suggested_lr:.2g}")
            self.apply_button.setEnabled(True)
            self.label.setText(f"Suggested learning rate: <b>{curve.suggested_lr:.2g}</b>, where the smoothed loss "
                               "falls fastest." + (f" ({curve.message})" if curve.message else ""))
        else:
            self.label.setText(f"No suggestion: {curve.message}.")

    def _failed(self, error: Exception) -> None:
        if isinstance(error, Cancelled):
            return
        if not isinstance(error, PyTorchGUIError):
            raise error  # a bug: the global hook shows and logs it
        self.label.setText(f"<span style='color:#c92a2a'>Cannot run the range test: {error}</span>")
        self.close_button.setText("Close")

    def apply(self) -> None:
        """Set the suggestion as the optimizer's learning rate, as one undoable edit."""
        rate = float(f"{self.curve.suggested_lr:.2g}")
        network = self.workspace.network
        choice = network.optimizer
        self.workspace.document.apply(f"Set learning rate {rate:g}",
                                      lambda: network.set_optimizer(choice.type, {**choice.parameters, "lr": rate}))
        self.applied.emit(rate)
        self.accept()

    def done(self, result: int) -> None:
        if self.task.running:
            self.task.control.stop()
            self.task.wait()
        super().done(result)

"""The Train tab: settings, Start/Pause/Stop, live plots, the log and the run history.

The core Trainer runs on a QThread. Its events go into a queue that a 2 Hz timer on the
GUI thread drains: the plots are redrawn with setData twice a second, never once
per batch from the worker, so the window stays responsive however fast batches go, and
the redraws (Python code holding the interpreter lock) take little from training.
"""
from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy
import pyqtgraph
from PyQt5 import QtCore, QtWidgets

from pytorchgui import paths
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training import (LR_SCHEDULES, BatchEvent, EpochEvent, Trainer, TrainingConfig, TrainingControl,
                                      TrainingResult, available_devices, list_runs, load_checkpoint, new_run_dir,
                                      read_metrics, training_threads)
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.widgets import controls_beside, read_only_table, with_button

# 2 Hz. Measured on 2 cores (bench/bench_training.py): each redraw takes a core from the
# training threads, and at 4 Hz training ran at 0.77 of a plain loop, at 2 Hz at 1.0.
PLOT_INTERVAL_MS = 500
SMOOTHING = 0.95


def decimate(values: list[float], limit: int = 1500) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(x, y) of a long series as at most `limit` block means: the curve keeps its shape and
    redrawing it stays cheap (the GUI thread shares the interpreter with training)."""
    data = numpy.asarray(values, dtype=float)
    x = numpy.arange(1, len(data) + 1, dtype=float)
    if len(data) <= limit:
        return x, data
    block = -(-len(data) // limit)
    usable = len(data) // block * block
    return x[:usable].reshape(-1, block).mean(1), data[:usable].reshape(-1, block).mean(1)


class TrainingWorker(QtCore.QObject):
    finished = QtCore.pyqtSignal(object)
    failed = QtCore.pyqtSignal(object)

    def __init__(self, trainer: Trainer):
        super().__init__()
        self.trainer = trainer

    def run(self) -> None:
        import torch

        torch.set_num_threads(training_threads())
        try:
            result = self.trainer.run()
        except Exception as error:  # noqa: BLE001 - the GUI thread shows it
            self.failed.emit(error)
        else:
            self.finished.emit(result)


def _plot(title: str, left: str) -> pyqtgraph.PlotWidget:
    plot = pyqtgraph.PlotWidget(title=title)
    plot.setBackground("w")
    plot.showGrid(x=True, y=True, alpha=0.3)
    plot.setLabel("left", left)
    plot.addLegend(offset=(-10, 10))
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    return plot


class TrainTab(QtWidgets.QWidget):
    training_finished = QtCore.pyqtSignal(object)  # TrainingResult
    change_network_requested = QtCore.pyqtSignal()

    def __init__(self, network_tab, data_tab, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.network_tab, self.data_tab = network_tab, data_tab
        self.network = network_tab.network
        self.control: TrainingControl | None = None
        self.thread: QtCore.QThread | None = None
        self.events: collections.deque = collections.deque()
        self.result: TrainingResult | None = None
        self._build()
        self.timer = QtCore.QTimer(self, interval=PLOT_INTERVAL_MS)
        self.timer.timeout.connect(self.drain_events)
        self.data_tab.datasets_changed.connect(self.update_sets)
        self.network.subscribe(lambda event: self._update_network_label())
        self.update_sets()
        self._update_network_label()
        self.refresh_runs()
        self._set_running(False)

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(controls)

        def group(title: str) -> QtWidgets.QFormLayout:
            box = QtWidgets.QGroupBox(title)
            form = QtWidgets.QFormLayout(box)
            column.addWidget(box)
            return form

        def spin(low, high, value, name, double=False) -> QtWidgets.QAbstractSpinBox:
            widget = QtWidgets.QDoubleSpinBox() if double else QtWidgets.QSpinBox()
            widget.setRange(low, high)
            if double:
                widget.setDecimals(3)
            widget.setValue(value)
            widget.setObjectName(name)
            return widget

        data = group("Data")
        self.train_combo = QtWidgets.QComboBox()
        self.train_combo.setObjectName("trainSetCombo")
        self.validation_combo = QtWidgets.QComboBox()
        self.validation_combo.setObjectName("validationSetCombo")
        data.addRow("Training set", self.train_combo)
        data.addRow("Validation", self.validation_combo)

        settings = group("Settings")
        self.epochs_spin = spin(1, 100000, 5, "epochsSpin")
        self.batch_spin = spin(1, 65536, 128, "batchSizeSpin")
        self.workers_spin = spin(0, 64, 0, "workersSpin")
        self.workers_spin.setToolTip("Loader processes for folders streamed from disk; in-memory sets need none")
        self.device_combo = QtWidgets.QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        for device, label in available_devices():
            self.device_combo.addItem(label, device)
        self.seed_spin = spin(0, 2**31 - 1, 0, "seedSpin")
        for label, widget in (("Epochs", self.epochs_spin), ("Batch size", self.batch_spin),
                              ("Workers", self.workers_spin), ("Device", self.device_combo), ("Seed", self.seed_spin)):
            settings.addRow(label, widget)

        options = group("Options")
        self.schedule_combo = QtWidgets.QComboBox()
        self.schedule_combo.setObjectName("scheduleCombo")
        self.schedule_combo.addItems(LR_SCHEDULES)
        self.step_spin = spin(1, 1000, 5, "stepSizeSpin")
        self.gamma_spin = spin(0.001, 1.0, 0.1, "gammaSpin", double=True)
        self.patience_spin = spin(0, 1000, 0, "patienceSpin")
        self.patience_spin.setSpecialValueText("off")
        self.clip_spin = spin(0.0, 1000.0, 0.0, "clipSpin", double=True)
        self.clip_spin.setSpecialValueText("off")
        self.bf16_check = QtWidgets.QCheckBox("Mixed precision (bfloat16)")
        self.channels_last_check = QtWidgets.QCheckBox("channels_last memory layout")
        self.channels_last_check.setToolTip("Faster convolutions on many CPUs and GPUs")
        self.crop_spin = spin(0, 64, 0, "cropSpin")
        self.crop_spin.setSpecialValueText("off")
        self.flip_check = QtWidgets.QCheckBox("Random horizontal flip")
        for label, widget in (("LR schedule", self.schedule_combo), ("Step (epochs)", self.step_spin),
                              ("Gamma", self.gamma_spin), ("Early stopping", self.patience_spin),
                              ("Gradient clip", self.clip_spin), ("Random crop pad", self.crop_spin)):
            options.addRow(label, widget)
        for widget in (self.bf16_check, self.channels_last_check, self.flip_check):
            options.addRow(widget)

        network = group("Network")
        self.network_label = QtWidgets.QLabel()
        self.network_label.setObjectName("networkLabel")
        self.network_label.setWordWrap(True)
        change = QtWidgets.QPushButton("Change loss or optimizer…")
        change.clicked.connect(self.change_network_requested)
        network.addRow(self.network_label)
        network.addRow(change)

        buttons = QtWidgets.QGridLayout()
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("startButton")
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QtWidgets.QPushButton("Resume from checkpoint…")
        self.resume_button.setObjectName("resumeCheckpointButton")
        self.resume_button.clicked.connect(self.resume_from_checkpoint)
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.pause_button, 0, 1)
        buttons.addWidget(self.stop_button, 0, 2)
        buttons.addWidget(self.resume_button, 1, 0, 1, 3)
        self.cluster_button = QtWidgets.QPushButton("Run on a cluster…")
        self.cluster_button.setObjectName("clusterButton")
        self.cluster_button.setToolTip("The command line that trains this network with these settings with torchrun")
        self.cluster_button.clicked.connect(self.show_cluster_command)
        buttons.addWidget(self.cluster_button, 2, 0, 1, 3)
        column.addLayout(buttons)
        column.addStretch(1)

        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("epochProgress")
        self.progress.setFormat("Ready")
        self.progress_label = QtWidgets.QLabel("Press Start to train the network on the training set.")
        self.progress_label.setObjectName("progressLabel")
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.progress_label)
        plots = QtWidgets.QGridLayout()
        self.batch_plot = _plot("Loss per batch", "loss")
        self.epoch_plot = _plot("Loss per epoch", "loss")
        self.accuracy_plot = _plot("Accuracy per epoch", "accuracy")
        self.lr_plot = _plot("Learning rate", "lr")
        for plot in (self.epoch_plot, self.accuracy_plot, self.lr_plot):
            plot.setLabel("bottom", "epoch")
        self.batch_plot.setLabel("bottom", "batch")
        self.batch_curve = self.batch_plot.plot(pen=pyqtgraph.mkPen("#adb5bd", width=1), name="batch")
        self.smooth_curve = self.batch_plot.plot(pen=pyqtgraph.mkPen("#1c7ed6", width=2), name="smoothed")
        self.train_loss_curve = self.epoch_plot.plot(pen=pyqtgraph.mkPen("#1c7ed6", width=2), symbol="o", symbolSize=5,
                                                     name="train")
        self.val_loss_curve = self.epoch_plot.plot(pen=pyqtgraph.mkPen("#e8590c", width=2), symbol="s", symbolSize=5,
                                                   name="validation")
        self.train_acc_curve = self.accuracy_plot.plot(pen=pyqtgraph.mkPen("#1c7ed6", width=2), symbol="o",
                                                       symbolSize=5, name="train")
        self.val_acc_curve = self.accuracy_plot.plot(pen=pyqtgraph.mkPen("#e8590c", width=2), symbol="s",
                                                     symbolSize=5, name="validation")
        self.lr_curve = self.lr_plot.plot(pen=pyqtgraph.mkPen("#2b8a3e", width=2), symbol="o", symbolSize=5)
        plots.addWidget(self.batch_plot, 0, 0)
        plots.addWidget(self.epoch_plot, 0, 1)
        plots.addWidget(self.accuracy_plot, 1, 0)
        plots.addWidget(self.lr_plot, 1, 1)
        plot_box = QtWidgets.QWidget()
        plot_box.setLayout(plots)
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setObjectName("logView")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.runs_table = read_only_table(["Run", "Status", "Epochs", "Train loss", "Val. loss", "Val. acc."],
                                          "runsTable", stretch=0)
        runs_box = with_button(self.runs_table, "Overlay selected runs", "overlayButton", self.overlay_selected_runs)
        self.bottom_tabs = QtWidgets.QTabWidget()
        self.bottom_tabs.addTab(self.log_view, "Log")
        self.bottom_tabs.addTab(runs_box, "Runs")
        split = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        split.addWidget(plot_box)
        split.addWidget(self.bottom_tabs)
        split.setSizes([560, 200])
        right_layout.addWidget(split, 1)
        controls_beside(self, controls, right, 370)

    # -- model -> view -----------------------------------------------------------------
    def update_sets(self) -> None:
        current = self.train_combo.currentText()
        self.train_combo.clear()
        for dataset in self.data_tab.training_sets():
            self.train_combo.addItem(dataset.name, dataset)
        index = self.train_combo.findText(current)
        self.train_combo.setCurrentIndex(index if index >= 0 else self.train_combo.count() - 1)
        self.validation_combo.clear()
        self.validation_combo.addItem("None", None)
        self.validation_combo.addItem("Split of the training set", "split")
        for dataset in self.data_tab.datasets:
            if dataset.mode != "train":
                self.validation_combo.addItem(dataset.name, dataset)
        self.validation_combo.setCurrentIndex(1)

    def _update_network_label(self) -> None:
        loss = self.network.loss.type if self.network.loss else "not set"
        optimizer = self.network.optimizer
        described = f"{optimizer.type} (lr={optimizer.parameters.get('lr', '?')})" if optimizer else "not set"
        self.network_label.setText(f"Loss: <b>{loss}</b><br>Optimizer: <b>{described}</b>")

    def _config_widgets(self) -> dict[str, QtWidgets.QWidget]:
        """TrainingConfig field -> the widget that edits it (one table for both directions)."""
        return {"epochs": self.epochs_spin, "batch_size": self.batch_spin, "workers": self.workers_spin,
                "device": self.device_combo, "seed": self.seed_spin, "lr_schedule": self.schedule_combo,
                "step_size": self.step_spin, "gamma": self.gamma_spin, "early_stopping_patience": self.patience_spin,
                "gradient_clip": self.clip_spin, "mixed_precision": self.bf16_check,
                "channels_last": self.channels_last_check, "crop_padding": self.crop_spin,
                "horizontal_flip": self.flip_check}

    def config(self) -> TrainingConfig:
        values = {}
        for name, widget in self._config_widgets().items():
            if isinstance(widget, QtWidgets.QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, QtWidgets.QComboBox):
                values[name] = widget.currentData() if name == "device" else widget.currentText()
            else:
                values[name] = widget.value()
        return TrainingConfig(**values)

    def apply_config(self, config: TrainingConfig) -> None:
        for name, widget in self._config_widgets().items():
            value = getattr(config, name)
            if isinstance(widget, QtWidgets.QCheckBox):
                widget.setChecked(value)
            elif isinstance(widget, QtWidgets.QComboBox):
                index = widget.findData(value) if name == "device" else widget.findText(value)
                widget.setCurrentIndex(max(index, 0))
            else:
                widget.setValue(value)

    def log(self, message: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {message}")

    # -- running ---------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")

    def start(self, resume_from: str | None = None, run_dir: Path | None = None) -> bool:
        if self.thread is not None:
            return False
        train = self.train_combo.currentData()
        if train is None:
            show_error(self, "Nothing to train on", "Import a training set in the Data tab first (Built-in shapes "
                                                    "needs no file).")
            return False
        validation = self.validation_combo.currentData()
        if validation == "split":
            train, validation = train.split()
        report = self.network_tab.report
        if report is not None and not report.ok:
            show_error(self, "The network does not compile", "\n".join(p.message for p in report.problems[:8]))
            return False
        config = self.config()
        network = self.network.copy()  # the user may edit the network while it trains
        self.events.clear()
        self.control = TrainingControl()
        run_dir = run_dir or new_run_dir(paths.runs_dir(), self.network_tab.document.display_name.split(".")[0])
        trainer = Trainer(network, train, config, validation_set=validation, run_dir=run_dir,
                          on_event=self.events.append, control=self.control, resume_from=resume_from,
                          log=lambda message: self.events.append(("log", message)))
        self._reset_plots()
        self.batch_losses: list[float] = []
        self.smoothed: list[float] = []
        self.epoch_rows: list[EpochEvent] = []
        self.started_at = time.perf_counter()
        self.log(f"training {network.optimizer.type if network.optimizer else '?'} on {train.name} "
                 f"({len(train):,} samples), {config.epochs} epochs, batch {config.batch_size}, {config.device}; "
                 f"run folder {run_dir}")
        self.thread = QtCore.QThread(self)
        self.worker = TrainingWorker(trainer)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.thread.start()
        self.timer.start()
        self._set_running(True)
        return True

    def cluster_command(self) -> str:
        """`torchrun ... -m pytorchgui train ...` for the saved network and these settings."""
        path = self.network_tab.document.path
        if path is None or self.network_tab.document.is_modified:
            raise PyTorchGUIError("save the network first: the command line names its file")
        train = self.train_combo.currentData()
        if train is None or not train.spec:
            raise PyTorchGUIError("choose a training set imported from a source the command line can read")
        config = self.config()
        device = "cuda" if config.device.startswith("cuda") else "cpu"
        parts = ["torchrun", "--nproc-per-node", "gpu" if device == "cuda" else "2", "-m", "pytorchgui", "train",
                 str(path), "--data", train.spec]
        validation = self.validation_combo.currentData()
        if validation == "split" and train.validation_percent:
            parts += ["--val-split", f"{train.validation_percent:g}"]
        elif validation not in (None, "split") and validation.spec:
            parts += ["--test", validation.spec]
        parts += ["--epochs", str(config.epochs), "--batch-size", str(config.batch_size), "--device", device,
                  "--seed", str(config.seed), "--out", f"runs/{path.stem}"]
        if config.lr_schedule != "none":
            parts += ["--lr-schedule", config.lr_schedule, "--step-size", str(config.step_size), "--gamma",
                      f"{config.gamma:g}"]
        for flag, value in (("--early-stopping", config.early_stopping_patience), ("--clip", config.gradient_clip)):
            if value:
                parts += [flag, f"{value:g}"]
        for flag, on in (("--bf16", config.mixed_precision), ("--channels-last", config.channels_last)):
            if on:
                parts.append(flag)
        import shlex

        return shlex.join(parts)

    def show_cluster_command(self) -> None:
        try:
            command = self.cluster_command()
        except PyTorchGUIError as error:
            show_error(self, "Run on a cluster", str(error))
            return
        QtWidgets.QApplication.clipboard().setText(command)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Information, "Run on a cluster",
                                    "The command is on the clipboard. Run it where PyTorchGUI is installed "
                                    "(pip install .), from the folder that holds the data; on several machines add "
                                    "--nnodes N --rdzv-backend c10d --rdzv-endpoint HOST:29400.",
                                    QtWidgets.QMessageBox.Ok, self)
        box.setObjectName("clusterBox")
        box.setDetailedText(command)
        box.open()

    def toggle_pause(self) -> None:
        if self.control is None:
            return
        if self.control.paused:
            self.control.unpause()
            self.pause_button.setText("Pause")
            self.log("resumed")
        else:
            self.control.pause()
            self.pause_button.setText("Resume")
            self.progress.setFormat("Paused")
            self.log("paused")

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
            self.log("stopping…")

    def resume_from_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Resume from checkpoint", str(paths.runs_dir()),
                                                        "Checkpoints (checkpoint.pt);;All files (*)")
        if path:
            self.resume(Path(path))

    def resume(self, checkpoint: Path) -> bool:
        try:
            saved = load_checkpoint(checkpoint)
        except PyTorchGUIError as error:
            show_error(self, "Cannot resume", str(error))
            return False
        self.apply_config(TrainingConfig.from_dict(saved.get("config", {})))
        return self.start(resume_from=str(checkpoint), run_dir=checkpoint.parent)

    def _end(self) -> None:
        self.drain_events()
        self.timer.stop()
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
            self.thread = None
        self.control = None
        self._set_running(False)
        self.refresh_runs()

    def _finished(self, result: TrainingResult) -> None:
        self._end()
        self.result = result
        last = result.history[-1] if result.history else {}
        figures = ", ".join(f"{name} {last[key]:.4g}" for key, name in (
            ("train_loss", "train loss"), ("validation_loss", "val. loss"), ("validation_accuracy", "val. accuracy"))
            if last.get(key) is not None)
        text = {"finished": "Training finished", "stopped": "Training stopped",
                "early_stopped": "Training stopped early"}[result.status]
        message = f"{text} after {result.epochs_done} epoch(s): {figures}" if figures else text
        if result.message:
            self.log(result.message)
        self.log(message)
        self.progress.setFormat(text)
        self.notify(message)
        self.training_finished.emit(result)

    def _failed(self, error: Exception) -> None:
        self._end()
        self.progress.setFormat("Failed")
        if isinstance(error, PyTorchGUIError):
            self.log(f"failed: {error}")
            show_error(self, "Training stopped", str(error))
        else:
            raise error

    def notify(self, message: str) -> None:
        window = self.window()
        if isinstance(window, QtWidgets.QMainWindow):
            window.statusBar().showMessage(message, 15000)
        if QtWidgets.QSystemTrayIcon.isSystemTrayAvailable() and QtWidgets.QSystemTrayIcon.supportsMessages():
            tray = getattr(self, "_tray", None) or QtWidgets.QSystemTrayIcon(self.windowIcon(), self)
            self._tray = tray
            tray.show()
            tray.showMessage("PyTorchGUI", message)

    # -- plots -----------------------------------------------------------------------------
    def _reset_plots(self) -> None:
        for curve in (self.batch_curve, self.smooth_curve, self.train_loss_curve, self.val_loss_curve,
                      self.train_acc_curve, self.val_acc_curve, self.lr_curve):
            curve.setData([], [])
        for plot in (self.epoch_plot, self.accuracy_plot):
            for item in list(plot.listDataItems()):
                if getattr(item, "overlay", False):
                    plot.removeItem(item)
        self.progress.setValue(0)

    def drain_events(self) -> None:
        """Apply everything the worker reported since the last tick (at most 10 Hz)."""
        last_batch, new_epochs = None, False
        while self.events:
            event = self.events.popleft()
            if isinstance(event, BatchEvent):
                last_batch = event
                self.batch_losses.append(event.loss)
                previous = self.smoothed[-1] if self.smoothed else event.loss
                self.smoothed.append(SMOOTHING * previous + (1 - SMOOTHING) * event.loss)
            elif isinstance(event, EpochEvent):
                self.epoch_rows.append(event)
                new_epochs = True
                figures = f"train loss {event.train_loss:.4f}"
                if event.train_accuracy is not None:
                    figures += f", accuracy {event.train_accuracy:.1%}"
                if event.validation_loss is not None:
                    figures += f"; validation loss {event.validation_loss:.4f}"
                if event.validation_accuracy is not None:
                    figures += f", accuracy {event.validation_accuracy:.1%}"
                self.log(f"epoch {event.epoch}/{event.epochs}: {figures}; lr {event.learning_rate:.3g}; "
                         f"{event.seconds:.1f} s")
            elif isinstance(event, tuple) and event[0] == "log":
                self.log(event[1])
        if last_batch is not None:
            x, losses = decimate(self.batch_losses)
            self.batch_curve.setData(x, losses, skipFiniteCheck=True)
            self.smooth_curve.setData(*decimate(self.smoothed), skipFiniteCheck=True)
            self.progress.setMaximum(last_batch.batches)
            self.progress.setValue(last_batch.batch)
            left = (last_batch.batches - last_batch.batch) * self.batch_spin.value() / max(last_batch.images_per_second, 1)
            self.progress.setFormat(f"Epoch {last_batch.epoch}/{self.epochs_spin.value()}: batch {last_batch.batch}/"
                                    f"{last_batch.batches}")
            accuracy = f", running accuracy {last_batch.accuracy:.1%}" if last_batch.accuracy is not None else ""
            self.progress_label.setText(f"{last_batch.images_per_second:,.0f} images/s · epoch ends in "
                                        f"{left:.0f} s · loss {last_batch.loss:.4f}{accuracy}")
        if new_epochs:
            self._plot_epochs(self.epoch_rows)

    def _plot_epochs(self, rows: list[EpochEvent]) -> None:
        epochs = numpy.array([row.epoch for row in rows], dtype=float)

        def values(attribute):
            data = [getattr(row, attribute) for row in rows]
            return numpy.array([numpy.nan if v is None else v for v in data], dtype=float)

        for curve, attribute in ((self.train_loss_curve, "train_loss"), (self.val_loss_curve, "validation_loss"),
                                 (self.train_acc_curve, "train_accuracy"),
                                 (self.val_acc_curve, "validation_accuracy")):
            data = values(attribute)
            if numpy.isnan(data).all():  # no validation set, or a regression: nothing to draw
                curve.setData([], [])
            else:
                curve.setData(epochs, data, connect="finite")
        rates = values("learning_rate")
        self.lr_curve.setData(epochs, rates)
        if len(rates) and numpy.nanmax(rates) == numpy.nanmin(rates):  # a flat line: show it mid-plot, not at ±400
            self.lr_plot.setYRange(rates[0] * 0.5, rates[0] * 1.5)
        else:
            self.lr_plot.enableAutoRange(axis="y")

    # -- run history -------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self.runs = list_runs(paths.runs_dir())
        self.runs_table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            def figure(key, percent=False):
                value = run.get(key)
                return "" if value is None else (f"{value:.1%}" if percent else f"{value:.4f}")

            for column, text in enumerate((run["name"], run.get("status", ""), str(run.get("epochs_done", "")),
                                           figure("train_loss"), figure("validation_loss"),
                                           figure("validation_accuracy", True))):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(str(run["path"]))
                self.runs_table.setItem(row, column, item)

    def overlay_selected_runs(self) -> None:
        colours = ["#862e9c", "#2f9e44", "#f08c00", "#c2255c"]
        rows = sorted({index.row() for index in self.runs_table.selectionModel().selectedRows()})
        for number, row in enumerate(rows[:4]):
            run = self.runs[row]
            metrics = read_metrics(run["path"])
            if not metrics:
                continue
            epochs = numpy.array([m["epoch"] for m in metrics])
            pen = pyqtgraph.mkPen(colours[number], width=1.5, style=QtCore.Qt.DashLine)
            for plot, key in ((self.epoch_plot, "validation_loss"), (self.accuracy_plot, "validation_accuracy")):
                data = numpy.array([numpy.nan if m[key] is None else m[key] for m in metrics], dtype=float)
                if numpy.isnan(data).all():
                    key = key.replace("validation", "train")
                    data = numpy.array([numpy.nan if m[key] is None else m[key] for m in metrics], dtype=float)
                curve = plot.plot(epochs, data, pen=pen, name=f"{run['name'][-24:]} ({key.split('_')[0][:5]})",
                                  connect="finite")
                curve.overlay = True


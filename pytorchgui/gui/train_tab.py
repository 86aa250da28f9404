"""The Train tab: settings, Start/Pause/Stop, live plots, the log and the run history.

The core Trainer runs as a job of the one task adapter (gui/workers.py). Its reports are
handed to the GUI thread twice a second: the plots are redrawn with setData at that pace,
never once per batch from the worker, so the window stays responsive however fast
batches go, and the redraws (Python code holding the interpreter lock) take little from
training. The settings form is generated from core's training options.
"""
from __future__ import annotations

import shlex
import time
from pathlib import Path

import numpy
import pyqtgraph
from PyQt5 import QtCore, QtWidgets

from pytorchgui import paths
from pytorchgui.core.errors import PyTorchGUIError, TrainingError, first_line
from pytorchgui.core.training.options import TrainingConfig, command_line_arguments, option
from pytorchgui.core.training.run_comparison import distinguishing_labels, overview_rows, parse_tags
from pytorchgui.core.training.runs import RunFolder, load_checkpoint, read_metrics
from pytorchgui.core.training.smoothing import SmoothedLoss, batch_loss_smoothing
from pytorchgui.core.graph.shapes import infer_shapes, step_problems
from pytorchgui.core.training.tasks import LogEvent, TaskControl
from pytorchgui.core.training.histories import layer_warnings
from pytorchgui.core.training.trainer import (BatchEvent, EpochEvent, LayersRecordedEvent, SettingsChangedEvent, Trainer,
                                              TrainingResult, frozen_at_random, frozen_at_random_warning)
from pytorchgui.core.data.samples import sample_noun
from pytorchgui.core.wording import counted
from pytorchgui.core.workspace import DATASET_CHANGES, Change, DatasetEntry, Workspace
from pytorchgui.gui import dialogs
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.layer_histories import LayerHistoriesView
from pytorchgui.gui.paused_settings import PausedSettings
from pytorchgui.gui.plot_axes import CountAxis, PlainAxis, ScientificAxis
from pytorchgui.gui.runs_view import (EDITABLE_COLUMNS, NOTES_COLUMN, SORT_ROLE, RunsDiffDialog, confirm_delete,
                                      fill_runs_table, move_to_trash, row_path, run_items, runs_table)
from pytorchgui.gui.training_form import TrainingOptionsForm
from pytorchgui.gui.widgets import (add_choice, controls_beside, empty_note, message_label, notice,
                                   show_status, with_buttons)
from pytorchgui.gui.workers import Task

# 2 Hz. Measured on 2 cores (bench/bench_training.py): each redraw takes a core from the
# training threads, and at 4 Hz training ran at 0.77 of a plain loop, at 2 Hz at 1.0.
PLOT_INTERVAL_MS = 500


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


def _plot(title: str, left: str, bottom: str, left_axis: type[PlainAxis] = PlainAxis,
          legend_below: bool = False) -> pyqtgraph.PlotWidget:
    """A plot against a count (batches or epochs): whole-number ticks below, no SI factor on
    either axis. The legend sits in the top right corner, or the bottom right one for
    curves that rise (accuracy), where they would run under it."""
    plot = pyqtgraph.PlotWidget(title=title, axisItems={"left": left_axis("left"), "bottom": CountAxis("bottom")})
    plot.setBackground("w")
    plot.showGrid(x=True, y=True, alpha=0.3)
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.addLegend(offset=(-10, -10 if legend_below else 10))
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    return plot


def _train_and_validation_curves(plot: pyqtgraph.PlotWidget):
    """The blue training and orange validation curves of an epoch plot."""
    return (plot.plot(pen=pyqtgraph.mkPen("#1c7ed6", width=2), symbol="o", symbolSize=5, name="train"),
            plot.plot(pen=pyqtgraph.mkPen("#e8590c", width=2), symbol="s", symbolSize=5, name="validation"))



def _shown_value(value) -> str:
    """An option's value as the offer reads it: a switch is on or off (1 is a count, not on)."""
    return "on" if value is True else "off" if value is False else str(value)


def _option_label(name: str) -> str:
    try:
        return option(name).label.lower()
    except KeyError:  # schedule_parameters
        return name.replace("_", " ")

class TrainTab(QtWidgets.QWidget):
    """Trains the workspace's network on its chosen data; a view of the run and its history."""

    change_network_requested = QtCore.pyqtSignal()
    builtin_data_requested = QtCore.pyqtSignal()
    training_finished = QtCore.pyqtSignal(object)  # TrainingResult, after the workspace has it
    layer_warnings_changed = QtCore.pyqtSignal(dict)  # node -> why it is marked ({}: no marks), the designer shows them

    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.network = workspace.network
        self.task: Task | None = None
        self.lr_dialog = None  # the learning-rate range test, while open
        self.running_network = None  # the run's copy of the network
        self.running_folder: Path | None = None  # the folder the run writes (not to be deleted under it)
        self.changed_settings: dict = {}  # the optimizer settings changed while paused in this run
        self.settings_markers: list = []  # where they took effect, on the learning-rate plot
        self.running_config: TrainingConfig | None = None
        self.running_samples = "samples"  # what the run's data counts per second: images, rows, ...
        self.samples_per_second: float | None = None  # the run's last throughput, said when it ends
        self.pending_resume: tuple[Path, int] | None = None  # (checkpoint, epochs it holds)
        self.result: TrainingResult | None = None
        self.batch_losses: list[float] = []
        self.smoothed: list[float] = []
        self.smoothed_loss: SmoothedLoss | None = None  # made at a run's first batch: its epoch's length sets it
        self.epoch_rows: list[EpochEvent] = []
        self._build()
        self._form_changed()  # the workspace's draft starts as the form shows it (this machine's device)
        workspace.subscribe(self._workspace_changed)
        # the estimate follows batch size, device, precision, the network and (on a GPU, where
        # they are moved) the data sets, a moment after the last change
        self._memory_timer = QtCore.QTimer(self, singleShot=True, interval=300)
        self._memory_timer.timeout.connect(self.update_memory_estimate)
        self.options.changed.connect(self._memory_timer.start)
        for combo in (self.train_combo, self.validation_combo):  # not start(index): that would set the interval
            combo.currentIndexChanged.connect(lambda _index: self._memory_timer.start())
        self.network.subscribe(self._network_changed)
        self.update_sets()
        self._update_network_label()
        self.refresh_runs()
        self._set_running(False)

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(controls)
        data = QtWidgets.QGroupBox("Data")
        data_form = QtWidgets.QFormLayout(data)
        self.train_combo = QtWidgets.QComboBox()
        self.train_combo.setObjectName("trainSetCombo")
        self.validation_combo = QtWidgets.QComboBox()
        self.validation_combo.setObjectName("validationSetCombo")
        data_form.addRow("Training set", self.train_combo)
        data_form.addRow("Validation", self.validation_combo)
        self._validation_chosen = False
        self.validation_combo.activated.connect(self._validation_activated)
        self.train_combo.currentIndexChanged.connect(self._training_set_changed)
        column.addWidget(data)
        self.data_box = data
        self.options = TrainingOptionsForm()
        self.options.changed.connect(self._update_resume_label)
        self.options.changed.connect(self._form_changed)
        self.writing_draft = False  # while the form's settings go to the workspace: no echo back
        self.epochs_spin = self.options.fields["epochs"].editor
        self.batch_spin = self.options.fields["batch_size"].editor
        column.addWidget(self.options)
        column.addWidget(self._network_box())
        column.addWidget(self._resume_box())
        column.addStretch(1)
        pinned = QtWidgets.QVBoxLayout()  # the estimate and Start, in view however short the window
        pinned.setContentsMargins(8, 0, 8, 0)
        self.paused_settings = PausedSettings()  # beside Resume, where a paused user looks
        pinned.addWidget(self.paused_settings)
        pinned.addWidget(self._recipe_box())  # in view when a network is opened, above Start
        pinned.addWidget(self.memory_label)
        pinned.addLayout(self._buttons())
        controls_beside(self, controls, self._progress_and_plots(), 370, pinned=pinned)

    def _network_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Network")
        form = QtWidgets.QFormLayout(box)
        self.network_label = QtWidgets.QLabel()
        self.network_label.setObjectName("networkLabel")
        self.network_label.setWordWrap(True)
        change = QtWidgets.QPushButton("Change loss or optimizer…")
        change.clicked.connect(self.change_network_requested)
        finder = QtWidgets.QPushButton("Find learning rate…")
        finder.setObjectName("findLearningRateButton")
        finder.setToolTip("The range test: a fresh copy of the network trained for up to 100 batches with a growing "
                          "learning rate; suggests where the loss falls fastest")
        finder.clicked.connect(lambda: self.find_learning_rate())
        self.memory_label = QtWidgets.QLabel()
        self.memory_label.setObjectName("memoryLabel")
        self.memory_label.setWordWrap(True)
        self.memory_label.setToolTip("One training step's peak: weights, gradients, optimizer state, activations "
                                     "and their gradients, and the batch, found by running the step on the meta "
                                     "device (nothing is allocated)")
        keep = QtWidgets.QPushButton("Keep these options in the network")
        keep.setObjectName("keepRecipeButton")
        keep.setToolTip("Store the training options in the network file (\"$recipe\"): whoever opens it is offered "
                        "them, and pytorchgui train uses them")
        keep.clicked.connect(self.keep_recipe)
        form.addRow(self.network_label)
        form.addRow(change)
        form.addRow(finder)
        form.addRow(keep)
        return box

    def _recipe_box(self) -> QtWidgets.QFrame:
        """The offer of the training options an opened network file carries."""
        self.recipe_frame, self.recipe_label = notice("recipe", "#e7f5ff", "#4dabf7", [
            ("Keep mine", "", lambda: self.recipe_frame.hide()), ("Apply", "applyRecipeButton", self.apply_recipe)])
        return self.recipe_frame

    def _network_changed(self, event) -> None:
        self._update_network_label()
        if event.kind == "reset":  # another network opened: offer the options it was designed with
            recipe = self.network.recipe
            shown = ", ".join(f"{_option_label(name)} {_shown_value(value)}" for name, value in recipe.items())
            self.recipe_label.setText(f"This network comes with training options: {shown}.")
            self.recipe_frame.setVisible(bool(recipe) and not self._recipe_applied())

    def _recipe_applied(self) -> bool:
        try:
            current = self.options.config().to_dict()
        except PyTorchGUIError:
            return False
        return all(current.get(name) == value for name, value in self.network.recipe.items())

    def apply_recipe(self) -> None:
        try:
            base = self.options.config().to_dict()
        except PyTorchGUIError:
            base = TrainingConfig().to_dict()
        self.options.apply(TrainingConfig.from_dict({**base, **self.network.recipe}))
        self.recipe_frame.hide()
        self.log(f"applied the network's training options: {', '.join(sorted(self.network.recipe))}")

    def keep_recipe(self) -> None:
        """The options that differ from the defaults, stored in the network as one undoable edit."""
        try:
            config = self.options.config()
        except PyTorchGUIError as error:
            show_error(self, "Cannot keep the options", str(error))
            return
        defaults = TrainingConfig().to_dict()
        recipe = {name: value for name, value in config.to_dict().items()
                  if value != defaults.get(name) and name not in ("device", "workers", "threads")}

        def store() -> None:
            self.network.recipe = recipe

        self.workspace.document.apply("Keep the training options in the network", store)
        show_status(self, "The network now carries these training options: save it to keep them in its file")

    def find_learning_rate(self):
        """Open the range test on the chosen training set, batch size and device."""
        from pytorchgui.gui.lr_finder_dialog import LearningRateDialog

        prepared = self._prepared("Cannot find the learning rate")
        if prepared is None:
            return None
        train, _, config = prepared
        self.lr_dialog = LearningRateDialog(self.workspace, train, batch_size=config.batch_size, device=config.device,
                                            parent=self)
        self.lr_dialog.applied.connect(lambda rate: self.log(f"learning rate set to {rate:g} (range test)"))
        self.lr_dialog.open()
        return self.lr_dialog

    def _resume_box(self) -> QtWidgets.QFrame:
        self.resume_frame, self.resume_label = notice("resume", "#fff3bf", "#f59f00", [
            ("Start afresh instead", "cancelResumeButton", self.cancel_resume)])
        return self.resume_frame

    def _buttons(self) -> QtWidgets.QGridLayout:
        buttons = QtWidgets.QGridLayout()
        specs = (("Start", "startButton", lambda: self.start(), (0, 0, 1, 1)),
                 ("Pause", "pauseButton", self.toggle_pause, (0, 1, 1, 1)),
                 ("Stop", "stopButton", self.stop, (0, 2, 1, 1)),
                 ("Resume from checkpoint…", "resumeCheckpointButton", self.resume_from_checkpoint, (1, 0, 1, 3)),
                 ("Run on a cluster…", "clusterButton", self.show_cluster_command, (2, 0, 1, 3)))
        for text, name, slot, place in specs:
            button = QtWidgets.QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            buttons.addWidget(button, *place)
        self.start_button, self.pause_button, self.stop_button, self.resume_button, self.cluster_button = (
            buttons.itemAtPosition(row, column).widget() for row, column in ((0, 0), (0, 1), (0, 2), (1, 0), (2, 0)))
        self.cluster_button.setToolTip("The command line that trains this network with these settings with torchrun")
        return buttons

    def _progress_and_plots(self) -> QtWidgets.QWidget:
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("epochProgress")
        self.progress.setFormat("Ready")
        self.progress_label = message_label("Press Start to train the network on the training set.", "progressLabel")
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.progress_label)
        split = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        self.plot_tabs = QtWidgets.QTabWidget()
        self.plot_tabs.setObjectName("plotTabs")
        self.plot_tabs.addTab(self._plots(), "Curves")
        self.layer_view = LayerHistoriesView()
        self.plot_tabs.addTab(self.layer_view, "Layers")
        split.addWidget(self.plot_tabs)
        split.addWidget(self._log_and_runs())
        split.setSizes([560, 200])
        right_layout.addWidget(split, 1)
        return right

    def _plots(self) -> QtWidgets.QWidget:
        plots = QtWidgets.QGridLayout()
        self.batch_plot = _plot("Loss per batch", "loss", "batch")
        self.epoch_plot = _plot("Loss per epoch", "loss", "epoch")
        self.accuracy_plot = _plot("Accuracy per epoch", "accuracy (%)", "epoch", legend_below=True)
        self.lr_plot = _plot("Learning rate", "learning rate", "epoch", ScientificAxis)
        self.batch_curve = self.batch_plot.plot(pen=pyqtgraph.mkPen("#adb5bd", width=1), name="batch")
        self.smooth_curve = self.batch_plot.plot(pen=pyqtgraph.mkPen("#1c7ed6", width=2), name="smoothed")
        self.train_loss_curve, self.val_loss_curve = _train_and_validation_curves(self.epoch_plot)
        self.train_acc_curve, self.val_acc_curve = _train_and_validation_curves(self.accuracy_plot)
        self.lr_curve = self.lr_plot.plot(pen=pyqtgraph.mkPen("#2b8a3e", width=2), symbol="o", symbolSize=5)
        self.output_loss_curves: dict[str, pyqtgraph.PlotDataItem] = {}  # "train_loss.aux" -> its curve
        # a regression has no accuracy: the plot says so, not the last classifier's axes and nothing drawn
        self.no_accuracy_text = empty_note("Accuracy is for classification: this run is a regression", 300)
        self.no_accuracy_text.hide()
        self.accuracy_plot.addItem(self.no_accuracy_text, ignoreBounds=True)
        for plot, place in ((self.batch_plot, (0, 0)), (self.epoch_plot, (0, 1)), (self.accuracy_plot, (1, 0)),
                            (self.lr_plot, (1, 1))):
            plots.addWidget(plot, *place)
        self._show_all_epochs()
        box = QtWidgets.QWidget()
        box.setLayout(plots)
        return box

    def _log_and_runs(self) -> QtWidgets.QTabWidget:
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setObjectName("logView")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.runs_table = runs_table()
        self.runs_table.itemSelectionChanged.connect(self.show_selected_run_layers)
        self.runs_table.itemChanged.connect(self._run_notes_edited)
        self.runs_table.customContextMenuRequested.connect(self._runs_menu)
        self.runs_diff_dialog: RunsDiffDialog | None = None
        runs_box = with_buttons(self.runs_table, [
            ("Delete…", "deleteRunsButton", lambda: self.delete_selected_runs()),
            ("Compare settings…", "compareRunsButton", lambda: self.compare_selected_runs()),
            ("Overlay selected runs", "overlayButton", self.overlay_selected_runs)])
        self.bottom_tabs = QtWidgets.QTabWidget()
        self.bottom_tabs.addTab(self.log_view, "Log")
        self.bottom_tabs.addTab(runs_box, "Runs")
        return self.bottom_tabs

    # -- model -> view -----------------------------------------------------------------
    def _workspace_changed(self, event) -> None:
        if event.kind in DATASET_CHANGES or event.kind is Change.TRAINING_SET_CHOSEN:
            self.update_sets()
        elif event.kind is Change.NETWORK_FITTED:  # the status bar's message does not last: the log keeps why
            fitted = event.item
            self.log(f"fit to {fitted.entry.name}: {'; '.join(fitted.changes) or 'the network already fits'}"
                     + (f"; but {fitted.unfit}" if fitted.unfit else ""))
        elif event.kind is Change.TRAINING_CONFIG_CHANGED and not self.writing_draft:
            self.options.apply(event.item)  # settings the form did not write: shown, then read back

    # -- view -> model -----------------------------------------------------------------
    def _form_changed(self) -> None:
        """The form's settings become the workspace's draft; a field the user has not finished
        (its value refused) keeps the draft's value."""
        self.writing_draft = True
        try:
            self.workspace.set_training_config(self.options.draft(self.workspace.training_config))
        finally:
            self.writing_draft = False

    def update_sets(self) -> None:
        """Refill the set choices: the workspace's chosen training set (a training set just
        imported becomes it), and the validation: the user's choice while it fits the
        training set, else the test set imported last that fits it, else the split. A test
        set that does not fit is greyed out, the reason in its tooltip."""
        training_sets = self.workspace.training_sets()
        blocker = QtCore.QSignalBlocker(self.train_combo)  # refilling is no choice of the user's
        self.train_combo.clear()
        for entry in training_sets:
            self.train_combo.addItem(entry.name, entry)
        training = self.workspace.chosen_training_set
        self.train_combo.setCurrentIndex(training_sets.index(training) if training is not None else -1)
        del blocker
        self._memory_timer.start()
        chosen = self.validation_combo.currentData()
        self.validation_combo.clear()
        self.validation_combo.addItem("None", None)
        percent = training.validation_percent if training is not None else 0
        # short: "Split of the training set (20 %)" was cut to "Split of the training set (" in the form
        self.validation_combo.addItem(f"{percent:g} % of the training set", "split")
        self.validation_combo.setItemData(1, "The training set's validation split, kept out of training; set it in "
                                          "the Data tab" + ("" if percent else ". At 0 %: no validation"),
                                          QtCore.Qt.ToolTipRole)
        for entry in self.workspace.test_sets():
            add_choice(self.validation_combo, entry.name, entry, self.workspace.validation_problem(entry))
        choices = [self.validation_combo.itemData(row) for row in range(self.validation_combo.count())]
        row = choices.index(chosen) if self._validation_chosen and chosen in choices else -1  # entries: by identity
        if row < 0 or not self.validation_combo.model().item(row).isEnabled():
            row, self._validation_chosen = choices.index(self.workspace.default_validation()), False
        self.validation_combo.setCurrentIndex(row)

    def _training_set_changed(self, index: int) -> None:
        if index >= 0:
            self.workspace.choose_training_set(self.train_combo.itemData(index))

    def _validation_activated(self) -> None:
        self._validation_chosen = True  # the user's choice now outlives new imports

    def _update_network_label(self) -> None:
        loss = self.network.loss.type if self.network.loss else "not set"
        optimizer = self.network.optimizer
        described = f"{optimizer.type} (lr={optimizer.parameters.get('lr', '?')})" if optimizer else "not set"
        self.network_label.setText(f"Loss: <b>{loss}</b><br>Optimizer: <b>{described}</b>")
        self._memory_timer.start()

    def memory_estimate(self):
        """(estimate, free and total memory or None, config) for the form's settings; TrainingError
        (naming the node) when there is none."""
        from pytorchgui.core.training.memory import available_memory, estimate_training_memory

        config = self.options.config()
        estimate = estimate_training_memory(self.network, config.batch_size, bf16=config.mixed_precision,
                                            device=config.device, channels_last=config.channels_last)
        return estimate, available_memory(config.device), config

    def data_moved(self, device: str) -> int:
        """Bytes of the chosen data sets that training moves whole to `device` (a GPU)."""
        from pytorchgui.core.training.memory import data_moved_to

        chosen = (self.train_combo.currentData(), self.validation_combo.currentData())
        return data_moved_to(device, *(getattr(entry, "dataset", None) for entry in chosen))  # "split": none more

    def update_memory_estimate(self) -> None:
        from pytorchgui.core.training.memory import describe, does_not_fit

        try:
            estimate, memory, config = self.memory_estimate()
        except PyTorchGUIError as error:
            self.memory_label.setText(f"<span style='color:#868e96'>Memory: {error}</span>")
            return
        data = self.data_moved(config.device)
        text = f"Memory: {describe(estimate, config.device, memory, data)}"
        if does_not_fit(estimate, memory, config.device, data):
            text = f"<span style='color:#c92a2a'>⚠ {text}: this batch does not fit</span>"
        self.memory_label.setText(text)

    def config(self) -> TrainingConfig:
        return self.options.config()

    def apply_config(self, config: TrainingConfig) -> None:
        self.options.apply(config)

    def log(self, message: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {message}")

    # -- running ---------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.cluster_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self.options.set_locked(running)
        self.data_box.setEnabled(not running)

    def _chosen_data(self):
        """(training set, validation set or None) as chosen (start() checked there is a
        training set); DatasetError if a streamed folder cannot be split, TrainingError if
        the validation set does not match the training set (chosen by a script: the list
        greys it out)."""
        entry = self.train_combo.currentData()
        validation = self.validation_combo.currentData()
        if validation == "split":
            return entry.split()  # a 0% split trains without validation, as Validation: None
        problem = self.workspace.validation_problem(validation) if validation is not None else None
        if problem:
            raise TrainingError(problem)
        return entry.dataset, validation.dataset if validation is not None else None

    def _offer_builtin_data(self) -> None:
        box = show_error(self, "Cannot start training", "Nothing to train on: import a training set in the Data "
                                                        "tab, or load the built-in shapes (no file, no download).")
        load = box.addButton("Load the built-in shapes", QtWidgets.QMessageBox.AcceptRole)
        load.setObjectName("loadBuiltinButton")
        load.clicked.connect(self.builtin_data_requested)

    def _check_network(self) -> None:
        report = infer_shapes(self.network)
        if not report.ok:
            raise TrainingError("The network does not compile:\n" + "\n".join(p.message for p in report.problems[:8]))
        # No loss or optimizer, or nothing it can step: say it now, not in the log later.
        missing = self.network.training_problems() + step_problems(self.network, report)
        if missing:
            raise TrainingError("The network cannot train yet:\n" + "\n".join(p.message for p in missing)
                                + "\n\nIn the Network tab, click the empty canvas: the inspector shows them.")
        from pytorchgui.core.training.memory import does_not_fit

        estimate, memory, config = self.memory_estimate()
        problem = does_not_fit(estimate, memory, config.device, self.data_moved(config.device))
        if problem:
            raise TrainingError(problem[0].upper() + problem[1:] + ".")

    def _prepared(self, title: str):
        """(training set, validation set or None, settings) for a run, after the checks a run
        needs; None when one fails, which is shown in a dialog titled `title` (no data at
        all: the offer to load the built-in shapes)."""
        if self.train_combo.currentData() is None:
            self._offer_builtin_data()
            return None
        try:
            train, validation = self._chosen_data()
            self._check_network()
            return train, validation, self.options.config()
        except PyTorchGUIError as error:
            show_error(self, title, str(error))
            return None

    def start(self) -> bool:
        if self.task is not None:
            return False
        prepared = self._prepared("Cannot start training")
        if prepared is None:
            return False
        train, validation, config = prepared
        if self.pending_resume is None and not self._frozen_nodes_accepted(config):
            return False
        network = self.network.copy()  # the user may edit the network while it trains
        resume_from, run_dir = self._run_folder(train)
        self.running_config, self.running_network, self.changed_settings = config, network, {}
        self.running_folder = run_dir.path
        self.running_samples, self.samples_per_second = f"{sample_noun(train)}s", None
        self._reset_plots(accuracy_applies=train.is_classification)
        self.progress_label.setToolTip("")  # the last failure's reason
        # the run folder is logged by the run once it exists
        self.log(f"training with {network.optimizer.type} on {train.name} ({counted(len(train), 'sample')}), "
                 f"{counted(config.epochs, 'epoch')}, batch {config.batch_size}, {config.device}")
        if validation is None:
            where = ("the training set's validation split is 0 %: set it in the Data tab, or choose a test set under "
                     "Validation" if self.validation_combo.currentData() == "split" else
                     "choose a test set or a split of the training set under Validation")
            self.log(f"no validation data: the validation curves stay empty ({where})")

        def train_network(control: TaskControl) -> TrainingResult:
            return Trainer(network, train, config, validation_set=validation, run_dir=run_dir,
                           on_event=control.report, control=control, resume_from=resume_from).run()

        self.task = Task(self, train_network, PLOT_INTERVAL_MS)
        self.task.reported.connect(self._apply_events)
        self.task.finished.connect(self._finished)
        self.task.failed.connect(self._failed)
        self.task.start()
        self.workspace.set_training_running(True)
        self._set_running(True)
        return True

    def _frozen_nodes_accepted(self, config: TrainingConfig) -> bool:
        """Frozen nodes that no weights reach would train to chance without a word: ask
        first (a weights file that cannot be read is left to the run, which says why)."""
        try:
            unset = frozen_at_random(self.network, config.initial_weights)
        except PyTorchGUIError:
            return True
        return not unset or dialogs.ask_to_train_frozen_at_random(
            self, frozen_at_random_warning(unset, config.initial_weights))

    def _run_folder(self, train) -> tuple[Path | None, RunFolder]:
        """(checkpoint to resume from, run folder): the pending resume's, or a new one named
        after the network's file, else the example or model it came from, else the data it
        trains on (a network never saved has no name worth a folder: "untitled")."""
        if self.pending_resume is not None:
            checkpoint = self.pending_resume[0]
            self.cancel_resume()
            return checkpoint, RunFolder(checkpoint.parent)
        document = self.workspace.document
        origin = document.path or (Path(document.example_name) if document.example_name else None)
        name = origin.stem if origin is not None else Path(train.name.split(" (")[0]).stem  # "Shapes (train)"
        return None, RunFolder.new(paths.runs_dir(), name)

    def drain_events(self) -> None:
        """Deliver what the run reported so far now, not at the next tick."""
        if self.task is not None:
            self.task.deliver()

    def cluster_command(self) -> str:
        """`torchrun ... -m pytorchgui train ...` for the saved network and these settings."""
        document = self.workspace.document
        if document.path is None or document.is_modified:
            raise PyTorchGUIError("save the network first: the command line names its file")
        train = self.train_combo.currentData()
        if train is None or train.dataset.origin is None:
            raise PyTorchGUIError("choose a training set imported from a source the command line can read")
        config = self.options.config()
        device = "cuda" if config.device.startswith("cuda") else "cpu"
        parts = ["torchrun", "--nproc-per-node", "gpu" if device == "cuda" else "2", "-m", "pytorchgui", "train",
                 str(document.path), "--data", train.dataset.origin.to_spec()]
        validation = self.validation_combo.currentData()
        if validation == "split" and train.validation_percent:
            parts += ["--val-split", f"{train.validation_percent:g}", "--split-seed", str(train.split_seed)]
        elif isinstance(validation, DatasetEntry) and validation.dataset.origin is not None:
            parts += ["--test", validation.dataset.origin.to_spec()]
        # the device and the seed are always written: a cluster's default device differs, and
        # the seed makes the run repeatable whatever the defaults become
        parts += command_line_arguments(config.replace(device=device), always=("device", "seed"))
        parts += ["--out", f"runs/{document.path.stem}"]
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

    def toggle_pause(self) -> bool:
        """Pause, or resume with the settings changed meanwhile; False if a changed
        setting is invalid (the run stays paused, the field says why)."""
        if self.task is None:
            return False
        control = self.task.control
        if control.paused:
            changes = self.paused_settings.changes()
            if changes is None:
                show_status(self, "A changed setting is not valid: correct it (its reason is under it) to resume")
                return False
            if changes:
                control.request_changes(changes)
                self.changed_settings.update(changes)
            self.paused_settings.hide()
            control.unpause()
            self.pause_button.setText("Pause")
            self.log("resumed")
        else:
            control.pause()
            self.pause_button.setText("Resume")
            self.progress.setFormat("Paused")
            self.log("paused: the optimizer's settings can be changed until you resume")
            self.paused_settings.open_for(self.network.catalog, self.running_network.optimizer, self.changed_settings)
        return True

    def stop(self) -> None:
        if self.task is not None:
            self.task.control.stop()
            self.log("stopping…")

    def wait(self) -> None:
        """Block until the run has ended (the window waits for it before it closes)."""
        if self.task is not None:
            self.task.wait()

    # -- resuming -------------------------------------------------------------------------
    def resume_from_checkpoint(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Resume from checkpoint", str(paths.runs_dir()),
                                                        "Checkpoints (checkpoint.pt);;All files (*)")
        if path:
            self.resume(Path(path))

    def resume(self, checkpoint: Path) -> bool:
        """Prepare to continue the run of `checkpoint`: its settings go into the form (the
        epoch count is kept if it leaves epochs to train) and Start continues the run."""
        try:
            saved = load_checkpoint(checkpoint)
            done = int(saved.get("epoch", 0))
            config = TrainingConfig.from_dict(saved.get("config", {}))
        except (PyTorchGUIError, TypeError, ValueError) as error:
            show_error(self, "Cannot resume", str(error))
            return False
        epochs = max(self.epochs_spin.value(), done + 1)
        self.apply_config(config.replace(epochs=epochs))
        self.pending_resume = (Path(checkpoint), done)
        self._update_resume_label()
        self.resume_frame.show()
        return True

    def cancel_resume(self) -> None:
        self.pending_resume = None
        self.resume_frame.hide()

    def _update_resume_label(self) -> None:
        if self.pending_resume is None:
            return
        checkpoint, done = self.pending_resume
        epochs = self.epochs_spin.value()
        plan = (f"Start trains epochs {done + 1}–{epochs}" if epochs > done else
                f"set Epochs above {done} to train further")
        self.resume_label.setText(f"<b>Resuming {checkpoint.parent.name}</b> after epoch {done}: {plan}.")

    # -- how a run ends --------------------------------------------------------------------
    def _end(self) -> None:
        self.task = None
        self.running_folder = None
        self.paused_settings.hide()
        self.pause_button.setText("Pause")
        self._set_running(False)
        self.refresh_runs()

    def _finished(self, result: TrainingResult) -> None:
        self._end()
        self.result = result
        self.workspace.set_training_result(result)
        last = result.history[-1] if result.history else {}
        figures = ", ".join(f"{name} {last[key]:{shown}}" for key, name, shown in (
            ("train_loss", "train loss", ".4g"), ("validation_loss", "val. loss", ".4g"),
            ("validation_accuracy", "val. accuracy", ".1%")) if last.get(key) is not None)
        text = {"finished": "Training finished", "stopped": "Training stopped",
                "early_stopped": "Training stopped early"}[result.status]
        message = f"{text} after {counted(result.epochs_done, 'epoch')}: {figures}" if figures else text
        if result.message:
            self.log(result.message)
        self.log(message)
        self.progress.setFormat(text)
        speed = (f" · {self.samples_per_second:,.0f} {self.running_samples}/s"
                 if self.samples_per_second is not None else "")
        self.progress_label.setText(message + speed)  # the run's outcome, not its last countdown ("ends in 0 s")
        self.notify(message)
        self.training_finished.emit(result)

    def _failed(self, error: Exception) -> None:
        self._end()
        self.workspace.set_training_running(False)
        self.progress.setFormat("Failed")
        self.progress_label.setText(f"Failed: {first_line(error)}")  # a bug too: not the countdown of the last batch
        self.progress_label.setToolTip(str(error))
        if isinstance(error, PyTorchGUIError):
            self.log(f"failed: {error}")
            show_error(self, "Training stopped", str(error))
        else:
            raise error

    def notify(self, message: str) -> None:
        show_status(self, message, 15000)
        if QtWidgets.QSystemTrayIcon.isSystemTrayAvailable() and QtWidgets.QSystemTrayIcon.supportsMessages():
            tray = getattr(self, "_tray", None) or QtWidgets.QSystemTrayIcon(self.windowIcon(), self)
            self._tray = tray
            tray.show()
            tray.showMessage("PyTorchGUI", message)

    # -- plots -----------------------------------------------------------------------------
    def _reset_plots(self, accuracy_applies: bool) -> None:
        for curve in (self.batch_curve, self.smooth_curve, self.train_loss_curve, self.val_loss_curve,
                      self.train_acc_curve, self.val_acc_curve, self.lr_curve):
            curve.setData([], [])
        self._remove_overlays()
        for marker in self.settings_markers:
            self.lr_plot.removeItem(marker)
        self.settings_markers = []
        for curve in self.output_loss_curves.values():
            self.epoch_plot.removeItem(curve)
        self.output_loss_curves = {}
        self.progress.setValue(0)
        self.batch_losses, self.smoothed, self.epoch_rows = [], [], []
        self.layer_view.clear("this run")
        self.layer_warnings_changed.emit({})  # the last run's marks on the nodes go
        self._show_whether_accuracy_applies(accuracy_applies)
        self._show_all_epochs()

    def _show_whether_accuracy_applies(self, applies: bool) -> None:
        """The accuracy plot draws a classifier's run, or says that a regression has no accuracy
        on a plain 0–100 % axis (left alone, it kept the range of the last classifier's run)."""
        self.no_accuracy_text.setVisible(not applies)
        self.accuracy_plot.getPlotItem().legend.setVisible(applies)
        if applies:
            self.accuracy_plot.enableAutoRange(axis="y")
        else:
            self.accuracy_plot.setYRange(0, 100, padding=0)

    def _apply_events(self, events: list) -> None:
        """Show everything the run reported since the last delivery."""
        last_batch, new_epochs, layers = None, False, None
        for event in events:
            if isinstance(event, BatchEvent):
                last_batch = event
                if not self.batch_losses:  # the run's first: its epoch's length sets the smoothing
                    self.smoothed_loss = SmoothedLoss(batch_loss_smoothing(event.batches))
                for loss in event.losses or (event.loss,):
                    self.batch_losses.append(loss)
                    self.smoothed.append(self.smoothed_loss.add(loss))
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
            elif isinstance(event, LayersRecordedEvent):
                layers = event  # each holds the whole history: the last one is enough
            elif isinstance(event, LogEvent):
                self.log(event.message)
            elif isinstance(event, SettingsChangedEvent):  # marked where it took effect
                where = event.epoch - 1 + event.batch / max(event.batches, 1)
                marker = pyqtgraph.InfiniteLine(where, angle=90, pen=pyqtgraph.mkPen("#e8590c", width=1.5,
                                                                                   style=QtCore.Qt.DashLine),
                                                label="changed", labelOpts={"position": 0.9, "color": "#e8590c"})
                self.lr_plot.addItem(marker)
                self.settings_markers.append(marker)
        if last_batch is not None:
            self.samples_per_second = last_batch.samples_per_second
            x, losses = decimate(self.batch_losses)
            self.batch_curve.setData(x, losses, skipFiniteCheck=True)
            self.smooth_curve.setData(*decimate(self.smoothed), skipFiniteCheck=True)
            self.progress.setMaximum(last_batch.batches)
            self.progress.setValue(last_batch.batch)
            config = self.running_config  # the run's own settings, not the form's
            left = (last_batch.batches - last_batch.batch) * config.batch_size / max(last_batch.samples_per_second, 1)
            self.progress.setFormat(f"Epoch {last_batch.epoch}/{config.epochs}: batch {last_batch.batch}/"
                                    f"{last_batch.batches}")
            accuracy = f", running accuracy {last_batch.accuracy:.1%}" if last_batch.accuracy is not None else ""
            self.progress_label.setText(f"{last_batch.samples_per_second:,.0f} {self.running_samples}/s · epoch ends "
                                        f"in {left:.0f} s · loss {last_batch.loss:.4f}{accuracy}")
        if new_epochs:
            self._plot_epochs(self.epoch_rows)
        if layers is not None:
            self._show_layers(layers.histories, layers.warnings, "this run")

    def _show_layers(self, histories, warnings, source: str) -> None:
        self.layer_view.show_histories(histories, warnings, source)
        marks: dict[str, list[str]] = {}
        for warning in warnings:
            marks.setdefault(warning.layer, []).append(warning.message)
        self.layer_warnings_changed.emit({layer: "\n".join(messages) for layer, messages in marks.items()})

    def _plot_epochs(self, rows: list[EpochEvent]) -> None:
        epochs = numpy.array([row.epoch for row in rows], dtype=float)

        def values(attribute):
            data = [getattr(row, attribute) for row in rows]
            return numpy.array([numpy.nan if v is None else v for v in data], dtype=float)

        for curve, attribute, scale in ((self.train_loss_curve, "train_loss", 1),
                                        (self.val_loss_curve, "validation_loss", 1),
                                        (self.train_acc_curve, "train_accuracy", 100),
                                        (self.val_acc_curve, "validation_accuracy", 100)):
            data = values(attribute)
            if numpy.isnan(data).all():  # no validation set, or a regression: nothing to draw
                curve.setData([], [])
            else:
                curve.setData(epochs, data * scale, connect="finite")
        self._plot_output_losses(rows, epochs)
        rates = values("learning_rate")
        self.lr_curve.setData(epochs, rates)
        if len(rates) and numpy.nanmax(rates) == numpy.nanmin(rates):  # a flat line: show it mid-plot, not at ±400
            self.lr_plot.setYRange(rates[0] * 0.5, rates[0] * 1.5)
        else:
            self.lr_plot.enableAutoRange(axis="y")
        self._show_all_epochs()

    def _plot_output_losses(self, rows: list[EpochEvent], epochs: numpy.ndarray) -> None:
        """A network with several outputs: each output's loss, thin and dashed under the total,
        named in the legend ("train · aux"), training in blues, validation in oranges."""
        keys = list(dict.fromkeys(key for row in rows for key in row.output_losses))
        for index, key in enumerate(keys):
            curve = self.output_loss_curves.get(key)
            if curve is None:
                part, _, output = key.partition(".")
                training = part == "train_loss"
                colours = ("#74c0fc", "#1864ab", "#4dabf7") if training else ("#ffa94d", "#d9480f", "#ff922b")
                pen = pyqtgraph.mkPen(colours[index % len(colours)], width=1.5, style=QtCore.Qt.DashLine)
                curve = self.output_loss_curves[key] = self.epoch_plot.plot(
                    pen=pen, name=f"{'train' if training else 'validation'} · {output}")
            data = [row.output_losses.get(key, numpy.nan) for row in rows]
            curve.setData(epochs, numpy.array(data, dtype=float), connect="finite")
        # the totals and each output's in two columns: one column of six covered the curves
        self.epoch_plot.getPlotItem().legend.setColumnCount(2 if keys else 1)

    def _show_all_epochs(self) -> None:
        """The epoch plots from the first to the last epoch any of them draws, half an epoch
        beyond: the same epochs on each (a plot with nothing drawn, a regression's accuracy,
        too), and a single epoch is a point in the middle, not a range pyqtgraph invents."""
        plots = (self.epoch_plot, self.accuracy_plot, self.lr_plot)
        # the whole data: getData() holds only what is in view (clipToView)
        drawn = [x for plot in plots for x, _ in (item.getOriginalDataset() for item in plot.listDataItems())
                 if x is not None and len(x)]
        last = max((float(numpy.nanmax(x)) for x in drawn), default=1.0)
        for plot in plots:
            plot.setXRange(0.5, max(last, 1.0) + 0.5, padding=0)
        self.no_accuracy_text.setPos((max(last, 1.0) + 1) / 2, 50)  # the middle of the 0–100 % it is shown on

    # -- run history -------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """The runs table read again from the run folders, in the order it is sorted by."""
        self.runs = overview_rows(paths.runs_dir())
        fill_runs_table(self.runs_table, self.runs)

    def selected_runs(self) -> list[dict]:
        """The runs selected in the table, top to bottom as it is sorted."""
        by_path = {str(run["path"]): run for run in self.runs}
        rows = sorted({index.row() for index in self.runs_table.selectionModel().selectedRows()})
        return [by_path[str(row_path(self.runs_table, row))] for row in rows]

    def show_selected_run_layers(self) -> None:
        """The layer histories of the one run selected in Runs (not while a run trains: the
        view follows it)."""
        selected = self.selected_runs()
        if self.task is not None or len(selected) != 1:
            return
        run = selected[0]
        try:
            histories = RunFolder(run["path"]).read_layer_histories()
        except PyTorchGUIError as error:
            self.layer_view.clear(run["name"])
            show_status(self, str(error))
            return
        self._show_layers(histories, layer_warnings(histories) if histories is not None else [], run["name"])

    def _run_notes_edited(self, item: QtWidgets.QTableWidgetItem) -> None:
        """A run's tags or notes typed in the table, kept in its folder (notes.json). The cell
        is updated in place: the item that announced the edit is not to be replaced in its own
        signal, as a refresh would."""
        if item.column() not in EDITABLE_COLUMNS:
            return
        run = next(run for run in self.runs if run["path"] == row_path(self.runs_table, item.row()))
        edited = {"notes": item.text()} if item.column() == NOTES_COLUMN else {"tags": parse_tags(item.text())}
        try:
            RunFolder(run["path"]).write_notes(**{"tags": run["tags"], "notes": run["notes"], **edited})
        except PyTorchGUIError as error:
            show_error(self, "Cannot keep the notes", str(error))
            return
        run.update(edited)
        shown = run_items(run)[item.column()]
        with QtCore.QSignalBlocker(self.runs_table):
            item.setText(shown.text())  # the tags as kept: "a, b" for "a,,b ,"
            item.setData(SORT_ROLE, shown.data(SORT_ROLE))

    def _runs_menu(self, position: QtCore.QPoint) -> QtWidgets.QMenu:
        """The right-click menu of the runs table, on the runs selected."""
        menu = QtWidgets.QMenu(self.runs_table)
        menu.setObjectName("runsMenu")
        menu.setAttribute(QtCore.Qt.WA_DeleteOnClose)  # one made for each right-click
        count = len(self.selected_runs())
        for text, slot, enabled in (("Compare settings…", self.compare_selected_runs, count == 2),
                                    ("Overlay selected runs", self.overlay_selected_runs, count >= 1),
                                    ("Delete…", self.delete_selected_runs, count >= 1)):
            action = menu.addAction(text)
            action.setEnabled(enabled)
            action.triggered.connect(lambda _checked, slot=slot: slot())
        menu.popup(self.runs_table.viewport().mapToGlobal(position))
        return menu

    def compare_selected_runs(self) -> RunsDiffDialog | None:
        """The diff of the two runs selected: their settings and networks side by side."""
        selected = self.selected_runs()
        if len(selected) != 2:
            show_status(self, "Select two runs in the table to compare their settings (Ctrl+click the second)")
            return None
        try:
            self.runs_diff_dialog = RunsDiffDialog(*(RunFolder(run["path"]) for run in selected), parent=self)
        except PyTorchGUIError as error:
            show_error(self, "Cannot compare the runs", str(error))
            return None
        self.runs_diff_dialog.open()
        return self.runs_diff_dialog

    def delete_selected_runs(self) -> bool:
        """The selected runs to the system's trash; where Qt has none, deleted for good once
        the user confirms. The run training now is refused."""
        selected = self.selected_runs()
        if not selected:
            show_status(self, "Select the runs to delete in the table")
            return False
        if self.running_folder is not None and any(run["path"] == self.running_folder for run in selected):
            show_error(self, "Cannot delete a run", f"{self.running_folder.name} is training now: stop it first, "
                                                   "then delete it.", icon=QtWidgets.QMessageBox.Warning)
            return False
        names = [run["name"] for run in selected]
        left = [run for run in selected if not move_to_trash(run["path"])]
        if left and not confirm_delete(self, [run["name"] for run in left]):
            self.refresh_runs()
            return False
        try:
            for run in left:
                RunFolder(run["path"]).delete()
        except PyTorchGUIError as error:
            show_error(self, "Cannot delete the run", str(error))
        if self.pending_resume is not None and not self.pending_resume[0].exists():
            self.cancel_resume()  # Start would look for the checkpoint just deleted
        self._remove_overlays([run["path"] for run in selected])  # their curves would outlive them
        self.refresh_runs()
        where = "moved to the trash" if not left else "deleted"
        self.log(f"{counted(len(names), 'run')} {where}: {', '.join(names)}")
        return True

    def overlay_selected_runs(self) -> None:
        """The selected runs' validation curves (training curves for a run without) dashed
        over this run's, named in the legend by what differs between them."""
        colours = ["#862e9c", "#2f9e44", "#f08c00", "#c2255c"]
        self._remove_overlays()  # an overlay replaces the last one: its labels say what differs among these runs
        overlaid = [(run, metrics) for run in self.selected_runs() if (metrics := read_metrics(run["path"]))][:4]
        labels = distinguishing_labels([RunFolder(run["path"]) for run, _ in overlaid])
        for number, ((run, metrics), label) in enumerate(zip(overlaid, labels)):
            epochs = numpy.array([m["epoch"] for m in metrics])
            pen = pyqtgraph.mkPen(colours[number], width=1.5, style=QtCore.Qt.DashLine)
            for plot, key, scale in ((self.epoch_plot, "validation_loss", 1),
                                     (self.accuracy_plot, "validation_accuracy", 100)):
                data = numpy.array([numpy.nan if m[key] is None else m[key] for m in metrics], dtype=float)
                if numpy.isnan(data).all():
                    key = key.replace("validation", "train")
                    data = numpy.array([numpy.nan if m[key] is None else m[key] for m in metrics], dtype=float)
                curve = plot.plot(epochs, data * scale, pen=pen, name=f"{label} ({key.split('_')[0]})",
                                  connect="finite")
                curve.overlay = run["path"]
        self._show_all_epochs()

    def _remove_overlays(self, paths=None) -> None:
        """The overlaid runs' curves (and legend entries): all of them, or those of `paths`."""
        for plot in (self.epoch_plot, self.accuracy_plot):
            for item in list(plot.listDataItems()):
                overlay = getattr(item, "overlay", None)
                if overlay is not None and (paths is None or overlay in paths):
                    plot.removeItem(item)

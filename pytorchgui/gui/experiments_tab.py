"""The Experiments tab: a hyperparameter sweep on Optuna, defined, run and read here.

The space is built from the forms (*Sweep this…* on a training option or an inspector
field) or here; Start saves the network into the experiment's folder and runs
`pytorchgui sweep` in a separate process (QProcess), exactly as on the command line, so
that parallel jobs, the study's store and resuming work as they do there. The window
only reads the folder's study: every 1.5 s while the sweep runs, on a worker thread (the
first read imports Optuna and SQLAlchemy, about 2 s; later ones take 70–100 ms, the
importances 10–20 ms after their first 4 s), and shows the trials as a table, a
parallel-coordinates plot, the parameter importances and the best trials' curves.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyqtgraph
from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui import paths
from pytorchgui.core.errors import PyTorchGUIError, first_line
from pytorchgui.core.training.options import TrainingConfig, command_line_arguments
from pytorchgui.core.training.sweeps import (OBJECTIVES, PRUNERS, SAMPLERS, Experiment, SearchSpace, SweepError,
                                             check_objective, importances, load_study, sweepable_names, swept_value,
                                             trial_rows)
from pytorchgui.core.workspace import DATASET_CHANGES, Change, DatasetEntry, Workspace
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.plot_axes import CountAxis, PlainAxis
from pytorchgui.gui.sweep_dialog import SweepDialog, describe_range, prefilled
from pytorchgui.gui.widgets import (PathField, controls_beside, empty_note, message_label, read_only_table,
                                   show_status)
from pytorchgui.gui.workers import run_in_thread

READ_INTERVAL_MS = 1500
SPACE_FILE = "space.json"  # the space as the tab wrote it, beside the experiment's network.json
BEST_SHOWN = 3
HOW_TO_ADD = ("Nothing to sweep yet. Right-click a training option (Train tab) or a layer's parameter (Network tab's "
              "inspector) and choose Sweep this…, or add one below.")
GREY = (173, 181, 189, 140)
COORDINATES_NOTE = "Each trial will be a line across one axis per swept value and the objective"
IMPORTANCES_NOTE = "Optuna's importances appear once two finished trials differ"
CURVES_NOTE = "The best finished trials' curves appear here"


# -- reading an experiment folder (no Qt: runs on a worker thread) ------------------------------
@dataclass
class Snapshot:
    """What the tab shows of an experiment folder at one moment."""

    experiment: Experiment
    space: SearchSpace
    rows: list[dict[str, Any]]
    importances: dict[str, float] = field(default_factory=dict)
    curves: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # best trials' objective per epoch
    seconds: float = 0.0  # how long the read took

    @property
    def finished(self) -> int:
        return sum(row["state"] == "COMPLETE" for row in self.rows)


def read_snapshot(folder: Path, previous: Snapshot | None = None) -> Snapshot:
    """The folder's experiment, trials, importances and best curves; the importances of
    `previous` are kept while no new trial has finished (fANOVA is the slow part)."""
    from pytorchgui.core.training.runs import RunFolder, RunFolderError

    started = time.perf_counter()
    experiment = Experiment.read(folder)
    space = experiment.search_space()
    study = load_study(experiment)
    rows = trial_rows(experiment, study, space)
    snapshot = Snapshot(experiment, space, rows)
    if previous is not None and previous.experiment.folder == folder and previous.finished == snapshot.finished:
        snapshot.importances = previous.importances
    else:
        snapshot.importances = importances(study)
    for row in best_rows(snapshot):
        try:
            metrics = RunFolder(row["run"]).read_metrics()
        except RunFolderError:
            continue
        snapshot.curves[row["number"]] = [(entry["epoch"], entry[experiment.objective]) for entry in metrics
                                          if entry.get(experiment.objective) is not None]
    snapshot.seconds = time.perf_counter() - started
    return snapshot


def best_rows(snapshot: Snapshot, count: int = BEST_SHOWN) -> list[dict[str, Any]]:
    objective, maximize = snapshot.experiment.objective, snapshot.experiment.direction == "maximize"
    finished = [row for row in snapshot.rows if row["state"] == "COMPLETE" and row[objective] is not None]
    return sorted(finished, key=lambda row: row[objective], reverse=maximize)[:count]


def sweep_arguments(experiment: Experiment, jobs: int, timeout: float | None) -> list[str]:
    """`pytorchgui sweep`'s arguments for the experiment in its folder (network.json and
    space.json there): the same for Start and Resume, so the CLI resumes the same sweep."""
    folder = experiment.folder
    arguments = ["sweep", str(folder / Experiment.NETWORK), "--data", experiment.data]
    if experiment.test:
        arguments += ["--test", experiment.test]
    elif experiment.val_split:
        arguments += ["--val-split", f"{experiment.val_split:g}", "--split-seed", str(experiment.split_seed or 0)]
    arguments += ["--space", str(folder / SPACE_FILE), "--out", str(folder), "--sampler", experiment.sampler,
                  "--pruner", experiment.pruner, "--objective", experiment.objective, "--jobs", str(jobs),
                  "--sampler-seed", str(experiment.seed), "--no-recipe"]
    if experiment.trials:
        arguments += ["--trials", str(experiment.trials)]
    if timeout:
        arguments += ["--timeout", f"{timeout:g}"]
    # options at their default are left out (the CLI's are the same); --no-recipe above keeps
    # a recipe in network.json from replacing them: the trials train with the settings shown
    return arguments + command_line_arguments(experiment.base_config(), always=("device", "seed"))


# -- the tab ----------------------------------------------------------------------------------------
# Optuna's trial states as the table shows them: lower case takes less of its width
STATES_SHOWN = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
                "WAITING": "waiting"}


class _SortItem(QtWidgets.QTableWidgetItem):
    """A cell that sorts by its value: numbers as numbers, empty cells last."""

    def __init__(self, value: Any):
        text = "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
        super().__init__(text)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        self.key = (value is None, 0 if number else 1, value if number else text)
        self.value = value

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        return self.key < getattr(other, "key", (True, 1, other.text()))


class ExperimentsTab(QtWidgets.QWidget):
    """The search space, the sweep's settings, Start/Stop/Resume and its results."""

    trial_open_requested = QtCore.pyqtSignal(object)  # a trial's run folder (Path) to open as the current network

    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.space: dict[str, dict[str, Any]] = {}
        self.experiment: Experiment | None = None  # the experiment shown (started here or opened)
        self.snapshot: Snapshot | None = None
        self.process: QtCore.QProcess | None = None
        self.stopping = False
        # the sweep's process creates the study's store: reading it meanwhile would create it
        # too, and both would fail; it says when the store is made ("sweep: … trials into …")
        self.store_ready = False
        self.sweep_dialog: SweepDialog | None = None
        self._reading = None  # the Task reading the folder, while it runs
        self._read_again = False
        self._build()
        workspace.subscribe(self._workspace_changed)
        self.timer = QtCore.QTimer(self, interval=READ_INTERVAL_MS)
        self.timer.timeout.connect(self.read)
        self._show_space()
        self._show_empty_plots()
        self._update_buttons()

    def _show_empty_plots(self) -> None:
        """Before any experiment: what each plot will show."""
        for plot, text in ((self.coordinates_plot, COORDINATES_NOTE), (self.importance_plot, IMPORTANCES_NOTE),
                           (self.curves_plot, CURVES_NOTE)):
            plot.clear()
            plot.setXRange(0, 1)
            plot.setYRange(0, 1)
            plot.addItem(_note(text, 0.5))

    def _workspace_changed(self, event) -> None:
        if event.kind in DATASET_CHANGES or event.kind is Change.TRAINING_SET_CHOSEN:
            self.data_label.setText(self._data_text())

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(controls)
        column.addWidget(self._space_box())
        column.addWidget(self._search_box())
        column.addStretch(1)
        pinned = QtWidgets.QGridLayout()
        pinned.setContentsMargins(8, 0, 8, 0)
        for text, name, slot, place in (("Start", "experimentStartButton", self.start, (0, 0)),
                                        ("Stop", "experimentStopButton", self.stop, (0, 1)),
                                        ("Resume", "experimentResumeButton", self.resume, (0, 2)),
                                        ("Open experiment…", "openExperimentButton", self.choose_experiment, (1, 0))):
            button = QtWidgets.QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(lambda _=False, s=slot: s())
            pinned.addWidget(button, *place, 1, 3 if place[0] else 1)
        self.start_button, self.stop_button, self.resume_button, self.open_button = (
            pinned.itemAtPosition(*place).widget() for place in ((0, 0), (0, 1), (0, 2), (1, 0)))
        self.start_button.setToolTip("Save the network into a new experiment folder and run the trials in their own "
                                     "process(es), as pytorchgui sweep does")
        self.stop_button.setToolTip("Stop the sweep: the running trial is marked failed, the finished ones stay")
        self.resume_button.setToolTip("Run the same sweep again on its folder: it continues where it stopped")
        controls_beside(self, controls, self._results(), 380, pinned=pinned)

    def _space_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Search space")
        layout = QtWidgets.QVBoxLayout(box)
        self.space_hint = message_label(HOW_TO_ADD, "spaceHint")
        self.space_hint.setStyleSheet("color: #495057;")
        layout.addWidget(self.space_hint)
        self.space_table = read_only_table(["Swept", "Range"], "spaceTable", stretch=1)
        self.space_table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.space_table.doubleClicked.connect(lambda _index: self._edit_selected())
        layout.addWidget(self.space_table)
        self.space_buttons = QtWidgets.QWidget()
        buttons = QtWidgets.QHBoxLayout(self.space_buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        for text, name, slot in (("Edit…", "editDimensionButton", self._edit_selected),
                                 ("Remove", "removeDimensionButton", self._remove_selected)):
            button = QtWidgets.QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout.addWidget(self.space_buttons)
        row = QtWidgets.QHBoxLayout()
        self.name_combo = QtWidgets.QComboBox()
        self.name_combo.setObjectName("sweepNameCombo")
        self.name_combo.setEditable(True)
        self.name_combo.setInsertPolicy(QtWidgets.QComboBox.NoInsert)
        self.name_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.name_combo.setMinimumContentsLength(8)
        self.name_combo.lineEdit().setPlaceholderText("lr, batch_size, conv1.out_channels")
        self.name_combo.setToolTip("A training option, a parameter of the optimizer (lr), loss.NAME, schedule.NAME "
                                   "or a node's parameter as NODE.PARAMETER")
        add = QtWidgets.QPushButton("Add…")
        add.setObjectName("addDimensionButton")
        add.clicked.connect(lambda: self.sweep_this(self.name_combo.currentText().strip()))
        row.addWidget(self.name_combo, 1)
        row.addWidget(add)
        layout.addLayout(row)
        return box

    def _search_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Search")
        form = QtWidgets.QFormLayout(box)
        self.sampler_combo = self._combo("samplerCombo", SAMPLERS, "tpe: learns from the finished trials; random; "
                                                                   "grid: every combination (ranges need a step)")
        self.pruner_combo = self._combo("prunerCombo", PRUNERS, "Stop a poor trial after an epoch where it is behind "
                                                                "the others at that epoch")
        self.objective_combo = self._combo("objectiveCombo", OBJECTIVES, "What the sweep optimises, and its direction")
        for index, (name, direction) in enumerate(OBJECTIVES.items()):  # the direction in words would not fit
            self.objective_combo.setItemText(index, f"{name.replace('_', ' ')} {'↑' if direction == 'maximize' else '↓'}")
            self.objective_combo.setItemData(index, f"{direction}d: {'higher' if direction == 'maximize' else 'lower'} "
                                                    "is better", QtCore.Qt.ToolTipRole)
        self.trials_spin = self._spin("trialsSpin", 0, 100000, 16, "as the time allows")
        self.timeout_spin = self._spin("timeoutSpin", 0, 100000, 0, "no limit", " min")
        self.timeout_spin.setToolTip("No trial starts after this time")
        self.jobs_spin = self._spin("jobsSpin", 1, 64, 1)
        self.jobs_spin.setToolTip("Trials at once, each in its own process with its share of the CPU threads (or its "
                                  "own GPU)")
        self.folder_field = PathField("a new folder under experiments/", True, object_name="experimentFolderEdit")
        self.data_label = message_label("", "experimentDataLabel")
        form.addRow("Sampler", self.sampler_combo)
        form.addRow("Pruner", self.pruner_combo)
        form.addRow("Objective", self.objective_combo)
        form.addRow("Trials", self.trials_spin)
        form.addRow("Time limit", self.timeout_spin)
        form.addRow("Parallel jobs", self.jobs_spin)
        form.addRow("Folder", self.folder_field)
        form.addRow(self.data_label)
        return box

    @staticmethod
    def _combo(name: str, items, tooltip: str) -> QtWidgets.QComboBox:
        combo = QtWidgets.QComboBox()
        combo.setObjectName(name)
        for item in items:
            combo.addItem(item, item)
        combo.setToolTip(tooltip)
        combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
        return combo

    @staticmethod
    def _spin(name: str, low: int, high: int, value: int, off: str = "", suffix: str = "") -> QtWidgets.QSpinBox:
        spin = QtWidgets.QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setSuffix(suffix)
        if off:
            spin.setSpecialValueText(off)
        return spin

    def _results(self) -> QtWidgets.QWidget:
        right = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(right)
        layout.setContentsMargins(0, 0, 0, 0)
        self.status_label = message_label("", "experimentStatus")
        layout.addWidget(self.status_label)
        split = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        split.addWidget(self._trials_box())
        plots = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        self.coordinates_plot = _plot("Trials: swept values and objective", "coordinatesPlot")
        self.importance_plot = _plot("Importances", "importancePlot")  # a longer title is cut at the default size
        self.importance_plot.setToolTip("Optuna's fANOVA: how much of the objective's variance over the finished "
                                        "trials each swept value explains")
        self.curves_plot = _plot("Best trials", "bestCurvesPlot", bottom=CountAxis("bottom"))
        self.curves_plot.setLabel("bottom", "epoch")
        # small and tight: the plot is short, and the legend is over the curves in any corner
        self.curves_plot.addLegend(offset=(10, 10), brush=(255, 255, 255, 210), labelTextSize="8pt", verSpacing=-6)
        self.coordinates_plot.hideAxis("left")
        # the axes' names under the plot: pyqtgraph sizes the row for digits, which cut the "_" of batch_size
        names_axis = self.coordinates_plot.getAxis("bottom")
        names_axis.setHeight(QtGui.QFontMetrics(names_axis.style["tickFont"] or self.font()).height() + 4)
        beside = QtWidgets.QSplitter(QtCore.Qt.Vertical)  # the importances over the best curves
        beside.addWidget(self.importance_plot)
        beside.addWidget(self.curves_plot)
        plots.addWidget(self.coordinates_plot)
        plots.addWidget(beside)
        plots.setSizes([600, 400])
        split.addWidget(plots)
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setObjectName("experimentLog")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        split.addWidget(self.log_view)
        split.setSizes([280, 380, 80])  # five trials in sight
        layout.addWidget(split, 1)
        return right

    def _trials_box(self) -> QtWidgets.QWidget:
        self.trials_table = read_only_table(["Trial"], "trialsTable", stretch=None, sortable=True)
        self.trials_table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.trials_table.doubleClicked.connect(lambda _index: self.open_selected_trial())
        self.trials_table.itemSelectionChanged.connect(self._update_buttons)
        self.open_trial_button = QtWidgets.QPushButton("Open trial")
        self.open_trial_button.setObjectName("openTrialButton")
        self.open_trial_button.setToolTip("Open the trial's network as the current network, and its training options "
                                          "in the Train tab (double-click a row does the same)")
        self.open_trial_button.clicked.connect(lambda: self.open_selected_trial())
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.trials_table, 1)
        layout.addWidget(self.open_trial_button, 0, QtCore.Qt.AlignRight)
        return box

    # -- the space -----------------------------------------------------------------------
    def _network_and_config(self) -> tuple[Any, TrainingConfig]:
        return self.workspace.network, self.workspace.training_config

    def sweep_this(self, name: str) -> SweepDialog | None:
        """Open the range dialog for `name` (a space name); accepted, it joins the space."""
        if not name:
            show_status(self, "Type or choose what to sweep: lr, batch_size, conv1.out_channels …")
            return None
        network, config = self._network_and_config()
        try:
            spec, value = swept_value(name, network, config)
        except SweepError as error:
            show_error(self, "Cannot sweep this", str(error))
            return None
        raw = self.space.get(name) or prefilled(spec, value)
        self.sweep_dialog = SweepDialog(name, spec, value, raw,
                                        lambda entry: SearchSpace.parse({name: entry}, network, config, "the sweep"),
                                        self.window())
        self.sweep_dialog.accepted.connect(lambda dialog=self.sweep_dialog: self.set_dimension(name, dialog.raw()))
        self.sweep_dialog.open()
        return self.sweep_dialog

    def set_dimension(self, name: str, raw: dict[str, Any]) -> None:
        self.space[name] = raw
        self._show_space()
        show_status(self, f"The experiment sweeps {name} ({describe_range(raw)}): start it in the Experiments tab")

    def _selected_dimension(self) -> str | None:
        rows = self.space_table.selectionModel().selectedRows()
        return self.space_table.item(rows[0].row(), 0).text() if rows else None

    def _edit_selected(self) -> None:
        name = self._selected_dimension()
        if name is not None:
            self.sweep_this(name)

    def _remove_selected(self) -> None:
        name = self._selected_dimension()
        if name is not None:
            self.remove_dimension(name)

    def remove_dimension(self, name: str) -> None:
        self.space.pop(name, None)
        self._show_space()

    def _show_space(self) -> None:
        table = self.space_table
        table.setRowCount(len(self.space))
        for row, (name, raw) in enumerate(self.space.items()):
            table.setItem(row, 0, QtWidgets.QTableWidgetItem(name))
            described = QtWidgets.QTableWidgetItem(describe_range(raw))
            described.setToolTip(f"{name}: {describe_range(raw)}")  # the column is narrow: the whole range on hover
            table.setItem(row, 1, described)
        table.setVisible(bool(self.space))
        self.space_buttons.setVisible(bool(self.space))
        table.setFixedHeight(table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(len(self.space)))
                             + 4)
        self.space_hint.setVisible(not self.space)
        self._refresh_names()
        self._show_status()

    def _refresh_names(self) -> None:
        """The names the Add… box offers: this network's and these options' (not swept yet)."""
        network, config = self._network_and_config()
        current = self.name_combo.currentText()
        self.name_combo.clear()
        self.name_combo.addItems([name for name in sweepable_names(network, config) if name not in self.space])
        self.name_combo.setEditText(current if current not in self.space else "")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Nodes and options may have changed in the other tabs since: offer theirs."""
        super().showEvent(event)
        self._refresh_names()
        self._show_status()

    # -- settings -> experiment ----------------------------------------------------------
    def new_experiment(self) -> Experiment:
        """The experiment the controls describe, in a new folder; PyTorchGUIError saying
        what to change when it cannot run (no data, data the CLI cannot read, no space)."""
        if not self.space:
            raise SweepError(HOW_TO_ADD.replace("Nothing to sweep yet. ", "Nothing to sweep: "))
        network, config = self._network_and_config()
        config.check()
        SearchSpace.parse(self.space, network, config, "the space")
        train = self.workspace.chosen_training_set
        if train is None:
            raise SweepError("No training set: open one in the Data tab first (or the built-in shapes)")
        data = self._spec(train, "training set")
        test, val_split, split_seed = None, 0.0, None
        validation = self.workspace.default_validation()
        if isinstance(validation, DatasetEntry):
            test = self._spec(validation, "test set")
        elif train.validation_percent:
            val_split, split_seed = train.validation_percent, train.split_seed
        objective = self.objective_combo.currentData()
        if objective.startswith("validation") and test is None and not val_split:
            raise SweepError(f"The objective {objective.replace('_', ' ')} needs validation data: keep a share of "
                             f"{train.name} for validation (Data tab) or open a test set like it, or choose a "
                             "training objective")
        trials = self.trials_spin.value() or None
        experiment = Experiment(self._new_folder(network), data=data, test=test, val_split=val_split,
                                split_seed=split_seed, space=dict(self.space), config=config.to_dict(),
                                objective=objective, direction=OBJECTIVES[objective],
                                sampler=self.sampler_combo.currentData(), pruner=self.pruner_combo.currentData(),
                                trials=trials)
        check_objective(experiment, test is not None or bool(val_split),
                        getattr(train.dataset, "num_classes", None) is not None)
        if trials is None and not self.timeout_spin.value():
            raise SweepError("Give the sweep a budget: a number of trials or a time limit")
        return experiment

    @staticmethod
    def _spec(entry: DatasetEntry, role: str) -> str:
        origin = getattr(entry.dataset, "origin", None)
        if origin is None:
            raise SweepError(f"The {role} {entry.name} was not read from a file or source that the sweep's processes "
                             "can read again: import it in the Data tab from a file, a folder or a torchvision "
                             "dataset (each trial runs pytorchgui sweep, which reads the data itself)")
        return origin.to_spec()

    def _new_folder(self, network) -> Path:
        typed = self.folder_field.path()
        if typed:
            folder = Path(typed).expanduser()
            if (folder / Experiment.EXPERIMENT).exists():
                raise SweepError(f"{folder} holds an experiment already: Resume continues it, or clear the folder "
                                 "field for a new one")
            return folder
        name = Path(self.workspace.document.display_name).stem or "network"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]
        base = experiments_dir() / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{safe}"
        folder, counter = base, 2
        while folder.exists():
            folder, counter = base.with_name(f"{base.name}_{counter}"), counter + 1
        return folder

    # -- running ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QtCore.QProcess.NotRunning

    def start(self) -> bool:
        """Save the network into a new experiment folder and run the sweep on it."""
        from pytorchgui.core.training import network_format

        if self.running:
            return False
        try:
            experiment = self.new_experiment()
            experiment.folder.mkdir(parents=True, exist_ok=True)
            network_format.save(self.workspace.network, experiment.folder / Experiment.NETWORK)
        except PyTorchGUIError as error:
            show_error(self, "Cannot start the sweep", str(error))
            return False
        except OSError as error:
            show_error(self, "Cannot start the sweep", f"Cannot write the experiment folder: {error}")
            return False
        self.folder_field.edit.setText(str(experiment.folder))
        self.log_view.clear()
        return self._run(experiment)

    def resume(self) -> bool:
        """Run the shown experiment's sweep again: it goes on where it stopped."""
        if self.running or self.experiment is None:
            return False
        try:
            experiment = Experiment.read(self.experiment.folder)
        except SweepError as error:
            show_error(self, "Cannot resume the sweep", str(error))
            return False
        if self.trials_spin.value():  # a larger budget goes on further; the budget may change on a restart
            experiment.trials = self.trials_spin.value()
        chosen = {"sampler": self.sampler_combo.currentData(), "pruner": self.pruner_combo.currentData(),
                  "objective": self.objective_combo.currentData()}
        kept = [f"{name} {getattr(experiment, name)}" for name, value in chosen.items()
                if value != getattr(experiment, name)]
        if kept:  # what defines a study cannot change on a restart: say so rather than ignore the form
            self.log(f"Resume keeps the experiment's own {', '.join(kept)}; Start begins a new experiment with the "
                     "settings chosen here")
        return self._run(experiment)

    def _run(self, experiment: Experiment) -> bool:
        (experiment.folder / SPACE_FILE).write_text(json.dumps(experiment.space, indent=2), encoding="utf-8")
        timeout = self.timeout_spin.value() * 60 or None
        arguments = ["-m", "pytorchgui", *sweep_arguments(experiment, self.jobs_spin.value(), timeout)]
        self.experiment, self.stopping = experiment, False
        self.store_ready = (experiment.folder / Experiment.EXPERIMENT).exists()  # Resume: the store exists
        self.process = QtCore.QProcess(self)
        self.process.setProgram(sys.executable)
        self.process.setArguments(arguments)
        self.process.setProcessEnvironment(_environment())
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self.log("pytorchgui " + " ".join(arguments[2:]))
        self.process.start()
        self.timer.start()
        self._show_status()
        self._update_buttons()
        return True

    def stop(self) -> None:
        """SIGTERM: the sweep marks its running trial failed and ends; Resume continues it."""
        if self.running:
            self.stopping = True
            self.process.terminate()
            self.log("stopping: the running trial is marked failed, the finished ones stay")
            self._show_status()

    def wait(self, milliseconds: int = 30000) -> bool:
        return self.process is None or self.process.waitForFinished(milliseconds)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.log(line)
            if line.startswith(("sweep: ", "trial ")):
                self.store_ready = True

    def _read_stdout(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.log(f"best: {line}")

    def _process_error(self, error: QtCore.QProcess.ProcessError) -> None:
        if error == QtCore.QProcess.FailedToStart:
            self.log(f"cannot start {sys.executable}: {self.process.errorString()}")
            self._finished(-1, QtCore.QProcess.CrashExit)

    def _finished(self, code: int, _status=None) -> None:
        self.timer.stop()
        self.log("the sweep stopped; Resume continues it" if self.stopping else
                 "the sweep finished" if code == 0 else f"the sweep ended with an error (exit code {code}): see above")
        self.read()
        self._update_buttons()

    def log(self, line: str) -> None:
        self.log_view.appendPlainText(line)

    # -- reading the folder ----------------------------------------------------------------
    def choose_experiment(self) -> bool:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open an experiment folder", str(experiments_dir()))
        return bool(folder) and self.open_experiment(folder)

    def open_experiment(self, folder: str | Path) -> bool:
        """Show an experiment folder's space, settings and trials (Resume continues it)."""
        if self.running:
            show_status(self, "A sweep is running: stop it before opening another experiment")
            return False
        try:
            experiment = Experiment.read(folder)
        except SweepError as error:
            show_error(self, "Cannot open the experiment", str(error))
            return False
        self.experiment, self.snapshot, self.store_ready = experiment, None, True
        self.space = dict(experiment.space)
        for combo, value in ((self.sampler_combo, experiment.sampler), (self.pruner_combo, experiment.pruner),
                             (self.objective_combo, experiment.objective)):
            combo.setCurrentIndex(max(combo.findData(value), 0))
        self.trials_spin.setValue(experiment.trials or 0)
        self.folder_field.edit.setText(str(experiment.folder))
        self._show_space()
        self.read()
        self._update_buttons()
        return True

    def read(self) -> None:
        """Read the shown experiment's study on a worker thread; the tab shows it when done."""
        if self.experiment is None or (self.running and not self.store_ready):
            return
        if self._reading is not None:
            self._read_again = True  # the sweep's last trial may end while a read runs: read once more after it
            return
        folder, previous = self.experiment.folder, self.snapshot
        self._reading = run_in_thread(self, lambda: read_snapshot(folder, previous), self._read_done, self._read_failed)

    def _read_done(self, snapshot: Snapshot) -> None:
        self._reading = None
        if self.experiment is not None and snapshot.experiment.folder == self.experiment.folder:
            self.show_snapshot(snapshot)
        self._after_read()

    def _read_failed(self, error: Exception) -> None:
        self._reading = None
        if not isinstance(error, PyTorchGUIError):
            raise error  # a bug: the global hook shows and logs it
        if not self.running:  # while it runs, the folder may not hold the study yet
            self.status_label.setText(f"Cannot read the experiment: {first_line(error)}")
        self._after_read()

    def _after_read(self) -> None:
        if self._read_again:
            self._read_again = False
            self.read()

    def shutdown(self) -> None:
        """Before the window closes: no timer, no read left running."""
        self.timer.stop()
        if self._reading is not None:
            self._reading.wait()

    # -- showing ----------------------------------------------------------------------------
    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.status_label.setToolTip(f"The study was read in {snapshot.seconds * 1000:.0f} ms (on a worker thread)")
        self._show_trials(snapshot)
        self._show_coordinates(snapshot)
        self._show_importances(snapshot)
        self._show_curves(snapshot)
        self._show_status()
        self._update_buttons()

    def _show_trials(self, snapshot: Snapshot) -> None:
        objective = snapshot.experiment.objective
        columns = ["number", "state", *snapshot.space.names, objective, "epochs", "seconds"]
        table = self.trials_table
        selected = self.selected_run()
        table.setSortingEnabled(False)
        table.clear()
        table.setColumnCount(len(columns))
        table.setHorizontalHeaderLabels([_two_lines(name) for name in ["trial", "state", *snapshot.space.names,
                                                                       objective.replace("_", " "), "epochs",
                                                                       "seconds"]])
        table.setRowCount(len(snapshot.rows))
        for row, values in enumerate(snapshot.rows):
            for column, name in enumerate(columns):
                value = values.get(name)
                item = _SortItem(STATES_SHOWN.get(value, value) if name == "state" else value)
                item.setData(QtCore.Qt.UserRole, values["run"])
                table.setItem(row, column, item)
        table.setSortingEnabled(True)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        for row in range(table.rowCount()):
            if table.item(row, 0).data(QtCore.Qt.UserRole) == selected:
                table.selectRow(row)

    def _show_coordinates(self, snapshot: Snapshot) -> None:
        plot = self.coordinates_plot
        plot.clear()
        objective = snapshot.experiment.objective
        axes = [*snapshot.space.dimensions, None]  # None: the objective
        names = [*snapshot.space.names, objective]
        if not snapshot.rows:
            plot.addItem(_note(COORDINATES_NOTE, 0.5))
            return
        positions = [_axis_positions(dimension, [row.get(name) for row in snapshot.rows])
                     for dimension, name in zip(axes, names)]
        finished = [row[objective] for row in snapshot.rows if row["state"] == "COMPLETE" and row[objective] is not None]
        low, high = (min(finished), max(finished)) if finished else (0.0, 1.0)
        maximize = snapshot.experiment.direction == "maximize"
        colours = pyqtgraph.colormap.get("viridis")
        order = sorted(range(len(snapshot.rows)), key=lambda i: _drawing_order(snapshot.rows[i], objective, maximize))
        for index in order:
            row = snapshot.rows[index]
            ys = [axis[0][index] for axis in positions]
            if row["state"] == "COMPLETE" and row[objective] is not None:
                share = 0.5 if high == low else (row[objective] - low) / (high - low)
                # viridis up to 0.8: its last yellows are hard to see on white
                pen = pyqtgraph.mkPen(colours.map(0.8 * (share if maximize else 1 - share), mode="qcolor"), width=2)
            else:
                pen = pyqtgraph.mkPen(GREY, width=1, style=QtCore.Qt.DashLine)
            plot.plot(list(range(len(names))), ys, pen=pen, connect="finite")
        for index, (name, (_, labels)) in enumerate(zip(names, positions)):
            plot.addItem(pyqtgraph.InfiniteLine(index, angle=90, pen=pyqtgraph.mkPen("#868e96", width=1)))
            for value, text in labels:
                label = pyqtgraph.TextItem(text, color="#495057", anchor=(0, 0.5))
                label.setPos(index, value)
                plot.addItem(label)
        # the objective's axis, at the right edge, is named by its last word: a long name there is not drawn
        ticks = list(names[:-1]) + [objective.rsplit("_", 1)[-1]]  # the names as the space writes them
        plot.getAxis("bottom").setTicks([list(enumerate(ticks))])
        plot.setTitle(f"Trials: swept values and {objective.replace('_', ' ')}")
        plot.setXRange(-_first_axis_room(plot, ticks[0], len(names)), len(names) - 0.5, padding=0)
        plot.setYRange(-0.08, 1.08, padding=0)

    def _show_importances(self, snapshot: Snapshot) -> None:
        plot = self.importance_plot
        plot.clear()
        shown = sorted(snapshot.importances.items(), key=lambda item: item[1])
        if not shown:
            plot.getAxis("left").setTicks(None)
            plot.addItem(_note(IMPORTANCES_NOTE, 0.5))
            return
        plot.addItem(pyqtgraph.BarGraphItem(x0=0, y=list(range(len(shown))), height=0.6,
                                            width=[value for _, value in shown], brush="#1c7ed6"))
        plot.getAxis("left").setTicks([[(index, name) for index, (name, _) in enumerate(shown)]])
        plot.setXRange(0, 1, padding=0.04)  # shares of one whole: the bars of two sweeps compare
        plot.setYRange(-0.6, len(shown) - 0.4, padding=0)
        plot.setLabel("bottom", "share of the variance")

    def _show_curves(self, snapshot: Snapshot) -> None:
        plot = self.curves_plot
        plot.clear()
        plot.enableAutoRange(y=True)  # the empty plot's 0–1 would not hold a loss
        objective = snapshot.experiment.objective
        # the legend in the corner the curves leave empty: top left of rising ones, top right of falling ones
        plot.plotItem.legend.setOffset((10, 10) if snapshot.experiment.direction == "maximize" else (-10, 10))
        plot.setTitle(f"Best trials' {objective.replace('_', ' ')}")
        plot.setLabel("left", objective.replace("_", " "))
        if not snapshot.curves:
            plot.addItem(_note(CURVES_NOTE, 0.5))
            return
        colours = ("#e8590c", "#1c7ed6", "#2f9e44")
        shown = [(colour, row, snapshot.curves.get(row["number"], []))
                 for colour, row in zip(colours, best_rows(snapshot))]
        for colour, row, points in shown:
            if points:
                plot.plot([x for x, _ in points], [y for _, y in points], pen=pyqtgraph.mkPen(colour, width=2),
                          symbol="o", symbolSize=5, symbolBrush=colour,
                          name=f"trial {row['number']}: {row[objective]:.4g}")
        epochs = [x for _, _, points in shown for x, _ in points]
        if epochs:
            plot.setXRange(min(epochs), max(epochs), padding=0.06)

    def _show_status(self) -> None:
        if not self.space and self.experiment is None:
            self.status_label.setText(HOW_TO_ADD)
        elif self.experiment is None:
            self.status_label.setText("Press Start: the trials run in their own processes and fill the table, the "
                                      "plots and the log below as they finish.")
        else:
            snapshot, running = self.snapshot, self.running
            counts = "" if snapshot is None else _state_counts(snapshot.rows)
            best = best_rows(snapshot, 1) if snapshot is not None else []
            objective = self.experiment.objective
            said = f"; best trial {best[0]['number']}, {objective.replace('_', ' ')} {best[0][objective]:.4g}" if best \
                else ""
            state = "stopping" if running and self.stopping else "running" if running else "shown"
            self.status_label.setText(f"Experiment {self.experiment.folder.name} ({state}): {counts or 'no trial yet'}"
                                      f"{said}. Folder: {self.experiment.folder}")
        self.data_label.setText(self._data_text())

    def _data_text(self) -> str:
        # Resume runs on the shown experiment's own data, whatever the window has open now
        shown = self.experiment
        resumed = "" if shown is None else (
            f"Resume: {shown.data}, validated on "
            f"{shown.test or (f'{shown.val_split:g} % of it' if shown.val_split else 'none')}. Start: ")
        train = self.workspace.chosen_training_set
        if train is None:
            return f"{resumed or 'Data: '}none yet (open a training set in the Data tab)"
        validation = self.workspace.default_validation()
        checked = (validation.name if isinstance(validation, DatasetEntry) else
                   f"{train.validation_percent:g} % of it" if train.validation_percent else "none")
        return f"{resumed or 'Data: '}{train.name}, validated on {checked}; other options as in the Train tab"

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.experiment is not None)
        self.open_button.setEnabled(not running)
        self.open_trial_button.setEnabled(self.selected_run() is not None)

    # -- trials ---------------------------------------------------------------------------
    def selected_run(self) -> str | None:
        rows = self.trials_table.selectionModel().selectedRows() if self.trials_table.selectionModel() else []
        return self.trials_table.item(rows[0].row(), 0).data(QtCore.Qt.UserRole) if rows else None

    def open_selected_trial(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.trial_open_requested.emit(Path(run))


def _environment() -> QtCore.QProcessEnvironment:
    """The window's environment, with this package first on the path: the sweep runs the
    same pytorchgui as the window, installed or from a checkout."""
    import pytorchgui

    environment = QtCore.QProcessEnvironment.systemEnvironment()
    package_root = str(Path(pytorchgui.__file__).resolve().parent.parent)
    path = environment.value("PYTHONPATH", "")
    environment.insert("PYTHONPATH", package_root + (os.pathsep + path if path else ""))
    return environment


def experiments_dir() -> Path:
    """Where new experiments go: beside the runs folder."""
    return paths.runs_dir().parent / "experiments"


def _plot(title: str, name: str, bottom: pyqtgraph.AxisItem | None = None) -> pyqtgraph.PlotWidget:
    plot = pyqtgraph.PlotWidget(title=title, axisItems={"left": PlainAxis("left"),
                                                        "bottom": bottom or PlainAxis("bottom")})
    plot.setObjectName(name)
    plot.setBackground("w")
    plot.setMenuEnabled(False)
    plot.setMinimumWidth(220)
    return plot


def _note(text: str, y: float):
    note = empty_note(text, 220)
    note.setPos(0.5, y)
    return note


def _axis_positions(dimension, values: list[Any]) -> tuple[list[float], list[tuple[float, str]]]:
    """Each trial's place on one axis of the parallel coordinates, from 0 to 1 (a log range
    by its logarithm, choices in their order), and the axis's labels (value, text)."""
    if dimension is not None and dimension.choices:
        order = [repr(choice) for choice in dimension.choices]
        spread = max(len(order) - 1, 1)
        places = [order.index(repr(value)) / spread if repr(value) in order else math.nan for value in values]
        return places, [(index / spread, str(choice)) for index, choice in enumerate(dimension.choices)]
    log = dimension is not None and dimension.log

    def scaled(value):
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return math.nan
        return math.log10(value) if log and value > 0 else float(value)

    numbers = [scaled(value) for value in values]
    known = [number for number in numbers if not math.isnan(number)]
    if dimension is not None:  # the whole range swept, not only the values tried so far
        known += [scaled(dimension.low), scaled(dimension.high)]
    if not known:
        return numbers, []
    low, high = min(known), max(known)
    span = high - low or 1.0
    places = [(number - low) / span if not math.isnan(number) else math.nan for number in numbers]
    shown = (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{v:.4g}")
    return places, [(0.0, shown(low)), (1.0, shown(high))]


def _first_axis_room(plot: pyqtgraph.PlotWidget, name: str, axes: int) -> float:
    """How far left of the first axis the view starts, in axes: enough for half its name,
    which pyqtgraph centres on the axis and does not draw at all where it would cross the
    plot's edge. The room r holds half the name's width h when r * W / (axes - 0.5 + r) >= h,
    W being the view's width in pixels."""
    half = QtGui.QFontMetrics(plot.getAxis("bottom").style["tickFont"] or plot.font()).horizontalAdvance(name) / 2 + 4
    width = plot.getViewBox().width()
    if width <= 2 * half:
        return 0.2
    return max(0.2, half * (axes - 0.5) / (width - half))


def _two_lines(name: str) -> str:
    """A long column name over two lines, broken after its first dot or space
    ("conv1.\nout_channels", "validation\naccuracy"): one column sized to such a name
    pushed the last ones out of sight at 1280 pixels wide."""
    if len(name) <= 10:
        return name
    cut = min((name.find(mark) + 1 for mark in ". " if 0 < name.find(mark) < len(name) - 1), default=0)
    return f"{name[:cut].rstrip()}\n{name[cut:]}" if cut else name


def _drawing_order(row: dict[str, Any], objective: str, maximize: bool) -> tuple:
    """Grey lines first, then the finished ones from worst to best: the best is drawn on top."""
    value = row.get(objective)
    if row["state"] != "COMPLETE" or value is None:
        return (0, 0.0)
    return (1, value if maximize else -value)


def _state_counts(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"].lower()] = counts.get(row["state"].lower(), 0) + 1
    order = ("complete", "pruned", "running", "fail")
    words = {"complete": "finished", "fail": "failed"}
    return ", ".join(f"{counts[state]} {words.get(state, state)}" for state in order if state in counts)

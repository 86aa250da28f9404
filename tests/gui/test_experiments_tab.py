"""The Experiments tab: Sweep this… from the forms, the range dialog's checks, a real sweep
run from the tab, and a trial opened as the current network."""
from pathlib import Path
from types import SimpleNamespace

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.gui.sweep_dialog import SWEEP_ACTION


def _sweep_from(field) -> None:
    """Right-click the field and choose Sweep this… (the menu's action, without showing it)."""
    menu = field.sweep_menu.menu(field.editor)
    action = next(action for action in menu.actions() if action.objectName() == SWEEP_ACTION)
    action.trigger()


def test_before_any_dimension_the_tab_says_how_to_add_one(window):
    tab = window.experiments_tab
    assert window.tabs.tabText(window.tabs.indexOf(window.experimentsTab)).replace("&", "") == "Experiments"
    assert "Sweep this…" in tab.space_hint.text() and "right-click a training option" in tab.space_hint.text().lower()
    assert tab.space_hint.isVisibleTo(tab) and not tab.space_table.isVisibleTo(tab)
    assert "Sweep this…" in tab.status_label.text()
    assert not tab.stop_button.isEnabled() and not tab.resume_button.isEnabled()
    tab.start()  # nothing to sweep: refused with the same advice
    box = window.findChild(QtWidgets.QMessageBox, "errorBox")
    assert box is not None and "Nothing to sweep" in box.text()
    box.close()


def test_sweep_this_adds_a_layer_parameter_and_a_training_option(window):
    tab = window.experiments_tab
    window.network_tab.select(["conv1"])
    _sweep_from(window.network_tab.inspector.forms["node"].fields["out_channels"])
    dialog = tab.sweep_dialog
    assert dialog.windowTitle() == "Sweep conv1.out_channels" and dialog.range_button.isChecked()
    assert (dialog.low_edit.text(), dialog.high_edit.text()) == ("3", "12")  # half to twice its 6
    dialog.step_edit.setText("3")
    dialog.accept()
    assert tab.space == {"conv1.out_channels": {"low": 3, "high": 12, "step": 3}}

    _sweep_from(window.train_tab.options.fields["batch_size"])
    dialog = tab.sweep_dialog  # batch sizes by powers of two: half, once and twice the current 128
    assert dialog.choices_button.isChecked() and dialog.choices_edit.text() == "64, 128, 256"
    dialog.choices_edit.setText("64, 128")
    dialog.accept()
    assert tab.space["batch_size"] == {"choices": [64, 128]}
    assert [tab.space_table.item(row, 0).text() for row in range(2)] == ["conv1.out_channels", "batch_size"]
    assert tab.space_table.item(0, 1).text() == "3 to 12, step 3" and not tab.space_hint.isVisibleTo(tab)
    tab.space_table.selectRow(1)
    tab.findChild(QtWidgets.QPushButton, "removeDimensionButton").click()
    assert list(tab.space) == ["conv1.out_channels"]


def test_a_refused_range_shows_core_s_message_in_the_dialog(window):
    tab = window.experiments_tab
    dialog = tab.sweep_this("lr")
    assert dialog.log_box.isChecked()  # a learning rate is searched on a log scale
    dialog.low_edit.setText("0")
    dialog.accept()
    assert dialog.isVisible() and "a log range must start above 0" in dialog.error_label.text()
    assert "lr" not in tab.space
    dialog.reject()
    assert tab.sweep_this("conv9.out_channels") is None  # no such node: said, no dialog
    box = window.findChild(QtWidgets.QMessageBox, "errorBox")
    assert "no node 'conv9'" in box.text()
    box.close()


def test_opening_a_trial_sets_the_network_and_the_training_options(window, tmp_path):
    from pytorchgui.core.training.runs import RunFolder

    network = window.workspace.network.copy()
    network.set_parameters("conv1", {**network.node("conv1").parameters, "out_channels": 12})
    run = RunFolder(tmp_path / "2026-12-03_15-24-35_lenet5" / "trials" / "trial-0003")
    run.write_start(network, {"training": TrainingConfig(epochs=3, batch_size=32).to_dict()})
    assert window.open_trial(run.path)
    assert window.workspace.network.node("conv1").parameters["out_channels"] == 12
    # named without the experiment's start time: a run of it was named with two
    assert window.document.path is None and window.document.display_name.startswith("lenet5_trial-0003.json")
    assert (window.workspace.training_config.epochs, window.train_tab.batch_spin.value()) == (3, 32)


def test_a_sweep_started_in_the_tab_fills_the_table(qtbot, window, tmp_path):
    from pytorchgui.core.data.data_source import builtin_pair

    train, test = builtin_pair(200, 100)
    window.workspace.add_dataset(train, "train")
    window.workspace.add_dataset(test, "test")
    window.workspace.set_training_config(window.workspace.training_config.replace(epochs=1, threads=1))
    tab = window.experiments_tab
    tab.set_dimension("lr", {"low": 0.001, "high": 0.1, "log": True})
    tab.trials_spin.setValue(2)
    tab.folder_field.edit.setText(str(tmp_path / "exp"))
    assert tab.start() and tab.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.running and tab._reading is None and tab.snapshot is not None
                    and len(tab.snapshot.rows) == 2, timeout=90000)
    table = tab.trials_table
    headers = [table.horizontalHeaderItem(column).text() for column in range(table.columnCount())]
    assert headers == ["trial", "state", "lr", "validation\naccuracy", "epochs", "seconds"]
    assert [table.item(row, 1).text() for row in range(2)] == ["complete"] * 2
    table.sortItems(2, QtCore.Qt.AscendingOrder)  # lr: sorted as numbers
    rates = [table.item(row, 2).value for row in range(2)]
    assert rates == sorted(rates)
    assert "sweep: lr from 0.001 to 0.1, log" in tab.log_view.toPlainText()
    assert tab.resume_button.isEnabled() and "2 finished" in tab.status_label.text()
    assert tab.snapshot.curves and Path(tab.experiment.folder / "trials.csv").is_file()
    table.selectRow(0)
    tab.open_trial_button.click()
    assert window.document.display_name.startswith("exp_trial-")
    # its weights are the Evaluation tab's choice, though the runs folder does not hold the trial
    weights = window.evaluation_tab.weights_combo
    assert weights.currentText().startswith("Trial trial-") and weights.currentData() == Path(tab.selected_run())
    assert window.evaluation_tab.trained_model().weights.name == "best_weights.pt"


def test_the_trials_table_shows_every_column_at_1280_pixels_wide(qtbot, window):
    """Long names (a node's parameter, the objective) take two lines of the header: sized to
    one, the seconds column was out of sight."""
    window.resize(1280, 820)
    window.tabs.setCurrentWidget(window.experimentsTab)
    names = ["lr", "batch_size", "conv1.out_channels"]
    rows = [{"number": number, "state": "COMPLETE", "lr": 0.0072731, "batch_size": 128, "conv1.out_channels": 16,
             "validation_accuracy": 0.8975, "epochs": 3, "seconds": 12.5321, "run": f"/runs/{number}"}
            for number in range(3)]
    tab = window.experiments_tab
    tab._show_trials(SimpleNamespace(experiment=SimpleNamespace(objective="validation_accuracy"),
                                     space=SimpleNamespace(names=names), rows=rows))
    table = tab.trials_table
    qtbot.waitUntil(lambda: table.viewport().width() > 0)
    headers = [table.horizontalHeaderItem(column).text() for column in range(table.columnCount())]
    assert headers == ["trial", "state", "lr", "batch_size", "conv1.\nout_channels", "validation\naccuracy",
                       "epochs", "seconds"]
    for column in (0, 5):  # the sort arrow's room goes with the sorted column
        table.sortItems(column, QtCore.Qt.DescendingOrder)
        assert table.horizontalHeader().length() <= table.viewport().width()
        assert not table.horizontalScrollBar().isVisible()


def test_the_axes_names_under_the_parallel_coordinates_are_not_cut(window):
    """The names' row was sized for digits: the underscore of batch_size fell below it."""
    from PyQt5 import QtGui

    axis = window.experiments_tab.coordinates_plot.getAxis("bottom")
    font = axis.style["tickFont"] or window.experiments_tab.font()
    assert axis.height() >= QtGui.QFontMetrics(font).boundingRect("batch_size").height()


def test_data_the_sweep_cannot_read_again_is_refused_with_a_reason(window):
    from pytorchgui.core.data.data_source import builtin_pair

    train, test = builtin_pair(200, 100)
    train.origin = None  # as data built in memory: the sweep's processes could not read it
    window.workspace.add_dataset(train, "train")
    window.workspace.add_dataset(test, "test")
    tab = window.experiments_tab
    tab.set_dimension("lr", {"low": 0.001, "high": 0.1, "log": True})
    assert not tab.start() and tab.process is None
    box = window.findChild(QtWidgets.QMessageBox, "errorBox")
    assert "Shapes" in box.text() and "was not read from a file or source" in box.text()
    box.close()


def test_the_first_axis_of_the_parallel_coordinates_is_named(window, tmp_path):
    """pyqtgraph drops a tick label that crosses the axis's end: the first axis's name,
    centred on the plot's left edge, was never drawn."""
    from PyQt5 import QtGui

    from pytorchgui.core.training.sweeps import Experiment, SearchSpace
    from pytorchgui.gui.experiments_tab import Snapshot

    raw = {"conv1.out_channels": {"low": 4, "high": 12}, "lr": {"low": 0.001, "high": 0.1, "log": True}}
    config = window.workspace.training_config
    experiment = Experiment(tmp_path, "builtin:100", raw, config.to_dict(), val_split=20)
    rows = [{"number": number, "state": "COMPLETE", "conv1.out_channels": width, "lr": rate,
             "validation_accuracy": accuracy, "epochs": 2, "seconds": 1.0, "run": str(tmp_path / f"t{number}")}
            for number, width, rate, accuracy in ((0, 4, 0.01, 0.8), (1, 12, 0.002, 0.9))]
    tab = window.experiments_tab
    window.tabs.setCurrentWidget(window.experimentsTab)
    tab.show_snapshot(Snapshot(experiment, SearchSpace.parse(raw, window.workspace.network, config), rows))
    image = QtGui.QImage(10, 10, QtGui.QImage.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        drawn = [text for _, _, text in tab.coordinates_plot.getAxis("bottom").generateDrawSpecs(painter)[2]]
    finally:
        painter.end()
    assert drawn == ["conv1.out_channels", "lr", "accuracy"]


def test_a_shown_experiment_names_the_data_and_settings_resume_keeps(window, tmp_path, monkeypatch):
    """After Open experiment, Resume runs on the experiment's own data and sampler, not the
    window's: the tab says both."""
    from pytorchgui.core.training.sweeps import Experiment

    experiment = Experiment(tmp_path / "exp", "builtin:300", {"lr": {"low": 0.001, "high": 0.1, "log": True}},
                            window.workspace.training_config.to_dict(), test="builtin:100", sampler="random")
    experiment.create(window.workspace.network)
    tab = window.experiments_tab
    assert tab.open_experiment(experiment.folder)
    assert tab.data_label.text().startswith("Resume: builtin:300, validated on builtin:100. Start: ")
    tab.sampler_combo.setCurrentIndex(tab.sampler_combo.findData("tpe"))
    started = []
    monkeypatch.setattr(tab, "_run", lambda experiment: started.append(experiment) or True)
    assert tab.resume() and started[0].sampler == "random"
    assert "Resume keeps the experiment's own sampler random" in tab.log_view.toPlainText()

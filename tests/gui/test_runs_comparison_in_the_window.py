"""The Runs table compares runs: settings and result columns sorted as numbers, tags and
notes edited in place, the diff of two runs, a legend naming what differs, delete."""
import json

import pytest
from PyQt5 import QtCore, QtWidgets

from gui_helpers import error_boxes
from pytorchgui import paths
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.training import network_format
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.runs import RunFolder
from pytorchgui.core.training.trainer import Trainer
from pytorchgui.gui import train_tab as train_tab_module
from pytorchgui.gui.runs_view import COLUMN_NAMES, row_path

LENET = paths.example_networks_dir() / "lenet5.json"


@pytest.fixture(scope="module")
def shapes():
    return builtin_pair(64, 32)


def train_run(shapes, lr: float, batch_size: int) -> RunFolder:
    """One epoch of LeNet-5 on a few built-in shapes, trained by the Trainer into the runs folder."""
    network = network_format.load(LENET)
    network.set_optimizer("SGD", {"lr": lr})
    folder = RunFolder.new(paths.runs_dir(), "lenet5")
    Trainer(network, shapes[0], TrainingConfig(epochs=1, batch_size=batch_size, threads=1),
            validation_set=shapes[1], run_dir=folder).run()
    return folder


@pytest.fixture
def two_runs(window, shapes):
    """(train tab, [run with lr 0.05 batch 8, run with lr 0.1 batch 32]) in the Runs table."""
    runs = [train_run(shapes, 0.05, 8), train_run(shapes, 0.1, 32)]
    tab = window.train_tab
    window.tabs.setCurrentIndex(2)
    tab.bottom_tabs.setCurrentIndex(1)
    tab.refresh_runs()
    return tab, runs


def cell(tab, row: int, column: str) -> str:
    return tab.runs_table.item(row, COLUMN_NAMES.index(column)).text()


def select(tab, folders) -> None:
    table = tab.runs_table
    table.clearSelection()
    for row in range(table.rowCount()):
        if row_path(table, row) in {folder.path for folder in folders}:
            table.selectionModel().select(table.model().index(row, 0),
                                          QtCore.QItemSelectionModel.Select | QtCore.QItemSelectionModel.Rows)


def test_columns_show_network_settings_and_result_and_sort_as_numbers(two_runs):
    tab, runs = two_runs
    table = tab.runs_table
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == COLUMN_NAMES
    assert cell(tab, 0, "Run") == runs[1].name  # newest first
    row = [cell(tab, 0, column) for column in ("Network", "Optimizer", "LR", "Batch", "Epochs", "Schedule")]
    assert row == ["lenet5 · 12 nodes", "SGD", "0.1", "32", "1/1", "none"]
    assert cell(tab, 0, "Best val.").endswith("%") and cell(tab, 0, "Status") == "finished"
    table.sortByColumn(COLUMN_NAMES.index("Batch"), QtCore.Qt.DescendingOrder)
    assert [cell(tab, row, "Batch") for row in range(2)] == ["32", "8"]  # as text "8" would come first
    table.sortByColumn(COLUMN_NAMES.index("Batch"), QtCore.Qt.AscendingOrder)
    assert [cell(tab, row, "Batch") for row in range(2)] == ["8", "32"]


def test_the_result_shows_without_scrolling_in_a_1280_pixel_window(qtbot, window, two_runs):
    """Fourteen columns do not fit the Runs panel; the best validation figure comes before the
    settings (it was the twelfth column, out of sight), and the rest scroll."""
    tab, _ = two_runs
    window.resize(1280, 820)
    table = tab.runs_table
    qtbot.waitUntil(lambda: table.viewport().width() > 0)
    best = COLUMN_NAMES.index("Best val.")
    assert table.columnViewportPosition(best) + table.columnWidth(best) <= table.viewport().width()


def test_tags_edited_in_the_table_are_kept_in_the_run_folder(qtbot, two_runs):
    tab, runs = two_runs
    table = tab.runs_table
    item = table.item(1, COLUMN_NAMES.index("Tags"))  # the older run
    table.editItem(item)
    editor = table.findChild(QtWidgets.QLineEdit)
    editor.setText("baseline,, small batch ")
    qtbot.keyClick(editor, QtCore.Qt.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QtWidgets.QAbstractItemView.EditingState)  # the commit is queued
    assert json.loads(runs[0].file("notes.json").read_text()) == {"tags": ["baseline", "small batch"], "notes": ""}
    assert item.text() == "baseline, small batch"
    tab.refresh_runs()
    assert cell(tab, 1, "Tags") == "baseline, small batch" and cell(tab, 0, "Tags") == ""
    item = table.item(0, COLUMN_NAMES.index("Run"))
    assert not item.flags() & QtCore.Qt.ItemIsEditable  # only tags and notes are edited


def test_diff_dialog_and_legend_name_what_differs(qtbot, two_runs):
    tab, runs = two_runs
    select(tab, runs)
    assert [run["path"] for run in tab.selected_runs()] == [runs[1].path, runs[0].path]
    tab.runs_table.customContextMenuRequested.emit(QtCore.QPoint(5, 5))  # a right-click
    menu = tab.runs_table.findChild(QtWidgets.QMenu, "runsMenu")
    assert [action.text() for action in menu.actions() if action.isEnabled()] == [
        "Compare settings…", "Overlay selected runs", "Delete…"]
    menu.close()
    dialog = tab.compare_selected_runs()
    rows = {dialog.table.item(row, 0).text(): (dialog.table.item(row, 1).text(), dialog.table.item(row, 2).text())
            for row in range(dialog.table.rowCount())}
    assert rows == {"optimizer · lr": ("0.1", "0.05"), "batch size": ("32", "8")}
    assert dialog.summary.text() == "2 settings differ."
    dialog.show_all.setChecked(True)
    assert dialog.table.rowCount() > 50 and dialog.table.item(0, 0).text() == "network"
    dialog.show_all.setChecked(False)
    dialog.grab().save("/tmp/runs_diff_dialog.png")
    dialog.close()
    tab.overlay_selected_runs()
    names = sorted(item.name() for item in tab.epoch_plot.listDataItems() if getattr(item, "overlay", False))
    assert names == ["lr 0.05 · batch 8 (validation)", "lr 0.1 · batch 32 (validation)"]


def test_delete_after_confirming_where_there_is_no_trash(two_runs, answers, monkeypatch):
    tab, runs = two_runs
    monkeypatch.setattr(train_tab_module, "move_to_trash", lambda path: False)
    select(tab, runs[:1])
    assert not tab.delete_selected_runs()  # the question's default: Cancel
    assert runs[0].path.is_dir() and tab.runs_table.rowCount() == 2
    answers.append(QtWidgets.QMessageBox.Yes)
    select(tab, runs)
    tab.overlay_selected_runs()
    tab.overlay_selected_runs()  # again: it replaces the overlay, it does not stack a second one
    assert len([item for item in tab.epoch_plot.listDataItems() if getattr(item, "overlay", None)]) == 2
    select(tab, runs[:1])
    assert tab.delete_selected_runs()
    assert not runs[0].path.exists() and tab.runs_table.rowCount() == 1 and runs[1].path.is_dir()
    left = [item.opts["name"] for item in tab.epoch_plot.listDataItems() if getattr(item, "overlay", None)]
    assert len(left) == 1  # the deleted run's curve went with it


def test_delete_moves_runs_to_the_trash(two_runs, tmp_path, monkeypatch):
    tab, runs = two_runs
    # this test's trash, not the user's; its folder does not exist yet, where Qt 5.15 alone would
    # move the runs to ./files under the working folder and report success
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    select(tab, runs)
    assert tab.delete_selected_runs()
    assert tab.runs_table.rowCount() == 0 and not runs[0].path.exists()
    assert sorted(p.name for p in (tmp_path / "share" / "Trash" / "files").iterdir()) == sorted(r.name for r in runs)


def test_the_run_training_now_cannot_be_deleted(qtbot, window, shapes):
    window.workspace.add_dataset(shapes[0], "train")
    tab = window.train_tab
    tab.epochs_spin.setValue(200)
    tab.batch_spin.setValue(32)
    assert tab.start()
    try:
        qtbot.waitUntil(lambda: tab.running_folder is not None and tab.running_folder.is_dir(), timeout=20000)
        tab.refresh_runs()
        tab.runs_table.selectRow(0)
        assert not tab.delete_selected_runs()
        assert "is training now: stop it first" in error_boxes(tab)[-1].text() and tab.running_folder.is_dir()
    finally:  # a run left training would outlive the window
        tab.stop()
        qtbot.waitUntil(lambda: tab.task is None, timeout=30000)


def test_a_refresh_keeps_the_selected_runs_not_the_selected_rows(two_runs, shapes, tmp_path, monkeypatch):
    tab, runs = two_runs
    select(tab, runs[:1])  # the older run, on the second row
    newer = train_run(shapes, 0.2, 16)
    tab.refresh_runs()  # the new run takes the first row
    assert [run["path"] for run in tab.selected_runs()] == [runs[0].path]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    select(tab, [newer])
    assert tab.delete_selected_runs()
    assert tab.selected_runs() == []  # not the run that moved up into the deleted one's row

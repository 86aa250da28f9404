"""The Runs table's parts: its columns (sortable, numbers as numbers), the tags and notes a
user edits in it, moving runs to the trash, and the dialog of two runs' differences.

What a run holds is read by core (core/training/run_comparison.py); this module shows it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.training.run_comparison import ComparisonRow, compare_runs, shown_value
from pytorchgui.core.training.runs import RunFolder
from pytorchgui.core.wording import counted
from pytorchgui.gui.widgets import read_only_table

PATH_ROLE = QtCore.Qt.UserRole  # column 0: the run folder's path, which finds the run whatever the sort
SORT_ROLE = QtCore.Qt.UserRole + 1  # every column: what it sorts by (a number, where it shows one)
TAGS, NOTES = "Tags", "Notes"


def _figure(value, shown: str) -> tuple[str, Any]:
    return ("", None) if value is None else (format(value, shown), value)


def _plain(value) -> tuple[str, Any]:
    if value is None:
        return "", None
    return shown_value(value), value if isinstance(value, (int, float)) else str(value)


def _network(run) -> tuple[str, Any]:
    if run.get("network") is None:
        return "", None
    return f"{run['network']} · {run['nodes']} nodes", run["network"].lower()


def _epochs(run) -> tuple[str, Any]:
    done, planned = run.get("epochs_done"), run.get("epochs")
    if done is None:
        return "", None
    return (f"{done}/{planned}" if planned is not None else str(done)), done


def _best(run) -> tuple[str, Any]:
    """The best validation accuracy, or for a run without one (a regression) the best
    validation loss. Sorted so that better is higher: accuracies above losses, each best first
    when sorted descending."""
    accuracy, loss = run.get("best_validation_accuracy"), run.get("best_validation_loss")
    if accuracy is not None:
        return f"{accuracy:.1%}", 1 + accuracy
    if loss is not None:
        return f"loss {loss:.4g}", -loss
    return "", None


# header, what the cell shows and sorts by, its tooltip; the result before the settings, where
# the Runs panel shows it without scrolling
RUN_COLUMNS: tuple[tuple[str, Callable[[dict], tuple[str, Any]], str], ...] = (
    ("Run", lambda run: (run["name"], run["name"]), ""),
    ("Status", lambda run: _plain(run.get("status")), "How the run ended"),
    ("Best val.", _best, "The best validation accuracy of any epoch (a regression: the best validation loss)"),
    ("Network", _network, "The network's name and its number of nodes"),
    ("Optimizer", lambda run: _plain(run.get("optimizer")), ""),
    ("LR", lambda run: _plain(run.get("learning_rate")), "The optimizer's learning rate"),
    ("Batch", lambda run: _plain(run.get("batch_size")), "Batch size"),
    ("Epochs", _epochs, "Epochs trained / planned"),
    ("Schedule", lambda run: _plain(run.get("schedule")), "Learning-rate schedule"),
    ("Train loss", lambda run: _figure(run.get("train_loss"), ".4f"), "After the last epoch"),
    ("Val. loss", lambda run: _figure(run.get("validation_loss"), ".4f"), "After the last epoch"),
    ("Val. acc.", lambda run: _figure(run.get("validation_accuracy"), ".1%"), "After the last epoch"),
    (TAGS, lambda run: (", ".join(run.get("tags", [])),) * 2, "Double-click to edit: words separated by commas"),
    (NOTES, lambda run: (run.get("notes", ""),) * 2, "Double-click to edit"),
)
COLUMN_NAMES = [header for header, _, _ in RUN_COLUMNS]
TAGS_COLUMN, NOTES_COLUMN = COLUMN_NAMES.index(TAGS), COLUMN_NAMES.index(NOTES)
EDITABLE_COLUMNS = (TAGS_COLUMN, NOTES_COLUMN)


class SortableItem(QtWidgets.QTableWidgetItem):
    """A cell sorted by its SORT_ROLE value: numbers as numbers, empty cells last."""

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            return mine is not None and theirs is None
        if isinstance(mine, str) != isinstance(theirs, str):
            return not isinstance(mine, str)
        return mine < theirs


def run_items(run: dict[str, Any]) -> list[SortableItem]:
    """One row of the table: a cell for each column; only tags and notes editable."""
    problems = "\n".join(run.get("problems", []))
    items = []
    for column, (_, cell, tip) in enumerate(RUN_COLUMNS):
        text, key = cell(run)
        item = SortableItem(text)
        item.setData(SORT_ROLE, key)
        item.setToolTip(problems or (str(run["path"]) if column == 0 else tip))
        if column not in EDITABLE_COLUMNS:
            item.setFlags(item.flags() & ~QtCore.Qt.ItemIsEditable)
        items.append(item)
    items[0].setData(PATH_ROLE, str(run["path"]))
    if problems:
        items[0].setText(f"⚠ {run['name']}")
    return items


def fill_runs_table(table: QtWidgets.QTableWidget, runs: list[dict[str, Any]]) -> None:
    """Refill `table` with `runs`, kept in the order the user sorted it by; the runs
    selected stay selected, wherever they move (a selection kept by row would pass to the
    run that moves into a deleted one's row, or to a new run)."""
    selected = {str(row_path(table, index.row())) for index in table.selectionModel().selectedRows()}
    blocker = QtCore.QSignalBlocker(table)  # refilling is no edit of the user's
    table.setSortingEnabled(False)  # else each cell set would sort the rows under the loop
    table.setRowCount(len(runs))
    for row, run in enumerate(runs):
        for column, item in enumerate(run_items(run)):
            table.setItem(row, column, item)
    table.setSortingEnabled(True)
    del blocker
    selection = QtCore.QItemSelection()
    for row in range(table.rowCount()):
        if str(row_path(table, row)) in selected:
            selection.select(table.model().index(row, 0), table.model().index(row, table.columnCount() - 1))
    table.selectionModel().select(selection, QtCore.QItemSelectionModel.ClearAndSelect)


def runs_table() -> QtWidgets.QTableWidget:
    """The Runs table: sortable by any column, tags and notes edited by double-click."""
    table = read_only_table(COLUMN_NAMES, "runsTable", stretch=COLUMN_NAMES.index(NOTES), sortable=True)
    table.setEditTriggers(QtWidgets.QAbstractItemView.DoubleClicked | QtWidgets.QAbstractItemView.EditKeyPressed)
    table.setWordWrap(False)
    for column, (_, _, tip) in enumerate(RUN_COLUMNS):
        table.horizontalHeaderItem(column).setToolTip(tip)
    table.sortByColumn(0, QtCore.Qt.DescendingOrder)  # newest first: names start with the time
    table.setContextMenuPolicy(QtCore.Qt.CustomContextMenu)
    return table


def row_path(table: QtWidgets.QTableWidget, row: int) -> Path:
    return Path(table.item(row, 0).data(PATH_ROLE))


def move_to_trash(path: Path) -> bool:
    """Move a run folder to the system's trash (Qt 5.15 and later); False where Qt cannot.

    Qt 5.15 on Linux, when it cannot make the trash folder under $XDG_DATA_HOME (which does
    not exist yet), reports success and moves the folder to ./files under the working
    folder: the data folder is made first, and a move anywhere but a trash is undone."""
    if not hasattr(QtCore.QFile, "moveToTrash"):
        return False
    if sys.platform.startswith("linux"):
        data = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.GenericDataLocation)
        if not data or not QtCore.QDir().mkpath(data):
            return False
    moved, where = QtCore.QFile.moveToTrash(str(path))
    if moved and where and not Path(where).is_absolute():
        QtCore.QDir().rename(where, str(path))
        return False
    return bool(moved)


def confirm_delete(parent: QtWidgets.QWidget, names: list[str]) -> bool:
    """Whether to delete these runs for good (where there is no trash to move them to)."""
    listed = "\n".join(names[:12]) + (f"\nand {len(names) - 12} more" if len(names) > 12 else "")
    answer = QtWidgets.QMessageBox.question(
        parent, "Delete runs", f"Delete {counted(len(names), 'run')} for good, with their weights and curves? "
                               f"There is no trash to move them to here.\n\n{listed}",
        QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.Cancel, QtWidgets.QMessageBox.Cancel)
    return answer == QtWidgets.QMessageBox.Yes


class RunsDiffDialog(QtWidgets.QDialog):
    """Two runs' settings and networks side by side: the settings that differ, or all."""

    def __init__(self, a: RunFolder, b: RunFolder, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runsDiffDialog")
        self.setWindowTitle(f"Settings of {a.name} and {b.name}")
        self.resize(880, 560)
        self.runs = (a, b)
        layout = QtWidgets.QVBoxLayout(self)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("diffSummary")
        self.summary.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setObjectName("diffTable")
        self.table.setHorizontalHeaderLabels(["Setting", a.name, b.name])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.Stretch)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeToContents)
        header.setTextElideMode(QtCore.Qt.ElideMiddle)  # a narrow column keeps the date's start and the name's end
        for column, folder in ((1, a), (2, b)):
            self.table.horizontalHeaderItem(column).setToolTip(str(folder.path))
        self.show_all = QtWidgets.QCheckBox("Show all settings")
        self.show_all.setObjectName("showAllSettings")
        self.show_all.setToolTip("Every setting of either run, those that differ in bold")
        self.show_all.toggled.connect(self.refresh)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.show_all)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.refresh()

    def rows(self) -> list[ComparisonRow]:
        return compare_runs(*self.runs, everything=self.show_all.isChecked())

    def refresh(self) -> None:
        rows = self.rows()
        differing = sum(row.differs for row in rows)
        self.summary.setText(f"{differing} setting{'s' if differing != 1 else ''} differ"
                             f"{'s' if differing == 1 else ''}." if differing else
                             "The two runs were trained with the same settings and network.")
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate((row.setting, row.value_a, row.value_b)):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                if row.differs and self.show_all.isChecked():
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(index, column, item)

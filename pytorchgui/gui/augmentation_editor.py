"""The augmentation pipeline as an ordered list: add an operation from the catalogue,
reorder, remove, and edit the selected one's parameters in a generated form.

The pipeline's text (what config.json, a `$recipe` and `--augment` hold) is the editor's
value; it is shown under the list, selectable, to copy to a command line.
"""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.data.augmentation import Pipeline, Step, operation_catalog
from pytorchgui.core.errors import TrainingError
from pytorchgui.gui.forms import ParameterForm


class AugmentationEditor(QtWidgets.QWidget):
    changed = QtCore.pyqtSignal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("augmentationEditor")
        self.steps: list[Step] = []
        self.form: ParameterForm | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("augmentationList")
        self.list.setMaximumHeight(110)
        self.list.currentRowChanged.connect(self._show_form)
        layout.addWidget(self.list)
        layout.addLayout(self._buttons())
        self.form_box = QtWidgets.QWidget()
        QtWidgets.QVBoxLayout(self.form_box).setContentsMargins(12, 0, 0, 0)
        layout.addWidget(self.form_box)
        self.text_label = QtWidgets.QLabel()
        self.text_label.setObjectName("augmentationText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        layout.addWidget(self.text_label)
        self._refresh()

    def _buttons(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QToolButton()
        self.add_button.setObjectName("addAugmentation")
        self.add_button.setText("Add ▾")
        self.add_button.setPopupMode(QtWidgets.QToolButton.InstantPopup)
        menu = QtWidgets.QMenu(self.add_button)
        category = None
        for name, operation in operation_catalog().items():
            if operation.entry.category != category:
                category = operation.entry.category
                menu.addSection(category.capitalize())
            action = menu.addAction(name, lambda name=name: self.add(name))
            action.setToolTip(operation.entry.description)
        menu.setToolTipsVisible(True)
        self.add_button.setMenu(menu)
        row.addWidget(self.add_button)
        for text, name, slot in (("↑", "augmentationUp", lambda: self._move(-1)),
                                 ("↓", "augmentationDown", lambda: self._move(1)),
                                 ("Remove", "removeAugmentation", self.remove_current)):
            button = QtWidgets.QToolButton()
            button.setText(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        return row

    # -- the value -------------------------------------------------------------------------
    def text(self) -> str:
        return Pipeline(tuple(self.steps)).text()

    def set_text(self, text: str) -> None:
        """Show the pipeline `text` describes (TrainingError if it is refused); `changed`
        tells the others (the Data tab's preview) when it differs."""
        steps = list(Pipeline.parse(text).steps)
        if steps != self.steps:
            self.steps = steps
            self._refresh(select=0 if steps else -1)

    # -- editing ---------------------------------------------------------------------------
    def add(self, name: str) -> None:
        self.steps.append(Pipeline.make_step(name, {}))
        self._refresh(select=len(self.steps) - 1)

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.steps):
            del self.steps[row]
            self._refresh(select=min(row, len(self.steps) - 1))

    def _move(self, offset: int) -> None:
        row = self.list.currentRow()
        target = row + offset
        if 0 <= row < len(self.steps) and 0 <= target < len(self.steps):
            self.steps[row], self.steps[target] = self.steps[target], self.steps[row]
            self._refresh(select=target)

    def _refresh(self, select: int | None = None) -> None:
        blocker = QtCore.QSignalBlocker(self.list)
        self.list.clear()
        for step in self.steps:
            item = QtWidgets.QListWidgetItem(step.text())
            item.setToolTip(step.operation.entry.description)
            self.list.addItem(item)
        if not self.steps:
            empty = QtWidgets.QListWidgetItem("No augmentation: Add ▾ an operation")
            empty.setFlags(QtCore.Qt.NoItemFlags)
            self.list.addItem(empty)
        if select is not None:
            self.list.setCurrentRow(select)
        del blocker
        self._show_form(self.list.currentRow())
        text = self.text()
        self.text_label.setText(f"<small>--augment \"{text}\"</small>" if text else "")
        self.changed.emit(text)

    def _show_form(self, row: int) -> None:
        if self.form is not None:
            self.form.hide()  # at once: deleteLater leaves it painted until the event loop turns
            self.form.deleteLater()
            self.form = None
        if not 0 <= row < len(self.steps):
            return
        step = self.steps[row]
        self.form = ParameterForm(step.operation.entry, dict(step.values), compact=True)
        self.form.setObjectName("augmentationForm")
        self.form.values_changed.connect(lambda: self._edited(row))
        self.form_box.layout().addWidget(self.form)

    def _edited(self, row: int) -> None:
        if self.form is None or not self.form.is_valid() or row >= len(self.steps):
            return
        try:
            step = Pipeline.make_step(self.steps[row].operation.name, self.form.values())
        except TrainingError as error:  # minimum above maximum: the form cannot see that
            self.text_label.setText(f"<span style='color:#c92a2a'>{error}</span>")
            return
        if step != self.steps[row]:
            self.steps[row] = step
            self.list.item(row).setText(step.text())
            text = self.text()
            self.text_label.setText(f"<small>--augment \"{text}\"</small>")
            self.changed.emit(text)

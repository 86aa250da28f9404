"""Forms generated from the catalogue's parameter specs, one builder for every kind.

One table maps a spec type to its editor (pyqtgraph's registerParameterType idea):
int -> spin box, float -> spin box that takes scientific notation, bool -> check box,
choice -> combo box, size/floats -> validated text field ("3" or "3, 3"), str -> text
field; a nullable spec gets a "None" toggle and an auto-capable one an "auto" toggle.
What a value means is decided by core (ParameterSpec.validate): the form only turns text
into Python values and shows core's reason beside a field it refuses.
"""
from __future__ import annotations

import math
import re
from typing import Any

from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.graph.catalog import AUTO, CatalogEntry, ParameterSpec
from pytorchgui.core.errors import ParameterError

_FLOAT_PATTERN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_PARTIAL_FLOAT = re.compile(r"^[+-]?(\d*\.?\d*)([eE][+-]?\d*)?$")
INT_LIMIT = 2**31 - 1
UNSET = object()  # a required value the user has not given yet


class ScientificSpinBox(QtWidgets.QDoubleSpinBox):
    """A float spin box that reads and shows 1e-05 as well as 0.5; arrows step by a tenth
    of the value's order of magnitude, so a learning rate steps 1e-3 -> 1.1e-3."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(323)  # keep every digit; textFromValue decides what is shown
        self.setRange(-1e308, 1e308)
        self.setKeyboardTracking(True)

    def validate(self, text: str, position: int):
        body = text.strip()
        if body == self.specialValueText() and body:
            return QtGui.QValidator.Acceptable, text, position
        if _FLOAT_PATTERN.match(body):
            value = float(body)
            if self.minimum() <= value <= self.maximum():
                return QtGui.QValidator.Acceptable, text, position
            return QtGui.QValidator.Intermediate, text, position
        if _PARTIAL_FLOAT.match(body):
            return QtGui.QValidator.Intermediate, text, position
        return QtGui.QValidator.Invalid, text, position

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.minimum()

    def textFromValue(self, value: float) -> str:
        return f"{value:.10g}"

    def stepBy(self, steps: int) -> None:
        value = self.value()
        step = 10 ** (math.floor(math.log10(abs(value))) - 1) if value else 0.1
        self.setValue(value + steps * step)


def describe(spec: ParameterSpec) -> str:
    """The help line shown under a field: what it takes and its default, in words."""
    if spec.help:
        return spec.help
    kinds = {
        "int": "a whole number",
        "float": "a number (1e-3 works)",
        "bool": "on or off",
        "str": "text",
        "choice": "one of " + ", ".join(map(str, spec.choices)),
        "size": "a whole number, or one per dimension such as 3, 3",
        "floats": "a number, or one per dimension" + (f" ({spec.length} numbers)" if spec.length else ""),
    }
    parts = [kinds[spec.type]]
    if spec.minimum is not None and spec.maximum is not None:
        parts.append(f"from {spec.minimum:g} to {spec.maximum:g}")
    elif spec.minimum is not None:
        parts.append(f"at least {spec.minimum:g}")
    elif spec.maximum is not None:
        parts.append(f"at most {spec.maximum:g}")
    if spec.type in ("size", "floats") and spec.choices:
        parts.append("or " + ", ".join(map(str, spec.choices)))
    if spec.auto:
        parts.append("auto: taken from the input")
    if spec.required:
        parts.append("required")
    elif spec.default is not None:
        parts.append(f"default {format_value(spec.default)}")
    return "; ".join(parts)


def format_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    if value is None:
        return "None"
    return str(value)


def parse_sequence(text: str, integral: bool) -> Any:
    """ "3" -> 3, "3, 5" / "(3, 5)" / "[3 5]" -> [3, 5], "same" -> "same", "" -> UNSET."""
    body = text.strip().strip("()[]").strip()
    if not body:
        return UNSET
    items = [item for item in re.split(r"[,\s]+", body) if item]
    values: list[Any] = []
    for item in items:
        if item.lower() == "none":
            values.append(None)
            continue
        try:
            number = float(item)
        except ValueError:
            return text.strip()  # a word such as "same": core decides if it is allowed
        values.append(int(number) if integral and number.is_integer() else number)
    return values[0] if len(values) == 1 and not text.strip().startswith(("(", "[")) else values


class ParameterField(QtWidgets.QWidget):
    """The editor for one parameter, with its None/auto toggles and its error line."""

    changed = QtCore.pyqtSignal()
    finished = QtCore.pyqtSignal()  # an edit is complete: Enter or focus out, a click on a box or toggle

    def __init__(self, spec: ParameterSpec, entry_name: str, parent: QtWidgets.QWidget | None = None, *,
                 compact: bool = False):
        """compact: the help line becomes the editor's tooltip (for the Train tab's column)."""
        super().__init__(parent)
        self.spec, self.entry_name = spec, entry_name
        self.setObjectName(f"field_{spec.name}")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(6)
        layout.addLayout(row)
        self.editor = self._make_editor()
        self.editor.setObjectName(f"editor_{spec.name}")
        row.addWidget(self.editor, 1)
        self.auto_toggle = self.none_toggle = None
        if spec.auto:
            self.auto_toggle = QtWidgets.QCheckBox("auto")
            self.auto_toggle.setToolTip("Take the value from the shape of this node's input")
            self.auto_toggle.toggled.connect(self._toggled)
            self.auto_toggle.clicked.connect(self.finished)
            row.addWidget(self.auto_toggle)
        if spec.nullable:
            self.none_toggle = QtWidgets.QCheckBox("None")
            self.none_toggle.setToolTip("Leave unset (Python None): torch then chooses")
            self.none_toggle.toggled.connect(self._toggled)
            self.none_toggle.clicked.connect(self.finished)
            row.addWidget(self.none_toggle)
        self.help_label = QtWidgets.QLabel(describe(spec))
        self.help_label.setStyleSheet("color: palette(mid); font-size: 11px;")
        self.help_label.setWordWrap(True)
        layout.addWidget(self.help_label)
        if compact:
            self.help_label.hide()
            self.editor.setToolTip(describe(spec))
        self.error_label = QtWidgets.QLabel()
        self.error_label.setObjectName(f"error_{spec.name}")
        self.error_label.setStyleSheet("color: #c92a2a; font-size: 11px;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

    def _make_editor(self) -> QtWidgets.QWidget:
        spec = self.spec
        if spec.type == "int":
            editor = QtWidgets.QSpinBox()
            low = int(spec.minimum) if spec.minimum is not None else -INT_LIMIT + 1
            # One below the lowest value stands for "not given yet" on required fields.
            editor.setRange(low - 1 if spec.required else low, int(spec.maximum) if spec.maximum is not None else INT_LIMIT)
            if spec.required:
                editor.setSpecialValueText("required")
            editor.valueChanged.connect(self.changed)
        elif spec.type == "float":
            editor = ScientificSpinBox()
            low = spec.minimum if spec.minimum is not None else -1e308
            editor.setRange(-1e308 if spec.required else low, spec.maximum if spec.maximum is not None else 1e308)
            if spec.required:
                editor.setSpecialValueText("required")
            editor.valueChanged.connect(self.changed)
        elif spec.type == "bool":
            editor = QtWidgets.QCheckBox()
            editor.toggled.connect(self.changed)
            editor.clicked.connect(self.finished)
        elif spec.type == "choice":
            editor = QtWidgets.QComboBox()
            for choice in spec.choices:
                editor.addItem(str(choice), choice)
            editor.currentIndexChanged.connect(self.changed)
            editor.activated.connect(self.finished)
        else:  # size, floats, str
            editor = QtWidgets.QLineEdit()
            if spec.type in ("size", "floats"):
                editor.setPlaceholderText("3  or  3, 3" if spec.type == "size" else "0.9, 0.999")
            editor.textChanged.connect(self.changed)
        if isinstance(editor, (QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)):
            editor.editingFinished.connect(self.finished)
        return editor

    def _toggled(self) -> None:
        special = (self.auto_toggle is not None and self.auto_toggle.isChecked()) or (
            self.none_toggle is not None and self.none_toggle.isChecked())
        self.editor.setEnabled(not special)
        self.changed.emit()

    def set_value(self, value: Any) -> None:
        blockers = [QtCore.QSignalBlocker(w) for w in (self, self.editor, self.auto_toggle, self.none_toggle) if w]
        if self.auto_toggle is not None:
            self.auto_toggle.setChecked(value == AUTO)
        if self.none_toggle is not None:
            self.none_toggle.setChecked(value is None and not self.spec.required)
        if value == AUTO or value is None:
            if self.spec.type in ("int", "float") and self.spec.required:
                self.editor.setValue(self.editor.minimum())
            elif self.spec.type not in ("int", "float", "bool", "choice"):
                self.editor.setText("")
        elif self.spec.type in ("int", "float"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.editor.setValue(value)
        elif self.spec.type == "bool":
            self.editor.setChecked(bool(value))
        elif self.spec.type == "choice":
            index = self.editor.findData(value)
            self.editor.setCurrentIndex(max(index, 0))
        else:
            self.editor.setText(format_value(value) if not isinstance(value, str) else value)
        self.editor.setEnabled(not ((self.auto_toggle and self.auto_toggle.isChecked())
                                    or (self.none_toggle and self.none_toggle.isChecked())))
        del blockers
        self.changed.emit()

    def raw_value(self) -> Any:
        """The value as typed: a Python value, AUTO, None, or UNSET."""
        if self.auto_toggle is not None and self.auto_toggle.isChecked():
            return AUTO
        if self.none_toggle is not None and self.none_toggle.isChecked():
            return None
        spec = self.spec
        if spec.type in ("int", "float"):
            if spec.required and self.editor.value() == self.editor.minimum():
                return UNSET
            return self.editor.value()
        if spec.type == "bool":
            return self.editor.isChecked()
        if spec.type == "choice":
            return self.editor.currentData()
        if spec.type == "str":
            return self.editor.text()
        return parse_sequence(self.editor.text(), spec.type == "size")

    def check(self) -> tuple[Any, str]:
        """(validated value, "") or (None, the reason it is refused)."""
        raw = self.raw_value()
        if raw is UNSET:
            reason = "required: give a value" if self.spec.required else "give a value or tick None"
        else:
            try:
                return self.spec.validate(raw, entry=self.entry_name), ""
            except ParameterError as error:
                reason = str(error).split(f"parameter '{self.spec.name}' ", 1)[-1]
        return None, reason

    def show_error(self, reason: str) -> None:
        self.error_label.setText(reason)
        self.error_label.setVisible(bool(reason))
        self.editor.setStyleSheet("border: 1px solid #c92a2a;" if reason else "")


class ParameterForm(QtWidgets.QWidget):
    """Every parameter of a catalogue entry, prefilled, checked as the user types."""

    validity_changed = QtCore.pyqtSignal(bool)
    values_changed = QtCore.pyqtSignal()
    field_edited = QtCore.pyqtSignal(str)  # the parameter's name, after the form revalidated
    field_finished = QtCore.pyqtSignal(str)

    def __init__(self, entry: CatalogEntry, values: dict[str, Any] | None = None,
                 parent: QtWidgets.QWidget | None = None, *, compact: bool = False):
        super().__init__(parent)
        self.entry = entry
        self.fields: dict[str, ParameterField] = {}
        layout = QtWidgets.QFormLayout(self)
        layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        layout.setLabelAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignTop)
        if compact:
            layout.setContentsMargins(0, 0, 0, 0)
        values = {**entry.defaults(), **(values or {})}
        for spec in entry.parameters:
            field = ParameterField(spec, entry.name, self, compact=compact)
            field.set_value(values.get(spec.name))
            field.changed.connect(self._revalidate)
            field.changed.connect(lambda name=spec.name: self.field_edited.emit(name))
            field.finished.connect(lambda name=spec.name: self.field_finished.emit(name))
            label = QtWidgets.QLabel(f"<b>{spec.label} *</b>" if spec.required else spec.label)
            label.setToolTip(f"{spec.name}: {describe(spec)}")
            layout.addRow(label, field)
            self.fields[spec.name] = field
        if not entry.parameters:
            layout.addRow(QtWidgets.QLabel("This has no parameters."))
        self._valid = None
        self._revalidate()

    def _revalidate(self) -> None:
        valid = True
        for field in self.fields.values():
            _, reason = field.check()
            field.show_error(reason)
            valid = valid and not reason
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        self.values_changed.emit()

    def is_valid(self) -> bool:
        return bool(self._valid)

    def errors(self) -> dict[str, str]:
        return {name: reason for name, field in self.fields.items() if (reason := field.check()[1])}

    def values(self) -> dict[str, Any]:
        """The validated values; call only when is_valid()."""
        return {name: field.check()[0] for name, field in self.fields.items()}

    def show_values(self, values: dict[str, Any]) -> None:
        """Bring the fields to `values` (after an undo), leaving alone the one being typed in."""
        for name, field in self.fields.items():
            if name in values and field.check()[0] != values[name] and not field.editor.hasFocus():
                field.set_value(values[name])


class FunctionDialog(QtWidgets.QDialog):
    """Add or edit a node, or set the loss or optimizer: documentation, name, form.

    Opened with open() (window-modal, not blocking), so the caller connects `accepted`.
    """

    def __init__(self, entry: CatalogEntry, values: dict[str, Any] | None = None, *, title: str,
                 accept_text: str, name: str | None = None, next_layer_choices: list[str] | None = None,
                 next_layer: str | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("functionDialog")
        self.entry = entry
        outer = QtWidgets.QVBoxLayout(self)
        heading = QtWidgets.QLabel(f"<h3>{entry.name}</h3><p>{entry.description or ''}</p>"
                                   + (f"<p><i>{entry.notes}</i></p>" if entry.notes else ""))
        heading.setWordWrap(True)
        heading.setTextFormat(QtCore.Qt.RichText)
        outer.addWidget(heading)
        top = QtWidgets.QFormLayout()
        self.name_edit = None
        if name is not None:
            self.name_edit = QtWidgets.QLineEdit(name)
            self.name_edit.setObjectName("nameEdit")
            top.addRow("Name", self.name_edit)
        self.next_combo = None
        if next_layer_choices is not None:
            self.next_combo = QtWidgets.QComboBox()
            self.next_combo.setObjectName("nextLayerCombo")
            self.next_combo.addItem("None", None)
            for choice in next_layer_choices:
                self.next_combo.addItem(choice, choice)
            index = self.next_combo.findData(next_layer)
            self.next_combo.setCurrentIndex(max(index, 0))
            top.addRow("Next layer", self.next_combo)
        if top.rowCount():
            outer.addLayout(top)
        self.form = ParameterForm(entry, values)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        outer.addWidget(scroll, 1)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        self.ok_button = self.buttons.button(QtWidgets.QDialogButtonBox.Ok)
        self.ok_button.setText(accept_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self.form.validity_changed.connect(self._update_ok)
        if self.name_edit is not None:
            self.name_edit.textChanged.connect(self._update_ok)
        self._update_ok()
        self.resize(520, min(760, 220 + 70 * max(1, len(entry.parameters))))

    def _update_ok(self) -> None:
        named = self.name_edit is None or bool(self.name_edit.text().strip())
        self.ok_button.setEnabled(self.form.is_valid() and named)

    def node_name(self) -> str | None:
        return self.name_edit.text().strip() if self.name_edit is not None else None

    def next_layer(self) -> str | None:
        return self.next_combo.currentData() if self.next_combo is not None else None

    def values(self) -> dict[str, Any]:
        return self.form.values()

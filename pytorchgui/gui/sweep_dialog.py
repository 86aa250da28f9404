"""*Sweep this…*: a right-click on a form's field (a training option, a layer's or the
optimizer's parameter) offers to sweep it; the dialog asks for its range or choices,
pre-filled from the parameter's spec and value, and checks them with core's
SearchSpace.parse, whose message it shows under the fields.
"""
from __future__ import annotations

from typing import Any, Callable

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.catalog import ParameterSpec
from pytorchgui.gui.forms import ParameterField, describe, format_value
from pytorchgui.gui.widgets import message_label

# floats that span orders of magnitude: their range is searched on a log scale
LOG_SCALED = ("lr", "weight_decay", "eps", "momentum_decay")
SWEEP_ACTION = "sweepThisAction"


def prefilled(spec: ParameterSpec, value: Any) -> dict[str, Any]:
    """A first range around `value` within the spec's bounds (a tenth to ten times a
    learning rate, on a log scale; half to twice a count; half, once and twice a batch
    size as choices), or every choice of a choice."""
    if spec.type == "bool":
        return {"choices": [False, True]}
    if spec.type == "choice":
        return {"choices": list(spec.choices)}
    if spec.type not in ("int", "float") or isinstance(value, bool) or not isinstance(value, (int, float)):
        return {"choices": [] if value in (None, "") else [value]}
    low_bound = spec.minimum if spec.minimum is not None else -float("inf")
    high_bound = spec.maximum if spec.maximum is not None else float("inf")
    if spec.type == "int" and spec.name == "batch_size" and value > 1:  # sizes are tried by powers of two
        return {"choices": [size for size in (value // 2, value, value * 2) if low_bound <= size <= high_bound]}
    if spec.type == "int":
        low, high = max(value // 2, low_bound, 1 if value > 0 else low_bound), min(max(value * 2, value + 1), high_bound)
        return {"low": int(low), "high": int(high)}
    if value > 0 and (spec.name in LOG_SCALED or value <= 0.01):
        return {"low": max(value / 10, low_bound), "high": min(value * 10, high_bound), "log": True}
    if spec.minimum is not None and spec.maximum is not None:
        return {"low": spec.minimum, "high": spec.maximum}
    return {"low": max(value / 2 if value > 0 else value - 1, low_bound), "high": min(value * 2 if value > 0 else 1,
                                                                                        high_bound)}


def parse_value(text: str, spec: ParameterSpec) -> Any:
    """One typed value as the spec's type reads it: 64 -> 64, 1e-3 -> 0.001, true -> True;
    any other word stays text (core refuses it with its reason)."""
    text = text.strip()
    if text.lower() in ("true", "on", "yes", "false", "off", "no") and spec.type == "bool":
        return text.lower() in ("true", "on", "yes")
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if spec.type == "int" and number.is_integer() else number


def describe_range(raw: dict[str, Any]) -> str:
    """A space entry in words: "1e-4 to 0.1, log", "4 to 16, step 4", "64, 128"."""
    if "choices" in raw:
        return ", ".join(format_value(choice) for choice in raw["choices"])
    scale = ", log" if raw.get("log") else f", step {raw['step']:g}" if raw.get("step") else ""
    return f"{raw['low']:g} to {raw['high']:g}{scale}"


class SweepDialog(QtWidgets.QDialog):
    """The range (low, high, step, log) or the list of values of one swept name. `check`
    raises the SweepError of a refused entry; the dialog accepts only what it lets pass.
    Opened with open() (window-modal, not blocking), so the caller connects `accepted`."""

    def __init__(self, name: str, spec: ParameterSpec, value: Any, raw: dict[str, Any],
                 check: Callable[[dict[str, Any]], None], parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sweepDialog")
        self.setWindowTitle(f"Sweep {name}")
        self.name, self.spec, self.check = name, spec, check
        layout = QtWidgets.QVBoxLayout(self)
        heading = QtWidgets.QLabel(f"<b>{name}</b>: {describe(spec)}; now {format_value(value)}")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        numeric = spec.type in ("int", "float")
        self.range_button = QtWidgets.QRadioButton("A range")
        self.range_button.setObjectName("sweepRangeButton")
        self.range_button.setEnabled(numeric)
        self.choices_button = QtWidgets.QRadioButton("A list of values")
        self.choices_button.setObjectName("sweepChoicesButton")
        form = QtWidgets.QFormLayout()
        self.low_edit, self.high_edit, self.step_edit = (self._edit(f"sweep{part}Edit") for part in ("Low", "High",
                                                                                                    "Step"))
        self.step_edit.setPlaceholderText("any value in between")
        self.log_box = QtWidgets.QCheckBox("Log scale (for values that span orders of magnitude)")
        self.log_box.setObjectName("sweepLogBox")
        self.choices_edit = self._edit("sweepChoicesEdit")
        self.choices_edit.setPlaceholderText("64, 128, 256")
        form.addRow(self.range_button)
        form.addRow("Low", self.low_edit)
        form.addRow("High", self.high_edit)
        form.addRow("Step", self.step_edit)
        form.addRow(self.log_box)
        form.addRow(self.choices_button)
        form.addRow("Values", self.choices_edit)
        layout.addLayout(form)
        self.error_label = message_label("", "sweepError")
        self.error_label.setStyleSheet("color: #c92a2a;")
        layout.addWidget(self.error_label)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.Ok).setText("Sweep it")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.range_button.toggled.connect(self._mode_changed)
        self._show(raw)
        self.resize(460, self.sizeHint().height())

    @staticmethod
    def _edit(name: str) -> QtWidgets.QLineEdit:
        edit = QtWidgets.QLineEdit()
        edit.setObjectName(name)
        return edit

    def _show(self, raw: dict[str, Any]) -> None:
        if "choices" in raw or not self.range_button.isEnabled():
            self.choices_button.setChecked(True)
            self.choices_edit.setText(", ".join(format_value(choice) for choice in raw.get("choices", [])))
        else:
            self.range_button.setChecked(True)
            self.low_edit.setText(format_value(raw["low"]))
            self.high_edit.setText(format_value(raw["high"]))
            self.step_edit.setText(format_value(raw["step"]) if raw.get("step") else "")
            self.log_box.setChecked(bool(raw.get("log")))
        self._mode_changed()

    def _mode_changed(self) -> None:
        ranged = self.range_button.isChecked()
        for widget in (self.low_edit, self.high_edit, self.step_edit, self.log_box):
            widget.setEnabled(ranged)
        self.choices_edit.setEnabled(not ranged)

    def raw(self) -> dict[str, Any]:
        """The entry as SPACE.json holds it."""
        if self.choices_button.isChecked():
            items = [item for item in self.choices_edit.text().split(",") if item.strip()]
            return {"choices": [parse_value(item, self.spec) for item in items]}
        raw: dict[str, Any] = {"low": parse_value(self.low_edit.text(), self.spec),
                               "high": parse_value(self.high_edit.text(), self.spec)}
        if self.step_edit.text().strip():
            raw["step"] = parse_value(self.step_edit.text(), self.spec)
        if self.log_box.isChecked():
            raw["log"] = True
        return raw

    def accept(self) -> None:
        try:
            self.check(self.raw())
        except PyTorchGUIError as error:
            self.error_label.setText(str(error))
            return
        super().accept()


class SweepMenu(QtCore.QObject):
    """*Sweep this…* in the right-click menu of a field's editor and label, after the
    editor's own entries (copy, paste); `requested(name)` is called when it is chosen."""

    def __init__(self, field: ParameterField, name: str, requested: Callable[[str], None],
                 label: QtWidgets.QWidget | None = None):
        super().__init__(field)
        self.name, self.requested = name, requested
        for widget in (field.editor, field.help_label, label):
            if widget is not None:
                widget.installEventFilter(self)

    def menu(self, widget: QtWidgets.QWidget) -> QtWidgets.QMenu:
        line_edit = widget if isinstance(widget, QtWidgets.QLineEdit) else (
            widget.lineEdit() if isinstance(widget, (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox)) else None)
        menu = line_edit.createStandardContextMenu() if line_edit is not None else QtWidgets.QMenu()
        if menu.actions():
            menu.addSeparator()
        action = menu.addAction("Sweep this…")
        action.setObjectName(SWEEP_ACTION)
        action.setToolTip(f"Add {self.name} to the experiment's search space (Experiments tab)")
        action.triggered.connect(lambda: self.requested(self.name))
        return menu

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QtCore.QEvent.ContextMenu:
            menu = self.menu(watched)
            menu.exec_(event.globalPos())
            menu.deleteLater()
            return True
        return False


def offer_sweep(field: ParameterField, name: str, requested: Callable[[str], None],
                label: QtWidgets.QWidget | None = None) -> SweepMenu:
    """Put *Sweep this…* in `field`'s right-click menu (kept as field.sweep_menu)."""
    field.sweep_menu = SweepMenu(field, name, requested, label)
    return field.sweep_menu

"""The Train tab's settings, generated from core's TRAINING_OPTIONS.

One group box per option group, one generated field per option (the catalogue forms'
editors, compact: help in the tooltip), and the chosen schedule's own parameters in a
form that follows the schedule choice. Nothing here knows an option by hand but the
device, whose editor lists this machine's devices by name. A right-click on an option
offers *Sweep this…* (`sweep_requested` with its name in a sweep's space).
"""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.errors import TrainingError
from pytorchgui.core.training.devices import available_devices
from pytorchgui.core.training.options import OPTION_GROUPS, TrainingConfig, schedule_catalog, training_options
from pytorchgui.core.training.sweeps import MACHINE_OPTIONS
from pytorchgui.gui.augmentation_editor import AugmentationEditor
from pytorchgui.gui.forms import ParameterField, ParameterForm
from pytorchgui.gui.sweep_dialog import offer_sweep


class TrainingOptionsForm(QtWidgets.QWidget):
    """Every training option as an editor; `config()` reads them, `apply()` writes them."""

    changed = QtCore.pyqtSignal()
    sweep_requested = QtCore.pyqtSignal(str)  # an option's name in a sweep's space (batch_size, schedule.gamma)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[str, ParameterField] = {}
        self.boxes: list[QtWidgets.QGroupBox] = []
        for group in OPTION_GROUPS:
            box = QtWidgets.QGroupBox(group)
            form = QtWidgets.QFormLayout(box)
            form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
            for option in training_options():
                if option.group != group:
                    continue
                if option.name == "augmentation":  # an ordered list of operations, not a line of text
                    form.addRow(self._augmentation_editor(self._field(option)))
                elif option.spec.type == "bool":  # a check box says its own label, across the row
                    field = self._field(option)
                    field.editor.setText(option.label)
                    form.addRow(field)
                else:
                    form.addRow(option.label, self._field(option))
                if option.name not in MACHINE_OPTIONS and option.name != "augmentation":
                    field = self.fields[option.name]
                    offer_sweep(field, option.name, self.sweep_requested.emit, form.labelForField(field))
                if option.name == "lr_schedule":  # the chosen schedule's parameters, under it
                    self.schedule_box = QtWidgets.QWidget()
                    QtWidgets.QVBoxLayout(self.schedule_box).setContentsMargins(16, 0, 0, 0)
                    form.addRow(self.schedule_box)
            layout.addWidget(box)
            self.boxes.append(box)
        self.device_combo = self._device_combo()
        self.schedule_form: ParameterForm | None = None
        self.fields["lr_schedule"].editor.currentIndexChanged.connect(lambda: self._show_schedule({}))
        self._show_schedule({})

    def _field(self, option) -> QtWidgets.QWidget:
        field = ParameterField(option.spec, "", compact=True)
        field.setObjectName(f"option_{option.name}")
        field.set_value(option.spec.default)
        if option.off is not None and hasattr(field.editor, "setSpecialValueText"):
            field.editor.setSpecialValueText(option.off_label)
        if isinstance(field.editor, QtWidgets.QComboBox):  # long entries must not widen the column
            field.editor.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            field.editor.setMinimumContentsLength(8)
        field.changed.connect(self.changed)
        self.fields[option.name] = field
        return field

    def _augmentation_editor(self, field: ParameterField) -> AugmentationEditor:
        """The pipeline editor in place of the option's text field, which stays the value."""
        field.hide()
        self.augmentation_editor = AugmentationEditor()
        self.augmentation_editor.changed.connect(field.set_value)
        field.changed.connect(self._augmentation_typed)
        container = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(container)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(field)
        column.addWidget(self.augmentation_editor)
        return container

    def _augmentation_typed(self) -> None:
        value, reason = self.fields["augmentation"].check()
        if not reason:
            try:
                self.augmentation_editor.set_text(value)
            except TrainingError as error:  # typed by hand: the list keeps the last valid pipeline
                self.fields["augmentation"].show_error(str(error))

    def _device_combo(self) -> QtWidgets.QComboBox:
        """The device's editor: this machine's devices by name, in place of a text field."""
        field = self.fields["device"]
        combo = QtWidgets.QComboBox()
        combo.setObjectName("deviceCombo")
        for device, label in available_devices():
            combo.addItem(label, device)
        combo.currentIndexChanged.connect(self.changed)
        field.editor.hide()
        field.layout().itemAt(0).layout().insertWidget(0, combo, 1)
        return combo

    def _show_schedule(self, values: dict) -> None:
        if self.schedule_form is not None:
            self.schedule_form.deleteLater()
            self.schedule_form = None
        schedule = schedule_catalog().get(self.fields["lr_schedule"].editor.currentData())
        self.schedule_box.setVisible(schedule is not None)
        if schedule is not None:
            self.schedule_form = ParameterForm(schedule.entry, values, compact=True)
            self.schedule_form.setObjectName("scheduleForm")
            self.schedule_form.values_changed.connect(self.changed)
            for name, field in self.schedule_form.fields.items():
                offer_sweep(field, f"schedule.{name}", self.sweep_requested.emit,
                            self.schedule_form.layout().labelForField(field))
            self.schedule_box.layout().addWidget(self.schedule_form)
        self.changed.emit()

    # -- values ------------------------------------------------------------------------
    def config(self) -> TrainingConfig:
        """The settings as a checked TrainingConfig (TrainingError naming a refused field)."""
        values = {}
        for option in training_options():
            value, reason = self.fields[option.name].check()
            if reason and option.name != "device":
                raise TrainingError(f"{option.label}: {reason}")
            values[option.name] = value
        values["device"] = self.device_combo.currentData()
        if self.schedule_form is not None:
            errors = self.schedule_form.errors()
            if errors:
                name, reason = next(iter(errors.items()))
                raise TrainingError(f"schedule parameter {name}: {reason}")
            values["schedule_parameters"] = self.schedule_form.values()
        config = TrainingConfig(**values)
        config.check()
        return config

    def draft(self, base: TrainingConfig) -> TrainingConfig:
        """The settings as shown, not checked as a whole: a field whose value is refused keeps
        `base`'s, and the augmentation is the pipeline the list shows."""
        values = base.to_dict()
        for option in training_options():
            value, reason = self.fields[option.name].check()
            if not reason:
                values[option.name] = value
        values["device"] = self.device_combo.currentData()
        values["augmentation"] = self.augmentation_editor.text()
        schedule = self.schedule_form.fields if self.schedule_form is not None else {}
        values["schedule_parameters"] = {name: field.check()[0] for name, field in schedule.items()
                                         if not field.check()[1]}
        return TrainingConfig(**values)

    def apply(self, config: TrainingConfig) -> None:
        """Show `config`; `changed` is emitted once, when every field shows it."""
        blocker = QtCore.QSignalBlocker(self)
        for name, field in self.fields.items():
            if name != "device":
                field.set_value(getattr(config, name))
        self._augmentation_typed()
        index = self.device_combo.findData(config.device)
        self.device_combo.setCurrentIndex(max(index, 0))
        self._show_schedule(config.schedule_parameters)
        del blocker
        self.changed.emit()

    def set_locked(self, locked: bool) -> None:
        """While a run trains, its settings cannot change under it."""
        for box in self.boxes:
            box.setEnabled(not locked)

"""The generated forms: one widget per spec type, validated by core as the user types."""
from PyQt5 import QtWidgets

from pytorchgui.core.graph.catalog import default_catalog
from pytorchgui.gui.forms import FunctionDialog, ParameterForm, ScientificSpinBox, parse_sequence

CATALOG = default_catalog()


def test_widget_per_type_and_defaults(qtbot):
    form = ParameterForm(CATALOG.layers.get("Conv2d"))
    qtbot.addWidget(form)
    assert isinstance(form.fields["out_channels"].editor, QtWidgets.QSpinBox)
    assert isinstance(form.fields["bias"].editor, QtWidgets.QCheckBox)
    assert isinstance(form.fields["padding_mode"].editor, QtWidgets.QComboBox)
    assert isinstance(form.fields["kernel_size"].editor, QtWidgets.QLineEdit)
    assert form.fields["in_channels"].auto_toggle is not None
    assert form.fields["stride"].editor.text() == "1"
    # required values start unset: the form is not valid and says why, beside the field
    assert not form.is_valid()
    assert form.errors()["out_channels"] == "required: give a value"
    assert form.fields["out_channels"].error_label.text() == "required: give a value"


def test_values_round_trip_and_validation_reasons(qtbot):
    form = ParameterForm(CATALOG.layers.get("Conv2d"), {"in_channels": "auto", "out_channels": 6, "kernel_size": [3, 5],
                                                         "padding": "same"})
    qtbot.addWidget(form)
    assert form.is_valid()
    values = form.values()
    assert values["in_channels"] == "auto" and values["kernel_size"] == [3, 5] and values["padding"] == "same"
    form.fields["kernel_size"].editor.setText("3, x")
    assert not form.is_valid()
    assert "must be an integer or a list of 2 integers" in form.errors()["kernel_size"]
    form.fields["kernel_size"].editor.setText("0")
    assert form.errors()["kernel_size"] == "must be >= 1, got 0"
    form.fields["kernel_size"].editor.setText("(5, 5)")
    assert form.is_valid() and form.values()["kernel_size"] == [5, 5]


def test_scientific_spin_box_takes_1e_minus_5(qtbot):
    form = ParameterForm(CATALOG.optimizers.get("Adam"))
    qtbot.addWidget(form)
    editor = form.fields["lr"].editor
    assert isinstance(editor, ScientificSpinBox)
    assert editor.text() == "0.001"
    editor.lineEdit().setText("1e-5")
    editor.interpretText()
    assert form.values()["lr"] == 1e-5
    assert editor.textFromValue(editor.value()) == "1e-05"
    editor.stepBy(1)
    assert abs(editor.value() - 1.1e-5) < 1e-12
    assert form.values()["betas"] == [0.9, 0.999]


def test_none_toggle_and_bounds(qtbot):
    form = ParameterForm(CATALOG.layers.get("MaxPool2d"), {"kernel_size": 2})
    qtbot.addWidget(form)
    assert form.fields["stride"].none_toggle.isChecked()
    assert not form.fields["stride"].editor.isEnabled()
    assert form.values()["stride"] is None
    form.fields["stride"].none_toggle.setChecked(False)
    form.fields["stride"].editor.setText("2")
    assert form.values()["stride"] == 2
    dropout = ParameterForm(CATALOG.layers.get("Dropout"))
    qtbot.addWidget(dropout)
    assert dropout.fields["p"].editor.maximum() == 1.0


def test_dialog_blocks_ok_until_valid_and_shows_docs(qtbot):
    dialog = FunctionDialog(CATALOG.layers.get("Linear"), title="Add Linear", accept_text="Add", name="fc")
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    dialog.form.fields["in_features"].auto_toggle.setChecked(True)
    spin = dialog.form.fields["out_features"].editor
    spin.setValue(10)
    assert dialog.ok_button.isEnabled()
    dialog.name_edit.setText("  ")
    assert not dialog.ok_button.isEnabled()
    labels = " ".join(label.text() for label in dialog.findChildren(QtWidgets.QLabel))
    assert "Applies an affine linear transformation" in labels


def test_parse_sequence():
    assert parse_sequence("3", True) == 3
    assert parse_sequence("3, 5", True) == [3, 5]
    assert parse_sequence("[3 5]", True) == [3, 5]
    assert parse_sequence("(3)", True) == [3]
    assert parse_sequence("0.9,0.99", False) == [0.9, 0.99]
    assert parse_sequence("same", True) == "same"
    assert parse_sequence("None, 7", True) == [None, 7]

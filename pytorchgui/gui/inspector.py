"""The inspector: the selection's properties, edited in place.

One node selected: its name, type, documentation, output shape, parameter count, the
input that feeds it (a check box with one input, a choice with several) and the generated
form of its parameters. Nothing selected: the network's inputs (one shape row, or a row
per input), its loss (with several outputs, each output's own loss and weight, or the loss
of every other output) and optimizer. Several: what they add up to. Every committed change is one undo step through
NetworkDocument.apply; the keystrokes of one field edit merge into one (its merge key
holds an edit session that ends when the field's edit is finished).

The network stays the truth: after any change the tab calls `show_selection`, which
rebuilds the page only when its subject changed and otherwise brings the shown values
up to date, so a field being typed in keeps its focus and cursor.

A right-click on a node's, the loss's or the optimizer's parameter offers *Sweep this…*
(`sweep_requested` with its name in a sweep's space: conv1.out_channels, lr, loss.label_smoothing).
"""
from __future__ import annotations

from typing import Any, Callable

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.network import INPUT_DTYPES
from pytorchgui.core.graph.shapes import ShapeReport, describe_outputs, describe_shape
from pytorchgui.gui.document import NetworkDocument
from pytorchgui.gui.forms import ParameterForm
from pytorchgui.gui.sweep_dialog import offer_sweep
from pytorchgui.gui.widgets import catalogue_combo, select_entry, selected_entry_name, show_status


def parse_shape(text: str) -> list[int] | None:
    """"1, 28, 28" / "[1 28 28]" -> [1, 28, 28]; "" -> None; ValueError if not whole numbers."""
    text = text.replace("[", " ").replace("]", " ").replace("(", " ").replace(")", " ")
    return [int(part) for part in text.replace(",", " ").split()] if text.strip() else None


def _label(text: str = "", name: str = "", style: str = "") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    if style:
        label.setStyleSheet(style)
    return label


class Inspector(QtWidgets.QScrollArea):
    node_renamed = QtCore.pyqtSignal(str)  # the new name, to keep it selected
    save_block_requested = QtCore.pyqtSignal()
    sweep_requested = QtCore.pyqtSignal(str)  # a parameter's name in a sweep's space

    def __init__(self, document: NetworkDocument, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)  # a narrow dock wraps, never scrolls sideways
        self.document = document
        self.network = document.network
        self.catalog = self.network.catalog
        self.names: list[str] = []
        self.report: ShapeReport | None = None
        self._subject: tuple | None = None
        self._session = 0  # a new edit session: the next change is a new undo step
        self._updating = False  # writing the model's values into the widgets: not an edit
        self.forms: dict[str, ParameterForm] = {}  # "node", "loss", "optimizer"
        self.show_selection([], None)

    # -- what is shown ---------------------------------------------------------------
    def show_selection(self, names: list[str], report: ShapeReport | None) -> None:
        self.names = [name for name in names if name in self.network]
        self.report = report
        subject = self._subject_now()
        self._updating = True
        try:
            if subject != self._subject:
                self._subject = subject
                self._session += 1
                self._build(subject)
            self._update()
        finally:
            self._updating = False

    def _subject_now(self) -> tuple:
        if len(self.names) == 1:
            node = self.network.node(self.names[0])
            return ("node", node.name, node.type, len(self.network.inputs) > 1)
        if self.names:
            return ("many", tuple(self.names))
        loss, optimizer = self.network.loss, self.network.optimizer
        # the rows shown depend on the inputs and, with several outputs, on which have a loss of their own
        outputs = self.network.outputs()
        own_losses = tuple((output, self._own_loss_type(output)) for output in outputs) if len(outputs) > 1 else ()
        return ("network", loss.type if loss else None, optimizer.type if optimizer else None,
                tuple(self.network.input_names()), own_losses)

    def _own_loss_type(self, output: str) -> str | None:
        own = self.network.output_losses.get(output)
        return own.choice.type if own is not None else None

    def _build(self, subject: tuple) -> None:
        page = QtWidgets.QWidget()
        page.setObjectName("inspectorPage")
        layout = QtWidgets.QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        self.forms = {}
        {"node": self._build_node, "many": self._build_many, "network": self._build_network}[subject[0]](layout)
        layout.addStretch(1)
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()
        self.setWidget(page)

    def _build_node(self, layout: QtWidgets.QVBoxLayout) -> None:
        name = self.names[0]
        node, entry = self.network.node(name), self.network.entry(name)
        top = QtWidgets.QFormLayout()
        top.setRowWrapPolicy(QtWidgets.QFormLayout.WrapLongRows)
        self.name_edit = QtWidgets.QLineEdit(name)
        self.name_edit.setObjectName("inspectorName")
        self.name_edit.editingFinished.connect(self._rename)
        top.addRow("Name", self.name_edit)
        kind = ("tensor operation" if entry.tensor_operation
                else {"activation_function": "activation function", "merge": "merge"}.get(node.node_class, "layer"))
        top.addRow("Type", _label(f"<b>{entry.name}</b> · {kind}, {entry.category}", "inspectorType"))
        self.shape_label = _label(name="inspectorShape")
        top.addRow("Output", self.shape_label)
        self.first_box = self.fed_by_combo = None
        if len(self.network.inputs) > 1:  # which input feeds the node, if any
            self.fed_by_combo = QtWidgets.QComboBox()
            self.fed_by_combo.setObjectName("inspectorFedBy")
            self.fed_by_combo.setToolTip("A first layer takes one of the network's inputs")
            self.fed_by_combo.addItem("no input (not a first layer)", None)
            for input_name in self.network.input_names():
                self.fed_by_combo.addItem(f"the input '{input_name}'", input_name)
            self.fed_by_combo.activated.connect(self._choose_fed_by)
            top.addRow("Network input", self.fed_by_combo)
        else:
            self.first_box = QtWidgets.QCheckBox("First layer (takes the input)")
            self.first_box.setObjectName("inspectorFirstLayer")
            self.first_box.clicked.connect(self._set_first_layer)
            top.addRow(self.first_box)
        self.trainable_box = QtWidgets.QCheckBox("Trainable")
        self.trainable_box.setToolTip("Off: the node is frozen, training leaves its weights (and a norm layer's "
                                      "statistics) as they are: fine-tuning")
        self.trainable_box.setObjectName("inspectorTrainable")
        self.trainable_box.clicked.connect(self._set_trainable)
        top.addRow(self.trainable_box)
        self.input_order_label = self.first_input_combo = None
        if entry.inputs >= 2:  # Subtract, MatMul, attention, Concatenate: the order of the inputs matters
            self.input_order_label = _label(name="inspectorInputOrder")
            top.addRow("Inputs", self.input_order_label)
            self.first_input_combo = QtWidgets.QComboBox()
            self.first_input_combo.setObjectName("inspectorFirstInput")
            self.first_input_combo.setToolTip("The input that comes first (Subtract: the one subtracted from; MatMul: "
                                              "the left factor; attention: the query)")
            self.first_input_combo.activated.connect(self._choose_first_input)
            top.addRow("First input", self.first_input_combo)
        layout.addLayout(top)
        self.error_label = _label(name="inspectorError", style="color: #c92a2a;")
        layout.addWidget(self.error_label)
        documentation = entry.description + (f"<br><i>{entry.notes}</i>" if entry.notes else "")
        layout.addWidget(_label(documentation, "inspectorDocumentation", "color: palette(dark);"))
        box = QtWidgets.QGroupBox("Parameters")
        box_layout = QtWidgets.QVBoxLayout(box)
        self._add_form(box_layout, "node", entry, node.parameters,
                       lambda values: self.network.set_parameters(name, values), name)
        layout.addWidget(box)
        layout.addWidget(_label("Double-click the node for the same form in a dialog, with its next layer.",
                                style="color: palette(mid); font-size: 11px;"))

    def _build_many(self, layout: QtWidgets.QVBoxLayout) -> None:
        self.many_label = _label(name="inspectorSelection")
        layout.addWidget(self.many_label)
        button = QtWidgets.QPushButton("Save as block…")
        button.setObjectName("inspectorSaveBlock")
        button.clicked.connect(self.save_block_requested)
        layout.addWidget(button)

    def _build_network(self, layout: QtWidgets.QVBoxLayout) -> None:
        layout.addWidget(_label("<b>The network</b> (select a node to edit it)", "inspectorHeading"))
        self.network_label = _label(name="inspectorNetwork")
        layout.addWidget(self.network_label)
        self._build_inputs(layout)
        outputs = self.network.outputs()
        several = len(outputs) > 1
        self._add_function_box(layout, "loss", "Loss of every other output" if several else "Loss function",
                               self.catalog.losses, self.network.loss, self.network.set_loss)
        if several:
            for output in outputs:
                self._build_output_loss(layout, output)
        self._add_function_box(layout, "optimizer", "Optimizer", self.catalog.optimizers, self.network.optimizer,
                               self.network.set_optimizer)

    def _build_inputs(self, layout: QtWidgets.QVBoxLayout) -> None:
        """One input: its shape on one row, as a network has always had it, with a button to
        add another. Several: a row per input (name, shape, dtype, remove)."""
        self.input_rows: dict[str, tuple[QtWidgets.QLineEdit, QtWidgets.QLineEdit, QtWidgets.QComboBox]] = {}
        add = QtWidgets.QPushButton("Add input")
        add.setObjectName("inspectorAddInput")
        add.setToolTip("Give the network another input (two images, an image and a vector, ...); mark the layer it "
                       "goes to in its inspector")
        add.clicked.connect(self._add_input)
        specs = self.network.inputs
        if len(specs) <= 1:
            inputs = QtWidgets.QFormLayout()
            inputs.setRowWrapPolicy(QtWidgets.QFormLayout.WrapLongRows)
            self.input_edit = self._shape_edit(specs[0].name if specs else None)
            row = QtWidgets.QHBoxLayout()
            row.addWidget(self.input_edit, 1)
            row.addWidget(add)
            inputs.addRow("Input shape", row)
            layout.addLayout(inputs)
            return
        box = QtWidgets.QGroupBox("Inputs")
        grid = QtWidgets.QGridLayout(box)
        grid.setContentsMargins(6, 6, 6, 6)
        # two lines an input: its name, dtype and remove, then its shape across the dock's
        # width (one line of four squeezed "1, 28, 28" to "28, 28" in a narrow dock)
        for row, spec in enumerate(specs):
            name_edit = QtWidgets.QLineEdit(spec.name)
            name_edit.setObjectName(f"inspectorInputName.{spec.name}")
            name_edit.setToolTip("The input's name: arrays of an .npz file and the compiled network's arguments "
                                 "are named after it")
            name_edit.editingFinished.connect(lambda old=spec.name, edit=name_edit: self._rename_input(old, edit))
            shape_edit = self._shape_edit(spec.name)
            dtype_combo = QtWidgets.QComboBox()
            dtype_combo.setObjectName(f"inspectorInputDtype.{spec.name}")
            dtype_combo.addItems(INPUT_DTYPES)
            dtype_combo.setToolTip("The input's type: float32 for images and tables, int64 for token ids")
            dtype_combo.activated.connect(lambda _=0, name=spec.name, combo=dtype_combo: self._set_input_dtype(name,
                                                                                                              combo))
            remove = QtWidgets.QToolButton()
            remove.setText("✕")
            remove.setObjectName(f"inspectorRemoveInput.{spec.name}")
            remove.setToolTip(f"Remove the input '{spec.name}' (the layers it feeds stop being first layers)")
            remove.clicked.connect(lambda _=False, name=spec.name: self._remove_input(name))
            for column, widget in enumerate((name_edit, dtype_combo, remove)):
                grid.addWidget(widget, 2 * row, column)
            shape_row = QtWidgets.QHBoxLayout()
            shape_row.addWidget(_label("<i>shape</i>", style="color: palette(dark);"))
            shape_row.addWidget(shape_edit, 1)
            grid.addLayout(shape_row, 2 * row + 1, 0, 1, 3)
            self.input_rows[spec.name] = (name_edit, shape_edit, dtype_combo)
        grid.setColumnStretch(0, 1)
        grid.addWidget(add, 2 * len(specs), 0, 1, 3, QtCore.Qt.AlignLeft)
        self.input_edit = self.input_rows[specs[0].name][1]
        layout.addWidget(box)

    def _shape_edit(self, input_name: str | None) -> QtWidgets.QLineEdit:
        edit = QtWidgets.QLineEdit()
        edit.setObjectName("inspectorInput" if input_name is None or input_name == self.network.input_names()[0]
                           else f"inspectorInput.{input_name}")
        edit.setPlaceholderText("e.g. 1, 28, 28")
        edit.setToolTip("The shape of one sample, without the batch: channels, height, width")
        edit.editingFinished.connect(lambda: self._set_input(input_name, edit))
        return edit

    def _add_function_box(self, layout: QtWidgets.QVBoxLayout, what: str, title: str, database, choice,
                          setter) -> None:
        box = QtWidgets.QGroupBox(title)
        box_layout = QtWidgets.QVBoxLayout(box)
        combo = catalogue_combo(database, f"inspector{what.capitalize()}Combo")
        if choice is None:
            combo.setCurrentIndex(-1)
            combo.lineEdit().setPlaceholderText(f"choose the {what}")
        else:
            select_entry(combo, choice.type)
        combo.activated.connect(lambda _=0, c=combo, d=database, s=setter, w=what: self._choose(c, d, s, w))
        box_layout.addWidget(combo)
        setattr(self, f"{what}_combo", combo)
        if choice is not None:
            entry = database.get(choice.type)
            self._add_form(box_layout, what, entry, choice.parameters,
                           lambda values, s=setter, t=choice.type: s(t, values), what)
        layout.addWidget(box)

    def _build_output_loss(self, layout: QtWidgets.QVBoxLayout, output: str) -> None:
        """An output's loss: the one of every other output, or its own with a weight in the total."""
        box = QtWidgets.QGroupBox(f"Output '{output}'")
        box.setObjectName(f"inspectorOutput.{output}")
        box_layout = QtWidgets.QVBoxLayout(box)
        own = self.network.output_losses.get(output)
        check = QtWidgets.QCheckBox("A loss of its own")
        check.setObjectName(f"inspectorOwnLoss.{output}")
        check.setToolTip("Off: the output is trained with the loss of every other output, weight 1")
        check.setChecked(own is not None)
        check.clicked.connect(lambda checked: self._set_own_loss(output, checked))
        box_layout.addWidget(check)
        if own is None:
            layout.addWidget(box)
            return
        database = self.catalog.losses
        combo = catalogue_combo(database, f"inspectorOutputLossCombo.{output}")
        select_entry(combo, own.choice.type)
        combo.activated.connect(lambda _=0: self._choose_output_loss(output, combo))
        box_layout.addWidget(combo)
        weight = QtWidgets.QDoubleSpinBox()
        weight.setObjectName(f"inspectorLossWeight.{output}")
        weight.setRange(0, 1000)
        weight.setDecimals(3)
        weight.setSingleStep(0.1)
        weight.setValue(own.weight)
        weight.setToolTip("The total loss is the sum of each output's loss times its weight")
        weight.valueChanged.connect(lambda value: self._set_output_loss_weight(output, value))
        weight.editingFinished.connect(self._finish_session)
        row = QtWidgets.QFormLayout()
        row.addRow("Weight", weight)
        box_layout.addLayout(row)
        self._add_form(box_layout, f"loss.{output}", database.get(own.choice.type), own.choice.parameters,
                       lambda values: self._set_output_loss(output, parameters=values), f"the loss of {output}")
        layout.addWidget(box)

    def _add_form(self, layout: QtWidgets.QVBoxLayout, key: str, entry, values: dict[str, Any],
                  apply: Callable[[dict[str, Any]], None], subject: str) -> None:
        form = ParameterForm(entry, values, compact=True)
        form.layout().setRowWrapPolicy(QtWidgets.QFormLayout.WrapAllRows)  # label above its editor: fits a narrow dock
        form.layout().setLabelAlignment(QtCore.Qt.AlignLeft)
        form.setObjectName(f"inspector{key.capitalize()}Form")
        form.field_edited.connect(lambda field, f=form: self._commit(f, apply, subject, field))
        form.field_finished.connect(self._finish_session)
        layout.addWidget(form)
        self.forms[key] = form
        self._offer_sweeps(form, key)

    def _offer_sweeps(self, form: ParameterForm, key: str) -> None:
        """Sweep this… on the fields a space can name: a node's (NODE.PARAMETER), the
        optimizer's (its bare name, as lr) and the loss's (loss.PARAMETER)."""
        prefix = {"node": f"{self.names[0]}." if self.names else "", "optimizer": "", "loss": "loss."}.get(key)
        if prefix is None:  # an output's own loss: a space cannot name it
            return
        for name, field in form.fields.items():
            offer_sweep(field, prefix + name, self.sweep_requested.emit, form.layout().labelForField(field))

    def _update(self) -> None:
        kind = self._subject[0]
        if kind == "node":
            self._update_node()
        elif kind == "many":
            parameters = sum(self._shape(name).parameter_count for name in self.names if self._shape(name))
            self.many_label.setText(f"<b>{len(self.names)} nodes</b> selected, {parameters:,} parameters.<br>"
                                    "Copy, cut, duplicate or delete them with the Edit menu or a right-click; "
                                    "save them as a block to reuse them.")
        else:
            self._update_network()

    def _shape(self, name: str):
        return self.report.nodes.get(name) if self.report is not None else None

    def _update_node(self) -> None:
        name = self.names[0]
        if not self.name_edit.hasFocus():
            self.name_edit.setText(name)
        shape = self._shape(name)
        if shape is not None and shape.output_shape is not None:
            self.shape_label.setText(f"{describe_shape(shape.output_shape)} · {shape.parameter_count:,} parameters")
        else:
            self.shape_label.setText("not known yet" if self.report is None else "cannot be computed")
        problems = [p.message for p in self.report.problems if p.node == name] if self.report else []
        self.error_label.setText("\n".join(f"⚠ {message}" for message in problems))
        self.error_label.setVisible(bool(problems))
        if self.fed_by_combo is not None:
            self.fed_by_combo.setCurrentIndex(max(self.fed_by_combo.findData(self.network.input_feeding(name)), 0))
        else:
            self.first_box.setChecked(name in self.network.first_layers)
        self.trainable_box.setChecked(self.network.node(name).trainable)
        if self.first_input_combo is not None:
            inputs = self.network.inputs_of(name)
            self.input_order_label.setText(" · ".join(f"{index}. {source}" for index, source in enumerate(inputs, 1))
                                           or "none linked yet")
            blocker = QtCore.QSignalBlocker(self.first_input_combo)
            self.first_input_combo.clear()
            self.first_input_combo.addItems(inputs)
            self.first_input_combo.setEnabled(len(inputs) > 1)
            del blocker
        self.forms["node"].show_values(self.network.node(name).parameters)

    def _update_network(self) -> None:
        count = len(self.network)
        if self.report is not None and count:
            self.network_label.setText(f"{count} nodes · {self.report.total_parameters:,} parameters · "
                                       f"{describe_outputs(self.report)}")
        else:
            self.network_label.setText("Empty: drag a layer from the palette onto the canvas." if not count else "")
        spec = self.network.input_spec
        if not self.input_edit.hasFocus():
            self.input_edit.setText(", ".join(map(str, spec.shape)) if spec else "")
        for spec in self.network.inputs:
            if spec.name in self.input_rows:
                name_edit, shape_edit, dtype_combo = self.input_rows[spec.name]
                if not shape_edit.hasFocus():
                    shape_edit.setText(", ".join(map(str, spec.shape)))
                dtype_combo.setCurrentText(spec.dtype)
        for what, choice in (("loss", self.network.loss), ("optimizer", self.network.optimizer)):
            if choice is not None and what in self.forms:
                self.forms[what].show_values(choice.parameters)
        for output, own in self.network.output_losses.items():
            if f"loss.{output}" in self.forms:
                self.forms[f"loss.{output}"].show_values(own.choice.parameters)
                weight = self.findChild(QtWidgets.QDoubleSpinBox, f"inspectorLossWeight.{output}")
                if weight is not None and not weight.hasFocus():
                    blocker = QtCore.QSignalBlocker(weight)
                    weight.setValue(own.weight)
                    del blocker

    # -- edits -----------------------------------------------------------------------
    def _run(self, text: str, operation: Callable[[], object], merge_key=None) -> bool:
        try:
            return self.document.apply(text, operation, merge_key)
        except PyTorchGUIError as error:
            show_status(self, f"Not changed: {error}", 10000)
            return False

    def _finish_session(self, _field: str = "") -> None:
        self._session += 1

    def _commit(self, form: ParameterForm, apply: Callable[[dict[str, Any]], None], subject: str,
                field: str) -> None:
        """A field changed: if the whole form is valid, it becomes the model's values."""
        if self._updating or not form.is_valid():
            return
        values = form.values()
        self._run(f"Set {field} of {subject}", lambda: apply(values), merge_key=(subject, field, self._session))

    def _rename(self) -> None:
        old, new = self.names[0], self.name_edit.text().strip()
        if not new or new == old:
            self.name_edit.setText(old)
            return
        if self._run(f"Rename {old}", lambda: self.network.rename_node(old, new)):
            self.node_renamed.emit(new)
        else:
            self.name_edit.setText(old)

    def _set_first_layer(self, checked: bool) -> None:
        name = self.names[0]
        self._run(f"{'Set' if checked else 'Unset'} first layer {name}",
                  lambda: self.network.set_first_layer(name, checked))

    def _choose_first_input(self) -> None:
        name, source = self.names[0], self.first_input_combo.currentText()
        self._run(f"Make {source} the first input of {name}", lambda: self.network.move_input_first(name, source))

    def _set_trainable(self, checked: bool) -> None:
        name = self.names[0]
        self._run(f"{'Unfreeze' if checked else 'Freeze'} {name}", lambda: self.network.set_trainable(name, checked))

    def _set_input(self, input_name: str | None, edit: QtWidgets.QLineEdit) -> None:
        text = edit.text()
        try:
            shape = parse_shape(text)
        except ValueError:
            show_status(self, f"“{text}” is not a shape: write whole numbers such as 1, 28, 28 "
                              "(channels, height, width)", 10000)
            return
        current = self.network.input_named(input_name) if input_name is not None else None
        if shape == (current.shape if current else None):
            return
        if shape is None and len(self.network.inputs) > 1:  # emptied: put it back; ✕ removes an input
            edit.setText(", ".join(map(str, current.shape)))
            return
        what = "input shape" if len(self.network.inputs) <= 1 else f"the shape of input {input_name}"
        self._run(f"Set {what}", lambda: self.network.set_input(shape, current.dtype if current else "float32",
                                                                name=input_name))

    def _set_input_dtype(self, input_name: str, combo: QtWidgets.QComboBox) -> None:
        spec, dtype = self.network.input_named(input_name), combo.currentText()
        if dtype != spec.dtype:
            self._run(f"Set the dtype of input {input_name}",
                      lambda: self.network.set_input(spec.shape, dtype, name=input_name))

    def _add_input(self) -> None:
        """A new input named input_2 (or the next free number), shaped like the first: the
        user renames it and sets its shape in its row."""
        names = set(self.network.input_names()) | set(self.network.nodes)
        number = 2
        while f"input_{number}" in names:
            number += 1
        name = f"input_{number}"
        first = self.network.input_spec
        if first is None:  # the first input is the one the "Input shape" row sets
            show_status(self, "Set the input shape first, then add another input", 10000)
            return
        self._run(f"Add input {name}", lambda: self.network.add_input(name, list(first.shape), first.dtype))

    def _remove_input(self, input_name: str) -> None:
        self._run(f"Remove input {input_name}", lambda: self.network.remove_input(input_name))

    def _rename_input(self, old: str, edit: QtWidgets.QLineEdit) -> None:
        new = edit.text().strip()
        if not new or new == old or old not in self.network.input_names():
            edit.setText(old)
            return
        if not self._run(f"Rename input {old}", lambda: self.network.rename_input(old, new)):
            edit.setText(old)

    def _choose_fed_by(self) -> None:
        name, source = self.names[0], self.fed_by_combo.currentData()
        if source is None:
            self._run(f"Unset first layer {name}", lambda: self.network.set_first_layer(name, False))
        else:
            self._run(f"Feed {name} with input {source}", lambda: self.network.set_first_layer(name, True, input=source))

    def _set_own_loss(self, output: str, own: bool) -> None:
        """A loss of its own starts as a copy of the loss of every other output (weight 1)."""
        default = self.network.loss
        if not own:
            self._run(f"Train {output} with the loss of every other output",
                      lambda: self.network.set_output_loss(output, None))
        elif default is None:
            show_status(self, "Choose the loss of every other output first", 10000)
        else:
            self._run(f"Give {output} a loss of its own",
                      lambda: self.network.set_output_loss(output, default.type, dict(default.parameters)))

    def _choose_output_loss(self, output: str, combo: QtWidgets.QComboBox) -> None:
        type_name = selected_entry_name(combo, self.catalog.losses)
        own = self.network.output_losses.get(output)
        if type_name is None or own is None or own.choice.type == type_name:
            return
        self._run(f"Set the loss of {output} {type_name}",
                  lambda: self.network.set_output_loss(output, type_name, {}, own.weight))

    def _set_output_loss(self, output: str, parameters: dict[str, Any] | None = None,
                         weight: float | None = None) -> None:
        own = self.network.output_losses[output]
        self.network.set_output_loss(output, own.choice.type, own.choice.parameters if parameters is None
                                     else parameters, own.weight if weight is None else weight)

    def _set_output_loss_weight(self, output: str, weight: float) -> None:
        if self._updating or output not in self.network.output_losses:
            return
        self._run(f"Set the loss weight of {output}", lambda: self._set_output_loss(output, weight=weight),
                  merge_key=(output, "weight", self._session))

    def _choose(self, combo: QtWidgets.QComboBox, database, setter, what: str) -> None:
        type_name = selected_entry_name(combo, database)
        if type_name is None:
            return
        current = self.network.loss if what == "loss" else self.network.optimizer
        if current is not None and current.type == type_name:
            return
        self._run(f"Set {what} {type_name}", lambda: setter(type_name, {}))

"""The inspector: the selection's properties, edited in place.

One node selected: its name, type, documentation, output shape, parameter count and the
generated form of its parameters. Nothing selected: the network's input shape, loss and
optimizer. Several: what they add up to. Every committed change is one undo step through
NetworkDocument.apply; the keystrokes of one field edit merge into one (its merge key
holds an edit session that ends when the field's edit is finished).

The network stays the truth: after any change the tab calls `show_selection`, which
rebuilds the page only when its subject changed and otherwise brings the shown values
up to date, so a field being typed in keeps its focus and cursor.
"""
from __future__ import annotations

from typing import Any, Callable

from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.shapes import ShapeReport, describe_shape
from pytorchgui.gui.document import NetworkDocument
from pytorchgui.gui.forms import ParameterForm
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
            return ("node", node.name, node.type)
        if self.names:
            return ("many", tuple(self.names))
        loss, optimizer = self.network.loss, self.network.optimizer
        return ("network", loss.type if loss else None, optimizer.type if optimizer else None)

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
        inputs = QtWidgets.QFormLayout()
        inputs.setRowWrapPolicy(QtWidgets.QFormLayout.WrapLongRows)
        self.input_edit = QtWidgets.QLineEdit()
        self.input_edit.setObjectName("inspectorInput")
        self.input_edit.setPlaceholderText("e.g. 1, 28, 28")
        self.input_edit.setToolTip("The shape of one sample, without the batch: channels, height, width")
        self.input_edit.editingFinished.connect(self._set_input)
        inputs.addRow("Input shape", self.input_edit)
        layout.addLayout(inputs)
        for what, database, choice, setter in (
                ("loss", self.catalog.losses, self.network.loss, self.network.set_loss),
                ("optimizer", self.catalog.optimizers, self.network.optimizer, self.network.set_optimizer)):
            box = QtWidgets.QGroupBox("Loss function" if what == "loss" else "Optimizer")
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
            self.network_label.setText(f"{count} nodes · {self.report.total_parameters:,} parameters · output "
                                       f"{describe_shape(self.report.output_shape)}")
        else:
            self.network_label.setText("Empty: drag a layer from the palette onto the canvas." if not count else "")
        spec = self.network.input_spec
        if not self.input_edit.hasFocus():
            self.input_edit.setText(", ".join(map(str, spec.shape)) if spec else "")
        for what, choice in (("loss", self.network.loss), ("optimizer", self.network.optimizer)):
            if choice is not None and what in self.forms:
                self.forms[what].show_values(choice.parameters)

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

    def _set_input(self) -> None:
        text = self.input_edit.text()
        try:
            shape = parse_shape(text)
        except ValueError:
            show_status(self, f"“{text}” is not a shape: write whole numbers such as 1, 28, 28 "
                              "(channels, height, width)", 10000)
            return
        current = self.network.input_spec
        if shape == (current.shape if current else None):
            return
        self._run("Set input shape", lambda: self.network.set_input(shape, current.dtype if current else "float32"))

    def _choose(self, combo: QtWidgets.QComboBox, database, setter, what: str) -> None:
        type_name = selected_entry_name(combo, database)
        if type_name is None:
            return
        current = self.network.loss if what == "loss" else self.network.optimizer
        if current is not None and current.type == type_name:
            return
        self._run(f"Set {what} {type_name}", lambda: setter(type_name, {}))

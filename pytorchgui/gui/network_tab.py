"""The Network tab: the canvas, the original design's controls, problems and summary.

A thin controller: every button and gesture becomes one core operation run through
`NetworkDocument.apply` (so it is undoable), and every change of the network reruns
shape inference and updates the canvas, the problem list and the summary.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PyQt5 import QtCore, QtGui, QtWidgets, sip

from pytorchgui.core.catalog import AUTO, CatalogEntry, FunctionDatabase
from pytorchgui.core.clipboard import copy_nodes, paste_nodes
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.network import NetworkEvent
from pytorchgui.core.shapes import ShapeReport, describe_shape, infer_shapes, summary_rows
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.document import NetworkDocument
from pytorchgui.gui.forms import FunctionDialog, format_value
from pytorchgui.gui.widgets import (catalogue_combo, controls_beside, read_only_table, select_entry, show_status,
                                   selected_entry_name, with_button)
from pytorchgui.core.layout import LAYER_GAP, tidy_positions
from pytorchgui.gui.graph_editor import EdgeItem, NetworkScene, NetworkView, NodeItem

NETWORK_FILE_FILTER = "Network files (*.json);;All files (*)"


def describe_choice(choice) -> str:
    if choice is None:
        return "not set"
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in list(choice.parameters.items())[:3])
    return f"{choice.type} ({shown})" if shown else choice.type


def _button(text: str, name: str, slot: Callable, tip: str = "") -> QtWidgets.QPushButton:
    widget = QtWidgets.QPushButton(text)
    widget.setObjectName(name)
    widget.clicked.connect(slot)
    widget.setToolTip(tip)
    return widget


class NetworkTab(QtWidgets.QWidget):
    report_changed = QtCore.pyqtSignal(object)

    def __init__(self, document: NetworkDocument, parent: QtWidgets.QWidget | None = None, *,
                 defer_first_refresh: bool = False):
        super().__init__(parent)
        self.document = document
        self.network = document.network
        self.catalog = self.network.catalog
        self.report: ShapeReport | None = None
        self._shown_rows: list[dict[str, Any]] | None = None  # what the summary table shows
        self.dialog: FunctionDialog | None = None
        self.scene = NetworkScene(self.network, self)
        self.view = NetworkView(self.scene)
        self.view.menu_for = self.context_menu
        self.view.setObjectName("networkView")
        self._build()
        self.scene.connect_requested.connect(self.connect_nodes)
        self.scene.nodes_moved.connect(self.move_nodes)
        self.scene.edit_requested.connect(self.edit_node)
        self.scene.selectionChanged.connect(self._selection_changed)
        # Coalesce bursts of model events (a load announces every node) into one refresh.
        self._refresh_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self.refresh)
        unsubscribe = self.network.subscribe(self._network_changed)
        self.destroyed.connect(lambda: unsubscribe())  # the network may outlive this view
        self._fit_after_refresh = True
        self._refresh_paused = defer_first_refresh  # shape inference imports torch: not before the first paint
        if defer_first_refresh:
            self.scene.sync()  # the canvas shows the nodes at once, their shapes follow
        else:
            self._refresh_timer.start()

    def schedule_refresh(self) -> None:
        self._refresh_paused = False
        self._refresh_timer.start()

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        controls = self._build_controls()
        right = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        right.addWidget(self._build_canvas())
        right.addWidget(self._build_side_tabs())
        right.setStretchFactor(0, 4)
        right.setStretchFactor(1, 1)
        controls_beside(self, controls, right, 300)

    def _build_controls(self) -> QtWidgets.QWidget:
        controls = QtWidgets.QWidget()
        controls.setObjectName("networkControls")
        column = QtWidgets.QVBoxLayout(controls)
        column.setContentsMargins(4, 4, 4, 4)

        def group(title: str) -> QtWidgets.QVBoxLayout:
            box = QtWidgets.QGroupBox(title)
            layout = QtWidgets.QVBoxLayout(box)
            layout.setSpacing(4)
            column.addWidget(box)
            return layout

        layers = group("Layers")
        self.layer_combo = catalogue_combo(self.catalog.layers, "layerTypeCombo")
        layers.addWidget(self.layer_combo)
        layers.addWidget(_button("Add a layer…", "addLayerButton", self.add_layer))
        activations = group("Activation functions")
        self.activation_combo = catalogue_combo(self.catalog.activations, "activationTypeCombo")
        activations.addWidget(self.activation_combo)
        activations.addWidget(_button("Add an activation function…", "addActivationButton", self.add_activation))

        self._build_existing_and_input(group)

        def chooser(title: str, database: FunctionDatabase, name: str, slot: Callable):
            """Combo + "Set…" + a line saying what is set now (loss, optimizer)."""
            layout = group(title)
            combo = catalogue_combo(database, f"{name}Combo")
            row = QtWidgets.QHBoxLayout()
            row.addWidget(combo, 1)
            row.addWidget(_button("Set…", f"set{name.capitalize()}Button", slot))
            layout.addLayout(row)
            label = QtWidgets.QLabel()
            label.setObjectName(f"current{name.capitalize()}Label")
            label.setWordWrap(True)
            layout.addWidget(label)
            return combo, label

        self.loss_combo, self.loss_label = chooser("Loss function", self.catalog.losses, "loss", self.choose_loss)
        self.optimizer_combo, self.optimizer_label = chooser("Optimizer", self.catalog.optimizers, "optimizer",
                                                             self.choose_optimizer)

        files = QtWidgets.QHBoxLayout()
        files.addWidget(_button("Load…", "loadButton", lambda: self.window().open_file()))
        files.addWidget(_button("Save…", "saveButton", lambda: self.window().save_file_as()))
        column.addLayout(files)
        column.addStretch(1)
        return controls

    def _build_existing_and_input(self, group: Callable[[str], QtWidgets.QVBoxLayout]) -> None:
        existing = group("Existing layers")
        self.node_combo = QtWidgets.QComboBox()
        self.node_combo.setObjectName("nodeCombo")
        self.node_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.node_combo.setMinimumContentsLength(12)
        existing.addWidget(self.node_combo)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(_button("Edit…", "editButton", lambda: self.edit_node(self.current_node())))
        row.addWidget(_button("Remove", "removeButton", self.remove_current))
        existing.addLayout(row)
        existing.addWidget(_button("Set as first layer", "firstLayerButton", self.toggle_first_layer,
                                   "The network's input goes to the first layer(s)"))

        inputs = group("Input")
        row = QtWidgets.QHBoxLayout()
        self.input_edit = QtWidgets.QLineEdit()
        self.input_edit.setObjectName("inputShapeEdit")
        self.input_edit.setPlaceholderText("e.g. 1, 28, 28")
        self.input_edit.setToolTip("Shape of one sample, without the batch: channels, height, width")
        self.input_edit.returnPressed.connect(self.set_input_shape)
        row.addWidget(self.input_edit)
        row.addWidget(_button("Set", "setInputButton", self.set_input_shape))
        inputs.addLayout(row)

    def _build_canvas(self) -> QtWidgets.QWidget:
        canvas = QtWidgets.QWidget()
        canvas_layout = QtWidgets.QVBoxLayout(canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        toolbar = QtWidgets.QHBoxLayout()
        self.summary_label = QtWidgets.QLabel()
        self.summary_label.setObjectName("summaryLabel")
        toolbar.addWidget(self.summary_label, 1)
        for text, name, slot in (("Fit", "fitButton", self.view.fit), ("Tidy", "tidyButton", self.tidy_layout),
                                 ("−", "zoomOutButton", lambda: self.view.zoom(1 / 1.25)),
                                 ("+", "zoomInButton", lambda: self.view.zoom(1.25))):
            widget = _button(text, name, slot)
            widget.setMaximumWidth(56)
            toolbar.addWidget(widget)
        canvas_layout.addLayout(toolbar)
        canvas_layout.addWidget(self.view, 1)
        return canvas

    def _build_side_tabs(self) -> QtWidgets.QTabWidget:
        self.problem_list = QtWidgets.QListWidget()
        self.problem_list.setObjectName("problemList")
        self.problem_list.itemActivated.connect(self._problem_activated)
        self.problem_list.itemClicked.connect(self._problem_activated)
        self.summary_table = read_only_table(["Node", "Type", "Output shape", "Parameters"], "summaryTable")
        summary_box = with_button(self.summary_table, "Export summary as CSV…", "exportSummaryButton",
                                  self.export_summary)
        self.side_tabs = QtWidgets.QTabWidget()
        self.side_tabs.addTab(self.problem_list, "Problems")
        self.side_tabs.addTab(summary_box, "Summary")
        return self.side_tabs

    # -- model -> view ---------------------------------------------------------------
    def _network_changed(self, event: NetworkEvent) -> None:
        if event.kind == "reset":
            self._fit_after_refresh = self._fit_after_refresh or not self.document.undo_stack.count()
        if self._refresh_paused:
            self.scene.sync()
        else:
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Rerun shape inference and bring every part of the tab up to date."""
        self.report = infer_shapes(self.network)
        if sip.isdeleted(self.scene):
            # The first inference imports torch (seconds, with garbage collections); a window
            # closed meanwhile may have been destroyed under us.
            return
        self.scene.report = self.report
        self.scene.sync()
        self._update_node_combo()
        self._update_problems()
        self._update_summary()
        spec = self.network.input_spec
        if not self.input_edit.hasFocus():
            self.input_edit.setText(", ".join(map(str, spec.shape)) if spec else "")
        self.loss_label.setText(f"Current: {describe_choice(self.network.loss)}")
        self.optimizer_label.setText(f"Current: {describe_choice(self.network.optimizer)}")
        if self.network.loss:
            select_entry(self.loss_combo, self.network.loss.type)
        if self.network.optimizer:
            select_entry(self.optimizer_combo, self.network.optimizer.type)
        if self._fit_after_refresh:
            self._fit_after_refresh = False
            self.view.show_readable()
        self.report_changed.emit(self.report)

    def _update_node_combo(self) -> None:
        names = list(self.network.nodes)
        if names == [self.node_combo.itemText(i) for i in range(self.node_combo.count())]:
            return  # unchanged: refilling 200 items after every edit is what made refreshes slow
        current = self.node_combo.currentText()
        blocker = QtCore.QSignalBlocker(self.node_combo)
        self.node_combo.clear()
        for name in self.network.nodes:
            self.node_combo.addItem(name)
        index = self.node_combo.findText(current)
        self.node_combo.setCurrentIndex(index if index >= 0 else self.node_combo.count() - 1)
        del blocker

    def _update_problems(self) -> None:
        self.problem_list.clear()
        for problem in self.report.problems:
            item = QtWidgets.QListWidgetItem(f"⚠ {problem.message}")
            item.setData(QtCore.Qt.UserRole, problem.node)
            item.setForeground(QtGui.QColor("#c92a2a"))
            self.problem_list.addItem(item)
        for problem in self.network.training_problems():
            item = QtWidgets.QListWidgetItem(f"• {problem.message}")
            self.problem_list.addItem(item)
        if not self.problem_list.count():
            item = QtWidgets.QListWidgetItem("✓ No problems: the network compiles.")
            item.setForeground(QtGui.QColor("#2b8a3e"))
            self.problem_list.addItem(item)
        count = len(self.report.problems)
        self.side_tabs.setTabText(0, f"Problems ({count})" if count else "Problems")

    def _update_summary(self) -> None:
        rows = summary_rows(self.network, self.report)
        if rows != self._shown_rows:
            self._fill_summary(rows)
        self._update_summary_line()

    def _fill_summary(self, rows: list[dict[str, Any]]) -> None:
        self._shown_rows = rows
        self.summary_table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, key in enumerate(("node", "type", "output_shape", "parameters")):
                value = row[key]
                text = ("?" if value is None else f"{value:,}") if key == "parameters" else str(value)
                item = QtWidgets.QTableWidgetItem(text)
                if key == "parameters":
                    item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
                self.summary_table.setItem(index, column, item)

    def _update_summary_line(self) -> None:
        if not self.network.nodes:
            self.summary_label.setText("Empty network: add a layer with the controls on the left.")
        else:
            shape = describe_shape(self.report.output_shape)
            status = "compiles" if self.report.ok else f"{len(self.report.problems)} problem(s)"
            self.summary_label.setText(f"<b>{len(self.network)}</b> nodes · <b>{self.report.total_parameters:,}</b> "
                                       f"parameters · output <b>{shape}</b> · {status}")

    def _problem_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        name = item.data(QtCore.Qt.UserRole)
        if name and name in self.scene.node_items:
            self.scene.clearSelection()
            node = self.scene.node_items[name]
            node.setSelected(True)
            self.view.centerOn(node)

    def _selection_changed(self) -> None:
        selected = self.scene.selected_nodes()
        if len(selected) == 1:
            self.node_combo.setCurrentText(selected[0])

    # -- helpers ---------------------------------------------------------------------
    def run(self, text: str, operation: Callable[[], object]) -> bool:
        """Run an edit as one undoable step; a refused edit is shown, nothing changes."""
        try:
            return self.document.apply(text, operation)
        except PyTorchGUIError as error:
            show_error(self, "Cannot do that", str(error))
            return False

    def current_node(self) -> str | None:
        name = self.node_combo.currentText()
        return name if name in self.network else None

    def _new_position(self) -> tuple[float, float]:
        """Below the lowest node, so a new node never hides another."""
        positions = [node.position for node in self.network.nodes.values() if node.position is not None]
        if not positions:
            return (0.0, 0.0)
        lowest = max(positions, key=lambda p: p[1])
        return (lowest[0], lowest[1] + LAYER_GAP)

    def _open_dialog(self, dialog: FunctionDialog, on_accept: Callable[[FunctionDialog], None]) -> FunctionDialog:
        self.dialog = dialog
        dialog.accepted.connect(lambda: on_accept(dialog))
        dialog.open()
        return dialog

    # -- the original design's controls ---------------------------------------------------
    def add_layer(self) -> None:
        self._add_from(self.layer_combo, self.catalog.layers)

    def add_activation(self) -> None:
        self._add_from(self.activation_combo, self.catalog.activations)

    def _add_from(self, combo: QtWidgets.QComboBox, database: FunctionDatabase) -> FunctionDialog | None:
        type_name = selected_entry_name(combo, database)
        if type_name is None:
            show_error(self, "Unknown type", f"“{combo.currentText()}” is not in the catalogue: pick one from the list.")
            return None
        entry = database.get(type_name)
        name = self.network.unique_name(type_name.lower())
        # Sizes that follow from the previous layer start as "auto": one thing less to get wrong.
        values = {spec.name: AUTO for spec in entry.parameters if spec.auto and spec.required}
        dialog = FunctionDialog(entry, values, title=f"Add {type_name}", accept_text="Add", name=name, parent=self)
        return self._open_dialog(dialog, lambda d: self._add_accepted(entry, d))

    def _add_accepted(self, entry: CatalogEntry, dialog: FunctionDialog) -> None:
        previous = self.current_node()
        position = self._new_position()

        def add() -> None:
            name = self.network.add_node(entry.name, dialog.node_name(), dialog.values(), position=position)
            # Chain after the selected node when it has no next layer yet: building a
            # sequential network is then just Add, Add, Add.
            if previous and not self.network.node(previous).next_layers and not entry.variadic:
                self.network.connect(previous, name)
            if len(self.network) == 1:
                self.network.set_first_layer(name)

        if self.run(f"Add {dialog.node_name()}", add):
            self._update_node_combo()
            self.node_combo.setCurrentText(dialog.node_name())

    def edit_node(self, name: str | None) -> FunctionDialog | None:
        if not name or name not in self.network:
            return None
        node = self.network.node(name)
        entry = self.network.entry(name)
        others = [n for n in self.network.nodes if n != name]
        current_next = node.next_layers[0] if len(node.next_layers) == 1 else None
        several = len(node.next_layers) > 1
        dialog = FunctionDialog(entry, node.parameters, title=f"Edit {name}", accept_text="Apply", name=name,
                                next_layer_choices=None if several else others, next_layer=current_next, parent=self)
        return self._open_dialog(dialog, lambda d: self._edit_accepted(name, several, d))

    def _edit_accepted(self, name: str, several: bool, dialog: FunctionDialog) -> None:
        new_name = dialog.node_name()

        def edit() -> None:
            self.network.set_parameters(name, dialog.values())
            if not several:
                target = dialog.next_layer()
                self.network.set_next_layers(name, [target] if target else [])
            self.network.rename_node(name, new_name)

        if self.run(f"Edit {name}", edit):
            self._update_node_combo()
            self.node_combo.setCurrentText(new_name)

    def rename_current(self) -> None:
        name = self.current_node()
        if name is None:
            return
        new, ok = QtWidgets.QInputDialog.getText(self, "Rename", f"New name for “{name}”:", text=name)
        if ok and new.strip():
            self.run(f"Rename {name}", lambda: self.network.rename_node(name, new.strip()))

    def remove_current(self) -> None:
        name = self.current_node()
        if name:
            self.run(f"Remove {name}", lambda: self.network.remove_node(name))

    def delete_selection(self) -> None:
        nodes, links = self.scene.selected_nodes(), self.scene.selected_links()
        if not nodes and not links:
            return

        def delete() -> None:
            for source, target in links:
                if source in self.network and target in self.network.node(source).next_layers:
                    self.network.disconnect(source, target)
            for name in nodes:
                self.network.remove_node(name)

        self.run("Delete", delete)

    # -- context menus ---------------------------------------------------------------
    def context_menu(self, scene_position: QtCore.QPointF) -> QtWidgets.QMenu:
        """What a right-click offers where it happens: a node (it becomes the selection
        unless it is part of it), an arrow, or the empty canvas."""
        item = self.scene.itemAt(scene_position, QtGui.QTransform())
        while item is not None and not isinstance(item, (NodeItem, EdgeItem)):
            item = item.parentItem()
        menu = QtWidgets.QMenu(self)
        if isinstance(item, NodeItem):
            if not item.isSelected():
                self.scene.clearSelection()
                item.setSelected(True)
            self._node_menu(menu, item.name)
        elif isinstance(item, EdgeItem):
            source, target = item.source, item.target
            menu.addAction(f"Delete the link {source} → {target}",
                           lambda: self.run("Unlink", lambda: self.network.disconnect(source, target)))
        else:
            paste = menu.addAction("Paste", self.paste)
            paste.setEnabled(bool(QtWidgets.QApplication.clipboard().text().strip()))
            menu.addAction("Tidy layout", self.tidy_layout)
            menu.addAction("Fit to view", self.view.fit)
        return menu

    def _node_menu(self, menu: QtWidgets.QMenu, name: str) -> None:
        first = name in self.network.first_layers
        links = [(name, target) for target in self.network.node(name).next_layers]
        links += [(source, name) for source in self.network.inputs_of(name)]

        def disconnect() -> None:
            for source, target in links:
                self.network.disconnect(source, target)

        menu.addAction("Edit…", lambda: self.edit_node(name))
        menu.addAction("Rename…", lambda: (self.node_combo.setCurrentText(name), self.rename_current()))
        menu.addAction("Duplicate", self.duplicate_selection)
        menu.addAction("Copy", self.copy_selection)
        menu.addAction("Cut", self.cut_selection)
        menu.addAction("Delete", self.delete_selection)
        menu.addSeparator()
        menu.addAction("Unset as first layer" if first else "Set as first layer",
                       lambda: self.run(f"{'Unset' if first else 'Set'} first layer {name}",
                                        lambda: self.network.set_first_layer(name, not first)))
        menu.addAction("Disconnect", lambda: self.run(f"Disconnect {name}", disconnect)).setEnabled(bool(links))

    # -- clipboard -------------------------------------------------------------------
    def copy_selection(self) -> bool:
        """The selected nodes and the links among them onto the system clipboard, as
        network JSON (so they paste into another window, or into a text editor)."""
        names = self.scene.selected_nodes()
        if not names:
            return False
        QtWidgets.QApplication.clipboard().setText(copy_nodes(self.network, names))
        show_status(self, f"Copied {len(names)} node(s)")
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self, text: str | None = None) -> list[str]:
        """Paste network JSON (the clipboard's by default) as one undoable step; the pasted
        nodes are selected. Text that is not a network changes nothing and says why."""
        text = QtWidgets.QApplication.clipboard().text() if text is None else text
        pasted: list[str] = []
        try:
            self.document.apply("Paste", lambda: pasted.extend(paste_nodes(self.network, text)))
        except PyTorchGUIError as error:
            show_status(self, f"Nothing pasted: {error}", 10000)
            return []
        self.scene.sync()
        self.scene.clearSelection()
        for name in pasted:
            self.scene.node_items[name].setSelected(True)
        return pasted

    def select_all(self) -> None:
        for item in self.scene.node_items.values():
            item.setSelected(True)

    def duplicate_selection(self) -> list[str]:
        names = self.scene.selected_nodes()
        return self.paste(copy_nodes(self.network, names)) if names else []

    def toggle_first_layer(self) -> None:
        name = self.current_node()
        if name:
            first = name not in self.network.first_layers
            self.run(f"{'Set' if first else 'Unset'} first layer {name}",
                     lambda: self.network.set_first_layer(name, first))

    def connect_nodes(self, source: str, target: str) -> None:
        self.run(f"Link {source} → {target}", lambda: self.network.connect(source, target))

    def move_nodes(self, positions: dict[str, tuple[float, float]]) -> None:
        def move() -> None:
            for name, position in positions.items():
                self.network.move_node(name, position)

        self.run("Move", move)

    def tidy_layout(self) -> None:
        positions = tidy_positions(self.network)
        self.move_nodes(positions)
        self.view.fit()

    def set_input_shape(self) -> None:
        text = self.input_edit.text().replace("[", "").replace("]", "")
        try:
            shape = [int(part) for part in text.replace(",", " ").split()] if text.strip() else None
        except ValueError:
            show_error(self, "Input shape", f"“{self.input_edit.text()}” is not a shape: write whole numbers "
                                            "such as 1, 28, 28 (channels, height, width).")
            return
        dtype = self.network.input_spec.dtype if self.network.input_spec else "float32"
        self.run("Set input shape", lambda: self.network.set_input(shape, dtype))

    def choose_loss(self) -> FunctionDialog | None:
        return self._choose_function(self.loss_combo, self.catalog.losses, self.network.loss, "loss")

    def choose_optimizer(self) -> FunctionDialog | None:
        return self._choose_function(self.optimizer_combo, self.catalog.optimizers, self.network.optimizer,
                                     "optimizer")

    def _choose_function(self, combo, database, current, what: str) -> FunctionDialog | None:
        type_name = selected_entry_name(combo, database)
        if type_name is None:
            show_error(self, "Unknown type", f"“{combo.currentText()}” is not in the catalogue: pick one from the list.")
            return None
        entry = database.get(type_name)
        values = current.parameters if current is not None and current.type == type_name else None
        dialog = FunctionDialog(entry, values, title=f"Set the {what}", accept_text="Set", parent=self)

        def accepted(d: FunctionDialog) -> None:
            setter = self.network.set_loss if what == "loss" else self.network.set_optimizer
            self.run(f"Set {what} {type_name}", lambda: setter(type_name, d.values()))

        return self._open_dialog(dialog, accepted)

    def export_summary(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export summary", "summary.csv", "CSV files (*.csv)")
        if path:
            self.write_summary_csv(Path(path))

    def write_summary_csv(self, path: Path) -> None:
        import pandas

        from pytorchgui.core.atomic import atomic_write_text

        frame = pandas.DataFrame(summary_rows(self.network, self.report),
                                 columns=["node", "type", "output_shape", "parameters"])
        try:
            atomic_write_text(path, frame.to_csv(index=False))
        except OSError as error:
            show_error(self, "Export failed", f"Cannot write {path}: {error.strerror or error}")

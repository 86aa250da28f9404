"""The Network tab: a visual designer around the canvas.

Docks on an inner main window: the palette (left) to add layers, activations, merges and
blocks by dragging or double-clicking, and the inspector (right) to edit the selection
in place; the canvas with the problem list and summary in the middle. A thin
controller: every gesture becomes one core operation run through
`NetworkDocument.apply` (so it is undoable), and every change of the network reruns
shape inference and updates the canvas, the inspector, the problem list and the summary.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PyQt5 import QtCore, QtGui, QtWidgets, sip

from pytorchgui import paths, settings
from pytorchgui.core.interop.blocks import block_file_name, block_library, insert_block, save_block
from pytorchgui.core.interop.clipboard import copy_nodes, paste_nodes
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.layout import LAYER_GAP, tidy_positions
from pytorchgui.core.graph.network import NetworkEvent
from pytorchgui.core.data.fit import freeze_all_but_last
from pytorchgui.core.graph.shapes import (ShapeReport, describe_outputs, infer_shapes, step_problems,
                                          summary_rows, trainable_parameters)
from pytorchgui.core.interop.templates import template_files
from pytorchgui.core.wording import counted
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.document import NetworkDocument
from pytorchgui.gui.forms import FunctionDialog
from pytorchgui.gui.graph_editor import EdgeItem, NetworkScene, NetworkView, NodeItem
from pytorchgui.gui.inspector import Inspector
from pytorchgui.gui.palette import Palette
from pytorchgui.gui.widgets import read_only_table, show_status, with_button

NETWORK_FILE_FILTER = "Network files (*.json);;All files (*)"
LAYOUT_SETTING = "network_tab_layout"  # the docks' places, kept from one start to the next


def _button(text: str, name: str, slot: Callable, tip: str = "") -> QtWidgets.QPushButton:
    widget = QtWidgets.QPushButton(text)
    widget.setObjectName(name)
    widget.clicked.connect(slot)
    widget.setToolTip(tip)
    return widget


def _dock(title: str, name: str, content: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
    dock = QtWidgets.QDockWidget(title)
    dock.setObjectName(name)  # saveState/restoreState find docks by name
    dock.setWidget(content)
    dock.setFeatures(QtWidgets.QDockWidget.DockWidgetMovable | QtWidgets.QDockWidget.DockWidgetClosable
                     | QtWidgets.QDockWidget.DockWidgetFloatable)
    return dock


class NetworkTab(QtWidgets.QWidget):
    report_changed = QtCore.pyqtSignal(object)
    template_requested = QtCore.pyqtSignal(object)  # the path of an example to start from

    def __init__(self, document: NetworkDocument, parent: QtWidgets.QWidget | None = None, *,
                 defer_first_refresh: bool = False):
        super().__init__(parent)
        self.document = document
        self.network = document.network
        self.catalog = self.network.catalog
        self.report: ShapeReport | None = None
        self._shown_rows: list[dict[str, Any]] | None = None  # what the summary table shows
        self.dialog: FunctionDialog | None = None
        self.popup: AddNodePopup | None = None
        self.inside_view: QtWidgets.QWidget | None = None  # added by the main window (add_inside_view)
        self.scene = NetworkScene(self.network, self)
        self.view = NetworkView(self.scene)
        self.view.menu_for = self.context_menu
        self.view.drop_handler = self.drop_from_palette
        self.view.setObjectName("networkView")
        self._build()
        self.scene.connect_requested.connect(self.connect_nodes)
        self.scene.nodes_moved.connect(self.move_nodes)
        self.scene.edit_requested.connect(self.edit_node)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.collapse_requested.connect(self._collapse_requested)
        # Coalesce bursts of model events (a load announces every node) into one refresh.
        self._refresh_timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self.refresh)
        unsubscribe = self.network.subscribe(self._network_changed)
        self.destroyed.connect(lambda: unsubscribe())  # the network may outlive this view
        self._fit_after_refresh = True
        self._refresh_paused = defer_first_refresh  # shape inference imports torch: not before the first paint
        if defer_first_refresh:
            self._show_without_shapes()  # the canvas and the inspector at once, the shapes follow
        else:
            self._refresh_timer.start()
        QtCore.QTimer.singleShot(0, self.reload_blocks)  # a bad block file's dialog needs the window shown

    def schedule_refresh(self) -> None:
        self._refresh_paused = False
        self._refresh_timer.start()

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        self.designer = QtWidgets.QMainWindow()
        self.designer.setObjectName("networkDesigner")
        self.designer.setWindowFlags(QtCore.Qt.Widget)
        self.designer.setDockOptions(QtWidgets.QMainWindow.AnimatedDocks | QtWidgets.QMainWindow.AllowTabbedDocks)
        middle = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        middle.addWidget(self._build_canvas())
        middle.addWidget(self._build_side_tabs())
        middle.setStretchFactor(0, 4)
        middle.setStretchFactor(1, 1)
        self.designer.setCentralWidget(middle)
        self.palette = Palette(self.catalog)
        self.palette.add_requested.connect(self.add_from_palette)
        self.palette.template_requested.connect(self.template_requested)
        self.palette.set_templates([(path.stem, path, "An example network")
                                    for path in template_files(paths.example_networks_dir())])
        self.inspector = Inspector(self.document)
        self.inspector.node_renamed.connect(lambda name: self.select([name]))
        self.inspector.save_block_requested.connect(self.save_selection_as_block)
        self.palette_dock = _dock("Palette", "paletteDock", self.palette)
        self.inspector_dock = _dock("Inspector", "inspectorDock", self.inspector)
        self.palette_dock.setMinimumWidth(200)  # narrower, names and forms are cut off
        self.inspector_dock.setMinimumWidth(260)
        self.designer.addDockWidget(QtCore.Qt.LeftDockWidgetArea, self.palette_dock)
        self.designer.addDockWidget(QtCore.Qt.RightDockWidgetArea, self.inspector_dock)
        self.designer.resizeDocks([self.palette_dock, self.inspector_dock], [275, 330], QtCore.Qt.Horizontal)
        self._default_layout = self.designer.saveState()
        self.restore_layout()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.designer)

    def add_inside_view(self, view: QtWidgets.QWidget) -> None:
        """The "Inside" view (gui/inside_view.py: a node's output for one sample), tabbed with
        the inspector; it is told of every change of the selection."""
        self.inside_view = view
        self.inside_dock = _dock("Inside", "insideDock", view)
        self.designer.tabifyDockWidget(self.inspector_dock, self.inside_dock)
        self.restore_layout()  # where the user left it, now that it exists
        self.inspector_dock.raise_()

    def save_layout(self) -> None:
        state = bytes(self.designer.saveState().toBase64()).decode("ascii")
        stored = settings.load_settings()
        stored[LAYOUT_SETTING] = state
        settings.save_settings(stored)

    def reset_layout(self) -> None:
        self.designer.restoreState(self._default_layout)
        for dock in (self.palette_dock, self.inspector_dock):
            dock.setFloating(False)
            dock.show()

    def restore_layout(self) -> None:
        state = settings.load_settings().get(LAYOUT_SETTING)
        if isinstance(state, str):
            self.designer.restoreState(QtCore.QByteArray.fromBase64(state.encode("ascii")))

    def _build_canvas(self) -> QtWidgets.QWidget:
        canvas = QtWidgets.QWidget()
        canvas_layout = QtWidgets.QVBoxLayout(canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        toolbar = QtWidgets.QHBoxLayout()
        self.summary_label = QtWidgets.QLabel()
        self.summary_label.setObjectName("summaryLabel")
        self.summary_label.setWordWrap(True)  # a long line must not widen the canvas and squeeze the docks
        toolbar.addWidget(self.summary_label, 1)
        toolbar.addWidget(self._build_find_field())
        for text, name, slot in (("Fit", "fitButton", self.view.fit), ("Tidy", "tidyButton", self.tidy_layout),
                                 ("−", "zoomOutButton", lambda: self.view.zoom(1 / 1.25)),
                                 ("+", "zoomInButton", lambda: self.view.zoom(1.25))):
            widget = _button(text, name, slot)
            widget.setMaximumWidth(56)
            toolbar.addWidget(widget)
        canvas_layout.addLayout(toolbar)
        canvas_layout.addWidget(self.view, 1)
        return canvas

    def _build_find_field(self) -> QtWidgets.QLineEdit:
        """Ctrl+F: a node by name, completed from any part of it (an imported model's
        names are module paths: "avgpool" finds every block's)."""
        self.find_field = QtWidgets.QLineEdit()
        self.find_field.setObjectName("findNodeEdit")
        self.find_field.setPlaceholderText("Find a node (Ctrl+F)")
        self.find_field.setClearButtonEnabled(True)
        self.find_field.setMinimumWidth(180)
        self.find_field.setMaximumWidth(240)
        self._find_names = QtCore.QStringListModel(self)
        completer = QtWidgets.QCompleter(self._find_names, self.find_field)
        completer.setFilterMode(QtCore.Qt.MatchContains)
        completer.setCaseSensitivity(QtCore.Qt.CaseInsensitive)
        completer.setCompletionMode(QtWidgets.QCompleter.PopupCompletion)
        completer.setMaxVisibleItems(12)
        completer.popup().setMinimumWidth(340)  # module paths are longer than the field is wide
        completer.activated[str].connect(self.find_node)
        self.find_field.setCompleter(completer)
        self.find_field.returnPressed.connect(lambda: self.find_node(self.find_field.text()))
        shortcut = QtWidgets.QShortcut(QtGui.QKeySequence.Find, self, context=QtCore.Qt.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.open_find)
        return self.find_field

    def open_find(self) -> None:
        self.find_field.setFocus(QtCore.Qt.ShortcutFocusReason)
        self.find_field.selectAll()

    def _update_find_names(self) -> None:
        names = list(self.network.nodes)
        if names != self._find_names.stringList():
            self._find_names.setStringList(names)

    def find_node(self, text: str) -> bool:
        """Select the node named `text` (or else the first whose name contains it), expand
        the collapsed groups it is drawn in, and centre the view on it at a readable zoom."""
        text = text.strip()
        name = text if text in self.network else next(
            (n for n in self.network.nodes if text and text.lower() in n.lower()), None)
        if name is None:
            show_status(self, f"No node's name contains “{text}”")
            return False
        inside = {prefix for prefix in self.scene.collapsed if name.startswith(prefix + ".")}
        if inside:
            self.scene.request_collapsed(self.scene.collapsed - inside)
        self.select([name])
        if self.view.transform().m11() < self.view.readable_scale():
            self.view.resetTransform()
            self.view.scale(self.view.readable_scale(), self.view.readable_scale())
        self.view.centerOn(self.scene.node_items[name])
        return True

    def _collapse_requested(self, prefixes: set[str]) -> None:
        """Collapsing and expanding groups changes only the view, but is an undo step like
        every edit (the canvas's layout changes as much as after a move); it marks nothing
        to save."""
        self.document.undo_stack.push(CollapseCommand(self.scene, prefixes))

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
            self._show_without_shapes()
        else:
            self._refresh_timer.start()

    def _show_without_shapes(self) -> None:
        """The nodes and the inspector (input shape, loss, optimizer) before torch is loaded;
        at the first paint the inspector said "Empty: drag a layer" beside LeNet-5."""
        self.scene.sync()
        self._update_find_names()
        self.inspector.show_selection(self.scene.selected_nodes(), self.report)

    def refresh(self) -> None:
        """Rerun shape inference and bring every part of the tab up to date."""
        self.report = infer_shapes(self.network)
        if sip.isdeleted(self.scene) or sip.isdeleted(self.inspector):
            # The first inference imports torch (seconds, with garbage collections); a window
            # closed meanwhile may have been destroyed under us.
            return
        self.scene.report = self.report
        self.scene.sync()
        self._update_find_names()
        self._update_problems()
        self._update_summary()
        self.inspector.show_selection(self.scene.selected_nodes(), self.report)
        if self._fit_after_refresh:
            self._fit_after_refresh = False
            self.view.fit()
        self.report_changed.emit(self.report)

    def _update_problems(self) -> None:
        self.problem_list.clear()
        refused = self.report.problems + step_problems(self.network, self.report)
        for problem in refused:
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
        count = len(refused)
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
            self.summary_label.setText("Empty network: drag a layer from the palette onto the canvas, or "
                                       "double-click one.")
        else:
            status = "compiles" if self.report.ok else counted(len(self.report.problems), "problem")
            trainable = trainable_parameters(self.network, self.report)
            frozen = (f" ({trainable:,} trainable)" if trainable != self.report.total_parameters else "")
            self.summary_label.setText(f"<b>{len(self.network)}</b> nodes · <b>{self.report.total_parameters:,}</b> "
                                       f"parameters{frozen} · {describe_outputs(self.report, bold=True)} · {status}")

    def _problem_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        name = item.data(QtCore.Qt.UserRole)
        if name and name in self.scene.node_items:
            self.scene.clearSelection()
            node = self.scene.node_items[name]
            node.setSelected(True)
            self.view.centerOn(node)

    def _selection_changed(self) -> None:
        if self.scene.syncing or sip.isdeleted(self.scene):  # a window being destroyed clears its selection
            return
        names = self.scene.selected_nodes()
        self.inspector.show_selection(names, self.report)
        if self.inside_view is not None:  # also after select() (a problem clicked, a search), which blocks signals
            self.inside_view.show_node(names)

    def select(self, names: list[str]) -> None:
        self.scene.sync()
        blocker = QtCore.QSignalBlocker(self.scene)  # one inspector update, not one per node
        self.scene.clearSelection()
        for name in names:
            if name in self.scene.node_items:
                self.scene.node_items[name].setSelected(True)
        del blocker
        self._selection_changed()

    # -- helpers ---------------------------------------------------------------------
    def run(self, text: str, operation: Callable[[], object]) -> bool:
        """Run an edit as one undoable step; a refused edit is shown, nothing changes."""
        try:
            return self.document.apply(text, operation)
        except PyTorchGUIError as error:
            show_error(self, "Cannot do that", str(error))
            return False

    def current_node(self) -> str | None:
        """The one selected node, if one is."""
        selected = self.scene.selected_nodes()
        return selected[0] if len(selected) == 1 else None

    def _new_position(self) -> tuple[float, float]:
        """Below the lowest node, so a new node never hides another."""
        positions = [node.position for node in self.network.nodes.values() if node.position is not None]
        if not positions:
            return (0.0, 0.0)
        lowest = max(positions, key=lambda p: p[1])
        return (lowest[0], lowest[1] + LAYER_GAP)

    def _attach_point(self) -> str | None:
        """Where double-clicked entries go: after the selection's one end, or else after the
        network's one output, so a chain is built by double-clicking entry after entry."""
        selected = self.scene.selected_nodes()
        if selected:
            ends = [name for name in selected if not set(self.network.node(name).next_layers) & set(selected)]
        else:
            ends = self.network.outputs()
        return ends[0] if len(ends) == 1 else None

    def _open_dialog(self, dialog: FunctionDialog, on_accept: Callable[[FunctionDialog], None]) -> FunctionDialog:
        self.dialog = dialog
        dialog.accepted.connect(lambda: on_accept(dialog))
        dialog.open()
        return dialog

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
            self.select([new_name])

    def rename_current(self) -> None:
        name = self.current_node()
        if name is None:
            return
        new, ok = QtWidgets.QInputDialog.getText(self, "Rename", f"New name for “{name}”:", text=name)
        if ok and new.strip() and self.run(f"Rename {name}", lambda: self.network.rename_node(name, new.strip())):
            self.select([new.strip()])

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

    # -- the palette and blocks ------------------------------------------------------
    def insert(self, key: str, *, at: tuple[float, float] | None = None, after: str | None = None,
               into: tuple[str, str] | None = None) -> list[str]:
        """Insert a palette entry or block as one undoable step; the new nodes are selected."""
        block = self.palette.block_for(key)
        if block is None:
            return []
        added: list[str] = []
        if self.run(f"Add {block.name}", lambda: added.extend(insert_block(self.network, block, at=at, after=after,
                                                                           into=into))):
            self.select(added)
        return added

    def add_from_palette(self, key: str) -> list[str]:
        after = self._attach_point()
        return self.insert(key, after=after, at=None if after else self._new_position())

    def drop_from_palette(self, key: str, position: QtCore.QPointF) -> list[str]:
        """A palette entry dropped on the canvas: into the arrow under it, or there."""
        edge = self.scene.edge_at(position)
        if edge is not None:
            return self.insert(key, into=(edge.source, edge.target))
        return self.insert(key, at=(position.x(), position.y()))

    def open_add_popup(self, position: QtCore.QPointF, into: tuple[str, str] | None = None) -> "AddNodePopup":
        """Type to search, Enter to add: at `position`, or into the link `into`."""
        self.popup = AddNodePopup(self.palette, self)
        self.popup.chosen.connect(lambda key: self.insert(key, into=into) if into else
                                  self.insert(key, at=(position.x(), position.y())))
        self.popup.move(self.view.viewport().mapToGlobal(self.view.mapFromScene(position)))
        self.popup.show()
        self.popup.palette.search.setFocus()
        return self.popup

    def reload_blocks(self) -> None:
        """Read the block library into the palette; a file that cannot be read is named in
        a dialog and the others still load."""
        if sip.isdeleted(self.palette):
            return  # the first call is queued at start-up: a window closed at once is gone by then
        blocks, problems = block_library(self.catalog)
        self.palette.set_blocks(blocks)
        if problems:
            show_error(self, "Some blocks could not be read",
                       "These block files were skipped (the others are in the palette):\n\n" + "\n\n".join(problems)
                       + f"\n\nFix or delete them in {paths.user_blocks_dir()}.")

    def save_selection_as_block(self) -> Path | None:
        names = self.scene.selected_nodes()
        if not names:
            show_status(self, "Select the nodes to save as a block first")
            return None
        name, ok = QtWidgets.QInputDialog.getText(self, "Save as block", f"A name for these {counted(len(names), 'node')}:")
        if not ok or not name.strip():
            return None
        target = paths.user_blocks_dir() / block_file_name(name)
        if target.exists() and QtWidgets.QMessageBox.question(
                self, "Replace the block?", f"A block saved as {target.name} exists. Replace it?",
                QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No) != QtWidgets.QMessageBox.Yes:
            return None
        types = ", ".join(dict.fromkeys(self.network.node(n).type for n in names))
        try:
            path = save_block(self.network, names, name, f"{len(names)} nodes: {types}", paths.user_blocks_dir())
        except (PyTorchGUIError, OSError) as error:
            show_error(self, "Cannot save the block", str(error))
            return None
        self.reload_blocks()
        show_status(self, f"Saved the block “{name.strip()}” in {path}: it is in the palette under Blocks")
        return path

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
            menu.addAction("Insert a node…", lambda: self.open_add_popup(scene_position, into=(source, target)))
            menu.addAction(f"Delete the link {source} → {target}",
                           lambda: self.run("Unlink", lambda: self.network.disconnect(source, target)))
        else:
            menu.addAction("Add here…", lambda: self.open_add_popup(scene_position))
            paste = menu.addAction("Paste", self.paste)
            paste.setEnabled(bool(QtWidgets.QApplication.clipboard().text().strip()))
            menu.addAction("Tidy layout", self.tidy_layout)
            menu.addAction("Fit to view", self.view.fit)
            menu.addSeparator()
            menu.addAction("Freeze all but the last layer", self.freeze_all_but_last)
            menu.addAction("Unfreeze all", self.unfreeze_all)
            stages = self.stages()
            if stages or self.scene.collapsed:
                menu.addSeparator()
                menu.addAction(f"Collapse the {len(stages)} stages", lambda: self.scene.collapse(set(stages))
                               ).setEnabled(bool(stages))
                blocks = self.blocks()
                if blocks:  # a stage of 150 nodes is one box too many: its blocks, one box each
                    menu.addAction(f"Collapse the {len(blocks)} blocks", lambda: self.scene.request_collapsed(set(blocks)))
                menu.addAction("Expand all", lambda: self.scene.expand()).setEnabled(bool(self.scene.collapsed))
        return menu

    def _node_menu(self, menu: QtWidgets.QMenu, name: str) -> None:
        first = name in self.network.first_layers
        links = [(name, target) for target in self.network.node(name).next_layers]
        links += [(source, name) for source in self.network.inputs_of(name)]

        def disconnect() -> None:
            for source, target in links:
                self.network.disconnect(source, target)

        menu.addAction("Edit…", lambda: self.edit_node(name))
        menu.addAction("Rename…", self.rename_current)
        menu.addAction("Duplicate", self.duplicate_selection)
        menu.addAction("Copy", self.copy_selection)
        menu.addAction("Cut", self.cut_selection)
        menu.addAction("Delete", self.delete_selection)
        menu.addSeparator()
        menu.addAction("Unset as first layer" if first else "Set as first layer",
                       lambda: self.run(f"{'Unset' if first else 'Set'} first layer {name}",
                                        lambda: self.network.set_first_layer(name, not first)))
        menu.addAction("Disconnect", lambda: self.run(f"Disconnect {name}", disconnect)).setEnabled(bool(links))
        frozen = not self.network.node(name).trainable
        menu.addAction("Unfreeze" if frozen else "Freeze",
                       lambda: self.run(f"{'Unfreeze' if frozen else 'Freeze'} {name}",
                                        lambda: self.network.set_trainable(name, frozen)))
        parts = name.split(".")
        for depth in range(len(parts) - 1, 0, -1):  # the module paths this node is inside, innermost first
            prefix = ".".join(parts[:depth])
            menu.addAction(f"Collapse {prefix}", lambda p=prefix: self.scene.collapse({p}))
        menu.addSeparator()
        menu.addAction("Save as block…", self.save_selection_as_block)

    # -- clipboard -------------------------------------------------------------------
    def copy_selection(self) -> bool:
        """The selected nodes and the links among them onto the system clipboard, as
        network JSON (so they paste into another window, or into a text editor)."""
        names = self.scene.selected_nodes()
        if not names:
            return False
        QtWidgets.QApplication.clipboard().setText(copy_nodes(self.network, names))
        show_status(self, f"Copied {counted(len(names), 'node')}")
        return True

    def cut_selection(self) -> None:
        names = self.scene.selected_nodes()
        if self.copy_selection():
            self.delete_selection()
            show_status(self, f"Cut {counted(len(names), 'node')}")

    def paste(self, text: str | None = None, *, at_mouse: bool = True, step: str = "Paste") -> list[str]:
        """Paste network JSON (the clipboard's by default) as one undoable step, where the
        mouse is if it is over the canvas, else beside the copied nodes (never over a
        node); the pasted nodes are selected and the status bar names them. Text that
        is not a network changes nothing and says why."""
        text = QtWidgets.QApplication.clipboard().text() if text is None else text
        at = self._mouse_on_canvas() if at_mouse else None
        pasted: list[str] = []
        try:
            self.document.apply(step, lambda: pasted.extend(paste_nodes(self.network, text, at)))
        except PyTorchGUIError as error:
            show_status(self, f"Nothing pasted: {error}", 10000)
            return []
        self.select(pasted)
        shown = ", ".join(pasted[:5]) + (", …" if len(pasted) > 5 else "")
        show_status(self, f"{step}d {counted(len(pasted), 'node')}: {shown}")  # Pasted, Duplicated
        return pasted

    def _mouse_on_canvas(self) -> tuple[float, float] | None:
        """Where the mouse is on the canvas, in scene units; None when it is elsewhere."""
        viewport = self.view.viewport()
        point = viewport.mapFromGlobal(QtGui.QCursor.pos())
        if not viewport.isVisible() or not viewport.rect().contains(point):
            return None
        scene = self.view.mapToScene(point)
        return scene.x(), scene.y()

    def select_all(self) -> None:
        for item in self.scene.node_items.values():
            item.setSelected(True)

    def duplicate_selection(self) -> list[str]:
        names = self.scene.selected_nodes()
        return self.paste(copy_nodes(self.network, names), at_mouse=False, step="Duplicate") if names else []

    def stages(self) -> list[str]:
        """The top-level module paths that hold several nodes (an imported model's layer1 ...
        layer4, features), which can each be drawn as one box."""
        counts: dict[str, int] = {}
        for name in self.network.nodes:
            if "." in name:
                counts[name.split(".")[0]] = counts.get(name.split(".")[0], 0) + 1
        return [prefix for prefix, count in counts.items() if count > 1]

    def blocks(self) -> list[str]:
        """The module paths one level inside the stages that hold several nodes (mobilenet's
        features.0 ... features.12, resnet's layer1.0 ...); inside a path that holds most of
        its stage, the level below (vit's encoder.layers.encoder_layer_0 ...)."""
        blocks: list[str] = []
        for stage in self.stages():
            prefix = stage
            while True:
                counts: dict[str, int] = {}
                depth = prefix.count(".") + 2
                for name in self.network.nodes:
                    if name.startswith(prefix + ".") and name.count(".") >= depth:
                        child = ".".join(name.split(".")[:depth])
                        counts[child] = counts.get(child, 0) + 1
                # a path that is a node's own name holds that node's helpers (vit's encoder.cat.input0), not a block
                several = [child for child, count in counts.items() if count > 1 and child not in self.network]
                biggest = max(several, key=counts.get, default=None)
                if biggest is None or counts[biggest] <= sum(counts.values()) / 2:
                    blocks.extend(several)
                    break
                blocks.extend(child for child in several if child != biggest)
                prefix = biggest
        return blocks

    def freeze_all_but_last(self) -> None:
        """Fine-tuning: every node with weights frozen but the classifier, one undo step."""
        frozen: list[str] = []
        if self.run("Freeze all but the last layer", lambda: frozen.extend(freeze_all_but_last(self.network))):
            show_status(self, f"Froze {counted(len(frozen), 'node')}; the last layer with weights trains")

    def unfreeze_all(self) -> None:
        def unfreeze() -> None:
            for name in self.network.nodes:
                self.network.set_trainable(name, True)

        self.run("Unfreeze all", unfreeze)

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


class CollapseCommand(QtWidgets.QUndoCommand):
    """One undo step: the canvas's collapsed groups (module paths) from one set to another.
    It changes the view, not the network: the document stays unmodified (nothing to save)."""

    view_only = True

    def __init__(self, scene: NetworkScene, prefixes: set[str]):
        before, after = set(scene.collapsed), set(prefixes)
        if after - before:
            text = "Collapse " + ", ".join(sorted(after - before))
        else:
            text = "Expand all" if not after else "Expand " + ", ".join(sorted(before - after))
        super().__init__(text)
        self.scene, self.before, self.after = scene, before, after

    def redo(self) -> None:
        self.scene.set_collapsed(self.after)

    def undo(self) -> None:
        self.scene.set_collapsed(self.before)


class AddNodePopup(QtWidgets.QFrame):
    """The canvas's "add here": a palette in a popup, its search field focused; choosing
    an entry (Enter on the one match, or a double-click) adds it and closes the popup."""

    chosen = QtCore.pyqtSignal(str)

    def __init__(self, source: Palette, parent: QtWidgets.QWidget):
        super().__init__(parent, QtCore.Qt.Popup)
        self.setObjectName("addNodePopup")
        self.setFrameShape(QtWidgets.QFrame.StyledPanel)
        self.palette = Palette(source.catalog, hint="Type to search; Enter or a double-click adds it here.")
        self.palette.set_blocks(source.blocks)
        self.palette.add_requested.connect(self._chosen)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.palette)
        self.resize(280, 360)

    def _chosen(self, key: str) -> None:
        self.close()
        self.chosen.emit(key)

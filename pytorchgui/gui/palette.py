"""The palette: the whole catalogue, the blocks and the templates as one searchable tree.

Each entry is a key ("entry:Conv2d", "block:3", "template:/path/lenet5.json") that the
tree hands out in three ways: dragged onto the canvas (as PALETTE_MIME data), activated
(double-click or Enter: `add_requested`), or, for templates, `template_requested`. What a
key means is answered by `block_for`, so the canvas never looks into the tree.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.interop.blocks import Block, entry_block
from pytorchgui.core.graph.catalog import Catalog, CatalogEntry
from pytorchgui.gui.graph_editor import ACTIVATION_COLOUR, CATEGORY_COLOURS, PALETTE_MIME
KEY_ROLE = QtCore.Qt.UserRole
NAME_ROLE = QtCore.Qt.UserRole + 1  # name and category, lower case: what a search matches first
SEARCH_ROLE = QtCore.Qt.UserRole + 2  # and the description, when no name matches
BLOCK_COLOUR, TEMPLATE_COLOUR = "#96f2d7", "#dee2e6"


def first_sentence(text: str) -> str:
    sentence = text.split(". ")[0].strip()
    return sentence if sentence.endswith(".") else sentence + "."


def _swatch(colour: str) -> QtGui.QIcon:
    pixmap = QtGui.QPixmap(14, 14)
    pixmap.fill(QtCore.Qt.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.Antialiasing)
    painter.setPen(QtGui.QPen(QtGui.QColor("#868e96"), 1))
    painter.setBrush(QtGui.QColor(colour))
    painter.drawRoundedRect(QtCore.QRectF(1.5, 1.5, 11, 11), 3, 3)
    painter.end()
    return QtGui.QIcon(pixmap)


class PaletteTree(QtWidgets.QTreeWidget):
    """A tree whose leaves drag as palette keys."""

    def mimeTypes(self) -> list[str]:
        return [PALETTE_MIME]

    def mimeData(self, items) -> QtCore.QMimeData:
        data = QtCore.QMimeData()
        keys = [item.data(0, KEY_ROLE) for item in items if item.data(0, KEY_ROLE)]
        if keys and not keys[0].startswith("template:"):
            data.setData(PALETTE_MIME, keys[0].encode("utf-8"))
        return data

    def supportedDropActions(self) -> QtCore.Qt.DropActions:
        return QtCore.Qt.CopyAction


class Palette(QtWidgets.QWidget):
    add_requested = QtCore.pyqtSignal(str)  # a key, to add after the selected node
    template_requested = QtCore.pyqtSignal(object)  # the template's path

    DOCK_HINT = "Drag onto the canvas (onto an arrow to insert), or double-click to add after the selected node."

    def __init__(self, catalog: Catalog, parent: QtWidgets.QWidget | None = None, *, hint: str = DOCK_HINT):
        super().__init__(parent)
        self.setObjectName("palette")
        self.catalog = catalog
        self.blocks: list[Block] = []
        self.search = QtWidgets.QLineEdit()
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search layers, activations, blocks…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_single_match)
        self.search.installEventFilter(self)
        self.tree = PaletteTree()
        self.tree.setObjectName("paletteTree")
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        self.tree.setIconSize(QtCore.QSize(14, 14))
        self.tree.setIndentation(14)
        self.tree.itemActivated.connect(self._activated)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        hint_label = QtWidgets.QLabel(hint)
        hint_label.setWordWrap(True)
        hint_label.setStyleSheet("color: palette(mid); font-size: 11px;")
        layout.addWidget(hint_label)
        self._templates: list[tuple[str, Path, str]] = []
        self._fill()

    # -- content ---------------------------------------------------------------------
    def set_blocks(self, blocks: list[Block]) -> None:
        self.blocks = list(blocks)
        self._fill()

    def set_templates(self, templates: list[tuple[str, Path, str]]) -> None:
        """(name, path, one-line summary) of each network a new one can start from."""
        self._templates = list(templates)
        self._fill()

    def _fill(self) -> None:
        expanded = {self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())
                    if self.tree.topLevelItem(i).isExpanded()}
        self.tree.clear()
        layers = [entry for entry in self.catalog.layers if entry.category != "merge" and not entry.tensor_operation]
        merges = [entry for entry in self.catalog.layers if entry.category == "merge"]
        operations = [entry for entry in self.catalog.layers if entry.tensor_operation]
        self._entry_group("Layers", layers, by_category=True)
        self._entry_group("Activations", list(self.catalog.activations), by_category=True)
        self._entry_group("Merges", merges, by_category=False)
        self._entry_group("Tensor operations", operations, by_category=True)
        blocks = self._group("Blocks")
        for index, block in enumerate(self.blocks):
            label = block.name if block.builtin else f"{block.name} (mine)"
            self._leaf(blocks, label, f"block:{index}", BLOCK_COLOUR, block.description or "A block of your own.",
                       f"{block.name} block", block.description)
        templates = self._group("Templates")
        for name, path, summary in self._templates:
            self._leaf(templates, name, f"template:{path}", TEMPLATE_COLOUR,
                       f"{summary}\nDouble-click to start a new network from it.", name)
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            item.setExpanded(item.text(0) in expanded or not expanded and item.text(0) != "Templates")
        self.filter(self.search.text())

    def _group(self, title: str, parent: QtWidgets.QTreeWidgetItem | None = None) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem([title])
        item.setFlags(QtCore.Qt.ItemIsEnabled)
        font = item.font(0)
        font.setBold(parent is None)
        item.setFont(0, font)
        if parent is None:
            self.tree.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def _entry_group(self, title: str, entries: list[CatalogEntry], *, by_category: bool) -> None:
        group = self._group(title)
        categories: dict[str, list[CatalogEntry]] = {}
        for entry in entries:
            categories.setdefault(entry.category if by_category else "", []).append(entry)
        for category, members in categories.items():
            parent = self._group(category.capitalize(), group) if category else group
            for entry in members:
                colour = (ACTIVATION_COLOUR if entry.node_class == "activation_function"
                          else CATEGORY_COLOURS.get(entry.category, "#f8f9fa"))
                self._leaf(parent, entry.name, f"entry:{entry.name}", colour,
                           first_sentence(entry.description) if entry.description else entry.name,
                           f"{entry.name} {entry.category}", entry.description)

    def _leaf(self, parent: QtWidgets.QTreeWidgetItem, label: str, key: str, colour: str, tooltip: str,
              named: str, described: str = "") -> None:
        item = QtWidgets.QTreeWidgetItem([label])
        item.setIcon(0, _swatch(colour))
        item.setToolTip(0, tooltip)
        item.setData(0, KEY_ROLE, key)
        item.setData(0, NAME_ROLE, named.lower())
        item.setData(0, SEARCH_ROLE, f"{named} {described}".lower())
        item.setFlags(QtCore.Qt.ItemIsEnabled | QtCore.Qt.ItemIsSelectable | QtCore.Qt.ItemIsDragEnabled)
        parent.addChild(item)

    # -- search ----------------------------------------------------------------------
    def leaves(self) -> list[QtWidgets.QTreeWidgetItem]:
        found = []
        iterator = QtWidgets.QTreeWidgetItemIterator(self.tree)
        while iterator.value() is not None:
            item = iterator.value()
            if item.data(0, KEY_ROLE):
                found.append(item)
            iterator += 1
        return found

    def visible_leaves(self) -> list[QtWidgets.QTreeWidgetItem]:
        return [item for item in self.leaves() if not item.isHidden()]

    def filter(self, text: str) -> None:
        """Show the entries whose name or category holds every word typed, or, when none
        does, those whose description does; groups without a match hide, and a search
        opens every group it matches in."""
        words = text.lower().split()
        self.tree.setUpdatesEnabled(False)
        try:
            for role in (NAME_ROLE, SEARCH_ROLE):
                found = [self._filter_item(self.tree.topLevelItem(i), words, role)
                         for i in range(self.tree.topLevelItemCount())]
                if any(found):
                    break
        finally:
            self.tree.setUpdatesEnabled(True)
        if words:
            self.tree.expandAll()
            matches = self.visible_leaves()
            if matches:
                self.tree.setCurrentItem(matches[0])

    def _filter_item(self, item: QtWidgets.QTreeWidgetItem, words: list[str], role: int) -> bool:
        if item.data(0, KEY_ROLE):
            shown = all(word in item.data(0, role) for word in words)
        else:
            shown = False
            for index in range(item.childCount()):
                shown = self._filter_item(item.child(index), words, role) or shown
        item.setHidden(not shown)
        return shown

    def _add_single_match(self) -> None:
        """Enter in the search field adds the entry named exactly as typed, else the one
        entry left, else the highlighted one."""
        typed = self.search.text().strip().lower()
        matches = self.visible_leaves()
        exact = [item for item in matches if item.text(0).lower() == typed]
        current = self.tree.currentItem()
        if exact or len(matches) == 1:
            self._activated((exact or matches)[0])
        elif current is not None and current in matches and typed:
            self._activated(current)

    def eventFilter(self, watched, event) -> bool:
        """Down in the search field moves into the results, as in every search box."""
        if watched is self.search and event.type() == QtCore.QEvent.KeyPress and event.key() == QtCore.Qt.Key_Down:
            self.tree.setFocus()
            return True
        return super().eventFilter(watched, event)

    # -- keys ------------------------------------------------------------------------
    def _activated(self, item: QtWidgets.QTreeWidgetItem, _column: int = 0) -> None:
        key = item.data(0, KEY_ROLE)
        if not key:
            return
        if key.startswith("template:"):
            self.template_requested.emit(Path(key.split(":", 1)[1]))
        else:
            self.add_requested.emit(key)

    def block_for(self, key: str) -> Block | None:
        """What a palette key inserts: a catalogue entry as a block of one node, or a block."""
        kind, _, value = key.partition(":")
        if kind == "entry":
            for database in (self.catalog.layers, self.catalog.activations):
                if value in database:
                    return entry_block(database.get(value), self.catalog)
        elif kind == "block" and value.isdigit() and int(value) < len(self.blocks):
            return self.blocks[int(value)]
        return None

"""Small widget recipes shared by the tabs."""
from __future__ import annotations

import html
from typing import Callable

import numpy
from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.graph.catalog import FunctionDatabase


def app_icon() -> QtGui.QIcon:
    """PyTorchGUI's icon (resources/icons): a small network drawn as the canvas draws one."""
    from pytorchgui import paths

    return QtGui.QIcon(str(paths.app_icon_file()))


class _SortHeader(QtWidgets.QHeaderView):
    """A sortable table's header whose sections fitted to their contents keep room for the
    sort arrow only in the sorted one. Qt keeps it in every section: the eight columns of a
    sweep's trials needed 910 pixels for 872 of width (1280-pixel window), 150 of them room
    for arrows never drawn."""

    def sectionSizeFromContents(self, index: int) -> QtCore.QSize:  # noqa: N802 - Qt's name
        size = super().sectionSizeFromContents(index)
        if self.isSortIndicatorShown() and index != self.sortIndicatorSection():
            style = self.style()
            size.setWidth(size.width() - style.pixelMetric(QtWidgets.QStyle.PM_HeaderMarkSize, None, self)
                          - style.pixelMetric(QtWidgets.QStyle.PM_HeaderMargin, None, self))
        return size


def read_only_table(columns: list[str], object_name: str, stretch: int | None = None,
                    sortable: bool = False) -> QtWidgets.QTableWidget:
    """A table of whole rows the user reads and selects but does not edit. `stretch`
    is the column that takes the spare width (None: all columns share it); a sortable one
    sorts by a click on a column's header."""
    table = QtWidgets.QTableWidget(0, len(columns))
    table.setObjectName(object_name)
    if sortable:
        table.setHorizontalHeader(_SortHeader(QtCore.Qt.Horizontal, table))
        table.setSortingEnabled(True)
    table.setHorizontalHeaderLabels(columns)
    header = table.horizontalHeader()
    if stretch is None:
        header.setSectionResizeMode(QtWidgets.QHeaderView.Stretch)
    else:
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        header.setSectionResizeMode(stretch, QtWidgets.QHeaderView.Stretch)
    table.verticalHeader().hide()
    table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
    return table


class _WrappedLabel(QtWidgets.QLabel):
    """A word-wrapped label as tall as its text at the width it was given. Qt sizes a
    wrapped label's height for the width its text would like, not the one the layout gives
    a label that ignores its width: the Try-it prompt read "Draw a shape or a digit, or open
    an" in a narrow column."""

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit_height()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        needed = self.heightForWidth(self.width()) if self.text() else 0
        if needed != self.minimumHeight():
            self.setMinimumHeight(max(needed, 0))


def message_label(text: str = "", object_name: str = "") -> QtWidgets.QLabel:
    """A label for a message of any length (a failed run's reason, an error, a prediction):
    it wraps, its width follows the layout, never the text, so no message widens the
    window (which would then never shrink back), and its height follows the wrapped text."""
    label = _WrappedLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred)
    return label


class ElidedLabel(QtWidgets.QLabel):
    """One line of plain text that never widens the window: at a width too small for it,
    it ends in "…" and its tooltip holds it whole (else the tooltip given)."""

    def __init__(self, object_name: str, tooltip: str = ""):
        super().__init__()
        self.setObjectName(object_name)
        self._full_text, self._tooltip = "", tooltip
        self.setToolTip(tooltip)

    def text(self) -> str:
        return self._full_text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full_text = text
        self.updateGeometry()
        self._elide()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full_text) + margins.left() + margins.right()
        return QtCore.QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance("0…") * 3 + margins.left() + margins.right()
        return QtCore.QSize(min(width, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics, width = self.fontMetrics(), self.contentsRect().width()
        # elidedText cuts a text exactly as wide as the room (the width sizeHint asks for)
        shown = (self._full_text if metrics.horizontalAdvance(self._full_text) <= width else
                 metrics.elidedText(self._full_text, QtCore.Qt.ElideRight, width))
        super().setText(shown)
        self.setToolTip(self._full_text if shown != self._full_text else self._tooltip)


NOTE_COLOUR = "#868e96"  # the grey of notes that stand where a plot has nothing to draw


def empty_note_html(text: str) -> str:
    """`text` as an empty plot's note shows it: grey, centred, wrapped at the note's width."""
    return f"<div style='color:{NOTE_COLOUR}; text-align:center'>{html.escape(text, quote=False)}</div>"


def empty_note(text: str, width: int):
    """A pyqtgraph text item for a plot with nothing to draw: what will appear there, or why
    nothing does, centred on its position (a text item does not wrap by itself: `width`)."""
    import pyqtgraph  # on use: the window paints before pyqtgraph is imported

    note = pyqtgraph.TextItem(html=empty_note_html(text), anchor=(0.5, 0.5))
    note.setTextWidth(width)
    return note


def notice(name: str, background: str, border: str, buttons) -> tuple[QtWidgets.QFrame, QtWidgets.QLabel]:
    """A coloured box with a wrapped message (`{name}Label`) and buttons at its right,
    each (text, object name or "", slot); hidden until the caller has something to say."""
    frame = QtWidgets.QFrame()
    frame.setObjectName(f"{name}Frame")
    frame.setStyleSheet(f"#{name}Frame {{ background: {background}; border: 1px solid {border}; }}")
    layout = QtWidgets.QVBoxLayout(frame)
    label = QtWidgets.QLabel()
    label.setObjectName(f"{name}Label")
    label.setWordWrap(True)
    layout.addWidget(label)
    layout.addLayout(button_row(buttons))
    frame.hide()
    return frame, label


def button_row(buttons) -> QtWidgets.QHBoxLayout:
    """Buttons at the right of a row, each (text, object name or "", slot)."""
    row = QtWidgets.QHBoxLayout()
    row.addStretch(1)
    for text, object_name, slot in buttons:
        button = QtWidgets.QPushButton(text)
        button.setObjectName(object_name)
        button.clicked.connect(slot)
        row.addWidget(button)
    return row


def with_button(widget: QtWidgets.QWidget, text: str, object_name: str, slot: Callable) -> QtWidgets.QWidget:
    """`widget` with a button under its right corner (Export…, Overlay…)."""
    return with_buttons(widget, [(text, object_name, slot)])


def with_buttons(widget: QtWidgets.QWidget, buttons: list[tuple[str, str, Callable]]) -> QtWidgets.QWidget:
    """`widget` with a row of buttons (text, object name, slot) under its right corner."""
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    layout.addLayout(button_row(buttons))
    return box


def controls_beside(owner: QtWidgets.QWidget, controls: QtWidgets.QWidget, content: QtWidgets.QWidget,
                    width: int, pinned: QtWidgets.QLayout | None = None) -> QtWidgets.QSplitter:
    """The tabs' shape: a scrolling column of controls on the left, `content` on the right
    taking the spare room; the user can move the border between them. `pinned` stays
    under the column, always in view however short the window (the Train tab's Start)."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(width)
    left: QtWidgets.QWidget = scroll
    if pinned is not None:
        left = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 4)
        column.addWidget(scroll, 1)
        column.addLayout(pinned)
    splitter = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
    splitter.addWidget(left)
    splitter.addWidget(content)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([width + 10, 1000])
    layout = QtWidgets.QHBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(splitter)
    return splitter


def heat_overlay(array: numpy.ndarray, heat: numpy.ndarray) -> numpy.ndarray:
    """An image (H x W grey or H x W x 3, uint8) with a saliency map laid over it: the
    hotter a place, the more of the "inferno" colour, so the picture stays readable."""
    import pyqtgraph

    rgb = numpy.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array[..., :3]
    colours = pyqtgraph.colormap.get("inferno").getLookupTable(nPts=256)[:, :3].astype(numpy.float32)
    hot = colours[(numpy.clip(heat, 0, 1) * 255).astype(numpy.uint8)]
    alpha = 0.65 * numpy.clip(heat, 0, 1)[..., None]
    return (rgb.astype(numpy.float32) * (1 - alpha) + hot * alpha).astype(numpy.uint8)


def image_pixmap(array: numpy.ndarray, scale: int) -> QtGui.QPixmap:
    array = numpy.ascontiguousarray(array)
    if array.ndim == 2:
        image = QtGui.QImage(array.data, array.shape[1], array.shape[0], array.strides[0], QtGui.QImage.Format_Grayscale8)
    else:
        image = QtGui.QImage(array.data, array.shape[1], array.shape[0], array.strides[0], QtGui.QImage.Format_RGB888)
    pixmap = QtGui.QPixmap.fromImage(image.copy())
    return pixmap.scaled(array.shape[1] * scale, array.shape[0] * scale, QtCore.Qt.KeepAspectRatio,
                         QtCore.Qt.FastTransformation)


class _Picture(QtWidgets.QLabel):
    """An image that calls `clicked` when the left button is released over it."""

    def __init__(self, clicked: Callable[[], None]):
        super().__init__()
        self.clicked = clicked
        self.setCursor(QtCore.Qt.PointingHandCursor)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == QtCore.Qt.LeftButton and self.rect().contains(event.pos()):
            self.clicked()


class ImageGrid(QtWidgets.QScrollArea):
    """A scrolling grid of small images, each with a caption under it (samples, mistakes);
    an image added with a key announces a click on it with that key."""

    CELL = 84  # pixels: a 28x28 image shown at 3x
    image_clicked = QtCore.pyqtSignal(object)  # the key the image was added with

    def __init__(self, columns: int, object_name: str):
        super().__init__()
        self.setObjectName(object_name)
        self.columns = columns
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        inner = QtWidgets.QWidget()
        self.grid = QtWidgets.QGridLayout(inner)
        self.setWidget(inner)

    def count(self) -> int:
        return self.grid.count()

    def clear(self) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            widget.hide()  # at once: deleteLater would leave it painted until the next event loop turn
            widget.deleteLater()

    def add(self, array: numpy.ndarray, caption: str, tooltip: str = "", key=None) -> None:
        picture = QtWidgets.QLabel() if key is None else _Picture(lambda: self.image_clicked.emit(key))
        picture.setPixmap(image_pixmap(array, max(1, self.CELL // max(array.shape[:2]))))
        picture.setAlignment(QtCore.Qt.AlignCenter)
        picture.setToolTip(tooltip)
        text = QtWidgets.QLabel(caption)
        text.setAlignment(QtCore.Qt.AlignCenter)
        text.setWordWrap(True)  # long class names wrap instead of widening the grid past the view
        cell = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(cell)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(picture)
        layout.addWidget(text)
        position = self.grid.count()
        self.grid.addWidget(cell, position // self.columns, position % self.columns)


def catalogue_combo(database: FunctionDatabase, object_name: str) -> QtWidgets.QComboBox:
    """A combo of the entries grouped under category headings, searchable by typing."""
    combo = QtWidgets.QComboBox()
    combo.setObjectName(object_name)
    model = QtGui.QStandardItemModel(combo)
    for category, entries in database.categories().items():
        heading = QtGui.QStandardItem(f"— {category.capitalize()} —")
        heading.setFlags(QtCore.Qt.NoItemFlags)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        model.appendRow(heading)
        for entry in entries:
            item = QtGui.QStandardItem(entry.name)
            item.setData(entry.name, QtCore.Qt.UserRole)
            item.setToolTip(entry.description)
            model.appendRow(item)
    combo.setModel(model)
    combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    combo.setEditable(True)
    combo.setInsertPolicy(QtWidgets.QComboBox.NoInsert)
    completer = QtWidgets.QCompleter([entry.name for entry in database], combo)
    completer.setCaseSensitivity(QtCore.Qt.CaseInsensitive)
    completer.setFilterMode(QtCore.Qt.MatchContains)
    combo.setCompleter(completer)
    combo.lineEdit().setPlaceholderText("type to search")
    first_entry = next(i for i in range(model.rowCount()) if model.item(i).data(QtCore.Qt.UserRole))
    combo.setCurrentIndex(first_entry)
    return combo


def selected_entry_name(combo: QtWidgets.QComboBox, database: FunctionDatabase) -> str | None:
    text = combo.currentText().strip()
    if text in database:
        return text
    data = combo.currentData(QtCore.Qt.UserRole)
    return data if data in database else None


def select_entry(combo: QtWidgets.QComboBox, name: str) -> None:
    index = combo.findData(name, QtCore.Qt.UserRole)
    if index >= 0:
        combo.setCurrentIndex(index)


def add_choice(combo: QtWidgets.QComboBox, text: str, data, problem: str | None = None) -> None:
    """Add a choice to `combo`; one with a `problem` is greyed out (it cannot be chosen) and
    its tooltip says why."""
    combo.addItem(text, data)
    if problem:
        index = combo.count() - 1
        combo.model().item(index).setEnabled(False)
        combo.setItemData(index, problem, QtCore.Qt.ToolTipRole)


def show_status(widget: QtWidgets.QWidget, message: str, milliseconds: int = 8000) -> None:
    """Show `message` in the status bar of the window that holds `widget`, if it has one."""
    window = widget.window()
    if isinstance(window, QtWidgets.QMainWindow):
        window.statusBar().showMessage(message, milliseconds)


class PathField(QtWidgets.QWidget):
    """A path text field with a Browse… button."""

    changed = QtCore.pyqtSignal(str)

    def __init__(self, placeholder: str, folder: bool, file_filter: str = "", object_name: str = ""):
        super().__init__()
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setObjectName(object_name)
        self.edit.setPlaceholderText(placeholder)
        self.edit.editingFinished.connect(lambda: self.changed.emit(self.edit.text()))
        layout.addWidget(self.edit, 1)
        browse = QtWidgets.QPushButton("Browse…")
        layout.addWidget(browse)
        self.folder, self.file_filter = folder, file_filter
        browse.clicked.connect(self.browse)

    def browse(self) -> None:
        if self.folder:
            path = QtWidgets.QFileDialog.getExistingDirectory(self, "Choose a folder", self.edit.text())
        else:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Choose a file", self.edit.text(), self.file_filter)
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> None:
        self.edit.setText(path)
        self.changed.emit(path)

    def path(self) -> str:
        return self.edit.text().strip()


def add_trained_weights(combo: QtWidgets.QComboBox, last_result) -> None:
    """The trained weights there are, as choices of `combo`: the network just trained
    (data "latest"), then the best weights of the runs, newest first (data: the run folder)."""
    from pytorchgui import paths
    from pytorchgui.core.training.runs import list_runs  # on use: the window paints before torch is imported

    if last_result is not None and last_result.model is not None:
        combo.addItem("The network just trained", "latest")
    for run in list_runs(paths.runs_dir())[:30]:
        if (run["path"] / "best_weights.pt").is_file():
            combo.addItem(f"Run {run['name']} (best)", run["path"])


def choose_weights_file(combo: QtWidgets.QComboBox) -> None:
    """Ask for a weights file for the network in the editor; chosen, it is `combo`'s first choice."""
    from pathlib import Path

    from pytorchgui import paths

    path, _ = QtWidgets.QFileDialog.getOpenFileName(combo, "Weights for the current network", str(paths.runs_dir()),
                                                    "Weights (*.pt *.pth);;All files (*)")
    if path:
        combo.insertItem(0, f"{Path(path).name} (current network)", Path(path))
        combo.setCurrentIndex(0)

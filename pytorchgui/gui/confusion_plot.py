"""A confusion matrix drawn with pyqtgraph: rows are the true classes, colour is the share
of the row, each cell its count (up to 20 classes); a click on a cell says which."""
from __future__ import annotations

import numpy
import pyqtgraph
from PyQt5 import QtCore

from pytorchgui.gui.widgets import empty_note, empty_note_html

EMPTY_NOTE_WIDTH = 420  # a long sentence wraps inside the plot instead of running out of view


class ConfusionMatrixPlot(pyqtgraph.PlotWidget):
    cell_clicked = QtCore.pyqtSignal(int, int)  # true class, predicted class

    def __init__(self, title: str, empty_text: str, *, diverging: bool = False):
        """diverging: values are differences (red below zero, blue above), not counts."""
        super().__init__(title=title)
        self.base_title = title
        self.setBackground("w")
        self.invertY(True)
        self.setAspectLocked(True)
        self.setLabel("left", "true class")
        self.setLabel("bottom", "predicted class")
        self.image = pyqtgraph.ImageItem()
        colours = pyqtgraph.colormap.get("CET-D1") if diverging else pyqtgraph.colormap.get("viridis")
        self.image.setLookupTable(colours.getLookupTable())
        self.diverging = diverging
        self.addItem(self.image)
        self.texts: list[pyqtgraph.TextItem] = []
        self.classes: list[str] = []
        self._shown = False
        self.scene().sigMouseClicked.connect(self._clicked)
        # until there is a matrix: a sentence, not axes of numbers that mean nothing
        self.empty = empty_note(empty_text, EMPTY_NOTE_WIDTH)
        self.addItem(self.empty)
        self._show_axes(False)

    def _show_axes(self, shown: bool) -> None:
        for side in ("left", "bottom"):
            self.showAxis(side, shown)
        self.empty.setVisible(not shown)
        if not shown:
            self.setRange(xRange=(-1, 1), yRange=(-1, 1))

    def show_matrix(self, counts, classes: list[str] | None, condition: str = "") -> None:
        """counts: a square array (rows: true class), or None for no matrix; `condition`:
        how its predictions were made, when not by the argmax (a threshold), said in the title."""
        self.setTitle(f"{self.base_title}: {condition}" if condition else self.base_title)
        for text in self.texts:
            self.removeItem(text)
        self.texts = []
        self._show_axes(counts is not None)
        self._shown = counts is not None
        if counts is None:
            self.image.clear()
            self.classes = []
            return
        counts = numpy.asarray(counts, dtype=float)
        self.classes = list(classes or [str(i) for i in range(len(counts))])
        if self.diverging:
            scale = max(1.0, float(numpy.abs(counts).max()))
            colour_values, levels = counts / scale, (-1, 1)
        else:
            colour_values, levels = counts / numpy.maximum(counts.sum(1, keepdims=True), 1), (0, 1)
        self.image.setImage(colour_values.T, levels=levels)  # ImageItem is x-major
        count = len(counts)
        if count <= 20:
            for row in range(count):
                for column in range(count):
                    bright = abs(colour_values[row, column]) > 0.5
                    dark_text = bright if not self.diverging else not bright
                    text = pyqtgraph.TextItem(f"{int(counts[row, column]):+d}" if self.diverging and counts[row, column]
                                              else str(int(counts[row, column])),
                                              color="k" if dark_text else "w", anchor=(0.5, 0.5))
                    text.setPos(column + 0.5, row + 0.5)
                    self.addItem(text)
                    self.texts.append(text)
            # Names on the left with the numbers used below, where long names would run into
            # each other; a class named by its number ("0" to "9" for digits) is named once.
            self.getAxis("left").setTicks([[(i + 0.5, name if name == str(i) else f"{name} {i}")
                                            for i, name in enumerate(self.classes)]])
            self.getAxis("bottom").setTicks([[(i + 0.5, str(i)) for i in range(count)]])
        self.autoRange()

    def show_empty(self, text: str) -> None:
        """No matrix, and `text` says why (no result yet, a regression result), wrapped
        and centred: a text item does not wrap by itself, and a long sentence ran out of view."""
        self.show_matrix(None, None)
        self.empty.setHtml(empty_note_html(text))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # with the aspect locked, a narrower plot must zoom out to keep every column (pyqtgraph
        # calls this while it builds the widget, before our attributes exist)
        if getattr(self, "_shown", False):
            self.autoRange()

    def _clicked(self, event) -> None:
        if not self.classes:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        row, column = int(numpy.floor(point.y())), int(numpy.floor(point.x()))
        if 0 <= row < len(self.classes) and 0 <= column < len(self.classes):
            self.cell_clicked.emit(row, column)

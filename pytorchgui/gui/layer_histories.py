"""The Train tab's Layers view: a layer's weights and gradients as ridgelines over epochs
(one filled histogram per epoch, the first at the top) and its share of dead ReLU units.

It shows a `LayerHistories` (core/training/histories.py) as it is handed over: the live
run's after each epoch, or a past run's read from its folder.
"""
from __future__ import annotations

import numpy
import pyqtgraph
from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.training.histories import PROBE_SAMPLES, LayerHistories, LayerWarning
from pytorchgui.gui.plot_axes import CountAxis, PlainAxis
from pytorchgui.gui.widgets import ElidedLabel, empty_note, message_label

EMPTY = ("Each layer's weights and gradients appear here as histograms over the epochs, with its share of dead "
         "ReLU units, after the first epoch of a run (or when you select a past run in Runs)")
RIDGE_HEIGHT = 1.6  # a histogram's peak, in rows: each overlaps the one above a little
COLOURS = {"weights": "#1c7ed6", "gradients": "#e8590c"}


def _ridgeline_plot(title: str) -> pyqtgraph.PlotWidget:
    plot = pyqtgraph.PlotWidget(title=title, axisItems={"left": PlainAxis("left"), "bottom": PlainAxis("bottom")})
    plot.setBackground("w")
    plot.setLabel("left", "epoch")
    plot.setMouseEnabled(y=False)
    return plot


class LayerHistoriesView(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.histories: LayerHistories | None = None
        self.warnings: dict[str, list[LayerWarning]] = {}
        self.layer_combo = QtWidgets.QComboBox()
        self.layer_combo.setObjectName("layerHistoryCombo")
        self.layer_combo.currentIndexChanged.connect(lambda _index: self._draw())
        self.source_label = ElidedLabel("layerHistorySource")  # a run's name can be long: it never widens the tab
        self.warning_label = message_label("", "layerWarningLabel")
        self.warning_label.setStyleSheet("color: #c92a2a")
        self.plots = {kind: _ridgeline_plot(f"{kind.capitalize()} per epoch") for kind in COLOURS}
        # a short title and no label on the left: the narrowest of the three, it must not clip
        self.dead_plot = pyqtgraph.PlotWidget(title="Dead units (%)", axisItems={"left": PlainAxis("left"),
                                                                                 "bottom": CountAxis("bottom")})
        self.dead_plot.setToolTip("The share of the ReLU units after this layer that give 0 for each of the first "
                                  f"{PROBE_SAMPLES} training samples, measured after each epoch: they no longer learn")
        self.dead_plot.setBackground("w")
        self.dead_plot.setLabel("bottom", "epoch")
        self.dead_plot.setYRange(0, 100, padding=0.05)
        self.dead_curve = self.dead_plot.plot(pen=pyqtgraph.mkPen("#862e9c", width=2), symbol="o", symbolSize=5)
        self.notes = {}
        for name, plot in (*self.plots.items(), ("dead", self.dead_plot)):
            self.notes[name] = empty_note("", 260)
            plot.addItem(self.notes[name], ignoreBounds=True)
        top = QtWidgets.QHBoxLayout()
        name = QtWidgets.QLabel("&Layer")
        name.setBuddy(self.layer_combo)
        top.addWidget(name)
        top.addWidget(self.layer_combo, 1)
        top.addWidget(self.source_label, 1)
        grid = QtWidgets.QHBoxLayout()  # side by side: the plot area is wider than it is tall
        for plot, stretch in ((self.plots["weights"], 2), (self.plots["gradients"], 2), (self.dead_plot, 1)):
            plot.setMinimumSize(120, 120)  # pyqtgraph asks for more: three would not fit the tab
            grid.addWidget(plot, stretch)
        column = QtWidgets.QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.warning_label)
        column.addLayout(grid, 1)
        self.clear()

    def clear(self, source: str = "") -> None:
        """Nothing recorded yet: the note says what will appear, and when."""
        self.histories, self.warnings = None, {}
        self.source_label.setText(source)
        blocker = QtCore.QSignalBlocker(self.layer_combo)
        self.layer_combo.clear()
        del blocker
        self._draw()

    def show_histories(self, histories: LayerHistories | None, warnings: list[LayerWarning], source: str) -> None:
        """Show `histories` (None: a run without them), keeping the chosen layer if it is there."""
        if histories is None or not histories.epochs:
            self.clear(source)
            return
        chosen = self.layer_combo.currentData()
        self.histories = histories
        self.warnings = {}
        for warning in warnings:
            self.warnings.setdefault(warning.layer, []).append(warning)
        self.source_label.setText(source)
        blocker = QtCore.QSignalBlocker(self.layer_combo)
        if [self.layer_combo.itemData(row) for row in range(self.layer_combo.count())] != list(histories.layers):
            self.layer_combo.clear()
            for layer, kind in zip(histories.layers, histories.types):
                self.layer_combo.addItem(f"{layer} ({kind})", layer)
        for row, layer in enumerate(histories.layers):
            self.layer_combo.setItemText(row, f"{'⚠ ' if layer in self.warnings else ''}{layer} "
                                              f"({histories.types[row]})")
        if chosen in histories.layers:
            self.layer_combo.setCurrentIndex(histories.layers.index(chosen))
        del blocker
        self._draw()

    def choose_layer(self, layer: str) -> None:
        self.layer_combo.setCurrentIndex(self.layer_combo.findData(layer))

    def _draw(self) -> None:
        layer = self.layer_combo.currentData()
        for plot in (*self.plots.values(), self.dead_plot):
            for item in plot.listDataItems():
                if item is not self.dead_curve:
                    plot.removeItem(item)
        self.dead_curve.setData([], [])
        if self.histories is None or layer is None:
            self._say(EMPTY, "", "")
            self.warning_label.hide()
            return
        found = self.warnings.get(layer, [])
        self.warning_label.setText("\n".join(f"⚠ {warning.message}" for warning in found))
        self.warning_label.setVisible(bool(found))
        drawn = {kind: self._ridgeline(self.plots[kind], kind, layer) for kind in COLOURS}
        dead = self.histories.statistic(layer, "dead_share")
        if not numpy.isnan(dead).all():
            self.dead_curve.setData(numpy.array(self.histories.epochs, dtype=float), dead * 100, connect="finite")
            self.dead_plot.setXRange(0.5, max(self.histories.epochs) + 0.5, padding=0)
        self._say("" if drawn["weights"] else "This node has no weights: only its dead units are measured",
                  "" if drawn["gradients"] else "No gradients reach this layer: it is frozen, or it has no weights",
                  "" if not numpy.isnan(dead).all() else "No ReLU follows this layer: it has no dead units to count")

    def _say(self, weights: str, gradients: str, dead: str) -> None:
        """Each plot's note (empty: hidden), centred in its view."""
        from pytorchgui.gui.widgets import empty_note_html

        for name, text in (("weights", weights), ("gradients", gradients or weights), ("dead", dead or weights)):
            note = self.notes[name]
            note.setHtml(empty_note_html(text))
            note.setVisible(bool(text))
            plot = self.plots.get(name, self.dead_plot)
            if text:
                (left, right), (bottom, top) = plot.viewRange()
                note.setPos((left + right) / 2, (bottom + top) / 2)

    def _ridgeline(self, plot: pyqtgraph.PlotWidget, kind: str, layer: str) -> bool:
        """One filled step curve per epoch, epoch 1 at the top; False when none was measured."""
        found = self.histories.histograms(layer, kind)
        rows = len(found)
        colour = pyqtgraph.mkColor(COLOURS[kind])
        fill = pyqtgraph.mkColor(COLOURS[kind])
        fill.setAlpha(70)
        drawn = False
        for index, histogram in enumerate(found):
            if histogram is None or not histogram.counts.any():
                continue
            base = rows - 1 - index
            heights = base + histogram.counts / histogram.counts.max() * RIDGE_HEIGHT
            curve = pyqtgraph.PlotDataItem(histogram.edges, heights, stepMode="center", fillLevel=base, brush=fill,
                                           pen=pyqtgraph.mkPen(colour, width=1))
            curve.setZValue(index)  # the later epoch, lower, drawn over the one above
            plot.addItem(curve)
            drawn = True
        every = max(1, -(-rows // 10))
        plot.getAxis("left").setTicks([[(rows - 1 - index, str(self.histories.epochs[index]))
                                        for index in range(0, rows, every)]])
        plot.setYRange(-0.2, rows - 1 + RIDGE_HEIGHT + 0.2, padding=0)
        if drawn:
            plot.enableAutoRange(axis="x")
        return drawn

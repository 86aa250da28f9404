"""A regression result drawn with pyqtgraph: every sample's prediction against its true
value (on the diagonal when right), and its residual (prediction minus true value) against
the prediction, where a trend or a funnel shows what the network has not learned."""
from __future__ import annotations

import numpy
import pyqtgraph
from PyQt5 import QtWidgets

POINTS = {"pen": None, "symbol": "o", "symbolSize": 6, "symbolPen": None, "symbolBrush": (76, 110, 245, 150)}


def labelled_plot(title: str, bottom: str, left: str) -> pyqtgraph.PlotWidget:
    """A white plot with its title, axis labels and a light grid (the Evaluation tab's plots)."""
    plot = pyqtgraph.PlotWidget(title=title)
    plot.setBackground("w")
    plot.setLabel("bottom", bottom)
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.2)
    return plot


class RegressionView(QtWidgets.QWidget):
    """Predicted against true values beside the residuals, in the target's units; a
    sentence instead while there is nothing to show (no result yet, a classifier's)."""

    def __init__(self, empty_text: str):
        super().__init__()
        self.setObjectName("regressionView")
        self.message = QtWidgets.QLabel(empty_text)
        self.message.setObjectName("regressionMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #868e96")
        self.predicted_plot = labelled_plot("Predicted against true value", "true value", "predicted value")
        self.residual_plot = labelled_plot("Residuals (prediction − true value)", "predicted value", "residual")
        self.scatter = self.predicted_plot.plot([], [], **POINTS)
        self.diagonal = self.predicted_plot.plot([], [], pen=pyqtgraph.mkPen("#c92a2a", width=1.5))
        self.residuals = self.residual_plot.plot([], [], **POINTS)
        self.residual_plot.addItem(pyqtgraph.InfiniteLine(pos=0, angle=0, pen=pyqtgraph.mkPen("#c92a2a", width=1.5)))
        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.predicted_plot)
        plots.addWidget(self.residual_plot)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(plots, 1)
        self.show_message(empty_text)

    def show_message(self, text: str) -> None:
        """No result to draw: the plots are emptied and `text` says why."""
        for item in (self.scatter, self.diagonal, self.residuals):
            item.setData([], [])
        self.message.setText(text)
        for plot in (self.predicted_plot, self.residual_plot):
            plot.setVisible(False)

    def show_result(self, targets, outputs, caption: str) -> None:
        """`targets` and `outputs` ([samples] or [samples, targets]) in the target's units."""
        true = numpy.asarray(targets, dtype=float).reshape(-1)
        predicted = numpy.asarray(outputs, dtype=float).reshape(-1)
        self.scatter.setData(true, predicted)
        low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
        self.diagonal.setData([low, high], [low, high])
        self.residuals.setData(predicted, predicted - true)
        self.message.setText(caption)
        for plot in (self.predicted_plot, self.residual_plot):
            plot.setVisible(True)
            plot.autoRange()

"""The Evaluation tab's Curves page: a classifier's ROC and precision–recall curves per
class (that class against the rest) with their AUC and average precision, the reliability
diagram of its confidence with the expected calibration error, and for two classes a
threshold on the second class's probability that moves the confusion matrix.

The figures are core's (`EvaluationResult.curves`, `at_threshold`); this page draws them.
A threshold moved here is announced with the result at that threshold (`threshold_moved`):
the tab shows its confusion matrix and report.
"""
from __future__ import annotations

import numpy
import pyqtgraph
from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.training.curves import Curves
from pytorchgui.core.training.metrics import EvaluationResult
from pytorchgui.gui.regression_plot import labelled_plot
from pytorchgui.gui.widgets import NOTE_COLOUR, message_label, read_only_table

ALL_CLASSES = "All classes"
LEGEND_LIMIT = 5  # more curves than this: a legend would hide them; the table's colours name them
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]  # matplotlib's tab10, as curves.png draws them
CHANCE_PEN = pyqtgraph.mkPen("#adb5bd", width=1, style=QtCore.Qt.DashLine)
ARGMAX_STEP = 50  # the slider's 0.5, where the threshold gives the argmax predictions


def _colour(index: int, count: int):
    return COLOURS[index] if count <= len(COLOURS) else pyqtgraph.intColor(index, hues=count)


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class CurvesView(QtWidgets.QWidget):
    """ROC, precision–recall and reliability plots of one measurement, a table of each
    class's AUC and average precision, and the two-class threshold; a sentence instead
    while there is nothing to draw (no result yet, a regression)."""

    threshold_moved = QtCore.pyqtSignal(object)  # the EvaluationResult at the threshold (the measured one at 0.5)

    def __init__(self, empty_text: str):
        super().__init__()
        self.setObjectName("curvesView")
        self.measured: EvaluationResult | None = None
        self.curves: Curves | None = None
        self.markers: dict[pyqtgraph.PlotWidget, pyqtgraph.PlotDataItem] = {}  # the threshold's point per plot
        self.message = message_label(empty_text, "curvesMessage")
        self.message.setStyleSheet(f"color: {NOTE_COLOUR}")
        self.content = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.content)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addLayout(self._build_chooser(), 0, 0, 1, 2)
        self.roc_plot = self._square_plot("ROC: one class against the rest", "false positive rate",
                                          "true positive rate", "rocPlot")
        self.pr_plot = self._square_plot("Precision–recall", "recall", "precision", "precisionRecallPlot")
        self.reliability_plot = self._square_plot("Reliability", "probability of the predicted class", "accuracy",
                                                  "reliabilityPlot")
        for plot, corner in ((self.roc_plot, (-10, -10)), (self.pr_plot, (10, -10))):  # where curves rarely go
            plot.addLegend(offset=corner, labelTextSize="8pt")
        grid.addWidget(self.roc_plot, 1, 0)
        grid.addWidget(self.pr_plot, 1, 1)
        grid.addWidget(self.reliability_plot, 2, 0)
        grid.addWidget(self._build_side(), 2, 1)
        grid.setRowStretch(1, 1)
        grid.setRowStretch(2, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.content, 1)
        self.show_message(empty_text)

    # -- layout ------------------------------------------------------------------------
    def _build_chooser(self) -> QtWidgets.QHBoxLayout:
        self.class_combo = QtWidgets.QComboBox()
        self.class_combo.setObjectName("curvesClassCombo")
        self.class_combo.setToolTip("Every class's curve overlaid, or one class's against the rest")
        self.class_combo.currentIndexChanged.connect(self._draw_curves)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Show"))
        row.addWidget(self.class_combo)
        row.addStretch(1)
        return row

    @staticmethod
    def _square_plot(title: str, bottom: str, left: str, object_name: str) -> pyqtgraph.PlotWidget:
        plot = labelled_plot(title, bottom, left)
        plot.setObjectName(object_name)
        plot.setXRange(0, 1, padding=0.02)
        plot.setYRange(0, 1, padding=0.02)
        plot.setMouseEnabled(False, False)  # probabilities and rates: 0 to 1 is all there is
        plot.setMinimumSize(220, 180)
        return plot

    def _build_side(self) -> QtWidgets.QWidget:
        """The table of figures per class, and under it the two-class threshold."""
        self.auc_table = read_only_table(["Class", "AUC", "Average\nprecision", "Samples"], "aucTable", stretch=0)
        self.auc_table.cellClicked.connect(self._row_clicked)
        side = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.auc_table, 1)
        layout.addWidget(self._build_threshold())
        return side

    def _build_threshold(self) -> QtWidgets.QGroupBox:
        self.threshold_box = QtWidgets.QGroupBox("Threshold")
        self.threshold_box.setObjectName("thresholdBox")
        self.threshold_caption = message_label("", "thresholdCaption")
        self.threshold_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.threshold_slider.setObjectName("thresholdSlider")
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(ARGMAX_STEP)
        self.threshold_slider.valueChanged.connect(self._threshold_changed)
        self.threshold_value = QtWidgets.QLabel("0.50")
        self.threshold_value.setObjectName("thresholdValue")
        self.threshold_value.setMinimumWidth(self.threshold_value.fontMetrics().horizontalAdvance("0.000"))
        reset = QtWidgets.QPushButton("Back to 0.5 (argmax)")
        reset.setObjectName("thresholdResetButton")
        reset.setToolTip("Each sample's most probable class, as measured")
        reset.clicked.connect(self.reset_threshold)
        self.threshold_figures = message_label("", "thresholdFigures")
        slider_row = QtWidgets.QHBoxLayout()
        slider_row.addWidget(self.threshold_slider, 1)
        slider_row.addWidget(self.threshold_value)
        layout = QtWidgets.QVBoxLayout(self.threshold_box)
        layout.addWidget(self.threshold_caption)
        layout.addLayout(slider_row)
        layout.addWidget(self.threshold_figures)
        layout.addWidget(reset, 0, QtCore.Qt.AlignRight)
        return self.threshold_box

    # -- showing -----------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Nothing to draw: `text` says why (no result yet, a regression's)."""
        self.measured, self.curves = None, None
        self.message.setText(text)
        self.message.setAlignment(QtCore.Qt.AlignCenter)  # alone on the page, as an empty plot's note
        self.message.show()
        self.content.hide()

    def show_result(self, result: EvaluationResult) -> None:
        """A classifier's measurement: its curves (measured by now, off the window's thread)."""
        self.measured, self.curves = result, result.curves()
        problems = self.curves.problems()
        self.message.setText(" ".join(f"{problem[0].upper()}{problem[1:]}." for problem in problems[:3]) +
                             (f" ({len(problems) - 3} more in the table)" if len(problems) > 3 else ""))
        self.message.setAlignment(QtCore.Qt.AlignLeft)  # a note above the plots
        self.message.setVisible(bool(problems))
        self.content.show()
        blocker = QtCore.QSignalBlocker(self.class_combo)
        self.class_combo.clear()
        self.class_combo.addItem(ALL_CLASSES)
        self.class_combo.addItems([curve.name for curve in self.curves.classes])
        del blocker
        self._fill_table()
        self._draw_curves()
        self._draw_reliability()
        self._show_threshold_box()

    def _fill_table(self) -> None:
        rows = self.curves.auc_rows()
        self.auc_table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            values = [row["class"], _figure(row["auc"]), _figure(row["average_precision"]), f"{row['samples']:,}"]
            for column, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(row["problem"])
                if column == 0 and index < len(self.curves.classes):  # the colour of its curves
                    item.setIcon(self._swatch(_colour(index, len(self.curves.classes))))
                if index == len(rows) - 1:  # the macro average
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.auc_table.setItem(index, column, item)

    def _swatch(self, colour) -> QtGui.QIcon:
        side = self.auc_table.fontMetrics().height() // 2 + 4
        pixmap = QtGui.QPixmap(side, side)
        pixmap.fill(pyqtgraph.mkColor(colour))
        return QtGui.QIcon(pixmap)

    def _row_clicked(self, row: int, column: int) -> None:
        if row < len(self.curves.classes):
            self.class_combo.setCurrentIndex(row + 1)

    def chosen_classes(self) -> list[int]:
        """The classes whose curves are drawn: all, or the one chosen."""
        if self.curves is None:
            return []
        chosen = self.class_combo.currentIndex()
        return list(range(len(self.curves.classes))) if chosen <= 0 else [chosen - 1]

    def _draw_curves(self) -> None:
        if self.curves is None:
            return
        curves, chosen = self.curves, self.chosen_classes()
        labelled = len(chosen) <= LEGEND_LIMIT
        for plot in (self.roc_plot, self.pr_plot):
            plot.clear()  # and its legend's entries
        self.roc_plot.plot([0, 1], [0, 1], pen=CHANCE_PEN, name="chance" if labelled else None)
        for index in chosen:
            curve, pen = curves.classes[index], pyqtgraph.mkPen(_colour(index, len(curves.classes)), width=2)
            if curve.auc is not None:
                self.roc_plot.plot(curve.false_positive_rate, curve.true_positive_rate, pen=pen,
                                   name=f"{curve.name} (AUC {curve.auc:.3f})" if labelled else None)
            if curve.average_precision is not None:
                # each precision holds until the next recall (steps, as curves.png and average precision read it)
                self.pr_plot.plot(numpy.repeat(curve.recall, 2)[1:], numpy.repeat(curve.precision, 2)[:-1], pen=pen,
                                  name=f"{curve.name} (AP {curve.average_precision:.3f})" if labelled else None)
        macro_auc, macro_precision = curves.macro_auc, curves.macro_average_precision
        self.roc_plot.setTitle("ROC: one class against the rest" +
                               (f" (macro AUC {macro_auc:.3f})" if macro_auc is not None else ""))
        self.pr_plot.setTitle("Precision–recall" +
                              (f" (macro AP {macro_precision:.3f})" if macro_precision is not None else ""))
        self._mark_operating_point()

    def _draw_reliability(self) -> None:
        calibration, plot = self.curves.calibration, self.reliability_plot
        plot.clear()
        centres = (calibration.edges[:-1] + calibration.edges[1:]) / 2
        filled = calibration.counts > 0
        plot.addItem(pyqtgraph.BarGraphItem(x=centres[filled], height=calibration.accuracy[filled],
                                            width=0.09, brush="#4c6ef5", pen=None))
        plot.plot([0, 1], [0, 1], pen=pyqtgraph.mkPen("#c92a2a", width=1.5, style=QtCore.Qt.DashLine))
        for centre, accuracy, count in zip(centres[filled], calibration.accuracy[filled], calibration.counts[filled]):
            label = pyqtgraph.TextItem(f"{count:,}", color="#495057", anchor=(0.5, 1))
            label.setPos(centre, accuracy)
            plot.addItem(label)
        plot.setTitle(f"Reliability (ECE {calibration.expected_calibration_error:.3f}): samples per bar")
        plot.setYRange(0, 1.1, padding=0.02)  # room for the counts above a full bar

    # -- the two-class threshold ---------------------------------------------------------
    def _show_threshold_box(self) -> None:
        two = len(self.measured.classes) == 2
        self.threshold_box.setVisible(two)
        blocker = QtCore.QSignalBlocker(self.threshold_slider)  # a new measurement: argmax, nothing to announce
        self.threshold_slider.setValue(ARGMAX_STEP)
        del blocker
        self.threshold_value.setText("0.50")
        if two:
            self.threshold_caption.setText(f"Predict <b>{self.measured.classes[1]}</b> when its probability is "
                                           "above:")
            self._show_threshold_figures(self.measured)

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    def set_threshold(self, threshold: float) -> None:
        self.threshold_slider.setValue(round(threshold * 100))

    def reset_threshold(self) -> None:
        self.threshold_slider.setValue(ARGMAX_STEP)

    def at_threshold(self) -> EvaluationResult | None:
        """The measurement at the slider's threshold: the measured one itself at 0.5 (the argmax)."""
        if self.measured is None or len(self.measured.classes) != 2:
            return None
        step = self.threshold_slider.value()
        return self.measured if step == ARGMAX_STEP else self.measured.at_threshold(step / 100)

    def _threshold_changed(self) -> None:
        result = self.at_threshold()
        if result is None:
            return
        self.threshold_value.setText(f"{self.threshold:.2f}")
        self._show_threshold_figures(result)
        self._mark_operating_point()
        self.threshold_moved.emit(result)

    def _show_threshold_figures(self, result: EvaluationResult) -> None:
        positive = result.report[1]
        self.threshold_figures.setText(f"accuracy <b>{result.accuracy:.1%}</b>, precision <b>{positive.precision:.3f}"
                                       f"</b>, recall <b>{positive.recall:.3f}</b> (of {positive.name})")

    def _mark_operating_point(self) -> None:
        """Two classes: where the threshold puts the second class on its ROC and PR curves."""
        result = self.at_threshold()
        if result is None or 1 not in self.chosen_classes():
            return
        (true_negative, false_positive), (false_negative, true_positive) = result.confusion.double().tolist()
        recall = true_positive / max(true_positive + false_negative, 1)
        points = {"symbol": "o", "symbolSize": 10, "symbolBrush": QtGui.QColor(COLOURS[1]), "symbolPen": "k",
                  "pen": None}
        if self.curves.classes[1].auc is not None:
            false_positive_rate = false_positive / max(false_positive + true_negative, 1)
            self._replace_marker(self.roc_plot, [false_positive_rate], [recall], points)
        predicted = true_positive + false_positive
        if predicted and self.curves.classes[1].average_precision is not None:
            self._replace_marker(self.pr_plot, [recall], [true_positive / predicted], points)

    def _replace_marker(self, plot: pyqtgraph.PlotWidget, x: list[float], y: list[float], style: dict) -> None:
        old = self.markers.get(plot)
        if old is not None and old in plot.listDataItems():  # a redraw has cleared it already
            plot.removeItem(old)
        self.markers[plot] = plot.plot(numpy.asarray(x), numpy.asarray(y), **style)

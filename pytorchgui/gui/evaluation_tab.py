"""The Evaluation tab: measure trained weights on a dataset, explore the errors, try it.

The measuring is core's `metrics.evaluate`, run on a worker thread; this module shows
its result: a summary that names the weights and the data measured, a confusion-matrix
heatmap (click a cell to see its samples), a per-class report with export, a gallery of
the most confident mistakes, a drawing pad whose class probabilities update as the user
draws (the drawing prepared to look like the training images, or the MNIST way, and
shown as the network sees it), and for a regression predicted against true values with
the residuals.

The data offered are the workspace's `evaluation_sets` for the weights chosen: a set
that does not fit them is shown greyed out with the reason, and the choice follows the
run (its test set, else its validation split). A new choice of weights or a new network
clears the results shown.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy
import pyqtgraph
import torch
from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.data import datasets
from pytorchgui.core.data.datasets import TensorDataset
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.data.drawing import MNIST_STYLE, DrawingStyle, dataset_style, prepare_drawing
from pytorchgui.core.training.metrics import EvaluationError, EvaluationResult, evaluate, prepare_image, \
    predict, predict_values
from pytorchgui.core.training.trained_model import TrainedModel, open_trained_model
from pytorchgui.core.training.saliency import saliency
from pytorchgui.core.data.sequences import decode, with_tokenizer
from pytorchgui.core.training.tasks import Progress, TaskControl
from pytorchgui.core.wording import counted
from pytorchgui.core.workspace import DATASET_CHANGES, Change, EvaluationSet, TriedInput, Workspace
from pytorchgui.gui.confusion_history import ConfusionHistoryView
from pytorchgui.gui.confusion_plot import ConfusionMatrixPlot
from pytorchgui.gui.curves_view import CurvesView
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.embedding_view import EmbeddingView
from pytorchgui.gui.forms import FunctionDialog
from pytorchgui.gui.regression_plot import RegressionView
from pytorchgui.gui.widgets import (ImageGrid, add_choice, add_trained_weights, catalogue_combo, choose_weights_file,
                                   controls_beside, empty_note, heat_overlay, image_pixmap, message_label,
                                   read_only_table, select_entry, selected_entry_name,
                                   with_button)
from pytorchgui.gui.workers import Task


def sample_array(sample: torch.Tensor) -> numpy.ndarray:
    """A uint8 sample [C, H, W] as an image array: H x W grey, or H x W x 3."""
    return sample[0].numpy() if sample.shape[0] == 1 else sample[:3].permute(1, 2, 0).contiguous().numpy()


def breakable(name: str) -> str:
    """A name a label may wrap after its underscores: a label breaks lines between words
    only, and "2026-12-03_03-02-28_transformer_sequences" in bold was wider than the
    Evaluation column (the zero-width space is not seen)."""
    return name.replace("_", "_\u200b")


class DrawingPad(QtWidgets.QWidget):
    """A 280x280 canvas: left button draws (pen) or erases, the strokes are thick like a marker."""

    changed = QtCore.pyqtSignal()

    def __init__(self, size: int = 280):
        super().__init__()
        self.setObjectName("drawingPad")
        self.setFixedSize(size, size)
        self.image = QtGui.QImage(size, size, QtGui.QImage.Format_Grayscale8)
        self.image.fill(0)
        self.eraser = False
        self.pen_width = size // 12
        self._last: QtCore.QPoint | None = None
        self.setCursor(QtCore.Qt.CrossCursor)

    def clear(self, announce: bool = True) -> None:
        self.image.fill(0)
        self.update()
        if announce:
            self.changed.emit()

    def array(self) -> numpy.ndarray:
        pointer = self.image.constBits()
        pointer.setsize(self.image.byteCount())
        rows = numpy.frombuffer(pointer, numpy.uint8).reshape(self.image.height(), self.image.bytesPerLine())
        return rows[:, : self.image.width()].copy()

    def draw_line(self, start: QtCore.QPoint, end: QtCore.QPoint) -> None:
        painter = QtGui.QPainter(self.image)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        colour = QtGui.QColor(0, 0, 0) if self.eraser else QtGui.QColor(255, 255, 255)
        width = self.pen_width * (2 if self.eraser else 1)
        painter.setPen(QtGui.QPen(colour, width, QtCore.Qt.SolidLine, QtCore.Qt.RoundCap, QtCore.Qt.RoundJoin))
        painter.drawLine(start, end)
        painter.end()
        self.update()
        self.changed.emit()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self._last = event.pos()
        self.draw_line(event.pos(), event.pos())

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._last is not None and event.buttons() & QtCore.Qt.LeftButton:
            self.draw_line(self._last, event.pos())
            self._last = event.pos()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        self._last = None

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        painter.drawImage(0, 0, self.image)
        painter.setPen(QtGui.QColor("#868e96"))
        painter.drawRect(0, 0, self.width() - 1, self.height() - 1)


class EvaluationTab(QtWidgets.QWidget):
    """Measures the workspace's trained weights on its datasets; a view of the result."""

    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.network = workspace.network
        self.catalog = self.network.catalog
        self.result: EvaluationResult | None = None
        self.evaluated: TensorDataset | None = None
        self.trained: TrainedModel | None = None
        self.loss_choice = None
        self.loading: Task | None = None
        self.dialog: FunctionDialog | None = None
        self.chosen_weights = None  # the weights combo's choice Try it was last told of
        self.opened_runs: dict[Path, str] = {}  # run folders outside the runs folder (a sweep's trials) -> label
        self.prepared_sample: torch.Tensor | None = None  # the last image input Try it predicted
        self._measured_style: tuple = (None, None)  # (training set, its style) for runs that recorded none
        self.model_problem = ""  # why there is no model for the weights chosen
        self.measured = ""  # the data of the last measurement, as the summary names it
        self.prediction_timer = QtCore.QTimer(self, singleShot=True, interval=80)  # <= ~12 updates/s while drawing
        self.defaulted_set = ""  # the dataset this tab chose itself (not the user): it follows new imports
        self._build()
        workspace.subscribe(self._workspace_changed)
        self.weights_combo.currentIndexChanged.connect(self._weights_chosen)
        self.update_sets()
        self.update_weights()
        self._offer_outputs()
        self._show_network_loss()
        self.prediction_timer.timeout.connect(self._predict_input)
        self.network_name = workspace.document.display_name
        self.network.subscribe(lambda event: self._network_replaced() if event.kind == "reset" else None)

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.result_tabs = QtWidgets.QTabWidget()
        self.result_tabs.addTab(self._build_matrix(), "Confusion matrix")
        self.result_tabs.addTab(self._build_report(), "Per-class report")
        self.result_tabs.addTab(self._build_gallery(), "Misclassified")
        self.result_tabs.addTab(self._build_try_it(), "Try it")
        self.history = ConfusionHistoryView(self.workspace)
        self.result_tabs.addTab(self.history, "By epoch")
        self.regression_view = RegressionView(self.NO_RESULTS)
        self.result_tabs.addTab(self.regression_view, "Predicted vs true")
        self.curves_view = CurvesView(self.NO_RESULTS)
        self.curves_view.threshold_moved.connect(self._threshold_moved)
        self.result_tabs.addTab(self.curves_view, "Curves")
        self.embedding_view = EmbeddingView(self)
        self.result_tabs.addTab(self.embedding_view, "Embedding")
        controls_beside(self, self._build_controls(), self.result_tabs, 410)  # a column that scrolls: long reasons fit

    def _build_controls(self) -> QtWidgets.QWidget:
        controls = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(controls)
        self.dataset_combo = QtWidgets.QComboBox()
        self.dataset_combo.setObjectName("evaluationDatasetCombo")
        self.weights_combo = QtWidgets.QComboBox()
        self.weights_combo.setObjectName("weightsCombo")
        for combo in (self.dataset_combo, self.weights_combo):  # long set and run names: the column stays narrow
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
            combo.currentTextChanged.connect(combo.setToolTip)  # the whole name, where the combo cuts it
        open_weights = QtWidgets.QPushButton("Weights file…")
        open_weights.clicked.connect(self.open_weights_file)
        self.device_combo = QtWidgets.QComboBox()
        from pytorchgui.core.training.devices import available_devices

        for device, label in available_devices():
            self.device_combo.addItem(label, device)
        self.batch_spin = QtWidgets.QSpinBox()
        self.batch_spin.setRange(1, 65536)
        self.batch_spin.setValue(512)
        self.loss_combo = catalogue_combo(self.catalog.losses, "evaluationLossCombo")
        set_loss = QtWidgets.QPushButton("Set…")
        set_loss.setObjectName("evaluationSetLoss")
        set_loss.clicked.connect(self.choose_loss)
        loss_row = QtWidgets.QHBoxLayout()
        loss_row.addWidget(self.loss_combo, 1)
        loss_row.addWidget(set_loss)
        # a network with several outputs: the one measured (hidden for one output)
        self.output_combo = QtWidgets.QComboBox()
        self.output_combo.setObjectName("evaluationOutputCombo")
        self.output_combo.setToolTip("The output whose predictions are measured, shown and tried")
        self.output_combo.activated.connect(self._output_chosen)
        self.output_label = QtWidgets.QLabel("Output")
        self.loss_label = QtWidgets.QLabel("Loss: the network's")
        self.network.subscribe(lambda event: self._show_network_loss() if event.kind in ("loss_changed", "reset")
                               else None)
        self.loss_label.setWordWrap(True)
        self.launch_button = QtWidgets.QPushButton("Launch test")
        self.launch_button.setObjectName("launchTestButton")
        self.launch_button.clicked.connect(self.launch)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("evaluationProgress")
        # a message label: a long run name must not widen the column past its scroll area (it cut the buttons)
        self.summary_label = message_label("Train a network (Train tab), then measure it here on the test set.",
                                           "evaluationSummary")
        self.summary_label.setTextFormat(QtCore.Qt.RichText)
        self.offer_note = QtWidgets.QLabel()
        self.offer_note.setObjectName("evaluationOfferNote")
        self.offer_note.setWordWrap(True)
        self.offer_note.setStyleSheet("color: #868e96")
        self.offer_note.hide()
        form.addRow("Dataset", self.dataset_combo)
        form.addRow(self.offer_note)
        form.addRow("Weights", self.weights_combo)
        form.addRow("", open_weights)
        form.addRow(self.output_label, self.output_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Loss", loss_row)
        form.addRow(self.loss_label)
        form.addRow(self.launch_button)
        form.addRow(self.progress)
        form.addRow(self.summary_label)
        return controls

    NO_RESULTS = "No results yet: choose a test set and press Launch test."
    FOR_CLASSIFICATION = ("{page} is for classification: these weights predict a numeric target; see Predicted vs "
                          "true.")
    FOR_REGRESSION = "Predicted vs true is for regression: these weights tell classes; see the Confusion matrix."

    def _build_matrix(self) -> ConfusionMatrixPlot:
        self.matrix_plot = ConfusionMatrixPlot("Confusion matrix (rows: true class, colour: share of the row)",
                                               self.NO_RESULTS)
        self.matrix_plot.setObjectName("confusionPlot")
        self.matrix_plot.cell_clicked.connect(self._cell_clicked)
        return self.matrix_plot

    @property
    def matrix_texts(self):
        return self.matrix_plot.texts

    def _build_report(self) -> QtWidgets.QWidget:
        self.report_table = read_only_table(["Class", "Precision", "Recall", "F1", "Support"], "reportTable")
        page = with_button(self.report_table, "Export report…", "exportReportButton", self.export_report)
        self.report_note = QtWidgets.QLabel()  # what the page is for, when it has nothing to show
        self.report_note.setObjectName("reportNote")
        self.report_note.setWordWrap(True)
        self.report_note.setStyleSheet("color: #868e96")
        page.layout().insertWidget(0, self.report_note)
        return page

    def _build_gallery(self) -> QtWidgets.QWidget:
        self.gallery_title = message_label("The most confident mistakes")  # "(no saliency: why)" can be long
        self.gallery = ImageGrid(columns=4, object_name="errorGallery")  # two-line captions: 4 fit
        self.gallery.image_clicked.connect(self.try_sample)
        gallery_box = QtWidgets.QWidget()
        gallery_box_layout = QtWidgets.QVBoxLayout(gallery_box)
        gallery_box_layout.setContentsMargins(0, 0, 0, 0)
        self.gallery_saliency = QtWidgets.QCheckBox("Show what drove each prediction")
        self.gallery_saliency.setObjectName("gallerySaliencyCheck")
        self.gallery_saliency.toggled.connect(lambda: self.show_samples(*self._gallery_shown))
        self._gallery_shown: tuple[list[int], str] = ([], "")
        heading = QtWidgets.QHBoxLayout()
        heading.addWidget(self.gallery_title, 1)
        heading.addWidget(self.gallery_saliency)
        gallery_box_layout.addLayout(heading)
        gallery_box_layout.addWidget(self.gallery, 1)
        self.gallery_texts = QtWidgets.QListWidget()  # the mistakes of a network on text or token ids
        self.gallery_texts.setObjectName("errorTexts")
        self.gallery_texts.setWordWrap(True)
        self.gallery_texts.hide()
        for signal in (self.gallery_texts.itemClicked, self.gallery_texts.itemActivated):  # a click, or Enter
            signal.connect(lambda item: self.try_sample(item.data(QtCore.Qt.UserRole)))
        gallery_box_layout.addWidget(self.gallery_texts, 1)
        return gallery_box

    def _build_try_it(self) -> QtWidgets.QWidget:
        self.pad = DrawingPad()
        self.tried_sample: int | None = None  # the gallery's sample Try it shows, until the user draws
        self.tried_from: TensorDataset | None = None  # the dataset of that sample
        self.pad.changed.connect(self._input_edited)
        self.pad_tools = self._build_pad_tools()
        self.text_edit = QtWidgets.QPlainTextEdit()
        self.text_edit.setObjectName("tryTextEdit")
        self.text_edit.setPlaceholderText("Type a text: the prediction follows as you type")
        self.text_edit.setFixedWidth(self.pad.width())
        self.text_edit.textChanged.connect(self._input_edited)
        self.text_edit.hide()
        try_box = QtWidgets.QWidget()
        try_layout = QtWidgets.QGridLayout(try_box)
        try_layout.addWidget(self.pad, 0, 0, QtCore.Qt.AlignTop)
        try_layout.addWidget(self.text_edit, 0, 0)
        try_layout.addWidget(self.pad_tools, 1, 0)
        # all rows, like the chart: in row 0 alone, its height pushed the pad's tools far below the pad
        try_layout.addWidget(self._build_try_it_column(), 0, 1, 3, 1)
        try_layout.addWidget(self._build_probability_plot(), 0, 2, 3, 1)
        try_layout.setColumnStretch(1, 1)  # room to spare goes to the chart, once the texts have theirs
        try_layout.setColumnStretch(2, 2)
        try_layout.setRowStretch(2, 1)  # pad and its tools together at the top
        return try_box

    def _build_pad_tools(self) -> QtWidgets.QWidget:
        """Pen, eraser, clear, open an image, and how a drawing is prepared."""
        pen = QtWidgets.QRadioButton("Pen")
        pen.setChecked(True)
        eraser = QtWidgets.QRadioButton("Eraser")
        eraser.setObjectName("eraserRadio")
        eraser.toggled.connect(lambda on: setattr(self.pad, "eraser", on))
        clear = QtWidgets.QPushButton("Clear")
        clear.setObjectName("clearPadButton")
        clear.clicked.connect(self._reset_try_it)
        open_image = QtWidgets.QPushButton("Open image…")
        open_image.clicked.connect(self.open_image)
        tools = QtWidgets.QVBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        buttons = QtWidgets.QHBoxLayout()
        for widget in (pen, eraser, clear, open_image):
            buttons.addWidget(widget)
        tools.addLayout(buttons)
        self.drawing_style_combo = QtWidgets.QComboBox()
        self.drawing_style_combo.setObjectName("drawingStyleCombo")
        self.drawing_style_combo.addItem("like the training data", "training")
        self.drawing_style_combo.addItem("MNIST-style", "mnist")
        self.drawing_style_combo.setToolTip(
            "Like the training data: the drawing gets the training images' stroke width, share of the frame, "
            "centring and ink (dark on light or light on dark), measured on a few hundred of them.\n"
            "MNIST-style: thin light strokes whose longer side fills 20 of 28 pixels, centred by their centre "
            "of mass.")
        self.drawing_style_combo.currentIndexChanged.connect(lambda: self.prediction_timer.start())
        # The label above its choice: beside it, the combo's width squeezed it to "P".
        tools.addWidget(message_label("Prepare the drawing:", "drawingStyleLabel"))
        tools.addWidget(self.drawing_style_combo)
        pad_tools = QtWidgets.QWidget()
        pad_tools.setLayout(tools)
        return pad_tools

    def _build_probability_plot(self) -> pyqtgraph.PlotWidget:
        self.probability_plot = pyqtgraph.PlotWidget(title="Class probabilities")
        self.probability_plot.setObjectName("probabilityPlot")
        self.probability_plot.setBackground("w")
        self.probability_plot.setXRange(0, 1.14, padding=0)  # room for the "100%" label at the end
        self.probability_plot.invertY(True)
        self.probability_plot.setLabel("bottom", "probability")
        # three labels that never run into each other, whatever the width (the end ones may
        # reach past the axis' ends: pyqtgraph would hide them)
        probability_axis = self.probability_plot.getAxis("bottom")
        probability_axis.setTicks([[(0, "0%"), (0.5, "50%"), (1, "100%")], [(0.25, ""), (0.75, "")]])
        probability_axis.setStyle(hideOverlappingLabels=False)
        self.probability_plot.setMinimumWidth(230)  # the title and the class names in full
        self._show_no_probabilities()
        return self.probability_plot

    def _show_no_probabilities(self) -> None:
        """The chart before a prediction: what will appear there, not an axis of classes
        running from 0 to 1."""
        self.probability_plot.clear()
        self.probability_plot.getAxis("left").setTicks([[]])
        self.probability_plot.getAxis("left").setWidth(24)  # room for half of the "0%" below it
        self.probability_plot.setYRange(0, 1, padding=0)
        hint = empty_note("The network's probability for each class appears here when it predicts", 180)
        hint.setPos(0.57, 0.5)
        self.probability_plot.addItem(hint)

    def _build_try_it_column(self) -> QtWidgets.QWidget:
        """The input the network sees, the prediction and what drives it."""
        self.prepared_label = QtWidgets.QLabel()
        self.prepared_label.setObjectName("preparedSample")
        # framed: a white input (dark ink on light) would vanish into the tab's background
        self.prepared_label.setFrameShape(QtWidgets.QFrame.Box)
        self.prepared_label.setFixedSize(86, 86)
        self.prediction_label = message_label("Draw a shape or a digit, or open an image.", "predictionLabel")
        self.saliency_check = QtWidgets.QCheckBox("What drives it")
        self.saliency_check.setObjectName("saliencyCheck")
        self.saliency_check.setChecked(True)
        self.saliency_check.setToolTip("A heat map of the places that raise the predicted class's score: Grad-CAM on "
                                       "the last convolution, or integrated gradients for a network without one")
        self.saliency_check.toggled.connect(lambda: self.prediction_timer.start())
        self.saliency_label = QtWidgets.QLabel()
        self.saliency_label.setObjectName("saliencyLabel")
        self.saliency_label.setFixedSize(112, 112)
        self.saliency_label.setWordWrap(True)
        side = QtWidgets.QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        self.input_caption = message_label("Network input:", "inputCaption")
        side.addWidget(self.input_caption)
        side.addWidget(self.prepared_label)
        self.tokens_label = QtWidgets.QLabel()
        self.tokens_label.setObjectName("tokensLabel")
        self.tokens_label.setWordWrap(True)
        self.tokens_label.hide()
        side.addWidget(self.tokens_label)
        side.addWidget(self.prediction_label)
        side.addWidget(self.saliency_check)
        side.addWidget(self.saliency_label)
        side.addStretch(1)
        side_column = QtWidgets.QWidget()  # its texts wrap in it: the chart keeps the rest
        side_column.setLayout(side)
        side_column.setMinimumWidth(130)
        side_column.setMaximumWidth(210)
        return side_column

    def _show_network_loss(self) -> None:
        """Until the user sets another loss here, the combo shows the loss of the network
        the weights belong to (which is measured), or of the open one while there are none."""
        network = self.trained.network if self.trained is not None else self.network
        output = self.chosen_output()
        own = network.output_losses.get(output) if output is not None else None
        loss = own.choice if own is not None else network.loss
        if self.loss_choice is None and loss is not None:
            select_entry(self.loss_combo, loss.type)
            whose = "the trained network's" if self.trained is not None else "the network's"
            of = f", of the output '{output}'" if output is not None else ""
            self.loss_label.setText(f"Loss: {loss.type} ({whose}{of})")

    # -- choices -------------------------------------------------------------------------
    def _workspace_changed(self, event) -> None:
        if event.kind in DATASET_CHANGES:
            self.update_sets()
        elif event.kind is Change.TRAINING_FINISHED:
            self.update_weights(select_latest=True)
            result = event.item
            self.history.refresh_runs(select=getattr(result, "run_dir", None))

    def _weights_chosen(self) -> None:
        choice = self.weights_combo.currentData()
        if choice != self.chosen_weights:
            self.chosen_weights = choice
            self._model_changed()

    def _network_replaced(self) -> None:
        """Another network opened, or an undo: the results go with the network they were
        measured beside, and weights from a file belong to the network now in the editor."""
        name = self.workspace.document.display_name
        choice = self.weights_combo.currentData()
        if name != self.network_name or (isinstance(choice, Path) and choice.is_file()):
            self.network_name = name
            self._model_changed()

    def _model_changed(self) -> None:
        """Other weights, or another network for a weights file: Try it predicts with them,
        the results of the last ones go, and the data offered follow them."""
        self.trained = None
        self.clear_results()
        self.update_sets(follow_run=True)  # builds the model of the weights chosen
        self._offer_outputs()
        self._show_network_loss()
        self._fit_inputs_to_model()
        self._reset_try_it()  # what Try it showed was the last weights' answer

    def _offer_outputs(self) -> None:
        """The outputs of the chosen weights' network, when it has several (the first chosen);
        the row is hidden for a network with one."""
        outputs = self.trained.outputs if self.trained is not None else []
        blocker = QtCore.QSignalBlocker(self.output_combo)
        self.output_combo.clear()
        self.output_combo.addItems(outputs if len(outputs) > 1 else [])
        del blocker
        for widget in (self.output_label, self.output_combo):
            widget.setVisible(len(outputs) > 1)

    def chosen_output(self) -> str | None:
        """The output measured: the one chosen, None for a network with one output."""
        return self.output_combo.currentText() or None if self.output_combo.count() else None

    def _output_chosen(self) -> None:
        """Another output: the figures shown were the last one's, Try it predicted with it."""
        self.clear_results()
        self._show_network_loss()
        self._reset_try_it()

    def _chosen_model(self) -> TrainedModel | None:
        """The model of the weights chosen, built once per choice; None when there is none
        (`model_problem` says why)."""
        if self.trained is None:
            try:
                self.trained = self.trained_model()
            except PyTorchGUIError as error:
                self.model_problem = str(error)
        return self.trained

    def update_sets(self, follow_run: bool = False) -> None:
        """Offer the data the chosen weights can be measured on; a set that does not fit
        them is greyed out with the reason. The user's choice is kept while it fits, unless
        `follow_run` (other weights): then it is the run's test set, else its validation split.
        Until the user chooses, the default is chosen anew: a training set imported before its
        test set (the built-in shapes at a fresh start) would otherwise stay chosen."""
        trained = self._chosen_model()
        current = self.dataset_combo.currentText()
        sets = self.workspace.evaluation_sets(trained)
        blocker = QtCore.QSignalBlocker(self.dataset_combo)
        self.dataset_combo.clear()
        for choice in sets:
            add_choice(self.dataset_combo, choice.label, choice, choice.problem)
        chosen = next((choice for choice in sets if choice.label == current and not choice.problem), None)
        if chosen is None or follow_run or current == self.defaulted_set:
            chosen = self.workspace.default_evaluation_set(sets, trained)
            self.defaulted_set = chosen.label if chosen is not None else ""
        self.dataset_combo.setCurrentIndex(sets.index(chosen) if chosen is not None else -1)
        del blocker
        refused = [choice for choice in sets if choice.problem]
        self.offer_note.setVisible(bool(refused))
        if refused:
            others = f" ({len(refused) - 1} more: hover the list)" if len(refused) > 1 else ""
            self.offer_note.setText(f"Not offered for these weights: {refused[0].name}: {refused[0].problem}{others}")

    def clear_results(self) -> None:
        """Forget the last measurement: its figures belong to other weights or another network."""
        self.result, self.evaluated = None, None
        self.summary_label.setText("Measure the weights chosen on the data chosen: press Launch test.")
        self.progress.setValue(0)
        self._show_report(None)
        self.show_samples([], "The most confident mistakes")
        self._show_empty_pages()
        self.embedding_view.clear()

    def _show_empty_pages(self) -> None:
        """What the result pages say without a result of their kind: that they do not
        apply to the task of these weights, or that there is nothing yet."""
        task = self.trained.task if self.trained is not None else None
        if self.result is not None:
            task = "regression" if self.result.is_regression else "classification"
        regression = task == "regression"
        for_classification = self.FOR_CLASSIFICATION.format
        if self.result is None or regression:
            self.matrix_plot.show_empty(for_classification(page="The confusion matrix") if regression
                                        else self.NO_RESULTS)
        self.report_note.setText(for_classification(page="The per-class report") if regression else "")
        self.report_note.setVisible(regression)
        if regression:
            self.gallery_title.setText(for_classification(page="The gallery of mistakes"))
        # A page that cannot apply to these weights' task is hidden, so the others fit the tab bar
        self.result_tabs.setTabVisible(self.result_tabs.indexOf(self.regression_view), task != "classification")
        self.result_tabs.setTabVisible(self.result_tabs.indexOf(self.curves_view), task != "regression")
        if self.result is None or not regression:
            self.regression_view.show_message(self.FOR_REGRESSION if task == "classification" else self.NO_RESULTS)
        if self.result is None or regression:
            self.curves_view.show_message(for_classification(page="The Curves page") if regression else self.NO_RESULTS)

    def update_weights(self, select_latest: bool = False, chosen: Any = None) -> None:
        """The weights there are, listed again; the current choice stays (or `chosen`, or the
        newest with select_latest)."""
        current = chosen if chosen is not None else self.weights_combo.currentData()
        blocker = QtCore.QSignalBlocker(self.weights_combo)
        self.weights_combo.clear()
        add_trained_weights(self.weights_combo, self.workspace.last_result)
        for run, label in reversed(self.opened_runs.items()):  # the last opened first, after "just trained"
            self.weights_combo.insertItem(1 if self.weights_combo.itemData(0) == "latest" else 0, label, run)
        if self.weights_combo.count() == 0:
            self.weights_combo.addItem("No trained weights yet", None)
        index = 0 if select_latest else max(self.weights_combo.findData(current), 0)
        self.weights_combo.setCurrentIndex(index)
        del blocker
        if select_latest and self.weights_combo.currentData() == self.chosen_weights:
            self._model_changed()  # "the network just trained" is now another run's
        else:
            self._weights_chosen()

    def offer_run(self, run: Path, label: str) -> None:
        """Offer a run folder the runs folder does not hold (a sweep's trial, opened as the
        current network) among the weights, chosen."""
        self.opened_runs.pop(run, None)  # listed again as the last opened
        self.opened_runs[run] = label
        self.update_weights(chosen=run)

    def open_weights_file(self) -> None:
        choose_weights_file(self.weights_combo)

    def choose_loss(self) -> FunctionDialog | None:
        type_name = selected_entry_name(self.loss_combo, self.catalog.losses)
        if type_name is None:
            return None
        entry = self.catalog.losses.get(type_name)
        dialog = FunctionDialog(entry, title="Loss for the evaluation", accept_text="Set", parent=self)

        def accepted() -> None:
            from pytorchgui.core.graph.network import FunctionChoice

            self.loss_choice = FunctionChoice(type_name, dialog.values())
            self.loss_label.setText(f"Loss: {type_name}")

        dialog.accepted.connect(accepted)
        self.dialog = dialog
        dialog.open()
        return dialog

    def trained_model(self) -> TrainedModel:
        """The model the weights combo names, built and loaded (raises EvaluationError)."""
        choice = self.weights_combo.currentData()
        if choice is None:
            raise EvaluationError("there are no trained weights yet: train the network in the Train tab first")
        if choice == "latest":
            return open_trained_model(self.workspace.last_result, network=self.network)
        # a run folder (its own network), or a weights file for the network open in the editor
        return open_trained_model(choice, network=self.network)

    # -- measuring --------------------------------------------------------------------------
    def chosen_model_and_data(self) -> tuple[TrainedModel, object, EvaluationSet]:
        """(the model of the weights chosen, the data chosen as it reads them, that choice);
        EvaluationError says why there is none or why they do not fit."""
        choice: EvaluationSet | None = self.dataset_combo.currentData()
        if choice is None:
            raise EvaluationError("import a test set in the Data tab first")
        trained = self._chosen_model()
        if trained is None:
            raise EvaluationError(self.model_problem)
        dataset = with_tokenizer(choice.dataset(), trained.tokenizer)  # text: the ids the network learned
        trained.check_data(dataset, self.chosen_output())
        return trained, dataset, choice

    def launch(self) -> Task | None:
        if self.loading is not None:
            return None
        try:
            trained, dataset, choice = self.chosen_model_and_data()
            output = self.chosen_output()
            loss = trained.loss_for(dataset, self.loss_choice, output=output)
            output_index = trained.output_index(output)
            dataset = trained.data_for_output(dataset, output)  # that output's targets
        except PyTorchGUIError as error:
            show_error(self, "Cannot evaluate", str(error))
            return None
        device, batch_size = self.device_combo.currentData(), self.batch_spin.value()
        self.trained = trained
        self.measured = html.escape(choice.name, quote=False)

        def measure(control: TaskControl) -> EvaluationResult:
            result = evaluate(trained.model, dataset, trained.normalization_for(dataset), loss=loss,
                              batch_size=batch_size, device=device, control=control,
                              target_normalization=trained.target_normalization, output_index=output_index)
            result.curves()  # measured here, off the window's thread (scikit-learn takes a second to import)
            return result

        self.launch_button.setEnabled(False)
        self.progress.setValue(0)
        self.evaluated = dataset
        self.loading = Task(self, measure)
        self.loading.reported.connect(self._show_progress)
        self.loading.finished.connect(self._measured)
        self.loading.failed.connect(self._failed)
        return self.loading.start()

    def _show_progress(self, events: list) -> None:
        progress = [event for event in events if isinstance(event, Progress)]
        if progress:
            self.progress.setValue(int(100 * progress[-1].done / max(progress[-1].total, 1)))

    def _finish(self) -> None:
        self.loading = None
        self.launch_button.setEnabled(True)

    def _failed(self, error: Exception) -> None:
        self._finish()
        if isinstance(error, PyTorchGUIError):
            show_error(self, "Cannot evaluate", str(error))
        else:
            raise error

    def _measured(self, result: EvaluationResult) -> None:
        self._finish()
        self.progress.setValue(100)
        self.result = result
        self.summary_label.setText("<br>".join(self._summary(result)))
        self._show_matrix(result)
        self._show_report(result)
        self.show_samples(result.worst_errors(), "The most confident mistakes")
        if result.is_regression:
            self.regression_view.show_result(result.targets, result.outputs,
                                             f"{self.measured}: {result.samples:,} samples, in the target's units")
            self.result_tabs.setCurrentWidget(self.regression_view)
        else:
            self.curves_view.show_result(result)
        self._show_empty_pages()

    def _summary(self, result: EvaluationResult) -> list[str]:
        """The lines of the summary: which weights, on which data, then the figures."""
        trained = self.trained
        weights = f" ({trained.weights.name})" if trained.weights and trained.weights.name != trained.name else ""
        name = breakable(html.escape(trained.name, quote=False))
        output = self.chosen_output()
        of = f"output <b>{html.escape(output, quote=False)}</b> of " if output is not None else ""
        lines = [f"{of}<b>{name}</b>{html.escape(weights, quote=False)} on <b>{breakable(self.measured)}</b>",
                 f"<b>{result.samples:,}</b> samples in {result.seconds:.2f} s"]
        if result.loss is not None:
            scaled = " (standardised target, as in training)" if trained.target_normalization else ""
            lines.append(f"loss <b>{result.loss:.4f}</b>{scaled}")
        if result.classes is not None:
            at = "" if result.threshold is None else f" ({html.escape(result.classes[1], quote=False)} above " \
                                                     f"{result.threshold:.2f})"
            lines.append(f"accuracy <b>{result.accuracy:.2%}</b>{at}")
            if result.top5_accuracy is not None:
                lines.append(f"top-5 <b>{result.top5_accuracy:.2%}</b>")
        else:
            lines.append(f"MSE <b>{result.mse:.4g}</b>, MAE <b>{result.mae:.4g}</b>, R² <b>{result.r2:.4f}</b> "
                         "(the target's units)")
        return lines

    def _show_matrix(self, result: EvaluationResult) -> None:
        self.matrix_plot.show_matrix(result.confusion.numpy() if result.confusion is not None else None,
                                     result.classes, "" if result.threshold is None else
                                     f"{result.classes[1]} predicted above {result.threshold:.2f}")

    def _threshold_moved(self, result: EvaluationResult) -> None:
        """The two-class threshold moved on the Curves page: the matrix and the report at it."""
        self.result = result
        self.summary_label.setText("<br>".join(self._summary(result)))
        self._show_matrix(result)
        self._show_report(result)
        self.show_samples(result.worst_errors(), "The most confident mistakes")

    def _cell_clicked(self, true_class: int, predicted_class: int) -> None:
        if self.result is not None and self.result.confusion is not None:
            self.show_cell(true_class, predicted_class)

    def show_cell(self, true_class: int, predicted_class: int) -> None:
        classes = self.result.classes
        if not (0 <= true_class < len(classes) and 0 <= predicted_class < len(classes)):
            return
        indices = self.result.cell_samples(true_class, predicted_class)
        self.show_samples(indices, f"True {classes[true_class]}, predicted {classes[predicted_class]}: "
                                   f"{counted(int(self.result.confusion[true_class, predicted_class]), 'sample')}")
        self.result_tabs.setCurrentIndex(2)

    def _show_report(self, result: EvaluationResult | None) -> None:
        rows = result.report_rows() if result is not None and result.classes is not None else []
        self.report_table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            values = [row["name"], f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                      str(row["support"])]
            for column, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                if "average" in row["name"]:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.report_table.setItem(index, column, item)

    def show_samples(self, indices: list[int], title: str) -> None:
        self.gallery.clear()
        self._gallery_shown = (indices, title)
        dataset, result = self.evaluated, self.result
        self.gallery_title.setText(title if indices else f"{title}: none")
        self.gallery_texts.clear()
        texts = isinstance(dataset, TensorDataset) and dataset.kind == "tokens"
        self.gallery_texts.setVisible(texts)
        self.gallery.setVisible(not texts)
        if texts:
            self._show_texts(dataset, indices)
        if not isinstance(dataset, TensorDataset) or dataset.kind != "image":
            if indices and getattr(dataset, "kind", "") == "inputs":  # several inputs: which one to draw?
                self.gallery_title.setText(f"{title} (samples {', '.join(map(str, indices[:12]))}"
                                           f"{', …' if len(indices) > 12 else ''}; a network of several inputs "
                                           "has no one picture per sample)")
            return  # tables have no pictures; streamed folders would be read from disk again
        trained = self._prediction_model() if self.gallery_saliency.isChecked() else None
        for index in indices:
            true_name = result.classes[int(result.targets[index])]
            predicted = result.classes[int(result.predictions[index])]
            confidence = float(result.confidences[index])
            picture = datasets.preview_array(dataset, index)
            if trained is not None:
                try:
                    heat = saliency(trained.model, dataset.inputs[index], trained.normalization_for(dataset),
                                    int(result.predictions[index]), trained.output_index(self.chosen_output()))
                    picture = heat_overlay(picture, heat.heat)
                except PyTorchGUIError as error:
                    self.gallery_title.setText(f"{title} (no saliency: {error})")
                    trained = None
            self.gallery.add(picture,
                             f"true <b>{true_name}</b><br>predicted <span style='color:#c92a2a'>{predicted}</span> "
                             f"{confidence:.0%}",
                             f"sample {index}: true {true_name}, predicted {predicted} ({confidence:.0%}); click "
                             "to try it and see what drove the prediction", key=index)

    def _show_texts(self, dataset: TensorDataset, indices: list[int]) -> None:
        result = self.result
        for index in indices:
            true_name = result.classes[int(result.targets[index])]
            predicted = result.classes[int(result.predictions[index])]
            text = decode(dataset.inputs[index].tolist(), dataset.tokenizer)
            item = QtWidgets.QListWidgetItem(f"true {true_name}, predicted {predicted} "
                                             f"({float(result.confidences[index]):.0%}):  {text}")
            item.setToolTip(f"sample {index}: click to try it")
            item.setData(QtCore.Qt.UserRole, index)
            self.gallery_texts.addItem(item)

    def export_report(self) -> None:
        if self.result is None:
            show_error(self, "Nothing to export", "Launch a test first.")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export report", "report.csv",
                                                        "CSV (*.csv);;JSON (*.json)")
        if path:
            try:
                self.result.export(path)
            except OSError as error:
                show_error(self, "Export failed", f"Cannot write {path}: {error.strerror or error}")

    # -- try it -----------------------------------------------------------------------------
    def _prediction_model(self) -> TrainedModel | None:
        trained = self._chosen_model()
        if trained is None:
            self.prediction_label.setText(self.model_problem)
        return trained

    def _input_kind(self) -> str:
        """What Try it gives the chosen weights: "text" (typed), "image" (drawn or opened),
        or "none" (a table's columns, a series); "image" while there are no weights yet: the
        pad stays, and says why on the first stroke."""
        trained = self._chosen_model()
        if trained is not None and trained.tokenizer is not None:
            return "text"
        if trained is not None and (trained.input_shape is None or len(trained.input_shape) != 3):
            return "none"
        return "image"

    def _fit_inputs_to_model(self) -> None:
        """Try it takes text for a network trained on text, a drawing for one on images, and
        says at once why it takes nothing else; a regression network gives a value, with no
        class probabilities or heat map. The gallery's heat maps are for images only."""
        kind = self._input_kind()
        regression = self.trained is not None and self.trained.task == "regression"
        self.text_edit.setVisible(kind == "text")
        self.tokens_label.setVisible(kind == "text")
        for widget in (self.pad, self.pad_tools, self.prepared_label):
            widget.setVisible(kind == "image")
        self.input_caption.setVisible(kind != "none")
        for widget in (self.saliency_check, self.saliency_label):
            widget.setVisible(kind == "image" and not regression)
        self.probability_plot.setVisible(kind != "none" and not regression)
        self.gallery_saliency.setEnabled(kind != "text")
        self.gallery_saliency.setToolTip("What drove each prediction is shown over images; this network reads "
                                         "text (token ids)" if kind == "text" else
                                         "A heat map over each picture of the places that drove its prediction")

    def _try_it_prompt(self) -> str:
        """What the prediction label says before a prediction: what to do, or why Try it
        cannot take an input for these weights."""
        kind = self._input_kind()
        if kind == "none":
            return (f"Try it needs a network whose input is an image or a text column; these weights take input "
                    f"of shape {self.trained.input_shape}.")
        return "Type a text." if kind == "text" else "Draw a shape or a digit, or open an image."

    def _reset_try_it(self) -> None:
        """Try it as before any prediction (Clear, or other weights): no drawing, text or
        sample tried, no input shown, no prediction, heat map or probabilities."""
        self.prediction_timer.stop()
        self.tried_sample = None
        self.pad.clear(announce=False)
        blocker = QtCore.QSignalBlocker(self.text_edit)  # emptied, not typed: nothing to predict
        self.text_edit.clear()
        del blocker
        self.prepared_sample = None
        for label in (self.prepared_label, self.saliency_label, self.tokens_label):
            label.clear()
            label.setToolTip("")
        self.input_caption.setText("Network input:")
        self.prediction_label.setText(self._try_it_prompt())
        self._show_no_probabilities()

    def _input_edited(self) -> None:
        """A stroke on the pad or a key in the text box: the user's input replaces the sample tried."""
        self.tried_sample = None
        self.prediction_timer.start()

    def _predict_input(self) -> None:
        if self.tried_sample is not None:
            self.try_sample(self.tried_sample, self.tried_from)
        elif self.text_edit.isVisible():
            self.predict_text(self.text_edit.toPlainText())
        else:
            self.predict_drawing()

    def try_sample(self, index: int, dataset=None) -> torch.Tensor | None:
        """A sample of the evaluated set (a mistake clicked in the gallery), or of `dataset`
        (a point clicked in the embedding), in Try it: what the network sees (a text in the
        text box), its prediction, and for an image what drove it."""
        dataset = self.evaluated if dataset is None else dataset
        self.result_tabs.setCurrentIndex(3)
        text = isinstance(dataset, TensorDataset) and dataset.kind == "tokens"
        trained = self._model_taking("text" if text else "image")
        if trained is None or dataset is None:
            return None
        self._reset_try_it()  # an old drawing or text is not what is shown now
        self.tried_sample, self.tried_from = index, dataset
        sample = dataset.inputs[index] if isinstance(dataset, TensorDataset) else dataset[index][0]  # or streamed
        if text:  # the ids the test gave the network, not the text tokenised again
            blocker = QtCore.QSignalBlocker(self.text_edit)  # shown, not typed
            self.text_edit.setPlainText(decode(sample.tolist(), dataset.tokenizer))
            del blocker
            self._show_tokens(trained, sample)
        else:
            blocker = QtCore.QSignalBlocker(self.saliency_check)  # checked to be seen, not to predict again
            self.saliency_check.setChecked(True)
            del blocker
            self.prepared_label.setToolTip(f"Sample {index} of {dataset.name}, as the test gave it to the network")
        target = dataset.targets[index]
        truth = (f"true class <b>{dataset.classes[int(target)]}</b>" if dataset.classes is not None else
                 f"true value <b>{float(target.reshape(-1)[0]):.4g}</b>")
        self.input_caption.setText(f"Network input: sample {index} of {dataset.name}, {truth}")
        return self._predict(trained, sample, trained.normalization_for(dataset))

    def predict_text(self, text: str) -> torch.Tensor | None:
        """The text tokenised as in training (the run's tokenizer), then classified."""
        trained = self._prediction_model()
        if trained is None:
            return None
        if trained.tokenizer is None:
            self.prediction_label.setText("Typing needs a network trained on a CSV text column.")
            return None
        ids = torch.tensor(trained.tokenizer.ids(text), dtype=torch.int64)
        self.input_caption.setText(f"Network input ({trained.tokenizer.describe()}):")
        self._show_tokens(trained, ids)
        return self._predict(trained, ids)

    def _show_tokens(self, trained: TrainedModel, ids: torch.Tensor) -> None:
        """The tokens the network reads, as its vocabulary names them."""
        read = [trained.tokenizer.vocabulary[i] for i in ids.tolist() if i > 0]
        self.tokens_label.setText(" ".join(read).replace("<unk>", "<i>unknown</i>") or "<i>no tokens yet</i>")

    def predict_drawing(self) -> torch.Tensor | None:
        """The drawing prepared like the training images (or the way MNIST's digits were)."""
        trained = self._model_taking("image")
        if trained is None:
            return None
        drawing = torch.from_numpy(self.pad.array()).float() / 255.0
        style, named = self._drawing_style(trained)
        self.input_caption.setText(f"Network input ({named}):")
        self.prepared_label.setToolTip(f"What the network sees: the drawing cropped, scaled and centred, "
                                       f"{style.describe()}")
        return self._predict(trained, prepare_drawing(drawing, trained.input_shape, style))

    def _drawing_style(self, trained: TrainedModel) -> tuple[DrawingStyle, str]:
        """The style the pad's drawings are prepared in, and what the caption calls it."""
        if self.drawing_style_combo.currentData() == "mnist":
            return MNIST_STYLE, "MNIST-style"
        style = trained.drawing_style or self._training_set_style(trained)
        if style is None:
            return MNIST_STYLE, "MNIST-style: no training images to measure"
        return style, "like the training data"

    def _training_set_style(self, trained: TrainedModel) -> DrawingStyle | None:
        """For weights whose run recorded no style (runs from before it was): the style of
        the chosen training set, when the network takes its images."""
        entry = self.workspace.chosen_training_set
        if entry is None or list(entry.dataset.sample_shape) != trained.input_shape:
            return None
        if self._measured_style[0] is not entry.dataset:
            self._measured_style = (entry.dataset, dataset_style(entry.dataset))
        return self._measured_style[1]

    def open_image(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp)")
        if path:
            self.predict_image(Path(path))

    def predict_image(self, path: Path) -> torch.Tensor | None:
        """An image file resized to the network's input, with the channels the network takes."""
        from PIL import Image, UnidentifiedImageError

        trained = self._model_taking("image")
        if trained is None:
            return None
        try:
            with Image.open(path) as image:
                sample, inverted = prepare_image(image, trained.input_shape, trained.normalization)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            show_error(self, "Cannot open the image", f"{path} is not a readable image ({error})")
            return None
        except PyTorchGUIError as error:
            show_error(self, "Cannot open the image", str(error))
            return None
        note = " and inverted (the network was trained on light shapes on a dark background)" if inverted else ""
        self.prepared_label.setToolTip(f"What the network sees: {path.name} resized to "
                                       f"{trained.input_shape[1]} x {trained.input_shape[2]}{note}")
        self.tried_sample = None
        self.input_caption.setText(f"Network input: {html.escape(path.name, quote=False)}")
        return self._predict(trained, sample)

    def _model_taking(self, kind: str) -> TrainedModel | None:
        """The chosen weights' model when Try it can give it this kind of input ("image" or
        "text"); None otherwise, and the prediction label says why."""
        trained = self._prediction_model()
        if trained is not None and len(trained.network.inputs) > 1:
            names = ", ".join(spec.name for spec in trained.network.inputs)
            self.prediction_label.setText(f"Try it gives a network one input; this one takes "
                                          f"{len(trained.network.inputs)} ({names}). Measure it on a data set with "
                                          "<i>Launch test</i>.")
            return None
        if trained is not None and self._input_kind() != kind:
            self.prediction_label.setText(self._try_it_prompt())
            return None
        return trained

    def _show_prepared(self, sample: torch.Tensor) -> None:
        self.prepared_sample = sample
        array = sample_array(sample)
        side = self.prepared_label.contentsRect().width()
        pixmap = image_pixmap(array, max(1, side // max(array.shape[:2])))
        self.prepared_label.setPixmap(pixmap.scaled(side, side, QtCore.Qt.KeepAspectRatio)
                                      if pixmap.width() > side or pixmap.height() > side else pixmap)

    def _predict(self, trained: TrainedModel, sample: torch.Tensor, normalization=None) -> torch.Tensor:
        """normalization: the statistics the sample's dataset is measured with (by default
        the training's)."""
        shown = html.unescape(re.sub(r"<[^>]+>", "", self.input_caption.text()))  # "Network input: sample 4 of …"
        what = shown.partition(":")[2].strip() if shown.startswith("Network input:") else ""
        kind = "text" if sample.dtype == torch.int64 else "drawing or image"
        self.workspace.set_tried_input(TriedInput(sample, normalization or trained.normalization,
                                                  what or f"the {kind} in Try it"))
        if trained.task == "regression":
            return self._predict_value(trained, sample)
        normalization = normalization or trained.normalization
        if sample.dtype != torch.int64:
            self._show_prepared(sample)
        probabilities = predict(trained.model, sample, normalization, trained.output_index(self.chosen_output()))
        classes = trained.classes or [str(i) for i in range(len(probabilities))]
        self.probability_plot.clear()
        # Horizontal bars: class names read along the left axis instead of overlapping below.
        self.probability_plot.addItem(pyqtgraph.BarGraphItem(x0=0, y=numpy.arange(len(probabilities)),
                                                             width=probabilities.numpy(), height=0.7,
                                                             brush="#4c6ef5"))
        self.probability_plot.getAxis("left").setWidth(None)  # as wide as the class names
        self.probability_plot.enableAutoRange(axis="y")  # every class's bar (the empty state fixed 0 to 1)
        if len(classes) <= 30:
            self.probability_plot.getAxis("left").setTicks([[(i, name) for i, name in enumerate(classes)]])
        best = int(probabilities.argmax())
        self.prediction_label.setText(f"Prediction: <b>{classes[best]}</b> ({float(probabilities[best]):.0%})")
        if sample.dtype != torch.int64:
            self._show_saliency(trained, sample, normalization)
        return probabilities

    def _show_saliency(self, trained: TrainedModel, sample: torch.Tensor, normalization) -> None:
        """The heat map of the prediction over the network's input, or why there is none."""
        self.saliency_label.clear()
        if not self.saliency_check.isChecked():
            return
        try:
            heat = saliency(trained.model, sample, normalization,
                            output_index=trained.output_index(self.chosen_output()))
        except PyTorchGUIError as error:
            self.saliency_label.setText(f"<span style='color:#868e96'>{error}</span>")
            self.saliency_label.setToolTip(str(error))
            return
        self.saliency_map = heat
        side = self.saliency_label.width()
        array = heat_overlay(sample_array(sample), heat.heat)
        self.saliency_label.setPixmap(image_pixmap(array, max(1, side // max(array.shape[:2]))))
        self.saliency_label.setToolTip(f"{heat.method}: the brighter, the more a place raises the score of "
                                       "the predicted class")

    def _predict_value(self, trained: TrainedModel, sample: torch.Tensor) -> torch.Tensor:
        """A regression network's prediction: a value in the target's units, no class probabilities."""
        if sample.dtype != torch.int64:
            self._show_prepared(sample)
        values = predict_values(trained.model, sample, trained.normalization, trained.target_normalization,
                                trained.output_index(self.chosen_output()))
        self.probability_plot.clear()
        shown = ", ".join(f"{float(value):.4g}" for value in values[:8])
        self.prediction_label.setText(f"Predicted value: <b>{shown}</b> (the target's units)")
        return values

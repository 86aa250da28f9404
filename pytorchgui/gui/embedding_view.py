"""The Evaluation tab's Embedding page: the samples drawn where the network's features put
them (core/training/embedding.py), coloured by class or by target value.

The weights, the data, the device and the batch size are the Evaluation tab's choices;
this page chooses the features (the input of the last Linear, or a node's output), the
projection and how many samples. The projection runs on a worker thread with a progress
bar and Stop; hovering a point shows its sample, clicking it opens it in Try it.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy
import pyqtgraph
import torch
from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.data import datasets
from pytorchgui.core.data.sequences import decode
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.training.embedding import (MAX_SAMPLES, METHODS, Embedding, Projecting,
                                                class_colours, embed, feature_nodes, last_linear, umap_problem)
from pytorchgui.core.training.tasks import Cancelled, Progress
from pytorchgui.core.wording import counted
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.widgets import add_choice, empty_note, image_pixmap, message_label
from pytorchgui.gui.workers import Task

if TYPE_CHECKING:
    from pytorchgui.gui.evaluation_tab import EvaluationTab

LEGEND_CLASSES = 20  # beyond this many classes a legend would hide the points: hover names them
PREVIEW_SIDE = 112


class EmbeddingView(QtWidgets.QWidget):
    """Project, then look: the points, a legend of the classes, the sample under the mouse."""

    def __init__(self, evaluation: "EvaluationTab"):
        super().__init__()
        self.setObjectName("embeddingView")
        self.evaluation = evaluation
        self.embedding: Embedding | None = None
        self.projected = None  # the dataset the points index
        self.task: Task | None = None
        self.scatters: list[pyqtgraph.ScatterPlotItem] = []
        self.colour_bar: pyqtgraph.ColorBarItem | None = None  # a regression's, beside the plot
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self._build_controls())
        self.message = message_label(self.EMPTY, "embeddingMessage")
        self.message.setStyleSheet("color: #868e96")
        layout.addWidget(self.message)
        content = QtWidgets.QHBoxLayout()
        content.addWidget(self._build_plot(), 1)
        content.addWidget(self._build_preview())
        layout.addLayout(content, 1)
        self.show_empty(self.EMPTY)

    EMPTY = ("Where the network's features put each sample, in 2-D: choose the features and a projection, then "
             "press Project. The weights and the data are the ones chosen on the left.")

    # -- layout ------------------------------------------------------------------------
    def _build_controls(self) -> QtWidgets.QLayout:
        self.node_combo = QtWidgets.QComboBox()
        self.node_combo.setObjectName("embeddingNodeCombo")
        self.node_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToContents)
        self.method_combo = QtWidgets.QComboBox()
        self.method_combo.setObjectName("embeddingMethodCombo")
        problems = {"umap": umap_problem()}
        for method, name in METHODS.items():
            add_choice(self.method_combo, name, method, problems.get(method))
        self.method_combo.setToolTip("PCA: at once. t-SNE and UMAP: neighbours kept together, clusters drawn apart; "
                                     "they take seconds to minutes and show no progress until they end")
        self.samples_spin = QtWidgets.QSpinBox()
        self.samples_spin.setObjectName("embeddingSamplesSpin")
        self.samples_spin.setRange(10, MAX_SAMPLES)
        self.samples_spin.setSingleStep(500)
        self.samples_spin.setValue(2000)
        self.samples_spin.setToolTip(f"At most {MAX_SAMPLES:,}: a fixed random choice of a larger set")
        self.project_button = QtWidgets.QPushButton("Project")
        self.project_button.setObjectName("embeddingProjectButton")
        self.project_button.clicked.connect(self.project)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("embeddingStopButton")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("embeddingProgress")
        choices = QtWidgets.QHBoxLayout()  # in one row with the buttons, the node's name was cut
        for text, widget in (("&Features", self.node_combo), ("P&rojection", self.method_combo),
                             ("Sa&mples", self.samples_spin)):
            label = QtWidgets.QLabel(text)
            label.setBuddy(widget)  # Alt+the underlined letter reaches the field
            choices.addWidget(label)
            choices.addWidget(widget)
        choices.addStretch(1)
        actions = QtWidgets.QHBoxLayout()
        actions.addWidget(self.project_button)
        actions.addWidget(self.stop_button)
        actions.addWidget(self.progress, 1)
        rows = QtWidgets.QVBoxLayout()
        rows.addLayout(choices)
        rows.addLayout(actions)
        self.offer_nodes(None)
        return rows

    def _build_plot(self) -> pyqtgraph.PlotWidget:
        self.plot = pyqtgraph.PlotWidget()
        self.plot.setObjectName("embeddingPlot")
        self.plot.setBackground("w")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTicks([[]])  # the projection's axes have no units to read
        self.plot.setMenuEnabled(False)
        return self.plot

    def _build_preview(self) -> QtWidgets.QWidget:
        self.preview_image = QtWidgets.QLabel()
        self.preview_image.setObjectName("embeddingPreviewImage")
        self.preview_image.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview_image.setAlignment(QtCore.Qt.AlignCenter)
        self.preview_text = message_label("", "embeddingPreviewText")
        box = self.preview = QtWidgets.QWidget()
        box.setFixedWidth(190)
        column = QtWidgets.QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.preview_image)
        column.addWidget(self.preview_text)
        column.addStretch(1)
        return box

    # -- choices -----------------------------------------------------------------------
    def offer_nodes(self, model: torch.nn.Module | None) -> None:
        """The features offered for `model`: the last Linear's input first, then every node's
        output in the order the network computes them."""
        current = self.node_combo.currentData()
        self.node_combo.clear()
        linear = last_linear(model) if model is not None else None
        self.node_combo.addItem(f"input of the last Linear ({linear})" if linear else "input of the last Linear",
                                None)
        for node in feature_nodes(model) if model is not None else []:
            self.node_combo.addItem(f"output of {node}", node)
        self.node_combo.setCurrentIndex(max(self.node_combo.findData(current), 0))

    def clear(self) -> None:
        """Other weights or another network: the points shown belong to the last ones."""
        trained = self.evaluation._chosen_model()
        self.offer_nodes(trained.model if trained is not None else None)
        self.show_empty(self.EMPTY)

    def show_empty(self, text: str) -> None:
        self.embedding, self.projected = None, None
        self.plot.clear()
        self.scatters = []
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        if self.colour_bar is not None:  # in the plot's layout, which plot.clear() leaves alone
            self.plot.plotItem.layout.removeItem(self.colour_bar)
            self.plot.scene().removeItem(self.colour_bar)
            self.colour_bar = None
        self.message.setText(text)
        note = empty_note("The samples appear here as points, coloured by class", 260)
        self.plot.addItem(note)
        self.plot.setRange(xRange=(-1, 1), yRange=(-1, 1))
        self._show_preview(None)

    # -- projecting --------------------------------------------------------------------
    def project(self) -> Task | None:
        if self.task is not None:
            return None
        tab = self.evaluation
        try:
            trained, dataset, choice = tab.chosen_model_and_data()
        except PyTorchGUIError as error:
            show_error(self, "Cannot project", str(error))
            return None
        node, method, samples = self.node_combo.currentData(), self.method_combo.currentData(), self.samples_spin.value()
        device, batch_size = tab.device_combo.currentData(), tab.batch_spin.value()

        def job(control):
            return embed(trained, dataset, node, method, samples=samples, batch_size=batch_size, device=device,
                         control=control)

        self.projected = dataset
        self.message.setText(f"Gathering the features of {counted(min(samples, len(dataset)), 'sample')} of "
                             f"{choice.name}…")
        self._running(True)
        self.task = Task(self, job)
        self.task.reported.connect(self._show_progress)
        self.task.finished.connect(self._projected)
        self.task.failed.connect(self._failed)
        return self.task.start()

    def stop(self) -> None:
        if self.task is not None:
            self.task.control.stop()
            self.stop_button.setEnabled(False)
            if self.progress.maximum() == 0:  # a library call under way: it cannot be cut short
                self.message.setText("Stopping: the projection ends its run first, then its points are dropped.")

    def _running(self, running: bool) -> None:
        self.project_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)

    def _show_progress(self, events: list) -> None:
        for event in events:
            if isinstance(event, Progress):
                self.progress.setValue(int(100 * event.done / max(event.total, 1)))
            elif isinstance(event, Projecting) and not self.task.control.cancelled:
                self.progress.setRange(0, 0)  # busy: scikit-learn and umap-learn report no progress
                self.message.setText(f"Projecting {counted(event.samples, 'sample')} of "
                                     f"{counted(event.features, 'value')} with {event.method}…")

    def _finish(self) -> None:
        self.task = None
        self._running(False)

    def _failed(self, error: Exception) -> None:
        self._finish()
        if isinstance(error, Cancelled):
            self.show_empty("Stopped. Press Project to start again.")
        elif isinstance(error, PyTorchGUIError):
            self.show_empty(self.EMPTY)
            show_error(self, "Cannot project", str(error))
        else:
            raise error

    def _projected(self, result: Embedding) -> None:
        dataset = self.projected
        self._finish()
        self.progress.setValue(100)
        self.show_empty("")
        self.embedding, self.projected = result, dataset
        self.plot.clear()
        if result.is_regression:
            self._draw_by_value(result)
        else:
            self._draw_by_class(result)
        self.plot.autoRange()
        self.message.setText(f"{html.escape(result.title())}. Hover a point to see its sample, click it to try it "
                             f"(gathered in {result.seconds_gathering:.1f} s, projected in "
                             f"{result.seconds_projecting:.1f} s).")

    def _scatter(self, rows: numpy.ndarray, brush, name: str | None = None) -> pyqtgraph.ScatterPlotItem:
        points = self.embedding.points[rows]
        scatter = pyqtgraph.ScatterPlotItem(x=points[:, 0], y=points[:, 1], data=rows, size=7, pen=None, brush=brush,
                                            hoverable=True, tip=None, hoverSize=11, hoverPen=pyqtgraph.mkPen("k"),
                                            name=name)
        scatter.sigHovered.connect(self._hovered)
        scatter.sigClicked.connect(self._clicked)
        self.plot.addItem(scatter)
        self.scatters.append(scatter)
        return scatter

    def _draw_by_class(self, result: Embedding) -> None:
        legend = self.plot.addLegend(offset=(-10, 10), labelTextColor="#212529", brush=(255, 255, 255, 200))
        legend.setVisible(len(result.classes) <= LEGEND_CLASSES)
        for index, (name, colour) in enumerate(zip(result.classes, class_colours(len(result.classes)))):
            rows = numpy.flatnonzero(result.targets == index)
            if len(rows):
                self._scatter(rows, pyqtgraph.mkBrush(*colour, 200), name)

    def _draw_by_value(self, result: Embedding) -> None:
        """A regression: colour by the true value, with a colour bar of the target's range."""
        values = result.targets.astype(float)
        low, high = float(values.min()), float(values.max())
        colours = pyqtgraph.colormap.get("viridis")
        shares = (values - low) / (high - low) if high > low else numpy.zeros_like(values)
        self._scatter(numpy.arange(len(values)), [pyqtgraph.mkBrush(colour) for colour in colours.map(shares, "qcolor")])
        self.colour_bar = pyqtgraph.ColorBarItem(values=(low, high), colorMap=colours, interactive=False,
                                                 label="true value")
        self.plot.plotItem.layout.addItem(self.colour_bar, 2, 5)

    # -- the sample under the mouse ----------------------------------------------------------
    def _hovered(self, _scatter, points, _event) -> None:
        if len(points):
            self._show_preview(int(points[0].data()))

    def _clicked(self, _scatter, points, _event) -> None:
        if len(points) and self.embedding is not None:
            row = int(points[0].data())
            self.evaluation.try_sample(int(self.embedding.indices[row]), self.projected)

    def _show_preview(self, row: int | None) -> None:
        """Sample `row` of the embedding: its picture (or text), its true and predicted class."""
        self.preview_image.clear()
        result, dataset = self.embedding, self.projected
        self.preview.setVisible(result is not None)
        if row is None or result is None:
            self.preview_image.hide()
            self.preview_text.setText("Hover a point to see its sample here." if result is not None else "")
            return
        index = int(result.indices[row])
        lines = [f"Sample <b>{index}</b>", f"true <b>{html.escape(result.label(result.targets, row))}</b>",
                 f"predicted <b>{html.escape(result.label(result.predictions, row))}</b>"]
        kind = getattr(dataset, "kind", "")
        self.preview_image.setVisible(kind == "image")
        if kind == "image":
            sample = dataset.inputs[index] if isinstance(dataset, datasets.TensorDataset) else dataset[index][0]
            picture = datasets.display_array(sample)
            self.preview_image.setPixmap(image_pixmap(picture, max(1, PREVIEW_SIDE // max(picture.shape[:2]))))
        elif kind == "tokens":
            lines.append(html.escape(decode(dataset.inputs[index].tolist(), dataset.tokenizer)[:300]))
        self.preview_text.setText("<br>".join(lines + ["<span style='color:#868e96'>click: open in Try it</span>"]))

"""The Network tab's "Inside" view: what a node gives for one sample.

Pick the weights (the network just trained, a run's best weights, a weights file, or the
network untrained, with random weights), pick a sample (one of the data the weights can
be measured on, by index, or an image file), then click a node in the designer: its
output for that sample shows as feature maps, bars or a heat map, with its statistics. A
convolution also shows its kernels and, on request, the samples of the chosen data that
excite one of its channels most.

Everything is computed by core/training/inspection.py on a worker thread (workers.Task);
the view only draws. A click while a look is computed is kept and looked at next.
"""
from __future__ import annotations

from pathlib import Path

import numpy
import pyqtgraph
import torch
from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import inspection
from pytorchgui.core.training.metrics import model_input, prepare_image
from pytorchgui.core.training.tasks import Progress
from pytorchgui.core.training.trained_model import TrainedModel, open_trained_model
from pytorchgui.core.workspace import DATASET_CHANGES, Change, Workspace
from pytorchgui.gui.evaluation_tab import sample_array
from pytorchgui.gui.widgets import (ImageGrid, add_choice, add_trained_weights, choose_weights_file, image_pixmap,
                                   message_label)
from pytorchgui.gui.workers import Task

UNTRAINED = "untrained"
LATEST = "latest"  # the data of the network just trained, as add_trained_weights offers it
EMPTY = ("Train or load weights, pick a sample, then click a node in the designer: its output for that sample "
         "shows here.")
BACKGROUND = numpy.array([240, 240, 240], dtype=numpy.uint8)  # the gaps between maps and kernels
PICTURE_WIDTH = 240  # pixels the pictures are scaled to fit: the dock's width beside the canvas
SAMPLE_WIDTH = 96  # the sample's thumbnail: 28 x 28 and 32 x 32 images three times their size


def coloured(values: numpy.ndarray) -> numpy.ndarray:
    """A 2-D array (NaN in the gaps of a mosaic) as viridis RGB, scaled to its own range."""
    finite = numpy.isfinite(values)
    low, high = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 1.0)
    scaled = numpy.zeros_like(values) if high <= low else (numpy.where(finite, values, low) - low) / (high - low)
    table = pyqtgraph.colormap.get("viridis").getLookupTable(nPts=256)[:, :3].astype(numpy.uint8)
    rgb = table[(numpy.clip(scaled, 0, 1) * 255).astype(numpy.uint8)]
    rgb[~finite] = BACKGROUND
    return rgb


def grey_or_colour(images: numpy.ndarray) -> numpy.ndarray:
    """Kernels in 0..1 ([h, w] or [h, w, 3], NaN gaps) as uint8 RGB."""
    rgb = images if images.ndim == 3 else numpy.repeat(images[..., None], 3, axis=2)
    out = (numpy.nan_to_num(rgb, nan=0.0) * 255).astype(numpy.uint8)
    out[~numpy.isfinite(rgb).all(axis=2)] = BACKGROUND
    return out


def fitted_pixmap(rgb: numpy.ndarray):
    """The picture as wide as the dock allows: whole pixels where they fit (sharp), else
    scaled, so 64 maps of 16 x 16 (resnet18's conv1 on small images) are not 135 pixels wide."""
    scale = max(1, PICTURE_WIDTH // max(rgb.shape[:2]))
    pixmap = image_pixmap(rgb, scale)
    if pixmap.width() > PICTURE_WIDTH:
        return pixmap.scaledToWidth(PICTURE_WIDTH, QtCore.Qt.SmoothTransformation)
    if pixmap.width() < PICTURE_WIDTH * 3 // 4:  # cells stay cells: nearest neighbour
        return pixmap.scaledToWidth(PICTURE_WIDTH, QtCore.Qt.FastTransformation)
    return pixmap


class InsideView(QtWidgets.QScrollArea):
    """What the clicked node gives for the chosen sample, with the chosen weights."""

    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("insideView")
        self.workspace = workspace
        self.trained: TrainedModel | None = None  # built once per choice of weights
        self.node: str | None = None
        self.image: Path | None = None  # the image file chosen as the sample, if any
        self.use_tried = False  # the sample is Try it's input (workspace.tried_input)
        self.task: Task | None = None
        self.search: Task | None = None
        self._look_again = False
        self.defaulted_set = ""  # the data chosen by default, not by the user
        self.model_problem = ""  # why the chosen weights cannot be used, if they cannot
        self.shown: inspection.NodeOutput | None = None
        self._build()
        workspace.subscribe(self._workspace_changed)
        workspace.network.subscribe(lambda _event: self._forget_untrained())
        self.update_weights()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        inner = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(inner)
        form = QtWidgets.QFormLayout()
        self.weights_combo = QtWidgets.QComboBox(objectName="insideWeightsCombo")
        self.weights_combo.currentIndexChanged.connect(self._weights_chosen)
        open_weights = QtWidgets.QPushButton("Weights file…", objectName="insideWeightsButton")
        open_weights.clicked.connect(self.open_weights_file)
        form.addRow("Weights", self.weights_combo)
        form.addRow("", open_weights)
        self.data_combo = QtWidgets.QComboBox(objectName="insideDataCombo")
        self.data_combo.currentIndexChanged.connect(self._data_sample_chosen)
        self.index_spin = QtWidgets.QSpinBox(objectName="insideIndexSpin", maximum=0)
        self.index_spin.valueChanged.connect(self._data_sample_chosen)
        open_image = QtWidgets.QPushButton("Image file…", objectName="insideImageButton")
        open_image.clicked.connect(self.open_image)
        sample_row = QtWidgets.QHBoxLayout()
        sample_row.addWidget(self.index_spin, 1)
        sample_row.addWidget(open_image)
        form.addRow("Data", self.data_combo)
        for combo in (self.weights_combo, self.data_combo):  # long run and data names must not widen the dock
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        form.addRow("Sample", sample_row)
        self.tried_button = QtWidgets.QPushButton("Try it's input", objectName="insideTriedButton", enabled=False)
        self.tried_button.setToolTip("What the Evaluation tab's Try it last predicted for: a drawing, an image file, "
                                     "a text or a sample")
        self.tried_button.clicked.connect(self.use_tried_input)
        form.addRow("", self.tried_button)
        column.addLayout(form)
        self.sample_label = QtWidgets.QLabel(objectName="insideSampleLabel")
        self.title_label = message_label("", "insideTitleLabel")
        self.message = message_label(EMPTY, "insideMessage")
        self.statistics_label = message_label("", "insideStatisticsLabel")
        self.picture = QtWidgets.QLabel(objectName="insidePicture")
        self.bars = pyqtgraph.PlotWidget(objectName="insideBars")
        self.bars.setMinimumHeight(200)
        self.bars.setLabel("bottom", "unit")
        for widget in (self.sample_label, self.title_label, self.message, self.picture, self.bars,
                       self.statistics_label):
            column.addWidget(widget)
        column.addWidget(self._build_convolution())
        column.addStretch(1)
        self.setWidget(inner)
        self._show_nothing(EMPTY)

    def _build_convolution(self) -> QtWidgets.QWidget:
        self.convolution_box = QtWidgets.QGroupBox("Filters", objectName="insideConvolutionBox")
        layout = QtWidgets.QVBoxLayout(self.convolution_box)
        self.filters_label = message_label("", "insideFiltersLabel")
        self.filters_picture = QtWidgets.QLabel(objectName="insideFiltersPicture")
        row = QtWidgets.QHBoxLayout()
        self.channel_spin = QtWidgets.QSpinBox(objectName="insideChannelSpin", prefix="channel ")
        self.find_button = QtWidgets.QPushButton("Inputs that excite it most", objectName="insideFindButton")
        self.find_button.clicked.connect(self.find_exciting)
        self.stop_button = QtWidgets.QPushButton("Stop", objectName="insideStopButton", enabled=False)
        self.stop_button.clicked.connect(lambda: self.search.control.stop() if self.search else None)
        row.addWidget(self.channel_spin, 1)
        row.addWidget(self.stop_button)
        self.search_progress = QtWidgets.QProgressBar(objectName="insideSearchProgress")
        self.exciting_label = message_label("", "insideExcitingLabel")
        self.exciting_grid = ImageGrid(3, "insideExcitingGrid")
        self.exciting_grid.CELL = 64  # three in a row fit the dock's width
        self.exciting_grid.setMinimumHeight(3 * self.exciting_grid.CELL)
        for widget in (self.filters_label, self.filters_picture):
            layout.addWidget(widget)
        layout.addLayout(row)
        layout.addWidget(self.find_button)
        for widget in (self.search_progress, self.exciting_label, self.exciting_grid):
            layout.addWidget(widget)
        return self.convolution_box

    # -- choices ---------------------------------------------------------------------------
    def _workspace_changed(self, event) -> None:
        if event.kind in DATASET_CHANGES:
            self.update_sets()
        elif event.kind is Change.TRAINING_FINISHED:
            self.update_weights(select_latest=True)
        elif event.kind is Change.TRIED_INPUT_CHANGED:
            self.tried_button.setEnabled(True)
            if self.use_tried:
                self.look()

    def update_weights(self, select_latest: bool = False) -> None:
        """Offer the weights there are: the network just trained, the runs' best, untrained."""
        current = self.weights_combo.currentData()
        blocker = QtCore.QSignalBlocker(self.weights_combo)
        self.weights_combo.clear()
        add_trained_weights(self.weights_combo, self.workspace.last_result)
        self.weights_combo.addItem("Untrained: random weights", UNTRAINED)
        index = 0 if select_latest else max(self.weights_combo.findData(current), 0)
        self.weights_combo.setCurrentIndex(index)
        del blocker
        self._weights_chosen()

    def open_weights_file(self) -> None:
        choose_weights_file(self.weights_combo)

    def _weights_chosen(self) -> None:
        self.trained = None
        self.model_problem = ""
        self.update_sets()

    def _forget_untrained(self) -> None:
        """An edit of the network: an untrained model or a weights file's is built for the one now open."""
        if self.weights_combo.currentData() == UNTRAINED or isinstance(self.weights_combo.currentData(), Path):
            self.trained = None

    def trained_model(self) -> TrainedModel:
        """The chosen weights' model (raises a PyTorchGUIError naming what is wrong)."""
        if self.trained is None:
            choice = self.weights_combo.currentData()
            network = self.workspace.network
            if choice == UNTRAINED:
                self.trained = TrainedModel("the untrained network (random weights)", network.copy(),
                                            compile_network(network), None, None, None)
            elif choice == LATEST:
                self.trained = open_trained_model(self.workspace.last_result, network=network)
            else:
                self.trained = open_trained_model(choice, network=network)
        return self.trained

    def update_sets(self) -> None:
        """Offer the data the weights can run on (the Evaluation tab's choices), the
        default as the Evaluation tab chooses it."""
        try:
            trained = self.trained_model()
        except PyTorchGUIError as error:
            trained, self.model_problem = None, str(error)
        sets = self.workspace.evaluation_sets(trained)
        current = self.data_combo.currentText()
        blocker = QtCore.QSignalBlocker(self.data_combo)
        self.data_combo.clear()
        for choice in sets:
            add_choice(self.data_combo, choice.label, choice, choice.problem)
        chosen = next((choice for choice in sets if choice.label == current and not choice.problem), None)
        if chosen is None or current == self.defaulted_set:  # until the user chooses, the default follows the data
            chosen = self.workspace.default_evaluation_set(sets, trained)
            self.defaulted_set = chosen.label if chosen is not None else ""
        self.data_combo.setCurrentIndex(sets.index(chosen) if chosen is not None else -1)
        del blocker
        self._sample_chosen()

    def dataset(self):
        choice = self.data_combo.currentData()
        return choice.dataset() if choice is not None and not choice.problem else None

    def _data_sample_chosen(self) -> None:
        self.image, self.use_tried = None, False  # a sample of the data chosen now, not a file or Try it's input
        self._sample_chosen()

    def use_tried_input(self) -> None:
        """Look at what Try it last predicted for (and follow it as it changes)."""
        self.image, self.use_tried = None, True
        self.look()

    def _sample_chosen(self) -> None:
        dataset = self.dataset()
        blocker = QtCore.QSignalBlocker(self.index_spin)
        self.index_spin.setMaximum(max(len(dataset) - 1, 0) if dataset is not None else 0)
        del blocker
        self.look()

    def open_image(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp)")
        if path:
            self.choose_image(Path(path))

    def choose_image(self, path: Path) -> None:
        self.image, self.use_tried = path, False
        self.look()

    def show_node(self, names: list[str]) -> None:
        """The designer's selection changed: look at the one node selected."""
        if len(names) == 1 and names[0] != self.node:
            self.node = names[0]
            self.channel_spin.setValue(0)
            self.look()

    # -- looking ---------------------------------------------------------------------------
    def _input(self, trained: TrainedModel) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """(the batch of one the network runs, the raw sample to show or None, its caption)."""
        if self.image is not None:
            from PIL import Image

            with Image.open(self.image) as image:
                sample, _inverted = prepare_image(image, trained.input_shape, trained.normalization)
            return model_input(trained.model, sample, trained.normalization), sample, self.image.name
        if self.use_tried:
            tried = self.workspace.tried_input
            if tried is None:
                raise inspection.InspectionError("draw, open or pick an input in the Evaluation tab's Try it first")
            if trained.input_shape is not None and list(tried.sample.shape) != list(trained.input_shape):
                raise inspection.InspectionError(
                    f"Try it's input ({tried.caption}) has shape {list(tried.sample.shape)}, but these weights take "
                    f"{trained.input_shape}: choose the weights Try it used, or another sample")
            raw = tried.sample if tried.sample.dtype != torch.int64 else None
            return model_input(trained.model, tried.sample, tried.normalization), raw, f"Try it's input: {tried.caption}"
        dataset = self.dataset()
        if dataset is None:
            raise inspection.InspectionError("pick data the weights can run on (import it in the Data tab), or an "
                                             "image file")
        index = self.index_spin.value()
        raw = inspection.raw_sample(dataset, index)
        batch = inspection.sample_batch(dataset, raw, trained.normalization_for(dataset))
        return batch, raw if dataset.kind == "image" else None, f"sample {index} of {dataset.name}"

    def look(self) -> Task | None:
        """Compute the clicked node's output for the sample in the background."""
        if self.node is None:
            self._show_nothing(self.model_problem or EMPTY)
            return None
        busy = next((task for task in (self.task, self.search) if task is not None and task.running), None)
        if busy is not None:  # one job at a time: their hooks would be on the same modules
            self._look_again = True
            return busy
        try:
            trained = self.trained_model()
            x, raw, caption = self._input(trained)
        except (PyTorchGUIError, OSError) as error:
            self._show_nothing(f"Cannot look inside: {error}")
            return None
        node = self.node
        self._show_sample(raw, caption, trained)

        def job(_control):
            output = inspection.node_output(trained.model, x, node)
            filters = None
            if node in inspection.convolution_nodes(trained.model):
                filters = inspection.convolution_filters(trained.model, node)
            return output, filters

        self.task = Task(self, job)
        self.task.finished.connect(self._looked)
        self.task.failed.connect(lambda error: self._show_nothing(f"Cannot look inside: {error}"))
        self.task.finished.connect(self._after_look)
        self.task.failed.connect(self._after_look)
        return self.task.start()

    def _after_look(self, _result) -> None:
        if self._look_again:
            self._look_again = False
            self.look()

    def _show_sample(self, raw, caption: str, trained: TrainedModel) -> None:
        if raw is not None and raw.dim() == 3:
            array = sample_array(raw)
            self.sample_label.setPixmap(image_pixmap(array, max(1, SAMPLE_WIDTH // max(array.shape[:2]))))
        else:
            self.sample_label.clear()
        self.sample_label.setToolTip(f"{caption}, with {trained.name}")
        self.title_label.setText(f"{self.node} for {caption}, with {trained.name}")

    def _show_nothing(self, text: str) -> None:
        self.shown = None
        self.message.setText(text)
        self.message.show()
        for widget in (self.picture, self.bars, self.statistics_label, self.convolution_box):
            widget.hide()

    def _looked(self, result) -> None:
        output, filters = result
        self.shown = output
        self.message.hide()
        shape = " x ".join(str(size) for size in output.shape)
        more = f"; the first {inspection.MOSAIC_LIMIT} of {len(output.values)} shown" \
            if output.kind == inspection.FEATURE_MAPS and len(output.values) > inspection.MOSAIC_LIMIT else ""
        self.statistics_label.setText(f"{output.kind} [{shape}]{more}\n{output.statistics.describe()}")
        self.statistics_label.show()
        if output.kind == inspection.VECTOR:
            self._show_bars(output.values.numpy())
        else:
            values = output.values.numpy()
            self.picture.setPixmap(fitted_pixmap(coloured(inspection.mosaic(values) if output.kind ==
                                                          inspection.FEATURE_MAPS else values)))
            self.picture.setToolTip("feature maps, one per channel, on one colour scale (viridis: dark is low)"
                                    if output.kind == inspection.FEATURE_MAPS else
                                    "rows: queries, columns: keys" if output.kind == inspection.ATTENTION else
                                    "rows x columns of the output")
            self.picture.show()
            self.bars.hide()
        self._show_filters(filters)

    def _show_bars(self, values: numpy.ndarray) -> None:
        self.bars.clear()
        self.bars.addItem(pyqtgraph.BarGraphItem(x=numpy.arange(len(values)), height=values, width=0.8,
                                                 brush="#3b75af", pen=None))
        self.bars.show()
        self.picture.hide()

    def _show_filters(self, filters: inspection.Filters | None) -> None:
        self.convolution_box.setVisible(filters is not None)
        if filters is None:
            return
        count = len(filters.images)
        self.channel_spin.setMaximum(count - 1)
        self.filters_label.setText(f"{count} kernels ({filters.note}), each scaled to its own range")
        self.filters_picture.setPixmap(fitted_pixmap(grey_or_colour(inspection.mosaic(filters.images))))
        data = self.data_combo.currentText() or "the data"
        self.exciting_label.setText(f"Choose a channel, then find the samples of {data} that excite it most.")
        self.exciting_grid.clear()

    # -- samples that excite a channel ----------------------------------------------------
    def find_exciting(self) -> Task | None:
        """Search the chosen data for the samples that excite the chosen channel most."""
        dataset, trained, node = self.dataset(), self.trained, self.node
        if self.task is not None and self.task.running:
            return None  # the look at the node ends in a moment; its hooks are on the same modules
        if dataset is None or trained is None or node is None:
            self.exciting_label.setText("Pick data the weights can run on first.")
            return None
        channel = self.channel_spin.value()
        normalization = trained.normalization_for(dataset)

        def job(control):
            return inspection.top_exciting(trained.model, dataset, normalization, node, channel, count=9,
                                           control=control)

        self.search = Task(self, job)
        self.search.reported.connect(self._search_progressed)
        self.search.finished.connect(lambda found: self._found(found, dataset))
        self.search.failed.connect(self._search_failed)
        self.find_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.exciting_label.setText(f"Searching {dataset.name} for what excites {node}'s channel {channel}…")
        return self.search.start()

    def _search_progressed(self, events: list) -> None:
        for event in events:
            if isinstance(event, Progress):
                self.search_progress.setMaximum(event.total)
                self.search_progress.setValue(event.done)

    def _search_ended(self) -> None:
        self.find_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self._after_look(None)

    def _search_failed(self, error: Exception) -> None:
        self._search_ended()
        from pytorchgui.core.training.tasks import Cancelled

        self.exciting_label.setText("Stopped." if isinstance(error, Cancelled) else f"Cannot search: {error}")

    def _found(self, found: inspection.Exciting, dataset) -> None:
        self._search_ended()
        self.exciting_grid.clear()
        self.exciting_label.setText(f"The samples of {dataset.name} that excite {found.node}'s channel "
                                    f"{found.channel} most (mean activation):")
        for index, activation in zip(found.indices, found.activations):
            raw = inspection.raw_sample(dataset, index)
            if dataset.kind == "image":
                self.exciting_grid.add(sample_array(raw), f"#{index}: {activation:.3g}", key=index)
        if dataset.kind != "image":
            self.exciting_label.setText(self.exciting_label.text() + " " + ", ".join(
                f"#{index} ({activation:.3g})" for index, activation in zip(found.indices, found.activations)))

"""The Data tab: import datasets, mark them as training or test set, preview them.

Reading a dataset runs on a worker thread (MNIST takes a second, a folder of images
longer); a failure is shown in a dialog that names the file, and the sets imported
before stay as they were.
"""
from __future__ import annotations

import math

import numpy
import pyqtgraph
from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.data import datasets
from pytorchgui.core.data.arrays import AmbiguousLayout
from pytorchgui.core.data.augmentation import Pipeline, preview
from pytorchgui.core.data.data_source import TASKS, TEXT_COLUMNS, DataSource
from pytorchgui.core.data.datasets import DatasetError, TensorDataset, describe_bytes
from pytorchgui.core.data.named_inputs import NamedInputsDataset, load_for_network
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.data.sequences import TOKEN_MODES, decode
from pytorchgui.core.wording import counted
from pytorchgui.core.workspace import DATASET_CHANGES, Change, DatasetEntry, Workspace
from pytorchgui.gui import dialogs
from pytorchgui.gui.dialogs import show_error
from pytorchgui.gui.widgets import ImageGrid, PathField, controls_beside, read_only_table, show_status
from pytorchgui.gui.workers import Task, run_in_thread

SOURCES = {"Built-in shapes": "builtin", "Built-in sequences": "sequences", "MNIST": "MNIST",
           "FashionMNIST": "FashionMNIST", "KMNIST": "KMNIST", "CIFAR10": "CIFAR10", "CIFAR100": "CIFAR100",
           "Image folder": "folder", "CSV table": "csv", "Array file (.npz, .pt, .npy, .h5)": "tensor"}
CHANNEL_CHOICES = {"auto": None, "1 (grayscale)": 1, "3 (colour)": 3}
LAYOUT_CHOICES = {"auto": "auto", "channels first (NCHW)": "nchw", "channels last (NHWC)": "nhwc"}
CSV_INPUTS = ("other columns (table)", "a text column (tokens)", "time series (windows)")
PREVIEW_COUNT = 32
AUGMENTED_COUNT = 24


def _spin(minimum: int, maximum: int, value: int, *, name: str = "", tip: str = "") -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setValue(value)
    spin.setObjectName(name)
    spin.setToolTip(tip)
    return spin


def _describe_sample_shape(dataset) -> str:
    """"1 x 28 x 28"; data for several inputs: each input's, by name ("image 1 x 6 x 6, metadata 3")."""
    if isinstance(dataset, NamedInputsDataset):
        return ", ".join(f"{name} {' x '.join(map(str, shape))}" for name, shape in dataset.input_shapes.items())
    return " x ".join(map(str, dataset.sample_shape))


def show_page(stack: QtWidgets.QStackedWidget, index: int) -> None:
    """Show one page, sized to itself: a stacked widget is otherwise as tall as its
    tallest page, and the CSV options would push the rest of the column down."""
    for page in range(stack.count()):
        policy = QtWidgets.QSizePolicy.Preferred if page == index else QtWidgets.QSizePolicy.Ignored
        stack.widget(page).setSizePolicy(policy, policy)
    stack.setCurrentIndex(index)
    stack.adjustSize()


def _describe_normalization(normalization, kind: str) -> str:
    """The per-channel or per-feature mean and std the batches are normalised with, the first
    few of them, in one sentence (an ellipsis before its full stop read as a doubled one)."""
    shown = 3 if kind == "image" else 6
    noun = "channel" if kind == "image" else "feature"
    count = len(normalization.mean)
    which = f"per {noun}" if count <= shown else f"per {noun}, the first {shown} of {counted(count, noun)}"

    def numbers(values) -> str:  # + 0.0 turns the -0.0 that a tiny negative value rounds to into 0.0
        return ", ".join(f"{round(float(value), 3) + 0.0:.3f}" for value in values[:shown])

    return (f"Normalisation ({which}, from this set): mean {numbers(normalization.mean)}; std "
            f"{numbers(normalization.std)}. Training and test batches use the training set's values.")


class DataTab(QtWidgets.QWidget):
    """A view of the workspace's datasets, and the controls that import and describe them."""

    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.loading: Task | None = None
        # test sets of text being read again with the training set's vocabulary, as a run reads them
        self.vocabulary_reading: Task | None = None
        self._vocabulary_stale = False  # the choice changed while reading: read again after
        self.previewed_augmentation = workspace.training_config.augmentation  # the preview follows the draft's
        self._build()
        self._source_changed(0)
        self._update_table()
        workspace.subscribe(self._workspace_changed)

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(controls)
        column.addWidget(self._build_import_box())
        column.addWidget(self._build_selected_box())
        column.addStretch(1)
        controls_beside(self, controls, self._build_table_and_preview(), 380)

    def _build_import_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Import")
        form = QtWidgets.QFormLayout(box)
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.setObjectName("sourceCombo")
        self.source_combo.addItems(list(SOURCES))
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        form.addRow("Source", self.source_combo)
        self.options = QtWidgets.QStackedWidget()
        form.addRow(self.options)
        self._build_source_pages()
        mode_row = QtWidgets.QHBoxLayout()
        self.train_radio = QtWidgets.QRadioButton("Training set")
        self.train_radio.setObjectName("trainRadio")
        self.train_radio.setChecked(True)
        self.test_radio = QtWidgets.QRadioButton("Test set")
        self.test_radio.setObjectName("testRadio")
        mode_row.addWidget(self.train_radio)
        mode_row.addWidget(self.test_radio)
        form.addRow(mode_row)
        self.open_button = QtWidgets.QPushButton("Open data")
        self.open_button.setObjectName("openDataButton")
        self.open_button.clicked.connect(self.open_data)
        form.addRow(self.open_button)
        return box

    def _build_source_pages(self) -> None:
        """One page of options per source, in the order of SOURCES."""
        self.builtin_samples = _spin(100, 200000, 12000, name="builtinSamples")
        about = QtWidgets.QLabel("28x28 images of 10 shapes, generated: no download, no file.")
        about.setWordWrap(True)
        self._add_page([("Samples", self.builtin_samples), (None, about)])
        self.root_field = PathField("folder that holds MNIST/, cifar-10-batches-py/…", True, object_name="rootEdit")
        self.download_check = QtWidgets.QCheckBox("Download if missing")
        self.download_check.setObjectName("downloadCheck")
        self._add_page([("Root folder", self.root_field), (None, self.download_check)])
        self.folder_field = PathField("folder with one sub-folder per class", True, object_name="folderEdit")
        self.resize_edit = QtWidgets.QLineEdit()
        self.resize_edit.setObjectName("resizeEdit")
        self.resize_edit.setPlaceholderText("height, width (optional)")
        self.channels_combo = QtWidgets.QComboBox()
        self.channels_combo.setObjectName("channelsCombo")
        self.channels_combo.addItems(list(CHANNEL_CHOICES))
        self._add_page([("Folder", self.folder_field), ("Resize to", self.resize_edit),
                        ("Channels", self.channels_combo)])
        self.csv_field = PathField("table.csv", False, "CSV files (*.csv);;All files (*)", object_name="csvEdit")
        self.csv_field.changed.connect(self._csv_chosen)
        self.target_combo = QtWidgets.QComboBox()
        self.target_combo.setObjectName("targetCombo")
        self.task_combo = QtWidgets.QComboBox()
        self.task_combo.addItems(list(TASKS))
        self.text_combo = QtWidgets.QComboBox()
        self.text_combo.addItems(list(TEXT_COLUMNS))
        self._add_page([("File", self.csv_field), ("Target column", self.target_combo), ("Task", self.task_combo),
                        ("Text columns", self.text_combo)])
        self.csv_input_combo = QtWidgets.QComboBox()
        self.csv_input_combo.setObjectName("csvInputCombo")
        self.csv_input_combo.addItems(list(CSV_INPUTS))
        self.csv_input_pages = QtWidgets.QStackedWidget()
        self.csv_input_combo.currentIndexChanged.connect(self._csv_input_changed)
        csv_page = self.options.widget(self.options.count() - 1).layout()
        csv_page.addRow("Input", self.csv_input_combo)
        csv_page.addRow(self.csv_input_pages)
        self._build_csv_input_pages()
        show_page(self.csv_input_pages, 0)
        self.tensor_field = PathField("data.npz, .pt, x.npy (y.npy beside it) or .h5", False,
                                      "Array files (*.npz *.pt *.pth *.npy *.h5 *.hdf5);;All files (*)",
                                      object_name="tensorEdit")
        self.x_name_edit, self.y_name_edit = QtWidgets.QLineEdit(), QtWidgets.QLineEdit()
        for edit, name in ((self.x_name_edit, "x"), (self.y_name_edit, "y")):
            edit.setPlaceholderText(name)
            edit.setObjectName(f"{name}NameEdit")
            edit.setToolTip(f"the array (.npz, .h5 dataset, {name}.npy) that holds the "
                            + ("inputs" if name == "x" else "targets"))
        self.layout_combo = QtWidgets.QComboBox()
        self.layout_combo.setObjectName("layoutCombo")
        self.layout_combo.addItems(list(LAYOUT_CHOICES))
        self.layout_combo.setToolTip("4-axis image arrays: auto reads (N, H, W, 1|3|4) as channels last and asks "
                                     "when both the second and the last axis could be the channels")
        self._add_page([("File", self.tensor_field), ("Inputs", self.x_name_edit), ("Targets", self.y_name_edit),
                        ("Image layout", self.layout_combo)])
        self.sequence_samples = _spin(100, 1000000, 20000, name="sequenceSamples")
        about = QtWidgets.QLabel("Sequences of 16 token ids, generated. The class says whether the first and "
                                 "whether the last token is odd: a network must remember across the sequence "
                                 "(try the LSTM and transformer templates).")
        about.setWordWrap(True)
        self._add_page([("Samples", self.sequence_samples), (None, about)])

    def _build_csv_input_pages(self) -> None:
        self.csv_input_pages.addWidget(QtWidgets.QWidget())
        self.text_column_combo = QtWidgets.QComboBox()
        self.text_column_combo.setObjectName("textColumnCombo")
        self.tokens_combo = QtWidgets.QComboBox()
        self.tokens_combo.addItems(list(TOKEN_MODES))
        self.vocabulary_spin = _spin(3, 10_000_000, 10000,
                                     tip="the most frequent tokens of the training set; the others read as unknown")
        self.length_spin = _spin(1, 100_000, 64,
                                 tip="token ids per row: longer texts are cut, shorter ones padded with 0")
        self.csv_input_pages.addWidget(self._form_page([
            ("Text column", self.text_column_combo), ("Tokens", self.tokens_combo),
            ("Vocabulary", self.vocabulary_spin), ("Length", self.length_spin)]))
        self.window_spin = _spin(1, 100_000, 30, name="windowSpin",
                                 tip="rows per sample: every numeric column of that many consecutive rows")
        self.horizon_spin = _spin(0, 100_000, 1,
                                  tip="the target is the target column this many rows after the window's last row")
        self.csv_input_pages.addWidget(self._form_page([("Window (rows)", self.window_spin),
                                                        ("Horizon (rows)", self.horizon_spin)]))

    def _build_selected_box(self) -> QtWidgets.QGroupBox:
        selected = QtWidgets.QGroupBox("Selected set")
        form = QtWidgets.QFormLayout(selected)
        self.validation_spin = QtWidgets.QDoubleSpinBox()
        self.validation_spin.setObjectName("validationSpin")
        self.validation_spin.setRange(0, 90)
        self.validation_spin.setSuffix(" %")
        self.seed_spin = QtWidgets.QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.validation_spin.valueChanged.connect(self._split_changed)
        self.seed_spin.valueChanged.connect(self._split_changed)
        form.addRow("Validation split", self.validation_spin)
        form.addRow("Split seed", self.seed_spin)
        buttons = QtWidgets.QHBoxLayout()
        for text, name, slot in (("Use as training set", "useTrainButton", lambda: self.set_mode("train")),
                                 ("Use as test set", "useTestButton", lambda: self.set_mode("test"))):
            button = QtWidgets.QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        form.addRow(buttons)
        self.fit_button = QtWidgets.QPushButton("Fit network to data")
        self.fit_button.setObjectName("fitButton")
        self.fit_button.setToolTip("Set the network's input shape, its layers' input sizes and its last Linear's class count "
                                   "from this set")
        self.fit_button.clicked.connect(self._fit_clicked)
        self.clear_button = QtWidgets.QPushButton("Clear data")
        self.clear_button.setObjectName("clearDataButton")
        self.clear_button.clicked.connect(self.clear_selected)
        form.addRow(self.fit_button)
        form.addRow(self.clear_button)
        self.stats_label = QtWidgets.QLabel()
        self.stats_label.setObjectName("statsLabel")
        self.stats_label.setWordWrap(True)
        form.addRow(self.stats_label)
        return selected

    def _build_table_and_preview(self) -> QtWidgets.QSplitter:
        self.table = read_only_table(["Name", "Source", "Samples", "Sample shape", "Classes", "Mode",
                                      "Size in memory", "Read as"], "dataTable", stretch=1)
        # How a file was read can be a sentence: a fixed share of the width, the rest in the tooltip.
        self.table.horizontalHeader().setSectionResizeMode(7, QtWidgets.QHeaderView.Interactive)
        self.table.setColumnWidth(7, 240)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        self.preview_tabs = QtWidgets.QTabWidget()
        self.sample_grid = ImageGrid(columns=8, object_name="sampleGrid")
        self.rows_view = QtWidgets.QTableWidget()
        self.rows_view.setObjectName("rowsView")
        self.histogram = pyqtgraph.PlotWidget()
        self.histogram.setObjectName("classHistogram")
        self.histogram.setBackground("w")
        self.histogram.setLabel("left", "samples")
        self.preview_tabs.addTab(self.sample_grid, "Samples")
        self.preview_tabs.addTab(self.rows_view, "Rows")
        self.preview_tabs.addTab(self.histogram, "Classes")
        self.preview_tabs.addTab(self._build_augmented_page(), "Augmented")
        right = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        right.addWidget(self.table)
        right.addWidget(self.preview_tabs)
        right.setSizes([220, 600])
        return right

    def _build_augmented_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(page)
        row = QtWidgets.QHBoxLayout()
        self.augmented_label = QtWidgets.QLabel()
        self.augmented_label.setObjectName("augmentedLabel")
        self.augmented_label.setWordWrap(True)
        self.reseed_button = QtWidgets.QPushButton("New seed")
        self.reseed_button.setObjectName("reseedButton")
        self.reseed_button.setToolTip("Draw the augmentation again with other random numbers")
        self.reseed_button.clicked.connect(self._reseed)
        row.addWidget(self.augmented_label, 1)
        row.addWidget(self.reseed_button)
        column.addLayout(row)
        self.augmented_grid = ImageGrid(columns=8, object_name="augmentedGrid")
        column.addWidget(self.augmented_grid, 1)
        self.preview_seed = 0
        return page

    def _reseed(self) -> None:
        self.preview_seed += 1
        self._preview_augmented()

    def _preview_augmented(self) -> None:
        """The selected images as the Train tab's augmentation makes one training batch of them."""
        self.augmented_grid.clear()
        entry, text = self.selected(), self.workspace.training_config.augmentation
        self.reseed_button.setEnabled(bool(text))
        if entry is None or entry.dataset.kind != "image":
            self.augmented_label.setText("Select an image set to see its samples augmented.")
            return
        if not text:
            self.augmented_label.setText("No augmentation: add operations in the Train tab's Augmentation box, "
                                         "and they are previewed here.")
            return
        try:
            samples = preview(entry.dataset, Pipeline.parse(text), AUGMENTED_COUNT, self.preview_seed)
        except PyTorchGUIError as error:
            self.augmented_label.setText(f"<span style='color:#c92a2a'>{error}</span>")
            return
        self.augmented_label.setText(f"{text} — seed {self.preview_seed}")
        for sample in samples:
            self.augmented_grid.add(sample.image, sample.label)

    def _add_page(self, rows) -> None:
        self.options.addWidget(self._form_page(rows))

    @staticmethod
    def _form_page(rows) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        for label, widget in rows:
            if label is None:
                form.addRow(widget)
            else:
                form.addRow(label, widget)
        return page

    def _source_changed(self, index: int) -> None:
        kind = list(SOURCES.values())[index]
        show_page(self.options, {"builtin": 0, "folder": 2, "csv": 3, "tensor": 4, "sequences": 5}.get(kind, 1))

    def _csv_chosen(self, path: str) -> None:
        import pandas

        self.target_combo.clear()
        try:
            columns = list(pandas.read_csv(path, nrows=0).columns)
        except (OSError, ValueError) as error:
            show_error(self, "Cannot read the table", f"{path}: {error}")
            return
        self.target_combo.addItems([str(c) for c in columns])
        self.target_combo.setCurrentIndex(len(columns) - 1)
        self.text_column_combo.clear()
        self.text_column_combo.addItems([str(c) for c in columns])

    # -- reading ---------------------------------------------------------------------------
    def data_source(self) -> DataSource:
        """The source the controls describe (DatasetError for an incomplete or bad choice)."""
        kind = SOURCES[self.source_combo.currentText()]
        if kind == "builtin":
            return DataSource("builtin", samples=self.builtin_samples.value())
        if kind == "sequences":
            return DataSource("sequences", samples=self.sequence_samples.value())
        if kind == "folder":
            return DataSource("folder", self._required_path(self.folder_field, "a folder with one sub-folder per class"),
                              size=self._resize(), channels=CHANNEL_CHOICES[self.channels_combo.currentText()])
        if kind == "csv":
            path, target = self.csv_field.path(), self.target_combo.currentText()
            if not path or not target:
                raise DatasetError("choose a CSV file and its target column")
            return DataSource("csv", path, target=target, task=self.task_combo.currentText(),
                              text_columns=self.text_combo.currentText(), **self._csv_input())
        if kind == "tensor":
            return DataSource("tensor", self._required_path(self.tensor_field, "an array file holding x and y"),
                              x_name=self.x_name_edit.text().strip() or "x",
                              y_name=self.y_name_edit.text().strip() or "y",
                              layout=LAYOUT_CHOICES[self.layout_combo.currentText()])
        root = self._required_path(self.root_field, f"the root folder for {kind} (where its files are or should go)")
        return DataSource(kind, root, download=self.download_check.isChecked())

    def _csv_input_changed(self, index: int) -> None:
        show_page(self.csv_input_pages, index)
        self.text_combo.setEnabled(index == 0)  # one-hot or refused: only where the other columns are the input

    def _csv_input(self) -> dict:
        """The CSV source's options for its input: a text column, a time series, or none."""
        mode = self.csv_input_combo.currentIndex()
        if mode == 1:
            column = self.text_column_combo.currentText()
            if not column:
                raise DatasetError("choose the column that holds the text")
            if column == self.target_combo.currentText():
                raise DatasetError(f"the text column {column!r} is the target column: choose another")
            return {"text_input": column, "tokens": self.tokens_combo.currentText(),
                    "vocabulary": self.vocabulary_spin.value(), "length": self.length_spin.value()}
        if mode == 2:
            return {"window": self.window_spin.value(), "horizon": self.horizon_spin.value()}
        return {}

    @staticmethod
    def _required_path(field: PathField, what: str) -> str:
        if not field.path():
            raise DatasetError(f"choose {what}")
        return field.path()

    def _resize(self) -> tuple[int, int] | None:
        text = self.resize_edit.text().replace(",", " ").split()
        try:
            return (int(text[0]), int(text[1] if len(text) > 1 else text[0])) if text else None
        except ValueError:
            raise DatasetError(f"resize to '{self.resize_edit.text()}' is not a size: write height, width") from None

    def open_data(self) -> QtCore.QThread | None:
        if self.loading is not None:
            return None
        try:
            source = self.data_source()
        except DatasetError as error:
            show_error(self, "Cannot open the data", str(error))
            return None
        role = "train" if self.train_radio.isChecked() else "test"
        load = self._loader(source, role)

        def read():
            dataset = load()
            if isinstance(dataset, TensorDataset):
                dataset.normalization  # computed here, off the GUI thread, and kept by the dataset
            return dataset

        self.open_button.setEnabled(False)
        self.open_button.setText("Reading…")
        self.loading = run_in_thread(self, read, lambda dataset: self._opened(dataset, role), self._failed)
        return self.loading

    def _loader(self, source: DataSource, role: str):
        """How to read `source`: by the network's input names (an .npz array or CSV columns per
        input) when it has several inputs, or several outputs and an array file that may hold
        targets per output; else as any one-input network's data."""
        network = self.workspace.network
        train = role == "train"
        if len(network.inputs) > 1 or (source.kind == "tensor" and len(network.outputs()) > 1):
            read_for = network.copy()  # read off the window's thread: the editor may change the network meanwhile
            return lambda: load_for_network(source.to_spec(), read_for, train=train)
        return lambda: source.load(train=train)

    def open_builtin_shapes(self) -> QtCore.QObject | None:
        """Load the built-in shapes as training and test set in the background (a fresh
        start, or a Start with nothing to train on): they need no file and no download."""
        if self.loading is not None:
            return None

        def read():
            from pytorchgui.core.data.data_source import builtin_pair

            train, test = builtin_pair()
            for dataset in (train, test):
                dataset.normalization  # computed here, off the GUI thread, and kept by the dataset
            return train, test

        def opened(pair) -> None:
            self._done()
            self.workspace.add_dataset(pair[0], "train")
            self.workspace.add_dataset(pair[1], "test")
            show_status(self, "Loaded the built-in shapes as training and test set: Start in the Train tab trains "
                              "on them", 10000)

        self.open_button.setEnabled(False)
        self.open_button.setText("Reading…")
        self.loading = run_in_thread(self, read, opened, self._failed)
        return self.loading

    def _done(self) -> None:
        self.loading = None
        self.open_button.setEnabled(True)
        self.open_button.setText("Open data")

    def _opened(self, dataset, role: str) -> None:
        self._done()
        self.workspace.add_dataset(dataset, role)

    def _failed(self, error: Exception) -> None:
        self._done()
        if isinstance(error, AmbiguousLayout):
            self._ask_layout(error)
        elif isinstance(error, PyTorchGUIError):
            show_error(self, "Cannot open the data", f"{error}\n\nThe data imported before is unchanged.")
        else:
            raise error  # a bug: the global hook logs and shows it

    def _ask_layout(self, error: AmbiguousLayout) -> None:
        """Which axis holds the channels, when the shape cannot tell: the user says, and
        the file is read again with that layout (also set in the form)."""
        chosen = dialogs.ask_layout(self, error.path, error.shape)
        if chosen is not None:
            self.layout_combo.setCurrentText(next(label for label, value in LAYOUT_CHOICES.items() if value == chosen))
            self.open_data()

    def _workspace_changed(self, event) -> None:
        if event.kind is Change.DATASET_ADDED:
            self._update_table()
            self.table.selectRow(len(self.workspace.datasets) - 1)
        elif event.kind is Change.DATASET_REMOVED:
            self._update_table()
            self._selection_changed()
        elif event.kind in (Change.DATASET_CHANGED, Change.TRAINING_SET_CHOSEN):
            self._update_table(keep_selection=True)
            self._selection_changed()
        elif (event.kind is Change.TRAINING_CONFIG_CHANGED
              and self.workspace.training_config.augmentation != self.previewed_augmentation):
            self.previewed_augmentation = self.workspace.training_config.augmentation
            self._preview_augmented()
        if event.kind in DATASET_CHANGES or event.kind is Change.TRAINING_SET_CHOSEN:
            self._read_with_training_vocabulary()  # a text test set, as the (new) training set reads it

    # -- text test sets, as a run reads them -------------------------------------------------
    def shown(self, entry: DatasetEntry):
        """What the tab shows of `entry`: its dataset as a run reads it (a text test set with
        the chosen training set's vocabulary), or as imported while that is being read."""
        read = self.workspace.as_training_reads(entry, read_again=False)
        return entry.dataset if read is None else read

    def _read_with_training_vocabulary(self) -> None:
        """Read the text test sets again with the training set's vocabulary, in the
        background; the table and the preview follow when it is done."""
        waiting = [entry for entry in self.workspace.datasets
                   if self.workspace.as_training_reads(entry, read_again=False) is None]
        if not waiting:
            return
        if self.vocabulary_reading is not None:
            self._vocabulary_stale = True
            return
        workspace = self.workspace
        self.vocabulary_reading = run_in_thread(
            self, lambda: [workspace.as_training_reads(entry) for entry in waiting],
            self._vocabulary_read, self._vocabulary_failed)

    def _vocabulary_read(self, _readings=None) -> None:
        self.vocabulary_reading = None
        self._update_table(keep_selection=True)
        self._selection_changed()
        if self._vocabulary_stale:
            self._vocabulary_stale = False
            self._read_with_training_vocabulary()

    def _vocabulary_failed(self, error: Exception) -> None:
        if not isinstance(error, PyTorchGUIError):
            raise error  # a bug: the global hook logs and shows it
        self._vocabulary_stale = False  # the next change of data tries again
        self.vocabulary_reading = None
        self.stats_label.setText(f"<span style='color:#c92a2a'>Cannot read the test set with the training set's "
                                 f"vocabulary: {error}</span>")
        show_status(self, f"Cannot read the test set with the training set's vocabulary: {error}", 10000)

    def _describe_tokens(self, entry: DatasetEntry, dataset) -> str:
        """The token ids of the selected set, and whose vocabulary made them."""
        text = f"Token ids 0 to {dataset.token_count - 1}: kept as integers, not normalised (an Embedding takes them)."
        own = getattr(entry.dataset, "tokenizer", None)
        if own is None:
            return text
        training = self.workspace.chosen_training_set
        if dataset is not entry.dataset:
            return (f"{text} This test set is read with the training set's vocabulary ({training.name}: "
                    f"{dataset.tokenizer.describe()}), as training and evaluation read it; its own vocabulary has "
                    f"{len(own.vocabulary):,} tokens.")
        if self.workspace.reads_with_training_vocabulary(entry):
            return f"{text} Reading it again with the training set's vocabulary ({training.name})…"
        if entry.role == "test" and entry is not training:
            return (f"{text} Tokenizer: its own vocabulary ({own.describe()}), until a training set of text is "
                    "chosen: training reads a test set with the training set's vocabulary.")
        return f"{text} Tokenizer: {own.describe()}."

    # -- the selected set ----------------------------------------------------------------
    def selected(self) -> DatasetEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.workspace.datasets[rows[0].row()] if rows else None

    def clear_selected(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.workspace.remove_dataset(entry)

    def set_mode(self, mode: str) -> None:
        entry = self.selected()
        if entry is not None:
            self.workspace.set_role(entry, mode)

    def _split_changed(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.workspace.set_split(entry, self.validation_spin.value(), self.seed_spin.value())

    def _fit_clicked(self) -> None:
        entry = self.selected()
        if entry is None:
            show_error(self, "Fit network to data", "Select a dataset in the table first.")
            return
        fitted = self.workspace.fit_network(entry)
        if fitted.unfit:
            show_error(self, "Fit network to data", f"The network was fitted to {entry.name}, but {fitted.unfit}.",
                       icon=QtWidgets.QMessageBox.Warning)  # advice: the fit itself did what it could
            return
        message = "; ".join(fitted.changes) if fitted.changes else "the network already fits"
        show_status(self, f"Fit to {entry.name}: {message}")

    # -- views -------------------------------------------------------------------------------
    def _update_table(self, keep_selection: bool = False) -> None:
        selected = self.selected() if keep_selection else None
        entries = self.workspace.datasets
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            dataset, mode = self.shown(entry), entry.role
            if mode == "train" and entry.validation_percent:
                mode = f"train ({entry.validation_percent:g}% validation)"
            classes = str(dataset.num_classes) if dataset.is_classification else "regression"
            size = describe_bytes(dataset.memory_bytes) if dataset.memory_bytes else "streamed"
            values = [dataset.name, dataset.source, f"{len(dataset):,}",
                      _describe_sample_shape(dataset), classes, mode, size,
                      "; ".join(getattr(dataset, "notes", ())) or dataset.kind]
            for column, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(row, column, item)
        if not entries:
            self.stats_label.setText("No data yet: choose a source and press Open data. "
                                     "Built-in shapes needs no file.")
        if selected is not None and selected in entries:
            blocker = QtCore.QSignalBlocker(self.table)
            self.table.selectRow(entries.index(selected))
            del blocker

    def _selection_changed(self) -> None:
        entry = self.selected()
        self.sample_grid.clear()
        self.rows_view.clear()
        self.histogram.clear()
        if entry is None:
            return
        dataset = self.shown(entry)
        for widget, value in ((self.validation_spin, entry.validation_percent), (self.seed_spin, entry.split_seed)):
            blocker = QtCore.QSignalBlocker(widget)
            widget.setValue(value)
            del blocker
        normalization = dataset.normalization
        if normalization is not None:
            self.stats_label.setText(_describe_normalization(normalization, dataset.kind))
        if dataset.kind == "tokens":
            self.stats_label.setText(self._describe_tokens(entry, dataset))
        if isinstance(dataset, NamedInputsDataset):
            self._preview_named_inputs(dataset)
        elif dataset.kind == "image":
            self._preview_images(dataset)
            if self.preview_tabs.currentIndex() not in (0, 2, 3):
                self.preview_tabs.setCurrentIndex(0)
        else:
            self._preview_rows(dataset)
            self.preview_tabs.setCurrentIndex(1)
            if dataset is not entry.dataset:
                self.rows_view.horizontalHeaderItem(0).setText(
                    f"tokens, with the training set's vocabulary ({self.workspace.chosen_training_set.name})")
        self._preview_classes(dataset)
        self._preview_augmented()

    def _preview_images(self, dataset) -> None:
        count = min(PREVIEW_COUNT, len(dataset))
        indices = numpy.linspace(0, len(dataset) - 1, count).astype(int)
        for index in indices:
            if isinstance(dataset, TensorDataset):
                array, label = datasets.preview_array(dataset, int(index)), int(dataset.targets[index])
            else:
                sample, label = dataset[int(index)]
                array = datasets.display_array(sample)
            self.sample_grid.add(array, dataset.classes[label] if dataset.is_classification else str(label))

    def _preview_named_inputs(self, dataset: NamedInputsDataset) -> None:
        """Data for several inputs: the images of the first input that is an image, and the
        values of the others as rows (NAME.0, NAME.1, ...) beside the target."""
        self.stats_label.setText(f"{len(dataset.inputs)} inputs, by name: " + ", ".join(
            f"{name} [{', '.join(map(str, shape))}]" for name, shape in dataset.input_shapes.items())
            + ". Used as they are (not normalised).")
        images = [name for name, values in dataset.inputs.items() if values.dim() == 4 and values.shape[1] in (1, 3)]
        count = min(PREVIEW_COUNT, len(dataset))
        for index in numpy.linspace(0, len(dataset) - 1, count).astype(int) if images else ():
            self.sample_grid.add(datasets.display_array(dataset.inputs[images[0]][index]),
                                 self._target_text(dataset, int(index)))
        rows = min(50, len(dataset))
        columns = [(name, position) for name, values in dataset.inputs.items() if name not in images
                   for position in range(min(math.prod(values.shape[1:]), 20))]
        self.rows_view.setColumnCount(len(columns) + 1)
        self.rows_view.setRowCount(rows)
        self.rows_view.setHorizontalHeaderLabels([f"{name}.{position}" for name, position in columns] + ["target"])
        for row in range(rows):
            for column, (name, position) in enumerate(columns):
                value = float(dataset.inputs[name][row].reshape(-1)[position])
                self.rows_view.setItem(row, column, QtWidgets.QTableWidgetItem(f"{value:.4g}"))
            self.rows_view.setItem(row, len(columns), QtWidgets.QTableWidgetItem(self._target_text(dataset, row)))
        self.preview_tabs.setCurrentIndex(0 if images else 1)

    @staticmethod
    def _target_text(dataset, index: int) -> str:
        target = dataset.targets[index]
        return dataset.classes[int(target)] if dataset.is_classification else f"{float(target.reshape(-1)[0]):.4g}"

    def _preview_rows(self, dataset: TensorDataset) -> None:
        if dataset.kind == "tokens":
            self._preview_tokens(dataset)
            return
        rows = min(50, len(dataset))
        inputs = dataset.inputs[:rows] if isinstance(dataset, TensorDataset) else dataset.read(range(rows))
        names = getattr(dataset, "feature_names", None) or [f"x{i}" for i in range(inputs.shape[-1])]
        self.rows_view.setColumnCount(len(names) + 1)
        self.rows_view.setRowCount(rows)
        self.rows_view.setHorizontalHeaderLabels(names + ["target"])
        for row in range(rows):
            for column, value in enumerate(inputs[row].reshape(-1)[: len(names)].tolist()):
                self.rows_view.setItem(row, column, QtWidgets.QTableWidgetItem(f"{value:.4g}"))
            target = dataset.targets[row]
            text = dataset.classes[int(target)] if dataset.is_classification else f"{float(target.reshape(-1)[0]):.4g}"
            self.rows_view.setItem(row, len(names), QtWidgets.QTableWidgetItem(text))

    def _preview_tokens(self, dataset: TensorDataset) -> None:
        """Token ids as the words they stand for (ids when the set has no tokenizer)."""
        rows = min(50, len(dataset))
        inputs = dataset.inputs[:rows] if isinstance(dataset, TensorDataset) else dataset.read(range(rows))
        tokenizer = getattr(dataset, "tokenizer", None)
        self.rows_view.setColumnCount(2)
        self.rows_view.setRowCount(rows)
        self.rows_view.setHorizontalHeaderLabels(["tokens" if tokenizer else "token ids", "target"])
        for row in range(rows):
            self.rows_view.setItem(row, 0, QtWidgets.QTableWidgetItem(decode(inputs[row].tolist(), tokenizer)))
            target = dataset.targets[row]
            label = dataset.classes[int(target)] if dataset.is_classification else f"{float(target.reshape(-1)[0]):.4g}"
            self.rows_view.setItem(row, 1, QtWidgets.QTableWidgetItem(label))
        self.rows_view.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.Stretch)

    def _preview_classes(self, dataset) -> None:
        counts = dataset.class_counts()
        if not counts:
            self.histogram.setTitle("Regression target: no classes")
            return
        self.histogram.setTitle(f"{len(counts)} classes")
        bars = pyqtgraph.BarGraphItem(x=numpy.arange(len(counts)), height=counts, width=0.8, brush="#4c6ef5")
        self.histogram.addItem(bars)
        axis = self.histogram.getAxis("bottom")
        if len(counts) <= 20:
            axis.setTicks([[(i, name) for i, name in enumerate(dataset.classes)]])
        else:
            axis.setTicks(None)


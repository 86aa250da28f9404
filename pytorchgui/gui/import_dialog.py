"""File > Import model…: choose a torchvision or timm model (and, optionally, its weights
file), and it opens as an untitled network whose converted weights the Train tab starts from."""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

from pytorchgui.gui.widgets import PathField


def classification_models() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def timm_models() -> list[str]:
    """timm's model names, or none when timm (an optional extra) is not installed."""
    try:
        import timm
    except ImportError:
        return []
    return timm.list_models()


SOURCES = {"torchvision": ("resnet18", "Download torchvision's pretrained weights (ImageNet)"),
           "timm": ("resnet50", "Fetch timm's pretrained weights (from the Hugging Face Hub)")}


class ImportDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import a model")
        self.setObjectName("importDialog")
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.setObjectName("importSourceCombo")
        self.source_combo.addItem("torchvision")
        self.timm_names = timm_models()
        if self.timm_names:
            self.source_combo.addItem("timm")
        else:
            self.source_combo.setToolTip("timm is not installed: pip install 'pytorchgui[timm]' for its models")
        self.model_combo = QtWidgets.QComboBox()
        self.model_combo.setObjectName("importModelCombo")
        self.model_combo.setEditable(True)
        self.model_combo.addItems(classification_models())
        self.model_combo.setCurrentText("resnet18")
        completer = self.model_combo.completer()
        completer.setFilterMode(QtCore.Qt.MatchContains)
        completer.setCompletionMode(QtWidgets.QCompleter.PopupCompletion)
        self.weights_field = PathField("optional: the model's state_dict (.pth, .pt, .safetensors)", False,
                                       "Weights (*.pth *.pt *.safetensors);;All files (*)",
                                       object_name="importWeightsEdit")
        self.pretrained_box = QtWidgets.QCheckBox("Download torchvision's pretrained weights (ImageNet)")
        self.pretrained_box.setObjectName("importPretrainedCheck")
        self.pretrained_box.setToolTip("Through torchvision's or timm's cache: downloaded once, then read from disk; "
                                       "without internet, choose the file instead")
        self.torchvision_names = [self.model_combo.itemText(i) for i in range(self.model_combo.count())]
        self.source_combo.currentTextChanged.connect(self._show_source)
        self.pretrained_box.toggled.connect(lambda on: self.weights_field.setEnabled(not on))
        form = QtWidgets.QFormLayout()
        form.addRow("Source", self.source_combo)
        form.addRow("Model", self.model_combo)
        form.addRow("Weights", self.weights_field)
        form.addRow("", self.pretrained_box)
        note = QtWidgets.QLabel("The model opens as an editable network (one node per module call). With a weights "
                                "file, its weights are converted to the node names and training starts from them: "
                                "fit the network to your data (Data tab) to give it your classes, and only the new "
                                "classifier starts fresh.")
        note.setObjectName("importNote")
        note.setWordWrap(True)
        note.setStyleSheet("color: #495057;")  # palette(mid) is too pale to read on the dialog's grey
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(560, self.heightForWidth(560))

    def resizeEvent(self, event) -> None:
        """As tall as the wrapped help needs at this width: Qt takes a window's minimum
        height from its widest layout, so a narrower dialog would cut the text."""
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def _show_source(self, source: str) -> None:
        default, pretrained = SOURCES[source]
        self.model_combo.clear()
        self.model_combo.addItems(self.timm_names if source == "timm" else self.torchvision_names)
        self.model_combo.setCurrentText(default)
        self.pretrained_box.setText(pretrained)

    def model_name(self) -> str:
        """The model's name; timm's with its source first (timm:resnet50)."""
        name = self.model_combo.currentText().strip()
        return f"timm:{name}" if self.source_combo.currentText() == "timm" else name

    def weights_path(self) -> str:
        return self.weights_field.path()

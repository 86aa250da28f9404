"""File > Import torchvision model…: choose a model (and, optionally, its weights file),
and it opens as an untitled network whose converted weights the Train tab starts from."""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

from pytorchgui.gui.widgets import PathField


def classification_models() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


class ImportDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import a torchvision model")
        self.setObjectName("importDialog")
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
        self.pretrained_box.setToolTip("Through torchvision's cache: downloaded once, then read from disk; without "
                                       "internet, choose the file instead")
        self.pretrained_box.toggled.connect(lambda on: self.weights_field.setEnabled(not on))
        form = QtWidgets.QFormLayout()
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

    def model_name(self) -> str:
        return self.model_combo.currentText().strip()

    def weights_path(self) -> str:
        return self.weights_field.path()

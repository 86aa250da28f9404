"""File > New from template…: the example networks as thumbnails of their graphs, with
their parameter count and the input they expect."""
from __future__ import annotations

from pathlib import Path

from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui.core.interop.templates import Template, templates
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.gui.graph_editor import NetworkScene

THUMBNAIL = QtCore.QSize(180, 200)


def thumbnail(template: Template) -> QtGui.QPixmap:
    """The graph drawn as on the canvas, scaled into THUMBNAIL."""
    scene = NetworkScene(template.network)
    scene.report = infer_shapes(template.network)  # the nodes show their output shapes, as on the canvas
    scene.sync()
    pixmap = QtGui.QPixmap(THUMBNAIL)
    pixmap.fill(QtGui.QColor("#fbfbfc"))
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.Antialiasing)
    source = scene.itemsBoundingRect().adjusted(-20, -20, 20, 20)
    scene.render(painter, QtCore.QRectF(pixmap.rect()), source, QtCore.Qt.KeepAspectRatio)
    painter.end()
    return pixmap


class TemplateDialog(QtWidgets.QDialog):
    def __init__(self, folder: Path, parent: QtWidgets.QWidget | None = None, first: str = ""):
        super().__init__(parent)
        self.setWindowTitle("New from template")
        self.templates = templates(folder)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("templateList")
        self.list.setViewMode(QtWidgets.QListView.IconMode)
        self.list.setIconSize(THUMBNAIL)
        self.list.setGridSize(THUMBNAIL + QtCore.QSize(40, 80))
        self.list.setResizeMode(QtWidgets.QListView.Adjust)
        self.list.setMovement(QtWidgets.QListView.Static)
        for template in self.templates:
            item = QtWidgets.QListWidgetItem(QtGui.QIcon(thumbnail(template)), template.summary())
            item.setToolTip(str(template.path))
            item.setTextAlignment(QtCore.Qt.AlignHCenter | QtCore.Qt.AlignTop)
            self.list.addItem(item)
        # The example a first run trains (LeNet-5) is chosen first, not the first by name (convnext_tiny)
        starts = [row for row, template in enumerate(self.templates) if template.path.name == first]
        self.list.setCurrentRow(starts[0] if starts else 0)
        self.list.itemDoubleClicked.connect(self.accept)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Open | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Start from one of these networks (it opens as an untitled copy):"))
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(900, 640)

    def chosen(self) -> Template | None:
        row = self.list.currentRow()
        return self.templates[row] if 0 <= row < len(self.templates) else None

"""The main window: the Qt Designer layout from ui/main_window.ui, its menus and tabs."""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets, uic

from pytorchgui import __version__, paths


def load_ui(name: str, widget: QtWidgets.QWidget) -> None:
    """Fill `widget` from ui/NAME.ui (loaded at run time, so designers edit the .ui only)."""
    uic.loadUi(str(paths.ui_dir() / f"{name}.ui"), widget)


def empty_state(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setAlignment(QtCore.Qt.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(mid); font-size: 15px;")
    return label


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        load_ui("main_window", self)
        self.actionQuit.triggered.connect(self.close)
        self.actionAbout.triggered.connect(self.show_about)
        for tab, text in (
            (self.dataTab, "Import a dataset to train on: MNIST, CIFAR-10, a folder of images or a CSV table."),
            (self.networkTab, "Build a network from layers and activation functions."),
            (self.trainTab, "Train the network on the training set and watch its loss fall."),
            (self.evaluationTab, "Measure the trained network on the test set."),
        ):
            if tab.layout() is None:
                QtWidgets.QVBoxLayout(tab).addWidget(empty_state(text))
        self.statusBar().showMessage("Ready")

    def show_about(self) -> None:
        import torch  # imported here so that painting the window never waits for torch

        QtWidgets.QMessageBox.about(
            self,
            "About PyTorchGUI",
            f"<h3>PyTorchGUI {__version__}</h3>"
            "<p>Design, train and evaluate neural networks without writing code.</p>"
            f"<p>PyTorch {torch.__version__}<br>Qt {QtCore.QT_VERSION_STR}, "
            f"PyQt {QtCore.PYQT_VERSION_STR}</p>",
        )

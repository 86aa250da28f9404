"""Start-up of the desktop application."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PyQt5 import QtWidgets

    from pytorchgui.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("PyTorchGUI")
    app.setOrganizationName("PyTorchGUI")
    window = MainWindow()
    window.show()
    return app.exec_()

"""Start-up of the desktop application."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PyQt5 import QtCore, QtWidgets

    from pytorchgui.gui.dialogs import install_exception_hook
    from pytorchgui.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("PyTorchGUI")
    app.setOrganizationName("PyTorchGUI")
    install_exception_hook()
    window = MainWindow(lazy=True, example_data=True)
    window.show()
    QtCore.QTimer.singleShot(0, window.offer_recovery)
    return app.exec_()

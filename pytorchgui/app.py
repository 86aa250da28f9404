"""Start-up of the desktop application."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PyQt5 import QtCore, QtWidgets

    from pytorchgui.gui.dialogs import install_exception_hook
    from pytorchgui.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv if argv is None else argv)
    set_up(app)
    install_exception_hook()
    window = MainWindow(lazy=True, example_data=True)
    window.show()
    QtCore.QTimer.singleShot(0, window.offer_recovery)
    return app.exec_()


def set_up(app) -> None:
    """The application's names (where Qt keeps its settings) and its icon (every window's
    and dialog's, the taskbar's)."""
    from pytorchgui.gui.widgets import app_icon

    app.setApplicationName("PyTorchGUI")
    app.setOrganizationName("PyTorchGUI")
    app.setWindowIcon(app_icon())

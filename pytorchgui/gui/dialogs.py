"""Error dialogs, the question about unsaved changes, and the hook for unexpected errors.

Errors a user can meet (PyTorchGUIError) are shown with core's message and no traceback.
Anything else is a bug: the global hook logs it with its traceback to the appdirs log
folder and shows a dialog whose details hold the traceback, so the app keeps running and
the user can report it.
"""
from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback

from PyQt5 import QtWidgets

from pytorchgui import paths

log = logging.getLogger("pytorchgui")


def show_error(parent: QtWidgets.QWidget | None, title: str, message: str, details: str = "") -> QtWidgets.QMessageBox:
    """A window-modal error box that does not block the caller (tests read it, users close it)."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Critical, title, message, QtWidgets.QMessageBox.Ok, parent)
    box.setObjectName("errorBox")
    if details:
        box.setDetailedText(details)
    box.open()
    return box


def ask_save_changes(parent: QtWidgets.QWidget, name: str) -> QtWidgets.QMessageBox.StandardButton:
    """Save, Discard or Cancel for a network with unsaved changes."""
    return QtWidgets.QMessageBox.warning(
        parent,
        "Unsaved changes",
        f"The network “{name}” has changes that are not saved.\nSave them first?",
        QtWidgets.QMessageBox.Save | QtWidgets.QMessageBox.Discard | QtWidgets.QMessageBox.Cancel,
        QtWidgets.QMessageBox.Save,
    )


def log_file() -> str:
    return str(paths.log_dir() / "pytorchgui.log")


def configure_logging() -> None:
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in log.handlers):
        return
    handler = logging.handlers.RotatingFileHandler(log_file(), maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def handle_unexpected_error(error_type, error, trace) -> None:
    """sys.excepthook for the app: log, then tell the user instead of dying silently."""
    if issubclass(error_type, KeyboardInterrupt):
        sys.__excepthook__(error_type, error, trace)
        return
    details = "".join(traceback.format_exception(error_type, error, trace))
    configure_logging()
    log.error("unexpected error\n%s", details)
    parent = QtWidgets.QApplication.activeWindow()
    show_error(
        parent,
        "Unexpected error",
        f"Something went wrong inside PyTorchGUI: {error_type.__name__}: {error}\n\n"
        f"Your network is unchanged. The details were written to {log_file()}; "
        "please include them when you report this.",
        details,
    )


def install_exception_hook() -> None:
    configure_logging()
    sys.excepthook = handle_unexpected_error

"""Error dialogs, the question about unsaved changes, and the hook for unexpected errors.

Errors a user can meet (PyTorchGUIError) are shown with core's message and no traceback.
Anything else is a bug: the global hook logs it with its traceback to the appdirs log
folder and shows a dialog whose details hold the traceback, so the app keeps running and
the user can report it.
"""
from __future__ import annotations

import sys

from PyQt5 import QtWidgets

from pytorchgui.bug_log import configure_logging, log_bug, log_file

_unparented: list[QtWidgets.QMessageBox] = []  # boxes with no window to hold them, kept until closed


def show_error(parent: QtWidgets.QWidget | None, title: str, message: str, details: str = "",
               icon: QtWidgets.QMessageBox.Icon = QtWidgets.QMessageBox.Critical) -> QtWidgets.QMessageBox:
    """A window-modal error box that does not block the caller (tests read it, users close it).
    With no parent, the app's main window holds it (or, with none open, a module list until
    it is closed): a box nobody holds would be collected before the user sees it. `icon`:
    Warning for advice after an action that did what it could."""
    parent = parent or QtWidgets.QApplication.activeWindow() or _main_window()
    box = QtWidgets.QMessageBox(icon, title, message, QtWidgets.QMessageBox.Ok, parent)
    if parent is None:
        _unparented.append(box)
        box.finished.connect(lambda: _unparented.remove(box))
    box.setObjectName("errorBox")
    if details:
        box.setDetailedText(details)
    box.open()
    return box


def _main_window() -> QtWidgets.QMainWindow | None:
    return next((widget for widget in QtWidgets.QApplication.topLevelWidgets()
                 if isinstance(widget, QtWidgets.QMainWindow) and widget.isVisible()), None)


def ask_layout(parent: QtWidgets.QWidget, path, shape) -> str | None:
    """"nchw" or "nhwc" for an image array whose shape cannot tell; None if cancelled."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Question, "Which axis holds the colours?",
                                f"{path} holds images of shape {list(shape)}: the second axis ({shape[1]}) or the "
                                f"last ({shape[-1]}) could be the channels.", parent=parent)
    first = box.addButton(f"Channels first: {shape[1]} x {shape[2]} x {shape[3]}", QtWidgets.QMessageBox.AcceptRole)
    last = box.addButton(f"Channels last: {shape[3]} x {shape[1]} x {shape[2]}", QtWidgets.QMessageBox.AcceptRole)
    box.addButton(QtWidgets.QMessageBox.Cancel)
    box.exec_()
    return {first: "nchw", last: "nhwc"}.get(box.clickedButton())


def ask_mismatched_export(parent: QtWidgets.QWidget, reason: str, run_name: str) -> str | None:
    """"run" (export the run's own network with its weights), "edited" (the edited network
    without weights) or None (cancel), after an export found the weights no longer fit."""
    reason = reason.rstrip(".")
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, "The weights are of another network",
                                f"{reason[:1].upper()}{reason[1:]}.\n\nExport the network as run {run_name} trained "
                                "it, with its weights, or the network as edited, without weights?", parent=parent)
    run = box.addButton("Export the run's network", QtWidgets.QMessageBox.AcceptRole)
    edited = box.addButton("Export the edited one, without weights", QtWidgets.QMessageBox.AcceptRole)
    box.addButton(QtWidgets.QMessageBox.Cancel)
    box.setDefaultButton(run)
    box.exec_()
    return {run: "run", edited: "edited"}.get(box.clickedButton())


def ask_to_train_frozen_at_random(parent: QtWidgets.QWidget, warning: str) -> bool:
    """Whether to train although frozen nodes hold random weights (`warning` says which,
    and how to give them trained ones); Cancel is the default."""
    found, _, remedy = warning.partition(". ")  # what is wrong, then what to do
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Warning, "Frozen layers without trained weights",
                                f"{found[:1].upper()}{found[1:]}.", parent=parent)
    box.setInformativeText(f"{remedy}." if remedy else "")
    # a paragraph, not a column of three words a line (the icon is a QLabel too: named, not all labels)
    box.setStyleSheet("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 460px; }")
    box.setObjectName("frozenAtRandomBox")
    train = box.addButton("Train anyway", QtWidgets.QMessageBox.AcceptRole)
    cancel = box.addButton(QtWidgets.QMessageBox.Cancel)
    box.setDefaultButton(cancel)
    box.exec_()
    return box.clickedButton() is train


def ask_save_changes(parent: QtWidgets.QWidget, name: str) -> QtWidgets.QMessageBox.StandardButton:
    """Save, Discard or Cancel for a network with unsaved changes."""
    return QtWidgets.QMessageBox.warning(
        parent,
        "Unsaved changes",
        f"The network “{name}” has changes that are not saved.\nSave them first?",
        QtWidgets.QMessageBox.Save | QtWidgets.QMessageBox.Discard | QtWidgets.QMessageBox.Cancel,
        QtWidgets.QMessageBox.Save,
    )


def handle_unexpected_error(error_type, error, trace) -> None:
    """sys.excepthook for the app: log, then tell the user instead of dying silently."""
    if issubclass(error_type, KeyboardInterrupt):
        sys.__excepthook__(error_type, error, trace)
        return
    details = log_bug(error.with_traceback(trace) if error is not None else error_type())
    show_error(
        None,
        "Unexpected error",
        f"Something went wrong inside PyTorchGUI: {error_type.__name__}: {error}\n\n"
        f"Your network is unchanged. The details were written to {log_file()}; "
        "please include them when you report this.",
        details,
    )


def install_exception_hook() -> None:
    configure_logging()
    sys.excepthook = handle_unexpected_error

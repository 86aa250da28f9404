"""Run a core function on a QThread and hear back through signals.

Long work lives in core as a plain function (or generator) that knows nothing of Qt;
this thin wrapper moves it off the GUI thread so the window never freezes.
"""
from __future__ import annotations

from typing import Any, Callable

from PyQt5 import QtCore


class FunctionWorker(QtCore.QObject):
    finished = QtCore.pyqtSignal(object)
    failed = QtCore.pyqtSignal(object)

    def __init__(self, function: Callable[[], Any]):
        super().__init__()
        self.function = function

    def run(self) -> None:
        try:
            result = self.function()
        except Exception as error:  # noqa: BLE001 - reported to the GUI thread, which decides
            self.failed.emit(error)
        else:
            self.finished.emit(result)


def run_in_thread(owner: QtCore.QObject, function: Callable[[], Any], on_finished: Callable[[Any], None],
                  on_failed: Callable[[Exception], None]) -> QtCore.QThread:
    """Start `function` on a new thread; the callbacks run on the GUI thread."""
    thread = QtCore.QThread(owner)
    worker = FunctionWorker(function)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(on_finished)
    worker.failed.connect(on_failed)
    worker.finished.connect(thread.quit)
    worker.failed.connect(thread.quit)
    thread.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.worker = worker  # keep the Python object alive as long as the thread
    thread.start()
    return thread

"""The one Qt adapter for long jobs (core/tasks.py): run a job on a QThread, hand its
reports to the GUI thread, and say how it ended.

The job is a plain core function `job(control)`. What it reports goes into a thread-safe
queue that a timer on the GUI thread drains every `interval_ms`: the GUI hears from a
job at a steady pace, never once per batch, however fast the job runs. When the job
returns (or raises), the last reports are delivered first, then `finished` (or `failed`).
"""
from __future__ import annotations

import collections
import sys
from typing import Any, Callable

from PyQt5 import QtCore

from pytorchgui.core.training.tasks import TaskControl


class _JobRunner(QtCore.QObject):
    """Lives on the worker thread; runs the job once."""

    returned = QtCore.pyqtSignal(object)
    raised = QtCore.pyqtSignal(object)

    def __init__(self, job: Callable[[TaskControl], Any], control: TaskControl):
        super().__init__()
        self.job, self.control = job, control

    def run(self) -> None:
        try:
            if "torch" in sys.modules:  # the GUI thread set torch's count to 1: jobs use every core
                from pytorchgui.core.training.devices import training_threads

                sys.modules["torch"].set_num_threads(training_threads())
            result = self.job(self.control)
        except Exception as error:  # noqa: BLE001 - reported to the GUI thread, which decides
            self.raised.emit(error)
        else:
            self.returned.emit(result)
        finally:
            # end the thread's event loop with the job, so that Task.wait() returns even
            # while the GUI thread, blocked in it, cannot handle the signal just sent
            QtCore.QThread.currentThread().quit()


class Task(QtCore.QObject):
    """A running job. Signals arrive on the GUI thread: `reported(list)` with the reports
    since the last tick, then `finished(result)` or `failed(error)`."""

    reported = QtCore.pyqtSignal(list)
    finished = QtCore.pyqtSignal(object)
    failed = QtCore.pyqtSignal(object)

    def __init__(self, owner: QtCore.QObject, job: Callable[[TaskControl], Any], interval_ms: int = 100):
        super().__init__(owner)
        self._queue: collections.deque = collections.deque()  # append/popleft are thread-safe
        self.control = TaskControl(report=self._queue.append)
        self.thread = QtCore.QThread(self)
        self._runner = _JobRunner(job, self.control)
        self._runner.moveToThread(self.thread)
        self.thread.started.connect(self._runner.run)
        self._runner.returned.connect(self._returned)
        self._runner.raised.connect(self._raised)
        self.timer = QtCore.QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.deliver)
        self.running = False

    def start(self) -> "Task":
        self.running = True
        self.thread.start()
        self.timer.start()
        return self

    def deliver(self) -> None:
        """Emit the reports queued so far (the timer calls this; tests may too)."""
        events = []
        while self._queue:
            events.append(self._queue.popleft())
        if events:
            self.reported.emit(events)

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the job has returned (True), or `timeout_ms` has passed (False)."""
        return self.thread.wait() if timeout_ms is None else self.thread.wait(timeout_ms)

    def _end(self) -> None:
        self.timer.stop()
        self.thread.quit()
        self.thread.wait()
        self.deliver()
        self.running = False

    def _returned(self, result: Any) -> None:
        self._end()
        self.finished.emit(result)

    def _raised(self, error: Exception) -> None:
        self._end()
        self.failed.emit(error)


def run_in_thread(owner: QtCore.QObject, function: Callable[[], Any], on_finished: Callable[[Any], None],
                  on_failed: Callable[[Exception], None]) -> Task:
    """Start `function()` (a job that reports nothing) on its own thread; the callbacks run
    on the GUI thread."""
    task = Task(owner, lambda control: function())
    task.finished.connect(on_finished)
    task.failed.connect(on_failed)
    return task.start()


def keep_gui_thread_serial() -> None:
    """Make torch's work on the calling (GUI) thread single-threaded; call it once torch is
    imported, before the GUI thread uses torch.

    torch's CPU threads on Linux are OpenMP's, and every thread that runs a parallel op
    gets a pool of its own. Once the pools hold more threads than there are cores, libgomp
    stops its idle workers spinning between ops, so each op of a training step on a worker
    thread waits for a sleeping worker to wake: LeNet-5's step took 16.7 ms instead of
    9.4 ms on 2 cores (bench/bench_window_vs_cli.py: the Train tab ran at 0.75 of the CLI's
    speed). The GUI thread's own torch work (shape checks on the meta device, previews,
    one-sample predictions) is small; run serially, it creates no pool.
    """
    import torch

    torch.set_num_threads(1)
    torch.get_num_threads()  # torch fixes a thread's count at its first use: fix the GUI thread's at 1 now

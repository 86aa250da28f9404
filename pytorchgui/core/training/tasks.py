"""One protocol for every long job (training, evaluation, reading data), without Qt.

A job is a plain function that takes a `TaskControl`. Between two steps it calls
`control.checkpoint()`, which waits while the job is paused and raises `Cancelled` once it
is cancelled; it reports progress, partial results and log lines with `control.report`.
The GUI's adapter (gui/workers.py, in the style of Orange's TaskState and superqt's
GeneratorWorker) runs the function on a QThread and hands the reports to the GUI thread in
batches; the CLI passes a callback that prints. Nothing crosses threads but the reports
(through a thread-safe queue) and the flags below.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable


class Cancelled(Exception):
    """Raised by TaskControl.checkpoint() in the job once the user cancelled it."""


@dataclass(frozen=True)
class Progress:
    done: int
    total: int


@dataclass(frozen=True)
class LogEvent:
    """A line for the user's log."""

    message: str


class TaskControl:
    """Cancel and pause flags set from any thread, read by the job between its steps, and
    the channel the job reports through."""

    def __init__(self, report: Callable[[Any], None] | None = None):
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._report = report or (lambda event: None)
        self._lock = threading.Lock()
        self._changes: dict[str, Any] = {}

    def report(self, event: Any) -> None:
        self._report(event)

    def log(self, message: str) -> None:
        self._report(LogEvent(message))

    # -- flags, from any thread ---------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def unpause(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._cancel.set()
        self._running.set()

    def request_changes(self, values: dict[str, Any]) -> None:
        """Settings the job takes at its next step (a training run: the optimizer's
        hyper-parameters, changed while paused)."""
        with self._lock:
            self._changes.update(values)

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- in the job ------------------------------------------------------------------------
    def take_changes(self) -> dict[str, Any]:
        """The settings requested since the last call (empty when none)."""
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def checkpoint(self) -> None:
        """Wait while paused; raise Cancelled once stopped."""
        if not self._running.is_set():
            self._running.wait()
        if self._cancel.is_set():
            raise Cancelled()

"""The open network as a document: its file, its undo history, its autosave.

Every edit goes through `apply`, which runs the core operation on the network and, if it
changed anything, pushes an undo command holding the network before and after. Undo and
redo put a whole snapshot back (networks are small), so every kind of edit, and any
combination of them, undoes the same way. The undo stack's clean state is the saved
state: undoing back to it clears the modified marker.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from PyQt5 import QtCore, QtWidgets

from pytorchgui import paths, settings
from pytorchgui.core.training import network_format
from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.graph.network import Network

AUTOSAVE_INTERVAL_MS = 60_000
NEW_NETWORK_LOSS, NEW_NETWORK_OPTIMIZER = "CrossEntropyLoss", "Adam"


class SnapshotCommand(QtWidgets.QUndoCommand):
    """One undo step. Steps with the same merge key in a row become one (typing 128 in a
    field of the inspector is one change, not three)."""

    def __init__(self, text: str, network: Network, before: Network, after: Network, merge_key=None):
        super().__init__(text)
        self.network, self.before, self.after = network, before, after
        self.merge_key = merge_key
        self._done = True  # the operation ran before the command was pushed

    def id(self) -> int:
        return -1 if self.merge_key is None else 1

    def mergeWith(self, other: QtWidgets.QUndoCommand) -> bool:
        if not isinstance(other, SnapshotCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.network.replace_with(self.after)

    def undo(self) -> None:
        self.network.replace_with(self.before)


class NetworkDocument(QtCore.QObject):
    """The network being edited, where it is saved, and whether it has changed."""

    path_changed = QtCore.pyqtSignal()
    modified_changed = QtCore.pyqtSignal(bool)

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.network = Network()
        self.path: Path | None = None
        self.undo_stack = QtWidgets.QUndoStack(self)
        # A bound method, not a lambda: PyQt disconnects it when the document is destroyed,
        # and the undo stack emits cleanChanged while it is destroyed with it.
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.undo_stack.indexChanged.connect(self._index_changed)
        self._was_modified = False
        self._recovered = False  # content from an autosave: modified though nothing is on the stack
        self.example_name = ""  # the shipped example (or imported model) this untitled network started from
        self.untitled_kind = "example"
        self._autosaved_index = 0
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    def _clean_changed(self, clean: bool) -> None:
        if clean and not self._recovered and self._autosaved_index != self.undo_stack.index():
            # undone back to the saved state: an autosave of the changes would be offered
            # after a crash and bring back what the user undid
            discard_autosave()
            self._autosaved_index = self.undo_stack.index()
        self._announce_modified()

    def _index_changed(self, _index: int) -> None:
        # a view-only step (collapsing groups) after an edit, or an edit after one, leaves
        # the stack unclean either way: cleanChanged alone would miss the change
        if self.is_modified != self._was_modified:
            self._announce_modified()

    def _announce_modified(self) -> None:
        self._was_modified = self.is_modified
        self.modified_changed.emit(self._was_modified)

    # -- state -----------------------------------------------------------------------
    @property
    def is_modified(self) -> bool:
        """Changed since saved: a step between the saved state and now that edits the
        network. Steps that change only the view (collapsing groups, `view_only`) are
        undoable but leave nothing to save."""
        if self._recovered:
            return True
        stack = self.undo_stack
        if stack.isClean():
            return False
        clean = stack.cleanIndex()
        if clean < 0:  # the saved state was undone past and cannot be reached again
            return True
        low, high = sorted((clean, stack.index()))
        return any(not getattr(stack.command(index), "view_only", False) for index in range(low, high))

    @property
    def file_name(self) -> str:
        """The name Save As suggests: the file's, or the example's it started from."""
        return self.path.name if self.path else self.example_name or "untitled.json"

    @property
    def display_name(self) -> str:
        if self.path:
            return self.path.name
        return f"{self.example_name} ({self.untitled_kind})" if self.example_name else "untitled.json"

    # -- editing ---------------------------------------------------------------------
    def apply(self, text: str, operation: Callable[[], object], merge_key=None) -> bool:
        """Run `operation` (which edits self.network) as one undoable step (merged into the
        previous one when both carry the same merge_key).

        Core errors propagate unchanged; a failed operation leaves the network as it was
        (each core operation validates before it changes anything, and a partial change
        is rolled back here). Returns whether anything changed.
        """
        before = self.network.copy()
        try:
            operation()
        except BaseException:
            if self.network != before:
                self.network.replace_with(before)
            raise
        if self.network == before:
            return False
        self.undo_stack.push(SnapshotCommand(text, self.network, before, self.network.copy(), merge_key))
        return True

    # -- files -----------------------------------------------------------------------
    def _take(self, network: Network, path: Path | None, recovered: bool = False) -> None:
        self.network.replace_with(network)
        self.path = path
        self.example_name = ""
        self._recovered = recovered
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._autosaved_index = 0
        self.path_changed.emit()
        self._announce_modified()

    def new(self) -> None:
        """An empty network that trains once it has layers: a classifier's loss and Adam, as
        every tutorial starts (both are edited in the inspector)."""
        network = Network()
        network.set_loss(NEW_NETWORK_LOSS)
        network.set_optimizer(NEW_NETWORK_OPTIMIZER)
        self._take(network, None)

    def open(self, path: str | Path) -> None:
        """Load a file; raises NetworkFormatError and keeps the current network if it fails.
        A shipped example opens as an untitled copy (see open_example)."""
        path = Path(path)
        if paths.is_example_network(path):
            self.open_example(path)
            return
        network = network_format.load(path, self.network.catalog)
        self._take(network, path)
        settings.add_recent_file(path)

    def open_example(self, path: Path) -> None:
        """An example opens as an untitled copy, so Save never overwrites the shipped file."""
        self.open_untitled(network_format.load(path, self.network.catalog), path.name, "example")

    def open_untitled(self, network: Network, name: str, kind: str) -> None:
        """A network that has no file yet (an example's copy, an imported model); Save As
        suggests `name`."""
        self._take(network, None)
        self.example_name, self.untitled_kind = name, kind
        self.path_changed.emit()

    def save(self, path: str | Path | None = None) -> None:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file name: use save as")
        network_format.save(self.network, target)
        self.path = target
        self.example_name = ""
        self._recovered = False
        self.undo_stack.setClean()
        self.path_changed.emit()
        self._announce_modified()
        settings.add_recent_file(target)
        discard_autosave()

    # -- autosave --------------------------------------------------------------------
    def autosave(self) -> bool:
        """Write the network to the autosave folder if it changed since the last time."""
        if not self.is_modified or self.undo_stack.index() == self._autosaved_index and not self._recovered:
            return False
        folder = paths.autosave_dir()
        network_format.save(self.network, folder / "network.json")
        atomic_write_text(folder / "about.json", json.dumps({
            "original_path": str(self.path) if self.path else None,
            "saved_at": time.time(),
        }))
        self._autosaved_index = self.undo_stack.index()
        return True

    def recover(self) -> None:
        """Open the autosaved network as a modified document."""
        network = network_format.load(paths.autosave_dir() / "network.json", self.network.catalog)
        about = autosave_info() or {}
        original = about.get("original_path")
        self._take(network, Path(original) if original else None, recovered=True)


def autosave_info() -> dict | None:
    """What the autosave folder holds, or None when there is nothing to recover."""
    folder = paths.autosave_dir()
    if not (folder / "network.json").is_file():
        return None
    try:
        about = json.loads((folder / "about.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        about = {}
    return about if isinstance(about, dict) else {}


def discard_autosave() -> None:
    for name in ("network.json", "about.json"):
        try:
            (paths.autosave_dir() / name).unlink()
        except FileNotFoundError:
            pass

"""The open work as one evented model: the network document, the datasets and their roles,
the last training run and the weights chosen for evaluation.

In the style of napari's LayerList: the tabs observe the workspace and write to it; no
tab holds a reference to another. Every change is announced to subscribers with a
`WorkspaceEvent` (kind: dataset_added, dataset_removed, dataset_changed, training_started,
training_finished, weights_chosen, document_changed). The network itself announces its
own edits (Network.subscribe).

The document is the GUI's (it owns the undo stack), seen here only through the
`Document` protocol, so the workspace needs no Qt.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from pytorchgui.core.errors import DatasetError
from pytorchgui.core.data.fit import fit_to_data
from pytorchgui.core.graph.network import Network

ROLES = ("train", "test")


class Document(Protocol):
    """The open network file: what the workspace needs of the GUI's NetworkDocument."""

    network: Network
    path: Path | None

    @property
    def display_name(self) -> str: ...

    @property
    def is_modified(self) -> bool: ...

    def apply(self, text: str, operation: Callable[[], object]) -> bool: ...


@dataclass(eq=False)
class DatasetEntry:
    """An imported dataset and what the user decided about it: its role (training or test
    set) and, for a training set, the share kept for validation and the split's seed."""

    dataset: Any  # TensorDataset or StreamingImageFolder
    role: str = "train"
    validation_percent: float = 0.0
    split_seed: int = 0

    @property
    def name(self) -> str:
        return self.dataset.name

    def split(self):
        """(training part, validation part or None) by the entry's split."""
        return self.dataset.split(self.validation_percent, self.split_seed)


@dataclass(frozen=True)
class WorkspaceEvent:
    kind: str
    item: Any = None


class Workspace:
    def __init__(self, document: Document):
        self.document = document
        self.datasets: list[DatasetEntry] = []
        self.training_running = False
        self.last_result = None  # TrainingResult of the last run in this session
        self.evaluation_weights: Any = None  # "latest", a run folder Path, or a weights file Path
        self.augmentation = ""  # the Train tab's augmentation pipeline, as text: the Data tab previews it
        self._subscribers: list[Callable[[WorkspaceEvent], None]] = []

    @property
    def network(self) -> Network:
        return self.document.network

    # -- observing -------------------------------------------------------------------
    def subscribe(self, callback: Callable[[WorkspaceEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` after every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _announce(self, kind: str, item: Any = None) -> None:
        event = WorkspaceEvent(kind, item)
        for callback in list(self._subscribers):
            callback(event)

    # -- datasets --------------------------------------------------------------------
    def add_dataset(self, dataset, role: str = "train") -> DatasetEntry:
        entry = DatasetEntry(dataset, self._checked_role(role))
        self.datasets.append(entry)
        self._announce("dataset_added", entry)
        return entry

    def remove_dataset(self, entry: DatasetEntry) -> None:
        self.datasets.remove(entry)
        self._announce("dataset_removed", entry)

    def set_role(self, entry: DatasetEntry, role: str) -> None:
        entry.role = self._checked_role(role)
        self._announce("dataset_changed", entry)

    def set_split(self, entry: DatasetEntry, percent: float, seed: int) -> None:
        entry.validation_percent, entry.split_seed = float(percent), int(seed)
        self._announce("dataset_changed", entry)

    @staticmethod
    def _checked_role(role: str) -> str:
        if role not in ROLES:
            raise DatasetError(f"a dataset is a training or a test set, not {role!r}")
        return role

    def training_sets(self) -> list[DatasetEntry]:
        return [entry for entry in self.datasets if entry.role == "train"]

    def test_sets(self) -> list[DatasetEntry]:
        return [entry for entry in self.datasets if entry.role == "test"]

    # -- the network and the data ------------------------------------------------------
    def fit_network(self, entry: DatasetEntry) -> list[str]:
        """Fit the open network to `entry`'s data as one undoable edit; what changed, in words."""
        changes: list[str] = []
        dataset = entry.dataset

        def fit() -> None:
            changes.extend(fit_to_data(self.network, dataset))

        self.document.apply(f"Fit to {dataset.name}", fit)
        return changes

    # -- training and evaluation ---------------------------------------------------------
    def set_training_running(self, running: bool) -> None:
        self.training_running = running
        self._announce("training_started" if running else "training_stopped")

    def set_training_result(self, result) -> None:
        self.last_result = result
        self.training_running = False
        self._announce("training_finished", result)

    def set_augmentation(self, text: str) -> None:
        if text != self.augmentation:
            self.augmentation = text
            self._announce("augmentation_changed", text)

    def choose_evaluation_weights(self, choice: Any) -> None:
        if choice != self.evaluation_weights:
            self.evaluation_weights = choice
            self._announce("weights_chosen", choice)

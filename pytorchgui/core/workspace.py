"""The open work as one evented model: the network document, the datasets and their roles,
the draft training settings and the last training run.

In the style of napari's evented models: the tabs observe the workspace and write to it; no
tab holds a reference to another. Every change is announced to subscribers as a
`WorkspaceEvent(kind, item)`, whose kind is a `Change`:

- DATASET_ADDED: a dataset was imported; item: its DatasetEntry.
- DATASET_REMOVED: a dataset was closed; item: its DatasetEntry.
- DATASET_CHANGED: a dataset's role or validation split changed; item: its DatasetEntry.
- TRAINING_SET_CHOSEN: the user chose the training set the next run trains on; item: its
  DatasetEntry. (An import, a role change or a removal may change the choice too, by the
  rules of `chosen_training_set`; they announce their DATASET_ event only.)
- NETWORK_FITTED: the network was fitted to a dataset; item: a NetworkFit (the entry, the changes in words).
- TRAINING_STARTED: a run began; item: None.
- TRAINING_STOPPED: a run ended without a result (it failed); item: None.
- TRAINING_FINISHED: a run ended with a result; item: the TrainingResult.
- TRAINING_CONFIG_CHANGED: the draft training settings changed; item: the new TrainingConfig.
- TRIED_INPUT_CHANGED: the Evaluation tab's Try it predicted for a new input (a drawing,
  an image, a text, a sample); item: the TriedInput, which the Inside view can look at.

The network itself announces its own edits (Network.subscribe).

The document is the GUI's (it owns the undo stack), seen here only through the
`Document` protocol, so the workspace needs no Qt.

What trained weights can be measured on is the workspace's to say too
(`evaluation_sets`, `default_evaluation_set`): its test sets, the validation split of each
training set (the run's own split first) and the whole training sets, each with the reason
it does not fit the weights, if it does not. So is what can validate a run on the chosen
training set (`validation_problem`, `default_validation`): the test sets that match it.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from pytorchgui.core.errors import DatasetError
from pytorchgui.core.data.fit import fit_to_data, unfit_reason
from pytorchgui.core.graph.network import Network
from pytorchgui.core.training.options import TrainingConfig

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


@dataclass(frozen=True, eq=False)
class EvaluationSet:
    """Data the Evaluation tab can measure weights on: a test set ("test"), the validation
    split of a training set ("validation": `percent` and `seed`, the run's own when
    `runs_own`) or a whole training set, training rows included ("all"). `problem` says
    why it does not fit the weights (None: it fits)."""

    entry: DatasetEntry
    part: str
    percent: float = 0.0
    seed: int = 0
    runs_own: bool = False
    problem: str | None = None

    @property
    def name(self) -> str:
        if self.part != "validation":
            return self.entry.name
        whose = ", the run's" if self.runs_own else ""
        return f"{self.entry.name} (validation, {self.percent:g} %{whose})"

    @property
    def label(self) -> str:
        """The name and the role: [test], [train] for a split, [train, every row] for a whole training set."""
        role = {"test": "test", "validation": "train"}.get(self.part, "train, every row")
        return f"{self.name} [{role}]"

    def dataset(self):
        """The samples: the set, or its validation rows drawn again by the split's percent and seed."""
        if self.part != "validation":
            return self.entry.dataset
        return self.entry.dataset.split(self.percent, self.seed)[1]


class Change(enum.Enum):
    """What a WorkspaceEvent announces (the module docstring says what each carries)."""

    DATASET_ADDED = "dataset_added"
    DATASET_REMOVED = "dataset_removed"
    DATASET_CHANGED = "dataset_changed"
    TRAINING_SET_CHOSEN = "training_set_chosen"
    NETWORK_FITTED = "network_fitted"
    TRAINING_STARTED = "training_started"
    TRAINING_STOPPED = "training_stopped"
    TRAINING_FINISHED = "training_finished"
    TRAINING_CONFIG_CHANGED = "training_config_changed"
    TRIED_INPUT_CHANGED = "tried_input_changed"


# a subscriber that lists the datasets redraws on any of these
DATASET_CHANGES = frozenset({Change.DATASET_ADDED, Change.DATASET_REMOVED, Change.DATASET_CHANGED})


@dataclass(frozen=True)
class TriedInput:
    """The input Try it last predicted for: one sample as the network's data gives it
    (uint8 pixels [C, H, W] or token ids [T]), the normalisation it was measured with, and
    what it is, in words ("a drawing", "sample 4 of Shapes (test)")."""

    sample: Any
    normalization: Any
    caption: str


@dataclass(frozen=True)
class NetworkFit:
    """What fitting the network to a dataset changed, in words (the loss a regression
    target gets, and why, among them), for the Train tab's log."""

    entry: DatasetEntry
    changes: tuple[str, ...]
    unfit: str = ""  # why the network still cannot take the data, and what to start from


@dataclass(frozen=True)
class WorkspaceEvent:
    """One change of the workspace: what changed (compare `kind` with `Change` members) and
    the object it concerns."""

    kind: Change
    item: Any = None


class Workspace:
    def __init__(self, document: Document):
        self.document = document
        self.datasets: list[DatasetEntry] = []
        self._chosen_training: DatasetEntry | None = None
        # (entry, training vocabulary) -> the entry's text read again with that vocabulary
        self._read_with_vocabulary: dict[tuple[DatasetEntry, Any], Any] = {}
        self.training_running = False
        self.last_result = None  # TrainingResult of the last run in this session
        self.tried_input: TriedInput | None = None  # what Try it last predicted for
        # the settings the next run starts with, as the Train tab's form shows them (not yet
        # checked: a field the user is typing keeps its last valid value here)
        self.training_config = TrainingConfig()
        self._subscribers: list[Callable[[WorkspaceEvent], None]] = []

    @property
    def network(self) -> Network:
        return self.document.network

    # -- observing -------------------------------------------------------------------
    def subscribe(self, callback: Callable[[WorkspaceEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` after every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _announce(self, kind: Change, item: Any = None) -> None:
        event = WorkspaceEvent(kind, item)
        for callback in list(self._subscribers):
            callback(event)

    def set_tried_input(self, tried: TriedInput) -> None:
        """Try it predicted for `tried`; announces TRIED_INPUT_CHANGED."""
        self.tried_input = tried
        self._announce(Change.TRIED_INPUT_CHANGED, tried)

    # -- datasets --------------------------------------------------------------------
    def add_dataset(self, dataset, role: str = "train") -> DatasetEntry:
        """Add an imported dataset in `role`; announces DATASET_ADDED with its entry."""
        entry = DatasetEntry(dataset, self._checked_role(role))
        self.datasets.append(entry)
        if entry.role == "train":
            self._chosen_training = entry  # imported to be trained on, not the example data
        self._announce(Change.DATASET_ADDED, entry)
        return entry

    def remove_dataset(self, entry: DatasetEntry) -> None:
        """Close a dataset; announces DATASET_REMOVED with its entry."""
        self.datasets.remove(entry)
        self._read_with_vocabulary = {key: value for key, value in self._read_with_vocabulary.items()
                                      if key[0] is not entry}
        self._announce(Change.DATASET_REMOVED, entry)

    def set_role(self, entry: DatasetEntry, role: str) -> None:
        """Make `entry` a training or a test set; announces DATASET_CHANGED with it."""
        entry.role = self._checked_role(role)
        self._announce(Change.DATASET_CHANGED, entry)

    def set_split(self, entry: DatasetEntry, percent: float, seed: int) -> None:
        """Keep `percent` of `entry` for validation, split by `seed`; announces DATASET_CHANGED with it."""
        entry.validation_percent, entry.split_seed = float(percent), int(seed)
        self._announce(Change.DATASET_CHANGED, entry)

    @staticmethod
    def _checked_role(role: str) -> str:
        if role not in ROLES:
            raise DatasetError(f"a dataset is a training or a test set, not {role!r}")
        return role

    def training_sets(self) -> list[DatasetEntry]:
        return [entry for entry in self.datasets if entry.role == "train"]

    def test_sets(self) -> list[DatasetEntry]:
        return [entry for entry in self.datasets if entry.role == "test"]

    @property
    def chosen_training_set(self) -> DatasetEntry | None:
        """The training set the next run trains on: the user's choice, else the training set
        imported last; when it is closed or made a test set, the last training set left."""
        if self._chosen_training is None or self._chosen_training.role != "train" \
                or self._chosen_training not in self.datasets:
            left = self.training_sets()
            self._chosen_training = left[-1] if left else None
        return self._chosen_training

    def choose_training_set(self, entry: DatasetEntry) -> None:
        """Train the next run on `entry`; announces TRAINING_SET_CHOSEN with it when it is a
        new choice."""
        if entry.role != "train" or entry not in self.datasets:
            raise DatasetError(f"{entry.name!r} is a test set: make it a training set to train on it")
        if entry is not self.chosen_training_set:
            self._chosen_training = entry
            self._announce(Change.TRAINING_SET_CHOSEN, entry)

    # -- text: one vocabulary, the training set's ----------------------------------------
    def reads_with_training_vocabulary(self, entry: DatasetEntry) -> bool:
        """Whether `entry` is a test set of text tokenised with a vocabulary of its own, which
        a run replaces with the chosen training set's (the trainer reads it again, see
        sequences.with_tokenizer): what it holds now is not what the network sees."""
        own, training = getattr(entry.dataset, "tokenizer", None), self._training_tokenizer()
        return entry.role == "test" and own is not None and training is not None and own != training

    def as_training_reads(self, entry: DatasetEntry, read_again: bool = True):
        """`entry`'s dataset as a run reads it: its text with the chosen training set's
        vocabulary. The first call for a vocabulary reads the source again (a large file
        takes seconds: call it off the GUI thread), or returns None with read_again=False;
        later ones return that reading."""
        if not self.reads_with_training_vocabulary(entry):
            return entry.dataset
        key = (entry, self._training_tokenizer())
        if key not in self._read_with_vocabulary:
            if not read_again:
                return None
            from pytorchgui.core.data.sequences import with_tokenizer  # torch: not before the window paints

            self._read_with_vocabulary[key] = with_tokenizer(entry.dataset, key[1])
        return self._read_with_vocabulary[key]

    def _training_tokenizer(self):
        chosen = self.chosen_training_set
        return getattr(chosen.dataset, "tokenizer", None) if chosen is not None else None

    # -- the network and the data ------------------------------------------------------
    def fit_network(self, entry: DatasetEntry) -> NetworkFit:
        """Fit the open network to `entry`'s data as one undoable edit: what changed, in
        words, and what still does not fit. Announces NETWORK_FITTED with it; a training
        set becomes the chosen one."""
        changes: list[str] = []
        # a text test set as runs read it: with the training set's vocabulary, not its own
        # (fitted to its own 566 tokens, the Embedding could not take the training set's 1,312)
        dataset = self.as_training_reads(entry)

        if entry.role == "train":  # fitted to be trained on: the next run does (not the set imported last)
            self.choose_training_set(entry)

        def fit() -> None:
            changes.extend(fit_to_data(self.network, dataset))

        self.document.apply(f"Fit to {dataset.name}", fit)
        fitted = NetworkFit(entry, tuple(changes), unfit_reason(self.network, dataset))
        self._announce(Change.NETWORK_FITTED, fitted)
        return fitted

    # -- validation --------------------------------------------------------------------------
    def validation_problem(self, candidate: DatasetEntry) -> str | None:
        """Why the test set `candidate` cannot validate a run on the chosen training set:
        its samples, target or classes are not the training set's (the check the
        Evaluation tab makes of trained weights); None when it can."""
        training = self.chosen_training_set
        if training is None:
            return None
        from pytorchgui.core.data.matching import ExpectedData  # torch: not before the window paints

        expected = ExpectedData.of_training_set(
            training.dataset, f"choose a test set like {training.name} under Validation, or a split of the training set")
        # text is validated as the run reads it: with the training set's vocabulary
        return expected.problem(self.as_training_reads(candidate, read_again=False) or candidate.dataset)

    def default_validation(self) -> DatasetEntry | str:
        """What a run on the chosen training set validates on unless the user chooses: the
        test set imported last that fits it, else "split" (its validation split)."""
        fitting = [entry for entry in self.test_sets() if self.validation_problem(entry) is None]
        return fitting[-1] if fitting else "split"

    # -- evaluation ------------------------------------------------------------------------
    def evaluation_sets(self, trained=None) -> list[EvaluationSet]:
        """The data `trained` (a TrainedModel, or None when there are no weights yet) can be
        measured on, test sets first; each set's problem says why it does not fit."""
        recorded = (trained.data.get("validation_split") if trained is not None else None) or {}
        sets = [EvaluationSet(entry, "test") for entry in self.test_sets()]
        for entry in self.training_sets():
            splits = []
            if recorded.get("whole") == entry.name and recorded.get("samples") == len(entry.dataset):
                splits.append((float(recorded["percent"]), int(recorded["seed"]), True))
            current = (entry.validation_percent, entry.split_seed, False)
            if entry.validation_percent and not any(split[:2] == current[:2] for split in splits):
                splits.append(current)
            sets += [EvaluationSet(entry, "validation", *split) for split in splits]
        sets += [EvaluationSet(entry, "all") for entry in self.training_sets()]
        if trained is None:
            return sets
        return [dataclasses.replace(choice, problem=trained.data_problem(choice.entry.dataset)) for choice in sets]

    @staticmethod
    def default_evaluation_set(sets: list[EvaluationSet], trained=None) -> EvaluationSet | None:
        """What the weights are measured on unless the user chooses: the run's own test
        set, another test set that fits, the run's validation split, another split that
        fits, a whole training set that fits; the first set when none fits."""
        validated_on = trained.data.get("validation_set") if trained is not None else None
        fitting = [choice for choice in sets if choice.problem is None]
        preferences = (lambda c: c.part == "test" and c.name == validated_on, lambda c: c.part == "test",
                       lambda c: c.runs_own, lambda c: c.part == "validation", lambda c: True)
        for preferred in preferences:
            found = next((choice for choice in fitting if preferred(choice)), None)
            if found is not None:
                return found
        return sets[0] if sets else None

    # -- training ------------------------------------------------------------------------
    def set_training_config(self, config: TrainingConfig) -> None:
        """Make `config` the draft settings of the next run; announces TRAINING_CONFIG_CHANGED
        with it when it differs from the draft (the Train tab's form shows it, the Data tab
        previews its augmentation)."""
        if config != self.training_config:
            self.training_config = config
            self._announce(Change.TRAINING_CONFIG_CHANGED, config)

    def set_training_running(self, running: bool) -> None:
        """A run began (announces TRAINING_STARTED) or ended without a result, having failed
        (announces TRAINING_STOPPED)."""
        self.training_running = running
        self._announce(Change.TRAINING_STARTED if running else Change.TRAINING_STOPPED)

    def set_training_result(self, result) -> None:
        """A run ended with `result`; announces TRAINING_FINISHED with it."""
        self.last_result = result
        self.training_running = False
        self._announce(Change.TRAINING_FINISHED, result)

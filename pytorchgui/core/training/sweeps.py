"""Hyperparameter sweeps on Optuna: a search space over training options and node
parameters, trials that are ordinary run folders, and a study kept in a store several
processes (or machines) can share.

An experiment folder holds:

    experiment.json   what is swept and how: data, base training options, space, objective,
                      sampler, pruner, the trial budget and the study's store
    network.json      the network every trial starts from
    study.db          the Optuna study (SQLite) unless --storage names another store
    trials/trial-NNNN one run folder per trial (trainable, evaluable, exportable like any run)
    trials.csv        one row per trial, rewritten after each one

The search itself is Optuna's (grid, random, TPE samplers; median and Hyperband pruners):
this module turns a space into `trial.suggest_*` calls, a trial's values into a network and
a TrainingConfig, and a Trainer's epochs into `trial.report`.

Parallel trials and restarts: each worker process takes its next trial under a lock file
in the experiment folder, so that workers together start exactly the budget's trials;
a trial whose process died (killed, power cut) is marked failed when the next worker
starts on the same host, or by Optuna's heartbeat (database stores) on another.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.errors import ParameterError, PyTorchGUIError, TrainingError, UnknownEntryError, first_line
from pytorchgui.core.graph.catalog import ParameterSpec
from pytorchgui.core.training.options import TrainingConfig, training_options
from pytorchgui.core.training.tasks import TaskControl
from pytorchgui.core.wording import counted

if TYPE_CHECKING:
    from pytorchgui.core.graph.network import Network

EXPERIMENT_FORMAT = "pytorchgui.experiment"
EXPERIMENT_VERSION = 1
# Where a trial runs, not what it learns: the sweep sets these per process (--jobs, --device).
MACHINE_OPTIONS = ("device", "workers", "threads")
OBJECTIVES = {"validation_accuracy": "maximize", "validation_loss": "minimize", "train_loss": "minimize",
              "train_accuracy": "maximize"}
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
# A database store's trials beat every HEARTBEAT seconds; one silent for GRACE seconds
# belongs to a process that died, and Optuna marks it failed.
HEARTBEAT_SECONDS, GRACE_SECONDS = 10, 40
# Failed trials do not spend the budget (a killed one is run again), so a space whose every
# trial fails would run forever: a worker stops after this many failures in a row.
FAILURES_IN_A_ROW = 5
PREFIXED_KINDS = ("optimizer", "loss", "schedule", "augment")


class SweepError(PyTorchGUIError):
    """A space, an experiment folder or a store that cannot be used; the message names it."""


class SweepInterrupted(Exception):
    """The sweep was asked to stop (Stop in the window, SIGTERM): the trial running then is
    marked failed (Optuna does so for an exception it does not catch), every finished trial
    stays. Not a PyTorchGUIError: the trials' own errors are caught, this one ends the worker."""


# -- the space -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dimension:
    """One swept value: where it goes (`kind`: option, optimizer, loss, schedule, augment,
    node; `target` and `parameter` name the place) and its range or choices."""

    name: str
    kind: str
    target: str
    parameter: str
    spec: ParameterSpec
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple = ()

    @property
    def is_int(self) -> bool:
        return self.spec.type == "int"

    def suggest(self, trial) -> Any:
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.is_int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self) -> list:
        """Every value a grid tries: the choices, or the range at its step."""
        if self.choices:
            return list(self.choices)
        if self.step is None:
            raise SweepError(f"space '{self.name}': a grid needs \"choices\" or a \"step\" for every range; give one, "
                             "or choose the tpe or random sampler")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        values = [self.low + index * self.step for index in range(count)]
        return [int(round(value)) for value in values] if self.is_int else [round(value, 12) for value in values]

    def describe(self) -> str:
        if self.choices:
            return f"{self.name} in {list(self.choices)}"
        scale = ", log" if self.log else f", step {self.step:g}" if self.step else ""
        return f"{self.name} from {self.low:g} to {self.high:g}{scale}"


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [dimension.name for dimension in self.dimensions]

    def grid(self) -> dict[str, list]:
        return {dimension.name: dimension.grid_values() for dimension in self.dimensions}

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())

    def suggest(self, trial) -> dict[str, Any]:
        return {dimension.name: dimension.suggest(trial) for dimension in self.dimensions}

    @classmethod
    def parse(cls, raw: Any, network: Network, config: TrainingConfig, where: str = "the space") -> "SearchSpace":
        """The space `raw` (SPACE.json's content) describes, every name and bound checked
        against the catalogue; SweepError naming the entry and what to write otherwise."""
        if not isinstance(raw, Mapping) or not raw:
            raise SweepError(f"{where} must be a JSON object mapping a name to a range, as "
                             '{"lr": {"low": 0.0001, "high": 0.1, "log": true}, "batch_size": {"choices": [64, 128]}}')
        return cls(tuple(_dimension(str(name), value, network, config, where) for name, value in raw.items()))

    def apply(self, values: Mapping[str, Any], network: Network, config: TrainingConfig
              ) -> tuple[Network, TrainingConfig]:
        """A copy of `network` and `config` with the trial's values in place; a node change
        re-fits the input sizes after it (conv2's in_channels follows conv1's out_channels)."""
        from pytorchgui.core.data.fit import fit_input_sizes  # fit loads shapes: imported on use

        network = network.copy()
        options: dict[str, Any] = {}
        schedule = dict(config.schedule_parameters)
        pipeline = config.pipeline() if any(d.kind == "augment" for d in self.dimensions) else None
        steps = list(pipeline.steps) if pipeline is not None else []
        nodes_changed = False
        for dimension in self.dimensions:
            value = values[dimension.name]
            if dimension.kind == "option":
                options[dimension.parameter] = value
            elif dimension.kind in ("optimizer", "loss"):
                choice = getattr(network, dimension.kind)
                parameters = {**choice.parameters, dimension.parameter: value}
                (network.set_optimizer if dimension.kind == "optimizer" else network.set_loss)(choice.type, parameters)
            elif dimension.kind == "schedule":
                schedule[dimension.parameter] = value
            elif dimension.kind == "augment":
                from pytorchgui.core.data.augmentation import Pipeline

                index = next(i for i, step in enumerate(steps) if step.operation.name == dimension.target)
                steps[index] = Pipeline.make_step(dimension.target, {**steps[index].values, dimension.parameter: value})
            else:
                node = network.node(dimension.target)
                network.set_parameters(dimension.target, {**node.parameters, dimension.parameter: value})
                nodes_changed = True
        if steps:
            from pytorchgui.core.data.augmentation import Pipeline

            options["augmentation"] = Pipeline(tuple(steps)).text()
        if "lr_schedule" in options and options["lr_schedule"] != config.lr_schedule:
            swept = {d.parameter for d in self.dimensions if d.kind == "schedule"}
            schedule = {name: value for name, value in schedule.items() if name in swept}
        if nodes_changed:
            fit_input_sizes(network)
            problems = network.problems()
            if problems:
                raise TrainingError(f"the trial's values ({values_text(values)}) give a network that does not "
                                    f"compile: {problems[0].message}")
        trial_config = config.replace(**options, schedule_parameters=schedule)
        trial_config.check()
        return network, trial_config


def values_text(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}"
                     for name, value in values.items())


def _dimension(name: str, value: Any, network: Network, config: TrainingConfig, where: str) -> Dimension:
    kind, target, parameter, spec = _place(name, network, config, where)
    entry = f"{where}: '{name}'"
    if not isinstance(value, Mapping):
        raise SweepError(f"{entry} must be a range or choices, as {{\"low\": 1e-4, \"high\": 0.1, \"log\": true}} or "
                         "{\"choices\": [64, 128]}")
    unknown = sorted(set(value) - {"low", "high", "step", "log", "choices"})
    if unknown:
        raise SweepError(f"{entry} has {', '.join(map(repr, unknown))}; a range takes low, high, step and log, "
                         "a list takes choices")
    base = Dimension(name, kind, target, parameter, spec)
    if "choices" in value:
        return _choices(base, value, entry)
    if "low" not in value or "high" not in value:
        raise SweepError(f"{entry} needs \"low\" and \"high\" (or \"choices\")")
    if spec.type not in ("int", "float"):
        raise SweepError(f"{entry} is {_kind_words(spec)}: give its values as \"choices\"")
    low, high = (_checked(spec, value[key], entry, key) for key in ("low", "high"))
    if not low < high:
        raise SweepError(f"{entry}: low {low:g} must be below high {high:g}")
    log, step = value.get("log", False), value.get("step")
    if not isinstance(log, bool):
        raise SweepError(f"{entry}: log must be true or false, not {log!r}")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
            raise SweepError(f"{entry}: step must be a number above 0, not {step!r}")
        if spec.type == "int" and step != int(step):
            raise SweepError(f"{entry}: {name} is a whole number, so its step must be one too, not {step!r}")
        if log:
            raise SweepError(f"{entry}: a range is either log or stepped, not both (Optuna's rule)")
        # Optuna would quietly end such a range at its last step and warn in every trial
        steps = (high - low) / step
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            below, above = (float(f"{low + count * step:.12g}") for count in (math.floor(steps), math.ceil(steps)))
            raise SweepError(f"{entry}: {low:g} to {high:g} is not a whole number of steps of {step:g}: end it at "
                             f"{below:g} or {above:g}, or choose another step")
    if log and low <= 0:
        raise SweepError(f"{entry}: a log range must start above 0, not at {low:g}")
    return dataclasses.replace(base, low=low, high=high, step=None if step is None else
                               (int(step) if spec.type == "int" else float(step)), log=log)


def _choices(base: Dimension, value: Mapping, entry: str) -> Dimension:
    choices = value["choices"]
    if set(value) != {"choices"}:
        raise SweepError(f"{entry}: give either \"choices\" or a range (low, high, step, log), not both")
    if not isinstance(choices, list) or not choices:
        raise SweepError(f"{entry}: choices must be a non-empty list, as [64, 128, 256]")
    for choice in choices:
        if isinstance(choice, (list, dict)):
            raise SweepError(f"{entry}: each choice must be one number, text or true/false, not {choice!r}")
    checked = tuple(_checked(base.spec, choice, entry, "choice") for choice in choices)
    if len(set(map(repr, checked))) != len(checked):
        raise SweepError(f"{entry}: a choice is listed twice")
    return dataclasses.replace(base, choices=checked)


def _checked(spec: ParameterSpec, value: Any, entry: str, what: str) -> Any:
    try:
        return spec.validate(value, entry="")
    except ParameterError as error:
        reason = str(error).split(f"'{spec.name}' ", 1)[-1]
        raise SweepError(f"{entry}: {what} {value!r} is refused: {reason}") from None


def _kind_words(spec: ParameterSpec) -> str:
    return {"bool": "true or false", "str": "text", "choice": "a choice"}.get(spec.type, f"of type {spec.type}")


def _place(name: str, network: Network, config: TrainingConfig, where: str) -> tuple[str, str, str, ParameterSpec]:
    """(kind, target, parameter, spec) of a space name: a training option (batch_size), a
    parameter of the network's optimizer (lr) or of the prefixed optimizer., loss.,
    schedule. or augment.OPERATION., or NODE.PARAMETER."""
    entry = f"{where}: '{name}'"
    head, dot, rest = name.partition(".")
    if not dot:
        options = {candidate.name: candidate for candidate in training_options()}
        if name in MACHINE_OPTIONS:
            raise SweepError(f"{entry} says where trials run, not what they learn: set it with --{name} "
                             "(and --jobs for parallel trials)")
        if name in options:
            return "option", "", name, options[name].spec
        if network.optimizer is not None and name in network.optimizer.parameters:
            return _function_place("optimizer", network, name, entry)
        raise SweepError(f"{entry} is no training option or parameter of the optimizer; sweep one of: "
                         f"{', '.join(n for n in options if n not in MACHINE_OPTIONS)}, "
                         f"{', '.join(network.optimizer.parameters) if network.optimizer else ''}; "
                         "or a node's parameter as NODE.PARAMETER (conv1.out_channels)")
    if head in ("optimizer", "loss"):
        return _function_place(head, network, rest, entry)
    if head == "schedule":
        schedule = config.schedule()
        if schedule is None:
            raise SweepError(f"{entry}: the training options have no learning-rate schedule; choose one with "
                             "--lr-schedule first")
        try:
            return "schedule", schedule.name, rest, schedule.entry.parameter(rest)
        except UnknownEntryError as error:
            raise SweepError(f"{entry}: {error}") from None
    if head == "augment":
        operation, _, parameter = rest.partition(".")
        steps = {step.operation.name: step for step in config.pipeline().steps}
        if operation not in steps:
            raise SweepError(f"{entry}: the augmentation ({config.augmentation or 'none'}) has no {operation}; "
                             f"add {operation} to --augment first, then sweep its parameters")
        try:
            return "augment", operation, parameter, steps[operation].operation.entry.parameter(parameter)
        except UnknownEntryError as error:
            raise SweepError(f"{entry}: {error}") from None
    if head not in network.nodes:
        raise SweepError(f"{entry}: the network has no node '{head}' (its nodes: {', '.join(network.nodes)})")
    try:
        return "node", head, rest, network.entry(head).parameter(rest)
    except UnknownEntryError as error:
        raise SweepError(f"{entry}: {error}") from None


_DATABASES = {"optimizer": "optimizers", "loss": "losses"}


def _function_place(kind: str, network: Network, parameter: str, entry: str) -> tuple[str, str, str, ParameterSpec]:
    choice = getattr(network, kind)
    if choice is None:
        raise SweepError(f"{entry}: the network has no {kind}; choose one in the Network tab first")
    try:
        spec = network.catalog.database(_DATABASES[kind]).get(choice.type).parameter(parameter)
    except UnknownEntryError as error:
        raise SweepError(f"{entry}: {error}") from None
    return kind, choice.type, parameter, spec


# -- the experiment folder -------------------------------------------------------------------
@dataclass
class Experiment:
    """What a sweep is: everything a worker process needs to take and run trials."""

    folder: Path
    data: str
    space: dict[str, Any]
    config: dict[str, Any]
    test: str | None = None
    val_split: float = 0.0
    split_seed: int | None = None
    objective: str = "validation_accuracy"
    direction: str = "maximize"
    sampler: str = "tpe"
    pruner: str = "median"
    trials: int | None = None
    storage: str | None = None
    study: str = ""
    seed: int = 0
    fit: bool = False

    EXPERIMENT = "experiment.json"
    NETWORK = "network.json"
    TRIALS = "trials.csv"
    # what defines the search; the budget, the store and the run options may change on a restart
    DEFINING = ("data", "space", "config", "test", "val_split", "split_seed", "objective", "direction", "sampler",
                "pruner", "seed", "fit")

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "folder"}
        return {"format": EXPERIMENT_FORMAT, "version": EXPERIMENT_VERSION, **values}

    @classmethod
    def read(cls, folder: str | os.PathLike) -> "Experiment":
        folder = Path(folder)
        path = folder / cls.EXPERIMENT
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SweepError(f"{folder} is no experiment folder (it has no {cls.EXPERIMENT})") from None
        except (OSError, ValueError) as error:
            raise SweepError(f"{path} cannot be read: {first_line(error)}") from None
        if not isinstance(values, dict) or values.get("format") != EXPERIMENT_FORMAT:
            raise SweepError(f"{path} is not a PyTorchGUI experiment")
        known = {f.name for f in dataclasses.fields(cls)} - {"folder"}
        return cls(folder, **{key: value for key, value in values.items() if key in known})

    def network(self) -> Network:
        from pytorchgui.core.training import network_format

        return network_format.load(self.folder / self.NETWORK)

    def base_config(self) -> TrainingConfig:
        return TrainingConfig.from_dict(self.config)

    def search_space(self, network: Network | None = None) -> SearchSpace:
        return SearchSpace.parse(self.space, network or self.network(), self.base_config(), "the experiment's space")

    def trial_folder(self, number: int) -> Path:
        return self.folder / "trials" / f"trial-{number:04d}"

    @property
    def study_name(self) -> str:
        return self.study or self.folder.resolve().name

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.folder / 'study.db').resolve()}"

    def budget(self, space: SearchSpace) -> int | None:
        """The trials the study runs: --trials, or for a grid without it, every point."""
        if self.sampler == "grid":
            return min(self.trials or space.grid_size(), space.grid_size())
        return self.trials

    def create(self, network: Network) -> None:
        """Write the folder's experiment.json and network.json, or check that the folder's
        own ones describe this same sweep (so that running the command again resumes it)."""
        from pytorchgui.core.training import network_format

        path = self.folder / self.EXPERIMENT
        if path.exists():
            existing = Experiment.read(self.folder)
            differing = [name for name in self.DEFINING if getattr(existing, name) != getattr(self, name)]
            if existing.network() != network:
                differing.append("the network")
            if differing:
                raise SweepError(f"{self.folder} holds another sweep ({', '.join(differing)} differ); give another "
                                 "--out, or the same settings to resume it")
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        network_format.save(network, self.folder / self.NETWORK)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2))


# -- the study -------------------------------------------------------------------------------
def _optuna():
    """Optuna, quiet: the sweep prints its own line per trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial's traceback too
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def open_storage(url: str, attempts: int = 5):
    """An Optuna store: a database URL (sqlite:///FILE, postgresql://…, mysql://…), with
    heartbeats so that a dead process's trial is failed; or a journal file (a path, or
    journal:PATH) that processes on one machine or a shared file system can append to.
    Processes started together race to create a new database's tables (one of them gets
    "table … already exists" or a UNIQUE constraint of Alembic's version): the loser tries
    again."""
    optuna = _optuna()
    for attempt in range(attempts):
        try:
            if "://" in url:
                engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
                return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS,
                                                  grace_period=GRACE_SECONDS, engine_kwargs=engine)
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's and the file system's errors alike
            if attempt < attempts - 1 and "://" in url:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise SweepError(f"the study's store {url} cannot be opened: {first_line(error)}") from None


def _sampler(experiment: Experiment, space: SearchSpace, trial_number: int = 0):
    """The sampler of the trial numbered `trial_number`, seeded by the experiment's seed and
    that number: every process and every restart made its own sampler with the same seed,
    so their first trials were the same trial again; numbers are unique across processes,
    and a sweep run again from the start draws the same trials."""
    optuna = _optuna()
    seed = experiment.seed + trial_number
    if experiment.sampler == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if experiment.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # Optuna's default 10 random trials before TPE models anything would leave a budget of 16
    # trials with 6 guided ones; a third of the budget (at least 4) keeps most of them guided.
    # The constant liar counts running trials as poor ones, so parallel workers spread out.
    startup = max(4, min(10, (experiment.trials or 30) // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)


def _pruner(experiment: Experiment, epochs: int):
    optuna = _optuna()
    if experiment.pruner == "none":
        return optuna.pruners.NopPruner()
    if experiment.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    # Median: after 3 finished trials, any trial below the median of the others at the same
    # epoch stops; no pruning on the first epoch of a run of 2 (nothing to save by then).
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)


def load_study(experiment: Experiment):
    optuna = _optuna()
    space = experiment.search_space()
    storage = open_storage(experiment.storage_url())
    epochs = int(experiment.config.get("epochs", 5))
    try:
        return optuna.create_study(study_name=experiment.study_name, storage=storage, load_if_exists=True,
                                   direction=experiment.direction, sampler=_sampler(experiment, space),
                                   pruner=_pruner(experiment, epochs))
    except Exception as error:  # noqa: BLE001 - a locked or damaged store
        raise SweepError(f"the study {experiment.study_name!r} in {experiment.storage_url()} cannot be opened: "
                         f"{first_line(error)}") from None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_abandoned_trials(study, experiment: Experiment) -> list[int]:
    """Mark failed the running trials whose process on this host has ended (killed mid-trial):
    they would hold budget they never use. Returns their numbers."""
    optuna = _optuna()
    host, failed = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid = trial.user_attrs.get("pid")
        if trial.user_attrs.get("host") != host or not isinstance(pid, int) or pid == os.getpid():
            continue
        if not _process_alive(pid):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            _write_abandoned_summary(experiment, trial.number, pid)
            failed.append(trial.number)
    return failed


def _write_abandoned_summary(experiment: Experiment, number: int, pid: int) -> None:
    from pytorchgui.core.training.runs import RunFolder, RunFolderError

    folder = RunFolder(experiment.trial_folder(number))
    if folder.path.is_dir():
        try:
            history = folder.read_metrics()
        except RunFolderError:
            history = []
        folder.write_summary("failed", f"its process ({pid}) ended during the trial (killed?); the sweep marked it "
                                       "failed and went on", history)


def _counted_trials(study) -> int:
    optuna = _optuna()
    states = optuna.trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED, states.RUNNING)))


# -- the trials ------------------------------------------------------------------------------
@dataclass
class TrialEvent:
    """A trial that ended: its number, state (COMPLETE, PRUNED, FAIL), values, objective and
    epochs run, for the CLI's line per trial and the window's table."""

    number: int
    state: str
    values: dict[str, Any]
    value: float | None
    epochs: int
    message: str = ""


class _Lock:
    """The experiment folder's lock file, held while a worker counts the trials and starts
    its next one, so that workers together start exactly the budget's trials."""

    def __init__(self, folder: Path):
        from optuna.storages.journal import JournalFileOpenLock

        self._lock = JournalFileOpenLock(str(folder / "trials.start"), grace_period=60)
        self.held = False

    def __enter__(self) -> "_Lock":
        self._lock.acquire()
        self.held = True
        return self

    def release(self) -> None:
        if self.held:
            self.held = False
            self._lock.release()

    def __exit__(self, *exc) -> None:
        self.release()


class SweepWorker:
    """One process's share of a sweep: the data is read once, then trials are taken from
    the study and trained one after the other until the budget or the time is spent."""

    def __init__(self, experiment: Experiment, train_set, validation_set, *, threads: int = 0,
                 device: str | None = None, on_trial: Callable[[TrialEvent], None] | None = None,
                 on_event: Callable[[Any], None] | None = None, control=None):
        self.experiment = experiment
        self.network = experiment.network()
        self.space = experiment.search_space(self.network)
        self.base = experiment.base_config()
        if threads:
            self.base = self.base.replace(threads=threads)
        if device:
            self.base = self.base.replace(device=device)
        self.train_set, self.validation_set = train_set, validation_set
        self.on_trial = on_trial or (lambda event: None)
        self.on_event = on_event or (lambda event: None)
        self.control = control or TaskControl()  # stop(): the running trial fails, the worker ends
        self.study = load_study(experiment)
        self.failures_in_a_row, self.last_failure = 0, ""

    def run(self, timeout: float | None = None) -> int:
        """Trials until the budget is spent, `timeout` seconds have passed or the control
        stops; returns the trials this worker ran to their end (finished, pruned or failed
        on their own; not one stopped with the sweep)."""
        budget = self.experiment.budget(self.space)
        started, ran = time.monotonic(), 0
        while not self.control.cancelled and (timeout is None or time.monotonic() - started < timeout):
            if self.failures_in_a_row >= FAILURES_IN_A_ROW:
                raise SweepError(f"{counted(self.failures_in_a_row, 'trial')} in a row failed (the last: "
                                 f"{self.last_failure}); change the space or the options, then run the sweep again")
            with _Lock(self.experiment.folder) as lock:
                fail_abandoned_trials(self.study, self.experiment)
                if budget is not None and _counted_trials(self.study) >= budget:
                    break
                if self.experiment.sampler == "grid" and _grid_done(self.study, self.space):
                    break
                # under the lock, the next trial's number is the count of trials in the study
                self.study.sampler = _sampler(self.experiment, self.space, len(self.study.get_trials(deepcopy=False)))
                try:
                    self.study.optimize(lambda trial: self._objective(trial, lock), n_trials=1,
                                        catch=(PyTorchGUIError,), gc_after_trial=False)
                except SweepInterrupted:
                    break
                finally:
                    write_trials_csv(self.experiment, self.study, self.space)
            ran += 1
        return ran

    def _objective(self, trial, lock: _Lock) -> float:
        from pytorchgui.core.training.tensorboard_log import write_hparams  # torch: not loaded by the CLI's parser
        from pytorchgui.core.training.trainer import EpochEvent, Trainer

        optuna = _optuna()
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        run = self.experiment.trial_folder(trial.number).resolve()  # the window may read it from another folder
        trial.set_user_attr("run", str(run))
        lock.release()  # the trial exists (RUNNING): the next worker may count it and start its own
        values = self.space.suggest(trial)
        objective, maximize = self.experiment.objective, self.experiment.direction == "maximize"
        best: float | None = None
        pruned_at: int | None = None
        epochs = 0

        def on_event(event) -> None:
            nonlocal best, pruned_at, epochs
            self.on_event(event)
            if not isinstance(event, EpochEvent):
                return
            epochs = event.epoch
            value = getattr(event, objective)
            if value is None or not math.isfinite(value):
                return
            best = value if best is None else (max if maximize else min)(best, value)
            trial.report(value, event.epoch)
            if event.epoch < trainer.config.epochs and trial.should_prune():
                pruned_at = event.epoch
                trainer.control.stop()

        try:
            network, config = self.space.apply(values, self.network, self.base)
        except PyTorchGUIError as error:
            self._said(trial.number, "FAIL", values, None, 0, first_line(error))
            raise
        trainer = Trainer(network, self.train_set, config, validation_set=self.validation_set, run_dir=run,
                          on_event=on_event, control=_LinkedControl(self.control), keep_best_by=(objective, maximize))
        try:
            result = trainer.run()
        except PyTorchGUIError as error:
            self._said(trial.number, "FAIL", values, best, epochs, first_line(error))
            raise
        trial.set_user_attr("epochs", result.epochs_done)
        last = trainer.history[-1] if trainer.history else {}
        write_hparams(run, values, {name: last.get(name) for name in OBJECTIVES})  # TensorBoard's HParams view
        if pruned_at is not None:
            message = (f"pruned after epoch {pruned_at}: its {objective.replace('_', ' ')} {best:.4g} was behind the "
                       f"other trials' at that epoch ({self.experiment.pruner} pruner)")
            trainer.folder.write_summary("pruned", message, trainer.history)
            self._said(trial.number, "PRUNED", values, best, result.epochs_done, message)
            raise optuna.TrialPruned(message)
        if result.status == "stopped":
            self._said(trial.number, "FAIL", values, best, result.epochs_done, "the sweep was stopped")
            raise SweepInterrupted(f"the sweep was stopped during trial {trial.number}; running it again resumes it")
        if best is None:
            message = f"no finite {objective.replace('_', ' ')} in any epoch"
            self._said(trial.number, "FAIL", values, None, result.epochs_done, message)
            raise TrainingError(f"trial {trial.number}: {message}")
        self._said(trial.number, "COMPLETE", values, best, result.epochs_done)
        return best

    def _said(self, number: int, state: str, values, value, epochs: int, message: str = "") -> None:
        self.failures_in_a_row = self.failures_in_a_row + 1 if state == "FAIL" else 0
        self.last_failure = message if state == "FAIL" else ""
        self.on_trial(TrialEvent(number, state, dict(values), value, epochs, message))


class _LinkedControl(TaskControl):
    """A trial's own control, stopped by the trial (pruning) or by the whole sweep's."""

    def __init__(self, sweep_control: TaskControl):
        super().__init__()
        self.sweep_control = sweep_control

    def checkpoint(self) -> None:
        if self.sweep_control.cancelled:
            self.stop()
        super().checkpoint()


def _grid_done(study, space: SearchSpace) -> bool:
    """Every grid point has a trial (finished or running)."""
    optuna = _optuna()
    states = optuna.trial.TrialState
    seen = {tuple(repr(trial.params.get(name)) for name in space.names)
            for trial in study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED, states.RUNNING))}
    return len(seen) >= space.grid_size()


# -- the results -----------------------------------------------------------------------------
def trial_rows(experiment: Experiment, study, space: SearchSpace) -> list[dict[str, Any]]:
    """One row per trial: number, state, every swept value, the objective, epochs, seconds, run."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        seconds = ((trial.datetime_complete - trial.datetime_start).total_seconds()
                   if trial.datetime_complete and trial.datetime_start else None)
        rows.append({"number": trial.number, "state": trial.state.name,
                     **{name: trial.params.get(name) for name in space.names},
                     experiment.objective: trial.value if trial.value is not None else _last_report(trial)
                     if trial.state.name == "PRUNED" else None,  # a failed trial has no result
                     "epochs": trial.user_attrs.get("epochs", len(trial.intermediate_values)),
                     "seconds": None if seconds is None else round(seconds, 2),
                     "run": str(_run_folder(experiment, trial))})
    return rows


def _run_folder(experiment: Experiment, trial) -> Path:
    """Where the trial's run folder is: as the trial recorded it, or, where that is not (a
    relative path from another working folder, a folder moved), in the experiment's own."""
    recorded = trial.user_attrs.get("run")
    if recorded and Path(recorded).is_absolute() and Path(recorded).is_dir():
        return Path(recorded)
    return experiment.trial_folder(trial.number)


def _last_report(trial) -> float | None:
    """A pruned trial's objective: the last it reported before it was stopped."""
    values = [value for value in trial.intermediate_values.values() if value is not None and math.isfinite(value)]
    return None if not values else values[-1]


def write_trials_csv(experiment: Experiment, study, space: SearchSpace) -> Path:
    rows = trial_rows(experiment, study, space)
    columns = ["number", "state", *space.names, experiment.objective, "epochs", "seconds", "run"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = experiment.folder / Experiment.TRIALS
    atomic_write_text(path, buffer.getvalue())
    return path


def best_trial(experiment: Experiment, study) -> dict[str, Any] | None:
    """The best finished trial as the CLI prints it (None before one finished)."""
    optuna = _optuna()
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not finished:
        return None
    best = study.best_trial
    return {"trial": best.number, experiment.objective: best.value, "params": best.params,
            "epochs": best.user_attrs.get("epochs"), "run": str(_run_folder(experiment, best)),
            "finished": len(finished), "pruned": len(study.get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.PRUNED,)))}


def importances(study) -> dict[str, float]:
    """Optuna's parameter importances (fANOVA) over the finished trials; {} until two
    finished trials differ."""
    optuna = _optuna()
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(finished) < 2 or len({repr(trial.params) for trial in finished}) < 2:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError):  # every finished trial with one value of each parameter
        return {}


def read_space_file(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"{path} does not exist; write the space as JSON, as "
                         '{"lr": {"low": 0.0001, "high": 0.1, "log": true}}') from None
    except (OSError, ValueError) as error:
        raise SweepError(f"{path} is not readable JSON: {first_line(error)}") from None


def check_objective(experiment: Experiment, has_validation: bool, has_accuracy: bool) -> None:
    """Refuse, before any trial, an objective the data cannot give."""
    name = experiment.objective
    if name not in OBJECTIVES:
        raise SweepError(f"objective {name!r} is not one of {', '.join(OBJECTIVES)}")
    if name.startswith("validation") and not has_validation:
        raise SweepError(f"the objective {name} needs validation data: give --test SPEC or --val-split PERCENT")
    if name.endswith("accuracy") and not has_accuracy:
        raise SweepError(f"the objective {name} needs classes; this data is a regression: sweep on "
                         f"{name.replace('accuracy', 'loss')}")


# -- names for the window's space editor -------------------------------------------------------
def swept_value(name: str, network: Network, config: TrainingConfig) -> tuple[ParameterSpec, Any]:
    """(spec, current value) of a space name: what a trial would change, as the network and
    the options hold it now (the window pre-fills a range around it); SweepError as parse."""
    kind, target, parameter, spec = _place(name, network, config, "the space")
    if kind == "option":
        return spec, getattr(config, parameter)
    if kind in ("optimizer", "loss"):
        return spec, getattr(network, kind).parameters.get(parameter, spec.default)
    if kind == "schedule":
        return spec, config.schedule_parameters.get(parameter, spec.default)
    if kind == "augment":
        step = next(step for step in config.pipeline().steps if step.operation.name == target)
        return spec, step.values.get(parameter, spec.default)
    return spec, network.node(target).parameters.get(parameter, spec.default)


def sweepable_names(network: Network, config: TrainingConfig) -> list[str]:
    """The names a space can take for this network and these options, in the order a user
    reads them: training options, the optimizer's and loss's parameters, the schedule's,
    then each node's numbers and choices (sizes and tuples cannot be a range; a size taken
    from the input, auto, follows the layer before it)."""
    simple = ("int", "float", "bool", "choice")
    names = [o.name for o in training_options() if o.name not in MACHINE_OPTIONS and o.spec.type in simple]
    for kind in ("optimizer", "loss"):
        choice = getattr(network, kind)
        if choice is not None:
            entry = network.catalog.database(_DATABASES[kind]).get(choice.type)
            names += [(p.name if kind == "optimizer" else f"loss.{p.name}") for p in entry.parameters
                      if p.type in simple]
    schedule = config.schedule()
    if schedule is not None:
        names += [f"schedule.{p.name}" for p in schedule.entry.parameters if p.type in simple]
    for node in network.nodes:
        names += [f"{node}.{p.name}" for p in network.entry(node).parameters if p.type in simple and not p.auto]
    return names

"""Training options, declared once.

Every option of a training run is a `ParameterSpec` (the catalogue's own description of a
parameter: type, default, bounds, help) with where it is shown. From this one list come
the `TrainingConfig` dataclass (its fields written out, each carrying its option, and held
to this list by a test), the Train tab's form, the flags of `pytorchgui train`,
the *Run on a cluster…* command line and the run's `config.json`; an option added here
appears in all of them once its `TrainingConfig` field is written (the test names it if not).

Learning-rate schedules are a small catalogue of their own (`function_db/schedules.json`),
read like the others: each schedule's parameters are named for what they mean
(ReduceLROnPlateau has `factor` and `patience`), and the values a run supplies itself
(the epoch count, the batches per epoch, the optimizer's learning rate) are `automatic`.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pytorchgui import paths
from pytorchgui.core.errors import CatalogError, ParameterError, TrainingError
from pytorchgui.core.graph.catalog import CatalogEntry, ParameterSpec, read_database_file

NO_SCHEDULE = "none"
SCHEDULE_STEPS = ("epoch", "batch", "metric")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


# -- the schedule catalogue --------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleEntry:
    """A learning-rate schedule of torch.optim.lr_scheduler and its parameters.

    step: when the run steps it (after each epoch, after each batch, or after each epoch
    with the monitored loss). automatic: constructor arguments the run fills in, mapped to
    what fills them (epochs, steps_per_epoch, learning_rate).
    """

    entry: CatalogEntry
    step: str
    automatic: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def parameters(self) -> tuple[ParameterSpec, ...]:
        return self.entry.parameters

    def resolve(self) -> type:
        import torch  # imported on use: options load at start-up (network files carry them), before torch

        schedules = torch.optim.lr_scheduler
        found = getattr(schedules, self.name, None)
        bases = (schedules.LRScheduler, schedules.ReduceLROnPlateau)
        if not (isinstance(found, type) and issubclass(found, bases)):
            raise CatalogError(f"{self.name} is not a schedule of torch.optim.lr_scheduler in torch {torch.__version__}")
        return found

    def build(self, optimizer, values: Mapping[str, Any], *, epochs: int, steps_per_epoch: int):
        supplied = {"epochs": epochs, "steps_per_epoch": steps_per_epoch,
                    "learning_rate": max(group["lr"] for group in optimizer.param_groups)}
        arguments = self.entry.constructor_arguments(values)
        arguments.update({argument: supplied[source] for argument, source in self.automatic.items()})
        return self.resolve()(optimizer, **arguments)


def read_schedules(path) -> dict[str, ScheduleEntry]:
    """The schedules of a schedules.json, checked like the other function databases."""
    data = read_database_file(Path(path))
    schedules = {}
    for name, value in data.items():
        entry = CatalogEntry.from_json(name, value, kind="schedules", source=str(path))
        step, automatic = value.get("step"), value.get("automatic", {})
        if step not in SCHEDULE_STEPS:
            raise CatalogError(f"{path}: {name}.step must be one of {', '.join(SCHEDULE_STEPS)}")
        unknown = set(automatic.values()) - {"epochs", "steps_per_epoch", "learning_rate"}
        if not isinstance(automatic, dict) or unknown:
            raise CatalogError(f"{path}: {name}.automatic maps arguments to epochs, steps_per_epoch or learning_rate")
        schedules[name] = ScheduleEntry(entry, step, dict(automatic))
    return schedules


@functools.lru_cache(maxsize=1)
def schedule_catalog() -> dict[str, ScheduleEntry]:
    return read_schedules(paths.function_db_dir() / "schedules.json")


def schedule_names() -> tuple[str, ...]:
    return (NO_SCHEDULE, *schedule_catalog())


# -- the options -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingOption:
    """One training option: its spec, the form group and label, the CLI flag, the value
    that means "off", and what that value is called in the form and the help ("off", or
    "auto" where the trainer then chooses)."""

    spec: ParameterSpec
    group: str
    label: str
    flag: str
    off: Any = None
    off_label: str = "off"

    @property
    def name(self) -> str:
        return self.spec.name


def _option(name: str, kind: str, default: Any, group: str, label: str, help: str, *, flag: str = "",
            off: Any = None, off_label: str = "off", **bounds) -> TrainingOption:
    spec = ParameterSpec(name=name, type=kind, default=default, help=help, **bounds)
    return TrainingOption(spec, group, label, flag or "--" + name.replace("_", "-"), off, off_label)


OPTION_GROUPS = ("Settings", "Options", "Augmentation")
TRAINING_OPTIONS: tuple[TrainingOption, ...] = (
    _option("epochs", "int", 5, "Settings", "Epochs", "passes over the training set", minimum=1, maximum=100000),
    _option("batch_size", "int", 128, "Settings", "Batch size", "samples per step (per process under torchrun)",
            minimum=1, maximum=65536),
    _option("workers", "int", 0, "Settings", "Workers",
            "loader processes for image folders streamed from disk; sets held in memory need none",
            minimum=0, maximum=64),
    _option("device", "str", "cpu", "Settings", "Device", "cpu, cuda, cuda:N or mps"),
    _option("threads", "int", 0, "Settings", "CPU threads",
            "threads for training on the CPU; 0: auto, measured at the start (1 or every core, the faster)",
            off=0, off_label="auto", minimum=0, maximum=256),
    _option("seed", "int", 0, "Settings", "Seed",
            "seeds the weights, the sample order, augmentation and dropout", minimum=0, maximum=2**31 - 1),
    _option("lr_schedule", "choice", NO_SCHEDULE, "Options", "LR schedule",
            "how the learning rate changes during the run", choices=(NO_SCHEDULE,)),  # choices: see below
    _option("early_stopping_patience", "int", 0, "Options", "Early stopping",
            "stop after this many epochs without a better validation loss; 0: off", flag="--early-stopping",
            off=0, minimum=0, maximum=1000),
    _option("gradient_clip", "float", 0.0, "Options", "Gradient clip",
            "largest gradient norm; larger gradients are scaled down; 0: off", flag="--clip", off=0.0, minimum=0),
    _option("mixed_precision", "bool", False, "Options", "Mixed precision (bfloat16)",
            "compute in bfloat16 where safe (autocast)", flag="--bf16"),
    _option("channels_last", "bool", True, "Options", "channels_last memory layout",
            "faster convolutions on many CPUs and GPUs (LeNet-5's step: 0.73 of the time on 2 CPU cores)"),
    _option("compile", "bool", False, "Options", "Compile the network (torch.compile)",
            "fuse the network's operations into generated kernels: the first steps take longer (compiling), "
            "later ones are faster on GPUs; needs a C++ compiler on the CPU"),
    _option("standardize_targets", "bool", True, "Options", "Standardise regression targets",
            "train on (target - mean) / std of the training set's targets, so that targets of any size neither "
            "blow up nor stall the first steps; evaluation, exports and predictions give the target's own units"),
    _option("initial_weights", "str", "", "Options", "Start from weights",
            "a weights file (.pt) of this network, or of one with another head: training starts from every "
            "tensor whose name and shape match (fine-tuning); empty: fresh weights", off=""),
    _option("augmentation", "str", "", "Augmentation", "Augmentation",
            "operations applied to every training batch, in order, as RandomCrop(padding=4), HorizontalFlip "
            "(see function_db/augmentations.json); empty: none", flag="--augment", off=""),
)
# The first version's two augmentation flags, still accepted: each adds its operation in front.
FIRST_VERSION_AUGMENTATION = {"crop_padding": "--crop-padding", "horizontal_flip": "--horizontal-flip"}


def training_options() -> tuple[TrainingOption, ...]:
    """The options, with the schedule choice filled from the schedule catalogue."""
    return tuple(dataclasses.replace(option, spec=dataclasses.replace(option.spec, choices=schedule_names()))
                 if option.name == "lr_schedule" else option for option in TRAINING_OPTIONS)


def option(name: str) -> TrainingOption:
    for candidate in training_options():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


# -- the config --------------------------------------------------------------------------------
_PYTHON_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "choice": str}


def _option_metadata(name: str) -> dict[str, TrainingOption]:
    """A config field's metadata: the option it holds (KeyError at import for a name that is
    no option). The schedule choice's spec lists its choices only in `training_options()`."""
    return {"option": {candidate.name: candidate for candidate in TRAINING_OPTIONS}[name]}


@dataclass
class TrainingConfig:
    """The settings of one training run: a field per TRAINING_OPTIONS entry, plus the
    chosen schedule's parameters.

    The fields are written out for readers and type checkers; each carries its option in
    `metadata["option"]`, and tests/core/training hold the names, order, types and defaults
    equal to TRAINING_OPTIONS, so an option added there without its field fails.
    """

    epochs: int = field(default=5, metadata=_option_metadata("epochs"))
    batch_size: int = field(default=128, metadata=_option_metadata("batch_size"))
    workers: int = field(default=0, metadata=_option_metadata("workers"))
    device: str = field(default="cpu", metadata=_option_metadata("device"))
    threads: int = field(default=0, metadata=_option_metadata("threads"))
    seed: int = field(default=0, metadata=_option_metadata("seed"))
    lr_schedule: str = field(default=NO_SCHEDULE, metadata=_option_metadata("lr_schedule"))
    early_stopping_patience: int = field(default=0, metadata=_option_metadata("early_stopping_patience"))
    gradient_clip: float = field(default=0.0, metadata=_option_metadata("gradient_clip"))
    mixed_precision: bool = field(default=False, metadata=_option_metadata("mixed_precision"))
    channels_last: bool = field(default=True, metadata=_option_metadata("channels_last"))
    compile: bool = field(default=False, metadata=_option_metadata("compile"))
    standardize_targets: bool = field(default=True, metadata=_option_metadata("standardize_targets"))
    initial_weights: str = field(default="", metadata=_option_metadata("initial_weights"))
    augmentation: str = field(default="", metadata=_option_metadata("augmentation"))
    schedule_parameters: dict[str, Any] = field(default_factory=dict)  # the chosen schedule's, by name

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainingConfig:
        """A config from config.json or a checkpoint; unknown keys are ignored, and the
        first version's shared step_size/gamma become the schedule's own parameters."""
        values = dict(values)
        if any(key in values for key in FIRST_VERSION_AUGMENTATION):
            values["augmentation"] = _with_first_version_augmentation(values)
        if "schedule_parameters" not in values and values.get("lr_schedule", NO_SCHEDULE) != NO_SCHEDULE:
            values["schedule_parameters"] = _first_version_schedule(values)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def replace(self, **changes) -> TrainingConfig:
        return dataclasses.replace(self, **changes)

    def check(self) -> None:
        """Raise TrainingError naming the first option whose value is refused."""
        for training_option in training_options():
            try:
                training_option.spec.validate(getattr(self, training_option.name), entry="")
            except ParameterError as error:
                reason = str(error).split(f"'{training_option.name}' ", 1)[-1]
                raise TrainingError(f"{training_option.label} ({training_option.flag}) {reason}") from None
        self.pipeline()
        if not _DEVICE.match(self.device):
            raise TrainingError(f"device {self.device!r} is not one of cpu, cuda, cuda:N, mps")
        self.schedule_values()

    def pipeline(self):
        """The augmentation as a Pipeline (TrainingError naming what is refused)."""
        from pytorchgui.core.data.augmentation import Pipeline  # imported on use: augmentation loads torch

        return Pipeline.parse(self.augmentation)

    def schedule(self) -> ScheduleEntry | None:
        return None if self.lr_schedule == NO_SCHEDULE else schedule_catalog()[self.lr_schedule]

    def schedule_values(self) -> dict[str, Any]:
        """The chosen schedule's parameters, defaults filled in (TrainingError if refused)."""
        schedule = self.schedule()
        if schedule is None:
            return {}
        try:
            return schedule.entry.validate(self.schedule_parameters)
        except ParameterError as error:
            raise TrainingError(f"learning-rate schedule: {error}") from None


def _with_first_version_augmentation(values: Mapping[str, Any]) -> str:
    from pytorchgui.core.data.augmentation import first_version_pipeline  # imported on use: augmentation loads torch

    first = first_version_pipeline(values.pop("crop_padding", 0) or 0, bool(values.pop("horizontal_flip", False)))
    return ", ".join(part for part in (first, values.get("augmentation") or "") if part)


def _first_version_schedule(values: Mapping[str, Any]) -> dict[str, Any]:
    step_size, gamma = values.get("step_size", 5), values.get("gamma", 0.1)
    return {"StepLR": {"step_size": step_size, "gamma": gamma},
            "ReduceLROnPlateau": {"factor": gamma, "patience": max(1, int(step_size) // 2)}}.get(
        values.get("lr_schedule"), {})


# -- the command line --------------------------------------------------------------------------
def _schedule_flags() -> dict[str, tuple[ParameterSpec, list[str]]]:
    """Each schedule parameter name -> (its spec, the schedules that take it)."""
    flags: dict[str, tuple[ParameterSpec, list[str]]] = {}
    for schedule in schedule_catalog().values():
        for spec in schedule.parameters:
            flags.setdefault(spec.name, (spec, []))[1].append(schedule.name)
    return flags


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every training option and every schedule parameter. Defaults are
    None, so that `config_from_arguments` can tell a given flag from a default."""
    for group_name in OPTION_GROUPS:
        group = parser.add_argument_group(group_name.lower())
        for training_option in training_options():
            if training_option.group == group_name:
                spec = training_option.spec  # 0 == False: compare with the option's own "off" only
                is_off = (spec.default is False if spec.type == "bool"
                          else training_option.off is not None and spec.default == training_option.off)
                default = training_option.off_label if is_off else None
                _add_argument(group, training_option.flag, training_option.spec, training_option.name,
                              f"default: {default or training_option.spec.default}")
        if group_name == "Augmentation":
            group.add_argument("--crop-padding", dest="crop_padding", type=int, default=None, metavar="PIXELS",
                               help="the first version's flag: adds RandomCrop(padding=PIXELS) to --augment")
            group.add_argument("--horizontal-flip", dest="horizontal_flip", action="store_true", default=None,
                               help="the first version's flag: adds HorizontalFlip to --augment")
    group = parser.add_argument_group("learning-rate schedule parameters")
    catalog = schedule_catalog()
    for name, (spec, schedules) in _schedule_flags().items():
        defaults = ", ".join(f"{catalog[schedule].entry.parameter(name).default} for {schedule}"
                             for schedule in schedules)
        _add_argument(group, _flag(name), spec, f"schedule_{name}", f"default: {defaults}")


def _add_argument(group, flag: str, spec: ParameterSpec, destination: str, default: str) -> None:
    help_text = f"{spec.help} ({default})".replace("%", "%%")
    if spec.type == "bool":
        group.add_argument(flag, dest=destination, action=argparse.BooleanOptionalAction, default=None,
                           help=help_text)
    elif spec.type == "choice":
        group.add_argument(flag, dest=destination, choices=spec.choices, default=None, help=help_text)
    else:
        group.add_argument(flag, dest=destination, type=_PYTHON_TYPES[spec.type], default=None,
                           metavar=spec.name.upper(), help=help_text)


def config_from_arguments(arguments: argparse.Namespace, base: "TrainingConfig | None" = None) -> "TrainingConfig":
    """The config the given flags describe, on top of `base` (defaults where absent)."""
    values = base.to_dict() if base is not None else {}
    for training_option in training_options():
        given = getattr(arguments, training_option.name, None)
        if given is not None:
            values[training_option.name] = given
    for name in FIRST_VERSION_AUGMENTATION:
        if getattr(arguments, name, None):
            values[name] = getattr(arguments, name)
    if base is not None and values.get("lr_schedule") != base.lr_schedule:
        values["schedule_parameters"] = {}  # the base's values belong to its own schedule
    config = TrainingConfig.from_dict(values)
    schedule = config.schedule()
    parameters = dict(config.schedule_parameters)
    for name, (_, schedules) in _schedule_flags().items():
        given = getattr(arguments, f"schedule_{name}", None)
        if given is None:
            continue
        if schedule is None or schedule.name not in schedules:
            raise TrainingError(f"{_flag(name)} is a parameter of {' and '.join(schedules)}; choose one with "
                                f"--lr-schedule (now {config.lr_schedule})")
        parameters[name] = given
    config = config.replace(schedule_parameters=parameters)
    config.check()
    return config


def command_line_arguments(config: "TrainingConfig", always: tuple[str, ...] = ()) -> list[str]:
    """The flags that give `config` to `pytorchgui train`: values at their default are left
    out, except the options named in `always`."""
    arguments: list[str] = []
    for training_option in training_options():
        value, spec = getattr(config, training_option.name), training_option.spec
        if value == spec.default and training_option.name not in always:
            continue
        if spec.type == "bool":
            arguments.append(training_option.flag if value else "--no-" + training_option.flag[2:])
        else:
            arguments += [training_option.flag, repr(value) if spec.type == "float" else str(value)]
    schedule = config.schedule()
    if schedule is not None:
        defaults = schedule.entry.defaults()
        for name, value in config.schedule_parameters.items():
            if value != defaults.get(name):
                arguments += [_flag(name), repr(value) if isinstance(value, float) else str(value)]
    return arguments

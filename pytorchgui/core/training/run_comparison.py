"""Runs side by side: what each run was trained with, what differs between two runs, and a
name for each of several runs made of what differs between them ("lr 0.01 · batch 64").

Everything is read from what a run folder recorded (config.json, network.json, metrics.csv,
notes.json), never from the open network or the Train tab's form: a run is compared as it
was trained. A run's settings are a flat, ordered map from a `Setting` to its value, most
telling first (the network, the optimizer and its learning rate, the batch size, ...), so
that a legend made of the first few differences names what a user changed.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any, Iterable

from pytorchgui.core.errors import UnknownEntryError
from pytorchgui.core.graph.catalog import default_catalog
from pytorchgui.core.training.options import option
from pytorchgui.core.training.runs import RunFolder, RunFolderError, run_folders

MISSING = "—"  # a setting one run has and the other has not (a node added, an option of a newer version)
LEGEND_PARTS = 3  # differences named in a legend; more end in "…"
LEGEND_LENGTH = 48  # characters a legend name keeps, cut on the right

# the legend's short names of training options (others go by their own name)
_SHORT_OPTIONS = {"batch_size": "batch", "lr_schedule": "schedule", "early_stopping_patience": "patience",
                  "gradient_clip": "clip", "mixed_precision": "bf16", "augmentation": "augment",
                  "initial_weights": "from", "standardize_targets": "standardise"}
_SHORT_PARAMETERS = {"weight_decay": "wd"}
# written first: what a user most often changes between runs, and so what a legend should name
_FIRST_OPTIONS = ("batch_size", "epochs", "lr_schedule")
_RUN_FOLDER_STAMP = re.compile(r"^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_(?P<name>.+)$")  # RunFolder.new's names


@dataclass(frozen=True)
class Setting:
    """One recorded setting of a run. `name` is the diff's ("batch size", "optimizer · lr",
    "node conv1 · out_channels"); `short` the legend's ("batch", "lr", "conv1.out_channels"),
    empty where the value names itself ("SGD"). A network setting names its `node`; `field`
    is empty for the node itself (its type: present in one run, absent in another).
    `follows_input`: a parameter set from the input shape (in_channels), which changes with
    the node before it: a legend leaves it out."""

    name: str
    short: str
    node: str = ""
    field: str = ""
    follows_input: bool = dataclass_field(default=False, compare=False)


@dataclass(frozen=True)
class ComparisonRow:
    """One setting of two runs, as the diff shows it."""

    setting: str
    value_a: str
    value_b: str

    @property
    def differs(self) -> bool:
        return self.value_a != self.value_b


def shown_value(value: Any) -> str:
    """A recorded value as a table or a legend reads it: 0.01, on, [0.9, 0.999]."""
    if value is True or value is False:
        return "on" if value else "off"
    if value is None or value == "":
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{key} {shown_value(item)}" for key, item in value.items())
    return str(value)


def network_name(folder: RunFolder, config: dict[str, Any]) -> str:
    """The network's name as the run recorded it, else as its folder is named after it
    (runs from before it was recorded), else the folder's own name (a command-line run)."""
    recorded = config.get("network_name")
    if isinstance(recorded, str) and recorded:
        return recorded
    stamped = _RUN_FOLDER_STAMP.match(folder.name)
    return stamped.group("name") if stamped else folder.name


def node_count(document: dict[str, Any]) -> int:
    return sum(1 for key in document if not key.startswith("$"))


# -- a run's settings --------------------------------------------------------------------------
def run_settings(folder: RunFolder) -> dict[Setting, Any]:
    """Every setting `folder` recorded, most telling first; RunFolderError (naming the file)
    if its config.json or network.json cannot be read."""
    config, document = folder.read_config(), folder.read_network_document()
    training = config.get("training") if isinstance(config.get("training"), dict) else {}
    optimizer = _function(document.get("$optimizer"))
    settings: dict[Setting, Any] = {Setting("network", "network"): network_name(folder, config)}
    if optimizer is not None:
        settings[Setting("optimizer", "")] = optimizer[0]
        if "lr" in optimizer[1]:
            settings[Setting("optimizer · lr", "lr")] = optimizer[1]["lr"]
    for name in _FIRST_OPTIONS:
        if name in training:
            settings[_option_setting(name)] = training[name]
    schedule = training.get("schedule_parameters")
    for name, value in (schedule.items() if isinstance(schedule, dict) else ()):
        settings[Setting(f"schedule · {name}", name)] = value
    if optimizer is not None:
        settings.update(_parameters("optimizer", optimizer[1], skip=("lr",)))
    for name, value in training.items():
        if name not in _FIRST_OPTIONS and name != "schedule_parameters":
            settings[_option_setting(name)] = value
    settings.update(_loss_settings(document))
    settings.update(_data_settings(config))
    settings.update(_network_settings(document))
    return settings


def _function(recorded: Any) -> tuple[str, dict[str, Any]] | None:
    """(type, parameters) of a recorded loss or optimizer; None when there is none."""
    if not isinstance(recorded, dict):
        return None
    parameters = recorded.get("parameters")
    return str(recorded.get("type")), parameters if isinstance(parameters, dict) else {}


def _parameters(prefix: str, parameters: dict[str, Any], skip: Iterable[str] = ()) -> dict[Setting, Any]:
    return {Setting(f"{prefix} · {name}", _SHORT_PARAMETERS.get(name, name)): value
            for name, value in parameters.items() if name not in skip}


def _option_setting(name: str) -> Setting:
    try:
        label = option(name).label.lower()
    except KeyError:  # an option of another version of PyTorchGUI
        label = name.replace("_", " ")
    return Setting(label, _SHORT_OPTIONS.get(name, name))


def _loss_settings(document: dict[str, Any]) -> dict[Setting, Any]:
    settings: dict[Setting, Any] = {}
    loss = _function(document.get("$loss"))
    if loss is not None:
        settings[Setting("loss", "")] = loss[0]
        settings.update(_parameters("loss", loss[1]))
    losses = document.get("$losses")
    for output, own in (losses.items() if isinstance(losses, dict) else ()):
        choice = _function(own)
        if choice is not None:
            settings[Setting(f"loss of {output}", f"{output} loss")] = choice[0]
            settings[Setting(f"loss of {output} · weight", f"{output} weight")] = own.get("weight", 1.0)
            settings.update(_parameters(f"loss of {output}", choice[1]))
    return settings


def _data_settings(config: dict[str, Any]) -> dict[Setting, Any]:
    settings: dict[Setting, Any] = {
        Setting("training data", "data"): config.get("train_source") or config.get("train_set"),
        Setting("validation data", "validation"): config.get("validation_source") or config.get("validation_set")}
    split = config.get("validation_split")
    if isinstance(split, dict):
        settings[Setting("validation split", "split")] = (f"{shown_value(split.get('percent'))} % of "
                                                          f"{split.get('whole')}, seed {split.get('seed')}")
    return settings


def _network_settings(document: dict[str, Any]) -> dict[Setting, Any]:
    settings: dict[Setting, Any] = {}
    inputs = document.get("$inputs")
    for spec in (inputs if isinstance(inputs, list) else ()):
        if isinstance(spec, dict):
            name = "input" if spec.get("name", "input") == "input" else f"input {spec['name']}"
            settings[Setting(name, name)] = f"{shown_value(spec.get('shape'))} {spec.get('dtype')}"
    for name, item in document.items():
        if name.startswith("$") or not isinstance(item, dict):
            continue
        settings[Setting(f"node {name}", name, name)] = item.get("type")
        parameters = item.get("parameters")
        from_input = _set_from_input(item.get("type"))
        for parameter, value in (parameters.items() if isinstance(parameters, dict) else ()):
            settings[Setting(f"node {name} · {parameter}", f"{name}.{parameter}", name, parameter,
                             parameter in from_input)] = value
        wiring = {"next": item.get("nextLayer"), "first layer": item.get("firstLayer", False),
                  "trainable": item.get("trainable", True)}
        for field, value in wiring.items():
            settings[Setting(f"node {name} · {field}", f"{name} {field}", name, field)] = value
    return settings


def _set_from_input(type_name: Any) -> set[str]:
    """The parameters of a node type that the input shape sets ("auto" in the catalogue)."""
    try:
        entry = default_catalog().node_entry(str(type_name))
    except UnknownEntryError:  # a type of another version of the catalogue
        return set()
    return {spec.name for spec in entry.parameters if spec.auto}


# -- two runs side by side --------------------------------------------------------------------
def compare_runs(a: RunFolder, b: RunFolder, everything: bool = False) -> list[ComparisonRow]:
    """(setting, value in a, value in b) for every setting that differs between the runs
    (with `everything`, for every setting either has), in `a`'s order then `b`'s new ones.
    A node one run has and the other has not is one row (its type beside "—"), not a row
    for each of its parameters."""
    settings_a, settings_b = run_settings(a), run_settings(b)
    nodes_a = {setting.node for setting in settings_a if setting.node}
    nodes_b = {setting.node for setting in settings_b if setting.node}
    rows = []
    for setting in dict.fromkeys([*settings_a, *settings_b]):
        if setting.field and not (setting.node in nodes_a and setting.node in nodes_b):
            continue
        row = ComparisonRow(setting.name, _shown_or_missing(settings_a, setting),
                            _shown_or_missing(settings_b, setting))
        if everything or row.differs:
            rows.append(row)
    return rows


def differences(a: RunFolder, b: RunFolder) -> list[ComparisonRow]:
    """The settings in which two runs differ (training options, optimizer and loss
    parameters, data sources, the network node by node)."""
    return compare_runs(a, b)


def _shown_or_missing(settings: dict[Setting, Any], setting: Setting) -> str:
    return shown_value(settings[setting]) if setting in settings else MISSING


# -- names for a legend ------------------------------------------------------------------------
def distinguishing_labels(runs: list[RunFolder]) -> list[str]:
    """A name for each run made of the settings in which the runs differ, most telling first
    ("lr 0.01 · batch 64"), at most LEGEND_PARTS of them and LEGEND_LENGTH characters (cut on
    the right: the start says most). A run no difference names (all runs alike, or its
    folder unreadable) is named by its folder; runs alike among others by both."""
    readable: dict[int, dict[Setting, Any]] = {}
    for index, folder in enumerate(runs):
        try:
            readable[index] = run_settings(folder)
        except RunFolderError:
            pass
    differing = _differing_settings(list(readable.values()))
    labels = []
    for index, folder in enumerate(runs):
        parts = [_legend_part(setting, readable[index]) for setting in differing] if index in readable else []
        label = _shortened(" · ".join(parts[:LEGEND_PARTS]) + (" · …" if len(parts) > LEGEND_PARTS else ""))
        labels.append(label or folder.name)
    for index, label in enumerate(labels):
        if labels.count(label) > 1 and label != runs[index].name:
            labels[index] = _shortened(f"{label} ({runs[index].name})")
    return labels


def _differing_settings(settings: list[dict[Setting, Any]]) -> list[Setting]:
    """The settings whose values are not the same in every run, in the first run's order;
    a node's fields only where every run has the node (else the node itself differs)."""
    if len(settings) < 2:
        return []
    node_everywhere = set.intersection(*({setting.node for setting in each if setting.node} for each in settings))
    found = []
    for setting in dict.fromkeys(setting for each in settings for setting in each):
        if setting.follows_input or (setting.field and setting.node not in node_everywhere):
            continue
        values = {_shown_or_missing(each, setting) for each in settings}
        if len(values) > 1:
            found.append(setting)
    return found


def _legend_part(setting: Setting, settings: dict[Setting, Any]) -> str:
    if setting.node and not setting.field:  # a node some runs have
        if setting not in settings:
            return f"without {setting.node}"
        return f"{setting.node} {shown_value(settings[setting])}"
    value = _shown_or_missing(settings, setting)
    return f"{setting.short} {value}" if setting.short else value


def _shortened(text: str) -> str:
    return text if len(text) <= LEGEND_LENGTH else text[:LEGEND_LENGTH - 1].rstrip(" ·") + "…"


# -- the runs table ----------------------------------------------------------------------------
def parse_tags(text: str) -> list[str]:
    """Tags as typed in the table, separated by commas: stripped, empty ones and repeats dropped."""
    return list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


def best_figures(metrics: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """(best validation accuracy, best validation loss) over the run's epochs; None where
    the run has none (no validation data; accuracy: a regression)."""
    def finite(key):
        return [row[key] for row in metrics if isinstance(row.get(key), float) and math.isfinite(row[key])]

    accuracies, losses = finite("validation_accuracy"), finite("validation_loss")
    return (max(accuracies) if accuracies else None), (min(losses) if losses else None)


def overview_row(folder: RunFolder) -> dict[str, Any]:
    """What the runs table shows of a run: its summary (RunFolder.summary_row), the network
    (name, node count), the main settings, the best validation figures, the tags and notes.
    A file that cannot be read leaves its columns empty and says why (in "problems")."""
    row: dict[str, Any] = {**folder.summary_row(), "problems": [], "tags": [], "notes": ""}
    for read in (_settings_columns, _best_columns, _notes_columns):
        try:
            row.update(read(folder))
        except RunFolderError as error:
            row["problems"].append(str(error))
    return row


def _settings_columns(folder: RunFolder) -> dict[str, Any]:
    config, document = folder.read_config(), folder.read_network_document()
    training = config.get("training") if isinstance(config.get("training"), dict) else {}
    optimizer = _function(document.get("$optimizer"))
    return {"network": network_name(folder, config), "nodes": node_count(document),
            "optimizer": optimizer[0] if optimizer else None,
            "learning_rate": optimizer[1].get("lr") if optimizer else None,
            "batch_size": training.get("batch_size"), "epochs": training.get("epochs"),
            "schedule": training.get("lr_schedule")}


def _best_columns(folder: RunFolder) -> dict[str, Any]:
    accuracy, loss = best_figures(folder.read_metrics())
    return {"best_validation_accuracy": accuracy, "best_validation_loss": loss}


def _notes_columns(folder: RunFolder) -> dict[str, Any]:
    tags, notes = folder.read_notes()
    return {"tags": tags, "notes": notes}


def overview_rows(base: Path) -> list[dict[str, Any]]:
    """Every run folder under `base`, newest first, as the runs table shows it."""
    return [overview_row(folder) for folder in run_folders(base)]

"""Data for a network with several inputs or several outputs: one tensor per input, found
by the input's name, and targets per output.

- An array file (.npz) holds one array per input, named after it, and the targets: an
  array named after an output node for that output, or one array `y` (or `targets`)
  for every output without its own.
- A CSV table gives an input's values by column name: the columns `NAME.0, NAME.1, ...`
  (in the order of their numbers) or one column `NAME`; the `target` column serves every
  output.

Inputs are taken as they are: floating point values as float32, integers as int64 token
ids, uint8 values scaled to 0..1 (as image pixels are). Several inputs are not
normalised (a run's normalisation is one input's statistics): scale them beforehand.
"""
from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy
import torch

from pytorchgui.core.data.arrays import open_npz
from pytorchgui.core.data.samples import LabelledSamples, OwnNormalization, SplitPart, class_count, sample_order
from pytorchgui.core.errors import DatasetError

SHARED_TARGET_NAMES = ("y", "targets")
_NUMBERED_COLUMN = re.compile(r"^(?P<name>.+)\.(?P<index>[0-9]+)$")


@dataclass
class NamedInputsDataset(LabelledSamples, OwnNormalization):
    """Samples of several named inputs, held in memory, with the targets of each output.

    `inputs` maps each input's name to its tensor [N, ...], in the network's order;
    `targets` (and `classes`) serve every output not in `output_targets`, which maps an
    output node to targets of its own (and `output_classes` to their classes)."""

    name: str
    source: str
    inputs: dict[str, torch.Tensor]
    targets: torch.Tensor
    classes: list[str] | None
    output_targets: dict[str, torch.Tensor] = field(default_factory=dict)
    output_classes: dict[str, list[str] | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    origin: Any = None
    split_part: SplitPart | None = None
    kind: str = "inputs"

    def __post_init__(self) -> None:
        for name, values in {**self.inputs, **self.output_targets}.items():
            if len(values) != len(self.targets):
                raise DatasetError(f"{self.source}: '{name}' holds {len(values)} samples but the targets "
                                   f"{len(self.targets)}; every array needs one row per sample")
        if len(self.targets) == 0:
            raise DatasetError(f"{self.source} holds no samples")

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def sample_shape(self) -> list[int]:
        """The first input's sample shape (what one-input code reads)."""
        return list(next(iter(self.inputs.values())).shape[1:])

    @property
    def input_shapes(self) -> dict[str, list[int]]:
        return {name: list(values.shape[1:]) for name, values in self.inputs.items()}

    def own_batches(self, device) -> "NamedInputBatches":
        """Its batches for training and evaluation (datasets.batches_for asks a dataset that
        brings its own): the inputs as they are, the targets of each output."""
        return NamedInputBatches(self, device)

    def input_dtype(self, name: str) -> str:
        return "int64" if self.inputs[name].dtype == torch.int64 else "float32"

    @property
    def memory_bytes(self) -> int:
        tensors = [*self.inputs.values(), self.targets, *self.output_targets.values()]
        return sum(tensor.element_size() * tensor.nelement() for tensor in tensors)

    def compute_normalization(self) -> None:
        return None  # several inputs are taken as they are (see the module docstring)

    def for_output(self, output: str) -> "NamedInputsDataset":
        """The same samples with the targets of `output` serving as the targets."""
        if output not in self.output_targets:
            return self
        part = replace(self, targets=self.output_targets[output], classes=self.output_classes.get(output),
                       output_targets={}, output_classes={})
        part.normalization = None
        return part

    def batch_targets(self, outputs: list[str], indices: torch.Tensor, device) -> torch.Tensor | tuple:
        """The targets of a batch: one tensor serving every output, or a tuple in `outputs` order."""
        shared = self.targets.index_select(0, indices).to(device)
        if not self.output_targets or len(outputs) <= 1:
            return self.for_output(outputs[0]).targets.index_select(0, indices).to(device) if outputs else shared
        return tuple(self.output_targets[output].index_select(0, indices).to(device) if output in self.output_targets
                     else shared for output in outputs)

    def subset(self, indices: torch.Tensor, name: str) -> "NamedInputsDataset":
        part = replace(self, name=name, inputs={key: value[indices] for key, value in self.inputs.items()},
                       targets=self.targets[indices],
                       output_targets={key: value[indices] for key, value in self.output_targets.items()},
                       split_part=None)
        part.normalization, part.target_normalization = None, self.target_normalization
        return part


class NamedInputBatches:
    """Batches of a NamedInputsDataset on `device`: (a tuple of the inputs in the network's
    order, the targets: a tensor for every output or a tuple in `outputs` order)."""

    def __init__(self, dataset: NamedInputsDataset, device, outputs: list[str] | None = None):
        self.dataset, self.device = dataset, torch.device(device)
        self.outputs = list(outputs or [])
        self.inputs = [values.to(self.device) for values in dataset.inputs.values()]

    def __len__(self) -> int:
        return len(self.dataset)

    def number_of_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return len(self) // batch_size if drop_last else math.ceil(len(self) / batch_size)

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
                drop_last: bool = False, shard: tuple[int, int] = (0, 1)) -> Iterator:
        order = sample_order(len(self), shuffle, generator, shard)
        stop = len(order) - (len(order) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            indices = order[start:start + batch_size]
            on_device = indices.to(self.device)
            inputs = tuple(values.index_select(0, on_device) for values in self.inputs)
            yield inputs, self.dataset.batch_targets(self.outputs, indices, self.device)

    def training_batches(self, batch_size: int, *, generator: torch.Generator | None = None,
                         drop_last: bool = False, shard: tuple[int, int] = (0, 1)) -> Iterator:
        for inputs, targets in self.batches(batch_size, shuffle=True, generator=generator, drop_last=drop_last,
                                            shard=shard):
            yield inputs, targets, None


def batch_length(targets) -> int:
    """The samples in a batch of targets: one tensor, or a tuple of one per output."""
    return len(targets[0]) if isinstance(targets, tuple) else len(targets)


# -- reading ---------------------------------------------------------------------------------------
def _input_tensor(array, path: Path, name: str) -> tuple[torch.Tensor, str]:
    """An input array as the network takes it, and a note of how it was read ("" if as it is)."""
    if array.dtype.hasobject or array.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: the array {name!r} holds {array.dtype} values, not numbers: save it as a numeric "
                           "array")
    values = torch.from_numpy(numpy.array(array, copy=True))
    if values.dim() == 1:
        values = values[:, None]  # one value per sample: a table of one column
    if values.dtype == torch.uint8:
        return values.float() / 255, f"input '{name}': uint8 values scaled to 0..1"
    if values.dtype.is_floating_point:
        return values.float(), ""
    if values.dtype == torch.bool:
        return values.float(), ""
    if int(values.min()) < 0:
        raise DatasetError(f"{path}: input '{name}' holds the negative id {int(values.min())}; integer inputs are "
                           "token ids 0, 1, 2, ... (store float values otherwise)")
    return values.long(), f"input '{name}': integer token ids, kept as int64"


def _target_tensor(array, path: Path, name: str) -> tuple[torch.Tensor, list[str] | None]:
    values = torch.from_numpy(numpy.array(array, copy=True))
    if values.dim() == 1 and not values.dtype.is_floating_point:
        values = values.long()
        return values, [str(index) for index in range(class_count(values, path))]
    return values.float().reshape(len(values), -1), None


def read_named_npz(path: str | Path, input_names: list[str], output_names: list[str]) -> NamedInputsDataset:
    """The .npz arrays of each input (keys: the input names) and targets (keys: the output
    nodes, or y / targets for every output without its own)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    with open_npz(path) as arrays:
        keys = list(arrays.files)
        listed = ", ".join(f"{key} {list(arrays[key].shape)}" for key in keys) or "none"
        missing = [name for name in input_names if name not in keys]
        if missing:
            raise DatasetError(
                f"{path} has no array for the input '{missing[0]}'; it has {listed}. Save one array per network "
                f"input, named after it (numpy.savez(file, {', '.join(f'{n}=...' for n in input_names)}, y=...))")
        shared = next((key for key in SHARED_TARGET_NAMES if key in keys), None)
        own = [name for name in output_names if name in keys]
        without = [name for name in output_names if name not in keys]
        if without and shared is None:
            raise DatasetError(
                f"{path} has no targets for the output '{without[0]}': add an array named 'y' for every output, "
                f"or one named after each output node ({', '.join(output_names)}); it has {listed}")
        inputs, notes = {}, []
        for name in input_names:
            inputs[name], note = _input_tensor(arrays[name], path, name)
            if note:
                notes.append(note)
        first = own[0] if shared is None else shared
        targets, classes = _target_tensor(arrays[first], path, first)
        output_targets, output_classes = {}, {}
        for name in own:
            output_targets[name], output_classes[name] = _target_tensor(arrays[name], path, name)
    notes.append("several inputs are used as they are (not normalised): scale them beforehand")
    return NamedInputsDataset(path.name, f"array file {path}", inputs, targets, classes, output_targets,
                              output_classes, notes)


def input_columns(columns: list[str], name: str) -> list[str]:
    """The CSV columns that hold input `name`: `name.0, name.1, ...` in the order of their
    numbers, or the one column `name`."""
    numbered = sorted(((int(match["index"]), column) for column in columns
                       if (match := _NUMBERED_COLUMN.match(column)) and match["name"] == name))
    if numbered:
        return [column for _, column in numbered]
    return [name] if name in columns else []


def read_named_csv(path: str | Path, input_names: list[str], target: str, task: str = "auto") -> NamedInputsDataset:
    """A CSV table whose columns give each input's values (see input_columns) and whose
    `target` column serves every output."""
    from pytorchgui.core.data.datasets import _csv_targets, _numbers, _read_csv  # one reader of CSV files

    path = Path(path)
    frame = _read_csv(path, target)
    columns = [str(column) for column in frame.columns]
    frame.columns = columns
    inputs = {}
    for name in input_names:
        found = input_columns(columns, name)
        if not found:
            raise DatasetError(f"{path} has no column for the input '{name}': name its columns {name}.0, {name}.1, ... "
                               f"(or one column {name}); the columns are {', '.join(columns)}")
        inputs[name] = _numbers(path, frame[found])
    targets, classes = _csv_targets(path, target, frame[target], task)
    return NamedInputsDataset(path.name, f"CSV {path} (target {target})", inputs, targets, classes,
                              notes=["several inputs are used as they are (not normalised): scale them beforehand"])


def load_for_network(spec: str, network, train: bool = True, download: bool = False):
    """The dataset `spec` names, read for `network`: by its inputs' and outputs' names when
    it has several inputs, or targets of its own per output in an .npz file; else as any
    one-input network's data (data_source.load_spec)."""
    from pytorchgui.core.data.data_source import DataSource, load_spec

    source = DataSource.from_spec(spec)
    names = [spec_.name for spec_ in network.inputs]
    outputs = network.outputs()
    path = Path(source.path)
    if source.kind == "tensor" and path.suffix.lower() == ".npz" and (len(names) > 1 or _has_output_arrays(path,
                                                                                                              outputs)):
        return read_named_npz(path, names, outputs)
    if source.kind == "csv" and len(names) > 1:
        return read_named_csv(path, names, source.target, source.task)
    if len(names) > 1:
        raise DatasetError(f"the network takes {len(names)} inputs ({', '.join(names)}): give its data as an .npz file "
                           "with one array per input, or a CSV table with columns per input (NAME.0, NAME.1, ...)")
    return load_spec(spec, train=train, download=download)


def _has_output_arrays(path: Path, outputs: list[str]) -> bool:
    """Whether an .npz file holds targets named after an output node (of several)."""
    if len(outputs) < 2 or not path.is_file():
        return False
    try:
        with numpy.load(path, allow_pickle=False) as arrays:
            return any(output in arrays.files for output in outputs)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        return False  # the usual reader says what is wrong with the file

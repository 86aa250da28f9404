"""What every dataset is made of, at the bottom of `data`: the samples held in memory
(`TensorDataset`), what their targets and classes tell (`LabelledSamples`, which streamed
datasets share), the normalisation statistics, and the rules every reader applies (raw
pixel scale, the input dtype a network takes, integer labels as class indices). The
readers (`datasets`, `arrays`, `sequences`) build on it; it imports no other data module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from pytorchgui.core.errors import DatasetError

# Folders larger than this (decoded, uint8) are streamed from disk instead of held in memory.
IN_MEMORY_LIMIT_BYTES = 4 * 1024**3


@dataclass
class Normalization:
    """Per-channel (images) or per-feature (tables) mean and std of the training set."""

    mean: list[float]
    std: list[float]


@dataclass
class TargetNormalization(Normalization):
    """Per-target mean and std of a regression training set: a network trains on
    (target - mean) / std, so targets of 25 to 346 do not blow up the first steps, and its
    outputs are turned back into the target's units before anything is measured or shown."""

    def _along_targets(self, values):
        import torch  # imported on use: samples is imported without torch by fit at start-up

        mean = torch.tensor(self.mean, dtype=values.dtype, device=values.device)
        std = torch.tensor(self.std, dtype=values.dtype, device=values.device)
        return mean, std

    def standardise(self, values):
        """Targets [N, targets] (or outputs) in the target's units -> standardised units."""
        mean, std = self._along_targets(values)
        return (values - mean) / std

    def restore(self, values):
        """Outputs [N, targets] in standardised units -> the target's units."""
        mean, std = self._along_targets(values)
        return values * std + mean


class _ComputedOnce:
    """A statistic of a dataset, computed by the dataset's method `compute` the first time
    anything reads it and then kept; assigning it gives statistics known from elsewhere
    (the dataset a part was cut from)."""

    def __init__(self, compute: str):
        self.compute = compute

    def __set_name__(self, owner, name: str) -> None:
        self.attribute = f"_{name}_kept"

    def __get__(self, dataset, owner=None):
        if dataset is None:
            return self
        if self.attribute not in vars(dataset):
            setattr(dataset, self.attribute, getattr(dataset, self.compute)())
        return vars(dataset)[self.attribute]

    def __set__(self, dataset, value) -> None:
        setattr(dataset, self.attribute, value)


class OwnNormalization:
    """A dataset owns its normalisation: the mean and std of its samples are computed
    once, by its `compute_normalization`, the first time anything asks for
    `normalization`, and kept; the same for the mean and std of a regression target
    (`target_normalization`, None for classes). A part of a dataset (a validation split,
    a subset) keeps the statistics of the whole, as every earlier version did. A run
    folder records both, and a trained model reads them back from there
    (training.trained_model)."""

    normalization = _ComputedOnce("compute_normalization")
    target_normalization = _ComputedOnce("compute_target_normalization")

    def compute_target_normalization(self) -> TargetNormalization | None:
        """Mean and std of each regression target; None for classes, which are not scaled."""
        if self.classes is not None:
            return None
        targets = self.targets.double().reshape(len(self.targets), -1)
        mean, std = targets.mean(0), targets.std(0, unbiased=False)
        std = std.where(std >= 1e-8, std.new_ones(()))  # a constant target stays as it is
        return TargetNormalization(mean.tolist(), std.tolist())


@dataclass(frozen=True)
class SplitPart:
    """Which part of which dataset a validation split made, and how: enough to draw the
    same rows again from the same file (a run records its validation split's)."""

    whole: str  # the name of the dataset that was split
    samples: int  # how many samples it had
    part: str  # "train" or "validation"
    percent: float
    seed: int


class LabelledSamples:
    """What a dataset's `targets` and `classes` (None for regression) tell."""

    @property
    def is_classification(self) -> bool:
        return self.classes is not None

    @property
    def num_classes(self) -> int | None:
        return len(self.classes) if self.classes is not None else None

    @property
    def output_size(self) -> int:
        """What a network's output per sample must hold: a score per class, or one value
        per regression target."""
        if self.classes is not None:
            return len(self.classes)
        return int(self.targets[0].numel()) if len(self.targets) else 1

    def class_counts(self) -> list[int]:
        if self.classes is None:
            return []
        return torch.bincount(self.targets, minlength=len(self.classes)).tolist()

    def split(self, percent: float, seed: int = 0):
        """(training part, validation part) with `percent` of the samples for validation,
        the same parts for the same seed; each part made by the dataset's `subset`."""
        count = int(round(len(self) * percent / 100.0))
        if count <= 0:
            return self, None
        if count >= len(self):
            raise DatasetError(f"a validation split of {percent:g}% leaves no training samples")
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        validation, training = order[:count].sort().values, order[count:].sort().values
        parts = self.subset(training, f"{self.name} (train part)"), self.subset(validation, f"{self.name} (validation)")
        for part, which in zip(parts, ("train", "validation")):
            part.split_part = SplitPart(self.name, len(self), which, float(percent), int(seed))
        return parts


@dataclass
class TensorDataset(LabelledSamples, OwnNormalization):
    """A dataset held in memory. Images stay uint8 (4x smaller than float32) until batched."""

    name: str
    source: str
    inputs: torch.Tensor
    targets: torch.Tensor
    classes: list[str] | None
    kind: str  # "image", "table", "series" ([N, T, F] windows) or "tokens" (int64 ids)
    feature_names: list[str] = field(default_factory=list)
    origin: Any = None  # the DataSource it was read from (core.data_source), if any
    notes: list[str] = field(default_factory=list)  # choices made while reading (a transposed layout), shown
    tokenizer: Any = None  # the sequences.Tokenizer that made token ids from a CSV text column
    array_names: tuple[str, str] | None = None  # the arrays of an array file that held inputs and targets
    split_part: SplitPart | None = None  # the part of a validation split this is, if it is one

    def __post_init__(self) -> None:
        if len(self.inputs) != len(self.targets):
            raise DatasetError(f"{self.source}: {len(self.inputs)} samples but {len(self.targets)} targets; "
                               "every sample needs exactly one target")
        if len(self.inputs) == 0:
            raise DatasetError(f"{self.source} holds no samples")

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def sample_shape(self) -> list[int]:
        return list(self.inputs.shape[1:])

    @property
    def memory_bytes(self) -> int:
        return self.inputs.element_size() * self.inputs.nelement() + self.targets.element_size() * self.targets.nelement()

    @property
    def token_count(self) -> int | None:
        """For token ids: how many ids an Embedding must hold (the largest id + 1)."""
        return int(self.inputs.max()) + 1 if self.kind == "tokens" else None

    def compute_normalization(self) -> Normalization | None:
        """Mean and std per channel/feature, in the units batches are made in (0..1 for
        images); None for token ids, which are never scaled."""
        if self.kind == "tokens":
            return None
        if self.kind == "series":
            data = self.inputs.reshape(-1, self.inputs.shape[-1]).double()
            mean, std = data.mean(0), data.std(0, unbiased=False)
        elif self.kind == "image":
            channels, per_sample = self.inputs.shape[1], math.prod(self.inputs.shape[1:])
            mean = torch.zeros(channels, dtype=torch.float64)
            square = torch.zeros(channels, dtype=torch.float64)
            other_dims = [0, *range(2, self.inputs.dim())]
            # 8 MB of float64 at a time: a float copy of all of MNIST would take 376 MB
            rows = max(1, (1 << 20) // per_sample)
            for start in range(0, len(self.inputs), rows):
                chunk = self.inputs[start:start + rows].double().mul_(pixel_scale(self))
                mean += chunk.sum(other_dims)
                square += chunk.square_().sum(other_dims)
            count = len(self.inputs) * per_sample // channels
            mean /= count
            std = (square / count - mean * mean).clamp_min(0).sqrt()
        else:
            mean = self.inputs.double().mean(0)
            std = self.inputs.double().std(0, unbiased=False)
        std = torch.where(std < 1e-8, torch.ones_like(std), std)  # constant columns stay as they are
        return Normalization(mean.tolist(), std.tolist())

    def subset(self, indices: torch.Tensor, name: str) -> "TensorDataset":
        part = replace(self, name=name, inputs=self.inputs[indices], targets=self.targets[indices], split_part=None)
        part.normalization, part.target_normalization = self.normalization, self.target_normalization
        return part


def pixel_scale(dataset) -> float:
    """What turns a raw sample into the units batches are made in: 1/255 for uint8 images
    (to 0..1), 1 for float images and everything else."""
    raw = dataset.inputs.dtype if isinstance(dataset, TensorDataset) else getattr(dataset, "raw_dtype", torch.uint8)
    return 1.0 / 255.0 if dataset.kind == "image" and raw == torch.uint8 else 1.0


def input_dtype(dataset) -> str:
    """The dtype a network's input takes for this data: int64 token ids, float32 otherwise."""
    return "int64" if dataset.kind == "tokens" else "float32"


SAMPLE_NOUNS = {"image": "image", "table": "row", "series": "window", "tokens": "sequence"}


def sample_noun(dataset) -> str:
    """What one sample of this data is called where samples are counted ("1,200 rows/s")."""
    return SAMPLE_NOUNS.get(dataset.kind, "sample")


MAX_CLASSES = 100_000


def class_count(labels: torch.Tensor, path: Path) -> int:
    """Integer labels are the classes 0..max: refuse labels that cannot be class indices."""
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise DatasetError(f"{path}: the label {low} is negative; class labels are 0, 1, 2, ... (store float "
                           "targets for regression)")
    if high >= MAX_CLASSES:
        raise DatasetError(f"{path}: the label {high} would make {high + 1:,} classes, more than {MAX_CLASSES:,}; "
                           "class labels are 0, 1, 2, ... (store float targets for regression)")
    return high + 1


def sample_order(count: int, shuffle: bool, generator: torch.Generator | None,
                 shard: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """The order of one epoch's samples. With shard=(rank, world) for distributed training,
    every process draws the same order and takes every world-th sample from `rank` on, so
    the processes' k-th batches together are the k-th batch of a single process with
    world x batch_size (and all get the same number of batches)."""
    order = torch.randperm(count, generator=generator) if shuffle else torch.arange(count)
    rank, world = shard
    if world > 1:
        order = order[: count - count % world][rank::world]
    return order

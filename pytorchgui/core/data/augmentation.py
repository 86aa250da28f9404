"""Augmentation: an ordered pipeline of random operations applied to whole batches.

The operations are a small catalogue of their own (`function_db/augmentations.json`,
read like the schedules): each has its parameters with types, bounds and help, so the
Train tab's editor and the CLI's `--augment` check them the same way. A pipeline is
written as text, the form stored in the run's config and a template's `$recipe`:

    RandomCrop(padding=4), HorizontalFlip, Rotate(degrees=10), MixUp(alpha=0.2)

Every operation works on a batch tensor on the training device, with randomness of its
own for each sample (a crop offset, an angle, a rectangle per image), and every random
number is drawn from the run's seeded CPU generator, so a resumed run augments exactly as
an uninterrupted one. Image operations take the batch in 0..1 units, before it is
normalised: padding and erasing fill with black, as torchvision does. MixUp and CutMix
mix samples of the batch; the loss is then the same mix of the losses against both
targets (`Mix`), which is what the papers do.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy
import torch

from pytorchgui import paths
from pytorchgui.core.errors import CatalogError, ParameterError, TrainingError
from pytorchgui.core.graph.catalog import CatalogEntry, read_database_file


@dataclass(frozen=True)
class Operation:
    """One operation of the catalogue: `images` ones need [N, C, H, W] batches, `batch`
    ones mix samples and change how the loss is computed."""

    entry: CatalogEntry
    images: bool
    batch: bool

    @property
    def name(self) -> str:
        return self.entry.name


def read_operations(path) -> dict[str, Operation]:
    data = read_database_file(Path(path))
    operations = {}
    for name, value in data.items():
        if name not in _FUNCTIONS:
            raise CatalogError(f"{path}: {name} is not an augmentation PyTorchGUI knows "
                               f"({', '.join(_FUNCTIONS)})")
        entry = CatalogEntry.from_json(name, value, kind="augmentations", source=str(path))
        operations[name] = Operation(entry, bool(value.get("images")), bool(value.get("batch")))
    return operations


@functools.lru_cache(maxsize=1)
def operation_catalog() -> dict[str, Operation]:
    return read_operations(paths.function_db_dir() / "augmentations.json")


# -- the pipeline and its text -------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    operation: Operation
    values: Mapping[str, Any]  # validated, defaults filled in

    def text(self) -> str:
        defaults = self.operation.entry.defaults()
        given = [f"{name}={value!r}" if isinstance(value, str) else f"{name}={value:g}"
                 for name, value in self.values.items() if value != defaults.get(name)]
        return self.operation.name + (f"({', '.join(given)})" if given else "")


@dataclass(frozen=True)
class Mix:
    """A mixed batch's second targets: the loss is weight * loss(y) + (1 - weight) * loss(other)."""

    other: torch.Tensor
    weight: float


_STEP = re.compile(r"\s*([A-Za-z_]\w*)\s*(?:\(([^()]*)\))?\s*(?:,|$)")


@dataclass(frozen=True)
class Pipeline:
    steps: tuple[Step, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.steps)

    @classmethod
    def parse(cls, text: str) -> "Pipeline":
        """The pipeline `text` describes; TrainingError naming the operation or value refused."""
        text = (text or "").strip()
        steps, position = [], 0
        while position < len(text):
            match = _STEP.match(text, position)
            if not match or match.end() == position:
                raise TrainingError(f"augmentation {text!r}: cannot read it from {text[position:]!r}; write "
                                    "operations separated by commas, as RandomCrop(padding=4), HorizontalFlip")
            steps.append(cls._step(match.group(1), match.group(2) or ""))
            position = match.end()
        return cls(tuple(steps))

    @staticmethod
    def _step(name: str, arguments: str) -> Step:
        catalog = operation_catalog()
        if name not in catalog:
            raise TrainingError(f"augmentation: {name!r} is not an operation; choose from {', '.join(catalog)}")
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in arguments.split(","))):
            key, equals, value = item.partition("=")
            if not equals:
                raise TrainingError(f"augmentation {name}: write its values as name=value, not {item!r}")
            values[key.strip()] = _number(value.strip())
        return Pipeline.make_step(name, values)

    @staticmethod
    def make_step(name: str, values: Mapping[str, Any]) -> Step:
        operation = operation_catalog()[name]
        try:
            checked = operation.entry.validate(values)
        except ParameterError as error:
            raise TrainingError(f"augmentation: {error}") from None
        for low, high in (("minimum", "maximum"), ("minimum_scale", "maximum_scale")):
            if low in checked and checked[low] > checked[high]:
                raise TrainingError(f"augmentation {name}: {low} {checked[low]:g} is above {high} {checked[high]:g}")
        return Step(operation, checked)

    def text(self) -> str:
        return ", ".join(step.text() for step in self.steps)

    @property
    def needs_images(self) -> list[str]:
        return [step.operation.name for step in self.steps if step.operation.images]

    def check_data(self, kind: str, shape: list[int], where: str) -> None:
        """TrainingError when an operation cannot take this data (a rotation of a table)."""
        image_only = self.needs_images
        if image_only and not (kind == "image" and len(shape) == 3):
            what = {"tokens": "token ids", "table": "table rows", "series": "time-series windows"}.get(kind, "samples")
            raise TrainingError(f"augmentation {', '.join(image_only)} works on images, but {where} holds {what} "
                                f"of shape {shape}: remove {'it' if len(image_only) == 1 else 'them'} from the "
                                "augmentation (Train tab, --augment)")
        mixing = [step.operation.name for step in self.steps if step.operation.batch]
        if mixing and kind == "tokens":
            raise TrainingError(f"augmentation {', '.join(mixing)} blends inputs, but {where} holds token ids, "
                                "which cannot be blended: remove it from the augmentation")

    def apply(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None,
              classification: bool = True) -> tuple[torch.Tensor, torch.Tensor, Mix | None]:
        """(inputs, targets, mix) of one augmented batch; `mix` is None unless MixUp or
        CutMix blended class targets (regression targets are blended in place)."""
        mix = None
        for step in self.steps:
            if step.operation.batch:
                x, y, mix = _FUNCTIONS[step.operation.name](x, y, mix, generator, classification, **step.values)
            else:
                x = _FUNCTIONS[step.operation.name](x, generator, **step.values)
        return x, y, mix


def _number(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text.strip("'\"")


# -- the operations ----------------------------------------------------------------------------
def _uniform(count: int, low: float, high: float, generator, device) -> torch.Tensor:
    return (low + (high - low) * torch.rand(count, generator=generator)).to(device)


def _chance(count: int, probability: float, generator, device) -> torch.Tensor:
    return (torch.rand(count, generator=generator) < probability).to(device)


def random_crop(x: torch.Tensor, generator, padding: int) -> torch.Tensor:
    """Each image shifted by its own offset: pad, then one gather of a window per sample
    from the flattened padded image (one indexing op, whatever the batch size)."""
    count, channels, height, width = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (count,), generator=generator).to(x.device)
    left = torch.randint(0, 2 * padding + 1, (count,), generator=generator).to(x.device)
    padded_width = width + 2 * padding
    window = (torch.arange(height, device=x.device)[:, None] * padded_width
              + torch.arange(width, device=x.device)[None, :]).reshape(1, -1)
    index = (top * padded_width + left)[:, None] + window  # [N, H*W] positions in the padded image
    flat = padded.reshape(count, channels, -1)
    return flat.gather(2, index[:, None, :].expand(count, channels, -1)).reshape(count, channels, height, width)


def _flip(x: torch.Tensor, generator, probability: float, axis: int) -> torch.Tensor:
    flip = _chance(len(x), probability, generator, x.device)
    return torch.where(flip[:, None, None, None], x.flip(axis), x)


def horizontal_flip(x, generator, probability):
    return _flip(x, generator, probability, 3)


def vertical_flip(x, generator, probability):
    return _flip(x, generator, probability, 2)


def _resample(x: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """One grid_sample for rotation by `angle` (radians), zoom by `scale` and a shift (in
    -1..1 units) per sample; outside the image is black. The sampling grid is every
    sample's 2 x 3 matrix times the pixel centres, one [2N, 3] x [3, H*W] product: for
    MNIST-sized batches affine_grid (or a batched matmul) takes about four times as long."""
    count, _, height, width = x.shape
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([cos, -sin, shift[:, 0], sin, cos, shift[:, 1]], 1).to(x.dtype).reshape(count * 2, 3)
    grid = (theta @ _pixel_centres(height, width, x.device, x.dtype)).reshape(count, 2, height, width)
    return torch.nn.functional.grid_sample(x, grid.permute(0, 2, 3, 1), mode="bilinear", padding_mode="zeros",
                                           align_corners=False)


@functools.lru_cache(maxsize=16)
def _pixel_centres(height: int, width: int, device, dtype) -> torch.Tensor:
    """[3, H*W]: x, y and 1 of every pixel centre, in -1..1 units (align_corners=False)."""
    ys = (torch.arange(height, dtype=dtype) * 2 + 1) / height - 1
    xs = (torch.arange(width, dtype=dtype) * 2 + 1) / width - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1), torch.ones(height * width, dtype=dtype)]).to(device)


def affine(x, generator, degrees, minimum_scale, maximum_scale, shift):
    count = len(x)
    angle = _uniform(count, -math.radians(degrees), math.radians(degrees), generator, x.device)
    scale = _uniform(count, minimum_scale, maximum_scale, generator, x.device)
    offsets = _uniform(2 * count, -2 * shift, 2 * shift, generator, x.device).reshape(count, 2)
    return _resample(x, angle, scale, offsets)


def rotate(x, generator, degrees):
    return affine(x, generator, degrees, 1.0, 1.0, 0.0)


def scale(x, generator, minimum, maximum):
    return affine(x, generator, 0.0, minimum, maximum, 0.0)


def color_jitter(x, generator, brightness, contrast):
    count = len(x)
    bright = _uniform(count, 1 - brightness, 1 + brightness, generator, x.device)[:, None, None, None]
    factor = _uniform(count, 1 - contrast, 1 + contrast, generator, x.device)[:, None, None, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * factor + mean).mul_(bright).clamp_(0, 1)


def _boxes(height: int, width: int, area: torch.Tensor, kept: torch.Tensor, generator, device) -> torch.Tensor:
    """A mask [N, 1, H, W], True inside one random rectangle per sample of `area` (a
    fraction of the image) and aspect ratio between 1:3 and 3:1, where `kept` is True
    (all False elsewhere). Its shape and place come from one draw of the generator."""
    shape_draw, top, left = torch.rand(3, len(area), generator=generator)
    aspect = torch.exp((2 * shape_draw - 1) * math.log(3))
    box_height = (torch.sqrt(area * aspect) * height).round().clamp(1, height) * kept
    box_width = (torch.sqrt(area / aspect) * width).round().clamp(1, width)
    top = (top * (height - box_height + 1)).floor()
    left = (left * (width - box_width + 1)).floor()
    rows, columns = torch.arange(height), torch.arange(width)
    inside_rows = (rows >= top[:, None]) & (rows < (top + box_height)[:, None])
    inside_columns = (columns >= left[:, None]) & (columns < (left + box_width)[:, None])
    return (inside_rows[:, None, :, None] & inside_columns[:, None, None, :]).to(device)


def random_erasing(x, generator, probability, largest_area):
    count, _, height, width = x.shape
    draws = torch.rand(2, count, generator=generator)
    area = 0.02 + (max(largest_area, 0.02) - 0.02) * draws[0]
    mask = _boxes(height, width, area, draws[1] < probability, generator, x.device)
    return x.masked_fill(mask, 0.0)


def _beta(alpha: float, generator) -> float:
    """Beta(alpha, alpha) drawn from the run's generator (torch's Beta takes none)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return float(numpy.random.default_rng(seed).beta(alpha, alpha))


def _mixed_targets(y, other, weight: float, mix: Mix | None, classification: bool):
    if classification:
        return y, Mix(other, weight) if mix is None else mix
    return weight * y + (1 - weight) * other, mix


def mixup(x, y, mix, generator, classification, alpha, probability):
    if mix is not None or torch.rand(1, generator=generator).item() >= probability:
        return x, y, mix  # one mix per batch: a second would blend the targets of the first
    weight = _beta(alpha, generator)
    order = torch.randperm(len(x), generator=generator).to(x.device)
    x = torch.lerp(x[order], x, weight)  # weight * x + (1 - weight) * x[order], one pass
    return (x, *_mixed_targets(y, y[order], weight, mix, classification))


def cutmix(x, y, mix, generator, classification, alpha, probability):
    if mix is not None or torch.rand(1, generator=generator).item() >= probability:
        return x, y, mix
    count, _, height, width = x.shape
    pasted = 1 - _beta(alpha, generator)
    order = torch.randperm(count, generator=generator).to(x.device)
    mask = _boxes(height, width, torch.tensor([max(pasted, 1e-6)]), torch.ones(1, dtype=torch.bool), generator,
                  "cpu")  # counted on the host: reading a GPU mask would wait for the device
    weight = 1 - float(mask.sum()) / (height * width)  # the area actually pasted, after rounding
    x = torch.where(mask.to(x.device), x[order], x)
    return (x, *_mixed_targets(y, y[order], weight, mix, classification))


_FUNCTIONS: dict[str, Callable] = {
    "RandomCrop": random_crop, "HorizontalFlip": horizontal_flip, "VerticalFlip": vertical_flip,
    "Rotate": rotate, "Scale": scale, "Affine": affine, "ColorJitter": color_jitter,
    "RandomErasing": random_erasing, "MixUp": mixup, "CutMix": cutmix,
}


@dataclass(frozen=True)
class PreviewSample:
    image: Any  # H x W (x 3) uint8 array, as the network's batch sees it before normalisation
    label: str


def preview(dataset, pipeline: Pipeline, count: int = 24, seed: int = 0) -> list[PreviewSample]:
    """`count` evenly spread images of an image dataset, augmented as one training batch
    is with the generator seeded by `seed`; a blended sample's label names both classes
    and their weights."""
    indices = torch.linspace(0, len(dataset) - 1, min(count, len(dataset))).long()
    raw = torch.stack([_raw_sample(dataset, int(index)) for index in indices])
    scale = 1 / 255 if raw.dtype == torch.uint8 else 1.0
    targets = torch.stack([torch.as_tensor(dataset.targets[int(index)]) for index in indices])
    classes = getattr(dataset, "classes", None)
    x, y, mix = pipeline.apply(raw.float() * scale, targets, torch.Generator().manual_seed(seed),
                               classification=classes is not None)
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8) if scale != 1.0 else x
    name = (lambda value: classes[int(value)]) if classes is not None else (lambda value: f"{float(value):.3g}")
    samples = []
    for i, image in enumerate(images):
        label = name(y[i]) if y[i].numel() == 1 else ""
        if mix is not None:  # the larger share first
            shares = sorted([(mix.weight, name(y[i])), (1 - mix.weight, name(mix.other[i]))], reverse=True)
            label = f"{shares[0][1]} {shares[0][0]:.0%} + {shares[1][1]}"
        array = image[0] if image.shape[0] == 1 else image[:3].permute(1, 2, 0)
        samples.append(PreviewSample(numpy.ascontiguousarray(array.numpy()), label))
    return samples


def _raw_sample(dataset, index: int) -> torch.Tensor:
    inputs = getattr(dataset, "inputs", None)
    return inputs[index] if inputs is not None else dataset[index][0]


def first_version_pipeline(crop_padding: int, horizontal_flip: bool) -> str:
    """The pipeline of the first version's two augmentation options."""
    steps = ([f"RandomCrop(padding={int(crop_padding)})"] if crop_padding else []) + (
        ["HorizontalFlip"] if horizontal_flip else [])
    return ", ".join(steps)

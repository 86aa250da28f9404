"""Datasets: every source read into one shape, and batches made fast.

A dataset that fits in memory is read once into tensors (`TensorDataset`: uint8 images
[N, C, H, W] or float32 tables [N, F], targets as int64 class indices or float32 values).
Batches are then made by indexing with a shuffled permutation and normalised per batch
on the target device: no per-sample PIL image, no collate. A folder of images too large
for memory is streamed instead (`StreamingImageFolder`, a DataLoader with workers).

Sources: torchvision's MNIST family and CIFAR-10/100 (downloaded when asked, read from
torchvision's on-disk layout otherwise), folders of images (one sub-folder per class),
CSV tables, .npz and .pt tensor files, and a built-in generated dataset that needs no
file at all. Every failure is a DatasetError that names the file and says what to do;
nothing from a file is ever executed (CIFAR pickles are read with a restricted
unpickler, .pt files with weights_only=True).
"""
from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import Any, Iterator

import numpy
import torch

from pytorchgui.core.data import sequences
from pytorchgui.core.data.arrays import read_array_file
from pytorchgui.core.data.augmentation import Pipeline
# The shared types live in samples; they are offered here too, where callers have always found them.
from pytorchgui.core.data.samples import (IN_MEMORY_LIMIT_BYTES, MAX_CLASSES, LabelledSamples, OwnNormalization,  # noqa: F401
                                          Normalization, TensorDataset, class_count, input_dtype, pixel_scale,
                                          sample_order)
from pytorchgui.core.errors import DatasetError  # noqa: F401 - its home before errors.py; callers import it here

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


# -- batches -------------------------------------------------------------------------------
def _scale_and_shift(normalization: Normalization | None, shape: list[int], axis: int, device):
    """(multiplier, offset) that normalise a batch of 0..1 images or raw features in one
    fused multiply-add, x_normalised = (x - mean) / std = x * multiplier + offset, with the
    statistics along `axis` of a sample (channels of images, features of tables and series)."""
    if normalization is not None:
        mean = torch.tensor(normalization.mean, dtype=torch.float32)
        std = torch.tensor(normalization.std, dtype=torch.float32)
    else:
        mean, std = torch.zeros(shape[axis]), torch.ones(shape[axis])
    view = [1] * (len(shape) + 1)
    view[axis % len(shape) + 1] = -1
    return (1.0 / std).reshape(view).to(device), (-mean / std).reshape(view).to(device)


def statistics_axis(kind: str) -> int:
    """The axis of a sample that normalisation works along: the channels of an image
    [C, H, W], the features of a table [F] or of a series' time step [T, F]."""
    return 0 if kind in ("image", "table") else -1


class _BatchMaker:
    """What in-memory and streamed batches share: normalising a raw batch on the device,
    augmenting it first when training. Images arrive as uint8 and are augmented in 0..1
    units (black padding); token ids are passed on as int64, never scaled."""

    def _prepare(self, dataset, normalization: Normalization | None, device, augmentation,
                 channels_last: bool) -> None:
        kind, shape = dataset.kind, dataset.sample_shape
        self.kind, self.device = kind, torch.device(device)
        self.augmentation = augmentation or Pipeline()
        self.channels_last = channels_last and kind == "image" and len(shape) == 3
        self.scale = pixel_scale(dataset)
        self.multiplier, self.offset = _scale_and_shift(normalization, shape, statistics_axis(kind), self.device)
        self.raw_multiplier = self.multiplier * self.scale  # raw -> normalised in one multiply-add

    def normalised(self, raw: torch.Tensor) -> torch.Tensor:
        """A raw batch (uint8 images, raw features, token ids) as the network takes it."""
        if self.kind == "tokens":
            return raw.long()
        return self._laid_out(torch.addcmul(self.offset, raw.float(), self.raw_multiplier))

    def _laid_out(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _augmented(self, raw: torch.Tensor, y: torch.Tensor, generator, classification: bool):
        """(normalised inputs, targets, mix) of a training batch."""
        if self.kind == "tokens" or not self.augmentation:
            return self.normalised(raw), y, None
        x = raw.float().mul_(self.scale)
        x, y, mix = self.augmentation.apply(x, y, generator, classification)
        return self._laid_out(torch.addcmul(self.offset, x, self.multiplier)), y, mix

    def number_of_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return len(self) // batch_size if drop_last else math.ceil(len(self) / batch_size)

    def training_batches(self, batch_size: int, *, generator: torch.Generator | None = None,
                         drop_last: bool = False, shard: tuple[int, int] = (0, 1)) -> Iterator:
        """(inputs, targets, mix) of shuffled, augmented batches; `mix` is None unless the
        pipeline's MixUp or CutMix blended the batch (see augmentation.Mix)."""
        classification = getattr(self.dataset, "classes", None) is not None
        for raw, y in self._raw_batches(batch_size, True, generator, drop_last, shard):
            yield self._augmented(raw, y, generator, classification)

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None,
                drop_last: bool = False, shard: tuple[int, int] = (0, 1)) -> Iterator:
        """(inputs, targets) in a (seeded) shuffled order, normalised; see sample_order for `shard`."""
        for raw, y in self._raw_batches(batch_size, shuffle, generator, drop_last, shard):
            yield self.normalised(raw), y


class InMemoryBatches(_BatchMaker):
    """Batches of a TensorDataset as tensors on `device`, normalised, optionally augmented.

    The whole uint8 dataset is moved to the device once; each batch is one index_select
    and one fused multiply-add. Augmentation works on the batch tensor, never per sample.
    """

    def __init__(self, dataset: TensorDataset, normalization: Normalization | None, device: torch.device | str = "cpu",
                 *, augmentation=None, channels_last: bool = False):
        self.dataset = dataset
        self._prepare(dataset, normalization, device, augmentation, channels_last)
        non_blocking = self.device.type == "cuda"
        inputs = dataset.inputs.pin_memory() if non_blocking else dataset.inputs
        self.inputs = inputs.to(self.device, non_blocking=non_blocking)
        self.targets = dataset.targets.to(self.device, non_blocking=non_blocking)

    def __len__(self) -> int:
        return len(self.dataset)

    def make_batch(self, indices: torch.Tensor):
        return self.normalised(self.inputs.index_select(0, indices)), self.targets.index_select(0, indices)

    def _raw_batches(self, batch_size, shuffle, generator, drop_last, shard) -> Iterator:
        order = sample_order(len(self), shuffle, generator, shard).to(self.device)
        stop = len(order) - (len(order) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            indices = order[start:start + batch_size]
            yield self.inputs.index_select(0, indices), self.targets.index_select(0, indices)


# -- sources ---------------------------------------------------------------------------------
TORCHVISION_DATASETS = {
    "MNIST": "MNIST",
    "FashionMNIST": "FashionMNIST",
    "KMNIST": "KMNIST",
    "CIFAR10": "CIFAR10",
    "CIFAR100": "CIFAR100",
}


def load_torchvision(name: str, root: str | os.PathLike, train: bool = True, download: bool = False) -> TensorDataset:
    """One of torchvision's datasets from `root` in torchvision's layout (downloaded if asked)."""
    if name not in TORCHVISION_DATASETS:
        raise DatasetError(f"unknown torchvision dataset {name!r}; choose one of {', '.join(TORCHVISION_DATASETS)}")
    root = Path(root)
    if name.startswith("CIFAR"):
        return _load_cifar(name, root, train, download)
    import torchvision  # imported on use: torchvision takes a second to import

    dataset_class = getattr(torchvision.datasets, name)
    raw = root / name / "raw"
    try:
        dataset = dataset_class(str(root), train=train, download=download)
    except RuntimeError as error:
        if "not found" in str(error).lower():
            hint = ("tick 'Download if missing' (needs internet), or " if not download else
                    "the download failed (no internet?); ")
            raise DatasetError(f"{name} is not in {raw}: {hint}put torchvision's {name} raw files "
                               "(train-images-idx3-ubyte, ...) there") from None
        raise DatasetError(f"{name} in {raw} cannot be read: {error}") from None
    except (OSError, ValueError, EOFError) as error:
        raise DatasetError(f"{name} in {raw} cannot be read ({error}): the files may be truncated; "
                           "delete them and download again") from None
    inputs = dataset.data
    if inputs.dim() != 3 or inputs.dtype != torch.uint8 or len(inputs) != len(dataset.targets):
        raise DatasetError(f"{name} in {raw} is not what torchvision writes: images {tuple(inputs.shape)}, "
                           f"{len(dataset.targets)} labels")
    split = "train" if train else "test"
    return TensorDataset(name=f"{name} ({split})", source=f"torchvision {name} at {root}", inputs=inputs.unsqueeze(1),
                         targets=torch.as_tensor(dataset.targets, dtype=torch.int64), classes=list(dataset.classes),
                         kind="image")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """CIFAR batches are pickled dicts of numpy arrays. Only what those need may be
    created: any other global (os.system, ...) in a file is refused, not run."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def _read_cifar_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as stream:
            batch = _ArrayOnlyUnpickler(stream, encoding="latin1").load()
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise DatasetError(f"{path} is not a CIFAR batch ({error}): the file may be truncated or not from the "
                           "CIFAR archive; delete it and download again") from None
    if not isinstance(batch, dict):
        raise DatasetError(f"{path} is not a CIFAR batch (it holds {type(batch).__name__})")
    return {key.decode() if isinstance(key, bytes) else key: value for key, value in batch.items()}


def _load_cifar(name: str, root: Path, train: bool, download: bool) -> TensorDataset:
    folder, label_key, meta_file, meta_key = (
        ("cifar-10-batches-py", "labels", "batches.meta", "label_names") if name == "CIFAR10"
        else ("cifar-100-python", "fine_labels", "meta", "fine_label_names"))
    base = root / folder
    if download and not base.is_dir():
        import torchvision  # imported on use: torchvision takes a second to import

        try:  # torchvision's own download and checksum; the reading below stays ours
            getattr(torchvision.datasets, name)(str(root), train=train, download=True)
        except Exception as error:  # noqa: BLE001 - any network failure means the same to the user
            raise DatasetError(f"downloading {name} into {root} failed ({error}); without internet, put the "
                               f"extracted '{folder}' folder there") from None
    if name == "CIFAR10":
        files = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    else:
        files = ["train"] if train else ["test"]
    images, labels = [], []
    for file in files:
        try:
            batch = _read_cifar_batch(base / file)
        except FileNotFoundError:
            hint = "tick 'Download if missing' (needs internet), or " if not download else ""
            raise DatasetError(f"{name} is not in {base} ({file} is missing): {hint}put the extracted "
                               f"'{folder}' folder of the CIFAR archive in {root}") from None
        data, batch_labels = batch.get("data"), batch.get(label_key)
        if not isinstance(data, numpy.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or batch_labels is None:
            raise DatasetError(f"{base / file} is not a CIFAR batch: expected 'data' of N x 3072 bytes and "
                               f"'{label_key}'")
        if len(batch_labels) != len(data):
            raise DatasetError(f"{base / file} has {len(data)} images but {len(batch_labels)} labels")
        images.append(torch.from_numpy(numpy.ascontiguousarray(data, dtype=numpy.uint8)).reshape(-1, 3, 32, 32))
        labels.append(torch.as_tensor(list(batch_labels), dtype=torch.int64))
    try:
        meta = _read_cifar_batch(base / meta_file)
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in meta[meta_key]]
    except (FileNotFoundError, KeyError):
        classes = [str(i) for i in range(10 if name == "CIFAR10" else 100)]
    split = "train" if train else "test"
    return TensorDataset(name=f"{name} ({split})", source=f"torchvision {name} at {root}", inputs=torch.cat(images),
                         targets=torch.cat(labels), classes=classes, kind="image")


def _image_files(folder: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder: choose a folder with one sub-folder per class")
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if not classes:
        raise DatasetError(f"{folder} has no sub-folders: put the images of each class in a sub-folder named after "
                           "the class")
    samples = []
    for index, name in enumerate(classes):
        for path in sorted((folder / name).rglob("*")):
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
                samples.append((path, index))
    if not samples:
        raise DatasetError(f"{folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}) in its class sub-folders")
    return classes, samples


SINGLE_CHANNEL_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def _folder_channels(samples: list[tuple[Path, int]]) -> int:
    """1 if every image of the folder is single-channel (grayscale), else 3. Opening an
    image reads only its header, so this costs little beside decoding the images."""
    from PIL import Image, UnidentifiedImageError  # imported on use: only image folders need PIL

    for path, _ in samples:
        try:
            with Image.open(path) as image:
                if image.mode not in SINGLE_CHANNEL_MODES:
                    return 3
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
            raise DatasetError(f"{path} is not a readable image ({error}): remove or replace it") from None
    return 1


def _open_image(path: Path, size: tuple[int, int] | None, channels: int):
    from PIL import Image, UnidentifiedImageError  # imported on use: only image folders need PIL

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            return image
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise DatasetError(f"{path} is not a readable image ({error}): remove or replace it") from None


def load_image_folder(folder: str | os.PathLike, *, size: tuple[int, int] | None = None, channels: int | None = None,
                      memory_limit: int = IN_MEMORY_LIMIT_BYTES):
    """A folder with one sub-folder per class. Images are decoded once into a uint8
    tensor; `size` (height, width) resizes them, and is needed when their sizes differ.
    `channels`: 1 (grayscale), 3 (RGB), or None: 1 if every image is single-channel.
    Folders too large for memory come back as a StreamingImageFolder."""
    folder = Path(folder)
    classes, samples = _image_files(folder)
    channels = channels or _folder_channels(samples)
    first = _open_image(samples[0][0], size, channels)
    height, width = size if size is not None else (first.size[1], first.size[0])
    if len(samples) * channels * height * width > memory_limit:
        return StreamingImageFolder(folder, classes, samples, (height, width), channels)
    inputs = torch.empty((len(samples), channels, height, width), dtype=torch.uint8)
    for index, (path, _) in enumerate(samples):
        image = first if index == 0 else _open_image(path, size, channels)
        if (image.size[1], image.size[0]) != (height, width):
            raise DatasetError(f"{path} is {image.size[0]}x{image.size[1]} but {samples[0][0].name} is "
                               f"{width}x{height}: choose a size to resize all images to")
        array = numpy.array(image, dtype=numpy.uint8)
        inputs[index] = torch.from_numpy(array.reshape(height, width, channels)).permute(2, 0, 1)
    targets = torch.tensor([label for _, label in samples], dtype=torch.int64)
    return TensorDataset(name=folder.name, source=f"image folder {folder}", inputs=inputs, targets=targets,
                         classes=classes, kind="image")


class StreamingImageFolder(OwnNormalization):
    """A folder of images read batch by batch by a DataLoader with workers (larger than memory)."""

    kind = "image"

    def __init__(self, folder: Path, classes: list[str], samples: list[tuple[Path, int]], size: tuple[int, int],
                 channels: int):
        self.folder, self.classes, self.samples = folder, classes, samples
        self.size, self.channels = size, channels
        self.name, self.source = folder.name, f"image folder {folder} (streamed)"
        self.origin = None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = _open_image(path, self.size, self.channels)
        array = numpy.array(image, dtype=numpy.uint8).reshape(self.size[0], self.size[1], -1)
        return torch.from_numpy(array).permute(2, 0, 1), label

    @property
    def sample_shape(self) -> list[int]:
        return [self.channels, *self.size]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def output_size(self) -> int:
        return len(self.classes)

    is_classification = True

    @property
    def memory_bytes(self) -> int:
        return 0

    def class_counts(self) -> list[int]:
        counts = [0] * len(self.classes)
        for _, label in self.samples:
            counts[label] += 1
        return counts

    def loader(self, batch_size: int, shuffle: bool, workers: int, generator: torch.Generator | None = None,
               sampler=None, drop_last: bool = False):
        return torch.utils.data.DataLoader(self, batch_size=batch_size, shuffle=shuffle and sampler is None,
                                           num_workers=workers, generator=generator, sampler=sampler,
                                           pin_memory=torch.cuda.is_available(), drop_last=drop_last)

    def compute_normalization(self, samples: int = 2000) -> Normalization:
        """Mean and std per channel from an evenly spread subset (reading every image of a
        folder larger than memory only for its statistics would take as long as an epoch)."""
        step = max(1, len(self) // samples)
        images = torch.stack([self[index][0] for index in range(0, len(self), step)])
        subset = TensorDataset("subset", self.source, images, torch.zeros(len(images), dtype=torch.int64),
                               self.classes, "image")
        return subset.compute_normalization()

    def split(self, percent: float, seed: int = 0):
        if percent:
            raise DatasetError(f"{self.folder} is streamed from disk and cannot be split for validation: import a "
                               "separate validation folder, or choose Validation: None")
        return self, None

    @property
    def targets(self) -> torch.Tensor:
        return torch.tensor([label for _, label in self.samples], dtype=torch.int64)


class StreamingBatches(_BatchMaker):
    """Batches of a streamed dataset (an image folder, an HDF5 file or a memory-mapped
    .npy larger than memory): read by a DataLoader with workers, then moved to the device,
    normalised and augmented there as a whole batch, like InMemoryBatches."""

    def __init__(self, dataset, normalization: Normalization | None, device: torch.device | str = "cpu", *,
                 workers: int = 0, augmentation=None, channels_last: bool = False):
        self.dataset, self.workers = dataset, workers
        self._prepare(dataset, normalization, device, augmentation, channels_last)

    def __len__(self) -> int:
        return len(self.dataset)

    def _raw_batches(self, batch_size, shuffle, generator, drop_last, shard) -> Iterator:
        order = sample_order(len(self), shuffle, generator, shard)
        loader = self.dataset.loader(batch_size, False, self.workers, sampler=order.tolist(), drop_last=drop_last)
        non_blocking = self.device.type == "cuda"
        for x, y in loader:
            yield x.to(self.device, non_blocking=non_blocking), y.to(self.device, non_blocking=non_blocking)


def batches_for(dataset, normalization: Normalization | None, device, **options):
    """The fast batches of a dataset held in memory, or streaming ones for a folder that is not."""
    own_batches = getattr(dataset, "own_batches", None)
    if own_batches is not None:  # several inputs: taken as they are, with the targets the dataset serves
        return own_batches(device)
    if not isinstance(dataset, TensorDataset):
        return StreamingBatches(dataset, normalization, device, **options)
    options.pop("workers", None)
    return InMemoryBatches(dataset, normalization, device, **options)


def load_csv(path: str | os.PathLike, target: str, *, task: str = "auto", categorical: str = "one-hot",
             text_input: str = "", tokens: str = "words", vocabulary: int = 10000, length: int = 64,
             window: int = 0, horizon: int = 1, tokenizer=None) -> TensorDataset:
    """A table: `target` is the column to predict; the other columns are the features.

    task: "classification", "regression" or "auto" (text targets, and whole-number targets
    with at most 100 values each seen twice on average, are classes). Numeric features are used as they are and standardised
    per batch from the training set's statistics; text features are one-hot encoded
    (categorical="one-hot") or refused (categorical="reject").

    text_input: a text column that is the whole input, tokenised (core.sequences: `tokens`
    words or characters, a `vocabulary` of the most frequent, `length` ids per row), with
    `tokenizer` (the training set's) when given. window: a time series instead, each
    sample `window` rows of the numeric columns and its target the target column
    `horizon` rows after them.
    """
    import pandas  # imported on use: pandas takes 0.2 s and only CSV tables need it

    path = Path(path)
    frame = _read_csv(path, target)
    labels = frame.pop(target)
    targets, classes = _csv_targets(path, target, labels, task)
    kind, notes, found_tokenizer = "table", [], None
    if window:
        numeric = [column for column in frame.columns if _is_number_column(frame[column])]
        names = [*map(str, numeric), str(target)] if classes is None else list(map(str, numeric))
        columns = [frame[column] for column in numeric] + ([labels] if classes is None else [])
        if not columns:
            raise DatasetError(f"{path} has no numeric column to make windows of besides the target {target!r}")
        values = _numbers(path, pandas.concat(columns, axis=1))
        inputs, targets, names = sequences.windows(path, values, targets, window, horizon, names)
        kind = "series"
        notes.append(f"time series: windows of {window} rows, target {horizon} row(s) after each window")
        left_out = [str(column) for column in frame.columns if column not in numeric]
        if left_out:
            notes.append(f"columns left out (not numbers): {', '.join(left_out)}")
    elif text_input:
        inputs, found_tokenizer = sequences.text_inputs(path, frame, text_input, tokenizer, tokens, vocabulary, length)
        kind, names = "tokens", [text_input]
        vocabulary_of = " with the training set's vocabulary" if tokenizer is not None else ""
        notes.append(f"text column {text_input!r} as token ids{vocabulary_of}: {found_tokenizer.describe()}")
    else:
        table = _table_features(path, target, frame, categorical)
        inputs, names = torch.tensor(table.to_numpy(dtype="float32")), list(table.columns)
    return TensorDataset(name=path.name, source=f"CSV {path} (target {target})", inputs=inputs, targets=targets,
                         classes=classes, kind=kind, feature_names=names, notes=notes, tokenizer=found_tokenizer)


def _read_csv(path: Path, target: str):
    import pandas  # imported on use: pandas takes 0.2 s and only CSV tables need it

    try:
        frame = pandas.read_csv(path)
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist") from None
    except (pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise DatasetError(f"{path} is not a readable CSV table: {error}") from None
    if target not in frame.columns:
        raise DatasetError(f"{path} has no column {target!r}; its columns are {', '.join(map(str, frame.columns))}")
    if frame.empty:
        raise DatasetError(f"{path} has a header but no rows")
    if frame[target].isna().any():
        row = int(frame[target].isna().to_numpy().nonzero()[0][0]) + 2
        raise DatasetError(f"{path}: the target column {target!r} is empty in row {row}: fill it or remove the row")
    return frame


def _is_number_column(values) -> bool:
    import pandas  # imported on use: pandas takes 0.2 s and only CSV tables need it

    return pandas.api.types.is_numeric_dtype(values) and not pandas.api.types.is_bool_dtype(values)


def _numbers(path: Path, frame) -> torch.Tensor:
    for column in frame.columns:
        if frame[column].isna().any():
            row = int(frame[column].isna().to_numpy().nonzero()[0][0]) + 2
            raise DatasetError(f"{path}: column {column!r} is empty in row {row}: fill it or remove the row")
    return torch.tensor(frame.to_numpy(dtype="float32"))


def _table_features(path: Path, target: str, frame, categorical: str):
    import pandas  # imported on use: pandas takes 0.2 s and only CSV tables need it

    features = []
    for column in frame.columns:
        values = frame[column]
        if _is_number_column(values):
            _numbers(path, frame[[column]])
            features.append(values.astype("float32").rename(str(column)))
            continue
        numeric = pandas.to_numeric(values, errors="coerce")
        bad = numeric.isna() & values.notna()
        if numeric.notna().mean() > 0.9 and bad.any():  # a number column with a typo in it
            row = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise DatasetError(f"{path}: column {column!r} holds numbers but row {row} has {values[bad].iloc[0]!r}: "
                               "correct that cell")
        if categorical == "reject":
            raise DatasetError(f"{path}: column {column!r} holds text ({values.iloc[0]!r}, ...); remove it, or choose "
                               "one-hot encoding for text columns")
        dummies = pandas.get_dummies(values.astype(str), prefix=str(column), dtype="float32")
        features.extend(dummies[name] for name in dummies.columns)
    if not features:
        raise DatasetError(f"{path} has no feature columns besides the target {target!r}")
    return pandas.concat(features, axis=1)


def _csv_targets(path: Path, target: str, labels, task: str) -> tuple[torch.Tensor, list[str] | None]:
    import pandas  # imported on use: pandas takes 0.2 s and only CSV tables need it

    whole = pandas.api.types.is_integer_dtype(labels) or (
        pandas.api.types.is_float_dtype(labels) and (labels % 1 == 0).all())
    textual = not pandas.api.types.is_numeric_dtype(labels)
    if task == "auto":
        # Whole numbers are classes when few and repeated (0..9 digits), values otherwise (ages).
        few = labels.nunique() <= 100 and labels.nunique() <= len(labels) / 2
        task = "classification" if textual or (whole and few) else "regression"
    if task == "classification":
        # Text classes in alphabetical order, numbers in numeric order (2 before 10).
        classes = sorted(labels.astype(str).unique()) if textual else [str(v) for v in sorted(labels.unique())]
        index = {name: i for i, name in enumerate(classes)}
        keys = labels.astype(str) if textual else labels.map(lambda v: str(v))
        return torch.tensor([index[k] for k in keys], dtype=torch.int64), classes
    if task == "regression":
        if textual:
            raise DatasetError(f"{path}: the target {target!r} holds text, so it cannot be a regression target; "
                               "choose classification")
        return torch.tensor(labels.to_numpy(dtype="float32")).unsqueeze(1), None
    raise DatasetError(f"unknown task {task!r}: choose classification, regression or auto")


def load_tensor_file(path: str | os.PathLike, **options):
    """An array file (.npz, .pt, .npy pair, HDF5): see core.arrays.read_array_file."""
    return read_array_file(path, **options)


BUILTIN_CLASSES = ["circle", "disk", "square", "filled square", "horizontal bar", "vertical bar", "plus",
                   "cross", "triangle", "diamond"]


def make_builtin(samples: int = 12000, seed: int = 0, train: bool = True, size: int = 28) -> TensorDataset:
    """Shapes: 28x28 grayscale images of ten simple shapes, drawn with random position,
    size, stroke width, brightness and noise. Deterministic for a seed, generated in a
    fraction of a second, and hard enough that a linear model stays well below a CNN.
    The train and test sets use different seeds (see data_source.builtin_pair)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(samples) % len(BUILTIN_CLASSES)
    labels = labels[torch.randperm(samples, generator=generator)]

    def uniform(low: float, high: float) -> torch.Tensor:
        return (low + (high - low) * torch.rand(samples, generator=generator))[:, None, None]

    grid = torch.arange(size, dtype=torch.float32)
    cy, cx = uniform(9, size - 9), uniform(9, size - 9)
    radius, stroke = uniform(4.5, 8.5), uniform(1.0, 2.2)
    dy = grid[None, :, None] - cy
    dx = grid[None, None, :] - cx
    # A random rotation, so that bars and crosses are not given away by one pixel row.
    angle = uniform(-0.35, 0.35)
    dx, dy = dx * torch.cos(angle) - dy * torch.sin(angle), dx * torch.sin(angle) + dy * torch.cos(angle)
    distance = torch.sqrt(dx * dx + dy * dy)
    box = torch.maximum(dx.abs(), dy.abs())
    shapes = torch.stack([
        (distance - radius).abs() < stroke,
        distance < radius,
        (box - radius).abs() < stroke,
        box < radius,
        (dy.abs() < stroke) & (dx.abs() < radius),
        (dx.abs() < stroke) & (dy.abs() < radius),
        ((dy.abs() < stroke) & (dx.abs() < radius)) | ((dx.abs() < stroke) & (dy.abs() < radius)),
        (((dx - dy).abs() < stroke * 1.4) | ((dx + dy).abs() < stroke * 1.4)) & (box < radius * 0.8),
        (dy < radius * 0.8) & (dx.abs() < (dy + radius) * 0.55) & (dy > -radius),
        dx.abs() + dy.abs() < radius,
    ], dim=1)
    images = shapes[torch.arange(samples), labels].float() * uniform(0.6, 1.0)
    images = images + 0.12 * torch.randn(images.shape, generator=generator)
    inputs = (images.clamp(0, 1) * 255).round().to(torch.uint8).unsqueeze(1)
    return TensorDataset(name=f"Shapes ({'train' if train else 'test'})", source="built-in shapes (generated)",
                         inputs=inputs, targets=labels.long(), classes=list(BUILTIN_CLASSES), kind="image")


def describe_bytes(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def preview_array(dataset: TensorDataset, index: int) -> Any:
    """One sample as a H x W (x 3) uint8 array for display."""
    return display_array(dataset.inputs[index])


def display_array(sample: torch.Tensor) -> Any:
    """An image sample [C, H, W] as a H x W (x 3) uint8 array; float images (0..1) scaled."""
    if sample.dtype != torch.uint8:
        sample = (sample.float().clamp(0, 1) * 255).round().to(torch.uint8)
    if sample.dim() == 3:
        sample = sample[0] if sample.shape[0] == 1 else sample[:3].permute(1, 2, 0)
    return sample.contiguous().numpy()



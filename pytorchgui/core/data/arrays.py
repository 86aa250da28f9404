"""Array files: .npz, .pt, .npy pairs and HDF5, read into one kind of dataset.

What the arrays hold decides how they are used, and every decision is written in the
dataset's `notes`, which the Data tab shows:

- integer inputs (other than uint8 images) are token ids: they stay int64 and are never
  normalised (an Embedding takes them);
- uint8 arrays of 3 or 4 axes, and float arrays of 4, are images. A 4-axis array whose
  last axis is 1, 3 or 4 and whose second is not is channels-last (NHWC, the layout of
  NumPy, PIL and TensorFlow) and is transposed to channels-first; when both could be the
  channels the reader asks (AmbiguousLayout) unless `layout` says;
- float arrays of 2 axes are tables, of 3 (or more) series whose last axis holds features.

A .npy or HDF5 file larger than memory is not read whole: `StreamingArrays` reads one
batch at a time (sorted indices, as HDF5 wants them). Nothing in a file runs code: .npy
and .npz are read with allow_pickle=False, .pt with weights_only=True.
"""
from __future__ import annotations

import contextlib
import math
import zipfile
from pathlib import Path

import numpy
import numpy.lib.format as npy_format
import torch

from pytorchgui.core.data import samples
from pytorchgui.core.data.samples import LabelledSamples, OwnNormalization, TensorDataset, class_count
from pytorchgui.core.errors import DatasetError
from pytorchgui.core.safe_load import load_tensors

LAYOUTS = ("auto", "nchw", "nhwc")
CHANNEL_COUNTS = (1, 3, 4)
ARRAY_SUFFIXES = (".npz", ".pt", ".pth", ".npy", ".h5", ".hdf5")
_INTEGER_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


class AmbiguousLayout(DatasetError):
    """A 4-axis image array whose second and last axes could both be the channels."""

    def __init__(self, path, shape):
        self.path, self.shape = path, tuple(shape)
        super().__init__(f"{path}: images of shape {list(shape)} could be channels-first (NCHW) or channels-last "
                         "(NHWC): choose the layout (layout=nchw or layout=nhwc)")


def channel_layout(shape, layout: str, path) -> str:
    """"nchw" or "nhwc" for a 4-axis image array of `shape` (see the module docstring)."""
    if layout not in LAYOUTS:
        raise DatasetError(f"{path}: layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if layout != "auto":
        return layout
    first, last = shape[1] in CHANNEL_COUNTS, shape[-1] in CHANNEL_COUNTS
    if first and last:
        raise AmbiguousLayout(path, shape)
    return "nhwc" if last else "nchw"


# -- reading the files ---------------------------------------------------------------------------
def _from_numpy(array, path: Path, name: str) -> torch.Tensor:
    if array.dtype.hasobject or array.dtype.kind in "OUSV":
        raise DatasetError(f"{path}: the array {name} holds {'objects' if array.dtype.hasobject else 'text'} "
                           f"(dtype {array.dtype}), not numbers: save it as a numeric array (numpy.asarray(values, "
                           "dtype='float32'), or integer ids for text)")
    if array.dtype.kind == "b":
        array = array.astype("uint8")
    if array.dtype.kind == "u" and array.dtype.itemsize > 1:
        array = array.astype("int64")  # torch has no uint16/uint32 arithmetic worth relying on
    return torch.from_numpy(array)


def pick_names(path: Path, shapes: dict, x_name: str, y_name: str) -> tuple[str, str, str]:
    """(inputs' name, targets' name, note) of a file's arrays: the names asked for, or, when
    the default x and y are missing and the file holds exactly two arrays of as many
    samples, one of them with a single axis, that one as the targets (MNIST-style files
    name them images and labels)."""
    if x_name in shapes and y_name in shapes:
        return x_name, y_name, ""
    pair = list(shapes.items())
    if (x_name, y_name) == ("x", "y") and len(pair) == 2 and pair[0][1][:1] == pair[1][1][:1]:
        flat = [name for name, shape in pair if len(shape) == 1]
        if len(flat) == 1:
            targets = flat[0]
            inputs = next(name for name, _ in pair if name != targets)
            return inputs, targets, (f"inputs {inputs!r}, targets {targets!r} (no arrays named x and y: the "
                                     "one-axis array holds the targets)")
    missing = [name for name in (x_name, y_name) if name not in shapes]
    raise DatasetError(f"{path} has no array named {' or '.join(repr(m) for m in missing)}; it has "
                       f"{', '.join(f'{name} {list(shape)}' for name, shape in shapes.items()) or 'none'}: name the "
                       "inputs and targets (x= and y= in the spec, Inputs and Targets in the form)")


@contextlib.contextmanager
def open_npz(path: Path):
    """The arrays of an .npz file, read without pickle; a file that is not one, or holds
    Python objects, is a DatasetError naming it."""
    try:
        with numpy.load(path, allow_pickle=False) as arrays:
            yield arrays
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DatasetError(f"{path}: an array holds Python objects, which are not read (they could run code): "
                               "save numeric arrays") from None
        raise DatasetError(f"{path} is not a readable .npz file ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path} is not a readable .npz file ({error})") from None


def _read_npz(path: Path, x_name: str, y_name: str):
    with open_npz(path) as arrays:
        x_name, y_name, note = pick_names(path, {name: _npz_shape(arrays, name) for name in arrays.files},
                                          x_name, y_name)
        return (_from_numpy(arrays[x_name], path, x_name), _from_numpy(arrays[y_name], path, y_name),
                (x_name, y_name), note)


def _npz_shape(arrays, name: str) -> tuple:
    """An .npz member's shape from its header, without reading its data."""
    with arrays.zip.open(f"{name}.npy") as member:
        version = npy_format.read_magic(member)
        if version == (1, 0):
            return npy_format.read_array_header_1_0(member)[0]
        if version == (2, 0):
            return npy_format.read_array_header_2_0(member)[0]
    return arrays[name].shape  # a newer header version: read the array for its shape


def _read_pt(path: Path):
    content = load_tensors(path, DatasetError, "tensor file: save plain tensors, torch.save({'x': x, 'y': y})")
    if isinstance(content, dict) and "x" in content and "y" in content:
        x, y = content["x"], content["y"]
    elif isinstance(content, (tuple, list)) and len(content) == 2:
        x, y = content
    else:
        raise DatasetError(f"{path} must hold {{'x': inputs, 'y': targets}} or (inputs, targets)")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DatasetError(f"{path}: x and y must be tensors")
    return x, y


def npy_pair(path: Path, x_name: str = "x", y_name: str = "y") -> tuple[Path, Path]:
    """The (inputs, targets) files of a .npy pair: a folder holding x.npy and y.npy, or
    x.npy itself (its y.npy beside it)."""
    folder = path if path.is_dir() else path.parent
    x_path = path if path.is_file() else folder / f"{x_name}.npy"
    y_path = folder / f"{y_name}.npy"
    if path.is_file() and path.stem != x_name:  # images.npy -> labels beside it named y.npy
        x_path = path
    for wanted in (x_path, y_path):
        if not wanted.is_file():
            raise DatasetError(f"{path}: a .npy pair needs {wanted.name} in {folder} (inputs in {x_name}.npy, "
                               f"targets in {y_name}.npy)")
    return x_path, y_path


def _open_npy(path: Path, name: str):
    try:
        array = numpy.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error) or "Python objects" in str(error):
            raise DatasetError(f"{path}: the array {name} holds Python objects, which are not read (they could "
                               "run code): save a numeric array") from None
        raise DatasetError(f"{path} is not a readable .npy file ({error})") from None
    except (OSError, EOFError) as error:
        raise DatasetError(f"{path} is not a readable .npy file ({error})") from None
    if array.dtype.hasobject:
        raise DatasetError(f"{path}: the array {name} holds Python objects, not numbers: save a numeric array")
    return array


def _open_hdf5(path: Path, x_name: str, y_name: str):
    try:
        import h5py  # imported on use: an optional extra (pytorchgui[hdf5])
    except ImportError:
        raise DatasetError(f"{path}: reading HDF5 files needs h5py: pip install 'pytorchgui[hdf5]'") from None
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(f"{path} is not a readable HDF5 file ({error})") from None
    found = {}

    def collect(name, item) -> None:  # visititems stops at the first callback that returns a value
        if isinstance(item, h5py.Dataset):
            found[name] = item.shape

    handle.visititems(collect)
    try:
        x_name, y_name, note = pick_names(path, found, x_name, y_name)
    except DatasetError:
        handle.close()
        raise
    return handle, handle[x_name], handle[y_name], (x_name, y_name), note


def read_array_file(path, *, layout: str = "auto", x_name: str = "x", y_name: str = "y",
                    memory_limit: int | None = None):
    """The dataset of an array file: a TensorDataset, or StreamingArrays for a .npy or
    HDF5 file larger than `memory_limit` (default: samples.IN_MEMORY_LIMIT_BYTES, read at
    each call)."""
    path = Path(path)
    limit = samples.IN_MEMORY_LIMIT_BYTES if memory_limit is None else memory_limit
    suffix = path.suffix.lower()
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    if suffix == ".npz":
        x, y, names, note = _read_npz(path, x_name, y_name)
        return make_dataset(x, y, path, layout, names, note)
    if suffix in (".pt", ".pth"):
        return make_dataset(*_read_pt(path), path, layout)
    if suffix == ".npy" or path.is_dir():
        x_path, y_path = npy_pair(path, x_name, y_name)
        x, y = _open_npy(x_path, x_name), _open_npy(y_path, y_name)
        if x.nbytes > limit:
            return StreamingArrays(path, x, _from_numpy(numpy_array(y), y_path, y_name), layout)
        return make_dataset(_from_numpy(numpy_array(x), x_path, x_name), _from_numpy(numpy_array(y), y_path, y_name),
                            path, layout)
    if suffix in (".h5", ".hdf5"):
        handle, x, y, names, note = _open_hdf5(path, x_name, y_name)
        targets = _from_numpy(y[()], path, names[1])
        if x.size * x.dtype.itemsize > limit:
            return StreamingArrays(path, x, targets, layout, handle=handle, names=names, note=note)
        try:
            inputs = _from_numpy(x[()], path, names[0])
        finally:
            handle.close()
        return make_dataset(inputs, targets, path, layout, names, note)
    raise DatasetError(f"{path}: array files are {', '.join(ARRAY_SUFFIXES)} (or a folder with x.npy and y.npy)")


def numpy_array(array):
    """An in-memory, writable copy (a memory-mapped .npy is read-only)."""
    return numpy.array(array, copy=True, order="C")


# -- what the arrays are -------------------------------------------------------------------------
def _kind_of(x_dtype: torch.dtype, dims: int) -> str:
    if x_dtype in _INTEGER_DTYPES and not (x_dtype == torch.uint8 and dims in (3, 4)):
        return "tokens" if x_dtype != torch.uint8 else "table"
    if dims in (3, 4) and x_dtype == torch.uint8 or dims == 4:
        return "image"
    return "table" if dims <= 2 else "series"


def _targets(y: torch.Tensor, path: Path) -> tuple[torch.Tensor, list[str] | None]:
    y = y.reshape(len(y), -1) if y.dim() > 1 else y
    if y.dtype in _INTEGER_DTYPES and y.dim() == 1:
        y = y.long()
        return y, [str(i) for i in range(class_count(y, path))]
    return y.float().reshape(len(y), -1), None


def _check_shapes(x: torch.Tensor, y: torch.Tensor, path: Path) -> None:
    if x.dim() == 0 or y.dim() == 0 or len(x) == 0:
        raise DatasetError(f"{path}: x and y must hold one row per sample (x is {list(x.shape)}, y is "
                           f"{list(y.shape)})")
    if len(x) != len(y):
        raise DatasetError(f"{path}: x has {len(x)} samples but y has {len(y)}; they must match")


def make_dataset(x: torch.Tensor, y: torch.Tensor, path: Path, layout: str = "auto",
                 names: tuple[str, str] | None = None, note: str = ""):
    """A TensorDataset of inputs `x` and targets `y` read from `path` (see the module
    docstring); `names` are the arrays they were read from, `note` how those were chosen."""
    _check_shapes(x, y, path)
    if x.dim() == 1:  # one value per sample: a table of one column, not samples of no shape
        x = x[:, None]
    targets, classes = _targets(y, path)
    kind = _kind_of(x.dtype, x.dim())
    notes: list[str] = [note] if note else []
    if kind == "tokens":
        if int(x.min()) < 0:
            raise DatasetError(f"{path}: the token id {int(x.min())} is negative; token ids are 0, 1, 2, ...")
        x = x.long()
        notes.append(f"integer inputs: token ids 0..{int(x.max())}, kept as int64 and not normalised")
    elif kind == "image":
        if x.dim() == 3:
            x = x.unsqueeze(1)
        elif channel_layout(x.shape, layout, path) == "nhwc":
            notes.append(f"channels-last images {list(x.shape[1:])} transposed to {[x.shape[3], *x.shape[1:3]]}")
            x = x.permute(0, 3, 1, 2).contiguous()
        if x.dtype != torch.uint8:
            x = x.float()
    else:
        x = x.float()
    return TensorDataset(name=path.name, source=f"array file {path}", inputs=x, targets=targets, classes=classes,
                         kind=kind, notes=notes, array_names=names)


class StreamingArrays(LabelledSamples, OwnNormalization):
    """A .npy (memory-mapped) or HDF5 dataset larger than memory, read batch by batch.

    Targets are small and held in memory; inputs are read with sorted indices (HDF5 needs
    them increasing) and put back in the sampler's order, on the training thread whatever
    the Workers setting (an open HDF5 file does not cross into worker processes)."""

    def __init__(self, path: Path, array, targets: torch.Tensor, layout: str, handle=None,
                 names: tuple[str, str] | None = None, note: str = ""):
        self.path, self.array, self.handle = Path(path), array, handle
        dtype = _from_numpy(numpy_array(array[:1]), self.path, "x").dtype
        self.raw_dtype = dtype
        _check_shapes(torch.empty(len(array), 0), targets, self.path)
        self.targets_tensor, self.classes = _targets(targets, self.path)
        self.kind = _kind_of(dtype, len(array.shape))
        shape = list(array.shape[1:])
        self.transpose = self.kind == "image" and len(array.shape) == 4 and channel_layout(
            array.shape, layout, path) == "nhwc"
        self.sample_shape = [shape[2], shape[0], shape[1]] if self.transpose else (
            [1, *shape] if self.kind == "image" and len(shape) == 2 else shape or [1])  # [N]: one column
        self.name, self.source = self.path.name, f"array file {self.path} (streamed)"
        self.origin, self.tokenizer = None, None
        self.array_names = names
        self.notes = [note] if note else []
        self.notes.append(f"{math.prod(array.shape) * array.dtype.itemsize / 2**30:.1f} GB: read from disk batch by "
                          "batch")
        if self.transpose:
            self.notes.append(f"channels-last images {shape} transposed to {self.sample_shape}")

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int):
        """(sample, target) of one sample, as the Data tab's preview reads it."""
        return self.read([index])[0], self.targets_tensor[index]

    def read(self, indices) -> torch.Tensor:
        indices = numpy.asarray(indices, dtype=numpy.int64)
        order = numpy.argsort(indices)
        block = numpy.empty((len(indices), *self.array.shape[1:]), dtype=self.array.dtype)
        block[order] = self.array[indices[order].tolist()] if self.handle is not None else self.array[indices[order]]
        x = _from_numpy(block, self.path, "x")
        if self.kind == "image":
            x = x.permute(0, 3, 1, 2) if self.transpose else (x.unsqueeze(1) if x.dim() == 3 else x)
            return x if x.dtype == torch.uint8 else x.float()
        x = x.reshape(len(x), *self.sample_shape)
        return x.long() if self.kind == "tokens" else x.float()

    def loader(self, batch_size: int, shuffle: bool, workers: int, generator=None, sampler=None,
               drop_last: bool = False):
        order = list(sampler) if sampler is not None else list(range(len(self)))
        stop = len(order) - (len(order) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            chunk = order[start:start + batch_size]
            yield self.read(chunk), self.targets_tensor[chunk]

    @property
    def targets(self) -> torch.Tensor:
        return self.targets_tensor

    @property
    def token_count(self) -> int | None:
        return None if self.kind != "tokens" else int(max(int(self.read([i]).max()) for i in self._spread(2000))) + 1

    memory_bytes = 0

    def _spread(self, samples: int) -> range:
        return range(0, len(self), max(1, len(self) // samples))

    def compute_normalization(self, samples: int = 2000):
        """Statistics of an evenly spread subset, as for streamed image folders."""
        subset = self.read(list(self._spread(samples)))
        return TensorDataset("subset", self.source, subset, self.targets_tensor[:len(subset)], self.classes,
                             self.kind).compute_normalization()

    def split(self, percent: float, seed: int = 0):
        if percent:
            raise DatasetError(f"{self.path} is read from disk batch by batch and cannot be split for validation: "
                               "import a separate validation file, or choose Validation: None")
        return self, None

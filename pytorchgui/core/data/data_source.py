"""Where a dataset comes from: a kind, a path and its options, as one value.

The Data tab builds a `DataSource` from its controls, the CLI parses one from `--data`,
the cluster command writes one, and the run's config records one. Its spec string
round-trips exactly: `DataSource.from_spec(source.to_spec()) == source`.

Spec grammar: `KIND[:PATH][?OPTION=VALUE&...]`, with `%`, `?`, `&` and `#` in the path
and the values percent-encoded. The short forms of the first version still read:
`builtin:12000`, `folder:PATH:HxW`, `csv:PATH:TARGET`, `PATH.npz`, `PATH.pt`.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from pytorchgui.core.data import datasets
from pytorchgui.core.data.arrays import LAYOUTS
from pytorchgui.core.data.datasets import DatasetError
from pytorchgui.core.data.sequences import TOKEN_MODES, make_sequences

TORCHVISION_KINDS = tuple(datasets.TORCHVISION_DATASETS)
KINDS = ("builtin", "sequences", *TORCHVISION_KINDS, "folder", "csv", "tensor")
TASKS = ("auto", "classification", "regression")
TEXT_COLUMNS = ("one-hot", "reject")
TENSOR_SUFFIXES = (".npz", ".pt", ".pth", ".npy", ".h5", ".hdf5")
DATA_SPEC_HELP = ("builtin[:SAMPLES] | sequences[:SAMPLES] | MNIST:ROOT | FashionMNIST:ROOT | KMNIST:ROOT | "
                  "CIFAR10:ROOT | CIFAR100:ROOT | folder:PATH[?size=HxW&channels=1|3] | csv:PATH?target=COLUMN"
                  "[&task=classification|regression&text=one-hot|reject][&input=TEXT_COLUMN&tokens=words|characters"
                  "&vocabulary=N&length=N][&window=ROWS&horizon=ROWS] | PATH.npz | PATH.pt | PATH.npy | PATH.h5"
                  "[?x=NAME&y=NAME&layout=auto|nchw|nhwc] | tensor:FOLDER (holding x.npy and y.npy)  (also the short "
                  "forms folder:PATH:HxW and csv:PATH:TARGET)")
_PATH_SAFE = "/\\:~._-+@,= ()[]'!$*;"
_VALUE_SAFE = "/\\:~._-+@, "
_OPTIONS = {  # kind -> the options its spec may carry
    "builtin": ("samples",), "sequences": ("samples",), "folder": ("size", "channels"),
    "csv": ("target", "task", "text", "input", "tokens", "vocabulary", "length", "window", "horizon"),
    "tensor": ("x", "y", "layout"), **{kind: ("download",) for kind in TORCHVISION_KINDS},
}
_FIELD_OPTIONS = {"samples": "samples", "download": "download", "size": "size", "channels": "channels",
                  "target": "target", "task": "task", "text_columns": "text", "text_input": "input",
                  "tokens": "tokens", "vocabulary": "vocabulary", "length": "length", "window": "window",
                  "horizon": "horizon", "x_name": "x", "y_name": "y", "layout": "layout"}
_INTEGER_OPTIONS = ("samples", "channels", "vocabulary", "length", "window", "horizon")
GENERATED_KINDS = ("builtin", "sequences")
_SHORT_SIZE = re.compile(r"^(.*):(\d+)[xX](\d+)$")


@dataclass(frozen=True)
class DataSource:
    """A dataset's origin. `channels` (image folders): 1, 3, or None for "1 if every
    image is single-channel, else 3"; `task` (CSV): auto, classification or regression."""

    kind: str
    path: str = ""
    samples: int | None = None
    download: bool = False
    size: tuple[int, int] | None = None
    channels: int | None = None
    target: str = ""
    task: str = "auto"
    text_columns: str = "one-hot"
    text_input: str = ""  # csv: a text column that is the whole input, as token ids
    tokens: str = "words"
    vocabulary: int = 10000
    length: int = 64
    window: int = 0  # csv: rows per sample of a time series; 0: a plain table
    horizon: int = 1
    x_name: str = "x"  # array files: the inputs' and targets' names
    y_name: str = "y"
    layout: str = "auto"  # 4-axis image arrays: auto, nchw or nhwc

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DatasetError(f"unknown data source kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.kind not in GENERATED_KINDS and not self.path:
            raise DatasetError(f"a {self.kind} source needs a path")
        for field in dataclasses.fields(self):
            option = _FIELD_OPTIONS.get(field.name)
            if option and getattr(self, field.name) != field.default and option not in _OPTIONS[self.kind]:
                raise DatasetError(f"a {self.kind} source takes no option {option!r} (its options: "
                                   f"{', '.join(_OPTIONS[self.kind]) or 'none'})")
        if self.samples is not None and self.samples < 1:
            raise DatasetError(f"the sample count must be at least 1, not {self.samples}")
        if self.channels not in (None, 1, 3):
            raise DatasetError(f"channels must be 1 or 3, not {self.channels}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise DatasetError(f"a size is height x width, both at least 1, not {self.size}")
        if self.kind == "csv" and not self.target:
            raise DatasetError(f"{self.path}: name the target column (csv:PATH?target=COLUMN)")
        if self.task not in TASKS or self.text_columns not in TEXT_COLUMNS:
            raise DatasetError(f"task must be one of {', '.join(TASKS)} and text columns one of "
                               f"{', '.join(TEXT_COLUMNS)}")
        self._check_sequence_options()

    def _check_sequence_options(self) -> None:
        if self.tokens not in TOKEN_MODES:
            raise DatasetError(f"tokens must be one of {', '.join(TOKEN_MODES)}, not {self.tokens!r}")
        if self.vocabulary < 3 or self.length < 1 or self.window < 0 or self.horizon < 0:
            raise DatasetError("the vocabulary needs at least 3 tokens, the length at least 1, and the window and "
                               "horizon at least 0 rows")
        if self.window and self.text_input:
            raise DatasetError(f"{self.path}: a CSV source is a time series (window) or text (input), not both")
        if self.layout not in LAYOUTS:
            raise DatasetError(f"layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")

    # -- reading -----------------------------------------------------------------------
    def load(self, train: bool = True, tokenizer=None):
        """The dataset: a TensorDataset, or a StreamingImageFolder for a folder larger than
        memory. `train` picks the training or test part where the source has both; a CSV
        text column is tokenised with `tokenizer` (the training set's) when given."""
        if self.kind == "builtin":
            samples = self.samples or (12000 if train else 2000)
            dataset = datasets.make_builtin(samples, seed=0 if train else 1, train=train)
        elif self.kind == "sequences":
            dataset = make_sequences(self.samples or (20000 if train else 2000), seed=0 if train else 1, train=train)
        elif self.kind in TORCHVISION_KINDS:
            dataset = datasets.load_torchvision(self.kind, self.path, train=train, download=self.download)
        elif self.kind == "folder":
            dataset = datasets.load_image_folder(self.path, size=self.size, channels=self.channels)
        elif self.kind == "csv":
            dataset = datasets.load_csv(self.path, self.target, task=self.task, categorical=self.text_columns,
                                        text_input=self.text_input, tokens=self.tokens, vocabulary=self.vocabulary,
                                        length=self.length, window=self.window, horizon=self.horizon,
                                        tokenizer=tokenizer)
        else:
            dataset = datasets.load_tensor_file(self.path, layout=self.layout, x_name=self.x_name, y_name=self.y_name)
        dataset.origin = self.resolved(dataset)
        return dataset

    def resolved(self, dataset) -> "DataSource":
        """This source with its automatic choices made as they were for `dataset`, so a
        reload (on a cluster, by the CLI) reads the data the same way."""
        if self.kind == "folder":
            return dataclasses.replace(self, channels=dataset.sample_shape[0])
        if self.kind == "csv":
            return dataclasses.replace(self, task="classification" if dataset.is_classification else "regression")
        if self.kind == "tensor":
            names = getattr(dataset, "array_names", None) or (self.x_name, self.y_name)
            transposed = any("transposed" in note for note in getattr(dataset, "notes", ()))
            return dataclasses.replace(self, x_name=names[0], y_name=names[1],
                                       layout="nhwc" if transposed else self.layout)
        return self

    def describe(self) -> str:
        return self.to_spec()

    # -- the spec string -------------------------------------------------------------------
    def _options(self) -> dict[str, str]:
        values = {"samples": self.samples, "download": "1" if self.download else None,
                  "size": f"{self.size[0]}x{self.size[1]}" if self.size else None, "channels": self.channels,
                  "target": self.target, "task": None if self.task == "auto" else self.task,
                  "text": None if self.text_columns == "one-hot" else self.text_columns}
        fields = {field.name: field for field in dataclasses.fields(self)}
        for name, option in _FIELD_OPTIONS.items():
            if option not in values:  # the other options are left out at their default
                default = fields[name].default
                values[option] = None if getattr(self, name) == default else getattr(self, name)
        return {key: str(values[key]) for key in _OPTIONS[self.kind] if values[key] not in (None, "")}

    def to_spec(self) -> str:
        if self.kind in GENERATED_KINDS:
            spec = self.kind if self.samples is None else f"{self.kind}:{self.samples}"
        else:
            spec = f"{self.kind}:{quote(self.path, safe=_PATH_SAFE)}"
            options = self._options()
            if options:
                spec += "?" + "&".join(f"{key}={quote(value, safe=_VALUE_SAFE)}" for key, value in options.items())
        if "?" not in spec and DataSource.from_spec(spec) != self:
            spec += "?"  # a path that looks like a short form (ends in ':12x12'): mark it as a path
        return spec

    @classmethod
    def from_spec(cls, spec: str) -> "DataSource":
        """Parse a spec (see the module docstring); DatasetError for one that names nothing."""
        if not isinstance(spec, str) or not spec:
            raise DatasetError(f"'{spec}' names no dataset; use one of: {DATA_SPEC_HELP}")
        kind, separator, rest = spec.partition(":")
        if kind in GENERATED_KINDS:
            return cls._builtin(spec, kind, rest)
        if kind not in KINDS or not separator:
            if spec.lower().endswith(TENSOR_SUFFIXES):
                return cls("tensor", spec)
            if "?" in spec and spec.partition("?")[0].lower().endswith(TENSOR_SUFFIXES):
                return cls.from_spec("tensor:" + spec)  # PATH.h5?x=images: an array file with options
            raise DatasetError(f"'{spec}' names no dataset; use one of: {DATA_SPEC_HELP}")
        if not rest:
            raise DatasetError(f"'{spec}': give the path, as {kind}:PATH")
        if "?" in rest:
            path, _, query = rest.partition("?")
            return cls(kind, unquote(path), **cls._parse_options(spec, kind, query))
        return cls._short_form(spec, kind, unquote(rest))

    @classmethod
    def _builtin(cls, spec: str, kind: str, rest: str) -> "DataSource":
        if not rest:
            return cls(kind)
        if not rest.isdigit() or int(rest) < 1:
            raise DatasetError(f"'{spec}': the sample count must be a whole number of at least 1, as {kind}:2000")
        return cls(kind, samples=int(rest))

    @classmethod
    def _short_form(cls, spec: str, kind: str, rest: str) -> "DataSource":
        if kind == "folder" and (match := _SHORT_SIZE.match(rest)):
            return cls("folder", match.group(1), size=(int(match.group(2)), int(match.group(3))))
        if kind == "csv":
            path, _, target = rest.rpartition(":")
            if not path or not target:
                raise DatasetError(f"'{spec}': name the target column, as csv:PATH?target=COLUMN")
            return cls("csv", path, target=target)
        return cls(kind, rest)

    @staticmethod
    def _parse_options(spec: str, kind: str, query: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for item in filter(None, query.split("&")):
            key, _, value = item.partition("=")
            value = unquote(value)
            if key not in _OPTIONS[kind]:
                allowed = ", ".join(_OPTIONS[kind]) or "none"
                raise DatasetError(f"'{spec}': {kind} takes no option {key!r} (its options: {allowed})")
            try:
                options.update(_option_value(key, value))
            except ValueError:
                raise DatasetError(f"'{spec}': {key}={value!r} is not a valid value") from None
        return options


def _option_value(key: str, value: str) -> dict[str, Any]:
    field = {option: name for name, option in _FIELD_OPTIONS.items()}[key]
    if field in _INTEGER_OPTIONS:
        return {field: int(value)}
    if key == "download":
        return {"download": value.lower() in ("1", "true", "yes")}
    if key == "size":
        height, width = (int(v) for v in value.lower().split("x"))
        return {"size": (height, width)}
    return {field: value}  # target, task, text, input, tokens, x, y, layout


def builtin_pair(train_samples: int = 12000, test_samples: int = 2000):
    """The built-in shapes' training and test sets, loaded as the Data tab loads them."""
    source = DataSource("builtin")
    return (dataclasses.replace(source, samples=train_samples).load(True),
            dataclasses.replace(source, samples=test_samples).load(False))


def load_spec(spec: str, train: bool = True, download: bool = False):
    """The dataset a spec names (the CLI's --data and --test); `download` turns on the
    download of a torchvision source."""
    source = DataSource.from_spec(spec)
    if download and source.kind in TORCHVISION_KINDS:
        source = dataclasses.replace(source, download=True)
    return source.load(train)

"""The catalogue of layers, activation functions, losses and optimizers.

Each kind is a JSON "function database" in function_db/ (see function_db/README.md for
the format). A `FunctionDatabase` holds one kind's entries in the order the file lists
them; a `Catalog` holds the four. Entries and parameter specs are frozen dataclasses: the
forms are generated from them, the network validates its parameters with them, and the
compiler builds torch modules from them.

Nothing in a file can name code: a type resolves only to a class of torch.nn (layers,
activations, losses), torch.optim (optimizers) or PyTorchGUI's own merge modules.
torch itself is imported only when a class is resolved, so reading the catalogue (and
painting the first window) stays fast.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from pytorchgui import paths
from pytorchgui.core.errors import CatalogError, ParameterError, UnknownEntryError

KINDS = ("layers", "activations", "losses", "optimizers")
# Tensor operations (reshape, permute, reductions, arithmetic, learned tensors) are nodes
# like layers, kept in a file of their own so the palette and the docs can tell them apart.
TENSOR_OPERATIONS_FILE = "tensor_ops.json"
PARAMETER_TYPES = ("int", "float", "bool", "str", "choice", "size", "floats")
AUTO = "auto"
# Constructor parameters no entry lists: the device comes from the Train tab and the
# dtype from the network's input specification, for every layer alike.
ALWAYS_OMITTED = {"device": "chosen by the Train tab", "dtype": "follows the network's input"}

# The first PyTorchGUI's databases knew three types.
_LEGACY_TYPES = {"number": "int", "float": "float", "boolean": "bool"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# Words of parameter names that a label spells with capitals: Muon's AdamW settings.
_LABEL_WORDS = {"adamw": "AdamW"}


@dataclass(frozen=True)
class ParameterSpec:
    """One constructor parameter: its semantics (type, default, bounds) and UI hints.

    `size` is an int or a tuple of ints (kernel_size=3 or (3, 5)); `floats` a float or a
    tuple of floats (betas). For both, `length` fixes the tuple length when set, and
    `choices` lists extra string values (padding="same"). `nullable` allows None,
    `auto` allows "auto" (filled from the inferred input shape at compile time).
    """

    name: str
    type: str
    default: Any = None
    required: bool = False
    nullable: bool = False
    auto: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    length: int | None = None
    help: str = ""

    @property
    def label(self) -> str:
        """"kernel_size" -> "Kernel size"; "adamw_lr" -> "AdamW lr" (names keep their capitals)."""
        words = [_LABEL_WORDS.get(word, word) for word in self.name.split("_")]
        text = " ".join(words)
        return text[:1].upper() + text[1:]

    def validate(self, value: Any, *, entry: str = "") -> Any:
        """Return `value` in canonical form (tuples as lists), or raise ParameterError."""
        where = f"{entry} parameter '{self.name}'" if entry else f"parameter '{self.name}'"

        def fail(expected: str) -> ParameterError:
            return ParameterError(
                f"{where} must be {expected}, got {value!r}", entry=entry, parameter=self.name
            )

        if value is None:
            if self.nullable:
                return None
            raise fail("set (it has no default)" if self.required else "a value, not None")
        if self.auto and value == AUTO:
            return AUTO
        if self.type in ("size", "floats") and isinstance(value, str) and value in self.choices:
            return value
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise fail("true or false")
        if self.type == "str":
            if isinstance(value, str):
                return value
            raise fail("text")
        if self.type == "choice":
            if value in self.choices:
                return value
            raise fail("one of " + ", ".join(map(repr, self.choices)))
        if self.type in ("int", "float"):
            number = self._number(value, self.type == "int")
            if number is None:
                raise fail("an integer" if self.type == "int" else "a number")
            self._check_bounds(number, fail)
            return number
        # size / floats: a number or a list of numbers
        integral = self.type == "size"
        items = value if isinstance(value, (list, tuple)) else None
        if items is None and self.type == "floats" and self.length is not None:  # betas: torch unpacks a pair
            raise fail(f"a list of {self.length} numbers")
        if items is None:
            number = self._number(value, integral)
            if number is None:
                raise fail(self._describe_sequence())
            self._check_bounds(number, fail)
            return number
        if not items or (self.length is not None and len(items) != self.length):
            raise fail(self._describe_sequence())
        # A nullable spec also takes None items: AdaptiveAvgPool2d((None, 7)) keeps
        # that dimension, Adafactor(eps=(None, 1e-3)) uses the dtype's epsilon.
        numbers = []
        for item in items:
            if item is None and self.nullable:
                numbers.append(None)
                continue
            number = self._number(item, integral)
            if number is None:
                raise fail(self._describe_sequence())
            self._check_bounds(number, fail)
            numbers.append(number)
        return numbers

    def _describe_sequence(self) -> str:
        unit = "integer" if self.type == "size" else "number"
        article = "an" if unit == "integer" else "a"
        count = f"{self.length} " if self.length else ""
        extra = "".join(f" or {choice!r}" for choice in self.choices)
        return f"{article} {unit} or a list of {count}{unit}s{extra}"

    @staticmethod
    def _number(value: Any, integral: bool) -> int | float | None:
        if isinstance(value, bool):
            return None
        if integral:
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return None
        if isinstance(value, (int, float)):
            try:
                number = float(value)
            except OverflowError:  # a 400-digit integer
                return None
            return number if math.isfinite(number) else None
        return None

    def _check_bounds(self, number: float, fail) -> None:
        if self.minimum is not None and number < self.minimum:
            raise fail(f">= {self.minimum:g}" + (f" and <= {self.maximum:g}" if self.maximum is not None else ""))
        if self.maximum is not None and number > self.maximum:
            raise fail(f"<= {self.maximum:g}" + (f" and >= {self.minimum:g}" if self.minimum is not None else ""))

    @classmethod
    def from_json(
        cls, name: str, data: Mapping[str, Any], *, entry: str, source: str, legacy: bool = False
    ) -> "ParameterSpec":
        if not isinstance(data, Mapping):
            raise CatalogError(f"{source}: {entry}.{name} must be an object")
        kind = data.get("type")
        if legacy:  # the first PyTorchGUI: {"type": "number", "default": null}
            if kind not in _LEGACY_TYPES:
                raise CatalogError(f"{source}: {entry}.{name} has type {kind!r}; the old format knows "
                                   + ", ".join(_LEGACY_TYPES))
            default = data.get("default")
            return cls(name=name, type=_LEGACY_TYPES[kind], default=default, required=default is None)
        if kind not in PARAMETER_TYPES:
            raise CatalogError(
                f"{source}: {entry}.{name} has type {kind!r}; use one of {', '.join(PARAMETER_TYPES)}"
            )
        known = {"type", "default", "required", "nullable", "auto", "min", "max", "choices", "length", "help"}
        unknown = set(data) - known
        if unknown:
            raise CatalogError(f"{source}: {entry}.{name} has unknown keys {sorted(unknown)}")
        spec = cls(
            name=name,
            type=kind,
            default=data.get("default"),
            required=bool(data.get("required", False)),
            nullable=bool(data.get("nullable", False)),
            auto=bool(data.get("auto", False)),
            minimum=data.get("min"),
            maximum=data.get("max"),
            choices=tuple(data.get("choices", ())),
            length=data.get("length"),
            help=str(data.get("help", "")),
        )
        if kind == "choice" and not spec.choices:
            raise CatalogError(f"{source}: {entry}.{name} is a choice without choices")
        if not spec.required:
            try:
                spec.validate(spec.default, entry=entry)
            except ParameterError as error:
                raise CatalogError(f"{source}: default of {entry}.{name} is invalid: {error}") from None
        return spec


@dataclass(frozen=True)
class LossInfo:
    """How a loss is called and what target it expects, so training can prepare targets.

    call: input_target | pair (input1, input2, target) | triplet (anchor, positive,
    negative) | input_target_variance (GaussianNLLLoss) | sequence (CTC).
    input: what the network's output must be: any | logits | log_probabilities |
    probabilities | log_rates.
    target: class_indices | probabilities | same_shape | plus_minus_one | multi_hot |
    multilabel_indices | sequence.
    """

    call: str
    input: str
    target: str

    @property
    def takes_one_input(self) -> bool:
        return self.call == "input_target"


@dataclass(frozen=True)
class CatalogEntry:
    """One class of the catalogue. `example` holds sample values for the required
    parameters and a sample input shape (with batch dimension), so every entry can be
    built and run by the tests."""

    name: str
    kind: str
    category: str
    parameters: tuple[ParameterSpec, ...]
    description: str = ""
    omitted: Mapping[str, str] = field(default_factory=dict)
    inputs: int = 1
    variadic: bool = False
    output_index: int | None = None
    same_shape: bool = False
    call: str = "forward"
    loss: LossInfo | None = None
    notes: str = ""
    example: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    new: Mapping[str, Any] = field(default_factory=dict)  # what a node added from the palette starts with
    gradients: str = "dense"  # optimizers: the gradients they step, "dense", "sparse" or "any"
    tensor_operation: bool = False  # listed in tensor_ops.json: the palette's "Tensor operations"

    @property
    def node_class(self) -> str:
        """The `class` a network file gives a node of this type."""
        if self.kind == "activations":
            return "activation_function"
        if self.category == "merge":
            return "merge"
        return "layer"

    def parameter(self, name: str) -> ParameterSpec:
        for spec in self.parameters:
            if spec.name == name:
                return spec
        raise UnknownEntryError(f"{self.name} has no parameter '{name}'")

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default; required ones are None until the user sets them."""
        return {spec.name: (None if spec.required else spec.default) for spec in self.parameters}

    def validate(self, values: Mapping[str, Any], *, complete: bool = True) -> dict[str, Any]:
        """Check `values` against the specs and return them with defaults filled in.

        Unknown names are refused. With complete=False, required parameters may still be
        unset (None): the network keeps such half-finished nodes, the compiler does not.
        """
        unknown = [name for name in values if name not in {spec.name for spec in self.parameters}]
        if unknown:
            known = ", ".join(spec.name for spec in self.parameters) or "none"
            raise ParameterError(
                f"{self.name} has no parameter {unknown[0]!r} (its parameters: {known})",
                entry=self.name,
                parameter=unknown[0],
            )
        result = {}
        for spec in self.parameters:
            value = values.get(spec.name, None if spec.required else spec.default)
            if value is None and spec.required and not complete:
                result[spec.name] = None
                continue
            result[spec.name] = spec.validate(value, entry=self.name)
        return result

    def resolve(self) -> type:
        """The class this entry names, looked up only where the kind allows."""
        return _resolve_class(self.kind, self.name, self.source)

    def constructor_arguments(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validated values as torch wants them: lists become tuples."""
        arguments = {}
        for name, value in self.validate(values).items():
            if value == AUTO:
                raise ParameterError(
                    f"{self.name} parameter '{name}' is still 'auto'; infer shapes first",
                    entry=self.name,
                    parameter=name,
                )
            arguments[name] = tuple(value) if isinstance(value, list) else value
        return arguments

    def build(self, values: Mapping[str, Any]):
        """An instance of the class with these parameters (not for optimizers)."""
        if self.kind == "optimizers":
            raise CatalogError(f"{self.name} is an optimizer: use build_optimizer")
        return self.resolve()(**self.constructor_arguments(values))

    def build_optimizer(self, parameters, values: Mapping[str, Any]):
        return self.resolve()(parameters, **self.constructor_arguments(values))

    @classmethod
    def from_json(cls, name: str, data: Any, *, kind: str, source: str) -> "CatalogEntry":
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise CatalogError(f"{source}: {name!r} is not a class name")
        if not isinstance(data, Mapping):
            raise CatalogError(f"{source}: entry {name} must be an object")
        if "parameters" not in data:  # the first PyTorchGUI: {param: {type, default}}
            parameters = tuple(
                ParameterSpec.from_json(pname, pdata, entry=name, source=source, legacy=True)
                for pname, pdata in data.items()
            )
            return cls(name=name, kind=kind, category="other", parameters=parameters)
        raw_parameters = data["parameters"]
        if not isinstance(raw_parameters, Mapping):
            raise CatalogError(f"{source}: {name}.parameters must be an object")
        parameters = tuple(
            ParameterSpec.from_json(pname, pdata, entry=name, source=source) for pname, pdata in raw_parameters.items()
        )
        dimensions = re.search(r"([123])d$", name)
        # the padding layers take sides two by two, last dimension first (ZeroPad2d: left, right, top, bottom)
        if dimensions and not re.search(r"Pad[123]d$", name):
            # Conv2d's padding is one int or two: a list of three is refused here, not by torch
            parameters = tuple(dataclasses.replace(spec, length=int(dimensions.group(1)))
                               if spec.type == "size" and spec.length is None else spec for spec in parameters)
        new = data.get("new", {})
        if not isinstance(new, Mapping):
            raise CatalogError(f"{source}: {name}.new must be an object of parameter values")
        by_name = {spec.name: spec for spec in parameters}
        for key, value in new.items():
            if key not in by_name:
                raise CatalogError(f"{source}: {name}.new names {key!r}, which is not one of its parameters")
            try:
                by_name[key].validate(value, entry=name)
            except ParameterError as error:
                raise CatalogError(f"{source}: {name}.new: {error}") from None
        loss = data.get("loss")
        if kind == "losses":
            if not isinstance(loss, Mapping) or set(loss) != {"call", "input", "target"}:
                raise CatalogError(f"{source}: loss {name} needs \"loss\": {{call, input, target}}")
            loss = LossInfo(**loss)
        return cls(
            name=name,
            kind=kind,
            category=str(data.get("category", "other")),
            parameters=parameters,
            description=str(data.get("description", "")),
            omitted=dict(data.get("omitted", {})),
            inputs=int(data.get("inputs", 1)),
            variadic=bool(data.get("variadic", False)),
            output_index=data.get("output_index"),
            same_shape=data.get("shape") == "same",
            call=str(data.get("call", "forward")),
            loss=loss,
            notes=str(data.get("notes", "")),
            example=dict(data.get("example", {})),
            source=str(data.get("source", "")),
            new=dict(new),
            gradients=str(data.get("gradients", "dense")),
        )


def _resolve_class(kind: str, name: str, source: str) -> type:
    import torch  # imported on use: this module loads at start-up, before torch

    if source == "pytorchgui" and kind == "optimizers":
        from pytorchgui.core.graph import optimizers  # imported on use: it loads torch, and this module loads before it

        base, found = torch.optim.Optimizer, optimizers.pytorchgui_optimizers().get(name)
    elif source == "pytorchgui":
        from pytorchgui.core.graph import merge  # imported on use: merge loads torch, and this module loads before it

        namespace, base = merge.pytorchgui_modules(), torch.nn.Module
        found = namespace.get(name)
    elif kind == "optimizers":
        base = torch.optim.Optimizer
        found = getattr(torch.optim, name, None)
    else:
        base = torch.nn.Module
        found = getattr(torch.nn, name, None)
    if not (isinstance(found, type) and issubclass(found, base)):
        place = "torch.optim" if kind == "optimizers" else "torch.nn"
        raise UnknownEntryError(f"{name} is not a class of {place} in torch {torch.__version__}")
    return found


def read_database_file(path: Path) -> dict[str, Any]:
    """The JSON object of a function database file; CatalogError naming the file if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CatalogError(f"cannot read function database {path}: {error}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: the root must be an object mapping class names to entries")
    return data


def _entries_of(path: Path, kind: str) -> list[CatalogEntry]:
    return [CatalogEntry.from_json(name, value, kind=kind, source=str(path))
            for name, value in read_database_file(path).items()]


class FunctionDatabase:
    """The ordered entries of one kind, looked up by name."""

    def __init__(self, kind: str, entries: list[CatalogEntry], source: str = ""):
        if kind not in KINDS:
            raise CatalogError(f"unknown catalogue kind {kind!r}; use one of {', '.join(KINDS)}")
        self.kind = kind
        self.source = source
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise CatalogError(f"{source or kind}: {entry.name} is listed twice")
            self._entries[entry.name] = entry

    @classmethod
    def from_file(cls, path: str | Path, kind: str, *, tensor_operations: str | Path | None = None) -> "FunctionDatabase":
        """The entries of `path`, followed (for layers) by those of a tensor operations file."""
        path = Path(path)
        entries = _entries_of(path, kind)
        if tensor_operations is not None:
            entries += [dataclasses.replace(entry, tensor_operation=True)
                        for entry in _entries_of(Path(tensor_operations), kind)]
        return cls(kind, entries, source=str(path))

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return list(self._entries)

    def get(self, name: str) -> CatalogEntry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownEntryError(f"{name!r} is not in the {self.kind} catalogue") from None

    def categories(self) -> dict[str, list[CatalogEntry]]:
        """Entries grouped by category, both in file order."""
        groups: dict[str, list[CatalogEntry]] = {}
        for entry in self:
            groups.setdefault(entry.category, []).append(entry)
        return groups


class Catalog:
    """The four function databases together."""

    def __init__(self, databases: Mapping[str, FunctionDatabase]):
        missing = [kind for kind in KINDS if kind not in databases]
        if missing:
            raise CatalogError(f"the catalogue lacks {', '.join(missing)}")
        self.layers = databases["layers"]
        self.activations = databases["activations"]
        self.losses = databases["losses"]
        self.optimizers = databases["optimizers"]

    @classmethod
    def from_folder(cls, folder: str | Path) -> "Catalog":
        folder = Path(folder)
        operations = folder / TENSOR_OPERATIONS_FILE
        databases = {kind: FunctionDatabase.from_file(folder / f"{kind}.json", kind) for kind in KINDS[1:]}
        databases["layers"] = FunctionDatabase.from_file(folder / "layers.json", "layers",
                                                         tensor_operations=operations if operations.is_file() else None)
        return cls(databases)

    def database(self, kind: str) -> FunctionDatabase:
        if kind not in KINDS:
            raise CatalogError(f"unknown catalogue kind {kind!r}")
        return getattr(self, kind)

    def node_entry(self, type_name: str) -> CatalogEntry:
        """The layer, merge or activation entry a network node's type names."""
        if type_name in self.layers:
            return self.layers.get(type_name)
        if type_name in self.activations:
            return self.activations.get(type_name)
        raise UnknownEntryError(f"{type_name!r} is not a layer or activation function of the catalogue")


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalogue shipped in function_db/, read once."""
    return Catalog.from_folder(paths.function_db_dir())

"""Network files: JSON in the original PyTorchGUI's shape, versioned, read in a closed world.

A file maps each node's name to the node, and keeps the network's other settings under
keys that start with "$" (no node name may):

    {
      "$format": "pytorchgui.network",
      "$version": 4,
      "$inputs": [{"name": "input", "shape": [1, 28, 28], "dtype": "float32"}],
      "$loss": {"type": "CrossEntropyLoss", "parameters": {...}},
      "$losses": {"aux": {"type": "CrossEntropyLoss", "parameters": {...}, "weight": 0.3}},
      "$optimizer": {"type": "Adam", "parameters": {...}},
      "$recipe": {"epochs": 15, "augmentation": "RandomCrop(padding=2)", ...},
      "conv1": {"class": "layer", "type": "Conv2d", "parameters": {...},
                "nextLayer": "relu1", "firstLayer": true, "position": [0, 0]},
      ...
    }

`nextLayer` is a name, or a list of names where the node branches; it is absent on the
last node; `"trainable": false` marks a frozen node (absent: it trains). `firstLayer` is
true for a node fed by the first input, or the name of the input that feeds it. Every
node without a next layer is an output; `$loss` is the loss of every output that has no
entry of its own in `$losses` (whose `weight`, 1 when absent, scales it in the total).

Version 1 is the first PyTorchGUI's format (lowercase `nextlayer` and `firstlayer`, no
"$" keys); `migrate_v1` turns it into the current one on load. Version 3 added
`trainable`; a version 2 file reads as it is (every node trains). Version 4 named the
inputs (`$inputs`, a list, instead of version 3's one `$input`) and added `$losses`;
`migrate_v3` turns an older `$input` into a one-input list named "input" (read so in a
version 4 file too: tools and hand-written files keep using it). `$recipe`
(optional) holds training options as a run's config.json does; they are checked on load.

Nothing in a file is imported or evaluated: types must be in the catalogue, parameter
values are plain JSON scalars or short lists of them, and the file size, node count and
nesting depth are checked before anything is built.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.errors import NetworkFormatError, PyTorchGUIError
from pytorchgui.core.graph.catalog import Catalog, default_catalog
from pytorchgui.core.graph.network import DEFAULT_INPUT, FunctionChoice, Network, OutputLoss
from pytorchgui.core.training.options import TrainingConfig

FORMAT_NAME = "pytorchgui.network"
FORMAT_VERSION = 4
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 5000  # timm's largest traceable networks reach 2,609 nodes (resnest269e)
MAX_DEPTH = 6
MAX_LIST_LENGTH = 16
MAX_STRING_LENGTH = 200
MAX_COORDINATE = 1e9  # canvas positions: far beyond any drawing, well inside a float and a QPointF
NODE_KEYS = {"class", "type", "parameters", "nextLayer", "firstLayer", "position", "trainable"}


# -- reading ---------------------------------------------------------------------------
def load(path: str | os.PathLike, catalog: Catalog | None = None) -> Network:
    return loads(read_text(path), source=str(path), catalog=catalog)


def read_text(path: str | os.PathLike) -> str:
    """The text of a file that should hold JSON of ours, refused before reading if it is
    larger than any such file can be."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise NetworkFormatError(
                f"{path}: {size / 1e6:.1f} MB is larger than a network file can be "
                f"({MAX_FILE_BYTES // (1024 * 1024)} MB); is it a network file?"
            )
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise NetworkFormatError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise NetworkFormatError(f"{path} is not a text file; choose a network .json file") from None


def loads(text: str, source: str = "<text>", catalog: Catalog | None = None) -> Network:
    """Parse a network document; every problem is a NetworkFormatError naming `source`."""
    return from_document(parse_json(text, source), source=source, catalog=catalog)


def parse_json(text: str, source: str) -> Any:
    if len(text) > MAX_FILE_BYTES:
        raise NetworkFormatError(f"{source}: the document is larger than {MAX_FILE_BYTES} bytes")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise NetworkFormatError(
            f"{source} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise NetworkFormatError(f"{source}: the JSON is nested too deeply") from None


def _check_text(value: Any, source: str) -> None:
    """Refuse text that cannot be written back: JSON may escape a lone UTF-16 surrogate
    ("\\ud800"), which no UTF-8 file can hold, so every later save would fail."""
    strings = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        strings = list(value)
        for item in value.values():
            _check_text(item, source)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, source)
    for text in strings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            raise NetworkFormatError(f"{source}: the text {shown[:60]!r} holds a lone surrogate character, which "
                                     "cannot be saved: retype it") from None


def _depth(value: Any, limit: int) -> int:
    if limit < 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def from_document(document: Any, source: str = "<document>", catalog: Catalog | None = None) -> Network:
    catalog = catalog or default_catalog()
    if not isinstance(document, dict):
        raise NetworkFormatError(f"{source}: a network file is a JSON object mapping node names to nodes")
    if _depth(document, MAX_DEPTH) > MAX_DEPTH:
        raise NetworkFormatError(f"{source}: the JSON is nested deeper than a network file is ({MAX_DEPTH} levels)")
    _check_text(document, source)
    # Files without "$format" are the first PyTorchGUI's (version 1).
    format_name = document.get("$format")
    if format_name is not None and format_name != FORMAT_NAME:
        raise NetworkFormatError(f"{source}: not a PyTorchGUI network file ($format is {format_name!r})")
    if format_name is None and "$version" in document:
        raise NetworkFormatError(f"{source}: has $version but no $format; is it a PyTorchGUI network file?")
    version = document.get("$version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise NetworkFormatError(f"{source}: $version must be a positive whole number, got {version!r}")
    if version > FORMAT_VERSION:
        raise NetworkFormatError(
            f"{source} was written by a newer PyTorchGUI (format version {version}; this one reads up to "
            f"{FORMAT_VERSION}): update PyTorchGUI to open it"
        )
    if version == 1:
        document = migrate_v1(document, source)
    elif version < 4:
        document = migrate_v3(document, source)
    elif "$input" in document:  # a one-input file written by hand or by a tool that knows version 3's key
        if "$inputs" in document:
            raise NetworkFormatError(f"{source}: has both $input and $inputs: keep $inputs (the list of inputs)")
        document = migrate_v3({key: value for key, value in document.items() if key != "$version"}, source)
    try:
        return _read_current(document, source, catalog, inputs_named=version >= 4)
    except NetworkFormatError:
        raise
    except PyTorchGUIError as error:  # a model operation refused what the file says
        raise NetworkFormatError(f"{source}: {error}") from None


def migrate_v1(document: dict, source: str) -> dict:
    """The first PyTorchGUI's format (2019) -> the current one: key names only."""
    migrated: dict[str, Any] = {"$format": FORMAT_NAME, "$version": FORMAT_VERSION}
    renames = {"nextlayer": "nextLayer", "firstlayer": "firstLayer"}
    for name, node in document.items():
        if isinstance(name, str) and name.startswith("$"):
            raise NetworkFormatError(f"{source}: unknown key {name!r} in a version 1 file")
        if isinstance(node, dict):
            node = {renames.get(key.lower(), key) if isinstance(key, str) else key: value
                    for key, value in node.items()}
        migrated[name] = node
    return migrated


def migrate_v3(document: dict, source: str) -> dict:
    """A version 2 or 3 file -> version 4: its one `$input` becomes the input named "input"."""
    if "$inputs" in document or "$losses" in document:
        raise NetworkFormatError(f"{source}: $inputs and $losses are settings of format version 4, but the file "
                                 f"says version {document.get('$version')}: set \"$version\": 4")
    migrated = {"$version": FORMAT_VERSION}
    for key, value in document.items():
        if key == "$input":
            if not isinstance(value, dict) or not isinstance(value.get("shape"), list):
                raise NetworkFormatError(f"{source}: $input must be {{\"shape\": [...], \"dtype\": ...}}")
            unknown = sorted(set(value) - {"shape", "dtype"})
            if unknown:
                raise NetworkFormatError(f"{source}: $input has no setting {unknown[0]!r}: it takes a shape and a "
                                         "dtype")
            key, value = "$inputs", [{"name": DEFAULT_INPUT, **value}]
        if key != "$version":
            migrated[key] = value
    return migrated


def _plain_value(value: Any, where: str) -> Any:
    """A parameter value as a file may hold it: a scalar or a short list of scalars."""
    scalar = (type(None), bool, int, float, str)
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        raise NetworkFormatError(f"{where} is a text of {len(value)} characters; at most {MAX_STRING_LENGTH}")
    if any(isinstance(item, float) and math.isnan(item) for item in (value if isinstance(value, list) else [value])):
        # NaN is never a setting, and it would not equal itself after a save and a load
        raise NetworkFormatError(f"{where} is NaN (not a number): give a number")
    if isinstance(value, scalar):
        return value
    if isinstance(value, list) and len(value) <= MAX_LIST_LENGTH and all(
        isinstance(item, scalar) and not isinstance(item, str) for item in value
    ):
        return list(value)
    raise NetworkFormatError(f"{where} must be a number, true/false, text, null or a short list of numbers")


def _read_function(document: dict, key: str, kind: str, source: str, catalog: Catalog) -> FunctionChoice | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise NetworkFormatError(f"{source}: {key} must be an object with a \"type\"")
    database = catalog.database(kind)
    if value["type"] not in database:
        raise NetworkFormatError(f"{source}: {key} type {value['type']!r} is not in the {kind} catalogue")
    parameters = value.get("parameters", {})
    if not isinstance(parameters, dict):
        raise NetworkFormatError(f"{source}: {key}.parameters must be an object")
    entry = database.get(value["type"])
    plain = {name: _plain_value(v, f"{source}: {key} parameter '{name}'") for name, v in parameters.items()}
    try:
        return FunctionChoice(entry.name, entry.validate(plain))
    except PyTorchGUIError as error:
        raise NetworkFormatError(f"{source}: {key}: {error}") from None


def _read_current(document: dict, source: str, catalog: Catalog, inputs_named: bool = True) -> Network:
    """`inputs_named`: firstLayer may name an input (version 4), else it is true or false."""
    network = Network(catalog)
    nodes = {name: node for name, node in document.items() if not (isinstance(name, str) and name.startswith("$"))}
    unknown = [key for key in document if key.startswith("$")
               and key not in ("$format", "$version", "$inputs", "$loss", "$losses", "$optimizer", "$recipe")]
    if unknown:
        raise NetworkFormatError(f"{source}: unknown setting {unknown[0]!r}")
    if len(nodes) > MAX_NODES:
        raise NetworkFormatError(f"{source} has {len(nodes)} nodes; PyTorchGUI opens networks of up to {MAX_NODES}")
    _read_inputs(network, document.get("$inputs"), source)
    network.loss = _read_function(document, "$loss", "losses", source, catalog)
    network.optimizer = _read_function(document, "$optimizer", "optimizers", source, catalog)
    network.recipe = _read_recipe(document.get("$recipe"), source)
    for name, node in nodes.items():
        where = f"{source}: node '{name}'"
        if not isinstance(node, dict):
            raise NetworkFormatError(f"{where} must be an object with class, type and parameters")
        extra = set(node) - NODE_KEYS
        if extra:
            raise NetworkFormatError(f"{where} has unknown key {sorted(extra)[0]!r}")
        type_name = node.get("type")
        if not isinstance(type_name, str):
            raise NetworkFormatError(f"{where} has no type")
        try:
            entry = catalog.node_entry(type_name)
        except KeyError:
            raise NetworkFormatError(f"{where}: {type_name!r} is not a layer or activation function PyTorchGUI knows") from None
        node_class = node.get("class", entry.node_class)
        if node_class != entry.node_class:
            raise NetworkFormatError(f"{where}: class {node_class!r} does not fit {type_name}, which is a {entry.node_class}")
        parameters = node.get("parameters", {})
        if not isinstance(parameters, dict):
            raise NetworkFormatError(f"{where}: parameters must be an object")
        values = {key: _plain_value(value, f"{where} parameter '{key}'") for key, value in parameters.items()}
        next_layers = node.get("nextLayer")
        if next_layers is None:
            next_layers = []
        elif isinstance(next_layers, str):
            next_layers = [next_layers]
        if not isinstance(next_layers, list) or not all(isinstance(x, str) for x in next_layers):
            raise NetworkFormatError(f"{where}: nextLayer must be a node name or a list of node names")
        if len(set(next_layers)) != len(next_layers):
            raise NetworkFormatError(f"{where} names the same next layer twice")
        first = node.get("firstLayer", False)
        if not isinstance(first, (bool, str) if inputs_named else bool) or first == "":
            raise NetworkFormatError(f"{where}: firstLayer must be true or false"
                                     + (" or the name of an input" if inputs_named else ""))
        position = node.get("position")
        if position is not None and not (
            isinstance(position, list) and len(position) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < MAX_COORDINATE
                    for v in position)
        ):
            raise NetworkFormatError(f"{where}: position must be [x, y], numbers between {-MAX_COORDINATE:g} and "
                                     f"{MAX_COORDINATE:g}")
        trainable = node.get("trainable", True)
        if not isinstance(trainable, bool):
            raise NetworkFormatError(f"{where}: trainable must be true or false")
        network.add_node(type_name, name, values, position=position, first_layer=first,
                         next_layers=next_layers, strict=False)
        network.set_trainable(name, trainable)
    network.output_losses = _read_output_losses(document.get("$losses"), source, catalog)
    return network


def _read_inputs(network: Network, inputs: Any, source: str) -> None:
    """The "$inputs" list: each input's name, shape and dtype, in the order the network takes them."""
    if inputs is None:
        return
    if not isinstance(inputs, list):
        raise NetworkFormatError(f"{source}: $inputs must be a list of {{\"name\": ..., \"shape\": [...], "
                                 "\"dtype\": ...}")
    for index, spec in enumerate(inputs):
        where = f"{source}: input {index + 1} of $inputs"
        if not isinstance(spec, dict) or not isinstance(spec.get("shape"), list):
            raise NetworkFormatError(f"{where} must be {{\"name\": ..., \"shape\": [...], \"dtype\": ...}}")
        unknown = sorted(set(spec) - {"name", "shape", "dtype"})
        if unknown:
            raise NetworkFormatError(f"{where} has no setting {unknown[0]!r}: it takes a name, a shape and a dtype")
        name = spec.get("name", DEFAULT_INPUT if index == 0 else None)
        if not isinstance(name, str):
            raise NetworkFormatError(f"{where} has no name: give it one (\"name\": \"image\")")
        try:
            network.add_input(name, spec["shape"], spec.get("dtype", "float32"))
        except PyTorchGUIError as error:
            raise NetworkFormatError(f"{where} ('{name}'): {error}") from None


def _read_output_losses(losses: Any, source: str, catalog: Catalog) -> dict[str, OutputLoss]:
    """The "$losses" object: output node -> its own loss and weight (the nodes are
    checked by Network.problems: an unknown one is named there)."""
    if losses is None:
        return {}
    if not isinstance(losses, dict):
        raise NetworkFormatError(f"{source}: $losses must map output node names to {{\"type\": ..., "
                                 "\"parameters\": {...}, \"weight\": ...}")
    read = {}
    for node, value in losses.items():
        where = f"$losses of '{node}'"
        if not isinstance(value, dict):
            raise NetworkFormatError(f"{source}: {where} must be an object with a \"type\"")
        unknown = sorted(set(value) - {"type", "parameters", "weight"})
        if unknown:
            raise NetworkFormatError(f"{source}: {where} has no setting {unknown[0]!r}")
        weight = value.get("weight", 1.0)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) \
                or weight < 0:
            raise NetworkFormatError(f"{source}: {where}: weight must be a number of 0 or more, got {weight!r}")
        choice = _read_function({where: {k: v for k, v in value.items() if k != "weight"}}, where, "losses",
                                source, catalog)
        read[node] = OutputLoss(choice, float(weight))
    return read


def _read_recipe(recipe: Any, source: str) -> dict[str, Any]:
    """The "$recipe": training options checked as a run's config is, so a file cannot
    carry a value the Train tab or the CLI would refuse later."""
    if recipe is None:
        return {}

    if not isinstance(recipe, dict):
        raise NetworkFormatError(f"{source}: $recipe must be an object of training options")
    known = {field.name for field in dataclasses.fields(TrainingConfig)}
    unknown = sorted(set(recipe) - known)
    if unknown:
        raise NetworkFormatError(f"{source}: $recipe has no training option {unknown[0]!r}")
    try:
        TrainingConfig.from_dict(recipe).check()
    except (PyTorchGUIError, TypeError) as error:
        raise NetworkFormatError(f"{source}: $recipe: {error}") from None
    return dict(recipe)


# -- writing ---------------------------------------------------------------------------
def to_document(network: Network) -> dict[str, Any]:
    document: dict[str, Any] = {"$format": FORMAT_NAME, "$version": FORMAT_VERSION}
    if network.inputs:
        document["$inputs"] = [{"name": spec.name, "shape": list(spec.shape), "dtype": spec.dtype}
                               for spec in network.inputs]
    for key, choice in (("$loss", network.loss), ("$optimizer", network.optimizer)):
        if choice is not None:
            document[key] = {"type": choice.type, "parameters": dict(choice.parameters)}
    if network.output_losses:
        document["$losses"] = {node: {"type": own.choice.type, "parameters": dict(own.choice.parameters),
                                      "weight": own.weight} for node, own in network.output_losses.items()}
    if network.recipe:
        document["$recipe"] = dict(network.recipe)
    first = set(network.first_layers)
    first_input = network.input_spec.name if network.input_spec is not None else DEFAULT_INPUT
    for node in network.nodes.values():
        item: dict[str, Any] = {"class": node.node_class, "type": node.type, "parameters": dict(node.parameters)}
        if len(node.next_layers) == 1:
            item["nextLayer"] = node.next_layers[0]
        elif node.next_layers:
            item["nextLayer"] = list(node.next_layers)
        if node.name in first:
            feeding = network.input_feeding(node.name)
            item["firstLayer"] = True if feeding == first_input else feeding
        if node.position is not None:
            item["position"] = [round(float(v), 2) for v in node.position]
        if not node.trainable:
            item["trainable"] = False
        document[node.name] = item
    return document


def dumps(network: Network) -> str:
    """The document as text: one line per setting and per node field, so files read and
    diff well (json.dumps(indent=2) would put every number of a shape on its own line)."""
    compact = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    blocks = []
    for key, value in to_document(network).items():
        if key.startswith("$"):
            blocks.append(f"  {compact(key)}: {compact(value)}")
        else:
            fields = ",\n".join(f"    {compact(k)}: {compact(v)}" for k, v in value.items())
            blocks.append(f"  {compact(key)}: {{\n{fields}\n  }}")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def save(network: Network, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file beside the target, fsync, then rename over it,
    so a crash or a full disk never leaves a half-written network behind."""
    atomic_write_text(Path(path), dumps(network))

"""Import a torchvision model as an editable network: torch.fx traces the model, every
call of a module becomes a node of the catalogue's type with the module's settings read
back from it, and the functions these models call between modules (`add`, `mul`, `cat`,
`flatten`, `relu`, `adaptive_avg_pool2d`) become merge nodes or catalogue entries. Node
names keep the module hierarchy (`layer1.0.conv1`); a module called twice gets `_2`.

The weights of the original model convert to the imported graph's names
(`convert_weights`), so a torchvision state_dict (downloaded or from a file) trains,
evaluates and exports in PyTorchGUI. What cannot be mapped is named with where it is in
the model, never a traceback.
"""
from __future__ import annotations

import hashlib
import operator
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from pytorchgui.core.atomic import atomic_write
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.machine import FLOAT_BYTES, does_not_fit_in_ram
from pytorchgui.core.graph.catalog import Catalog, default_catalog
from pytorchgui.core.graph.compiler import compile_network, module_names
from pytorchgui.core.graph.layout import tidy_positions
from pytorchgui.core.graph.network import Network
from pytorchgui.core.safe_load import load_state_dict

IMAGE_INPUT = [3, 224, 224]  # what torchvision's classification models expect


class ImportError_(PyTorchGUIError):
    """A model that cannot be imported, and where in it the reason is."""


@dataclass
class ImportedModel:
    network: Network
    module_of: dict[str, str]  # node name -> the module path in the original model (for its weights)
    notes: list[str] = field(default_factory=list)


def _functions() -> dict[Any, tuple[str, Any]]:
    """Function called between modules -> (catalogue type, how to read its parameters)."""
    try:
        from torchvision.ops import stochastic_depth  # imported on use: torchvision takes a second to import
    except ImportError:  # torchvision is a dependency; tolerated missing all the same
        stochastic_depth = None
    table: dict[Any, tuple[str, Any]] = {
        operator.add: ("Add", lambda args, kwargs: {}),
        torch.add: ("Add", lambda args, kwargs: {}),
        operator.mul: ("Multiply", lambda args, kwargs: {}),
        torch.mul: ("Multiply", lambda args, kwargs: {}),
        torch.cat: ("Concatenate", lambda args, kwargs: {"dim": kwargs.get("dim", args[1] if len(args) > 1 else 0)}),
        torch.flatten: ("Flatten", lambda args, kwargs: {"start_dim": kwargs.get("start_dim", args[1] if len(args) > 1
                                                                               else 0),
                                                         "end_dim": kwargs.get("end_dim", args[2] if len(args) > 2
                                                                               else -1)}),
        F.relu: ("ReLU", lambda args, kwargs: {}),
        torch.relu: ("ReLU", lambda args, kwargs: {}),
        F.adaptive_avg_pool2d: ("AdaptiveAvgPool2d", lambda args, kwargs: {
            "output_size": _plain(kwargs.get("output_size", args[1] if len(args) > 1 else None))}),
    }
    if stochastic_depth is not None:  # an identity when evaluating; training without it is noted
        table[stochastic_depth] = ("Identity", lambda args, kwargs: {})
    return table


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _module_values(module: torch.nn.Module, entry) -> dict[str, Any]:
    """The catalogue parameters of `entry`, read back from a built module."""
    values = {}
    for spec in entry.parameters:
        if not hasattr(module, spec.name):
            continue
        value = getattr(module, spec.name)
        if spec.name == "bias" and (value is None or isinstance(value, torch.Tensor)):
            value = value is not None
        if isinstance(value, torch.Tensor) or callable(value):
            continue
        values[spec.name] = _plain(value)
    return values


def _inputs(argument: Any) -> list:
    """The traced nodes an argument refers to (a list, for torch.cat), in order."""
    if isinstance(argument, fx.Node):
        return [argument]
    if isinstance(argument, (list, tuple)):
        return [node for item in argument for node in _inputs(item)]
    return []


def _function_name(node) -> str:
    """A function call's name inside the module path of the module that uses its result
    (a ResNet block's `add` is `layer1.0.add`), so it collapses with its stage."""
    pending, seen = list(node.users), set()
    while pending:
        user = pending.pop(0)
        if user in seen:
            continue
        seen.add(user)
        if user.op == "call_module":
            parent = user.target.rpartition(".")[0]
            return f"{parent}.{node.name}" if parent else node.name
        if user.op in ("call_function", "call_method"):
            pending.extend(user.users)
    return node.name


def trace(model: torch.nn.Module, catalog: Catalog | None = None, *, where: str = "the model") -> ImportedModel:
    """The network of a traceable model; ImportError_ naming what could not be mapped."""
    catalog = catalog or default_catalog()
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as error:  # noqa: BLE001 - any tracing failure is the model's, said in one line
        raise ImportError_(f"{where} cannot be traced by torch.fx ({type(error).__name__}: "
                           f"{str(error).splitlines()[0] if str(error) else ''}): it has Python control flow "
                           "that depends on the data") from None
    functions = _functions()
    network = Network(catalog)
    imported = ImportedModel(network, {})
    name_of: dict[Any, str] = {}
    used: dict[str, int] = {}
    inputs: list[Any] = []
    for node in graph.nodes:
        if node.op == "placeholder":
            inputs.append(node)
            continue
        if node.op == "output":
            continue
        if node.op == "call_module":
            module = model.get_submodule(node.target)
            type_name = type(module).__name__
            if type_name not in catalog.layers and type_name not in catalog.activations:
                raise ImportError_(f"{where}: module '{node.target}' is a {type(module).__module__}.{type_name}, which "
                                   "is not in PyTorchGUI's catalogue")
            values = _module_values(module, catalog.node_entry(type_name))
            base = node.target
        elif node.op in ("call_function", "call_method") and node.target in functions:
            type_name, read = functions[node.target]
            values = read(node.args, node.kwargs)
            base = _function_name(node)
            if type_name == "Concatenate" and len(_inputs(node.args)) == 1:
                type_name, values = "Identity", {}  # DenseNet's first layer joins a list of one
            if node.target is not torch.cat and type_name == "Identity" and not imported.notes:
                imported.notes.append("stochastic depth became Identity: the same in evaluation, but training "
                                      "no longer drops residual branches at random")
        else:
            what = {"get_attr": "uses a parameter or buffer directly", "call_method": f"calls .{node.target}()",
                    "call_function": f"calls {getattr(node.target, '__module__', '')}."
                                     f"{getattr(node.target, '__name__', node.target)}"}.get(node.op, node.op)
            raise ImportError_(f"{where}: node '{_function_name(node)}' {what}, which PyTorchGUI cannot map to a "
                               "catalogue entry yet")
        used[base] = used.get(base, 0) + 1
        name = base if used[base] == 1 else f"{base}_{used[base]}"
        sources = [name_of[argument] for argument in _inputs(node.args) if argument in name_of]
        network.add_node(type_name, name, values, strict=False,
                         first_layer=any(argument in inputs for argument in _inputs(node.args)))
        for source in sources:
            network.connect(source, name)
        name_of[node] = name
        if node.op == "call_module":
            imported.module_of[name] = node.target
    for name, position in tidy_positions(network).items():
        network.move_node(name, position)
    return imported


def import_torchvision(name: str, catalog: Catalog | None = None) -> ImportedModel:
    """A torchvision classification model by name (resnet18, ...), without weights."""
    import torchvision  # imported on use: torchvision takes a second to import

    builders = torchvision.models.list_models(module=torchvision.models)
    if name not in builders:
        close = [model for model in builders if name.lower()[:4] in model][:8]
        raise ImportError_(f"torchvision has no classification model '{name}'"
                           + (f"; close: {', '.join(close)}" if close else "")
                           + " (see torchvision.models.list_models())")
    imported = trace(_torchvision_model(name), catalog, where=f"torchvision:{name}")
    imported.network.set_input(IMAGE_INPUT)
    imported.network.set_loss("CrossEntropyLoss")
    imported.network.set_optimizer("SGD", {"lr": 0.01, "momentum": 0.9})
    return imported


def _torchvision_model(name: str) -> torch.nn.Module:
    """The model to trace, built on the meta device: its weights are not needed, and
    vgg16's 138 million took 0.5 GB and seconds to fill. RegNets compute their widths with
    tensors and need real ones; they are built once the parameter count torchvision
    records fits in the free memory."""
    import torchvision  # imported on use: torchvision takes a second to import

    try:
        with torch.device("meta"):
            return torchvision.models.get_model(name, weights=None).eval()
    except (RuntimeError, NotImplementedError):  # "Cannot copy out of meta tensor": built for real below
        parameters = _recorded_parameters(name)
    problem = does_not_fit_in_ram(parameters * FLOAT_BYTES, f"building torchvision's {name} ({parameters:,} weights)",
                                  "close other programs, or choose a smaller model")
    if problem:
        raise ImportError_(problem)
    return torchvision.models.get_model(name, weights=None).eval()


def _recorded_parameters(name: str) -> int:
    """The parameter count torchvision's weights record for model `name` (0 if none)."""
    import torchvision  # imported on use: torchvision takes a second to import

    try:
        return int(torchvision.models.get_model_weights(name).DEFAULT.meta["num_params"])
    except (ValueError, KeyError, AttributeError):
        return 0


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A model's weights file (.pth/.pt or .safetensors), tensors only."""
    return load_state_dict(path, PyTorchGUIError)


def download_weights(name: str, progress: bool = False, on_bytes=None) -> dict[str, torch.Tensor]:
    """The default pretrained weights of torchvision's `name`, through torch's hub cache
    (downloaded the first time). on_bytes(done, total) follows a download as it goes (the
    window's progress bar); without it, `progress` shows torch's own bar on stderr."""
    import torchvision  # imported on use: torchvision takes a second to import

    try:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError):
        raise PyTorchGUIError(f"torchvision has no pretrained weights for '{name}'") from None
    try:
        if on_bytes is not None:
            cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
            if not cached.is_file():
                _download(weights.url, cached, on_bytes)
        return weights.get_state_dict(progress=progress, check_hash=True)
    except (OSError, RuntimeError) as error:  # URLError is an OSError; a bad download's hash a RuntimeError
        raise PyTorchGUIError(f"cannot download the pretrained weights of {name} ({error}): with no internet, "
                              f"download {weights.url} on another machine and choose the file") from None


def expected_hash(url: str) -> str | None:
    """The start of the SHA-256 a torchvision weights file name carries (resnet18-f37072fd.pth)."""
    match = torch.hub.HASH_REGEX.search(os.path.basename(url))
    return match.group(1) if match else None


def _download(url: str, target: Path, on_bytes) -> None:
    """`url` into `target` (a whole file or none: written beside it, checked against the
    hash in its name, then renamed)."""
    expected = expected_hash(url)
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - torchvision's own https URL
        total = int(response.headers.get("Content-Length") or 0)

        def write(stream) -> None:
            done, digest = 0, hashlib.sha256()
            while chunk := response.read(1 << 20):
                stream.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                on_bytes(done, total)
            if expected and not digest.hexdigest().startswith(expected):
                raise RuntimeError(f"the download of {url} is damaged (its SHA-256 does not start with {expected})")

        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, write)


def convert_weights(imported: ImportedModel, state_dict: dict[str, torch.Tensor], *, source: str = "the weights"
                    ) -> dict[str, torch.Tensor]:
    """A state_dict of the original model under the imported graph's module names; a
    PyTorchGUIError listing the first missing and unexpected keys and shape mismatches."""
    attribute = module_names(imported.network)
    wanted: dict[str, str] = {}  # original key -> our key
    for node, module in imported.module_of.items():
        for key in (k for k in state_dict if k.startswith(module + ".") and "." not in k[len(module) + 1:]):
            wanted[key] = f"{attribute[node]}.{key[len(module) + 1:]}"

    with torch.device("meta"):
        expected = compile_network(imported.network).state_dict()
    converted = {ours: state_dict[original] for original, ours in wanted.items()}
    missing = [key for key in expected if key not in converted]
    unexpected = [key for key in state_dict if key not in wanted]
    mismatched = [f"{key} {list(converted[key].shape)} instead of {list(expected[key].shape)}"
                  for key in converted if key in expected and converted[key].shape != expected[key].shape]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}")
        if mismatched:
            parts.append(f"other shapes: {', '.join(mismatched[:5])}")
        raise PyTorchGUIError(f"{source} are not this model's ({'; '.join(parts)}): choose the weights of the same "
                              "architecture")
    return converted

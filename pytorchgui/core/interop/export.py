"""Export a network for use outside the app: readable Python, ONNX, torch.export (.pt2).

The Python export is a standalone file with one nn.Module class: named layers in
__init__ (the node names, with the "auto" sizes filled in) and a forward that follows
the graph (the compiled torch.fx code), so weights saved by PyTorchGUI load into it as
they are.
"""
from __future__ import annotations

import inspect
import os
import textwrap
from pathlib import Path

import torch

from pytorchgui import __version__
from pytorchgui.core.atomic import atomic_write, atomic_write_text
from pytorchgui.core.errors import PyTorchGUIError, first_line
from pytorchgui.core.graph import merge
from pytorchgui.core.graph.compiler import compile_network, module_names
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.core.training.metrics import load_weights

FORMATS = ("python", "onnx", "pt2")
NORMALIZATION_MODULE = "input_normalization"
RESTORATION_MODULE = "target_restoration"


class ExportError(PyTorchGUIError):
    """An export that cannot be made; the message says why."""


class InputNormalization(torch.nn.Module):
    """Normalises raw input as PyTorchGUI's training batches were: images as pixels in
    [0, 1], tables as their raw features, minus the training set's mean, over its std."""

    def __init__(self, mean: list[float], std: list[float], dims: int):
        super().__init__()
        shape = [1, -1] + [1] * (dims - 1)
        # Not persistent: the network's weights files load into the exported module as they are.
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape), persistent=False)

    def forward(self, x):
        return (x - self.mean) / self.std


class TargetRestoration(torch.nn.Module):
    """Gives a regression network's outputs in the target's units, as PyTorchGUI's
    evaluation does: the network learned standardised targets, (target - mean) / std."""

    def __init__(self, mean: list[float], std: list[float]):
        super().__init__()
        # Not persistent: the network's weights files load into the exported module as they are.
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)

    def forward(self, x):
        return x * self.std + self.mean


def _statistics_arguments(statistics) -> str:
    return f"mean={[round(v, 8) for v in statistics.mean]}, std={[round(v, 8) for v in statistics.std]}"


def _normalization_arguments(network: Network, normalization) -> str:
    return f"{_statistics_arguments(normalization)}, dims={len(network.input_spec.shape)}"


def _argument(value) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_argument(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def python_source(network: Network, class_name: str = "Network", normalization=None,
                  target_normalization=None) -> str:
    """A standalone Python module defining `class_name`, equivalent to the compiled network
    (with `normalization`, preceded by the training data's normalisation; with
    `target_normalization`, followed by the step back to a regression target's units)."""
    report = infer_shapes(network)
    module = compile_network(network, report)  # also refuses a network with problems
    _check_statistics_fit(network, report, normalization, target_normalization)
    names = module_names(network)
    for added, name in ((normalization, NORMALIZATION_MODULE), (target_normalization, RESTORATION_MODULE)):
        if added is not None and name in names.values():
            raise ExportError(f"a node is named {name!r}, the name a step of the exported normalisation takes: "
                              "rename the node, or export without the normalisation")
    merge_types = sorted({network.node(n).type for n in report.order if network.entry(n).source == "pytorchgui"})
    takes = "raw input (images as pixels in [0, 1])" if normalization is not None else "normalised input"
    gives = ("; it gives values in the target's units" if target_normalization is not None else "")
    lines = [f'"""{class_name}: exported by PyTorchGUI {__version__} from a network designed in the app.',
             "",
             f"{_inputs_line(network, report)}, {takes}{gives}. Load weights saved by PyTorchGUI with",
             f"    model = {class_name}(); model.load_state_dict(torch.load('best_weights.pt', weights_only=True))",
             '"""', "import functools", "import operator", "", "import torch", "from torch import nn", ""]
    classes = [inspect.getsource(step).replace("torch.nn.Module", "nn.Module")
               for step, added in ((InputNormalization, normalization), (TargetRestoration, target_normalization))
               if added is not None]
    if merge_types:
        classes += [inspect.getsource(merge.pytorchgui_modules()[type_name]) for type_name in merge_types]
    for source in classes:
        lines += ["", source.rstrip(), ""]
    lines += ["", f"class {class_name}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    if normalization is not None:
        lines.append(f"        self.{NORMALIZATION_MODULE} = InputNormalization("
                     f"{_normalization_arguments(network, normalization)})")
    if target_normalization is not None:
        lines.append(f"        self.{RESTORATION_MODULE} = TargetRestoration("
                     f"{_statistics_arguments(target_normalization)})")
    for name in report.order:
        entry = network.entry(name)
        arguments = entry.constructor_arguments(report.nodes[name].parameters)
        defaults = entry.defaults()
        shown = ", ".join(f"{key}={_argument(list(value) if isinstance(value, tuple) else value)}"
                          for key, value in arguments.items()
                          if _normal(value) != _normal(defaults.get(key)) or entry.parameter(key).required)
        if name in report.gives_indices:
            shown = (shown + ", " if shown else "") + "return_indices=True"
        prefix = "" if entry.source == "pytorchgui" else "nn."
        comment = f"  # node '{name}'" if names[name] != name else ""
        lines.append(f"        self.{names[name]} = {prefix}{entry.name}({shown}){comment}")
    forward = textwrap.dedent(module.code).strip("\n").splitlines()
    if normalization is not None:  # the first line is "def forward(self, x):"
        forward.insert(1, f"    x = self.{NORMALIZATION_MODULE}(x)")
    if target_normalization is not None:  # the last line is "return OUTPUT"
        returned = forward[-1].strip().removeprefix("return ")
        forward[-1] = f"    return self.{RESTORATION_MODULE}({returned})"
    lines += [""] + ["    " + line if line.strip() else "" for line in forward]
    return "\n".join(lines).rstrip() + "\n"


def _inputs_line(network: Network, report) -> str:
    """What the exported module's docstring says it takes (and gives, with several outputs)."""
    if len(network.inputs) <= 1:
        line = f"Input per sample: {network.input_spec.shape}"
    else:
        line = "Inputs per sample, in order: " + ", ".join(f"{spec.name} {spec.shape}" for spec in network.inputs)
    if len(report.outputs) > 1:
        line += f"; it returns a tuple of {', '.join(report.outputs)}"
    return line


def _check_statistics_fit(network: Network, report, normalization, target_normalization) -> None:
    """The training data's statistics are those of one input and one target: a network
    with several is exported without them (its runs do not normalise them)."""
    if normalization is not None and len(network.inputs) > 1:
        raise ExportError(f"the network takes {len(network.inputs)} inputs and the normalisation is one input's: "
                          "export without the normalisation (--no-normalization)")
    if target_normalization is not None and len(report.outputs) > 1:
        raise ExportError(f"the network gives {len(report.outputs)} outputs and the target's units are one "
                          "output's: export without the normalisation (--no-normalization)")


def _normal(value):
    return list(value) if isinstance(value, tuple) else value


def export_python(network: Network, path: str | os.PathLike, normalization=None, target_normalization=None) -> None:
    atomic_write_text(Path(path), python_source(network, normalization=normalization,
                                                target_normalization=target_normalization))


def _model_and_example(network: Network, weights: str | os.PathLike | None, normalization=None,
                       target_normalization=None):
    report = infer_shapes(network)
    model = compile_network(network, report).eval()
    _check_statistics_fit(network, report, normalization, target_normalization)
    if weights is not None:
        load_weights(model, weights)
    steps = [model]
    if normalization is not None:
        steps.insert(0, InputNormalization(normalization.mean, normalization.std, len(network.input_spec.shape)))
    if target_normalization is not None:
        steps.append(TargetRestoration(target_normalization.mean, target_normalization.std))
    if len(steps) > 1:
        model = torch.nn.Sequential(*steps).eval()
    return model, example_inputs(network)


def example_inputs(network: Network) -> tuple[torch.Tensor, ...]:
    """A batch of 2 for each input, in the order the compiled module takes them."""
    examples = []
    for spec in network.inputs:
        dtype = getattr(torch, spec.dtype)
        examples.append(torch.zeros((2, *spec.shape), dtype=dtype) if dtype == torch.int64
                        else torch.randn((2, *spec.shape)))
    return tuple(examples)


def _batch_dimensions(examples: tuple) -> tuple[dict, ...]:
    """Every input's first axis is the batch, one size for all of them."""
    batch = torch.export.Dim("batch", min=1)
    return tuple({0: batch} for _ in examples)


def export_pt2(network: Network, path: str | os.PathLike, weights: str | os.PathLike | None = None,
               normalization=None, target_normalization=None) -> None:
    """torch.export: a program file that torch.export.load reads back without the app."""
    model, examples = _model_and_example(network, weights, normalization, target_normalization)
    try:
        program = torch.export.export(model, examples, dynamic_shapes=_batch_dimensions(examples))
    except Exception as error:  # noqa: BLE001 - torch.export's reasons are many and all mean the same here
        raise ExportError(f"torch.export could not trace the network: {first_line(error)}") from None
    atomic_write(Path(path), lambda stream: torch.export.save(program, stream))


def export_onnx(network: Network, path: str | os.PathLike, weights: str | os.PathLike | None = None,
                normalization=None, target_normalization=None) -> None:
    """ONNX (opset of the installed exporter), checked with onnx.checker. Needs the onnx
    packages: pip install 'pytorchgui[onnx]'."""
    try:
        import onnx  # imported on use: an optional extra (pytorchgui[onnx])
    except ImportError:
        raise ExportError("ONNX export needs the onnx packages: pip install 'pytorchgui[onnx]' "
                          "(onnx, onnxscript)") from None
    model, examples = _model_and_example(network, weights, normalization, target_normalization)
    outputs = infer_shapes(network).outputs
    # one input and one output keep the names "input" and "output"; several are named after the
    # network's inputs and output nodes, so that onnxruntime's feeds and results read as the design
    input_names = [spec.name for spec in network.inputs] if len(examples) > 1 else ["input"]
    output_names = list(outputs) if len(outputs) > 1 else ["output"]
    path = Path(path)
    temporary = path.with_name(f".{path.name}.exporting")
    try:
        torch.onnx.export(model, examples, str(temporary), input_names=input_names, output_names=output_names,
                          dynamic_shapes=_batch_dimensions(examples), dynamo=True,
                          external_data=False, verbose=False)
        onnx.checker.check_model(onnx.load(str(temporary)))
        os.replace(temporary, path)
    except ExportError:
        raise
    except Exception as error:  # noqa: BLE001
        raise ExportError(f"ONNX export failed: {first_line(error)}") from None
    finally:
        if temporary.exists():
            temporary.unlink()


def export(network: Network, format_name: str, path: str | os.PathLike, weights: str | os.PathLike | None = None,
           normalization=None, target_normalization=None):
    """Write `network` as `format_name`; `weights` go into ONNX and .pt2, `normalization`
    (the training data's, a Normalization) becomes the exported model's first step and
    `target_normalization` (a regression run's TargetNormalization) its last, so that it
    gives values in the target's units."""
    if format_name == "python":
        if weights is not None:
            raise ExportError("the Python export holds the architecture only: load the weights file into it")
        export_python(network, path, normalization, target_normalization)
    elif format_name == "onnx":
        export_onnx(network, path, weights, normalization, target_normalization)
    elif format_name == "pt2":
        export_pt2(network, path, weights, normalization, target_normalization)
    else:
        raise ExportError(f"unknown export format {format_name!r}; use one of {', '.join(FORMATS)}")

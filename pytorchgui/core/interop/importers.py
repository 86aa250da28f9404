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

import functools
import hashlib
import operator
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import fx

from pytorchgui.core.atomic import atomic_write
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.machine import FLOAT_BYTES, does_not_fit_in_ram
from pytorchgui.core.graph.catalog import Catalog, default_catalog
from pytorchgui.core.graph.compiler import compile_network, module_names
from pytorchgui.core.graph.layout import tidy_positions
from pytorchgui.core.graph.network import Network
from pytorchgui.core.interop.batch_folding import map_folded, windows_of
from pytorchgui.core.interop.derived_tensors import DerivedTensor, derived_tensor
from pytorchgui.core.interop.fx_mapping import (Call, MappingError, Permuted, calls, describe, differs, follow_in_place,
                                                plain, record_values, relative_position_bias, vision_calls,
                                                whole_modules)
from pytorchgui.core.safe_load import load_state_dict

IMAGE_INPUT = [3, 224, 224]  # what torchvision's classification models expect


class ImportError_(PyTorchGUIError):
    """A model that cannot be imported, and where in it the reason is."""


@dataclass
class ImportedModel:
    network: Network
    module_of: dict[str, str]  # node name -> the module path in the original model (for its weights)
    notes: list[str] = field(default_factory=list)
    tensor_of: dict[str, dict[str, str]] = field(default_factory=dict)  # node -> {its tensor: the original's key}
    unused_modules: list[str] = field(default_factory=list)  # called by training only; their weights are ignored
    constants: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # node -> {its tensor: folded value}
    folded_buffers: list[str] = field(default_factory=list)  # buffers only read into folded constants
    derived: dict[str, dict[str, DerivedTensor]] = field(default_factory=dict)  # node -> {its tensor: how it
    # is computed from the original's parameters}
    # The traced model's own weights converted, when the network holds constants (a RoPE
    # table, BlurPool's filter): its JSON cannot carry them, and compiled from it alone they
    # would be zeros or random. An import without weights still writes these.
    own_weights: dict[str, torch.Tensor] | None = None


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
        values[spec.name] = plain(value)
    return values


def _function_name(node) -> str:
    """A function call's name inside the module path of the module whose forward calls it (a
    ResNet block's `add` is `layer1.0.add`, the pad of timm's BlurPool in the stem
    `maxpool.1.pad`), so it collapses with its stage; called by the model's own forward,
    inside that of the module that uses its result."""
    stack = node.meta.get("nn_module_stack")
    if stack:
        path, _ = list(stack.values())[-1]
        return f"{path}.{node.name}"
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


INPUT = ""  # the network input, as the source of a node
COMMUTATIVE = {"Add", "Multiply", "Maximum", "Minimum"}  # the other operations of several inputs mind their order


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_tensor(item) for item in value)


DERIVED_NOTE = "tensors the model computes from its parameters alone"


class _Builder:
    """Adds the nodes of a traced model to the network, one traced node at a time: names
    (`base`, `base_2`, ...), first layers, links in the order the operation takes its
    inputs, and the original tensors each node's weights come from."""

    def __init__(self, model: torch.nn.Module, imported: ImportedModel, runs: list[dict[fx.Node, Any]]):
        self.model, self.imported, self.network, self.runs = model, imported, imported.network, runs
        self.name_of: dict[fx.Node, Any] = {}
        self.used: dict[str, int] = {}
        self.order: dict[str, int] = {}
        self.learned_names: dict[tuple[str, str], str] = {}
        self.base = ""
        self.parameters = {name for name, _ in model.named_parameters()}
        self.buffers = {name for name, _ in model.named_buffers()} & set(model.state_dict(keep_vars=True))
        self.folded: dict[fx.Node, torch.Tensor] = {}  # the values of the tensors computed from constants alone
        self.folds: set[fx.Node] = set()  # tensors with windows folded into the batch (batch_folding.py)
        self.graph_module: fx.GraphModule | None = None  # the traced model, for tensors computed from parameters

    def unique(self, base: str) -> str:
        while True:
            self.used[base] = self.used.get(base, 0) + 1
            name = base if self.used[base] == 1 else f"{base}_{self.used[base]}"
            if name not in self.network:
                return name

    def add(self, type_name: str, values: dict[str, Any], sources: list, *, module: str | None = None,
            tensors: dict[str, str] | None = None, base: str | None = None) -> str:
        """A node of `type_name` fed by `sources` (traced nodes or node names) in that order."""
        name = self.unique(base or self.base)
        names = [self.source(source) for source in sources]
        if len(names) > 1 and (INPUT in names or len(set(names)) < len(names)
                               or (type_name not in COMMUTATIVE
                                   and [self.order[n] for n in names] != sorted(self.order[n] for n in names))):
            # an operation takes its inputs in network order: a copy of each, made in order, fixes it
            names = [self._node("Identity", self.unique(f"{name}.input{index}"), {}, [source])
                     for index, source in enumerate(names)]
        self._node(type_name, name, values, names)
        if module is not None:
            self.imported.module_of[name] = module
        if tensors:
            self.imported.tensor_of[name] = dict(tensors)
        return name

    def _node(self, type_name: str, name: str, values: dict[str, Any], names: list[str]) -> str:
        self.network.add_node(type_name, name, values, strict=False, first_layer=INPUT in names)
        self.order[name] = len(self.order)
        for source in names:
            if source != INPUT:
                self.network.connect(source, name)
        return name

    def source(self, source: Any) -> str:
        if isinstance(source, str):
            return source
        held = self.name_of.get(source)
        if isinstance(held, str):
            return held
        if source in self.folded and source.op != "get_attr":
            return self.constant(source)
        if source.op == "get_attr":
            return self.learned(source, "broadcast")
        if isinstance(held, Permuted):
            raise MappingError(f"uses '{source.name}', a permute that moves the batch away from the first dimension",
                               "keep the batch first, or select along the moved dimension right after (unbind(0))")
        if held is None and source in self.name_of:
            raise MappingError("uses the attention weights of a MultiheadAttention", "call it with need_weights=False")
        raise MappingError(f"uses '{source.name}', a tensor computed from the model's parameters alone",
                           "use a LearnedTensor node for it")

    def same(self, source: fx.Node) -> str:
        return self.source(source)

    def held(self, source: fx.Node) -> Any:
        return self.name_of.get(source)

    def dtype(self, node: fx.Node) -> torch.dtype:
        return self.runs[0][node].dtype

    def parameter_tensor(self, node: fx.Node) -> torch.Tensor | None:
        return self.model.get_parameter(node.target) if node.op == "get_attr" and node.target in self.parameters \
            else None

    def reshaped_parameter(self, node: fx.Node) -> str | None:
        """A parameter only reshaped before use (ConvNeXt's layer scale, gamma.reshape(1, -1,
        1, 1)): a LearnedTensor of the reshaped shape (its weights are reshaped on conversion);
        None for anything else computed from parameters alone."""
        source = node.args[0] if node.args else None
        if not (isinstance(source, fx.Node) and source.op == "get_attr" and source.target in self.parameters):
            return None
        reshaping = node.op == "call_method" and node.target in ("reshape", "view", "unsqueeze") or (
            node.op == "call_function" and node.target in (torch.reshape, torch.unsqueeze))
        if node.op == "call_function" and node.target is operator.getitem:
            index = node.args[1] if isinstance(node.args[1], tuple) else (node.args[1],)
            reshaping = all(item is None or item == slice(None) or item is Ellipsis for item in index)
        if not reshaping:
            return None
        return self.learned(source, "broadcast", shape=list(self.runs[0][node].shape))

    def concatenated_parameters(self, node: fx.Node) -> str | None:
        """torch.cat of parameters and buffers of one rank (the attention's qkv bias made of
        q_bias, a zero k_bias and v_bias): a Concatenate of their LearnedTensor and
        ConstantTensor nodes along the same dimension counted from the end; None for
        anything else."""
        if not (node.op == "call_function" and node.target in (torch.cat, torch.concat) and node.args
                and isinstance(node.args[0], (list, tuple))):
            return None
        parts = node.args[0]
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        if not all(isinstance(part, fx.Node) and part.op == "get_attr"
                   and (part.target in self.parameters or part.target in self.buffers or part in self.folded)
                   for part in parts):
            return None
        ranks = {self.runs[0][part].dim() for part in parts}
        if len(ranks) != 1 or not isinstance(dim, int):
            return None
        rank = ranks.pop()
        sources = [self.learned(part, "broadcast", shape=list(self.runs[0][part].shape)) for part in parts]
        return self.add("Concatenate", {"dim": dim % rank - rank}, sources)

    def derived(self, node: fx.Node) -> str | None:
        """A tensor computed from parameters alone in a way no node writes (a relative
        position bias gathered from its table, an exponentiated logit scale): a LearnedTensor
        holding its value, computed again from the original weights on conversion; None
        when the model has no real weights to compute it from."""
        computation = None if self.graph_module is None else \
            derived_tensor(self.graph_module, node, self.parameters | self.buffers)
        value = self.runs[0][node]
        if computation is None or not isinstance(value, torch.Tensor):
            return None
        shape = list(value.shape)
        if len(shape) >= 2 and shape[0] == 1:
            shape = shape[1:]
        name = self.add("LearnedTensor", {"shape": shape or [1], "batch": "broadcast"}, [INPUT])
        self.imported.derived[name] = {"weight": computation}
        if not any(note.startswith(DERIVED_NOTE) for note in self.imported.notes):
            self.imported.notes.append(DERIVED_NOTE + " (relative position biases, scales): LearnedTensor nodes "
                                       "holding their values, exact; training learns those tensors themselves")
        return name

    def learned(self, node: fx.Node, batch: str, shape: list[int] | None = None) -> str:
        """A parameter or buffer used directly: a LearnedTensor or ConstantTensor node whose
        input lends only the batch size. A leading dimension of 1 (ViT's [1, 1, 768] class
        token) is the batch's, which the node adds itself."""
        key = (node.target, batch, tuple(shape or ()))
        if key in self.learned_names:
            return self.learned_names[key]
        if node in self.folded and node.target not in self.parameters and node.target not in self.buffers:
            return self.constant(node)
        if node.target in self.parameters:
            type_name, tensor_key, tensor = "LearnedTensor", "weight", self.model.get_parameter(node.target)
        elif node.target in self.buffers:
            type_name, tensor_key, tensor = "ConstantTensor", "tensor", self.model.get_buffer(node.target)
        else:
            raise MappingError(f"uses '{node.target}', a tensor saved neither as a parameter nor as a buffer",
                               "register it as a buffer (register_buffer) so its values are saved")
        shape = list(tensor.shape) if shape is None else shape
        if batch == "expand" or (len(shape) >= 2 and shape[0] == 1):
            shape = shape[1:]
        values = {"shape": shape or [1], "batch": batch}
        name = self.add(type_name, values, [INPUT], tensors={tensor_key: node.target}, base=node.target)
        self.learned_names[key] = name
        return name

    def constant(self, node: fx.Node) -> str:
        """A tensor computed at trace time from neither the input nor a parameter (a RoPE
        table, torch.arange): a ConstantTensor node holding its value, exactly. A leading
        dimension of 1 is the batch's, as for learned()."""
        if node in self.name_of and isinstance(self.name_of[node], str):
            return self.name_of[node]
        value = self.folded[node].detach()
        shape = list(value.shape)
        if len(shape) >= 2 and shape[0] == 1:
            shape = shape[1:]
        name = self.add("ConstantTensor", {"shape": shape or [1], "batch": "broadcast"}, [INPUT],
                        base=str(node.target) if node.op == "get_attr" else self.base)
        self.imported.constants[name] = {"tensor": value.reshape(shape or [1]).clone()}
        self.name_of[node] = name
        return name

    def module(self, node: fx.Node, catalog: Catalog) -> Any:
        module = self.model.get_submodule(node.target)
        type_name = type(module).__name__
        if type_name not in catalog.layers and type_name not in catalog.activations:
            raise MappingError(f"is a {type(module).__module__}.{type_name}, which is not in PyTorchGUI's catalogue",
                               "replace it with layers of the catalogue")
        values = _module_values(module, catalog.node_entry(type_name))
        tensors = [argument for argument in node.args if isinstance(argument, fx.Node)]
        if isinstance(module, torch.nn.MultiheadAttention):
            if len(set(tensors[:3])) != 1 or any(node.kwargs.get(key) is not None
                                                 for key in ("attn_mask", "key_padding_mask")):
                raise MappingError("is a MultiheadAttention of different queries, keys or values, or with a mask",
                                   "only self-attention without a mask is in the catalogue")
            values.update(bias=module.in_proj_bias is not None, add_bias_kv=module.bias_k is not None)
            return self.add(type_name, values, tensors[:1], module=node.target), None
        return self.add(type_name, values, tensors[:1], module=node.target)


def _results(output: fx.Node, runs: list[dict[fx.Node, Any]], where: str) -> dict[str, fx.Node]:
    """The model's outputs by name: one tensor ("output"), or a tuple, list or dict of
    tensors (GoogLeNet's in training, detection-style heads), in their order."""
    returned = output.args[0]
    if isinstance(returned, dict):
        results = {str(key): value for key, value in returned.items()}
    elif isinstance(returned, (tuple, list)):
        results = {f"output{index}": value for index, value in enumerate(returned)}
    else:
        results = {"output": returned}
    for name, value in results.items():
        if not isinstance(value, fx.Node) or not isinstance(runs[0].get(value), torch.Tensor):
            raise ImportError_(f"{where} returns '{name}', which is not a tensor: PyTorchGUI imports models whose "
                               "outputs are tensors; wrap it in a module that returns those to keep")
    return results


def _ends_in_order(network: Network, builder: "_Builder", results: dict[str, fx.Node]) -> None:
    """Every output an end of the network, in the model's order: an output that is the
    input itself, one that other nodes also take, the same tensor returned twice, or ends
    in another order get Identity nodes named after the outputs."""
    producers = [builder.name_of.get(value) for value in results.values()]
    if producers == network.outputs() and INPUT not in producers:
        return
    for name, value in results.items():
        builder.base = name if len(results) > 1 else "output"
        builder.add("Identity", {}, [value])


def _needed(graph: fx.Graph, runs: list[dict[fx.Node, Any]]) -> set[fx.Node]:
    """The traced nodes whose tensors the output is computed from (a tensor read only for
    its shape, or an attention's unused weights, is not)."""
    output = next(node for node in graph.nodes if node.op == "output")
    needed, pending = set(), [output]
    while pending:
        node = pending.pop()
        for argument in node.all_input_nodes:
            if argument not in needed and _holds_tensor(runs[0].get(argument)):
                needed.add(argument)
                pending.append(argument)
    return needed


def _unused_modules(model: torch.nn.Module, graph: fx.Graph) -> list[str]:
    """The modules with weights that evaluation never calls (GoogLeNet's auxiliary heads)."""
    used = [str(node.target) for node in graph.nodes if node.op in ("call_module", "get_attr")]
    unused: list[str] = []
    for name, module in model.named_modules():
        if not name or any(name.startswith(outer + ".") for outer in unused):
            continue
        if any(True for _ in module.parameters()) and not any(
                target == name or target.startswith(name + ".") or name.startswith(target + ".") for target in used):
            unused.append(name)
    return unused


def trace(model: torch.nn.Module, catalog: Catalog | None = None, *, where: str = "the model",
          input_shape: list[int] | None = None, tracer: fx.Tracer | None = None,
          module_readers: dict[type, Any] | None = None, function_readers: dict[Any, Any] | None = None
          ) -> ImportedModel:
    """The network of a traceable model taking one sample of `input_shape` (an image by
    default); ImportError_ naming the node that could not be mapped and what to do.
    `tracer` decides which modules stay whole; `module_readers` maps the classes of such
    modules outside the catalogue (reader(Call, builder, module) -> node name), and
    `function_readers` the functions such a tracer keeps whole (reader(Call, builder))."""
    catalog = catalog or default_catalog()
    input_shape = list(input_shape or IMAGE_INPUT)
    graph_module, runs = _traced_and_recorded(model, tracer, input_shape, where)
    graph = graph_module.graph
    placeholders = [node for node in graph.nodes if node.op == "placeholder"]
    output = next(node for node in graph.nodes if node.op == "output")
    results = _results(output, runs, where)
    needed = _needed(graph, runs)
    from_input = _computed_from(graph, set(placeholders))
    folded = _fold_constants(graph_module, model, from_input, runs)
    # a tensor computed from constants alone is a node (ConstantTensor): what it feeds maps as
    # what the input feeds does
    from_input = _computed_from(graph, set(placeholders) | {node for node in folded if node.op != "get_attr"})
    network = Network(catalog)
    network.set_input(input_shape)
    imported = ImportedModel(network, {})
    builder = _Builder(model, imported, runs)
    builder.folded, builder.graph_module = folded, graph_module
    imported.folded_buffers = sorted({str(node.target) for node in folded if node.op == "get_attr"
                                      and node.target in builder.buffers})
    readers = {**calls(), **vision_calls(), **(function_readers or {})}
    whole = whole_modules()
    for node in graph.nodes:
        if node.op == "placeholder" and node in needed:
            if node is not placeholders[0]:
                raise ImportError_(f"{where}: its input '{node.name}' is a second input, which PyTorchGUI does not "
                                   "import yet: give the model one input")
            builder.name_of[node] = INPUT
        if node not in needed or node.op in ("placeholder", "get_attr"):
            continue  # parameters used directly become nodes where they are used
        builder.base = node.target if node.op == "call_module" else _function_name(node)
        if node in folded:
            continue  # a constant becomes a node where it is used (source)
        try:
            if node not in from_input:
                if not any(user in from_input for user in node.users):
                    continue  # a step of a computation from parameters alone, mapped whole where it is used
                builder.name_of[node] = relative_position_bias(node, builder) or builder.reshaped_parameter(node) \
                    or builder.concatenated_parameters(node) or builder.derived(node)
                if builder.name_of[node] is None:
                    raise MappingError(f"computes a tensor from the model's parameters alone ({node.name})",
                                       "make that tensor a parameter of its own, used directly: a LearnedTensor node")
                continue
            builder.name_of[node] = _mapped_call(node, builder, lambda node=node: Call(node, runs, needed.__contains__),
                                                 catalog, readers, whole, module_readers or {})
            if isinstance(builder.name_of.get(node), str) and windows_of(runs, node) > 1:
                builder.folds.add(node)
        except MappingError as error:
            what = f"{describe(node)}" + (f": it {error.what}" if error.what else ", which PyTorchGUI cannot map "
                                                                                 "to a catalogue entry yet")
            name = node.target if node.op == "call_module" else _function_name(node)
            raise ImportError_(f"{where}: node '{name}' {what} ({error.advice})") from None
    folded_results = [name for name, value in results.items() if value in builder.folds]
    if folded_results:
        raise ImportError_(f"{where} returns '{folded_results[0]}' with windows or pieces of each sample folded into "
                           "the batch: PyTorchGUI keeps the batch as the first dimension; return the tensor before "
                           "it is folded, or put the windows back")
    _ends_in_order(network, builder, results)
    unused = _unused_modules(model, graph)
    if unused:
        imported.unused_modules = unused
        imported.notes.append(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used when evaluating "
                              "(an auxiliary head for training): left out, and their weights are ignored")
    for name, position in tidy_positions(network).items():
        network.move_node(name, position)
    state = model.state_dict() if imported.constants else {}
    if state and not any(tensor.is_meta for tensor in state.values()):
        imported.own_weights = convert_weights(imported, state, source=f"{where}'s own weights")
    return imported


def _traced_and_recorded(model: torch.nn.Module, tracer: fx.Tracer | None, input_shape: list[int],
                         where: str) -> tuple[fx.GraphModule, list[dict[fx.Node, Any]]]:
    """The model's torch.fx graph and every node's value at the recording batch sizes;
    ImportError_ if it cannot be traced or does not run on `input_shape`."""
    try:
        graph_module = _traced(model, tracer)
    except Exception as error:  # noqa: BLE001 - any tracing failure is the model's, said in one line
        raise ImportError_(f"{where} cannot be traced by torch.fx ({type(error).__name__}: "
                           f"{_first_line(error)}): it has Python control flow that depends on the data") from None
    try:
        runs = record_values(graph_module, input_shape)
    except Exception as error:  # noqa: BLE001 - the model's own failure on this input, said in one line
        raise ImportError_(f"{where} does not run on an input of shape {input_shape} ({type(error).__name__}: "
                           f"{_first_line(error)}): give the input shape it expects") from None
    return graph_module, runs


def _mapped_call(node: fx.Node, builder: "_Builder", call: Callable[[], Call], catalog: Catalog, readers: dict,
                 whole: dict, module_readers: dict) -> Any:
    """The network node (or pieces) a call computed from the input maps to: through a
    folded-windows reader, a reader of the tracer's whole modules, a module mapped whole,
    a catalogue module, or a function/method reader; MappingError for anything else.
    `call` makes its Call, built only for the readers that take one."""
    module = builder.model.get_submodule(node.target) if node.op == "call_module" else None
    if any(argument in builder.folds for argument in node.all_input_nodes):
        return map_folded(call(), builder, readers, module, lambda: builder.module(node, catalog))
    if module is not None and type(module) in module_readers:
        return module_readers[type(module)](call(), builder, module)
    if module is not None and type(module) in whole:
        return whole[type(module)](module, node, builder)
    if module is not None:
        return builder.module(node, catalog)
    if node.target in readers:
        return readers[node.target](call(), builder)
    raise MappingError("", "rewrite that part with modules of the catalogue, or tell us which call it is")


def _computed_from(graph: fx.Graph, sources: set[fx.Node]) -> set[fx.Node]:
    """`sources` and every node computed from one of them."""
    reached = set(sources)
    for node in graph.nodes:
        if any(argument in reached for argument in node.all_input_nodes):
            reached.add(node)
    return reached


def _fold_constants(graph_module: fx.GraphModule, model: torch.nn.Module, from_input: set[fx.Node],
                    runs: list[dict[fx.Node, Any]]) -> dict[fx.Node, torch.Tensor]:
    """The value of every tensor the traced model computes from neither its input's values
    nor a parameter (constants torch.fx saved as `_tensor_constant…`, torch.arange over the
    input's height, tables computed from buffers), computed once on the CPU. Folding them is
    exact: what they read of the input is its shape, the same at every batch size (the
    recorded runs say which). A model built on the meta device has no values to fold."""
    parameters = {name for name, _ in model.named_parameters()}
    values: dict[fx.Node, Any] = {}
    learned: set[fx.Node] = set()  # parameters and tensors computed from them (their shape or device are not)
    for node in graph_module.graph.nodes:
        if node in from_input:
            recorded = [run.get(node) for run in runs]
            if not any(_holds_tensor(value) or value == torch.device("meta") or differs(value, recorded[0])
                       for value in recorded):
                values[node] = recorded[0]  # a size read from the input's shape, the same at every batch
                continue
        if node.op not in ("get_attr", "call_function", "call_method"):
            continue
        if node.op == "get_attr":
            value = functools.reduce(getattr, node.target.split("."), graph_module)
            if isinstance(value, torch.Tensor) and value.is_meta:
                return {}
            if node.target in parameters:
                learned.add(node)
        else:
            if not all(argument in values for argument in node.all_input_nodes):
                continue
            args = fx.node.map_arg(node.args, values.__getitem__)
            kwargs = fx.node.map_arg(node.kwargs, values.__getitem__)
            try:
                with torch.no_grad():
                    value = node.target(*args, **kwargs) if node.op == "call_function" else \
                        getattr(args[0], node.target)(*args[1:], **kwargs)
            except Exception:  # noqa: BLE001 - not computable alone: left to the mapping
                continue
            # a tuple of tensors computed from parameters (their chunks) is learned too, and so are its
            # pieces; a size read from a parameter's shape is not
            if (isinstance(value, torch.Tensor) and value.is_meta) or (_holds_tensor(value) and any(
                    argument in learned for argument in node.all_input_nodes)):
                learned.add(node)
        values[node] = value
    return {node: value for node, value in values.items()
            if isinstance(value, torch.Tensor) and node not in learned}


def _traced(model: torch.nn.Module, tracer: fx.Tracer | None = None) -> fx.GraphModule:
    """torch.fx's trace of `model` by `tracer` (timm's keeps its own layers whole), or by
    one that keeps the modules the importer maps whole (Swin's window attention) as one
    call each."""
    if tracer is None:
        whole = tuple(whole_modules())

        class Tracer(fx.Tracer):
            def is_leaf_module(self, module: torch.nn.Module, qualified_name: str) -> bool:
                return isinstance(module, whole) or super().is_leaf_module(module, qualified_name)

        tracer = Tracer()
    graph = tracer.trace(model)
    follow_in_place(graph)
    return fx.GraphModule(model, graph, type(model).__name__)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else ""


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
        for key in (k for k in state_dict if k.startswith(module + ".")):
            wanted[key] = f"{attribute[node]}.{key[len(module) + 1:]}"
    for node, tensors in imported.tensor_of.items():
        for ours, original in tensors.items():
            wanted[original] = f"{attribute[node]}.{ours}"
    folded = {f"{attribute[node]}.{key}": value for node, tensors in imported.constants.items()
              for key, value in tensors.items()}

    with torch.device("meta"):
        expected = compile_network(imported.network).state_dict()
    converted = {ours: _as_shape(state_dict[original], expected.get(ours)) for original, ours in wanted.items()
                 if original in state_dict}
    converted.update(folded)
    read = set()
    for node, tensors in imported.derived.items():
        for ours, derived in tensors.items():
            read.update(derived.keys)
            if all(key in state_dict for key in derived.keys):  # else reported missing
                converted[f"{attribute[node]}.{ours}"] = _as_shape(derived(state_dict), expected.get(
                    f"{attribute[node]}.{ours}"))
    missing = [key for key in expected if key not in converted]
    unexpected = [key for key in state_dict if key not in wanted and key not in imported.folded_buffers
                  and key not in read
                  and not any(key.startswith(module + ".") for module in imported.unused_modules)]
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


def _as_shape(tensor: torch.Tensor, expected: torch.Tensor | None) -> torch.Tensor:
    """A parameter used directly, without the leading 1 its LearnedTensor node adds itself."""
    if expected is not None and tensor.shape != expected.shape and tensor.numel() == expected.numel():
        return tensor.reshape(expected.shape)
    return tensor

"""Compile a network into a real torch.nn.Module (a torch.fx GraphModule).

As Keras' functional_from_config does, every module is built first (with the "auto"
parameters that shape inference filled in), then the calls are wired in topological
order. The result is an ordinary `nn.Module`: it trains, saves and exports like any
other; its submodules are named after the nodes, so `state_dict` keys read
`conv1.weight`; `print(module)` lists them; `module.code` is the readable Python of its
forward. The generated forward is straight-line code calling the submodules, so it runs
as fast as the same network written by hand.
"""
from __future__ import annotations

import functools
import keyword
import operator
import re

import torch
from torch import fx

from pytorchgui.core.errors import GraphError, ShapeError
from pytorchgui.core.machine import FLOAT_BYTES, does_not_fit_in_ram
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import ShapeReport, infer_shapes, maxunpool_sources


@functools.lru_cache(maxsize=1)
def _reserved_names() -> frozenset[str]:
    # a submodule named like an attribute of nn.Module ("forward", "train", "parameters") or of
    # the GraphModule it goes into ("meta", "graph", "code") cannot be added, and "x" and "self"
    # are the generated forward's own names
    return (frozenset(dir(torch.nn.Module)) | frozenset(vars(torch.nn.Module())) | frozenset(dir(fx.GraphModule))
            | {"meta", "x", "self"})


def module_names(network: Network) -> dict[str, str]:
    """Node name -> Python attribute name ("Layer 1" -> "Layer_1"), unique and stable."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node in network.nodes:
        base = re.sub(r"\W", "_", node)
        if not base or base[0].isdigit() or keyword.iskeyword(base) or base in _reserved_names():
            base = f"n_{base}"
        candidate, counter = base, 2
        while candidate in taken:
            candidate, counter = f"{base}_{counter}", counter + 1
        taken.add(candidate)
        names[node] = candidate
    return names


def argument_names(network: Network, taken: set[str] | None = None) -> dict[str, str]:
    """Input name -> the compiled forward's argument: "x" for a network's only input (its
    code reads as it always did), else the input's name made a Python identifier, unique
    and clear of the submodules' names (`taken`)."""
    if len(network.inputs) <= 1:
        return {spec.name: "x" for spec in network.inputs} or {"": "x"}
    taken = set(module_names(network).values()) if taken is None else set(taken)
    names: dict[str, str] = {}
    for spec in network.inputs:
        base = re.sub(r"\W", "_", spec.name)
        if not base or base[0].isdigit() or keyword.iskeyword(base) or base in _reserved_names():
            base = f"{base}_input" if base and not base[0].isdigit() else f"input_{base}"
        candidate, counter = base, 2
        while candidate in taken:
            candidate, counter = f"{base}_{counter}", counter + 1
        taken.add(candidate)
        names[spec.name] = candidate
    return names


def forward_inputs(batch) -> tuple:
    """A batch's inputs as the compiled forward takes them: a tensor (one input) or a
    tuple of tensors in `network.inputs` order (several)."""
    return tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)


def first_output(output):
    """The first output of what a compiled module returns (a tuple when it has several):
    what views made for one output (Try it, the embedding of the last layer) show."""
    return output[0] if isinstance(output, tuple) else output


def compile_network(network: Network, report: ShapeReport | None = None):
    """Build the network's module. Raises GraphError / ShapeError listing the problems."""
    report = report or infer_shapes(network)
    if report.problems:
        first = report.problems[0]
        more = f" (and {len(report.problems) - 1} more problem(s))" if len(report.problems) > 1 else ""
        error_type = ShapeError if first.node and report.nodes.get(first.node, None) is not None else GraphError
        raise error_type(f"the network does not compile: {first.message}{more}", node=first.node)
    if torch.get_default_device().type != "meta":  # the meta device allocates nothing
        problem = does_not_fit_in_ram(
            (report.total_parameters + report.activation_values) * FLOAT_BYTES,
            f"building the network ({report.total_parameters:,} weights and one sample's activations)",
            "make its layers smaller, or close other programs")
        if problem:
            raise GraphError(problem)

    names = module_names(network)
    root = torch.nn.Module()
    for name in report.order:
        entry = network.entry(name)
        module = entry.build(report.nodes[name].parameters)
        if name in report.gives_indices:
            module.return_indices = True
        if not network.node(name).trainable:
            module.requires_grad_(False)  # frozen: no gradient, and the optimizer never sees it
        root.add_module(names[name], module)

    graph = fx.Graph()
    placeholders = {name: graph.placeholder(argument) for name, argument in argument_names(
        network, set(names.values())).items()}
    only_input = next(iter(placeholders.values())) if len(placeholders) == 1 else None
    first = set(network.first_layers)
    values: dict[str, fx.Node] = {}
    indices: dict[str, fx.Node] = {}
    for name in report.order:
        entry = network.entry(name)
        target = names[name]
        if name in first:
            arguments = (only_input if only_input is not None else placeholders[network.input_feeding(name)],)
        elif entry.name.startswith("MaxUnpool"):
            source, pool = maxunpool_sources(network, name)
            arguments = (values[source], indices[pool])
        else:
            arguments = tuple(values[source] for source in network.inputs_of(name))
        if entry.call == "self_attention":
            query = arguments[0]
            output = graph.call_module(target, (query, query, query), {"need_weights": False})
        else:
            output = graph.call_module(target, arguments)
        if name in report.gives_indices:
            indices[name] = graph.call_function(operator.getitem, (output, 1))
            output = graph.call_function(operator.getitem, (output, 0))
        elif entry.output_index is not None:
            output = graph.call_function(operator.getitem, (output, entry.output_index))
        values[name] = output
    # several outputs: a tuple in the report's (network) order, as torch.fx and the exports return them
    graph.output(values[report.output] if len(report.outputs) <= 1 else tuple(values[o] for o in report.outputs))
    module = fx.GraphModule(root, graph, class_name="CompiledNetwork")
    module.node_names = {attribute: node for node, attribute in names.items()}
    # frozen normalisation layers keep their running statistics in training too
    module.frozen_statistics = [names[name] for name in report.order if not network.node(name).trainable
                                and isinstance(getattr(module, names[name]), torch.nn.modules.batchnorm._NormBase)]
    return module


def failing_node(network: Network, model, x) -> str | None:
    """The node whose module raises when `model` (compiled from `network`) runs on `x`:
    found by running it again with hooks that note the module being run. None if the
    forward pass runs (the error came from the loss or the backward pass)."""
    node_of = {module: node for node, module in module_names(network).items()}
    running: list[str] = []
    handles = []
    for module_name, module in model.named_children():
        if module_name in node_of:
            handles.append(module.register_forward_pre_hook(
                lambda _module, _args, node=node_of[module_name]: running.append(node)))
            handles.append(module.register_forward_hook(lambda *_: running.pop()))
    try:
        with torch.no_grad():
            model(*forward_inputs(x))
    except Exception:  # noqa: BLE001 - the error itself is the caller's; here only where it happens
        return running[-1] if running else None
    finally:
        for handle in handles:
            handle.remove()
    return None


def uses_channels_last(network: Network, option: bool) -> bool:
    """Whether the compiled network trains in channels_last with the option on: not for
    LBFGS, which reads the weights' gradients as one flat view. The Trainer lays out the
    model and its batches by it, and the memory estimate its convolutions."""
    return option and (network.optimizer is None or network.optimizer.type != "LBFGS")

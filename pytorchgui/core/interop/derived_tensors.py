"""Tensors a traced model computes from its parameters alone, in ways no catalogue node
writes: BEiT's and CoAtNet's relative position biases gathered from a table, Swin V2's
clamped and exponentiated logit scale, LeViT's attention biases, RoPE frequencies that are
parameters. They do not depend on the input, so the importer makes each a LearnedTensor
holding its value: the imported network computes exactly what the model does, and the
value is computed again from any state_dict of the same model when its weights are
converted (`DerivedTensor`). What changes is training: the network learns the tensor
itself, not the parameters it was computed from.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx


@dataclass
class DerivedTensor:
    """How `node`'s value follows from the model's state_dict: the traced steps that
    compute it, run again on the state_dict's tensors (`keys`: those it reads)."""
    graph_module: fx.GraphModule
    steps: list[fx.Node]
    node: fx.Node
    keys: list[str]

    def __call__(self, state_dict: dict[str, torch.Tensor]) -> Any:
        values: dict[fx.Node, Any] = {}
        with torch.no_grad():
            for step in self.steps:
                args = fx.node.map_arg(step.args, values.__getitem__)
                kwargs = fx.node.map_arg(step.kwargs, values.__getitem__)
                if step.op == "get_attr":
                    values[step] = state_dict[step.target] if step.target in state_dict else \
                        functools.reduce(getattr, step.target.split("."), self.graph_module)
                elif step.op == "call_function":
                    values[step] = step.target(*args, **kwargs)
                elif step.op == "call_method":
                    values[step] = getattr(args[0], step.target)(*args[1:], **kwargs)
                else:
                    module = self.graph_module.get_submodule(step.target)
                    prefix = f"{step.target}."
                    own = {key[len(prefix):]: tensor for key, tensor in state_dict.items() if key.startswith(prefix)}
                    values[step] = torch.func.functional_call(module, own, args, kwargs)
        return values[self.node]


def derived_tensor(graph_module: fx.GraphModule, node: fx.Node, saved: set[str]) -> DerivedTensor | None:
    """The computation of `node` from parameters, buffers and constants alone (`saved`: the
    keys of the model's state_dict, the tensors a conversion reads from the weights given);
    None when it reads anything else (the input, its shape) or the model has no real
    weights (built on the meta device)."""
    steps: list[fx.Node] = []
    seen: set[fx.Node] = set()

    def visit(current: fx.Node) -> bool:
        if current in seen:
            return True
        seen.add(current)
        if current.op not in ("get_attr", "call_function", "call_method", "call_module"):
            return False
        if not all(visit(argument) for argument in current.all_input_nodes):
            return False
        steps.append(current)
        return True

    if not visit(node):
        return None
    state = graph_module.state_dict(keep_vars=True)
    keys = sorted({key for step in steps if step.op in ("get_attr", "call_module")
                   for key in state if key in saved and (key == step.target or key.startswith(f"{step.target}."))})
    if any(state[key].is_meta for key in keys):
        return None
    order = {step: index for index, step in enumerate(graph_module.graph.nodes)}
    return DerivedTensor(graph_module, sorted(steps, key=order.__getitem__), node, keys)

"""The optimizer a network trains with: made for the compiled model, and changed while it runs.

One owner for the Trainer and the learning-rate range test. Most optimizers take the
trainable parameters as they are; Muon (core/graph/optimizers.py) takes them in two groups:
the hidden layers' weight matrices, and the rest (biases, norms, convolutions, embeddings
and the output layer), which it steps with AdamW.
"""
from __future__ import annotations

from typing import Any

import torch

from pytorchgui.core.graph.compiler import module_names
from pytorchgui.core.graph.network import Network


def make_optimizer(network: Network, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The network's optimizer with its settings, over `model`'s trainable parameters
    (`model`: compile_network's module, not wrapped)."""
    entry = network.catalog.optimizers.get(network.optimizer.type)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if getattr(entry.resolve(), "splits_matrices", False):
        matrices = hidden_matrices(network, model)
        trainable = [{"params": [p for p in trainable if id(p) in matrices], "matrix": True},
                     {"params": [p for p in trainable if id(p) not in matrices], "matrix": False}]
    return entry.build_optimizer(trainable, network.optimizer.parameters)


def hidden_matrices(network: Network, model: torch.nn.Module) -> set[int]:
    """The ids of the 2-D weights of hidden layers: not of embeddings, nor of the layers
    nearest the output (what Muon's authors step with AdamW)."""
    names = module_names(network)
    children = dict(model.named_children())
    head = _output_layers(network, children, names)
    matrices = set()
    for node, name in names.items():
        if node in head or "Embedding" in network.entry(node).name or name not in children:
            continue
        matrices.update(id(p) for p in children[name].parameters() if p.ndim == 2)
    return matrices


def _output_layers(network: Network, children: dict, names: dict[str, str]) -> set[str]:
    """The nodes with weights nearest each output, walking back past those without."""
    head, seen = set(), set()
    waiting = list(network.outputs())
    while waiting:
        node = waiting.pop()
        if node in seen:
            continue
        seen.add(node)
        module = children.get(names.get(node, ""))
        if module is not None and any(True for _ in module.parameters()):
            head.add(node)
        else:
            waiting.extend(network.inputs_of(node))
    return head


def describe_groups(optimizer: torch.optim.Optimizer) -> str:
    """For the log: "1 tensor (512 values) with Muon and 6 tensors (147 values) with AdamW",
    or "" for an optimizer that steps every parameter one way."""
    names = {"muon": "Muon", "adamw": "AdamW"}
    parts = []
    for group in optimizer.param_groups:
        if "algorithm" not in group:
            return ""
        count = len(group["params"])
        parts.append(f"{count} tensor{'s' if count != 1 else ''} ({sum(p.numel() for p in group['params']):,} "
                     f"values) with {names.get(group['algorithm'], group['algorithm'])}")
    return " and ".join(parts)


def apply_settings(optimizer: torch.optim.Optimizer, arguments: dict[str, Any]) -> None:
    """Put constructor arguments (the form's values) into the running optimizer's groups."""
    if hasattr(optimizer, "update_settings"):  # settings of more than one algorithm
        optimizer.update_settings(arguments)
        return
    for group in optimizer.param_groups:
        group.update({key: value for key, value in arguments.items() if key in group})

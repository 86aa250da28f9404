"""Fit a network to a dataset: its input shape and the class count of its last Linear."""
from __future__ import annotations

from pytorchgui.core.network import Network


def fit_to_dataset(network: Network, sample_shape: list[int], num_classes: int | None = None,
                   dtype: str = "float32") -> list[str]:
    """Set the input shape and, for classification, the last Linear's out_features.

    Returns what changed, in words, for the status bar or the CLI.
    """
    changes = []
    old = network.input_spec.shape if network.input_spec else None
    if old != list(sample_shape):
        network.set_input(list(sample_shape), dtype)
        changes.append(f"input shape {old} -> {list(sample_shape)}")
    if num_classes:
        linears = [name for name in network.topological_order() if network.node(name).type == "Linear"]
        if linears:
            last = linears[-1]
            parameters = dict(network.node(last).parameters)
            if parameters.get("out_features") != num_classes:
                changes.append(f"'{last}' out_features {parameters.get('out_features')} -> {num_classes}")
                parameters["out_features"] = num_classes
                network.set_parameters(last, parameters)
    return changes

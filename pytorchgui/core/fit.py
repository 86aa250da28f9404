"""Fit a network to a dataset: its input shape, its first layers' input sizes and the class
count of its last Linear."""
from __future__ import annotations

from pytorchgui.core.catalog import AUTO
from pytorchgui.core.network import Network

# A first layer's parameter that must equal a dimension of one sample: the channel axis
# (index 0) for convolutions and normalisation, the feature axis (last) for the others.
INPUT_SIZE_PARAMETERS = {"in_channels": 0, "num_features": 0, "in_features": -1, "input_size": -1}


def fit_to_dataset(network: Network, sample_shape: list[int], num_classes: int | None = None,
                   dtype: str = "float32") -> list[str]:
    """Set the input shape, the fixed input sizes of the first layers and, for
    classification, the last Linear's out_features. Returns what changed, in words."""
    changes = []
    old = network.input_spec.shape if network.input_spec else None
    if old != list(sample_shape):
        network.set_input(list(sample_shape), dtype)
        changes.append(f"input shape {old} -> {list(sample_shape)}")
    for name in network.first_layers:
        changes += _set_parameters(network, name, {
            parameter: sample_shape[axis] for parameter, axis in INPUT_SIZE_PARAMETERS.items()
            if parameter in network.node(name).parameters
            and network.node(name).parameters[parameter] not in (AUTO, None)})
    if num_classes:
        linears = [name for name in network.topological_order() if network.node(name).type == "Linear"]
        if linears:
            changes += _set_parameters(network, linears[-1], {"out_features": num_classes})
    return changes


def _set_parameters(network: Network, name: str, wanted: dict[str, int]) -> list[str]:
    parameters = dict(network.node(name).parameters)
    changes = [f"'{name}' {key} {parameters.get(key)} -> {value}" for key, value in wanted.items()
               if parameters.get(key) != value]
    if changes:
        parameters.update(wanted)
        network.set_parameters(name, parameters)
    return changes

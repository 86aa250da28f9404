"""Import an ONNX file as an editable network with its weights.

The file is parsed by the `onnx` package and checked by its checker before anything is
built; nothing in it runs. The operators of common CNNs (and of PyTorchGUI's own ONNX
export) map to catalogue nodes: Conv, Gemm or MatMul with an added bias, BatchNormalization,
MaxPool, AveragePool, GlobalAveragePool, a ReduceMean over the spatial axes, Flatten or
a Reshape to [batch, -1], Relu and the other activations, Add, Mul, Concat, Dropout,
Softmax. Initialisers become the nodes' weights. Any other operator is refused, naming
it and its node; an Embedding, a recurrent layer or a layer normalisation is refused
first, by name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pytorchgui.core.graph.catalog import Catalog, default_catalog
from pytorchgui.core.graph.compiler import module_names
from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.machine import does_not_fit_in_ram
from pytorchgui.core.graph.layout import tidy_positions
from pytorchgui.core.graph.network import Network

MAX_ONNX_BYTES = 512 * 1024 * 1024
ACTIVATIONS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "LeakyRelu": "LeakyReLU", "Elu": "ELU",
               "Softmax": "Softmax", "HardSigmoid": "Hardsigmoid", "HardSwish": "Hardswish", "Selu": "SELU",
               "Softplus": "Softplus", "Mish": "Mish"}
MERGES = {"Add": "Add", "Mul": "Multiply", "Concat": "Concatenate"}
# Layers that an ONNX file holds as one operator the importer has no mapping for (an
# Embedding is a Gather from its weight). They are named before the walk, which would stop
# first at the Shape, Slice or Transpose the export puts around them and say nothing useful.
UNMAPPED_LAYERS = {"LSTM": "an LSTM", "GRU": "a GRU", "RNN": "a recurrent layer",
                   "LayerNormalization": "a layer normalisation (as in a transformer)"}


class OnnxImportError(PyTorchGUIError):
    """An ONNX file that cannot be imported, and what in it."""


def _attributes(node) -> dict[str, Any]:
    import onnx  # imported on use: an optional extra (pytorchgui[onnx])

    return {attribute.name: onnx.helper.get_attribute_value(attribute) for attribute in node.attribute}


def _symmetric(pads: list[int], where: str) -> list[int]:
    half = len(pads) // 2
    if list(pads[:half]) != list(pads[half:]):
        raise OnnxImportError(f"{where} pads its sides unequally ({pads}): PyTorchGUI's layers pad both sides alike")
    return list(pads[:half])


class _Reader:
    def __init__(self, model, source: str, catalog: Catalog):
        self.source, self.catalog = source, catalog
        self.graph = model.graph
        self.weights = {tensor.name: tensor for tensor in self.graph.initializer}
        self.network = Network(catalog)
        self.produced_by: dict[str, str] = {}  # tensor name -> our node
        self.state: dict[str, dict[str, torch.Tensor]] = {}  # our node -> its module's tensors
        self.counts: dict[str, int] = {}

    def tensor(self, name: str) -> torch.Tensor:
        from onnx import numpy_helper  # imported on use: an optional extra (pytorchgui[onnx])

        return torch.from_numpy(numpy_helper.to_array(self.weights[name]).copy())

    def name_for(self, node, fallback: str) -> str:
        """The module path of its weight ("conv1" for conv1.weight), else op name and count."""
        for value in node.input[1:]:
            if value in self.weights and value.endswith(".weight"):
                base = value[: -len(".weight")]
                if base not in self.network:
                    return base
        self.counts[fallback] = self.counts.get(fallback, 0) + 1
        count = self.counts[fallback]
        return fallback if count == 1 else f"{fallback}_{count}"

    def add(self, node, type_name: str, values: dict[str, Any], inputs: list[str],
            tensors: dict[str, torch.Tensor] | None = None) -> None:
        name = self.name_for(node, type_name.lower())
        sources = [self.produced_by[value] for value in inputs if value in self.produced_by]
        first = any(value == self.graph.input[0].name for value in inputs)
        self.network.add_node(type_name, name, values, strict=False, first_layer=first)
        for source in sources:
            self.network.connect(source, name)
        self.produced_by[node.output[0]] = name
        if tensors:
            self.state[name] = tensors

    def alias(self, node) -> None:
        """An operator that passes its input on unchanged for inference (Identity, Dropout)."""
        self.produced_by[node.output[0]] = self.produced_by[node.input[0]]

    def where(self, node) -> str:
        return f"{self.source}: node '{node.name or node.output[0]}' ({node.op_type})"


def _convolution(reader: _Reader, node) -> None:
    attributes, where = _attributes(node), reader.where(node)
    weight = reader.tensor(node.input[1])
    dims = weight.dim() - 2
    groups = attributes.get("group", 1)
    values = {"in_channels": weight.shape[1] * groups, "out_channels": weight.shape[0],
              "kernel_size": list(weight.shape[2:]), "stride": list(attributes.get("strides", [1] * dims)),
              "padding": _symmetric(attributes.get("pads", [0] * 2 * dims), where),
              "dilation": list(attributes.get("dilations", [1] * dims)), "groups": groups,
              "bias": len(node.input) > 2 and bool(node.input[2])}
    if attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise OnnxImportError(f"{where} uses auto_pad, which PyTorchGUI cannot map: export with explicit pads")
    tensors = {"weight": weight}
    if values["bias"]:
        tensors["bias"] = reader.tensor(node.input[2])
    reader.add(node, f"Conv{dims}d", values, [node.input[0]], tensors)


def _linear(reader: _Reader, node, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    values = {"in_features": weight.shape[1], "out_features": weight.shape[0], "bias": bias is not None}
    tensors = {"weight": weight} | ({"bias": bias} if bias is not None else {})
    reader.add(node, "Linear", values, [node.input[0]], tensors)


def _gemm(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    if attributes.get("transA", 0) or attributes.get("alpha", 1.0) != 1.0 or attributes.get("beta", 1.0) != 1.0:
        raise OnnxImportError(f"{reader.where(node)}: only Gemm as a Linear layer (no transA, alpha = beta = 1)")
    weight = reader.tensor(node.input[1])
    weight = weight if attributes.get("transB", 0) else weight.t().contiguous()
    bias = reader.tensor(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    _linear(reader, node, weight, bias)


def _pool(reader: _Reader, node, kind: str) -> None:
    attributes, where = _attributes(node), reader.where(node)
    kernel = list(attributes["kernel_shape"])
    dims = len(kernel)
    values = {"kernel_size": kernel, "stride": list(attributes.get("strides", kernel)),
              "padding": _symmetric(attributes.get("pads", [0] * 2 * dims), where),
              "ceil_mode": bool(attributes.get("ceil_mode", 0))}
    if kind == "MaxPool":
        values["dilation"] = list(attributes.get("dilations", [1] * dims))
        reader.add(node, f"MaxPool{dims}d", values, [node.input[0]])
    else:
        values["count_include_pad"] = bool(attributes.get("count_include_pad", 0))
        reader.add(node, f"AvgPool{dims}d", values, [node.input[0]])


def _reshape_or_flatten(reader: _Reader, node) -> None:
    if node.op_type == "Flatten":
        if _attributes(node).get("axis", 1) != 1:
            raise OnnxImportError(f"{reader.where(node)}: only Flatten from axis 1 (keeping the batch)")
    else:
        shape = reader.tensor(node.input[1]).tolist() if node.input[1] in reader.weights else None
        if shape is None or len(shape) != 2 or shape[1] != -1 and shape[0] not in (0, -1):
            raise OnnxImportError(f"{reader.where(node)}: only a Reshape to [batch, -1] (a Flatten) is supported")
    reader.add(node, "Flatten", {"start_dim": 1, "end_dim": -1}, [node.input[0]])


def _global_pool(reader: _Reader, node) -> None:
    if node.op_type == "ReduceMean":
        axes = (reader.tensor(node.input[1]).tolist() if len(node.input) > 1 and node.input[1] in reader.weights
                else _attributes(node).get("axes"))
        if sorted(axis % 4 for axis in axes or []) != [2, 3] or not _attributes(node).get("keepdims", 1):
            raise OnnxImportError(f"{reader.where(node)}: only a mean over the two spatial axes, keeping them")
    reader.add(node, "AdaptiveAvgPool2d", {"output_size": 1}, [node.input[0]])


def _batch_norm(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    scale, bias, mean, variance = (reader.tensor(name) for name in node.input[1:5])
    values = {"num_features": scale.numel(), "eps": float(attributes.get("epsilon", 1e-5)),
              "momentum": round(1 - float(attributes.get("momentum", 0.9)), 6)}
    reader.add(node, "BatchNorm2d", values, [node.input[0]],
               {"weight": scale, "bias": bias, "running_mean": mean, "running_var": variance})


def _merge_or_bias(reader: _Reader, node, pending: dict[str, Any]) -> None:
    constants = [value for value in node.input if value in reader.weights]
    if node.op_type == "Add" and constants and node.input[0] in pending:  # MatMul + bias: one Linear
        matmul = pending.pop(node.input[0])
        _linear(reader, node, reader.tensor(matmul.input[1]).t().contiguous(), reader.tensor(constants[0]))
        return
    if constants:
        raise OnnxImportError(f"{reader.where(node)} with a constant input: PyTorchGUI's merges join nodes only")
    values = {"dim": _attributes(node).get("axis", 1)} if node.op_type == "Concat" else {}
    reader.add(node, MERGES[node.op_type], values, list(node.input))


def _activation(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    values: dict[str, Any] = {}
    if node.op_type == "LeakyRelu":
        values["negative_slope"] = float(attributes.get("alpha", 0.01))
    elif node.op_type == "Elu":
        values["alpha"] = float(attributes.get("alpha", 1.0))
    elif node.op_type == "Softmax":
        values["dim"] = attributes.get("axis", -1)
    reader.add(node, ACTIVATIONS[node.op_type], values, [node.input[0]])


def _refuse_unmapped_layers(reader: _Reader) -> None:
    for node in reader.graph.node:
        if node.op_type == "Gather" and node.input[0] in reader.weights:
            layer = "an Embedding"
        elif node.op_type in UNMAPPED_LAYERS:
            layer = UNMAPPED_LAYERS[node.op_type]
        else:
            continue
        raise OnnxImportError(f"{reader.where(node)}: {layer}, which the ONNX importer does not read (it reads "
                              "convolutional and fully connected networks): build this network in the Network tab")


def import_onnx(path: str | Path, catalog: Catalog | None = None):
    """(network, weights under its module names) of an ONNX file; OnnxImportError naming
    the file and the node that cannot be imported."""
    try:
        import onnx  # imported on use: an optional extra (pytorchgui[onnx])
    except ImportError:
        raise OnnxImportError("importing ONNX needs the onnx package: pip install 'pytorchgui[onnx]'") from None
    path, source = Path(path), str(path)
    try:
        if path.stat().st_size > MAX_ONNX_BYTES:
            raise OnnxImportError(f"{source} is larger than {MAX_ONNX_BYTES // 2**20} MB")
        # The protobuf's copy of the weights, and the tensors made from it.
        problem = does_not_fit_in_ram(2 * path.stat().st_size, f"importing {source}", "close other programs")
        if problem:
            raise OnnxImportError(problem)
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except OSError as error:
        raise OnnxImportError(f"cannot read {source}: {error.strerror or error}") from None
    except Exception as error:  # noqa: BLE001 - protobuf and the checker raise many types: all mean "not valid"
        raise OnnxImportError(f"{source} is not a valid ONNX model ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:200] if str(error) else ''})") from None
    if any(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in model.graph.initializer):
        raise OnnxImportError(f"{source} keeps its weights in external files: save them inside the model")
    reader = _Reader(model, source, catalog or default_catalog())
    _refuse_unmapped_layers(reader)
    pending: dict[str, Any] = {}  # MatMul outputs waiting for their bias Add
    for node in model.graph.node:
        operator = node.op_type
        if operator == "Conv":
            _convolution(reader, node)
        elif operator == "Gemm":
            _gemm(reader, node)
        elif operator == "MatMul" and node.input[1] in reader.weights:
            pending[node.output[0]] = node
            reader.produced_by[node.output[0]] = reader.produced_by.get(node.input[0], "")
        elif operator in ("MaxPool", "AveragePool"):
            _pool(reader, node, operator)
        elif operator in ("GlobalAveragePool", "ReduceMean"):
            _global_pool(reader, node)
        elif operator in ("Flatten", "Reshape"):
            _reshape_or_flatten(reader, node)
        elif operator == "BatchNormalization":
            _batch_norm(reader, node)
        elif operator in MERGES:
            _merge_or_bias(reader, node, pending)
        elif operator in ACTIVATIONS:
            _activation(reader, node)
        elif operator in ("Dropout", "Identity"):
            reader.alias(node)
        else:
            raise OnnxImportError(f"{reader.where(node)}: the operator {operator} has no PyTorchGUI catalogue entry")
    if pending:
        raise OnnxImportError(f"{source}: MatMul '{next(iter(pending))}' has no bias Add after it: PyTorchGUI maps "
                              "MatMul only as part of a Linear layer")
    network = reader.network
    dims = [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim][1:]
    if dims and all(dims):
        network.set_input(dims)
    for name, position in tidy_positions(network).items():
        network.move_node(name, position)
    attributes = module_names(network)
    weights = {f"{attributes[node]}.{key}": value for node, tensors in reader.state.items()
               for key, value in tensors.items()}
    return network, weights

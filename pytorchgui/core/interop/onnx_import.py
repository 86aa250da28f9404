"""Import an ONNX file as an editable network with its weights.

The file is parsed by the `onnx` package and checked by its checker before anything is
built; nothing in it runs but onnx's own reference evaluator on its constants.

Two passes. First the constants are folded: every node whose inputs are all constants
(`Constant`, `ConstantOfShape`, `Identity`, the `Shape`→`Gather`→`Unsqueeze`→`Concat`
chains exporters write before a `Reshape`) is computed with `onnx.reference.ReferenceEvaluator`,
so no operator's meaning is written twice. A shape read from the input depends on the
batch size: it is computed at two batch sizes (`PerBatch`), and a Reshape whose target
follows the batch in both keeps the batch and reshapes each sample, as every catalogue
node does. Then every other node maps to catalogue nodes (layers, activations, merges and
the tensor operations of function_db/tensor_ops.json); constants become weights, or
ConstantTensor nodes where an operation takes a tensor of numbers.

What cannot be mapped is refused with `OnnxImportError`, naming the node (name and
operator) and what to do: never a traceback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.catalog import Catalog, default_catalog
from pytorchgui.core.graph.compiler import module_names
from pytorchgui.core.graph.layout import tidy_positions
from pytorchgui.core.graph.network import INPUT_DTYPES, MAX_NAME_LENGTH, Network
from pytorchgui.core.machine import does_not_fit_in_ram

MAX_ONNX_BYTES = 512 * 1024 * 1024
INPUT = ""  # the network's first input, as the source of a node
INPUT_MARK = "\0"  # the source of a node fed by another input: the mark and its name (no node name holds it)
# Operations of several inputs whose order does not matter (the others take theirs in network order).
COMMUTATIVE = {"Add", "Multiply", "Mean", "Maximum", "Minimum"}
# Layers an ONNX file holds as one operator the importer has no mapping for. They are named
# before the walk, which would stop first at the Shape, Slice or Transpose the export puts
# around them and say nothing useful.
UNMAPPED_LAYERS = {"LSTM": "an LSTM", "GRU": "a GRU", "RNN": "a recurrent layer"}
# Operators never folded even when their inputs are constants: their value changes from run to run.
RANDOM = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
ONNX_TO_DTYPE = {1: "float32", 11: "float64", 10: "float16", 16: "bfloat16", 7: "int64"}
INTEGERS = {2, 3, 4, 5, 6, 9, 12, 13}  # ONNX's (u)int8, 16, 32, 64 but int64, and bool


class OnnxImportError(PyTorchGUIError):
    """An ONNX file that cannot be imported, and what in it."""


class _Refusal(Exception):
    """A node that cannot be mapped: `what` it does and what to do (`advice`)."""

    def __init__(self, what: str, advice: str = "rewrite that part of the model with operations PyTorchGUI's "
                                                  "catalogue has, or build it in the Network tab"):
        super().__init__(what)
        self.what, self.advice = what, advice


@dataclass(frozen=True)
class PerBatch:
    """A value computed from the input's shape, at each of the reader's two batch sizes."""
    values: tuple[np.ndarray, np.ndarray]


def _attributes(node) -> dict[str, Any]:
    import onnx  # imported on use: an optional extra (pytorchgui[onnx])

    values = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        values[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return values


def _load(path: Path, source: str):
    """The checked model; OnnxImportError if it cannot be read or is not valid ONNX."""
    try:
        import onnx  # imported on use: an optional extra (pytorchgui[onnx])
    except ImportError:
        raise OnnxImportError("importing ONNX needs the onnx package: pip install 'pytorchgui[onnx]'") from None
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
    except OnnxImportError:
        raise
    except Exception as error:  # noqa: BLE001 - protobuf and the checker raise many types: all mean "not valid"
        raise OnnxImportError(f"{source} is not a valid ONNX model ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:200] if str(error) else ''})") from None
    if any(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in model.graph.initializer):
        raise OnnxImportError(f"{source} keeps its weights in external files: save them inside the model")
    return model


def _graph_inputs_and_outputs(model, source: str):
    """The graph's inputs (the initialisers aside: old exporters list weights as inputs)
    and outputs, each input a tensor of a type a network input can take."""
    initialised = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initialised]
    if not inputs:
        raise OnnxImportError(f"{source} has no input: there is nothing to import as a network")
    for value in inputs:
        if not value.type.HasField("tensor_type"):
            raise OnnxImportError(f"{source}: its input '{value.name}' is not a tensor: export it as a tensor")
        element_type = value.type.tensor_type.elem_type
        if element_type == 8 or element_type >= 17:  # strings, float8, 4- and 2-bit numbers: no torch tensor holds them
            raise OnnxImportError(f"{source}: its input '{value.name}' holds {_type_name(element_type)}, a type "
                                  "PyTorchGUI's networks cannot hold: export the model with float or integer inputs")
    return inputs, list(model.graph.output)


def _is_input(source: str) -> bool:
    return source == INPUT or source.startswith(INPUT_MARK)


class _Reader:
    """The ONNX graph read once: folded constants, inferred shapes, and the network being
    built, with names, links in the order each operation takes its inputs, and weights."""

    def __init__(self, model, source: str, catalog: Catalog):
        self.model, self.source, self.catalog = model, source, catalog
        self.graph = model.graph
        self.opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), 1)
        self.network = Network(catalog)
        self.inputs, self.outputs = _graph_inputs_and_outputs(model, source)
        self.output_names = {value.name for value in self.outputs}
        dims = self.inputs[0].type.tensor_type.shape.dim
        first = dims[0].dim_value if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0 else 1
        self.batches = (first, first + 1)
        self.input_names = _network_input_names(self.inputs)
        self.constants: dict[str, np.ndarray | PerBatch] = {}
        self.shapes: dict[str, list[int | None]] = {}
        self.element_types: dict[str, int] = {}
        self.produced_by: dict[str, str] = {
            value.name: INPUT if index == 0 else INPUT_MARK + self.input_names[index]
            for index, value in enumerate(self.inputs)}
        self.state: dict[str, dict[str, torch.Tensor]] = {}  # our node -> its module's tensors
        self.order: dict[str, int] = {}
        self.used: dict[str, int] = {}
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for value in node.input:
                self.consumers.setdefault(value, []).append(node)
        self.absorbed: set[str] = set()  # outputs of nodes already mapped into an earlier node (a Linear's bias Add)

    # -- values ------------------------------------------------------------------------
    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def constant(self, name: str, what: str = "this input") -> np.ndarray:
        """A constant input's value; a refusal if it is computed from the input or depends on the batch."""
        value = self.constants.get(name)
        if value is None:
            raise _Refusal(f"computes {what} ('{name}') from the input", "export it as a constant")
        if isinstance(value, PerBatch):
            raise _Refusal(f"uses {what} ('{name}') that depends on the batch size",
                           "compute it from the shape of one sample instead")
        return value

    def optional_constant(self, node, index: int, what: str) -> np.ndarray | None:
        return self.constant(node.input[index], what) if len(node.input) > index and node.input[index] else None

    def shape(self, name: str) -> list[int]:
        shape = self.shapes.get(name)
        if shape is None or any(dim is None for dim in shape):
            raise _Refusal(f"needs the shape of '{name}', which shape inference could not tell",
                           "export the model with fixed input dimensions")
        return list(shape)

    def rank(self, name: str) -> int:
        shape = self.shapes.get(name)
        if shape is None:
            raise _Refusal(f"needs the rank of '{name}', which shape inference could not tell",
                           "export the model with fixed input dimensions")
        return len(shape)

    def axis(self, value: int, rank: int, what: str = "along the batch (dimension 0)") -> int:
        """An axis counted from 0; a refusal if it is the batch's."""
        axis = value + rank if value < 0 else value
        if axis == 0:
            raise _Refusal(f"works {what}", "keep the batch as the first dimension, untouched")
        return axis

    # -- nodes ---------------------------------------------------------------------------
    def where(self, node) -> str:
        return f"{self.source}: node '{node.name or node.output[0]}' ({node.op_type})"

    def source_of(self, name: str) -> str:
        if name in self.produced_by:
            return self.produced_by[name]
        if name in self.constants:
            raise _Refusal(f"takes the constant '{name}' where a computed tensor is expected",
                           "export the model with that tensor as an input of the operation's other side")
        raise _Refusal(f"takes '{name}', which no mapped node gives")

    def unique(self, base: str) -> str:
        while True:
            self.used[base] = self.used.get(base, 0) + 1
            name = base if self.used[base] == 1 else f"{base}_{self.used[base]}"
            if name not in self.network and name not in self.input_names:  # inputs and nodes share names
                return name

    def base_name(self, node) -> str:
        """The module path of its weight ("conv1" for conv1.weight), else its ONNX name, else its operator."""
        for value in node.input[1:]:
            if value in self.constants and value.endswith(".weight"):
                return value[: -len(".weight")]
        name = node.name.strip().lstrip("$")
        return name[:60] if name else node.op_type.lower()

    def add(self, node, type_name: str, values: dict[str, Any], sources: list[str],
            tensors: dict[str, Any] | None = None, *, part: str = "") -> str:
        """A node of `type_name` fed by `sources` (our node names, INPUT for the network
        input) in that order; `part` names a second node made for the same ONNX node."""
        base = self.base_name(node) + (f".{part}" if part else "")
        name = self.unique(base)
        if len(sources) > 1 and (any(map(_is_input, sources)) or len(set(sources)) < len(sources)
                                 or (type_name not in COMMUTATIVE
                                     and [self.order[s] for s in sources] != sorted(self.order[s] for s in sources))):
            # an operation takes its inputs in network order: a copy of each, made in order, fixes it
            sources = [self._node("Identity", self.unique(f"{name}.input{index}"), {}, [source])
                       for index, source in enumerate(sources)]
        self._node(type_name, name, values, sources)
        if tensors:
            self.state[name] = {key: torch.from_numpy(np.require(value, requirements=["C", "W"]))
                                for key, value in tensors.items()}
        return name

    def _node(self, type_name: str, name: str, values: dict[str, Any], sources: list[str]) -> str:
        fed_by = next((source for source in sources if _is_input(source)), None)
        self.network.add_node(type_name, name, values, strict=False,
                              first_layer=fed_by == INPUT or (fed_by is not None and fed_by[len(INPUT_MARK):]))
        self.order[name] = len(self.order)
        for source in sources:
            if not _is_input(source):
                self.network.connect(source, name)
        return name

    def give(self, node, name: str, output: int = 0) -> None:
        self.produced_by[node.output[output]] = name

    def expanded_tensor(self, node, name: str) -> str | None:
        """A LearnedTensor node of batch 'expand' for a constant repeated once per sample
        (a class token expanded to the batch), else None."""
        value = self.constants.get(name)
        if not isinstance(value, PerBatch):
            return None
        first, second = value.values
        if first.ndim < 2 or first.shape[0] != self.batches[0] or second.shape[0] != self.batches[1] \
                or not (first == first[:1]).all() or not np.array_equal(first[0], second[0]) \
                or not np.issubdtype(first.dtype, np.floating):
            return None
        return self.add(node, "LearnedTensor", {"shape": list(first.shape[1:]), "batch": "expand"}, [INPUT],
                        {"weight": first[0]}, part="tensor")

    def constant_tensor(self, node, value: np.ndarray, rank: int) -> str:
        """A ConstantTensor node holding `value` for an operation whose output has `rank`
        dimensions, the batch first: a leading 1 is the batch's, which the node adds."""
        shape = list(value.shape)
        if len(shape) == rank:
            if shape[0] != 1:
                raise _Refusal(f"uses a constant of shape {shape} whose first dimension is not the batch's",
                               "give the constant a first dimension of 1")
            shape = shape[1:]
        if not shape:
            shape, value = [1], value.reshape(1)
        tensor = np.asarray(value, dtype=np.float32).reshape(shape)
        name = self.add(node, "ConstantTensor", {"shape": shape}, [INPUT], {"tensor": tensor}, part="constant")
        if rank == 1:  # the operation's samples are single numbers (a rank-1 input): one number, [1]
            name = self.add(node, "Squeeze", {"dim": 1}, [name], part="constant")
        return name


# -- constant folding ----------------------------------------------------------------------

def _infer_shapes(reader: _Reader) -> None:
    """Every tensor's shape at the first batch size, by onnx's shape inference (with its
    data propagation, which follows Shape→Gather→Concat→Reshape)."""
    import onnx  # imported on use: an optional extra (pytorchgui[onnx])

    model = reader.model
    for value in reader.inputs:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].dim_value = reader.batches[0]
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - inference is a help: without it, nodes that need a shape say so
        inferred = model
    for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        tensor_type = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            continue
        reader.element_types[value.name] = tensor_type.elem_type
        if tensor_type.HasField("shape"):
            reader.shapes[value.name] = [dim.dim_value if dim.HasField("dim_value") else None
                                         for dim in tensor_type.shape.dim]


def _evaluate(reader: _Reader, node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    from onnx import helper  # imported on use: an optional extra (pytorchgui[onnx])
    from onnx.reference import ReferenceEvaluator

    names = [name for name in node.input if name]
    graph = helper.make_graph([node], "constant", [helper.make_empty_tensor_value_info(name) for name in names],
                              [helper.make_empty_tensor_value_info(name) for name in node.output if name])
    model = helper.make_model(graph, opset_imports=list(reader.model.opset_import), ir_version=reader.model.ir_version)
    feeds = {name: value for name, value in zip(node.input, inputs) if name}
    return ReferenceEvaluator(model).run(None, feeds)


def _fold_constants(reader: _Reader) -> None:
    """The value of every tensor computed from constants and from the input's shape alone."""
    from onnx import numpy_helper  # imported on use: an optional extra (pytorchgui[onnx])

    for tensor in reader.graph.initializer:
        reader.constants[tensor.name] = numpy_helper.to_array(tensor)
    for node in reader.graph.node:
        if node.op_type in RANDOM or node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type in ("Shape", "Size") and node.input[0] not in reader.constants:
            shape = reader.shapes.get(node.input[0])
            if shape is None or any(dim is None for dim in shape):
                continue
            values = []
            for batch in reader.batches:
                at_batch = np.array([batch, *shape[1:]], dtype=np.int64)
                if node.op_type == "Size":
                    values.append(np.array(np.prod(at_batch), dtype=np.int64))
                else:
                    attributes = _attributes(node)
                    values.append(at_batch[attributes.get("start", 0):attributes.get("end", len(shape))])
            reader.constants[node.output[0]] = PerBatch(tuple(values))
            continue
        if node.op_type == "CastLike" and isinstance(reader.constants.get(node.input[0]), np.ndarray) \
                and reader.element_types.get(node.input[1]) in CAST_DTYPES:
            # a constant given the type of a computed tensor (the expanded functions write every
            # number so): the type is known before the tensor is
            from onnx import helper  # imported on use: an optional extra (pytorchgui[onnx])

            wanted = helper.tensor_dtype_to_np_dtype(reader.element_types[node.input[1]])
            reader.constants[node.output[0]] = reader.constants[node.input[0]].astype(wanted)
            continue
        if not all(name in reader.constants for name in node.input if name):
            continue
        inputs = [reader.constants.get(name) for name in node.input]
        try:
            if any(isinstance(value, PerBatch) for value in inputs):
                runs = [_evaluate(reader, node, [value.values[run] if isinstance(value, PerBatch) else value
                                                 for value in inputs]) for run in range(2)]
                outputs = [first if np.array_equal(first, second) else PerBatch((first, second))
                           for first, second in zip(*runs)]
            else:
                outputs = _evaluate(reader, node, inputs)
        except Exception as error:  # noqa: BLE001 - the reference evaluator's own refusal, said for the node
            raise OnnxImportError(f"{reader.where(node)}: its constant value cannot be computed "
                                  f"({type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''})"
                                  ": export the model with constants folded (do_constant_folding=True)") from None
        for name, value in zip(node.output, outputs):
            if name:
                reader.constants[name] = value if isinstance(value, PerBatch) else np.asarray(value)


# -- the operators ------------------------------------------------------------------------

def _pairs(pads: list[int]) -> tuple[list[int], list[int]]:
    half = len(pads) // 2
    return list(pads[:half]), list(pads[half:])


def _explicit_pads(reader: _Reader, node, kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
    """The pads of a convolution or pooling, auto_pad resolved against the input's size."""
    attributes = _attributes(node)
    auto_pad = attributes.get("auto_pad", "NOTSET")
    dims = len(kernel)
    if auto_pad in ("NOTSET", ""):
        return list(attributes.get("pads", [0] * 2 * dims))
    if auto_pad == "VALID":
        return [0] * 2 * dims
    spatial = reader.shape(node.input[0])[2:]
    begins, ends = [], []
    for size, k, stride, dilation in zip(spatial, kernel, strides, dilations):
        total = max((math.ceil(size / stride) - 1) * stride + (k - 1) * dilation + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins + ends


def _torch_pads(begins: list[int], ends: list[int]) -> list[int]:
    """ONNX's begins and ends of dimensions 2.. as torch.nn.functional.pad reads them (last dimension first)."""
    pads = []
    for begin, end in reversed(list(zip(begins, ends))):
        pads += [begin, end]
    return pads


def _padding(reader: _Reader, node, source: str, pads: list[int], value: float) -> tuple[str, list[int]]:
    """(the source, the layer's symmetric padding): unequal sides get a Pad node first."""
    begins, ends = _pairs(pads)
    if begins == ends:
        return source, begins
    padded = reader.add(node, "Pad", {"pads": _torch_pads(begins, ends), "mode": "constant", "value": value},
                        [source], part="pad")
    return padded, [0] * len(begins)


def _convolution(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    weight = reader.constant(node.input[1], "its weight")
    bias = reader.optional_constant(node, 2, "its bias")
    dims = weight.ndim - 2
    groups = attributes.get("group", 1)
    kernel = list(attributes.get("kernel_shape", weight.shape[2:]))
    strides, dilations = list(attributes.get("strides", [1] * dims)), list(attributes.get("dilations", [1] * dims))
    source = reader.source_of(node.input[0])
    if node.op_type == "ConvTranspose":
        if "output_shape" in attributes or attributes.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
            raise _Refusal("gives its output size (output_shape or auto_pad)", "export it with explicit pads")
        begins, ends = _pairs(list(attributes.get("pads", [0] * 2 * dims)))
        if begins != ends:
            raise _Refusal(f"crops its sides unequally ({begins} and {ends})", "export it with equal pads")
        values = {"in_channels": weight.shape[0], "out_channels": weight.shape[1] * groups, "kernel_size": kernel,
                  "stride": strides, "padding": begins, "dilation": dilations, "groups": groups,
                  "output_padding": list(attributes.get("output_padding", [0] * dims)), "bias": bias is not None}
        type_name = f"ConvTranspose{dims}d"
    else:
        source, padding = _padding(reader, node, source, _explicit_pads(reader, node, kernel, strides, dilations), 0.0)
        values = {"in_channels": weight.shape[1] * groups, "out_channels": weight.shape[0], "kernel_size": kernel,
                  "stride": strides, "padding": padding, "dilation": dilations, "groups": groups,
                  "bias": bias is not None}
        type_name = f"Conv{dims}d"
    if dims not in (1, 2, 3):
        raise _Refusal(f"convolves over {dims} dimensions", "PyTorchGUI has 1, 2 and 3-dimensional convolutions")
    tensors = {"weight": weight} | ({"bias": bias} if bias is not None else {})
    reader.give(node, reader.add(node, type_name, values, [source], tensors))


def _linear(reader: _Reader, node, source: str, weight: np.ndarray, bias: np.ndarray | None) -> str:
    values = {"in_features": weight.shape[1], "out_features": weight.shape[0], "bias": bias is not None}
    tensors = {"weight": weight} | ({"bias": bias} if bias is not None else {})
    return reader.add(node, "Linear", values, [source], tensors)


def _gemm(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    alpha, beta = float(attributes.get("alpha", 1.0)), float(attributes.get("beta", 1.0))
    if attributes.get("transA", 0):
        raise _Refusal("transposes its first input (transA), which mixes the batch with the features",
                       "export the product with the batch first")
    if not reader.is_constant(node.input[1]):
        if alpha != 1.0 or (len(node.input) > 2 and node.input[2]):
            raise _Refusal("multiplies two computed tensors with a scale or an added term",
                           "export it as MatMul, Mul and Add")
        sources = [reader.source_of(name) for name in node.input[:2]]
        reader.give(node, reader.add(node, "MatMul", {"transpose_second": bool(attributes.get("transB", 0))},
                                     sources))
        return
    weight = reader.constant(node.input[1], "its weight")
    weight = weight * np.float32(alpha) if alpha != 1.0 else weight
    weight = weight if attributes.get("transB", 0) else weight.T
    bias = reader.optional_constant(node, 2, "its added term")
    if bias is not None:
        if bias.ndim == 2 and bias.shape[0] != 1:
            raise _Refusal(f"adds a term of shape {list(bias.shape)}, one row per sample",
                           "export the bias as one row")
        bias = np.broadcast_to(bias.reshape(-1) * np.float32(beta), (weight.shape[0],)).astype(weight.dtype)
    reader.give(node, _linear(reader, node, reader.source_of(node.input[0]), weight, bias))


def _matmul(reader: _Reader, node) -> None:
    first, second = node.input[:2]
    if reader.is_constant(second) and reader.constant(second, "its second operand").ndim == 2 \
            and not reader.is_constant(first):
        weight = reader.constant(second).T
        bias, users = None, reader.consumers.get(node.output[0], [])
        if len(users) == 1 and users[0].op_type == "Add" and node.output[0] not in reader.output_names:
            add = users[0]
            other = next((name for name in add.input if name != node.output[0]), None)
            if other and reader.is_constant(other) and not isinstance(reader.constants[other], PerBatch) \
                    and reader.constants[other].size == weight.shape[0]:
                bias = reader.constants[other].reshape(-1)
                reader.absorbed.add(add.output[0])
        name = _linear(reader, node, reader.source_of(first), weight, bias)
        reader.give(node, name)
        if bias is not None:
            reader.produced_by[reader.consumers[node.output[0]][0].output[0]] = name
        return
    reader.give(node, reader.add(node, "MatMul", {"transpose_second": False}, _operands(reader, node, node.input[:2])))


def _operands(reader: _Reader, node, names) -> list[str]:
    """Our node for each input: constants become ConstantTensor nodes."""
    rank = reader.rank(node.output[0]) if node.output[0] in reader.shapes else None
    sources = []
    for name in names:
        expanded = reader.expanded_tensor(node, name)
        if expanded is not None:
            sources.append(expanded)
        elif reader.is_constant(name):
            value = reader.constant(name)
            sources.append(reader.constant_tensor(node, value, rank if rank is not None else value.ndim + 1))
        else:
            sources.append(reader.source_of(name))
    return sources


WITH_A_SCALAR: dict[str, Callable[[float], tuple[str, dict]]] = {
    "Add": lambda number: ("Shift", {"offset": number}),
    "Sum": lambda number: ("Shift", {"offset": number}),
    "Sub": lambda number: ("Shift", {"offset": -number}),
    "Mul": lambda number: ("Scale", {"factor": number}),
    "Div": lambda number: ("Scale", {"factor": 1.0 / number}),
    "Pow": lambda number: ("PowerOf", {"exponent": number}),
    "Max": lambda number: ("Clamp", {"min": number, "max": None}),
    "Min": lambda number: ("Clamp", {"min": None, "max": number}),
}
BETWEEN_TENSORS = {"Add": "Add", "Sum": "Add", "Sub": "Subtract", "Mul": "Multiply", "Div": "Divide",
                   "Pow": "Power", "Max": "Maximum", "Min": "Minimum", "Mean": "Mean"}


def _elementwise(reader: _Reader, node) -> None:
    """Add, Sub, Mul, Div, Pow and the variadic Sum, Mean, Max, Min."""
    if node.output[0] in reader.absorbed:
        return
    names = [name for name in node.input if name]
    computed = [name for name in names if not reader.is_constant(name)]
    if len(names) == 1:
        reader.give(node, reader.source_of(names[0]))
        return
    if len(computed) == 1 and len(names) == 2 and node.op_type in WITH_A_SCALAR:
        other = next(name for name in names if name != computed[0]) if names[0] != names[1] else None
        value = reader.constant(other) if other else None
        if value is not None and value.size == 1 and value.ndim <= reader.rank(computed[0]):
            number = float(value.reshape(-1)[0])
            source = reader.source_of(computed[0])
            if names[0] == other and node.op_type in ("Sub", "Div", "Pow"):
                if node.op_type == "Pow":
                    raise _Refusal(f"computes the number {number} {node.op_type.lower()} a tensor",
                                   "export it with the tensor first")
                if node.op_type == "Sub":
                    source = reader.add(node, "Negate", {}, [source], part="negate")
                    type_name, values = "Shift", {"offset": number}
                else:  # number / x: the reciprocal, scaled
                    source = reader.add(node, "PowerOf", {"exponent": -1.0}, [source], part="reciprocal")
                    type_name, values = "Scale", {"factor": number}
            else:
                type_name, values = WITH_A_SCALAR[node.op_type](number)
            reader.give(node, reader.add(node, type_name, values, [source]))
            return
    if not computed:
        raise _Refusal("computes from constants only")
    integer_type = reader.element_types.get(node.output[0])
    if node.op_type == "Div" and integer_type in INTEGERS - set(CAST_DTYPES):
        raise _Refusal(f"divides integers of the type {_type_name(integer_type)}, whose truncated quotient torch cannot "
                       "give", "convert them to int64 (Cast) before the division")
    result = reader.add(node, BETWEEN_TENSORS[node.op_type], {}, _operands(reader, node, names))
    if node.op_type == "Div" and integer_type in CAST_DTYPES and integer_type in INTEGERS | {7}:
        # torch divides integers into floats; ONNX's quotient of integers is truncated, as a cast back does
        result = reader.add(node, "Cast", {"dtype": CAST_DTYPES[integer_type]}, [result], part="truncate")
    reader.give(node, result)


def _pool(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    if len(node.output) > 1 and node.output[1] and reader.consumers.get(node.output[1]):
        raise _Refusal("gives the indices of its maxima", "use MaxPool without indices")
    kernel = list(attributes["kernel_shape"])
    dims = len(kernel)
    strides, dilations = list(attributes.get("strides", [1] * dims)), list(attributes.get("dilations", [1] * dims))
    pads = _explicit_pads(reader, node, kernel, strides, dilations)
    ceil_mode = bool(attributes.get("ceil_mode", 0))
    include_pad = bool(attributes.get("count_include_pad", 0))
    source = reader.source_of(node.input[0])
    begins, ends = _pairs(pads)
    if begins != ends:
        if not ceil_mode and _ceil_gives_the_same(reader.shape(node.input[0])[2:], kernel, strides, begins, ends) \
                and (node.op_type == "MaxPool" or not include_pad):
            # Caffe's pooling rounds up; its exporters write the extra row as an end pad
            ends, ceil_mode = begins, True
        elif node.op_type == "MaxPool" or include_pad:
            source, begins = _padding(reader, node, source, pads, -math.inf if node.op_type == "MaxPool" else 0.0)
        else:
            _average_padded_unequally(reader, node, source, kernel, strides, begins, ends, ceil_mode)
            return
    if dims not in (1, 2, 3):
        raise _Refusal(f"pools over {dims} dimensions", "PyTorchGUI has 1, 2 and 3-dimensional pooling")
    values = {"kernel_size": kernel, "stride": strides, "padding": begins, "ceil_mode": ceil_mode}
    if node.op_type == "MaxPool":
        values["dilation"] = dilations
        type_name = f"MaxPool{dims}d"
    else:
        if any(dilation != 1 for dilation in dilations):
            raise _Refusal("averages with dilation", "export it without dilation")
        values["count_include_pad"] = include_pad
        type_name = f"AvgPool{dims}d"
    reader.give(node, reader.add(node, type_name, values, [source]))


def _average_padded_unequally(reader: _Reader, node, source: str, kernel, strides, begins, ends,
                              ceil_mode: bool) -> None:
    """An average leaving out unequal padding: the larger pad on both sides (also left out),
    then a Slice of each dimension to the windows the unequal pads give."""
    padding = [max(begin, end) for begin, end in zip(begins, ends)]
    spatial = reader.shape(node.input[0])[2:]
    if ceil_mode or any(pad > k // 2 or (pad - begin) % stride for pad, k, stride, begin
                        in zip(padding, kernel, strides, begins)):
        raise _Refusal(f"pads its sides unequally ({begins} and {ends}) and leaves the padding out of its "
                       "averages", "export it with equal pads")
    pooled = reader.add(node, f"AvgPool{len(kernel)}d", {"kernel_size": kernel, "stride": strides, "padding": padding,
                                                        "ceil_mode": False, "count_include_pad": False}, [source])
    for index, (size, k, stride, pad, begin, end) in enumerate(zip(spatial, kernel, strides, padding, begins, ends)):
        wanted, first = (size + begin + end - k) // stride + 1, (pad - begin) // stride
        if first or wanted != (size + 2 * pad - k) // stride + 1:
            pooled = reader.add(node, "Slice", {"dim": 2 + index, "start": first, "end": first + wanted, "step": 1},
                                [pooled], part="crop")
    reader.give(node, pooled)


def _ceil_gives_the_same(spatial: list[int], kernel, strides, begins, ends) -> bool:
    """Whether pooling with `begins` on both sides, rounding up as torch does, gives the
    size the unequal pads give."""
    for size, k, stride, begin, end in zip(spatial, kernel, strides, begins, ends):
        wanted = (size + begin + end - k) // stride + 1
        rounded_up = math.ceil((size + 2 * begin - k) / stride) + 1
        if (rounded_up - 1) * stride >= size + begin:
            rounded_up -= 1
        if rounded_up != wanted or end < begin:
            return False
    return True


def _global_pool(reader: _Reader, node) -> None:
    dims = reader.rank(node.input[0]) - 2
    kind = "Avg" if node.op_type == "GlobalAveragePool" else "Max"
    if dims not in (1, 2, 3):
        raise _Refusal(f"pools over {dims} dimensions", "PyTorchGUI has 1, 2 and 3-dimensional pooling")
    reader.give(node, reader.add(node, f"Adaptive{kind}Pool{dims}d", {"output_size": 1},
                                 [reader.source_of(node.input[0])]))


def _batch_norm(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    if not attributes.get("spatial", 1):
        raise _Refusal("normalises each position apart (spatial = 0)", "export it with spatial = 1")
    if attributes.get("training_mode", 0) or any(reader.consumers.get(name) for name in node.output[1:] if name):
        raise _Refusal("normalises in training mode, giving its running statistics", "export the model in eval mode")
    scale, bias, mean, variance = (reader.constant(name, what) for name, what in
                                   zip(node.input[1:5], ("its scale", "its bias", "its mean", "its variance")))
    rank = reader.rank(node.input[0])
    dims = {2: 1, 3: 1, 4: 2, 5: 3}.get(rank)
    if dims is None:
        raise _Refusal(f"normalises a tensor of {rank} dimensions", "PyTorchGUI has batch norms of 2 to 5 dimensions")
    values = {"num_features": int(scale.size), "eps": float(attributes.get("epsilon", 1e-5)),
              "momentum": round(1 - float(attributes.get("momentum", 0.9)), 6)}
    reader.give(node, reader.add(node, f"BatchNorm{dims}d", values, [reader.source_of(node.input[0])],
                                 {"weight": scale, "bias": bias, "running_mean": mean, "running_var": variance}))


def _instance_norm(reader: _Reader, node) -> None:
    scale, bias = reader.constant(node.input[1], "its scale"), reader.constant(node.input[2], "its bias")
    dims = reader.rank(node.input[0]) - 2
    if dims not in (1, 2, 3):
        raise _Refusal(f"normalises over {dims} dimensions", "PyTorchGUI has 1, 2 and 3-dimensional instance norms")
    values = {"num_features": int(scale.size), "eps": float(_attributes(node).get("epsilon", 1e-5)), "affine": True}
    reader.give(node, reader.add(node, f"InstanceNorm{dims}d", values, [reader.source_of(node.input[0])],
                                 {"weight": scale, "bias": bias}))


def _layer_norm(reader: _Reader, node) -> None:
    if any(reader.consumers.get(name) for name in node.output[1:] if name):
        raise _Refusal("gives its mean or deviation as well", "use only its normalised output")
    shape = reader.shape(node.input[0])
    axis = reader.axis(_attributes(node).get("axis", -1), len(shape))
    scale, bias = reader.constant(node.input[1], "its scale"), reader.optional_constant(node, 2, "its bias")
    normalized = shape[axis:]
    values = {"normalized_shape": normalized, "eps": float(_attributes(node).get("epsilon", 1e-5)),
              "elementwise_affine": True, "bias": bias is not None}
    tensors = {"weight": np.broadcast_to(scale, normalized)}
    if bias is not None:
        tensors["bias"] = np.broadcast_to(bias, normalized)
    reader.give(node, reader.add(node, "LayerNorm", values, [reader.source_of(node.input[0])], tensors))


def _lrn(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    values = {"size": int(attributes["size"]), "alpha": float(attributes.get("alpha", 1e-4)),
              "beta": float(attributes.get("beta", 0.75)), "k": float(attributes.get("bias", 1.0))}
    reader.give(node, reader.add(node, "LocalResponseNorm", values, [reader.source_of(node.input[0])]))


ACTIVATIONS: dict[str, tuple[str, Callable[[dict], dict]]] = {
    "Relu": ("ReLU", lambda a: {}),
    "Sigmoid": ("Sigmoid", lambda a: {}),
    "Tanh": ("Tanh", lambda a: {}),
    "LeakyRelu": ("LeakyReLU", lambda a: {"negative_slope": float(a.get("alpha", 0.01))}),
    "Elu": ("ELU", lambda a: {"alpha": float(a.get("alpha", 1.0))}),
    "Celu": ("CELU", lambda a: {"alpha": float(a.get("alpha", 1.0))}),
    "Softplus": ("Softplus", lambda a: {}),
    "Softsign": ("Softsign", lambda a: {}),
    "HardSwish": ("Hardswish", lambda a: {}),
    "Mish": ("Mish", lambda a: {}),
    "Gelu": ("GELU", lambda a: {"approximate": a.get("approximate", "none")}),
    "ThresholdedRelu": ("Threshold", lambda a: {"threshold": float(a.get("alpha", 1.0)), "value": 0.0}),
    "Abs": ("Absolute", lambda a: {}),
    "Neg": ("Negate", lambda a: {}),
    "Exp": ("Exp", lambda a: {}),
    "Log": ("Log", lambda a: {}),
    "Sqrt": ("Sqrt", lambda a: {}),
    "Reciprocal": ("PowerOf", lambda a: {"exponent": -1.0}),
}


def _activation(reader: _Reader, node) -> None:
    type_name, read = ACTIVATIONS[node.op_type]
    reader.give(node, reader.add(node, type_name, read(_attributes(node)), [reader.source_of(node.input[0])]))


def _special_activation(reader: _Reader, node) -> None:
    """Selu, HardSigmoid and Shrink: the torch activation where the constants are torch's."""
    attributes, source = _attributes(node), reader.source_of(node.input[0])
    if node.op_type == "Selu":
        if not (math.isclose(attributes.get("alpha", 1.67326319), 1.6732632423543772, rel_tol=1e-6)
                and math.isclose(attributes.get("gamma", 1.05070102), 1.0507009873554805, rel_tol=1e-6)):
            raise _Refusal("uses SELU constants other than torch's", "use ELU and a Scale node")
        type_name, values = "SELU", {}
    elif node.op_type == "HardSigmoid":
        alpha, beta = float(attributes.get("alpha", 0.2)), float(attributes.get("beta", 0.5))
        if math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5:
            type_name, values = "Hardsigmoid", {}
        else:
            scaled = reader.add(node, "Scale", {"factor": alpha}, [source], part="scale")
            shifted = reader.add(node, "Shift", {"offset": beta}, [scaled], part="shift")
            source, type_name, values = shifted, "Clamp", {"min": 0.0, "max": 1.0}
    else:
        bias, lambd = float(attributes.get("bias", 0.0)), float(attributes.get("lambd", 0.5))
        if bias == lambd:
            type_name, values = "Softshrink", {"lambd": lambd}
        elif bias == 0.0:
            type_name, values = "Hardshrink", {"lambd": lambd}
        else:
            raise _Refusal(f"shrinks by {bias} beyond {lambd}", "use Softshrink or Hardshrink values")
    reader.give(node, reader.add(node, type_name, values, [source]))


def _prelu(reader: _Reader, node) -> None:
    slope = reader.constant(node.input[1], "its slope")
    shape = reader.shape(node.input[0])
    if slope.size == 1:
        count = 1
    elif len(shape) > 1 and slope.size == shape[1] and slope.reshape(-1).size == np.squeeze(slope).size \
            and (slope.ndim == 1 and len(shape) == 2 or slope.shape[0] == shape[1] or slope.ndim == len(shape)):
        count = shape[1]
    else:
        raise _Refusal(f"has a slope of shape {list(slope.shape)}, not one per channel",
                       "export it with one slope per channel or a single one")
    reader.give(node, reader.add(node, "PReLU", {"num_parameters": count}, [reader.source_of(node.input[0])],
                                 {"weight": slope.reshape(count)}))


def _clip(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    if reader.opset < 11:
        low, high = attributes.get("min"), attributes.get("max")
    else:
        low, high = (reader.optional_constant(node, index, what) for index, what in ((1, "its minimum"),
                                                                                      (2, "its maximum")))
    low = None if low is None else float(np.asarray(low).reshape(-1)[0])
    high = None if high is None else float(np.asarray(high).reshape(-1)[0])
    source = reader.source_of(node.input[0])
    if low == 0.0 and high == 6.0:
        reader.give(node, reader.add(node, "ReLU6", {}, [source]))
    else:
        reader.give(node, reader.add(node, "Clamp", {"min": low, "max": high}, [source]))


def _softmax(reader: _Reader, node) -> None:
    """Softmax and LogSoftmax over any axis but the batch; before opset 13 over the
    dimensions from the axis on, flattened."""
    type_name = "Softmax" if node.op_type == "Softmax" else "LogSoftmax"
    rank = reader.rank(node.input[0])
    attributes = _attributes(node)
    source = reader.source_of(node.input[0])
    if reader.opset >= 13:
        axis = reader.axis(attributes.get("axis", -1), rank)
        reader.give(node, reader.add(node, type_name, {"dim": axis}, [source]))
        return
    axis = reader.axis(attributes.get("axis", 1), rank, "over the batch (axis 0)")
    if axis == rank - 1:
        reader.give(node, reader.add(node, type_name, {"dim": axis}, [source]))
        return
    sample = reader.shape(node.input[0])[1:]
    flat = reader.add(node, "Flatten", {"start_dim": axis, "end_dim": -1}, [source], part="flatten")
    normalised = reader.add(node, type_name, {"dim": axis}, [flat])
    reader.give(node, reader.add(node, "Reshape", {"shape": sample}, [normalised], part="reshape"))


def _resolve(target: list[int], shape: list[int], allow_zero: bool) -> list[int] | None:
    """A Reshape's target with its 0s (copy) and -1 (the rest) resolved; None if it does not fit."""
    resolved = [shape[index] if value == 0 and not allow_zero and index < len(shape) else value
                for index, value in enumerate(target)]
    known = math.prod(value for value in resolved if value != -1)
    total = math.prod(shape)
    if resolved.count(-1) == 1:
        if known == 0 or total % known:
            return None
        resolved[resolved.index(-1)] = total // known
    return resolved if math.prod(resolved) == total and all(value >= 0 for value in resolved) else None


def _per_sample(reader: _Reader, node, outputs: list[list[int] | None], constant: bool) -> list[int]:
    """The shape of each sample after a reshape, given the output at each batch size; a
    refusal if the batch does not stay the first dimension."""
    first, second = outputs
    batches = reader.batches
    if first is not None and first[:1] == [batches[0]] and (
            constant or (second is not None and second[:1] == [batches[1]] and second[1:] == first[1:])):
        return first[1:]
    raise _Refusal(f"reshapes across the batch (to {first} at batch {batches[0]})",
                   "keep the batch as the first dimension: reshape each sample")


def _reshape_to(reader: _Reader, node, source_name: str, sample: list[int]) -> None:
    if sample == reader.shape(source_name)[1:]:
        reader.give(node, reader.source_of(source_name))
    elif len(sample) == 1:
        reader.give(node, reader.add(node, "Flatten", {"start_dim": 1, "end_dim": -1}, [reader.source_of(source_name)]))
    else:
        reader.give(node, reader.add(node, "Reshape", {"shape": sample}, [reader.source_of(source_name)]))


def _reshape(reader: _Reader, node) -> None:
    data = node.input[0]
    shape = reader.shape(data)
    allow_zero = bool(_attributes(node).get("allowzero", 0))
    if reader.opset < 5:
        target = np.array(_attributes(node)["shape"])
    else:
        target = reader.constants.get(node.input[1])
        if target is None:
            raise _Refusal("reshapes to a shape computed from the data", "export the model with a fixed shape")
    targets = target.values if isinstance(target, PerBatch) else (target, target)
    outputs = [_resolve([int(value) for value in goal.reshape(-1)], [batch, *shape[1:]], allow_zero)
               for goal, batch in zip(targets, reader.batches)]
    _reshape_to(reader, node, data, _per_sample(reader, node, outputs, not isinstance(target, PerBatch)))


def _flatten(reader: _Reader, node) -> None:
    shape = reader.shape(node.input[0])
    axis = _attributes(node).get("axis", 1)
    axis = axis + len(shape) if axis < 0 else axis
    outputs = [[math.prod([batch, *shape[1:]][:axis]), math.prod(shape[axis:])] for batch in reader.batches]
    _reshape_to(reader, node, node.input[0], _per_sample(reader, node, outputs, False))


def _axes(reader: _Reader, node, index: int = 1) -> list[int] | None:
    attributes = _attributes(node)
    if "axes" in attributes:
        return list(attributes["axes"])
    if len(node.input) > index and node.input[index]:
        return [int(value) for value in reader.constant(node.input[index], "its axes").reshape(-1)]
    return None


def _squeeze(reader: _Reader, node) -> None:
    shape = reader.shape(node.input[0])
    axes = _axes(reader, node)
    if axes is None:
        axes = [index for index, size in enumerate(shape) if size == 1 and index > 0]
    source = reader.source_of(node.input[0])
    for axis in sorted((reader.axis(axis, len(shape)) for axis in axes), reverse=True):
        source = reader.add(node, "Squeeze", {"dim": axis}, [source])
    reader.give(node, source)


def _unsqueeze(reader: _Reader, node) -> None:
    axes = _axes(reader, node) or []
    rank = reader.rank(node.input[0]) + len(axes)
    source = reader.source_of(node.input[0])
    for axis in sorted(reader.axis(axis, rank) for axis in axes):
        source = reader.add(node, "Unsqueeze", {"dim": axis}, [source])
    reader.give(node, source)


def _transpose(reader: _Reader, node) -> None:
    rank = reader.rank(node.input[0])
    perm = list(_attributes(node).get("perm", list(range(rank))[::-1]))
    if perm[0] != 0:
        raise _Refusal(f"moves the batch away from the first dimension (perm {perm})",
                       "keep the batch as the first dimension")
    source = reader.source_of(node.input[0])
    reader.give(node, source if perm == sorted(perm) else reader.add(node, "Permute", {"dims": perm}, [source]))


def _concat(reader: _Reader, node) -> None:
    names = [name for name in node.input if name]
    if len(names) == 1:
        reader.give(node, reader.source_of(names[0]))
        return
    axis = reader.axis(_attributes(node).get("axis", 1), reader.rank(node.output[0]) if node.output[0] in reader.shapes
                       else reader.rank(names[0]))
    sources = []
    for name in names:
        expanded = reader.expanded_tensor(node, name)
        if expanded is None and reader.is_constant(name):
            raise _Refusal("joins a constant to computed tensors", "export the constant as a learned tensor")
        sources.append(expanded or reader.source_of(name))
    reader.give(node, reader.add(node, "Concatenate", {"dim": axis}, sources))


def _slice(reader: _Reader, node) -> None:
    shape = reader.shape(node.input[0])
    attributes = _attributes(node)
    if reader.opset < 10:
        starts, ends = list(attributes["starts"]), list(attributes["ends"])
        axes, steps = list(attributes.get("axes", range(len(starts)))), [1] * len(starts)
    else:
        starts = [int(v) for v in reader.constant(node.input[1], "its starts").reshape(-1)]
        ends = [int(v) for v in reader.constant(node.input[2], "its ends").reshape(-1)]
        given_axes = reader.optional_constant(node, 3, "its axes")
        axes = list(range(len(starts))) if given_axes is None else [int(v) for v in given_axes.reshape(-1)]
        given_steps = reader.optional_constant(node, 4, "its steps")
        steps = [1] * len(starts) if given_steps is None else [int(v) for v in given_steps.reshape(-1)]
    source = reader.source_of(node.input[0])
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis + len(shape) if axis < 0 else axis
        size = shape[axis]
        if step < 1:
            raise _Refusal(f"slices backwards (step {step})", "flip the tensor another way")
        start = min(max(start + size if start < 0 else start, 0), size)
        end = min(max(end + size if end < 0 else end, 0), size)
        if start == 0 and end >= size and step == 1:
            continue
        reader.axis(axis, len(shape), "on the batch (dimension 0)")
        source = reader.add(node, "Slice", {"dim": axis, "start": start, "end": None if end >= size else end,
                                            "step": step}, [source])
    reader.give(node, source)


def _split(reader: _Reader, node) -> None:
    shape = reader.shape(node.input[0])
    attributes = _attributes(node)
    axis = reader.axis(attributes.get("axis", 0), len(shape))
    sizes = attributes.get("split")
    if sizes is None and len(node.input) > 1 and node.input[1]:
        sizes = [int(value) for value in reader.constant(node.input[1], "its sizes").reshape(-1)]
    if sizes is None:
        pieces = attributes.get("num_outputs", len(node.output))
        size = math.ceil(shape[axis] / pieces)
        sizes = [min(size, shape[axis] - size * index) for index in range(pieces)]
    source = reader.source_of(node.input[0])
    for piece, output in enumerate(node.output):
        if output and (reader.consumers.get(output) or output in reader.output_names):
            reader.give(node, reader.add(node, "Split", {"split_size": list(sizes), "dim": axis, "piece": piece},
                                         [source]), piece)


def _gather(reader: _Reader, node) -> None:
    data, indices = node.input[:2]
    axis = _attributes(node).get("axis", 0)
    if reader.is_constant(data) and not reader.is_constant(indices):
        weight = reader.constant(data, "its table")
        if weight.ndim != 2 or axis != 0:
            raise _Refusal("gathers from a constant that is not a table of rows", "use an Embedding of a 2-D table")
        reader.give(node, reader.add(node, "Embedding", {"num_embeddings": weight.shape[0],
                                                         "embedding_dim": weight.shape[1]},
                                     [reader.source_of(indices)], {"weight": weight}))
        return
    shape = reader.shape(data)
    axis = reader.axis(axis, len(shape))
    index = reader.constant(indices, "its indices")
    source = reader.source_of(data)
    flat = [int(value) % shape[axis] for value in index.reshape(-1)]
    if index.ndim == 0:
        reader.give(node, reader.add(node, "Select", {"dim": axis, "index": flat[0]}, [source]))
    elif index.ndim == 1 and flat and flat == list(range(flat[0], flat[0] + len(flat))):
        reader.give(node, reader.add(node, "Slice", {"dim": axis, "start": flat[0], "end": flat[-1] + 1, "step": 1},
                                     [source]))
    else:
        raise _Refusal(f"gathers the entries {flat[:6]} (not a contiguous range)", "use Slice or Select nodes")


def _reduce(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    rank = reader.rank(node.input[0])
    axes = _axes(reader, node)
    if not axes and attributes.get("noop_with_empty_axes", 0):
        reader.give(node, reader.source_of(node.input[0]))
        return
    if not axes:
        raise _Refusal("reduces every dimension, the batch included", "reduce the dimensions of each sample")
    dims = sorted(reader.axis(axis, rank, "over the batch (dimension 0)") for axis in axes)
    keep = bool(attributes.get("keepdims", 1))
    operation = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax", "ReduceMin": "amin",
                 "ReduceLogSumExp": "logsumexp"}[node.op_type]
    source = reader.source_of(node.input[0])
    if operation == "mean" and keep and rank == 4 and dims == [2, 3]:
        reader.give(node, reader.add(node, "AdaptiveAvgPool2d", {"output_size": 1}, [source]))
        return
    reader.give(node, reader.add(node, "Reduce", {"operation": operation, "dim": dims if len(dims) > 1 else dims[0],
                                                  "keepdim": keep}, [source]))


def _pad(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    rank = reader.rank(node.input[0])
    if reader.opset < 11:
        pads, value = list(attributes["pads"]), float(attributes.get("value", 0.0))
    else:
        pads = [int(v) for v in reader.constant(node.input[1], "its pads").reshape(-1)]
        fill = reader.optional_constant(node, 2, "its fill value")
        value = 0.0 if fill is None or fill.size == 0 else float(fill.reshape(-1)[0])
    axes = reader.optional_constant(node, 3, "its axes") if reader.opset >= 18 else None
    axes = list(range(rank)) if axes is None else [int(a) + rank if a < 0 else int(a) for a in axes.reshape(-1)]
    begins, ends = [0] * rank, [0] * rank
    for index, axis in enumerate(axes):
        begins[axis], ends[axis] = pads[index], pads[index + len(axes)]
    if begins[0] or ends[0]:
        raise _Refusal("pads the batch (dimension 0)", "pad the dimensions of each sample only")
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
        attributes.get("mode", "constant"))
    if mode is None:
        raise _Refusal(f"pads in the mode {attributes.get('mode')!r}", "use constant, reflect, edge or wrap")
    torch_pads = _torch_pads(begins[1:], ends[1:])
    # torch pads as many trailing dimensions as the pads name; reflect, replicate and
    # circular pad exactly those after the batch and channels
    kept = 2 * (rank - 2) if mode != "constant" else 2
    while len(torch_pads) > kept and torch_pads[-2:] == [0, 0]:
        torch_pads = torch_pads[:-2]
    if mode != "constant" and len(torch_pads) != kept:
        raise _Refusal(f"pads the channels (dimension 1) in the mode {mode}", "pad the spatial dimensions only")
    reader.give(node, reader.add(node, "Pad", {"pads": torch_pads, "mode": mode, "value": value},
                                 [reader.source_of(node.input[0])]))


def _pass_through(reader: _Reader, node) -> None:
    """Identity, Dropout (for inference), an Expand to the shape it has."""
    if node.op_type == "Dropout" and len(node.output) > 1 and reader.consumers.get(node.output[1]):
        raise _Refusal("gives its dropout mask", "export the model in eval mode")
    if node.op_type == "Expand" and reader.shapes.get(node.input[0]) != reader.shapes.get(node.output[0]):
        raise _Refusal("expands a tensor to a larger shape", "let the operation that uses it broadcast instead")
    reader.give(node, reader.source_of(node.input[0]))


COMPARISONS = {"Less": "less", "LessOrEqual": "less_equal", "Greater": "greater", "GreaterOrEqual": "greater_equal",
               "Equal": "equal"}
LOGICAL = {"And": "and", "Or": "or", "Xor": "xor"}
# ONNX operators that are torch's element-wise function of the same meaning (Function's choices).
FUNCTIONS = {"Floor": "floor", "Ceil": "ceil", "Round": "round", "Sign": "sign", "Erf": "erf", "Sin": "sin",
             "Cos": "cos", "Tan": "tan", "Asin": "asin", "Acos": "acos", "Atan": "atan", "Sinh": "sinh",
             "Cosh": "cosh", "Asinh": "asinh", "Acosh": "acosh", "Atanh": "atanh", "IsNaN": "isnan",
             "BitwiseNot": "bitwise_not"}
# The ONNX element types a Cast node converts to and from: the others (strings, float8, 4-bit
# integers, complex numbers, unsigned integers wider than 8 bits) have no torch dtype that computes.
CAST_DTYPES = {1: "float32", 11: "float64", 10: "float16", 16: "bfloat16", 7: "int64", 6: "int32", 5: "int16",
               3: "int8", 2: "uint8", 9: "bool"}


def _type_name(element_type: int | None) -> str:
    import onnx  # imported on use: an optional extra (pytorchgui[onnx])

    try:
        return onnx.TensorProto.DataType.Name(element_type).lower()
    except ValueError:
        return f"the type {element_type}"


def _comparison(reader: _Reader, node) -> None:
    """Less, Greater, Equal (and their OrEqual), And, Or, Xor: booleans from two inputs."""
    type_name, operation = ("Compare", COMPARISONS[node.op_type]) if node.op_type in COMPARISONS \
        else ("Logical", LOGICAL[node.op_type])
    reader.give(node, reader.add(node, type_name, {"operation": operation}, _operands(reader, node, node.input[:2])))


def _where(reader: _Reader, node) -> None:
    reader.give(node, reader.add(node, "Where", {}, _operands(reader, node, node.input[:3])))


def _arg_reduce(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    dim = reader.axis(attributes.get("axis", 0), reader.rank(node.input[0]))
    values = {"operation": node.op_type.lower(), "dim": dim, "keepdim": bool(attributes.get("keepdims", 1)),
              "last": bool(attributes.get("select_last_index", 0))}
    reader.give(node, reader.add(node, "ArgReduce", values, [reader.source_of(node.input[0])]))


def _function(reader: _Reader, node) -> None:
    source = reader.source_of(node.input[0])
    if node.op_type == "Not":
        reader.give(node, reader.add(node, "LogicalNot", {}, [source]))
        return
    if node.op_type == "IsInf":
        attributes = _attributes(node)
        if not (attributes.get("detect_negative", 1) and attributes.get("detect_positive", 1)):
            raise _Refusal("detects infinities of one sign only", "use IsInf for both signs and a Compare node")
        reader.give(node, reader.add(node, "Function", {"function": "isinf"}, [source]))
        return
    reader.give(node, reader.add(node, "Function", {"function": FUNCTIONS[node.op_type]}, [source]))


def _cast(reader: _Reader, node) -> None:
    """Cast to the `to` type, CastLike to the second input's: a Cast node where the type changes."""
    have = reader.element_types.get(node.input[0])
    if node.op_type == "Cast":
        wanted = _attributes(node).get("to")
    else:
        from onnx import helper  # imported on use: an optional extra (pytorchgui[onnx])

        like = reader.constants.get(node.input[1])
        wanted = reader.element_types.get(node.input[1])
        if wanted is None and isinstance(like, np.ndarray):
            wanted = helper.np_dtype_to_tensor_dtype(like.dtype)
    for element_type, side in ((have, "from"), (wanted, "to")):
        if element_type not in CAST_DTYPES:
            raise _Refusal(f"converts {side} {_type_name(element_type)}, a type PyTorchGUI's networks cannot hold",
                           "convert to and from float, integer or bool types only")
    source = reader.source_of(node.input[0])
    reader.give(node, source if wanted == have else reader.add(node, "Cast", {"dtype": CAST_DTYPES[wanted]}, [source]))


def _attention(reader: _Reader, node) -> None:
    """ONNX's Attention of query, key and value: no mask, key-value cache or window (their
    shapes do not follow the batch, or they change the attention's arithmetic)."""
    attributes = _attributes(node)
    extra = [name for name, given in zip(("attn_mask", "past_key", "past_value", "nonpad_kv_seqlen"), node.input[3:])
             if given]
    if extra:
        raise _Refusal(f"takes {' and '.join(extra)}", "export the attention without a mask or key-value cache")
    if any(output and reader.consumers.get(output) or output in reader.output_names for output in node.output[1:]):
        raise _Refusal("gives its key-value cache or scores as well", "use only its output")
    if attributes.get("left_window_size", -1) >= 0 or attributes.get("right_window_size", -1) >= 0:
        raise _Refusal("attends within a sliding window", "export it with a causal mask or none")
    rank = reader.rank(node.input[0])
    heads = (attributes.get("q_num_heads"), attributes.get("kv_num_heads")) if rank == 3 else (0, 0)
    if rank not in (3, 4) or None in heads:
        raise _Refusal(f"takes inputs of {rank} dimensions", "give it 4-dimensional inputs, or 3 with q_num_heads "
                                                             "and kv_num_heads")
    scale = attributes.get("scale")
    values = {"heads": int(heads[0]), "kv_heads": int(heads[1]), "scale": None if scale is None else float(scale),
              "is_causal": bool(attributes.get("is_causal", 0)), "softcap": float(attributes.get("softcap", 0.0))}
    reader.give(node, reader.add(node, "Attention", values, _operands(reader, node, node.input[:3])))


BITWISE = {"BitwiseAnd": "and", "BitwiseOr": "or", "BitwiseXor": "xor"}


def _integer_arithmetic(reader: _Reader, node) -> None:
    """Mod, BitShift and the bitwise and, or, xor of two inputs."""
    attributes = _attributes(node)
    if node.op_type == "Mod":
        type_name, values = "Remainder", {"fmod": bool(attributes.get("fmod", 0))}
    elif node.op_type == "BitShift":
        type_name, values = "Bitwise", {"operation": f"{attributes['direction'].lower()}_shift"}
    else:
        type_name, values = "Bitwise", {"operation": BITWISE[node.op_type]}
    reader.give(node, reader.add(node, type_name, values, _operands(reader, node, node.input[:2])))


def _einsum(reader: _Reader, node) -> None:
    equation = _attributes(node)["equation"].replace(" ", "")
    operands, _, result = equation.partition("->")
    indices = [*operands.split(","), result]
    batch = {term[:3] if term.startswith("...") else term[:1] for term in indices}
    if "->" not in equation or len(batch) != 1 or "" in batch:
        raise _Refusal(f"sums over the batch or moves it (equation {equation!r})",
                       "keep the batch as the first index of every operand and of the result")
    reader.give(node, reader.add(node, "Einsum", {"equation": equation},
                                 _operands(reader, node, [name for name in node.input if name])))


def _lp_normalization(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    dim = reader.axis(attributes.get("axis", -1), reader.rank(node.input[0]))
    # eps 0: a vector of zeros gives NaN, as ONNX's division by its norm does
    reader.give(node, reader.add(node, "Normalize", {"p": float(attributes.get("p", 2)), "dim": dim, "eps": 0.0},
                                 [reader.source_of(node.input[0])]))


def _swish(reader: _Reader, node) -> None:
    alpha = float(_attributes(node).get("alpha", 1.0))
    source = reader.source_of(node.input[0])
    if alpha == 1.0:
        reader.give(node, reader.add(node, "SiLU", {}, [source]))
        return
    gate = reader.add(node, "Sigmoid", {}, [reader.add(node, "Scale", {"factor": alpha}, [source], part="scale")],
                      part="gate")
    reader.give(node, reader.add(node, "Multiply", {}, [source, gate]))


def _grid_sample(reader: _Reader, node) -> None:
    attributes = _attributes(node)
    mode = {"linear": "bilinear", "bilinear": "bilinear", "nearest": "nearest", "cubic": "bicubic",
            "bicubic": "bicubic"}.get(attributes.get("mode", "linear" if reader.opset >= 20 else "bilinear"))
    if mode is None or (mode == "bicubic" and reader.rank(node.input[0]) != 4):
        raise _Refusal(f"interpolates with {attributes.get('mode')!r} here", "use linear or nearest interpolation")
    values = {"mode": mode, "padding_mode": attributes.get("padding_mode", "zeros"),
              "align_corners": bool(attributes.get("align_corners", 0))}
    reader.give(node, reader.add(node, "GridSample", values, _operands(reader, node, node.input[:2])))


def _class_loss(reader: _Reader, node) -> None:
    """NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss of each sample (reduction none)."""
    attributes = _attributes(node)
    reduction = attributes.get("reduction", "mean")
    if reduction != "none":
        raise _Refusal(f"{'averages' if reduction == 'mean' else 'sums'} the loss over the batch (reduction "
                       f"{reduction!r})", "export it with reduction 'none', or set the loss in the Training tab")
    if len(node.input) > 2 and node.input[2]:
        raise _Refusal("weighs the classes", "set class weights on the Training tab's loss instead")
    operation = "nll" if node.op_type == "NegativeLogLikelihoodLoss" else "cross_entropy"
    values = {"operation": operation, "ignore_index": int(attributes.get("ignore_index", -100))}
    sources = _operands(reader, node, node.input[:2])
    reader.give(node, reader.add(node, "ClassLoss", values, sources))
    if len(node.output) > 1 and node.output[1]:  # SoftmaxCrossEntropyLoss's log-probabilities
        reader.give(node, reader.add(node, "LogSoftmax", {"dim": 1}, sources[:1], part="log_prob"), 1)


def _indexed(reader: _Reader, node) -> None:
    """Hardmax, GatherElements and ScatterElements along an axis of each sample."""
    attributes = _attributes(node)
    rank = reader.rank(node.input[0])
    if node.op_type == "Hardmax":
        if reader.opset < 13 and attributes.get("axis", 1) not in (-1, rank - 1):
            raise _Refusal("takes the largest of several dimensions flattened (before opset 13)",
                           "export it with opset 13 or later")
        dim = reader.axis(attributes.get("axis", -1 if reader.opset >= 13 else 1), rank)
        reader.give(node, reader.add(node, "Hardmax", {"dim": dim}, [reader.source_of(node.input[0])]))
        return
    dim = reader.axis(attributes.get("axis", 0), rank)
    values = {"dim": dim}
    if node.op_type == "ScatterElements":
        reduction = {"none": "none", "add": "sum", "mul": "prod", "max": "amax", "min": "amin"}
        values["reduction"] = reduction[attributes.get("reduction", "none")]
    inputs = node.input[:3] if node.op_type == "ScatterElements" else node.input[:2]
    reader.give(node, reader.add(node, node.op_type, values, _operands(reader, node, inputs)))


OPERATORS: dict[str, Callable[[_Reader, Any], None]] = {
    "Conv": _convolution, "ConvTranspose": _convolution, "Gemm": _gemm, "MatMul": _matmul,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    "BatchNormalization": _batch_norm, "InstanceNormalization": _instance_norm, "LRN": _lrn,
    "LayerNormalization": _layer_norm,
    "Selu": _special_activation, "HardSigmoid": _special_activation, "Shrink": _special_activation,
    "PRelu": _prelu, "Clip": _clip, "Softmax": _softmax, "LogSoftmax": _softmax,
    "Reshape": _reshape, "Flatten": _flatten, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Transpose": _transpose, "Concat": _concat, "Slice": _slice, "Split": _split, "Gather": _gather,
    "ReduceMean": _reduce, "ReduceSum": _reduce, "ReduceMax": _reduce, "ReduceMin": _reduce,
    "ReduceLogSumExp": _reduce, "Pad": _pad,
    "Identity": _pass_through, "Dropout": _pass_through, "Cast": _cast, "CastLike": _cast, "Expand": _pass_through,
    "Attention": _attention, "Einsum": _einsum, "LpNormalization": _lp_normalization, "Swish": _swish,
    "GridSample": _grid_sample, "NegativeLogLikelihoodLoss": _class_loss, "SoftmaxCrossEntropyLoss": _class_loss,
    "Hardmax": _indexed, "GatherElements": _indexed, "ScatterElements": _indexed, "Mod": _integer_arithmetic, "BitShift": _integer_arithmetic,
    **{op: _integer_arithmetic for op in BITWISE}, "BitwiseNot": _function, "Where": _where, "ArgMax": _arg_reduce, "ArgMin": _arg_reduce, "Not": _function, "IsInf": _function,
    **{op: _comparison for op in [*COMPARISONS, *LOGICAL]},
    **{op: _function for op in FUNCTIONS},
    **{op: _elementwise for op in BETWEEN_TENSORS},
    **{op: _activation for op in ACTIVATIONS},
}


def _refuse_unmapped_layers(reader: _Reader) -> None:
    for node in reader.graph.node:
        if node.op_type in UNMAPPED_LAYERS:
            raise OnnxImportError(f"{reader.where(node)}: {UNMAPPED_LAYERS[node.op_type]}, which the ONNX importer "
                                  "does not read: build this network in the Network tab")


def _needed(reader: _Reader) -> set[str]:
    """The tensors the output is computed from."""
    producer = {output: node for node in reader.graph.node for output in node.output if output}
    needed, pending = set(), [value.name for value in reader.outputs]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        node = producer.get(name)
        if node is not None and name not in reader.constants:
            pending.extend(value for value in node.input if value)
    return needed


def _network_input_names(inputs) -> list[str]:
    """The network's names of the graph's inputs: their ONNX names, made valid and unique
    ("input" for a nameless one)."""
    names: list[str] = []
    for value in inputs:
        base = "".join(character for character in value.name if character.isprintable()).strip().lstrip("$") or "input"
        name, count = base[:MAX_NAME_LENGTH], 2
        while name in names:
            name, count = f"{base[:MAX_NAME_LENGTH - 4]}_{count}", count + 1
        names.append(name)
    return names


def _set_inputs(reader: _Reader) -> None:
    """The network's inputs, named and shaped as the graph's (its only input keeps the
    usual name "input")."""
    several = len(reader.inputs) > 1
    for index, value in enumerate(reader.inputs):
        tensor_type = value.type.tensor_type
        dims = [dim.dim_value if dim.HasField("dim_value") else 0 for dim in tensor_type.shape.dim][1:]
        # integers and booleans of other widths are declared int64: shapes are inferred with
        # integers (bitwise operations take nothing else), and the network takes them as they are
        dtype = ONNX_TO_DTYPE.get(tensor_type.elem_type, "int64" if tensor_type.elem_type in INTEGERS else "float32")
        dtype = dtype if dtype in INPUT_DTYPES else "float32"
        # a rank-1 input is one number per sample (its only dimension the batch's): shape []
        if not tensor_type.shape.dim or not all(dim > 0 for dim in dims):
            if several:
                raise OnnxImportError(f"{reader.source}: its input '{value.name}' has no fixed shape per sample "
                                      f"({describe_dims(tensor_type)}): export the model with fixed input dimensions")
            continue
        if index == 0:
            reader.network.set_input(dims, dtype)
            if several:
                reader.network.rename_input(reader.network.inputs[0].name, reader.input_names[0])
        else:
            reader.network.add_input(reader.input_names[index], dims, dtype)


def describe_dims(tensor_type) -> str:
    return "[" + ", ".join(str(dim.dim_value) if dim.HasField("dim_value") else (dim.dim_param or "?")
                           for dim in tensor_type.shape.dim) + "]"


def _outputs(reader: _Reader) -> None:
    """Every graph output is an end of the network, in the graph's order: an output that
    is the input itself, one that other operations also take, or outputs whose ends
    would come in another order get an Identity node named after them."""
    producers = []
    for value in reader.outputs:
        if value.name in reader.constants:
            raise OnnxImportError(f"{reader.source}: its output '{value.name}' does not depend on its input: there "
                                  "is nothing to import as a network" if len(reader.outputs) == 1 else
                                  f"{reader.source}: its output '{value.name}' does not depend on its inputs: export "
                                  "the model without it")
        if value.name not in reader.produced_by:  # a Dropout's mask, a MaxPool's indices: nothing here gives it
            raise OnnxImportError(f"{reader.source}: its output '{value.name}' is not a tensor a PyTorchGUI node "
                                  "gives (a dropout mask, pooling indices): export the model without that output")
        producers.append(reader.produced_by[value.name])
    network = reader.network
    ends = [name for name in network.outputs()]
    if producers == ends:
        return
    for value, producer in zip(reader.outputs, producers):
        base = value.name if len(reader.outputs) > 1 else "output"
        reader._node("Identity", reader.unique(base.strip()[:60] or "output"), {}, [producer])


def import_onnx(path: str | Path, catalog: Catalog | None = None):
    """(network, weights under its module names) of an ONNX file; OnnxImportError naming
    the file and the node that cannot be imported, and what to do."""
    path, source = Path(path), str(path)
    model = _load(path, source)
    reader = _Reader(model, source, catalog or default_catalog())
    _refuse_unmapped_layers(reader)
    _infer_shapes(reader)
    _fold_constants(reader)
    needed = _needed(reader)
    for node in model.graph.node:
        if not any(output in needed and output not in reader.constants for output in node.output):
            continue
        try:
            mapping = OPERATORS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            if mapping is None:
                raise _Refusal(f"the operator {node.op_type}{f' of {node.domain}' if node.domain else ''} has no "
                               "PyTorchGUI catalogue entry")
            mapping(reader, node)
        except _Refusal as refusal:
            raise OnnxImportError(f"{reader.where(node)}: {refusal.what} ({refusal.advice})") from None
    network = reader.network
    _set_inputs(reader)
    _outputs(reader)
    for name, position in tidy_positions(network).items():
        network.move_node(name, position)
    attributes = module_names(network)
    weights = {f"{attributes[node]}.{key}": value for node, tensors in reader.state.items()
               for key, value in tensors.items()}
    return network, weights

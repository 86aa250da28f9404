"""What the torch.fx importer makes of each function and method a traced model calls
between its modules: a table from the call (`torch.permute`, `"flatten"`, `operator.getitem`,
...) to a reader that adds the matching catalogue nodes (function_db/tensor_ops.json and
the layers) through a `Builder`.

Values that are not tensors (`x.shape`, `x.size(0)`, `h // patch`) are never nodes: the
traced model is run node by node on the meta device twice, at batch 2 and at batch 3
(`record_values`), and every such value is read from those runs. A value equal in both is
a constant; one that differs depends on the batch, which the catalogue's operations keep
implicit (Reshape reshapes each sample, LearnedTensor expands to the batch).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import fx

BATCHES = (2, 3)  # the two batch sizes a traced model is run at; ints differing between them depend on the batch


class MappingError(Exception):
    """A call with no catalogue equivalent: `what` says what it does, `advice` what to do."""

    def __init__(self, what: str, advice: str = "rewrite that part of the model with modules of the catalogue"):
        super().__init__(what)
        self.what, self.advice = what, advice


def record_values(graph_module: fx.GraphModule, input_shape: list[int]) -> list[dict[fx.Node, Any]]:
    """Every node's value when the model runs on meta tensors, once per batch size of
    BATCHES. Parameters and buffers are replaced by meta tensors of their shape, so a
    model with real weights is run without computing anything."""
    meta = {name: torch.empty_like(tensor, device="meta")
            for name, tensor in [*graph_module.named_parameters(), *graph_module.named_buffers()]}

    class Recorder(fx.Interpreter):
        def __init__(self):
            super().__init__(graph_module)
            self.values: dict[fx.Node, Any] = {}

        def run_node(self, node):
            value = super().run_node(node)
            self.values[node] = value
            return value

        def call_module(self, target, args, kwargs):
            module = self.fetch_attr(target)
            prefix = target + "."
            state = {name[len(prefix):]: tensor for name, tensor in meta.items() if name.startswith(prefix)}
            return torch.func.functional_call(module, state, args, kwargs)

        def fetch_attr(self, target):
            value = super().fetch_attr(target)
            if isinstance(value, torch.Tensor):
                return meta[target] if target in meta else torch.empty_like(value, device="meta")
            return value

    runs = []
    with torch.no_grad():
        try:
            for batch in BATCHES:
                recorder = Recorder()
                recorder.run(torch.empty(batch, *input_shape, device="meta"))
                runs.append(recorder.values)
        except RuntimeError as error:
            # a model that makes tensors on its weights' device while it runs (RoPE tables:
            # torch.arange(..., device=self.weight.device)) mixes them with meta ones: run
            # it on the CPU, with its own weights, when it has real ones
            if "meta" not in str(error) or any(tensor.is_meta for tensor in graph_module.state_dict().values()):
                raise
            return [_real_run(graph_module, [batch, *input_shape]) for batch in BATCHES]
    return runs


def _real_run(graph_module: fx.GraphModule, shape: list[int]) -> dict[fx.Node, Any]:
    """Every node's value on a real input of zeros, on the CPU."""
    values: dict[fx.Node, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, node):
            values[node] = super().run_node(node)
            return values[node]

    Recorder(graph_module).run(torch.zeros(shape))
    return values


@dataclass
class BatchDependent:
    """An int read from a shape that changes with the batch size (x.size(0))."""
    name: str


@dataclass
class Pieces:
    """The tuple a split, chunk or unbind gives: getitem picks one piece as a node, then
    permutes it when the pieces came from a permute that moved the batch (`then`)."""
    type_name: str
    values: dict[str, Any]
    source: fx.Node
    piece_parameter: str = "piece"
    then: list[int] | None = None


@dataclass
class Permuted:
    """A permute that moves the batch away from the first dimension (timm's
    `qkv.permute(2, 0, 3, 1, 4)`): no node holds it, since every node keeps the batch
    first; selecting along its first dimension (unbind(0), qkv[0]) becomes a Select on
    the tensor before the permute, then a permute that keeps the batch first."""
    source: fx.Node
    dims: list[int]

    def selected(self) -> tuple[int, list[int]]:
        """The dimension of the source selected, and the permutation of what is left."""
        chosen = self.dims[0]
        return chosen, [dim - (dim > chosen) for dim in self.dims[1:]]


class Call:
    """One traced call seen with the recorded values: its arguments with every non-tensor
    node replaced by its value, tensors left as the nodes they are."""

    def __init__(self, node: fx.Node, runs: list[dict[fx.Node, Any]], is_tensor: Callable[[fx.Node], bool]):
        self.node, self.runs, self._is_tensor = node, runs, is_tensor
        self.args = tuple(self.resolve(argument) for argument in node.args)
        self.kwargs = {key: self.resolve(argument) for key, argument in node.kwargs.items()}

    def resolve(self, argument: Any) -> Any:
        if isinstance(argument, fx.Node):
            if self._is_tensor(argument):
                return argument
            first, *others = (run[argument] for run in self.runs)
            if any(differs(first, other) for other in others):
                return BatchDependent(argument.name)
            return first
        if isinstance(argument, (list, tuple)):
            return type(argument)(self.resolve(item) for item in argument)
        if isinstance(argument, slice):
            return slice(self.resolve(argument.start), self.resolve(argument.stop), self.resolve(argument.step))
        return argument

    def argument(self, index: int, name: str, default: Any = None) -> Any:
        """An argument given by position or keyword; MappingError if it depends on the batch."""
        value = self.kwargs[name] if name in self.kwargs else self.args[index] if len(self.args) > index else default
        if isinstance(value, BatchDependent) or (isinstance(value, (list, tuple))
                                                 and any(isinstance(item, BatchDependent) for item in value)):
            raise MappingError("uses a value that depends on the batch size", "compute it from the shape of one "
                                                                               "sample instead")
        return value

    def shape(self, run: int = 0) -> tuple[int, ...]:
        return tuple(self.runs[run][self.node].shape)

    def shape_of(self, node: fx.Node) -> tuple[int, ...]:
        return tuple(self.runs[0][node].shape)

    def tensors(self) -> list[fx.Node]:
        """The tensor arguments, in order (a list argument, as torch.cat's, flattened)."""
        found = []

        def visit(argument):
            if isinstance(argument, fx.Node):
                found.append(argument)
            elif isinstance(argument, (list, tuple)):
                for item in argument:
                    visit(item)

        visit(self.args)
        visit(list(self.kwargs.values()))
        return found


def differs(first: Any, other: Any) -> bool:
    try:
        return bool(first != other)
    except (RuntimeError, TypeError):
        return False


def plain(value: Any) -> Any:
    if isinstance(value, (tuple, list, torch.Size)):
        return [plain(v) for v in value]
    return value


def _dims(value: Any) -> Any:
    return plain(value) if isinstance(value, (tuple, list, torch.Size)) else value


def _binary(tensor_type: str, constant: Callable[[Any], tuple[str, dict]] | None):
    """x op y between two tensors, or with a constant number on either side."""

    def read(call: Call, builder):
        first, second = call.argument(0, "input"), call.argument(1, "other")
        if call.argument(2, "alpha", 1) != 1:
            raise MappingError("scales its second operand (alpha)", "multiply the second operand first")
        tensors = [value for value in (first, second) if isinstance(value, fx.Node)]
        if len(tensors) == 2:
            return builder.add(tensor_type, {}, [first, second])
        number = second if isinstance(first, fx.Node) else first
        if constant is None or not isinstance(number, (int, float)) or isinstance(number, bool):
            raise MappingError(f"combines a tensor with {number!r}")
        if not isinstance(first, fx.Node) and tensor_type in ("Subtract", "Divide", "Power"):
            if tensor_type == "Subtract":
                negated = builder.add("Negate", {}, [second])
                return builder.add("Shift", {"offset": first}, [negated])
            raise MappingError(f"computes a number {tensor_type.lower()} a tensor")
        type_name, values = constant(number)
        return builder.add(type_name, values, tensors)

    return read


def follow_in_place(graph: fx.Graph) -> None:
    """A method that changes its tensor in place and whose result the code drops
    (`out.mul_(gain)`, then `out` used): torch.fx records it, but the later uses still
    read the node before it. They are made to read the in-place node, as the model does."""
    position = {node: index for index, node in enumerate(graph.nodes)}
    for node in list(graph.nodes):
        changed = node.args[0] if node.args else None
        if not (node.op == "call_method" and node.target.endswith("_") and not node.target.startswith("__")
                and isinstance(changed, fx.Node)):
            continue
        for user in list(changed.users):
            if position[user] > position[node]:
                user.replace_input_with(changed, node)


def _simple(type_name: str, read_values: Callable[[Call], dict] = lambda call: {}):
    return lambda call, builder: builder.add(type_name, read_values(call), call.tensors()[:1])


def _reshape(call: Call, builder):
    """view/reshape: each sample's shape as recorded, the batch kept. A first dimension of
    k x the batch at every batch size folds k windows of each sample into the batch
    (b-major, as windowed attention does): each sample is reshaped to [k, ...] instead
    (batch_folding.py maps what reads it)."""
    first, second = call.shape(0), call.shape(1)
    source = call.tensors()[0]
    windows = first[0] // BATCHES[0]
    if first[0] % BATCHES[0] or second[0] != windows * BATCHES[1] or first[1:] != second[1:] \
            or (windows > 1 and len(first) < 2):
        raise MappingError(f"reshapes across the batch ({list(call.shape_of(source))} to {list(first)} at batch "
                           f"{BATCHES[0]})", "keep the batch as the first dimension")
    if call.shape_of(source) == first:
        return builder.same(source)
    return builder.add("Reshape", {"shape": ([windows] if windows > 1 else []) + list(first[1:])}, [source])


def _flatten(call: Call, builder):
    return builder.add("Flatten", {"start_dim": call.argument(1, "start_dim", 0),
                                   "end_dim": call.argument(2, "end_dim", -1)}, call.tensors()[:1])


def _permute(call: Call, builder):
    dims = [call.argument(index, "dims") for index in range(1, len(call.args))] if len(call.args) > 2 \
        else call.argument(1, "dims")
    source = call.tensors()[0]
    rank = len(call.shape_of(source))
    dims = [dim % rank for dim in plain(dims)]
    if dims[0] != 0:
        return Permuted(source, dims)
    return builder.add("Permute", {"dims": dims}, [source])


def _select_permuted(builder, permuted: Permuted, index: int):
    chosen, rest = permuted.selected()
    selected = builder.add("Select", {"dim": chosen, "index": index}, [permuted.source])
    return selected if rest == sorted(rest) else builder.add("Permute", {"dims": rest}, [selected])


def _transpose(call: Call, builder):
    return builder.add("Transpose", {"dim0": call.argument(1, "dim0"), "dim1": call.argument(2, "dim1")},
                       call.tensors()[:1])


def _reduced_dims(call: Call, operation: str) -> list[int]:
    """The dimensions a reduction names; MappingError for one over the whole tensor."""
    dim = call.argument(1, "dim")
    if dim is None:
        raise MappingError(f"takes the {operation} of the whole tensor, batch included",
                           f"give the dimensions to reduce (x.{operation}(dim=...))")
    return _dims(dim)


def _reduce(operation: str):
    def read(call: Call, builder):
        values = {"operation": operation, "dim": _reduced_dims(call, operation),
                  "keepdim": bool(call.argument(2, "keepdim", False))}
        return builder.add("Reduce", values, call.tensors()[:1])

    return read


def _spread(operation: str):
    """x.var(dim, unbiased, keepdim) and x.std(...), or with correction=: a Reduce of that
    operation (ConvNeXt's RMS variants, CAFormer's heads)."""
    def read(call: Call, builder):
        dims = _reduced_dims(call, operation)
        unbiased = call.argument(2, "unbiased", True)
        correction = call.kwargs.get("correction", 1 if unbiased else 0)
        if not isinstance(correction, (int, float)) or correction != int(correction):
            raise MappingError(f"takes the {operation} with a correction of {correction!r}",
                               "use a whole correction (1 divides by n - 1, 0 by n)")
        values = {"operation": operation, "dim": dims, "keepdim": bool(call.argument(3, "keepdim", False)),
                  "correction": int(correction)}
        return builder.add("Reduce", values, call.tensors()[:1])

    return read


def _norm(call: Call, builder):
    """x.norm(p=2, dim, keepdim) over chosen dimensions: a Reduce of operation "norm"
    (the vector 2-norm; ConvNeXt V2's global response normalisation)."""
    order, dim = call.argument(1, "p", "fro"), call.argument(2, "dim")
    if order not in (2, 2.0, "fro"):
        raise MappingError(f"takes the {order}-norm", "use the 2-norm (a Reduce node of operation 'norm')")
    if dim is None:
        raise MappingError("takes the norm of the whole tensor, batch included", "give the dimensions (x.norm(dim=...))")
    values = {"operation": "norm", "dim": _dims(dim), "keepdim": bool(call.argument(3, "keepdim", False))}
    return builder.add("Reduce", values, call.tensors()[:1])


def _addcmul(call: Call, builder):
    """torch.addcmul(input, first, second, value=v): input + v · first · second, in nodes."""
    base, first, second = (call.argument(index, name) for index, name in enumerate(("input", "tensor1", "tensor2")))
    if not all(isinstance(tensor, fx.Node) for tensor in (base, first, second)):
        raise MappingError("multiplies or adds a number instead of a tensor", "use Multiply and Add nodes")
    product = builder.add("Multiply", {}, [first, second])
    value = call.argument(3, "value", 1)
    if value != 1:
        product = builder.add("Scale", {"factor": value}, [product])
    return builder.add("Add", {}, [base, product])


def _rms_norm(call: Call, builder):
    """F.rms_norm with the model's own weight (or none): an RMSNorm node."""
    weight = call.argument(2, "weight")
    tensors = _attribute_tensors(call, {"weight": weight}, "RMSNorm")
    values = {"normalized_shape": plain(call.argument(1, "normalized_shape")), "eps": call.argument(3, "eps"),
              "elementwise_affine": weight is not None}
    return builder.add("RMSNorm", values, call.tensors()[:1], tensors=tensors)


def _pieces(type_name: str, size_parameter: str, *names: str):
    """chunk, split: a tuple of pieces; `names` are the other keyword names of the size."""

    def read(call: Call, builder):
        size = next((call.kwargs[name] for name in (size_parameter, *names) if name in call.kwargs),
                    call.args[1] if len(call.args) > 1 else None)
        return Pieces(type_name, {size_parameter: _dims(size), "dim": call.argument(2, "dim", 0)}, call.tensors()[0])

    return read


def _unbind(call: Call, builder):
    dim, source = call.argument(1, "dim", 0), call.tensors()[0]
    held = builder.held(source)
    if isinstance(held, Permuted) and dim == 0:
        chosen, rest = held.selected()
        return Pieces("Select", {"dim": chosen}, held.source, piece_parameter="index", then=rest)
    return Pieces("Select", {"dim": dim}, source, piece_parameter="index")


def _getitem(call: Call, builder):
    container, index = call.node.args[0], call.args[1]
    held = builder.held(container)
    if isinstance(index, int) and index < 0 and isinstance(call.runs[0].get(container), (tuple, list)):
        index += len(call.runs[0][container])  # the last piece (res2net's spx[-1]) by its position
    if isinstance(held, Pieces):
        piece = builder.add(held.type_name, {**held.values, held.piece_parameter: index}, [held.source])
        if held.then is not None and held.then != sorted(held.then):
            return builder.add("Permute", {"dims": held.then}, [piece])
        return piece
    if isinstance(held, tuple):
        return held[index]
    if isinstance(held, Permuted) and isinstance(index, int):
        return _select_permuted(builder, held, index)
    return _index(call, builder, container, index)


def _index(call: Call, builder, tensor: fx.Node, index: Any):
    """x[...] with ints, slices, None and one Ellipsis: a chain of Select, Slice and Unsqueeze."""
    items = list(index) if isinstance(index, tuple) else [index]
    if any(isinstance(item, (fx.Node, torch.Tensor, list)) for item in items):
        raise MappingError("indexes a tensor with another tensor or a list", "use a Select or Slice node instead")
    rank = len(call.shape_of(tensor))
    if items.count(Ellipsis) > 1:
        raise MappingError("indexes with two ellipses")
    current, dim = tensor, 0
    for position, item in enumerate(items):
        if item is Ellipsis:
            consumed = sum(1 for later in items[position + 1:] if later is not None)
            dim = rank - consumed
        elif item is None:
            current = builder.add("Unsqueeze", {"dim": dim}, [current])
            rank += 1
            dim += 1
        elif isinstance(item, int):
            current = builder.add("Select", {"dim": dim, "index": item}, [current])
            rank -= 1
        elif isinstance(item, slice):
            if item != slice(None):
                current = builder.add("Slice", {"dim": dim, "start": item.start or 0, "end": item.stop,
                                                "step": item.step or 1}, [current])
            dim += 1
        else:
            raise MappingError(f"indexes a tensor with {item!r}")
    return current if current is not tensor else builder.same(tensor)


def _expand(call: Call, builder):
    source = call.tensors()[0]
    if call.shape_of(source) == call.shape(0):
        return builder.same(source)
    parameter = builder.parameter_tensor(source)
    first, second = call.shape(0), call.shape(1)
    if (parameter is not None and parameter.shape[0] == 1 and first[0] == BATCHES[0] and second[0] == BATCHES[1]
            and tuple(first[1:]) == tuple(parameter.shape[1:])):
        return builder.learned(source, batch="expand")
    if parameter is None and call.node.users and all(_broadcasts(user) for user in call.node.users):
        return builder.same(source)  # an attention gate expanded for a product that broadcasts it anyway
    raise MappingError(f"expands a tensor from {list(call.shape_of(source))} to {list(first)}",
                       "use a LearnedTensor node with batch 'expand' for a class token")


def _repeat(call: Call, builder):
    """x.repeat(...) that copies nothing but, at most, a batch of one to the batch size
    (XCiT's position encoding, pos.repeat(B, 1, 1, 1)): the tensor itself, whose batch of
    one the operations that combine it with the input broadcast."""
    source = call.tensors()[0]
    repeats = list(call.args[1:]) if len(call.args) > 2 or not isinstance(call.args[1], (list, tuple)) \
        else list(call.args[1])
    batch_only = len(repeats) == len(call.shape_of(source)) and call.shape_of(source)[0] == 1 \
        and isinstance(repeats[0], BatchDependent)
    if all(repeat == 1 for repeat in repeats[1 if batch_only else 0:]) and (batch_only or repeats[0] == 1):
        return builder.same(source)
    raise MappingError(f"repeats a tensor {repeats} times", "use Concatenate nodes of copies, or an expand")


BROADCASTING = {operator.mul, operator.add, operator.sub, operator.truediv, torch.mul, torch.add, torch.sub,
                torch.div, "mul", "add", "sub", "div"}


def _broadcasts(node: fx.Node) -> bool:
    """An element-wise operation of two tensors that broadcasts its operands itself."""
    return node.op in ("call_function", "call_method") and node.target in BROADCASTING


def _pool(type_name: str):
    def read(call: Call, builder):
        kernel = call.argument(1, "kernel_size")
        stride = call.argument(2, "stride")
        values = {"kernel_size": plain(kernel), "stride": plain(stride) if stride not in (None, [], ()) else None,
                  "padding": plain(call.argument(3, "padding", 0))}
        if type_name == "MaxPool2d":
            values["dilation"] = plain(call.argument(4, "dilation", 1))
            values["ceil_mode"] = bool(call.argument(5, "ceil_mode", False))
            if call.argument(6, "return_indices", False):
                raise MappingError("max-pools with return_indices", "use a MaxPool2d module")
        else:
            values["ceil_mode"] = bool(call.argument(4, "ceil_mode", False))
            values["count_include_pad"] = bool(call.argument(5, "count_include_pad", True))
            values["divisor_override"] = call.argument(6, "divisor_override")
        return builder.add(type_name, values, call.tensors()[:1])

    return read


def _layer_norm(call: Call, builder):
    weight, bias = call.argument(2, "weight"), call.argument(3, "bias")
    tensors = {}
    for key, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            if not isinstance(value, fx.Node) or value.op != "get_attr":
                raise MappingError(f"normalises with a {key} computed inside the model", "use an nn.LayerNorm module")
            tensors[key] = value.target
    values = {"normalized_shape": plain(call.argument(1, "normalized_shape")), "eps": call.argument(4, "eps", 1e-5),
              "elementwise_affine": weight is not None, "bias": bias is not None}
    if weight is None and bias is not None:
        raise MappingError("normalises with a bias but no weight", "use an nn.LayerNorm module")
    return builder.add("LayerNorm", values, [call.args[0]], tensors=tensors)


def _attribute_tensors(call: Call, named: dict[str, Any], what: str) -> dict[str, str]:
    """The parameters and buffers a functional normalisation takes, by the node's tensor
    names: each must be one the model holds (get_attr), not one computed inside it."""
    tensors = {}
    for key, value in named.items():
        if value is None:
            continue
        if not isinstance(value, fx.Node) or value.op != "get_attr":
            raise MappingError(f"normalises with a {key} computed inside the model", f"use an nn.{what} module")
        tensors[key] = value.target
    return tensors


def _batch_norm(call: Call, builder):
    """F.batch_norm in evaluation (a BatchNorm subclass traced through): BatchNorm1d/2d/3d
    by the input's rank, its four tensors and the counter the module keeps beside them."""
    if call.argument(5, "training", False):
        raise MappingError("normalises with the batch's statistics (training=True)", "use an nn.BatchNorm2d module")
    named = {"running_mean": call.argument(1, "running_mean"), "running_var": call.argument(2, "running_var"),
             "weight": call.argument(3, "weight"), "bias": call.argument(4, "bias")}
    if named["running_mean"] is None or named["running_var"] is None:
        raise MappingError("normalises without running statistics", "use an nn.BatchNorm2d module")
    tensors = _attribute_tensors(call, named, "BatchNorm2d")
    counter = tensors["running_mean"].rpartition(".")[0] + ".num_batches_tracked"
    if counter in builder.buffers:
        tensors["num_batches_tracked"] = counter
    rank = len(call.shape_of(call.tensors()[0]))
    type_name = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}.get(rank)
    if type_name is None or (named["weight"] is None) != (named["bias"] is None):
        raise MappingError(f"normalises a tensor of rank {rank}, or with only one of weight and bias",
                           "use an nn.BatchNorm2d module")
    channels = call.shape_of(call.tensors()[0])[1]
    values = {"num_features": channels, "eps": call.argument(7, "eps", 1e-5), "affine": named["weight"] is not None,
              "track_running_stats": True}
    return builder.add(type_name, values, call.tensors()[:1], tensors=tensors)


def _linear(call: Call, builder):
    """F.linear with the model's own weight (an nn.Linear subclass traced through)."""
    weight, bias = call.argument(1, "weight"), call.argument(2, "bias")
    if not isinstance(weight, fx.Node) or weight.op != "get_attr":
        raise MappingError("multiplies by a weight computed inside the model", "use an nn.Linear module")
    # a bias computed from parameters (cat of q, k and v biases) is added after, as its own node
    added = bias if isinstance(bias, fx.Node) and bias.op != "get_attr" else None
    tensors = _attribute_tensors(call, {"weight": weight, "bias": None if added is not None else bias}, "Linear")
    out_features, in_features = call.shape_of(weight)
    linear = builder.add("Linear", {"in_features": in_features, "out_features": out_features,
                                    "bias": bias is not None and added is None}, call.tensors()[:1], tensors=tensors)
    return linear if added is None else builder.add("Add", {}, [linear, added])


def _conv2d(call: Call, builder):
    """F.conv2d with a kernel the model holds: a Conv2d node carrying it (a Conv2d subclass
    traced through, or BlurPool's fixed filter). A kernel that is not a parameter (a buffer,
    saved or not), which the model never trains, is the node's constant and the node is
    frozen: random weights must not replace a blur filter."""
    weight, bias = call.argument(1, "weight"), call.argument(2, "bias")
    held_by_the_model = (tensor is None or (isinstance(tensor, fx.Node) and tensor.op == "get_attr")
                         for tensor in (weight, bias))
    if weight is None or not all(held_by_the_model):
        raise MappingError("convolves with a kernel or bias computed inside the model", "use an nn.Conv2d module")
    out_channels, group_channels, *kernel = call.shape_of(weight)
    groups = call.argument(6, "groups", 1)
    values = {"in_channels": group_channels * groups, "out_channels": out_channels, "kernel_size": kernel,
              "stride": plain(call.argument(3, "stride", 1)), "padding": plain(call.argument(4, "padding", 0)),
              "dilation": plain(call.argument(5, "dilation", 1)), "groups": groups, "bias": bias is not None}
    held = {key: tensor.target for key, tensor in (("weight", weight), ("bias", bias)) if tensor is not None}
    learned = {key: target for key, target in held.items() if target in builder.parameters}
    name = builder.add("Conv2d", values, call.tensors()[:1], tensors=learned)
    fixed = {key: target for key, target in held.items() if key not in learned}
    if fixed:
        builder.imported.constants[name] = {key: _held(builder.graph_module, target).detach().clone()
                                            for key, target in fixed.items()}
        builder.imported.folded_buffers = sorted({*builder.imported.folded_buffers,
                                                  *(target for target in fixed.values() if target in builder.buffers)})
    if "weight" in fixed:
        builder.network.node(name).trainable = False
    return name


def _held(model: torch.nn.Module, target: str) -> torch.Tensor:
    """The tensor a get_attr of `model` (the traced graph module: it also holds the tensors
    torch.fx saved as `_tensor_constant…`) reads; the trace's runs hold it on the meta device."""
    owner, _, attribute = target.rpartition(".")
    return getattr(model.get_submodule(owner), attribute)


def _group_norm(call: Call, builder):
    weight, bias = call.argument(2, "weight"), call.argument(3, "bias")
    if (weight is None) != (bias is None):
        raise MappingError("normalises with only one of weight and bias", "use an nn.GroupNorm module")
    tensors = _attribute_tensors(call, {"weight": weight, "bias": bias}, "GroupNorm")
    values = {"num_groups": call.argument(1, "num_groups"), "num_channels": call.shape_of(call.tensors()[0])[1],
              "eps": call.argument(4, "eps", 1e-5), "affine": weight is not None}
    return builder.add("GroupNorm", values, call.tensors()[:1], tensors=tensors)


def _dropout(call: Call, builder):
    return builder.add("Dropout", {"p": call.argument(1, "p", 0.5)}, call.tensors()[:1])


def _attention(call: Call, builder):
    mask = call.argument(3, "attn_mask")
    if isinstance(mask, fx.Node) and builder.dtype(mask).is_floating_point and not call.argument(5, "is_causal"):
        return _attention_with_bias(call, builder, mask)
    if mask is not None:
        raise MappingError("computes attention with a boolean mask", "use is_causal, or a MultiheadAttention node")
    values = {"dropout_p": call.argument(4, "dropout_p", 0.0), "is_causal": bool(call.argument(5, "is_causal", False)),
              "scale": call.argument(6, "scale")}
    return builder.add("ScaledDotProductAttention", values, call.tensors()[:3])


def _attention_with_bias(call: Call, builder, bias: fx.Node):
    """scaled_dot_product_attention with a float mask added to the scores (MaxViT's relative
    position bias): the product written out, softmax(q kᵀ · scale + bias) v, in nodes."""
    query, key, value = call.tensors()[:3]
    scale = call.argument(6, "scale")
    scale = call.shape_of(query)[-1] ** -0.5 if scale is None else scale
    scores = builder.add("MatMul", {"transpose_second": True}, [query, key])
    scores = builder.add("Scale", {"factor": scale}, [scores])
    scores = builder.add("Add", {}, [scores, bias])
    weights = builder.add("Softmax", {"dim": -1}, [scores])
    if call.argument(4, "dropout_p", 0.0):
        weights = builder.add("Dropout", {"p": call.argument(4, "dropout_p", 0.0)}, [weights])
    return builder.add("MatMul", {"transpose_second": False}, [weights, value])


def _einsum(call: Call, builder):
    """The einsums that are batched matrix products: "...ik,...kj->...ij", and
    "...ik,...jk->...ij" (q kᵀ, as attention writes it)."""
    equation = call.args[0].replace(" ", "")
    operands = call.tensors()
    inputs, _, output = equation.partition("->")
    terms = inputs.split(",")
    if len(operands) == 2 and len(terms) == 2 and len({len(terms[0]), len(terms[1]), len(output)}) == 1 \
            and "." not in equation and terms[0][:-2] == terms[1][:-2] == output[:-2]:
        (i, k), second, (row, column) = terms[0][-2:], terms[1][-2:], output[-2:]
        if (row, column) == (i, second[1]) and second[0] == k and k not in (i, second[1]):
            return builder.add("MatMul", {"transpose_second": False}, operands)
        if (row, column) == (i, second[0]) and second[1] == k and k not in (i, second[0]):
            return builder.add("MatMul", {"transpose_second": True}, operands)
    raise MappingError(f"computes the einsum '{call.args[0]}', which is not a batched matrix product",
                       "write it with matmul, permute and reductions")


def _stochastic_depth(call: Call, builder):
    return builder.add("StochasticDepth", {"p": call.argument(1, "p"), "mode": call.argument(2, "mode")},
                       call.tensors()[:1])


def _pad(call: Call, builder):
    mode = call.argument(2, "mode", "constant")
    value = call.argument(3, "value", None)
    return builder.add("Pad", {"pads": plain(call.argument(1, "pad")), "mode": mode,
                               "value": 0.0 if value is None else value}, call.tensors()[:1])


def _roll(call: Call, builder):
    dims = call.argument(2, "dims")
    if dims in (None, [], ()):
        raise MappingError("rolls the tensor flattened, batch included", "give the dimensions to roll")
    shifts = call.argument(1, "shifts")
    return builder.add("Roll", {"shifts": plain(shifts) if isinstance(shifts, (list, tuple)) else [shifts],
                                "dims": plain(dims) if isinstance(dims, (list, tuple)) else [dims]},
                       call.tensors()[:1])


def _normalize(call: Call, builder):
    values = {"p": float(call.argument(1, "p", 2.0)), "dim": call.argument(2, "dim", 1),
              "eps": call.argument(3, "eps", 1e-12)}
    return builder.add("Normalize", values, call.tensors()[:1])


def _interpolate(call: Call, builder):
    """F.interpolate: an Upsample node of the same size or factor, mode and corners."""
    if call.argument(6, "antialias", False):
        raise MappingError("interpolates with antialias", "use an Upsample node (without antialias)")
    size, factor = call.argument(1, "size"), call.argument(2, "scale_factor")
    values = {"size": plain(size), "mode": call.argument(3, "mode", "nearest"),
              "scale_factor": [float(f) for f in factor] if isinstance(factor, (list, tuple))
              else None if factor is None else float(factor),
              "align_corners": call.argument(4, "align_corners"),
              "recompute_scale_factor": call.argument(5, "recompute_scale_factor")}
    return builder.add("Upsample", values, call.tensors()[:1])


def _pass_through(call: Call, builder):
    return builder.same(call.tensors()[0])


def _to(call: Call, builder):
    """.to(), .float(), .type_as(): the same tensor when the dtype does not change."""
    source = call.tensors()[0]
    if builder.dtype(source) != builder.dtype(call.node):
        raise MappingError(f"converts to {builder.dtype(call.node)}", "keep the network in one dtype")
    return builder.same(source)


def _softmax(type_name: str):
    return _simple(type_name, lambda call: {"dim": call.argument(1, "dim")})


def _activation(type_name: str, parameters: tuple[tuple[str, int, Any], ...] = ()):
    return _simple(type_name, lambda call: {name: call.argument(index, name, default)
                                            for name, index, default in parameters})


def _variadic(type_name: str):
    return lambda call, builder: builder.add(type_name, {}, call.tensors())


def _stack(type_name: str):
    return lambda call, builder: builder.add(type_name, {"dim": call.argument(1, "dim", 0)}, call.tensors())


def _concatenate(call: Call, builder):
    tensors = call.tensors()
    if len(tensors) == 1:  # DenseNet's first layer joins a list of one: kept as a node, where the later ones are
        return builder.add("Identity", {}, tensors)
    return builder.add("Concatenate", {"dim": call.argument(1, "dim", 0)}, tensors)


def _clamp(call: Call, builder):
    return builder.add("Clamp", {"min": call.argument(1, "min"), "max": call.argument(2, "max")}, call.tensors()[:1])


def _squeeze(type_name: str):
    def read(call: Call, builder):
        dim = call.argument(1, "dim")
        if dim is None:
            raise MappingError(f"{type_name.lower()}s every dimension of size 1", "give the dimension")
        return builder.add(type_name, {"dim": dim}, call.tensors()[:1])

    return read


def _scale(number):
    return "Scale", {"factor": number}


def _divide(number):
    return "Scale", {"factor": 1.0 / number}


def _shift(number):
    return "Shift", {"offset": number}


def _subtract(number):
    return "Shift", {"offset": -number}


def _power(number):
    return "PowerOf", {"exponent": number}


def calls() -> dict[Any, Callable]:
    """Function (the object) or method (its name) -> reader(call, builder)."""
    table: dict[Any, Callable] = {}

    def both(function_targets, method_names, reader):
        for target in function_targets:
            table[target] = reader
        for name in method_names:
            table[name] = reader

    _arithmetic_calls(both)
    _tensor_operation_calls(both)
    _layer_function_calls(both)
    try:
        from torchvision.ops import stochastic_depth  # imported on use: torchvision takes a second to import
    except ImportError:  # torchvision is a dependency; tolerated missing all the same
        return table
    table[stochastic_depth] = _stochastic_depth
    return table


def _arithmetic_calls(both) -> None:
    """+, -, *, /, ** and @ with a tensor or a number, in place too, negation, maximum, minimum."""
    add, multiply = _binary("Add", _shift), _binary("Multiply", _scale)
    subtract, divide = _binary("Subtract", _subtract), _binary("Divide", _divide)
    power, matmul = _binary("Power", _power), _binary("MatMul", None)
    both([operator.add, torch.add], ["add"], add)
    both([operator.mul, torch.mul], ["mul"], multiply)
    both([operator.sub, torch.sub], ["sub"], subtract)
    both([operator.truediv, torch.div], ["div"], divide)
    # x.mul_(y) as x.mul(y): the operations that read x after it read this node (follow_in_place)
    both([], ["add_"], add)
    both([], ["mul_"], multiply)
    both([], ["sub_"], subtract)
    both([], ["div_"], divide)
    both([operator.pow, torch.pow], ["pow"], power)
    both([torch.square], ["square"], lambda call, builder: builder.add("PowerOf", {"exponent": 2},
                                                                       call.tensors()[:1]))
    both([operator.matmul, torch.matmul, torch.bmm], ["matmul", "bmm"], matmul)
    both([operator.neg, torch.neg], ["neg"], _simple("Negate"))
    both([torch.maximum], ["maximum"], _variadic("Maximum"))
    both([torch.minimum], ["minimum"], _variadic("Minimum"))


def _tensor_operation_calls(both) -> None:
    """Reshaping, joining, splitting, indexing, element-wise functions and reductions."""
    both([torch.cat, torch.concat], [], _concatenate)
    both([torch.stack], [], _stack("Stack"))
    both([torch.flatten], ["flatten"], _flatten)
    both([torch.reshape], ["reshape", "view"], _reshape)
    both([torch.permute], ["permute"], _permute)
    both([torch.transpose, torch.swapaxes], ["transpose", "swapaxes"], _transpose)
    both([torch.squeeze], ["squeeze"], _squeeze("Squeeze"))
    both([torch.unsqueeze], ["unsqueeze"], _squeeze("Unsqueeze"))
    both([torch.chunk], ["chunk"], _pieces("Chunk", "chunks"))
    both([torch.split], ["split"], _pieces("Split", "split_size", "split_size_or_sections"))
    both([torch.unbind], ["unbind"], _unbind)
    both([operator.getitem], [], _getitem)
    both([torch.einsum], [], _einsum)
    both([], ["expand", "expand_as"], _expand)
    both([], ["repeat"], _repeat)
    both([], ["contiguous", "clone", "detach"], _pass_through)
    both([], ["to", "float", "type_as"], _to)
    both([torch.clamp, torch.clip], ["clamp", "clip"], _clamp)
    both([torch.abs], ["abs"], _simple("Absolute"))
    both([torch.exp], ["exp"], _simple("Exp"))
    both([torch.log], ["log"], _simple("Log"))
    both([torch.sqrt], ["sqrt"], _simple("Sqrt"))
    both([torch.rsqrt], ["rsqrt"], _simple("Rsqrt"))
    for operation in ("mean", "sum", "amax", "amin", "logsumexp"):
        both([getattr(torch, operation)], [operation], _reduce(operation))
    for operation in ("var", "std"):
        both([getattr(torch, operation)], [operation], _spread(operation))
    both([torch.norm], ["norm"], _norm)
    both([torch.addcmul], ["addcmul"], _addcmul)
    both([torch.roll], ["roll"], _roll)


def _layer_function_calls(both) -> None:
    """torch.nn.functional's activations, pooling, normalisation, attention and resizing: the layers' nodes."""
    both([F.relu, torch.relu], ["relu"], _activation("ReLU"))
    both([F.relu6], [], _activation("ReLU6"))
    both([F.gelu], [], _simple("GELU", lambda call: {"approximate": call.argument(1, "approximate", "none")}))
    both([F.silu], [], _activation("SiLU"))
    both([F.hardswish], [], _activation("Hardswish"))
    both([F.hardsigmoid], [], _activation("Hardsigmoid"))
    both([torch.sigmoid, F.sigmoid], ["sigmoid"], _activation("Sigmoid"))
    both([torch.tanh, F.tanh], ["tanh"], _activation("Tanh"))
    both([F.softmax, torch.softmax], ["softmax"], _softmax("Softmax"))
    both([F.log_softmax, torch.log_softmax], ["log_softmax"], _softmax("LogSoftmax"))
    both([F.adaptive_avg_pool2d], [], _simple("AdaptiveAvgPool2d", lambda call: {
        "output_size": plain(call.argument(1, "output_size"))}))
    both([F.avg_pool2d], [], _pool("AvgPool2d"))
    both([F.max_pool2d, getattr(F, "_max_pool2d", F.max_pool2d)], [], _pool("MaxPool2d"))
    both([F.dropout], [], _dropout)
    both([F.batch_norm], [], _batch_norm)
    both([F.group_norm], [], _group_norm)
    both([F.linear], [], _linear)
    both([F.conv2d, torch.conv2d], [], _conv2d)
    both([F.layer_norm], [], _layer_norm)
    both([F.rms_norm], [], _rms_norm)
    both([F.scaled_dot_product_attention], [], _attention)
    both([F.pad], [], _pad)
    both([F.normalize], [], _normalize)
    both([F.interpolate], [], _interpolate)
    both([torch.channel_shuffle, F.channel_shuffle], [], _simple("ChannelShuffle", lambda call: {
        "groups": call.argument(1, "groups")}))


def describe(node: fx.Node) -> str:
    """What a traced call does, in the words of the code (`calls .permute()`)."""
    if node.op == "call_method":
        return f"calls .{node.target}()"
    if node.op == "call_function":
        module = getattr(node.target, "__module__", None) or ""
        return f"calls {module + '.' if module else ''}{getattr(node.target, '__name__', node.target)}"
    return f"calls its module '{node.target}'"



# Swin and MaxViT (torchvision): the window attention is traced whole, as one node
# (see pytorchgui/core/graph/window_attention.py for why), patch merging's wrapped
# function is a SpaceToChannels node, and MaxViT's relative position bias, computed from
# a parameter table and an index buffer, a RelativePositionBias node.

def _shifted_window_attention(module: torch.nn.Module, node: fx.Node, builder):
    """torchvision's ShiftedWindowAttention or ShiftedWindowAttentionV2, whose weights keep their names."""
    values = {"embed_dim": module.qkv.in_features, "num_heads": module.num_heads,
              "window_size": plain(module.window_size), "shift_size": plain(module.shift_size),
              "qkv_bias": module.qkv.bias is not None, "proj_bias": module.proj.bias is not None,
              "attention_dropout": module.attention_dropout, "dropout": module.dropout,
              "v2": hasattr(module, "cpb_mlp")}
    return builder.add("ShiftedWindowAttention", values, [node.args[0]], module=node.target)


def whole_modules() -> dict[type, Callable]:
    """Module classes traced as one call (leaves), each with its reader(module, node, builder)."""
    try:
        from torchvision.models.swin_transformer import ShiftedWindowAttention, ShiftedWindowAttentionV2
    except ImportError:  # torchvision is a dependency; tolerated missing all the same
        return {}
    return {ShiftedWindowAttention: _shifted_window_attention, ShiftedWindowAttentionV2: _shifted_window_attention}


def vision_calls() -> dict[Any, Callable]:
    """The functions torchvision's Swin wraps with torch.fx.wrap, which a trace sees as one call."""
    try:
        from torchvision.models.swin_transformer import _patch_merging_pad
    except ImportError:  # torchvision is a dependency; tolerated missing all the same
        return {}
    return {_patch_merging_pad: _simple("SpaceToChannels")}


def _method_arguments(node: fx.Node) -> tuple:
    arguments = node.args[1:]
    return tuple(arguments[0]) if len(arguments) == 1 and isinstance(arguments[0], (list, tuple)) else tuple(arguments)


def relative_position_bias(node: fx.Node, builder) -> str | None:
    """`table[index].view(N, N, -1).permute(2, 0, 1).unsqueeze(0)` of a parameter table
    [(2 s - 1)², heads] and an index buffer of N² = s⁴ entries (MaxViT's bias of a square
    window of side s): a RelativePositionBias node, its weights from the table and the
    index; None for any other tensor computed from parameters alone."""
    steps, current = [], node
    while current.op == "call_method" and current.target in ("contiguous", "unsqueeze", "permute", "view", "reshape"):
        steps.append(current)
        current = current.args[0]
    if not (current.op == "call_function" and current.target is operator.getitem and len(current.args) == 2):
        return None
    table, index = current.args
    while isinstance(index, fx.Node) and index.op == "call_method" and index.target in ("view", "reshape", "flatten"):
        index = index.args[0]
    if not (isinstance(table, fx.Node) and isinstance(index, fx.Node) and table.op == index.op == "get_attr"
            and table.target in builder.parameters):
        return None
    # the index is a buffer of the table's module, or a view of one that the trace kept as a constant
    positions, owner = builder.runs[0][index].numel(), table.target.rpartition(".")[0]
    keys = [index.target] if index.target in builder.buffers else [
        key for key in builder.buffers if key.rpartition(".")[0] == owner
        and builder.model.get_buffer(key).numel() == positions]
    # an index the model does not save (timm's Swin: persistent=False), which the trace keeps as a
    # constant, is the node's constant
    unsaved = builder.folded.get(index) if len(keys) != 1 else None
    if len(keys) != 1 and unsaved is None:
        return None
    rows, heads = builder.model.get_parameter(table.target).shape
    side = round(positions ** 0.25)
    kinds = [step.target for step in reversed(steps) if step.target != "contiguous"]
    if (side ** 4 != positions or (2 * side - 1) ** 2 != rows or kinds[:1] not in (["view"], ["reshape"])
            or kinds[1:] != ["permute", "unsqueeze"]):
        return None
    permute, unsqueeze = (next(step for step in steps if step.target == kind) for kind in ("permute", "unsqueeze"))
    if _method_arguments(permute) != (2, 0, 1) or _method_arguments(unsqueeze) != (0,) \
            or tuple(builder.runs[0][node].shape) != (1, heads, side * side, side * side):
        return None
    tensors = {"relative_position_bias_table": table.target}
    if unsaved is None:
        tensors["relative_position_index"] = keys[0]
    name = builder.add("RelativePositionBias", {"window_size": [side, side], "num_heads": heads},
                       [""],  # the network input (importers.INPUT): it lends only its place
                       tensors=tensors)
    if unsaved is not None:
        builder.imported.constants[name] = {"relative_position_index": unsaved.flatten().clone()}
    return name


"""Shape inference: every node's output shape and parameter count, on the meta device.

The network is built and run with torch's "meta" tensors, which carry shapes and dtypes
but no data, so checking a network allocates no memory: a Linear(10**6, 10**6) is
measured (10**12 parameters) and refused without a byte of weights. Parameters set to
"auto" (in_channels, in_features, num_features, ...) are filled from the shape of the
node's input here; the compiler builds the real modules with the filled-in values.

Errors are phrased for the user and name the node: "Conv2d 'conv2' expects 6 input
channels but gets 3".
"""
from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from pytorchgui.core.graph.catalog import AUTO, CatalogEntry
from pytorchgui.core.errors import ParameterError, first_line
from pytorchgui.core.graph.network import Network, Problem, input_shape_problem

BATCH = 2  # BatchNorm refuses a batch of 1 in training mode; 2 is the smallest honest batch
MAX_PARAMETERS = 1_000_000_000  # 4 GB of float32 weights, already more than a desktop trains
MAX_ACTIVATION_ELEMENTS = 500_000_000  # per sample, per node

# Which input dimension an "auto" parameter takes its value from.
_AUTO_FROM_CHANNELS = {"in_channels", "num_features", "num_channels"}
_AUTO_FROM_LAST = {"in_features", "in1_features", "input_size", "d_model", "embed_dim", "normalized_shape",
                   "embedding_dim"}


@dataclass
class NodeShape:
    """What shape inference found for one node. Shapes are per sample (no batch dim)."""

    name: str
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    output_shape: tuple[int, ...] | None = None
    parameter_count: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class ShapeReport:
    nodes: dict[str, NodeShape]
    problems: list[Problem]
    order: list[str] = field(default_factory=list)
    output: str = ""  # the single output; of several, the first (the one accuracy is measured on by default)
    gives_indices: set[str] = field(default_factory=set)
    outputs: list[str] = field(default_factory=list)  # every output, in network order: the compiled module's

    def output_shape_of(self, output: str) -> tuple[int, ...] | None:
        node = self.nodes.get(output)
        return node.output_shape if node else None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        node = self.nodes.get(self.output)
        return node.output_shape if node else None

    @property
    def total_parameters(self) -> int:
        return sum(node.parameter_count for node in self.nodes.values())

    @property
    def activation_values(self) -> int:
        """Values every node's output holds for one sample: what training keeps for the
        backward pass, a lower bound of its memory per sample."""
        return sum(math.prod(node.output_shape) for node in self.nodes.values() if node.output_shape)


def describe_shape(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else "[" + ", ".join(map(str, shape)) + "]"


def describe_outputs(report: ShapeReport, bold: bool = False) -> str:
    """"output [10]", or with several "outputs classifier [10], aux [10]" (`bold`: the
    shapes in <b>, for a rich-text label)."""
    def shown(shape) -> str:
        return f"<b>{describe_shape(shape)}</b>" if bold else describe_shape(shape)

    if len(report.outputs) > 1:
        return "outputs " + ", ".join(f"{name} {shown(report.output_shape_of(name))}" for name in report.outputs)
    return f"output {shown(report.output_shape)}"


def summary_rows(network: Network, report: ShapeReport) -> list[dict[str, Any]]:
    """One row per node in network order, for the summary table, its CSV and the CLI.
    Nodes inference did not reach (after a failing node) have shape "?", parameters None."""
    rows = []
    for name, node in network.nodes.items():
        inferred = report.nodes.get(name)
        rows.append({
            "node": name,
            "type": node.type,
            "output_shape": describe_shape(inferred.output_shape if inferred else None),
            "parameters": inferred.parameter_count if inferred else None,
            "problem": inferred.error if inferred else "",
        })
    return rows


def resolve_auto(entry: CatalogEntry, values: dict[str, Any], input_shapes: list[tuple[int, ...]]) -> dict:
    """`values` with every "auto" replaced by the size it takes from the (batched) input."""
    resolved = dict(values)
    for name, value in values.items():
        if value != AUTO:
            continue
        shape = input_shapes[1] if name == "in2_features" and len(input_shapes) > 1 else input_shapes[0]
        if name in _AUTO_FROM_CHANNELS and len(shape) >= 2:
            resolved[name] = shape[1]
        elif (name in _AUTO_FROM_LAST or name == "in2_features") and len(shape) >= 2:
            resolved[name] = shape[-1]
        else:
            raise ParameterError(
                f"{entry.name} parameter '{name}' cannot be 'auto' for an input of shape "
                f"{describe_shape(shape[1:])}: set it by hand",
                entry=entry.name, parameter=name,
            )
    return resolved


def maxunpool_sources(network: Network, name: str) -> tuple[str, str] | None:
    """(node giving the values, MaxPool node giving the indices) of a MaxUnpool node.

    One input that is the matching MaxPool gives both; with two inputs, the MaxPool of
    the same dimensionality gives the indices (the later one if both are).
    """
    entry = network.entry(name)
    pool_type = entry.name.replace("MaxUnpool", "MaxPool")
    inputs = network.inputs_of(name)
    pools = [i for i in inputs if network.node(i).type == pool_type]
    if len(inputs) == 1 and pools:
        return inputs[0], inputs[0]
    if len(inputs) == 2 and pools:
        pool = pools[-1]
        values = inputs[0] if inputs[1] == pool else inputs[1]
        return values, pool
    return None


def _expected_ranks(entry: CatalogEntry) -> tuple[int, ...]:
    """Batched ranks the 1d/2d/3d families take (Conv2d: 4), () where any rank goes."""
    families = ("Conv", "ConvTranspose", "MaxPool", "AvgPool", "LPPool", "AdaptiveMaxPool", "AdaptiveAvgPool",
                "FractionalMaxPool", "BatchNorm", "InstanceNorm", "MaxUnpool", "ReflectionPad",
                "ReplicationPad", "CircularPad")
    if entry.name == "BatchNorm1d":
        return (2, 3)  # [N, C] after a Linear, or [N, C, L]
    if entry.name[-2:] in ("1d", "2d", "3d") and entry.name[:-2] in families:
        return (int(entry.name[-2]) + 2,)
    return ()


_DIMENSION_WORDS = {2: "[features]", 3: "[channels, length]", 4: "[channels, height, width]", 5: "[channels, depth, height, width]"}


def _precheck(entry: CatalogEntry, label: str, values: dict, shapes: list[tuple[int, ...]]) -> str:
    """A clear message for the mistakes users make most, before torch's own."""
    shape = shapes[0]
    ranks = _expected_ranks(entry)
    if ranks and len(shape) not in ranks:
        expected = " or ".join(_DIMENSION_WORDS[rank] for rank in ranks)
        return (f"{label} expects input of shape {expected} but gets {describe_shape(shape[1:])}: "
                "add a reshape layer (Unflatten, Flatten) or change the input shape")
    for key in ("in_channels", "num_features", "num_channels"):
        if key in values and isinstance(values[key], int) and len(shape) >= 2 and shape[1] != values[key]:
            return f"{label} expects {values[key]} input channels but gets {shape[1]}"
    if "in_features" in values and isinstance(values["in_features"], int) and shape[-1] != values["in_features"]:
        hint = ": add a Flatten layer before it" if len(shape) > 2 else ""
        return f"{label} expects {values['in_features']} input features but gets {shape[-1]}{hint}"
    if entry.category == "merge" and entry.name != "Concatenate" and len(set(shapes)) > 1:
        listed = ", ".join(describe_shape(s[1:]) for s in shapes)
        if entry.name not in ("Add", "Multiply"):
            return f"{label} needs inputs of one shape but gets {listed}"
        # gating ([C, 1, 1] weights on [C, H, W]), a layer scale, a position embedding
        # ([1, tokens, features] from a LearnedTensor), and both ways ([C, 1, 1] times [1, H, W])
        if not _broadcast(shapes):
            return (f"{label} needs inputs of one shape, or ones that broadcast together such as "
                    f"[C, 1, 1] and [C, H, W], but gets {listed}")
    return ""


def _broadcast(shapes: list[tuple[int, ...]]) -> bool:
    """The shapes broadcast together as torch (and numpy) broadcast: aligned from the right,
    each dimension's sizes are one size, or 1."""
    for sizes in itertools.zip_longest(*(reversed(shape) for shape in shapes), fillvalue=1):
        if len(set(sizes) - {1}) > 1:
            return False
    return True


def trainable_parameters(network: Network, report: ShapeReport) -> int:
    """The parameters of the nodes that are not frozen."""
    return sum(report.nodes[name].parameter_count for name in weighted_nodes(network, report))


def step_problems(network: Network, report: ShapeReport) -> list[Problem]:
    """What keeps a training step of a network that compiles from running: no weights to
    change, or an optimizer that cannot step them (see Network.optimizer_problems)."""
    if not report.ok:
        return []
    if report.total_parameters == 0:
        return [Problem("the network has no parameters to train: add a layer with weights (Linear, Conv2d, ...) "
                        "in the Network tab or the network file")]
    weighted = weighted_nodes(network, report)
    if not weighted:
        return [Problem("every node with weights is frozen: nothing would learn. Unfreeze the last layers "
                        "(Network tab, right-click a node or the inspector's Trainable)")]
    problems = network.optimizer_problems(weighted)
    if network.optimizer is not None and network.optimizer.type in network.catalog.optimizers:
        message = _optimizer_settings_problem(network.catalog.optimizers.get(network.optimizer.type),
                                              network.optimizer.parameters)
        if message:
            problems.append(Problem(message))
    return problems


def _optimizer_settings_problem(entry: CatalogEntry, values: dict) -> str:
    """What torch says of the optimizer's settings when it takes a step, or "": some are
    refused only then (SGD's nesterov without momentum, Adafactor's negative eps). One
    step per optimizer and settings, not one per refresh."""
    from pytorchgui.core.graph.optimizers import probe_step  # imported on use: it loads torch

    def step() -> str:
        try:
            probe_step(entry, values)
        except Exception as error:  # torch's own checks of the settings
            if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
                raise _NoVerdict from error
            return f"the optimizer {entry.name} cannot run with these settings: {first_line(error)}"
        return ""

    try:
        return _SETTINGS_CHECKED.get_or_compute((entry.name, entry.source, _freeze(values)), step)
    except _NoVerdict:  # memory ran short: the training step will say so; the settings are not to blame
        return ""


class _NoVerdict(Exception):
    """The probe step failed for a reason that is not the settings (the memory), so its
    outcome is not remembered as theirs: once remembered, every later network with the
    optimizer "ran out of memory" in that process."""


def weighted_nodes(network: Network, report: ShapeReport) -> list[str]:
    """The nodes with weights that training changes (not frozen), in the report's order."""
    return [name for name, shape in report.nodes.items()
            if shape.parameter_count and name in network and network.node(name).trainable]


def infer_shapes(network: Network, input_shape: list[int] | None = None, input_dtype: str | None = None) -> ShapeReport:
    """Infer every node's output shape; problems name the node and say what to do.
    `input_shape` and `input_dtype` stand for the first input's (a network's only one, mostly)."""
    import torch  # imported on use: this module loads at start-up, before torch

    problems = list(network.problems())
    report = ShapeReport(nodes={}, problems=problems)
    if any("cycle" in problem.message for problem in problems) or not network.nodes:
        return report
    spec = network.input_spec
    shape = input_shape if input_shape is not None else (spec.shape if spec else None)
    dtype_name = input_dtype or (spec.dtype if spec else "float32")
    if shape is None:
        problems.append(Problem("the input shape is not set: set it, or fit the network to a dataset"))
        return report
    shapes = {spec.name if spec else "": (shape, dtype_name)}
    shapes.update({other.name: (other.shape, other.dtype) for other in network.inputs[1:]})
    for name, (each, _) in shapes.items():
        shape_problem = input_shape_problem(each)
        if shape_problem:
            problems.append(Problem(shape_problem if len(shapes) == 1 else f"input '{name}': {shape_problem}"))
            return report
    report.order = network.topological_order()
    report.outputs = [name for name in network.outputs() if name in report.order]
    report.output = report.outputs[0] if report.outputs else ""
    report.gives_indices = _pools_giving_indices(network, report.order)
    network_inputs = {name: torch.empty((BATCH, *each), dtype=getattr(torch, dtype), device="meta")
                      for name, (each, dtype) in shapes.items()}
    _infer_nodes(network, report, network_inputs)
    if report.total_parameters > MAX_PARAMETERS and all(node.parameter_count <= MAX_PARAMETERS
                                                        for node in report.nodes.values()):
        problems.append(Problem(f"the network has {report.total_parameters:,} parameters in all; PyTorchGUI builds "
                                f"networks of up to {MAX_PARAMETERS:,}: make its layers smaller"))
    return report


def _infer_nodes(network: Network, report: ShapeReport, network_inputs: dict) -> None:
    """Each node's shape, parameters and problems into `report`, in topological order.
    `network_inputs`: a meta tensor per input name (the first under "" when none is set)."""
    import torch  # imported on use: this module loads at start-up, before torch

    problems = report.problems
    first = set(network.first_layers)
    input_map = network.input_map()
    values_of: dict[str, Any] = {}  # meta tensors flowing out of each node
    indices_of: dict[str, Any] = {}  # and the pooling indices a MaxUnpool takes
    for name in report.order:
        node = network.node(name)
        entry = network.entry(name)
        label = f"{entry.name} '{name}'"
        result = NodeShape(name)
        inputs = _node_inputs(network, name, _fed_input(network, name, network_inputs) if name in first else None,
                              input_map, values_of, indices_of)
        if isinstance(inputs, str):  # the node is wired so that it cannot run
            result.error = inputs
            problems.append(Problem(inputs, name))
            report.nodes[name] = result
            continue
        if inputs is None:
            continue  # an earlier node failed, or the topology problem is reported
        # Only nodes whose inputs are known are reported: one after a failing node has
        # neither a shape nor a parameter count yet, and says so ("?") in the summaries.
        report.nodes[name] = result
        result.input_shapes = [tuple(t.shape[1:]) for t in inputs]
        try:
            message = ""
            parameters = resolve_auto(entry, node.parameters, [tuple(t.shape) for t in inputs])
        except ParameterError as error:
            message = f"node '{name}': {error}"
        else:
            try:
                parameters = entry.validate(parameters)
            except ParameterError as error:  # network.parameter_problems() reports it already
                result.error = f"node '{name}': {error}"
                continue
        if not message:
            result.parameters = parameters
            input_shapes = [tuple(t.shape) for t in inputs]
            outcome = _evaluate_node(entry, label, parameters, input_shapes, [t.dtype for t in inputs],
                                     name in report.gives_indices)
            message, result.parameter_count = outcome.message, outcome.parameter_count
        if not message:
            result.output_shape = outcome.output_shape[1:]
            values_of[name] = torch.empty(outcome.output_shape, dtype=outcome.output_dtype, device="meta")
            if outcome.indices_shape is not None:
                indices_of[name] = torch.empty(outcome.indices_shape, dtype=torch.int64, device="meta")
        if message:
            result.error = message
            problems.append(Problem(message, name))


def _fed_input(network: Network, name: str, network_inputs: dict):
    """The meta tensor of the input that feeds first layer `name` (None for an input the
    network does not have: Network.problems names it)."""
    if len(network_inputs) == 1:  # the only input feeds every first layer, as it always did
        return next(iter(network_inputs.values()))
    return network_inputs.get(network.input_feeding(name))


def _pools_giving_indices(network: Network, order: list[str]) -> set[str]:
    """The MaxPool nodes whose indices a MaxUnpool uses (they must return them)."""
    pools = set()
    for name in order:
        if network.entry(name).name.startswith("MaxUnpool"):
            sources = maxunpool_sources(network, name)
            if sources:
                pools.add(sources[1])
    return pools


def _node_inputs(network: Network, name: str, network_input, input_map, values_of, indices_of):
    """The meta tensors that flow into node `name` (`network_input` if it is a first layer):
    a list, None while one of its sources has no value, or the message of a wiring problem."""
    if network_input is not None:
        return [network_input]
    if network.is_first_layer(name):
        return None  # fed by an input the network does not have
    entry = network.entry(name)
    if entry.name.startswith("MaxUnpool"):
        sources = maxunpool_sources(network, name)
        if sources is None:
            return (f"{entry.name} '{name}' takes the tensor to unpool and the "
                    f"{entry.name.replace('MaxUnpool', 'MaxPool')} node whose indices it uses")
        if sources[0] not in values_of or sources[1] not in indices_of:
            return None
        return [values_of[sources[0]], indices_of[sources[1]]]
    sources = input_map[name]
    if not sources or any(source not in values_of for source in sources):
        return None
    return [values_of[source] for source in sources]


@dataclass(frozen=True)
class _NodeOutcome:
    output_shape: tuple[int, ...] = ()
    output_dtype: Any = None
    indices_shape: tuple[int, ...] | None = None
    parameter_count: int = 0
    message: str = ""


class _Memo(OrderedDict):
    """The results of a computation that never changes for its key, the `size` last used."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or_compute(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = compute()
        if len(self) > self.size:
            self.popitem(last=False)
        return value


# What a node gives for given parameters and input shapes never changes, so after an edit
# only the nodes whose parameters or inputs changed run again: the meta kernels of
# BatchNorm and the activations are Python decompositions, about 1 ms each.
_OUTCOMES = _Memo(4096)
_SETTINGS_CHECKED = _Memo(256)  # _optimizer_settings_problem's steps


def _freeze(value: Any) -> Any:
    """A hashable copy of parameter values (a cache key)."""
    if isinstance(value, dict):
        return tuple((key, _freeze(item)) for key, item in value.items())
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _evaluate_node(entry: CatalogEntry, label: str, parameters: dict, input_shapes: list[tuple[int, ...]],
                   input_dtypes: list, gives_indices: bool) -> _NodeOutcome:
    # Keyed without the node's label: the repeated blocks of a big model (vit_b_16's 12
    # encoder layers) are checked once, not once each. The label goes into the message after.
    key = (entry.name, _freeze(parameters), tuple(input_shapes), tuple(input_dtypes), gives_indices)
    outcome = _OUTCOMES.get_or_compute(key, lambda: _evaluate_uncached(entry, _LABEL, parameters, input_shapes,
                                                                       input_dtypes, gives_indices))
    return replace(outcome, message=outcome.message.replace(_LABEL, label)) if outcome.message else outcome


_LABEL = "\x00node\x00"  # where the node's label goes in a cached outcome's message


def _evaluate_uncached(entry: CatalogEntry, label: str, parameters: dict, input_shapes: list[tuple[int, ...]],
                       input_dtypes: list, gives_indices: bool) -> _NodeOutcome:
    import torch  # imported on use: this module loads at start-up, before torch

    message = _precheck(entry, label, parameters, input_shapes)
    if message:
        return _NodeOutcome(message=message)
    try:
        with torch.device("meta"):
            module = entry.build(parameters)
    except (ValueError, TypeError, RuntimeError, AssertionError, OverflowError) as error:  # torch's own checks
        return _NodeOutcome(message=f"{label} cannot be built with these parameters: {first_line(error)}")
    if gives_indices:
        module.return_indices = True
    parameter_count = sum(p.numel() for p in module.parameters())
    if parameter_count > MAX_PARAMETERS:
        return _NodeOutcome(parameter_count=parameter_count, message=(
            f"{label} would have {parameter_count:,} parameters; PyTorchGUI builds "
            f"layers of up to {MAX_PARAMETERS:,}: make it smaller"))
    shapes = " and ".join(describe_shape(shape[1:]) for shape in input_shapes)
    problem = _dtype_problem(entry, parameter_count, input_dtypes[0])
    if problem:
        return _NodeOutcome(parameter_count=parameter_count, message=f"{label} {problem}")
    if entry.same_shape or _normalizes_own_last_dims(module, input_shapes[0]):
        # element-wise (see function_db/README.md), or a LayerNorm: the output has the input's shape
        output_shape, output_dtype, indices_shape = input_shapes[0], input_dtypes[0], None
    else:
        recurrent = isinstance(module, torch.nn.RNNBase)
        run_shapes = [_few_time_steps(shape) for shape in input_shapes] if recurrent else input_shapes
        inputs = [torch.empty(shape, dtype=dtype, device="meta") for shape, dtype in zip(run_shapes, input_dtypes)]
        try:
            # Outside the torch.device context: the inputs and weights are meta tensors already,
            # and the context's Python hook made inference 3x slower.
            output, indices = _main_output(entry, _run(entry, module.eval(), inputs), gives_indices)
        except Exception as error:  # torch says why the node cannot take its input
            return _NodeOutcome(parameter_count=parameter_count,
                                message=f"{label} cannot take input of shape {shapes}: {first_line(error)}")
        output_shape = (*input_shapes[0][:-1], output.shape[-1]) if recurrent else tuple(output.shape)
        output_dtype, indices_shape = output.dtype, None if indices is None else tuple(indices.shape)
    per_sample = math.prod(output_shape[1:])
    if per_sample > MAX_ACTIVATION_ELEMENTS:
        return _NodeOutcome(parameter_count=parameter_count, message=(
            f"{label} gives {per_sample:,} values per sample; at most {MAX_ACTIVATION_ELEMENTS:,} fit a "
            "desktop's memory"))
    problem = _real_step_problem(entry, parameters, input_shapes, input_dtypes, parameter_count, per_sample,
                                 gives_indices)
    if problem:
        return _NodeOutcome(parameter_count=parameter_count,
                            message=f"{label} cannot take input of shape {shapes}: {problem}")
    return _NodeOutcome(output_shape, output_dtype, indices_shape, parameter_count)


def _few_time_steps(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A recurrent layer's input cut to 2 time steps. Its meta kernel steps through every
    time step (about 2 ms each: a million steps ran for minutes), while its output keeps
    the input's shape but for the last size, so 2 steps tell the output and every check."""
    return (shape[0], *[min(size, 2) for size in shape[1:-1]], shape[-1])


def _main_output(entry: CatalogEntry, output, gives_indices: bool):
    """(the tensor the node passes on, the pooling indices or None) of a module's output."""
    if gives_indices:
        return output
    if entry.output_index is not None:
        return output[entry.output_index], None
    return output, None


def _takes_indices(entry: CatalogEntry) -> bool:
    """Embedding layers take integer ids; the catalogue's example says so."""
    return str(entry.example.get("input_dtype", "float32")).startswith(("int", "uint"))


def _dtype_problem(entry: CatalogEntry, parameter_count: int, dtype) -> str:
    """A layer with weights computes in their float32: integer input (token ids) fails in
    the first step, and so does float16 or float64 input, but the meta device lets them
    through for a Linear, and large nodes do not run for real (_real_step_problem)."""
    import torch  # imported on use: this module loads at start-up, before torch

    if parameter_count == 0 or dtype == torch.float32 or _takes_indices(entry):
        return ""
    name = str(dtype).removeprefix("torch.")
    if dtype.is_floating_point:
        return (f"computes in float32 but gets {name} input: set the input's dtype to float32 (mixed precision "
                "is a training option)")
    return (f"computes in floating point but gets {name} input: start the network with an Embedding layer "
            "to turn integer ids into vectors, or set the input's dtype to float32")


# A node whose input and output have up to this many values per sample in all, and whose
# weights up to REAL_STEP_PARAMETERS, runs for real in _real_step_problem: under a
# millisecond and a megabyte, once per parameters and shapes (the cache). (65,536 values
# took a 50-node network's check from 11 to 35 ms.)
REAL_STEP_ELEMENTS = 8192
REAL_STEP_PARAMETERS = 1_000_000


def _real_step_problem(entry: CatalogEntry, parameters: dict, input_shapes: list[tuple[int, ...]],
                       input_dtypes: list, parameter_count: int, output_per_sample: int, gives_indices: bool) -> str:
    """What the node says when a training step runs it on real numbers, or "". Some
    modules check their parameters or dtypes only then (Softmax's dim, RReLU's bounds),
    which the meta device skips, so a copy built on the CPU runs forward and backward in
    training mode on a batch of 2 zeros: of the input's shape when the node is small;
    else, for an element-wise one, of its rank and channels with 1 value elsewhere
    (enough for what they check). Larger nodes rely on the meta device and the rules above."""
    import torch  # imported on use: this module loads at start-up, before torch

    if parameter_count > REAL_STEP_PARAMETERS:
        return ""
    if sum(math.prod(shape[1:]) for shape in input_shapes) + output_per_sample <= REAL_STEP_ELEMENTS:
        # a batch of 1 stays 1: a LearnedTensor's [1, ...] broadcasts onto the other input
        shapes = [(min(shape[0], 2), *shape[1:]) for shape in input_shapes]
    elif entry.same_shape and len(input_shapes) == 1:
        shape = input_shapes[0]
        shapes = [(2, *shape[1:2], *[1] * (len(shape) - 2))]
    else:
        return ""
    # Inputs come out of an operation, as in a network: in-place activations refuse leaves.
    inputs = [torch.zeros(shape, dtype=dtype, requires_grad=True).clone() if dtype.is_floating_point else
              torch.zeros(shape, dtype=dtype) for shape, dtype in zip(shapes, input_dtypes)]
    try:
        module = entry.build(parameters).train()
        if gives_indices:
            module.return_indices = True
        output, _ = _main_output(entry, _run(entry, module, inputs), gives_indices)
        if output.requires_grad:
            output.float().sum().backward()
    except Exception as error:  # torch says why the step cannot run
        return first_line(error)
    return ""


def _normalizes_own_last_dims(module, shape: tuple[int, ...]) -> bool:
    """A LayerNorm over the last dims its input has keeps the input's shape. Told without
    torch's meta kernel, whose first call in a session loads layer_norm's decomposition
    (2 to 7 s: the Network tab showed an imported vit_b_16 that much later). A mismatch
    still runs torch, for its message."""
    import torch

    if not isinstance(module, torch.nn.LayerNorm):
        return False
    normalized = tuple(module.normalized_shape)
    return len(shape) > len(normalized) and tuple(shape[len(shape) - len(normalized):]) == normalized


def _run(entry: CatalogEntry, module, inputs: list):
    if entry.call == "self_attention":
        return module(inputs[0], inputs[0], inputs[0], need_weights=False)
    return module(*inputs)

"""The network: named nodes linked by `nextLayer`, plus input, loss and optimizer.

This is the model the Network tab edits, the compiler builds and the trainer trains. It
keeps the user's values as they are (even ones that do not validate yet, such as the
zeros of old files) and reports what is wrong through `problems()`; operations that the
user triggers are validated and raise `NetworkError` / `ParameterError` naming the node.

Every change is announced to subscribers (`subscribe`), so views follow the model
instead of holding a copy of it.

Order of a node's inputs: the nodes that link to it, in the order they stand in the
network (the order of the file; new nodes go last). A merge node such as Concatenate
therefore joins its inputs in file order, and that order survives save and load.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterable

import networkx as nx

from pytorchgui.core.graph.catalog import Catalog, CatalogEntry, default_catalog
from pytorchgui.core.errors import GraphError, NetworkError, ParameterError, PyTorchGUIError

INPUT_DTYPES = ("float32", "float64", "bfloat16", "float16", "int64")
MAX_NAME_LENGTH = 100
MAX_SAMPLE_VALUES = 2**31  # one sample of 8 GB in float32: beyond any input a network here can take


def input_shape_problem(shape: Any) -> str:
    """Why `shape` cannot be a network's input shape ("" if it can). An empty shape is one
    number per sample (a diffusion model's time step: a tensor of shape [batch])."""
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        return f"the input shape must be a list of positive integers, got {shape!r}"
    values = math.prod(shape)
    if values > MAX_SAMPLE_VALUES:
        shown = str(list(shape)) if len(str(values)) < 40 else f"of {len(shape)} sizes"
        return (f"the input shape {shown} has more than the {MAX_SAMPLE_VALUES:,} values per sample a network "
                "here can take: set the shape of one sample, without the batch")
    return ""


_NAME_PATTERN = re.compile(r"^[^\s$][^\x00-\x1f]*$")
_COUNTED_NAME = re.compile(r"^(?P<stem>.*\S) (?P<count>[0-9]+)$")  # "hidden 2": a name and its count


@dataclass
class Node:
    name: str
    type: str
    node_class: str
    parameters: dict[str, Any]
    next_layers: list[str] = field(default_factory=list)
    position: tuple[float, float] | None = None
    trainable: bool = True  # False: frozen, its weights do not change in training (fine-tuning)

    def copy(self) -> "Node":
        """An independent copy. Parameter values are scalars or flat lists (the file format
        allows nothing else), so copying the lists suffices; deepcopy made every undoable
        edit of a 200-node network cost 36 ms."""
        parameters = {k: list(v) if isinstance(v, list) else v for k, v in self.parameters.items()}
        return Node(self.name, self.type, self.node_class, parameters, list(self.next_layers), self.position,
                    self.trainable)


def _copy_nodes(nodes: dict[str, Node]) -> dict[str, Node]:
    return {name: node.copy() for name, node in nodes.items()}


DEFAULT_INPUT = "input"


@dataclass
class InputSpec:
    """What one sample of a named network input looks like, without the batch dimension:
    [1, 28, 28] for MNIST."""

    shape: list[int]
    dtype: str = "float32"
    name: str = DEFAULT_INPUT


@dataclass
class FunctionChoice:
    """The chosen loss or optimizer and its parameters."""

    type: str
    parameters: dict[str, Any]


@dataclass
class OutputLoss:
    """The loss of one output of a network with several, and its weight in the total
    (the total is the weighted sum of every output's loss)."""

    choice: FunctionChoice
    weight: float = 1.0


@dataclass(frozen=True)
class Problem:
    """Something that keeps the network from compiling; `node` is empty for the whole net."""

    message: str
    node: str = ""


@dataclass(frozen=True)
class NetworkEvent:
    """A change of the network. kind: node_added, node_removed, node_renamed,
    parameters_changed, link_added, link_removed, first_layers_changed, node_moved, inputs_reordered,
    input_changed, loss_changed, optimizer_changed, reset."""

    kind: str
    node: str = ""
    other: str = ""


class Network:
    def __init__(self, catalog: Catalog | None = None):
        self.catalog = catalog or default_catalog()
        self._nodes: dict[str, Node] = {}
        # first layer -> the name of the input that feeds it; None: the first input, whatever its name
        # (so a network built before its input is named, or whose first input is renamed, stays wired)
        self._first: dict[str, str | None] = {}
        self._inputs: list[InputSpec] = []
        self.loss: FunctionChoice | None = None  # the loss of every output without one of its own
        self.output_losses: dict[str, OutputLoss] = {}
        self.optimizer: FunctionChoice | None = None
        # Training options the network was designed with ("$recipe": option name -> value,
        # as config.json stores them), offered when the file is opened and used by the CLI.
        self.recipe: dict[str, Any] = {}
        self._subscribers: list[Callable[[NetworkEvent], None]] = []

    # -- observing -------------------------------------------------------------------
    def subscribe(self, callback: Callable[[NetworkEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` after every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _announce(self, kind: str, node: str = "", other: str = "") -> None:
        event = NetworkEvent(kind, node, other)
        for callback in list(self._subscribers):
            callback(event)

    # -- reading ---------------------------------------------------------------------
    @property
    def inputs(self) -> list[InputSpec]:
        """The network's inputs, in the order the compiled module takes them."""
        return self._inputs

    @property
    def input_spec(self) -> InputSpec | None:
        """The first input (the only one of most networks), None when none is set."""
        return self._inputs[0] if self._inputs else None

    @input_spec.setter
    def input_spec(self, spec: InputSpec | None) -> None:
        self._inputs[:1] = [spec] if spec is not None else []

    def input_names(self) -> list[str]:
        return [spec.name for spec in self._inputs]

    def input_named(self, name: str) -> InputSpec:
        for spec in self._inputs:
            if spec.name == name:
                return spec
        raise NetworkError(f"the network has no input named '{name}' (its inputs: "
                           f"{', '.join(self.input_names()) or 'none'})")

    @property
    def first_layers(self) -> list[str]:
        """The nodes a network input goes to, in network order."""
        return [name for name in self._nodes if name in self._first]

    def input_feeding(self, name: str) -> str | None:
        """The name of the input that feeds first layer `name` (None if it is not one)."""
        if name not in self._first:
            return None
        return self._first[name] or self._default_input()

    def first_layers_of(self, input_name: str) -> list[str]:
        """The first layers fed by the input named `input_name`, in network order."""
        return [name for name in self._nodes if self.input_feeding(name) == input_name]

    def output_loss(self, output: str) -> OutputLoss | None:
        """The loss `output` is trained with and its weight: its own, else the network's
        loss with weight 1 (None when neither is set)."""
        own = self.output_losses.get(output)
        if own is not None:
            return own
        return OutputLoss(self.loss, 1.0) if self.loss is not None else None

    def is_first_layer(self, name: str) -> bool:
        return name in self._first

    @property
    def nodes(self) -> dict[str, Node]:
        """The nodes in network order (read-only by convention: change them through methods)."""
        return self._nodes

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def node(self, name: str) -> Node:
        try:
            return self._nodes[name]
        except KeyError:
            raise NetworkError(f"there is no node named '{name}'", node=name) from None

    def entry(self, name: str) -> CatalogEntry:
        return self.catalog.node_entry(self.node(name).type)

    def links(self) -> list[tuple[str, str]]:
        """Every (from, to) link whose both ends exist, in network order."""
        return [(n.name, nxt) for n in self._nodes.values() for nxt in n.next_layers if nxt in self._nodes]

    def inputs_of(self, name: str) -> list[str]:
        """The nodes that link to `name`, in network order (the order merge nodes use)."""
        self.node(name)
        return [n.name for n in self._nodes.values() if name in n.next_layers]

    def input_map(self) -> dict[str, list[str]]:
        """inputs_of for every node at once (one pass instead of one per node)."""
        inputs: dict[str, list[str]] = {name: [] for name in self._nodes}
        for node in self._nodes.values():
            for target in node.next_layers:
                if target in inputs:
                    inputs[target].append(node.name)
        return inputs

    def outputs(self) -> list[str]:
        """Nodes with no next layer."""
        return [n.name for n in self._nodes.values() if not any(x in self._nodes for x in n.next_layers)]

    def graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self._nodes)
        graph.add_edges_from(self.links())
        return graph

    def topological_order(self) -> list[str]:
        """Nodes so that every node comes after its inputs; ties keep network order."""
        index = {name: i for i, name in enumerate(self._nodes)}
        try:
            return list(nx.lexicographical_topological_sort(self.graph(), key=index.__getitem__))
        except nx.NetworkXUnfeasible:
            raise GraphError(self._describe_cycle()) from None

    def unique_name(self, base: str, reserved: Iterable[str] = ()) -> str:
        """`base` if free, else `base 2`, `base 3`, ... (not taken by a node, nor reserved).
        A base that ends in its own count counts on: a copy of "hidden 2" is "hidden 3", not
        "hidden 2 2" (a number written without a space, as in "conv2", is part of the name)."""
        reserved = set(reserved)

        def taken(name: str) -> bool:  # the nodes are not copied into a set: a large paste asks once a node
            return name in self._nodes or name in reserved

        if not taken(base):
            return base
        counted = _COUNTED_NAME.match(base)
        stem, counter = (counted["stem"], int(counted["count"]) + 1) if counted else (base, 2)
        while taken(f"{stem} {counter}"):
            counter += 1
        return f"{stem} {counter}"

    def copy(self) -> "Network":
        clone = Network(self.catalog)
        clone._take_content(self)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (
            list(self._nodes.items()) == list(other._nodes.items())
            and [(name, self.input_feeding(name)) for name in self.first_layers]
            == [(name, other.input_feeding(name)) for name in other.first_layers]
            and self._inputs == other._inputs
            and self.loss == other.loss
            and self.output_losses == other.output_losses
            and self.optimizer == other.optimizer
            and self.recipe == other.recipe
        )

    # -- editing ---------------------------------------------------------------------
    def _check_new_name(self, name: str) -> None:
        if (not isinstance(name, str) or not _NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH
                or any(0xD800 <= ord(c) <= 0xDFFF for c in name)):
            raise NetworkError(
                f"'{name}' cannot name a node: use up to {MAX_NAME_LENGTH} characters, not starting "
                "with a space or '$'",
                node=str(name),
            )
        if name in self._nodes:
            raise NetworkError(f"a node named '{name}' exists already; choose another name", node=name)

    def add_node(
        self,
        type_name: str,
        name: str | None = None,
        parameters: dict[str, Any] | None = None,
        *,
        position: tuple[float, float] | None = None,
        first_layer: bool | str = False,
        next_layers: Iterable[str] = (),
        strict: bool = True,
    ) -> str:
        """Add a node of catalogue type `type_name` and return its name.

        `first_layer`: True (fed by the first input) or the name of the input that feeds it.
        Missing parameters take their defaults (required ones stay unset). With strict
        (the editor), values must validate; without (loading a file), they are kept as
        they are and reported by problems(), so an old file opens and can be fixed.
        """
        entry = self.catalog.node_entry(type_name)
        name = self.unique_name(type_name.lower()) if name is None else name
        self._check_new_name(name)
        values = self._checked_parameters(entry, name, parameters or {}, strict)
        self._nodes[name] = Node(name, type_name, entry.node_class, values, list(next_layers),
                                 tuple(position) if position is not None else None)
        if first_layer:
            self._first[name] = None if first_layer is True else first_layer
        self._announce("node_added", name)
        return name

    def _default_input(self) -> str:
        return self._inputs[0].name if self._inputs else DEFAULT_INPUT

    def _checked_parameters(self, entry: CatalogEntry, node: str, values: dict[str, Any], strict: bool) -> dict:
        known = {spec.name for spec in entry.parameters}
        for key in values:
            if key not in known:
                raise ParameterError(
                    f"node '{node}': {entry.name} has no parameter '{key}' "
                    f"(its parameters: {', '.join(known) or 'none'})",
                    entry=entry.name, parameter=key, node=node,
                )
        if strict:
            try:
                return entry.validate(values, complete=False)
            except ParameterError as error:
                raise ParameterError(f"node '{node}': {error}", entry=entry.name,
                                     parameter=error.parameter, node=node) from None
        return {**entry.defaults(), **values}

    def remove_node(self, name: str) -> Node:
        """Remove a node and the links to it; returns it (for undo)."""
        removed = self.node(name)
        del self._nodes[name]
        for node in self._nodes.values():
            node.next_layers = [x for x in node.next_layers if x != name]
        self._first.pop(name, None)
        self.output_losses.pop(name, None)
        self._announce("node_removed", name)
        return removed

    def restore_node(self, node: Node, index: int, inputs: Iterable[str], first_layer: bool | str) -> None:
        """Put back a node removed by remove_node, where it stood (the undo of remove)."""
        self._check_new_name(node.name)
        items = list(self._nodes.items())
        items.insert(min(index, len(items)), (node.name, node.copy()))
        self._nodes = dict(items)
        for source in inputs:
            if source in self._nodes and node.name not in self._nodes[source].next_layers:
                self._nodes[source].next_layers.append(node.name)
        if first_layer:
            self._first[node.name] = None if first_layer is True else first_layer
        self._announce("node_added", node.name)

    def rename_node(self, old: str, new: str) -> None:
        node = self.node(old)
        if new == old:
            return
        self._check_new_name(new)
        node.name = new
        self._nodes = {(new if key == old else key): value for key, value in self._nodes.items()}
        for other in self._nodes.values():
            other.next_layers = [new if x == old else x for x in other.next_layers]
        self._first = {(new if key == old else key): value for key, value in self._first.items()}
        self.output_losses = {(new if key == old else key): value for key, value in self.output_losses.items()}
        self._announce("node_renamed", new, old)

    def set_parameters(self, name: str, values: dict[str, Any]) -> None:
        """Replace the node's parameters (validated; unset required ones may stay None)."""
        node = self.node(name)
        node.parameters = self._checked_parameters(self.entry(name), name, values, strict=True)
        self._announce("parameters_changed", name)

    def set_type(self, name: str, type_name: str, values: dict[str, Any] | None = None) -> None:
        """Change what the node is (Conv2d -> Conv1d), keeping its name and links."""
        node = self.node(name)
        entry = self.catalog.node_entry(type_name)
        node.parameters = self._checked_parameters(entry, name, values or {}, strict=True)
        node.type, node.node_class = type_name, entry.node_class
        self._announce("parameters_changed", name)

    def connect(self, source: str, target: str) -> None:
        """Link `source` -> `target` (target becomes one of source's next layers)."""
        node = self.node(source)
        self.node(target)
        if source == target:
            raise NetworkError(f"'{source}' cannot link to itself", node=source)
        if target in node.next_layers:
            raise NetworkError(f"'{source}' links to '{target}' already", node=source)
        if nx.has_path(self.graph(), target, source):
            raise GraphError(
                f"linking '{source}' to '{target}' would make a cycle: '{target}' already leads to '{source}'",
                node=source,
            )
        node.next_layers.append(target)
        self._announce("link_added", source, target)

    def disconnect(self, source: str, target: str) -> None:
        node = self.node(source)
        if target not in node.next_layers:
            raise NetworkError(f"'{source}' does not link to '{target}'", node=source)
        node.next_layers.remove(target)
        self._announce("link_removed", source, target)

    def set_next_layers(self, name: str, targets: list[str]) -> None:
        """Replace all of a node's links at once (the editor's next-layer field)."""
        node = self.node(name)
        old = list(node.next_layers)
        node.next_layers = []
        try:
            for target in targets:
                self.connect(name, target)
        except PyTorchGUIError:
            node.next_layers = old
            raise
        self._announce("link_removed", name)

    def move_input_first(self, name: str, source: str) -> None:
        """Make `source` the first input of `name` (Subtract, MatMul, Concatenate take their
        inputs in network order): `source` moves to just before name's first input."""
        inputs = self.inputs_of(name)
        if source not in inputs:
            raise GraphError(f"'{source}' is not an input of '{name}': link it to '{name}' first")
        if inputs[0] == source:
            return
        items = [(key, node) for key, node in self._nodes.items() if key != source]
        position = [key for key, _ in items].index(inputs[0])
        items.insert(position, (source, self._nodes[source]))
        self._nodes = dict(items)
        self._announce("inputs_reordered", name)

    def set_first_layer(self, name: str, first: bool = True, input: str | None = None) -> None:  # noqa: A002
        """Mark (or unmark) a node as one a network input goes to: the input named `input`
        (None: the first input)."""
        self.node(name)
        if input is not None and self._inputs:
            self.input_named(input)
        if first and name in self._first and self.input_feeding(name) == (input or self._default_input()) \
                or not first and name not in self._first:
            return
        if first:
            self._first[name] = input
        else:
            del self._first[name]
        self._announce("first_layers_changed", name)

    def set_first_layers(self, names: list[str]) -> None:
        """Make `names` the first layers, all fed by the first input."""
        for name in names:
            self.node(name)
        self._first = dict.fromkeys(names)
        self._announce("first_layers_changed")

    def set_trainable(self, name: str, trainable: bool) -> None:
        """Freeze a node (its weights stay as they are in training) or let it train again."""
        node = self.node(name)
        if node.trainable != trainable:
            node.trainable = trainable
            self._announce("parameters_changed", name)

    def move_node(self, name: str, position: tuple[float, float] | None) -> None:
        self.node(name).position = tuple(position) if position is not None else None
        self._announce("node_moved", name)

    def set_input(self, shape: list[int] | None, dtype: str = "float32", name: str | None = None) -> None:
        """Set the shape and dtype of the input `name` (None: the first; created when the
        network has none). A shape of None removes that input."""
        if name is None and not self._inputs:
            name = DEFAULT_INPUT
        index = self._input_index(name) if name is not None else 0
        if shape is None:
            if index is not None:
                del self._inputs[index]
        else:
            spec = self._checked_input(shape, dtype, self._inputs[index].name if index is not None else name)
            if index is None:
                self._check_input_name(spec.name)
                self._inputs.append(spec)
            else:
                self._inputs[index] = spec
        self._announce("input_changed")

    def add_input(self, name: str, shape: list[int], dtype: str = "float32") -> None:
        """Add a named input (after the existing ones: the compiled module takes it last)."""
        self._check_input_name(name)
        self._inputs.append(self._checked_input(shape, dtype, name))
        self._announce("input_changed", other=name)

    def remove_input(self, name: str) -> None:
        """Remove an input; the first layers it fed are first layers no more."""
        spec = self.input_named(name)
        fed = set(self.first_layers_of(name))
        self._inputs.remove(spec)
        self._first = {node: source for node, source in self._first.items() if node not in fed}
        self._announce("input_changed", other=name)

    def rename_input(self, old: str, new: str) -> None:
        spec = self.input_named(old)
        if new == old:
            return
        self._check_input_name(new)
        spec.name = new
        self._first = {node: (new if source == old else source) for node, source in self._first.items()}
        self._announce("input_changed", other=new)

    def _input_index(self, name: str) -> int | None:
        return next((index for index, spec in enumerate(self._inputs) if spec.name == name), None)

    def _check_input_name(self, name: str) -> None:
        if (not isinstance(name, str) or not _NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH
                or any(0xD800 <= ord(c) <= 0xDFFF for c in name)):
            raise NetworkError(f"'{name}' cannot name an input: use up to {MAX_NAME_LENGTH} characters, not "
                               "starting with a space or '$'")
        if self._input_index(name) is not None:
            raise NetworkError(f"an input named '{name}' exists already; choose another name")
        if name in self._nodes:
            raise NetworkError(f"a node is named '{name}': give the input another name (inputs and nodes share "
                               "the names of the compiled module's arguments and outputs)", node=name)

    @staticmethod
    def _checked_input(shape: list[int], dtype: str, name: str) -> InputSpec:
        problem = input_shape_problem(shape)
        if problem:
            raise NetworkError(problem if name == DEFAULT_INPUT else f"input '{name}': {problem}")
        if dtype not in INPUT_DTYPES:
            raise NetworkError(f"the input dtype must be one of {', '.join(INPUT_DTYPES)}, got {dtype!r}")
        return InputSpec(list(shape), dtype, name)

    def set_output_loss(self, output: str, type_name: str | None, values: dict[str, Any] | None = None,
                        weight: float = 1.0) -> None:
        """Give the output node `output` a loss of its own with `weight` in the total
        (type None: it takes the network's loss again, with weight 1)."""
        self.node(output)
        if type_name is None:
            self.output_losses.pop(output, None)
        else:
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) \
                    or weight < 0:
                raise NetworkError(f"the weight of the loss of '{output}' must be a number of 0 or more, got "
                                   f"{weight!r}", node=output)
            self.output_losses[output] = OutputLoss(self._function_choice("losses", type_name, values), float(weight))
        self._announce("loss_changed", output)

    def set_loss(self, type_name: str | None, values: dict[str, Any] | None = None) -> None:
        self.loss = self._function_choice("losses", type_name, values)
        self._announce("loss_changed")

    def set_optimizer(self, type_name: str | None, values: dict[str, Any] | None = None) -> None:
        self.optimizer = self._function_choice("optimizers", type_name, values)
        self._announce("optimizer_changed")

    def _function_choice(self, kind: str, type_name: str | None, values: dict | None) -> FunctionChoice | None:
        if type_name is None:
            return None
        entry = self.catalog.database(kind).get(type_name)
        return FunctionChoice(type_name, entry.validate(values or {}))

    def replace_with(self, other: "Network") -> None:
        """Take all of `other`'s content (open, new, undo of a load); subscribers stay."""
        self._take_content(other)
        self._announce("reset")

    def _take_content(self, other: "Network") -> None:
        """An independent copy of `other`'s nodes, links, input, loss, optimizer and recipe."""
        self._nodes = _copy_nodes(other._nodes)
        self._first = dict(other._first)
        self._inputs = copy.deepcopy(other._inputs)
        self.loss = copy.deepcopy(other.loss)
        self.output_losses = copy.deepcopy(other.output_losses)
        self.optimizer = copy.deepcopy(other.optimizer)
        self.recipe = copy.deepcopy(other.recipe)

    # -- checking --------------------------------------------------------------------
    def _describe_cycle(self) -> str:
        cycle = nx.find_cycle(self.graph())
        path = " -> ".join(f"'{edge[0]}'" for edge in cycle) + f" -> '{cycle[0][0]}'"
        return f"the links make a cycle: {path}; remove one of these links"

    def topology_problems(self) -> list[Problem]:
        """What keeps the graph from being compiled, each naming the nodes concerned."""
        problems: list[Problem] = []
        if not self._nodes:
            return [Problem("the network is empty: add a layer")]
        for node in self._nodes.values():
            for target in node.next_layers:
                if target not in self._nodes:
                    problems.append(Problem(f"'{node.name}' links to '{target}', which does not exist", node.name))
        first = self.first_layers
        if not first:
            problems.append(Problem("no first layer: mark the node the input goes to as first layer"))
        problems.extend(self.input_problems())
        graph = self.graph()
        if not nx.is_directed_acyclic_graph(graph):
            problems.append(Problem(self._describe_cycle()))
            return problems
        reachable = set(first)
        for name in first:
            reachable |= nx.descendants(graph, name)
        for name in self._nodes:
            if first and name not in reachable:
                problems.append(Problem(f"'{name}' is not reachable from a first layer: link a node to it", name))
        input_map = self.input_map()
        for name in self._nodes:
            problems.extend(self._arity_problems(name, first, input_map[name]))
        return problems

    def input_problems(self) -> list[Problem]:
        """Inputs and first layers that do not match: a first layer fed by an input the
        network does not have, an input that feeds nothing, two inputs of one name, an
        input named like a node; and a loss of its own on a node that is not an output."""
        problems: list[Problem] = []
        names = self.input_names()
        for name in sorted({name for name in names if names.count(name) > 1}):
            problems.append(Problem(f"two inputs are named '{name}': rename one"))
        for name in names:
            if name in self._nodes:
                problems.append(Problem(f"the input '{name}' is named like a node: rename the input or the node",
                                        name))
        known = set(names) | ({DEFAULT_INPUT} if not names else set())
        for node in self.first_layers:
            if self.input_feeding(node) not in known:
                problems.append(Problem(f"first layer '{node}' is fed by the input '{self._first[node]}', which the "
                                        f"network does not have (its inputs: {', '.join(names) or 'none'}): choose "
                                        "one of them", node))
        if len(names) > 1:
            fed = {self.input_feeding(node) for node in self._first}
            for name in names:
                if name not in fed:
                    problems.append(Problem(f"the input '{name}' feeds no layer: mark the layer it goes to as a first "
                                            "layer fed by it, or remove the input"))
        outputs = set(self.outputs())
        for node in self.output_losses:
            if node in self._nodes and node not in outputs:
                problems.append(Problem(f"'{node}' has a loss of its own but is not an output (it links to "
                                        f"{', '.join(self._nodes[node].next_layers)}): remove its loss", node))
        return problems

    def _arity_problems(self, name: str, first: list[str], inputs: list[str]) -> list[Problem]:
        entry = self.entry(name)
        count = len(inputs) + (1 if name in first else 0)
        if name in first and inputs:
            return [Problem(f"first layer '{name}' also has inputs from {', '.join(inputs)}: "
                            "a first layer takes the network input only", name)]
        if entry.name.startswith("MaxUnpool") and count in (1, 2):
            return []  # the pooling node alone, or values plus the pooling node (see shapes)
        if entry.variadic:
            if count < entry.inputs:
                return [Problem(f"{entry.name} '{name}' joins {entry.inputs} or more inputs but has {count}: "
                                "link more nodes to it", name)]
        elif count > 0 and count != entry.inputs:
            wanted = "one input" if entry.inputs == 1 else f"{entry.inputs} inputs"
            advice = "; add a merge node (Add, Concatenate) to join them" if entry.inputs == 1 else ""
            return [Problem(f"{entry.name} '{name}' takes {wanted} but has {count}{advice}", name)]
        return []

    def parameter_problems(self) -> list[Problem]:
        problems = []
        for node in self._nodes.values():
            try:
                self.entry(node.name).validate(node.parameters)
            except ParameterError as error:
                problems.append(Problem(f"node '{node.name}': {error}", node.name))
        return problems

    def training_problems(self) -> list[Problem]:
        """What training needs beyond a network that compiles: a loss and an optimizer
        (shapes.step_problems says whether the optimizer can step the network)."""
        problems = []
        if self.loss is None:
            problems.append(Problem('no loss function: choose one in the Network tab ("$loss" in the network file)'))
        if self.optimizer is None:
            problems.append(Problem('no optimizer: choose one in the Network tab ("$optimizer" in the network '
                                    'file)'))
        return problems

    def optimizer_problems(self, weighted: Collection[str]) -> list[Problem]:
        """The gradients the chosen optimizer cannot step (torch raises at the first step):
        an Embedding with sparse=true gives sparse ones, which most optimizers refuse, and
        SparseAdam refuses every other. `weighted`: the nodes with trainable weights."""
        if self.optimizer is None or self.optimizer.type not in self.catalog.optimizers:
            return []
        name = self.optimizer.type
        takes = self.catalog.optimizers.get(name).gradients
        sparse = [node for node in weighted if node in self._nodes and "Embedding" in self._nodes[node].type
                  and self._nodes[node].parameters.get("sparse") is True]
        dense = [node for node in weighted if node in self._nodes and node not in sparse]
        sparse_ones = ", ".join(o.name for o in self.catalog.optimizers if o.gradients in ("any", "sparse"))
        if takes == "dense" and sparse:
            return [Problem(f"{name} cannot step the sparse gradients of '{sparse[0]}' (an Embedding with "
                            f"sparse=true): set its sparse to false, or choose one of {sparse_ones}", sparse[0])]
        if takes == "sparse" and dense:
            listed = ", ".join(f"'{node}'" for node in dense[:3]) + (" …" if len(dense) > 3 else "")
            return [Problem(f"{name} steps only sparse gradients (Embedding layers with sparse=true), and {listed} "
                            "have dense ones: choose Adam or AdamW, or SGD or Adagrad, which step both", dense[0])]
        return []

    def problems(self) -> list[Problem]:
        """Topology and parameter problems (shape problems come from infer_shapes)."""
        return self.topology_problems() + self.parameter_problems()


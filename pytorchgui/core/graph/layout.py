"""Where nodes go on the canvas, in scene units: a layered layout, and room for insertions
and pastes.

Plain geometry on the network (no Qt), so the designer, pasting and block insertion
place nodes the same way.
"""
from __future__ import annotations

import networkx as nx
import numpy

from pytorchgui.core.graph.network import Network

LAYER_GAP, COLUMN_GAP = 96.0, 230.0


def tidy_positions(network: Network) -> dict[str, tuple[float, float]]:
    """A layered top-to-bottom layout: each node one layer below its lowest input, and
    as far as room allows straight below its inputs (their mean x), so chains stay
    straight and a branch gets a column of its own."""
    graph = network.graph()
    if not nx.is_directed_acyclic_graph(graph):
        return {name: (0.0, i * LAYER_GAP) for i, name in enumerate(network.nodes)}
    layers: dict[str, int] = {}
    for name in network.topological_order():
        layers[name] = max((layers[p] + 1 for p in graph.predecessors(name)), default=0)
    rows: dict[int, list[str]] = {}
    for name in network.nodes:  # network order within a layer
        rows.setdefault(layers[name], []).append(name)
    x: dict[str, float] = {}
    for layer in sorted(rows):
        names = rows[layer]
        wanted = {}
        for index, name in enumerate(names):
            inputs = [x[p] for p in graph.predecessors(name)]
            wanted[name] = sum(inputs) / len(inputs) if inputs else (index - (len(names) - 1) / 2) * COLUMN_GAP
        ordered = sorted(names, key=lambda n: (wanted[n], names.index(n)))
        placed: list[float] = []
        for name in ordered:  # left to right, at least one column apart
            placed.append(max(wanted[name], placed[-1] + COLUMN_GAP) if placed else wanted[name])
        # Shift the row back so that, on average, nodes sit where they wanted to be.
        shift = sum(wanted[n] for n in ordered) / len(ordered) - sum(placed) / len(placed)
        for name, position in zip(ordered, placed):
            x[name] = position + shift
    return {name: (x[name], layers[name] * LAYER_GAP) for name in network.nodes}


def place_unplaced(network: Network, shown: dict[str, tuple[float, float]] | None = None) -> None:
    """Give nodes without a position the one the canvas shows them at (`shown`, by default
    the network's layered layout), so that nodes added beside them cannot move them (the
    layout of the unplaced nodes would change with the new ones)."""
    if any(node.position is None for node in network.nodes.values()):
        layout = shown or tidy_positions(network)
        for name, node in network.nodes.items():
            if node.position is None:
                network.move_node(name, layout[name])


def free_offset(occupied: list[tuple[float, float]], placing: list[tuple[float, float]],
                offset: tuple[float, float]) -> tuple[float, float]:
    """`offset` for nodes at `placing`, moved right until none of them lands within a
    column across and a layer down of an `occupied` place: no node then hides another
    or its port."""
    if not occupied or not placing:
        return offset
    taken, moved = numpy.asarray(occupied, dtype=float), numpy.asarray(placing, dtype=float)
    dx, dy = offset
    while True:
        across = taken[None, :, 0] - (moved[:, None, 0] + dx)  # placing x occupied
        down = taken[None, :, 1] - (moved[:, None, 1] + dy)
        clash = (numpy.abs(across) < COLUMN_GAP) & (numpy.abs(down) < LAYER_GAP)
        if not clash.any():
            return dx, dy
        dx += float(across[clash].max()) + COLUMN_GAP  # past the rightmost node in the way


def close_up(positions: dict[str, tuple[float, float]], groups: dict[str, list[str]]
             ) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """Where the nodes and collapsed groups are drawn once each group (name -> its member
    nodes) is one box: a group takes the place of its topmost member, and everything
    below it moves up by the height the group's members spanned, so a collapsed stage
    leaves no gap. Returns (positions of the nodes outside groups, positions of the groups).

    The columns stay where they are (a group sits at its members' median x, which is the
    main chain's column when side branches are fewer than the chain's nodes)."""
    spans = sorted((min(positions[name][1] for name in members), max(positions[name][1] for name in members))
                   for members in groups.values() if members)
    merged: list[list[float]] = []
    for top, bottom in spans:  # groups side by side at the same height close up once
        if merged and top <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], bottom)
        else:
            merged.append([top, bottom])

    def raised(y: float) -> float:
        # a place inside a span goes to its top; below a span, up by the span's height
        return y - sum(min(y, bottom) - top for top, bottom in merged if y > top)

    members_of = {name for members in groups.values() for name in members}
    nodes = {name: (x, raised(y)) for name, (x, y) in positions.items() if name not in members_of}
    boxes = {group: (float(numpy.median([positions[name][0] for name in members])),
                     raised(min(positions[name][1] for name in members)))
             for group, members in groups.items() if members}
    return nodes, boxes

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


def close_up(positions: dict[str, tuple[float, float]], groups: dict[str, list[str]],
             entries: dict[str, list[str]] | None = None
             ) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """Where the nodes and collapsed groups are drawn once each group (name -> its member
    nodes) is one box: a group takes the place of its topmost entry (`entries`: the
    members a link from outside the group comes into; the topmost member where none is
    given), and every row of the layout left holding only hidden members closes up (what
    is below moves up by the row's gap), so a collapsed stage leaves no gap and nodes
    beside a group keep their rows. Returns (positions of the nodes outside groups,
    positions of the groups)."""
    entries = entries or {}
    tops = {group: min(entries.get(group) or members, key=lambda name: (positions[name][1], positions[name][0]))
            for group, members in groups.items() if members}
    hidden = {name for members in groups.values() for name in members}
    kept_rows = {positions[name][1] for name in positions if name not in hidden}
    kept_rows |= {positions[top][1] for top in tops.values()}
    rows = sorted({y for _, y in positions.values()})
    closed = [(row, row - above) for above, row in zip(rows, rows[1:]) if row not in kept_rows]

    def raised(y: float) -> float:
        return y - sum(gap for row, gap in closed if row <= y)

    nodes = {name: (x, raised(y)) for name, (x, y) in positions.items() if name not in hidden}
    boxes = {group: (positions[top][0], raised(positions[top][1])) for group, top in tops.items()}
    return nodes, boxes

"""Copy and paste parts of a network as network JSON text.

What is copied is a network file of its own (the selected nodes and the links among
them, with their positions), so it pastes into another window or from a text editor,
and a paste reads it through the same closed-world loader as a file: text that is not
a network, or a hostile one, changes nothing.
"""
from __future__ import annotations

from typing import Iterable

import networkx as nx

from pytorchgui.core.training import network_format
from pytorchgui.core.interop.blocks import add_renamed, part_of
from pytorchgui.core.errors import NetworkError
from pytorchgui.core.graph.layout import COLUMN_GAP, free_offset, place_unplaced, tidy_positions
from pytorchgui.core.graph.network import Network



def copy_nodes(network: Network, names: Iterable[str]) -> str:
    """The nodes `names` and the links among them, as the text of a network file, each
    with the position it is drawn at (the layered layout's for a node never placed)."""
    part = part_of(network, names)
    if any(node.position is None for node in part.nodes.values()):
        place_unplaced(part, tidy_positions(network))
    return network_format.dumps(part)


def paste_nodes(network: Network, text: str, at: tuple[float, float] | None = None) -> list[str]:
    """Add the nodes of a copied network to `network` under fresh unique names, linked
    among themselves only, arranged as they were copied; their names in `network`.

    at: the top left node lands on this point (the mouse); None: the nodes land in the
    column right of where they were copied. Either way they move further right until
    they cover no node (nor its port). NetworkFormatError if the text is not a network,
    NetworkError if its links make a cycle; `network` is then unchanged."""
    part = network_format.loads(text, source="the clipboard", catalog=network.catalog)
    if not part.nodes:
        raise NetworkError("the clipboard holds a network without nodes: nothing to paste")
    if not nx.is_directed_acyclic_graph(part.graph()):
        raise NetworkError("the nodes on the clipboard are linked in a cycle: nothing was pasted")
    place_unplaced(network)  # where they are drawn now, or the pasted nodes would rearrange them
    positions = {name: node.position for name, node in part.nodes.items()}
    if any(position is None for position in positions.values()):  # copied from a network never placed
        positions = tidy_positions(part)
    xs, ys = [x for x, _ in positions.values()], [y for _, y in positions.values()]
    start = (max(xs) - min(xs) + COLUMN_GAP, 0.0) if at is None else (at[0] - min(xs), at[1] - min(ys))
    dx, dy = free_offset([node.position for node in network.nodes.values()], list(positions.values()), start)
    moved = {name: (x + dx, y + dy) for name, (x, y) in positions.items()}
    return list(add_renamed(network, part, moved).values())

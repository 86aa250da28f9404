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
from pytorchgui.core.graph.network import Network

PASTE_OFFSET = (40.0, 40.0)  # pasted nodes land beside the originals, not on top of them


def copy_nodes(network: Network, names: Iterable[str]) -> str:
    """The nodes `names` and the links among them, as the text of a network file."""
    return network_format.dumps(part_of(network, names))


def paste_nodes(network: Network, text: str, offset: tuple[float, float] = PASTE_OFFSET) -> list[str]:
    """Add the nodes of a copied network to `network` under fresh unique names, linked
    among themselves only; their names in `network`. NetworkFormatError if the text is
    not a network, NetworkError if its links make a cycle; `network` is then unchanged."""
    part = network_format.loads(text, source="the clipboard", catalog=network.catalog)
    if not part.nodes:
        raise NetworkError("the clipboard holds a network without nodes: nothing to paste")
    if not nx.is_directed_acyclic_graph(part.graph()):
        raise NetworkError("the nodes on the clipboard are linked in a cycle: nothing was pasted")
    positions = {name: (node.position[0] + offset[0], node.position[1] + offset[1]) if node.position else None
                 for name, node in part.nodes.items()}
    return list(add_renamed(network, part, positions).values())

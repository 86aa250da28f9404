"""Copy and paste parts of a network as network JSON text.

What is copied is a network file of its own (the selected nodes and the links among
them, with their positions), so it pastes into another window or from a text editor,
and a paste reads it through the same closed-world loader as a file: text that is not
a network, or a hostile one, changes nothing.
"""
from __future__ import annotations

from typing import Iterable

import networkx as nx

from pytorchgui.core import network_format
from pytorchgui.core.errors import NetworkError
from pytorchgui.core.network import Network

PASTE_OFFSET = (40.0, 40.0)  # pasted nodes land beside the originals, not on top of them


def copy_nodes(network: Network, names: Iterable[str]) -> str:
    """The nodes `names` and the links among them, as the text of a network file."""
    selected = [name for name in network.nodes if name in set(names)]
    part = Network(network.catalog)
    for name in selected:
        node = network.node(name)
        part.add_node(node.type, name, dict(node.parameters), position=node.position, strict=False,
                      next_layers=[target for target in node.next_layers if target in selected])
    return network_format.dumps(part)


def paste_nodes(network: Network, text: str, offset: tuple[float, float] = PASTE_OFFSET) -> list[str]:
    """Add the nodes of a copied network to `network` under fresh unique names, linked
    among themselves only; their names in `network`. NetworkFormatError if the text is
    not a network, NetworkError if its links make a cycle; `network` is then unchanged."""
    part = network_format.loads(text, source="the clipboard", catalog=network.catalog)
    if not part.nodes:
        raise NetworkError("the clipboard holds a network without nodes: nothing to paste")
    if not nx.is_directed_acyclic_graph(part.graph()):
        raise NetworkError("the nodes on the clipboard are linked in a cycle: nothing was pasted")
    renamed: dict[str, str] = {}
    for name, node in part.nodes.items():
        new_name = network.unique_name(name)  # the nodes pasted so far count: they are in `network`
        position = None
        if node.position is not None:
            position = (node.position[0] + offset[0], node.position[1] + offset[1])
        network.add_node(node.type, new_name, dict(node.parameters), position=position, strict=False)
        renamed[name] = new_name
    for name, node in part.nodes.items():
        for target in node.next_layers:
            network.connect(renamed[name], renamed[target])
    return list(renamed.values())

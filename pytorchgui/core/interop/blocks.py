"""Blocks: named parts of a network (conv-bn-relu, a residual block, ...) inserted as a group.

A block file wraps a network document:

    {"$format": "pytorchgui.block", "$version": 1, "name": "conv-bn-relu",
     "description": "...", "network": {... a network file ...}}

and is read through the same closed-world loader as a network file, so a block can no
more run code than a network can. The block's entry nodes are its first layers (a
residual block has two: the convolution path and the shortcut into the Add); its exits
are the nodes with no next layer. Built-in blocks ship in resources/blocks; the user's
own are saved in the user data folder. Inserting one catalogue entry is inserting a
block of one node, so the palette, the canvas and the "add here" popup place nodes the
same way.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import networkx as nx

from pytorchgui import paths
from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.errors import NetworkError, NetworkFormatError, PyTorchGUIError
from pytorchgui.core.graph.catalog import AUTO, Catalog, CatalogEntry
from pytorchgui.core.graph.layout import LAYER_GAP, place_unplaced, tidy_positions
from pytorchgui.core.graph.network import Network
from pytorchgui.core.training import network_format

BLOCK_FORMAT = "pytorchgui.block"
BLOCK_VERSION = 1
BLOCK_KEYS = {"$format", "$version", "name", "description", "network"}
MAX_BLOCK_NAME = 60
MAX_DESCRIPTION = 400


@dataclass(frozen=True)
class Block:
    name: str
    description: str
    network: Network
    path: Path | None = None
    builtin: bool = False

    @property
    def entries(self) -> list[str]:
        """Where the block's input goes: its first layers, or else the nodes nothing links to."""
        return self.network.first_layers or [name for name, inputs in self.network.input_map().items() if not inputs]

    @property
    def exits(self) -> list[str]:
        return self.network.outputs()


def entry_block(entry: CatalogEntry, catalog: Catalog) -> Block:
    """One catalogue entry as a block of one node, with values that build: sizes that can
    follow from the input are `auto`, then the catalogue's `new` values (a 3x3 convolution
    of 16 channels, a Linear of 64), then its example for any other required value."""
    example = dict(entry.example.get("parameters", {}))
    values = {spec.name: AUTO if spec.auto else example.get(spec.name)
              for spec in entry.parameters if spec.required}
    values.update(entry.new)
    part = Network(catalog)
    part.add_node(entry.name, entry.name.lower(), {k: v for k, v in values.items() if v is not None},
                  position=(0.0, 0.0), first_layer=True)
    return Block(entry.name, entry.description, part)


# -- reading ------------------------------------------------------------------------------
def read_block(path: str | Path, catalog: Catalog | None = None, *, builtin: bool = False) -> Block:
    """A block file; NetworkFormatError naming the file if it is not one."""
    path = Path(path)
    source = str(path)
    document = network_format.parse_json(network_format.read_text(path), source)
    if not isinstance(document, dict) or document.get("$format") != BLOCK_FORMAT:
        raise NetworkFormatError(f"{source} is not a PyTorchGUI block file (its \"$format\" must be "
                                 f"\"{BLOCK_FORMAT}\")")
    version = document.get("$version")
    if version != BLOCK_VERSION:
        raise NetworkFormatError(f"{source}: block format version {version!r} is not one this PyTorchGUI reads "
                                 f"({BLOCK_VERSION})")
    unknown = sorted(set(document) - BLOCK_KEYS)
    if unknown:
        raise NetworkFormatError(f"{source}: unknown key {unknown[0]!r}")
    name, description = document.get("name"), document.get("description", "")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_BLOCK_NAME:
        raise NetworkFormatError(f"{source}: \"name\" must be text of 1 to {MAX_BLOCK_NAME} characters")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise NetworkFormatError(f"{source}: \"description\" must be text of up to {MAX_DESCRIPTION} characters")
    network = network_format.from_document(document.get("network"), f"{source} (its network)", catalog)
    if not network.nodes:
        raise NetworkFormatError(f"{source}: the block has no nodes")
    if not nx.is_directed_acyclic_graph(network.graph()):
        raise NetworkFormatError(f"{source}: the block's links make a cycle")
    return Block(name.strip(), description, network, path, builtin)


def read_library(folders: Iterable[tuple[Path, bool]], catalog: Catalog | None = None
                 ) -> tuple[list[Block], list[str]]:
    """Every block file of the folders ((folder, built-in) pairs) and, for each file that
    cannot be read, a line saying which and why: one bad file never hides the others."""
    blocks: list[Block] = []
    problems: list[str] = []
    for folder, builtin in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                blocks.append(read_block(path, catalog, builtin=builtin))
            except PyTorchGUIError as error:
                problems.append(str(error))
    return blocks, problems


def block_library(catalog: Catalog | None = None) -> tuple[list[Block], list[str]]:
    """The built-in blocks, then the user's; and the problems of files that did not load."""
    return read_library([(paths.builtin_blocks_dir(), True), (paths.user_blocks_dir(), False)], catalog)


# -- writing ------------------------------------------------------------------------------
def part_of(network: Network, names: Iterable[str]) -> Network:
    """The nodes `names` with the links among them; the nodes fed from outside the
    selection (or from the network input) become the part's first layers."""
    chosen = set(names)
    selected = [name for name in network.nodes if name in chosen]
    inputs = network.input_map()
    part = Network(network.catalog)
    for name in selected:
        node = network.node(name)
        fed_from_outside = name in network.first_layers or not inputs[name] or any(
            source not in chosen for source in inputs[name])
        part.add_node(node.type, name, dict(node.parameters), position=node.position, strict=False,
                      first_layer=fed_from_outside,
                      next_layers=[target for target in node.next_layers if target in chosen])
    return part


def block_file_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"{slug or 'block'}.json"


def save_block(network: Network, names: Iterable[str], name: str, description: str, folder: Path) -> Path:
    """Save the selected nodes as a block named `name` in `folder` (atomically); returns the file."""
    name = name.strip()
    if not name or len(name) > MAX_BLOCK_NAME:
        raise NetworkError(f"a block needs a name of 1 to {MAX_BLOCK_NAME} characters")
    part = part_of(network, names)
    if not part.nodes:
        raise NetworkError("select the nodes to save as a block first")
    header = {"$format": BLOCK_FORMAT, "$version": BLOCK_VERSION, "name": name,
              "description": description.strip()[:MAX_DESCRIPTION]}
    # the network in the network file's own layout: one line per node field
    lines = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}," for key, value in header.items()]
    network_text = network_format.dumps(part).rstrip("\n").replace("\n", "\n  ")
    path = folder / block_file_name(name)
    atomic_write_text(path, "{\n" + "\n".join(lines) + f'\n  "network": {network_text}\n}}\n')
    return path


# -- inserting ----------------------------------------------------------------------------
def insert_block(network: Network, block: Block, *, at: tuple[float, float] | None = None,
                 after: str | None = None, into: tuple[str, str] | None = None) -> list[str]:
    """Add the block's nodes under fresh names and return them.

    at: its first entry lands on this point, unlinked. after: the node feeds the block's
    entries; a node that led to exactly one next layer now leads there through the block.
    into: the block goes into the link (source, target). Nodes below the insertion move
    down to make room. On an empty network the entries become first layers.
    """
    place_unplaced(network)
    part = block.network
    positions = {name: node.position for name, node in part.nodes.items()}
    if any(position is None for position in positions.values()):
        positions = tidy_positions(part)
    if after is not None:
        next_layers = network.node(after).next_layers
        into = (after, next_layers[0]) if len(next_layers) == 1 else None
        source = after
    elif into is not None:
        source = into[0]
        if into[1] not in network.node(source).next_layers:
            raise NetworkError(f"'{source}' does not link to '{into[1]}'", node=source)
    else:
        source = None
    exits = block.exits
    if into is not None and len(exits) != 1:
        raise NetworkError(f"the block {block.name} has {len(exits)} ends; drop it on empty canvas and link it by hand")
    anchor = positions[block.entries[0]]
    top = min(y for _, y in positions.values())
    height = max(y for _, y in positions.values()) - top
    if source is not None:
        x, y = network.node(source).position or (0.0, 0.0)
        at = (x, y + LAYER_GAP)
        if into is not None:
            _make_room(network, into[1], at[1], height + LAYER_GAP)
    at = at or (0.0, 0.0)
    offset = (at[0] - anchor[0], at[1] - top)
    was_empty = not network.nodes
    renamed = add_renamed(network, part, {name: (x + offset[0], y + offset[1]) for name, (x, y) in positions.items()})
    entries = [renamed[name] for name in block.entries]
    if into is not None:
        network.disconnect(*into)
        network.connect(renamed[exits[0]], into[1])
    for entry in entries:
        if source is not None:
            network.connect(source, entry)
        elif was_empty:
            network.set_first_layer(entry)
    return list(renamed.values())


def add_renamed(network: Network, part: Network, positions: dict[str, tuple[float, float] | None]
                 ) -> dict[str, str]:
    """Add `part`'s nodes to `network` under fresh unique names, linked among themselves.

    The part must be acyclic; its new nodes have no link to or from the network's, so no
    link can close a cycle, and they are added with their links at once (connecting one
    by one checks the whole graph for a cycle each time: seconds for a large paste)."""
    renamed: dict[str, str] = {}
    for name in part.nodes:
        renamed[name] = network.unique_name(name, renamed.values())
    for name, node in part.nodes.items():
        network.add_node(node.type, renamed[name], dict(node.parameters), position=positions.get(name), strict=False,
                         next_layers=[renamed[target] for target in node.next_layers if target in renamed])
    return renamed


def _make_room(network: Network, start: str, from_y: float, height: float) -> None:
    """Move `start` and every node it leads to down by `height`, where they sit at or below
    from_y, so an inserted block does not cover them."""
    below = {start} | nx.descendants(network.graph(), start)
    for name in below:
        position = network.node(name).position
        if position is not None and position[1] >= from_y - 1e-6:
            network.move_node(name, (position[0], position[1] + height))

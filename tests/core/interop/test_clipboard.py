"""Copy and paste of network parts as network JSON text."""
import json

import pytest

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.interop.clipboard import copy_nodes, paste_nodes
from pytorchgui.core.errors import NetworkError, NetworkFormatError
from pytorchgui.core.graph.layout import COLUMN_GAP, LAYER_GAP, tidy_positions


@pytest.fixture
def lenet():
    return network_format.load(paths.example_networks_dir() / "lenet5.json")


def test_copied_nodes_are_a_network_file_with_the_links_among_them_only(lenet):
    text = copy_nodes(lenet, ["conv2", "relu2", "pool2"])
    document = json.loads(text)
    assert [key for key in document if not key.startswith("$")] == ["conv2", "relu2", "pool2"]
    assert document["conv2"]["nextLayer"] == "relu2" and "nextLayer" not in document["pool2"]  # not to flatten
    assert network_format.loads(text).nodes["conv2"].parameters == lenet.nodes["conv2"].parameters


def test_paste_gives_fresh_names_beside_the_originals_and_links_inside_only(lenet):
    lenet.move_node("conv2", (10.0, 20.0))
    before = set(lenet.nodes)
    pasted = paste_nodes(lenet, copy_nodes(lenet, ["conv2", "relu2", "pool2"]))
    assert pasted == ["conv2 2", "relu2 2", "pool2 2"] and set(lenet.nodes) == before | set(pasted)
    assert lenet.node("conv2 2").next_layers == ["relu2 2"] and lenet.node("pool2 2").next_layers == []
    assert not any(name in lenet.node(source).next_layers for source in before for name in pasted)
    assert "conv2 3" in paste_nodes(lenet, copy_nodes(lenet, ["conv2"]))


def _clashes(network, names):
    """Pairs of a node in `names` and another node closer than a column across and a layer
    down: drawn over each other (or over the other's port)."""
    return [(a, b) for a in names for b in network.nodes if b != a
            and abs(network.node(a).position[0] - network.node(b).position[0]) < COLUMN_GAP
            and abs(network.node(a).position[1] - network.node(b).position[1]) < LAYER_GAP]


@pytest.mark.parametrize("tidied", [True, False])
def test_pasted_nodes_land_beside_everything_and_keep_their_shape(lenet, tidied):
    """Originals placed or not (an example has no positions): every node keeps its place on
    the canvas, and the pasted ones, as arranged as the copied ones, overlap none of them,
    however often the same nodes are pasted."""
    if tidied:
        for name, position in tidy_positions(lenet).items():
            lenet.move_node(name, position)
    shown = tidy_positions(lenet)
    text = copy_nodes(lenet, ["conv2", "relu2", "pool2"])
    first = paste_nodes(lenet, text)
    second = paste_nodes(lenet, text)
    assert all(lenet.node(name).position == shown[name] for name in shown)  # the originals stay where they were
    assert _clashes(lenet, first + second) == []
    for pasted in (first, second):
        (x0, y0), (x1, y1), (x2, y2) = (lenet.node(name).position for name in pasted)
        assert x0 == x1 == x2 and (y1 - y0, y2 - y1) == (LAYER_GAP, LAYER_GAP)
    assert lenet.node(first[0]).position == (shown["conv2"][0] + COLUMN_GAP, shown["conv2"][1])  # the next column


def test_nodes_pasted_at_a_point_land_there_or_in_the_next_free_column(lenet):
    text = copy_nodes(lenet, ["conv2", "relu2"])
    assert lenet.node(paste_nodes(lenet, text, at=(900.0, 50.0))[0]).position == (900.0, 50.0)
    shown = lenet.node("conv1").position
    over_conv1 = paste_nodes(lenet, text, at=(shown[0] + 20, shown[1] + 10))
    assert _clashes(lenet, over_conv1) == [] and lenet.node(over_conv1[0]).position[1] == shown[1] + 10


@pytest.mark.parametrize("text, error, message", [
    ("", NetworkFormatError, "the clipboard is not valid JSON"),
    ("print('hello')", NetworkFormatError, "the clipboard is not valid JSON"),
    ('{"a": {"type": "os.system"}}', NetworkFormatError, "'os.system' is not a layer or activation"),
    ('{"$format": "pytorchgui.network", "$version": 2}', NetworkError, "without nodes"),
    ('{"a": {"type": "ReLU", "nextLayer": "b"}, "b": {"type": "ReLU", "nextLayer": "a"}}', NetworkError,
     "linked in a cycle"),
])
def test_text_that_is_not_a_network_changes_nothing(lenet, text, error, message):
    before = network_format.dumps(lenet)
    with pytest.raises(error, match=message):
        paste_nodes(lenet, text)
    assert network_format.dumps(lenet) == before

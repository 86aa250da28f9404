"""Copy and paste of network parts as network JSON text."""
import json

import pytest

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.interop.clipboard import copy_nodes, paste_nodes
from pytorchgui.core.errors import NetworkError, NetworkFormatError


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
    assert lenet.node("conv2 2").position == (50.0, 60.0)
    assert "conv2 3" in paste_nodes(lenet, copy_nodes(lenet, ["conv2"]))


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

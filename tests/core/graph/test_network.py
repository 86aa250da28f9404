"""The network model: every operation, every error, and the events views follow."""
import pytest

from pytorchgui.core.errors import GraphError, NetworkError, ParameterError, UnknownEntryError
from pytorchgui.core.graph.network import Network


@pytest.fixture
def network():
    net = Network()
    net.add_node("Conv2d", "conv", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}, first_layer=True)
    net.add_node("ReLU", "relu")
    net.add_node("Flatten", "flatten")
    net.connect("conv", "relu")
    net.connect("relu", "flatten")
    return net


@pytest.fixture
def events(network):
    seen = []
    network.subscribe(lambda event: seen.append((event.kind, event.node, event.other)))
    return seen


def test_add_fills_defaults_and_keeps_required_unset():
    net = Network()
    name = net.add_node("Conv2d", parameters={"out_channels": 8})
    assert name == "conv2d"
    node = net.node(name)
    assert node.node_class == "layer"
    assert node.parameters["out_channels"] == 8 and node.parameters["stride"] == 1
    assert node.parameters["kernel_size"] is None
    assert net.add_node("Conv2d") == "conv2d 2"
    assert net.add_node("ReLU") == "relu" and net.node("relu").node_class == "activation_function"
    assert net.node(net.add_node("Add")).node_class == "merge"


def test_a_copy_of_a_numbered_name_counts_up_instead_of_adding_a_second_number():
    net = Network()
    net.add_node("Linear", "hidden 2", {"in_features": 4, "out_features": 4})
    assert net.unique_name("hidden 2") == "hidden 3"
    net.add_node("Linear", "hidden 3", {"in_features": 4, "out_features": 4})
    assert net.unique_name("hidden 2") == "hidden 4"
    assert net.unique_name("hidden 2", reserved=["hidden 4"]) == "hidden 5"
    net.add_node("ReLU", "conv2")  # a number written into the name is part of it
    assert net.unique_name("conv2") == "conv2 2"
    assert net.unique_name("hidden 7") == "hidden 7"  # free: kept as it is


def test_add_refuses_bad_input():
    net = Network()
    with pytest.raises(UnknownEntryError, match="'Conv4d' is not a layer"):
        net.add_node("Conv4d")
    with pytest.raises(ParameterError, match="node 'c': Conv2d parameter 'out_channels' must be >= 1"):
        net.add_node("Conv2d", "c", {"out_channels": 0})
    with pytest.raises(ParameterError, match="node 'c': Conv2d has no parameter 'filters'"):
        net.add_node("Conv2d", "c", {"filters": 3})
    net.add_node("ReLU", "a")
    with pytest.raises(NetworkError, match="a node named 'a' exists already"):
        net.add_node("ReLU", "a")
    for bad in ("", " lead", "$meta", "x" * 101, "tab\there"):
        with pytest.raises(NetworkError, match="cannot name a node"):
            net.add_node("ReLU", bad)
    assert list(net.nodes) == ["a"]


def test_remove_drops_links_to_it_and_nothing_else(network, events):
    removed = network.remove_node("relu")
    assert removed.name == "relu" and removed.next_layers == ["flatten"]
    assert list(network.nodes) == ["conv", "flatten"]
    assert network.node("conv").next_layers == []
    assert network.node("conv").parameters["out_channels"] == 4
    assert events == [("node_removed", "relu", "")]
    network.remove_node("conv")
    assert network.first_layers == []


def test_restore_puts_a_removed_node_back_where_it_was(network):
    before = network.copy()
    inputs = network.inputs_of("relu")
    removed = network.remove_node("relu")
    network.restore_node(removed, 1, inputs, first_layer=False)
    assert network == before


def test_rename_links_follow(network, events):
    network.rename_node("conv", "stem")
    network.rename_node("relu", "act")
    assert list(network.nodes) == ["stem", "act", "flatten"]
    assert network.node("stem").next_layers == ["act"]
    assert network.first_layers == ["stem"]
    assert events[0] == ("node_renamed", "stem", "conv")
    with pytest.raises(NetworkError, match="'flatten' exists already"):
        network.rename_node("act", "flatten")
    with pytest.raises(NetworkError, match="no node named 'relu'"):
        network.rename_node("relu", "x")


def test_set_parameters_validates_and_names_the_node(network, events):
    network.set_parameters("conv", {"in_channels": 1, "out_channels": 8, "kernel_size": [3, 5]})
    assert network.node("conv").parameters["kernel_size"] == [3, 5]
    with pytest.raises(ParameterError, match="node 'conv': Conv2d parameter 'stride' must be >= 1"):
        network.set_parameters("conv", {"in_channels": 1, "out_channels": 8, "kernel_size": 3, "stride": 0})
    assert network.node("conv").parameters["out_channels"] == 8
    assert events == [("parameters_changed", "conv", "")]


def test_set_type_keeps_name_and_links(network):
    network.set_type("relu", "Tanh")
    assert network.node("relu").type == "Tanh" and network.node("relu").next_layers == ["flatten"]


def test_connect_and_disconnect(network, events):
    network.add_node("Linear", "fc", {"in_features": "auto", "out_features": 10})
    network.connect("flatten", "fc")
    assert network.inputs_of("fc") == ["flatten"]
    with pytest.raises(NetworkError, match="links to 'fc' already"):
        network.connect("flatten", "fc")
    with pytest.raises(NetworkError, match="cannot link to itself"):
        network.connect("fc", "fc")
    with pytest.raises(GraphError, match="would make a cycle: 'conv' already leads to 'fc'"):
        network.connect("fc", "conv")
    network.disconnect("flatten", "fc")
    with pytest.raises(NetworkError, match="does not link to 'fc'"):
        network.disconnect("flatten", "fc")
    assert [e[0] for e in events] == ["node_added", "link_added", "link_removed"]


def test_set_next_layers_is_all_or_nothing(network):
    network.add_node("ReLU", "other")
    with pytest.raises(GraphError):
        network.set_next_layers("relu", ["other", "conv"])
    assert network.node("relu").next_layers == ["flatten"]
    network.set_next_layers("relu", ["other"])
    assert network.node("relu").next_layers == ["other"]


def test_first_layers_keep_network_order(network):
    network.add_node("Linear", "side", {"in_features": 4, "out_features": 4})
    network.set_first_layer("side")
    assert network.first_layers == ["conv", "side"]
    network.set_first_layer("conv", False)
    assert network.first_layers == ["side"]
    network.set_first_layers(["conv"])
    assert network.first_layers == ["conv"]


def test_input_loss_optimizer(network, events):
    network.set_input([1, 28, 28])
    with pytest.raises(NetworkError, match="positive integers"):
        network.set_input([0, 28])
    with pytest.raises(NetworkError, match="dtype"):
        network.set_input([3], "complex")
    network.set_loss("CrossEntropyLoss", {"label_smoothing": 0.1})
    assert network.loss.parameters["label_smoothing"] == 0.1 and network.loss.parameters["reduction"] == "mean"
    network.set_optimizer("SGD", {"lr": 0.1})
    assert network.optimizer.type == "SGD"
    with pytest.raises(UnknownEntryError):
        network.set_optimizer("Adamm")
    with pytest.raises(ParameterError, match="'lr' must be >= 0"):
        network.set_optimizer("SGD", {"lr": -1.0})
    assert network.optimizer.parameters["lr"] == 0.1
    assert [e[0] for e in events] == ["input_changed", "loss_changed", "optimizer_changed"]


def test_unsubscribe_stops_events(network):
    seen = []
    unsubscribe = network.subscribe(seen.append)
    network.move_node("conv", (10.0, 20.0))
    unsubscribe()
    network.move_node("conv", (0.0, 0.0))
    assert len(seen) == 1 and seen[0].kind == "node_moved"


def test_topological_order_breaks_ties_by_network_order():
    net = Network()
    for name in ("c", "a", "b", "join"):
        net.add_node("ReLU" if name != "join" else "Add", name)
    net.set_first_layers(["c"])
    net.connect("c", "b")
    net.connect("c", "a")
    net.connect("a", "join")
    net.connect("b", "join")
    assert net.topological_order() == ["c", "a", "b", "join"]
    assert net.inputs_of("join") == ["a", "b"]


def messages(net):
    return [p.message for p in net.topology_problems()]


def test_topology_problems_name_the_nodes():
    net = Network()
    assert messages(net) == ["the network is empty: add a layer"]
    net.add_node("ReLU", "a")
    assert "no first layer" in messages(net)[0]
    net.set_first_layer("a")
    net.add_node("ReLU", "lonely")
    assert messages(net) == ["'lonely' is not reachable from a first layer: link a node to it"]
    net.remove_node("lonely")
    net.add_node("ReLU", "x")
    net.add_node("Tanh", "y")
    net.connect("a", "x")
    net.connect("a", "y")
    assert messages(net) == []  # two outputs: the network returns both (see test_several_inputs_and_outputs)
    assert net.outputs() == ["x", "y"]
    net.remove_node("x")
    net.remove_node("y")
    net.add_node("Add", "sum")
    net.connect("a", "sum")
    assert messages(net) == ["Add 'sum' joins 2 or more inputs but has 1: link more nodes to it"]
    net.add_node("ReLU", "b", first_layer=True)
    net.connect("b", "sum")
    assert messages(net) == []
    net.add_node("ReLU", "c")
    net.connect("sum", "c")
    net.add_node("Tanh", "d", first_layer=True)
    net.connect("d", "c")
    assert messages(net) == ["ReLU 'c' takes one input but has 2; add a merge node (Add, Concatenate) to join them"]


def test_cycles_and_dangling_links_from_files_are_reported():
    net = Network()
    net.add_node("ReLU", "a", first_layer=True, next_layers=["b"], strict=False)
    net.add_node("ReLU", "b", next_layers=["a", "ghost"], strict=False)
    found = messages(net)
    assert "'b' links to 'ghost', which does not exist" in found
    assert any("the links make a cycle: 'a' -> 'b' -> 'a'" in m for m in found)
    with pytest.raises(GraphError, match="cycle"):
        net.topological_order()


def test_parameter_problems_and_training_problems():
    net = Network()
    net.add_node("Conv1d", "legacy", {"in_channels": 0, "out_channels": 0, "kernel_size": 0}, strict=False,
                 first_layer=True)
    problems = net.parameter_problems()
    assert problems[0].node == "legacy"
    assert "node 'legacy': Conv1d parameter 'in_channels' must be >= 1, got 0" == problems[0].message
    assert [p.message for p in net.training_problems()] == [
        "no loss function: choose one in the Network tab (\"$loss\" in the network file)",
        "no optimizer: choose one in the Network tab (\"$optimizer\" in the network file)"]


def test_replace_with_and_equality(network, events):
    other = Network()
    other.add_node("ReLU", "only", first_layer=True)
    network.replace_with(other)
    assert network == other and network is not other
    assert events == [("reset", "", "")]
    assert network.copy() == network


# -- several inputs and outputs (issue 27 item 2) -------------------------------------------------
def two_input_network():
    net = Network()
    net.set_input([4], name="image")
    net.add_input("extra", [3])
    net.add_node("Linear", "a", {"in_features": 4, "out_features": 5}, first_layer=True)
    net.add_node("Linear", "b", {"in_features": 3, "out_features": 5})
    net.set_first_layer("b", True, input="extra")
    net.add_node("Add", "sum")
    net.connect("a", "sum")
    net.connect("b", "sum")
    return net


def test_several_inputs_feed_their_first_layers():
    net = two_input_network()
    assert [spec.name for spec in net.inputs] == ["image", "extra"]
    assert net.input_spec.name == "image" and net.input_spec.shape == [4]
    assert net.input_feeding("a") == "image" and net.input_feeding("b") == "extra"
    assert net.input_feeding("sum") is None
    assert net.first_layers_of("extra") == ["b"]
    assert net.problems() == []
    net.rename_input("extra", "side")
    assert net.input_feeding("b") == "side"
    copy = net.copy()
    assert copy == net and copy.input_feeding("b") == "side"
    net.set_input([6], name="side")
    assert net.inputs[1].shape == [6] and copy != net
    net.remove_input("side")
    assert net.input_names() == ["image"] and not net.is_first_layer("b")


def test_input_problems_name_the_input_or_node():
    net = two_input_network()
    with pytest.raises(NetworkError, match="an input named 'extra' exists already"):
        net.add_input("extra", [2])
    with pytest.raises(NetworkError, match="a node is named 'a'"):
        net.add_input("a", [2])
    with pytest.raises(NetworkError, match="no input named 'nope'"):
        net.set_first_layer("b", True, input="nope")
    net.add_input("unused", [2])
    assert [p.message for p in net.problems()] == [
        "the input 'unused' feeds no layer: mark the layer it goes to as a first layer fed by it, or remove the input"]
    net.remove_input("unused")
    net._first["b"] = "ghost"  # as a hand-written file can say
    ghost, unused = net.problems()
    assert ghost.node == "b" and "fed by the input 'ghost', which the network does not have" in ghost.message
    assert unused.message.startswith("the input 'extra' feeds no layer")
    net._first["b"] = "extra"
    net.rename_node("sum", "total")
    net._inputs[1].name = "total"  # an input named like a node, and two inputs of one name
    net._inputs[0].name = "total"
    found = [p.message for p in net.problems()]
    assert "two inputs are named 'total': rename one" in found
    assert "the input 'total' is named like a node: rename the input or the node" in found


def test_output_losses_have_weights_and_follow_the_node():
    net = Network()
    net.set_input([4])
    net.add_node("Linear", "trunk", {"in_features": 4, "out_features": 4}, first_layer=True)
    net.add_node("Linear", "main", {"in_features": 4, "out_features": 2})
    net.add_node("Linear", "aux", {"in_features": 4, "out_features": 2})
    net.connect("trunk", "main")
    net.connect("trunk", "aux")
    assert net.outputs() == ["main", "aux"] and net.problems() == []
    assert net.output_loss("main") is None
    net.set_loss("CrossEntropyLoss")
    net.set_output_loss("aux", "CrossEntropyLoss", {"label_smoothing": 0.1}, weight=0.3)
    assert net.output_loss("main").weight == 1.0 and net.output_loss("main").choice.type == "CrossEntropyLoss"
    assert net.output_loss("aux").weight == 0.3
    assert net.output_loss("aux").choice.parameters["label_smoothing"] == 0.1
    with pytest.raises(NetworkError, match="weight of the loss of 'aux'"):
        net.set_output_loss("aux", "MSELoss", weight=-1)
    net.rename_node("aux", "auxiliary")
    assert net.output_loss("auxiliary").weight == 0.3
    net.add_node("ReLU", "after")
    net.connect("auxiliary", "after")
    problem, = net.problems()
    assert problem.node == "auxiliary" and "has a loss of its own but is not an output" in problem.message
    net.remove_node("auxiliary")
    assert net.output_losses == {}


def test_a_first_layer_marked_before_the_input_is_named_follows_the_first_input():
    net = Network()
    net.add_node("ReLU", "a", first_layer=True)  # as importers and the editor do, before the input is set
    net.set_input([4], name="image")
    assert net.input_feeding("a") == "image" and net.problems() == []
    net.rename_input("image", "picture")
    assert net.input_feeding("a") == "picture"
    net.add_input("side", [2])
    net.add_node("ReLU", "b", first_layer="side")
    net.remove_input("picture")  # "side" is now the first input; "a" was fed by the removed one
    assert net.first_layers == ["b"] and net.input_feeding("b") == "side"

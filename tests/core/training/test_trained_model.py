"""TrainedModel.mismatch: whether an edited network is still the one the weights belong to."""
from pytorchgui import paths
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import network_format
from pytorchgui.core.training.trained_model import TrainedModel


def test_mismatch_ignores_the_canvas_and_names_weights_that_no_longer_load():
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    trained = TrainedModel("memory", network.copy(), compile_network(network), None, None, None)  # weights in memory
    network.move_node("fc1", (500.0, 20.0))
    network.set_trainable("conv1", False)
    assert trained.mismatch(network) is None
    network.set_parameters("fc3", {**network.node("fc3").parameters, "out_features": 12})
    reason = trained.mismatch(network)
    assert reason.startswith("the network has changed since memory was trained") and "fc3.weight" in reason
    network.set_parameters("fc3", {**network.node("fc3").parameters, "out_features": 10, "bias": True})
    network.set_type("relu4", "Tanh", {})
    assert "its weights still load, but into another network" in trained.mismatch(network)

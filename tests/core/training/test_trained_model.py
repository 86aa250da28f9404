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


def test_a_run_records_how_its_training_images_draw_and_the_trained_model_reads_it(tmp_path):
    import json

    import pytest
    import torch

    from pytorchgui.core.data.fit import fit_to_data
    from pytorchgui.core.data.samples import TensorDataset
    from pytorchgui.core.training.runs import RunFolderError
    from pytorchgui.core.training.trained_model import open_trained_model
    from pytorchgui.core.training.trainer import Trainer, TrainingConfig
    from tests.core.data.test_drawing import digits

    thick = TensorDataset("thick digits", "synthetic", digits(64, thick=True), torch.arange(64) % 2, ["0", "1"], "image")
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    fit_to_data(network, thick)
    Trainer(network, thick, TrainingConfig(epochs=1, batch_size=32), run_dir=tmp_path / "run").run()
    style = open_trained_model(tmp_path / "run").drawing_style
    assert style is not None and style.dark_on_light and style.extent > 0.9 and style.measured_on == 64
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["drawing_style"]["centre"] = "nowhere"
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunFolderError, match="config.json's drawing_style is damaged"):
        open_trained_model(tmp_path / "run")

"""Weight and gradient histories: recorded per epoch, kept in the run folder, drawn, and
the warnings they give on networks built to show them and on the shipped templates."""
import csv

import numpy
import pytest
import torch

from data_writers import write_series_csv
from pytorchgui import paths
from pytorchgui.core.data.data_source import builtin_pair, load_spec
from pytorchgui.core.data.fit import fit_to_data
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.network import Network
from pytorchgui.core.interop.templates import templates
from pytorchgui.core.training import histories as layer_histories
from pytorchgui.core.training import network_format
from pytorchgui.core.training.histories import BINS, layer_warnings
from pytorchgui.core.training.runs import RunFolder, RunFolderError
from pytorchgui.core.training.trainer import LayersRecordedEvent, LogEvent, Trainer, TrainingConfig


@pytest.fixture(scope="module")
def shapes():
    return builtin_pair(600, 100)


def mlp(activation: str, depth: int, width: int = 32) -> Network:
    """Flatten, then `depth` Linear layers with `activation` between them, for 10 classes."""
    network = Network()
    network.add_node("Flatten", "flatten", first_layer=True, next_layers=["linear1"])
    for index in range(1, depth + 1):
        last = index == depth
        network.add_node("Linear", f"linear{index}", {"in_features": "auto", "out_features": 10 if last else width},
                         next_layers=[] if last else [f"act{index}"])
        if not last:
            network.add_node(activation, f"act{index}", next_layers=[f"linear{index + 1}"])
    network.set_input([1, 28, 28])
    network.set_loss("CrossEntropyLoss")
    network.set_optimizer("SGD", {"lr": 0.1})
    return network


def train(network, data, tmp_path=None, **options):
    events = []
    config = TrainingConfig.from_dict({"epochs": 2, "batch_size": 32, "threads": 1, **options})
    result = Trainer(network, data, config, run_dir=tmp_path, on_event=events.append).run()
    warnings = [e.message for e in events if isinstance(e, LogEvent) and e.message.startswith("warning after epoch")]
    return result, [e for e in events if isinstance(e, LayersRecordedEvent)], warnings


@pytest.mark.layer_figure
def test_every_epoch_records_each_layer_in_fixed_bins_and_the_run_folder_keeps_them(shapes, tmp_path):
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    result, recorded, _ = train(network, shapes[0], tmp_path / "run", epochs=3)
    assert [event.epoch for event in recorded] == [1, 2, 3]
    history = recorded[-1].histories
    assert history.layers == ("conv1", "conv2", "fc1", "fc2", "fc3") and history.epochs == (1, 2, 3)
    assert history.relus == ("relu1", "relu2", "relu3", "relu4", "")
    assert recorded[0].histories.epochs == (1,)  # each event a snapshot, not the growing history
    for layer in history.layers:
        for kind in ("weights", "gradients"):
            for found in history.histograms(layer, kind):
                assert found.counts.shape == (BINS,) and found.edges.shape == (BINS + 1,)
                assert numpy.all(numpy.diff(found.edges) > 0)
        weights = history.histograms(layer, "weights")
        size = dict(compile_network(network).named_parameters())[f"{layer}.weight"].numel()
        assert all(found.counts.sum() == size for found in weights)  # every weight in a bin
        assert (history.statistic(layer, "gradient_rms") > 0).all()
    last = dict(result.model.named_parameters())["conv1.weight"].detach()
    assert history.histograms("conv1", "weights")[-1].edges[[0, -1]] == pytest.approx(
        [float(last.min()), float(last.max())], rel=1e-5)
    assert numpy.isnan(history.statistic("fc3", "dead_share")).all()  # no ReLU after the output layer
    assert ((0 <= history.statistic("fc1", "dead_share")) & (history.statistic("fc1", "dead_share") <= 1)).all()

    folder = RunFolder(tmp_path / "run")
    again = folder.read_layer_histories()
    assert again.layers == history.layers and again.epochs == history.epochs
    assert numpy.array_equal(again.weight_counts, history.weight_counts)
    assert numpy.allclose(again.gradient_edges, history.gradient_edges, equal_nan=True)
    rows = list(csv.DictReader(open(folder.file(folder.LAYER_STATISTICS))))
    assert len(rows) == 5 * 3 and {"epoch", "layer", "weight_std", "gradient_rms", "dead_share"} <= set(rows[0])
    bins = list(csv.DictReader(open(folder.file(folder.LAYER_HISTOGRAMS))))
    assert len(bins) == 5 * 3 * 2 * BINS
    assert folder.file(folder.LAYER_FIGURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_damaged_history_file_names_itself(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.read_layer_histories() is None
    folder.file(folder.LAYER_HISTORIES).write_bytes(b"not a zip")
    with pytest.raises(RunFolderError, match="layer_histories.npz is damaged"):
        folder.read_layer_histories()


def test_a_resumed_run_continues_the_history_of_its_folder(shapes, tmp_path):
    network = network_format.load(paths.example_networks_dir() / "mlp.json")
    train(network, shapes[0], tmp_path / "run", epochs=2)
    Trainer(network, shapes[0], TrainingConfig(epochs=3, batch_size=32, threads=1), run_dir=tmp_path / "run",
            resume_from=tmp_path / "run" / "checkpoint.pt").run()
    assert RunFolder(tmp_path / "run").read_layer_histories().epochs == (1, 2, 3)


def test_recording_leaves_the_run_as_it_was(shapes):
    """The recorder draws its random subsets from its own generator: the weights a run
    ends with do not depend on whether it recorded."""
    network = network_format.load(paths.example_networks_dir() / "small_cnn.json")
    fit_to_data(network, shapes[0])
    config = TrainingConfig(epochs=1, batch_size=50, threads=1)
    weights = [Trainer(network, shapes[0], config, record_layers=record).run().model.state_dict()
               for record in (True, False)]
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def test_a_deep_sigmoid_network_warns_that_its_first_layers_gradients_vanish(shapes):
    _, recorded, warnings = train(mlp("Sigmoid", 10), shapes[0])
    vanishing = {w.layer for w in recorded[-1].warnings if w.kind == "vanishing"}
    assert "linear1" in vanishing and "linear10" not in vanishing
    assert len(warnings) == 1 and "the gradients vanish in" in warnings[0] and "'linear1' (RMS" in warnings[0]
    assert "× the last layer 'linear10'" in warnings[0] and "Use ReLU" in warnings[0]


def test_a_relu_network_started_with_large_negative_biases_warns_of_dead_units(shapes, tmp_path):
    network = mlp("ReLU", 3)
    model = compile_network(network)
    with torch.no_grad():
        model.linear1.bias.fill_(-10.0)
    torch.save(model.state_dict(), tmp_path / "biased.pt")
    _, recorded, warnings = train(network, shapes[0], initial_weights=str(tmp_path / "biased.pt"))
    dead = [w for w in recorded[-1].warnings if w.kind == "dead"]
    assert [w.layer for w in dead] == ["linear1"]
    assert recorded[-1].histories.statistic("linear1", "dead_share")[-1] == 1.0
    assert any("'linear1' (Linear): most of its ReLU units are dead (100% of 'act1'" in line for line in warnings)


def _data_for(template, tmp_path):
    """Built-in data of the kind the template takes: token sequences, a series, or shapes."""
    spec = template.network.input_spec
    if spec.dtype == "int64":
        return load_spec("sequences:400", train=True)
    if len(spec.shape) == 2:
        return load_spec(f"csv:{write_series_csv(tmp_path / 'series.csv', 300)}?target=warmer&window=30&horizon=1"
                         "&task=classification", train=True)
    return builtin_pair(400, 50)[0]


@pytest.mark.parametrize("template", [t for t in templates(paths.example_networks_dir()) if t.parameters],
                         ids=lambda template: template.name)
def test_the_shipped_templates_train_without_a_warning(template, tmp_path):
    """Each with its own training options (its recipe), as the CLI and the Train tab's
    offer train it, for 2 epochs."""
    network = template.network.copy()
    data = _data_for(template, tmp_path)
    fit_to_data(network, data)
    result, recorded, warnings = train(network, data, **{"batch_size": 32, **network.recipe, "epochs": 2})
    assert result.status == "finished"
    assert recorded and warnings == [] and layer_warnings(recorded[-1].histories) == []


def test_warning_thresholds_on_a_made_up_history():
    """The thresholds themselves: four orders of magnitude, and more than 90 % dead."""
    history = layer_histories.LayerHistories(("a", "b", "c"), ("Linear",) * 3, ("", "r", ""))
    row = layer_histories.LayerEpoch
    history = history.with_epoch(1, {"a": row(gradient_rms=0.9e-4), "b": row(gradient_rms=1.1e-4, dead_share=0.9),
                                     "c": row(gradient_rms=1.0)})
    assert [(w.layer, w.kind) for w in layer_warnings(history)] == [("a", "vanishing")]
    history = history.with_epoch(2, {"a": row(gradient_rms=1.1e4), "b": row(gradient_rms=1.0, dead_share=0.91),
                                     "c": row(gradient_rms=1.0)})
    assert [(w.layer, w.kind) for w in layer_warnings(history)] == [("a", "exploding"), ("b", "dead")]
    assert layer_warnings(history, 0)[0].kind == "vanishing"


@pytest.mark.layer_figure
def test_the_command_line_run_leaves_the_histories_tables_and_figure(capsys, tmp_path):
    from pytorchgui.cli import main

    code = main(["train", str(paths.example_networks_dir() / "mlp.json"), "--data", "builtin:300", "--epochs", "2",
                 "--batch-size", "50", "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    folder = RunFolder(tmp_path / "run")
    for name in (folder.LAYER_HISTORIES, folder.LAYER_STATISTICS, folder.LAYER_HISTOGRAMS, folder.LAYER_FIGURE):
        assert folder.file(name).stat().st_size > 0, name
    assert folder.read_layer_histories().epochs == (1, 2)

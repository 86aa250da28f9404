"""The embedding view's core: the features feeding the classifier, gathered with a hook
and projected to 2-D; and `pytorchgui embed`."""
import importlib.util

import numpy
import pytest
import torch

from pytorchgui import cli, paths
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.data.samples import TensorDataset
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import embedding, network_format
from pytorchgui.core.training.embedding import EmbeddingError, Projecting, embed, gather_features, project
from pytorchgui.core.training.tasks import Cancelled, Progress, TaskControl
from pytorchgui.core.training.trained_model import TrainedModel


@pytest.fixture(scope="module")
def shapes():
    return builtin_pair(200, 300)[1]


@pytest.fixture(scope="module")
def lenet(shapes):
    torch.manual_seed(0)
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    return TrainedModel("lenet", network, compile_network(network), None, shapes.normalization, shapes.classes)


def normalised(dataset, indices):
    mean = torch.tensor(dataset.normalization.mean).reshape(1, -1, 1, 1)
    std = torch.tensor(dataset.normalization.std).reshape(1, -1, 1, 1)
    return (dataset.inputs[indices].float() / 255 - mean) / std


def test_the_features_are_the_input_of_the_last_linear_as_computed_by_hand(shapes, lenet):
    events = []
    features = gather_features(lenet, shapes, samples=120, batch_size=50, control=TaskControl(events.append))
    assert features.node == "fc3" and features.node_input
    assert len(features.indices) == 120 and bool((features.indices.diff() > 0).all())
    assert features.indices.max() < 300 and len(set(features.indices.tolist())) == 120  # a subset of the 300
    model = lenet.model
    with torch.no_grad():
        hidden = normalised(shapes, features.indices)
        for name in ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2", "relu4"]:
            hidden = getattr(model, name)(hidden)
        logits = model.fc3(hidden)
    assert features.values.shape == (120, 84)
    torch.testing.assert_close(features.values, hidden, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(features.outputs, logits, rtol=1e-5, atol=1e-5)
    assert [event for event in events if isinstance(event, Progress)][-1] == Progress(3, 3)
    again = gather_features(lenet, shapes, samples=120)
    assert torch.equal(again.indices, features.indices)  # a fixed subset


def test_pca_places_every_sample_and_keeps_its_classes(shapes, lenet):
    events = []
    result = embed(lenet, shapes, method="pca", control=TaskControl(events.append))
    assert result.points.shape == (300, 2) and result.points.dtype == numpy.float32
    assert numpy.isfinite(result.points).all() and result.points.std(0).min() > 0
    assert numpy.array_equal(result.indices, numpy.arange(300))
    assert numpy.array_equal(result.targets, shapes.targets.numpy())
    assert result.predictions.shape == (300,) and result.predictions.max() < 10
    assert result.classes == shapes.classes and result.features == 84 and result.method == "pca"
    assert result.title() == "PCA of the input of fc3 (84 values per sample), 300 samples of Shapes (test)"
    assert Projecting("PCA", 300, 84) in events


def test_tsne_on_small_data(shapes, lenet):
    result = embed(lenet, shapes, method="tsne", samples=60)
    assert result.points.shape == (60, 2) and numpy.isfinite(result.points).all()
    assert result.method == "tsne" and result.title().startswith("t-SNE of the input of fc3")


@pytest.mark.skipif(importlib.util.find_spec("umap") is None, reason="umap-learn (the embedding extra) is missing")
def test_umap_on_small_data(shapes, lenet):
    result = embed(lenet, shapes, method="umap", samples=80)
    assert result.points.shape == (80, 2) and numpy.isfinite(result.points).all()


def test_without_umap_learn_the_message_says_what_to_install(shapes, lenet, monkeypatch):
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "umap" else found(name, *a))
    assert "pip install pytorchgui[embedding]" in embedding.umap_problem()
    with pytest.raises(EmbeddingError, match=r"umap-learn.*pip install pytorchgui\[embedding\]"):
        embed(lenet, shapes, method="umap", samples=50)


def test_a_chosen_node_gives_its_output_flattened(shapes, lenet):
    features = gather_features(lenet, shapes, "pool2", samples=40)
    assert features.node == "pool2" and not features.node_input and features.values.shape == (40, 16 * 5 * 5)
    with torch.no_grad():
        hidden = normalised(shapes, features.indices)
        for name in ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]:
            hidden = getattr(lenet.model, name)(hidden)
    torch.testing.assert_close(features.values, hidden.flatten(1), rtol=1e-5, atol=1e-5)
    result = embed(lenet, shapes, "fc3", samples=40)  # the last Linear named: its output, the class scores
    assert result.features == 10 and result.source == "the output of fc3"


def test_a_node_that_is_not_in_the_network_is_refused_with_the_ones_there_are(shapes, lenet):
    with pytest.raises(EmbeddingError, match=r"no node 'fc9': choose one of conv1, relu1, .*fc3"):
        embed(lenet, shapes, "fc9")


def test_features_too_large_for_memory_name_the_node_and_how_many_samples_fit(shapes, lenet, monkeypatch):
    monkeypatch.setattr(embedding, "FEATURE_BYTES_LIMIT", 100 * 4704 * 4)
    with pytest.raises(EmbeddingError, match=r"relu1 gives 4,704 values per sample: 300 samples .*at most 100"):
        embed(lenet, shapes, "relu1")


def test_stop_ends_the_gathering(shapes, lenet):
    control = TaskControl()
    control.stop()
    with pytest.raises(Cancelled):
        embed(lenet, shapes, control=control)


def test_a_network_without_a_linear_node_asks_for_a_node(shapes):
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    model = compile_network(network)
    model.fc1, model.fc2, model.fc3 = torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity()
    trained = TrainedModel("no linear", network, model, None, None, None)
    with pytest.raises(EmbeddingError, match="no Linear node"):
        gather_features(trained, shapes)


def test_a_regression_keeps_true_and_predicted_values():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(80, 4, generator=generator)
    data = TensorDataset("table", "generated", inputs, inputs.sum(1, keepdim=True), None, "table")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    graph = torch.fx.symbolic_trace(model)
    network = network_format.load(paths.example_networks_dir() / "mlp.json")
    trained = TrainedModel("mlp", network, graph, None, None, None)
    trained.check_data = lambda dataset: None  # a hand-made model: nothing recorded to check against
    result = embed(trained, data, method="pca")
    assert result.is_regression and result.node == "2" and result.features == 8
    numpy.testing.assert_allclose(result.targets, inputs.sum(1).numpy(), rtol=1e-6)
    mean, std = (torch.tensor(values) for values in (data.normalization.mean, data.normalization.std))
    with torch.no_grad():  # weights without recorded statistics: the data are normalised by their own
        expected = model((inputs - mean) / std)[:, 0].numpy()
    numpy.testing.assert_allclose(result.predictions, expected, rtol=1e-5, atol=1e-6)


def test_project_refuses_too_few_samples_and_unknown_methods():
    with pytest.raises(EmbeddingError, match="give at least 3"):
        project(numpy.zeros((2, 5)), "pca")
    with pytest.raises(EmbeddingError, match="'mds' is not a projection"):
        project(numpy.zeros((9, 5)), "mds")
    assert project(numpy.arange(10.0)[:, None], "pca").shape == (10, 2)  # one feature still gives 2-D points


# -- the command line ------------------------------------------------------------------------
@pytest.fixture
def weights(tmp_path, lenet):
    path = tmp_path / "weights.pt"
    torch.save(lenet.model.state_dict(), path)
    return path


def test_the_command_line_writes_a_png_and_a_csv(tmp_path, weights, capsys):
    network = str(paths.example_networks_dir() / "lenet5.json")
    common = [network, "--weights", str(weights), "--data", "builtin:300", "--test-mode", "--samples", "120"]
    assert cli.main(["embed", *common, "-o", str(tmp_path / "points.png")]) == 0
    assert (tmp_path / "points.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "PCA of the input of fc3" in capsys.readouterr().err
    assert cli.main(["embed", *common, "--method", "tsne", "--node", "fc2", "-o", str(tmp_path / "points.csv")]) == 0
    lines = (tmp_path / "points.csv").read_text().splitlines()
    assert lines[0] == "index,x,y,true,predicted" and len(lines) == 121
    index, x, y, true, predicted = lines[1].split(",")
    assert int(index) >= 0 and float(x) == float(x) and true.strip('"') in builtin_pair(10, 10)[1].classes
    assert "projecting 120 samples of 84 values with t-SNE" in capsys.readouterr().err


def test_the_command_line_names_a_bad_node_and_a_bad_output(tmp_path, weights, capsys):
    network = str(paths.example_networks_dir() / "lenet5.json")
    common = [network, "--weights", str(weights), "--data", "builtin:100", "--test-mode"]
    assert cli.main(["embed", *common, "--node", "fc9", "-o", str(tmp_path / "p.png")]) == 2
    assert "pytorchgui embed: the network has no node 'fc9': choose one of conv1" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()
    assert cli.main(["embed", *common, "-o", str(tmp_path / "p.svg")]) == 2
    assert "give a .png" in capsys.readouterr().err

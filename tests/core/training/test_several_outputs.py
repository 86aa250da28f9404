"""Training and evaluating networks with several inputs and outputs (issue 27 item 2):
data by input name, a weighted loss per output, accuracy on a chosen output."""
import json

import numpy
import pytest
import torch

from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.data.named_inputs import input_columns, load_for_network, read_named_csv, read_named_npz
from pytorchgui.core.errors import DatasetError, TrainingError
from pytorchgui.core.graph.network import Network
from pytorchgui.core.training import network_format
from pytorchgui.core.training.losses import make_loss
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.trainer import Trainer
from tests.data_writers import write_two_input_npz

AUXILIARY = paths.example_networks_dir() / "auxiliary_head_cnn.json"


def two_input_classifier() -> Network:
    """image [1, 6, 6] and metadata [3] -> joined -> two heads of 2 classes."""
    net = Network()
    net.set_input([1, 6, 6], name="image")
    net.add_input("metadata", [3])
    net.add_node("Flatten", "flat", first_layer=True)
    net.add_node("Linear", "side", {"in_features": 3, "out_features": 8}, first_layer="metadata")
    net.add_node("Concatenate", "join")
    net.add_node("Linear", "main", {"in_features": 44, "out_features": 2})
    net.add_node("Linear", "aux", {"in_features": 44, "out_features": 2})
    for source, target in (("flat", "join"), ("side", "join"), ("join", "main"), ("join", "aux")):
        net.connect(source, target)
    net.set_loss("CrossEntropyLoss")
    net.set_output_loss("aux", "CrossEntropyLoss", weight=0.3)
    net.set_optimizer("Adam", {"lr": 0.01})
    return net


def config(**changes):
    return TrainingConfig(**{"epochs": 2, "batch_size": 32, "seed": 0, "threads": 1, **changes})


def test_the_total_loss_is_the_weighted_sum_of_each_outputs(tmp_path):
    data = read_named_npz(write_two_input_npz(tmp_path / "d.npz"), ["image", "metadata"], ["main", "aux"])
    loss = make_loss(two_input_classifier(), data)
    main_output, aux_output = torch.randn(4, 2), torch.randn(4, 2)
    targets = torch.tensor([0, 1, 1, 0])
    total = loss((main_output, aux_output), targets)
    cross_entropy = torch.nn.functional.cross_entropy
    torch.testing.assert_close(total, cross_entropy(main_output, targets) + 0.3 * cross_entropy(aux_output, targets))
    torch.testing.assert_close(loss.parts, torch.stack([cross_entropy(main_output, targets),
                                                        cross_entropy(aux_output, targets)]))
    assert loss.scored((main_output, aux_output), targets)[0] is main_output
    assert make_loss(two_input_classifier(), data, output="aux").scored((main_output, aux_output), targets)[0] \
        is aux_output
    with pytest.raises(TrainingError, match="'nope' is not an output of the network; its outputs are main, aux"):
        make_loss(two_input_classifier(), data, output="nope")


def test_two_inputs_train_from_an_npz_by_name_and_record_each_outputs_loss(tmp_path):
    path = write_two_input_npz(tmp_path / "d.npz")
    network = two_input_classifier()
    data = load_for_network(str(path), network)
    assert list(data.inputs) == ["image", "metadata"] and data.input_shapes["metadata"] == [3]
    logged = []
    result = Trainer(network, data, config(), validation_set=data, run_dir=tmp_path / "run",
                     on_event=lambda event: logged.append(getattr(event, "message", "")), record_layers=False,
                     measured_output="aux").run()
    last = result.history[-1]
    assert last["validation_accuracy"] > 0.8  # the metadata tells the class
    assert last["train_loss"] == pytest.approx(last["train_loss.main"] + 0.3 * last["train_loss.aux"], rel=1e-6)
    assert last["validation_loss"] == pytest.approx(last["validation_loss.main"] + 0.3 * last["validation_loss.aux"],
                                                    rel=1e-6)
    assert any(line.startswith("epoch 2, train loss per output: main ") and "aux" in line for line in logged)
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert header.endswith("seconds,train_loss.main,train_loss.aux,validation_loss.main,validation_loss.aux")


def test_targets_per_output_come_from_arrays_named_after_the_outputs(tmp_path):
    rng = numpy.random.default_rng(1)
    aux = rng.integers(0, 2, 96)
    path = write_two_input_npz(tmp_path / "d.npz", aux=aux)
    data = read_named_npz(path, ["image", "metadata"], ["main", "aux"])
    assert torch.equal(data.for_output("aux").targets, torch.from_numpy(aux))
    assert torch.equal(data.for_output("main").targets, data.targets)  # y serves the output without its own
    batch = data.batch_targets(["main", "aux"], torch.tensor([0, 1]), "cpu")
    assert isinstance(batch, tuple) and torch.equal(batch[1], torch.from_numpy(aux[:2]))


def test_bad_data_names_the_input_and_what_to_do(tmp_path):
    path = tmp_path / "missing.npz"
    numpy.savez(path, image=numpy.zeros((4, 1, 6, 6), "float32"), y=numpy.zeros(4, "int64"))
    with pytest.raises(DatasetError, match=r"has no array for the input 'metadata'; it has image \[4, 1, 6, 6\], "
                                           r"y \[4\]\. Save one array per network input, named after it"):
        read_named_npz(path, ["image", "metadata"], ["main", "aux"])
    numpy.savez(path, image=numpy.zeros((4, 1, 6, 6), "float32"), metadata=numpy.zeros((4, 3), "float32"))
    with pytest.raises(DatasetError, match="no targets for the output 'main': add an array named 'y'"):
        read_named_npz(path, ["image", "metadata"], ["main", "aux"])
    numpy.savez(path, image=numpy.zeros((8, 1, 6, 6), "float32"), metadata=numpy.zeros((8, 5), "float32"),
                y=numpy.arange(8) % 2)
    data = read_named_npz(path, ["image", "metadata"], ["main", "aux"])
    with pytest.raises(TrainingError, match=r"input 'metadata' takes samples of shape \[3\] but missing.npz gives "
                                            r"\[5\]: set the input's shape to \[5\]"):
        Trainer(two_input_classifier(), data, config(epochs=1), record_layers=False).run()


def test_csv_columns_give_each_inputs_values_by_prefix(tmp_path):
    assert input_columns(["a.10", "a.2", "b", "a.0", "ab.1"], "a") == ["a.0", "a.2", "a.10"]
    assert input_columns(["a.0", "b"], "b") == ["b"] and input_columns(["a.0"], "c") == []
    path = tmp_path / "t.csv"
    path.write_text("left.0,left.1,right,label\n1,2,3,a\n4,5,6,b\n7,8,9,a\n")
    data = read_named_csv(path, ["left", "right"], "label")
    assert data.inputs["left"].tolist() == [[1, 2], [4, 5], [7, 8]] and data.inputs["right"].shape == (3, 1)
    assert data.classes == ["a", "b"] and data.targets.tolist() == [0, 1, 0]
    with pytest.raises(DatasetError, match="has no column for the input 'middle': name its columns middle.0"):
        read_named_csv(path, ["middle"], "label")


def test_the_auxiliary_head_template_trains_evaluates_and_exports_from_the_cli(tmp_path, capsys):
    network = network_format.load(AUXILIARY)
    assert network.outputs() == ["classifier", "aux"] and network.output_loss("aux").weight == 0.3
    assert main(["validate", str(AUXILIARY)]) == 0
    assert "parameters, outputs classifier [10], aux [10]" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["train", str(AUXILIARY), "--data", "builtin:256", "--epochs", "1", "--batch-size", "64",
                 "--threads", "1", "--out", str(run), "--quiet"]) == 0
    epoch = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {"train_loss.classifier", "train_loss.aux"} <= set(epoch)
    assert main(["evaluate", str(run), "--data", "builtin:64", "--test-mode", "--json", "--no-curves",
                 "--output", "aux"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["samples"] == 64
    assert main(["evaluate", str(run), "--data", "builtin:64", "--output", "nope", "--no-curves"]) == 2
    assert "'nope' is not an output" in capsys.readouterr().err
    assert main(["export", str(run), "--format", "python", "-o", str(tmp_path / "net.py")]) == 0
    assert "return (classifier, aux)" in (tmp_path / "net.py").read_text()


def test_the_cli_names_the_missing_array_and_the_wrong_shape(tmp_path, capsys):
    network_format.save(two_input_classifier(), tmp_path / "net.json")
    numpy.savez(tmp_path / "missing.npz", image=numpy.zeros((4, 1, 6, 6), "float32"), y=numpy.zeros(4, "int64"))
    arguments = ["train", str(tmp_path / "net.json"), "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"]
    assert main([*arguments, "--data", str(tmp_path / "missing.npz")]) == 2
    assert "has no array for the input 'metadata'" in capsys.readouterr().err
    numpy.savez(tmp_path / "wide.npz", image=numpy.zeros((4, 1, 6, 6), "float32"),
                metadata=numpy.zeros((4, 5), "float32"), y=numpy.arange(4) % 2)
    assert main([*arguments, "--data", str(tmp_path / "wide.npz")]) == 2
    assert "input 'metadata' takes samples of shape [3] but wide.npz gives [5]" in capsys.readouterr().err
    assert main([*arguments, "--data", f"csv:{tmp_path / 'nothing.csv'}?target=label"]) == 2
    assert "nothing.csv does not exist" in capsys.readouterr().err


def test_the_template_chooser_shows_each_outputs_shape():
    from pytorchgui.core.interop.templates import templates

    auxiliary, = [template for template in templates(paths.example_networks_dir())
                  if template.name == "auxiliary_head_cnn"]
    assert auxiliary.summary().endswith("input [1, 28, 28] → [10], [10]")

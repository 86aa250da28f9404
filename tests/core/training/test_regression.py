"""Regression as a new user meets it (issue 29): the MLP template fitted to a table with a
numeric target of 25 to 346 must get a loss for values, train without diverging, and be
measured, exported and predicted in the target's own units."""
import importlib.util
import json

import pytest
import torch

from data_writers import write_regression_csv
from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.data.data_source import load_spec
from pytorchgui.core.data.fit import fit_to_data, unfit_reason
from pytorchgui.core.training import network_format
from pytorchgui.core.training.metrics import evaluate, regression_metrics
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.runs import RunFolder
from pytorchgui.core.training.trained_model import open_trained_model
from pytorchgui.core.training.trainer import Trainer

MLP = paths.example_networks_dir() / "mlp.json"


@pytest.fixture
def table(tmp_path):
    return load_spec(f"csv:{write_regression_csv(tmp_path / 'diabetes.csv')}?target=target")


def test_fitting_the_template_to_a_regression_table_sets_a_loss_for_values_and_says_why(table):
    network = network_format.load(MLP)
    assert network.loss.type == "CrossEntropyLoss" and network.optimizer.type == "SGD" and table.classes is None
    changes = fit_to_data(network, table)
    assert network.loss.type == "MSELoss"
    [said] = [change for change in changes if change.startswith("loss")]
    assert "CrossEntropyLoss -> MSELoss" in said and "numeric target" in said and "class labels" in said
    # SGD at the template's 0.05 diverges on a squared error over 800 hidden units, standardised or not
    assert network.optimizer.type == "Adam" and network.optimizer.parameters["lr"] == 0.001
    assert any(change.startswith("optimizer SGD (lr 0.05) -> Adam (lr 0.001)") for change in changes)
    assert not [change for change in fit_to_data(network, table) if change.startswith("loss")]  # once is enough
    network.set_loss("HuberLoss")  # a loss for values the user chose is kept
    assert not [change for change in fit_to_data(network, table) if change.startswith("loss")]


def test_the_template_trains_on_unscaled_targets_and_the_run_keeps_their_statistics(table, tmp_path):
    network = network_format.load(MLP)  # as it came, SGD at lr 0.05 diverged at the 4th batch
    fit_to_data(network, table)
    train, validation = table.split(20, seed=0)
    result = Trainer(network, train, TrainingConfig(epochs=8, batch_size=32), validation_set=validation,
                     run_dir=tmp_path / "run").run()
    assert result.status == "finished"
    losses = [row["validation_loss"] for row in result.history]
    assert max(losses) < 1.5 and losses[-1] < 0.6  # in standard deviations: predicting the mean scores 1
    targets = table.targets.double()  # the training set's, shared by its parts as the input statistics are
    recorded = RunFolder(tmp_path / "run").target_normalization()
    assert recorded.mean == pytest.approx([float(targets.mean())])
    assert recorded.std == pytest.approx([float(targets.std(unbiased=False))])
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["validation_split"] == {"whole": "diabetes.csv", "samples": 442, "percent": 20.0, "seed": 0}

    trained = open_trained_model(tmp_path / "run")
    measured = evaluate(trained.model, validation, trained.normalization,
                        target_normalization=trained.target_normalization)
    assert measured.outputs.shape == (len(validation), 1)
    assert 25 <= float(measured.outputs.mean()) <= 346  # predictions in the target's own units
    assert (measured.mse, measured.mae, measured.r2) == pytest.approx(
        regression_metrics(measured.outputs, validation.targets))
    assert measured.r2 > 0.3 and measured.mse > 100  # an error of points, not of standard deviations


def test_without_standardising_the_same_run_stays_near_zero(table):
    """Targets of 25 to 346 and an output layer that starts near 0: in the same 8 epochs
    the run without standardising is still far from the targets."""
    network = network_format.load(MLP)
    fit_to_data(network, table)
    train, validation = table.split(20, seed=0)
    r2 = {}
    for standardize in (True, False):
        config = TrainingConfig(epochs=8, batch_size=32, standardize_targets=standardize)
        result = Trainer(network, train, config, validation_set=validation).run()
        measured = evaluate(result.model, validation, result.normalization,
                            target_normalization=result.target_normalization)
        r2[standardize] = measured.r2
    assert r2[True] > 0.3 and r2[False] < 0


def test_evaluate_export_and_predict_in_the_targets_units(table, tmp_path, capsys):
    csv = tmp_path / "diabetes.csv"
    out = tmp_path / "run"
    assert main(["train", str(MLP), "--fit", "--data", f"csv:{csv}?target=target", "--val-split", "20",
                 "--epochs", "4", "--batch-size", "32", "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "fit: loss CrossEntropyLoss -> MSELoss" in err and "standardised" in err
    trained = open_trained_model(out)
    _, validation = table.split(20, seed=0)
    assert main(["evaluate", str(out), "--data", f"csv:{csv}?target=target", "--part", "validation",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    expected = evaluate(trained.model, validation, trained.normalization,
                        target_normalization=trained.target_normalization)
    assert summary["samples"] == len(validation) == 88
    assert summary["mse"] == pytest.approx(expected.mse) and summary["r2"] == pytest.approx(expected.r2)
    assert "note:" not in capsys.readouterr().err
    # every row, the training ones too: said, since the figures are then better than the validation's
    assert main(["evaluate", str(out), "--data", f"csv:{csv}?target=target", "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["summary"]["samples"] == len(table)
    assert ("trained on 80 % of diabetes.csv and validated on the rest; every row is measured here: --part "
            "validation measures only") in printed.err

    assert main(["export", str(out), "--format", "python", "-o", str(tmp_path / "net.py")]) == 0
    spec = importlib.util.spec_from_file_location("exported_regression", tmp_path / "net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.Network()
    exported.load_state_dict(torch.load(trained.weights, weights_only=True), strict=False)
    raw = validation.inputs[:5]
    with torch.no_grad():
        predicted = exported.eval()(raw)
    assert predicted.flatten().tolist() == pytest.approx(expected.outputs[:5].flatten().tolist(), abs=1e-3)  # units


def test_a_convolutional_network_fitted_to_a_table_says_it_still_cannot_take_it_and_what_to_start_from(table):
    lenet = network_format.load(paths.example_networks_dir() / "lenet5.json")
    fit_to_data(lenet, table)  # sets conv1's in_channels to the 10 columns: still not a network for a table
    reason = unfit_reason(lenet, table)
    assert "cannot take a table's columns (Conv2d 'conv1' expects input of shape [channels, height, width]" in reason
    assert "mlp" in reason and ".." not in reason
    mlp = network_format.load(MLP)
    fit_to_data(mlp, table)
    assert unfit_reason(mlp, table) == ""


def test_train_fit_says_on_stderr_when_the_network_still_does_not_fit(table, tmp_path, capsys):
    csv = tmp_path / "diabetes.csv"
    code = main(["train", str(paths.example_networks_dir() / "lenet5.json"), "--data", f"csv:{csv}?target=target",
                 "--fit", "--epochs", "1", "--out", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code != 0
    assert "fit: the network still does not fit diabetes.csv: its layers cannot take a table's columns" in error

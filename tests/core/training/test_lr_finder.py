"""The learning-rate range test, in core and on the command line."""
import json
import math

import pytest
import torch

from pytorchgui import cli, paths
from pytorchgui.core.training import network_format
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.data.datasets import TensorDataset
from pytorchgui.core.errors import TrainingError
from pytorchgui.core.training.lr_finder import find_learning_rate, suggest


@pytest.fixture(scope="module")
def shapes():
    return builtin_pair(1500, 100)[0]


def lenet():
    return network_format.load(paths.example_networks_dir() / "lenet5.json")


def test_the_range_test_suggests_where_the_loss_falls_fastest_and_leaves_the_network_alone(shapes):
    network = lenet()
    before = network_format.dumps(network)
    seen = []
    curve = find_learning_rate(network, shapes, batch_size=32, on_step=lambda step, rate, loss: seen.append(rate))
    assert network_format.dumps(network) == before
    assert len(curve.learning_rates) == len(curve.losses) == len(curve.smoothed) == len(seen) >= 50
    assert curve.learning_rates[0] == pytest.approx(1e-7)
    assert all(b > a for a, b in zip(curve.learning_rates, curve.learning_rates[1:]))
    # Adam on LeNet-5: the loss falls between 1e-4 and 1e-1 and blows up beyond 1
    assert 1e-4 <= curve.suggested_lr <= 1e-1
    lowest = curve.learning_rates[curve.smoothed.index(min(curve.smoothed))]
    assert curve.suggested_lr < lowest
    again = find_learning_rate(lenet(), shapes, batch_size=32)
    assert again.losses == curve.losses  # seeded: the same curve twice


def test_suggest_takes_the_steepest_descent_before_the_lowest_point():
    rates = [10 ** (k / 2) for k in range(-10, 1)]
    smoothed = [2.3, 2.3, 2.29, 2.2, 1.6, 1.2, 1.1, 1.05, 1.5, 4.0, 9.0]
    assert suggest(rates, smoothed) == rates[4]  # 2.2 -> 1.2 across it: the steepest fall
    assert suggest(rates, [2.0] * 11) is None or suggest(rates, [2.0] * 11) in rates
    assert suggest(rates[:3], [3.0, 2.0, 1.0]) is None  # too few points before the lowest


def test_a_loss_that_is_nan_from_the_first_batch_suggests_nothing():
    inputs = torch.full((64, 4), float("nan"))
    data = TensorDataset("nan", "test", inputs, torch.zeros(64, dtype=torch.long), ["a", "b"], "table")
    network = network_format.loads(json.dumps({
        "$format": "pytorchgui.network", "$version": 2, "$input": {"shape": [4]}, "$loss": {"type": "CrossEntropyLoss", "parameters": {}},
        "$optimizer": {"type": "SGD", "parameters": {"lr": 0.1}},
        "fc": {"type": "Linear", "parameters": {"in_features": 4, "out_features": 2}, "firstLayer": True}}))
    curve = find_learning_rate(network, data)
    assert curve.suggested_lr is None and curve.losses == []
    assert "not a number from the first batch" in curve.message


def test_a_network_without_an_optimizer_or_that_does_not_fit_is_refused(shapes):
    network = lenet()
    network.set_optimizer(None)
    with pytest.raises(TrainingError, match="no optimizer"):
        find_learning_rate(network, shapes)
    network = lenet()
    network.set_input([3, 32, 32])
    with pytest.raises(TrainingError, match=r"takes input of shape \[3, 32, 32\] but .* \[1, 28, 28\]: fit"):
        find_learning_rate(network, shapes)
    network = lenet()
    network.set_parameters("fc1", {"in_features": 7, "out_features": 120})
    with pytest.raises(TrainingError, match="does not compile: Linear 'fc1' expects 7"):
        find_learning_rate(network, shapes)


def test_the_command_line_prints_the_curve_as_json(capsys):
    code = cli.main(["lr-find", str(paths.example_networks_dir() / "lenet5.json"), "--data", "builtin:800",
                     "--steps", "40", "--batch-size", "32"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["learning_rates"]) == len(result["losses"]) == 40
    assert result["suggested_lr"] is None or math.isfinite(result["suggested_lr"])
    assert cli.main(["lr-find", str(paths.example_networks_dir() / "lenet5.json"), "--data", "builtin:100",
                     "--start-lr", "1", "--end-lr", "0.5"]) == cli.USER_ERROR

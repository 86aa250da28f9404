"""The memory estimate of a training step, made on the meta device."""
import json

import pytest

from pytorchgui import cli, paths
from pytorchgui.core.training import network_format
from pytorchgui.core.errors import TrainingError
from pytorchgui.core.training.memory import (ALLOCATOR_RETENTION, LSTM_WORKSPACE_EXTRA, describe, estimate_training_memory,
                                     optimizer_state_per_value, size)


def example(name):
    return network_format.load(paths.example_networks_dir() / f"{name}.json")


@pytest.mark.parametrize("optimizer, parameters, per_value", [
    ("Adam", {}, 2.0), ("SGD", {"lr": 0.1}, 0.0), ("SGD", {"lr": 0.1, "momentum": 0.9}, 1.0),
    ("RMSprop", {"centered": True}, 2.0), ("Adam", {"amsgrad": True}, 3.0)])
def test_optimizer_state_is_measured_for_its_settings(optimizer, parameters, per_value):
    network = example("lenet5")
    network.set_optimizer(optimizer, parameters)
    assert optimizer_state_per_value(network) == per_value


def test_lenet5_parameters_gradients_state_and_an_activation_peak_that_grows_with_the_batch():
    network = example("lenet5")  # 61,706 parameters, Adam
    small, large = (estimate_training_memory(network, batch) for batch in (64, 512))
    assert small.parameters == small.gradients == 61_706 * 4 and small.optimizer_state == 2 * 61_706 * 4
    assert small.batch == 64 * 28 * 28 * 4 and large.batch == 8 * small.batch
    # conv1's output alone is 6x28x28 floats a sample, kept by its ReLU: the peak holds at least that
    assert small.activations >= 64 * 6 * 28 * 28 * 4
    assert large.activations == pytest.approx(8 * small.activations, rel=0.1)
    assert estimate_training_memory(network, 512, bf16=True).activations == pytest.approx(large.activations / 2, abs=8)


def test_the_largest_batch_that_fits_is_read_from_one_estimate():
    estimate = estimate_training_memory(example("small_cnn"), 128)
    available = 300 * 1024**2
    fits = estimate.largest_batch(available)
    assert estimate_training_memory(example("small_cnn"), fits).total <= available * 1.02
    assert estimate_training_memory(example("small_cnn"), int(fits * 1.1)).total > available
    assert estimate.largest_batch(estimate.fixed // 2) == 0
    sentence = describe(estimate, "cuda:0", (available, 8 * 1024**3))
    assert sentence.startswith(f"needs about {estimate.total / 1024**2:.1f} MB of 300.0 MB free on GPU 0; the largest "
                               "batch that fits is about")


def test_a_network_with_problems_has_no_estimate_and_says_which_node():
    network = example("lenet5")
    network.set_parameters("fc1", {"in_features": 7, "out_features": 120})
    with pytest.raises(TrainingError, match="no memory estimate: Linear 'fc1' expects 7 input features"):
        estimate_training_memory(network, 64)


def test_the_command_line_prints_the_estimate_as_json(capsys):
    assert cli.main(["estimate", str(paths.example_networks_dir() / "lenet5.json"), "--batch-size", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["batch_size"] == 64 and report["total"] == estimate_training_memory(example("lenet5"), 64).total
    assert report["fits"] is True and report["largest_batch"] > 1000 and "needs about" in report["summary"]
    assert cli.main(["estimate", str(paths.example_networks_dir() / "legacy_example.json")]) == cli.USER_ERROR
    assert "no memory estimate: node 'Layer 1'" in capsys.readouterr().err


def test_on_the_cpu_the_layout_decides_the_onednn_copy_and_the_allocator_keeps_a_share_of_the_batch_bytes():
    network = example("lenet5")
    channels_last = estimate_training_memory(network, 64)  # the training default
    contiguous = estimate_training_memory(network, 64, channels_last=False)
    gpu = estimate_training_memory(network, 64, device="cuda:0")
    assert channels_last.library_workspace == 0
    # contiguous: conv1's 6 output channels padded to 16, at 28x28
    assert contiguous.library_workspace == 64 * 4 * 16 * 28 * 28
    batch_bytes = channels_last.activations + channels_last.batch
    assert channels_last.allocator_retention == int(ALLOCATOR_RETENTION * batch_bytes)
    # the copy is made in the memory the allocator keeps: the larger of the two is added, not both
    assert contiguous.total - contiguous.fixed == batch_bytes + max(channels_last.allocator_retention,
                                                                    contiguous.library_workspace)
    assert gpu.library_workspace == gpu.allocator_retention == 0 and gpu.total == gpu.fixed + batch_bytes
    assert estimate_training_memory(example("mlp"), 64, channels_last=False).library_workspace == 0  # no convolution


def test_lbfgs_trains_contiguous_so_its_estimate_has_the_copy_whatever_the_option():
    network = example("lenet5")
    network.set_optimizer("LBFGS", {"lr": 1.0})
    assert estimate_training_memory(network, 64, channels_last=True).library_workspace == 64 * 4 * 16 * 28 * 28


def test_the_command_line_estimates_in_the_layout_training_uses(capsys):
    path = str(paths.example_networks_dir() / "lenet5.json")
    assert cli.main(["estimate", path, "--batch-size", "64"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert cli.main(["estimate", path, "--batch-size", "64", "--no-channels-last"]) == 0
    contiguous = json.loads(capsys.readouterr().out)
    assert default["channels_last"] is True and default["library_workspace"] == 0
    assert contiguous["channels_last"] is False and contiguous["library_workspace"] == 64 * 4 * 16 * 28 * 28
    assert cli.main(["estimate", str(paths.example_networks_dir() / "lstm_sequences.json")]) == 0
    assert json.loads(capsys.readouterr().out)["channels_last"] is False  # token ids have no such layout


def test_a_training_lstm_on_the_cpu_adds_the_workspace_of_onednns_kernel():
    network = example("lstm_sequences")  # 16 token steps, hidden_size 64, one layer, one direction
    cpu = estimate_training_memory(network, 256)
    assert cpu.library_workspace == LSTM_WORKSPACE_EXTRA * 16 * 64 * 256
    assert estimate_training_memory(network, 256, device="cuda:0").library_workspace == 0
    network.set_parameters("lstm", {**network.nodes["lstm"].parameters, "num_layers": 2, "bidirectional": True})
    assert estimate_training_memory(network, 256).library_workspace == 4 * cpu.library_workspace


def test_on_a_gpu_the_data_sets_moved_there_count_against_its_free_memory():
    from pytorchgui.core.data import datasets
    from pytorchgui.core.training.memory import data_moved_to, does_not_fit

    train, test = datasets.make_builtin(600), datasets.make_builtin(100)
    assert data_moved_to("cpu", train, test) == 0  # in RAM already: counted out of the free memory
    assert data_moved_to("cuda:0", train, None) == train.memory_bytes
    assert data_moved_to("cuda:1", train, test) == train.memory_bytes + test.memory_bytes
    estimate = estimate_training_memory(example("lenet5"), 64, device="cuda:0")
    free = estimate.total + 1000
    assert does_not_fit(estimate, (free, free), "cuda:0") is None
    data = estimate.total // 2
    problem = does_not_fit(estimate, (free, free), "cuda:1", data)
    assert problem.startswith(f"a step at batch size 64 needs about {size(estimate.total)} beside the data sets moved "
                              f"there ({size(data)}) but GPU 1 has {size(free)} free: choose a batch size of at most "
                              f"{estimate.largest_batch(free - data)}")
    assert does_not_fit(estimate, (free, free), "cuda:0", free).endswith("train on the CPU, or use less data")
    assert "beside the data sets" in describe(estimate, "cuda:0", (free, free), data)
    too_little = estimate.fixed // 2
    assert does_not_fit(estimate, (too_little, free), "cpu").endswith(f"but RAM has {size(too_little)} free: "
                                                                      "choose a smaller network")


def test_a_long_sequence_is_estimated_in_a_moment_and_like_the_step_by_step_count(monkeypatch):
    """The reliability campaign's fuzzer: a 10^5-step LSTM kept the estimate (and the Train
    tab, which shows it) busy for minutes, the meta device stepping through every step."""
    import time

    from pytorchgui import paths
    from pytorchgui.core.training import memory, network_format

    network = network_format.load(paths.example_networks_dir() / "lstm_sequences.json")
    network.set_input([100_000], "int64")
    started = time.perf_counter()
    long = estimate_training_memory(network, 64)
    assert time.perf_counter() - started < 2 and long.activations > 10**10
    network.set_input([256], "int64")
    shortened = estimate_training_memory(network, 64).activations
    monkeypatch.setattr(memory, "ESTIMATE_STEPS", 10**9)
    step_by_step = estimate_training_memory(network, 64).activations
    assert abs(shortened / step_by_step - 1) < 0.05


def test_a_batch_norm_with_a_cumulative_average_is_estimated():
    # momentum None reads num_batches_tracked.item(), which the meta device refused (a fuzzed file found it)
    from pytorchgui.core.graph.network import Network

    network = Network()
    network.set_input([3, 8, 8])
    network.add_node("BatchNorm2d", "bn", {"num_features": "auto", "momentum": None}, first_layer=True)
    network.set_optimizer("Adam")
    assert estimate_training_memory(network, 2).total > 0

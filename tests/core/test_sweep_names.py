"""The names the window's space editor offers, and each one's spec and current value."""
import pytest

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.sweeps import SearchSpace, SweepError, sweepable_names, swept_value


@pytest.fixture
def lenet():
    return network_format.load(paths.example_networks_dir() / "lenet5.json")


def test_every_offered_name_is_one_the_space_takes(lenet):
    config = TrainingConfig(lr_schedule="StepLR")
    names = sweepable_names(lenet, config)
    assert {"batch_size", "lr", "loss.label_smoothing", "schedule.gamma", "conv1.out_channels"} <= set(names)
    assert "threads" not in names and "conv1.in_channels" not in names  # where trials run; taken from the input
    for name in names:
        spec, value = swept_value(name, lenet, config)
        SearchSpace.parse({name: {"choices": [value]}}, lenet, config)


def test_a_value_is_the_one_a_trial_would_change(lenet):
    config = TrainingConfig(batch_size=32)
    assert swept_value("batch_size", lenet, config)[1] == 32
    assert swept_value("conv1.out_channels", lenet, config)[1] == 6
    spec, value = swept_value("loss.label_smoothing", lenet, config)
    assert (spec.type, value) == ("float", 0.0)
    with pytest.raises(SweepError, match="no node 'conv9'"):
        swept_value("conv9.out_channels", lenet, config)

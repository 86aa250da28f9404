"""The augmentation pipeline: its text, per-sample randomness, seeded determinism, the
batch-level mixes and their loss, and refusals that name the operation."""
import pytest
import torch

from pytorchgui.core.data import datasets
from pytorchgui.core.data.augmentation import Pipeline, operation_catalog
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.data.datasets import InMemoryBatches
from pytorchgui.core.errors import TrainingError
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.trainer import Trainer

EVERY = ("RandomCrop(padding=3), HorizontalFlip, VerticalFlip(probability=0.2), Rotate(degrees=20), "
         "Scale(minimum=0.8, maximum=1.2), Affine, ColorJitter(brightness=0.3), RandomErasing, CutMix, MixUp")


def test_text_round_trips_and_defaults_are_left_out():
    pipeline = Pipeline.parse(EVERY)
    assert sorted(step.operation.name for step in pipeline.steps) == sorted(operation_catalog())
    assert Pipeline.parse(pipeline.text()) == pipeline
    assert Pipeline.parse("HorizontalFlip(probability=0.5)").text() == "HorizontalFlip"
    assert not Pipeline.parse("  ") and Pipeline.parse("").text() == ""


@pytest.mark.parametrize("text, message", [
    ("Rotate(degrees=500)", r"Rotate parameter 'degrees' .*<= 180"),
    ("Blur", r"'Blur' is not an operation; choose from RandomCrop, "),
    ("Rotate(20)", r"Rotate: write its values as name=value, not '20'"),
    ("Scale(minimum=2, maximum=1)", r"Scale: minimum 2 is above maximum 1"),
    ("Rotate(angle=3)", r"Rotate has no parameter 'angle'"),
    ("RandomCrop(padding=4) HorizontalFlip", r"cannot read it from"),
])
def test_bad_pipelines_name_the_operation(text, message):
    with pytest.raises(TrainingError, match=message):
        Pipeline.parse(text)
    with pytest.raises(TrainingError, match=message):
        TrainingConfig(augmentation=text).check()


def test_every_sample_gets_its_own_randomness_and_the_generator_decides():
    data = datasets.make_builtin(64)
    x = data.inputs.float() / 255
    for text in ("RandomCrop(padding=4)", "Rotate(degrees=30)", "RandomErasing(probability=1)"):
        pipeline = Pipeline.parse(text)
        first, _, _ = pipeline.apply(x.clone(), data.targets, torch.Generator().manual_seed(1))
        again, _, _ = pipeline.apply(x.clone(), data.targets, torch.Generator().manual_seed(1))
        other, _, _ = pipeline.apply(x.clone(), data.targets, torch.Generator().manual_seed(2))
        assert torch.equal(first, again) and not torch.equal(first, other), text
        changes = (first - x).flatten(1).abs().sum(1)
        # per sample: the changes differ from sample to sample (one shared offset would move all alike)
        assert len(torch.unique((first - x).flatten(1).sum(1).round(decimals=3))) > 32, text
        assert first.shape == x.shape and changes.gt(0).float().mean() > 0.8, text


def test_random_crop_shifts_each_image_by_whole_pixels():
    image = torch.zeros(8, 1, 10, 10)
    image[:, 0, 5, 5] = 1.0
    shifted, _, _ = Pipeline.parse("RandomCrop(padding=2)").apply(image, torch.zeros(8), torch.Generator().manual_seed(0))
    where = [tuple(torch.nonzero(sample[0])[0].tolist()) for sample in shifted]
    assert all(3 <= row <= 7 and 3 <= column <= 7 for row, column in where) and len(set(where)) > 3
    assert torch.equal(shifted.sum((1, 2, 3)), torch.ones(8))  # moved, not blurred


def test_mixup_blends_inputs_and_returns_the_second_targets():
    x = torch.stack([torch.full((1, 4, 4), float(i)) for i in range(6)])
    y = torch.arange(6)
    mixed, targets, mix = Pipeline.parse("MixUp(alpha=1)").apply(x, y, torch.Generator().manual_seed(0))
    assert torch.equal(targets, y) and 0 <= mix.weight <= 1
    expected = mix.weight * y.float() + (1 - mix.weight) * mix.other.float()
    torch.testing.assert_close(mixed[:, 0, 0, 0], expected)
    regression = torch.arange(6, dtype=torch.float32)[:, None]
    _, blended, none = Pipeline.parse("MixUp(alpha=1)").apply(x, regression, torch.Generator().manual_seed(0),
                                                             classification=False)
    assert none is None and torch.allclose(blended[:, 0], mixed[:, 0, 0, 0])  # targets blended like inputs


def test_cutmix_weight_is_the_area_kept():
    x, y = torch.zeros(4, 1, 10, 10), torch.arange(4)
    x[1] = 1.0
    mixed, _, mix = Pipeline.parse("CutMix(probability=1)").apply(x, y, torch.Generator().manual_seed(3))
    pasted = (mixed != x).float().mean((1, 2, 3))
    sample_with_ones_pasted = int(torch.nonzero(mix.other == 1)[0])
    assert pasted[sample_with_ones_pasted].item() == pytest.approx(1 - mix.weight)


def test_image_operations_on_a_table_or_mixes_of_token_ids_are_refused_before_training():
    table = datasets.TensorDataset("wine.csv", "csv", torch.randn(20, 4), torch.arange(20) % 2, ["a", "b"], "table")
    with pytest.raises(TrainingError, match=r"augmentation Rotate works on images, but wine.csv holds table rows"):
        Pipeline.parse("MixUp, Rotate").check_data(table.kind, table.sample_shape, table.name)
    Pipeline.parse("MixUp").check_data(table.kind, table.sample_shape, table.name)  # tables can be mixed
    with pytest.raises(TrainingError, match=r"MixUp blends inputs, but seq holds token ids"):
        Pipeline.parse("MixUp").check_data("tokens", [16], "seq")


def test_training_with_every_operation_learns():
    """Every operation in one run (resuming it exactly: test_training's resume test)."""
    train, test = builtin_pair(1500, 300)
    small = train
    from pytorchgui import paths
    from pytorchgui.core.training import network_format
    from pytorchgui.core.data.fit import fit_to_data

    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    fit_to_data(network, small)
    config = TrainingConfig(epochs=3, batch_size=100, augmentation=EVERY, threads=1)
    result = Trainer(network, small, config, validation_set=test).run()
    accuracies = [epoch["validation_accuracy"] for epoch in result.history]
    assert result.status == "finished" and accuracies[-1] > max(0.25, accuracies[0])  # chance: 0.10


def test_training_batches_are_augmented_and_plain_batches_are_not():
    data = datasets.make_builtin(32)
    batches = InMemoryBatches(data, data.compute_normalization(), augmentation=Pipeline.parse("Rotate(degrees=45)"))
    plain = torch.cat([x for x, _ in batches.batches(16, shuffle=False)])
    again = torch.cat([x for x, _ in batches.batches(16, shuffle=False)])
    augmented = torch.cat([x for x, _, _ in batches.training_batches(16, generator=torch.Generator().manual_seed(0))])
    assert torch.equal(plain, again) and augmented.shape == plain.shape

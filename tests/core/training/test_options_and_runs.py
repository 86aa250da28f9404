"""Training options declared once (form, CLI, config.json) and run folders read and written
by one class, through the command line as a user would drive them."""
import argparse
import dataclasses
import importlib.util
import json
import typing

import pytest
import torch

from data_writers import write_image_folder
from pytorchgui import paths
from pytorchgui.cli import _parser, main
from pytorchgui.core.training import network_format
from pytorchgui.core.training.options import (TrainingConfig, add_training_arguments, command_line_arguments,
                                     config_from_arguments, schedule_catalog, training_options)
from pytorchgui.core.training.runs import RunFolder, RunFolderError
from pytorchgui.core.training.trained_model import open_trained_model

LENET = str(paths.example_networks_dir() / "lenet5.json")


def run(capsys, *arguments):
    code = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_help_lists_every_option_and_schedule_parameter(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for training_option in training_options():
        assert training_option.flag in text, training_option.name
    for schedule in schedule_catalog().values():
        assert schedule.name in text
        for spec in schedule.parameters:
            assert "--" + spec.name.replace("_", "-") in text, (schedule.name, spec.name)
    assert "--factor" in text and "--patience" in text  # ReduceLROnPlateau's own names
    flat = " ".join(text.split())
    assert "dropout (default: 0)" in flat and "the faster) (default: auto)" in flat  # seed 0 is not "off"
    assert "0: off (default: off)" in flat and "(autocast) (default: off)" in flat


@pytest.mark.parametrize("config", [
    TrainingConfig(),
    TrainingConfig(epochs=9, batch_size=32, workers=2, seed=7, early_stopping_patience=3, gradient_clip=1.5,
                   mixed_precision=True, channels_last=True,
                   augmentation="RandomCrop(padding=4), HorizontalFlip, MixUp(alpha=0.4)"),
    TrainingConfig(lr_schedule="ReduceLROnPlateau", schedule_parameters={"factor": 0.25, "patience": 4}),
    TrainingConfig(lr_schedule="OneCycleLR", schedule_parameters={"pct_start": 0.2, "anneal_strategy": "linear"}),
    TrainingConfig(lr_schedule="StepLR", schedule_parameters={"step_size": 3, "gamma": 0.5}),
])
def test_command_line_arguments_give_back_the_same_config(config):
    parser = argparse.ArgumentParser()
    add_training_arguments(parser)
    parsed = config_from_arguments(parser.parse_args(command_line_arguments(config)))
    assert parsed.replace(schedule_parameters={}) == config.replace(schedule_parameters={})
    assert parsed.schedule_values() == config.schedule_values()


SPEC_KINDS_AS_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "choice": str}


def test_the_declared_config_fields_are_the_options_exactly():
    """TrainingConfig's fields are written out for readers and type checkers: they must stay
    the options' names, in their order, with their types and defaults, each carrying its option
    (an option added without its field, or a field without its option, fails here)."""
    fields = dataclasses.fields(TrainingConfig)
    hints = typing.get_type_hints(TrainingConfig)
    options = training_options()
    assert [f.name for f in fields] == [o.name for o in options] + ["schedule_parameters"]
    for declared, training_option in zip(fields, options):
        spec = training_option.spec
        assert declared.metadata["option"].name == training_option.name
        assert declared.metadata["option"] == dataclasses.replace(training_option, spec=dataclasses.replace(
            spec, choices=declared.metadata["option"].spec.choices))  # the schedule's choices come later
        assert declared.default == spec.default and type(declared.default) is type(spec.default), declared.name
        assert hints[declared.name] is SPEC_KINDS_AS_TYPES[spec.type], declared.name
    schedule_parameters = fields[-1]
    assert schedule_parameters.default_factory is dict and "option" not in schedule_parameters.metadata
    assert hints["schedule_parameters"] == dict[str, typing.Any]
    assert TrainingConfig().to_dict() == {**{o.name: o.spec.default for o in options}, "schedule_parameters": {}}


def test_first_version_configs_keep_their_schedule():
    old = {"epochs": 3, "lr_schedule": "ReduceLROnPlateau", "step_size": 6, "gamma": 0.3}
    config = TrainingConfig.from_dict(old)
    assert config.schedule_parameters == {"factor": 0.3, "patience": 3} and config.epochs == 3


def test_first_version_augmentation_options_become_the_pipeline():
    config = TrainingConfig.from_dict({"crop_padding": 3, "horizontal_flip": True, "augmentation": "Rotate"})
    assert config.augmentation == "RandomCrop(padding=3), HorizontalFlip, Rotate"
    assert [step.operation.name for step in config.pipeline().steps] == ["RandomCrop", "HorizontalFlip", "Rotate"]
    assert TrainingConfig.from_dict({"crop_padding": 0, "horizontal_flip": False}).augmentation == ""


def test_train_accepts_every_tab_option_and_records_it(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", LENET, "--data", "builtin:300", "--val-split", "20", "--epochs", "1",
                       "--batch-size", "50", "--workers", "1", "--crop-padding", "2", "--horizontal-flip",
                       "--lr-schedule", "ReduceLROnPlateau", "--factor", "0.5", "--patience", "1",
                       "--early-stopping", "2", "--clip", "1.0", "--out", out, "--quiet")
    assert code == 0, err
    config = RunFolder.open(out).read_config()
    for name in ("workers", "augmentation", "early_stopping_patience", "gradient_clip"):
        assert name in config["training"], name
    assert config["training"]["augmentation"] == "RandomCrop(padding=2), HorizontalFlip"  # the first version's flags
    assert config["training"]["workers"] == 1
    assert config["training"]["schedule_parameters"] == {"factor": 0.5, "patience": 1, "threshold": 0.0001,
                                                       "cooldown": 0, "min_lr": 0.0}
    assert config["train_source"] == "builtin:300"


def test_early_stopping_without_validation_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "train", LENET, "--data", "builtin:200", "--early-stopping", "2", "--out",
                       tmp_path / "r", "--quiet")
    assert code == 2 and "there is no validation data" in err and "--val-split" in err and err.count("\n") == 1


def test_grayscale_folder_trains_with_fit_and_a_colour_folder_refits_the_first_layer(capsys, tmp_path):
    gray = write_image_folder(tmp_path / "gray", classes=("a", "b", "c"), per_class=6, size=(28, 28), mode="L")
    code, _, err = run(capsys, "train", LENET, "--fit", "--data", f"folder:{gray}", "--test", f"folder:{gray}",
                       "--epochs", "1", "--out", tmp_path / "g", "--quiet")
    assert code == 0, err
    assert RunFolder.open(tmp_path / "g").load_network().input_spec.shape == [1, 28, 28]
    rgb = write_image_folder(tmp_path / "rgb", classes=("a", "b", "c"), per_class=6, size=(28, 28))
    code, _, err = run(capsys, "train", LENET, "--fit", "--data", f"folder:{rgb}", "--epochs", "1",
                       "--out", tmp_path / "c", "--quiet")
    assert code == 0, err
    network = RunFolder.open(tmp_path / "c").load_network()
    assert network.input_spec.shape == [3, 28, 28] and network.nodes["conv1"].parameters["in_channels"] == 3
    assert network.nodes["fc3"].parameters["out_features"] == 3
    assert "fitted" in err or "in_channels" in err


@pytest.fixture
def fitted_run(capsys, tmp_path):
    """`train --fit` on CIFAR-shaped colour images: the run's network differs from the template."""
    folder = write_image_folder(tmp_path / "photos", classes=("a", "b"), per_class=8, size=(28, 28))
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", LENET, "--fit", "--data", f"folder:{folder}", "--epochs", "1",
                       "--batch-size", "8", "--out", out, "--quiet")
    assert code == 0, err
    return out, folder


def test_evaluate_and_export_accept_a_run_folder(capsys, tmp_path, fitted_run):
    out, folder = fitted_run
    code, stdout, err = run(capsys, "evaluate", out, "--data", f"folder:{folder}", "--json")
    assert code == 0, err
    assert json.loads(stdout)["summary"]["samples"] == 16
    code, _, err = run(capsys, "export", LENET, "--format", "pt2", "--weights", out / "best_weights.pt",
                       "-o", tmp_path / "template.pt2")
    assert code == 2 and "best_weights.pt" in err  # the template is not the fitted network: a clear message
    code, _, err = run(capsys, "export", out, "--format", "python", "-o", tmp_path / "net.py")
    assert code == 0, err


def test_export_from_a_run_carries_the_normalisation(capsys, tmp_path, fitted_run):
    out, _ = fitted_run
    loaded = open_trained_model(out)
    model = loaded.model.eval()
    raw = torch.rand(2, 3, 28, 28)
    mean = torch.tensor(loaded.normalization.mean).view(1, -1, 1, 1)
    std = torch.tensor(loaded.normalization.std).view(1, -1, 1, 1)
    expected = model((raw - mean) / std)
    for normalised in (True, False):
        target = tmp_path / f"net_{normalised}.py"
        flags = [] if normalised else ["--no-normalization"]
        assert run(capsys, "export", out, "--format", "python", "-o", target, *flags)[0] == 0
        spec = importlib.util.spec_from_file_location(f"exported_{normalised}", target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        exported = module.Network()
        exported.load_state_dict(torch.load(loaded.weights, weights_only=True), strict=False)
        exported.eval()
        output = exported(raw)
        assert torch.allclose(output, expected, atol=1e-5) == normalised
    assert run(capsys, "export", out, "--format", "pt2", "-o", tmp_path / "net.pt2")[0] == 0
    program = torch.export.load(str(tmp_path / "net.pt2"))
    assert torch.allclose(program.module()(raw), expected, atol=1e-5)


@pytest.mark.parametrize("name, damage, message", [
    ("config.json", "{not json", "config.json is damaged"),
    ("config.json", '{"normalization": {"mean": [0.5]}}', "its normalization needs a mean and a std"),
    ("config.json", '{"classes": "cats"}', "classes must be a list of names"),
    ("network.json", "[]", "network.json"),
])
def test_a_damaged_run_folder_is_one_line_and_exit_2(capsys, tmp_path, fitted_run, name, damage, message):
    out, folder = fitted_run
    (out / name).write_text(damage)
    code, _, err = run(capsys, "evaluate", out, "--data", f"folder:{folder}")
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_damaged_metrics_and_summary_are_named(tmp_path, fitted_run):
    out, _ = fitted_run
    folder = RunFolder.open(out)
    (out / "summary.json").write_bytes(b"\xff\xfe")
    with pytest.raises(RunFolderError, match="summary.json is damaged"):
        folder.read_summary()
    assert folder.summary_row()["status"] == "incomplete"  # the runs table still lists it
    (out / "metrics.csv").write_bytes(b"epoch,train_loss\n1,abc\n")
    with pytest.raises(RunFolderError, match="metrics.csv is damaged"):
        folder.read_metrics()


def test_a_diverging_run_writes_its_failure_in_summary_json(capsys, tmp_path):
    network = network_format.load(LENET)
    network.set_optimizer("SGD", {"lr": 1e6})
    diverging = tmp_path / "diverging.json"
    network_format.save(network, diverging)
    code, _, err = run(capsys, "train", diverging, "--data", "builtin:300", "--epochs", "2", "--out",
                       tmp_path / "r", "--quiet")
    assert code == 2 and "the loss became nan" in err
    summary = RunFolder.open(tmp_path / "r").read_summary()
    assert summary["status"] == "failed" and "the loss became nan" in summary["message"]
    assert summary["epochs_done"] == 0


def test_parser_has_no_option_twice():
    flags = [flag for action in _parser()._subparsers._group_actions[0].choices["train"]._actions
             for flag in action.option_strings]
    assert len(flags) == len(set(flags))


def test_a_torch_error_from_the_data_is_one_line_and_exit_2(capsys, tmp_path):
    import numpy

    from pytorchgui.core.graph.network import Network

    network = Network()
    network.add_node("Embedding", "embed", {"num_embeddings": 50, "embedding_dim": 4}, first_layer=True,
                     next_layers=["flatten"])
    network.add_node("Flatten", "flatten", next_layers=["head"])
    network.add_node("Linear", "head", {"in_features": "auto", "out_features": 2})
    network.set_input([6], "float32")  # token ids stored as floats reach the Embedding
    network.set_loss("CrossEntropyLoss")
    network.set_optimizer("Adam")
    network_format.save(network, tmp_path / "tokens.json")
    x = numpy.random.default_rng(0).integers(0, 50, (40, 6))
    numpy.savez(tmp_path / "tokens.npz", x=x.astype("float32"), y=x[:, 0] % 2)
    code, _, err = run(capsys, "train", tmp_path / "tokens.json", "--data", tmp_path / "tokens.npz", "--out",
                       tmp_path / "r", "--quiet")
    errors = [line for line in err.splitlines() if line.startswith("pytorchgui train:")]
    assert code == 2 and len(errors) == 1 and err.endswith(errors[0] + "\n") and "Traceback" not in err
    assert "Embedding 'embed' cannot take input of shape [6]" in errors[0] and "torch.float32" in errors[0]


def test_a_validation_split_below_one_percent_says_it_is_a_percentage(capsys, tmp_path):
    # 0.25 meant as a quarter kept 0.25 % of 569 rows: one sample, measured at 100 %
    code, _, err = run(capsys, "train", LENET, "--data", "builtin:400", "--val-split", "0.25", "--epochs", "1",
                       "--out", tmp_path / "r", "--quiet")
    assert code == 0, err
    assert "--val-split is a percentage: 0.25 keeps 0.25 % (1 sample) for validation; for a fraction of 0.25 " \
           "give --val-split 25" in err
    code, _, err = run(capsys, "train", LENET, "--data", "builtin:400", "--val-split", "25", "--epochs", "1",
                       "--out", tmp_path / "q", "--quiet")
    assert code == 0 and "is a percentage" not in err

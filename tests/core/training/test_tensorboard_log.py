"""TensorBoard event files in the run folder (issue 28 item 6), read back with TensorBoard's
own reader: the scalars are metrics.csv's figures, the confusion matrix an image, the
graph is there, a sweep's trial shows in the HParams view; without tensorboard nothing."""
import json
import sys

import numpy
import pytest
import torch

from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.training import network_format
from pytorchgui.core.training.runs import read_metrics
from pytorchgui.core.training.tensorboard_log import (CONFUSION_TAG, TensorBoardLog, confusion_image, scalar_tag,
                                                      write_hparams)
from pytorchgui.core.training.trainer import (BatchEvent, EpochEvent, LogEvent, Trainer, TrainingConfig,
                                              TrainingControl)

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
hparams_metadata = pytest.importorskip("tensorboard.plugins.hparams.metadata")

pytestmark = pytest.mark.tensorboard


@pytest.fixture(scope="module")
def shapes():
    return builtin_pair(200, 60)


def lenet():
    return network_format.load(paths.example_networks_dir() / "lenet5.json")


def config(**changes):
    return TrainingConfig(**{"epochs": 2, "batch_size": 50, "seed": 0, "threads": 1, **changes})


def read_events(run):
    accumulator = event_accumulator.EventAccumulator(str(run), size_guidance={event_accumulator.IMAGES: 0,
                                                                              event_accumulator.SCALARS: 0})
    return accumulator.Reload()


def event_files(run):
    return sorted(run.glob("events.out.tfevents.*"))


def assert_scalars_are_the_metrics(events, run):
    rows = read_metrics(run)
    columns = [column for column in rows[0] if column != "epoch" and rows[0][column] is not None]
    assert set(events.Tags()["scalars"]) == {scalar_tag(column) for column in columns}
    for column in columns:
        logged = events.Scalars(scalar_tag(column))
        assert [event.step for event in logged] == [int(row["epoch"]) for row in rows]
        assert [event.value for event in logged] == pytest.approx([row[column] for row in rows], rel=1e-6)


def test_a_cli_run_logs_its_metrics_each_outputs_loss_the_confusion_matrix_and_the_graph(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(paths.example_networks_dir() / "auxiliary_head_cnn.json"), "--data", "builtin:128",
                 "--test", "builtin:40", "--epochs", "2", "--batch-size", "64", "--threads", "1", "--out", str(run),
                 "--quiet"]) == 0
    events = read_events(run)
    assert_scalars_are_the_metrics(events, run)
    assert {"loss/train.classifier", "loss/train.aux", "loss/validation.aux", "accuracy/validation",
            "learning_rate", "seconds_per_epoch"} <= set(events.Tags()["scalars"])
    images = events.Images(CONFUSION_TAG)
    assert [image.step for image in images] == [1, 2] and (images[0].width, images[0].height) == (320, 320)
    assert events.Tags()["graph"]
    assert "aux" in str(events.Graph())  # both heads traced
    assert "Classes in order" in str(events.Tensors(f"{CONFUSION_TAG}/text_summary")[0].tensor_proto)
    assert "TensorBoard" not in capsys.readouterr().err


def test_every_way_a_run_ends_closes_its_writer_and_a_resumed_run_appends(shapes, tmp_path, monkeypatch):
    train, validation = shapes
    closed = []
    close = TensorBoardLog.close
    monkeypatch.setattr(TensorBoardLog, "close", lambda log: (closed.append(log.writer is not None), close(log)))
    control = TrainingControl()

    def stop_in_epoch_two(event):
        if isinstance(event, BatchEvent) and event.epoch == 2:
            control.stop()

    run = tmp_path / "run"
    stopped = Trainer(lenet(), train, config(), validation_set=validation, run_dir=run, on_event=stop_in_epoch_two,
                      control=control, report_seconds=0).run()
    assert stopped.status == "stopped" and closed == [True]
    resumed = Trainer(lenet(), train, config(epochs=3), validation_set=validation, run_dir=run,
                      resume_from=run / "checkpoint.pt").run()
    assert resumed.status == "finished" and closed == [True, True] and len(event_files(run)) == 2
    events = read_events(run)
    assert_scalars_are_the_metrics(events, run)  # epochs 1, 2, 3, each once
    assert [image.step for image in events.Images(CONFUSION_TAG)] == [1, 2, 3]

    def fail_after_an_epoch(event):
        if isinstance(event, EpochEvent):
            raise RuntimeError("the window went away")

    with pytest.raises(RuntimeError, match="went away"):
        Trainer(lenet(), train, config(), validation_set=validation, run_dir=tmp_path / "failed",
                on_event=fail_after_an_epoch).run()
    assert closed == [True, True, True]
    assert json.loads((tmp_path / "failed" / "summary.json").read_text())["status"] == "failed"
    assert [event.step for event in read_events(tmp_path / "failed").Scalars("loss/train")] == [1]


def test_a_network_that_cannot_be_traced_is_noted_and_the_run_goes_on(shapes, tmp_path, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter

    def refuse(*args, **kwargs):
        raise RuntimeError("Tracer cannot infer type of output")

    monkeypatch.setattr(SummaryWriter, "add_graph", refuse)
    train, _ = shapes
    notes = []
    result = Trainer(lenet(), train, config(epochs=1), run_dir=tmp_path / "run",
                     on_event=lambda event: notes.append(event.message) if isinstance(event, LogEvent) else None).run()
    assert result.status == "finished"
    assert "TensorBoard: the graph is left out, the network could not be traced (Tracer cannot infer type of " \
           "output)" in notes
    events = read_events(tmp_path / "run")
    assert not events.Tags()["graph"] and events.Scalars("loss/train")
    assert not events.Tags()["images"]  # no validation: no predictions, no matrix


@pytest.mark.parametrize("how", ["not installed", "switched off"])
def test_without_tensorboard_a_run_writes_no_event_file_and_does_not_fail(shapes, tmp_path, monkeypatch, how):
    if how == "not installed":
        monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # its import raises ImportError
    else:
        monkeypatch.setenv("PYTORCHGUI_TENSORBOARD", "0")
    train, validation = shapes
    result = Trainer(lenet(), train, config(epochs=1), validation_set=validation, run_dir=tmp_path / "run").run()
    assert result.status == "finished" and (tmp_path / "run" / "metrics.csv").is_file()
    assert event_files(tmp_path / "run") == []
    assert write_hparams(tmp_path / "run", {"lr": 0.01}, {"validation_accuracy": 0.5}) is False
    assert event_files(tmp_path / "run") == []


def test_a_trials_hyperparameters_are_in_its_run_folder_for_the_hparams_view(tmp_path):
    run = tmp_path / "trial"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch,train_loss\n1,0.5\n2,0.4\n")
    values = {"lr": 0.003, "batch_size": 64, "augmentation": "HorizontalFlip", "nesterov": True, "gamma": None}
    assert write_hparams(run, values, {"validation_accuracy": 0.875, "validation_loss": 0.31}) is True
    assert len(event_files(run)) == 1  # in the run folder itself, no sub-folder
    events = read_events(run)
    content = events.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
    assert {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in start.hparams.items()} == {"lr": 0.003, "batch_size": 64,
                                                          "augmentation": "HorizontalFlip", "nesterov": True,
                                                          "gamma": "None"}
    experiment = hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
    assert {info.name.tag for info in experiment.metric_infos} == {"hparams/validation_accuracy",
                                                                  "hparams/validation_loss"}
    assert [(event.step, event.value) for event in events.Scalars("hparams/validation_accuracy")] == [(2, 0.875)]
    assert write_hparams(tmp_path / "no such run", values, {}) is False


def test_the_confusion_image_shows_each_true_class_row_by_its_share():
    image = confusion_image(numpy.array([0, 0, 1, 1]), numpy.array([0, 0, 0, 1]), 2)
    assert image.shape == (320, 320, 3) and image.dtype == numpy.uint8
    cell = 160
    middle = cell // 2
    assert image[middle, middle].tolist() == [104, 169, 228]  # 2 of 3 of class 0 right: two thirds blue
    assert image[middle, cell + middle].tolist() == [179, 212, 241]  # 1 of 3 as class 1
    assert image[cell + middle, cell + middle].tolist() == [28, 126, 214]  # all of class 1 right
    assert image[cell + middle, middle].tolist() == [255, 255, 255]
    assert image[cell - 1, middle].tolist() == [222, 222, 222]  # the grid between cells
    assert confusion_image(torch.arange(1000).numpy(), torch.arange(1000).numpy(), 1000).shape == (1000, 1000, 3)

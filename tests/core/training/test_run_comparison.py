"""Runs compared: the settings two run folders differ in, the legend names of several runs,
the overview the runs table shows, and the tags and notes kept in a run folder."""
import pytest

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.run_comparison import (compare_runs, differences, distinguishing_labels, overview_rows,
                                                     parse_tags)
from pytorchgui.core.training.runs import RunFolder, RunFolderError

LENET = paths.example_networks_dir() / "lenet5.json"


def recorded_run(base, name, lr=0.001, batch_size=64, epochs=2, edit=None, accuracies=(0.5, 0.8)):
    """A run folder as the Trainer leaves one (LeNet-5 on the built-in shapes), written
    directly: `edit(network)` changes the network first."""
    network = network_format.load(LENET)
    network.set_optimizer("SGD", {"lr": lr, "momentum": 0.9})
    if edit is not None:
        edit(network)
    folder = RunFolder.new(base, name)
    folder.write_start(network, {"training": TrainingConfig(epochs=epochs, batch_size=batch_size).to_dict(),
                                 "train_set": "Shapes (train)", "train_source": "builtin:200",
                                 "validation_set": "Shapes (test)", "validation_source": "builtin:50"})
    history = [{"epoch": epoch, "train_loss": 1.0 / epoch, "validation_loss": 1.2 - accuracy,
                "validation_accuracy": accuracy} for epoch, accuracy in enumerate(accuracies, 1)]
    folder.write_metrics(history)
    folder.write_summary("finished", "", history)
    return folder


def changed(network, node, **values):
    network.set_parameters(node, {**network.node(node).parameters, **values})


def rows_by_setting(rows):
    return {row.setting: (row.value_a, row.value_b) for row in rows}


def test_differences_name_every_changed_setting_and_node(tmp_path):
    def wider_and_deeper(network):
        changed(network, "conv1", out_channels=8)
        network.add_node("Dropout", "drop", {"p": 0.25})
        network.remove_node("relu4")

    a = recorded_run(tmp_path, "lenet5")
    b = recorded_run(tmp_path, "lenet5", lr=0.01, batch_size=32, edit=wider_and_deeper)
    found = rows_by_setting(differences(a, b))
    assert found["optimizer · lr"] == ("0.001", "0.01")
    assert found["batch size"] == ("64", "32")
    assert found["node conv1 · out_channels"] == ("6", "8")
    assert found["node drop"] == ("—", "Dropout") and found["node relu4"] == ("ReLU", "—")
    assert not any(setting.startswith(("node drop ·", "node relu4 ·")) for setting in found)  # one row a node
    assert "epochs" not in found and "optimizer" not in found and "network" not in found  # alike: not listed
    every = rows_by_setting(compare_runs(a, b, everything=True))
    assert every["epochs"] == ("2", "2") and every["optimizer"] == ("SGD", "SGD")
    assert set(found) < set(every)


def test_legend_names_runs_by_what_differs_between_them(tmp_path):
    runs = [recorded_run(tmp_path, "lenet5", lr=0.01, batch_size=64),
            recorded_run(tmp_path, "lenet5", lr=0.1, batch_size=64),
            recorded_run(tmp_path, "lenet5", lr=0.1, batch_size=128)]
    assert distinguishing_labels(runs) == ["lr 0.01 · batch 64", "lr 0.1 · batch 64", "lr 0.1 · batch 128"]
    assert distinguishing_labels(runs[:2]) == ["lr 0.01", "lr 0.1"]


def test_legend_falls_back_to_the_folder_name_and_leaves_out_what_follows_the_input(tmp_path):
    alike = [recorded_run(tmp_path, "lenet5"), recorded_run(tmp_path, "lenet5")]
    assert distinguishing_labels(alike) == [alike[0].name, alike[1].name]

    def wider(network):
        changed(network, "conv1", out_channels=8)
        changed(network, "conv2", in_channels=8)  # set from conv1's output: not what was changed

    narrow_and_wide = [alike[0], recorded_run(tmp_path, "lenet5", edit=wider)]
    assert distinguishing_labels(narrow_and_wide) == ["conv1.out_channels 6", "conv1.out_channels 8"]


def test_a_long_legend_is_cut_on_the_right(tmp_path):
    def long_named_dropout(network):
        network.add_node("Dropout", "a_dropout_with_a_rather_long_name", {"p": 0.5})

    runs = [recorded_run(tmp_path, "lenet5"),
            recorded_run(tmp_path, "lenet5", lr=0.5, batch_size=16, epochs=3, edit=long_named_dropout)]
    label = distinguishing_labels(runs)[1]
    assert label.startswith("lr 0.5 · batch 16 · epochs 3") and label.endswith("…") and len(label) <= 48


def test_overview_reads_network_settings_and_best_result(tmp_path):
    recorded_run(tmp_path, "lenet5", lr=0.05, batch_size=32, epochs=3, accuracies=(0.4, 0.9, 0.7))
    (row,) = overview_rows(tmp_path)
    assert (row["network"], row["nodes"], row["optimizer"], row["learning_rate"]) == ("lenet5", 12, "SGD", 0.05)
    assert (row["batch_size"], row["epochs"], row["schedule"], row["status"]) == (32, 3, "none", "finished")
    assert row["best_validation_accuracy"] == 0.9 and row["validation_accuracy"] == 0.7  # best, and last
    assert row["best_validation_loss"] == pytest.approx(0.3) and row["problems"] == []


def test_notes_round_trip_and_a_damaged_notes_file_is_named(tmp_path):
    folder = recorded_run(tmp_path, "lenet5")
    assert folder.read_notes() == ([], "")
    folder.write_notes(parse_tags(" baseline, lr sweep ,, baseline "), "the first try\nwith momentum")
    assert RunFolder(folder.path).read_notes() == (["baseline", "lr sweep"], "the first try\nwith momentum")
    assert overview_rows(tmp_path)[0]["tags"] == ["baseline", "lr sweep"]
    notes_file = folder.file(RunFolder.NOTES)
    for damaged in ("{not json", '{"tags": "baseline", "notes": ""}'):
        notes_file.write_text(damaged, encoding="utf-8")
        with pytest.raises(RunFolderError, match="notes.json is damaged"):
            folder.read_notes()
        (row,) = overview_rows(tmp_path)  # the table still lists the run, and says why its notes are missing
        assert row["network"] == "lenet5" and "notes.json" in row["problems"][0]


def test_deleting_a_run_removes_its_folder(tmp_path):
    folder = recorded_run(tmp_path, "lenet5")
    folder.delete()
    assert not folder.path.exists() and overview_rows(tmp_path) == []

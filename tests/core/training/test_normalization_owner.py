"""Normalisation has one owner: the dataset computes its statistics once, a run folder
records them, and evaluation and export read them back instead of computing again."""
import json

import pytest
import torch

from data_writers import write_image_folder
from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.data.samples import TensorDataset
from pytorchgui.core.training.runs import RunFolder


@pytest.fixture
def counted(monkeypatch):
    calls = []
    original = TensorDataset.compute_normalization

    def counting(self):
        calls.append(self.name)
        return original(self)

    monkeypatch.setattr(TensorDataset, "compute_normalization", counting)
    return calls


def test_a_dataset_computes_its_statistics_once_and_its_parts_keep_them(counted):
    data = TensorDataset("d", "test", torch.arange(40.0).reshape(20, 2), torch.zeros(20, dtype=torch.int64),
                         ["a"], "table")
    assert counted == []  # nothing is computed before it is asked for
    train, validation = data.split(25, seed=1)
    assert train.normalization == validation.normalization == data.normalization
    assert data.normalization.mean == pytest.approx([19.0, 20.0])  # the whole set's, not the part's
    assert counted == ["d"]


def test_training_evaluation_and_export_compute_the_normalisation_once(counted, tmp_path, capsys):
    folder = write_image_folder(tmp_path / "digits", classes=("a", "b"), per_class=12, size=(28, 28))
    out = tmp_path / "run"
    network = paths.example_networks_dir() / "lenet5.json"
    assert main(["train", str(network), "--data", f"folder:{folder}", "--val-split", "25", "--fit", "--epochs", "1",
                 "--out", str(out), "--quiet"]) == 0
    assert counted == [folder.name]  # the training file's, once: the two parts share it
    recorded = RunFolder(out).normalization()
    assert recorded is not None and len(recorded.mean) == 3
    capsys.readouterr()
    assert main(["evaluate", str(out), "--data", f"folder:{folder}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["samples"] == 24
    assert main(["export", str(out), "--format", "python", "-o", str(tmp_path / "net.py")]) == 0
    assert counted == [folder.name]  # evaluation and export read the run's recorded statistics
    assert f"mean={[round(v, 8) for v in recorded.mean]}" in (tmp_path / "net.py").read_text()

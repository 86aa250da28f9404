"""Metrics against values computed by hand on a tiny fixed model and dataset."""
import json

import pytest
import torch

from pytorchgui.core.data.datasets import Normalization, TensorDataset
from pytorchgui.core.training.metrics import (EvaluationError, class_report, confusion_matrix, evaluate, load_weights,
                                     prepare_image, regression_metrics)


class Fixed(torch.nn.Module):
    """Outputs its input: the 'logits' are the features, so predictions are chosen by the test."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.scale


def dataset(rows, targets, classes=("a", "b", "c")):
    return TensorDataset(name="tiny", source="test", inputs=torch.tensor(rows, dtype=torch.float32),
                         targets=torch.tensor(targets), classes=list(classes) if classes else None, kind="table")


def test_classification_metrics_by_hand():
    # predictions: argmax of each row -> [0, 0, 1, 2, 0, 1]; targets [0, 1, 1, 2, 2, 1]
    rows = [[5, 1, 0], [4, 2, 0], [0, 3, 1], [0, 1, 6], [2, 1, 1], [1, 9, 0]]
    data = dataset(rows, [0, 1, 1, 2, 2, 1])
    result = evaluate(Fixed(), data, None, loss=torch.nn.CrossEntropyLoss(), batch_size=4)
    assert result.predictions.tolist() == [0, 0, 1, 2, 0, 1]
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.confusion.tolist() == [[1, 0, 0], [1, 2, 0], [1, 0, 1]]
    a, b, c = result.report
    assert (a.precision, a.recall, a.support) == (pytest.approx(1 / 3), 1.0, 1)
    assert (b.precision, b.recall, b.support) == (1.0, pytest.approx(2 / 3), 3)
    assert (c.precision, c.recall, c.support) == (1.0, 0.5, 2)
    assert a.f1 == pytest.approx(0.5) and b.f1 == pytest.approx(0.8) and c.f1 == pytest.approx(2 / 3)
    assert result.macro.precision == pytest.approx((1 / 3 + 1 + 1) / 3)
    assert result.weighted.recall == pytest.approx((1 * 1 + 3 * 2 / 3 + 2 * 0.5) / 6)
    expected_loss = torch.nn.functional.cross_entropy(torch.tensor(rows, dtype=torch.float32),
                                                      torch.tensor([0, 1, 1, 2, 2, 1]))
    assert result.loss == pytest.approx(float(expected_loss), rel=1e-6)
    assert result.top5_accuracy is None  # 3 classes: top-5 says nothing
    assert result.worst_errors() == [1, 4]  # wrong, most confident first (0.71 vs 0.58)
    assert result.cell_samples(2, 0) == [4]


def test_absent_classes_give_zeros_not_errors():
    confusion = confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]), 3)
    rows, macro, weighted = class_report(confusion, ["x", "y", "z"])
    assert [(r.precision, r.recall, r.f1, r.support) for r in rows] == [
        (pytest.approx(2 / 3), 1.0, 0.8, 2), (0.0, 0.0, 0.0, 1), (0.0, 0.0, 0.0, 0)]
    assert macro.recall == pytest.approx(1 / 3) and weighted.support == 3


def test_one_class_dataset():
    data = dataset([[3.0], [1.0]], [0, 0], classes=("only",))
    result = evaluate(Fixed(), data, None)
    assert result.accuracy == 1.0 and result.confusion.tolist() == [[2]] and result.report[0].f1 == 1.0


def test_top5_with_many_classes():
    rows = torch.eye(7)[[0, 1, 2]] * 10
    rows[2] = torch.tensor([7.0, 6, 0, 5, 4, 3, 2])  # true class 2 ranks last: outside the top 5
    data = TensorDataset("t", "t", rows, torch.tensor([0, 1, 2]), [str(i) for i in range(7)], "table")
    result = evaluate(Fixed(), data, None)
    assert result.accuracy == pytest.approx(2 / 3) and result.top5_accuracy == pytest.approx(2 / 3)


def test_regression_metrics_by_hand():
    assert regression_metrics(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 3.0, 3.0])) == (
        pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(0.25))  # SSE 2, total 8/3
    data = TensorDataset("r", "r", torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([[1.0], [3.0], [3.0]]), None,
                         "table")
    result = evaluate(Fixed(), data, None, loss=torch.nn.MSELoss())
    assert result.mse == pytest.approx(2 / 3) and result.mae == pytest.approx(2 / 3)
    assert result.r2 == pytest.approx(0.25) and result.accuracy is None
    assert result.summary()["mse"] == pytest.approx(2 / 3)


def test_report_export(tmp_path):
    data = dataset([[5, 1, 0], [0, 3, 1]], [0, 2])
    result = evaluate(Fixed(), data, None)
    result.export(tmp_path / "report.json")
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["confusion_matrix"] == [[1, 0, 0], [0, 0, 0], [0, 1, 0]] and saved["summary"]["accuracy"] == 0.5
    result.export(tmp_path / "report.csv")
    lines = (tmp_path / "report.csv").read_text().splitlines()
    assert lines[0] == "name,precision,recall,f1,support" and lines[-1].startswith("weighted average,")


def test_output_that_does_not_fit_the_classes():
    data = dataset([[1.0, 2.0]], [0])
    with pytest.raises(EvaluationError, match=r"gives \[2\] values per sample but tiny has 3 classes"):
        evaluate(Fixed(), data, None)


def test_weights_of_another_network_are_refused(tmp_path):
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "other.pt")
    with pytest.raises(EvaluationError, match="holds weights of another network"):
        load_weights(Fixed(), tmp_path / "other.pt")
    with pytest.raises(EvaluationError, match="no weights file"):
        load_weights(Fixed(), tmp_path / "none.pt")
    torch.save(Fixed().state_dict(), tmp_path / "mine.pt")
    model = Fixed()
    load_weights(model, tmp_path / "mine.pt")


def test_an_opened_image_keeps_its_colours_and_is_only_resized():
    from PIL import Image

    photo = Image.new("RGB", (64, 48), (200, 30, 10))
    photo.paste((10, 30, 200), (0, 0, 32, 48))  # left half blue, right half red
    sample, inverted = prepare_image(photo, [3, 32, 32], Normalization([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]))
    assert sample.shape == (3, 32, 32) and sample.dtype == torch.uint8 and not inverted
    assert sample[:, 16, 2].tolist() == [10, 30, 200] and sample[:, 16, 29].tolist() == [200, 30, 10]
    gray, _ = prepare_image(photo, [1, 28, 28])
    assert gray.shape == (1, 28, 28) and 0 < int(gray[0, 14, 2]) < int(gray[0, 14, 25])  # luminance, not cropped
    with pytest.raises(EvaluationError, match="takes \\[4, 32, 32\\]"):
        prepare_image(photo, [4, 32, 32])


def test_light_paper_is_inverted_only_for_models_trained_on_dark_backgrounds():
    from PIL import Image

    paper = Image.new("L", (28, 28), 250)
    paper.paste(10, (12, 4, 16, 24))  # a dark stroke on white paper
    mnist_like = Normalization([0.13], [0.31])
    sample, inverted = prepare_image(paper, [1, 28, 28], mnist_like)
    assert inverted and int(sample[0, 10, 14]) == 245 and int(sample[0, 0, 0]) == 5
    sample, inverted = prepare_image(paper, [1, 28, 28], Normalization([0.7], [0.2]))
    assert not inverted and int(sample[0, 0, 0]) == 250


def test_out_of_memory_while_evaluating_frees_the_gpu_and_suggests_a_smaller_batch(monkeypatch):
    data = dataset([[1.0, 0, 0], [0, 1.0, 0]], [0, 1])
    model = Fixed()
    freed = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: freed.append(True))

    def out_of_memory(*args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 3.00 GiB")

    monkeypatch.setattr(model, "forward", out_of_memory)
    with pytest.raises(EvaluationError, match=r"the GPU ran out of memory at batch size 512: try 256, or evaluate "
                                              r"on the CPU") as caught:
        evaluate(model, data, None, batch_size=512)
    assert "cannot take" not in str(caught.value) and freed == [True]

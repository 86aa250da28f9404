"""ROC and precision–recall curves, calibration and the two-class threshold, against values
computed by hand on a network that outputs the log-probabilities it is given."""
import csv
import json
import math
import warnings

import numpy
import pytest
import torch

from pytorchgui.core.data.datasets import TensorDataset
from pytorchgui.core.training.curves import measure_curves
from pytorchgui.core.training.metrics import evaluate
from test_metrics import Fixed as Given  # outputs its input: fed log-probabilities, its softmax gives them back


def measured(probabilities, targets, classes=("a", "b")):
    rows = torch.tensor(probabilities, dtype=torch.float64).clamp_min(1e-12).log().float()
    data = TensorDataset("tiny", "test", rows, torch.tensor(targets), list(classes), "table")
    return evaluate(Given(), data, None, batch_size=3)


def two_class(positive_probabilities, targets):
    return measured([[1 - p, p] for p in positive_probabilities], targets)


# the example of scikit-learn's roc_auc_score: of the 4 (positive, negative) pairs, the
# positive scores higher in 3 (0.35 loses to 0.4): AUC 3/4. Ranked 0.8 P, 0.4 N, 0.35 P, 0.1 N:
# precision 1 at recall 1/2, 2/3 at recall 1: average precision 1/2 * 1 + 1/2 * 2/3 = 5/6.
SCORES, TARGETS = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]


def test_probabilities_are_kept_and_give_the_argmax_predictions():
    result = two_class(SCORES, TARGETS)
    assert result.probabilities.shape == (4, 2)
    assert result.probabilities[:, 1].tolist() == pytest.approx(SCORES, abs=1e-6)
    assert result.predictions.tolist() == [0, 0, 0, 1]
    assert result.confidences.tolist() == pytest.approx([0.9, 0.6, 0.65, 0.8], abs=1e-6)


def test_a_small_example_by_hand():
    curves = two_class(SCORES, TARGETS).curves()
    a, b = curves.classes
    assert b.auc == pytest.approx(0.75) and b.average_precision == pytest.approx(5 / 6)
    assert b.positives == 2 and not b.problem
    assert list(zip(b.false_positive_rate, b.true_positive_rate)) == [(0, 0), (0, 0.5), (0.5, 0.5), (0.5, 1), (1, 1)]
    assert math.isinf(b.roc_thresholds[0]) and b.roc_thresholds[1:].tolist() == pytest.approx([0.8, 0.4, 0.35, 0.1])
    # by threshold: 0.1 -> precision 2/4 at recall 1, 0.35 -> 2/3 at 1, 0.4 -> 1/2 at 1/2, 0.8 -> 1 at 1/2,
    # then the end point
    assert b.precision.tolist() == pytest.approx([1 / 2, 2 / 3, 1 / 2, 1, 1])
    assert b.recall.tolist() == pytest.approx([1, 1, 0.5, 0.5, 0])
    assert b.pr_thresholds.tolist() == pytest.approx([0.1, 0.35, 0.4, 0.8])
    assert a.auc == pytest.approx(0.75)  # the same pairs seen from the other class
    assert curves.macro_auc == pytest.approx(0.75)


def test_a_perfect_classifier_has_an_auc_of_one_and_a_reversed_one_of_zero():
    perfect = two_class([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1]).curves()
    reversed_ = two_class([0.9, 0.7, 0.2, 0.1], [0, 0, 1, 1]).curves()
    assert [c.auc for c in perfect.classes] == [1.0, 1.0] and perfect.classes[1].average_precision == 1.0
    assert [c.auc for c in reversed_.classes] == [0.0, 0.0]
    assert reversed_.classes[1].average_precision == pytest.approx(5 / 12)  # ranked last: 1/2 * 1/3 + 1/2 * 2/4


def test_many_classes_agree_with_scikit_learn_one_against_the_rest():
    from sklearn.metrics import average_precision_score, roc_auc_score

    generator = numpy.random.default_rng(0)
    targets = generator.integers(0, 4, 200)
    logits = generator.normal(size=(200, 4)) + 1.5 * numpy.eye(4)[targets]
    probabilities = torch.tensor(logits).softmax(1).numpy()
    curves = measured(probabilities.tolist(), targets.tolist(), "wxyz").curves()
    assert curves.macro_auc == pytest.approx(roc_auc_score(targets, probabilities, multi_class="ovr"), abs=1e-6)
    expected_precision = [average_precision_score(targets == k, probabilities[:, k]) for k in range(4)]
    assert [c.average_precision for c in curves.classes] == pytest.approx(expected_precision, abs=1e-6)


def test_calibration_bins_by_hand():
    # predicted-class probabilities 0.95 (right), 0.95 (wrong), 0.65 (right), 0.55 (wrong)
    probabilities = [[0.95, 0.05], [0.95, 0.05], [0.35, 0.65], [0.55, 0.45]]
    calibration = measured(probabilities, [0, 1, 1, 1]).curves().calibration
    assert calibration.counts.tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 0, 2]
    assert calibration.accuracy[[5, 6, 9]].tolist() == [0.0, 1.0, 0.5]
    assert calibration.confidence[[5, 6, 9]].tolist() == pytest.approx([0.55, 0.65, 0.95], abs=1e-6)
    assert numpy.isnan(calibration.accuracy[0])  # an empty bin has no accuracy
    # (2 * |0.5 - 0.95| + |1 - 0.65| + |0 - 0.55|) / 4
    assert calibration.expected_calibration_error == pytest.approx(0.45, abs=1e-6)
    assert calibration.rows()[0] == {"bin_start": 0.0, "bin_end": 0.1, "samples": 0, "accuracy": None,
                                     "mean_confidence": None}


def test_a_probability_of_one_falls_in_the_last_bin():
    calibration = measure_curves(numpy.array([[1.0, 0.0], [0.0, 1.0]]), numpy.array([0, 0]), ["a", "b"]).calibration
    assert calibration.counts[-1] == 2 and calibration.accuracy[-1] == 0.5


def test_the_confusion_matrix_follows_the_threshold():
    result = two_class(SCORES, TARGETS)
    curves = result.curves()
    low = result.at_threshold(0.3)
    assert low.predictions.tolist() == [0, 1, 1, 1] and low.confusion.tolist() == [[1, 1], [0, 2]]
    assert low.accuracy == 0.75 and low.threshold == 0.3 and low.summary()["threshold"] == 0.3
    b = low.report[1]
    assert (b.precision, b.recall) == (pytest.approx(2 / 3), 1.0)
    assert low.confidences.tolist() == pytest.approx([0.9, 0.4, 0.35, 0.8], abs=1e-6)
    assert result.at_threshold(0.5).confusion.tolist() == result.confusion.tolist() == [[2, 0], [1, 1]]
    assert result.at_threshold(0.9).confusion.tolist() == [[2, 0], [2, 0]]
    assert result.threshold is None and result.confusion.tolist() == [[2, 0], [1, 1]]  # the measurement unchanged
    assert low.curves() is curves  # the same probabilities: not measured again


def test_a_class_absent_from_the_data_has_no_auc_and_says_why():
    probabilities = [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scikit-learn warning of an undefined metric either
        curves = measured(probabilities, [0, 1, 0, 1], "abc").curves()
    a, b, c = curves.classes
    assert a.auc == 1.0 and b.auc == 1.0
    assert c.auc is None and c.average_precision is None and c.positives == 0
    assert "no sample of class c" in c.problem and "undefined" in c.problem
    assert curves.problems() == [c.problem]
    assert curves.macro_auc == 1.0  # over the classes that have one
    assert curves.auc_rows()[2] == {"class": "c", "samples": 0, "auc": None, "average_precision": None,
                                    "problem": c.problem}


def test_one_class_only():
    curves = measured([[1.0], [1.0]], [0, 0], ["only"]).curves()
    [only] = curves.classes
    assert only.auc is None and "every sample is of class only" in only.problem
    assert only.average_precision == 1.0
    assert curves.macro_auc is None and curves.calibration.counts[-1] == 2


def test_a_regression_has_no_curves():
    data = TensorDataset("r", "r", torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [3.0]]), None, "table")
    result = evaluate(Given(), data, None)
    assert result.probabilities is None and result.curves() is None


def read_csv(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_exported_report_carries_the_curves(tmp_path):
    result = measured([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1]], [0, 1, 0], "abc")
    result.export(tmp_path / "report.json")
    saved = json.loads((tmp_path / "report.json").read_text())["curves"]
    assert [row["auc"] for row in saved["per_class"]] == [1.0, 1.0, None]
    assert saved["per_class"][0]["roc"]["thresholds"][0] is None  # JSON has no inf
    assert len(saved["calibration"]["bins"]) == 10 and saved["macro_auc"] == 1.0
    result.export(tmp_path / "report.csv")
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["report.csv", "report.json", "report_auc.csv", "report_calibration.csv", "report_pr.csv",
                     "report_roc.csv"]
    auc = read_csv(tmp_path / "report_auc.csv")
    assert [(row["class"], row["auc"]) for row in auc] == [("a", "1.0"), ("b", "1.0"), ("c", ""),
                                                          ("macro average", "1.0")]
    roc = read_csv(tmp_path / "report_roc.csv")
    assert list(roc[0]) == ["class", "false_positive_rate", "true_positive_rate", "threshold"]
    assert {row["class"] for row in roc} == {"a", "b"}  # c has no curve
    assert list(read_csv(tmp_path / "report_pr.csv")[0]) == ["class", "recall", "precision", "threshold"]
    assert len(read_csv(tmp_path / "report_calibration.csv")) == 10


def test_the_curves_figure_is_written(tmp_path):
    from PIL import Image

    written = two_class(SCORES, TARGETS).curves().write(tmp_path / "curves")
    assert [path.name for path in written] == ["auc.csv", "roc.csv", "pr.csv", "calibration.csv", "curves.png"]
    with Image.open(tmp_path / "curves" / "curves.png") as image:
        assert image.size == (1500, 480)


def test_evaluate_writes_the_curves_of_a_text_classifier_into_its_run_folder_or_the_folder_given(tmp_path, capsys):
    from PIL import Image

    from data_writers import write_text_csv
    from pytorchgui import paths
    from pytorchgui.cli import main

    spec = f"csv:{write_text_csv(tmp_path / 'reviews.csv')}?target=sentiment&input=review&tokens=words"
    run = tmp_path / "run"
    assert main(["train", str(paths.example_networks_dir() / "transformer_sequences.json"), "--data", spec,
                 "--val-split", "25", "--fit", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", spec, "--part", "validation"]) == 0
    folder = run / "evaluation" / "reviews.csv_validation"
    assert f"wrote the curves to {folder}: auc.csv, roc.csv, pr.csv, calibration.csv" in capsys.readouterr().err
    assert [row["class"] for row in read_csv(folder / "auc.csv")] == ["bad", "good", "macro average"]
    assert main(["evaluate", str(run), "--data", spec, "--curves", str(tmp_path / "chosen"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["curves"]["per_class"][1]["class"] == "good"  # stdout stays JSON
    assert f"wrote the curves to {tmp_path / 'chosen'}" in captured.err
    assert len(read_csv(tmp_path / "chosen" / "calibration.csv")) == 10
    with Image.open(tmp_path / "chosen" / "curves.png") as image:
        assert image.size == (1500, 480)
    (tmp_path / "again").mkdir()
    assert main(["evaluate", str(run), "--data", spec, "--no-curves", "--curves", str(tmp_path / "again")]) == 0
    assert list((tmp_path / "again").iterdir()) == [] and "curves" not in capsys.readouterr().err


def test_evaluate_says_a_regression_has_no_curves(tmp_path, capsys):
    from data_writers import write_regression_csv
    from pytorchgui import paths
    from pytorchgui.cli import main

    spec = f"csv:{write_regression_csv(tmp_path / 'diabetes.csv', rows=60)}?target=target"
    run = tmp_path / "run"
    assert main(["train", str(paths.example_networks_dir() / "mlp.json"), "--fit", "--data", spec, "--epochs", "1",
                 "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", spec, "--curves", str(tmp_path / "curves")]) == 0
    assert "no curves: ROC, precision-recall and calibration curves are for classification" in capsys.readouterr().err
    assert not (tmp_path / "curves").exists() and not (run / "evaluation").exists()


def test_one_sample_writes_tables_with_their_columns_and_no_rows(tmp_path):
    # a validation split of 0.25 % kept one sample: `evaluate` ended in an internal error (IndexError)
    curves = two_class([0.9], [0]).curves()
    curves.write(tmp_path)
    with open(tmp_path / "roc.csv", newline="") as stream:
        assert list(csv.DictReader(stream)) == [] and stream.seek(0) == 0 and \
            stream.readline().strip() == "class,false_positive_rate,true_positive_rate,threshold"
    with open(tmp_path / "auc.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert rows[0]["auc"] == "" and "no other class" in rows[0]["problem"]

"""Which data the Evaluation tab offers for the weights chosen (issue 29, misleading results
1): a CNN trained on a folder of digits was measured on the built-in shapes, whose images
have the same size and whose ten classes are other ones (7.85 %), without a word."""
from types import SimpleNamespace

import pytest

from data_writers import write_image_folder, write_regression_csv
from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.data.data_source import DataSource, builtin_pair, load_spec
from pytorchgui.core.training.metrics import EvaluationError
from pytorchgui.core.training.trained_model import open_trained_model
from pytorchgui.core.workspace import Workspace

LENET = paths.example_networks_dir() / "lenet5.json"
DIGITS = tuple(str(digit) for digit in range(10))


@pytest.fixture
def digits_run(tmp_path, capsys):
    folder = write_image_folder(tmp_path / "digits", classes=DIGITS, per_class=6, size=(28, 28), mode="L")
    out = tmp_path / "run"
    assert main(["train", str(LENET), "--fit", "--data", f"folder:{folder}", "--val-split", "20", "--epochs", "1",
                 "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    return open_trained_model(out), DataSource("folder", str(folder)).load()


def test_a_set_with_the_same_shape_but_other_classes_is_refused_with_the_reason(digits_run, capsys):
    trained, digits = digits_run
    _, shapes = builtin_pair(200, 100)
    assert shapes.sample_shape == digits.sample_shape == [1, 28, 28] and shapes.num_classes == 10
    problem = trained.data_problem(shapes)
    assert problem.startswith("the classes of Shapes (test) (circle, disk, square, filled square, … (10 classes)) "
                              "are not those the network was trained on (0, 1, 2, 3, … (10 classes))")
    with pytest.raises(EvaluationError, match="are not those the network was trained on"):
        trained.check_data(shapes)
    assert trained.data_problem(digits) is None
    assert main(["evaluate", str(trained.run.path), "--data", "builtin:200", "--test-mode"]) == 2
    assert "are not those the network was trained on" in capsys.readouterr().err


def test_the_offer_follows_the_run_its_validation_split_by_default(digits_run):
    trained, digits = digits_run
    workspace = Workspace(SimpleNamespace(network=None, path=None))
    train, test = builtin_pair(200, 100)
    workspace.add_dataset(test, "test")
    workspace.add_dataset(train, "train")
    entry = workspace.add_dataset(digits, "train")
    workspace.set_split(entry, 50, 3)  # the user's split now, not the run's
    offered = workspace.evaluation_sets(trained)
    assert [choice.label for choice in offered] == [
        "Shapes (test) [test]",
        "digits (validation, 20 %, the run's) [train]", "digits (validation, 50 %) [train]",
        "Shapes (train) [train, every row]", "digits [train, every row]"]
    fitting = {choice.label: choice.problem is None for choice in offered}
    assert fitting == {"Shapes (test) [test]": False, "digits (validation, 20 %, the run's) [train]": True,
                       "digits (validation, 50 %) [train]": True, "Shapes (train) [train, every row]": False,
                       "digits [train, every row]": True}
    chosen = workspace.default_evaluation_set(offered, trained)
    assert chosen.label == "digits (validation, 20 %, the run's) [train]"
    assert chosen.dataset().name == "digits (validation)" and len(chosen.dataset()) == 12  # 20 % of 60, as trained

    digits_test = DataSource("folder", str(digits.origin.path)).load()  # a test set with the run's classes
    digits_test.name = "digits (test)"
    workspace.add_dataset(digits_test, "test")
    offered = workspace.evaluation_sets(trained)
    assert workspace.default_evaluation_set(offered, trained).label == "digits (test) [test]"  # a test set first
    assert workspace.default_evaluation_set(workspace.evaluation_sets(None), None).label == "Shapes (test) [test]"


def test_a_regression_run_is_offered_its_validation_rows_not_a_classifiers_data(tmp_path, capsys):
    csv = write_regression_csv(tmp_path / "diabetes.csv")
    out = tmp_path / "run"
    assert main(["train", str(paths.example_networks_dir() / "mlp.json"), "--fit", "--data",
                 f"csv:{csv}?target=target", "--val-split", "20", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    trained = open_trained_model(out)
    assert trained.task == "regression"
    workspace = Workspace(SimpleNamespace(network=None, path=None))
    _, shapes = builtin_pair(200, 100)
    workspace.add_dataset(shapes, "test")
    workspace.add_dataset(load_spec(f"csv:{csv}?target=target"), "train")
    offered = workspace.evaluation_sets(trained)
    assert "numeric" not in offered[0].problem and "shape" in offered[0].problem
    chosen = workspace.default_evaluation_set(offered, trained)
    assert chosen.label == "diabetes.csv (validation, 20 %, the run's) [train]" and len(chosen.dataset()) == 88

"""The Evaluation tab measures the data that fits the weights chosen, says which data and
which weights it measured, and shows a regression as one (issue 29, misleading results 1
and 2). PNG grabs of both kinds of result go to PYTORCHGUI_GRABS (default: the test's
temporary folder)."""
import os
from pathlib import Path

import pytest
from PyQt5 import QtCore

from data_writers import write_image_folder, write_regression_csv
from gui_helpers import error_boxes
from pytorchgui import paths
from pytorchgui.core.data.data_source import DataSource, builtin_pair, load_spec

DIGITS = tuple(str(digit) for digit in range(10))


def grab(widget, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("PYTORCHGUI_GRABS", tmp_path))
    path = folder / f"{name}.png"
    assert widget.grab().save(str(path))
    return path


def train(qtbot, window, epochs: int = 1) -> None:
    tab = window.train_tab
    tab.validation_combo.setCurrentIndex(tab.validation_combo.findData("split"))
    tab.epochs_spin.setValue(epochs)
    tab.batch_spin.setValue(32)
    with qtbot.waitSignal(tab.training_finished, timeout=60000):
        assert tab.start()
    window.tabs.setCurrentWidget(window.evaluationTab)


def launch(qtbot, tab) -> None:
    assert tab.launch() is not None
    qtbot.waitUntil(lambda: tab.loading is None, timeout=30000)


def item_enabled(combo, text: str) -> bool:
    return combo.model().item(combo.findText(text)).isEnabled()


@pytest.fixture
def digits_window(qtbot, window, tmp_path):
    """LeNet-5 trained on a folder of digit images, with the built-in shapes (the same size,
    other classes) still open as the test set: the scene of the 7.85 %."""
    _, shapes = builtin_pair(200, 200)
    window.workspace.add_dataset(shapes, "test")
    folder = write_image_folder(tmp_path / "digits", classes=DIGITS, per_class=8, size=(28, 28), mode="L")
    entry = window.workspace.add_dataset(DataSource("folder", str(folder)).load(), "train")
    window.workspace.set_split(entry, 25, 0)
    window.workspace.fit_network(entry)
    train(qtbot, window)
    return window


def test_after_training_on_digits_the_runs_validation_split_is_measured_not_the_shapes(qtbot, digits_window,
                                                                                      tmp_path):
    tab = digits_window.evaluation_tab
    combo = tab.dataset_combo
    assert combo.currentText() == "digits (validation, 25 %, the run's) [train]"
    assert not item_enabled(combo, "Shapes (test) [test]")
    reason = combo.itemData(combo.findText("Shapes (test) [test]"), QtCore.Qt.ToolTipRole)
    assert "are not those the network was trained on" in reason
    assert "Shapes (test): the classes of Shapes (test)" in tab.offer_note.text()  # why it is not offered, in view
    launch(qtbot, tab)
    summary = tab.summary_label.text().replace("\u200b", "")  # the run name may wrap after its "_"
    run = digits_window.workspace.last_result.run_dir.name
    assert f"<b>{run}</b> (last_weights.pt) on <b>digits (validation, 25 %, the run's)</b>" in summary
    assert "<b>20</b> samples" in summary
    grab(tab, tmp_path, "evaluation_classification")

    combo.setCurrentIndex(combo.findText("Shapes (test) [test]"))  # chosen anyway (by a script): refused, with why
    assert tab.launch() is None
    [box] = error_boxes(tab)
    assert "are not those the network was trained on" in box.text()
    box.close()


@pytest.fixture
def regression_window(qtbot, window, tmp_path):
    """The MLP template fitted to a diabetes-like table (targets 25 to 346) through the
    Data tab's button, trained on 80 % of it."""
    assert window.document.open_example(paths.example_networks_dir() / "mlp.json") is not False
    entry = window.workspace.add_dataset(load_spec(f"csv:{write_regression_csv(tmp_path / 'diabetes.csv')}"
                                                   "?target=target"), "train")
    window.workspace.set_split(entry, 20, 0)
    data_tab = window.data_tab
    data_tab.table.selectRow(0)
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)
    log = window.train_tab.log_view.toPlainText()  # the status bar's message is soon replaced: the log keeps why
    assert "fit to diabetes.csv: " in log
    assert "loss CrossEntropyLoss -> MSELoss: diabetes.csv has a numeric target" in log
    train(qtbot, window, epochs=10)
    return window


def test_a_regression_run_is_measured_on_its_validation_rows_in_the_targets_units(qtbot, regression_window,
                                                                                   tmp_path):
    window = regression_window
    assert any("standardised" in line for line in window.train_tab.log_view.toPlainText().splitlines())
    tab = window.evaluation_tab
    assert tab.dataset_combo.currentText() == "diabetes.csv (validation, 20 %, the run's) [train]"
    launch(qtbot, tab)
    result = tab.result
    assert result.samples == 88 and result.r2 > 0.3 and result.mse > 100  # squared points, not standard deviations
    summary = tab.summary_label.text()
    assert f"MSE <b>{result.mse:.4g}</b>" in summary and f"R² <b>{result.r2:.4f}</b>" in summary
    assert "target's units" in summary and "on <b>diabetes.csv (validation, 20 %, the run's)</b>" in summary
    page = tab.regression_view
    assert tab.result_tabs.currentWidget() is page
    xs, ys = page.scatter.getData()
    assert len(xs) == 88 and list(xs) == pytest.approx(result.targets.flatten().tolist())
    assert list(ys) == pytest.approx(result.outputs.flatten().tolist())
    _, residuals = page.residuals.getData()
    assert list(residuals) == pytest.approx(result.residuals().flatten().tolist())
    for text in (tab.matrix_plot.empty.toPlainText(), tab.report_note.text(), tab.gallery_title.text()):
        assert "for classification" in text and "No results yet" not in text
    grab(tab, tmp_path, "evaluation_regression")
    for index, page in enumerate(("matrix", "report", "misclassified")):  # each says it is for classification
        tab.result_tabs.setCurrentIndex(index)
        grab(tab, tmp_path, f"evaluation_regression_{page}_page")


def test_results_are_cleared_when_the_model_changes(qtbot, regression_window):
    window = regression_window
    tab = window.evaluation_tab
    launch(qtbot, tab)
    assert "MSE" in tab.summary_label.text()
    assert window.document.open_example(paths.example_networks_dir() / "lenet5.json") is not False
    assert tab.result is None and "MSE" not in tab.summary_label.text()
    points = tab.regression_view.scatter.getData()[0]
    assert (points is None or len(points) == 0) and tab.report_table.rowCount() == 0
    launch(qtbot, tab)
    assert tab.result is not None
    tab.weights_combo.insertItem(0, "other", paths.example_networks_dir())  # another choice of weights
    tab.weights_combo.setCurrentIndex(0)
    assert tab.result is None and "MSE" not in tab.summary_label.text()


def test_try_it_gives_a_regression_networks_value_in_the_targets_units(qtbot, window, tmp_path):
    """Images whose target is their brightness, 50 to 290: the pad shows a value, not the
    probability of one class."""
    import json

    import numpy
    import torch
    from PIL import Image

    from pytorchgui.core.training import network_format
    from pytorchgui.core.training.metrics import model_input

    generator = numpy.random.default_rng(0)
    images = generator.integers(0, 256, size=(80, 1, 8, 8), dtype=numpy.uint8)
    numpy.savez(tmp_path / "brightness.npz", x=images, y=(50 + images.mean((1, 2, 3)) * 240 / 255).astype("float32"))
    network = network_format.loads(json.dumps({
        "$format": "pytorchgui.network", "$version": 3, "$input": {"shape": [1, 8, 8]},
        "$loss": {"type": "MSELoss"}, "$optimizer": {"type": "Adam", "parameters": {"lr": 0.01}},
        "flatten": {"type": "Flatten", "firstLayer": True, "nextLayer": "fc"},
        "fc": {"type": "Linear", "parameters": {"in_features": "auto", "out_features": 1}}}))
    window.document.open_untitled(network, "brightness.json", "example")
    entry = window.workspace.add_dataset(load_spec(str(tmp_path / "brightness.npz")), "train")
    assert entry.dataset.classes is None
    window.workspace.set_split(entry, 25, 0)
    train(qtbot, window, epochs=2)
    tab = window.evaluation_tab
    tab.result_tabs.setCurrentIndex(3)
    Image.fromarray(numpy.full((8, 8), 200, dtype=numpy.uint8), "L").save(tmp_path / "bright.png")
    values = tab.predict_image(tmp_path / "bright.png")
    trained = tab.trained
    sample = torch.full((1, 8, 8), 200, dtype=torch.uint8)
    with torch.no_grad():
        standardised = float(trained.model(model_input(trained.model, sample, trained.normalization)))
    expected = standardised * trained.target_normalization.std[0] + trained.target_normalization.mean[0]
    assert float(values[0]) == pytest.approx(expected, rel=1e-5)
    assert tab.prediction_label.text() == f"Predicted value: <b>{expected:.4g}</b> (the target's units)"
    assert not tab.probability_plot.isVisible() and not tab.saliency_check.isVisible()  # no classes to show
    grab(tab, tmp_path, "evaluation_regression_try_it")


def test_try_it_says_at_once_why_a_table_network_cannot_be_tried(qtbot, regression_window, tmp_path):
    """Issue 29: Try it showed the drawing pad for a network on CSV columns, and said it needs
    an image only after a stroke."""
    tab = regression_window.evaluation_tab
    regression_window.resize(1400, 900)
    tab.result_tabs.setCurrentIndex(3)
    qtbot.wait(20)
    assert tab.prediction_label.isVisible()
    assert tab.prediction_label.text().startswith("Try it needs a network whose input is an image")
    assert "[10]" in tab.prediction_label.text()  # what these weights take instead
    for widget in (tab.pad, tab.pad_tools, tab.text_edit, tab.prepared_label, tab.saliency_check):
        assert not widget.isVisible(), widget.objectName()
    grab(tab, tmp_path, "evaluation_table_try_it")


def test_a_fresh_start_measures_the_test_set_and_a_choice_outlives_new_imports(qtbot, fresh_window, tmp_path):
    """Issue 29: at a fresh start the first dataset offered was "Shapes (train) [train, every
    row]", the training rows, although "Shapes (test)" was there."""
    tab = fresh_window.evaluation_tab
    combo = tab.dataset_combo
    assert combo.currentText() == "Shapes (test) [test]"
    fresh_window.tabs.setCurrentWidget(fresh_window.evaluationTab)
    grab(fresh_window, tmp_path, "evaluation_fresh_start")
    combo.setCurrentIndex(combo.findText("Shapes (train) [train, every row]"))  # the user's own choice
    _, more = builtin_pair(200, 100)
    more.name = "More (test)"
    fresh_window.workspace.add_dataset(more, "test")
    assert combo.currentText() == "Shapes (train) [train, every row]"

"""The Evaluation tab after a short training run on the built-in shapes."""
import pytest
import torch
from PyQt5 import QtCore, QtWidgets

from gui_helpers import drag, error_boxes, train_one_epoch, trained_on_shapes
from pytorchgui.core.data import datasets


@pytest.fixture
def trained(qtbot, window):
    return trained_on_shapes(qtbot, window, 2400, 400, epochs=5)


def train_one_epoch_on_folder(qtbot, window, folder):
    """The image folder as the training set, the network fitted to it and trained one epoch."""
    from pytorchgui.core.data.data_source import DataSource

    train_one_epoch(qtbot, window, DataSource("folder", str(folder)).load())


def launch(qtbot, tab):
    thread = tab.launch()
    assert thread is not None
    qtbot.waitUntil(lambda: tab.loading is None, timeout=30000)


def test_launch_test_shows_metrics_matrix_report_and_gallery(qtbot, trained, tmp_path):
    tab = trained
    assert tab.dataset_combo.currentText() == "Shapes (test) [test]"
    assert tab.weights_combo.currentData() == "latest"
    launch(qtbot, tab)
    result = tab.result
    assert result.samples == 400 and result.accuracy > 0.5 and result.top5_accuracy >= result.accuracy
    text = tab.summary_label.text()
    assert "400</b> samples" in text and f"accuracy <b>{result.accuracy:.2%}</b>" in text and "top-5" in text
    assert int(result.confusion.sum()) == 400
    assert len(tab.matrix_texts) == 100 and tab.matrix_texts[0].toPlainText() == str(int(result.confusion[0, 0]))
    assert tab.report_table.rowCount() == 12 and tab.report_table.item(10, 0).text() == "macro average"
    wrong = result.worst_errors()
    assert tab.gallery.count() == min(32, len(wrong))
    tab.show_cell(0, 0)
    assert tab.gallery_title.text().startswith("True circle, predicted circle:")
    assert tab.gallery.count() == min(64, int(result.confusion[0, 0]))
    result.export(tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text().count('"name"') == 12  # 10 classes and 2 averages


def test_weights_from_a_saved_run_give_the_same_figures(qtbot, window, trained):
    """The test set is the run's validation set, so evaluating the run's weights must give
    exactly the accuracy the run measured at that epoch."""
    tab = trained
    history = window.train_tab.result.history
    launch(qtbot, tab)
    assert tab.result.accuracy == pytest.approx(history[-1]["validation_accuracy"], abs=1e-9)
    tab.weights_combo.setCurrentIndex(1)
    assert "(best)" in tab.weights_combo.currentText()
    launch(qtbot, tab)
    best = min(history, key=lambda row: row["validation_loss"])
    assert tab.result.samples == 400
    assert tab.result.accuracy == pytest.approx(best["validation_accuracy"], abs=1e-9)


def test_drawing_pad_predicts_as_the_user_draws(qtbot, trained):
    tab = trained
    tab.result_tabs.setCurrentIndex(3)
    pad = tab.pad
    start, end = QtCore.QPoint(140, 40), QtCore.QPoint(140, 240)
    drag(pad, start, end, steps=10)  # a vertical stroke
    qtbot.waitUntil(lambda: "Prediction:" in tab.prediction_label.text(), timeout=5000)
    probabilities = tab.predict_drawing()
    assert probabilities.shape == (10,) and abs(float(probabilities.sum()) - 1) < 1e-4
    assert tab.prepared_label.pixmap() is not None
    qtbot.wait(50)
    low, high = tab.probability_plot.getViewBox().viewRange()[1]
    assert low <= 0 and high >= 9  # every class's bar in view (the empty state's 0-to-1 range hid 9 of 10)
    qtbot.mouseClick(tab.findChild(QtWidgets.QPushButton, "clearPadButton"), QtCore.Qt.LeftButton)
    assert pad.array().max() == 0


def test_try_it_follows_a_new_training_run_and_the_weights_choice(qtbot, window, trained):
    tab = trained
    tab.predict_drawing()
    first = tab.trained
    assert first is not None and first.model is window.workspace.last_result.model
    train_tab = window.train_tab
    train_tab.epochs_spin.setValue(1)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        train_tab.start()
    tab.predict_drawing()  # without pressing Launch test
    assert tab.trained is not first and tab.trained.model is window.workspace.last_result.model
    tab.weights_combo.setCurrentIndex(tab.weights_combo.count() - 1)  # the oldest run's best weights
    assert tab.trained is None or tab.trained.model is not window.workspace.last_result.model
    tab.predict_drawing()
    assert tab.trained.model is not window.workspace.last_result.model and "Prediction:" in tab.prediction_label.text()


def test_problems_show_dialogs(qtbot, window):
    tab = window.evaluation_tab
    assert tab.launch() is None
    [box] = error_boxes(tab)
    assert "import a test set" in box.text()
    box.close()
    data = datasets.make_builtin(100, train=False)
    window.workspace.add_dataset(data, "test")
    assert tab.launch() is None
    [box] = error_boxes(tab)
    assert "no trained weights yet" in box.text()
    box.close()


def test_dataset_that_does_not_fit_and_weights_of_another_network(qtbot, trained, window, tmp_path):
    tab = trained
    wide = datasets.TensorDataset("wide", "test", torch.zeros(8, 3, 32, 32, dtype=torch.uint8), torch.zeros(8).long(),
                                  ["a"], "image")
    window.workspace.add_dataset(wide, "test")
    tab.dataset_combo.setCurrentIndex(tab.dataset_combo.findText("wide [test]"))
    assert tab.launch() is None
    [box] = error_boxes(tab)
    assert "takes input of shape [1, 28, 28] but wide has samples of shape [3, 32, 32]" in box.text()
    box.close()
    torch.save(torch.nn.Linear(3, 3).state_dict(), tmp_path / "other.pt")
    tab.weights_combo.insertItem(0, "other", tmp_path / "other.pt")
    tab.weights_combo.setCurrentIndex(0)
    tab.dataset_combo.setCurrentIndex(0)
    assert tab.launch() is None
    [box] = error_boxes(tab)
    assert "holds weights of another network" in box.text()
    box.close()


def test_try_it_gives_a_colour_model_the_colours_of_the_opened_image(qtbot, window, tmp_path):
    from PIL import Image

    from tests.data_writers import write_image_folder

    train_one_epoch_on_folder(qtbot, window, write_image_folder(tmp_path / "photos", size=(32, 32)))
    tab = window.evaluation_tab
    red = tmp_path / "red.png"
    Image.new("RGB", (300, 200), (220, 20, 20)).save(red)
    probabilities = tab.predict_image(red)
    assert probabilities is not None and probabilities.shape == (2,)
    pixel = tab.prepared_label.pixmap().toImage().pixelColor(10, 10)
    assert (pixel.red(), pixel.green(), pixel.blue()) == (220, 20, 20)
    assert "red.png resized to 32 x 32" in tab.prepared_label.toolTip()


def test_saliency_on_the_pad_and_over_the_misclassified_gallery(qtbot, trained):
    tab = trained
    tab.result_tabs.setCurrentIndex(3)
    drag(tab.pad, QtCore.QPoint(140, 40), QtCore.QPoint(140, 240), steps=10)
    probabilities = tab.predict_drawing()
    assert tab.saliency_label.pixmap() is not None and not tab.saliency_label.pixmap().isNull()
    assert tab.saliency_label.toolTip().startswith("Grad-CAM on conv2")
    heat = tab.saliency_map
    assert heat.heat.shape == (28, 28) and heat.heat.max() == 1.0 and heat.target == int(probabilities.argmax())
    tab.saliency_check.setChecked(False)
    tab.predict_drawing()
    assert tab.saliency_label.pixmap() is None or tab.saliency_label.pixmap().isNull()
    launch(qtbot, tab)
    plain = tab.gallery.grab().toImage()
    tab.gallery_saliency.setChecked(True)
    assert "no saliency" not in tab.gallery_title.text()
    tinted = tab.gallery.grab().toImage()
    coloured = sum(1 for x in range(0, tinted.width(), 3) for y in range(0, tinted.height(), 3)
                   if (c := tinted.pixelColor(x, y)).red() - c.blue() > 60)
    assert plain != tinted and coloured > 50  # inferno's reds and yellows over grey pictures


def test_saliency_is_explained_away_for_a_regression_network(qtbot):
    import torch

    from pytorchgui.core.training.saliency import SaliencyError, saliency

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1))
    with pytest.raises(SaliencyError, match="a regression.*not available"):
        saliency(model, torch.zeros(1, 4, 4, dtype=torch.uint8))


def test_one_run_folder_is_one_model_for_the_cli_the_tab_and_the_exports(qtbot, window, trained, tmp_path, capsys):
    """The same run folder through `pytorchgui evaluate`, the Evaluation tab and the
    window's export: the same normalisation, the same figures, the same exported model."""
    import json

    import onnxruntime

    from pytorchgui.cli import main
    from pytorchgui.core.training.runs import RunFolder

    tab, run_dir = trained, window.workspace.last_result.run_dir
    tab.weights_combo.setCurrentIndex(1)
    assert tab.weights_combo.currentData() == run_dir
    launch(qtbot, tab)
    assert tab.trained.normalization == RunFolder(run_dir).normalization() is not None
    assert main(["evaluate", str(run_dir), "--data", "builtin:400", "--test-mode", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["summary"]
    assert cli["samples"] == tab.result.samples == 400
    assert cli["accuracy"] == pytest.approx(tab.result.accuracy, abs=1e-9)
    assert cli["loss"] == pytest.approx(tab.result.loss, rel=1e-6)

    assert window.export_network("onnx", "onnx", str(tmp_path / "window.onnx"))
    assert main(["export", str(run_dir), "--format", "onnx", "-o", str(tmp_path / "cli.onnx")]) == 0
    raw = torch.rand(3, *tab.trained.input_shape).numpy()  # exports take raw pixels: normalisation inside
    outputs = [onnxruntime.InferenceSession(str(tmp_path / f"{name}.onnx")).run(None, {"input": raw})[0]
               for name in ("window", "cli")]
    assert abs(outputs[0] - outputs[1]).max() == 0
    expected = tab.trained.model.eval()(torch.from_numpy(raw).sub(torch.tensor(tab.trained.normalization.mean)
                                        .view(-1, 1, 1)).div(torch.tensor(tab.trained.normalization.std).view(-1, 1, 1)))
    assert abs(outputs[0] - expected.detach().numpy()).max() < 1e-4


def test_an_export_after_the_network_changed_says_so_and_offers_the_runs_network(qtbot, window, trained, tmp_path,
                                                                                  monkeypatch):
    from pytorchgui.core.interop.export import python_source
    from pytorchgui.gui import dialogs

    network = window.network_tab.network
    window.document.apply("move", lambda: network.move_node("fc1", (900.0, 40.0)))
    window.document.apply("freeze", lambda: network.set_trainable("conv1", False))
    asked = []

    def ask(parent, reason, run_name):
        asked.append(reason)
        return answers.pop(0)

    monkeypatch.setattr(dialogs, "ask_mismatched_export", ask)
    assert window.export_network("pt2", "pt2", str(tmp_path / "same.pt2"))  # moved and frozen: same weights
    assert not asked and "with the weights of" in window.statusBar().currentMessage()
    window.document.apply("wider", lambda: network.set_parameters("fc3", {**network.node("fc3").parameters, "out_features": 12}))
    answers = [None, "run", "edited"]
    assert not window.export_network("onnx", "onnx", str(tmp_path / "cancelled.onnx"))
    assert "has changed since" in asked[0] and "fc3" in asked[0] and not (tmp_path / "cancelled.onnx").exists()
    assert window.export_network("python", "py", str(tmp_path / "edited.py"))  # no weights: nothing to ask
    assert len(asked) == 1 and "out_features=12" in (tmp_path / "edited.py").read_text()
    assert window.export_network("pt2", "pt2", str(tmp_path / "run.pt2"))
    assert "with the weights of" in window.statusBar().currentMessage()
    exported = torch.export.load(str(tmp_path / "run.pt2")).module()
    assert exported(torch.rand(2, 1, 28, 28)).shape == (2, 10)  # the run's own network
    assert window.export_network("pt2", "pt2", str(tmp_path / "edited.pt2"))
    assert "with the weights" not in window.statusBar().currentMessage()
    assert len(asked) == 3 and "out_features=12" in python_source(network)


def test_try_it_prepares_a_drawing_like_the_training_digits_or_the_mnist_way(qtbot, window, tmp_path):
    """Issue 29: a network trained on a folder of thick, dark, frame-filling digit PNGs read
    MNIST-style drawings (thin, light, in a 20-pixel box) as another digit. The pad now
    prepares a drawing like the training images, shows it, and still offers MNIST-style."""
    from PIL import Image

    from pytorchgui.core.data.drawing import measure_style
    from tests.core.data.test_drawing import digits

    for index, image in enumerate(digits(80, thick=True)):
        folder = tmp_path / "digits" / str(index % 2)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0].numpy()).save(folder / f"{index}.png")
    train_one_epoch_on_folder(qtbot, window, tmp_path / "digits")
    window.tabs.setCurrentWidget(window.evaluationTab)
    tab = window.evaluation_tab
    tab.result_tabs.setCurrentIndex(3)
    assert tab.drawing_style_combo.currentText() == "like the training data"
    drag(tab.pad, QtCore.QPoint(140, 40), QtCore.QPoint(140, 240), steps=10)  # a 1
    qtbot.waitUntil(lambda: "Prediction:" in tab.prediction_label.text(), timeout=5000)
    training = tab.trained.drawing_style
    assert training.dark_on_light and training.extent > 0.9
    prepared = measure_style(tab.prepared_sample[None].float())
    assert prepared.dark_on_light and prepared.background == 255  # dark ink on white, as the PNGs
    assert prepared.stroke_width == pytest.approx(training.stroke_width, rel=0.3)
    assert prepared.extent == pytest.approx(training.extent, abs=0.08)
    assert "like the training data" in tab.input_caption.text()
    assert "dark ink on a light background" in tab.prepared_label.toolTip()
    tab.grab().save(str(tmp_path / "try_it_like_training.png"))
    tab.drawing_style_combo.setCurrentText("MNIST-style")
    qtbot.waitUntil(lambda: int(tab.prepared_sample[0, 0, 0]) == 0, timeout=5000)  # light on black again
    mnist = measure_style(tab.prepared_sample[None].float())
    assert not mnist.dark_on_light and mnist.extent == pytest.approx(20 / 28, abs=0.05)
    assert "MNIST-style" in tab.input_caption.text()
    tab.grab().save(str(tmp_path / "try_it_mnist.png"))
    tab.drawing_style_combo.setCurrentText("like the training data")
    tab.trained.drawing_style = None  # a run from before styles were recorded: the training set is measured
    tab.predict_drawing()
    assert "like the training data" in tab.input_caption.text() and int(tab.prepared_sample[0, 0, 0]) == 255


@pytest.mark.parametrize("classes, rows", [(["0", "1", "2"], ["0", "1", "2"]),  # digits in folders 0 to 9
                                          (["cat", "dog", "7"], ["cat 0", "dog 1", "7 2"])])
def test_the_matrix_names_each_class_once_with_its_number_when_the_name_is_not_it(qtbot, classes, rows):
    from pytorchgui.gui.confusion_plot import ConfusionMatrixPlot

    plot = ConfusionMatrixPlot("matrix", "none yet")
    qtbot.addWidget(plot)
    plot.show_matrix([[3, 1, 0], [0, 4, 0], [1, 0, 5]], classes)
    [left] = plot.getAxis("left")._tickLevels  # pyqtgraph keeps the ticks it was given there
    [bottom] = plot.getAxis("bottom")._tickLevels
    assert [text for _, text in left] == rows and [text for _, text in bottom] == ["0", "1", "2"]


def test_a_mistake_clicked_in_the_gallery_opens_in_try_it_with_what_drove_it(qtbot, trained):
    tab = trained
    tab.saliency_check.setChecked(False)  # turned off earlier: the click shows the saliency anyway
    launch(qtbot, tab)
    tab.result_tabs.setCurrentIndex(2)
    index = tab._gallery_shown[0][0]
    picture = tab.gallery.grid.itemAt(0).widget().findChildren(QtWidgets.QLabel)[0]
    assert "click" in picture.toolTip()
    qtbot.mouseClick(picture, QtCore.Qt.LeftButton)
    result = tab.result
    assert tab.result_tabs.currentIndex() == 3
    predicted, true = (result.classes[int(result.predictions[index])], result.classes[int(result.targets[index])])
    assert tab.prediction_label.text().startswith(f"Prediction: <b>{predicted}</b>")  # as the test measured it
    assert f"sample {index}" in tab.input_caption.text() and true in tab.input_caption.text()
    assert tab.saliency_check.isChecked() and not tab.saliency_label.pixmap().isNull()
    shown = tab.prepared_label.pixmap().toImage()
    sample = tab.evaluated.inputs[index][0]
    assert shown.pixelColor(3 * 14, 3 * 14).red() == int(sample[14, 14])  # the sample itself, at 3x
    qtbot.wait(200)  # nothing comes back to overwrite it (the pad is empty)
    assert tab.prediction_label.text().startswith(f"Prediction: <b>{predicted}</b>")


def test_try_it_before_any_prediction_shows_its_whole_prompt_and_no_class_axis(qtbot, window):
    window.tabs.setCurrentWidget(window.evaluationTab)
    tab = window.evaluation_tab
    tab.result_tabs.setCurrentIndex(3)
    qtbot.wait(50)
    label = tab.prediction_label
    assert label.text() == "Draw a shape or a digit, or open an image."
    # the column is narrow: the prompt wraps to three lines, and the label is as tall as they are
    assert label.height() >= label.heightForWidth(label.width()) > label.fontMetrics().height() * 2
    label.setText("A much longer message that says why there is no prediction yet, over several lines.")
    qtbot.wait(20)
    assert label.height() >= label.heightForWidth(label.width())
    assert tab.probability_plot.getAxis("left")._tickLevels == [[]]  # no class axis from 0 to 1
    hints = [item for item in tab.probability_plot.getPlotItem().items if hasattr(item, "textItem")]
    assert "appears here" in hints[0].textItem.toPlainText()


DRAW_PROMPT = "Draw a shape or a digit, or open an image."


def assert_try_it_is_empty(tab, prompt: str = DRAW_PROMPT) -> None:
    """Try it as before any prediction: nothing of an earlier input, prediction or model."""
    import pyqtgraph

    assert tab.pad.array().max() == 0 and tab.tried_sample is None and tab.prepared_sample is None
    for label in (tab.prepared_label, tab.saliency_label):
        assert label.pixmap() is None or label.pixmap().isNull()
    assert tab.input_caption.text() == "Network input:" and tab.prediction_label.text() == prompt
    items = tab.probability_plot.getPlotItem().items
    assert not [item for item in items if isinstance(item, pyqtgraph.BarGraphItem)]
    hints = [item.textItem.toPlainText() for item in items if hasattr(item, "textItem")]
    assert any("appears here" in hint for hint in hints)  # the chart's empty state


def test_other_weights_clear_what_try_it_showed_for_the_last_ones(qtbot, trained, tmp_path):
    """Issue 29: after another run, Try it still showed the last network's drawing, heat map
    and class probabilities beside the new weights."""
    tab = trained
    tab.result_tabs.setCurrentIndex(3)
    drag(tab.pad, QtCore.QPoint(140, 40), QtCore.QPoint(140, 240), steps=10)
    qtbot.waitUntil(lambda: "Prediction:" in tab.prediction_label.text(), timeout=5000)
    assert not tab.saliency_label.pixmap().isNull() and not tab.prepared_label.pixmap().isNull()
    tab.result_tabs.setCurrentIndex(0)  # the weights change while another page is shown
    tab.weights_combo.setCurrentIndex(1)
    tab.result_tabs.setCurrentIndex(3)
    qtbot.wait(200)  # nothing predicts the old drawing again
    assert_try_it_is_empty(tab)
    tab.window().resize(1400, 900)
    qtbot.wait(50)  # laid out at that size
    tab.grab().save(str(tmp_path / "try_it_after_other_weights.png"))


def test_clear_empties_the_pad_and_forgets_the_sample_tried(qtbot, trained, tmp_path):
    """Issue 29: Clear emptied the pad but the side still named the gallery's sample and its
    prediction."""
    tab = trained
    launch(qtbot, tab)
    tab.try_sample(tab._gallery_shown[0][0])
    assert "sample" in tab.input_caption.text() and "Prediction:" in tab.prediction_label.text()
    qtbot.mouseClick(tab.findChild(QtWidgets.QPushButton, "clearPadButton"), QtCore.Qt.LeftButton)
    qtbot.wait(200)  # and the empty pad is not predicted
    assert_try_it_is_empty(tab)
    tab.window().resize(1400, 900)
    qtbot.wait(50)  # laid out at that size
    tab.grab().save(str(tmp_path / "try_it_cleared.png"))


@pytest.fixture
def text_trained(qtbot, window, tmp_path):
    """The transformer template fitted to short reviews (a CSV text column) and trained a
    few epochs, a quarter of the reviews held out: its run's name is a long one
    ("…_transformer_sequences")."""
    from gui_helpers import choose_text_csv, open_data
    from pytorchgui import paths
    from tests.data_writers import write_text_csv

    data_tab = window.data_tab
    choose_text_csv(data_tab, write_text_csv(tmp_path / "reviews.csv"), "sentiment", "review", 8)
    assert open_data(qtbot, data_tab, "CSV table")
    assert window.start_from_template(paths.example_networks_dir() / "transformer_sequences.json")
    window.workspace.set_split(window.workspace.datasets[0], 25, 0)
    data_tab.table.selectRow(0)
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)
    train_tab = window.train_tab
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findData("split"))
    train_tab.epochs_spin.setValue(3)
    train_tab.batch_spin.setValue(16)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start()
    window.tabs.setCurrentWidget(window.evaluationTab)
    window.resize(1400, 900)
    return window.evaluation_tab


def test_a_text_clicked_in_the_gallery_opens_in_try_it_as_the_test_predicted_it(qtbot, text_trained, tmp_path):
    from pytorchgui.core.data.sequences import decode

    tab = text_trained
    launch(qtbot, tab)
    result = tab.result
    tab.show_cell(int(result.targets[0]), int(result.predictions[0]))
    saliency = tab.gallery_saliency  # no heat map over token ids: offered for images only
    assert not saliency.isEnabled() and "text" in saliency.toolTip()
    tab.grab().save(str(tmp_path / "misclassified_texts.png"))
    index = tab._gallery_shown[0][0]
    item = tab.gallery_texts.item(0)
    qtbot.mouseClick(tab.gallery_texts.viewport(), QtCore.Qt.LeftButton,
                     pos=tab.gallery_texts.visualItemRect(item).center())
    assert tab.result_tabs.currentIndex() == 3
    text = decode(tab.evaluated.inputs[index].tolist(), tab.evaluated.tokenizer)
    assert tab.text_edit.toPlainText() == text and tab.tokens_label.text() == text
    predicted, true = (result.classes[int(result.predictions[index])], result.classes[int(result.targets[index])])
    expected = f"Prediction: <b>{predicted}</b> ({float(result.confidences[index]):.0%})"
    assert tab.prediction_label.text() == expected  # as the test measured it
    assert f"sample {index} of" in tab.input_caption.text() and f"<b>{true}</b>" in tab.input_caption.text()
    qtbot.wait(200)  # nothing comes back to predict it otherwise
    assert tab.prediction_label.text() == expected and f"sample {index}" in tab.input_caption.text()
    tab.grab().save(str(tmp_path / "try_it_text_sample.png"))
    tab.text_edit.setPlainText("boring and slow")  # typed over: the sample is forgotten
    qtbot.waitUntil(lambda: "sample" not in tab.input_caption.text(), timeout=5000)
    assert tab.tried_sample is None and tab.tokens_label.text() == "boring and slow"


def test_a_long_run_name_wraps_in_the_summary_and_clips_no_control(qtbot, text_trained, tmp_path):
    """Issue 29: "2026-12-03_03-02-28_transformer_sequences" in bold widened the column's
    content past the column: "Set." for "Set…", and Launch test cut."""
    from PyQt5 import QtGui

    tab = text_trained
    launch(qtbot, tab)
    qtbot.wait(50)
    label = tab.summary_label
    assert "transformer_sequences" in label.text().replace("\u200b", "")  # breaks allowed after "_"
    document = QtGui.QTextDocument()  # the summary laid out as the label lays it out, at its width
    document.setDocumentMargin(0)
    option = document.defaultTextOption()
    option.setWrapMode(QtGui.QTextOption.WordWrap)  # a label breaks lines between words only
    document.setDefaultTextOption(option)
    document.setDefaultFont(label.font())
    document.setHtml(label.text())
    document.setTextWidth(label.contentsRect().width())
    assert document.idealWidth() <= label.contentsRect().width()
    assert label.height() >= document.size().height()
    column = tab.launch_button.parentWidget()
    viewport = column.parentWidget()
    assert column.width() <= viewport.width()
    for button in column.findChildren(QtWidgets.QPushButton):
        assert button.width() >= button.sizeHint().width(), button.text()
        assert button.mapTo(column, button.rect().topRight()).x() < viewport.width(), button.text()
    tab.grab().save(str(tmp_path / "long_run_name_summary.png"))

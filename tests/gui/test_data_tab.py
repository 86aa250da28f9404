"""The Data tab driven through its widgets, on files in the real formats."""
import pytest
from PyQt5 import QtCore, QtWidgets

from gui_helpers import choose_text_csv, error_boxes, open_data
from tests.data_writers import write_cifar10, write_csv, write_image_folder, write_mnist, write_tensor_files
from pytorchgui import paths


def table_row(tab, row):
    return [tab.table.item(row, column).text() for column in range(tab.table.columnCount())]


@pytest.fixture
def data_tab(window):
    window.tabs.setCurrentIndex(0)
    return window.data_tab


def test_import_mnist_train_and_test_sets(qtbot, data_tab, tmp_path):
    write_mnist(tmp_path)
    data_tab.root_field.set_path(str(tmp_path))
    assert open_data(qtbot, data_tab, "MNIST", "train")
    assert open_data(qtbot, data_tab, "MNIST", "test")
    assert table_row(data_tab, 0)[:6] == ["MNIST (train)", f"torchvision MNIST at {tmp_path}", "60", "1 x 28 x 28",
                                          "10", "train"]
    assert table_row(data_tab, 1)[5] == "test" and table_row(data_tab, 1)[2] == "20"
    assert [d.name for d in data_tab.workspace.training_sets()] == ["MNIST (train)"]
    data_tab.table.selectRow(0)
    assert data_tab.sample_grid.count() == 32
    assert "Normalisation (per channel" in data_tab.stats_label.text()


def test_import_cifar_folder_csv_and_tensor_files(qtbot, data_tab, tmp_path):
    write_cifar10(tmp_path)
    data_tab.root_field.set_path(str(tmp_path))
    assert open_data(qtbot, data_tab, "CIFAR10")
    assert table_row(data_tab, 0)[2:5] == ["50", "3 x 32 x 32", "10"]
    write_image_folder(tmp_path / "pets")
    data_tab.folder_field.set_path(str(tmp_path / "pets"))
    data_tab.resize_edit.setText("16, 16")
    data_tab.channels_combo.setCurrentText("1 (grayscale)")
    assert open_data(qtbot, data_tab, "Image folder")
    assert table_row(data_tab, 1)[2:5] == ["8", "1 x 16 x 16", "2"]
    data_tab.csv_field.set_path(str(write_csv(tmp_path / "table.csv")))
    assert data_tab.target_combo.currentText() == "label"
    assert open_data(qtbot, data_tab, "CSV table", "test")
    assert table_row(data_tab, 2)[2:6] == ["5", "5", "2", "test"]
    assert data_tab.preview_tabs.currentIndex() == 1 and data_tab.rows_view.rowCount() == 5
    assert data_tab.rows_view.horizontalHeaderItem(5).text() == "target"
    npz, _ = write_tensor_files(tmp_path)
    data_tab.tensor_field.set_path(str(npz))
    assert open_data(qtbot, data_tab, "Array file (.npz, .pt, .npy, .h5)")
    assert table_row(data_tab, 3)[2:4] == ["30", "4"]


def test_builtin_validation_split_and_fit(qtbot, window, data_tab):
    data_tab.builtin_samples.setValue(1000)
    assert open_data(qtbot, data_tab, "Built-in shapes")
    data_tab.table.selectRow(0)
    data_tab.validation_spin.setValue(10)
    assert table_row(data_tab, 0)[5] == "train (10% validation)"
    train, validation = window.workspace.datasets[0].split()
    assert len(train) == 900 and len(validation) == 100
    window.document.apply("break", lambda: window.network_tab.network.set_input([3, 32, 32]))
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)
    assert window.network_tab.network.input_spec.shape == [1, 28, 28]
    assert "Fit to Shapes (train)" in window.statusBar().currentMessage()
    qtbot.mouseClick(data_tab.findChild(QtWidgets.QPushButton, "useTestButton"), QtCore.Qt.LeftButton)
    assert window.workspace.test_sets() == [window.workspace.datasets[0]]
    qtbot.mouseClick(data_tab.clear_button, QtCore.Qt.LeftButton)
    assert window.workspace.datasets == [] and "No data yet" in data_tab.stats_label.text()


@pytest.mark.parametrize("case", ["missing folder", "empty folder", "corrupt image", "truncated idx", "csv target",
                                  "pt with code"])
def test_bad_input_shows_a_dialog_and_keeps_the_data(qtbot, data_tab, tmp_path, case):
    import os

    import torch

    data_tab.builtin_samples.setValue(200)
    assert open_data(qtbot, data_tab, "Built-in shapes")
    if case == "missing folder":
        data_tab.folder_field.set_path(str(tmp_path / "nowhere"))
        source, expected = "Image folder", "nowhere is not a folder"
    elif case == "empty folder":
        (tmp_path / "empty").mkdir()
        data_tab.folder_field.set_path(str(tmp_path / "empty"))
        source, expected = "Image folder", "empty has no sub-folders"
    elif case == "corrupt image":
        write_image_folder(tmp_path / "pets")
        (tmp_path / "pets" / "cat" / "bad.png").write_bytes(b"not an image")
        data_tab.folder_field.set_path(str(tmp_path / "pets"))
        source, expected = "Image folder", "bad.png is not a readable image"
    elif case == "truncated idx":
        write_mnist(tmp_path)
        labels = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte"
        labels.write_bytes(labels.read_bytes()[:20])
        data_tab.root_field.set_path(str(tmp_path))
        source, expected = "MNIST", "MNIST in"
    elif case == "csv target":
        path = write_csv(tmp_path / "t.csv")
        data_tab.csv_field.set_path(str(path))
        path.write_text("a,b\n1,2\n")
        source, expected = "CSV table", "has no column 'label'"
    else:
        class Exploit:
            def __reduce__(self):
                return (os.system, ("true",))

        torch.save({"x": Exploit(), "y": torch.zeros(1)}, tmp_path / "evil.pt")
        data_tab.tensor_field.set_path(str(tmp_path / "evil.pt"))
        source, expected = "Array file (.npz, .pt, .npy, .h5)", "holds code or objects other than tensors"
    assert not open_data(qtbot, data_tab, source)
    [box] = error_boxes(data_tab)
    assert expected in box.text() and "The data imported before is unchanged" in box.text()
    assert [d.name for d in data_tab.workspace.datasets] == ["Shapes (train)"]
    box.close()


def test_arrays_sequences_and_the_layout_question(qtbot, window, data_tab, tmp_path, monkeypatch):
    import numpy

    from pytorchgui.gui import dialogs
    from tests.data_writers import write_hdf5

    rng = numpy.random.default_rng(0)
    numpy.savez(tmp_path / "nhwc.npz", x=rng.integers(0, 256, (20, 16, 16, 3)).astype("uint8"), y=numpy.arange(20) % 2)
    data_tab.tensor_field.set_path(str(tmp_path / "nhwc.npz"))
    assert open_data(qtbot, data_tab, "Array file (.npz, .pt, .npy, .h5)")
    assert table_row(data_tab, 0)[3] == "3 x 16 x 16"
    assert table_row(data_tab, 0)[7] == "channels-last images [16, 16, 3] transposed to [3, 16, 16]"
    asked = []
    monkeypatch.setattr(dialogs, "ask_layout", lambda parent, path, shape: asked.append(shape) or "nhwc")
    write_hdf5(tmp_path / "odd.h5", images=rng.integers(0, 256, (6, 3, 8, 4)).astype("uint8"), labels=numpy.arange(6) % 2)
    data_tab.tensor_field.set_path(str(tmp_path / "odd.h5"))
    data_tab.x_name_edit.setText("images")
    data_tab.y_name_edit.setText("labels")
    data_tab.layout_combo.setCurrentIndex(0)
    assert open_data(qtbot, data_tab, "Array file (.npz, .pt, .npy, .h5)")  # asks first, then reads again
    assert asked == [(6, 3, 8, 4)] and data_tab.layout_combo.currentText() == "channels last (NHWC)"
    assert table_row(data_tab, 1)[3] == "4 x 3 x 8" and not error_boxes(window)
    data_tab.sequence_samples.setValue(500)
    assert open_data(qtbot, data_tab, "Built-in sequences")
    data_tab.table.selectRow(2)
    assert table_row(data_tab, 2)[2:5] == ["500", "16", "4"] and "Token ids 0 to 11: kept as integers" in data_tab.stats_label.text()
    assert data_tab.rows_view.horizontalHeaderItem(0).text() == "token ids"


def test_csv_text_and_time_series_from_the_form(qtbot, window, data_tab, tmp_path):
    from tests.data_writers import write_series_csv, write_text_csv

    choose_text_csv(data_tab, write_text_csv(tmp_path / "reviews.csv"), "sentiment", "review", 10)
    assert not data_tab.text_combo.isEnabled()  # "Text columns" is for tables only
    assert open_data(qtbot, data_tab, "CSV table")
    data_tab.table.selectRow(0)
    assert table_row(data_tab, 0)[3] == "10" and "text column 'review' as token ids" in table_row(data_tab, 0)[7]
    assert data_tab.rows_view.item(0, 0).text() == "a wonderful film truly great acting"
    data_tab.text_column_combo.setCurrentText("sentiment")  # the target itself: refused by name
    assert not open_data(qtbot, data_tab, "CSV table")
    assert "the text column 'sentiment' is the target column" in error_boxes(window)[-1].text()
    error_boxes(window)[-1].close()
    data_tab.csv_field.set_path(str(write_series_csv(tmp_path / "weather.csv", rows=100)))
    data_tab.target_combo.setCurrentText("warmer")
    data_tab.task_combo.setCurrentText("classification")
    data_tab.csv_input_combo.setCurrentIndex(2)
    data_tab.window_spin.setValue(7)
    assert open_data(qtbot, data_tab, "CSV table")
    assert table_row(data_tab, 1)[2:4] == ["93", "7 x 2"]
    data_tab.window_spin.setValue(200)
    assert not open_data(qtbot, data_tab, "CSV table")
    assert "too few for a window of 200" in error_boxes(window)[-1].text() and len(window.workspace.datasets) == 2


def _write_reviews(path, reviews):
    import pandas

    pandas.DataFrame({"review": reviews, "sentiment": ["good", "bad"] * (len(reviews) // 2)}).to_csv(path, index=False)
    return path


def test_a_text_test_set_is_shown_with_the_chosen_training_sets_vocabulary(qtbot, window, data_tab, tmp_path):
    """Training reads a text test set again with the training vocabulary: the Data tab shows
    that reading (its rows, its token count), says so, and follows the chosen training set."""
    test = _write_reviews(tmp_path / "test.csv", ["an awful, awful story", "great acting"] * 3)
    choose_text_csv(data_tab, test, "sentiment", "review", 6)
    assert open_data(qtbot, data_tab, "CSV table", "test")
    data_tab.table.selectRow(0)
    assert data_tab.rows_view.item(0, 0).text() == "an awful awful story"  # no training set: its own vocabulary
    assert "its own vocabulary" in data_tab.stats_label.text()
    choose_text_csv(data_tab, _write_reviews(tmp_path / "train.csv", ["a great film", "a dull film"] * 5),
                    "sentiment", "review", 6)
    assert open_data(qtbot, data_tab, "CSV table", "train")
    qtbot.waitUntil(lambda: data_tab.vocabulary_reading is None)
    assert "with the training set's vocabulary: words, 6 tokens, length 6" in table_row(data_tab, 0)[7]
    data_tab.table.selectRow(0)
    assert data_tab.rows_view.item(0, 0).text() == "<unk> <unk> <unk> <unk>"
    assert data_tab.rows_view.item(1, 0).text() == "great <unk>"
    stats = data_tab.stats_label.text()
    assert "Token ids 0 to 4" in stats and "read with the training set's vocabulary (train.csv" in stats, stats
    assert data_tab.rows_view.horizontalHeaderItem(0).text() == "tokens, with the training set's vocabulary (train.csv)"
    qtbot.wait(50)  # the column's layout follows the new text
    data_tab.grab().save(str(tmp_path / "data_tab_text.png"))
    data_tab.stats_label.grab().save(str(tmp_path / "data_tab_text_stats.png"))

    other = _write_reviews(tmp_path / "other.csv", ["an awful story", "great acting"] * 4)
    choose_text_csv(data_tab, other, "sentiment", "review", 6)
    assert open_data(qtbot, data_tab, "CSV table", "train")  # imported to train on: the new choice
    qtbot.waitUntil(lambda: data_tab.vocabulary_reading is None)
    data_tab.table.selectRow(0)
    assert data_tab.rows_view.item(0, 0).text() == "an awful awful story" and "(other.csv" in data_tab.stats_label.text()
    train_combo = window.train_tab.train_combo
    train_combo.setCurrentIndex(train_combo.findText("train.csv"))  # the Train tab's choice
    assert window.workspace.chosen_training_set.name == "train.csv"
    qtbot.waitUntil(lambda: data_tab.vocabulary_reading is None)
    assert data_tab.rows_view.item(0, 0).text() == "<unk> <unk> <unk> <unk>"
    assert "(train.csv" in data_tab.stats_label.text()


def test_augmented_preview_follows_the_train_tab_pipeline(qtbot, window, data_tab, tmp_path):
    data_tab.builtin_samples.setValue(500)
    assert open_data(qtbot, data_tab, "Built-in shapes")
    data_tab.table.selectRow(0)
    data_tab.preview_tabs.setCurrentIndex(3)
    assert data_tab.augmented_grid.count() == 0 and "No augmentation" in data_tab.augmented_label.text()
    editor = window.train_tab.options.augmentation_editor
    editor.add("RandomCrop")
    editor.add("MixUp")
    assert window.workspace.training_config.augmentation == "RandomCrop, MixUp"
    assert data_tab.augmented_grid.count() == 24 and "seed 0" in data_tab.augmented_label.text()
    first = data_tab.augmented_grid.grid.itemAt(0).widget().findChildren(QtWidgets.QLabel)[1].text()
    assert "%" in first  # a blended sample names both classes
    qtbot.mouseClick(data_tab.reseed_button, QtCore.Qt.LeftButton)
    assert "seed 1" in data_tab.augmented_label.text() and data_tab.augmented_grid.count() == 24
    editor.list.setCurrentRow(1)
    editor.remove_current()
    assert window.workspace.training_config.augmentation == "RandomCrop"
    assert window.train_tab.options.config().augmentation == "RandomCrop"


def test_a_large_hdf5_file_is_streamed_and_previewed(qtbot, window, data_tab, tmp_path, monkeypatch):
    import numpy

    from pytorchgui.core.data import samples
    from tests.data_writers import write_hdf5

    monkeypatch.setattr(samples, "IN_MEMORY_LIMIT_BYTES", 1000)
    images = numpy.random.default_rng(0).random((40, 12, 12, 3)).astype("float32")  # floats in 0..1
    data_tab.tensor_field.set_path(str(write_hdf5(tmp_path / "big.h5", x=images, y=numpy.arange(40) % 5)))
    data_tab.x_name_edit.clear()
    data_tab.y_name_edit.clear()
    assert open_data(qtbot, data_tab, "Array file (.npz, .pt, .npy, .h5)")
    data_tab.table.selectRow(0)
    row = table_row(data_tab, 0)
    assert row[3] == "3 x 12 x 12" and row[6] == "streamed" and "read from disk batch by batch" in row[7]
    assert data_tab.sample_grid.count() == 32 and not error_boxes(window)


def test_fit_says_when_the_network_still_cannot_take_the_data_and_what_to_start_from(qtbot, window, data_tab,
                                                                                      tmp_path):
    from tests.data_writers import write_regression_csv

    data_tab.csv_field.set_path(str(write_regression_csv(tmp_path / "diabetes.csv")))
    data_tab.target_combo.setCurrentText("target")
    assert open_data(qtbot, data_tab, "CSV table")
    data_tab.table.selectRow(0)
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)  # LeNet-5, the example: convolutions
    boxes = error_boxes(data_tab)
    assert len(boxes) == 1
    assert "fitted to diabetes.csv, but its layers cannot take a table's columns (Conv2d 'conv1'" in boxes[0].text()
    assert "start from the template mlp" in boxes[0].text()
    assert boxes[0].icon() == QtWidgets.QMessageBox.Warning  # advice, not an error
    boxes[0].grab().save(str(tmp_path / "unfit.png"))
    boxes[0].close()
    assert window.start_from_template(paths.example_networks_dir() / "mlp.json")
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)
    assert not error_boxes(data_tab)
    assert "Fit to diabetes.csv" in window.statusBar().currentMessage()


def test_the_set_the_network_is_fitted_to_is_the_one_the_next_run_trains_on(qtbot, window, data_tab, tmp_path):
    from tests.data_writers import write_regression_csv

    data_tab.builtin_samples.setValue(500)
    assert open_data(qtbot, data_tab, "Built-in shapes")
    data_tab.csv_field.set_path(str(write_regression_csv(tmp_path / "diabetes.csv")))
    data_tab.target_combo.setCurrentText("target")
    assert open_data(qtbot, data_tab, "CSV table")
    assert window.train_tab.train_combo.currentText().startswith("diabetes.csv")  # imported last
    data_tab.table.selectRow(0)
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)
    assert window.workspace.chosen_training_set is window.workspace.datasets[0]
    assert window.train_tab.train_combo.currentText().startswith("Shapes (train)")


def test_a_tables_normalisation_reads_plain_numbers_in_one_sentence(qtbot, window, data_tab, tmp_path):
    columns = [f"x{number}" for number in range(8)]
    rows = [[-0.0005 if (row, column) == (0, 0) else float(row * column) for column in range(8)] for row in range(5)]
    table = tmp_path / "table.csv"
    table.write_text(",".join(columns + ["y"]) + "\n"
                     + "".join(",".join(map(str, row + [row[1] * 2])) + "\n" for row in rows))
    data_tab.csv_field.set_path(str(table))
    data_tab.target_combo.setCurrentText("y")
    assert open_data(qtbot, data_tab, "CSV table")
    data_tab.table.selectRow(0)
    stats = data_tab.stats_label.text()
    assert "mean 0.000, 2.000, 4.000, 6.000, 8.000, 10.000;" in stats, stats  # x0's mean, -0.0001, is 0 here
    assert "-0.000" not in stats and "…." not in stats and ".." not in stats, stats
    assert "the first 6 of 8 features" in stats, stats  # what the shown values are of
    window.resize(1400, 900)
    qtbot.wait(50)
    data_tab.grab().save(str(tmp_path / "data_tab_table_normalisation.png"))

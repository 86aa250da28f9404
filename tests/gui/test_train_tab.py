"""The Train tab: train the built-in shapes through the widgets, stop, pause, NaN, resume."""
import json
import time

import pytest
import torch
from PyQt5 import QtCore, QtWidgets

from gui_helpers import choose_text_csv, error_boxes, open_data
from pytorchgui import paths
from pytorchgui.core.data.data_source import DataSource, builtin_pair, load_spec

DIGITS = tuple(str(digit) for digit in range(10))


@pytest.fixture
def train_tab(window):
    train, test = builtin_pair(2400, 400)
    for dataset in (train, test):
        window.workspace.add_dataset(dataset, "test" if dataset.name.endswith("(test)") else "train")
    window.tabs.setCurrentIndex(2)
    tab = window.train_tab
    tab.validation_combo.setCurrentIndex(tab.validation_combo.findText("Shapes (test)"))
    tab.batch_spin.setValue(64)
    return tab


def wait_done(qtbot, tab, timeout=60000):
    qtbot.waitUntil(lambda: tab.task is None, timeout=timeout)


def test_train_through_the_tab(qtbot, window, train_tab):
    train_tab.epochs_spin.setValue(4)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000) as finished:
        qtbot.mouseClick(train_tab.start_button, QtCore.Qt.LeftButton)
        assert not train_tab.start_button.isEnabled() and train_tab.stop_button.isEnabled()
    result = finished.args[0]
    assert result.status == "finished" and result.epochs_done == 4
    assert result.history[-1]["validation_accuracy"] > 0.5  # ten classes: chance is 0.1
    assert train_tab.train_loss_curve.getData()[0].tolist() == [1, 2, 3, 4]
    assert len(train_tab.batch_curve.getData()[1]) == 4 * 38
    assert not train_tab.val_acc_curve.getData()[1].tolist() == []
    log = train_tab.log_view.toPlainText()
    assert "epoch 4/4" in log and "Training finished after 4 epochs:" in log
    assert "Training finished" in window.statusBar().currentMessage()
    progress = train_tab.progress_label.text()  # what the run ended with, not a countdown left at 0 s
    assert progress.startswith("Training finished after 4 epochs: train loss ") and " images/s" in progress
    assert "epoch ends in" not in progress
    assert train_tab.runs_table.rowCount() == 1 and train_tab.runs_table.item(0, 1).text() == "finished"
    run = train_tab.runs[0]["path"]
    assert (run / "best_weights.pt").is_file() and run.parent == paths.runs_dir()
    train_tab.runs_table.selectRow(0)
    train_tab.overlay_selected_runs()
    assert any(getattr(item, "overlay", False) for item in train_tab.epoch_plot.listDataItems())


def test_stop_mid_epoch_and_window_stays_responsive(qtbot, window, train_tab):
    train_tab.epochs_spin.setValue(50)
    assert train_tab.start()
    qtbot.waitUntil(lambda: len(train_tab.batch_losses) >= 3, timeout=30000)
    # the run's settings are locked while it trains, and the progress reads the run's own config
    assert not train_tab.epochs_spin.isEnabled() and not train_tab.options.fields["seed"].editor.isEnabled()
    assert "/50" in train_tab.progress.format() or "of 50" in train_tab.progress.format()
    # the GUI thread keeps serving events while training runs: switch tabs, edit the network
    window.tabs.setCurrentIndex(1)
    window.document.apply("move", lambda: window.network_tab.network.move_node("conv1", (3.0, 3.0)))
    started = time.perf_counter()
    qtbot.mouseClick(train_tab.stop_button, QtCore.Qt.LeftButton)
    wait_done(qtbot, train_tab)
    assert time.perf_counter() - started < 5
    assert train_tab.result.status == "stopped" and train_tab.result.epochs_done < 50
    assert train_tab.progress_label.text().startswith("Training stopped")
    assert "epoch ends in" not in train_tab.progress_label.text()
    assert train_tab.epochs_spin.isEnabled()


def test_pause_and_resume(qtbot, train_tab):
    train_tab.epochs_spin.setValue(8)  # 2 epochs could end (0.7 s) before a loaded machine delivers the click
    assert train_tab.start()
    qtbot.waitUntil(lambda: len(train_tab.batch_losses) >= 2, timeout=30000)
    qtbot.mouseClick(train_tab.pause_button, QtCore.Qt.LeftButton)
    assert train_tab.pause_button.text() == "Resume"
    qtbot.wait(300)
    train_tab.drain_events()
    count = len(train_tab.batch_losses)
    qtbot.wait(500)
    train_tab.drain_events()
    assert len(train_tab.batch_losses) <= count + 1  # at most the batch in flight
    qtbot.mouseClick(train_tab.pause_button, QtCore.Qt.LeftButton)
    wait_done(qtbot, train_tab)
    assert train_tab.result.status == "finished"


def test_diverging_run_shows_the_nan_message(qtbot, window, train_tab):
    window.document.apply("lr", lambda: window.network_tab.network.set_optimizer("SGD", {"lr": 1e6}))
    train_tab.epochs_spin.setValue(3)
    assert train_tab.start()
    wait_done(qtbot, train_tab)
    [box] = error_boxes(train_tab)
    assert "the loss became nan" in box.text() and "Lower the learning rate" in box.text()
    assert train_tab.progress.format() == "Failed"


def test_resume_from_checkpoint_keeps_the_users_epochs_and_trains_the_rest(qtbot, train_tab):
    train_tab.epochs_spin.setValue(1)
    assert train_tab.start()
    wait_done(qtbot, train_tab)
    checkpoint = train_tab.result.run_dir / "checkpoint.pt"
    train_tab.batch_spin.setValue(32)  # the checkpoint's settings come back ...
    assert train_tab.resume(checkpoint)
    assert train_tab.task is None and train_tab.resume_frame.isVisibleTo(train_tab)  # ... and nothing starts yet
    assert train_tab.batch_spin.value() == 64 and train_tab.epochs_spin.value() == 2
    assert "after epoch 1: Start trains epochs 2–2" in train_tab.resume_label.text()
    train_tab.epochs_spin.setValue(3)  # changed after choosing the checkpoint: kept
    assert "epochs 2–3" in train_tab.resume_label.text()
    qtbot.mouseClick(train_tab.start_button, QtCore.Qt.LeftButton)
    wait_done(qtbot, train_tab)
    assert train_tab.result.epochs_done == 3 and [row["epoch"] for row in train_tab.result.history] == [1, 2, 3]
    assert train_tab.result.run_dir == checkpoint.parent and not train_tab.resume_frame.isVisibleTo(train_tab)
    assert "resumed from" in train_tab.log_view.toPlainText()


def test_resume_can_be_cancelled(qtbot, train_tab):
    train_tab.epochs_spin.setValue(1)
    assert train_tab.start()
    wait_done(qtbot, train_tab)
    first_run = train_tab.result.run_dir
    assert train_tab.resume(first_run / "checkpoint.pt")
    train_tab.cancel_resume()
    assert train_tab.start()
    wait_done(qtbot, train_tab)
    assert train_tab.result.run_dir != first_run and train_tab.result.epochs_done == 2


def test_no_training_set_is_refused(qtbot, window):
    tab = window.train_tab
    assert not tab.start()
    [box] = error_boxes(tab)
    assert "Nothing to train on: import a training set" in box.text()
    box.close()


def test_broken_network_is_refused_before_a_run_starts(qtbot, window, train_tab):
    network = window.network_tab.network
    window.document.apply("break", lambda: network.set_parameters("fc1", {**network.nodes["fc1"].parameters,
                                                                           "in_features": 123}))
    assert not train_tab.start()
    [box] = error_boxes(train_tab)
    assert "The network does not compile" in box.text() and "fc1" in box.text() and "123" in box.text()
    assert train_tab.task is None and train_tab.start_button.isEnabled() and not any(paths.runs_dir().iterdir())
    box.close()


def test_cluster_command_and_file_export(qtbot, window, train_tab, tmp_path, monkeypatch):
    assert "save the network first" in (lambda: _error(train_tab.cluster_command))()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "net.json"), ""))
    window.save_file_as()
    train_tab.epochs_spin.setValue(7)
    command = train_tab.cluster_command()
    assert command == (f"torchrun --nproc-per-node 2 -m pytorchgui train {tmp_path / 'net.json'} --data builtin:2400 "
                       "--test builtin:400 --epochs 7 --batch-size 64 --device cpu --seed 0 --out runs/net")
    qtbot.mouseClick(train_tab.cluster_button, QtCore.Qt.LeftButton)
    assert QtWidgets.QApplication.clipboard().text() == command
    assert window.export_network("python", "py", str(tmp_path / "net.py"))
    assert "class Network(nn.Module)" in (tmp_path / "net.py").read_text()


def _error(function):
    from pytorchgui.core.errors import PyTorchGUIError

    try:
        function()
    except PyTorchGUIError as error:
        return str(error)
    return ""


def _cluster_data(command: str):
    """The datasets and config the cluster command's `pytorchgui train` would load."""
    import shlex

    from pytorchgui.cli import _parser
    from pytorchgui.core.data.data_source import load_spec
    from pytorchgui.core.training.options import config_from_arguments

    argv = shlex.split(command)
    arguments = _parser().parse_args(argv[argv.index("train"):])
    return load_spec(arguments.data), arguments, config_from_arguments(arguments)


def _same_data(loaded, imported):
    return (loaded.sample_shape == imported.sample_shape and loaded.classes == imported.classes
            and loaded.is_classification == imported.is_classification and len(loaded) == len(imported))


def test_cluster_command_reloads_the_data_and_settings_of_the_tab(qtbot, window, tmp_path, monkeypatch):
    from tests.data_writers import write_csv, write_image_folder

    data_tab, train_tab = window.data_tab, window.train_tab
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "net.json"), ""))
    window.save_file_as()
    data_tab.folder_field.set_path(str(write_image_folder(tmp_path / "digits", per_class=5, mode="L")))
    assert open_data(qtbot, data_tab, "Image folder")  # channels: automatic, so 1 for grayscale images
    data_tab.csv_field.set_path(str(write_csv(tmp_path / "table.csv")))
    data_tab.target_combo.setCurrentText("weight")  # numbers, taken as classes by the user's choice
    data_tab.task_combo.setCurrentText("classification")
    assert open_data(qtbot, data_tab, "CSV table")
    train_tab.options.fields["workers"].editor.setValue(2)
    train_tab.options.fields["augmentation"].set_value("RandomCrop(padding=3), HorizontalFlip")
    for entry in window.workspace.datasets:
        train_tab.train_combo.setCurrentIndex(train_tab.train_combo.findData(entry))
        train_tab.validation_combo.setCurrentIndex(0)
        loaded, arguments, config = _cluster_data(train_tab.cluster_command())
        assert _same_data(loaded, entry.dataset), arguments.data
        assert (config.workers, config.augmentation) == (2, "RandomCrop(padding=3), HorizontalFlip")
    gray, table = (entry.dataset for entry in window.workspace.datasets)
    assert gray.sample_shape[0] == 1 and table.is_classification and table.classes == ["10", "20", "30", "40", "50"]


def test_streamed_folder_gives_a_cluster_command_and_refuses_a_split(qtbot, window, tmp_path, monkeypatch):
    import functools

    from pytorchgui.core.data import datasets
    from tests.data_writers import write_image_folder

    monkeypatch.setattr(datasets, "load_image_folder", functools.partial(datasets.load_image_folder, memory_limit=100))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "net.json"), ""))
    window.save_file_as()
    data_tab, train_tab = window.data_tab, window.train_tab
    data_tab.folder_field.set_path(str(write_image_folder(tmp_path / "photos", size=(28, 28))))
    assert open_data(qtbot, data_tab, "Image folder")
    [entry] = window.workspace.datasets
    assert isinstance(entry.dataset, datasets.StreamingImageFolder)
    loaded, _, _ = _cluster_data(train_tab.cluster_command())
    assert loaded.sample_shape == entry.dataset.sample_shape and loaded.classes == entry.dataset.classes
    window.workspace.set_split(entry, 25, 0)
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findData("split"))
    assert not train_tab.start()
    [box] = error_boxes(train_tab)
    assert "is streamed from disk and cannot be split" in box.text() and "Cannot start training" in box.windowTitle()
    box.close()


def test_closing_the_window_mid_training_stops_the_run_and_keeps_its_folder(qtbot, window, train_tab, answers):
    train_tab.epochs_spin.setValue(50)
    assert train_tab.start()
    qtbot.waitUntil(lambda: len(train_tab.batch_losses) >= 2, timeout=30000)
    train_tab.task.control.stop()
    assert train_tab.task.wait(15000), "the worker thread must end with its job, or closing the window hangs"
    answers.append(QtWidgets.QMessageBox.Yes)  # "Stop the training and quit?"
    window.document.undo_stack.setClean()
    assert window.close()
    qtbot.waitUntil(lambda: train_tab.task is None, timeout=10000)
    assert train_tab.result.status == "stopped"
    assert json.loads((train_tab.result.run_dir / "summary.json").read_text())["status"] == "stopped"


def test_validation_defaults_to_an_imported_test_set_until_the_user_chooses(qtbot, window):
    tab = window.train_tab
    train, test = builtin_pair(200, 100)
    window.workspace.add_dataset(train, "train")
    assert tab.validation_combo.currentData() == "split"
    window.workspace.add_dataset(test, "test")
    assert tab.validation_combo.currentText() == "Shapes (test)"
    tab.validation_combo.setCurrentIndex(0)
    tab.validation_combo.activated.emit(0)  # as a click on "None" does
    window.workspace.add_dataset(builtin_pair(200, 50)[1], "test")
    assert tab.validation_combo.currentText() == "None"


def test_early_stopping_without_validation_data_is_refused_with_the_way_out(qtbot, train_tab):
    train_tab.validation_combo.setCurrentIndex(0)  # None
    train_tab.options.fields["early_stopping_patience"].editor.setValue(3)
    train_tab.start()
    wait_done(qtbot, train_tab)
    [box] = error_boxes(train_tab)
    assert "early stopping watches the validation loss, but there is no validation data" in box.text()
    assert "Validation in the Train tab" in box.text() and not any(paths.runs_dir().iterdir())
    box.close()


def test_a_zero_percent_split_trains_without_validation_and_says_so(qtbot, train_tab):
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findData("split"))
    train_tab.epochs_spin.setValue(1)
    assert train_tab.start()
    wait_done(qtbot, train_tab)
    assert "no validation data: the validation curves stay empty" in train_tab.log_view.toPlainText()
    assert train_tab.result.status == "finished" and train_tab.result.history[0]["validation_loss"] is None


def test_nothing_to_train_on_offers_the_built_in_shapes(qtbot, window):
    tab = window.train_tab
    assert not tab.start()
    [box] = error_boxes(tab)
    button = box.findChild(QtWidgets.QPushButton, "loadBuiltinButton")
    assert button is not None and button.text() == "Load the built-in shapes"
    qtbot.mouseClick(button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.workspace.datasets) == 2, timeout=30000)
    assert tab.train_combo.currentText() == "Shapes (train)" and tab.validation_combo.currentText() == "Shapes (test)"


def test_a_fresh_start_has_the_built_in_shapes_so_the_first_start_trains(qtbot, fresh_window):
    window = fresh_window
    assert [entry.role for entry in window.workspace.datasets] == ["train", "test"]
    tab = window.train_tab
    tab.epochs_spin.setValue(1)
    with qtbot.waitSignal(tab.training_finished, timeout=60000) as finished:
        assert tab.start()
    assert finished.args[0].status == "finished" and finished.args[0].history[0]["validation_accuracy"] is not None
    window.document.undo_stack.setClean()


def test_a_network_without_an_optimizer_is_refused_before_the_run_with_the_reason(qtbot, window, train_tab):
    window.document.apply("no optimizer", lambda: window.network_tab.network.set_optimizer(None))
    assert not train_tab.start()
    [box] = error_boxes(train_tab)
    assert "cannot train yet" in box.text() and "no optimizer" in box.text()
    assert train_tab.task is None and not list(paths.runs_dir().iterdir())
    window.document.undo_stack.undo()


def test_a_new_network_starts_with_a_loss_and_an_optimizer(qtbot, window):
    window.new_file()
    network = window.network_tab.network
    assert network.loss.type == "CrossEntropyLoss" and network.optimizer.type == "Adam"
    assert not network.training_problems() and not window.isWindowModified()


def test_find_learning_rate_draws_the_curve_and_applies_the_suggestion_as_one_undo_step(qtbot, window, train_tab):
    before = window.network_tab.network.optimizer
    qtbot.mouseClick(train_tab.findChild(QtWidgets.QPushButton, "findLearningRateButton"), QtCore.Qt.LeftButton)
    dialog = train_tab.lr_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.curve is not None, timeout=60000)
    assert len(dialog.smooth_curve.getData()[0]) == len(dialog.curve.learning_rates) >= 50
    assert dialog.marker.isVisible() and dialog.apply_button.isEnabled()
    # decades in one notation, not 10⁻⁶ beside 0.0001
    assert dialog.plot.getAxis("bottom").tickStrings([-6, -4, -2, 0], 1, 2) == ["1e-6", "1e-4", "1e-2", "1"]
    suggested = float(f"{dialog.curve.suggested_lr:.2g}")
    assert f"{suggested:.2g}" in dialog.apply_button.text()
    qtbot.mouseClick(dialog.apply_button, QtCore.Qt.LeftButton)
    assert not dialog.isVisible()
    assert window.network_tab.network.optimizer.parameters["lr"] == suggested
    assert "learning rate set to" in train_tab.log_view.toPlainText()
    window.actionUndo.trigger()
    assert window.network_tab.network.optimizer == before


def test_closing_the_finder_early_stops_its_run(qtbot, window, train_tab):
    dialog = train_tab.find_learning_rate()
    dialog.reject()
    assert not dialog.task.running or dialog.task.wait(10000)
    assert not dialog.isVisible() and window.network_tab.network == window.document.network


def test_change_the_learning_rate_while_paused(qtbot, window, train_tab):
    from gui_helpers import fill_form

    train_tab.epochs_spin.setValue(2)
    train_tab.batch_spin.setValue(8)  # 300 batches an epoch: the pause lands in the first epoch
    assert not train_tab.paused_settings.isVisible()
    assert train_tab.start()
    qtbot.waitUntil(lambda: len(train_tab.batch_losses) >= 2, timeout=30000)
    assert not train_tab.paused_settings.isVisible()  # not while it runs
    qtbot.mouseClick(train_tab.pause_button, QtCore.Qt.LeftButton)
    settings = train_tab.paused_settings
    assert settings.isVisible() and set(settings.form.fields) >= {"lr", "weight_decay", "betas", "eps"}
    assert "amsgrad" not in settings.form.fields  # numbers only
    assert settings.form.fields["lr"].editor.value() == 0.001
    settings.form.fields["betas"].editor.setText("0.9, x")
    assert settings.form.fields["betas"].error_label.text()
    qtbot.mouseClick(train_tab.pause_button, QtCore.Qt.LeftButton)
    assert train_tab.task.control.paused and "not valid" in window.statusBar().currentMessage()  # stays paused
    fill_form(settings.form, lr="0.0003", betas=[0.9, 0.999])
    qtbot.mouseClick(train_tab.pause_button, QtCore.Qt.LeftButton)
    assert not settings.isVisible() and train_tab.pause_button.text() == "Pause"
    wait_done(qtbot, train_tab)
    assert [row["learning_rate"] for row in train_tab.result.history] == [0.0003, 0.0003]
    assert "changed while paused" in train_tab.log_view.toPlainText() and len(train_tab.settings_markers) == 1
    checkpoint = torch.load(train_tab.result.run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["settings_changes"][0]["lr"] == 0.0003
    assert window.network_tab.network.optimizer.parameters["lr"] == 0.001  # the network file is not changed


def test_the_memory_estimate_follows_the_batch_size_and_refuses_a_batch_that_does_not_fit(qtbot, window, train_tab,
                                                                                         monkeypatch):
    from pytorchgui.core.training import memory

    def needed() -> str:  # the estimate, without the free memory, which other programs change meanwhile
        return train_tab.memory_label.text().split(" of ")[0]

    train_tab.batch_spin.setValue(64)
    # the estimate follows edits after a 300 ms pause: the label may still show the one for batch 128
    qtbot.waitUntil(lambda: not train_tab._memory_timer.isActive() and "needs about" in train_tab.memory_label.text(),
                    timeout=5000)
    small = needed()
    assert "free in RAM; the largest batch that fits is about" in train_tab.memory_label.text()
    train_tab.options.fields["channels_last"].set_value(False)  # contiguous: oneDNN's copy is added
    qtbot.waitUntil(lambda: needed() != small, timeout=5000)
    estimate, _, config = train_tab.memory_estimate()
    assert not config.channels_last and estimate.library_workspace > 0
    train_tab.options.fields["channels_last"].set_value(True)
    qtbot.waitUntil(lambda: needed() == small, timeout=5000)
    chosen = [train_tab.train_combo.currentData(), train_tab.validation_combo.currentData()]
    assert train_tab.data_moved("cpu") == 0  # in RAM already
    assert train_tab.data_moved("cuda:0") == sum(entry.dataset.memory_bytes for entry in chosen) > 0
    monkeypatch.setattr(memory, "available_memory", lambda device: (20 * 1024**2, 8 * 1024**3))
    train_tab.batch_spin.setValue(1024)
    qtbot.waitUntil(lambda: "does not fit" in train_tab.memory_label.text(), timeout=5000)
    assert not train_tab.start()
    [box] = error_boxes(train_tab)
    assert "A step at batch size 1024 needs about" in box.text() and "choose a batch size of at most" in box.text()
    window.document.apply("break", lambda: window.network_tab.network.set_input([3, 32, 32]))
    qtbot.waitUntil(lambda: "no memory estimate" in train_tab.memory_label.text(), timeout=5000)
    assert "conv1" in train_tab.memory_label.text()
    window.document.undo_stack.undo()


def test_the_confusion_matrix_of_any_epoch_and_two_runs_compared(qtbot, window, train_tab):
    train_tab.epochs_spin.setValue(2)
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findText("Shapes (test)"))
    for _ in range(2):
        assert train_tab.start()
        wait_done(qtbot, train_tab)
    first_run = train_tab.result.run_dir
    window.tabs.setCurrentWidget(window.evaluationTab)
    evaluation = window.evaluation_tab
    evaluation.result_tabs.setCurrentWidget(evaluation.history)
    view = evaluation.history
    assert view.run_combo.count() == 2 and view.run_combo.currentData() == first_run  # the newest
    assert view.slider.maximum() == 1 and "Epoch <b>2</b> of 2" in view.label.text()
    last = train_tab.result.history[-1]["validation_accuracy"]
    assert f"{last:.1%}" in view.label.text()
    view.slider.setValue(0)
    assert "Epoch <b>1</b> of 2" in view.label.text()
    matrix = view.history.matrix(1)
    assert [text.toPlainText() for text in view.plot.texts[:3]] == [str(v) for v in matrix[0, :3]]
    indices = view.show_cell(0, 0)
    assert len(indices) == matrix[0, 0] and view.gallery.count() == min(len(indices), 60)
    view.compare_combo.setCurrentIndex(2)  # "—", the newest run, the other one
    assert view.difference.isVisible() and len(view.difference.texts) == 100
    assert "in " in view.label.text()


def test_a_networks_recipe_is_offered_on_open_and_can_be_kept(qtbot, window, tmp_path):
    train_tab = window.train_tab
    assert window.start_from_template(paths.example_networks_dir() / "lstm_sequences.json")
    assert not train_tab.recipe_frame.isHidden()
    assert "epochs 15" in train_tab.recipe_label.text() and "batch size 64" in train_tab.recipe_label.text()
    qtbot.mouseClick(train_tab.recipe_frame.findChild(QtWidgets.QPushButton, "applyRecipeButton"), QtCore.Qt.LeftButton)
    assert (train_tab.epochs_spin.value(), train_tab.batch_spin.value()) == (15, 64) and train_tab.recipe_frame.isHidden()
    train_tab.options.augmentation_editor.add("HorizontalFlip")
    train_tab.epochs_spin.setValue(7)
    qtbot.mouseClick(train_tab.findChild(QtWidgets.QPushButton, "keepRecipeButton"), QtCore.Qt.LeftButton)
    assert window.network_tab.network.recipe == {"epochs": 7, "batch_size": 64, "augmentation": "HorizontalFlip"}
    assert window.document.is_modified
    window.actionUndo.trigger()
    assert window.network_tab.network.recipe == {"epochs": 15, "batch_size": 64, "seed": 0}


def test_text_data_trains_and_try_it_takes_typed_text(qtbot, window, tmp_path):
    from tests.data_writers import write_text_csv

    data_tab = window.data_tab
    choose_text_csv(data_tab, write_text_csv(tmp_path / "reviews.csv"), "sentiment", "review", 8)
    qtbot.mouseClick(data_tab.open_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: data_tab.loading is None and len(window.workspace.datasets) == 1, timeout=20000)
    assert window.start_from_template(paths.example_networks_dir() / "transformer_sequences.json")
    data_tab.table.selectRow(0)
    qtbot.mouseClick(data_tab.fit_button, QtCore.Qt.LeftButton)
    network = window.network_tab.network
    tokens = window.workspace.datasets[0].dataset.token_count
    assert network.input_spec.shape == [8] and network.node("embed").parameters["num_embeddings"] == tokens == 27
    assert network.node("positions").parameters["max_length"] == 16  # 16 >= 8: it takes the shorter texts
    train_tab = window.train_tab
    train_tab.epochs_spin.setValue(20)
    train_tab.batch_spin.setValue(16)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start()
    assert train_tab.result.status == "finished", train_tab.result.message
    assert (train_tab.result.run_dir / "tokenizer.json").is_file()
    evaluation = window.evaluation_tab
    window.tabs.setCurrentWidget(window.evaluationTab)
    evaluation.result_tabs.setCurrentIndex(3)
    assert evaluation.text_edit.isVisible() and not evaluation.pad.isVisible()
    probabilities = evaluation.predict_text("a wonderful film, great acting")
    assert evaluation.trained.classes == ["bad", "good"] and float(probabilities[1]) > 0.5
    assert "Prediction: <b>good</b>" in evaluation.prediction_label.text()
    assert " sequences/s" in train_tab.progress_label.text()
    narrowest = window.minimumSizeHint().width()  # as narrow as the window goes
    # asked again until done: a resize can be lost while the window still lays out its last change
    qtbot.waitUntil(lambda: window.width() == narrowest or window.resize(narrowest, window.height()))
    chart = evaluation.probability_plot.getPlotItem()
    assert chart.titleLabel.item.boundingRect().width() <= chart.width() - chart.getAxis("left").width()
    assert evaluation.input_caption.width() >= 120 and chart.width() >= 230  # neither squeezed for the other
    assert float(evaluation.predict_text("boring, slow and far too long")[0]) > 0.5
    import pandas

    pandas.DataFrame({"review": ["Great story and wonderful music!", "boring, slow and far too long"],
                      "sentiment": ["good", "bad"]}).to_csv(tmp_path / "test.csv", index=False)
    # read alone, its vocabulary would give other ids: it must be read with the run's
    choose_text_csv(data_tab, tmp_path / "test.csv", "sentiment", "review", 8)
    assert open_data(qtbot, data_tab, "CSV table", "test")
    qtbot.waitUntil(lambda: data_tab.vocabulary_reading is None)  # the Data tab shows it as training reads it
    assert data_tab.shown(window.workspace.datasets[1]).tokenizer == window.workspace.datasets[0].dataset.tokenizer
    window.tabs.setCurrentWidget(window.evaluationTab)
    evaluation.dataset_combo.setCurrentIndex(evaluation.dataset_combo.findText("test.csv [test]"))
    evaluation.launch()
    qtbot.waitUntil(lambda: evaluation.loading is None, timeout=20000)
    assert evaluation.evaluated.tokenizer == evaluation.trained.tokenizer
    assert evaluation.result.summary()["accuracy"] == 1.0
    evaluation.show_cell(1, 1)
    assert evaluation.gallery_texts.isVisible() and not evaluation.gallery.isVisible()
    shown = evaluation.gallery_texts.item(0).text()
    assert shown.startswith("true good, predicted good (") and shown.endswith("%):  great story and wonderful music")


def test_applying_options_updates_the_augmentation_list_and_the_data_preview(window):
    from pytorchgui.core.training.options import TrainingConfig

    options = window.train_tab.options
    options.apply(TrainingConfig(augmentation="RandomCrop(padding=2), CutMix"))
    assert [step.operation.name for step in options.augmentation_editor.steps] == ["RandomCrop", "CutMix"]
    assert window.workspace.training_config.augmentation == "RandomCrop(padding=2), CutMix"
    assert options.config().augmentation == "RandomCrop(padding=2), CutMix"


def test_the_form_edits_the_workspace_draft_and_shows_a_draft_set_there(window):
    from pytorchgui.core.training.options import TrainingConfig
    from pytorchgui.core.workspace import Change

    options, workspace = window.train_tab.options, window.workspace
    assert workspace.training_config == options.config()  # the draft starts as the form shows it
    events = []
    workspace.subscribe(events.append)
    options.fields["epochs"].editor.setValue(12)
    assert workspace.training_config.epochs == 12
    assert [event.kind for event in events] == [Change.TRAINING_CONFIG_CHANGED]
    options.fields["initial_weights"].editor.setText("missing.pt")  # any text is a draft's value
    assert workspace.training_config.initial_weights == "missing.pt"
    options.fields["initial_weights"].editor.setText("")
    draft = workspace.training_config.replace(batch_size=16, augmentation="HorizontalFlip", seed=3)
    workspace.set_training_config(draft)
    assert options.config() == draft and workspace.training_config == draft
    assert [step.operation.name for step in options.augmentation_editor.steps] == ["HorizontalFlip"]
    assert TrainingConfig.from_dict(draft.to_dict()) == draft


def test_a_set_just_imported_becomes_the_training_set_and_a_new_test_set_the_validation(window, train_tab):
    """The example data is loaded for the user; what they import next is what they want to train on."""
    train_tab.validation_combo.setCurrentIndex(0)  # as if never chosen: the fixture picked it by code
    train_tab._validation_chosen = False
    other_train, other_test = builtin_pair(300, 100)
    other_train.name, other_test.name = "Mine (train)", "Mine (test)"
    window.workspace.add_dataset(other_train, "train")
    assert train_tab.train_combo.currentText() == "Mine (train)"
    window.workspace.add_dataset(other_test, "test")
    assert train_tab.validation_combo.currentText() == "Mine (test)"
    assert train_tab.train_combo.currentText() == "Mine (train)"  # a test set does not change the training set
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findText("Shapes (test)"))
    train_tab._validation_activated()  # the user's own choice outlives later imports
    third = builtin_pair(200, 50)[1]
    third.name = "Third (test)"
    window.workspace.add_dataset(third, "test")
    assert train_tab.validation_combo.currentText() == "Shapes (test)"


def test_the_mnist_record_templates_offer_is_in_view_above_start(qtbot, window):
    window.resize(1300, 700)
    assert window.start_from_template(paths.example_networks_dir() / "mnist_record.json")
    window.tabs.setCurrentIndex(2)
    train_tab = window.train_tab
    qtbot.waitUntil(lambda: train_tab.recipe_frame.isVisible())
    text = train_tab.recipe_label.text()
    assert "epochs 12" in text and "channels_last memory layout on" in text and "OneCycleLR" in text
    assert not train_tab.recipe_frame.visibleRegion().isEmpty()  # not below the fold of the settings column
    train_tab.apply_recipe()
    assert train_tab.options.config().augmentation.startswith("Affine")


def test_plots_read_accuracy_in_percent_rates_in_scientific_notation_and_whole_epochs(qtbot, window, train_tab):
    train_tab.epochs_spin.setValue(1)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start()
    qtbot.wait(50)  # the axes take their range and labels on the next paint
    last = train_tab.result.history[-1]
    accuracy = train_tab.accuracy_plot.getAxis("left")
    assert not train_tab.no_accuracy_text.isVisible()  # a classifier's run: its accuracy, no notice over it
    assert accuracy.labelString().count("%") == 1 and "(x" not in accuracy.labelString()
    assert train_tab.val_acc_curve.getData()[1].tolist() == pytest.approx([100 * last["validation_accuracy"]])
    rate = train_tab.lr_plot.getAxis("left")
    assert "(x" not in rate.labelString()
    assert rate.tickStrings([0.0005, 0.001, 0.0015], 1, 0.0005) == ["5e-4", "1e-3", "1.5e-3"]
    assert rate.tickStrings([0.05, 0.1, 0.15], 1, 0.05) == ["0.05", "0.1", "0.15"]
    for plot in (train_tab.batch_plot, train_tab.epoch_plot, train_tab.accuracy_plot, train_tab.lr_plot):
        for side in ("left", "bottom"):
            assert "(x" not in plot.getAxis(side).labelString(), (plot, side)
    for plot in (train_tab.epoch_plot, train_tab.accuracy_plot, train_tab.lr_plot):  # one epoch: in the middle
        low, high = plot.viewRange()[0]
        assert 0 <= low < 1 < high <= 2, (plot, low, high)
        axis = plot.getAxis("bottom")
        assert [value for _, values in axis.tickValues(low, high, axis.width()) for value in values] == [1.0]
        assert axis.tickValues(0.5, 30.5, axis.width())[-1][0] >= 1  # many epochs: no tick between two epochs
    from pytorchgui.core.training.trainer import EpochEvent

    for epochs in (7, 12):  # delivered in two parts: the second widens the view to take every epoch
        train_tab._apply_events([EpochEvent(epoch, 12, 1.0, 0.5, 1.0, 0.5, 0.001, 0.1)
                                 for epoch in range(len(train_tab.epoch_rows) + 1, epochs + 1)])
    for plot in (train_tab.epoch_plot, train_tab.accuracy_plot, train_tab.lr_plot):
        low, high = plot.viewRange()[0]
        assert low < 1 and 12 < high < 13, (plot, low, high)
    figure = f"val. accuracy {100 * last['validation_accuracy']:.1f}%"
    assert figure in train_tab.log_view.toPlainText() and figure in window.statusBar().currentMessage()


def test_a_failed_runs_message_wraps_and_the_window_keeps_its_width(qtbot, window, tmp_path):
    from tests.data_writers import write_image_folder

    window.data_tab.folder_field.set_path(str(write_image_folder(tmp_path / "pics", size=(12, 10))))
    assert open_data(qtbot, window.data_tab, "Image folder", "train")  # 3 x 12 x 10: not LeNet-5's input
    window.tabs.setCurrentIndex(2)
    tab, width = window.train_tab, window.width()
    assert tab.train_combo.currentText() == "pics"
    tab.epochs_spin.setValue(1)
    assert tab.start()
    wait_done(qtbot, tab)
    [box] = error_boxes(tab)
    box.close()
    qtbot.wait(10)
    assert window.width() == width and window.minimumSizeHint().width() <= width
    assert "run folder" not in tab.log_view.toPlainText() and not any(paths.runs_dir().iterdir())  # none was made
    assert tab.progress_label.text().startswith("Failed: the network takes input of shape [1, 28, 28] but pics has "
                                                "samples of shape [3, 12, 10]")
    assert "press 'Fit network to data' in the Data tab" in tab.progress_label.toolTip()
    assert tab.progress_label.height() > tab.progress_label.fontMetrics().height() * 1.5  # wrapped, not cut


def test_a_test_set_with_other_classes_cannot_validate_and_start_refuses_it_naming_both(qtbot, window, tmp_path):
    """Issue 29: digits validated on the built-in shapes (the same 1 x 28 x 28, other classes)
    trained without a word and logged "validation accuracy 9.4%"."""
    from data_writers import write_image_folder

    _, shapes = builtin_pair(200, 100)
    window.workspace.add_dataset(shapes, "test")
    folder = write_image_folder(tmp_path / "digits", classes=DIGITS, per_class=6, size=(28, 28), mode="L")
    window.workspace.add_dataset(DataSource("folder", str(folder)).load(), "train")
    tab = window.train_tab
    combo = tab.validation_combo
    shapes_index = combo.findText("Shapes (test)")
    assert not combo.model().item(shapes_index).isEnabled()
    assert combo.itemData(shapes_index, QtCore.Qt.ToolTipRole).startswith(
        "the classes of Shapes (test) (circle, disk, square, filled square, … (10 classes)) are not those the "
        "training set digits has (0, 1, 2, 3, … (10 classes)), so its labels would be scored against other classes")
    assert combo.currentData() == "split" and combo.model().item(combo.findData("split")).isEnabled()

    combo.setCurrentIndex(shapes_index)  # chosen anyway (by a script): refused before a run, with what to do
    tab.epochs_spin.setValue(1)
    assert not tab.start()
    [box] = error_boxes(tab)
    assert box.text().startswith("the classes of Shapes (test)") and "the training set digits" in box.text()
    assert box.text().endswith("choose a test set like digits under Validation, or a split of the training set")
    assert tab.task is None and not any(paths.runs_dir().iterdir())


def _combo_option(combo):
    option = QtWidgets.QStyleOptionComboBox()
    combo.initStyleOption(option)
    return option


def test_validation_defaults_to_a_test_set_that_fits_the_training_set_and_follows_it(qtbot, fresh_window, tmp_path):
    """Issue 29: after importing diabetes.csv (10 numbers, a numeric target) into a fresh
    window, Validation was still "Shapes (test)" (1 x 28 x 28 images) and Start failed."""
    from data_writers import write_regression_csv

    tab, workspace = fresh_window.train_tab, fresh_window.workspace
    assert tab.validation_combo.currentText() == "Shapes (test)"
    workspace.add_dataset(load_spec(f"csv:{write_regression_csv(tmp_path / 'diabetes.csv')}?target=target"), "train")
    assert tab.train_combo.currentText() == "diabetes.csv"
    # its split is 0 %: the choice says it validates on nothing and where to set it
    assert tab.validation_combo.currentText() == "0 % of the training set"
    assert tab.validation_combo.itemData(1, QtCore.Qt.ToolTipRole).endswith("set it in the Data tab. At 0 %: no "
                                                                             "validation")
    workspace.set_split(workspace.chosen_training_set, 20, 0)
    assert tab.validation_combo.currentText() == "20 % of the training set"
    reason = tab.validation_combo.itemData(tab.validation_combo.findText("Shapes (test)"), QtCore.Qt.ToolTipRole)
    assert reason.startswith("the training set diabetes.csv has samples of shape [10] but Shapes (test) has "
                             "samples of shape [1, 28, 28]")

    def choose(combo, text):  # as a click does
        combo.setCurrentIndex(combo.findText(text))
        combo.activated.emit(combo.currentIndex())

    choose(tab.train_combo, "Shapes (train)")
    assert tab.validation_combo.currentText() == "Shapes (test)"  # it fits the shapes again
    choose(tab.validation_combo, "Shapes (test)")
    choose(tab.train_combo, "diabetes.csv")  # the user's choice does not carry over to a set it does not fit
    assert tab.validation_combo.currentText() == "20 % of the training set"
    choose(tab.validation_combo, "None")
    choose(tab.train_combo, "Shapes (train)")  # a choice that still fits is kept
    assert tab.validation_combo.currentText() == "None"
    fresh_window.tabs.setCurrentWidget(fresh_window.trainTab)
    tab.grab().save(str(tmp_path / "train_tab_validation.png"))
    combo = tab.validation_combo
    combo.setCurrentIndex(1)
    shown = combo.style().subControlRect(QtWidgets.QStyle.CC_ComboBox, _combo_option(combo),
                                         QtWidgets.QStyle.SC_ComboBoxEditField, combo).width()
    assert combo.fontMetrics().horizontalAdvance(combo.currentText()) <= shown  # read whole, not cut at "("


def test_an_untitled_network_runs_under_the_datas_name_and_the_log_counts_right(qtbot, window, train_tab):
    import re

    from pytorchgui.core.interop.clipboard import copy_nodes

    lenet = window.network_tab.network.copy()
    window.new_file()  # File > New, and the layers pasted in: a network that was never saved
    window.network_tab.paste(copy_nodes(lenet, list(lenet.nodes)))
    network = window.network_tab.network
    window.document.apply("Set first layer conv1", lambda: network.set_first_layer("conv1"))
    window.data_tab.table.selectRow(0)
    qtbot.mouseClick(window.data_tab.fit_button, QtCore.Qt.LeftButton)
    assert window.document.display_name == "untitled.json"
    train_tab.epochs_spin.setValue(1)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start(), [box.text() for box in error_boxes(train_tab)]
    run = train_tab.result.run_dir
    assert run.name.endswith("_Shapes") and "untitled" not in run.name
    log = train_tab.log_view.toPlainText()
    assert f"run folder {run}" in log  # said once it exists
    assert "(2,400 samples), 1 epoch, batch 64" in log and "Training finished after 1 epoch:" in log
    assert "(s)" not in log and not re.search(r"\b1 [a-zA-Z ]*s\b[,:; )]", log), log
    assert re.search(r" [\d,]+ images/s", train_tab.progress_label.text())


def test_the_smoothed_loss_follows_the_losses_from_the_first_batches(train_tab):
    from pytorchgui.core.training.trainer import BatchEvent

    losses = (2.3,) + (0.5,) * 14  # a short run: one high first loss, then the network has learnt
    train_tab.running_config = train_tab.config()
    train_tab._apply_events([BatchEvent(1, 15, 15, 0.5, None, 1000.0, losses)])
    smoothed = train_tab.smooth_curve.getData()[1]
    assert smoothed[0] == pytest.approx(2.3)  # the first loss is all there is to go on
    assert smoothed[-1] < 0.75  # the plain average from 2.3 still read about 1.4: far above every loss since
    assert smoothed[-1] > 0.5  # still smoothed: the high start has not vanished at once


def test_the_smoothed_loss_of_a_run_of_few_batches_an_epoch_ends_near_its_losses(train_tab):
    # digits, 12 batches an epoch, 3 epochs: at a fixed 0.95 the smoothed loss ended at 1.15
    # where the last losses were 0.90 to 0.50, more than twice the last one.
    from pytorchgui.core.training.trainer import BatchEvent

    losses = [2.3 - 1.8 * step / 35 for step in range(36)]  # falling steadily from 2.3 to 0.5
    train_tab.running_config = train_tab.config()
    train_tab._reset_plots(accuracy_applies=True)
    train_tab._apply_events([BatchEvent(epoch, 12, 12, losses[epoch * 12 - 1], None, 1000.0,
                                        tuple(losses[(epoch - 1) * 12:epoch * 12])) for epoch in (1, 2, 3)])
    smoothed = train_tab.smooth_curve.getData()[1]
    assert smoothed[-1] < 0.5 + 0.3  # within a few batches of the losses (a 0.95 average read 1.1)
    assert smoothed[-1] > losses[-1]  # still an average of the losses before


def test_a_long_epoch_smooths_over_20_batches_as_before():
    from pytorchgui.core.training.smoothing import batch_loss_smoothing

    assert batch_loss_smoothing(469) == pytest.approx(0.95)
    assert batch_loss_smoothing(12) < 0.7


def test_a_regression_run_clears_the_accuracy_plot_and_says_accuracy_does_not_apply(qtbot, window, train_tab,
                                                                                     tmp_path):
    from pytorchgui.core.data.data_source import load_spec
    from tests.data_writers import write_regression_csv

    train_tab.epochs_spin.setValue(1)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):  # a classifier: its accuracy is drawn
        assert train_tab.start()
    accuracy = train_tab.accuracy_plot
    window.document.open_example(paths.example_networks_dir() / "mlp.json")
    entry = window.workspace.add_dataset(load_spec(f"csv:{write_regression_csv(tmp_path / 'table.csv')}"
                                                   "?target=target"), "train")
    window.workspace.fit_network(entry)
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findData("split"))
    train_tab.epochs_spin.setValue(3)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start()
    qtbot.wait(50)  # the axes take their range on the next paint
    assert train_tab.train_acc_curve.getData()[1] is None or len(train_tab.train_acc_curve.getData()[1]) == 0
    assert accuracy.viewRange()[1] == pytest.approx([0, 100])  # not the classifier's range of a moment ago
    for plot in (train_tab.epoch_plot, accuracy, train_tab.lr_plot):  # the same epochs, 1 to 3, on all three
        low, high = plot.viewRange()[0]
        assert low < 1 and 3 < high < 4, (plot, low, high)
    text = train_tab.no_accuracy_text
    assert text.isVisible() and "Accuracy is for classification: this run is a regression" in text.toPlainText()
    view = accuracy.getViewBox()
    centre = view.mapViewToScene(QtCore.QPointF(*[sum(axis) / 2 for axis in view.viewRange()]))
    assert text.sceneBoundingRect().contains(centre)  # in the middle of the plot, in view
    window.resize(1400, 900)
    qtbot.wait(50)
    train_tab.grab().save(str(tmp_path / "train_tab_regression.png"))

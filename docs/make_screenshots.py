"""Grab the README's screenshots offscreen: python docs/make_screenshots.py

Each screen is drawn exactly as a user sees it (QWidget.grab), at a fixed window size.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTORCHGUI_HOME", tempfile.mkdtemp(prefix="pytorchgui-screenshots-"))

from PyQt5 import QtCore, QtWidgets  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.training.options import TrainingConfig  # noqa: E402
from pytorchgui.gui.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).parent / "screenshots"


def settle(app: QtWidgets.QApplication) -> None:
    for _ in range(10):
        app.processEvents()


def measured(app: QtWidgets.QApplication, window: MainWindow):
    """The Evaluation tab, after Launch test has measured the weights chosen."""
    window.tabs.setCurrentWidget(window.evaluationTab)
    evaluation = window.evaluation_tab
    evaluation.launch()
    while evaluation.loading is not None:
        app.processEvents()
    settle(app)
    return evaluation


def main() -> None:
    app = QtWidgets.QApplication(sys.argv)
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    settle(app)
    tab = window.network_tab
    tab.select(["conv2"])
    tab.palette.search.setText("pool")
    settle(app)
    window.grab().save(str(OUT / "network_lenet5.png"))
    tab.palette.search.clear()

    from pytorchgui.core.data.data_source import builtin_pair

    window.tabs.setCurrentIndex(0)
    train, test = builtin_pair()
    entries = []
    for dataset, role in ((train, "train"), (test, "test")):
        entries.append(window.workspace.add_dataset(dataset, role))
    window.workspace.set_split(entries[0], 10, 0)
    window.data_tab.table.selectRow(0)
    settle(app)
    window.grab().save(str(OUT / "data_tab.png"))
    editor = window.train_tab.options.augmentation_editor  # Train tab > Augmentation, previewed in the Data tab
    editor.set_text("RandomCrop(padding=3), Rotate(degrees=15), RandomErasing, MixUp(alpha=0.4)")
    window.data_tab.preview_tabs.setCurrentIndex(3)
    settle(app)
    window.grab().save(str(OUT / "data_augmented.png"))
    editor.set_text("")
    window.data_tab.preview_tabs.setCurrentIndex(0)
    assert not editor.steps
    window.tabs.setCurrentIndex(2)
    train_tab = window.train_tab
    train_tab.epochs_spin.setValue(8)
    train_tab.batch_spin.setValue(64)
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findText("Shapes (test)"))
    finder = train_tab.find_learning_rate()
    while finder.curve is None:
        app.processEvents()
    settle(app)
    finder.grab().save(str(OUT / "learning_rate_finder.png"))
    finder.reject()
    assert train_tab.start(), "training did not start"
    while not train_tab.epoch_rows or train_tab.epoch_rows[-1].epoch < 5:  # mid-training
        app.processEvents()
        if train_tab.task is None:
            raise SystemExit(f"training ended early: {train_tab.log_view.toPlainText()[-500:]}")
    QtCore.QThread.msleep(150)
    settle(app)
    window.grab().save(str(OUT / "train_tab.png"))
    train_tab.toggle_pause()
    train_tab.paused_settings.form.fields["lr"].editor.setValue(0.0005)
    settle(app)
    train_tab.grab().save(str(OUT / "train_paused.png"))
    train_tab.toggle_pause()
    train_tab.wait()
    app.processEvents()

    evaluation = measured(app, window)
    window.grab().save(str(OUT / "evaluation_matrix.png"))
    evaluation.result_tabs.setCurrentIndex(2)
    evaluation.gallery_saliency.setChecked(True)
    settle(app)
    window.grab().save(str(OUT / "evaluation_errors.png"))
    evaluation.result_tabs.setCurrentIndex(3)
    pad = evaluation.pad
    for start, end in (((70, 140), (210, 140)), ((140, 70), (140, 210))):  # a plus sign
        pad.draw_line(QtCore.QPoint(*start), QtCore.QPoint(*end))
    evaluation.predict_drawing()
    settle(app)
    window.grab().save(str(OUT / "evaluation_try_it.png"))
    evaluation.result_tabs.setCurrentWidget(evaluation.history)
    history = evaluation.history
    history.slider.setValue(1)  # epoch 2
    history.show_cell(7, 6)  # crosses taken for pluses, if any
    settle(app)
    window.grab().save(str(OUT / "evaluation_by_epoch.png"))
    inside_screenshots(app, window)
    window.tabs.setCurrentIndex(1)

    window.open_file(str(paths.example_networks_dir() / "small_resnet.json"))
    settle(app)
    tab.view.resetTransform()
    tab.view.scale(0.62, 0.62)
    tab.view.centerOn(tab.scene.node_items["block2_add"].scenePos() - QtCore.QPointF(0, 180))
    tab.side_tabs.setCurrentIndex(1)
    tab.scene.clearSelection()
    tab.palette.search.setText("block")  # the built-in blocks
    settle(app)
    window.grab().save(str(OUT / "network_resnet.png"))
    tab.palette.search.clear()

    vit_screenshot(app, window)

    window.open_file(str(paths.example_networks_dir() / "lenet5.json"))
    settle(app)
    tab.select(["conv1"])
    settle(app)
    tab.inspector.forms["node"].fields["kernel_size"].editor.setText("3, x")
    settle(app)
    tab.inspector_dock.grab().save(str(OUT / "inspector_conv2d.png"))
    window.import_chosen("resnet18")  # File > Import torchvision model…, then frozen for fine-tuning
    tab.freeze_all_but_last()
    settle(app)
    grab_canvas(app, window, 0.8, "layer1.0.conv2", "layer1.0.conv1", "network_imported_resnet18.png")
    window.document.undo_stack.setClean()
    regression_screenshot(app, window)
    experiments_screenshot(app, window)
    print(f"screenshots written to {OUT}")


def grab_canvas(app: QtWidgets.QApplication, window: MainWindow, scale: float, centre: str, selected: str,
                name: str) -> None:
    """The window, its canvas at `scale` centred on node `centre`, node `selected` in the inspector."""
    tab = window.network_tab
    tab.view.resetTransform()
    tab.view.scale(scale, scale)
    tab.view.centerOn(tab.scene.node_items[centre])
    tab.select([selected])
    settle(app)
    window.grab().save(str(OUT / name))


def wait_until(app: QtWidgets.QApplication, done) -> None:
    while not done():
        app.processEvents()
    settle(app)


def inside_screenshots(app: QtWidgets.QApplication, window: MainWindow) -> None:
    """The views inside the trained LeNet-5: a node's feature maps and filters (Network tab,
    Inside), the layer histories (Train tab, Layers), ROC curves and the embedding
    (Evaluation tab)."""
    tab = window.network_tab
    window.tabs.setCurrentIndex(1)
    tab.inside_dock.raise_()
    inside = tab.inside_view
    inside.index_spin.setValue(3)
    tab.select(["conv1"])
    wait_until(app, lambda: inside.task is not None and not inside.task.running)
    inside.find_exciting()
    wait_until(app, lambda: inside.search is not None and not inside.search.running)
    window.grab().save(str(OUT / "network_inside_conv1.png"))
    tab.inspector_dock.raise_()

    window.tabs.setCurrentIndex(2)
    train_tab = window.train_tab
    train_tab.plot_tabs.setCurrentWidget(train_tab.layer_view)
    train_tab.layer_view.choose_layer("conv2")
    settle(app)
    window.grab().save(str(OUT / "train_layers.png"))
    train_tab.plot_tabs.setCurrentIndex(0)

    window.tabs.setCurrentWidget(window.evaluationTab)
    evaluation = window.evaluation_tab
    evaluation.result_tabs.setCurrentWidget(evaluation.curves_view)
    settle(app)
    window.grab().save(str(OUT / "evaluation_curves.png"))
    evaluation.result_tabs.setCurrentWidget(evaluation.embedding_view)
    embedding = evaluation.embedding_view
    embedding.method_combo.setCurrentIndex(embedding.method_combo.findData("tsne"))
    embedding.samples_spin.setValue(1500)
    embedding.project()
    wait_until(app, lambda: embedding.task is None)
    window.grab().save(str(OUT / "evaluation_embedding.png"))


def vit_screenshot(app: QtWidgets.QApplication, window: MainWindow) -> None:
    """The vit_tiny template: a transformer drawn with tensor operations (a learned class
    token and position embedding, a transpose, a select), the palette's group open."""
    tab = window.network_tab
    window.open_file(str(paths.example_networks_dir() / "vit_tiny.json"))
    settle(app)
    tree = tab.palette.tree
    for index in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(index)
        group.setExpanded(group.text(0) == "Tensor operations")
        for child in range(group.childCount()):
            group.child(child).setExpanded(group.child(child).text(0) in ("Reshape", "Split and slice", "Tensors"))
    grab_canvas(app, window, 0.75, "embedded", "class_token", "network_vit_tiny.png")


def regression_screenshot(app: QtWidgets.QApplication, window: MainWindow) -> None:
    """The MLP template fitted to a table shaped like scikit-learn's diabetes set (ten
    features, a target of 25 to 346), trained on 80 % of it and measured on the rest."""
    import numpy
    import pandas

    from pytorchgui.core.data.data_source import load_spec

    generator = numpy.random.default_rng(0)
    features = generator.normal(0, 0.05, size=(442, 10))
    weights = numpy.array([0.0, -240, 520, 320, -790, 480, 100, 180, 750, 70])
    table = pandas.DataFrame(features.round(6), columns=["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"])
    table["target"] = (152 + features @ weights + generator.normal(0, 40, 442)).clip(25, 346).round()
    path = Path(os.environ["PYTORCHGUI_HOME"]) / "diabetes.csv"
    table.to_csv(path, index=False)
    window.document.open_example(paths.example_networks_dir() / "mlp.json")
    entry = window.workspace.add_dataset(load_spec(f"csv:{path}?target=target"), "train")
    window.workspace.set_split(entry, 20, 0)
    window.workspace.fit_network(entry)
    train_tab = window.train_tab
    train_tab.train_combo.setCurrentIndex(train_tab.train_combo.findText("diabetes.csv"))
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findData("split"))
    train_tab.epochs_spin.setValue(20)
    train_tab.batch_spin.setValue(32)
    assert train_tab.start(), "training did not start"
    train_tab.wait()
    app.processEvents()
    measured(app, window)
    window.grab().save(str(OUT / "evaluation_regression.png"))


def experiments_screenshot(app: QtWidgets.QApplication, window: MainWindow) -> None:
    """The Experiments tab after a real sweep of 8 trials over the learning rate, the batch
    size and conv1's width (LeNet-5 on the built-in shapes, 3 epochs each)."""
    from pytorchgui.core.data.data_source import builtin_pair

    window.document.open_example(paths.example_networks_dir() / "lenet5.json")
    workspace = window.workspace
    for dataset, role in zip(builtin_pair(2400, 400), ("train", "test")):
        workspace.add_dataset(dataset, role)
    workspace.set_training_config(TrainingConfig(epochs=3, batch_size=64, threads=1, device="cpu"))
    tab = window.experiments_tab
    tab.set_dimension("lr", {"low": 0.0003, "high": 0.1, "log": True})
    tab.set_dimension("batch_size", {"choices": [32, 64, 128]})
    tab.set_dimension("conv1.out_channels", {"low": 4, "high": 16, "step": 4})
    tab.trials_spin.setValue(8)
    window.tabs.setCurrentWidget(window.experimentsTab)
    assert tab.start(), "the sweep did not start"
    wait_until(app, lambda: not tab.running and tab._reading is None and tab.snapshot is not None)
    tab.trials_table.sortItems(tab.trials_table.columnCount() - 3, QtCore.Qt.DescendingOrder)
    settle(app)
    window.grab().save(str(OUT / "experiments_tab.png"))


if __name__ == "__main__":
    if sys.argv[1:] == ["experiments"]:  # this screenshot alone: python docs/make_screenshots.py experiments
        application = QtWidgets.QApplication(sys.argv)
        shown = MainWindow()
        shown.resize(1400, 900)
        shown.show()
        settle(application)
        experiments_screenshot(application, shown)
    else:
        main()

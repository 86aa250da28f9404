"""The Train tab's Layers view and the training warnings on the designer's nodes."""
import sys
from pathlib import Path

import pytest
from PyQt5 import QtCore, QtGui

from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.gui.layer_histories import EMPTY

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core" / "training"))
from test_histories import mlp  # noqa: E402  the deep sigmoid network the core tests warn about


@pytest.fixture
def train_tab(window):
    train, _ = builtin_pair(600, 100)
    window.workspace.add_dataset(train, "train")
    window.tabs.setCurrentIndex(2)
    tab = window.train_tab
    tab.validation_combo.setCurrentIndex(0)  # None
    tab.batch_spin.setValue(50)
    return tab


def run(qtbot, tab, epochs: int):
    tab.epochs_spin.setValue(epochs)
    with qtbot.waitSignal(tab.training_finished, timeout=60000):
        assert tab.start()
    tab.drain_events()


def coloured_pixels(image: QtGui.QImage, colour: str) -> int:
    """Pixels near `colour` (the ridgelines' line colour) in a grab."""
    wanted = QtGui.QColor(colour)
    return sum(1 for y in range(0, image.height(), 2) for x in range(0, image.width(), 2)
               if abs(QtGui.QColor(image.pixel(x, y)).red() - wanted.red()) < 40
               and abs(QtGui.QColor(image.pixel(x, y)).green() - wanted.green()) < 40
               and abs(QtGui.QColor(image.pixel(x, y)).blue() - wanted.blue()) < 40)


def test_the_layers_view_draws_each_epochs_histograms_and_a_past_runs(qtbot, window, train_tab, tmp_path):
    view = train_tab.layer_view
    train_tab.plot_tabs.setCurrentWidget(view)
    assert view.notes["weights"].isVisible() and "after the first epoch of a run" in EMPTY
    empty = view.grab().toImage()
    run(qtbot, train_tab, 3)
    assert [view.layer_combo.itemData(row) for row in range(view.layer_combo.count())] == \
        ["conv1", "conv2", "fc1", "fc2", "fc3"]
    view.choose_layer("fc1")
    for kind in ("weights", "gradients"):
        assert len(view.plots[kind].listDataItems()) == 3  # one ridge per epoch
        assert not view.notes[kind].isVisible()
    assert view.dead_curve.getData()[0].tolist() == [1, 2, 3]
    grab = view.grab()
    grab.save(str(tmp_path / "layers.png"))
    image = grab.toImage()
    assert coloured_pixels(image, "#1c7ed6") > 10 * coloured_pixels(empty, "#1c7ed6") + 50  # the weights drawn
    assert coloured_pixels(image, "#e8590c") > 50  # and the gradients
    view.choose_layer("fc3")  # no ReLU after the output layer
    assert view.notes["dead"].isVisible() and "No ReLU follows" in view.notes["dead"].toPlainText()

    view.clear()
    train_tab.runs_table.selectRow(0)  # the run folder's histories, read back
    assert view.histories is not None and view.histories.epochs == (1, 2, 3)
    assert view.source_label.text() == train_tab.runs[0]["name"]


def test_a_vanishing_gradient_marks_the_node_until_the_next_run(qtbot, window, train_tab, tmp_path):
    window.document.network.replace_with(mlp("Sigmoid", 10))
    qtbot.waitUntil(lambda: "linear1" in window.network_tab.scene.node_items)
    run(qtbot, train_tab, 1)
    item = window.network_tab.scene.node_items["linear1"]
    assert "gradients vanish" in item.training_warning and "⚠ Training: 'linear1' (Linear)" in item.toolTip()
    assert window.network_tab.scene.node_items["linear10"].training_warning == ""
    assert "the gradients vanish in" in train_tab.log_view.toPlainText()
    view = train_tab.layer_view
    assert view.layer_combo.itemText(0).startswith("⚠ linear1")
    view.choose_layer("linear1")
    assert view.warning_label.isVisibleTo(view) and "gradients vanish" in view.warning_label.text()

    window.tabs.setCurrentIndex(0)
    window.network_tab.view.centerOn(item)
    canvas = window.network_tab.view.grab()
    canvas.save(str(tmp_path / "designer_warning.png"))

    window.tabs.setCurrentIndex(2)
    train_tab.epochs_spin.setValue(1)
    assert train_tab.start()
    assert item.training_warning == "" and "Training" not in item.toolTip()  # cleared as the next run starts
    qtbot.waitUntil(lambda: train_tab.task is None, timeout=60000)

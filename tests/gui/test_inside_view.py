"""The Network tab's "Inside" view: click a node, see its output for the chosen sample."""
import numpy
import torch
from PyQt5 import QtCore

from pytorchgui.core.training import inspection
from pytorchgui.gui.inside_view import PICTURE_WIDTH
from tests.gui.gui_helpers import settle


def click_node(qtbot, tab, name: str) -> None:
    tab.view.centerOn(tab.scene.node_items[name])
    qtbot.mouseClick(tab.view.viewport(), QtCore.Qt.LeftButton,
                     pos=tab.view.mapFromScene(tab.scene.node_items[name].scenePos()))


def shown_after(qtbot, view, node: str):
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.node == node and not view.task.running,
                    timeout=10000)
    return view.shown


def test_clicking_a_node_shows_its_feature_maps_filters_and_the_samples_that_excite_it(qtbot, fresh_window,
                                                                                         tmp_path):
    tab = fresh_window.network_tab
    settle(qtbot, tab)
    view = tab.inside_view
    tab.inside_dock.raise_()
    assert view.weights_combo.currentText() == "Untrained: random weights"  # no run yet: said plainly
    assert view.message.isVisible() and view.message.text().startswith("Train or load weights, pick a sample, then "
                                                                       "click a node")
    assert "[test]" in view.data_combo.currentText()
    view.index_spin.setValue(2)
    click_node(qtbot, tab, "conv1")
    shown = shown_after(qtbot, view, "conv1")
    dataset = view.dataset()
    x = inspection.sample_batch(dataset, dataset.inputs[2], view.trained.normalization_for(dataset))
    with torch.no_grad():
        expected = view.trained.model.conv1(x)[0]
    torch.testing.assert_close(shown.values, expected)
    assert shown.kind == inspection.FEATURE_MAPS
    assert view.picture.isVisible() and not view.bars.isVisible() and not view.message.isVisible()
    assert view.picture.pixmap().width() == PICTURE_WIDTH  # six small maps drawn as wide as the dock allows
    assert view.sample_label.pixmap().width() == 28 * 3
    assert view.statistics_label.text().startswith(f"feature maps [{' x '.join(map(str, shown.shape))}]\nmean ")
    assert view.title_label.text() == f"conv1 for sample 2 of {dataset.name}, with the untrained network " \
                                      "(random weights)"
    assert view.convolution_box.isVisible() and view.filters_label.text().startswith("6 kernels")
    tab.grab().save(str(tmp_path / "inside_conv1.png"))

    view.channel_spin.setValue(3)
    search = view.find_exciting()
    qtbot.waitUntil(lambda: not search.running, timeout=20000)
    assert view.exciting_grid.count() == 9 and view.search_progress.value() == view.search_progress.maximum()
    found = inspection.top_exciting(view.trained.model, dataset, view.trained.normalization_for(dataset), "conv1", 3)
    assert view.exciting_label.text().startswith(f"The samples of {dataset.name} that excite conv1's channel 3 most")
    assert found.indices[0] in range(len(dataset))
    view.ensureWidgetVisible(view.exciting_grid)
    tab.inside_view.grab().save(str(tmp_path / "inside_exciting.png"))
    assert view.widget().width() <= view.viewport().width()  # nothing cut at the dock's right edge

    click_node(qtbot, tab, "fc3")
    shown = shown_after(qtbot, view, "fc3")
    assert shown.kind == inspection.VECTOR and view.bars.isVisible() and not view.picture.isVisible()
    assert not view.convolution_box.isVisible()
    tab.inside_view.grab().save(str(tmp_path / "inside_fc3.png"))

    tab.select(["conv2"])  # chosen without a click (a problem, a search): the view follows too
    assert shown_after(qtbot, view, "conv2").kind == inspection.FEATURE_MAPS


def test_a_view_image_is_drawn_and_a_node_the_weights_lack_is_said(qtbot, fresh_window, tmp_path):
    from PIL import Image

    tab = fresh_window.network_tab
    settle(qtbot, tab)
    view = tab.inside_view
    Image.fromarray(numpy.full((40, 40, 3), 200, numpy.uint8)).save(tmp_path / "grey.png")
    view.choose_image(tmp_path / "grey.png")
    click_node(qtbot, tab, "relu1")
    shown_after(qtbot, view, "relu1")
    assert view.title_label.text().startswith("relu1 for grey.png")
    picture = view.picture.pixmap().toImage()
    assert picture.width() > 100  # a mosaic of 6 maps, scaled up to be seen
    view.node = None
    view.show_node(["no such node"])
    qtbot.waitUntil(lambda: view.message.isVisible(), timeout=10000)
    assert "the network has no node 'no such node'" in view.message.text()


def test_the_inside_view_looks_at_what_try_it_predicted_for(qtbot, window, tmp_path):
    from pytorchgui.core.data.data_source import builtin_pair
    from pytorchgui.core.training.metrics import model_input
    from tests.gui.gui_helpers import train_one_epoch

    train_one_epoch(qtbot, window, builtin_pair(400, 100)[0])
    tab, evaluation = window.network_tab, window.evaluation_tab
    view = tab.inside_view
    assert not view.tried_button.isEnabled()  # nothing tried yet
    for start, end in (((70, 140), (210, 140)), ((140, 70), (140, 210))):  # a plus sign on the pad
        evaluation.pad.draw_line(QtCore.QPoint(*start), QtCore.QPoint(*end))
    assert evaluation.predict_drawing() is not None
    tried = window.workspace.tried_input
    assert tried is not None and tried.sample.shape == (1, 28, 28) and "Try it" in tried.caption
    assert view.tried_button.isEnabled()
    tab.inside_dock.raise_()
    view.tried_button.click()
    click_node(qtbot, tab, "conv1")
    shown = shown_after(qtbot, view, "conv1")
    with torch.no_grad():
        expected = view.trained.model.conv1(model_input(view.trained.model, tried.sample, tried.normalization))[0]
    torch.testing.assert_close(shown.values, expected)
    assert view.title_label.text().startswith("conv1 for Try it's input: the drawing or image in Try it")

    evaluation.pad.clear()  # a new drawing: the view follows it
    evaluation.pad.draw_line(QtCore.QPoint(70, 70), QtCore.QPoint(210, 210))
    evaluation.predict_drawing()
    qtbot.waitUntil(lambda: not view.task.running and view.shown is not None
                    and not torch.equal(view.shown.values, expected), timeout=10000)
    view.index_spin.setValue(1)  # a sample of the data again
    assert not view.use_tried

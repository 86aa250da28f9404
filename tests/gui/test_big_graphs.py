"""Big imported graphs stay readable in the designer: collapsing closes the graph up,
Fit keeps text readable, long names elide in the middle, and Ctrl+F finds a node."""
from PyQt5 import QtCore, QtGui

from pytorchgui.core.graph.layout import LAYER_GAP, tidy_positions
from pytorchgui.core.graph.network import Network
from pytorchgui.gui.graph_editor import elide_path, name_font

from gui_helpers import settle


def imported_like(blocks: int = 12) -> Network:
    """A chain named as torch.fx names an imported model's nodes (module paths), laid out
    as the importer lays it out: a stem, `blocks` blocks in `features`, a classifier."""
    network = Network()
    network.set_input([3, 32, 32])
    previous = network.add_node("Conv2d", "features.0.0", {"in_channels": "auto", "out_channels": 8,
                                                           "kernel_size": 3, "padding": 1}, first_layer=True)
    for block in range(1, blocks + 1):
        for layer, type_name in enumerate(("Conv2d", "BatchNorm2d", "ReLU")):
            parameters = ({"in_channels": "auto", "out_channels": 8, "kernel_size": 3, "padding": 1}
                          if type_name == "Conv2d" else {"num_features": "auto"} if type_name == "BatchNorm2d" else {})
            name = network.add_node(type_name, f"features.{block}.block.{layer}", parameters)
            network.connect(previous, name)
            previous = name
        if block == 1:  # a long name (mobilenet's squeeze-excitation pools are named so)
            name = network.add_node("AdaptiveAvgPool2d", "features.1.block.1.avgpool", {"output_size": 32})
            network.connect(previous, name)
            previous = name
    for name, type_name, parameters in (("avgpool", "AdaptiveAvgPool2d", {"output_size": 1}),
                                        ("flatten", "Flatten", {}),
                                        ("classifier.0", "Linear", {"in_features": "auto", "out_features": 10}),
                                        ("classifier.1", "ReLU", {})):
        network.add_node(type_name, name, parameters)
        network.connect(previous, name)
        previous = name
    for name, position in tidy_positions(network).items():
        network.move_node(name, position)
    return network


def show(qtbot, window, network: Network):
    tab = window.network_tab
    window.document.open_untitled(network, "imported.json", "imported")
    settle(qtbot, tab)
    return tab


def test_collapsing_closes_the_graph_up_and_is_undone_like_every_edit(qtbot, window):
    tab = show(qtbot, window, imported_like())
    flatten_at = tab.scene.node_items["flatten"].pos()
    empty = tab.scene.shown_rect().bottomRight() + QtCore.QPointF(500, 500)
    [collapse] = [a for a in tab.context_menu(empty).actions() if a.text().startswith("Collapse the") and a.text().endswith("stages")]
    collapse.trigger()
    box = tab.scene.group_items["features"]
    assert box.pos() == tab.scene.node_items["features.0.0"].pos() == QtCore.QPointF(0, 0)  # the first member's place
    assert tab.scene.node_items["avgpool"].pos() == QtCore.QPointF(0, LAYER_GAP)  # right below it: no gap
    assert tab.scene.node_items["flatten"].pos() == QtCore.QPointF(0, 2 * LAYER_GAP)
    assert tab.scene.shown_rect().height() < 4 * LAYER_GAP  # features, avgpool, flatten, classifier
    assert window.document.undo_stack.undoText() == "Collapse classifier, features"
    assert not window.document.is_modified and not window.isWindowModified()  # only the view changed: nothing to save
    window.actionUndo.trigger()
    assert not tab.scene.group_items and tab.scene.node_items["flatten"].pos() == flatten_at
    assert tab.scene.node_items["features.5.block.0"].isVisible()
    window.actionRedo.trigger()
    assert set(tab.scene.group_items) == {"features", "classifier"}
    tab.view.centerOn(box)
    qtbot.mouseDClick(tab.view.viewport(), QtCore.Qt.LeftButton, pos=tab.view.mapFromScene(box.scenePos()))
    assert "features" not in tab.scene.group_items and tab.scene.node_items["flatten"].pos() == flatten_at
    assert window.document.undo_stack.undoText() == "Expand features"
    window.document.apply("Rename flatten", lambda: window.document.network.rename_node("flatten", "flat"))
    assert window.document.is_modified and window.isWindowModified()  # an edit after view steps is one to save
    window.actionUndo.trigger()
    assert not window.document.is_modified and not window.isWindowModified()
    [blocks] = [a for a in tab.context_menu(empty).actions() if a.text() == "Collapse the 12 blocks"]
    blocks.trigger()  # features.1 ... features.12 (features.0 is one node)
    assert set(tab.scene.group_items) == {f"features.{block}" for block in range(1, 13)}
    assert tab.scene.group_items["features.2"].pos() == QtCore.QPointF(0, 2 * LAYER_GAP)
    window.document.undo_stack.setClean()


def test_fit_never_zooms_below_readable_text_and_starts_at_the_first_nodes(qtbot, window):
    tab = show(qtbot, window, imported_like(blocks=40))  # 125 nodes in a column
    tab.view.fit()
    text_pixels = 8.5 * tab.view.viewport().logicalDpiY() / 72 * tab.view.transform().m11()
    assert text_pixels >= 7.99
    first = tab.view.mapFromScene(tab.scene.node_items["features.0.0"].sceneBoundingRect()).boundingRect()
    assert tab.view.viewport().rect().contains(first)
    assert tab.view.verticalScrollBar().maximum() > 0  # the rest is scrolled to
    tab.scene.collapse({"features"})
    tab.view.fit()  # now it all fits: shown whole
    shown = tab.view.mapFromScene(tab.scene.shown_rect()).boundingRect()
    assert tab.view.viewport().rect().contains(shown) and tab.view.transform().m11() >= tab.view.readable_scale()
    window.document.undo_stack.setClean()


def test_long_names_elide_in_the_middle_with_the_whole_name_on_hover(qtbot, window):
    tab = show(qtbot, window, imported_like(blocks=2))
    item = tab.scene.node_items["features.1.block.1.avgpool"]
    shown = item.shown_name()
    assert shown != item.name and shown.startswith("features.1") and shown.endswith("1.avgpool"), shown
    assert "…" in shown and "." not in shown.split("…")[0][-1] + shown.split("…")[1][0]  # whole parts cut
    assert QtGui.QFontMetrics(QtGui.QFont()).horizontalAdvance(shown) <= item.body().width()
    assert tab.scene.node_items["classifier.0"].shown_name() == "classifier.0"
    # the part that tells vit's 12 encoder layers apart is kept, not the stage's name
    metrics = QtGui.QFontMetrics(name_font())
    assert elide_path("encoder.layers.encoder_layer_0.ln_1", metrics, 174) == "…encoder_layer_0.ln_1"
    assert item.toolTip().startswith("features.1.block.1.avgpool: AdaptiveAvgPool2d")
    window.document.undo_stack.setClean()


def test_ctrl_f_finds_a_node_by_any_part_of_its_name_and_expands_its_group(qtbot, window):
    tab = show(qtbot, window, imported_like())
    tab.scene.collapse({"features"})
    window.activateWindow()
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_F, QtCore.Qt.ControlModifier)
    assert tab.find_field.hasFocus()
    qtbot.keyClicks(tab.find_field, "avgpool")
    completer = tab.find_field.completer()
    assert completer.completionCount() == 2 and completer.currentCompletion() == "features.1.block.1.avgpool"
    completer.popup().setCurrentIndex(completer.completionModel().index(0, 0))
    qtbot.keyClick(completer.popup(), QtCore.Qt.Key_Return)
    item = tab.scene.node_items["features.1.block.1.avgpool"]
    assert tab.scene.selected_nodes() == ["features.1.block.1.avgpool"] and item.isVisible()
    assert not tab.scene.collapsed
    shown = tab.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    assert tab.view.viewport().rect().contains(shown)  # centred, as far as the canvas scrolls (it is near the end)
    assert tab.view.transform().m11() >= tab.view.readable_scale()
    window.document.undo_stack.setClean()

"""The Network tab as a designer: palette, inspector, blocks, docks, driven through the widgets."""
import json

from PyQt5 import QtCore, QtWidgets

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.gui.main_window import MainWindow

from gui_helpers import double_click_item, drop_on, edit_in_inspector, error_boxes, palette_item, settle


def select(tab, *names):
    tab.scene.clearSelection()
    for name in names:
        tab.scene.node_items[name].setSelected(True)


def entry_mime(tab, key):
    return tab.palette.tree.mimeData([palette_item(tab.palette, key)])


def test_the_palette_holds_the_whole_catalogue_and_filters_as_you_type(qtbot, window, tab):
    palette = tab.palette
    keys = {item.data(0, QtCore.Qt.UserRole) for item in palette.leaves()}
    catalogue = {f"entry:{entry.name}" for entry in list(tab.catalog.layers) + list(tab.catalog.activations)}
    assert catalogue <= keys
    assert {key for key in keys if key.startswith("block:")} == {f"block:{i}" for i in range(6)}
    assert any(key.endswith("lenet5.json") for key in keys if key.startswith("template:"))
    groups = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert groups == ["Layers", "Activations", "Merges", "Tensor operations", "Blocks", "Templates"]
    qtbot.keyClicks(palette.search, "permute")
    assert [item.text(0) for item in palette.visible_leaves()] == ["Permute"]
    assert palette_item(palette, "entry:Permute").parent().parent().text(0) == "Tensor operations"
    palette.search.clear()
    assert palette_item(palette, "entry:Conv2d").toolTip(0).startswith("Applies a 2D convolution")
    qtbot.keyClicks(palette.search, "batchnorm")
    shown = [item.text(0) for item in palette.visible_leaves()]
    assert shown == ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
    palette.search.clear()
    qtbot.keyClicks(palette.search, "residual")  # names first: Add's and the bottleneck's descriptions say it too
    assert [item.text(0) for item in palette.visible_leaves()] == ["residual block"]
    palette.search.clear()
    qtbot.keyClicks(palette.search, "block")
    assert len(palette.visible_leaves()) == 6
    palette.search.clear()
    assert len(palette.visible_leaves()) == len(keys)


def test_enter_on_the_single_match_adds_it_after_the_selected_node_as_one_step(qtbot, window, tab):
    settle(qtbot, tab)
    select(tab, "pool2")
    steps = window.document.undo_stack.count()
    qtbot.keyClicks(tab.palette.search, "dropout2d")
    assert [item.text(0) for item in tab.palette.visible_leaves()] == ["Dropout2d"]
    qtbot.keyClick(tab.palette.search, QtCore.Qt.Key_Return)
    assert tab.network.node("pool2").next_layers == ["dropout2d"]
    assert tab.network.node("dropout2d").next_layers == ["flatten"]
    assert window.document.undo_stack.count() == steps + 1
    window.actionUndo.trigger()
    assert "dropout2d" not in tab.network and tab.network.node("pool2").next_layers == ["flatten"]
    window.document.undo_stack.setClean()


def test_dropping_on_an_arrow_inserts_between_the_two_nodes(qtbot, window, tab):
    settle(qtbot, tab)
    tab.view.resetTransform()
    [edge] = [e for e in tab.scene.edge_items if (e.source, e.target) == ("conv1", "relu1")]
    middle = edge.path().pointAtPercent(0.5)
    tab.view.centerOn(middle)
    assert drop_on(tab.view.viewport(), entry_mime(tab, "entry:BatchNorm2d"), tab.view.mapFromScene(middle))
    settle(qtbot, tab)
    assert tab.network.node("conv1").next_layers == ["batchnorm2d"]
    assert tab.network.node("batchnorm2d").next_layers == ["relu1"]
    assert tab.report.ok and tab.scene.selected_nodes() == ["batchnorm2d"]
    assert tab.network.node("relu1").position[1] > tab.network.node("batchnorm2d").position[1]  # room was made
    window.actionUndo.trigger()
    assert tab.network.node("conv1").next_layers == ["relu1"]
    window.document.undo_stack.setClean()


def test_a_block_dropped_on_the_canvas_adds_its_nodes_with_unique_names(qtbot, window, tab):
    settle(qtbot, tab)
    count = len(tab.network)
    [key] = [item.data(0, QtCore.Qt.UserRole) for item in tab.palette.leaves() if item.text(0) == "conv-bn-relu"]
    point = tab.view.mapFromScene(tab.scene.itemsBoundingRect().topRight() + QtCore.QPointF(300, 0))
    for _ in range(2):
        assert drop_on(tab.view.viewport(), entry_mime(tab, key), point)
    assert len(tab.network) == count + 6
    assert {"conv", "bn", "relu", "conv 2", "bn 2", "relu 2"} <= set(tab.network.nodes)
    assert tab.network.node("conv 2").next_layers == ["bn 2"]
    window.actionUndo.trigger()
    assert len(tab.network) == count + 3
    window.document.undo_stack.setClean()


def test_a_drop_outside_the_canvas_or_of_other_data_does_nothing(qtbot, window, tab):
    settle(qtbot, tab)
    before = network_format.dumps(tab.network)
    mime = entry_mime(tab, "entry:ReLU")
    assert not drop_on(tab.problem_list.viewport(), mime, QtCore.QPoint(10, 10))
    assert not drop_on(tab.inspector.viewport(), mime, QtCore.QPoint(10, 10))
    text = QtCore.QMimeData()
    text.setText('{"x": {"type": "ReLU"}}')
    assert not drop_on(tab.view.viewport(), text, QtCore.QPoint(10, 10))
    assert network_format.dumps(tab.network) == before and not window.isWindowModified()


def test_inspector_edits_are_one_undo_step_each_and_undo_one_by_one(qtbot, window, tab):
    settle(qtbot, tab)
    select(tab, "conv2")
    form = tab.inspector.forms["node"]
    steps = window.document.undo_stack.count()
    field = form.fields["out_channels"]
    field.editor.lineEdit().clear()
    qtbot.keyClicks(field.editor.lineEdit(), "32")  # "3", then "32": one change
    qtbot.keyClick(field.editor, QtCore.Qt.Key_Return)
    settle(qtbot, tab)
    edit_in_inspector(qtbot, form, kernel_size=3, padding_mode="reflect")
    settle(qtbot, tab)
    assert window.document.undo_stack.count() == steps + 3
    parameters = tab.network.node("conv2").parameters
    assert (parameters["out_channels"], parameters["kernel_size"], parameters["padding_mode"]) == (32, 3, "reflect")
    assert tab.report.nodes["conv2"].output_shape == (32, 12, 12)
    assert "[32, 12, 12]" in tab.inspector.shape_label.text()
    # fc1 now gets 32*6*6 features instead of 400: named in the inspector when selected
    select(tab, "fc1")
    assert "expects 400 input features but gets 1152" in tab.inspector.error_label.text()
    select(tab, "conv2")
    window.actionUndo.trigger()
    assert tab.network.node("conv2").parameters["padding_mode"] == "zeros"
    settle(qtbot, tab)
    form = tab.inspector.forms["node"]  # selecting fc1 and conv2 again built the page anew
    assert form.fields["padding_mode"].editor.currentData() == "zeros"  # the form follows the undo
    window.actionUndo.trigger()
    window.actionUndo.trigger()
    assert tab.network.node("conv2").parameters["out_channels"] == 16
    settle(qtbot, tab)
    assert tab.inspector.forms["node"].fields["out_channels"].editor.value() == 16
    assert not window.isWindowModified()


def test_an_invalid_value_shows_red_in_the_inspector_and_changes_nothing(qtbot, window, tab):
    settle(qtbot, tab)
    select(tab, "pool1")
    form = tab.inspector.forms["node"]
    before = tab.network.copy()
    form.fields["kernel_size"].editor.setText("0, 2")
    assert "must be >= 1, got [0, 2]" in form.fields["kernel_size"].error_label.text()
    assert "c92a2a" in form.fields["kernel_size"].editor.styleSheet()
    assert tab.network == before and not window.isWindowModified()


def test_inspector_renames_and_edits_loss_and_optimizer_when_nothing_is_selected(qtbot, window, tab):
    settle(qtbot, tab)
    select(tab, "fc3")
    tab.inspector.name_edit.setText("classifier")
    qtbot.keyClick(tab.inspector.name_edit, QtCore.Qt.Key_Return)
    assert "classifier" in tab.network and tab.scene.selected_nodes() == ["classifier"]
    tab.scene.clearSelection()
    inspector = tab.inspector
    combo = inspector.optimizer_combo
    combo.setCurrentIndex(combo.findData("SGD", QtCore.Qt.UserRole))
    combo.activated.emit(combo.currentIndex())
    settle(qtbot, tab)
    assert tab.network.optimizer.type == "SGD"
    edit_in_inspector(qtbot, tab.inspector.forms["optimizer"], lr="0.05", momentum="0.9")
    assert tab.network.optimizer.parameters["lr"] == 0.05 and tab.network.optimizer.parameters["momentum"] == 0.9
    edit_in_inspector(qtbot, tab.inspector.forms["loss"], label_smoothing="0.1")
    assert tab.network.loss.parameters["label_smoothing"] == 0.1
    for _ in range(5):
        window.actionUndo.trigger()
    assert tab.network == network_format.load(paths.example_networks_dir() / "lenet5.json")


def test_add_here_popup_and_insert_a_node_on_an_arrow(qtbot, window, tab):
    settle(qtbot, tab)
    empty = tab.scene.itemsBoundingRect().bottomRight() + QtCore.QPointF(300, 0)
    popup = tab.open_add_popup(empty)
    assert popup.isVisible() and popup.palette.search.hasFocus()
    qtbot.keyClicks(popup.palette.search, "tanh")
    qtbot.keyClick(popup.palette.search, QtCore.Qt.Key_Return)
    assert not popup.isVisible() and tab.network.node("tanh").position == (empty.x(), empty.y())
    [edge] = [e for e in tab.scene.edge_items if (e.source, e.target) == ("fc1", "relu3")]
    menu = tab.context_menu(edge.path().pointAtPercent(0.5))
    [insert] = [action for action in menu.actions() if action.text() == "Insert a node…"]
    insert.trigger()
    qtbot.keyClicks(tab.popup.palette.search, "dropout")
    qtbot.keyClick(tab.popup.palette.search, QtCore.Qt.Key_Return)
    assert tab.network.node("fc1").next_layers == ["dropout"] and tab.network.node("dropout").next_layers == ["relu3"]
    window.document.undo_stack.setClean()


def test_save_a_selection_as_a_block_and_insert_it_from_the_palette(qtbot, window, tab, monkeypatch):
    settle(qtbot, tab)
    select(tab, "conv2", "relu2", "pool2")
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("My stage", True))
    path = tab.save_selection_as_block()
    assert path == paths.user_blocks_dir() / "my-stage.json"
    assert json.loads(path.read_text())["name"] == "My stage"
    item = next(item for item in tab.palette.leaves() if item.text(0) == "My stage (mine)")
    select(tab, "fc3")
    double_click_item(qtbot, tab.palette.tree, item)
    assert tab.network.node("fc3").next_layers == ["conv2 2"]
    assert tab.network.node("conv2 2").next_layers == ["relu2 2"]
    assert sorted(tab.scene.selected_nodes()) == ["conv2 2", "pool2 2", "relu2 2"]
    window.document.undo_stack.setClean()


def test_a_malformed_block_file_is_reported_and_the_rest_of_the_library_loads(qtbot, tmp_path):
    (paths.user_blocks_dir() / "broken.json").write_text('{"$format": "pytorchgui.block", "$version": 1, '
                                                        '"name": "x", "network": {"n": {"type": "eval"}}}')
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: bool(error_boxes(window)))
    [box] = error_boxes(window)
    assert "broken.json" in box.text() and "'eval' is not a layer" in box.text()
    assert len([i for i in window.network_tab.palette.leaves() if i.data(0, QtCore.Qt.UserRole).startswith("block:")]) == 6
    box.close()


def test_docks_close_and_come_back_from_the_view_menu_and_their_layout_is_remembered(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    tab = window.network_tab
    toggles = {action.text(): action for action in window.menuView.actions()}
    assert toggles["Palette"].isChecked() and toggles["Inspector"].isChecked()
    toggles["Palette"].trigger()
    assert not tab.palette_dock.isVisible()
    tab.designer.addDockWidget(QtCore.Qt.LeftDockWidgetArea, tab.inspector_dock)  # moved to the left
    assert window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert not again.network_tab.palette_dock.isVisible()
    assert again.network_tab.designer.dockWidgetArea(again.network_tab.inspector_dock) == QtCore.Qt.LeftDockWidgetArea
    toggles = {action.text(): action for action in again.menuView.actions()}
    toggles["Palette"].trigger()
    assert again.network_tab.palette_dock.isVisible()
    again.network_tab.reset_layout()
    assert again.network_tab.designer.dockWidgetArea(again.network_tab.inspector_dock) == QtCore.Qt.RightDockWidgetArea


def test_a_template_double_clicked_in_the_palette_opens_as_an_untitled_copy(qtbot, window, tab):
    item = palette_item(tab.palette, f"template:{paths.example_networks_dir() / 'small_resnet.json'}")
    double_click_item(qtbot, tab.palette.tree, item)
    settle(qtbot, tab)
    assert "block1_add" in tab.network and window.document.path is None
    assert window.windowTitle().startswith("small_resnet.json (example)")


def test_search_falls_back_to_descriptions_when_no_name_matches(qtbot, window, tab):
    qtbot.keyClicks(tab.palette.search, "gating")
    assert [item.text(0) for item in tab.palette.visible_leaves()] == ["Multiply"]


def test_ctrl_click_adds_to_the_selection_and_delete_removes_it_in_one_step(qtbot, window, tab):
    settle(qtbot, tab)
    count = len(tab.network)
    tab.view.resetTransform()
    tab.view.centerOn(tab.scene.node_items["relu1"])
    viewport = tab.view.viewport()
    for name, modifier in (("conv1", QtCore.Qt.NoModifier), ("pool1", QtCore.Qt.ControlModifier)):
        point = tab.view.mapFromScene(tab.scene.node_items[name].scenePos() + QtCore.QPointF(-60, 0))
        qtbot.mouseClick(viewport, QtCore.Qt.LeftButton, modifier, point)
    assert sorted(tab.scene.selected_nodes()) == ["conv1", "pool1"]
    assert "2 nodes" in tab.inspector.many_label.text()
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_Delete)
    assert len(tab.network) == count - 2
    window.actionUndo.trigger()
    assert len(tab.network) == count
    window.document.undo_stack.setClean()


def test_freeze_all_but_the_last_layer_and_one_node_from_the_inspector(qtbot, window, tab):
    settle(qtbot, tab)
    empty = tab.scene.itemsBoundingRect().bottomRight() + QtCore.QPointF(500, 500)
    [freeze] = [a for a in tab.context_menu(empty).actions() if a.text() == "Freeze all but the last layer"]
    freeze.trigger()
    settle(qtbot, tab)
    frozen = {name for name, node in tab.network.nodes.items() if not node.trainable}
    assert frozen == {"conv1", "conv2", "fc1", "fc2"}  # fc3, the classifier, trains
    assert "(850 trainable)" in tab.summary_label.text() and tab.scene.node_items["conv1"].frozen
    select(tab, "fc3")
    box = tab.inspector.trainable_box
    qtbot.mouseClick(box, QtCore.Qt.LeftButton, pos=QtCore.QPoint(6, box.height() // 2))  # on the tick box
    assert not tab.network.node("fc3").trainable
    window.actionUndo.trigger()
    assert tab.network.node("fc3").trainable
    window.actionUndo.trigger()
    assert all(node.trainable for node in tab.network.nodes.values())


def test_the_stages_of_an_imported_model_collapse_into_boxes_and_expand_without_changing_the_network(qtbot, window, tab):
    assert window.import_chosen("resnet18")
    settle(qtbot, tab)
    before = network_format.dumps(tab.network)
    empty = tab.scene.itemsBoundingRect().bottomRight() + QtCore.QPointF(500, 500)
    [collapse] = [a for a in tab.context_menu(empty).actions() if a.text().startswith("Collapse the") and a.text().endswith("stages")]
    assert collapse.text() == "Collapse the 4 stages"  # layer1 ... layer4
    collapse.trigger()
    assert set(tab.scene.group_items) == {"layer1", "layer2", "layer3", "layer4"}
    assert not tab.scene.node_items["layer2.0.conv1"].isVisible() and tab.scene.node_items["fc"].isVisible()
    assert tab.scene.group_items["layer1"].summary == "14 nodes · 147,968 params"  # its two adds too
    inside = [e for e in tab.scene.edge_items if (e.source, e.target) == ("layer1.0.conv1", "layer1.0.bn1")]
    into = [e for e in tab.scene.edge_items if (e.source, e.target) == ("maxpool", "layer1.0.conv1")]
    assert not inside[0].isVisible() and into[0].isVisible()
    assert network_format.dumps(tab.network) == before  # the view only: an undo step, but the network unchanged
    assert window.document.undo_stack.undoText() == "Collapse layer1, layer2, layer3, layer4"
    group = tab.scene.group_items["layer3"]
    tab.view.centerOn(group)
    qtbot.mouseDClick(tab.view.viewport(), QtCore.Qt.LeftButton, pos=tab.view.mapFromScene(group.scenePos()))
    assert "layer3" not in tab.scene.group_items and tab.scene.node_items["layer3.0.conv1"].isVisible()
    menu = tab.context_menu(tab.scene.node_items["layer3.1.conv2"].sceneBoundingRect().center())
    assert [a.text() for a in menu.actions() if a.text().startswith("Collapse")] == ["Collapse layer3.1",
                                                                                     "Collapse layer3"]
    [expand] = [a for a in tab.context_menu(empty).actions() if a.text() == "Expand all"]
    expand.trigger()
    assert not tab.scene.group_items and all(item.isVisible() for item in tab.scene.node_items.values())
    window.document.undo_stack.setClean()


def test_the_inspector_shows_and_changes_the_order_of_an_operations_inputs(qtbot, window, tab):
    network = tab.network
    tab.document.apply("build", lambda: (
        network.add_node("Identity", "minuend", first_layer=True),
        network.add_node("Scale", "subtrahend", {"factor": 0.5}, first_layer=True),
        network.add_node("Subtract", "difference"),
        network.connect("minuend", "difference"),
        network.connect("subtrahend", "difference")))
    settle(qtbot, tab)
    select(tab, "difference")
    settle(qtbot, tab)
    assert tab.inspector.input_order_label.text() == "1. minuend · 2. subtrahend"
    combo = tab.inspector.first_input_combo
    combo.setCurrentIndex(combo.findText("subtrahend"))
    combo.activated.emit(combo.currentIndex())
    settle(qtbot, tab)
    assert network.inputs_of("difference") == ["subtrahend", "minuend"]
    assert tab.inspector.input_order_label.text() == "1. subtrahend · 2. minuend"
    tab.document.undo_stack.undo()
    assert network.inputs_of("difference") == ["minuend", "subtrahend"]

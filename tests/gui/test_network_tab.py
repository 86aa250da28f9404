"""The Network tab driven through its real widgets, as a user would."""
import json

import pytest
from PyQt5 import QtCore, QtGui, QtWidgets

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.gui import dialogs
from pytorchgui.gui.main_window import MainWindow
from gui_helpers import (double_click_item, drag, drop_on, edit_in_inspector, error_boxes, fill, palette_item,
                         settle)

LENET = paths.example_networks_dir() / "lenet5.json"


def select(tab, *names):
    tab.scene.clearSelection()
    for name in names:
        tab.scene.node_items[name].setSelected(True)


def add_by_double_click(qtbot, tab, type_name, name, **values):
    """Double-click the entry in the palette (it goes after the selected node), then name
    and set it in the inspector."""
    double_click_item(qtbot, tab.palette.tree, palette_item(tab.palette, f"entry:{type_name}"))
    settle(qtbot, tab)
    name_in_inspector(qtbot, tab, name, type_name, **values)


def name_in_inspector(qtbot, tab, name, type_name=None, **values):
    [added] = tab.scene.selected_nodes()
    assert type_name is None or tab.network.node(added).type == type_name
    tab.inspector.name_edit.setText(name)
    qtbot.keyClick(tab.inspector.name_edit, QtCore.Qt.Key_Return)
    settle(qtbot, tab)
    assert tab.scene.selected_nodes() == [name] and (added == name or added not in tab.network)
    if values:
        edit_in_inspector(qtbot, tab.inspector.forms["node"], **values)
        settle(qtbot, tab)
        parameters = tab.network.node(name).parameters
        assert all(parameters[key] == value for key, value in values.items()), parameters


def without_positions(document):
    for key, value in document.items():
        if isinstance(value, dict):
            value.pop("position", None)
    return document


def test_build_lenet5_with_the_palette_and_inspector_save_and_reopen(qtbot, window, tab, tmp_path, monkeypatch):
    window.new_file()
    settle(qtbot, tab)
    assert len(tab.network) == 0 and "Empty network" in tab.summary_label.text()
    # the first layer is dragged onto the canvas
    mime = tab.palette.tree.mimeData([palette_item(tab.palette, "entry:Conv2d")])
    assert drop_on(tab.view.viewport(), mime, tab.view.mapFromScene(QtCore.QPointF(0, 0)))
    settle(qtbot, tab)
    assert tab.network.first_layers == ["conv2d"]
    assert tab.network.node("conv2d").parameters["in_channels"] == "auto"  # sizes from the input start as auto
    name_in_inspector(qtbot, tab, "conv1", in_channels=1, out_channels=6, kernel_size=5, padding=2)
    add_by_double_click(qtbot, tab, "ReLU", "relu1")
    # typed in the palette's search field, Enter adds the entry of that name
    qtbot.keyClicks(tab.palette.search, "MaxPool2d")
    assert len(tab.palette.visible_leaves()) > 1  # AdaptiveMaxPool2d matches too: the exact name wins
    qtbot.keyClick(tab.palette.search, QtCore.Qt.Key_Return)
    settle(qtbot, tab)
    tab.palette.search.clear()
    name_in_inspector(qtbot, tab, "pool1", "MaxPool2d", kernel_size=2)
    add_by_double_click(qtbot, tab, "Conv2d", "conv2", in_channels=6, out_channels=16, kernel_size=5, padding=0)
    add_by_double_click(qtbot, tab, "ReLU", "relu2")
    add_by_double_click(qtbot, tab, "MaxPool2d", "pool2", kernel_size=2)
    add_by_double_click(qtbot, tab, "Flatten", "flatten")
    for index, (inputs, outputs) in enumerate(((400, 120), (120, 84), (84, 10)), start=1):
        add_by_double_click(qtbot, tab, "Linear", f"fc{index}", in_features=inputs, out_features=outputs)
        if index < 3:
            add_by_double_click(qtbot, tab, "ReLU", f"relu{index + 2}")
    # with nothing selected the inspector edits the network: input, loss, optimizer
    tab.scene.clearSelection()
    inspector = tab.inspector
    inspector.input_edit.setText("1, 28, 28")
    qtbot.keyClick(inspector.input_edit, QtCore.Qt.Key_Return)
    for combo, name in ((inspector.loss_combo, "CrossEntropyLoss"), (inspector.optimizer_combo, "Adam")):
        combo.setCurrentIndex(combo.findData(name, QtCore.Qt.UserRole))
        combo.activated.emit(combo.currentIndex())
        settle(qtbot, tab)
    edit_in_inspector(qtbot, inspector.forms["optimizer"], lr="1e-3")
    settle(qtbot, tab)

    assert tab.report.ok and tab.report.total_parameters == 61706
    assert "61,706" in tab.summary_label.text() and "output <b>[10]</b>" in tab.summary_label.text()
    assert tab.network.first_layers == ["conv1"]
    assert tab.network.loss.type == "CrossEntropyLoss" and tab.network.optimizer.parameters["lr"] == 1e-3
    assert window.isWindowModified()

    target = tmp_path / "my_lenet.json"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.actionSaveAs.trigger()
    assert not window.isWindowModified() and window.windowTitle().startswith("my_lenet.json")
    window.new_file()
    assert window.open_file(str(target))
    settle(qtbot, tab)
    saved = without_positions(json.loads(target.read_text()))
    assert saved == without_positions(json.loads(LENET.read_text()))
    assert all(node.position is not None for node in tab.network.nodes.values())
    assert len(tab.scene.node_items) == 12 and len(tab.scene.edge_items) == 11


def test_every_edit_undoes_and_redoes(qtbot, window, tab):
    network = tab.network
    operations = [
        ("add", lambda: network.add_node("ReLU", "extra", position=(0, 900))),
        ("connect", lambda: network.connect("fc3", "extra")),
        ("rename", lambda: network.rename_node("extra", "final")),
        ("edit", lambda: network.set_parameters("fc3", {"in_features": 84, "out_features": 5})),
        ("move", lambda: network.move_node("conv1", (50.0, -20.0))),
        ("set first", lambda: network.set_first_layer("relu1")),
        ("loss", lambda: network.set_loss("NLLLoss")),
        ("optimizer", lambda: network.set_optimizer("SGD", {"lr": 0.1})),
        ("disconnect", lambda: network.disconnect("fc3", "final")),
        ("remove", lambda: network.remove_node("relu4")),
    ]
    for text, operation in operations:
        before = network.copy()
        assert window.document.apply(text, operation)
        after = network.copy()
        window.actionUndo.trigger()
        assert network == before, text
        window.actionRedo.trigger()
        assert network == after, text
    for _ in operations:
        window.actionUndo.trigger()
    assert network == network_format.load(LENET)
    assert not window.isWindowModified()  # undone back to the opened state
    settle(qtbot, tab)
    assert set(tab.scene.node_items) == set(network.nodes)


def test_bad_parameter_makes_a_red_node_and_a_problem(qtbot, window, tab):
    settle(qtbot, tab)
    tab.view.centerOn(tab.scene.node_items["conv2"])
    qtbot.mouseDClick(tab.view.viewport(), QtCore.Qt.LeftButton,
                      pos=tab.view.mapFromScene(tab.scene.node_items["conv2"].scenePos()))
    assert tab.dialog.isVisible() and tab.dialog.windowTitle() == "Edit conv2"  # double-click: the modal form
    fill(tab.dialog, in_channels=7)
    qtbot.mouseClick(tab.dialog.ok_button, QtCore.Qt.LeftButton)
    settle(qtbot, tab)
    item = tab.scene.node_items["conv2"]
    assert item.error == "Conv2d 'conv2' expects 7 input channels but gets 6"
    assert "expects 7 input channels" in item.toolTip()
    problems = [tab.problem_list.item(i).text() for i in range(tab.problem_list.count())]
    assert problems == ["⚠ Conv2d 'conv2' expects 7 input channels but gets 6"]
    assert tab.side_tabs.tabText(0) == "Problems (1)"
    # the summary still lists every node; those after the failing one have no shape yet
    assert tab.summary_table.rowCount() == 12
    assert [tab.summary_table.item(11, c).text() for c in range(4)] == ["fc3", "Linear", "?", "?"]
    tab.view.centerOn(item)
    image = tab.view.grab(tab.view.mapFromScene(item.sceneBoundingRect()).boundingRect()).toImage()
    red = sum(1 for x in range(image.width()) for y in range(image.height())
              if (c := image.pixelColor(x, y)).red() > 180 and c.green() < 90 and c.blue() < 90)
    assert red > 200  # the 3 px red border, as the user sees it
    window.actionUndo.trigger()
    settle(qtbot, tab)
    assert tab.scene.node_items["conv2"].error == "" and tab.report.ok


def test_edit_dialog_renames_and_relinks(qtbot, window, tab):
    tab.edit_node("fc2")
    tab.dialog.name_edit.setText("hidden")
    combo = tab.dialog.next_combo
    combo.setCurrentIndex(combo.findData(None))
    qtbot.mouseClick(tab.dialog.ok_button, QtCore.Qt.LeftButton)
    settle(qtbot, tab)
    assert "hidden" in tab.network and tab.network.node("hidden").next_layers == []
    assert tab.network.node("relu3").next_layers == ["hidden"]
    assert any("outputs" in p.message or "not reachable" in p.message for p in tab.report.problems)


def test_refused_edit_shows_a_dialog_and_changes_nothing(qtbot, window, tab):
    before = tab.network.copy()
    tab.connect_nodes("fc3", "conv1")
    assert tab.network == before
    [box] = error_boxes(tab)
    assert "would make a cycle" in box.text()


def test_first_layer_remove_and_delete_selection(qtbot, window, tab):
    settle(qtbot, tab)
    select(tab, "relu1")
    qtbot.mouseClick(tab.inspector.first_box, QtCore.Qt.LeftButton)
    assert tab.network.first_layers == ["conv1", "relu1"]
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_Delete)
    assert "relu1" not in tab.network and tab.network.node("conv1").next_layers == []
    settle(qtbot, tab)
    tab.scene.node_items["fc3"].setSelected(True)
    edge = next(e for e in tab.scene.edge_items if (e.source, e.target) == ("conv2", "relu2"))
    edge.setSelected(True)
    window.actionDelete.trigger()
    assert "fc3" not in tab.network and tab.network.node("conv2").next_layers == []
    window.actionUndo.trigger()
    assert "fc3" in tab.network and tab.network.node("conv2").next_layers == ["relu2"]


def test_drag_from_port_links_and_drag_node_moves(qtbot, window, tab):
    window.new_file()
    for name in ("a", "b"):
        window.document.apply("add", lambda n=name: tab.network.add_node("ReLU", n, position=(0, 0 if n == "a" else 200)))
    settle(qtbot, tab)
    tab.view.resetTransform()
    tab.view.centerOn(0, 100)
    viewport = tab.view.viewport()
    port = tab.view.mapFromScene(tab.scene.node_items["a"].port.scenePos())
    target = tab.view.mapFromScene(tab.scene.node_items["b"].scenePos())
    drag(viewport, port, target)
    assert tab.network.node("a").next_layers == ["b"]
    settle(qtbot, tab)
    start = tab.view.mapFromScene(tab.scene.node_items["b"].scenePos() + QtCore.QPointF(-60, 0))
    drag(viewport, start, start + QtCore.QPoint(50, 40))
    assert tab.network.node("b").position == pytest.approx((50.0, 240.0), abs=2)
    window.actionUndo.trigger()
    assert tab.network.node("b").position == (0, 200)


def test_unsaved_changes_prompt(qtbot, window, tab, monkeypatch, tmp_path, answers):
    window.document.apply("add", lambda: tab.network.add_node("ReLU", "extra"))
    answers.append(QtWidgets.QMessageBox.Cancel)
    window.new_file()
    assert "extra" in tab.network
    answers.append(QtWidgets.QMessageBox.Save)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "kept"), ""))
    window.new_file()
    assert len(tab.network) == 0
    assert "extra" in network_format.load(tmp_path / "kept.json")
    window.document.apply("add", lambda: tab.network.add_node("ReLU", "again"))
    answers.append(QtWidgets.QMessageBox.Discard)
    window.new_file()
    assert len(tab.network) == 0 and not window.isWindowModified()
    window.document.apply("add", lambda: tab.network.add_node("ReLU", "last"))
    answers.append(QtWidgets.QMessageBox.Cancel)
    assert not window.close()
    assert window.isVisible()


def test_malformed_file_shows_a_dialog_and_keeps_the_network(qtbot, window, tab, tmp_path):
    before = tab.network.copy()
    bad = tmp_path / "bad.json"
    bad.write_text('{"conv": {"class": "layer", "type": "Conv9d"}}')
    assert not window.open_file(str(bad))
    [box] = error_boxes(window)
    assert "bad.json" in box.text() and "'Conv9d' is not a layer" in box.text()
    assert "The current network is unchanged" in box.text()
    assert tab.network == before


def test_title_shows_file_and_modified_marker(qtbot, window, tab, tmp_path):
    assert window.windowTitle() == "lenet5.json (example)[*] — PyTorchGUI"
    assert not window.isWindowModified()
    window.document.apply("move", lambda: tab.network.move_node("conv1", (5.0, 5.0)))
    assert window.isWindowModified()
    window.actionUndo.trigger()
    assert not window.isWindowModified()


def test_drop_a_network_file_on_the_window(qtbot, window, tab, tmp_path):
    import shutil

    mine = shutil.copy(paths.example_networks_dir() / "small_resnet.json", tmp_path / "small_resnet.json")
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(mine))])
    event = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton,
                             QtCore.Qt.NoModifier)
    window.dropEvent(event)
    settle(qtbot, tab)
    assert "block2_add" in tab.network and window.windowTitle().startswith("small_resnet.json")
    assert window.menuOpenRecent.actions()[0].text().endswith("small_resnet.json")


def test_a_shipped_example_opens_as_an_untitled_copy(qtbot, window, tab, tmp_path, monkeypatch):
    shipped = paths.example_networks_dir() / "small_cnn.json"
    before = shipped.read_bytes()
    assert window.open_file(str(shipped))
    assert window.document.path is None and window.windowTitle().startswith("small_cnn.json (example)")
    window.document.apply("move", lambda: tab.network.move_node("conv1", (5.0, 5.0)))
    asked = []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName",
                        lambda parent, title, start, *a: (asked.append(start), (str(tmp_path / "mine.json"), ""))[1])
    window.actionSave.trigger()  # Ctrl+S asks for a place
    assert asked and asked[0].endswith("small_cnn.json") and str(paths.example_networks_dir()) not in asked[0]
    assert shipped.read_bytes() == before and (tmp_path / "mine.json").is_file()
    assert window.document.path == tmp_path / "mine.json"
    assert not any(action.text().endswith("networks/small_cnn.json") for action in window.menuOpenRecent.actions())


def test_autosave_and_recovery_after_a_crash(qtbot, window, tab, answers):
    window.document.apply("add", lambda: tab.network.add_node("Tanh", "unsaved"))
    assert window.document.autosave()
    assert not window.document.autosave()  # nothing new since
    expected = tab.network.copy()
    # The app "crashes": no closeEvent, the autosave stays. The next start offers it.
    answers.append(QtWidgets.QMessageBox.Yes)
    again = MainWindow()
    qtbot.addWidget(again)
    again.offer_recovery()
    assert again.document.network == expected and again.isWindowModified()
    assert not (paths.autosave_dir() / "network.json").exists()


def test_summary_table_and_csv_export(qtbot, window, tab, tmp_path):
    assert tab.summary_table.rowCount() == 12
    assert [tab.summary_table.item(0, c).text() for c in range(4)] == ["conv1", "Conv2d", "[6, 28, 28]", "156"]
    tab.write_summary_csv(tmp_path / "summary.csv")
    lines = (tmp_path / "summary.csv").read_text().splitlines()
    assert lines[0] == "node,type,output_shape,parameters" and lines[1] == 'conv1,Conv2d,"[6, 28, 28]",156'
    assert len(lines) == 13


def test_tidy_layout_places_every_node_and_is_undoable(qtbot, window, tab):
    window.open_file(str(paths.example_networks_dir() / "small_resnet.json"))
    settle(qtbot, tab)
    tab.tidy_layout()
    positions = {name: node.position for name, node in tab.network.nodes.items()}
    assert all(p is not None for p in positions.values())
    assert positions["block1_add"][1] > positions["block1_bn2"][1] > positions["stem_relu"][1]
    assert positions["block2_shortcut"][1] == positions["block2_conv1"][1]
    assert positions["block2_shortcut"][0] != positions["block2_conv1"][0]


def test_unexpected_errors_are_logged_and_shown(qtbot, window):
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError as error:
        dialogs.handle_unexpected_error(type(error), error, error.__traceback__)
    log = open(dialogs.log_file()).read()
    assert "ZeroDivisionError: boom" in log and "Traceback" in log
    boxes = [b for b in QtWidgets.QApplication.topLevelWidgets() if isinstance(b, QtWidgets.QMessageBox)
             and b.isVisible() and "boom" in b.text()]
    assert boxes and "Traceback" in boxes[0].detailedText()
    for box in boxes:
        box.close()


def test_rubber_band_selects_and_wheel_zooms(qtbot, window, tab):
    settle(qtbot, tab)
    tab.view.resetTransform()
    tab.view.centerOn(tab.scene.node_items["relu1"])
    viewport = tab.view.viewport()
    corner = tab.view.mapFromScene(tab.scene.node_items["conv1"].sceneBoundingRect().topLeft() - QtCore.QPointF(40, 40))
    far = tab.view.mapFromScene(tab.scene.node_items["relu1"].sceneBoundingRect().bottomRight() + QtCore.QPointF(40, 10))
    drag(viewport, corner, far)
    assert sorted(tab.scene.selected_nodes()) == ["conv1", "relu1"]
    before = tab.view.transform().m11()
    wheel = QtGui.QWheelEvent(QtCore.QPointF(100, 100), QtCore.QPointF(viewport.mapToGlobal(QtCore.QPoint(100, 100))),
                              QtCore.QPoint(0, 0), QtCore.QPoint(0, 240), QtCore.Qt.NoButton, QtCore.Qt.NoModifier,
                              QtCore.Qt.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(viewport, wheel)
    assert tab.view.transform().m11() > before * 1.3


def test_undoing_back_to_the_saved_state_removes_the_autosave(qtbot, window, tab):
    window.document.apply("add", lambda: tab.network.add_node("Tanh", "undone"))
    assert window.document.autosave() and (paths.autosave_dir() / "network.json").exists()
    window.actionUndo.trigger()
    assert not window.isWindowModified() and not (paths.autosave_dir() / "network.json").exists()
    from pytorchgui.gui.document import autosave_info

    assert autosave_info() is None  # nothing is offered after a crash now


@pytest.mark.parametrize("keys", ["Ctrl+Y", "Ctrl+Shift+Z"])
def test_redo_keys_each_redo(qtbot, window, tab, keys):
    shortcuts = [key.toString() for key in window.actionRedo.shortcuts()]
    assert len(shortcuts) == len(set(shortcuts)) and "Ctrl+Y" in shortcuts
    window.document.apply("move", lambda: tab.network.move_node("conv1", (5.0, 5.0)))
    window.actionUndo.trigger()
    window.activateWindow()
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtGui.QKeySequence(keys)[0] & ~QtCore.Qt.KeyboardModifierMask,
                   QtCore.Qt.KeyboardModifiers(QtGui.QKeySequence(keys)[0] & QtCore.Qt.KeyboardModifierMask))
    assert tab.network.node("conv1").position == (5.0, 5.0)
    window.document.undo_stack.setClean()


def test_copy_paste_cut_and_duplicate_through_the_keys_each_one_undo_step(qtbot, window, tab):
    settle(qtbot, tab)
    count = len(tab.network)
    select(tab, "conv2", "relu2", "pool2")
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)
    assert '"conv2"' in QtWidgets.QApplication.clipboard().text()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    assert len(tab.network) == count + 3 and sorted(tab.scene.selected_nodes()) == ["conv2 2", "pool2 2", "relu2 2"]
    assert tab.network.node("conv2 2").next_layers == ["relu2 2"] and tab.network.node("pool2 2").next_layers == []
    window.actionUndo.trigger()
    assert len(tab.network) == count and "conv2 2" not in tab.network
    select(tab, "relu4")
    qtbot.keyClick(tab.view, QtCore.Qt.Key_D, QtCore.Qt.ControlModifier)
    assert "relu4 2" in tab.network and len(tab.network) == count + 1
    select(tab, "relu4 2")
    qtbot.keyClick(tab.view, QtCore.Qt.Key_X, QtCore.Qt.ControlModifier)
    assert "relu4 2" not in tab.network and '"relu4 2"' in QtWidgets.QApplication.clipboard().text()
    window.actionPaste.trigger()
    assert "relu4 2" in tab.network
    window.actionUndo.trigger()
    window.actionUndo.trigger()
    window.actionUndo.trigger()
    assert len(tab.network) == count
    window.document.undo_stack.setClean()


def _overlaps(tab, names):
    """The nodes drawn over one of `names` or over its port."""
    items = tab.scene.node_items
    return [(name, other) for name in names for other, item in items.items() if other != name
            and items[name].sceneBoundingRect().intersects(item.sceneBoundingRect())]


def test_pasted_nodes_leave_the_originals_and_their_ports_free_and_the_status_says_what_was_pasted(
        qtbot, window, tab):
    settle(qtbot, tab)
    qtbot.mouseClick(tab.findChild(QtWidgets.QPushButton, "tidyButton"), QtCore.Qt.LeftButton)  # every node placed
    settle(qtbot, tab)
    tab.view.resetTransform()
    viewport = tab.view.viewport()
    QtGui.QCursor.setPos(window.mapToGlobal(QtCore.QPoint(2, 2)))  # on the menu bar: not over the canvas
    select(tab, "conv2", "relu2", "pool2")
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)
    assert window.statusBar().currentMessage() == "Copied 3 nodes"
    qtbot.keyClick(tab.view, QtCore.Qt.Key_V, QtCore.Qt.ControlModifier)
    settle(qtbot, tab)
    pasted = ["conv2 2", "relu2 2", "pool2 2"]
    assert sorted(tab.scene.selected_nodes()) == sorted(pasted) and _overlaps(tab, pasted) == []
    assert window.statusBar().currentMessage() == "Pasted 3 nodes: conv2 2, relu2 2, pool2 2"
    # the first link dragged from an original's port links it, and moves nothing
    tab.view.centerOn(tab.scene.node_items["relu2"].scenePos())
    before = {name: tab.scene.node_items[name].pos() for name in tab.network.nodes}
    port = tab.view.mapFromScene(tab.scene.node_items["conv2"].port.scenePos())
    drag(viewport, port, tab.view.mapFromScene(tab.scene.node_items["relu2 2"].scenePos()))
    settle(qtbot, tab)
    assert tab.network.node("conv2").next_layers == ["relu2", "relu2 2"]
    assert {name: tab.scene.node_items[name].pos() for name in before} == before
    # with the mouse over the canvas, the nodes land there
    tab.view.scale(0.4, 0.4)
    spot = QtCore.QPoint(20, viewport.height() // 2)  # far left of the original column: empty canvas
    under_mouse = tab.view.mapToScene(spot)
    assert tab.scene.node_at(under_mouse) is None
    QtGui.QCursor.setPos(viewport.mapToGlobal(spot))
    select(tab, "fc1")
    window.actionDuplicate.trigger()  # beside, wherever the mouse is
    assert window.statusBar().currentMessage() == "Duplicated 1 node: fc1 2" and _overlaps(tab, ["fc1 2"]) == []
    window.actionPaste.trigger()
    settle(qtbot, tab)
    assert tab.network.node("conv2 3").position == (under_mouse.x(), under_mouse.y())
    assert _overlaps(tab, [name for name in tab.network.nodes if name.endswith(" 3")]) == []
    window.document.undo_stack.setClean()


def test_pasting_text_that_is_not_a_network_changes_nothing_and_says_why(qtbot, window, tab):
    settle(qtbot, tab)
    before = network_format.dumps(tab.network)
    steps = window.document.undo_stack.count()
    QtWidgets.QApplication.clipboard().setText('{"evil": {"type": "os.system"}}')
    window.actionPaste.trigger()
    assert network_format.dumps(tab.network) == before and window.document.undo_stack.count() == steps
    assert "Nothing pasted: the clipboard" in window.statusBar().currentMessage()
    assert "'os.system' is not a layer" in window.statusBar().currentMessage()


def menu_action(menu, text):
    [action] = [action for action in menu.actions() if action.text().startswith(text)]
    return action


def test_right_click_menus_on_a_node_an_arrow_and_the_canvas(qtbot, window, tab, monkeypatch):
    settle(qtbot, tab)
    count = len(tab.network)
    node = tab.scene.node_items["relu3"]
    menu = tab.context_menu(node.sceneBoundingRect().center())
    assert tab.scene.selected_nodes() == ["relu3"]
    assert [a.text() for a in menu.actions() if a.text()] == ["Edit…", "Rename…", "Duplicate", "Copy", "Cut",
                                                              "Delete", "Set as first layer", "Disconnect",
                                                              "Freeze", "Save as block…"]
    menu_action(menu, "Duplicate").trigger()
    assert len(tab.network) == count + 1 and "relu3 2" in tab.network
    menu = tab.context_menu(tab.scene.node_items["relu3"].sceneBoundingRect().center())
    menu_action(menu, "Disconnect").trigger()
    assert tab.network.node("relu3").next_layers == [] and "relu3" not in tab.network.node("fc1").next_layers
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("act3", True))
    menu_action(tab.context_menu(tab.scene.node_items["relu3"].sceneBoundingRect().center()), "Rename…").trigger()
    assert "act3" in tab.network and "relu3" not in tab.network
    [edge] = [e for e in tab.scene.edge_items if (e.source, e.target) == ("conv1", "relu1")]
    menu = tab.context_menu(edge.path().pointAtPercent(0.5))
    menu_action(menu, "Delete the link conv1 → relu1").trigger()
    assert "relu1" not in tab.network.node("conv1").next_layers
    empty = tab.scene.itemsBoundingRect().bottomRight() + QtCore.QPointF(500, 500)
    menu = tab.context_menu(empty)
    assert [a.text() for a in menu.actions() if a.text()] == ["Add here…", "Paste", "Tidy layout", "Fit to view",
                                                              "Freeze all but the last layer", "Unfreeze all"]
    for _ in range(4):
        window.actionUndo.trigger()
    assert len(tab.network) == count and "relu1" in tab.network.node("conv1").next_layers
    window.document.undo_stack.setClean()


def test_select_all_and_arrow_keys_nudge_the_selection_in_one_step(qtbot, window, tab):
    settle(qtbot, tab)
    tab.view.setFocus()
    qtbot.keyClick(tab.view, QtCore.Qt.Key_A, QtCore.Qt.ControlModifier)
    assert sorted(tab.scene.selected_nodes()) == sorted(tab.network.nodes)
    select(tab, "conv1", "relu1")
    at = {name: tab.scene.node_items[name].pos() for name in ("conv1", "relu1")}
    before = {name: (at[name].x(), at[name].y()) for name in at}
    pool1 = tab.network.node("pool1").position
    qtbot.keyClick(tab.view, QtCore.Qt.Key_Right)
    qtbot.keyClick(tab.view, QtCore.Qt.Key_Down, QtCore.Qt.ShiftModifier)
    for name in ("conv1", "relu1"):
        assert tab.network.node(name).position == (before[name][0] + 10, before[name][1] + 50)
    assert tab.network.node("pool1").position == pool1
    window.actionUndo.trigger()
    assert tab.network.node("conv1").position == (before["conv1"][0] + 10, before["conv1"][1])
    window.document.undo_stack.setClean()


def choose_optimizer(qtbot, tab, name):
    tab.scene.clearSelection()
    combo = tab.inspector.optimizer_combo
    combo.setCurrentIndex(combo.findData(name, QtCore.Qt.UserRole))
    combo.activated.emit(combo.currentIndex())
    settle(qtbot, tab)


def test_an_optimizer_that_cannot_step_the_weights_is_a_problem_and_muon_shows_both_settings(qtbot, window, tab,
                                                                                            tmp_path):
    """Issue 32, finding 3: the window's problem list says what `validate` says."""
    assert "conv1" in tab.network  # the example the window opens on: LeNet-5
    choose_optimizer(qtbot, tab, "SparseAdam")
    problems = [tab.problem_list.item(i).text() for i in range(tab.problem_list.count())]
    assert any("SparseAdam steps only sparse gradients" in text and "'conv1'" in text for text in problems), problems
    assert tab.side_tabs.tabText(0) == "Problems (1)"
    choose_optimizer(qtbot, tab, "Muon")
    assert tab.problem_list.item(0).text().startswith("✓ No problems")
    form = tab.inspector.forms["optimizer"]
    labels = " ".join(label.text() for label in form.findChildren(QtWidgets.QLabel))
    assert "AdamW lr" in labels and "Momentum" in labels
    edit_in_inspector(qtbot, form, adamw_lr="0.0005")
    settle(qtbot, tab)
    assert tab.network.optimizer.parameters["adamw_lr"] == 0.0005
    tab.inspector.grab().save(str(tmp_path / "muon_form.png"))

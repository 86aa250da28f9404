"""The designer with several inputs and several outputs: the inspector's input rows, the
input feeding a first layer, each output's loss, and the canvas's marks."""
import torch
from PyQt5 import QtCore, QtWidgets

from data_writers import write_two_input_npz
from gui_helpers import edit_in_inspector, error_boxes, open_data, trained_on_shapes
from pytorchgui import paths
from pytorchgui.gui.data_tab import PREVIEW_COUNT

AUXILIARY = paths.example_networks_dir() / "auxiliary_head_cnn.json"


def open_auxiliary(qtbot, window):
    window.start_from_template(AUXILIARY)
    tab = window.network_tab
    qtbot.waitUntil(lambda: tab.report is not None and len(tab.report.outputs) == 2)
    tab.scene.clearSelection()
    return tab


def input_row(qtbot, inspector, name):
    """(name, shape, dtype) editors of the input's row, once the page shows it."""
    qtbot.waitUntil(lambda: name in inspector.input_rows)
    return inspector.input_rows[name]


def child(qtbot, inspector, kind, name):
    """The inspector's widget of that name, once the page shows it (it is rebuilt after a change)."""
    qtbot.waitUntil(lambda: inspector.findChild(kind, name) is not None)
    return inspector.findChild(kind, name)


def settle(qtbot, tab):
    """The tab refreshes once the edits are done (a zero timer): do it now."""
    tab.refresh()


def test_one_input_shows_one_shape_row_and_adds_a_second_input_renamed_and_shaped(qtbot, window):
    tab = open_auxiliary(qtbot, window)
    inspector, network, undo = tab.inspector, tab.network, window.document.undo_stack
    assert inspector.findChild(QtWidgets.QLineEdit, "inspectorInput").text() == "1, 28, 28"
    assert inspector.input_rows == {}  # one input: the one "Input shape" row, as before
    inspector.findChild(QtWidgets.QPushButton, "inspectorAddInput").click()
    assert network.input_names() == ["input", "input_2"]
    name_edit = input_row(qtbot, inspector, "input_2")[0]
    name_edit.setText("extra")
    qtbot.keyClick(name_edit, QtCore.Qt.Key_Return)
    shape_edit = input_row(qtbot, inspector, "extra")[1]
    shape_edit.setText("4")
    qtbot.keyClick(shape_edit, QtCore.Qt.Key_Return)
    assert [(spec.name, spec.shape) for spec in network.inputs] == [("input", [1, 28, 28]), ("extra", [4])]
    settle(qtbot, tab)
    assert any("'extra' feeds no layer" in problem.message for problem in tab.report.problems)
    child(qtbot, inspector, QtWidgets.QToolButton, "inspectorRemoveInput.extra").click()
    assert network.input_names() == ["input"]
    for _ in range(4):  # remove, shape, rename, add: each one undo step
        undo.undo()
    assert network.input_names() == ["input"]
    qtbot.waitUntil(lambda: inspector.input_rows == {})


def test_a_node_chooses_the_input_that_feeds_it_when_there_are_several(qtbot, window):
    tab = open_auxiliary(qtbot, window)
    network, document = tab.network, window.document
    document.apply("Add input extra", lambda: network.add_input("extra", [4]))
    document.apply("Add extra_fc", lambda: network.add_node("Linear", "extra_fc", {"out_features": 8}))
    settle(qtbot, tab)
    tab.scene.node_items["extra_fc"].setSelected(True)
    inspector = tab.inspector
    qtbot.waitUntil(lambda: getattr(inspector, "fed_by_combo", None) is not None)
    assert inspector.first_box is None
    combo = inspector.fed_by_combo
    assert [combo.itemData(index) for index in range(combo.count())] == [None, "input", "extra"]
    combo.setCurrentIndex(combo.findData("extra"))
    combo.activated.emit(combo.currentIndex())
    assert network.input_feeding("extra_fc") == "extra"
    document.undo_stack.undo()
    assert not network.is_first_layer("extra_fc")
    qtbot.waitUntil(lambda: combo.currentData() is None)


def test_each_output_has_the_default_loss_or_its_own_with_a_weight(qtbot, window):
    tab = open_auxiliary(qtbot, window)
    inspector, network, undo = tab.inspector, tab.network, window.document.undo_stack
    assert inspector.findChild(QtWidgets.QGroupBox, "inspectorOutput.aux") is not None
    own = inspector.findChild(QtWidgets.QCheckBox, "inspectorOwnLoss.classifier")
    assert not own.isChecked()
    weight = inspector.findChild(QtWidgets.QDoubleSpinBox, "inspectorLossWeight.aux")
    assert weight.value() == 0.3
    weight.setValue(0.5)
    assert network.output_losses["aux"].weight == 0.5
    edit_in_inspector(qtbot, inspector.forms["loss.aux"], label_smoothing="0.1")
    assert network.output_losses["aux"].choice.parameters["label_smoothing"] == 0.1
    own.click()
    assert network.output_losses["classifier"].choice.type == "CrossEntropyLoss"
    assert child(qtbot, inspector, QtWidgets.QDoubleSpinBox, "inspectorLossWeight.classifier").value() == 1
    undo.undo()
    undo.undo()
    undo.undo()
    assert "classifier" not in network.output_losses and network.output_losses["aux"].weight == 0.3


def test_the_canvas_names_the_inputs_and_outputs_when_there_are_several(qtbot, window):
    tab = open_auxiliary(qtbot, window)
    items = tab.scene.node_items
    assert (items["conv1"].input_mark, items["aux"].output_mark, items["classifier"].output_mark) \
        == ("", "output: aux", "output: classifier")
    assert items["fc1"].output_mark == ""
    network, document = tab.network, window.document
    document.apply("one output", lambda: [network.remove_node(name) for name in ("aux", "aux_flatten", "aux_pool")])
    settle(qtbot, tab)
    assert items["classifier"].output_mark == "output"
    document.apply("extra", lambda: (network.add_input("extra", [4]),
                                     network.add_node("Linear", "extra_fc", {"out_features": 8}, first_layer="extra")))
    settle(qtbot, tab)
    assert (items["conv1"].input_mark, items["extra_fc"].input_mark) == ("input: input", "input: extra")


def test_train_two_outputs_then_measure_and_try_each_output(qtbot, window):
    open_auxiliary(qtbot, window)
    tab = trained_on_shapes(qtbot, window, 128, 64, epochs=1)
    train_tab = window.train_tab
    assert {curve.name() for curve in train_tab.output_loss_curves.values()} \
        == {"train · classifier", "train · aux", "validation · classifier", "validation · aux"}
    assert not tab.output_combo.isHidden()
    assert [tab.output_combo.itemText(index) for index in range(tab.output_combo.count())] == ["classifier", "aux"]
    tab.saliency_check.setChecked(False)  # the heat map of each output is measured in tests/core
    figures = {}
    for output in ("classifier", "aux"):
        tab.output_combo.setCurrentText(output)
        tab.output_combo.activated.emit(tab.output_combo.currentIndex())
        assert tab.result is None  # the last output's figures went
        tab.launch()
        qtbot.waitUntil(lambda: tab.loading is None, timeout=30000)
        assert f"output <b>{output}</b> of" in tab.summary_label.text()
        tab.pad.draw_line(QtCore.QPoint(60, 60), QtCore.QPoint(200, 200))
        figures[output] = (tab.result.loss, tab.predict_drawing())
    assert figures["classifier"][0] != figures["aux"][0]
    assert not torch.equal(figures["classifier"][1], figures["aux"][1])


def test_the_data_tab_reads_an_array_per_input_and_previews_the_image_input(qtbot, window, tmp_path):
    path = write_two_input_npz(tmp_path / "two.npz", samples=40)
    network = window.document.network
    window.document.apply("two inputs", lambda: (network.set_input([1, 6, 6]), network.rename_input("input", "image"),
                                                 network.add_input("metadata", [3])))
    data_tab = window.data_tab
    data_tab.tensor_field.set_path(str(path))
    assert open_data(qtbot, data_tab, "Array file (.npz, .pt, .npy, .h5)"), error_boxes(data_tab)
    [entry] = window.workspace.datasets
    assert entry.dataset.input_shapes == {"image": [1, 6, 6], "metadata": [3]}
    assert data_tab.table.item(0, 3).text() == "image 1 x 6 x 6, metadata 3"
    data_tab.table.selectRow(0)
    assert data_tab.sample_grid.count() == min(40, PREVIEW_COUNT)
    view = data_tab.rows_view
    headers = [view.horizontalHeaderItem(column).text() for column in range(view.columnCount())]
    assert headers == ["metadata.0", "metadata.1", "metadata.2", "target"]
    assert "2 inputs" in data_tab.stats_label.text()


def test_a_two_input_network_trains_from_the_train_tab_and_try_it_says_it_takes_one_input(qtbot, window, tmp_path):
    # Walked by hand: training and measuring worked; a gallery sample clicked into Try it
    # ended in "'NamedInputsDataset' object is not subscriptable".
    network = window.document.network

    def build():
        for name in list(network.nodes):
            network.remove_node(name)
        network.set_input([1, 6, 6])
        network.rename_input("input", "image")
        network.add_input("metadata", [3])
        network.add_node("Flatten", "flat", {}, first_layer="image")
        network.add_node("Linear", "image_fc", {"in_features": 36, "out_features": 8})
        network.connect("flat", "image_fc")
        network.add_node("Linear", "metadata_fc", {"in_features": 3, "out_features": 8}, first_layer="metadata")
        network.add_node("Concatenate", "join", {})
        network.connect("image_fc", "join")
        network.connect("metadata_fc", "join")
        network.add_node("Linear", "classes", {"in_features": 16, "out_features": 2})
        network.connect("join", "classes")
        network.set_optimizer("Adam", {"lr": 0.01})

    window.document.apply("two inputs", build)
    data_tab = window.data_tab
    for path, mode in ((write_two_input_npz(tmp_path / "train.npz", samples=160), "train"),
                       (write_two_input_npz(tmp_path / "test.npz", samples=40, seed=1), "test")):
        data_tab.tensor_field.set_path(str(path))
        assert open_data(qtbot, data_tab, "Array file (.npz, .pt, .npy, .h5)", mode), error_boxes(data_tab)
    train_tab = window.train_tab
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findText("test.npz"))
    train_tab.epochs_spin.setValue(3)
    train_tab.batch_spin.setValue(32)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start(), error_boxes(train_tab)
    evaluation = window.evaluation_tab
    task = evaluation.launch()
    qtbot.waitUntil(lambda: not task.running and evaluation.result is not None, timeout=30000)
    assert evaluation.result.accuracy > 0.8  # the metadata's first value tells the class
    evaluation.show_samples([0, 3], "True 0, predicted 1")
    assert "several inputs" in evaluation.gallery_title.text()
    assert evaluation.try_sample(0) is None
    assert "this one takes 2 (image, metadata)" in evaluation.prediction_label.text()

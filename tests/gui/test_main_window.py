import pytest
from PyQt5 import QtWidgets

from pytorchgui.gui.main_window import MainWindow


def test_main_window_has_the_five_tabs_and_menus(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    tabs = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
    assert tabs == ["Data", "Network", "Train", "Experiments", "Evaluation"]
    menus = [action.text().replace("&", "") for action in window.mainMenuBar.actions()]
    assert menus == ["File", "Edit", "View", "Help"]
    assert window.actionSave.shortcut().toString() == "Ctrl+S"


def test_lazy_start_paints_before_torch_and_then_builds_the_tabs(qtbot):
    window = MainWindow(lazy=True)
    qtbot.addWidget(window)
    assert window.data_tab is None and window.network_tab.report is None
    assert len(window.network_tab.scene.node_items) == 12  # the example is on the canvas at once
    window.show()
    qtbot.waitUntil(lambda: window.data_tab is not None and window.network_tab.report is not None, timeout=30000)
    assert window.network_tab.report.ok
    assert window.evaluationTab.layout().itemAt(0).widget() is window.evaluation_tab
    window.document.undo_stack.setClean()


def test_an_error_with_no_active_window_reaches_a_dialog_held_by_the_main_window(qtbot):
    from PyQt5 import QtWidgets

    from pytorchgui.gui import dialogs

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    box = dialogs.show_error(None, "Training stopped", "the loss became nan")
    box_id = id(box)
    del box
    import gc

    gc.collect()
    boxes = [w for w in window.findChildren(QtWidgets.QMessageBox) if w.text() == "the loss became nan"]
    assert len(boxes) == 1 and id(boxes[0]) == box_id and boxes[0].isVisible()
    boxes[0].close()
    window.document.undo_stack.setClean()


def test_with_no_window_at_all_the_box_is_kept_until_it_is_closed(qtbot, monkeypatch):
    import gc

    from PyQt5 import QtWidgets

    from pytorchgui.gui import dialogs

    monkeypatch.setattr(dialogs, "_main_window", lambda: None)  # windows of earlier tests may still exist
    monkeypatch.setattr(QtWidgets.QApplication, "activeWindow", staticmethod(lambda: None))
    dialogs.show_error(None, "Cannot open", "nothing here")
    gc.collect()
    [box] = [b for b in dialogs._unparented if b.text() == "nothing here"]
    assert box.isVisible()
    box.done(0)
    assert box not in dialogs._unparented


def test_new_from_template_shows_every_example_and_opens_an_untitled_copy(qtbot, tmp_path):
    from PyQt5 import QtWidgets

    from pytorchgui import paths

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    dialog = window.new_from_template()
    examples = sorted(path.stem for path in paths.example_networks_dir().glob("*.json"))
    examples = [name for name in examples if name != "legacy_example"] + ["legacy_example"]  # ready ones first
    texts = [dialog.list.item(row).text() for row in range(dialog.list.count())]
    assert [text.splitlines()[0] for text in texts] == examples and dialog.chosen().name == "lenet5"
    lenet = texts[examples.index("lenet5")]
    assert "61,706 parameters" in lenet and "input [1, 28, 28] → [10]" in lenet
    assert "needs its sizes set" in texts[examples.index("legacy_example")]
    assert not dialog.list.item(0).icon().isNull()
    dialog.grab().save(str(tmp_path / "templates.png"))
    dialog.list.setCurrentRow(examples.index("small_resnet"))
    dialog.accept()
    assert window.document.path is None and window.windowTitle().startswith("small_resnet.json (example)")
    assert "block2_add" in window.network_tab.network
    window.document.undo_stack.setClean()
    assert window.actionNewFromTemplate in window.menuFile.actions()
    assert isinstance(dialog, QtWidgets.QDialog)


def test_import_a_torchvision_model_with_its_weights_from_the_file_menu(qtbot, tmp_path):
    import torch
    import torchvision

    from pytorchgui.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    dialog = window.import_model()
    assert dialog.isVisible() and dialog.model_combo.findText("densenet121") >= 0
    dialog.model_combo.setCurrentText("resnet18")
    dialog.weights_field.set_path(str(tmp_path / "r18.pth"))
    dialog.accept()
    network = window.network_tab.network
    assert len(network) == 69 and "layer1.0.conv1" in network
    assert window.windowTitle().startswith("resnet18.json (imported)")
    start = window.train_tab.options.config().initial_weights
    assert start.endswith("resnet18_weights.pt") and torch.load(start, weights_only=True)["fc.weight"].shape == (1000, 512)
    window.import_chosen("vgg11_bn", str(tmp_path / "r18.pth"))  # weights of another model: a dialog, no change
    boxes = [box for box in window.findChildren(QtWidgets.QMessageBox, "errorBox") if box.isVisible()]
    assert boxes and "are not this model's" in boxes[0].text() and len(network) == 69
    window.document.undo_stack.setClean()


def test_a_timm_model_whose_network_holds_constants_starts_training_from_them(window):
    """Imported without weights, resnetblur18's blur filters (constants no network file
    carries) would be random: the Train tab starts from the model's own weights."""
    import torch

    pytest.importorskip("timm")
    assert window.import_chosen("timm:resnetblur18")
    start = window.train_tab.options.config().initial_weights
    assert start.endswith("resnetblur18_weights.pt")
    assert torch.load(start, weights_only=True)["maxpool_1_conv2d.weight"][0, 0, 1, 1] == 0.25  # the filter's centre
    window.document.undo_stack.setClean()


def test_the_import_dialogs_help_is_whole_at_any_width(qtbot, window):
    dialog = window.import_model()
    note = dialog.findChild(QtWidgets.QLabel, "importNote")
    buttons = dialog.findChild(QtWidgets.QDialogButtonBox)
    for width in (dialog.width(), dialog.minimumSizeHint().width(), 900):
        dialog.resize(width, 100)  # as short as the user can make it
        qtbot.wait(10)
        assert note.height() >= note.heightForWidth(note.width()), width  # every line of it drawn
        assert note.geometry().top() >= 0 and note.geometry().bottom() < buttons.geometry().top(), width
    dialog.reject()


def test_import_an_onnx_file_from_the_file_menu(qtbot, tmp_path, monkeypatch):
    from pytorchgui import paths
    from pytorchgui.core.training import network_format
    from pytorchgui.core.interop.export import export
    from pytorchgui.gui.main_window import MainWindow

    export(network_format.load(paths.example_networks_dir() / "small_cnn.json"), "onnx", tmp_path / "cnn.onnx",
           None, None)
    window = MainWindow()
    qtbot.addWidget(window)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "cnn.onnx"), ""))
    window.actionImportOnnx.trigger()
    assert window.windowTitle().startswith("cnn.json (imported)") and "conv1" in window.network_tab.network
    assert window.train_tab.options.config().initial_weights.endswith("cnn_weights.pt")
    (tmp_path / "bad.onnx").write_bytes(b"nonsense")
    assert not window.import_onnx(str(tmp_path / "bad.onnx"))
    assert "conv1" in window.network_tab.network  # unchanged
    window.document.undo_stack.setClean()


def test_pretrained_weights_download_with_a_progress_bar_into_the_cache(qtbot, tmp_path, monkeypatch):
    import io
    import urllib.request

    import torch
    import torchvision

    from pytorchgui.gui.main_window import MainWindow

    buffer = io.BytesIO()
    torch.save(torchvision.models.resnet18().state_dict(), buffer)
    payload, served = buffer.getvalue(), []

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: (served.append(url), Response(payload))[1])
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    import hashlib

    from pytorchgui.core.interop import importers

    window = MainWindow()
    qtbot.addWidget(window)
    assert not window.import_chosen("resnet18", pretrained=True)  # the served bytes do not match the name's hash
    assert "is damaged" in [b for b in window.findChildren(QtWidgets.QMessageBox, "errorBox")][-1].text()
    assert not (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").exists()
    monkeypatch.setattr(importers, "expected_hash", lambda url: hashlib.sha256(payload).hexdigest()[:8])
    assert window.import_chosen("resnet18", pretrained=True)
    assert served and served[0].endswith("resnet18-f37072fd.pth")
    assert (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").stat().st_size == len(payload)
    assert window.train_tab.options.config().initial_weights.endswith("resnet18_weights.pt")
    window.document.undo_stack.setClean()


def test_the_gui_thread_runs_torch_serially_and_jobs_use_every_core(qtbot, window):
    """OpenMP gives every thread that runs a parallel op a pool of its own; a pool on the
    GUI thread made the Train tab's steps wait for sleeping workers (0.75 of the CLI's speed)."""
    import torch

    from pytorchgui.core.training.devices import training_threads
    from pytorchgui.gui.workers import Task

    qtbot.waitUntil(lambda: window.train_tab is not None, timeout=30000)
    assert torch.get_num_threads() == 1
    seen = []
    task = Task(window, lambda control: seen.append(torch.get_num_threads())).start()
    qtbot.waitUntil(lambda: not task.running, timeout=10000)
    assert seen == [training_threads()]


def _form_field_names(window) -> set:
    """The labels that name a form's fields: fixed words, never a message (in a form, or a
    field's buddy in a row of controls)."""
    names = {label for label in window.findChildren(QtWidgets.QLabel) if label.buddy() is not None}
    for form in window.findChildren(QtWidgets.QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QtWidgets.QFormLayout.LabelRole)
            if item is not None and item.widget() is not None:
                names.add(item.widget())
    return names


def _bring_forward(widget) -> None:
    """Make every tab page on the way from the window to `widget` the current one."""
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QtWidgets.QStackedWidget):
            parent.setCurrentWidget(child)
        child, parent = parent, parent.parentWidget()


def _lay_out() -> None:
    """Run the layouts' pending requests (a new text asks for a size on a posted event)."""
    for _ in range(5):
        QtWidgets.QApplication.sendPostedEvents()
        QtWidgets.QApplication.processEvents()


def _resize_back(qtbot, window, width: int) -> None:
    """A widened window does not shrink by itself: resize it once its minimum allows."""
    _lay_out()
    window.resize(width, window.height())
    qtbot.waitUntil(lambda: window.width() == width or window.resize(width, window.height()), timeout=2000)


def test_no_message_widens_the_window(qtbot, window):
    """Every label that shows a message, in every tab and page, with a long one: the window
    keeps its width (it wraps instead), and so it does for the status bar."""
    message = "Failed: " + " ".join(["the validation set pics has samples of shape [3, 12, 10], not [1, 28, 28];"] * 4)
    width = window.width()
    field_names = _form_field_names(window)
    widened = []
    for label in window.findChildren(QtWidgets.QLabel):
        if label in field_names or label.pixmap() is not None:
            continue
        _bring_forward(label)
        text, hidden = label.text(), label.isHidden()
        label.show()
        label.setText(message)
        _lay_out()
        if window.minimumSizeHint().width() > width or window.width() > width:
            widened.append(label.objectName() or text[:30])
        label.setText(text)
        label.setHidden(hidden)
        _resize_back(qtbot, window, width)
    window.statusBar().showMessage(message)
    _lay_out()
    assert widened == [] and window.width() == width, widened


def test_the_app_the_window_and_the_trays_notice_carry_the_icon(qtbot, window, monkeypatch):
    from pytorchgui import paths
    from pytorchgui.app import set_up

    app = QtWidgets.QApplication.instance()
    before = (app.applicationName(), app.organizationName(), app.windowIcon())
    try:
        set_up(app)
        assert not app.windowIcon().isNull()
    finally:
        app.setApplicationName(before[0])
        app.setOrganizationName(before[1])
        app.setWindowIcon(before[2])
    assert paths.app_icon_file().suffix == ".svg" and paths.app_icon_file().parent.parent == paths.resources_dir()
    assert not window.windowIcon().isNull() and not window.windowIcon().pixmap(32, 32).isNull()
    monkeypatch.setattr(QtWidgets.QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QtWidgets.QSystemTrayIcon, "supportsMessages", staticmethod(lambda: True))
    window.train_tab.notify("Training finished after 1 epoch")
    assert not window.train_tab._tray.icon().isNull()
    window.train_tab._tray.hide()


def test_the_first_paint_shows_the_examples_settings_without_loading_torch():
    # Before, the inspector said "Empty: drag a layer" beside LeNet-5's 12 nodes, with no
    # input shape and no loss, and the workspace imported torch before the window painted.
    import subprocess
    import sys

    script = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PyQt5 import QtWidgets
app = QtWidgets.QApplication([])
from pytorchgui.gui.main_window import MainWindow
window = MainWindow(lazy=True)
inspector = window.network_tab.inspector
print("torch" in sys.modules, inspector.findChild(QtWidgets.QLineEdit, "inspectorInput").text(),
      inspector.forms["loss"].entry.name if "loss" in inspector.forms else None, sep="|")
"""
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert output.strip().splitlines()[-1] == "False|1, 28, 28|CrossEntropyLoss"


def test_the_status_bars_messages_last_their_time_beside_the_networks_size(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.network_tab.report_changed, timeout=5000):  # the edit's shape check has run
        window.network_tab.freeze_all_but_last()
    message = window.statusBar().currentMessage()
    assert message.startswith("Froze 4 nodes; the last layer with weights trains")  # not replaced by the report
    report = window.findChild(QtWidgets.QLabel, "reportLabel")  # the report has a place of its own
    assert report.text() == QtWidgets.QLabel.text(report) == "61,706 parameters, output [10]"  # drawn whole
    network = window.network_tab.network
    with qtbot.waitSignal(window.network_tab.report_changed, timeout=5000):
        window.document.apply("break", lambda: network.set_parameters("fc1", {**network.nodes["fc1"].parameters,
                                                                               "in_features": 123}))
    assert report.text() == "1 problem: the Network tab lists it"  # no count of a network that does not compile
    long = "Imported resnet152: 515 nodes, training starts from its weights (" + "a note on a layer; " * 20 + ")"
    window.statusBar().showMessage(long)
    assert window.statusBar().toolTip() == long  # cut at the window's edge, but readable in full
    window.resize(1400, 900)
    qtbot.wait(50)
    window.statusBar().grab().save(str(tmp_path / "status_bar.png"))

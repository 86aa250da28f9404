"""Helpers for driving the real widgets in the GUI tests."""
from PyQt5 import QtCore, QtWidgets

from pytorchgui.gui.forms import FunctionDialog


def open_data(qtbot, data_tab, source: str, mode: str = "train") -> bool:
    """Choose `source` in the Data tab, mark it training or test, press Open; True if a
    dataset was added."""
    data_tab.source_combo.setCurrentText(source)
    (data_tab.train_radio if mode == "train" else data_tab.test_radio).setChecked(True)
    before = len(data_tab.workspace.datasets)
    qtbot.mouseClick(data_tab.open_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: data_tab.loading is None, timeout=20000)
    return len(data_tab.workspace.datasets) > before


def trained_on_shapes(qtbot, window, train_samples: int, test_samples: int, epochs: int):
    """The built-in shapes as training and test set, the open network trained `epochs` on
    them (batch 64, validated on the test set), then the Evaluation tab shown and returned."""
    from pytorchgui.core.data.data_source import builtin_pair

    train, test = builtin_pair(train_samples, test_samples)
    window.workspace.add_dataset(train, "train")
    window.workspace.add_dataset(test, "test")
    train_tab = window.train_tab
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findText("Shapes (test)"))
    train_tab.epochs_spin.setValue(epochs)
    train_tab.batch_spin.setValue(64)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        train_tab.start()
    window.tabs.setCurrentWidget(window.evaluationTab)
    return window.evaluation_tab


def train_one_epoch(qtbot, window, dataset, network=None) -> None:
    """`dataset` as the training set with no validation, the network (the open one, or the
    template file `network`) fitted to it and trained one epoch."""
    if network is not None:
        assert window.start_from_template(network)
    window.workspace.fit_network(window.workspace.add_dataset(dataset, "train"))
    train_tab = window.train_tab
    train_tab.validation_combo.setCurrentIndex(0)
    train_tab.epochs_spin.setValue(1)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start(), [box.text() for box in error_boxes(train_tab)]


def choose_text_csv(data_tab, path, target: str, column: str, length: int) -> None:
    """The CSV source set to read `column` as token ids of `length`."""
    data_tab.source_combo.setCurrentText("CSV table")
    data_tab.csv_field.set_path(str(path))
    data_tab.target_combo.setCurrentText(target)
    data_tab.csv_input_combo.setCurrentIndex(1)
    data_tab.text_column_combo.setCurrentText(column)
    data_tab.length_spin.setValue(length)


def settle(qtbot, tab):
    """Let the coalesced refresh run."""
    qtbot.wait(1)
    qtbot.waitUntil(lambda: not tab._refresh_timer.isActive())


def fill(dialog: FunctionDialog, **values) -> None:
    """Type values into a generated form the way a user would."""
    fill_form(dialog.form, **values)


def fill_form(form, **values) -> None:
    for name, value in values.items():
        field = form.fields[name]
        editor = field.editor
        if field.auto_toggle is not None:
            field.auto_toggle.setChecked(value == "auto")
        if value == "auto":
            pass
        elif value is None:
            field.none_toggle.setChecked(True)
        elif isinstance(editor, QtWidgets.QCheckBox):
            editor.setChecked(value)
        elif isinstance(editor, QtWidgets.QComboBox):
            editor.setCurrentIndex(editor.findData(value))
        elif isinstance(editor, QtWidgets.QAbstractSpinBox):
            editor.lineEdit().setText(str(value))
            editor.interpretText()
        else:
            editor.setText(", ".join(map(str, value)) if isinstance(value, list) else str(value))


def error_boxes(widget):
    return [box for box in widget.window().findChildren(QtWidgets.QMessageBox, "errorBox") if box.isVisible()]


def drag(widget, start, end, steps=5):
    """Press, move with the button held, release. QTest.mouseMove sends no buttons, so
    QGraphicsView would not drag; real events with the button state and the screen
    position (the scene measures moves in screen coordinates) do."""
    from PyQt5 import QtCore, QtGui

    def send(kind, position, button, buttons):
        event = QtGui.QMouseEvent(kind, QtCore.QPointF(position), QtCore.QPointF(widget.mapToGlobal(position)),
                                  button, buttons, QtCore.Qt.NoModifier)
        QtWidgets.QApplication.sendEvent(widget, event)

    left = QtCore.Qt.LeftButton
    send(QtCore.QEvent.MouseButtonPress, start, left, left)
    for step in range(1, steps + 1):
        point = start + (end - start) * step / steps
        send(QtCore.QEvent.MouseMove, point, QtCore.Qt.NoButton, left)
    send(QtCore.QEvent.MouseButtonRelease, end, left, QtCore.Qt.NoButton)


def edit_in_inspector(qtbot, form, **values) -> None:
    """Type each value into the inspector's form and press Enter, as a user would: each
    field is its own finished edit."""
    for name, value in values.items():
        fill_form(form, **{name: value})
        editor = form.fields[name].editor
        if isinstance(editor, (QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)):
            qtbot.keyClick(editor, QtCore.Qt.Key_Return)
        else:
            form.fields[name].finished.emit()


def palette_item(palette, key):
    [item] = [item for item in palette.leaves() if item.data(0, QtCore.Qt.UserRole) == key]
    return item


def double_click_item(qtbot, tree, item) -> None:
    """A real double-click: QTest's alone sends no first press, which item views need."""
    tree.scrollToItem(item)
    centre = tree.visualItemRect(item).center()
    qtbot.mouseClick(tree.viewport(), QtCore.Qt.LeftButton, pos=centre)
    qtbot.mouseDClick(tree.viewport(), QtCore.Qt.LeftButton, pos=centre)


def drop_on(widget, mime, position) -> bool:
    """Drag `mime` over `widget` and drop it at `position`, through the real drag events;
    returns whether the widget accepted the drop."""
    from PyQt5 import QtGui

    actions, left, none = QtCore.Qt.CopyAction, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier
    enter = QtGui.QDragEnterEvent(position, actions, mime, left, none)
    QtWidgets.QApplication.sendEvent(widget, enter)
    move = QtGui.QDragMoveEvent(position, actions, mime, left, none)
    QtWidgets.QApplication.sendEvent(widget, move)
    if not move.isAccepted():
        return False
    drop = QtGui.QDropEvent(QtCore.QPointF(position), actions, mime, left, none)
    QtWidgets.QApplication.sendEvent(widget, drop)
    return drop.isAccepted()

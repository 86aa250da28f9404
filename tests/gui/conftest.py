import gc

import pytest
from PyQt5 import QtWidgets

from pytorchgui.gui import dialogs
from pytorchgui.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def collect_windows_between_tests():
    """Garbage is collected between tests, never during one.

    A closed window is often kept only by reference cycles (slots that hold self); a
    collection that happens while Qt delivers an event (a timer of that very window, a
    paint) destroys its C++ objects under the running code and crashes. A collection
    from here, with no Qt code on the stack, is safe."""
    gc.disable()
    yield
    gc.enable()
    gc.collect()


@pytest.fixture(autouse=True)
def answers(monkeypatch):
    """Answers to the blocking questions, in order; Discard / No once they run out.

    pytest-qt closes the test's windows before fixtures are torn down, so a window left
    with unsaved changes would otherwise wait forever for a click on "Save changes?".
    """
    queue = []
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: queue.pop(0) if queue else QtWidgets.QMessageBox.Discard)
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda *a, **k: queue.pop(0) if queue else QtWidgets.QMessageBox.No)
    return queue


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    qtbot.waitUntil(lambda: win.network_tab.report is not None)
    return win


@pytest.fixture
def tab(window):
    return window.network_tab


@pytest.fixture
def fresh_window(qtbot):
    """A window as a fresh start opens it: the LeNet-5 example and, once read, the built-in
    shapes as training and test set."""
    win = MainWindow(example_data=True)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitUntil(lambda: len(win.workspace.datasets) == 2, timeout=30000)
    return win

"""Start warns when frozen layers still hold their random initial values (issue 29,
misleading results 3): the user can cancel, or train anyway; with weights to start from,
nothing is asked."""
import os
from pathlib import Path

import torch
from PyQt5 import QtCore, QtWidgets

from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.data.fit import freeze_all_but_last
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.gui import dialogs


def frozen_lenet(window):
    train, _ = builtin_pair(256, 64)
    window.workspace.add_dataset(train, "train")
    window.document.apply("Freeze all but the last layer", lambda: freeze_all_but_last(window.document.network))
    tab = window.train_tab
    tab.epochs_spin.setValue(1)
    return tab


def test_start_asks_and_cancel_trains_nothing(qtbot, window, tmp_path):
    tab = frozen_lenet(window)
    seen = []

    def answer() -> None:
        box = next(widget for widget in QtWidgets.QApplication.topLevelWidgets()
                   if widget.objectName() == "frozenAtRandomBox" and widget.isVisible())
        seen.append(f"{box.text()} {box.informativeText()}")
        folder = Path(os.environ.get("PYTORCHGUI_GRABS", tmp_path))
        box.grab().save(str(folder / "train_frozen_at_random.png"))
        box.button(QtWidgets.QMessageBox.Cancel).click()

    QtCore.QTimer.singleShot(200, answer)
    assert tab.start() is False
    [text] = seen
    assert text.startswith("4 frozen nodes (conv1, conv2, fc1 and 1 more) keep the random values they start with")
    assert "pretrained weights" in text and "Start from weights" in text
    assert tab.task is None and window.workspace.last_result is None


def test_train_anyway_trains_and_logs_the_warning_and_weights_to_start_from_ask_nothing(qtbot, window, tmp_path,
                                                                                         monkeypatch):
    tab = frozen_lenet(window)
    asked = []
    monkeypatch.setattr(dialogs, "ask_to_train_frozen_at_random", lambda parent, text: asked.append(text) or True)
    with qtbot.waitSignal(tab.training_finished, timeout=60000):
        assert tab.start()
    assert len(asked) == 1 and "warning: 4 frozen nodes" in tab.log_view.toPlainText()
    torch.save(compile_network(window.document.network).state_dict(), tmp_path / "trained.pt")
    tab.options.apply(tab.options.config().replace(initial_weights=str(tmp_path / "trained.pt")))
    with qtbot.waitSignal(tab.training_finished, timeout=60000):
        assert tab.start()
    assert len(asked) == 1  # every frozen node gets weights from the file: nothing to ask

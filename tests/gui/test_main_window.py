from pytorchgui.gui.main_window import MainWindow


def test_main_window_has_the_four_tabs_and_menus(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    tabs = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
    assert tabs == ["Data", "Network", "Train", "Evaluation"]
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

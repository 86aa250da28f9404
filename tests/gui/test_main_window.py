from pytorchgui.gui.main_window import MainWindow


def test_main_window_has_the_four_tabs_and_menus(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    tabs = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
    assert tabs == ["Data", "Network", "Train", "Evaluation"]
    menus = [action.text().replace("&", "") for action in window.mainMenuBar.actions()]
    assert menus == ["File", "Edit", "View", "Help"]
    assert window.actionSave.shortcut().toString() == "Ctrl+S"

"""The Evaluation tab's Curves page: ROC, precision–recall and reliability after measuring
a classifier, and the two-class threshold moving the confusion matrix."""
import pytest
from PyQt5 import QtCore, QtWidgets

from gui_helpers import train_one_epoch
from pytorchgui.core.data.data_source import DataSource
from tests.data_writers import write_image_folder, write_mnist

CURVES_PAGE = "Curves"


def launch(qtbot, tab):
    assert tab.launch() is not None
    qtbot.waitUntil(lambda: tab.loading is None, timeout=30000)


def show_curves(tab, path):
    """The Curves page in front, the window at a common size, grabbed to `path`."""
    tab.window().resize(1400, 900)
    tab.window().tabs.setCurrentWidget(tab.window().evaluationTab)
    tab.result_tabs.setCurrentIndex(tab.result_tabs.indexOf(tab.curves_view))
    QtWidgets.QApplication.processEvents()
    tab.curves_view.grab().save(str(path))


def matrix_counts(tab):
    return [text.toPlainText() for text in tab.matrix_texts]


@pytest.fixture
def two_classes(qtbot, window, tmp_path):
    """LeNet-5 fitted to a folder of cats and dogs (noise) and trained one epoch, and the
    Evaluation tab measuring it on that folder."""
    folder = write_image_folder(tmp_path / "pets", classes=("cat", "dog"), per_class=20, size=(28, 28))
    train_one_epoch(qtbot, window, DataSource("folder", str(folder)).load())
    window.tabs.setCurrentWidget(window.evaluationTab)
    return window.evaluation_tab


def test_the_page_says_what_it_waits_for_before_measuring(qtbot, window, tmp_path):
    tab = window.evaluation_tab
    assert tab.result_tabs.tabText(tab.result_tabs.indexOf(tab.curves_view)) == CURVES_PAGE
    view = tab.curves_view
    show_curves(tab, tmp_path / "curves_empty.png")
    assert view.message.isVisible() and view.message.text() == tab.NO_RESULTS and not view.content.isVisible()


def test_two_classes_the_threshold_moves_the_confusion_matrix(qtbot, two_classes, tmp_path):
    tab, view = two_classes, two_classes.curves_view
    launch(qtbot, tab)
    show_curves(tab, tmp_path / "curves_two_classes.png")
    measured = tab.result
    assert not tab.result_tabs.isTabVisible(tab.result_tabs.indexOf(tab.regression_view))  # for regressions only
    assert measured.classes == ["cat", "dog"] and view.content.isVisible() and not view.message.isVisible()
    assert view.threshold_box.isVisible() and "Predict <b>dog</b>" in view.threshold_caption.text()
    assert [view.class_combo.itemText(i) for i in range(3)] == ["All classes", "cat", "dog"]
    assert view.auc_table.rowCount() == 3 and view.auc_table.item(2, 0).text() == "macro average"
    curves = measured.curves()
    assert view.auc_table.item(1, 1).text() == f"{curves.classes[1].auc:.3f}"
    assert len(view.roc_plot.listDataItems()) == 4  # chance, two classes, the threshold's point on dog's
    argmax_counts = matrix_counts(tab)
    assert argmax_counts == [str(int(n)) for n in measured.confusion.flatten()]

    view.threshold_slider.setValue(0)  # every probability is above 0: every sample a dog
    assert tab.result.threshold == 0.0 and tab.result.confusion.tolist() == [[0, 20], [0, 20]]
    assert matrix_counts(tab) == ["0", "20", "0", "20"] != argmax_counts
    assert "dog predicted above 0.00" in tab.matrix_plot.plotItem.titleLabel.text
    assert view.threshold_value.text() == "0.00" and "accuracy <b>50.0%</b>" in view.threshold_figures.text()
    assert "recall <b>1.000</b>" in view.threshold_figures.text()
    assert tab.report_table.item(1, 2).text() == "1.000"  # dog's recall in the per-class report
    assert "accuracy <b>50.00%</b> (dog above 0.00)" in tab.summary_label.text()  # the summary follows too
    assert tab.gallery.count() == 20  # every cat is now a mistake
    view.set_threshold(0.3)
    assert tab.result.confusion.tolist() == measured.at_threshold(0.3).confusion.tolist()
    tab.result_tabs.setCurrentIndex(0)
    tab.grab().save(str(tmp_path / "matrix_at_threshold.png"))
    show_curves(tab, tmp_path / "curves_threshold.png")

    qtbot.mouseClick(view.findChild(QtWidgets.QPushButton, "thresholdResetButton"), QtCore.Qt.LeftButton)
    assert tab.result is measured and matrix_counts(tab) == argmax_counts
    assert f"accuracy <b>{measured.accuracy:.2%}</b><br>" in tab.summary_label.text() + "<br>"
    assert "predicted above" not in tab.matrix_plot.plotItem.titleLabel.text and view.threshold_value.text() == "0.50"


def test_many_classes_overlaid_or_one_and_the_exported_report_carries_them(qtbot, window, tmp_path, monkeypatch):
    write_mnist(tmp_path, train=200, test=100)
    for train in (True, False):
        window.workspace.add_dataset(DataSource("MNIST", str(tmp_path)).load(train), "train" if train else "test")
    train_tab = window.train_tab
    train_tab.validation_combo.setCurrentIndex(train_tab.validation_combo.findText("MNIST (test)"))
    train_tab.epochs_spin.setValue(3)
    with qtbot.waitSignal(train_tab.training_finished, timeout=60000):
        assert train_tab.start()
    window.tabs.setCurrentWidget(window.evaluationTab)
    tab, view = window.evaluation_tab, window.evaluation_tab.curves_view
    launch(qtbot, tab)
    show_curves(tab, tmp_path / "curves_ten_classes.png")
    assert tab.result.samples == 100 and len(tab.result.classes) == 10
    assert view.content.isVisible() and not view.threshold_box.isVisible()  # a threshold is for two classes
    assert view.class_combo.count() == 11 and view.auc_table.rowCount() == 11
    assert len(view.roc_plot.listDataItems()) == 11 and len(view.pr_plot.listDataItems()) == 10
    legend = view.roc_plot.plotItem.legend
    assert legend.items == []  # ten curves: the table's colours name them, a legend would hide them
    assert not view.auc_table.item(0, 0).icon().isNull() and view.auc_table.item(10, 0).icon().isNull()
    assert view.reliability_plot.plotItem.titleLabel.text.startswith("Reliability (ECE ")
    view.class_combo.setCurrentIndex(4)  # class 3 against the rest
    assert view.chosen_classes() == [3] and len(view.roc_plot.listDataItems()) == 2
    assert [label.text for _, label in legend.items] == ["chance", f"3 - three (AUC {tab.result.curves().classes[3].auc:.3f})"]
    show_curves(tab, tmp_path / "curves_one_class.png")
    view.auc_table.cellClicked.emit(6, 0)  # a row of the table shows its class
    assert view.class_combo.currentText() == "6 - six"

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "report.csv"), ""))
    tab.export_report()
    assert (tmp_path / "report_roc.csv").is_file() and (tmp_path / "report_calibration.csv").is_file()


def test_a_regression_page_says_curves_are_for_classification(qtbot, window, tmp_path):
    from pytorchgui import paths
    from tests.data_writers import write_regression_csv

    tab = window.evaluation_tab
    data = DataSource("csv", str(write_regression_csv(tmp_path / "diabetes.csv", rows=60)), target="target").load()
    train_one_epoch(qtbot, window, data, paths.example_networks_dir() / "mlp.json")
    window.tabs.setCurrentWidget(window.evaluationTab)
    launch(qtbot, tab)
    assert tab.result.is_regression
    tabs = tab.result_tabs
    assert not tabs.isTabVisible(tabs.indexOf(tab.curves_view))  # hidden for a regression, so the others fit
    assert tabs.isTabVisible(tabs.indexOf(tab.regression_view))
    show_curves(tab, tmp_path / "curves_regression.png")
    assert tab.curves_view.message.text() == ("The Curves page is for classification: these weights predict a numeric "
                                              "target; see Predicted vs true.")
    assert not tab.curves_view.content.isVisible()

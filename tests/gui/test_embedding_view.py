"""The Evaluation tab's Embedding page after a tiny training run on the built-in shapes."""
import numpy
import pytest
from PyQt5 import QtCore

from gui_helpers import trained_on_shapes
from pytorchgui.core.training.embedding import class_colours


@pytest.fixture
def evaluation(qtbot, window):
    tab = trained_on_shapes(qtbot, window, 600, 200, epochs=2)
    tab.result_tabs.setCurrentWidget(tab.embedding_view)
    return tab


def project(qtbot, view):
    assert view.project() is not None
    qtbot.waitUntil(lambda: view.task is None, timeout=60000)


def test_before_projecting_the_page_says_what_it_shows_and_offers_the_nodes(evaluation):
    view = evaluation.embedding_view
    assert "press Project" in view.message.text() and not view.scatters
    assert view.node_combo.itemText(0) == "input of the last Linear (fc3)" and view.node_combo.itemData(0) is None
    assert view.node_combo.findText("output of pool2") > 0
    assert [view.method_combo.itemText(i) for i in range(3)] == ["PCA", "t-SNE", "UMAP"]


def test_pca_draws_the_points_coloured_by_class_and_a_click_opens_the_sample_in_try_it(qtbot, evaluation, tmp_path):
    tab = evaluation
    view = tab.embedding_view
    view.samples_spin.setValue(150)
    project(qtbot, view)
    result = view.embedding
    assert result.points.shape == (150, 2) and result.node == "fc3" and result.method == "pca"
    assert "PCA of the input of fc3" in view.message.text()
    classes = sorted(set(result.targets.tolist()))
    assert len(view.scatters) == len(classes) and sum(len(s.data) for s in view.scatters) == 150
    colours = class_colours(10)
    for scatter in view.scatters:
        rows = scatter.data["data"].astype(int)
        assert len(set(result.targets[rows].tolist())) == 1  # one class per colour
        brush = scatter.opts["brush"].color()
        assert (brush.red(), brush.green(), brush.blue()) == colours[int(result.targets[rows[0]])]
    legend = [label.text for _, label in view.plot.plotItem.legend.items]
    assert legend == [result.classes[index] for index in classes]
    view.grab().save(str(tmp_path / "embedding.png"))

    scatter = view.scatters[0]
    spot = scatter.points()[0]
    row = int(spot.data())
    view._hovered(scatter, [spot], None)
    assert f"Sample <b>{int(result.indices[row])}</b>" in view.preview_text.text()
    assert view.preview_image.pixmap() is not None and not view.preview_image.pixmap().isNull()

    # a real click on the point, where the plot draws it
    plot_view = view.plot
    scene_position = scatter.mapToScene(spot.pos())
    position = plot_view.mapFromScene(scene_position)
    qtbot.mouseClick(plot_view.viewport(), QtCore.Qt.LeftButton, pos=position)
    index = int(result.indices[row])
    assert tab.result_tabs.currentIndex() == 3
    assert f"sample {index} of Shapes (test), true class <b>{result.classes[int(result.targets[row])]}</b>" in \
        tab.input_caption.text()
    assert tab.prepared_sample is not None
    assert numpy.array_equal(tab.prepared_sample.numpy(), tab.dataset_combo.currentData().dataset().inputs[index].numpy())


def test_other_weights_clear_the_points(qtbot, evaluation):
    view = evaluation.embedding_view
    view.samples_spin.setValue(50)
    project(qtbot, view)
    assert view.scatters
    evaluation.weights_combo.setCurrentIndex(1)
    assert not view.scatters and view.embedding is None and "press Project" in view.message.text()


def test_stop_says_it_stopped(qtbot, evaluation):
    view = evaluation.embedding_view
    task = view.project()
    view.stop()
    qtbot.waitUntil(lambda: view.task is None, timeout=60000)
    assert task.control.cancelled
    assert view.message.text().startswith("Stopped") and view.embedding is None and view.project_button.isEnabled()


def test_a_regression_is_coloured_by_its_target_value(qtbot, window, tmp_path):
    import torch

    from pytorchgui.core.data.samples import TensorDataset
    from pytorchgui.core.training.embedding import Embedding

    view = window.evaluation_tab.embedding_view
    window.tabs.setCurrentWidget(window.evaluationTab)
    window.evaluation_tab.result_tabs.setCurrentWidget(view)
    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
    targets = torch.linspace(-1, 3, 40)[:, None]
    data = TensorDataset("values", "generated", images, targets, None, "image")
    rows = numpy.arange(40)
    points = numpy.stack([rows, rows % 7], 1).astype(numpy.float32)
    result = Embedding(points, targets[:, 0].numpy(), targets[:, 0].numpy() + 0.5, rows, "fc", True, "pca", None, 8,
                       "values")
    view.projected = data
    for _ in range(2):  # a second projection replaces the colour bar, never adds one
        view._projected(result)
    assert len(view.scatters) == 1 and view.colour_bar is not None
    assert tuple(view.colour_bar.levels()) == (-1.0, 3.0)
    layout = view.plot.plotItem.layout
    bars = [layout.itemAt(i) for i in range(layout.count()) if isinstance(layout.itemAt(i), type(view.colour_bar))]
    assert len(bars) == 1
    brushes = view.scatters[0].data["brush"]
    assert brushes[0].color().name() != brushes[-1].color().name()  # low and high values differ in colour
    view._hovered(view.scatters[0], [view.scatters[0].points()[39]], None)
    assert "true <b>3</b>" in view.preview_text.text() and "predicted <b>3.5</b>" in view.preview_text.text()
    view.grab().save(str(tmp_path / "regression.png"))
    view.clear()
    assert view.colour_bar is None and not view.scatters


def test_umap_is_greyed_with_what_to_install_when_umap_learn_is_missing(qtbot, monkeypatch):
    from pytorchgui.gui import embedding_view

    monkeypatch.setattr(embedding_view, "umap_problem",
                        lambda: "UMAP needs umap-learn, an optional extra: pip install pytorchgui[embedding]")
    view = embedding_view.EmbeddingView(None)
    qtbot.addWidget(view)
    combo = view.method_combo
    umap = combo.findData("umap")
    assert not combo.model().item(umap).isEnabled() and combo.model().item(combo.findData("tsne")).isEnabled()
    assert "pip install pytorchgui[embedding]" in combo.itemData(umap, QtCore.Qt.ToolTipRole)

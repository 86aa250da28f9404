import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def user_home(tmp_path, monkeypatch):
    """Every test gets its own settings, autosave and run folders (see pytorchgui.paths)."""
    home = tmp_path / "pytorchgui-home"
    monkeypatch.setenv("PYTORCHGUI_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def no_layer_figure(request, monkeypatch):
    """Every training run ends by drawing its layer histories (0.5 to 1 s of matplotlib, over
    a hundred runs here): only the tests marked layer_figure, which look at it, draw it."""
    if "layer_figure" not in request.keywords:
        monkeypatch.setenv("PYTORCHGUI_NO_LAYER_FIGURE", "1")


@pytest.fixture(autouse=True)
def no_tensorboard(request, monkeypatch):
    """Every training run writes TensorBoard event files when tensorboard is installed (the
    graph traced, an image an epoch): only the tests marked tensorboard, which read them, do."""
    if "tensorboard" not in request.keywords:
        monkeypatch.setenv("PYTORCHGUI_TENSORBOARD", "0")

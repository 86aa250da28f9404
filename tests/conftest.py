import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _pin_each_xdist_worker_to_a_core_of_its_own() -> None:
    """`make test` runs the suite in one pytest-xdist worker per core. Each is pinned to its
    own core, so that training in one (which would take every core: devices.training_threads)
    never waits for the other's threads, and the processes a test starts inherit that core."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= len(cores):
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


_pin_each_xdist_worker_to_a_core_of_its_own()


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

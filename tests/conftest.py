import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def user_home(tmp_path, monkeypatch):
    """Every test gets its own settings, autosave and run folders (see pytorchgui.paths)."""
    home = tmp_path / "pytorchgui-home"
    monkeypatch.setenv("PYTORCHGUI_HOME", str(home))
    return home

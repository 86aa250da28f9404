"""Where PyTorchGUI finds its own data and keeps the user's.

Package data (function_db/, ui/, resources/) lives at the top of the repository in a
checkout or an editable install, and inside the package after a wheel install (see
setup.py). User data (settings, recent files, autosaves, runs, logs) lives in the
platform's user directories from appdirs; every module asks here, so that tests can move
all of it with one environment variable (PYTORCHGUI_HOME).
"""
from __future__ import annotations

import os
from pathlib import Path

import appdirs

APP_NAME = "PyTorchGUI"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _package_data(folder: str) -> Path:
    for candidate in (_PACKAGE_DIR / folder, _PACKAGE_DIR.parent / folder):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"PyTorchGUI's '{folder}' folder is missing: looked in {_PACKAGE_DIR} and "
        f"{_PACKAGE_DIR.parent}. Reinstall the package."
    )


def function_db_dir() -> Path:
    return _package_data("function_db")


def ui_dir() -> Path:
    return _package_data("ui")


def resources_dir() -> Path:
    return _package_data("resources")


def app_icon_file() -> Path:
    """The window's, the taskbar's and the notifications' icon."""
    return resources_dir() / "icons" / "pytorchgui.svg"


def example_networks_dir() -> Path:
    return resources_dir() / "networks"


def is_example_network(path: str | os.PathLike) -> bool:
    """A network shipped with the package (opened as an untitled copy, never overwritten)."""
    try:
        return Path(path).resolve().parent == example_networks_dir().resolve()
    except OSError:
        return False


def _user_dir(kind: str) -> Path:
    override = os.environ.get("PYTORCHGUI_HOME")
    if override:
        path = Path(override) / kind
    else:
        dirs = appdirs.AppDirs(APP_NAME, appauthor=False)
        path = Path(
            {
                "config": dirs.user_config_dir,
                "data": dirs.user_data_dir,
                "log": dirs.user_log_dir,
            }[kind]
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Settings and the recent-files list."""
    return _user_dir("config")


def data_dir() -> Path:
    """Autosaves and the run history."""
    return _user_dir("data")


def log_dir() -> Path:
    """Crash and error logs."""
    return _user_dir("log")


def runs_dir() -> Path:
    path = data_dir() / "runs"
    path.mkdir(exist_ok=True)
    return path


def autosave_dir() -> Path:
    path = data_dir() / "autosave"
    path.mkdir(exist_ok=True)
    return path


def builtin_blocks_dir() -> Path:
    return resources_dir() / "blocks"


def user_blocks_dir() -> Path:
    """The blocks the user saved from a selection (Save as block…)."""
    path = data_dir() / "blocks"
    path.mkdir(exist_ok=True)
    return path

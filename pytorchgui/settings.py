"""The user's settings and recent files: one JSON file in the appdirs config folder.

Written atomically; a missing or damaged file gives the defaults (settings are a
convenience, never a reason not to start).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytorchgui import paths
from pytorchgui.core.atomic import atomic_write_text

MAX_RECENT_FILES = 10


def _settings_file() -> Path:
    return paths.config_dir() / "settings.json"


def load_settings() -> dict[str, Any]:
    try:
        data = json.loads(_settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(settings: dict[str, Any]) -> None:
    atomic_write_text(_settings_file(), json.dumps(settings, indent=2))


def recent_files() -> list[str]:
    files = load_settings().get("recent_files", [])
    return [f for f in files if isinstance(f, str)]


def add_recent_file(path: str | Path) -> list[str]:
    path = str(Path(path).resolve())
    settings = load_settings()
    files = [path] + [f for f in recent_files() if f != path]
    settings["recent_files"] = files[:MAX_RECENT_FILES]
    save_settings(settings)
    return settings["recent_files"]


def remove_recent_file(path: str | Path) -> None:
    settings = load_settings()
    settings["recent_files"] = [f for f in recent_files() if f != str(path)]
    save_settings(settings)

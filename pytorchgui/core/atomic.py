"""Atomic file writes: the user's files are either the old version or the new, never half.

A temporary file is written beside the target (same file system, so the rename is
atomic), flushed and fsynced, then renamed over the target with os.replace. If anything
fails on the way, the temporary file is removed and the target is untouched.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, BinaryIO


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(stream)` on a temporary file, then put it in place of `path`."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))

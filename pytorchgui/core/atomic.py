"""Atomic file writes: the user's files are either the old version or the new, never half.

A temporary file is written beside the target (same file system, so the rename is
atomic), flushed and fsynced, then renamed over the target with os.replace. If anything
fails on the way, the temporary file is removed and the target is untouched.

The result has the permissions a plain write would give: those of the file it replaces,
or the user's umask for a new file (mkstemp alone would make every saved file 0600).
A write killed half-way leaves its temporary file behind; its name carries the writer's
process id, so the next save of the same file removes the leftovers of writers that are
gone.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable

from pytorchgui.core.errors import SaveError

_ORPHAN_AGE_SECONDS = 3600  # where a writer's liveness cannot be asked (Windows): older is stale


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread runs
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _writer_is_gone(temporary: Path, target: Path) -> bool:
    pid_text = temporary.name[len(target.name) + 2:].split(".", 1)[0]  # .NAME.PID.RANDOM.tmp
    if not pid_text.isdigit():  # the first version's names had no pid: any such file is a leftover
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another thread of this process may be writing it right now
    if sys.platform == "win32":
        try:
            return time.time() - temporary.stat().st_mtime > _ORPHAN_AGE_SECONDS
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed writes of `path` left behind; the removed."""
    path = Path(path)
    removed = []
    for temporary in path.parent.glob(f".{_glob_escape(path.name)}.*.tmp"):
        if _writer_is_gone(temporary, path):
            # gone already, or not ours to remove: the save itself must not fail for it
            with contextlib.suppress(OSError):
                temporary.unlink()
                removed.append(temporary)
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def _writable_target(path: Path) -> Path:
    """The file a save really writes: a symbolic link's target (saving through a link keeps
    the link), after refusing a read-only file and a directory in the way."""
    path = Path(os.path.realpath(path)) if path.is_symlink() else path
    if path.is_dir():
        raise SaveError(errno.EISDIR, f"cannot save to {path}: it is a folder; give a file name")
    if path.exists() and not stat.S_IMODE(path.stat().st_mode) & stat.S_IWUSR:
        raise SaveError(errno.EACCES, f"cannot save to {path}: the file is read-only; save under another name or "
                                      "make it writable")
    if not path.parent.is_dir():
        raise SaveError(errno.ENOENT, f"cannot save to {path}: the folder {path.parent} does not exist")
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(stream)` on a temporary file, then put it in place of `path`. A failure
    is a SaveError naming the file; the file that was there stays as it was."""
    path = _writable_target(Path(path))
    remove_stale_temporaries(path)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise SaveError(error.errno, f"cannot save to {path}: {error.strerror or error}") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, _mode_for(path))
        with os.fdopen(descriptor, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and not isinstance(error, SaveError):
            raise SaveError(error.errno, f"cannot save to {path}: {error.strerror or error}; the file that was "
                                         "there is unchanged") from None
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))

"""The log of true bugs, shared by the app and the command line: an error that is not a
PyTorchGUIError is written here with its traceback, and the user is told where."""
from __future__ import annotations

import logging
import logging.handlers
import os
import traceback

from pytorchgui import paths

log = logging.getLogger("pytorchgui")


def log_file() -> str:
    return str(paths.log_dir() / "pytorchgui.log")


def configure_logging() -> None:
    """Log to log_file(); again when the user folder moved (PYTORCHGUI_HOME changed)."""
    path = os.path.abspath(log_file())
    for handler in [h for h in log.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]:
        if handler.baseFilename == path:
            return
        log.removeHandler(handler)
        handler.close()
    handler = logging.handlers.RotatingFileHandler(log_file(), maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def log_bug(error: BaseException, context: str = "unexpected error") -> str:
    """Write `error` with its traceback to the log; the traceback, for a dialog's details."""
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    configure_logging()
    log.error("%s\n%s", context, details)
    return details

"""Loading torch files that may come from anywhere: tensors and plain containers only.

`weights_only=True` makes torch refuse any pickled object other than tensors, numbers,
strings and the standard containers, so a file that would run code on load is refused
instead. Every failure becomes the caller's own error type with the file named.
"""
from __future__ import annotations

import os
import pickle
from typing import Any

import torch

from pytorchgui.core.errors import first_line


def load_tensors(path: str | os.PathLike, error_type: type[Exception], what: str) -> Any:
    """torch.load(path, weights_only=True) with errors that say `path` is not `what`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise error_type(f"there is no {what} at {path}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        raise error_type(f"{path} is not a {what}, or holds code or objects other than tensors, so it was not "
                         f"loaded ({first_line(error)})") from None

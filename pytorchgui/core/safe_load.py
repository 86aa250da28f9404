"""Loading torch files that may come from anywhere: tensors and plain containers only.

`weights_only=True` makes torch refuse any pickled object other than tensors, numbers,
strings and the standard containers, so a file that would run code on load is refused
instead. Every failure becomes the caller's own error type with the file named.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
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


def load_state_dict(path: str | os.PathLike, error_type: type[Exception]) -> dict[str, torch.Tensor]:
    """The weights a file holds, names mapped to tensors: a state_dict (.pth/.pt read with
    weights_only=True, or .safetensors through the safetensors package), or the model of a
    PyTorchGUI checkpoint. Anything else is refused with `error_type`."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file  # imported on use: an optional extra (pytorchgui[insight])
        except ImportError:
            raise error_type("reading .safetensors needs the safetensors package: pip install "
                             "'pytorchgui[insight]' (or safetensors)") from None
        try:
            state = load_file(str(path))
        except Exception as error:  # noqa: BLE001 - its parser raises several types: all mean "not readable"
            raise error_type(f"{path} is not a readable .safetensors file ({error})") from None
    else:
        state = load_tensors(path, error_type, "weights file")
    if isinstance(state, dict) and state.get("format") == "pytorchgui.checkpoint":
        state = state.get("model")
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise error_type(f"{path} does not hold a state_dict (names mapped to tensors)")
    return state

"""The devices a run can use and how it uses the CPU: the device list the forms offer, the
thread count training may take, the dtype of running sums, and what counts as running out
of memory. The Train and Evaluation tabs and the workers ask here without loading the
Trainer."""
from __future__ import annotations

import os

import torch


def available_devices() -> list[tuple[str, str]]:
    """(device string, label) for the CPU, every CUDA device by name, and MPS where present."""
    devices = [("cpu", f"CPU ({os.cpu_count()} cores)")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index}", f"GPU {index}: {torch.cuda.get_device_name(index)}"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


LARGE_STEP_SECONDS = 0.25  # a step this long on every core is not measured on one thread too


def training_threads() -> int:
    """The most intra-op threads training may use: every core this process may run on.

    Measured on 2 cores (bench/bench_training.py, LeNet-5, batch 128): 2 threads 10.6k
    images/s, 1 thread 7.9k, with the GUI idle between its 2 Hz redraws. But with a core
    busy elsewhere, every-core threads wait for each other at each operation (an MNIST
    epoch went from 5 s to 59 s), and a small network gains nothing from a second thread:
    the trainer therefore measures 1 thread against this count before the first epoch
    (Trainer._choose_threads) unless the threads option says how many.
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def sum_dtype(device: torch.device) -> torch.dtype:
    """The dtype of running sums on `device`: float64, as Python's floats (MPS has none)."""
    return torch.float32 if device.type == "mps" else torch.float64


def is_out_of_memory(error: BaseException) -> bool:
    """A GPU out-of-memory error, or the CPU allocator's failure to allocate."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or "can't allocate memory" in str(error)

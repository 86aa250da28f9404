"""What this machine has free: RAM, read before anything large is allocated, and byte
counts as a person reads them. Below every group (no torch), so that building a network
(graph), importing one (interop) and estimating a training step (training) ask it alike."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

FLOAT_BYTES = 4  # a float32 weight or activation

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
KEPT_FOR_REUSE_BYTES = 64 * 1024**2  # blocks up to this size come from the heap, not fresh mmaps
TRIM_ABOVE_BYTES = 256 * 1024**2  # free memory above this at the heap's top goes back to the system


def keep_freed_memory_for_reuse() -> bool:
    """Make glibc's malloc keep the memory of freed activations for the next training step,
    in one heap for every thread; call it at process start, before other threads allocate.
    True if it was set (glibc), False elsewhere (nothing to do).

    torch's CPU tensors come straight from malloc. By default glibc hands a block of over
    128 KB back to the system when it is freed, or trims the heap's top, unless it has
    learnt otherwise; which one happens varies from run to run, so a LeNet-5 step
    (batch 128) took 6 ms in one process and 10 to 12 ms in the next, with 1,000 to 2,400
    page faults per step as the same activations were mapped again (bench/
    bench_training_thread.py). A training thread in the window also gets a malloc arena of
    its own, unlike the CLI's main thread. With fixed thresholds and one arena, every
    process and thread reuses freed activations up to 64 MB each: 0 page faults per step.
    The cost is that up to 256 MB of freed memory stays with the process.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in (
        (_M_MMAP_THRESHOLD, KEPT_FOR_REUSE_BYTES), (_M_TRIM_THRESHOLD, TRIM_ABOVE_BYTES), (_M_ARENA_MAX, 1)))


def free_ram() -> tuple[int, int] | None:
    """(available, total) bytes of RAM; None if the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            values = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in stream if line.strip()}
        return values["MemAvailable"], values["MemTotal"]
    except (OSError, KeyError, ValueError, IndexError):
        if hasattr(os, "sysconf"):
            try:
                total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            except (ValueError, OSError):
                return None
            return total, total
        return None


def size(count: float) -> str:
    """1536 -> "1.5 KB"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)} bytes"


def does_not_fit_in_ram(needed: int, what: str, advice: str) -> str:
    """The one line that says `needed` bytes for `what` exceed the free RAM, or "" if they fit
    (or the system does not say how much is free)."""
    memory = free_ram()
    if memory is None or needed <= memory[0]:
        return ""
    return f"{what} needs about {size(needed)} but RAM has {size(memory[0])} free: {advice}"

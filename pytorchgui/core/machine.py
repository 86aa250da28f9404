"""What this machine has free: RAM, read before anything large is allocated, and byte
counts as a person reads them. Below every group (no torch), so that building a network
(graph), importing one (interop) and estimating a training step (training) ask it alike."""
from __future__ import annotations

import os

FLOAT_BYTES = 4  # a float32 weight or activation


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

"""Counted nouns in what the user reads: "1 epoch", "3 epochs", never "1 epochs" or "epoch(s)"."""
from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and the noun in the number it takes: counted(1, "node") is "1 node",
    counted(2, "node") "2 nodes", counted(2, "batch", "batches") "2 batches"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"

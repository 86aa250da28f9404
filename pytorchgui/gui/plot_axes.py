"""Axes for the training plots that read as their quantities do.

pyqtgraph's default axis scales small numbers with an SI factor ("accuracy (x0.001)",
"lr (x1e-06)") and puts ticks at any round number, so one epoch spans 0.6 to 1.4 with
ticks between epochs. Epochs and batches are counted: their ticks are whole numbers.
A learning rate spans orders of magnitude: it reads in scientific notation.
"""
from __future__ import annotations

import pyqtgraph


class PlainAxis(pyqtgraph.AxisItem):
    """An axis that shows its values as they are, never scaled by an SI factor."""

    def __init__(self, orientation: str, **options):
        super().__init__(orientation, **options)
        self.enableAutoSIPrefix(False)


class CountAxis(PlainAxis):
    """Ticks at whole numbers only (epochs, batches): at least one unit apart."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        # pyqtgraph's spacings are 1, 2 or 5 times a power of ten: those of 1 and more are whole
        whole = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return whole or [(1.0, 0.0)]


def scientific(value: float) -> str:
    """0.0015 as "1.5e-3": the mantissa without trailing zeros, the exponent without
    padding (and without "e0": 1.5 is "1.5")."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa if int(exponent) == 0 else f"{mantissa}e{int(exponent)}"


class ScientificAxis(PlainAxis):
    """For learning rates. On a linear axis, values below 0.01 in scientific notation and
    larger ones as decimals, one notation along the axis (chosen by its largest tick); on
    a log axis, every decade in scientific notation (not 10⁻⁶ beside 0.0001)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self.logMode:
            return [scientific(10 ** value) for value in values]
        scaled = [value * scale for value in values]
        if scaled and max(abs(value) for value in scaled) < 0.01:
            return [scientific(value) for value in scaled]
        return [f"{value:.6g}" for value in scaled]

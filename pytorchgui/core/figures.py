"""PNG figures for the CLI and the run folder (histories, curves, embeddings, feature maps),
drawn with matplotlib's Agg backend: no display and no Qt, so notebooks, papers and the
headless CLI get the same views the window shows.
"""
from __future__ import annotations

import io
import math
import os

from pytorchgui.core.atomic import atomic_write


def new_figure(width: float = 6.4, height: float = 4.8):
    """A matplotlib Figure not registered with pyplot (so nothing leaks between figures and
    no GUI backend is ever chosen)."""
    # imported on use: matplotlib takes 0.3 s to import, paid only by a PNG
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save_figure(figure, path: str | os.PathLike, dpi: int = 100) -> None:
    """Write `figure` as a PNG, atomically (an interrupted write leaves the old file)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write(path, lambda stream: stream.write(buffer.getvalue()))


def draw_ridgeline(axes, histograms, labels, colour: str = "#1c7ed6") -> None:
    """Histograms as a ridgeline on matplotlib `axes`: one filled curve per histogram (each
    scaled to its own peak), the first at the top, each labelled on the left; a histogram
    that is None (nothing measured) leaves its row empty. Each has its own edges."""
    import numpy

    rows = len(histograms)
    every = max(1, math.ceil(rows / 10))  # at most about 10 labels, the first always
    axes.set_yticks([rows - 1 - index for index in range(0, rows, every)],
                    [str(label) for label in labels[::every]], fontsize=7)
    axes.tick_params(axis="x", labelsize=7)
    drawn = False
    for index, found in enumerate(histograms):
        if found is None or not found.counts.any():
            continue
        base = rows - 1 - index
        heights = found.counts / found.counts.max() * 1.6  # overlapping the row above a little, as ridgelines do
        x = numpy.repeat(found.edges, 2)[1:-1]
        y = base + numpy.repeat(heights, 2)
        axes.fill_between(x, base, y, color=colour, alpha=0.35, linewidth=0, zorder=rows - index)
        axes.plot(x, y, color=colour, linewidth=0.8, zorder=rows - index)
        drawn = True
    if not drawn:
        axes.text(0.5, 0.5, "not measured", transform=axes.transAxes, ha="center", va="center", color="#868e96")
    axes.set_ylim(-0.2, rows + 0.8)
    axes.set_ylabel("epoch", fontsize=8)

"""PNG figures for the CLI and the run folder (histories, curves, embeddings, feature maps),
drawn with matplotlib's Agg backend: no display and no Qt, so notebooks, papers and the
headless CLI get the same views the window shows.
"""
from __future__ import annotations

import io
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

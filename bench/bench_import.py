"""Issue 14's time targets for an imported model, each printed as measured / target:

- importing torchvision's resnet50 (trace, map to the catalogue, lay out): <= 3 s;
- the shape check after an edit of the imported graph (one convolution's out_channels
  changed, so every later shape is checked again): <= 100 ms;
- the imported resnet50 in the Network tab: its first refresh, and the frame time while
  panning and zooming with the whole graph in view, p95 <= 16 ms;
- issue 27: vit_b_16 imported and shown in the Network tab (import, then the tab's first
  refresh: shapes and canvas), the first time in a session: <= 3 s.
"""
from __future__ import annotations

import statistics
import time

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # bench_canvas's frame timer

from pytorchgui.core.interop.importers import import_torchvision  # noqa: E402
from pytorchgui.core.graph.shapes import infer_shapes  # noqa: E402


def main() -> None:
    import_torchvision("resnet18")  # torchvision, torch.fx and the meta kernels load once
    times = []
    for _ in range(3):
        started = time.perf_counter()
        imported = import_torchvision("resnet50")
        times.append(time.perf_counter() - started)
    network = imported.network
    infer_shapes(network)
    edits = []
    for repeat in range(10):
        values = dict(network.node("layer4.2.conv3").parameters)
        values["out_channels"] = 2048 if repeat % 2 else 1024
        network.set_parameters("layer4.2.conv3", values)
        started = time.perf_counter()
        infer_shapes(network)
        edits.append(time.perf_counter() - started)
    imported_s, edit_ms = statistics.median(times), statistics.median(edits) * 1000
    print(f"resnet50: {len(network)} nodes; import median of 3: {imported_s:.2f} s / 3 s = {imported_s / 3:.2f}")
    print(f"shape check after an edit, median of 10: {edit_ms:.1f} ms / 100 ms = {edit_ms / 100:.2f}")
    canvas(import_torchvision("resnet50").network)
    vit_shown()


def canvas(network) -> None:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy
    from PyQt5 import QtWidgets

    from bench_canvas import fit_whole, frame_times
    from pytorchgui.gui.document import NetworkDocument
    from pytorchgui.gui.network_tab import NetworkTab

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    document = NetworkDocument()
    tab = NetworkTab(document)
    tab.resize(1400, 900)
    tab.show()
    document.network.replace_with(network)
    started = time.perf_counter()
    tab.refresh()
    first = time.perf_counter() - started
    app.processEvents()
    fit_whole(tab)
    frames = frame_times(tab, 120)
    p95 = numpy.percentile(frames, 95)
    print(f"resnet50 in the Network tab: first refresh {first * 1000:.0f} ms; frames with the whole graph in view "
          f"p95 {p95:.1f} ms / 16 ms = {p95 / 16:.2f}")
    document.undo_stack.setClean()


def vit_shown() -> None:
    """vit_b_16 imported and shown, as File > Import does it: the first time in this process
    (torch and torchvision are loaded, resnet's layers checked once; no LayerNorm or
    attention yet)."""
    from PyQt5 import QtWidgets

    from pytorchgui.gui.document import NetworkDocument
    from pytorchgui.gui.network_tab import NetworkTab

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    document = NetworkDocument()
    tab = NetworkTab(document)
    tab.resize(1400, 900)
    tab.show()
    started = time.perf_counter()
    imported = import_torchvision("vit_b_16")
    traced = time.perf_counter()
    document.open_untitled(imported.network, "vit_b_16.json", "imported")
    tab.refresh()
    app.processEvents()
    shown = time.perf_counter()
    total = shown - started
    print(f"vit_b_16 ({len(imported.network)} nodes) imported and shown, first time: import {traced - started:.2f} s + "
          f"shapes and canvas {shown - traced:.2f} s = {total:.2f} s / 3 s = {total / 3:.2f}")
    document.undo_stack.setClean()


if __name__ == "__main__":
    main()

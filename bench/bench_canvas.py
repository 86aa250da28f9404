"""The Network tab's canvas with 200 nodes: frame time while panning and zooming, and the
refresh after an edit (shape check and canvas update).

Frames are painted synchronously offscreen (QWidget.repaint) after each pan or zoom step,
so the time is what the CPU spends per frame. Prints the 95th percentile frame time last
(smooth: <= 16.7 ms, 60 frames per second).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTORCHGUI_HOME", tempfile.mkdtemp(prefix="pytorchgui-bench-"))

import numpy  # noqa: E402
from PyQt5 import QtWidgets  # noqa: E402

from pytorchgui.core.network import Network  # noqa: E402
from pytorchgui.gui.document import NetworkDocument  # noqa: E402
from pytorchgui.gui.network_tab import NetworkTab  # noqa: E402


def big_network(nodes: int) -> Network:
    """Residual blocks of conv, norm, relu and an Add: a wide, branching graph."""
    network = Network()
    network.set_input([8, 32, 32])
    previous = network.add_node("Conv2d", "stem", {"in_channels": "auto", "out_channels": 8, "kernel_size": 3,
                                                   "padding": 1}, first_layer=True)
    block = 0
    while len(network) + 4 <= nodes:
        conv = network.add_node("Conv2d", f"conv{block}", {"in_channels": "auto", "out_channels": 8, "kernel_size": 3,
                                                           "padding": 1})
        norm = network.add_node("BatchNorm2d", f"bn{block}", {"num_features": "auto"})
        relu = network.add_node("ReLU", f"relu{block}")
        add = network.add_node("Add", f"add{block}")
        for source, target in ((previous, conv), (conv, norm), (norm, relu), (relu, add), (previous, add)):
            network.connect(source, target)
        previous, block = add, block + 1
    while len(network) < nodes:
        name = network.add_node("ReLU", f"tail{len(network)}")
        network.connect(previous, name)
        previous = name
    return network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--frames", type=int, default=120)
    arguments = parser.parse_args()
    app = QtWidgets.QApplication([])
    document = NetworkDocument()
    tab = NetworkTab(document)
    tab.resize(1400, 900)
    tab.show()
    document.network.replace_with(big_network(arguments.nodes))
    start = time.perf_counter()
    tab.refresh()
    first = time.perf_counter() - start
    assert tab.report.ok, tab.report.problems[:3]
    app.processEvents()
    view = tab.view
    view.resetTransform()
    frames = []
    for frame in range(arguments.frames):
        if frame % 2:
            view.scale(1.02 if frame % 40 < 20 else 1 / 1.02, 1.02 if frame % 40 < 20 else 1 / 1.02)
        else:
            view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 7)
            view.verticalScrollBar().setValue(view.verticalScrollBar().value() + 11)
        begin = time.perf_counter()
        view.viewport().repaint()
        frames.append(time.perf_counter() - begin)
    edits = []
    for repeat in range(10):
        parameters = dict(document.network.node("conv10").parameters)
        parameters["out_channels"] = 8 + 8 * (repeat % 2)
        start = time.perf_counter()
        document.apply("edit", lambda: document.network.set_parameters("conv10", parameters))
        tab.refresh()
        edits.append(time.perf_counter() - start)
    frames_ms = numpy.array(frames) * 1000
    print(f"{arguments.nodes} nodes: first refresh (shapes + canvas) {first * 1000:.0f} ms; refresh after an edit "
          f"{statistics.median(edits) * 1000:.1f} ms median")
    print(f"frame time while panning/zooming ({arguments.frames} frames): median {numpy.median(frames_ms):.1f} ms, "
          f"p95 {numpy.percentile(frames_ms, 95):.1f} ms, max {frames_ms.max():.1f} ms")
    print(f"canvas p95 frame time with {arguments.nodes} nodes: {numpy.percentile(frames_ms, 95):.1f} ms "
          f"(smooth: <= 16.7 ms)")
    document.undo_stack.setClean()


if __name__ == "__main__":
    main()

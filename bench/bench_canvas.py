"""The Network tab as a designer, against issue 13's targets, each printed as a ratio
(measured / target; below 1 meets it):

- frame time while panning and zooming a 500-node canvas, at a readable zoom and with
  the whole graph in view (every node painted): p95 <= 16 ms
- a paste of 100 nodes (the undo step, the canvas update and the shape check): <= 200 ms
- the refresh after an edit (shape check and canvas update) at 200 nodes: <= 30 ms
- the palette's filter per keystroke, typing over the whole catalogue: within one frame

Frames are painted synchronously offscreen (QWidget.repaint) after each pan or zoom
step, so the time is what the CPU spends per frame.
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
from PyQt5 import QtCore, QtWidgets  # noqa: E402

from pytorchgui.core.interop.clipboard import copy_nodes  # noqa: E402
from pytorchgui.core.graph.network import Network  # noqa: E402
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


FRAME_MS = 16.0


def frame_times(tab: NetworkTab, frames: int) -> numpy.ndarray:
    """Milliseconds per frame while alternately panning and zooming by small steps."""
    view = tab.view
    times = []
    for frame in range(frames):
        if frame % 2:
            factor = 1.02 if frame % 40 < 20 else 1 / 1.02
            view.scale(factor, factor)
        else:
            view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 7)
            view.verticalScrollBar().setValue(view.verticalScrollBar().value() + 11)
        begin = time.perf_counter()
        view.viewport().repaint()
        times.append(time.perf_counter() - begin)
    return numpy.array(times) * 1000


def fit_whole(tab: NetworkTab) -> None:
    """The whole graph in view, however small (Fit stops at a readable zoom): every node painted."""
    tab.view.fitInView(tab.scene.shown_rect(), QtCore.Qt.KeepAspectRatio)


def edit_refresh_ms(document: NetworkDocument, tab: NetworkTab, node: str, repeats: int = 10) -> float:
    times = []
    for repeat in range(repeats):
        parameters = dict(document.network.node(node).parameters)
        parameters["out_channels"] = 8 + 8 * (repeat % 2)
        start = time.perf_counter()
        document.apply("edit", lambda: document.network.set_parameters(node, parameters))
        tab.refresh()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def paste_ms(tab: NetworkTab, count: int, repeats: int = 5) -> float:
    text = copy_nodes(tab.network, list(tab.network.nodes)[:count])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pasted = tab.paste(text)
        tab.refresh()
        times.append(time.perf_counter() - start)
        assert len(pasted) == count
        tab.document.undo_stack.undo()
        tab.refresh()
    return statistics.median(times) * 1000


def search_ms(tab: NetworkTab) -> numpy.ndarray:
    """Per keystroke, typing names and words over the whole catalogue, then erasing them."""
    palette = tab.palette
    times = []
    for word in ("conv2d", "batchnorm", "relu", "transformer", "pool", "residual block", "dropout"):
        for typed in [word[:i] for i in range(1, len(word) + 1)] + [word[:i] for i in range(len(word) - 1, -1, -1)]:
            start = time.perf_counter()
            palette.search.setText(typed)  # textChanged runs the filter, as typing does
            times.append(time.perf_counter() - start)
    return numpy.array(times) * 1000


def ratio(measured: float, target: float) -> str:
    return f"{measured:.1f} ms / {target:g} ms = {measured / target:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--frames", type=int, default=120)
    arguments = parser.parse_args()
    app = QtWidgets.QApplication([])
    document = NetworkDocument()
    tab = NetworkTab(document)
    tab.resize(1400, 900)
    tab.show()
    document.network.replace_with(big_network(200))
    tab.refresh()
    assert tab.report.ok, tab.report.problems[:3]
    edit_200 = edit_refresh_ms(document, tab, "conv10")
    document.network.replace_with(big_network(arguments.nodes))
    start = time.perf_counter()
    tab.refresh()
    first = time.perf_counter() - start
    assert tab.report.ok, tab.report.problems[:3]
    app.processEvents()
    tab.view.resetTransform()
    readable = frame_times(tab, arguments.frames)
    fit_whole(tab)
    everything = frame_times(tab, arguments.frames)
    edit_big = edit_refresh_ms(document, tab, "conv10")
    pasted = paste_ms(tab, 100)
    typed = search_ms(tab)
    n = arguments.nodes
    print(f"{n} nodes: first refresh (shapes + canvas) {first * 1000:.0f} ms; refresh after an edit "
          f"{edit_big:.1f} ms median")
    for label, frames_ms in (("readable zoom", readable), ("whole graph in view", everything)):
        print(f"frames while panning/zooming, {label} ({arguments.frames} frames): median "
              f"{numpy.median(frames_ms):.1f} ms, max {frames_ms.max():.1f} ms; "
              f"p95 {ratio(numpy.percentile(frames_ms, 95), FRAME_MS)}")
    print(f"paste of 100 nodes into {n} (undo step, canvas, shape check), median: {ratio(pasted, 200)}")
    print(f"refresh after an edit at 200 nodes (shape check + canvas), median: {ratio(edit_200, 30)}")
    print(f"palette filter per keystroke ({len(typed)} keystrokes over {len(tab.palette.leaves())} entries): "
          f"median {numpy.median(typed):.2f} ms, p95 {ratio(numpy.percentile(typed, 95), FRAME_MS)}")
    document.undo_stack.setClean()


if __name__ == "__main__":
    main()

"""Training throughput inside the app vs a plain PyTorch loop, and the GUI's responsiveness.

Side A: the Train tab as a user runs it: the engine on its QThread, the live plots
drained by their 10 Hz timer, in an offscreen window. Side B: a plain PyTorch loop
(model, optimizer, loss, backward, step) over the same in-memory batches in the same
process. Both train the LeNet-5 example on built-in MNIST-shaped data with the same
settings; they alternate, and each side's throughput is the median over rounds.
During side A a 10 ms QTimer records how late the event loop serves it (the delay a
user would feel). Prints the throughput ratio last (target >= 0.97).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTORCHGUI_HOME", tempfile.mkdtemp(prefix="pytorchgui-bench-"))

import numpy  # noqa: E402
import torch  # noqa: E402
from PyQt5 import QtCore, QtWidgets  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.data import datasets
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.graph.compiler import compile_network  # noqa: E402
from pytorchgui.core.training.losses import make_loss  # noqa: E402
from pytorchgui.gui.main_window import MainWindow  # noqa: E402
from pytorchgui.core.training.devices import training_threads  # noqa: E402


def plain_loop(train: datasets.TensorDataset, epochs: int, batch_size: int, seed: int) -> float:
    """images/s of a hand-written loop over the same batches, on a thread like the app's."""
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    result = {}

    def run():
        torch.set_num_threads(os.cpu_count())  # the plain loop's best: every core, no GUI
        torch.manual_seed(seed)
        model = compile_network(network)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss = make_loss(network, train)
        batches = datasets.InMemoryBatches(train, train.normalization)
        generator = torch.Generator().manual_seed(seed)
        start = time.perf_counter()
        for _ in range(epochs):
            for x, y in batches.batches(batch_size, generator=generator):
                optimizer.zero_grad(set_to_none=True)
                loss(model(x), y).backward()
                optimizer.step()
        result["seconds"] = time.perf_counter() - start

    import threading

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return epochs * len(train) / result["seconds"]


def app_run(app, window, epochs: int, batch_size: int, probe_ms: int = 0) -> tuple[float, list[float]]:
    """images/s of the Train tab; with probe_ms, also the event-loop delays (the probe, a
    Python timer callback 100 times a second, costs training some throughput itself, so
    throughput and delays are measured in separate runs)."""
    tab = window.train_tab
    tab.epochs_spin.setValue(epochs)
    tab.batch_spin.setValue(batch_size)
    tab.validation_combo.setCurrentIndex(0)  # None: the plain loop does not validate either
    delays: list[float] = []
    probe = QtCore.QTimer()
    probe.setInterval(probe_ms or 10)
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        delays.append(max(0.0, now - last[0] - 0.010))
        if delays[-1] > 0.15:
            print(f"  event loop blocked {delays[-1] * 1000:.0f} ms, {now - started:.2f} s into the run")
        last[0] = now

    probe.timeout.connect(tick)
    started = time.perf_counter()
    tab.start()
    if probe_ms:
        probe.start()
    last[0] = time.perf_counter()
    loop = QtCore.QEventLoop()  # the real event loop: it sleeps between events, as app.exec_() does
    tab.training_finished.connect(loop.quit)
    loop.exec_()
    tab.training_finished.disconnect(loop.quit)
    probe.stop()
    seconds = sum(row.seconds for row in tab.epoch_rows)
    return epochs * len(tab.train_combo.currentData().dataset) / seconds, delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    app = QtWidgets.QApplication(sys.argv)
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    train = datasets.make_builtin(arguments.samples)
    window.workspace.add_dataset(train, "train")
    window.tabs.setCurrentIndex(2)
    for _ in range(20):  # the first shape inference (meta kernels' first use) before any timing
        app.processEvents()
    app_speeds, plain_speeds = [], []
    for round_index in range(arguments.rounds):
        order = ("app", "plain") if round_index % 2 == 0 else ("plain", "app")
        for side in order:
            if side == "app":
                app_speeds.append(app_run(app, window, arguments.epochs, arguments.batch_size)[0])
            else:
                plain_speeds.append(plain_loop(train, arguments.epochs, arguments.batch_size, 0))
    _, delays = app_run(app, window, arguments.epochs, arguments.batch_size, probe_ms=10)
    app_speed, plain_speed = statistics.median(app_speeds), statistics.median(plain_speeds)
    delays_ms = numpy.array(delays) * 1000
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, training threads {training_threads()}; LeNet-5, "
          f"{arguments.samples} images, batch {arguments.batch_size}, {arguments.epochs} epochs x {arguments.rounds} rounds")
    print(f"event-loop delay during training (10 ms probe, {len(delays_ms)} ticks): p50 {numpy.percentile(delays_ms, 50):.1f} ms, "
          f"p99 {numpy.percentile(delays_ms, 99):.1f} ms, max {delays_ms.max():.1f} ms (targets p99 <= 50, max <= 150)")
    print(f"app (QThread + live plots): {app_speed:,.0f} images/s; plain PyTorch loop: {plain_speed:,.0f} images/s")
    print(f"throughput ratio, app / plain loop: {app_speed / plain_speed:.3f} (target >= 0.97)")
    window.document.undo_stack.setClean()


if __name__ == "__main__":
    main()

"""Training in the Train tab vs `pytorchgui train` on the command line, on MNIST-sized data.

Both sides train LeNet-5 (resources/networks/lenet5.json) on the same 60,000 MNIST-shaped
images read from torchvision's IDX files, batch 128, validating on the 10,000 test images
after every epoch, with the app's default options:

- CLI: `pytorchgui train` in a fresh process, progress bars on (as a user runs it);
- window: the main window of this process (offscreen), the data added to its workspace,
  the Train tab's Start clicked, the live plots and progress drained by their timers and
  the real Qt event loop running until the run ends, and a 10 ms timer firing all along,
  as a mouse moving over the window would wake it (`--no-timer` leaves it out).

The sides alternate. Each epoch's seconds come from the trainer's own clock, the same on
both sides; the first epoch of every run is left out (thread measurement, first-use
costs). Prints the ratio of the medians last: CLI epoch seconds / window epoch seconds
(target >= 0.97). `--mnist ROOT` uses real MNIST files (ROOT/MNIST/raw/...) instead of the
built-in shapes written as IDX files.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTORCHGUI_HOME", tempfile.mkdtemp(prefix="pytorchgui-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy  # noqa: E402
from bench_end_to_end import alternating_mnist_arguments, write_shapes_as_mnist  # noqa: E402
from PyQt5 import QtCore, QtWidgets  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.machine import keep_freed_memory_for_reuse  # noqa: E402
from pytorchgui.core.data import datasets  # noqa: E402
from pytorchgui.core.training.runs import read_metrics  # noqa: E402


def cli_epochs(root: str, epochs: int, batch_size: int, out: Path) -> list[float]:
    command = [sys.executable, "-m", "pytorchgui", "train", str(paths.example_networks_dir() / "lenet5.json"),
               "--data", f"MNIST:{root}", "--test", f"MNIST:{root}", "--epochs", str(epochs),
               "--batch-size", str(batch_size), "--out", str(out)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [row["seconds"] for row in read_metrics(out)]


GUI_THREAD_SHARE: list[float] = []  # of a core, the GUI thread's CPU time over each window run


def window_epochs(window, epochs: int, batch_size: int, probe: list | None = None) -> list[float]:
    """Epoch seconds of one run started from the Train tab, with a 10 ms timer running in
    the window as a moving mouse would wake it; its event-loop delays are appended to
    `probe` when given (None: no timer, the window left alone)."""
    tab = window.train_tab
    tab.epochs_spin.setValue(epochs)
    tab.batch_spin.setValue(batch_size)
    timer = QtCore.QTimer(interval=10)
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        probe.append(max(0.0, now - last[0] - 0.010))
        last[0] = now

    if probe is not None:
        timer.timeout.connect(tick)
        timer.start()
    assert tab.start(), "the Train tab refused to start"
    loop = QtCore.QEventLoop()  # the real event loop: it sleeps between events, as app.exec_() does
    tab.training_finished.connect(loop.quit)
    cpu, wall = time.thread_time(), time.perf_counter()
    loop.exec_()
    GUI_THREAD_SHARE.append((time.thread_time() - cpu) / (time.perf_counter() - wall))
    tab.training_finished.disconnect(loop.quit)
    timer.stop()
    return [row.seconds for row in tab.epoch_rows]


def main() -> None:
    parser = alternating_mnist_arguments(__doc__)
    parser.add_argument("--no-timer", action="store_true",
                        help="time the window's runs with no 10 ms timer (the delays come from a run of their own)")
    arguments = parser.parse_args()
    keep_freed_memory_for_reuse()  # as `pytorchgui` does at start, for the window and the CLI alike
    app = QtWidgets.QApplication(sys.argv)
    from pytorchgui.gui.main_window import MainWindow
    from pytorchgui.gui.workers import keep_gui_thread_serial

    # This thread is the window's: the app runs its torch work on 1 OpenMP thread, so must the
    # data written below, or its OpenMP pool would slow the window's training (and only there)
    keep_gui_thread_serial()

    with tempfile.TemporaryDirectory() as folder:
        root = arguments.mnist
        if root is None:
            root = folder
            write_shapes_as_mnist(Path(folder), arguments.train_samples, 10000)
        window = MainWindow(lazy=True)  # as the app starts: torch imported on a worker thread
        window.resize(1400, 900)
        window.show()
        window.document.open_example(paths.example_networks_dir() / "lenet5.json")
        while window.train_tab is None:  # start-up (torch imported on a worker thread), as a user waits for it
            app.processEvents()
            time.sleep(0.02)
        for _ in range(50):  # the first shape inference before any timing
            app.processEvents()
            time.sleep(0.02)
        train = datasets.load_torchvision("MNIST", root, train=True)
        window.workspace.add_dataset(train, "train")
        window.workspace.add_dataset(datasets.load_torchvision("MNIST", root, train=False), "test")
        window.tabs.setCurrentIndex(2)
        tab = window.train_tab
        tab.update_sets()
        tab.train_combo.setCurrentIndex(tab.train_combo.findText(train.name, QtCore.Qt.MatchStartsWith))
        tab.validation_combo.setCurrentIndex(tab.validation_combo.findText("MNIST (test)", QtCore.Qt.MatchStartsWith))
        print(f"training set {tab.train_combo.currentText()}, {len(tab.train_combo.currentData().dataset):,} "
              f"images; validation: {tab.validation_combo.currentText()}", flush=True)
        seconds = {"cli": [], "window": []}
        delays: list[float] = []
        for round_index in range(arguments.rounds):
            for side in (("window", "cli") if round_index % 2 == 0 else ("cli", "window")):
                if side == "cli":
                    epochs = cli_epochs(root, arguments.epochs, arguments.batch_size, Path(folder) / f"cli{round_index}")
                else:
                    epochs = window_epochs(window, arguments.epochs, arguments.batch_size,
                                           probe=None if arguments.no_timer else delays)
                seconds[side] += epochs[1:]
                threads = ""
                if side == "window":  # the trainer's choice of threads, as its log says it
                    lines = tab.log_view.toPlainText().splitlines()
                    threads = next((" (" + line.split("  ", 1)[-1] + ")" for line in reversed(lines)
                                    if "CPU thread" in line), "")
                print(f"  {side}: epoch seconds {', '.join(f'{s:.2f}' for s in epochs)}{threads}", flush=True)
        if arguments.no_timer:
            window_epochs(window, 2, arguments.batch_size, probe=delays)
        window.document.undo_stack.setClean()
    delays_ms = numpy.array(delays) * 1000
    cli, shown = statistics.median(seconds["cli"]), statistics.median(seconds["window"])
    print(f"LeNet-5, {len(train):,} images, batch {arguments.batch_size}, validation every epoch, "
          f"{arguments.rounds} runs of {arguments.epochs} epochs per side; window runs "
          f"{'alone' if arguments.no_timer else 'with a 10 ms timer, as a moving mouse'}")
    print(f"event-loop delay while training (10 ms probe, {len(delays_ms)} ticks): p99 "
          f"{numpy.percentile(delays_ms, 99):.1f} ms, max {delays_ms.max():.1f} ms (targets p99 <= 50, max <= 150)")
    print(f"the GUI thread's CPU while the window trains: {', '.join(f'{share:.1%}' for share in GUI_THREAD_SHARE)} "
          "of a core")
    print(f"median epoch seconds: CLI {cli:.2f}, window {shown:.2f}")
    print(f"speed ratio, window / CLI (CLI seconds / window seconds): {cli / shown:.3f} (target >= 0.97)")


if __name__ == "__main__":
    main()

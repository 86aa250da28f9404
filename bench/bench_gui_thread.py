"""What the window's thread takes from training, part by part.

While the Train tab trains, the GUI thread wakes for the reports the trainer queues (drained
and drawn every PLOT_INTERVAL_MS: the batch-loss curve, the progress bar and line), for the
epoch plots once an epoch, and for whatever else the user does (a moving mouse: a 10 ms
timer stands for it here, as in bench_window_vs_cli.py). Every millisecond it runs is taken
from a core the training threads want. This script feeds the real Train tab (offscreen,
1400 x 900, on screen) the reports of a LeNet-5 run on MNIST (469 batches an epoch at about
70 batches/s) with no training behind them, so the GUI thread's CPU time is measured alone,
and prints it per configuration, switched on part by part, as a share of one core and per
delivery. The configurations alternate over `--rounds`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTORCHGUI_HOME", tempfile.mkdtemp(prefix="pytorchgui-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PyQt5 import QtCore, QtWidgets  # noqa: E402

BATCHES_PER_SECOND = 70
BATCHES = 469
CONFIGURATIONS = ("event loop alone", "10 ms timer", "reports drained, nothing drawn",
                  "reports drawn (the Train tab as it is)", "reports drawn + 10 ms timer")


def measure(app, tab, configuration: str, seconds: float) -> float:
    """The GUI thread's CPU seconds per second of `configuration`."""
    from pytorchgui.core.training.trainer import BatchEvent, EpochEvent
    from pytorchgui.gui.train_tab import PLOT_INTERVAL_MS

    tab._reset_plots(accuracy_applies=True)
    state = {"batch": 0, "epoch": 1}
    drawn = configuration.startswith("reports drawn")

    def deliver() -> None:
        events = []
        for _ in range(BATCHES_PER_SECOND * PLOT_INTERVAL_MS // 1000):
            state["batch"] += 1
            events.append(BatchEvent(state["epoch"], state["batch"], BATCHES, 0.5, 0.8, 9000.0, (0.5,)))
            if state["batch"] == BATCHES:
                events.append(EpochEvent(state["epoch"], 99, 0.5, 0.8, 0.4, 0.85, 0.001, 6.7))
                state["batch"], state["epoch"] = 0, state["epoch"] + 1
        if drawn:
            tab._apply_events(events)

    timers = []
    if "reports" in configuration:
        timers.append(QtCore.QTimer(interval=PLOT_INTERVAL_MS))
        timers[-1].timeout.connect(deliver)
    if "10 ms" in configuration:
        timers.append(QtCore.QTimer(interval=10))
        timers[-1].timeout.connect(lambda: None)
    for timer in timers:
        timer.start()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    cpu, wall = time.thread_time(), time.perf_counter()
    loop.exec_()
    share = (time.thread_time() - cpu) / (time.perf_counter() - wall)
    for timer in timers:
        timer.stop()
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="per configuration and round")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    app = QtWidgets.QApplication(sys.argv)
    from pytorchgui.core.training.options import TrainingConfig
    from pytorchgui.gui.main_window import MainWindow
    from pytorchgui.gui.train_tab import PLOT_INTERVAL_MS

    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.tabs.setCurrentWidget(window.trainTab)
    tab = window.train_tab
    tab.running_config, tab.running_samples = TrainingConfig(epochs=99, batch_size=128), "images"
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    shares: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    for round_index in range(arguments.rounds):
        for name in CONFIGURATIONS if round_index % 2 == 0 else CONFIGURATIONS[::-1]:
            shares[name].append(measure(app, tab, name, arguments.seconds))
    window.document.undo_stack.setClean()
    print(f"the Train tab fed a LeNet-5 run's reports ({BATCHES_PER_SECOND} batches/s, drained every "
          f"{PLOT_INTERVAL_MS} ms), no training behind them; {arguments.rounds} rounds of {arguments.seconds:g} s")
    deliveries_per_second = 1000 / PLOT_INTERVAL_MS
    for name in CONFIGURATIONS:
        share = statistics.median(shares[name])
        print(f"GUI thread CPU, {name}: {share:.2%} of a core ({share * 1000 / deliveries_per_second:.1f} ms "
              f"per {PLOT_INTERVAL_MS} ms)")
    base = statistics.median(shares["event loop alone"])
    for name in CONFIGURATIONS[1:]:
        print(f"  taken from training by {name}: {statistics.median(shares[name]) - base:.2%} of a core")


if __name__ == "__main__":
    main()

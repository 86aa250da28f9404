"""Cold start: from launching `python -m pytorchgui` to the main window's first paint.

Each sample starts a fresh interpreter that opens the app as a user does; an event filter
notes the first paint event of the main window and the process exits there. The time is
measured from just before the process is started. Prints the median last (target <= 2 s).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import os, sys, time
from PyQt5 import QtCore, QtWidgets
import pytorchgui.app as app_module

class FirstPaint(QtCore.QObject):
    def eventFilter(self, watched, event):
        if event.type() == QtCore.QEvent.Paint and isinstance(watched, QtWidgets.QMainWindow):
            print(f"PAINTED {time.time():.6f}", flush=True)
            os._exit(0)
        return False

application = QtWidgets.QApplication(sys.argv)  # kept in a name: app.main() reuses this instance
watcher = FirstPaint()
application.installEventFilter(watcher)
sys.exit(app_module.main())
"""


def sample() -> float:
    environment = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                       PYTORCHGUI_HOME=tempfile.mkdtemp(prefix="pytorchgui-start-"))
    started = time.time()
    output = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=environment,
                            timeout=120).stdout
    painted = [line for line in output.splitlines() if line.startswith("PAINTED ")]
    if not painted:
        raise SystemExit(f"the window was never painted:\n{output}")
    return float(painted[0].split()[1]) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    sample()  # the first start after an install also fills the OS file cache; not what users see daily
    times = [sample() for _ in range(arguments.repeats)]
    print("starts (s): " + ", ".join(f"{t:.2f}" for t in times))
    print(f"cold start to the first paint of the main window: {statistics.median(times):.2f} s median "
          f"(target <= 2 s)")


if __name__ == "__main__":
    main()

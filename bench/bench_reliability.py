"""The reliability campaign: fuzzed network files, saves killed half-way, injected disk faults.

1. Network files: seeded mutations of the example networks (tests/network_fuzz.py): blind
   ones (hostile values, renames, links) and typed ones (parameters of a node's own type,
   the optimizer and its settings, the input's dtype and very long axes, unknown keys).
   Each is loaded, validated (timed), saved, reloaded and, when it validates and is small,
   trained for one step on a batch of its declared input. Counts every outcome; a failure,
   printed, is any exception that is not a PyTorchGUIError, and any step that fails after
   validation accepted the file.
2. Kills: a process saves a network over an existing one and is killed with SIGKILL at a
   random moment; the file must then load as the old or the new network, never half.
3. Faults: each disk fault a user meets (full disk, a file-size limit, a missing folder, a
   folder in the way, a read-only file) injected into a save: the save must raise
   SaveError and leave the old file as it was.

Prints the figures for BENCHMARKS.md; exit code 1 if anything failed. It is not a speed
benchmark: it says how often the code held.
"""
from __future__ import annotations

import argparse
import errno
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("PYTORCHGUI_HOME", tempfile.mkdtemp(prefix="pytorchgui-reliability-"))

from network_fuzz import run_campaign  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.graph.catalog import default_catalog  # noqa: E402
from pytorchgui.core.errors import NetworkFormatError, SaveError  # noqa: E402

SAVER = r"""
import sys
from pytorchgui.core.training import network_format
network = network_format.load(sys.argv[1])
print("ready", flush=True)
while True:
    network_format.save(network, sys.argv[2])
"""


def fuzz(count: int, seed: int, work: Path) -> int:
    catalog = default_catalog()
    types = [entry.name for database in (catalog.layers, catalog.activations) for entry in database]
    started, timings = time.perf_counter(), []
    outcomes, failures = run_campaign(count, seed, paths.example_networks_dir(), work, types, timings=timings)
    seconds = time.perf_counter() - started
    timings.sort()
    print(f"fuzzed network files: {count:,} (seed {seed}) in {seconds:.0f} s; validation of the {len(timings):,} that "
          f"loaded: median {timings[len(timings) // 2] * 1000:.1f} ms, slowest {timings[-1]:.2f} s, "
          f"{sum(t > 2 for t in timings)} over 2 s")
    for outcome, number in sorted(outcomes.items(), key=lambda item: -item[1]):
        print(f"  {outcome}: {number:,}")
    for index, text, error in failures[:10]:
        print(f"  FAILURE #{index}: {error}\n    {text[:300]}")
    return len(failures)


def kills(count: int, work: Path) -> int:
    examples = paths.example_networks_dir()
    old, new = examples / "mlp.json", examples / "small_resnet.json"
    target = work / "killed.json"
    broken = 0
    rng = random.Random(0)
    for _ in range(count):
        target.write_text(old.read_text())
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(new), str(target)], stdout=subprocess.PIPE)
        saver.stdout.readline()
        time.sleep(rng.uniform(0, 0.02))
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        try:
            loaded = network_format.load(target)
            if set(loaded.nodes) not in (set(network_format.load(old).nodes), set(network_format.load(new).nodes)):
                broken += 1
        except NetworkFormatError:
            broken += 1
    leftovers = len(list(work.glob(".killed.json.*.tmp")))
    network_format.save(network_format.load(new), target)  # the next save clears the leftovers
    print(f"saves killed half-way: {count}; files not the old or the new network: {broken}; temporary files "
          f"left after the last kill: {leftovers}, after the next save: {len(list(work.glob('.killed.json.*.tmp')))}")
    return broken


def faults(work: Path) -> int:
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    kept = work / "kept.json"
    cases = {}

    def no_space(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    def too_big(descriptor):
        raise OSError(errno.EFBIG, "File too large")

    for name, fsync in (("full disk", no_space), ("file-size limit", too_big)):
        kept.write_text("old")
        original = os.fsync
        os.fsync = fsync
        try:
            network_format.save(network, kept)
            cases[name] = False
        except SaveError:
            cases[name] = kept.read_text() == "old"
        finally:
            os.fsync = original
    (work / "a folder.json").mkdir(exist_ok=True)
    locked = work / "locked.json"
    locked.write_text("old")
    locked.chmod(0o444)
    for name, path in (("missing folder", work / "nowhere" / "n.json"), ("folder in the way", work / "a folder.json"),
                       ("read-only file", locked)):
        try:
            network_format.save(network, path)
            cases[name] = False
        except SaveError:
            cases[name] = not path.is_file() or path.read_text() in ("old", "")
    results = ", ".join(f"{name}: {'ok' if held else 'FAILED'}" for name, held in cases.items())
    print(f"disk faults injected: {len(cases)}; handled with a message and the old file kept: "
          f"{sum(cases.values())} ({results})")
    return len(cases) - sum(cases.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000, help="fuzzed network files (default 20000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=100, help="saves killed half-way (default 100)")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pytorchgui-campaign-"))
    failed = fuzz(arguments.files, arguments.seed, work) + kills(arguments.kills, work) + faults(work)
    print("all held" if not failed else f"{failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The mean and std an image set is normalised with, computed before every training run:
peak memory and time of PyTorchGUI's chunked pass against two references, each in a
fresh process over the same MNIST IDX files.

- app: TensorDataset.compute_normalization (8 MB float64 chunks of samples);
- chunks of 2^24 values: the pass as it was before (three float64 temporaries of 134 MB);
- whole set: the straightforward `inputs.double() / 255` then mean and std per channel.

Peak = resident high-water mark above the level before the pass (Linux). Prints each
side's median over the rounds, then the ratios last.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_memory import _status  # noqa: E402  (this folder is on the path: the script's own)

SIDES = ("app", "chunks of 2^24 values", "whole set")


def _previous_pass(inputs):
    data = inputs.transpose(0, 1).reshape(inputs.shape[1], -1)
    total = square = 0
    for start in range(0, data.shape[1], 1 << 24):
        chunk = data[:, start:start + (1 << 24)].double() * (1 / 255)
        total = total + chunk.sum(1)
        square = square + (chunk * chunk).sum(1)
    mean = total / data.shape[1]
    return mean, (square / data.shape[1] - mean * mean).sqrt()


def _whole_set(inputs):
    values = inputs.double() / 255
    dims = [0, *range(2, values.dim())]
    return values.mean(dims), values.std(dims, unbiased=False)


def measure(side: str, root: str) -> dict:
    from pytorchgui.core.data import datasets

    data = datasets.load_torchvision("MNIST", root)
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as stream:
        stream.write("5")  # the peak (VmHWM) starts again from the current resident size
    start = time.perf_counter()
    if side == "app":
        data.compute_normalization()
    else:
        (_previous_pass if side == SIDES[1] else _whole_set)(data.inputs)
    return {"seconds": time.perf_counter() - start, "peak": _status("VmHWM") - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60000, help="images written (MNIST has 60000)")
    parser.add_argument("--mnist", help="a folder with MNIST/raw IDX files instead of written ones")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("SIDE", "ROOT"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(*arguments.measure)))
        return
    from tests.data_writers import write_mnist

    with tempfile.TemporaryDirectory() as folder:
        root = arguments.mnist or folder
        if not arguments.mnist:
            write_mnist(Path(folder), train=arguments.samples, test=10)
        results: dict[str, list[dict]] = {side: [] for side in SIDES}
        for round_index in range(arguments.rounds):
            order = SIDES if round_index % 2 == 0 else SIDES[::-1]
            for side in order:
                output = subprocess.run([sys.executable, __file__, "--measure", side, root], capture_output=True,
                                        text=True, check=True)
                results[side].append(json.loads(output.stdout.strip().splitlines()[-1]))
    medians = {side: (statistics.median(run["peak"] for run in runs) / 2**20,
                      statistics.median(run["seconds"] for run in runs)) for side, runs in results.items()}
    for side, (peak, seconds) in medians.items():
        print(f"{side:22s} peak {peak:7.1f} MB, {seconds * 1000:6.0f} ms (median of {arguments.rounds})")
    app_peak, app_seconds = medians["app"]
    for side in SIDES[1:]:
        print(f"app / {side}: peak {app_peak / medians[side][0]:.3f}, time {app_seconds / medians[side][1]:.3f}")


if __name__ == "__main__":
    main()

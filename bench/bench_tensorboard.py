"""The cost of the TensorBoard event files (core/training/tensorboard_log.py).

Trains LeNet-5 (resources/networks/lenet5.json) on the built-in shapes (small data:
2,000 training and 500 validation images by default, batch 64) into a run folder, with
the event files written and not (PYTORCHGUI_TENSORBOARD=0), in alternating runs of one
process, the same thread count on both sides. Each run is timed whole (Trainer.run, from
the check of the data to the closed writer), so the graph traced once, the confusion
image of every epoch and the scalars all count. The log's own calls are also timed, as
a share of the epochs they were made in, since the two sides' spread on a busy machine
hides a cost of a few percent. Prints the ratio of the medians last: seconds per epoch
with the event files / without (target <= 1.05).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.data.data_source import builtin_pair  # noqa: E402
from pytorchgui.core.training import network_format, tensorboard_log  # noqa: E402
from pytorchgui.core.training.trainer import Trainer, TrainingConfig  # noqa: E402

LOG_SECONDS = {name: 0.0 for name in ("open", "write_graph", "write_confusion", "write_epoch", "close")}


def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            LOG_SECONDS[name] += time.perf_counter() - started
    return wrapper


for method in LOG_SECONDS:
    setattr(tensorboard_log.TensorBoardLog, method, timed(method, getattr(tensorboard_log.TensorBoardLog, method)))


def run_seconds(train, validation, epochs: int, batch_size: int, threads: int, tensorboard: bool,
                out: Path) -> tuple[float, float]:
    """(seconds of the whole run per epoch, seconds of its epochs by the trainer's clock)."""
    os.environ[tensorboard_log.SWITCH] = "1" if tensorboard else "0"
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    config = TrainingConfig(epochs=epochs, batch_size=batch_size, seed=0, threads=threads)
    started = time.perf_counter()
    result = Trainer(network, train, config, validation_set=validation, run_dir=out).run()
    whole = time.perf_counter() - started
    assert result.status == "finished"
    assert bool(list(out.glob("events.out.tfevents.*"))) == tensorboard
    return whole / epochs, sum(row["seconds"] for row in result.history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--validation-samples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each side")
    parser.add_argument("--threads", type=int, default=1, help="of each run (1: a shared machine disturbs it least)")
    arguments = parser.parse_args()
    train, validation = builtin_pair(arguments.train_samples, arguments.validation_samples)
    with tempfile.TemporaryDirectory() as folder:
        run_seconds(train, validation, 1, arguments.batch_size, arguments.threads, True, Path(folder) / "warm-up")  # first-use costs
        for name in LOG_SECONDS:
            LOG_SECONDS[name] = 0.0
        per_epoch: dict[bool, list[float]] = {True: [], False: []}
        epochs_with = 0.0
        for round_index in range(arguments.rounds):
            for tensorboard in ((True, False) if round_index % 2 == 0 else (False, True)):
                out = Path(folder) / f"{round_index}-{tensorboard}"
                seconds, epochs = run_seconds(train, validation, arguments.epochs, arguments.batch_size,
                                              arguments.threads, tensorboard, out)
                per_epoch[tensorboard].append(seconds)
                epochs_with += epochs if tensorboard else 0.0
    with_files, without = statistics.median(per_epoch[True]), statistics.median(per_epoch[False])
    own = sum(LOG_SECONDS.values())
    print(f"LeNet-5, built-in shapes {arguments.train_samples} + {arguments.validation_samples} validation, "
          f"batch {arguments.batch_size}, {arguments.epochs} epochs, {arguments.rounds} runs a side, "
          f"{arguments.threads} thread(s)")
    print(f"seconds per epoch (whole run / epochs), with event files: {with_files:.3f} "
          f"({min(per_epoch[True]):.3f} to {max(per_epoch[True]):.3f})")
    print(f"seconds per epoch (whole run / epochs), without:          {without:.3f} "
          f"({min(per_epoch[False]):.3f} to {max(per_epoch[False]):.3f})")
    once = ("open", "write_graph", "close")
    print("the log's own calls, once a run: " + ", ".join(f"{name} {LOG_SECONDS[name] / arguments.rounds * 1000:.1f} ms"
                                                          for name in once))
    epochs = arguments.rounds * arguments.epochs
    print("the log's own calls, each epoch: " + ", ".join(f"{name} {seconds / epochs * 1000:.1f} ms"
                                                          for name, seconds in LOG_SECONDS.items() if name not in once))
    print(f"the log's own calls: {own:.2f} s beside {epochs_with:.1f} s of epochs, {own / epochs_with:.1%}")
    print(f"ratio with / without: {with_files / without:.3f}")


if __name__ == "__main__":
    main()

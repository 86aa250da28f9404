"""The cost of recording the weight and gradient histories (core/training/histories.py).

Trains LeNet-5 (resources/networks/lenet5.json) on MNIST-shaped images read from
torchvision's IDX files (the built-in shapes written as IDX, or real MNIST with
`--mnist ROOT`), batch 128, into a run folder, with the histories recorded and not, in
alternating runs of one process, the same thread count on both sides. Each epoch's
seconds come from the trainer's own clock, which includes the end-of-epoch recording
(weight histograms, the dead-unit probe, the .npz written); the first epoch of every run
is left out (first-use costs). On a busy machine the two sides' spread hides a cost of
1 %, so the recorder's own calls are also timed (`after_step`, `end_epoch`, and the .npz
written) and given as a share of the epochs they were made in. The tables and the figure
written once at the end of a run are timed apart. Prints the ratio of the medians last:
epoch seconds with the histories / without (target <= 1.02).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_end_to_end import alternating_mnist_arguments, on_thread, write_shapes_as_mnist  # noqa: E402

import torch  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.data import datasets  # noqa: E402
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.training.devices import training_threads  # noqa: E402
from pytorchgui.core.training import histories, runs  # noqa: E402
from pytorchgui.core.training.runs import RunFolder  # noqa: E402
from pytorchgui.core.training.trainer import Trainer, TrainingConfig  # noqa: E402


RECORDING_SECONDS = [0.0]  # in the recorder's calls, across every run with the histories


def timed(function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            RECORDING_SECONDS[0] += time.perf_counter() - started
    return wrapper


for owner, name in ((histories.LayerRecorder, "after_step"), (histories.LayerRecorder, "end_epoch"),
                    (runs.RunFolder, "write_layer_histories")):
    setattr(owner, name, timed(getattr(owner, name)))


def epoch_seconds(train, epochs: int, batch_size: int, record: bool, out: Path) -> list[float]:
    """Seconds of each epoch after the first, by the trainer's clock."""
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    config = TrainingConfig(epochs=epochs, batch_size=batch_size, threads=training_threads())
    result = on_thread(lambda: Trainer(network, train, config, run_dir=out, record_layers=record).run())
    if record:
        TRAINED_SECONDS[0] += sum(row["seconds"] for row in result.history)
    return [row["seconds"] for row in result.history[1:]]


TRAINED_SECONDS = [0.0]  # every epoch of the runs with the histories


def main() -> None:
    parser = alternating_mnist_arguments(__doc__)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = arguments.mnist
        if root is None:
            root = folder
            write_shapes_as_mnist(Path(folder), arguments.train_samples, 100)
        train = datasets.load_torchvision("MNIST", root, train=True)
        seconds: dict[bool, list[float]] = {True: [], False: []}
        for round_index in range(arguments.rounds):
            for record in ((True, False) if round_index % 2 == 0 else (False, True)):
                out = Path(folder) / f"run_{round_index}_{record}"
                seconds[record] += epoch_seconds(train, arguments.epochs, arguments.batch_size, record, out)
        folder_with_histories = RunFolder(Path(folder) / "run_0_True")
        histories = folder_with_histories.read_layer_histories()
        started = time.perf_counter()
        folder_with_histories.write_layer_views(histories)
        views = time.perf_counter() - started
    on, off = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(f"torch {torch.__version__}, {training_threads()} training threads; LeNet-5, {len(train):,} images, batch "
          f"{arguments.batch_size}, {arguments.epochs} epochs x {arguments.rounds} rounds per side")
    print(f"epoch seconds, median: with histories {on:.3f} (all: {', '.join(f'{s:.2f}' for s in seconds[True])}); "
          f"without {off:.3f} (all: {', '.join(f'{s:.2f}' for s in seconds[False])})")
    print(f"the recorder's own calls: {RECORDING_SECONDS[0]:.2f} s in {TRAINED_SECONDS[0]:.1f} s of epochs, "
          f"{RECORDING_SECONDS[0] / TRAINED_SECONDS[0]:.2%}")
    print(f"tables and figure at the end of a run ({len(histories.epochs)} epochs): {views:.2f} s, once")
    print(f"epoch time ratio, with / without histories: {on / off:.3f} (target <= 1.02)")


if __name__ == "__main__":
    main()

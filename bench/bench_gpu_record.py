"""Record attempts in the style of airbench: the time PyTorchGUI's engine needs to reach a
test accuracy, on one GPU.

- MNIST: resources/networks/mnist_record.json to 99 % test accuracy (the airbench-style
  target: under 1 s of training on one modern GPU);
- CIFAR-10: bench/networks/cifar10_speed.json (an airbench-like network of BatchNorm and
  GELU convolutions, 64-256-256 channels) to 94 %.

Each attempt trains with the network's own recipe, adjusted for speed on a GPU: the
whole uint8 dataset on the device and batches built there, batch 512 (MNIST) or 1024
(CIFAR-10), bf16 autocast, channels_last, and `--compile` for torch.compile. A short
warm-up run first takes the one-off costs (cuDNN's algorithm search, compiling). The test
set is measured after every epoch; the time to target is the sum of the epochs' seconds
up to the first epoch at or above the target, with and without those test passes.

On a machine without a GPU this runs on the CPU; `--tiny` writes a few hundred samples in
the real file formats and trains one epoch of each, as a smoke test of the script.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.data_writers import write_cifar10, write_mnist  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.data import datasets
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.training import trainer as engine  # noqa: E402
from pytorchgui.core.data.fit import fit_to_dataset  # noqa: E402
from pytorchgui.core.training.trainer import EpochEvent, Trainer, TrainingConfig  # noqa: E402

ATTEMPTS = {  # task -> (network file, torchvision dataset, target test accuracy, batch size)
    "mnist": (paths.example_networks_dir() / "mnist_record.json", "MNIST", 0.99, 512),
    "cifar10": (Path(__file__).resolve().parent / "networks" / "cifar10_speed.json", "CIFAR10", 0.94, 1024),
}


def attempt(task: str, root: str, device: str, epochs: int | None, compile_network: bool, download: bool) -> None:
    network_file, dataset_name, target, batch_size = ATTEMPTS[task]
    network = network_format.load(network_file)
    train = datasets.load_torchvision(dataset_name, root, train=True, download=download)
    test = datasets.load_torchvision(dataset_name, root, train=False, download=download)
    fit_to_dataset(network, train.sample_shape, train.num_classes)
    gpu = device.startswith("cuda")
    config = TrainingConfig.from_dict({**network.recipe, "device": device, "batch_size": batch_size,
                                       "mixed_precision": gpu, "channels_last": True, "compile": compile_network,
                                       **({"epochs": epochs} if epochs else {})})
    warm_up = train.subset(torch.arange(min(len(train), 4 * batch_size)), "warm-up")
    started = time.perf_counter()
    Trainer(network, warm_up, config.replace(epochs=1, lr_schedule="none")).run()
    print(f"{task}: warm-up {time.perf_counter() - started:.1f} s", flush=True)
    rows: list[EpochEvent] = []
    test_seconds: list[float] = []

    def on_event(event) -> None:
        if isinstance(event, EpochEvent):
            rows.append(event)
            print(f"  epoch {event.epoch}: test accuracy {event.validation_accuracy:.2%}, {event.seconds:.2f} s",
                  flush=True)

    trainer = Trainer(network, train, config, validation_set=test, on_event=on_event)
    original_evaluate = engine.evaluate_loss

    def timed_evaluate(*args, **kwargs):  # the test passes' share of each epoch
        if gpu:
            torch.cuda.synchronize()
        begun = time.perf_counter()
        result = original_evaluate(*args, **kwargs)
        test_seconds.append(time.perf_counter() - begun)
        return result

    engine.evaluate_loss = timed_evaluate
    try:
        trainer.run()
    finally:
        engine.evaluate_loss = original_evaluate
    reached = next((index for index, row in enumerate(rows) if row.validation_accuracy >= target), None)
    print(f"{task} on {device}: {len(train):,} training images, batch {batch_size}, "
          f"{'bf16, ' if gpu else ''}channels_last{', compiled' if compile_network else ''}")
    if reached is None:
        best = max(row.validation_accuracy for row in rows)
        print(f"{task}: {target:.0%} not reached; best {best:.2%} after {len(rows)} epochs, "
              f"{sum(row.seconds for row in rows):.1f} s")
        return
    total = sum(row.seconds for row in rows[:reached + 1])
    training_only = total - sum(test_seconds[:reached + 1])
    print(f"{task}: time to {target:.0%} test accuracy: {training_only:.2f} s of training "
          f"({total:.2f} s with a test pass each epoch), {reached + 1} epochs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=(*ATTEMPTS, "both"), default="both")
    parser.add_argument("--mnist", help="folder holding MNIST in torchvision's layout (MNIST/raw)")
    parser.add_argument("--cifar", help="folder holding CIFAR-10 in torchvision's layout (cifar-10-batches-py)")
    parser.add_argument("--download", action="store_true", help="download the datasets if missing")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, help="instead of the recipe's")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network")
    parser.add_argument("--tiny", action="store_true", help="smoke test: a few hundred written samples, one epoch")
    arguments = parser.parse_args()
    tasks = tuple(ATTEMPTS) if arguments.task == "both" else (arguments.task,)
    tiny = arguments.tiny or not (arguments.mnist or arguments.cifar or arguments.download)
    if tiny and not arguments.tiny:
        print("no dataset folder given (--mnist, --cifar) and no --download: the --tiny smoke test", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        roots = {"mnist": arguments.mnist, "cifar10": arguments.cifar}
        if tiny:
            roots = {"mnist": str(write_mnist(Path(folder) / "m", train=600, test=200)),
                     "cifar10": str(write_cifar10(Path(folder) / "c", per_batch=60))}
        for task in tasks:
            root = roots[task] or folder
            attempt(task, root, arguments.device, 1 if tiny else arguments.epochs, arguments.compile,
                    arguments.download)


if __name__ == "__main__":
    main()

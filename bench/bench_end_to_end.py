"""End to end on MNIST: PyTorchGUI's training vs hand-written scripts.

All sides read the same MNIST IDX files (real MNIST with `--mnist ROOT`, otherwise the
built-in shapes written in torchvision's MNIST layout) and train LeNet-5 with Adam
(lr 1e-3) and cross-entropy for the same epochs, on the CPU:

- tutorial: torchvision.datasets.MNIST with ToTensor + Normalize, a shuffling DataLoader,
  the hand-written LeNet-5, default memory layout, the usual training loop (`--batch-size`);
- careful: the script a careful user writes: the whole set read once into normalised
  float tensors, a shuffling DataLoader over a TensorDataset, batch 64 (`--careful-batch`),
  the hand-written LeNet-5, the usual loop;
- PyTorchGUI: resources/networks/lenet5.json through the engine the Train tab runs, with
  the app's default options (batch 128; `--app-batch`).

The sides alternate; each reports seconds per epoch (median) and test accuracy after the
last epoch. Prints the speed-ups last (targets: >= 1.6x over the tutorial, >= 1.2x over the
careful script, at equal accuracy, +-0.3 points).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from reference_models import HandLeNet  # noqa: E402
from tests.data_writers import write_idx_images, write_idx_labels  # noqa: E402

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.data import datasets
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.training.metrics import evaluate  # noqa: E402
from pytorchgui.core.training.trainer import Trainer, TrainingConfig  # noqa: E402
from pytorchgui.core.training.devices import training_threads  # noqa: E402


def write_shapes_as_mnist(root: Path, train: int, test: int) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, data in (("train", datasets.make_builtin(train, seed=0)), ("t10k", datasets.make_builtin(test, seed=1))):
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", data.inputs[:, 0].numpy())
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", data.targets.numpy())


def alternating_mnist_arguments(description: str) -> argparse.ArgumentParser:
    """The options of a bench that alternates two sides training LeNet-5 on MNIST-shaped IDX files."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", help="a folder holding real MNIST (MNIST/raw/*-ubyte)")
    parser.add_argument("--train-samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is left out")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each side")
    return parser


def on_thread(function):
    """Run on a worker thread with the app's thread count, as the Train tab does."""
    result = {}

    def run():
        torch.set_num_threads(training_threads())
        result["value"] = function()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def hand_written_run(train, test, epochs: int, device: str) -> tuple[float, float]:
    """The usual loop of a hand-written script: (median seconds per epoch, test accuracy)."""
    model = HandLeNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for x, y in train:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in test:
            correct += int((model(x.to(device)).argmax(1).cpu() == y).sum())
    return statistics.median(seconds), correct / len(test.dataset)


def tutorial(root: str, epochs: int, batch_size: int, seed: int, device: str = "cpu") -> tuple[float, float]:
    import torchvision
    import torchvision.transforms as T

    torch.manual_seed(seed)
    reference = datasets.load_torchvision("MNIST", root).compute_normalization()
    transform = T.Compose([T.ToTensor(), T.Normalize(reference.mean, reference.std)])
    train = torch.utils.data.DataLoader(torchvision.datasets.MNIST(root, train=True, transform=transform),
                                        batch_size=batch_size, shuffle=True)
    test = torch.utils.data.DataLoader(torchvision.datasets.MNIST(root, train=False, transform=transform),
                                       batch_size=1000)
    return hand_written_run(train, test, epochs, device)


def careful(root: str, epochs: int, batch_size: int, seed: int, device: str = "cpu") -> tuple[float, float]:
    torch.manual_seed(seed)
    train = datasets.load_torchvision("MNIST", root, train=True)
    test = datasets.load_torchvision("MNIST", root, train=False)
    mean, std = train.inputs.float().div(255).mean(), train.inputs.float().div(255).std()

    def tensors(data):
        return torch.utils.data.TensorDataset((data.inputs.float().div(255) - mean) / std, data.targets)

    return hand_written_run(torch.utils.data.DataLoader(tensors(train), batch_size=batch_size, shuffle=True),
                            torch.utils.data.DataLoader(tensors(test), batch_size=1000), epochs, device)


def app(root: str, epochs: int, batch_size: int, seed: int, device: str = "cpu") -> tuple[float, float]:
    train = datasets.load_torchvision("MNIST", root, train=True)
    test = datasets.load_torchvision("MNIST", root, train=False)
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    config = TrainingConfig(epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    result = Trainer(network, train, config).run()
    measured = evaluate(result.model, test, train.normalization, batch_size=1000, device=device)
    return statistics.median(h["seconds"] for h in result.history), measured.accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", help="a folder holding real MNIST (MNIST/raw/*-ubyte)")
    parser.add_argument("--train-samples", type=int, default=60000, help="MNIST has 60000")
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="the tutorial's; 64 as in the PyTorch MNIST example")
    parser.add_argument("--careful-batch", type=int, default=64)
    parser.add_argument("--app-batch", type=int, default=128, help="the app's default")
    parser.add_argument("--sides", default="app,careful,tutorial")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each side")
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()
    functions = {"tutorial": (tutorial, arguments.batch_size), "careful": (careful, arguments.careful_batch),
                 "app": (app, arguments.app_batch)}
    names = arguments.sides.split(",")
    times = {name: [] for name in names}
    accuracy = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as folder:
        root = arguments.mnist
        if root is None:
            root = folder
            write_shapes_as_mnist(Path(folder), arguments.train_samples, arguments.test_samples)
        for round_index in range(arguments.rounds):
            for name in (names if round_index % 2 == 0 else names[::-1]):
                function, batch_size = functions[name]
                seconds, correct = on_thread(lambda: function(root, arguments.epochs, batch_size, round_index,
                                                              arguments.device))
                times[name].append(seconds)
                accuracy[name].append(correct)
                print(f"  {name}: {seconds:.2f} s per epoch, test accuracy {correct:.2%}", flush=True)
    print(f"torch {torch.__version__}, training threads {training_threads()}, LeNet-5, "
          f"{'real MNIST' if arguments.mnist else f'{arguments.train_samples} MNIST-shaped images'}, "
          f"{arguments.epochs} epochs, {arguments.rounds} runs per side; batch: "
          + ", ".join(f"{name} {functions[name][1]}" for name in names))
    for name in names:
        print(f"{name}: {statistics.median(times[name]):.2f} s per epoch (median), test accuracy "
              f"{numpy.mean(accuracy[name]):.2%} (mean; runs {', '.join(f'{a:.2%}' for a in accuracy[name])})")
    if "app" in names:
        for name, target in (("tutorial", 1.6), ("careful", 1.2)):
            if name in names:
                points = 100 * (numpy.mean(accuracy["app"]) - numpy.mean(accuracy[name]))
                print(f"speed-up per epoch, PyTorchGUI / {name} script: "
                      f"{statistics.median(times[name]) / statistics.median(times['app']):.2f}x "
                      f"(target >= {target}x), accuracy {points:+.2f} points")


if __name__ == "__main__":
    main()

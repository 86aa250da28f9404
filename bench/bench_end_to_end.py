"""End to end on MNIST-shaped data: PyTorchGUI's training vs the torchvision-tutorial script.

Both read the same MNIST IDX files (the built-in shapes written in torchvision's MNIST
layout) and train LeNet-5 with Adam (lr 1e-3), cross-entropy, the same batch size and
epochs, on the CPU:

- tutorial: torchvision.datasets.MNIST with ToTensor + Normalize, a shuffling DataLoader,
  the hand-written LeNet-5, default memory layout, the usual training loop;
- PyTorchGUI: resources/networks/lenet5.json through the engine the Train tab runs (in
  memory batches, its thread setting), with the app's default options.

The sides alternate; each reports seconds per epoch (median) and test accuracy after the
last epoch. Prints the speed-up last (target >= 1.6x at equal accuracy, +-0.3 points).
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
from pytorchgui.core import datasets, network_format  # noqa: E402
from pytorchgui.core.metrics import evaluate  # noqa: E402
from pytorchgui.core.training import Trainer, TrainingConfig  # noqa: E402
from pytorchgui.core.training import training_threads  # noqa: E402


def write_shapes_as_mnist(root: Path, train: int, test: int) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, data in (("train", datasets.make_builtin(train, seed=0)), ("t10k", datasets.make_builtin(test, seed=1))):
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", data.inputs[:, 0].numpy())
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", data.targets.numpy())


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


def app(root: str, epochs: int, batch_size: int, seed: int, device: str = "cpu") -> tuple[float, float]:
    train = datasets.load_torchvision("MNIST", root, train=True)
    test = datasets.load_torchvision("MNIST", root, train=False)
    train.normalization = train.compute_normalization()
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    config = TrainingConfig(epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    result = Trainer(network, train, config).run()
    measured = evaluate(result.model, test, train.normalization, batch_size=1000, device=device)
    return statistics.median(h["seconds"] for h in result.history), measured.accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-samples", type=int, default=60000, help="MNIST has 60000")
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="64 as in the PyTorch MNIST example")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each side")
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        write_shapes_as_mnist(Path(folder), arguments.train_samples, arguments.test_samples)
        sides = {"tutorial": tutorial, "app": app}
        times = {"tutorial": [], "app": []}
        accuracy = {"tutorial": [], "app": []}
        for round_index in range(arguments.rounds):
            for name in (("app", "tutorial") if round_index % 2 == 0 else ("tutorial", "app")):
                seconds, correct = on_thread(lambda: sides[name](folder, arguments.epochs, arguments.batch_size,
                                                                  round_index, arguments.device))
                times[name].append(seconds)
                accuracy[name].append(correct)
                print(f"  {name}: {seconds:.2f} s per epoch, test accuracy {correct:.2%}", flush=True)
    tutorial_time, app_time = statistics.median(times["tutorial"]), statistics.median(times["app"])
    tutorial_accuracy, app_accuracy = numpy.mean(accuracy["tutorial"]), numpy.mean(accuracy["app"])
    print(f"torch {torch.__version__}, training threads {training_threads()}, LeNet-5, "
          f"{arguments.train_samples} training images, batch {arguments.batch_size}, {arguments.epochs} epochs")
    print(f"test accuracy: tutorial {tutorial_accuracy:.2%}, PyTorchGUI {app_accuracy:.2%} "
          f"(difference {100 * (app_accuracy - tutorial_accuracy):+.2f} points)")
    print(f"seconds per epoch: tutorial {tutorial_time:.2f}, PyTorchGUI {app_time:.2f}")
    print(f"end-to-end speed-up, PyTorchGUI / tutorial script: {tutorial_time / app_time:.2f}x (target >= 1.6x)")


if __name__ == "__main__":
    main()

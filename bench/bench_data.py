"""Data alone, one MNIST-shaped epoch: PyTorchGUI's in-memory batches vs torchvision's
ToTensor + Normalize DataLoader, over the same MNIST IDX files, measured alternately.

Both sides yield normalised float batches of the same size in shuffled order; nothing is
trained. Prints images per second of each side, then the ratio last (target >= 20x).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.data_writers import write_mnist  # noqa: E402

from pytorchgui.core.data import datasets  # noqa: E402


def app_epoch(batches: datasets.InMemoryBatches, batch_size: int, seed: int) -> int:
    count = 0
    for x, y in batches.batches(batch_size, generator=torch.Generator().manual_seed(seed)):
        count += len(x)
    return count


def torchvision_epoch(loader, device: str = "cpu") -> int:
    count = 0
    for x, y in loader:
        if device != "cpu":
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        count += len(x)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60000, help="training images (MNIST has 60000)")
    parser.add_argument("--batch-size", type=int, default=64, help="64 as in the PyTorch MNIST example")
    parser.add_argument("--rounds", type=int, default=3, help="alternating epochs of each side")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the torchvision side")
    parser.add_argument("--device", default="cpu", help="where batches are made (cuda: the torchvision side copies)")
    arguments = parser.parse_args()
    import torchvision
    import torchvision.transforms as T

    with tempfile.TemporaryDirectory() as folder:
        write_mnist(Path(folder), train=arguments.samples, test=10)
        data = datasets.load_torchvision("MNIST", folder)
        normalization = data.compute_normalization()
        batches = datasets.InMemoryBatches(data, normalization, arguments.device)
        transform = T.Compose([T.ToTensor(), T.Normalize(normalization.mean, normalization.std)])
        reference = torchvision.datasets.MNIST(folder, train=True, transform=transform)
        loader = torch.utils.data.DataLoader(reference, batch_size=arguments.batch_size, shuffle=True,
                                             num_workers=arguments.workers, pin_memory=arguments.device != "cpu")
        app_times, reference_times = [], []
        for round_index in range(arguments.rounds):
            sides = ["app", "torchvision"] if round_index % 2 == 0 else ["torchvision", "app"]
            for side in sides:
                start = time.perf_counter()
                count = app_epoch(batches, arguments.batch_size, round_index) if side == "app" \
                    else torchvision_epoch(loader, arguments.device)
                elapsed = time.perf_counter() - start
                assert count == arguments.samples
                (app_times if side == "app" else reference_times).append(elapsed)
    app, reference = statistics.median(app_times), statistics.median(reference_times)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {arguments.samples} images, "
          f"batch {arguments.batch_size}")
    print(f"PyTorchGUI in-memory batches: {arguments.samples / app:,.0f} images/s ({app:.3f} s per epoch)")
    print(f"torchvision ToTensor+Normalize DataLoader ({arguments.workers} workers): "
          f"{arguments.samples / reference:,.0f} images/s ({reference:.2f} s per epoch)")
    print(f"data-only speed-up, PyTorchGUI / torchvision: {reference / app:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()

"""Evaluation of 10,000 MNIST-shaped samples: PyTorchGUI's `metrics.evaluate` (loss,
accuracy, top-5, confusion matrix, per-class report) vs a plain `torch.no_grad` loop that
only counts correct predictions, over the same model and data, measured alternately.
Prints the time ratio last (target <= 1.1).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from pytorchgui import paths
from pytorchgui.core.data import datasets
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.data.datasets import InMemoryBatches
from pytorchgui.core.training.metrics import evaluate


def plain(model, batches: InMemoryBatches, batch_size: int) -> float:
    correct = 0
    with torch.no_grad():
        for x, y in batches.batches(batch_size, shuffle=False):
            correct += int((model(x).argmax(1) == y).sum())
    return correct / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()
    torch.manual_seed(0)
    data = datasets.make_builtin(arguments.samples, seed=1, train=False)
    normalization = data.compute_normalization()
    model = compile_network(network_format.load(paths.example_networks_dir() / "lenet5.json")).eval()
    model = model.to(arguments.device)
    batches = InMemoryBatches(data, normalization, arguments.device)
    loss = torch.nn.CrossEntropyLoss()
    app_times, plain_times = [], []
    plain(model, batches, arguments.batch_size)  # warm-up
    for round_index in range(arguments.rounds):
        for side in (("app", "plain") if round_index % 2 == 0 else ("plain", "app")):
            start = time.perf_counter()
            if side == "app":
                result = evaluate(model, data, normalization, loss=loss, batch_size=arguments.batch_size,
                                  device=arguments.device)
            else:
                accuracy = plain(model, batches, arguments.batch_size)
            (app_times if side == "app" else plain_times).append(time.perf_counter() - start)
    assert abs(result.accuracy - accuracy) < 1e-9
    app_time, plain_time = statistics.median(app_times), statistics.median(plain_times)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {arguments.samples} samples, batch "
          f"{arguments.batch_size}, {arguments.device}")
    print(f"metrics.evaluate {app_time * 1000:.1f} ms, plain no_grad loop {plain_time * 1000:.1f} ms")
    print(f"evaluation time ratio, PyTorchGUI / plain loop: {app_time / plain_time:.3f} (target <= 1.1)")


if __name__ == "__main__":
    main()

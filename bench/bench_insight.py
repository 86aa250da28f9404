"""Issue 15's time targets, each printed as measured / target (below 1 meets it):

- the learning-rate range test of LeNet-5 on 60,000 MNIST-shaped images (the built-in
  shapes), 100 batches of 64, from the command line's code path: <= 30 s;
- the saliency map of the Try it pad (Grad-CAM on LeNet-5's last convolution) and of a
  network without a convolution (integrated gradients, 32 steps): <= 100 ms each.
"""
from __future__ import annotations

import statistics
import time

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.training.lr_finder import find_learning_rate
from pytorchgui.core.training.saliency import saliency


def main() -> None:
    train, _ = builtin_pair(60000, 10)
    lenet = network_format.load(paths.example_networks_dir() / "lenet5.json")
    started = time.perf_counter()
    curve = find_learning_rate(lenet, train, batch_size=64)
    finder = time.perf_counter() - started
    print(f"learning-rate range test, LeNet-5, 60,000 samples, {len(curve.losses)} batches of 64 (data loading "
          f"included): {finder:.1f} s / 30 s = {finder / 30:.2f}; suggested lr {curve.suggested_lr:.2g}")
    sample = train.inputs[0]
    for name in ("lenet5", "mlp"):
        network = network_format.load(paths.example_networks_dir() / f"{name}.json")
        model = compile_network(network)
        saliency(model, sample, train.normalization)  # the first call imports Captum
        times = []
        for index in range(50):
            started = time.perf_counter()
            result = saliency(model, train.inputs[index], train.normalization)
            times.append(time.perf_counter() - started)
        median = statistics.median(times) * 1000
        print(f"saliency of one sample, {name} ({result.method}): median {median:.1f} ms, max "
              f"{max(times) * 1000:.1f} ms / 100 ms = {max(times) * 10:.2f}")


if __name__ == "__main__":
    main()

"""The Inside view's cost (issue 31, target: well under a second): one node's output for one
sample (`inspection.node_output`: a forward hook that stops the pass at the node), for every
node of LeNet-5 at 1 x 28 x 28 and of torchvision's resnet18 imported at 3 x 224 x 224
(random weights, offline), beside one plain forward pass of the same sample; and the first
convolution's kernels as images. Each figure is the median of 5 after a warm-up. Prints the
slowest node's time / 1 s last.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

from pytorchgui import paths
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.importers import import_torchvision
from pytorchgui.core.training import inspection, network_format

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_levers import timed  # noqa: E402


def median_seconds(function, repeats: int = 5) -> float:
    function()  # warm-up: first-use costs
    return timed(function, repeats)


def measure(name: str, network) -> float:
    model = compile_network(network).eval()
    x = torch.randn(1, *network.input_spec.shape)
    with torch.no_grad():
        forward = median_seconds(lambda: model(x))
    nodes = {node: median_seconds(lambda node=node: inspection.node_output(model, x, node))
             for node in inspection.node_names(model)}
    slowest = max(nodes, key=nodes.get)
    filters = median_seconds(lambda: inspection.convolution_filters(model))
    print(f"{name}: {len(nodes)} nodes; forward {forward * 1000:.1f} ms; node output median "
          f"{statistics.median(nodes.values()) * 1000:.1f} ms, slowest {slowest} {nodes[slowest] * 1000:.1f} ms; "
          f"first convolution's kernels {filters * 1000:.1f} ms")
    return nodes[slowest]


def main() -> None:
    torch.set_num_threads(2)
    slowest = [measure("LeNet-5", network_format.load(paths.example_networks_dir() / "lenet5.json")),
               measure("resnet18 (imported, 224 x 224)", import_torchvision("resnet18").network)]
    print(f"slowest node output / 1 s: {max(slowest):.3f}")


if __name__ == "__main__":
    main()

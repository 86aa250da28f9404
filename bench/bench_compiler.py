"""Compiled JSON network vs the same network written by hand; shape inference time.

Prints, last, the ratio of the compiled LeNet-5's training step time (forward + backward
+ optimizer step) to the hand-written LeNet-5's, both measured alternately in one run on
the same batches (target <= 1.02), after the time shape inference takes on a 50-node
network (target <= 30 ms).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from reference_models import HandLeNet

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.graph import shapes
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes


def fifty_node_network() -> Network:
    network = Network()
    previous = None
    names = []
    for block in range(16):
        for type_name, parameters in (
            ("Conv2d", {"in_channels": "auto", "out_channels": 16, "kernel_size": 3, "padding": 1}),
            ("BatchNorm2d", {"num_features": "auto"}),
            ("ReLU", {}),
        ):
            names.append(network.add_node(type_name, f"{type_name.lower()}{block}", parameters))
    names.append(network.add_node("AdaptiveAvgPool2d", "pool", {"output_size": 1}))
    names.append(network.add_node("Flatten", "flatten"))
    for name in names:
        if previous:
            network.connect(previous, name)
        previous = name
    network.set_first_layer(names[0])
    network.set_input([3, 32, 32])
    assert len(network) == 50
    return network


def time_shape_inference(repeats: int) -> tuple[float, float]:
    """(cold: nothing cached, after an edit: one layer's out_channels changed), medians."""
    network = fifty_node_network()
    infer_shapes(network)  # warm-up: imports, first meta kernels
    cold, after_edit = [], []
    for repeat in range(repeats):
        shapes._OUTCOMES.clear()
        start = time.perf_counter()
        report = infer_shapes(network)
        cold.append(time.perf_counter() - start)
        assert report.ok
        # What the Network tab does after the user edits one layer in the middle.
        parameters = dict(network.node("conv2d8").parameters)
        parameters["out_channels"] = 16 + 8 * (repeat % 2 + 1)
        network.set_parameters("conv2d8", parameters)
        start = time.perf_counter()
        report = infer_shapes(network)
        after_edit.append(time.perf_counter() - start)
        assert report.ok
    return statistics.median(cold), statistics.median(after_edit)


def training_step_ratio(batch_size: int, rounds: int, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    compiled = compile_network(network_format.load(paths.example_networks_dir() / "lenet5.json"))
    hand = HandLeNet()
    hand.load_state_dict(compiled.state_dict())
    batches = [(torch.randn(batch_size, 1, 28, 28), torch.randint(0, 10, (batch_size,))) for _ in range(steps)]
    loss_function = nn.CrossEntropyLoss()

    def run(model) -> float:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        start = time.perf_counter()
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            loss_function(model(x), y).backward()
            optimizer.step()
        return (time.perf_counter() - start) / steps

    run(compiled), run(hand)  # warm-up
    compiled_times, hand_times = [], []
    for round_index in range(rounds):
        # Alternate which goes first so that neither profits from the other's warm caches.
        order = (compiled, hand) if round_index % 2 == 0 else (hand, compiled)
        for model in order:
            (compiled_times if model is compiled else hand_times).append(run(model))
    return statistics.median(compiled_times), statistics.median(hand_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds of each side")
    parser.add_argument("--steps", type=int, default=20, help="training steps per round")
    parser.add_argument("--repeats", type=int, default=30, help="shape inference repeats")
    arguments = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    cold, after_edit = time_shape_inference(arguments.repeats)
    print(f"shape inference, 50-node network, nothing cached: {cold * 1000:.1f} ms (median of {arguments.repeats})")
    print(f"shape check after an edit, 50-node network: {after_edit * 1000:.1f} ms (median; target <= 30 ms)")
    compiled, hand = training_step_ratio(arguments.batch_size, arguments.rounds, arguments.steps)
    print(f"LeNet-5 training step, batch {arguments.batch_size}: compiled {compiled * 1000:.2f} ms, "
          f"hand-written {hand * 1000:.2f} ms")
    print(f"compiled / hand-written step time: {compiled / hand:.3f} (target <= 1.02)")


if __name__ == "__main__":
    main()

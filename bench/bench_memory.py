"""The memory estimate (core/memory.py) against the measured peak of one training step.

For each example network and batch size, a fresh process builds the data batch, warms
torch up on a separate 2-sample step (so that libraries and kernels are loaded), notes
its resident memory, resets the kernel's peak counter (/proc/self/clear_refs, Linux),
then builds the model and optimizer and runs one step (forward, loss, backward,
optimizer step) on a new batch. Measured = peak resident memory - resident memory
before. Prints estimate / measured per case; the target is within 0.75 to 1.25. The
steps run in channels_last, as training does by default (`--no-channels-last`: the
contiguous layout); the estimate is made for the same layout. On a GPU, `--device cuda`
compares with torch.cuda.max_memory_allocated instead.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

NETWORKS = "lenet5,small_cnn,small_resnet"  # the cases; any example name or JSON path can be added


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def load_network(name: str):
    from pathlib import Path

    from pytorchgui import paths
    from pytorchgui.core.training import network_format

    path = Path(name) if name.endswith(".json") else paths.example_networks_dir() / f"{name}.json"
    return network_format.load(path)


def measure(name: str, batch_size: int, device: str, channels_last: bool = False) -> int:
    """One step's peak memory above what was in use before it (run in a fresh process)."""
    import torch

    from pytorchgui.core.graph.compiler import compile_network

    torch.set_num_threads(1)
    network = load_network(name)
    shape, dtype = network.input_spec.shape, getattr(torch, network.input_spec.dtype)
    entry = network.catalog.optimizers.get(network.optimizer.type)

    def step(size: int) -> None:
        model = compile_network(network).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = entry.build_optimizer(model.parameters(), network.optimizer.parameters)
        if dtype.is_floating_point:
            x = torch.randn(size, *shape, device=device, dtype=dtype)
        else:
            x = torch.randint(0, 10, (size, *shape), device=device, dtype=dtype)  # token ids
        if channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        loss = model(x).float().square().mean()  # any loss: its memory is one value per output
        loss.backward()
        optimizer.step()

    step(2)  # warm-up: kernels, allocator pools, lazily loaded libraries
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step(batch_size)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as stream:
        stream.write("5")  # the peak (VmHWM) starts again from the current resident size
    step(batch_size)
    return _status("VmHWM") - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="64,512")
    parser.add_argument("--networks", default=NETWORKS, help="example names or JSON paths, comma-separated")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="steps in the channels_last layout, training's default (--no-channels-last: contiguous)")
    parser.add_argument("--measure", nargs=2, metavar=("NETWORK", "BATCH"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    layout = ["--channels-last" if arguments.channels_last else "--no-channels-last"]
    if arguments.measure:
        print(json.dumps(measure(arguments.measure[0], int(arguments.measure[1]), arguments.device,
                                 arguments.channels_last)))
        return
    from pytorchgui.core.training.memory import estimate_training_memory, size

    ratios = []
    for name in arguments.networks.split(","):
        network = load_network(name)
        for batch_size in map(int, arguments.batch_sizes.split(",")):
            estimate = estimate_training_memory(network, batch_size, device=arguments.device,
                                                channels_last=arguments.channels_last).total
            output = subprocess.run([sys.executable, __file__, "--device", arguments.device, "--measure", name,
                                     str(batch_size)] + layout, capture_output=True, text=True, check=True,
                                    env={**os.environ, "OMP_NUM_THREADS": "1"})
            measured = json.loads(output.stdout.strip().splitlines()[-1])
            ratios.append(estimate / measured)
            print(f"{name:13s} batch {batch_size:4d}: estimate {size(estimate):>9s}, measured {size(measured):>9s}, "
                  f"estimate / measured {estimate / measured:.2f}")
    inside = sum(0.75 <= ratio <= 1.25 for ratio in ratios)
    print(f"estimate / measured within 0.75..1.25 in {inside} of {len(ratios)} cases "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()

"""What each speed lever is worth on this machine, for one network and batch size.

One training step (forward, loss, backward, optimizer step) on a fixed batch already in
memory, with nothing between steps: the physical floor of an epoch. Then the same step
with each lever changed, timed in alternating rounds (median of the rounds' medians):

- the optimizer's implementation: torch's default (a Python loop over the tensors on the
  CPU), `foreach=True` (one kernel per operation for all tensors), `fused=True`;
- channels_last memory layout for the model and the batch;
- reading the loss on the host after every step (`float(loss)`), as a per-batch report does;
- torch.compile (default backend; `--compile`, it takes a minute or more to compile here);
- the validation pass over 10,000 samples: `torch.no_grad` vs `torch.inference_mode`, at
  the training batch size and at 4x it.

Prints each lever as time per step (or per pass) relative to the plain step: below 1 is
faster.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pytorchgui import paths  # noqa: E402
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.graph.compiler import compile_network  # noqa: E402
from pytorchgui.core.training.devices import training_threads  # noqa: E402


def make_step(network, batch_size: int, *, optimizer_options: dict, channels_last: bool, read_loss: bool,
              compiled: bool):
    torch.manual_seed(0)
    model = compile_network(network)
    shape = network.input_spec.shape
    x = torch.randn(batch_size, *shape)
    y = torch.randint(0, 10, (batch_size,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **optimizer_options)
    stepped = torch.compile(model) if compiled else model

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(stepped(x), y)
        loss.backward()
        optimizer.step()
        if read_loss:
            float(loss)

    return step


def make_validation(network, batch_size: int, mode):
    torch.manual_seed(0)
    model = compile_network(network).eval()
    x = torch.randn(10000, *network.input_spec.shape)

    def run():
        with mode():
            for start in range(0, len(x), batch_size):
                model(x[start:start + batch_size])

    return run


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default=str(paths.example_networks_dir() / "lenet5.json"))
    parser.add_argument("--input", default="1,28,28", help="the input shape the network is given")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="per round and lever")
    parser.add_argument("--compile", action="store_true", help="also torch.compile (slow to compile)")
    arguments = parser.parse_args()
    torch.set_num_threads(training_threads())
    network = network_format.load(arguments.network)
    network.set_input([int(size) for size in arguments.input.split(",")])
    size = arguments.batch_size
    plain = dict(optimizer_options={}, channels_last=False, read_loss=False, compiled=False)
    levers = {
        "plain step (the floor: fixed batch, nothing between steps)": plain,
        "Adam foreach=True": {**plain, "optimizer_options": {"foreach": True}},
        "Adam fused=True": {**plain, "optimizer_options": {"fused": True}},
        "channels_last": {**plain, "channels_last": True},
        "float(loss) after every step": {**plain, "read_loss": True},
    }
    if arguments.compile:
        levers["torch.compile"] = {**plain, "compiled": True}
    steps = {name: make_step(network, size, **options) for name, options in levers.items()}
    for name, step in steps.items():  # warm-up: first-use costs, compiling
        started = time.perf_counter()
        for _ in range(3):
            step()
        if name == "torch.compile":
            print(f"torch.compile: first 3 steps {time.perf_counter() - started:.1f} s (compiling)", flush=True)
    passes = {f"validation, no_grad, batch {size}": make_validation(network, size, torch.no_grad),
              f"validation, inference_mode, batch {size}": make_validation(network, size, torch.inference_mode),
              f"validation, inference_mode, batch {4 * size}": make_validation(network, 4 * size,
                                                                               torch.inference_mode)}
    results: dict[str, list[float]] = {name: [] for name in (*steps, *passes)}
    for round_index in range(arguments.rounds):
        order = list(steps) if round_index % 2 == 0 else list(steps)[::-1]
        for name in order:
            step = steps[name]
            results[name].append(timed(step, arguments.steps))
        for name, run in passes.items():
            results[name].append(timed(run, 1))
    floor = statistics.median(results[next(iter(steps))])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {Path(arguments.network).name}, input "
          f"{arguments.input}, batch {size}; medians of {arguments.rounds} alternating rounds")
    for name in steps:
        value = statistics.median(results[name])
        print(f"{name}: {value * 1000:.2f} ms per step, {value / floor:.3f} of the plain step")
    first_pass = statistics.median(results[next(iter(passes))])
    for name in passes:
        value = statistics.median(results[name])
        print(f"{name}: {value * 1000:.0f} ms per 10,000 samples, {value / first_pass:.3f} of no_grad at batch {size}")


if __name__ == "__main__":
    main()

"""Why the window trains slower than the command line: the thread the steps run on.

The Train tab runs the Trainer on a worker thread (the window's thread stays free); the CLI
runs it on the process's main thread. This script takes the same LeNet-5 training steps
(batch 128, Adam, 2 intra-op threads, plain torch, no Qt) on the main thread and on a
second thread, in alternating rounds in one process, and prints the step times and
their ratio (main-thread ms / other-thread ms: 1.0 means no cost), with the process's
minor page faults and voluntary context switches per step, which tell where the time goes.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time

import torch


def lenet() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(6, 16, 5),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(256, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))


COUNTS = {"main": [], "other": []}  # (minor page faults, voluntary context switches) per step


def step_ms(model, optimizer, batch, steps: int, side: str = "main") -> float:
    for _ in range(10):  # warm-up: oneDNN primitives, the thread's OpenMP team
        optimizer.zero_grad()
        model(batch).sum().backward()
        optimizer.step()
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        model(batch).sum().backward()
        optimizer.step()
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    COUNTS[side].append(((after.ru_minflt - before.ru_minflt) / steps, (after.ru_nvcsw - before.ru_nvcsw) / steps))
    return seconds / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    arguments = parser.parse_args()
    torch.manual_seed(0)
    model, batch = lenet(), torch.randn(128, 1, 28, 28)
    optimizer = torch.optim.Adam(model.parameters())
    times = {"main": [], "other": []}
    for round_index in range(arguments.rounds):
        for side in (("other", "main") if round_index % 2 == 0 else ("main", "other")):
            if side == "main":
                times["main"].append(step_ms(model, optimizer, batch, arguments.steps))
            else:
                result = []
                worker = threading.Thread(target=lambda: result.append(step_ms(model, optimizer, batch,
                                                                                arguments.steps, "other")))
                worker.start()
                worker.join()
                times["other"] += result
            faults, switches = COUNTS[side][-1]
            print(f"  {side} thread: {times[side][-1]:.2f} ms per step, {faults:.0f} minor page faults and "
                  f"{switches:.0f} voluntary context switches per step (the whole process)", flush=True)
    main_ms, other_ms = statistics.median(times["main"]), statistics.median(times["other"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, LeNet-5 batch 128, Adam")
    print(f"median ms per step: main thread {main_ms:.2f}, another thread {other_ms:.2f}")
    print(f"speed ratio, another thread / the main thread (main ms / other ms): {main_ms / other_ms:.3f}")


if __name__ == "__main__":
    main()

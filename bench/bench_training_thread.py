"""Why the window trained slower than the command line: the thread the steps run on, and malloc.

The Train tab runs the Trainer on a worker thread (the window's thread stays free, and runs
its own torch work on 1 OpenMP thread: gui/workers.keep_gui_thread_serial); the CLI runs it
on the process's main thread. This script takes the same LeNet-5 training steps (batch 128,
Adam, 2 intra-op threads, plain torch, no Qt) both ways, each run in a fresh process as the
app and the CLI are, with glibc's default malloc and with the settings `pytorchgui` makes at
start (core/machine.keep_freed_memory_for_reuse). Configurations alternate round by round.

It prints each configuration's median ms per step, with the minor page faults and voluntary
context switches per step (the whole process), and the ratios: the worker thread's speed
over the main thread's (main ms / thread ms; 1.0 means the window's thread costs nothing),
with each malloc setting.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

CONFIGURATIONS = ("main, default malloc", "thread, default malloc", "main, pytorchgui's malloc",
                  "thread, pytorchgui's malloc")


def lenet():
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(6, 16, 5),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(256, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))


def one_run(configuration: str, steps: int) -> dict:
    """In this process: the steps of `configuration`; ms per step, faults and switches per step."""
    if "pytorchgui" in configuration:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from pytorchgui.core.machine import keep_freed_memory_for_reuse

        keep_freed_memory_for_reuse()
    import torch

    threads = torch.get_num_threads()
    result = {}

    def train() -> None:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        model, batch = lenet(), torch.randn(128, 1, 28, 28)
        optimizer = torch.optim.Adam(model.parameters())
        for warm_up in (True, False):  # warm-up: oneDNN primitives, the thread's OpenMP team
            before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            for _ in range(10 if warm_up else steps):
                optimizer.zero_grad()
                model(batch).sum().backward()
                optimizer.step()
        seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
        result.update(ms=seconds / steps * 1000, faults=(after.ru_minflt - before.ru_minflt) / steps,
                      switches=(after.ru_nvcsw - before.ru_nvcsw) / steps, threads=threads)

    if configuration.startswith("main"):
        train()
    else:
        torch.set_num_threads(1)  # the GUI thread, as keep_gui_thread_serial leaves it
        torch.get_num_threads()
        worker = threading.Thread(target=train)
        worker.start()
        worker.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--run", help=argparse.SUPPRESS)  # one configuration, in the child process
    arguments = parser.parse_args()
    if arguments.run:
        print(json.dumps(one_run(arguments.run, arguments.steps)))
        return
    results: dict[str, list[dict]] = {name: [] for name in CONFIGURATIONS}
    for round_index in range(arguments.rounds):
        order = CONFIGURATIONS if round_index % 2 == 0 else CONFIGURATIONS[::-1]
        for name in order:
            output = subprocess.run([sys.executable, __file__, "--run", name, "--steps", str(arguments.steps)],
                                    check=True, capture_output=True, text=True).stdout
            results[name].append(json.loads(output.splitlines()[-1]))
            run = results[name][-1]
            print(f"  {name}: {run['ms']:.2f} ms per step, {run['faults']:.0f} minor page faults and "
                  f"{run['switches']:.0f} voluntary context switches per step", flush=True)
    import torch

    print(f"torch {torch.__version__}, {results[CONFIGURATIONS[0]][0]['threads']} intra-op threads, "
          f"LeNet-5 batch 128, Adam, {arguments.rounds} processes of {arguments.steps} steps per configuration")
    median = {name: statistics.median(run["ms"] for run in runs) for name, runs in results.items()}
    for name in CONFIGURATIONS:
        print(f"median ms per step, {name}: {median[name]:.2f} (min {min(r['ms'] for r in results[name]):.2f}, "
              f"max {max(r['ms'] for r in results[name]):.2f})")
    for malloc in ("default malloc", "pytorchgui's malloc"):
        print(f"speed ratio, worker thread / main thread, {malloc} (main ms / thread ms): "
              f"{median['main, ' + malloc] / median['thread, ' + malloc]:.3f}")
    print(f"speed ratio, pytorchgui's malloc / default, main thread: "
          f"{median['main, default malloc'] / median[CONFIGURATIONS[2]]:.3f}; worker thread: "
          f"{median['thread, default malloc'] / median[CONFIGURATIONS[3]]:.3f}")


if __name__ == "__main__":
    main()

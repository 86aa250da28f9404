"""Issue 18's speed target: augmenting a 128-image MNIST-shaped batch takes at most 10 %
of that batch's LeNet-5 training step on the CPU (forward, backward, Adam step).

Both are timed side by side in this process, alternating, with the training's own
thread choice; each row prints the pipeline's median time / the step's median time
(0.10 or below meets the target).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.data.augmentation import Pipeline
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.data.data_source import builtin_pair

PIPELINES = ("RandomCrop(padding=2)", "RandomCrop(padding=4), HorizontalFlip", "Rotate(degrees=10)",
             "Affine", "ColorJitter", "RandomErasing", "MixUp", "CutMix",
             "RandomCrop(padding=2), Affine(degrees=10, shift=0), RandomErasing, MixUp")
ROUNDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    train, _ = builtin_pair(1024, 10)
    raw = train.inputs[:128].float() / 255
    targets = train.targets[:128]
    model = compile_network(network_format.load(paths.example_networks_dir() / "lenet5.json"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(raw), targets).backward()
        optimizer.step()

    pipelines = [Pipeline.parse(text) for text in PIPELINES]
    timings: dict[str, list[float]] = {"step": [], **{text: [] for text in PIPELINES}}
    for round_ in range(ROUNDS + 5):  # the first rounds warm up
        for text, pipeline in [("step", None), *zip(PIPELINES, pipelines)]:
            started = time.perf_counter()
            step() if pipeline is None else pipeline.apply(raw, targets, generator)
            if round_ >= 5:
                timings[text].append(time.perf_counter() - started)
    step_ms = statistics.median(timings["step"]) * 1000
    print(f"LeNet-5 training step, batch 128 of 1x28x28, {torch.get_num_threads()} thread(s): median "
          f"{step_ms:.2f} ms")
    for text in PIPELINES:
        ms = statistics.median(timings[text]) * 1000
        print(f"  {text:72s} {ms:6.3f} ms = {ms / step_ms:.3f} of the step (target <= 0.10)")


if __name__ == "__main__":
    main()

"""Issue 28's sweep figures, side by side in one run.

1. Pruning (`--part pruning`): a TPE sweep of 16 trials over the learning rate (log, 1e-4
   to 1e-1), the batch size (32, 64, 128, 256) and the first convolution's width
   (conv1.out_channels, 4 to 16 by 2), LeNet-5 (resources/networks/lenet5.json) on the
   built-in shapes, 4 epochs each, run with each pruner and without one (the same sampler
   seed), plus the template's own settings trained the same 4 epochs. Prints, per pruner:
   the epochs run, the share saved against the sweep without pruning, the best trial's
   validation accuracy and its distance in points from the unpruned sweep's best, and
   whether the best beats the template's default settings.
2. Overhead (`--part overhead`): the sweep machinery's own time per trial. The same
   settings (a space of one choice) run as sweep trials and as plain runs, alternating in
   one process: Trainer.run into a run folder (the core of `pytorchgui train`, without the
   process start and data reading a separate `pytorchgui train` pays each time), and
   `pytorchgui train` itself as a process, for scale. Prints seconds per trial and the
   difference (target: the sweep adds at most 0.5 s per trial).

    python bench/bench_sweeps.py                   # both parts
    python bench/bench_sweeps.py --part overhead --rounds 6
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("PYTORCHGUI_NO_LAYER_FIGURE", "1")  # the same on both sides; 0.5 s of matplotlib a run

from pytorchgui import paths  # noqa: E402
from pytorchgui.core.data.data_source import load_spec  # noqa: E402
from pytorchgui.core.training import network_format  # noqa: E402
from pytorchgui.core.training.options import TrainingConfig  # noqa: E402
from pytorchgui.core.training.sweeps import Experiment, SweepWorker, load_study  # noqa: E402
from pytorchgui.core.training.trainer import Trainer  # noqa: E402

LENET = paths.example_networks_dir() / "lenet5.json"
SPACE = {"lr": {"low": 1e-4, "high": 1e-1, "log": True}, "batch_size": {"choices": [32, 64, 128, 256]},
         "conv1.out_channels": {"low": 4, "high": 16, "step": 2}}


def sweep(folder: Path, data: str, test: str, train_set, validation, config: TrainingConfig, space: dict,
          trials: int, pruner: str, sampler: str = "tpe") -> tuple[float, list]:
    """(seconds, the study's trials) of a sweep run in this process."""
    network = network_format.load(LENET)
    experiment = Experiment(folder, data=data, test=test, space=space, config=config.to_dict(), trials=trials,
                            pruner=pruner, sampler=sampler)
    experiment.create(network)
    started = time.perf_counter()
    SweepWorker(experiment, train_set, validation).run()
    return time.perf_counter() - started, load_study(experiment).get_trials()


def pruning(arguments, base: Path) -> None:
    import optuna

    train_set, validation = load_spec(arguments.data), load_spec(arguments.test, train=False)
    config = TrainingConfig(epochs=4, threads=arguments.threads)
    print(f"LeNet-5, {len(train_set)} training and {len(validation)} validation images, TPE, 16 trials x 4 epochs")
    default = Trainer(network_format.load(LENET), train_set, config, validation_set=validation,
                      run_dir=base / "default").run()
    default_accuracy = max(row["validation_accuracy"] for row in default.history)
    print(f"the template's settings (lr 0.001, batch 128, conv1 6 channels): {default_accuracy:.2%}")
    results = {}
    for pruner in ("none", *arguments.pruners):
        seconds, trials = sweep(base / pruner, arguments.data, arguments.test, train_set, validation, config, SPACE,
                                16, pruner)
        done = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
        epochs = sum(t.user_attrs.get("epochs", len(t.intermediate_values)) for t in done)
        best = max((t for t in done if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.value)
        pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in done)
        results[pruner] = (epochs, best.value, seconds)
        print(f"pruner {pruner:9s}: {epochs:3d} epochs, {pruned:2d} trials pruned, {seconds:6.0f} s; best trial "
              f"{best.number}: {best.value:.2%} ({json.dumps(best.params)})")
    unpruned_epochs, unpruned_best, _ = results["none"]
    for pruner in arguments.pruners:
        epochs, best, _ = results[pruner]
        print(f"{pruner}: saves {1 - epochs / unpruned_epochs:.1%} of the epochs (target >= 40 %); best "
              f"{best:.2%} against {unpruned_best:.2%} unpruned: {100 * (best - unpruned_best):+.2f} points "
              f"(target within 0.3); beats the template's settings by {100 * (best - default_accuracy):+.2f} points")


def overhead(arguments, base: Path) -> None:
    data, test = "builtin:2000", "builtin:500"
    train_set, validation = load_spec(data), load_spec(test, train=False)
    config = TrainingConfig(epochs=1, threads=arguments.threads, batch_size=64)
    one_choice = {"lr": {"choices": [0.001]}}  # the template's own value: the trial is a plain run
    plain, swept, processes = [], [], []
    for round_number in range(arguments.rounds):
        started = time.perf_counter()
        Trainer(network_format.load(LENET), train_set, config, validation_set=validation,
                run_dir=base / f"plain{round_number}").run()
        plain.append(time.perf_counter() - started)
        seconds, _ = sweep(base / f"sweep{round_number}", data, test, train_set, validation, config, one_choice,
                           3, "none")
        swept.append(seconds / 3)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytorchgui", "train", str(LENET), "--data", data, "--test", test,
                        "--epochs", "1", "--batch-size", "64", "--threads", str(arguments.threads), "--quiet",
                        "--out", str(base / f"cli{round_number}")], check=True, capture_output=True)
        processes.append(time.perf_counter() - started)
    plain_median, swept_median = statistics.median(plain), statistics.median(swept)
    print(f"one epoch of LeNet-5 on 2,000 images, {arguments.rounds} rounds, medians:")
    print(f"  Trainer.run into a run folder      {plain_median:6.2f} s")
    print(f"  a sweep trial (3 per sweep)        {swept_median:6.2f} s")
    print(f"  pytorchgui train, as a process     {statistics.median(processes):6.2f} s")
    print(f"the sweep adds {swept_median - plain_median:+.2f} s per trial over Trainer.run (target <= 0.5 s), "
          f"ratio {swept_median / plain_median:.3f}; a trial takes {swept_median / statistics.median(processes):.3f} "
          "of a pytorchgui train process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("pruning", "overhead", "both"), default="both")
    parser.add_argument("--data", default="builtin:6000")
    parser.add_argument("--test", default="builtin:2000")
    parser.add_argument("--pruners", nargs="+", default=["median", "hyperband"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if arguments.part in ("overhead", "both"):
            overhead(arguments, Path(folder) / "overhead")
        if arguments.part in ("pruning", "both"):
            pruning(arguments, Path(folder) / "pruning")


if __name__ == "__main__":
    main()

"""The `pytorchgui` command. Without a subcommand it opens the app; the subcommands run
the same core from a terminal, a script or a cluster:

    pytorchgui validate NET.json
    pytorchgui train NET.json --data builtin --epochs 5 --out runs/first
    pytorchgui evaluate runs/first --data builtin --test-mode      (or NET.json --weights FILE)
    pytorchgui export runs/first --format onnx -o net.onnx         (or NET.json [--weights FILE])
    pytorchgui inspect runs/first --node conv1 --sample 3 --data builtin -o conv1.png   (or --image FILE, --filters)
    pytorchgui sweep NET.json --data builtin --test builtin:2000 --space space.json --trials 16 --out experiments/first
    torchrun --nproc-per-node 2 -m pytorchgui train NET.json --data builtin --out runs/ddp

User errors print one line on stderr and exit with code 2; a problem in the network
(validate) exits with 1.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from pytorchgui import __version__

USER_ERROR = 2
BUG = 3  # distinct from 1 (validate found problems) and 2 (the user's input)
BROKEN_PIPE = 141  # as a program killed by SIGPIPE: what `yes | head` leaves


def _parser() -> argparse.ArgumentParser:
    from pytorchgui.core.data.data_source import DATA_SPEC_HELP
    from pytorchgui.core.training.options import add_training_arguments

    parser = argparse.ArgumentParser(
        prog="pytorchgui",
        description="Design, train and evaluate PyTorch networks. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"PyTorchGUI {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a network file and print its summary")
    validate.add_argument("network", type=Path)
    validate.add_argument("--input-shape", help="shape of one sample, such as 1,28,28 (default: the file's)")

    train = commands.add_parser("train", help="train a network (also under torchrun)",
                                epilog=f"SPEC: {DATA_SPEC_HELP}")
    _add_run_arguments(train)
    train.add_argument("--out", type=Path, required=True, metavar="RUN_DIR",
                       help="run folder (the layout of the app's run history)")
    train.add_argument("--resume", type=Path, metavar="CHECKPOINT")
    add_training_arguments(train)
    _add_sweep_command(commands, DATA_SPEC_HELP)

    evaluate = commands.add_parser("evaluate", help="measure trained weights on a dataset",
                                   epilog=f"SPEC: {DATA_SPEC_HELP}")
    _add_model_and_data_arguments(evaluate)
    evaluate.add_argument("--normalization", type=Path, metavar="CONFIG_JSON",
                          help="the run's config.json (default: beside the weights, else from the data)")
    evaluate.add_argument("--batch-size", type=int, default=512)
    evaluate.add_argument("--device", default="cpu")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON only")
    evaluate.add_argument("--output", metavar="NODE",
                          help="of a network with several outputs, the output node to measure (default: the first)")
    evaluate.add_argument("--curves", type=Path, metavar="DIR",
                          help="a classifier's ROC, precision-recall and calibration curves as CSV and curves.png "
                               "in DIR (default with a run folder: RUN_DIR/evaluation/DATASET)")
    evaluate.add_argument("--no-curves", action="store_true",
                          help="write no curves, not even into the run folder (nor into --json's report)")

    _add_model_commands(commands, DATA_SPEC_HELP)
    _add_inspect_command(commands, DATA_SPEC_HELP)
    _add_embed_command(commands, DATA_SPEC_HELP)

    export = commands.add_parser("export", help="export to Python, ONNX or torch.export")
    export.add_argument("network", type=Path, metavar="RUN_DIR|NET.json",
                        help="a run folder (its network, best weights and data normalisation), or a network file")
    export.add_argument("--format", required=True, choices=["python", "onnx", "pt2"])
    export.add_argument("--weights", type=Path)
    export.add_argument("--no-normalization", action="store_true",
                        help="leave out the training data's normalisation (the model then takes "
                             "normalised input and gives a regression target in standardised units)")
    export.add_argument("-o", "--output", type=Path, required=True)
    return parser


def _add_run_arguments(command) -> None:
    """The network, the data and the run's flags that `train` and `sweep` share."""
    command.add_argument("network", type=Path)
    command.add_argument("--data", required=True, metavar="SPEC", help="training set")
    command.add_argument("--test", metavar="SPEC", help="validation/test set measured after each epoch")
    command.add_argument("--val-split", type=float, default=0.0, metavar="PERCENT",
                         help="validation split of the training set, when there is no --test")
    command.add_argument("--split-seed", type=int, metavar="N",
                         help="which samples the validation split takes (default: the --seed)")
    command.add_argument("--download", action="store_true", help="download torchvision datasets if missing")
    command.add_argument("--no-recipe", action="store_true",
                         help="ignore the training options the network file carries (\"$recipe\")")
    command.add_argument("--fit", action="store_true",
                         help="fit the network's input, first layer and class count to the data")
    command.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_sweep_command(commands, data_spec_help: str) -> None:
    from pytorchgui.core.training.options import add_training_arguments
    from pytorchgui.core.training.sweeps import OBJECTIVES, PRUNERS, SAMPLERS

    sweep = commands.add_parser(
        "sweep", help="search training options and node parameters with Optuna; each trial is a run folder",
        epilog=f"SPACE.json maps a name to a range or choices: {{\"lr\": {{\"low\": 1e-4, \"high\": 0.1, \"log\": "
               f"true}}, \"batch_size\": {{\"choices\": [64, 128]}}, \"conv1.out_channels\": {{\"low\": 4, "
               f"\"high\": 32, \"step\": 4}}}}. A name is a training option, a parameter of the optimizer (lr) "
               f"or of optimizer., loss., schedule. or augment.OPERATION., or NODE.PARAMETER. SPEC: {data_spec_help}")
    _add_run_arguments(sweep)
    sweep.add_argument("--space", type=Path, required=True, metavar="SPACE.json", help="what to search")
    sweep.add_argument("--trials", type=int, metavar="N",
                       help="trials to finish, all processes together (a grid: every point by default)")
    sweep.add_argument("--timeout", type=float, metavar="SECONDS", help="start no trial after this time")
    sweep.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="how trials are chosen (default: tpe)")
    sweep.add_argument("--sampler-seed", type=int, default=0, metavar="N", help="the sampler's seed (default: 0)")
    sweep.add_argument("--pruner", choices=PRUNERS, default="median",
                       help="stop poor trials after an epoch (default: median)")
    sweep.add_argument("--objective", choices=list(OBJECTIVES),
                       help="what the sweep optimises (default: validation_accuracy, or validation_loss for a "
                            "regression)")
    sweep.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="trials at once, each in its own process with its share of the CPU threads (or GPU)")
    sweep.add_argument("--storage", metavar="URL",
                       help="the study's store, shared by processes and machines: a database URL (sqlite:///F, "
                            "postgresql://...) or a journal file path (default: OUT/study.db)")
    sweep.add_argument("--study", metavar="NAME", help="the study's name in the store (default: OUT's name)")
    sweep.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="the experiment folder: trials/ (one run folder each), trials.csv; running the same "
                            "command again resumes the sweep")
    sweep.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a process started by --jobs
    add_training_arguments(sweep)


def _add_model_commands(commands, data_spec_help: str) -> None:
    """import, estimate and lr-find: commands about a model before (or instead of) training."""
    importer = commands.add_parser("import", help="import a torchvision or timm model or an ONNX file as a network "
                                                  "file (with its weights)")
    importer.add_argument("model", metavar="torchvision:NAME|timm:NAME|MODEL.onnx",
                          help="such as torchvision:resnet18 or timm:vit_tiny_patch16_224 (timm: random weights "
                               "unless --pretrained; needs the timm extra)")
    importer.add_argument("-o", "--output", type=Path, required=True, metavar="NET.json")
    importer.add_argument("--weights", type=Path,
                          help="the model's state_dict (.pth/.pt read with weights_only, or .safetensors)")
    importer.add_argument("--pretrained", action="store_true",
                          help="download the default pretrained weights (torchvision's, or timm's from the "
                               "Hugging Face Hub; cached after the first time)")
    importer.add_argument("--weights-out", type=Path, metavar="OUT.pt",
                          help="where the weights go under the network's node names (torchvision: needs --weights)")

    estimate = commands.add_parser("estimate", help="the memory one training step needs, as JSON")
    estimate.add_argument("network", type=Path)
    estimate.add_argument("--batch-size", type=int, default=128)
    estimate.add_argument("--device", default="cpu")
    estimate.add_argument("--bf16", action="store_true", help="with bfloat16 mixed precision")
    estimate.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                          help="in the channels_last layout, as training is by default")

    finder = commands.add_parser("lr-find", help="the learning-rate range test: print the curve and a suggestion "
                                                 "as JSON", epilog=f"SPEC: {data_spec_help}")
    finder.add_argument("network", type=Path)
    finder.add_argument("--data", required=True, metavar="SPEC", help="training set")
    finder.add_argument("--batch-size", type=int, default=64)
    finder.add_argument("--steps", type=int, default=100, help="batches, each at a larger learning rate")
    finder.add_argument("--start-lr", type=float, default=1e-7)
    finder.add_argument("--end-lr", type=float, default=10.0)
    finder.add_argument("--device", default="cpu")
    finder.add_argument("--seed", type=int, default=0)
    finder.add_argument("--fit", action="store_true", help="fit the network's input and class count to the data first")
    finder.add_argument("--download", action="store_true", help="download torchvision datasets if missing")


def _add_inspect_command(commands, data_spec_help: str) -> None:
    inspect = commands.add_parser("inspect", help="draw what a node gives for one sample, or a convolution's "
                                                  "kernels, as a PNG", epilog=f"SPEC: {data_spec_help}")
    inspect.add_argument("network", type=Path, metavar="RUN_DIR|NET.json",
                         help="a run folder (its network, best weights and normalisation), or a network file "
                              "(with --weights, else its untrained random weights)")
    inspect.add_argument("--weights", type=Path, help="weights file")
    inspect.add_argument("--node", required=True, help="the node's name, as the designer shows it")
    inspect.add_argument("--sample", type=int, metavar="N", help="the sample of --data to run")
    inspect.add_argument("--data", metavar="SPEC", help="the dataset --sample is taken from")
    inspect.add_argument("--test-mode", action="store_true", help="read the test split of the source")
    inspect.add_argument("--image", type=Path, metavar="FILE", help="an image file to run instead of a sample")
    inspect.add_argument("--filters", action="store_true", help="draw the kernels of --node (a convolution) instead")
    inspect.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png")


def _add_model_and_data_arguments(command) -> None:
    """The trained model and the data of `evaluate` and `embed` (see _trained_model and _data)."""
    command.add_argument("network", type=Path, metavar="RUN_DIR|NET.json",
                         help="a run folder (its network, best weights and normalisation), or a network file")
    command.add_argument("--weights", type=Path, help="weights file (needed with a network file)")
    command.add_argument("--data", required=True, metavar="SPEC")
    command.add_argument("--test-mode", action="store_true", help="read the test split of the source")
    command.add_argument("--part", choices=["all", "validation", "train"], default="all",
                         help="with a run folder that kept a validation split of --data: its validation rows or "
                              "its training rows, drawn again as the run drew them (default: all rows)")


def _add_embed_command(commands, data_spec_help: str) -> None:
    from pytorchgui.core.training.embedding import MAX_SAMPLES, METHODS

    embed = commands.add_parser("embed", help="the features feeding the classifier, projected to 2-D: a PNG of the "
                                              "points coloured by class, or a CSV", epilog=f"SPEC: {data_spec_help}")
    _add_model_and_data_arguments(embed)
    embed.add_argument("--node", metavar="NAME", help="project this node's output (default: the input of the last "
                                                      "Linear node, the features the classifier reads)")
    embed.add_argument("--method", choices=list(METHODS), default="pca",
                       help="pca (at once), tsne, or umap (pip install pytorchgui[embedding])")
    embed.add_argument("--samples", type=int, default=MAX_SAMPLES, metavar="N",
                       help=f"at most N samples, a fixed random subset of a larger set (default {MAX_SAMPLES:,})")
    embed.add_argument("--batch-size", type=int, default=256)
    embed.add_argument("--device", default="cpu")
    embed.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png|OUT.csv",
                       help="a PNG of the points, or a CSV of index,x,y,true,predicted")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from pytorchgui.core.machine import keep_freed_memory_for_reuse

    keep_freed_memory_for_reuse()  # before any thread allocates: the window's and the CLI's steps alike
    arguments = _parser().parse_args(argv)
    arguments.argv = argv
    if arguments.command is None:
        from pytorchgui.app import main as run_app

        return run_app()
    from pytorchgui.core.errors import PyTorchGUIError, first_line

    try:
        code = {"validate": validate, "train": train, "evaluate": evaluate, "export": export,
                "lr-find": lr_find, "estimate": estimate, "import": import_model,
                "inspect": inspect, "embed": embed, "sweep": sweep}[arguments.command](arguments)
        sys.stdout.flush()  # a reader gone is found here, where it is handled, not at exit
        return code
    except PyTorchGUIError as error:
        print(f"pytorchgui {arguments.command}: {error}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print(f"pytorchgui {arguments.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`pytorchgui evaluate ... | head`): nothing is wrong
        _silence_stdout()
        return BROKEN_PIPE
    except Exception as error:  # noqa: BLE001 - a bug: logged with its traceback, said in one line
        from pytorchgui.bug_log import log_bug, log_file

        log_bug(error, f"pytorchgui {arguments.command} {' '.join(argv or sys.argv[1:])}")
        print(f"pytorchgui {arguments.command}: internal error (a bug in PyTorchGUI): {type(error).__name__}: "
              f"{first_line(error)}; the details are in {log_file()}",
              file=sys.stderr)
        return BUG


def _silence_stdout() -> None:
    """Standard output to /dev/null, so that Python's flush at exit does not find the closed
    pipe again and print its own traceback."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a file (a test's capture): nothing to flush at exit
        pass


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def validate(arguments) -> int:
    from pytorchgui.core.training import network_format
    from pytorchgui.core.errors import NetworkFormatError
    from pytorchgui.core.graph.shapes import describe_shape, infer_shapes, step_problems, summary_rows

    network = network_format.load(arguments.network)
    shape = None
    if arguments.input_shape:
        try:
            shape = [int(v) for v in arguments.input_shape.replace("x", ",").split(",") if v.strip()]
        except ValueError:
            raise NetworkFormatError(f"--input-shape {arguments.input_shape!r} is not a shape such as 1,28,28") from None
    report = infer_shapes(network, shape)
    rows = [[row["node"], row["type"], row["output_shape"],
             "?" if row["parameters"] is None else f"{row['parameters']:,}"] for row in summary_rows(network, report)]
    print(_table(rows, ["node", "type", "output shape", "parameters"]))
    if len(report.outputs) > 1:
        gives = "outputs " + ", ".join(f"{name} {describe_shape(report.output_shape_of(name))}"
                                       for name in report.outputs)
    else:
        gives = f"output {describe_shape(report.output_shape)}"
    print(f"\n{len(network)} nodes, {report.total_parameters:,} parameters, {gives}")
    refused = report.problems + step_problems(network, report)
    for problem in refused:
        print(f"problem: {problem.message}")
    for problem in network.training_problems():
        print(f"note: {problem.message}")
    return 1 if refused else 0


def train(arguments) -> int:
    from pytorchgui.core.training.distributed import distributed_context
    from pytorchgui.core.training.trainer import Trainer
    from pytorchgui.core.data.samples import sample_noun
    from pytorchgui.core.wording import counted

    network, config = _network_and_config(arguments)
    context = distributed_context(config.device)
    data, validation = _training_data(arguments, network, config, context.main)
    on_event = _progress_printer(config, show_bars=context.main and not arguments.quiet,
                                 samples=f"{sample_noun(data)}s")
    result = Trainer(network, data, config, validation_set=validation, run_dir=arguments.out, on_event=on_event,
                     resume_from=arguments.resume).run()
    if context.main:
        print(f"{result.status} after {counted(result.epochs_done, 'epoch')}; run folder {arguments.out}",
              file=sys.stderr)
    return 0


def _network_and_config(arguments, says: bool = True):
    """The network file and the training options: its recipe under the flags given."""
    from pytorchgui.core.training import network_format
    from pytorchgui.core.training.distributed import distributed_context
    from pytorchgui.core.training.options import TrainingConfig, config_from_arguments

    network = network_format.load(arguments.network)
    recipe = network.recipe if network.recipe and not arguments.no_recipe else None
    config = config_from_arguments(arguments, TrainingConfig.from_dict(recipe) if recipe else None)
    if says and distributed_context(config.device).main and recipe:
        print(f"recipe: the network's training options ({', '.join(sorted(recipe))}); options given here win; "
              "--no-recipe ignores it", file=sys.stderr)
    return network, config


def _training_data(arguments, network, config, says: bool = True):
    """The training set and the validation set (--test, or --val-split of the data), read as
    `train` reads them; with --fit, the network fitted to the data. `says`: print the notes."""
    from pytorchgui.core.data.named_inputs import load_for_network
    from pytorchgui.core.data.fit import fit_to_data, unfit_reason
    from pytorchgui.core.data.sequences import with_tokenizer
    from pytorchgui.core.wording import counted

    data = load_for_network(arguments.data, network, train=True, download=arguments.download)
    validation = None
    if arguments.test:
        validation = with_tokenizer(load_for_network(arguments.test, network, train=False, download=arguments.download),
                                    getattr(data, "tokenizer", None))  # text: the training vocabulary
    elif arguments.val_split:
        split_seed = config.seed if arguments.split_seed is None else arguments.split_seed
        data, validation = data.split(arguments.val_split, split_seed)
        if arguments.val_split < 1 and says:  # 0.25 meant as a quarter kept 0.25 %: one sample of 569
            percent = arguments.val_split
            kept = counted(len(validation), "sample")
            print(f"{arguments.command}: --val-split is a percentage: {percent:g} keeps {percent:g} % ({kept}) for "
                  f"validation; for a fraction of {percent:g} give --val-split {percent * 100:g}", file=sys.stderr)
    for dataset in (data, validation) if says else ():
        for note in getattr(dataset, "notes", ()) if dataset is not None else ():
            print(f"data: {dataset.name}: {note}", file=sys.stderr)
    if arguments.fit:
        changes = fit_to_data(network, data)
        unfit = unfit_reason(network, data)
        for change in changes + ([f"the network still does not fit {data.name}: {unfit}"] if unfit else []):
            if says:
                print(f"fit: {change}", file=sys.stderr)
    return data, validation


def sweep(arguments) -> int:
    """Check the space before any trial, write the experiment folder, then run trials in this
    process (--jobs 1) or in --jobs processes; print the best trial as one JSON line."""
    from pytorchgui.core.training.sweeps import (OBJECTIVES, Experiment, SearchSpace, SweepWorker, best_trial,
                                                 check_objective, load_study, read_space_file, write_trials_csv)

    if arguments.jobs < 1:
        raise _sweep_error("--jobs must be 1 or more")
    network, config = _network_and_config(arguments, says=not arguments.worker)
    data, validation = _training_data(arguments, network, config, says=not arguments.worker)
    classification = getattr(data, "num_classes", None) is not None
    objective = arguments.objective or ("validation_accuracy" if classification else "validation_loss")
    if validation is None and objective.startswith("validation") and not arguments.objective:
        objective = "train_accuracy" if classification else "train_loss"
    raw_space = read_space_file(arguments.space)
    space = SearchSpace.parse(raw_space, network, config, str(arguments.space))
    experiment = Experiment(arguments.out, data=arguments.data, test=arguments.test, val_split=arguments.val_split,
                            split_seed=arguments.split_seed, space=raw_space, config=config.to_dict(),
                            objective=objective, direction=OBJECTIVES[objective], sampler=arguments.sampler,
                            pruner=arguments.pruner, trials=arguments.trials, storage=arguments.storage,
                            study=arguments.study or "", seed=arguments.sampler_seed)
    check_objective(experiment, validation is not None, classification)
    if experiment.budget(space) is None and arguments.timeout is None:
        raise _sweep_error("give --trials N or --timeout SECONDS: the sweep needs a budget")
    if not arguments.worker:
        experiment.create(network)
        load_study(experiment)  # the study made once here, before the processes race to make it
        budget = experiment.budget(space)
        print(f"sweep: {', '.join(d.describe() for d in space.dimensions)}; {experiment.sampler} sampler, "
              f"{experiment.pruner} pruner, {experiment.objective} ({experiment.direction}); "
              f"{budget if budget is not None else 'as many'} trials into {arguments.out}", file=sys.stderr)
    if arguments.jobs > 1:
        _run_sweep_processes(arguments, config)
    else:
        worker = SweepWorker(experiment, data, validation, on_trial=_trial_printer(experiment.objective))
        with _stopped_on_terminate(worker.control):
            worker.run(arguments.timeout)
        if worker.control.cancelled:
            print("sweep: stopped; the same command resumes it", file=sys.stderr)
    if arguments.worker:
        return 0
    study = load_study(experiment)
    write_trials_csv(experiment, study, space)
    best = best_trial(experiment, study)
    if best is None:
        raise _sweep_error(f"no trial finished; see {arguments.out / Experiment.TRIALS} and the trials' run folders")
    print(json.dumps(best), flush=True)
    return 0


def _sweep_error(message: str):
    from pytorchgui.core.training.sweeps import SweepError

    return SweepError(message)


def _trial_printer(objective: str):
    from pytorchgui.core.training.sweeps import values_text
    from pytorchgui.core.wording import counted

    states = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed"}

    def said(event) -> None:
        figure = "" if event.value is None else f", {objective} {event.value:.4f}"
        why = f" ({event.message})" if event.message and event.state != "PRUNED" else ""  # pruned: said already
        print(f"trial {event.number} {states[event.state]} after {counted(event.epochs, 'epoch')}{figure}: "
              f"{values_text(event.values)}{why}", file=sys.stderr, flush=True)

    return said


@contextlib.contextmanager
def _stopped_on_terminate(control):
    """SIGTERM (Stop in the window, a cluster's scheduler) stops the sweep between batches:
    the running trial is marked failed, the finished ones stay."""
    import signal

    previous = signal.signal(signal.SIGTERM, lambda *_: control.stop())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_sweep_processes(arguments, config) -> None:
    """--jobs N: N worker processes on the same experiment, each with its share of the CPU
    threads (or its own GPU), started with this command's own flags."""
    import signal
    import subprocess

    import torch

    jobs, argv = arguments.jobs, list(arguments.argv)
    gpus = torch.cuda.device_count() if config.device.startswith("cuda") else 0
    threads = config.threads or max(1, (os.cpu_count() or 1) // jobs)
    children = []
    for index in range(jobs):
        extra = ["--jobs", "1", "--worker"]
        extra += ["--device", f"cuda:{index % gpus}"] if gpus else ["--threads", str(threads)]
        children.append(subprocess.Popen([sys.executable, "-m", "pytorchgui", *argv, *extra]))

    def forward(signal_number, _frame) -> None:
        for child in children:
            child.send_signal(signal_number)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        codes = [child.wait() for child in children]
    except KeyboardInterrupt:  # Ctrl+C reached the children too (one process group): wait for them
        codes = [child.wait() for child in children]
    finally:
        signal.signal(signal.SIGTERM, previous)
    failed = [code for code in codes if code not in (0, None)]
    if failed:
        print(f"sweep: {len(failed)} of {jobs} worker processes ended with an error (codes "
              f"{', '.join(map(str, failed))})", file=sys.stderr)


def import_model(arguments) -> int:
    from pytorchgui.core.training import network_format
    from pytorchgui.core.atomic import atomic_write
    from pytorchgui.core.errors import PyTorchGUIError
    from pytorchgui.core.interop.importers import convert_weights, download_weights, import_torchvision, read_state_dict
    from pytorchgui.core.training.runs import torch_bytes
    from pytorchgui.core.wording import counted

    if arguments.model.lower().endswith(".onnx"):
        return _import_onnx(arguments)
    kind, _, name = arguments.model.partition(":")
    if kind not in ("torchvision", "timm") or not name:
        raise PyTorchGUIError(f"{arguments.model!r}: give torchvision:NAME (such as torchvision:resnet18), timm:NAME "
                              "(such as timm:resnet50) or an .onnx file")
    given = arguments.weights is not None or arguments.pretrained
    if given != (arguments.weights_out is not None) or (arguments.weights is not None and arguments.pretrained):
        raise PyTorchGUIError("--weights-out goes with one of --weights FILE or --pretrained: where the weights come "
                              "from and where they go")
    if kind == "timm":
        from pytorchgui.core.interop.timm_import import import_timm

        imported, converted = import_timm(name, pretrained=arguments.pretrained)
        if arguments.weights is not None:
            converted = convert_weights(imported, read_state_dict(arguments.weights), source=str(arguments.weights))
    else:
        imported, converted = import_torchvision(name), None
        if given:
            state = read_state_dict(arguments.weights) if arguments.weights else download_weights(name, progress=True)
            converted = convert_weights(imported, state,
                                        source=str(arguments.weights or f"{name}'s pretrained weights"))
    network_format.save(imported.network, arguments.output)
    if converted is None and imported.own_weights is not None:  # constants the JSON cannot carry
        converted, arguments.weights_out = imported.own_weights, arguments.output.with_name(
            f"{arguments.output.stem}_weights.pt")
        held = sorted(imported.constants)
        imported.notes.append(f"{counted(len(held), 'node')} ({', '.join(held[:3])}{', …' if len(held) > 3 else ''}) "
                              f"hold constants a network file cannot carry: they are in {arguments.weights_out} with "
                              f"the model's random weights; train with --initial-weights {arguments.weights_out}")
    if converted is not None:
        atomic_write(arguments.weights_out, lambda stream: stream.write(torch_bytes(converted)))
    for note in imported.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"imported {kind}:{name} (input {'x'.join(map(str, imported.network.input_spec.shape))}): "
          f"{len(imported.network)} nodes into {arguments.output}"
          + (f", weights into {arguments.weights_out}" if converted is not None else ""), file=sys.stderr)
    return 0


def _import_onnx(arguments) -> int:
    from pytorchgui.core.training import network_format
    from pytorchgui.core.atomic import atomic_write
    from pytorchgui.core.interop.onnx_import import import_onnx
    from pytorchgui.core.training.runs import torch_bytes

    network, weights = import_onnx(arguments.model)
    network_format.save(network, arguments.output)
    if arguments.weights_out is not None:
        atomic_write(arguments.weights_out, lambda stream: stream.write(torch_bytes(weights)))
    print(f"imported {arguments.model}: {len(network)} nodes into {arguments.output}"
          + (f", weights into {arguments.weights_out}" if arguments.weights_out else ""), file=sys.stderr)
    return 0


def estimate(arguments) -> int:
    import json

    from pytorchgui.core.training import network_format
    from pytorchgui.core.errors import TrainingError
    from pytorchgui.core.training.memory import (available_memory, convolutions_in_channels_last, describe,
                                        estimate_training_memory)

    if arguments.batch_size < 1:
        raise TrainingError(f"--batch-size {arguments.batch_size}: give at least 1")
    network = network_format.load(arguments.network)
    result = estimate_training_memory(network, arguments.batch_size, bf16=arguments.bf16, device=arguments.device,
                                      channels_last=arguments.channels_last)
    memory = available_memory(arguments.device)
    report = {**result.to_dict(), "device": arguments.device, "bf16": arguments.bf16,
              "channels_last": convolutions_in_channels_last(network, arguments.channels_last),
              "free": memory[0] if memory else None, "device_total": memory[1] if memory else None,
              "largest_batch": result.largest_batch(memory[0]) if memory else None,
              "fits": result.total <= memory[0] if memory else None,
              "summary": describe(result, arguments.device, memory)}
    print(json.dumps(report))
    return 0


def lr_find(arguments) -> int:
    import json

    from pytorchgui.core.training import network_format
    from pytorchgui.core.data.data_source import load_spec
    from pytorchgui.core.data.fit import fit_to_data
    from pytorchgui.core.training.lr_finder import find_learning_rate

    network = network_format.load(arguments.network)
    data = load_spec(arguments.data, train=True, download=arguments.download)
    if arguments.fit:
        for change in fit_to_data(network, data):
            print(f"fit: {change}", file=sys.stderr)
    curve = find_learning_rate(network, data, batch_size=arguments.batch_size, steps=arguments.steps,
                               start_lr=arguments.start_lr, end_lr=arguments.end_lr, device=arguments.device,
                               seed=arguments.seed)
    print(json.dumps(curve.to_dict()))
    if curve.message:
        print(f"pytorchgui lr-find: {curve.message}", file=sys.stderr)
    return 0


def _progress_printer(config, show_bars: bool, samples: str = "samples"):
    """The CLI's view of a run: tqdm bars on stderr (with `samples` per second: images, rows,
    ...), a JSON line per epoch on stdout."""
    from tqdm import tqdm

    from pytorchgui.core.training.trainer import BatchEvent, EpochEvent, LogEvent

    bar = None

    def on_event(event) -> None:
        nonlocal bar
        if isinstance(event, LogEvent):
            print(event.message, file=sys.stderr)
        elif isinstance(event, BatchEvent) and show_bars:
            if bar is None:
                bar = tqdm(total=event.batches, desc=f"epoch {event.epoch}/{config.epochs}", unit="batch",
                           file=sys.stderr, leave=False)
            bar.update(len(event.losses) or 1)
            bar.set_postfix({"loss": f"{event.loss:.4f}", f"{samples}/s": f"{event.samples_per_second:,.0f}"})
        elif isinstance(event, EpochEvent):
            if bar is not None:
                bar.close()
                bar = None
            figures = {"epoch": event.epoch, "train_loss": event.train_loss, "train_accuracy": event.train_accuracy,
                       "validation_loss": event.validation_loss, "validation_accuracy": event.validation_accuracy,
                       "learning_rate": event.learning_rate, "seconds": round(event.seconds, 3),
                       **event.output_losses}
            print(json.dumps({key: _finite_or_none(value) for key, value in figures.items()}), flush=True)

    return on_event


def _finite_or_none(value):
    """JSON has no NaN: a figure that is not finite is printed as null."""
    import math

    return None if isinstance(value, float) and not math.isfinite(value) else value


def _trained_model(arguments):
    """The trained model a run folder names, or a network file with --weights (and the
    config.json beside them, or --normalization's)."""
    from pytorchgui.core.training.runs import RunFolderError
    from pytorchgui.core.training.trained_model import open_trained_model

    if arguments.network.is_dir():
        return open_trained_model(arguments.network, weights=arguments.weights)
    if arguments.weights is None:
        raise RunFolderError(f"{arguments.network} is a network file: give its weights with --weights FILE, or "
                             "name the run folder instead")
    return open_trained_model(arguments.weights, network=arguments.network,
                              config_file=getattr(arguments, "normalization", None))


def _data(arguments, trained):
    """The data --data names (its test split with --test-mode, a run's --part of it), read
    as the trained model reads them (a text network: with its tokenizer; several inputs: by name)."""
    from pytorchgui.core.data.named_inputs import load_for_network
    from pytorchgui.core.data.sequences import with_tokenizer

    data = with_tokenizer(load_for_network(arguments.data, trained.network, train=not arguments.test_mode),
                          trained.tokenizer)
    if arguments.part != "all":
        return trained.split_part(data, arguments.part)
    split = trained.split_of(data)
    if split is not None:
        print(f"note: {trained.name} trained on {100 - split['percent']:g} % of {data.name} and validated on the "
              f"rest; every row is measured here: --part validation measures only the rows it did not train on",
              file=sys.stderr)
    return data


def evaluate(arguments) -> int:
    from pytorchgui.core.training.metrics import evaluate as measure

    trained = _trained_model(arguments)
    data = _data(arguments, trained)
    output = arguments.output
    trained.check_data(data, output)
    result = measure(trained.model, trained.data_for_output(data, output), trained.normalization_for(data),
                     loss=trained.loss_for(data, output=output), batch_size=arguments.batch_size,
                     device=arguments.device, target_normalization=trained.target_normalization,
                     output_index=trained.output_index(output))
    if not arguments.json:
        measured = f"output '{trained.outputs[trained.output_index(output)]}' of " if len(trained.outputs) > 1 else ""
        print(f"measured {measured}{trained.name} ({trained.weights.name if trained.weights else 'in memory'}) on "
              f"{data.name}")
    _write_curves(arguments, result, data.name)
    if arguments.json:
        report = result.to_json()
        if arguments.no_curves:
            report.pop("curves", None)
        print(json.dumps(report))
        return 0
    for key, value in result.summary().items():
        print(f"{key:>14}: {value:.4f}" if isinstance(value, float) else f"{key:>14}: {value}")
    if result.classes is not None:
        rows = [[row["name"], f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", row["support"]]
                for row in result.report_rows()]
        print()
        print(_table(rows, ["class", "precision", "recall", "f1", "support"]))
    return 0


def _write_curves(arguments, result, dataset_name: str) -> None:
    """The curves into --curves DIR, or by default into the run folder evaluated; where
    they went (or why there are none) on stderr, so that --json's output stays JSON."""
    from pytorchgui.core.training.runs import RunFolder

    folder = arguments.curves
    if folder is None and arguments.network.is_dir():
        folder = RunFolder(arguments.network).evaluation_folder(dataset_name)
    if folder is None or arguments.no_curves:
        return
    if result.is_regression:
        if arguments.curves is not None:
            print("no curves: ROC, precision-recall and calibration curves are for classification, and these "
                  "weights predict a numeric target", file=sys.stderr)
        return
    written = result.curves().write(folder)
    print(f"wrote the curves to {folder}: {', '.join(path.name for path in written)}", file=sys.stderr)


def export(arguments) -> int:
    from pytorchgui.core.training import network_format
    from pytorchgui.core.interop.export import export as write

    if arguments.network.is_dir() or arguments.weights is not None:
        trained = _trained_model(arguments)
        weights = None if arguments.format == "python" else trained.weights
        normalization, target = (None, None) if arguments.no_normalization else (trained.normalization,
                                                                                   trained.target_normalization)
        write(trained.network, arguments.format, arguments.output, weights, normalization, target)
    else:
        write(network_format.load(arguments.network), arguments.format, arguments.output)
    print(f"wrote {arguments.output}", file=sys.stderr)
    return 0


def inspect(arguments) -> int:
    from pytorchgui.core.training import inspection

    trained = _inspected_model(arguments)
    if arguments.filters:
        inspection.save_filters_figure(inspection.convolution_filters(trained.model, arguments.node), arguments.output)
    else:
        output = inspection.node_output(trained.model, _inspected_input(arguments, trained), arguments.node)
        inspection.save_node_output_figure(output, arguments.output)
        print(f"{output.node}: {output.kind} {output.shape}, {output.statistics.describe()}")
    print(f"wrote {arguments.output}", file=sys.stderr)
    return 0


def _inspected_model(arguments):
    """The trained model, or a network file's untrained network (random weights, said so)."""
    if arguments.network.is_dir() or arguments.weights is not None:
        return _trained_model(arguments)
    from pytorchgui.core.graph.compiler import compile_network
    from pytorchgui.core.training import network_format
    from pytorchgui.core.training.trained_model import TrainedModel

    network = network_format.load(arguments.network)
    print(f"{arguments.network.name} has no --weights: its untrained, random weights are shown", file=sys.stderr)
    return TrainedModel(f"{arguments.network.name} (untrained)", network, compile_network(network), None, None, None)


def _inspected_input(arguments, trained):
    """The batch of one --sample of --data or --image makes, normalised as in training."""
    from pytorchgui.core.training import inspection
    from pytorchgui.core.training.metrics import EvaluationError, model_input, prepare_image

    if arguments.image is not None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(arguments.image) as image:
                sample, _inverted = prepare_image(image, trained.input_shape, trained.normalization)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise EvaluationError(f"{arguments.image} is not a readable image ({error})") from None
        return model_input(trained.model, sample, trained.normalization)
    if arguments.sample is None or arguments.data is None:
        raise EvaluationError("say what to run: --sample N --data SPEC, or --image FILE (or --filters for a "
                              "convolution's kernels)")
    from pytorchgui.core.data.data_source import load_spec
    from pytorchgui.core.data.sequences import with_tokenizer

    data = with_tokenizer(load_spec(arguments.data, train=not arguments.test_mode), trained.tokenizer)
    trained.check_data(data)
    return inspection.sample_batch(data, inspection.raw_sample(data, arguments.sample), trained.normalization_for(data))


def embed(arguments) -> int:
    from pytorchgui.core.training.embedding import EmbeddingError, Projecting, embed as project_features
    from pytorchgui.core.training.tasks import TaskControl

    suffix = arguments.output.suffix.lower()
    if suffix not in (".png", ".csv"):
        raise EmbeddingError(f"-o {arguments.output}: give a .png (the points drawn) or a .csv (their coordinates)")
    if arguments.samples < 3:
        raise EmbeddingError(f"--samples {arguments.samples}: give at least 3")
    trained = _trained_model(arguments)
    data = _data(arguments, trained)

    def said(event) -> None:
        if isinstance(event, Projecting):
            print(f"projecting {event.samples:,} samples of {event.features:,} values with {event.method}",
                  file=sys.stderr)

    result = project_features(trained, data, arguments.node, arguments.method, samples=arguments.samples,
                              batch_size=arguments.batch_size, device=arguments.device, control=TaskControl(said))
    if suffix == ".png":
        result.save_png(arguments.output)
    else:
        result.to_csv(arguments.output)
    print(f"{result.title()}: gathered in {result.seconds_gathering:.1f} s, projected in "
          f"{result.seconds_projecting:.1f} s; wrote {arguments.output}", file=sys.stderr)
    return 0

"""Sweeps on Optuna: the space and its messages, a trial's network and options, the
`pytorchgui sweep` command, resuming, and two processes sharing one study."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.training import network_format
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.training.sweeps import Experiment, SearchSpace, SweepError, load_study

LENET = str(paths.example_networks_dir() / "lenet5.json")
SPACE = {"lr": {"low": 1e-4, "high": 1e-1, "log": True}, "batch_size": {"choices": [32, 64]},
         "conv1.out_channels": {"low": 4, "high": 12, "step": 4}}
# tiny and fast: one thread, no auto-measurement, a few batches
QUICK = ["--data", "builtin:160", "--test", "builtin:60", "--epochs", "2", "--threads", "1", "--quiet"]


@pytest.fixture
def lenet():
    return network_format.load(LENET)


def parse(raw, network, config=None):
    return SearchSpace.parse(raw, network, config or TrainingConfig())


def test_a_space_names_options_optimizer_and_node_parameters(lenet):
    space = parse(SPACE, lenet)
    kinds = {d.name: (d.kind, d.target, d.parameter) for d in space.dimensions}
    assert kinds == {"lr": ("optimizer", "Adam", "lr"), "batch_size": ("option", "", "batch_size"),
                     "conv1.out_channels": ("node", "conv1", "out_channels")}
    with pytest.raises(SweepError, match="a grid needs"):
        space.grid()
    stepped = parse({"batch_size": {"choices": [32, 64]}, "conv1.out_channels": {"low": 4, "high": 12, "step": 4}},
                    lenet)
    assert stepped.grid() == {"batch_size": [32, 64], "conv1.out_channels": [4, 8, 12]}
    assert stepped.grid_size() == 6


@pytest.mark.parametrize("raw, message", [
    ({"learning_rate": {"low": 0.1, "high": 1}}, "'learning_rate' is no training option or parameter of the "
                                                  "optimizer; sweep one of: epochs, batch_size"),
    ({"device": {"choices": ["cpu"]}}, "says where trials run"),
    ({"conv9.out_channels": {"low": 1, "high": 4}}, "the network has no node 'conv9'"),
    ({"conv1.width": {"low": 1, "high": 4}}, "Conv2d has no parameter 'width'"),
    ({"conv1.out_channels": {"low": 0, "high": 8}}, "low 0 is refused"),
    ({"batch_size": {"low": 64, "high": 32}}, "low 64 must be below high 32"),
    ({"lr": {"low": 0, "high": 0.1, "log": True}}, "a log range must start above 0"),
    ({"lr": {"low": 0.001, "high": 0.1, "log": True, "step": 0.01}}, "either log or stepped"),
    ({"batch_size": {"choices": [32, 0]}}, "choice 0 is refused"),
    ({"batch_size": {"low": 32}}, "needs \"low\" and \"high\""),
    ({"mixed_precision": {"low": 0, "high": 1}}, "is true or false: give its values as \"choices\""),
    ({"batch_size": {"low": 16, "high": 64, "step": 1.5}}, "its step must be one too"),
    ({"conv1.out_channels": {"low": 3, "high": 12, "step": 2}}, "3 to 12 is not a whole number of steps of 2: "
                                                                 "end it at 11 or 13"),
    ({"loss.label_smoothing": {"low": 0.0, "high": 0.25, "step": 0.1}}, "end it at 0.2 or 0.3"),
    ({"batch_size": {"choices": [32, 64], "low": 8}}, "either \"choices\" or a range"),
    ({"schedule.gamma": {"low": 0.1, "high": 0.9}}, "no learning-rate schedule"),
    ({"augment.RandomCrop.padding": {"low": 1, "high": 4}}, "add RandomCrop to --augment first"),
    ([1, 2], "must be a JSON object"),
])
def test_a_refused_space_names_the_entry_and_what_to_write(lenet, raw, message):
    with pytest.raises(SweepError) as caught:
        parse(raw, lenet)
    assert message in str(caught.value)


def test_a_trials_values_make_its_network_and_options(lenet):
    config = TrainingConfig(augmentation="RandomCrop(padding=2)", lr_schedule="StepLR")
    space = parse({**SPACE, "augment.RandomCrop.padding": {"low": 1, "high": 4}, "schedule.gamma": {"low": 0.1,
                   "high": 0.9}, "loss.label_smoothing": {"low": 0.0, "high": 0.2}}, lenet, config)
    network, trial_config = space.apply({"lr": 0.02, "batch_size": 32, "conv1.out_channels": 12,
                                         "augment.RandomCrop.padding": 3, "schedule.gamma": 0.5,
                                         "loss.label_smoothing": 0.1}, lenet, config)
    assert network.optimizer.parameters["lr"] == 0.02
    assert network.node("conv1").parameters["out_channels"] == 12
    assert network.node("conv2").parameters["in_channels"] == 12  # the next layer follows
    assert network.loss.parameters["label_smoothing"] == 0.1
    assert (trial_config.batch_size, trial_config.augmentation) == (32, "RandomCrop(padding=3)")
    assert trial_config.schedule_parameters["gamma"] == 0.5
    assert lenet.node("conv1").parameters["out_channels"] == 6 and lenet.optimizer.parameters["lr"] == 0.001


def run(capsys, *arguments):
    code = main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


def test_sweep_writes_trial_run_folders_trials_csv_and_the_best_as_json(capsys, tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    out = tmp_path / "experiment"
    arguments = ["sweep", LENET, *QUICK, "--space", str(space), "--trials", "3", "--pruner", "none", "--out", str(out)]
    code, stdout, stderr = run(capsys, *arguments)
    assert code == 0, stderr
    best = json.loads(stdout.strip().splitlines()[-1])
    with open(out / "trials.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["number"] for row in rows] == ["0", "1", "2"]
    assert {row["state"] for row in rows} == {"COMPLETE"}
    assert list(rows[0]) == ["number", "state", "lr", "batch_size", "conv1.out_channels", "validation_accuracy",
                             "epochs", "seconds", "run"]
    accuracies = [float(row["validation_accuracy"]) for row in rows]
    assert best["validation_accuracy"] == max(accuracies)
    assert best["params"] == {key: type(best["params"][key])(rows[best["trial"]][key]) for key in SPACE}
    for row in rows:  # each trial is an ordinary run folder, its network carrying its values
        trial_network = network_format.load(os.path.join(row["run"], "network.json"))
        assert trial_network.node("conv1").parameters["out_channels"] == int(row["conv1.out_channels"])
        assert json.loads(open(os.path.join(row["run"], "summary.json")).read())["status"] == "finished"
    assert stderr.count("trial ") >= 3
    assert _evaluated(capsys, best["run"], "builtin:60")["accuracy"] == pytest.approx(best["validation_accuracy"])
    # the same command again: the budget is spent, nothing runs, the same best is printed
    code, stdout_again, _ = run(capsys, *arguments)
    assert code == 0 and json.loads(stdout_again.strip().splitlines()[-1])["trial"] == best["trial"]
    assert len(list((out / "trials").iterdir())) == 3
    # a larger budget resumes the study: one more trial
    code, _, _ = run(capsys, *[a if a != "3" else "4" for a in arguments])
    assert code == 0 and len(list(csv.DictReader(open(out / "trials.csv")))) == 4
    # another space on the same folder is refused before any trial
    space.write_text(json.dumps({"batch_size": {"choices": [16, 32]}}))
    code, _, stderr = run(capsys, *arguments)
    assert code == 2 and "holds another sweep (space differ)" in stderr


def _evaluated(capsys, run_folder, test_spec: str) -> dict:
    code, stdout, stderr = run(capsys, "evaluate", str(run_folder), "--data", test_spec, "--test-mode", "--json",
                               "--no-curves")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert "curves" not in report  # --no-curves: none in the report either
    return report["summary"]


def test_best_weights_follow_the_figure_the_trainer_is_told_to_keep_by(capsys, tmp_path, lenet):
    """A sweep's trial keeps the weights of its best epoch by the objective, so that `evaluate`
    of the trial measures what the objective said (it kept the lowest validation loss's: a
    wine trial scored 100 % as the objective and 97.7 % in evaluate). Told to keep the lowest
    accuracy, the trainer keeps the first epoch's weights, whose loss is the highest."""
    from pytorchgui.core.data.data_source import DataSource
    from pytorchgui.core.training.trainer import Trainer

    train, test = DataSource("builtin", samples=300).load(True), DataSource("builtin", samples=100).load(False)
    config = TrainingConfig(epochs=3, batch_size=32, threads=1)
    for higher_is_better in (True, False):
        folder = tmp_path / f"higher-is-better-{higher_is_better}"
        trainer = Trainer(lenet, train, config, validation_set=test, run_dir=folder,
                          keep_best_by=("validation_accuracy", higher_is_better))
        assert trainer.run().status == "finished"
        figures = [(row["validation_accuracy"], row["validation_loss"]) for row in trainer.history]
        # the first epoch with the best accuracy
        expected = (max if higher_is_better else min)(figures, key=lambda figure: figure[0])
        measured = _evaluated(capsys, folder, "builtin:100")
        assert (measured["accuracy"], measured["loss"]) == pytest.approx(expected, abs=1e-6), (keep_best_by, figures)
    assert expected != min(figures, key=lambda figure: figure[1])  # not what the lowest loss would have kept


def test_a_bad_space_is_refused_before_any_trial(capsys, tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"batch_size": {"low": 4, "high": 99999}}))
    code, _, stderr = run(capsys, "sweep", LENET, *QUICK, "--space", str(space), "--trials", "2",
                          "--out", str(tmp_path / "e"))
    assert code == 2 and f"{space}: 'batch_size': high 99999 is refused" in stderr
    assert not (tmp_path / "e").exists()
    code, _, stderr = run(capsys, "sweep", LENET, "--data", "builtin:100", "--space", str(tmp_path / "none.json"),
                          "--trials", "2", "--out", str(tmp_path / "e"))
    assert code == 2 and "none.json does not exist" in stderr


def test_pruning_stops_a_trial_and_says_so_in_its_run_folder(tmp_path, lenet):
    """lr 1e-5 learns nothing in an epoch; after three trials at lr 0.01 (queued in the
    study, so the order is known), the median pruner stops it after its first epoch."""
    from pytorchgui.core.data.data_source import load_spec
    from pytorchgui.core.training.sweeps import SweepWorker

    config = TrainingConfig(epochs=3, threads=1)
    experiment = Experiment(tmp_path / "e", data="builtin:160", test="builtin:60", config=config.to_dict(),
                            space={"lr": {"low": 1e-6, "high": 0.1, "log": True}}, trials=4)
    experiment.create(lenet)
    study = load_study(experiment)
    for lr in (0.01, 0.011, 0.012, 1e-5):
        study.enqueue_trial({"lr": lr})
    said = []
    SweepWorker(experiment, load_spec("builtin:160"), load_spec("builtin:60", train=False),
                on_trial=said.append).run()
    assert [(event.state, event.epochs) for event in said] == [("COMPLETE", 3)] * 3 + [("PRUNED", 1)]
    rows = list(csv.DictReader(open(experiment.folder / "trials.csv")))
    assert [row["state"] for row in rows] == ["COMPLETE"] * 3 + ["PRUNED"] and rows[3]["epochs"] == "1"
    summary = json.loads(open(os.path.join(rows[3]["run"], "summary.json")).read())
    assert summary["status"] == "pruned" and "median pruner" in summary["message"]
    assert float(rows[3]["validation_accuracy"]) < min(float(row["validation_accuracy"]) for row in rows[:3])


def test_a_sweep_whose_trials_all_fail_stops_and_says_why(capsys, tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"conv1.kernel_size": {"choices": [29, 30, 31, 32, 33]}}))  # larger than 28 x 28
    code, _, stderr = run(capsys, "sweep", LENET, *QUICK, "--space", str(space), "--trials", "20",
                          "--out", str(tmp_path / "e"))
    assert code == 2
    assert "5 trials in a row failed (the last: the network does not compile: Conv2d 'conv2'" in stderr
    assert "change the space or the options" in stderr


def _training_trial_of(folder, pid):
    """The trial process `pid` is training now (its run folder started), or None."""
    import optuna

    if not (folder / Experiment.EXPERIMENT).exists():
        return None
    study = load_study(Experiment.read(folder))
    running = [t for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)) if t.user_attrs.get("pid") == pid]
    return next((t for t in running if os.path.exists(os.path.join(t.user_attrs["run"], "config.json"))), None)


def test_processes_share_one_study_and_a_killed_one_resumes(tmp_path):
    """A `pytorchgui sweep` process and a `--jobs 2` one (two workers) on one store finish 12
    trials between them; the first is killed (SIGKILL) mid-trial and started again: its
    trial is marked failed, none is lost or run twice."""
    import optuna

    space = tmp_path / "space.json"
    space.write_text(json.dumps({"lr": {"low": 1e-3, "high": 1e-2, "log": True}}))
    out = tmp_path / "e"
    # trials of about a second, so that every process still finds some when it has started
    command = [sys.executable, "-m", "pytorchgui", "sweep", LENET, "--data", "builtin:600", "--epochs", "2",
               "--threads", "1", "--quiet", "--space", str(space), "--trials", "12", "--pruner", "none",
               "--objective", "train_loss", "--storage", f"sqlite:///{tmp_path / 'shared.db'}", "--study", "shared",
               "--out", str(out)]
    environment = {**os.environ, "PYTORCHGUI_NO_LAYER_FIGURE": "1"}
    started = [subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
    first = started[0]
    deadline = time.monotonic() + 60
    while _training_trial_of(out, first.pid) is None:
        assert first.poll() is None, first.communicate()[1].decode()
        assert time.monotonic() < deadline, "the first process never ran a trial"
        time.sleep(0.05)
    for arguments in ([*command, "--jobs", "2"], command):  # the second sweep, then the killed one again
        if arguments is command:
            first.send_signal(signal.SIGKILL)
            first.wait()
        started.append(subprocess.Popen(arguments, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    second, again = started[1:]
    for process in (second, again):
        _, error = process.communicate(timeout=180)
        assert process.returncode == 0, error
    rows = list(csv.DictReader(open(out / "trials.csv")))
    states = [row["state"] for row in rows]
    assert states.count("COMPLETE") == 12 and states.count("FAIL") == 1, states
    assert sorted(int(row["number"]) for row in rows) == list(range(13))
    assert len({row["run"] for row in rows}) == 13
    killed = next(row for row in rows if row["state"] == "FAIL")
    summary = json.loads(open(os.path.join(killed["run"], "summary.json")).read())
    assert summary["status"] == "failed" and f"its process ({first.pid}) ended during the trial" in summary["message"]
    workers = {trial.user_attrs["pid"] for trial in load_study(Experiment.read(out)).get_trials(
        states=(optuna.trial.TrialState.COMPLETE,))}
    # the first process trains in itself (it may finish a trial before the kill); --jobs 2 trains in its workers
    assert second.pid not in workers
    assert workers - {first.pid, again.pid}, "no trial ran in --jobs 2's workers"


def test_workers_and_restarts_draw_other_trials_and_a_new_sweep_the_same_ones(tmp_path, lenet):
    """Each trial's sampler is seeded by its number: a second worker, or the sweep run again,
    does not repeat the first one's trials; the same sweep made again draws the same ones."""
    from pytorchgui.core.training.sweeps import _sampler

    def first_values(folder, trials=1):
        experiment = Experiment(folder, data="builtin:60", config=TrainingConfig(epochs=1).to_dict(),
                                space={"lr": {"low": 1e-4, "high": 0.1, "log": True}}, objective="train_loss",
                                direction="minimize", trials=trials)
        experiment.create(lenet)
        study = load_study(experiment)
        values = []
        for _ in range(3):  # three processes' samplers in turn, as the worker makes them
            study.sampler = _sampler(experiment, experiment.search_space(), len(study.trials))
            trial = study.ask()
            values.append(experiment.search_space().suggest(trial)["lr"])
            study.tell(trial, 1.0)
        return values

    values = first_values(tmp_path / "a")
    assert len(set(values)) == 3
    assert first_values(tmp_path / "b") == values


def test_a_stopped_sweep_marks_the_running_trial_failed_and_keeps_the_finished_ones(tmp_path, lenet):
    """Stop (the window's button, SIGTERM) during a trial: that trial fails, the worker ends,
    the finished trials stay; running the sweep again takes the next trial."""
    from pytorchgui.core.data.data_source import load_spec
    from pytorchgui.core.training.sweeps import SweepWorker
    from pytorchgui.core.training.trainer import EpochEvent

    experiment = Experiment(tmp_path / "e", data="builtin:120", config=TrainingConfig(epochs=2, threads=1).to_dict(),
                            space={"lr": {"low": 1e-3, "high": 1e-2, "log": True}}, objective="train_loss",
                            direction="minimize", pruner="none", trials=3)
    experiment.create(lenet)
    data = load_spec("builtin:120")
    epochs = []

    def stop_in_the_second_trial(event):
        if isinstance(event, EpochEvent):
            epochs.append(event.epoch)
            if len(epochs) == 3:  # the second trial's first epoch
                worker.control.stop()

    worker = SweepWorker(experiment, data, None, on_event=stop_in_the_second_trial)
    assert worker.run() == 1
    rows = list(csv.DictReader(open(experiment.folder / "trials.csv")))
    assert [row["state"] for row in rows] == ["COMPLETE", "FAIL"]
    assert rows[1]["train_loss"] == ""  # it reported an epoch, but a failed trial has no result
    assert SweepWorker(experiment, data, None).run() == 2
    states = [row["state"] for row in csv.DictReader(open(experiment.folder / "trials.csv"))]
    assert states == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]


def test_trial_folders_are_found_from_another_working_folder(tmp_path, lenet, monkeypatch):
    """`pytorchgui sweep --out exp` in one folder, the window opening it from another: the
    trials' run folders (curves, Open trial) are still found."""
    from pytorchgui.core.data.data_source import load_spec
    from pytorchgui.core.training.sweeps import SweepWorker, best_trial, trial_rows

    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    experiment = Experiment(Path("exp"), data="builtin:60", config=TrainingConfig(epochs=1, threads=1).to_dict(),
                            space={"lr": {"choices": [0.01]}}, objective="train_loss", direction="minimize", trials=1)
    experiment.create(lenet)
    SweepWorker(experiment, load_spec("builtin:60"), None).run()
    monkeypatch.chdir(tmp_path)
    opened = Experiment.read(tmp_path / "here" / "exp")
    study = load_study(opened)
    assert Path(trial_rows(opened, study, opened.search_space())[0]["run"]).is_dir()
    assert Path(best_trial(opened, study)["run"]).is_dir()

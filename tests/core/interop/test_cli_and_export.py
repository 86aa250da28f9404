"""The command line, the exports, and distributed training with torchrun (gloo, 2 CPU processes)."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.export import ExportError, export, python_source

EXAMPLES = ["mlp", "lenet5", "small_cnn", "small_resnet", "lstm_sequences", "transformer_sequences", "mnist_record"]
LENET = str(paths.example_networks_dir() / "lenet5.json")


def run(capsys, *arguments):
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_prints_the_summary_and_problems(capsys):
    code, out, _ = run(capsys, "validate", LENET)
    assert code == 0 and "conv1    Conv2d     [6, 28, 28]" in out and "61,706 parameters, output [10]" in out
    code, out, _ = run(capsys, "validate", str(paths.example_networks_dir() / "legacy_example.json"))
    assert code == 1 and "problem: node 'Layer 1': Conv1d parameter 'in_channels' must be >= 1, got 0" in out
    code, out, _ = run(capsys, "validate", LENET, "--input-shape", "3,32,32")
    assert code == 1 and "expects 1 input channels but gets 3" in out


def test_user_errors_are_one_line_on_stderr(capsys, tmp_path):
    code, out, err = run(capsys, "train", str(tmp_path / "none.json"), "--data", "builtin", "--out", str(tmp_path / "r"))
    assert code == 2 and err.count("\n") == 1 and err.startswith("pytorchgui train: cannot read") and "Traceback" not in err
    code, _, err = run(capsys, "train", LENET, "--data", "nothing:here", "--out", str(tmp_path / "r"))
    assert code == 2 and "'nothing:here' names no dataset" in err
    code, _, err = run(capsys, "evaluate", LENET, "--weights", str(tmp_path / "w.pt"), "--data", "builtin:50")
    assert code == 2 and "no weights file" in err


def test_train_then_evaluate(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "train", LENET, "--data", "builtin:1200", "--test", "builtin:300", "--epochs", "2",
                       "--batch-size", "64", "--out", str(out_dir), "--quiet")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2] and lines[-1]["validation_accuracy"] > 0.2
    for name in ("network.json", "config.json", "metrics.csv", "best_weights.pt", "checkpoint.pt", "summary.json"):
        assert (out_dir / name).is_file()
    code, out, _ = run(capsys, "evaluate", LENET, "--weights", str(out_dir / "best_weights.pt"), "--data",
                       "builtin:300", "--test-mode", "--json")
    report = json.loads(out)
    assert code == 0 and report["summary"]["samples"] == 300
    assert report["summary"]["accuracy"] == pytest.approx(lines[-1]["validation_accuracy"])
    code, out, _ = run(capsys, "evaluate", LENET, "--weights", str(out_dir / "best_weights.pt"), "--data",
                       "builtin:300", "--test-mode")
    assert "accuracy: " in out and "macro average" in out


@pytest.mark.parametrize("name", EXAMPLES)
def test_python_export_runs_like_the_compiled_network(name, tmp_path):
    network = network_format.load(paths.example_networks_dir() / f"{name}.json")
    path = tmp_path / f"{name}.py"
    export(network, "python", path)
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported, compiled = module.Network().eval(), compile_network(network).eval()
    exported.load_state_dict(compiled.state_dict())
    shape = network.input_spec.shape
    x = torch.randint(1, 12, (3, *shape)) if network.input_spec.dtype == "int64" else torch.randn(3, *shape)
    torch.testing.assert_close(exported(x), compiled(x), rtol=0, atol=0)
    assert "class Network(nn.Module):" in path.read_text() and "PyTorchGUI" in path.read_text()


def test_python_export_of_branches_recurrent_and_unpool():
    from pytorchgui.core.graph.network import Network

    network = Network()
    network.set_input([1, 8, 8])
    network.add_node("MaxPool2d", "pool", {"kernel_size": 2}, first_layer=True)
    network.add_node("MaxUnpool2d", "unpool", {"kernel_size": 2})
    network.connect("pool", "unpool")
    source = python_source(network)
    assert "nn.MaxPool2d(kernel_size=2, return_indices=True)" in source
    namespace = {}
    exec(compile(source, "exported", "exec"), namespace)  # noqa: S102 - our own generated code
    x = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(namespace["Network"]()(x), compile_network(network)(x))


def test_pt2_and_onnx_exports_reload_and_agree(tmp_path):
    network = network_format.load(paths.example_networks_dir() / "small_resnet.json")
    compiled = compile_network(network).eval()
    torch.save(compiled.state_dict(), tmp_path / "weights.pt")
    x = torch.randn(4, 3, 32, 32)
    export(network, "pt2", tmp_path / "net.pt2", tmp_path / "weights.pt")
    program = torch.export.load(tmp_path / "net.pt2")
    torch.testing.assert_close(program.module()(x), compiled(x), rtol=1e-5, atol=1e-5)
    onnx = pytest.importorskip("onnx")
    export(network, "onnx", tmp_path / "net.onnx", tmp_path / "weights.pt")
    onnx.checker.check_model(onnx.load(str(tmp_path / "net.onnx")))
    runtime = pytest.importorskip("onnxruntime")
    session = runtime.InferenceSession(str(tmp_path / "net.onnx"))
    output = session.run(None, {"input": x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(output), compiled(x).detach(), rtol=1e-4, atol=1e-4)
    with pytest.raises(ExportError, match="architecture only"):
        export(network, "python", tmp_path / "n.py", tmp_path / "weights.pt")


def test_cli_export(capsys, tmp_path):
    code, _, err = run(capsys, "export", LENET, "--format", "python", "-o", str(tmp_path / "lenet.py"))
    assert code == 0 and (tmp_path / "lenet.py").is_file() and "wrote" in err


def test_distributed_training_with_torchrun_on_two_cpu_processes(tmp_path):
    """2 processes x batch 32 with gloo on loopback = 1 process x batch 64: same accuracy."""
    # one thread each: the automatic choice times both counts in every process first
    common = [LENET, "--data", "builtin:1200", "--test", "builtin:400", "--epochs", "2", "--threads", "1", "--quiet"]
    single = subprocess.run([sys.executable, "-m", "pytorchgui", "train", *common, "--batch-size", "64", "--out",
                             str(tmp_path / "single")], capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    distributed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
         "--master-port", "29517", "-m", "pytorchgui", "train", *common, "--batch-size", "32", "--out",
         str(tmp_path / "ddp")], capture_output=True, text=True, timeout=300)
    assert distributed.returncode == 0, distributed.stderr
    single_last = json.loads(single.stdout.splitlines()[-1])
    ddp_lines = distributed.stdout.splitlines()
    assert len(ddp_lines) == 2  # only rank 0 prints
    ddp_last = json.loads(ddp_lines[-1])
    assert abs(ddp_last["validation_accuracy"] - single_last["validation_accuracy"]) <= 0.005
    for name in ("network.json", "config.json", "metrics.csv", "best_weights.pt", "last_weights.pt", "checkpoint.pt",
                 "summary.json"):
        assert (tmp_path / "ddp" / name).is_file(), name


def test_the_mnist_record_template_trains_with_its_recipe_on_mnist_files(capsys, tmp_path):
    """The template's recipe (OneCycleLR, Affine augmentation, label smoothing in its loss)
    runs from the CLI on files in MNIST's real on-disk format; --epochs wins over the recipe."""
    from tests.data_writers import write_mnist

    root = write_mnist(tmp_path / "mnist", train=200, test=50)
    code, out, err = run(capsys, "train", str(paths.example_networks_dir() / "mnist_record.json"), "--data",
                         f"MNIST:{root}", "--test", f"MNIST:{root}", "--epochs", "2", "--out",
                         str(tmp_path / "run"), "--quiet")
    assert code == 0, err
    assert "augmentation of every training batch: Affine" in err
    training = json.loads((tmp_path / "run" / "config.json").read_text())["training"]
    assert training["augmentation"].startswith("Affine")
    assert (training["epochs"], training["lr_schedule"], training["channels_last"]) == (2, "OneCycleLR", True)
    assert [json.loads(line)["epoch"] for line in out.splitlines()] == [1, 2]


def test_the_gpu_record_script_runs_its_smoke_test_on_the_cpu():
    script = Path(__file__).resolve().parents[3] / "bench" / "bench_gpu_record.py"
    done = subprocess.run([sys.executable, str(script), "--tiny", "--task", "mnist", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "mnist on cpu: 600 training images, batch 512" in done.stdout
    assert "time to 99% test accuracy" in done.stdout or "99% not reached" in done.stdout

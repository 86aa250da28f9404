"""`pytorchgui inspect`: a node's output for one sample, or a convolution's kernels, as a PNG."""
import numpy
import torch
from PIL import Image

from pytorchgui import paths
from pytorchgui.cli import USER_ERROR, main
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import network_format
from tests.data_writers import write_mnist

LENET = paths.example_networks_dir() / "lenet5.json"


def run(capsys, *arguments):
    code = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def picture(path) -> numpy.ndarray:
    with Image.open(path) as image:
        return numpy.asarray(image.convert("RGB"))


def test_inspect_draws_a_run_s_node_for_a_sample_an_image_and_its_kernels(capsys, tmp_path):
    root = write_mnist(tmp_path / "mnist", train=40, test=10)
    code, _out, err = run(capsys, "train", LENET, "--data", f"MNIST:{root}", "--epochs", "1", "--out",
                          tmp_path / "run", "--quiet")
    assert code == 0, err
    code, out, err = run(capsys, "inspect", tmp_path / "run", "--node", "relu1", "--sample", "3", "--data",
                         f"MNIST:{root}", "-o", tmp_path / "relu1.png")
    assert code == 0, err
    assert out.startswith("relu1: feature maps [6, 28, 28], mean ") and "exact zeros" in out
    maps = picture(tmp_path / "relu1.png")
    assert maps.shape[:2] == (700, 800) and len(numpy.unique(maps.reshape(-1, 3), axis=0)) > 50

    Image.fromarray(numpy.full((40, 40), 255, numpy.uint8)).save(tmp_path / "white.png")
    code, out, err = run(capsys, "inspect", tmp_path / "run", "--node", "fc3", "--image", tmp_path / "white.png",
                         "-o", tmp_path / "fc3.png")
    assert code == 0, err
    assert out.startswith("fc3: vector [10]") and picture(tmp_path / "fc3.png").shape[:2] == (500, 800)

    code, _out, err = run(capsys, "inspect", tmp_path / "run", "--node", "conv1", "--filters", "-o",
                          tmp_path / "kernels.png")
    assert code == 0, err
    assert "wrote" in err and picture(tmp_path / "kernels.png").shape[:2] == (700, 700)


def test_inspect_a_network_file_with_weights_or_untrained(capsys, tmp_path):
    torch.manual_seed(0)
    torch.save(compile_network(network_format.load(LENET)).state_dict(), tmp_path / "weights.pt")
    code, _out, err = run(capsys, "inspect", LENET, "--weights", tmp_path / "weights.pt", "--node", "conv2",
                          "--sample", "0", "--data", "builtin:100", "-o", tmp_path / "conv2.png")
    assert code == 0, err
    code, out, err = run(capsys, "inspect", LENET, "--node", "pool2", "--sample", "0", "--data", "builtin:100",
                         "-o", tmp_path / "untrained.png")
    assert code == 0, err
    assert "lenet5.json has no --weights: its untrained, random weights are shown" in err
    assert (tmp_path / "untrained.png").is_file()


def test_inspect_refuses_a_bad_node_naming_near_ones_and_a_missing_sample(capsys, tmp_path):
    code, _out, err = run(capsys, "inspect", LENET, "--node", "conv_1", "--sample", "0", "--data", "builtin:100",
                          "-o", tmp_path / "x.png")
    assert code == USER_ERROR
    assert "pytorchgui inspect: the network has no node 'conv_1': did you mean conv1, conv2" in err
    assert not (tmp_path / "x.png").exists()
    code, _out, err = run(capsys, "inspect", LENET, "--node", "fc1", "--filters", "-o", tmp_path / "x.png")
    assert code == USER_ERROR and "fc1 is not a convolution: choose one of conv1, conv2" in err
    code, _out, err = run(capsys, "inspect", LENET, "--node", "conv1", "-o", tmp_path / "x.png")
    assert code == USER_ERROR and "say what to run: --sample N --data SPEC, or --image FILE" in err

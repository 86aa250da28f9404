"""A frozen network without trained weights trains to chance (issue 29, misleading results
3): mobilenet_v3_small imported offline, "Freeze all but the last layer", one epoch:
10.8 %. Before a run, the frozen nodes that nothing loads weights into are named, with
how to get their weights; the CLI says it on stderr."""
import torch

from data_writers import write_image_folder
from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.data.fit import freeze_all_but_last
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.importers import import_torchvision
from pytorchgui.core.training import network_format
from pytorchgui.core.training.trainer import frozen_at_random, frozen_at_random_warning


def test_an_imported_model_frozen_without_its_weights_is_named_and_with_them_is_not(tmp_path):
    imported = import_torchvision("mobilenet_v3_small")  # offline: no pretrained weights
    network = imported.network
    frozen = freeze_all_but_last(network)
    assert len(frozen) > 40
    assert frozen_at_random(network) == frozen  # every one of them still holds its random start
    weights = tmp_path / "weights.pt"
    torch.save(compile_network(network).state_dict(), weights)  # as the import converts pretrained weights
    assert frozen_at_random(network, str(weights)) == []
    warning = frozen_at_random_warning(frozen)
    assert warning.startswith(f"{len(frozen)} frozen nodes ({', '.join(frozen[:3])} and {len(frozen) - 3} more) keep "
                              "the random values they start with")
    assert "near chance" in warning and "File > Import model (torchvision, timm)…, tick its pretrained weights" in warning
    assert "Start from weights" in warning and "--initial-weights" in warning


def test_the_cli_warns_on_stderr_before_the_first_epoch(tmp_path, capsys):
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    freeze_all_but_last(network)
    network_format.save(network, tmp_path / "frozen.json")
    folder = write_image_folder(tmp_path / "digits", classes=("a", "b"), per_class=4, size=(28, 28), mode="L")
    assert main(["train", str(tmp_path / "frozen.json"), "--data", f"folder:{folder}", "--epochs", "1",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: 4 frozen nodes (conv1, conv2, fc1 and 1 more) keep the random values they start with" in err
    assert err.index("warning: 4 frozen nodes") < err.index("finished after 1 epoch")
    torch.save(torch.load(tmp_path / "run" / "best_weights.pt", weights_only=True), tmp_path / "trained.pt")
    assert main(["train", str(tmp_path / "frozen.json"), "--data", f"folder:{folder}", "--epochs", "1",
                 "--initial-weights", str(tmp_path / "trained.pt"), "--out", str(tmp_path / "run2"), "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err

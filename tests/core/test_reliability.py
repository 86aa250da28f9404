"""Every error a user can cause is the project's own error, with a message: network files
that are hostile or fuzzed, networks that cannot train, data and memory that do not fit."""
import json
import os
import time

import numpy
import pytest
import torch

from data_writers import write_image_folder
from network_fuzz import run_campaign
from pytorchgui import paths
from pytorchgui.cli import main
from pytorchgui.core.training import network_format
from pytorchgui.core.graph.catalog import default_catalog
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.data.data_source import builtin_pair, load_spec
from pytorchgui.core.data.datasets import DatasetError
from pytorchgui.core.errors import NetworkError, NetworkFormatError
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes
from pytorchgui.core.training.trainer import Trainer, TrainingConfig, TrainingError

LENET = paths.example_networks_dir() / "lenet5.json"


@pytest.fixture(scope="module")
def shapes():
    train, _ = builtin_pair(256, 64)
    return train


def chain(*nodes, shape=(1, 28, 28)):
    network = Network()
    names = [f"n{index}" for index in range(len(nodes))]
    for index, (type_name, parameters) in enumerate(nodes):
        network.add_node(type_name, names[index], parameters, first_layer=index == 0, strict=False,
                         next_layers=names[index + 1:index + 2])
    network.set_input(list(shape))
    network.set_loss("CrossEntropyLoss")
    network.set_optimizer("Adam")
    return network


def problems(network):
    return " | ".join(problem.message for problem in infer_shapes(network).problems)


def test_fuzzed_network_files_raise_only_the_projects_errors(tmp_path):
    catalog = default_catalog()
    types = [entry.name for database in (catalog.layers, catalog.activations) for entry in database]
    outcomes, failures = run_campaign(900, seed=2026, examples_dir=paths.example_networks_dir(), work=tmp_path,
                                      catalogue_types=types)
    assert failures == [], failures[:3]  # none uncaught, and none accepted by validate that then fails to train
    assert outcomes.get("valid and trains", 0) > 30 and outcomes.get("problems reported", 0) > 100  # it reaches far


def document(**changes):
    data = json.loads(LENET.read_text())
    if "$input" in changes:  # the one input as version 3 wrote it, instead of the file's "$inputs"
        del data["$inputs"]
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.mark.parametrize("change, message", [
    ({"$input": {"shape": [1, 4611686018427387904], "dtype": "float32"}}, "values per sample a network here can take"),
    ({"$input": {"shape": [1, 10**400], "dtype": "float32"}}, "of 2 sizes has more than"),
    ({"$optimizer": {"type": "Adam", "parameters": {"lr": 10**400}}}, "'lr' must be a number"),
    ({"conv1": {"type": "Conv2d", "parameters": {"in_channels": 1, "out_channels": 6, "kernel_size": 5},
                "nextLayer": "relu1", "firstLayer": True, "position": [10**400, 0]}}, "position must be [x, y]"),
    ({"output\ud800": {"type": "ReLU"}}, "holds a lone surrogate character"),
    ({"conv1": {"type": "Conv2d", "parameters": {"in_channels": 1, "out_channels": 6, "kernel_size": 5,
                                                 "padding": [0, 28, 28]}, "nextLayer": "relu1", "firstLayer": True}},
     "'padding' must be"),
])
def test_hostile_values_are_refused_on_load(tmp_path, change, message):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(document(**change)), encoding="utf-8")
    try:
        network = network_format.load(path)
    except NetworkFormatError as error:
        assert message in str(error)
        return
    assert message in problems(network)


def test_a_lone_surrogate_cannot_name_a_node():
    with pytest.raises(NetworkError, match="cannot name a node"):
        Network().add_node("ReLU", "output\ud800")


@pytest.mark.parametrize("name", ["forward", "train", "parameters", "_modules", "to", "x", "self"])
def test_nodes_named_like_module_attributes_compile_and_train(shapes, name):
    network = network_format.load(LENET)
    network.rename_node("fc3", name)
    model = compile_network(network)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    result = Trainer(network, shapes, TrainingConfig(epochs=1, batch_size=64)).run()
    assert result.status == "finished"


def test_torch_assertions_are_problems_of_the_node():
    hardtanh = chain(("Flatten", {}), ("Hardtanh", {"min_val": 1e30, "max_val": 1.0}),
                     ("Linear", {"in_features": "auto", "out_features": 10}))
    assert "Hardtanh 'n1' cannot be built with these parameters: max_val (1.0) must be greater" in problems(hardtanh)
    attention = chain(("Flatten", {}), ("Linear", {"in_features": "auto", "out_features": 6}),
                      ("MultiheadAttention", {"embed_dim": "auto", "num_heads": 4}))
    assert "embed_dim must be divisible by num_heads" in problems(attention)


def test_too_many_parameters_in_all_is_a_problem():
    layers = [("Flatten", {})] + [("Linear", {"in_features": "auto", "out_features": 20000})] * 12
    assert "parameters in all; PyTorchGUI builds networks of up to 1,000,000,000" in problems(chain(*layers))


def test_networks_that_cannot_train_say_what_to_change(shapes):
    with pytest.raises(TrainingError, match="the network has no parameters to train: add a layer with weights"):
        Trainer(chain(("Flatten", {})), shapes, TrainingConfig(epochs=1)).run()
    no_flatten = chain(("Linear", {"in_features": "auto", "out_features": 10}))
    assert infer_shapes(no_flatten).ok
    with pytest.raises(TrainingError, match=r"the network's output is \[1, 28, 10\] per sample, but classifying "
                                            r"Shapes \(train\) needs one score per class \(\[10\]\): add a Flatten"):
        Trainer(no_flatten, shapes, TrainingConfig(epochs=1)).run()


def test_activations_larger_than_memory_are_refused_before_training(shapes):
    huge = chain(("Upsample", {"scale_factor": 700.0}), ("Conv2d", {"in_channels": 1, "out_channels": 1,
                                                                      "kernel_size": 1}),
                 ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
                 ("Linear", {"in_features": 1, "out_features": 10}))
    assert infer_shapes(huge).activation_values > 10**8
    with pytest.raises(TrainingError, match=r"a step at batch size 128 needs about .* GB but RAM has .* free: "
                                            r"choose (a batch size of at most \d+|a smaller network)"):
        Trainer(huge, shapes, TrainingConfig(epochs=1, batch_size=128)).run()


def test_the_cpu_running_out_of_memory_is_a_message_like_the_gpus(shapes, monkeypatch):
    network = network_format.load(LENET)

    def refuse(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 196689920000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(torch.optim.Adam, "step", refuse)
    with pytest.raises(TrainingError, match="memory ran out of memory at batch size 64: try 32, or a smaller network"):
        Trainer(network, shapes, TrainingConfig(epochs=1, batch_size=64)).run()


def test_memory_running_short_in_the_optimizers_probe_is_not_remembered_as_its_settings(monkeypatch):
    """The probe step that checks an optimizer's settings ran out of memory (above: Adam's
    step refused), and that outcome was remembered: every later Adam network in the process
    "ran out of memory at batch size 64" (44 tests of one pytest-xdist worker)."""
    from pytorchgui.core.graph import shapes

    def refuse(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 196689920000 bytes")

    entry, values = default_catalog().optimizers.get("Adam"), {"lr": 0.000123}  # settings no other test checks
    monkeypatch.setattr(torch.optim.Adam, "step", refuse)
    assert shapes._optimizer_settings_problem(entry, values) == ""
    assert (entry.name, entry.source, shapes._freeze(values)) not in shapes._SETTINGS_CHECKED


def test_validate_reports_instead_of_crashing(capsys, tmp_path):
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(document(**{"$input": {"shape": [1, 4611686018427387904], "dtype": "float32"}})))
    assert main(["validate", str(path)]) == 2  # the file itself is refused: a user error, one line
    err = capsys.readouterr().err
    assert "values per sample a network here can take" in err and err.count("\n") == 1



@pytest.mark.parametrize("arrays, message", [
    ({"x": numpy.float32(1.0), "y": numpy.int64(0)}, "must hold one row per sample"),
    ({"x": numpy.zeros((4, 3), "float32"), "y": numpy.array([0, 1, -3, 1])}, "the label -3 is negative"),
    ({"x": numpy.zeros((2, 3), "float32"), "y": numpy.array([0, 2**40])}, "would make 1,099,511,627,777 classes"),
])
def test_tensor_files_whose_labels_cannot_be_classes(tmp_path, arrays, message):
    numpy.savez(tmp_path / "data.npz", **arrays)
    with pytest.raises(DatasetError, match=message):
        load_spec(str(tmp_path / "data.npz"))


def test_a_truncated_npz_is_named(tmp_path):
    numpy.savez(tmp_path / "data.npz", x=numpy.zeros((50, 3)), y=numpy.zeros(50, "int64"))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "data.npz").read_bytes()[:300])
    with pytest.raises(DatasetError, match="cut.npz is not a readable .npz file"):
        load_spec(str(tmp_path / "cut.npz"))


def test_a_decompression_bomb_is_named(tmp_path, monkeypatch):
    from PIL import Image

    write_image_folder(tmp_path / "pics", size=(100, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 100x100 image now looks like a 20000x20000 one
    with pytest.raises(DatasetError, match=r"\.png is not a readable image \(Image size .* could be decompression"):
        load_spec(f"folder:{tmp_path / 'pics'}")


def test_a_single_class_is_refused_for_training(tmp_path):
    folder = write_image_folder(tmp_path / "cats", classes=("cat",), size=(28, 28), mode="L")
    with pytest.raises(TrainingError, match=r"has one class only \(cat\): a classifier learns nothing"):
        Trainer(network_format.load(LENET), load_spec(f"folder:{folder}"), TrainingConfig(epochs=1)).run()


@pytest.mark.parametrize("damage, message", [
    (lambda c: c.pop("generator"), "its generator state is missing or damaged"),
    (lambda c: c.update(generator=torch.zeros(7, dtype=torch.uint8)), "its generator state is missing or damaged"),
    (lambda c: c.update(model=torch.zeros(3)), "its model is not a set of named tensors"),
    (lambda c: c.update(epoch="one"), "its epoch is 'one', not a whole number"),
    (lambda c: c.update(optimizer={"state": {}, "param_groups": [{"params": [0]}]}),
     "its optimizer or schedule state is damaged"),
])
def test_a_damaged_checkpoint_cannot_be_resumed_and_says_why(shapes, tmp_path, damage, message):
    from pytorchgui.core.training.runs import load_checkpoint

    network = network_format.load(LENET)
    Trainer(network, shapes, TrainingConfig(epochs=1, batch_size=64), run_dir=tmp_path / "run").run()
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    damage(checkpoint)
    torch.save(checkpoint, tmp_path / "damaged.pt")
    with pytest.raises(TrainingError, match=f"damaged.pt cannot be resumed: {message}"):
        Trainer(network, shapes, TrainingConfig(epochs=2, batch_size=64), resume_from=tmp_path / "damaged.pt").run()


@pytest.mark.parametrize("explode", ["validation", "weights"])
def test_an_exploded_epoch_is_not_saved_as_the_last_good_checkpoint(shapes, tmp_path, monkeypatch, explode):
    from pytorchgui.core.training import trainer as training
    from pytorchgui.core.training.runs import load_checkpoint

    network = network_format.load(LENET)
    run = tmp_path / "run"
    Trainer(network, shapes, TrainingConfig(epochs=1, batch_size=64), run_dir=run).run()
    good = (run / "checkpoint.pt").read_bytes()
    if explode == "validation":
        monkeypatch.setattr(training, "evaluate_loss", lambda *args: (float("nan"), 0.1))
    else:
        original, steps = torch.optim.Adam.step, []

        def step(self, *args, **kwargs):  # the last step of the epoch blows conv1's weights up
            result = original(self, *args, **kwargs)
            if self.param_groups[0]["params"][0].dim() > 1:  # the network's (not the memory estimate's probe)
                steps.append(1)
            if len(steps) == len(shapes) // 64:
                self.param_groups[0]["params"][0].data.fill_(float("inf"))
            return result

        monkeypatch.setattr(torch.optim.Adam, "step", step)
    expected = "the validation loss became nan" if explode == "validation" else "the weights of conv1 are no longer"
    with pytest.raises(TrainingError, match=f"{expected} .*at the end of epoch 2: training stopped"):
        Trainer(network, shapes, TrainingConfig(epochs=3, batch_size=64), run_dir=run, validation_set=shapes,
                resume_from=run / "checkpoint.pt").run()
    assert (run / "checkpoint.pt").read_bytes() == good and load_checkpoint(run / "checkpoint.pt")["epoch"] == 1


def export_lenet(capsys, target):
    code = main(["export", str(LENET), "--format", "python", "-o", str(target)])
    return code, capsys.readouterr().err


def test_exports_into_places_that_cannot_take_them_are_one_line(capsys, tmp_path, monkeypatch):
    import errno
    import os

    code, err = export_lenet(capsys, tmp_path / "missing" / "net.py")
    assert code == 2 and "the folder" in err and "does not exist" in err and err.count("\n") == 1
    (tmp_path / "folder.py").mkdir()
    code, err = export_lenet(capsys, tmp_path / "folder.py")
    assert code == 2 and "it is a folder" in err
    locked = tmp_path / "locked.py"
    locked.write_text("mine")
    locked.chmod(0o444)
    code, err = export_lenet(capsys, locked)
    assert code == 2 and "the file is read-only" in err and locked.read_text() == "mine"

    def full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    kept = tmp_path / "kept.py"
    kept.write_text("old")
    code, err = export_lenet(capsys, kept)
    assert code == 2 and "cannot save to" in err and "No space left on device" in err and "[Errno" not in err
    assert kept.read_text() == "old" and [p.name for p in tmp_path.glob(".kept.py.*")] == []


def test_a_file_size_limit_is_a_message(tmp_path):
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    result = subprocess.run([sys.executable, "-m", "pytorchgui", "export", str(LENET), "--format", "python", "-o",
                             str(tmp_path / "net.py")], preexec_fn=limit, capture_output=True, text=True)
    assert result.returncode == 2 and "cannot save to" in result.stderr and "Traceback" not in result.stderr


def test_saving_through_a_symbolic_link_keeps_the_link(tmp_path):
    real = tmp_path / "networks" / "lenet.json"
    real.parent.mkdir()
    real.write_text("{}")
    link = tmp_path / "lenet.json"
    link.symlink_to(real)
    network_format.save(network_format.load(LENET), link)
    assert link.is_symlink() and network_format.load(real).nodes.keys() == network_format.load(LENET).nodes.keys()


def test_a_bug_is_exit_3_with_one_line_and_its_traceback_in_the_log(capsys, monkeypatch):
    from pytorchgui import cli
    from pytorchgui.bug_log import log_file

    def broken(arguments):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "validate", broken)
    assert main(["validate", str(LENET)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("pytorchgui validate: internal error (a bug in PyTorchGUI): ZeroDivisionError")
    assert err.count("\n") == 1 and log_file() in err
    text = open(log_file(), encoding="utf-8").read()
    assert "Traceback" in text and "in broken" in text


def test_output_piped_into_a_reader_that_stops_early_is_no_bug():
    """`pytorchgui evaluate RUN --json | head -c 100`: the pipe closes before the report is
    written; that ended in "internal error (a bug in PyTorchGUI): BrokenPipeError", exit 3.
    Now it ends quietly, as a program stopped by SIGPIPE does."""
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    try:
        finished = subprocess.run([sys.executable, "-m", "pytorchgui", "validate", str(LENET)], stdout=write_end,
                                  stderr=subprocess.PIPE, check=False)
    finally:
        os.close(write_end)
    assert (finished.returncode, finished.stderr.decode()) == (141, "")


def test_regression_data_fits_one_output_and_a_mismatch_is_refused(tmp_path):
    from data_writers import write_csv
    from pytorchgui.core.data.fit import fit_to_dataset

    table = load_spec(f"csv:{write_csv(tmp_path / 't.csv')}?target=weight&task=regression")
    network = network_format.load(paths.example_networks_dir() / "mlp.json")
    network.set_loss("MSELoss")
    network.set_optimizer("Adam", {"lr": 0.01})  # the targets are not scaled: 10 to 50
    with pytest.raises(TrainingError, match=r"gives 10 value\(s\) per sample but t.csv has 1 target\(s\) per sample: "
                                            r"set the last Linear's out_features to 1"):
        fit_to_dataset(network, table.sample_shape)  # the input only, as a user who set it by hand
        Trainer(network, table, TrainingConfig(epochs=1, batch_size=2)).run()
    assert "'output' out_features 10 -> 1" in fit_to_dataset(network, table.sample_shape, table.output_size)
    assert Trainer(network, table, TrainingConfig(epochs=2, batch_size=2)).run().status == "finished"


def test_a_recurrent_node_with_absurd_layers_is_refused_not_built(tmp_path):
    """Found by the fuzz campaign: LSTM num_layers 1e30 built layer after layer for ever."""
    data = json.loads((paths.example_networks_dir() / "lstm_series.json").read_text())
    data["lstm"]["parameters"]["num_layers"] = 1e30
    (tmp_path / "deep.json").write_text(json.dumps(data))
    started = time.perf_counter()
    report = infer_shapes(network_format.load(tmp_path / "deep.json"))  # kept as a problem to fix, not built
    assert "LSTM parameter 'num_layers' must be <= 1000" in report.problems[0].message
    assert time.perf_counter() - started < 5


def _mlp_with_activation(activation: dict):
    document = json.loads((paths.example_networks_dir() / "mlp.json").read_text())
    document["relu"] = {**document["relu"], **activation}
    del document["$inputs"]  # as version 3 wrote the one input, which the tests below change
    document["$input"] = {"shape": [1, 28, 28], "dtype": "float32"}
    return document


@pytest.mark.parametrize("activation, words", [
    ({"type": "Softmax", "parameters": {"dim": 8}}, "out of range"),
    ({"type": "Softmin", "parameters": {"dim": -3}}, "out of range"),
    ({"type": "RReLU", "parameters": {"lower": 0.5, "upper": 0.1, "inplace": False}}, "bound"),
])
def test_an_activation_that_fails_when_it_runs_is_refused_by_validate(tmp_path, capsys, activation, words):
    """The reliability campaign's findings 1 and 2: these passed `validate` and failed in
    `train` with an internal error (exit 3)."""
    path = tmp_path / "net.json"
    path.write_text(json.dumps(_mlp_with_activation(activation)))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr()
    assert "relu" in err.out + err.err and words in (err.out + err.err)
    for good in ({"type": "Softmax", "parameters": {"dim": 1}}, {"type": "ReLU", "parameters": {"inplace": True}}):
        path.write_text(json.dumps(_mlp_with_activation(good)))
        assert main(["validate", str(path)]) == 0, capsys.readouterr().out


def test_an_unknown_key_in_the_input_spec_is_refused(tmp_path):
    """Finding 7: the format is closed-world, $input too."""
    document = _mlp_with_activation({})
    document["$input"] = {"shape": [1, 28, 28], "dtype": "float32", "extra": 1}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(document))
    with pytest.raises(NetworkFormatError, match=r"\$input has no setting 'extra'"):
        network_format.load(path)


@pytest.mark.parametrize("steps", [1_000_000, 50_000])
def test_recurrent_shapes_are_inferred_by_rule_whatever_the_length(tmp_path, steps):
    """Finding 5: validating an LSTM on 1,000,000 time steps ran for minutes, the meta
    device stepping through every time step."""
    network = network_format.load(paths.example_networks_dir() / "lstm_sequences.json")
    started = time.perf_counter()
    report = infer_shapes(network, [steps])
    assert time.perf_counter() - started < 1.0
    assert report.nodes["lstm"].output_shape == (steps, 64)
    assert report.output_shape == (4,)
    bidirectional = chain(("LSTM", {"input_size": 3, "hidden_size": 5, "bidirectional": True, "proj_size": 2}),
                          shape=(steps, 3))
    assert infer_shapes(bidirectional).nodes["n0"].output_shape == (steps, 4)
    wrong = chain(("GRU", {"input_size": 4, "hidden_size": 5}), shape=(steps, 3))
    assert "input.size(-1) must be equal to input_size" in problems(wrong)


def test_integer_input_into_a_layer_that_computes_in_floating_point_is_refused(tmp_path, capsys):
    """Finding 4: an int64 input into a Linear validated (the meta device does not check
    dtypes there) and failed in the first forward pass."""
    document = _mlp_with_activation({})
    document["$input"] = {"shape": [16], "dtype": "int64"}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(document))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "int64" in out and "Embedding" in out
    large = chain(("Flatten", {}), ("Linear", {"in_features": 300 * 300, "out_features": 20}), shape=(300, 300))
    large.set_input([300, 300], "int64")
    assert "int64" in problems(large)  # too large to run for real: the rule says it
    large.set_input([300, 300], "float16")  # found by the 20,000-file campaign, in a convolution
    assert "computes in float32 but gets float16 input" in problems(large)
    embedded = chain(("Embedding", {"num_embeddings": 12, "embedding_dim": 8}), ("Flatten", {}),
                     ("Linear", {"in_features": 128, "out_features": 4}), shape=(16,))
    embedded.set_input([16], "int64")
    assert problems(embedded) == ""


def _trains_one_step(network, data):
    return Trainer(network, data, TrainingConfig(epochs=1, batch_size=len(data))).run().status


@pytest.fixture(scope="module")
def few_images_and_tokens():
    from pytorchgui.core.data.sequences import make_sequences
    return builtin_pair(32, 8)[0], make_sequences(32, seed=0)


@pytest.mark.parametrize("optimizer", [entry.name for entry in default_catalog().optimizers])
def test_every_optimizer_of_the_catalogue_validates_only_what_trains(few_images_and_tokens, tmp_path, capsys,
                                                                   optimizer):
    """Finding 3: Muon validated and then failed in the first step ("Muon only supports 2D
    parameters"). Every optimizer, on a network with convolutions, biases, a norm and hidden
    and output Linear layers, and on embedding networks (dense and sparse): `validate`
    accepts it exactly when a step runs."""
    images, tokens = few_images_and_tokens
    convolutional = chain(("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 5, "stride": 4}),
                          ("BatchNorm2d", {"num_features": 4}), ("ReLU", {}), ("Flatten", {}),
                          ("Linear", {"in_features": 144, "out_features": 16}), ("ReLU", {}),
                          ("Linear", {"in_features": 16, "out_features": 10}))
    for sparse in (False, True, None):
        network = convolutional if sparse is None else chain(
            ("Embedding", {"num_embeddings": 12, "embedding_dim": 4, "sparse": sparse}), ("Flatten", {}),
            ("Linear", {"in_features": 64, "out_features": 16}), ("Linear", {"in_features": 16, "out_features": 4}),
            shape=(16,))
        if sparse is not None:
            network.set_input([16], "int64")
        data = images if sparse is None else tokens
        network.set_optimizer(optimizer)
        path = tmp_path / "net.json"
        network_format.save(network, path)
        accepted = main(["validate", str(path)]) == 0
        out = capsys.readouterr().out
        if accepted:
            assert _trains_one_step(network, data) == "finished", (sparse, out)
        else:
            assert optimizer in out and "sparse" in out, out
            with pytest.raises(TrainingError, match=optimizer):
                _trains_one_step(network, data)


def test_every_path_that_builds_a_network_checks_the_free_memory_first(tmp_path, capsys, monkeypatch):
    """Finding 6: a Linear just under the parameter cap was built (3.2 GB) and 8 GB of
    activations allocated without a look at the memory. Building for real now checks the
    weights and one sample's activations against the free RAM, and says so in one line."""
    from pytorchgui.core import machine
    from pytorchgui.core.errors import GraphError
    from pytorchgui.core.interop.importers import ImportError_, import_torchvision

    wide = chain(("Flatten", {}), ("Linear", {"in_features": 784, "out_features": 20_000}),
                 ("Linear", {"in_features": 20_000, "out_features": 10}))  # 16 million weights: 64 MB
    upsampled = chain(("Upsample", {"scale_factor": 100.0}), ("AdaptiveAvgPool2d", {"output_size": 1}),
                      ("Flatten", {}), ("Linear", {"in_features": 1, "out_features": 10}))  # 31 MB per sample
    compile_network(wide)
    monkeypatch.setattr(machine, "free_ram", lambda: (20 * 2**20, 8 * 2**30))
    for network in (wide, upsampled):
        with pytest.raises(GraphError, match=r"building the network \([\d,]+ weights and one sample's activations\) "
                                             r"needs about [\d.]+ MB but RAM has 20.0 MB free: make its layers smaller"):
            compile_network(network)
    with torch.device("meta"):
        compile_network(wide)  # the meta device allocates nothing: no check
    compile_network(network_format.load(LENET))  # 0.3 MB: fits

    path = tmp_path / "wide.json"
    network_format.save(wide, path)
    assert main(["export", str(path), "--format", "pt2", "-o", str(tmp_path / "wide.pt2")]) == 2
    assert "RAM has 20.0 MB free" in capsys.readouterr().err and not (tmp_path / "wide.pt2").exists()
    assert import_torchvision("resnet18").network  # traced on the meta device: nothing to allocate
    with pytest.raises(ImportError_, match=r"building torchvision's regnet_x_400mf \(5,495,976 weights\) needs about "
                                           r"21.0 MB but RAM has 20.0 MB free"):
        import_torchvision("regnet_x_400mf")  # built for real: RegNets compute their widths with tensors


def test_optimizer_settings_torch_refuses_only_when_it_runs_are_refused_by_validate(tmp_path, capsys):
    """Found by the extended fuzzer: SGD's nesterov without momentum and Adafactor's
    negative eps validated, then failed when the optimizer was made or stepped."""
    for optimizer in ({"type": "SGD", "parameters": {"lr": 0.1, "nesterov": True, "momentum": 0.0}},
                      {"type": "Adafactor", "parameters": {"eps": [None, -1.0]}}):
        document = _mlp_with_activation({})
        document["$optimizer"] = optimizer
        path = tmp_path / "net.json"
        path.write_text(json.dumps(document))
        assert main(["validate", str(path)]) == 1
        assert f"the optimizer {optimizer['type']} cannot run with these settings" in capsys.readouterr().out

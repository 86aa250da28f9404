"""Network files: round trips, the first PyTorchGUI's files, atomic saves, a closed world."""
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorchgui import paths
from pytorchgui.core.training import network_format
from pytorchgui.core.errors import NetworkFormatError
from pytorchgui.core.graph.network import Network
from pytorchgui.core.graph.shapes import infer_shapes

EXAMPLES = sorted(paths.example_networks_dir().glob("*.json"))
LEGACY = Path(__file__).parents[2] / "data" / "legacy_network_example.json"


def test_examples_are_there():
    assert {p.stem for p in EXAMPLES} >= {"mlp", "lenet5", "small_cnn", "small_resnet", "legacy_example"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_round_trip_is_lossless(path, tmp_path):
    network = network_format.load(path)
    saved = tmp_path / "saved.json"
    network_format.save(network, saved)
    again = network_format.load(saved)
    assert again == network
    assert network_format.dumps(again) == saved.read_text()


def test_current_examples_are_saved_in_the_current_format():
    for path in EXAMPLES:
        if path.stem != "legacy_example":
            assert network_format.dumps(network_format.load(path)) == path.read_text(), path


def test_legacy_file_loads_and_reports_each_unset_value():
    network = network_format.load(LEGACY)
    assert list(network.nodes) == ["Layer 1", "Layer 2", "Activation 1"]
    assert network.first_layers == ["Layer 1"]
    assert network.node("Layer 1").next_layers == ["Layer 2"]
    assert network.node("Activation 1").node_class == "activation_function"
    assert network.node("Layer 1").parameters["kernel_size"] == 0
    messages = [p.message for p in network.problems()]
    assert "node 'Layer 1': Conv1d parameter 'in_channels' must be >= 1, got 0" in messages
    assert "node 'Layer 2': Unfold parameter 'kernel_size' must be >= 1, got 0" in messages
    assert not network.topology_problems()


def test_legacy_file_is_migrated_to_the_current_version(tmp_path):
    network = network_format.load(LEGACY)
    document = network_format.to_document(network)
    assert document["$version"] == network_format.FORMAT_VERSION == 4
    assert document["Layer 1"]["nextLayer"] == "Layer 2" and document["Layer 1"]["firstLayer"] is True
    network_format.save(network, tmp_path / "new.json")
    assert network_format.load(tmp_path / "new.json") == network


def test_branches_are_written_as_lists_and_merge_input_order_survives(tmp_path):
    network = network_format.load(paths.example_networks_dir() / "small_resnet.json")
    document = network_format.to_document(network)
    assert document["stem_relu"]["nextLayer"] == ["block1_conv1", "block1_add"]
    assert network.inputs_of("block2_add") == ["block2_bn2", "block2_shortcut_bn"]
    network_format.save(network, tmp_path / "r.json")
    assert network_format.load(tmp_path / "r.json").inputs_of("block2_add") == ["block2_bn2", "block2_shortcut_bn"]


def test_positions_are_saved(tmp_path):
    network = Network()
    network.add_node("ReLU", "a", first_layer=True, position=(12.5, -3.0))
    network_format.save(network, tmp_path / "p.json")
    assert network_format.load(tmp_path / "p.json").node("a").position == (12.5, -3.0)


def test_save_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "net.json"
    target.write_text("original")
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")

    def broken_fsync(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        network_format.save(network, target)
    assert target.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    network = network_format.load(paths.example_networks_dir() / "lenet5.json")
    shared = tmp_path / "shared.json"
    shared.write_text("{}")
    shared.chmod(0o664)
    network_format.save(network, shared)
    assert shared.stat().st_mode & 0o777 == 0o664
    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        export_target = tmp_path / "net.py"
        network_format.save(network, fresh)
        from pytorchgui.core.interop.export import export

        export(network, "python", export_target)
    finally:
        os.umask(previous)
    assert fresh.stat().st_mode & 0o777 == 0o644 and export_target.stat().st_mode & 0o777 == 0o644


@pytest.mark.skipif(os.name != "posix", reason="kills a writer with SIGKILL")
def test_leftovers_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    import signal
    import subprocess
    import sys

    target = tmp_path / "net.json"
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pytorchgui.core.atomic import atomic_write\n"
        "def slow(stream):\n"
        "    stream.write(b'half'); stream.flush(); print('writing', flush=True); time.sleep(60)\n"
        f"atomic_write({str(target)!r}, slow)\n")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    leftovers = list(tmp_path.glob(".net.json.*.tmp"))
    assert len(leftovers) == 1 and not target.exists()
    (tmp_path / ".net.json.abc_12xy.tmp").write_text("left by the first version")
    (tmp_path / ".other.json.99999999.abc.tmp").write_text("another file's")
    network_format.save(network_format.load(paths.example_networks_dir() / "lenet5.json"), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.99999999.abc.tmp", "net.json"]


@pytest.mark.parametrize(
    "document, message",
    [
        ("{", "is not valid JSON (line 1"),
        ("[]", "a network file is a JSON object"),
        ('{"$format": "other"}', "not a PyTorchGUI network file"),
        ('{"$format": "pytorchgui.network", "$version": 5}', "written by a newer PyTorchGUI (format version 5"),
        ('{"$format": "pytorchgui.network", "$version": "2"}', "$version must be a positive whole number"),
        ('{"$version": 2}', "has $version but no $format"),
        ('{"a": {"class": "layer", "type": "os.system"}}', "'os.system' is not a layer or activation"),
        ('{"a": {"class": "layer", "type": "ReLU"}}', "class 'layer' does not fit ReLU"),
        ('{"a": {"type": "ReLU", "parameters": {"inplace": {"__class__": "x"}}}}', "parameter 'inplace' must be"),
        ('{"a": {"type": "ReLU", "parameters": {"colour": 1}}}', "ReLU has no parameter 'colour'"),
        ('{"a": {"type": "ReLU", "code": "import os"}}', "unknown key 'code'"),
        ('{"a": {"type": "ReLU", "nextLayer": 3}}', "nextLayer must be a node name"),
        ('{"a": {"type": "ReLU", "nextLayer": ["b", "b"]}}', "same next layer twice"),
        ('{"a": {"type": "ReLU", "firstLayer": "yes"}}', "firstLayer must be true or false"),
        ('{"a": {"type": "ReLU", "position": [1]}}', "position must be [x, y]"),
        ('{"a": 5}', "node 'a' must be an object"),
        ('{" a": {"type": "ReLU"}}', "cannot name a node"),
        ('{"$format": "pytorchgui.network", "$version": 2, "$loss": {"type": "Fake"}}', "not in the losses"),
        ('{"$format": "pytorchgui.network", "$version": 2, "$optimizer": {"type": "SGD", "parameters": {"lr": -1}}}',
         "'lr' must be >= 0"),
        ('{"$format": "pytorchgui.network", "$version": 2, "$input": {"shape": [0]}}', "positive integers"),
        ('{"$format": "pytorchgui.network", "$version": 2, "$run": 1}', "unknown setting '$run'"),
        ('{"a": {"type": "Linear", "parameters": {"in_features": [[[1]]]}}}', "must be a number"),
    ],
)
def test_bad_documents_name_the_problem(document, message):
    with pytest.raises(NetworkFormatError) as caught:
        network_format.loads(document, source="net.json")
    assert message in str(caught.value)
    assert "net.json" in str(caught.value)


def test_limits_are_checked_before_building(tmp_path):
    too_many = {f"n{i}": {"type": "ReLU"} for i in range(network_format.MAX_NODES + 1)}
    with pytest.raises(NetworkFormatError, match="nodes; PyTorchGUI opens networks of up to"):
        network_format.loads(json.dumps(too_many))
    with pytest.raises(NetworkFormatError, match="nested"):
        network_format.loads("[" * 100000 + "]" * 100000)
    with pytest.raises(NetworkFormatError, match="nested deeper"):
        network_format.loads(json.dumps({"a": {"parameters": {"x": [[[[[[1]]]]]]}}}))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (network_format.MAX_FILE_BYTES + 1))
    with pytest.raises(NetworkFormatError, match="larger than a network file can be"):
        network_format.load(big)
    with pytest.raises(NetworkFormatError, match="cannot read"):
        network_format.load(tmp_path / "missing.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(NetworkFormatError, match="not a text file"):
        network_format.load(tmp_path / "binary.json")


def test_huge_layer_is_refused_without_allocating():
    document = {"fc": {"type": "Linear", "firstLayer": True,
                       "parameters": {"in_features": 10**6, "out_features": 10**6}},
                "$format": "pytorchgui.network", "$version": 2, "$input": {"shape": [10**6]}}
    network = network_format.from_document(document)
    report = infer_shapes(network)
    assert [p.message for p in report.problems] == [
        "Linear 'fc' would have 1,000,001,000,000 parameters; PyTorchGUI builds layers of up to 1,000,000,000: "
        "make it smaller"]


# -- fuzzing: only NetworkFormatError may escape the loader ------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
KEYS = ["class", "type", "parameters", "nextLayer", "firstLayer", "position", "$format", "$version", "$input",
        "$loss", "$optimizer", "in_channels", "kernel_size", "shape", "dtype", "lr"]
TYPES = ["Conv2d", "Linear", "ReLU", "Add", "MaxUnpool2d", "SGD", "CrossEntropyLoss", "Nope", "layer",
         "activation_function", "merge"]


def load_or_format_error(document):
    try:
        network = network_format.from_document(document, source="fuzz.json")
    except NetworkFormatError:
        return
    # A document that loads must also survive checking and a round trip.
    network.problems()
    infer_shapes(network)
    assert network_format.loads(network_format.dumps(network)) == network


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzz_random_documents(document):
    load_or_format_error(document)


def mutate(document, data):
    """Replace, delete or insert values at random places of a valid document."""
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 4))):
        container = document
        path_length = data.draw(st.integers(0, 3))
        for _ in range(path_length):
            if isinstance(container, dict) and container:
                child = container[data.draw(st.sampled_from(sorted(container)))]
                if isinstance(child, (dict, list)):
                    container = child
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if isinstance(container, dict):
            key = data.draw(st.sampled_from(sorted(container) + KEYS)) if container else data.draw(st.sampled_from(KEYS))
            if action == "delete":
                container.pop(key, None)
            else:
                container[key] = data.draw(json_values | st.sampled_from(TYPES))
        elif isinstance(container, list) and container:
            container[data.draw(st.integers(0, len(container) - 1))] = data.draw(json_values)
    return document


VALID = [json.loads(p.read_text()) for p in EXAMPLES]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.data())
def test_fuzz_mutated_examples(document, data):
    load_or_format_error(mutate(document, data))


def test_a_version_2_file_reads_with_every_node_trainable_and_frozen_nodes_round_trip(tmp_path):
    old = network_format.load(Path(__file__).parents[2] / "data" / "lenet5_format_v2.json")
    assert old == network_format.load(paths.example_networks_dir() / "lenet5.json")
    assert all(node.trainable for node in old.nodes.values())
    old.set_trainable("conv1", False)
    network_format.save(old, tmp_path / "frozen.json")
    document = json.loads((tmp_path / "frozen.json").read_text())
    assert document["conv1"]["trainable"] is False and "trainable" not in document["conv2"]
    assert network_format.load(tmp_path / "frozen.json") == old
    document["conv2"]["trainable"] = "no"
    with pytest.raises(NetworkFormatError, match="node 'conv2': trainable must be true or false"):
        network_format.loads(json.dumps(document))


def test_recipe_round_trips_and_is_checked_like_a_run_config(tmp_path):
    network = network_format.load(paths.example_networks_dir() / "lstm_sequences.json")
    assert network.recipe == {"epochs": 15, "batch_size": 64, "seed": 0}
    network.recipe = {"epochs": 4, "augmentation": "RandomCrop(padding=2), MixUp"}
    network_format.save(network, tmp_path / "with_recipe.json")
    assert network_format.load(tmp_path / "with_recipe.json") == network
    document = json.loads((tmp_path / "with_recipe.json").read_text())
    for recipe, message in (({"epochs": 0}, r"\$recipe: Epochs \(--epochs\)"), ({"speed": 3}, "no training option 'speed'"),
                            ({"augmentation": "Blur"}, "'Blur' is not an operation"), ([1], "must be an object")):
        document["$recipe"] = recipe
        (tmp_path / "bad.json").write_text(json.dumps(document))
        with pytest.raises(NetworkFormatError, match=message):
            network_format.load(tmp_path / "bad.json")


def test_a_nan_parameter_is_refused_with_the_node_and_parameter_named():
    # found by the fuzz test: NaN loaded as an invalid value, and a saved copy never equalled it
    document = json.loads((paths.example_networks_dir() / "lenet5.json").read_text())
    document["conv1"]["parameters"]["bias"] = float("nan")
    with pytest.raises(NetworkFormatError, match=r"node 'conv1' parameter 'bias' is NaN \(not a number\): give a number"):
        network_format.loads(json.dumps(document))
    document["conv1"]["parameters"]["bias"] = True
    document["$optimizer"]["parameters"]["betas"] = [0.9, float("nan")]
    with pytest.raises(NetworkFormatError, match=r"parameter 'betas' is NaN"):
        network_format.loads(json.dumps(document))


# -- version 4: named inputs, a loss per output (issue 27 item 2) --------------------------------
V3_MLP = Path(__file__).parents[2] / "data" / "mlp_format_v3.json"


def test_a_version_3_file_migrates_to_one_input_named_input():
    text = V3_MLP.read_text()
    assert '"$version": 3' in text and '"$input": {"shape": [1, 28, 28]' in text
    network = network_format.loads(text)
    assert [(spec.name, spec.shape, spec.dtype) for spec in network.inputs] == [("input", [1, 28, 28], "float32")]
    assert network.input_feeding("flatten") == "input"
    saved = network_format.dumps(network)
    assert '"$version": 4' in saved
    assert '"$inputs": [{"name": "input", "shape": [1, 28, 28], "dtype": "float32"}]' in saved
    assert '"firstLayer": true' in saved  # fed by the first input: as before
    assert network_format.loads(saved) == network


def test_version_4_keeps_several_inputs_first_layers_and_output_losses():
    network = Network()
    network.set_input([1, 8, 8], name="image")
    network.add_input("metadata", [3])
    network.add_node("Flatten", "flat", first_layer=True)
    network.add_node("Linear", "meta", {"in_features": 3, "out_features": 4}, first_layer="metadata")
    network.add_node("Concatenate", "join")
    network.add_node("Linear", "main", {"in_features": 68, "out_features": 2})
    network.add_node("Linear", "aux", {"in_features": 68, "out_features": 2})
    for source, target in (("flat", "join"), ("meta", "join"), ("join", "main"), ("join", "aux")):
        network.connect(source, target)
    network.set_loss("CrossEntropyLoss")
    network.set_output_loss("aux", "MSELoss", weight=0.3)
    document = network_format.to_document(network)
    assert document["$inputs"] == [{"name": "image", "shape": [1, 8, 8], "dtype": "float32"},
                                   {"name": "metadata", "shape": [3], "dtype": "float32"}]
    assert document["flat"]["firstLayer"] is True and document["meta"]["firstLayer"] == "metadata"
    assert document["$losses"] == {"aux": {"type": "MSELoss", "parameters": {"reduction": "mean"}, "weight": 0.3}}
    again = network_format.loads(network_format.dumps(network))
    assert again == network
    assert again.input_feeding("meta") == "metadata" and again.output_loss("aux").weight == 0.3


@pytest.mark.parametrize("change, message", [
    ({"$input": {"shape": [4]}, "$inputs": []}, "has both $input and $inputs: keep $inputs"),
    ({"$inputs": {"shape": [4]}}, "$inputs must be a list"),
    ({"$inputs": [{"shape": [4]}, {"shape": [3]}]}, "input 2 of $inputs has no name"),
    ({"$inputs": [{"name": "a", "shape": [4], "size": 3}]}, "input 1 of $inputs has no setting 'size'"),
    ({"$inputs": [{"name": "a", "shape": [4]}, {"name": "a", "shape": [3]}]}, "an input named 'a' exists already"),
    ({"$losses": {"x": {"type": "MSELoss", "weight": -2}}}, "$losses of 'x': weight must be a number of 0 or more"),
    ({"$losses": {"x": {"type": "NoSuchLoss"}}}, "'NoSuchLoss' is not in the losses catalogue"),
])
def test_version_4_settings_are_checked(change, message):
    document = {"$format": "pytorchgui.network", "$version": 4, "x": {"type": "ReLU", "firstLayer": True}}
    document.update(change)
    with pytest.raises(NetworkFormatError, match=message.replace("$", r"\$").replace("(", r"\(")):
        network_format.from_document(document)


def test_a_version_4_file_may_name_its_one_input_as_version_3_did():
    document = {"$format": "pytorchgui.network", "$version": 4, "$input": {"shape": [4], "dtype": "float32"},
                "x": {"type": "ReLU", "firstLayer": True}}
    network = network_format.from_document(document)
    assert [(spec.name, spec.shape) for spec in network.inputs] == [("input", [4])]


def test_a_version_3_file_cannot_hold_version_4_settings():
    document = {"$format": "pytorchgui.network", "$version": 3, "$inputs": [], "x": {"type": "ReLU"}}
    with pytest.raises(NetworkFormatError, match=r"settings of format version 4.*set \"\$version\": 4"):
        network_format.from_document(document)

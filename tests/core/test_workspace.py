"""The workspace's events: each a `Change` member, the module docstring listing exactly the
ones announced (read from the source, so the list, the enum and the code cannot drift)."""
import ast
import inspect
import re
from types import SimpleNamespace

import pytest

from pytorchgui.core import workspace as workspace_module
from pytorchgui.core.errors import DatasetError
from pytorchgui.core.training.options import TrainingConfig
from pytorchgui.core.workspace import Change, Workspace


def documented_changes() -> list[str]:
    """The names the module docstring lists, as "- NAME: what it carries"."""
    return re.findall(r"^- ([A-Z_]+): ", workspace_module.__doc__, flags=re.MULTILINE)


def announced_changes() -> set[str]:
    """The Change members passed to `_announce` anywhere in workspace.py."""
    tree = ast.parse(inspect.getsource(workspace_module))
    announced = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "_announce":
            kinds = [node.attr for node in ast.walk(call.args[0]) if isinstance(node, ast.Attribute)
                     and isinstance(node.value, ast.Name) and node.value.id == "Change"]
            assert kinds, f"line {call.lineno}: _announce is given no Change member"
            announced.update(kinds)
    return announced


def test_the_docstring_lists_exactly_the_changes_announced():
    documented = documented_changes()
    assert len(documented) == len(set(documented)), "an event is listed twice"
    assert documented == [change.name for change in Change], "the docstring and the enum differ"
    assert set(documented) == announced_changes(), "the docstring and the announcements differ"


class Dataset(SimpleNamespace):
    pass


@pytest.fixture
def workspace_and_events():
    workspace = Workspace(SimpleNamespace(network=None, path=None))
    events = []
    workspace.subscribe(events.append)
    return workspace, events


def test_dataset_changes_are_announced_with_their_entry(workspace_and_events):
    workspace, events = workspace_and_events
    entry = workspace.add_dataset(Dataset(name="shapes"))
    workspace.set_role(entry, "test")
    workspace.set_split(entry, 10, 3)
    workspace.remove_dataset(entry)
    assert [(event.kind, event.item) for event in events] == [
        (Change.DATASET_ADDED, entry), (Change.DATASET_CHANGED, entry), (Change.DATASET_CHANGED, entry),
        (Change.DATASET_REMOVED, entry)]
    assert (entry.role, entry.validation_percent, entry.split_seed) == ("test", 10.0, 3)
    with pytest.raises(DatasetError, match="not 'validation'"):
        workspace.set_role(entry, "validation")


def test_the_draft_training_config_is_announced_when_it_changes(workspace_and_events):
    workspace, events = workspace_and_events
    assert workspace.training_config == TrainingConfig()
    workspace.set_training_config(TrainingConfig())  # the same settings: nothing to announce
    assert events == []
    draft = TrainingConfig(epochs=9, augmentation="HorizontalFlip")
    workspace.set_training_config(draft)
    assert workspace.training_config is draft
    assert [(event.kind, event.item) for event in events] == [(Change.TRAINING_CONFIG_CHANGED, draft)]


def test_a_run_is_announced_as_it_starts_and_ends(workspace_and_events):
    workspace, events = workspace_and_events
    workspace.set_training_running(True)
    assert workspace.training_running
    workspace.set_training_running(False)
    result = SimpleNamespace(status="finished")
    workspace.set_training_result(result)
    assert not workspace.training_running and workspace.last_result is result
    assert [(event.kind, event.item) for event in events] == [
        (Change.TRAINING_STARTED, None), (Change.TRAINING_STOPPED, None), (Change.TRAINING_FINISHED, result)]


def test_the_chosen_training_set_follows_imports_roles_and_the_users_choice(workspace_and_events):
    workspace, events = workspace_and_events
    first = workspace.add_dataset(Dataset(name="first"))
    assert workspace.chosen_training_set is first
    test = workspace.add_dataset(Dataset(name="test"), "test")
    assert workspace.chosen_training_set is first  # a test set is no training set
    second = workspace.add_dataset(Dataset(name="second"))
    assert workspace.chosen_training_set is second  # imported to be trained on
    events.clear()
    workspace.choose_training_set(first)
    assert workspace.chosen_training_set is first
    assert [(event.kind, event.item) for event in events] == [(Change.TRAINING_SET_CHOSEN, first)]
    workspace.choose_training_set(first)  # no change, nothing announced
    assert len(events) == 1
    with pytest.raises(DatasetError, match="'test' is a test set"):
        workspace.choose_training_set(test)
    workspace.set_role(first, "test")
    assert workspace.chosen_training_set is second
    workspace.remove_dataset(second)
    assert workspace.chosen_training_set is None


def _text_set(path, reviews, train):
    import pandas

    from pytorchgui.core.data.data_source import DataSource

    pandas.DataFrame({"review": reviews, "sentiment": ["good", "bad"] * (len(reviews) // 2)}).to_csv(path, index=False)
    return DataSource("csv", str(path), target="sentiment", text_input="review", length=6).load(train)


def test_a_text_test_set_is_read_with_the_chosen_training_sets_vocabulary(workspace_and_events, tmp_path):
    workspace, _ = workspace_and_events
    train = _text_set(tmp_path / "train.csv", ["a great film", "a dull film"] * 5, True)
    test = _text_set(tmp_path / "test.csv", ["an awful, awful story", "great acting"] * 3, False)
    test_entry = workspace.add_dataset(test, "test")
    assert not workspace.reads_with_training_vocabulary(test_entry)  # no training set yet: its own
    assert workspace.as_training_reads(test_entry) is test
    train_entry = workspace.add_dataset(train)
    assert workspace.reads_with_training_vocabulary(test_entry)
    assert workspace.as_training_reads(test_entry, read_again=False) is None  # not read yet
    read = workspace.as_training_reads(test_entry)
    assert read.tokenizer == train.tokenizer and len(read.tokenizer.vocabulary) == 6  # pad, unk, 4 words
    assert read.inputs[0].tolist() == [1, 1, 1, 1, 0, 0] and read.inputs[1].tolist() == [4, 1, 0, 0, 0, 0]
    assert read.name == test.name and "the training set's vocabulary" in "; ".join(read.notes)
    assert workspace.as_training_reads(test_entry, read_again=False) is read  # read once per vocabulary
    assert workspace.as_training_reads(train_entry) is train
    other = workspace.add_dataset(_text_set(tmp_path / "other.csv", ["an awful story", "great acting"] * 2, True))
    assert workspace.chosen_training_set is other and not workspace.reads_with_training_vocabulary(train_entry)
    assert workspace.as_training_reads(test_entry).inputs[0].tolist() == [2, 3, 3, 4, 0, 0]  # other's words
    workspace.remove_dataset(other)
    assert workspace.as_training_reads(test_entry, read_again=False) is read
    workspace.remove_dataset(train_entry)
    assert workspace.as_training_reads(test_entry) is test


def test_a_text_test_set_fits_the_network_to_the_training_sets_vocabulary(tmp_path):
    # Fit on a text test set sized the Embedding for the test file's own 566 tokens; the
    # run, reading the training set's 1,312, then refused to start.
    from pytorchgui import paths
    from pytorchgui.core.training import network_format

    network = network_format.load(paths.example_networks_dir() / "transformer_sequences.json")
    document = SimpleNamespace(network=network, path=None, apply=lambda label, change: change())
    workspace = Workspace(document)
    words = [f"word{number}" for number in range(40)]
    train = _text_set(tmp_path / "train.csv", [" ".join(words[i:i + 5]) for i in range(0, 40, 5)] * 2, True)
    test = _text_set(tmp_path / "test.csv", [" ".join(words[i:i + 5]) for i in range(0, 20, 5)] * 2, False)
    workspace.add_dataset(train)
    test_entry = workspace.add_dataset(test, "test")
    assert 12 < test.token_count < train.token_count  # both more than the template's Embedding takes
    workspace.fit_network(test_entry)
    assert network.node("embed").parameters["num_embeddings"] == train.token_count

"""Array files (.npy pairs, HDF5, channels-last images), token ids, CSV text and time
series, and the built-in sequences: read from files in their real on-disk formats."""
import numpy
import pytest
import torch

from data_writers import write_hdf5, write_npy_pair, write_series_csv, write_text_csv
from pytorchgui.core.data import arrays
from pytorchgui.core.data import datasets
from pytorchgui.core.data.data_source import DataSource, load_spec
from pytorchgui.core.data.datasets import DatasetError, InMemoryBatches
from pytorchgui.core.data.sequences import Tokenizer, make_sequences, with_tokenizer

RNG = numpy.random.default_rng(0)


def test_integer_arrays_are_token_ids_kept_as_int64_and_never_normalised(tmp_path):
    x = RNG.integers(0, 300, (50, 9)).astype("int32")
    numpy.savez(tmp_path / "tokens.npz", x=x, y=x[:, 0] % 3)
    data = datasets.load_tensor_file(tmp_path / "tokens.npz")
    assert data.kind == "tokens" and data.inputs.dtype == torch.int64 and data.token_count == int(x.max()) + 1
    assert data.compute_normalization() is None and "token ids" in data.notes[0]
    batch, _ = next(InMemoryBatches(data, None).batches(50, shuffle=False))
    assert batch.dtype == torch.int64 and torch.equal(batch, torch.from_numpy(x).long())
    numpy.savez(tmp_path / "negative.npz", x=x - 1, y=x[:, 0] % 3)
    with pytest.raises(DatasetError, match="negative.npz: the token id -1 is negative"):
        datasets.load_tensor_file(tmp_path / "negative.npz")


def test_npy_pair_from_a_folder_or_from_x_npy(tmp_path):
    x = RNG.normal(size=(20, 5)).astype("float32")
    folder = write_npy_pair(tmp_path / "pair", x, numpy.arange(20) % 2)
    for spec in (f"tensor:{folder}", str(folder / "x.npy")):
        data = load_spec(spec)
        assert data.kind == "table" and data.sample_shape == [5] and data.classes == ["0", "1"]
        assert torch.equal(data.inputs, torch.from_numpy(x))
    (folder / "y.npy").unlink()
    with pytest.raises(DatasetError, match=r"a .npy pair needs y.npy in .*pair"):
        load_spec(str(folder / "x.npy"))


def test_one_value_per_sample_is_a_table_of_one_column(tmp_path):
    values = RNG.normal(size=12).astype("float32")
    numpy.savez(tmp_path / "one.npz", x=values, y=numpy.arange(12) % 2)
    streamed = arrays.read_array_file(write_npy_pair(tmp_path / "pair", values, numpy.arange(12) % 2), memory_limit=1)
    for data in (load_spec(str(tmp_path / "one.npz")), streamed):
        assert data.kind == "table" and data.sample_shape == [1]
        x, _ = next(datasets.batches_for(data, data.compute_normalization(), "cpu").batches(5, shuffle=False))
        assert x.shape == (5, 1)


def test_channels_last_images_are_transposed_and_the_choice_is_recorded(tmp_path):
    images = RNG.integers(0, 256, (12, 32, 32, 3)).astype("uint8")
    numpy.savez(tmp_path / "nhwc.npz", x=images, y=numpy.arange(12) % 4)
    source = DataSource.from_spec(str(tmp_path / "nhwc.npz"))
    data = source.load()
    assert data.kind == "image" and data.sample_shape == [3, 32, 32]
    assert torch.equal(data.inputs[5, 2], torch.from_numpy(images[5, :, :, 2]))
    assert "channels-last images [32, 32, 3] transposed to [3, 32, 32]" in data.notes
    assert data.origin.layout == "nhwc"  # a reload reads it the same way
    nchw = RNG.integers(0, 256, (6, 3, 16, 16)).astype("uint8")
    numpy.savez(tmp_path / "nchw.npz", x=nchw, y=numpy.arange(6) % 2)
    assert load_spec(str(tmp_path / "nchw.npz")).sample_shape == [3, 16, 16]


def test_an_ambiguous_layout_asks_and_the_choice_is_an_option(tmp_path):
    ambiguous = RNG.integers(0, 256, (6, 3, 8, 4)).astype("uint8")  # channels 3 first, or 4 last?
    numpy.savez(tmp_path / "odd.npz", x=ambiguous, y=numpy.arange(6) % 2)
    with pytest.raises(arrays.AmbiguousLayout, match=r"odd.npz: images of shape \[6, 3, 8, 4\] could be "
                                                      r"channels-first \(NCHW\) or channels-last"):
        load_spec(str(tmp_path / "odd.npz"))
    assert load_spec(f"{tmp_path / 'odd.npz'}?layout=nchw").sample_shape == [3, 8, 4]
    assert load_spec(f"{tmp_path / 'odd.npz'}?layout=nhwc").sample_shape == [4, 3, 8]


def test_float_image_arrays_stay_in_their_units(tmp_path):
    images = RNG.random((10, 28, 28, 1)).astype("float32")
    numpy.savez(tmp_path / "floats.npz", x=images, y=numpy.arange(10) % 2)
    data = load_spec(str(tmp_path / "floats.npz"))
    assert data.kind == "image" and data.sample_shape == [1, 28, 28]
    mean = data.compute_normalization().mean[0]
    assert mean == pytest.approx(float(images.mean()), rel=1e-4)  # not divided by 255


def test_hdf5_with_named_datasets_and_a_clear_message_without_them(tmp_path):
    images = RNG.integers(0, 256, (16, 10, 10, 3)).astype("uint8")
    path = write_hdf5(tmp_path / "set.h5", images=images, labels=numpy.arange(16) % 4)
    source = DataSource.from_spec(str(path))
    data = source.load()  # no x and y: the one-axis dataset holds the targets
    assert data.sample_shape == [3, 10, 10] and data.classes == ["0", "1", "2", "3"]
    assert torch.equal(data.inputs.permute(0, 2, 3, 1), torch.from_numpy(images))
    assert data.notes[0].startswith("inputs 'images', targets 'labels' (no arrays named x and y")
    assert (data.origin.x_name, data.origin.y_name) == ("images", "labels")  # a reload reads the same
    three = write_hdf5(tmp_path / "three.h5", images=images, labels=numpy.arange(16) % 4, ids=numpy.arange(16))
    with pytest.raises(DatasetError, match=r"three.h5 has no array named 'x' or 'y'; it has ids \[16\], images "
                                           r"\[16, 10, 10, 3\], labels \[16\]: name the inputs and targets"):
        load_spec(str(three))
    assert load_spec(f"{three}?x=images&y=labels").sample_shape == [3, 10, 10]
    numpy.savez(tmp_path / "named.npz", pixels=images, digit=numpy.arange(16) % 4)
    assert load_spec(str(tmp_path / "named.npz")).array_names == ("pixels", "digit")


def test_large_hdf5_and_npy_files_are_streamed_batch_by_batch(tmp_path):
    images = RNG.integers(0, 256, (40, 8, 8, 1)).astype("uint8")
    labels = numpy.arange(40) % 2
    h5 = arrays.read_array_file(write_hdf5(tmp_path / "big.h5", x=images, y=labels), memory_limit=100)
    npy = arrays.read_array_file(write_npy_pair(tmp_path / "big", images, labels), memory_limit=100)
    for data in (h5, npy):
        assert isinstance(data, arrays.StreamingArrays) and data.sample_shape == [1, 8, 8]
        batches = datasets.batches_for(data, data.compute_normalization(), "cpu")
        order = torch.randperm(40, generator=torch.Generator().manual_seed(0))
        seen = torch.cat([y for _, y in batches.batches(16, generator=torch.Generator().manual_seed(0))])
        assert torch.equal(seen, torch.from_numpy(labels)[order])  # shuffled, each sample once
        raw = data.read([7, 2])
        assert torch.equal(raw[0, 0], torch.from_numpy(images[7, :, :, 0])) and raw.shape == (2, 1, 8, 8)
    from pytorchgui import paths
    from pytorchgui.core.training import network_format
    from pytorchgui.core.data.fit import fit_to_data
    from pytorchgui.core.training.options import TrainingConfig
    from pytorchgui.core.training.trainer import Trainer

    network = network_format.load(paths.example_networks_dir() / "mlp.json")
    fit_to_data(network, h5)
    result = Trainer(network, h5, TrainingConfig(epochs=2, batch_size=8, augmentation="RandomCrop(padding=1)"),
                     validation_set=npy).run()
    assert result.status == "finished" and len(result.history) == 2


def test_arrays_of_objects_or_text_are_refused_by_name(tmp_path):
    numpy.save(tmp_path / "x.npy", numpy.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    numpy.save(tmp_path / "y.npy", numpy.zeros(2))
    with pytest.raises(DatasetError, match=r"x.npy: the array x holds Python objects, which are not read"):
        load_spec(str(tmp_path / "x.npy"))
    numpy.savez(tmp_path / "text.npz", x=numpy.array(["cat", "dog"]), y=numpy.zeros(2))
    with pytest.raises(DatasetError, match=r"text.npz: the array x holds text \(dtype <U3\), not numbers"):
        load_spec(str(tmp_path / "text.npz"))


def test_csv_text_column_is_tokenised_with_a_saved_vocabulary(tmp_path):
    path = write_text_csv(tmp_path / "reviews.csv")
    data = load_spec(f"csv:{path}?target=sentiment&input=review&vocabulary=12&length=6")
    assert data.kind == "tokens" and data.sample_shape == [6] and data.classes == ["bad", "good"]
    tokenizer = data.tokenizer
    assert tokenizer.vocabulary[:2] == ("<pad>", "<unk>") and len(tokenizer.vocabulary) == 12
    assert tokenizer.ids("A WONDERFUL film!") == [tokenizer.vocabulary.index("a"),
                                                  tokenizer.vocabulary.index("wonderful"),
                                                  tokenizer.vocabulary.index("film"), 0, 0, 0]
    assert tokenizer.ids("zebra") == [1, 0, 0, 0, 0, 0]  # unknown, then padding
    tokenizer.save(tmp_path / "tokenizer.json")
    assert Tokenizer.load(tmp_path / "tokenizer.json") == tokenizer
    characters = load_spec(f"csv:{path}?target=sentiment&input=review&tokens=characters&length=40")
    assert characters.sample_shape == [40] and "w" in characters.tokenizer.vocabulary


def test_a_test_set_is_tokenised_with_the_training_vocabulary(tmp_path):
    import pandas

    train = load_spec(f"csv:{write_text_csv(tmp_path / 'train.csv')}?target=sentiment&input=review&length=8")
    pandas.DataFrame({"review": ["zebra boring", "wonderful"], "sentiment": ["bad", "good"]}).to_csv(
        tmp_path / "test.csv", index=False)
    test = load_spec(f"csv:{tmp_path / 'test.csv'}?target=sentiment&input=review&length=8")
    assert test.tokenizer != train.tokenizer
    aligned = with_tokenizer(test, train.tokenizer)
    assert aligned.tokenizer == train.tokenizer
    assert aligned.inputs[0, :2].tolist() == [1, train.tokenizer.vocabulary.index("boring")]


def test_text_column_without_tokens_is_a_message(tmp_path):
    import pandas

    pandas.DataFrame({"text": ["...", "!!", None], "label": ["a", "b", "a"]}).to_csv(tmp_path / "empty.csv",
                                                                                   index=False)
    with pytest.raises(DatasetError, match=r"empty.csv: the text column 'text' holds no words"):
        load_spec(f"csv:{tmp_path / 'empty.csv'}?target=label&input=text")
    with pytest.raises(DatasetError, match=r"empty.csv has no column 'review' to read text from"):
        load_spec(f"csv:{tmp_path / 'empty.csv'}?target=label&input=review")


def test_csv_time_series_windows(tmp_path):
    path = write_series_csv(tmp_path / "weather.csv", rows=50)
    data = load_spec(f"csv:{path}?target=warmer&window=7&horizon=1&task=classification")
    assert data.kind == "series" and data.sample_shape == [7, 2] and len(data) == 50 - 7 - 1 + 1
    import pandas

    frame = pandas.read_csv(path)
    assert data.inputs[3, -1, 0].item() == pytest.approx(frame.temperature[3 + 6])
    assert data.targets[3].item() == frame.warmer[3 + 6 + 1]
    normalization = data.compute_normalization()
    assert len(normalization.mean) == 2  # per feature, over every time step
    x, _ = next(InMemoryBatches(data, normalization).batches(100, shuffle=False))
    assert x.shape == (43, 7, 2) and abs(float(x[..., 0].mean())) < 0.2
    regression = load_spec(f"csv:{path}?target=temperature&window=5&horizon=3&task=regression")
    assert regression.sample_shape == [5, 3] and regression.feature_names == ["humidity", "warmer", "temperature"]
    assert "left out (not numbers): date" in " ".join(regression.notes)
    with pytest.raises(DatasetError, match=r"weather.csv has 50 rows, too few for a window of 60 and a horizon of "
                                           r"1 \(they need at least 61\): choose a shorter window"):
        load_spec(f"csv:{path}?target=warmer&window=60")


def test_built_in_sequences_are_deterministic_and_need_both_ends():
    first, again, test = make_sequences(400), make_sequences(400), make_sequences(400, seed=1, train=False)
    assert torch.equal(first.inputs, again.inputs) and not torch.equal(first.inputs, test.inputs)
    assert first.kind == "tokens" and first.sample_shape == [16] and len(first.classes) == 4
    expected = 2 * (first.inputs[:, 0] % 2) + first.inputs[:, -1] % 2
    assert torch.equal(first.targets, expected)
    # the counts of the tokens say nothing about the class: the same multiset, another class
    assert load_spec("sequences:50").name == "Sequences (train)" and len(load_spec("sequences:50")) == 50


def _cli(capsys, *arguments):
    from pytorchgui.cli import main

    code = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("example", ["lstm_sequences", "transformer_sequences"])
def test_example_sequence_networks_reach_95_percent_on_the_built_in_sequences(capsys, tmp_path, example):
    """The shipped examples, trained with their own recipe by the CLI, then evaluated on the test part."""
    import json

    from pytorchgui import paths

    network = paths.example_networks_dir() / f"{example}.json"
    code, _, err = _cli(capsys, "train", network, "--data", "sequences", "--test", "sequences", "--out",
                        tmp_path / "run", "--quiet")
    assert code == 0, err
    assert "recipe: the network's training options (batch_size, epochs, seed)" in err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["training"]["epochs"] == json.loads(network.read_text())["$recipe"]["epochs"]
    code, out, err = _cli(capsys, "evaluate", tmp_path / "run", "--data", "sequences", "--test-mode", "--json")
    assert code == 0, err
    assert json.loads(out)["summary"]["accuracy"] >= 0.95


def test_text_network_trains_saves_its_tokenizer_and_evaluates_the_same_way(capsys, tmp_path):
    import json

    import pandas

    from pytorchgui.core.training import network_format
    from pytorchgui.core.graph.network import Network

    network = Network()
    network.add_node("Embedding", "embed", {"num_embeddings": 10, "embedding_dim": 8}, first_layer=True,
                     next_layers=["pool"])
    network.add_node("SequencePool", "pool", {"mode": "mean"}, next_layers=["head"])
    network.add_node("Linear", "head", {"in_features": "auto", "out_features": 2})
    network.set_loss("CrossEntropyLoss")
    network.set_optimizer("Adam", {"lr": 0.05})
    network_format.save(network, tmp_path / "text.json")
    train = write_text_csv(tmp_path / "train.csv")
    from data_writers import REVIEWS

    test_rows = REVIEWS[::-1][:4]  # other word frequencies: a vocabulary of its own would give other ids
    pandas.DataFrame({"review": [text for text, _ in test_rows], "sentiment": [label for _, label in test_rows]}).to_csv(
        tmp_path / "test.csv", index=False)
    assert load_spec(f"csv:{tmp_path / 'test.csv'}?target=sentiment&input=review&length=8").tokenizer.vocabulary != \
        load_spec(f"csv:{write_text_csv(tmp_path / 'probe.csv')}?target=sentiment&input=review&length=8").tokenizer.vocabulary
    spec = "?target=sentiment&input=review&length=8"
    code, _, err = _cli(capsys, "train", tmp_path / "text.json", "--data", f"csv:{train}{spec}", "--test",
                        f"csv:{tmp_path / 'test.csv'}{spec}", "--fit", "--epochs", "15", "--out", tmp_path / "run",
                        "--quiet")
    assert code == 0, err
    assert "'embed' num_embeddings 10 ->" in err and "input dtype float32 -> int64" not in err  # new: int64 set
    saved = Tokenizer.load(tmp_path / "run" / "tokenizer.json")
    assert saved == load_spec(f"csv:{train}{spec}").tokenizer
    code, out, err = _cli(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{tmp_path / 'test.csv'}{spec}",
                          "--json")
    assert code == 0, err
    assert json.loads(out)["summary"]["accuracy"] == 1.0  # the test file's words, looked up in the training vocabulary


def test_each_kind_of_data_names_its_samples(tmp_path):
    """What the Train tab counts per second and the CLI's bar shows: images, rows, windows
    of rows, sequences of tokens."""
    from data_writers import write_csv

    from pytorchgui.core.data.data_source import builtin_pair
    from pytorchgui.core.data.samples import sample_noun

    series = write_series_csv(tmp_path / "weather.csv", rows=50)
    found = {data.kind: sample_noun(data) for data in (
        builtin_pair(100, 10)[0], datasets.load_csv(write_csv(tmp_path / "table.csv"), "label"),
        load_spec(f"csv:{series}?target=warmer&window=7&horizon=1&task=classification"),
        load_spec(f"csv:{write_text_csv(tmp_path / 'reviews.csv')}?target=sentiment&input=review&length=6"))}
    assert found == {"image": "image", "table": "row", "series": "window", "tokens": "sequence"}

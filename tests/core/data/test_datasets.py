"""Every data source on files in the real format, the fast batches, and bad input."""
import os
import pickle

import numpy
import pytest
import torch

from pytorchgui.core.data import datasets
from pytorchgui.core.data.data_source import builtin_pair
from pytorchgui.core.data.augmentation import Pipeline
from pytorchgui.core.data.datasets import DatasetError, InMemoryBatches
from tests.data_writers import (write_cifar10, write_cifar100, write_csv, write_image_folder, write_mnist,
                                write_tensor_files)


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "KMNIST"])
def test_mnist_family_from_torchvision_idx_files(tmp_path, name):
    write_mnist(tmp_path, name)
    train = datasets.load_torchvision(name, tmp_path, train=True)
    test = datasets.load_torchvision(name, tmp_path, train=False)
    assert len(train) == 60 and len(test) == 20
    assert train.sample_shape == [1, 28, 28] and train.inputs.dtype == torch.uint8
    assert train.num_classes == 10 and train.name.endswith("(train)") and test.name.endswith("(test)")
    assert train.targets[:3].tolist() == [0, 1, 2]
    assert int(train.inputs[3, 0, 8, 10]) == 250  # the bar of class 3 in rows 8..9


def test_cifar10_from_pickled_batches(tmp_path):
    write_cifar10(tmp_path)
    train = datasets.load_torchvision("CIFAR10", tmp_path, train=True)
    test = datasets.load_torchvision("CIFAR10", tmp_path, train=False)
    assert len(train) == 50 and len(test) == 10
    assert train.sample_shape == [3, 32, 32] and train.classes[0] == "airplane"
    raw = pickle.load(open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb"), encoding="latin1")
    assert torch.equal(train.inputs[0].reshape(-1), torch.from_numpy(raw[b"data"][0]))


def test_cifar100_from_its_pickled_train_test_and_meta_files(tmp_path):
    write_cifar100(tmp_path)
    train = datasets.load_torchvision("CIFAR100", tmp_path, train=True)
    test = datasets.load_torchvision("CIFAR100", tmp_path, train=False)
    assert (len(train), len(test)) == (40, 20) and train.name == "CIFAR100 (train)"
    assert train.sample_shape == [3, 32, 32] and len(train.classes) == 100 and train.classes[7] == "fine7"
    assert train.targets[:3].tolist() == [0, 1, 2]  # the fine labels, not the coarse ones
    raw = pickle.load(open(tmp_path / "cifar-100-python" / "train", "rb"), encoding="latin1")
    assert torch.equal(train.inputs[5].reshape(-1), torch.from_numpy(raw[b"data"][5]))


def test_missing_truncated_and_malicious_files_are_named(tmp_path):
    with pytest.raises(DatasetError, match=r"MNIST is not in .*MNIST/raw: tick 'Download if missing'"):
        datasets.load_torchvision("MNIST", tmp_path)
    write_mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="cannot be read"):
        datasets.load_torchvision("MNIST", tmp_path)
    with pytest.raises(DatasetError, match=r"CIFAR10 is not in .*cifar-10-batches-py \(data_batch_1 is missing\)"):
        datasets.load_torchvision("CIFAR10", tmp_path)
    write_cifar10(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:300])
    with pytest.raises(DatasetError, match="data_batch_2 is not a CIFAR batch"):
        datasets.load_torchvision("CIFAR10", tmp_path)

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    batch.write_bytes(pickle.dumps({b"data": Exploit(), b"labels": []}))
    with pytest.raises(DatasetError, match="refused to load"):
        datasets.load_torchvision("CIFAR10", tmp_path)
    assert not (tmp_path / "pwned").exists()


def test_download_failure_offline_says_where_to_put_files(tmp_path, monkeypatch):
    import torchvision.datasets.utils as utils

    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(utils, "urlopen", offline, raising=False)
    monkeypatch.setattr(utils, "_urlretrieve", offline, raising=False)
    with pytest.raises(DatasetError) as caught:
        datasets.load_torchvision("CIFAR10", tmp_path, download=True)
    assert "put the extracted 'cifar-10-batches-py' folder there" in str(caught.value)


def test_image_folder(tmp_path):
    write_image_folder(tmp_path / "pets")
    data = datasets.load_image_folder(tmp_path / "pets")
    assert data.classes == ["cat", "dog"] and len(data) == 8
    assert data.sample_shape == [3, 12, 10] and data.targets.tolist() == [0] * 4 + [1] * 4
    gray = datasets.load_image_folder(tmp_path / "pets", size=(8, 8), channels=1)
    assert gray.sample_shape == [1, 8, 8]


def test_image_folder_problems(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        datasets.load_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="has no sub-folders"):
        datasets.load_image_folder(tmp_path / "empty")
    write_image_folder(tmp_path / "mixed", classes=("a",), size=(12, 10))
    write_image_folder(tmp_path / "other", classes=("a",), size=(9, 9))
    (tmp_path / "other" / "a" / "0.png").rename(tmp_path / "mixed" / "a" / "9.png")
    with pytest.raises(DatasetError, match="9.png is 9x9 but 0.png is 10x12: choose a size"):
        datasets.load_image_folder(tmp_path / "mixed")
    assert len(datasets.load_image_folder(tmp_path / "mixed", size=(9, 9))) == 5
    (tmp_path / "mixed" / "a" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match="broken.png is not a readable image"):
        datasets.load_image_folder(tmp_path / "mixed", size=(9, 9))


def test_large_image_folder_is_streamed(tmp_path):
    write_image_folder(tmp_path / "pets")
    data = datasets.load_image_folder(tmp_path / "pets", memory_limit=100)
    assert isinstance(data, datasets.StreamingImageFolder)
    x, y = next(iter(data.loader(batch_size=4, shuffle=False, workers=0)))
    assert x.shape == (4, 3, 12, 10) and x.dtype == torch.uint8 and y.tolist() == [0, 0, 0, 0]
    assert data.class_counts() == [4, 4]


def test_csv_classification_one_hot_and_regression(tmp_path):
    path = write_csv(tmp_path / "table.csv")
    data = datasets.load_csv(path, "label")
    assert data.classes == ["large", "small"] and data.targets.tolist() == [1, 1, 0, 0, 0]
    assert data.feature_names == ["size", "colour_blue", "colour_green", "colour_red", "weight"]
    assert data.inputs[0].tolist() == [1.0, 0.0, 0.0, 1.0, 10.0]
    regression = datasets.load_csv(path, "weight")
    assert regression.classes is None and regression.targets.shape == (5, 1)
    assert not regression.is_classification
    normalization = data.compute_normalization()
    assert normalization.mean[0] == pytest.approx(3.0) and normalization.std[0] == pytest.approx(2 ** 0.5)


def test_csv_problems(tmp_path):
    path = write_csv(tmp_path / "table.csv")
    with pytest.raises(DatasetError, match="has no column 'class'; its columns are size, colour, weight, label"):
        datasets.load_csv(path, "class")
    with pytest.raises(DatasetError, match="column 'colour' holds text"):
        datasets.load_csv(path, "label", categorical="reject")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n13,14,x\n15,16,y\n17,18,x\n19,20,y\n"
                   "21,oops,x\n")
    with pytest.raises(DatasetError, match="column 'b' holds numbers but row 12 has 'oops'"):
        datasets.load_csv(bad, "label")
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.load_csv(tmp_path / "none.csv", "label")


def test_tensor_files(tmp_path):
    npz, pt = write_tensor_files(tmp_path)
    for path in (npz, pt):
        data = datasets.load_tensor_file(path)
        assert len(data) == 30 and data.sample_shape == [4] and data.classes == ["0", "1"]
    numpy.savez(tmp_path / "short.npz", x=numpy.zeros((5, 2)), y=numpy.zeros(4))
    with pytest.raises(DatasetError, match="x has 5 samples but y has 4"):
        datasets.load_tensor_file(tmp_path / "short.npz")


def test_pt_file_with_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    torch.save({"x": Exploit(), "y": torch.zeros(2)}, tmp_path / "evil.pt")
    with pytest.raises(DatasetError, match="holds code or objects other than tensors"):
        datasets.load_tensor_file(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


def test_builtin_dataset_is_deterministic_and_balanced():
    first, again = datasets.make_builtin(500, seed=3), datasets.make_builtin(500, seed=3)
    assert torch.equal(first.inputs, again.inputs) and torch.equal(first.targets, again.targets)
    assert first.sample_shape == [1, 28, 28] and first.classes[0] == "circle"
    assert first.class_counts() == [50] * 10
    train, test = builtin_pair(200, 100)
    assert not torch.equal(train.inputs[:100], test.inputs)


def test_validation_split_is_seeded_and_disjoint():
    data = datasets.make_builtin(200)
    train, validation = data.split(25, seed=7)
    assert len(train) == 150 and len(validation) == 50 and validation.name.endswith("(validation)")
    again, _ = data.split(25, seed=7)
    assert torch.equal(train.inputs, again.inputs)
    other, _ = data.split(25, seed=8)
    assert not torch.equal(train.inputs, other.inputs)
    with pytest.raises(DatasetError, match="leaves no training samples"):
        data.split(100)


def test_in_memory_batches_normalise_like_torchvision():
    import torchvision.transforms as T

    data = datasets.make_builtin(64)
    normalization = data.compute_normalization()
    batches = InMemoryBatches(data, normalization)
    x, y = batches.make_batch(torch.arange(8))
    reference = T.Compose([T.ToTensor(), T.Normalize(normalization.mean, normalization.std)])
    from PIL import Image

    for i in range(8):
        expected = reference(Image.fromarray(data.inputs[i, 0].numpy(), mode="L"))
        torch.testing.assert_close(x[i], expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(y, data.targets[:8])
    seen = torch.cat([y for _, y in batches.batches(10, generator=torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == sorted(data.targets.tolist())
    assert sum(1 for _ in batches.batches(10, drop_last=True)) == 6


def test_augmentation_keeps_shape_and_flips():
    data = datasets.make_builtin(16)
    pipeline = Pipeline.parse("RandomCrop(padding=4), HorizontalFlip")
    batches = InMemoryBatches(data, None, augmentation=pipeline, channels_last=True)
    x, y, mix = next(batches.training_batches(16, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (16, 1, 28, 28) and x.is_contiguous(memory_format=torch.channels_last) and mix is None
    plain, plain_y = next(batches.batches(16, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(y, plain_y) and not torch.equal(x, plain)


def test_image_normalization_is_exact_per_channel_without_a_float_copy_of_the_whole_set():
    from pytorchgui.core.training.memory import _LiveBytes

    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 256, (12_000, 3, 32, 32), dtype=torch.uint8, generator=generator)  # 36.9 MB
    data = datasets.TensorDataset("colours", "test", inputs, torch.zeros(len(inputs), dtype=torch.int64),
                                  ["a"], "image")
    tracker = _LiveBytes()
    with tracker:
        normalization = data.compute_normalization()
    # two 8 MB chunks at most (the next is made before the last is dropped); a float64 copy of the set is 295 MB
    assert tracker.peak < 20 * 1024**2
    reference = inputs.double().div(255)
    assert normalization.mean == pytest.approx(reference.mean((0, 2, 3)).tolist(), abs=1e-12)
    assert normalization.std == pytest.approx(reference.std((0, 2, 3), unbiased=False).tolist(), abs=1e-9)

"""Write small datasets in the real on-disk formats, as the tests' input files."""
import pickle
import struct
from pathlib import Path

import numpy
import torch


def write_idx_images(path: Path, images: numpy.ndarray) -> None:
    count, rows, columns = images.shape
    path.write_bytes(struct.pack(">IIII", 0x00000803, count, rows, columns) + images.astype(numpy.uint8).tobytes())


def write_idx_labels(path: Path, labels: numpy.ndarray) -> None:
    path.write_bytes(struct.pack(">II", 0x00000801, len(labels)) + labels.astype(numpy.uint8).tobytes())


def write_mnist(root: Path, name: str = "MNIST", train: int = 60, test: int = 20, seed: int = 0) -> Path:
    """torchvision's layout: ROOT/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte."""
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    generator = numpy.random.default_rng(seed)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = numpy.arange(count) % 10
        images = generator.integers(0, 40, (count, 28, 28))
        for index, label in enumerate(labels):  # a bright bar whose row says the class
            images[index, 2 + 2 * label: 4 + 2 * label, 4:24] = 250
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def write_cifar10(root: Path, per_batch: int = 10, seed: int = 0) -> Path:
    """The python version of the CIFAR-10 archive, extracted: pickled dicts of numpy arrays."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    generator = numpy.random.default_rng(seed)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in generator.integers(0, 10, per_batch)],
            b"data": generator.integers(0, 256, (per_batch, 3072), dtype=numpy.uint8),
            b"filenames": [f"img{i}.png".encode() for i in range(per_batch)],
        }
        with open(folder / name, "wb") as stream:
            pickle.dump(batch, stream, protocol=2)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as stream:
        pickle.dump({b"label_names": [n.encode() for n in names], b"num_cases_per_batch": per_batch}, stream, protocol=2)
    return root


def write_cifar100(root: Path, train: int = 40, test: int = 20, seed: int = 0) -> Path:
    """The python version of the CIFAR-100 archive, extracted: cifar-100-python/{train,test,meta},
    pickled dicts with fine and coarse labels."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    generator = numpy.random.default_rng(seed)
    for name, count in (("train", train), ("test", test)):
        batch = {
            b"filenames": [f"img{i}.png".encode() for i in range(count)],
            b"batch_label": f"{name} batch".encode(),
            b"fine_labels": [int(v) for v in numpy.arange(count) % 100],
            b"coarse_labels": [int(v) for v in numpy.arange(count) % 20],
            b"data": generator.integers(0, 256, (count, 3072), dtype=numpy.uint8),
        }
        with open(folder / name, "wb") as stream:
            pickle.dump(batch, stream, protocol=2)
    with open(folder / "meta", "wb") as stream:
        pickle.dump({b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                     b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]}, stream, protocol=2)
    return root


def write_image_folder(root: Path, classes=("cat", "dog"), per_class: int = 4, size=(12, 10), mode="RGB") -> Path:
    from PIL import Image

    generator = numpy.random.default_rng(0)
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for sample in range(per_class):
            shape = (size[0], size[1], 3) if mode == "RGB" else size
            array = generator.integers(0, 255, shape, dtype=numpy.uint8)
            Image.fromarray(array, mode).save(root / name / f"{sample}.png")
    return root


def write_csv(path: Path) -> Path:
    path.write_text(
        "size,colour,weight,label\n"
        "1.0,red,10,small\n"
        "2.0,blue,20,small\n"
        "3.0,red,30,large\n"
        "4.0,green,40,large\n"
        "5.0,blue,50,large\n"
    )
    return path


def write_tensor_files(folder: Path) -> tuple[Path, Path]:
    x = numpy.random.default_rng(0).normal(size=(30, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    numpy.savez(folder / "data.npz", x=x, y=y)
    torch.save({"x": torch.from_numpy(x), "y": torch.from_numpy(y)}, folder / "data.pt")
    return folder / "data.npz", folder / "data.pt"


def write_npy_pair(folder: Path, x: numpy.ndarray, y: numpy.ndarray) -> Path:
    """x.npy and y.npy in `folder`, as numpy.save writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    numpy.save(folder / "x.npy", x)
    numpy.save(folder / "y.npy", y)
    return folder


def write_hdf5(path: Path, **arrays) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        for name, array in arrays.items():
            handle.create_dataset(name, data=array)
    return path


REVIEWS = [("a wonderful film, truly great acting", "good"), ("great story and wonderful music", "good"),
           ("boring, slow and far too long", "bad"), ("the worst film of the year: boring", "bad"),
           ("great fun, I loved it", "good"), ("slow, dull and the acting is bad", "bad")]


def write_text_csv(path: Path, repeat: int = 10) -> Path:
    """Short reviews with a sentiment, as a CSV with a text column (quoted, with commas)."""
    import pandas

    rows = REVIEWS * repeat
    pandas.DataFrame({"review": [text for text, _ in rows], "stars": [5 if s == "good" else 1 for _, s in rows],
                      "sentiment": [s for _, s in rows]}).to_csv(path, index=False)
    return path


def write_series_csv(path: Path, rows: int = 200) -> Path:
    """A daily temperature and humidity series; `warmer` says if tomorrow is warmer than today."""
    import pandas

    day = numpy.arange(rows)
    temperature = 15 + 8 * numpy.sin(day / 10) + numpy.random.default_rng(0).normal(0, 0.3, rows)
    humidity = 60 - temperature + numpy.random.default_rng(1).normal(0, 1, rows)
    warmer = numpy.append(temperature[1:] > temperature[:-1], False).astype(int)
    pandas.DataFrame({"date": pandas.date_range("2024-01-01", periods=rows).strftime("%Y-%m-%d"),
                      "temperature": temperature.round(2), "humidity": humidity.round(2),
                      "warmer": warmer}).to_csv(path, index=False)
    return path


def write_regression_csv(path: Path, rows: int = 442, seed: int = 0) -> Path:
    """A table shaped like scikit-learn's diabetes set: ten small centred features and a
    numeric target of about 25 to 346 (a disease-progression score), mostly linear in them."""
    import pandas

    generator = numpy.random.default_rng(seed)
    features = generator.normal(0, 0.05, size=(rows, 10))
    weights = numpy.array([0.0, -240, 520, 320, -790, 480, 100, 180, 750, 70])
    target = (152 + features @ weights + generator.normal(0, 40, rows)).clip(25, 346).round()
    frame = pandas.DataFrame(features.round(6), columns=["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"])
    frame["target"] = target
    frame.to_csv(path, index=False)
    return path


def write_two_input_npz(path: Path, samples: int = 96, seed: int = 0, **extra) -> Path:
    """Inputs 'image' [1, 6, 6] and 'metadata' [3] whose class (of 2) the metadata's first
    value tells; `extra` arrays (targets per output, say) are added as given."""
    rng = numpy.random.default_rng(seed)
    labels = rng.integers(0, 2, samples)
    metadata = rng.normal(size=(samples, 3)).astype("float32")
    metadata[:, 0] += numpy.where(labels == 1, 2.0, -2.0)
    image = rng.normal(size=(samples, 1, 6, 6)).astype("float32")
    numpy.savez(path, image=image, metadata=metadata, y=labels, **extra)
    return path

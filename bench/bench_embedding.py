"""The embedding view's cost (issue 31): gathering the features that feed the classifier
(the input of the last Linear) with a forward hook, then projecting them to 2-D by PCA,
t-SNE and UMAP, for

- LeNet-5 on 5,000 MNIST-format 28 x 28 images (IDX files, read as the app reads them);
- torchvision's resnet18, imported (random weights, offline) and fitted to a few hundred
  3 x 64 x 64 images of 10 classes.

Each projection is timed once after a warm-up on 200 points (scikit-learn's and numba's
first-call costs are paid there, as the window pays them once per session).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy
import torch

from pytorchgui import paths
from pytorchgui.core.data.data_source import DataSource
from pytorchgui.core.data.fit import fit_to_data
from pytorchgui.core.data.samples import TensorDataset
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.training import network_format
from pytorchgui.core.training.embedding import gather_features, project, umap_problem
from pytorchgui.core.training.trained_model import TrainedModel


def write_mnist_format(root: Path, count: int) -> Path:
    """IDX files in torchvision's layout: noisy images with a bright bar whose row says the class."""
    import struct

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    generator = numpy.random.default_rng(0)
    labels = numpy.arange(count) % 10
    images = generator.integers(0, 60, (count, 28, 28))
    for index, label in enumerate(labels):
        images[index, 2 + 2 * label: 4 + 2 * label, 4:24] = 250
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, count, 28, 28)
                                                          + images.astype(numpy.uint8).tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, count)
                                                          + labels.astype(numpy.uint8).tobytes())
    return root


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def measure(name: str, network, dataset, methods: list[str], batch_size: int) -> None:
    fit_to_data(network, dataset)
    trained = TrainedModel(name, network, compile_network(network), None, dataset.normalization, dataset.classes)
    features, gathering = timed(lambda: gather_features(trained, dataset, batch_size=batch_size))
    values = features.values.numpy()
    print(f"{name}: {len(values):,} samples, the input of {features.node} ({values.shape[1]} values), "
          f"torch {torch.get_num_threads()} threads")
    print(f"  gather features   {gathering:7.2f} s")
    for method in methods:
        project(values[:200], method)  # warm-up: imports, numba's compilation
        _, seconds = timed(lambda: project(values, method))
        print(f"  + {method:<15} {seconds:7.2f} s   (gather + {method}: {gathering + seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=5000, help="LeNet-5's MNIST-format samples")
    parser.add_argument("--images", type=int, default=400, help="resnet18's 3 x 64 x 64 images")
    arguments = parser.parse_args()
    torch.manual_seed(0)
    methods = ["pca", "tsne"] + ([] if umap_problem() else ["umap"])
    with tempfile.TemporaryDirectory() as folder:
        mnist = DataSource.from_spec(f"MNIST:{write_mnist_format(Path(folder), arguments.samples)}").load(False)
        lenet = network_format.load(paths.example_networks_dir() / "lenet5.json")
        measure("LeNet-5", lenet, mnist, methods, 512)
    from pytorchgui.core.interop.importers import import_torchvision

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (arguments.images, 3, 64, 64), dtype=torch.uint8, generator=generator)
    labels = torch.arange(arguments.images) % 10
    coloured = TensorDataset("images 3x64x64", "generated", images, labels, [str(i) for i in range(10)], "image")
    measure("resnet18", import_torchvision("resnet18").network, coloured, methods, 64)


if __name__ == "__main__":
    main()

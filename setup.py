"""Packaging for PyTorchGUI.

The data folders (function_db/, ui/, resources/) sit at the top of the repository, beside
the package, so they are easy to find and edit. `package_dir` maps them into the package
as `pytorchgui/function_db` etc. for a normal (wheel) install; `pytorchgui.paths` finds
them in either place, so editable and normal installs behave alike.
"""
from setuptools import find_packages, setup

DATA_PACKAGES = {
    "pytorchgui.function_db": "function_db",
    "pytorchgui.ui": "ui",
    "pytorchgui.resources": "resources",
}

setup(
    name="pytorchgui",
    version="0.1.0",
    description="Design, train and evaluate PyTorch networks in a desktop app, without code",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[*find_packages(include=["pytorchgui", "pytorchgui.*"]), *DATA_PACKAGES],
    package_dir={"pytorchgui": "pytorchgui", **DATA_PACKAGES},
    package_data={
        "pytorchgui.function_db": ["*.json"],
        "pytorchgui.ui": ["*.ui"],
        "pytorchgui.resources": ["**/*"],
    },
    install_requires=[
        "PyQt5>=5.15",
        "torch>=2.10",
        "torchvision",
        "networkx>=3.0",
        "pyqtgraph>=0.13",
        "pandas>=2.0",
        "appdirs>=1.4",
        "tqdm>=4.60",
        # Saliency (Grad-CAM, integrated gradients) on the Evaluation tab: pure Python, 4 MB
        # (with matplotlib, 70 MB beside torch's 1.2 GB), so the page works after a plain install.
        "captum>=0.7",
        # The views inside the network: ROC, precision-recall and calibration curves, PCA and
        # t-SNE of the learned features (scikit-learn), and the same views as PNG files from
        # the CLI and the run folder (matplotlib, already there through Captum).
        "scikit-learn>=1.3",
        "matplotlib>=3.5",
        # Hyperparameter sweeps (`pytorchgui sweep`, the Experiments tab): Optuna's samplers,
        # pruners, parameter importances and its SQLite or journal store (pure Python).
        "optuna>=4.0",
    ],
    extras_require={
        "onnx": ["onnx>=1.16", "onnxscript", "onnxruntime"],
        # timm's image models in `pytorchgui import timm:NAME` and the import dialog.
        "timm": ["timm>=1.0"],
        # .safetensors weights (Captum, once in this extra, is installed with the app).
        "insight": ["safetensors>=0.4"],
        # HDF5 data files (.h5/.hdf5) in the Data tab and --data.
        "hdf5": ["h5py>=3"],
        # UMAP projections in the embedding view (numba behind it: 60 MB, 3 s to import).
        "embedding": ["umap-learn>=0.5"],
        # TensorBoard event files in every run folder (core/training/tensorboard_log.py).
        "tensorboard": ["tensorboard>=2.14"],
        # bench/bench_onnx_corpus.py runs onnx2torch beside the ONNX importer.
        "bench": ["onnx>=1.16", "onnxruntime", "onnx2torch"],
        # The tests export to ONNX and check the file with onnxruntime, read .safetensors and
        # HDF5 files, import timm models and read TensorBoard's event files, so they install those too.
        # pytest-xdist: `make test` runs a worker per core (tests/conftest.py pins each to its core).
        "test": ["pytest>=7", "pytest-qt>=4.2", "pytest-xdist>=3", "hypothesis>=6", "onnx>=1.16", "onnxscript", "onnxruntime",
                 "safetensors>=0.4", "h5py>=3", "umap-learn>=0.5", "timm>=1.0", "tensorboard>=2.14"],
    },
    entry_points={"console_scripts": ["pytorchgui = pytorchgui.cli:main"]},
)

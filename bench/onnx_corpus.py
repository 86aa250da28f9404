"""A corpus of ONNX files PyTorchGUI did not write: the test data the `onnx` package ships
(`pytorch-converted/`, `pytorch-operator/`, `simple/`, `light/`) and its node tests, with
the inputs and reference outputs of each. Used by bench/bench_onnx_corpus.py and by the
ONNX importer's tests (which skip when the data is absent)."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

FOLDERS = ("pytorch-converted", "pytorch-operator", "simple", "light", "node")
# VGG-19's 143 million random weights would be larger than the importer's limit: it runs as
# shipped (its weights all 0.02). The files are small: their weights are ConstantOfShape nodes.
LARGEST_RANDOMISED = 100_000_000  # weights


def data_dir() -> Path | None:
    """onnx's backend test data inside the installed package, None without it."""
    try:
        import onnx
    except ImportError:
        return None
    folder = Path(onnx.__file__).parent / "backend" / "test" / "data"
    return folder if (folder / "light").is_dir() else None


def light_models() -> list[Path]:
    """The nine classic model-zoo CNNs (AlexNet, ZFNet-512, GoogLeNet, Inception v2,
    ResNet-50, ShuffleNet, SqueezeNet, VGG-19, DenseNet-121)."""
    folder = data_dir()
    return sorted((folder / "light").glob("light_*.onnx")) if folder else []


@dataclass
class Case:
    folder: str
    name: str
    path: Path
    inputs: list[np.ndarray]
    outputs: list[np.ndarray] | None  # None: compare with onnxruntime


def _read_tensor(path: Path) -> np.ndarray:
    import onnx
    from onnx import numpy_helper

    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def with_random_weights(model, seed: int = 0):
    """A copy of a light model whose ConstantOfShape weights (all 0.02 in the files, so
    every class scores alike) are random: He-scaled for weights, near 1 for the 1-D
    tensors (batch-norm scales and variances), so a wrong mapping shows in the output."""
    import onnx
    from onnx import numpy_helper

    rng = np.random.default_rng(seed)
    from onnx import helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    shapes = {tensor.name: numpy_helper.to_array(tensor) for tensor in copy.graph.initializer}
    kept = []
    for node in copy.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            shape = [int(dim) for dim in shapes[node.input[0]]]
            if len(shape) >= 2:
                value = rng.normal(0, np.sqrt(2.0 / max(np.prod(shape[1:]), 1)), shape)
            else:
                value = rng.uniform(0.5, 1.5, shape)
            copy.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
            if copy.ir_version < 4:  # before IR 4, every initializer is also a graph input
                copy.graph.input.append(helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT, shape))
        else:
            kept.append(node)
    del copy.graph.node[:]
    copy.graph.node.extend(kept)
    return copy


def _constant_weights(model) -> int:
    """How many values the model's ConstantOfShape nodes make."""
    from onnx import numpy_helper

    shapes = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    return sum(int(np.prod(shapes[node.input[0]])) for node in model.graph.node
               if node.op_type == "ConstantOfShape" and node.input[0] in shapes)


def random_input(model, seed: int = 0) -> np.ndarray:
    value = model.graph.input[0] if not model.graph.initializer else next(
        item for item in model.graph.input if item.name not in {tensor.name for tensor in model.graph.initializer})
    shape = [dim.dim_value or 1 for dim in value.type.tensor_type.shape.dim]
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def onnxruntime_outputs(path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip([item.name for item in session.get_inputs()], inputs)))


def cases(folders=FOLDERS, scratch: Path | None = None) -> Iterator[Case]:
    """Every case of the corpus; node tests and the light models with random weights are
    written into `scratch` (a temporary folder by default)."""
    import onnx

    folder = data_dir()
    if folder is None:
        return
    scratch = scratch or Path(tempfile.mkdtemp(prefix="onnx_corpus_"))
    for name in ("pytorch-converted", "pytorch-operator", "simple"):
        if name not in folders:
            continue
        for case in sorted((folder / name).iterdir()):
            data = case / "test_data_set_0"
            if not (case / "model.onnx").is_file() or not data.is_dir():
                continue
            inputs = [_read_tensor(path) for path in sorted(data.glob("input_*.pb"))]
            outputs = [_read_tensor(path) for path in sorted(data.glob("output_*.pb"))]
            yield Case(name, case.name, case / "model.onnx", inputs, outputs)
    if "light" in folders:
        for path in light_models():
            model = onnx.load(str(path))
            target = path
            if _constant_weights(model) < LARGEST_RANDOMISED:
                model, target = with_random_weights(model), scratch / path.name
                onnx.save(model, str(target))
            yield Case("light", path.stem, target, [random_input(model)], None)
    if "node" in folders:
        import warnings

        import onnx.backend.test.case.node as node_cases

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collected = node_cases.collect_testcases()
        for case in collected:
            if not case.data_sets:
                continue
            target = scratch / f"{case.name}.onnx"
            onnx.save(case.model, str(target))
            inputs, outputs = case.data_sets[0]
            yield Case("node", case.name, target, list(inputs), list(outputs))


def close(output: np.ndarray, reference: np.ndarray, relative: float = 1e-4) -> bool:
    """Equal within `relative` of the reference's scale (NaNs where the reference has them,
    the same infinities)."""
    output, reference = np.asarray(output), np.asarray(reference)
    if output.shape != reference.shape:
        return False
    if reference.dtype.kind not in "fc":
        return bool(np.array_equal(output, reference))
    output, reference = output.astype(np.float64), reference.astype(np.float64)
    if not np.array_equal(np.isnan(output), np.isnan(reference)):
        return False
    infinite = np.isinf(reference)  # equal exactly, sign included; the scale is the finite values'
    if not np.array_equal(output[infinite], reference[infinite]):
        return False
    finite = np.isfinite(reference)
    scale = float(np.abs(reference[finite]).max()) if finite.any() else 0.0
    return bool(np.all(np.abs(output[finite] - reference[finite]) <= relative * max(scale, 1e-3)))

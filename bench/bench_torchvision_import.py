"""Issue 27's torchvision figure: every classification model of
torchvision.models.list_models(module=torchvision.models) imported, its random weights
converted, the network sent through a JSON round trip and compiled, and its output
compared with torchvision's on one random image at the network's input size (exact: the
largest difference at most 1e-4 of the output's scale). Then, for each model imported
exactly: the Python export run with the same weights, the ONNX file run by onnxruntime,
the torch.export program loaded back, each compared with torchvision's output the same
way, and one SGD step on a batch of two random images, which must change the loss.
Models over MAX_PARAMETERS are traced on the meta device only (their weights would not
fit beside the others). GoogLeNet and Inception v3 are given torchvision's whole
state_dict, auxiliary heads included; the note on what was left out is printed.

Prints one line per model (import, python, onnx, pt2, trains, seconds; "-" where not
checked), the totals, and one line per failure with its reason.
`python bench/bench_torchvision_import.py resnet18 vit_b_16` runs a subset;
`--skip-exports onnx,pt2` skips the slow exports, `--skip-exports all` every check after
the import.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.export import export, python_source
from pytorchgui.core.interop.importers import _recorded_parameters, convert_weights, import_torchvision
from pytorchgui.core.training import network_format

MAX_PARAMETERS = 150_000_000
TOLERANCE = 1e-4  # of the output's largest magnitude
CHECKS = ("python", "onnx", "pt2", "trains")


def _original(name: str) -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():  # zero-initialised heads and class tokens would hide any difference
        for parameter in original.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)
    return original


def _differs(output: torch.Tensor, expected: torch.Tensor) -> str | None:
    scale = float(expected.abs().max())
    difference = float((output - expected).abs().max())
    if difference > TOLERANCE * max(scale, 1e-3):
        return f"outputs differ by {difference:.3g} (output scale {scale:.3g})"
    return None


def _python(network, weights, x) -> torch.Tensor:
    namespace: dict = {}
    exec(compile(python_source(network), "exported", "exec"), namespace)  # noqa: S102 - our own generated code
    model = namespace["Network"]().eval()
    model.load_state_dict(weights)
    return model(x)


def _onnx(network, weights_file: Path, x) -> torch.Tensor:
    import onnxruntime

    path = weights_file.with_suffix(".onnx")
    export(network, "onnx", path, weights_file)
    return torch.from_numpy(onnxruntime.InferenceSession(str(path)).run(None, {"input": x.numpy()})[0])


def _pt2(network, weights_file: Path, x) -> torch.Tensor:
    path = weights_file.with_suffix(".pt2")
    export(network, "pt2", path, weights_file)
    return torch.export.load(path).module()(x)


def _trains(model: torch.nn.Module, input_shape: list[int], classes: int) -> str | None:
    """None when one SGD step on two random images changes their loss."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, target = torch.randn(2, *input_shape), torch.randint(0, classes, (2,))
    loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    optimizer.step()
    model.eval()  # dropout and stochastic depth off: the change is the step's
    with torch.no_grad():
        before = float(loss)
        after = float(torch.nn.functional.cross_entropy(model(x), target))
    return None if after != before and after == after else f"the loss stays at {before:.4g} after one step"


def check(name: str, skipped: set[str]) -> tuple[dict[str, str | None], list[str]]:
    """Each check's problem (None: passed) for model `name`, and the import's notes."""
    imported = import_torchvision(name)
    if _recorded_parameters(name) > MAX_PARAMETERS:
        return {"import": "traced on the meta device"}, imported.notes
    original = _original(name)
    weights = convert_weights(imported, original.state_dict())
    network = network_format.loads(network_format.dumps(imported.network))
    model = compile_network(network).eval()
    model.load_state_dict(weights)
    x = torch.randn(1, *network.input_spec.shape)
    with torch.no_grad():
        expected = original(x)
        results: dict[str, str | None] = {"import": _differs(model(x), expected)}
    if results["import"]:
        return results, imported.notes
    with tempfile.TemporaryDirectory() as folder:
        weights_file = Path(folder) / "weights.pt"
        torch.save(weights, weights_file)
        for check_name, run in (("python", lambda: _python(network, weights, x)),
                                ("onnx", lambda: _onnx(network, weights_file, x)),
                                ("pt2", lambda: _pt2(network, weights_file, x))):
            if check_name in skipped:
                continue
            try:
                with torch.no_grad():
                    results[check_name] = _differs(run(), expected)
            except Exception as error:  # noqa: BLE001 - a bench reports every failure and goes on
                results[check_name] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    if "trains" not in skipped:
        results["trains"] = _trains(model, network.input_spec.shape, int(expected.shape[-1]))
    return results, imported.notes


def main(arguments: list[str] | None = None) -> None:
    import torchvision

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="models to check (default: all of list_models)")
    parser.add_argument("--skip-exports", default="", help="checks to skip, comma-separated: python, onnx, pt2, "
                                                           "trains, or all")
    options = parser.parse_args(arguments)
    skipped = set(CHECKS) if options.skip_exports == "all" else set(filter(None, options.skip_exports.split(",")))
    warnings.filterwarnings("ignore")
    names = options.names or torchvision.models.list_models(module=torchvision.models)
    columns = ("import", *[check_name for check_name in CHECKS if check_name not in skipped])
    passed = {column: 0 for column in columns}
    traced, failures, notes = [], [], []
    started = time.perf_counter()
    print(f"  {'model':<24}" + "".join(f"{column:>8}" for column in columns) + f"{'s':>7}", flush=True)
    for name in names:
        model_started = time.perf_counter()
        try:
            results, model_notes = check(name, skipped)
        except PyTorchGUIError as error:
            results, model_notes = {"import": str(error).splitlines()[0]}, []
        except Exception as error:  # noqa: BLE001 - a bench reports every failure and goes on
            results, model_notes = {"import": f"internal error {type(error).__name__}: {str(error)[:200]}"}, []
        notes += [f"{name}: {note}" for note in model_notes]
        if results["import"] == "traced on the meta device":
            traced.append(name)
            cells = ["meta"] + ["-"] * (len(columns) - 1)
        else:
            cells = []
            for column in columns:
                if column not in results:
                    cells.append("-")
                    continue
                cells.append("ok" if results[column] is None else "FAIL")
                if results[column] is None:
                    passed[column] += 1
                else:
                    failures.append((name, column, results[column]))
        print(f"  {name:<24}" + "".join(f"{cell:>8}" for cell in cells)
              + f"{time.perf_counter() - model_started:>7.0f}", flush=True)
    compared = len(names) - len(traced)
    print(f"models: {len(names)}; up to {MAX_PARAMETERS // 1_000_000} M parameters (compared): {compared}; larger, "
          f"traced on the meta device: {len(traced)} ({', '.join(traced)})")
    print("passed, of the compared ones: " + ", ".join(f"{column} {passed[column]}/{compared}" for column in columns))
    for name, column, problem in failures:
        print(f"FAILED {name} ({column}): {problem}")
    for note in notes:
        print(f"note {note}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

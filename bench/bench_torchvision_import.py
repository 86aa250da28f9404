"""Issue 27's torchvision figure: every classification model of
torchvision.models.list_models(module=torchvision.models) imported, its random weights
converted, the network sent through a JSON round trip and compiled, and its output
compared with torchvision's on one random image at the network's input size (exact: the
largest difference at most 1e-4 of the output's scale). Models over MAX_PARAMETERS are
traced on the meta device only (their weights would not fit beside the others).

Prints the count imported exactly / models compared, the traced-only ones, and one line
per failure with its reason. `python bench/bench_torchvision_import.py resnet18 vit_b_16`
runs a subset.
"""
from __future__ import annotations

import sys
import time
import warnings

import torch

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.interop.importers import _recorded_parameters, convert_weights, import_torchvision
from pytorchgui.core.training import network_format

MAX_PARAMETERS = 150_000_000
TOLERANCE = 1e-4  # of the output's largest magnitude


def compare(name: str, imported) -> str | None:
    """None when the imported network computes torchvision's output, else why not."""
    import torchvision

    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():  # zero-initialised heads and class tokens would hide any difference
        for parameter in original.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)
    weights = convert_weights(imported, original.state_dict())
    network = network_format.loads(network_format.dumps(imported.network))
    model = compile_network(network).eval()
    model.load_state_dict(weights)
    x = torch.randn(1, *network.input_spec.shape)
    with torch.no_grad():
        expected, output = original(x), model(x)
    scale = float(expected.abs().max())
    difference = float((output - expected).abs().max())
    if difference > TOLERANCE * max(scale, 1e-3):
        return f"outputs differ by {difference:.3g} (output scale {scale:.3g})"
    return None


def main(names: list[str]) -> None:
    import torchvision

    warnings.filterwarnings("ignore")
    names = names or torchvision.models.list_models(module=torchvision.models)
    exact, compared, traced, failures = 0, 0, [], []
    started = time.perf_counter()
    for name in names:
        large = _recorded_parameters(name) > MAX_PARAMETERS
        compared += not large
        try:
            imported = import_torchvision(name)
            problem = None if large else compare(name, imported)
        except PyTorchGUIError as error:
            problem = str(error).splitlines()[0]
        except Exception as error:  # noqa: BLE001 - a bench reports every failure and goes on
            problem = f"internal error {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        if problem:
            failures.append((name, problem))
        elif large:
            traced.append(name)
        else:
            exact += 1
        print(f"  {name}: {problem or ('traced on the meta device' if large else 'exact')}", flush=True)
    print(f"torchvision classification models up to {MAX_PARAMETERS // 1_000_000} M parameters imported exactly: "
          f"{exact} / {compared}")
    print(f"larger ones traced on the meta device: {len(traced)} / {len(names) - compared} ({', '.join(traced)})")
    for name, problem in failures:
        print(f"FAILED {name}: {problem}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])

"""ONNX files PyTorchGUI did not write, through its importer and through onnx2torch side by
side: onnx's test data (`pytorch-converted/`, `pytorch-operator/`, `simple/`, the nine
`light/` model-zoo CNNs with random weights) and its node tests (`node/`, generated in
memory by onnx). A file counts when the imported network, compiled, gives the reference
outputs of its test_data_set_0 (onnxruntime's for `light/`) within 1e-4 of their scale.

Prints per-folder counts for both, the causes of PyTorchGUI's refusals grouped, and the
internal errors (anything but PyTorchGUI's typed errors: must be 0).

    python bench/bench_onnx_corpus.py [--folders light,pytorch-operator] [--no-onnx2torch]
        [--only REGEX] [--differences]

`--differences` lists the cases onnx2torch reproduces and PyTorchGUI does not, grouped by
the file's operators, largest group first, each with our outcome.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.onnx_corpus import FOLDERS, Case, cases, close, onnxruntime_outputs  # noqa: E402
from pytorchgui.core.errors import PyTorchGUIError  # noqa: E402
from pytorchgui.core.graph.compiler import compile_network  # noqa: E402
from pytorchgui.core.interop.onnx_import import import_onnx  # noqa: E402


def _as_list(outputs) -> list[np.ndarray]:
    if isinstance(outputs, torch.Tensor):
        return [outputs.detach().numpy()]
    return [value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value) for value in outputs]


def _cause(message: str, path: Path) -> str:
    """A refusal's message without the file and node names: the operator and what it does."""
    message = message.replace(str(path), "the file")
    operator = re.search(r"node '.*?' \((\w+)\): (.*)", message)
    if operator:
        what = re.sub(r"\(.*?\)|'.*?'|\[.*?\]|-?\d+(\.\d+)?", "…", operator.group(2).split(" (")[0])
        return f"{operator.group(1)}: {what[:90]}"
    return re.sub(r"\d+ (inputs|outputs) \(.*?\)", r"several \1", message).split(":")[0][:100]


def _operators(path: Path) -> str:
    import onnx

    return ", ".join(sorted({node.op_type for node in onnx.load(str(path)).graph.node}))


def ours(case: Case, references: list[np.ndarray]) -> tuple[str, str]:
    """(outcome, detail): outcome is exact, refused, wrong, fails or internal."""
    try:
        network, weights = import_onnx(case.path)
    except PyTorchGUIError as error:
        return "refused", _cause(str(error), case.path)
    except Exception as error:  # noqa: BLE001 - the figure this bench exists to count
        return "internal", f"{type(error).__name__}: {error} {traceback.format_exc(limit=-2)}"
    try:
        if network.input_spec is None:  # a file without fixed sizes: set as the window asks the user to
            network.set_input(list(case.inputs[0].shape[1:]))
        model = compile_network(network).eval()
        model.load_state_dict(weights)
        with torch.no_grad():
            outputs = _as_list(model(*[torch.from_numpy(np.ascontiguousarray(value)) for value in case.inputs]))
    except Exception as error:  # noqa: BLE001 - an imported network that does not run: counted apart
        return "fails", f"{type(error).__name__}: {str(error).splitlines()[0][:120] if str(error) else ''}"
    if len(outputs) == len(references) and all(close(o, r) for o, r in zip(outputs, references)):
        return "exact", ""
    return "wrong", ""


def onnx2torch(case: Case, references: list[np.ndarray]) -> str:
    from onnx2torch import convert

    try:
        model = convert(str(case.path)).eval()
        with torch.no_grad():
            outputs = _as_list(model(*[torch.from_numpy(np.ascontiguousarray(value)) for value in case.inputs]))
    except Exception:  # noqa: BLE001 - onnx2torch's refusals are plain exceptions
        return "refused"
    if len(outputs) == len(references) and all(close(o, r) for o, r in zip(outputs, references)):
        return "exact"
    return "wrong"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", default=",".join(FOLDERS), help="comma-separated, of " + ", ".join(FOLDERS))
    parser.add_argument("--no-onnx2torch", action="store_true", help="run PyTorchGUI's importer alone")
    parser.add_argument("--show", default="", help="print the detail of the cases whose name contains this")
    parser.add_argument("--only", default="", help="run only the cases whose name matches this regular expression")
    parser.add_argument("--differences", action="store_true",
                        help="list the cases onnx2torch reproduces and PyTorchGUI does not, by operator")
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    folders = [name for name in FOLDERS if name in arguments.folders.split(",")]
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    causes: collections.Counter = collections.Counter()
    internal: list[str] = []
    differences: dict[str, list[str]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases(folders, Path(scratch)):
            if arguments.only and not re.search(arguments.only, case.name):
                continue
            references = case.outputs if case.outputs is not None else onnxruntime_outputs(case.path, case.inputs)
            outcome, detail = ours(case, references)
            counts[case.folder]["files"] += 1
            counts[case.folder][f"ours {outcome}"] += 1
            if outcome == "refused":
                causes[detail] += 1
            elif outcome == "internal":
                internal.append(f"{case.folder}/{case.name}: {detail}")
            elif outcome in ("fails", "wrong"):
                causes[f"imported but {'does not run' if outcome == 'fails' else 'gives other outputs'}"
                       f"{': ' + detail.split(':')[0] if detail else ''}"] += 1
            if arguments.show and arguments.show in case.name:
                print(f"  {case.folder}/{case.name}: {outcome} {detail}")
            if not arguments.no_onnx2torch:
                theirs = onnx2torch(case, references)
                counts[case.folder][f"onnx2torch {theirs}"] += 1
                if theirs == "exact" and outcome != "exact":
                    differences[_operators(case.path)].append(f"{case.folder}/{case.name}: {outcome} {detail[:150]}")
    print(f"{'folder':20} {'files':>6} {'ours':>6} {'onnx2torch':>11}")
    total = collections.Counter()
    for folder in folders:
        count = counts[folder]
        total.update(count)
        print(f"{folder:20} {count['files']:6} {count['ours exact']:6} "
              f"{'-' if arguments.no_onnx2torch else count['onnx2torch exact']:>11}")
    print(f"{'all':20} {total['files']:6} {total['ours exact']:6} "
          f"{'-' if arguments.no_onnx2torch else total['onnx2torch exact']:>11}")
    print(f"\nours: {total['ours refused']} refused, {total['ours wrong']} imported with other outputs, "
          f"{total['ours fails']} imported but do not run")
    print("causes of ours not reproducing the reference, most frequent first:")
    for cause, count in causes.most_common():
        print(f"  {count:4}  {cause}")
    if arguments.differences:
        print(f"\nreproduced by onnx2torch, not by ours ({sum(map(len, differences.values()))}), by operator:")
        for operators, lines in sorted(differences.items(), key=lambda item: -len(item[1])):
            print(f"  {len(lines):4}  {operators}")
            for line in lines:
                print(f"          {line}")
    for line in internal:
        print("INTERNAL", line)
    print(f"\ninternal errors: {len(internal)}")


if __name__ == "__main__":
    main()

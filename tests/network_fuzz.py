"""Seeded mutations of network files, and the check every one of them must pass: loading,
validating, saving and compiling either work or raise the project's own error type.

Used by tests/core/test_fuzz.py (a few thousand files, to keep `make test` fast) and by
bench/fuzz_networks.py (tens of thousands, with the figures for BENCHMARKS.md).
"""
from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path

HOSTILE_VALUES = [
    None, True, False, 0, -1, -(2**63), 2**63, 4611686018427387904, 10**400, 1e30, -1e30, 1e308, 1e-320,
    0.5, "auto", "", "x" * 5000, "output\ud800", "forward", "train", "__class__", "../../etc/passwd",
    [], [1], [1, 2, 3], [1, 4611686018427387904], [[1]], [0, 28, 28], [-3, 28, 28], {}, {"__class__": "os.system"},
    "nan", "inf", float("nan"), float("inf"), "ReLU", "Linear", "Conv2d", "os.system",
]
NODE_NAMES = ["forward", "train", "x", "self", "training", "output\ud800", "a b", "1st", "class", "_modules",
              "$input", "", "state_dict", "parameters", "cuda", "to", "eval"]


def seed_documents(examples_dir: Path) -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(examples_dir.glob("*.json"))]


def _paths(value, prefix=()):
    """Every (path, value) inside a JSON value."""
    yield prefix, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _set(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _delete(document, path):
    target = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


def mutate(document: dict, rng: random.Random, catalogue_types: list[str]) -> str:
    """One to four mutations of `document`, as file text (sometimes no longer valid JSON)."""
    document = copy.deepcopy(document)
    for _ in range(rng.randint(1, 4)):
        paths = [path for path, _ in _paths(document) if path]
        if not paths:
            break
        path = rng.choice(paths)
        kind = rng.random()
        if kind < 0.45:
            _set(document, path, copy.deepcopy(rng.choice(HOSTILE_VALUES)))
        elif kind < 0.55:
            _delete(document, path)
        elif kind < 0.7:  # rename a node, keeping the links to it
            nodes = [key for key in document if not key.startswith("$")]
            if nodes:
                old, new = rng.choice(nodes), rng.choice(NODE_NAMES)
                document[new] = document.pop(old)
                for value in document.values():
                    if isinstance(value, dict) and value.get("nextLayer") == old:
                        value["nextLayer"] = new
        elif kind < 0.85:  # another catalogue type, the parameters kept
            nodes = [key for key in document if not key.startswith("$") and isinstance(document[key], dict)]
            if nodes:
                document[rng.choice(nodes)]["type"] = rng.choice(catalogue_types)
        else:  # a link to somewhere else
            nodes = [key for key in document if not key.startswith("$") and isinstance(document[key], dict)]
            if nodes:
                document[rng.choice(nodes)]["nextLayer"] = rng.choice(nodes + ["nowhere"])
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    if rng.random() < 0.05:
        text = text[:rng.randint(0, len(text))]
    return text


def check_file(path: Path, work: Path) -> str:
    """Load, validate, summarise, save and (when small) compile and run the network in
    `path`. Returns how far it got; raises anything that is not a PyTorchGUIError."""
    import torch

    from pytorchgui.core.training import network_format
    from pytorchgui.core.graph.compiler import compile_network
    from pytorchgui.core.errors import PyTorchGUIError
    from pytorchgui.core.graph.shapes import infer_shapes, summary_rows

    try:
        network = network_format.load(path)
    except PyTorchGUIError:
        return "refused on load"
    report = infer_shapes(network)
    summary_rows(network, report)
    network.training_problems()
    try:
        network_format.save(network, work / "saved.json")
    except PyTorchGUIError:
        return "refused on save"
    network_format.load(work / "saved.json")
    if not report.ok:
        return "problems reported"
    if report.total_parameters > 2_000_000:
        return "valid (too large to build here)"
    try:
        model = compile_network(network, report)
        spec = network.input_spec
        dtype = getattr(torch, spec.dtype)
        sample = torch.zeros((2, *spec.shape), dtype=dtype) if dtype.is_floating_point else \
            torch.zeros((2, *spec.shape), dtype=dtype)
        with torch.no_grad():
            model.eval()(sample)
    except PyTorchGUIError:
        return "refused on build"
    return "valid and runs"


def run_campaign(count: int, seed: int, examples_dir: Path, work: Path, catalogue_types: list[str]):
    """Mutate and check `count` files; (outcome counts, failures as (index, text, error))."""
    rng = random.Random(seed)
    documents = seed_documents(examples_dir)
    outcomes: dict[str, int] = {}
    failures = []
    for index in range(count):
        text = mutate(rng.choice(documents), rng, catalogue_types)
        path = work / "fuzzed.json"
        with io.open(path, "w", encoding="utf-8", errors="surrogatepass") as stream:
            stream.write(text)
        try:
            outcome = check_file(path, work)
        except Exception as error:  # noqa: BLE001 - what the campaign is looking for
            failures.append((index, text, f"{type(error).__name__}: {error}"[:300]))
            outcome = "uncaught " + type(error).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes, failures

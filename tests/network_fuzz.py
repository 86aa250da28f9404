"""Seeded mutations of network files, and the check every one of them must pass: loading,
validating, saving and compiling either work or raise the project's own error type, and a
network that validates takes a training step.

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


# Values a typed parameter may get: in range, at its edges, and beyond them.
TYPED_VALUES = {
    "int": [-3, -1, 0, 1, 2, 3, 7, 64, 10**6], "float": [-1.0, 0.0, 1e-12, 0.5, 1.0, 2.0, 1e6],
    "bool": [True, False], "size": [0, 1, 2, 3, [1, 2], [2, 2], [3, 3, 3]], "floats": [[0.5, 0.5], [2.0, -1.0], 0.1],
    "str": ["", "mean", "none"], "choice": [None],
}
LONG_SIZES = [10**4, 10**5, 10**6, 10**7]
ODD_DTYPES = ["int64", "float64", "bfloat16", "float16", "float32", "int8", "bool"]


def _nodes(document: dict) -> list[str]:
    return [key for key in document if not key.startswith("$") and isinstance(document[key], dict)]


def _typed_value(spec: tuple, rng: random.Random) -> tuple[str, object]:
    """(name, a value of its type) for a (name, type, choices) parameter spec."""
    name, kind, choices = spec
    pool = list(choices) + [None] if kind == "choice" else TYPED_VALUES.get(kind, [None])
    return name, copy.deepcopy(rng.choice(pool))


def _typed_parameter(document: dict, rng: random.Random, specs: dict) -> None:
    """A parameter of a node's own type (an activation's dim, RReLU's bounds, an
    Embedding's sparse ...) set to a value of its type, often out of range."""
    nodes = [name for name in _nodes(document) if isinstance(document[name].get("type"), str)
             and document[name]["type"] in specs]
    if not nodes:
        return
    node = document[rng.choice(nodes)]
    parameters = specs[node["type"]]
    if not parameters or not isinstance(node.get("parameters"), dict):
        return
    name, value = _typed_value(rng.choice(parameters), rng)
    node["parameters"][name] = value


def _optimizer(document: dict, rng: random.Random, optimizers: dict) -> None:
    """Another optimizer of the catalogue, with its defaults or one setting changed."""
    name = rng.choice(sorted(optimizers))
    parameters = {}
    if optimizers[name] and rng.random() < 0.5:
        key, value = _typed_value(rng.choice(optimizers[name]), rng)
        parameters[key] = value
    document["$optimizer"] = {"type": name, "parameters": parameters}


def _input(document: dict, rng: random.Random) -> None:
    """The declared input: another dtype, or a very long axis (a sequence of 10^6 steps)."""
    spec = document.get("$input")
    if isinstance(document.get("$inputs"), list) and document["$inputs"]:  # version 4
        spec = document["$inputs"][0]
    if not isinstance(spec, dict):
        return
    if rng.random() < 0.5:
        spec["dtype"] = rng.choice(ODD_DTYPES)
    elif isinstance(spec.get("shape"), list) and spec["shape"]:
        shape = spec["shape"]
        shape[rng.randrange(len(shape))] = rng.choice(LONG_SIZES)


def _unknown_key(document: dict, rng: random.Random) -> None:
    """A key the format does not define, in any object of the file."""
    objects = [value for _, value in _paths(document) if isinstance(value, dict)]
    rng.choice(objects)[rng.choice(["extra", "nextlayer", "Type", "weights", "$comment"])] = 1


def mutate(document: dict, rng: random.Random, catalogue_types: list[str], specs: dict | None = None,
           optimizers: dict | None = None) -> str:
    """One to four mutations of `document`, as file text (sometimes no longer valid JSON).
    `specs` (type -> [(parameter, type, choices)]) and `optimizers` (the same, for the
    optimizers) add the typed mutations: parameters, optimizer, input dtype and size,
    unknown keys."""
    document = copy.deepcopy(document)
    for _ in range(rng.randint(1, 4)):
        paths = [path for path, _ in _paths(document) if path]
        if not paths:
            break
        path = rng.choice(paths)
        if specs is not None and rng.random() < 0.5:
            typed = rng.random()
            if typed < 0.45:
                _typed_parameter(document, rng, specs)
            elif typed < 0.65:
                _optimizer(document, rng, optimizers)
            elif typed < 0.85:
                _input(document, rng)
            else:
                _unknown_key(document, rng)
            continue
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


def catalogue_specs():
    """(node types -> their typed parameters, optimizers -> theirs), for `mutate`."""
    from pytorchgui.core.graph.catalog import default_catalog

    catalog = default_catalog()

    def typed(entry):
        return [(spec.name, spec.type, tuple(spec.choices)) for spec in entry.parameters]

    specs = {entry.name: typed(entry) for database in (catalog.layers, catalog.activations) for entry in database}
    return specs, {entry.name: typed(entry) for entry in catalog.optimizers}


class AcceptedButFailed(Exception):
    """`validate` accepted the network, and one training step on its declared input failed."""


def check_file(path: Path, work: Path, timings: list | None = None) -> str:
    """Load, validate, summarise, save and (when small) build the network in `path` and
    take one training step on a batch of its declared input. Returns how far it got;
    raises anything that is not a PyTorchGUIError, and AcceptedButFailed when `validate`
    accepts a network whose step then fails (any exception, the project's own included).
    `timings` gets the seconds validation took."""
    import time

    import torch

    from pytorchgui.core.errors import PyTorchGUIError
    from pytorchgui.core.graph.compiler import compile_network
    from pytorchgui.core.graph.shapes import infer_shapes, step_problems, summary_rows
    from pytorchgui.core.training import network_format
    from pytorchgui.core.training.memory import estimate_training_memory
    from pytorchgui.core.training.optimizers import make_optimizer

    try:
        network = network_format.load(path)
    except PyTorchGUIError:
        return "refused on load"
    started = time.perf_counter()
    report = infer_shapes(network)  # what `validate` does
    refused = report.problems + step_problems(network, report)
    if timings is not None:
        timings.append(time.perf_counter() - started)
    summary_rows(network, report)
    network.training_problems()
    try:
        network_format.save(network, work / "saved.json")
    except PyTorchGUIError:
        return "refused on save"
    network_format.load(work / "saved.json")
    if refused:
        return "problems reported"
    if network.optimizer is None:
        return "valid, no optimizer to train with"
    if report.total_parameters > 2_000_000 or report.activation_values > 2_000_000:
        return "valid (too large to train here)"
    try:
        estimate_training_memory(network, 2)
        model = compile_network(network, report).train()
        optimizer = make_optimizer(network, model)
        spec = network.input_spec
        dtype = getattr(torch, spec.dtype)
        batch = torch.randn((2, *spec.shape)).to(dtype) if dtype.is_floating_point else \
            torch.zeros((2, *spec.shape), dtype=dtype)  # ids of an Embedding's first entry

        def closure():
            optimizer.zero_grad()
            output = model(batch)
            outputs = output if isinstance(output, tuple) else (output,)  # several outputs are a tuple
            loss = sum(each.float().square().mean() for each in outputs)  # any loss: the step is what is checked
            loss.backward()
            return loss

        optimizer.step(closure)
    except Exception as error:  # noqa: BLE001 - what the campaign is looking for
        raise AcceptedButFailed(f"validate accepted it, then the step raised {type(error).__name__}: "
                                f"{first_line(error)}") from error
    return "valid and trains"


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else ""


def run_campaign(count: int, seed: int, examples_dir: Path, work: Path, catalogue_types: list[str], *,
                 typed: bool = True, timings: list | None = None):
    """Mutate and check `count` files; (outcome counts, failures as (index, text, error)).
    `typed` adds the catalogue-aware mutations to the blind ones."""
    rng = random.Random(seed)
    documents = seed_documents(examples_dir)
    specs, optimizers = catalogue_specs() if typed else (None, None)
    outcomes: dict[str, int] = {}
    failures = []
    for index in range(count):
        text = mutate(rng.choice(documents), rng, catalogue_types, specs, optimizers)
        path = work / "fuzzed.json"
        with io.open(path, "w", encoding="utf-8", errors="surrogatepass") as stream:
            stream.write(text)
        try:
            outcome = check_file(path, work, timings)
        except Exception as error:  # noqa: BLE001 - what the campaign is looking for
            failures.append((index, text, f"{type(error).__name__}: {error}"[:300]))
            outcome = "accepted, then failed to train" if isinstance(error, AcceptedButFailed) else \
                "uncaught " + type(error).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes, failures

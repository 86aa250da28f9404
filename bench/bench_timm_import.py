"""Issue 27's timm figure: every model of timm.list_models() that fits in memory created
with random weights (pretrained=False), imported, its weights converted, the network sent
through a JSON round trip and compiled, and its output compared with timm's on one random
image (exact: the largest difference at most 1e-4 of the output's scale).

The denominator is the traceable models: a model is traceable when torch.fx traces its
eval-mode forward with timm's own tracer settings (the modules and functions timm registers
as not traceable kept whole: what timm's torch.fx feature extraction uses), or through
them (`timm_graph`: either succeeds). Everything else (traced, then refused by the
importer, or giving another output) counts against the figure.

Each model runs on a small input where the model allows: SMALL_SIDE pixels square, with
img_size=SMALL_SIDE given to the models that take it (ViTs fix their position embedding
at creation); when the model fails on it, its default size from timm's configuration.
Models whose weights would take over --max-gb are left out (counted, not compared).

Results are cached per model in a JSON file (--cache; outside git), so a run stopped
halfway resumes; each model runs in a worker process with a time limit (--timeout).

    python bench/bench_timm_import.py --names 'resnet*' --jobs 2
    python bench/bench_timm_import.py --every 23          # a sample across the families
    python bench/bench_timm_import.py --every 23 --offset 11   # another, disjoint
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import multiprocessing
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

TOLERANCE = 1e-4  # of the output's largest magnitude
SMALL_SIDE = 64
DEFAULT_CACHE = Path.home() / ".cache" / "pytorchgui" / "bench_timm_import.json"


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else ""


def _create_small(timm, name: str):
    """The model at SMALL_SIDE pixels if it runs there (with img_size when it takes one),
    else at its default size; with the input shape it runs on."""
    import torch

    from pytorchgui.core.interop.timm_import import default_input

    attempts = [{"img_size": SMALL_SIDE}, {}]
    for kwargs in attempts:
        torch.manual_seed(0)
        try:
            model = timm.create_model(name, pretrained=False, **kwargs).eval()
        except TypeError:  # does not take img_size
            continue
        for shape in ([default_input(model)[0], SMALL_SIDE, SMALL_SIDE], default_input(model)):
            try:
                with torch.no_grad():
                    model(torch.randn(1, *shape))
                return model, list(shape)
            except Exception:  # noqa: BLE001 - too small for this model: the next size
                continue
    raise RuntimeError("runs at no input size tried")


def measure(name: str, max_bytes: float) -> dict:
    """One model's result: status (exact, differs, refused, untraceable, too_large,
    not_built, internal), the reason, the input shape and seconds."""
    import torch

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    import timm

    from pytorchgui.core.errors import PyTorchGUIError
    from pytorchgui.core.graph.compiler import compile_network
    from pytorchgui.core.interop.importers import convert_weights
    from pytorchgui.core.interop.timm_import import timm_graph, trace_timm
    from pytorchgui.core.training import network_format

    started = time.perf_counter()

    def result(status: str, reason: str = "", **more) -> dict:
        return {"status": status, "reason": reason, "seconds": round(time.perf_counter() - started, 2), **more}

    try:
        with torch.device("meta"):
            parameters = sum(p.numel() for p in timm.create_model(name, pretrained=False).parameters())
    except Exception:  # noqa: BLE001 - counted below when built for real
        parameters = 0
    if parameters * 4 * 3 > max_bytes:  # the model, its converted weights and the compiled network
        return result("too_large", f"{parameters / 1e6:.0f} M parameters")
    try:
        model, shape = _create_small(timm, name)
    except Exception as error:  # noqa: BLE001 - a model timm cannot build or run here
        return result("not_built", f"{type(error).__name__}: {_first_line(error)}")
    with torch.no_grad():  # zero-initialised heads and class tokens would hide any difference
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.02)
    tracer, why = timm_graph(model)
    if tracer is None:
        return result("untraceable", why, shape=shape)
    try:
        imported = trace_timm(model, name, shape)
        weights = convert_weights(imported, model.state_dict())
        network = network_format.loads(network_format.dumps(imported.network))
        compiled = compile_network(network).eval()
        compiled.load_state_dict(weights)
        x = torch.randn(1, *shape)
        with torch.no_grad():
            expected, output = model(x), compiled(x)
    except PyTorchGUIError as error:
        return result("refused", _first_line(error), shape=shape, nodes=None)
    except Exception as error:  # noqa: BLE001 - a bench reports every failure and goes on
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return result("internal", f"{type(error).__name__}: {_first_line(error)} "
                                  f"({Path(frame.filename).name}:{frame.lineno})", shape=shape)
    if isinstance(expected, torch.Tensor) and not isinstance(output, torch.Tensor):
        return result("differs", f"{len(output)} outputs where the model gives one", shape=shape)
    if not isinstance(expected, torch.Tensor) or expected.shape != output.shape:
        return result("differs", "another output shape", shape=shape)
    scale = float(expected.abs().max())
    difference = float((output - expected).abs().max())
    if not difference <= TOLERANCE * max(scale, 1e-3):
        return result("differs", f"outputs differ by {difference:.3g} (output scale {scale:.3g})", shape=shape)
    return result("exact", shape=shape, nodes=len(imported.network))


def _worker(connection, max_bytes: float) -> None:
    while True:
        name = connection.recv()
        if name is None:
            return
        connection.send(measure(name, max_bytes))


class Slot:
    """A worker process measuring one model at a time; replaced when a model overruns."""

    def __init__(self, max_bytes: float):
        self.max_bytes = max_bytes
        self.start()

    def start(self) -> None:
        self.connection, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_worker, args=(child, self.max_bytes), daemon=True)
        self.process.start()
        self.name, self.since = None, 0.0

    def give(self, name: str) -> None:
        self.name, self.since = name, time.perf_counter()
        self.connection.send(name)

    def poll(self, timeout: float) -> dict | None:
        if self.connection.poll(0):
            try:
                return self.connection.recv()
            except EOFError:
                pass
        elif self.process.is_alive() and time.perf_counter() - self.since < timeout:
            return None
        crashed = not self.process.is_alive()
        self.process.kill()
        self.process.join()
        self.start()
        return {"status": "crashed" if crashed else "timeout",
                "reason": "the worker died (out of memory?)" if crashed else f"over {timeout:.0f} s",
                "seconds": round(timeout, 2)}


def cause(record: dict) -> str:
    """A failure's reason with the names and numbers that differ from model to model left out."""
    reason = record["reason"]
    if record["status"] == "refused" and "node '" in reason:
        reason = reason.split(": node '", 1)[1].split("' ", 1)[1] if "' " in reason else reason
        reason = reason.split(" (", 1)[0]
    if record["status"] in ("untraceable", "internal", "not_built"):
        reason = reason.split(" (", 1)[0][:110]
    if record["status"] == "differs":
        reason = "outputs differ"
    return f"{record['status']}: {reason}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", help="only the names matching this shell pattern (or comma-separated list)")
    parser.add_argument("--every", type=int, default=1, help="every Nth name of the list (a sample)")
    parser.add_argument("--offset", type=int, default=0,
                        help="start the sample at this name (--every 23 --offset 11: a sample disjoint from offset 0)")
    parser.add_argument("--limit", type=int, help="at most this many names")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per model")
    parser.add_argument("--max-gb", type=float, default=6.0, help="memory a model may take (weights x 3)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--again", action="store_true", help="measure the chosen models again (not from the cache)")
    parser.add_argument("--show", action="store_true", help="print every model's result")
    arguments = parser.parse_args()
    import timm

    names = timm.list_models()
    if arguments.names:
        patterns = arguments.names.split(",")
        names = [name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]
    names = names[arguments.offset::arguments.every][:arguments.limit]
    cache: dict[str, dict] = json.loads(arguments.cache.read_text()) if arguments.cache.is_file() else {}
    cache = {name: record for name, record in cache.items() if record.get("timm") == timm.__version__}
    todo = [name for name in names if arguments.again or name not in cache]
    print(f"{len(names)} models, {len(names) - len(todo)} from {arguments.cache}, {len(todo)} to measure "
          f"with {arguments.jobs} jobs", flush=True)
    started = time.perf_counter()
    slots = [Slot(arguments.max_gb * 2**30) for _ in range(min(arguments.jobs, len(todo)))]
    pending = list(todo)
    while pending or any(slot.name for slot in slots):
        for slot in slots:
            if slot.name is None and pending:
                slot.give(pending.pop(0))
            if slot.name is None:
                continue
            name = slot.name  # a worker that died is replaced, its slot emptied
            record = slot.poll(arguments.timeout)
            if record is None:
                continue
            record["timm"] = timm.__version__
            cache[name] = record
            print(f"  {name}: {record['status']} {record['reason']} ({record['seconds']} s)", flush=True)
            slot.name = None
            arguments.cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = arguments.cache.with_suffix(".tmp")
            temporary.write_text(json.dumps(cache, indent=0, sort_keys=True))
            os.replace(temporary, arguments.cache)
        time.sleep(0.05)
    for slot in slots:
        slot.connection.send(None)
    report(names, cache, arguments.show, time.perf_counter() - started)


def report(names: list[str], cache: dict[str, dict], show: bool, elapsed: float) -> None:
    records = {name: cache[name] for name in names if name in cache}
    statuses = Counter(record["status"] for record in records.values())
    untraceable = statuses["untraceable"]
    left_out = statuses["too_large"] + statuses["not_built"]
    traceable = len(records) - untraceable - left_out
    exact = statuses["exact"]
    if show:
        for name, record in records.items():
            print(f"  {name}: {record['status']} {record['reason']}")
    causes = Counter(cause(record) for record in records.values() if record["status"] != "exact")
    print("causes of the rest:")
    for reason, count in causes.most_common():
        print(f"  {count:4d}  {reason}")
    seconds = sum(record["seconds"] for record in records.values())
    print(f"models: {len(records)}; left out: {statuses['too_large']} too large, {statuses['not_built']} not built "
          f"by timm here; not traceable by torch.fx: {untraceable}; model seconds {seconds:.0f} "
          f"(this run {elapsed:.0f} s)")
    share = exact / traceable if traceable else 0.0
    print(f"timm models imported exactly / traceable: {exact} / {traceable} = {share:.1%}")


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn" if sys.platform == "darwin" else "fork", force=True)
    main()

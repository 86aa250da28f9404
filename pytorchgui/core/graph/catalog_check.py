"""Check the catalogue against the installed torch.

    python -m pytorchgui.core.graph.catalog_check

For every entry: the class exists where the kind allows, every catalogue parameter is a
constructor parameter, every constructor parameter is in the catalogue or recorded as
omitted (with a reason), and every default equals torch's. It also lists torch.nn
activations and losses and torch.optim optimizers that the catalogue lacks and does not
explain. Exit code 1 when anything disagrees, so a torch upgrade that changes a
signature is noticed.
"""
from __future__ import annotations

import inspect
import math
import sys

import torch

from pytorchgui.core.graph.catalog import ALWAYS_OMITTED, Catalog, CatalogEntry, default_catalog

# torch classes the catalogue leaves out on purpose, with the reason.
NOT_IN_CATALOG = {
    "activations": {},
    "losses": {
        "NLLLoss2d": "deprecated alias of NLLLoss",
        "LinearCrossEntropyLoss": "owns the weights of a Linear layer; use a Linear node and CrossEntropyLoss",
    },
    "optimizers": {"Optimizer": "the base class, not an optimizer"},
}


def constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The parameters a user can set, as torch declares them."""
    init = cls.__init__
    skip = {"self", "params", "args", "kwargs"}
    if not (issubclass(cls, torch.nn.RNNBase) and "args" in inspect.signature(init).parameters):
        return {name: p for name, p in inspect.signature(init).parameters.items() if name not in skip}
    skip.add("mode")  # RNNBase's mode is the class itself (LSTM, GRU)
    # RNN, LSTM and GRU declare (*args, **kwargs) and pass them on to RNNBase(mode, ...);
    # their documented parameters are RNNBase's, with proj_size for LSTM only and
    # nonlinearity for RNN only.
    parameters = {n: p for n, p in inspect.signature(torch.nn.RNNBase.__init__).parameters.items() if n not in skip}
    if cls is not torch.nn.LSTM:
        del parameters["proj_size"]
    if cls is torch.nn.RNN:
        parameters["nonlinearity"] = inspect.Parameter(
            "nonlinearity", inspect.Parameter.KEYWORD_ONLY, default="tanh"
        )
    return parameters


def _same(catalogue_value, torch_value) -> bool:
    if isinstance(torch_value, tuple):
        torch_value = list(torch_value)
    if callable(torch_value) and not isinstance(torch_value, type):
        torch_value = torch_value.__name__  # TransformerEncoderLayer(activation=F.relu)
    if isinstance(torch_value, (int, float)) and not isinstance(torch_value, bool):
        return (
            isinstance(catalogue_value, (int, float))
            and not isinstance(catalogue_value, bool)
            and math.isclose(catalogue_value, torch_value, rel_tol=1e-12)
        )
    return catalogue_value == torch_value


def check_entry(entry: CatalogEntry) -> list[str]:
    problems = []
    if entry.source == "pytorchgui":
        signature = inspect.signature(entry.resolve().__init__).parameters
        torch_parameters = {n: p for n, p in signature.items() if n not in ("self", "params", "args", "kwargs")}
    else:
        try:
            torch_parameters = constructor_parameters(entry.resolve())
        except LookupError as error:
            return [str(error)]
    for spec in entry.parameters:
        if spec.name not in torch_parameters:
            problems.append(f"{entry.name}: catalogue parameter '{spec.name}' is not a constructor parameter")
            continue
        torch_default = torch_parameters[spec.name].default
        if torch_default is inspect.Parameter.empty:
            if not spec.required:
                problems.append(f"{entry.name}.{spec.name}: torch requires it, the catalogue does not")
        elif spec.required:
            problems.append(f"{entry.name}.{spec.name}: the catalogue requires it, torch has default {torch_default!r}")
        elif not _same(spec.default, torch_default):
            problems.append(f"{entry.name}.{spec.name}: default {spec.default!r} but torch has {torch_default!r}")
    known = {spec.name for spec in entry.parameters} | set(entry.omitted) | set(ALWAYS_OMITTED)
    for name in torch_parameters:
        if name not in known:
            problems.append(f"{entry.name}: torch parameter '{name}' is neither in the catalogue nor omitted")
    return problems


def missing_classes(catalog: Catalog) -> list[str]:
    problems = []
    expected = {
        "activations": torch.nn.modules.activation.__all__,
        "losses": torch.nn.modules.loss.__all__,
        "optimizers": [
            name for name in torch.optim.__all__
            if isinstance(getattr(torch.optim, name), type)
            and issubclass(getattr(torch.optim, name), torch.optim.Optimizer)
        ],
    }
    for kind, names in expected.items():
        database = catalog.database(kind)
        for name in names:
            if name not in database and name not in NOT_IN_CATALOG[kind]:
                problems.append(f"{kind}: torch has {name}, the catalogue neither lists nor excludes it")
    return problems


def check_catalog(catalog: Catalog | None = None) -> list[str]:
    catalog = catalog or default_catalog()
    problems = []
    for kind in ("layers", "activations", "losses", "optimizers"):
        for entry in catalog.database(kind):
            problems.extend(check_entry(entry))
    problems.extend(missing_classes(catalog))
    return problems


def main() -> int:
    catalog = default_catalog()
    problems = check_catalog(catalog)
    counts = ", ".join(f"{len(catalog.database(k))} {k}" for k in ("layers", "activations", "losses", "optimizers"))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"catalogue: {counts}; torch {torch.__version__}; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

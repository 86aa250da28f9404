"""The core's groups build on each other in one direction, and no module imports itself
back through others (the layering of `pytorchgui/core/__init__.py`, checked mechanically).

Every import counts, those inside functions too: an import moved into a function still
makes the two modules depend on each other, it only hides the cycle until run time.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import pytorchgui.core
from pytorchgui.core import MOVED_MODULES

CORE = "pytorchgui.core"
CORE_DIR = Path(pytorchgui.core.__file__).parent

# The groups in the order they build on each other: a module may import its own group
# and the groups before it. The package itself holds only the finder of old module names.
RANKS = {"errors": 0, "atomic": 0, "safe_load": 0, "machine": 0, "wording": 0, "figures": 0, "": 0,
         "graph": 1, "data": 2, "training": 3, "interop": 4, "workspace": 5}


def core_modules() -> dict[str, Path]:
    """Every module under pytorchgui/core by its dotted name (a package by its own name)."""
    modules = {}
    for path in sorted(CORE_DIR.rglob("*.py")):
        parts = path.relative_to(CORE_DIR).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((CORE, *parts))] = path
    return modules


def rank(module: str) -> int:
    group = module[len(CORE) + 1:].split(".")[0]
    return RANKS[group]


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The core module `name` stands for (an old name answers with its new home), or
    None when it is not a core module."""
    if not (name == CORE or name.startswith(CORE + ".")):
        return None
    tail = name[len(CORE) + 1:].split(".")
    if tail[0] in MOVED_MODULES:
        name = ".".join((CORE, MOVED_MODULES[tail[0]], *tail[1:]))
    while name not in modules:  # `from ...graph.network import Network`: the name is no module, its parent is
        name = name.rpartition(".")[0]
    return name


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The core modules that `module` imports anywhere in its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [resolve(alias.name, modules) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import name`: the submodule `name` if there is one, else the package
            targets = [resolve(f"{base}.{alias.name}", modules) for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target is not None and target != module)
    return found


def import_graph() -> nx.DiGraph:
    modules = core_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        graph.add_edges_from((module, target) for target in imported_modules(module, path, modules))
    return graph


def test_the_graph_sees_the_imports_it_should():
    """The checks below mean something only if the parsing finds the imports."""
    graph = import_graph()
    assert len(graph) >= 35
    assert graph.has_edge(f"{CORE}.training.trainer", f"{CORE}.graph.compiler")
    assert graph.has_edge(f"{CORE}.interop.templates", f"{CORE}.training.network_format")  # `from package import module`
    assert graph.has_edge(f"{CORE}.workspace", f"{CORE}.graph.network")
    assert graph.has_edge(f"{CORE}.training", f"{CORE}.training.trainer")  # inside a function


def test_the_parser_resolves_every_spelling_of_an_import(tmp_path):
    """Imports inside functions, relative ones, old module names and submodules named in
    `from package import ...` all reach the module they load."""
    modules = core_modules()
    source = tmp_path / "probe.py"
    source.write_text(
        "import os\n"
        "from pytorchgui.core.errors import DatasetError\n"
        "def later():\n"
        "    from pytorchgui.core import datasets, MOVED_MODULES\n"
        "    import pytorchgui.core.graph.shapes\n"
        "    from ..graph import compiler\n"
        "    from .trainer import Trainer\n"
        "    from . import tasks\n", encoding="utf-8")
    found = imported_modules(f"{CORE}.training.probe", source, modules)
    assert found == {f"{CORE}.errors", f"{CORE}.data.datasets", CORE, f"{CORE}.graph.shapes",
                     f"{CORE}.graph.compiler", f"{CORE}.training.trainer", f"{CORE}.training.tasks"}


def test_no_module_imports_itself_back_through_others():
    graph = import_graph()
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:  # every pair of modules that import each other, through others or directly
            cycles.extend(f"{source} imports {target}, which leads back to it"
                          for source, target in graph.subgraph(component).edges)
    assert not cycles, "import cycles in the core:\n" + "\n".join(sorted(cycles))


def test_no_group_imports_a_group_above_it():
    graph = import_graph()
    upward = sorted(f"{source} (rank {rank(source)}) imports {target} (rank {rank(target)})"
                    for source, target in graph.edges if rank(target) > rank(source))
    assert not upward, ("a core module imports from a group above its own (base < graph < data < training < "
                        "interop < workspace):\n" + "\n".join(upward))

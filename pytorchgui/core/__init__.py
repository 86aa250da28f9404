"""The model of MVC: no Qt anywhere below this folder (tests/core/test_core_is_headless.py).

Grouped by concern, each group building only on the ones before it:

    errors, atomic, safe_load   the base every group uses
    graph/                      catalogue, network, shapes, compiler
    data/                       sources, datasets, batches, augmentation, fit
    training/                   options, network files, Trainer, runs, metrics
    interop/                    importers, exports, blocks, clipboard, templates
    workspace                   the open session, above them all

The modules used to sit in this one folder. Scripts that import them by their old names
(`pytorchgui.core.datasets`) get the module from its new home.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED_MODULES = {
    **{name: f"graph.{name}" for name in ("catalog", "catalog_check", "merge", "sequence_layers", "network",
                                           "shapes", "compiler", "layout")},
    **{name: f"data.{name}" for name in ("data_source", "datasets", "arrays", "sequences", "augmentation", "fit")},
    **{name: f"training.{name}" for name in ("options", "network_format", "tasks", "memory", "lr_finder", "runs",
                                              "metrics", "saliency")},
    **{name: f"interop.{name}" for name in ("importers", "onnx_import", "export", "blocks", "clipboard",
                                             "templates")},
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module name with the module at its new home (the same object, so
    classes compare equal whichever name imported them)."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition(".")
        if prefix == __name__ and name in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MOVED_MODULES[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module) -> None:
        """The module was executed under its new name already."""


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())

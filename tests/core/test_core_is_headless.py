"""The model of MVC never imports Qt (napari's rule, checked mechanically)."""
import pkgutil
import subprocess
import sys

import pytorchgui.core


def test_core_modules_import_without_qt():
    modules = [m.name for m in pkgutil.walk_packages(pytorchgui.core.__path__, "pytorchgui.core.")]
    assert len(modules) >= 30
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'pyqtgraph'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

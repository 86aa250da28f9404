"""What the README says about the program, checked against the program, so the two cannot
drift apart: the command line's subcommands and what `pip install pytorchgui` installs."""
import argparse
import ast
import re
from pathlib import Path

from pytorchgui import cli, paths
from pytorchgui.core.training import network_format
from pytorchgui.core.training.options import TrainingConfig
from tests.readme import README, paragraph

ROOT = Path(__file__).resolve().parents[2]


def _architecture_row(folder: str) -> str:
    """The architecture table's row of one folder or file (its last cell)."""
    rows = [line for line in README.splitlines() if line.startswith(f"| `{folder}` |")]
    assert len(rows) == 1, f"the README's architecture table has {len(rows)} rows for {folder}"
    return rows[0].rstrip(" |").rsplit("|", 1)[1]


def _cli_subcommands() -> set[str]:
    subparsers = next(action for action in cli._parser()._actions
                      if isinstance(action, argparse._SubParsersAction))
    return set(subparsers.choices)


def _install_requires() -> list[str]:
    """setup.py's install_requires, read without running setup.py."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [re.split(r"[<>=!~\[; ]", requirement, 1)[0].lower() for requirement in ast.literal_eval(node.value)]
    raise AssertionError("setup.py has no install_requires")


def test_the_architecture_table_lists_every_subcommand_of_the_cli():
    row = _architecture_row("pytorchgui/cli.py")
    listed = set(re.findall(r"`([a-z-]+)`", row.split("command:", 1)[1]))
    assert listed == _cli_subcommands()



def test_captum_is_installed_with_the_app_as_the_readme_says():
    assert re.search(r"Captum,\s+installed\s+with\s+the\s+app", README)
    assert "captum" in _install_requires()


def test_the_first_run_promises_what_start_trains_on_the_ready_example():
    first_run = paragraph("**A first run in two minutes")
    assert "LeNet-5" in first_run  # the example the app opens on (main_window.START_EXAMPLE)
    lenet5 = network_format.load(paths.example_networks_dir() / "lenet5.json")
    epochs = TrainingConfig.from_dict(lenet5.recipe).epochs
    assert re.search(rf"\b{epochs} epochs\b", first_run), f"the first Start trains {epochs} epochs"

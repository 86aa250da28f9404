"""The `pytorchgui` command: no arguments opens the app."""
from __future__ import annotations

import argparse
import sys

from pytorchgui import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytorchgui",
        description="Design, train and evaluate PyTorch networks. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"PyTorchGUI {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    build_parser().parse_args(argv)
    from pytorchgui.app import main as run_app

    return run_app()

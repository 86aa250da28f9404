"""The README's text for the tests that hold its claims to the program."""
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def paragraph(start: str) -> str:
    """The README's paragraph that begins with `start`, as one line."""
    text = README.split(start, 1)[1].split("\n\n", 1)[0]
    return " ".join(f"{start}{text}".split())

"""Counted nouns: what the log, the status bar and the CLI say of a number of things."""
import pytest

from pytorchgui.core.wording import counted


@pytest.mark.parametrize("count, noun, plural, said", [
    (1, "epoch", None, "1 epoch"), (0, "epoch", None, "0 epochs"), (3, "epoch", None, "3 epochs"),
    (12000, "sample", None, "12,000 samples"), (1, "batch", "batches", "1 batch"), (2, "batch", "batches", "2 batches"),
])
def test_a_count_takes_the_noun_in_its_number(count, noun, plural, said):
    assert counted(count, noun, plural) == said

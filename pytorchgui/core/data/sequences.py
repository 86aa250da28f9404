"""Sequences: text tokenised into ids, time series cut into windows, and a built-in
sequence dataset, each as a TensorDataset that an Embedding, LSTM, GRU or Transformer
network takes.

The tokenizer is deliberately simple and documented in the README: lower-case, then
words (runs of letters and digits) or single characters; the vocabulary is the N most
frequent tokens of the training set (ties in order of first appearance), after id 0 for
padding and id 1 for unknown tokens; every sequence is cut or padded at its end to a
fixed length. It is a value (`Tokenizer`) saved with the run (`tokenizer.json`), so the
test set, the Evaluation tab and the Try-it pane tokenise exactly as training did.
"""
from __future__ import annotations

import collections
import functools
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from pytorchgui.core.atomic import atomic_write_text
from pytorchgui.core.data.samples import TensorDataset
from pytorchgui.core.errors import DatasetError

PAD, UNKNOWN = "<pad>", "<unk>"
TOKEN_MODES = ("words", "characters")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Tokenizer:
    mode: str  # words or characters
    length: int
    vocabulary: tuple[str, ...]  # id -> token; 0 is padding, 1 unknown

    @classmethod
    def fit(cls, texts, mode: str = "words", size: int = 10000, length: int = 64) -> "Tokenizer":
        if mode not in TOKEN_MODES:
            raise DatasetError(f"tokens must be {' or '.join(TOKEN_MODES)}, not {mode!r}")
        if size < 3 or length < 1:
            raise DatasetError(f"a vocabulary needs at least 3 tokens (not {size}) and sequences a length of at "
                               f"least 1 (not {length})")
        counts = collections.Counter()
        for text in texts:
            counts.update(split_text(text, mode))
        common = [token for token, _ in counts.most_common(size - 2)]  # most_common keeps first-seen order on ties
        return cls(mode, length, (PAD, UNKNOWN, *common))

    def ids(self, text: str) -> list[int]:
        tokens = [self.index.get(token, 1) for token in split_text(text, self.mode)][:self.length]
        return tokens + [0] * (self.length - len(tokens))

    def encode(self, texts) -> torch.Tensor:
        return torch.tensor([self.ids(text) for text in texts], dtype=torch.int64).reshape(-1, self.length)

    @functools.cached_property  # a frozen dataclass still has an instance __dict__ to cache in
    def index(self) -> dict[str, int]:
        """token -> id."""
        return {token: i for i, token in enumerate(self.vocabulary)}

    def to_json(self) -> dict:
        return {"format": "pytorchgui.tokenizer", "version": 1, **asdict(self), "vocabulary": list(self.vocabulary)}

    @classmethod
    def from_json(cls, data, where: str = "tokenizer") -> "Tokenizer":
        try:
            if data.get("format") != "pytorchgui.tokenizer":
                raise ValueError("not a PyTorchGUI tokenizer")
            tokenizer = cls(str(data["mode"]), int(data["length"]), tuple(str(t) for t in data["vocabulary"]))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise DatasetError(f"{where} is not a tokenizer PyTorchGUI wrote ({error})") from None
        if tokenizer.mode not in TOKEN_MODES or len(tokenizer.vocabulary) < 2 or tokenizer.length < 1:
            raise DatasetError(f"{where}: the tokenizer's mode, length or vocabulary is not valid")
        return tokenizer

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_json(), ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> "Tokenizer":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DatasetError(f"{path} cannot be read as a tokenizer ({error})") from None
        return cls.from_json(data, str(path))

    def describe(self) -> str:
        return f"{self.mode}, {len(self.vocabulary):,} tokens, length {self.length}"


def with_tokenizer(dataset, tokenizer: Tokenizer | None):
    """`dataset` with its text tokenised by `tokenizer` (a run's, the training set's), read
    again from its source when it was tokenised with a vocabulary of its own; a test set
    must give the ids the network learned, not ids of its own vocabulary."""
    own = getattr(dataset, "tokenizer", None)
    if tokenizer is None or own is None or own == tokenizer:
        return dataset
    if dataset.origin is None:
        raise DatasetError(f"{dataset.name} was tokenised with its own vocabulary and cannot be read again with the "
                           "training set's: import it from its file")
    again = dataset.origin.load(tokenizer=tokenizer)
    again.name, again.normalization = dataset.name, dataset.normalization
    again.target_normalization = dataset.target_normalization
    return again


def decode(ids, tokenizer: Tokenizer | None) -> str:
    """Token ids as the tokens they stand for, padding left out (the ids themselves when
    there is no tokenizer: built-in sequences, integer arrays)."""
    ids = [int(i) for i in ids]
    if tokenizer is None:
        return " ".join(map(str, ids))
    joiner = " " if tokenizer.mode == "words" else ""
    return joiner.join(tokenizer.vocabulary[i] if i < len(tokenizer.vocabulary) else UNKNOWN for i in ids if i != 0)


def split_text(text, mode: str) -> list[str]:
    text = str(text).lower()
    return _WORD.findall(text) if mode == "words" else [c for c in text if not c.isspace()]


# -- CSV text and time series ---------------------------------------------------------------------
def text_inputs(path: Path, frame, column: str, tokenizer: Tokenizer | None, mode: str, size: int,
                length: int) -> tuple[torch.Tensor, Tokenizer]:
    """Token ids [rows, length] of a CSV text column, with the training set's tokenizer
    (made from this column when `tokenizer` is None)."""
    if column not in frame.columns:
        raise DatasetError(f"{path} has no column {column!r} to read text from; its columns are "
                           f"{', '.join(map(str, frame.columns))}")
    texts = frame[column].fillna("").astype(str)
    tokenizer = tokenizer or Tokenizer.fit(texts, mode, size, length)
    if len(tokenizer.vocabulary) <= 2:
        raise DatasetError(f"{path}: the text column {column!r} holds no {tokenizer.mode} (every cell is empty or "
                           "punctuation): choose the column that holds the text")
    return tokenizer.encode(texts), tokenizer


def windows(path: Path, values: torch.Tensor, target: torch.Tensor, window: int, horizon: int, names: list[str]):
    """(inputs [N, window, features], targets [N, ...]): each sample is `window` rows of
    every numeric column, and its target the target column `horizon` rows after the
    window's last row."""
    rows = len(values)
    count = rows - window - horizon + 1
    if window < 1 or horizon < 0:
        raise DatasetError(f"{path}: the window must be at least 1 row and the horizon at least 0")
    if count < 1:
        raise DatasetError(f"{path} has {rows} rows, too few for a window of {window} and a horizon of {horizon} "
                           f"(they need at least {window + horizon}): choose a shorter window")
    starts = torch.arange(count)
    inputs = values[starts[:, None] + torch.arange(window)]
    return inputs, target[starts + window - 1 + horizon], names


# -- the built-in sequences ------------------------------------------------------------------------
SEQUENCE_CLASSES = ["even ... even", "even ... odd", "odd ... even", "odd ... odd"]
SEQUENCE_LENGTH, SEQUENCE_VOCABULARY = 16, 12


def make_sequences(samples: int = 8000, seed: int = 0, train: bool = True):
    """Built-in sequences (a TensorDataset): 16 token ids (1..11) each. The class says
    whether the first and whether the last token is odd (2 x first odd + last odd: classes
    0 to 3). The tokens between are noise drawn from the same ids, so counting tokens
    cannot tell the class: a network must carry the first token to the end of the sequence
    (an LSTM's memory) or look at both ends at once (attention with positions).
    Deterministic for a seed; the train and test sets use different seeds."""
    generator = torch.Generator().manual_seed(seed + 1000)
    tokens = torch.randint(1, SEQUENCE_VOCABULARY, (samples, SEQUENCE_LENGTH), generator=generator)
    labels = 2 * (tokens[:, 0] % 2) + tokens[:, -1] % 2
    return TensorDataset(name=f"Sequences ({'train' if train else 'test'})", source="built-in sequences (generated)",
                         inputs=tokens, targets=labels, classes=list(SEQUENCE_CLASSES), kind="tokens")

"""Texts and their tokens: the embedded corpus, files, tokenisers, the vocabulary.

The embedded corpus is the text of the standard library's ``pydoc_data.topics`` (the
help topics of the Python documentation: real English that ships with every Python, so
nothing is downloaded), one document per topic.  Tokens are characters (``char``) or
words (``word``: runs of letters/digits/underscore, and each punctuation character as a
token of its own; whitespace separates and is dropped; case is kept).

The vocabulary holds the K most frequent tokens, ids by decreasing frequency (ties by
the token's string), so id 0 is the most frequent token.

Example
-------
>>> tokenize("Hi, you.", "word")
['Hi', ',', 'you', '.']
>>> v = Vocabulary.from_documents([["a", "b", "a"], ["c", "a", "b"]], K=2)
>>> v.tokens, v.encode(["a", "c", "b"]).tolist()
(('a', 'b'), [0, -1, 1])
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ntp_mechanics.model.dataset import DatasetError

__all__ = ["EMBEDDED", "UNITS", "CorpusError", "Vocabulary", "embedded_documents",
           "read_documents", "tokenize"]

EMBEDDED = "pydoc_data.topics"
UNITS = ("char", "word")
UNK = "<unk>"
_WORD = re.compile(r"\w+|[^\w\s]")


class CorpusError(DatasetError):
    """A text, option or output that cannot make a corpus (one-line message, exit 2)."""


@lru_cache(maxsize=1)
def embedded_documents() -> tuple[str, ...]:
    """The embedded corpus: one document per ``pydoc_data.topics`` topic, sorted by topic."""
    from pydoc_data.topics import topics

    return tuple(topics[k] for k in sorted(topics))


def read_documents(paths: Sequence[str | Path]) -> list[tuple[str, str]]:
    """``(path, text)`` of every file: a folder stands for its files (recursive, sorted,
    hidden ones skipped).  Empty, unreadable or non-UTF-8 files raise :class:`CorpusError`."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not any(
                part.startswith(".") for part in f.relative_to(p).parts))
            if not files:
                raise CorpusError(f"{p}: the folder holds no files")
        else:
            files = [p]
        out += [(str(f), _read_text(f)) for f in files]
    return out


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror}") from None
    if not data.strip():
        raise CorpusError(f"{path} is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded); "
                          "is it a binary file?") from None
    if "\x00" in text:
        raise CorpusError(f"{path} holds NUL characters: a binary file, not text")
    return text


def tokenize(text: str, unit: str) -> list[str]:
    """The tokens of ``text``: characters or words (see the module docstring)."""
    if unit == "char":
        return list(text)
    if unit == "word":
        return _WORD.findall(text)
    raise CorpusError(f"unknown unit {unit!r}: choose one of {', '.join(UNITS)}")


@dataclass(frozen=True)
class Vocabulary:
    """Token strings by id; ``unk`` is True when the last id stands for every other token."""

    tokens: tuple[str, ...]
    unk: bool = False
    distinct: int = 0  # distinct tokens in the text, before the cap
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.index.update((t, i) for i, t in enumerate(self.tokens))

    @classmethod
    def from_documents(cls, docs: Iterable[Sequence[str]], K: int | None = None,
                       unk: bool = False) -> Vocabulary:
        """The ``K`` most frequent tokens (all when ``K`` is None); with ``unk`` and more
        distinct tokens than K, the K-1 most frequent and an unknown-token id."""
        freq: Counter[str] = Counter()
        for d in docs:
            freq.update(d)
        ranked = sorted(freq, key=lambda t: (-freq[t], t))
        if K is None or len(ranked) <= K:
            return cls(tuple(ranked), False, len(ranked))
        if unk:
            return cls((*ranked[: K - 1], UNK), True, len(ranked))
        return cls(tuple(ranked[:K]), False, len(ranked))

    @property
    def K(self) -> int:
        return len(self.tokens)

    def encode(self, toks: Sequence[str]) -> np.ndarray:
        """Token ids (int64); out-of-vocabulary tokens map to the unknown id, else -1."""
        miss = self.K - 1 if self.unk else -1
        get = self.index.get
        return np.fromiter((get(t, miss) for t in toks), dtype=np.int64, count=len(toks))

"""A corpus in one call: text -> tokens -> windows -> datasets and their graphs.

:func:`build_corpus` runs the phases of THEORY.md section 10 and times each:
``tokenize`` (tokens and vocabulary), ``windows`` (cut, filter, merge, split),
``embeddings``, ``graphs`` (the token-priority graphs of the training windows, as
sparse arrays).  Nothing is written: :mod:`ntp_mechanics.app.corpus` writes.

Example
-------
>>> c = build_corpus(["abcabcabd abcab"], unit="char", window=4, held_out=0.0)
>>> c.vocabulary, c.stats["windows_total"], c.stats["windows"], c.train.n
(('a', 'b', 'c', ' ', 'd'), 11, 8, 6)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntp_mechanics.corpora.embeddings import embedding_matrix
from ntp_mechanics.corpora.text import UNITS, CorpusError, Vocabulary, tokenize
from ntp_mechanics.corpora.windows import cut_windows, split_indices
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs

__all__ = ["MAX_VOCAB", "MAX_WINDOW", "Corpus", "build_corpus"]

MAX_WINDOW = 4096
MAX_VOCAB = 1 << 20


@dataclass(frozen=True)
class Corpus:
    """The datasets of a corpus, its vocabulary (token strings by id) and its figures."""

    vocabulary: tuple[str, ...]
    train: Dataset
    heldout: Dataset | None
    stats: dict[str, Any]
    timings: dict[str, float]


def build_corpus(
    documents: Sequence[str],
    unit: str = "char",
    window: int = 16,
    vocab: int | None = None,
    embeddings: str = "onehot",
    held_out: float = 0.1,
    seed: int = 0,
    oov: str = "drop",
    name: str = "",
) -> Corpus:
    """Training and held-out datasets of ``documents`` (see the module docstring).

    ``oov`` says what happens to tokens outside the ``vocab`` most frequent ones:
    ``drop`` drops every window that holds one (in the window or as its label), ``unk``
    maps them to one unknown-token id (the last id).
    """
    _check_options(unit, window, vocab, held_out, oov)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[phase] = round(now - clock, 4)
        clock = now

    docs = [tokenize(d, unit) for d in documents]
    voc = Vocabulary.from_documents(docs, vocab, unk=oov == "unk")
    ids = [voc.encode(d) for d in docs]
    n_tokens = sum(len(d) for d in docs)
    oov_tokens = sum(int((i < 0).sum()) for i in ids) if not voc.unk else sum(
        int((i == voc.K - 1).sum()) for i in ids)
    lap("tokenize")
    if voc.K == 0:
        raise CorpusError("the text has no tokens")
    w = cut_windows(ids, window)
    if w.total == 0:
        raise CorpusError(f"the text has {n_tokens} tokens, too few for one window of "
                          f"length {window} and its label")
    if w.kept == 0:
        raise CorpusError(f"no window of length {window} contains its label "
                          f"(windows: {w.total}, with a token outside the vocabulary: "
                          f"{w.out_of_vocabulary}): nothing inside the theory's hypotheses")
    placeholder = np.zeros((voc.K, 1))  # embeddings come after the split (same for both)
    merged = Dataset.from_matrix(placeholder, w.tokens, None, w.labels).merged()
    tr, ho = split_indices(merged.n, held_out, seed)
    if tr.size == 0:
        raise CorpusError(f"--held-out {held_out} leaves no training window "
                          f"({merged.n} distinct windows)")
    lap("windows")
    E = embedding_matrix(embeddings, voc.K, seed)
    lap("embeddings")
    full = merged.with_embeddings(E)
    del E  # the datasets share one read-only copy
    train, heldout = (full.subset(idx).with_name(f"{name}{role}") if idx.size else None
                      for idx, role in ((tr, "train"), (ho, "heldout")))
    g = SparsePriorityGraphs.from_dataset(train)
    summary = g.summary()
    lap("graphs")
    stats = {
        "unit": unit, "window": window, "vocab_requested": vocab, "oov": oov,
        "embeddings": embeddings, "held_out": held_out, "seed": seed,
        "K": voc.K, "d": train.d,
        "documents": len(documents), "tokens": n_tokens,
        "distinct_tokens": voc.distinct, "tokens_out_of_vocabulary": oov_tokens,
        "windows_total": w.total, "windows_out_of_vocabulary": w.out_of_vocabulary,
        "windows_unrealizable": w.unrealizable,
        "windows": w.kept,
        "kept_fraction": round(w.kept / max(w.total - w.out_of_vocabulary, 1), 6),
        "kept_fraction_of_all": round(w.kept / w.total, 6),
        "distinct_windows": merged.n,
        "train_windows": train.n, "heldout_windows": heldout.n if heldout else 0,
        **summary,
    }
    return Corpus(voc.tokens, train, heldout, stats, timings)


def _check_options(unit: str, window: int, vocab: int | None, held_out: float,
                   oov: str) -> None:
    if unit not in UNITS:
        raise CorpusError(f"unknown unit {unit!r}: choose one of {', '.join(UNITS)}")
    if not 1 <= window <= MAX_WINDOW:
        raise CorpusError(f"--window {window} out of range: T must be in [1, {MAX_WINDOW}]")
    if vocab is not None and not 1 <= vocab <= MAX_VOCAB:
        raise CorpusError(f"--vocab {vocab} out of range: K must be in [1, {MAX_VOCAB}]")
    if not 0.0 <= held_out < 1.0:
        raise CorpusError(f"--held-out {held_out} out of range: a fraction in [0, 1)")
    if oov not in ("drop", "unk"):
        raise CorpusError(f"unknown --oov {oov!r}: choose drop or unk")

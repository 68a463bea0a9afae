"""The corpus grid of a sweep: its parameters, and each point checked and made concrete.

A grid with ``source=corpus`` sweeps the parameters of :data:`CORPUS_PARAMETERS`: how the
embedded corpus is cut (``unit``, window length ``T``, vocabulary cap ``vocab``, the
split seed ``corpus_seed``), its embeddings (``onehot``, ``d = K``; or ``gaussian`` with
``d``, which may be written ``K``, ``2K``, ...), how many distinct training and
held-out windows each trial draws (``windows``, ``heldout``: seeded subsets, ``all``
for every one) and the training (``optimizer`` gd or ngd, ``lr``).  Every point is
checked when the grid is parsed (:func:`resolve_point`): its corpus is cut then (a
fraction of a second), so a unit, window or vocabulary that yields no window is
refused before any work.  The tasks are :mod:`~ntp_mechanics.app.experiment.corpus_tasks`.

Example
-------
>>> p = resolve_point({"unit": "char", "T": 4, "vocab": 6, "embeddings": "onehot",
...                    "d": "K", "windows": 40, "heldout": 20, "corpus_seed": 0,
...                    "optimizer": "ngd", "lr": "auto"})
>>> p["source"], p["d"]
('corpus', 6)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ntp_mechanics.app.experiment.values import SweepError, int_or_k, positive_float
from ntp_mechanics.corpora.build import MAX_VOCAB, MAX_WINDOW
from ntp_mechanics.corpora.text import UNITS
from ntp_mechanics.model.errors import BadInputError

__all__ = ["CORPUS_PARAMETERS", "HELD_OUT", "corpus", "resolve_point", "vocab_of"]

HELD_OUT = 0.25
"""Fraction of the corpus's distinct windows held out (before each trial's subset)."""
EMBEDDINGS = ("onehot", "gaussian")


def _count_or_all(text: str) -> int | str:
    """A positive integer, or ``all``."""
    if text == "all":
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError("a positive integer or all")


def _choice(allowed: tuple[str, ...], hint: str = "") -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}{hint}")
        return text

    return parse


def _seed(text: str) -> int:
    if not text.isdigit():
        raise ValueError("a non-negative integer")
    return int(text)


CORPUS_PARAMETERS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "unit": (_choice(UNITS), "char"),
    "T": (int, 8),
    "vocab": (_count_or_all, "all"),
    "embeddings": (_choice(EMBEDDINGS, " (gaussian takes its dimension from d)"), "onehot"),
    "d": (int_or_k, "K"),
    "windows": (_count_or_all, 1200),
    "heldout": (_count_or_all, 400),
    "corpus_seed": (_seed, 0),
    "optimizer": (_choice(("gd", "ngd")), "ngd"),
    "lr": (positive_float, "auto"),
}
"""Parameter -> (parser of one value, default) of a ``source=corpus`` grid.  ``vocab``:
the most frequent tokens kept (the rest map to one unknown token, so ``K = vocab``);
``lr=auto``: 0.01 for ngd (the paper's), ``1/smoothness bound`` for gd."""

@functools.lru_cache(maxsize=8)
def corpus(unit: str, T: int, vocab: int | None, corpus_seed: int, embeddings: str) -> Any:
    """The embedded corpus cut so (:func:`ntp_mechanics.corpora.build_corpus`), cached."""
    from ntp_mechanics.corpora import build_corpus
    from ntp_mechanics.corpora.text import embedded_documents

    return build_corpus(embedded_documents(), unit=unit, window=T, vocab=vocab,
                        embeddings=embeddings, held_out=HELD_OUT, seed=corpus_seed,
                        oov="unk")


def vocab_of(p: dict[str, Any]) -> int | None:
    """The vocabulary cap of a point (None: every token)."""
    return None if p["vocab"] == "all" else int(p["vocab"])


def resolve_point(point: dict[str, Any]) -> dict[str, Any]:
    """A corpus grid point checked and made concrete (``d`` a number); its corpus is cut.

    Raises
    ------
    SweepError
        ``T`` or ``vocab`` out of range, a cut without a training or held-out window,
        ``onehot`` with ``d`` other than ``K``.
    """
    where = " ".join(f"{k}={v}" for k, v in point.items())
    if not 2 <= point["T"] <= MAX_WINDOW:
        raise SweepError(f"T must be in [2, {MAX_WINDOW}] at {where}")
    vocab = vocab_of(point)
    if vocab is not None and not 2 <= vocab <= MAX_VOCAB:
        raise SweepError(f"vocab must be in [2, {MAX_VOCAB}] or all at {where}")
    try:  # embeddings of width 1: only the cut is checked here, cheaply
        c = corpus(point["unit"], point["T"], vocab, point["corpus_seed"], "gaussian:1")
    except BadInputError as exc:
        raise SweepError(f"{exc} at {where}") from None
    if c.heldout is None or c.heldout.n == 0:
        raise SweepError(f"the cut leaves no held-out window at {where}")
    K = int(c.stats["K"])
    d = point["d"]
    d = K * int(d[:-1] or 1) if isinstance(d, str) else d
    if d < 1:
        raise SweepError(f"need d >= 1 at {where}")
    if point["embeddings"] == "onehot" and d != K:
        raise SweepError(f"onehot embeddings have d = K = {K}, not {d}; "
                         f"use embeddings=gaussian for another d at {where}")
    return {"source": "corpus", **point, "d": d}

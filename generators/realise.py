"""Realisations: datasets whose token-priority graphs are exactly a given spec.

A *realisation* of a :class:`~ntp_mechanics.generators.graphs.GraphSpec` is a dataset ``D`` with
``TokenPriorityGraphs.from_dataset(D).edge_sets() == spec.edges``.  Every edge
``y -> x`` of ``G^(k)`` is realised by a sample with query ``k`` (last), label ``y``
and tokens drawn from ``{y} ∪ out(y) ∪ {k}``; such a sample adds only edges of
``out(y)`` (``y -> k`` is itself forced, THEORY.md section 2).  Within that rule a
realisation may split ``out(y)`` over several samples, repeat tokens (changing the
label multiplicity ``m_i``), shuffle non-query positions, vary lengths, add extra
samples and copies - none of which changes the graphs, while the copies and
multiplicities do move ``W_fin`` (fact F8).

Source: Li et al., *Mechanics of Next Token Prediction with Self-Attention*,
AISTATS 2024, its definition of the token-priority graph.

Example
-------
>>> from ntp_mechanics.generators.graphs import GraphSpec
>>> spec = GraphSpec.from_edges(3, {2: [(0, 2), (0, 1)]})
>>> [(s.tokens, s.label) for s in realise(spec).samples]
[((0, 1, 2), 0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.embeddings import EmbeddingsArg, as_embedding_strategy
from ntp_mechanics.generators.graphs import GraphSpec
from ntp_mechanics.model.dataset import Dataset

__all__ = ["realisations", "realise"]

Pair = tuple[tuple[int, ...], int]


def realise(
    spec: GraphSpec,
    E: np.ndarray | Sequence[Sequence[float]] | None = None,
    *,
    copies: int = 1,
    name: str = "",
) -> Dataset:
    """The canonical realisation: one sample per label and query, each ``copies`` times.

    The sample for label ``y`` of ``G^(k)`` is ``(y, *sorted(out(y) - {k}), k)``
    (``(*sorted(out(k)), k)`` for ``y = k``); a query without edges gets ``(k,) -> k``.
    ``E`` defaults to the identity ``I_K``.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    pairs = []
    for k in spec.queries:
        for body, y in _bodies(spec, k, [(y, sorted(_others(spec, k, y))) for y in spec.labels(k)]):
            pairs += [((*body, k), y)] * copies
    return Dataset.from_arrays(np.eye(spec.K) if E is None else E, pairs, name)


def _others(spec: GraphSpec, k: int, y: int) -> frozenset[int]:
    """``out(y) - {k}``: the tokens a sample must show besides ``y`` and ``k``."""
    return spec.out_neighbours(k, y) - {k}


def _allowed(spec: GraphSpec, k: int, y: int) -> list[int]:
    """Tokens a non-query position of a (k, y) sample may hold without adding edges."""
    return sorted({y, k} | spec.out_neighbours(k, y))


def _bodies(spec: GraphSpec, k: int, chunks: list[tuple[int, list[int]]]) -> list[Pair]:
    """Non-query positions ``(y, *chunk)`` (just ``chunk`` for ``y = k``) per chunk."""
    if not spec.labels(k):
        return [((), k)]
    return [(tuple(chunk) if y == k else (y, *chunk), y) for y, chunk in chunks]


def realisations(
    spec: GraphSpec,
    embeddings: EmbeddingsArg = None,
    *,
    copies: int | None = None,
    max_copies: int = 2,
    max_len: int = 8,
    max_samples: int | None = 12,
    split: bool = True,
    extra_samples: int = 2,
    repeat_tokens: bool = True,
    shuffle: bool = True,
    equal_lengths: bool = False,
    name: str = "",
) -> SearchStrategy[Dataset]:
    """Datasets whose token-priority graphs are exactly ``spec``.

    * ``embeddings`` - see :func:`ntp_mechanics.generators.embeddings.as_embedding_strategy`
      (default: a full-rank family with ``d >= K``).
    * ``copies`` - every sample's number of copies (fixed), else drawn in
      ``[1, max_copies]`` per sample: copies are what move ``W_fin``.
    * ``max_len`` - cap on sequence length ``T_i`` (at least 3).
    * ``max_samples`` - soft cap on ``n``: splits, extra samples and copies are only
      drawn while the count stays below it (the fewest samples that realise the
      spec within ``max_len`` are always allowed); None for no cap.
    * ``split`` - spread ``out(y)`` over several samples (else one sample per label
      unless ``max_len`` forces a split).
    * ``extra_samples`` - up to this many redundant samples per query (subsets of
      the allowed tokens, ``[k] -> k`` included).
    * ``repeat_tokens`` - repeat allowed tokens (varies the label multiplicity).
    * ``shuffle`` - random order of non-query positions and of samples.
    * ``equal_lengths`` - pad every sample to one length ``T`` with allowed tokens.

    Shrinks towards the canonical realisation :func:`realise` with one copy each.
    """
    if max_len < 3:
        raise InvalidArgument(f"max_len must be >= 3 (label, neighbour, query), got {max_len}")
    if (copies is not None and copies < 1) or max_copies < 1 or extra_samples < 0:
        raise InvalidArgument("copies and max_copies must be >= 1, extra_samples >= 0")
    opts = _Options(copies, max_copies, max_len, split, extra_samples, repeat_tokens, shuffle)
    emb = as_embedding_strategy(embeddings, spec.K)
    base = sum(sum(_min_chunks(spec, k, max_len)) for k in spec.queries)
    if copies is not None:
        base *= copies
    slack = 10**9 if max_samples is None else max(0, max_samples - base)

    @st.composite
    def _draw(draw: st.DrawFn) -> Dataset:
        budget = _Budget(slack)
        counted: list[tuple[Pair, int]] = []
        for k in spec.queries:
            counted += draw(_query_samples(spec, k, opts, budget))
        if equal_lengths:  # pad before copying, so copies stay identical
            padded = draw(_pad(spec, [pair for pair, _ in counted]))
            counted = [(pair, n) for pair, (_, n) in zip(padded, counted, strict=True)]
        pairs = [pair for pair, n in counted for _ in range(n)]
        if shuffle:
            pairs = list(draw(st.permutations(pairs)))
        return Dataset.from_arrays(draw(emb), pairs, name)

    return _draw()


@dataclass(frozen=True)
class _Options:
    copies: int | None
    max_copies: int
    max_len: int
    split: bool
    extra: int
    repeat: bool
    shuffle: bool


class _Budget:
    """Samples still allowed beyond the minimum (one per draw; mutable on purpose)."""

    def __init__(self, left: int) -> None:
        self.left = left

    def take(self, n: int) -> int:
        self.left -= n
        return n


def _cap(max_len: int, y: int, k: int) -> int:
    """Room for out-neighbours in a (k, y) sample: ``max_len`` minus label and query."""
    return max_len - (1 if y == k else 2)


def _min_chunks(spec: GraphSpec, k: int, max_len: int) -> list[int]:
    """Fewest samples per label of ``G^(k)`` within ``max_len`` (one for no label)."""
    return [
        max(1, -(-len(_others(spec, k, y)) // _cap(max_len, y, k))) for y in spec.labels(k)
    ] or [1]


@st.composite
def _query_samples(
    draw: st.DrawFn, spec: GraphSpec, k: int, o: _Options, budget: _Budget
) -> list[tuple[Pair, int]]:
    """The samples of query ``k``, each with its number of copies."""
    chunks: list[tuple[int, list[int]]] = []
    for y in spec.labels(k):
        others = sorted(_others(spec, k, y))
        if o.shuffle:
            others = list(draw(st.permutations(others)))
        cuts = draw(_chunks(others, _cap(o.max_len, y, k), budget if o.split else _Budget(0)))
        chunks += [(y, c) for c in cuts]
    bodies = _bodies(spec, k, chunks)
    for _ in range(budget.take(draw(st.integers(0, min(o.extra, budget.left))))):
        bodies.append(draw(_extra_body(spec, k, o.max_len)))
    out: list[tuple[Pair, int]] = []
    for body, y in bodies:
        body = draw(_repeat(spec, k, y, body, o))
        n = o.copies
        if n is None:
            n = 1 + budget.take(draw(st.integers(0, min(o.max_copies - 1, budget.left))))
        out.append((((*body, k), y), n))
    return out


@st.composite
def _chunks(draw: st.DrawFn, items: list[int], cap: int, budget: _Budget) -> list[list[int]]:
    """Cut ``items`` into chunks of at most ``cap``; more than the fewest costs budget.

    Shrinks towards the fewest, largest chunks.
    """
    if not items:
        return [[]]
    fewest = -(-len(items) // cap)
    c = fewest + budget.take(draw(st.integers(0, min(len(items) - fewest, budget.left))))
    out = []
    for i in range(c):
        rest = c - i - 1  # chunks still to fill after this one
        lo, hi = max(1, len(items) - cap * rest), min(cap, len(items) - rest)
        size = hi - draw(st.integers(0, hi - lo))
        out.append(items[:size])
        items = items[size:]
    return out


@st.composite
def _extra_body(draw: st.DrawFn, spec: GraphSpec, k: int, max_len: int) -> Pair:
    """A redundant sample: label ``y`` (or ``k``) and a subset of its allowed tokens."""
    y = draw(st.sampled_from([k, *(y for y in spec.labels(k) if y != k)]))
    pool = [t for t in _allowed(spec, k, y) if t != y]
    size = max_len - (1 if y == k else 2)
    subset = draw(st.lists(st.sampled_from(pool), unique=True, max_size=size)) if pool else []
    return (tuple(subset) if y == k else (y, *subset)), y


@st.composite
def _repeat(
    draw: st.DrawFn, spec: GraphSpec, k: int, y: int, body: tuple[int, ...], o: _Options
) -> tuple[int, ...]:
    """Add repeated allowed tokens and shuffle the non-query positions."""
    room = o.max_len - 1 - len(body)
    if o.repeat and room > 0:
        body = body + tuple(draw(st.lists(st.sampled_from(_allowed(spec, k, y)), max_size=room)))
    if o.shuffle and len(body) > 1:
        body = tuple(draw(st.permutations(body)))
    return body


@st.composite
def _pad(draw: st.DrawFn, spec: GraphSpec, pairs: list[Pair]) -> list[Pair]:
    """Pad every sample (before its query) to the longest length with allowed tokens."""
    T = max(len(toks) for toks, _ in pairs)
    out = []
    for toks, y in pairs:
        k = toks[-1]
        fill = draw(
            st.lists(
                st.sampled_from(_allowed(spec, k, y)),
                min_size=T - len(toks),
                max_size=T - len(toks),
            )
        )
        out.append(((*toks[:-1], *fill, k), y))
    return out

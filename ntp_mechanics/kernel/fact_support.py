"""Shared strategies and helpers of the fact modules ``theorems/fact_F*.py`` (F1-F8).

Strategies stay in the well-conditioned regime the facts are exact in: vocabularies
``K <= 6``, embedding dimension ``d <= 6``, full-rank embeddings with
``cond(E E^T) <= 1e3`` (the ``ntp_mechanics.generators.embeddings`` default), at most ~10 samples.
Both routes of the generators are used: graph-first (``token_graphs`` realised by
``realisations``, so the graph structure is controlled) and dataset-first
(``paper_datasets``, the paper's random sequences).

Under the ``thorough`` Hypothesis profile the strategies that take ``K=vocab_sizes()``
(facts F1-F4, F7, claims A and E) draw vocabularies up to ``THOROUGH_MAX_K = 16``
(with ``d = K`` above 6); the bound is read from the active profile when the first
example is drawn, so the ``ci`` and ``dev`` profiles stay small and fast.

A solver that cannot certify its answer raises ``InconclusiveError``: that says
nothing about the theory, so :func:`decided` turns it into a Hypothesis rejection
(with an ``event``).  If every example of a test were rejected, Hypothesis would raise
``Unsatisfiable``: a test cannot pass without deciding anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from hypothesis import event, reject, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.datasets import paper_datasets
from ntp_mechanics.generators.embeddings import embeddings
from ntp_mechanics.generators.graphs import GraphSpec, token_graphs
from ntp_mechanics.generators.realise import realisations
from ntp_mechanics.kernel.gallery import eye_dataset
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.model.tpg import TokenPriorityGraphs

__all__ = [
    "MAX_D",
    "MAX_K",
    "THOROUGH_MAX_K",
    "decided",
    "eye_dataset",
    "fact_datasets",
    "full_rank",
    "graph_datasets",
    "level_point",
    "max_k",
    "overcomplete_datasets",
    "paper_style",
    "relabel",
    "rotation",
    "vocab_sizes",
]

MAX_K = 6
MAX_D = 6
THOROUGH_MAX_K = 16  # the fast solvers (THEORY.md section 9) make K = 16 cheap
T = TypeVar("T")


# -- strategies ---------------------------------------------------------------------------
def max_k() -> int:
    """The largest vocabulary to draw: ``THOROUGH_MAX_K`` under the ``thorough`` profile."""
    current = getattr(settings, "get_current_profile_name", None)  # absent in older Hypothesis
    name = current() if current else getattr(settings, "_current_profile", None)
    return THOROUGH_MAX_K if name == "thorough" else MAX_K


def vocab_sizes(lo: int = 2) -> SearchStrategy[int]:
    """K in ``[lo, max_k()]``, the bound read when the first example is drawn (after
    the profile is loaded), shrinking towards ``lo``.

    >>> max_k() in (MAX_K, THOROUGH_MAX_K)
    True
    """
    return st.deferred(lambda: st.integers(lo, max_k()))


def full_rank(K: int, max_d: int = MAX_D) -> SearchStrategy[np.ndarray]:
    """Full-rank embeddings (orthonormal, unit-norm or equicorrelated), ``K <= d <= max_d``."""
    return st.integers(K, max(K, max_d)).flatmap(lambda d: embeddings(K, d))


def graph_datasets(
    emb: Callable[[int], SearchStrategy[np.ndarray]] = full_rank, **graph_kw: object
) -> SearchStrategy[Dataset]:
    """Graph-first: a realisable spec (``token_graphs(**graph_kw)``), realised."""
    graph_kw.setdefault("K", st.integers(2, MAX_K))
    return token_graphs(**graph_kw).flatmap(
        lambda spec: realisations(spec, emb, max_len=6, max_samples=10)
    )


def paper_style(
    emb: Callable[[int], SearchStrategy[np.ndarray]] = full_rank,
    K: SearchStrategy[int] | None = None,
    min_length: int = 1,
) -> SearchStrategy[Dataset]:
    """Dataset-first: uniform sequences of ``min_length`` to 6 tokens, labels from the
    sequence (``K`` defaults to ``[2, MAX_K]``)."""
    return paper_datasets(
        K=K if K is not None else st.integers(2, MAX_K),
        n=st.integers(1, 8),
        T=st.integers(min_length, 6),
        variable_lengths=True,
        embeddings=emb,
    )


def fact_datasets(min_length: int = 1, **graph_kw: object) -> SearchStrategy[Dataset]:
    """Either route, full-rank embeddings (the facts' assumption ``K <= d``); a ``K``
    strategy in ``graph_kw`` applies to both routes; the dataset-first route draws
    sequences of at least ``min_length`` tokens."""
    K = graph_kw.get("K")
    return st.one_of(graph_datasets(**graph_kw), paper_style(K=K, min_length=min_length))


def overcomplete_datasets() -> SearchStrategy[Dataset]:
    """``K > d`` (fact F1's infeasible regime): K in 3..6, d in 2..K-1."""

    def emb(K: int) -> SearchStrategy[np.ndarray]:
        return st.integers(2, K - 1).flatmap(lambda d: embeddings(K, d, family="overcomplete"))

    return graph_datasets(emb, K=st.integers(3, MAX_K), min_acyclic_edges=1)


# -- helpers ------------------------------------------------------------------------------
def decided(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``fn(*args)``; an inconclusive solve rejects the example instead of failing."""
    try:
        return fn(*args, **kwargs)
    except InconclusiveError:
        event("inconclusive solve (rejected)")
        reject()
        raise AssertionError("unreachable") from None  # pragma: no cover


def level_point(ds: Dataset, tpg: TokenPriorityGraphs | None = None) -> np.ndarray:
    """Fact F1's feasible point: ``E W E^T = Z`` with ``Z[v, k]`` the longest-path level
    of v's SCC in the condensation of ``G^(k)`` (sinks 0); needs independent rows."""
    tpg = tpg or TokenPriorityGraphs.from_dataset(ds)
    Z = np.zeros((ds.K, ds.K))
    for k, g in tpg.items():
        for v in g.graph.nodes:
            Z[v, k] = g.levels[g.scc_of[v]]
    P = np.linalg.pinv(ds.E)  # E P = I_K for independent rows
    return P @ Z @ P.T


def relabel(ds: Dataset, perm: np.ndarray, move_rows: bool = True) -> Dataset:
    """Token v becomes ``perm[v]``; with ``move_rows`` row ``perm[v]`` of the new E is
    row v of the old one (the invariance), without it E is left as is (a control)."""
    E = np.array(ds.E)
    if move_rows:
        E[perm] = ds.E
    samples = [([int(perm[t]) for t in s.tokens], int(perm[s.label])) for s in ds.samples]
    return Dataset.from_arrays(E, samples)


@st.composite
def rotation(draw: st.DrawFn, d: int) -> np.ndarray:
    """A Haar-random orthogonal d x d matrix from a drawn seed."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def spec_of(ds: Dataset) -> GraphSpec:
    return GraphSpec.from_dataset(ds)

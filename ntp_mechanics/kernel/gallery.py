"""The gallery: the paper's small cases and the seeded random cases, named once.

Hand cases (orthonormal embeddings ``E = I``, token ids as in the paper's figures) whose
token-priority graphs (THEORY.md section 2) are known by heart, and seeded random
datasets in the paper's protocol (THEORY.md section 7).  The claim and fact modules use
them as ``@example``s and as cases that must reach CONSISTENT; the unit tests use them
as fixtures.  Each is a :class:`~ntp_mechanics.model.dataset.Dataset`, immutable and
hashable, so caches keyed by dataset share their solves.

* :data:`CHAIN` - ``G^(2)``: 0 -> 1 -> 2 and 0 -> 2, three single-token SCCs (acyclic).
* :data:`TWO_CYCLE` - ``G^(2)``: 0 <-> 1 above the query 2.
* :data:`DOC_CYCLE` - 0 <-> 1 above 2 with label 1 repeated: ``W_fin != 0``.
* :data:`STRONGLY_CONNECTED` - ``G^(2)`` strongly connected on {0, 1, 2}: ``W_svm = 0``.
* :data:`MIXED_TWO_QUERIES` - two queries, a cycle above a chain.
* :data:`FINITE_DOC` - 0 <-> 1 under query 1, ``L* = log(1 + 1/sqrt 2)``.
* :func:`paper_random` / :data:`PAPER_RANDOM` / :data:`PAPER_RANDOM_ACYCLIC` - the
  paper's protocol (K = d = 8, n = 10, T = 6, unit-norm embeddings).
* :func:`random_dataset` - the unit tests' seeded random factory.

Example
-------
>>> from ntp_mechanics.model.tpg import TokenPriorityGraphs
>>> tpg = TokenPriorityGraphs.from_dataset(TWO_CYCLE)
>>> tpg[2].same(0, 1), tpg[2].higher(0, 2)
(True, True)
>>> random_dataset(3).name, random_dataset(3) == random_dataset(3)
('random-3', True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ntp_mechanics.generators.seeded import paper_dataset, unit_embeddings
from ntp_mechanics.model.dataset import Dataset

__all__ = [
    "CHAIN",
    "DOC_CYCLE",
    "FINITE_DOC",
    "MAX_COND",
    "MIXED_TWO_QUERIES",
    "PAPER_RANDOM",
    "PAPER_RANDOM_ACYCLIC",
    "STRONGLY_CONNECTED",
    "TWO_CYCLE",
    "eye_dataset",
    "paper_random",
    "random_dataset",
]

MAX_COND = 1e3  # keep E E^T well conditioned: the facts are exact only for independent rows


def eye_dataset(K: int, samples: Sequence[tuple[Sequence[int], int]], name: str = "") -> Dataset:
    """A dataset with orthonormal embeddings ``E = I_K`` and these ``(tokens, label)`` pairs.

    Parameters
    ----------
    K : int
        Vocabulary size (and embedding dimension).
    samples : sequence of (tokens, label)
        The samples; the query is the last token.
    name : str
        Optional name, shown in reports.

    Returns
    -------
    Dataset
    """
    return Dataset.from_arrays(np.eye(K), samples, name)


CHAIN = eye_dataset(3, [((0, 1, 2), 0), ((1, 2), 1)], "chain 0 > 1 > 2")
"""``G^(2)``: 0 -> 1 -> 2 and 0 -> 2, all SCCs single tokens (acyclic, claim E)."""
TWO_CYCLE = eye_dataset(3, [((0, 1, 2), 0), ((1, 0, 2), 1)], "2-cycle over the query")
"""``G^(2)``: 0 <-> 1 above the query 2 (one cyclic SCC above a sink)."""
DOC_CYCLE = eye_dataset(3, [((0, 1, 2), 0), ((0, 1, 1, 2), 1), ((0, 2), 0)], "weighted 2-cycle")
"""0 <-> 1 above 2, with label 1 repeated: ``W_fin != 0`` (soft composition matters)."""
STRONGLY_CONNECTED = eye_dataset(3, [((0, 1, 2), 0), ((1, 2), 1), ((0, 2), 2)],
                                 "strongly connected")
"""``G^(2)`` strongly connected on {0, 1, 2}: ``W_svm = 0`` (claim E)."""
MIXED_TWO_QUERIES = eye_dataset(
    4, [((0, 1, 3), 0), ((1, 0, 3), 1), ((1, 2, 3), 1), ((2, 0, 2), 2), ((0, 2), 0)],
    "two queries, cycle above a chain",
)
"""``G^(3)``: {0, 1} cyclic above the sinks 2 and 3; ``G^(2)``: 0 <-> 2 (two queries)."""
FINITE_DOC = eye_dataset(2, [((0, 1), 0), ((0, 1, 1), 1)], "finite-component example")
"""0 <-> 1 under query 1: ``W_fin`` solves a one-dimensional problem, ``L* = log(1 + 1/sqrt 2)``."""


def paper_random(seed: int = 0, K: int = 8, d: int = 8, n: int = 10, T: int = 6) -> Dataset:
    """THEORY.md section 7's protocol: unit-norm E, uniform tokens, label from the sequence.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``.
    K, d, n, T : int
        Vocabulary, embedding dimension, samples, sequence length.

    Returns
    -------
    Dataset
        Named ``paper-random-<seed>``; ``cond(E E^T) <= 1e3``.
    """
    rng = np.random.default_rng(seed)
    while True:
        E = rng.standard_normal((K, d))
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        if np.linalg.cond(E @ E.T) <= MAX_COND:
            break
    pairs = []
    for _ in range(n):
        toks = [int(t) for t in rng.integers(0, K, T)]
        pairs.append((toks, int(rng.choice(toks))))
    return Dataset.from_arrays(E, pairs, f"paper-random-{seed}")


PAPER_RANDOM = paper_random(2)
"""Seed 2: ``||W_svm|| = 8.9``, ``dim S_fin = 2``, ``||W_fin|| = 0.78`` (both parts matter)."""
PAPER_RANDOM_ACYCLIC = paper_random(0)
"""Seed 0: every SCC a single token (``W_fin = 0``), ``||W_svm|| = 3.9``."""


def random_dataset(
    seed: int,
    K: int = 5,
    d: int | None = None,
    n: int = 6,
    lengths: tuple[int, int] = (1, 6),
    family: str = "unit",
    queries: int | None = None,
) -> Dataset:
    """A seeded random dataset in the paper's protocol, for unit tests.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``: a failure names its seed and replays.
    K, d, n : int
        Vocabulary, embedding dimension (default ``K``), samples.
    lengths : (int, int)
        Inclusive range of the sequence lengths.
    family : str
        ``unit``: unit-norm rows (``cond(E E^T) <= MAX_COND`` when K <= d);
        ``orthonormal``: orthonormal rows (K <= d); ``overcomplete``: ``unit`` without
        the condition.
    queries : int, optional
        Draw the query (last token) from ``range(queries)`` only: denser graphs, often
        strongly connected.

    Returns
    -------
    Dataset
        Named ``random-<seed>``.
    """
    d = K if d is None else d
    rng = np.random.default_rng(seed)
    if family == "orthonormal":
        E = np.linalg.qr(rng.standard_normal((d, d)))[0][:K]
    else:
        E = unit_embeddings(rng, K, d, None if family == "overcomplete" else MAX_COND)
    ds = paper_dataset(rng, K, d, n, lengths, queries=queries, E=E)
    return Dataset(ds.embeddings, ds.samples, name=f"random-{seed}")

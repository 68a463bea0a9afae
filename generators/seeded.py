"""Seeded draws of the paper's random datasets, outside Hypothesis.

The paper's experiments (Li et al., AISTATS 2024) use random unit-norm
embeddings and n sequences of T tokens drawn uniformly from ``[K]``, each labelled by a
token drawn from its own sequence.  Benchmarks, the paper reproduction and unit-test
fixtures need exactly these draws from an explicit seed, without Hypothesis; property
tests use :func:`ntp_mechanics.generators.datasets.paper_datasets` instead, which shrinks.

Example
-------
>>> ds = paper_dataset(0, K=4, d=4, n=3, T=5)
>>> ds.K, ds.d, ds.n, all(s.label in s.tokens for s in ds.samples)
(4, 4, 3, True)
"""

from __future__ import annotations

import numpy as np

from ntp_mechanics.model.dataset import Dataset

__all__ = ["paper_dataset", "shuffle_positions", "unit_embeddings"]


def unit_embeddings(
    rng: np.random.Generator, K: int, d: int, max_cond: float | None = None
) -> np.ndarray:
    """Gaussian rows normalised to unit length; with ``max_cond`` (K <= d), redrawn
    until ``cond(E E^T) <= max_cond``."""
    for _ in range(1000):
        E = rng.standard_normal((K, d))
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        if max_cond is None or K > d or np.linalg.cond(E @ E.T) <= max_cond:
            return E
    raise RuntimeError(f"no {K} x {d} unit-norm embedding with cond(E E^T) <= {max_cond}")


def paper_dataset(
    seed: int | np.random.Generator,
    K: int,
    d: int,
    n: int,
    T: int | tuple[int, int],
    *,
    max_cond: float | None = None,
    queries: int | None = None,
    E: np.ndarray | None = None,
) -> Dataset:
    """n sequences of length T (or drawn from the inclusive range ``T = (lo, hi)``),
    labels drawn from their own sequence.  ``queries`` restricts the last token to
    ``range(queries)`` (denser graphs); ``E`` overrides the drawn embeddings."""
    rng = np.random.default_rng(seed)
    if E is None:
        E = unit_embeddings(rng, K, d, max_cond)
    lo, hi = (T, T) if isinstance(T, int) else T
    samples = []
    for _ in range(n):
        tokens = [int(t) for t in rng.integers(0, K, int(rng.integers(lo, hi + 1)))]
        if queries is not None:
            tokens[-1] = int(rng.integers(0, queries))
        samples.append((tokens, int(rng.choice(tokens))))
    name = f"paper-K{K}-d{d}-n{n}-seed{seed}" if isinstance(seed, int) else ""
    return Dataset.from_arrays(E, samples, name=name)


def shuffle_positions(ds: Dataset, rng: np.random.Generator) -> Dataset:
    """Permute the non-query positions of every sample (the query stays last).

    Neither the token-priority graphs nor the loss depend on positions, so every
    prediction is invariant (fact F8).
    """
    out = []
    for s in ds.samples:
        body = list(s.tokens[:-1])
        rng.shuffle(body)
        out.append(([*body, s.query], s.label))
    return Dataset.from_arrays(ds.E, out)

"""Shared fixtures for the unit tests: small hand datasets and a seeded random factory.

Every random dataset comes from ``numpy.random.default_rng(seed)`` with the seed passed
explicitly, so a failure names its seed and replays exactly.  Random datasets follow the
paper's protocol (THEORY.md section 7): unit-norm embeddings, sequences of variable
length drawn uniformly from the vocabulary, the label drawn from the sequence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from generators.dataset import Dataset

MAX_COND = 1e3  # keep E E^T well conditioned: the facts are exact only for independent rows


def random_embeddings(rng: np.random.Generator, K: int, d: int, family: str = "unit") -> np.ndarray:
    """``unit``: unit-norm rows (cond(E E^T) <= MAX_COND when K <= d); ``orthonormal``:
    orthonormal rows (K <= d); ``overcomplete`` is ``unit`` without the condition."""
    if family == "orthonormal":
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        return q[:K]
    for _ in range(1000):
        E = rng.standard_normal((K, d))
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        if family == "overcomplete" or K > d or np.linalg.cond(E @ E.T) <= MAX_COND:
            return E
    raise RuntimeError("no well-conditioned embedding found")  # pragma: no cover


def random_samples(
    rng: np.random.Generator, K: int, n: int, lengths: tuple[int, int], queries: int | None = None
) -> list[tuple[list[int], int]]:
    """n sequences of length in ``lengths`` (inclusive), labels drawn from the sequence;
    with ``queries`` set, the query (last token) is drawn from ``range(queries)`` only,
    which concentrates the samples on few graphs (denser, often strongly connected)."""
    out = []
    for _ in range(n):
        T = int(rng.integers(lengths[0], lengths[1] + 1))
        toks = [int(t) for t in rng.integers(0, K, T)]
        if queries is not None:
            toks[-1] = int(rng.integers(0, queries))
        out.append((toks, int(rng.choice(toks))))
    return out


def random_dataset(
    seed: int,
    K: int = 5,
    d: int | None = None,
    n: int = 6,
    lengths: tuple[int, int] = (1, 6),
    family: str = "unit",
    queries: int | None = None,
) -> Dataset:
    rng = np.random.default_rng(seed)
    E = random_embeddings(rng, K, K if d is None else d, family)
    samples = random_samples(rng, K, n, lengths, queries)
    return Dataset.from_arrays(E, samples, name=f"random-{seed}")


@pytest.fixture
def make_dataset() -> Callable[..., Dataset]:
    """The seeded random factory :func:`random_dataset` (``make_dataset(seed, K=..)``)."""
    return random_dataset


def eye_dataset(K: int, samples: Sequence[tuple[Sequence[int], int]]) -> Dataset:
    return Dataset.from_arrays(np.eye(K), samples)


@pytest.fixture
def chain_ds() -> Dataset:
    """``G^(2)``: 0 -> 1 -> 2 and 0 -> 2, three singleton SCCs (priority 0 > 1 > 2)."""
    return eye_dataset(3, [((0, 1, 2), 0), ((1, 2), 1)])


@pytest.fixture
def two_cycle_ds() -> Dataset:
    """``G^(2)``: 0 <-> 1 (one SCC) above the query 2 (THEORY.md doc example shape)."""
    return eye_dataset(3, [((0, 1, 2), 0), ((1, 0, 2), 1)])


@pytest.fixture
def strongly_connected_ds() -> Dataset:
    """``G^(2)`` strongly connected on {0, 1, 2}: no acyclic edge, W_svm = 0."""
    return eye_dataset(3, [((0, 1, 2), 0), ((1, 2), 1), ((0, 2), 2)])


@pytest.fixture
def doc_ds() -> Dataset:
    """The finite-component doc example: 0 <-> 1 under query 1, L* = log(1 + 1/sqrt 2)."""
    return eye_dataset(2, [((0, 1), 0), ((0, 1, 1), 1)])


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[object, str], Path]:
    """Write an object (or raw text) to a file under ``tmp_path`` and return its path."""

    def _write(obj: object, name: str = "ds.json") -> Path:
        path = tmp_path / name
        path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    return _write

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

from ntp_mechanics.generators.seeded import paper_dataset, unit_embeddings
from ntp_mechanics.model.dataset import Dataset

MAX_COND = 1e3  # keep E E^T well conditioned: the facts are exact only for independent rows


def random_dataset(
    seed: int,
    K: int = 5,
    d: int | None = None,
    n: int = 6,
    lengths: tuple[int, int] = (1, 6),
    family: str = "unit",
    queries: int | None = None,
) -> Dataset:
    """``unit``: unit-norm rows (cond(E E^T) <= MAX_COND when K <= d); ``orthonormal``:
    orthonormal rows (K <= d); ``overcomplete`` is ``unit`` without the condition.
    With ``queries`` set, the query (last token) is drawn from ``range(queries)`` only,
    which concentrates the samples on few graphs (denser, often strongly connected)."""
    d = K if d is None else d
    rng = np.random.default_rng(seed)
    if family == "orthonormal":
        E = np.linalg.qr(rng.standard_normal((d, d)))[0][:K]
    else:
        E = unit_embeddings(rng, K, d, None if family == "overcomplete" else MAX_COND)
    ds = paper_dataset(rng, K, d, n, lengths, queries=queries, E=E)
    return Dataset(ds.embeddings, ds.samples, name=f"random-{seed}")


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

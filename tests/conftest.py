"""Fixtures of the unit tests: the gallery's hand datasets and its seeded random factory.

The datasets themselves live in :mod:`ntp_mechanics.kernel.gallery` (one home for the
paper's small cases, shared with the theorem modules); random datasets come from
``numpy.random.default_rng(seed)`` with the seed passed explicitly, so a failure names
its seed and replays exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ntp_mechanics.kernel import gallery
from ntp_mechanics.model.dataset import Dataset


@pytest.fixture
def make_dataset() -> Callable[..., Dataset]:
    """The seeded random factory :func:`~ntp_mechanics.kernel.gallery.random_dataset`."""
    return gallery.random_dataset


@pytest.fixture
def chain_ds() -> Dataset:
    """:data:`~ntp_mechanics.kernel.gallery.CHAIN`: priority 0 > 1 > 2 in ``G^(2)``."""
    return gallery.CHAIN


@pytest.fixture
def two_cycle_ds() -> Dataset:
    """:data:`~ntp_mechanics.kernel.gallery.TWO_CYCLE`: 0 <-> 1 above the query 2."""
    return gallery.TWO_CYCLE


@pytest.fixture
def strongly_connected_ds() -> Dataset:
    """:data:`~ntp_mechanics.kernel.gallery.STRONGLY_CONNECTED`: ``W_svm = 0``."""
    return gallery.STRONGLY_CONNECTED


@pytest.fixture
def doc_ds() -> Dataset:
    """:data:`~ntp_mechanics.kernel.gallery.FINITE_DOC`: ``L* = log(1 + 1/sqrt 2)``."""
    return gallery.FINITE_DOC


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[object, str], Path]:
    """Write an object (or raw text) to a file under ``tmp_path`` and return its path."""

    def _write(obj: object, name: str = "ds.json") -> Path:
        path = tmp_path / name
        path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    return _write

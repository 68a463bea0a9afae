"""Properties of :mod:`ntp_mechanics.generators.embeddings`: shapes, norms, correlations, bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntp_mechanics.generators.embeddings import (
    FAMILIES,
    as_embedding_strategy,
    embedding_family,
    embeddings,
    equicorrelated,
    gram_condition,
    orthonormal,
    overcomplete,
    unit_norm,
)

dims = st.integers(1, 8).flatmap(lambda K: st.tuples(st.just(K), st.integers(K, K + 3)))


def _unit_rows(E: np.ndarray) -> bool:
    return np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-12)


@given(st.data(), dims)
def test_orthonormal(data: st.DataObject, Kd: tuple[int, int]) -> None:
    K, d = Kd
    E = data.draw(orthonormal(K, d))
    assert E.shape == (K, d) and E.dtype == np.float64
    assert np.allclose(E @ E.T, np.eye(K), atol=1e-12)
    assert embedding_family(E) == "orthonormal"


@given(st.data(), dims, st.sampled_from([10.0, 1e2, 1e3]))
def test_unit_norm_respects_condition_bound(
    data: st.DataObject, Kd: tuple[int, int], max_cond: float
) -> None:
    K, d = Kd
    E = data.draw(unit_norm(K, d, max_cond=max_cond))
    assert E.shape == (K, d) and _unit_rows(E)
    assert gram_condition(E) <= max_cond


@given(st.data(), dims)
def test_equicorrelated(data: st.DataObject, Kd: tuple[int, int]) -> None:
    K, d = Kd
    E = data.draw(equicorrelated(K, d))
    G = E @ E.T
    off = G[~np.eye(K, dtype=bool)]
    assert E.shape == (K, d) and _unit_rows(E)
    if K > 1:
        assert np.ptp(off) < 1e-10 and -1 / (K - 1) <= off[0] <= 0.9 + 1e-12
    assert np.linalg.eigvalsh(G).min() > 1e-9  # full rank away from the bounds


@pytest.mark.parametrize("rho", [-0.25, 0.0, 0.5, 1.0])
def test_equicorrelated_fixed_rho(rho: float) -> None:
    @settings(max_examples=5, database=None)
    @given(equicorrelated(5, 5 if rho < 1 else 2, rho=rho))
    def check(E: np.ndarray) -> None:
        G = E @ E.T
        assert np.allclose(G, (1 - rho) * np.eye(5) + rho, atol=1e-10)

    check()


@given(st.data(), st.integers(2, 8))
def test_overcomplete(data: st.DataObject, K: int) -> None:
    E = data.draw(overcomplete(K))
    assert E.shape[0] == K and E.shape[1] < K and _unit_rows(E)
    coherence = (np.abs(E @ E.T) - np.eye(K)).max()
    assert E.shape[1] == 1 or coherence <= 0.99
    assert embedding_family(E) == "overcomplete"


@given(st.data(), st.sampled_from(FAMILIES), st.integers(2, 6))
def test_embeddings_by_family(data: st.DataObject, family: str, K: int) -> None:
    event(f"family: {family}")
    E = data.draw(embeddings(K, family=family))
    assert E.shape[0] == K and _unit_rows(E)
    assert (E.shape[1] < K) == (family == "overcomplete")
    if family != "overcomplete":
        assert np.linalg.matrix_rank(E) == K


@given(embeddings(4))
def test_default_family_is_full_rank(E: np.ndarray) -> None:
    event(f"family: {embedding_family(E)}")
    assert E.shape[0] == 4 and 4 <= E.shape[1] <= 6 and np.linalg.matrix_rank(E) == 4


def test_draws_are_reproducible() -> None:
    """A derandomised run replays the same matrices: every draw comes from the seed."""

    def run() -> list[np.ndarray]:
        out: list[np.ndarray] = []

        @settings(
            max_examples=20,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(embeddings(5, family="any"))
        def collect(E: np.ndarray) -> None:
            out.append(E)

        collect()
        return out

    first, second = run(), run()
    assert len(first) == len(second) and all(map(np.array_equal, first, second))


def test_family_classifier() -> None:
    assert embedding_family(np.eye(3)) == "orthonormal"
    assert embedding_family(2 * np.eye(3)) == "general"
    assert embedding_family(np.ones((3, 2)) / np.sqrt(2)) == "overcomplete"
    E = np.array([[1.0, 0.0], [0.6, 0.8]])
    assert embedding_family(E) == "equicorrelated"  # two rows: one inner product
    E3 = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.6, 0.8]])
    assert embedding_family(E3) == "unit_norm"


def test_invalid_arguments() -> None:
    for bad in [
        lambda: orthonormal(4, 3),
        lambda: unit_norm(4, 3),
        lambda: unit_norm(2, 2, max_cond=0.5),
        lambda: equicorrelated(3, 3, rho=-0.9),
        lambda: equicorrelated(3, 2, rho=0.5),
        lambda: overcomplete(3, 3),
        lambda: overcomplete(1),
        lambda: embeddings(3, family="nope"),
        lambda: as_embedding_strategy(np.eye(2), 3),
    ]:
        with pytest.raises(InvalidArgument):
            bad()


@given(embeddings(3, family="any"))
def test_arrays_print_exactly(E: np.ndarray) -> None:
    from ntp_mechanics.generators.datasets import to_example

    assert np.array_equal(eval(to_example(E)), E)

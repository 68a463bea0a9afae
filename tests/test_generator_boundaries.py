"""The generators at the endpoints of their ranges keep their promises.

Each strategy promises something the theory needs: full-rank embeddings (fact F1's
assumption ``K <= d``, linearly independent rows), token-priority graphs realised
*exactly* (the dataset's graphs are the drawn ones), realisable labels.  A bug that
widens a range to a singular endpoint shows first at that endpoint, so each endpoint is
drawn here on purpose: K = d, K = 1, the equicorrelation limits, one sample, one token,
the smallest and largest vocabularies.

Source: the strategies of :mod:`ntp_mechanics.generators` (THEORY.md sections 1-2).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ntp_mechanics.generators.automaton import automaton_inputs
from ntp_mechanics.generators.datasets import paper_datasets
from ntp_mechanics.generators.embeddings import (
    DEFAULT_MAX_COND,
    equicorrelated,
    gram_condition,
    orthonormal,
    overcomplete,
    unit_norm,
)
from ntp_mechanics.generators.graphs import DEFAULT_MAX_K, GraphSpec, token_graphs
from ntp_mechanics.generators.realise import realisations, realise
from ntp_mechanics.model.dataset import Dataset

RHO_MAX = 0.9  # the default equicorrelation range is [0.9 lo, 0.9], lo = -1/(K-1)


def _full_rank(E: np.ndarray) -> None:
    K, d = E.shape
    assert K <= d and np.linalg.matrix_rank(E) == K, f"rank {np.linalg.matrix_rank(E)} < K={K}"


def _equi_gram(K: int, rho: float) -> np.ndarray:
    return (1 - rho) * np.eye(K) + rho * np.ones((K, K))


def _equi_cond_bound(K: int) -> float:
    """cond(E E^T) at the worse end of the default range: both endpoints stay 10x away
    from singular (smallest eigenvalue 1 - 0.9 or 1 + (K-1) 0.9 lo = 0.1)."""
    return (1 + (K - 1) * RHO_MAX) / (1 - RHO_MAX) + 1e-6 if K > 1 else 1.0


# -- embeddings ----------------------------------------------------------------------------
@pytest.mark.parametrize("K", [1, 2, 3, 6])
@settings(max_examples=150)  # cheap draws: enough to hit the float range's endpoints
@given(data=st.data())
def test_default_equicorrelated_range_is_full_rank(K: int, data: st.DataObject) -> None:
    E = data.draw(equicorrelated(K))  # d = K: the tightest dimension
    _full_rank(E)
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0)
    assert gram_condition(E) <= _equi_cond_bound(K)


@pytest.mark.parametrize("K", [2, 3, 6])
@pytest.mark.parametrize("end", ["lower", "upper"])
def test_equicorrelated_range_endpoints_are_exact_and_full_rank(K: int, end: str) -> None:
    rho = RHO_MAX * (-1.0 / (K - 1)) if end == "lower" else RHO_MAX

    @given(equicorrelated(K, K, rho=rho))
    def check(E: np.ndarray) -> None:
        _full_rank(E)
        np.testing.assert_allclose(E @ E.T, _equi_gram(K, rho), atol=1e-12)

    check()


@pytest.mark.parametrize("K", [2, 4])
@pytest.mark.parametrize("limit", ["lower", "upper"])
def test_equicorrelated_singular_limits_are_exact_and_need_their_rank(K: int, limit: str) -> None:
    """Asked for explicitly, the limits are realised exactly with their lower rank."""
    rho, rank = (-1.0 / (K - 1), K - 1) if limit == "lower" else (1.0, 1)

    @given(equicorrelated(K, rank, rho=rho))
    def check(E: np.ndarray) -> None:
        assert E.shape == (K, rank) and np.linalg.matrix_rank(E, tol=1e-8) == rank
        np.testing.assert_allclose(E @ E.T, _equi_gram(K, rho), atol=1e-12)

    check()


@pytest.mark.parametrize(("K", "d"), [(1, 1), (1, 4), (5, 5), (3, 5)])
def test_orthonormal_and_unit_norm_at_the_endpoints(K: int, d: int) -> None:
    @given(orthonormal(K, d), unit_norm(K, d))
    def check(Q: np.ndarray, U: np.ndarray) -> None:
        np.testing.assert_allclose(Q @ Q.T, np.eye(K), atol=1e-12)
        _full_rank(U)
        assert gram_condition(U) <= DEFAULT_MAX_COND
        assert np.allclose(np.linalg.norm(U, axis=1), 1.0)

    check()


@pytest.mark.parametrize(("K", "d"), [(2, 1), (3, 2), (6, 3)])
def test_overcomplete_at_the_endpoints(K: int, d: int) -> None:
    @given(overcomplete(K, d, max_coherence=1.0 if d == 1 else 0.99))
    def check(E: np.ndarray) -> None:
        assert E.shape == (K, d) and np.allclose(np.linalg.norm(E, axis=1), 1.0)

    check()


# -- graphs: exact realisation at the endpoints -------------------------------------------
def _realised_exactly(spec: GraphSpec, ds: Dataset) -> None:
    assert GraphSpec.from_dataset(ds) == spec
    assert all(s.label in s.tokens for s in ds.samples)
    _full_rank(ds.E)


@given(data=st.data(), spec=token_graphs(K=2))
@example(data=None, spec=GraphSpec.from_edges(2, {1: [(0, 1)]}))  # one edge
@example(data=None, spec=GraphSpec.from_edges(2, {1: [(0, 1), (1, 0)]}))  # one 2-cycle
@example(data=None, spec=GraphSpec.from_edges(2, {0: [], 1: []}))  # K queries, no edge
def test_smallest_vocabulary_is_realised_exactly(data: st.DataObject | None,
                                                 spec: GraphSpec) -> None:
    ds = realise(spec) if data is None else data.draw(realisations(spec))
    _realised_exactly(spec, ds)


@pytest.mark.parametrize("kw", [
    dict(K=DEFAULT_MAX_K), dict(K=4, n_queries=4), dict(depth=0), dict(strongly_connected=True),
    dict(acyclic_only=True, min_acyclic_edges=1), dict(K=5, max_scc_size=2, min_cyclic_edges=1),
], ids=["K-max", "every-token-a-query", "depth-0", "strongly-connected", "acyclic", "scc-2"])
def test_graph_ranges_at_their_ends_are_realised_exactly(kw: dict) -> None:
    @given(data=st.data(), spec=token_graphs(**kw))
    def check(data: st.DataObject, spec: GraphSpec) -> None:
        if kw.get("K"):
            assert spec.K == kw["K"]
        if "n_queries" in kw:
            assert len(spec.queries) == kw["n_queries"]
        if kw.get("depth") == 0 or kw.get("strongly_connected"):
            assert spec.depth == 0 and spec.n_acyclic_edges == 0
        if kw.get("acyclic_only"):
            assert spec.is_acyclic and spec.n_acyclic_edges >= 1
        _realised_exactly(spec, data.draw(realisations(spec, max_len=3)))

    check()


SINK_APART = GraphSpec.from_edges(3, {2: [(0, 1), (0, 2)]})
"""``G^(2)``: 0 -> 1 and 0 -> 2; the sink 1 is not reachable from the query 2."""


@given(spec=token_graphs(K=4, min_depth=1), data=st.data())
def test_dominated_inputs_have_a_dominating_token(spec: GraphSpec, data: st.DataObject) -> None:
    a = data.draw(automaton_inputs(spec, dominating=True))
    assert a.has_dominating and set(a.tokens) <= spec.nodes(a.tokens[-1])


@settings(max_examples=30)  # three candidate tops: every one is drawn
@given(automaton_inputs(SINK_APART, dominating=True))
def test_dominated_inputs_beside_a_sink_the_query_does_not_reach(a) -> None:
    """Only tokens that reach the query can top a dominated input: the sink 1 cannot."""
    assert a.has_dominating and a.tokens[-1] == 2


# -- datasets: one sample, one token, the largest sizes ------------------------------------
@pytest.mark.parametrize("kw", [
    dict(K=2, n=1, T=1), dict(K=2, n=1, T=8), dict(K=8, n=12, T=8), dict(K=8, n=1, T=1),
    dict(K=3, n=4, T=3, distinct_tokens=True, same_last_token=True),
    dict(K=2, n=3, T=2, variable_lengths=True),
], ids=["one-sample-one-token", "one-sample-long", "largest", "K-max-one-token",
        "distinct-T=K", "variable"])
def test_paper_datasets_at_their_ends(kw: dict) -> None:
    @given(paper_datasets(**kw))
    def check(ds: Dataset) -> None:
        assert ds.K == kw["K"] and ds.n == kw["n"]
        _full_rank(ds.E)
        lengths = {len(s.tokens) for s in ds.samples}
        assert max(lengths) <= kw["T"] and (kw.get("variable_lengths") or lengths == {kw["T"]})
        for s in ds.samples:
            assert s.label in s.tokens and all(0 <= t < ds.K for t in s.tokens)
            if kw.get("distinct_tokens"):
                assert len(set(s.tokens)) == len(s.tokens)
        if kw.get("same_last_token"):
            assert len({s.query for s in ds.samples}) == 1

    check()

"""Properties of :mod:`ntp_mechanics.generators.graphs`: specs are realisable and honour every
parameter."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import pytest
from hypothesis import event, given, target
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntp_mechanics.generators.datasets import to_example
from ntp_mechanics.generators.graphs import GraphSpec, GraphSpecError, token_graphs


def _assert_realisable(spec: GraphSpec) -> None:
    """Forced edges present; everything strictly below k's SCC is a sink."""
    for k, es in spec.edges.items():
        for i, _ in es:
            assert i == k or (i, k) in es
        g = spec.graph(k)
        below = {n for n in g if nx.has_path(g, k, n) and not nx.has_path(g, n, k)}
        assert all(g.out_degree(n) == 0 for n in below)


@given(token_graphs())
def test_default_specs_are_realisable_and_consistent(spec: GraphSpec) -> None:
    event(f"kind: {spec.kind}")
    target(float(spec.depth), label="depth")
    _assert_realisable(spec)
    assert 2 <= spec.K <= 8 and 1 <= len(spec.queries) <= 3
    assert spec.tpg.edge_sets() == spec.edges
    assert eval(to_example(spec)) == spec and hash(eval(repr(spec))) == hash(spec)
    n_sccs = {k: len(spec.sccs(k)) for k in spec.queries}
    assert spec.is_acyclic == all(n_sccs[k] == len(spec.nodes(k)) for k in spec.queries)


@given(token_graphs(acyclic_only=True))
def test_acyclic_only(spec: GraphSpec) -> None:
    assert spec.is_acyclic and spec.n_cyclic_edges == 0
    assert all(len(c) == 1 for k in spec.queries for c in spec.sccs(k))


@given(token_graphs(strongly_connected=True))
def test_strongly_connected(spec: GraphSpec) -> None:
    assert spec.is_strongly_connected and spec.kind == "strongly_connected"
    for k in spec.queries:
        assert nx.is_strongly_connected(spec.graph(k)) and len(spec.nodes(k)) >= 2
        assert spec.depth_of(k) == 0


@given(st.data(), st.integers(0, 4))
def test_exact_depth_of_every_graph(data: st.DataObject, depth: int) -> None:
    spec = data.draw(token_graphs(depth=depth))
    assert all(spec.depth_of(k) == depth for k in spec.queries)
    _assert_realisable(spec)


@given(token_graphs(min_depth=3, acyclic_only=False))
def test_min_depth(spec: GraphSpec) -> None:
    assert min(spec.depth_of(k) for k in spec.queries) >= 3


@given(token_graphs(max_depth=1, K=6))
def test_max_depth(spec: GraphSpec) -> None:
    assert spec.K == 6 and spec.depth <= 1


@given(token_graphs(min_cyclic_edges=3, min_acyclic_edges=2))
def test_min_edge_counts(spec: GraphSpec) -> None:
    assert spec.n_cyclic_edges >= 3 and spec.n_acyclic_edges >= 2 and spec.kind == "mixed"


@given(token_graphs(n_queries=2, shared_tokens=True))
def test_shared_tokens(spec: GraphSpec) -> None:
    assert len(spec.queries) == 2 and spec.shares_tokens


@given(token_graphs(K=8, n_queries=st.integers(2, 3), shared_tokens=False))
def test_disjoint_tokens(spec: GraphSpec) -> None:
    assert len(spec.queries) >= 2 and not spec.shares_tokens
    _assert_realisable(spec)


@given(token_graphs(K=8, max_scc_size=2, min_cyclic_edges=1))
def test_max_scc_size(spec: GraphSpec) -> None:
    assert max(len(c) for k in spec.queries for c in spec.sccs(k)) == 2


def test_graph_spec_rejects_unrealisable_edges() -> None:
    with pytest.raises(GraphSpecError, match="forced edge"):
        GraphSpec.from_edges(3, {2: [(0, 1)]})
    with pytest.raises(GraphSpecError, match="self-loop"):
        GraphSpec.from_edges(2, {0: [(0, 0)]})
    with pytest.raises(GraphSpecError, match="out of range"):
        GraphSpec.from_edges(2, {0: [(0, 2)]})


def test_graph_spec_views() -> None:
    spec = GraphSpec.from_edges(4, {3: [(0, 3), (1, 3), (0, 1), (3, 2), (2, 3)], 0: []})
    assert spec.queries == (0, 3)
    assert spec.sccs(3) == ((0,), (1,), (2, 3))
    assert spec.depth_of(3) == 2 and spec.depth_of(0) == 0 and spec.depth == 2
    assert spec.kind == "mixed" and not spec.is_acyclic and not spec.is_strongly_connected
    assert spec.labels(3) == (0, 1, 2, 3) and spec.out_neighbours(3, 0) == {1, 3}
    assert GraphSpec.from_edges(2, {0: []}).kind == "trivial"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"acyclic_only": True, "strongly_connected": True},
        {"strongly_connected": True, "min_depth": 1},
        {"acyclic_only": True, "min_cyclic_edges": 1},
        {"depth": 2, "max_depth": 1},
        {"K": 3, "depth": 3},
        {"n_queries": 1, "shared_tokens": True},
        {"K": 2, "n_queries": 3},
    ],
)
def test_contradictory_parameters_are_rejected(kwargs: dict) -> None:
    with pytest.raises(InvalidArgument):
        token_graphs(**kwargs)


def test_package_import_is_light() -> None:
    code = (
        "import sys, generators, ntp_mechanics.model.dataset; "
        "bad = [m for m in ('hypothesis', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_lone_query_is_not_strongly_connected() -> None:
    """``is_strongly_connected`` promises one SCC of at least two tokens per graph: the
    one-token graph ``{k}`` (W_svm = 0 too, but no cyclic edge) is not one."""
    lone = GraphSpec.from_edges(2, {0: []})
    assert not lone.is_strongly_connected and lone.kind == "trivial"
    assert GraphSpec.from_edges(2, {0: [(0, 1), (1, 0)]}).is_strongly_connected

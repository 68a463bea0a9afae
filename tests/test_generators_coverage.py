"""Coverage: every category the theorem tests rely on is actually generated.

Each test runs a strategy for a fixed number of derandomised examples (generation
only, no shrinking), labels each example with ``hypothesis.event`` and asserts that
every category occurred.  The seed is fixed, so these are deterministic checks of the
strategies' distributions, not flaky statistics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
from hypothesis import HealthCheck, Phase, event, find, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.automaton import automaton_inputs
from ntp_mechanics.generators.datasets import datasets, describe, paper_datasets
from ntp_mechanics.generators.embeddings import FAMILIES, embedding_family, embeddings
from ntp_mechanics.generators.graphs import GraphSpec, token_graphs
from ntp_mechanics.generators.realise import realisations
from ntp_mechanics.model.dataset import Dataset

_SETTINGS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "phases": [Phase.generate],
    "suppress_health_check": list(HealthCheck),
}


def collect(
    strategy: SearchStrategy, classify: Callable[[object], Iterable[str]], n: int = 150
) -> Counter[str]:
    """Count the category labels of ``n`` derandomised examples (also sent to ``event``)."""
    seen: Counter[str] = Counter()

    @settings(max_examples=n, **_SETTINGS)
    @given(strategy)
    def run(x: object) -> None:
        for label in classify(x):
            event(label)
            seen[label] += 1

    run()
    return seen


def _spec_labels(spec: GraphSpec) -> list[str]:
    labels = [spec.kind]
    if spec.depth >= 3:
        labels.append("depth >= 3")
    if len(spec.queries) >= 2:
        labels.append("queries >= 2")
    if spec.shares_tokens:
        labels.append("shared tokens")
    sizes = {len(c) for k in spec.queries for c in spec.sccs(k)}
    labels += [f"scc size {min(s, 3)}{'+' if s >= 3 else ''}" for s in sizes]
    for k in spec.queries:
        g = spec.tpg[k]
        tops = [
            c
            for c in spec.sccs(k)
            if not any(g.reaches(u, c[0]) for u in spec.nodes(k) if not g.same(u, c[0]))
        ]
        if len(tops) >= 2:
            labels.append("incomparable tops")
        if any(not g.reaches(k, n) and not g.reaches(n, k) for n in spec.nodes(k)):
            labels.append("token incomparable to query")
        C = g.condensation
        if any(C.in_degree(c) >= 2 and C.out_degree(c) >= 1 for c in C):
            labels.append("diamond")
    return labels


def test_token_graphs_cover_every_shape() -> None:
    seen = collect(token_graphs(), _spec_labels, n=200)
    for label in [
        "acyclic",
        "strongly_connected",
        "mixed",
        "trivial",
        "depth >= 3",
        "queries >= 2",
        "shared tokens",
        "scc size 1",
        "scc size 2",
        "scc size 3+",
        "incomparable tops",
        "token incomparable to query",
        "diamond",
    ]:
        assert seen[label] > 0, (label, seen)


def _ds_labels(ds: Dataset) -> tuple[str, ...]:
    return describe(ds)


def test_datasets_cover_every_category() -> None:
    seen = collect(datasets(), _ds_labels, n=200)
    for label in [
        "graphs: acyclic",
        "graphs: strongly_connected",
        "graphs: mixed",
        "depth >= 3",
        "queries >= 2",
        "one query",
        "variable lengths",
        "equal lengths",
        "embeddings: orthonormal",
        "embeddings: unit_norm",
        "embeddings: equicorrelated",
    ]:
        assert seen[label] > 0, (label, seen)


def test_paper_datasets_cover_variable_lengths_and_one_query() -> None:
    seen = collect(paper_datasets(variable_lengths=True, same_last_token=True), _ds_labels, 60)
    assert seen["variable lengths"] > 0 and seen["one query"] == 60


def test_embedding_families_all_occur() -> None:
    seen = collect(embeddings(4, family="any"), lambda E: [embedding_family(E)], n=100)
    assert set(FAMILIES) <= set(seen), seen


def test_realisations_vary_multiplicities_and_lengths() -> None:
    spec = GraphSpec.from_edges(4, {3: [(0, 3), (0, 1), (0, 2), (1, 3), (3, 1), (2, 3)]})

    def labels(ds: Dataset) -> list[str]:
        out = ["variable lengths" if len({len(s.tokens) for s in ds.samples}) > 1 else "equal"]
        if len(set(ds.samples)) < ds.n:
            out.append("copies")
        if any(s.multiplicity > 1 for s in ds.samples):
            out.append("label repeated")
        if any(s.tokens.count(3) > 1 for s in ds.samples):
            out.append("query repeated")
        out.append(f"n={ds.n}")
        return out

    seen = collect(realisations(spec), labels, n=100)
    for label in ["variable lengths", "copies", "label repeated", "query repeated"]:
        assert seen[label] > 0, (label, seen)
    assert len([lab for lab in seen if lab.startswith("n=")]) >= 3


def test_automaton_inputs_cover_both_kinds() -> None:
    spec = GraphSpec.from_edges(5, {2: [(0, 2), (1, 2), (0, 3), (2, 4)]})
    seen = collect(
        automaton_inputs(spec),
        lambda a: ["dominating" if a.has_dominating else "none"],
        n=60,
    )
    assert seen["dominating"] > 0 and seen["none"] > 0


def test_find_a_deep_mixed_multi_query_spec() -> None:
    """``find`` reaches a rich corner quickly and shrinks it to a small witness."""
    spec = find(
        token_graphs(min_depth=3, min_cyclic_edges=1, n_queries=2),
        lambda s: s.kind == "mixed" and s.shares_tokens,
        settings=settings(max_examples=200, database=None, derandomize=True),
    )
    assert spec.depth >= 3 and len(spec.queries) == 2
    assert spec.K == 5  # depth 3 plus a cycle needs five tokens; shrinking finds exactly that


def test_orthonormal_shrinks_to_identity() -> None:
    E = find(
        embeddings(3, family="orthonormal"),
        lambda E: True,
        settings=settings(database=None, derandomize=True),
    )
    assert np.array_equal(E, np.eye(3))


def test_strategies_accept_strategies_for_sizes() -> None:
    seen = collect(
        token_graphs(K=st.integers(3, 4), n_queries=st.just(1)),
        lambda s: [f"K={s.K}"],
        n=40,
    )
    assert set(seen) == {"K=3", "K=4"}

"""Properties of :mod:`ntp_mechanics.generators.datasets` and
:mod:`ntp_mechanics.generators.automaton`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntp_mechanics.generators.automaton import AutomatonInput, automaton_inputs, no_dominating_pairs
from ntp_mechanics.generators.datasets import datasets, describe, paper_datasets, to_example
from ntp_mechanics.generators.graphs import GraphSpec, token_graphs
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs


@given(paper_datasets())
@example(Dataset.from_json('{"embeddings": [[1.0]], "samples": [{"tokens": [0], "label": 0}]}'))
def test_paper_datasets_defaults(ds: Dataset) -> None:
    for label in describe(ds):
        event(label)
    assert 1 <= ds.K <= 8 and ds.d >= ds.K and 1 <= ds.n <= 12 and ds.max_len <= 8
    assert all(s.label in s.tokens for s in ds.samples)
    assert np.allclose(np.linalg.norm(ds.E, axis=1), 1.0)
    assert Dataset.from_json(ds.to_json()) == ds and eval(to_example(ds)) == ds


@given(
    paper_datasets(
        K=5, d=7, n=4, T=3, same_last_token=True, distinct_tokens=True, variable_lengths=True
    )
)
def test_paper_datasets_options(ds: Dataset) -> None:
    assert (ds.K, ds.d, ds.n) == (5, 7, 4)
    assert len(ds.queries) == 1
    assert all(len(set(s.tokens)) == len(s.tokens) <= 3 for s in ds.samples)


@given(paper_datasets(K=st.integers(2, 3), T=6, distinct_tokens=True))
def test_distinct_tokens_cap_length_at_K(ds: Dataset) -> None:
    assert ds.max_len <= ds.K


@given(paper_datasets(T=4))
def test_fixed_length(ds: Dataset) -> None:
    assert {len(s.tokens) for s in ds.samples} == {4}


@given(datasets(source="graph", d=9))
def test_graph_first_datasets(ds: Dataset) -> None:
    assert ds.d == 9
    spec = GraphSpec.from_dataset(ds)
    assert TokenPriorityGraphs.from_dataset(ds).edge_sets() == spec.edges


@given(datasets())
def test_any_dataset_round_trips(ds: Dataset) -> None:
    assert eval(to_example(ds)) == ds
    assert GraphSpec.from_dataset(Dataset.from_json(ds.to_json())) == GraphSpec.from_dataset(ds)


def test_paper_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument):
        paper_datasets(K=3, T=4, distinct_tokens=True)
    with pytest.raises(InvalidArgument):
        paper_datasets(n=0)
    with pytest.raises(InvalidArgument):
        datasets(source="nope")


# -- automaton inputs (claim C) ------------------------------------------------------------
@given(st.data(), token_graphs())
def test_automaton_inputs_are_classified_correctly(data: st.DataObject, spec: GraphSpec) -> None:
    a = data.draw(automaton_inputs(spec, max_len=6))
    event("dominating" if a.has_dominating else "no dominating")
    g = spec.tpg[a.query]
    assert a.tokens[-1] == a.query and set(a.tokens) <= spec.nodes(a.query)
    assert len(a.tokens) <= 6
    dom = g.dominating(frozenset(a.tokens))
    assert a.dominating == (dom[0] if dom else None)
    assert eval(repr(a)) == a


@given(st.data(), token_graphs(K=6, min_depth=1))
def test_automaton_inputs_with_dominating(data: st.DataObject, spec: GraphSpec) -> None:
    a = data.draw(automaton_inputs(spec, dominating=True))
    g = spec.tpg[a.query]
    assert a.dominating is not None
    assert all(g.reaches(a.dominating, t) for t in a.tokens)


@given(st.data(), token_graphs(K=6, min_depth=1, acyclic_only=True))
def test_automaton_inputs_without_dominating(data: st.DataObject, spec: GraphSpec) -> None:
    queries = [k for k in spec.queries if no_dominating_pairs(spec, k)]
    if not queries:
        event("spec has no incomparable tops")
        return
    a = data.draw(automaton_inputs(spec, queries[0], dominating=False))
    g = spec.tpg[a.query]
    assert a.dominating is None
    assert not any(all(g.reaches(t, u) for u in a.tokens) for t in a.tokens)


def test_automaton_examples() -> None:
    spec = GraphSpec.from_edges(5, {2: [(0, 2), (1, 2), (0, 3)]})  # 0, 1 incomparable tops
    assert no_dominating_pairs(spec, 2) == ((0, 1), (1, 3), (2, 3))
    assert AutomatonInput.of(spec, (0, 1, 2)).dominating is None
    assert AutomatonInput.of(spec, (3, 0, 2)).dominating == 0
    assert AutomatonInput.of(spec, (3, 2)).dominating is None  # 3 is incomparable to 2
    with pytest.raises(InvalidArgument):
        automaton_inputs(GraphSpec.from_edges(2, {0: [(1, 0)]}), 0, dominating=False)
    with pytest.raises(ValueError, match="not in G"):
        AutomatonInput.of(spec, (4, 2))

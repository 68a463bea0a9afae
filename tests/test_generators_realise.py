"""Round trips of :mod:`ntp_mechanics.generators.realise`: graph -> dataset -> graphs is the
identity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntp_mechanics.generators.datasets import to_example
from ntp_mechanics.generators.graphs import GraphSpec, token_graphs
from ntp_mechanics.generators.realise import realisations, realise
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs

OPTIONS = {
    "split": st.booleans(),
    "repeat_tokens": st.booleans(),
    "shuffle": st.booleans(),
    "equal_lengths": st.booleans(),
    "copies": st.none() | st.integers(1, 3),
    "max_copies": st.integers(1, 3),
    "extra_samples": st.integers(0, 3),
    "max_len": st.integers(3, 8),
    "max_samples": st.none() | st.integers(1, 20),
}


def _edges(ds: Dataset) -> dict[int, frozenset[tuple[int, int]]]:
    return TokenPriorityGraphs.from_dataset(ds).edge_sets()


@given(token_graphs())
def test_canonical_realisation_round_trips(spec: GraphSpec) -> None:
    ds = realise(spec)
    assert _edges(ds) == spec.edges
    assert GraphSpec.from_dataset(ds) == spec
    assert ds.n == sum(max(1, len(spec.labels(k))) for k in spec.queries)
    assert np.array_equal(ds.E, np.eye(spec.K))
    doubled = realise(spec, copies=2)
    assert doubled.n == 2 * ds.n and _edges(doubled) == spec.edges


@given(st.data(), token_graphs(), st.fixed_dictionaries({}, optional=OPTIONS))
def test_realisations_are_exact_for_every_option(
    data: st.DataObject, spec: GraphSpec, options: dict
) -> None:
    ds = data.draw(realisations(spec, **options))
    lengths = {len(s.tokens) for s in ds.samples}
    event("variable lengths" if len(lengths) > 1 else "equal lengths")
    event(f"n: {'<= 12' if ds.n <= 12 else '> 12'}")
    assert _edges(ds) == spec.edges
    assert ds.K == spec.K and ds.E.shape[0] == spec.K
    assert max(lengths) <= options.get("max_len", 8)
    if options.get("equal_lengths"):
        assert len(lengths) == 1
    if options.get("copies") is not None:
        counts = {s: ds.samples.count(s) for s in ds.samples}
        assert all(c % options["copies"] == 0 for c in counts.values())
    assert Dataset.from_json(ds.to_json()) == ds
    assert eval(to_example(ds)) == ds


@given(st.data(), token_graphs(K=4, n_queries=1))
def test_every_option_toggled_alone(data: st.DataObject, spec: GraphSpec) -> None:
    for name, value in [
        ("split", False),
        ("repeat_tokens", False),
        ("shuffle", False),
        ("equal_lengths", True),
        ("copies", 3),
        ("max_len", 3),
        ("max_samples", None),
    ]:
        ds = data.draw(realisations(spec, **{name: value}), label=name)
        assert _edges(ds) == spec.edges, name


def _fewest_samples(spec: GraphSpec, max_len: int) -> int:
    total = 0
    for k in spec.queries:
        for y in spec.labels(k):
            cap = max_len - (1 if y == k else 2)
            total += max(1, -(-len(spec.out_neighbours(k, y) - {k}) // cap))
        total += 0 if spec.labels(k) else 1
    return total


@given(st.data(), token_graphs(K=5), st.integers(3, 8))
def test_soft_sample_cap(data: st.DataObject, spec: GraphSpec, max_len: int) -> None:
    fewest = _fewest_samples(spec, max_len)
    tight = data.draw(realisations(spec, max_samples=1, max_len=max_len))
    assert tight.n == fewest and _edges(tight) == spec.edges
    capped = data.draw(realisations(spec, max_samples=10, max_len=max_len))
    assert capped.n <= max(10, fewest)


@given(st.data(), token_graphs(K=3))
def test_fixed_embeddings_are_used(data: st.DataObject, spec: GraphSpec) -> None:
    E = np.arange(spec.K * 2, dtype=float).reshape(spec.K, 2)
    ds = data.draw(realisations(spec, E))
    assert np.array_equal(ds.E, E)


def test_realise_example() -> None:
    spec = GraphSpec.from_edges(4, {3: [(0, 3), (0, 1), (0, 2), (3, 1)], 1: []})
    ds = realise(spec)
    assert [(s.tokens, s.label) for s in ds.samples] == [
        ((1,), 1),
        ((0, 1, 2, 3), 0),
        ((1, 3), 3),
    ]


def test_bad_arguments() -> None:
    spec = GraphSpec.from_edges(2, {0: []})
    with pytest.raises(InvalidArgument):
        realisations(spec, max_len=2)
    with pytest.raises(InvalidArgument):
        realisations(spec, copies=0)
    with pytest.raises(InvalidArgument):
        realisations(spec, np.eye(3))

"""Datasets first: Hypothesis strategies in the style of the paper's experiments.

A *paper-style dataset* (the experiments of Li et al., AISTATS 2024) has ``n`` sequences of
``T`` tokens drawn uniformly from ``[K]`` and, for each, a label drawn from the
tokens of its own sequence (realizable labels, THEORY.md section 1); embeddings are
random (unit-norm in the paper).  Its token-priority graphs are whatever the draw
gives - the complement of :mod:`ntp_mechanics.generators.graphs`, which fixes the graphs first.

:func:`datasets` picks either route; :func:`to_example` prints any dataset as a
snippet for ``@example(...)``; :func:`describe` names the categories a dataset
falls into, for ``hypothesis.event``.

Example
-------
>>> from hypothesis import event, given
>>> @given(paper_datasets(K=4, n=3, T=5))
... def test_labels_in_sequence(ds):
...     for label in describe(ds):
...         event(label)
...     assert all(s.label in s.tokens for s in ds.samples)
>>> test_labels_in_sequence()
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ntp_mechanics.generators.embeddings import (
    EmbeddingsArg,
    as_embedding_strategy,
    embedding_family,
)
from ntp_mechanics.generators.graphs import GraphSpec, token_graphs
from ntp_mechanics.generators.realise import realisations
from ntp_mechanics.model.dataset import Dataset

__all__ = ["datasets", "describe", "paper_datasets", "to_example"]

IntArg = int | SearchStrategy[int] | None


def _ints(v: IntArg, lo: int, hi: int) -> SearchStrategy[int]:
    if v is None:
        return st.integers(lo, max(lo, hi))
    return v if isinstance(v, SearchStrategy) else st.just(v)


def paper_datasets(
    K: IntArg = None,
    d: int | None = None,
    n: IntArg = None,
    T: IntArg = None,
    *,
    same_last_token: bool = False,
    distinct_tokens: bool = False,
    variable_lengths: bool = False,
    embeddings: EmbeddingsArg = None,
    name: str = "",
) -> SearchStrategy[Dataset]:
    """Random sequences with labels drawn from their own tokens.

    ``K`` (default ``2..8``), ``n`` (``1..12``), ``T`` (``1..8``; at most ``K`` with
    ``distinct_tokens``) are ints, strategies or None (drawn).  ``d`` feeds the
    default embeddings (``d >= K``, see :func:`ntp_mechanics.generators.embeddings.embeddings`);
    ``embeddings`` overrides them.  ``same_last_token``: every sample has the same
    query.  ``distinct_tokens``: no token repeats within a sequence.
    ``variable_lengths``: each ``T_i`` is drawn from ``[1, T]``.
    """
    if isinstance(K, int) and isinstance(T, int) and distinct_tokens and T > K:
        raise InvalidArgument(f"distinct_tokens needs T <= K, got T={T}, K={K}")
    for label, v in (("K", K), ("n", n), ("T", T)):
        if isinstance(v, int) and v < 1:
            raise InvalidArgument(f"{label} must be >= 1, got {v}")

    @st.composite
    def _draw(draw: st.DrawFn) -> Dataset:
        k = draw(_ints(K, 2, 8))
        t_max = draw(_ints(T, 1, min(8, k) if distinct_tokens else 8))
        if distinct_tokens and t_max > k:
            t_max = k  # a drawn K below a fixed T: cap rather than reject
        query = draw(st.integers(0, k - 1)) if same_last_token else None
        pairs = [
            draw(_sequence(k, t_max, query, distinct_tokens, variable_lengths))
            for _ in range(draw(_ints(n, 1, 12)))
        ]
        E = draw(as_embedding_strategy(embeddings, k, d))
        return Dataset.from_arrays(E, pairs, name)

    return _draw()


@st.composite
def _sequence(
    draw: st.DrawFn, K: int, T: int, query: int | None, distinct: bool, variable: bool
) -> tuple[list[int], int]:
    """One ``(tokens, label)``: ``T`` tokens (query last if fixed), label from them."""
    length = draw(st.integers(1, T)) if variable else T
    body_len = length - 1 if query is not None else length
    choices = [t for t in range(K) if t != query] if distinct and query is not None else range(K)
    body = draw(
        st.lists(st.sampled_from(choices), min_size=body_len, max_size=body_len, unique=distinct)
    )
    tokens = [*body, query] if query is not None else body
    return tokens, draw(st.sampled_from(tokens))


def datasets(
    K: IntArg = None,
    d: int | None = None,
    *,
    source: str | None = None,
    embeddings: EmbeddingsArg = None,
) -> SearchStrategy[Dataset]:
    """Any dataset: graph-first (:func:`token_graphs` + :func:`realisations`) or
    dataset-first (:func:`paper_datasets`).  ``source`` is ``"graph"``, ``"paper"``
    or None (either).  ``K`` defaults to ``2..8``; embeddings as elsewhere.
    """
    if source not in (None, "graph", "paper"):
        raise InvalidArgument(f"source must be 'graph', 'paper' or None, got {source!r}")
    emb = embeddings
    if emb is None and d is not None:

        def emb(k: int) -> SearchStrategy[np.ndarray]:
            return as_embedding_strategy(None, k, d)

    graph_first = token_graphs(K=K).flatmap(lambda spec: realisations(spec, emb))
    paper = paper_datasets(K=K, embeddings=emb)
    return {"graph": graph_first, "paper": paper}.get(source or "", st.one_of(graph_first, paper))


def to_example(value: object) -> str:
    """A Python expression that rebuilds ``value`` exactly, for ``@example(...)``.

    Datasets print as ``Dataset.from_json('...')``, arrays as ``np.array([...])``
    (full float precision), anything else (``GraphSpec``, ``AutomatonInput``, ints)
    as its repr, which is pasteable for the types in :mod:`generators`.

    >>> ds = Dataset.from_arrays([[1.0]], [((0,), 0)])
    >>> print(to_example(ds))
    Dataset.from_json('{"embeddings": [[1.0]], "samples": [{"tokens": [0], "label": 0}]}')
    >>> eval(to_example(ds)) == ds
    True
    >>> to_example(np.array([[0.1, 1 / 3]]))
    'np.array([[0.1, 0.3333333333333333]])'
    """
    if isinstance(value, Dataset):
        return f"Dataset.from_json({value.to_json()!r})"
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    return repr(value)


def describe(ds: Dataset) -> tuple[str, ...]:
    """Category labels of ``ds`` for ``hypothesis.event``: graph kind, depth, queries,
    lengths, embedding family."""
    spec = GraphSpec.from_dataset(ds)
    labels = [f"graphs: {spec.kind}"]
    labels.append("depth >= 3" if spec.depth >= 3 else f"depth {spec.depth}")
    labels.append("queries >= 2" if len(spec.queries) >= 2 else "one query")
    lengths = {len(s.tokens) for s in ds.samples}
    labels.append("variable lengths" if len(lengths) > 1 else "equal lengths")
    labels.append(f"embeddings: {embedding_family(ds.E)}")
    return tuple(labels)

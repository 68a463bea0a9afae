"""The Hypothesis strategies of ntp-mechanics, for a user's own property tests.

Small composable builders (:mod:`ntp_mechanics.generators`), each shrinking towards
small, simple cases:

* datasets: :func:`paper_datasets` (the paper's random sequences, labels from the
  sequence), :func:`datasets` (either route), :func:`realisations` (datasets whose
  token-priority graphs are exactly a drawn :class:`GraphSpec`), :func:`token_graphs`;
* embeddings: :func:`embeddings`, :func:`orthonormal`, :func:`unit_norm`,
  :func:`equicorrelated`, :func:`overcomplete`;
* fresh inputs for the automaton claim: :func:`automaton_inputs`;
* language: :func:`corpus_datasets` (small datasets cut from the embedded English corpus,
  :mod:`ntp_mechanics.corpora.strategies`).

Example
-------
>>> from hypothesis import given, settings
>>> from ntp_mechanics.strategies import paper_datasets
>>> @settings(max_examples=5)
... @given(paper_datasets(K=3, n=2, T=3))
... def test_labels_in_sequence(ds):
...     assert all(s.label in s.tokens for s in ds.samples)
>>> test_labels_in_sequence()
"""

from __future__ import annotations

from ntp_mechanics.corpora.strategies import corpus_datasets
from ntp_mechanics.generators.automaton import AutomatonInput, automaton_inputs
from ntp_mechanics.generators.datasets import datasets, describe, paper_datasets, to_example
from ntp_mechanics.generators.embeddings import (
    embeddings,
    equicorrelated,
    orthonormal,
    overcomplete,
    unit_norm,
)
from ntp_mechanics.generators.graphs import GraphSpec, token_graphs
from ntp_mechanics.generators.realise import realisations, realise

__all__ = [
    "AutomatonInput",
    "GraphSpec",
    "automaton_inputs",
    "corpus_datasets",
    "datasets",
    "describe",
    "embeddings",
    "equicorrelated",
    "orthonormal",
    "overcomplete",
    "paper_datasets",
    "realisations",
    "realise",
    "to_example",
    "token_graphs",
    "unit_norm",
]

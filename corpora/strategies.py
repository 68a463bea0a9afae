"""A Hypothesis strategy of small datasets cut from the embedded corpus.

:func:`corpus_datasets` draws a slice of the embedded English text (``pydoc_data.topics``,
see :mod:`ntp_mechanics.corpora.text`), a unit, a window length, a vocabulary cap and an
embedding, and returns the training dataset of that corpus (realizable windows, merged
with counts), truncated to at most ``max_n`` distinct windows: token-priority graphs
that come from language rather than from a random generator, small enough for claim
tests.  It shrinks towards the start of the text, short windows and small vocabularies.

When no window of the drawn slice survives with out-of-vocabulary windows dropped, the
same slice is cut again with them mapped to an unknown-token id; a slice where even that
keeps nothing is rejected (rare).

Example
-------
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, deadline=None)
... @given(corpus_datasets(max_K=8, max_n=20))
... def test_small(ds):
...     assert ds.K <= 8 and ds.n <= 20 and (ds.counts >= 1).all()
>>> test_small()
"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import assume
from hypothesis import strategies as st

from ntp_mechanics.corpora.build import build_corpus
from ntp_mechanics.corpora.text import CorpusError, embedded_documents
from ntp_mechanics.model.dataset import Dataset

__all__ = ["corpus_datasets"]


@lru_cache(maxsize=1)
def _text() -> str:
    return "\n".join(embedded_documents())


@st.composite
def corpus_datasets(
    draw: st.DrawFn,
    max_K: int = 16,
    max_n: int = 60,
    units: tuple[str, ...] = ("char", "word"),
    embeddings: tuple[str, ...] = ("onehot", "gaussian"),
    overcomplete: bool = True,
) -> Dataset:
    """Datasets of a random sub-corpus: K <= ``max_K``, n <= ``max_n`` (see module doc).

    ``embeddings`` lists the kinds to draw from; ``gaussian`` draws D in ``[2, K]`` when
    ``overcomplete`` (so d < K happens) and ``[K, K + 4]`` otherwise.
    """
    text = _text()
    unit = draw(st.sampled_from(units))
    T = draw(st.integers(2, 8 if unit == "char" else 4))
    length = draw(st.integers(200, 1200))
    start = draw(st.integers(0, len(text) - length))
    K = draw(st.integers(2, max_K))
    kind = draw(st.sampled_from(embeddings))
    spec = "onehot"
    if kind == "gaussian":
        spec = f"gaussian:{draw(st.integers(2, K) if overcomplete else st.integers(K, K + 4))}"
    seed = draw(st.integers(0, 2**16))
    piece = text[start: start + length]
    corpus = None
    for oov in ("drop", "unk"):
        try:
            corpus = build_corpus([piece], unit=unit, window=T, vocab=K, embeddings=spec,
                                  held_out=0.0, seed=seed, oov=oov)
            break
        except CorpusError:
            continue
    assume(corpus is not None)
    ds = corpus.train
    name = f"pydoc[{start}:{start + length}] {unit} T={T} K={ds.K} {spec} {oov}"
    m = min(ds.n, max_n)
    return Dataset.from_matrix(ds.E, ds.token_matrix[:m], ds.lengths[:m], ds.labels[:m],
                               ds.counts[:m], name)

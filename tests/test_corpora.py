"""The corpus pipeline against a brute-force reference (THEORY.md section 10): windows,
realizability filter, vocabulary cap, merged counts, split, embeddings, graph figures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntp_mechanics.corpora import CorpusError, build_corpus
from ntp_mechanics.corpora.embeddings import embedding_matrix
from ntp_mechanics.corpora.strategies import _text as _embedded_text
from ntp_mechanics.corpora.text import UNK, Vocabulary, read_documents, tokenize
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.strategies import corpus_datasets


def reference_windows(docs: list[str], unit: str, T: int, K: int | None, oov: str
                      ) -> tuple[Counter, int, int, int, list[str]]:
    """Every window by a plain loop: (kept window counts, total, out-of-vocabulary,
    unrealizable, vocabulary)."""
    toks = [tokenize(d, unit) for d in docs]
    freq = Counter(t for d in toks for t in d)
    ranked = sorted(freq, key=lambda t: (-freq[t], t))
    if K is not None and len(ranked) > K:
        vocab = [*ranked[: K - 1], UNK] if oov == "unk" else ranked[:K]
    else:
        vocab = ranked
    ids = {t: i for i, t in enumerate(vocab)}
    kept: Counter = Counter()
    total = n_oov = unreal = 0
    for d in toks:
        for s in range(len(d) - T):
            total += 1
            w = [ids.get(t, len(vocab) - 1 if UNK in ids else None) for t in d[s: s + T + 1]]
            if None in w:
                n_oov += 1
            elif w[T] not in w[:T]:
                unreal += 1
            else:
                kept[(tuple(w[:T]), w[T])] += 1
    return kept, total, n_oov, unreal, vocab


texts = st.lists(st.text(alphabet="ab c.d\n", min_size=0, max_size=60), min_size=1,
                 max_size=3)


@settings(max_examples=80, deadline=None)
@given(docs=texts, unit=st.sampled_from(["char", "word"]), T=st.integers(1, 5),
       K=st.none() | st.integers(1, 6), oov=st.sampled_from(["drop", "unk"]),
       held=st.sampled_from([0.0, 0.3]), seed=st.integers(0, 3))
def test_build_matches_the_brute_force_windows(docs: list[str], unit: str, T: int,
                                               K: int | None, oov: str, held: float,
                                               seed: int) -> None:
    kept, total, n_oov, unreal, vocab = reference_windows(docs, unit, T, K, oov)
    try:
        c = build_corpus(docs, unit=unit, window=T, vocab=K, held_out=held, seed=seed,
                         oov=oov)
    except CorpusError as exc:
        assert not kept, exc  # refused only when no window survives
        return
    assert list(c.vocabulary) == vocab
    got: Counter = Counter()
    parts = [c.train] + ([c.heldout] if c.heldout is not None else [])
    for ds in parts:
        for s, n in zip(ds.samples, ds.counts, strict=True):
            assert (s.tokens, s.label) not in got  # split over distinct windows
            got[(s.tokens, s.label)] = int(n)
    assert got == kept
    st_ = c.stats
    assert (st_["windows_total"], st_["windows_out_of_vocabulary"],
            st_["windows_unrealizable"], st_["windows"]) == (total, n_oov, unreal,
                                                             sum(kept.values()))
    assert st_["kept_fraction"] == pytest.approx(sum(kept.values()) / (total - n_oov),
                                                 abs=1e-6)
    assert st_["heldout_windows"] == round(held * len(kept))
    ref = TokenPriorityGraphs.from_dataset(c.train)
    assert st_["edges"] == len(ref.edges())
    assert st_["cyclic_edges"] == len(ref.cyclic_edges())


def test_split_is_seeded_and_differs_across_seeds() -> None:
    doc = ["the theory of next token prediction with self attention " * 20]
    a, b, c = (build_corpus(doc, window=6, held_out=0.3, seed=s) for s in (1, 1, 2))
    assert a.train == b.train and a.heldout == b.heldout
    assert a.train != c.train  # the control: the seed matters


def test_vocabulary_cap_keeps_the_most_frequent() -> None:
    v = Vocabulary.from_documents([list("aaabbbbcd")], K=2)
    assert v.tokens == ("b", "a") and v.distinct == 4
    assert v.encode(list("abcd")).tolist() == [1, 0, -1, -1]
    u = Vocabulary.from_documents([list("aaabbbbcd")], K=3, unk=True)
    assert u.tokens == ("b", "a", UNK) and u.encode(list("dab")).tolist() == [2, 1, 0]


def test_gaussian_rows_are_unit_norm_and_seeded() -> None:
    E = embedding_matrix("gaussian:5", 7, seed=3)
    assert E.shape == (7, 5) and np.allclose(np.linalg.norm(E, axis=1), 1)
    assert np.array_equal(E, embedding_matrix("gaussian:5", 7, seed=3))
    assert not np.array_equal(E, embedding_matrix("gaussian:5", 7, seed=4))
    assert np.array_equal(embedding_matrix("onehot", 3, 0), np.eye(3))


def test_embedding_files_of_every_format(tmp_path: Path) -> None:
    import torch
    from safetensors.numpy import save_file

    E = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.savez(tmp_path / "one.npz", E)
    np.savez(tmp_path / "two.npz", emb=E, other=np.ones(2))
    save_file({"emb": E.astype(np.float32)}, str(tmp_path / "e.safetensors"))
    torch.save({"emb": torch.tensor(E)}, tmp_path / "e.pt")
    torch.save(torch.tensor(E), tmp_path / "t.pt")
    for spec in ("one.npz", "two.npz:emb", "e.safetensors:emb", "e.safetensors", "e.pt:emb",
                 "t.pt"):
        np.testing.assert_array_equal(embedding_matrix(str(tmp_path / spec), 4, 0), E)
    with pytest.raises(CorpusError, match="need 5 x d"):
        embedding_matrix(str(tmp_path / "one.npz"), 5, 0)
    with pytest.raises(CorpusError, match="has no array 'nope'"):
        embedding_matrix(str(tmp_path / "e.pt") + ":nope", 4, 0)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CorpusError, match="cannot read"):
        embedding_matrix(str(tmp_path / "bad.pt"), 4, 0)


def test_onehot_too_large_is_refused_before_allocating() -> None:
    with pytest.raises(CorpusError, match="GiB"):
        embedding_matrix("onehot", 1 << 20, 0)


def test_folder_input_reads_every_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "sub" / "b.txt").write_text("two")
    (tmp_path / ".hidden").write_text("three")
    assert [t for _, t in read_documents([tmp_path])] == ["one", "two"]


def test_windows_do_not_cross_documents() -> None:
    one = build_corpus(["aabaab"], window=1, held_out=0)
    two = build_corpus(["aab", "aab"], window=1, held_out=0)
    assert one.stats["windows_total"] == 5 and two.stats["windows_total"] == 4


def test_graph_figures_match_the_sparse_graphs() -> None:
    c = build_corpus(["she sells sea shells by the sea shore " * 5], window=5, held_out=0)
    g = SparsePriorityGraphs.from_dataset(c.train)
    assert (c.stats["edges"], c.stats["largest_scc"]) == (g.n_edges, int(g.scc_sizes.max()))


@settings(max_examples=40, deadline=None)
@given(ds=corpus_datasets(max_K=10, max_n=25))
def test_corpus_strategy_gives_small_valid_language_datasets(ds: Dataset) -> None:
    assert ds.K <= 10 and ds.n <= 25 and (ds.counts >= 1).all()
    assert all(s.label in s.tokens for s in ds.samples)
    assert ds.name.startswith("pydoc[")
    # the windows are the text's: decode them back through the vocabulary of the slice
    start, stop = map(int, ds.name[len("pydoc["): ds.name.index("]")].split(":"))
    unit, T = ds.name.split()[1], int(ds.name.split()[2][2:])
    assert ds.max_len == T and unit in ("char", "word")
    assert len(set(tokenize(_embedded_text()[start:stop], unit))) >= ds.K - 1


def test_corpus_strategy_reaches_cycles_and_d_below_K() -> None:
    """Over a fixed seed's draws, language gives cyclic and acyclic edges and d < K."""
    seen = {"cyclic": 0, "acyclic": 0, "d<K": 0}

    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(ds=corpus_datasets())
    def probe(ds: Dataset) -> None:
        g = SparsePriorityGraphs.from_dataset(ds)
        seen["cyclic"] += g.n_cyclic > 0
        seen["acyclic"] += g.n_acyclic > 0
        seen["d<K"] += ds.d < ds.K

    probe()
    assert min(seen.values()) > 0, seen


def test_chunked_windows_and_edges_equal_the_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long inputs are processed in chunks; small chunks must change nothing."""
    import ntp_mechanics.corpora.windows as windows
    import ntp_mechanics.model.sparse_tpg as sparse_tpg

    docs = ["the cat sat on the mat; the mat sat on the cat " * 8, "a rat ate a cat " * 5]
    whole = build_corpus(docs, window=6, held_out=0.2, seed=1)
    monkeypatch.setattr(windows, "_CHUNK", 5)
    monkeypatch.setattr(sparse_tpg, "_CHUNK", 3)
    chunked = build_corpus(docs, window=6, held_out=0.2, seed=1)
    assert chunked.train == whole.train and chunked.heldout == whole.heldout
    assert chunked.stats == whole.stats


@pytest.mark.parametrize("oov", ["drop", "unk"])
def test_out_of_vocabulary_labels_are_counted_as_such(oov: str) -> None:
    """A window whose label alone is outside the vocabulary is out of vocabulary, not
    unrealizable (the text has such windows: 'c' and 'd' are outside a cap of 3)."""
    docs = ["aab aac aad abbbd"]
    kept, total, n_oov, unreal, _ = reference_windows(docs, "char", 2, 3, oov)
    c = build_corpus(docs, window=2, vocab=3, held_out=0, oov=oov)
    assert (c.stats["windows_out_of_vocabulary"], c.stats["windows_unrealizable"]) == (
        n_oov, unreal)
    assert c.stats["windows"] == sum(kept.values()) and total == c.stats["windows_total"]
    if oov == "drop":  # premise: some window has only its label outside the vocabulary
        assert any(set(docs[0][s:s + 2]) <= {"a", "b", " "} and docs[0][s + 2] in "cd"
                   for s in range(len(docs[0]) - 2))

"""Counts, the array fast path and the ``.npz`` format of :mod:`ntp_mechanics.model.dataset`.

A dataset with counts is the dataset with its samples repeated (THEORY.md section 10:
duplicates merged with counts), so every view must agree with the repeated form, and
both file formats must round-trip it and reject the same malformations."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntp_mechanics.model.dataset import (
    NPZ_FORMAT,
    NPZ_VERSION,
    Dataset,
    DatasetError,
    Sample,
    load_dataset,
)

GOOD = {
    "embeddings": [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]],
    "samples": [{"tokens": [0, 2, 1], "label": 2, "count": 3}, {"tokens": [1], "label": 1}],
}


@st.composite
def raw_datasets(draw: st.DrawFn) -> tuple[np.ndarray, list[tuple[list[int], int]], list[int]]:
    K = draw(st.integers(1, 5))
    n = draw(st.integers(1, 8))
    pairs = []
    for _ in range(n):
        toks = draw(st.lists(st.integers(0, K - 1), min_size=1, max_size=5))
        pairs.append((toks, draw(st.sampled_from(toks))))
    counts = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    E = np.asarray(draw(st.lists(st.lists(st.floats(-2, 2), min_size=2, max_size=2),
                                 min_size=K, max_size=K)))
    return E, pairs, counts


def test_counts_default_to_ones_and_are_read_only_float64() -> None:
    ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((1,), 1)])
    assert ds.counts.dtype == np.float64 and ds.counts.shape == (2,)
    assert ds.counts.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError):
        ds.counts[0] = 2.0
    ds3 = Dataset.from_dict(GOOD)
    assert ds3.counts.tolist() == [3.0, 1.0]
    assert Dataset(ds3.E, ds3.samples, counts=[3, 1]) == ds3


@pytest.mark.parametrize("counts", [[0, 1], [1.5, 1], [-1, 1], [np.nan, 1], [1], [[1, 1]]])
def test_counts_must_be_positive_integers_one_per_sample(counts: list) -> None:
    with pytest.raises(DatasetError) as info:
        Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((1,), 1)], counts=counts)
    assert "count" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("count", [0, -2, 1.0, "2", True])
def test_json_count_must_be_a_positive_integer(count: object) -> None:
    obj = {**GOOD, "samples": [{"tokens": [0], "label": 0, "count": count}]}
    with pytest.raises(DatasetError, match="'count' must be a positive integer"):
        Dataset.from_dict(obj)


@settings(max_examples=60, deadline=None)
@given(raw_datasets())
def test_merged_equals_repeated(raw: tuple) -> None:
    """Merging the repeated dataset gives one sample per distinct pair with the total
    count; the counts' sum is the number of samples of the repeated form."""
    E, pairs, counts = raw
    repeated = [p for p, c in zip(pairs, counts, strict=True) for _ in range(c)]
    m = Dataset.from_arrays(E, repeated).merged()
    expect: dict[tuple, int] = {}
    for toks, y in repeated:
        expect[(tuple(toks), y)] = expect.get((tuple(toks), y), 0) + 1
    got = {(s.tokens, s.label): c for s, c in zip(m.samples, m.counts, strict=True)}
    assert got == expect
    assert [(s.tokens, s.label) for s in m.samples] == list(expect)  # first-seen order
    assert m.counts.sum() == len(repeated)
    # merging the counted form gives the same dataset
    assert Dataset.from_arrays(E, pairs, counts=counts).merged() == m


@settings(max_examples=60, deadline=None)
@given(raw_datasets())
def test_from_matrix_matches_the_sample_path(raw: tuple) -> None:
    E, pairs, counts = raw
    ds = Dataset.from_arrays(E, pairs, counts=counts, name="x")
    T = ds.max_len + 2  # wider than needed, with junk in the padding
    tokens = np.full((ds.n, T), 7)
    for i, (toks, _) in enumerate(pairs):
        tokens[i, T - len(toks):] = toks
    fast = Dataset.from_matrix(E, tokens, [len(t) for t in pairs and [p[0] for p in pairs]],
                               [y for _, y in pairs], counts, name="x")
    assert fast == ds and hash(fast) == hash(ds)
    assert fast.samples == ds.samples
    for a, b in zip(fast.padded(), ds.padded(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.query_tokens, [s.query for s in ds.samples])


def test_from_matrix_rejects_like_the_json_path() -> None:
    E = np.eye(3)
    cases = {
        "does not occur": (np.array([[0, 1]]), None, np.array([2])),
        "out of range": (np.array([[0, 3]]), None, np.array([0])),
        "empty token sequence": (np.array([[0, 1]]), np.array([0]), np.array([0])),
        "exceeds": (np.array([[0, 1]]), np.array([3]), np.array([0])),
        "integer array": (np.array([[0.0, 1.0]]), None, np.array([0])),
        "one entry per row": (np.array([[0, 1]]), None, np.array([0, 1])),
    }
    for fragment, (tokens, lengths, labels) in cases.items():
        with pytest.raises(DatasetError, match=fragment):
            Dataset.from_matrix(E, tokens, lengths, labels)


def test_first_bad_sample_is_reported() -> None:
    tokens = np.array([[0, 1], [1, 1], [0, 0]])
    with pytest.raises(DatasetError, match="sample 2: label 1 does not occur"):
        Dataset.from_matrix(np.eye(2), tokens, None, np.array([0, 1, 1]))


def test_immutable_and_pickles() -> None:
    ds = Dataset.from_dict(GOOD)
    with pytest.raises(AttributeError):
        ds.name = "y"  # type: ignore[misc]
    again = pickle.loads(pickle.dumps(ds))
    assert again == ds and hash(again) == hash(ds) and not again.E.flags.writeable


def test_equality_sees_counts_and_name() -> None:
    ds = Dataset.from_dict(GOOD)
    assert ds != ds.with_counts(None)
    assert ds != ds.with_name("other")
    assert ds.with_counts([3, 1]) == ds
    assert ds.with_samples(ds.samples).counts.tolist() == [1.0, 1.0]
    assert ds.samples[0] == Sample((0, 2, 1), 2)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
@settings(max_examples=25, deadline=None)
@given(raw=raw_datasets())
def test_file_round_trip(tmp_path_factory: pytest.TempPathFactory, suffix: str,
                         raw: tuple) -> None:
    E, pairs, counts = raw
    ds = Dataset.from_arrays(E, pairs, counts=counts, name="r")
    path = tmp_path_factory.mktemp("rt") / f"ds{suffix}"
    ds.save(path)
    again = load_dataset(path)
    assert again == ds and again.name == "r"
    np.testing.assert_array_equal(again.counts, ds.counts)


def _npz(path: Path, **override: object) -> Path:
    ds = Dataset.from_dict(GOOD)
    arrays = {**ds.to_npz_arrays(), **override}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


NPZ_BAD = {
    "missing tokens": ({"tokens": None}, "missing the array 'tokens'"),
    "missing format": ({"format": None}, "missing the array 'format'"),
    "wrong format": ({"format": np.array("other")}, "'format' is not"),
    "newer version": ({"version": np.array(NPZ_VERSION + 1)}, "unsupported .npz dataset version"),
    "float tokens": ({"tokens": np.zeros((2, 3))}, "'tokens' must be an integer array"),
    "1-d tokens": ({"tokens": np.zeros(3, int)}, "must have 2 dimension"),
    "short labels": ({"labels": np.array([2])}, "one entry per row"),
    "nan embeddings": ({"embeddings": np.array([[np.nan, 0], [0, 1], [0, 1]])}, "NaN or infinity"),
    "string embeddings": ({"embeddings": np.array([["a"]])}, "real number"),
    "label not in window": ({"labels": np.array([2, 0])}, "sample 1: label 0 does not occur"),
    "zero count": ({"counts": np.array([0, 1])}, "not a positive integer"),
    "token out of range": ({"tokens": np.array([[0, 5, 1], [0, 0, 1]])}, "out of range"),
}


@pytest.mark.parametrize("case", sorted(NPZ_BAD))
def test_npz_malformations_are_one_line_errors(tmp_path: Path, case: str) -> None:
    override, fragment = NPZ_BAD[case]
    path = _npz(tmp_path / "bad.npz", **override)
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg and str(path) in msg


def test_npz_control_is_accepted(tmp_path: Path) -> None:
    """The negative cases above differ from this accepted file in one array each."""
    assert load_dataset(_npz(tmp_path / "ok.npz")) == Dataset.from_dict(GOOD)
    assert str(np.load(tmp_path / "ok.npz")["format"]) == NPZ_FORMAT


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"not a zip at all", b"\x93NUMPY"])
def test_corrupt_npz_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.npz"
    path.write_bytes(content)
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert "cannot read" in str(info.value) and "\n" not in str(info.value)


def test_pickled_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    with path.open("wb") as fh:
        np.savez(fh, **{**Dataset.from_dict(GOOD).to_npz_arrays(),
                        "tokens": np.array([[0, 1]], dtype=object)})
    with pytest.raises(DatasetError, match=r"cannot read|integer array"):
        load_dataset(path)


def test_binary_file_with_json_suffix(tmp_path: Path) -> None:
    path = tmp_path / "ds.json"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DatasetError, match=r"cannot read|not valid JSON"):
        load_dataset(path)


def test_missing_npz_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path / "nope.npz")


@settings(max_examples=40, deadline=None)
@given(raw=raw_datasets(), data=st.data())
def test_subset_equals_the_selected_samples(raw: tuple, data: st.DataObject) -> None:
    E, pairs, counts = raw
    ds = Dataset.from_arrays(E, pairs, counts=counts)
    idx = data.draw(st.lists(st.integers(0, ds.n - 1), min_size=1, max_size=ds.n))
    sub = ds.subset(idx)
    ref = Dataset.from_arrays(E, [pairs[i] for i in idx], counts=[counts[i] for i in idx])
    assert sub == ref and sub.E is ds.E and not sub.E.flags.writeable


def test_negative_zero_embeddings_hash_like_zero() -> None:
    a = Dataset.from_arrays(np.array([[0.0, 1.0]]), [((0,), 0)])
    b = Dataset.from_arrays(np.array([[-0.0, 1.0]]), [((0,), 0)])
    assert a == b and hash(a) == hash(b)


def test_padding_never_counts_as_the_label() -> None:
    """Token 0 pads short rows; a short sample whose label 0 is absent stays unrealizable."""
    with pytest.raises(DatasetError, match="sample 1: label 0 does not occur"):
        Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1,), 0)])
    # control: the same rows with the label present are accepted
    assert Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1,), 1)]).n == 2

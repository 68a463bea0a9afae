"""Unit tests of :mod:`ntp_mechanics.model.dataset`: construction, views, JSON, and every
rejection."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ntp_mechanics.model.dataset import Dataset, DatasetError, Sample, load_dataset

GOOD = {
    "embeddings": [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]],
    "samples": [{"tokens": [0, 2, 1], "label": 2}, {"tokens": [1], "label": 1}],
}


def test_views() -> None:
    ds = Dataset.from_dict(GOOD)
    assert (ds.K, ds.d, ds.n, ds.max_len) == (3, 2, 2, 3)
    assert ds.queries == (1,)
    assert ds.samples[0] == Sample((0, 2, 1), 2)
    assert ds.samples[0].query == 1
    np.testing.assert_array_equal(ds.E, np.array(GOOD["embeddings"]))
    assert not ds.E.flags.writeable  # the cached matrix must not be mutated behind the hash


def test_multiplicity_counts_label_positions() -> None:
    assert Sample((0, 1, 0, 2, 0), 0).multiplicity == 3
    assert Sample((0, 1, 2), 1).multiplicity == 1


def test_padded_layout_is_left_padded_with_query_last() -> None:
    ds = Dataset.from_dict(GOOD)
    ids, mask, label_mask = ds.padded()
    np.testing.assert_array_equal(ids, [[0, 2, 1], [0, 0, 1]])
    np.testing.assert_array_equal(mask, [[True, True, True], [False, False, True]])
    np.testing.assert_array_equal(label_mask, [[False, True, False], [False, False, True]])
    assert list(ids[:, -1]) == [s.query for s in ds.samples]


def test_tensors_match_padded() -> None:
    ds = Dataset.from_dict(GOOD)
    E, ids, mask, label_mask = ds.tensors()
    assert str(E.dtype) == "torch.float64"
    np.testing.assert_array_equal(ids.numpy(), ds.padded()[0])
    np.testing.assert_array_equal(label_mask.numpy(), ds.padded()[2])
    np.testing.assert_array_equal(mask.numpy(), ds.padded()[1])


def test_tensors_do_not_alias_the_cached_embeddings() -> None:
    # Regression: torch.as_tensor shared memory with the read-only ds.E, so an in-place
    # update of the returned tensor silently changed ds.E (but not ds.embeddings or hash).
    ds = Dataset.from_dict(GOOD)
    E, *_ = ds.tensors()
    E[0, 0] = 5.0
    assert ds.E[0, 0] == 1.0


def test_json_round_trip(tmp_path: Path) -> None:
    ds = Dataset.from_dict({**GOOD, "name": "toy"})
    assert Dataset.from_json(ds.to_json()) == ds
    path = tmp_path / "ds.json"
    ds.save(path)
    again = load_dataset(path)
    assert again == ds and hash(again) == hash(ds) and again.name == "toy"


def test_from_arrays_accepts_numpy_and_copies() -> None:
    E = np.eye(2)
    ds = Dataset.from_arrays(E, [(np.array([0, 1]), np.int64(1))])
    E[0, 0] = 5.0  # the dataset is immutable: later edits of the source do not leak in
    assert ds.E[0, 0] == 1.0
    assert isinstance(ds.samples[0].tokens[0], int)


def test_with_helpers() -> None:
    ds = Dataset.from_dict(GOOD)
    assert ds.with_embeddings(2 * ds.E).E[2, 1] == pytest.approx(1.6)
    assert ds.with_samples(ds.samples[:1]).n == 1


def _bad(**overrides: object) -> dict:
    return {**GOOD, **overrides}


BAD_OBJECTS = {
    "not an object": ([1, 2], "JSON object"),
    "missing embeddings": ({"samples": GOOD["samples"]}, "missing the key 'embeddings'"),
    "missing samples": ({"embeddings": GOOD["embeddings"]}, "missing the key 'samples'"),
    "samples not list": (_bad(samples={"tokens": [0]}), "'samples' must be a list"),
    "sample not object": (_bad(samples=[[0, 1]]), "sample 0"),
    "sample missing label": (_bad(samples=[{"tokens": [0]}]), "sample 0"),
    "tokens not list": (_bad(samples=[{"tokens": "01", "label": 0}]), "list of integers"),
    "float token": (_bad(samples=[{"tokens": [0, 1.0], "label": 0}]), "list of integers"),
    "bool token": (_bad(samples=[{"tokens": [True, 1], "label": 1}]), "list of integers"),
    "string label": (_bad(samples=[{"tokens": [0], "label": "0"}]), "'label' must be an integer"),
    "float label": (_bad(samples=[{"tokens": [0], "label": 0.0}]), "'label' must be an integer"),
    "embeddings not list": (_bad(embeddings="eye"), "non-empty list of rows"),
    "empty embeddings": (_bad(embeddings=[]), "non-empty list of rows"),
    "empty row": (_bad(embeddings=[[], [1.0]]), "row 0"),
    "string entry": (_bad(embeddings=[[1, "x"], [0, 1], [0, 1]]), "non-number"),
    "bool entry": (_bad(embeddings=[[True, 0], [0, 1], [0, 1]]), "non-number"),
    "ragged": (_bad(embeddings=[[1, 0], [0, 1, 0], [0, 1]]), "ragged"),
    "nan": (_bad(embeddings=[[math.nan, 0], [0, 1], [0, 1]]), "NaN or infinity"),
    "inf": (_bad(embeddings=[[1, 0], [0, -math.inf], [0, 1]]), "NaN or infinity"),
    "no samples": (_bad(samples=[]), "no samples"),
    "empty sequence": (_bad(samples=[{"tokens": [], "label": 0}]), "empty token sequence"),
    "token too large": (_bad(samples=[{"tokens": [0, 3], "label": 0}]), "out of range"),
    "negative token": (_bad(samples=[{"tokens": [-1, 0], "label": 0}]), "out of range"),
    "label too large": (_bad(samples=[{"tokens": [0], "label": 7}]), "out of range"),
    "unrealizable label": (_bad(samples=[{"tokens": [0, 1], "label": 2}]), "does not occur"),
}


@pytest.mark.parametrize("case", sorted(BAD_OBJECTS))
def test_every_malformation_is_a_one_line_dataset_error(case: str) -> None:
    obj, fragment = BAD_OBJECTS[case]
    with pytest.raises(DatasetError) as info:
        Dataset.from_dict(obj)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nonfinite_literals_rejected(literal: str) -> None:
    # Python's json accepts these non-standard literals, so validation must catch them.
    text = '{"embeddings": [[LIT, 0], [0, 1]], "samples": [{"tokens": [0], "label": 0}]}'
    text = text.replace("LIT", literal)
    with pytest.raises(DatasetError, match="NaN or infinity"):
        Dataset.from_json(text)


def test_invalid_json_text() -> None:
    with pytest.raises(DatasetError, match="not valid JSON"):
        Dataset.from_json('{"embeddings": [[1]], ')


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path / "nope.json")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path)


def test_from_arrays_rejects_bad_shapes() -> None:
    with pytest.raises(DatasetError, match="K x d"):
        Dataset.from_arrays(np.ones(3), [((0,), 0)])
    with pytest.raises(DatasetError, match="does not occur"):
        Dataset.from_arrays(np.eye(2), [((0,), 1)])


def test_name_is_optional_and_serialised_only_when_set() -> None:
    ds = Dataset.from_dict(GOOD)
    assert "name" not in json.loads(ds.to_json())
    assert json.loads(Dataset.from_dict({**GOOD, "name": "x"}).to_json())["name"] == "x"

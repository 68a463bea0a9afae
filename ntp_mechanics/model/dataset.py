"""Next-token datasets: the objects every generator produces and every solver reads.

A dataset (THEORY.md section 1) is an embedding matrix ``E`` (K x d, row ``e_v`` for
token ``v``) and samples ``(x_i, y_i)``: a token sequence ``x_i`` of length ``T_i >= 1``
and its next token ``y_i``.  The query token is the last token ``k_i = x_i[-1]``.  The
theory needs *realizable* labels, ``y_i in x_i``; anything else is rejected.

The JSON format::

    {"name": "optional",
     "embeddings": [[e_0 (d floats)], ..., [e_{K-1}]],
     "samples": [{"tokens": [0, 2, 1], "label": 2}, ...]}

Example
-------
>>> ds = Dataset.from_dict({"embeddings": [[1, 0], [0, 1]],
...                         "samples": [{"tokens": [0, 1], "label": 0}]})
>>> ds.K, ds.d, ds.n, ds.samples[0].query
(2, 2, 1, 1)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: commands that do not train do not pay for it
    import torch

__all__ = ["Dataset", "DatasetError", "Sample", "load_dataset"]


class DatasetError(ValueError):
    """A dataset that is malformed or outside the theory (one-line message)."""


@dataclass(frozen=True)
class Sample:
    """One training pair: token sequence ``tokens`` (query = last token) and ``label``."""

    tokens: tuple[int, ...]
    label: int

    @property
    def query(self) -> int:
        return self.tokens[-1]

    @property
    def multiplicity(self) -> int:
        """``m_i``: how often the label occurs in its own sequence."""
        return self.tokens.count(self.label)


@dataclass(frozen=True)
class Dataset:
    """Immutable, hashable dataset ``(E, {(x_i, y_i)})``; validated on construction."""

    embeddings: tuple[tuple[float, ...], ...]
    samples: tuple[Sample, ...]
    name: str = ""

    def __post_init__(self) -> None:
        _validate(self.embeddings, self.samples)

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        E: np.ndarray | Sequence[Sequence[float]],
        samples: Iterable[tuple[Sequence[int], int]],
        name: str = "",
    ) -> Dataset:
        """Build from an embedding matrix and ``(tokens, label)`` pairs."""
        emb = _embedding_tuple(E)
        smp = tuple(Sample(tuple(int(t) for t in toks), int(y)) for toks, y in samples)
        return cls(emb, smp, name)

    @classmethod
    def from_dict(cls, obj: Any) -> Dataset:
        """Parse the JSON object form; every malformation raises :class:`DatasetError`."""
        if not isinstance(obj, Mapping):
            raise DatasetError("dataset must be a JSON object with 'embeddings' and 'samples'")
        for key in ("embeddings", "samples"):
            if key not in obj:
                raise DatasetError(f"dataset is missing the key '{key}'")
        raw = obj["samples"]
        if not isinstance(raw, list):
            raise DatasetError("'samples' must be a list")
        pairs = []
        for i, s in enumerate(raw):
            if not isinstance(s, Mapping) or "tokens" not in s or "label" not in s:
                raise DatasetError(f"sample {i} must be an object with 'tokens' and 'label'")
            toks, y = s["tokens"], s["label"]
            if not isinstance(toks, list) or not all(_is_int(t) for t in toks):
                raise DatasetError(f"sample {i}: 'tokens' must be a list of integers")
            if not _is_int(y):
                raise DatasetError(f"sample {i}: 'label' must be an integer")
            pairs.append((toks, y))
        name = obj.get("name", "")
        return cls.from_arrays(_embedding_tuple(obj["embeddings"]), pairs, str(name))

    @classmethod
    def from_json(cls, text: str) -> Dataset:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
        return cls.from_dict(obj)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name} if self.name else {}
        out["embeddings"] = [list(row) for row in self.embeddings]
        out["samples"] = [{"tokens": list(s.tokens), "label": s.label} for s in self.samples]
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(indent=1) + "\n")

    # -- views -----------------------------------------------------------------------
    @property
    def K(self) -> int:
        return len(self.embeddings)

    @property
    def d(self) -> int:
        return len(self.embeddings[0])

    @property
    def n(self) -> int:
        return len(self.samples)

    @cached_property
    def E(self) -> np.ndarray:
        """The K x d embedding matrix (fp64, read-only)."""
        E = np.array(self.embeddings, dtype=np.float64)
        E.setflags(write=False)
        return E

    @property
    def queries(self) -> tuple[int, ...]:
        """The distinct query tokens, ascending."""
        return tuple(sorted({s.query for s in self.samples}))

    @property
    def counts(self) -> np.ndarray:
        """Multiplicity of each sample (all ones until samples carry counts)."""
        return np.ones(self.n)

    @property
    def max_len(self) -> int:
        return max(len(s.tokens) for s in self.samples)

    def with_embeddings(self, E: np.ndarray | Sequence[Sequence[float]]) -> Dataset:
        return Dataset(_embedding_tuple(E), self.samples, self.name)

    def with_samples(self, samples: Iterable[Sample]) -> Dataset:
        return Dataset(self.embeddings, tuple(samples), self.name)

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token ids (n x T, padded with 0), padding mask and label mask (both bool).

        ``mask[i, t]`` is True on real positions; ``label_mask[i, t]`` is True where
        position t of sample i holds the label.  Padding is on the left of the query
        so ``ids[:, -1]`` is always the query token.
        """
        T = self.max_len
        ids = np.zeros((self.n, T), dtype=np.int64)
        mask = np.zeros((self.n, T), dtype=bool)
        for i, s in enumerate(self.samples):
            ids[i, T - len(s.tokens) :] = s.tokens
            mask[i, T - len(s.tokens) :] = True
        labels = np.array([s.label for s in self.samples], dtype=np.int64)
        return ids, mask, mask & (ids == labels[:, None])

    def tensors(
        self, device: str | torch.device = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(E, ids, mask, label_mask)`` as fp64/long/bool torch tensors on ``device``."""
        import torch

        ids, mask, label_mask = self.padded()
        return (
            torch.tensor(self.E, dtype=torch.float64, device=device),  # copy: E is read-only
            torch.as_tensor(ids, device=device),
            torch.as_tensor(mask, device=device),
            torch.as_tensor(label_mask, device=device),
        )


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset JSON file; unreadable files raise :class:`DatasetError`."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    return Dataset.from_json(text)


# -- validation ------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _embedding_tuple(E: Any) -> tuple[tuple[float, ...], ...]:
    if isinstance(E, np.ndarray):
        if E.ndim != 2:
            raise DatasetError(f"embeddings must be a K x d matrix, got shape {E.shape}")
        E = E.tolist()
    if not isinstance(E, (list, tuple)) or not E:
        raise DatasetError("'embeddings' must be a non-empty list of rows")
    rows = []
    for v, row in enumerate(E):
        if not isinstance(row, (list, tuple)) or not row:
            raise DatasetError(f"embedding row {v} must be a non-empty list of numbers")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row):
            raise DatasetError(f"embedding row {v} contains a non-number")
        rows.append(tuple(float(x) for x in row))
    return tuple(rows)


def _validate(embeddings: tuple[tuple[float, ...], ...], samples: tuple[Sample, ...]) -> None:
    if not embeddings:
        raise DatasetError("'embeddings' must be a non-empty list of rows")
    d = len(embeddings[0])
    for v, row in enumerate(embeddings):
        if len(row) != d:
            raise DatasetError(f"ragged embeddings: row {v} has length {len(row)}, row 0 has {d}")
        if not all(math.isfinite(x) for x in row):
            raise DatasetError(f"embedding row {v} contains NaN or infinity")
    if not samples:
        raise DatasetError("dataset has no samples")
    K = len(embeddings)
    for i, s in enumerate(samples):
        if not s.tokens:
            raise DatasetError(f"sample {i} has an empty token sequence")
        bad = [t for t in s.tokens if not 0 <= t < K]
        if bad:
            raise DatasetError(f"sample {i}: token id {bad[0]} out of range [0, {K})")
        if not 0 <= s.label < K:
            raise DatasetError(f"sample {i}: label {s.label} out of range [0, {K})")
        if s.label not in s.tokens:
            raise DatasetError(
                f"sample {i}: label {s.label} does not occur in its sequence "
                "(unrealizable label, outside the theory)"
            )

"""Next-token datasets: the objects every generator produces and every solver reads.

A dataset (THEORY.md section 1) is an embedding matrix ``E`` (K x d, row ``e_v`` for
token ``v``) and samples ``(x_i, y_i)``: a token sequence ``x_i`` of length ``T_i >= 1``
and its next token ``y_i``.  The query token is the last token ``k_i = x_i[-1]``.  The
theory needs *realizable* labels, ``y_i in x_i``; anything else is rejected.

Each sample carries a positive integer *count* ``c_i`` (default 1): a dataset with
counts is the dataset with sample i repeated ``c_i`` times, so every loss is the
weighted mean ``L(W) = sum_i c_i loss_i(W) / sum_i c_i``.  Corpora merge duplicate
windows this way (:meth:`Dataset.merged`).

Internally a dataset is a few arrays (the embedding matrix, a left-padded token matrix,
lengths, labels, counts), so a million windows build, validate and pad in seconds;
:attr:`Dataset.samples` is materialised only when asked for.

Two file formats, chosen by the suffix (:func:`load_dataset`, :meth:`Dataset.save`):

* JSON::

    {"name": "optional",
     "embeddings": [[e_0 (d floats)], ..., [e_{K-1}]],
     "samples": [{"tokens": [0, 2, 1], "label": 2, "count": 3}, ...]}

  (``"count"`` is optional, default 1);
* ``.npz`` (NumPy's uncompressed archive, read without pickle): ``format`` (the string
  ``"ntp-mechanics-dataset"``), ``version`` (1), ``name`` (a string), ``embeddings``
  (K x d floats), ``tokens`` (n x T integers, sample i in ``tokens[i, T - lengths[i]:]``,
  the query in the last column, padding ignored), ``lengths``, ``labels`` and ``counts``
  (n integers each).

Example
-------
>>> ds = Dataset.from_dict({"embeddings": [[1, 0], [0, 1]],
...                         "samples": [{"tokens": [0, 1], "label": 0, "count": 2}]})
>>> ds.K, ds.d, ds.n, ds.samples[0].query, ds.counts.tolist()
(2, 2, 1, 1, [2.0])
"""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.model.errors import DatasetError  # defined with the other bad inputs

if TYPE_CHECKING:  # torch is imported lazily: commands that do not train do not pay for it
    import torch

REPR_MAX = 400  # tokens plus embedding entries up to which repr rebuilds the dataset

__all__ = ["NPZ_FORMAT", "NPZ_VERSION", "Dataset", "DatasetError", "Sample", "load_dataset"]

NPZ_FORMAT = "ntp-mechanics-dataset"
NPZ_VERSION = 1
_INT_TYPES = frozenset({int})  # JSON integers; bool is not one
_NPZ_REQUIRED = ("format", "version", "embeddings", "tokens", "lengths", "labels")


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


class Dataset:
    """Immutable, hashable dataset ``(E, {(x_i, y_i, c_i)})``; validated on construction.

    ``Dataset(embeddings, samples, name="", counts=None)``: ``embeddings`` a K x d
    matrix (nested sequences or an array), ``samples`` :class:`Sample` objects, ``counts``
    one positive integer per sample (default all ones).  :meth:`from_matrix` builds one
    from arrays without creating a Python object per sample.
    """

    def __init__(
        self,
        embeddings: np.ndarray | Sequence[Sequence[float]],
        samples: Iterable[Sample],
        name: str = "",
        counts: np.ndarray | Sequence[int] | None = None,
    ) -> None:
        E = _embedding_matrix(embeddings)
        smp = tuple(samples)
        ids, lengths, labels = _sequence_arrays([s.tokens for s in smp], [s.label for s in smp])
        self._init(E, ids, lengths, labels, counts, name)
        if all(type(s) is Sample for s in smp):
            self.__dict__["samples"] = smp

    def _init(self, E: np.ndarray, ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
              counts: Any, name: str) -> None:
        n = len(labels)
        if n == 0:
            raise DatasetError("dataset has no samples")
        _validate_samples(ids, lengths, labels, E.shape[0])
        c = _count_array(counts, n)
        T = int(lengths.max())
        ids = ids[:, ids.shape[1] - T:]  # canonical width: the longest sample
        real = _real_positions(lengths, T)
        if (ids[~real] != 0).any():  # canonical padding, so equal datasets compare equal
            ids = np.where(real, ids, 0)
        parts = {"_E": E,  # validated fp64, owned by this dataset (or a read-only share)
                 "_ids": ids.astype(_token_dtype(E.shape[0])),
                 "_lengths": lengths.astype(np.int64), "_labels": labels.astype(np.int64),
                 "_counts": c, "name": str(name)}
        for key, value in parts.items():
            if isinstance(value, np.ndarray):
                value = np.ascontiguousarray(value)
                value.setflags(write=False)
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Dataset is immutable (cannot set {key!r})")

    def __getstate__(self) -> dict[str, Any]:  # pickle only the arrays, not the caches
        return {k: getattr(self, k) for k in ("_E", "_ids", "_lengths", "_labels", "_counts")} | {
            "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, key, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return self.name == other.name and all(
            a.shape == b.shape and np.array_equal(a, b)
            for a, b in zip(self._core(), other._core(), strict=True))

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.name, self._E.shape, *(a.tobytes() for a in self._core())))

    def _core(self) -> tuple[np.ndarray, ...]:
        return (self._E, self._ids.astype(np.int64, copy=False), self._lengths, self._labels,
                self._counts)

    def __repr__(self) -> str:
        # small datasets (what a property test shrinks to) print as code that rebuilds them,
        # so a falsifying example can be pasted back; corpus-sized ones as a summary line
        if self.n * self.max_len + self.K * self.d <= REPR_MAX:
            return f"Dataset.from_json({self.to_json()!r})"
        return (f"Dataset(name={self.name!r}, K={self.K}, d={self.d}, n={self.n}, "
                f"T={self.max_len})")

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        E: np.ndarray | Sequence[Sequence[float]],
        samples: Iterable[tuple[Sequence[int], int]],
        name: str = "",
        counts: np.ndarray | Sequence[int] | None = None,
    ) -> Dataset:
        """Build from an embedding matrix and ``(tokens, label)`` pairs."""
        toks, labels = [], []
        for t, y in samples:
            toks.append(t)
            labels.append(y)
        return cls._from_sequences(E, toks, labels, counts, name)

    @classmethod
    def from_matrix(
        cls,
        E: np.ndarray | Sequence[Sequence[float]],
        tokens: np.ndarray,
        lengths: np.ndarray | None,
        labels: np.ndarray,
        counts: np.ndarray | Sequence[int] | None = None,
        name: str = "",
    ) -> Dataset:
        """The array fast path: ``tokens`` n x T, sample i in ``tokens[i, T - lengths[i]:]``.

        ``lengths`` None means every sample has length T.  Nothing is created per sample.

        Examples
        --------
        >>> ds = Dataset.from_matrix(np.eye(3), np.array([[0, 1, 2], [9, 2, 1]]),
        ...                          np.array([3, 2]), np.array([1, 2]))
        >>> [(s.tokens, s.label) for s in ds.samples]
        [((0, 1, 2), 1), ((2, 1), 2)]
        """
        E = _embedding_matrix(E)
        ids = _int_array(tokens, "tokens", 2)
        n, T = ids.shape
        lengths = np.full(n, T, np.int64) if lengths is None else _int_array(
            lengths, "lengths", 1)
        labels = _int_array(labels, "labels", 1)
        for key, arr in (("lengths", lengths), ("labels", labels)):
            if arr.shape != (n,):
                raise DatasetError(f"'{key}' must have one entry per row of 'tokens' ({n}), "
                                   f"got shape {arr.shape}")
        over = np.flatnonzero(lengths > T)
        if over.size:
            i = int(over[0])
            raise DatasetError(f"sample {i}: length {lengths[i]} exceeds the token matrix "
                               f"width {T}")
        ds = cls.__new__(cls)
        ds._init(E, ids, lengths, labels, counts, name)
        return ds

    @classmethod
    def _from_sequences(cls, E: Any, toks: list, labels: list, counts: Any,
                        name: str) -> Dataset:
        E = _embedding_matrix(E)
        ids, lengths, lab = _sequence_arrays(toks, labels)
        ds = cls.__new__(cls)
        ds._init(E, ids, lengths, lab, counts, name)
        return ds

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
        toks, labels, counts = [], [], []
        for i, s in enumerate(raw):
            if not isinstance(s, Mapping) or "tokens" not in s or "label" not in s:
                raise DatasetError(f"sample {i} must be an object with 'tokens' and 'label'")
            t, y, c = s["tokens"], s["label"], s.get("count", 1)
            if type(t) is not list or not _INT_TYPES.issuperset(map(type, t)):
                raise DatasetError(f"sample {i}: 'tokens' must be a list of integers")
            if not _is_int(y):
                raise DatasetError(f"sample {i}: 'label' must be an integer")
            if not _is_int(c) or c < 1:
                raise DatasetError(f"sample {i}: 'count' must be a positive integer, got {c!r}")
            toks.append(t)
            labels.append(y)
            counts.append(c)
        E = _embedding_matrix(obj["embeddings"])
        return cls._from_sequences(E, toks, labels, counts, str(obj.get("name", "")))

    @classmethod
    def from_json(cls, text: str) -> Dataset:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
        return cls.from_dict(obj)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name} if self.name else {}
        out["embeddings"] = self._E.tolist()
        T = self.max_len
        rows = self._ids.tolist()
        samples = []
        for row, ln, y, c in zip(rows, self._lengths.tolist(), self._labels.tolist(),
                                 self._counts.tolist(), strict=True):
            s: dict[str, Any] = {"tokens": row[T - ln:], "label": y}
            if c != 1:
                s["count"] = int(c)
            samples.append(s)
        out["samples"] = samples
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> None:
        """Write JSON, or the binary format when ``path`` ends in ``.npz``."""
        path = Path(path)
        if path.suffix == ".npz":
            with path.open("wb") as fh:  # a file object: numpy must not append a suffix
                np.savez(fh, **self.to_npz_arrays())
        else:
            path.write_text(self.to_json(indent=1) + "\n")

    def to_npz_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the ``.npz`` format (see the module docstring)."""
        return {"format": np.array(NPZ_FORMAT), "version": np.array(NPZ_VERSION),
                "name": np.array(self.name), "embeddings": self._E, "tokens": self._ids,
                "lengths": self._lengths.astype(np.int32), "labels": self._labels.astype(
                    self._ids.dtype), "counts": self._counts.astype(np.int64)}

    # -- views -----------------------------------------------------------------------
    @property
    def K(self) -> int:
        return int(self._E.shape[0])

    @property
    def d(self) -> int:
        return int(self._E.shape[1])

    @property
    def n(self) -> int:
        return int(self._labels.shape[0])

    @property
    def E(self) -> np.ndarray:
        """The K x d embedding matrix (fp64, read-only)."""
        return self._E

    @property
    def token_matrix(self) -> np.ndarray:
        """n x T token ids, left-padded with 0 (read-only; see :meth:`padded`)."""
        return self._ids

    @property
    def lengths(self) -> np.ndarray:
        """Sequence lengths ``T_i``, shape (n,), int64, read-only."""
        return self._lengths

    @property
    def labels(self) -> np.ndarray:
        """Labels ``y_i``, shape (n,), int64, read-only."""
        return self._labels

    @property
    def query_tokens(self) -> np.ndarray:
        """Query tokens ``k_i`` (the last column of :attr:`token_matrix`), shape (n,)."""
        return self._ids[:, -1].astype(np.int64)

    @property
    def counts(self) -> np.ndarray:
        """Multiplicities ``c_i`` (positive integers), shape (n,), float64, read-only."""
        return self._counts

    @cached_property
    def embeddings(self) -> tuple[tuple[float, ...], ...]:
        """The rows of :attr:`E` as tuples."""
        return tuple(map(tuple, self._E.tolist()))

    @cached_property
    def samples(self) -> tuple[Sample, ...]:
        """The samples as :class:`Sample` objects (built on first use)."""
        T = self.max_len
        return tuple(Sample(tuple(row[T - ln:]), y) for row, ln, y in zip(
            self._ids.tolist(), self._lengths.tolist(), self._labels.tolist(), strict=True))

    @property
    def queries(self) -> tuple[int, ...]:
        """The distinct query tokens, ascending."""
        return tuple(np.unique(self._ids[:, -1]).tolist())

    @property
    def max_len(self) -> int:
        return int(self._ids.shape[1])

    def with_embeddings(self, E: np.ndarray | Sequence[Sequence[float]]) -> Dataset:
        return self._replace(E=_embedding_matrix(E))

    def with_samples(self, samples: Iterable[Sample],
                     counts: np.ndarray | Sequence[int] | None = None) -> Dataset:
        """The same embeddings with other samples (counts default to ones)."""
        return Dataset(self._E, samples, self.name, counts)

    def with_counts(self, counts: np.ndarray | Sequence[int] | None) -> Dataset:
        return self._replace(counts=counts)

    def with_name(self, name: str) -> Dataset:
        return self._replace(name=name)

    def _replace(self, **kw: Any) -> Dataset:
        args = {"E": self._E, "counts": self._counts, "name": self.name} | kw
        ds = Dataset.__new__(Dataset)
        ds._init(args["E"], self._ids, self._lengths, self._labels, args["counts"],
                 args["name"])
        return ds

    def subset(self, indices: np.ndarray | Sequence[int]) -> Dataset:
        """The samples at ``indices`` (with their counts), sharing this dataset's ``E``.

        >>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((1,), 1)], counts=[2, 3])
        >>> ds.subset([1]).counts.tolist(), ds.subset([1]).E is ds.E
        ([3.0], True)
        """
        idx = np.asarray(indices, dtype=np.int64)
        ds = Dataset.__new__(Dataset)
        ds._init(self._E, self._ids[idx], self._lengths[idx], self._labels[idx],
                 self._counts[idx], self.name)
        return ds

    def merged(self) -> Dataset:
        """Duplicate samples merged into one with the sum of their counts (first-seen order).

        >>> ds = Dataset.from_arrays(np.eye(2), [((0, 1), 0), ((1,), 1), ((0, 1), 0)])
        >>> m = ds.merged()
        >>> m.n, m.counts.tolist()
        (2, [2.0, 1.0])
        """
        # one compact byte string per sample (tokens in their storage dtype): sorting
        # these costs a few bytes per token, not eight
        n = self.n
        key = np.concatenate([self._ids.view(np.uint8).reshape(n, -1),
                              self._lengths.astype(np.int32).view(np.uint8).reshape(n, 4),
                              self._labels.astype(np.int32).view(np.uint8).reshape(n, 4)],
                             axis=1)
        rows = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        keep = first[order]
        counts = np.bincount(rank[inverse.ravel()], weights=self._counts, minlength=keep.size)
        ds = Dataset.__new__(Dataset)
        ds._init(self._E, self._ids[keep], self._lengths[keep], self._labels[keep], counts,
                 self.name)
        return ds

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token ids (n x T, padded with 0), padding mask and label mask (both bool).

        ``mask[i, t]`` is True on real positions; ``label_mask[i, t]`` is True where
        position t of sample i holds the label.  Padding is on the left of the query
        so ``ids[:, -1]`` is always the query token.
        """
        ids = self._ids.astype(np.int64)
        mask = _real_positions(self._lengths, self.max_len)
        return ids, mask, mask & (ids == self._labels[:, None])

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
    """Read a dataset file: ``.npz`` (binary) or JSON (any other suffix).

    Unreadable or malformed files raise :class:`DatasetError` with a one-line message.
    """
    if Path(path).suffix == ".npz":
        return _load_npz(Path(path))
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"cannot read {path}: not a UTF-8 text (JSON) file") from None
    return Dataset.from_json(text)


def _load_npz(path: Path) -> Dataset:
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # a bare .npy array under a .npz name
            raise DatasetError(f"cannot read {path}: not a dataset .npz archive")
        with z:
            arrays = {k: z[k] for k in z.files}
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or _line(exc)}") from None
    except (ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise DatasetError(f"cannot read {path}: not a dataset .npz file ({_line(exc)})") from None
    for key in _NPZ_REQUIRED:
        if key not in arrays:
            raise DatasetError(f"{path}: the .npz dataset is missing the array '{key}'")
    fmt, version = arrays["format"], arrays["version"]
    if fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != NPZ_FORMAT:
        raise DatasetError(f"{path}: 'format' is not {NPZ_FORMAT!r}")
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != NPZ_VERSION:
        raise DatasetError(f"{path}: unsupported .npz dataset version {version!r} "
                           f"(this version reads {NPZ_VERSION})")
    name = arrays.get("name", np.array(""))
    if name.shape != () or name.dtype.kind != "U":
        raise DatasetError(f"{path}: 'name' must be a string")
    E = arrays["embeddings"]
    if E.dtype.kind not in "fiu":
        raise DatasetError(f"{path}: 'embeddings' must be a real number array, got {E.dtype}")
    counts = arrays.get("counts")
    try:
        return Dataset.from_matrix(E, arrays["tokens"], arrays["lengths"], arrays["labels"],
                                   counts, str(name))
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None


# -- validation ------------------------------------------------------------------------
def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _token_dtype(K: int) -> type:
    return np.uint8 if K <= 1 << 8 else np.uint16 if K <= 1 << 16 else np.int32


def _real_positions(lengths: np.ndarray, T: int) -> np.ndarray:
    """``mask[i, t]``: position t of the left-padded row i holds a token."""
    return np.arange(T)[None, :] >= (T - lengths)[:, None]


def _int_array(a: Any, key: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise DatasetError(f"'{key}' must be an integer array, got {arr.dtype}")
    if arr.ndim != ndim:
        raise DatasetError(f"'{key}' must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def _embedding_matrix(E: Any) -> np.ndarray:
    """Validated K x d fp64 copy of ``E`` (nested sequences or an array)."""
    if isinstance(E, np.ndarray):
        if E.ndim != 2:
            raise DatasetError(f"embeddings must be a K x d matrix, got shape {E.shape}")
        if E.dtype.kind not in "fiu" or E.dtype == np.bool_:
            raise DatasetError(f"embeddings must be real numbers, got {E.dtype}")
        if E.shape[0] == 0:
            raise DatasetError("'embeddings' must be a non-empty list of rows")
        if E.shape[1] == 0:
            raise DatasetError("embedding row 0 must be a non-empty list of numbers")
        out = np.array(E, dtype=np.float64)
    else:
        out = _embedding_rows(E)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        raise DatasetError(f"embedding row {int(np.argmax(bad))} contains NaN or infinity")
    out += 0.0  # -0.0 -> 0.0 in place: equal matrices hash alike
    return out


def _embedding_rows(E: Any) -> np.ndarray:
    if not isinstance(E, (list, tuple)) or not E:
        raise DatasetError("'embeddings' must be a non-empty list of rows")
    d = None
    for v, row in enumerate(E):
        if not isinstance(row, (list, tuple, np.ndarray)) or not len(row):
            raise DatasetError(f"embedding row {v} must be a non-empty list of numbers")
        if not all(isinstance(x, (int, float, np.integer, np.floating))
                   and not isinstance(x, (bool, np.bool_)) for x in row):
            raise DatasetError(f"embedding row {v} contains a non-number")
        d = len(row) if d is None else d
        if len(row) != d:
            raise DatasetError(f"ragged embeddings: row {v} has length {len(row)}, row 0 has {d}")
    return np.array(E, dtype=np.float64)


def _sequence_arrays(toks: Sequence[Sequence[int]], labels: Sequence[int]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-padded n x T int64 matrix, lengths and labels of token sequences."""
    n = len(toks)
    try:
        lengths = np.fromiter(map(len, toks), dtype=np.int64, count=n)
        flat = np.fromiter(itertools.chain.from_iterable(toks), dtype=np.int64,
                           count=int(lengths.sum()))
        lab = np.fromiter(labels, dtype=np.int64, count=n)
    except (OverflowError, TypeError, ValueError) as exc:
        raise DatasetError(f"token ids and labels must be integers in range ({_line(exc)})"
                           ) from None
    T = int(lengths.max()) if n else 0
    ids = np.zeros((n, T), dtype=np.int64)
    ids[_real_positions(lengths, T)] = flat  # row-major: each row's tokens in order
    return ids, lengths, lab


def _validate_samples(ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
                      K: int) -> None:
    """The first invalid sample, as the one-line message of its first problem."""
    real = _real_positions(lengths, ids.shape[1])
    empty = lengths < 1
    tok_bad = (real & ((ids < 0) | (ids >= K))).any(axis=1)
    lab_bad = (labels < 0) | (labels >= K)
    absent = ~(real & (ids == labels[:, None])).any(axis=1)
    bad = empty | tok_bad | lab_bad | absent
    if not bad.any():
        return
    i = int(np.argmax(bad))
    if empty[i]:
        raise DatasetError(f"sample {i} has an empty token sequence")
    row = ids[i][real[i]]
    if tok_bad[i]:
        t = int(row[(row < 0) | (row >= K)][0])
        raise DatasetError(f"sample {i}: token id {t} out of range [0, {K})")
    if lab_bad[i]:
        raise DatasetError(f"sample {i}: label {labels[i]} out of range [0, {K})")
    raise DatasetError(
        f"sample {i}: label {labels[i]} does not occur in its sequence "
        "(unrealizable label, outside the theory)")


def _count_array(counts: Any, n: int) -> np.ndarray:
    """Validated fp64 copy of the per-sample counts (positive integers)."""
    if counts is None:
        return np.ones(n, dtype=np.float64)
    c = np.asarray(counts)
    if c.dtype.kind not in "fiu" or c.dtype == np.bool_:
        raise DatasetError(f"'counts' must be positive integers, got {c.dtype}")
    if c.shape != (n,):
        raise DatasetError(f"'counts' must have one entry per sample ({n}), got shape {c.shape}")
    c = c.astype(np.float64)
    bad = ~(np.isfinite(c) & (c >= 1) & (c == np.round(c)))
    if bad.any():
        i = int(np.argmax(bad))
        raise DatasetError(f"sample {i}: count {c[i]:g} is not a positive integer")
    return c

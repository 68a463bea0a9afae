"""Windows of a token stream: the samples of a corpus (THEORY.md section 10).

Window ``s`` of a document is ``x = ids[s : s+T]`` (its last token is the query) with
label ``y = ids[s+T]``.  A window is kept when every token and the label are in the
vocabulary and the label occurs in ``x`` (realizable); duplicates are then merged with
counts (:meth:`Dataset.merged`).  The held-out split is over *distinct* windows, so no
held-out window occurs in the training set; each keeps its count.

Example
-------
>>> w = cut_windows([np.array([0, 1, 0, 1, 2, 1])], T=2)
>>> w.tokens.tolist(), w.labels.tolist(), w.total, w.out_of_vocabulary
([[0, 1], [1, 0], [1, 2]], [0, 1, 1], 4, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Windows", "cut_windows", "split_indices"]

_CHUNK = 1 << 18  # windows per chunk


@dataclass(frozen=True)
class Windows:
    """Kept windows (``tokens`` n x T, ``labels``) and how many of all were dropped."""

    tokens: np.ndarray
    labels: np.ndarray
    total: int
    out_of_vocabulary: int
    unrealizable: int

    @property
    def kept(self) -> int:
        return int(self.labels.size)


def cut_windows(docs: Sequence[np.ndarray], T: int) -> Windows:
    """All windows of length ``T`` of every document (ids, -1 out of vocabulary)."""
    toks, labels = [], []
    total = oov = unreal = 0
    for ids in docs:
        # chunks of windows bound the (windows x T) temporaries of a long document
        for lo in range(0, max(ids.size - T, 0), _CHUNK):
            w = sliding_window_view(ids[lo: lo + _CHUNK + T], T + 1)
            total += w.shape[0]
            inv = (w >= 0).all(axis=1)
            oov += int((~inv).sum())
            w = w[inv]
            x, y = w[:, :T], w[:, T]
            real = (x == y[:, None]).any(axis=1)
            unreal += int((~real).sum())
            toks.append(x[real].astype(np.int32))  # int32: half the memory of int64
            labels.append(y[real].astype(np.int32))
    if not toks:
        return Windows(np.zeros((0, T), np.int32), np.zeros(0, np.int32), total, oov, unreal)
    return Windows(np.concatenate(toks), np.concatenate(labels), total, oov, unreal)


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)`` into (train, held-out), each ascending; the held-out
    part has ``round(fraction n)`` indices."""
    perm = np.random.default_rng(seed).permutation(n)
    m = round(fraction * n)
    return np.sort(perm[m:]), np.sort(perm[:m])

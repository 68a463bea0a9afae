"""The results of a sweep on disk: Parquet part files written as tasks finish.

Layout of ``DIR``::

    parts/<chunk>.parquet    rows of one finished chunk (one row per trial)
    curves/<chunk>.parquet   their curves against steps (list columns)
    results.parquet          the rows of the current grid, consolidated
    curves.parquet           their curves, consolidated
    errors.jsonl             tasks that raised, one JSON object a line

A part is written to a hidden temporary name and renamed into place (atomic on POSIX),
curves before rows, so a part that exists is complete, and a row that exists has its
curves.  A stopped run loses only the chunks that were running; a re-run reads the
task ids of the parts and computes the rest.  ``pyarrow`` is imported when a store is
opened.

Example
-------
>>> import tempfile, pathlib
>>> store = Store(pathlib.Path(tempfile.mkdtemp()))
>>> store.write([({"task_id": "a", "corr_svm": 0.9}, {"task_id": "a", "steps": [0, 1]})])
>>> sorted(store.done_ids()), store.rows(["a"])[0]["corr_svm"]
(['a'], 0.9)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Store"]


class Store:
    """The Parquet store of one sweep directory."""

    def __init__(self, out: Path) -> None:
        import pyarrow  # noqa: F401  (fail early, before any work, when it is missing)

        self.out = out
        self.parts = out / "parts"
        self.curves = out / "curves"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.curves.mkdir(parents=True, exist_ok=True)

    def done_ids(self) -> set[str]:
        """Task ids of every row on disk."""
        import pyarrow.parquet as pq

        ids: set[str] = set()
        for f in self._files(self.parts):
            ids.update(pq.read_table(f, columns=["task_id"]).column("task_id").to_pylist())
        return ids

    def write(self, outcomes: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Persist the ``(row, curves)`` pairs of one finished chunk."""
        if not outcomes:
            return
        name = f"{outcomes[0][0]['task_id']}.parquet"
        _write_atomic([c for _, c in outcomes], self.curves / name)
        _write_atomic([r for r, _ in outcomes], self.parts / name)

    def error(self, task_id: str, params: dict[str, Any], exc: BaseException) -> None:
        """Append a failed task to ``errors.jsonl``."""
        line = {"task_id": task_id, "params": params, "error": f"{type(exc).__name__}: {exc}"}
        with (self.out / "errors.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, default=str) + "\n")

    def rows(self, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every row on disk (only those of ``ids`` when given), in ``ids`` order."""
        return _select(self._read(self.parts), ids)

    def curves_of(self, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        return _select(self._read(self.curves), ids)

    def consolidate(self, ids: Sequence[str]) -> tuple[Path, Path]:
        """Write ``results.parquet`` and ``curves.parquet`` for the rows of ``ids``."""
        paths = self.out / "results.parquet", self.out / "curves.parquet"
        _write_atomic(self.rows(ids), paths[0])
        _write_atomic(self.curves_of(ids), paths[1])
        return paths

    def _files(self, folder: Path) -> list[Path]:
        return sorted(f for f in folder.glob("*.parquet") if not f.name.startswith("."))

    def _read(self, folder: Path) -> list[dict[str, Any]]:
        import pyarrow.parquet as pq

        rows: list[dict[str, Any]] = []
        for f in self._files(folder):
            rows.extend(pq.read_table(f).to_pylist())
        return rows


def _select(rows: list[dict[str, Any]], ids: Iterable[str] | None) -> list[dict[str, Any]]:
    if ids is None:
        return rows
    by_id = {r["task_id"]: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _write_atomic(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pylist(rows), tmp)
    os.replace(tmp, path)

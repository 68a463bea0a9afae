"""The grid of a sweep: its SPEC, its points, its tasks and their seeds.

A SPEC is space-separated ``name=v1,v2,...`` items; the grid is their Cartesian
product, every unnamed parameter taking its default (the paper's protocol, Li, Huang,
Ildiz, Rawat, Oymak, AISTATS 2024, THEORY.md sections 7-8).  ``d``, ``n`` and ``T``
may be written relative to the vocabulary: ``d=K``, ``n=2K``.  A *point* is one
assignment of every parameter; a *task* is a point and a trial index.  Its seed is
drawn from a :class:`numpy.random.SeedSequence` keyed by a SHA-256 hash of the
point's canonical JSON and spawned by the trial index, so any row of a sweep can be
recomputed alone, on any machine, in any order.

Example
-------
>>> grid = parse_grid("K=4,6 d=K kind=acyclic")
>>> [(p["K"], p["d"], p["kind"]) for p in grid.points()]
[(4, 4, 'acyclic'), (6, 6, 'acyclic')]
>>> task_seed(grid.points()[0], 0) == task_seed(parse_grid("K=4 d=4 kind=acyclic").points()[0], 0)
True
>>> parse_grid("K=4 colour=red")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ntp_mechanics.app.experiment.values.SweepError: unknown parameter 'colour' in SPEC (known: ...)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from ntp_mechanics.app.experiment.corpus_grid import CORPUS_PARAMETERS, resolve_point
from ntp_mechanics.app.experiment.protocol import DRAWS, EMBEDDINGS, INITS
from ntp_mechanics.app.experiment.values import SweepError, int_or_k, positive_float

__all__ = ["PARAMETERS", "SOURCES", "Grid", "SweepError", "Task", "parse_grid", "point_of_row",
           "task_seed"]




def _choice(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return text

    return parse


PARAMETERS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "K": (int, 8),
    "d": (int_or_k, 8),
    "n": (int_or_k, 6),
    "T": (int_or_k, 4),
    "kind": (_choice(DRAWS), "cyclic"),
    "embeddings": (_choice(EMBEDDINGS), "unit-norm"),
    "init": (_choice(INITS), "zero"),
    "init_scale": (positive_float, 1.0),
    "optimizer": (_choice(("gd", "ngd")), "ngd"),
    "lr": (positive_float, "auto"),
}
"""Parameter -> (parser of one value, default).  ``lr=auto``: 0.01 for ngd (the paper's),
``1/smoothness bound`` for gd."""

SOURCES = ("draw", "corpus")
"""Where a grid's datasets come from: ``source=draw`` (the default: drawn token graphs,
:data:`PARAMETERS`) or ``source=corpus`` (windows cut from the embedded corpus,
:data:`ntp_mechanics.app.experiment.corpus_grid.CORPUS_PARAMETERS`).  One grid has
one source; a drawn grid's points do not name it, so their seeds are those of before."""


def _table(source: str) -> dict[str, tuple[Callable[[str], Any], Any]]:
    """The parameters of a source."""
    if source == "corpus":
        return CORPUS_PARAMETERS
    return PARAMETERS


@dataclass(frozen=True)
class Task:
    """One trial of one grid point under a protocol (steps, recording)."""

    point: tuple[tuple[str, Any], ...]  # (name, value) in PARAMETERS order, resolved
    trial: int
    steps: int
    record_every: int

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.point)

    @property
    def seed(self) -> int:
        return task_seed(self.params, self.trial)

    @property
    def id(self) -> str:
        """Stable id of the task's row: the point, the trial and the protocol."""
        key = json.dumps([self.point, self.trial, self.steps, self.record_every])
        return hashlib.sha256(key.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Grid:
    """Swept values per parameter (only the named ones) and the point builder."""

    values: dict[str, tuple[Any, ...]]
    source: str = "draw"

    @property
    def swept(self) -> list[str]:
        """Parameters with more than one value, in their table's order."""
        return [k for k in _table(self.source) if len(self.values.get(k, ())) > 1]

    def points(self) -> list[dict[str, Any]]:
        """Every point, parameters in their table's order, relative sizes resolved."""
        table = _table(self.source)
        names = list(table)
        axes = [self.values.get(k, (table[k][1],)) for k in names]
        if self.source == "corpus":
            resolve = resolve_point
        else:
            resolve = _resolve
        out, seen = [], set()
        for combo in product(*axes):
            point = resolve(dict(zip(names, combo, strict=True)))
            key = canonical(point)
            if key not in seen:  # d=K,8 at K=8 gives one point, not two
                seen.add(key)
                out.append(point)
        return out

    def tasks(self, trials: int, steps: int, record_every: int) -> list[Task]:
        return [Task(tuple(p.items()), i, steps, record_every)
                for p in self.points() for i in range(trials)]


def _resolve(point: dict[str, Any]) -> dict[str, Any]:
    K = point["K"]
    for k in ("d", "n", "T"):
        v = point[k]
        if isinstance(v, str):
            point[k] = K * int(v[:-1] or 1)
    if point["init"] != "scale":
        point["init_scale"] = PARAMETERS["init_scale"][1]  # unused: one seed, not several
    _validate(point)
    return point


def _validate(p: dict[str, Any]) -> None:
    where = " ".join(f"{k}={v}" for k, v in p.items())
    if p["K"] < 2 or p["d"] < 1 or p["n"] < 1 or p["T"] < 2:
        raise SweepError(f"need K >= 2, d >= 1, n >= 1, T >= 2 at {where}")
    if p["embeddings"] != "unit-norm" and p["d"] < p["K"]:
        raise SweepError(f"{p['embeddings']} embeddings need d >= K at {where}")


def point_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """The grid point of a result row.

    A row records the values training used (``lr=auto`` resolved to a number); its
    ``grid_point`` column keeps the point as the grid wrote it.  Rows written before
    that column existed hold the point in its own columns (``lr`` NaN meaning ``auto``).
    """
    if row.get("grid_point"):
        return dict(json.loads(row["grid_point"]))
    point = {k: row[k] for k in PARAMETERS}
    if isinstance(point["lr"], float) and math.isnan(point["lr"]):
        point["lr"] = "auto"
    return point


def canonical(point: dict[str, Any]) -> str:
    """The point as sorted JSON: the key of its seed."""
    return json.dumps(point, sort_keys=True, separators=(",", ":"))


def task_seed(point: dict[str, Any], trial: int) -> int:
    """A 63-bit seed for trial ``trial`` of ``point`` (stable across runs and machines)."""
    entropy = int.from_bytes(hashlib.sha256(canonical(point).encode()).digest()[:16], "big")
    words = np.random.SeedSequence(entropy, spawn_key=(trial,)).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


def parse_grid(spec: str) -> Grid:
    """The grid of a SPEC; raises :class:`SweepError` (one line) on anything malformed.

    Parameters
    ----------
    spec : str
        Space-separated ``name=v1,v2,...`` items, names from :data:`PARAMETERS`, or with
        ``source=corpus`` from
        :data:`~ntp_mechanics.app.experiment.corpus_grid.CORPUS_PARAMETERS`.

    Returns
    -------
    Grid

    Raises
    ------
    SweepError
        Malformed item, unknown or repeated parameter, bad or repeated value, or a point
        that cannot be drawn (orthonormal embeddings with ``d < K``).
    """
    values: dict[str, tuple[Any, ...]] = {}
    if not spec.strip():
        raise SweepError("empty SPEC: give name=v1,v2,... items")
    source = _source(spec.split())
    table = _table(source)
    for item in spec.split():
        name, sep, raw = item.partition("=")
        if not sep or not name or not raw or raw.startswith(",") or raw.endswith(","):
            raise SweepError(f"malformed SPEC item {item!r}: expected name=v1,v2,...")
        if name == "source":
            continue
        if name not in table:
            where = "" if source == "draw" else f" with source={source}"
            raise SweepError(f"unknown parameter {name!r} in SPEC{where} "
                             f"(known: {', '.join(table)})")
        if name in values:
            raise SweepError(f"parameter {name!r} given twice in SPEC")
        parse = table[name][0]
        parsed = []
        for text in raw.split(","):
            try:
                parsed.append(parse(text))
            except ValueError as exc:
                hint = str(exc) if parse is not int else "an integer"
                raise SweepError(f"bad value {text!r} for {name}: expected {hint}") from None
        if len(set(parsed)) != len(parsed):
            raise SweepError(f"repeated value in {item!r}")
        values[name] = tuple(parsed)
    grid = Grid(values, source)
    grid.points()  # validates every point now, before any work
    return grid


def _source(items: list[str]) -> str:
    """The SPEC's ``source`` (one value of :data:`SOURCES`; ``draw`` when absent)."""
    given = [item.partition("=")[2] for item in items if item.partition("=")[0] == "source"]
    if len(given) > 1:
        raise SweepError("parameter 'source' given twice in SPEC")
    if not given:
        return "draw"
    if given[0] not in SOURCES:
        raise SweepError(f"bad value {given[0]!r} for source: expected one of "
                         f"{', '.join(SOURCES)} (one source per grid)")
    return given[0]

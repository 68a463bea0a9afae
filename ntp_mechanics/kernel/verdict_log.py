"""Where a verdict goes once recorded: the current test's verdicts, and the verdict log.

A claim module calls :func:`ntp_mechanics.kernel.verdict.record`, which hands the
verdict line ``{"test", "claim", "verdict", "reason", "metrics"}`` (a negative
control's claim is ``"<id>-control"``) to :func:`add_verdict`:

* it joins the verdicts of the test now running, which the package's pytest plugin
  takes (:func:`take_verdicts`) into that test's report after each phase - so the
  verdicts travel with the test's outcome, through pytest-xdist too, and ``gate`` and
  ``report`` read them there;
* when ``$NTP_VERDICT_LOG`` (:data:`~ntp_mechanics.kernel.environment.VERDICT_LOG_ENV`)
  names a file, it is also appended there as one JSON line (:func:`append_verdict`),
  for whoever wants the lines in a file; :func:`read_verdicts` reads them back.

Conjecture records (``conjectures.json``, written by the conjecture plugin) are read by
:func:`read_conjecture_records`.

Example
-------
>>> add_verdict("t", {"claim": "B", "verdict": "consistent"})
>>> take_verdicts(), take_verdicts()
([{'test': 't', 'claim': 'B', 'verdict': 'consistent'}], [])
>>> import tempfile, pathlib
>>> log = pathlib.Path(tempfile.mkdtemp()) / "v.jsonl"
>>> append_verdict(log, "t", {"claim": "B", "verdict": "consistent"})
>>> read_verdicts(log)
[{'test': 't', 'claim': 'B', 'verdict': 'consistent'}]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ntp_mechanics.kernel.environment import VERDICT_LOG_ENV

__all__ = ["add_verdict", "append_verdict", "log_path", "read_conjecture_records",
           "read_verdicts", "take_verdicts"]

_PENDING: list[dict[str, Any]] = []  # verdicts recorded since the last take_verdicts()


def add_verdict(test: str, result: Mapping[str, Any]) -> None:
    """Keep one verdict (``ClaimResult.to_dict()``) for the current test, and append
    it to ``$NTP_VERDICT_LOG`` when that is set."""
    # a JSON round trip: plain values only, as pytest-xdist sends a report between processes
    line = json.loads(json.dumps({"test": test, **result}, default=str))
    _PENDING.append(line)
    path = log_path()
    if path:
        append_verdict(path, test, result)


def take_verdicts() -> list[dict[str, Any]]:
    """The verdicts kept since the last call, which empties the list."""
    out = list(_PENDING)
    _PENDING.clear()
    return out


def log_path() -> str | None:
    """The verdict log this process writes to (``$NTP_VERDICT_LOG``), or None."""
    return os.environ.get(VERDICT_LOG_ENV) or None


def append_verdict(path: str | Path, test: str, result: Mapping[str, Any]) -> None:
    """Append one verdict (``ClaimResult.to_dict()``) as a JSON line."""
    line = json.dumps({"test": test, **result}, default=str)
    with open(path, "a", encoding="utf-8") as fh:  # O_APPEND: one write per line, safe
        fh.write(line + "\n")                      # across pytest-xdist workers


def read_verdicts(path: str | Path) -> list[dict[str, Any]]:
    """The verdict log's lines (a torn line from a killed worker is skipped, never fatal)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def read_conjecture_records(folder: str | Path) -> list[dict[str, Any]]:
    """The conjecture plugin's records in ``folder/conjectures.json`` (none if absent)."""
    path = Path(folder) / "conjectures.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("conjectures", {}).values())

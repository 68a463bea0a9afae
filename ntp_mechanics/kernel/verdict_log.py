"""The verdict log: one JSON line per verdict, for whoever wants the lines in a file.

A claim module calls :func:`ntp_mechanics.kernel.verdict.record`; the verdict travels
with its test's outcome to ``gate`` and ``report``, and when ``$NTP_VERDICT_LOG``
(:data:`~ntp_mechanics.kernel.environment.VERDICT_LOG_ENV`) names a file,
:func:`append_verdict` also adds ``{"test", "claim", "verdict", "reason", "metrics"}``
to it (a negative control's claim is ``"<id>-control"``); :func:`read_verdicts` reads
it back.  Conjecture records (``conjectures.json``, written by the conjecture plugin)
are read by :func:`read_conjecture_records`.

Example
-------
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

__all__ = ["append_verdict", "log_path", "read_conjecture_records", "read_verdicts"]

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

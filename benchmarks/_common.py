"""Shared helpers of the benchmark scripts: machine description, timing, JSON + PNG output.

Benchmarks are scripts, never timed tests (targets live here, side by side with a
baseline in one run).  Every script writes ``<out>/<name>.json`` and ``<out>/<name>.png``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the figures were measured on (the lead re-measures on an idle machine)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(load),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The fastest of ``repeats`` wall-clock runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def write_json(out: Path, name: str, payload: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def figure() -> tuple[Any, Any]:
    """A figure and axes, or ``(None, None)`` without matplotlib (then: JSON only)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib not installed: no PNG")
        return None, None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.2))


def save_figure(fig: Any, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
    return path


def paired_bars(
    out: Path, name: str, ticks: list[str], pairs: dict[str, list[float]], ylabel: str,
    title: str,
) -> None:
    """Two bars per tick (baseline left, new right), log scale, saved as ``name.png``."""
    fig, ax = figure()
    if fig is None:
        return
    import numpy as np

    x = np.arange(len(ticks))
    for offset, (label, values) in zip((-0.2, 0.2), pairs.items(), strict=True):
        ax.bar_label(ax.bar(x + offset, values, 0.4, label=label), fmt="%.3g")
    ax.set_xticks(x, ticks)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    save_figure(fig, out, name)

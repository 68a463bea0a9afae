"""Figures of a sweep (PNG): final metrics against each swept parameter, curves.

* ``final_<param>.png`` - for every swept parameter, each final metric of
  :data:`ntp_mechanics.app.experiment.tasks.METRICS` against its values: mean over every row
  with that value (all other parameters pooled), error bars one standard deviation;
* ``curves.png`` - per grid point, the mean ``corr(W, W_svm)``, ``||P_fin W - W_fin||``
  and loss gap against steps; for a corpus sweep (:func:`corpus_curve_figure`) the
  held-out top-SCC mass, hard retrieval and next-token accuracy of the trained model
  (solid) and of its controls (dashed, dotted, dash-dotted).

What the theory predicts (THEORY.md sections 5 and 7): corr with ``W_svm`` creeping
towards 1 at the slow ``(log R)/R`` rate, corr with the path at matched norm much closer
to 1, the S_fin error and the loss gap going to 0.

Example
-------
>>> import tempfile, pathlib
>>> rows = [{"K": k, "corr_svm": 0.9 + k / 100, "task_id": str(k)} for k in (2, 4, 4)]
>>> paths = final_figures(rows, ["K"], pathlib.Path(tempfile.mkdtemp()), ("corr_svm",))
>>> [p.name for p in paths]
['final_K.png']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["corpus_curve_figure", "curve_figure", "final_figures", "summary_table"]

LABELS = {
    "loss_gap": "L(W) - L*", "norm": "||W||", "corr_svm": "corr(W, W_svm)",
    "corr_path": "corr(W, W_R), R = ||W||", "fin_err": "||P_fin W - W_fin||",
    "off_scc": "attention off label's SCC",
    "top_scc_mass": "attention mass on top SCC (held-out)",
    "hard_retrieval_accuracy": "hard retrieval (held-out)",
    "corr_W_svm": "corr(W, W_svm)", "corr_fin": "corr(P_fin W, W_fin)",
    "next_token_accuracy": "next-token accuracy (held-out)",
    "redrawn_top_scc_mass": "top-SCC mass, redrawn labels",
    "random_top_scc_mass": "top-SCC mass, random W",
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _stats(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard deviation and count of the finite values (NaN when none)."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if not v.size:
        return math.nan, math.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def summary_table(rows: Sequence[dict[str, Any]], by: str, metrics: Sequence[str]
                  ) -> list[dict[str, Any]]:
    """Per value of ``by``: ``trials`` and ``<metric>_mean`` / ``_std`` / ``_n``."""
    out = []
    for v in sorted({r[by] for r in rows}, key=_order):
        rs = [r for r in rows if r[by] == v]
        entry: dict[str, Any] = {by: v, "trials": len(rs)}
        for m in metrics:
            mean, std, n = _stats([r.get(m) for r in rs])
            entry.update({f"{m}_mean": mean, f"{m}_std": std, f"{m}_n": n})
        out.append(entry)
    return out


def _order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float) else (1, str(v))


def final_figures(rows: Sequence[dict[str, Any]], swept: Sequence[str], out: Path,
                  metrics: Sequence[str]) -> list[Path]:
    """One ``final_<param>.png`` per swept parameter (``K`` when nothing is swept).

    Parameters
    ----------
    rows : sequence of dict
        The sweep's rows.
    swept : sequence of str
        Parameters with several values.
    out : Path
        Folder for the PNGs.
    metrics : sequence of str
        Row columns to plot, one panel each.

    Returns
    -------
    list of Path
    """
    plt = _plt()
    paths = []
    for param in swept or ["K"]:
        table = summary_table(rows, param, metrics)
        fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.0),
                                 squeeze=False)
        xs = np.arange(len(table))
        for ax, m in zip(axes[0], metrics, strict=True):
            ax.errorbar(xs, [t[f"{m}_mean"] for t in table], [t[f"{m}_std"] for t in table],
                        marker="o", capsize=3)
            ax.set_xticks(xs, [str(t[param]) for t in table])
            ax.set_xlabel(param)
            ax.set_title(LABELS.get(m, m), fontsize=9)
        fig.tight_layout()
        path = out / f"final_{param}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def curve_figure(rows: Sequence[dict[str, Any]], curves: Sequence[dict[str, Any]],
                 swept: Sequence[str], path: Path, max_lines: int = 12) -> Path:
    """Mean curves per grid point (labelled by its swept values) against steps."""
    plt = _plt()
    groups = _curves_by_point(rows, curves, swept)
    panels = (("corr_svm", False), ("fin_err", True), ("loss_gap", True))
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.4))
    for label, cs in list(groups.items())[:max_lines]:
        steps = cs[0]["steps"]
        for ax, (m, log) in zip(axes, panels, strict=True):
            A = np.array([c[m] for c in cs if len(c[m]) == len(steps)], dtype=np.float64)
            y = np.nanmean(A, 0)
            if log:
                y = np.maximum(y, 1e-16)  # a gap of exactly 0 on a log axis
            ax.plot(steps, y, label=label)
            ax.set_yscale("log" if log else "linear")
    return _save_curves(plt, fig, axes, [m for m, _ in panels], path, legend_size=7)


CONTROL_STYLES = (("", "-", "trained"), ("redrawn_", "--", "redrawn labels"),
                  ("random_", ":", "random W"), ("other_", "-.", "other corpus"))


def corpus_curve_figure(rows: Sequence[dict[str, Any]], curves: Sequence[dict[str, Any]],
                        swept: Sequence[str], path: Path, max_groups: int = 6) -> Path:
    """Per grid point of a corpus sweep, the mean held-out curves of the trained model
    and of each control against steps (one colour per point, one line style per model)."""
    plt = _plt()
    groups = _curves_by_point(rows, curves, swept)
    panels = ("top_scc_mass", "hard_retrieval_accuracy", "next_token_accuracy")
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.6))
    for n, (label, cs) in enumerate(list(groups.items())[:max_groups]):
        steps = cs[0]["steps"]
        for ax, m in zip(axes, panels, strict=True):
            for prefix, style, model in CONTROL_STYLES:
                A = np.array([[np.nan if v is None else v for v in c[prefix + m]]
                              for c in cs if len(c[prefix + m]) == len(steps)], np.float64)
                if A.size and np.isfinite(A).any():
                    with np.errstate(all="ignore"):
                        y = np.nanmean(A, 0)
                    ax.plot(steps, y, style, color=f"C{n}",
                            label=f"{label}, {model}" if ax is axes[0] else None)
    return _save_curves(plt, fig, axes, panels, path, legend_size=6)


def _curves_by_point(rows: Sequence[dict[str, Any]], curves: Sequence[dict[str, Any]],
                     swept: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The curves of each grid point, labelled by its swept values."""
    by_id = {c["task_id"]: c for c in curves}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["task_id"] in by_id:
            label = " ".join(f"{k}={r[k]}" for k in swept) or "all"
            groups.setdefault(label, []).append(by_id[r["task_id"]])
    return groups


def _save_curves(plt: Any, fig: Any, axes: Any, metrics: Sequence[str], path: Path,
                 legend_size: int) -> Path:
    """Label the step axes and metric titles of a curve figure, then write it."""
    for ax, m in zip(axes, metrics, strict=True):
        ax.set_xlabel("step")
        ax.set_title(LABELS[m], fontsize=9)
    axes[0].legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

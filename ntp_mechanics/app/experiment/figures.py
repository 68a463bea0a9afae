"""Figures of ``ntp-mechanics report`` (matplotlib, Agg backend, PNG).

One function per figure; each takes measured data, writes one PNG and returns its
path.  The curves come from the paper experiment
(:mod:`ntp_mechanics.app.experiment.paper`: normalised GD on random datasets, THEORY.md
section 7) and are drawn as the mean across trials with a 10-90% quantile band:

* :func:`correlation_figure` - ``corr(W(tau), W_svm)`` and ``corr(W(tau), W_R)`` at
  matched norm ``R = ||W(tau)||`` against iterations (claims B and D; A);
* :func:`fin_error_figure` - ``||P_fin W(tau) - W_fin||`` against iterations;
* :func:`attention_figure` - the attention mass on the label's SCC (claim C);
* :func:`priority_graph_figure` - token-priority graphs ``G^(k)`` with their SCCs
  coloured and the Graph-SVM margins ``(e_i - e_j)^T W_svm e_k`` on the edges;
* :func:`regpath_error_figure` - ``||W_R/R - W_svm/||W_svm|| ||`` against R, log-log
  (claim A; the theory's rate is ``log(R)/R``).

matplotlib is imported inside the functions, so importing this module is cheap.

Example
-------
>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.predictions import predict
>>> pred = predict(Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 0, 2), 1)]))
>>> out = priority_graph_figure(pred, Path(tempfile.mkdtemp()) / "tpg.png")
>>> out.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.app.experiment.paper import band
from ntp_mechanics.app.experiment.protocol import KINDS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ntp_mechanics.app.experiment.trial import TrialResult
    from ntp_mechanics.solvers.predictions import Predictions

__all__ = [
    "FIGURES",
    "attention_figure",
    "correlation_figure",
    "fin_error_figure",
    "priority_graph_figure",
    "regpath_error_figure",
]

FIGURES = {
    "correlation": "corr_svm_and_path.png",
    "fin_error": "fin_error.png",
    "attention": "attention_on_label_scc.png",
    "priority_graph": "priority_graph.png",
    "regpath": "regpath_direction_error.png",
}
"""Figure name -> file name inside the report directory."""

COLOURS = {"cyclic": "tab:red", "acyclic": "tab:blue"}
DPI = 120


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    _plt().close(fig)
    return path


def _mean_band(ax: Axes, x: Sequence[float], rows: Sequence[Sequence[float]], colour: str,
               label: str, marker: str | None = None) -> None:
    mean, lo, hi = band(rows)
    ax.plot(x, mean, color=colour, label=label, marker=marker, markersize=3)
    ax.fill_between(x, lo, hi, color=colour, alpha=0.2, linewidth=0)


def _by_kind(results: Sequence[TrialResult]) -> dict[str, list[TrialResult]]:
    return {k: [r for r in results if r.trial.kind == k] for k in KINDS
            if any(r.trial.kind == k for r in results)}


def correlation_figure(results: Sequence[TrialResult], path: Path) -> Path:
    """One panel per kind: corr with W_svm (every trial) and with the regularization path
    at matched norm (trials where it was solved; uncertified points are left out)."""
    plt = _plt()
    groups = _by_kind(results)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.8), squeeze=False)
    for ax, (kind, rs) in zip(axes[0], groups.items(), strict=True):
        _mean_band(ax, rs[0].steps[1:], [r.corr_svm[1:] for r in rs], COLOURS[kind],
                   f"corr(W, W_svm), {len(rs)} trials")  # step 0: W = 0, no direction
        with_path = [r for r in rs if r.corr_path]
        if with_path:
            _mean_band(ax, with_path[0].path_steps, [r.corr_path for r in with_path], "black",
                       f"corr(W, W_R), R = ||W||, {len(with_path)} trials", marker="o")
        ax.set(title=f"{kind} datasets", xlabel="iteration", ylabel="correlation")
        ax.set_ylim(max(0.0, ax.get_ylim()[0]), 1.002)
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Normalised GD (lr 0.01): correlation with W_svm and with the path "
                 "(mean, 10-90% band)", fontsize=10)
    return _save(fig, path)


def fin_error_figure(results: Sequence[TrialResult], path: Path) -> Path:
    """``||P_fin W(tau) - W_fin||`` on a log scale, per kind with ``S_fin != {0}``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for kind, rs in _by_kind(results).items():
        rs = [r for r in rs if r.fin_dim > 0]
        if rs:
            _mean_band(ax, rs[0].steps[1:], [r.fin_err[1:] for r in rs], COLOURS[kind],
                       f"{kind} ({len(rs)} trials with S_fin != {{0}})")
    ax.set_yscale("log")
    ax.axhline(0.01, color="grey", lw=0.6, ls=":", label="lr = 0.01 (step size)")
    ax.set(xlabel="iteration", ylabel="||P_fin W - W_fin||_F",
           title="S_fin component of GD vs W_fin (mean, 10-90%)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def attention_figure(results: Sequence[TrialResult], path: Path) -> Path:
    """Mean (over samples) attention mass on the label's SCC, per kind."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for kind, rs in _by_kind(results).items():
        _mean_band(ax, rs[0].attention_steps, [r.on_scc for r in rs], COLOURS[kind],
                   f"{kind} ({len(rs)} trials)")
    ax.set(xlabel="iteration", ylabel="attention on the label's SCC", ylim=(0, 1.02),
           title="Hard retrieval: attention mass on the label's SCC")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def regpath_error_figure(results: Sequence[TrialResult], path: Path) -> Path:
    """Directional error of certified path points against R, log-log, one line per
    dataset, with a ``log(R)/R`` reference (the theory's rate) through the first point."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    shown = 0
    for r in results:
        R = np.array(r.ladder_radii)
        err = np.array(r.ladder_dir_err, dtype=float)
        ok = np.isfinite(err) & (err > 0)
        if ok.sum() < 2:
            continue
        ax.loglog(R[ok], err[ok], marker="o", ms=3, color=COLOURS[r.trial.kind], alpha=0.7,
                  label=f"{r.trial.kind} trial {r.trial.index}")
        shown += 1
        if shown == 1:
            x = R[ok]
            ref = (1 + np.log(x)) / x
            ax.loglog(x, ref * err[ok][0] / ref[0], "k--", lw=0.8, label="∝ log(e R)/R")
    if shown == 0:
        ax.text(0.5, 0.5, "no certified path points", ha="center", transform=ax.transAxes)
    ax.set(xlabel="R", ylabel="||W_R/R - W_svm/||W_svm|| ||",
           title="Regularization path: directional error (certified points)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def priority_graph_figure(pred: Predictions, path: Path, max_graphs: int = 4) -> Path:
    """The ``max_graphs`` largest graphs ``G^(k)``: SCCs coloured (grey: single tokens),
    levels of the condensation top to bottom, Graph-SVM margins on the edges (cyclic
    edges dashed, margin 0)."""
    plt = _plt()
    ks = sorted(pred.tpg, key=lambda k: (-pred.tpg[k].graph.number_of_edges(), k))
    ks = ks[:max_graphs]
    cols = min(len(ks), 2)
    rows = math.ceil(len(ks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False)
    for ax in axes.flat[len(ks):]:
        ax.axis("off")
    for ax, k in zip(axes.flat, ks, strict=False):
        _draw_graph(ax, pred, k)
    fig.suptitle(f"Token-priority graphs ({pred.dataset.name or 'dataset'}): SCCs coloured, "
                 "edges labelled with (e_i - e_j)^T W_svm e_k", fontsize=9)
    return _save(fig, path)


def _layout(pred: Predictions, k: int) -> dict[int, tuple[float, float]]:
    """Levels of the condensation as rows (highest priority on top), SCCs side by side."""
    g = pred.tpg[k]
    level = g.levels
    rows: dict[int, list[int]] = {}
    for scc in g.sccs:
        rows.setdefault(level[g.scc_of[scc[0]]], []).extend(scc)
    pos = {}
    for lv, toks in rows.items():
        for i, t in enumerate(toks):
            pos[t] = (i - (len(toks) - 1) / 2, float(lv))
    return pos


def _draw_graph(ax: Axes, pred: Predictions, k: int) -> None:
    import networkx as nx

    plt = _plt()
    g = pred.tpg[k]
    G = g.graph
    pos = _layout(pred, k)
    palette = plt.get_cmap("tab10")
    multi = [c for c in g.sccs if len(c) > 1]
    colour = {t: palette(i % 10) for i, c in enumerate(multi) for t in c}
    nodes = sorted(G.nodes)
    nx.draw_networkx_nodes(G, pos, nodelist=nodes, ax=ax, node_size=420,
                           node_color=[colour.get(t, (0.85, 0.85, 0.85, 1.0)) for t in nodes],
                           edgecolors=["black" if t == k else "none" for t in nodes],
                           linewidths=2.0)
    nx.draw_networkx_labels(G, pos, ax=ax, font_size=9)
    E, W = pred.dataset.E, pred.W_svm
    for cyclic in (False, True):
        edges = [(i, j) for i, j in G.edges if g.same(i, j) is cyclic]
        if not edges:
            continue
        style = "arc3,rad=0.2"
        nx.draw_networkx_edges(G, pos, edgelist=edges, ax=ax, style="dashed" if cyclic else "solid",
                               connectionstyle=style, arrowsize=12, node_size=420,
                               edge_color="tab:grey" if cyclic else "black")
        labels = {(i, j): f"{round(float((E[i] - E[j]) @ W @ E[k]), 2) + 0.0:.2f}"
                  for i, j in edges}
        nx.draw_networkx_edge_labels(G, pos, edge_labels=labels, ax=ax, font_size=7,
                                     connectionstyle=style, node_size=420,
                                     bbox={"boxstyle": "round,pad=0.1", "fc": "white",
                                           "ec": "none", "alpha": 0.8})
    ax.set_title(f"G^({k}) (query {k}, outlined): {len(g.sccs)} SCCs, "
                 f"{len(g.cyclic_edges)} cyclic / {len(g.acyclic_edges)} acyclic edges",
                 fontsize=8)
    ax.axis("off")

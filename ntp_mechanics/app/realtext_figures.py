"""Figures of the report's real-text section (matplotlib, Agg backend, PNG).

One function per figure; each takes a :class:`~ntp_mechanics.kernel.realtext_run.RealTextRun`,
writes one PNG and returns its path:

* :func:`scc_size_figure` - how many SCCs of each size the training graphs ``G^(k)``
  have (log scale; size 1 is the acyclic part);
* :func:`curves_figure` - the held-out measurements against training steps, the
  trained model beside its three controls (mean over seeds, min-max band), with the
  unigram and bigram baselines on the next-token panel;
* :func:`windows_figure` - a few held-out windows written out token by token, each
  token shaded by the trained model's attention weight, the top SCC's tokens boxed
  and the label shown after the arrow.

matplotlib is imported inside the functions, so importing this module is cheap.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> from ntp_mechanics.kernel.realtext_run import RealTextSetting, embedded_corpus, run_realtext
>>> s = RealTextSetting(window=4, vocab=8, max_train=60, max_heldout=30, seeds=(0,),
...                     steps=20, record_every=10)
>>> tr, he, voc, _ = embedded_corpus(s)
>>> out = scc_size_figure(run_realtext(tr, he, s, voc), Path(tempfile.mkdtemp()) / "s.png")
>>> out.read_bytes()[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ntp_mechanics.app.experiment.figures import _plt, _save
from ntp_mechanics.kernel import realtext as rt
from ntp_mechanics.kernel.realtext_run import MODELS

if TYPE_CHECKING:
    from ntp_mechanics.kernel.realtext_run import RealTextRun

__all__ = ["FIGURES", "curves_figure", "scc_size_figure", "windows_figure"]

FIGURES = {
    "scc_sizes": "realtext_scc_sizes.png",
    "curves": "realtext_curves.png",
    "windows": "realtext_windows.png",
}
"""Figure name -> file name inside the report directory."""

COLOURS = dict(zip(MODELS, ("tab:blue", "tab:orange", "tab:gray", "tab:purple"), strict=True))
PANELS = (("hard_retrieval_accuracy", "hard retrieval of the top SCC"),
          ("top_scc_mass", "attention mass on the top SCC"),
          ("corr_W_svm", "corr(W, W_svm)"),
          ("corr_fin", "corr(P_fin W, W_fin)"),
          ("soft_tv", "TV to softmax(W_fin) inside the top SCC"),
          ("next_token_accuracy", "next-token accuracy"))


def scc_size_figure(run: RealTextRun, path: Path) -> Path:
    """Histogram of SCC sizes over the training graphs (one count per (query, SCC))."""
    plt = _plt()
    sizes = np.asarray(run.theory["scc_sizes"], dtype=int)
    vals, counts = np.unique(sizes, return_counts=True) if sizes.size else ([], [])
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar(vals, counts, color="tab:blue", width=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("SCC size (tokens)")
    ax.set_ylabel("SCCs over all G^(k)")
    g = run.theory["graphs"]
    largest = int(sizes.max()) if sizes.size else 0
    ax.set_title(f"Training graphs: {g.get('queries', '?')} queries, "
                 f"{int(np.sum(sizes > 1))} cyclic SCCs (size >= 2), largest {largest}; "
                 "size 1: a token on no cycle", fontsize=9)
    return _save(fig, path)


def curves_figure(run: RealTextRun, path: Path) -> Path:
    """The held-out measurements against steps: the model and its controls."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.4), sharex=True)
    for ax, (key, title) in zip(axes.ravel(), PANELS, strict=True):
        for model in MODELS:
            steps, lo, mid, hi = _series(run.curves, model, key)
            if not steps:
                continue
            ax.plot(steps, mid, color=COLOURS[model], label=model)
            ax.fill_between(steps, lo, hi, color=COLOURS[model], alpha=0.2, linewidth=0)
        if key == "next_token_accuracy":
            last = max(r["step"] for r in run.curves)
            rows = [r for r in run.curves if r["model"] == "trained" and r["step"] == last]
            for base, style in (("unigram_accuracy", ":"), ("bigram_accuracy", "--")):
                ax.axhline(float(np.mean([r[base] for r in rows])), color="k", linestyle=style,
                           linewidth=1, label=base.split("_")[0] + " (mean over seeds)")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("training step (normalised GD)")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    axes[-1, -1].legend(fontsize=8, loc="lower right")
    n = len(run.setting.seeds)
    fig.suptitle(f"Held-out windows ({run.heldout.n}): trained model vs controls, mean over "
                 f"{n} seed{'s' if n > 1 else ''} (band: min-max)", fontsize=10)
    return _save(fig, path)


def _series(curves: list[dict[str, Any]], model: str,
            key: str) -> tuple[list[int], list[float], list[float], list[float]]:
    by_step: dict[int, list[float]] = {}
    for r in curves:
        if r["model"] == model and isinstance(r.get(key), int | float):
            by_step.setdefault(r["step"], []).append(float(r[key]))
    steps = sorted(by_step)
    return (steps, [min(by_step[s]) for s in steps], [float(np.mean(by_step[s])) for s in steps],
            [max(by_step[s]) for s in steps])


def windows_figure(run: RealTextRun, path: Path, n_windows: int = 5, seed: int = 0) -> Path:
    """A few judged held-out windows with the trained model's attention over their tokens.

    Windows are drawn (seeded) among those with a top SCC and at least two distinct
    tokens of it when there are such (where soft composition shows), else among the
    judged ones.  Each token's cell is shaded by its attention weight (white 0, dark
    blue 1); tokens of the top SCC are boxed in red; the label follows the arrow.
    """
    plt = _plt()
    sd = run.setting.seeds[0]
    W = run.weights[("trained", sd)]
    view = rt.attention_view(run.train, run.heldout, W)
    rows = _pick_windows(view, n_windows, seed)
    vocab = run.vocabulary or tuple(str(i) for i in range(run.train.K))
    T = view["ids"].shape[1]
    size = (max(0.5 * (T + 4), 6.5), 0.8 * len(rows) + 1.0)
    fig, axes = plt.subplots(max(len(rows), 1), 1, figsize=size, squeeze=False)
    cmap = plt.get_cmap("Blues")
    labels = [s.label for s in run.heldout.samples]
    for ax, i in zip(axes[:, 0], rows, strict=False):
        _draw_window(ax, view, i, vocab, labels[i], cmap)
    if not rows:
        axes[0, 0].text(0.5, 0.5, "no held-out window has a top SCC", ha="center")
        axes[0, 0].axis("off")
    fig.suptitle(f"Held-out windows: attention of the trained model (seed {sd}), "
                 "darker = more\n(weight under each token); red boxes: the top SCC; "
                 "the last token is the query", fontsize=9)
    return _save(fig, path)


def _pick_windows(view: dict[str, np.ndarray], n: int, seed: int) -> list[int]:
    ids, top = view["ids"], view["top"]
    big = np.iinfo(ids.dtype).max
    several = np.where(top, ids, -1).max(axis=1) > np.where(top, ids, big).min(axis=1)
    pool = np.flatnonzero(several)
    if len(pool) < n:
        pool = np.concatenate([pool, np.flatnonzero(top.any(axis=1) & ~several)])
    rng = np.random.default_rng(seed)
    k = min(n, len(pool))
    return sorted(rng.choice(pool, size=k, replace=False).tolist()) if k else []


def _show(tok: str) -> str:
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(tok, tok)


def _draw_window(ax: Any, view: dict[str, np.ndarray], i: int, vocab: tuple[str, ...],
                 label: int, cmap: Any) -> None:
    from matplotlib.patches import Rectangle

    ids, mask, att, top = (view[k][i] for k in ("ids", "mask", "attention", "top"))
    T = len(ids)
    for t in range(T):
        if not mask[t]:
            continue
        a = float(att[t])
        ax.add_patch(Rectangle((t, 0), 1, 1, facecolor=cmap(a), edgecolor="0.8", linewidth=0.5))
        if top[t]:
            ax.add_patch(Rectangle((t + 0.06, 0.06), 0.88, 0.88, fill=False, edgecolor="red",
                                   linewidth=1.6))
        ink = "white" if a > 0.6 else "black"
        ax.text(t + 0.5, 0.6, _show(vocab[ids[t]]), ha="center", va="center", fontsize=10,
                color=ink, family="monospace")
        ax.text(t + 0.5, 0.22, f"{a:.2f}".lstrip("0") if a < 0.995 else "1", ha="center",
                va="center", fontsize=6, color=ink)
    ax.text(T + 0.3, 0.5, "→ " + _show(vocab[label]), ha="left", va="center", fontsize=9,
            family="monospace")
    mass = float(np.sum(att * top))
    ax.text(T + 1.5, 0.5, f"top-SCC\nmass {mass:.2f}", ha="left", va="center", fontsize=7,
            color="0.3")
    ax.set_xlim(0, T + 3.2)
    ax.set_ylim(0, 1)
    ax.axis("off")

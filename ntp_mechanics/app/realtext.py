"""The real-text section of the report, and ``ntp-mechanics realtext`` which writes it alone.

:func:`build_real_text` cuts a corpus from the embedded text, trains the model and
measures it with its three controls over training
(:func:`~ntp_mechanics.kernel.realtext_run.run_realtext`), draws the figures
(:mod:`ntp_mechanics.app.realtext_figures`) and returns the data that ``report.json``
holds under ``real_text``; :func:`real_text_markdown` renders it (heading "Real text:
...", the table with verdicts, the conclusions computed from it, the figures).

Example (shell)::

    ntp-mechanics realtext --out rt --unit char --window 16 --train 2000 --heldout 1000

writes ``rt/realtext.md``, ``rt/realtext.json`` and the three PNG figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ntp_mechanics.kernel.realtext_setting import RealTextSetting

HELP = ("train attention on the embedded corpus and measure it with its controls over "
        "training; write DIR/realtext.md, realtext.json, figures")

__all__ = ["build_real_text", "real_text_markdown"]

MAX_WINDOW = 256


def build_real_text(s: RealTextSetting, out: Path) -> dict[str, Any]:
    """Train on the embedded corpus, measure the model and its controls, draw the
    figures (:mod:`ntp_mechanics.kernel.realtext_run`,
    :mod:`ntp_mechanics.app.realtext_figures`)."""
    from ntp_mechanics.app import realtext_figures as rfig
    from ntp_mechanics.kernel.realtext_run import embedded_corpus, run_realtext

    t0 = time.perf_counter()
    train, held, vocab, stats = embedded_corpus(s)
    run = run_realtext(train, held, s, vocab, stats)
    paths = {"scc_sizes": rfig.scc_size_figure(run, out / rfig.FIGURES["scc_sizes"]),
             "curves": rfig.curves_figure(run, out / rfig.FIGURES["curves"]),
             "windows": rfig.windows_figure(run, out / rfig.FIGURES["windows"])}
    data = run.to_dict()
    data["figures"] = {k: p.name for k, p in paths.items()}
    data["seconds"] = round(time.perf_counter() - t0, 2)
    return data


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _real_text_conclusions(rt: dict[str, Any]) -> list[str]:
    """Sentences computed from the real-text table (means over seeds)."""
    t = {r["model"]: r for r in rt["table"]}
    g = t["trained"]
    out = []
    n = g["seeds"]
    judged = f"{g['consistent']} of {n} seeds consistent, {g['contradicts']} contradict, " \
        f"{g['inconclusive']} inconclusive, {g['outside_hypotheses']} outside the hypotheses"
    if g["top_scc_mass"] is not None:
        out.append(f"Hard retrieval: the trained model's largest attention weight falls on the "
                   f"top SCC in {100 * g['hard_retrieval_accuracy']:.1f}% of judged held-out "
                   f"windows, with mean mass {g['top_scc_mass']:.3f} on it ({judged}).")
    if g["soft_tv"] is not None and g["corr_fin"] is not None:
        out.append(f"Soft composition inside the top SCC: total variation "
                   f"{g['soft_tv']:.3f} from softmax(W_fin); cos(P_fin W, W_fin) = "
                   f"{g['corr_fin']:.3f}, cos(W, W_svm) = {_fmt(g['corr_W_svm'])}.")
    if g["next_token_accuracy"] is not None:
        best = max(g["unigram_accuracy"], g["bigram_accuracy"])
        word = "above" if g["next_token_accuracy"] > best else "not above"
        out.append(f"As a predictor: next-token accuracy {g['next_token_accuracy']:.3f}, "
                   f"{word} the better baseline ({best:.3f}; unigram "
                   f"{g['unigram_accuracy']:.3f}, bigram {g['bigram_accuracy']:.3f}).")
    gaps = ", ".join(f"{m} {_fmt(t[m]['gap_top_scc_mass'])}" for m in t if m != "trained")
    worse = rt["controls_clearly_worse"]
    verdict = ("every control is clearly worse" if all(worse.values()) else
               "not every control is clearly worse: " + ", ".join(
                   m for m, ok in worse.items() if not ok))
    out.append(f"Controls: top-SCC mass below the trained model's by {gaps}; {verdict}.")
    return out


def real_text_markdown(rt: dict[str, Any]) -> list[str]:
    """The real-text section (Markdown lines): setting, table with verdicts, controls, figures."""
    s, c, th = rt["setting"], rt["corpus"], rt["theory"]
    unit = {"char": "character", "word": "word", "bpe": "subword"}[s["unit"]]
    g = th["graphs"]
    lines = [
        "## Real text: does trained attention follow the mechanics?", "",
        f"The embedded corpus (the help topics of the Python documentation), {unit} level, "
        f"window T = {s['window']}, K = {c['K']} tokens, one-hot embeddings.  Of "
        f"{c['windows_total']:,} windows, {c['windows']:,} are realizable (kept fraction "
        f"{c['kept_fraction']:.2f}); {c['distinct_windows']:,} distinct windows; each seed "
        f"draws its own subset of {max(c['train_used']):,} training and "
        f"{max(c['heldout_used']):,} held-out windows.  Training graphs of the first seed: "
        f"{g.get('edges', '?')} priority edges, "
        f"{sum(1 for x in th['scc_sizes'] if x > 1)} cyclic SCCs (largest "
        f"{max(th['scc_sizes'], default=0)} tokens).", "",
        f"The model: W trained by normalised GD (lr {s['lr']}, {s['steps']} steps from "
        f"W = 0, fp64) on the training windows, seeds {list(s['seeds'])}.  Measured on the "
        "held-out windows, with priority read from the training windows' graphs: hard "
        "retrieval (largest attention weight on the top SCC of the window), the attention "
        "mass on that SCC, cos(W, W_svm), cos(P_fin W, W_fin), next-token accuracy against "
        "unigram and bigram baselines.  Controls, measured by the same code: *redrawn "
        "labels* (trained on the training windows with every label redrawn from its own "
        "window), *random* (Gaussian weights of the trained norm), *other corpus* (the "
        "Graph-SVM of the same text over a permuted vocabulary, at the trained norm).", "",
        "Verdict: claim C on held-out windows (consistent: mean top-SCC mass >= 0.95 in the "
        "asymptotic regime; contradicts: <= 0.5 there; otherwise inconclusive); the regime is "
        "read from the training loss gap and ||W|| / ||W_svm||.  Rows trained outside the "
        "theorems' hypotheses are counted, not judged.", "",
        "| model | hard retrieval | top-SCC mass | gap to trained | TV in SCC | corr(W, W_svm) "
        "| corr(P_fin W, W_fin) | next-token acc. | unigram | bigram | consistent | "
        "contradicts | inconclusive | outside the hypotheses |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rt["table"]:
        cells = {**r, "gap_top_scc_mass": r["gap_top_scc_mass"] if r["model"] != "trained"
                 else "-"}
        lines.append("| " + " | ".join([r["model"], *(_fmt(cells[k]) for k in (
            "hard_retrieval_accuracy", "top_scc_mass", "gap_top_scc_mass", "soft_tv",
            "corr_W_svm", "corr_fin", "next_token_accuracy", "unigram_accuracy",
            "bigram_accuracy")), *(str(r[k]) for k in (
                "consistent", "contradicts", "inconclusive", "outside_hypotheses"))]) + " |")
    worse = rt["controls_clearly_worse"]
    pre = rt["premises"]
    lines += [
        "", f"Means over {len(s['seeds'])} seeds at the last step.  Controls clearly worse "
        "(top-SCC mass at least 0.1 below the trained model's): "
        + ", ".join(f"{k}: {'yes' if v else '**no**'}" for k, v in worse.items())
        + f".  Premises: labels changed {_fmt(min(pre['redrawn labels']['labels_changed']))}"
        f" (least over seeds); random norm / trained norm "
        f"{_fmt(pre['random']['norm_ratio'])}; priority edges the other corpus shares with "
        f"this one {_fmt(max(pre['other corpus']['shared_edges']))} (most over seeds).", "",
        "### What the table says", "",
        *[f"- {c}" for c in _real_text_conclusions(rt)], "",
        "Per seed (last step; held-out windows without a top SCC are counted apart by reason: "
        "a token absent from its query's training graph, a query never seen in training, "
        "tokens none of which reaches all the others):", "",
    ]
    lines += [f"- {r['model']}, seed {r['seed']}: **{r['verdict']}** - {r['reason']}"
              + (f"; windows excluded {r['windows_excluded']}" if r["windows_excluded"] else "")
              for r in rt["final"] if r["model"] == "trained"]
    f = rt["figures"]
    lines += [
        "", f"![SCC sizes]({f['scc_sizes']})", "",
        f"![measurements over training]({f['curves']})", "",
        f"![held-out windows]({f['windows']})", "",
        f"Real-text section: {rt['seconds']:.0f} s (timings {rt['timings']}).",
    ]
    return lines


# -- the command ----------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    d = RealTextSetting()
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="directory for realtext.md, realtext.json and the figures")
    p.add_argument("--unit", default=d.unit, choices=("char", "word", "bpe"))
    p.add_argument("--window", type=int, default=d.window, help="T (default %(default)s)")
    p.add_argument("--vocab", type=int, default=None,
                   help="K: the most frequent tokens, the rest one unknown token")
    p.add_argument("--train", type=int, default=d.max_train,
                   help="training windows per seed, a seeded subset (default %(default)s)")
    p.add_argument("--heldout", type=int, default=d.max_heldout,
                   help="held-out windows per seed (default %(default)s)")
    p.add_argument("--seeds", type=int, nargs="+", default=list(d.seeds))
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--lr", type=float, default=d.lr, help="normalised GD step")
    p.add_argument("--record-every", type=int, default=d.record_every)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.solvers.training import ConfigError

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    for name in ("train", "heldout", "window"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.window > MAX_WINDOW:  # the corpus cuts every window at once: n x T in memory
        raise ConfigError(f"--window {args.window} is above {MAX_WINDOW} (every window of the "
                          "corpus is cut in memory first)")
    if args.steps < 1 or args.record_every < 1:
        raise ConfigError("--steps and --record-every must be >= 1")
    s = replace(RealTextSetting(), unit=args.unit, window=args.window, vocab=args.vocab,
                max_train=args.train, max_heldout=args.heldout, seeds=tuple(args.seeds),
                steps=args.steps, lr=args.lr, record_every=args.record_every,
                device=args.device)
    out.mkdir(parents=True, exist_ok=True)
    data = build_real_text(s, out)
    (out / "realtext.json").write_text(json.dumps(data, indent=1, default=str) + "\n",
                                       encoding="utf-8")
    (out / "realtext.md").write_text("\n".join(real_text_markdown(data)) + "\n",
                                     encoding="utf-8")
    print(f"ntp-mechanics realtext: wrote {out / 'realtext.md'} ({data['seconds']:.0f} s)",
          file=sys.stderr)
    return 0

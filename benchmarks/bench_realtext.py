"""Benchmark: attention trained on real text, the trained model beside its three controls.

Corpora cut from the embedded English text (``pydoc_data.topics``), one-hot embeddings:
characters at T = 16 and T = 32 and words at K = 1,000 (T = 16, the rest of the
vocabulary mapped to one unknown token).  Each seed draws its own random subset of at
most ``--train`` training and ``--heldout`` held-out distinct windows (defaults 2,000
and 1,000), trains W by normalised GD (lr 0.05, ``--steps`` steps from W = 0, fp64,
all seeds and the redrawn-label controls in one batch) and measures every recorded step
(:func:`ntp_mechanics.kernel.realtext_run.run_realtext`).  Each case runs as a child
process, timed wall-clock, with its peak resident memory from ``wait4``.

Baseline, side by side: the held-out measurement of the final trained W with the
top-SCC masks computed one window at a time (the loop that the per-query vectorised
masks replace), timed in the same child on the same windows.

``--check-sizes 6000 12000``: ``check`` of one weight matrix (``W_fin + 20 W_svm/||W_svm||``)
with held-out windows at characters T = 8 and that many training windows, the column
path (orthonormal embeddings; what ``check`` uses now) beside the joint path it replaced
(``predictions=predict(train)``), each in a child with a timeout (``--timeout``).

Run: ``python benchmarks/bench_realtext.py [--cases char16 char32 word1000] [--seeds 0 1 2]
[--train 2000] [--heldout 1000] [--steps 2000] [--check-sizes 6000 12000]``; writes
``benchmarks/results/realtext.json`` and ``realtext.md`` (the item table per case).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import DEFAULT_OUT, write_json

CASES = {  # name: (unit, window, vocab)
    "char16": ("char", 16, None),
    "char32": ("char", 32, None),
    "word1000": ("word", 16, 1000),
}
KEYS = ("hard_retrieval_accuracy", "top_scc_mass", "soft_tv", "corr_W_svm", "corr_fin",
        "next_token_accuracy", "unigram_accuracy", "bigram_accuracy")


def one_case(name: str, seeds: list[int], n_train: int, n_held: int, steps: int) -> dict:
    """Run in the child: build, train, measure; return the run's table and timings."""
    from ntp_mechanics.kernel import realtext as rt
    from ntp_mechanics.kernel.realtext_run import RealTextSetting, embedded_corpus, run_realtext

    unit, window, vocab = CASES[name]
    s = RealTextSetting(unit=unit, window=window, vocab=vocab, max_train=n_train,
                        max_heldout=n_held, seeds=tuple(seeds), steps=steps,
                        record_every=max(steps // 10, 1))
    t0 = time.perf_counter()
    train, held, vocabulary, stats = embedded_corpus(s)
    t1 = time.perf_counter()
    run = run_realtext(train, held, s, vocabulary, stats)
    t2 = time.perf_counter()
    W = run.weights[("trained", seeds[0])]
    timing = {}
    for label, fn in (("vectorised", rt._top_masks), ("window loop", rt._top_masks_loop)):
        saved = rt._top_masks
        rt._top_masks = fn
        try:
            t = time.perf_counter()
            m = rt.measure(run.train, run.heldout, W)
            timing[label] = time.perf_counter() - t
        finally:
            rt._top_masks = saved
        timing[label + " judged"] = m.judged
    return {"case": name, "setting": run.to_dict()["setting"], "corpus": run.corpus,
            "theory": {k: v for k, v in run.theory.items() if k != "scc_sizes"},
            "table": run.table(), "final": run.final, "premises": run.premises,
            "controls_clearly_worse": run.controls_clearly_worse(),
            "seconds": {"corpus": t1 - t0, "run": t2 - t1, **run.timings},
            "measure_once": timing}


def one_check(n: int, method: str) -> dict:
    """In the child: ``check`` with held-out windows on n training windows."""
    import numpy as np

    from ntp_mechanics.corpora import build_corpus
    from ntp_mechanics.corpora.text import embedded_documents
    from ntp_mechanics.kernel.checking import _predict, check
    from ntp_mechanics.solvers.predictions import predict

    c = build_corpus(embedded_documents(), unit="char", window=8, held_out=0.25, seed=0,
                     oov="unk")
    rng = np.random.default_rng(0)
    tr = c.train.subset(np.sort(rng.choice(c.train.n, min(n, c.train.n), replace=False)))
    he = c.heldout.subset(np.sort(rng.choice(c.heldout.n, min(n // 2, c.heldout.n),
                                             replace=False)))
    t0 = time.perf_counter()
    pred = _predict(tr) if method == "columns" else predict(tr)
    t1 = time.perf_counter()
    W = 20 * pred.W_svm / np.linalg.norm(pred.W_svm) + pred.W_fin
    r = check(tr, W, predictions=pred, heldout=he, init_norm=0.0)
    t2 = time.perf_counter()
    return {"case": f"check {method} n={n}", "predict_seconds": t1 - t0,
            "check_seconds": t2 - t1, "verdicts": {k: v.verdict.value
                                                   for k, v in r.claims.items()}}


def run_child(args: argparse.Namespace, name: str) -> dict:
    """Run one case in a child; its output goes to a file, its usage comes from wait4."""
    import tempfile

    cmd = [sys.executable, __file__, "--child", name, "--seeds", *map(str, args.seeds),
           "--train", str(args.train), "--heldout", str(args.heldout), "--steps",
           str(args.steps)]
    limit = args.timeout if name.startswith("check") else float("inf")
    with tempfile.TemporaryFile("w+") as sink:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sink, text=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > limit:
                proc.kill()
                os.wait4(proc.pid, 0)
                return {"case": name, "error": f"timed out after {limit:.0f} s",
                        "wall_seconds": time.perf_counter() - t0}
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        sink.seek(0)
        out = sink.read()
    if status != 0:
        return {"case": name, "error": f"exit status {status}", "wall_seconds": wall}
    res = json.loads(out.strip().splitlines()[-1])
    res["wall_seconds"] = wall
    res["peak_rss_mb"] = usage.ru_maxrss / 1024
    return res


def markdown(results: list[dict]) -> str:
    lines = []
    checks = [r for r in results if r["case"].startswith("check")]
    if checks:
        lines += ["### check with held-out windows (characters, T = 8)", "",
                  "| case | predict s | check s | wall s | peak MB | verdicts |",
                  "|---|---|---|---|---|---|"]
        for r in checks:
            if "error" in r:
                lines.append(f"| {r['case']} | {r['error']} | | {r['wall_seconds']:.0f} | | |")
            else:
                lines.append(f"| {r['case']} | {r['predict_seconds']:.1f} | "
                             f"{r['check_seconds']:.1f} | {r['wall_seconds']:.0f} | "
                             f"{r['peak_rss_mb']:.0f} | {r['verdicts']} |")
        lines.append("")
    for r in results:
        if r["case"].startswith("check"):
            continue
        if "error" in r:
            lines += [f"### {r['case']}: {r['error']}", ""]
            continue
        c, s = r["corpus"], r["setting"]
        lines += [
            f"### {r['case']}: {s['unit']} T = {s['window']}, K = {c['K']}, "
            f"{max(c['train_used'])} training / {max(c['heldout_used'])} held-out windows "
            f"per seed, seeds {s['seeds']}, {s['steps']} steps", "",
            f"Wall {r['wall_seconds']:.0f} s for the {len(s['seeds'])} seeds (corpus "
            f"{r['seconds']['corpus']:.1f} s, predict {r['seconds']['predict']:.1f} s, train "
            f"{r['seconds']['train']:.1f} s, measure {r['seconds']['measure']:.1f} s), peak "
            f"{r['peak_rss_mb']:.0f} MB.  One held-out measurement: "
            f"{r['measure_once']['vectorised']:.2f} s vectorised, "
            f"{r['measure_once']['window loop']:.2f} s with the window loop.", "",
            "| model | hard retrieval | top-SCC mass | TV in SCC | corr(W, W_svm) | "
            "corr(P_fin W, W_fin) | next-token acc. | unigram | bigram | verdicts "
            "(consistent / contradicts / inconclusive / outside) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in r["table"]:
            vals = " | ".join("n/a" if row[k] is None else f"{row[k]:.3f}" for k in KEYS)
            lines.append(f"| {row['model']} | {vals} | {row['consistent']} / "
                         f"{row['contradicts']} / {row['inconclusive']} / "
                         f"{row['outside_hypotheses']} |")
        lines += ["", "Trained model per seed: " + "; ".join(
            f"seed {f['seed']}: {f['verdict']} ({f['reason']})" for f in r["final"]
            if f["model"] == "trained"), ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--heldout", type=int, default=1000)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--check-sizes", type=int, nargs="*", default=[])
    p.add_argument("--timeout", type=float, default=180.0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child and args.child.startswith("check"):
        _, method, n = args.child.split(":")
        print(json.dumps(one_check(int(n), method), default=str))
        return
    if args.child:
        print(json.dumps(one_case(args.child, args.seeds, args.train, args.heldout,
                                  args.steps), default=str))
        return
    results = []
    names = [f"check:{m}:{n}" for n in args.check_sizes for m in ("columns", "joint")]
    for name in [*names, *args.cases]:
        print(f"{name} ...", file=sys.stderr, flush=True)
        results.append(run_child(args, name))
        print(f"  {results[-1].get('wall_seconds', 0):.0f} s", file=sys.stderr, flush=True)
        write_json(args.out, "realtext", {"results": results})  # after every case
        md = args.out / "realtext.md"
        md.write_text(markdown(results))
    print(f"wrote {args.out / 'realtext.md'}")


if __name__ == "__main__":
    main()

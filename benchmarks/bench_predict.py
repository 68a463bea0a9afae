"""Benchmark: ``predict`` against the naive dense OSQP Graph-SVM, side by side, per seed.

The instance of THEORY.md section 7: K = d = 32, n = 300, T = 12, random unit-norm
embeddings, labels drawn from their own sequence, on several seeds.  The baseline is
:func:`ntp_mechanics.solvers.reference.naive_graph_svm`: one W-space constraint per
(duplicate) edge, OSQP, the Graph-SVM alone.  ``predict`` (graphs, certified ``W_svm``
and ``W_fin``) is timed in-process (best of ``--repeats``); ``--cli`` also times the
whole ``ntp-mechanics predict`` command (interpreter start, imports, JSON).

Target (idle machine): ``predict`` >= 20x faster than the baseline on every seed.

Run: ``python benchmarks/bench_predict.py [--seeds 0 1 2] [--repeats 3] [--cli]``;
writes ``benchmarks/results/predict.json`` and ``predict.png``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import DEFAULT_OUT, best_of, paired_bars, write_json

from ntp_mechanics.generators.seeded import paper_dataset
from ntp_mechanics.solvers.predictions import predict
from ntp_mechanics.solvers.reference import naive_graph_svm

TARGET_SPEEDUP = 20.0


def cli_seconds(ds: object, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ds.json"
        ds.save(path)
        cmd = [sys.executable, "-m", "ntp_mechanics", "predict", str(path), "--out",
               str(path) + ".out"]
        return best_of(lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)[0]


def run_seed(seed: int, args: argparse.Namespace) -> dict:
    ds = paper_dataset(seed, args.K, args.K, args.n, args.T)
    t_fast, pred = best_of(lambda: predict(ds), args.repeats)
    t_naive, W_naive = best_of(lambda: naive_graph_svm(ds), 1)
    row = {
        "seed": seed,
        "distinct_edges": len(pred.tpg.edges()),
        "reduced_constraints": len(pred.svm.constraints),
        "dim_S_fin": pred.fin.subspace.dim,
        "naive_osqp_s": t_naive,
        "predict_s": t_fast,
        "predict_svm_s": pred.svm.solve_time,
        "predict_fin_s": pred.fin.solve_time,
        "speedup": t_naive / t_fast,
        "certified": bool(pred.svm.certificate is None or pred.svm.certificate.ok),
        "rel_diff_W_svm": float(np.linalg.norm(W_naive - pred.W_svm) / np.linalg.norm(pred.W_svm)),
    }
    if args.cli:
        row["cli_s"] = cli_seconds(ds, args.repeats)
    print(
        f"seed {seed}: naive OSQP {t_naive:7.2f} s | predict {t_fast:6.2f} s "
        f"(svm {pred.svm.solve_time:.2f}, fin {pred.fin.solve_time:.2f}) | "
        f"speed-up {row['speedup']:5.1f}x | rel. diff {row['rel_diff_W_svm']:.1e}"
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--K", type=int, default=32)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--T", type=int, default=12)
    ap.add_argument("--cli", action="store_true", help="also time the whole CLI command")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    rows = [run_seed(s, args) for s in args.seeds]
    worst = min(r["speedup"] for r in rows)
    met = worst >= TARGET_SPEEDUP and all(r["certified"] for r in rows)
    print(f"worst speed-up {worst:.1f}x (target >= {TARGET_SPEEDUP:.0f}x): "
          f"{'met' if met else 'NOT met'}")
    write_json(args.out, "predict", {
        "instance": {"K": args.K, "d": args.K, "n": args.n, "T": args.T},
        "target_speedup": TARGET_SPEEDUP, "worst_speedup": worst, "target_met": met,
        "rows": rows,
    })
    paired_bars(
        args.out, "predict", [f"seed {r['seed']}" for r in rows],
        {"naive OSQP Graph-SVM": [r["naive_osqp_s"] for r in rows],
         "predict (W_svm + W_fin)": [r["predict_s"] for r in rows]},
        "seconds", f"K = d = {args.K}, n = {args.n}, T = {args.T}",
    )

if __name__ == "__main__":
    main()

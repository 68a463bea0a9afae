"""Benchmark: ``predict`` against a naive dense cvxpy Graph-SVM, side by side.

The instance of issue 2 / THEORY.md section 7: K = d = 32, n = 300, T = 12, random
unit-norm embeddings, labels drawn from their own sequence.  The naive baseline is
:func:`ntp_mechanics.solvers.reference.naive_graph_svm`: one W-space constraint per
(duplicate) edge, OSQP.  ``predict`` is timed both in-process (W_svm + W_fin + graphs,
certified) and as
the whole ``ntp-mechanics predict`` command (interpreter start, imports, JSON).

Run: ``python benchmarks/bench_predict.py [--seed 0] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ntp_mechanics.generators.seeded import paper_dataset
from ntp_mechanics.solvers.predictions import predict
from ntp_mechanics.solvers.reference import naive_graph_svm


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--K", type=int, default=32)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--T", type=int, default=12)
    args = ap.parse_args()
    ds = paper_dataset(args.seed, args.K, args.K, args.n, args.T)
    t_fast, pred = best_of(lambda: predict(ds), args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ds.json"
        ds.save(path)
        cmd = [
            sys.executable,
            "-m",
            "ntp_mechanics",
            "predict",
            str(path),
            "--out",
            str(path) + ".out",
        ]
        t_cli, _ = best_of(
            lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeats
        )
    t_naive, W_naive = best_of(lambda: naive_graph_svm(ds), 1)
    err = np.linalg.norm(W_naive - pred.W_svm) / np.linalg.norm(pred.W_svm)
    print(
        f"instance: {ds.name}, {len(pred.tpg.edges())} distinct edges, "
        f"{len(pred.svm.constraints)} reduced constraints, dim S_fin = {pred.fin.subspace.dim}"
    )
    rows = [
        ("naive dense W-space Graph-SVM (OSQP)", t_naive),
        ("predict, in-process (W_svm + W_fin)", t_fast),
        ("ntp-mechanics predict, whole command", t_cli),
    ]
    for label, t in rows:
        print(f"{label:38s} {t:8.2f} s   speed-up {t_naive / t:5.1f}x")
    print(f"relative Frobenius difference of W_svm (naive OSQP at its default accuracy): {err:.1e}")


if __name__ == "__main__":
    main()

"""Benchmark: ``predict`` as K grows, side by side with the previous solvers.

Instances: K = d, n = round(9.4 K), T = 12, random unit-norm embeddings (THEORY.md
section 9).  For every K the new path (``predict``: matrix-free dual Graph-SVM, damped
Newton ``W_fin``) is timed and its certificates recorded; up to ``--baseline-max-K`` the
previous path (score-space QP ``method="qp"`` and exponential-cone ``method="conic"``)
is timed on the same instance and the two ``W_svm`` / ``W_fin`` compared.

Targets (idle machine): K = 64 under 5 s, K = 128 under 30 s, K = 256
finishes (aim: under 10 s) with its certificate.

Run: ``python benchmarks/bench_scaling.py [--Ks 16 32 64 128 256] [--baseline-max-K 32]``;
writes ``benchmarks/results/scaling.json`` and ``scaling.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import DEFAULT_OUT, figure, save_figure, write_json

from ntp_mechanics.generators.seeded import paper_dataset
from ntp_mechanics.model.tpg import TokenPriorityGraphs
from ntp_mechanics.solvers.finite import GRAD_TOL, finite_component
from ntp_mechanics.solvers.graph_svm import graph_svm
from ntp_mechanics.solvers.predictions import predict
from ntp_mechanics.solvers.subspaces import Subspace

TARGETS = {64: 5.0, 128: 30.0, 256: 10.0}  # 256: the aim; "finishes" is the requirement


def previous_path(ds: object) -> tuple[float, np.ndarray, np.ndarray]:
    """The solvers ``predict`` used before: score-space QP and exponential cone."""
    t0 = time.perf_counter()
    tpg = TokenPriorityGraphs.from_dataset(ds)
    S_fin = Subspace.cyclic(ds.E, tpg)
    svm = graph_svm(ds, tpg, S_fin=S_fin, method="qp")
    fin = finite_component(ds, tpg, S_fin=S_fin, method="conic")
    return time.perf_counter() - t0, svm.W, fin.W


def run_K(K: int, args: argparse.Namespace) -> dict:
    ds = paper_dataset(args.seed, K, K, round(9.4 * K), args.T)
    t0 = time.perf_counter()
    pred = predict(ds)
    elapsed = time.perf_counter() - t0
    cert = pred.svm.certificate
    row = {
        "K": K, "n": ds.n, "predict_s": elapsed,
        "svm_s": pred.svm.solve_time, "fin_s": pred.fin.solve_time,
        "svm_formulation": pred.svm.formulation,
        "reduced_constraints": len(pred.svm.constraints),
        "dim_S_fin": pred.fin.subspace.dim,
        "svm_certificate": None if cert is None else {k: float(v) for k, v in vars(cert).items()},
        "certified": bool((cert is None or cert.ok) and pred.fin.grad_norm <= GRAD_TOL),
        "fin_grad_norm": pred.fin.grad_norm,
        "fin_min_curvature": pred.fin.min_curvature,
        "target_s": TARGETS.get(K),
    }
    line = f"K = {K:4d}: predict {elapsed:7.2f} s (svm {row['svm_s']:.2f}, fin {row['fin_s']:.2f})"
    if K <= args.baseline_max_K:
        t_old, W_svm, W_fin = previous_path(ds)
        row["previous_s"] = t_old
        row["rel_diff_W_svm"] = float(
            np.linalg.norm(W_svm - pred.W_svm) / max(np.linalg.norm(W_svm), 1.0))
        row["diff_W_fin"] = float(np.linalg.norm(W_fin - pred.W_fin))
        line += f" | previous {t_old:7.2f} s | rel. diff W_svm {row['rel_diff_W_svm']:.1e}"
    print(line + f" | certified {row['certified']}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--Ks", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    ap.add_argument("--T", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-max-K", type=int, default=32)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    rows = [run_K(K, args) for K in args.Ks]
    met = {
        str(r["K"]): bool(
            r["certified"] and (r["target_s"] is None or r["predict_s"] < r["target_s"])
        )
        for r in rows
    }
    print("targets:", met)
    write_json(args.out, "scaling", {"seed": args.seed, "T": args.T, "targets_met": met,
                                     "rows": rows})
    fig, ax = figure()
    if fig is None:
        return
    Ks = [r["K"] for r in rows]
    ax.loglog(Ks, [r["predict_s"] for r in rows], "o-", label="predict (dual + Newton)")
    ax.loglog(Ks, [r["svm_s"] for r in rows], ".--", label="of which Graph-SVM")
    old = [(r["K"], r["previous_s"]) for r in rows if "previous_s" in r]
    if old:
        ax.loglog(*zip(*old, strict=True), "s-", label="previous (QP + exp cone)")
    ax.set_xlabel("K = d  (n = 9.4 K, T = 12)")
    ax.set_ylabel("seconds")
    ax.legend()
    save_figure(fig, args.out, "scaling")


if __name__ == "__main__":
    main()

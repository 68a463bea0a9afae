"""``ntp-mechanics predict DATASET --out PRED.json``: the theory's predictions.

Writes ``W_svm``, ``W_fin``, the SCCs of every ``G^(k)`` (highest priority first), the
margins of every edge, ``L*``, the dimensions of ``S_fin`` and ``S_all``, the solvers'
certificates and timings (per phase: graphs, Graph-SVM, W_fin), and with ``--nuclear``
the nuclear-norm ``W_svm_*``.  ``--out PRED.npz`` writes the matrices and the per-edge
arrays in NumPy's format instead (``W_svm``, ``W_fin``, ``edges``, ``cyclic``,
``margins``, ``nodes``, ``scc`` and ``summary``, a JSON string of the rest): the form
for vocabularies of thousands of tokens.

With orthonormal embeddings (one-hot among them) the problems separate by query column
and are solved column by column (``--method columns``; ``--workers N`` processes or a
Dask ``--scheduler`` for the Graph-SVM); otherwise, or with ``--nuclear``, jointly.  The
memory a run needs is estimated first: a problem larger than the memory at hand ends
with one line saying what would fit, and exit 2.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

HELP = "solve the Graph-SVM (W_svm) and the finite component (W_fin) of a dataset"
METHODS = ("auto", "columns", "joint")
BLAS_THREADS = 1  # measured: the kernels are memory-bound, extra BLAS threads only contend


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", type=Path, help="dataset file (.json or .npz; see README)")
    p.add_argument("--out", type=Path,
                   help="where to write the predictions (.json, or .npz; default JSON on stdout)")
    p.add_argument("--nuclear", action="store_true", help="also solve the nuclear-norm W_svm_*")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="columns (orthonormal embeddings), joint, or auto (default)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes for the Graph-SVM columns (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler for the Graph-SVM columns (e.g. tcp://host:8786)")


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.model.dataset import DatasetError, load_dataset

    if args.workers < 1:
        raise DatasetError(f"--workers must be at least 1, got {args.workers}")
    t0 = time.perf_counter()
    ds = load_dataset(args.dataset)  # bad input fails fast, before any solver is imported
    load_s = time.perf_counter() - t0
    npz = args.out is not None and args.out.suffix == ".npz"
    with _blas_threads(), _Progress() as bar:
        if _use_columns(ds, args):
            pred, obj, arrays = _columns(ds, args, npz, bar)
        else:
            pred, obj, arrays = _joint(ds, args, npz)
    obj["solver"]["phases"] = {"load": load_s, **obj["solver"].get("phases", {})}
    _write(args.out, obj, arrays)
    if args.out:
        ph = obj["solver"]["phases"]
        times = ", ".join(f"{k} {v:.2f} s" for k, v in ph.items())
        print(f"wrote {args.out} (||W_svm|| = {obj['norm_W_svm']:.6g}, "
              f"dim S_fin = {obj['dim_S_fin']}, {times}; total {pred.elapsed + load_s:.2f} s)",
              file=sys.stderr)
    return 0


def _use_columns(ds: Any, args: argparse.Namespace) -> bool:
    from ntp_mechanics.model.dataset import DatasetError
    from ntp_mechanics.solvers.column_svm import is_orthonormal

    if args.method == "joint":
        return False
    ok = is_orthonormal(ds.E) and not args.nuclear
    if args.method == "columns" and not ok:
        raise DatasetError("--method columns needs orthonormal embeddings and no --nuclear")
    return ok


def _columns(ds: Any, args: argparse.Namespace, npz: bool, bar: _Progress) -> tuple:
    from ntp_mechanics.solvers.column_predictions import predict_columns
    from ntp_mechanics.solvers.memory import column_bytes, require

    T = ds.max_len
    need = column_bytes(ds.n, T, ds.K, json_out=not npz)
    fit = _fit_windows(lambda n: column_bytes(n, T, ds.K, json_out=not npz))
    hint = f"at most {fit} windows would fit"
    if not npz and _fits(column_bytes(ds.n, T, ds.K)):
        hint += ", or all of them with --out PRED.npz"
    require(need, f"predict on {ds.n} windows (K = {ds.K}, T = {T})", hint)
    pred = predict_columns(ds, workers=args.workers, scheduler=args.scheduler,
                           progress=bar.update)
    if npz:
        return pred, pred.summary(), pred.to_arrays()
    return pred, pred.to_dict(), None


def _joint(ds: Any, args: argparse.Namespace, npz: bool) -> tuple:
    from ntp_mechanics.model.sparse_tpg import SparsePriorityGraphs
    from ntp_mechanics.solvers.memory import joint_bytes, require

    T, d = ds.max_len, ds.d
    graphs = SparsePriorityGraphs.from_dataset(ds)
    _screen(ds, graphs)
    sizes = graphs.scc_sizes
    dim_fin = int((sizes - 1).clip(0).sum())  # generators of S_fin: an upper bound
    need = joint_bytes(ds.n, T, d, dim_fin, json_out=not npz)
    fit = _fit_windows(lambda n: joint_bytes(n, T, d, dim_fin, json_out=not npz))
    hint = (f"at most {fit} windows would fit" if fit else
            "the basis of S_fin alone does not fit")
    require(need, f"predict on {ds.n} windows (K = {ds.K}, d = {d}, dim S_fin <= {dim_fin})",
            f"{hint}; orthonormal (one-hot) embeddings take the column path")
    from ntp_mechanics.solvers.predictions import predict

    pred = predict(ds, nuclear=args.nuclear)
    obj = pred.to_dict()
    svm_s, fin_s = pred.svm.solve_time, pred.fin.solve_time
    obj["solver"]["phases"] = {"graphs": max(pred.elapsed - svm_s - fin_s, 0.0),
                               "W_svm": svm_s, "W_fin": fin_s}
    if npz:
        import numpy as np

        arrays = {"W_svm": pred.svm.W, "W_fin": pred.fin.W,
                  "edges": np.array(pred.tpg.edges(), dtype=np.int64).reshape(-1, 3)}
        summary = {k: v for k, v in obj.items() if k not in ("W_svm", "W_fin", "margins",
                                                            "acyclic_edges", "cyclic_edges")}
        return pred, summary, arrays
    return pred, obj, None


def _screen(ds: Any, graphs: Any) -> None:
    """Dependent embeddings: an infeasible query ends the run before any allocation."""
    import numpy as np

    from ntp_mechanics.model.errors import InfeasibleError
    from ntp_mechanics.solvers.feasibility import infeasible_query
    from ntp_mechanics.solvers.graph_svm import _independent
    from ntp_mechanics.solvers.priority_arrays import PriorityArrays

    if _independent(ds.E):
        return
    cert = infeasible_query(ds, PriorityArrays.from_graphs(graphs))
    if cert is not None:
        raise InfeasibleError(cert.message(ds.K, ds.d, int(np.linalg.matrix_rank(ds.E))))


def _fits(need: int) -> bool:
    from ntp_mechanics.solvers.memory import HEADROOM, available_bytes

    return need <= HEADROOM * available_bytes()


def _fit_windows(need: Any) -> int:
    """The largest number of windows whose estimate fits (bisection on ``need(n)``)."""
    from ntp_mechanics.solvers.memory import HEADROOM, available_bytes

    room = HEADROOM * available_bytes()
    lo, hi = 0, 1 << 40
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if need(mid) <= room else (lo, mid - 1)
    return lo


def _write(out: Path | None, obj: dict, arrays: dict | None) -> None:
    if out is None:
        print(json.dumps(obj))
        return
    tmp = out.with_name(out.name + ".part")  # a crash never leaves half a file
    if arrays is not None:
        import numpy as np

        buf = io.BytesIO()
        np.savez(buf, summary=np.array(json.dumps(obj)), **arrays)
        tmp.write_bytes(buf.getvalue())
    else:
        tmp.write_text(json.dumps(obj) + "\n")
    os.replace(tmp, out)


def _blas_threads() -> AbstractContextManager:
    """Limit BLAS/OpenMP threads around the kernels (unless the user chose a number)."""
    if any(v in os.environ for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS")):
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=BLAS_THREADS)


class _Progress:
    """A tqdm bar per phase on stderr, shown only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        for b in self.bars.values():
            b.close()

    def update(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if phase not in self.bars:
            from tqdm import tqdm

            for b in self.bars.values():
                b.close()
            self.bars[phase] = tqdm(total=total, desc=phase, unit="block", file=sys.stderr,
                                    leave=False, mininterval=0.5)
        self.bars[phase].update(done)

"""``ntp-mechanics predict DATASET.json --out PRED.json``: the theory's predictions.

Writes ``W_svm``, ``W_fin``, the SCCs of every ``G^(k)`` (highest priority first), the
margins of every edge, ``L*``, the dimensions of ``S_fin`` and ``S_all``, the solvers'
certificates and timings, and with ``--nuclear`` the nuclear-norm ``W_svm_*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "solve the Graph-SVM (W_svm) and the finite component (W_fin) of a dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", type=Path, help="dataset JSON (see README: dataset format)")
    p.add_argument("--out", type=Path, help="where to write the predictions JSON (default stdout)")
    p.add_argument("--nuclear", action="store_true", help="also solve the nuclear-norm W_svm_*")


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.model.dataset import load_dataset

    ds = load_dataset(args.dataset)  # bad input fails fast, before cvxpy is imported
    from ntp_mechanics.solvers.predictions import predict

    pred = predict(ds, nuclear=args.nuclear)
    text = json.dumps(pred.to_dict())
    if args.out:
        args.out.write_text(text + "\n")
        print(
            f"wrote {args.out} (||W_svm|| = {pred.to_dict()['norm_W_svm']:.6g}, "
            f"dim S_fin = {pred.fin.subspace.dim}, {pred.elapsed:.2f} s)",
            file=sys.stderr,
        )
    else:
        print(text)
    return 0

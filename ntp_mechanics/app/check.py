"""``ntp-mechanics check DATASET.json --weights WEIGHTS.json``: judge trained weights.

Checks a key-query matrix ``W`` trained anywhere (score convention
``a_t = e_{x_t}^T W e_query``, :mod:`ntp_mechanics.app.weights`) by gradient descent from
zero on DATASET against the theory of Li et al. (AISTATS 2024), and prints a verdict
per claim it can judge and an overall verdict (exit 0 consistent, 1 contradicts,
2 bad input, 3 inconclusive).

One W is one point of a trajectory whose claims are limits, so the check compares W
with the theory's objects *at the same norm* rather than with the limit:

* **B** (direction): ``W/||W||`` against the certified regularization-path point
  ``W_R/R`` at ``R = ||W||`` (GD tracks it: distances 0.01-0.09 for normalised GD
  lr 0.01, 4000 steps, on 30 random datasets; plain GD with lr 1 alike), reported
  beside the path's own distance from ``W_svm/||W_svm||`` (the theory's error scale
  at that norm).  Consistent below 0.2; contradicting above 0.7 (unrelated
  weights measured 1.16-1.63).  Without an acyclic edge (``W_svm = 0``): distance
  from the finite minimiser ``W_fin``.
* **C** (hard retrieval, soft composition): attention mass outside the label's SCC
  on the training samples, and the total variation between the attention within it
  and ``softmax(e_{x_t}^T W_fin e_query)``.
* **D** (implicit bias): ``||P_fin W - W_fin||`` and the relative distance from
  ``W_fin + sqrt(R^2 - ||W_fin||^2) W_svm/||W_svm||``.
* Sound contradictions at any norm, whatever the thresholds: ``L(W) > L(0)``,
  ``cos(W, W_svm) < 0`` (GD from zero only increases ``<W, W_svm>``), and with
  ``W_svm = 0`` ``||W - W_fin|| > ||W_fin|| + 1`` (GD does not move away from the
  minimiser of a convex loss); see :mod:`ntp_mechanics.kernel.evidence`.

Weights too early in training are INCONCLUSIVE, never consistent: a norm below twice
``||W_svm||`` or a loss gap above 5% of ``L(0) - L*``.

Example (shell)::

    ntp-mechanics train ds.json --out w.json && ntp-mechanics check ds.json --weights w.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HELP = "judge weights trained on a dataset against claims B, C, D (and E where it applies)"

_SHOWN = ("norm_W", "scale", "loss_fraction", "path_err", "theory_err", "direction_err",
          "cos_W_svm", "fin_err", "formula_err", "mean_off_scc", "max_within_scc_tv",
          "dist_to_W_fin")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", type=Path, help="dataset JSON the weights were trained on")
    p.add_argument("--weights", type=Path, required=True,
                   help="weights JSON ('W': d x d, score e_{x_t}^T W e_query)")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.app.weights import load_weights
    from ntp_mechanics.model.dataset import load_dataset

    ds = load_dataset(args.dataset)
    W = load_weights(args.weights, ds.d)
    report = check(ds, W)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print(report)
    from ntp_mechanics.kernel.verdict import Verdict

    return Verdict(report["verdict"]).exit_code


def check(ds: Any, W: Any) -> dict[str, Any]:
    """The verdicts on ``W`` for dataset ``ds`` as a JSON-ready dict."""
    import numpy as np

    from ntp_mechanics.kernel.evidence import check_weights
    from ntp_mechanics.solvers.predictions import predict

    pred = predict(ds)
    ev = check_weights(pred, np.asarray(W, dtype=float))
    results = list(ev.results)
    if pred.tpg.has_acyclic_edge and not pred.tpg.has_cyclic_edge:
        b = results[0]
        results.append(type(b)("E", b.verdict, b.metrics,
                               "acyclic graphs (W_fin = 0, attention SVM): " + b.reason))
    from ntp_mechanics.kernel.verdict import Verdict

    verdict = Verdict.combine(r.verdict for r in results)
    claims = [{"claim": r.claim, "verdict": r.verdict.value, "reason": r.reason}
              for r in results]
    metrics = results[0].to_dict()["metrics"]
    return {"verdict": verdict.value, "claims": claims, "metrics": metrics}


def _print(report: dict[str, Any]) -> None:
    for c in report["claims"]:
        print(f"claim {c['claim']}: {c['verdict'].upper()} - {c['reason']}")
    m = report["metrics"]
    shown = ", ".join(f"{k}={m[k]:.4g}" for k in _SHOWN if isinstance(m.get(k), (int, float)))
    print(f"metrics: {shown}")
    print(f"overall: {report['verdict'].upper()}")
    sys.stdout.flush()

"""One weight matrix (``ntp-mechanics check``): claims B, C, D judged from a single ``W``.

Three sound monotonicity facts used here (they hold for any
gradient method ``W <- W - eta_t grad L(W)``, ``eta_t >= 0``, from ``W(0) = 0``, so
also for normalised GD):

1. ``<grad L(W), W_svm> <= 0`` for every W: sample i contributes
   ``sum_{t: x_t != y} s_t (a_t - a_y)`` with ``a = scores of W_svm``, and each edge
   ``y -> x_t`` has ``a_y - a_t = 0`` (cyclic) or ``>= 1`` (acyclic).  Hence
   ``<W(tau), W_svm>`` never decreases from 0.
2. With a small step the loss never rises above ``L(0)`` (descent lemma).
3. If ``W_svm = 0`` (no acyclic edge) ``W_fin`` minimises L, and for convex L the
   distance ``||W(tau) - W_fin||`` never exceeds ``||W(0) - W_fin|| = ||W_fin||``
   (up to ``O(lr)`` for normalised steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntp_mechanics.kernel.evidence.automaton import attention_errors, training_inputs
from ntp_mechanics.kernel.evidence.common import (
    cosine,
    precise_loss,
    unit,
)
from ntp_mechanics.kernel.evidence.path import sound_path
from ntp_mechanics.kernel.verdict import (
    ClaimResult,
    Verdict,
)
from ntp_mechanics.model.errors import InconclusiveError
from ntp_mechanics.solvers.loss import LogLoss
from ntp_mechanics.solvers.predictions import Predictions


# -- one weight matrix (the ``check`` command) ------------------------------------------
@dataclass(frozen=True)
class WeightEvidence:
    """What :func:`check_weights` measured, for the report."""

    metrics: dict[str, Any]
    results: tuple[ClaimResult, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.combine(r.verdict for r in self.results)


# thresholds of the single-W check, tuned on normalised-GD runs (see check.py)
MIN_SCALE = 2.0  # ||W|| / ||W_svm|| below this: too early for the asymptotics
MAX_LOSS_FRACTION = 0.05  # (L(W) - L*) / (L(0) - L*) above this: not trained enough
PATH_OK, PATH_BAD = 0.2, 0.7  # ||W/||W|| - W_rho/rho||: GD tracks the path to 0.01-0.1
FIN_OK, FIN_BAD = 0.05, 0.5
COS_BAD = -0.05  # cos(W, W_svm) below this: impossible for GD from zero (fact 1 above)


def check_weights(pred: Predictions, W: np.ndarray) -> WeightEvidence:
    """Judge one trained ``W`` against claims B, C, D (see ``ntp-mechanics check``)."""
    W = np.asarray(W, dtype=float)
    loss = LogLoss(pred.dataset)
    L0 = precise_loss(loss, np.zeros_like(W))
    LW = precise_loss(loss, W)
    Ls = pred.fin.L_star
    rho = float(np.linalg.norm(W))
    ns = float(np.linalg.norm(pred.W_svm))
    att = attention_errors(pred.dataset.E, W, pred.W_fin, training_inputs(pred))
    m: dict[str, Any] = {
        "norm_W": rho, "norm_W_svm": ns, "norm_W_fin": float(np.linalg.norm(pred.W_fin)),
        "loss": LW, "L0": L0, "L_star": Ls,
        "loss_fraction": (LW - Ls) / (L0 - Ls) if L0 > Ls else float("nan"),
        "grad_norm": float(np.linalg.norm(loss.grad(W))),
        "fin_err": float(np.linalg.norm(pred.fin.subspace.project(W) - pred.W_fin)),
        "mean_off_scc": att.mean_off, "max_off_scc": att.max_off, "max_within_scc_tv": att.max_tv,
    }
    sound: list[str] = []
    if LW > L0 + 1e-3:
        sound.append(f"L(W) = {LW:.4g} > L(0) = {L0:.4g}: gradient descent from zero never "
                     "ends above its starting loss")
    if ns == 0:
        return _check_finite(pred, W, m, sound)
    m["scale"] = rho / ns
    m["cos_W_svm"] = cosine(W, pred.W_svm)
    m["direction_err"] = float(np.linalg.norm(unit(W) - pred.direction))
    if m["cos_W_svm"] < COS_BAD:
        sound.append(f"cos(W, W_svm) = {m['cos_W_svm']:.3f} < 0: gradient descent from zero "
                     "only increases <W, W_svm>")
    m |= _path_reference(pred, W, rho)
    return _check_separable(m, sound)


def _path_reference(pred: Predictions, W: np.ndarray, rho: float) -> dict[str, Any]:
    """Distances of ``W/rho`` from the path point and claim D's point at norm rho."""
    out: dict[str, Any] = {}
    nf = float(np.linalg.norm(pred.W_fin))
    if rho > nf:
        ref = pred.W_fin + math.sqrt(rho * rho - nf * nf) * pred.direction
        out["formula_err"] = float(np.linalg.norm((W - ref) / rho))
    if rho <= 0:
        return out
    ns = float(np.linalg.norm(pred.W_svm))
    # continuation from small radii up to rho, at most at margin scale 16 (fp64 limit)
    top = min(rho, 16 * ns)
    radii = [top / 8, top / 4, top / 2, top]
    try:
        pts = sound_path(pred, radii)
    except InconclusiveError:
        return out
    last = pts[-1]
    if last.W is not None:
        out["path_radius"] = last.R
        out["path_err"] = float(np.linalg.norm(W / rho - last.W / last.R))
        out["theory_err"] = float(np.linalg.norm(last.W / last.R - pred.direction))
    else:
        out["path_uncertified"] = last.reason
    return out


def _check_separable(m: dict[str, Any], sound: list[str]) -> WeightEvidence:
    scale, frac = m["scale"], m["loss_fraction"]
    path = m.get("path_err", m.get("formula_err", math.nan))
    asymptotic = scale >= MIN_SCALE and frac <= MAX_LOSS_FRACTION
    regime = (f"||W|| = {scale:.3g} ||W_svm||, loss gap {frac:.2g} of L(0) - L*")
    far = scale >= MIN_SCALE and path >= PATH_BAD and m["direction_err"] >= PATH_BAD

    def decide(ok: bool, bad: bool, good_msg: str, bad_msg: str) -> tuple[Verdict, str]:
        if sound:
            return Verdict.CONTRADICTS, "; ".join(sound)
        if bad:
            return Verdict.CONTRADICTS, bad_msg
        if ok and asymptotic:
            return Verdict.CONSISTENT, good_msg
        if not asymptotic:
            return Verdict.INCONCLUSIVE, f"not in the asymptotic regime ({regime})"
        return Verdict.INCONCLUSIVE, "between the consistent and contradicting thresholds"

    vb, rb = decide(
        path <= PATH_OK,
        far,
        f"W/||W|| is {path:.3g} from the regularization path at matched norm ({regime}); "
        f"direction error {m['direction_err']:.3g} vs the path's own {m.get('theory_err', 0):.3g}",
        f"W/||W|| is {path:.3g} from the regularization path at matched norm and "
        f"{m['direction_err']:.3g} from W_svm/||W_svm|| at {regime}",
    )
    off, tv = m["mean_off_scc"], m["max_within_scc_tv"]
    vc, rc = decide(
        off <= 0.05 and tv <= 0.1,
        scale >= MIN_SCALE and off >= 0.5,
        f"attention off the label's SCC {off:.2g} (mean), within-SCC TV {tv:.2g}",
        f"on average {off:.2g} of the attention lies outside the label's SCC at {regime}",
    )
    fin, formula = m["fin_err"], m.get("formula_err", math.nan)
    theory = m.get("theory_err", formula)
    vd, rd = decide(
        fin <= FIN_OK and formula <= theory + PATH_OK,
        scale >= MIN_SCALE and (fin >= FIN_BAD * max(1.0, m["norm_W_fin"]) or formula >= PATH_BAD),
        f"||P_fin W - W_fin|| = {fin:.2g}, ||W - (W_fin + rho W_svm/||W_svm||)||/rho = "
        f"{formula:.3g} (the path's own error {theory:.3g})",
        f"||P_fin W - W_fin|| = {fin:.3g}, relative distance from W_fin + rho W_svm/||W_svm|| "
        f"{formula:.3g}",
    )
    results = (ClaimResult("B", vb, m, rb), ClaimResult("C", vc, m, rc),
               ClaimResult("D", vd, m, rd))
    return WeightEvidence(m, results)


def _check_finite(pred: Predictions, W: np.ndarray, m: dict[str, Any],
                  sound: list[str]) -> WeightEvidence:
    """``W_svm = 0``: GD converges to the finite minimiser ``W_fin`` (claims B, E)."""
    dist = float(np.linalg.norm(W - pred.W_fin))
    nf = m["norm_W_fin"]
    m["dist_to_W_fin"] = dist
    if dist > nf + 1.0:
        sound.append(f"||W - W_fin|| = {dist:.3g} > ||W_fin|| + 1 = {nf + 1:.3g}: gradient "
                     "descent from zero does not move away from the minimiser")
    ok = dist <= FIN_OK * max(1.0, nf)
    if sound:
        v, r = Verdict.CONTRADICTS, "; ".join(sound)
    elif ok:
        v, r = Verdict.CONSISTENT, f"||W - W_fin|| = {dist:.2g} (W_svm = 0: finite minimiser)"
    else:
        v, r = Verdict.INCONCLUSIVE, (f"||W - W_fin|| = {dist:.3g}, loss gap fraction "
                                      f"{m['loss_fraction']:.2g}: not converged")
    tv = m["max_within_scc_tv"]
    vc = (Verdict.CONTRADICTS if sound else Verdict.CONSISTENT if tv <= 0.1 and ok
          else Verdict.INCONCLUSIVE)
    rc = r if sound else f"within-SCC TV from softmax(W_fin scores) {tv:.2g}"
    results = (
        ClaimResult("B", v, m, r),
        ClaimResult("C", vc, m, rc),
        ClaimResult("D", v, m, r),
        ClaimResult("E", v, m, "no acyclic edge (W_svm = 0): " + r),
    )
    return WeightEvidence(m, results)

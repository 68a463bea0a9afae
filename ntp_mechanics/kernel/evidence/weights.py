"""One weight matrix (``ntp-mechanics check``): claims B, C, D judged from a single ``W``.

**Any initialisation.**  The loss sees only ``P_{S_all} W`` (fact F6): the part of the
initial weights outside the edge span ``S_all`` never moves under gradient descent.
So every rule here judges ``P = P_{S_all} W`` and the remainder ``||W - P||`` is only
reported (``norm_remainder``).  A trained ``W`` with a large remainder (PyTorch's
default init leaves ``||W(0)|| ~ sqrt(d/3)`` mostly outside a small S_all) is as
good as its projection.

Three sound monotonicity facts (they hold for any gradient method
``W <- W - eta_t grad L(W)``, ``eta_t >= 0``, so also for normalised GD, from any
``W(0)``).  They are sound under one stated assumption, ``||W(0)|| <= b0``
(default ``sqrt(d)``, :func:`init_bound`, which PyTorch's default init never
exceeds; 0 for a zero start).  The remainder ``W - P`` is ``W(0)``'s own, so

0. ``||W - P|| <= b0``, and the start's part in S_all has norm at most
   ``bS = sqrt(b0^2 - ||W - P||^2)``.  In floating point, once the loss nears the
   resolution of the softmax a normalised step follows rounding errors, in any
   direction: every bound gets the allowance :func:`rounding_drift` (0 unless
   ``L(W) < 1e-4``, and the whole norm once ``L(W) <= 1e-10``).

1. ``<grad L(W), W_svm> <= 0`` for every W: sample i contributes
   ``sum_{t: x_t != y} s_t (a_t - a_y)`` with ``a = scores of W_svm``, and each edge
   ``y -> x_t`` has ``a_y - a_t = 0`` (cyclic) or ``>= 1`` (acyclic).  Hence
   ``<W(tau), W_svm>`` never decreases: ``<P, W_svm> >= -bS ||W_svm||``.
2. With a small step the loss never rises above ``L(W(0))``, and
   ``L(W(0)) <= L(0) + 2 bS max_v ||e_v||^2`` (each ``-log p_i`` grows by at most the
   spread of the scores of ``W(0)`` over the sample).
3. If ``W_svm = 0`` (no acyclic edge) ``W_fin`` minimises L, and for convex L the
   distance ``||P(tau) - W_fin||`` never exceeds ``||P(0) - W_fin|| <= ||W_fin|| + bS``
   (up to ``O(lr)`` for normalised steps).

Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.predictions import predict
>>> pred = predict(Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 1)]))
>>> ev = check_weights(pred, -10 * pred.direction, init_norm=0.0)
>>> ev.verdict.value
'contradicts'
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
MIN_SCALE = 2.0  # ||P|| / ||W_svm|| below this: too early for the asymptotics
MAX_LOSS_FRACTION = 0.05  # (L(W) - L*) / (L(0) - L*) above this: not trained enough
PATH_OK, PATH_BAD = 0.2, 0.7  # ||P/||P|| - W_R/R||: GD tracks the path to 0.01-0.1
FIN_OK, FIN_BAD = 0.05, 0.5
COS_SLACK = 0.05  # <P, u> below -bS - COS_SLACK ||P||: impossible for GD (fact 1 above)
REM_SLACK = 1e-5  # relative rounding of a remainder (weights stored in fp32, projection)
ROUNDING = 1e-10  # fp64 gradient rounding (eps times scores up to ~1e5): rounding_drift
LOSS_SLACK = 1e-3  # normalised steps of lr 0.01 may overshoot by this much


def init_bound(d: int) -> float:
    """The default bound on ``||W(0)||``: ``sqrt(d)``.

    PyTorch's default ``nn.Linear(d, d)`` init draws every entry uniformly in
    ``+-1/sqrt(d)``, so ``||W(0)|| <= sqrt(d)`` always (about ``sqrt(d/3)``); a zero
    start, Xavier and ``N(0, 1/d)`` starts (with high probability) are covered too.

    Parameters
    ----------
    d : int
        Embedding dimension.

    Returns
    -------
    float
        ``sqrt(d)``.
    """
    return math.sqrt(d)


def rounding_drift(norm: float, excess: float) -> float:
    """How far fp64 rounding may have moved a normalised-GD run of norm ``norm``.

    The true gradient shrinks with the excess loss ``L - L*``; once that excess is near
    the fp64 resolution of the softmax, the computed gradient is dominated by rounding
    errors of size about ``ROUNDING`` (``eps`` times the scores), and a *normalised*
    step follows the rounding: unit steps in any direction, the part outside S_all
    included (the attention weights sum to 1 only up to rounding, so the gradient gains
    a component off the zero-sum edge directions).  This happens at ``L*`` > 0 too: a
    cyclic label set whose loss has reached its infimum.  A run moves at most about its
    final norm in total, so the drift is bounded by ``norm * min(1, ROUNDING / (L -
    L*))``; 0 at the excess losses of the paper's runs.

    Parameters
    ----------
    norm : float
        ``||P_{S_all} W||``.
    excess : float
        ``L(W) - L*``, both computed accurately
        (:func:`~ntp_mechanics.kernel.evidence.common.precise_loss`).

    Returns
    -------
    float
        The allowance added to the sound rules' bounds.

    Examples
    --------
    >>> rounding_drift(40.0, 1e-3), rounding_drift(40.0, 0.0)
    (0.0, 40.0)
    """
    ratio = ROUNDING / excess if excess > 0 else math.inf
    return 0.0 if ratio < 1e-6 else norm * min(1.0, ratio)


def check_weights(pred: Predictions, W: np.ndarray,
                  init_norm: float | None = None) -> WeightEvidence:
    """Judge one trained ``W`` against claims B, C, D (see ``ntp-mechanics check``).

    Parameters
    ----------
    pred : Predictions
        The theory's predictions for the dataset W was trained on.
    W : numpy.ndarray
        d x d, score convention ``e_{x_t}^T W e_query``.
    init_norm : float, optional
        The assumed bound ``b0`` on ``||W(0)||`` (0 for a zero start); default
        :func:`init_bound`.  The rules assume W was trained by a gradient method
        on W itself (claims B-D).

    Returns
    -------
    WeightEvidence
        Metrics and one result per claim, all judged on ``P_{S_all} W``.
    """
    raw = np.asarray(W, dtype=float)
    W = pred.S_all.project(raw)  # the only part the loss sees (fact F6)
    rem = float(np.linalg.norm(raw - W))
    b0 = init_bound(pred.dataset.d) if init_norm is None else float(init_norm)
    loss = LogLoss(pred.dataset)
    LW = precise_loss(loss, W)
    Ls = pred.fin.L_star
    drift = rounding_drift(float(np.linalg.norm(W)), LW - Ls)
    # ||P W(0)||^2 + ||W(0) - P W(0)||^2 = ||W(0)||^2 <= b0^2, and at least
    # rem - drift of the remainder is W(0)'s
    bS = math.sqrt(max(b0 * b0 - max(rem - drift, 0.0) ** 2, 0.0)) + drift
    L0 = precise_loss(loss, np.zeros_like(W))
    rho = float(np.linalg.norm(W))
    ns = float(np.linalg.norm(pred.W_svm))
    att = attention_errors(pred.dataset.E, W, pred.W_fin, training_inputs(pred))
    m: dict[str, Any] = {
        "norm_W": rho, "norm_remainder": rem, "init_bound": b0, "init_bound_S_all": bS,
        "rounding_drift": drift,
        "norm_W_svm": ns,
        "norm_W_fin": float(np.linalg.norm(pred.W_fin)),
        "loss": LW, "L0": L0, "L_star": Ls,
        "loss_fraction": (LW - Ls) / (L0 - Ls) if L0 > Ls else float("nan"),
        "grad_norm": float(np.linalg.norm(loss.grad(W))),
        "fin_err": float(np.linalg.norm(pred.fin.subspace.project(W) - pred.W_fin)),
        "mean_off_scc": att.mean_off, "max_off_scc": att.max_off, "max_within_scc_tv": att.max_tv,
    }
    sound: list[str] = []
    if rem > b0 + drift + REM_SLACK * float(np.linalg.norm(raw)):
        sound.append(f"||W - P_S_all W|| = {rem:.3g} > {b0 + drift:.3g}: gradient descent "
                     "never moves the part outside S_all, so it is the start's, whose norm is "
                     f"at most {b0:.3g} (--init-norm)" + (f", plus {drift:.2g} of fp64 rounding"
                                                          if drift else ""))
    e2 = float(np.max(np.sum(pred.dataset.E ** 2, axis=1)))
    L_start = L0 + 2 * bS * e2
    if LW > L_start + LOSS_SLACK:
        sound.append(f"L(W) = {LW:.4g} > {L_start:.4g} >= L(W(0)) for any start with "
                     f"||P_S_all W(0)|| <= {bS:.3g}: gradient descent never ends above its "
                     "starting loss")
    if ns == 0:
        return _check_finite(pred, W, m, sound)
    m["scale"] = rho / ns
    m["cos_W_svm"] = cosine(W, pred.W_svm)
    m["direction_err"] = float(np.linalg.norm(unit(W) - pred.direction))
    along = float(np.sum(W * pred.direction))
    if along < -bS - COS_SLACK * rho:
        sound.append(f"<W, W_svm>/||W_svm|| = {along:.3g} < -{bS:.3g} (cos {m['cos_W_svm']:.3f}): "
                     "gradient descent only increases <W, W_svm>, from a start with "
                     f"||P_S_all W(0)|| <= {bS:.3g}")
    m |= _path_reference(pred, W, rho)
    return _check_separable(m, sound)


def _path_reference(pred: Predictions, W: np.ndarray, rho: float) -> dict[str, Any]:
    """Distances of ``W`` from the path point and claim D's formula at norm rho."""
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
    if last.W is None:
        out["path_uncertified"] = last.reason
        return out
    fin = pred.fin.subspace
    out["path_radius"] = last.R
    out["path_err"] = float(np.linalg.norm(W / rho - last.W / last.R))
    out["theory_err"] = float(np.linalg.norm(last.W / last.R - pred.direction))
    # claim D at matched norm: the S_fin part against the path's, the rest in direction
    out["fin_path_err"] = float(np.linalg.norm(fin.project(W) - fin.project(last.W)))
    out["path_fin_err"] = float(np.linalg.norm(fin.project(last.W) - pred.W_fin))
    perp, perp_R = W - fin.project(W), last.W - fin.project(last.W)
    out["perp_path_err"] = float(np.linalg.norm(unit(perp) - unit(perp_R)))
    return out


Decide = Callable[[bool, bool, str, str], tuple[Verdict, str]]


def _decider(m: dict[str, Any], sound: list[str]) -> tuple[Decide, str]:
    """The verdict rule shared by B, C, D: sound contradictions first, then thresholds."""
    scale, frac = m["scale"], m["loss_fraction"]
    asymptotic = scale >= MIN_SCALE and frac <= MAX_LOSS_FRACTION
    regime = f"||P|| = {scale:.3g} ||W_svm||, loss gap {frac:.2g} of L(0) - L*"

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

    return decide, regime


def _check_separable(m: dict[str, Any], sound: list[str]) -> WeightEvidence:
    decide, regime = _decider(m, sound)
    scale = m["scale"]
    path = m.get("path_err", m.get("formula_err", math.nan))
    far = scale >= MIN_SCALE and path >= PATH_BAD and m["direction_err"] >= PATH_BAD
    vb, rb = decide(
        path <= PATH_OK,
        far,
        f"P/||P|| is {path:.3g} from the regularization path at matched norm ({regime}); "
        f"direction error {m['direction_err']:.3g} vs the path's own {m.get('theory_err', 0):.3g}",
        f"P/||P|| is {path:.3g} from the regularization path at matched norm and "
        f"{m['direction_err']:.3g} from W_svm/||W_svm|| at {regime}",
    )
    off, tv = m["mean_off_scc"], m["max_within_scc_tv"]
    vc, rc = decide(
        off <= 0.05 and tv <= 0.1,
        scale >= MIN_SCALE and off >= 0.5,
        f"attention off the label's SCC {off:.2g} (mean), within-SCC TV {tv:.2g}",
        f"on average {off:.2g} of the attention lies outside the label's SCC at {regime}",
    )
    vd, rd = decide(*_claim_D_rule(m))
    results = (ClaimResult("B", vb, m, rb), ClaimResult("C", vc, m, rc),
               ClaimResult("D", vd, m, rd))
    return WeightEvidence(m, results)


def _claim_D_rule(m: dict[str, Any]) -> tuple[bool, bool, str, str]:
    """Claim D at matched norm: ``W ~ W_fin + ||W|| u`` holds for the path point
    ``W_R`` (R = ||P||) up to the theory's own finite-norm error, so P is compared with
    W_R part by part; the asymptotic formula is the fallback without a path point."""
    fin, formula = m["fin_err"], m.get("formula_err", math.nan)
    far_fin = fin >= FIN_BAD * max(1.0, m["norm_W_fin"])
    if "fin_path_err" in m:
        fp, pp = m["fin_path_err"], m["perp_path_err"]
        ok = min(fin, fp) <= FIN_OK and pp <= PATH_OK
        bad = m["scale"] >= MIN_SCALE and (
            (far_fin and fp >= FIN_BAD * max(1.0, m["norm_W_fin"]))
            or (formula >= PATH_BAD and m["path_err"] >= PATH_BAD))
        good = (f"at matched norm R = {m['path_radius']:.3g}: ||P_fin (P - W_R)|| = {fp:.2g}, "
                f"||P_fin P - W_fin|| = {fin:.2g} (the path's own {m['path_fin_err']:.2g}), "
                f"S_fin-orthogonal direction {pp:.3g} from the path's; formula error "
                f"{formula:.3g}")
        return ok, bad, good, (f"||P_fin P - W_fin|| = {fin:.3g} (from the path's S_fin part "
                               f"{fp:.3g}), relative distance from W_fin + rho W_svm/||W_svm|| "
                               f"{formula:.3g}, from the path {m['path_err']:.3g}")
    ok = fin <= FIN_OK and formula <= PATH_OK
    bad = m["scale"] >= MIN_SCALE and (far_fin or formula >= PATH_BAD)
    msg = (f"||P_fin P - W_fin|| = {fin:.3g}, ||P - (W_fin + rho W_svm/||W_svm||)||/rho = "
           f"{formula:.3g} (no certified path point: asymptotic formula)")
    return ok, bad, msg, msg


def _check_finite(pred: Predictions, W: np.ndarray, m: dict[str, Any],
                  sound: list[str]) -> WeightEvidence:
    """``W_svm = 0``: GD converges to the finite minimiser ``W_fin`` (claims B, E)."""
    dist = float(np.linalg.norm(W - pred.W_fin))
    nf, bS = m["norm_W_fin"], m["init_bound_S_all"]
    m["dist_to_W_fin"] = dist
    if dist > nf + bS + 1.0:  # bS includes the rounding drift
        sound.append(f"||P - W_fin|| = {dist:.3g} > ||W_fin|| + {bS:.3g} + 1 = "
                     f"{nf + bS + 1:.3g}: gradient descent does not move away from the "
                     "minimiser")
    ok = dist <= FIN_OK * max(1.0, nf)
    if sound:
        v, r = Verdict.CONTRADICTS, "; ".join(sound)
    elif ok:
        v, r = Verdict.CONSISTENT, f"||P - W_fin|| = {dist:.2g} (W_svm = 0: finite minimiser)"
    else:
        v, r = Verdict.INCONCLUSIVE, (f"||P - W_fin|| = {dist:.3g}, loss gap fraction "
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

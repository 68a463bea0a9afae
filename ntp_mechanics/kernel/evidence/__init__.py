"""Evidence for the paper's claims A-E, computed from one dataset, shared by the
theorem modules (``theorems/claim_*.py``) and ``ntp-mechanics check``; one module a claim.

Every claim of THEORY.md section 5 is a limit.  The functions here measure an
error at a ladder of scales and hand the sequence to
:func:`ntp_mechanics.kernel.verdict.judge_decay`, which extrapolates it:

* the **scale** is the margin scale ``m = ||W|| / ||W_svm||`` (the score gap, in
  units of one Graph-SVM margin, between successive priority levels at norm
  ``||W||``).  Errors are universal functions of ``m``, not of ``||W||``: a dataset
  with ``||W_svm|| = 1.3`` is at the same point of its asymptotics at ``R = 21`` as
  one with ``||W_svm|| = 14.6`` at ``R = 234``.  The default ladder is
  ``m = 1, 2, 4, 8, 16`` (:data:`MARGIN_LADDER`).
* past ``m ~ 16-20`` fp64 cannot resolve the direction when ``S_fin != {0}`` (the
  gradient across SCCs drowns in the rounding of the S_fin gradient), and the
  regularization-path solver may *certify a wrong point* (THEORY.md section 7; we
  measured certified points at ``m = 48`` with directional error 0.2-0.6).
  :func:`sound_path` therefore re-checks every certified point against reference
  points of the same norm with an accurate loss (:func:`precise_loss`): a minimiser
  over the ball cannot have a larger loss than another point of the ball.


Modules:

* :mod:`~ntp_mechanics.kernel.evidence.common` - thresholds, accurate loss, cosines;
* :mod:`~ntp_mechanics.kernel.evidence.path` - claim A (the regularization path);
* :mod:`~ntp_mechanics.kernel.evidence.iterates` - claims B and D (GD iterates);
* :mod:`~ntp_mechanics.kernel.evidence.automaton` - claim C (hard retrieval, composition);
* :mod:`~ntp_mechanics.kernel.evidence.special_cases` - claim E;
* :mod:`~ntp_mechanics.kernel.evidence.controls` - wrong predictions for negative controls;
* :mod:`~ntp_mechanics.kernel.evidence.weights` - one trained ``W`` (``check``).


Example
-------
>>> import numpy as np
>>> from ntp_mechanics.model.dataset import Dataset
>>> from ntp_mechanics.solvers.predictions import predict
>>> ds = Dataset.from_arrays(np.eye(3), [((0, 1, 2), 0), ((1, 2), 1)])
>>> judge_path(predict(ds)).verdict.value
'consistent'
"""

from ntp_mechanics.kernel.evidence.automaton import (
    AttentionErrors,
    attention_errors,
    judge_attention_iterates,
    judge_automaton,
    training_inputs,
)
from ntp_mechanics.kernel.evidence.common import (
    ATT_TOL,
    DIR_LARGE,
    DIR_TOL,
    FIN_LARGE,
    FIN_TOL,
    MARGIN_LADDER,
    OFF_LARGE,
    TV_LARGE,
    cosine,
    dataset_of,
    precise_loss,
    with_claim,
)
from ntp_mechanics.kernel.evidence.controls import (
    dropped_constraint_direction,
    unreduced_finite_component,
)
from ntp_mechanics.kernel.evidence.iterates import IterateEvidence, judge_iterates
from ntp_mechanics.kernel.evidence.path import PathPoint, judge_path, reference_points, sound_path
from ntp_mechanics.kernel.evidence.special_cases import attention_svm, judge_acyclic
from ntp_mechanics.kernel.evidence.weights import WeightEvidence, check_weights

__all__ = [
    "ATT_TOL",
    "DIR_LARGE",
    "DIR_TOL",
    "FIN_LARGE",
    "FIN_TOL",
    "MARGIN_LADDER",
    "OFF_LARGE",
    "TV_LARGE",
    "AttentionErrors",
    "IterateEvidence",
    "PathPoint",
    "WeightEvidence",
    "attention_errors",
    "attention_svm",
    "check_weights",
    "cosine",
    "dataset_of",
    "dropped_constraint_direction",
    "judge_acyclic",
    "judge_attention_iterates",
    "judge_automaton",
    "judge_iterates",
    "judge_path",
    "precise_loss",
    "reference_points",
    "sound_path",
    "training_inputs",
    "unreduced_finite_component",
    "with_claim",
]

"""``ntp-mechanics check DATASET.json --weights FILE``: judge trained weights.

Checks a key-query matrix ``W`` trained anywhere, by any implementation and from any
initialisation (score convention ``a_t = e_{x_t}^T W e_query``; files in JSON,
``.npz``, torch ``.pt``/``.pth`` or ``.safetensors``, a named tensor with ``--key``,
factor forms with ``--key-query`` or ``--in-proj``: :mod:`ntp_mechanics.app.weight_files`)
against the theory of Li et al. (AISTATS 2024), and prints a verdict per claim it can
judge and an overall verdict (exit 0 consistent, 1 contradicts, 2 bad input,
3 inconclusive).  The same verdict in Python: :func:`ntp_mechanics.check`.

The loss sees only ``P = P_{S_all} W`` (fact F6): the part of the initial weights
outside the edge span never moves, so P is judged and the remainder ``||W - P||`` is
reported apart.  One W is one point of a trajectory whose claims are limits, so the
check compares P with the theory's objects *at the same norm* rather than with the
limit:

* **B** (direction): ``P/||P||`` against the certified regularization-path point
  ``W_R/R`` at ``R = ||P||`` (GD tracks it: distances 0.01-0.09 for normalised GD
  lr 0.01, 4000 steps, on 30 random datasets, 0.01-0.09 from PyTorch's default
  init on 11 more; plain GD with lr 1 alike), reported beside the path's own
  distance from ``W_svm/||W_svm||`` (the theory's error scale at that norm).
  Consistent below 0.2; contradicting above 0.7 (unrelated weights measured
  1.16-1.63).  Without an acyclic edge (``W_svm = 0``): distance from the finite
  minimiser ``W_fin``.
* **C** (hard retrieval, soft composition): attention mass outside the label's SCC
  on the training samples, and the total variation between the attention within it
  and ``softmax(e_{x_t}^T W_fin e_query)``.
* **D** (implicit bias) at matched norm, as B: the S_fin part of P against the
  path's (``||P_fin P - P_fin W_R||``, or ``||P_fin P - W_fin||``) and the rest in
  direction against the path's; the asymptotic formula's relative error
  ``||P - (W_fin + sqrt(R^2 - ||W_fin||^2) W_svm/||W_svm||)|| / R`` is reported.
* Sound contradictions at any norm, whatever the thresholds, for a start with
  ``||W(0)|| <= b0`` (``--init-norm``; default ``sqrt(d)``, which PyTorch's default
  init never exceeds; 0 for a zero start), with ``bS = sqrt(b0^2 - ||W - P||^2)``
  bounding its part in S_all: ``||W - P|| > b0`` (the remainder is the start's);
  ``L(W)`` above the largest possible starting loss ``L(0) + 2 bS max ||e_v||^2``;
  ``<P, W_svm>/||W_svm|| < -bS`` (GD only increases ``<W, W_svm>``); with
  ``W_svm = 0``, ``||P - W_fin|| > ||W_fin|| + bS + 1`` (GD does not move away from
  the minimiser of a convex loss).  Each bound allows for fp64 rounding once the
  loss is below about 1e-10; see :mod:`ntp_mechanics.kernel.evidence.weights`.

Weights too early in training are INCONCLUSIVE, never consistent: a norm below twice
``||W_svm||`` or a loss gap above 5% of ``L(0) - L*``.

With ``--held-out HELDOUT`` (held-out windows of the same corpus, same vocabulary and
embeddings) it adds the real-text measurements on those windows
(:mod:`ntp_mechanics.kernel.realtext`): ``hard_retrieval_accuracy``, ``top_scc_mass``,
``corr_W_svm``, ``corr_fin``, ``next_token_accuracy``, ``unigram_accuracy``,
``bigram_accuracy`` (each a number, or null with its reason), and claim C judged on
them.  Weights whose file records training by ``sgd`` or ``adam`` are outside the
theorems' hypotheses: measured, never judged.

Example (shell)::

    ntp-mechanics train ds.json --out w.json && ntp-mechanics check ds.json --weights w.json
    ntp-mechanics check ds.json --weights model.pt --key attn.weight
    ntp-mechanics check ds.json --weights model.safetensors --in-proj attn.in_proj_weight
    ntp-mechanics check train.json --weights w.json --held-out heldout.json --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "judge weights trained on a dataset against claims B, C, D (and E where it applies)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", type=Path, help="dataset the weights were trained on (JSON or .npz)")
    p.add_argument("--weights", type=Path, required=True,
                   help="weights file: .json ('W': d x d, score e_{x_t}^T W e_query), .npz, "
                        ".pt/.pth (state dict or tensor) or .safetensors")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--key", metavar="NAME",
                      help="the d x d tensor to judge (default: 'W' or the file's only tensor)")
    form.add_argument("--key-query", nargs=2, metavar=("KEY", "QUERY"),
                      help="separate key and query matrices W_k, W_q (m x d, nn.Linear(d, m) "
                           "weights, score (W_k x_t)^T (W_q z)): W = W_k^T W_q")
    form.add_argument("--in-proj", metavar="NAME",
                      help="in_proj_weight of a single-head nn.MultiheadAttention(d, 1): "
                           "W = W_k^T W_q / sqrt(d)")
    p.add_argument("--init-norm", type=float, metavar="B0",
                   help="bound on ||W(0)|| for the sound rules (0: trained from zero; "
                        "default sqrt(d), PyTorch's default init)")
    p.add_argument("--held-out", type=Path, metavar="HELDOUT",
                   help="held-out windows of the same corpus: adds hard retrieval, top-SCC "
                        "mass, correlations and next-token accuracy against baselines")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="the verdicts as JSON: on stdout, or written to FILE")


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.app.weight_files import load_weights
    from ntp_mechanics.kernel.checking import check
    from ntp_mechanics.model.dataset import DatasetError, load_dataset

    ds = load_dataset(args.dataset)
    key_query = tuple(args.key_query) if args.key_query else None
    W = load_weights(args.weights, ds.d, args.key, key_query=key_query, in_proj=args.in_proj)
    if args.init_norm is not None and not args.init_norm >= 0:
        raise DatasetError(f"--init-norm must be a non-negative number, got {args.init_norm}")
    heldout = load_dataset(args.held_out) if args.held_out is not None else None
    result = check(ds, W, init_norm=args.init_norm, heldout=heldout,
                   optimizer=_optimizer_of(args.weights))
    text = json.dumps(result.to_dict(), indent=1)
    print(text if args.json == "-" else str(result))  # first: a failed write loses nothing
    sys.stdout.flush()
    if args.json not in (None, "-"):
        try:
            Path(args.json).write_text(text + "\n")
        except OSError as exc:
            raise DatasetError(f"cannot write {args.json}: {exc.strerror}") from None
    return result.exit_code


def _optimizer_of(path: Path) -> str | None:
    """The optimiser a weights JSON written by ``train`` records (None otherwise)."""
    if path.suffix.lower() != ".json":
        return None
    try:
        config = json.loads(path.read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return None
    return config.get("optimizer") if isinstance(config, dict) else None

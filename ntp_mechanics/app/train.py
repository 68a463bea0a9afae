"""``ntp-mechanics train``: train the one-layer attention model and write its weights.

Runs :func:`ntp_mechanics.solvers.training.train` (Li et al., AISTATS 2024: gradient descent on the
log-loss of one attention layer; normalised GD with lr 0.01 for 4000 steps from zero
is the paper's protocol and the default) and writes the weights JSON of
:mod:`ntp_mechanics.app.weight_files`.  Convention: position t scores ``e_{x_t}^T W e_query``.

Example
-------
``ntp-mechanics train data.json --out w.json --optimizer gd --steps 40000``
"""

from __future__ import annotations

import argparse

from ntp_mechanics.solvers.training import PAPER_PROTOCOL

HELP = "Train the attention model on a dataset (GD or normalised GD) and write its weights."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="dataset JSON file")
    parser.add_argument(
        "--out", required=True, metavar="WEIGHTS.json", help="where to write the weights JSON"
    )
    parser.add_argument(
        "--optimizer",
        choices=("gd", "ngd", "sgd", "adam"),
        default="ngd",
        help="plain or normalised gradient descent (default ngd; the theory's), or "
        "mini-batch sgd / adam (outside the theorems' hypotheses)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, metavar="B",
        help="windows per step for sgd and adam (default: all)",
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="step size (default 0.01 for ngd, 1/smoothness bound for gd)",
    )
    parser.add_argument("--steps", type=int, default=PAPER_PROTOCOL.steps,
                        help=f"number of updates ({PAPER_PROTOCOL.steps})")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random init (0)")
    parser.add_argument(
        "--init",
        choices=("auto", "zero", "random"),
        default="auto",
        help="zero or random init (auto: zero for W, random for KQ)",
    )
    parser.add_argument(
        "--init-scale",
        type=float,
        default=1e-3,
        help="standard deviation of each random init entry (1e-3)",
    )
    parser.add_argument(
        "--parametrization",
        choices=("W", "KQ"),
        default="W",
        help="combined W or factorised W = K Q^T (default W)",
    )
    parser.add_argument(
        "--width", type=int, default=None, help="inner width m of K and Q for KQ (default d)"
    )
    parser.add_argument(
        "--head",
        choices=("attention", "linear"),
        default="attention",
        help="attention-mass output (the paper) or linear head (attention)",
    )
    parser.add_argument(
        "--record-every",
        type=int,
        default=0,
        metavar="N",
        help="record loss and norm every N steps (0: first and last only)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: for long runs in a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.app.weight_files import save_weights
    from ntp_mechanics.model.dataset import load_dataset
    from ntp_mechanics.solvers.training import TrainConfig, train

    ds = load_dataset(args.dataset)
    config = TrainConfig(
        optimizer=args.optimizer,
        lr=args.lr,
        steps=args.steps,
        init=args.init,
        init_scale=args.init_scale,
        seed=args.seed,
        device=args.device,
        parametrization=args.parametrization,
        width=args.width,
        head=args.head,
        record_every=args.record_every,
        progress=args.progress,
        batch_size=args.batch_size,
    )
    result = train(ds, config)
    save_weights(args.out, result)
    print(
        f"trained {config.steps} {config.optimizer} steps on {result.device}: "
        f"loss {result.loss:.6g}, ||W||_F {result.norm:.6g} -> {args.out}"
    )
    return 0

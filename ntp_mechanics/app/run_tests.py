"""``ntp-mechanics test [PATHS] [-- PYTEST ARGS]``: the paper's claims under pytest.

Runs the package's own claim modules (:mod:`ntp_mechanics.theorems`: theorems A-E,
facts F1-F8, conjectures) and any of the user's PATHS (their own claims, conjectures or
tests) in one pytest session, from any folder, with the package's pytest configuration
and plugin.  The Hypothesis profile is ``--profile`` (default ``dev``).  The exit code
is pytest's: 0 when everything passed (a conjecture counterexample is reported, not a
failure, unless ``--gate-conjectures``), 1 when a test failed, 2 or more when pytest
could not run.

``--trainer MODULE:FUNCTION`` checks the user's own training code instead of the
paper's claims: ``FUNCTION(dataset)`` (MODULE importable from the current folder) is
called on the generated datasets of claims B, C, D and E
(:mod:`ntp_mechanics.theorems.trainer_claims`) and its ``W`` (d x d, score
``e_{x_t}^T W e_query``, any initialisation) judged by the rules of
``ntp-mechanics check``.  Exit 0 when no case contradicts, 1 when one does (the
shrunk dataset and the verdict are printed), 2 for a trainer that cannot be imported,
raises or returns a wrong shape.  Example::

    ntp-mechanics test --trainer my_attention:train --profile ci
"""

from __future__ import annotations

import argparse

from ntp_mechanics.app.suite_run import require_paths, session_args, suite_paths

HELP = "run the paper's claims (and your own PATHS) under pytest, from any folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="your own claim, conjecture or test files and folders; pytest "
                        "arguments go after --")
    p.add_argument("--profile", default="dev", help="Hypothesis profile (ci, dev, thorough)")
    p.add_argument("--include-slow", action="store_true", help="also run @pytest.mark.slow")
    p.add_argument("--gate-conjectures", action="store_true",
                   help="a conjecture counterexample fails the run")
    p.add_argument("--trainer", metavar="MODULE:FUNCTION",
                   help="check claims B-E on your trainer FUNCTION(dataset) -> W (d x d) "
                        "instead of the paper's claims; MODULE importable from here")
    p.add_argument("--init-norm", type=float, metavar="B0",
                   help="with --trainer: bound on its ||W(0)|| (default sqrt(d), PyTorch's "
                        "default init; 0 for a zero start)")


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The whole pytest command line (after ``pytest``) for these arguments."""
    if getattr(args, "trainer", None):
        return _trainer_args(args)
    paths = suite_paths(args.paths)
    out = session_args(paths, args.profile, args.include_slow)
    if args.gate_conjectures:
        out.append("--gate-conjectures")
    return out + list(args.pytest_args) + paths


def _trainer_args(args: argparse.Namespace) -> list[str]:
    """Only the trainer's claims (and the user's PATHS), with ``--ntp-trainer``."""
    from ntp_mechanics.kernel.claims import theorems_dir

    paths = [str(theorems_dir() / "trainer_claims.py"), *args.paths]
    out = [*session_args(paths, args.profile, include_slow=True), "--ntp-trainer", args.trainer]
    if args.init_norm is not None:
        out += ["--ntp-init-norm", repr(args.init_norm)]
    return out + list(args.pytest_args) + paths


def run(args: argparse.Namespace) -> int:
    import pytest

    require_paths(args.paths)
    if args.trainer:
        from ntp_mechanics.kernel.user_trainer import load_trainer

        load_trainer(args.trainer)  # a broken trainer: one line, exit 2, before pytest
    return int(pytest.main(pytest_args(args)))

"""The ``ntp-mechanics`` command line.

Each subcommand is a module of this package exposing ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``.  Modules are imported only when
their command runs or help is asked for, and import cvxpy/torch inside functions, so a
command that does not train never pays for torch.

Exit codes (shared by every command):

* 0 - done / consistent with the theory
* 1 - contradicts the theory (``check``; ``report`` when a theorem or fact failed)
* 2 - bad input (:class:`~ntp_mechanics.model.errors.BadInputError` and its subclasses),
  or an infeasible Graph-SVM (one line on stderr, no traceback)
* 3 - numerically inconclusive (a solver could not certify its answer)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ntp_mechanics.model.errors import BadInputError, InconclusiveError, InfeasibleError

# command name -> module of ntp_mechanics.app
COMMANDS = {"predict": "predict", "train": "train", "check": "check", "claims": "claims",
            "test": "run_tests", "gate": "gate", "report": "report",
            "sweep": "sweep", "corpus": "corpus", "realtext": "realtext"}
# commands that pass what follows ``--`` on to pytest
PASS_THROUGH = ("test", "gate")

EXIT_OK, EXIT_CONTRADICTS, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ntp-mechanics",
        description="Check next-token-prediction attention against the theory of Li et al. 2024.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"ntp_mechanics.app.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ntp_mechanics.app.{module}":
                raise
            continue  # command not installed in this build
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    parser = build_parser()
    args = parser.parse_args(argv)
    if extra and args.command not in PASS_THROUGH:
        parser.error(f"{args.command} takes no arguments after --")
    args.pytest_args = extra
    try:
        return int(args._run(args))
    except (BadInputError, InfeasibleError, FileNotFoundError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except InconclusiveError as exc:
        return _fail(f"inconclusive: {exc}", EXIT_INCONCLUSIVE)
    except FloatingPointError as exc:
        return _fail(f"inconclusive: floating-point failure ({exc})", EXIT_INCONCLUSIVE)


def _fail(message: str, code: int) -> int:
    print(
        f"ntp-mechanics: error: {message.splitlines()[0] if message else 'failed'}", file=sys.stderr
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main())

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

A command whose packages come with an optional extra (``sweep``: ``dask``) checks for
them before it starts and, when one is missing, says which extra to install in one
line and exits 2.

Example
-------
>>> extra_of(ModuleNotFoundError("no pyarrow", name="pyarrow.parquet"))
'dask'
>>> print(extra_hint("sweep", "dask"))
ntp-mechanics sweep needs the 'dask' extra: pip install 'ntp-mechanics[dask]'
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from ntp_mechanics import __version__
from ntp_mechanics.model.errors import BadInputError, InconclusiveError, InfeasibleError

# command name -> module of ntp_mechanics.app
COMMANDS = {"predict": "predict", "train": "train", "check": "check", "claims": "claims",
            "test": "run_tests", "gate": "gate", "report": "report",
            "sweep": "sweep", "corpus": "corpus", "realtext": "realtext"}
# commands that pass what follows ``--`` on to pytest
PASS_THROUGH = ("test", "gate")
# optional extra -> the top-level packages it installs (pyproject's optional-dependencies)
EXTRAS = {"dask": ("dask", "distributed", "pyarrow")}
# command -> the extra it needs; every other command runs on the core install
COMMAND_EXTRAS = {"sweep": "dask"}

EXIT_OK, EXIT_CONTRADICTS, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The ``ntp-mechanics`` argument parser: one subparser per command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="ntp-mechanics",
        description="Check next-token-prediction attention against the theory of Li et al. 2024.",
    )
    parser.add_argument("--version", action="version", version=f"ntp-mechanics {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"ntp_mechanics.app.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ntp_mechanics.app.{module}":
                continue  # command not installed in this build
            if extra_of(exc) is None:
                raise
            # its module imports an extra's package at import time: the command still
            # exists and says which extra to install
            # (every argument taken as positional: none is meaningful without the extra)
            p = sub.add_parser(name, help=f"(needs the '{extra_of(exc)}' extra)",
                               prefix_chars="\0", add_help=False)
            p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
            p.set_defaults(_extra=extra_of(exc))
            continue
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def needs_extra(command: str) -> str | None:
    """The extra ``command`` needs and that is not installed, else None."""
    extra = COMMAND_EXTRAS.get(command)
    if extra is None or all(_importable(pkg) for pkg in EXTRAS[extra]):
        return None
    return extra


def extra_of(exc: ImportError) -> str | None:
    """The extra that installs the package whose import raised ``exc``, else None."""
    top = (exc.name or "").partition(".")[0]
    return next((extra for extra, pkgs in EXTRAS.items() if top in pkgs), None)


def extra_hint(command: str, extra: str) -> str:
    """The one-line message for a command whose extra is missing."""
    return (f"ntp-mechanics {command} needs the '{extra}' extra: "
            f"pip install 'ntp-mechanics[{extra}]'")


def _importable(name: str) -> bool:
    if name in sys.modules:  # None there means "blocked": an import would fail
        return sys.modules[name] is not None
    return importlib.util.find_spec(name) is not None


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
    missing = getattr(args, "_extra", None) or needs_extra(args.command)
    if missing is not None:  # before any work: nothing is lost
        return _fail(extra_hint(args.command, missing), EXIT_BAD_INPUT)
    try:
        return int(args._run(args))
    except ImportError as exc:
        if extra_of(exc) is None:
            raise
        return _fail(extra_hint(args.command, extra_of(exc)), EXIT_BAD_INPUT)
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

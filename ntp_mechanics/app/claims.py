"""``ntp-mechanics claims [PATH...] [--json]``: the claims, as their modules declare them
(:mod:`ntp_mechanics.kernel.claims`)."""

from __future__ import annotations

import argparse
import json

from ntp_mechanics.app.suite_run import require_paths
from ntp_mechanics.kernel.claims import registry

HELP = ("list the claims the suite checks (ids A-E, F1-F8, C1-C6, any other "
        "theorems/<kind>_<ID>_*.py, and those of your PATHs) and their modules")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="your own claim modules or folders, listed after the paper's")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")


def run(args: argparse.Namespace) -> int:
    paths = list(getattr(args, "paths", None) or [])
    require_paths(paths)
    rows = registry(paths)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['id']:<3} {r['kind']:<10} {r['module'] or '(no module yet)'}")
        print(f"    {r['statement']}")
    return 0

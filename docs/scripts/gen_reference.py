"""mkdocs-gen-files script: the reference pages generated from the package itself.

* ``reference/cli.md``: every command's ``--help``, from
  :func:`ntp_mechanics.app.cli.build_parser` (the argparse definitions);
* ``reference/claims.md``: the claim catalogue, from ``ntp-mechanics claims --json``
  (the claims' own declarations, including any conjecture module added later);
* ``reference/api.md`` and ``reference/strategies.md``: one mkdocstrings entry per
  public name, from ``ntp_mechanics.__all__`` and ``ntp_mechanics.strategies.__all__``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys

import mkdocs_gen_files

os.environ["COLUMNS"] = "88"  # argparse wraps help to the terminal: fix it


def cli_page() -> str:
    from ntp_mechanics.app.cli import build_parser

    parser = build_parser()
    lines = ["# Command line", "",
             "Generated from the command's own argument definitions; the same text as "
             "`ntp-mechanics COMMAND --help`.  Every command shares the "
             "[exit codes](exit-codes.md); what each command does is described in "
             "[Commands](commands.md).", "",
             "```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        lines += [f"## `ntp-mechanics {name}`", "", "```text", p.format_help().rstrip(),
                  "```", ""]
    return "\n".join(lines)


def claims_page() -> str:
    out = subprocess.run([sys.executable, "-m", "ntp_mechanics", "claims", "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    lines = ["# Claim catalogue", "",
             "Every claim the suite checks, generated from `ntp-mechanics claims --json` "
             "(each claim module's own declaration).  Theorems and facts are asserted; "
             "conjectures are reported, not asserted (see [Verdicts]"
             "(../explanation/verdicts.md)).  The notation is that of "
             "[The theory](../explanation/theory.md).", ""]
    for kind, title in (("theorem", "Theorems"), ("fact", "Facts"),
                        ("conjecture", "Conjectures")):
        group = [r for r in rows if r["kind"] == kind]
        if not group:
            continue
        lines += [f"## {title}", ""]
        for r in group:
            module = f" — `{r['module']}`" if r.get("module") else ""
            lines += [f"**{r['id']}**{module}", ":   " + _plain(r["statement"]), ""]
    return "\n".join(lines)


def _plain(text: str) -> str:
    """``text`` shown as written: Markdown's emphasis and HTML characters escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", text)


def api_page(module: str, title: str, intro: str) -> str:
    mod = importlib.import_module(module)
    lines = [f"# {title}", "", intro, ""]
    for name in sorted(mod.__all__, key=str.lower):
        obj = getattr(mod, name)
        lines += [f"::: {obj.__module__}.{name}", "    options:",
                  f"      heading: {name}", ""]
    return "\n".join(lines)


PAGES = {
    "reference/cli.md": cli_page,
    "reference/claims.md": claims_page,
    "reference/api.md": lambda: api_page(
        "ntp_mechanics", "Public API: `ntp_mechanics`",
        "What a user's own code and tests import (`from ntp_mechanics import ...`); "
        "everything else is internal.  Names load on first use, so `import ntp_mechanics` "
        "costs neither torch nor cvxpy."),
    "reference/strategies.md": lambda: api_page(
        "ntp_mechanics.strategies", "Strategies: `ntp_mechanics.strategies`",
        "The Hypothesis strategies for a user's own property tests "
        "(`from ntp_mechanics.strategies import ...`); each shrinks towards small, "
        "simple cases."),
}

for path, page in PAGES.items():
    with mkdocs_gen_files.open(path, "w") as fh:
        fh.write(page())

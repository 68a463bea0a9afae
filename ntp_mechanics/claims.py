"""The registry of claims the suite checks, and ``ntp-mechanics claims [--json]``.

A *claim* is one statement of THEORY.md, named by its id: the paper's theorems
(A-E, section 5), the exact facts (F1-F8, section 4) and the conjectures beyond the
paper (C1-C3, section 6).  Each is checked by one pytest module under ``theorems/``,
found by its file-name prefix (``claim_A_*.py``, ``fact_F1_*.py``,
``conjecture_C1_*.py``), so modules can be renamed or added without touching this
registry; a claim whose module does not exist yet has ``module = None``.

Example
-------
>>> [c.id for c in CLAIMS][:6]
['A', 'B', 'C', 'D', 'E', 'F1']
>>> claim("F5").kind
'fact'
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["CLAIMS", "Claim", "claim", "module_path", "registry", "theorems_dir"]

HELP = "list the claims the suite checks (ids A-E, F1-F8, C1-C3) and their modules"

_PREFIX = {"theorem": "claim", "fact": "fact", "conjecture": "conjecture"}


@dataclass(frozen=True)
class Claim:
    """One statement of THEORY.md: id, kind, a one-line statement, THEORY.md section."""

    id: str
    kind: str  # "theorem" | "fact" | "conjecture"
    statement: str
    section: str

    @property
    def module(self) -> str | None:
        """Path of its module relative to the repository root, or None if absent."""
        return module_path(self)


CLAIMS: tuple[Claim, ...] = (
    Claim("A", "theorem", "regularization path: if W_svm != 0, W_R/R -> W_svm/||W_svm|| and "
          "P_fin W_R -> W_fin as R -> inf", "5"),
    Claim("B", "theorem", "gradient descent: L(W(tau)) -> L*; if W_svm != 0, ||W(tau)|| -> inf, "
          "W(tau)/||W(tau)|| -> W_svm/||W_svm||, P_fin W(tau) -> W_fin; if W_svm = 0, "
          "W(tau) -> W_fin", "5"),
    Claim("C", "theorem", "automaton: attention concentrates on the label's SCC (or a fresh "
          "input's dominating SCC), distributed as softmax_t(e_{x_t}^T W_fin e_k)", "5"),
    Claim("D", "theorem", "implicit bias: W(tau) ~ W_fin + ||W(tau)|| W_svm/||W_svm||", "5"),
    Claim("E", "theorem", "special cases: acyclic graphs give W_fin = 0 and the attention SVM; "
          "strongly connected graphs give W_svm = 0 and a finite minimiser", "5"),
    Claim("F1", "fact", "Graph-SVM feasible (and unique) for linearly independent E; may be "
          "infeasible for K > d", "4"),
    Claim("F2", "fact", "W_svm = 0 iff no graph has an acyclic edge", "4"),
    Claim("F3", "fact", "i =>_k j implies (e_i - e_j)^T W_svm e_k >= 1; i ~_k j implies = 0", "4"),
    Claim("F4", "fact", "W_svm orthogonal to S_fin, W_svm in S_all, KKT with lambda >= 0 on "
          "acyclic edges", "4"),
    Claim("F5", "fact", "-log p_i = logsumexp_t a_it - a_iy - log m_i: L convex in W", "4"),
    Claim("F6", "fact", "L depends on W only through P_{S_all} W; GD from zero stays in S_all",
          "4"),
    Claim("F7", "fact", "W_fin exists and is unique; inf L = L*, attained iff no acyclic edge",
          "4"),
    Claim("F8", "fact", "invariances: W_svm depends on edge sets only; rotations E -> E Q^T "
          "map W -> Q W Q^T; relabelling changes nothing", "4"),
    Claim("C1", "conjecture", "W = K Q^T by GD from small init: direction tends to a "
          "nuclear-norm Graph-SVM solution", "6"),
    Claim("C2", "conjecture", "overcomplete E (K > d) with a feasible Graph-SVM: claims A-D "
          "still hold", "6"),
    Claim("C3", "conjecture", "linear head with cross-entropy: GD tends to the Graph-SVM of "
          "the token sets it selects", "6"),
)


def claim(claim_id: str) -> Claim:
    """The claim with this id (KeyError with the known ids otherwise)."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(c.id for c in CLAIMS)}")


def theorems_dir() -> Path:
    """The ``theorems/`` directory next to the installed packages (editable install)."""
    spec = importlib.util.find_spec("theorems")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "theorems"


def module_path(c: Claim) -> str | None:
    """``theorems/<prefix>_<id>_<slug>.py`` if such a module exists (first by name)."""
    base = theorems_dir()
    found = sorted(base.glob(f"{_PREFIX[c.kind]}_{c.id}_*.py"))
    if not found:
        return None
    return f"{base.name}/{found[0].name}"


def registry() -> list[dict[str, str | None]]:
    """Every claim as a JSON-ready dict (with its module path)."""
    return [asdict(c) | {"module": c.module} for c in CLAIMS]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the registry as JSON")


def run(args: argparse.Namespace) -> int:
    rows = registry()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['id']:<3} {r['kind']:<10} {r['module'] or '(no module yet)'}")
        print(f"    {r['statement']}")
    return 0

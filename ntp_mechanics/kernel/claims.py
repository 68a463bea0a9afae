"""The registry of claims the suite checks, and ``ntp-mechanics claims [--json]``.

A *claim* is one statement of THEORY.md, named by its id: the paper's theorems
(A-E, section 5), the exact facts (F1-F8, section 4) and the conjectures beyond the
paper (C1-C6, section 6).  Each is checked by one pytest module under ``theorems/``,
found by its file-name prefix (``claim_A_*.py``, ``fact_F1_*.py``,
``conjecture_C1_*.py``), so modules can be renamed or added without touching this
registry; a claim whose module does not exist yet has ``module = None``.

New conjectures need no entry here: a module ``theorems/conjecture_<ID>_<slug>.py``
whose ``<ID>`` (a capital letter and digits, e.g. ``C7``) is not in :data:`CLAIMS` is
*discovered* (:func:`discovered`) with kind ``conjecture`` and, as its statement, the
first line of its module docstring (read with :mod:`ast`, never imported; a leading
``"C7: "`` is dropped).  :func:`all_claims`, :func:`claim`, :func:`registry` and
``ntp-mechanics claims`` include them.

Example
-------
>>> [c.id for c in CLAIMS][:6]
['A', 'B', 'C', 'D', 'E', 'F1']
>>> claim("F5").kind
'fact'
>>> statement_of("C7", "'C7: W_svm is orthogonal to W_fin.'")
'W_svm is orthogonal to W_fin.'
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "CLAIMS",
    "Claim",
    "all_claims",
    "claim",
    "discovered",
    "module_path",
    "registry",
    "statement_of",
    "theorems_dir",
]

_PREFIX = {"theorem": "claim", "fact": "fact", "conjecture": "conjecture"}
KINDS = {prefix: kind for kind, prefix in _PREFIX.items()}  # file prefix -> claim kind
# The claim-id syntax, in one place: a capital letter, an optional second one, digits
# (A, F1, C4; CX for test fixtures).  A claim module is <prefix>_<ID>_<slug>.py.
CLAIM_ID = r"[A-Z][A-Z]?[0-9]*"
CLAIM_FILE = re.compile(rf"^(claim|fact|conjecture)_({CLAIM_ID})_\w+\.py$")


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
    Claim("B", "theorem", "gradient descent from any W(0): L(W(tau)) -> L*; if W_svm != 0, "
          "||W(tau)|| -> inf, W(tau)/||W(tau)|| -> W_svm/||W_svm||, P_fin W(tau) -> W_fin; if "
          "W_svm = 0, P_{S_all} W(tau) -> W_fin (judged on P_{S_all} W: fact F6)", "5"),
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
    Claim("C1", "conjecture", "W = K Q^T by GD from small init: the direction tends to a KKT "
          "point of the nuclear-norm Graph-SVM (certificate: a multiplier in the cone of the "
          "active acyclic constraints plus the span of the cyclic ones; whether it is the "
          "global W_svm_* is reported separately)", "6"),
    Claim("C2", "conjecture", "overcomplete E (K > d) with a feasible Graph-SVM: claims A-D "
          "still hold", "6"),
    Claim("C3", "conjecture", "linear head with cross-entropy: GD tends to the Graph-SVM of "
          "the token sets it selects", "6"),
    Claim("C4", "conjecture", "regularization path of the factorisation: (K_R, Q_R) = argmin "
          "L(K Q^T) s.t. ||K||_F^2 + ||Q||_F^2 <= 2R; K_R Q_R^T / R tends in direction to the "
          "global nuclear-norm Graph-SVM W_svm_*", "6"),
    Claim("C5", "conjecture", "GD follows the regularization path: ||W(tau)/||W(tau)|| - W_R/R|| "
          "-> 0 with R = ||P_{S_all} W(tau)||, faster than either tends to W_svm/||W_svm||",
          "6"),
    Claim("C6", "conjecture", "mirror descent with psi(W) = sum |W_ab|^p / p (p in {1.5, 3}): "
          "the direction tends to the l_p Graph-SVM (||W||_F replaced by the entrywise "
          "||W||_p)", "6"),
)


def claim(claim_id: str) -> Claim:
    """The claim with this id, listed or discovered (KeyError with the known ids otherwise)."""
    known = all_claims()
    for c in known:
        if c.id == claim_id:
            return c
    raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(c.id for c in known)}")


def theorems_dir() -> Path:
    """Where the package :mod:`ntp_mechanics.theorems` lives (installed or checkout)."""
    spec = importlib.util.find_spec("ntp_mechanics.theorems")
    assert spec is not None and spec.submodule_search_locations, "ntp_mechanics is broken"
    return Path(next(iter(spec.submodule_search_locations)))


def claim_of_file(name: str) -> tuple[str, str] | None:
    """``(kind, id)`` of a claim module's file name or path (or a test node id in it).

    >>> claim_of_file("theorems/fact_F3_transitive_priority.py::test_margins")
    ('fact', 'F3')
    >>> claim_of_file("tests/test_tpg.py") is None
    True
    """
    m = CLAIM_FILE.match(Path(name.split("::")[0]).name)
    return (KINDS[m.group(1)], m.group(2)) if m else None


def module_path(c: Claim) -> str | None:
    """``theorems/<prefix>_<id>_<slug>.py`` if such a module exists (first by name)."""
    base = theorems_dir()
    found = sorted(base.glob(f"{_PREFIX[c.kind]}_{c.id}_*.py"))
    if not found:
        return None
    return f"{base.name}/{found[0].name}"


def statement_of(claim_id: str, source: str) -> str:
    """First line of the module docstring in ``source``, without a leading ``"<id>: "``."""
    try:
        doc = ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError:
        doc = ""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    first = re.sub(rf"^{re.escape(claim_id)}\s*[:.-]\s*", "", first)
    return first or "(no module docstring)"


def discovered(base: Path | None = None) -> list[Claim]:
    """Conjectures with a module ``conjecture_<ID>_*.py`` under ``base`` (default
    :func:`theorems_dir`) but no entry in :data:`CLAIMS`, sorted by id (section ``""``:
    not in THEORY.md)."""
    base = theorems_dir() if base is None else base
    listed = {c.id for c in CLAIMS}
    found: dict[str, Path] = {}
    for path in sorted(base.glob("conjecture_*.py")):
        m = CLAIM_FILE.match(path.name)
        if m and m.group(2) not in listed:
            found.setdefault(m.group(2), path)  # the first module by name, as module_path
    out = []
    for cid, path in found.items():
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = ""
        out.append(Claim(cid, "conjecture", statement_of(cid, source), ""))
    return sorted(out, key=lambda c: (len(c.id), c.id))


def all_claims() -> tuple[Claim, ...]:
    """:data:`CLAIMS` followed by the :func:`discovered` conjectures."""
    return CLAIMS + tuple(discovered())


def registry() -> list[dict[str, str | None]]:
    """Every claim, listed or discovered, as a JSON-ready dict (with its module path)."""
    return [asdict(c) | {"module": c.module} for c in all_claims()]

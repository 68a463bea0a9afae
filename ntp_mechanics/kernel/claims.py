"""The claim ledger: the claims the suite checks, how their evidence is named and grouped.

The one home of

* the registry (:data:`CLAIMS`, :func:`all_claims`, ``ntp-mechanics claims [--json]``);
* the claim-id syntax (:data:`CLAIM_ID`, :data:`CLAIM_FILE`, :func:`claim_of_file`);
* the environment names the package reads (:data:`VERDICT_LOG_ENV`,
  :data:`PROFILE_ENV`, :data:`GATE_ENV`, :data:`DIR_ENV`, :data:`DATABASE_ENV`);
* the verdict log: one JSON line per verdict, written by
  :func:`ntp_mechanics.kernel.verdict.record` through :func:`append_verdict` and read
  back by :func:`read_verdicts`;
* per-claim aggregation (:func:`group_by_claim`): test outcomes, verdict-log lines and
  conjecture records sorted by claim, the one grouping step behind both
  ``ntp-mechanics gate`` and ``ntp-mechanics report``.

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
>>> ev = group_by_claim({"theorems/fact_F2_zero.py::test_x": {"outcome": "passed"},
...                      "tests/test_tpg.py::test_y": {"outcome": "failed"}},
...                     [{"claim": "F2", "verdict": "consistent"},
...                      {"claim": "F2-control", "verdict": "contradicts"}])
>>> list(ev.claims["F2"].tests), len(ev.claims["F2"].verdicts), len(ev.claims["F2"].controls)
(['theorems/fact_F2_zero.py::test_x'], 1, 1)
>>> list(ev.other_tests)
['tests/test_tpg.py::test_y']
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CLAIMS",
    "CLAIM_FILE",
    "CLAIM_ID",
    "DATABASE_ENV",
    "DIR_ENV",
    "GATE_ENV",
    "PROFILE_ENV",
    "VERDICT_LOG_ENV",
    "Claim",
    "ClaimEvidence",
    "Evidence",
    "all_claims",
    "append_verdict",
    "claim",
    "claim_of_file",
    "discovered",
    "group_by_claim",
    "module_path",
    "read_verdicts",
    "registry",
    "statement_of",
    "theorems_dir",
]

# -- the environment names the package reads, in one place ---------------------------------
# (the ledger sits at the bottom of the kernel and imports no other layer, so every layer
# above it can name them; the generators below only register profiles and read nothing)
VERDICT_LOG_ENV = "NTP_VERDICT_LOG"
"""When set, :func:`ntp_mechanics.kernel.verdict.record` appends every verdict to this file."""
PROFILE_ENV = "NTP_HYPOTHESIS_PROFILE"
"""The Hypothesis profile the pytest plugin loads (``ci``, ``dev``, ``thorough``)."""
GATE_ENV = "NTP_GATE_CONJECTURES"
"""``1``: a conjecture counterexample fails the run (as ``--gate-conjectures``)."""
DIR_ENV = "NTP_CONJECTURE_DIR"
"""Where conjecture records and counterexample files go (as ``--conjecture-dir``)."""
DATABASE_ENV = "NTP_HYPOTHESIS_DATABASE"
"""Hypothesis's example database for the session: a folder, or ``github:OWNER/REPO``
(:class:`hypothesis.database.GitHubArtifactDatabase`, read-only); see the plugin."""

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


# -- the verdict log -------------------------------------------------------------------------
def append_verdict(path: str | Path, test: str, result: Mapping[str, Any]) -> None:
    """Append one verdict (``ClaimResult.to_dict()``) as a JSON line ``{"test", "claim",
    "verdict", "reason", "metrics"}``; a negative control's claim is ``"<id>-control"``."""
    line = json.dumps({"test": test, **result}, default=str)
    with open(path, "a", encoding="utf-8") as fh:  # O_APPEND: one write per line, safe
        fh.write(line + "\n")                      # across pytest-xdist workers


def read_verdicts(path: str | Path) -> list[dict[str, Any]]:
    """The verdict log's lines (a torn line from a killed worker is skipped, never fatal)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


# -- per-claim aggregation -------------------------------------------------------------------
@dataclass
class ClaimEvidence:
    """Everything one run says about one claim.

    ``tests`` maps the node ids of its module's tests to their outcome entries;
    ``verdicts`` are its verdict-log lines, ``controls`` those of its negative controls
    (claim ``"<id>-control"``); ``conjectures`` its conjecture-plugin records.
    """

    claim: Claim
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    conjectures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Evidence:
    """:func:`group_by_claim`'s result: per claim (registry order, then claims met only
    in the run, e.g. a user's own ``claim_X9_*.py``) and the tests of no claim."""

    claims: dict[str, ClaimEvidence]
    other_tests: dict[str, dict[str, Any]]


def group_by_claim(outcomes: Mapping[str, dict[str, Any]],
                   verdicts: Iterable[Mapping[str, Any]] = (),
                   conjectures: Iterable[Mapping[str, Any]] = ()) -> Evidence:
    """Sort a run's evidence by claim: test outcomes by their module's file name
    (:func:`claim_of_file`), verdict lines by their ``claim`` field (``"B-control"`` is
    B's control), conjecture records by their ``id``.  Lines and records of claims
    neither registered nor run are dropped."""
    claims = {c.id: ClaimEvidence(c) for c in all_claims()}
    other: dict[str, dict[str, Any]] = {}
    for nodeid, entry in sorted(outcomes.items()):
        owner = claim_of_file(nodeid)
        if owner is None:
            other[nodeid] = entry
            continue
        kind, cid = owner
        if cid not in claims:
            claims[cid] = ClaimEvidence(Claim(cid, kind, "", ""))
        claims[cid].tests[nodeid] = entry
    for line in verdicts:
        base, _, control = str(line.get("claim", "")).partition("-")
        if base in claims:
            (claims[base].controls if control else claims[base].verdicts).append(dict(line))
    for rec in conjectures:
        if rec.get("id") in claims:
            claims[str(rec["id"])].conjectures.append(dict(rec))
    return Evidence(claims, other)

"""The claim registry: every claim is declared once, in its own module.

A *claim* is one statement of THEORY.md, named by its id: the paper's theorems
(A-E, section 5), the exact facts (F1-F8, section 4) and the conjectures beyond the
paper (C1-C6, section 6).  Each is checked by one pytest module found by its file name
(``claim_<ID>_<slug>.py``, ``fact_<ID>_<slug>.py``, ``conjecture_<ID>_<slug>.py``), and
that module declares the claim in a module-level literal, read with :mod:`ast` (the
module is never imported)::

    CLAIM = dict(
        id="B", kind="theorem", section="5",
        statement="gradient descent from any W(0): ...",
        report_metric="direction_errs",    # metric key of its verdicts shown by `report`
        limit_metric="direction_limit",    # its extrapolated limit (or None)
        metric_doc="||W/||W|| - W_svm/||W_svm|| || at the last step",
        check=True,                        # judged by `check` on trained weights
        trainer=True,                      # judged by `test --trainer`
    )

Every key is optional (:data:`DEFAULTS`): ``id`` and ``kind`` come from the file name
(and must agree with it when given), ``statement`` from the first line of the module
docstring (a leading ``"<ID>: "`` dropped), ``section`` is ``""``, no metric, and
neither ``check`` nor the trainer hook applies.  So a conjecture module needs no
declaration at all, and a new theorem is one new module: ``claims``, ``gate``,
``report``, ``check`` and ``test --trainer`` all take the set of claims from here.

:data:`CLAIMS` is the package's claims with a ``CLAIM`` declaration;
:func:`discovered` the conjectures of a folder declared by file name and docstring
only; :func:`all_claims` both, and :func:`claims_in` any folder's claims (a user's
own, passed to ``gate`` or ``claims``).

Example
-------
>>> [c.id for c in all_claims()][:6]
['A', 'B', 'C', 'D', 'E', 'F1']
>>> claim("F5").kind
'fact'
>>> claim("B").check, claim("F5").check
(True, False)
>>> statement_of("C7", "'C7: W_svm is orthogonal to W_fin.'")
'W_svm is orthogonal to W_fin.'
>>> declaration_of("CLAIM = dict(id='G', report_metric='err')")
{'id': 'G', 'report_metric': 'err'}
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from ntp_mechanics.model.errors import BadInputError

__all__ = [
    "CLAIMS",
    "CLAIM_FILE",
    "CLAIM_ID",
    "DECLARATION",
    "DEFAULTS",
    "Claim",
    "DeclarationError",
    "all_claims",
    "checked_claims",
    "claim",
    "claim_modules",
    "claim_of_file",
    "claims_in",
    "declaration_of",
    "discovered",
    "module_path",
    "registry",
    "statement_of",
    "theorems_dir",
    "trainer_claims",
]

_PREFIX = {"theorem": "claim", "fact": "fact", "conjecture": "conjecture"}
KINDS = {prefix: kind for kind, prefix in _PREFIX.items()}  # file prefix -> claim kind
_KIND_ORDER = {"theorem": 0, "fact": 1, "conjecture": 2}
# The claim-id syntax, in one place: a capital letter, an optional second one, digits
# (A, F1, C4; CX for test fixtures).  A claim module is <prefix>_<ID>_<slug>.py.
CLAIM_ID = r"[A-Z][A-Z]?[0-9]*"
CLAIM_FILE = re.compile(rf"^(claim|fact|conjecture)_({CLAIM_ID})_\w+\.py$")
DECLARATION = "CLAIM"
"""The name of the module-level literal that declares a claim."""


class DeclarationError(BadInputError):
    """A claim module whose ``CLAIM`` declaration cannot be read (exit 2)."""


@dataclass(frozen=True)
class Claim:
    """One claim as its module declares it (see the module docstring for the keys).

    ``path`` is its module's file (None for a claim met only in a run's outcomes);
    ``declared`` says whether the module holds a ``CLAIM`` literal.
    """

    id: str
    kind: str  # "theorem" | "fact" | "conjecture"
    statement: str
    section: str = ""
    report_metric: str | None = None
    limit_metric: str | None = None
    metric_doc: str = ""
    check: bool = False
    trainer: bool = False
    path: Path | None = field(default=None, compare=False, repr=False)
    declared: bool = field(default=False, compare=False, repr=False)

    @property
    def module(self) -> str | None:
        """Its module as ``<folder>/<file>`` (``theorems/claim_B_...py``), or None."""
        return None if self.path is None else f"{self.path.parent.name}/{self.path.name}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the declared keys and ``module``."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("path", "declared")} | {"module": self.module}


_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "kind": (str,), "statement": (str,), "section": (str,),
    "report_metric": (str, type(None)), "limit_metric": (str, type(None)),
    "metric_doc": (str,), "check": (bool,), "trainer": (bool,)}
DEFAULTS: dict[str, Any] = {"section": "", "report_metric": None, "limit_metric": None,
                            "metric_doc": "", "check": False, "trainer": False}
"""The value of each optional key of a declaration (``id``, ``kind`` and ``statement``
default to the file name and the module docstring)."""


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


def statement_of(claim_id: str, source: str) -> str:
    """First line of the module docstring in ``source``, without a leading ``"<id>: "``."""
    try:
        doc = ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError:
        doc = ""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    first = re.sub(rf"^{re.escape(claim_id)}\s*[:.-]\s*", "", first)
    return first or "(no module docstring)"


def declaration_of(source: str, where: str = "<source>") -> dict[str, Any] | None:
    """The ``CLAIM`` literal of a module's source (``dict(...)`` or ``{...}`` of
    literals), None when it has none or does not parse; :class:`DeclarationError`
    when the literal is not one."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        if not any(isinstance(t, ast.Name) and t.id == DECLARATION for t in targets):
            continue
        value = node.value
        try:
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                    and value.func.id == "dict" and not value.args
                    and all(k.arg for k in value.keywords)):
                out = {str(k.arg): ast.literal_eval(k.value) for k in value.keywords}
            else:
                out = ast.literal_eval(value) if value is not None else None
        except ValueError as exc:
            raise DeclarationError(f"{where}: {DECLARATION} must hold literals only ({exc})"
                                   ) from None
        if not isinstance(out, dict):
            raise DeclarationError(f"{where}: {DECLARATION} must be a dict(...) literal")
        return out
    return None


def _read(path: Path) -> Claim:
    """The claim ``path`` declares (defaults from its file name and docstring)."""
    kind, cid = claim_of_file(path.name) or ("", "")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        source = ""
    where = f"{path.parent.name}/{path.name}"
    decl = declaration_of(source, where) or {}
    unknown = sorted(set(decl) - set(_TYPES))
    if unknown:
        raise DeclarationError(f"{where}: unknown {DECLARATION} key(s) {', '.join(unknown)}; "
                               f"known: {', '.join(_TYPES)}")
    for key, value in decl.items():
        if not isinstance(value, _TYPES[key]):
            raise DeclarationError(f"{where}: {DECLARATION}[{key!r}] has the wrong type "
                                   f"({type(value).__name__})")
    if decl.get("id", cid) != cid or decl.get("kind", kind) != kind:
        raise DeclarationError(f"{where}: {DECLARATION} declares {decl.get('kind', kind)} "
                               f"{decl.get('id', cid)} but the file name says {kind} {cid}")
    values = DEFAULTS | decl | {"id": cid, "kind": kind}
    values.setdefault("statement", statement_of(cid, source))
    return Claim(**values, path=path, declared=bool(decl))


@lru_cache(maxsize=256)
def _read_cached(path: Path, stamp: tuple[int, int]) -> Claim:
    return _read(path)


def _sort_key(c: Claim) -> tuple[int, int, str]:
    return (_KIND_ORDER.get(c.kind, 3), len(c.id), c.id)


def claims_in(folder: str | Path) -> tuple[Claim, ...]:
    """The claims declared by the modules of ``folder`` (a file: itself), sorted by
    kind (theorems, facts, conjectures) and id; of two modules with one id, the first
    by name."""
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(folder.glob("*.py"))
    found: dict[str, Claim] = {}
    for path in files:
        if not CLAIM_FILE.match(path.name):
            continue
        st = path.stat()
        c = _read_cached(path, (st.st_mtime_ns, st.st_size))
        found.setdefault(c.id, c)
    return tuple(sorted(found.values(), key=_sort_key))


def __getattr__(name: str) -> Any:
    if name == "CLAIMS":  # read afresh: declarations live in the modules, not here
        return tuple(c for c in claims_in(theorems_dir()) if c.declared)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


CLAIMS: tuple[Claim, ...]
"""The package's claims that carry a ``CLAIM`` declaration, in registry order."""


def discovered(base: Path | None = None) -> list[Claim]:
    """Conjectures of ``base`` (default :func:`theorems_dir`) declared by file name and
    docstring only (no ``CLAIM`` literal) whose id the package does not declare."""
    base = theorems_dir() if base is None else base
    listed = {c.id for c in claims_in(theorems_dir()) if c.declared}
    return [c for c in claims_in(base)
            if c.kind == "conjecture" and not c.declared and c.id not in listed]


def all_claims(extra: Iterable[str | Path] = ()) -> tuple[Claim, ...]:
    """Every claim of the package's folder, then those of ``extra`` folders or files
    whose ids are new (a user's own claim modules)."""
    out = {c.id: c for c in claims_in(theorems_dir())}
    for place in extra:
        for c in claims_in(place) if Path(place).exists() else ():
            out.setdefault(c.id, c)
    return tuple(out.values())


def claim(claim_id: str, extra: Iterable[str | Path] = ()) -> Claim:
    """The claim with this id (KeyError with the known ids otherwise)."""
    known = all_claims(extra)
    for c in known:
        if c.id == claim_id:
            return c
    raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(c.id for c in known)}")


def module_path(c: Claim) -> str | None:
    """``theorems/<prefix>_<id>_<slug>.py`` of a claim (None without a module)."""
    return c.module


def claim_modules(claim_ids: Sequence[str] | None = None,
                  extra: Iterable[str | Path] = ()) -> list[Path]:
    """The module files that check these claims (every claim when None): what ``gate``
    and ``report`` run."""
    return [c.path for c in all_claims(extra)
            if c.path is not None and (claim_ids is None or c.id in claim_ids)]


def checked_claims() -> tuple[str, ...]:
    """Ids of the claims ``check`` judges on trained weights (declared ``check=True``)."""
    return tuple(c.id for c in all_claims() if c.check)


def trainer_claims() -> tuple[str, ...]:
    """Ids of the claims ``test --trainer`` judges (declared ``trainer=True``)."""
    return tuple(c.id for c in all_claims() if c.trainer)


def registry(extra: Iterable[str | Path] = ()) -> list[dict[str, Any]]:
    """Every claim (:func:`all_claims`) as a JSON-ready dict (with its module path)."""
    return [c.to_dict() for c in all_claims(extra)]

"""``ntp-mechanics report --out DIR``: every claim, the paper's experiment, figures.

Runs the claim modules of ``theorems/`` (THEORY.md: theorems A-E, facts F1-F8,
conjectures C1-C6) under pytest in a subprocess (:mod:`ntp_mechanics.app.suite_run`), then the
paper's experiment (:mod:`ntp_mechanics.app.experiment.paper`), and writes

* ``DIR/report.md`` and ``DIR/report.json`` - one row per claim: id, statement, kind,
  verdict, cases tried, worst metric, tests; the paper-reproduction section with its
  conclusions computed from the numbers; the authors' protocol (default init,
  ``W_fin(tau)``, fitted R) beside ours and their published numbers beside the suite's
  (:mod:`ntp_mechanics.app.authors`); the plan and seeds;
* PNG figures (:mod:`ntp_mechanics.app.experiment.figures`), ``DIR/paper_trials.json``
  (every curve),
  ``DIR/pytest.log`` (pytest's output) and ``DIR/conjectures/`` (the conjecture
  plugin's records and any counterexample datasets).

Sizes (``--size``; ``--profile`` is its old spelling): ``quick`` runs the claims with
the Hypothesis profile ``ci`` (10
derandomised examples per property, ``-m "not slow"``) and the paper's full grid (10
trials per configuration) with the matched-norm regularization path on 3 trials each;
``full`` uses ``thorough`` (100 examples per property, slow tests included; about
8 min for the claim modules on 2 cores) and the path on every trial.

How a row is filled: the claims are those the modules declare
(:mod:`ntp_mechanics.kernel.claims`), and a row's verdict, cases and failure follow
the one status rule ``gate`` uses too (:func:`ntp_mechanics.kernel.ledger.claim_status`,
applied to every claim by :func:`~ntp_mechanics.kernel.ledger.judge_run`).

* **Worst metric**: theorems - the largest value over cases of the error their module
  declares (``CLAIM``'s ``report_metric``) at the last scale measured and of its
  extrapolated limit (``limit_metric``); facts - none (exact checks); conjectures - the
  largest of the plugin's observed worst values.

Exit status: 0 when the report was written and no theorem or fact claim failed; 1 when
one did (verdict contradicts, a failed or erroring test, or - on a full selection - no
test run); 2 for bad input (an unusable ``--out``, ``--device cuda`` without CUDA).
Inconclusive verdicts are recorded, not errors.

Example (shell)::

    ntp-mechanics report --out report --size quick      # about 3-5 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ntp_mechanics.app.experiment.paper import PaperPlan
from ntp_mechanics.app.experiment.trial import Trial, TrialResult
from ntp_mechanics.app.suite_run import ClaimsRun, run_claims
from ntp_mechanics.kernel.claims import Claim
from ntp_mechanics.kernel.ledger import is_control, judge_run
from ntp_mechanics.kernel.realtext_setting import RealTextSetting

HELP = "run every claim and the paper's experiment; write DIR/report.md, report.json, figures"

__all__ = ["ClaimRow", "ReportPlan", "build_report", "claim_rows", "render_markdown"]

PROFILES = ("quick", "full")

# -- the plan -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportPlan:
    """What a report runs.  ``claim_ids`` None means every claim module."""

    profile: str
    hypothesis_profile: str
    paper: PaperPlan
    claim_ids: tuple[str, ...] | None = None
    jobs: int = 2
    claim_paths: tuple[str, ...] = ()  # the user's own claim modules or folders
    include_slow: bool = False
    authors_trials: int = 10  # trials per published configuration (app/authors.py)
    realtext: RealTextSetting | None = None  # the real-text section (None: left out)

    @classmethod
    def quick(cls) -> ReportPlan:
        return cls("quick", "ci", PaperPlan.quick(), realtext=RealTextSetting.quick())

    @classmethod
    def full(cls) -> ReportPlan:
        return cls("full", "thorough", PaperPlan.full(), include_slow=True,
                   realtext=RealTextSetting.full())

    @classmethod
    def tiny(cls, claim_ids: tuple[str, ...] = ("F2",)) -> ReportPlan:
        """For tests: a few claim modules, a seconds-long paper grid, one process."""
        return cls("tiny", "ci", PaperPlan.tiny(), claim_ids=claim_ids, jobs=1, authors_trials=1,
                   realtext=RealTextSetting.tiny())

    def with_options(self, seed: int, device: str, jobs: int) -> ReportPlan:
        paper = replace(self.paper, seed=seed, device=device, workers=jobs)
        return replace(self, paper=paper, jobs=jobs)


# -- one row per claim ---------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimRow:
    """The report's line for one claim (see the module docstring for the rules)."""

    id: str
    kind: str
    statement: str
    verdict: str  # consistent / contradicts / inconclusive / "held on N cases" / ...
    status: str  # consistent / contradicts / inconclusive / held / counterexample
    cases: int
    cases_detail: str
    worst: str
    tests: str
    notes: tuple[str, ...] = ()
    failed: bool = False  # counts for the exit code (theorems and facts only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"notes": list(self.notes)}


def claim_rows(run: ClaimsRun, claim_ids: Sequence[str] | None = None,
               extra: Sequence[str | Path] = ()) -> list[ClaimRow]:
    """One :class:`ClaimRow` per declared claim, in registry order, by the status rule
    the gate uses too (:func:`~ntp_mechanics.kernel.ledger.judge_run`); claims outside
    ``claim_ids`` (when given) are listed as not run (inconclusive, not failed)."""
    selection = True if claim_ids is None else tuple(claim_ids)
    evidence, statuses = judge_run(run.outcomes, run.verdicts, run.conjectures, extra,
                                   required=selection)
    rows = []
    for cid, ev in evidence.claims.items():
        selected, st = claim_ids is None or cid in claim_ids, statuses[cid]
        worst = (_worst_conjecture(ev.conjectures) if ev.claim.kind == "conjecture"
                 else _worst_metric(ev.claim, ev.verdicts))
        row = ClaimRow(cid, ev.claim.kind, ev.claim.statement, st.verdict, st.status, st.cases,
                       st.cases_detail, worst, _tests_text(ev.tests), st.notes, st.failed)
        if not selected:
            row = replace(row, notes=("not selected in this run",), failed=False)
        rows.append(row)
    return rows


def _tests_text(entries: Mapping[str, dict[str, Any]]) -> str:
    if not entries:
        return "none run"
    counts = Counter(e["outcome"] for e in entries.values())
    controls = sum(1 for n in entries if is_control(n))
    text = f"{counts['passed']}/{len(entries)} passed"
    bad = [f"{counts[k]} {k}" for k in ("failed", "error", "skipped") if counts[k]]
    if bad:
        text += f" ({', '.join(bad)})"
    return text + (f"; {controls} negative control(s)" if controls else "")


def _last(value: Any) -> float | None:
    if isinstance(value, list | tuple):
        vals = [v for v in value if isinstance(v, int | float) and math.isfinite(v)]
        return float(vals[-1]) if vals else None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _worst_metric(c: Claim, lines: list[dict[str, Any]]) -> str:
    """The largest value over cases of the metric the claim declares (``report_metric``,
    at the last scale measured) and of its extrapolated limit (``limit_metric``)."""
    if not c.report_metric:
        return "- (exact checks; no metric recorded)"
    label = c.metric_doc or c.report_metric
    vals = [v for v in (_last(x.get("metrics", {}).get(c.report_metric)) for x in lines)
            if v is not None]
    if not vals:
        return "-"
    text = f"{label}: max {max(vals):.3g} over {len(vals)} case(s)"
    if c.limit_metric:
        lims = [v for v in (_last(x.get("metrics", {}).get(c.limit_metric)) for x in lines)
                if v is not None]
        if lims:
            text += f"; extrapolated limit max {max(lims):.3g}"
    return text


def _worst_conjecture(recs: list[dict[str, Any]]) -> str:
    best: tuple[float, str] | None = None
    for r in recs:
        for label, v in (r.get("worst") or {}).items():
            if isinstance(v, int | float) and math.isfinite(v) and (best is None or v > best[0]):
                best = (float(v), label)
    return "-" if best is None else f"{best[1]}: {best[0]:.3g}"


# -- the report -----------------------------------------------------------------------------
@dataclass
class Report:
    """Everything written to ``report.md`` / ``report.json``."""

    plan: ReportPlan
    device: str
    rows: list[ClaimRow]
    claims_run: ClaimsRun
    paper_summary: dict[str, Any]
    conclusions: list[str]
    figures: dict[str, str]
    tpg_dataset: str
    tpg_name: str = ""
    seconds: float = 0.0
    started: str = ""
    notes: list[str] = field(default_factory=list)
    authors: dict[str, Any] = field(default_factory=dict)  # app/authors.py: run_authors
    real_text: dict[str, Any] = field(default_factory=dict)  # _real_text: the section's data

    @property
    def exit_code(self) -> int:
        return 1 if any(r.failed for r in self.rows if r.kind in ("theorem", "fact")) else 0

    def to_dict(self) -> dict[str, Any]:
        plan = asdict(self.plan)
        return {
            "started": self.started, "seconds": round(self.seconds, 1),
            "profile": self.plan.profile, "hypothesis_profile": self.plan.hypothesis_profile,
            "device": self.device, "seed": self.plan.paper.seed, "plan": plan,
            "exit_code": self.exit_code,
            "claims": [r.to_dict() for r in self.rows],
            "pytest": {"exit_code": self.claims_run.exit_code,
                       "seconds": round(self.claims_run.seconds, 1),
                       "command": self.claims_run.command, "log": "pytest.log"},
            "paper": {"summary": self.paper_summary, "conclusions": self.conclusions,
                      "trials_file": "paper_trials.json", "tpg_dataset": self.tpg_dataset},
            "figures": self.figures,
            "authors": self.authors,
            "real_text": self.real_text,
        }


def _tpg_trial(results: Sequence[TrialResult]) -> Trial:
    """The trial drawn for the priority-graph figure: in the configuration with the
    smallest vocabulary, middle n and shortest T (readable), the cyclic trial with the
    most cyclic edges (first by index on ties)."""
    rs = [r for r in results if r.trial.kind == "cyclic"] or list(results)
    ns = sorted({r.trial.n for r in rs})
    key = (min(r.trial.K for r in rs), ns[len(ns) // 2], min(r.trial.T for r in rs))
    pool = [r for r in rs if (r.trial.K, r.trial.n, r.trial.T) == key] or rs
    return max(pool, key=lambda r: (r.n_cyclic_edges, -r.trial.index)).trial


def build_report(plan: ReportPlan, out: Path, progress: bool | None = None) -> Report:
    """Run the claims and the paper experiment, draw the figures, write the files."""
    from ntp_mechanics.app.experiment import figures as fig
    from ntp_mechanics.app.experiment.paper import conclusions, run_paper, summarise_paper
    from ntp_mechanics.app.experiment.trial import draw_dataset

    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    out.mkdir(parents=True, exist_ok=True)
    run = run_claims(plan, out, progress)
    rows = claim_rows(run, plan.claim_ids, plan.claim_paths)
    results = run_paper(plan.paper, progress)
    (out / "paper_trials.json").write_text(
        json.dumps([r.to_dict() for r in results], indent=None) + "\n", encoding="utf-8")
    summary = summarise_paper(results)
    ds, pred, _ = draw_dataset(_tpg_trial(results))
    paths = {
        "correlation": fig.correlation_figure(results, out / fig.FIGURES["correlation"]),
        "fin_error": fig.fin_error_figure(results, out / fig.FIGURES["fin_error"]),
        "attention": fig.attention_figure(results, out / fig.FIGURES["attention"]),
        "priority_graph": fig.priority_graph_figure(pred, out / fig.FIGURES["priority_graph"]),
        "regpath": fig.regpath_error_figure([r for r in results if r.ladder_radii],
                                            out / fig.FIGURES["regpath"]),
    }
    report = Report(plan, _device_name(plan.paper.device), rows, run, summary,
                    conclusions(summary), {k: p.name for k, p in paths.items()},
                    ds.to_json(), ds.name, started=started,
                    authors=_authors_protocol(plan))
    if plan.realtext is not None:
        from ntp_mechanics.app.realtext import build_real_text

        report.real_text = build_real_text(plan.realtext, out)
    report.seconds = time.perf_counter() - t0
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=1, default=str) + "\n",
                                     encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def _authors_protocol(plan: ReportPlan) -> dict[str, Any]:
    """The authors' protocol beside ours and their published numbers (app/authors.py)."""
    from ntp_mechanics.app.authors import run_authors

    return run_authors(plan.paper, published_trials=plan.authors_trials)


def _device_name(device: str) -> str:
    from ntp_mechanics.solvers.training import resolve_device

    return str(resolve_device(device))


# -- Markdown -------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(rep: Report) -> str:
    """The Markdown report: claims table, figures, paper reproduction, plan."""
    p = rep.plan
    lines = [
        "# ntp-mechanics report", "",
        f"Generated {rep.started} in {rep.seconds:.0f} s; profile `{p.profile}` (Hypothesis "
        f"profile `{p.hypothesis_profile}`), paper seed {p.paper.seed}, training device "
        f"`{rep.device}`.  Claims: THEORY.md (Li, Huang, Ildiz, Rawat, Oymak, *Mechanics of "
        "Next Token Prediction with Self-Attention*, AISTATS 2024).", "",
        "## Claims", "",
        "| claim | statement | kind | verdict | cases tried | worst metric | tests |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rep.rows:
        lines.append("| " + " | ".join(_cell(x) for x in (
            r.id, r.statement, r.kind, f"**{r.verdict}**", f"{r.cases} ({r.cases_detail})",
            r.worst, r.tests)) + " |")
    notes = [f"- {r.id}: {n}" for r in rep.rows for n in r.notes]
    if rep.claims_run.exit_code not in (0, 1):
        notes.insert(0, f"- pytest could not run normally (exit code {rep.claims_run.exit_code}"
                        "): see `pytest.log`")
    if notes:
        lines += ["", "Notes:", *notes]
    lines += ["", _RULES, "",
              f"pytest exit code {rep.claims_run.exit_code} after "
              f"{rep.claims_run.seconds:.0f} s (output: `pytest.log`; conjecture records and "
              "counterexamples: `conjectures/`).", "",
              f"**Exit status {rep.exit_code}**: "
              + ("no theorem or fact claim failed." if rep.exit_code == 0 else
                 "some theorem or fact claim failed (see the rows marked contradicts and the "
                 "notes)."), ""]
    lines += _paper_section(rep)
    if rep.authors:
        from ntp_mechanics.app.authors import authors_markdown

        lines += ["", *authors_markdown(rep.authors)]
    if rep.real_text:
        from ntp_mechanics.app.realtext import real_text_markdown

        lines += ["", *real_text_markdown(rep.real_text)]
    return "\n".join(lines) + "\n"


_RULES = (
    "How to read the table: theorems (A-E) combine the verdicts their property tests "
    "recorded (any contradicts wins, then any inconclusive); *cases tried* counts those "
    "verdicts and *worst metric* is the largest error over cases at the last measured scale "
    "and the largest extrapolated limit (the verdicts judge the extrapolation, since every "
    "claim is a limit).  Facts (F1-F8) assert exact properties: passed tests are consistent, "
    "a failed assertion contradicts; cases tried counts decided Hypothesis examples.  "
    "Conjectures (C1-C6) are reported, not asserted.  A failed negative control (a check "
    "that no longer rejects a wrong prediction) makes the claim inconclusive.")


def _paper_section(rep: Report) -> list[str]:
    pp = rep.plan.paper
    s = rep.paper_summary
    n_trials = sum(c["trials"] for c in s["configs"])
    lines = [
        "## Paper reproduction", "",
        f"Protocol of the paper's experiments: K in {list(pp.Ks)}, d = {pp.d}, n in "
        f"{list(pp.ns)}, T in {list(pp.Ts)}, {pp.trials_per_config} trials per configuration "
        f"and kind ({n_trials} datasets), random unit-norm embeddings, normalised GD with lr "
        f"{pp.lr} for {pp.steps} iterations from W = 0 (fp64), recorded every "
        f"{pp.record_every} steps.  Trial seeds: `SeedSequence([{pp.seed}, kind, K, n, T, "
        "trial])` with kind 0 = cyclic, 1 = acyclic.", "",
        "- *cyclic* datasets: the paper's draw (tokens uniform on [K], the label uniform "
        "among the sequence's positions), redrawn until the graphs have a cyclic edge "
        "(S_fin != {0}) and an acyclic edge (W_svm != 0, so the correlation is defined);",
        "- *acyclic* datasets: the same tokens, labelled by the sequence's highest-priority "
        "token under a random total order of [K] drawn per dataset, so every edge points down "
        "that order (no cycles: S_fin = {0}, W_fin = 0).",
        "- redraws: " + ", ".join(f"{k} {v['redraws']}" for k, v in s["kinds"].items())
        + "; a draw whose predictions cannot be certified is redrawn too.",
        f"- the regularization path at matched norm R = ||W(tau)|| was solved on the first "
        f"{pp.path_trials} trial(s) of every configuration at iterations {list(pp.path_steps)};"
        " uncertified points (fp64 limits) are left out.", "",
        "Curves: mean across trials with a 10-90% quantile band.", "",
        "### What the curves show", "",
        *[f"- {c}" for c in rep.conclusions], "",
        f"![correlation]({rep.figures['correlation']})", "",
        f"![S_fin error]({rep.figures['fin_error']})", "",
        f"![attention]({rep.figures['attention']})", "",
        f"![regularization path]({rep.figures['regpath']})", "",
        f"![token-priority graph]({rep.figures['priority_graph']})", "",
        "Figures: `" + "`, `".join(rep.figures.values()) + "`.  The token-priority graph is "
        f"that of the dataset '{rep.tpg_name}' of the grid (JSON in `report.json`, "
        "`paper.tpg_dataset`).", "",
        "### Per configuration (final iteration)", "",
        "| kind | K | n | T | trials | mean corr(W, W_svm) | min corr | mean "
        "‖P_fin W - W_fin‖ | max | mean ‖W‖ | mean ‖W_svm‖ |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in s["configs"]:
        lines.append(
            f"| {c['kind']} | {c['K']} | {c['n']} | {c['T']} | {c['trials']} | "
            f"{c['corr_svm_final_mean']:.4f} | {c['corr_svm_final_min']:.4f} | "
            f"{c['fin_err_final_mean']:.3g} | {c['fin_err_final_max']:.3g} | "
            f"{c['norm_final_mean']:.1f} | {c['norm_W_svm_mean']:.2f} |")
    return lines


# -- the command ----------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="directory for report.md, report.json and the figures")
    p.add_argument("--size", choices=PROFILES, default=None,
                   help="quick (default): Hypothesis profile ci, the path on 3 trials per "
                        "configuration (3-6 min on 2 cores); full: Hypothesis profile "
                        "thorough and the path on every trial (15 min or more)")
    p.add_argument("--profile", choices=PROFILES, default=None,
                   help="deprecated spelling of --size")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where the paper experiment trains (claim modules train on the CPU)")
    p.add_argument("--seed", type=int, default=0, help="seed of the paper experiment (0)")
    p.add_argument("--jobs", type=int, default=2,
                   help="pytest-xdist workers and paper processes (default 2)")


def _size(args: argparse.Namespace) -> str:
    """``--size`` (or its old spelling ``--profile``; both must agree); default quick."""
    from ntp_mechanics.solvers.training import ConfigError

    size, old = getattr(args, "size", None), getattr(args, "profile", None)
    if size and old and size != old:
        raise ConfigError(f"--size {size} and --profile {old} disagree (--profile is the "
                          "old spelling of --size)")
    return size or old or "quick"


def run(args: argparse.Namespace) -> int:
    from ntp_mechanics.solvers.training import ConfigError, resolve_device

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    resolve_device(args.device)  # DeviceError (exit 2) before minutes of work
    size = _size(args)
    plan = ReportPlan.quick() if size == "quick" else ReportPlan.full()
    plan = plan.with_options(args.seed, args.device, args.jobs)
    rep = build_report(plan, out)
    print(f"ntp-mechanics report: wrote {out / 'report.md'} and {out / 'report.json'} "
          f"({rep.seconds:.0f} s); exit {rep.exit_code}", file=sys.stderr)
    return rep.exit_code

"""Benchmark: ``predict`` on real text, the column path beside the joint one, per case.

Corpora cut from the embedded English text (``pydoc_data.topics``) by the ``corpus``
command, every window kept (no held-out part): characters at T = 8, 16, 32 and words at
K = 1,000 and 4,000 (T = 16, the rest of the vocabulary mapped to one unknown token),
with one-hot embeddings and Gaussian ones of dimension d < K.  Each ``predict`` runs as
a child process in a *default* environment (no ``OMP_NUM_THREADS``: the package picks
its threads), timed wall-clock, with the child's peak resident memory from ``wait4``.

* ``new``: ``predict --method auto`` (the column path for one-hot embeddings; for
  d < K the feasibility screen, then the joint solver);
* ``joint``: ``predict --method joint`` (the path every dataset took before the column
  solvers), in the same run, with a timeout (``--timeout``, default 120 s): it may
  finish, time out, or be refused by the memory estimate (exit 2, reported as such).

Targets (idle machine, 2 cores): characters T = 32 under 30 s and 2 GB, certified;
words K = 1,000 under 60 s; K = 4,000 finishes with its certificate (aim: 10 min).

Run: ``python benchmarks/bench_corpus_predict.py [--cases char8 ... w4000] [--no-joint]
[--timeout 120] [--threads-compare]``; writes ``benchmarks/results/corpus_predict.json``
and ``corpus_predict.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_OUT, paired_bars, write_json

CASES = {  # name: corpus arguments
    "char8": ["--unit", "char", "--window", "8"],
    "char16": ["--unit", "char", "--window", "16"],
    "char32": ["--unit", "char", "--window", "32"],
    "char32-g32": ["--unit", "char", "--window", "32", "--embeddings", "gaussian:32"],
    "w1000": ["--unit", "word", "--window", "16", "--vocab", "1000", "--oov", "unk"],
    "w1000-g64": ["--unit", "word", "--window", "16", "--vocab", "1000", "--oov", "unk",
                  "--embeddings", "gaussian:64"],
    "w4000": ["--unit", "word", "--window", "16", "--vocab", "4000", "--oov", "unk"],
    "w4000-g256": ["--unit", "word", "--window", "16", "--vocab", "4000", "--oov", "unk",
                   "--embeddings", "gaussian:256"],
}
TARGETS_S = {"char32": 30.0, "w1000": 60.0, "w4000": 600.0}
TARGET_GB = {"char32": 2.0}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ntp_mechanics", *args]


def peak_child(cmd: list[str], timeout: float, env: dict[str, str]) -> dict:
    """Wall time, peak RSS (GB), status and stderr's last line of one child process.

    The child runs inside a fresh wrapper process, so ``RUSAGE_CHILDREN`` there is the
    child's own peak and not the largest of every child this script started.
    """
    wrapper = (
        "import resource, subprocess, sys, json, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,"
        " text=True, timeout=float(sys.argv[1]))\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': p.returncode, 'seconds': time.perf_counter() - t,"
        " 'maxrss_kb': r, 'stderr': p.stderr.strip().splitlines()[-1:]}))\n"
    )
    t0 = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, "-c", wrapper, str(timeout), *cmd], env=env,
                             capture_output=True, text=True, timeout=timeout + 30)
        if res.returncode != 0:  # the wrapper's own timeout: the child was killed
            return {"status": f"timeout ({timeout:.0f} s)",
                    "seconds": time.perf_counter() - t0, "peak_gb": None, "stderr": ""}
        info = json.loads(res.stdout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({timeout:.0f} s)", "seconds": time.perf_counter() - t0,
                "peak_gb": None, "stderr": ""}
    status = "ok" if info["rc"] == 0 else f"exit {info['rc']}"
    return {"status": status, "seconds": info["seconds"],
            "peak_gb": info["maxrss_kb"] / 1e6, "stderr": (info["stderr"] or [""])[0]}


def run_case(name: str, tmp: Path, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # default threads
    out = tmp / name
    subprocess.run(cli("corpus", *CASES[name], "--held-out", "0", "--out", str(out),
                       "--force"), check=True, capture_output=True, env=env)
    meta = json.loads((out / "corpus.json").read_text())
    ds = meta["datasets"]["train"]
    row = {"case": name, "K": meta["K"], "d": meta["d"], "windows": meta["windows"],
           "edges": meta["edges"], "cyclic_edges": meta["cyclic_edges"]}
    pred = str(out / "pred.npz")
    row["new"] = peak_child(cli("predict", ds, "--out", pred), args.timeout_new, env)
    if row["new"]["status"] == "ok":
        with __import__("numpy").load(pred) as z:
            summary = json.loads(str(z["summary"]))
        row["certificates"] = summary["certificates"]
        row["phases"] = summary["solver"]["phases"]
    if args.threads_compare:
        one = env | {"OMP_NUM_THREADS": "1"}
        row["new_omp1"] = peak_child(cli("predict", ds, "--out", pred), args.timeout_new, one)
    if not args.no_joint:
        row["joint"] = peak_child(cli("predict", ds, "--out", str(out / "joint.npz"),
                                      "--method", "joint"), args.timeout, env)
    print(json.dumps(row))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--timeout", type=float, default=120.0, help="joint path limit (s)")
    ap.add_argument("--timeout-new", type=float, default=900.0, help="new path limit (s)")
    ap.add_argument("--no-joint", action="store_true", help="skip the joint path")
    ap.add_argument("--threads-compare", action="store_true",
                    help="also run the new path with OMP_NUM_THREADS=1")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_case(c, Path(tmp), args) for c in args.cases]
    verdicts = {}
    for r in rows:
        if r["case"] in TARGETS_S:
            ok = r["new"]["status"] == "ok" and r["new"]["seconds"] <= TARGETS_S[r["case"]]
            if r["case"] in TARGET_GB:
                ok = ok and r["new"]["peak_gb"] <= TARGET_GB[r["case"]]
            verdicts[r["case"]] = "met" if ok else "missed"
    write_json(args.out, "corpus_predict", {"rows": rows, "targets": verdicts,
                                            "targets_s": TARGETS_S, "targets_gb": TARGET_GB})
    done = [r for r in rows if "joint" in r]
    if done:
        paired_bars(args.out, "corpus_predict", [r["case"] for r in done],
                    {"joint (s)": [r["joint"]["seconds"] for r in done],
                     "new (s)": [r["new"]["seconds"] for r in done]},
                    "seconds (wall, child process)",
                    "predict on the embedded corpus (timeouts and refusals at their time)")


if __name__ == "__main__":
    main()

"""Benchmark: ``ntp-mechanics corpus`` on the embedded corpus, the sizes of real text.

Character level at T = 8, 16, 32 (every token kept) and word level at K = 1,000 and
4,000 (T = 16), one-hot embeddings, each as the whole command in a fresh interpreter:
wall time (interpreter start included), the command's own phase timings and peak
resident memory, and the figures of ``corpus.json`` (windows, kept fraction, K, distinct
priority edges split cyclic/acyclic, largest SCC).  No baseline exists (the command is
new); these figures are the reference for later runs.

Run: ``python benchmarks/bench_corpus.py``; writes ``benchmarks/results/corpus.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_OUT, write_json

CONFIGS = [
    ("char", 8, None), ("char", 16, None), ("char", 32, None),
    ("word", 16, 1000), ("word", 16, 4000),
]
KEYS = ("K", "d", "windows_total", "windows", "kept_fraction", "kept_fraction_of_all",
        "distinct_windows", "train_windows", "edges", "cyclic_edges", "acyclic_edges",
        "largest_scc", "priority_depth", "timings_s", "peak_rss_mb")


def run(unit: str, T: int, K: int | None, tmp: Path) -> dict:
    out = tmp / f"{unit}-{T}-{K}"
    cmd = [sys.executable, "-m", "ntp_mechanics", "corpus", "--unit", unit, "--window",
           str(T), "--out", str(out)] + (["--vocab", str(K)] if K else [])
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    doc = json.loads((out / "corpus.json").read_text())
    row = {"unit": unit, "T": T, "vocab": K, "wall_s": wall, **{k: doc[k] for k in KEYS}}
    print(f"{unit:4} T={T:2} vocab={K!s:5}: K={doc['K']:5} windows={doc['windows']:7} "
          f"kept={doc['kept_fraction']:.3f} edges={doc['edges']:7} (cyclic "
          f"{doc['cyclic_edges']}, acyclic {doc['acyclic_edges']}) largest SCC "
          f"{doc['largest_scc']:4}; {wall:.1f} s, {doc['peak_rss_mb']:.0f} MB")
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(u, T, K, Path(tmp)) for u, T, K in CONFIGS]
    write_json(args.out, "corpus", {"rows": rows})


if __name__ == "__main__":
    main()

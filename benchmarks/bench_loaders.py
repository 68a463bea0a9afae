"""Benchmark: the JSON and ``.npz`` dataset loaders side by side at 10^4 to 10^6 windows.

Each instance is a corpus-like dataset (K = 100 tokens drawn from a Zipf law, windows
of T = 32, label drawn from its own window, counts from 1 to 5, one-hot embeddings),
written once in each format.  Each load runs in a fresh interpreter (``load_dataset``,
the function every command calls) and reports its wall time and its peak resident
memory above the interpreter's own after imports (``VmHWM``, Linux), so the two formats
are measured alike.  The baseline is the JSON format; the target (issue: real text in) is 10^6
windows loaded in seconds.

Run: ``python benchmarks/bench_loaders.py [--sizes 10000 100000 1000000] [--repeats 2]``;
writes ``benchmarks/results/loaders.json`` and ``loaders.png``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import DEFAULT_OUT, paired_bars, write_json

from ntp_mechanics.model.dataset import Dataset

CHILD = """
import json, sys, time
from ntp_mechanics.model.dataset import load_dataset

def hwm_mb():  # VmHWM: this process's peak RSS (ru_maxrss would include the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

base = hwm_mb()
t0 = time.perf_counter()
ds = load_dataset(sys.argv[1])
t = time.perf_counter() - t0
print(json.dumps({"seconds": t, "peak_mb": hwm_mb() - base, "n": ds.n}))
"""


def instance(n: int, seed: int = 0, K: int = 100, T: int = 32) -> Dataset:
    rng = np.random.default_rng(seed)
    tokens = (rng.zipf(1.4, (n, T)) - 1) % K
    labels = tokens[np.arange(n), rng.integers(0, T, n)]
    return Dataset.from_matrix(np.eye(K), tokens, None, labels, rng.integers(1, 6, n),
                               f"zipf-{n}")


def load_child(path: Path, repeats: int) -> dict:
    best: dict = {}
    for _ in range(repeats):
        res = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True,
                             capture_output=True, text=True)
        row = json.loads(res.stdout)
        if not best or row["seconds"] < best["seconds"]:
            best = row
    return best


def run_size(n: int, repeats: int, tmp: Path) -> dict:
    ds = instance(n)
    row: dict = {"windows": n, "T": ds.max_len, "K": ds.K}
    for fmt in ("json", "npz"):
        path = tmp / f"ds-{n}.{fmt}"
        t0 = time.perf_counter()
        ds.save(path)
        row[f"{fmt}_save_s"] = time.perf_counter() - t0
        row[f"{fmt}_file_mb"] = path.stat().st_size / 2**20
        got = load_child(path, repeats)
        assert got["n"] == n
        row[f"{fmt}_load_s"] = got["seconds"]
        row[f"{fmt}_load_peak_mb"] = got["peak_mb"]
        path.unlink()
    row["load_speedup"] = row["json_load_s"] / row["npz_load_s"]
    print(f"n={n:>8}: load json {row['json_load_s']:7.2f} s {row['json_load_peak_mb']:7.0f} MB"
          f" | npz {row['npz_load_s']:6.2f} s {row['npz_load_peak_mb']:6.0f} MB"
          f" | save json {row['json_save_s']:6.2f} s npz {row['npz_save_s']:5.2f} s")
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_size(n, args.repeats, Path(tmp)) for n in args.sizes]
    write_json(args.out, "loaders", {"rows": rows})
    paired_bars(args.out, "loaders", [f"{r['windows']:.0e}" for r in rows],
                {"JSON": [r["json_load_s"] for r in rows],
                 ".npz": [r["npz_load_s"] for r in rows]},
                "load time (s)", "load_dataset: JSON vs .npz")


if __name__ == "__main__":
    main()

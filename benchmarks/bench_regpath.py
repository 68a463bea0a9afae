"""Benchmark: the regularization path, matrix-free Newton against the exponential cone.

Instances are character windows of the standard library's help text
(``pydoc_data.topics``: real English, no download), one-hot embeddings, the K - 1 most
frequent characters plus one id for the rest; the path is solved at the radii ``check``
uses for weights of the paper's protocol (``||W|| = 35``: R = 35/8, 35/4, 35/2, 35).
Each instance runs both methods side by side in one process (the conic one only where
``--conic-max`` windows allows it: it did not finish in 15 minutes at K = 30, 3,000
windows), reports time, peak traced memory, how many points each certified and the
largest distance between their certified points.

Target: K = 30, T = 8, 3,000 windows certified in under 10 s on 2 cores.

Run: ``python benchmarks/bench_regpath.py [--sizes 12:6:300 30:8:3000] [--conic-max 400]
[--name regpath]``; writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import collections
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _common import DEFAULT_OUT, write_json

from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.regpath import regularization_path

RADII = (35 / 8, 35 / 4, 35 / 2, 35.0)
TARGET_SECONDS = 10.0


def char_dataset(K: int, T: int, n: int, seed: int = 0) -> Dataset:
    from pydoc_data.topics import topics

    text = "".join(topics[k] for k in sorted(topics))
    vocab = [c for c, _ in collections.Counter(text).most_common(K - 1)]
    idx = {c: i for i, c in enumerate(vocab)}
    toks = [idx.get(c, K - 1) for c in text[: 60 * n]]
    seen: dict = {}
    for i in range(len(toks) - T):
        w, y = tuple(toks[i : i + T]), toks[i + T]
        if y in w:
            seen.setdefault((w, y), None)
    items = list(seen)
    np.random.default_rng(seed).shuffle(items)
    return Dataset.from_arrays(np.eye(K), items[:n])


def run(ds: Dataset, method: str) -> dict:
    tracemalloc.start()
    t0 = time.perf_counter()
    pts = regularization_path(ds, RADII, method=method)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": seconds, "peak_MB": peak / 2**20,
            "certified": sum(p.certified for p in pts), "points": pts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["12:6:300", "20:8:1000", "30:8:3000"],
                    help="K:T:windows per instance")
    ap.add_argument("--conic-max", type=int, default=400,
                    help="run the exponential-cone baseline up to this many windows")
    ap.add_argument("--name", default="regpath")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    rows = []
    for size in args.sizes:
        K, T, n = (int(x) for x in size.split(":"))
        ds = char_dataset(K, T, n)
        row: dict = {"K": K, "T": T, "windows": ds.n}
        newton = run(ds, "newton")
        row["newton"] = {k: v for k, v in newton.items() if k != "points"}
        if ds.n <= args.conic_max:
            conic = run(ds, "conic")
            row["conic"] = {k: v for k, v in conic.items() if k != "points"}
            row["max_distance"] = max(
                (float(np.linalg.norm(a.W - b.W)) for a, b in
                 zip(newton["points"], conic["points"], strict=True)
                 if a.certified and b.certified), default=None)
        rows.append(row)
        print(row)
    big = [r for r in rows if (r["K"], r["T"], r["windows"]) == (30, 8, 3000)]
    if big:
        ok = big[0]["newton"]["seconds"] <= TARGET_SECONDS and big[0]["newton"]["certified"] == 4
        print(f"target K=30, T=8, 3000 windows certified in <= {TARGET_SECONDS} s: "
              f"{'met' if ok else 'NOT met'}")
    write_json(args.out, args.name, {"radii": RADII, "rows": rows})


if __name__ == "__main__":
    main()

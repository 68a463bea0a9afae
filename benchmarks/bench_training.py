"""Benchmark: training throughput, one dataset at a time against batched, side by side.

Throughput is dataset-steps per second (datasets x normalised-GD steps / wall clock).
Workloads:

* ``paper`` (default): the paper reproduction's 240 datasets - K in {6, 8}, d = 8,
  n in {4, 6, 10}, T in {4, 6}, 20 datasets per configuration (cyclic and acyclic
  kinds, 10 trials each, in the reproduction) - 4000 steps, lr 0.01, from zero.
* ``--count N``: N datasets of one shape (``--shape K d n T``, default the paper's
  largest, 8 8 10 6), e.g. 1000 and 10000 on a GPU.

For each device (``--devices cpu cuda``; cuda is skipped when absent) the batched run
trains every dataset in one :func:`ntp_mechanics.solvers.training.train_batch` call; the
one-at-a-time baseline runs :func:`train` on the first ``--single`` datasets (all of them
by default) and its throughput is per dataset-step, so a sample measures the same rate.
The final iterates of the sampled datasets are compared (batched vs one at a time).

Target (idle machine): batched CPU >= 5x one at a time on the paper workload;
on an H200, 10^4 datasets x 4000 steps in under 5 minutes.

Run: ``python benchmarks/bench_training.py [--steps 4000] [--count N --shape 8 8 10 6]
[--single M] [--devices cpu cuda] [--threads 1] [--name training]``;
writes ``benchmarks/results/<name>.json`` and ``<name>.png``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from _common import DEFAULT_OUT, paired_bars, write_json

from ntp_mechanics.generators.seeded import paper_dataset
from ntp_mechanics.model.dataset import Dataset
from ntp_mechanics.solvers.training import TrainConfig, train, train_batch

TARGET_CPU_SPEEDUP = 5.0
PAPER_GRID = list(itertools.product((6, 8), (4, 6, 10), (4, 6)))  # (K, n, T), d = 8


def workload(args: argparse.Namespace) -> list[Dataset]:
    if args.count:
        K, d, n, T = args.shape
        return [paper_dataset(seed, K, d, n, T) for seed in range(args.count)]
    return [
        paper_dataset(1000 * c + i, K, 8, n, T)
        for c, (K, n, T) in enumerate(PAPER_GRID)
        for i in range(args.per_config)
    ]


def run_device(
    device: str, datasets: list[Dataset], args: argparse.Namespace
) -> tuple[dict, list[np.ndarray]]:
    cfg = TrainConfig(steps=args.steps, device=device)
    single = datasets[: args.single] if args.single else datasets
    t0 = time.perf_counter()
    batch = train_batch(datasets, cfg)
    t_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = [train(ds, cfg) for ds in single]
    t_single = time.perf_counter() - t0
    diff = max(float(np.abs(a.W - b.W).max()) for a, b in zip(alone, batch, strict=False))
    row = {
        "device": batch[0].device,
        "datasets": len(datasets),
        "steps": args.steps,
        "batched_s": t_batch,
        "batched_dataset_steps_per_s": len(datasets) * args.steps / t_batch,
        "single_datasets_timed": len(single),
        "single_s": t_single,
        "single_dataset_steps_per_s": len(single) * args.steps / t_single,
        "max_abs_diff_final_W": diff,
    }
    row["speedup"] = row["batched_dataset_steps_per_s"] / row["single_dataset_steps_per_s"]
    print(
        f"{row['device']:7s} {len(datasets):6d} datasets x {args.steps} steps: batched "
        f"{t_batch:8.2f} s ({row['batched_dataset_steps_per_s']:.3g} dataset-steps/s) | one at "
        f"a time {row['single_dataset_steps_per_s']:.3g} dataset-steps/s on {len(single)} | "
        f"speed-up {row['speedup']:6.1f}x | max |dW| {diff:.1e}"
    )
    return row, [r.W for r in batch]


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--count", type=int, default=0, help="N datasets of --shape (0: paper)")
    ap.add_argument(
        "--shape", type=int, nargs=4, default=[8, 8, 10, 6], metavar=("K", "d", "n", "T")
    )
    ap.add_argument("--per-config", type=int, default=20, help="paper workload: per (K, n, T)")
    ap.add_argument("--single", type=int, default=0, help="time train on the first M (0: all)")
    ap.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads on the CPU")
    ap.add_argument("--name", default="training")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    datasets = workload(args)
    rows, finals = [], []
    for device in args.devices:
        if device.startswith("cuda") and not torch.cuda.is_available():
            print(f"{device}: CUDA not available, skipped")
            continue
        row, W = run_device(device, datasets, args)
        rows.append(row)
        finals.append(W)
    if len(finals) == 2:  # e.g. CUDA against CPU, every dataset's final W
        rows[1]["max_abs_diff_vs_" + rows[0]["device"]] = agree = max(
            float(np.abs(a - b).max()) for a, b in zip(*finals, strict=True)
        )
        print(f"batched {rows[1]['device']} vs {rows[0]['device']}: max |dW| {agree:.1e}")
    cpu = [r for r in rows if r["device"] == "cpu"]
    met = bool(cpu and cpu[0]["speedup"] >= TARGET_CPU_SPEEDUP)
    write_json(args.out, args.name, {
        "workload": "paper" if not args.count else {"count": args.count, "shape": args.shape},
        "threads": args.threads, "target_cpu_speedup": TARGET_CPU_SPEEDUP,
        "cpu_target_met": met, "rows": rows,
    })
    paired_bars(
        args.out, args.name, [f"{r['device']}\n{r['datasets']} datasets" for r in rows],
        {"one at a time": [r["single_dataset_steps_per_s"] for r in rows],
         "train_batch": [r["batched_dataset_steps_per_s"] for r in rows]},
        "dataset-steps / s", f"normalised GD, {args.steps} steps",
    )

if __name__ == "__main__":
    main()

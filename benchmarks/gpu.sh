#!/usr/bin/env bash
# One prepared run on a bare GPU machine: install what is missing, check that
# CPU and CUDA iterates agree (pytest -m gpu), then the batched-training benchmark at
# 10^3 and 10^4 datasets of the paper's size (K = 8, d = 8, n = 10, T = 6, 4000
# normalised-GD steps).  Budget: under 8 minutes on an H200 (torch with CUDA installed).
#
# Usage (from anywhere; it cds to the checkout):
#   bash benchmarks/gpu.sh            # the real run; results under $OUT (default
#                                     # benchmarks/results, or $OUT/... when $OUT is set)
#   bash benchmarks/gpu.sh --dry-run  # CPU only, tiny sizes, no install: checks the plumbing
#
# Wheels: the GPU machine has no internet.  If a .whl/ folder exists at the checkout's
# root, missing Python packages are installed from it only (pip --no-index); build it
# here with benchmarks/gpu_wheels.sh.  torch is never installed by this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
PY="${PYTHON:-python3}"
RESULTS="${OUT:-benchmarks/results}"
mkdir -p "$RESULTS"
LOG="$RESULTS/gpu_run.log"
: > "$LOG"
say() { echo "[gpu.sh $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }
START=$SECONDS
PLUGIN=()

if [[ $DRY -eq 1 ]]; then
    COUNTS="20 40"; STEPS=50; SINGLE=3
    PY="${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3 )}"
else
    COUNTS="1000 10000"; STEPS=4000; SINGLE=5
fi

# -- 1. environment ------------------------------------------------------------------
say "python: $($PY --version 2>&1); dry run: $DRY"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
    | tee -a "$LOG"
if [[ $DRY -eq 0 ]]; then
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv \
        | tee -a "$LOG" || true
    # What the CUDA tests and the training benchmark import (not cvxpy, scipy or networkx;
    # matplotlib is optional: without it the benchmark writes JSON only).
    missing=()
    for pair in numpy:numpy pytest:pytest hypothesis:hypothesis tqdm:tqdm \
                setuptools:setuptools matplotlib:matplotlib; do
        mod="${pair%%:*}"; dist="${pair#*:}"
        "$PY" -c "import $mod" 2>/dev/null || missing+=("$dist")
    done
    PIP=("$PY" -m pip install -q --disable-pip-version-check)
    if [[ ${#missing[@]} -gt 0 ]]; then
        say "installing: ${missing[*]}"
        if [[ -d .whl ]]; then
            for dist in "${missing[@]}"; do  # one by one: a wheel not carried is not fatal
                "${PIP[@]}" --no-index --find-links .whl "$dist" 2>&1 | tee -a "$LOG" \
                    || say "could not install $dist from .whl/"
            done
        else
            "${PIP[@]}" "${missing[@]}" 2>&1 | tee -a "$LOG" || say "pip install failed"
        fi
    fi
    if ! "$PY" -c "import ntp_mechanics.solvers.training" 2>/dev/null; then
        say "installing ntp-mechanics (no dependencies, no build isolation)"
        if ! "${PIP[@]}" --no-deps --no-build-isolation -e . 2>&1 | tee -a "$LOG"; then
            # Fallback without setuptools: the installed layout, copied into a site dir
            # (generators/, solvers/, theorems/ live under ntp_mechanics/ when installed).
            SITE="$(mktemp -d)"
            cp -r ntp_mechanics "$SITE/"
            cp -r generators solvers theorems "$SITE/ntp_mechanics/"
            export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
            PLUGIN=(-p ntp_mechanics.app.plugin)
            say "using a copied package under $SITE"
        fi
    fi
    "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA')"
fi
say "setup done after $((SECONDS - START)) s"

# -- 2. CUDA tests: CPU and CUDA iterates agree ------------------------------------------
say "pytest -m gpu"
# tests/test_train_batch.py needs only numpy, torch, pytest and hypothesis; it checks
# train and train_batch on CUDA against the CPU.
timeout 240 "$PY" -m pytest -q -p no:cacheprovider "${PLUGIN[@]}" --hypothesis-profile=ci \
    -m gpu -rs tests/test_train_batch.py 2>&1 | tee -a "$LOG"
say "tests done after $((SECONDS - START)) s"

# -- 3. batched-training benchmark ------------------------------------------------------
# CPU side by side at 10^3 only (10^4 x 4000 steps batched on one CPU thread: ~4 min)
devices_for() {
    if [[ $DRY -eq 1 ]]; then echo cpu; elif [[ $1 -le 1000 ]]; then echo "cuda cpu"; else echo cuda; fi
}
for count in $COUNTS; do
    DEVICES="$(devices_for "$count")"
    say "bench_training: $count datasets x $STEPS steps on $DEVICES"
    timeout 300 "$PY" benchmarks/bench_training.py --count "$count" --shape 8 8 10 6 \
        --steps "$STEPS" --single "$SINGLE" --devices $DEVICES --name "gpu_$count" \
        --out "$RESULTS" 2>&1 | tee -a "$LOG"
    if [[ $DRY -eq 0 && $((SECONDS - START)) -gt 360 ]]; then
        say "stopping early to stay inside the 8-minute budget"; break
    fi
done
say "all done after $((SECONDS - START)) s; results in $RESULTS"

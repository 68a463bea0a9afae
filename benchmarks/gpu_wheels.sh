#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with the wheels benchmarks/gpu.sh may need on a bare GPU
# machine (CPython 3.12, manylinux x86_64, no internet, torch preinstalled), pinned by
# ci/constraints.txt.  torch and its CUDA libraries are never downloaded.  The device
# tool carries at most 64 MiB (about 25 MiB for the default set):
#   bash benchmarks/gpu_wheels.sh                      # what gpu.sh needs
#   bash benchmarks/gpu_wheels.sh matplotlib           # add the PNG (about 20 MiB more)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-.venv/bin/python}"
PKGS=("$@")
if [[ ${#PKGS[@]} -eq 0 ]]; then
    PKGS=(numpy pytest hypothesis tqdm setuptools)  # what gpu.sh needs; matplotlib optional
fi
mkdir -p .whl
"$PY" -m pip download -q --disable-pip-version-check -d .whl -c ci/constraints.txt \
    --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any "${PKGS[@]}"
du -sh .whl

#!/usr/bin/env bash
# The README's test command: install everything into a virtual environment (CPU torch
# pinned by ci/constraints.txt) and run the whole suite with the `ci` Hypothesis profile.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${NTP_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c ci/constraints.txt -e '.[dev]'
"$venv/bin/ruff" check .
# loadgroup: tests marked xdist_group share one worker (tests/test_installed.py builds
# one virtual environment for all its tests); every other test is distributed as usual
exec "$venv/bin/python" -m pytest --hypothesis-profile=ci -n 2 --dist loadgroup "$@"

#!/usr/bin/env bash
# The README's test command: install everything into a virtual environment (CPU torch
# pinned by ci/constraints.txt), then lint, build the documentation, build and check
# the package, and run the whole suite with the `ci` Hypothesis profile.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${NTP_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c ci/constraints.txt -e '.[dev]'
"$venv/bin/ruff" check .
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# The documentation site, strict: a broken link, a page missing from the nav or an API
# reference that does not resolve fails.  Never -q: it hides the warnings strict counts.
if ! NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true "$venv/bin/python" -m mkdocs build \
        --strict --site-dir "$scratch/site" > "$scratch/docs.log" 2>&1; then
    grep -v '^INFO' "$scratch/docs.log" >&2
    echo "ci/test.sh: the documentation build failed (mkdocs build --strict)" >&2
    exit 1
fi
# The package as an index would receive it: sdist and wheel, metadata and README checked
"$venv/bin/python" -m build --no-isolation --outdir "$scratch/dist" . > "$scratch/build.log" 2>&1 \
    || { cat "$scratch/build.log" >&2; exit 1; }
"$venv/bin/python" -m twine check --strict "$scratch"/dist/*
# loadgroup: tests marked xdist_group share one worker (tests/test_installed.py builds
# one virtual environment for all its tests); every other test is distributed as usual
"$venv/bin/python" -m pytest --hypothesis-profile=ci -n 2 --dist loadgroup "$@"

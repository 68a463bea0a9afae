"""The benchmark scripts parse (they are run by the lead, never timed in tests).

``benchmarks/gpu.sh`` runs on a GPU machine this suite may never see: ``bash -n`` at
least proves it parses; ``bash benchmarks/gpu.sh --dry-run`` exercises it on the CPU.
"""

from __future__ import annotations

import py_compile
import shutil
import subprocess
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.sh")))
def test_shell_scripts_parse(script: str) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    res = subprocess.run([bash, "-n", str(BENCH / script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_python_scripts_compile(script: str) -> None:
    py_compile.compile(str(BENCH / script), doraise=True)


def test_gpu_script_has_the_issue_sizes() -> None:
    text = (BENCH / "gpu.sh").read_text()
    assert 'COUNTS="1000 10000"' in text and "STEPS=4000" in text and "--shape 8 8 10 6" in text

"""The cpu_sim benchmark entry point runs (tiny sizes; not a benchmark, no timing asserted)."""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_benchmark_modules_compile():
    for p in [BENCH / "run_cpu_sim.py", *sorted((BENCH / "cpu_sim").glob("*.py"))]:
        py_compile.compile(str(p), doraise=True)


def test_run_cpu_sim_quick_smoke():
    r = subprocess.run([sys.executable, str(BENCH / "run_cpu_sim.py"), "--quick",
                        "--sections", "tasks"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "machine: nproc=" in r.stdout and "tasks/ms" in r.stdout


def test_run_cpu_sim_flash_quick_smoke():
    r = subprocess.run([sys.executable, str(BENCH / "run_cpu_sim.py"), "--quick",
                        "--sections", "flash"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "flash attention B=1 H=1 S=128 D=64" in r.stdout


def test_run_cpu_sim_plan_quick_smoke():
    r = subprocess.run([sys.executable, str(BENCH / "run_cpu_sim.py"), "--quick",
                        "--sections", "plan"], capture_output=True, text=True, timeout=180,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert "task-generation plan" in r.stdout and "| 1 x 2 x 2" in r.stdout

"""Every ``examples/*.py`` runs: its ``main()`` builds, runs and checks against numpy.

Examples are imported by path (they are scripts, not a package), each under a unique module
name, and ``main()`` is called with its defaults. The session build cache (tests/conftest.py)
keeps repeated runs cheap.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"pto_wsp_example_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_expected_examples_exist():
    names = {p.stem for p in SCRIPTS}
    assert {"rmsnorm", "tiled_matmul", "softmax", "attention_tile", "moe_routing"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_main_runs_and_checks(path: Path, capsys):
    mod = _load(path)
    assert mod.__doc__ and mod.__doc__.strip(), f"{path.name} needs a module docstring"
    assert callable(getattr(mod, "main", None)), f"{path.name} needs a main()"
    mod.main()  # asserts its own tolerance against numpy
    out = capsys.readouterr().out
    assert "tasks=" in out and "total_cycles=" in out


def test_readme_demo_runs_as_a_script():
    """The quick start is run the way the README says: ``python examples/rmsnorm.py``."""
    r = subprocess.run([sys.executable, str(EXAMPLES / "rmsnorm.py")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "total_cycles=" in r.stdout

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

import numpy as np
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


def _example_workloads():
    """Each example's workload at its main()'s sizes (data irrelevant to cycles)."""
    rng = np.random.default_rng(0)
    rms = _load(EXAMPLES / "rmsnorm.py")
    yield "rmsnorm", rms.rmsnorm()
    X = np.ones((1024, 256), np.float32)
    yield "softmax", _load(EXAMPLES / "softmax.py").build(X, np.zeros_like(X))
    A = np.ones((256, 256), np.float32)
    yield "tiled_matmul", _load(EXAMPLES / "tiled_matmul.py").build(A, A, np.zeros_like(A))
    Q = np.ones((4, 8, 64, 32), np.float32)
    yield "attention_tile", _load(EXAMPLES / "attention_tile.py").build(Q, Q, Q, np.zeros_like(Q))
    moe = _load(EXAMPLES / "moe_routing.py")
    gates = rng.random((32, 16, 8)).astype(np.float32)
    indptr, indices = moe.route(gates, 2)
    x, w = np.ones((32, 16, 64), np.float32), np.ones((8, 64, 64), np.float32)
    g = np.ones((32, 8, 16, 1), np.float32)
    yield "moe_routing", moe.build(x, w, w, g, np.zeros_like(x), indptr, indices)


# v9-compatible cycles (cost model v9, v9_compat timing, 4 AICPUs), by hand from
# docs/tile-library.md "Model 0" and docs/runtime.md "v9 compatibility". Independent tasks of
# one parallel loop spread evenly: n tasks of c cycles take n/4 * c.
EXAMPLE_V9_CYCLES = {
    # 16x128: TLOAD 2048, TMUL 2048, TROWSUM 16, TMULS 16, TRSQRT 16, TROWEXPANDMUL 2048,
    # TSTORE 2048 = 8240; 4 x 8 tasks -> 8 per AICPU: 8 * 8240
    "rmsnorm": 8 * 8240,
    # 16x256: TLOAD 4096, TROWMAX 16, TROWEXPANDSUB 4096, TEXP 4096, TROWSUM 16,
    # TROWEXPANDDIV 4096, TSTORE 4096 = 20512; 64 tasks -> 16 per AICPU
    "softmax": 16 * 20512,
    # 32^3: TLOAD a, b, c 3 * 1024 + TMATMUL_ACC 32768 + TSTORE 1024 = 36864 = c, no moves
    # (loaded operands, the result only stored). 64 output tiles, each a P.seq chain of 8:
    # the in-order issue clock lets a chain start only with the previous chain's last step,
    # so chains overlap by one step: 8c + 63 * 7c = 449c
    "tiled_matmul": 449 * 36864,
    # q 64x32, kt 32x64, v 64x32: TLOAD q, kt, v 3 * 2048; TMATMUL 64*32*64 = 131072 + move
    # of its result (read by TMULS) 64*64 = 4096; TMULS 4096; TROWMAX 64; TROWEXPANDSUB 4096;
    # TEXP 4096; TROWSUM 64; TROWEXPANDDIV 4096; TMATMUL 64*64*32 = 131072 + move of its
    # computed left operand 4096; TSTORE 2048 = 295040; 32 tasks -> 8 per AICPU
    "attention_tile": 8 * 295040,
    # x 16x64, w1/w2 64x64: TLOAD x 1024, w1 4096, w2 4096, g 16, y 1024; TMATMUL 16*64*64
    # = 65536 twice; moves: result 1 (read by TRELU) 1024, computed operand h 1024, result 2
    # (read by TROWEXPANDMUL) 1024; TRELU 1024, TROWEXPANDMUL 1024, TADD 1024; TSTORE 1024
    # = 148496; 32 blocks x top-2 = 64 tasks -> 16 per AICPU
    "moe_routing": 16 * 148496,
}


def test_example_v9_cycles_are_pinned():
    got = {name: w.compile(v9_compat=True).run().total_cycles
           for name, w in _example_workloads()}
    assert got == EXAMPLE_V9_CYCLES


def test_tiled_matmul_keeps_the_cube_lanes_busy():
    """Independent K chains fill each other's idle time on the simulated cube lanes: the
    makespan is within 10% of the work spread evenly over them (issue 13; in submission
    order only it was 2.5x the ideal)."""
    A = np.random.default_rng(0).standard_normal((256, 256), np.float32)
    C = np.zeros_like(A)
    s = _load(EXAMPLES / "tiled_matmul.py").build(A, A, C).compile(num_threads=2).run()
    cube = [ln for ln in s.lanes if "cube" in ln.name]
    assert sum(ln.busy_cycles for ln in cube) / (len(cube) * s.total_cycles) >= 0.9

"""Saying what is happening: a line per compile (interactive or PTO_WSP_VERBOSE=1, quiet by
default elsewhere), PTO_WSP_REBUILD, and `pto-wsp cache info|clear`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np
    from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

    @kernel
    def triple(x: In[Tile[2, 8, DType.F32]], y: Out[Tile[2, 8, DType.F32]]):
        pto.store(y, pto.mul(x, 3.0))

    X = Tensor(data=np.ones((2, 2, 8), np.float32))
    Y = Tensor(data=np.zeros((2, 2, 8), np.float32))
    n = Dense[2]

    @workload
    def logged():
        for i in P(n):
            triple[i](x=X[i], y=Y[i])

    prog = logged().compile()
    print("COMPILED" if prog.stats.compiled else "CACHED")
""")


def run(cache, script=SCRIPT, args=("-c",), **env):
    e = {k: v for k, v in os.environ.items()
         if k not in ("PTO_WSP_VERBOSE", "PTO_WSP_REBUILD", "PYTEST_CURRENT_TEST")}
    e.update(PTO_WSP_CACHE_DIR=str(cache), **env)
    argv = [sys.executable, *args] + ([script] if args == ("-c",) else [])
    return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=300)


def test_compile_lines_rebuild_and_cache_commands(tmp_path):
    out = run(tmp_path, PTO_WSP_VERBOSE="1")
    assert out.stdout.strip() == "COMPILED", out.stderr
    assert "pto_wsp: compiling logged for cpu_sim ..." in out.stderr
    assert "pto_wsp: compiled logged for cpu_sim in " in out.stderr
    out = run(tmp_path, PTO_WSP_VERBOSE="1")
    assert out.stdout.strip() == "CACHED" and "logged for cpu_sim (cached, " in out.stderr
    assert "compiling" not in out.stderr
    out = run(tmp_path)  # not a terminal and no knob: quiet
    assert out.stdout.strip() == "CACHED" and out.stderr == ""
    out = run(tmp_path, PTO_WSP_REBUILD="1")
    assert out.stdout.strip() == "COMPILED", out.stderr

    info = run(tmp_path, args=("-m", "pto_wsp", "cache", "info"))
    assert f"directory: {tmp_path}" in info.stdout
    assert "entries:   2 (0 failed builds kept)" in info.stdout  # the program + the runtime
    cleared = run(tmp_path, args=("-m", "pto_wsp", "cache", "clear"))
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    info = run(tmp_path, args=("-m", "pto_wsp", "cache", "info"))
    assert "entries:   0" in info.stdout and "size:      0.0 MiB" in info.stdout
    assert run(tmp_path).stdout.strip() == "COMPILED"

"""Trace exports: the DOT size limit is an argument that says when it is hit; trace
directories do not outlive their program or the process."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import (DType, Dense, ExecutionError, In, Out, P, Tensor, Tile, TracePolicy, kernel,
                     pto, workload)

F32 = DType.F32


@kernel
def double(x: In[Tile[1, 16, F32]], y: Out[Tile[1, 16, F32]]):
    pto.store(y, pto.mul(x, 2.0))


def traced(n: int):
    X = Tensor(data=np.ones((n, 16), np.float32), name="X")
    Y = Tensor(data=np.zeros((n, 16), np.float32), name="Y")

    @workload
    def rows():
        for i in P(Dense[n]):
            double[i](x=X[i], y=Y[i])
    return rows().task_graph(trace=TracePolicy.cycles()).compile(num_threads=1)


def test_dot_limit_is_an_argument_and_hitting_it_is_an_error(tmp_path):
    prog = traced(2001)
    prog.run()
    out = tmp_path / "g.dot"
    with pytest.raises(ExecutionError, match="2001 tasks, more than to_dot's max_nodes=2000") \
            as ei:
        prog.to_dot(str(out))  # MARK-dot
    assert "max_nodes=2001" in ei.value.hint and not out.exists()
    assert ei.value.loc.file == __file__
    prog.to_dot(str(out), max_nodes=None)
    text = out.read_text()
    assert text.startswith("digraph") and text.count("[label=") == 2001
    prog.to_dot(str(tmp_path / "h.dot"), max_nodes=2001)
    assert (tmp_path / "h.dot").read_text() == text
    with pytest.raises(ExecutionError, match="max_nodes"):
        prog.to_dot(str(out), max_nodes=-1)


def test_trace_directory_is_reused_per_program_and_removed_with_it(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # other processes share /tmp
    prog = traced(4)
    prog.run()
    prog.run()
    assert len(list(tmp_path.glob("pto_trace_*"))) == 1  # one per program, not one per run
    assert prog.trace()["traceEvents"]
    del prog
    gc.collect()
    assert not list(tmp_path.glob("pto_trace_*"))


def test_no_trace_directory_remains_at_exit(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_traces import traced
        a, b = traced(3), traced(5)
        a.run(); b.run(); a.run()
        a.execute()  # still running (or unsynchronized) at exit
    """)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    assert not list(tmp_path.glob("pto_trace_*"))

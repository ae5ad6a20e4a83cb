"""Compiled programs let the runtime forget finished tensor regions."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, Deps, In, Out, P, Tensor, Tile, TracePolicy, kernel, pto,
                     workload)

F32 = DType.F32


@kernel
def double(x: In[Tile[1, 16, F32]], y: Out[Tile[1, 16, F32]]):
    pto.store(y, pto.mul(x, 2.0))


@pytest.mark.parametrize("deps", [Deps.infer_tensor_map_exact(), Deps.infer_bytes_overlap()],
                         ids=["exact", "overlap"])
def test_streaming_many_tiles_keeps_the_region_table_small(deps):
    # 2n distinct regions, far more than those of the tasks still needing them: up to a window
    # (8192 tasks by default) in flight plus a window the simulation has not decided yet
    n = 40000
    x = np.arange(n * 16, dtype=np.float32).reshape(n, 16)
    y = np.zeros_like(x)
    X, Y = Tensor(data=x, name="X"), Tensor(data=y, name="Y")

    @workload
    def stream():
        for i in P(Dense[n]):
            double[i](x=X[i], y=Y[i])

    w = stream().task_graph(deps=deps)
    stats = w.compile().run()
    assert np.array_equal(y, 2 * x)
    assert stats.task_count == n and stats.peak_regions < n
    # tracing keeps every region: the reference for the simulated time
    y[:] = 0
    traced = w.task_graph(deps=deps, trace=TracePolicy.cycles()).compile().run()
    assert np.array_equal(y, 2 * x)
    assert traced.peak_regions == 2 * n and traced.total_cycles == stats.total_cycles

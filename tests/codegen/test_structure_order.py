"""Program structure orders tasks under every Deps mode: ``P.seq`` iteration i+1 after
iteration i, ``sequential(w1, w2)`` part 2 after part 1; ``combine`` stays unordered. Data
dependencies come on top of structure, never instead of it (docs/runtime.md)."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, Deps, DispatchPolicy, In, Out, P, Tensor, Tile, TracePolicy,
                     combine, kernel, pto, sequential, workload)

F32 = DType.F32
MODES = [None, Deps.infer_tensor_map_exact(), Deps.infer_bytes_overlap(), Deps.explicit(),
         Deps.hybrid()]
IDS = ["default", "exact", "bytes_overlap", "explicit", "hybrid"]


@kernel
def scale(x: In[Tile[16, 64, F32]], y: Out[Tile[16, 64, F32]]):
    t = pto.mul(x, 2.0)
    for _ in range(6):
        t = pto.add(pto.mul(t, 0.5), t)
    pto.store(y, t)


def tensors(n):
    x = np.random.default_rng(0).standard_normal((n, 16, 64)).astype(np.float32)
    return Tensor(data=x, name="X"), Tensor(data=np.zeros_like(x), name="Y"), x


def steps(per_step):
    """P.seq over 6 steps, each step `per_step` tasks on disjoint tiles."""
    X, Y, x = tensors(6 * per_step)
    s, j = Dense[6], Dense[per_step]

    @workload
    def stepped():
        for i in P.seq(s):
            for k in P(j):
                scale[i, k](x=X[i * per_step + k], y=Y[i * per_step + k])
    return stepped().dispatch(DispatchPolicy.round_robin(4)), Y, x


def one_task_cycles():
    X, Y, _ = tensors(1)

    @workload
    def one():
        scale(x=X[0], y=Y[0])
    return one().compile().run().total_cycles


def with_deps(w, deps):
    return w if deps is None else w.task_graph(deps=deps)


@pytest.mark.parametrize("deps", MODES, ids=IDS)
def test_seq_steps_are_serial_in_simulated_time(deps):
    """The issue's reproducer: 6 steps over disjoint tiles on 4 AICPUs are 6 task times
    (serial), not 2 (what data alone allows)."""
    w, _, _ = steps(1)
    assert with_deps(w, deps).compile().run().total_cycles == 6 * one_task_cycles()


@pytest.mark.parametrize("threads", [1, 2, 4, 8])
@pytest.mark.parametrize("deps", [None, Deps.infer_bytes_overlap()], ids=["default", "overlap"])
def test_seq_steps_are_serial_on_the_host(deps, threads):
    """Real execution: every task of step i+1 begins after every task of step i ended
    (wall-clock trace of the host workers)."""
    w, Y, x = steps(2)
    prog = with_deps(w, deps).task_graph(trace=TracePolicy.wall_clock()).compile(
        num_threads=threads)
    prog.run()
    y = x.copy()
    for _ in range(6):
        y = y * np.float32(0.5) + y
    np.testing.assert_allclose(Y.data, y * 2, rtol=1e-6)
    host = [e for e in prog.trace()["traceEvents"] if e.get("ph") == "X" and e["pid"] == 2]
    assert len(host) == 12
    span = {}
    for e in host:
        step = e["args"]["task"] // 2
        b, f = span.get(step, (float("inf"), 0.0))
        span[step] = (min(b, e["ts"]), max(f, e["ts"] + e["dur"]))
    for i in range(5):
        assert span[i + 1][0] >= span[i][1], (i, span)


def halves(compose):
    X, Y, _ = tensors(8)
    n = Dense[4]

    @workload
    def first():
        for k in P(n):
            scale[k](x=X[k], y=Y[k])

    @workload
    def second():
        for k in P(n):
            scale[k](x=X[k + 4], y=Y[k + 4])
    return compose(first(), second()).dispatch(DispatchPolicy.round_robin(8))


@pytest.mark.parametrize("deps", MODES, ids=IDS)
def test_sequential_orders_combine_does_not(deps):
    t = one_task_cycles()
    assert with_deps(halves(sequential), deps).compile().run().total_cycles == 2 * t
    assert with_deps(halves(combine), deps).compile().run().total_cycles == t

"""(3) End-to-end task throughput of a generated artifact.

A workload of n tiny independent tasks (one 1 x 8 f32 tile each: load, add 1, store) for
n = 2^16 .. 2^20. The native run includes everything: the generated orchestration loop
computing each task's regions, submission to the C runtime, dependency inference over the
tensor map (exact mode), dispatch, the worker pool executing every kernel, cycle simulation.
tasks/ms = task_count / execute_time_ms. The prototype lineage quoted ~5,000 tasks/ms for
task *generation* alone (no execution).

Two dependency modes are measured with the same kernel: the default exact tensor map
(``Deps.infer_tensor_map_exact()``, every task's regions are looked up and recorded), and
``Deps.explicit()`` (no inference: valid here because the tasks are independent), which
isolates the cost of the tensor map from orchestration + execution.
"""

from __future__ import annotations

import numpy as np

from pto_wsp import DType, DenseDyn, Deps, In, Out, P, Tensor, Tile, kernel, pto, workload

from common import median

F32 = DType.F32
W = 8


@kernel
def tiny(x: In[Tile[1, W, F32]], out: Out[Tile[1, W, F32]]):
    pto.store(out, pto.add(x, 1.0))


def build(n_max: int):
    """One artifact for every n <= n_max (the task count is a DenseDyn runtime input)."""
    X = np.arange(n_max * W, dtype=np.float32).reshape(n_max, W)
    Y = np.zeros_like(X)
    TX, TY = Tensor(data=X, name="X"), Tensor(data=Y, name="Y")
    n = DenseDyn(n_max, name="n")

    @workload
    def many_tiny_tasks():
        for t in P(n):
            tiny[t](x=TX[t], out=TY[t])
    return many_tiny_tasks(), X, Y


def _median_ms(p, n, reps, X, Y):
    p.set_axis_sizes(n=n)
    ms = []
    for _ in range(reps):
        Y[:n] = 0
        s = p.run()
        assert s.task_count == n
        ms.append(s.execute_time_ms)
    assert np.array_equal(Y[:n], X[:n] + 1)
    return median(ms)


MODES = (("exact", Deps.infer_tensor_map_exact()), ("explicit", Deps.explicit()))


def run(reps: int = 3, log2_sizes=range(16, 21), threads=(1, 0)) -> list[list]:
    sizes = [1 << k for k in log2_sizes]
    w, X, Y = build(max(sizes))
    progs = [(m, th, w.task_graph(deps=d).compile(num_threads=th))
             for m, d in MODES for th in threads]
    rows = []
    for n in sizes:
        row = [f"2^{n.bit_length() - 1} = {n}"]
        best = 0.0
        for mode, th, p in progs:
            med = _median_ms(p, n, reps, X, Y)
            row.append(f"{n / med:,.0f} ({med:.0f} ms)")
            best = max(best, n / med) if mode == "exact" else best
        rows.append(row + [f"{best / 5000:.2f}x"])
    return rows


HEADER = (["tasks"] + [f"{m} deps, {'1 thr' if th == 1 else 'all thr'}: tasks/ms (ms)"
                       for m, _ in MODES for th in (1, 0)]
          + ["best exact / 5,000"])

"""(4) The task-generation plan: its size against the tasks it expands to, and expansion speed.

A LLaMA-layer-shaped workload (per batch b and sequence tile s: RMSNorm, Q/K/V projection per
head, attention per head over the b-th sequence's ragged KV tiles, output projection per
head, residual, RMSNorm, gate/up/down per FFN tile, residual), with tiny 1 x 8 tiles so that
the task stream, not the kernels, is what is measured. Batch, sequence tiles and KV lengths are
plan inputs: one plan (and one build) serves every size.

Measured in one run, ours beside the peer, in CPU time of this process (everything runs on
one thread: ``num_threads=1``), so that other load on the machine does not count:
  * plan bytes vs task count (the seeds' "~4 KB instead of hundreds of MB of task lists");
  * interpreter expansion only (pto_plan_record without a file: every task's argument block,
    regions and keys computed, nothing submitted or run): tasks/ms;
  * through the runtime without executing kernels (Deps.explicit(), WindowMode.BENCHMARK):
    the generated orchestrate.c vs the plan interpreter, tasks/ms of the whole run.
"""

from __future__ import annotations

import os
import time

import numpy as np

from pto_wsp import (DType, DenseDyn, Deps, In, InOut, Out, P, Ragged, TaskWindow, Tensor, Tile,
                     WindowMode, kernel, pto, workload)

from common import median

F32 = DType.F32
W = 8
HEADS, FFN = 32, 16
TILE = Tile[1, W, F32]


@kernel
def norm(x: In[TILE], y: Out[TILE]):
    pto.store(y, pto.mul(x, 0.5))


@kernel
def proj(x: In[TILE], w: In[TILE], y: Out[TILE]):
    pto.store(y, pto.add(x, w))


@kernel
def attend(q: In[TILE], k: In[TILE], v: In[TILE], o: InOut[TILE]):
    pto.store(o, pto.add(o, pto.mul(q, pto.add(k, v))))


@kernel
def residual(x: In[TILE], y: InOut[TILE]):
    pto.store(y, pto.add(y, x))


def build(batch: int, seq_tiles: int):
    """The layer for up to ``batch`` sequences of up to ``seq_tiles`` tiles."""
    B, S = batch, seq_tiles
    z = lambda *shape: Tensor(data=np.zeros(shape + (W,), np.float32))  # noqa: E731
    X, H, Q, K, V, O, Y = (z(B, S) for _ in range(7))
    QH, KH, VH, OH = (z(B, S, HEADS) for _ in range(4))
    G, U = z(B, S, FFN), z(B, S, FFN)
    WQ = z(HEADS)
    b_ax, s_ax = DenseDyn(B, name="batch"), DenseDyn(S, name="seq")
    kv = Ragged(b_ax, [S] * B, name="kv")
    heads, ffn = DenseDyn(HEADS, name="heads"), DenseDyn(FFN, name="ffn")

    @workload
    def llama_layer():
        for b in P(b_ax):
            for s in P(s_ax):
                norm[b, s](x=X[b, s], y=H[b, s])
                for h in P(heads):
                    proj[b, s, h](x=H[b, s], w=WQ[h], y=QH[b, s, h])
                    proj[b, s, h](x=H[b, s], w=WQ[h], y=KH[b, s, h])
                    proj[b, s, h](x=H[b, s], w=WQ[h], y=VH[b, s, h])
            for s in P(s_ax):
                for h in P(heads):
                    for t in P.seq(kv[b]):
                        attend[b, s, h](q=QH[b, s, h], k=KH[b, t, h], v=VH[b, t, h],
                                        o=OH[b, s, h])
                    proj[b, s, h](x=OH[b, s, h], w=WQ[h], y=O[b, s])
                residual[b, s](x=X[b, s], y=O[b, s])
                norm[b, s](x=O[b, s], y=Y[b, s])
                for f in P(ffn):
                    proj[b, s, f](x=Y[b, s], w=WQ[f], y=G[b, s, f])
                    proj[b, s, f](x=Y[b, s], w=WQ[f], y=U[b, s, f])
                    proj[b, s, f](x=G[b, s, f], w=U[b, s, f], y=O[b, s])
    return llama_layer()


def tasks(b: int, s: int, kv: int) -> int:
    return b * s * (1 + 3 * HEADS) + b * s * (HEADS * (kv + 1) + 2 + 3 * FFN)


def _compile(w, orchestration: str):
    os.environ["PTO_WSP_ORCHESTRATION"] = orchestration
    try:
        return w.compile(num_threads=1)
    finally:
        del os.environ["PTO_WSP_ORCHESTRATION"]


def run(reps: int = 3, shapes=((1, 8, 4), (4, 32, 8), (4, 64, 16))) -> list[list]:
    """Rows per (batch, seq tiles, kv tiles) shape; one plan and one build for all."""
    B = max(s[0] for s in shapes)
    S = max(max(s[1], s[2]) for s in shapes)
    w = build(B, S)
    bench = w.task_graph(deps=Deps.explicit(),
                         window=TaskWindow(1 << 20, "tasks", WindowMode.BENCHMARK))
    c, plan = _compile(bench, "c"), _compile(bench, "plan")
    data = bytes(plan._ffi.buffer(plan._lib.pto_plan_main, plan._lib.pto_plan_main_bytes))
    rows = []
    for b, s, kv in shapes:
        n = tasks(b, s, kv)
        per = {}
        for name, p in (("c", c), ("plan", plan)):
            p.set_axis_sizes(batch=b, seq=s)
            p.set_axis_data("kv", lengths=[kv] * B)
            ms = []
            for _ in range(reps):
                t0 = time.process_time()
                st = p.run()
                ms.append((time.process_time() - t0) * 1e3)
                assert st.task_count == n, (st.task_count, n)
            per[name] = median(ms)
        inputs, keep = plan._inputs(plan._bound_arrays(None), None)
        out = plan._ffi.new("pto_outputs *")
        ex = []
        for _ in range(reps):
            t0 = time.process_time()
            rc = plan._lib.pto_plan_record(data, len(data), inputs, 0xFFFFFFFF, plan._ffi.NULL,
                                           0, out)
            ex.append((time.process_time() - t0) * 1e3)
            assert rc == 0 and out.task_count == n
        e = median(ex)
        rows.append([f"{b} x {s} x {kv}", f"{n:,}", f"{len(data):,}",
                     f"{len(data) / n:.3f}", f"{n / e:,.0f} ({e:.1f} ms)",
                     f"{n / per['c']:,.0f} ({per['c']:.0f} ms)",
                     f"{n / per['plan']:,.0f} ({per['plan']:.0f} ms)",
                     f"{per['c'] / per['plan']:.2f}"])
    return rows


HEADER = ["batch x seq tiles x kv tiles", "tasks", "plan bytes", "bytes/task",
          "plan expansion only: tasks/CPU-ms", "generated C via runtime: tasks/CPU-ms",
          "plan via runtime: tasks/CPU-ms", "C time / plan time"]

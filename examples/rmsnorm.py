"""Quick-start demo: RMS normalisation of a [batch, tiles, 16, 128] tensor, one task per tile.

Compiles the workload to a native cpu_sim module, runs it on numpy data on all host cores,
checks the result against numpy and prints the simulated NPU cycles.
"""

import numpy as np

from pto_wsp import (DType, Dense, DispatchPolicy, In, Out, P, TaskWindow, Tensor, Tile,
                     WindowMode, kernel, pto, workload)


@kernel
def rmsnorm_tile(x: In[Tile[16, 128, DType.F32]], out: Out[Tile[16, 128, DType.F32]]):
    sq = pto.mul(x, x)
    mean_sq = pto.rowmean(sq)
    inv = pto.rsqrt(mean_sq)
    pto.store(out, pto.mul(x, inv))


batch_size, num_tiles = 4, 8
X_np = np.random.default_rng(0).standard_normal((batch_size, num_tiles, 16, 128), np.float32)
Y_np = np.zeros_like(X_np)
X = Tensor(data=X_np)
Y = Tensor(data=Y_np)
batch = Dense[batch_size]
tiles = Dense[num_tiles]


@workload
def rmsnorm():
    for b in P(batch):
        for t in P(tiles):
            rmsnorm_tile[b, t](x=X[b][t], out=Y[b][t])


def main() -> None:
    w = (rmsnorm()
         .dispatch(DispatchPolicy.round_robin(4))
         .task_graph(window=TaskWindow(8192, "tasks", WindowMode.STALL)))
    print(w.to_pto())
    program = w.compile(target="cpu_sim")
    program.execute()
    program.synchronize()
    ref = X_np / np.sqrt((X_np * X_np).mean(axis=-1, keepdims=True))
    err = float(np.abs(Y_np - ref).max())
    s = program.stats
    print(f"tasks={s.task_count} total_cycles={s.total_cycles} max_abs_err={err:.2e} "
          f"compile={s.compile_time_ms:.0f}ms execute={s.execute_time_ms:.2f}ms")
    assert err < 1e-5, err


if __name__ == "__main__":
    main()

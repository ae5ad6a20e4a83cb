"""RMS normalisation of rows longer than one tile: two passes inside the kernel.

Each task takes 16 rows of 1024 columns as a tensor view and walks them in 256-column
tiles twice: first summing squares into a carried [16, 1] tile, then scaling and storing
each tile at its offset (docs/kernels.md). Checked against numpy.
"""

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, kernel, pto, workload

ROWS, COLS, BR, BC = 64, 1024, 16, 256
F32 = DType.F32


@kernel
def rmsnorm_rows(x: In[Tensor[BR, COLS, F32]], y: Out[Tensor[BR, COLS, F32]]):
    ss = pto.alloc((BR, 1), F32)
    for j in pto.range(COLS // BC):
        t = pto.load(x, row=0, col=j * BC, shape=(BR, BC))
        ss = ss + pto.rowsum(t * t)
    inv = pto.rsqrt(ss * (1.0 / COLS))
    for j in pto.range(COLS // BC):
        t = pto.load(x, row=0, col=j * BC, shape=(BR, BC))
        pto.store(y, t * inv, row=0, col=j * BC)


def build(X, Y):
    """X, Y: [ROWS/BR, BR, COLS]."""
    blocks = Dense[ROWS // BR]

    @workload
    def rmsnorm_long():
        for i in P(blocks):
            rmsnorm_rows[i](x=X[i], y=Y[i])
    return rmsnorm_long()


def main() -> None:
    x = np.random.default_rng(0).standard_normal((ROWS // BR, BR, COLS), np.float32)
    y = np.zeros_like(x)
    program = build(Tensor(data=x), Tensor(data=y)).compile(target="cpu_sim")
    program.execute()
    program.synchronize()
    ref = x / np.sqrt((x * x).mean(axis=-1, keepdims=True))
    err = float(np.abs(y - ref).max())
    s = program.stats
    print(f"rmsnorm {ROWS}x{COLS}: tasks={s.task_count} total_cycles={s.total_cycles} "
          f"max_abs_err={err:.2e}")
    assert err < 1e-5, err


if __name__ == "__main__":
    main()

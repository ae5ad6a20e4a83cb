"""Row softmax of a [rows, cols] f32 tensor, one task per 16-row tile.

The kernel is written with primitives and implicit row broadcasting: ``x - rowmax(x)``
subtracts a [16, 1] row vector from every column (TROWEXPANDSUB), ``e / rowsum(e)`` divides
by one (TROWEXPANDDIV). Everything stays in the tile: one load, one store per task.
"""

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

ROWS_PER_TILE, COLS = 16, 256


@kernel
def softmax_tile(x: In[Tile[ROWS_PER_TILE, COLS, DType.F32]],
                 out: Out[Tile[ROWS_PER_TILE, COLS, DType.F32]]):
    m = pto.rowmax(x)                 # [16, 1]
    e = pto.exp(pto.sub(x, m))        # row-broadcast subtract
    pto.store(out, pto.div(e, pto.rowsum(e)))


def build(X: np.ndarray, Y: np.ndarray):
    """Softmax workload: Y = softmax(X, axis=-1) for X, Y of shape [rows, COLS]."""
    rows, cols = X.shape
    assert cols == COLS and rows % ROWS_PER_TILE == 0
    TX, TY = Tensor(data=X, name="X"), Tensor(data=Y, name="Y")
    tiles = Dense[rows // ROWS_PER_TILE]
    R = ROWS_PER_TILE

    @workload
    def softmax():
        for t in P(tiles):
            softmax_tile[t](x=TX[t * R:t * R + R], out=TY[t * R:t * R + R])
    return softmax()


def reference(X: np.ndarray) -> np.ndarray:
    x = X.astype(np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main(rows: int = 1024) -> None:
    X = (np.random.default_rng(0).standard_normal((rows, COLS)) * 4).astype(np.float32)
    Y = np.zeros_like(X)
    program = build(X, Y).compile(target="cpu_sim")
    s = program.run()
    ref = reference(X)
    err = float(np.abs(Y - ref).max())
    print(f"softmax {rows}x{COLS}: tasks={s.task_count} total_cycles={s.total_cycles} "
          f"max_abs_err={err:.1e} compile={s.compile_time_ms:.0f}ms "
          f"execute={s.execute_time_ms:.2f}ms")
    assert s.task_count == rows // ROWS_PER_TILE
    np.testing.assert_allclose(Y, ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(Y.sum(axis=-1), 1.0, rtol=1e-5)


if __name__ == "__main__":
    main()

"""Tiled f32 matmul: C[M, N] = A[M, K] @ B[K, N] in 32 x 32 tiles.

One task per (i, j, k): the output tiles (i, j) are independent (``P``), the reduction over k
is sequential (``P.seq``) and accumulates into the C tile in place (``InOut`` +
``pto.matmul(a, b, acc=c)``). The runtime infers the k-chain's read-after-write dependencies
from the tile regions, so C is correct on any number of host threads.
"""

import numpy as np

from pto_wsp import DType, Dense, In, InOut, P, Tensor, Tile, kernel, pto, workload

T = 32  # tile edge


@kernel
def mm_tile(a: In[Tile[T, T, DType.F32]], b: In[Tile[T, T, DType.F32]],
            c: InOut[Tile[T, T, DType.F32]]):
    pto.store(c, pto.matmul(a, b, acc=c))


def build(A: np.ndarray, B: np.ndarray, C: np.ndarray):
    """The matmul workload over numpy arrays A [M, K], B [K, N], C [M, N] (C accumulates)."""
    (M, K), (_, N) = A.shape, B.shape
    assert M % T == 0 and K % T == 0 and N % T == 0, "sizes must be multiples of the tile"
    TA, TB, TC = Tensor(data=A, name="A"), Tensor(data=B, name="B"), Tensor(data=C, name="C")
    mi, nj, kk = Dense[M // T], Dense[N // T], Dense[K // T]

    @workload
    def matmul():
        for i, j in P(mi, nj):
            for k in P.seq(kk):
                mm_tile[i, j, k](a=TA[i * T:i * T + T, k * T:k * T + T],
                                 b=TB[k * T:k * T + T, j * T:j * T + T],
                                 c=TC[i * T:i * T + T, j * T:j * T + T])
    return matmul()


def main(M: int = 256, K: int = 256, N: int = 256) -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((M, K), np.float32)
    B = rng.standard_normal((K, N), np.float32)
    C = np.zeros((M, N), np.float32)
    program = build(A, B, C).compile(target="cpu_sim")
    s = program.run()
    ref = A.astype(np.float64) @ B.astype(np.float64)
    err = float(np.abs(C - ref).max() / np.abs(ref).max())
    print(f"tiled_matmul {M}x{K}x{N}: tasks={s.task_count} total_cycles={s.total_cycles} "
          f"max_rel_err={err:.1e} compile={s.compile_time_ms:.0f}ms "
          f"execute={s.execute_time_ms:.2f}ms")
    assert s.task_count == (M // T) * (N // T) * (K // T)
    assert err < 1e-5, err


if __name__ == "__main__":
    main()

"""A GEMM kernel with a K loop: C[i] = A[i] @ B, one task per 32-row block of A.

The kernel loads 32x32 tiles of A and B at computed offsets, accumulates their products in
an L0C accumulator carried by the loop, and double-buffers the loads so the next K block
streams in while the cube unit works (docs/kernels.md). Checked against numpy.
"""

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

M, K, N, BK = 128, 256, 32, 32
F32 = DType.F32


def make_gemm(double_buffer):
    @kernel(name=f"gemm_k{'_db' if double_buffer else ''}")
    def gemm_k(a: In[Tensor[32, K, F32]], b: In[Tensor[K, N, F32]], c: Out[Tile[32, N, F32]]):
        acc = pto.alloc((32, N), F32)
        for k in pto.range(K // BK, double_buffer=double_buffer):
            at = pto.load(a, row=0, col=k * BK, shape=(32, BK))
            bt = pto.load(b, row=k * BK, col=0, shape=(BK, N))
            acc = pto.matmul(at, bt, acc)
        pto.store(c, acc)
    return gemm_k


def build(A, B, C, double_buffer=True):
    gemm_k = make_gemm(double_buffer)
    blocks = Dense[M // 32]

    @workload
    def gemm():
        for i in P(blocks):
            gemm_k[i](a=A[i * 32:i * 32 + 32], b=B, c=C[i * 32:i * 32 + 32])
    return gemm()


def main(cost_model: str = "a2a3") -> dict:
    rng = np.random.default_rng(0)
    A_np = rng.standard_normal((M, K), np.float32)
    B_np = rng.standard_normal((K, N), np.float32)
    cycles = {}
    for db in (False, True):
        C_np = np.zeros((M, N), np.float32)
        program = build(Tensor(data=A_np), Tensor(data=B_np), Tensor(data=C_np), db).compile(
            target="cpu_sim", cost_model=cost_model)
        program.execute()
        program.synchronize()
        np.testing.assert_allclose(C_np, A_np @ B_np, rtol=1e-4, atol=1e-3)
        s = program.stats
        cycles["double" if db else "single"] = s.total_cycles
        print(f"gemm {M}x{K}x{N} {'double' if db else 'single'}-buffered: "
              f"tasks={s.task_count} total_cycles={s.total_cycles}")
    return cycles


if __name__ == "__main__":
    main()

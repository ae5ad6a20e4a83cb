"""Kernels whose tiles do not fit a thread's stack run (per-thread heap scratch) and agree
with numpy; small kernels keep their stack buffers."""

from __future__ import annotations

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

F32 = DType.F32


def test_1024x1024_tiles_run_and_match_numpy():
    @kernel
    def k(x: In[Tile[1024, 1024, F32]], y: Out[Tile[1024, 1024, F32]]):
        pto.store(y, pto.add(pto.exp(x), x))
    x = np.random.default_rng(0).standard_normal((3, 1024, 1024)).astype(np.float32)
    X, Y = Tensor(data=x), Tensor(data=np.zeros_like(x))
    n = Dense[3]

    @workload
    def big():
        for i in P(n):
            k[i](x=X[i], y=Y[i])
    prog = big().compile(num_threads=2)
    assert "pto_scratch()" in prog.sources["kernels.c"]
    for _ in range(2):  # the scratch is reused by the next run's threads
        Y.data[:] = 0
        prog.run()
        np.testing.assert_allclose(Y.data, np.exp(x) + x, rtol=1e-5, atol=1e-6)


def test_large_accumulating_matmul_copies_the_whole_accumulator():
    N = 384  # 576 KiB per tile: beyond the stack budget

    @kernel
    def mm(a: In[Tile[N, N, F32]], b: In[Tile[N, N, F32]], c: In[Tile[N, N, F32]],
           y: Out[Tile[N, N, F32]]):
        acc = pto.load(c)
        pto.store(y, pto.add(pto.matmul(a, b, acc=acc), acc))
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal((1, N, N)).astype(np.float32) for _ in range(3))
    A, B, C, Y = Tensor(data=a), Tensor(data=b), Tensor(data=c), Tensor(data=np.zeros_like(a))
    one = Dense[1]

    @workload
    def w():
        for i in P(one):
            mm[i](a=A[i], b=B[i], c=C[i], y=Y[i])
    prog = w().compile()
    assert "pto_scratch()" in prog.sources["kernels.c"]
    prog.run()
    np.testing.assert_allclose(Y.data[0], a[0] @ b[0] + 2 * c[0], rtol=1e-4, atol=1e-3)


def test_small_tiles_stay_on_the_stack():
    @kernel
    def small(x: In[Tile[16, 64, F32]], y: Out[Tile[16, 64, F32]]):
        pto.store(y, pto.exp(x))
    X = Tensor(data=np.ones((16, 64), np.float32))
    Y = Tensor(data=np.zeros((16, 64), np.float32))
    one = Dense[1]

    @workload
    def w():
        for i in P(one):
            small[i](x=X, y=Y)
    prog = w().compile()
    src = prog.sources["kernels.c"]
    assert "pto_scratch" not in src and "_Alignas(64) float b" in src
    prog.run()
    np.testing.assert_allclose(Y.data, np.e, rtol=1e-6)

"""A weight bound twice, as K and as its transpose (``Tensor(data=k.T)``), works under exact
and explicit deps; written through K and read through K.T it is overlap-tracked under the
default deps (issue 13). Checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import DType, Deps, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

T = Tile[16, 16, DType.F32]


@kernel
def mm(a: In[T], b: In[T], c: Out[T]):
    pto.store(c, pto.matmul(a, b))


@kernel
def twice(a: In[T], c: Out[T]):
    pto.store(c, pto.mul(a, 2.0))


def _blocks(X, rows, cols, i, j):
    return X[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols]


@pytest.mark.parametrize("deps", [Deps.infer_tensor_map_exact(), Deps.explicit()])
def test_weight_and_its_transpose_read_side_by_side(deps):
    rng = np.random.default_rng(1)
    q, k = (rng.standard_normal((32, 16), np.float32) for _ in range(2))
    Q, K, KT = Tensor(data=q), Tensor(data=k), Tensor(data=k.T)
    S, R = (Tensor(data=np.zeros((32, 32), np.float32)) for _ in range(2))

    @workload
    def attn():
        for i, j in P(Dense[2], Dense[2]):
            mm[i, j](a=_blocks(Q, 16, 16, i, 0), b=_blocks(KT, 16, 16, 0, j),
                     c=_blocks(S, 16, 16, i, j))
            twice[i, j](a=_blocks(K, 16, 16, i, 0), c=_blocks(R, 16, 16, i, j))
    prog = attn().task_graph(deps=deps).compile(num_threads=2)
    prog.run()
    np.testing.assert_allclose(S.data, q @ k.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(R.data, np.tile(2 * k, (1, 2)), rtol=1e-6)
    assert prog.overlap_tracked == {}  # nothing written through shared memory


def test_written_through_k_read_through_k_transposed():
    rng = np.random.default_rng(2)
    q, k0 = (rng.standard_normal((32, 16), np.float32) for _ in range(2))
    kbuf = np.zeros((32, 16), np.float32)
    Q, K0, K, KT = Tensor(data=q), Tensor(data=k0), Tensor(data=kbuf), Tensor(data=kbuf.T)
    S = Tensor(data=np.zeros((32, 32), np.float32))

    @workload
    def proj_then_scores():
        for i in P(Dense[2]):
            twice[i](a=_blocks(K0, 16, 16, i, 0), c=_blocks(K, 16, 16, i, 0))
        for i, j in P(Dense[2], Dense[2]):
            mm[i, j](a=_blocks(Q, 16, 16, i, 0), b=_blocks(KT, 16, 16, 0, j),
                     c=_blocks(S, 16, 16, i, j))
    prog = proj_then_scores().compile(num_threads=2)
    prog.run()
    np.testing.assert_allclose(S.data, q @ (2 * k0).T, rtol=1e-5, atol=1e-5)
    assert prog.overlap_tracked == {"K": "it shares memory with 'KT'",
                                    "KT": "it shares memory with 'K'"}

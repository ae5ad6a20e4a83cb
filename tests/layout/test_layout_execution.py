"""MemLayout reaches execution: views address a tensor through its bound array's real strides,
and the program checks the array's strides against the declared memory layout before a run."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, In, MemLayout, Out, P, Tensor, TensorLayout, Tile,
                     TypeCheckError, kernel, pto, workload)
from pto_wsp import TensorReplicate as R

F32 = DType.F32


@kernel
def axpy(x: In[Tile[16, 16, F32]], y: In[Tile[16, 16, F32]], out: Out[Tile[16, 16, F32]]):
    pto.store(out, pto.add(pto.mul(x, 2.0), y))


def _col_major_workload(xa, ya, oa):
    shape = (32, 16)
    col = TensorLayout((R(), R()), MemLayout.col_major(shape))
    X = Tensor(data=xa, layout=col, name="X")
    Y = Tensor(data=ya, name="Y")
    O = Tensor(data=oa, layout=col, name="O")
    n = Dense[2]

    @workload
    def w():
        for b in P(n):
            axpy(x=X[b * 16:b * 16 + 16], y=Y[b * 16:b * 16 + 16], out=O[b * 16:b * 16 + 16])

    return w()


def test_col_major_tensors_run_and_match_numpy():
    rng = np.random.default_rng(0)
    x = np.asfortranarray(rng.standard_normal((32, 16), np.float32))
    y = rng.standard_normal((32, 16), np.float32)
    out = np.asfortranarray(np.zeros((32, 16), np.float32))
    prog = _col_major_workload(x, y, out).compile()
    prog.execute()
    prog.synchronize()
    np.testing.assert_allclose(out, 2 * x + y, rtol=1e-6)
    assert out.flags.f_contiguous  # written in place through its column-major strides
    # a new binding must have the same memory layout
    with pytest.raises(TypeCheckError) as e:
        prog.set_tensor("X", np.ascontiguousarray(x))
    assert "memory layout col_major(32,16)" in e.value.message
    assert "np.asfortranarray" in e.value.hint
    prog.set_tensor("X", np.asfortranarray(x * 3))
    prog.execute()
    prog.synchronize()
    np.testing.assert_allclose(out, 6 * x + y, rtol=1e-6)


def test_permuted_tensor_runs_and_matches_numpy():
    rng = np.random.default_rng(1)
    shape, perm = (2, 16, 16), (1, 0, 2)
    mem = MemLayout.permute(shape, perm)
    x = rng.standard_normal(shape, np.float32)
    xp = np.ascontiguousarray(x.transpose(perm)).transpose(np.argsort(perm))
    assert mem.matches(xp) and not mem.matches(x)
    X = Tensor(data=xp, layout=TensorLayout((R(),) * 3, mem), name="X")
    Y = Tensor(data=np.zeros(shape, np.float32), name="Y")
    O = Tensor(data=np.zeros(shape, np.float32), name="O")
    n = Dense[2]

    @workload
    def w():
        for b in P(n):
            axpy(x=X[b], y=Y[b], out=O[b])

    prog = w().compile()
    prog.execute()
    prog.synchronize()
    np.testing.assert_allclose(O.data, 2 * x, rtol=1e-6)


def test_mismatching_arrays_are_rejected():
    x = np.zeros((32, 16), np.float32)  # C order
    with pytest.raises(TypeCheckError, match="needs byte strides"):
        Tensor(data=x, layout=TensorLayout((R(), R()), MemLayout.col_major((32, 16))))
    # a tensor declared without data gets its array at run time, checked then
    col = TensorLayout((R(), R()), MemLayout.col_major((32, 16)))
    X, Y, O = (Tensor(shape=(32, 16), dtype=F32, layout=col, name="X"),
               Tensor(shape=(32, 16), dtype=F32, name="Y"),
               Tensor(shape=(32, 16), dtype=F32, name="O"))
    n = Dense[2]

    @workload
    def w():
        for b in P(n):
            axpy(x=X[b * 16:b * 16 + 16], y=Y[b * 16:b * 16 + 16], out=O[b * 16:b * 16 + 16])

    prog = w().compile()
    with pytest.raises(TypeCheckError, match="declared with memory layout col_major"):
        prog.execute(X=x, Y=x.copy(), O=x.copy())
    out = np.zeros((32, 16), np.float32)
    prog.execute(X=np.asfortranarray(x + 1), Y=x.copy(), O=out)
    prog.synchronize()
    np.testing.assert_allclose(out, 2.0)

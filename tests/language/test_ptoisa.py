"""Instruction-level authoring with @ptoisa_kernel."""

import numpy as np
import pytest

from pto_wsp import (DType, Dense, In, InOut, Out, P, Tensor, Tile, TypeCheckError, ptoisa,
                     ptoisa_kernel, workload)

F32 = DType.F32


@ptoisa_kernel
def axpy_rowmax(x: In[Tile[8, 64, F32]], y: InOut[Tile[8, 64, F32]],
                m: Out[Tile[8, 64, F32]]):
    a = ptoisa.TLOAD(x)
    b = ptoisa.TLOAD(y)
    s = ptoisa.TADD(ptoisa.TMULS(a, 2.0), b)
    ptoisa.TSTORE(y, s)
    r = ptoisa.TROWMAX(s)
    ptoisa.TSTORE(m, ptoisa.TROWEXPAND(r, cols=64))


def test_instructions_map_one_to_one_and_run():
    ops = [op.opcode for op in axpy_rowmax.ir().ops]
    assert ops == ["tload", "tload", "tmuls", "tadd", "tstore", "trowmax", "trowexpand",
                   "tstore"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 64)).astype(np.float32)
    y = rng.standard_normal((2, 8, 64)).astype(np.float32)
    y0 = y.copy()
    m = np.zeros_like(y)
    X, Y, M = Tensor(data=x), Tensor(data=y), Tensor(data=m)
    n = Dense[2]

    @workload
    def w():
        for i in P(n):
            axpy_rowmax[i](x=X[i], y=Y[i], m=M[i])
    w().compile().run()
    np.testing.assert_allclose(y, 2 * x + y0, rtol=1e-6)
    np.testing.assert_allclose(m, np.broadcast_to(y.max(-1, keepdims=True), y.shape))


def test_instruction_errors():
    with pytest.raises(TypeCheckError, match="load parameters explicitly"):
        @ptoisa_kernel
        def bad(x: In[Tile[8, 64, F32]], y: Out[Tile[8, 64, F32]]):
            ptoisa.TSTORE(y, ptoisa.TEXP(x))
    with pytest.raises(TypeCheckError, match="attributes"):
        @ptoisa_kernel
        def bad2(x: In[Tile[8, 64, F32]], y: Out[Tile[8, 64, F32]]):
            ptoisa.TSTORE(y, ptoisa.TCVT(ptoisa.TLOAD(x)))
    with pytest.raises(TypeCheckError, match="operands differ"):
        @ptoisa_kernel
        def bad3(x: In[Tile[8, 64, F32]], y: Out[Tile[8, 64, F32]]):
            a = ptoisa.TLOAD(x)
            ptoisa.TSTORE(y, ptoisa.TADD(a, ptoisa.TROWSUM(a)))

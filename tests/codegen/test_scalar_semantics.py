"""Scalar expressions mean what they mean in Python (within 64 bits): a loop variable minus a u64
symbol or slot is negative when the symbol is larger, never a wrapped huge number."""

import numpy as np
import pytest

from pto_wsp import (DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, slot_set_u64, slot_u64,
                     symbol_i64, symbol_u64, workload)
from pto_wsp.ir import expr as irx

F32 = DType.F32


@kernel
def mark(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
    pto.store(y, pto.add(x, 1.0))


def test_expression_types():
    t, cut, k = irx.Var("t"), irx.Symbol("cut"), irx.Symbol("k", DType.I64)
    assert irx.Binary("sub", t, cut).dtype is DType.I64
    assert irx.Binary("sub", cut, cut).dtype is DType.I64   # a difference is signed
    assert irx.Binary("add", cut, cut).dtype is DType.U64   # all-unsigned stays unsigned
    assert irx.Binary("add", k, cut).dtype is DType.I64     # mixed is signed
    assert irx.Unary("neg", cut).dtype is DType.I64
    assert irx.Unary("inv", cut).dtype is DType.U64


@pytest.fixture(scope="module")
def prog():
    n = Dense[8]
    X = Tensor(data=np.zeros((8, 8), np.float32), name="X")
    Y = Tensor(data=np.zeros((8, 8), np.float32), name="Y")
    cut, shift = symbol_u64("cut"), symbol_i64("shift")

    @workload
    def gated():
        slot_set_u64(0, cut)
        for t in P(n):
            with P.when(t - cut >= 0):            # rows cut..7
                mark[t](x=X[t], y=Y[t])
            with P.when(t + shift >= cut):        # a negative shift must not wrap
                with P.when(slot_u64(0) - t > 5):  # slot minus loop variable, signed
                    mark[t](x=X[t], y=Y[t])
    return gated().compile(), Y


@pytest.mark.parametrize("cut,shift", [(3, 0), (5, -4), (0, -1), (7, 7)])
def test_mixed_sign_predicates_against_python(prog, cut, shift):
    program, Y = prog
    Y.data[:] = 0
    program.set_symbol_u64("cut", cut)
    program.set_symbol_i64("shift", shift)
    stats = program.run()
    rows = [t for t in range(8) if t - cut >= 0]
    rows += [t for t in range(8) if t + shift >= cut and cut - t > 5]
    assert stats.task_count == len(rows)
    expect = np.zeros((8, 8), np.float32)
    expect[sorted(set(rows))] = 1.0
    np.testing.assert_array_equal(Y.data, expect)

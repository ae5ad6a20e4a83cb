"""Runtime inputs of a compiled program (axis sizes, ragged/sparse data, symbols) are checked:
out-of-range and non-integral values are located errors, never wrapped or truncated."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, DenseDyn, In, Out, P, Ragged, Sparse, Tensor, Tile,
                     TypeCheckError, kernel, pto, symbol_i64, symbol_u64, workload)
from pto_wsp.errors import PtoError
from pto_wsp.ir.parser import parse_module

F32 = DType.F32


@kernel
def copy_row(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
    pto.store(y, x)


@pytest.fixture(scope="module")
def prog():
    x = np.arange(4 * 4 * 8, dtype=np.float32).reshape(4, 4, 8)
    X, Y = Tensor(data=x), Tensor(data=np.zeros_like(x))
    n = DenseDyn(2)
    rows = Dense[4]
    lens = Ragged(rows, [1, 2, 3, 4])
    pick = Sparse(rows, [0, 1, 1, 2, 3], [0, 3, 2])
    lo, shift = symbol_u64("lo"), symbol_i64("shift")

    @workload
    def inputs():
        for b in P(n):
            for t in P(lens[b]):
                with P.when(t + shift >= lo):
                    copy_row[b, t](x=X[b, t], y=Y[b, t])
        for r in P(rows):
            for e in P.sel(pick[r]):
                copy_row[r, e](x=X[r, e], y=Y[r, e])
    return inputs().compile()


def _raises(fn, *words):
    with pytest.raises(TypeCheckError) as ei:
        fn()
    assert ei.value.loc is not None and ei.value.loc.file == __file__
    for w in words:
        assert w in str(ei.value)


def test_axis_sizes_beyond_int64_are_located_errors(prog):
    _raises(lambda: prog.set_axis_sizes(n=2**64), "2**63")
    _raises(lambda: prog.set_axis_sizes(n=2.0), "2**63")
    prog.set_axis_sizes(n=3)


def test_ragged_lengths_are_not_truncated(prog):
    _raises(lambda: prog.set_axis_data("lens", lengths=[1.7, 2.2, 0.5, 1.0]), "integers", "1.7")
    _raises(lambda: prog.set_axis_data("lens", lengths=[1, 2, 2**64, 1]), "2**63")
    _raises(lambda: prog.set_axis_data("lens", lengths=[1, 2]), "4 lengths")
    _raises(lambda: prog.set_axis_data("lens"), "lengths=")


def test_sparse_data_is_checked(prog):
    _raises(lambda: prog.set_axis_data("pick", indptr=[0, 1, 1, 2, 3], indices=[0, 2**70, 1]),
            "2**63")
    _raises(lambda: prog.set_axis_data("pick", indptr=[0, 1, 1, 2, 3], indices=[0.0, 1.0, 2.0]),
            "integers")
    _raises(lambda: prog.set_axis_data("pick", indptr=[0, 1, 1, 2, 3], indices=[0, -1, 1]),
            "non-negative")


def test_symbols_are_not_wrapped(prog):
    _raises(lambda: prog.set_symbol_u64("lo", -1), "[0, 18446744073709551615]")
    _raises(lambda: prog.set_symbol_u64("lo", 2**64), "u64")
    _raises(lambda: prog.set_symbol_i64("shift", 2**63), "i64")
    _raises(lambda: prog.set_symbol_i64("shift", 1.5), "i64")


def test_valid_inputs_still_run(prog):
    prog.set_axis_sizes(n=4)
    prog.set_axis_data("lens", lengths=np.array([4, 3, 2, 1], np.uint8))
    prog.set_symbol_u64("lo", 3)
    prog.set_symbol_i64("shift", 1)
    stats = prog.run()
    # t + 1 >= 3 keeps t = 2, 3 of row 0 and t = 2 of row 1; plus the three sparse tasks
    assert stats.task_count == 3 + 3


def test_huge_sparse_index_in_pto_text_is_a_located_error():
    text = """module @m
tensor %X : [2, 4] f32 global
axis %s : sparse 2 indptr [0, 1, 2] indices [0, 99999999999999999999999]
workload @m {
}
"""
    with pytest.raises(PtoError) as ei:
        parse_module(text, "huge.pto")
    assert "2**63" in str(ei.value) and ei.value.loc.line == 3

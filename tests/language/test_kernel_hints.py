"""Plain Python and numpy inside a @kernel, and pto.* names that do not exist: each a located
PtoError saying what to write instead (never a bare TypeError / AttributeError / IndexError)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from pto_wsp import (DType, Dense, In, Out, P, Tensor, Tile, TypeCheckError, kernel, pto,
                     ptoisa, workload)
from pto_wsp.errors import UnknownNameError

F32, I32 = DType.F32, DType.I32
X = Tile[8, 16, F32]


def located(body, *words, exc=TypeCheckError):
    """Trace a kernel whose body is ``body(x)``; the error names the body's line."""
    with pytest.raises(exc) as ei:
        @kernel
        def k(x: In[X], y: Out[X]):
            pto.store(y, body(x))
    lines, start = inspect.getsourcelines(body)
    assert ei.value.loc.file == __file__
    assert start <= ei.value.loc.line < start + len(lines)
    for w in words:
        assert w in str(ei.value), str(ei.value)
    return ei.value


def test_numpy_functions_on_tiles_name_the_pto_op():
    located(lambda x: np.tanh(x), "numpy's tanh", "pto.tanh")
    located(lambda x: np.sum(x, axis=1), "numpy's sum", "pto.rowsum")
    located(lambda x: np.where(x > 0, x, 0.0), "pto.select")


def test_python_operators_without_a_tile_op():
    located(lambda x: x ** 3, "'**'", "pto.mul")
    located(lambda x: x % 2.0, "'%'")
    located(lambda x: x // 2.0, "'//'")


def test_attributes_and_indexing():
    located(lambda x: x.T, "no attribute 'T'", "transposed view", exc=UnknownNameError)
    located(lambda x: x[0:8], "cannot be indexed", "X[b, 0:8]")


def test_unknown_pto_names_suggest_the_nearest():
    located(lambda x: pto.sum(x, axis=1), "pto.sum does not exist", "pto.rowsum",
            exc=UnknownNameError)
    located(lambda x: pto.rowsun(x), "did you mean pto.rowsum", exc=UnknownNameError)
    with pytest.raises(UnknownNameError) as ei:
        ptoisa.TADDD
    assert "ptoisa.TADD" in str(ei.value)
    assert not hasattr(pto, "no_such_op") and hasattr(pto, "rowsum")


def test_numpy_scalars_and_bitwise_operators_work():
    @kernel
    def k(x: In[X], y: Out[X]):
        pto.store(y, abs(np.float32(2.0) * x - np.float64(1.0)))

    @kernel
    def b(x: In[Tile[8, 16, I32]], y: Out[Tile[8, 16, I32]]):
        pto.store(y, ((x & 12) | 1) ^ (x << 1) >> 1)

    xs = np.random.default_rng(0).standard_normal((2, 8, 16)).astype(np.float32)
    xi = np.arange(2 * 8 * 16, dtype=np.int32).reshape(2, 8, 16)
    XS, YS = Tensor(data=xs), Tensor(data=np.zeros_like(xs))
    XI, YI = Tensor(data=xi), Tensor(data=np.zeros_like(xi))
    r = Dense[2]

    @workload
    def w():
        for i in P(r):
            k[i](x=XS[i], y=YS[i])
            b[i](x=XI[i], y=YI[i])
    w().compile().run()
    np.testing.assert_allclose(YS.data, np.abs(2 * xs - 1), rtol=1e-6)
    np.testing.assert_array_equal(YI.data, ((xi & 12) | 1) ^ (xi << 1) >> 1)


def test_a_numpy_array_indexed_by_a_loop_variable():
    arr = np.zeros((4, 8, 16), np.float32)
    r = Dense[4]

    @kernel
    def k(x: In[X], y: Out[X]):
        pto.store(y, x)

    @workload
    def w():
        for i in P(r):
            k[i](x=arr[i], y=arr[i])
    with pytest.raises(TypeCheckError) as ei:
        w()
    assert "numpy cannot index an array" in str(ei.value) and "Tensor(data=" in str(ei.value)
    lines, start = inspect.getsourcelines(w.__wrapped__)
    assert ei.value.loc.line == start + 3 and ei.value.loc.file == __file__

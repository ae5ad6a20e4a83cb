"""Arrays that speak DLPack or the buffer protocol (torch/JAX CPU tensors, memoryviews) are
accepted wherever numpy arrays are, zero-copy: results land in the caller's memory."""

from __future__ import annotations

import array

import numpy as np
import pytest

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, TypeCheckError, kernel, pto, workload

F32 = DType.F32


class DLPackOnly:
    """An array type that numpy knows only through DLPack (as a torch tensor is)."""

    def __init__(self, arr):
        self._arr = arr

    def __dlpack__(self, **kw):
        return self._arr.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._arr.__dlpack_device__()


@kernel
def double(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
    pto.store(y, x * 2.0)


def program(X, Y):
    rows = Dense[4]

    @workload
    def dbl():
        for i in P(rows):
            double[i](x=X[i], y=Y[i])
    return dbl().compile()


def test_dlpack_and_buffer_protocol_arrays_are_used_in_place():
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    y = np.zeros((4, 8), np.float32)
    prog = program(Tensor(data=DLPackOnly(x)), Tensor(data=memoryview(y)))
    prog.run()
    np.testing.assert_array_equal(y, 2 * x)          # written through the memoryview
    y2 = np.zeros((4, 8), np.float32)
    prog.run(Y=DLPackOnly(y2), X=memoryview(x + 1))
    np.testing.assert_array_equal(y2, 2 * (x + 1))


def test_a_python_buffer_and_rejected_copies():
    flat = array.array("f", range(8))
    T = Tensor(data=flat)
    assert T.shape == (8,) and T.dtype is F32
    T.data[0] = 5.0
    assert flat[0] == 5.0                             # same memory
    with pytest.raises(TypeCheckError) as ei:
        Tensor(data=[[1.0, 2.0]])
    assert "cannot be used in place" in str(ei.value) and ei.value.loc.file == __file__


def test_torch_cpu_tensors_when_installed():
    torch = pytest.importorskip("torch")
    x = torch.arange(32, dtype=torch.float32).reshape(4, 8)
    y = torch.zeros(4, 8)
    program(Tensor(data=x), Tensor(data=y)).run()
    assert torch.equal(y, 2 * x)

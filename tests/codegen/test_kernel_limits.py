"""Kernel size limits (issue 13): a kernel takes up to 16 tile parameters (regions per task)
and up to 2048 bytes of arguments, checked at compile time with the kernel's location."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import CompileError, DType, Dense, In, Out, P, Scalar, Tensor, Tile, kernel, pto, \
    workload

T = Tile[4, 16, DType.F32]


def _sum_kernel(n_in: int):
    """out = x0 + 2*x1 + ... + n*x(n-1) over n_in tile inputs (one kernel, n_in + 1 tiles)."""
    params = ", ".join(f"x{i}: In[T]" for i in range(n_in))
    body = " + ".join(f"pto.mul(x{i}, {float(i + 1)})" for i in range(n_in))
    ns = dict(In=In, Out=Out, T=T, pto=pto)
    exec(f"def many({params}, out: Out[T]):\n    pto.store(out, {body})\n", ns)
    return kernel(ns["many"])


def test_kernel_with_twelve_tile_parameters_runs():
    many = _sum_kernel(11)  # 12 tile parameters: 480 bytes of arguments (the old limit: 256)
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((2, 4, 16), np.float32) for _ in range(11)]
    X = [Tensor(data=x) for x in xs]
    Y = Tensor(data=np.zeros((2, 4, 16), np.float32))

    @workload
    def w():
        for b in P(Dense[2]):
            many[b](**{f"x{i}": X[i][b] for i in range(11)}, out=Y[b])
    w().compile(num_threads=2).run()
    np.testing.assert_allclose(Y.data, sum((i + 1) * x for i, x in enumerate(xs)), rtol=1e-5)


def test_too_many_argument_bytes_is_a_located_compile_error():
    params = ", ".join(f"s{i}: Scalar[DType.F32]" for i in range(250))
    ns = dict(In=In, Out=Out, T=T, pto=pto, Scalar=Scalar, DType=DType)
    exec(f"def wide(x: In[T], {params}, out: Out[T]):\n    pto.store(out, pto.mul(x, s0))\n", ns)
    wide = kernel(ns["wide"])
    X, Y = (Tensor(data=np.zeros((1, 4, 16), np.float32)) for _ in range(2))

    @workload
    def w():
        for b in P(Dense[1]):
            wide[b](x=X[b], out=Y[b], **{f"s{i}": 1.0 for i in range(250)})
    with pytest.raises(CompileError) as ei:
        w().compile()
    msg = str(ei.value)
    assert "kernel 'wide' needs up to 2080 bytes of task arguments (252 parameters)" in msg
    assert "at most 2048" in msg

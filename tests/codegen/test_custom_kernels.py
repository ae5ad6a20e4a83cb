"""Custom kernel bodies: C snippets (inline or from a file), whole C units, includes."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import CompileError, DType, Dense, In, Out, P, Tensor, Tile, kernel, workload

F32 = DType.F32


def _run(k, n=2):
    x = np.arange(n * 8, dtype=np.float32).reshape(n, 1, 8)
    y = np.zeros_like(x)
    X, Y = Tensor(data=x), Tensor(data=y)
    ax = Dense[n]

    @workload
    def w():
        for i in P(ax):
            k[i](x=X[i], y=Y[i])
    stats = w().compile().run()
    return x, y, stats


def test_body_snippet_from_file_with_includes(tmp_path):
    body = tmp_path / "body.c"
    body.write_text("for (int64_t j = 0; j < y_cols; ++j) y[j] = sqrtf(x[j * x_cs]);\n"
                    "cycles = (uint64_t)y_cols;\n")

    @kernel(cpp_body_path=str(body), cpp_includes=["math.h"])
    def root(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    x, y, stats = _run(root)
    np.testing.assert_allclose(y, np.sqrt(x), rtol=1e-6)
    assert stats.total_cycles == 8  # two tasks of 8 cycles on two simulated AICPUs


def test_whole_c_unit(tmp_path):
    unit = tmp_path / "neg.c"
    unit.write_text(
        '#include "kernels.h"\n'
        "int pto_kernel_negate(const void *argp, uint64_t *cycles) {\n"
        "    const pto_args_negate *a = argp;\n"
        "    for (int64_t j = 0; j < a->x_cols; ++j) a->y[j] = -a->x[j * a->x_cs];\n"
        "    *cycles = 3;\n"
        "    return 0;\n"
        "}\n")

    @kernel(cpp_tu_path=str(unit))
    def negate(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    x, y, stats = _run(negate)
    np.testing.assert_array_equal(y, -x)
    assert stats.total_cycles == 3


def test_cpp_bodies_are_rejected_clearly(tmp_path):
    @kernel(cpp_src="y[0] = 1;", language="c++")
    def cxx(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    with pytest.raises(CompileError, match="C\\+\\+ bodies are not built"):
        _run(cxx)


def test_kernel_without_body_is_a_compile_error():
    @kernel
    def opaque(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        ...
    with pytest.raises(CompileError, match="has no body"):
        _run(opaque)

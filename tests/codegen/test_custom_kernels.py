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


def test_kernel_without_body_is_a_compile_error():
    @kernel
    def opaque(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        ...
    with pytest.raises(CompileError, match="has no body"):
        _run(opaque)


def _compile_error(k) -> CompileError:
    with pytest.raises(CompileError) as ei:
        _run(k)
    return ei.value


def test_c_error_in_inline_body_names_the_kernel_and_its_definition():
    @kernel(cpp_src="y[0] = 1;\nundeclared_thing = 2;\n")
    def broken(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    line = test_c_error_in_inline_body_names_the_kernel_and_its_definition.__code__ \
        .co_firstlineno + 1  # the @kernel line
    e = _compile_error(broken)
    assert e.message.startswith("kernel 'broken': its custom C body does not compile: ")
    assert "custom body of kernel 'broken':2:" in e.message  # the body's own line
    assert "undeclared_thing" in e.message and "\n" not in e.message
    assert (e.loc.file, e.loc.line) == (__file__, line)
    assert "undeclared_thing" in e.details


def test_c_error_in_body_file_gives_the_file_and_line(tmp_path):
    body = tmp_path / "body.c"
    body.write_text("y[0] = x[0];\n\ny[1] = missing_fn_result;\n")

    @kernel(cpp_body_path=str(body))
    def from_file(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    e = _compile_error(from_file)
    assert f"{body}:3:" in e.message and "kernel 'from_file'" in e.message
    assert e.loc.file == __file__


def test_c_error_in_unit_gives_the_file_and_line(tmp_path):
    unit = tmp_path / "u.c"
    unit.write_text('#include "kernels.h"\nint pto_kernel_u(const void *a, uint64_t *c) {\n'
                    "    return nope;\n}\n")

    @kernel(cpp_tu_path=str(unit))
    def u(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    e = _compile_error(u)
    assert f"{unit}:3:" in e.message and "custom C unit" in e.message


def test_each_custom_body_is_its_own_translation_unit(tmp_path):
    (tmp_path / "evil.h").write_text("#define y nope\n")

    @kernel(cpp_src="(void)a; (void)b;", cpp_includes=[str(tmp_path / "evil.h")])
    def first(a: In[Tile[1, 8, F32]], b: Out[Tile[1, 8, F32]]):
        pass

    @kernel(cpp_src="for (int j = 0; j < 8; ++j) y[j] = x[j] * 2;")
    def second(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass
    X = Tensor(data=np.arange(8, dtype=np.float32).reshape(1, 8))
    Y = Tensor(data=np.zeros((1, 8), np.float32))
    Z = Tensor(data=np.zeros((1, 8), np.float32))
    one = Dense[1]

    @workload
    def w():
        for i in P(one):
            second[i](x=X, y=Y)
            first[i](a=X, b=Z)
    prog = w().compile()
    assert {"kernel_first.c", "kernel_second.c"} <= set(prog.sources)
    prog.run()
    np.testing.assert_array_equal(Y.data, 2 * X.data)

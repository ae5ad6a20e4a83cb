"""Python cannot decide on run-time values while tracing: every such use is a located error."""

from __future__ import annotations

import pytest

from pto_wsp import DType, In, Out, Scalar, Tile, TypeCheckError, kernel, pto

F32 = DType.F32


def line_of(marker: str) -> int:
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if marker in line and "line_of(" not in line)


def test_if_on_a_tile_in_a_kernel_is_a_located_error():
    with pytest.raises(TypeCheckError, match="no Python truth value") as ei:
        @kernel
        def k(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            if x:  # MARK-if-param
                pto.store(y, x)
    assert ei.value.loc.line == line_of("MARK-if-param")
    assert "pto.select" in ei.value.hint and "pto.cmp" in ei.value.hint

    with pytest.raises(TypeCheckError, match="no Python truth value") as ei:
        @kernel
        def k2(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]], s: Scalar[F32]):
            v = pto.exp(x)
            pto.store(y, v if s else x)  # MARK-if-scalar
    assert ei.value.loc.line == line_of("MARK-if-scalar")


@pytest.mark.parametrize("use, what", [
    (len, "length"), (list, "elements to iterate"), (int, "integer value"),
    (float, "float value"), (lambda v: v[0], "elements to index"),
    (lambda v: range(v), "integer value"), (lambda v: 1.0 in v, "elements to search"),
    (lambda v: v in [1.0], "truth value"), (lambda v: v == 0 and v, "truth value"),
])
def test_python_conversions_of_tiles_are_located_errors(use, what):
    with pytest.raises(TypeCheckError, match=f"no Python {what}") as ei:
        @kernel
        def k(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            use(pto.exp(x))
            pto.store(y, x)
    assert ei.value.loc is not None and ei.value.loc.file == __file__


def test_tile_comparisons_are_sugar_for_cmp():
    @kernel
    def relu_ish(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
        pto.store(y, pto.select(x > 0, x, pto.select(x == -1.0, x * 0.5, 0.0)))
    ops = [(op.opcode, dict(op.attrs).get("mode")) for op in relu_ish.ir().ops]
    assert ("tcmps", "gt") in ops and ("tcmps", "eq") in ops

    @kernel
    def pairs(a: In[Tile[4, 8, F32]], b: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
        pto.store(y, pto.select((a <= b), a, pto.select(b != a, b, 0.0)))
    modes = [dict(op.attrs)["mode"] for op in pairs.ir().ops if op.opcode == "tcmp"]
    assert modes == ["le", "ne"]

"""String annotations (this module has ``from __future__ import annotations``) of kernels
defined inside helper functions resolve like ``typing.get_type_hints`` would with the defining
frame's scope: names local to the helper, to a function enclosing it, or bound by a helper
decorator's caller (issue 13)."""

from __future__ import annotations

import pytest

from pto_wsp import TypeCheckError


def _via(deco):
    from pto_wsp import kernel
    return kernel(deco)


def test_kernel_in_nested_helper_sees_enclosing_locals():
    from pto_wsp import DType, In, Out, Tile, kernel, pto
    T = Tile[4, 8, DType.F32]

    def inner():
        @kernel
        def k(x: In[T], y: Out[T]):
            pto.store(y, pto.mov(x))
        return k
    k = inner()
    assert [p.name for p in k.params] == ["x", "y"] and str(k.params[0].type) == "tile<4x8xf32>"


def test_kernel_made_by_a_helper_decorator_sees_the_definers_locals():
    from pto_wsp import DType, In, Out, Tile, pto
    T = Tile[2, 16, DType.F32]

    @_via
    def k(x: In[T], y: Out[T]):
        pto.store(y, pto.mov(x))
    assert str(k.params[1].type) == "tile<2x16xf32>"


def test_inner_name_shadows_outer():
    from pto_wsp import DType, In, Out, Tile, kernel, pto
    T = Tile[4, 8, DType.F32]

    def inner():
        T = Tile[1, 8, DType.F32]  # noqa: F841 - read by the string annotations

        @kernel
        def k(x: In[T], y: Out[T]):
            pto.store(y, pto.mov(x))
        return k
    assert str(inner().params[0].type) == "tile<1x8xf32>"


def test_unknown_name_is_still_a_located_error():
    from pto_wsp import In, Out, kernel

    with pytest.raises(TypeCheckError) as ei:
        @kernel
        def k(x: In[Nowhere], y: Out[Nowhere]):  # noqa: F821
            pass
    assert "name 'Nowhere' is not defined" in str(ei.value)
    assert "test_kernel_annotations.py" in str(ei.value)

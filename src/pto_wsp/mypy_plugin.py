"""mypy plugin: the static meaning of pto-wsp's subscripted spellings.

``In[Tile[16, 128, DType.F32]]``, ``Scalar[DType.F32]``, ``Constexpr[int]`` and ``Channel[Tile]``
take values (sizes, dtypes), which plain type annotations cannot. Enable with
``plugins = ["pto_wsp.mypy_plugin"]`` under ``[tool.mypy]`` (see docs/api.md, "Type checking");
mypy then sees what the code receives:

- a kernel parameter ``In/Out/InOut[...]`` or ``Scalar[...]`` is the traced parameter
  (:class:`pto_wsp.language.tracing.ParamValue`, a tile operand);
- ``Constexpr[T]`` is ``T`` for a Python type (``int``, ``float``, ``bool``), else ``Any``;
- ``Tile[...]`` and ``Channel[...]`` elsewhere are runtime values, typed ``Any`` where mypy would
  otherwise read them as generic types.

(``Dense[n]`` needs no plugin: type checkers see ``Dense`` as a value, see ``types.py``.)

Only mypy imports this module.
"""

from __future__ import annotations

from typing import Callable

from mypy.plugin import AnalyzeTypeContext, Plugin
from mypy.types import AnyType, Instance, Type, TypeOfAny

_KERNEL = "pto_wsp.language.kernel"
_PARAM_VALUE = "pto_wsp.language.tracing.ParamValue"


def _param_value(ctx: AnalyzeTypeContext) -> Type:
    return ctx.api.named_type(_PARAM_VALUE, [])


def _constexpr(ctx: AnalyzeTypeContext) -> Type:
    if len(ctx.type.args) == 1:
        t = ctx.api.analyze_type(ctx.type.args[0])
        if isinstance(t, Instance) and t.type.fullname in ("builtins.int", "builtins.float",
                                                           "builtins.bool"):
            return t
    return AnyType(TypeOfAny.special_form)


def _runtime_value(cls: str) -> Callable[[AnalyzeTypeContext], Type]:
    """``cls[...]`` is a runtime value (``Any``); the bare class is the class."""
    def hook(ctx: AnalyzeTypeContext) -> Type:
        if ctx.type.args:
            return AnyType(TypeOfAny.special_form)
        return ctx.api.named_type(cls, [])
    return hook


_HOOKS: dict[str, Callable[[AnalyzeTypeContext], Type]] = {
    f"{_KERNEL}.In": _param_value,
    f"{_KERNEL}.Out": _param_value,
    f"{_KERNEL}.InOut": _param_value,
    f"{_KERNEL}.Scalar": _param_value,
    f"{_KERNEL}.Tile": _runtime_value(f"{_KERNEL}.Tile"),
    f"{_KERNEL}.Constexpr": _constexpr,
    "pto_wsp.language.csp.Channel": _runtime_value("pto_wsp.language.csp.Channel"),
}


class PtoWspPlugin(Plugin):
    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        return _HOOKS.get(fullname)


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return PtoWspPlugin

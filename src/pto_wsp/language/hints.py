"""What to write instead: located errors for plain Python and numpy inside a kernel body, and
for ``pto.*`` / ``ptoisa.*`` names that do not exist (with the nearest real ones)."""

from __future__ import annotations

import difflib

from ..errors import TypeCheckError, UnknownNameError, user_location

# numpy and Python spellings a kernel author reaches for -> the pto.* way to say it
_INSTEAD = {
    "sum": "pto.rowsum(x) (axis=1, -> [R, 1]) or pto.colsum(x) (axis=0, -> [1, C])",
    "mean": "pto.rowmean(x) or pto.colmean(x)",
    "amax": "pto.rowmax / pto.colmax (reductions) or pto.maximum(a, b) (elementwise)",
    "amin": "pto.rowmin / pto.colmin (reductions) or pto.minimum(a, b) (elementwise)",
    "max": "pto.rowmax / pto.colmax (reductions) or pto.maximum(a, b) (elementwise)",
    "min": "pto.rowmin / pto.colmin (reductions) or pto.minimum(a, b) (elementwise)",
    "where": "pto.select(mask, a, b) with a mask from pto.cmp or a comparison",
    "dot": "pto.matmul(a, b) (or a @ b)",
    "transpose": "a transposed view of the tensor, passed from the workload (X.T[...])",
    "T": "a transposed view of the tensor, passed from the workload (X.T[...])",
    "power": "pto.mul (x * x), pto.sqrt (x ** 0.5) or pto.recip (x ** -1)",
    "pow": "pto.mul (x * x), pto.sqrt (x ** 0.5) or pto.recip (x ** -1)",
    "negative": "pto.neg(x) (or -x)", "absolute": "pto.abs(x)", "fabs": "pto.abs(x)",
    "subtract": "pto.sub(a, b)", "multiply": "pto.mul(a, b)", "divide": "pto.div(a, b)",
    "true_divide": "pto.div(a, b)", "reciprocal": "pto.recip(x)", "square": "x * x",
    "clip": "pto.maximum(pto.minimum(x, hi), lo)", "softmax": "pto.softmax(x)",
    "astype": "pto.cast(x, dtype)", "reshape": "a view of another shape, passed from the "
                                                "workload",
    "exp2": "pto.exp(x * log(2))", "floor_divide": "pto.div then pto.cast(..., round='floor')",
    "remainder": "pto.sub(a, pto.mul(b, floor(a / b)))", "mod": "pto.sub(a, pto.mul(b, "
                                                                 "floor(a / b)))",
}


def _pto_name(name: str, known) -> str | None:
    """``pto.<name>`` when ``name`` (a numpy function name) is a pto op too."""
    return f"pto.{name}(...)" if name in known else None


def numpy_on_tile(func: str, known) -> TypeCheckError:
    """``np.<func>(tile)``: numpy cannot compute on a traced tile."""
    instead = _pto_name(func, known) or _INSTEAD.get(func)
    return TypeCheckError(
        f"numpy's {func} cannot compute on a kernel tile: tiles exist only when the kernel "
        "runs", user_location(),
        hint=f"use {instead}" if instead else "use the pto.* ops (docs/api.md, \"Kernels\")")


def no_operator(symbol: str, instead: str) -> TypeCheckError:
    return TypeCheckError(f"tiles have no '{symbol}' operator", user_location(),
                          hint=f"use {instead}")


def no_attribute(name: str, known) -> UnknownNameError:
    instead = _INSTEAD.get(name)
    close = difflib.get_close_matches(name, known, n=1)
    return UnknownNameError(
        f"a kernel tile has no attribute '{name}'", user_location(),
        hint=(f"use {instead}" if instead else
              f"did you mean .{close[0]}?" if close else
              "a tile offers .shape and .dtype; compute with the pto.* ops"))


def unknown_op(module: str, name: str, known) -> UnknownNameError:
    """``pto.<name>`` / ``ptoisa.<name>`` that does not exist: the nearest real names."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    close += [k for k in known if name.lower() in k.lower() and k not in close][:3 - len(close)]
    instead = _INSTEAD.get(name) if module == "pto" else None
    hint = (f"use {instead}" if instead else
            "did you mean " + " or ".join(f"{module}.{c}" for c in close) + "?" if close else
            f"the {module}.* names are listed in docs/api.md")
    return UnknownNameError(f"{module}.{name} does not exist", user_location(), hint=hint)

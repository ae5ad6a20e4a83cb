"""Authoring side of scalar expressions: the ``Expr`` wrapper with Python operators.

Loop variables, task fields (``t.get("batch")``), symbols and slots are ``Expr`` objects;
arithmetic and comparisons on them build :mod:`pto_wsp.ir.expr` nodes. Using one as a Python
``bool`` is an error: predicates must be compiled (``P.when(expr)``), not evaluated now.
"""

from __future__ import annotations

import numpy as np

from .. import schedule
from ..errors import ScheduleError, SourceLoc, TypeCheckError, user_location
from ..ir import expr as ir
from ..types import Axis, DType

__all__ = ["Expr", "as_expr", "where", "cast", "symbol_u64", "symbol_i64", "symbol_f32",
           "symbol_ptr", "slot_u64", "TaskProxy", "AxisRow", "IntVar", "min_", "max_", "trace_key"]


def as_expr(x, loc=None) -> ir.ScalarExpr:
    """The IR node of an Expr, a Python int/float/bool or a numpy scalar."""
    if isinstance(x, Expr):
        return x.node
    if isinstance(x, ir.ScalarExpr):
        return x
    if isinstance(x, (bool, np.bool_)):
        return ir.Const(bool(x), DType.BOOL, loc)
    if isinstance(x, (int, np.integer)):
        return ir.Const(int(x), DType.I64, loc)
    if isinstance(x, (float, np.floating)):
        return ir.Const(float(x), DType.F64, loc)
    raise TypeCheckError(f"expected a scalar expression, got {type(x).__name__} {x!r}",
                         loc or user_location(),
                         hint="use loop variables, ints, floats, symbols or slots")


def _bin(op):
    def f(self, other):
        loc = user_location()
        return Expr(ir.Binary(op, self.node, as_expr(other, loc), loc))

    def r(self, other):
        loc = user_location()
        return Expr(ir.Binary(op, as_expr(other, loc), self.node, loc))
    return f, r


class Expr:
    """A scalar expression under construction (wraps an IR node)."""

    __slots__ = ("node",)
    __hash__ = None  # `==` builds an expression

    def __init__(self, node: ir.ScalarExpr):
        self.node = node

    __add__, __radd__ = _bin("add")
    __sub__, __rsub__ = _bin("sub")
    __mul__, __rmul__ = _bin("mul")
    __truediv__, __rtruediv__ = _bin("div")
    __floordiv__, __rfloordiv__ = _bin("floordiv")
    __mod__, __rmod__ = _bin("mod")
    __and__, __rand__ = _bin("and")
    __or__, __ror__ = _bin("or")
    __xor__, __rxor__ = _bin("xor")
    __lshift__, __rlshift__ = _bin("shl")
    __rshift__, __rrshift__ = _bin("shr")
    __lt__ = _bin("lt")[0]
    __le__ = _bin("le")[0]
    __gt__ = _bin("gt")[0]
    __ge__ = _bin("ge")[0]
    __eq__ = _bin("eq")[0]  # type: ignore[assignment]
    __ne__ = _bin("ne")[0]  # type: ignore[assignment]

    def __neg__(self):
        return Expr(ir.Unary("neg", self.node, user_location()))

    def __invert__(self):
        return Expr(ir.Unary("inv", self.node, user_location()))

    def logical_and(self, other):
        loc = user_location()
        return Expr(ir.Binary("land", self.node, as_expr(other, loc), loc))

    def logical_or(self, other):
        loc = user_location()
        return Expr(ir.Binary("lor", self.node, as_expr(other, loc), loc))

    def logical_not(self):
        return Expr(ir.Unary("not", self.node, user_location()))

    def __bool__(self):
        raise TypeCheckError(
            "a scalar expression has no Python truth value: it is evaluated when the program "
            "runs", user_location(),
            hint="use `with P.when(expr):` for conditions, where(c, a, b) for selection, and "
                 "`.logical_and(...)` instead of `and`")

    def __index__(self):
        raise TypeCheckError("a scalar expression cannot be used as a Python int",
                             user_location(), hint="index tensors with it instead: T[b]; to "
                             "read per-iteration integers from a list or numpy array, pass "
                             "it to a parameter of the @workload function")

    def __repr__(self) -> str:
        from ..ir.printer import format_expr
        return f"Expr({format_expr(self.node)})"


def where(cond, then, other) -> Expr:
    """``cond ? then : other``, evaluated at run time."""
    loc = user_location()
    return Expr(ir.Where(as_expr(cond, loc), as_expr(then, loc), as_expr(other, loc), loc))


def cast(x, dtype) -> Expr:
    loc = user_location()
    return Expr(ir.Cast(DType.of(dtype), as_expr(x, loc), loc))


def min_(a, b) -> Expr:
    loc = user_location()
    return Expr(ir.Binary("min", as_expr(a, loc), as_expr(b, loc), loc))


def max_(a, b) -> Expr:
    loc = user_location()
    return Expr(ir.Binary("max", as_expr(a, loc), as_expr(b, loc), loc))


def _symbol(dtype):
    def make(name: str) -> Expr:
        loc = user_location()
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeCheckError(f"symbol name must be an identifier, got {name!r}", loc)
        return Expr(ir.Symbol(name, dtype, loc))
    make.__doc__ = f"A runtime {dtype.value} symbol (``program.set_symbol_*``; no rebuild)."
    return make


symbol_u64 = _symbol(DType.U64)
symbol_i64 = _symbol(DType.I64)
symbol_f32 = _symbol(DType.F32)
symbol_ptr = _symbol(DType.U64)


def slot_u64(i: int) -> Expr:
    """The value of runtime slot ``i`` (see ``slot_set_u64`` / ``slot_load_u64``)."""
    loc = user_location()
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < 64:
        raise TypeCheckError(f"slot index must be an int in [0, 64), got {i!r}", loc)
    return Expr(ir.Slot(i, loc))


class TaskProxy:
    """The ``t`` of a schedule key function: its fields trace to expressions."""

    def get(self, axis: str) -> Expr:
        if not isinstance(axis, str):
            raise TypeCheckError(f"t.get() takes a loop variable name, got {axis!r}",
                                 user_location())
        return Expr(ir.Var(axis, user_location()))

    def param(self, i: int) -> Expr:
        """The ``i``-th axis value of the call (``k[a, b]``: ``t.param(0)`` is ``a``)."""
        loc = user_location()
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise TypeCheckError(f"t.param() takes an index >= 0, got {i!r}", loc)
        return Expr(ir.TaskParam(i, loc))

    def __getattr__(self, name: str) -> Expr:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)


def trace_key(fn, what: str) -> ir.ScalarExpr:
    """Trace a key function ``t -> expr`` into a ScalarExpr (located error if it cannot be)."""
    if isinstance(fn, (int, Expr)):
        return as_expr(fn, None)
    if not callable(fn):
        raise ScheduleError(f"{what} needs a key function `lambda t: ...`, got {fn!r}",
                            user_location())
    code = getattr(fn, "__code__", None)
    loc = SourceLoc(code.co_filename, code.co_firstlineno) if code else user_location()
    try:
        out = fn(TaskProxy())
    except ScheduleError:
        raise
    except Exception as e:  # the user's lambda did something we cannot trace
        raise ScheduleError(
            f"cannot trace the {what} key function: {type(e).__name__}: {e}", loc,
            hint="key functions may use t.get('axis'), t.<axis>, t.param(i), arithmetic, "
                 "comparisons and where(); they are compiled, not called per task") from None
    if isinstance(out, bool) or not isinstance(out, (int, Expr)):
        raise ScheduleError(f"the {what} key function returned {out!r}, not a scalar expression",
                            loc, hint="return an expression of t, e.g. `t.get('batch') % 4`")
    return as_expr(out, loc)


class IntVar(Expr):
    """A named runtime integer (spec 2.1): ``DenseDyn(n)`` is an axis of size ``n``, and ``n``
    in expressions (``P.when(i < n - 1)``) reads that size when the program runs.
    ``program.set_axis_sizes(name=v)`` sets it without a rebuild."""

    __slots__ = ("name", "intvar_axis")

    def __init__(self, name: str, value: int = 0):
        from ..types import DenseDyn
        loc = user_location()
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeCheckError(f"IntVar name must be an identifier, got {name!r}", loc)
        self.name = name
        self.intvar_axis = DenseDyn(value, name=name)

    @property
    def node(self) -> ir.ScalarExpr:
        from .workload import current_builder
        loc = user_location()
        b = current_builder(loc, f"IntVar '{self.name}'")
        return ir.AxisSize(b.axis_name(self.intvar_axis), None, loc)

    def __repr__(self) -> str:
        return f"IntVar({self.name!r}, {self.intvar_axis.size})"


class _Params:
    """The ``params`` of a cost function: ``params[i]`` is the task's ``i``-th axis value."""

    def __getitem__(self, i) -> Expr:
        return TaskProxy().param(i)


def trace_costs(fn, kernels) -> tuple[tuple[str, ir.ScalarExpr], ...]:
    """``fn(kernel_name, params)`` for each kernel name: (name, cycles expression) for those
    where it returns cycles (an int or an expression of ``params[i]``), not ``None``."""
    code = getattr(fn, "__code__", None)
    loc = SourceLoc(code.co_filename, code.co_firstlineno) if code else user_location()
    out = []
    for name in kernels:
        try:
            got = fn(name, _Params())
        except ScheduleError:
            raise
        except Exception as e:  # noqa: BLE001 - the user's function did something untraceable
            raise ScheduleError(
                f"cannot trace the cost function for kernel '{name}': {type(e).__name__}: {e}",
                loc, hint="a cost function gets the kernel name (a str) and params (params[i] "
                          "is the task's i-th axis value) and returns cycles: an int, an "
                          "expression of params, or None for the cost model's") from None
        if got is None:
            continue
        if isinstance(got, bool) or not isinstance(got, (int, Expr)):
            raise ScheduleError(f"the cost function returned {got!r} for kernel '{name}', not "
                                "cycles", loc, hint="return an int, an expression of "
                                "params[i], or None")
        e = as_expr(got, loc)
        if e.dtype.is_float:
            raise ScheduleError(f"the cost function returned a {e.dtype.value} expression for "
                                f"kernel '{name}'; cycles are integers", loc)
        if isinstance(e, ir.Const) and not 0 <= e.value < 2**63:
            raise ScheduleError(f"the cost function returned {e.value} cycles for kernel "
                                f"'{name}'; cycles are in [0, 2**63)", loc)
        out.append((name, e))
    return tuple(out)


schedule.set_key_tracer(trace_key)


class AxisRow:
    """``ragged[b]`` / ``sparse[b]``: the inner iteration row of outer index ``b``."""

    def __init__(self, axis, outer, loc):
        self.axis = axis
        self.outer = as_expr(outer, loc)
        self.loc = loc

    def size(self) -> Expr:
        """The number of inner iterations of this row."""
        from .workload import current_builder
        name = current_builder(self.loc, "axis row size").axis_name(self.axis)
        return Expr(ir.AxisSize(name, self.outer, self.loc))


Axis.row_of = AxisRow

"""Kernel tracing: ``pto.*`` calls inside a ``@kernel`` body record typed tile instructions.

A :class:`Tracer` is active while a kernel body runs. Parameters are :class:`ParamValue`
objects (using a tile parameter as an operand loads it once); every op returns a
:class:`Value` with a static :class:`~pto_wsp.ir.nodes.TileType`. Shapes and dtypes are
checked as ops are recorded, with the user's source location.
"""

from __future__ import annotations

from ..errors import TypeCheckError, user_location
from ..ir.nodes import (Imm, KernelOp, Param, ParamRef, ScalarType, TensorType, TileType,
                        ValueRef)
from ..types import DType
from . import hints

_active: list["Tracer"] = []


def tracer(what: str) -> "Tracer":
    """The active tracer, or a helpful error when a ``pto.*`` op runs outside a kernel."""
    if not _active:
        raise TypeCheckError(
            f"pto.{what} can only be used inside a @kernel function body", user_location(),
            hint="tile ops build kernel IR; call the kernel from a @workload instead")
    return _active[-1]


class TileOperand:
    """Operators of tile operands (values and tile parameters): sugar for the ``pto`` ops.

    A tile only exists when the kernel runs, so Python cannot decide on it now: truth tests,
    ``len``, iteration, indexing and ``int``/``float`` conversions are located errors.
    """

    __slots__ = ()
    __hash__ = None  # `==` builds a comparison tile

    def __add__(self, o): return _pto().add(self, o)
    def __radd__(self, o): return _pto().add(o, self)
    def __sub__(self, o): return _pto().sub(self, o)
    def __rsub__(self, o): return _pto().sub(o, self)
    def __mul__(self, o): return _pto().mul(self, o)
    def __rmul__(self, o): return _pto().mul(o, self)
    def __truediv__(self, o): return _pto().div(self, o)
    def __rtruediv__(self, o): return _pto().div(o, self)
    def __neg__(self): return _pto().neg(self)
    def __matmul__(self, o): return _pto().matmul(self, o)
    def __lt__(self, o): return _pto().cmp(self, o, "lt")
    def __le__(self, o): return _pto().cmp(self, o, "le")
    def __gt__(self, o): return _pto().cmp(self, o, "gt")
    def __ge__(self, o): return _pto().cmp(self, o, "ge")
    def __eq__(self, o): return _pto().cmp(self, o, "eq")  # type: ignore[override]
    def __ne__(self, o): return _pto().cmp(self, o, "ne")  # type: ignore[override]

    def _no_python_value(self, what: str):
        scalar = isinstance(self, ParamValue) and isinstance(self.param.type, ScalarType)
        raise TypeCheckError(
            f"a kernel operand has no Python {what}: tiles and scalar parameters exist only "
            "when the kernel runs",
            user_location(),
            hint=_SCALAR_HINT if scalar else
            "decide per element with pto.cmp / comparisons (a bool tile) and "
            "pto.select(mask, a, b); reduce with pto.rowmax / pto.rowsum ...")

    # bitwise sugar (integer tiles)
    def __and__(self, o): return _pto().bitwise_and(self, o)
    def __rand__(self, o): return _pto().bitwise_and(o, self)
    def __or__(self, o): return _pto().bitwise_or(self, o)
    def __ror__(self, o): return _pto().bitwise_or(o, self)
    def __xor__(self, o): return _pto().bitwise_xor(self, o)
    def __rxor__(self, o): return _pto().bitwise_xor(o, self)
    def __lshift__(self, o): return _pto().shl(self, o)
    def __rshift__(self, o): return _pto().shr(self, o)
    def __abs__(self): return _pto().abs(self)

    def __pow__(self, o): raise hints.no_operator("**", hints._INSTEAD["pow"])
    __rpow__ = __pow__
    def __floordiv__(self, o):
        if _kl().is_index(self):
            return _index_op("floordiv", self, o)
        raise hints.no_operator("//", hints._INSTEAD["floor_divide"])

    def __rfloordiv__(self, o):
        if _kl().is_index(self):
            return _index_op("floordiv", o, self)
        raise hints.no_operator("//", hints._INSTEAD["floor_divide"])

    def __mod__(self, o):
        if _kl().is_index(self):
            return _index_op("mod", self, o)
        raise hints.no_operator("%", hints._INSTEAD["mod"])

    def __rmod__(self, o):
        if _kl().is_index(self):
            return _index_op("mod", o, self)
        raise hints.no_operator("%", hints._INSTEAD["mod"])

    def __getattr__(self, name: str):
        if name.startswith("__"):  # protocol probes (numpy, copy, pickle) stay quiet
            raise AttributeError(name)
        raise hints.no_attribute(name, ("shape", "dtype"))

    # numpy: a numpy scalar on the left of an operator reaches us as a ufunc; other numpy
    # functions on a tile are located errors naming the pto.* op to use
    _UFUNC_OPS = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div",
                  "maximum": "maximum", "minimum": "minimum"}

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = self._UFUNC_OPS.get(ufunc.__name__)
        if op is None or method != "__call__" or kwargs or len(inputs) != 2:
            raise hints.numpy_on_tile(ufunc.__name__, _pto().__all__)
        a, b = (x.item() if hasattr(x, "item") and not isinstance(x, TileOperand) else x
                for x in inputs)
        return getattr(_pto(), op)(a, b)

    def __array_function__(self, func, types, args, kwargs):
        raise hints.numpy_on_tile(func.__name__, _pto().__all__)

    def __bool__(self): self._no_python_value("truth value")
    def __len__(self): self._no_python_value("length")
    def __iter__(self): self._no_python_value("elements to iterate")
    def __contains__(self, o): self._no_python_value("elements to search")
    def __getitem__(self, i):
        raise TypeCheckError(
            "a kernel tile cannot be indexed or sliced: it exists only when the kernel runs",
            user_location(),
            hint="pass the sub-view you need from the workload (X[b, 0:8]); pick elements "
                 "with pto.cmp/pto.select, halves with pto.slice_even/pto.slice_odd")
    def __index__(self): self._no_python_value("integer value")
    def __int__(self): self._no_python_value("integer value")
    def __float__(self): self._no_python_value("float value")
    def __complex__(self): self._no_python_value("complex value")


class Value(TileOperand):
    """A tile value produced by a traced op."""

    __slots__ = ("ref", "type", "tracer")

    def __init__(self, ref: ValueRef, type_: TileType, tr: "Tracer"):
        self.ref = ref
        self.type = type_
        self.tracer = tr

    @property
    def shape(self) -> tuple[int, int]:
        return (self.type.rows, self.type.cols)

    @property
    def dtype(self) -> DType:
        return self.type.dtype

    def __repr__(self) -> str:
        return f"Value(%{self.ref.index}: {self.type})"


def _pto():
    from . import pto
    return pto


def _kl():
    from . import kloops
    return kloops


def _index_op(op: str, a, b):
    """Integer scalar arithmetic (loop indices, Scalar parameters): docs/kernels.md."""
    return _kl().scalar_op(op, a, b)


_SCALAR_HINT = ("loop with `for k in pto.range(n):`, branch with `with pto.when(k > 0):`, "
                "compute offsets with + - * // %")


class ScalarValue:
    """A scalar operand: an immediate (``pto.constant``), a ``Scalar[...]`` parameter or a
    traced integer (a ``pto.range`` index, index arithmetic, a comparison)."""

    __slots__ = ("operand", "dtype")
    __hash__ = None

    def __init__(self, operand: Imm | ParamRef | ValueRef, dtype: DType):
        self.operand = operand
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"ScalarValue({self.operand}, {self.dtype.value})"

    def __add__(self, o): return _index_op("add", self, o)
    def __radd__(self, o): return _index_op("add", o, self)
    def __sub__(self, o): return _index_op("sub", self, o)
    def __rsub__(self, o): return _index_op("sub", o, self)
    def __mul__(self, o): return _index_op("mul", self, o)
    def __rmul__(self, o): return _index_op("mul", o, self)
    def __floordiv__(self, o): return _index_op("floordiv", self, o)
    def __rfloordiv__(self, o): return _index_op("floordiv", o, self)
    def __mod__(self, o): return _index_op("mod", self, o)
    def __rmod__(self, o): return _index_op("mod", o, self)
    def __lt__(self, o): return _index_op("lt", self, o)
    def __le__(self, o): return _index_op("le", self, o)
    def __gt__(self, o): return _index_op("gt", self, o)
    def __ge__(self, o): return _index_op("ge", self, o)
    def __eq__(self, o): return _index_op("eq", self, o)  # type: ignore[override]
    def __ne__(self, o): return _index_op("ne", self, o)  # type: ignore[override]

    def _no_value(self, what: str):
        raise TypeCheckError(f"a traced scalar has no Python {what}: it exists only when the "
                             "kernel runs", user_location(), hint=_SCALAR_HINT)

    def __bool__(self): self._no_value("truth value")
    def __index__(self): self._no_value("integer value")
    def __int__(self): self._no_value("integer value")
    def __float__(self): self._no_value("float value")


class ParamValue(TileOperand):
    """A kernel parameter as seen by the body (a tile operand when it is a tile)."""

    __slots__ = ("param", "tracer")

    def __init__(self, param: Param, tr: "Tracer"):
        self.param = param
        self.tracer = tr

    @property
    def shape(self):
        t = self.param.type
        if isinstance(t, TileType):
            return (t.rows, t.cols)
        raise TypeCheckError(f"parameter '{self.param.name}' has no static shape",
                             user_location(), hint="declare it as Tile[rows, cols, dtype]")

    @property
    def dtype(self) -> DType:
        return self.param.type.dtype

    def __repr__(self) -> str:
        return f"ParamValue({self.param.name}: {self.param.type})"


class Tracer:
    """Records the instructions of one kernel body."""

    def __init__(self, kernel_name: str, params: tuple[Param, ...]):
        self.kernel_name = kernel_name
        self.params = {p.name: p for p in params}
        self.ops: list[KernelOp] = []
        self.n_values = 0
        self.loaded: dict[str, Value] = {}
        self.stored: set[str] = set()
        self.regions: list = []  # open pto.range / pto.when bodies (language/kloops.py)
        self.closed: set[int] = set()  # values made inside a body that has ended

    def check_open(self, index: int, loc) -> None:
        """A located error for a value made inside a loop or block that has ended."""
        if index in self.closed:
            raise TypeCheckError(
                "this value was made inside a pto.range / pto.when body that has ended", loc,
                hint="to carry a tile out of a loop or block, assign it to a variable before "
                     "it and rebind that variable inside (acc = ...)")

    def __enter__(self):
        _active.append(self)
        return self

    def __exit__(self, *exc):
        _active.pop()

    def emit(self, opcode: str, operands, types, attrs=(), loc=None) -> list[Value]:
        loc = loc or user_location()
        results = tuple(range(self.n_values, self.n_values + len(types)))
        self.n_values += len(types)
        self.ops.append(KernelOp(opcode, tuple(operands), results, tuple(types),
                                 tuple(sorted(attrs)), loc))
        return [Value(ValueRef(r), t, self) for r, t in zip(results, types)]

    # -- operand coercion ---------------------------------------------------------
    def tile(self, x, what: str) -> Value:
        """``x`` as a tile value (loading a tile parameter on first use)."""
        if isinstance(x, Value):
            if x.tracer is not self:
                raise TypeCheckError("a tile value from another kernel was used here",
                                     user_location())
            self.check_open(x.ref.index, user_location())
            return x
        if isinstance(x, ParamValue):
            return self.load_param(x, explicit=False)
        raise TypeCheckError(f"{what} expects a tile, got {type(x).__name__} {x!r}",
                             user_location())

    def load_param(self, pv: ParamValue, explicit: bool) -> Value:
        p = pv.param
        loc = user_location()
        if not isinstance(p.type, TileType):
            raise TypeCheckError(
                f"parameter '{p.name}' is a {p.type}, not a tile", loc,
                hint="declare it as In[Tile[rows, cols, dtype]] to load it")
        if p.direction == "out":
            raise TypeCheckError(f"parameter '{p.name}' is Out: it cannot be read", loc,
                                 hint="declare it InOut[...] to read and write it")
        if not explicit and p.name in self.loaded:  # (values of ended bodies are dropped)
            return self.loaded[p.name]
        (v,) = self.emit("tload", [ParamRef(p.name)], [p.type], loc=loc)
        self.loaded.setdefault(p.name, v)
        return v

    def scalar(self, x, dtype: DType, what: str) -> ScalarValue:
        """``x`` (a Python number, pto.constant or Scalar param) as a scalar of ``dtype``."""
        loc = user_location()
        if isinstance(x, ScalarValue):
            if isinstance(x.operand, ValueRef):
                self.check_open(x.operand.index, loc)
            if x.dtype is not dtype:
                raise TypeCheckError(
                    f"{what}: scalar of dtype {x.dtype.value} used with a {dtype.value} tile",
                    loc, hint=f"use pto.constant(value, DType.{dtype.name})")
            return x
        if isinstance(x, ParamValue) and isinstance(x.param.type, ScalarType):
            return self.scalar(ScalarValue(ParamRef(x.param.name), x.param.type.dtype), dtype,
                               what)
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeCheckError(f"{what} expects a tile or a number, got {x!r}", loc)
        if not dtype.is_float and isinstance(x, float) and not x.is_integer():
            raise TypeCheckError(f"{what}: non-integer {x} used with a {dtype.value} tile", loc)
        return ScalarValue(Imm(float(x) if dtype.is_float else int(x), dtype), dtype)

    def store(self, pv: TileOperand, v: TileOperand) -> None:
        loc = user_location()
        if not isinstance(pv, ParamValue):
            raise TypeCheckError("pto.store's first argument must be a kernel parameter", loc)
        p = pv.param
        if isinstance(p.type, TensorType) or not isinstance(p.type, TileType):
            raise TypeCheckError(f"cannot store a tile to parameter '{p.name}' of type "
                                 f"{p.type}", loc, hint="declare it Out[Tile[rows, cols, dtype]]")
        if p.direction == "in":
            raise TypeCheckError(f"parameter '{p.name}' is In: the kernel cannot store to it",
                                 loc, hint="declare it Out[...] or InOut[...]")
        v = self.tile(v, "pto.store")
        if v.type != p.type:
            raise TypeCheckError(f"storing a {v.type} to parameter '{p.name}' of type {p.type}",
                                 loc, hint="shapes and dtypes must match exactly; use pto.cast")
        self.emit("tstore", [ParamRef(p.name), v.ref], [], loc=loc)
        self.stored.add(p.name)

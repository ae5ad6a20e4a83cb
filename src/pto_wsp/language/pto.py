"""The ``pto.*`` tile language (spec 6.1). Each function records tile instructions.

Binary ops broadcast implicitly: a ``[R, 1]`` operand (a row reduction) is expanded along
rows, a ``[1, C]`` operand along columns, a Python number or scalar becomes the scalar form
of the instruction -- on either side.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TypeCheckError, user_location
from ..ir.nodes import TensorType, TileType
from ..ir.ops import CMP_MODES, ROUND_MODES, result_types
from ..types import DType
from . import hints, kloops
from .kloops import range_ as range  # noqa: A001 - pto.range
from .kloops import when
from .tracing import ParamValue, ScalarValue, TileOperand, Value, tracer

#: a tile operand: a traced value or a tile parameter
TileArg = TileOperand
#: a tile, or a scalar (number, ``pto.constant``, ``Scalar`` parameter) for the scalar form
Operand = TileOperand | ScalarValue | int | float
#: a tile shape (rows, cols)
Shape = tuple[int, int] | list[int]
#: a dtype: a ``DType``, its text (``"f32"``) or a numpy dtype
DTypeLike = DType | str | type | np.dtype

__all__ = [
    "load", "store", "alloc", "add", "sub", "mul", "div", "maximum", "minimum", "max", "min",
    "exp", "log", "sqrt", "rsqrt", "recip", "tanh", "sigmoid", "sin", "cos", "relu", "gelu",
    "silu", "neg", "abs", "rowsum", "rowmax", "rowmin", "rowmean", "colsum", "colmax",
    "colmin", "colmean", "rowmul", "rowadd", "rowsub", "rowdiv", "colmul", "coladd", "colsub",
    "coldiv", "broadcast", "matmul", "constant", "slice_even", "slice_odd", "interleave",
    "cast", "cmp", "select", "iota", "sort32", "mrgsort", "extract", "bitwise_and",
    "bitwise_or", "bitwise_xor", "shl", "shr", "softmax", "mov", "range", "when",
]

_COMMUTATIVE = {"add", "mul", "max", "min", "and", "or", "xor"}


def _is_tile(x) -> bool:
    return isinstance(x, Value) or (isinstance(x, ParamValue) and isinstance(x.param.type,
                                                                            TileType))


def _binary(op: str, a, b) -> Value:
    tr = tracer(op)
    loc = user_location()
    if not _is_tile(a) and not _is_tile(b) and op in ("add", "sub", "mul") and (
            kloops.is_index(a) or kloops.is_index(b)):
        return kloops.scalar_op(op, a, b)
    if not _is_tile(a) and not _is_tile(b):
        raise TypeCheckError(f"pto.{op} needs at least one tile operand", loc)
    if not _is_tile(a):  # scalar on the left
        b = tr.tile(b, f"pto.{op}")
        s = tr.scalar(a, b.dtype, f"pto.{op}")
        if op in _COMMUTATIVE:
            return tr.emit(f"t{op}s", [b.ref, s.operand], [b.type], loc=loc)[0]
        if op in ("sub", "div"):
            return tr.emit(f"tr{op}s", [b.ref, s.operand], [b.type], loc=loc)[0]
        return _binary(op, _fill(tr, s, b.type, loc), b)
    a = tr.tile(a, f"pto.{op}")
    if not _is_tile(b):
        s = tr.scalar(b, a.dtype, f"pto.{op}")
        return tr.emit(f"t{op}s", [a.ref, s.operand], [a.type], loc=loc)[0]
    b = tr.tile(b, f"pto.{op}")
    if a.dtype is not b.dtype:
        raise TypeCheckError(f"pto.{op}: dtype mismatch {a.dtype.value} vs {b.dtype.value}", loc,
                             hint="convert one operand with pto.cast(x, dtype)")
    (ra, ca), (rb, cb) = a.shape, b.shape
    if (ra, ca) == (rb, cb):
        return tr.emit(f"t{op}", [a.ref, b.ref], [a.type], loc=loc)[0]
    if op in ("and", "or", "xor", "shl", "shr"):
        raise TypeCheckError(f"pto.{op}: shapes {a.shape} and {b.shape} differ", loc)
    # implicit broadcasting of a row vector [R,1] or column vector [1,C], on either side
    for big, vec, swapped in ((a, b, False), (b, a, True)):
        (R, C), (vr, vc) = big.shape, vec.shape
        kind = "row" if (vr, vc) == (R, 1) else "col" if (vr, vc) == (1, C) else None
        if kind is None:
            continue
        if not swapped or op in _COMMUTATIVE:
            return tr.emit(f"t{kind}expand{op}", [big.ref, vec.ref], [big.type], loc=loc)[0]
        full = broadcast(vec, (R, C))
        return tr.emit(f"t{op}", [full.ref, big.ref], [big.type], loc=loc)[0]
    raise TypeCheckError(
        f"pto.{op}: shapes {a.shape} and {b.shape} are not compatible", loc,
        hint="operands must have equal shapes, or one must be a [R, 1] row vector or a "
             "[1, C] column vector of the other")


def _fill(tr, s: ScalarValue, t: TileType, loc) -> Value:
    return tr.emit("texpands", [s.operand], [t],
                   [("rows", t.rows), ("cols", t.cols), ("dtype", t.dtype.value)], loc)[0]


def _unary(op: str, x, float_only=False) -> Value:
    x = _float_tile(op, x) if float_only else tracer(op).tile(x, f"pto.{op}")
    return x.tracer.emit(f"t{op}", [x.ref], [x.type])[0]


# ---------------------------------------------------------------- memory

def load(src: TileArg, row=None, col=None, shape: Shape | None = None,
         level: str | None = None) -> Value:
    """Load a tile parameter (``In`` or ``InOut``), or with ``row=, col=, shape=`` the tile of
    that shape at that offset of a ``Tensor[rows, cols, dtype]`` parameter (offsets may be
    loop indices and arithmetic on them; ``level``: UB, L1, L0A, L0B or L0C)."""
    tr = tracer("load")
    if not isinstance(src, ParamValue):
        raise TypeCheckError("pto.load expects a kernel parameter", user_location())
    if row is None and col is None and shape is None and level is None:
        return tr.load_param(src, explicit=True)
    if row is None or col is None or shape is None:
        raise TypeCheckError("a tensor tile load needs row=, col= and shape=", user_location(),
                             hint="pto.load(A, row=r, col=c, shape=(16, 64))")
    return kloops.load_at(tr, src, row, col, shape, level)


def store(dst: TileArg, src: TileArg, row=None, col=None) -> None:
    """Store a tile to an ``Out``/``InOut`` tile parameter (same shape and dtype), or with
    ``row=, col=`` into a ``Tensor[...]`` parameter at that offset."""
    tr = tracer("store")
    if row is None and col is None:
        if isinstance(dst, ParamValue) and isinstance(dst.param.type, TensorType):
            raise TypeCheckError(f"storing into the tensor '{dst.param.name}' needs row= and "
                                 "col=", user_location(), hint="pto.store(O, tile, row=r, col=0)")
        return tr.store(dst, src)
    if row is None or col is None or not isinstance(dst, ParamValue) or not isinstance(
            dst.param.type, TensorType):
        raise TypeCheckError("pto.store(dst, tile, row=, col=) stores into a Tensor[rows, cols, "
                             "dtype] parameter at that offset", user_location())
    kloops.store_at(tr, dst, src, row, col)


def alloc(shape: Shape, dtype: DTypeLike) -> Value:
    """A new tile of ``shape``, zero-initialised."""
    tr = tracer("alloc")
    rows, cols = _shape2(shape)
    dt = DType.of(dtype)
    return _fill(tr, tr.scalar(0, dt, "pto.alloc"), TileType(rows, cols, dt), user_location())


def mov(x: TileArg) -> Value:
    return _unary("mov", x)


def _shape2(shape) -> tuple[int, int]:
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(isinstance(d, int) and d > 0 for d in shape)):
        raise TypeCheckError(f"a tile shape is (rows, cols) of positive ints, got {shape!r}",
                             user_location())
    return int(shape[0]), int(shape[1])


# ---------------------------------------------------------------- arithmetic

def add(a: Operand, b: Operand) -> Value: return _binary("add", a, b)
def sub(a: Operand, b: Operand) -> Value: return _binary("sub", a, b)
def mul(a: Operand, b: Operand) -> Value: return _binary("mul", a, b)
def div(a: Operand, b: Operand) -> Value: return _binary("div", a, b)
def maximum(a: Operand, b: Operand) -> Value: return _binary("max", a, b)
def minimum(a: Operand, b: Operand) -> Value: return _binary("min", a, b)
def bitwise_and(a: Operand, b: Operand) -> Value: return _binary("and", a, b)
def bitwise_or(a: Operand, b: Operand) -> Value: return _binary("or", a, b)
def bitwise_xor(a: Operand, b: Operand) -> Value: return _binary("xor", a, b)
def shl(a: Operand, b: Operand) -> Value: return _binary("shl", a, b)
def shr(a: Operand, b: Operand) -> Value: return _binary("shr", a, b)


max = maximum  # noqa: A001 - spec names
min = minimum  # noqa: A001

# ---------------------------------------------------------------- math / activations

def exp(x: TileArg) -> Value: return _unary("exp", x, True)
def log(x: TileArg) -> Value: return _unary("log", x, True)
def sqrt(x: TileArg) -> Value: return _unary("sqrt", x, True)
def rsqrt(x: TileArg) -> Value: return _unary("rsqrt", x, True)
def recip(x: TileArg) -> Value: return _unary("recip", x, True)
def sin(x: TileArg) -> Value: return _unary("sin", x, True)
def cos(x: TileArg) -> Value: return _unary("cos", x, True)
def tanh(x: TileArg) -> Value: return _unary("tanh", x, True)
def relu(x: TileArg) -> Value: return _unary("relu", x)
def neg(x: TileArg) -> Value: return _unary("neg", x)
def abs(x: TileArg) -> Value: return _unary("abs", x)  # noqa: A001


def sigmoid(x: TileArg) -> Value:
    """1 / (1 + exp(-x)), composed from TNEG, TEXP, TADDS, TRECIP."""
    return recip(add(exp(neg(x)), 1.0))


def silu(x: TileArg) -> Value:
    """x * sigmoid(x)."""
    return mul(x, sigmoid(x))


def gelu(x: TileArg) -> Value:
    """tanh-approximated GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x3 = mul(mul(x, x), x)
    inner = mul(add(x, mul(x3, 0.044715)), math.sqrt(2.0 / math.pi))
    return mul(mul(x, 0.5), add(tanh(inner), 1.0))


# ---------------------------------------------------------------- reductions

def _reduce(kind: str, op: str, x) -> Value:
    tr = tracer(f"{kind}{op}")
    x = tr.tile(x, f"pto.{kind}{op}")
    r, c = x.shape
    t = TileType(r, 1, x.dtype) if kind == "row" else TileType(1, c, x.dtype)
    return tr.emit(f"t{kind}{op}", [x.ref], [t])[0]


def rowsum(x: TileArg) -> Value: return _reduce("row", "sum", x)
def rowmax(x: TileArg) -> Value: return _reduce("row", "max", x)
def rowmin(x: TileArg) -> Value: return _reduce("row", "min", x)
def colsum(x: TileArg) -> Value: return _reduce("col", "sum", x)
def colmax(x: TileArg) -> Value: return _reduce("col", "max", x)
def colmin(x: TileArg) -> Value: return _reduce("col", "min", x)


def rowmean(x: TileArg) -> Value:
    """Row sums times 1/cols."""
    x = _float_tile("rowmean", x)
    return mul(rowsum(x), 1.0 / x.shape[1])


def colmean(x: TileArg) -> Value:
    """Column sums times 1/rows."""
    x = _float_tile("colmean", x)
    return mul(colsum(x), 1.0 / x.shape[0])


def _float_tile(what, x) -> Value:
    x = tracer(what).tile(x, f"pto.{what}")
    if not x.dtype.is_float:
        raise TypeCheckError(f"pto.{what} needs a floating-point tile, got {x.dtype.value}",
                             user_location(), hint="pto.cast it to f32 first")
    return x


def softmax(x: TileArg) -> Value:
    """Row-wise softmax: exp(x - rowmax) / rowsum."""
    e = exp(sub(x, rowmax(x)))
    return div(e, rowsum(e))


# ---------------------------------------------------------------- broadcasts

def _vec_binary(kind: str, op: str, tile, vec) -> Value:
    tr = tracer(f"{kind}{op}")
    loc = user_location()
    t, v = tr.tile(tile, f"pto.{kind}{op}"), tr.tile(vec, f"pto.{kind}{op}")
    want = (t.shape[0], 1) if kind == "row" else (1, t.shape[1])
    if v.shape != want or v.dtype is not t.dtype:
        raise TypeCheckError(
            f"pto.{kind}{op}: vector must be {want[0]}x{want[1]} {t.dtype.value} for a "
            f"{t.shape[0]}x{t.shape[1]} tile, got {v.type}", loc)
    return tr.emit(f"t{kind}expand{op}", [t.ref, v.ref], [t.type], loc=loc)[0]


def rowmul(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("row", "mul", tile, vec)
def rowadd(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("row", "add", tile, vec)
def rowsub(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("row", "sub", tile, vec)
def rowdiv(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("row", "div", tile, vec)
def colmul(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("col", "mul", tile, vec)
def coladd(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("col", "add", tile, vec)
def colsub(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("col", "sub", tile, vec)
def coldiv(tile: TileArg, vec: TileArg) -> Value: return _vec_binary("col", "div", tile, vec)


def broadcast(x: Operand, shape: Shape) -> Value:
    """Broadcast a scalar, a [R,1] row vector or a [1,C] column vector to ``shape``."""
    tr = tracer("broadcast")
    loc = user_location()
    R, C = _shape2(shape)
    if not _is_tile(x):
        if isinstance(x, ScalarValue):
            return _fill(tr, x, TileType(R, C, x.dtype), loc)
        raise TypeCheckError("pto.broadcast of a Python number needs a dtype", loc,
                             hint="use pto.broadcast(pto.constant(v, dtype), shape)")
    v = tr.tile(x, "pto.broadcast")
    t = TileType(R, C, v.dtype)
    if v.shape == (R, C):
        return v
    if v.shape == (R, 1):
        return tr.emit("trowexpand", [v.ref], [t], [("cols", C)], loc)[0]
    if v.shape == (1, C):
        return tr.emit("tcolexpand", [v.ref], [t], [("rows", R)], loc)[0]
    raise TypeCheckError(f"cannot broadcast a {v.type} to {R}x{C}", loc)


# ---------------------------------------------------------------- matrix

_MATMUL = {
    (DType.F32, DType.F32): DType.F32, (DType.F16, DType.F16): DType.F32,
    (DType.BF16, DType.BF16): DType.F32, (DType.I8, DType.I8): DType.I32,
}


def matmul(a: TileArg, b: TileArg, acc: TileArg | None = None) -> Value:
    """``a @ b`` (+ ``acc``). f16/bf16 inputs accumulate in f32, i8 in i32."""
    tr = tracer("matmul")
    loc = user_location()
    a, b = tr.tile(a, "pto.matmul"), tr.tile(b, "pto.matmul")
    out = _MATMUL.get((a.dtype, b.dtype))
    if out is None:
        raise TypeCheckError(
            f"pto.matmul does not support {a.dtype.value} x {b.dtype.value}", loc,
            hint="supported: f32xf32, f16xf16, bf16xbf16 (-> f32) and i8xi8 (-> i32)")
    (M, K), (K2, N) = a.shape, b.shape
    if K != K2:
        raise TypeCheckError(f"pto.matmul: inner dimensions differ ({M}x{K} @ {K2}x{N})", loc)
    t = TileType(M, N, out)
    if acc is None:
        return tr.emit("tmatmul", [a.ref, b.ref], [t], loc=loc)[0]
    c = tr.tile(acc, "pto.matmul(acc=)")
    if c.type != t:
        raise TypeCheckError(f"pto.matmul: accumulator is {c.type}, expected {t}", loc)
    return tr.emit("tmatmul_acc", [c.ref, a.ref, b.ref], [t], loc=loc)[0]


# ---------------------------------------------------------------- special

def constant(value: int | float, dtype: DTypeLike) -> ScalarValue:
    """A scalar constant of ``dtype`` for use as an operand."""
    tr = tracer("constant")
    return tr.scalar(value, DType.of(dtype), "pto.constant")


def slice_even(x: TileArg) -> Value:
    return _half("even", x)


def slice_odd(x: TileArg) -> Value:
    return _half("odd", x)


def _half(which, x):
    tr = tracer(f"slice_{which}")
    x = tr.tile(x, f"pto.slice_{which}")
    r, c = x.shape
    if c % 2:
        raise TypeCheckError(f"pto.slice_{which} needs an even number of columns, got {c}",
                             user_location())
    return tr.emit(f"tslice_{which}", [x.ref], [TileType(r, c // 2, x.dtype)])[0]


def interleave(a: TileArg, b: TileArg) -> Value:
    """Columns of ``a`` and ``b`` alternated: out[:, 2j] = a[:, j], out[:, 2j+1] = b[:, j]."""
    tr = tracer("interleave")
    a, b = tr.tile(a, "pto.interleave"), tr.tile(b, "pto.interleave")
    if a.type != b.type:
        raise TypeCheckError(f"pto.interleave: {a.type} vs {b.type}", user_location())
    return tr.emit("tinterleave", [a.ref, b.ref],
                   [TileType(a.shape[0], 2 * a.shape[1], a.dtype)])[0]


def cast(x: TileArg, dtype: DTypeLike, round: str = "rint") -> Value:  # noqa: A002 - spec name
    """Convert element type; ``round``: rint (nearest-even), round, floor, ceil, trunc, odd."""
    tr = tracer("cast")
    x = tr.tile(x, "pto.cast")
    if round not in ROUND_MODES:
        raise TypeCheckError(f"unknown rounding mode {round!r}", user_location(),
                             hint="use one of " + ", ".join(ROUND_MODES))
    dt = DType.of(dtype)
    return tr.emit("tcvt", [x.ref], [TileType(x.shape[0], x.shape[1], dt)],
                   [("dtype", dt.value), ("round", round)])[0]


def cmp(a: Operand, b: Operand, mode: str) -> Value:
    """Element-wise comparison -> bool tile (one byte per element). mode: eq ne lt le gt ge."""
    tr = tracer("cmp")
    loc = user_location()
    if mode not in CMP_MODES:
        raise TypeCheckError(f"unknown comparison {mode!r}", loc,
                             hint="use one of " + ", ".join(CMP_MODES))
    if not _is_tile(a) and kloops.is_index(a):
        return kloops.scalar_op(mode, a, b)
    a = tr.tile(a, "pto.cmp")
    out = TileType(a.shape[0], a.shape[1], DType.BOOL)
    if not _is_tile(b):
        s = tr.scalar(b, a.dtype, "pto.cmp")
        return tr.emit("tcmps", [a.ref, s.operand], [out], [("mode", mode)], loc)[0]
    b = tr.tile(b, "pto.cmp")
    if a.type != b.type:
        raise TypeCheckError(f"pto.cmp: {a.type} vs {b.type}", loc)
    return tr.emit("tcmp", [a.ref, b.ref], [out], [("mode", mode)], loc)[0]


def select(mask: TileArg, a: Operand, b: Operand) -> Value:
    """``mask ? a : b`` element-wise; ``a``/``b`` may be numbers."""
    tr = tracer("select")
    loc = user_location()
    m = tr.tile(mask, "pto.select")
    if m.dtype is not DType.BOOL:
        raise TypeCheckError(f"pto.select mask must be a bool tile (from pto.cmp), got "
                             f"{m.type}", loc)
    like = next((tr.tile(v, "pto.select") for v in (a, b) if _is_tile(v)), None)
    if like is None:
        raise TypeCheckError("pto.select needs at least one tile value", loc)
    a, b = (tr.tile(v, "pto.select") if _is_tile(v) else
            _fill(tr, tr.scalar(v, like.dtype, "pto.select"), like.type, loc) for v in (a, b))
    if a.type != b.type or a.shape != m.shape:
        raise TypeCheckError(f"pto.select: mask {m.type}, values {a.type} and {b.type}", loc)
    return tr.emit("tsel", [m.ref, a.ref, b.ref], [a.type], loc=loc)[0]


def iota(shape: Shape, dtype: DTypeLike = DType.I32, start: int | float = 0,
         step: int | float = 1) -> Value:
    """out[i, j] = start + (i * cols + j) * step (step may be negative: descending)."""
    tr = tracer("iota")
    R, C = _shape2(shape)
    dt = DType.of(dtype)
    for v in (start, step):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeCheckError("pto.iota start/step must be numbers", user_location())
    return tr.emit("tci", [], [TileType(R, C, dt)],
                   [("rows", R), ("cols", C), ("dtype", dt.value), ("start", start),
                    ("step", step)])[0]


def _checked(tr, opcode: str, operands: list[Value], attrs: dict) -> Value:
    """Emit ``opcode`` after its typing rule (ir/ops.py) accepts the operands."""
    got = result_types(opcode, [o.type for o in operands], attrs)
    if isinstance(got, str):
        raise TypeCheckError(got, user_location())
    return tr.emit(opcode, [o.ref for o in operands], list(got), sorted(attrs.items()))[0]


def sort32(x: TileArg, idx: TileArg) -> Value:
    """PTO-ISA TSORT32: each 32-element block of every row of the f32 tile ``x`` sorted
    descending, as (value, index) pairs: a [R, 2C] f32 tile where column 2k holds a value and
    column 2k+1 the bits of its u32 index from ``idx`` (a [R, C] u32 tile, e.g.
    ``iota((1, C), DType.U32)``). Equal values keep their order (lower column first); NaN
    sorts first."""
    tr = tracer("sort32")
    return _checked(tr, "tsort32", [tr.tile(x, "pto.sort32"), tr.tile(idx, "pto.sort32")], {})


def mrgsort(pairs: TileArg, block_len: int) -> Value:
    """PTO-ISA TMRGSORT (single-list form): one row of (value, index) pairs holding sorted
    lists of ``block_len`` floats (``block_len/2`` pairs; a multiple of 64); each group of 4
    consecutive lists becomes one list sorted descending (equal values: earlier list first)."""
    tr = tracer("mrgsort")
    return _checked(tr, "tmrgsort", [tr.tile(pairs, "pto.mrgsort")], {"block_len": block_len})


def extract(x: TileArg, rows: int, cols: int, row: int = 0, col: int = 0) -> Value:
    """PTO-ISA TEXTRACT: the [rows, cols] window of ``x`` at (``row``, ``col``), e.g. the
    first k pairs of a sorted row: ``extract(pairs, 1, 2 * k)``."""
    tr = tracer("extract")
    return _checked(tr, "textract", [tr.tile(x, "pto.extract")],
                    {"row": row, "col": col, "rows": rows, "cols": cols})


if not TYPE_CHECKING:  # type checkers report unknown names themselves
    def __getattr__(name: str):
        """``pto.<unknown>``: a located error naming the nearest real ops."""
        if name.startswith("__"):
            raise AttributeError(name)
        raise hints.unknown_op("pto", name, __all__)

"""Scalar expressions (``ScalarExpr``): predicates, schedule keys, view offsets, axis bounds.

Pure data: frozen dataclasses with structural equality. Python operator overloading for
authoring lives in :mod:`pto_wsp.language.scalar` (an ``Expr`` wrapper), so that ``==`` on IR
nodes stays structural.

Typing: every expression has a :class:`~pto_wsp.types.DType`. Integer arithmetic is done in
i64, and in u64 only when both operands are u64 (slots, u64 symbols) -- except differences and
negations, which are always signed: ``t - cut`` is negative when ``cut`` (a u64) exceeds ``t``,
as in Python, never a wrapped huge number. Comparisons compare operands in the same type
(mixed signed and unsigned: i64). Floats are f64; comparisons and logical ops give bool.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from ..errors import SourceLoc, TypeCheckError
from ..types import DType
from .limits import MAX_EXPR_DEPTH, expr_depth_error

BINARY_OPS = {
    # op: (text, C operator, kind)  kind: arith | int | cmp | logic | minmax
    "add": ("+", "+", "arith"), "sub": ("-", "-", "arith"), "mul": ("*", "*", "arith"),
    "div": ("/", "/", "arith"), "floordiv": ("//", None, "int"), "mod": ("%", None, "int"),
    "and": ("&", "&", "int"), "or": ("|", "|", "int"), "xor": ("^", "^", "int"),
    "shl": ("<<", "<<", "int"), "shr": (">>", ">>", "int"),
    "lt": ("<", "<", "cmp"), "le": ("<=", "<=", "cmp"), "gt": (">", ">", "cmp"),
    "ge": (">=", ">=", "cmp"), "eq": ("==", "==", "cmp"), "ne": ("!=", "!=", "cmp"),
    "land": ("&&", "&&", "logic"), "lor": ("||", "||", "logic"),
    "min": ("min", None, "minmax"), "max": ("max", None, "minmax"),
}
UNARY_OPS = {"neg": "-", "not": "!", "inv": "~"}


class ScalarExpr:
    """Base of scalar expression nodes. Each knows its operator depth (``_depth``), bounded by
    ``limits.MAX_EXPR_DEPTH`` when the node is built."""

    __slots__ = ()

    def __post_init__(self) -> None:
        depth = 1 + max((c._depth for c in children(self)), default=0)
        if depth > MAX_EXPR_DEPTH:
            raise expr_depth_error(getattr(self, "loc", None))
        object.__setattr__(self, "_depth", depth)

    @property
    def dtype(self) -> DType:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


@dataclass(frozen=True)
class Const(ScalarExpr):
    value: int | float | bool
    dtype: DType = DType.I64
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Var(ScalarExpr):
    """A loop variable (by its name in the enclosing loops)."""

    name: str
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return DType.I64


@dataclass(frozen=True)
class Symbol(ScalarExpr):
    """A runtime symbol, set with ``program.set_symbol_*`` without rebuilding."""

    name: str
    dtype: DType = DType.U64
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Slot(ScalarExpr):
    """Runtime u64 slot ``i`` (written by ``slot_set_u64`` / ``slot_load_u64``)."""

    index: int
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return DType.U64


@dataclass(frozen=True)
class TaskParam(ScalarExpr):
    """The ``index``-th axis value a task was called with (``k[a, b]``: 0 is ``a``); only in
    schedule keys (``t.param(i)``)."""

    index: int
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return DType.I64


@dataclass(frozen=True)
class ChannelPending(ScalarExpr):
    """1 if a token is waiting on ``channel`` (``query(event)``), else 0."""

    channel: str
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return DType.BOOL


@dataclass(frozen=True)
class AxisSize(ScalarExpr):
    """Size of an axis: a dense axis' extent, or a ragged/sparse row length at ``outer``."""

    axis: str
    outer: ScalarExpr | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return DType.I64


@dataclass(frozen=True)
class Binary(ScalarExpr):
    op: str
    lhs: ScalarExpr
    rhs: ScalarExpr
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        kind = BINARY_OPS[self.op][2]
        if kind in ("cmp", "logic"):
            return DType.BOOL
        t = promote(self.lhs.dtype, self.rhs.dtype)
        return DType.I64 if self.op == "sub" and t is DType.U64 else t


@dataclass(frozen=True)
class Unary(ScalarExpr):
    op: str
    operand: ScalarExpr
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        if self.op == "not":
            return DType.BOOL
        t = promote(self.operand.dtype, self.operand.dtype)
        return DType.I64 if self.op == "neg" and t is DType.U64 else t


@dataclass(frozen=True)
class Where(ScalarExpr):
    cond: ScalarExpr
    then: ScalarExpr
    other: ScalarExpr
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return promote(self.then.dtype, self.other.dtype)


@dataclass(frozen=True)
class Cast(ScalarExpr):
    to: DType
    operand: ScalarExpr
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def dtype(self) -> DType:
        return self.to


def promote(a: DType, b: DType) -> DType:
    """Common type of two operands: f64 if either is float, u64 if both are u64, else i64
    (mixing signed and unsigned is signed, so values below 2**63 keep their meaning)."""
    if a.is_float or b.is_float:
        return DType.F64
    if a is DType.U64 and b is DType.U64:
        return DType.U64
    return DType.I64


def const_value(e: ScalarExpr) -> int | float | None:
    """The value of ``e`` when it folds to a constant (only constants and arithmetic on them)."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Binary) and BINARY_OPS[e.op][2] == "arith":
        a, b = const_value(e.lhs), const_value(e.rhs)
        if a is None or b is None:
            return None
        if e.op == "div":
            return None
        return {"add": a + b, "sub": a - b, "mul": a * b}[e.op]
    if isinstance(e, Unary) and e.op == "neg":
        v = const_value(e.operand)
        return None if v is None else -v
    return None


def free_vars(e: ScalarExpr) -> set[str]:
    """Loop variable names an expression reads."""
    if isinstance(e, Var):
        return {e.name}
    out: set[str] = set()
    for child in children(e):
        out |= free_vars(child)
    return out


def rename_vars(e: ScalarExpr, names: dict[str, str]) -> ScalarExpr:
    """``e`` with loop variables renamed by ``names`` (unchanged parts are shared)."""
    if isinstance(e, Var):
        return replace(e, name=names[e.name]) if e.name in names else e
    changes = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, ScalarExpr) and (new := rename_vars(v, names)) is not v:
            changes[f.name] = new
    return replace(e, **changes) if changes else e


def children(e: ScalarExpr) -> tuple[ScalarExpr, ...]:
    if isinstance(e, Binary):
        return (e.lhs, e.rhs)
    if isinstance(e, (Unary, Cast)):
        return (e.operand,)
    if isinstance(e, Where):
        return (e.cond, e.then, e.other)
    if isinstance(e, AxisSize) and e.outer is not None:
        return (e.outer,)
    return ()


def walk(e: ScalarExpr):
    """Pre-order traversal of an expression tree."""
    yield e
    for c in children(e):
        yield from walk(c)


def check_int(e: ScalarExpr, what: str) -> None:
    if e.dtype.is_float:
        raise TypeCheckError(f"{what} must be an integer expression, got a {e.dtype.value} one",
                             e.loc)


def affine(e: ScalarExpr) -> dict[str, int] | None:
    """``e`` as an integer affine form {var: coeff, "": const}, or None if it is not one."""
    if isinstance(e, Const):
        return {"": int(e.value)} if isinstance(e.value, int) else None
    if isinstance(e, Var):
        return {e.name: 1, "": 0}
    if isinstance(e, Unary) and e.op == "neg":
        a = affine(e.operand)
        return None if a is None else {k: -v for k, v in a.items()}
    if isinstance(e, Binary) and e.op in ("add", "sub", "mul"):
        a, b = affine(e.lhs), affine(e.rhs)
        if a is None or b is None:
            return None
        if e.op == "mul":
            if set(a) == {""}:
                a, b = b, a
            if set(b) != {""}:
                return None
            return _nonzero({k: v * b[""] for k, v in a.items()})
        sign = 1 if e.op == "add" else -1
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, 0) + sign * v
        return _nonzero(out)
    return None


def _nonzero(form: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in form.items() if v or k == ""}


def interval(e: ScalarExpr, ranges: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    """Inclusive [lo, hi] of an affine expression given inclusive ranges of its variables."""
    a = affine(e)
    if a is None:
        return None
    lo = hi = a.get("", 0)
    for k, c in a.items():
        if k == "":
            continue
        if k not in ranges:
            return None
        vlo, vhi = ranges[k]
        lo += min(c * vlo, c * vhi)
        hi += max(c * vlo, c * vhi)
    return lo, hi

"""The IR hub: a module of tensors, axes, kernels (tile-op lists), one workload and a schedule.

All nodes are frozen dataclasses with structural equality; source locations never take part
in equality. Python authoring and the ``.pto`` parser both build these; every backend reads
only these. :mod:`pto_wsp.ir.verify` checks them; :mod:`pto_wsp.ir.printer` /
:mod:`pto_wsp.ir.parser` convert them to and from text losslessly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Union

from ..errors import SourceLoc, loc_field
from ..schedule import Schedule
from ..types import DType, Location
from .expr import AxisSize, ScalarExpr
from .limits import MAX_NESTING, nesting_error

# ---------------------------------------------------------------- types


@dataclass(frozen=True)
class TileType:
    rows: int
    cols: int
    dtype: DType

    def __str__(self) -> str:
        return f"tile<{self.rows}x{self.cols}x{self.dtype.value}>"

    def fits(self, shape: tuple[int, ...]) -> bool:
        """A view of ``shape`` fits if, leading 1s dropped, it is [rows, cols] (or [cols]
        with 1 row)."""
        s = list(shape)
        while len(s) > 2 and s[0] == 1:
            s.pop(0)
        if len(s) == 1:
            return self.rows == 1 and s[0] == self.cols
        return tuple(s) == (self.rows, self.cols)


@dataclass(frozen=True)
class ScalarType:
    dtype: DType

    def __str__(self) -> str:
        return f"scalar<{self.dtype.value}>"


@dataclass(frozen=True)
class TensorType:
    """A kernel parameter bound to a tensor view: of any shape (custom-body kernels), or of
    a static 2-D ``shape`` that traced kernels load tiles from at computed offsets."""

    dtype: DType | None = None
    shape: tuple[int, int] | None = None

    def __str__(self) -> str:
        if self.shape is not None:
            return f"tensor<{self.shape[0]}x{self.shape[1]}x{self.dtype.value}>"
        return "tensor" if self.dtype is None else f"tensor<{self.dtype.value}>"

    def fits(self, shape: tuple[int, ...]) -> bool:
        """Like :meth:`TileType.fits` for a shaped tensor parameter (always for others)."""
        return self.shape is None or TileType(*self.shape, self.dtype).fits(shape)


@dataclass(frozen=True)
class ConstexprType:
    """A compile-time constant parameter; its value is fixed per call site."""

    dtype: DType

    def __str__(self) -> str:
        return f"constexpr<{self.dtype.value}>"


ParamType = Union[TileType, ScalarType, TensorType, ConstexprType]

# ---------------------------------------------------------------- kernels

DIRECTIONS = ("in", "out", "inout")


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    direction: str | None = None  # in | out | inout for tiles/tensors, None for scalars
    default: int | float | None = None
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class ValueRef:
    """The ``index``-th SSA value defined in the kernel (``%index`` in text)."""

    index: int


@dataclass(frozen=True)
class ParamRef:
    name: str


@dataclass(frozen=True)
class Imm:
    """An immediate scalar operand."""

    value: int | float
    dtype: DType


Operand = Union[ValueRef, ParamRef, Imm]


@dataclass(frozen=True)
class KernelOp:
    """One tile instruction: ``results = opcode(operands) {attrs} : types``.

    ``results`` are SSA value indices, numbered in definition order; ``types`` are their types.
    ``attrs`` is a sorted tuple of (name, value) pairs of ints, floats and strings.
    """

    opcode: str
    operands: tuple[Operand, ...]
    results: tuple[int, ...] = ()
    types: tuple[TileType | ScalarType, ...] = ()
    attrs: tuple[tuple[str, int | float | str], ...] = ()
    loc: SourceLoc | None = loc_field()

    def attr(self, name: str, default=None):
        for k, v in self.attrs:
            if k == name:
                return v
        return default


@dataclass(frozen=True)
class CustomBody:
    """A kernel body supplied as source text: a C body snippet (``body``), or a whole
    translation unit (``unit``, C or C++) defining ``pto_kernel_<name>``."""

    kind: str  # "body" | "unit"
    language: str  # "c" | "c++"
    source: str
    includes: tuple[str, ...] = ()
    path: str | None = None


@dataclass(frozen=True)
class Kernel:
    name: str
    params: tuple[Param, ...]
    ops: tuple[KernelOp, ...] = ()
    custom: CustomBody | None = None
    exec_unit: str = "vector"  # vector | cube (inferred: any matmul makes it cube)
    loc: SourceLoc | None = loc_field()
    # schedule hints, sorted (name, value) pairs: ``budget_<LEVEL>`` = bytes (docs/kernels.md)
    hints: tuple[tuple[str, int | str], ...] = ()

    def hint(self, name: str, default=None):
        return dict(self.hints).get(name, default)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def dump(self) -> str:
        """The kernel as ``.pto`` text."""
        from .printer import format_kernel
        return format_kernel(self)

    __str__ = dump


# ---------------------------------------------------------------- tensors and axes


@dataclass(frozen=True)
class TensorDecl:
    name: str
    shape: tuple[int, ...]
    dtype: DType
    location: Location = Location.Global
    layout: str | None = None  # canonical layout text (pto_wsp.layout), None = default
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class AxisDecl:
    """An iteration axis. ``kind``: dense | dense_dyn | ragged | sparse.

    dense: ``size`` fixed. dense_dyn: ``size`` is the default of a runtime input.
    ragged: ``outer`` size and default ``lengths``; sparse: ``outer``, ``indptr``, ``indices``.
    """

    name: str
    kind: str
    size: int = 0
    lengths: tuple[int, ...] = ()
    indptr: tuple[int, ...] = ()
    indices: tuple[int, ...] = ()
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class SymbolDecl:
    name: str
    dtype: DType
    default: int | float = 0
    loc: SourceLoc | None = loc_field()


# ---------------------------------------------------------------- workload statements


@dataclass(frozen=True)
class Index:
    """View item: select one index of a dimension (drops the dimension)."""

    expr: ScalarExpr


@dataclass(frozen=True)
class Slice:
    """View item: ``size`` elements from ``start`` with ``step`` (keeps the dimension)."""

    start: ScalarExpr
    size: int
    step: int = 1


@dataclass(frozen=True)
class ViewExpr:
    """A view of a tensor: leading dimensions indexed or sliced, the rest kept whole."""

    tensor: str
    items: tuple[Index | Slice, ...]
    loc: SourceLoc | None = loc_field()


Arg = Union[ViewExpr, ScalarExpr]


@dataclass(frozen=True)
class Call:
    """A kernel invocation (a task): ``kernel[axes](name=arg, ...)``."""

    kernel: str
    axes: tuple[ScalarExpr, ...]
    args: tuple[tuple[str, Arg], ...]
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Domain:
    """What a loop iterates: a whole axis, or one row (``outer``) of a ragged/sparse axis.

    A sparse row binds the loop variable to the selected column indices.
    """

    axis: str
    outer: ScalarExpr | None = None


@dataclass(frozen=True)
class For:
    """``kind``: par (``P``), seq (``P.seq``), sel (``P.sel``)."""

    kind: str
    var: str
    domain: Domain
    body: tuple["Stmt", ...]
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class When:
    """An if/elif chain of ``P.when`` branches with an optional ``P.otherwise``."""

    branches: tuple[tuple[ScalarExpr, tuple["Stmt", ...]], ...]
    otherwise: tuple["Stmt", ...] | None = None
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Block:
    """Composition: ``par`` (``combine``, unordered) or ``seq`` (``sequential``, ordered)."""

    kind: str
    parts: tuple[tuple["Stmt", ...], ...]
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class SlotSet:
    slot: int
    value: ScalarExpr
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class SlotLoad:
    """Load one element of a tensor view into a slot (waits for the element's writers)."""

    slot: int
    view: ViewExpr
    row: int = 0
    col: int = 0
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class ChannelDecl:
    name: str
    depth: int
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Send:
    """Run ``call`` and put a token on ``channel`` when it completes (``call=None``: a bare
    token, e.g. ``record(event)``)."""

    channel: str
    call: Call | None
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Wait:
    """Receive one token from ``channel`` (``synchronize(event)``)."""

    channel: str
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Consume:
    """Run ``body`` once per token received on ``channel``, binding the token to ``var``."""

    channel: str
    var: str
    body: tuple["Stmt", ...]
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Process:
    name: str
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    body: tuple["Stmt", ...]
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Pipe:
    """A CSP pipeline: channels and the processes connected by them."""

    channels: tuple[ChannelDecl, ...]
    processes: tuple[Process, ...]
    loc: SourceLoc | None = loc_field()


@dataclass(frozen=True)
class Collective:
    """``dst = kind(src, attrs)``: redistribute the whole tensor ``src`` into the new tensor
    ``dst`` (same shape, dtype and location; its declared layout is the result layout).

    ``kind``: relayout | allreduce | allgather | reduce_scatter (see
    :data:`pto_wsp.ir.layouts.COLLECTIVES` for each one's attributes). ``attrs`` is a sorted
    tuple of (name, value) pairs: ``mesh_axis``/``dim`` ints, ``op`` a reduction name.
    """

    kind: str
    src: str
    dst: str
    attrs: tuple[tuple[str, int | str], ...] = ()
    loc: SourceLoc | None = loc_field()


Stmt = Union[Call, For, When, Block, SlotSet, SlotLoad, Send, Wait, Consume, Pipe, Collective]


@dataclass(frozen=True)
class Workload:
    name: str
    body: tuple[Stmt, ...]
    loc: SourceLoc | None = loc_field()


# ---------------------------------------------------------------- module


@dataclass(frozen=True)
class Module:
    name: str
    tensors: tuple[TensorDecl, ...]
    axes: tuple[AxisDecl, ...]
    symbols: tuple[SymbolDecl, ...]
    kernels: tuple[Kernel, ...]
    workload: Workload
    schedule: Schedule = Schedule()
    loc: SourceLoc | None = loc_field()

    def kernel(self, name: str) -> Kernel | None:
        return next((k for k in self.kernels if k.name == name), None)

    def tensor(self, name: str) -> TensorDecl | None:
        return next((t for t in self.tensors if t.name == name), None)

    def axis(self, name: str) -> AxisDecl | None:
        return next((a for a in self.axes if a.name == name), None)


def child_bodies(s) -> list:
    """The statement lists nested directly in ``s`` (loop bodies, branches, parts, processes)."""
    if isinstance(s, (For, Consume, Process)):
        return [s.body]
    if isinstance(s, When):
        return [body for _, body in s.branches] + ([s.otherwise] if s.otherwise is not None
                                                   else [])
    if isinstance(s, Block):
        return list(s.parts)
    if isinstance(s, Pipe):
        return [s.processes]
    return []


def check_nesting(stmts) -> None:
    """Raise a located CompileError if loops, branches, blocks and processes nest deeper than
    ``limits.MAX_NESTING`` (iterative, so it works on programs of any depth)."""
    todo = [(stmts, 0)]
    while todo:
        body, depth = todo.pop()
        for s in body:
            inner = child_bodies(s)
            if inner and depth + 1 > MAX_NESTING:
                raise nesting_error(depth + 1, s.loc)
            todo.extend((b, depth + 1) for b in inner)


def walk_stmts(stmts):
    """Pre-order traversal of workload statements (loop bodies, branches, parts, processes;
    a ``Send``'s call); iterative."""
    todo = [iter(stmts)]
    while todo:
        s = next(todo[-1], None)
        if s is None:
            todo.pop()
            continue
        yield s
        if isinstance(s, Send) and s.call is not None:
            yield s.call
        todo.extend(iter(b) for b in reversed(child_bodies(s)))


def rename_data(node, names: dict[str, str]):
    """``node`` (any IR value) with the tensors and axes it declares or references renamed
    by ``names`` (old -> new, applied simultaneously). Unchanged parts are shared."""
    if isinstance(node, tuple):
        out = tuple(rename_data(x, names) for x in node)
        return node if all(a is b for a, b in zip(out, node)) else out
    if not is_dataclass(node) or isinstance(node, (type, SourceLoc, Kernel)):
        return node  # kernels name no tensor or axis
    named = _NAME_FIELDS.get(type(node), ())
    changes = {}
    for f in fields(node):
        v = getattr(node, f.name)
        new = names.get(v, v) if f.name in named else rename_data(v, names)
        if new is not v:
            changes[f.name] = new
    return replace(node, **changes) if changes else node


_NAME_FIELDS = {TensorDecl: ("name",), AxisDecl: ("name",), ViewExpr: ("tensor",),
                Domain: ("axis",), AxisSize: ("axis",), Collective: ("src", "dst")}

"""Loops, conditions, index arithmetic and tensor tiles inside a ``@kernel`` (docs/kernels.md).

``for k in pto.range(n):`` traces its body once into a ``kfor`` ... ``kendfor`` region;
``with pto.when(cond):`` into ``kif`` ... ``kendif``. A tile variable of the enclosing
function that the body rebinds (``acc = pto.matmul(a, b, acc)``) is carried: found by
comparing the function's local variables before and after the body, so it must be a plain
local variable. Values made inside a body are not visible after it.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from ..errors import TypeCheckError, user_location
from ..ir import kloops as irk
from ..ir.nodes import Imm, KernelOp, ParamRef, ScalarType, TensorType, TileType, ValueRef
from ..types import DType
from .tracing import ParamValue, ScalarValue, Value, tracer

_SCALAR_OPS = {"add": "sadd", "sub": "ssub", "mul": "smul", "floordiv": "sdiv", "mod": "smod"}


def index_operand(tr, x, what: str):
    """``x`` (a Python int, an integer scalar parameter or index value) as an operand."""
    loc = user_location()
    if isinstance(x, ParamValue) and isinstance(x.param.type, ScalarType):
        x = ScalarValue(ParamRef(x.param.name), x.param.type.dtype)
    if isinstance(x, ScalarValue):
        if x.dtype.is_float or x.dtype is DType.BOOL:
            raise TypeCheckError(f"{what} must be an integer, got a {x.dtype.value} scalar", loc)
        if isinstance(x.operand, ValueRef):
            tr.check_open(x.operand.index, loc)
        return x.operand
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeCheckError(f"{what} must be an int or an integer scalar, got {x!r}", loc,
                             hint="Scalar[DType.I32] parameters, pto.range indices and "
                                  "arithmetic on them are integer scalars")
    return Imm(int(x), DType.I64)


def is_index(x) -> bool:
    """An integer scalar operand (not a tile): index arithmetic applies to it."""
    if isinstance(x, ParamValue) and isinstance(x.param.type, ScalarType):
        x = ScalarValue(None, x.param.type.dtype)
    return isinstance(x, ScalarValue) and not x.dtype.is_float and x.dtype is not DType.BOOL


def scalar_op(op: str, a, b) -> ScalarValue:
    """``a <op> b`` on integer scalars: add sub mul floordiv mod, or a comparison mode."""
    tr = tracer(op)
    x, y = index_operand(tr, a, f"an operand of {op}"), index_operand(tr, b, f"an operand of {op}")
    if op in _SCALAR_OPS:
        (v,) = tr.emit(_SCALAR_OPS[op], [x, y], [irk.INDEX])
        return ScalarValue(v.ref, DType.I64)
    (v,) = tr.emit("scmp", [x, y], [irk.BOOL], [("mode", op)])
    return ScalarValue(v.ref, DType.BOOL)


def _tile_locals(tr, frame) -> dict[str, Value]:
    """The tile variables of the user's function that are still in scope."""
    return {n: v for n, v in frame.f_locals.items()
            if isinstance(v, Value) and v.ref.index not in tr.closed}


class _Region:
    """Shared bookkeeping of a traced loop or block: where it starts in the op list and the
    tile variables of the user's function when it started."""

    def open(self, tr, frame, opcode, operands, types, attrs, loc):
        self.tr, self.frame, self.loc = tr, frame, loc
        self.before = _tile_locals(tr, frame)
        self.start = len(tr.ops)
        self.first_value = tr.n_values
        tr.emit(opcode, operands, types, attrs, loc)
        tr.regions.append(self)

    def rebound(self) -> list[tuple[str, Value, Value]]:
        """(name, value before, value now) of the tile variables the body rebound."""
        after = _tile_locals(self.tr, self.frame)
        out = []
        for name, v1 in after.items():
            v0 = self.before.get(name)
            if v0 is None or v0 is v1:
                continue
            if v1.ref.index < self.first_value:
                raise TypeCheckError(
                    f"'{name}' is set to a tile from before the {self.what}: it cannot be "
                    "carried as it is", self.loc, hint=f"copy it: {name} = pto.mov(...)")
            out.append((name, v0, v1))
        return out

    def close(self, opcode, operands, results_like):
        """Emit the closing op; the Python values ``results_like`` now stand for its results,
        and every other value made inside is out of scope."""
        tr = self.tr
        if not tr.regions or tr.regions[-1] is not self:
            raise TypeCheckError(f"pto.{self.what} bodies must nest", self.loc)
        tr.regions.pop()
        inner = range(self.first_value, tr.n_values)
        tr.closed.update(inner)
        res = tr.emit(opcode, operands, [v.type for v in results_like], loc=self.loc)
        for v, r in zip(results_like, res):
            v.ref = r.ref
        tr.loaded = {k: v for k, v in tr.loaded.items() if v.ref.index not in inner}


class _Range(_Region):
    what = "range"

    def __init__(self, args, double_buffer, pipeline):
        self.args, self.depth, self.loc = args, double_buffer, user_location()
        self.pipeline = pipeline
        self.started = False

    def __iter__(self):
        if self.started:
            raise TypeCheckError("a pto.range can be iterated once", user_location())
        self.started = True
        tr = tracer("range")
        start, stop, step = self.args
        first = index_operand(tr, start, "the start of pto.range")
        last = index_operand(tr, stop, "the stop of pto.range")
        if isinstance(step, bool) or not isinstance(step, int) or step <= 0:
            raise TypeCheckError(f"the step of pto.range must be a positive int, got {step!r}",
                                 self.loc)
        if isinstance(first, Imm) and isinstance(last, Imm):
            count = Imm(max(0, -(-(last.value - first.value) // step)), DType.I64)
        else:
            count = last
            if first != Imm(0, DType.I64):
                count = scalar_op("sub", ScalarValue(last, DType.I64),
                                  ScalarValue(first, DType.I64)).operand
            if step != 1:
                count = scalar_op("floordiv", scalar_op("add", ScalarValue(count, DType.I64),
                                                        step - 1), step).operand
        attrs = ([("buffers", self.depth)] if self.depth > 1 else []) + (
            [] if self.pipeline else [("pipeline", 0)])
        self.open(tr, sys._getframe(1), "kfor", [count], [irk.INDEX], attrs, self.loc)
        i = ScalarValue(ValueRef(self.first_value), DType.I64)
        if step != 1:
            i = scalar_op("mul", i, step)
        if first != Imm(0, DType.I64):
            i = scalar_op("add", i, ScalarValue(first, DType.I64))
        self.index = i
        self.pending = True
        return self

    def __next__(self):
        if self.pending:
            self.pending = False
            return self.index
        self.finish()
        raise StopIteration

    def finish(self) -> None:
        tr = self.tr
        carried = self.rebound()
        seen: dict[int, str] = {}
        for name, v0, _ in carried:
            if v0.ref.index in seen:
                raise TypeCheckError(f"'{seen[v0.ref.index]}' and '{name}' both start as the "
                                     "same tile and are both carried", self.loc,
                                     hint=f"start one from a copy: {name} = pto.mov(...)")
            seen[v0.ref.index] = name
        for n, v in self.before.items():
            if v.ref.index in seen and n not in {c[0] for c in carried}:
                raise TypeCheckError(f"'{n}' and the carried '{seen[v.ref.index]}' name the same "
                                     "tile before the loop", self.loc,
                                     hint=f"carry a copy: {seen[v.ref.index]} = pto.mov({n})")
        # the carried values: new SSA values for the loop body, replacing reads of the inits
        phis = {}
        for _, v0, _ in carried:
            phis[v0.ref.index] = tr.n_values
            tr.n_values += 1
        body = tr.ops[self.start + 1:]
        tr.ops[self.start + 1:] = [replace(op, operands=tuple(
            ValueRef(phis[o.index]) if isinstance(o, ValueRef) and o.index in phis else o
            for o in op.operands)) for op in body]
        head = tr.ops[self.start]
        tr.ops[self.start] = replace(
            head, operands=head.operands + tuple(v0.ref for _, v0, _ in carried),
            results=head.results + tuple(phis[v0.ref.index] for _, v0, _ in carried),
            types=head.types + tuple(v0.type for _, v0, _ in carried))
        self.close("kendfor", [v1.ref for _, _, v1 in carried], [v1 for _, _, v1 in carried])


def range_(*args, double_buffer=False, pipeline=True) -> _Range:  # noqa: A001 - pto.range
    """``for k in pto.range(stop)`` / ``pto.range(start, stop, step=1)`` inside a kernel.

    ``start``/``stop`` are ints or integer scalars (parameters, other indices); ``step`` is a
    positive int. ``double_buffer=True`` (or a count >= 2) gives each ``pto.load`` in the body
    that many ping-pong buffers, so the next iteration's loads can overlap this one's compute.
    ``pipeline=False`` starts each iteration only when the previous one has finished on
    every pipe (no overlap between iterations in the A2/A3 timing).
    """
    loc = user_location()
    tracer("range")
    if not 1 <= len(args) <= 3:
        raise TypeCheckError(f"pto.range takes 1 to 3 arguments, got {len(args)}", loc)
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    if isinstance(double_buffer, bool):
        double_buffer = 2 if double_buffer else 1
    if isinstance(double_buffer, bool) or not isinstance(double_buffer, int) or double_buffer < 1:
        raise TypeCheckError(f"double_buffer must be a bool or a buffer count >= 2, got "
                             f"{double_buffer!r}", loc)
    if not isinstance(pipeline, bool):
        raise TypeCheckError(f"pipeline must be True or False, got {pipeline!r}", loc)
    return _Range((start, stop, step), double_buffer, pipeline)


class _When(_Region):
    what = "when"

    def __init__(self, cond):
        self.cond, self.loc = cond, user_location()

    def __enter__(self):
        tr = tracer("when")
        c = self.cond
        if not (isinstance(c, ScalarValue) and c.dtype is DType.BOOL):
            raise TypeCheckError(f"pto.when needs a comparison of integer scalars, got {c!r}",
                                 self.loc, hint="e.g. with pto.when(k > 0): ... ; a Python "
                                                "bool is decided now: use a plain if")
        tr.check_open(c.operand.index, self.loc)
        self.open(tr, sys._getframe(1), "kif", [c.operand], [], [], self.loc)
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            return False
        changed = self.rebound()
        operands = [r for _, v0, v1 in changed for r in (v1.ref, v0.ref)]
        for _, v0, v1 in changed:
            if v0.type != v1.type:
                raise TypeCheckError(f"inside pto.when, a {v0.type} tile became a {v1.type}",
                                     self.loc, hint="both paths must give the same tile type")
        self.close("kendif", operands, [v1 for *_, v1 in changed])
        return False


def when(cond) -> _When:
    """``with pto.when(k > 0):`` -- run the block only when the condition holds. Tile variables
    it rebinds keep their old value when it does not."""
    tracer("when")
    return _When(cond)


def load_at(tr, pv: ParamValue, row, col, shape, level) -> Value:
    """A tile of ``shape`` of the tensor parameter at (``row``, ``col``)."""
    loc = user_location()
    p = pv.param
    if not isinstance(p.type, TensorType) or p.type.shape is None:
        raise TypeCheckError(f"pto.load(..., row=, col=, shape=) reads a Tensor[rows, cols, "
                             f"dtype] parameter; '{p.name}' is {p.type}", loc)
    if p.direction == "out":
        raise TypeCheckError(f"parameter '{p.name}' is Out: it cannot be read", loc,
                             hint="declare it InOut[...] to read and write it")
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise TypeCheckError(f"shape= is (rows, cols) of positive ints, got {shape!r}", loc)
    if level is not None and level not in irk.LEVEL_BYTES:
        raise TypeCheckError(f"unknown memory level {level!r}", loc,
                             hint="levels: " + ", ".join(irk.LEVEL_BYTES))
    attrs = [("rows", shape[0]), ("cols", shape[1])] + ([("level", level)] if level else [])
    r = index_operand(tr, row, "row=")
    c = index_operand(tr, col, "col=")
    return tr.emit("tload_at", [ParamRef(p.name), r, c],
                   [TileType(shape[0], shape[1], p.type.dtype)], attrs, loc)[0]


def store_at(tr, pv: ParamValue, v, row, col) -> None:
    loc = user_location()
    p = pv.param
    if p.direction == "in":
        raise TypeCheckError(f"parameter '{p.name}' is In: the kernel cannot store to it", loc,
                             hint="declare it Out[...] or InOut[...]")
    v = tr.tile(v, "pto.store")
    if v.dtype is not p.type.dtype:
        raise TypeCheckError(f"storing a {v.type} to '{p.name}' of type {p.type}", loc,
                             hint="convert it with pto.cast")
    tr.emit("tstore_at", [ParamRef(p.name), index_operand(tr, row, "row="),
                          index_operand(tr, col, "col="), v.ref], [], loc=loc)
    tr.stored.add(p.name)


def renumber(ops: list[KernelOp]) -> list[KernelOp]:
    """Number the values in definition order (the IR's rule; carried values are made late)."""
    new: dict[int, int] = {}
    out = []
    for op in ops:
        for r in op.results:
            new[r] = len(new)
        out.append(replace(op, results=tuple(new[r] for r in op.results)))
    return [replace(op, operands=tuple(ValueRef(new[o.index]) if isinstance(o, ValueRef) else o
                                       for o in op.operands)) for op in out]

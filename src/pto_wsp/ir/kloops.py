"""Kernel control flow, scalar index arithmetic, tensor tile memory and on-chip budgets.

These instructions live in the flat op list of a :class:`~pto_wsp.ir.nodes.Kernel` beside the
tile instructions of :mod:`pto_wsp.ir.ops` (docs/pto-format.md, "Kernel loops"):

- ``%i, %c.. = kfor count, %init.. {buffers = N}`` opens a loop of ``count`` iterations
  (``%i`` = 0 .. count-1) carrying tiles ``%c..`` (first ``%init..``); ``buffers`` >= 2 gives
  each ``tload_at`` inside it that many ping-pong buffers (double buffering); ``pipeline = 0``
  makes each iteration start only when the previous one has finished on every pipe.
- ``%r.. = kendfor %next..`` closes it: ``%next..`` become the carried values of the next
  iteration, and ``%r..`` the values after the loop.
- ``kif %cond`` ... ``%m.. = kendif %new, %old, ..`` a block run when ``%cond`` holds;
  ``%m`` is ``%new`` if it ran, else ``%old``.
- ``sadd ssub smul sdiv smod`` (i64) and ``scmp {mode}`` (bool) on integer scalars.
- ``tload_at %A, row, col {rows, cols[, level]}`` / ``tstore_at %A, row, col, %v``: a tile
  of a shaped ``tensor<RxCxdt>`` parameter at a computed offset.

Values defined inside a loop or block are not visible after it. :func:`check_budget` checks
the bytes of live tiles on each memory level against the A2/A3 capacities (or the kernel's
``budget_<LEVEL>`` hints).
"""

from __future__ import annotations

from ..errors import TypeCheckError
from ..types import DType
from . import nodes as ir
from .ops import CMP_MODES

SCALAR_OPS = ("sadd", "ssub", "smul", "sdiv", "smod")
CONTROL_OPS = ("kfor", "kendfor", "kif", "kendif")
MEMORY_OPS = ("tload_at", "tstore_at")
OPCODES = frozenset(SCALAR_OPS + CONTROL_OPS + MEMORY_OPS + ("scmp",))
OPENERS = {"kfor": "kendfor", "kif": "kendif"}

# on-chip memory levels of an A2/A3 AICore and their bytes for kernel tiles (UB keeps its last
# 8 KB for instruction scratch); the AICore buffer planner (backends/kernel_plan) uses them too
LEVEL_BYTES = {"UB": 184 << 10, "L1": 512 << 10, "L0A": 64 << 10, "L0B": 64 << 10,
               "L0C": 128 << 10}
INDEX = ir.ScalarType(DType.I64)
BOOL = ir.ScalarType(DType.BOOL)


def is_int_scalar(t) -> bool:
    return isinstance(t, ir.ScalarType) and not t.dtype.is_float and t.dtype is not DType.BOOL


def uses_kloops(k: ir.Kernel) -> bool:
    """Whether ``k`` uses any instruction of this module, a level hint or a kernel hint."""
    return bool(k.hints) or any(op.opcode in OPCODES or op.attr("level") for op in k.ops)


def regions(ops) -> dict[int, int]:
    """Index of each ``kfor``/``kif`` -> index of its closing op (ops already verified)."""
    out, stack = {}, []
    for i, op in enumerate(ops):
        if op.opcode in OPENERS:
            stack.append(i)
        elif op.opcode in OPENERS.values():
            out[stack.pop()] = i
    return out


def live_ranges(ops) -> dict[int, tuple[int, int]]:
    """Value -> (definition index, last index it must stay alive). A value read inside a loop
    it was defined outside of lives to that loop's end; a loop's carried values live to it."""
    span = regions(ops)
    loops = [(s, e) for s, e in span.items() if ops[s].opcode == "kfor"]
    out: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        for r in op.results:
            out[r] = [i, i]
        if op.opcode == "kfor":
            for r in op.results[1:]:
                out[r][1] = span[i]
        for o in op.operands:
            if isinstance(o, ir.ValueRef) and o.index in out:
                d = out[o.index][0]
                end = max([i] + [e for s, e in loops if s < i <= e and not s <= d <= e])
                out[o.index][1] = max(out[o.index][1], end)
    return {v: (d, e) for v, (d, e) in out.items()}


def load_depth(ops) -> dict[int, int]:
    """``tload_at`` result -> number of ping-pong buffers (its innermost loop's ``buffers``)."""
    out, stack = {}, []
    for op in ops:
        if op.opcode == "kfor":
            stack.append(int(op.attr("buffers", 1)))
        elif op.opcode == "kendfor":
            stack.pop()
        elif op.opcode == "tload_at" and stack and stack[-1] > 1:
            out[op.results[0]] = stack[-1]
    return out


class KernelChecker:
    """Types and scoping of the instructions of this module, for :func:`verify_kernel`."""

    def __init__(self, k: ir.Kernel, params: dict, values: dict):
        self.k, self.params, self.values = k, params, values
        self.stack: list[tuple[ir.KernelOp, list[int]]] = []
        self.n_defined = 0

    def operand(self, o, bad):
        if isinstance(o, ir.ValueRef):
            if o.index not in self.values:
                raise bad(f"uses an undefined (or out of scope) value %{o.index}")
            return self.values[o.index]
        if isinstance(o, ir.ParamRef):
            if o.name not in self.params:
                raise bad(f"uses an unknown parameter '{o.name}'")
            return self.params[o.name].type
        return ir.ScalarType(o.dtype)

    def index(self, o, what, bad) -> None:
        if not is_int_scalar(self.operand(o, bad)):
            raise bad(f"{what} must be an integer scalar, got {o}")

    def check(self, op: ir.KernelOp, bad) -> tuple:
        """The result types of ``op`` (a located error if it is ill-formed)."""
        code, ops = op.opcode, op.operands
        if code in SCALAR_OPS or code == "scmp":
            if len(ops) != 2:
                raise bad(f"{code} takes 2 operands, got {len(ops)}")
            for o in ops:
                self.index(o, f"an operand of {code}", bad)
            if code == "scmp":
                if op.attr("mode") not in CMP_MODES:
                    raise bad(f"scmp has an unknown mode {op.attr('mode')!r}")
                return (BOOL,)
            return (INDEX,)
        if code in MEMORY_OPS:
            return self.memory(op, bad)
        if code == "kfor":
            if not ops:
                raise bad("kfor needs a trip count")
            self.index(ops[0], "the trip count of kfor", bad)
            carried = [self.operand(o, bad) for o in ops[1:]]
            if not all(isinstance(o, ir.ValueRef) and isinstance(t, ir.TileType)
                       for o, t in zip(ops[1:], carried)):
                raise bad("kfor carries tile values (%n) only")
            depth = op.attr("buffers", 1)
            if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
                raise bad(f"kfor buffers must be a positive int, got {depth!r}")
            if op.attr("pipeline", 1) not in (0, 1) or isinstance(op.attr("pipeline"), bool):
                raise bad(f"kfor pipeline must be 0 or 1, got {op.attr('pipeline')!r}")
            unknown = {a for a, _ in op.attrs} - {"buffers", "pipeline"}
            if unknown:
                raise bad(f"kfor has unknown attributes {sorted(unknown)}; it takes buffers, "
                          "pipeline")
            self.stack.append((op, []))
            return (INDEX, *carried)
        if code == "kif":
            if len(ops) != 1 or self.operand(ops[0], bad) != BOOL:
                raise bad("kif takes one bool scalar (from scmp)")
            self.stack.append((op, []))
            return ()
        # kendfor / kendif
        if not self.stack or OPENERS[self.stack[-1][0].opcode] != code:
            raise bad(f"{code} closes no open {'kfor' if code == 'kendfor' else 'kif'}")
        types = [self.operand(o, bad) for o in ops]
        if not all(isinstance(o, ir.ValueRef) and isinstance(t, ir.TileType)
                   for o, t in zip(ops, types)):
            raise bad(f"{code} takes tile values (%n) only")
        opener, inner = self.stack.pop()
        for v in inner:
            self.values.pop(v, None)
        if code == "kendfor":
            want = list(opener.types[1:])
            if types != want:
                raise bad(f"kendfor yields {[str(t) for t in types]}, the loop carries "
                          f"{[str(t) for t in want]}")
            return tuple(want)
        if len(types) % 2 or types[0::2] != types[1::2]:
            raise bad("kendif takes (new, old) pairs of equal tile types")
        return tuple(types[0::2])

    def memory(self, op: ir.KernelOp, bad) -> tuple:
        code, ops = op.opcode, op.operands
        n = 3 if code == "tload_at" else 4
        if len(ops) != n:
            raise bad(f"{code} takes {n} operands, got {len(ops)}")
        p = self.params.get(ops[0].name) if isinstance(ops[0], ir.ParamRef) else None
        if p is None or not isinstance(p.type, ir.TensorType) or p.type.shape is None:
            raise bad(f"{code} needs a shaped tensor parameter (tensor<RxCxdt>), got {ops[0]}")
        if p.direction == ("out" if code == "tload_at" else "in"):
            raise bad(f"parameter '{p.name}' is {p.direction.capitalize()}: it cannot be "
                      + ("loaded" if code == "tload_at" else "stored to"))
        self.index(ops[1], f"the row offset of {code}", bad)
        self.index(ops[2], f"the column offset of {code}", bad)
        if code == "tload_at":
            rows, cols = op.attr("rows"), op.attr("cols")
            if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                       for d in (rows, cols)):
                raise bad("tload_at needs positive int attributes rows and cols")
            if op.attr("level", "UB") not in LEVEL_BYTES:
                raise bad(f"unknown memory level {op.attr('level')!r}; levels: "
                          + ", ".join(LEVEL_BYTES))
            t = ir.TileType(rows, cols, p.type.dtype)
        else:
            t = self.operand(ops[3], bad)
            if not isinstance(ops[3], ir.ValueRef) or not isinstance(t, ir.TileType) \
                    or t.dtype is not p.type.dtype:
                raise bad(f"tstore_at stores a {t} to '{p.name}' of type {p.type}")
        for o, extent, size, what in ((ops[1], t.rows, p.type.shape[0], "rows"),
                                      (ops[2], t.cols, p.type.shape[1], "columns")):
            if isinstance(o, ir.Imm) and not 0 <= o.value <= size - extent:
                raise bad(f"{code} at {what} {o.value}..{o.value + extent} is outside "
                          f"'{p.name}' ({size} {what})")
        if t.rows > p.type.shape[0] or t.cols > p.type.shape[1]:
            raise bad(f"a {t} tile does not fit in '{p.name}' of type {p.type}")
        return (t,) if code == "tload_at" else ()

    def defined(self, r: int) -> None:
        if self.stack:
            self.stack[-1][1].append(r)

    def finish(self, bad_at) -> None:
        if self.stack:
            op = self.stack[-1][0]
            raise bad_at(op, f"{op.opcode} is never closed by {OPENERS[op.opcode]}")


def value_levels(ops) -> dict[int, str]:
    """Tile value -> the memory level it occupies: a ``tload_at`` ``level``, else L0A/L0B for
    matmul operands, L0C for matmul results (and what carries them), UB for the rest."""
    lv: dict[int, str] = {}
    for op in ops:
        if op.opcode in ("tmatmul", "tmatmul_acc"):
            a, b = op.operands[-2:]
            lv.setdefault(a.index, "L0A")
            lv.setdefault(b.index, "L0B")
    for op in ops:
        if op.opcode == "tload_at" and op.attr("level"):
            lv[op.results[0]] = op.attr("level")
        elif op.opcode in ("tmatmul", "tmatmul_acc"):
            lv[op.results[0]] = "L0C"
        elif op.opcode == "kfor":
            for r, o in zip(op.results[1:], op.operands[1:]):
                lv[r] = lv.get(o.index, "UB")
        elif op.opcode == "kendfor":
            for r, o in zip(op.results, op.operands):
                lv[r] = lv.get(o.index, "UB")
        elif op.opcode == "kendif":
            for r, o in zip(op.results, op.operands[0::2]):
                lv[r] = lv.get(o.index, "UB")
    return lv


def budgets(k: ir.Kernel) -> dict[str, int]:
    """Bytes per level for ``k``'s tiles: the A2/A3 capacity, or its ``budget_<LEVEL>`` hint."""
    out = dict(LEVEL_BYTES)
    for name, v in k.hints:
        level = name.removeprefix("budget_")
        if not name.startswith("budget_") or level not in LEVEL_BYTES:
            raise TypeCheckError(f"kernel '{k.name}': unknown hint '{name}'", k.loc,
                                 hint="hints: " + ", ".join(f"budget_{x}" for x in LEVEL_BYTES))
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= LEVEL_BYTES[level]:
            raise TypeCheckError(f"kernel '{k.name}': budget_{level} must be 1 .. "
                                 f"{LEVEL_BYTES[level]} bytes, got {v!r}", k.loc)
        out[level] = v
    return out


def check_budget(k: ir.Kernel) -> None:
    """A located error at the first instruction where the live tiles of a level (double-
    buffered loads counted once per buffer) exceed its budget."""
    limit = budgets(k)
    types = {r: t for op in k.ops for r, t in zip(op.results, op.types)
             if isinstance(t, ir.TileType)}
    levels, depth, live = value_levels(k.ops), load_depth(k.ops), live_ranges(k.ops)
    for i, op in enumerate(k.ops):
        used: dict[str, list[tuple[int, int]]] = {}
        for v, t in types.items():
            d, e = live[v]
            if d <= i <= e and not (k.ops[d].opcode == "kendfor" and d == i):
                n = t.rows * t.cols * t.dtype.itemsize * depth.get(v, 1)
                used.setdefault(levels.get(v, "UB"), []).append((n, v))
        for level, vals in used.items():
            total = sum(n for n, _ in vals)
            if total > limit[level]:
                top = ", ".join(f"%{v} {types[v]}" + (f" x{depth[v]} buffers" if v in depth
                                                      else "")
                                for _, v in sorted(vals, reverse=True)[:4])
                raise TypeCheckError(
                    f"kernel '{k.name}': {total} bytes of tiles are live on {level} here, over "
                    f"its budget of {limit[level]} bytes", op.loc or k.loc,
                    hint=f"largest: {top}; use smaller tiles, fewer buffers, or another level")

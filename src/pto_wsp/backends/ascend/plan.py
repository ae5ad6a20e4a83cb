"""The task-generation plan: the workload IR compiled to a compact, versioned bytecode.

``compile_plan(module)`` covers what ``cpu_sim.lower_orch`` lowers to C, and the fixed
interpreter ``runtime_c/pto_plan.c`` expands the plan into the same task stream (kernel ids,
argument blocks, regions, scopes, keys) with the same error sites. Dynamic sizes, ragged
lengths, CSR arrays, symbols and slots are read from ``pto_inputs`` when the plan runs, so a
plan depends only on the module and schedule. The format is documented opcode by opcode in
docs/ascend.md ("Plan format"); :data:`OPS` is its single source here.

Expressions run on a stack of 64-bit words, each typed at compile time as the C expression
cpu_sim generates (int64, uint64 or double); conversions are explicit ``CVT`` instructions,
so both paths compute the same bits.
"""

from __future__ import annotations

import functools
import re
import struct
from dataclasses import dataclass, field

import numpy as np

from ...errors import CompileError
from ...ir import expr as irx
from ...ir import nodes as ir
from ...types import DType
from ..cpu_sim.c_syntax import ident, integer, string
from ..cpu_sim.lower_kernel import args_type, kernel_fn, scalar_ctype
from ...machine import Machine
from ..cpu_sim.lower_orch import MAX_INDICES, OrchLowerer, Site, _cost_wrapper, kernel_view

MAGIC = 0x574F5450  # "PTOW"
CHAN_DEPTH_MAX = 1 << 20  # slots of one channel (pto_plan.c)
VERSION = 2
HEADER = struct.Struct("<IHHIHHHHHHI")  # magic version flags total kernels tensors axes
#                                          symbols regs nconfig string-bytes

# value kinds on the stack (the C type of the expression cpu_sim generates)
I64, U64, F64 = 0, 1, 2
# C types of conversions, argument fields and slot loads
CTYPES = ("int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
          "uint64_t", "float", "double", "none")
CT = {c: i for i, c in enumerate(CTYPES)}

# opcode: (code, operand struct format, what it does) -- docs/ascend.md lists the same
OPS: dict[str, tuple[int, str, str]] = {
    "PUSH": (0x01, "<Q", "push a 64-bit immediate (an int64/uint64 value or a double's bits)"),
    "VAR": (0x02, "<H", "push loop variable register r"),
    "SYM_U": (0x03, "<H", "push integer symbol i (in->sym_u[i])"),
    "SYM_F": (0x04, "<H", "push float symbol i (in->sym_f[i])"),
    "SLOT": (0x05, "<B", "push runtime slot s"),
    "AXIS_SIZE": (0x06, "<H", "push the extent of dense/dense_dyn axis a (in->axis_size[a])"),
    "AXIS_A": (0x07, "<H", "pop i; push in->axis_a[a][i] (ragged lengths / CSR indptr)"),
    "AXIS_B": (0x08, "<H", "pop j; push in->axis_b[a][j] (CSR indices)"),
    "DUP": (0x09, "", "duplicate the top word"),
    "SWAP": (0x0A, "", "swap the two top words"),
    "IDX": (0x0B, "<qH", "pop x (int64); if x is not in [0, n): fail at site; push x"),
    "CVT": (0x0C, "<BBB", "convert the top word: from kind, through C type, to kind"),
    "BIN": (0x0D, "<BBH", "pop b, a (both of kind k); push a op b (site: floordiv/mod by 0)"),
    "NEG": (0x0E, "<B", "negate the top word of kind k"),
    "INV": (0x0F, "<B", "bitwise-invert the top word of kind k"),
    "TEST": (0x10, "<B", "replace the top word of kind k by int64 (word != 0)"),
    "NOT": (0x11, "<B", "replace the top word of kind k by int64 (word == 0)"),
    "JZ": (0x12, "<I", "pop; if zero jump forward d bytes"),
    "JMP": (0x13, "<I", "jump forward d bytes"),
    "AND_JZ": (0x14, "<I", "if the top word is 0 jump forward d bytes keeping it, else pop it"),
    "OR_JNZ": (0x15, "<I", "if the top word is not 0 jump forward d bytes keeping it, else pop"),
    "SET": (0x16, "<H", "pop into register r (not a running loop's counter)"),
    "FOR": (0x17, "<HI", "pop hi, lo; if lo >= hi jump forward d bytes, else start a loop of "
                         "register r over [lo, hi)"),
    "NEXT": (0x18, "", "next iteration of the innermost loop (back to its body) or end it"),
    "SEQ_NEXT": (0x19, "", "unless the innermost loop is in its first iteration: scope_next "
                           "(P.seq iteration boundary)"),
    "SCOPE_BEGIN": (0x1A, "<B", "open a structure scope (0 PAR, 1 SEQ)"),
    "SCOPE_NEXT": (0x1B, "", "next part of the innermost SEQ scope"),
    "SCOPE_END": (0x1C, "", "close the innermost scope"),
    "SLOT_SET": (0x1D, "<B", "pop (uint64 bits) into runtime slot s"),
    "VIEW": (0x1E, "", "start a view: element offset = 0"),
    "VIEW_IDX": (0x1F, "<HBqH", "pop x; check x in [0, n) (site); offset += x * "
                                "strides[t][dim]"),
    "SLOT_LOAD": (0x20, "<HBBqqqBqB", "tensor t, element C type, slot s, row, col, row stride "
                                      "(mult, dim), col stride (mult, dim): wait for the "
                                      "element's writers, then slot s = (uint64_t)element"),
    "TASK": (0x21, "<HHBBI", "begin a task of kernel k: args block of n bytes (zeroed), exec "
                             "unit, pool, d = bytes to its SUBMIT (an expansion for one AICPU "
                             "under round_robin skips the tasks of the others)"),
    "ARG": (0x22, "<HBB", "pop a word of kind k into the args block at offset o as C type c"),
    "ARG_VIEW": (0x23, "<HHBBqqqBqB", "tensor t, field offset o, element bytes, access mode, "
                                      "rows, cols, row stride (mult, dim), col stride (mult, "
                                      "dim): write the view's pointer/rs/cs/rows/cols fields "
                                      "and add its region"),
    "TASK_KEYS": (0x24, "", "pop priority (int32 after CVT), stream key, dispatch key"),
    "TASK_INDEX": (0x25, "", "pop a loop index (int64) recorded with the task"),
    "TASK_COST": (0x26, "", "pop the task's cycles (TracePolicy.cycles): run the cost wrapper"),
    "SUBMIT": (0x27, "", "submit the task (to the sink, if the dispatch policy gives it to the "
                         "expanding AICPU)"),
    "PIPE": (0x28, "<HHH", "run a CSP pipeline of p processes and c channels (its CHANs and "
                           "PROCs follow) to completion; deadlock: fail at site"),
    "CHAN": (0x29, "<qHI", "a channel of the pipeline: depth (0: rendezvous), producer "
                           "processes, name (string offset)"),
    "PROC": (0x2A, "<II", "a process of the pipeline: name (string offset), d = bytes of its "
                          "body (which ends with PEND)"),
    "PEND": (0x2B, "", "the process finished (yields for good)"),
    "CLOSE": (0x2C, "<H", "a producer of channel c finished (c closes when none is left)"),
    "SEND_BEGIN": (0x2D, "<HH", "wait (yield) until the slot of channel c's next token is "
                                "free; register r = that token"),
    "SEND_END": (0x2E, "<H", "channel c's next token is sent (its slot busy)"),
    "RENDEZVOUS": (0x2F, "<HH", "wait (yield) until a receiver took token r of rendezvous "
                                "channel c"),
    "RECV": (0x30, "<HHH", "take the next token of channel c into register r (yield while "
                           "empty); closed and empty: fail at site"),
    "RELEASE": (0x31, "<HH", "the readers of token r of channel c are submitted: its slot is "
                             "free"),
    "CONSUME": (0x32, "<HHI", "consume loop head: take the next token of channel c into "
                              "register r (yield while empty); closed and empty: jump forward "
                              "d bytes"),
    "CONSUMED": (0x33, "<HHI", "consume loop end: release token r of channel c, yield, resume "
                               "d bytes back at its CONSUME"),
    "PENDING": (0x34, "<H", "push int64 (channel c holds a token not yet taken)"),
    "NOOP": (0x35, "<I", "begin a no-op task named by a string (kernel 0, vector unit, no "
                         "arguments, keys 0): its regions order the pipeline"),
    "CSP_REGION": (0x36, "<BHHB", "add a synthetic region to the task: 0 the process's marker, "
                                  "1 channel c's slot of token r, 2 channel c's rendezvous ack; "
                                  "access mode (ORDER added)"),
}
OPCODES = {name: code for name, (code, _, _) in OPS.items()}

# pto_rt_config fields a plan can set, by field id (docs/ascend.md)
CONFIG_FIELDS = ("deps", "ready", "pools", "num_pools", *(f"pool_workers[{i}]" for i in range(8)),
                 "dispatch", "num_aicpus", "vector_lanes", "cube_lanes", "num_streams",
                 "stream_round_robin", "timing", "timing_param", "window_size", "window_unit",
                 "window_mode", "start", "start_threshold", "trace", "v9_compat", "exec_units",
                 "clock_khz")
_KEEP = "none"


@functools.lru_cache(maxsize=1)
def _rt_consts() -> dict[str, int]:
    """The enum constants of runtime_c/pto_rt.h, by name."""
    from ..cpu_sim.build import runtime_cdef
    return {n: int(v) for n, v in re.findall(r"\b(PTO_RT_\w+)\s*=\s*(\d+)u?\b",
                                             runtime_cdef())}


def _const(name: str) -> int:
    return _rt_consts()[name]


def _kind(dt: DType) -> int:
    """Kind of cpu_sim's ``_ctype_of(dt)``."""
    return F64 if dt.is_float else U64 if dt is DType.U64 else I64


_INT_CT = {DType.I8: "int8_t", DType.I16: "int16_t", DType.I32: "int32_t", DType.I64: "int64_t",
           DType.U8: "uint8_t", DType.U16: "uint16_t", DType.U32: "uint32_t",
           DType.U64: "uint64_t", DType.BOOL: "uint8_t"}
_ELEM_CT = {**_INT_CT, DType.F32: "float", DType.F64: "double", DType.BF16: "uint16_t"}


@dataclass
class Plan:
    """A compiled plan: its bytes, the error sites its failures name (same numbering as the
    cpu_sim orchestration), and the args-block field offsets it assumes per kernel."""

    data: bytes
    sites: list[Site]
    layouts: dict[str, tuple[int, list[tuple[str, int]]]] = field(default_factory=dict)


class _Code:
    """A relocatable instruction sequence (jumps are relative)."""

    def __init__(self):
        self.b = bytearray()

    def op(self, name: str, *vals) -> int:
        code, fmt, _ = OPS[name]
        self.b.append(code)
        self.b += struct.pack(fmt, *vals) if fmt else b""
        return len(self.b)

    def __iadd__(self, other: "_Code"):
        self.b += other.b
        return self

    def jump(self, name: str, *vals) -> int:
        """Emit a forward jump with distance 0; returns the position to patch."""
        self.op(name, *vals, 0)
        return len(self.b)

    def land(self, at: int) -> None:
        """Patch the jump ending at ``at`` to land here."""
        struct.pack_into("<I", self.b, at - 4, len(self.b) - at)


def _layout(k: ir.Kernel) -> tuple[list[tuple[str, int, str]], int]:
    """The C layout of a kernel's argument struct (lower_kernel's fields, natural alignment):
    [(field, offset, C type)], sizeof."""
    fields, off, align = [], 0, 1
    for p in k.params:
        if isinstance(p.type, (ir.TileType, ir.TensorType)):
            items = [(p.name, "ptr")] + [(f"{p.name}_{s}", "int64_t")
                                         for s in ("rs", "cs", "rows", "cols")]
        else:
            items = [(p.name, scalar_ctype(p.type.dtype))]
        for name, ct in items:
            size = 8 if ct == "ptr" else np.dtype(_NP_CT[ct]).itemsize
            off = (off + size - 1) // size * size
            fields.append((name, off, ct))
            off += size
            align = max(align, size)
    return fields, (off + align - 1) // align * align


_NP_CT = {"int8_t": "i1", "int16_t": "i2", "int32_t": "i4", "int64_t": "i8", "uint8_t": "u1",
          "uint16_t": "u2", "uint32_t": "u4", "uint64_t": "u8", "float": "f4", "double": "f8"}


@dataclass
class _Proc:
    """Compilation state inside one process of a pipeline."""

    chan: dict[str, int]
    consumed: list[tuple[int, int]]  # enclosing consume bodies: (channel, token register)
    rendezvous: set[str]             # depth-0 channels


class PlanCompiler:
    """Mirrors :class:`OrchLowerer` construct by construct (and site by site)."""

    def __init__(self, m: ir.Module, machine: Machine, v9_compat: bool):
        self.m = m
        self.orch = OrchLowerer(m, machine, v9_compat)  # config, sites, names, limits
        self.regs: dict[str, list[int]] = {}
        self.nregs = 0
        self.live = 0
        self.call_axes: tuple = ()
        self.layouts: dict[str, tuple[int, list[tuple[str, int]]]] = {}
        self.strings = bytearray()           # NUL-terminated names, by byte offset
        self.string_at: dict[str, int] = {}
        self.proc: _Proc | None = None       # inside a pipeline process

    def string(self, text: str) -> int:
        """Offset of ``text`` in the plan's string section."""
        if text not in self.string_at:
            self.string_at[text] = len(self.strings)
            self.strings += text.encode() + b"\0"
        return self.string_at[text]

    # -- registers -------------------------------------------------------------------
    def reg(self) -> int:
        r = self.live
        self.live += 1
        self.nregs = max(self.nregs, self.live)
        return r

    def site(self, loc, what: str, kind: str = "index") -> int:
        return self.orch.site(loc, what, kind)

    # -- expressions -----------------------------------------------------------------
    def expr(self, e, c: _Code) -> int:
        """Emit ``e``; returns the kind of the value it leaves."""
        if isinstance(e, irx.Const):
            if e.dtype.is_float:
                v = float(e.value)
                if e.dtype in (DType.F32, DType.F16, DType.BF16):
                    with np.errstate(over="ignore"):
                        v = float(np.array(v, dtype=e.dtype.np).astype(np.float64))
                c.op("PUSH", struct.unpack("<Q", struct.pack("<d", v))[0])
                return F64
            integer(e.value, e.dtype, e.loc)  # range check, as cpu_sim's literal
            v = int(e.value)
            if e.dtype is DType.BOOL:
                v = 1 if v else 0
            c.op("PUSH", v & (2 ** 64 - 1))
            return U64 if (e.dtype.np.kind == "u" and e.dtype is not DType.BOOL) or \
                v > 2 ** 63 - 1 else I64
        if isinstance(e, irx.Var):
            c.op("VAR", self.regs[e.name][-1])
            return I64
        if isinstance(e, irx.Symbol):
            i = self.orch.symbol_id[e.name]
            if e.dtype.is_float:
                c.op("SYM_F", i)
                return F64
            c.op("SYM_U", i)
            return _kind(e.dtype)
        if isinstance(e, irx.Slot):
            c.op("SLOT", e.index)
            return U64
        if isinstance(e, irx.TaskParam):
            return self.expr(self.call_axes[e.index], c)
        if isinstance(e, irx.ChannelPending):  # in a process (verified)
            c.op("PENDING", self.proc.chan[e.channel])
            return I64
        if isinstance(e, irx.AxisSize):
            a = self.m.axis(e.axis)
            i = self.orch.axis_id[e.axis]
            if a.kind in ("dense", "dense_dyn"):
                c.op("AXIS_SIZE", i)
                return I64
            self.row_index(e.outer, a, e.loc, c)
            if a.kind == "ragged":
                c.op("AXIS_A", i)
                return I64
            c.op("DUP")
            c.op("PUSH", 1)
            c.op("BIN", OPCODES_BIN["add"], I64, 0xFFFF)
            c.op("AXIS_A", i)
            c.op("SWAP")
            c.op("AXIS_A", i)
            c.op("BIN", OPCODES_BIN["sub"], I64, 0xFFFF)
            return I64
        if isinstance(e, irx.Binary):
            return self.binary(e, c)
        if isinstance(e, irx.Unary):
            k = self.expr(e.operand, c)
            if e.op == "not":
                c.op("NOT", k)
                return I64
            t = _kind(e.dtype)
            self.cvt(k, t, c)
            c.op("NEG" if e.op == "neg" else "INV", t)
            return t
        if isinstance(e, irx.Where):
            t = _kind(e.dtype)
            c.op("TEST", self.expr(e.cond, c))
            j = c.jump("JZ")
            self.cvt(self.expr(e.then, c), t, c)
            end = c.jump("JMP")
            c.land(j)
            self.cvt(self.expr(e.other, c), t, c)
            c.land(end)
            return t
        if isinstance(e, irx.Cast):
            k = self.expr(e.operand, c)
            if e.to is DType.BOOL:
                c.op("TEST", k)
                return I64
            if e.to.is_float:
                self.cvt(k, F64, c, "float" if e.to is DType.F32 else _KEEP)
                return F64
            t = _kind(e.to)
            self.cvt(k, t, c, _INT_CT[e.to], force=True)
            return t
        raise CompileError(f"cannot lower expression {e!r}", getattr(e, "loc", None))

    def cvt(self, k: int, to: int, c: _Code, through: str = _KEEP, force: bool = False) -> None:
        if k != to or through != _KEEP or force:
            c.op("CVT", k, CT[through], to)

    def binary(self, e: irx.Binary, c: _Code) -> int:
        kind = irx.BINARY_OPS[e.op][2]
        pt = irx.promote(e.lhs.dtype, e.rhs.dtype)
        t = _kind(e.dtype if kind == "arith" else pt)
        if kind == "logic":
            c.op("TEST", self.expr(e.lhs, c))
            j = c.jump("AND_JZ" if e.op == "land" else "OR_JNZ")
            c.op("TEST", self.expr(e.rhs, c))
            c.land(j)
            return I64
        if e.op == "div":
            t = F64
        elif kind == "int" and pt.is_float:
            raise CompileError(f"'{irx.BINARY_OPS[e.op][0]}' needs integer operands", e.loc)
        self.cvt(self.expr(e.lhs, c), t, c)
        self.cvt(self.expr(e.rhs, c), t, c)
        site = 0xFFFF
        if e.op in ("floordiv", "mod"):
            site = self.site(e.loc, f"'{irx.BINARY_OPS[e.op][0]}' by zero")
        c.op("BIN", OPCODES_BIN[e.op], t, site)
        return I64 if kind == "cmp" else t

    def row_index(self, outer, a: ir.AxisDecl, loc, c: _Code) -> None:
        site = self.site(loc, f"row index of axis '{a.name}' out of range")
        self.cvt(self.expr(outer, c), I64, c)
        c.op("IDX", a.size, site)

    # -- statements ------------------------------------------------------------------
    def stmts(self, body) -> _Code:
        c = _Code()
        for s in body:
            c += self.stmt(s)
        return c

    def scope(self, kind: str, inner: _Code) -> _Code:
        if self.proc is not None:  # a process is sequential (as cpu_sim lowers it)
            return inner
        c = _Code()
        c.op("SCOPE_BEGIN", 1 if kind == "SEQ" else 0)
        c += inner
        c.op("SCOPE_END")
        return c

    def stmt(self, s) -> _Code:
        if isinstance(s, ir.Call):
            return self.call(s)
        if isinstance(s, ir.For):
            return self.loop(s)
        if isinstance(s, ir.When):
            c = _Code()
            ends = []
            for cond, body in s.branches:
                c.op("TEST", self.expr(cond, c))
                j = c.jump("JZ")
                c += self.stmts(body)
                ends.append(c.jump("JMP"))
                c.land(j)
            if s.otherwise is not None:
                c += self.stmts(s.otherwise)
            for j in ends:
                c.land(j)
            return self.scope("PAR", c)
        if isinstance(s, ir.Block):
            c = _Code()
            for i, part in enumerate(s.parts):
                if i and s.kind == "seq" and self.proc is None:
                    c.op("SCOPE_NEXT")
                c += self.stmts(part)
            return self.scope(s.kind.upper(), c)
        if isinstance(s, ir.SlotSet):
            c = _Code()
            self.cvt(self.expr(s.value, c), U64, c)
            c.op("SLOT_SET", s.slot)
            return c
        if isinstance(s, ir.SlotLoad):
            return self.slot_load(s)
        if isinstance(s, ir.Pipe):
            return self.pipe(s)
        if isinstance(s, ir.Send):  # Send, Wait, Consume: in a process (verified)
            return self.send(s)
        if isinstance(s, ir.Wait):
            return self.wait(s)
        if isinstance(s, ir.Consume):
            return self.consume(s)
        raise CompileError(f"cannot lower statement {type(s).__name__}", getattr(s, "loc", None))

    # -- CSP pipelines (as OrchLowerer lowers them; its checks ran first) --------------
    def pipe(self, s: ir.Pipe) -> _Code:
        chan = {ch.name: i for i, ch in enumerate(s.channels)}
        rendezvous = {ch.name for ch in s.channels if ch.depth == 0}
        live, bodies = self.live, []
        for p in s.processes:  # each process its own registers: they interleave
            self.proc = _Proc(chan, [], rendezvous)
            try:
                body = self.stmts(p.body)
            finally:
                self.proc = None
            for name in p.produces:
                body.op("CLOSE", chan[name])
            body.op("PEND")
            bodies.append((p.name, body))
            self.live = self.nregs
        self.live = live
        dsite = self.site(s.loc, "deadlock in pipeline", kind="deadlock")
        c = _Code()
        c.op("PIPE", len(s.processes), len(s.channels), dsite)
        for ch in s.channels:
            if ch.depth > CHAN_DEPTH_MAX:
                raise CompileError(f"channel '{ch.name}' has depth {ch.depth}; the task-"
                                   f"generation plan holds at most {CHAN_DEPTH_MAX} slots per "
                                   "channel", s.loc, hint="use a smaller depth")
            producers = sum(ch.name in p.produces for p in s.processes)
            c.op("CHAN", ch.depth, producers, self.string(ch.name))
        for name, body in bodies:
            c.op("PROC", self.string(name), len(body.b))
            c += body
        return c

    def proc_regions(self) -> list[tuple[int, int, int, int]]:
        """(what, channel, register, mode) of the regions every task of the process has: its
        marker (READWRITE), the slots of the tokens its consume bodies hold (READ)."""
        return ([(0, 0, 0, _const("PTO_RT_READWRITE"))] +
                [(1, ci, r, _const("PTO_RT_READ")) for ci, r in self.proc.consumed])

    def noop(self, name: str, regions, c: _Code) -> None:
        c.op("NOOP", self.string(name))
        for what, ci, r, mode in regions:
            c.op("CSP_REGION", what, ci, r, mode)
        c.op("SUBMIT")

    def ack(self, ci: int, channel: str) -> list[tuple[int, int, int, int]]:
        return ([(2, ci, 0, _const("PTO_RT_WRITE"))] if channel in self.proc.rendezvous
                else [])

    def send(self, s: ir.Send) -> _Code:
        ci = self.proc.chan[s.channel]
        tok = self.reg()
        c = _Code()
        c.op("SEND_BEGIN", ci, tok)
        slot = (1, ci, tok, _const("PTO_RT_WRITE") | _const("PTO_RT_LATENCY"))
        if s.call is None:
            self.noop(f"record:{s.channel}", self.proc_regions() + [slot], c)
        else:
            c += self.call(s.call, extra=[slot])
        c.op("SEND_END", ci)
        if s.channel in self.proc.rendezvous:
            c.op("RENDEZVOUS", ci, tok)
            self.noop(f"join:{s.channel}",
                      self.proc_regions() + [(2, ci, 0, _const("PTO_RT_READ"))], c)
        self.live -= 1
        return c

    def wait(self, s: ir.Wait) -> _Code:
        ci = self.proc.chan[s.channel]
        site = self.site(s.loc, f"synchronize/wait on channel '{s.channel}', which is closed "
                                "(every producer finished) and empty", kind="closed")
        tok = self.reg()
        c = _Code()
        c.op("RECV", ci, tok, site)
        self.noop(f"wait:{s.channel}", self.proc_regions() + [
            (1, ci, tok, _const("PTO_RT_READ"))] + self.ack(ci, s.channel), c)
        c.op("RELEASE", ci, tok)
        self.live -= 1
        return c

    def consume(self, s: ir.Consume) -> _Code:
        ci = self.proc.chan[s.channel]
        tok = self.reg()
        self.regs.setdefault(s.var, []).append(tok)
        self.proc.consumed.append((ci, tok))
        try:
            body = _Code()
            ack = self.ack(ci, s.channel)
            if ack:
                self.noop(f"take:{s.channel}", self.proc_regions() + ack, body)
            body += self.stmts(s.body)
        finally:
            self.proc.consumed.pop()
            self.regs[s.var].pop()
        self.live -= 1
        c = _Code()
        c.op("CONSUME", ci, tok, len(body.b) + 1 + 8)  # past its CONSUMED
        c += body
        c.op("CONSUMED", ci, tok, len(body.b) + 2 * (1 + 8))  # back to its CONSUME
        return c

    def loop(self, s: ir.For) -> _Code:
        a = self.m.axis(s.domain.axis)
        i = self.orch.axis_id[a.name]
        rowed = a.kind in ("ragged", "sparse")
        o = self.reg() if rowed else None
        j = self.reg() if a.kind == "sparse" else None
        v = self.reg()
        self.regs.setdefault(s.var, []).append(v)
        try:
            body = _Code()
            if j is not None:  # v = indices[j]
                body.op("VAR", j)
                body.op("AXIS_B", i)
                body.op("SET", v)
            if s.kind == "seq" and self.proc is None:
                body.op("SEQ_NEXT")
            body += self.stmts(s.body)
            body.op("NEXT")
        finally:
            self.regs[s.var].pop()
            self.live -= 1 + rowed + (j is not None)
        loop = _Code()  # push lo, hi; FOR
        if a.kind == "sparse":
            loop.op("VAR", o)
            loop.op("AXIS_A", i)
            loop.op("VAR", o)
            loop.op("PUSH", 1)
            loop.op("BIN", OPCODES_BIN["add"], I64, 0xFFFF)
            loop.op("AXIS_A", i)
        else:
            loop.op("PUSH", 0)
            if a.kind == "ragged":
                loop.op("VAR", o)
                loop.op("AXIS_A", i)
            elif a.kind == "dense":
                loop.op("PUSH", a.size)
            else:
                loop.op("AXIS_SIZE", i)
        loop.op("FOR", v if j is None else j, len(body.b))
        loop += body
        loop = self.scope("SEQ" if s.kind == "seq" else "PAR", loop)
        if not rowed:
            return loop
        c = _Code()  # the row index (its site after the body's, as cpu_sim numbers them)
        self.row_index(s.domain.outer, a, s.loc, c)
        c.op("SET", o)
        c += loop
        return c

    # -- views and calls -------------------------------------------------------------
    def view(self, v: ir.ViewExpr, loc, what: str, c: _Code):
        """Emit the element offset of a view; returns the kept dims as (mult, dim) stride
        pairs and their sizes."""
        t = self.m.tensor(v.tensor)
        ti = self.orch.tensor_id[t.name]
        c.op("VIEW")
        strides, sizes = [], []
        for dim, it in enumerate(v.items):
            if isinstance(it, ir.Index):
                site = self.site(loc, f"index into '{t.name}' dimension {dim} (size "
                                      f"{t.shape[dim]}) out of bounds in {what}")
                self.cvt(self.expr(it.expr, c), I64, c)
                c.op("VIEW_IDX", ti, dim, t.shape[dim], site)
            else:
                last = (it.size - 1) * it.step
                site = self.site(loc, f"slice of '{t.name}' dimension {dim} (size "
                                      f"{t.shape[dim]}) out of bounds in {what}")
                self.cvt(self.expr(it.start, c), I64, c)
                c.op("VIEW_IDX", ti, dim, t.shape[dim] - last, site)
                strides.append((it.step, dim))
                sizes.append(it.size)
        for dim in range(len(v.items), len(t.shape)):
            strides.append((1, dim))
            sizes.append(t.shape[dim])
        return ti, strides, sizes

    def call(self, call: ir.Call, extra=()) -> _Code:
        k = self.m.kernel(call.kernel)
        kid = self.orch.kernel_id[k.name]
        args = dict(call.args)
        fields, size = _layout(k)
        self.layouts[k.name] = (size, [(ident(f), o) for f, o, _ in fields])
        offset = {f: (o, ct) for f, o, ct in fields}
        unit = _const("PTO_RT_UNIT_CUBE" if k.exec_unit == "cube" else "PTO_RT_UNIT_VECTOR")
        pool = 1 if (k.exec_unit == "cube" and self.orch.tg.pools.kind == "custom") else 0
        c = _Code()
        skip = c.jump("TASK", kid, size, unit, pool)
        nreg = 0
        for p in k.params:
            a = args.get(p.name)
            off, ct = offset[p.name]
            if isinstance(p.type, ir.ScalarType):
                if a is None:
                    a = irx.Const(p.default, p.type.dtype, k.loc)
                kd = self.expr(a, c)
                c.op("ARG", off, kd, CT[ct])
                continue
            t = self.m.tensor(a.tensor)
            ti, strides, sizes = self.view(a, call.loc, f"call of '{k.name}'", c)
            rows, cols, strides = kernel_view(sizes, strides, p.name, k.name, a.loc or call.loc)
            if len(strides) == 2:
                (rm, rd), (cm, cd) = strides
            else:
                (cm, cd), = strides
                rm, rd = cols * cm, cd
            mode = _const({"in": "PTO_RT_READ", "out": "PTO_RT_WRITE",
                           "inout": "PTO_RT_READWRITE"}[p.direction])
            c.op("ARG_VIEW", ti, off, t.dtype.itemsize, mode, rows, cols, rm, rd, cm, cd)
            nreg += 1
        if nreg > 16:
            raise CompileError(f"kernel '{k.name}' accesses {nreg} tensors; the runtime allows "
                               "16 per task", k.loc)
        if self.proc is not None:  # process order and channel tokens, after the tensors
            for what, ci, r, mode in self.proc_regions() + list(extra):
                c.op("CSP_REGION", what, ci, r, mode)
        sched = self.orch.sched
        self.call_axes = call.axes
        if sched.dispatch and sched.dispatch.key:
            kd = self.expr(sched.dispatch.key, c)
        else:
            c.op("PUSH", 0)
            kd = I64
        if sched.dispatch and sched.dispatch.kind == "dispatch_by":
            n = self.orch.num_aicpus()
            site = self.site(sched.dispatch.loc, f"dispatch_by chose an AICPU out of range for "
                                                 f"a task of '{k.name}' ({n} AICPUs exist)")
            self.cvt(kd, I64, c)
            c.op("IDX", n, site)
            kd = I64
        self.cvt(kd, U64, c)
        self.key(sched.stream_by, U64, "uint64_t", c)
        self.key(self.orch.tg.ready.key, I64, "int32_t", c)
        c.op("TASK_KEYS")
        if k.name in self.orch.costs:
            self.cvt(self.expr(self.orch.costs[k.name], c), U64, c)
            c.op("TASK_COST")
        if len(call.axes) > MAX_INDICES:
            raise CompileError(f"this call of '{k.name}' binds {len(call.axes)} axis values; the "
                               f"runtime records at most {MAX_INDICES} per task", call.loc,
                               hint="bind fewer axes (k[a, b](...))")
        for e in call.axes:
            self.cvt(self.expr(e, c), I64, c)
            c.op("TASK_INDEX")
        c.land(skip)
        c.op("SUBMIT")
        return c

    def key(self, e, to: int, through: str, c: _Code) -> None:
        if e is None:
            c.op("PUSH", 0)
            return
        self.cvt(self.expr(e, c), to, c, through)

    def slot_load(self, s: ir.SlotLoad) -> _Code:
        t = self.m.tensor(s.view.tensor)
        if t.dtype not in _ELEM_CT:
            raise CompileError(f"slot_load_u64 from a {t.dtype.value} tensor cannot be "
                               "expressed in the task-generation plan yet", s.loc,
                               hint="load from an integer, f32 or f64 tensor")
        c = _Code()
        ti, strides, sizes = self.view(s.view, s.loc, "slot_load_u64", c)
        while len(sizes) < 2:
            sizes, strides = [1] + sizes, [(0, 0)] + strides
        (rm, rd), (cm, cd) = strides[-2], strides[-1]
        ct = _ELEM_CT[t.dtype]
        c.op("SLOT_LOAD", ti, CT[ct], s.slot, s.row, s.col, rm, rd, cm, cd)
        return c


OPCODES_BIN = {op: i for i, op in enumerate(irx.BINARY_OPS)}


def compile_plan(m: ir.Module, machine: Machine = Machine(), v9_compat: bool = False) -> Plan:
    """The plan of a verified module: header, configuration, code."""
    pc = PlanCompiler(m, machine, v9_compat)
    code = pc.stmts(m.workload.body)
    cfg = []
    for f, v in pc.orch.config_fields().items():
        if f == "exec_units":
            v = sum(1 << _const(u) for u in v)
        elif isinstance(v, tuple):
            v = functools.reduce(lambda a, b: a | b, (_const(x) for x in v), 0)
        elif isinstance(v, str):
            v = _const(v)
        cfg.append(struct.pack("<BQ", CONFIG_FIELDS.index(f), v))
    body = b"".join(cfg) + bytes(pc.strings) + bytes(code.b)
    total = HEADER.size + len(body)
    if total >= 2 ** 32:
        raise CompileError("the workload's plan exceeds 4 GiB", m.loc)
    head = HEADER.pack(MAGIC, VERSION, 0, total, len(m.kernels), len(m.tensors), len(m.axes),
                       len(m.symbols), pc.nregs, len(cfg), len(pc.strings))
    return Plan(head + body, pc.orch.sites, pc.layouts)


def plan_glue(m: ir.Module, plan: Plan) -> str:
    """C of a cpu_sim program run through the plan: the kernel table, the plan
    (``pto_plan_main``) and ``pto_run`` (the interpreter, same contract as the generated
    one). The argument-struct offsets the plan assumes are checked at compile time."""
    costs = (m.schedule.task_graph.trace.costs if m.schedule.task_graph else ())
    costs = dict(costs)
    lines = ["/* Generated by pto-wsp: the workload as a task-generation plan (docs/ascend.md). */",
             "#include <stddef.h>", "#include <stdint.h>", '#include "pto_rt.h"',
             '#include "kernels.h"', '#include "pto_plan.h"', ""]
    for i, k in enumerate(m.kernels):
        if k.name in costs:
            lines.append(_cost_wrapper(k.name, i))
    for k in m.kernels:
        if k.name not in plan.layouts:
            continue
        size, fields = plan.layouts[k.name]
        t = args_type(k.name)
        lines += [f"_Static_assert(offsetof({t}, {f}) == {o}, \"plan layout\");"
                  for f, o in fields]
        lines.append(f"_Static_assert(sizeof({t}) == {size}, \"plan layout\");")
    table = ", ".join(f"{{{kernel_fn(k.name)}, {f'pto_cost_{i}' if k.name in costs else 'NULL'}, "
                      f"{string(k.name)}}}" for i, k in enumerate(m.kernels)) or "{NULL, NULL, NULL}"
    data = ", ".join(str(b) for b in plan.data)
    lines += [f"const pto_plan_kernel pto_plan_kernels[] = {{{table}}};",
              f"const uint32_t pto_plan_num_kernels = {len(m.kernels)};",
              f"const uint8_t pto_plan_main[] = {{{data}}};",
              f"const uint64_t pto_plan_main_bytes = {len(plan.data)};",
              "int pto_run(const pto_inputs *in, pto_outputs *out)",
              "{", "    return pto_plan_run(pto_plan_main, pto_plan_main_bytes, in, out);", "}",
              ""]
    return "\n".join(lines)


def opcode_table() -> str:
    """The opcode table of docs/ascend.md ("Plan format"), from :data:`OPS`."""
    rows = ["| code | opcode | operands (little-endian) | what it does |", "|---|---|---|---|"]
    rows += [f"| `0x{code:02X}` | `{name}` | `{fmt[1:] or '-'}` | {doc} |"
             for name, (code, fmt, doc) in OPS.items()]
    return "\n".join(rows)

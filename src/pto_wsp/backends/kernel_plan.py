"""The target-neutral plan of a traced kernel, computed once from kernel IR.

It says how the kernel runs on an A2/A3 AICore: the tile role of every value (``Vec`` in UB;
matmul operands loaded into ``Mat`` (L1) and moved to ``Left``/``Right`` (L0A/L0B); results in
``Acc`` (L0C)), the layout of each tile, the sequence of PTO-ISA instructions with the pipe each
runs on, a byte address for every buffer (reusing space once a value is dead, within the
per-level budgets) and the ``set_flag``/``wait_flag`` pairs the pipes need. Targets only print
it. What cannot run on the AICore yet is a located :class:`CompileError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CompileError
from ..ir import nodes as ir
from ..ir.kloops import LEVEL_BYTES, OPCODES
from ..types import DType
from .compose import COMPOSED, SCRATCH

# level -> (capacity for kernels, description): the IR's figures (ir/kloops.LEVEL_BYTES)
BUDGET = {lv: (n, "UB (192 KB, the last 8 KB kept for instruction scratch)" if lv == "UB"
               else f"{lv} ({n >> 10} KB)") for lv, n in LEVEL_BYTES.items()}
LEVEL = {"Vec": "UB", "Mat": "L1", "Left": "L0A", "Right": "L0B", "Acc": "L0C"}
ALIGN = 32
PIPES = ("S", "V", "M", "MTE1", "MTE2", "MTE3", "FIX")

_VECTOR = {"tadd", "tsub", "tmul", "tdiv", "tmax", "tmin", "tand", "tor", "txor", "tshl", "tshr",
           "tadds", "tsubs", "tmuls", "tdivs", "tmaxs", "tmins", "tands", "tors", "txors",
           "tshls", "tshrs", "trdivs", "trsubs", "texp", "tlog", "tsqrt", "trsqrt", "trecip",
           "tabs", "tneg", "trelu", "tnot", "tmov", "texpands", "tcvt", "tcmp", "tcmps", "tsel",
           "trowsum", "trowmax", "trowmin", "tcolsum", "tcolmax", "tcolmin", "trowexpand",
           "tcolexpand", "tci", "tsort32", "tmrgsort", "textract"} | set(COMPOSED) | {
               f"t{k}expand{o}" for k in ("row", "col")
                            for o in ("add", "sub", "mul", "div", "max", "min")}
_MATMUL = ("tmatmul", "tmatmul_acc")
# ops whose operands PTO-ISA wants RowMajor (scalar operand, unary, convert, fill)
ROWMAJOR_ONLY = {"tadds", "tsubs", "tmuls", "tdivs", "tmaxs", "tmins", "tands", "tors", "txors",
                 "tshls", "tshrs", "trdivs", "trsubs", "texp", "tlog", "tsqrt", "trsqrt",
                 "trecip", "tabs", "tneg", "trelu", "tnot", "texpands", "tcvt", "tcmps"}


@dataclass
class Buffer:
    """One tile buffer: a value (``name`` is ``t<n>``) or an instruction's scratch tile."""
    name: str
    role: str  # Vec Mat Left Right Acc
    dtype: DType
    rows: int
    cols: int
    layout: str = "RowMajor"  # NoneBox BLayout of Vec tiles; Mat/Left/Right/Acc are fractal
    addr: int = -1

    @property
    def level(self) -> str:
        return LEVEL[self.role]

    @property
    def nbytes(self) -> int:
        return self.rows * self.cols * self.dtype.itemsize


@dataclass
class Instr:
    """One PTO-ISA instruction: ``name`` with operands (buffer names, ``param:<name>`` or
    ``imm:<index into the IR op's operands>``), the pipe it runs on, and the flags to wait for
    before it (``(src pipe, dst pipe)`` pairs, set and waited just before it)."""
    name: str
    pipe: str
    operands: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    op: ir.KernelOp
    attrs: dict = field(default_factory=dict)
    waits: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class KernelPlan:
    kernel: ir.Kernel
    buffers: dict[str, Buffer]
    instrs: list[Instr]
    views: dict[str, str]  # Vec buffer name -> its RowMajor [1, rows*cols] view (same bytes)
    unit: str  # "vector" or "cube"


def last_uses(ops) -> dict[int, int]:
    """Index of the last op reading each SSA value (the liveness every lowering uses)."""
    last: dict[int, int] = {}
    for i, op in enumerate(ops):
        for o in op.operands:
            if isinstance(o, ir.ValueRef):
                last[o.index] = i
    return last


def matmul_results_read_by_vector_ops(ops) -> set[int]:
    """Values produced by a matmul that an op other than a store or a matmul (as its
    accumulator or operand) reads: where a kernel crosses from the cube to the vector unit."""
    made = {v for op in ops if op.opcode in _MATMUL for v in op.results}
    return {o.index for op in ops if op.opcode not in ("tstore",) + _MATMUL
            for o in op.operands if isinstance(o, ir.ValueRef) and o.index in made}


def gm_accumulations(ops) -> dict[int, tuple[int, int]]:
    """``C += A @ B`` on a GM tile: a ``tmatmul_acc`` (op index) whose accumulator is loaded
    from a view only it reads, and whose result only a store back to that same view reads,
    with no other store to the view in between -> (load index, store index). TLOAD cannot fill
    an Acc tile; PTO-ISA accumulates into GM with ``TSTORE<..., AtomicType::AtomicAdd>`` of a
    fresh ``TMATMUL``, so the result is ``c + (a @ b)`` (docs/tile-library.md)."""
    readers: dict[int, list[int]] = {}
    defs: dict[int, int] = {}
    for i, op in enumerate(ops):
        defs.update((v, i) for v in op.results)
        for o in op.operands:
            if isinstance(o, ir.ValueRef):
                readers.setdefault(o.index, []).append(i)
    found = {}
    for i, op in enumerate(ops):
        if op.opcode != "tmatmul_acc":
            continue
        acc = op.operands[0].index
        ld, out = defs[acc], readers.get(op.results[0], [])
        if ops[ld].opcode != "tload" or readers[acc] != [i] or len(out) != 1:
            continue
        st, view = out[0], ops[ld].operands[0].name
        if (ops[st].opcode == "tstore" and ops[st].operands[0].name == view
                and not any(o.opcode == "tstore" and o.operands[0].name == view
                            for o in ops[ld + 1:st])):
            found[i] = (ld, st)
    return found


WS_PREFIX = "ws:"  # a workspace crossing's parameter name in a part (never a user name)


@dataclass
class Crossing:
    """A tile one part writes to the GM workspace and later parts read back."""
    value: int
    type: ir.TileType
    offset: int  # bytes into the workspace
    src: int  # part index storing it
    dsts: tuple[int, ...]  # part indices loading it

    @property
    def param(self) -> str:
        return f"{WS_PREFIX}{self.value}"


@dataclass
class KernelPart:
    """One AICore entry of a kernel: a single-unit sub-kernel (the user's ops of that part
    plus workspace stores/loads) and its plan."""
    name: str  # "c0", "v1", ... (unit letter, position); "" for a single-unit kernel
    unit: str  # "cube" or "vector"
    kernel: ir.Kernel
    plan: KernelPlan | None = None


@dataclass
class KernelSplit:
    """A kernel as an ordered list of single-unit parts. A kernel mixing cube and vector work
    is split at the unit boundaries (A2/A3 cube and vector are separate cores: no shared
    UB/L0C); the parts run in order, each on a core of its unit, and exchange the crossing
    tiles through a per-task GM workspace of ``workspace_bytes``. ``reloads`` lists the
    loaded tiles a later part loads again from their own GM view; ``loads_before`` maps an op
    (index in the kernel) to the values its part loads just before it (workspace or reload)."""
    parts: list[KernelPart]
    crossings: list[Crossing]
    reloads: list[tuple[int, ir.TileType]]
    workspace_bytes: int
    loads_before: dict[int, list[int]]


def _unit(op: ir.KernelOp) -> str:
    return "cube" if op.opcode in _MATMUL else "vector"


def split_kernel(k: ir.Kernel) -> KernelSplit:
    """Parts in dependency order: each op goes to the first part of its unit at or after the
    parts of its operands (and, for GM, after earlier stores to its view and, for a store,
    after earlier loads from it). A value read in a part other than its own crosses through
    the workspace; a loaded tile another part reads is loaded there again when no store to
    its view follows its load."""
    units: list[str] = []
    part_of: dict[int, int] = {}  # op index -> part
    defs: dict[int, int] = {}  # value -> op index
    home: dict[int, int] = {}  # loaded value -> first part it is loaded in
    stored: dict[str, list[int]] = {}  # param -> op indices storing to it
    for i, op in enumerate(k.ops):
        for v in op.results:
            defs[v] = i
        if op.opcode == "tstore":
            stored.setdefault(op.operands[0].name, []).append(i)

    def place(lo: int, unit: str) -> int:
        for q in range(lo, len(units)):
            if units[q] == unit:
                return q
        units.append(unit)
        return len(units) - 1

    def gm_after(i: int, name: str) -> int:
        """The latest part storing to ``name`` before op ``i``."""
        return max((part_of[s] for s in stored.get(name, ()) if s < i), default=0)

    for i, op in enumerate(k.ops):
        if op.opcode == "tload":
            continue  # placed with its readers
        lo = 0
        for j, o in enumerate(op.operands):
            if isinstance(o, ir.ValueRef):
                d = defs[o.index]
                dop = k.ops[d]
                if dop.opcode == "tload":
                    lo = max(lo, gm_after(d, dop.operands[0].name))
                elif op.opcode in _MATMUL and dop.opcode in _MATMUL and j >= len(op.operands) - 2:
                    lo = max(lo, part_of[d] + 1)  # Acc -> Left/Right goes through GM
                else:
                    lo = max(lo, part_of[d])
        unit = _unit(op)
        if op.opcode == "tstore":
            name = op.operands[0].name
            src = k.ops[defs[op.operands[1].index]]
            unit = "vector" if src.opcode == "tload" else _unit(src)
            lo = max(lo, gm_after(i, name))
            for d, dop in enumerate(k.ops[:i]):  # loads of this view before the store
                if dop.opcode != "tload" or dop.operands[0].name != name:
                    continue
                if dop.results[0] not in home:  # read later, if at all: load it before
                    home[dop.results[0]] = place(gm_after(d, name), "vector")
                lo = max(lo, home[dop.results[0]])
        part_of[i] = place(lo, unit)
        for o in op.operands:
            if isinstance(o, ir.ValueRef) and k.ops[defs[o.index]].opcode == "tload":
                home.setdefault(o.index, part_of[i])
    for d, op in enumerate(k.ops):  # loads nothing reads still run (and cost) somewhere
        if op.opcode == "tload" and op.results[0] not in home:
            home[op.results[0]] = place(gm_after(d, op.operands[0].name), "vector")
    return _build_parts(k, units, part_of, defs, home, stored)


def _build_parts(k, units, part_of, defs, home, stored) -> KernelSplit:
    n = len(units)
    where: dict[int, int] = {}  # value -> the part defining it
    for i, op in enumerate(k.ops):
        for v in op.results:
            where[v] = home.get(v, -1) if op.opcode == "tload" else part_of[i]
    # (sort key, op) per part: user ops at (i, 1), workspace stores (i, 2), loads (j, 0)
    keyed: list[list[tuple[tuple[int, int], ir.KernelOp]]] = [[] for _ in range(n)]
    crossings: dict[int, Crossing] = {}
    reloads: list[tuple[int, ir.TileType]] = []
    loads_before: dict[int, list[int]] = {}
    loaded: set[tuple[int, int]] = set()  # (value, part) a load materialises
    offset = 0
    for i, op in enumerate(k.ops):
        if op.opcode == "tload":
            if op.results[0] in home:
                loaded.add((op.results[0], home[op.results[0]]))
                keyed[home[op.results[0]]].append(((i, 1), op))
            continue
        q = part_of[i]
        for o in op.operands:
            if not isinstance(o, ir.ValueRef) or where[o.index] == q or (o.index, q) in loaded:
                continue
            v, d = o.index, defs[o.index]
            dop = k.ops[d]
            if dop.opcode == "tload" and all(s < d for s in stored.get(dop.operands[0].name, ())):
                keyed[q].append(((d, 1), dop))  # no later store: load again from its view
                reloads.append((v, dop.types[0]))
            else:
                c = crossings.get(v)
                if c is None:
                    t = dop.types[0]
                    c = crossings[v] = Crossing(v, t, offset, where[v], ())
                    offset += _round32(t.rows * t.cols * t.dtype.itemsize)
                    keyed[c.src].append(((d, 2), ir.KernelOp(
                        "tstore", (ir.ParamRef(c.param), ir.ValueRef(v)), loc=dop.loc)))
                c.dsts += (q,)
                keyed[q].append(((i, 0), ir.KernelOp(
                    "tload", (ir.ParamRef(c.param),), (v,), (c.type,), loc=op.loc)))
            loaded.add((v, q))
            loads_before.setdefault(i, []).append(v)
        keyed[q].append(((i, 1), op))
    parts = []
    for q, unit in enumerate(units):
        ws = tuple(ir.Param(c.param, c.type, "inout") for c in crossings.values()
                   if q == c.src or q in c.dsts)
        ops = tuple(op for _, op in sorted(keyed[q], key=lambda e: e[0]))
        sub = ir.Kernel(k.name, k.params + ws, ops, exec_unit=unit, loc=k.loc)
        parts.append(KernelPart(f"{unit[0]}{q}" if n > 1 else "", unit, sub))
    return KernelSplit(parts, list(crossings.values()), reloads, offset, loads_before)


def plan_parts(k: ir.Kernel) -> KernelSplit:
    """The split of ``k`` with a plan per part (see :class:`KernelSplit`)."""
    _check_plannable(k)
    split = split_kernel(k)
    for part in split.parts:
        part.plan = _Planner(part.kernel).run()
    return split


def _check_plannable(k: ir.Kernel) -> None:
    if k.custom is not None:
        raise CompileError(f"kernel '{k.name}': a custom C body has no PTO-ISA form", k.loc,
                           hint="trace it with pto.* ops, or write its body in C++ against "
                                "PTO-ISA (not supported yet)")
    if not k.ops:
        raise CompileError(f"kernel '{k.name}' has no body", k.loc)
    looped = next((op for op in k.ops if op.opcode in OPCODES), None)
    if looped is not None:
        raise CompileError(f"kernel '{k.name}': {looped.opcode}: loops, conditions, index "
                           "arithmetic and tensor tiles in kernels are not emitted for the "
                           "AICore yet", looped.loc or k.loc,
                           hint="run it on cpu_sim; for ascend_npu write straight-line tile "
                                "kernels (docs/kernels.md)")


class _Planner:
    def __init__(self, k: ir.Kernel):
        self.k = k
        self.types: dict[int, ir.TileType] = {}
        self.defs: dict[int, ir.KernelOp] = {}
        for op in k.ops:
            for v, t in zip(op.results, op.types):
                self.types[v], self.defs[v] = t, op
        self.readers: dict[int, list[ir.KernelOp]] = {}
        for op in k.ops:
            for o in op.operands:
                if isinstance(o, ir.ValueRef):
                    self.readers.setdefault(o.index, []).append(op)
        self.buffers: dict[str, Buffer] = {}
        self.views: dict[str, str] = {}
        self.instrs: list[Instr] = []
        self.alias: dict[int, str] = {}  # value -> the buffer it updates in place

    def fail(self, op: ir.KernelOp | None, what: str, hint: str | None = None):
        raise CompileError(f"kernel '{self.k.name}': {what}", op.loc if op else self.k.loc,
                           hint=hint)

    # -- roles -------------------------------------------------------------------------
    def role(self, v: int) -> str:
        op = self.defs[v]
        uses = self.readers.get(v, [])
        if op.opcode in _MATMUL:
            return "Acc"
        if any(u.opcode in _MATMUL and ir.ValueRef(v) in u.operands[-2:] for u in uses):
            return "Mat"  # in a single-unit part, matmul operands are TLOADs (GM or workspace)
        if op.opcode == "tload" and any(u.opcode == "tmatmul_acc" for u in uses):
            self.fail(op, f"the accumulator %{v} is loaded from GM: TLOAD cannot fill an Acc "
                          "tile, and it is not accumulated back into its own view",
                      hint="accumulate into the view it comes from, pto.store(c, pto.matmul(a, "
                           "b, acc=c)) (a TSTORE with AtomicAdd), or add the loaded tile with "
                           "pto.add after a plain pto.matmul")
        if op.opcode not in _VECTOR and op.opcode != "tload":
            self.fail(op, f"{op.opcode} has no PTO-ISA instruction in the AICore emitter yet")
        return "Vec"

    def value_buffer(self, v: int) -> Buffer:
        name = self.alias.get(v, f"t{v}")
        if name in self.buffers:
            return self.buffers[name]
        t, op = self.types[v], self.defs[v]
        role = self.role(v)
        if t.dtype is DType.BOOL and op.opcode not in ("tcmp", "tcmps"):
            self.fail(op, f"{op.opcode} makes a bool tile: PTO-ISA masks come from TCMP/TCMPS "
                          "only", hint="compare with pto.cmp or a tile comparison")
        if t.dtype is DType.BOOL:
            if any(u.opcode != "tsel" or u.operands[0] != ir.ValueRef(v)
                   for u in self.readers.get(v, [])):
                self.fail(op, f"the mask %{v} is read as data: PTO-ISA masks are packed bits that "
                              "only TSEL reads", hint="use pto.select on the mask")
            b = Buffer(name, "Vec", DType.U8, t.rows, _round32((t.cols + 7) // 8))
        else:
            b = Buffer(name, role, t.dtype, t.rows, t.cols)
            if role == "Vec" and t.cols == 1 and t.rows > 1:
                b.layout = "ColMajor"  # [R,1]: RowMajor f32 breaks the 32-byte row rule
        self.check_shape(b, op)
        self.buffers[name] = b
        return b

    def check_shape(self, b: Buffer, op: ir.KernelOp) -> None:
        es = b.dtype.itemsize
        if b.role == "Vec":
            n = b.rows if b.layout == "ColMajor" else b.cols
            if n * es % 32:
                self.fail(op, f"the {b.rows}x{b.cols} {b.dtype.value} tile %{b.name[1:]} breaks "
                              f"PTO-ISA's 32-byte row rule ({n} x {es} bytes is not a multiple "
                              "of 32)", hint="use tile widths whose rows are 32-byte multiples")
        elif b.rows % 16 or b.cols * es % 32 or (b.role == "Acc" and b.cols % 16):
            self.fail(op, f"the {b.rows}x{b.cols} {b.dtype.value} {b.role} tile %{b.name[1:]} is "
                          "not made of whole 16-row fractal boxes", hint="use multiples of 16")

    def scratch(self, like: Buffer, tag: str) -> str:
        name = f"{tag}{len(self.instrs)}"
        self.buffers[name] = Buffer(name, like.role, like.dtype, like.rows, like.cols, like.layout)
        return name

    def view(self, name: str) -> str:
        """A RowMajor operand: ColMajor [R,1] buffers are used through a [1,R] view."""
        return self.flat(name) if self.buffers[name].layout == "ColMajor" else name

    # -- instructions --------------------------------------------------------------------
    def run(self) -> KernelPlan:
        last = last_uses(self.k.ops)
        self.gm_acc = gm_accumulations(self.k.ops)
        self.gm_loads = {ld for ld, _ in self.gm_acc.values()}
        self.gm_stores = {st for _, st in self.gm_acc.values()}
        for i, op in enumerate(self.k.ops):
            self.lower(i, op, last)
        unit = "cube" if any(b.role == "Acc" for b in self.buffers.values()) else "vector"
        _assign_addresses(self)
        _plan_sync(self.instrs, self.buffers)
        return KernelPlan(self.k, self.buffers, self.instrs, self.views, unit)

    def emit(self, name, pipe, operands, reads, writes, op, **attrs) -> None:
        self.instrs.append(Instr(name, pipe, tuple(operands), tuple(reads), tuple(writes), op,
                                 attrs))

    def lower(self, i: int, op: ir.KernelOp, last: dict[int, int]) -> None:
        code = op.opcode
        if i in self.gm_loads:  # the accumulator stays in GM (TSTORE with AtomicAdd)
            return
        vals = [self.value_buffer(o.index).name
                if isinstance(o, ir.ValueRef) and not (i in self.gm_acc and j == 0) else None
                for j, o in enumerate(op.operands)]
        if code == "tload":
            d = self.value_buffer(op.results[0])
            self.emit("TLOAD", "MTE2", [d.name, "param:" + op.operands[0].name], [], [d.name], op)
            return
        if code == "tstore":
            s = self.buffers[vals[1]]
            attrs = {"atomic": "AtomicAdd"} if i in self.gm_stores else {}
            self.emit("TSTORE", "FIX" if s.role == "Acc" else "MTE3",
                      ["param:" + op.operands[0].name, s.name], [s.name], [], op, **attrs)
            return
        if code in _MATMUL:
            moved = []
            for src, role in zip(vals[-2:], ("Left", "Right")):
                m = self.buffers[src]
                name = f"{src}{role[0].lower()}{len(self.instrs)}"
                self.buffers[name] = Buffer(name, role, m.dtype, m.rows, m.cols)
                self.emit("TMOV", "MTE1", [name, src], [src], [name], op)
                moved.append(name)
            if code == "tmatmul" or i in self.gm_acc:
                d = self.value_buffer(op.results[0])
                self.emit("TMATMUL", "M", [d.name] + moved, moved, [d.name], op)
                return
            acc = vals[0]
            if last.get(op.operands[0].index) == i:  # the accumulator dies: accumulate in place
                self.alias[op.results[0]] = acc
                self.emit("TMATMUL_ACC", "M", [acc] + moved, [acc] + moved, [acc], op)
                return
            d = self.value_buffer(op.results[0])
            self.emit("TMATMUL_ACC", "M", [d.name, acc] + moved, [acc] + moved, [d.name], op)
            return
        d = self.value_buffer(op.results[0])
        if code in COMPOSED:
            self.compose(op, vals[0], d)
            return
        if code == "tci":
            self.iota(op, d)
            return
        if code == "textract":
            self.check_window(op)
        name = _INSTR.get(code, code.upper())
        srcs = [v if v is not None else f"imm:{k}" for k, v in enumerate(vals)]
        reads = [v for v in vals if v is not None]
        writes = [d.name]
        if code in ROWMAJOR_ONLY:
            srcs = [self.view(s) if s in self.buffers else s for s in srcs]
            dst = self.view(d.name)
        else:
            dst = d.name
        attrs = dict(op.attrs)
        if code in ("trowsum", "trowmax", "trowmin", "txor"):  # these take a scratch tile
            tmp = self.scratch(self.buffers[vals[0]], "tmp")
            srcs.append(tmp)
            writes.append(tmp)
        elif code == "trdivs":  # s / x: TDIVS(dst, s, src)
            srcs = srcs[::-1]
        elif code == "trsubs":  # no reverse subtract in PTO-ISA: s - x = (-x) + s, exactly
            self.emit("TNEG", "V", [dst, srcs[0]], reads, writes, op)
            self.emit("TADDS", "V", [dst, dst, srcs[1]], writes, writes, op)
            return
        self.emit(name, "V", [dst] + srcs, reads, writes, op, **attrs)


    def compose(self, op: ir.KernelOp, src: str, d: Buffer) -> None:
        """An op PTO-ISA has no instruction for, as its f32 instruction sequence
        (``compose.COMPOSED``) over scratch tiles; f16/bf16 convert to f32 and back."""
        if d.dtype not in (DType.F32, DType.F16, DType.BF16):
            self.fail(op, f"{op.opcode} of a {d.dtype.value} tile: the A2/A3 vector unit has no "
                          f"{d.dtype.value} arithmetic to compose it from",
                      hint="cast to f32 (pto.cast) and back")
        rows, cols = (1, d.rows) if d.layout == "ColMajor" else (d.rows, d.cols)
        tag = f"x{len(self.instrs)}_"
        names = {"x": self.view(src), "y": self.view(d.name)}  # operand -> tile (or view)
        real = {names["x"]: src, names["y"]: d.name}  # tile or view -> buffer

        def tile(n: str) -> str:
            if n not in names:
                dt = SCRATCH.get(n, DType.F32)
                b = (Buffer(tag + n, "Vec", DType.U8, rows, _round32((cols + 7) // 8))
                     if dt is DType.BOOL else Buffer(tag + n, "Vec", dt, rows, cols))
                self.buffers[b.name] = b
                names[n] = real[b.name] = b.name
            return names[n]

        steps = COMPOSED[op.opcode]
        if d.dtype is not DType.F32:  # widen the input, round the result
            x, y = names.pop("x"), names.pop("y")
            steps = (("TCVT", "x", x, {"round": "rint"}),) + steps + (
                ("TCVT", y, "y", {"round": "rint"}),)
            names[x], names[y] = x, y
        for step in steps:
            instr, dst, *args = step
            attrs = args.pop() if isinstance(args[-1], dict) else {}
            ops = [tile(a) if isinstance(a, str) else a for a in args]
            dt = next(self.buffers[real[o]].dtype for o in ops if isinstance(o, str))
            ops = [o if isinstance(o, str) else f"lit:{dt.value}:{o!r}" for o in ops]
            reads = [real[o] for o in ops if not o.startswith("lit:")]
            out = tile(dst)
            self.emit(instr, "V", [out] + ops, reads, [real[out]], op, **attrs)

    def iota(self, op: ir.KernelOp, d: Buffer) -> None:
        """TCI fills one row counting by +-1 from a start: it fills the whole tile through its
        [1, rows*cols] view (the same bytes), then TMULS/TADDS apply another step and start
        (exact for integers, which wrap; the tile library charges the same instructions)."""
        a = dict(op.attrs)
        dt, step, start = DType(a["dtype"]), a["step"], a["start"]
        if dt.itemsize not in (2, 4) or a["rows"] * a["cols"] == 1 or (
                step not in (1, -1) and dt.is_float):
            self.fail(op, "PTO-ISA's TCI fills 2- or 4-byte elements counting up or down by 1 "
                          f"(other steps are composed exactly for integers only); this iota is "
                          f"{a['rows']}x{a['cols']} {a['dtype']} with step {step}",
                      hint="use an i32/i16 iota (any step), or step=±1, and pto.cast it")
        flat = d.name if (d.rows, d.layout) == (1, "RowMajor") else self.flat(d.name)
        unit = step in (1, -1)
        self.emit("TCI", "V", [flat], [], [d.name], op, start=start if unit else 0,
                  step=step if unit else 1)
        for instr, k in (("TMULS", step), ("TADDS", start)):
            if not unit and (instr == "TMULS" or start != 0):
                self.emit(instr, "V", [flat, flat, f"lit:{dt.value}:{k!r}"], [d.name],
                          [d.name], op)

    def flat(self, name: str) -> str:
        """The [1, rows*cols] view of a Vec buffer (for a ColMajor [R,1] one, its row)."""
        self.views.setdefault(name, f"{name}r")
        return self.views[name]

    def check_window(self, op: ir.KernelOp) -> None:
        """A TEXTRACT window of a Vec tile is a TMOV into a smaller tile (PTO-ISA's TEXTRACT
        moves L1 to L0A/L0B only), so at (0, 0)."""
        a = dict(op.attrs)
        if (a["row"], a["col"]) != (0, 0):
            self.fail(op, f"a vector tile's window at ({a['row']}, {a['col']}) has no A2/A3 "
                          "instruction (TEXTRACT moves L1 to L0A/L0B; a window at (0, 0) is a "
                          "TMOV into the smaller tile)", hint="extract from row 0, column 0")


_INSTR = {"trdivs": "TDIVS", "textract": "TMOV"}


def _round32(n: int) -> int:
    return -(-n // 32) * 32


def _assign_addresses(p: _Planner) -> None:
    """First-fit addresses per level; a buffer's space is free again after its last access
    (never during it, so no instruction's operands alias). Over budget: a located error."""
    first: dict[str, int] = {}
    final: dict[str, int] = {}
    for i, ins in enumerate(p.instrs):
        for b in ins.reads + ins.writes:
            first.setdefault(b, i)
            final[b] = i
    live: dict[str, list[tuple[int, int, str]]] = {lv: [] for lv in BUDGET}
    for i, ins in enumerate(p.instrs):
        for name in ins.writes:
            b = p.buffers[name]
            if first[name] != i or b.addr >= 0:
                continue
            spans = sorted(live[b.level])
            addr = 0
            for lo, hi, _ in spans:
                if addr + b.nbytes <= lo:
                    break
                addr = max(addr, _round32(hi))
            cap, what = BUDGET[b.level]
            if addr + b.nbytes > cap:
                held = ", ".join(f"{n} {hi - lo} B" for lo, hi, n in spans)
                p.fail(ins.op, f"{b.level} overflows: {ins.name} needs {b.nbytes} bytes for "
                               f"{name} ({b.rows}x{b.cols} {b.dtype.value}) at offset {addr}, "
                               f"beyond the {cap} bytes of {what}; live: {held}",
                       hint="use smaller tiles")
            b.addr = addr
            live[b.level].append((addr, addr + b.nbytes, name))
        for lv in live:
            live[lv] = [s for s in live[lv] if final[s[2]] > i]


def _plan_sync(instrs: list[Instr], buffers: dict[str, Buffer]) -> None:
    """Before each instruction, the flags its pipe needs: for every buffer byte it reads or
    writes, the other pipes that last wrote it (and, for a write, read it) must have been
    waited for, directly or through pipes that waited for them. Same-pipe order is free."""
    n = len(PIPES)
    clock = [0] * n
    seen = [[0] * n for _ in range(n)]
    writer: dict[tuple[str, int], tuple[int, int]] = {}  # (level, block) -> (pipe, stamp)
    readers: dict[tuple[str, int], dict[int, int]] = {}
    for ins in instrs:
        p = PIPES.index(ins.pipe)
        blocks = {}
        for role, names in (("r", ins.reads), ("w", ins.writes)):
            for name in names:
                b = buffers[name]
                for a in range(b.addr // ALIGN, -(-(b.addr + b.nbytes) // ALIGN)):
                    blocks.setdefault((b.level, a), set()).add(role)
        need = [0] * n
        for key, roles in blocks.items():
            if key in writer:
                q, s = writer[key]
                need[q] = max(need[q], s)
            if "w" in roles:
                for q, s in readers.get(key, {}).items():
                    need[q] = max(need[q], s)
        for q in range(n):
            if q != p and need[q] > seen[p][q]:
                ins.waits.append((PIPES[q], ins.pipe))
                snap = list(seen[q])
                snap[q] = clock[q]
                seen[p] = [max(a, b) for a, b in zip(seen[p], snap)]
        clock[p] += 1
        for key, roles in blocks.items():
            if "w" in roles:  # earlier accesses are ordered before this write
                writer[key] = (p, clock[p])
                readers[key] = {}
            if "r" in roles:
                readers.setdefault(key, {})[p] = clock[p]

"""The AICore plan of a kernel with loops (ir/kloops.py): buffers, instructions and the flags
that order the pipes, computed once from kernel IR (targets only print it).

It extends the straight-line plan (``kernel_plan.py``): the same tile roles, instructions and
operands, plus control pseudo-instructions (``FOR``/``ENDFOR``/``IF``/``ENDIF``, index
arithmetic ``SCALAR``, per-iteration ``TASSIGN`` of ping-pong buffers). Its rules:

- A loop-carried tile lives in one buffer: the loop's initial value, the carried value, the
  value the body yields (computed in place) and the value after the loop. An ``Acc`` carried
  through a K loop from a zero fill is never filled: the first iteration's ``TMATMUL``
  overwrites it, later ones ``TMATMUL_ACC`` into it (cpu_sim charges that fill nothing). A
  tile a ``pto.when`` block merges shares one buffer with its old and its new value.
- A tile loaded inside a loop of ``buffers = N`` owns N buffers, re-``TASSIGN``ed by the
  iteration index; other buffers are not shared (no reuse inside loop kernels).
- Flags follow the dependencies pto_pipes.h times (a read waits for the buffer's last writer;
  a write for its last readers and writer; GM per tensor parameter), so the host layer's
  flag-driven pipe clocks give cpu_sim's makespan: ``set_flag`` right after the source
  instruction (or after the loop or block holding it), ``wait_flag`` right before the
  destination (or before its loop or block). A dependency on the previous iteration (a
  buffer's next writer waiting for this iteration's readers) is a back edge: one flag set
  at the kernel's start, waited before the writer, set again after the reader, and drained
  at the kernel's end; for a ping-pong buffer one flag per buffer, EVENT_ID by the
  iteration index (the EVENT_ID0/EVENT_ID1 pattern). The Mat buffer of a matmul operand is
  reused once the ``TMATMUL`` that consumed its ``TMOV``ed copy is done.
- A loop mixing cube and vector work is refused (no GM workspace split inside loops yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CompileError
from ..ir import kloops as irk
from ..ir import nodes as ir
from .kernel_plan import _MATMUL, _VECTOR, BUDGET, PIPES, Buffer, Instr, _Planner, _round32

_ZERO_FILLS = ("texpands",)


def zero_acc_fills(ops) -> set[int]:
    """Indices of the zero fills that only start a K loop's carried ``Acc`` (the initial value
    of a ``kfor`` carried tile that a ``tmatmul_acc`` accumulates into): no instruction
    makes them on the AICore, and cpu_sim charges them nothing."""
    defs = {v: i for i, op in enumerate(ops) for v in op.results}
    uses: dict[int, int] = {}
    for op in ops:
        for o in op.operands:
            if isinstance(o, ir.ValueRef):
                uses[o.index] = uses.get(o.index, 0) + 1
    out = set()
    for op in ops:
        if op.opcode != "kfor":
            continue
        for r, init in zip(op.results[1:], op.operands[1:]):
            d = defs[init.index]
            if (ops[d].opcode in _ZERO_FILLS and ops[d].operands[0].value == 0
                    and uses[init.index] == 1
                    and any(u.opcode == "tmatmul_acc" and u.operands[0] == ir.ValueRef(r)
                            for u in ops)):
                out.add(d)
    return out


@dataclass
class LoopPlan:
    kernel: ir.Kernel
    buffers: dict[str, Buffer]
    instrs: list[Instr]  # with pseudo-instructions on pipe "S"; flags in attrs pre/post
    views: dict[str, str]
    unit: str
    pingpong: dict[str, list[int]] = field(default_factory=dict)  # buffer -> its N addresses
    head: list[str] = field(default_factory=list)  # flags set before the body
    tail: list[str] = field(default_factory=list)  # flags drained after it


def plan_loop_kernel(k: ir.Kernel) -> LoopPlan:
    """The plan of a kernel using ir/kloops instructions (see the module docstring)."""
    return _LoopPlanner(k).run_loops()


class _LoopPlanner(_Planner):
    def __init__(self, k: ir.Kernel):
        super().__init__(k)
        self.regions = irk.regions(k.ops)
        self.opened = {e: s for s, e in self.regions.items()}
        self.depth = irk.load_depth(k.ops)
        self.pp: dict[str, tuple[int, str]] = {}  # ping-pong buffer -> (depth, loop index)
        self.zero_acc: dict[int, int] = {}  # carried Acc (kfor result) -> its kfor
        self.skip: set[int] = set()  # zero fills no instruction makes
        self.loop_var: list[str] = []

    # -- checks and aliases -----------------------------------------------------------
    def prepare(self) -> None:
        ops = self.k.ops
        cube = [op for op in ops if op.opcode in _MATMUL]
        vec = [op for i, op in enumerate(ops) if op.opcode in _VECTOR]
        last = irk.live_ranges(ops)
        fills = zero_acc_fills(ops)
        if cube and len(vec) > len(fills):
            v = next(op for op in vec if ops.index(op) not in fills)
            self.fail(v, f"this kernel mixes cube work ({cube[0].opcode}) and vector work "
                         f"({v.opcode}) in a loop kernel: on A2/A3 they run on separate cores "
                         "that would exchange tiles through GM inside every iteration, which "
                         "the AICore emitter does not split yet",
                      hint="run it on cpu_sim, or write the cube and vector steps as separate "
                           "kernels (tasks)")
        for s, e in sorted(self.regions.items()):  # outer regions first
            op = ops[s]
            if op.opcode == "kif":
                self.merge_in_place(s, e)
                continue
            nxt = ops[e].operands
            for r, init, n, out in zip(op.results[1:], op.operands[1:], nxt, ops[e].results):
                if last[init.index][1] > s:
                    self.fail(op, f"the loop's initial tile %{init.index} is used after the "
                                  "loop starts: a carried tile lives in one buffer",
                              hint="copy it with pto.mov before the loop")
                d = self.defs.get(n.index)
                used = max((j for j in range(s + 1, e) if ir.ValueRef(r) in ops[j].operands),
                           default=s)
                if n.index != r and (d is None or d.opcode in ("kfor", "tload_at", "tload")
                                     or not s < ops.index(d) < e or used > ops.index(d)):
                    self.fail(ops[e], f"the next value %{n.index} of carried tile %{r} is not "
                                      "computed in place (it must be made by an op in the body "
                                      "after the carried tile's last use)",
                              hint="compute the new value from the carried one last")
                if any(u.opcode == "tmatmul_acc" and u.operands[0] == ir.ValueRef(r)
                       for u in self.readers.get(r, [])):
                    if ops.index(self.defs[init.index]) not in fills:
                        self.fail(op, f"the K loop's accumulator %{r} starts from %{init.index}"
                                      ": an Acc tile starts from a zero fill (pto.alloc or "
                                      "a broadcast 0) only", hint="start the accumulator at 0")
                    self.zero_acc[r] = s
                    self.skip.add(ops.index(self.defs[init.index]))
                base = self.alias.get(init.index, f"t{init.index}")
                for v in (r, n.index, out):
                    self.alias[v] = base
    def merge_in_place(self, s: int, e: int) -> None:
        """A ``pto.when`` block's merged tiles: the new value is computed in place of the old
        one, so the block's result, its new and its old value share one buffer."""
        ops = self.k.ops
        end = ops[e]
        for out, new, old in zip(end.results, end.operands[0::2], end.operands[1::2]):
            d = self.defs.get(new.index)
            at = ops.index(d) if d is not None else -1
            used = max((j for j in range(s + 1, e) if old in ops[j].operands), default=s)
            later = any(old in o.operands for o in ops[e + 1:])
            if new != old and (d is None or d.opcode in ("kfor", "tload_at", "tload")
                               or not s < at < e or used > at) or later:
                self.fail(end, f"the tile %{out} merged by this pto.when block is not computed "
                               f"in place of %{old.index} (made in the block after its last "
                               "read, and not read after the block)",
                          hint="compute the new value from the old one last")
            base = self.alias.get(old.index, f"t{old.index}")
            for v in (new.index, out):
                self.alias[v] = base

    def role(self, v: int) -> str:
        root = self.alias.get(v, f"t{v}")
        if any(r in self.zero_acc for r, b in self.alias.items() if b == root):
            return "Acc"
        op = self.defs[v]
        if op.opcode == "tload_at":
            uses = self.readers.get(v, [])
            return "Mat" if any(u.opcode in _MATMUL and ir.ValueRef(v) in u.operands[-2:]
                                for u in uses) else "Vec"
        return super().role(v)

    # -- instructions --------------------------------------------------------------------
    def run_loops(self) -> LoopPlan:
        self.prepare()
        last = {v: i for i, op in enumerate(self.k.ops) if op.opcode not in irk.CONTROL_OPS
                for v in (o.index for o in op.operands if isinstance(o, ir.ValueRef))}
        self.gm_acc, self.gm_loads, self.gm_stores = {}, set(), set()
        for i, op in enumerate(self.k.ops):
            if i in self.skip:
                self.value_buffer(op.results[0])
                continue
            self.lower_loop_op(i, op, last)
        unit = "cube" if any(b.role == "Acc" for b in self.buffers.values()) else "vector"
        self.assign()
        plan = LoopPlan(self.k, self.buffers, self.instrs, self.views, unit,
                        {n: [self.buffers[n].addr + j * _round32(self.buffers[n].nbytes)
                             for j in range(d)] for n, (d, _) in self.pp.items()})
        _Flags(plan, self.pp).place()
        return plan

    def pseudo(self, name: str, line: str, op: ir.KernelOp, **attrs) -> None:
        self.emit(name, "S", (), (), (), op, line=line, **attrs)

    def lower_loop_op(self, i: int, op: ir.KernelOp, last) -> None:
        code, ops = op.opcode, op.operands
        if code in irk.SCALAR_OPS or code == "scmp":
            self.pseudo("SCALAR", "", op, result=op.results[0])
        elif code == "kfor":
            var = f"pto_s{op.results[0]}"
            self.loop_var.append(var)
            self.pseudo("FOR", var, op, pipeline=op.attr("pipeline", 1))
        elif code == "kif":
            self.loop_var.append("")
            self.pseudo("IF", "", op)
        elif code in ("kendfor", "kendif"):
            self.loop_var.pop()
            self.pseudo("END", "", op)
        elif code == "tload_at":
            v = op.results[0]
            d = self.value_buffer(v)
            depth = self.depth.get(v, 1)
            if depth > 1:
                self.pp[d.name] = (depth, self.loop_var[-1])
                self.pseudo("TASSIGN", d.name, op, var=self.loop_var[-1])
            self.emit("TLOAD", "MTE2", [d.name, "param:" + ops[0].name], [], [d.name], op,
                      at=ops[1:3])
        elif code == "tstore_at":
            s = self.buffers[self.alias.get(ops[3].index, f"t{ops[3].index}")]
            self.emit("TSTORE", "FIX" if s.role == "Acc" else "MTE3",
                      ["param:" + ops[0].name, s.name], [s.name], [], op,
                      at=ops[1:3])
        else:
            n = len(self.instrs)
            self.lower(i, op, last)
            if code == "tmatmul_acc" and ops[0].index in self.zero_acc:
                mm = self.instrs[-1]
                mm.attrs["first"] = self.loop_var[-1] if self.zero_acc[ops[0].index] == \
                    self.opened_loop(i) else None
                if mm.attrs["first"] is None:
                    self.fail(op, "the K loop's accumulator is updated in a nested loop")

    def opened_loop(self, i: int) -> int:
        """The ``kfor`` index of the innermost loop around op ``i``."""
        return max(s for s, e in self.regions.items()
                   if s < i < e and self.k.ops[s].opcode == "kfor")

    def assign(self) -> None:
        """Sequential addresses per level (no reuse); over budget: a located error."""
        used = {lv: 0 for lv in BUDGET}
        first = {}
        for ins in self.instrs:
            for b in ins.writes + ins.reads:
                first.setdefault(b, ins)
        for name, b in self.buffers.items():
            n = _round32(b.nbytes) * self.pp.get(name, (1, ""))[0]
            cap, what = BUDGET[b.level]
            if used[b.level] + n > cap:
                held = [f"{m} {_round32(c.nbytes)} B" for m, c in self.buffers.items()
                        if c.level == b.level and c.addr >= 0]
                op = first[name].op if name in first else None
                self.fail(op, f"{b.level} overflows: {name} ({b.rows}x{b.cols} "
                              f"{b.dtype.value}{' x%d buffers' % self.pp[name][0] if name in self.pp else ''}) "
                              f"needs {n} bytes at offset {used[b.level]}, beyond the {cap} "
                              f"bytes of {what}; held: {', '.join(held)}",
                          hint="use smaller tiles or fewer buffers")
            b.addr = used[b.level]
            used[b.level] += n


@dataclass
class _Access:
    at: int  # instruction index
    pipe: str
    write: bool
    sink: bool = True  # it waits for earlier accesses
    source: bool = True  # later accesses wait for it


class _Flags:
    """Place set_flag/wait_flag pairs for every cross-pipe dependency (module docstring)."""

    def __init__(self, plan: LoopPlan, pp: dict[str, tuple[int, str]]):
        self.plan, self.pp = plan, pp
        self.path: list[tuple[int, ...]] = []  # per instruction: its enclosing regions
        self.loops: set[int] = set()
        self.end_of: dict[int, int] = {}
        stack: list[int] = []
        for i, ins in enumerate(plan.instrs):
            if ins.name == "END":
                self.end_of[stack.pop()] = i
            self.path.append(tuple(stack))
            if ins.name in ("FOR", "IF"):
                stack.append(i)
                if ins.name == "FOR":
                    self.loops.add(i)
        self.events: dict[tuple[str, str], int] = {}
        self.seen: set = set()
        self.pending: list[tuple] = []

    def accesses(self) -> dict[str, list[_Access]]:
        out: dict[str, list[_Access]] = {}
        instrs = self.plan.instrs
        for i, ins in enumerate(instrs):
            if ins.pipe == "S":
                continue
            reader = i
            if ins.name == "TMOV" and ins.pipe == "MTE1":  # Mat reuse waits for the TMATMUL
                reader = next(j for j in range(i, len(instrs)) if instrs[j].pipe == "M")
            for b in ins.reads:
                out.setdefault(b, []).append(_Access(i, ins.pipe, False, source=reader == i))
                if reader != i:
                    out[b].append(_Access(reader, "M", False, sink=False))
            for b in ins.writes:
                out.setdefault(b, []).append(_Access(i, ins.pipe, True))
            for o in ins.operands:  # GM: one buffer per tensor parameter
                if o.startswith("param:"):
                    out.setdefault(o, []).append(_Access(i, ins.pipe, ins.name == "TSTORE"))
        return out

    def place(self) -> None:
        for b, acc in self.accesses().items():
            for a in acc:
                if not a.sink:
                    continue
                for q in PIPES:
                    if q == a.pipe:
                        continue
                    srcs = [c for c in acc if c.source and c.pipe == q and (c.write or a.write)]
                    srcs = [c for c in srcs if c.at != a.at]
                    fwd = [c for c in srcs if c.at < a.at]
                    if fwd:
                        self.edge(b, max(fwd, key=lambda c: c.at).at, a.at, q, a.pipe, False)
                    back: dict[tuple[int, int], int] = {}  # (loop, conditional w) -> w
                    for c in srcs:
                        if c.at > a.at:
                            loop = self.common_loop(c.at, a.at)
                            if loop is not None:
                                key = (loop, c.at if self.in_block(c.at, loop) else -1)
                                back[key] = max(back.get(key, -1), c.at)
                    for (loop, cond), w in back.items():
                        self.edge(b, w, a.at, q, a.pipe, True, loop, cond >= 0)
        self.emit()

    def in_block(self, i: int, loop: int) -> bool:
        """Whether instruction ``i`` runs inside ``pto.when`` blocks (and no loop) of ``loop``."""
        inner = self.path[i][self.path[i].index(loop) + 1:]
        return bool(inner) and not any(r in self.loops for r in inner)

    def common_loop(self, x: int, y: int) -> int | None:
        common = [r for r, s in zip(self.path[x], self.path[y]) if r == s]
        loops = [r for r in common if r in self.loops]
        return loops[-1] if loops else None

    def anchor(self, i: int, depth: int) -> int:
        """Instruction ``i``, or the region holding it directly inside ``depth`` regions."""
        p = self.path[i]
        return p[depth] if len(p) > depth else i

    def edge(self, buf, w, r, src, dst, back, loop=None, cond=False) -> None:
        """A flag from ``w`` (pipe ``src``) to ``r`` (pipe ``dst``); ``back``: ``r`` of the
        next iteration of ``loop``; ``cond``: ``w`` runs in a pto.when block of it, so the
        flag is set right after ``w`` and waited only if it was set."""
        instrs = self.plan.instrs
        if back:
            depth = self.path[loop].__len__() + 1
        else:
            depth = len([1 for x, y in zip(self.path[w], self.path[r]) if x == y])
        aw, ar = self.anchor(w, depth), self.anchor(r, depth)
        after = self.end_of.get(aw, aw)
        pp = self.pp.get(buf)
        ping = back and pp is not None and pp[1] == instrs[loop].attrs["line"] and \
            aw == w and ar == r
        if cond and not ping:
            after = w
        key = (ar, src, dst, after, back, ping, pp[0] if ping else 1, pp[1] if pp else "", r,
               cond and not ping)
        if key[:6] not in self.seen:
            self.seen.add(key[:6])
            self.pending.append(key)

    def emit(self) -> None:
        """The flags in the order of their waits; a forward flag already waited for earlier
        in the same block (same source point, same pipes) is not repeated."""
        instrs = self.plan.instrs
        waited: dict[tuple, list[int]] = {}
        for ar, src, dst, after, back, ping, n, var, r, cond in sorted(self.pending):
            if not back:
                done = waited.setdefault((src, dst, after), [])
                if any(self.path[a] == self.path[ar] for a in done):
                    continue
                done.append(ar)
            self.flag(ar, src, dst, after, back, ping, n, var, r, cond)

    def flag(self, ar, src, dst, after, back, ping, n, var, r, cond) -> None:
        instrs = self.plan.instrs
        first = self.events.get((src, dst), 0)
        self.events[(src, dst)] = first + n
        if first + n > 8:
            raise CompileError(f"kernel '{self.plan.kernel.name}': more than 8 flags from "
                               f"PIPE_{src} to PIPE_{dst} would be outstanding",
                               instrs[r].op.loc or self.plan.kernel.loc,
                               hint="use fewer buffers or split the kernel")
        ev = (_event(first, n, var) if ping else f"EVENT_ID{first}")
        flag = f"PIPE_{src}, PIPE_{dst}, {ev}"
        if cond:  # set in a block: a bool says whether the next wait has a set to match
            f = f"pto_f{first}_{src}_{dst}"
            instrs[after].attrs.setdefault("post", []).append(f"set_flag({flag}); {f} = true;")
            instrs[ar].attrs.setdefault("pre", []).append(
                f"if ({f}) {{ wait_flag({flag}); {f} = false; }}")
            self.plan.head.append(f"bool {f} = false;")
            self.plan.tail.append(f"if ({f}) wait_flag({flag});")
            return
        instrs[after].attrs.setdefault("post", []).append(f"set_flag({flag});")
        instrs[ar].attrs.setdefault("pre", []).append(f"wait_flag({flag});")
        if back:
            for j in range(n):
                self.plan.head.append(f"set_flag(PIPE_{src}, PIPE_{dst}, EVENT_ID{first + j});")
                self.plan.tail.append(f"wait_flag(PIPE_{src}, PIPE_{dst}, EVENT_ID{first + j});")


def _event(first: int, n: int, var: str) -> str:
    if n == 2 and first == 0:
        return f"{var} % 2 ? EVENT_ID1 : EVENT_ID0"
    return f"(event_t)(EVENT_ID{first} + {var} % {n})"


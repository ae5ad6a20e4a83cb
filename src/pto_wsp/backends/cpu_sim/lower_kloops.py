"""Kernel loops, conditions, index arithmetic and tensor tiles (ir/kloops.py) lowered to C.

``kfor`` becomes a C ``for`` loop whose carried tiles live in their own buffers (copied in
before the loop and from the yielded values at the end of each iteration); a ``tload_at``
in a loop with ``buffers = N`` rotates through N ping-pong buffers by the iteration index;
``kif`` becomes ``if``/``else`` filling the merged tiles. A carried tile's next value is
computed straight into the carried buffer when nothing reads the old value afterwards
(:func:`in_place_carries`; a matmul accumulator stays resident across the loop). Index arithmetic is ``int64_t``
with Python's floor division; a zero divisor or an offset outside the tensor ends the task
with an error (``PTO_KERNEL_EDIV`` / ``PTO_KERNEL_ERANGE`` in ``kernels.c``).
"""

from __future__ import annotations

from ...ir import kloops as irk
from ...ir import nodes as ir
from .c_syntax import ident, string

_C_OPS = {"sadd": "+", "ssub": "-", "smul": "*"}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def index_expr(lw, o) -> str:
    """C expression of an integer scalar operand."""
    if isinstance(o, ir.Imm):
        return f"INT64_C({int(o.value)})"
    if isinstance(o, ir.ParamRef):
        return f"(int64_t)a->{ident(o.name)}"
    return f"s{o.index}"


def in_place_carries(ops) -> dict[int, int]:
    """Op index -> the loop-carried value whose buffer the op's result can be written to: the
    result is yielded to that carried value alone, by the loop directly enclosing the op, and
    the loop reads the old value only before the op (or in the op itself as the accumulator of
    a ``tmatmul_acc``, which then accumulates in place). Saves the copy ending each iteration."""
    inner, stack = {}, []
    for i, op in enumerate(ops):
        if op.opcode in irk.OPENERS.values():
            stack.pop()
        if stack:
            inner[i] = stack[-1]
        if op.opcode in irk.OPENERS:
            stack.append(i)
    defs = {v: i for i, op in enumerate(ops) for v in op.results}
    out = {}
    for s, e in irk.regions(ops).items():
        if ops[s].opcode != "kfor":
            continue
        yields = ops[e].operands
        for phi, y in zip(ops[s].results[1:], yields):
            d = defs.get(y.index) if isinstance(y, ir.ValueRef) else None
            if d is None or inner.get(d) != s or yields.count(y) != 1 or \
                    len(ops[d].results) != 1 or ops[d].opcode in irk.OPCODES | {"tload"}:
                continue
            mine = ir.ValueRef(phi)
            reads = [u for u in range(s + 1, e + 1) if mine in ops[u].operands]
            acc = ops[d].opcode == "tmatmul_acc" and ops[d].operands[0] == mine and \
                mine not in ops[d].operands[1:]
            if all(u < d or (u == d and acc) for u in reads):
                out[d] = phi
    return out


def lower(lw, i: int, op: ir.KernelOp) -> None:
    """Append the C of ``op`` (an ir.kloops instruction) to the kernel body."""
    body, code, ops = lw.vm.body, op.opcode, op.operands
    if code in ("sadd", "ssub", "smul", "sdiv", "smod", "scmp"):
        x, y = (index_expr(lw, o) for o in ops)
        r = op.results[0]
        if code in _C_OPS:  # wrapping (no undefined signed overflow); offsets are checked
            body.append(f"const int64_t s{r} = (int64_t)((uint64_t){x} {_C_OPS[code]} "
                        f"(uint64_t){y});")
        elif code == "scmp":
            body.append(f"const int s{r} = {x} {_CMP[op.attr('mode')]} {y};")
        else:
            fn = "pto__floordiv" if code == "sdiv" else "pto__floormod"
            why = string("an index was divided by zero (// or %)")
            body.append(f"if ({y} == 0) return pto_rt_kernel_fail(PTO_KERNEL_EDIV, {why});\n    "
                        f"const int64_t s{r} = {fn}({x}, {y});")
        return
    if code == "kfor":
        idx, *phis = op.results
        for r, init in zip(phis, ops[1:]):
            lw.alloc(r, op.types[1 + phis.index(r)])
            _copy(lw, r, init.index)
        lw.loops.append((idx, int(op.attr("buffers", 1)), []))
        body.append(f"for (int64_t s{idx} = 0; s{idx} < {index_expr(lw, ops[0])}; ++s{idx}) {{")
        if op.attr("pipeline", 1) == 0:
            body.append("pto_barrier(&sb_);")
        return
    if code == "kendfor":
        start = lw.open_at[i]
        phis = lw.k.ops[start].results[1:]
        for r, nxt in zip(phis, ops):
            _copy(lw, r, nxt.index)
        body.append("}")
        for r, phi in zip(op.results, phis):
            lw.buf_of[r] = lw.buf_of[phi]
            lw.types[r] = lw.types[phi]
        _, _, held = lw.loops.pop()
        for b in held:
            lw.free.setdefault(lw.buf_key[b], []).append(b)
        return
    if code == "kif":
        body.append(f"if ({index_expr(lw, ops[0])}) {{")
        return
    if code == "kendif":
        pairs = list(zip(ops[0::2], ops[1::2]))
        for r, t in zip(op.results, op.types):
            lw.alloc(r, t)
        for r, (new, _) in zip(op.results, pairs):
            _copy(lw, r, new.index)
        body.append("} else {")
        for r, (_, old) in zip(op.results, pairs):
            _copy(lw, r, old.index)
        body.append("}")
        return
    if code == "tload_at":
        _load_at(lw, i, op)
    else:
        _store_at(lw, op)


def _copy(lw, dst: int, src: int) -> None:
    """``dst`` (a carried or merged tile) takes the value of ``src``: a copy of no cost (none
    at all when ``src`` was computed in ``dst``'s buffer; its pipe timing is kept)."""
    if lw.ref(ir.ValueRef(dst)) != lw.ref(ir.ValueRef(src)):
        t = lw.types[dst]
        lw.vm.body.append(f"memcpy({lw.ref(ir.ValueRef(dst))}, {lw.ref(ir.ValueRef(src))}, "
                          f"{t.rows * t.cols * t.dtype.itemsize});")
    elif lw.bid(dst) == lw.bid(src):
        return
    if lw.piped:
        lw.vm.body.append(f"pto_pass(rdy_, rd_, {lw.bid(dst)}, {lw.bid(src)});")


def _at(lw, op: ir.KernelOp, t: ir.TileType) -> str:
    """The C pointer of the tile at (row, col) of the tensor operand, after a bounds check
    of offsets that are not immediates (the verifier checked the immediates)."""
    p = lw.k.param(op.operands[0].name)
    c = ident(p.name)
    r0, c0 = (index_expr(lw, o) for o in op.operands[1:3])
    (R, C), (rows, cols) = (t.rows, t.cols), p.type.shape
    checks = [f"{x} < 0 || {x} > {n - e}" for o, x, n, e in
              ((op.operands[1], r0, rows, R), (op.operands[2], c0, cols, C))
              if not isinstance(o, ir.Imm)]
    if checks:
        why = string(f"a {R}x{C} tile at a computed offset lies outside '{p.name}' "
                     f"({rows}x{cols})")
        lw.vm.body.append(f"if ({' || '.join(checks)}) "
                          f"return pto_rt_kernel_fail(PTO_KERNEL_ERANGE, {why});")
    return f"a->{c} + {r0} * a->{c}_rs + {c0} * a->{c}_cs"


def _load_at(lw, i: int, op: ir.KernelOp) -> None:
    from .lower_kernel import ctype, sfx
    t, v = op.types[0], op.results[0]
    c = ident(op.operands[0].name)
    depth = lw.depth.get(v, 1)
    if depth > 1:  # ping-pong buffers, picked by the innermost loop's index
        idx, _, held = lw.loops[-1]
        bufs = []
        for _ in range(depth):
            lw.alloc(v, t, fresh=True)
            bufs.append(lw.buf_of.pop(v))
        held += bufs
        lw.types[v] = t
        ct = ctype(t.dtype)
        lw.alias[v] = f"p{v}"
        lw.pp[v] = f"q{v}"
        lw.vm.body.append(
            f"{ct} *const p{v} = ({ct} *const[]){{{', '.join(f'b{b}' for b in bufs)}}}"
            f"[s{idx} % {depth}];\n    "
            f"const int q{v} = (const int[]){{{', '.join(str(lw.n_params + b) for b in bufs)}}}"
            f"[s{idx} % {depth}];")
        dst = f"p{v}"
    elif lw.loops:  # a load in a loop owns its buffer (as on the AICore: kernel_loop_plan)
        lw.alloc(v, t, fresh=True)
        b = lw.buf_of.pop(v)
        lw.loops[-1][2].append(b)
        dst = lw.alias[v] = f"b{b}"
        lw.pp[v] = str(lw.n_params + b)
    else:
        dst = lw.alloc(v, t)
    src = _at(lw, op, t)
    if lw.can_read_in_place(i, op) and lw.matmul_operand_only(i, v):
        # read where it lies at any row stride, as a straight-line load (lower_kernel.py); its
        # buffers remain for pipe timing and for tensors with non-contiguous columns
        lw.alias[v], lw.ld[v] = f"g{v}", f"ld{v}"
        lw.vm.body.append(
            f"const int64_t ld{v} = a->{c}_cs == 1 ? a->{c}_rs : {t.cols};\n    "
            f"const float *g{v} = a->{c}_cs == 1 ? {src} : {dst};\n    "
            f"if (g{v} == {dst}) (void)pto_tload_f32({dst}, {src}, a->{c}_rs, a->{c}_cs, "
            f"{t.rows}, {t.cols});\n    "
            f"cyc += pto__cost_gm(0, {t.rows}, {t.cols}, PTO_ES_f32);")
        return
    lw.vm.body.append(f"cyc += pto_tload_{sfx(t.dtype)}({dst}, {src}, a->{c}_rs, a->{c}_cs, "
                      f"{t.rows}, {t.cols});")


def _store_at(lw, op: ir.KernelOp) -> None:
    from .lower_kernel import sfx
    v = op.operands[3]
    t = lw.types[v.index]
    c = ident(op.operands[0].name)
    dst = _at(lw, op, t)
    lw.vm.body.append(f"cyc += pto_tstore_{sfx(t.dtype)}({dst}, {lw.ref(v)}, a->{c}_rs, "
                      f"a->{c}_cs, {t.rows}, {t.cols});")

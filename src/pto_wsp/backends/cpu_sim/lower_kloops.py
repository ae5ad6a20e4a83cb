"""Kernel loops, conditions, index arithmetic and tensor tiles (ir/kloops.py) lowered to C.

``kfor`` becomes a C ``for`` loop whose carried tiles live in their own buffers (copied in
before the loop and from the yielded values at the end of each iteration); a ``tload_at``
in a loop with ``buffers = N`` rotates through N ping-pong buffers by the iteration index;
``kif`` becomes ``if``/``else`` filling the merged tiles. Index arithmetic is ``int64_t``
with Python's floor division; a zero divisor or an offset outside the tensor ends the task
with an error (``PTO_KERNEL_EDIV`` / ``PTO_KERNEL_ERANGE`` in ``kernels.c``).
"""

from __future__ import annotations

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
        _load_at(lw, op)
    else:
        _store_at(lw, op)


def _copy(lw, dst: int, src: int) -> None:
    """``dst`` (a carried or merged tile) takes the value of ``src``: a copy of no cost."""
    if lw.ref(ir.ValueRef(dst)) == lw.ref(ir.ValueRef(src)):
        return
    t = lw.types[dst]
    lw.vm.body.append(f"memcpy({lw.ref(ir.ValueRef(dst))}, {lw.ref(ir.ValueRef(src))}, "
                      f"{t.rows * t.cols * t.dtype.itemsize});")
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


def _load_at(lw, op: ir.KernelOp) -> None:
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
    else:
        dst = lw.alloc(v, t)
    src = _at(lw, op, t)
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

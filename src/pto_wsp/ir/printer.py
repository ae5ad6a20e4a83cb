"""IR -> canonical ``.pto`` text (the inverse of :mod:`pto_wsp.ir.parser`).

The printing is canonical: one text per IR (``print_module(parse_module(t)) == t`` for text
this module printed, and ``parse_module(print_module(m)) == m``). The format is described in
``docs/pto-format.md`` and defined by ``grammar/pto.lark``.
"""

from __future__ import annotations

import json
import numbers
import re

import numpy as np

from ..schedule import Schedule, TaskGraph
from ..types import DType
from . import expr as irx
from . import nodes as ir

__all__ = ["print_module", "format_expr", "format_stmts", "format_kernel", "quote_name"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDENT = "  "

# ---------------------------------------------------------------- names and literals


def quote_string(s: str) -> str:
    """A double-quoted string literal (JSON escapes; line separators escaped too)."""
    out = json.dumps(s, ensure_ascii=False)
    for ch in ("\x85", "\u2028", "\u2029"):
        out = out.replace(ch, f"\\u{ord(ch):04x}")
    return out


def quote_name(name: str) -> str:
    """``name`` as written after a sigil: bare if it is an ASCII identifier, else quoted."""
    return name if _IDENT.fullmatch(name) else quote_string(name)


def _v(name: str) -> str:
    return "%" + quote_name(name)


def _g(name: str) -> str:
    return "@" + quote_name(name)


def literal(v) -> str:
    """A plain literal: ``true``/``false``, an int, a float (``repr``, exact) or a string."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, str):
        return quote_string(v)
    return repr(float(v))


def _default_dtype(v) -> DType:
    if isinstance(v, (bool, np.bool_)):
        return DType.BOOL
    if isinstance(v, numbers.Integral):
        return DType.I64
    return DType.F64


def typed_literal(value, dtype: DType) -> str:
    """``value`` with its dtype: bare when the dtype is the default of the Python type
    (bool, i64, f64), else ``dtype(value)``."""
    if dtype is _default_dtype(value):
        return literal(value)
    return f"{dtype.value}({literal(value)})"


# ---------------------------------------------------------------- scalar expressions

_BIN_TEXT = {op: t for op, (t, _c, _k) in irx.BINARY_OPS.items()}
_PREC = {"lor": 1, "land": 2, "or": 3, "xor": 4, "and": 5, "eq": 6, "ne": 6,
         "lt": 7, "le": 7, "gt": 7, "ge": 7, "shl": 8, "shr": 8, "add": 9, "sub": 9,
         "mul": 10, "div": 10, "mod": 10}
_FUNC_OPS = ("min", "max", "floordiv")
_UNARY_PREC = 11
_ATOM = 12


def _prec(e) -> int:
    if isinstance(e, irx.Binary) and e.op in _PREC:
        return _PREC[e.op]
    if isinstance(e, irx.Unary):
        return _UNARY_PREC
    return _ATOM


def format_expr(e) -> str:
    """A scalar expression in ``.pto`` syntax (also its ``repr`` in authoring)."""
    if isinstance(e, irx.Const):
        return typed_literal(e.value, e.dtype)
    if isinstance(e, irx.Var):
        return _v(e.name)
    if isinstance(e, irx.Symbol):
        suffix = "" if e.dtype is DType.U64 else f":{e.dtype.value}"
        return "$" + quote_name(e.name) + suffix
    if isinstance(e, irx.Slot):
        return f"slot({e.index})"
    if isinstance(e, irx.TaskParam):
        return f"param({e.index})"
    if isinstance(e, irx.ChannelPending):
        return f"pending({_v(e.channel)})"
    if isinstance(e, irx.AxisSize):
        inner = "" if e.outer is None else f"[{format_expr(e.outer)}]"
        return f"size({_v(e.axis)}{inner})"
    if isinstance(e, irx.Where):
        return f"where({format_expr(e.cond)}, {format_expr(e.then)}, {format_expr(e.other)})"
    if isinstance(e, irx.Cast):
        return f"cast({format_expr(e.operand)}, {e.to.value})"
    if isinstance(e, irx.Unary):
        text = irx.UNARY_OPS.get(e.op, e.op)
        inner = format_expr(e.operand)
        if isinstance(e.operand, irx.Const) or _prec(e.operand) < _UNARY_PREC:
            inner = f"({inner})"
        return text + inner
    if isinstance(e, irx.Binary):
        if e.op in _FUNC_OPS or e.op not in _PREC:
            return f"{e.op}({format_expr(e.lhs)}, {format_expr(e.rhs)})"
        p = _PREC[e.op]
        lhs, rhs = format_expr(e.lhs), format_expr(e.rhs)
        if _prec(e.lhs) < p:
            lhs = f"({lhs})"
        if _prec(e.rhs) <= p:
            rhs = f"({rhs})"
        return f"{lhs} {_BIN_TEXT[e.op]} {rhs}"
    if hasattr(e, "node"):  # an authoring Expr wrapper
        return format_expr(e.node)
    raise TypeError(f"not a scalar expression: {e!r}")


# ---------------------------------------------------------------- kernels


def _type(t) -> str:
    return str(t)


def _operand(o) -> str:
    if isinstance(o, ir.ValueRef):
        return f"%{o.index}"
    if isinstance(o, ir.ParamRef):
        return _v(o.name)
    if isinstance(o, ir.Imm):
        return f"{o.dtype.value}({literal(o.value)})"
    raise TypeError(f"not a kernel operand: {o!r}")


def format_op(op: ir.KernelOp) -> str:
    out = ""
    if op.results:
        out = ", ".join(f"%{r}" for r in op.results) + " = "
    out += op.opcode
    out += (" " + ", ".join(_operand(o) for o in op.operands)) if op.operands else "()"
    if op.attrs:
        out += " {" + ", ".join(f"{quote_name(k)} = {literal(v)}" for k, v in op.attrs) + "}"
    if op.types:
        out += " : " + ", ".join(_type(t) for t in op.types)
    return out


def _param(p: ir.Param) -> str:
    out = f"{_v(p.name)}: "
    if p.direction is not None:
        out += p.direction + " "
    out += _type(p.type)
    if p.default is not None:
        out += " = " + literal(p.default)
    return out


def _heredoc_ok(src: str) -> bool:
    return all(c in "\t\n" or (ord(c) >= 0x20 and c not in "\x7f\x85\u2028\u2029")
               for c in src)


def _heredoc(src: str) -> str:
    tag, n = "EOF", 0
    while tag in src:
        n += 1
        tag = f"EOF{n}"
    return f"<<<{tag}\n{src}\n{tag}"


def _custom(c: ir.CustomBody) -> str:
    out = f"custom {c.kind} {quote_string(c.language)}"
    if c.includes:
        out += " includes [" + ", ".join(quote_string(i) for i in c.includes) + "]"
    if c.path is not None:
        out += f" path {quote_string(c.path)}"
    out += " " + (_heredoc(c.source) if _heredoc_ok(c.source) else quote_string(c.source))
    return out


def format_kernel(k: ir.Kernel) -> str:
    head = f"kernel {_g(k.name)}({', '.join(_param(p) for p in k.params)}) {k.exec_unit}"
    parts = [head]
    if k.hints:
        parts.append("hints {" + ", ".join(f"{quote_name(n)} = {literal(v)}"
                                           for n, v in k.hints) + "}")
    if k.ops or k.custom is None:
        body, depth = "", 1
        for op in k.ops:  # loop and block bodies are indented
            depth -= op.opcode in ("kendfor", "kendif")
            body += f"{_INDENT * max(depth, 1)}{format_op(op)}\n"
            depth += op.opcode in ("kfor", "kif")
        parts.append("{\n" + body + "}")
    if k.custom is not None:
        parts.append(_custom(k.custom))
    return " ".join(parts)


# ---------------------------------------------------------------- workload statements


def format_view(v: ir.ViewExpr) -> str:
    items = []
    for it in v.items:
        if isinstance(it, ir.Index):
            items.append(format_expr(it.expr))
        else:
            s = f"{format_expr(it.start)} : +{it.size}"
            if it.step != 1:
                s += f" : {it.step}"
            items.append(s)
    return f"{_v(v.tensor)}[{', '.join(items)}]"


def _arg(a) -> str:
    return format_view(a) if isinstance(a, ir.ViewExpr) else format_expr(a)


def format_call(c: ir.Call) -> str:
    axes = f"[{', '.join(format_expr(a) for a in c.axes)}]" if c.axes else ""
    args = ", ".join(f"{quote_name(n)} = {_arg(a)}" for n, a in c.args)
    return f"call {_g(c.kernel)}{axes}({args})"


_LOOP = {"par": "parallel_for", "seq": "for_each", "sel": "select"}
_BLOCK = {"par": "combine", "seq": "sequential"}


def _body(stmts, depth: int) -> str:
    """``{``, the statements one level deeper, and ``}`` at ``depth``."""
    return "{\n" + "".join(_stmt(s, depth + 1) for s in stmts) + _INDENT * depth + "}"


def _stmt(s, depth: int) -> str:
    pad = _INDENT * depth
    if isinstance(s, ir.Call):
        return pad + format_call(s) + "\n"
    if isinstance(s, ir.For):
        d = s.domain
        dom = _v(d.axis) + ("" if d.outer is None else f"[{format_expr(d.outer)}]")
        return f"{pad}{_LOOP.get(s.kind, s.kind)} {_v(s.var)} in {dom} {_body(s.body, depth)}\n"
    if isinstance(s, ir.When):
        out = pad
        for i, (cond, body) in enumerate(s.branches):
            out += ("when " if i == 0 else " elif ") + f"{format_expr(cond)} {_body(body, depth)}"
        if s.otherwise is not None:
            out += f" else {_body(s.otherwise, depth)}"
        return out + "\n"
    if isinstance(s, ir.Block):
        inner = "".join(f"{pad}{_INDENT}part {_body(p, depth + 1)}\n" for p in s.parts)
        return f"{pad}{_BLOCK.get(s.kind, s.kind)} {{\n{inner}{pad}}}\n"
    if isinstance(s, ir.SlotSet):
        return f"{pad}slot({s.slot}) = {format_expr(s.value)}\n"
    if isinstance(s, ir.SlotLoad):
        at = "" if (s.row, s.col) == (0, 0) else f" at {s.row}, {s.col}"
        return f"{pad}slot({s.slot}) = load {format_view(s.view)}{at}\n"
    if isinstance(s, ir.Send):
        if s.call is None:
            return f"{pad}send {_v(s.channel)}\n"
        return f"{pad}send {_v(s.channel)}, {format_call(s.call)}\n"
    if isinstance(s, ir.Wait):
        return f"{pad}wait {_v(s.channel)}\n"
    if isinstance(s, ir.Consume):
        return f"{pad}consume {_v(s.channel)} as {_v(s.var)} {_body(s.body, depth)}\n"
    if isinstance(s, ir.Collective):
        attrs = ""
        if s.attrs:
            attrs = " {" + ", ".join(f"{quote_name(k)} = {literal(v)}" for k, v in s.attrs) + "}"
        return f"{pad}{_v(s.dst)} = {s.kind} {_v(s.src)}{attrs}\n"
    if isinstance(s, ir.Pipe):
        inner = "".join(f"{pad}{_INDENT}channel {_v(c.name)} depth {c.depth}\n"
                        for c in s.channels)
        for p in s.processes:
            head = f"{pad}{_INDENT}process {_g(p.name)}"
            if p.consumes:
                head += f" consumes({', '.join(_v(c) for c in p.consumes)})"
            if p.produces:
                head += f" produces({', '.join(_v(c) for c in p.produces)})"
            inner += f"{head} {_body(p.body, depth + 1)}\n"
        return f"{pad}pipe {{\n{inner}{pad}}}\n"
    raise TypeError(f"not a workload statement: {s!r}")


def format_stmts(stmts, depth: int = 0) -> str:
    return "".join(_stmt(s, depth) for s in stmts)


# ---------------------------------------------------------------- schedule

_TRACE = {(False, False): "none", (True, False): "cycles", (False, True): "wall_clock",
          (True, True): "both"}


def _task_graph(tg: TaskGraph, pad: str) -> list[str]:
    d = TaskGraph()
    lines = []
    if tg.deps != d.deps:
        lines.append(f"deps = {tg.deps.kind}")
    if tg.window is not None:
        w = tg.window
        lines.append(f"window = {w.size} {w.unit} {w.mode.value}")
    if tg.pools != d.pools:
        p = tg.pools
        if p.kind == "custom" or p.vector_workers or p.cube_workers:
            lines.append(f"pools = {p.kind}({p.vector_workers}, {p.cube_workers})")
        else:
            lines.append(f"pools = {p.kind}")
    if tg.ready != d.ready:
        r = tg.ready
        lines.append(f"ready = {r.kind}" + ("" if r.key is None else f"({format_expr(r.key)})"))
    if tg.start != d.start:
        st = tg.start
        lines.append(f"start = {st.kind}" + (f"({st.n})" if st.n else ""))
    if (tg.trace.sim, tg.trace.wall) != (d.trace.sim, d.trace.wall):
        lines.append(f"trace = {_TRACE[(bool(tg.trace.sim), bool(tg.trace.wall))]}")
    lines += [f"cost {_g(k)} = {format_expr(e)}" for k, e in tg.trace.costs]
    return [f"{pad}{line}" for line in lines]


def format_schedule(s: Schedule) -> str:
    """The ``schedule { ... }`` block, or "" for the default schedule."""
    if s == Schedule():
        return ""
    lines = []
    if s.dispatch is not None:
        d = s.dispatch
        args = []
        if d.key is not None:
            args.append(format_expr(d.key))
        if d.num_aicpus is not None:
            args.append(f"aicpus = {d.num_aicpus}")
        lines.append(f"dispatch = {d.kind}({', '.join(args)})")
    if s.streams is not None:
        lines.append(f"streams = {s.streams}")
    if s.stream_by is not None:
        lines.append(f"stream_by = {format_expr(s.stream_by)}")
    if s.timing is not None:
        t = s.timing
        lines.append(f"timing = {t.kind}" + (f"({t.value})" if t.value else ""))
    if s.spatial_grid is not None:
        lines.append(f"spatial_map = [{', '.join(str(g) for g in s.spatial_grid)}]")
    if s.task_graph is not None:
        inner = _task_graph(s.task_graph, _INDENT * 2)
        lines.append("task_graph {\n" + "".join(x + "\n" for x in inner) + _INDENT + "}")
    return "schedule {\n" + "".join(f"{_INDENT}{x}\n" for x in lines) + "}\n"


# ---------------------------------------------------------------- module


def _ints(xs) -> str:
    return "[" + ", ".join(str(x) for x in xs) + "]"


def format_tensor(t: ir.TensorDecl) -> str:
    out = f"tensor {_v(t.name)} : {_ints(t.shape)} {t.dtype.value} {t.location.value}"
    if t.layout is not None:
        out += " " + t.layout
    return out


def format_axis(a: ir.AxisDecl) -> str:
    out = f"axis {_v(a.name)} : {a.kind} {a.size}"
    if a.lengths or a.kind == "ragged":
        out += f" lengths {_ints(a.lengths)}"
    if a.indptr or a.kind == "sparse":
        out += f" indptr {_ints(a.indptr)}"
    if a.indices or a.kind == "sparse":
        out += f" indices {_ints(a.indices)}"
    return out


def format_symbol(s: ir.SymbolDecl) -> str:
    suffix = "" if s.dtype is DType.U64 else f":{s.dtype.value}"
    return f"symbol ${quote_name(s.name)}{suffix} = {literal(s.default)}"


def print_module(m: ir.Module) -> str:
    """The canonical ``.pto`` text of a module."""
    sections = [f"module {_g(m.name)}\n"]
    decls = [format_tensor(t) for t in m.tensors] + [format_axis(a) for a in m.axes] + \
        [format_symbol(s) for s in m.symbols]
    if decls:
        sections.append("".join(d + "\n" for d in decls))
    sections += [format_kernel(k) + "\n" for k in m.kernels]
    sections.append(f"workload {_g(m.workload.name)} {_body(m.workload.body, 0)}\n")
    sched = format_schedule(m.schedule)
    if sched:
        sections.append(sched)
    return "\n".join(sections)

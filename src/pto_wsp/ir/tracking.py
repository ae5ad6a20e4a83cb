"""Stage ``region tracking``: which tensors exact region matching can order soundly.

The runtime's exact region map relates two accesses only when their boxes are identical, so
it is sound for a tensor exactly when any two boxes the workload touches in it are identical
or disjoint. That is proven here when every view of the tensor has one *pattern* (per
dimension: indexed, or sliced with extent E and step s; a slot load is a pattern of its own)
and every slice start is a provable multiple of E*s, so the views tile the tensor. Tensors no
task writes need no ordering at all. Every other tensor is tracked by byte overlap.
Arrays whose elements alias, or that share memory with another tensor, are switched to
overlap tracking when they are bound (``Program``). docs/runtime.md, "Per-tensor tracking".
"""

from __future__ import annotations

from math import gcd

from ..types import DType
from . import expr as irx
from . import nodes as ir
from .printer import format_view


def written_tensors(m: ir.Module) -> set[str]:
    """Names of the tensors some task writes (Out or InOut)."""
    kernels = {k.name: k for k in m.kernels}
    return {a.tensor for s in ir.walk_stmts(m.workload.body) if isinstance(s, ir.Call)
            for name, a in s.args if kernels[s.kernel].param(name).direction in ("out", "inout")}


def overlap_tensors(m: ir.Module) -> dict[str, str]:
    """Tensors that need byte-overlap tracking, each with the reason (two conflicting views,
    or a view whose slices may not tile the tensor)."""
    kernels = {k.name: k for k in m.kernels}
    views: dict[str, list[tuple[tuple, str]]] = {}
    written: set[str] = set()
    for s in ir.walk_stmts(m.workload.body):
        if isinstance(s, ir.Call):
            for name, a in s.args:
                if isinstance(a, ir.ViewExpr):
                    p = kernels[s.kernel].param(name)
                    if p.direction in ("out", "inout"):
                        written.add(a.tensor)
                    views.setdefault(a.tensor, []).append(
                        (_pattern(a, m.tensor(a.tensor).shape), format_view(a)))
        elif isinstance(s, ir.SlotLoad):
            views.setdefault(s.view.tensor, []).append(
                (("slot",), f"slot_load_u64({format_view(s.view)})"))
    out = {}
    for t in sorted(written):
        (first, what), *rest = views[t]
        if first is None:
            out[t] = f"the slices of view {what} may not tile '{t}'"
            continue
        for pat, other in rest:
            if pat != first:
                out[t] = (f"views {what} and {other} have different shapes"
                          if pat is not None else
                          f"the slices of view {other} may not tile '{t}'")
                break
    return out


def _pattern(v: ir.ViewExpr, shape: tuple[int, ...]) -> tuple | None:
    """Per dimension ``("i",)`` or ``("s", extent, step)``; None if a slice start is not a
    provable multiple of extent * step (then boxes may partially overlap)."""
    pat = []
    for dim, it in enumerate(v.items):
        if isinstance(it, ir.Index):
            pat.append(("i",))
            continue
        span = it.size * it.step
        if it.size > 1 and span < shape[dim] and divisor(it.start) % span:
            return None
        pat.append(("s", it.size, it.step))
    pat += [("s", n, 1) for n in shape[len(v.items):]]
    return tuple(pat)


def divisor(e: irx.ScalarExpr) -> int:
    """A number that provably divides the value of integer expression ``e`` (0: e is 0).
    Unsigned arithmetic wraps modulo 2**64, so there only powers of two are kept."""
    if e.dtype.is_float:
        return 1
    d = _divisor(e)
    if e.dtype is DType.U64 and d:
        d &= -d  # the power-of-two part survives wrap-around
    return d


def _divisor(e: irx.ScalarExpr) -> int:
    if isinstance(e, irx.Const):
        return abs(int(e.value))
    if isinstance(e, irx.Binary) and not (e.lhs.dtype.is_float or e.rhs.dtype.is_float):
        a, b = divisor(e.lhs), divisor(e.rhs)
        if e.op in ("add", "sub", "min", "max"):
            return gcd(a, b)
        if e.op == "mul":
            return a * b
        if e.op == "shl" and isinstance(e.rhs, irx.Const) and 0 <= e.rhs.value < 64:
            return a << int(e.rhs.value)
        return 1
    if isinstance(e, irx.Unary) and e.op == "neg":
        return divisor(e.operand)
    if isinstance(e, irx.Where):
        return gcd(divisor(e.then), divisor(e.other))
    if isinstance(e, irx.Cast) and e.to in (DType.I64, DType.U64):  # narrower casts wrap
        return divisor(e.operand)
    return 1

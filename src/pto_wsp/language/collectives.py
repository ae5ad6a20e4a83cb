"""``relayout``, ``allreduce``, ``allgather``, ``reduce_scatter`` inside a ``@workload``.

Each takes a whole tensor, checks the redistribution against the tensor's layout (the
``*_layout`` rules of :mod:`pto_wsp.layout`), returns a **new** tensor (same shape, dtype and
location, the result layout) and appends an :class:`~pto_wsp.ir.nodes.Collective` statement.
The new tensor is named ``name=`` if given, else after the variable it is assigned to
(``y = allreduce(x, ...)`` -> ``y``), else ``<src>_<kind>``; the name is made unique if taken
(also when workloads are composed).
"""

from __future__ import annotations

import re

from ..errors import TypeCheckError, user_location
from ..ir import nodes as ir
from ..ir.layouts import check_collective_attrs, collective_result, decl_layout
from ..layout import TensorLayout, TensorShard
from ..types import Tensor, parse_layout_text
from .views import View
from .workload import current_builder

__all__ = ["relayout", "allreduce", "allgather", "reduce_scatter"]

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]")


def _target_name(loc) -> str | None:
    src = loc.source_line() if loc else None
    m = _ASSIGN.match(src or "")
    return m.group(1) if m else None


def _collective(kind: str, x, attrs: dict, to=None, name=None) -> Tensor:
    loc = user_location()
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeCheckError(f"{kind}(name=...) must be a non-empty string, got {name!r}", loc)
    b = current_builder(loc, f"{kind}(...)")
    if isinstance(x, View):
        raise TypeCheckError(f"{kind} redistributes a whole tensor, got a view of it", loc,
                             hint="pass the tensor itself (collectives are not per tile)")
    if not isinstance(x, Tensor):
        raise TypeCheckError(f"{kind} needs a Tensor, got {type(x).__name__}", loc)
    if len(b.blocks) != 1:
        raise TypeCheckError(f"{kind} redistributes a whole tensor: call it at the top level "
                             "of the workload, not inside a loop, P.when or pipeline", loc)
    check_collective_attrs(kind, attrs, loc)
    src = b.tensor_name(x)
    result = collective_result(kind, decl_layout(x.shape, x.layout), attrs, loc, to=to)
    y = Tensor(shape=x.shape, dtype=x.dtype, location=x.location, layout=result)
    y.loc = loc
    dst = b._name_of(y, name or _target_name(loc) or f"{src}_{kind}")  # made unique
    b.tensors.setdefault(dst, y)
    b.append(ir.Collective(kind, src, dst, tuple(sorted(attrs.items())), loc))
    return y


def relayout(x: Tensor, to, name: str | None = None) -> Tensor:
    """Redistribute ``x`` to layout ``to`` (a TensorLayout or its text): any complete layout to
    any other of the same rank, memory order included."""
    loc = user_location()
    if isinstance(to, str):
        to = parse_layout_text(to, loc)
    if not isinstance(to, TensorLayout):
        raise TypeCheckError(f"relayout(to=...) takes a TensorLayout or layout text, got "
                             f"{to!r}", loc)
    if isinstance(x, Tensor) and to.rank == len(x.shape) and to.mem is not None and \
            to.mem.shape != x.shape:
        raise TypeCheckError(f"relayout target memory layout is for shape {to.mem.shape}, "
                             f"the tensor is {x.shape}", loc)
    return _collective("relayout", x, {}, to=to, name=name)


def _partial_axis(kind: str, x, mesh_axis, op):
    """Default ``mesh_axis``/``op`` of a reducing collective: the tensor's only partial axis."""
    if mesh_axis is not None and op is not None:
        return mesh_axis, op
    lay = decl_layout(x.shape, x.layout) if isinstance(x, Tensor) else None
    parts = lay.partial if lay is not None else ()
    if mesh_axis is None:
        if len(parts) != 1:
            raise TypeCheckError(
                f"{kind} needs mesh_axis=: the tensor has "
                f"{'no partial axes' if not parts else 'several partial axes'}"
                + (f" ({', '.join(map(str, parts))})" if parts else f" (it is {lay})"
                   if lay is not None else ""), user_location(),
                hint=f"{kind} reduces a tensor with a P(k,op) layout; pass mesh_axis=k")
        mesh_axis = parts[0].mesh_axis
    if op is None:
        p = next((q for q in parts if q.mesh_axis == mesh_axis), None)
        op = p.op if p is not None else "sum"
    return mesh_axis, op


def allreduce(x: Tensor, mesh_axis: int | None = None, op: str | None = None,
              name: str | None = None) -> Tensor:
    """Reduce the ``P(mesh_axis, op)`` partial values of ``x``: the result is complete.
    ``mesh_axis``/``op`` default to the tensor's only partial axis and its op."""
    mesh_axis, op = _partial_axis("allreduce", x, mesh_axis, op)
    return _collective("allreduce", x, {"mesh_axis": mesh_axis, "op": op}, name=name)


def allgather(x: Tensor, dim: int, mesh_axis: int | None = None,
              name: str | None = None) -> Tensor:
    """Gather dimension ``dim`` of ``x`` (sharded ``S(mesh_axis)``): it becomes ``R``.
    ``mesh_axis`` defaults to the axis that shards ``dim``."""
    if mesh_axis is None:
        lay = decl_layout(x.shape, x.layout) if isinstance(x, Tensor) else None
        d = lay.dist[dim] if lay is not None and isinstance(dim, int) and \
            0 <= dim < lay.rank else None
        mesh_axis = d.mesh_axis if isinstance(d, TensorShard) else 0  # 0: error names fix
    return _collective("allgather", x, {"dim": dim, "mesh_axis": mesh_axis}, name=name)


def reduce_scatter(x: Tensor, dim: int, mesh_axis: int | None = None, op: str | None = None,
                   name: str | None = None) -> Tensor:
    """Reduce the ``P(mesh_axis, op)`` values of ``x`` and shard dimension ``dim`` (``R``) as
    ``S(mesh_axis)``. ``mesh_axis``/``op`` default to the tensor's only partial axis."""
    mesh_axis, op = _partial_axis("reduce_scatter", x, mesh_axis, op)
    return _collective("reduce_scatter", x, {"dim": dim, "mesh_axis": mesh_axis, "op": op},
                       name=name)

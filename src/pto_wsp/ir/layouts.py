"""Layout checks on the IR: the distribution join of each kernel call's tensor views, mesh
checks against ``spatial_map``, and the result layouts of collectives.

Used by both the workload builder (at the kernel call's line, while tracing) and the verifier
(for ``.pto`` text and hand-built IR), so both reject the same programs.

The layout of a view (``docs/layouts.md``, "Layouts of views"):

* an ``Index`` item on dimension ``d`` drops ``d``'s distribution entry; if ``d`` is
  ``S(k)`` the view lies in one block along mesh axis ``k`` -- it is **pinned** on ``k`` at
  that index;
* a ``Slice`` item, or a dimension left whole, keeps its entry; a sharded kept dimension
  remembers its **alignment** (start, step, extent of the tensor dimension);
* partial mesh axes are kept (a view of a partial tensor is partial).

A call's views are joined elementwise, right-aligned (missing leading dimensions are ``R``):
per position ``R ⊔ x = x``, ``S(k) ⊔ S(k)`` needs equal alignment (else element ``i`` of the
two views may sit in different blocks), ``S(i) ⊔ S(j)`` is an error; views pinned on the same
mesh axis need the same index into dimensions of the same extent; a view pinned on ``k``
cannot meet a view spread over ``k``; partial axes must be identical on every view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import CompileError, SourceLoc, TypeCheckError
from ..layout import (REDUCE_OPS, TensorLayout, TensorReplicate, TensorShard, allgather_layout,
                      allreduce_layout, check_mesh, reduce_scatter_layout, relayout_layout,
                      tensor_layout_join)
from . import expr as irx
from . import nodes as ir

__all__ = ["COLLECTIVES", "layout_from_text", "decl_layout", "uses_mesh", "check_call_layouts",
           "check_tensor_mesh", "collective_result", "check_collective_attrs"]

# kind -> the attributes it takes (sorted)
COLLECTIVES = {
    "relayout": (),
    "allreduce": ("mesh_axis", "op"),
    "allgather": ("dim", "mesh_axis"),
    "reduce_scatter": ("dim", "mesh_axis", "op"),
}


@lru_cache(maxsize=1024)
def layout_from_text(text: str) -> TensorLayout:
    return TensorLayout.from_text(text)


def decl_layout(shape, layout) -> TensorLayout:
    """A declared layout (text, TensorLayout or None = all replicated) as a TensorLayout."""
    if layout is None:
        return TensorLayout.default(len(shape))
    if isinstance(layout, str):
        return layout_from_text(layout)
    return layout


def uses_mesh(layout: TensorLayout) -> bool:
    return bool(layout.partial) or any(isinstance(d, TensorShard) for d in layout.dist)


def _fmt_view(v: ir.ViewExpr) -> str:
    from .printer import format_view
    return format_view(v)[1:]  # drop the % sigil: X[%b]


@dataclass
class _ViewLayout:
    arg: str
    tensor: str
    text: str  # the view as written
    layout: TensorLayout  # of the whole tensor
    dims: list = field(default_factory=list)  # kept dims: (dist, align, tensor_dim)
    pinned: dict = field(default_factory=dict)  # mesh axis -> (index expr, extent, tensor_dim)

    def who(self) -> str:
        return f"'{self.arg}' ({self.text}, {self.tensor} is {self.layout})"


def _view_layout(arg: str, v: ir.ViewExpr, shape, layout: TensorLayout) -> _ViewLayout:
    out = _ViewLayout(arg, v.tensor, _fmt_view(v), layout)
    for d, dist in enumerate(layout.dist):
        it = v.items[d] if d < len(v.items) else None
        if isinstance(it, ir.Index):
            if isinstance(dist, TensorShard):
                out.pinned[dist.mesh_axis] = (it.expr, shape[d], d)
            continue
        if isinstance(it, ir.Slice):
            align = (it.start, it.step, shape[d])
        else:
            align = (irx.Const(0), 1, shape[d])
        out.dims.append((dist, align if isinstance(dist, TensorShard) else None, d))
    return out


def _same_expr(a, b) -> bool:
    ca, cb = irx.const_value(a), irx.const_value(b)
    if ca is not None and cb is not None:
        return ca == cb
    return a == b


def _same_align(a, b) -> bool:
    return _same_expr(a[0], b[0]) and a[1:] == b[1:]


def _with_dim(layout: TensorLayout, d: int, dist) -> str:
    """The text of ``layout`` with dim ``d`` redistributed as ``dist`` (a mesh axis used
    elsewhere is replicated there), for hints."""
    axis = dist.mesh_axis
    out = tuple(dist if i == d else TensorReplicate() if x == TensorShard(axis) else x
                for i, x in enumerate(layout.dist))
    try:
        return layout.replace(dist=out, mem=None).to_text()
    except TypeCheckError:  # pragma: no cover - e.g. the axis is partial: no simple target
        return "..."


def check_call_layouts(call: ir.Call, kernel: ir.Kernel, tensors: dict,
                       loc: SourceLoc | None) -> TensorLayout | None:
    """Join the layouts of ``call``'s tensor views (``tensors``: name -> (shape, layout)).

    Returns the joined view layout (None when the call has no tensor arguments); raises a
    TypeCheckError located at ``loc`` naming the relayout/collective that fixes a mismatch.
    """
    loc = loc or call.loc
    if not any(isinstance(a, ir.ViewExpr) and a.tensor in tensors and
               uses_mesh(decl_layout(*tensors[a.tensor])) for _, a in call.args):
        return None  # nothing distributed: every view is replicated
    views = []
    for name, a in call.args:
        if isinstance(a, ir.ViewExpr) and a.tensor in tensors:
            shape, lay = tensors[a.tensor]
            views.append(_view_layout(name, a, shape, decl_layout(shape, lay)))
    if not views:
        return None
    what = f"call of '{kernel.name}'"

    def err(msg, hint):
        return TypeCheckError(f"{what}: {msg}", loc, hint=hint)

    # partial axes: identical on every view
    first = views[0]
    for v in views[1:]:
        if v.layout.partial != first.layout.partial:
            p, q = (first, v) if first.layout.partial else (v, first)
            pa = p.layout.partial[0]
            raise err(f"{p.who()} holds partial values but {q.who()} "
                      + ("holds different ones" if q.layout.partial else "is complete"),
                      f"reduce it first: {p.tensor}2 = allreduce({p.tensor}, "
                      f"mesh_axis={pa.mesh_axis}, op=\"{pa.op}\")")
    # positions, right-aligned
    rank = max(len(v.dims) for v in views)
    accs = []  # per position: None or (view, dist, align, tensor_dim)
    for pos in range(rank):
        acc = None
        for v in views:
            i = pos - (rank - len(v.dims))
            if i < 0:
                continue
            dist, align, td = v.dims[i]
            if not isinstance(dist, TensorShard):
                continue
            if acc is None:
                acc = (v, dist, align, td)
                continue
            u, udist, ualign, utd = acc
            if udist != dist:
                raise err(
                    f"layout mismatch on view dim {pos}: {u.who()} has {udist} there, "
                    f"{v.who()} has {dist}",
                    f"redistribute one operand: {v.tensor}2 = relayout({v.tensor}, "
                    f"to=\"{_with_dim(v.layout, td, udist)}\"), or replicate it with "
                    f"allgather({v.tensor}, dim={td}, mesh_axis={dist.mesh_axis})")
            if not _same_align(ualign, align):
                raise err(
                    f"{u.who()} and {v.who()} are both {dist} on view dim {pos}, but their "
                    "views start at different offsets or cut dimensions of different extents "
                    "(so their blocks may sit on different cores)",
                    f"view both the same way, or replicate one: "
                    f"allgather({v.tensor}, dim={td}, mesh_axis={dist.mesh_axis})")
        accs.append(acc)
    # a mesh axis shards at most one position of the joint view
    used = {}
    for pos, acc in enumerate(accs):
        if acc is None:
            continue
        v, d, _, td = acc
        if d.mesh_axis in used:
            upos, (u, _, _, utd) = used[d.mesh_axis]
            raise err(f"{u.who()} is {d} on view dim {upos}, but {v.who()} is {d} on view dim "
                      f"{pos}: mesh axis {d.mesh_axis} cannot shard both",
                      f"replicate one: allgather({v.tensor}, dim={td}, "
                      f"mesh_axis={d.mesh_axis}), or {v.tensor}2 = relayout({v.tensor}, "
                      f"to=...) so both shard the same view dim")
        used[d.mesh_axis] = (pos, acc)
    # pinned views
    pins = {}
    for v in views:
        for k, (e, extent, td) in v.pinned.items():
            if k in used:
                other = next(u for u in views if any(
                    isinstance(dd, TensorShard) and dd.mesh_axis == k for dd, _, _ in u.dims))
                od = next(t for dd, _, t in other.dims
                          if isinstance(dd, TensorShard) and dd.mesh_axis == k)
                raise err(f"{v.who()} selects one block of mesh axis {k}, but {other.who()} "
                          f"is spread over mesh axis {k}",
                          f"replicate it: allgather({other.tensor}, dim={od}, mesh_axis={k})")
            if k in pins:
                u, ue, uext = pins[k]
                if not (_same_expr(ue, e) and uext == extent):
                    raise err(f"{u.who()} and {v.who()} select blocks of mesh axis {k} by "
                              "different indices, which may lie on different cores",
                              f"index both the same way, or replicate one: "
                              f"allgather({v.tensor}, dim={td}, mesh_axis={k})")
            else:
                pins[k] = (v, e, extent)
    # the Dato join of the aligned view layouts (cannot fail after the checks above)
    out = None
    for v in views:
        pad = (TensorReplicate(),) * (rank - len(v.dims))
        vl = TensorLayout(pad + tuple(d for d, _, _ in v.dims), None, v.layout.partial)
        out = vl if out is None else tensor_layout_join(out, vl, (first.arg, v.arg), loc)
    return out


def check_tensor_mesh(name: str, shape, layout: TensorLayout, grid, loc) -> None:
    """``check_mesh`` with the tensor's name in the message."""
    try:
        check_mesh(layout, shape, grid, loc)
    except TypeCheckError as e:
        raise TypeCheckError(f"tensor '{name}': {e.message}", loc, hint=e.hint) from None


def check_collective_attrs(kind: str, attrs: dict, loc, error=TypeCheckError) -> None:
    want = COLLECTIVES.get(kind)
    if want is None:
        raise error(f"unknown collective '{kind}'", loc,
                    hint="use one of " + ", ".join(COLLECTIVES))
    if tuple(sorted(attrs)) != want:
        raise error(f"{kind} takes attributes {{{', '.join(want)}}}, got "
                    f"{{{', '.join(sorted(attrs))}}}", loc)
    for k in ("mesh_axis", "dim"):
        if k in attrs:
            x = attrs[k]
            if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                raise error(f"{kind} {k} must be an int >= 0, got {x!r}", loc)
    if "op" in attrs and attrs["op"] not in REDUCE_OPS:
        raise error(f"{kind} op must be one of {', '.join(REDUCE_OPS)}, got {attrs['op']!r}",
                    loc)


def collective_result(kind: str, src: TensorLayout, attrs: dict, loc,
                      to: TensorLayout | None = None) -> TensorLayout:
    """The result layout of a collective (``to``: the target of ``relayout``)."""
    check_collective_attrs(kind, attrs, loc)
    if kind == "relayout":
        return relayout_layout(src, to, loc)
    if kind == "allreduce":
        return allreduce_layout(src, attrs["mesh_axis"], attrs["op"], loc)
    if kind == "allgather":
        return allgather_layout(src, attrs["dim"], attrs["mesh_axis"], loc)
    return reduce_scatter_layout(src, attrs["dim"], attrs["mesh_axis"], attrs["op"], loc)


def not_executable(m: ir.Module, backend: str) -> None:
    """Raise a located CompileError for the first collective (``backend`` cannot run them)."""
    for s in ir.walk_stmts(m.workload.body):
        if isinstance(s, ir.Collective):
            raise CompileError(
                f"the {backend} backend cannot execute {s.kind} ('{s.dst}' = {s.kind} of "
                f"'{s.src}') yet: collectives are type-checked and representable in .pto, "
                "but not lowered to data movement", s.loc,
                hint="compile for a backend with collective support, or remove the "
                     "collective (on one core every layout is the same data)")

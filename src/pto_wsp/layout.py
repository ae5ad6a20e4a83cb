"""Layout types: tensor type refinements for distribution and memory order (spec 2.3).

A :class:`TensorLayout` refines a tensor type with

* a **distribution** per tensor dimension: :class:`TensorReplicate` (``R``, every device of
  the mesh holds the whole dimension) or :class:`TensorShard` (``S(k)``, the dimension is cut
  into equal blocks along mesh axis ``k`` of the ``spatial_map(grid=...)`` mesh);
* a set of **partial** mesh axes: :class:`TensorPartial` (``P(k,op)``): every device along
  mesh axis ``k`` holds a partial value and the true tensor is their ``op``-reduction (the
  output of a matmul whose contracted dimension was sharded). Partiality is a property of
  the whole tensor, not of one dimension, so it is kept beside ``dist``;
* an optional :class:`MemLayout`: how a logical index maps to an element offset.

Every layout object is a frozen, hashable dataclass with structural equality, and has a
canonical text form (``to_text``/``str``) that ``from_text`` parses back exactly; the grammar
is in ``docs/layouts.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pto_wsp.errors import SourceLoc, TypeCheckError, user_location

__all__ = [
    "TensorReplicate", "TensorShard", "TensorPartial", "MemLayout", "TensorLayout",
    "REDUCE_OPS", "tensor_layout_join", "check_layouts_compatible", "check_mesh",
    "relayout_layout", "allreduce_layout", "allgather_layout", "reduce_scatter_layout",
]

REDUCE_OPS = ("sum", "max", "min", "prod")


def _error(message: str, hint: str | None = None, loc: SourceLoc | None = None) -> TypeCheckError:
    return TypeCheckError(message, loc if loc is not None else user_location(), hint)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# --------------------------------------------------------------------------- distribution


@dataclass(frozen=True)
class TensorReplicate:
    """``R``: the dimension is replicated on every device of the mesh."""

    def __str__(self) -> str:
        return "R"


@dataclass(frozen=True)
class TensorShard:
    """``S(k)``: the dimension is split into equal contiguous blocks along mesh axis ``k``."""

    mesh_axis: int

    def __post_init__(self):
        if not _is_int(self.mesh_axis) or self.mesh_axis < 0:
            raise _error(f"TensorShard mesh_axis must be an int >= 0, got {self.mesh_axis!r}")

    def __str__(self) -> str:
        return f"S({self.mesh_axis})"


@dataclass(frozen=True)
class TensorPartial:
    """``P(k,op)``: devices along mesh axis ``k`` hold partial values; the tensor is their
    ``op``-reduction. Removed by ``allreduce`` (-> replicated) or ``reduce_scatter``."""

    mesh_axis: int
    op: str = "sum"

    def __post_init__(self):
        if not _is_int(self.mesh_axis) or self.mesh_axis < 0:
            raise _error(f"TensorPartial mesh_axis must be an int >= 0, got {self.mesh_axis!r}")
        if self.op not in REDUCE_OPS:
            raise _error(f"unknown reduction op {self.op!r}", f"use one of {', '.join(REDUCE_OPS)}")

    def __str__(self) -> str:
        return f"P({self.mesh_axis},{self.op})"


Dist = TensorReplicate | TensorShard


# --------------------------------------------------------------------------- memory layout


def _row_major_strides(shape) -> tuple[int, ...]:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= s
    return tuple(reversed(strides))


def _normalize_modes(extent: int, modes) -> tuple[tuple[int, int], ...]:
    """Drop extent-1 modes; merge ``(a,s),(b,a*s)`` into ``(a*b,s)`` and ``(a,0),(b,0)``
    into ``(a*b,0)``."""
    out: list[tuple[int, int]] = []
    for e, s in modes:
        if e == 1:
            continue
        if out and (s == out[-1][0] * out[-1][1] != 0 or s == out[-1][1] == 0):
            out[-1] = (out[-1][0] * e, out[-1][1])
        else:
            out.append((e, s))
    if extent == 0:
        return ((0, 0),)
    return tuple(out) if out else ((1, 0),)


@dataclass(frozen=True)
class MemLayout:
    """Maps a logical index tuple to an element offset (a CuTe-style hierarchical layout).

    Dimension ``d`` of ``shape`` is split into ``modes[d]``, a tuple of ``(extent, stride)``
    pairs, innermost first, whose extents multiply to ``shape[d]``::

        offset(idx) = sum over d, m of  (idx[d] // inner_m % extent_m) * stride_m

    where ``inner_m`` is the product of the extents before mode ``m``. A plain strided layout
    has one mode per dimension; a tiled/blocked layout has two (within tile, across tiles).
    Modes are normalized (extent-1 modes dropped, contiguous modes merged), so equal offset
    maps built different ways compare equal.
    """

    shape: tuple[int, ...]
    modes: tuple[tuple[tuple[int, int], ...], ...]

    def __post_init__(self):
        shape = tuple(self.shape)
        if not all(_is_int(s) and s >= 0 for s in shape):
            raise _error(f"MemLayout shape must be non-negative ints, got {self.shape!r}",
                         "a memory layout needs a concrete shape")
        modes = tuple(tuple((int(e), int(s)) for e, s in m) for m in self.modes)
        if len(modes) != len(shape):
            raise _error(f"MemLayout has {len(modes)} mode groups for rank {len(shape)}")
        for d, (n, m) in enumerate(zip(shape, modes)):
            if math.prod(e for e, _ in m) != n or any(e < 0 or s < 0 for e, s in m):
                raise _error(f"MemLayout modes {m} of dim {d} do not cover extent {n}",
                             "the extents of a dimension's modes must multiply to its size")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "modes", tuple(_normalize_modes(n, m) for n, m in zip(shape, modes)))

    # factories -----------------------------------------------------------------------
    @staticmethod
    def strided(shape, strides) -> MemLayout:
        """Element strides per dimension (like numpy ``strides // itemsize``)."""
        shape, strides = tuple(shape), tuple(strides)
        if len(shape) != len(strides):
            raise _error(f"strides {strides} do not match shape {shape}")
        return MemLayout(shape, tuple(((n, s),) for n, s in zip(shape, strides)))

    @staticmethod
    def row_major(shape) -> MemLayout:
        """C order: the last dimension is contiguous."""
        return MemLayout.strided(shape, _row_major_strides(tuple(shape)))

    @staticmethod
    def col_major(shape) -> MemLayout:
        """Fortran order: the first dimension is contiguous."""
        return MemLayout.permute(shape, tuple(reversed(range(len(tuple(shape))))))

    @staticmethod
    def permute(shape, perm) -> MemLayout:
        """Dimensions stored in the order ``perm`` (outermost first): the layout of
        ``np.ascontiguousarray(x.transpose(perm)).transpose(np.argsort(perm))``."""
        shape, perm = tuple(shape), tuple(perm)
        if sorted(perm) != list(range(len(shape))):
            raise _error(f"{perm} is not a permutation of the {len(shape)} dims of {shape}")
        inner = _row_major_strides(tuple(shape[p] for p in perm))
        strides = [0] * len(shape)
        for pos, d in enumerate(perm):
            strides[d] = inner[pos]
        return MemLayout.strided(shape, strides)

    @staticmethod
    def tiled(shape, tile, tile_order=None, elem_order=None) -> MemLayout:
        """Blocked layout: ``tile``-shaped tiles, each contiguous; tiles laid out in
        ``tile_order`` and elements inside a tile in ``elem_order`` (both default row-major).
        Equal to ``permute(grid, tile_order).compose(permute(tile, elem_order))``."""
        shape, tile = tuple(shape), tuple(tile)
        if len(tile) != len(shape) or any(not _is_int(t) or t < 1 or n % t for n, t in zip(shape, tile)):
            raise _error(f"tile {tile} does not divide shape {shape}",
                         "each tile extent must divide the tensor extent")
        rank = range(len(shape))
        grid = tuple(n // t for n, t in zip(shape, tile))
        outer = MemLayout.permute(grid, tuple(tile_order) if tile_order is not None else tuple(rank))
        inner = MemLayout.permute(tile, tuple(elem_order) if elem_order is not None else tuple(rank))
        return outer.compose(inner)

    # queries ---------------------------------------------------------------------------
    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def cosize(self) -> int:
        """One past the largest offset: the number of elements of storage it spans."""
        if self.size == 0:
            return 0
        return 1 + sum((e - 1) * s for m in self.modes for e, s in m)

    def offset(self, idx) -> int:
        """Element offset of logical index ``idx``."""
        idx = tuple(idx)
        if len(idx) != self.rank or any(not (0 <= i < n) for i, n in zip(idx, self.shape)):
            raise _error(f"index {idx} is out of bounds for shape {self.shape}")
        off = 0
        for i, m in zip(idx, self.modes):
            for e, s in m:
                off += (i % e) * s
                i //= e
        return off

    def offsets(self):
        """All offsets as a numpy int64 array of ``shape`` (vectorized ``offset``)."""
        import numpy as np

        grids = np.indices(self.shape, dtype=np.int64) if self.shape else []
        off = np.zeros(self.shape, dtype=np.int64)
        for g, m in zip(grids, self.modes):
            for e, s in m:
                off += (g % e) * s
                g = g // e
        return off

    @property
    def is_strided(self) -> bool:
        """True when every dimension has a single mode (expressible as numpy strides)."""
        return all(len(m) <= 1 for m in self.modes)

    def strides(self, shape=None) -> tuple[int, ...]:
        """Element strides per dimension; with ``shape`` given it must equal ``self.shape``
        (so a tensor's declared shape is checked). Multiply by ``itemsize`` for numpy."""
        if shape is not None and tuple(shape) != self.shape:
            raise _error(f"memory layout is for shape {self.shape}, not {tuple(shape)}",
                         "declare the MemLayout with the tensor's shape")
        if not self.is_strided:
            raise _error(f"memory layout {self} is tiled and has no per-dimension strides",
                         "use offset()/offsets(), or a strided layout")
        return tuple(m[0][1] if m else 0 for m in self.modes)

    def matches(self, array) -> bool:
        """Does numpy ``array`` have this shape and these strides (in elements)?"""
        if tuple(array.shape) != self.shape or not self.is_strided:
            return False
        if array.size == 0:
            return True
        item = array.itemsize
        return all(n == 1 or a == s * item
                   for n, a, s in zip(self.shape, array.strides, self.strides()))

    # algebra ---------------------------------------------------------------------------
    def compose(self, inner: MemLayout) -> MemLayout:
        """Blocked product: ``self`` lays out tiles, ``inner`` the elements of one tile.

        Result shape is ``self.shape * inner.shape`` (elementwise) and
        ``offset(i) = self.offset(i // inner.shape) * inner.cosize + inner.offset(i % inner.shape)``.
        Associative: ``a.compose(b).compose(c) == a.compose(b.compose(c))``.
        """
        if inner.rank != self.rank:
            raise _error(f"cannot compose a rank-{self.rank} tile layout with a rank-{inner.rank} "
                         "element layout", "both layouts need the same rank")
        c = inner.cosize
        modes = tuple(mi + tuple((e, s * c) for e, s in mo) for mo, mi in zip(self.modes, inner.modes))
        return MemLayout(tuple(a * b for a, b in zip(self.shape, inner.shape)), modes)

    # text ------------------------------------------------------------------------------
    def to_text(self) -> str:
        shape = ",".join(map(str, self.shape))
        if self == MemLayout.row_major(self.shape):
            return f"row_major({shape})"
        if self == MemLayout.col_major(self.shape):
            return f"col_major({shape})"
        if self.is_strided:
            order = sorted(range(self.rank), key=lambda d: (-self.strides()[d], d))
            if self == MemLayout.permute(self.shape, order):
                return f"permute(({shape}),({','.join(map(str, order))}))"
        return f"{_cute_tuple(self.modes, 0)}:{_cute_tuple(self.modes, 1)}"

    __str__ = to_text

    @staticmethod
    def from_text(text: str, loc: SourceLoc | None = None) -> MemLayout:
        """Parse the text form; ``loc`` is where ``text`` starts (errors point into it)."""
        return _Parser(text, loc).parse_whole(_Parser.mem)


def _cute_tuple(modes, k) -> str:
    parts = []
    for m in modes:
        vals = [str(x[k]) for x in m]
        parts.append(vals[0] if len(vals) == 1 else f"({','.join(vals)})")
    return f"({','.join(parts)})"


# --------------------------------------------------------------------------- tensor layout


@dataclass(frozen=True)
class TensorLayout:
    """Distribution per dimension, partial mesh axes, and an optional memory layout."""

    dist: tuple[Dist, ...]
    mem: MemLayout | None = None
    partial: tuple[TensorPartial, ...] = field(default=())

    def __post_init__(self):
        dist = tuple(self.dist)
        for d in dist:
            if not isinstance(d, (TensorReplicate, TensorShard)):
                hint = ("put partial axes in partial=(TensorPartial(...),)"
                        if isinstance(d, TensorPartial) else "use TensorReplicate() or TensorShard(k)")
                raise _error(f"distribution element {d!r} is not R or S(k)", hint)
        partial = tuple(sorted(self.partial, key=lambda p: p.mesh_axis))
        if not all(isinstance(p, TensorPartial) for p in partial):
            raise _error(f"partial={self.partial!r} must hold TensorPartial values")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "partial", partial)
        if self.mem is not None and self.mem.rank != len(dist):
            raise _error(f"memory layout {self.mem} has rank {self.mem.rank} but the distribution "
                         f"has rank {len(dist)}", "give one distribution element per dimension")
        seen: dict[int, str] = {}
        for i, d in enumerate(dist):
            if isinstance(d, TensorShard):
                if d.mesh_axis in seen:
                    raise _error(f"mesh axis {d.mesh_axis} shards both {seen[d.mesh_axis]} and dim {i}",
                                 "a mesh axis can shard at most one tensor dimension")
                seen[d.mesh_axis] = f"dim {i}"
        for p in partial:
            if p.mesh_axis in seen:
                raise _error(f"mesh axis {p.mesh_axis} is both sharding {seen[p.mesh_axis]} and partial",
                             "a mesh axis is either a shard, a partial or replicated")
            seen[p.mesh_axis] = "partial"

    @staticmethod
    def default(rank: int) -> TensorLayout:
        """All dimensions replicated, no memory layout."""
        return TensorLayout((TensorReplicate(),) * rank)

    @staticmethod
    def sharded(dim: int, rank: int, mesh_axis: int = 0, mem: MemLayout | None = None) -> TensorLayout:
        """Dimension ``dim`` sharded on ``mesh_axis``, the others replicated."""
        if not 0 <= dim < rank:
            raise _error(f"cannot shard dim {dim} of a rank-{rank} tensor")
        return TensorLayout(tuple(TensorShard(mesh_axis) if i == dim else TensorReplicate()
                                  for i in range(rank)), mem)

    @property
    def rank(self) -> int:
        return len(self.dist)

    @property
    def is_replicated(self) -> bool:
        return not self.partial and all(isinstance(d, TensorReplicate) for d in self.dist)

    def shard_dim(self, mesh_axis: int) -> int | None:
        """The tensor dimension sharded on ``mesh_axis``, if any."""
        for i, d in enumerate(self.dist):
            if isinstance(d, TensorShard) and d.mesh_axis == mesh_axis:
                return i
        return None

    def partial_on(self, mesh_axis: int) -> TensorPartial | None:
        return next((p for p in self.partial if p.mesh_axis == mesh_axis), None)

    def replace(self, **changes) -> TensorLayout:
        args = {"dist": self.dist, "mem": self.mem, "partial": self.partial, **changes}
        return TensorLayout(**args)

    def to_text(self) -> str:
        s = ",".join(map(str, self.dist))
        if self.partial:
            s += " | " + ",".join(map(str, self.partial))
        if self.mem is not None:
            s += "; " + self.mem.to_text()
        return f"layout<{s}>"

    __str__ = to_text

    @staticmethod
    def from_text(text: str, loc: SourceLoc | None = None) -> TensorLayout:
        """Parse the text form; ``loc`` is where ``text`` starts (errors point into it)."""
        return _Parser(text, loc).parse_whole(_Parser.layout)


# --------------------------------------------------------------------------- text parser


class _Parser:
    """Recursive descent over the layout grammar (see docs/layouts.md). Whitespace-tolerant."""

    _TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(.))")

    def __init__(self, text: str, loc: SourceLoc | None = None):
        self.text = text
        self.loc = loc
        self.toks: list[tuple[str, str, int]] = []
        for m in self._TOKEN.finditer(text):
            if m.group(0).strip() == "":
                continue
            kind = "int" if m.group(1) else "name" if m.group(2) else "punct"
            self.toks.append((kind, m.group(m.lastindex), m.start(m.lastindex)))
        self.pos = 0

    def fail(self, what: str):
        at = self.toks[self.pos][2] if self.pos < len(self.toks) else len(self.text)
        if self.loc is None:
            loc = SourceLoc("<layout>", 1, at + 1, text=self.text)
        else:
            loc = SourceLoc(self.loc.file, self.loc.line, max(self.loc.col, 1) + at, text=self.loc.text)
        return TypeCheckError(f"bad layout text: expected {what}", loc,
                              "see the layout grammar in docs/layouts.md")

    def peek(self, value=None, kind=None):
        if self.pos >= len(self.toks):
            return None
        k, v, _ = self.toks[self.pos]
        if (value is None or v == value) and (kind is None or k == kind):
            return v
        return None

    def take(self, value=None, kind=None, what=None):
        v = self.peek(value, kind)
        if v is None:
            raise self.fail(what or (repr(value) if value else kind))
        self.pos += 1
        return v

    def parse_whole(self, rule):
        result = rule(self)
        if self.pos != len(self.toks):
            raise self.fail("end of layout text")
        return result

    def int(self) -> int:
        return int(self.take(kind="int", what="an integer"))

    def ints(self) -> tuple[int, ...]:
        """``(a,b,...)`` or a bare ``a``."""
        if not self.peek("("):
            return (self.int(),)
        self.take("(")
        vals = [] if self.peek(")") else [self.int()]
        while self.peek(","):
            self.take(",")
            vals.append(self.int())
        self.take(")", what="')'")
        return tuple(vals)

    def nested(self) -> tuple[tuple[int, ...], ...]:
        """``(x,(a,b),...)``: a tuple of ints or int tuples."""
        self.take("(", what="'('")
        items = []
        while not self.peek(")"):
            items.append(self.ints())
            if not self.peek(")"):
                self.take(",", what="',' or ')'")
        self.take(")")
        return tuple(items)

    def mem(self) -> MemLayout:
        name = self.peek(kind="name")
        if name in ("row_major", "col_major"):
            self.take()
            self.take("(", what="'('")
            shape = [] if self.peek(")") else [self.int()]
            while self.peek(","):
                self.take(",")
                shape.append(self.int())
            self.take(")", what="')'")
            return getattr(MemLayout, name)(tuple(shape))
        if name == "permute":
            self.take()
            self.take("(", what="'('")
            shape = self.ints()
            self.take(",", what="','")
            perm = self.ints()
            self.take(")", what="')'")
            return MemLayout.permute(shape, perm)
        if not self.peek("("):
            raise self.fail("a memory layout: row_major(...), col_major(...), permute(...) "
                            "or shape:stride")
        extents = self.nested()
        self.take(":", what="':'")
        at = self.pos
        strides = self.nested()
        if [len(e) for e in extents] != [len(s) for s in strides]:
            self.pos = at
            raise self.fail("a stride tuple of the same structure as the shape tuple")
        return MemLayout(tuple(math.prod(e) for e in extents),
                         tuple(tuple(zip(e, s)) for e, s in zip(extents, strides)))

    def dist(self):
        if self.peek("R"):
            self.take()
            return TensorReplicate()
        self.take("S", what="R, S(k) or P(k,op)")
        self.take("(", what="'('")
        k = self.int()
        self.take(")", what="')'")
        return TensorShard(k)

    def partial_elem(self) -> TensorPartial:
        self.take("P", what="P(k,op)")
        self.take("(", what="'('")
        k = self.int()
        self.take(",", what="','")
        op = self.take(kind="name", what="a reduction op")
        self.take(")", what="')'")
        return TensorPartial(k, op)

    def layout(self) -> TensorLayout:
        self.take("layout", what="'layout<'")
        self.take("<", what="'<'")
        dist, partial, mem = [], [], None
        if self.peek("R") or self.peek("S"):
            dist.append(self.dist())
            while self.peek(","):
                self.take(",")
                dist.append(self.dist())
        if self.peek("|"):
            self.take("|")
            partial.append(self.partial_elem())
            while self.peek(","):
                self.take(",")
                partial.append(self.partial_elem())
        if self.peek(";"):
            self.take(";")
            mem = self.mem()
        self.take(">", what="'>'")
        return TensorLayout(tuple(dist), mem, tuple(partial))


# --------------------------------------------------------------------------- checks


def tensor_layout_join(a: TensorLayout, b: TensorLayout, names=("a", "b"),
                       loc: SourceLoc | None = None) -> TensorLayout:
    """Dato join for elementwise use: ``R+R=R``, ``R+S(i)=S(i)``, ``S(i)+S(i)=S(i)``,
    ``S(i)+S(j)`` is an error. Partial axes must agree (the kernel is taken to be linear in
    them). The memory facet is kept only when both sides agree."""
    na, nb = names
    loc = loc if loc is not None else user_location()
    if a.rank != b.rank:
        raise _error(f"cannot join layouts of rank {a.rank} ({na}) and {b.rank} ({nb})",
                     "elementwise operands need the same rank", loc)
    if a.partial != b.partial:
        p = a.partial or b.partial
        who = na if a.partial else nb
        raise _error(f"{na} is {a} but {nb} is {b}: partial values cannot be mixed with complete ones",
                     f"reduce first: allreduce({who}, mesh_axis={p[0].mesh_axis}, op=\"{p[0].op}\")", loc)
    out = []
    for d, (x, y) in enumerate(zip(a.dist, b.dist)):
        if isinstance(x, TensorShard) and isinstance(y, TensorShard) and x != y:
            raise _error(
                f"layout mismatch on dim {d}: {na} is {a}, {nb} is {b} ({x} vs {y})",
                f"redistribute one operand explicitly, e.g. relayout({nb}, to={a.replace(mem=b.mem)}) or "
                f"allgather({nb}, dim={d}, mesh_axis={y.mesh_axis}) to replicate it", loc)
        out.append(x if isinstance(x, TensorShard) else y)
    try:
        joined = TensorLayout(tuple(out), a.mem if a.mem == b.mem else None, a.partial)
    except TypeCheckError as e:
        raise _error(f"{na} is {a} and {nb} is {b}: their join is invalid ({e.message})",
                     f"relayout({nb}, to={a.replace(mem=b.mem)}) so both use the same mesh axes",
                     loc) from None
    return joined


def check_layouts_compatible(a, b) -> TensorLayout | None:
    """The join of two layouts, or of two tensors' ``.layout`` (a tensor without one is
    replicated), or None when they need an explicit ``relayout``/collective first."""
    def as_layout(x):
        if isinstance(x, TensorLayout):
            return x
        lay = getattr(x, "layout", None)
        return lay if lay is not None else TensorLayout.default(len(x.shape))

    try:
        return tensor_layout_join(as_layout(a), as_layout(b))
    except TypeCheckError:
        return None


def check_mesh(layout: TensorLayout, shape, grid, loc: SourceLoc | None = None) -> None:
    """Check ``layout`` against the ``spatial_map(grid=...)`` mesh: every shard / partial mesh
    axis exists, and every sharded dimension is divisible by the mesh size on its axis.
    Non-int (dynamic) extents in ``shape`` are skipped."""
    loc = loc if loc is not None else user_location()
    shape, grid = tuple(shape), tuple(grid)
    if len(shape) != layout.rank:
        raise _error(f"layout {layout} has rank {layout.rank} but the tensor shape is {shape}",
                     "give one distribution element per dimension", loc)
    axes = [(d, x.mesh_axis) for d, x in enumerate(layout.dist) if isinstance(x, TensorShard)]
    axes += [(None, p.mesh_axis) for p in layout.partial]
    for d, k in axes:
        if k >= len(grid):
            raise _error(f"layout {layout} uses mesh axis {k} but the mesh grid {grid} has "
                         f"{len(grid)} axes", f"use a mesh axis below {len(grid)}, or "
                         f"spatial_map(grid=...) with at least {k + 1} axes", loc)
        if d is not None and _is_int(shape[d]) and shape[d] % grid[k]:
            raise _error(f"dim {d} of extent {shape[d]} is sharded on mesh axis {k} of size {grid[k]}, "
                         "which does not divide it", f"pad dim {d} to a multiple of {grid[k]} or "
                         "keep it replicated (R)", loc)


# --------------------------------------------------------------------------- collectives


def relayout_layout(x: TensorLayout, to: TensorLayout, loc: SourceLoc | None = None) -> TensorLayout:
    """Result layout of ``relayout(x, to=...)``: any complete layout to any other of the same
    rank (slicing, gathering or all-to-all, plus a memory reorder)."""
    loc = loc if loc is not None else user_location()
    if x.rank != to.rank:
        raise _error(f"relayout cannot change the rank: {x} -> {to}", "keep the tensor's rank", loc)
    if x.partial or to.partial:
        p = (x.partial or to.partial)[0]
        raise _error(f"relayout moves complete values only ({x} -> {to})",
                     f"reduce partial values with allreduce(x, mesh_axis={p.mesh_axis}, op=\"{p.op}\") "
                     "or reduce_scatter(...)", loc)
    return to


def _check_axis(x: TensorLayout, mesh_axis: int, op: str, name: str, loc) -> TensorPartial:
    p = x.partial_on(mesh_axis)
    if p is None:
        raise _error(f"{name} needs a partial value on mesh axis {mesh_axis}, but the input is {x}",
                     f"{name} reduces a P({mesh_axis},{op}) tensor; a complete tensor needs no reduction"
                     + (f" (its partial axes: {', '.join(map(str, x.partial))})" if x.partial else ""), loc)
    if p.op != op:
        raise _error(f"{name} with op=\"{op}\" on a {p} tensor", f"use op=\"{p.op}\"", loc)
    return p


def allreduce_layout(x: TensorLayout, mesh_axis: int = 0, op: str = "sum",
                     loc: SourceLoc | None = None) -> TensorLayout:
    """``P(k,op)`` -> complete (replicated along mesh axis ``k``)."""
    loc = loc if loc is not None else user_location()
    p = _check_axis(x, mesh_axis, op, "allreduce", loc)
    return x.replace(partial=tuple(q for q in x.partial if q != p))


def allgather_layout(x: TensorLayout, dim: int, mesh_axis: int = 0,
                     loc: SourceLoc | None = None) -> TensorLayout:
    """``S(k)`` on ``dim`` -> ``R``."""
    loc = loc if loc is not None else user_location()
    if not 0 <= dim < x.rank:
        raise _error(f"allgather dim {dim} is out of range for {x}", f"use a dim below {x.rank}", loc)
    d = x.dist[dim]
    if d != TensorShard(mesh_axis):
        where = x.shard_dim(mesh_axis)
        if where is not None:
            hint = f"mesh axis {mesh_axis} shards dim {where}: use dim={where}"
        elif isinstance(d, TensorShard):
            hint = f"dim {dim} is sharded on mesh axis {d.mesh_axis}: use mesh_axis={d.mesh_axis}"
        else:
            hint = "nothing to gather: the dimension is already replicated; drop the allgather"
        raise _error(f"allgather(dim={dim}, mesh_axis={mesh_axis}) needs dim {dim} sharded as "
                     f"S({mesh_axis}), but the input is {x} (dim {dim} is {d})", hint, loc)
    return x.replace(dist=x.dist[:dim] + (TensorReplicate(),) + x.dist[dim + 1:])


def reduce_scatter_layout(x: TensorLayout, dim: int, mesh_axis: int = 0, op: str = "sum",
                          loc: SourceLoc | None = None) -> TensorLayout:
    """``P(k,op)`` with ``dim`` replicated -> ``S(k)`` on ``dim``, complete."""
    loc = loc if loc is not None else user_location()
    if not 0 <= dim < x.rank:
        raise _error(f"reduce_scatter dim {dim} is out of range for {x}", f"use a dim below {x.rank}", loc)
    p = _check_axis(x, mesh_axis, op, "reduce_scatter", loc)
    if x.dist[dim] != TensorReplicate():
        raise _error(f"reduce_scatter would shard dim {dim}, but it is already {x.dist[dim]} in {x}",
                     "scatter onto a replicated dimension, or allreduce instead", loc)
    return TensorLayout(x.dist[:dim] + (TensorShard(mesh_axis),) + x.dist[dim + 1:], x.mem,
                        tuple(q for q in x.partial if q != p))

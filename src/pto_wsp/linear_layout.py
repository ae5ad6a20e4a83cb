"""Linear layouts over F2 (Triton's formalism, arXiv:2505.23819).

A :class:`LinearLayout` is a linear map over F2 between named, power-of-two sized input and
output dimensions. It is given by one *basis* per input bit: the output coordinates that bit
maps to. Applying it XORs the bases of the set input bits::

    L(x) = XOR over input bits b set in x of  basis[b]

Flattening convention (used by ``apply_index``, ``matrix`` and reshape): dimensions are
row-major, the **last** dimension is the least significant, as in numpy.

Factories map *logical* coordinates to *physical* ones: ``row_major`` maps tensor dims
``dim0, dim1, ...`` to a memory ``offset``; ``blocked``/``strided`` map an ``offset`` (an
element's position in a flat tensor) to a ``(thread, register)`` pair. ``compose`` chains
them (``a.compose(b)`` is ``b(a(x))``), ``inverse`` turns them around.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pto_wsp.errors import TypeCheckError, user_location
from pto_wsp.layout import MemLayout, TensorLayout, TensorReplicate, TensorShard, check_mesh

__all__ = [
    "LinearLayout", "f2_dot", "f2_matmul", "f2_rank",
    "propagate_transpose", "propagate_reshape", "propagate_broadcast",
    "compute_swizzle", "bank_conflicts",
]


def _error(message: str, hint: str | None = None) -> TypeCheckError:
    return TypeCheckError(message, user_location(), hint)


def _log2(n: int, what: str) -> int:
    if not isinstance(n, (int, np.integer)) or n < 1 or n & (n - 1):
        raise _error(f"{what} must be a power of two, got {n!r}",
                     "linear layouts over F2 need power-of-two sizes; pad the shape")
    return int(n).bit_length() - 1


# --------------------------------------------------------------------------- F2 helpers


def f2_dot(a, b) -> int:
    """Dot product over F2: parity of the AND. ``a``/``b`` are ints (bit vectors) or 0/1
    sequences of equal length."""
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return bin(int(a) & int(b)).count("1") & 1
    return int(np.bitwise_and(np.asarray(a, dtype=np.uint8), np.asarray(b, dtype=np.uint8)).sum() & 1)


def f2_matmul(a, b) -> np.ndarray:
    """Matrix product over F2 of 0/1 matrices (numpy uint8 result)."""
    a = np.asarray(a, dtype=np.int64) & 1
    b = np.asarray(b, dtype=np.int64) & 1
    return ((a @ b) & 1).astype(np.uint8)


def f2_rank(a) -> int:
    """Rank over F2 of a 0/1 matrix (numpy array or nested sequences)."""
    a = np.asarray(a, dtype=np.uint8) & 1
    if a.ndim != 2:
        raise _error(f"f2_rank needs a 2-D matrix, got shape {a.shape}")
    return len(_Basis.of(sum(int(b) << r for r, b in enumerate(col)) for col in a.T))


class _Basis:
    """An F2 row-echelon basis of int bit vectors that remembers, for every stored vector,
    which input combination (``tag`` bit set) produced it."""

    def __init__(self):
        self.rows: dict[int, tuple[int, int]] = {}  # leading bit -> (vector, tag)

    @staticmethod
    def of(vectors) -> _Basis:
        basis = _Basis()
        for v in vectors:
            basis.add(v)
        return basis

    def __len__(self) -> int:
        return len(self.rows)

    def reduce(self, v: int, tag: int = 0) -> tuple[int, int]:
        while v:
            lead = v.bit_length() - 1
            if lead not in self.rows:
                break
            bv, bt = self.rows[lead]
            v, tag = v ^ bv, tag ^ bt
        return v, tag

    def add(self, v: int, tag: int = 0) -> bool:
        """Insert ``v``; False if it is already in the span."""
        v, tag = self.reduce(v, tag)
        if v == 0:
            return False
        self.rows[v.bit_length() - 1] = (v, tag)
        return True

    def contains(self, v: int) -> bool:
        return self.reduce(v)[0] == 0

    def solve(self, v: int) -> int | None:
        """The tag combination whose vectors XOR to ``v`` (None if ``v`` is not spanned)."""
        rest, tag = self.reduce(v)
        return None if rest else tag


# --------------------------------------------------------------------------- the layout


def _dims(dims) -> tuple[tuple[str, int], ...]:
    items = dims.items() if isinstance(dims, dict) else dims
    out = tuple((str(n), int(s)) for n, s in items)
    if len({n for n, _ in out}) != len(out):
        raise _error(f"duplicate dimension names in {out}")
    for n, s in out:
        _log2(s, f"size of dimension '{n}'")
    return out


def _tensor_dims(shape) -> tuple[tuple[str, int], ...]:
    return tuple((f"dim{i}", s) for i, s in enumerate(shape))


def _shape_args(shape) -> tuple[int, ...]:
    """Accept ``f(64, 64)`` and ``f([64, 64])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@dataclass(frozen=True)
class LinearLayout:
    """A linear map over F2 between named power-of-two dimensions.

    ``bases[i]`` is ``(in_name, ((c_0, ..., c_k), ...))``: for each bit of input dimension
    ``in_name`` (least significant first) the coordinates it maps to, one per output
    dimension of ``out_dims`` (``(name, size)`` pairs). Input sizes are ``2**len(bits)``.
    """

    bases: tuple[tuple[str, tuple[tuple[int, ...], ...]], ...]
    out_dims: tuple[tuple[str, int], ...]

    def __post_init__(self):
        items = self.bases.items() if isinstance(self.bases, dict) else self.bases
        bases = tuple((str(n), tuple(tuple(int(c) for c in _as_coords(v)) for v in bits))
                      for n, bits in items)
        out = _dims(self.out_dims)
        if len({n for n, _ in bases}) != len(bases):
            raise _error(f"duplicate input dimension names in {[n for n, _ in bases]}")
        for name, bits in bases:
            for v in bits:
                if len(v) != len(out) or any(not 0 <= c < s for c, (_, s) in zip(v, out)):
                    raise _error(f"basis {v} of input '{name}' does not fit the outputs {out}",
                                 "give one coordinate per output dimension, below its size")
        object.__setattr__(self, "bases", bases)
        object.__setattr__(self, "out_dims", out)

    # -- construction ------------------------------------------------------------------
    @staticmethod
    def from_columns(in_dims, out_dims, columns) -> LinearLayout:
        """From flat output ints, one per flat input bit (flattening convention above)."""
        in_dims, out_dims = _dims(in_dims), _dims(out_dims)
        out_bits = [_log2(s, n) for n, s in out_dims]
        per_dim, pos = {}, 0
        for name, size in reversed(in_dims):
            k = _log2(size, name)
            per_dim[name] = tuple(_unflatten(c, out_bits) for c in columns[pos:pos + k])
            pos += k
        if pos != len(columns):
            raise _error(f"{len(columns)} columns for {pos} input bits")
        return LinearLayout(tuple((n, per_dim[n]) for n, _ in in_dims), out_dims)

    @staticmethod
    def from_matrix(matrix, in_dims, out_dims) -> LinearLayout:
        """From a 0/1 matrix of shape ``(out_bits, in_bits)`` (bit 0 = row/column 0)."""
        m = np.asarray(matrix, dtype=np.int64) & 1
        cols = [int(sum(int(b) << r for r, b in enumerate(m[:, j]))) for j in range(m.shape[1])]
        return LinearLayout.from_columns(in_dims, out_dims, cols)

    @staticmethod
    def identity(bits: int, in_dim: str = "offset", out_dim: str | None = None) -> LinearLayout:
        """The identity on a ``2**bits`` sized dimension."""
        out_dim = out_dim or in_dim
        return LinearLayout(((in_dim, tuple((1 << k,) for k in range(bits))),), ((out_dim, 1 << bits),))

    @staticmethod
    def row_major(*shape) -> LinearLayout:
        """``dim0, dim1, ...`` -> ``offset``, last dimension contiguous."""
        return LinearLayout.from_mem_layout(MemLayout.row_major(_shape_args(shape)))

    @staticmethod
    def col_major(*shape) -> LinearLayout:
        """``dim0, dim1, ...`` -> ``offset``, first dimension contiguous."""
        return LinearLayout.from_mem_layout(MemLayout.col_major(_shape_args(shape)))

    @staticmethod
    def from_strides(shape, strides) -> LinearLayout:
        """``dim*`` -> ``offset`` for element strides whose bit fields do not overlap."""
        return LinearLayout.from_mem_layout(MemLayout.strided(shape, strides))

    @staticmethod
    def blocked(total_elements: int, num_threads: int, block_size: int) -> LinearLayout:
        """``offset`` -> ``(thread, register)``: runs of ``block_size`` consecutive elements go
        to consecutive threads, wrapping around into further registers."""
        t = _log2(total_elements, "total_elements")
        th = _log2(num_threads, "num_threads")
        bl = _log2(block_size, "block_size")
        if th + bl > t:
            raise _error(f"{num_threads} threads x {block_size} elements exceed {total_elements}",
                         "use fewer threads or a smaller block")
        regs = 1 << (t - th)
        bits = [(0, 1 << k) for k in range(bl)]
        bits += [(1 << k, 0) for k in range(th)]
        bits += [(0, 1 << k) for k in range(bl, t - th)]
        return LinearLayout((("offset", tuple(bits)),), (("thread", num_threads), ("register", regs)))

    @staticmethod
    def strided(total_elements: int, num_threads: int) -> LinearLayout:
        """``offset`` -> ``(thread, register)``: element ``e`` goes to thread ``e % num_threads``."""
        return LinearLayout.blocked(total_elements, num_threads, 1)

    @staticmethod
    def from_mem_layout(mem: MemLayout) -> LinearLayout:
        """``dim*`` -> ``offset`` for a power-of-two :class:`MemLayout` that is F2-linear
        (its per-bit offsets have disjoint bits, so sums equal XORs)."""
        for s in mem.shape:
            _log2(s, f"extent {s} of {mem}")
        bases, seen = [], 0
        for d, size in enumerate(mem.shape):
            bits = []
            for k in range(_log2(size, "extent")):
                idx = [0] * mem.rank
                idx[d] = 1 << k
                off = mem.offset(idx)
                if off & seen:
                    raise _error(f"memory layout {mem} is not linear over F2 (offsets of different "
                                 "index bits overlap)", "use power-of-two strides with disjoint bits")
                seen |= off
                bits.append((off,))
            bases.append((f"dim{d}", tuple(bits)))
        return LinearLayout(tuple(bases), (("offset", 1 << max(mem.cosize - 1, 0).bit_length()),))

    @staticmethod
    def from_tensor_layout(layout: TensorLayout, shape, grid) -> LinearLayout:
        """Hardware -> logical map of a distribution: inputs ``mesh0..mesh{G-1}`` (device
        coordinates) and ``offset`` (row-major position inside the local shard), outputs
        ``dim0..``. Replicated mesh axes map to zero (every device holds the same data).
        The memory facet is not part of it (see ``from_mem_layout``)."""
        shape, grid = tuple(shape), tuple(grid)
        check_mesh(layout, shape, grid)
        if layout.partial:
            raise _error(f"{layout} holds partial values, which a linear layout cannot describe",
                         "allreduce it first")
        local = list(shape)
        for d, x in enumerate(layout.dist):
            if isinstance(x, TensorShard):
                local[d] //= grid[x.mesh_axis]
        for d, s in enumerate(shape):
            _log2(s, f"extent of dim {d}")
        bases = []
        for k, g in enumerate(grid):
            d = layout.shard_dim(k)
            bits = tuple(_unit(len(shape), d, local[d] << j) if d is not None else (0,) * len(shape)
                         for j in range(_log2(g, f"mesh size on axis {k}")))
            bases.append((f"mesh{k}", bits))
        offset = []
        for d in reversed(range(len(shape))):
            offset += [_unit(len(shape), d, 1 << j) for j in range(_log2(local[d], "shard extent"))]
        bases.append(("offset", tuple(offset)))
        return LinearLayout(tuple(bases), _tensor_dims(shape))

    def to_tensor_layout(self) -> TensorLayout:
        """Inverse of ``from_tensor_layout``: read the distribution off the ``mesh*`` inputs
        (each must be zero or the top bits of one output dimension, a block distribution)."""
        dist: list = [TensorReplicate()] * len(self.out_dims)
        for name, bits in self.bases:
            if not name.startswith("mesh") or not bits or all(not any(v) for v in bits):
                continue
            dims = {d for v in bits for d, c in enumerate(v) if c}
            d = dims.pop() if len(dims) == 1 else None
            size = self.out_dims[d][1] if d is not None else 0
            start = size >> len(bits)
            if d is None or any(v[d] != start << j for j, v in enumerate(bits)) or \
                    isinstance(dist[d], TensorShard):
                raise _error(f"input '{name}' of {self} is not a block distribution of one dimension",
                             "only block shards (S(k)) and replication (R) are TensorLayouts")
            dist[d] = TensorShard(int(name[4:]))
        if not self.is_surjective:
            raise _error(f"{self} does not cover every tensor element", "it is not a distribution")
        return TensorLayout(tuple(dist))

    def to_mem_layout(self) -> MemLayout:
        """Back to a strided/tiled :class:`MemLayout` (single ``offset`` output, bases with
        disjoint bits). A swizzle (XOR of index bits) has no MemLayout form."""
        if len(self.out_dims) != 1:
            raise _error(f"{self} has {len(self.out_dims)} outputs; a memory layout has one offset")
        seen, modes = 0, []
        for name, bits in self.bases:
            m: list[tuple[int, int]] = []
            for k, (off,) in enumerate(bits):
                if off & seen:
                    raise _error(f"{self} is a swizzle (input bits share offset bits): it has no "
                                 "MemLayout form", "keep it as a LinearLayout")
                seen |= off
                if m and m[-1][1] * m[-1][0] == off and off:
                    m[-1] = (m[-1][0] * 2, m[-1][1])
                else:
                    m.append((2, off))
            modes.append(tuple(m))
        return MemLayout(tuple(1 << len(b) for _, b in self.bases), tuple(modes))

    # -- queries -------------------------------------------------------------------------
    @property
    def in_dims(self) -> tuple[tuple[str, int], ...]:
        return tuple((n, 1 << len(b)) for n, b in self.bases)

    @property
    def in_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.bases)

    @property
    def out_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.out_dims)

    @property
    def in_bits(self) -> int:
        return sum(len(b) for _, b in self.bases)

    @property
    def out_bits(self) -> int:
        return sum(_log2(s, n) for n, s in self.out_dims)

    def _out_bit_widths(self) -> list[int]:
        return [_log2(s, n) for n, s in self.out_dims]

    def columns(self) -> list[int]:
        """Flat output int of every flat input bit (least significant first)."""
        widths = self._out_bit_widths()
        return [_flatten(v, widths) for _, bits in reversed(self.bases) for v in bits]

    def matrix(self) -> np.ndarray:
        """The ``(out_bits, in_bits)`` 0/1 matrix."""
        cols = self.columns()
        return np.array([[(c >> r) & 1 for c in cols] for r in range(self.out_bits)],
                        dtype=np.uint8).reshape(self.out_bits, len(cols))

    @property
    def rank(self) -> int:
        """Rank of the matrix over F2."""
        return len(_Basis.of(self.columns()))

    @property
    def is_injective(self) -> bool:
        return self.rank == self.in_bits

    @property
    def is_surjective(self) -> bool:
        return self.rank == self.out_bits

    # -- application ---------------------------------------------------------------------
    def apply(self, coords):
        """Map input coordinates (a dict by name, or a tuple in ``in_names`` order) to output
        coordinates of the same kind."""
        if isinstance(coords, dict):
            if set(coords) != set(self.in_names):
                raise _error(f"apply needs coordinates for {list(self.in_names)}, got {list(coords)}")
            values = [coords[n] for n in self.in_names]
        else:
            values = list(coords)
            if len(values) != len(self.bases):
                raise _error(f"apply needs {len(self.bases)} coordinates, got {len(values)}")
        out = [0] * len(self.out_dims)
        for (name, bits), x in zip(self.bases, values):
            if not 0 <= x < (1 << len(bits)):
                raise _error(f"coordinate {x} is out of range for '{name}' of size {1 << len(bits)}")
            for k, v in enumerate(bits):
                if (x >> k) & 1:
                    out = [a ^ b for a, b in zip(out, v)]
        return dict(zip(self.out_names, out)) if isinstance(coords, dict) else tuple(out)

    def apply_index(self, index: int) -> int:
        """Map a flat input index to a flat output index."""
        if not 0 <= index < (1 << self.in_bits):
            raise _error(f"index {index} is out of range for {1 << self.in_bits} inputs")
        out = 0
        for k, c in enumerate(self.columns()):
            if (index >> k) & 1:
                out ^= c
        return out

    # -- algebra -------------------------------------------------------------------------
    def compose(self, outer: LinearLayout) -> LinearLayout:
        """``outer`` after ``self``: ``self.compose(outer).apply(x) == outer.apply(self.apply(x))``.
        ``self``'s outputs must be ``outer``'s inputs (same names and order, sizes fitting)."""
        if self.out_names != outer.in_names or any(
                s > t for (_, s), (_, t) in zip(self.out_dims, outer.in_dims)):
            raise _error(f"cannot compose: outputs {self.out_dims} do not feed inputs {outer.in_dims}",
                         "the first layout's outputs must be the second's inputs "
                         "(rename with transpose_dims or build matching dims)")
        return LinearLayout(tuple((n, tuple(outer.apply(v) for v in bits)) for n, bits in self.bases),
                            outer.out_dims)

    def inverse(self) -> LinearLayout:
        """The inverse map (outputs become inputs). Needs a bijection."""
        if self.in_bits != self.out_bits or not self.is_injective:
            raise _error(f"{self} is not invertible (rank {self.rank}, {self.in_bits} input bits, "
                         f"{self.out_bits} output bits)",
                         "only bijective layouts have an inverse; check is_injective/is_surjective")
        basis = _Basis()
        for k, c in enumerate(self.columns()):
            basis.add(c, 1 << k)
        return LinearLayout.from_columns(self.out_dims, self.in_dims,
                                         [basis.solve(1 << r) for r in range(self.out_bits)])

    def transpose_dims(self, perm) -> LinearLayout:
        """Reorder the input dimensions (by position or name); the map itself is unchanged."""
        names = [self.in_names[p] if isinstance(p, int) else p for p in perm]
        if sorted(names) != sorted(self.in_names):
            raise _error(f"{list(perm)} is not a permutation of the inputs {list(self.in_names)}")
        by_name = dict(self.bases)
        return LinearLayout(tuple((n, by_name[n]) for n in names), self.out_dims)

    def __str__(self) -> str:
        ins = ", ".join(f"{n}: {list(map(list, b)) if len(self.out_dims) > 1 else [v[0] for v in b]}"
                        for n, b in self.bases)
        outs = ", ".join(f"{n}[{s}]" for n, s in self.out_dims)
        return f"LinearLayout({ins} -> {outs})"


def _as_coords(v):
    return (v,) if isinstance(v, (int, np.integer)) else v


def _unit(rank: int, d: int, value: int) -> tuple[int, ...]:
    return tuple(value if i == d else 0 for i in range(rank))


def _flatten(coords, widths) -> int:
    out, shift = 0, 0
    for c, w in zip(reversed(coords), reversed(widths)):
        out |= c << shift
        shift += w
    return out


def _unflatten(flat: int, widths) -> tuple[int, ...]:
    out = []
    for w in reversed(widths):
        out.append(flat & ((1 << w) - 1))
        flat >>= w
    return tuple(reversed(out))


# --------------------------------------------------------------------------- propagation


def _tensor_inputs(layout: LinearLayout, shape) -> None:
    if tuple(s for _, s in layout.in_dims) != tuple(shape):
        raise _error(f"layout inputs {layout.in_dims} do not have the tensor shape {tuple(shape)}",
                     "propagation works on layouts whose inputs are the tensor dims dim0, dim1, ...")


def propagate_transpose(layout: LinearLayout, perm) -> LinearLayout:
    """Layout of ``x.transpose(perm)`` (numpy semantics) from the layout of ``x``; inputs
    are renamed ``dim0..``."""
    perm = tuple(perm)
    if sorted(perm) != list(range(len(layout.bases))):
        raise _error(f"{perm} is not a permutation of {len(layout.bases)} dimensions")
    moved = layout.transpose_dims(perm)
    return LinearLayout(tuple((f"dim{i}", b) for i, (_, b) in enumerate(moved.bases)), layout.out_dims)


def propagate_reshape(layout: LinearLayout, old_shape, new_shape) -> LinearLayout:
    """Layout of ``x.reshape(new_shape)`` (row-major) from the layout of ``x``."""
    old_shape, new_shape = tuple(old_shape), tuple(new_shape)
    _tensor_inputs(layout, old_shape)
    if math.prod(old_shape) != math.prod(new_shape):
        raise _error(f"cannot reshape {old_shape} to {new_shape}: sizes differ")
    for s in new_shape:
        _log2(s, f"extent {s} of {new_shape}")
    return LinearLayout.from_columns(_tensor_dims(new_shape), layout.out_dims, layout.columns())


def propagate_broadcast(layout: LinearLayout, dim: int, size: int | None = None) -> LinearLayout:
    """Layout of ``np.broadcast_to`` expanding size-1 dimension ``dim`` to ``size``: the new
    index bits map to zero (every broadcast copy reads the same element). Without ``size``,
    the layout of ``np.expand_dims(x, dim)``: a new size-1 dimension at ``dim`` (inputs are
    renamed ``dim0..``), which a broadcast with a size then expands."""
    if size is None:
        if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim <= len(layout.bases):
            raise _error(f"cannot insert dimension {dim} into {layout.in_dims}",
                         f"dim must be in [0, {len(layout.bases)}]")
        bases = list(layout.bases)
        bases.insert(dim, ("", ()))
        return LinearLayout(tuple((f"dim{i}", b) for i, (_, b) in enumerate(bases)),
                            layout.out_dims)
    if not 0 <= dim < len(layout.bases) or layout.bases[dim][1]:
        raise _error(f"dimension {dim} of {layout.in_dims} is not of size 1",
                     "only size-1 dimensions broadcast")
    zero = (0,) * len(layout.out_dims)
    bases = list(layout.bases)
    bases[dim] = (bases[dim][0], (zero,) * _log2(size, "broadcast size"))
    return LinearLayout(tuple(bases), layout.out_dims)


# --------------------------------------------------------------------------- swizzling


def _hardware_to_logical(layout: LinearLayout, thread_dim: str) -> LinearLayout:
    if thread_dim in layout.in_names:
        return layout
    if thread_dim in layout.out_names:
        return layout.inverse()
    raise _error(f"{layout} has no '{thread_dim}' dimension",
                 "pass thread_dim= naming the dimension of simultaneously accessing threads")


def _logical_bases(hw: LinearLayout, name: str) -> list[int]:
    widths = hw._out_bit_widths()
    return [_flatten(v, widths) for v in dict(hw.bases).get(name, ())]


def _access_parts(layout, thread_dim, register_dim):
    hw = _hardware_to_logical(layout, thread_dim)
    if not hw.is_injective:
        raise _error(f"access layout {layout} maps two hardware slots to one element",
                     "give a bijective distribution")
    return hw, _logical_bases(hw, thread_dim), _logical_bases(hw, register_dim)


def compute_swizzle(layout: LinearLayout, bank_bits: int, vector_bits: int, *,
                    other: LinearLayout | None = None, thread_dim: str = "thread",
                    register_dim: str = "register") -> LinearLayout:
    """The paper's optimal swizzled memory layout for a distributed access ``layout``.

    ``layout`` relates logical tensor coordinates and hardware ``(thread, register, ...)``
    coordinates (either direction; it must be bijective). ``other`` is an optional second
    access of the same tensor (e.g. the write and the read of a transpose); its first
    ``vector_bits`` registers must be the same elements in the same order. Memory has
    ``2**bank_bits`` banks, each serving one vector of ``2**vector_bits`` elements per access:
    ``bank = (offset >> vector_bits) % 2**bank_bits``.

    Returns a bijection ``logical dims -> offset`` whose offset bits are, from the bottom:
    the first ``vector_bits`` register bases (each thread's vector stays contiguous), bank
    bits, and row bits. The row bits are chosen to avoid the span of the threads of each
    access (first from outside both spans, then sums ``p_i + q_i`` pairing the parts of the
    two thread spans beyond their intersection), so threads of one access land in distinct
    banks whenever that is possible.
    """
    hw, lanes_a, regs = _access_parts(layout, thread_dim, register_dim)
    n = hw.out_bits
    if hw.in_bits != n:
        raise _error(f"access layout {layout} is not a bijection", "give a bijective distribution")
    if vector_bits > len(regs):
        raise _error(f"vector_bits={vector_bits} but a thread holds only {1 << len(regs)} registers",
                     f"use vector_bits <= {len(regs)}")
    vec = regs[:vector_bits]
    # Every other hardware basis must land on vector-aligned offsets, so all bank and row
    # bases are taken in W = span(the access's non-vector bases), a complement of span(vec).
    rest = [b for name in hw.in_names for b in _logical_bases(hw, name)[
        vector_bits if name == register_dim else 0:]]
    project = _projector(vec, rest)
    lanes_b: list[int] = []
    if other is not None:
        hw_b, lanes_b, regs_b = _access_parts(other, thread_dim, register_dim)
        if hw_b.out_dims != hw.out_dims:
            raise _error(f"the two accesses cover different tensors: {hw.out_dims} vs {hw_b.out_dims}")
        rest_b = [b for name in hw_b.in_names for b in _logical_bases(hw_b, name)[
            vector_bits if name == register_dim else 0:]]
        if regs_b[:vector_bits] != vec or any(project(b) != b for b in rest_b):
            raise _error("the two accesses do not share the same contiguous vectors",
                         "lower vector_bits so both keep the same contiguous vectors")
    p = [x for x in map(project, lanes_a) if x]
    q = [x for x in map(project, lanes_b) if x]
    common = _intersection(p, q)
    p_ext = _extend(common, p)
    q_ext = _extend(common, q)

    rows_needed = max(n - vector_bits - bank_bits, 0)
    both = _Basis.of(vec + p + q)
    units = [project(1 << j) for j in reversed(range(n))]
    outside = [u for u in units if both.add(u)]
    pairs = [a ^ b for a, b in zip(p_ext, q_ext)]
    fallback = q_ext[len(pairs):] + p_ext[len(pairs):] + q_ext + p_ext + common + units
    span = _Basis.of(vec)
    rows = _pick(span, outside + pairs + fallback, rows_needed)
    banks = _pick(span, common + p_ext + q_ext + units, n - vector_bits - rows_needed)
    storage = LinearLayout.from_columns((("offset", 1 << n),), hw.out_dims, vec + banks + rows)
    return storage.inverse()


def _projector(vec: list[int], rest: list[int]):
    """Projection onto span(rest) along span(vec) (the two spans are complementary)."""
    basis = _Basis()
    for i, v in enumerate(vec + rest):
        basis.add(v, 1 << i)

    def project(x: int) -> int:
        tag, out = basis.solve(x) >> len(vec), 0
        for r in rest:
            if tag & 1:
                out ^= r
            tag >>= 1
        return out

    return project


def _pick(span: _Basis, candidates, count: int) -> list[int]:
    """Greedily take ``count`` candidates independent of ``span`` (which grows)."""
    chosen = []
    for c in candidates:
        if len(chosen) == count:
            break
        if span.add(c):
            chosen.append(c)
    return chosen


def _intersection(p: list[int], q: list[int]) -> list[int]:
    """A basis of span(p) ∩ span(q), by enumerating span(q) (thread spans are small)."""
    pb, found = _Basis.of(p), _Basis()
    return [x for x in _span(q) if x and pb.contains(x) and found.add(x)]


def _span(vectors: list[int]):
    basis = [v for v in vectors if v]
    for mask in range(1 << len(basis)):
        acc = 0
        for i, v in enumerate(basis):
            if (mask >> i) & 1:
                acc ^= v
        yield acc


def _extend(base: list[int], vectors: list[int]) -> list[int]:
    span = _Basis.of(base)
    return [v for v in vectors if span.add(v)]


def bank_conflicts(mem: LinearLayout, access: LinearLayout, bank_bits: int, vector_bits: int, *,
                   thread_dim: str = "thread", register_dim: str = "register") -> int:
    """Exhaustive count of extra wavefronts when ``access`` reads/writes memory laid out by
    ``mem`` (logical dims -> ``offset``). One access instruction fixes every hardware
    coordinate except the threads and the low ``vector_bits`` register bits; each thread
    touches the words ``offset >> vector_bits`` of its vector; the instruction takes as many
    wavefronts as the most distinct words any one bank is asked for. Returns the sum over
    instructions of ``wavefronts - 1``."""
    hw, _, _ = _access_parts(access, thread_dim, register_dim)
    if mem.in_dims != hw.out_dims:
        raise _error(f"memory layout inputs {mem.in_dims} are not the access's tensor dims {hw.out_dims}")
    phys = hw.compose(mem)
    widths = {n: _log2(s, n) for n, s in phys.in_dims}
    names = phys.in_names
    shifts, acc = {}, 0
    for name in reversed(names):
        shifts[name] = acc
        acc += widths[name]
    if vector_bits > widths.get(register_dim, 0):
        raise _error(f"vector_bits={vector_bits} but a thread holds only "
                     f"{1 << widths.get(register_dim, 0)} '{register_dim}' values",
                     f"use vector_bits <= {widths.get(register_dim, 0)}")
    cols = phys.columns()
    lane_mask = ((1 << widths.get(thread_dim, 0)) - 1) << shifts.get(thread_dim, 0)
    vec_mask = ((1 << vector_bits) - 1) << shifts.get(register_dim, 0)
    inner = lane_mask | vec_mask
    offsets = np.zeros(1 << phys.in_bits, dtype=np.int64)
    idx = np.arange(1 << phys.in_bits, dtype=np.int64)
    for k, c in enumerate(cols):
        offsets ^= ((idx >> k) & 1) * c
    words = offsets >> vector_bits
    bank = words & ((1 << bank_bits) - 1)
    instr = idx & ~inner
    extra = 0
    for i in np.unique(instr):
        sel = instr == i
        w, b = words[sel], bank[sel]
        distinct = np.unique(np.stack([b, w]), axis=1)
        extra += int(np.bincount(distinct[0]).max()) - 1
    return extra


LinearLayout.compute_swizzle = staticmethod(compute_swizzle)

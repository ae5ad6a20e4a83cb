"""LinearLayout over F2: algebra, factories, propagation vs numpy, conversions, swizzling."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pto_wsp.errors import TypeCheckError
from pto_wsp.layout import MemLayout, TensorLayout, TensorReplicate, TensorShard
from pto_wsp.linear_layout import (
    LinearLayout, bank_conflicts, compute_swizzle, f2_dot, f2_matmul, f2_rank,
    propagate_broadcast, propagate_reshape, propagate_transpose,
)


def _layout(draw, in_bits, out_bits, in_names=None, out_names=None):
    in_names = in_names or [f"i{k}" for k in range(len(in_bits))]
    out_names = out_names or [f"o{k}" for k in range(len(out_bits))]
    bases = {n: [tuple(draw(st.integers(0, (1 << ob) - 1)) for ob in out_bits) for _ in range(b)]
             for n, b in zip(in_names, in_bits)}
    return LinearLayout(bases, {n: 1 << b for n, b in zip(out_names, out_bits)})


bit_lists = st.lists(st.integers(0, 3), min_size=1, max_size=3)


@st.composite
def chains(draw):
    """Three composable layouts a -> b -> c -> d."""
    dims = [draw(bit_lists) for _ in range(4)]
    names = [[f"d{j}_{k}" for k in range(len(d))] for j, d in enumerate(dims)]
    return [_layout(draw, dims[j], dims[j + 1], names[j], names[j + 1]) for j in range(3)]


def _all_inputs(layout):
    return itertools.product(*(range(s) for _, s in layout.in_dims))


@settings(max_examples=60)
@given(chains())
def test_compose_associative_and_apply(case):
    a, b, c = case
    assert a.compose(b).compose(c) == a.compose(b.compose(c))
    ab = a.compose(b)
    for x in _all_inputs(a):
        assert ab.apply(x) == b.apply(a.apply(x))
    assert np.array_equal(ab.matrix(), f2_matmul(b.matrix(), a.matrix()))


@st.composite
def bijections(draw):
    """A random invertible layout: a product of elementary row operations."""
    in_bits = draw(bit_lists)
    n = sum(in_bits)
    m = np.eye(n, dtype=np.uint8)
    for _ in range(draw(st.integers(0, 12))):
        if n < 2:
            break
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if i != j:
            m[i] ^= m[j]
    out_bits = draw(st.permutations(in_bits))
    ins = {f"i{k}": 1 << b for k, b in enumerate(in_bits)}
    outs = {f"o{k}": 1 << b for k, b in enumerate(out_bits)}
    return LinearLayout.from_matrix(m, ins, outs)


@settings(max_examples=60)
@given(bijections())
def test_inverse_round_trips(layout):
    inv = layout.inverse()
    assert layout.is_injective and layout.is_surjective and layout.rank == layout.in_bits
    for i in range(1 << layout.in_bits):
        assert inv.apply_index(layout.apply_index(i)) == i
    assert layout.compose(inv) == LinearLayout.from_columns(
        layout.in_dims, layout.in_dims, [1 << k for k in range(layout.in_bits)])
    assert inv.inverse() == layout


def test_apply_index_and_dict():
    L = LinearLayout.row_major(64, 64)
    assert L.apply_index(42) == 42 and L.apply((3, 5)) == (197,)
    assert L.apply({"dim0": 3, "dim1": 5}) == {"offset": 197}
    C = LinearLayout.col_major([32, 128])
    assert C.apply((3, 5)) == (5 * 32 + 3,)
    assert C.apply_index(3 * 128 + 5) == 5 * 32 + 3
    with pytest.raises(TypeCheckError, match="out of range"):
        L.apply((64, 0))
    with pytest.raises(TypeCheckError, match="coordinates for"):
        L.apply({"dim0": 1})


def test_blocked_and_strided():
    b = LinearLayout.blocked(total_elements=4096, num_threads=256, block_size=16)
    assert b.out_dims == (("thread", 256), ("register", 16))
    for e in (0, 42, 4095):
        assert b.apply((e,)) == ((e // 16) % 256, e % 16)
    b2 = LinearLayout.blocked(64, 4, 4)  # wraps: 4 threads x 4 elements, then more registers
    for e in range(64):
        assert b2.apply((e,)) == ((e // 4) % 4, e % 4 + 4 * (e // 16))
    s = LinearLayout.strided(total_elements=4096, num_threads=256)
    assert all(s.apply((e,)) == (e % 256, e // 256) for e in range(0, 4096, 97))
    assert b.is_injective and b.is_surjective
    composed = LinearLayout.row_major(64, 64).compose(b)
    assert composed.apply((1, 2)) == b.apply((66,))
    with pytest.raises(TypeCheckError, match="power of two"):
        LinearLayout.blocked(100, 4, 2)
    with pytest.raises(TypeCheckError, match="exceed"):
        LinearLayout.blocked(16, 8, 4)


def test_identity_rank_injectivity():
    ident = LinearLayout.identity(5)
    assert ident.apply_index(19) == 19 and ident.inverse() == ident
    proj = LinearLayout({"x": [(1,), (2,), (0,)]}, {"y": 4})
    assert proj.rank == 2 and not proj.is_injective and proj.is_surjective
    emb = LinearLayout({"x": [(1,), (4,)]}, {"y": 8})
    assert emb.is_injective and not emb.is_surjective
    with pytest.raises(TypeCheckError, match="not invertible"):
        proj.inverse()
    with pytest.raises(TypeCheckError, match="cannot compose"):
        emb.compose(emb)


def test_transpose_dims_keeps_the_map():
    L = LinearLayout.row_major(4, 8)
    T = L.transpose_dims([1, 0])
    assert T.in_names == ("dim1", "dim0")
    assert T.apply({"dim0": 3, "dim1": 5}) == L.apply({"dim0": 3, "dim1": 5})
    assert T.apply((5, 3)) == L.apply((3, 5))
    assert L.transpose_dims(["dim1", "dim0"]) == T
    with pytest.raises(TypeCheckError, match="not a permutation"):
        L.transpose_dims([0, 0])


def test_f2_helpers():
    assert f2_dot(0b1011, 0b0011) == 0 and f2_dot(0b1011, 0b0010) == 1
    assert f2_dot([1, 0, 1], [1, 1, 1]) == 0
    a = np.array([[1, 1], [0, 1]])
    assert np.array_equal(f2_matmul(a, a), np.eye(2))
    assert f2_rank([[1, 1, 0], [1, 1, 0], [0, 0, 1]]) == 2 and f2_rank(np.eye(4)) == 4
    assert f2_rank(np.zeros((3, 3))) == 0


@settings(max_examples=60)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=4))
def test_matrix_columns_round_trip(bits):
    ins = {f"d{k}": 1 << b for k, b in enumerate(bits)}
    m = np.random.default_rng(sum(bits)).integers(0, 2, (sum(bits), sum(bits)))
    L = LinearLayout.from_matrix(m, ins, {"o": 1 << sum(bits)})
    assert np.array_equal(L.matrix(), m)
    assert L.rank == f2_rank(m)
    for i in range(1 << L.in_bits):
        assert L.apply_index(i) == int(sum(((m @ [(i >> k) & 1 for k in range(m.shape[1])]) % 2)
                                           * (1 << np.arange(m.shape[0]))))


# --------------------------------------------------------------------------- propagation


pow2_shapes = st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=4).map(tuple)


def _grid(layout):
    shape = tuple(s for _, s in layout.in_dims)
    out = np.zeros(shape, dtype=np.int64)
    for idx in itertools.product(*map(range, shape)):
        out[idx] = layout.apply(idx)[0]
    return out


@st.composite
def tensor_layouts(draw):
    shape = draw(pow2_shapes)
    kind = draw(st.sampled_from(["row", "col", "perm", "swz"]))
    if kind == "row":
        return LinearLayout.row_major(shape)
    if kind == "col":
        return LinearLayout.col_major(shape)
    perm = draw(st.permutations(range(len(shape))))
    base = LinearLayout.from_mem_layout(MemLayout.permute(shape, perm))
    if kind == "perm":
        return base
    n = base.out_bits  # XOR the high half of the offset into the low half: a swizzle
    cols = [(1 << k) | ((1 << (k - n // 2)) if k >= n - n // 2 and n > 1 else 0) for k in range(n)]
    return base.compose(LinearLayout.from_columns(base.out_dims, base.out_dims, cols))


@settings(max_examples=60)
@given(tensor_layouts(), st.data())
def test_propagate_transpose_matches_numpy(layout, data):
    perm = tuple(data.draw(st.permutations(range(len(layout.in_dims)))))
    got = propagate_transpose(layout, perm)
    assert np.array_equal(_grid(got), _grid(layout).transpose(perm))


@settings(max_examples=60)
@given(tensor_layouts(), st.data())
def test_propagate_reshape_matches_numpy(layout, data):
    old = tuple(s for _, s in layout.in_dims)
    total_bits = layout.in_bits
    cuts = sorted(data.draw(st.lists(st.integers(0, total_bits), max_size=3)))
    widths = [b - a for a, b in zip([0] + cuts, cuts + [total_bits])]
    new = tuple(1 << w for w in widths)
    got = propagate_reshape(layout, old, new)
    assert np.array_equal(_grid(got), _grid(layout).reshape(new))


@settings(max_examples=40)
@given(tensor_layouts(), st.data())
def test_propagate_broadcast_matches_numpy(layout, data):
    shape = tuple(s for _, s in layout.in_dims)
    ones = [d for d, s in enumerate(shape) if s == 1]
    if not ones:
        with pytest.raises(TypeCheckError, match="not of size 1"):
            propagate_broadcast(layout, 0, 4)
        return
    dim = data.draw(st.sampled_from(ones))
    size = data.draw(st.sampled_from([2, 4]))
    got = propagate_broadcast(layout, dim, size)
    new = tuple(size if d == dim else s for d, s in enumerate(shape))
    assert np.array_equal(_grid(got), np.broadcast_to(_grid(layout), new))


@settings(max_examples=30)
@given(tensor_layouts(), st.data())
def test_propagate_broadcast_without_size_inserts_a_dimension(layout, data):
    """feature catalog 13, ``propagate_broadcast(L, dim)``: np.expand_dims, then a size."""
    dim = data.draw(st.integers(0, len(layout.in_dims)))
    got = propagate_broadcast(layout, dim)
    assert np.array_equal(_grid(got), np.expand_dims(_grid(layout), dim))
    wide = propagate_broadcast(got, dim, 4)
    shape = list(np.expand_dims(_grid(layout), dim).shape)
    shape[dim] = 4
    assert np.array_equal(_grid(wide), np.broadcast_to(np.expand_dims(_grid(layout), dim), shape))
    with pytest.raises(TypeCheckError, match="cannot insert dimension"):
        propagate_broadcast(layout, len(layout.in_dims) + 1)


def test_propagate_errors():
    L = LinearLayout.row_major(4, 8)
    with pytest.raises(TypeCheckError, match="sizes differ"):
        propagate_reshape(L, (4, 8), (4, 4))
    with pytest.raises(TypeCheckError, match="tensor shape"):
        propagate_reshape(L, (8, 4), (32,))
    with pytest.raises(TypeCheckError, match="not a permutation"):
        propagate_transpose(L, (0, 2))


def test_spec_example():
    layout = LinearLayout.row_major([32, 128])
    transposed = layout.transpose_dims([1, 0])
    reshaped = propagate_reshape(layout, [32, 128], [4096])
    assert transposed.apply({"dim0": 1, "dim1": 2}) == {"offset": 130}
    assert reshaped.apply((130,)) == (130,)


# --------------------------------------------------------------------------- conversions


@settings(max_examples=60)
@given(pow2_shapes, st.data())
def test_mem_layout_round_trip(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    tile = tuple(data.draw(st.sampled_from([t for t in (1, 2, 4, 8) if t <= n])) for n in shape)
    for mem in (MemLayout.permute(shape, perm), MemLayout.tiled(shape, tile, tile_order=perm)):
        L = LinearLayout.from_mem_layout(mem)
        assert np.array_equal(_grid(L), mem.offsets())
        assert L.to_mem_layout() == mem


def test_mem_layout_conversion_errors():
    with pytest.raises(TypeCheckError, match="power of two"):
        LinearLayout.row_major(3, 4)
    with pytest.raises(TypeCheckError, match="not linear over F2"):
        LinearLayout.from_strides((4, 4), (3, 1))
    swz = LinearLayout({"dim0": [(1 ^ 4,), (2 ^ 8,)], "dim1": [(1,), (2,)]}, {"offset": 16})
    with pytest.raises(TypeCheckError, match="swizzle"):
        swz.to_mem_layout()
    assert LinearLayout.from_strides((4, 2), (1, 4)).apply((3, 1)) == (7,)
    bcast = MemLayout.strided((4, 2), (0, 1))
    assert LinearLayout.from_mem_layout(bcast).to_mem_layout() == bcast


def test_tensor_layout_round_trip():
    for tl, shape, grid in [
        (TensorLayout.sharded(0, 2, mesh_axis=1), (8, 4), (2, 4)),
        (TensorLayout((TensorShard(1), TensorShard(0))), (8, 4), (2, 4)),
        (TensorLayout.default(3), (2, 4, 2), (2,)),
    ]:
        L = LinearLayout.from_tensor_layout(tl, shape, grid)
        assert L.to_tensor_layout() == tl
        assert L.in_names == tuple(f"mesh{k}" for k in range(len(grid))) + ("offset",)
        # every device holds exactly its block: check against a numpy split
        full = np.arange(int(np.prod(shape))).reshape(shape)
        local = 1 << dict(L.in_dims)["offset"].bit_length() - 1
        for dev in itertools.product(*map(range, grid)):
            block = full
            for d, x in enumerate(tl.dist):
                if isinstance(x, TensorShard):
                    block = np.split(block, grid[x.mesh_axis], axis=d)[dev[x.mesh_axis]]
            got = [full[L.apply(dev + (o,))] for o in range(local)]
            assert got == list(block.ravel())
    with pytest.raises(TypeCheckError, match="does not divide"):
        LinearLayout.from_tensor_layout(TensorLayout.sharded(0, 1), (2,), (4,))
    cyclic = LinearLayout({"mesh0": [(1,)], "offset": [(2,), (4,)]}, {"dim0": 8})
    with pytest.raises(TypeCheckError, match="block distribution"):
        cyclic.to_tensor_layout()
    assert TensorReplicate() in LinearLayout.from_tensor_layout(
        TensorLayout.default(1), (4,), (2,)).to_tensor_layout().dist


# --------------------------------------------------------------------------- swizzling


def _vectors_contiguous(mem, access, vector_bits):
    hw = access if "thread" in access.in_names else access.inverse()
    phys = hw.compose(mem)
    for x in _all_inputs(phys):
        coords = dict(zip(phys.in_names, x))
        if coords["register"] % (1 << vector_bits):
            continue
        base = phys.apply(coords)["offset"]
        if base % (1 << vector_bits):
            return False
        for r in range(1 << vector_bits):
            if phys.apply({**coords, "register": coords["register"] + r})["offset"] != base + r:
                return False
    return True


@pytest.mark.parametrize("total, threads, block, bank_bits, vector_bits", [
    (4096, 256, 16, 4, 3),  # the feature catalog example
    (256, 16, 16, 4, 2),
    (512, 32, 16, 5, 2),
    (128, 8, 16, 3, 0),
])
def test_swizzle_beats_row_major_on_blocked(total, threads, block, bank_bits, vector_bits):
    access = LinearLayout.blocked(total, threads, block)
    plain = LinearLayout.identity(access.in_bits)
    swz = LinearLayout.compute_swizzle(layout=access, bank_bits=bank_bits, vector_bits=vector_bits)
    assert swz.in_dims == plain.in_dims and swz.is_injective and swz.is_surjective
    before = bank_conflicts(plain, access, bank_bits, vector_bits)
    after = bank_conflicts(swz, access, bank_bits, vector_bits)
    assert after < before
    lanes = min(threads.bit_length() - 1, bank_bits)
    instructions = total // (threads << vector_bits)
    assert after == instructions * ((threads >> lanes) - 1)  # optimal: only unavoidable ones
    assert _vectors_contiguous(swz, access, vector_bits)


def _transpose_accesses():
    """One warp transposes a 16x32 tile: it stores rows and reads column pairs."""
    store = LinearLayout({"register": [(1 << k, 0) for k in range(4)],
                          "thread": [(0, 1 << k) for k in range(5)]}, {"dim0": 16, "dim1": 32})
    read = LinearLayout({"register": [(0, 2 << k) for k in range(4)],
                         "thread": [(1 << k, 0) for k in range(4)] + [(0, 1)]},
                        {"dim0": 16, "dim1": 32})
    return store, read


def test_swizzle_transpose_is_conflict_free_both_ways():
    store, read = _transpose_accesses()
    plain = LinearLayout.row_major(16, 32)
    assert bank_conflicts(plain, store, 5, 0) == 0
    assert bank_conflicts(plain, read, 5, 0) == 16 * 15
    swz = compute_swizzle(store, 5, 0, other=read)
    assert bank_conflicts(swz, store, 5, 0) == 0
    assert bank_conflicts(swz, read, 5, 0) == 0
    # offset(m, n) = 32*m + (n XOR 2*m): the XOR-2m swizzle
    for m, n in itertools.product(range(16), range(32)):
        assert swz.apply((m, n)) == (32 * m + (n ^ (2 * m)),)


def test_swizzle_keeps_vectors_for_a_column_walk():
    store, read = _transpose_accesses()
    # 16 threads; thread t owns row t and walks it two elements (one vector) at a time
    rows = LinearLayout({"register": [(0, 1 << k) for k in range(5)],
                         "thread": [(1 << k, 0) for k in range(4)]}, {"dim0": 16, "dim1": 32})
    plain = LinearLayout.row_major(16, 32)
    assert bank_conflicts(plain, rows, 3, 1) == 16 * 15  # every row starts in bank 0
    swz = compute_swizzle(rows.inverse(), 3, 1)  # logical -> hardware works too
    assert _vectors_contiguous(swz, rows, 1)
    assert bank_conflicts(swz, rows, 3, 1) == 16 * 1  # 16 threads on 8 banks: 2 wavefronts
    with pytest.raises(TypeCheckError, match="vector_bits"):
        compute_swizzle(store, 5, 5)
    with pytest.raises(TypeCheckError, match="same contiguous vectors"):
        compute_swizzle(rows, 3, 1, other=read)
    with pytest.raises(TypeCheckError, match="vector_bits"):
        bank_conflicts(plain, rows, 3, 6)
    with pytest.raises(TypeCheckError, match="no 'lane'"):
        compute_swizzle(store, 5, 0, thread_dim="lane")


@st.composite
def accesses(draw):
    """Random bijective (register, thread) -> (dim0, dim1) access patterns of one tile."""
    shape_bits = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    n = sum(shape_bits)
    threads = draw(st.integers(0, n))

    def one():
        m = np.eye(n, dtype=np.uint8)[draw(st.permutations(range(n)))]
        for i, j in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=10)):
            if i != j:
                m[i] ^= m[j]
        return LinearLayout.from_matrix(m, {"register": 1 << (n - threads), "thread": 1 << threads},
                                        {f"dim{k}": 1 << b for k, b in enumerate(shape_bits)})

    return one(), one(), shape_bits, threads


@settings(max_examples=40, deadline=None)
@given(accesses(), st.integers(1, 3), st.integers(0, 2))
def test_swizzle_is_optimal_for_one_access_and_helps_pairs(case, bank_bits, vector_bits):
    a, b, shape_bits, threads = case
    n = sum(shape_bits)
    vector_bits = min(vector_bits, n - threads)
    plain = LinearLayout.row_major(*[1 << s for s in shape_bits])
    swz = compute_swizzle(a, bank_bits, vector_bits)
    instructions = 1 << (n - threads - vector_bits)
    unavoidable = (1 << max(0, threads - min(bank_bits, n - vector_bits))) - 1
    assert bank_conflicts(swz, a, bank_bits, vector_bits) == instructions * unavoidable
    assert _vectors_contiguous(swz, a, vector_bits)
    try:
        both = compute_swizzle(a, bank_bits, vector_bits, other=b)
    except TypeCheckError:  # b does not share a's vectors
        return
    assert _vectors_contiguous(both, a, vector_bits) and _vectors_contiguous(both, b, vector_bits)
    assert sum(bank_conflicts(both, x, bank_bits, vector_bits) for x in (a, b)) <= \
        sum(bank_conflicts(plain, x, bank_bits, vector_bits) for x in (a, b))

"""TensorLayout / MemLayout: offsets vs numpy, algebra, text round trip, join, mesh, collectives."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pto_wsp.errors import TypeCheckError
from pto_wsp.layout import (
    MemLayout, TensorLayout, TensorPartial, TensorReplicate, TensorShard,
    allgather_layout, allreduce_layout, check_layouts_compatible, check_mesh,
    reduce_scatter_layout, relayout_layout, tensor_layout_join,
)
from pto_wsp.errors import SourceLoc

R, S, P = TensorReplicate(), TensorShard, TensorPartial

shapes = st.lists(st.integers(0, 5), min_size=1, max_size=4).map(tuple)


def _elem_offsets(arr):
    """Offsets (in elements) of every element of a numpy view from its base pointer."""
    item = arr.itemsize
    grid = np.indices(arr.shape)
    return sum(g * (s // item) for g, s in zip(grid, arr.strides))


# --------------------------------------------------------------------------- MemLayout


@given(shapes)
def test_row_col_major_match_numpy(shape):
    a = np.zeros(shape, dtype=np.float32)
    f = np.asfortranarray(a)
    rm, cm = MemLayout.row_major(shape), MemLayout.col_major(shape)
    assert rm.matches(a) and cm.matches(f)
    assert rm.strides(shape) == tuple(s // 4 for s in a.strides) or 1 in shape or 0 in shape
    assert np.array_equal(rm.offsets(), _elem_offsets(a))
    assert np.array_equal(cm.offsets(), _elem_offsets(f))


@given(shapes.flatmap(lambda s: st.tuples(st.just(s), st.permutations(range(len(s))))))
def test_permute_matches_numpy(case):
    shape, perm = case
    perm = tuple(perm)
    base = np.zeros(tuple(shape[p] for p in perm), dtype=np.float64)
    view = base.transpose(np.argsort(perm))
    m = MemLayout.permute(shape, perm)
    assert view.shape == shape and m.matches(view)
    assert np.array_equal(m.offsets(), _elem_offsets(view))
    idx = tuple(n - 1 for n in shape)
    if 0 not in shape:
        assert m.offset(idx) == _elem_offsets(view)[idx]


def test_tiled_offsets_enumerate_tiles_contiguously():
    m = MemLayout.tiled((4, 6), (2, 3))
    off = m.offsets()
    assert sorted(off.ravel()) == list(range(24))
    assert np.array_equal(off[:2, :3], np.arange(6).reshape(2, 3))     # first tile
    assert np.array_equal(off[:2, 3:], 6 + np.arange(6).reshape(2, 3))  # second tile, row-major tiles
    assert not m.is_strided
    with pytest.raises(TypeCheckError, match="tiled"):
        m.strides()
    col_tiles = MemLayout.tiled((4, 6), (2, 3), tile_order=(1, 0))
    assert col_tiles.offsets()[2, 0] == 6


mems = st.one_of(
    shapes.map(MemLayout.row_major),
    shapes.map(MemLayout.col_major),
    shapes.flatmap(lambda s: st.permutations(range(len(s))).map(lambda p: MemLayout.permute(s, p))),
    shapes.flatmap(lambda s: st.lists(st.integers(0, 7), min_size=len(s), max_size=len(s))
                   .map(lambda st_: MemLayout.strided(s, st_))),
)


def _same_rank(n):
    return st.lists(st.integers(1, 3), min_size=n, max_size=n).map(
        lambda s: MemLayout.row_major(tuple(s)))


@settings(max_examples=60)
@given(st.integers(1, 3).flatmap(lambda n: st.tuples(
    st.lists(st.integers(1, 3), min_size=n, max_size=n).flatmap(
        lambda s: st.permutations(range(n)).map(lambda p: MemLayout.permute(s, p))),
    _same_rank(n), _same_rank(n))))
def test_compose_is_associative_and_blocked(case):
    a, b, c = case
    assert a.compose(b).compose(c) == a.compose(b.compose(c))
    ab = a.compose(b)
    for idx in itertools.product(*map(range, ab.shape)):
        outer = tuple(i // n for i, n in zip(idx, b.shape))
        inner = tuple(i % n for i, n in zip(idx, b.shape))
        assert ab.offset(idx) == a.offset(outer) * b.cosize + b.offset(inner)


def test_normalization_makes_equal_maps_equal():
    assert MemLayout.tiled((4, 8), (4, 8)) == MemLayout.row_major((4, 8))
    assert MemLayout.tiled((4, 8), (1, 8)) == MemLayout.row_major((4, 8))
    assert MemLayout.row_major((1, 8)) == MemLayout.col_major((1, 8))
    assert MemLayout.permute((3, 4), (0, 1)) == MemLayout.row_major((3, 4))
    assert hash(MemLayout.row_major((2, 3))) == hash(MemLayout.strided((2, 3), (3, 1)))


def test_empty_tensors():
    a = np.zeros((0, 4), dtype=np.int8)
    m = MemLayout.row_major((0, 4))
    assert m.matches(a) and m.cosize == 0 and m.offsets().shape == (0, 4)
    assert MemLayout.from_text(m.to_text()) == m and m.to_text() == "row_major(0,4)"


def test_memlayout_errors():
    with pytest.raises(TypeCheckError, match="does not divide"):
        MemLayout.tiled((4, 6), (3, 3))
    with pytest.raises(TypeCheckError, match="not a permutation"):
        MemLayout.permute((2, 3), (0, 0))
    with pytest.raises(TypeCheckError, match="out of bounds"):
        MemLayout.row_major((2, 3)).offset((2, 0))
    with pytest.raises(TypeCheckError, match="not \\(3, 2\\)"):
        MemLayout.row_major((2, 3)).strides((3, 2))


# --------------------------------------------------------------------------- text forms


dists = st.lists(st.one_of(st.just(R), st.integers(0, 3).map(S)), max_size=4)


@st.composite
def tensor_layouts(draw):
    dist = draw(dists)
    used, fixed = set(), []
    for d in dist:  # one mesh axis shards at most one dim
        fixed.append(R if isinstance(d, TensorShard) and d.mesh_axis in used else d)
        if isinstance(d, TensorShard):
            used.add(d.mesh_axis)
    free = [k for k in range(5) if k not in used]
    partial = draw(st.lists(st.sampled_from(free), unique=True, max_size=2))
    ops = draw(st.lists(st.sampled_from(["sum", "max", "min", "prod"]), min_size=len(partial),
                        max_size=len(partial)))
    mem = None
    if draw(st.booleans()):
        shape = draw(st.lists(st.integers(1, 4), min_size=len(fixed), max_size=len(fixed)))
        kind = draw(st.sampled_from(["row", "col", "perm", "strided", "tiled"]))
        if kind == "row":
            mem = MemLayout.row_major(shape)
        elif kind == "col":
            mem = MemLayout.col_major(shape)
        elif kind == "perm":
            mem = MemLayout.permute(shape, draw(st.permutations(range(len(shape)))))
        elif kind == "strided":
            mem = MemLayout.strided(shape, draw(st.lists(st.integers(0, 9), min_size=len(shape),
                                                         max_size=len(shape))))
        else:
            tile = [draw(st.sampled_from([t for t in range(1, n + 1) if n % t == 0])) for n in shape]
            mem = MemLayout.tiled(shape, tile)
    return TensorLayout(tuple(fixed), mem, tuple(P(k, o) for k, o in zip(partial, ops)))


@settings(max_examples=200)
@given(tensor_layouts())
def test_text_round_trip(layout):
    text = layout.to_text()
    assert str(layout) == text
    back = TensorLayout.from_text(text)
    assert back == layout and hash(back) == hash(layout)
    assert back.to_text() == text
    if layout.mem is not None:
        assert MemLayout.from_text(layout.mem.to_text()) == layout.mem


@pytest.mark.parametrize("layout, text", [
    (TensorLayout.default(2), "layout<R,R>"),
    (TensorLayout.sharded(0, 3, mesh_axis=1), "layout<S(1),R,R>"),
    (TensorLayout((S(0), R), MemLayout.row_major((4, 8))), "layout<S(0),R; row_major(4,8)>"),
    (TensorLayout((R, R), MemLayout.col_major((4, 8)), (P(0, "sum"),)),
     "layout<R,R | P(0,sum); col_major(4,8)>"),
    (TensorLayout((R, R, R), MemLayout.permute((2, 3, 4), (1, 0, 2))),
     "layout<R,R,R; permute((2,3,4),(1,0,2))>"),
    (TensorLayout((R, R), MemLayout.tiled((4, 8), (2, 4))),
     "layout<R,R; ((2,2),(4,2)):((4,16),(1,8))>"),
    (TensorLayout((R,), MemLayout.strided((4,), (3,))), "layout<R; (4):(3)>"),
    (TensorLayout(()), "layout<>"),
    (TensorLayout((), MemLayout.row_major(())), "layout<; row_major()>"),
])
def test_canonical_text(layout, text):
    assert layout.to_text() == text
    assert TensorLayout.from_text(text) == layout


def test_parse_error_located_in_enclosing_text():
    line = "tensor x: f32[4,8] layout<S(0),Q>"
    start = line.index("layout")
    with pytest.raises(TypeCheckError) as e:
        TensorLayout.from_text(line[start:], SourceLoc("m.pto", 3, start + 1, text="\n\n" + line))
    assert (e.value.loc.file, e.value.loc.line, e.value.loc.col) == ("m.pto", 3, line.index("Q") + 1)
    assert "^" in str(e.value)


def test_normalization_merges_broadcast_modes():
    assert MemLayout((4,), (((2, 0), (2, 0)),)) == MemLayout.strided((4,), (0,))


def test_parser_accepts_whitespace_and_noncanonical_forms():
    got = TensorLayout.from_text(" layout< S(0) , R ;permute( (4,8) , (0,1) ) > ")
    assert got.to_text() == "layout<S(0),R; row_major(4,8)>"
    assert MemLayout.from_text("(4,8):(8,1)") == MemLayout.row_major((4, 8))


@pytest.mark.parametrize("text, col", [
    ("layout<S(0),X>", 13), ("layout<R", 9), ("layout<R; row_major(4)> extra", 25),
    ("layout<S(0),S(0)>", None), ("layout<R | P(0,avg)>", None), ("(4,8):(1)", 7),
])
def test_bad_text_is_located(text, col):
    with pytest.raises(TypeCheckError) as e:
        (MemLayout if text.startswith("(") else TensorLayout).from_text(text)
    if col is not None:
        assert e.value.loc.col == col and e.value.loc.source_line() == text


# --------------------------------------------------------------------------- validation & join


def test_layout_validation():
    with pytest.raises(TypeCheckError, match="shards both"):
        TensorLayout((S(0), S(0)))
    with pytest.raises(TypeCheckError, match="both sharding"):
        TensorLayout((S(0), R), partial=(P(0),))
    with pytest.raises(TypeCheckError, match="partial="):
        TensorLayout((P(0), R))
    with pytest.raises(TypeCheckError, match="rank 3"):
        TensorLayout((R, R), MemLayout.row_major((1, 2, 3)))
    with pytest.raises(TypeCheckError, match="unknown reduction"):
        P(0, "avg")


def test_join_rules():
    j = tensor_layout_join
    assert j(TensorLayout((R, R)), TensorLayout((R, R))) == TensorLayout((R, R))
    assert j(TensorLayout((R, R)), TensorLayout((S(1), R))) == TensorLayout((S(1), R))
    assert j(TensorLayout((S(1), R)), TensorLayout((R, R))) == TensorLayout((S(1), R))
    assert j(TensorLayout((S(0), R)), TensorLayout((S(0), R))) == TensorLayout((S(0), R))
    assert j(TensorLayout((S(0), R)), TensorLayout((R, S(1)))) == TensorLayout((S(0), S(1)))
    m = MemLayout.col_major((2, 2))
    assert j(TensorLayout((R, R), m), TensorLayout((R, R), m)).mem == m
    assert j(TensorLayout((R, R), m), TensorLayout((R, R))).mem is None
    p = TensorLayout((R, R), partial=(P(0),))
    assert j(p, p) == p


def test_join_mismatch_names_the_fix():
    a, b = TensorLayout((S(0), R)), TensorLayout((S(1), R))
    with pytest.raises(TypeCheckError) as e:
        tensor_layout_join(a, b, names=("q", "k"))
    err = e.value
    assert "dim 0" in err.message and "S(0) vs S(1)" in err.message
    assert "relayout(k, to=layout<S(0),R>)" in err.hint
    assert "allgather(k, dim=0, mesh_axis=1)" in err.hint
    assert err.loc is not None and err.loc.file == __file__


def test_join_errors():
    with pytest.raises(TypeCheckError, match="same mesh axes"):
        tensor_layout_join(TensorLayout((S(0), R)), TensorLayout((R, S(0))))
    with pytest.raises(TypeCheckError, match="rank"):
        tensor_layout_join(TensorLayout((R,)), TensorLayout((R, R)))
    with pytest.raises(TypeCheckError) as e:
        tensor_layout_join(TensorLayout((R,), partial=(P(1, "max"),)), TensorLayout((R,)))
    assert 'allreduce(a, mesh_axis=1, op="max")' in e.value.hint


@given(st.lists(st.one_of(st.just(R), st.integers(0, 2).map(S)), min_size=2, max_size=2),
       st.lists(st.one_of(st.just(R), st.integers(0, 2).map(S)), min_size=2, max_size=2))
def test_join_is_commutative_and_idempotent(x, y):
    try:
        a, b = TensorLayout(tuple(x)), TensorLayout(tuple(y))
    except TypeCheckError:
        return
    assert tensor_layout_join(a, a) == a
    try:
        ab = tensor_layout_join(a, b)
    except TypeCheckError:
        with pytest.raises(TypeCheckError):
            tensor_layout_join(b, a)
        return
    assert ab == tensor_layout_join(b, a)
    assert tensor_layout_join(ab, a) == ab


def test_check_layouts_compatible():
    class T:  # a tensor-like object
        def __init__(self, shape, layout=None):
            self.shape, self.layout = shape, layout

    a = TensorLayout((S(0), R))
    assert check_layouts_compatible(T((4, 4), a), T((4, 4))) == a
    assert check_layouts_compatible(a, TensorLayout((S(1), R))) is None


def test_check_mesh():
    check_mesh(TensorLayout((S(0), S(1))), (8, 12), (4, 3))
    check_mesh(TensorLayout((S(0), R)), (None, 5), (4,))  # dynamic extent skipped
    with pytest.raises(TypeCheckError, match="mesh axis 2") as e:
        check_mesh(TensorLayout((R, S(2))), (8, 8), (2, 2))
    assert "spatial_map" in e.value.hint
    with pytest.raises(TypeCheckError, match="does not divide"):
        check_mesh(TensorLayout((S(0), R)), (6, 8), (4,))
    with pytest.raises(TypeCheckError, match="mesh axis 1"):
        check_mesh(TensorLayout((R,), partial=(P(1),)), (8,), (4,))
    with pytest.raises(TypeCheckError, match="rank"):
        check_mesh(TensorLayout((R,)), (8, 8), (4,))


# --------------------------------------------------------------------------- collectives


def test_collective_result_layouts():
    part = TensorLayout((R, R), MemLayout.row_major((4, 4)), (P(0, "sum"),))
    assert allreduce_layout(part, mesh_axis=0, op="sum") == TensorLayout((R, R), MemLayout.row_major((4, 4)))
    assert reduce_scatter_layout(part, dim=1, mesh_axis=0) == \
        TensorLayout((R, S(0)), MemLayout.row_major((4, 4)))
    sh = TensorLayout((S(1), R))
    assert allgather_layout(sh, dim=0, mesh_axis=1) == TensorLayout((R, R))
    to = TensorLayout.sharded(dim=1, rank=2)
    assert relayout_layout(sh, to) == to
    two = TensorLayout((R,), partial=(P(0), P(1, "max")))
    assert allreduce_layout(two, 1, "max") == TensorLayout((R,), partial=(P(0),))


def test_collective_errors():
    with pytest.raises(TypeCheckError, match="already replicated"):
        allgather_layout(TensorLayout((R, R)), dim=0, mesh_axis=0)
    with pytest.raises(TypeCheckError) as e:
        allgather_layout(TensorLayout((R, S(0))), dim=0, mesh_axis=0)
    assert "use dim=1" in e.value.hint
    with pytest.raises(TypeCheckError, match="mesh_axis=1"):
        allgather_layout(TensorLayout((S(1),)), dim=0, mesh_axis=0)
    with pytest.raises(TypeCheckError, match="needs a partial"):
        allreduce_layout(TensorLayout((R,)), mesh_axis=0)
    with pytest.raises(TypeCheckError, match='use op="sum"'):
        allreduce_layout(TensorLayout((R,), partial=(P(0),)), mesh_axis=0, op="max")
    with pytest.raises(TypeCheckError, match="already S"):
        reduce_scatter_layout(TensorLayout((S(1),), partial=(P(0),)), dim=0, mesh_axis=0)
    with pytest.raises(TypeCheckError, match="complete values"):
        relayout_layout(TensorLayout((R,), partial=(P(0),)), TensorLayout((S(0),)))
    with pytest.raises(TypeCheckError, match="rank"):
        relayout_layout(TensorLayout((R,)), TensorLayout((R, R)))
    with pytest.raises(TypeCheckError, match="out of range"):
        allgather_layout(TensorLayout((S(0),)), dim=3)

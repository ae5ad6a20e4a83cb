"""Layouts in workloads: join checks on every kernel call (with the view-layout rule), mesh
checks at spatial_map/compile, and the collectives in the IR, the .pto text and the verifier."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

import pto_wsp
from pto_wsp import (DType, Dense, In, InOut, Out, P, Tensor, Tile, TypeCheckError, kernel,
                     pto, workload)
from pto_wsp import (MemLayout, TensorLayout, TensorPartial, TensorReplicate as R,
                     TensorShard as S, allgather, allreduce, reduce_scatter, relayout)
from pto_wsp.errors import CompileError, IRConversionError, PtoSyntaxError
from pto_wsp.ir import nodes as ir
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module
from pto_wsp.ir.verify import verify_module

F32 = DType.F32


def line_of(marker: str) -> int:
    with open(__file__) as f:
        for i, line in enumerate(f, 1):
            if marker in line and "line_of(" not in line:
                return i
    raise AssertionError(marker)


@kernel
def add(x: In[Tile[16, 16, F32]], y: In[Tile[16, 16, F32]], out: Out[Tile[16, 16, F32]]):
    pto.store(out, pto.add(x, y))


@kernel
def acc(x: In[Tile[16, 16, F32]], out: InOut[Tile[16, 16, F32]]):
    pto.store(out, pto.add(x, out))


def T(shape, layout=None, name=None):
    return Tensor(shape=shape, dtype=F32, layout=layout, name=name)


L2 = {"S0R": TensorLayout((S(0), R())), "RS0": TensorLayout((R(), S(0))),
      "RS1": TensorLayout((R(), S(1))), "RR": TensorLayout((R(), R())),
      "P": TensorLayout((R(), R()), partial=(TensorPartial(0, "sum"),))}


# ---------------------------------------------------------------- joins at build time


def test_compatible_layouts_join_and_build():
    X, Y, Z = T((64, 16), L2["S0R"], "X"), T((64, 16), L2["RR"], "Y"), T((64, 16), L2["S0R"], "Z")
    n = Dense[4]

    @workload
    def ok():
        for b in P(n):
            add(x=X[b * 16:b * 16 + 16], y=Y[b * 16:b * 16 + 16], out=Z[b * 16:b * 16 + 16])

    assert len(ok().module.workload.body) == 1


def test_shard_mismatch_is_located_and_names_the_fix():
    X, Y, Z = T((16, 16), L2["S0R"], "X"), T((16, 16), L2["RS0"], "Y"), T((16, 16), None, "Z")

    @workload
    def bad():
        add(x=X, y=Y, out=Z)  # MISMATCH

    with pytest.raises(TypeCheckError) as e:
        bad()
    assert e.value.loc.line == line_of("# MISMATCH")
    assert "call of 'add'" in e.value.message and "mesh axis 0 cannot shard both" in \
        e.value.message
    assert "relayout(Y" in e.value.hint and "allgather(Y, dim=1, mesh_axis=0)" in e.value.hint


def test_different_mesh_axes_on_one_dim_is_an_error():
    X, Y = T((16, 16), L2["RS0"], "X"), T((16, 16), L2["RS1"], "Y")

    @workload
    def bad():
        acc(x=X, out=Y)

    with pytest.raises(TypeCheckError, match="S\\(0\\) there, .* has S\\(1\\)"):
        bad()


def test_partial_mixed_with_complete_asks_for_allreduce():
    X, Y = T((16, 16), L2["P"], "X"), T((16, 16), L2["RR"], "Y")

    @workload
    def bad():
        acc(x=X, out=Y)  # PARTIAL

    with pytest.raises(TypeCheckError) as e:
        bad()
    assert e.value.loc.line == line_of("# PARTIAL")
    assert 'allreduce(X, mesh_axis=0, op="sum")' in e.value.hint


def test_indexing_a_sharded_dim_pins_the_view():
    X = T((4, 16, 16), TensorLayout((S(0), R(), R())), "X")
    Y = T((4, 16, 16), TensorLayout((S(0), R(), R())), "Y")
    W = T((4, 16, 16), TensorLayout((R(), S(0), R())), "W")
    V = T((8, 16, 16), TensorLayout((S(0), R(), R())), "V")
    n = Dense[4]

    @workload
    def same_block():  # same index into dims of the same extent: same core
        for b in P(n):
            acc(x=X[b], out=Y[b])

    same_block()

    @workload
    def pinned_vs_spread():
        for b in P(n):
            acc(x=X[b], out=W[b])  # PINNED

    with pytest.raises(TypeCheckError) as e:
        pinned_vs_spread()
    assert e.value.loc.line == line_of("# PINNED")
    assert "one block of mesh axis 0" in e.value.message
    assert "allgather(W, dim=1, mesh_axis=0)" in e.value.hint

    @workload
    def other_index():
        for b in P(n):
            acc(x=X[b], out=Y[3 - b])

    with pytest.raises(TypeCheckError, match="different indices"):
        other_index()

    @workload
    def other_extent():  # V's blocks are half as tall: V[b] and X[b] can be on other cores
        for b in P(n):
            acc(x=X[b], out=V[b])

    with pytest.raises(TypeCheckError, match="different indices"):
        other_extent()


def test_sliced_shards_must_be_aligned():
    X, Y = T((64, 16), L2["S0R"], "X"), T((64, 16), L2["S0R"], "Y")

    @workload
    def shifted():
        acc(x=X[0:16], out=Y[16:32])

    with pytest.raises(TypeCheckError, match="different offsets"):
        shifted()


def test_views_are_right_aligned_like_broadcasting():
    X = T((4, 16, 16), TensorLayout((R(), R(), S(0))), "X")
    Y = T((16, 16), L2["RS0"], "Y")
    n = Dense[4]

    @workload
    def ok():
        for b in P(n):
            acc(x=X[b], out=Y)

    ok()


def test_verifier_joins_text_too():
    text = """module @m
tensor %X : [16, 16] f32 global layout<S(0),R>
tensor %Y : [16, 16] f32 global layout<S(1),R>

kernel @acc(%x: in tile<16x16xf32>, %out: inout tile<16x16xf32>) vector {
  %0 = tload %x : tile<16x16xf32>
  tstore %out, %0
}

workload @m {
  call @acc(x = %X[], out = %Y[])
}
"""
    with pytest.raises(TypeCheckError) as e:
        parse_module(text, "m.pto")
    assert e.value.loc.line == 11


# ---------------------------------------------------------------- tensors and the mesh


def test_tensor_layout_is_validated():
    assert Tensor(shape=(4, 4), dtype=F32, layout="layout<S(0),R>").layout == L2["S0R"]
    with pytest.raises(TypeCheckError, match="rank 1"):
        T((4, 4), TensorLayout((R(),)))
    with pytest.raises(TypeCheckError, match="for shape"):
        T((4, 4), TensorLayout((R(), R()), MemLayout.row_major((4, 5))))
    with pytest.raises(TypeCheckError, match="TensorLayout"):
        T((4, 4), 3)
    with pytest.raises(TypeCheckError, match="expected '>' at column 8 of 'layout<Z>'") as e:
        Tensor(shape=(4,), dtype=F32, layout="layout<Z>")  # BADTEXT
    assert e.value.loc.line == line_of("# BADTEXT")


def _sharded_workload():
    X, Y = T((16, 16), L2["S0R"], "X"), T((16, 16), L2["RR"], "Y")

    @workload
    def w():
        acc(x=X, out=Y)

    return w()


def test_spatial_map_checks_the_mesh_at_its_line():
    w = _sharded_workload()
    assert w.spatial_map(grid=(2,)).module.schedule.spatial_grid == (2,)
    with pytest.raises(TypeCheckError) as e:
        w.spatial_map(grid=(3,))  # NONDIV
    assert e.value.loc.line == line_of("# NONDIV")
    assert "tensor 'X'" in e.value.message and "does not divide" in e.value.message
    Z = T((16, 16), L2["RS1"], "Z")

    @workload
    def w2():
        acc(x=Z, out=Z)

    with pytest.raises(TypeCheckError, match="mesh axis 1 but the mesh grid \\(2,\\)"):
        w2().spatial_map(grid=2)


def test_distributed_tensors_need_a_mesh_at_compile():
    with pytest.raises(CompileError) as e:
        _sharded_workload().compile()  # NOMESH
    assert e.value.loc.line == line_of("# NOMESH")
    assert "spatial_map" in e.value.hint


def test_tiled_memory_layouts_are_rejected_at_compile():
    X = T((16, 16), TensorLayout((R(), R()), MemLayout.tiled((16, 16), (4, 4))), "X")
    Y = T((16, 16), None, "Y")

    @workload
    def w():
        acc(x=X, out=Y)

    with pytest.raises(CompileError, match="tiled memory layout .* not executable yet"):
        w().compile()


# ---------------------------------------------------------------- collectives


def test_collectives_build_new_tensors_with_the_result_layouts():
    Cp = T((64, 64), TensorLayout((S(0), R()), partial=(TensorPartial(1, "sum"),)), "Cp")
    Out_ = T((64, 64), None, "Out_")

    @workload
    def coll():
        full = allreduce(Cp, mesh_axis=1, op="sum")
        scat = reduce_scatter(Cp, dim=1, mesh_axis=1)
        gath = allgather(scat, dim=0, mesh_axis=0)
        moved = relayout(gath, to="layout<R,R; col_major(64,64)>")
        assert full.layout == TensorLayout((S(0), R()))
        assert scat.layout == TensorLayout((S(0), S(1)))
        assert gath.layout == TensorLayout((R(), S(1)))
        assert moved.layout.mem == MemLayout.col_major((64, 64))
        acc(x=moved[0:16, 0:16], out=Out_[0:16, 0:16])

    w = coll().spatial_map(grid=(2, 2))
    body = w.module.workload.body
    assert [(s.kind, s.src, s.dst) for s in body[:4]] == [
        ("allreduce", "Cp", "full"), ("reduce_scatter", "Cp", "scat"),
        ("allgather", "scat", "gath"), ("relayout", "gath", "moved")]
    assert body[1].attrs == (("dim", 1), ("mesh_axis", 1), ("op", "sum"))
    assert w.module.tensor("gath").layout == "layout<R,S(1)>"
    text = w.to_pto()
    assert "%scat = reduce_scatter %Cp {dim = 1, mesh_axis = 1, op = \"sum\"}" in text
    assert parse_module(text) == w.module
    assert print_module(parse_module(text)) == text
    with pytest.raises(CompileError) as e:
        w.compile()
    assert "cpu_sim backend cannot execute allreduce" in e.value.message
    assert e.value.loc.line == line_of("full = allreduce(")


def test_collective_errors_are_located():
    X = T((16, 16), L2["S0R"], "X")

    @workload
    def gather_replicated():
        allgather(X, dim=1, mesh_axis=0)  # GATHER

    with pytest.raises(TypeCheckError) as e:
        gather_replicated()
    assert e.value.loc.line == line_of("# GATHER")
    assert "use dim=0" in e.value.hint

    @workload
    def reduce_complete():
        allreduce(X, mesh_axis=0)

    with pytest.raises(TypeCheckError, match="needs a partial value"):
        reduce_complete()

    n = Dense[2]

    @workload
    def in_loop():
        for b in P(n):
            allgather(X, dim=0)

    with pytest.raises(TypeCheckError, match="top level"):
        in_loop()

    @workload
    def of_view():
        allgather(X[0:8], dim=0)

    with pytest.raises(TypeCheckError, match="whole tensor"):
        of_view()

    @workload
    def bad_attr():
        allgather(X, dim=-1)

    with pytest.raises(TypeCheckError, match="dim must be an int >= 0"):
        bad_attr()

    with pytest.raises(TypeCheckError, match="inside a @workload"):
        allgather(X, dim=0)

    @workload
    def named():
        allgather(X, dim=0, name="G")
        allgather(X, dim=0, name="G")  # taken: made unique

    assert [s.dst for s in named().module.workload.body] == ["G", "G1"]


def test_collective_defaults_come_from_the_layout():
    Pm = T((16, 16), TensorLayout((R(), R()), partial=(TensorPartial(1, "max"),)), "Pm")
    Sh = T((16, 16), L2["RS1"], "Sh")
    Two = T((16, 16), TensorLayout((R(), R()), partial=(TensorPartial(0, "sum"),
                                                        TensorPartial(1, "sum"))), "Two")

    @workload
    def defaults():
        allreduce(Pm)                      # P(1,max): mesh_axis=1, op="max"
        reduce_scatter(Pm, dim=0)
        allgather(Sh, dim=1)               # S(1) on dim 1: mesh_axis=1

    body = defaults().module.workload.body
    assert body[0].attrs == (("mesh_axis", 1), ("op", "max"))
    assert body[1].attrs == (("dim", 0), ("mesh_axis", 1), ("op", "max"))
    assert body[2].attrs == (("dim", 1), ("mesh_axis", 1))

    @workload
    def ambiguous():
        allreduce(Two)  # AMBIGUOUS

    with pytest.raises(TypeCheckError, match="several partial axes") as e:
        ambiguous()
    assert e.value.loc.line == line_of("# AMBIGUOUS")

    @workload
    def complete():
        allreduce(Sh)

    with pytest.raises(TypeCheckError, match="no partial axes"):
        complete()


_COLL = """module @c
tensor %X : [16, 16] f32 global layout<S(0),R>
tensor %Y : [16, 16] f32 global {ylayout}
axis %n : dense 2

workload @c {{
{body}
}}
"""


@pytest.mark.parametrize("ylayout, body, err, words", [
    ("layout<S(0),R>", "  %Y = allgather %X {dim = 0, mesh_axis = 0}", TypeCheckError,
     "gives layout<R,R>, but 'Y' is declared layout<S(0),R>"),
    ("layout<R,R>", "  %Y = allgather %X {dim = 0}", TypeCheckError,
     "takes attributes {dim, mesh_axis}"),
    ("layout<R,R>", "  %Y = allgather %X {dim = 0, mesh_axis = 0, op = \"sum\"}",
     TypeCheckError, "takes attributes"),
    ("layout<R,R>", "  %Y = allreduce %X {mesh_axis = 0, op = \"avg\"}", TypeCheckError,
     "op must be one of"),
    ("layout<R,R>", "  %X = relayout %X", TypeCheckError, "new tensor"),
    ("layout<R,R>", "  %Y = relayout %Z", IRConversionError, "unknown tensor 'Z'"),
    ("layout<R,R>", "  parallel_for %i in %n {\n    %Y = allgather %X {dim = 0, mesh_axis = 0}"
     "\n  }", TypeCheckError, "top level"),
    ("layout<R,R>", "  %Y = allgather %X {dim = 0, mesh_axis = 0}\n"
     "  %Y = allgather %X {dim = 0, mesh_axis = 0}", TypeCheckError, "two collectives"),
    ("layout<R,R>", "  %Y = allgather %X {dim = 0, dim = 0}", PtoSyntaxError, "repeated"),
    ("layout<R,R>", "  %X2 = relayout %Y\n  %Y = allgather %X {dim = 0, mesh_axis = 0}",
     TypeCheckError, "'Y' is used before the collective that produces it"),
    ("layout<R,R>", "  slot(0) = load %Y[0, 0]\n  %Y = allgather %X {dim = 0, mesh_axis = 0}",
     TypeCheckError, "'Y' is used before the collective that produces it"),
])
def test_verifier_rederives_collective_layouts(ylayout, body, err, words):
    text = _COLL.format(ylayout=ylayout, body=body)
    with pytest.raises(err, match=re.escape(words)) as e:
        parse_module(text, "c.pto")
    assert e.value.loc is not None and e.value.loc.line >= 6


def test_hand_built_collectives_are_verified():
    m = parse_module(_COLL.format(ylayout="layout<R,R>",
                                  body="  %Y = allgather %X {dim = 0, mesh_axis = 0}"))
    verify_module(m)
    bad = replace(m, workload=replace(m.workload, body=(
        ir.Collective("allgather", "X", "Y", (("mesh_axis", 0), ("dim", 0))),)))
    with pytest.raises(IRConversionError, match="sorted"):
        verify_module(bad)
    bad = replace(m, workload=replace(m.workload, body=(
        ir.Collective("broadcast", "X", "Y", ()),)))
    with pytest.raises(TypeCheckError, match="unknown collective 'broadcast'"):
        verify_module(bad)
    y = replace(m.tensors[1], dtype=DType.F16)
    with pytest.raises(TypeCheckError, match="keeps shape, dtype and location"):
        verify_module(replace(m, tensors=(m.tensors[0], y)))


def test_a_kernel_param_may_be_named_like_a_collective():
    text = """module @k

tensor %X : [16, 16] f32 global

kernel @k(%allreduce: inout tile<16x16xf32>) vector {
  %0 = tload %allreduce : tile<16x16xf32>
  tstore %allreduce, %0
}

workload @k {
  call @k(allreduce = %X[])
}
"""
    assert print_module(parse_module(text)) == text


def test_public_names_are_exported():
    for name in ("TensorLayout", "TensorShard", "TensorReplicate", "TensorPartial", "MemLayout",
                 "LinearLayout", "relayout", "allreduce", "allgather", "reduce_scatter"):
        assert name in pto_wsp.__all__ and hasattr(pto_wsp, name)


def test_pto_text_with_collectives_is_rejected_by_cpu_sim_at_the_collective(tmp_path):
    text = _COLL.format(ylayout="layout<R,R>",
                        body="  %Y = allgather %X {dim = 0, mesh_axis = 0}")
    path = tmp_path / "c.pto"
    path.write_text(text)
    with pytest.raises(CompileError, match="no mesh"):
        pto_wsp.compile(str(path))
    path.write_text(text + "\nschedule {\n  spatial_map = [2]\n}\n")
    with pytest.raises(CompileError, match="cannot execute allgather") as e:
        pto_wsp.compile(str(path))
    assert e.value.loc.file == str(path) and e.value.loc.line == 7


def test_collectives_compose_inside_combine_parts():
    X = T((16, 16), L2["S0R"], "X")

    @workload
    def g():
        allgather(X, dim=0, name="XG")

    Y = T((16, 16), None, "Y")

    @workload
    def h():
        acc(x=Y, out=Y)

    w = pto_wsp.sequential(g(), h())
    assert isinstance(w.module.workload.body[0], ir.Block)
    assert parse_module(w.to_pto()) == w.module

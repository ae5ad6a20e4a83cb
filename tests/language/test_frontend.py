"""Authoring API: types, views, kernel tracing, workloads, schedules, and located errors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from pto_wsp import (DType, Dense, DenseDyn, Deps, DispatchPolicy, In, InOut, Out, P, Ragged,
                     ScheduleError, Scalar, Sparse, TaskWindow, Tensor, Tile, TypeCheckError,
                     Constexpr, WindowMode, combine, kernel, pto, sequential, where, workload)
from pto_wsp.ir import nodes as ir
from pto_wsp.ir import expr as irx

F32 = DType.F32


def line_of(marker: str) -> int:
    """Line number (1-based) of the line in this file containing ``marker``."""
    with open(__file__) as f:
        for i, line in enumerate(f, 1):
            if marker in line and "line_of(" not in line:
                return i
    raise AssertionError(marker)


# ---------------------------------------------------------------- types


def test_dtypes_axes_and_tensors():
    assert len([d for d in DType if d is not DType.BOOL]) == 12
    assert DType.of(np.float16) is DType.F16 and DType.of("bf16") is DType.BF16
    assert DType.of(ml_dtypes.bfloat16) is DType.BF16
    assert Dense[8].size == 8 and Dense[8]().size == 8
    assert DenseDyn(4, name="batch").name == "batch"
    assert Ragged(3, [1, 2, 3]).total() == 6
    sp = Sparse(2, [0, 1, 3], [4, 0, 2])
    assert sp.nnz() == 3 and sp.row_nnz(1) == 2
    with pytest.raises(TypeCheckError, match="indptr"):
        Sparse(2, [0, 2], [1, 2])
    with pytest.raises(TypeCheckError, match="lengths"):
        Ragged(3, [1, 2])
    bf = np.zeros((2, 4), ml_dtypes.bfloat16)
    assert Tensor(data=bf).dtype is DType.BF16
    with pytest.raises(TypeCheckError, match="dtype float32, declared f16"):
        Tensor(data=np.zeros((2, 2), np.float32), dtype=DType.F16)
    with pytest.raises(TypeCheckError, match=r"shape \(2, 2\), declared \(4,\)"):
        Tensor(data=np.zeros((2, 2), np.float32), shape=(4,))


def test_views_normalise_and_know_shapes_and_strides():
    t = Tensor(data=np.zeros((8, 4, 16), np.float32), name="T")
    v1, v2 = t[1][2], t[1, 2]
    assert v1.items == v2.items and v1.shape == (16,)
    assert t[2:6].shape == (4, 4, 16)
    assert t[2:6][1].items == t[3].items  # numpy semantics
    assert t[2:6][1].offsets == (3, 0, 0) and t[1, 2:4].offsets == (1, 2, 0)
    assert t[0:8:2].strides() == (128, 16, 1)
    tt = Tensor(data=np.zeros((16, 4, 8), np.float32).transpose(2, 1, 0), name="TT")
    assert tt[1].strides() == (8, 32)
    with pytest.raises(TypeCheckError, match="out of bounds"):
        t[8]
    with pytest.raises(TypeCheckError, match="too many indices"):
        t[0, 0, 0, 0]


# ---------------------------------------------------------------- kernels


@kernel
def bcast(x: In[Tile[4, 8, F32]], out: Out[Tile[4, 8, F32]], s: Scalar[F32] = 0.5):
    m = pto.rowmax(x)            # [4, 1]
    c = pto.colsum(x)            # [1, 8]
    y = pto.sub(x, m) + pto.mul(c, x) + pto.sub(1.0, x) * s
    pto.store(out, pto.sub(m, y))


def test_tracing_broadcasts_and_scalar_forms():
    ops = [op.opcode for op in bcast.ir().ops]
    assert ops[0] == "tload" and ops.count("tload") == 1  # implicit load, once
    assert "trowexpandsub" in ops and "tcolexpandmul" in ops
    assert "trsubs" in ops and "tmuls" in ops  # scalar on the left, param scalar
    assert "trowexpand" in ops  # vec - tile materialises the broadcast
    assert bcast.ir().exec_unit == "vector"


def test_pto_op_outside_a_kernel_is_a_helpful_error():
    with pytest.raises(TypeCheckError) as ei:
        pto.add(1, 2)  # MARK-outside
    e = ei.value
    assert "inside a @kernel" in str(e)
    assert e.loc.line == line_of("MARK-outside") and e.loc.file == __file__
    assert "^" in str(e) and "-->" in str(e)


def test_direction_and_type_errors_are_located():
    with pytest.raises(TypeCheckError, match="is In: the kernel cannot store") as ei:
        @kernel
        def bad_store(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            pto.store(x, pto.load(x))  # MARK-store
    assert ei.value.loc.line == line_of("MARK-store")

    with pytest.raises(TypeCheckError, match="is Out: it cannot be read"):
        @kernel
        def bad_load(y: Out[Tile[4, 8, F32]]):
            pto.store(y, pto.exp(y))

    with pytest.raises(TypeCheckError, match="dtype mismatch f32 vs f16"):
        @kernel
        def bad_dtype(x: In[Tile[4, 8, F32]], h: In[Tile[4, 8, DType.F16]],
                      y: Out[Tile[4, 8, F32]]):
            pto.store(y, pto.add(x, h))

    with pytest.raises(TypeCheckError, match="storing a tile<4x1xf32>"):
        @kernel
        def bad_shape(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            pto.store(y, pto.rowsum(x))

    with pytest.raises(TypeCheckError, match="never stores to Out parameter 'y'"):
        @kernel
        def forgot(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            pto.exp(x)

    with pytest.raises(TypeCheckError, match="needs an annotation"):
        @kernel
        def unannotated(x):
            pass

    with pytest.raises(TypeCheckError, match="does not support f16 x f32"):
        @kernel
        def bad_mm(a: In[Tile[4, 8, DType.F16]], b: In[Tile[8, 4, F32]],
                   c: Out[Tile[4, 4, F32]]):
            pto.store(c, pto.matmul(a, b))


def test_matmul_makes_a_cube_kernel_and_constexpr_specialises():
    @kernel
    def scaled(a: In[Tile[4, 8, F32]], b: In[Tile[8, 4, F32]], c: Out[Tile[4, 4, F32]],
               k: Constexpr[int]):
        pto.store(c, pto.matmul(a, b) * k)
    k2, k3 = scaled.ir((2,)), scaled.ir((3,))
    assert k2.name != k3.name and k2.exec_unit == "cube"
    assert [p.name for p in k2.params] == ["a", "b", "c"]


# ---------------------------------------------------------------- workloads


@kernel
def tile_copy(x: In[Tile[1, 16, F32]], y: Out[Tile[1, 16, F32]]):
    pto.store(y, pto.mov(x))


X = Tensor(data=np.zeros((4, 8, 16), np.float32), name="X")
Y = Tensor(data=np.zeros((4, 8, 16), np.float32), name="Y")
batch = Dense[4]
heads = Dense[8]


def test_loop_variables_take_the_users_names():
    @workload
    def w():
        for b, hd in P(batch, heads):
            tile_copy[b, hd](x=X[b, hd], y=Y[b, hd])
    wl = w().dispatch(DispatchPolicy.affinity(lambda t: t.get("hd") % 2))
    outer = wl.module.workload.body[0]
    assert isinstance(outer, ir.For) and outer.var == "b" and outer.body[0].var == "hd"
    assert irx.free_vars(wl.module.schedule.dispatch.key) == {"hd"}

    @workload
    def named():
        for z in P(batch, names="batch"):
            tile_copy[z](x=X[z, 0], y=Y[z, 0])
    assert named().module.workload.body[0].var == "batch"


def test_key_functions_must_read_loop_variables_in_scope():
    @workload
    def w():
        for b in P(batch):
            tile_copy[b](x=X[b, 0], y=Y[b, 0])
    with pytest.raises(ScheduleError, match=r"t.get\('head'\)"):
        w().stream_by(lambda t: t.get("head"))
    with pytest.raises(ScheduleError, match="cannot trace the dispatch_by key") as ei:
        DispatchPolicy.dispatch_by(lambda t: int(t.get("b")) + 1)  # MARK-lambda
    assert ei.value.loc.line == line_of("MARK-lambda")


def test_call_checks_arity_names_shapes_and_bounds():
    with pytest.raises(TypeCheckError, match="has no parameter 'z'") as ei:
        @workload
        def w1():
            for b in P(batch):
                tile_copy[b](z=X[b, 0], y=Y[b, 0])  # MARK-arity
        w1()
    assert ei.value.loc.line == line_of("MARK-arity")
    assert "x, y" in str(ei.value)
    with pytest.raises(TypeCheckError, match="missing argument 'y'"):
        @workload
        def w2():
            for b in P(batch):
                tile_copy[b](X[b, 0])
        w2()
    with pytest.raises(TypeCheckError, match=r"view of shape \[8, 16\]"):
        @workload
        def w3():
            for b in P(batch):
                tile_copy[b](x=X[b], y=Y[b, 0])
        w3()
    with pytest.raises(TypeCheckError, match=r"ranges over \[1, 8\]"):
        @workload
        def w4():
            for h in P(heads):
                tile_copy[h](x=X[0, h + 1], y=Y[0, h])
        w4()


def test_when_chains_and_predicates_are_expressions():
    n = DenseDyn(4)

    @workload
    def w():
        for b in P(n):
            with P.when(b < 2):
                tile_copy[b](x=X[b, 0], y=Y[b, 0])
            with P.when(where(b == 2, 1, 0) != 0):
                tile_copy[b](x=X[b, 1], y=Y[b, 1])
            with P.otherwise():
                tile_copy[b](x=X[b, 2], y=Y[b, 2])
    when = w().module.workload.body[0].body[0]
    assert isinstance(when, ir.When) and len(when.branches) == 2 and when.otherwise
    with pytest.raises(TypeCheckError, match="Python truth value"):
        @workload
        def w2():
            for b in P(n):
                if b < 2:
                    pass
        w2()
    with pytest.raises(TypeCheckError, match="P.when needs a scalar expression") as ei:
        @workload
        def w3():
            with P.when(True):  # MARK-when
                pass
        w3()
    assert ei.value.loc.line == line_of("MARK-when")
    with pytest.raises(TypeCheckError, match="must directly follow"):
        @workload
        def w4():
            with P.otherwise():
                pass
        w4()


def test_shadowing_and_ragged_sparse_domains():
    lens = Ragged(batch, [1, 2, 3, 4])
    with pytest.raises(TypeCheckError, match="shadows"):
        @workload
        def w():
            for b in P(batch):
                for b in P(heads):  # noqa: B007
                    pass
        w()
    with pytest.raises(TypeCheckError, match="one row at a time"):
        @workload
        def w2():
            for t in P(lens):
                pass
        w2()
    sp = Sparse(batch, [0, 1, 1, 2, 2], [3, 5])

    @workload
    def w3():
        for b in P(batch):
            for e in P.sel(sp[b]):
                tile_copy[b, e](x=X[b, e], y=Y[b, e])
    loop = w3().module.workload.body[0].body[0]
    assert loop.kind == "sel" and loop.domain.axis == "sp"


def test_combine_and_sequential_and_schedule_values():
    @workload
    def a():
        for b in P(batch):
            tile_copy[b](x=X[b, 0], y=Y[b, 0])

    @workload
    def b():
        for b in P(batch):
            tile_copy[b](x=Y[b, 0], y=X[b, 1])
    c = combine(a(), b())
    s = sequential(a(), b())
    assert c.module.workload.body[0].kind == "par" and s.module.workload.body[0].kind == "seq"
    w = s.task_graph(deps=Deps.explicit(), window=TaskWindow(16, "tasks", WindowMode.ABORT))
    assert w.module.schedule.task_graph.window.size == 16
    assert s.module.schedule.task_graph is None  # combinators return new workloads
    with pytest.raises(ScheduleError, match="positive int"):
        DispatchPolicy.round_robin(0)
    with pytest.raises(ScheduleError, match="unit must be"):
        TaskWindow(8, "pages")
    with pytest.raises(ScheduleError, match="takes a Deps"):
        s.task_graph(deps="exact")


def test_inout_read_only_array_is_rejected_at_build_time():
    ro = np.zeros((4, 8, 16), np.float32)
    ro.flags.writeable = False
    R = Tensor(data=ro, name="R")

    @kernel
    def acc(x: InOut[Tile[1, 16, F32]]):
        pto.store(x, pto.add(x, 1.0))
    with pytest.raises(TypeCheckError, match="read-only"):
        @workload
        def w():
            for b in P(batch):
                acc[b](x=R[b, 0])
        w()

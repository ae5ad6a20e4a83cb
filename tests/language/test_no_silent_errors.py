"""Small silent errors of the authoring API: each program now works or gets a located error."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (Dense, DispatchPolicy, DType, In, Out, P, ReadyPolicy, Scalar, Tensor,
                     Tile, TracePolicy, TypeCheckError, kernel, pto, workload)
from pto_wsp.ir.parser import parse_module
from pto_wsp.language.scalar import symbol_i64, symbol_u64

F32 = DType.F32


def line_of(marker: str) -> int:
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if marker in line and "line_of(" not in line)


def test_if_on_a_tile_in_a_kernel_is_a_located_error():
    with pytest.raises(TypeCheckError, match="no Python truth value") as ei:
        @kernel
        def k(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            if x:  # MARK-if-param
                pto.store(y, x)
    assert ei.value.loc.line == line_of("MARK-if-param")
    assert "pto.select" in ei.value.hint and "pto.cmp" in ei.value.hint

    with pytest.raises(TypeCheckError, match="no Python truth value") as ei:
        @kernel
        def k2(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]], s: Scalar[F32]):
            v = pto.exp(x)
            pto.store(y, v if s else x)  # MARK-if-scalar
    assert ei.value.loc.line == line_of("MARK-if-scalar")


@pytest.mark.parametrize("use, what", [
    (len, "no Python length"), (list, "no Python elements to iterate"),
    (int, "no Python integer value"), (float, "no Python float value"),
    (lambda v: v[0], "cannot be indexed"), (lambda v: range(v), "no Python integer value"),
    (lambda v: 1.0 in v, "no Python elements to search"),
    (lambda v: v in [1.0], "no Python truth value"),
    (lambda v: v == 0 and v, "no Python truth value"),
])
def test_python_conversions_of_tiles_are_located_errors(use, what):
    with pytest.raises(TypeCheckError, match=what) as ei:
        @kernel
        def k(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
            use(pto.exp(x))
            pto.store(y, x)
    assert ei.value.loc is not None and ei.value.loc.file == __file__


def test_tile_comparisons_are_sugar_for_cmp():
    @kernel
    def relu_ish(x: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
        pto.store(y, pto.select(x > 0, x, pto.select(x == -1.0, x * 0.5, 0.0)))
    ops = [(op.opcode, dict(op.attrs).get("mode")) for op in relu_ish.ir().ops]
    assert ("tcmps", "gt") in ops and ("tcmps", "eq") in ops

    @kernel
    def pairs(a: In[Tile[4, 8, F32]], b: In[Tile[4, 8, F32]], y: Out[Tile[4, 8, F32]]):
        pto.store(y, pto.select((a <= b), a, pto.select(b != a, b, 0.0)))
    modes = [dict(op.attrs)["mode"] for op in pairs.ir().ops if op.opcode == "tcmp"]
    assert modes == ["le", "ne"]


@kernel
def copy_row(x: In[Tile[1, 16, F32]], y: Out[Tile[1, 16, F32]]):
    pto.store(y, x)


def test_a_symbol_used_only_in_a_schedule_key_is_declared_and_read():
    X = Tensor(data=np.arange(8 * 16, dtype=np.float32).reshape(8, 16), name="X")
    Y = Tensor(data=np.zeros((8, 16), np.float32), name="Y")

    @workload
    def rows():
        for i in P(Dense[8]):
            copy_row[i](x=X[i], y=Y[i])
    w = rows().dispatch(DispatchPolicy.affinity(lambda t: symbol_u64("mask") & t.param(0), 4))
    w = w.task_graph(trace=TracePolicy.cycles(), ready=ReadyPolicy.priority(
        lambda t: symbol_i64("bias") - t.param(0)))
    assert {(s.name, s.dtype) for s in w.module.symbols} == {("mask", DType.U64),
                                                           ("bias", DType.I64)}
    assert parse_module(w.to_pto()) == w.module
    prog = w.compile(num_threads=1)
    lanes = {}
    for mask in (0, 1, 3):
        prog.set_symbol_u64("mask", mask)
        prog.run()
        lanes[mask] = {e["args"]["task"]: e["tid"] for e in prog.trace()["traceEvents"]
                       if e.get("cat") == "task"}
    np.testing.assert_array_equal(Y.data, X.data)
    aicpu = {m: {t: tid // 2 for t, tid in v.items()} for m, v in lanes.items()}  # 2 lanes each
    assert aicpu[0] == {t: 0 for t in range(8)}
    assert aicpu[1] == {t: t & 1 for t in range(8)}
    assert aicpu[3] == {t: t & 3 for t in range(8)}

    with pytest.raises(TypeCheckError, match="symbol 'mask' used as both u64 and i64"):
        w.dispatch(DispatchPolicy.hash(lambda t: symbol_i64("mask")))


def test_branching_on_a_tensor_view_says_how_to_branch_on_data():
    from pto_wsp import Ragged, slot_load_u64, slot_u64
    X = Tensor(data=np.zeros((4, 16), np.int32), name="X")
    lengths = Ragged(4, [1, 2, 3, 4])

    @workload
    def w(op):
        for b in P(Dense[4]):
            with P.when(op(X[b])):  # MARK-view-when
                pass
    for op in (lambda v: v <= 2048, lambda v: v == 0, lambda v: 3 > v, bool):  # MARK-ops
        with pytest.raises(TypeCheckError, match="tensor view has no value") as ei:
            w(op)
        assert ei.value.loc.file == __file__
        assert ei.value.loc.line in (line_of("MARK-ops"), line_of("MARK-view-when"))
        assert "slot_load_u64" in ei.value.hint and ".size()" in ei.value.hint

    @workload
    def hinted():  # what the hint says works
        for b in P(Dense[4]):
            slot_load_u64(0, X[b], 0, 3)
            with P.when(slot_u64(0) <= 2048):
                for r in P(lengths[b]):
                    with P.when(lengths[b].size() <= 2):
                        copy_row[b, r](x=Y16[b], y=Z16[b])
    hinted()


Y16 = Tensor(data=np.zeros((4, 16), np.float32), name="Y16")
Z16 = Tensor(data=np.zeros((4, 16), np.float32), name="Z16")


def test_a_whole_tensor_in_a_predicate_is_a_located_error():
    X = Tensor(data=np.zeros((4, 8), np.float32))
    r = Dense[4]

    @workload
    def w():
        for i in P(r):
            with P.when(X <= 2048):
                pass
    with pytest.raises(TypeCheckError) as ei:
        w()
    assert "a tensor has no value" in str(ei.value) and "slot_load_u64" in str(ei.value)
    assert ei.value.loc.file == __file__

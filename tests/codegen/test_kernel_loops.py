"""Kernels with loops, tensor tiles, conditions, memory levels and double buffering
(docs/kernels.md): numerics against numpy, the pipe-level timing of the A2/A3 model, budget
and authoring errors, and the ascend_npu refusal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pto_wsp import DType, Dense, In, InOut, Out, P, Scalar, Tensor, Tile, kernel, pto, workload
from pto_wsp.errors import CompileError, PtoError, TypeCheckError

F32 = DType.F32


def _run(w, **options):
    program = w.compile(target="cpu_sim", **options)
    program.execute()
    program.synchronize()
    return program.stats.total_cycles


def _stream(double_buffer, n=8, pipeline=True):
    """y = exp(x) tile by tile: a streaming kernel, load -> vector -> store."""
    @kernel(name=f"stream_{int(double_buffer)}_{int(pipeline)}")
    def stream(x: In[Tensor[16, 64 * n, F32]], y: Out[Tensor[16, 64 * n, F32]]):
        for j in pto.range(n, double_buffer=double_buffer, pipeline=pipeline):
            t = pto.load(x, row=0, col=j * 64, shape=(16, 64))
            pto.store(y, pto.exp(t), row=0, col=j * 64)
    return stream


@pytest.mark.parametrize("cost_model", ["v9", "a2a3"])
def test_double_buffering_lowers_a2a3_cycles_with_identical_outputs(cost_model):
    x = np.random.default_rng(1).standard_normal((16, 512), np.float32)
    outs, cycles = [], []
    for db in (False, True):
        y = np.zeros_like(x)
        k, X, Y = _stream(db), Tensor(data=x), Tensor(data=y)

        @workload
        def w():
            k(x=X, y=Y)
        cycles.append(_run(w(), cost_model=cost_model))
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0], np.exp(x), rtol=1e-6)
    single, double = cycles
    if cost_model == "v9":
        assert single == double == 8 * 3 * 1024  # the plain sum does not see buffers
    else:
        # per tile TLOAD 4 KB = 70, TEXP = round(0.0314 * 1024 + 30.1) = 62, TSTORE = 38.
        # Single-buffered, each load waits for the previous TEXP to free its buffer: a chain
        # of 8 x (70 + 62) and the last store. Double-buffered, the loads run ahead and the
        # TEXP -> TSTORE pairs (through the one exp result buffer) set the pace: the first
        # load, then 8 x (62 + 38).
        assert single == 8 * (70 + 62) + 38
        assert double == 70 + 8 * (62 + 38)


def test_pipeline_false_serialises_iterations_and_round_trips():
    from pto_wsp.ir.parser import parse_module
    x = np.random.default_rng(1).standard_normal((16, 512), np.float32)
    y = np.zeros_like(x)
    k, X, Y = _stream(True, pipeline=False), Tensor(data=x), Tensor(data=y)

    @workload
    def w():
        k(x=X, y=Y)
    assert _run(w(), cost_model="a2a3") == 8 * (70 + 62 + 38)  # no overlap at all
    np.testing.assert_allclose(y, np.exp(x), rtol=1e-6)
    text = w().to_pto()
    assert "{buffers = 2, pipeline = 0}" in text
    assert parse_module(text).kernels[0] == k.ir()


def test_loop_carried_running_max_and_sum_with_a_scalar_bound_and_when():
    @kernel
    def stats(x: In[Tensor[8, 256, F32]], mx: Out[Tile[8, 1, F32]], sm: Out[Tile[8, 1, F32]],
              n: Scalar[DType.I32]):
        m = pto.broadcast(pto.constant(-math.inf, F32), (8, 1))
        s = pto.alloc((8, 1), F32)
        for j in pto.range(n):
            t = pto.load(x, row=0, col=j * 32, shape=(8, 32))
            m = pto.maximum(m, pto.rowmax(t))
            with pto.when(j % 2 == 1):  # odd blocks only
                s = s + pto.rowsum(t)
        pto.store(mx, m)
        pto.store(sm, s)

    x = np.random.default_rng(2).standard_normal((8, 256), np.float32)
    mx, sm = np.zeros((8, 1), np.float32), np.zeros((8, 1), np.float32)
    X, MX, SM = Tensor(data=x), Tensor(data=mx), Tensor(data=sm)

    @workload
    def w():
        stats(x=X, mx=MX, sm=SM, n=6)
    _run(w())
    blocks = x[:, :192].reshape(8, 6, 32)
    np.testing.assert_array_equal(mx[:, 0], blocks.max(axis=(1, 2)))
    np.testing.assert_allclose(sm[:, 0], blocks[:, 1::2].sum(axis=(1, 2)), rtol=1e-5)


def test_dynamic_offset_outside_the_tensor_is_an_error_not_a_crash():
    @kernel
    def shifted(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]], c: Scalar[DType.I32]):
        pto.store(y, pto.load(x, row=0, col=c, shape=(8, 32)))

    x = np.ones((8, 64), np.float32)
    X, Y = Tensor(data=x), Tensor(data=np.zeros((8, 32), np.float32))

    @workload
    def w():
        shifted(x=X, y=Y, c=40)
    with pytest.raises(PtoError, match=r"returned 34.*a 8x32 tile at a computed offset lies "
                                        r"outside 'x' \(8x64\)"):
        _run(w())


def test_static_offset_outside_the_tensor_is_a_located_error():
    @kernel
    def bad(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]]):
        pto.store(y, pto.load(x, row=0, col=40, shape=(8, 32)))

    X, Y = Tensor(shape=(8, 64), dtype=F32), Tensor(shape=(8, 32), dtype=F32)

    @workload
    def w():
        bad(x=X, y=Y)
    with pytest.raises(TypeCheckError, match="outside 'x'") as e:
        w().compile(target="cpu_sim")
    assert e.value.loc is not None and "test_kernel_loops" in e.value.loc.file


def test_a_kernel_over_its_budget_is_a_located_error():
    @kernel(budget={"UB": 16 * 1024})
    def big(x: In[Tensor[32, 512, F32]], y: Out[Tensor[32, 512, F32]]):
        for j in pto.range(4, double_buffer=True):
            t = pto.load(x, row=0, col=j * 128, shape=(32, 128))  # 16 KB x 2 buffers
            pto.store(y, t * 2.0, row=0, col=j * 128)

    X, Y = Tensor(shape=(32, 512), dtype=F32), Tensor(shape=(32, 512), dtype=F32)

    @workload
    def w():
        big(x=X, y=Y)
    with pytest.raises(TypeCheckError, match="live on UB here, over its budget of 16384") as e:
        w().compile(target="cpu_sim")
    assert e.value.loc.line == big.fn.__code__.co_firstlineno + 3


def test_view_shape_is_checked_at_the_call_site():
    @kernel
    def k(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 64, F32]]):
        pto.store(y, pto.load(x, row=0, col=0, shape=(8, 64)))

    X, Y = Tensor(shape=(8, 32), dtype=F32), Tensor(shape=(8, 64), dtype=F32)

    @workload
    def w():
        k(x=X, y=Y)
    with pytest.raises(TypeCheckError, match=r"view of shape \[8, 32\]"):
        w().compile(target="cpu_sim")


def _trace_error(body):
    with pytest.raises(TypeCheckError) as e:
        kernel(body)
    return e.value


def test_python_if_on_a_loop_index_points_to_pto_when():
    def k(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]]):
        for j in pto.range(2):
            if j > 0:
                pass
    e = _trace_error(k)
    assert "pto.when" in e.hint and "truth value" in str(e)


def test_python_range_over_a_scalar_parameter_points_to_pto_range():
    def k(x: In[Tensor[8, 64, F32]], n: Scalar[DType.I32]):
        for j in range(n):
            pass
    assert "pto.range" in _trace_error(k).hint


def test_a_body_value_used_after_its_loop_is_a_located_error():
    def k(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]]):
        for j in pto.range(2):
            t = pto.load(x, row=0, col=j * 32, shape=(8, 32))
        pto.store(y, t)
    e = _trace_error(k)
    assert "body that has ended" in str(e) and "before" in e.hint


def test_break_out_of_a_pto_range_is_a_located_error():
    def k(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]]):
        t = pto.alloc((8, 32), F32)
        for j in pto.range(2):
            t = pto.load(x, row=0, col=j * 32, shape=(8, 32))
            break
        pto.store(y, t)
    assert "left early" in str(_trace_error(k))


def test_exec_unit_is_inferred_and_overridable():
    def k(a: In[Tile[16, 16, F32]], b: In[Tile[16, 16, F32]], c: Out[Tile[16, 16, F32]]):
        pto.store(c, pto.matmul(a, b))
    assert kernel(k).ir().exec_unit == "cube"
    assert kernel(unit="vector")(k).ir().exec_unit == "vector"


def test_ascend_npu_emits_double_buffered_loops_and_refuses_mixed_ones():
    """Ping-pong loads: re-TASSIGNed by the iteration, EVENT_ID0/1 back edges V -> MTE2; a
    loop mixing cube and vector work is a located error saying why."""
    code = _stream(True).compile("ascend_npu").code
    assert "wait_flag(PIPE_V, PIPE_MTE2, pto_s0 % 2 ? EVENT_ID1 : EVENT_ID0);" in code
    assert "set_flag(PIPE_V, PIPE_MTE2, pto_s0 % 2 ? EVENT_ID1 : EVENT_ID0);" in code
    assert code.count("set_flag(PIPE_V, PIPE_MTE2, EVENT_ID") == 2  # before the loop

    @kernel
    def mixed(a: In[Tensor[16, 64, F32]], w: In[Tile[16, 16, F32]], o: Out[Tile[16, 16, F32]]):
        acc = pto.alloc((16, 16), F32)
        for j in pto.range(4):
            acc = pto.exp(pto.matmul(pto.load(a, row=0, col=j * 16, shape=(16, 16)), w)) + acc
        pto.store(o, acc)
    with pytest.raises(CompileError, match="mixes cube work") as e:
        mixed.compile("ascend_npu")
    assert e.value.loc is not None and e.value.loc.line > 0


def test_ascend_npu_refuses_what_it_cannot_keep_in_one_buffer():
    """Carried and merged tiles are computed in place; a K loop's Acc starts from zero."""
    @kernel
    def late(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]]):
        m = pto.alloc((8, 32), F32)
        s = pto.alloc((8, 32), F32)
        for j in pto.range(2):
            n = pto.exp(m)
            s = s + m  # m is read after its next value n is made
            m = n
        pto.store(y, m + s)

    @kernel
    def merged(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]]):
        s = pto.alloc((8, 32), F32)
        for j in pto.range(2):
            t = pto.load(x, row=0, col=j * 32, shape=(8, 32))
            with pto.when(j == 1):
                n = pto.exp(t)
                pto.store(y, s + n)  # s is read after its new value n is made
                s = n
        pto.store(y, s)

    @kernel
    def acc_from_one(a: In[Tensor[16, 64, F32]], b: In[Tile[16, 16, F32]],
                     c: Out[Tile[16, 16, F32]]):
        acc = pto.load(a, row=0, col=0, shape=(16, 16))  # C += A @ B needs the GM form
        for k in pto.range(4):
            acc = pto.matmul(pto.load(a, row=0, col=k * 16, shape=(16, 16)), b, acc)
        pto.store(c, acc)
    for k, why in ((late, "is not computed in place"),
                   (merged, "merged by this pto.when block is not computed in place"),
                   (acc_from_one, "an Acc tile starts from a zero fill")):
        with pytest.raises(CompileError, match=why) as e:
            k.compile("ascend_npu")
        assert e.value.loc is not None and e.value.loc.line > 0, k.name


def test_a_tile_read_in_place_is_copied_when_a_tensor_store_may_overwrite_it():
    @kernel
    def twice(x: In[Tile[8, 32, F32]], y: InOut[Tensor[8, 32, F32]]):
        t = pto.load(x)
        pto.store(y, t * 2.0, row=0, col=0)  # y is the same memory as x
        pto.store(y, t + 1.0, row=0, col=0)

    x0 = np.arange(256, dtype=np.float32).reshape(8, 32)
    data = x0.copy()
    X = Tensor(data=data)

    @workload
    def w():
        twice(x=X, y=X)
    _run(w())
    np.testing.assert_array_equal(data, x0 + 1)


def test_extreme_index_arithmetic_fails_the_task_instead_of_trapping():
    @kernel
    def wild(x: In[Tensor[8, 64, F32]], y: Out[Tile[8, 32, F32]], c: Scalar[DType.I64],
             d: Scalar[DType.I64]):
        pto.store(y, pto.load(x, row=0, col=c // d, shape=(8, 32)))

    X, Y = Tensor(data=np.ones((8, 64), np.float32)), Tensor(data=np.zeros((8, 32), np.float32))
    for d in (-1, 0):
        @workload
        def w():
            wild(x=X, y=Y, c=-2 ** 63, d=d)
        with pytest.raises(PtoError, match="divided by zero" if d == 0 else "outside 'x'"):
            _run(w())


def test_carried_tiles_are_updated_in_place_unless_the_old_value_is_read_later():
    """A K-loop accumulator stays resident (the matmul accumulates into the carried buffer, no
    copy per iteration); a carried value read after its next value exists is still copied."""
    from pto_wsp.backends.cpu_sim.lower_kernel import lower_kernel

    @kernel
    def kmm(a: In[Tensor[16, 64, F32]], b: In[Tensor[64, 16, F32]], c: Out[Tile[16, 16, F32]],
            d: Out[Tile[16, 1, F32]]):
        acc = pto.alloc((16, 16), F32)
        m = pto.alloc((16, 1), F32)
        s = pto.alloc((16, 1), F32)
        for k in pto.range(4, double_buffer=True):
            at = pto.load(a, row=0, col=k * 16, shape=(16, 16))
            acc = pto.matmul(at, pto.load(b, row=k * 16, col=0, shape=(16, 16)), acc)
            m_new = pto.rowmax(acc)
            s = (m_new - m) + s  # reads the old m after m_new exists, and s itself
            m = m_new
        pto.store(c, acc)
        pto.store(d, m + s)

    body = "\n".join(lower_kernel(kmm.ir()).body)
    loop = body[body.index("for ("):body.rindex("}")]
    acc_buf = loop.split("pto_tmatmul_acc_")[1].split("(")[1].split(",")[0]
    copied = [x.split(",")[0] for x in loop.split("memcpy(")[1:]]
    assert len(copied) == 2 and acc_buf not in copied  # m and s copied, acc never


def test_k_loop_matmul_operands_are_read_in_place_or_copied_when_columns_are_strided():
    """f32 matmul operands loaded in a loop are read where they lie (any row stride); a view
    with non-contiguous columns is copied instead. Both give the same bits."""
    from pto_wsp.backends.cpu_sim.lower_kernel import lower_kernel

    @kernel
    def kdot(a: In[Tensor[8, 64, F32]], b: In[Tensor[64, 16, F32]], c: Out[Tile[8, 16, F32]]):
        acc = pto.alloc((8, 16), F32)
        for k in pto.range(4, double_buffer=True):
            acc = pto.matmul(pto.load(a, row=0, col=k * 16, shape=(8, 16)),
                             pto.load(b, row=k * 16, col=0, shape=(16, 16)), acc)
        pto.store(c, acc)

    body = "\n".join(lower_kernel(kdot.ir()).body)
    assert "pto_tmatmul_acc_ld_f32(" in body and "a->a_cs == 1 ? a->a_rs" in body
    rng = np.random.default_rng(3)
    a = rng.standard_normal((8, 64), np.float32)
    b = rng.standard_normal((64, 16), np.float32)
    outs = []
    for a_view in (a, np.asfortranarray(a.T).T):  # contiguous rows; strided columns
        c = np.zeros((8, 16), np.float32)
        A, B, C = Tensor(data=a_view), Tensor(data=b), Tensor(data=c)

        @workload
        def w():
            kdot(a=A, b=B, c=C)
        _run(w())
        outs.append(c)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0], a @ b, rtol=1e-5, atol=1e-5)

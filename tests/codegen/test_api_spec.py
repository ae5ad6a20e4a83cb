"""The API specification's own samples (seeds/api-spec.md, feature-catalog.md), item by item:
each runs as the spec says, or is a located error naming what to write instead."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (Channel, CompileError, DType, Dense, DenseDyn, DispatchPolicy, In, Out, P, Pools,
                     ScheduleError, Tensor, Tile, TimingPolicy, TypeCheckError, consume, kernel,
                     TracePolicy, pto, send, where, workload)
from pto_wsp.ir import expr as irx

from _shared_kernels import compute, load

F32 = DType.F32
T = 48  # v9 cost of `attn`: TLOAD 16 + TMULS 16 + TSTORE 16


@kernel
def attn(q: In[Tile[1, 16, F32]], o: Out[Tile[1, 16, F32]]):
    pto.store(o, pto.mul(q, 2.0))


def attention_8_1():
    """Spec 8.1: a DenseDyn batch and Dense heads, loop variables b, h."""
    batch, heads = DenseDyn(4), Dense[8]
    Q = Tensor(data=np.ones((4, 8, 16), np.float32), name="Q")
    O = Tensor(data=np.zeros((4, 8, 16), np.float32), name="O")

    @workload
    def attention(batch, heads):
        for b, h in P(batch, heads):
            attn[b, h](q=Q[b, h], o=O[b, h])
    return attention(batch, heads), O


def test_keys_read_axis_values_by_axis_name():
    w, O = attention_8_1()
    s = (w.dispatch(DispatchPolicy.affinity(lambda t: t.get("batch"), num_aicpus=4))
         .streams(2).stream_by(lambda t: t.get("heads") % 2)
         .timing(TimingPolicy.immediate))
    assert s.module.schedule.dispatch.key == irx.Var("b")
    assert irx.free_vars(s.module.schedule.stream_by) == {"h"}
    s.compile().run()
    assert np.all(O.data == 2.0)
    # 4 batches on 4 AICPUs, each batch's 8 heads on its AICPU: the key really reads b
    for name in ("batch", "b"):
        by = w.dispatch(DispatchPolicy.affinity(lambda t: t.get(name), num_aicpus=4))
        assert by.compile().run().total_cycles == 8 * T


def test_unknown_key_name_lists_the_valid_ones():
    w, _ = attention_8_1()
    with pytest.raises(ScheduleError) as e:
        w.stream_by(lambda t: t.get("head") % 2)
    assert "t.get('head')" in str(e.value) and "b, batch, h, heads" in str(e.value)
    assert e.value.loc is not None and e.value.loc.file == __file__


@kernel
def attn_2k(q: In[Tile[1, 16, F32]], o: Out[Tile[1, 16, F32]]):
    pto.store(o, pto.add(q, 2.0))


@kernel
def attn_8k(q: In[Tile[1, 16, F32]], o: Out[Tile[1, 16, F32]]):
    pto.store(o, pto.add(q, 8.0))


@kernel
def attn_32k(q: In[Tile[1, 16, F32]], o: Out[Tile[1, 16, F32]]):
    pto.store(o, pto.add(q, 32.0))


@pytest.mark.parametrize("as_array", [False, True])
def test_predicate_reads_per_batch_python_data_at_run_time(as_array):
    """Spec 3.4, tiered attention: ``seq_lens[b]`` is a runtime array input of the artifact."""
    Q = Tensor(data=np.zeros((4, 16), np.float32), name="Q")
    O = Tensor(data=np.zeros((4, 16), np.float32), name="O")

    @workload
    def tiered_attention(batch, seq_lens):
        for b in P(batch):
            with P.when(seq_lens[b] <= 2048):
                attn_2k[b](q=Q[b], o=O[b])
            with P.when(seq_lens[b] <= 8192):  # Nested condition
                attn_8k[b](q=Q[b], o=O[b])
            with P.otherwise():
                attn_32k[b](q=Q[b], o=O[b])

    seq_lens = [512, 2048, 8192, 32768]
    prog = tiered_attention(Dense[4], np.array(seq_lens) if as_array else seq_lens).compile()
    prog.run()
    assert O.data[:, 0].tolist() == [2, 2, 8, 32]
    prog.set_axis_data("seq_lens", lengths=[9000, 100, 4096, 2049])  # no rebuild
    prog.run()
    assert O.data[:, 0].tolist() == [32, 2, 8, 8]
    assert seq_lens[1] == 2048  # the caller's list is untouched


def test_python_list_from_globals_indexed_by_loop_variable_says_pass_it():
    seq = [1, 2]
    X = Tensor(data=np.zeros((2, 16), np.float32), name="X")

    @workload
    def w():
        for b in P(Dense[2]):
            with P.when(seq[b] <= 1):  # MARK
                attn[b](q=X[b], o=X[b])
    with pytest.raises(TypeCheckError, match="parameter of the @workload") as e:
        w()
    assert e.value.loc.file == __file__


def test_streams_without_stream_by_assign_streams_round_robin():
    """Spec 4.3 ``streams(n)`` alone: task i runs on stream i % n (in order within a stream)."""
    w, _ = attention_8_1()  # 32 tasks on 4 AICPUs: 8 * T without streams
    one = w.dispatch(DispatchPolicy.round_robin(32))
    assert one.compile().run().total_cycles == T
    assert one.streams(4).compile().run().total_cycles == 8 * T
    assert one.streams(16).compile().run().total_cycles == 2 * T
    assert (one.streams(4).stream_by(lambda t: 0).compile().run().total_cycles == 32 * T)


def _pipeline(depth=None, ch_depth=None):
    """Spec 3.7: ``with P.pipe():`` producer/consumer; ``P.pipe(depth=N)`` (spec 3.0.1) sets
    the depth of the scope's channels created without one."""
    n = 8
    x = np.random.default_rng(0).standard_normal((n, 4, 16)).astype(np.float32)
    X, B = Tensor(data=x, name="X"), Tensor(data=np.zeros_like(x), name="B")
    Y = Tensor(data=np.zeros_like(x), name="Y")
    tiles = DenseDyn(n)
    ch = Channel[Tile](depth=ch_depth) if ch_depth is not None else Channel[Tile]()

    @workload
    def pipeline(tiles):
        with P.pipe(depth=depth):
            for i in P.seq(tiles):
                send(ch, load[i](src=X[i], buf=B[i]))
            with consume(ch) as t:
                compute[t](buf=B[t], result=Y[t])
    w = pipeline(tiles).dispatch(DispatchPolicy.work_steal(num_aicpus=4))
    stats = w.compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)
    return w, stats.total_cycles


def test_pipe_depth_is_the_default_channel_depth_of_the_scope():
    c = 3 * 64  # load and compute cost c each; depth 1 is serial, depth 4 overlaps
    w, one = _pipeline()
    assert "depth 1" in w.to_pto() and one == 8 * 2 * c
    w, four = _pipeline(depth=4)
    assert "depth 4" in w.to_pto() and four == 9 * c
    w, given = _pipeline(depth=4, ch_depth=1)  # a channel's own depth wins
    assert "depth 1" in w.to_pto() and given == one


def test_pipe_stages_argument_is_a_located_error():
    @workload
    def w():
        with P.pipe(Dense[3]):
            pass
    with pytest.raises(TypeCheckError, match="P.pipe takes no stages") as e:
        w()
    assert e.value.loc.file == __file__ and "P.pipe(depth=N)" in str(e.value)


def test_pools_custom_without_counts_splits_the_workers():
    """Feature catalog 9: ``Pools.custom()`` with no arguments."""
    w, O = attention_8_1()
    assert Pools.custom() == Pools.by_exec_unit()
    w.task_graph(pools=Pools.custom()).compile().run()
    assert np.all(O.data == 2.0)
    with pytest.raises(ScheduleError, match="both worker counts or neither") as e:
        Pools.custom(2)
    assert e.value.loc.file == __file__


def test_trace_cycles_cost_fn_replaces_the_cost_model():
    """Feature catalog 9: ``TracePolicy.cycles(cost_fn)``, cost_fn(kernel name, params)."""
    from pto_wsp.ir.parser import parse_module
    from pto_wsp.ir.printer import print_module
    w, O = attention_8_1()
    w = w.dispatch(DispatchPolicy.affinity(lambda t: t.get("batch"), num_aicpus=4))
    assert w.compile().run().total_cycles == 8 * T
    flat = w.task_graph(trace=TracePolicy.cycles(lambda name, params: 1000
                                                 if name == "attn" else None))
    prog = flat.compile()
    assert prog.run().total_cycles == 8 * 1000 and np.all(O.data == 2.0)
    assert {e["dur"] for e in prog.trace()["traceEvents"]
            if e.get("ph") == "X" and e["pid"] == 1} == {1000}  # simulated lanes
    per_batch = w.task_graph(trace=TracePolicy.cycles(lambda name, p: 100 * (p[0] + 1)))
    text = per_batch.to_pto()
    assert "cost @attn = " in text
    assert per_batch.compile().run().total_cycles == 8 * 400  # batch 3's AICPU: 8 x 400
    assert parse_module(text) == per_batch.module and print_module(parse_module(text)) == text
    keep = w.task_graph(trace=TracePolicy.cycles(lambda name, p: None))  # the cost model's
    assert keep.compile().run().total_cycles == 8 * T


def test_cost_fn_errors_are_located():
    w, _ = attention_8_1()
    with pytest.raises(ScheduleError, match="cannot trace the cost function") as e:
        w.task_graph(trace=TracePolicy.cycles(lambda name, p: int(p[0])))
    assert e.value.loc.file == __file__
    with pytest.raises(ScheduleError, match="not cycles"):
        w.task_graph(trace=TracePolicy.cycles(lambda name, p: "fast"))


def test_spec_imports_types_and_checking():
    """Spec 1.1/2.3/2.4 and feature catalog 14 import these from pto_wsp."""
    from pto_wsp import (AxisIndexError, IntVar, KernelRef, Task, TensorLayout, TensorReplicate,
                         TensorShard, TypeChecker, check_layouts_compatible, tensor_layout_join,
                         validate_axis_index)
    axis = Dense[8]()
    validate_axis_index(axis, 5)   # OK
    with pytest.raises(TypeError) as e:
        validate_axis_index(axis, 10)  # Raises TypeError
    assert isinstance(e.value, AxisIndexError) and e.value.loc.file == __file__
    s0, rep = TensorLayout((TensorShard(0), TensorReplicate())), TensorLayout.default(2)
    assert tensor_layout_join(rep, s0) == s0
    t1 = Tensor(data=np.zeros((4, 4), np.float32), layout=s0)
    t2 = Tensor(data=np.zeros((4, 4), np.float32),
                layout=TensorLayout((TensorShard(1), TensorReplicate())))
    assert check_layouts_compatible(t1, t1) == s0
    assert check_layouts_compatible(t1, t2) is None  # "Need relayout() between operands"
    assert isinstance(attn, KernelRef) and attn.symbol == "attn"
    assert attn.module == __name__ and [p.name for p in attn.signature] == ["q", "o"]
    assert "pto_kernel_attn" in attn.lower("cpu_sim").code
    w, _ = attention_8_1()
    TypeChecker().check(w)
    assert isinstance(Task().get("b"), type(Task().param(0)))
    assert isinstance(IntVar("n", 3), object)


def test_intvar_sizes_an_axis_and_reads_in_expressions_without_rebuild():
    """Spec 2.1 ``DenseDyn(size: int | IntVar)``."""
    from pto_wsp import IntVar
    n = IntVar("n", 4)
    X = Tensor(data=np.zeros((8, 16), np.float32), name="X")

    @workload
    def w():
        for i in P(DenseDyn(n)):
            with P.when(i < n - 1):
                attn[i](q=X[i], o=X[i])
    X.data[:] = 1
    prog = w().compile()
    prog.run()
    assert X.data[:, 0].tolist() == [2, 2, 2, 1, 1, 1, 1, 1]
    prog.set_axis_sizes(n=8)  # no rebuild
    prog.run()
    assert X.data[:, 0].tolist() == [4, 4, 4, 2, 2, 2, 2, 1]


def test_workload_type_check_knobs():
    """Feature catalog 14: ``@workload(type_check=True, fail_on_type_error=True)``."""
    @workload(type_check=True, fail_on_type_error=True)
    def strict_workload(batch):
        for b in P(batch):
            attn[b](q=Q[b], o=Q[b])
    Q = Tensor(data=np.zeros((4, 16), np.float32), name="Q")
    strict_workload(Dense[4])
    with pytest.raises(TypeCheckError, match="checks cannot be turned off") as e:
        @workload(type_check=False)
        def loose():
            pass
    assert e.value.loc.file == __file__


def test_kernel_call_without_axis_binding():
    """Spec 6.3 says binding is required; pto-wsp accepts an unbound call in a workload (a
    task with no axis values) and rejects one outside a workload, located."""
    X = Tensor(data=np.ones((1, 16), np.float32), name="X")
    Y = Tensor(data=np.zeros((1, 16), np.float32), name="Y")

    @workload
    def w():
        attn(q=X[0], o=Y[0])
    w().compile().run()
    assert np.all(Y.data == 2.0)
    with pytest.raises(TypeCheckError, match="inside a @workload") as e:
        attn(q=X[0], o=Y[0])
    assert e.value.loc.file == __file__
    with pytest.raises(TypeCheckError, match=r"t.param\(0\), but this call of .attn. binds 0"):
        w().dispatch(DispatchPolicy.affinity(lambda t: t.param(0), num_aicpus=2))


def test_deprecated_names_warn_and_do_what_the_replacement_does():
    """Spec 1.1 / 5.4: ``tl``, ``Shard``, ``Replicate``, ``Workload.layout(...)``."""
    import pto_wsp
    from pto_wsp import TensorLayout, TensorReplicate, TensorShard
    with pytest.warns(DeprecationWarning, match="use pto_wsp.pto"):
        from pto_wsp import tl
    assert tl is pto and tl.add is pto.add
    with pytest.warns(DeprecationWarning, match=r"use TensorShard\(mesh_axis\)"):
        assert pto_wsp.Shard(1) == TensorShard(1)
    with pytest.warns(DeprecationWarning, match=r"use TensorReplicate\(\)"):
        assert isinstance(pto_wsp.Replicate(), TensorReplicate)
    w, _ = attention_8_1()
    with pytest.warns(DeprecationWarning, match=r"relayout\(x, to=...\)") as rec:
        laid = w.layout("Q", TensorShard(0), TensorReplicate(), TensorReplicate())
    assert rec[0].filename == __file__
    assert laid.module.tensor("Q").layout == TensorLayout(
        (TensorShard(0), TensorReplicate(), TensorReplicate())).to_text()
    assert w.module.tensor("Q").layout is None  # a new workload, as the combinators
    with pytest.raises(CompileError, match="mesh"):  # checked like a declared layout
        laid.compile()
    laid.spatial_map(grid=(2,)).to_pto()
    with pytest.warns(DeprecationWarning), pytest.raises(TypeCheckError, match="not a tensor"):
        w.layout("nope", TensorShard(0))


@pytest.mark.parametrize("name, replacement", [
    ("task", "k[axes]"), ("ExternalKernel", "cpp_tu_path"), ("npu", "@kernel"),
    ("register_kernel", "workload.compile")])
def test_removed_legacy_names_are_located_errors(name, replacement):
    import pto_wsp
    legacy = getattr(pto_wsp, name)
    with pytest.raises(TypeCheckError, match="was removed") as e:
        legacy("flash_attn_v2", impl_path="kernels/flash_attn_v2.cpp")
    assert e.value.loc.file == __file__ and replacement in str(e.value)
    with pytest.raises(AttributeError):
        pto_wsp.no_such_name


@kernel
def work(x: In[Tile[1, 16, F32]], y: Out[Tile[1, 16, F32]]):
    pto.store(y, pto.add(x, 1.0))


def _spec7(cost_b: int):
    """Spec 7: process A runs a task (100 cycles), record(event), another task (200); process
    B runs a task (cost_b), synchronize(event), a task (100)."""
    from pto_wsp import Event, connect, process, query, record, synchronize, symbol_u64
    X = Tensor(data=np.zeros((4, 16), np.float32), name="X")
    Y = Tensor(data=np.zeros((4, 16), np.float32), name="Y")
    event = Event("sync")

    def a():
        work[0](x=X[0], y=Y[0])
        record(event)      # Signal completion (blocks until receiver ready)
        work[1](x=X[1], y=Y[1])

    def b():
        work[2](x=X[2], y=Y[2])
        synchronize(event)  # Wait for completion (blocks until sender ready)
        with P.when(query(event) == 0):  # Non-blocking check: taken, none pending
            work[3](x=X[3], y=Y[3])

    @workload
    def w():
        connect([process("A").produces(event).body(a),
                 process("B").consumes(event).body(b)], [event])
    costs = TracePolicy.cycles(lambda name, p: where(p[0] == 2, symbol_u64("cost_b"),
                                                     where(p[0] == 1, 200, 100)))
    prog = w().dispatch(DispatchPolicy.round_robin(8)).task_graph(trace=costs).compile()
    prog.set_symbol_u64("cost_b", cost_b)
    stats = prog.run()
    assert np.all(Y.data == 1.0)
    return stats


def test_event_is_a_rendezvous_in_simulated_time():
    # B's first task ends at 300: A's second task starts there and ends at 500 (a one-slot
    # buffer would let it run at 100..300, total 400)
    assert _spec7(300).total_cycles == 500
    assert _spec7(50).total_cycles == 300   # A late: B's second task waits for A's record


def test_channel_latency_in_simulated_time_without_rebuild():
    """Feature catalog 11: a constant channel latency (default 0), overridable at run time
    by the runtime symbol ``__pto_wsp_channel_latency_cycles``."""
    w, base = _pipeline(depth=4)  # compute i ends at (i + 2) c; the last at 9 c
    prog = w.compile()
    prog.set_channel_latency(100)  # each token arrives 100 cycles after its load ends
    assert prog.run().total_cycles == base + 100
    prog.set_symbol_u64("__pto_wsp_channel_latency_cycles", 300)
    assert prog.run().total_cycles == base + 300
    prog.set_channel_latency(0)
    assert prog.run().total_cycles == base and not prog.stats.compiled
    with pytest.raises(TypeCheckError, match="channel latency"):
        prog.set_channel_latency(-1)


def test_event_is_a_rendezvous_in_real_execution():
    """Spec 7: after ``record(event)`` returns, the receiver is ready: its earlier tasks have
    run, so the recorder's next task reads what they wrote."""
    from pto_wsp import Event, connect, process, record, synchronize
    X = Tensor(data=np.full((1, 16), 3.0, np.float32), name="X")
    A = Tensor(data=np.zeros((1, 16), np.float32), name="A")
    Z = Tensor(data=np.zeros((1, 16), np.float32), name="Z")
    event = Event("sync")

    def sender():  # listed first: without a rendezvous its task would read the old A
        record(event)
        work[0](x=A[0], y=Z[0])

    def receiver():
        attn[0](q=X[0], o=A[0])
        synchronize(event)

    @workload
    def w():
        connect([process("sender").produces(event).body(sender),
                 process("receiver").consumes(event).body(receiver)], [event])
    w().compile().run()
    assert np.all(Z.data == 7.0)  # 2 * 3 + 1

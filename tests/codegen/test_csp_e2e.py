"""CSP pipelines on cpu_sim: processes as coroutines, channels as token FIFOs whose slots are
synthetic regions (docs/cpu-sim.md, "CSP pipelines"). Numerics against sequential numpy
references, event ordering checked through data, deadlocks and closed channels as located
errors, determinism of cycles across thread counts, and backpressure in simulated time."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import (Channel, ChannelClosed, ChannelFull, CompileError, DeadlockError, Deps,
                     DispatchPolicy, DType, DenseDyn, Event, ExecutionError, In, InOut, Out, P, Scalar, Tensor,
                     Tile, connect, consume, kernel, process, pto, query, record, replicate, send,
                     synchronize, workload)

from _shared_kernels import compute, load

F32 = DType.F32
T = Tile[4, 16, F32]
N = 8  # tiles


@kernel
def store(result: In[T], output: Out[T]):
    pto.store(output, pto.add(result, 1.0))


@kernel
def bump(acc: InOut[T]):
    pto.store(acc, pto.add(acc, 1.0))


@kernel
def fill_k(z: In[T], out: Out[T], v: Scalar[F32] = 0.0):
    pto.store(out, pto.add(pto.mul(z, 0.0), v))


ZERO = Tensor(data=np.zeros((4, 16), np.float32), name="ZERO")


def fill(idx, out, v):
    return fill_k[idx](z=ZERO, out=out, v=v)


def _x(seed=0):
    return np.random.default_rng(seed).standard_normal((N, 4, 16)).astype(np.float32)


def _megakernel(depth: int, nbuf: int = 2, catalog: bool = False):
    """api-spec 8.3: loader -> compute -> store, three processes over two channels; the
    intermediate buffers are rings of ``nbuf`` tiles indexed by the token. ``catalog``: the
    feature catalog's form, processes built outside the workload whose bodies are
    consume(ch, fn), wired with connect."""
    x = _x()
    X = Tensor(data=x, name="X")
    TB = Tensor(data=np.zeros((nbuf, 4, 16), np.float32), name="TB")
    RB = Tensor(data=np.zeros((nbuf, 4, 16), np.float32), name="RB")
    Y = Tensor(data=np.zeros_like(x), name="Y")
    tiles = DenseDyn(N)
    l2c = Channel("load_to_compute", depth=depth)
    c2s = Channel("compute_to_store", depth=depth)

    def load_all():
        for i in P.seq(tiles):
            send(l2c, load[i](src=X[i], buf=TB[i % nbuf]))

    @workload
    def megakernel():
        with P.pipe():
            load_all()
            with consume(l2c) as t:
                send(c2s, compute[t](buf=TB[t % nbuf], result=RB[t % nbuf]))
            with consume(c2s) as r:
                store[r](result=RB[r % nbuf], output=Y[r])
    if catalog:
        computer = (process("computer").consumes(l2c).produces(c2s)
                    .body(consume(l2c, lambda t: send(c2s, compute[t](buf=TB[t % nbuf],
                                                                       result=RB[t % nbuf])))))
        storer = (process("storer").consumes(c2s)
                  .body(consume(c2s, lambda r: store[r](result=RB[r % nbuf], output=Y[r]))))

        @workload
        def megakernel():  # noqa: F811
            connect([process("loader").produces(l2c).body(load_all), computer, storer],
                    [l2c, c2s])
    return megakernel(), x, Y


@pytest.mark.parametrize("depth", [1, 2])
def test_consume_with_a_function_equals_the_with_form(depth):
    """consume(ch, fn) runs fn(token) as the body: same numbers and cycles as
    `with consume(ch) as t:`, on 1 and 2 threads, in both timing models."""
    def runs(w, x, Y):
        w = w.dispatch(DispatchPolicy.round_robin(2))
        out = []
        for threads, v9 in ((1, False), (2, True)):
            Y.data[:] = 0
            s = w.compile(num_threads=threads, v9_compat=v9).run()
            np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
            out.append((s.total_cycles, s.task_count))
        return out
    want = runs(*_megakernel(depth))
    assert runs(*_megakernel(depth, catalog=True)) == want and want[0][1] == 3 * N


def test_consume_function_as_a_pipe_statement():
    x = _x(6)
    X = Tensor(data=x, name="X")
    B = Tensor(data=np.zeros_like(x), name="B")
    Y = Tensor(data=np.zeros_like(x), name="Y")
    ch = Channel("c", depth=2)

    @workload
    def two_stage():
        with P.pipe():
            for i in P.seq(DenseDyn(N)):
                send(ch, load[i](src=X[i], buf=B[i]))
            consume(ch, lambda t: compute[t](buf=B[t], result=Y[t]))
    stats = two_stage().compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)
    assert stats.task_count == 2 * N


@pytest.mark.parametrize("depth", [1, 2, 0])
def test_megakernel_pipeline_matches_numpy(depth):
    w, x, Y = _megakernel(depth)
    stats = w.dispatch(DispatchPolicy.round_robin(1)).compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    # depth 0 (rendezvous): per token of each of the 2 channels a take and a join no-op
    assert stats.task_count == 3 * N + (2 * 2 * N if depth == 0 else 0)


@pytest.mark.parametrize("deps", [Deps.infer_bytes_overlap(), Deps.hybrid()])
def test_megakernel_under_overlap_and_hybrid_deps(deps):
    w, x, Y = _megakernel(2)
    w.task_graph(deps=deps).compile(num_threads=2).run()
    np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)


def test_same_results_and_cycles_on_one_and_two_threads():
    w, x, Y = _megakernel(2)
    w = w.dispatch(DispatchPolicy.round_robin(2))
    s1 = w.compile(num_threads=1).run()
    y1 = Y.data.copy()
    Y.data[:] = 0
    s2 = w.compile(num_threads=2).run()
    np.testing.assert_array_equal(Y.data, y1)
    np.testing.assert_allclose(y1, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    assert s1.total_cycles == s2.total_cycles > 0
    assert s1.task_count == s2.task_count == 3 * N


def _two_stage(depth: int):
    x = _x(1)
    X = Tensor(data=x, name="X")
    B = Tensor(data=np.zeros_like(x), name="B")
    Y = Tensor(data=np.zeros_like(x), name="Y")
    tiles = DenseDyn(N)
    ch = Channel("c", depth=depth)

    @workload
    def two_stage():
        with P.pipe():
            for i in P.seq(tiles):
                send(ch, load[i](src=X[i], buf=B[i]))
            with consume(ch) as t:
                compute[t](buf=B[t], result=Y[t])
    return two_stage().dispatch(DispatchPolicy.work_steal(num_aicpus=4)), x, Y


def test_backpressure_in_simulated_time():
    """load and compute cost the same c cycles (TLOAD + one element-wise op + TSTORE on a
    4x16 tile). Depth 1: the single slot is reused only after the consumer's compute ended,
    so load i+1 waits for compute i: everything is serial, N * 2c. Depth 4: loads run ahead
    and compute i overlaps load i+1: (N + 1) * c."""
    w1, x, Y = _two_stage(1)
    one = w1.compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)
    c = one.total_cycles // (2 * N)
    assert c == 3 * 64 and one.total_cycles == N * 2 * c
    w4, x, Y = _two_stage(4)
    four = w4.compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)
    assert four.total_cycles == (N + 1) * c


def test_replicated_workers_consume_each_token_exactly_once():
    x = _x(2)
    X = Tensor(data=x, name="X")
    Y = Tensor(data=np.zeros_like(x), name="Y")
    Acc = Tensor(data=np.zeros_like(x), name="Acc")
    Who = Tensor(data=np.zeros_like(x), name="Who")
    tiles = DenseDyn(N)
    work = Channel("work", depth=4)

    def gen():
        for i in P.seq(tiles):
            send(work, load[i](src=X[i], buf=Y[i]))

    def worker(k):
        with consume(work) as t:
            bump[t](acc=Acc[t])
            fill(t, Who[t], float(k + 1))
            compute[t](buf=Y[t], result=Y[t])

    @workload
    def farm():
        connect([process("gen").produces(work).body(gen),
                 replicate(process("worker").consumes(work).body(worker), 3)], [work])
    prog = farm().compile(num_threads=2)
    stats = prog.run()
    np.testing.assert_array_equal(Acc.data, 1.0)  # each token exactly once
    np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)
    who = Who.data[:, 0, 0].copy()
    # the scheduler resumes processes round-robin and a consumer yields after each token:
    # the workers take the tokens in turn
    np.testing.assert_array_equal(who, [1, 2, 3] * (N // 3) + [1, 2, 3][:N % 3])
    assert stats.task_count == 4 * N
    Acc.data[:] = 0
    Who.data[:] = 0
    again = prog.run()
    np.testing.assert_array_equal(Who.data[:, 0, 0], who)  # deterministic token order
    assert again.total_cycles == stats.total_cycles


def _event_workload(with_sync: bool):
    """Process 'reader' is listed first, so without synchronize its task is generated
    before 'writer''s and reads the old A (write-after-read); synchronize(ev) makes it
    wait for writer's record(ev): it then reads writer's result."""
    x = _x(3)
    X = Tensor(data=x, name="X")
    A = Tensor(data=np.zeros_like(x[:1]), name="A")
    Z = Tensor(data=np.zeros_like(x[:1]), name="Z")
    ev = Event("ready")

    def reader():
        if with_sync:
            synchronize(ev)
        load[0](src=A[0], buf=Z[0])

    def writer():
        compute[0](buf=X[0], result=A[0])
        if with_sync:  # a rendezvous: a record without a receiver never completes
            record(ev)

    @workload
    def events():
        connect([process("reader").consumes(ev).body(reader),
                 process("writer").produces(ev).body(writer)], [ev])
    return events(), x, Z


def test_record_synchronize_orders_a_task_after_another_process():
    w, x, Z = _event_workload(True)
    prog = w.compile()
    stats = prog.run()
    np.testing.assert_allclose(Z.data[0], np.exp(x[0]), rtol=1e-5, atol=1e-6)
    assert stats.task_count == 5  # 2 kernels + the record, synchronize and join no-op tasks
    w, x, Z = _event_workload(False)
    w.compile().run()
    np.testing.assert_array_equal(Z.data[0], 0.0)  # control: no event, the old A


def test_record_without_a_receiver_is_a_deadlock():
    """Spec 7: record blocks until a receiver is ready; none ever is."""
    X = Tensor(data=np.zeros((1, 4, 16), np.float32), name="X")
    ev = Event("lonely")

    @workload
    def w():
        connect([process("writer").produces(ev).body(lambda: (bump[0](acc=X[0]),
                                                                 record(ev)))], [ev])
    with pytest.raises(ChannelFull, match="'writer' waits for a receiver on rendezvous "
                                          "channel 'lonely'") as e:
        w().compile().run()
    assert isinstance(e.value, DeadlockError)  # ChannelFull: a deadlock on a send


def test_query_in_when():
    """'tester' runs after 'signaller' recorded: query is 1 before synchronize takes the
    token and 0 after it."""
    Q = Tensor(data=np.zeros((2, 4, 16), np.float32), name="Q")
    ev = Event("ev")

    def signaller():
        record(ev)

    def tester():
        for j in (0, 1):
            with P.when(query(ev) == 1):
                fill(j, Q[j], 1.0)
            with P.otherwise():
                fill(j, Q[j], 2.0)
            if j == 0:
                synchronize(ev)

    @workload
    def querying():
        connect([process("signaller").produces(ev).body(signaller),
                 process("tester").consumes(ev).body(tester)], [ev])
    querying().compile().run()
    np.testing.assert_array_equal(Q.data[0], 1.0)
    np.testing.assert_array_equal(Q.data[1], 2.0)


def test_deadlock_is_a_located_error_not_a_hang():
    a, b = Event("a"), Event("b")

    def p():
        synchronize(a)
        record(b)

    def q():
        synchronize(b)
        record(a)

    @workload
    def stuck():
        connect([process("p").consumes(a).produces(b).body(p),
                 process("q").consumes(b).produces(a).body(q)], [a, b])  # LINE-DEADLOCK
    with pytest.raises(DeadlockError) as ei:
        stuck().compile().run()
    assert not isinstance(ei.value, ChannelFull)  # both wait to receive
    msg = str(ei.value)
    for word in ("'p'", "'q'", "'a'", "'b'", "deadlock"):
        assert word in msg
    line = next(i for i, s in enumerate(Path(__file__).read_text().splitlines(), 1)
                if s.endswith("# LINE-DEADLOCK"))
    assert ei.value.loc is not None and ei.value.loc.line in (line - 1, line)


def test_synchronize_on_closed_empty_channel_fails():
    ev = Event("once")
    Q = Tensor(data=np.zeros((1, 4, 16), np.float32), name="Q")

    def sig():
        record(ev)

    def waiter():
        synchronize(ev)
        synchronize(ev)  # LINE-CLOSED
        fill(0, Q[0], 1.0)

    @workload
    def closed():
        connect([process("sig").produces(ev).body(sig),
                 process("waiter").consumes(ev).body(waiter)], [ev])
    with pytest.raises(ChannelClosed, match="closed") as ei:
        closed().compile().run()
    assert isinstance(ei.value, ExecutionError)
    line = next(i for i, s in enumerate(Path(__file__).read_text().splitlines(), 1)
                if s.endswith("# LINE-CLOSED"))
    assert ei.value.loc.line == line
    np.testing.assert_array_equal(Q.data, 0.0)


def test_pipe_inside_a_loop_captures_the_loop_variable():
    x = np.random.default_rng(4).standard_normal((3, N, 4, 16)).astype(np.float32)
    X = Tensor(data=x, name="X")
    B = Tensor(data=np.zeros_like(x), name="B")
    Y = Tensor(data=np.zeros_like(x), name="Y")
    batches, tiles = DenseDyn(3), DenseDyn(N)
    ch = Channel("c", depth=1)

    @workload
    def batched():
        for b in P.seq(batches):
            with P.pipe():
                for i in P.seq(tiles):
                    send(ch, load[b, i](src=X[b, i], buf=B[b, i]))
                with consume(ch) as t:
                    compute[b, t](buf=B[b, t], result=Y[b, t])
    stats = batched().compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)
    assert stats.task_count == 2 * 3 * N


def test_explicit_deps_rejected_at_the_pipe():
    w, _, _ = _megakernel(1)
    with pytest.raises(CompileError, match="Deps.explicit") as ei:
        w.task_graph(deps=Deps.explicit()).compile()
    assert ei.value.loc is not None and ei.value.hint


def test_generated_c_is_warning_free():
    w, _, _ = _event_workload(True)
    prog = w.compile()
    with tempfile.TemporaryDirectory() as d:
        for n in ("orchestrate.c", "kernels.h"):
            Path(d, n).write_text(prog.sources[n])
        rt = Path(__file__).resolve().parents[2] / "runtime_c"
        r = subprocess.run([os.environ.get("CC", "gcc"), "-std=gnu11", "-O2", "-Wall",
                            "-Wextra", "-fsyntax-only", "-I", str(rt), "-I", d,
                            str(Path(d, "orchestrate.c"))], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr, r.stderr


def test_index_error_inside_a_process_is_located():
    x = _x(5)
    X = Tensor(data=x, name="X")
    B = Tensor(data=np.zeros_like(x), name="B")
    tiles = DenseDyn(N)
    ch = Channel("c", depth=2)

    @workload
    def oob():
        with P.pipe():
            for i in P.seq(tiles):
                send(ch, load[i](src=X[i], buf=B[i]))
            with consume(ch) as t:
                compute[t](buf=B[t], result=B[t + 5])  # LINE-OOB
    with pytest.raises(ExecutionError, match="out of bounds") as ei:
        oob().compile().run()
    line = next(i for i, s in enumerate(Path(__file__).read_text().splitlines(), 1)
                if s.endswith("# LINE-OOB"))
    assert ei.value.loc.line == line and "(value 8)" in str(ei.value)


def test_v9_timing_respects_token_and_process_order():
    """Every task of _megakernel costs c = 192 cycles (TLOAD + one element-wise op + TSTORE,
    64 each on a 4x16 tile). The orchestration submits L0 L1 C0 S0 L2 C1 S1 L3 C2 S2 ...
    (the loader blocks on the depth-2 channel). With enough AICPUs, L_k ends at (k+1)c, C_k
    at (k+2)c (after L_k and C_(k-1)), S_k at (k+3)c: the makespan is (N+2)c, never below
    one process's own serial N*c; on one AICPU everything is serial: 3*N*c."""
    c = 192
    w, x, Y = _megakernel(2)
    for v9 in (False, True):
        Y.data[:] = 0
        assert w.compile(v9_compat=v9).run().total_cycles == (N + 2) * c
        np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    one = w.dispatch(DispatchPolicy.round_robin(1)).compile(v9_compat=True).run()
    assert one.total_cycles == 3 * N * c


def test_v9_pipeline_with_a_bottleneck_stage():
    """The issue's reproducer (64x64 tiles): copy l = TLOAD + TSTORE = 2u, exp c = 3u, copy
    s = 2u (u = 4096). The compute process is the bottleneck: C_k ends at l + (k+1)c, the
    last store s later: l + N*c + s = 28u = 114,688 in both timing models (v9 said 61,440,
    below compute's own serial N*c = 98,304)."""
    B = Tile[64, 64, F32]

    @kernel
    def copy(src: In[B], dst: Out[B]):
        pto.store(dst, src)

    @kernel
    def expo(src: In[B], dst: Out[B]):
        pto.store(dst, pto.exp(src))
    x = np.random.default_rng(7).standard_normal((N, 64, 64)).astype(np.float32)
    X, Y = Tensor(data=x, name="X"), Tensor(data=np.zeros_like(x), name="Y")
    TB, RB = (Tensor(data=np.zeros((2, 64, 64), np.float32), name=n) for n in ("TB", "RB"))
    l2c, c2s = Channel("l2c", depth=2), Channel("c2s", depth=2)

    @workload
    def bottleneck():
        with P.pipe():
            for i in P.seq(DenseDyn(N)):
                send(l2c, copy[i](src=X[i], dst=TB[i % 2]))
            consume(l2c, lambda t: send(c2s, expo[t](src=TB[t % 2], dst=RB[t % 2])))
            consume(c2s, lambda r: copy[r](src=RB[r % 2], dst=Y[r]))
    for v9 in (False, True):
        Y.data[:] = 0
        assert bottleneck().compile(v9_compat=v9).run().total_cycles == 28 * 4096 == 114_688
        np.testing.assert_allclose(Y.data, np.exp(x), rtol=1e-5, atol=1e-6)


def test_pipelines_with_windows_v9_timing_and_traces():
    from pto_wsp import TaskWindow, TracePolicy, WindowMode, WindowOverflowError
    w, x, Y = _megakernel(2)
    w.task_graph(window=TaskWindow(2, "tasks", WindowMode.STALL)).compile().run()
    np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    with pytest.raises(WindowOverflowError):
        w.task_graph(window=TaskWindow(2, "tasks", WindowMode.ABORT)).compile().run()
    Y.data[:] = 0
    w.compile(v9_compat=True).run()
    np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    prog = w.task_graph(trace=TracePolicy.cycles()).compile()
    prog.run()
    assert prog.trace()["traceEvents"]


def test_pipeline_from_pto_text_runs(tmp_path):
    import pto_wsp
    from pto_wsp.ir.printer import print_module
    w, x, _ = _megakernel(1)
    path = tmp_path / "mega.pto"
    path.write_text(print_module(w.module))
    prog = pto_wsp.compile(str(path))
    y = np.zeros_like(x)
    stats = prog.run(X=x, TB=np.zeros((2, 4, 16), np.float32),
                     RB=np.zeros((2, 4, 16), np.float32), Y=y)
    np.testing.assert_allclose(y, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    assert stats.task_count == 3 * N

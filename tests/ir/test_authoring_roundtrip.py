"""Python-authored workloads print to .pto and parse back to the same IR."""

import numpy as np

from pto_wsp import (DType, Deps, Dense, DenseDyn, DispatchPolicy, In, InOut, Location, Out, P,
                     Pools, Ragged, ReadyPolicy, Scalar, Sparse, StartPolicy, TaskWindow,
                     Tensor, Tensor as TensorT, Tile, TimingPolicy, TracePolicy, WindowMode,
                     cast, combine, kernel, pto, sequential, slot_load_u64, slot_set_u64,
                     slot_u64, symbol_f32, symbol_i64, symbol_u64, where, workload)
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module
from pto_wsp.layout import MemLayout, TensorLayout

F32 = DType.F32


def _round_trip(w):
    text = w.to_pto()
    m = parse_module(text, "<authored>")
    assert m == w.module
    assert print_module(m) == text
    return text


@kernel
def rms(x: In[Tile[16, 128, F32]], out: Out[Tile[16, 128, F32]]):
    pto.store(out, pto.mul(x, pto.rsqrt(pto.rowmean(pto.mul(x, x)))))


@kernel
def ops(x: In[Tile[16, 64, F32]], y: InOut[Tile[16, 64, F32]], s: Scalar[F32] = 0.5):
    a = pto.softmax(x)
    b = pto.gelu(a) + pto.silu(a) * s
    m = pto.cmp(a, b, "lt")
    c = pto.select(m, a, b)
    d = pto.cast(pto.cast(c, DType.F16, round="floor"), F32)
    row = pto.interleave(pto.extract(d, 1, 64), pto.extract(d, 1, 64, row=1))
    pairs = pto.mrgsort(pto.sort32(row, pto.iota((1, 128), DType.U32)), block_len=64)
    v = pto.broadcast(pto.extract(pto.slice_even(pairs), 1, 64), (16, 64))
    e = pto.interleave(pto.slice_even(v), pto.slice_odd(v))
    f = pto.rowmul(e, pto.rowsum(e)) + pto.colmul(e, pto.colmax(e))
    g = pto.broadcast(pto.rowmax(f), (16, 64)) - 1.0
    pto.store(y, pto.maximum(g, pto.load(y)) / 3.0)


@kernel
def ints(a: In[Tile[8, 32, DType.I32]], out: Out[Tile[8, 32, DType.I32]]):
    z = pto.iota((8, 32), DType.I32, start=5, step=-2)
    pto.store(out, pto.shl(pto.bitwise_xor(pto.load(a), z), 2))


@kernel
def mm(a: In[Tile[16, 32, DType.F16]], b: In[Tile[32, 16, DType.F16]],
       c: InOut[Tile[16, 16, F32]]):
    pto.store(c, pto.matmul(a, b, acc=pto.load(c)))


@kernel(cpp_src="for (int i = 0; i < 4; ++i) {\n  y[i] = x[i] * 2.0f;\n}\n",
        cpp_includes=("math.h",))
def custom(x: In[TensorT], y: Out[TensorT], n: Scalar[DType.I64] = 4):
    pass


def test_rmsnorm_with_schedule():
    X = Tensor(data=np.zeros((2, 4, 16, 128), np.float32), shape=(2, 4, 16, 128), dtype=F32)
    Y = Tensor(data=np.zeros((2, 4, 16, 128), np.float32), shape=(2, 4, 16, 128), dtype=F32)
    batch, tiles = DenseDyn(2), Dense[4]()

    @workload
    def norm():
        for b, t in P(batch, tiles):
            rms[b, t](x=X[b, t], out=Y[b][t])

    w = norm()
    _round_trip(w)
    w = (w.dispatch(DispatchPolicy.affinity(lambda t: t.get("b") % 2, num_aicpus=2))
         .streams(2).stream_by(lambda t: t.t + t.b * 4).timing(TimingPolicy.interleaved(2))
         .spatial_map((2, 1))
         .task_graph(deps=Deps.infer_bytes_overlap(), window=TaskWindow(16, "bytes",
                                                                          WindowMode.ABORT),
                     pools=Pools.custom(3, 1), ready=ReadyPolicy.priority(lambda t: -t.t),
                     start=StartPolicy.threshold(4), trace=TracePolicy.both()))
    text = _round_trip(w)
    assert "stream_by = %t + %b * 4" in text
    for policy in (DispatchPolicy.round_robin(4), DispatchPolicy.hash(lambda t: t.b),
                   DispatchPolicy.dispatch_by(lambda t: where(t.b > 0, 1, 0), 3),
                   DispatchPolicy.work_steal()):
        _round_trip(w.dispatch(policy))
    for timing in (TimingPolicy.immediate, TimingPolicy.batched(3),
                   TimingPolicy.rate_limit(7)):
        _round_trip(w.timing(timing))
    for kw in (dict(deps=Deps.explicit()), dict(deps=Deps.hybrid()),
               dict(deps=Deps.infer_tensor_map_exact()), dict(pools=Pools.by_exec_unit()),
               dict(pools=Pools.single()), dict(ready=ReadyPolicy.work_steal()),
               dict(ready=ReadyPolicy.fifo()), dict(start=StartPolicy.after_orchestration()),
               dict(trace=TracePolicy.cycles()), dict(trace=TracePolicy.wall_clock()),
               dict(trace=TracePolicy.none()),
               dict(window=TaskWindow(8, "tasks", WindowMode.BENCHMARK))):
        _round_trip(w.task_graph(**kw))


def test_every_traced_op_and_custom_bodies():
    X = Tensor(data=np.zeros((4, 16, 64), np.float32), shape=(4, 16, 64), dtype=F32)
    Y = Tensor(data=np.zeros((4, 16, 64), np.float32), shape=(4, 16, 64), dtype=F32,
               location=Location.L2)
    A = Tensor(data=np.zeros((8, 32), np.int32), shape=(8, 32), dtype=DType.I32)
    B = Tensor(data=np.zeros((8, 32), np.int32), shape=(8, 32), dtype=DType.I32)
    H1 = Tensor(data=np.zeros((16, 32), np.float16), shape=(16, 32), dtype=DType.F16)
    H2 = Tensor(data=np.zeros((32, 16), np.float16), shape=(32, 16), dtype=DType.F16)
    C = Tensor(data=np.zeros((16, 16), np.float32), shape=(16, 16), dtype=F32)
    n = Dense[4]()

    @workload
    def everything():
        for i in P.seq(n):
            ops[i](x=X[i], y=Y[i])
            ops[i](X[i], Y[i], 0.25)
        ints(a=A, out=B)
        mm(a=H1, b=H2, c=C)
        custom(x=X, y=Y)
        custom(x=X[1:3], y=Y[0:2], n=cast(symbol_i64("k"), DType.I64))

    text = _round_trip(everything())
    assert "custom body" in text and "%Y[]" in text


def test_dynamic_structure():
    T = Tensor(data=np.zeros((4, 16, 16), np.float32), shape=(4, 16, 16), dtype=F32)
    U = Tensor(data=np.zeros((8, 16, 16), np.float32), shape=(8, 16, 16), dtype=F32)
    K = Tensor(data=np.zeros((4, 8), np.int32), shape=(4, 8), dtype=DType.I32)
    batch = Dense[4]()
    lengths = Ragged(batch, [1, 3, 0, 2])
    routing = Sparse(4, [0, 1, 3, 3, 4], [2, 0, 7, 5])

    @kernel
    def k(x: In[Tile[16, 16, F32]], y: Out[Tile[16, 16, F32]], e: Scalar[DType.I64] = 0):
        pto.store(y, pto.exp(x))

    @workload
    def dyn():
        for b in P(batch):
            for j in P.seq(lengths[b]):
                with P.when(j == 0):
                    k[b, j](x=T[b], y=U[j])
                with P.when((j > 1).logical_and(b < lengths[b].size())):
                    k[b, j](x=T[b], y=U[j + 1])
                with P.otherwise():
                    k[b, j](x=T[b], y=U[2], e=-j)
            slot_load_u64(3, K[b], 0, 5)
            slot_set_u64(4, slot_u64(3) * 2 + symbol_u64("cut"))
            for e in P.sel(routing[b]):
                with P.when(slot_u64(4) > e):
                    k[b, e](x=T[b], y=U[e], e=e)

    @workload
    def other():
        for b in P(batch, names="q"):
            with P.when(symbol_f32("temp") > 0.5):
                k[b](x=T[b], y=U[b + 4])

    w = dyn()
    _round_trip(w)
    _round_trip(combine(w, other()))
    _round_trip(sequential(other(), w))


def test_layouts_round_trip():
    lay = TensorLayout.sharded(0, 2, 0, MemLayout.row_major((32, 16)))
    X = Tensor(data=np.zeros((32, 16), np.float32), shape=(32, 16), dtype=F32, layout=lay)
    Y = Tensor(data=np.zeros((32, 16), np.float32), shape=(32, 16), dtype=F32)
    n = Dense[2]()

    @kernel
    def cp(x: In[Tile[16, 16, F32]], y: Out[Tile[16, 16, F32]]):
        pto.store(y, pto.load(x))

    @workload
    def lay_w():
        for i in P(n):
            cp[i](x=X[i * 16:i * 16 + 16], y=Y[i * 16:i * 16 + 16])

    text = _round_trip(lay_w().spatial_map(2))
    assert "layout<S(0),R; row_major(32,16)>" in text


def test_csp_pipelines_and_events():
    from pto_wsp import (Channel, Event, connect, consume, process, query, record, replicate,
                         send, synchronize)

    @kernel
    def ld(src: In[Tile[4, 16, F32]], buf: Out[Tile[4, 16, F32]]):
        pto.store(buf, pto.mov(src))

    @kernel
    def comp(buf: InOut[Tile[4, 16, F32]]):
        pto.store(buf, pto.exp(buf))

    Inp = Tensor(data=np.zeros((8, 4, 16), np.float32), name="Inp")
    Buf = Tensor(data=np.zeros((8, 4, 16), np.float32), name="Buf")
    tiles = DenseDyn(8)
    l2c, work, done = Channel("l2c", depth=2), Channel("work", depth=4), Event("done")

    @workload
    def pipeline():
        with P.pipe():
            for i in P.seq(tiles):
                send(l2c, ld[i](src=Inp[i], buf=Buf[i]))
            with consume(l2c) as tile:
                comp[tile](buf=Buf[tile])
                record(done)

    text = _round_trip(pipeline())
    assert "send %done\n" in text

    def gen():
        for i in P.seq(tiles):
            send(work, ld[i](src=Inp[i], buf=Buf[i]))

    def worker(k):
        with consume(work) as t:
            with P.when(query(done) == 0):
                comp[t, k](buf=Buf[t])
        synchronize(done)

    @workload
    def farm():
        connect([process("gen").produces(work).body(gen),
                 replicate(process("worker").consumes(work, done).body(worker), 2)],
                [work, done])

    text = _round_trip(farm())
    assert "wait %done" in text and "pending(%done) == 0" in text

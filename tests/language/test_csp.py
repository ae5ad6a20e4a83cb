"""CSP authoring: channels, P.pipe processes, connect/replicate, events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pto_wsp import (Channel, CompileError, DType, DenseDyn, Event, In, InOut, Out, P, Tensor,
                     Tile, TypeCheckError, connect, consume, kernel, process, pto, query, record,
                     replicate, send, synchronize, workload)
from pto_wsp.ir import nodes as ir
from pto_wsp.ir.parser import parse_module

F32 = DType.F32


@kernel
def load(src: In[Tile[4, 16, F32]], buf: Out[Tile[4, 16, F32]]):
    pto.store(buf, pto.mov(src))


@kernel
def compute(buf: InOut[Tile[4, 16, F32]]):
    pto.store(buf, pto.exp(buf))


Inp = Tensor(data=np.zeros((8, 4, 16), np.float32), name="Inp")
Buf = Tensor(data=np.zeros((8, 4, 16), np.float32), name="Buf")
tiles = DenseDyn(8)
l2c = Channel("load_to_compute", depth=2)
done = Event("done")


def test_pipe_scope_makes_one_process_per_statement():
    @workload
    def pipeline():
        with P.pipe():
            for i in P.seq(tiles):
                send(l2c, load[i](src=Inp[i], buf=Buf[i]))
            with consume(l2c) as tile:
                compute[tile](buf=Buf[tile])
                record(done)
    pipe = pipeline().module.workload.body[0]
    assert isinstance(pipe, ir.Pipe)
    assert [(c.name, c.depth) for c in pipe.channels] == [("load_to_compute", 2), ("done", 0)]
    p0, p1 = pipe.processes
    assert p0.produces == ("load_to_compute",) and p0.consumes == ()
    assert p1.consumes == ("load_to_compute",) and p1.produces == ("done",)
    cons = p1.body[0]
    assert isinstance(cons, ir.Consume) and cons.var == "tile"
    assert isinstance(cons.body[1], ir.Send) and cons.body[1].call is None


def test_connect_replicate_and_events():
    work = Channel("work", depth=4)

    def gen():
        for i in P.seq(tiles):
            send(work, load[i](src=Inp[i], buf=Buf[i]))

    def worker(k):
        with consume(work) as t:
            with P.when(query(done) == 0):
                compute[t, k](buf=Buf[t])
        synchronize(done)

    @workload
    def farm():
        connect([process("gen").produces(work).body(gen),
                 replicate(process("worker").consumes(work, done).body(worker), 3)],
                [work, done])
    pipe = farm().module.workload.body[0]
    assert [p.name for p in pipe.processes] == ["gen", "worker_0", "worker_1", "worker_2"]
    w2 = pipe.processes[3]
    assert isinstance(w2.body[-1], ir.Wait)
    assert w2.body[0].body[0].branches[0][1][0].axes[1].value == 2  # instance index


def test_csp_errors():
    with pytest.raises(TypeCheckError, match="does not declare it"):
        @workload
        def w1():
            connect([process("p").body(lambda: record(done))], [done])
        w1()
    with pytest.raises(TypeCheckError, match="depth must be"):
        Channel("c", depth=-1)
    with pytest.raises(TypeCheckError, match="kernel call written directly"):
        @workload
        def w2():
            with P.pipe():
                for i in P.seq(tiles):
                    h = load[i](src=Inp[i], buf=Buf[i])
                    compute[i](buf=Buf[i])
                    send(l2c, h)
        w2()


def _line(marker: str) -> int:
    return next(i for i, s in enumerate(Path(__file__).read_text().splitlines(), 1)
                if s.endswith(marker))


def test_consume_with_a_function_traces_it_as_the_body():
    """consume(ch, fn): fn receives the token; as a statement and as a process body (built
    inside or outside the workload) it gives the same IR as the `with` form."""
    def with_form():
        with consume(l2c) as t:
            compute[t](buf=Buf[t])

    def ir_of(*second):
        @workload
        def w():
            with P.pipe():
                for i in P.seq(tiles):
                    send(l2c, load[i](src=Inp[i], buf=Buf[i]))
                second[0]()
        return w().module.workload.body[0].processes[1].body
    want = ir_of(with_form)
    assert ir_of(lambda: consume(l2c, lambda t: compute[t](buf=Buf[t]))) == want
    outside = process("c").consumes(l2c).body(consume(l2c, lambda t: compute[t](buf=Buf[t])))

    def gen():
        for i in P.seq(tiles):
            send(l2c, load[i](src=Inp[i], buf=Buf[i]))

    @workload
    def wired():
        inside = process("c").consumes(l2c).body(consume(l2c, lambda t: compute[t](buf=Buf[t])))
        connect([process("g").produces(l2c).body(gen), inside], [l2c])
    @workload
    def wired_outside():
        connect([process("g").produces(l2c).body(gen), outside], [l2c])
    for w in (wired, wired_outside):
        body = w().module.workload.body
        assert len(body) == 1  # the consume went into the process, not the workload
        assert body[0].processes[1].body == want


def test_consume_second_argument_errors():
    with pytest.raises(TypeCheckError, match="second argument, got int") as ei:
        consume(l2c, 3)  # LINE-CONSUME-INT
    assert ei.value.loc.line == _line("# LINE-CONSUME-INT") and ei.value.hint
    with pytest.raises(TypeCheckError, match="exactly one parameter, the token"):
        consume(l2c, lambda: None)
    with pytest.raises(TypeCheckError, match="must be an identifier"):
        consume(l2c, "1x")
    with pytest.raises(TypeCheckError, match="not a `with` block"):
        @workload
        def w():
            with P.pipe():
                with consume(l2c, lambda t: compute[t](buf=Buf[t])):
                    pass
        w()


def test_consume_outside_a_pipeline_is_a_located_error():
    @workload
    def stray():
        for i in P.seq(tiles):
            send(l2c, load[i](src=Inp[i], buf=Buf[i]))
        with consume(l2c) as t:  # LINE-STRAY
            compute[t](buf=Buf[t])

    @workload
    def after():
        with P.pipe():
            for i in P.seq(tiles):
                send(l2c, load[i](src=Inp[i], buf=Buf[i]))
        with consume(l2c) as t:  # LINE-AFTER
            compute[t](buf=Buf[t])
    with pytest.raises(TypeCheckError, match="send on channel 'load_to_compute' is outside a "
                                             "pipeline") as ei:
        stray()
    assert "with P.pipe():" in ei.value.hint and "connect(" in ei.value.hint
    with pytest.raises(TypeCheckError, match="consume on channel 'load_to_compute' is "
                                             "outside a pipeline") as ei:
        after()
    assert ei.value.loc.line == _line("# LINE-AFTER")
    text = ("module @m\n\nworkload @w {\n  pipe {\n    channel %c depth 1\n  }\n"
            "  wait %c\n}\n")
    with pytest.raises(TypeCheckError, match="synchronize on channel 'c' is outside") as ei:
        parse_module(text, "m.pto")
    assert ei.value.loc.line == 7


def test_cpu_sim_runs_pipelines():
    x = np.random.default_rng(0).standard_normal((8, 4, 16)).astype(np.float32)
    inp = Tensor(data=x, name="Inp")
    buf = Tensor(data=np.zeros_like(x), name="Buf")

    @workload
    def pipeline():
        with P.pipe():
            for i in P.seq(tiles):
                send(l2c, load[i](src=inp[i], buf=buf[i]))
            with consume(l2c) as tile:
                compute[tile](buf=buf[tile])
    stats = pipeline().compile().run()
    np.testing.assert_allclose(buf.data, np.exp(x), rtol=1e-5)
    assert stats.task_count == 16


def test_channels_outside_a_pipeline_are_rejected_at_compile():
    ev = Event("lonely")

    @workload
    def stray():
        record(ev)
    with pytest.raises(CompileError, match="lonely"):
        stray().compile()

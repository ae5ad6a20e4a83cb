"""The task-generation plan (backends/ascend/plan.py) and its interpreter (runtime_c/pto_plan.c)
against the generated orchestration: the same submitted stream (kernel ids, argument bytes,
regions, scopes, keys, indices; per AICPU too), bit-equal outputs, equal simulated cycles;
dynamic inputs through the same plan; malformed plans rejected with a clear code."""

from __future__ import annotations

import importlib.util
import random
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import (Channel, ChannelClosed, ChannelFull, DType, Dense, DenseDyn, Deps,
                     DispatchPolicy, Event, ExecutionError, In, Out, P, Pools, Ragged, ReadyPolicy, Scalar, Sparse, StartPolicy, TaskWindow,
                     Tensor, Tile, TimingPolicy, TracePolicy, WindowMode, cast, consume, kernel,
                     pto, send, slot_load_u64, slot_set_u64, slot_u64, symbol_f32,
                     symbol_i64, symbol_u64, where, workload, connect, process, query,
                     synchronize)
from pto_wsp import record as record_event
from pto_wsp.backends.ascend import plan as planmod
from pto_wsp.errors import CompileError
from pto_wsp.language.scalar import max_, min_

F32 = DType.F32
ROOT = Path(__file__).resolve().parents[2]
REGION = 56  # sizeof(pto_rt_region)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DIFF = _load(ROOT / "tests/codegen/test_differential.py", "pto_wsp_test_plan_differential")


def records(data: bytes) -> list[tuple[str, bytes, int | None]]:
    """The records of runtime_c/pto_record.h: (kind, bytes, aicpu of a task)."""
    out, i = [], 0
    while i < len(data):
        kind, j = chr(data[i]), i + 1
        aicpu = None
        if kind == "T":
            aicpu = struct.unpack_from("<I", data, j + 4)[0]
            j += 16 + 16 + 4 + 4
            for unit in (1, REGION, 8, 1):  # args, regions, indices, name
                n = struct.unpack_from("<I", data, j)[0]
                j += 4 + n * unit
        elif kind == "B":
            j += 4
        elif kind == "W":
            j += REGION
        else:
            assert kind in "NE", kind
        out.append((kind, data[i:j], aicpu))
        i = j
    return out


def compile_with(monkeypatch, w, orchestration: str, **kw):
    monkeypatch.setenv("PTO_WSP_ORCHESTRATION", orchestration)
    try:
        return w.compile(**kw)
    finally:
        monkeypatch.delenv("PTO_WSP_ORCHESTRATION")


def run_both(monkeypatch, tmp_path, w, arrays: list[np.ndarray], setup=lambda p: None, **kw):
    """Run ``w`` through the generated C and through the plan on the same arrays (restored
    in between); assert equal streams, outputs and cycles. Returns the plan program."""
    init = [a.copy() for a in arrays]
    got = {}
    for orch in ("c", "plan"):
        for a, i in zip(arrays, init):
            a[...] = i
        prog = compile_with(monkeypatch, w, orch, **kw)
        setup(prog)
        prog._record_path = tmp_path / f"{orch}.rec"
        stats = prog.run()
        got[orch] = (prog, stats, [a.copy() for a in arrays], prog._record_path.read_bytes())
    (_, sc, oc, rc), (prog, sp, op, rp) = got["c"], got["plan"]
    assert synthetic_relative(records(rp)) == synthetic_relative(records(rc))
    assert any(k == "T" for k, _, _ in records(rc))
    for a, b in zip(oc, op):
        assert a.tobytes() == b.tobytes()
    assert (sp.task_count, sp.total_cycles, sp.critical_path) == \
        (sc.task_count, sc.total_cycles, sc.critical_path)
    return prog, records(rp)


def plan_of(prog) -> bytes:
    """The plan a program built with PTO_WSP_ORCHESTRATION=plan holds."""
    return bytes(prog._ffi.buffer(prog._lib.pto_plan_main, prog._lib.pto_plan_main_bytes))


def record(prog, plan: bytes, inputs, aicpu, path, out, max_steps=0) -> int:
    """pto_plan_record of ``plan`` (expansion only) into ``path``."""
    return prog._lib.pto_plan_record(plan, len(plan), inputs, aicpu, str(path).encode(),
                                     max_steps, out)


def per_aicpu_streams_match(prog, full, tmp_path, num_aicpus: int) -> None:
    """Each AICPU's own expansion is the subsequence of the full stream placed on it."""
    inputs, keep = prog._inputs(prog._bound_arrays(None), None)
    out = prog._ffi.new("pto_outputs *")
    for a in range(num_aicpus):
        path = tmp_path / f"aicpu{a}.rec"
        assert record(prog, plan_of(prog), inputs, a, path, out) == 0
        mine = [r for r in records(path.read_bytes()) if r[0] == "T"]
        theirs = [r for r in full if r[0] == "T" and r[2] == a]
        # CSP synthetic addresses: each expansion reserves its own range
        assert synthetic_relative(mine, -1) == synthetic_relative(theirs, -1)


def _example_workloads():
    """(name, workload, compile options) of every example, at small sizes."""
    out = [(n, w, {}) for n, w in _load(ROOT / "tests/examples/test_examples.py",
                                         "pto_wsp_test_plan_examples")._example_workloads()]
    rng = np.random.default_rng(1)
    fa = _load(ROOT / "examples/flash_attention.py", "pto_wsp_test_plan_fa")
    q, k, v = (rng.standard_normal((fa.B, fa.H, fa.S, fa.D), np.float32) for _ in range(3))
    out.append(("flash_attention", fa.build(q, k, v, np.zeros_like(q)), {"cost_model": "a2a3"}))
    gk = _load(ROOT / "examples/gemm_kloop.py", "pto_wsp_test_plan_gemm")
    a = rng.standard_normal((gk.M, gk.K), np.float32)
    b = rng.standard_normal((gk.K, gk.N), np.float32)
    out.append(("gemm_kloop", gk.build(Tensor(data=a), Tensor(data=b),
                                       Tensor(data=np.zeros((gk.M, gk.N), np.float32))),
                {"cost_model": "a2a3"}))
    rl = _load(ROOT / "examples/rmsnorm_long.py", "pto_wsp_test_plan_rmsnorm_long")
    x = rng.standard_normal((rl.ROWS // rl.BR, rl.BR, rl.COLS), np.float32)
    out.append(("rmsnorm_long", rl.build(Tensor(data=x), Tensor(data=np.zeros_like(x))), {}))
    ll = _load(ROOT / "examples/llama_layer.py", "pto_wsp_test_plan_llama")
    sh = ll.Shape(128, hidden=128, heads=2, ffn=256)
    out.append(("llama_layer", ll.build(sh, ll.weights(sh))[0], {}))
    tk = _load(ROOT / "examples/topk.py", "pto_wsp_test_plan_topk")
    s = rng.standard_normal((8, tk.N)).astype(np.float32)
    out.append(("topk", tk.build(tk.topk_traced, s, np.zeros((8, 2 * tk.K), np.float32)), {}))
    return out


EXAMPLES = ["rmsnorm", "softmax", "tiled_matmul", "attention_tile", "moe_routing",
            "flash_attention", "gemm_kloop", "rmsnorm_long", "llama_layer",
            "topk"]


def test_every_example_is_covered():
    assert {p.stem for p in (ROOT / "examples").glob("*.py")} == set(EXAMPLES)
    assert [n for n, _, _ in _example_workloads()] == EXAMPLES


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=EXAMPLES)
def test_examples_expand_to_the_generated_stream(monkeypatch, tmp_path, index):
    _, w, opts = _example_workloads()[index]
    arrays = [t.data for t in w.tensors.values()]
    prog, full = run_both(monkeypatch, tmp_path, w, arrays, num_threads=2, **opts)
    per_aicpu_streams_match(prog, full, tmp_path, len({r[2] for r in full if r[0] == "T"}))


@pytest.mark.parametrize("seed", range(8))  # test_differential's seeds: its C builds are reused
def test_differential_workloads_expand_to_the_generated_stream(monkeypatch, tmp_path, seed):
    w, A, B, axes, cut = DIFF.gen_workload(seed)
    ref_b = B.data.copy()
    DIFF.Ref(w.module, {"A": A.data, "B": ref_b}, axes, {"cut": cut}).run(
        w.module.workload.body, {})
    setup = (lambda p: p.set_symbol_u64("cut", cut)) if w.module.symbols else (lambda p: None)
    prog, full = run_both(monkeypatch, tmp_path, w, [B.data], setup, num_threads=2)
    np.testing.assert_array_equal(B.data, ref_b)
    if not any(isinstance(s, planmod.ir.SlotLoad) for s in planmod.ir.walk_stmts(
            w.module.workload.body)):
        per_aicpu_streams_match(prog, full, tmp_path, 4)  # the default round_robin(4)



# ---------------------------------------------------------------- schedules, expressions


@kernel
def scale_row(x: In[Tile[1, 32, F32]], out: Out[Tile[1, 32, F32]], s: Scalar[F32] = 2.0,
              n: Scalar[DType.I32] = 0, flag: Scalar[DType.BOOL] = 0):
    pto.store(out, pto.mul(x, s))


@kernel
def row_mm(a: In[Tile[16, 16, F32]], b: In[Tile[16, 16, F32]], c: Out[Tile[16, 16, F32]]):
    pto.store(c, pto.matmul(a, b))


def dynamic_workload():
    """Ragged, sparse and dense_dyn loops, P.when/otherwise, symbols (u64, i64, f32), slots
    (set and loaded), Python-semantics integer ops, casts, where, min/max, scalar args of
    several C types, and a cube kernel."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 32), np.float32)
    flags = np.array([[7, 0]], np.int64)
    X, Y = Tensor(data=x, name="X"), Tensor(data=np.zeros_like(x), name="Y")
    F = Tensor(data=flags, name="F")
    M = Tensor(data=rng.standard_normal((2, 16, 16), np.float32), name="M")
    C = Tensor(data=np.zeros((2, 16, 16), np.float32), name="C")
    b = Dense[3]
    lens = Ragged(b, [1, 4, 2], name="lens")
    routing = Sparse(b, [0, 1, 1, 3], [2, 0, 3], name="routing")
    dyn = DenseDyn(2, name="dyn")
    cut, off, gain = symbol_u64("cut"), symbol_i64("off"), symbol_f32("gain")

    @workload
    def dynamic():
        slot_load_u64(0, F, 0, 0)
        slot_set_u64(1, cut * 3 + 1)
        for i in P(b):
            for t in P.seq(lens[i]):
                with P.when((t < cut) & (i - off >= 0)):
                    scale_row[i, t](x=X[i, t], out=Y[i, t], s=gain * 2,
                                    n=where(t > 1, (t - 7) // 2, (i * 5) % -3), flag=t)
                with P.when(max_(t, i) == 3):
                    scale_row[i, t](x=X[i, t], out=Y[i, t], s=cast(t, DType.F32) / 3,
                                    n=min_(off, -t) << 2)
                with P.otherwise():
                    scale_row[i, t](x=X[i, t], out=Y[i, t])
            for e in P.sel(routing[i]):
                with P.when(slot_u64(0) == 7):
                    scale_row[i, e](x=X[i, e], out=Y[i, e], s=-1.0, n=slot_u64(1) - 9)
        for j in P(dyn):
            row_mm[j, j + 1](a=M[j], b=M[j], c=C[j])
    return dynamic(), [Y.data, C.data], (lens, routing, dyn)


def _set(prog, cut=2, off=1, gain=0.5):
    prog.set_symbol_u64("cut", cut)
    prog.set_symbol_i64("off", off)
    prog.set_symbol_f32("gain", gain)


SCHEDULES = {
    "hash+streams+priority": lambda w: w.dispatch(DispatchPolicy.hash(lambda t: t.param(0) * 7
                                                                      + t.param(1), 3))
    .streams(2).stream_by(lambda t: t.param(0)).task_graph(
        ready=ReadyPolicy.priority(lambda t: 10 - t.param(0))),
    "affinity+window+threshold": lambda w: w.dispatch(DispatchPolicy.affinity(
        lambda t: t.param(0), 2)).task_graph(window=TaskWindow(3, "tasks", WindowMode.STALL),
                                             start=StartPolicy.threshold(2)),
    "dispatch_by+pools+timing": lambda w: w.dispatch(DispatchPolicy.dispatch_by(
        lambda t: t.param(0) % 2, 2)).task_graph(pools=Pools.custom(1, 1)).timing(
        TimingPolicy.interleaved(2)),
    "work_steal+costs+bytes": lambda w: w.dispatch(DispatchPolicy.work_steal(2)).task_graph(
        deps=Deps.infer_bytes_overlap(),
        trace=TracePolicy.cycles(lambda name, p: 100 * (p[0] + 1) if name == "scale_row"
                                 else None)),
    "v9": lambda w: w.task_graph(deps=Deps.explicit()).timing(TimingPolicy.batched(3)),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_and_expressions_expand_to_the_generated_stream(monkeypatch, tmp_path, name):
    w, arrays, _ = dynamic_workload()
    prog, full = run_both(monkeypatch, tmp_path, SCHEDULES[name](w), arrays, _set,
                          num_threads=2, v9_compat=name == "v9")
    if name.startswith("work_steal"):
        inputs, keep = prog._inputs(prog._bound_arrays(None), None)
        out = prog._ffi.new("pto_outputs *")
        rc = record(prog, plan_of(prog), inputs, 0, tmp_path / "x", out)
        assert rc == 201 and b"work_steal" in prog._ffi.string(out.message)


def test_dynamic_inputs_run_through_the_same_plan(monkeypatch, tmp_path):
    """New sizes, ragged lengths, CSR data and symbols: the same built plan program, right
    results (equal to the generated orchestration's on the same inputs)."""
    w, arrays, _ = dynamic_workload()
    init = [a.copy() for a in arrays]
    progs = {o: compile_with(monkeypatch, w, o, num_threads=2) for o in ("c", "plan")}
    plan_bytes = plan_of(progs["plan"])
    for cut, lens, (indptr, indices), dyn in (
            (2, [1, 4, 2], ([0, 1, 1, 3], [2, 0, 3]), 2),
            (0, [4, 0, 3], ([0, 2, 2, 4], [0, 1, 1, 2]), 1),
            (9, [2, 2, 2], ([0, 0, 0, 1], [3]), 0)):
        got = {}
        for o, prog in progs.items():
            for a, i in zip(arrays, init):
                a[...] = i
            _set(prog, cut=cut, off=cut % 2)
            prog.set_axis_data("lens", lengths=lens)
            prog.set_axis_data("routing", indptr=indptr, indices=indices)
            prog.set_axis_sizes(dyn=dyn)
            prog._record_path = tmp_path / f"{o}.rec"
            got[o] = (prog.run().total_cycles, [a.copy() for a in arrays],
                      records(prog._record_path.read_bytes()))
        assert got["plan"][0] == got["c"][0] and got["plan"][2] == got["c"][2]
        for a, b in zip(got["plan"][1], got["c"][1]):
            assert a.tobytes() == b.tobytes()
        assert sum(k == "T" for k, _, _ in got["plan"][2]) == sum(lens) + len(indices) + dyn
    # nothing was rebuilt: the program holds the same plan
    assert plan_of(progs["plan"]) == plan_bytes


def test_errors_at_sites_are_the_generated_orchestrations(monkeypatch):
    """A division by zero and an index out of bounds fail at the same located site."""
    x = np.zeros((4, 32), np.float32)
    X = Tensor(data=x, name="X")
    n = symbol_i64("n")

    @workload
    def bad():
        for i in P(Dense[4]):
            scale_row[i](x=X[i], out=X[(i + 1) // n])
    msgs = {}
    for o in ("c", "plan"):
        prog = compile_with(monkeypatch, bad(), o)
        for v in (0, 1):
            prog.set_symbol_i64("n", 0 if v == 0 else -1)
            with pytest.raises(ExecutionError) as e:
                prog.run()
            msgs[o, v] = str(e.value)
    assert msgs["c", 0] == msgs["plan", 0] and "by zero" in msgs["c", 0]
    assert msgs["c", 1] == msgs["plan", 1] and "out of bounds" in msgs["c", 1]


CSP = _load(ROOT / "tests/codegen/test_csp_e2e.py", "pto_wsp_test_plan_csp")
SYNTHETIC = 0xFFFFFFFF  # buf_id of CSP synthetic regions (pto_orch.h PTO_CSP_BUF_ID)


def synthetic_relative(recs, base=None):
    """Records with the addresses of CSP synthetic regions made relative to ``base`` (default:
    the lowest one): each run reserves its own address range; the layout inside it is what
    must be equal."""
    def regions(data):
        j = 1 + 16 + 16 + 4 + 4
        j += 4 + struct.unpack_from("<I", data, j)[0]
        for i in range(struct.unpack_from("<I", data, j)[0]):
            o = j + 4 + i * REGION
            if struct.unpack_from("<I", data, o + 44)[0] == SYNTHETIC:
                yield o
    if base is None:
        base = min((struct.unpack_from("<Q", d, o)[0] for k, d, _ in recs if k == "T"
                    for o in regions(d)), default=0)
    out = []
    for kind, data, aicpu in recs:
        if kind == "T":
            data = bytearray(data)
            for o in regions(data):
                addr = struct.unpack_from("<Q", data, o)[0]
                struct.pack_into("<Q", data, o, 0 if base < 0 else addr - base)
            data = bytes(data)
        out.append((kind, data, aicpu))
    return out


def test_csp_pipelines_run_through_the_plan(monkeypatch, tmp_path):
    """The megakernel pipeline on rendezvous channels (buffered ones: the next test): the same
    stream (synthetic token/marker regions at the same places), bit-equal outputs, equal
    cycles; per AICPU."""
    w, x, Y = CSP._megakernel(0)
    prog, recs = run_both(monkeypatch, tmp_path, w, [Y.data])
    np.testing.assert_allclose(Y.data, np.exp(x) + 1.0, rtol=1e-5, atol=1e-6)
    assert any(r[0] == "T" and b"record" not in r[1] for r in recs)
    per_aicpu_streams_match(prog, recs, tmp_path, 4)


def test_csp_events_queries_and_a_pipe_in_a_loop_through_the_plan(monkeypatch, tmp_path):
    """record/synchronize (rendezvous with join/take/wait no-op tasks), query() in P.when and
    a pipeline inside a loop capturing its variable: streams, outputs and cycles equal."""
    X = Tensor(data=np.zeros((3, 2, 4, 16), np.float32), name="X")
    Q = Tensor(data=np.zeros((3, 2, 4, 16), np.float32), name="Q")
    ev = Event("ev")
    ch = Channel("c", depth=1)

    @workload
    def w():
        for k in P(Dense[3]):
            with P.pipe():
                for i in P.seq(Dense[2]):
                    send(ch, CSP.bump[i](acc=X[k, i]))
                record_event(ev)
                with consume(ch) as t:
                    with P.when(query(ev) == 1):
                        CSP.fill(t, Q[k, t], 1.0)
                    with P.otherwise():
                        CSP.fill(t, Q[k, t], 2.0)
                synchronize(ev)
    _, recs = run_both(monkeypatch, tmp_path, w(), [X.data, Q.data])
    np.testing.assert_array_equal(X.data, 1.0)
    stream = b"".join(r[1] for r in recs)
    assert all(n in stream for n in (b"record:ev", b"join:ev", b"wait:ev"))


def test_csp_failures_name_the_same_sites_through_the_plan(monkeypatch):
    """A deadlock (the message naming who waits for what) and a wait on a closed channel."""
    X = Tensor(data=np.zeros((1, 4, 16), np.float32), name="X")
    ev = Event("lonely")
    ch = Channel("c", depth=1)

    @workload
    def dead():
        connect([process("writer").produces(ev).body(lambda: (CSP.bump[0](acc=X[0]),
                                                                 record_event(ev)))], [ev])

    @workload
    def closed():
        with P.pipe():
            send(ch, CSP.bump[0](acc=X[0]))
            with consume(ch) as t:
                CSP.bump[t](acc=X[0])
            synchronize(ch)
    for w, err in ((dead(), ChannelFull), (closed(), ChannelClosed)):
        msgs = []
        for o in ("c", "plan"):
            with pytest.raises(err) as e:
                compile_with(monkeypatch, w, o).run()
            msgs.append((str(e.value), e.value.loc))
        assert msgs[0] == msgs[1], msgs


def test_unknown_orchestration_is_an_error(monkeypatch):
    w, _, _ = dynamic_workload()
    with pytest.raises(CompileError, match="PTO_WSP_ORCHESTRATION"):
        compile_with(monkeypatch, w, "bytecode")


@pytest.mark.parametrize("which", ["dynamic", "csp"])
def test_malformed_plans_are_refused_with_a_code_never_a_crash(monkeypatch, tmp_path, which):
    """Bad magic/version/size, every truncation, and random byte changes: pto_plan_check and
    the (bounded) expansion return 0 or a clear code; none crashes or runs away. ``csp``: a
    rendezvous pipeline's plan (PIPE, CHAN, PROC and the channel opcodes)."""
    if which == "dynamic":
        w, _, _ = dynamic_workload()
    else:
        w = CSP._megakernel(0)[0]
    prog = compile_with(monkeypatch, w, "plan")
    if which == "dynamic":
        _set(prog)
    good = plan_of(prog)
    inputs, keep = prog._inputs(prog._bound_arrays(None), None)
    out = prog._ffi.new("pto_outputs *")
    msg = prog._ffi.new("char[320]")
    path = tmp_path / "fuzz.rec"
    ALL = 0xFFFFFFFF

    def expand(plan: bytes) -> tuple[int, str]:
        rc = record(prog, plan, inputs, ALL, path, out, max_steps=100_000)
        return rc, prog._ffi.string(out.message).decode()

    assert expand(good)[0] == 0 and prog._lib.pto_plan_check(good, len(good), msg, 320) == 0
    cases = {"bad magic": b"XTOW" + good[4:], "version": good[:4] + b"\x09\x00" + good[6:],
             "size": good + b"\x00", "opcode": good + b"\xee"}
    for what, plan in cases.items():
        rc, text = expand(plan)
        assert rc == 200 and text.startswith("malformed plan: "), (what, rc, text)
    for n in range(len(good)):
        rc, text = expand(good[:n])
        assert rc == 200 and "malformed plan" in text, (n, rc, text)
    rng = random.Random(11)
    codes = {}
    for _ in range(3000 if which == "dynamic" else 1000):
        b = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(24, len(b))  # code and configuration (the header: above)
            b[i] = rng.randrange(256) if rng.random() < 0.7 else b[i] ^ (1 << rng.randrange(8))
        rc, _ = expand(bytes(b))
        assert rc in (0, 1, 2, 7, 100, 200, 202), rc
        codes[rc] = codes.get(rc, 0) + 1
    assert codes.get(200, 0) > 100 and codes.get(0, 0) > 10  # both refused and accepted ones


def test_a_plan_needs_inputs_that_describe_its_tensors(monkeypatch, tmp_path):
    w, _, _ = dynamic_workload()
    prog = compile_with(monkeypatch, w, "plan")
    _set(prog)
    inputs, keep = prog._inputs(prog._bound_arrays(None), None)
    inputs.num_tensors = 1
    out = prog._ffi.new("pto_outputs *")
    assert record(prog, plan_of(prog), inputs, 0xFFFFFFFF, tmp_path / "r", out) == 200
    assert "the inputs give 1" in prog._ffi.string(out.message).decode()


def test_the_format_is_documented_and_the_interpreter_agrees():
    """docs/ascend.md lists every opcode as OPS does; pto_plan.c's opcode enum, operand sizes,
    binary operators and configuration fields follow plan.py's."""
    from pto_wsp.resources import runtime_dir
    assert planmod.opcode_table() in (ROOT / "docs/ascend.md").read_text()
    c = (runtime_dir() / "pto_plan.c").read_text()
    enum = re.search(r"enum \{ /\* opcodes.*?\*/(.*?)\};", c, re.S)[1]
    names = re.findall(r"OP_(\w+)", enum)
    assert names[:-1] == list(planmod.OPS) and names[-1] == "COUNT"
    sizes = [int(x, 0) for x in re.search(r"op_len\[OP_COUNT\] = \{(.*?)\};", c, re.S)[1]
             .replace("\n", " ").split(",")]
    assert sizes[1:] == [struct.calcsize(fmt) if fmt else 0 for _, fmt, _ in planmod.OPS.values()]
    bins = re.findall(r"B_(\w+)", re.search(r"enum \{ B_ADD.*?\};", c, re.S)[0])
    assert [b.lower() for b in bins[:-1]] == list(planmod.OPCODES_BIN)
    fields = re.findall(r"F(?:32|64)\((\w+(?:\[\d\])?)\)", re.search(
        r"cfg_fields\[\] = \{(.*?)\};", c, re.S)[1])
    assert fields == list(planmod.CONFIG_FIELDS)


def test_plan_size_does_not_grow_with_the_task_count(monkeypatch):
    """One plan for every size: bytes fixed while the task count grows (the benchmark's
    LLaMA-shaped layer, tiny)."""
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks/cpu_sim"))
    import plan_expansion as pe
    prog = compile_with(monkeypatch, pe.build(2, 4), "plan", num_threads=1)
    data = plan_of(prog)
    assert len(data) < 4096
    inputs, keep = prog._inputs(prog._bound_arrays(None), None)
    out = prog._ffi.new("pto_outputs *")
    for b, s, kv in ((1, 1, 1), (2, 4, 3)):
        prog.set_axis_sizes(batch=b, seq=s)
        prog.set_axis_data("kv", lengths=[kv] * 2)
        inputs, keep = prog._inputs(prog._bound_arrays(None), None)
        assert prog._lib.pto_plan_record(data, len(data), inputs, 0xFFFFFFFF, prog._ffi.NULL,
                                         0, out) == 0
        assert out.task_count == pe.tasks(b, s, kv)


def test_a_jump_into_an_instruction_is_refused(monkeypatch):
    """Jump targets must start an instruction (else operands that were never checked would
    be executed)."""
    w, _, _ = dynamic_workload()
    prog = compile_with(monkeypatch, w, "plan")
    good = plan_of(prog)
    size = {code: struct.calcsize(fmt) if fmt else 0 for code, fmt, _ in planmod.OPS.values()}
    ncfg = struct.unpack_from("<H", good, 22)[0]
    pc, starts, jumps = planmod.HEADER.size + 9 * ncfg, set(), []
    while pc < len(good):
        starts.add(pc)
        if good[pc] == planmod.OPCODES["JZ"]:
            jumps.append(pc)
        pc += 1 + size[good[pc]]
    msg = prog._ffi.new("char[320]")
    for j in jumps:
        d = struct.unpack_from("<I", good, j + 1)[0]
        if j + 5 + d + 1 not in starts and j + 5 + d + 1 < len(good):
            bad = bytearray(good)
            struct.pack_into("<I", bad, j + 1, d + 1)
            assert prog._lib.pto_plan_check(bytes(bad), len(bad), msg, 320) == 200
            assert "does not land on an instruction" in prog._ffi.string(msg).decode()
            return
    pytest.fail("no JZ to retarget")

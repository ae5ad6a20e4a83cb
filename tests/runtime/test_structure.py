"""Structured scopes (ordering in every deps mode) and the v9 compatibility timing model."""

import heapq
import random

import pytest

from conftest import C


def run(make_rt, program, **cfg):
    """program: list of ('begin', kind) | ('next',) | ('end',) | ('task', cycles, regions)."""
    rt = make_rt(trace=C["TRACE_CYCLES"], **cfg)
    buf = rt.ffi.new("double[]", 1024)
    base = int(rt.ffi.cast("uintptr_t", buf))
    n = 0
    for ev in program:
        if ev[0] == "begin":
            rt.begin(ev[1])
        elif ev[0] == "next":
            rt.next()
        elif ev[0] == "end":
            rt.end()
        else:
            regs = [rt.tile(base + 128 * t, m) for (t, m) in (ev[2] if len(ev) > 2 else ())]
            rt.rec(n, cycles=ev[1], regions=regs)
            n += 1
    assert rt.finish() == 0
    return rt


def starts(rt):
    return [e[2] for e in rt.events()]


SEQ, PAR, ORDER = C["SEQ"], C["PAR"], C["ORDER"]


def test_explicit_seq_chains_iterations(make_rt):
    prog = [("begin", SEQ), ("task", 100), ("task", 50), ("next",), ("task", 10), ("next",),
            ("next",), ("task", 5), ("end",), ("task", 7)]
    rt = run(make_rt, prog, num_threads=2, deps=C["EXPLICIT"], num_aicpus=5)
    assert starts(rt) == [0, 0, 100, 110, 0]
    assert rt.stats().total_cycles == 115


def test_explicit_nested_scopes(make_rt):
    prog = [("begin", SEQ),
            ("begin", PAR), ("task", 10), ("begin", SEQ), ("task", 20), ("next",), ("task", 30),
            ("end",), ("end",),
            ("next",), ("task", 1), ("end",)]
    rt = run(make_rt, prog, num_threads=2, deps=C["EXPLICIT"], num_aicpus=4)
    assert starts(rt) == [0, 0, 20, 50]


def test_explicit_ignores_data_hybrid_uses_both(make_rt):
    prog = [("begin", PAR), ("task", 100, [(0, C["WRITE"])]), ("task", 100, [(0, C["WRITE"])]),
            ("end",)]
    assert run(make_rt, prog, num_threads=2, deps=C["EXPLICIT"], num_aicpus=2).stats().total_cycles == 100
    assert run(make_rt, prog, num_threads=2, deps=C["HYBRID"], num_aicpus=2).stats().total_cycles == 200
    prog2 = [("begin", SEQ), ("task", 100, [(0, C["WRITE"])]), ("next",), ("task", 100, [(1, C["WRITE"])]),
             ("end",)]
    assert run(make_rt, prog2, num_threads=2, deps=C["HYBRID"], num_aicpus=2).stats().total_cycles == 200
    assert run(make_rt, prog2, num_threads=2, deps=C["OVERLAP"], num_aicpus=2).stats().total_cycles == 200


@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP", "EXPLICIT", "HYBRID"])
def test_structure_orders_in_every_mode(make_rt, deps):
    """SEQ iterations over disjoint regions are serial under every deps mode; data
    dependencies add to structure (a PAR scope of two writers of one tile is serial only
    where data is tracked)."""
    prog = [("begin", SEQ)] + sum(([("next",)] * bool(i) + [("task", 100, [(i, C["WRITE"])])]
                                   for i in range(6)), []) + [("end",)]
    assert run(make_rt, prog, num_threads=2, deps=C[deps], num_aicpus=4).stats().total_cycles == 600
    par = [("begin", PAR), ("task", 100, [(0, C["WRITE"])]), ("task", 100, [(0, C["WRITE"])]),
           ("end",)]
    want = 100 if deps == "EXPLICIT" else 200
    assert run(make_rt, par, num_threads=2, deps=C[deps], num_aicpus=2).stats().total_cycles == want


@pytest.mark.parametrize("threads", [1, 2, 4, 8])
@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP"])
def test_structure_orders_real_execution_in_data_modes(make_rt, deps, threads):
    rt = make_rt(num_threads=threads, deps=C[deps], log_size=1024)
    buf = rt.ffi.new("double[]", 16 * 80)
    base = int(rt.ffi.cast("uintptr_t", buf))
    rt.begin(SEQ)
    for it in range(20):
        if it:
            rt.next()
        for j in range(4):  # disjoint tiles: only structure orders them
            rt.rec(it, sleep_us=(j * 97) % 300, regions=[rt.tile(base + 128 * (4 * it + j), C["WRITE"])])
    rt.end()
    assert rt.finish() == 0
    o = rt.order()
    assert o == sorted(o) and len(o) == 80


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_explicit_real_order_across_iterations(make_rt, threads):
    rt = make_rt(num_threads=threads, deps=C["EXPLICIT"], log_size=1024)
    rt.begin(SEQ)
    for it in range(20):
        if it:
            rt.next()
        for j in range(4):
            rt.rec(it, sleep_us=(j * 97) % 300)
    rt.end()
    assert rt.finish() == 0
    o = rt.order()
    assert o == sorted(o) and len(o) == 80


def test_failure_cancels_later_iterations_in_explicit_mode(make_rt):
    rt = make_rt(num_threads=2, deps=C["EXPLICIT"])
    rt.begin(SEQ)
    rt.rec(0)
    rt.rec(1, rc=5)
    rt.next()
    rt.rec(2)
    rt.next()
    rt.rec(3)
    rt.end()
    rt.rec(4)  # outside the scope: independent
    assert rt.finish() == C["EKERNEL"]
    assert sorted(rt.order()) == [0, 1, 4] and rt.stats().cancelled == 2


# ------------------------------------------------------------------ v9 compatibility
def v9_reference(program, aicpus, window):
    """Structure and the ORDER accesses' dependencies (per region: last writer's end,
    readers' ends since) set the ready time; other accesses are ignored."""
    issue, heap, free, rr = 0, [], [0] * aicpus, 0
    frames = [["par", 0, 0]]
    ends = []
    w_end, r_end = {}, {}
    for ev in program:
        top = frames[-1]
        if ev[0] == "begin":
            frames.append([ev[1], top[1], top[1]])
        elif ev[0] == "next":
            top[1] = max(top[1], top[2])
        elif ev[0] == "end":
            ch = frames.pop()
            frames[-1][2] = max(frames[-1][2], ch[2], ch[1])
        else:
            order = [(t, m) for (t, m) in (ev[2] if len(ev) > 2 else ()) if m & ORDER]
            ready = top[1]
            for t, m in order:
                ready = max(ready, w_end.get(t, 0), r_end.get(t, 0) if m & C["WRITE"] else 0)
            issue = max(issue, ready)
            if window and len(heap) >= window:
                issue = max(issue, heapq.heappop(heap))
            w = rr % aicpus
            rr += 1
            start = max(free[w], issue)
            end = start + ev[1]
            free[w] = end
            for t, m in order:
                if m & C["WRITE"]:
                    w_end[t], r_end[t] = end, 0
                else:
                    r_end[t] = max(r_end.get(t, 0), end)
            if window:
                heapq.heappush(heap, end)
            top[2] = max(top[2], end)
            ends.append(end)
    root = frames[0]
    return max(root[2], root[1])


def random_program(rnd, depth=0, budget=None, modes=(1, 2, 3)):
    budget = budget if budget is not None else [60]
    out = []
    while budget[0] > 0 and rnd.random() < 0.85:
        r = rnd.random()
        if r < 0.55 or depth >= 3:
            out.append(("task", rnd.randint(1, 100),
                        [(t, rnd.choice(modes)) for t in rnd.sample(range(6), rnd.randint(1, 2))]))
            budget[0] -= 1
        else:
            kind = rnd.choice([SEQ, PAR])
            out.append(("begin", kind))
            for i in range(rnd.randint(1, 3)):
                if i and kind == SEQ:
                    out.append(("next",))
                out.extend(random_program(rnd, depth + 1, budget, modes))
            out.append(("end",))
    return out


def test_v9_head_of_line_issue_clock(make_rt):
    prog = [("begin", SEQ), ("task", 100), ("next",), ("task", 100), ("end",), ("task", 10)]
    v9 = run(make_rt, prog, num_threads=2, deps=C["EXPLICIT"], v9_compat=1, num_aicpus=3)
    new = run(make_rt, prog, num_threads=2, deps=C["EXPLICIT"], num_aicpus=3)
    assert starts(v9) == [0, 100, 100]   # monotone issue clock holds the root task back
    assert starts(new) == [0, 100, 0]


def test_v9_window_advances_issue_to_earliest_end(make_rt):
    prog = [("begin", PAR)] + [("task", c) for c in (100, 10, 10, 10)] + [("end",)]
    v9 = run(make_rt, prog, num_threads=2, v9_compat=1, num_aicpus=4, window_size=2)
    assert starts(v9) == [0, 0, 10, 20] and v9.stats().total_cycles == 100
    new = run(make_rt, prog, num_threads=2, num_aicpus=4, window_size=2)
    # in-order retirement: a window slot frees when every earlier task has ended
    assert starts(new) == [0, 0, 100, 100] and new.stats().total_cycles == 110


@pytest.mark.parametrize("seed", range(8))
def test_v9_matches_reference_model(make_rt, seed):
    rnd = random.Random(seed)
    prog = random_program(rnd)
    aicpus, window = rnd.randint(1, 4), rnd.choice([0, 1, 2, 5])
    want = v9_reference(prog, aicpus, window)
    for deps in ("OVERLAP", "EXPLICIT"):
        for threads in (1, 3):
            rt = run(make_rt, prog, num_threads=threads, deps=C[deps], v9_compat=1,
                     num_aicpus=aicpus, window_size=window)
            assert rt.stats().total_cycles == want


@pytest.mark.parametrize("seed", range(6))
def test_v9_honours_order_accesses(make_rt, seed):
    """ORDER accesses (CSP process markers and channel slots) are dependencies in v9 timing
    too; plain accesses stay ignored."""
    rnd = random.Random(100 + seed)
    while True:  # a program whose ORDER accesses change the timing
        prog = random_program(rnd, modes=(1, 2, 3, 1 | ORDER, 2 | ORDER, 3 | ORDER))
        aicpus, window = rnd.randint(1, 4), rnd.choice([0, 2])
        want = v9_reference(prog, aicpus, window)
        if want != v9_reference([e[:2] for e in prog], aicpus, window):
            break
    for deps in ("EXACT", "OVERLAP"):
        for threads in (1, 3):
            rt = run(make_rt, prog, num_threads=threads, deps=C[deps], v9_compat=1,
                     num_aicpus=aicpus, window_size=window)
            assert rt.stats().total_cycles == want


def test_v9_order_dependency_survives_region_reclamation(make_rt, rtlib):
    """Task A (10^6 cycles, AICPU 0) WRITEs an ORDER marker, 5000 one-cycle tasks (AICPUs 1-3)
    write their own data tiles (the region table reclaims finished entries), then B READs
    the marker: B starts
    after A ends. The marker's simulated end must not be forgotten while later tasks can still
    depend on it."""
    ffi, _ = rtlib
    n = 5000
    buf = ffi.new("double[]", 16 * (n + 1))
    base = int(ffi.cast("uintptr_t", buf))
    for threads in (2, 3):
        rt = make_rt(num_threads=threads, v9_compat=1, num_aicpus=4, log_size=n + 2,
                     dispatch=C["BY"])
        marker = rt.tile(base, C["WRITE"] | ORDER, rows=1, cols=1)
        rt.rec(0, cycles=10**6, regions=[marker], dkey=0)
        for i in range(n):  # AICPUs 1-3
            rt.rec(i + 1, cycles=1, regions=[rt.tile(base + 128 * (i + 1), C["WRITE"])],
                   dkey=1 + i % 3)
        rt.rec(n + 1, cycles=10, regions=[dict(marker, mode=C["READ"] | ORDER)], dkey=1)
        assert rt.finish() == 0
        assert rt.stats().total_cycles == 10**6 + 10


def test_v9_bytes_window_rejected(rtlib):
    from conftest import Runtime
    with pytest.raises(ValueError, match="v9"):
        Runtime(rtlib, v9_compat=1, window_size=100, window_unit=C["BYTES"])

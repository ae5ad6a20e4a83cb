"""The runtime forgets finished regions (bounded table) without changing any result:
TENSOR_MAP_EXACT, and BYTES_OVERLAP for regions without overlap neighbours.

Reference runs use tracing, which keeps every region (the trace records edges to finished
tasks), so equal cycles and lane statistics show that forgetting is exact."""

import random

import numpy as np
import pytest

from conftest import C

VEC, CUBE = 1 << C["VECTOR"], 1 << C["CUBE"]


def lanes(rt):
    return [rt.lane(i) for i in range(rt.stats().num_lanes)]


def run(make_rt, program, threads, units, trace, deps="EXACT", **cfg):
    """deps "MIXED": TENSOR_MAP_EXACT with every other tile overlap-tracked."""
    rt = make_rt(log_size=len(program), num_threads=threads, deps=C[deps.replace("MIXED", "EXACT")],
                 exec_units=units, trace=C["TRACE_CYCLES"] if trace else 0, num_aicpus=2, **cfg)
    for unit, cycles, regions in program:
        assert rt.rec(0, cycles=cycles, unit=unit,
                      regions=[dict(rt.tile(a, m, rows=1, cols=1),
                                    overlap=int(deps == "MIXED" and a >> 6 & 1))
                               for a, m in regions]) >= 0
    assert rt.finish() == 0
    s = rt.stats()
    return s.total_cycles, lanes(rt), s.peak_regions, s.executed


def mixed_program(seed, n=9000):
    """Mostly fresh tiles; some tasks touch a tile written earlier. The first third runs on
    vector lanes only, so the cube lanes' free time (0) bounds what may be forgotten."""
    rng = random.Random(seed)
    prog, made = [], []
    for i in range(n):
        unit = C["CUBE"] if i > n // 3 and rng.random() < 0.4 else C["VECTOR"]
        regs = [(0x1000 + 64 * i, C["WRITE"])]
        made.append(0x1000 + 64 * i)
        for _ in range(rng.randrange(3)):
            lo = 0 if rng.random() < 0.5 else max(0, i - 600)  # long ago or recently
            regs.append((made[rng.randrange(lo, len(made) - 1)] if i else regs[0][0],
                         rng.choice([C["READ"], C["READ"], C["RW"]])))
        prog.append((unit, rng.randrange(1, 60), dedupe(regs)))
    return prog


def dedupe(regs):
    seen, out = set(), []
    for a, m in regs:
        if a not in seen:
            seen.add(a)
            out.append((a, m))
    return out


@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP", "MIXED"])
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("threads", [1, 2])
def test_forgetting_regions_keeps_cycles_exact(make_rt, seed, threads, deps):
    prog = mixed_program(seed)
    ref = run(make_rt, prog, threads, VEC | CUBE, trace=True, deps=deps, window_size=512)
    got = run(make_rt, prog, threads, VEC | CUBE, trace=False, deps=deps, window_size=512)
    assert got[0] == ref[0] and got[1] == ref[1] and got[3] == ref[3] == len(prog)
    assert ref[2] == len(prog)           # tracing keeps every region
    assert got[2] < len(prog) // 2       # ... reclamation did not


@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP", "MIXED"])
def test_table_is_bounded_by_regions_in_flight(make_rt, deps):
    prog = [(C["VECTOR"], 1 + i % 7, [(0x1000 + 64 * i, C["WRITE"])]) for i in range(20000)]
    ref = run(make_rt, prog, 2, VEC, trace=True, deps=deps, window_size=256)
    got = run(make_rt, prog, 2, VEC, trace=False, deps=deps, window_size=256)
    assert got[0] == ref[0] and got[1] == ref[1]
    assert got[2] <= 4096 + 2 * 256
    # undeclared cube lanes stay free at 0, but no later task issues before the window
    # floor (the retire time of the task that left the window last): still bounded
    both = run(make_rt, prog, 2, 0, trace=False, deps=deps, window_size=256)
    assert both[0] == ref[0] and both[2] <= 4096 + 2 * 256
    # without a window a later cube task could read any region at its write time, so
    # nothing may be forgotten
    free = run(make_rt, prog, 2, 0, trace=False, deps=deps, window_size=0)
    assert free[0] == run(make_rt, prog, 2, VEC, trace=True, deps=deps, window_size=0)[0]
    assert free[2] == len(prog)


def test_undeclared_exec_unit_is_rejected(make_rt):
    rt = make_rt(num_threads=1, exec_units=VEC)
    assert rt.rec(0, unit=C["VECTOR"]) == 0
    assert rt.rec(1, unit=C["CUBE"]) == -C["EINVAL"]
    code, msg, _, _ = rt.error()
    assert code == C["EINVAL"] and "exec_units" in msg


def test_exec_units_mask_is_validated(rtlib):
    from conftest import Runtime
    with pytest.raises(ValueError, match="exec_units"):
        Runtime(rtlib, exec_units=4)


def test_cube_task_waits_for_a_region_the_vector_lanes_finished_long_ago(make_rt):
    # 8000 vector tasks of 10 cycles alternate between the two AICPUs' vector lanes, so
    # task k ends at (k // 2 + 1) * 10; a long cube task then reads task 1000's tile. The
    # worker retires the vector tasks while Python submits, so their regions are forgotten
    # unless the idle cube lanes are (rightly) taken into account.
    n, k, big = 8000, 1000, 10**6
    prog = [(C["VECTOR"], 10, [(0x1000 + 64 * i, C["WRITE"])]) for i in range(n)]
    prog.append((C["CUBE"], big, [(0x1000 + 64 * k, C["READ"])]))
    for trace in (True, False):
        cycles, _, _, _ = run(make_rt, prog, 2, VEC | CUBE, trace)
        assert cycles == (k // 2 + 1) * 10 + big


@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP"])
@pytest.mark.parametrize("window,start", [(1000, "START_IMMEDIATE"), (0, "AFTER_ORCH")])
def test_forgetting_keeps_real_dependencies_under_parallel_execution(make_rt, window, start,
                                                                    deps):
    # rows of two 6000 x 8 matrices are the tiles: a stream of fresh rows plus reads and
    # rewrites of old ones (whose entries were forgotten and come back), on 1-4 threads;
    # every run must equal numpy's sequential order and the traced (never forgetting) run.
    # With nothing running before finish (AFTER_ORCH), no entry may be forgotten at all.
    # Under BYTES_OVERLAP every tenth task updates two rows at once from B: those boxes
    # overlap row tiles, get overlap neighbours, and are kept.
    M, W = 6000, 8
    rnd = random.Random(7)
    prog = []
    for i in range(12000):
        h = 2 if deps == "OVERLAP" and i % 10 == 5 else 1
        d = i % (M - 1) if rnd.random() < 0.8 else rnd.randrange(M - 1)
        s = rnd.randrange(max(0, d - 40), d + 1) if rnd.random() < 0.7 else rnd.randrange(M - 1)
        prog.append((d, s, h, h == 1 and rnd.random() < 0.5, float(i % 5) + 0.5,
                     rnd.randint(1, 40)))
    rng = np.random.default_rng(7)
    A0, B0 = rng.standard_normal((M, W)), rng.standard_normal((M, W))
    RA = A0.copy()
    for d, s, h, same, k, _ in prog:
        RA[d:d + h] = RA[d:d + h] * 0.5 + (RA if same else B0)[s:s + h] + k

    def run_on(threads, trace):
        rt = make_rt(num_threads=threads, deps=C[deps], exec_units=VEC, num_aicpus=3,
                     window_size=window, start=C[start],
                     trace=C["TRACE_CYCLES"] if trace else 0)
        A, B = A0.copy(), B0.copy()
        ba, bb = A.ctypes.data, B.ctypes.data
        for d, s, h, same, k, cyc in prog:
            a = rt.ffi.new("axpy_args *")
            src = (ba if same else bb) + s * W * 8
            a.dst, a.rows, a.cols, a.drs, a.dcs = rt.ffi.cast("double *", ba + d * W * 8), h, W, W, 1
            a.src, a.srs, a.scs = rt.ffi.cast("double *", src), W, 1
            a.k, a.cycles = k, cyc
            regs = [rt.region(ba + d * W * 8, h, W, W * 8, 8, 8, C["RW"]),
                    rt.region(src, h, W, W * 8, 8, 8, C["READ"])]
            if same and s == d:
                regs = regs[:1]
            assert rt.submit("k_axpy", a, regs) >= 0
        assert rt.finish() == 0
        s = rt.stats()
        return A, s.total_cycles, s.peak_regions

    _, ref_cycles, ref_peak = run_on(2, trace=True)
    for threads in (1, 2, 4):
        A, cycles, peak = run_on(threads, trace=False)
        assert np.array_equal(A, RA), f"threads={threads}"
        assert cycles == ref_cycles
        assert peak < ref_peak if window else peak == ref_peak


def test_overlap_regions_with_neighbours_are_kept(make_rt):
    # One thread and a small window make retirement (and so forgetting) deterministic.
    # X (rows 0-1) overlaps row 0 and stays in use; row 0 itself is not touched again.
    # Forgetting row 0 would leave X's neighbour list pointing at a recycled entry, adding
    # false edges and false simulated waits: the edge count and cycles must match the
    # traced run, which forgets nothing.
    W = 8

    def row(r, rows=1):
        return dict(addr=0x100000 + r * W * 8, rows=rows, cols=W, row_stride=W * 8,
                    col_stride=8, elem_size=8)

    def go(trace):
        rt = make_rt(log_size=12010, num_threads=1, deps=C["OVERLAP"], exec_units=VEC,
                     num_aicpus=4, window_size=8, trace=C["TRACE_CYCLES"] if trace else 0)
        assert rt.rec(0, cycles=5, regions=[dict(row(0), mode=C["WRITE"])]) >= 0
        assert rt.rec(1, cycles=5, regions=[dict(row(0, 2), mode=C["READ"])]) >= 0
        for i in range(12000):
            regs = [dict(row(100 + i), mode=C["WRITE"])]
            if i % 8 == 0:
                regs.append(dict(row(0, 2), mode=C["READ"]))
            assert rt.rec(i + 2, cycles=1 + (i * 7919) % 97, regions=regs) >= 0
        assert rt.finish() == 0
        s = rt.stats()
        return s.edges, s.total_cycles, s.peak_regions

    ref, got = go(True), go(False)
    assert got[:2] == ref[:2] and got[2] < ref[2] // 2

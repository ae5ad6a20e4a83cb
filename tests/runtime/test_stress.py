"""Random programs: parallel results equal the sequential submission-order run (numpy
reference), and simulated time is identical for any thread count."""

import random

import numpy as np
import pytest

from conftest import C

N = 16  # matrix is N x N float64


def make_views(rnd, exact_grid=False):
    if exact_grid:
        r0, c0 = rnd.choice([0, 4, 8, 12]), rnd.choice([0, 4, 8, 12])
        return (r0, c0, 4, 4, rnd.random() < 0.3)
    h, w = rnd.randint(1, 6), rnd.randint(1, 6)
    tr = rnd.random() < 0.35
    rows, cols = (w, h) if tr else (h, w)  # extent in matrix coordinates
    r0, c0 = rnd.randint(0, N - rows), rnd.randint(0, N - cols)
    return (r0, c0, h, w, tr)


def view_np(m, v):
    r0, c0, h, w, tr = v
    return m[r0:r0 + w, c0:c0 + h].T if tr else m[r0:r0 + h, c0:c0 + w]


def view_region(base, v, mode):
    r0, c0, h, w, tr = v
    addr = base + (r0 * N + c0) * 8
    if tr:
        return dict(addr=addr, rows=h, cols=w, row_stride=8, col_stride=N * 8, elem_size=8, mode=mode)
    return dict(addr=addr, rows=h, cols=w, row_stride=N * 8, col_stride=8, elem_size=8, mode=mode)


def gen_program(seed, ntasks, exact_grid=False):
    rnd = random.Random(seed)
    prog = []
    for i in range(ntasks):
        d = make_views(rnd, exact_grid)
        r0, c0, h, w, tr = d
        # source: a view of the other matrix (or same matrix) with the same box shape
        same = rnd.random() < 0.5
        if exact_grid:
            s = (rnd.choice([0, 4, 8, 12]), rnd.choice([0, 4, 8, 12]), 4, 4, tr and rnd.random() < 0.5)
            s = (s[0], s[1], h, w, s[4])
        else:
            str_ = rnd.random() < 0.35
            rows, cols = (w, h) if str_ else (h, w)
            s = (rnd.randint(0, N - rows), rnd.randint(0, N - cols), h, w, str_)
        prog.append((d, s, same, float(i % 7) + 0.25, rnd.randint(1, 50)))
    return prog


def run_reference(prog, A0, B0):
    A, B = A0.copy(), B0.copy()
    for d, s, same, k, _ in prog:
        src = view_np(A if same else B, s)
        dst = view_np(A, d)
        dst[...] = dst * 0.5 + src + k
    return A, B


def run_runtime(make_rt, prog, A0, B0, threads, deps, **cfg):
    rt = make_rt(num_threads=threads, deps=deps, num_aicpus=3, **cfg)
    ffi = rt.ffi
    A, B = A0.copy(), B0.copy()
    pa, pb = ffi.cast("double *", A.ctypes.data), ffi.cast("double *", B.ctypes.data)
    ba, bb = A.ctypes.data, B.ctypes.data
    for d, s, same, k, cyc in prog:
        a = ffi.new("axpy_args *")
        dr = view_region(ba, d, C["RW"])
        sr = view_region(ba if same else bb, s, C["READ"])
        a.dst = ffi.cast("double *", dr["addr"])
        a.rows, a.cols = d[2], d[3]
        a.drs, a.dcs = dr["row_stride"] // 8, dr["col_stride"] // 8
        a.src = ffi.cast("double *", sr["addr"])
        a.srs, a.scs = sr["row_stride"] // 8, sr["col_stride"] // 8
        a.k, a.cycles = k, cyc
        assert rt.submit("k_axpy", a, [dr, sr]) >= 0
    assert rt.finish() == 0
    del pa, pb
    return A, B, rt.stats().total_cycles, rt.events() if cfg.get("trace") else None


@pytest.mark.parametrize("deps", ["OVERLAP", "HYBRID"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_overlapping_boxes_match_sequential(make_rt, deps, seed):
    prog = gen_program(seed, 300)
    rng = np.random.default_rng(seed)
    A0, B0 = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    RA, RB = run_reference(prog, A0, B0)
    totals = set()
    for threads in (1, 2, 4, 8):
        A, B, total, _ = run_runtime(make_rt, prog, A0, B0, threads, C[deps])
        assert np.array_equal(A, RA), f"threads={threads}"
        assert np.array_equal(B, RB)
        totals.add(total)
    assert len(totals) == 1


@pytest.mark.parametrize("seed", [4, 5])
def test_exact_mode_on_fixed_tiles_matches_sequential(make_rt, seed):
    prog = gen_program(seed, 300, exact_grid=True)
    # exact mode is only sound when every access of the same bytes uses the same key:
    # keep only non-transposed accesses on the grid.
    prog = [((d[0], d[1], 4, 4, False), (s[0], s[1], 4, 4, False), same, k, c)
            for d, s, same, k, c in prog]
    rng = np.random.default_rng(seed)
    A0, B0 = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    RA, RB = run_reference(prog, A0, B0)
    for threads in (1, 2, 4, 8):
        A, B, _, _ = run_runtime(make_rt, prog, A0, B0, threads, C["EXACT"])
        assert np.array_equal(A, RA)


@pytest.mark.parametrize("ready", ["FIFO", "WORK_STEAL", "PRIORITY"])
def test_ready_policies_preserve_results(make_rt, ready):
    prog = gen_program(11, 200)
    rng = np.random.default_rng(0)
    A0, B0 = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    RA, _ = run_reference(prog, A0, B0)
    for threads in (2, 4):
        A, _, _, _ = run_runtime(make_rt, prog, A0, B0, threads, C["OVERLAP"], ready=C[ready])
        assert np.array_equal(A, RA)


def test_simulated_schedule_identical_across_threads(make_rt):
    prog = gen_program(21, 250)
    rng = np.random.default_rng(1)
    A0, B0 = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    seen = None
    for threads in (1, 2, 4, 8, 2):
        _, _, total, ev = run_runtime(make_rt, prog, A0, B0, threads, C["OVERLAP"],
                                      trace=C["TRACE_CYCLES"], window_size=16)
        sched = (total, [e[:4] for e in ev])
        assert seen is None or sched == seen
        seen = sched


def test_random_dag_with_scopes_explicit_mode(make_rt):
    """SEQ iterations alternate: write tiles of A reading B, then of B reading A."""
    rnd = random.Random(5)
    rng = np.random.default_rng(5)
    A0, B0 = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    for threads in (1, 2, 4, 8):
        rt = make_rt(num_threads=threads, deps=C["EXPLICIT"], num_aicpus=4)
        A, B = A0.copy(), B0.copy()
        RA, RB = A0.copy(), B0.copy()
        rnd.seed(5)
        rt.begin(C["SEQ"])
        for it in range(30):
            if it:
                rt.next()
            dst_m, src_m, rdst, rsrc = (A, B, RA, RB) if it % 2 == 0 else (B, A, RB, RA)
            tiles = rnd.sample([(r, c) for r in (0, 4, 8, 12) for c in (0, 4, 8, 12)], 6)
            rt.begin(C["PAR"])
            for (r, c) in tiles:
                sr, sc = rnd.choice([0, 4, 8, 12]), rnd.choice([0, 4, 8, 12])
                a = rt.ffi.new("axpy_args *")
                a.dst = rt.ffi.cast("double *", dst_m.ctypes.data + (r * N + c) * 8)
                a.rows = a.cols = 4
                a.drs, a.dcs = N, 1
                a.src = rt.ffi.cast("double *", src_m.ctypes.data + (sr * N + sc) * 8)
                a.srs, a.scs = N, 1
                a.k, a.cycles = float(it), 10
                assert rt.submit("k_axpy", a) >= 0
                rdst[r:r + 4, c:c + 4] = rdst[r:r + 4, c:c + 4] * 0.5 + rsrc[sr:sr + 4, sc:sc + 4] + it
            rt.end()
        rt.end()
        assert rt.finish() == 0
        assert np.array_equal(A, RA) and np.array_equal(B, RB)
        # 30 iterations, 6 tasks of 10 cycles on 4 AICPUs (one vector lane each): 20 per iter
        assert rt.stats().total_cycles == 30 * 20


@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP", "HYBRID"])
def test_failures_cancel_the_same_tasks_on_any_thread_count(make_rt, deps):
    """Random regions, a few failing kernels: the set of tasks that ran, the cancelled count
    and the simulated makespan do not depend on the thread count."""
    rnd = random.Random(9)
    prog = []
    for i in range(400):
        regs = []
        for _ in range(rnd.randint(1, 3)):
            t = rnd.randint(0, 40)
            regs.append((t, rnd.choice([C["READ"], C["WRITE"], C["RW"]])))
        prog.append((regs, 5 if rnd.random() < 0.01 else 0, rnd.randint(1, 20)))
    seen = None
    for threads in (1, 2, 4, 8):
        rt = make_rt(num_threads=threads, deps=C[deps], num_aicpus=3, log_size=1024)
        buf = rt.ffi.new("double[]", 41 * 16)
        base = int(rt.ffi.cast("uintptr_t", buf))
        if deps == "HYBRID":
            rt.begin(C["SEQ"])
        for i, (regs, rc, cyc) in enumerate(prog):
            if deps == "HYBRID" and i and i % 50 == 0:
                rt.next()
            rt.rec(i, cycles=cyc, rc=rc, regions=[rt.tile(base + 128 * t, m) for t, m in regs])
        if deps == "HYBRID":
            rt.end()
        assert rt.finish() == C["EKERNEL"]
        s = rt.stats()
        got = (sorted(rt.order()), s.cancelled, s.failed, s.total_cycles)
        assert s.executed + s.cancelled == len(prog)
        assert seen is None or got == seen, threads
        seen = got
    assert seen[1] > 0

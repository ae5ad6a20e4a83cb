"""Every schedule policy changes real execution and/or simulated time observably."""

import time

import pytest

from conftest import C

MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def addr(rt, n=4096):
    buf = rt.ffi.new("double[]", n)
    rt.keep.append(buf)
    return int(rt.ffi.cast("uintptr_t", buf))


# ---------------------------------------------------------------- ready policies
def test_fifo_runs_in_submission_order_on_one_thread(make_rt):
    rt = make_rt(num_threads=1, ready=C["FIFO"], start=C["AFTER_ORCH"])
    for i in range(10):
        rt.rec(i)
    assert rt.finish() == 0 and rt.order() == list(range(10))


def test_work_steal_owner_is_lifo_on_one_thread(make_rt):
    rt = make_rt(num_threads=1, ready=C["WORK_STEAL"], start=C["AFTER_ORCH"])
    for i in range(10):
        rt.rec(i)
    assert rt.finish() == 0 and rt.order() == list(range(9, -1, -1))


def test_priority_runs_highest_first_ties_fifo(make_rt):
    rt = make_rt(num_threads=1, ready=C["PRIORITY"], start=C["AFTER_ORCH"])
    prios = [3, 1, 7, 3, 0, 7, 5]
    for i, p in enumerate(prios):
        rt.rec(i, prio=p)
    assert rt.finish() == 0
    assert rt.order() == sorted(range(len(prios)), key=lambda i: (-prios[i], i))


def test_work_steal_thieves_take_work(make_rt):
    # every task is dispatched to worker 0's deque; worker 1 only gets work by stealing
    rt = make_rt(num_threads=2, ready=C["WORK_STEAL"], dispatch=C["AFFINITY"], num_aicpus=2,
                 start=C["AFTER_ORCH"])
    for i in range(120):  # 60 ms of work: the thief gets scheduled even on a busy host
        rt.rec(i, sleep_us=500, dkey=0)
    assert rt.finish() == 0
    s = rt.stats()
    assert s.steals > 0 and rt.lib.pto_rt_worker_executed(rt.rt, 1) == s.steals
    rt2 = make_rt(num_threads=2, ready=C["FIFO"], start=C["AFTER_ORCH"])
    for i in range(40):
        rt2.rec(i, sleep_us=500)
    assert rt2.finish() == 0 and rt2.stats().steals == 0


def test_work_steal_dispatch_places_tasks_on_target_worker(make_rt):
    # affinity to worker 1 (aicpu 1 % 2 workers): its deque gets everything; worker 0 (the
    # orchestrator) only runs what it steals.
    rt = make_rt(num_threads=2, ready=C["WORK_STEAL"], dispatch=C["AFFINITY"], num_aicpus=2,
                 start=C["AFTER_ORCH"])
    for i in range(20):
        rt.rec(i, sleep_us=300, dkey=1)
    assert rt.finish() == 0
    assert rt.lib.pto_rt_worker_executed(rt.rt, 0) == rt.stats().steals


# ---------------------------------------------------------------- pools
def test_by_exec_unit_cube_tasks_only_on_cube_workers(make_rt):
    rt = make_rt(num_threads=3, pools=C["BY_EXEC_UNIT"], pool_workers=[1, 2])
    for i in range(60):
        rt.rec(i, sleep_us=200, unit=C["CUBE"] if i % 3 else C["VECTOR"])
    assert rt.finish() == 0
    order, workers = rt.order(), rt.workers()
    for v, w in zip(order, workers):
        pool = rt.lib.pto_rt_worker_pool(rt.rt, w)
        assert pool == (1 if v % 3 else 0), (v, w)
    assert {rt.lib.pto_rt_worker_pool(rt.rt, w) for w in workers} == {0, 1}
    assert rt.stats().num_workers == 3


def test_custom_pools_route_by_task_pool(make_rt):
    rt = make_rt(pools=C["CUSTOM"], num_pools=3, pool_workers=[1, 1, 2])
    for i in range(30):
        rt.rec(i, sleep_us=100, pool=i % 3)
    assert rt.finish() == 0
    for v, w in zip(rt.order(), rt.workers()):
        assert rt.lib.pto_rt_worker_pool(rt.rt, w) == v % 3
    rt2 = make_rt(pools=C["CUSTOM"], num_pools=2, pool_workers=[1, 1])
    assert rt2.rec(0, pool=2) == -C["EINVAL"]
    assert "pool 2 does not exist" in rt2.error()[1]


# ---------------------------------------------------------------- streams
def test_streams_execute_in_submission_order(make_rt):
    rt = make_rt(num_threads=4, num_streams=3, log_size=8192)
    import random
    rnd = random.Random(3)
    for i in range(150):
        rt.rec(i, sleep_us=rnd.choice([0, 50, 300]), skey=i % 3 + 3 * rnd.randint(0, 5))
    assert rt.finish() == 0
    order = rt.order()
    for s in range(3):
        seq = [v for v in order if v % 3 == s]
        assert seq == sorted(seq)


def test_streams_serialise_simulated_time(make_rt):
    def total(streams, keys):
        rt = make_rt(num_threads=2, num_aicpus=4, num_streams=streams)
        for i, k in enumerate(keys):
            rt.rec(i, cycles=10, skey=k)
        assert rt.finish() == 0
        return rt.stats().total_cycles
    assert total(0, [0, 0, 1, 1]) == 10
    assert total(2, [0, 0, 1, 1]) == 20
    assert total(2, [0, 2, 4, 6]) == 40
    assert total(4, [0, 1, 2, 3]) == 10


# ---------------------------------------------------------------- dispatch
def lanes(rt, n):
    return [rt.lane(i)[0] for i in range(n)]


def test_round_robin_dispatch_places_on_lanes(make_rt):
    rt = make_rt(num_threads=2, dispatch=C["RR"], num_aicpus=3)
    for i in range(7):
        rt.rec(i, cycles=10, unit=C["CUBE"] if i == 6 else C["VECTOR"])
    assert rt.finish() == 0
    # lanes per aicpu: [vector, cube]; task 6 -> aicpu 0, cube lane
    assert lanes(rt, 6) == [2, 1, 2, 0, 2, 0]
    assert rt.stats().total_cycles == 20 and rt.stats().num_lanes == 6  # cube lane is separate


def test_affinity_hash_and_dispatch_by(make_rt):
    keys = list(range(8))
    for pol, expect in (("AFFINITY", [k % 4 for k in keys]),
                        ("HASH", [splitmix64(k) % 4 for k in keys]),
                        ("BY", [k % 4 for k in keys])):
        rt = make_rt(num_threads=1, dispatch=C[pol], num_aicpus=4, trace=C["TRACE_CYCLES"])
        for i, k in enumerate(keys):
            rt.rec(i, cycles=10, dkey=k if pol != "BY" else k % 4)
        assert rt.finish() == 0
        got = [lane // 2 for (_, lane, _, _, _) in rt.events()]
        assert got == expect, pol
    assert [splitmix64(k) % 4 for k in keys] != [k % 4 for k in keys]  # hash is a real hash
    rt = make_rt(num_threads=1, dispatch=C["BY"], num_aicpus=4)
    assert rt.rec(0, dkey=4) == -C["EINVAL"]
    assert "AICPU 4" in rt.error()[1]


def test_work_steal_dispatch_is_greedy_in_simulation(make_rt):
    def total(pol):
        rt = make_rt(num_threads=1, dispatch=C[pol], num_aicpus=2)
        for i, c in enumerate([100, 10, 10, 10]):
            rt.rec(i, cycles=c)
        assert rt.finish() == 0
        return rt.stats().total_cycles
    assert total("RR") == 110
    assert total("DWS") == 100


def test_vector_lanes_per_aicpu(make_rt):
    rt = make_rt(num_threads=1, num_aicpus=1, vector_lanes=3)
    for i in range(6):
        rt.rec(i, cycles=10)
    assert rt.finish() == 0
    assert rt.stats().total_cycles == 20 and lanes(rt, 3) == [2, 2, 2]


# ---------------------------------------------------------------- timing
def timing_total(make_rt, timing, param, cycles, skeys=None, deps_on=None, aicpus=4, **kw):
    rt = make_rt(num_threads=2, num_aicpus=aicpus, timing=C[timing], timing_param=param, **kw)
    a = addr(rt)
    for i, c in enumerate(cycles):
        regs = []
        if deps_on is not None:
            regs = [rt.tile(a, C["WRITE"] if i == deps_on[0] else C["READ"])] if i in deps_on else []
        rt.rec(i, cycles=c, skey=(skeys[i] if skeys else 0), regions=regs)
    assert rt.finish() == 0
    return rt.stats().total_cycles


def test_batched_releases_groups_after_previous_group(make_rt):
    assert timing_total(make_rt, "IMMEDIATE", 0, [10, 30, 10, 10]) == 30
    assert timing_total(make_rt, "BATCHED", 2, [10, 30, 10, 10]) == 40
    assert timing_total(make_rt, "BATCHED", 1, [10, 30, 10, 10]) == 60
    assert timing_total(make_rt, "BATCHED", 4, [10, 30, 10, 10]) == 30


def test_rate_limit_spaces_issue_times(make_rt):
    # 1000 tasks/ms at 1e6 cycles/ms: task k issues at >= 1000*k
    assert timing_total(make_rt, "RATE_LIMIT", 1000, [10] * 4) == 3010
    assert timing_total(make_rt, "RATE_LIMIT", 1000, [10] * 4, clock_khz=2000) == 16
    assert timing_total(make_rt, "RATE_LIMIT", 3, [10] * 4, clock_khz=10) == 20


def test_interleaved_in_order_issue_per_queue(make_rt):
    # task0 (100 cycles) writes X, task1 reads X, task2 is independent (50 cycles)
    cyc = [100, 10, 50]
    assert timing_total(make_rt, "IMMEDIATE", 0, cyc, deps_on=(0, 1), aicpus=3) == 110
    assert timing_total(make_rt, "INTERLEAVED", 1, cyc, deps_on=(0, 1), aicpus=3) == 150
    assert timing_total(make_rt, "INTERLEAVED", 2, cyc, skeys=[0, 0, 1], deps_on=(0, 1), aicpus=3) == 110


# ---------------------------------------------------------------- window
def test_window_stall_bounds_in_flight(make_rt):
    rt = make_rt(num_threads=2, window_size=8)
    for i in range(100):
        rt.rec(i, sleep_us=100)
    assert rt.finish() == 0
    s = rt.stats()
    assert s.max_in_flight <= 8 and s.window_stalls > 0 and s.executed == 100


def test_window_stall_with_after_orchestration_starts_execution(make_rt):
    rt = make_rt(num_threads=1, window_size=4, start=C["AFTER_ORCH"])
    for i in range(50):
        assert rt.rec(i) == i
    assert rt.finish() == 0 and rt.order() == list(range(50))
    assert rt.stats().max_in_flight <= 4


def test_window_abort_raises_naming_the_window(make_rt):
    rt = make_rt(num_threads=2, window_size=4, window_mode=C["ABORT"], start=C["AFTER_ORCH"])
    for i in range(4):
        assert rt.rec(i) == i
    assert rt.rec(4) == -C["EWINDOW"]
    code, msg, _, _ = rt.error()
    assert code == C["EWINDOW"] and "window of 4 tasks" in msg and "ABORT" in msg
    assert rt.finish() == C["EWINDOW"]
    assert rt.stats().cancelled == 4 and rt.order() == []


def test_window_benchmark_counts_overflows_and_runs_no_kernel(make_rt):
    rt = make_rt(num_threads=2, window_size=4, window_mode=C["BENCHMARK"], start=C["AFTER_ORCH"])
    for i in range(10):
        assert rt.rec(i, cycles=100) == i
    assert rt.finish() == 0
    s = rt.stats()
    assert s.window_overflows == 6 and s.executed == 0 and rt.order() == [] and s.total_cycles == 0
    assert s.task_count == 10


def test_window_in_bytes(make_rt):
    rt0 = make_rt(num_threads=1)
    b = rt0.lib.pto_rt_task_bytes(rt0.ffi.sizeof("rec_args"), 0)
    rt = make_rt(num_threads=2, window_size=2 * b, window_unit=C["BYTES"], num_aicpus=4)
    for i in range(4):
        rt.rec(i, cycles=10)
    assert rt.finish() == 0
    s = rt.stats()
    assert s.max_in_flight <= 2 and s.total_cycles == 20
    rt2 = make_rt(num_threads=1, window_size=b - 1, window_unit=C["BYTES"])
    assert rt2.rec(0) == -C["EDEADLOCK"]
    assert "bytes" in rt2.error()[1]


@pytest.mark.parametrize("size,expect", [(1, 40), (2, 20), (3, 20), (4, 10), (0, 10)])
def test_window_limits_simulated_issue(make_rt, size, expect):
    rt = make_rt(num_threads=2, window_size=size, num_aicpus=4)
    for i in range(4):
        rt.rec(i, cycles=10)
    assert rt.finish() == 0
    assert rt.stats().total_cycles == expect


# ---------------------------------------------------------------- start policy
def test_after_orchestration_runs_nothing_before_finish(make_rt):
    rt = make_rt(num_threads=2, start=C["AFTER_ORCH"])
    for i in range(5):
        rt.rec(i)
    time.sleep(0.05)
    assert rt.pos[0] == 0
    assert rt.finish() == 0 and rt.pos[0] == 5


def test_immediate_start_runs_during_orchestration(make_rt):
    rt = make_rt(num_threads=2, start=C["START_IMMEDIATE"])
    for i in range(5):
        rt.rec(i)
    deadline = time.time() + 5
    while rt.pos[0] < 5 and time.time() < deadline:
        time.sleep(0.005)
    assert rt.pos[0] == 5
    assert rt.finish() == 0


def test_threshold_start(make_rt):
    rt = make_rt(num_threads=2, start=C["THRESHOLD"], start_threshold=5)
    for i in range(4):
        rt.rec(i)
    time.sleep(0.05)
    assert rt.pos[0] == 0
    rt.rec(4)
    deadline = time.time() + 5
    while rt.pos[0] < 5 and time.time() < deadline:
        time.sleep(0.005)
    assert rt.pos[0] == 5
    assert rt.finish() == 0


def test_threshold_larger_than_stall_window_is_a_deadlock(make_rt):
    rt = make_rt(num_threads=2, start=C["THRESHOLD"], start_threshold=10, window_size=4)
    for i in range(4):
        assert rt.rec(i) == i
    assert rt.rec(4) == -C["EDEADLOCK"]
    code, msg, _, _ = rt.error()
    assert "threshold(10)" in msg and "window of 4 tasks" in msg
    assert rt.finish() == C["EDEADLOCK"]
    assert rt.stats().cancelled == 4


# ---------------------------------------------------------------- wait_region
@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP", "EXPLICIT"])
def test_wait_region_sees_writer_results(make_rt, deps):
    rt = make_rt(num_threads=2, deps=C[deps], start=C["AFTER_ORCH"])
    buf = rt.ffi.new("double[]", 16)
    a0 = int(rt.ffi.cast("uintptr_t", buf))
    expect = 0.0
    # The read-modify-write chain does not commute, so it must be ordered in every mode:
    # by data (EXACT, OVERLAP) and by program structure (a SEQ scope; the only order
    # EXPLICIT knows).
    rt.begin(C["SEQ"])
    for i in range(50):
        if i:
            rt.next()
        a = rt.ffi.new("axpy_args *")
        a.dst, a.rows, a.cols, a.drs, a.dcs, a.k = buf, 4, 4, 4, 1, 1.0
        rt.submit("k_axpy", a, [rt.tile(a0, C["RW"])])
        expect = expect * 0.5 + 1.0
    rt.end()
    reg = rt.ffi.new("pto_rt_region *", rt.tile(a0, C["READ"]))
    assert rt.lib.pto_rt_wait_region(rt.rt, reg) == 0
    assert buf[5] == expect  # read before finish: data-dependent control flow
    assert rt.finish() == 0

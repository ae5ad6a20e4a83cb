"""The orchestrator's ready ring (FIFO pools): order, overflow, and wake-ups of sleeping workers."""

import time

from conftest import C


def test_fifo_order_survives_ring_overflow(make_rt):
    # 3000 ready tasks: 1024 fit in the ring, the rest overflow to the locked queue; the
    # single thread still runs them oldest first
    n = 3000
    rt = make_rt(log_size=n, num_threads=1, ready=C["FIFO"], start=C["AFTER_ORCH"])
    for i in range(n):
        rt.rec(i)
    assert rt.finish() == 0 and rt.order() == list(range(n))


def test_sleeping_worker_is_woken_for_a_lone_task(make_rt):
    # the worker spins briefly, then sleeps; each lone task submitted afterwards must wake it
    # (no finish() call, which would let the orchestrator run the task itself)
    rt = make_rt(log_size=64, num_threads=2, start=C["START_IMMEDIATE"])
    for i in range(12):
        time.sleep(0.02 if i % 3 else 0.0)
        assert rt.rec(i) == i
        deadline = time.time() + 5
        while rt.pos[0] < i + 1 and time.time() < deadline:
            time.sleep(0.0005)
        assert rt.pos[0] == i + 1, f"task {i} was not run by the sleeping worker"
    assert rt.finish() == 0 and rt.workers() == [1] * 12


def test_busy_worker_drains_ring_and_queue(make_rt):
    # independent tasks plus chains released by workers: both sources feed the same pool
    rt = make_rt(log_size=4000, num_threads=3, start=C["START_IMMEDIATE"])
    for i in range(2000):
        regions = [rt.tile(0x10000 + 256 * (i % 50), C["RW"])] if i % 2 else []
        rt.rec(i, regions=regions)
    assert rt.finish() == 0
    assert sorted(rt.order()) == list(range(2000))


def test_orchestrator_helps_when_the_ring_is_full(make_rt):
    # one thread, immediate start: once 1024 ready tasks fill the ring, each further
    # submission first runs the oldest one itself (and reports itself as worker 0)
    n = 3000
    rt = make_rt(log_size=n, num_threads=1, start=C["START_IMMEDIATE"])
    for i in range(n):
        rt.rec(i)
    assert rt.pos[0] == n - 1024
    assert rt.finish() == 0 and rt.order() == list(range(n)) and rt.workers() == [0] * n

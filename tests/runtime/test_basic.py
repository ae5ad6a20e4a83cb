"""Core behaviour: submission, RAW/WAR/WAW ordering, finish, errors, limits, config checks."""

import re

import pytest

from conftest import C


def addr_of(ffi, buf):
    return int(ffi.cast("uintptr_t", buf))


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_chain_runs_in_order(make_rt, threads):
    rt = make_rt(num_threads=threads)
    buf = rt.ffi.new("double[]", 64)
    a = addr_of(rt.ffi, buf)
    for i in range(200):
        assert rt.rec(i, cycles=3, regions=[rt.tile(a, C["RW"])]) == i
    assert rt.finish() == 0
    assert rt.order() == list(range(200))
    s = rt.stats()
    assert (s.task_count, s.executed, s.failed, s.cancelled) == (200, 200, 0, 0)
    assert s.total_cycles == 600


def test_raw_war_waw(make_rt):
    """writer W1 -> readers R1..R3 (RAW) -> writer W2 (WAR) -> writer W3 (WAW)."""
    rt = make_rt(num_threads=4)
    buf = rt.ffi.new("double[]", 64)
    a = addr_of(rt.ffi, buf)
    rt.rec(0, sleep_us=20000, regions=[rt.tile(a, C["WRITE"])])
    for v in (1, 2, 3):
        rt.rec(v, sleep_us=5000 * v, regions=[rt.tile(a, C["READ"])])
    rt.rec(4, regions=[rt.tile(a, C["WRITE"])])
    rt.rec(5, regions=[rt.tile(a, C["WRITE"])])
    assert rt.finish() == 0
    o = rt.order()
    assert o[0] == 0 and sorted(o[1:4]) == [1, 2, 3] and o[4:] == [4, 5]


def test_readers_run_concurrently_in_simulation(make_rt):
    rt = make_rt(num_threads=2, num_aicpus=4)
    buf = rt.ffi.new("double[]", 64)
    a = addr_of(rt.ffi, buf)
    rt.rec(0, cycles=100, regions=[rt.tile(a, C["WRITE"])])
    for v in range(3):
        rt.rec(v + 1, cycles=50, regions=[rt.tile(a, C["READ"])])
    rt.rec(9, cycles=10, regions=[rt.tile(a, C["WRITE"])])
    assert rt.finish() == 0
    # W(0..100) -> 3 readers in parallel (100..150) -> W (150..160)
    assert rt.stats().total_cycles == 160


def test_disjoint_tiles_are_independent(make_rt):
    rt = make_rt(num_threads=2, num_aicpus=8)
    buf = rt.ffi.new("double[]", 1024)
    a = addr_of(rt.ffi, buf)
    for i in range(8):
        rt.rec(i, cycles=100, regions=[rt.tile(a + i * 128, C["WRITE"])])
    assert rt.finish() == 0
    assert rt.stats().total_cycles == 100


def test_kernel_failure_cancels_dependents_only(make_rt):
    rt = make_rt(num_threads=2)
    buf = rt.ffi.new("double[]", 256)
    a = addr_of(rt.ffi, buf)
    rt.rec(0, regions=[rt.tile(a, C["WRITE"])])
    rt.rec(1, rc=7, regions=[rt.tile(a, C["READ"]), rt.tile(a + 128, C["WRITE"])], kid=42,
           name="bad_kernel")
    for i in range(2, 10):
        rt.rec(i, regions=[rt.tile(a + 128, C["READ"]), rt.tile(a + 256 + 128 * (i % 2), C["RW"])])
    rt.rec(10, regions=[rt.tile(a + 1024, C["WRITE"])])  # independent
    assert rt.finish() == C["EKERNEL"]
    code, msg, task, kid = rt.error()
    assert (code, task, kid) == (C["EKERNEL"], 1, 42)
    assert "bad_kernel" in msg and "failed with 7" in msg
    s = rt.stats()
    assert (s.executed, s.failed, s.cancelled) == (3, 1, 8)
    assert sorted(rt.order()) == [0, 1, 10]


@pytest.mark.parametrize("threads", [1, 3])
def test_long_cancellation_chain_does_not_recurse(make_rt, threads):
    rt = make_rt(num_threads=threads, start=C["AFTER_ORCH"])
    buf = rt.ffi.new("double[]", 64)
    a = addr_of(rt.ffi, buf)
    rt.rec(0, rc=1, regions=[rt.tile(a, C["WRITE"])])
    for i in range(1, 20000):
        rt.submit("k_empty", None, [rt.tile(a, C["RW"])])
    assert rt.finish() == C["EKERNEL"]
    s = rt.stats()
    assert (s.failed, s.cancelled) == (1, 19999)


def test_failure_poisons_tasks_submitted_after_the_writer_finished(make_rt):
    rt = make_rt(num_threads=2)
    buf = rt.ffi.new("double[]", 64)
    a = addr_of(rt.ffi, buf)
    rt.rec(0, rc=3, regions=[rt.tile(a, C["WRITE"])])
    assert rt.lib.pto_rt_wait_region(rt.rt, rt.ffi.new("pto_rt_region *", rt.tile(a, C["READ"]))) == C["EKERNEL"]
    rt.rec(1, regions=[rt.tile(a, C["READ"])])
    assert rt.finish() == C["EKERNEL"]
    assert rt.stats().cancelled == 1 and rt.order() == [0]


def test_limits(make_rt):
    rt = make_rt(num_threads=1)
    big = rt.ffi.new("char[]", 2049)
    assert rt.submit("k_empty", big, raw_args_size=2049) == -C["ETOOBIG"]
    assert "2049 bytes" in rt.error()[1]
    assert rt.finish() == C["ETOOBIG"]
    rt2 = make_rt(num_threads=1)
    buf = rt2.ffi.new("double[]", 64)
    a = addr_of(rt2.ffi, buf)
    assert rt2.rec(0, regions=[rt2.tile(a, C["READ"])] * 17) == -C["ETOOBIG"]
    for mode in (8, C["ORDER"]):  # an unknown bit; ORDER without READ/WRITE
        rt3 = make_rt(num_threads=1)
        assert rt3.rec(0, regions=[rt3.tile(a, mode)]) == -C["EINVAL"]
        # after a fatal error submissions are refused with the same code
        assert rt3.rec(1) == -C["EINVAL"]


@pytest.mark.parametrize("total", [96, 256, 300, 2048])  # each descriptor size class
def test_max_args_accepted(make_rt, total):
    # argument blocks up to PTO_RT_MAX_ARGS_BYTES arrive whole, also in recycled descriptors
    rt = make_rt(num_threads=2, window_size=64)
    hdr = rt.ffi.sizeof("sum_args")
    n = total - hdr
    out = rt.ffi.new("uint64_t[]", 300)
    want = []
    for i in range(300):
        blob = rt.ffi.new("unsigned char[]", total)
        h = rt.ffi.cast("sum_args *", blob)
        h.out, h.idx, h.n = out, i, n
        data = [(i * 7 + j) % 251 for j in range(n)]
        rt.ffi.memmove(blob + hdr, bytes(data), n)
        want.append(sum(data))
        assert rt.submit("k_sum_args", blob, raw_args_size=total) == i
    assert rt.finish() == 0 and rt.stats().executed == 300
    assert list(out) == want


@pytest.mark.parametrize("field,value,needle", [
    ("deps", 9, "deps mode"),
    ("ready", 5, "ready policy"),
    ("num_aicpus", 0, "num_aicpus"),
    ("timing", 1, "timing_param"),
    ("start", 2, "start_threshold"),
    ("trace", 8, "trace flags"),
])
def test_invalid_config_is_reported(rtlib, field, value, needle):
    from conftest import Runtime
    with pytest.raises(ValueError, match=needle):
        Runtime(rtlib, **{field: value})


def test_custom_pool_without_workers_rejected(rtlib):
    from conftest import Runtime
    with pytest.raises(ValueError, match="deadlock"):
        Runtime(rtlib, pools=C["CUSTOM"], num_pools=2, pool_workers=[1, 0])


def test_scope_errors(make_rt):
    rt = make_rt(num_threads=1, deps=C["EXPLICIT"])
    assert rt.lib.pto_rt_scope_end(rt.rt) == C["ESCOPE"]
    rt2 = make_rt(num_threads=1, deps=C["EXPLICIT"])
    assert rt2.lib.pto_rt_scope_next(rt2.rt) == C["ESCOPE"]
    rt3 = make_rt(num_threads=1, deps=C["EXPLICIT"], start=C["AFTER_ORCH"])
    rt3.begin(C["SEQ"])
    rt3.rec(0)
    assert rt3.finish() == C["ESCOPE"]
    assert "still open" in rt3.error()[1]
    # a fatal error cancels what has not started (nothing started before finish here)
    assert rt3.order() == [] and rt3.stats().cancelled == 1


def test_finish_twice_and_submit_after_finish(make_rt):
    rt = make_rt(num_threads=2)
    buf = rt.ffi.new("double[]", 64)
    a = addr_of(rt.ffi, buf)
    rt.rec(0, cycles=10, regions=[rt.tile(a, C["RW"])])
    assert rt.finish() == 0
    rt.rec(1, cycles=10, regions=[rt.tile(a, C["RW"])])
    assert rt.finish() == 0
    assert rt.order() == [0, 1] and rt.stats().total_cycles == 20


def test_destroy_without_finish_waits(make_rt):
    rt = make_rt(num_threads=2, start=C["AFTER_ORCH"])
    for i in range(50):
        rt.rec(i, sleep_us=100)
    rt.close()  # must run/drain everything, not hang or crash
    assert sorted(rt.order()) == list(range(50))


def test_strerror_and_task_bytes(rtlib):
    ffi, lib = rtlib
    assert ffi.string(lib.pto_rt_strerror(C["EDEADLOCK"])) == b"deadlock"
    assert lib.pto_rt_task_bytes(0, 0) < lib.pto_rt_task_bytes(16, 1) < lib.pto_rt_task_bytes(256, 16)


def test_header_constants_match(rtlib):
    from pto_wsp.resources import runtime_dir
    text = (runtime_dir() / "pto_rt.h").read_text()
    names = {"EINVAL": "PTO_RT_EINVAL", "EWINDOW": "PTO_RT_EWINDOW", "EDEADLOCK": "PTO_RT_EDEADLOCK",
             "HYBRID": "PTO_RT_DEPS_HYBRID", "PRIORITY": "PTO_RT_READY_PRIORITY",
             "DWS": "PTO_RT_DISPATCH_WORK_STEAL", "RATE_LIMIT": "PTO_RT_TIMING_RATE_LIMIT",
             "BENCHMARK": "PTO_RT_WINDOW_BENCHMARK", "THRESHOLD": "PTO_RT_START_THRESHOLD",
             "ESTATE": "PTO_RT_ESTATE"}
    for k, n in names.items():
        m = re.search(rf"{n}\s*=\s*(\d+)", text)
        assert m and int(m.group(1)) == C[k], n

"""The simulated machine as a compile option (``machine=``): lanes per AICPU, the a2a3 preset,
field overrides, the clock (RATE_LIMIT counts tasks per simulated millisecond) and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import Dense, Machine, P, ScheduleError, Tensor, TimingPolicy, workload

from _shared_kernels import ten


def _independent(n=8, timing=None):
    X, Y = (Tensor(data=np.zeros((n, 1, 8), np.float32)) for _ in range(2))

    @workload
    def indep():
        for i in P(Dense[n]):
            ten[i](x=X[i], y=Y[i])
    w = indep()
    return w.timing(timing) if timing else w


def test_machine_sets_lanes_per_aicpu():
    prog = _independent().compile(num_threads=1, machine=Machine(1, vector_lanes=4, cube_lanes=2))
    s = prog.run()
    assert prog.machine == Machine(1, 4, 2, 1000)
    assert [ln.name for ln in s.lanes][:5] == [f"aicpu 0 vector {i}" for i in range(4)] + \
        ["aicpu 0 cube 0"]
    assert len(s.lanes) == 6 and s.total_cycles == 20  # 8 tasks of 10 cycles on 4 lanes
    assert ("Machine(num_aicpus=1, vector_lanes=4, cube_lanes=2, clock_mhz=1000): 6 simulated "
            "lane(s)") in repr(prog)


def test_default_machine_resolves_aicpus_from_the_dispatch_policy():
    from pto_wsp import DispatchPolicy
    assert _independent().compile(num_threads=1).machine == Machine(4, 1, 1, 1000)
    prog = _independent().dispatch(DispatchPolicy.round_robin(3)).compile(num_threads=1)
    assert prog.machine == Machine(3, 1, 1, 1000) and len(prog.run().lanes) == 6


def test_a2a3_preset_and_overrides():
    m = Machine.a2a3()
    assert (m.num_aicpus, m.vector_lanes, m.cube_lanes, m.clock_mhz) == (4, 12, 6, 1850)
    assert "Machine(num_aicpus=4, vector_lanes=12, cube_lanes=6, clock_mhz=1850)" == repr(m)
    prog = _independent(48).compile(num_threads=1, machine="a2a3", num_aicpus=2)
    assert prog.machine == Machine(2, 12, 6, 1850)
    s = prog.run()
    assert len(s.lanes) == 36 and s.total_cycles == 20  # 48 tasks on 2 x 12 vector lanes


def test_clock_scales_rate_limit():
    # rate_limit(r): task k issues at >= ceil(k * clock_khz / r); 1 task per simulated ms
    def total(mhz):
        prog = _independent(3, TimingPolicy.rate_limit(1)).compile(
            num_threads=1, machine=Machine(clock_mhz=mhz))
        return prog.run().total_cycles
    assert total(1000) == 2 * 1_000_000 + 10
    assert total(2) == 2 * 2000 + 10


@pytest.mark.parametrize("machine, msg", [
    ("a3", "machine must be a pto_wsp.Machine or 'a2a3'"),
    (Machine(clock_mhz=0), "clock_mhz must be an int in [1, 100000]"),
    (Machine(vector_lanes=0), "vector_lanes must be an int in [1, 1024]"),
    (Machine(num_aicpus=-1), "num_aicpus must be a positive int"),
])
def test_bad_machine_is_a_located_schedule_error(machine, msg):
    with pytest.raises(ScheduleError) as ei:
        _independent().compile(machine=machine)
    assert msg in str(ei.value) and "test_machine.py" in str(ei.value)

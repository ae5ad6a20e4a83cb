"""Backend applicability (spec 4.8): one table per target; a primitive a target cannot honour
is a located ScheduleError at compile time naming the target and the primitive."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from pto_wsp import (DType, Dense, DispatchPolicy, In, Out, P, Pools, ScheduleError, TaskWindow,
                     Tensor, Tile, TracePolicy, WindowMode, kernel, pto, workload)
from pto_wsp.backends.applicability import APPLICABILITY, check_applicable, used
from pto_wsp.schedule import Deps, ReadyPolicy, Schedule, StartPolicy, TaskGraph, TimingPolicy

F32 = DType.F32


@kernel
def twice(x: In[Tile[4, 16, F32]], y: Out[Tile[4, 16, F32]]):
    pto.store(y, pto.add(x, x))


X = Tensor(data=np.ones((2, 4, 16), np.float32))
Y = Tensor(data=np.zeros((2, 4, 16), np.float32))


@workload
def doubled():
    for i in P(Dense[2]):
        twice[i](x=X[i], y=Y[i])


def test_both_targets_have_a_table_of_the_same_primitives():
    assert set(APPLICABILITY) == {"cpu_sim", "ascend_npu"}
    assert set(APPLICABILITY["cpu_sim"]) == set(APPLICABILITY["ascend_npu"])
    asc, cpu = APPLICABILITY["ascend_npu"], APPLICABILITY["cpu_sim"]
    assert all(asc[p] <= cpu[p] for p in cpu)
    assert asc["task_graph(trace)"] == {"none"}
    assert asc["task_graph(pools)"] == {"single", "by_exec_unit"}


def test_cpu_sim_honours_every_value_a_schedule_can_name():
    tg = TaskGraph(Deps.hybrid(), TaskWindow(8, "tasks", WindowMode.BENCHMARK),
                   Pools.custom(1, 1), ReadyPolicy.work_steal(), StartPolicy.threshold(2),
                   TracePolicy.both())
    s = Schedule(DispatchPolicy.work_steal(2), 2, None, TimingPolicy.rate_limit(3), None, tg)
    assert {p for p, _, _ in used(s)} == set(APPLICABILITY["cpu_sim"]) - {"stream_by"}
    check_applicable(s, "cpu_sim", None)


@pytest.mark.parametrize("tg, prim", [
    (TaskGraph(trace=TracePolicy.cycles()), "task_graph(trace) = cycles"),
    (TaskGraph(trace=TracePolicy.wall_clock()), "task_graph(trace) = wall_clock"),
    (TaskGraph(pools=Pools.custom(2, 1)), "task_graph(pools) = custom"),
])
def test_ascend_npu_refuses_what_it_cannot_honour_at_compile_time(tg, prim):
    w = doubled().task_graph(deps=tg.deps, pools=tg.pools, trace=tg.trace)
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ScheduleError) as e:
        w.compile(target="ascend_npu")
    msg = str(e.value)
    assert "target 'ascend_npu'" in msg and prim in msg
    assert e.value.loc is not None and e.value.loc.line == line
    assert "honours" in (e.value.hint or "")
    w.compile(target="cpu_sim")  # the same schedule is fine for cpu_sim


def test_the_error_points_at_the_primitive_when_it_has_a_location():
    s = Schedule(task_graph=TaskGraph(trace=TracePolicy.cycles()))
    with pytest.raises(ScheduleError, match="ascend_npu"):
        check_applicable(s, "ascend_npu", None)
    line = inspect.currentframe().f_lineno + 1
    d = DispatchPolicy.round_robin(2)
    table = {**APPLICABILITY["ascend_npu"], "dispatch": frozenset()}
    APPLICABILITY["test_target"] = table
    try:
        with pytest.raises(ScheduleError) as e:
            check_applicable(Schedule(dispatch=d), "test_target", None)
    finally:
        del APPLICABILITY["test_target"]
    assert e.value.loc.line == line and "dispatch = round_robin" in str(e.value)

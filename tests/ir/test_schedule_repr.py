"""repr of a schedule states every effective value, defaults included (issue 13): the task
window a schedule does not set is the runtime's 8192-task STALL window, not "no window"."""

import numpy as np

from pto_wsp import (Dense, DispatchPolicy, DType, In, Out, P, Pools, ReadyPolicy, StartPolicy,
                     Tensor, TaskWindow, Tile, TimingPolicy, TracePolicy, kernel, pto, workload)
from pto_wsp.schedule import Schedule, TaskGraph


@kernel
def copy(x: In[Tile[1, 8, DType.F32]], y: Out[Tile[1, 8, DType.F32]]):
    pto.store(y, pto.mov(x))


def test_default_schedule_states_its_defaults():
    assert repr(Schedule()) == (
        "Schedule(dispatch=DispatchPolicy.round_robin(machine AICPUs) (default), "
        "streams=off (default), timing=TimingPolicy.immediate (default), "
        "task_graph=TaskGraph(deps=Deps.infer_tensor_map_exact(), "
        "window=TaskWindow(8192, 'tasks', WindowMode.STALL) (default), pools=Pools.single(), "
        "ready=ReadyPolicy.fifo(), start=StartPolicy.after_orchestration(), "
        "trace=TracePolicy.none()) (default))")


def test_task_graph_without_window_states_the_default_window():
    X, Y = (Tensor(data=np.zeros((4, 8), np.float32)) for _ in range(2))

    @workload
    def w():
        for i in P(Dense[4]):
            copy[i](x=X[i:i + 1, :], y=Y[i:i + 1, :])
    r = repr(w().task_graph(ready=ReadyPolicy.fifo()).module.schedule)
    assert "window=TaskWindow(8192, 'tasks', WindowMode.STALL) (default)" in r


def test_set_policies_are_shown():
    tg = TaskGraph(window=TaskWindow(16), pools=Pools.custom(2, 1),
                   start=StartPolicy.threshold(5), trace=TracePolicy.both())
    r = repr(Schedule(dispatch=DispatchPolicy.round_robin(3), streams=2,
                      timing=TimingPolicy.batched(4), task_graph=tg))
    assert r == ("Schedule(dispatch=DispatchPolicy.round_robin(3), streams=2 (round-robin), "
                 "timing=TimingPolicy.batched(4), task_graph=TaskGraph("
                 "deps=Deps.infer_tensor_map_exact(), window=TaskWindow(16, 'tasks', "
                 "WindowMode.STALL), pools=Pools.custom(2, 1), ready=ReadyPolicy.fifo(), "
                 "start=StartPolicy.threshold(5), trace=TracePolicy(sim, wall)))")

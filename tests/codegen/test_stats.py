"""ProgramStats (issue 15): per-kernel tasks and cycles, per-lane busy cycles and
utilisation, the critical path, the host time split; str(stats), repr(program) and
`pto-wsp run --summary`. Kernels have fixed custom cycles so every number is hand-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pto_wsp import Dense, P, Tensor, workload
from pto_wsp.cli import main

from _shared_kernels import five, ten


def _chains(seq: bool):
    """4 pairs ten[i] -> five[i] (RAW through Y[i]); P, or P.seq (iteration order)."""
    x = np.zeros((4, 1, 8), np.float32)
    X, Y, Z = (Tensor(data=np.zeros_like(x)) for _ in range(3))
    loop = P.seq if seq else P

    @workload
    def chains():
        for i in loop(Dense[4]):
            ten[i](x=X[i], y=Y[i])
            five[i](x=Y[i], y=Z[i])
    return chains().compile(num_threads=2)


def test_stats_per_kernel_lane_and_critical_path():
    prog = _chains(seq=False)
    s = prog.run()
    # round robin over 4 AICPUs by task index: ten on aicpus 0 and 2, five on 1 and 3;
    # five[i] starts when ten[i] ends. Makespan 25 = two ten's on aicpu 0 then a five.
    assert (s.task_count, s.total_cycles, s.critical_path) == (8, 25, 15)
    assert {k: (v.tasks, v.cycles) for k, v in s.kernels.items()} == {"ten": (4, 40),
                                                                       "five": (4, 20)}
    busy = {ln.name: (ln.tasks, ln.busy_cycles) for ln in s.lanes}
    assert busy == {"aicpu 0 vector 0": (2, 20), "aicpu 0 cube 0": (0, 0),
                    "aicpu 1 vector 0": (2, 10), "aicpu 1 cube 0": (0, 0),
                    "aicpu 2 vector 0": (2, 20), "aicpu 2 cube 0": (0, 0),
                    "aicpu 3 vector 0": (2, 10), "aicpu 3 cube 0": (0, 0)}
    assert [ln.utilisation for ln in s.lanes][:3] == [0.8, 0.0, 0.4]
    assert s.wall_ms >= s.orchestration_ms >= 0
    assert s.drain_ms == pytest.approx(s.wall_ms - s.orchestration_ms)
    assert s.execute_time_ms >= s.wall_ms

    text = str(s)
    assert "simulated: 25 cycles, critical path 15 (60% of total)" in text
    assert "tasks: 8 (8 executed, 0 cancelled)" in text
    rows = [ln.split() for ln in text.splitlines()]
    assert ["ten", "4", "40", "66.7%"] in rows and ["five", "4", "20", "33.3%"] in rows
    assert ["aicpu", "0", "vector", "0", "2", "20", "80.0%"] in rows
    assert text.index("ten ") < text.index("five ")  # by cycles

    r = repr(prog)
    assert r.startswith("<Program 'chains' cpu_sim: 2 kernel(s) (ten, five);")
    assert "8 simulated lane(s); last run 8 tasks in 25 cycles>" in r


def test_critical_path_follows_structure():
    """P.seq: every iteration waits for the previous one, so the chain is 4 x (10 + 5)."""
    s = _chains(seq=True).run()
    assert (s.total_cycles, s.critical_path) == (60, 60)


def test_run_summary(capsys):
    corpus = Path(__file__).resolve().parents[1] / "ir" / "corpus" / "rmsnorm.pto"
    assert main(["run", str(corpus), "--threads", "1", "--summary"]) == 0
    out = capsys.readouterr().out
    assert "critical path" in out and "kernel" in out and "utilisation" in out


def test_more_task_indices_than_recorded_is_a_located_error():
    from pto_wsp import CompileError
    X, Y = (Tensor(data=np.zeros((1, 8), np.float32)) for _ in range(2))

    @workload
    def wide():
        for a, b, c, d, e, f, g, h, i in P(*[Dense[1] for _ in range(9)]):
            ten[a, b, c, d, e, f, g, h, i](x=X[0:1], y=Y[0:1])
    with pytest.raises(CompileError, match="binds 9 axis values; the runtime records at most 8") as ei:
        wide().compile()
    assert ei.value.loc.file == __file__

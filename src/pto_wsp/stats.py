"""What a run did: :class:`ProgramStats` (per kernel, per simulated lane, critical path, the
host time split) and its text table (``str(stats)``, ``pto-wsp run --summary``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KernelStats:
    """One kernel's tasks in the last run: how many, and their simulated cycles in total."""

    tasks: int
    cycles: int


@dataclass(frozen=True)
class LaneStats:
    """One simulated lane (an AICPU's vector or cube AICore lane): tasks placed on it, busy
    cycles, and ``utilisation`` = busy cycles / the run's total cycles."""

    name: str
    tasks: int
    busy_cycles: int
    utilisation: float


@dataclass
class ProgramStats:
    """What the last run did. Simulated: ``total_cycles`` (makespan), ``critical_path``
    (longest dependency chain: the makespan with unlimited lanes), per kernel and per lane.
    Host: ``execute_time_ms`` (the whole native run), ``wall_ms`` (first submission to the
    last task) = ``orchestration_ms`` (submitting tasks, executing while the window is full)
    + ``drain_ms`` (executing after the last submission)."""

    compile_time_ms: float = 0.0
    execute_time_ms: float = 0.0
    task_count: int = 0
    total_cycles: int = 0
    executed: int = 0
    cancelled: int = 0
    window_overflows: int = 0
    window_stalls: int = 0
    max_in_flight: int = 0
    peak_regions: int = 0  # most distinct tensor regions the runtime tracked at once
    num_workers: int = 0
    compiled: bool = False
    critical_path: int = 0
    wall_ms: float = 0.0
    orchestration_ms: float = 0.0
    drain_ms: float = 0.0
    kernels: dict[str, KernelStats] = field(default_factory=dict)
    lanes: list[LaneStats] = field(default_factory=list)

    def __str__(self) -> str:
        return stats_table(self)


def _ms(x: float) -> str:
    return f"{x:,.1f} ms" if x < 10_000 else f"{x / 1e3:,.1f} s"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned first column, the others right-aligned."""
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    return ["  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r))
            .rstrip() for r in [head] + rows]


def stats_table(s: ProgramStats) -> str:
    """A readable summary: totals, then one row per kernel (by cycles) and per lane."""
    cp = f"{s.critical_path:,}" + (f" ({s.critical_path / s.total_cycles:.0%} of total)"
                                   if s.total_cycles else "")
    lines = [f"simulated: {s.total_cycles:,} cycles, critical path {cp}",
             f"tasks: {s.task_count:,} ({s.executed:,} executed, {s.cancelled:,} cancelled)",
             f"host: run {_ms(s.execute_time_ms)}; wall {_ms(s.wall_ms)} = orchestration "
             f"{_ms(s.orchestration_ms)} + drain {_ms(s.drain_ms)}; {s.num_workers} worker "
             f"thread(s); compile {_ms(s.compile_time_ms)}"
             f"{'' if s.compiled else ' (cached)'}"]
    total = sum(k.cycles for k in s.kernels.values()) or 1
    if s.kernels:
        rows = [[name, f"{k.tasks:,}", f"{k.cycles:,}", f"{k.cycles / total:.1%}"]
                for name, k in sorted(s.kernels.items(), key=lambda kv: -kv[1].cycles)]
        lines += [""] + _table(["kernel", "tasks", "cycles", "share"], rows)
    if s.lanes:
        rows = [[ln.name, f"{ln.tasks:,}", f"{ln.busy_cycles:,}", f"{ln.utilisation:.1%}"]
                for ln in s.lanes]
        lines += [""] + _table(["lane", "tasks", "busy cycles", "utilisation"], rows)
    return "\n".join(lines)

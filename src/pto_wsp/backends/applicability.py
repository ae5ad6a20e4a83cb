"""Backend applicability (spec 4.8): per target, the schedule primitives and the values of each
that the target honours. Compiling a schedule that uses anything else for that target is a
located ``ScheduleError`` naming the target and the primitive (docs/ascend.md, "Backend
applicability"). ``spatial_map`` and collectives are not in the table: they keep their own
errors until a backend executes them.
"""

from __future__ import annotations

from ..errors import ScheduleError, SourceLoc
from ..schedule import Schedule

_ALL = {
    "dispatch": frozenset({"round_robin", "affinity", "hash", "dispatch_by", "work_steal"}),
    "streams": frozenset({"n"}),
    "stream_by": frozenset({"key"}),
    "timing": frozenset({"immediate", "batched", "interleaved", "rate_limit"}),
    "task_graph(deps)": frozenset({"tensor_map_exact", "bytes_overlap", "explicit", "hybrid"}),
    "task_graph(window)": frozenset({"stall", "abort", "benchmark"}),
    "task_graph(pools)": frozenset({"single", "by_exec_unit", "custom"}),
    "task_graph(ready)": frozenset({"fifo", "work_steal", "priority"}),
    "task_graph(start)": frozenset({"after_orchestration", "threshold"}),
    "task_graph(trace)": frozenset({"none", "cycles", "wall_clock", "both"}),
}

#: target -> primitive -> the values it honours
APPLICABILITY: dict[str, dict[str, frozenset[str]]] = {
    "cpu_sim": dict(_ALL),
    # the AICPU runs the same runtime, so every policy it implements is honoured; what needs a
    # host (trace files, host worker counts) is not
    "ascend_npu": {**_ALL, "task_graph(pools)": frozenset({"single", "by_exec_unit"}),
                   "task_graph(trace)": frozenset({"none"})},
}

_WHY = {
    ("ascend_npu", "task_graph(pools)"): "the AICPU's scheduler threads are fixed by the "
                                         "device, not host worker counts",
    ("ascend_npu", "task_graph(trace)"): "the AICPU has no file system to write a trace to",
}


def used(s: Schedule) -> list[tuple[str, str, SourceLoc | None]]:
    """The primitives a schedule sets, each as (primitive, value, where it was set)."""
    out = []
    if s.dispatch is not None:
        out.append(("dispatch", s.dispatch.kind, s.dispatch.loc))
    if s.streams is not None:
        out.append(("streams", "n", None))
    if s.stream_by is not None:
        out.append(("stream_by", "key", None))
    if s.timing is not None:
        out.append(("timing", s.timing.kind, s.timing.loc))
    tg = s.task_graph
    if tg is not None:
        tr = tg.trace
        trace = {(False, False): "none", (True, False): "cycles", (False, True): "wall_clock",
                 (True, True): "both"}[(tr.sim, tr.wall)]
        out += [("task_graph(deps)", tg.deps.kind, None),
                ("task_graph(pools)", tg.pools.kind, None),
                ("task_graph(ready)", tg.ready.kind, None),
                ("task_graph(start)", tg.start.kind, None),
                ("task_graph(trace)", trace, None)]
        if tg.window is not None:
            out.append(("task_graph(window)", tg.window.mode.value, tg.window.loc))
    return out


def check_applicable(s: Schedule, target: str, loc: SourceLoc | None) -> None:
    """Raise a located ScheduleError for the first primitive ``target`` cannot honour."""
    table = APPLICABILITY[target]
    for prim, value, where in used(s):
        if value not in table[prim]:
            why = _WHY.get((target, prim), "")
            raise ScheduleError(
                f"target '{target}' cannot honour {prim} = {value}" + (f": {why}" if why else ""),
                where or loc,
                hint=f"{target} honours {prim} in: " + ", ".join(sorted(table[prim])))


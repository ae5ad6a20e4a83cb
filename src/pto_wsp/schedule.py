"""Schedule policies (spec section 4): frozen values that say *how* a workload runs.

Key functions (``lambda t: t.get("batch") % 4``) are traced once into scalar expressions
(:func:`trace_key`); the runtime evaluates them per task. A :class:`Schedule` is immutable;
the workload's combinators return new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Callable

from .errors import ScheduleError, SourceLoc, loc_field, user_location
from .ir.expr import ScalarExpr

__all__ = [
    "DispatchPolicy", "TimingPolicy", "TaskWindow", "WindowMode", "Deps", "ReadyPolicy",
    "StartPolicy", "TracePolicy", "Pools", "TaskGraph", "Schedule", "trace_key",
]


#: The authoring layer's key-function tracer (:func:`pto_wsp.language.scalar.trace_key`),
#: registered by it so that this IR-side module does not import it.
_key_tracer: Callable[[Callable, str], ScalarExpr] | None = None


def set_key_tracer(tracer: Callable[[Callable, str], ScalarExpr]) -> None:
    global _key_tracer
    _key_tracer = tracer


def trace_key(fn, what: str) -> ScalarExpr:
    """Trace a key function ``t -> expr`` into a ScalarExpr (located error if it cannot be)."""
    if isinstance(fn, ScalarExpr):
        return fn
    if _key_tracer is None:
        raise ScheduleError(f"{what}: key functions are traced by pto_wsp.language",
                            user_location(), hint="import pto_wsp")
    return _key_tracer(fn, what)


@dataclass(frozen=True)
class DispatchPolicy:
    """Which simulated AICPU lane (and host worker queue) a task is issued to."""

    kind: str  # round_robin | affinity | hash | dispatch_by | work_steal
    num_aicpus: int | None = None
    key: ScalarExpr | None = None
    loc: SourceLoc | None = loc_field()

    @staticmethod
    def round_robin(num_aicpus: int) -> "DispatchPolicy":
        return DispatchPolicy("round_robin", _positive(num_aicpus, "round_robin(num_aicpus)"),
                              None, user_location())

    @staticmethod
    def affinity(key: Callable, num_aicpus: int | None = None) -> "DispatchPolicy":
        return DispatchPolicy("affinity", _opt_positive(num_aicpus), trace_key(key, "affinity"),
                              user_location())

    @staticmethod
    def hash(key: Callable, num_aicpus: int | None = None) -> "DispatchPolicy":
        return DispatchPolicy("hash", _opt_positive(num_aicpus), trace_key(key, "hash"),
                              user_location())

    @staticmethod
    def dispatch_by(fn: Callable, num_aicpus: int | None = None) -> "DispatchPolicy":
        return DispatchPolicy("dispatch_by", _opt_positive(num_aicpus),
                              trace_key(fn, "dispatch_by"), user_location())

    @staticmethod
    def work_steal(num_aicpus: int | None = None) -> "DispatchPolicy":
        return DispatchPolicy("work_steal", _opt_positive(num_aicpus), None, user_location())


@dataclass(frozen=True)
class TimingPolicy:
    """When tasks are issued (acts on simulated issue time)."""

    kind: str  # immediate | batched | interleaved | rate_limit
    value: int = 0
    loc: SourceLoc | None = loc_field()

    @staticmethod
    def batched(n: int) -> "TimingPolicy":
        return TimingPolicy("batched", _positive(n, "batched(n)"), user_location())

    @staticmethod
    def interleaved(streams: int) -> "TimingPolicy":
        return TimingPolicy("interleaved", _positive(streams, "interleaved(streams)"),
                            user_location())

    @staticmethod
    def rate_limit(tasks_per_kcycle: int) -> "TimingPolicy":
        return TimingPolicy("rate_limit", _positive(tasks_per_kcycle, "rate_limit(r)"),
                            user_location())


TimingPolicy.immediate = TimingPolicy("immediate")


class WindowMode(Enum):
    STALL = "stall"
    ABORT = "abort"
    BENCHMARK = "benchmark"


@dataclass(frozen=True)
class TaskWindow:
    """At most ``size`` tasks (or bytes of task metadata) in flight."""

    size: int
    unit: str = "tasks"  # tasks | bytes
    mode: WindowMode = WindowMode.STALL
    loc: SourceLoc | None = loc_field()

    def __post_init__(self):
        loc = self.loc or user_location()
        object.__setattr__(self, "loc", loc)
        _positive(self.size, "TaskWindow size")
        if self.unit not in ("tasks", "bytes"):
            raise ScheduleError(f"TaskWindow unit must be 'tasks' or 'bytes', got {self.unit!r}",
                                loc)
        if not isinstance(self.mode, WindowMode):
            raise ScheduleError(f"TaskWindow mode must be a WindowMode, got {self.mode!r}", loc)


@dataclass(frozen=True)
class Deps:
    """How dependencies between tasks are found."""

    kind: str  # tensor_map_exact | bytes_overlap | explicit | hybrid

    @staticmethod
    def infer_tensor_map_exact() -> "Deps":
        return Deps("tensor_map_exact")

    @staticmethod
    def infer_bytes_overlap() -> "Deps":
        return Deps("bytes_overlap")

    @staticmethod
    def explicit() -> "Deps":
        return Deps("explicit")

    @staticmethod
    def hybrid() -> "Deps":
        return Deps("hybrid")


@dataclass(frozen=True)
class ReadyPolicy:
    kind: str  # fifo | work_steal | priority
    key: ScalarExpr | None = None

    @staticmethod
    def fifo() -> "ReadyPolicy":
        return ReadyPolicy("fifo")

    @staticmethod
    def work_steal() -> "ReadyPolicy":
        return ReadyPolicy("work_steal")

    @staticmethod
    def priority(key: Callable) -> "ReadyPolicy":
        return ReadyPolicy("priority", trace_key(key, "priority"))


@dataclass(frozen=True)
class StartPolicy:
    kind: str  # after_orchestration | threshold
    n: int = 0

    @staticmethod
    def after_orchestration() -> "StartPolicy":
        return StartPolicy("after_orchestration")

    @staticmethod
    def threshold(n: int) -> "StartPolicy":
        return StartPolicy("threshold", _positive(n, "threshold(n)"))


@dataclass(frozen=True)
class TracePolicy:
    """Record per-task begin/end on simulated lanes (``sim``) and/or real workers (``wall``).

    ``costs`` (kernel name, cycles expression) replace the cost model's cycles of that
    kernel's tasks; ``TracePolicy.cycles(cost_fn)`` gets them from ``cost_fn(kernel_name,
    params)``, traced per kernel when the policy is given to ``task_graph``.
    """

    sim: bool = False
    wall: bool = False
    costs: tuple[tuple[str, ScalarExpr], ...] = ()
    cost_fn: Callable | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def none() -> "TracePolicy":
        return TracePolicy()

    @staticmethod
    def cycles(cost_fn: Callable | None = None) -> "TracePolicy":
        if cost_fn is not None and not callable(cost_fn):
            raise ScheduleError(f"TracePolicy.cycles(cost_fn) needs a function (kernel name, "
                                f"params) -> cycles, got {cost_fn!r}", user_location())
        return TracePolicy(sim=True, cost_fn=cost_fn)

    @staticmethod
    def wall_clock() -> "TracePolicy":
        return TracePolicy(wall=True)

    @staticmethod
    def both() -> "TracePolicy":
        return TracePolicy(sim=True, wall=True)


@dataclass(frozen=True)
class Pools:
    """Worker pools: one shared pool, separate vector/cube pools, or custom worker counts."""

    kind: str  # single | by_exec_unit | custom
    vector_workers: int = 0
    cube_workers: int = 0

    @staticmethod
    def single() -> "Pools":
        return Pools("single")

    @staticmethod
    def by_exec_unit() -> "Pools":
        return Pools("by_exec_unit")

    @staticmethod
    def custom(vector_workers: int | None = None, cube_workers: int | None = None) -> "Pools":
        """A vector and a cube pool of the given worker counts; without counts the same as
        :meth:`by_exec_unit` (the host workers split evenly between them)."""
        if vector_workers is None and cube_workers is None:
            return Pools("by_exec_unit")
        if vector_workers is None or cube_workers is None:
            raise ScheduleError("Pools.custom() takes both worker counts or neither",
                                user_location(), hint="Pools.custom(vector_workers=2, "
                                "cube_workers=1), or Pools.custom() for an even split")
        return Pools("custom", _positive(vector_workers, "custom(vector_workers)"),
                     _positive(cube_workers, "custom(cube_workers)"))


#: The task window when the schedule sets none: the runtime's default (pto_rt_config_default).
DEFAULT_WINDOW = "TaskWindow(8192, 'tasks', WindowMode.STALL)"


@dataclass(frozen=True, repr=False)
class TaskGraph:
    """How tasks become a DAG and run; ``window=None`` is the default 8192-task STALL window."""

    deps: Deps = Deps("tensor_map_exact")
    window: TaskWindow | None = None
    pools: Pools = Pools("single")
    ready: ReadyPolicy = ReadyPolicy("fifo")
    start: StartPolicy = StartPolicy("after_orchestration")
    trace: TracePolicy = TracePolicy()

    def __repr__(self) -> str:
        w, p, r, st, tr = self.window, self.pools, self.ready, self.start, self.trace
        win = (f"TaskWindow({w.size}, {w.unit!r}, WindowMode.{w.mode.name})" if w
               else DEFAULT_WINDOW + " (default)")
        pools = (f"Pools.custom({p.vector_workers}, {p.cube_workers})" if p.kind == "custom"
                 else f"Pools.{p.kind}()")
        ready = f"ReadyPolicy.priority({_expr(r.key)})" if r.key is not None else \
            f"ReadyPolicy.{r.kind}()"
        start = f"StartPolicy.threshold({st.n})" if st.kind == "threshold" else \
            f"StartPolicy.{st.kind}()"
        trace = ("TracePolicy(" + ", ".join([k for k in ("sim", "wall") if getattr(tr, k)]
                                            + [f"cost @{n} = {_expr(e)}" for n, e in tr.costs])
                 + ")") if tr != TracePolicy() else "TracePolicy.none()"
        return (f"TaskGraph(deps=Deps.{'infer_' if self.deps.kind in _INFER else ''}"
                f"{self.deps.kind}(), window={win}, pools={pools}, ready={ready}, "
                f"start={start}, trace={trace})")


_INFER = ("tensor_map_exact", "bytes_overlap")


def _expr(e: ScalarExpr) -> str:
    from .ir.printer import format_expr  # the printer imports this module
    return format_expr(e)


@dataclass(frozen=True, repr=False)
class Schedule:
    """Everything the schedule combinators set; ``None`` means the default, which ``repr``
    states: round-robin dispatch over the machine's AICPUs, no streams, immediate timing and
    the default :class:`TaskGraph`."""

    dispatch: DispatchPolicy | None = None
    streams: int | None = None
    stream_by: ScalarExpr | None = None
    timing: TimingPolicy | None = None
    spatial_grid: tuple[int, ...] | None = None
    task_graph: TaskGraph | None = None

    def __repr__(self) -> str:
        d, t = self.dispatch, self.timing
        if d is None:
            disp = "DispatchPolicy.round_robin(machine AICPUs) (default)"
        else:
            args = [_expr(d.key)] if d.key is not None else []
            args += [str(d.num_aicpus)] if d.num_aicpus is not None else []
            disp = f"DispatchPolicy.{d.kind}({', '.join(args)})"
        streams = "off (default)" if self.streams is None else str(self.streams) + (
            f", stream_by={_expr(self.stream_by)}" if self.stream_by is not None
            else " (round-robin)")
        timing = ("TimingPolicy.immediate (default)" if t is None else
                  "TimingPolicy.immediate" if t.kind == "immediate" else
                  f"TimingPolicy.{t.kind}({t.value})")
        grid = "" if self.spatial_grid is None else f", spatial_grid={self.spatial_grid}"
        tg = repr(self.task_graph) if self.task_graph else repr(TaskGraph()) + " (default)"
        return (f"Schedule(dispatch={disp}, streams={streams}, timing={timing}{grid}, "
                f"task_graph={tg})")

    def with_(self, **kw) -> "Schedule":
        return replace(self, **kw)

    def keys(self) -> list[tuple[str, ScalarExpr]]:
        """The key functions set, as (what, expression) pairs."""
        tg = self.task_graph
        return [(what, e) for what, e in (
            ("dispatch", self.dispatch.key if self.dispatch else None),
            ("stream_by", self.stream_by),
            ("priority", tg.ready.key if tg else None)) if e is not None]

    def map_keys(self, fn: Callable[[str, ScalarExpr], ScalarExpr]) -> "Schedule":
        """This schedule with every key expression ``e`` (set as ``what``) replaced by
        ``fn(what, e)``."""
        d, tg = self.dispatch, self.task_graph
        return replace(
            self,
            dispatch=replace(d, key=fn("dispatch", d.key)) if d and d.key is not None else d,
            stream_by=fn("stream_by", self.stream_by) if self.stream_by is not None else None,
            task_graph=replace(tg, ready=replace(tg.ready, key=fn("priority", tg.ready.key)))
            if tg and tg.ready.key is not None else tg)


def _positive(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ScheduleError(f"{what} must be a positive int, got {n!r}", user_location())
    return n


def _opt_positive(n) -> int | None:
    return None if n is None else _positive(n, "num_aicpus")


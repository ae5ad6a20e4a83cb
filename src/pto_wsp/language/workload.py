"""``@workload``, the ``P`` loop namespace, kernel calls, composition and slots (spec 3).

Loop scopes are generators that yield once: ``for b, h in P(batch, heads):`` opens scopes on
the active :class:`Builder`, yields symbolic loop variables named after the user's Python
names, and closes the scopes (emitting ``For`` nodes) in ``finally``.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Callable, ParamSpec, overload

import numpy as np
from contextlib import contextmanager
from dataclasses import replace

from ..errors import (ScheduleError, SourceLoc, TypeCheckError, raise_location,
                      user_location)
from ..ir import expr as irx
from ..ir import nodes as ir
from ..ir.limits import MAX_NESTING, nesting_error
from ..ir.nodes import ConstexprType, ScalarType, TileType
from ..schedule import (Deps, DispatchPolicy, Pools, ReadyPolicy, StartPolicy, TaskGraph,
                        TaskWindow, TimingPolicy, TracePolicy)
from ..types import Axis, DenseAxis, DenseDyn, Ragged, Sparse, Tensor
from .kernel import KernelRef
from .scalar import AxisRow, Expr, as_expr, trace_key
from .views import View

if TYPE_CHECKING:
    from ..program import Program

__all__ = ["workload", "P", "combine", "sequential", "slot_set_u64", "slot_load_u64",
           "Builder", "current_builder", "BoundKernel", "TaskHandle", "Workload"]

_stack: list["Builder"] = []


def in_workload() -> bool:
    """True while a @workload function is being traced."""
    return bool(_stack)


def current_builder(loc=None, what="this") -> "Builder":
    if not _stack:
        raise TypeCheckError(f"{what} can only be used inside a @workload function", loc or
                             user_location(), hint="decorate the enclosing function with "
                                                   "@workload")
    return _stack[-1]


class Builder:
    """Collects the statements, tensors, axes, symbols and kernels of one workload."""

    def __init__(self, name: str, fn, bound_names: dict[int, str]):
        self.name = name
        self.fn = fn
        self.blocks: list[list] = [[]]
        self.chain_open: list[bool] = [False]
        self.var_scopes: list[str] = []
        self.var_ranges: dict[str, tuple[int, int]] = {}
        self.tensors: dict[str, Tensor] = {}
        self.axes: dict[str, Axis] = {}
        self.kernels: dict[str, ir.Kernel] = {}
        self.symbols: dict[str, ir.SymbolDecl] = {}
        self.channels: dict = {}
        self._names = dict(bound_names)  # id(obj) -> name
        self._given: dict[str, object] = {}  # user-given name -> object

    # -- naming ------------------------------------------------------------------
    def _name_of(self, obj, prefix: str) -> str:
        """The name of a tensor, axis or channel in this workload.

        A user-given ``name=`` is strict: two distinct objects given one name are an error.
        Other names (a variable's or parameter's name, else ``prefix``) are for reading, made
        unique with a numeric suffix; :func:`_unique_names` settles them against given
        names when the workload is finished or composed.
        """
        key = id(obj)
        if key in self._names:
            return self._names[key]
        given = getattr(obj, "name", None)
        if given is not None:
            _check_given(self._given, given, obj, user_location())
        name = given or self._lookup_name(obj) or prefix
        self._names[key] = name = _suffixed(name, set(self._names.values()))
        return name

    def _lookup_name(self, obj) -> str | None:
        """The variable name the workload function's globals or closure give ``obj``."""
        scopes = [self.fn.__globals__]
        if self.fn.__closure__:
            scopes.insert(0, dict(zip(self.fn.__code__.co_freevars,
                                      (c.cell_contents for c in self.fn.__closure__
                                       if _cell_ok(c)))))
        for scope in scopes:
            for k, v in scope.items():
                if v is obj and k.isidentifier() and not k.startswith("_"):
                    return k
        return None

    def axis_name(self, axis: Axis) -> str:
        name = self._name_of(axis, axis.kind)
        self.axes.setdefault(name, axis)
        if isinstance(axis, (Ragged, Sparse)) and axis.outer_axis is not None:
            self.axis_name(axis.outer_axis)
        return name

    def tensor_name(self, t: Tensor) -> str:
        name = self._name_of(t, "t")
        self.tensors.setdefault(name, t)
        return name

    def expr(self, x, loc) -> irx.ScalarExpr:
        node = as_expr(x, loc)
        for sub in irx.walk(node):
            if isinstance(sub, irx.Var) and sub.name not in self.var_scopes:
                raise TypeCheckError(f"loop variable '{sub.name}' is used outside its loop",
                                     sub.loc or loc)
        declare_symbols(self.symbols, node, loc)
        return node

    # -- statements --------------------------------------------------------------
    def append(self, stmt) -> None:
        self.blocks[-1].append(stmt)
        self.chain_open[-1] = False

    def push(self) -> None:
        if len(self.blocks) > MAX_NESTING:
            raise nesting_error(len(self.blocks), user_location())
        self.blocks.append([])
        self.chain_open.append(False)

    def pop(self) -> tuple:
        self.chain_open.pop()
        return tuple(self.blocks.pop())

    def view(self, v, loc) -> ir.ViewExpr:
        if isinstance(v, Tensor):
            v = View.of(v, loc)
        name = self.tensor_name(v.tensor)
        items = tuple(self._item(it, v, loc) for it in v.items)
        return ir.ViewExpr(name, items, v.loc or loc)

    def _item(self, it, v, loc):
        if isinstance(it, ir.Index):
            e = self.expr(it.expr, loc)
            return ir.Index(e)
        return ir.Slice(self.expr(it.start, loc), it.size, it.step)

    def call(self, kref: KernelRef, axes: tuple, args: tuple, kwargs: dict, loc) -> ir.Call:
        params = kref.params
        if len(args) > len(params):
            raise TypeCheckError(f"kernel '{kref.name}' takes {len(params)} arguments, got "
                                 f"{len(args)} positional", loc)
        bound = dict(zip((p.name for p in params), args))
        for k, v in kwargs.items():
            if k in bound:
                raise TypeCheckError(f"kernel '{kref.name}': argument '{k}' given twice", loc)
            if not any(p.name == k for p in params):
                raise TypeCheckError(
                    f"kernel '{kref.name}' has no parameter '{k}'", loc,
                    hint="its parameters are: " + ", ".join(p.name for p in params))
            bound[k] = v
        constexprs, ir_args = [], []
        for p in params:
            if p.name not in bound:
                if p.default is not None:
                    if isinstance(p.type, ConstexprType):
                        constexprs.append(p.default)
                    continue
                raise TypeCheckError(f"kernel '{kref.name}': missing argument '{p.name}'", loc)
            a = bound[p.name]
            if isinstance(p.type, ConstexprType):
                if isinstance(a, Expr) or not isinstance(a, (int, float, bool)):
                    raise TypeCheckError(f"Constexpr argument '{p.name}' must be a Python "
                                         f"constant, got {a!r}", loc)
                constexprs.append(a)
            elif isinstance(p.type, ScalarType):
                ir_args.append((p.name, self.expr(a, loc)))
            else:
                ir_args.append((p.name, self._tensor_arg(kref, p, a, loc)))
        k = kref.ir(tuple(constexprs))
        prev = self.kernels.setdefault(k.name, k)
        if prev != k:
            raise TypeCheckError(f"two different kernels are named '{k.name}'", loc,
                                 hint="give one of them another name: @kernel(name=...)")
        call = ir.Call(k.name, tuple(self.expr(a, loc) for a in axes), tuple(ir_args), loc)
        from ..ir.layouts import check_call_layouts
        env = {a.tensor: (self.tensors[a.tensor].shape, self.tensors[a.tensor].layout)
               for _, a in ir_args if isinstance(a, ir.ViewExpr)}
        check_call_layouts(call, k, env, loc)
        self.append(call)
        return call

    def _tensor_arg(self, kref, p, a, loc) -> ir.ViewExpr:
        if not isinstance(a, (View, Tensor)):
            raise TypeCheckError(f"kernel '{kref.name}': argument '{p.name}' must be a tensor "
                                 f"view, got {type(a).__name__}", loc)
        v = View.of(a, loc) if isinstance(a, Tensor) else a
        t = v.tensor
        if p.type.dtype is not None and t.dtype is not p.type.dtype:
            raise TypeCheckError(
                f"kernel '{kref.name}': argument '{p.name}' is {t.dtype.value}, the parameter "
                f"is {p.type.dtype.value}", loc)
        if isinstance(p.type, TileType) and not p.type.fits(v.shape):
            raise TypeCheckError(
                f"kernel '{kref.name}': view of shape {list(v.shape)} passed to '{p.name}' of "
                f"type {p.type}", loc,
                hint="index or slice the tensor down to the tile's [rows, cols]")
        if p.direction in ("out", "inout") and t.data is not None and \
                not t.data.flags.writeable:
            raise TypeCheckError(f"kernel '{kref.name}' writes '{p.name}', but the array "
                                 "behind it is read-only", loc)
        view = self.view(v, loc)
        self._check_bounds(view, t, loc)
        return view

    def _check_bounds(self, view: ir.ViewExpr, t: Tensor, loc) -> None:
        for dim, it in enumerate(view.items):
            e = it.expr if isinstance(it, ir.Index) else it.start
            span = irx.interval(e, self.var_ranges)
            if span is None:
                continue
            last = span[1] + (it.size - 1) * it.step if isinstance(it, ir.Slice) else span[1]
            if span[0] < 0 or last >= t.shape[dim]:
                raise TypeCheckError(
                    f"index into '{view.tensor}' dimension {dim} ranges over "
                    f"[{span[0]}, {last}] but the dimension has size {t.shape[dim]}", loc)


def declare_symbols(symbols: dict[str, ir.SymbolDecl], e: irx.ScalarExpr, loc) -> None:
    """Add a declaration to ``symbols`` for every symbol ``e`` uses (one dtype per name)."""
    for sub in irx.walk(e):
        if isinstance(sub, irx.Symbol):
            prev = symbols.setdefault(sub.name, ir.SymbolDecl(sub.name, sub.dtype))
            if prev.dtype is not sub.dtype:
                raise TypeCheckError(f"symbol '{sub.name}' used as both {prev.dtype.value} "
                                     f"and {sub.dtype.value}", sub.loc or loc)


def _suffixed(name: str, taken) -> str:
    """``name``, or ``name1``, ``name2``, ... -- the first not in ``taken``."""
    n, out = 0, name
    while out in taken:
        n += 1
        out = f"{name}{n}"
    return out


def _check_given(given: dict, name: str, obj, loc) -> None:
    """Record that the user named ``obj`` ``name``; a second object of that name is an error."""
    prev = given.setdefault(name, obj)
    if prev is not obj:
        what = ("axes" if isinstance(obj, Axis) else "tensors" if isinstance(obj, Tensor)
                else "symbols" if isinstance(obj, ir.SymbolDecl) else "channels")
        where = [str(x.loc) for x in (prev, obj) if getattr(x, "loc", None) is not None]
        raise TypeCheckError(
            f"two different {what} are named '{name}'", loc,
            hint=(f"they are defined at {' and '.join(where)}; " if len(where) == 2 else "")
            + "a name given with name=... must be unique: rename one, or leave it out to get "
              "a unique name")


def _unique_names(parts: list[tuple[dict, tuple]], loc) -> list[dict[str, str]]:
    """Final names of the tensors and axes of workloads ``parts`` that become one module.

    Each part is (its tensors and axes by name, its symbol declarations). User-given names
    and symbols are kept (two distinct objects given one name are an error); every other
    object keeps its name if it is free, else gets a numeric suffix, in order. The same object
    gets one name everywhere. Returns each part's renaming (old -> new).
    """
    given: dict[str, object] = {}
    final: dict[int, str] = {}  # id(obj) -> name
    for objs, symbols in parts:
        for sym in symbols:
            given.setdefault(sym.name, sym)
        for obj in objs.values():
            if obj.name is not None:
                _check_given(given, obj.name, obj, loc)
                final[id(obj)] = obj.name
    owner = dict(given)
    later = []
    for objs, _ in parts:
        for name, obj in objs.items():
            if id(obj) not in final:
                if owner.setdefault(name, obj) is obj:
                    final[id(obj)] = name
                else:
                    later.append((name, obj))
    for name, obj in later:
        if id(obj) not in final:
            final[id(obj)] = new = _suffixed(name, owner)
            owner[new] = obj
    return [{n: final[id(o)] for n, o in objs.items() if final[id(o)] != n}
            for objs, _ in parts]


def _renamed(mod: ir.Module, tensors: dict, axes: dict, names: dict[str, str]):
    """(module, tensors, axes) with ``names`` applied."""
    if not names:
        return mod, tensors, axes
    return (ir.rename_data(mod, names), {names.get(n, n): t for n, t in tensors.items()},
            {names.get(n, n): a for n, a in axes.items()})


def _cell_ok(c) -> bool:
    try:
        c.cell_contents
        return True
    except ValueError:
        return False


class BoundKernel:
    """``kernel[axes]``: calling it emits a task into the enclosing workload."""

    def __init__(self, kref: KernelRef, axes: tuple, loc):
        self.kref = kref
        self.axes = axes
        self.loc = loc

    def __call__(self, *args, **kwargs) -> "TaskHandle":
        loc = user_location()
        return TaskHandle(current_builder(loc, f"calling kernel '{self.kref.name}'").call(
            self.kref, self.axes, args, kwargs, loc))


class TaskHandle:
    """The task a kernel call emitted (pass it to ``send(ch, ...)``)."""

    __slots__ = ("call",)

    def __init__(self, call: ir.Call):
        self.call = call

    def __repr__(self) -> str:
        return f"<task {self.call.kernel}>"


# ---------------------------------------------------------------- the P namespace

_FOR_RE = re.compile(r"^\s*(?:async\s+)?for\s+(.+?)\s+in\s")


def _target_names(loc: SourceLoc | None, n: int) -> list[str] | None:
    """Names of the ``for`` targets on the user's source line, if it is a for statement."""
    src = loc.source_line() if loc else None
    m = _FOR_RE.match(src or "")
    if not m:
        return None
    names = [x.strip(" ()") for x in m.group(1).split(",") if x.strip(" ()")]
    return names if len(names) == n and all(x.isidentifier() for x in names) else None


class _Loop:
    def __init__(self, kind: str, axes: tuple, names, loc):
        if not axes:
            raise TypeCheckError("a loop needs at least one axis", loc)
        self.kind, self.axes, self.names, self.loc = kind, axes, names, loc

    def __iter__(self):
        b = current_builder(self.loc, "P(...)")
        names = self.names or _target_names(self.loc, len(self.axes))
        self.axes = tuple(getattr(ax, "intvar_axis", ax) for ax in self.axes)  # P(IntVar)
        domains = [self._domain(b, ax) for ax in self.axes]
        if names is None:
            names = [d.axis for d in domains]
        if isinstance(names, str):
            names = [names]
        if len(names) != len(self.axes):
            raise TypeCheckError(f"names= gives {len(names)} names for {len(self.axes)} axes",
                                 self.loc)
        for n in names:
            if not isinstance(n, str) or not n.isidentifier():
                raise TypeCheckError(f"loop variable name {n!r} is not an identifier", self.loc)
            if n in b.var_scopes:
                raise TypeCheckError(f"loop variable '{n}' shadows an enclosing loop variable",
                                     self.loc, hint="rename it (or pass names=[...])")
        for n, d, ax in zip(names, domains, self.axes):
            b.push()
            b.var_scopes.append(n)
            if isinstance(ax, DenseAxis):
                b.var_ranges[n] = (0, ax.size - 1)
        try:
            vars_ = tuple(Expr(irx.Var(n, self.loc)) for n in names)
            yield vars_[0] if len(vars_) == 1 else vars_
        finally:
            stmt = None
            for n, d in reversed(list(zip(names, domains))):
                body = b.pop() if stmt is None else b.pop() + (stmt,)
                b.var_scopes.pop()
                b.var_ranges.pop(n, None)
                stmt = ir.For(self.kind, n, d, body, self.loc)
            b.append(stmt)

    def _domain(self, b: Builder, ax) -> ir.Domain:
        if isinstance(ax, AxisRow):
            want = Sparse if self.kind == "sel" else Ragged
            if not isinstance(ax.axis, want):
                raise TypeCheckError(
                    f"{'P.sel' if self.kind == 'sel' else 'P/P.seq'} cannot iterate a row of "
                    f"a {ax.axis.kind} axis", self.loc,
                    hint="P.sel iterates sparse rows (routing[b]); P and P.seq iterate dense "
                         "axes and ragged rows (lengths[b])")
            return ir.Domain(b.axis_name(ax.axis), b.expr(ax.outer, self.loc))
        if self.kind == "sel":
            raise TypeCheckError("P.sel iterates one row of a Sparse axis", self.loc,
                                 hint="write P.sel(routing[b])")
        if isinstance(ax, (Ragged, Sparse)):
            raise TypeCheckError(f"a {ax.kind} axis is iterated one row at a time", self.loc,
                                 hint="index it by the outer loop variable: axis[b]")
        if isinstance(ax, type) and issubclass(ax, Axis):
            raise TypeCheckError("pass an axis instance, e.g. Dense[8]", self.loc)
        if not isinstance(ax, (DenseAxis, DenseDyn)):
            raise TypeCheckError(f"cannot iterate over {ax!r}", self.loc,
                                 hint="loops iterate axes: Dense[n], DenseDyn(n), Ragged/Sparse "
                                      "rows")
        return ir.Domain(b.axis_name(ax))


class _PNamespace:
    """Loop constructors: ``P(...)``/``P.grid``, ``P.seq``, ``P.sel``, ``P.when``,
    ``P.otherwise``, ``P.pipe``."""

    def __call__(self, *axes, names=None):
        return _Loop("par", axes, names, user_location())

    def grid(self, *axes, names=None):
        return _Loop("par", axes, names, user_location())

    def seq(self, *axes, names=None):
        return _Loop("seq", axes, names, user_location())

    def sel(self, row, names=None):
        return _Loop("sel", (row,), names, user_location())

    @contextmanager
    def when(self, pred):
        loc = user_location()
        b = current_builder(loc, "P.when")
        if not isinstance(pred, Expr):
            raise TypeCheckError(
                f"P.when needs a scalar expression, got {type(pred).__name__} {pred!r}", loc,
                hint="predicates are compiled: build them from loop variables, symbols or "
                     "slots (a Python bool is decided now, not at run time)")
        cond = b.expr(pred, loc)
        chain = b.chain_open[-1]
        b.push()
        try:
            yield
        finally:
            body = b.pop()
            if chain:
                last = b.blocks[-1][-1]
                b.blocks[-1][-1] = ir.When(last.branches + ((cond, body),), None, last.loc)
            else:
                b.append(ir.When(((cond, body),), None, loc))
            b.chain_open[-1] = True

    def pipe(self, *stages, depth: int | None = None):
        """CSP pipeline scope: each top-level statement inside is one process; ``depth=N``
        is the depth of its channels created without one."""
        from .csp import pipe
        return pipe(*stages, depth=depth)

    @contextmanager
    def otherwise(self):
        loc = user_location()
        b = current_builder(loc, "P.otherwise")
        if not b.chain_open[-1]:
            raise TypeCheckError("P.otherwise must directly follow a P.when block", loc)
        b.push()
        try:
            yield
        finally:
            body = b.pop()
            last = b.blocks[-1][-1]
            b.blocks[-1][-1] = ir.When(last.branches, body, last.loc)
            b.chain_open[-1] = False


P = _PNamespace()


# ---------------------------------------------------------------- slots

def slot_set_u64(slot: int, value) -> None:
    """Set runtime slot ``slot`` to ``value`` (a scalar expression) at this point."""
    loc = user_location()
    b = current_builder(loc, "slot_set_u64")
    b.append(ir.SlotSet(_slot(slot, loc), b.expr(value, loc), loc))


def slot_load_u64(slot: int, view, row: int = 0, col: int = 0) -> None:
    """Load element (row, col) of a 2-D tensor view into slot ``slot`` (as u64), after every
    earlier task writing that element has finished."""
    loc = user_location()
    b = current_builder(loc, "slot_load_u64")
    if not isinstance(view, (View, Tensor)):
        raise TypeCheckError("slot_load_u64 needs a tensor view", loc)
    v = View.of(view, loc) if isinstance(view, Tensor) else view
    shape = v.shape
    if len(shape) > 2 or any(not isinstance(x, int) for x in (row, col)):
        raise TypeCheckError(f"slot_load_u64 needs a view of rank <= 2 and int row/col, got "
                             f"shape {list(shape)}", loc)
    s2 = (1,) * (2 - len(shape)) + tuple(shape)
    if not (0 <= row < s2[0] and 0 <= col < s2[1]):
        raise TypeCheckError(f"element ({row}, {col}) is outside the view of shape "
                             f"{list(shape)}", loc)
    if v.dtype.is_float:
        raise TypeCheckError("slot_load_u64 reads integer tensors", loc)
    b.append(ir.SlotLoad(_slot(slot, loc), b.view(v, loc), row, col, loc))


def _slot(slot, loc) -> int:
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < 64:
        raise TypeCheckError(f"slot must be an int in [0, 64), got {slot!r}", loc)
    return slot


# ---------------------------------------------------------------- workloads


class Workload:
    """A traced workload with its schedule. Combinators return new workloads."""

    def __init__(self, module: ir.Module, tensors: dict[str, Tensor], axes: dict[str, Axis]):
        self.module = module
        self.tensors = tensors
        self.axes = axes

    def _with(self, **kw) -> "Workload":
        """A copy with schedule fields ``kw``; symbols its keys use are declared."""
        from ..ir.verify import verify_module
        schedule = _axis_keys(self.module, self.module.schedule.with_(**kw))
        symbols = {d.name: d for d in self.module.symbols}
        costs = schedule.task_graph.trace.costs if schedule.task_graph else ()
        for _, e in schedule.keys() + list(costs):
            declare_symbols(symbols, e, user_location())
        mod = replace(self.module, schedule=schedule, symbols=tuple(symbols.values()))
        verify_module(mod)  # e.g. key functions must only read loop variables in scope
        return Workload(mod, self.tensors, self.axes)

    def to_pto(self) -> str:
        from ..ir.printer import print_module
        return print_module(self.module)

    def __repr__(self) -> str:
        return f"<workload {self.module.name}>"

    # -- schedule combinators (spec 4): each returns a new Workload ------------------
    def dispatch(self, policy: DispatchPolicy) -> "Workload":
        """Choose the simulated AICPU (and worker queue) of each task."""
        if not isinstance(policy, DispatchPolicy):
            raise ScheduleError(f"dispatch() takes a DispatchPolicy, got {policy!r}",
                                user_location(), hint="e.g. DispatchPolicy.round_robin(4)")
        return self._with(dispatch=policy)

    def streams(self, n: int) -> "Workload":
        """Run tasks on ``n`` streams (in order within a stream, concurrent across)."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ScheduleError(f"streams(n) needs a positive int, got {n!r}", user_location())
        return self._with(streams=n)

    def stream_by(self, key) -> "Workload":
        """Assign each task to stream ``key(t) % streams``."""
        return self._with(stream_by=trace_key(key, "stream_by"))

    def timing(self, policy: TimingPolicy) -> "Workload":
        if not isinstance(policy, TimingPolicy):
            raise ScheduleError(f"timing() takes a TimingPolicy, got {policy!r}",
                                user_location(), hint="e.g. TimingPolicy.batched(8)")
        return self._with(timing=policy)

    def spatial_map(self, grid) -> "Workload":
        """Define the mesh (a grid of cores) that TensorShard layouts refer to."""
        loc = user_location()
        grid = (grid,) if isinstance(grid, int) else grid
        if (not isinstance(grid, tuple) or not grid or
                not all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in grid)):
            raise ScheduleError(f"spatial_map(grid=...) needs a tuple of positive ints, got "
                                f"{grid!r}", loc)
        from ..ir.layouts import check_tensor_mesh, decl_layout
        for t in self.module.tensors:
            if t.layout is not None:
                check_tensor_mesh(t.name, t.shape, decl_layout(t.shape, t.layout), grid, loc)
        return self._with(spatial_grid=grid)

    def task_graph(self, deps: Deps | None = None, window: TaskWindow | None = None,
                   pools: Pools | None = None, ready: ReadyPolicy | None = None,
                   start: StartPolicy | None = None, trace: TracePolicy | None = None
                   ) -> "Workload":
        """Configure DAG execution: dependency inference, window, pools, ready queue, start
        and trace policies (defaults: exact tensor-map deps, an 8192-task STALL window, one
        pool, FIFO, start after orchestration, no trace; ``repr(w.module.schedule)`` states
        them)."""
        loc = user_location()
        given = dict(deps=(deps, Deps), window=(window, TaskWindow), pools=(pools, Pools),
                     ready=(ready, ReadyPolicy), start=(start, StartPolicy),
                     trace=(trace, TracePolicy))
        kw = {}
        for name, (val, cls) in given.items():
            if val is None:
                continue
            if not isinstance(val, cls):
                raise ScheduleError(f"task_graph({name}=...) takes a {cls.__name__}, got "
                                    f"{val!r}", loc)
            kw[name] = val
        if trace is not None and trace.cost_fn is not None:
            from .scalar import trace_costs
            kw["trace"] = replace(trace, cost_fn=None, costs=trace_costs(
                trace.cost_fn, [k.name for k in self.module.kernels]))
        return self._with(task_graph=replace(self.module.schedule.task_graph or TaskGraph(),
                                             **kw))

    def layout(self, tensor, *dims) -> "Workload":
        """Deprecated (spec 5.4): declare ``tensor``'s layout as ``TensorLayout(dims)``, as
        ``Tensor(..., layout=TensorLayout(dims))`` does; redistribute with ``relayout``."""
        from ..layout import TensorLayout
        from ..legacy import deprecated
        from ..ir.verify import verify_module
        loc = user_location()
        deprecated("Workload.layout(tensor, ...)", "Tensor(..., layout=TensorLayout((...))) "
                   "and relayout(x, to=...)")
        name = tensor if isinstance(tensor, str) else next(
            (n for n, t in self.tensors.items() if t is tensor), None)
        if name not in self.tensors:
            raise TypeCheckError(f"layout(): {tensor!r} is not a tensor of this workload", loc,
                                 hint="tensors: " + ", ".join(self.tensors))
        try:
            text = TensorLayout(tuple(dims)).to_text()
        except TypeCheckError as e:
            raise TypeCheckError(e.message, loc, e.hint) from None
        mod = replace(self.module, tensors=tuple(
            replace(t, layout=text) if t.name == name else t for t in self.module.tensors))
        verify_module(mod)
        return Workload(mod, self.tensors, self.axes)

    def compile(self, target: str = "cpu_sim", **options: Any) -> Program:
        """Compile to a runnable :class:`~pto_wsp.program.Program` (``cpu_sim``) or emit an
        Ascend source tree (``ascend_npu``)."""
        from ..program import compile_module
        return compile_module(self.module, self.tensors, target, user_location(), **options)


def _axis_keys(mod: ir.Module, schedule):
    """``schedule`` with keys reading an *axis* name (``t.get("batch")`` for ``for b in
    P(batch)``) reading the loop variable that iterates it; an unknown name is an error."""
    loop_vars, by_axis = set(), {}
    for s in ir.walk_stmts(mod.workload.body):
        if isinstance(s, (ir.For, ir.Consume)):
            loop_vars.add(s.var)
        if isinstance(s, ir.For):
            by_axis.setdefault(s.domain.axis, set()).add(s.var)

    def resolve(what, e):
        names = {}
        for v in irx.walk(e):
            if not isinstance(v, irx.Var) or v.name in loop_vars:
                continue
            vars_ = sorted(by_axis.get(v.name, ()))
            if len(vars_) != 1:
                raise ScheduleError(
                    f"the {what} key reads t.get({v.name!r}), " +
                    (f"but axis '{v.name}' is iterated by several loops ({', '.join(vars_)})"
                     if vars_ else "which is neither a loop variable nor an iterated axis"),
                    v.loc or user_location(),
                    hint="name a loop variable or an axis: " +
                    (", ".join(sorted(loop_vars | set(by_axis))) or "(this workload has no "
                     "loops)"))
            names[v.name] = vars_[0]
        return irx.rename_vars(e, names) if names else e
    return schedule.map_keys(resolve)


_Args = ParamSpec("_Args")


@overload
def workload(fn: Callable[_Args, object]) -> Callable[_Args, Workload]: ...
@overload
def workload(*, name: str | None = None, type_check: bool = True, fail_on_type_error: bool = True
             ) -> Callable[[Callable[_Args, object]], Callable[_Args, Workload]]: ...


def workload(fn: Callable[_Args, object] | None = None, *, name: str | None = None,
             type_check: bool = True, fail_on_type_error: bool = True) -> Any:
    """Decorate a function whose body calls kernels inside ``P`` loops.

    Calling the decorated function traces it and returns a :class:`Workload`. Every check
    runs and fails with a located error (``type_check=True, fail_on_type_error=True``, the
    only accepted values: the checks guard memory safety and results).
    """
    loc = user_location()
    for knob, value in (("type_check", type_check), ("fail_on_type_error", fail_on_type_error)):
        if value is not True:
            raise TypeCheckError(
                f"@workload({knob}={value!r}): checks cannot be turned off", loc,
                hint="every workload check guards memory safety (bounds, shapes, dtypes, "
                     "directions) or the results (layouts, order); leave the argument out")

    def wrap(f: Callable[_Args, object]) -> Callable[_Args, Workload]:
        @functools.wraps(f)
        def build(*args: _Args.args, **kwargs: _Args.kwargs) -> Workload:
            import inspect
            sig = inspect.signature(f)
            try:
                ba = sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeCheckError(f"workload '{f.__name__}': {e}", user_location()) from None
            ba.apply_defaults()
            for k, v in ba.arguments.items():
                if (arr := _runtime_array(v)) is not None:
                    ba.arguments[k] = arr
            bound_names = {id(v): k for k, v in ba.arguments.items()
                           if isinstance(v, (Axis, Tensor)) and getattr(v, "name", None) is None}
            bound_names.update((id(v.axis), k) for k, v in ba.arguments.items()
                               if isinstance(v, _ArrayArg))
            b = Builder(name or f.__name__, f, bound_names)
            _stack.append(b)
            try:
                f(*ba.args, **ba.kwargs)
            except IndexError as e:
                if "only integers, slices" not in str(e):  # numpy's words for a bad index
                    raise
                raise TypeCheckError(
                    "numpy cannot index an array with a loop variable (nor any non-integer): "
                    "loop variables have values only when the program runs",
                    raise_location(e.__traceback__),
                    hint="wrap the array in a Tensor and index that: X = Tensor(data=arr), "
                         "then X[i]") from None
            finally:
                _stack.pop()
            return _finish(b, SourceLoc(f.__code__.co_filename, f.__code__.co_firstlineno))
        setattr(build, "__pto_workload__", True)
        return build
    return wrap(fn) if fn is not None else wrap


class _ArrayArg:
    """Mixin of a list, tuple or numpy array of non-negative ints passed to a workload
    parameter: indexing it with a loop-variable expression reads the element when the program
    runs. The values are a runtime input: the lengths of a ragged axis named after the
    parameter (``program.set_axis_data(name, lengths=...)`` changes them without a rebuild)."""

    axis: Ragged | None = None  # None: derived from one (a slice, a ufunc result)

    def __getitem__(self, i):
        if isinstance(i, Expr) and self.axis is not None:
            return AxisRow(self.axis, i, user_location()).size()
        return super().__getitem__(i)


class _ArrayList(_ArrayArg, list):
    pass


class _ArrayTuple(_ArrayArg, tuple):
    pass


class _ArrayNd(_ArrayArg, np.ndarray):
    def __array_finalize__(self, obj):  # slices and results are plain arrays
        pass


def _runtime_array(v):
    """``v`` as an :class:`_ArrayArg` if it is a 1-D sequence of non-negative ints, else None."""
    if isinstance(v, _ArrayArg) or not isinstance(v, (list, tuple, np.ndarray)) or not len(v):
        return None
    if isinstance(v, np.ndarray):
        if v.ndim != 1 or v.dtype.kind not in "iu" or v.min() < 0:
            return None
        out = v.view(_ArrayNd)
    elif all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and 0 <= x < 2**63
             for x in v):
        out = (_ArrayList if isinstance(v, list) else _ArrayTuple)(v)
    else:
        return None
    out.axis = Ragged(len(v), np.asarray(v, np.int64))
    return out


def _finish(b: Builder, loc) -> Workload:
    from ..ir.verify import verify_module
    body = tuple(b.blocks[0])
    mod = ir.Module(
        b.name,
        tuple(_tensor_decl(n, t) for n, t in b.tensors.items()),
        tuple(_axis_decl(n, a, b) for n, a in b.axes.items()),
        tuple(b.symbols.values()),
        tuple(b.kernels.values()),
        ir.Workload(b.name, body, loc),
        loc=loc,
    )
    (names,) = _unique_names([({**b.tensors, **b.axes}, mod.symbols)], loc)
    mod, tensors, axes = _renamed(mod, b.tensors, b.axes, names)
    verify_module(mod)
    return Workload(mod, tensors, axes)


def _tensor_decl(name: str, t: Tensor) -> ir.TensorDecl:
    layout = None
    if t.layout is not None:
        layout = t.layout.to_text() if hasattr(t.layout, "to_text") else str(t.layout)
    return ir.TensorDecl(name, t.shape, t.dtype, t.location, layout, t.loc)


def _axis_decl(name: str, a: Axis, b: Builder) -> ir.AxisDecl:
    if isinstance(a, (DenseAxis, DenseDyn)):
        return ir.AxisDecl(name, a.kind, a.size, loc=a.loc)
    outer = a.outer_size
    if isinstance(a, Ragged):
        return ir.AxisDecl(name, "ragged", outer, lengths=tuple(int(x) for x in a.lengths),
                           loc=a.loc)
    return ir.AxisDecl(name, "sparse", outer, indptr=tuple(int(x) for x in a.indptr),
                       indices=tuple(int(x) for x in a.indices), loc=a.loc)


def _compose(kind: str, parts, loc) -> Workload:
    if not parts:
        raise TypeCheckError(f"{'combine' if kind == 'par' else 'sequential'} needs at least "
                             "one workload", loc)
    for w in parts:
        if not isinstance(w, Workload):
            raise TypeCheckError(f"expected a workload (the result of calling a @workload "
                                 f"function), got {type(w).__name__}", loc)
    tensors: dict[str, Tensor] = {}
    axes: dict[str, Axis] = {}
    merged: dict[str, dict] = {"tensors": {}, "axes": {}, "symbols": {}, "kernels": {}}
    renames = _unique_names([({**w.tensors, **w.axes}, w.module.symbols) for w in parts], loc)
    modules = []
    for w, names in zip(parts, renames):
        mod, w_tensors, w_axes = _renamed(w.module, w.tensors, w.axes, names)
        modules.append(mod)
        tensors.update(w_tensors)
        axes.update(w_axes)
        for field in merged:
            for d in getattr(mod, field):
                if merged[field].setdefault(d.name, d) != d:
                    raise TypeCheckError(f"two different {field[:-1]} declarations are named "
                                         f"'{d.name}'", loc)
    name = "_".join(m.name for m in modules)
    body = (ir.Block(kind, tuple(m.workload.body for m in modules), loc),)
    mod = ir.Module(name, tuple(merged["tensors"].values()), tuple(merged["axes"].values()),
                    tuple(merged["symbols"].values()), tuple(merged["kernels"].values()),
                    ir.Workload(name, body, loc), modules[0].schedule, loc)
    from ..ir.verify import verify_module
    verify_module(mod)
    return Workload(mod, tensors, axes)


def combine(*workloads) -> Workload:
    """Unordered composition: the parts may run concurrently (data dependencies still hold)."""
    return _compose("par", workloads, user_location())


def sequential(*workloads) -> Workload:
    """Ordered composition: every task of part i+1 runs after every task of part i."""
    return _compose("seq", workloads, user_location())


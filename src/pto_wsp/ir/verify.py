"""IR verifier: everything a backend relies on, checked with the user's source location.

Run on every module, whether traced from Python or parsed from ``.pto`` text.
"""

from __future__ import annotations

from ..errors import IRConversionError, ScheduleError, TypeCheckError
from ..types import check_csr, index_array
from . import expr as irx
from . import nodes as ir
from . import kloops
from .ops import OPS, result_types

_AXIS_KINDS = ("dense", "dense_dyn", "ragged", "sparse")


class TypeChecker:
    """The checks every ``@workload``, combinator and ``.pto`` parse runs (feature catalog
    14: arity, argument types, layouts, axis bounds, shapes); ``check`` re-runs them on a
    workload or module and raises the first error, located."""

    def check(self, w) -> None:
        verify_module(getattr(w, "module", w))


def verify_module(m: ir.Module) -> None:
    """Raise a located IRConversionError / TypeCheckError if ``m`` is malformed."""
    seen: dict[str, str] = {}
    for kind, decls in (("tensor", m.tensors), ("axis", m.axes), ("symbol", m.symbols)):
        for d in decls:
            if d.name in seen:
                raise IRConversionError(f"'{d.name}' is declared twice ({seen[d.name]} and "
                                        f"{kind})", d.loc)
            seen[d.name] = kind
    for t in m.tensors:
        if not t.shape or any(s <= 0 for s in t.shape):
            raise IRConversionError(f"tensor '{t.name}' has a bad shape {list(t.shape)}", t.loc)
        _verify_layout(t, m.schedule.spatial_grid)
    for a in m.axes:
        _verify_axis(a)
    names = set()
    for k in m.kernels:
        if k.name in names:
            raise IRConversionError(f"kernel '{k.name}' is defined twice", k.loc)
        names.add(k.name)
        verify_kernel(k)
    verify_schedule(m.schedule, m.loc)
    ir.check_nesting(m.workload.body)
    _WorkloadChecker(m).run()


# policy kinds and their argument rules (the parser checks the same for .pto text)
DISPATCH_KINDS = ("round_robin", "affinity", "hash", "dispatch_by", "work_steal")
KEYED_DISPATCH = ("affinity", "hash", "dispatch_by")
TIMING_KINDS = ("immediate", "batched", "interleaved", "rate_limit")
DEPS_KINDS = ("tensor_map_exact", "bytes_overlap", "explicit", "hybrid")
POOL_KINDS = ("single", "by_exec_unit", "custom")
READY_KINDS = ("fifo", "work_steal", "priority")
START_KINDS = ("after_orchestration", "threshold")


def _pos_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def verify_schedule(s, loc=None) -> None:
    """Policy kinds and values of a (possibly hand-built) schedule: located ScheduleError."""
    from ..schedule import (Deps, DispatchPolicy, Pools, ReadyPolicy, StartPolicy, TaskGraph,
                            TaskWindow, TimingPolicy, TracePolicy, WindowMode)

    def bad(msg, at=None, hint=None):
        return ScheduleError(msg, at or loc, hint=hint)

    def kind_of(obj, cls, kinds, what):
        if not isinstance(obj, cls):
            raise bad(f"{what} must be a {cls.__name__}, got {obj!r}")
        if obj.kind not in kinds:
            raise bad(f"unknown {what} kind {obj.kind!r}", getattr(obj, "loc", None),
                      hint="use one of " + ", ".join(kinds))
        return obj.kind

    if s.dispatch is not None:
        d = s.dispatch
        k = kind_of(d, DispatchPolicy, DISPATCH_KINDS, "dispatch policy")
        if (k in KEYED_DISPATCH) != (d.key is not None):
            raise bad(f"dispatch policy {k} {'needs' if k in KEYED_DISPATCH else 'takes no'} "
                      "key expression", d.loc)
        if d.num_aicpus is not None and not _pos_int(d.num_aicpus):
            raise bad(f"dispatch num_aicpus must be a positive int, got {d.num_aicpus!r}", d.loc)
        if k == "round_robin" and d.num_aicpus is None:
            raise bad("round_robin needs the number of AICPUs", d.loc,
                      hint="DispatchPolicy.round_robin(num_aicpus)")
    if s.streams is not None and not _pos_int(s.streams):
        raise bad(f"streams must be a positive int, got {s.streams!r}")
    if s.timing is not None:
        t = s.timing
        k = kind_of(t, TimingPolicy, TIMING_KINDS, "timing policy")
        if k == "immediate" and t.value != 0:
            raise bad(f"immediate timing takes no count, got {t.value!r}", t.loc)
        if k != "immediate" and not _pos_int(t.value):
            raise bad(f"{k} timing needs a positive count, got {t.value!r}", t.loc)
    if s.spatial_grid is not None:
        g = s.spatial_grid
        if not isinstance(g, tuple) or not g or not all(_pos_int(x) for x in g):
            raise bad(f"spatial_map grid must be a non-empty tuple of positive ints, got {g!r}")
    tg = s.task_graph
    if tg is None:
        return
    if not isinstance(tg, TaskGraph):
        raise bad(f"task_graph must be a TaskGraph, got {tg!r}")
    kind_of(tg.deps, Deps, DEPS_KINDS, "deps")
    if tg.window is not None:
        w = tg.window
        if not isinstance(w, TaskWindow) or not _pos_int(w.size) or \
                w.unit not in ("tasks", "bytes") or not isinstance(w.mode, WindowMode):
            raise bad(f"malformed task window {w!r}", getattr(w, "loc", None),
                      hint="TaskWindow(size > 0, unit='tasks'|'bytes', mode=WindowMode.*)")
    k = kind_of(tg.pools, Pools, POOL_KINDS, "pools")
    counts = (tg.pools.vector_workers, tg.pools.cube_workers)
    if k == "custom" and not all(_pos_int(c) for c in counts):
        raise bad(f"custom pools need positive worker counts, got {counts}")
    if k != "custom" and counts != (0, 0):
        raise bad(f"'{k}' pools take no worker counts, got {counts}")
    k = kind_of(tg.ready, ReadyPolicy, READY_KINDS, "ready policy")
    if (k == "priority") != (tg.ready.key is not None):
        raise bad("the priority ready policy needs a key" if k == "priority" else
                  f"the {k} ready policy takes no key")
    k = kind_of(tg.start, StartPolicy, START_KINDS, "start policy")
    if k == "threshold" and not _pos_int(tg.start.n):
        raise bad(f"threshold start needs a positive count, got {tg.start.n!r}")
    if k != "threshold" and tg.start.n != 0:
        raise bad(f"the {k} start policy takes no count, got {tg.start.n!r}")
    if not isinstance(tg.trace, TracePolicy) or not all(
            isinstance(x, bool) for x in (tg.trace.sim, tg.trace.wall)):
        raise bad(f"trace must be a TracePolicy of two bools, got {tg.trace!r}")


def _verify_layout(t: ir.TensorDecl, grid) -> None:
    """A declared layout fits the tensor's shape (and the mesh, when there is one)."""
    if t.layout is None:
        return
    from ..errors import PtoError
    from .layouts import check_tensor_mesh, layout_from_text
    try:
        lay = layout_from_text(t.layout)
    except PtoError as e:
        raise TypeCheckError(f"tensor '{t.name}': {e.message}", t.loc, hint=e.hint) from None
    if lay.rank != len(t.shape):
        raise TypeCheckError(f"tensor '{t.name}' of shape {list(t.shape)} has a rank-{lay.rank} "
                             f"layout {lay}", t.loc,
                             hint="give one distribution element per dimension")
    if lay.mem is not None and lay.mem.shape != t.shape:
        raise TypeCheckError(f"tensor '{t.name}' of shape {list(t.shape)} has a memory layout "
                             f"for shape {list(lay.mem.shape)}", t.loc,
                             hint="declare the MemLayout with the tensor's shape")
    if grid is not None:
        check_tensor_mesh(t.name, t.shape, lay, grid, t.loc)


def _verify_axis(a: ir.AxisDecl) -> None:
    if a.kind not in _AXIS_KINDS:
        raise IRConversionError(f"axis '{a.name}' has unknown kind '{a.kind}'", a.loc)
    if a.size < 0:
        raise IRConversionError(f"axis '{a.name}' has negative size", a.loc)
    if a.kind == "ragged":
        lengths = index_array(list(a.lengths), f"ragged axis '{a.name}': lengths", a.loc)
        if lengths.size != a.size:
            raise IRConversionError(f"ragged axis '{a.name}' needs {a.size} lengths, got "
                                    f"{lengths.size}", a.loc)
    if a.kind == "sparse":
        check_csr(a.size, index_array(list(a.indptr), f"sparse axis '{a.name}': indptr", a.loc),
                  index_array(list(a.indices), f"sparse axis '{a.name}': indices", a.loc), a.loc)


def verify_kernel(k: ir.Kernel) -> None:
    params = {}
    for p in k.params:
        if p.name in params:
            raise IRConversionError(f"kernel '{k.name}': parameter '{p.name}' declared twice",
                                    p.loc or k.loc)
        if isinstance(p.type, (ir.TileType, ir.TensorType)) != (p.direction is not None):
            raise IRConversionError(f"kernel '{k.name}': parameter '{p.name}' direction does "
                                    f"not fit its type {p.type}", p.loc or k.loc)
        if isinstance(p.type, ir.ConstexprType):
            raise IRConversionError(f"kernel '{k.name}': constexpr parameter '{p.name}' must "
                                    "be specialised away", p.loc or k.loc)
        params[p.name] = p
    if k.ops and k.custom is not None:
        raise IRConversionError(f"kernel '{k.name}' has both tile ops and a custom body", k.loc)
    if k.exec_unit not in ("vector", "cube"):
        raise IRConversionError(f"kernel '{k.name}': unknown exec unit '{k.exec_unit}'", k.loc)
    values: dict[int, ir.TileType | ir.ScalarType] = {}
    loops = kloops.KernelChecker(k, params, values)
    for op in k.ops:
        spec = OPS.get(op.opcode)
        loc = op.loc or k.loc

        def bad(msg):
            return TypeCheckError(f"kernel '{k.name}': {msg}", loc)
        if op.opcode in kloops.OPCODES:
            got = loops.check(op, lambda msg: bad(f"{op.opcode} {msg}" if msg.startswith(
                "uses ") else msg))
            _define(op, got, values, loops, bad)
            continue
        if spec is None:
            raise bad(f"unknown instruction '{op.opcode}'")
        sig = spec.sig
        if len(op.operands) != len(sig):
            raise bad(f"{op.opcode} takes {len(sig)} operands, got {len(op.operands)}")
        types = []
        for letter, o in zip(sig, op.operands):
            if letter == "p":
                p = params.get(o.name) if isinstance(o, ir.ParamRef) else None
                if p is None or not isinstance(p.type, ir.TileType):
                    raise bad(f"{op.opcode} needs a tile parameter, got {o}")
                if op.opcode == "tload" and p.direction == "out":
                    raise bad(f"parameter '{p.name}' is Out: it cannot be loaded")
                if op.opcode == "tstore" and p.direction == "in":
                    raise bad(f"parameter '{p.name}' is In: it cannot be stored to")
                types.append(p.type)
            elif letter == "t":
                if not isinstance(o, ir.ValueRef) or o.index not in values:
                    raise bad(f"{op.opcode} uses an undefined (or out of scope) value {o}")
                if not isinstance(values[o.index], ir.TileType):
                    raise bad(f"{op.opcode} needs a tile, got the scalar {o}")
                types.append(values[o.index])
            else:  # scalar
                if isinstance(o, ir.Imm):
                    types.append(o.dtype)
                elif isinstance(o, ir.ParamRef) and o.name in params and \
                        isinstance(params[o.name].type, ir.ScalarType):
                    types.append(params[o.name].type.dtype)
                elif isinstance(o, ir.ValueRef) and isinstance(values.get(o.index),
                                                               ir.ScalarType):
                    types.append(values[o.index].dtype)
                else:
                    raise bad(f"{op.opcode} needs a scalar operand, got {o}")
        if op.opcode == "tstore" and types[0] != types[1]:
            raise bad(f"storing a {types[1]} to parameter of type {types[0]}")
        try:
            got = result_types(op.opcode, types, dict(op.attrs))
        except (KeyError, ValueError, TypeError) as e:
            raise bad(f"{op.opcode} has a missing or malformed attribute ({e!r}); it takes "
                      f"{', '.join(spec.attrs) or 'no attributes'}") from None
        if isinstance(got, str):
            raise bad(got)
        _define(op, got, values, loops, bad)
    loops.finish(lambda op, msg: TypeCheckError(f"kernel '{k.name}': {msg}", op.loc or k.loc))
    if kloops.uses_kloops(k):
        kloops.check_budget(k)


def _define(op: ir.KernelOp, got, values: dict, loops, bad) -> None:
    """Check ``op``'s declared result types against ``got`` and define its results."""
    if tuple(got) != op.types or len(op.results) != len(op.types):
        raise bad(f"{op.opcode} result types {[str(t) for t in op.types]} do not match "
                  f"{[str(t) for t in got]}")
    for r, t in zip(op.results, op.types):
        if r != loops.n_defined:
            raise bad(f"values must be numbered in definition order (expected "
                      f"%{loops.n_defined}, got %{r})")
        values[r] = t
        loops.n_defined += 1
        loops.defined(r)


def _slot_index(s) -> None:
    if not 0 <= s.slot < 64:
        raise IRConversionError(f"slot index {s.slot} out of range [0, 64)", s.loc)


class _WorkloadChecker:
    def __init__(self, m: ir.Module):
        self.m = m
        self.kernels = {k.name: k for k in m.kernels}
        self.tensors = {t.name: t for t in m.tensors}
        self.axes = {a.name: a for a in m.axes}
        self.symbols = {s.name: s for s in m.symbols}
        self.channels: set[str] | None = None  # the enclosing pipeline's, None outside one
        self.nested = 0  # > 0 inside loops, branches, processes and consume bodies
        self.collective_dst: dict[str, ir.Collective] = {}
        self.layout_env = {t.name: (t.shape, t.layout) for t in m.tensors}
        # tensors produced by a collective: usable only after it (in program order)
        self.produced = {s.dst for s in ir.walk_stmts(m.workload.body)
                         if isinstance(s, ir.Collective)}
        self.keys = m.schedule.keys()
        tg = m.schedule.task_graph
        self.costs = dict(tg.trace.costs) if tg else {}

    def run(self) -> None:
        for what, e in self.keys:
            self.expr(e, None, keys_ok=True)
        for name, e in self.costs.items():
            if name not in self.kernels:
                raise IRConversionError(f"a cost is given for unknown kernel '{name}'", e.loc)
            if irx.free_vars(e) or e.dtype.is_float:
                raise TypeCheckError(f"the cost of kernel '{name}' must be an integer "
                                     "expression of its params, symbols and slots", e.loc)
            self.expr(e, None, keys_ok=True)
        self.stmts(self.m.workload.body, [])

    def expr(self, e: irx.ScalarExpr, scope, keys_ok=False) -> None:
        for sub in irx.walk(e):
            if isinstance(sub, irx.Var) and scope is not None and sub.name not in scope:
                raise TypeCheckError(f"'{sub.name}' is not a loop variable in scope", sub.loc)
            if isinstance(sub, irx.Symbol):
                decl = self.symbols.get(sub.name)
                if decl is None or decl.dtype is not sub.dtype:
                    raise IRConversionError(f"symbol '{sub.name}' is not declared as "
                                            f"{sub.dtype.value}", sub.loc)
            if isinstance(sub, irx.AxisSize) and sub.axis not in self.axes:
                raise IRConversionError(f"unknown axis '{sub.axis}'", sub.loc)
            if isinstance(sub, irx.Binary) and sub.op not in irx.BINARY_OPS:
                raise IRConversionError(f"unknown operator '{sub.op}'", sub.loc)
            if isinstance(sub, irx.Unary) and sub.op not in irx.UNARY_OPS:
                raise IRConversionError(f"unknown operator '{sub.op}'", sub.loc)
            if isinstance(sub, irx.ChannelPending):
                if scope is None:
                    raise TypeCheckError(f"a schedule key cannot read channel "
                                         f"'{sub.channel}' (pending(...))", sub.loc,
                                         hint="key functions may read loop variables, "
                                              "symbols and slots; channels are workload state")
                self._channel(sub.channel, sub.loc, "query")
            if isinstance(sub, irx.Slot) and not 0 <= sub.index < 64:
                raise IRConversionError(f"slot index {sub.index} out of range [0, 64)", sub.loc)
            if isinstance(sub, irx.TaskParam) and not keys_ok:
                raise TypeCheckError(f"param({sub.index}) is a task's axis value: only schedule "
                                     "keys can read it", sub.loc,
                                     hint="use the loop variable itself here")

    def stmts(self, body, scope: list[str], nested: bool = False) -> None:
        self.nested += nested
        try:
            for s in body:
                self.stmt(s, scope)
        finally:
            self.nested -= nested

    def stmt(self, s, scope: list[str]) -> None:
        if isinstance(s, ir.Call):
            self.call(s, scope)
        elif isinstance(s, ir.For):
            self.loop(s, scope)
        elif isinstance(s, ir.When):
            for cond, body in s.branches:
                self.expr(cond, scope)
                self.stmts(body, scope, True)
            if s.otherwise is not None:
                self.stmts(s.otherwise, scope, True)
        elif isinstance(s, ir.Block):
            if s.kind not in ("par", "seq"):
                raise IRConversionError(f"unknown block kind '{s.kind}'", s.loc)
            for part in s.parts:
                self.stmts(part, scope)
        elif isinstance(s, ir.SlotSet):
            _slot_index(s)
            self.expr(s.value, scope)
        elif isinstance(s, ir.SlotLoad):
            _slot_index(s)
            self.view(s.view, scope, s.loc)
        elif isinstance(s, ir.Pipe):
            for c in s.channels:
                if c.depth < 0:
                    raise IRConversionError(f"channel '{c.name}' has negative depth", c.loc)
            outer, self.channels = self.channels, {c.name for c in s.channels}
            try:
                for p in s.processes:
                    for ch in p.consumes + p.produces:
                        if ch not in self.channels:
                            raise IRConversionError(f"process '{p.name}' uses unknown channel "
                                                    f"'{ch}'", p.loc)
                    self.stmts(p.body, scope, True)
            finally:
                self.channels = outer
        elif isinstance(s, ir.Send):
            self._channel(s.channel, s.loc, "send" if s.call is not None else "record")
            if s.call is not None:
                self.call(s.call, scope)
        elif isinstance(s, ir.Wait):
            self._channel(s.channel, s.loc, "synchronize")
        elif isinstance(s, ir.Consume):
            self._channel(s.channel, s.loc, "consume")
            self.stmts(s.body, scope + [s.var], True)
        elif isinstance(s, ir.Collective):
            self.collective(s)
        else:
            raise IRConversionError(f"unknown statement {type(s).__name__}", None)

    def _channel(self, name, loc, what: str) -> None:
        if self.channels is None:
            raise TypeCheckError(
                f"{what} on channel '{name}' is outside a pipeline: channels connect the "
                "processes of one pipeline", loc,
                hint="put the process that sends on the channel and the one that consumes it "
                     "in one `with P.pipe():` block (each statement directly inside it is a "
                     "process), or build them with process(...).body(fn) and wire them with "
                     "connect([...], [...])")
        if name not in self.channels:
            raise IRConversionError(f"unknown channel '{name}'", loc)

    def loop(self, s: ir.For, scope) -> None:
        a = self.axes.get(s.domain.axis)
        if a is None:
            raise IRConversionError(f"loop over unknown axis '{s.domain.axis}'", s.loc)
        if s.kind not in ("par", "seq", "sel"):
            raise IRConversionError(f"unknown loop kind '{s.kind}'", s.loc)
        rowed = a.kind in ("ragged", "sparse")
        if rowed != (s.domain.outer is not None):
            raise IRConversionError(f"axis '{a.name}' ({a.kind}) "
                                    f"{'needs' if rowed else 'takes no'} a row index", s.loc)
        if (s.kind == "sel") != (a.kind == "sparse"):
            raise IRConversionError(f"a {s.kind} loop cannot iterate {a.kind} axis '{a.name}'",
                                    s.loc)
        if s.domain.outer is not None:
            self.expr(s.domain.outer, scope)
        if s.var in scope:
            raise TypeCheckError(f"loop variable '{s.var}' shadows an enclosing one", s.loc)
        self.stmts(s.body, scope + [s.var], True)

    def collective(self, s: ir.Collective) -> None:
        from ..errors import PtoError
        from .layouts import collective_result, decl_layout
        if self.nested:
            raise TypeCheckError(f"{s.kind} redistributes a whole tensor: it must be at the "
                                 "top level of the workload (or of a combine/sequential part), "
                                 "not inside a loop, branch or process", s.loc)
        names = [k for k, _ in s.attrs]
        if names != sorted(set(names)):
            raise IRConversionError(f"{s.kind} attributes must be unique and sorted by name, "
                                    f"got {names}", s.loc)
        if s.src == s.dst:
            raise TypeCheckError(f"{s.kind} must produce a new tensor, not overwrite "
                                 f"'{s.src}'", s.loc)
        self._defined(s.src, s.loc)
        src, dst = self.tensors.get(s.src), self.tensors.get(s.dst)
        for name, t in ((s.src, src), (s.dst, dst)):
            if t is None:
                raise IRConversionError(f"{s.kind} of unknown tensor '{name}'", s.loc)
        if s.src == s.dst:
            raise TypeCheckError(f"{s.kind} must produce a new tensor, not overwrite "
                                 f"'{s.src}'", s.loc)
        if s.dst in self.collective_dst:
            raise TypeCheckError(f"tensor '{s.dst}' is produced by two collectives", s.loc)
        self.collective_dst[s.dst] = s
        self.produced.discard(s.dst)
        if (src.shape, src.dtype, src.location) != (dst.shape, dst.dtype, dst.location):
            raise TypeCheckError(
                f"{s.kind} keeps shape, dtype and location: '{s.src}' is {list(src.shape)} "
                f"{src.dtype.value} {src.location.value}, '{s.dst}' is {list(dst.shape)} "
                f"{dst.dtype.value} {dst.location.value}", s.loc)
        src_l, dst_l = decl_layout(src.shape, src.layout), decl_layout(dst.shape, dst.layout)
        try:
            got = collective_result(s.kind, src_l, dict(s.attrs), s.loc, to=dst_l)
        except PtoError as e:
            raise TypeCheckError(e.message, s.loc, hint=e.hint) from None
        if got != dst_l:
            raise TypeCheckError(f"{s.kind} of '{s.src}' ({src_l}) gives {got}, but '{s.dst}' "
                                 f"is declared {dst_l}", s.loc,
                                 hint=f"declare '{s.dst}' with {got}")

    def _defined(self, name, loc) -> None:
        if name in self.produced:
            raise TypeCheckError(f"tensor '{name}' is used before the collective that produces "
                                 "it", loc, hint="move the use after the collective")

    def call(self, c: ir.Call, scope) -> None:
        k = self.kernels.get(c.kernel)
        if k is None:
            raise IRConversionError(f"call of unknown kernel '{c.kernel}'", c.loc)
        for e in c.axes:
            self.expr(e, scope)
        cost = [(f"cost of '{c.kernel}'", self.costs[c.kernel])] if c.kernel in self.costs else []
        for what, e in self.keys + cost:
            params = [p.index for p in irx.walk(e) if isinstance(p, irx.TaskParam)]
            if params and max(params) >= len(c.axes):
                raise TypeCheckError(
                    f"the {what} key uses t.param({max(params)}), but this call of "
                    f"'{c.kernel}' binds {len(c.axes)} axis value(s)", c.loc,
                    hint="bind more axes (k[a, b](...)) or use t.get('name')")
            missing = irx.free_vars(e) - set(scope)
            if missing:
                raise TypeCheckError(
                    f"the {what} key uses t.get({sorted(missing)[0]!r}), but this call of "
                    f"'{c.kernel}' is not inside a loop over it", c.loc,
                    hint="key functions may only read loop variables enclosing every task")
        given = dict(c.args)
        if len(given) != len(c.args):
            raise IRConversionError(f"call of '{c.kernel}' binds a parameter twice", c.loc)
        for name in given:
            if k.param(name) is None:
                raise TypeCheckError(f"kernel '{k.name}' has no parameter '{name}'", c.loc,
                                     hint="its parameters are: " +
                                          ", ".join(p.name for p in k.params))
        for p in k.params:
            a = given.get(p.name)
            if a is None:
                if p.default is None:
                    raise TypeCheckError(f"call of '{k.name}' is missing argument '{p.name}'",
                                         c.loc)
                continue
            if isinstance(p.type, ir.ScalarType):
                if isinstance(a, ir.ViewExpr):
                    raise TypeCheckError(f"'{p.name}' of '{k.name}' is a scalar, got a view",
                                         c.loc)
                self.expr(a, scope)
                if a.dtype.is_float and not p.type.dtype.is_float:
                    raise TypeCheckError(
                        f"'{p.name}' of '{k.name}' is {p.type}, got a {a.dtype.value} "
                        "expression", getattr(a, "loc", None) or c.loc,
                        hint=f"convert it explicitly: cast(x, {p.type.dtype.value})")
                continue
            if not isinstance(a, ir.ViewExpr):
                raise TypeCheckError(f"'{p.name}' of '{k.name}' needs a tensor view", c.loc)
            shape, t = self.view(a, scope, c.loc)
            if p.type.dtype is not None and p.type.dtype is not t.dtype:
                raise TypeCheckError(f"'{p.name}' of '{k.name}' is {p.type.dtype.value}, the "
                                     f"view of '{t.name}' is {t.dtype.value}", a.loc or c.loc)
            if isinstance(p.type, (ir.TileType, ir.TensorType)):
                if not p.type.fits(shape):
                    raise TypeCheckError(f"view of shape {list(shape)} passed to '{p.name}' of "
                                         f"type {p.type}", a.loc or c.loc)
        from .layouts import check_call_layouts
        check_call_layouts(c, k, self.layout_env, c.loc)

    def view(self, v: ir.ViewExpr, scope, loc):
        t = self.tensors.get(v.tensor)
        if t is None:
            raise IRConversionError(f"unknown tensor '{v.tensor}'", v.loc or loc)
        self._defined(v.tensor, v.loc or loc)
        if len(v.items) > len(t.shape):
            raise TypeCheckError(f"too many indices for '{t.name}' of rank {len(t.shape)}",
                                 v.loc or loc)
        shape = []
        for dim, it in enumerate(v.items):
            e = it.expr if isinstance(it, ir.Index) else it.start
            self.expr(e, scope)
            if e.dtype.is_float:
                raise TypeCheckError(f"index into '{t.name}' must be an integer", v.loc or loc)
            if isinstance(it, ir.Slice):
                if it.size <= 0 or it.step <= 0:
                    raise IRConversionError("slice size and step must be positive", v.loc or loc)
                c = irx.const_value(it.start)
                if c is not None and (c < 0 or c + (it.size - 1) * it.step >= t.shape[dim]):
                    raise TypeCheckError(f"slice of '{t.name}' dimension {dim} is out of bounds",
                                         v.loc or loc)
                shape.append(it.size)
            else:
                c = irx.const_value(it.expr)
                if c is not None and not 0 <= c < t.shape[dim]:
                    raise TypeCheckError(f"index {c} is out of bounds for '{t.name}' dimension "
                                         f"{dim} of size {t.shape[dim]}", v.loc or loc)
        return tuple(shape) + tuple(t.shape[len(v.items):]), t

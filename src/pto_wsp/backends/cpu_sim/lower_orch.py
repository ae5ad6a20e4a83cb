"""Stage ``lower_orchestration``: workload IR + schedule -> a view model of ``orchestrate.c``.

The workload becomes C that submits tasks to the runtime (``runtime_c/pto_rt.h``): loops over
axes (dynamic sizes, ragged lengths and CSR arrays are read from the inputs at run time),
``P.when`` branches, slot operations, and per kernel call an argument block and tensor
regions computed from the view expressions and the arrays' real strides. Every dynamic index
is bounds-checked; a failure reports its call site. Program structure is passed to the
runtime as scopes (PAR/SEQ).

The view model is a tree of nodes ``{"open": str, "body": [...], "close": str}`` and
``{"line": str}``; the template renders it recursively.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import CompileError, ScheduleError, SourceLoc
from ...ir import expr as irx
from ...ir import nodes as ir
from ...machine import Machine
from ...schedule import Schedule, TaskGraph
from ...types import DType
from .c_syntax import ident, scalar, string
from .lower_kernel import args_type, ctype, kernel_fn, scalar_ctype

MAX_RANK = 8  # PTO_ORCH_MAX_RANK in runtime_c/pto_orch.h
MAX_INDICES = 8  # PTO_RT_MAX_INDICES in runtime_c/pto_rt.h: loop indices recorded per task

_DEPS = {"tensor_map_exact": "PTO_RT_DEPS_TENSOR_MAP_EXACT",
         "bytes_overlap": "PTO_RT_DEPS_BYTES_OVERLAP", "explicit": "PTO_RT_DEPS_EXPLICIT",
         "hybrid": "PTO_RT_DEPS_HYBRID"}
_READY = {"fifo": "PTO_RT_READY_FIFO", "work_steal": "PTO_RT_READY_WORK_STEAL",
          "priority": "PTO_RT_READY_PRIORITY"}
_POOLS = {"single": "PTO_RT_POOLS_SINGLE", "by_exec_unit": "PTO_RT_POOLS_BY_EXEC_UNIT",
          "custom": "PTO_RT_POOLS_CUSTOM"}
_DISPATCH = {"round_robin": "PTO_RT_DISPATCH_ROUND_ROBIN", "affinity": "PTO_RT_DISPATCH_AFFINITY",
             "hash": "PTO_RT_DISPATCH_HASH", "dispatch_by": "PTO_RT_DISPATCH_BY",
             "work_steal": "PTO_RT_DISPATCH_WORK_STEAL"}
_TIMING = {"immediate": "PTO_RT_TIMING_IMMEDIATE", "batched": "PTO_RT_TIMING_BATCHED",
           "interleaved": "PTO_RT_TIMING_INTERLEAVED", "rate_limit": "PTO_RT_TIMING_RATE_LIMIT"}


@dataclass
class Site:
    """A place in user code the generated C can report an error from. ``kind`` selects the
    error class (``"index"``: ExecutionError; ``"deadlock"``: DeadlockError; ``"closed"``:
    ChannelClosed); for ``deadlock`` the run's message describes the blocked processes."""

    loc: SourceLoc | None
    what: str
    kind: str = "index"


@dataclass
class _Proc:
    """Lowering state inside one process of a pipeline."""

    pipe: int
    chan: dict[str, int]
    consumed: list[tuple[int, str]]  # enclosing consume bodies: (channel index, token var)
    rendezvous: set[str]  # depth-0 channels


@dataclass
class OrchVM:
    config: list[str]
    body: list[dict]
    kernels: list[dict]
    sites: list[Site]
    num_tensors: int
    max_rank: int = MAX_RANK
    trace: bool = False
    lanes: tuple[str, ...] = ()  # simulated lanes in the runtime's numbering (pto_rt.h)
    machine: Machine = Machine()  # the simulated machine, its AICPU count resolved


def var(name: str) -> str:
    """C name of a loop or token variable."""
    return "v_" + ident(name)


def _ctype_of(dt: DType) -> str:
    if dt.is_float:
        return "double"
    if dt is DType.U64:
        return "uint64_t"
    if dt is DType.BOOL:
        return "int64_t"
    return "int64_t"


class OrchLowerer:
    def __init__(self, m: ir.Module, machine: Machine, v9_compat: bool):
        self.m = m
        self.machine = machine
        self.v9_compat = v9_compat
        self.tensor_id = {t.name: i for i, t in enumerate(m.tensors)}
        self.axis_id = {a.name: i for i, a in enumerate(m.axes)}
        self.symbol_id = {s.name: i for i, s in enumerate(m.symbols)}
        self.kernel_id = {k.name: i for i, k in enumerate(m.kernels)}
        self.sites: list[Site] = []
        self.sched = m.schedule
        self.tg = m.schedule.task_graph or TaskGraph()
        self.tmp = 0
        self.vars: list[str] = []       # loop / token variables in scope
        self.proc: _Proc | None = None  # inside a pipeline process
        self.toplevel: list[dict] = []  # process functions, emitted before pto_run
        self.npipes = 0
        self.call_axes: tuple = ()
        self.costs = dict(self.tg.trace.costs)  # kernel -> cycles replacing the cost model's
        for name in self.costs:
            self.toplevel.append({"line": _cost_wrapper(name, self.kernel_id[name])})

    def site(self, loc, what: str, kind: str = "index") -> int:
        self.sites.append(Site(loc, what, kind))
        return len(self.sites) - 1

    def fresh(self, base: str) -> str:
        self.tmp += 1
        return f"{base}{self.tmp}"

    # -- expressions ----------------------------------------------------------------
    def expr(self, e: irx.ScalarExpr) -> str:
        if isinstance(e, irx.Const):
            return scalar(e.value, e.dtype, e.loc)
        if isinstance(e, irx.Var):
            return var(e.name)
        if isinstance(e, irx.Symbol):
            i = self.symbol_id[e.name]
            return f"in->sym_f[{i}]" if e.dtype.is_float else \
                f"(({_ctype_of(e.dtype)})in->sym_u[{i}])"
        if isinstance(e, irx.Slot):
            return f"slots[{e.index}]"
        if isinstance(e, irx.TaskParam):  # only in keys, lowered per call (see call())
            return self.expr(self.call_axes[e.index])
        if isinstance(e, irx.ChannelPending):  # in a process (verified)
            return f"pto_csp_pending(csp_, {self.proc.chan[e.channel]})"
        if isinstance(e, irx.AxisSize):
            a = self.m.axis(e.axis)
            i = self.axis_id[e.axis]
            if a.kind in ("dense", "dense_dyn"):
                return f"in->axis_size[{i}]"
            o = self.row_index(e.outer, a, e.loc)
            if a.kind == "ragged":
                return f"in->axis_a[{i}][{o}]"
            return f"(in->axis_a[{i}][{o} + 1] - in->axis_a[{i}][{o}])"
        if isinstance(e, irx.Binary):
            return self.binary(e)
        if isinstance(e, irx.Unary):
            x = self.expr(e.operand)
            t = _ctype_of(e.dtype)
            return {"neg": f"(-({t})({x}))", "not": f"((int64_t)!({x}))",
                    "inv": f"(~({t})({x}))"}[e.op]
        if isinstance(e, irx.Where):
            t = _ctype_of(e.dtype)
            return (f"(({self.expr(e.cond)}) ? ({t})({self.expr(e.then)}) : "
                    f"({t})({self.expr(e.other)}))")
        if isinstance(e, irx.Cast):
            x = self.expr(e.operand)
            if e.to is DType.BOOL:
                return f"((int64_t)(({x}) != 0))"
            if e.to.is_float:
                return f"((double)({'(float)' if e.to is DType.F32 else ''}({x})))"
            return f"(({_ctype_of(e.to)})({ctype(e.to)})({x}))"
        raise CompileError(f"cannot lower expression {e!r}", getattr(e, "loc", None))

    def binary(self, e: irx.Binary) -> str:
        a, b = self.expr(e.lhs), self.expr(e.rhs)
        kind = irx.BINARY_OPS[e.op][2]
        pt = irx.promote(e.lhs.dtype, e.rhs.dtype)
        t = _ctype_of(e.dtype if kind == "arith" else pt)
        if kind == "logic":
            return f"((int64_t)(({a}) {irx.BINARY_OPS[e.op][1]} ({b})))"
        if kind == "cmp":
            return f"((int64_t)(({t})({a}) {irx.BINARY_OPS[e.op][1]} ({t})({b})))"
        if e.op == "div":
            return f"((double)({a}) / (double)({b}))"
        if e.op in ("floordiv", "mod", "shl", "shr") or kind == "minmax":
            if pt.is_float and e.op in ("mod", "floordiv", "shl", "shr"):
                raise CompileError(f"'{irx.BINARY_OPS[e.op][0]}' needs integer operands", e.loc)
            if e.op in ("floordiv", "mod"):
                site = self.site(e.loc, f"'{irx.BINARY_OPS[e.op][0]}' by zero")
                return f"PTO_X_{e.op.upper()}({t}, ({t})({a}), ({t})({b}), {site})"
            suffix = {"int64_t": "i64", "uint64_t": "u64", "double": "f64"}[t]
            return f"pto_x_{e.op}_{suffix}(({t})({a}), ({t})({b}))"
        if kind == "int" and pt.is_float:
            raise CompileError(f"'{irx.BINARY_OPS[e.op][0]}' needs integer operands", e.loc)
        return f"(({t})({a}) {irx.BINARY_OPS[e.op][1]} ({t})({b}))"

    def row_index(self, outer: irx.ScalarExpr, a: ir.AxisDecl, loc) -> str:
        site = self.site(loc, f"row index of axis '{a.name}' out of range")
        return f"PTO_ROW({self.expr(outer)}, {a.size}, {site})"

    # -- statements -----------------------------------------------------------------
    def stmts(self, body) -> list[dict]:
        out: list[dict] = []
        for s in body:
            out += self.stmt(s)
        return out

    def scope(self, kind: str, inner: list[dict]) -> list[dict]:
        if self.proc is not None:  # a process is sequential; scopes of interleaved
            return inner           # coroutines would nest wrongly in the runtime
        return [{"line": f"PTO_CHK(pto_rt_scope_begin(rt, PTO_RT_SCOPE_{kind}));"},
                *inner, {"line": "PTO_CHK(pto_rt_scope_end(rt));"}]

    def stmt(self, s) -> list[dict]:
        if isinstance(s, ir.Call):
            return [self.call(s)]
        if isinstance(s, ir.For):
            return self.loop(s)
        if isinstance(s, ir.When):
            nodes = []
            for i, (cond, body) in enumerate(s.branches):
                kw = "if" if i == 0 else "else if"
                nodes.append({"open": f"{kw} ({self.expr(cond)}) {{", "body": self.stmts(body),
                              "close": "}"})
            if s.otherwise is not None:
                nodes.append({"open": "else {", "body": self.stmts(s.otherwise), "close": "}"})
            return self.scope("PAR", nodes)
        if isinstance(s, ir.Block):
            inner: list[dict] = []
            for i, part in enumerate(s.parts):
                if i and s.kind == "seq" and self.proc is None:
                    inner.append({"line": "PTO_CHK(pto_rt_scope_next(rt));"})
                inner += self.stmts(part)
            return self.scope(s.kind.upper(), inner)
        if isinstance(s, ir.SlotSet):
            return [{"line": f"slots[{s.slot}] = (uint64_t)({self.expr(s.value)});"}]
        if isinstance(s, ir.SlotLoad):
            return [self.slot_load(s)]
        if isinstance(s, ir.Pipe):
            return self.pipe(s)
        if isinstance(s, (ir.Send, ir.Wait, ir.Consume)):  # in a process (verified)
            if isinstance(s, ir.Send):
                return self.send(s)
            if isinstance(s, ir.Wait):
                return self.wait(s)
            return self.consume(s)
        raise CompileError(f"cannot lower statement {type(s).__name__}", getattr(s, "loc", None))

    # -- CSP pipelines --------------------------------------------------------------
    def pipe(self, s: ir.Pipe) -> list[dict]:
        if self.proc is not None:
            raise CompileError("a pipeline nested inside a process of another pipeline is not "
                               "supported", s.loc, hint="move the inner pipeline out of the "
                               "process, or merge its processes into the outer pipeline")
        if self.tg.deps.kind == "explicit":
            raise ScheduleError("CSP pipelines need data-dependency tracking; Deps.explicit() "
                                "has none", s.loc,
                               hint="use Deps.infer_tensor_map_exact(), infer_bytes_overlap() "
                                    "or hybrid() with pipelines")
        k = self.npipes
        self.npipes += 1
        chan = {c.name: i for i, c in enumerate(s.channels)}
        env = list(self.vars)
        procs = []
        for pi, p in enumerate(s.processes):
            fn = f"pto_pipe{k}_p{pi}"
            self.proc = _Proc(k, chan, [], {c.name for c in s.channels if c.depth == 0})
            saved_vars = self.vars
            self.vars = list(env)
            try:
                body = self.stmts(p.body)
            finally:
                self.proc = None
                self.vars = saved_vars
            head = ["pto_csp *const csp_ = pto_csp_cur;",
                    "const pto_inputs *const in = csp_->in;",
                    "pto_rt *const rt = csp_->rt;",
                    "uint64_t *const slots = csp_->slots;",
                    "int rc = 0;", "int err_site = -1;", "int64_t err_value = 0;",
                    "(void)in; (void)rt; (void)slots;"]
            head += [f"const int64_t {var(v)} = csp_->env[{j}]; (void){var(v)};"
                     for j, v in enumerate(env)]
            tail = ["goto done;", "done:",
                    "pto_csp_exit(csp_, rc, err_site, err_value);"]
            self.toplevel.append({
                "open": f"static void {fn}(void)\n{{",
                "body": [{"line": ln} for ln in head] + body + [{"line": ln} for ln in tail],
                "close": "}"})
            prod = [chan[c] for c in p.produces]
            procs.append((p.name, fn, prod))
        dsite = self.site(s.loc, "deadlock in pipeline", kind="deadlock")
        lines = []
        captured = ", ".join(var(v) for v in env) or "0"
        lines.append(f"const int64_t env_[{max(len(env), 1)}] = {{{captured}}};")
        chans = ", ".join(f"{{{string(c.name)}, {c.depth}, {max(c.depth, 1)}, 0, 0, 0, 0, NULL}}"
                          for c in s.channels)
        lines.append(f"pto_chan chans_[{max(len(s.channels), 1)}] = {{{chans or '{0}'}}};")
        for pi, (_, _, prod) in enumerate(procs):
            if prod:
                lines.append(f"static const int32_t prod{pi}_[] = {{{', '.join(map(str, prod))}}};")
        plist = ", ".join(
            f"{{.name = {string(name)}, .fn = {fn}, .produces = {f'prod{pi}_' if prod else 'NULL'}, "
            f".nproduces = {len(prod)}}}"
            for pi, (name, fn, prod) in enumerate(procs))
        lines.append(f"pto_csp_proc procs_[{max(len(procs), 1)}] = {{{plist}}};")
        lines.append("pto_csp cs_ = {.in = in, .rt = rt, .slots = slots, .env = env_, "
                     f".procs = procs_, .chans = chans_, .nprocs = {len(procs)}, "
                     f".nchans = {len(s.channels)}, .err_site = -1}};")
        lines.append(f"const int prc_ = pto_csp_run(&cs_, &csp_arena_, {dsite}, &err_site, "
                     "&err_value, out->message, sizeof out->message);")
        lines.append("if (prc_ == PTO_ORCH_ESITE) goto done;")
        lines.append("if (prc_) { rc = prc_; goto done; }")
        return [{"open": "{", "body": [{"line": ln} for ln in lines], "close": "}"}]

    def proc_regions(self) -> list[str]:
        """Synthetic regions every task of the current process accesses: its marker
        (READWRITE) and the slots of the tokens its enclosing consume bodies hold (READ)."""
        regs = ["pto_csp_region(csp_->procs[csp_->cur].marker, PTO_RT_READWRITE)"]
        regs += [f"pto_csp_region(pto_csp_slot(csp_, {ci}, {var(v)}), PTO_RT_READ)"
                 for ci, v in self.proc.consumed]
        return regs

    def noop(self, regs: list[str], name: str, loc=None) -> list[str]:
        if len(regs) > 16:
            raise CompileError(f"'{name}' inside {len(regs) - 2} nested consume() bodies needs "
                               f"{len(regs)} regions; the runtime allows 16 per task", loc,
                               hint="nest fewer consume() bodies")
        lines = [f"pto_rt_region reg_[{len(regs)}];"]
        lines += [f"reg_[{i}] = {r};" for i, r in enumerate(regs)]
        lines += [f"pto_rt_task task_ = {{NULL, NULL, 0, {len(regs)}, reg_, PTO_RT_UNIT_VECTOR, "
                  f"0, 0, 0, 0, 0, {string(name)}, 0, NULL}};",
                  "PTO_SUBMIT(rt, &task_);"]
        return lines

    def send(self, s: ir.Send) -> list[dict]:
        ci = self.proc.chan[s.channel]
        lines = [f"const int64_t tok_ = pto_csp_send_begin(csp_, {ci});"]
        slot = f"pto_csp_region(pto_csp_slot(csp_, {ci}, tok_), PTO_RT_WRITE | PTO_RT_LATENCY)"
        if s.call is None:
            inner = [{"line": ln} for ln in self.noop(self.proc_regions() + [slot],
                                                       f"record:{s.channel}", s.loc)]
            inner = [{"open": "{", "body": inner, "close": "}"}]
        else:
            inner = [self.call(s.call, extra=[slot])]
        inner.append({"line": f"pto_csp_send_end(csp_, {ci});"})
        if s.channel in self.proc.rendezvous:  # go on only once a receiver took the token
            ack = f"pto_csp_region(pto_csp_ack(csp_, {ci}), PTO_RT_READ)"
            inner += [{"line": f"pto_csp_rendezvous(csp_, {ci}, tok_);"},
                      {"open": "{", "body": [{"line": ln} for ln in self.noop(
                          self.proc_regions() + [ack], f"join:{s.channel}", s.loc)],
                       "close": "}"}]
        return [{"open": "{", "body": [{"line": lines[0]}] + inner, "close": "}"}]

    def ack(self, ci: int, channel: str) -> list[str]:
        """The region a receiver's take of a rendezvous token writes (its sender's join
        reads it)."""
        return ([f"pto_csp_region(pto_csp_ack(csp_, {ci}), PTO_RT_WRITE)"]
                if channel in self.proc.rendezvous else [])

    def wait(self, s: ir.Wait) -> list[dict]:
        ci = self.proc.chan[s.channel]
        site = self.site(s.loc, f"synchronize/wait on channel '{s.channel}', which is closed "
                                "(every producer finished) and empty", kind="closed")
        lines = [f"const int64_t tok_ = pto_csp_recv(csp_, {ci});",
                 f"if (tok_ < 0) PTO_FAIL_SITE({site}, 0);"]
        regs = self.proc_regions() + [
            f"pto_csp_region(pto_csp_slot(csp_, {ci}, tok_), PTO_RT_READ)"] + self.ack(
            ci, s.channel)
        noop = self.noop(regs, f"wait:{s.channel}", s.loc)
        lines += ["{"] + ["    " + ln for ln in noop] + ["}"]
        lines.append(f"pto_csp_release(csp_, {ci}, tok_);")
        return [{"open": "{", "body": [{"line": ln} for ln in lines], "close": "}"}]

    def consume(self, s: ir.Consume) -> list[dict]:
        ci = self.proc.chan[s.channel]
        v = var(s.var)
        self.proc.consumed.append((ci, s.var))
        self.vars.append(s.var)
        try:
            ack = self.ack(ci, s.channel)
            take = [{"open": "{", "body": [{"line": ln} for ln in self.noop(
                self.proc_regions() + ack, f"take:{s.channel}", s.loc)], "close": "}"}]
            body = (take if ack else []) + self.stmts(s.body)
        finally:
            self.proc.consumed.pop()
            self.vars.pop()
        return [{"open": "for (;;) {", "body": [
            {"line": f"const int64_t {v} = pto_csp_recv(csp_, {ci});"},
            {"line": f"if ({v} < 0) break;"},
            *body,
            {"line": f"pto_csp_consumed(csp_, {ci}, {v});"}], "close": "}"}]

    def loop(self, s: ir.For) -> list[dict]:
        a = self.m.axis(s.domain.axis)
        i = self.axis_id[a.name]
        v = var(s.var)
        self.vars.append(s.var)
        try:
            body = self.stmts(s.body)
        finally:
            self.vars.pop()
        if s.kind == "seq" and self.proc is None:
            body = [{"line": f"if ({v} > 0) PTO_CHK(pto_rt_scope_next(rt));"}] + body
        kind = "SEQ" if s.kind == "seq" else "PAR"
        if a.kind in ("dense", "dense_dyn"):
            bound = str(a.size) if a.kind == "dense" else f"in->axis_size[{i}]"
            loop = {"open": f"for (int64_t {v} = 0; {v} < {bound}; ++{v}) {{", "body": body,
                    "close": "}"}
            return self.scope(kind, [loop])
        o = self.fresh("o_")
        pre = {"line": f"const int64_t {o} = {self.row_index(s.domain.outer, a, s.loc)};"}
        if a.kind == "ragged":
            loop = {"open": f"for (int64_t {v} = 0; {v} < in->axis_a[{i}][{o}]; ++{v}) {{",
                    "body": body, "close": "}"}
            return [{"open": "{", "body": [pre] + self.scope(kind, [loop]), "close": "}"}]
        j = self.fresh("j_")
        loop = {"open": f"for (int64_t {j} = in->axis_a[{i}][{o}]; {j} < in->axis_a[{i}][{o} + 1]; "
                        f"++{j}) {{",
                "body": [{"line": f"const int64_t {v} = in->axis_b[{i}][{j}];"}] + body,
                "close": "}"}
        return [{"open": "{", "body": [pre] + self.scope(kind, [loop]), "close": "}"}]

    # -- views and calls ------------------------------------------------------------
    def view(self, v: ir.ViewExpr, loc, what: str) -> tuple[list[str], str, list[str], list[int]]:
        """C lines computing the element offset ``off`` of a view, the offset variable, the
        kept dimensions' stride expressions and sizes."""
        t = self.m.tensor(v.tensor)
        ti = self.tensor_id[t.name]
        off = self.fresh("off_")
        lines = [f"int64_t {off} = 0;"]
        kept_strides, kept_sizes = [], []
        for dim, it in enumerate(v.items):
            stride = f"in->strides[{ti * MAX_RANK + dim}]"
            if isinstance(it, ir.Index):
                site = self.site(loc, f"index into '{t.name}' dimension {dim} (size "
                                      f"{t.shape[dim]}) out of bounds in {what}")
                lines.append(f"{off} += PTO_IDX({self.expr(it.expr)}, {t.shape[dim]}, {site}) "
                             f"* {stride};")
            else:
                last = (it.size - 1) * it.step
                site = self.site(loc, f"slice of '{t.name}' dimension {dim} (size "
                                      f"{t.shape[dim]}) out of bounds in {what}")
                lines.append(f"{off} += PTO_IDX({self.expr(it.start)}, {t.shape[dim] - last}, "
                             f"{site}) * {stride};")
                kept_strides.append(f"({it.step} * {stride})")
                kept_sizes.append(it.size)
        for dim in range(len(v.items), len(t.shape)):
            kept_strides.append(f"in->strides[{ti * MAX_RANK + dim}]")
            kept_sizes.append(t.shape[dim])
        return lines, off, kept_strides, kept_sizes

    def call(self, c: ir.Call, extra: list[str] = ()) -> dict:
        k = self.m.kernel(c.kernel)
        kid = self.kernel_id[k.name]
        args = dict(c.args)
        # padding zeroed too: the argument block's bytes are deterministic (the plan's equal)
        lines = [f"{args_type(k.name)} a_;", "memset(&a_, 0, sizeof a_);",
                 "pto_rt_region reg_[PTO_RT_MAX_REGIONS];"]
        nreg = 0
        for p in k.params:
            a = args.get(p.name)
            f = ident(p.name)
            if isinstance(p.type, ir.ScalarType):
                val = self.expr(a) if a is not None else scalar(p.default, p.type.dtype, k.loc)
                lines.append(f"a_.{f} = ({scalar_ctype(p.type.dtype)})({val});")
                continue
            t = self.m.tensor(a.tensor)
            vlines, off, strides, sizes = self.view(a, c.loc, f"call of '{k.name}'")
            rows, cols, strides = kernel_view(sizes, strides, p.name, k.name, a.loc or c.loc)
            rs, cs = (strides if len(strides) == 2 else [f"{cols} * {strides[0]}", strides[0]])
            el = t.dtype.itemsize
            mode = {"in": "PTO_RT_READ", "out": "PTO_RT_WRITE", "inout": "PTO_RT_READWRITE"}[
                p.direction]
            lines += vlines + [
                f"a_.{f} = ({ctype(t.dtype)} *)in->tensors[{self.tensor_id[t.name]}] + {off};",
                f"a_.{f}_rs = {rs}; a_.{f}_cs = {cs};",
                f"a_.{f}_rows = {rows}; a_.{f}_cols = {cols};",
                f"reg_[{nreg}] = (pto_rt_region){{(uintptr_t)a_.{f}, {rows}, {cols}, "
                f"a_.{f}_rs * {el}, a_.{f}_cs * {el}, {el}, "
                f"{self.tensor_id[t.name]}, {mode}, in->overlap[{self.tensor_id[t.name]}]}};",
            ]
            nreg += 1
        if nreg > 16:
            raise CompileError(f"kernel '{k.name}' accesses {nreg} tensors; the runtime allows "
                               "16 per task", k.loc)
        if self.proc is not None:
            regs = self.proc_regions() + list(extra)
            if nreg + len(regs) > 16:
                raise CompileError(f"this call of '{k.name}' in a pipeline process needs "
                                   f"{nreg + len(regs)} regions ({nreg} tensors + {len(regs)} "
                                   "for process order and channel tokens); the runtime allows "
                                   "16 per task", c.loc,
                                   hint="nest fewer consume() bodies or pass fewer tensors")
            for r in regs:
                lines.append(f"reg_[{nreg}] = {r};")
                nreg += 1
        sched = self.sched
        self.call_axes = c.axes  # t.param(i) in the keys reads this call's axis values
        dkey = self.expr(sched.dispatch.key) if sched.dispatch and sched.dispatch.key else "0"
        if sched.dispatch and sched.dispatch.kind == "dispatch_by":
            n = self.num_aicpus()
            site = self.site(sched.dispatch.loc, f"dispatch_by chose an AICPU out of range for "
                                                 f"a task of '{k.name}' ({n} AICPUs exist)")
            dkey = f"PTO_IDX({dkey}, {n}, {site})"
        skey = self.expr(sched.stream_by) if sched.stream_by is not None else "0"
        prio = self.expr(self.tg.ready.key) if self.tg.ready.key is not None else "0"
        fn, args = kernel_fn(k.name), "a_"
        if k.name in self.costs:  # the task runs the kernel but reports the given cycles
            fn, args = f"pto_cost_{kid}", "w_"
            lines += [f"pto_cost_{kid}_args w_;", "memset(&w_, 0, sizeof w_);",
                      "memcpy(&w_.a, &a_, sizeof a_);",
                      f"w_.cycles = (uint64_t)({self.expr(self.costs[k.name])});"]
        unit = "PTO_RT_UNIT_CUBE" if k.exec_unit == "cube" else "PTO_RT_UNIT_VECTOR"
        pool = "1" if (k.exec_unit == "cube" and self.tg.pools.kind == "custom") else "0"
        if len(c.axes) > MAX_INDICES:
            raise CompileError(f"this call of '{k.name}' binds {len(c.axes)} axis values; the "
                               f"runtime records at most {MAX_INDICES} per task", c.loc,
                               hint="bind fewer axes (k[a, b](...))")
        idx = ", ".join(f"(int64_t)({self.expr(e)})" for e in c.axes) or "0"
        lines += [
            f"const int64_t idx_[{max(len(c.axes), 1)}] = {{{idx}}};",
            f"pto_rt_task task_ = {{{fn}, &{args}, sizeof {args}, {nreg}, reg_, {unit}, "
            f"{pool}, (uint64_t)({dkey}), (uint64_t)({skey}), (int32_t)({prio}), {kid}, "
            f"{string(k.name)}, {len(c.axes)}, idx_}};",
            "PTO_SUBMIT(rt, &task_);",
        ]
        return {"open": "{", "body": [{"line": ln} for ln in lines], "close": "}"}

    def slot_load(self, s: ir.SlotLoad) -> dict:
        t = self.m.tensor(s.view.tensor)
        vlines, off, strides, sizes = self.view(s.view, s.loc, "slot_load_u64")
        while len(sizes) < 2:
            sizes, strides = [1] + sizes, ["0"] + strides
        el = t.dtype.itemsize
        ptr = self.fresh("p_")
        lines = vlines + [
            f"{ctype(t.dtype)} *{ptr} = ({ctype(t.dtype)} *)in->tensors[{self.tensor_id[t.name]}]"
            f" + {off} + {s.row} * {strides[-2]} + {s.col} * {strides[-1]};",
            f"pto_rt_region r_ = {{(uintptr_t){ptr}, 1, 1, {el}, {el}, {el}, "
            f"{self.tensor_id[t.name]}, PTO_RT_READ, in->overlap[{self.tensor_id[t.name]}]}};",
            "PTO_CHK(pto_rt_wait_region(rt, &r_));",
            f"slots[{s.slot}] = (uint64_t)*{ptr};",
        ]
        return {"open": "{", "body": [{"line": ln} for ln in lines], "close": "}"}

    # -- configuration ----------------------------------------------------------------
    def lanes(self) -> tuple[str, ...]:
        """Names of the simulated lanes, numbered as pto_rt_lane_stats numbers them."""
        n, mc = self.num_aicpus(), self.machine
        if self.v9_compat:
            return tuple(f"aicpu {a}" for a in range(n))
        return tuple(name for a in range(n) for name in
                     [f"aicpu {a} vector {i}" for i in range(mc.vector_lanes)] +
                     [f"aicpu {a} cube {i}" for i in range(mc.cube_lanes)])

    def num_aicpus(self) -> int:
        d = self.sched.dispatch
        return self.machine.num_aicpus or (d.num_aicpus if d and d.num_aicpus else 4)

    def config_fields(self) -> dict[str, int | str | tuple[str, ...]]:
        """The runtime configuration: ``pto_rt_config`` field -> an int, a ``pto_rt.h``
        constant name, or a tuple of names OR-ed together (``exec_units``: unit names, each
        meaning ``1u << unit``)."""
        s: Schedule = self.sched
        tg = self.tg
        d = s.dispatch
        n = self.num_aicpus()
        self.check_limits(n)
        cfg: dict = {
            "deps": _DEPS[tg.deps.kind], "ready": _READY[tg.ready.kind],
            "pools": _POOLS[tg.pools.kind],
            "dispatch": _DISPATCH[d.kind if d else "round_robin"], "num_aicpus": n,
            "vector_lanes": self.machine.vector_lanes, "cube_lanes": self.machine.cube_lanes,
            "clock_khz": self.machine.clock_mhz * 1000, "num_streams": s.streams or 0,
            "v9_compat": 1 if self.v9_compat else 0,
            # the units this program's kernels use: lets the runtime forget finished regions
            "exec_units": tuple(sorted({f"PTO_RT_UNIT_{k.exec_unit.upper()}"
                                        for k in self.m.kernels})),
        }
        if s.streams and s.stream_by is None:
            cfg["stream_round_robin"] = 1  # streams(n) alone: task index % n
        if tg.pools.kind == "custom":
            cfg.update({"num_pools": 2, "pool_workers[0]": tg.pools.vector_workers,
                        "pool_workers[1]": tg.pools.cube_workers})
        if s.timing is not None:
            cfg.update({"timing": _TIMING[s.timing.kind], "timing_param": s.timing.value})
        if tg.window is not None:
            w = tg.window
            cfg.update({"window_size": w.size, "window_unit": f"PTO_RT_WINDOW_{w.unit.upper()}",
                        "window_mode": f"PTO_RT_WINDOW_{w.mode.name}"})
        if tg.start.kind == "after_orchestration":
            cfg["start"] = "PTO_RT_START_AFTER_ORCHESTRATION"
        else:
            cfg.update({"start": "PTO_RT_START_THRESHOLD", "start_threshold": tg.start.n})
        bits = ("PTO_RT_TRACE_CYCLES",) * tg.trace.sim + ("PTO_RT_TRACE_WALL",) * tg.trace.wall
        if bits:
            cfg["trace"] = bits
        return cfg

    def config(self) -> list[str]:
        """``config_fields`` as C assignments to ``cfg``."""
        lines = []
        for f, v in self.config_fields().items():
            if f == "exec_units":
                v = " | ".join(f"(1u << {u})" for u in v) or "0"
            elif isinstance(v, tuple):
                v = " | ".join(v)
            lines.append(f"cfg.{f} = {v};")
        return lines

    def check_limits(self, num_aicpus: int) -> None:
        """What the cpu_sim runtime can honour (runtime_c/pto_rt.c::validate), as located
        ScheduleErrors at compile time rather than a failed run."""
        s, tg, loc = self.sched, self.tg, self.m.loc
        d = s.dispatch
        if num_aicpus > 65536:
            raise ScheduleError(f"cpu_sim simulates at most 65536 AICPUs, the dispatch asks for "
                                f"{num_aicpus}", d.loc if d else loc)
        if (s.streams or 0) > 65536:
            raise ScheduleError(f"cpu_sim supports at most 65536 streams, got {s.streams}", loc)
        if s.timing is not None and s.timing.kind == "interleaved" and s.timing.value > 65536:
            raise ScheduleError("TimingPolicy.interleaved supports at most 65536 queues",
                                s.timing.loc)
        if tg.pools.kind == "custom" and max(tg.pools.vector_workers,
                                             tg.pools.cube_workers) > 1024:
            raise ScheduleError("Pools.custom supports at most 1024 workers per pool", loc)
        if self.v9_compat and tg.window is not None and tg.window.unit != "tasks":
            raise ScheduleError("v9 compatibility timing supports task windows only",
                                tg.window.loc, hint="use TaskWindow(n, 'tasks') or drop "
                                                    "v9_compat")


def kernel_view(sizes: list, strides: list, param: str, kernel: str, loc):
    """A view's kept dimensions as a kernel takes them: leading 1s dropped, rank <= 2 (else
    a located CompileError). Returns rows, cols and the kept dimensions' strides."""
    while len(sizes) > 2 and sizes[0] == 1:
        sizes, strides = sizes[1:], strides[1:]
    if len(sizes) > 2:
        raise CompileError(f"argument '{param}' of '{kernel}' is a {len(sizes)}-D view; "
                           "kernels take views of rank <= 2", loc,
                           hint="index the leading dimensions")
    rows, cols = (sizes if len(sizes) == 2 else [1, sizes[0]])
    return rows, cols, strides


def lower_orchestration(m: ir.Module, machine: Machine, v9_compat: bool) -> OrchVM:
    low = OrchLowerer(m, machine, v9_compat)
    body = low.stmts(m.workload.body)
    # process functions are hoisted out of pto_run by the template
    body = [{"toplevel": f} for f in low.toplevel] + body
    tg = m.schedule.task_graph or TaskGraph()
    return OrchVM(low.config(), body, [{"name": k.name} for k in m.kernels], low.sites,
                  len(m.tensors), trace=tg.trace.sim or tg.trace.wall, lanes=low.lanes(),
                  machine=replace(machine, num_aicpus=low.num_aicpus()))


def _cost_wrapper(kernel: str, kid: int) -> str:
    """C of a task function running ``kernel`` that reports the cycles stored after its args
    (TracePolicy.cycles(cost_fn))."""
    return (f"typedef struct {{ {args_type(kernel)} a; uint64_t cycles; }} pto_cost_{kid}_args;\n"
            f"static int pto_cost_{kid}(const void *p, uint64_t *cycles_out)\n{{\n"
            f"    const pto_cost_{kid}_args *w = (const pto_cost_{kid}_args *)p;\n"
            f"    int rc = {kernel_fn(kernel)}(&w->a, cycles_out);\n"
            f"    *cycles_out = w->cycles;\n    return rc;\n}}")

"""CSP authoring (spec 3.7, 7): channels, processes, send/consume, pipelines, events.

A channel carries *task-completion tokens*: ``send(ch, k[i](...))`` runs the task and puts a
token (its send index) on ``ch`` when it completes; ``with consume(ch) as t:`` runs its body
once per token, in order, binding ``t`` (``consume(ch, fn)``: ``fn(t)`` is the body). ``depth`` bounds the tokens in flight (0 is a
rendezvous). Processes are built either inside ``with P.pipe():`` (each top-level statement
of the scope is one process) or with ``process(...).consumes(...).produces(...).body(fn)``
and ``connect([...], [...])``. An ``Event`` is a depth-0 channel: ``record`` sends a bare
token, ``synchronize`` waits for one, ``query`` tests whether one is pending.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable
from contextlib import contextmanager

from ..errors import TypeCheckError, user_location
from ..ir import expr as irx
from ..ir import nodes as ir
from .scalar import Expr
from .workload import BoundKernel, TaskHandle, current_builder, in_workload

__all__ = ["Channel", "Event", "process", "send", "consume", "connect", "replicate", "record",
           "synchronize", "query", "pipe"]


class _ChannelMeta(type):
    def __getitem__(cls, _element_type):
        """``Channel[Tile]``: the element annotation documents what flows; tokens are task
        completions whatever it says."""
        return cls


class Channel(metaclass=_ChannelMeta):
    """A bounded FIFO of task-completion tokens."""

    def __init__(self, name: str | None = None, depth: int | None = None):
        self.loc = user_location()
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise TypeCheckError(f"channel name must be an identifier, got {name!r}", self.loc)
        self.name = name
        self.depth_given = depth is not None  # else P.pipe(depth=N)'s N, or 1
        self.depth = 1 if depth is None else check_depth(depth, self.loc)

    def __repr__(self) -> str:
        return f"Channel({self.name!r}, depth={self.depth})"


def check_depth(depth, loc) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise TypeCheckError(f"channel depth must be an int >= 0, got {depth!r}", loc)
    return depth


def Event(name: str | None = None) -> Channel:  # noqa: N802 - spec name
    """An event: a depth-0 (rendezvous) channel."""
    return Channel(name, depth=0)


def _channel(b, ch, loc) -> str:
    if not isinstance(ch, Channel):
        raise TypeCheckError(f"expected a Channel, got {type(ch).__name__}", loc)
    name = b._name_of(ch, "ch")
    prev = b.channels.setdefault(name, ch)
    if prev is not ch:
        raise TypeCheckError(f"two different channels are named '{name}'", loc)
    return name


def send(ch: Channel, task: TaskHandle) -> None:
    """Put ``task``'s completion token on ``ch`` (``task`` is a kernel call just made)."""
    loc = user_location()
    b = current_builder(loc, "send")
    name = _channel(b, ch, loc)
    if isinstance(task, BoundKernel):
        raise TypeCheckError("send() needs a kernel call, not a bound kernel", loc,
                             hint="write send(ch, k[i](...)) with the call's arguments")
    if not isinstance(task, TaskHandle) or not b.blocks[-1] or b.blocks[-1][-1] is not task.call:
        raise TypeCheckError("send() takes the kernel call written directly inside it", loc,
                             hint="write send(ch, kernel[i](...))")
    b.blocks[-1][-1] = ir.Send(name, task.call, loc)


def record(event: Channel) -> None:
    """Send a bare token on ``event``."""
    loc = user_location()
    b = current_builder(loc, "record")
    b.append(ir.Send(_channel(b, event, loc), None, loc))


def synchronize(event: Channel) -> None:
    """Wait for one token on ``event``: later tasks of this process run after its sender."""
    loc = user_location()
    b = current_builder(loc, "synchronize")
    b.append(ir.Wait(_channel(b, event, loc), loc))


def query(event: Channel) -> Expr:
    """1 if a token is pending on ``event`` (non-blocking), else 0: use in ``P.when``."""
    loc = user_location()
    b = current_builder(loc, "query")
    return Expr(irx.ChannelPending(_channel(b, event, loc), loc))


_AS_RE = re.compile(r"\bas\s+([A-Za-z_]\w*)\s*:")


def consume(ch: Channel, body: Callable[[Any], object] | str | None = None) -> Any:
    """``with consume(ch) as t:`` -- the body runs once per token of ``ch``, ``t`` bound to it
    (a string second argument names the token instead of ``as``). ``consume(ch, fn)``:
    ``fn(t)`` emits the body, e.g. ``consume(ch, lambda t: send(out, k[t](...)))``; inside a
    workload that is the statement itself, and the result is also a process body for
    ``process(...).body(...)``."""
    loc = user_location()
    if body is None or isinstance(body, str):
        if body is not None and not body.isidentifier():
            raise TypeCheckError(f"consume() token name must be an identifier, got {body!r}",
                                 loc)
        return _consume_block(ch, body, loc)
    if not callable(body):
        raise TypeCheckError(f"consume() takes a function of the token or a token name as its "
                             f"second argument, got {type(body).__name__}", loc,
                             hint="write consume(ch, lambda t: ...) or `with consume(ch) as t:`")
    return _ConsumeBody(ch, body, loc)


@contextmanager
def _consume_block(ch: Channel, name: str | None, loc):
    b = current_builder(loc, "consume")
    cname = _channel(b, ch, loc)
    m = _AS_RE.search(loc.source_line() or "") if loc and name is None else None
    var = name or (m.group(1) if m else f"{cname}_tok")
    if var in b.var_scopes:
        raise TypeCheckError(f"token variable '{var}' shadows an enclosing loop variable", loc)
    b.push()
    b.var_scopes.append(var)
    try:
        yield Expr(irx.Var(var, loc))
    finally:
        b.var_scopes.pop()
        b.append(ir.Consume(cname, var, b.pop(), loc))


class _ConsumeBody:
    """``consume(ch, fn)``: emitted at once inside a workload; ``process(...).body(...)``
    takes it back out of that block and emits it where the process is built."""

    def __init__(self, ch: Channel, fn, loc):
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            params = None
        if params is None or len(params) != 1 or params[0].kind not in (
                params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            raise TypeCheckError("consume(ch, fn): fn must take exactly one parameter, the "
                                 "token", loc, hint="write consume(ch, lambda t: ...)")
        self.ch, self.fn, self.var, self.loc = ch, fn, params[0].name, loc
        self.emitted = None  # (builder, block, statement) of the eager emission
        if in_workload():
            b = current_builder(loc)
            self()
            self.emitted = (b, b.blocks[-1], b.blocks[-1][-1])

    def __call__(self) -> None:
        with _consume_block(self.ch, self.var, self.loc) as t:
            self.fn(t)

    def __enter__(self):
        raise TypeCheckError("consume(ch, fn) already runs fn as the body; it is not a "
                             "`with` block", self.loc,
                             hint="write `with consume(ch) as t:` or consume(ch, fn)")

    def __exit__(self, *exc):  # pragma: no cover - __enter__ always raises
        return False

    def detach(self) -> "_ConsumeBody":
        """Take the eager emission back out of its block (the body belongs to a process)."""
        if self.emitted:
            b, block, stmt = self.emitted
            if not any(blk is block for blk in b.blocks) or not any(s is stmt for s in block):
                raise TypeCheckError("this consume(ch, fn) already ran as a statement of a "
                                     "block that has ended", self.loc,
                                     hint="pass consume(...) to .body(...) where you write it")
            del block[next(i for i, s in enumerate(block) if s is stmt)]
            self.emitted = None
        return self


def _io(body) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Channels a statement list consumes from and produces to (in first-use order)."""
    cons, prod = [], []
    for s in ir.walk_stmts(body):
        if isinstance(s, (ir.Consume, ir.Wait)) and s.channel not in cons:
            cons.append(s.channel)
        if isinstance(s, ir.Send) and s.channel not in prod:
            prod.append(s.channel)
    return tuple(cons), tuple(prod)


@contextmanager
def pipe(*stages, depth: int | None = None):
    """``with P.pipe():`` -- each top-level statement inside becomes one process.
    ``depth=N`` is the depth of the scope's channels created without one."""
    loc = user_location()
    b = current_builder(loc, "P.pipe")
    if stages:
        raise TypeCheckError(
            "P.pipe takes no stages: each top-level statement of its scope is one stage "
            "(a process)", loc, hint="write `with P.pipe():` or `with P.pipe(depth=N):` "
                                     "and put one statement per stage inside")
    depth = None if depth is None else check_depth(depth, loc)
    b.push()
    try:
        yield
    finally:
        stmts = b.pop()
        procs = []
        for i, s in enumerate(stmts):
            cons, prod = _io((s,))
            procs.append(ir.Process(f"p{i}", cons, prod, (s,), getattr(s, "loc", None) or loc))
        b.append(_pipe(b, procs, loc, depth))


def _pipe(b, procs: list[ir.Process], loc, depth: int | None = None) -> ir.Pipe:
    """The pipeline of ``procs``; channels without a given depth get ``depth`` (else 1)."""
    used = []
    for p in procs:
        for c in p.consumes + p.produces:
            if c not in used:
                used.append(c)
    chans = [b.channels[c] for c in used]
    return ir.Pipe(tuple(ir.ChannelDecl(c, ch.depth if ch.depth_given or depth is None else
                                        depth, ch.loc) for c, ch in zip(used, chans)),
                   tuple(procs), loc)


class ProcessSpec:
    """``process(name).consumes(ch).produces(ch).body(fn)``: a process to ``connect``."""

    def __init__(self, name: str, consumes=(), produces=(), fn=None, loc=None):
        self.name, self._consumes, self._produces, self.fn = name, consumes, produces, fn
        self.loc = loc

    def consumes(self, *chs: Channel) -> "ProcessSpec":
        return ProcessSpec(self.name, self._consumes + chs, self._produces, self.fn, self.loc)

    def produces(self, *chs: Channel) -> "ProcessSpec":
        return ProcessSpec(self.name, self._consumes, self._produces + chs, self.fn, self.loc)

    def body(self, fn) -> "ProcessSpec":
        """``fn()`` (or ``fn(instance)`` for replicated processes) emits the body; or
        ``consume(ch, lambda t: ...)``."""
        if isinstance(fn, _ConsumeBody):
            fn = fn.detach()
        elif not callable(fn):
            raise TypeCheckError("process body must be a function that emits statements",
                                 user_location(), hint="e.g. def loader(): for i in P.seq(..)")
        return ProcessSpec(self.name, self._consumes, self._produces, fn, self.loc)

    def _build(self, b, index: int | None) -> ir.Process:
        if self.fn is None:
            raise TypeCheckError(f"process '{self.name}' has no body", self.loc)
        b.push()
        try:
            nparams = len(inspect.signature(self.fn).parameters)
            self.fn(*([index] if nparams and index is not None else []))
        finally:
            body = b.pop()
        name = self.name if index is None else f"{self.name}_{index}"
        declared_c = tuple(_channel(b, c, self.loc) for c in self._consumes)
        declared_p = tuple(_channel(b, c, self.loc) for c in self._produces)
        used_c, used_p = _io(body)
        for used, declared, verb in ((used_c, declared_c, "consumes"),
                                     (used_p, declared_p, "produces")):
            extra = [c for c in used if c not in declared]
            if extra:
                raise TypeCheckError(f"process '{name}' uses channel '{extra[0]}' but does not "
                                     f"declare it", self.loc,
                                     hint=f"add .{verb}({extra[0]})")
        return ir.Process(name, declared_c, declared_p, body, self.loc)


def process(name: str) -> ProcessSpec:
    loc = user_location()
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeCheckError(f"process name must be an identifier, got {name!r}", loc)
    return ProcessSpec(name, (), (), None, loc)


class _Replicated:
    def __init__(self, spec: ProcessSpec, n: int):
        self.spec, self.n = spec, n


def replicate(proc: ProcessSpec, n: int) -> _Replicated:
    """``n`` distinct instances of ``proc`` (named ``name_0`` ...; a body taking one
    parameter receives the instance index)."""
    loc = user_location()
    if not isinstance(proc, ProcessSpec):
        raise TypeCheckError("replicate() takes a process(...)", loc)
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise TypeCheckError(f"replicate count must be a positive int, got {n!r}", loc)
    return _Replicated(proc, n)


def connect(processes, channels) -> None:
    """Wire processes over channels into a pipeline inside the current workload."""
    loc = user_location()
    b = current_builder(loc, "connect")
    for ch in channels:
        _channel(b, ch, loc)
    procs = []
    for p in processes:
        if isinstance(p, _Replicated):
            procs += [p.spec._build(b, i) for i in range(p.n)]
        elif isinstance(p, ProcessSpec):
            procs.append(p._build(b, None))
        else:
            raise TypeCheckError(f"connect() takes processes, got {type(p).__name__}", loc)
    listed = {b._name_of(ch, "ch") for ch in channels}
    for p in procs:
        for c in p.consumes + p.produces:
            if c not in listed:
                raise TypeCheckError(f"process '{p.name}' uses channel '{c}', which is not "
                                     "passed to connect()", loc)
    names = [p.name for p in procs]
    if len(set(names)) != len(names):
        raise TypeCheckError("process names in a pipeline must be distinct", loc)
    b.append(_pipe(b, procs, loc))

"""Error hierarchy (spec section 9) and source locations.

Every user mistake raises a :class:`PtoError` subclass that carries a :class:`SourceLoc`
(the user's ``file:line`` for traced Python code, ``line:col`` for ``.pto`` text) and renders
like a compiler diagnostic::

    error: kernel 'k' has no parameter 'y'
      --> model.py:12:9
       |
    12 |         k[b](y=X[b])
       |         ^
    help: the parameters are: x, out
"""

from __future__ import annotations

import contextlib
import linecache
import os
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SourceLoc", "user_location", "entry_point",
    "PtoError", "CompileError", "TypeCheckError", "IRConversionError", "PtoSyntaxError",
    "ExecutionError", "KernelError", "ScheduleError", "ChannelError", "ChannelClosed",
    "ChannelFull", "DeadlockError", "WindowOverflowError", "UnknownNameError", "AxisIndexError",
]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_SKIP_FILES = {contextlib.__file__}  # our `with` scopes run through contextlib frames
_ENTRY_POINTS: set = set()  # code objects whose callers are launchers, not user code


@dataclass(frozen=True)
class SourceLoc:
    """A position in user source: a Python file or a ``.pto`` text.

    ``text`` holds the source when it is not a file on disk (a ``.pto`` string).
    Locations never take part in IR equality.
    """

    file: str
    line: int
    col: int = 0
    text: str | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.col}" if self.col else "")

    def source_line(self) -> str | None:
        if self.text is not None:
            lines = self.text.splitlines()
            return lines[self.line - 1] if 0 < self.line <= len(lines) else None
        got = linecache.getline(self.file, self.line)
        return got.rstrip("\n") if got else None

    def snippet(self) -> str:
        """`--> file:line:col`, the source line and a caret under the column."""
        out = [f"  --> {self}"]
        src = self.source_line()
        if src is not None:
            num = str(self.line)
            pad = " " * len(num)
            col = self.col if self.col > 0 else len(src) - len(src.lstrip()) + 1
            out += [f"{pad} |", f"{num} | {src}", f"{pad} | {' ' * (col - 1)}^"]
        return "\n".join(out)


def loc_field() -> Any:
    """A dataclass field for an optional ``SourceLoc``: defaults to None, never compared or
    shown (locations never take part in IR equality)."""
    return field(default=None, compare=False, repr=False)


def entry_point(fn):
    """Mark ``fn`` (e.g. the command line's ``main``) as an entry point: what called it is a
    launcher, never the user's location, so :func:`user_location` stops there (None)."""
    _ENTRY_POINTS.add(fn.__code__)
    return fn


def user_location(skip_internal: bool = True) -> SourceLoc | None:
    """The innermost stack frame outside this package (the user's call site), or None if
    there is none below an :func:`entry_point`.

    Cheap: walks frames without reading source; the line is rendered lazily.
    """
    f = sys._getframe(1)
    while f is not None:
        if f.f_code in _ENTRY_POINTS:
            return None
        fname = f.f_code.co_filename
        generated_init = fname == "<string>" and f.f_code.co_name == "__init__"  # dataclasses
        if not (skip_internal and (os.path.abspath(fname).startswith(_PKG_DIR)
                                   or fname in _SKIP_FILES or generated_init)):
            return SourceLoc(fname, f.f_lineno, _frame_col(f))
        f = f.f_back
    return None


def _frame_col(frame, lasti: int | None = None) -> int:
    """1-based column of the frame's current instruction (Python >= 3.11), else 0."""
    try:
        positions = list(frame.f_code.co_positions())
        pos = positions[(frame.f_lasti if lasti is None else lasti) // 2]
        return (pos[2] + 1) if pos[2] is not None else 0
    except (AttributeError, IndexError):
        return 0


def raise_location(tb) -> SourceLoc | None:
    """Where an exception was raised: the innermost traceback entry outside this package."""
    loc = None
    while tb is not None:
        f = tb.tb_frame
        if not os.path.abspath(f.f_code.co_filename).startswith(_PKG_DIR):
            loc = SourceLoc(f.f_code.co_filename, tb.tb_lineno, _frame_col(f, tb.tb_lasti))
        tb = tb.tb_next
    return loc


class PtoError(Exception):
    """Base of every error pto-wsp raises for a user mistake or a failed run."""

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str | None = None):
        self.message = message
        self.loc = loc
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.loc is not None:
            parts.append(self.loc.snippet())
        if self.hint:
            parts.append(f"help: {self.hint}")
        return "\n".join(parts)


class CompileError(PtoError):
    """Compilation failed (lowering, code generation or the C compiler). ``details``: more
    text, such as the C compiler's whole output."""

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str | None = None,
                 details: str | None = None):
        super().__init__(message, loc, hint)
        self.details = details


class TypeCheckError(CompileError):
    """A kernel, workload or layout is ill-typed (shapes, dtypes, directions, arity)."""


class IRConversionError(CompileError):
    """The IR is malformed (verifier failure) or cannot be converted."""


class UnknownNameError(TypeCheckError, AttributeError):
    """A ``pto.*`` / ``ptoisa.*`` name or a tile attribute that does not exist (also an
    ``AttributeError``, so ``hasattr`` keeps working)."""


class AxisIndexError(TypeCheckError, TypeError):
    """An index outside an axis (``validate_axis_index``; also a ``TypeError``, as the spec
    says)."""


class PtoSyntaxError(IRConversionError):
    """A ``.pto`` text does not parse."""


class ScheduleError(CompileError):
    """A schedule primitive is malformed or the target cannot honour it."""


class ExecutionError(PtoError):
    """Running a compiled program failed."""


class KernelError(ExecutionError):
    """A kernel reported failure while running; names the task."""


class DeadlockError(ExecutionError):
    """The runtime detected that no task can ever make progress."""


class WindowOverflowError(ExecutionError):
    """A task window in ABORT mode overflowed."""


class ChannelError(ExecutionError):
    """A CSP channel was misused."""


class ChannelClosed(ChannelError):
    """Send on, or receive from, a closed channel."""


class ChannelFull(ChannelError, DeadlockError):
    """A pipeline deadlock in which a process waits to send on a full channel (or for the
    receiver of a rendezvous): also a :class:`DeadlockError`."""

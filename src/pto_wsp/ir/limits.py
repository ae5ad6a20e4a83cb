"""Documented size limits of a program (docs/api.md, "Limits"), checked where the program is
built, with a located error, so that no later stage (printer, code generation, the runtime)
meets a program too deep for it."""

from __future__ import annotations

from ..errors import CompileError

MAX_NESTING = 64  # loops, branches, blocks and processes inside each other: each opens one
#                   runtime scope, and the runtime nests at most PTO_RT_MAX_SCOPE_DEPTH = 64
MAX_EXPR_DEPTH = 128  # operator nesting of one scalar expression


def nesting_error(depth: int, loc) -> CompileError:
    return CompileError(f"this is level {depth} of nested loops, branches, blocks and processes; "
                        f"the limit is {MAX_NESTING}", loc,
                        hint="flatten the loops (P.grid / several axes in one P(...)) or "
                             "split the workload")


def expr_depth_error(loc) -> CompileError:
    return CompileError(f"a scalar expression nests operators deeper than the limit of "
                        f"{MAX_EXPR_DEPTH}", loc,
                        hint="fold constants in Python first, or split the computation")


"""Everything from a user that reaches generated C goes through here: names become C
identifiers (:func:`ident`), text becomes escaped string literals (:func:`string`), values
become exact literals (:func:`scalar`), and names used in file names become one safe path
component (:func:`file_stem`). Nothing else pastes user text into C or into a path.
"""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np

from ...errors import CompileError
from ...types import DType

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while asm typeof fortran
""".split())
# object-like macros that the headers of a generated module (Python.h, libc, pto_*.h) or
# gcc's gnu11 mode define with lower-case letters in their names, or as single letters
_MACROS = frozenset("""
    bool true false complex imaginary I alignas alignof noreturn static_assert thread_local
    errno stdin stdout stderr math_errhandling unix linux i386 st_atime st_mtime st_ctime
    sched_priority L_tmpnam L_ctermid L_cuserid P_tmpdir
""".split())
_RESERVED_PREFIXES = ("pto_", "PTO_", "Py", "PY", "M_", "PRI", "SCN")
MANGLED = "u__"  # the prefix of every mangled name; no readable name contains "__"


def readable(name: str) -> bool:
    """Whether ``name`` is used in C as it is: an identifier without ``__`` or a leading
    underscore, not a keyword, macro, ``*_t`` type name or reserved prefix, with a lower-case
    letter (or a single capital) so that it cannot be one of the headers' upper-case macros."""
    return bool(_IDENT.match(name)) and "__" not in name and name not in _KEYWORDS \
        and name not in _MACROS and not name.startswith(_RESERVED_PREFIXES) \
        and not name.endswith("_t") \
        and (len(name) == 1 or name.upper() != name)


def ident(name: str) -> str:
    """The C identifier of a user name: the name itself when :func:`readable`, else
    ``u__`` + the name with ``[A-Za-z0-9]`` kept and every other character written as
    ``_<hex code point>_``. Injective: distinct names never share an identifier."""
    if readable(name):
        return name
    return MANGLED + "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_"
                             for c in name)


def string(text: str) -> str:
    """A C string literal holding ``text`` as UTF-8 (printable ASCII kept, all else octal)."""
    out = []
    for b in text.encode("utf-8", "surrogatepass"):
        c = chr(b)
        if c in '"\\?':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def file_stem(name: str) -> str:
    """One safe, bounded path component for a user name (no ``/``, ``..`` or control
    characters; long names are cut and completed by a hash)."""
    s = ident(name)
    if len(s) > 96:
        s = s[:80] + "_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:15]
    return s


_INT_RANGE = {dt: (int(np.iinfo(dt.np).min), int(np.iinfo(dt.np).max))
              for dt in DType if dt.np.kind in "iu"}


def integer(value, dt: DType = DType.I64, loc=None) -> str:
    """An exact C integer literal (``int64_t``/``uint64_t``) of ``value`` typed ``dt``.
    An i64 literal may also be a u64 bit pattern (up to 2**64-1), as Python ints are."""
    v = int(value)
    if dt is DType.BOOL:
        return "INT64_C(1)" if v else "INT64_C(0)"
    lo, hi = _INT_RANGE.get(dt, _INT_RANGE[DType.I64])
    if dt is DType.I64:
        hi = 2 ** 64 - 1
    if not lo <= v <= hi:
        raise CompileError(f"integer literal {v} does not fit {dt.value}", loc,
                           hint=f"{dt.value} holds {lo} .. {hi}")
    if v == -2 ** 63:
        return "INT64_MIN"
    if dt.np.kind == "u" or v > 2 ** 63 - 1:
        return f"UINT64_C({v})"
    return f"INT64_C({v})"


def floating(value, dt: DType = DType.F64) -> str:
    """An exact C double literal of ``value`` rounded to ``dt`` (hex float; inf/nan
    spelled out; -0.0 kept)."""
    v = float(value)
    if dt in (DType.F32, DType.F16, DType.BF16):
        with np.errstate(over="ignore"):
            v = float(np.array(v, dtype=dt.np).astype(np.float64))
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    return f"({v.hex()})"


def scalar(value, dt: DType, loc=None) -> str:
    """A C literal of a scalar of dtype ``dt``."""
    if dt.is_float:
        return floating(value, dt)
    return integer(value, dt, loc)


def header_name_ok(name: str) -> bool:
    """Whether ``name`` can stand between the quotes of ``#include "..."``."""
    return bool(name) and not any(c in '"\\<>' or ord(c) < 0x20 for c in name)

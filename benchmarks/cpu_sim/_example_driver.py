"""Run one example's main() in this (fresh) process; print a JSON line with the compile
time and whether the build cache was hit. Used by compile_times.py."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

t_start = time.perf_counter()
import pto_wsp.program as program_mod  # noqa: E402

from common import load_example  # noqa: E402

seen = []
_orig = program_mod.compile_module


def _recording(*a, **kw):
    p = _orig(*a, **kw)
    seen.append(p)
    return p


program_mod.compile_module = _recording
t_import = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    load_example(sys.argv[1]).main()
t_end = time.perf_counter()
print(json.dumps({
    "compile_ms": sum(p.stats.compile_time_ms for p in seen),
    "compiled": [bool(p.stats.compiled) for p in seen],
    "main_ms": (t_end - t_import) * 1e3,
    "import_ms": (t_import - t_start) * 1e3,
}))

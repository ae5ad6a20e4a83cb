"""Shared helpers: timing medians, machine description, example loading, table printing."""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def median(xs) -> float:
    return float(statistics.median(xs))


def timeit_ms(fn, reps: int) -> float:
    """Median wall time of ``fn()`` in ms over ``reps`` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return median(out)


def side_by_side(programs, numpy_fn, reps: int):
    """Interleaved measurement: each repetition runs every program once, then ``numpy_fn``
    (if any), so all of them see the same machine load. Returns (list of (median native
    execute ms, median run() wall ms) per program, median numpy ms or None)."""
    for p in programs:
        p.run()
    if numpy_fn is not None:
        numpy_fn()
    ex = [[] for _ in programs]
    wall = [[] for _ in programs]
    npt = []
    for _ in range(reps):
        for i, p in enumerate(programs):
            t0 = time.perf_counter()
            s = p.run()
            wall[i].append((time.perf_counter() - t0) * 1e3)
            ex[i].append(s.execute_time_ms)
        if numpy_fn is not None:
            t0 = time.perf_counter()
            numpy_fn()
            npt.append((time.perf_counter() - t0) * 1e3)
    return ([(median(e), median(w)) for e, w in zip(ex, wall)],
            median(npt) if npt else None)


def load_example(name: str):
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"pto_wsp_bench_example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def machine() -> str:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cc = os.environ.get("CC", "cc")
        ccv = subprocess.run([cc, "--version"], capture_output=True, text=True,
                             timeout=10).stdout.splitlines()[0]
    except Exception:  # noqa: BLE001 - informational only
        ccv = "?"
    import numpy as np
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"nproc={os.cpu_count()} cpu='{model}' python={platform.python_version()} "
            f"numpy={np.__version__} cc='{ccv}' loadavg(1m)={load:.2f}")


def table(title: str, header: list[str], rows: list[list]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w[i]) if i else c.ljust(w[i])  # noqa: E731
                                       for i, c in enumerate(r)) + " |"
    sep = "|" + "|".join("-" * (x + 2) for x in w) + "|"
    return "\n".join([f"### {title}", "", line(header), sep] + [line(r) for r in cells[1:]])

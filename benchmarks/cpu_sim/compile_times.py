"""(1) Cold compile (empty cache dir) and warm compile (cache hit, fresh process) per example.

Each measurement is a fresh ``python`` process running the example's ``main()``; cold runs get
a new empty ``PTO_WSP_CACHE_DIR``, warm runs reuse the cache the cold run filled. Reported:
``Program.stats.compile_time_ms`` (lowering + C generation + cc + import, or cache lookup +
import) and the whole process wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import EXAMPLES, median

HERE = Path(__file__).resolve().parent
EXAMPLE_NAMES = ["rmsnorm", "tiled_matmul", "softmax", "attention_tile", "moe_routing"]


def _run(name: str, cache: str) -> dict:
    env = dict(os.environ, PTO_WSP_CACHE_DIR=cache)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(HERE / "_example_driver.py"), name], env=env,
                       capture_output=True, text=True, timeout=300, cwd=str(HERE))
    wall = (time.perf_counter() - t0) * 1e3
    if r.returncode != 0:
        raise RuntimeError(f"example {name} failed:\n{r.stderr}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    d["wall_ms"] = wall
    return d


def run(reps: int = 3, names=None) -> list[list]:
    rows = []
    for name in names or [p for p in EXAMPLE_NAMES if (EXAMPLES / f"{p}.py").exists()]:
        cold, warm, cold_wall, warm_wall = [], [], [], []
        for _ in range(reps):
            # A warm miss means the cache key changed between the two processes (e.g. someone
            # edited a shipped runtime header meanwhile): measure the pair again.
            for _attempt in range(3):
                with tempfile.TemporaryDirectory(prefix="pto_wsp_bench_cache_") as cache:
                    c = _run(name, cache)
                    w = _run(name, cache)
                if all(c["compiled"]) and not any(w["compiled"]):
                    break
            else:
                raise RuntimeError(f"{name}: the warm run missed the cache 3 times: {c} {w}")
            cold.append(c["compile_ms"])
            warm.append(w["compile_ms"])
            cold_wall.append(c["wall_ms"])
            warm_wall.append(w["wall_ms"])
        rows.append([name, f"{median(cold):.0f}", f"{median(warm):.1f}",
                     f"{median(cold) / median(warm):.0f}x", f"{median(cold_wall):.0f}",
                     f"{median(warm_wall):.0f}"])
    return rows


HEADER = ["example", "cold compile ms", "warm compile ms", "cold/warm", "cold process ms",
          "warm process ms"]

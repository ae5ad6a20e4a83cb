#!/usr/bin/env python3
"""cpu_sim artifact benchmarks, one table per section:

  1. compile: cold compile (empty cache dir) and warm (cache hit, fresh process) per example;
  2. kernels: tile-kernel throughput vs numpy in the same run (fused rmsnorm, softmax,
     tiled f32 matmul GFLOP/s beside numpy.matmul);
  3. tasks: end-to-end task throughput (tasks/ms, execution included) for 2^16..2^20 tiny
     tasks, against the prototype lineage's ~5,000 tasks/ms (generation only);
  4. flash: flash attention (examples/flash_attention.py) beside numpy on the same shapes;
  5. plan: the task-generation plan of a LLaMA-layer-shaped workload, bytes vs tasks, and
     its interpreter's expansion speed beside the generated orchestration.

    python benchmarks/run_cpu_sim.py [--reps 3] [--sections compile,kernels,tasks,flash,plan] [--quick]

Every number is a median of --reps runs measured in this invocation; compare ratios, not
absolute times, on a shared machine. Results and commentary: docs/performance.md
("cpu_sim artifacts"). ``--quick`` uses trivially small sizes (a smoke test, not a benchmark).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "cpu_sim"))

import common  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median)")
    ap.add_argument("--sections", default="compile,kernels,tasks,flash,plan")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: check the script runs")
    args = ap.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - {"compile", "kernels", "tasks", "flash", "plan"}
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    # a private build cache unless the caller chose one (the compile section makes its own)
    if not os.environ.get("PTO_WSP_CACHE_DIR"):
        os.environ["PTO_WSP_CACHE_DIR"] = tempfile.mkdtemp(prefix="pto_wsp_bench_")
    reps = 1 if args.quick else args.reps
    t0 = time.perf_counter()
    print(f"# pto-wsp cpu_sim benchmarks, {datetime.date.today().isoformat()}")
    print(f"machine: {common.machine()}")
    print(f"reps={reps}{' (quick: tiny sizes, not a benchmark)' if args.quick else ''}")
    if "compile" in sections:
        import compile_times
        names = ["rmsnorm"] if args.quick else None
        rows = compile_times.run(reps=reps, names=names)
        print()
        print(common.table("1. compile time per example (cold: empty cache; warm: cache hit "
                           "in a fresh process)", compile_times.HEADER, rows))
    if "kernels" in sections:
        import kernels_vs_numpy
        kw = (dict(N=64, softmax_rows_n=64, mm_sizes=(64,), fast=False) if args.quick
              else {})
        rows = kernels_vs_numpy.run(reps=max(reps, 5) if not args.quick else 1, **kw)
        print()
        print(common.table("2. tile kernels vs numpy (ms, median; numpy/ours > 1 means we "
                           "are faster)", kernels_vs_numpy.HEADER, rows))
        print("\n* fast flags: PTO_WSP_OPT='" + kernels_vs_numpy.FAST_FLAGS + "' (AVX2/FMA "
              "everywhere and reassociation)")
    if "flash" in sections:
        import kernels_vs_numpy
        shapes = ((1, 1, 128, 64),) if args.quick else ((1, 8, 1024, 64), (4, 8, 2048, 64))
        rows = kernels_vs_numpy.flash_rows(shapes, reps=1 if args.quick else max(reps, 5))
        print()
        print(common.table("4. flash attention vs numpy (ms, median; numpy/ours > 1 means "
                           "we are faster)", kernels_vs_numpy.HEADER, rows))
    if "tasks" in sections:
        import task_throughput
        sizes = range(8, 10) if args.quick else range(16, 21)
        rows = task_throughput.run(reps=reps, log2_sizes=sizes)
        print()
        print(common.table("3. end-to-end task throughput (tiny 1x8 tasks, execution "
                           "included)", task_throughput.HEADER, rows))
    if "plan" in sections:
        import plan_expansion
        shapes = ((1, 2, 2),) if args.quick else ((1, 8, 4), (4, 32, 8), (4, 64, 16))
        rows = plan_expansion.run(reps=reps, shapes=shapes)
        print()
        print(common.table("5. task-generation plan of a LLaMA-shaped layer (one plan for "
                           "every shape; via runtime: Deps.explicit, kernels not executed)",
                           plan_expansion.HEADER, rows))
    print(f"\ntotal benchmark time: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

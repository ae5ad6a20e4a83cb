#!/usr/bin/env python3
"""Runtime benchmarks B1-B3 (+ memory): pto_rt beside GCC OpenMP `depend`, one table.

    python benchmarks/run_runtime.py [--repeat 7] [--threads 2] [--quick]

Ours is built through the project's cffi build cache (runtime_c/pto_rt*.c + the C drivers in
benchmarks/runtime/bench_rt.c); OpenMP programs are compiled with `gcc -O2 -fopenmp` into
benchmarks/out/. Ours and OpenMP alternate run by run (a shared VM changes speed between
runs); every number is the median of --repeat runs, with ours' range beside it, and the
header reports the cache-line round trip between two threads measured before and after
(see docs/performance.md).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

# The runtime API comes from pto_rt.h (build.runtime_cdef); these are the drivers.
BENCH_CDEF = """
double b1_chain(uint32_t threads, uint32_t deps, uint64_t n, pto_rt_stats *st);
double b2_indep(uint32_t threads, uint32_t deps, uint64_t n, uint64_t window, pto_rt_stats *st,
                double *sum_out);
double b2_reuse(uint32_t threads, uint32_t deps, uint64_t n, uint64_t ntiles, pto_rt_stats *st);
double b3_wave(uint32_t threads, uint32_t deps, uint64_t m, pto_rt_stats *st);
double mem_flat(uint32_t threads, uint64_t n, uint64_t window, long *rss);
double pingpong_ns(long n);
"""

EXACT, OVERLAP = 0, 1


def build_ours():
    from pto_wsp.backends.cpu_sim.build import build_extension, runtime_cdef
    from pto_wsp.resources import runtime_dir

    extra = {p.name: p.read_text() for p in sorted(Path(runtime_dir()).glob("pto_rt*.c"))}
    src = (HERE / "runtime" / "bench_rt.c").read_text()
    r = build_extension(runtime_cdef() + BENCH_CDEF, src, name_hint="rt_bench",
                        extra_sources=extra)
    return r.ffi, r.lib


def build_omp() -> Path:
    OUT.mkdir(exist_ok=True)
    exe = OUT / "omp_bench"
    src = HERE / "runtime" / "omp_bench.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-fopenmp", str(src), "-o", str(exe)], check=True)
    return exe


def omp(exe, which, threads, n):
    out = subprocess.run([str(exe), which, str(threads), str(n)], check=True,
                         capture_output=True, text=True, env={"OMP_WAIT_POLICY": "active",
                                                              "PATH": "/usr/bin:/bin"})
    return float(out.stdout)


def interleaved(fns, repeat):
    """Run each function once per round, `repeat` rounds; lists of results in fns order."""
    out = [[] for _ in fns]
    for _ in range(repeat):
        for k, f in enumerate(fns):
            if f is not None:
                v = f()
                if v < 0:
                    raise RuntimeError("a benchmark run failed")
                out[k].append(v)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="2^16 tasks, 256x256 wavefront")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args(argv)
    ffi, lib = build_ours()
    exe = build_omp()
    T, R = args.threads, args.repeat
    n = 1 << (16 if args.quick else 20)
    m = 256 if args.quick else 1024
    st = ffi.new("pto_rt_stats *")
    s = ffi.new("double *")
    rows = []
    pp0 = statistics.median(lib.pingpong_ns(200_000) for _ in range(3))

    def bench(name, tasks, unit, ours, ours_ov, ref):
        e, o, r = interleaved([ours, ours_ov, ref], R)
        rows.append((name, tasks, unit, e, o, r))

    bench("B1 chain", n, "ns/task", lambda: lib.b1_chain(T, EXACT, n, st),
          lambda: lib.b1_chain(T, OVERLAP, n, st), lambda: omp(exe, "b1", T, n))

    def b2(deps, w):
        def run():
            t = lib.b2_indep(T, deps, n, w, st, s)
            assert s[0] == n * (n - 1) / 2
            return t
        return run
    for w in (0, 10000, 1000):
        bench(f"B2 independent, window {'unbounded' if w == 0 else w}", n, "Mtasks/s",
              b2(EXACT, w), b2(OVERLAP, w), (lambda: omp(exe, "b2", T, n)) if w == 0 else None)
    bench("B2r same, 4096 tiles reused", n, "Mtasks/s",
          lambda: lib.b2_reuse(T, EXACT, n, 4096, st),
          lambda: lib.b2_reuse(T, OVERLAP, n, 4096, st), None)
    bench(f"B3 wavefront {m}x{m}", m * m, "Mtasks/s", lambda: lib.b3_wave(T, EXACT, m, st),
          lambda: lib.b3_wave(T, OVERLAP, m, st), lambda: omp(exe, "b3", T, m))
    pp1 = statistics.median(lib.pingpong_ns(200_000) for _ in range(3))

    print(f"# pto_rt vs GCC OpenMP depend — {T} threads, median of {R} (interleaved), "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}; "
          f"cache-line round trip {pp0:.0f} ns before, {pp1:.0f} ns after")
    hdr = (f"{'benchmark':34} {'tasks':>8} {'ours exact':>11} {'(range)':>15} "
           f"{'ours overlap':>13} {'OpenMP':>9} {'exact/OMP':>10}  unit")
    print(hdr)
    print("-" * len(hdr))

    def conv(unit, tasks, secs):
        return secs / tasks * 1e9 if unit == "ns/task" else tasks / secs / 1e6

    for name, tasks, unit, e, o, r in rows:
        fe, fo = conv(unit, tasks, statistics.median(e)), conv(unit, tasks, statistics.median(o))
        lo, hi = sorted((conv(unit, tasks, min(e)), conv(unit, tasks, max(e))))
        fr = conv(unit, tasks, statistics.median(r)) if r else None
        ratio = ((fr / fe) if unit == "ns/task" else (fe / fr)) if fr else None
        print(f"{name:34} {tasks:>8} {fe:>11.2f} {f'({lo:.2f}-{hi:.2f})':>15} {fo:>13.2f} "
              f"{(f'{fr:.2f}' if fr else '-'):>9} {(f'{ratio:.2f}x' if ratio else '-'):>10}  {unit}")
    print("(exact/OMP: speed of ours relative to OpenMP; > 1 means ours is faster)")
    if not args.skip_memory:
        rss = ffi.new("long[2]")
        nm = 10_000_000 if not args.quick else 1_000_000
        t = lib.mem_flat(T, nm, 1000, rss)
        print(f"memory: {nm} tasks, window 1000, BYTES_OVERLAP: RSS {rss[0] / 1024:.1f} MiB after "
              f"{nm // 10}, {rss[1] / 1024:.1f} MiB after {nm} ({nm / t / 1e6:.2f} Mtasks/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

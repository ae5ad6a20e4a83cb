#!/usr/bin/env python3
"""Tile-library instruction micro-benchmark: the working tree's runtime_c/pto_tile*.h against a
baseline revision's, built with the generator's flags (gcc -std=gnu11 -O2) from
tilelib_kernels.c, run alternately (``--rounds`` rounds, each a median of ``--reps``
repetitions), and reported as the median over rounds.

    python benchmarks/cpu_sim/tilelib_kernels.py [--baseline REV] [--rounds 5] [--reps 21]

The default baseline is 0c26f82 (the last revision before the vectorised row sums and exp).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(__file__).resolve().parent / "tilelib_kernels.c"


def build(include: Path, out: Path) -> None:
    subprocess.run(["gcc", "-std=gnu11", "-O2", f"-I{include}", str(SRC), "-o", str(out), "-lm"],
                   check=True)


def baseline_headers(rev: str, dest: Path) -> None:
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "runtime_c/"],
                           check=True, capture_output=True, text=True).stdout.split()
    for n in names:
        if Path(n).name.startswith("pto_tile"):
            blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{n}"], check=True,
                                  capture_output=True).stdout
            (dest / Path(n).name).write_bytes(blob)


def run(exe: Path, reps: int) -> dict[str, tuple[float, float]]:
    out = subprocess.run([str(exe), str(reps)], check=True, capture_output=True, text=True).stdout
    return {name: (float(ms), float(ns)) for name, ms, ns in (l.split() for l in out.splitlines())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="0c26f82")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=21)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tilelib_bench_") as d:
        d = Path(d)
        (d / "base").mkdir()
        baseline_headers(args.baseline, d / "base")
        build(d / "base", d / "old")
        build(ROOT / "runtime_c", d / "new")
        old, new = {}, {}
        for _ in range(args.rounds):
            for exe, acc in ((d / "old", old), (d / "new", new)):
                for k, v in run(exe, args.reps).items():
                    acc.setdefault(k, []).append(v[1])
    print(f"16 x 1024 tiles, gcc -O2, ns per element (median of {args.rounds} alternating rounds)")
    print(f"{'instruction':<20} {'baseline ' + args.baseline:>18} {'working tree':>14} {'speed-up':>9}")
    for k in new:
        o, n = statistics.median(old[k]), statistics.median(new[k])
        print(f"{k:<20} {o:>18.3f} {n:>14.3f} {o / n:>8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

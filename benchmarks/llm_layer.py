#!/usr/bin/env python3
"""Headline benchmark: a LLaMA-7B decoder layer (examples/llama_layer.py: hidden 4096, 32
heads x 128, intermediate 11008, f32, one K-loop task per 128x128 projection output block,
8x4096 RMSNorm row blocks, causal attention over a ragged triangle).

    python benchmarks/llm_layer.py [--seq 128,512] [--reps 3] [--quick]

Per sequence length: our wall time on 1 and 2 threads beside numpy float32 on the same inputs
(interleaved repetitions, medians), tasks/ms, the result checked against numpy, and the
simulated time on the A2/A3 machine (cost_model="a2a3", Machine.a2a3()) beside the roofline
of that machine, with the projections' output blocks in row-major and column-major order. Roofline and machine numbers:
docs/performance.md ("LLaMA layer"). ``--quick`` runs a tiny shape (a smoke test).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks" / "cpu_sim"), str(ROOT / "examples")]

import common  # noqa: E402
import llama_layer as layer  # noqa: E402

from pto_wsp import Machine  # noqa: E402

HBM_BYTES_PER_S = 1.6e12      # 910B-class HBM2e


WALL = ["seq", "tasks", "ours 1T", "ours 2T", "numpy f32", "ours 2T / numpy", "tasks/ms 1T",
        "tasks/ms 2T", "max rel err"]
SIM = ["seq", "roofline compute", "roofline memory", "cube work / AICs", "simulated (ij)",
       "/ roofline", "cube busy", "critical path", "simulated (ji)", "ji / ij"]


def flops(sh) -> int:
    """Matmul FLOPs of the layer (the work the tasks do; causal blocks only)."""
    S, H, F, NH, D, nb = sh.seq, sh.hidden, sh.ffn, sh.heads, sh.head_dim, sh.seq // layer.TM
    return 2 * S * H * (4 * H + 3 * F) + NH * nb * (nb + 1) // 2 * 4 * layer.TM ** 2 * D


def min_bytes(sh) -> int:
    """Least HBM traffic: weights once, each activation written once and read once."""
    S, H, F = sh.seq, sh.hidden, sh.ffn
    weights = 4 * (4 * H * H + 3 * H * F + 2 * H)
    io = 4 * S * 2 * H                        # x in, out
    inter = 2 * 4 * S * (7 * H + 3 * F)       # xn q k v attn h hn, gate up act: write + read
    return weights + io + inter


def roofline_us(sh, m: Machine) -> tuple[float, float]:
    """(compute-bound, memory-bound) time in us on machine m."""
    aic = m.num_aicpus * m.cube_lanes
    return (flops(sh) / (aic * layer.CUBE_FLOP_PER_CYCLE * m.clock_mhz),
            min_bytes(sh) / HBM_BYTES_PER_S * 1e6)


def run(seq: int, reps: int, quick: bool) -> tuple[list, list]:
    sh = (layer.Shape(seq, hidden=256, heads=2, ffn=384) if quick else layer.Shape(seq))
    w = layer.weights(sh)
    wl, out = layer.build(sh, w)
    progs = [wl.compile(num_threads=n) for n in (1, 2)]
    ref = {}

    def numpy_f32():
        ref["out"] = layer.reference(sh, w)
    (ex, ndt) = common.side_by_side(progs, numpy_f32, reps)
    err = float(np.abs(out - ref["out"]).max() / np.abs(ref["out"]).max())
    assert err < 1e-4, f"seq {seq}: result differs from numpy f32 by {err:.1e}"
    ntask = layer.task_count(sh)
    assert progs[0].stats.task_count == ntask
    wall = [e[1] for e in ex]
    rows = [[seq, f"{ntask:,}", f"{wall[0]:.0f}", f"{wall[1]:.0f}", f"{ndt:.0f}",
             f"{wall[1] / ndt:.2f}x", f"{ntask / wall[0]:.3g}", f"{ntask / wall[1]:.3g}",
             f"{err:.0e}"]]
    m = Machine.a2a3()
    comp, mem = roofline_us(sh, m)
    roof = max(comp, mem)
    sim = []
    for order in ("ij", "ji"):
        wk, _ = layer.build(sh, w, order=order)
        s = wk.compile(num_threads=2, machine=m, cost_model="a2a3").run()
        busy = sum(ln.busy_cycles for ln in s.lanes if "cube" in ln.name)
        ncube = m.num_aicpus * m.cube_lanes
        sim.append((s.total_cycles / m.clock_mhz, busy / (ncube * s.total_cycles),
                    s.critical_path / m.clock_mhz, busy / ncube / m.clock_mhz))
    simrows = [[seq, f"{comp:.0f}", f"{mem:.0f}", f"{sim[0][3]:.0f}", f"{sim[0][0]:.0f}",
                f"{sim[0][0] / roof:.2f}x", f"{sim[0][1]:.0%}", f"{sim[0][2]:.0f}",
                f"{sim[1][0]:.0f}", f"{sim[1][0] / sim[0][0]:.2f}x"]]
    print(f"seq {seq}: " + ", ".join(f"{h} {v}" for h, v in zip(WALL, rows[0])), flush=True)
    print(f"seq {seq}: " + ", ".join(f"{h} {v}" for h, v in zip(SIM, simrows[0])), flush=True)
    return rows, simrows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seq", default="128,512", help="sequence lengths (multiples of 64)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median)")
    ap.add_argument("--quick", action="store_true", help="tiny shape: check the script runs")
    args = ap.parse_args(argv)
    if not os.environ.get("PTO_WSP_CACHE_DIR"):
        os.environ["PTO_WSP_CACHE_DIR"] = tempfile.mkdtemp(prefix="pto_wsp_bench_")
    seqs = [int(s) for s in args.seq.split(",")]
    reps = 1 if args.quick else args.reps
    t0 = time.perf_counter()
    print(f"# pto-wsp LLaMA layer benchmark, {datetime.date.today().isoformat()}")
    print(f"machine: {common.machine()}")
    print(f"simulated: {Machine.a2a3()}, cost_model='a2a3'; HBM {HBM_BYTES_PER_S / 1e12} TB/s")
    rows, simrows = [], []
    for seq in seqs:
        r, sr = run(seq, reps, args.quick)
        rows += r
        simrows += sr
    print()
    print(common.table("wall time (ms, median of %d; numpy float32 on the same inputs)" % reps,
                       WALL, rows))
    print()
    print(common.table("simulated time on the A2/A3 machine (us) vs roofline", SIM, simrows))
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

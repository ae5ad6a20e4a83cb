"""Tiled f32 matmul on one thread against single-thread OpenBLAS (numpy.matmul).

C[n, n] = A @ B two ways, each run with ``num_threads=1``: in 64 x 64 tiles, one task per
(i, j, k) with a ``P.seq`` K chain (the tiled_matmul example's workload with a 64-row tile);
and one task per 128 x 128 output block whose kernel loops over K in 64-wide steps with the
accumulator resident (the LLaMA layer's projection kernel, examples/llama_layer.py). Both are
interleaved run by run with numpy.matmul in a child process started with
OPENBLAS_NUM_THREADS=1 (BLAS reads its thread count at import). Prints the medians and ours as
% of OpenBLAS.

    python benchmarks/cpu_sim/matmul_vs_blas.py [--n 1024] [--reps 7]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from statistics import median

T = 64  # tile edge; the K step of the K-loop form
BO = 128  # output block edge of the K-loop form


def measure(n: int, reps: int) -> dict:
    """Runs in the single-thread-BLAS child: medians of ours (both forms) and numpy,
    interleaved."""
    import numpy as np

    from pto_wsp import DType, Dense, In, InOut, Out, P, Tensor, Tile, kernel, pto, workload

    F32 = DType.F32

    @kernel
    def mm64(a: In[Tile[T, T, F32]], b: In[Tile[T, T, F32]], c: InOut[Tile[T, T, F32]]):
        pto.store(c, pto.matmul(a, b, acc=c))

    @kernel
    def mm_k(a: In[Tensor[BO, n, F32]], b: In[Tensor[n, BO, F32]], c: Out[Tile[BO, BO, F32]]):
        acc = pto.alloc((BO, BO), F32)
        for k in pto.range(n // T, double_buffer=True):
            acc = pto.matmul(pto.load(a, row=0, col=k * T, shape=(BO, T)),
                             pto.load(b, row=k * T, col=0, shape=(T, BO)), acc)
        pto.store(c, acc)

    rng = np.random.default_rng(n)
    A = rng.standard_normal((n, n), np.float32)
    B = rng.standard_normal((n, n), np.float32)
    C = np.zeros((n, n), np.float32)
    TA, TB, TC = Tensor(data=A, name="A"), Tensor(data=B, name="B"), Tensor(data=C, name="C")
    nt, nb = Dense[n // T], Dense[n // BO]

    @workload
    def matmul():
        for i, j in P(nt, nt):
            for k in P.seq(nt):
                mm64[i, j, k](a=TA[i * T:i * T + T, k * T:k * T + T],
                              b=TB[k * T:k * T + T, j * T:j * T + T],
                              c=TC[i * T:i * T + T, j * T:j * T + T])

    @workload
    def matmul_k():
        for i, j in P(nb, nb):
            mm_k[i, j](a=TA[i * BO:i * BO + BO, :], b=TB[:, j * BO:j * BO + BO],
                       c=TC[i * BO:i * BO + BO, j * BO:j * BO + BO])

    ref = A.astype(np.float64) @ B.astype(np.float64)
    progs = {}
    for name, w in (("seq", matmul), ("kloop", matmul_k)):
        progs[name] = w().compile(target="cpu_sim", num_threads=1)
        C[...] = 0
        progs[name].run()
        assert np.abs(C - ref).max() <= 1e-4 * np.abs(ref).max(), name
    wall: dict[str, list[float]] = {"seq": [], "kloop": [], "blas": []}
    cpu: dict[str, list[float]] = {"seq": [], "kloop": [], "blas": []}

    def timed(name, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall[name].append((time.perf_counter() - t0) * 1e3)
        cpu[name].append((time.process_time() - c0) * 1e3)
    np.matmul(A, B)
    for _ in range(reps):
        for name, prog in progs.items():
            timed(name, prog.run)
        timed("blas", lambda: np.matmul(A, B))
    out = {"blas_ms": median(wall["blas"]), "blas_cpu_ms": median(cpu["blas"])}
    for name, tasks in (("seq", (n // T) ** 3), ("kloop", (n // BO) ** 2)):
        out[name] = {"ms": median(wall[name]), "cpu_ms": median(cpu[name]), "tasks": tasks,
                     "ratios": sorted(b / o for o, b in zip(wall[name], wall["blas"]))}
    return out


def run(n: int = 1024, reps: int = 7) -> dict:
    """The measurement in a child process with one BLAS thread; returns its medians."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, __file__, "--child", "--n", str(n), "--reps", str(reps)],
                       capture_output=True, text=True, env=env, timeout=600, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def rows(n: int = 1024, reps: int = 7) -> list[list]:
    r = run(n, reps)
    gf = lambda ms: 2.0 * n ** 3 / (ms * 1e6)  # noqa: E731
    forms = {"seq": f"64x64 tiles, P.seq K chains ({r['seq']['tasks']} tasks)",
             "kloop": f"128x128 blocks, K loop in the kernel ({r['kloop']['tasks']} tasks)"}
    return [[f"matmul f32 {n}^3, {what}, 1 thread", f"{r[k]['ms']:.1f}", f"{r['blas_ms']:.1f}",
             f"{gf(r[k]['ms']):.1f} vs {gf(r['blas_ms']):.1f}",
             f"{100 * r['blas_ms'] / r[k]['ms']:.0f}% "
             f"(runs {100 * r[k]['ratios'][0]:.0f}-{100 * r[k]['ratios'][-1]:.0f}%)",
             f"{r[k]['cpu_ms']:.1f} vs {r['blas_cpu_ms']:.1f}: "
             f"{100 * r['blas_cpu_ms'] / r[k]['cpu_ms']:.0f}%"]
            for k, what in forms.items()]


# CPU time (process, both single-threaded) is what a loaded machine disturbs least
HEADER = ["kernel", "ours ms", "OpenBLAS 1 thr ms", "GFLOP/s ours vs BLAS", "% of OpenBLAS",
          "CPU ms ours vs BLAS: %"]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.n, args.reps)))
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from common import table
        print(table("tiled matmul vs single-thread OpenBLAS (median, interleaved pairs)",
                    HEADER, rows(args.n, args.reps)))

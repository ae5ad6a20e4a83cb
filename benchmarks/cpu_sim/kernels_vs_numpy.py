"""(2) Tile-kernel throughput vs numpy, measured side by side in one process.

* fused rmsnorm over a [N, 1024] f32 tensor in 16 x 1024 tiles (one task per tile: load,
  x*x, rowsum, rsqrt, row-broadcast multiply, store) vs numpy's multi-pass expression;
  with a copy kernel (load + store only: the memory floor) and a rowsum-only kernel to show
  where the time goes;
* row softmax (examples/softmax.py) vs numpy;
* flash attention (examples/flash_attention.py: a kernel looping over KV blocks with an
  online softmax) vs numpy's softmax(q k^T / sqrt(D)) v (its own section, ``flash``);
* tiled f32 matmul (examples/tiled_matmul.py, 32 x 32 tiles, P(i, j) x P.seq(k)) GFLOP/s
  beside numpy.matmul (BLAS, all cores, interleaved with ours) and numpy.matmul with BLAS
  limited to one thread (measured in a separate process); the throughput column reads
  "ours 1 thread / ours all threads vs numpy 1 thread / numpy all threads".

"ours" is ``Program.stats.execute_time_ms`` (the native run: orchestration, task graph and
kernels); "ours wall" adds the Python side of ``Program.run()`` (argument checks, marshalling).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

from common import load_example, side_by_side, timeit_ms

F32 = DType.F32
RT, RC = 16, 1024   # rmsnorm tile


@kernel
def rms_tile(x: In[Tile[RT, RC, F32]], out: Out[Tile[RT, RC, F32]]):
    inv = pto.rsqrt(pto.rowmean(pto.mul(x, x)))
    pto.store(out, pto.mul(x, inv))


@kernel
def copy_tile(x: In[Tile[RT, RC, F32]], out: Out[Tile[RT, RC, F32]]):
    pto.store(out, pto.load(x))


@kernel
def rowsum_tile(x: In[Tile[RT, RC, F32]], out: Out[Tile[RT, 1, F32]]):
    pto.store(out, pto.rowsum(x))


def _rowwise(kern, X, Y):
    n = Dense[X.shape[0] // RT]
    TX, TY = Tensor(data=X, name="X"), Tensor(data=Y, name="Y")
    if Y.shape[-1] == 1:
        @workload
        def w():
            for t in P(n):
                kern[t](x=TX[t * RT:t * RT + RT], out=TY[t])
    else:
        @workload
        def w():
            for t in P(n):
                kern[t](x=TX[t * RT:t * RT + RT], out=TY[t * RT:t * RT + RT])
    return w()


@contextmanager
def _opt(flags: str | None):
    old = os.environ.get("PTO_WSP_OPT")
    if flags is not None:
        os.environ["PTO_WSP_OPT"] = flags
    try:
        yield
    finally:
        if flags is not None:
            if old is None:
                os.environ.pop("PTO_WSP_OPT", None)
            else:
                os.environ["PTO_WSP_OPT"] = old


FAST_FLAGS = "-O3 -march=native -fassociative-math -fno-signed-zeros -fno-trapping-math"


def rmsnorm_rows(N: int, reps: int, fast: bool = True) -> list[list]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, RC), np.float32)
    Y = np.zeros_like(X)
    S = np.zeros((N // RT, RT, 1), np.float32)

    def np_rms():
        return X / np.sqrt((X * X).mean(axis=-1, keepdims=True))

    def np_rms_best():   # fewer passes: einsum for the sum of squares, in-place multiply
        inv = 1.0 / np.sqrt(np.einsum("ij,ij->i", X, X) / RC)
        np.multiply(X, inv[:, None].astype(np.float32), out=Y)

    def np_copy():
        np.copyto(Y, X)

    rows = []
    ref = np_rms()
    for label, kern, out, np_fn, flags in (
            ("copy (load+store)", copy_tile, Y, np_copy, None),
            ("rowsum only", rowsum_tile, S, None, None),
            ("rmsnorm fused", rms_tile, Y, np_rms, None),
            ("rmsnorm fused, fast flags*", rms_tile, Y, np_rms, FAST_FLAGS))[:4 if fast else 3]:
        with _opt(flags):
            w = _rowwise(kern, X, out)
            p1, pn = w.compile(num_threads=1), w.compile()
        ((e1, _), (en, wall)), np_ms = side_by_side([p1, pn], np_fn, reps)
        if kern is rms_tile:
            err = float(np.abs(Y - ref).max())
            assert err < 1e-4, (label, err)
        vs = f"{np_ms / en:.2f}x" if np_ms else "-"
        rows.append([f"{label} {N}x{RC}", f"{e1:.2f}", f"{en:.2f}", f"{wall:.2f}",
                     f"{np_ms:.2f}" if np_ms else "-", vs,
                     f"{(X.nbytes + out.nbytes) / 1e6 / en:.1f} GB/s"])
    t_np_best = timeit_ms(np_rms_best, reps)
    rows.append([f"  numpy rmsnorm, fewer passes (einsum) {N}x{RC}", "-", "-", "-",
                 f"{t_np_best:.2f}", "-", "-"])
    return rows


def softmax_rows(rows_n: int, reps: int, fast: bool = True) -> list[list]:
    ex = load_example("softmax")
    X = (np.random.default_rng(1).standard_normal((rows_n, ex.COLS)) * 4).astype(np.float32)
    Y = np.zeros_like(X)

    def np_softmax():
        e = np.exp(X - X.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    rows = []
    for flags in (None, FAST_FLAGS) if fast else (None,):
        with _opt(flags):
            w = ex.build(X, Y)
            p1, pn = w.compile(num_threads=1), w.compile()
        ((e1, _), (en, wall)), t_np = side_by_side([p1, pn], np_softmax, reps)
        np.testing.assert_allclose(Y, ex.reference(X), rtol=1e-5, atol=1e-6)
        rows.append([f"softmax {rows_n}x{ex.COLS}{', fast flags*' if flags else ''}",
                     f"{e1:.2f}", f"{en:.2f}", f"{wall:.2f}", f"{t_np:.2f}",
                     f"{t_np / en:.2f}x", f"{2 * X.nbytes / 1e6 / en:.1f} GB/s"])
    return rows


_NP_1THREAD = """
import json, statistics, sys, time
import numpy as np
out = {}
for n in map(int, sys.argv[2:]):
    a = np.random.default_rng(n).standard_normal((n, n), np.float32)
    b = np.random.default_rng(n + 1).standard_normal((n, n), np.float32)
    np.matmul(a, b)
    ts = []
    for _ in range(int(sys.argv[1])):
        t0 = time.perf_counter(); np.matmul(a, b); ts.append((time.perf_counter() - t0) * 1e3)
    out[n] = statistics.median(ts)
print(json.dumps(out))
"""


def numpy_matmul_one_thread(sizes, reps: int) -> dict[int, float]:
    """Median numpy.matmul ms with BLAS limited to one thread (a fresh process, since BLAS
    reads its thread count at import)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", _NP_1THREAD, str(reps), *map(str, sizes)],
                       capture_output=True, text=True, env=env, timeout=120, check=True)
    return {int(k): v for k, v in json.loads(r.stdout).items()}


def matmul_rows(sizes, reps: int, fast: bool = True) -> list[list]:
    ex = load_example("tiled_matmul")
    np1 = numpy_matmul_one_thread(sizes, reps)
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        A = rng.standard_normal((n, n), np.float32)
        B = rng.standard_normal((n, n), np.float32)
        C = np.zeros((n, n), np.float32)
        gf = lambda ms: 2.0 * n ** 3 / (ms * 1e6)  # noqa: E731
        # fast flags only for the middle size (enough to show the effect, keeps the run short)
        variants = (None, FAST_FLAGS) if fast and n == sizes[len(sizes) // 2] else (None,)
        for flags in variants:
            with _opt(flags):
                w = ex.build(A, B, C)
                p1, pn = w.compile(num_threads=1), w.compile()
            # C accumulates across runs: checked once at the end
            ((e1, _), (en, wall)), t_np = side_by_side([p1, pn], lambda: np.matmul(A, B),
                                                       reps)
            C[...] = 0
            pn.run()
            ref = A @ B
            assert np.abs(C - ref).max() <= 1e-3 * np.abs(ref).max()
            rows.append([f"matmul f32 {n}^3, 32x32 tiles ({(n // 32) ** 3} tasks)"
                         f"{', fast flags*' if flags else ''}", f"{e1:.2f}", f"{en:.2f}",
                         f"{wall:.2f}", f"{t_np:.2f}", f"{t_np / en:.2f}x",
                         f"{gf(e1):.1f} / {gf(en):.1f} vs {gf(np1[n]):.1f} / {gf(t_np):.1f}"
                         " GFLOP/s"])
    return rows


def flash_rows(shapes, reps: int) -> list[list]:
    """examples/flash_attention.py (one task per (batch, head, 64-row query block), a
    double-buffered loop over 64-row KV blocks) beside numpy's softmax(q k^T / sqrt(D)) v."""
    ex = load_example("flash_attention")
    rows = []
    for nb, nh, s, d in shapes:
        rng = np.random.default_rng(s)
        q, k, v = (rng.standard_normal((nb, nh, s, d), np.float32) for _ in range(3))
        out = np.zeros_like(q)
        w = ex.build(q, k, v, out, BQ=64, BK=64)
        p1, pn = w.compile(num_threads=1), w.compile()
        ((e1, _), (en, wall)), t_np = side_by_side([p1, pn], lambda: ex.reference(q, k, v),
                                                   reps)
        assert np.abs(out - ex.reference(q, k, v)).max() < 1e-4
        flops = 4.0 * nb * nh * s * s * d
        rows.append([f"flash attention B={nb} H={nh} S={s} D={d} ({nb * nh * s // 64} tasks)",
                     f"{e1:.2f}", f"{en:.2f}", f"{wall:.2f}", f"{t_np:.2f}",
                     f"{t_np / en:.2f}x", f"{flops / (en * 1e6):.1f} GFLOP/s"])
    return rows


HEADER = ["kernel", "ours 1 thr ms", "ours all thr ms", "ours wall ms", "numpy ms",
          "numpy/ours", "throughput (ours all thr)"]


def run(reps: int = 5, N: int = 4096, softmax_rows_n: int = 4096,
        mm_sizes=(256, 512, 1024), fast: bool = True) -> list[list]:
    return (rmsnorm_rows(N, reps, fast) + softmax_rows(softmax_rows_n, reps, fast)
            + matmul_rows(mm_sizes, reps, fast))

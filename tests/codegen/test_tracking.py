"""Per-tensor dependency tracking under the default deps: exact region matching where the
views provably tile the tensor, byte overlap elsewhere (docs/runtime.md, "Per-tensor
tracking"). Wrong tracking gives wrong numbers, so every test checks numbers as well."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, Deps, In, InOut, Out, P, Tensor, Tile, TracePolicy, kernel,
                     pto, slot_load_u64, slot_u64, workload)
from pto_wsp.ir import expr as irx
from pto_wsp.ir.tracking import divisor, overlap_tensors

F32 = DType.F32
R, C, B = 32, 64, 8  # tensor rows, cols; row-block height = tile side


@kernel
def rownorm(x: In[Tile[B, C, F32]], y: Out[Tile[B, C, F32]]):
    """RMSNorm-like row-block writer (kept simple: scale and shift)."""
    pto.store(y, pto.add(pto.mul(x, 2.0), 1.0))


@kernel
def tile_acc(a: In[Tile[B, B, F32]], c: InOut[Tile[B, B, F32]]):
    """Matmul-like tile reader: a non-commutative update of c from a tile of a."""
    pto.store(c, pto.add(pto.mul(c, 0.5), a))


def llama_like():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((R, C)).astype(np.float32)
    X, H = Tensor(data=x, name="X"), Tensor(data=np.zeros((R, C), np.float32), name="H")
    O = Tensor(data=np.zeros((R // B, C // B, B, B), np.float32), name="O")
    rows, ti, tj = Dense[R // B], Dense[R // B], Dense[C // B]

    @workload
    def layer():
        for r in P(rows):  # norm: 8xC row blocks of H
            rownorm[r](x=X[r * B:r * B + B], y=H[r * B:r * B + B])
        for i in P(ti):   # then BxB tiles of H, read by many tasks
            for j in P(tj):
                tile_acc[i, j](a=H[i * B:i * B + B, j * B:j * B + B], c=O[i, j])
    return layer(), x, H, O


def llama_ref(x):
    h = x * np.float32(2.0) + np.float32(1.0)
    return h.reshape(R // B, B, C // B, B).transpose(0, 2, 1, 3).copy()


def test_row_blocks_then_tiles_is_overlap_tracked_and_correct():
    """The issue's LLaMA-shaped layer: H written in row blocks, read in tiles. Exact region
    matching would miss every edge; the default tracks H by overlap (deterministic check:
    simulated cycles equal Deps.infer_bytes_overlap()'s, which include the RAW edges)."""
    w, x, H, O = llama_like()
    n = R // B * (1 + C // B)  # one simulated AICPU per task: only edges delay a task
    prog = w.compile(num_threads=2, num_aicpus=n)
    assert set(prog.overlap_tracked) == {"H"}
    assert "different shapes" in prog.overlap_tracked["H"]
    cyc = prog.run().total_cycles
    np.testing.assert_allclose(O.data, llama_ref(x), rtol=1e-6)
    assert cyc == w.task_graph(deps=Deps.infer_bytes_overlap()).compile(
        num_aicpus=n).run().total_cycles
    traced = w.task_graph(trace=TracePolicy.cycles()).compile(num_aicpus=n)
    traced.run()
    ev = {e["args"]["task"]: e for e in traced.trace()["traceEvents"]
          if e.get("ph") == "X" and e["pid"] == 1}
    for t in range(R // B, R // B + (R // B) * (C // B)):  # tile (i, j) reads norm i's rows
        norm = ev[(t - R // B) // (C // B)]
        assert ev[t]["ts"] >= norm["ts"] + norm["dur"]


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_row_blocks_then_tiles_match_numpy_on_threads(threads):
    w, x, H, O = llama_like()
    prog = w.compile(num_threads=threads)
    for _ in range(5):
        H.data[...] = 0
        O.data[...] = 0
        prog.run()
        np.testing.assert_allclose(O.data, llama_ref(x), rtol=1e-6)


def test_partitions_stay_exact():
    """Tiles with starts that are multiples of the extent, whole indexed rows, and tensors
    that no task writes keep exact matching."""
    X = Tensor(data=np.zeros((R, C), np.float32), name="X")
    Y = Tensor(data=np.zeros((48, C), np.float32), name="Y")
    O = Tensor(data=np.zeros((R // B, C // B, B, B), np.float32), name="O")
    ti, tj = Dense[R // B], Dense[C // B]

    @workload
    def tiles():
        for i in P(ti):
            for j in P(tj):
                tile_acc[i, j](a=X[i * B:i * B + B, j * B:j * B + B], c=O[i, j])
                tile_acc[i, j](a=X[i * B:(i + 1) * B, 0:B], c=O[(i + j) % 4, 1])  # read-only
                tile_acc[i, j](a=O[i, j], c=Y[(i * 2 + 4) * 4:(i * 2 + 4) * 4 + B,
                                              j * B:j * B + B])
    w = tiles()
    assert overlap_tensors(w.module) == {}
    assert w.compile().overlap_tracked == {}


def test_unaligned_or_slot_read_tensors_are_overlap_tracked():
    X = Tensor(data=np.zeros((R, C), np.float32), name="X")
    Y = Tensor(data=np.zeros((R, C), np.float32), name="Y")
    F = Tensor(data=np.zeros((4, 4, 4), np.int32), name="F")
    ti = Dense[3]

    @workload
    def shifted():
        for i in P(ti):
            tile_acc[i](a=X[0:B, 0:B], c=Y[i * 4:i * 4 + B, 0:B])  # half-overlapping tiles
            bump_flags[i](f=F[i])
            slot_load_u64(0, F[0], 1, 1)
    got = overlap_tensors(shifted().module)
    assert set(got) == {"Y", "F"}
    assert "may not tile" in got["Y"] and "slot_load_u64" in got["F"]


@kernel
def bump_flags(f: InOut[Tile[4, 4, DType.I32]]):
    pto.store(f, pto.add(f, 1))


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_slot_load_waits_for_the_writer_of_the_whole_tile(threads):
    """Item: slot_load_u64 of one element waits for a kernel that wrote the whole tile, so
    the P.when branch sees the new value (was: only a writer of the identical 1x1 region)."""
    F = Tensor(data=np.zeros((4, 4), np.int32), name="F")
    x = np.arange(C, dtype=np.float32).reshape(1, C).repeat(B, 0)
    X, Y = Tensor(data=x, name="X"), Tensor(data=np.zeros((B, C), np.float32), name="Y")
    steps = Dense[6]

    @workload
    def flagged():
        for s in P.seq(steps):
            bump_flags[s](f=F)
            slot_load_u64(0, F, 2, 3)
            with P.when(slot_u64(0) % 2 == 1):
                rownorm[s](x=X, y=Y)  # Y = 2x + 1 on odd counts
            with P.otherwise():
                rownorm[s](x=Y, y=Y)  # Y = 2Y + 1 on even counts
    prog = flagged().compile(num_threads=threads)
    assert "F" in prog.overlap_tracked
    for _ in range(10):
        F.data[...] = 0
        Y.data[...] = 0
        prog.run()
        assert (F.data == 6).all() and prog.slots[0] == 6
        y = x.copy()
        for k in range(1, 7):
            y = (x if k % 2 else y) * np.float32(2) + np.float32(1)
        np.testing.assert_array_equal(Y.data, y)


def test_divisor_of_index_expressions():
    i, j = irx.Var("i"), irx.Var("j")
    c = irx.Const
    assert divisor(irx.Binary("mul", i, c(8))) == 8
    assert divisor(irx.Binary("add", irx.Binary("mul", i, c(16)), irx.Binary("mul", j, c(24)))) == 8
    assert divisor(irx.Binary("add", irx.Binary("mul", i, c(8)), c(4))) == 4
    assert divisor(irx.Binary("shl", i, c(3))) == 8
    assert divisor(c(0)) == 0  # zero is a multiple of everything
    assert divisor(irx.Binary("floordiv", i, c(2))) == 1
    u = irx.Symbol("s", DType.U64)  # unsigned arithmetic wraps: only powers of two survive
    assert divisor(irx.Binary("mul", u, c(24, DType.U64))) == 8


def test_self_overlapping_output_view_is_overlap_tracked():
    """as_strided rows that overlap in memory: the default deps switch the tensor to overlap
    tracking at bind time, so runs equal the sequential order (was 49/200 wrong runs)."""
    base = np.zeros(256 * 4 + 64, np.float32)
    y = np.lib.stride_tricks.as_strided(base, (256, 2, 8), (16, 32, 4))
    src = np.random.default_rng(5).standard_normal((256, 2, 8)).astype(np.float32)
    X, Y = Tensor(data=src, name="X"), Tensor(data=y, name="Y")
    n = Dense[256]

    @kernel
    def acc(x: In[Tile[2, 8, F32]], y: InOut[Tile[2, 8, F32]]):
        pto.store(y, pto.add(pto.mul(y, 0.5), x))

    @workload
    def overlapping():
        for i in P(n):
            acc[i](x=X[i], y=Y[i])
    ref_base = base.copy()
    ref = np.lib.stride_tricks.as_strided(ref_base, (256, 2, 8), (16, 32, 4))
    for i in range(256):
        ref[i] = ref[i] * np.float32(0.5) + src[i]
    prog = overlapping().compile(num_threads=4)
    for _ in range(20):
        base[...] = 0
        prog.run()
        np.testing.assert_array_equal(base, ref_base)
    assert list(prog.overlap_tracked) == ["Y"] and "elements overlap" in prog.overlap_tracked["Y"]

"""Differential test: random workloads on cpu_sim vs a sequential Python interpreter of the IR.

Kernels accumulate into InOut tiles with a non-commutative update, so any dependency the
runtime misses, or any index the orchestration computes wrongly, changes the numbers. Loops
mix P/P.seq/ragged/sparse rows, P.when chains over loop variables, symbols and slots; indices
are affine expressions reduced modulo the dimension (Python semantics, as compiled).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from pto_wsp import (DType, Dense, DenseDyn, Deps, In, InOut, P, Ragged, Sparse, Tensor, Tile,
                     kernel, pto, slot_set_u64, slot_u64, symbol_u64, workload)
from pto_wsp.ir import expr as irx
from pto_wsp.ir import nodes as ir

F32 = DType.F32
ROWS, COLS = 2, 8


@kernel
def mix(x: In[Tile[ROWS, COLS, F32]], y: InOut[Tile[ROWS, COLS, F32]]):
    pto.store(y, pto.add(pto.mul(y, 0.5), x))


# ---------------------------------------------------------------- reference interpreter


class Ref:
    def __init__(self, m: ir.Module, arrays, axes, symbols):
        self.m, self.arrays, self.axes, self.symbols = m, arrays, axes, symbols
        self.slots = [0] * 64

    def ev(self, e, env):
        if isinstance(e, irx.Const):
            return e.value
        if isinstance(e, irx.Var):
            return env[e.name]
        if isinstance(e, irx.Symbol):
            return self.symbols[e.name]
        if isinstance(e, irx.Slot):
            return self.slots[e.index]
        if isinstance(e, irx.Binary):
            a, b = self.ev(e.lhs, env), self.ev(e.rhs, env)
            return {"add": a + b, "sub": a - b, "mul": a * b, "mod": a % b if b else None,
                    "floordiv": a // b if b else None, "lt": int(a < b), "le": int(a <= b),
                    "gt": int(a > b), "ge": int(a >= b), "eq": int(a == b), "ne": int(a != b),
                    "and": a & b, "or": a | b, "xor": a ^ b, "land": int(bool(a) and bool(b)),
                    "lor": int(bool(a) or bool(b)), "min": min(a, b), "max": max(a, b)}[e.op]
        raise AssertionError(e)

    def run(self, body, env):
        for s in body:
            if isinstance(s, ir.For):
                a = self.m.axis(s.domain.axis)
                if a.kind in ("dense", "dense_dyn"):
                    vals = range(self.axes.get(a.name, a.size))
                elif a.kind == "ragged":
                    vals = range(self.axes[a.name][self.ev(s.domain.outer, env)])
                else:
                    ip, ix = self.axes[a.name]
                    o = self.ev(s.domain.outer, env)
                    vals = ix[ip[o]:ip[o + 1]]
                for v in vals:
                    self.run(s.body, {**env, s.var: int(v)})
            elif isinstance(s, ir.When):
                for cond, b in s.branches:
                    if self.ev(cond, env):
                        self.run(b, env)
                        break
                else:
                    if s.otherwise:
                        self.run(s.otherwise, env)
            elif isinstance(s, ir.SlotSet):
                self.slots[s.slot] = self.ev(s.value, env) & (2**64 - 1)
            elif isinstance(s, ir.Call):
                args = {n: self.view(a, env) for n, a in s.args}
                args["y"][...] = args["y"] * np.float32(0.5) + args["x"]
            else:
                raise AssertionError(s)

    def view(self, v, env):
        arr = self.arrays[v.tensor]
        idx = tuple(self.ev(it.expr, env) if isinstance(it, ir.Index) else
                    slice(self.ev(it.start, env), self.ev(it.start, env) + it.size * it.step,
                          it.step) for it in v.items)
        return arr[idx]


# ---------------------------------------------------------------- random workloads


def gen_workload(seed: int):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    A = Tensor(data=nrng.standard_normal((6, 3, ROWS, COLS)).astype(np.float32), name="A")
    B = Tensor(data=np.zeros((5, 4, ROWS, COLS), np.float32), name="B")
    d4, d3 = Dense[4], Dense[3]
    dyn = DenseDyn(rng.randint(1, 5), name="dyn")
    rag = Ragged(d3, [rng.randint(0, 3) for _ in range(3)], name="rag")
    indptr = [0]
    indices = []
    for _ in range(3):
        k = rng.randint(0, 3)
        indices += rng.sample(range(6), k)
        indptr.append(len(indices))
    sp = Sparse(d3, indptr, indices, name="sp")
    cut = symbol_u64("cut")

    def idx(vars_, dim):
        if not vars_ or rng.random() < 0.2:
            return rng.randrange(dim)
        e = 0
        for v in rng.sample(vars_, rng.randint(1, len(vars_))):
            e = e + rng.randint(1, 3) * v
        return (e + rng.randint(0, 5)) % dim

    def emit_call(vars_):
        x = A[idx(vars_, 6), idx(vars_, 3)]
        y = B[idx(vars_, 5), idx(vars_, 4)]
        mix(x=x, y=y)

    def block(vars_, depth):
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if depth >= 3 or r < 0.3:
                emit_call(vars_)
            elif r < 0.45:
                for i in P(d4, names=f"v{depth}a"):
                    block(vars_ + [i], depth + 1)
            elif r < 0.6:
                for i in P.seq(dyn, names=f"v{depth}b"):
                    block(vars_ + [i], depth + 1)
            elif r < 0.7:
                for o in P(d3, names=f"v{depth}c"):
                    for i in P(rag[o], names=f"v{depth}d"):
                        block(vars_ + [o, i], depth + 1)
            elif r < 0.8:
                for o in P(d3, names=f"v{depth}e"):
                    for e in P.sel(sp[o], names=f"v{depth}f"):
                        block(vars_ + [o, e], depth + 1)
            elif r < 0.9 and vars_:
                v = rng.choice(vars_)
                with P.when(v % 2 == 0):
                    block(vars_, depth + 1)
                with P.when(v < cut):
                    block(vars_, depth + 1)
                with P.otherwise():
                    emit_call(vars_)
            else:
                slot_set_u64(rng.randrange(4), rng.randint(0, 3))
                with P.when(slot_u64(rng.randrange(4)) > 1):
                    emit_call(vars_)

    @workload
    def random_workload():
        block([], 0)
    w = random_workload()
    axes = {"dyn": dyn.size, "rag": list(rag.lengths), "sp": (indptr, indices)}
    return w, A, B, axes, rng.randint(0, 4)


@pytest.mark.parametrize("seed", range(12))
def test_random_workload_matches_sequential_reference(seed):
    w, A, B, axes, cut = gen_workload(seed)
    ref_b = B.data.copy()
    Ref(w.module, {"A": A.data, "B": ref_b}, axes, {"cut": cut}).run(
        w.module.workload.body, {})
    for threads in (1, 2):
        B.data[...] = 0
        prog = w.compile(num_threads=threads)
        if w.module.symbols:
            prog.set_symbol_u64("cut", cut)
        stats = prog.run()
        np.testing.assert_array_equal(B.data, ref_b)
        if threads == 1:
            cycles = stats.total_cycles
        else:
            assert stats.total_cycles == cycles


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("deps", [Deps.infer_bytes_overlap(), Deps.hybrid()],
                         ids=["bytes_overlap", "hybrid"])
def test_other_dependency_modes_keep_program_order(seed, deps):
    w, A, B, axes, cut = gen_workload(seed)
    ref_b = B.data.copy()
    Ref(w.module, {"A": A.data, "B": ref_b}, axes, {"cut": cut}).run(
        w.module.workload.body, {})
    prog = w.task_graph(deps=deps).compile(num_threads=2)
    if w.module.symbols:
        prog.set_symbol_u64("cut", cut)
    prog.run()
    np.testing.assert_array_equal(B.data, ref_b)


@kernel
def mix_row(x: In[Tile[1, 8, F32]], y: InOut[Tile[1, 8, F32]]):
    pto.store(y, pto.add(pto.mul(y, 0.5), x))


@pytest.mark.parametrize("threads", [1, 2])
def test_aliased_transposed_views_are_ordered_by_byte_overlap(threads):
    """Rows of M and rows of MT (= columns of M, the same memory) are updated alternately:
    only exact byte-overlap tracking orders these tasks correctly."""
    rng = np.random.default_rng(7)
    base = np.zeros((8, 8), np.float32)
    src = rng.standard_normal((16, 8)).astype(np.float32)
    M = Tensor(data=base, name="M")
    MT = Tensor(data=base.T, name="MT")
    S = Tensor(data=src, name="S")
    n = Dense[8]

    @workload
    def crosswise():
        for i in P(n):
            mix_row[i](x=S[i], y=M[i])
            mix_row[i](x=S[i + 8], y=MT[(i * 3) % 8])
    ref = np.zeros((8, 8), np.float32)
    for i in range(8):
        ref[i] = ref[i] * np.float32(0.5) + src[i]
        j = (i * 3) % 8
        ref[:, j] = ref[:, j] * np.float32(0.5) + src[i + 8]
    prog = crosswise().task_graph(deps=Deps.infer_bytes_overlap()).compile(num_threads=threads)
    prog.run()
    np.testing.assert_array_equal(base, ref)


# ---------------------------------------------------------------- mixed tilings


@kernel
def mix_wide(x: In[Tile[1, 16, F32]], y: InOut[Tile[1, 16, F32]]):
    pto.store(y, pto.add(pto.mul(y, 0.5), x))


@kernel
def mix_sq(x: In[Tile[4, 4, F32]], y: InOut[Tile[4, 4, F32]]):
    pto.store(y, pto.add(pto.mul(y, 0.5), x))


def gen_tiling_workload(seed: int):
    """Tasks update B through different tilings of the same memory: 2x8 blocks (aligned,
    unaligned, every other row), 4x4 squares, whole rows, and whole columns (rows of BT, a
    transposed array over B's memory); inputs are tiles of A or of B itself."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    b = np.zeros((16, 16), np.float32)
    A = Tensor(data=nrng.standard_normal((16, 16)).astype(np.float32), name="A")
    B, BT = Tensor(data=b, name="B"), Tensor(data=b.T, name="BT")
    dims = {2: Dense[2], 3: Dense[3], 4: Dense[4]}

    def start(vars_, limit, align):
        """An affine start in [0, limit]; a multiple of align when align > 1."""
        q, e, hi = limit // align, 0, 0
        for v, n in vars_:
            if rng.random() < 0.7 and (q - hi) >= n - 1:
                c = rng.randint(0, (q - hi) // (n - 1))
                e, hi = e + c * v, hi + c * (n - 1)
        e = e + rng.randint(0, q - hi)
        return e * align if align > 1 else e

    def tile(T, vars_, shape, step=1):
        (h, w), al = shape, rng.random() < 0.5
        r = start(vars_, 16 - (h - 1) * step - 1, h * step if al else 1)
        c = start(vars_, 16 - w, w if al else 1)
        return T[r:r + (h - 1) * step + 1:step, c:c + w]

    def row(T, vars_):
        e = rng.randrange(16)
        for v, _ in vars_:
            e = e + rng.randint(0, 5) * v
        return T[e % 16]

    def emit(vars_):
        src = B if rng.random() < 0.3 else A
        kind = rng.choice(["blk", "sq", "strided", "row", "col"])
        if kind in ("row", "col"):
            x = row(src if src is A or rng.random() < 0.5 else BT, vars_)
            mix_wide(x=x, y=row(B if kind == "row" else BT, vars_))
        elif kind == "sq":
            mix_sq(x=tile(src, vars_, (4, 4)), y=tile(B, vars_, (4, 4)))
        else:
            step = 2 if kind == "strided" else 1
            mix(x=tile(src, vars_, (2, 8)), y=tile(B, vars_, (2, 8), step))

    def block(vars_, depth):
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if depth >= 2 or r < 0.4:
                emit(vars_)
            else:
                n = rng.choice([2, 3, 4])
                loop = P.seq if r < 0.6 else P
                for i in loop(dims[n], names=f"t{depth}{rng.randrange(10**6)}"):
                    block(vars_ + [(i, n)], depth + 1)

    @workload
    def tilings():
        block([], 0)
    return tilings(), A, B, b


@pytest.mark.parametrize("seed", range(10))
def test_mixed_tilings_of_one_tensor_match_sequential_reference(seed):
    """Default deps (per-tensor tracking): every thread count equals the sequential order."""
    w, A, B, b = gen_tiling_workload(seed)
    ref = np.zeros_like(b)
    Ref(w.module, {"A": A.data, "B": ref, "BT": ref.T}, {}, {}).run(w.module.workload.body, {})
    cycles = None
    for threads in (1, 2, 3, 4):
        b[...] = 0
        stats = w.compile(num_threads=threads).run()
        np.testing.assert_array_equal(b, ref)
        assert cycles is None or stats.total_cycles == cycles
        cycles = stats.total_cycles

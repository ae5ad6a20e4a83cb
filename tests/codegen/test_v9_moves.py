"""The v9 cost model's implicit TMOVs (docs/tile-library.md, "Model 0"): rows x cols cycles
when a matmul result is read by a vector op, and per computed (not loaded) matmul operand.
The A2/A3 model has none; it charges the GM round trips of the cube/vector split instead. Every expected number is derived by hand from the documented
formulas; one task per AICPU chain (round_robin(1)) makes the total a plain sum."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import DType, Dense, DispatchPolicy, In, InOut, Out, P, Tensor, Tile, kernel, pto, workload

F32 = DType.F32
T16 = Tile[16, 16, F32]


@kernel
def gemm_add(a: In[T16], b: In[T16], c: InOut[T16]):
    pto.store(c, pto.add(c, pto.matmul(a, b)))


def _bgemm(grid: int = 7):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((grid, 16, 16)).astype(np.float32)
    B = rng.standard_normal((grid, 16, 16)).astype(np.float32)
    C = rng.standard_normal((grid, grid, 16, 16)).astype(np.float32)
    TA, TB, TC = Tensor(data=A, name="A"), Tensor(data=B, name="B"), Tensor(data=C.copy(), name="C")
    mi, nj = Dense[grid], Dense[grid]

    @workload
    def bgemm():
        for i, j in P(mi, nj):
            gemm_add[i, j](a=TA[i], b=TB[j], c=TC[i, j])
    want = C + np.einsum("imk,jkn->ijmn", A.astype(np.float64), B.astype(np.float64))
    return bgemm().dispatch(DispatchPolicy.round_robin(1)), TC, want


def test_bgemm_shaped_program_reproduces_the_prototype():
    """Per task: TLOAD a, b, c 3 * 256 + TMATMUL 16^3 = 4096 + TMOV of the result read by
    TADD 256 + TADD 256 + TSTORE 256 = 5632 (5376 without the move); 7 x 7 tasks on one
    AICPU: 49 * 5632 = 275,968, the prototype's count."""
    w, TC, want = _bgemm()
    for v9 in (True, False):
        TC.data[:] = _bgemm()[1].data
        assert w.compile(v9_compat=v9).run().total_cycles == 49 * 5632 == 275_968
        np.testing.assert_allclose(TC.data, want, rtol=1e-4, atol=1e-4)


def test_a2a3_model_charges_the_split_round_trip():
    """A2/A3, f32 16x16 (1 KiB): TLOAD ceil(1024 * 1.85e9 / (100.9 * 2^30)) = 18, three of
    them 54; TMATMUL 6 + 2 * 1 * 2 * 1 = 10; TADD round(2.11 * 4) + 24 + 16 = 48; TSTORE
    ceil(1024 * 1.85e9 / (188.5 * 2^30)) = 10: 122; no implicit moves, but the matmul result
    crosses from the cube part to the vector part through the GM workspace: TSTORE 10 + TLOAD
    18. 150 per task, 49 * 150 = 7350."""
    w, _, _ = _bgemm()
    assert w.compile(cost_model="a2a3", v9_compat=True).run().total_cycles == 49 * 150


@kernel
def chain(a: In[T16], b: In[T16], out: Out[T16], acc: InOut[T16]):
    ab = pto.matmul(a, b)              # read by a matmul and stored: no result move
    pto.store(out, ab)
    h = pto.relu(a)                    # computed
    hh = pto.matmul(h, h)              # two computed operands: two moves
    r = pto.matmul(ab, b, acc=hh)      # computed operand ab: one move; acc hh: none
    pto.store(acc, pto.add(acc, r))    # result read by TADD: one move


def test_move_rules_per_operand_and_result():
    """TLOAD a, b, acc 3 * 256; TMATMUL x3 3 * 4096; TRELU 256; TADD 256; TSTORE x2 2 * 256;
    moves: h twice, ab once, r once = 4 * 256. v9: 768 + 12288 + 256 + 256 + 512 + 1024 =
    15104 (14080 without moves)."""
    rng = np.random.default_rng(1)
    a, b, acc = (rng.standard_normal((16, 16)).astype(np.float32) for _ in range(3))
    out = np.zeros_like(a)
    ta, tb, to, tacc = (Tensor(data=x, name=n) for x, n in
                        ((a, "a"), (b, "b"), (out, "o"), (acc.copy(), "acc")))

    @workload
    def one():
        for i in P(Dense[1]):
            chain[i](a=ta, b=tb, out=to, acc=tacc)
    assert one().compile(v9_compat=True).run().total_cycles == 15104
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    h = np.maximum(a64, 0)
    np.testing.assert_allclose(out, a64 @ b64, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tacc.data, acc + h @ h + (a64 @ b64) @ b64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cost_model", ["v9", "a2a3"])
def test_store_only_matmul_has_no_move(cost_model):
    """tiled_matmul's kernel shape: loaded operands, the accumulator result only stored."""
    @kernel
    def mm(a: In[T16], b: In[T16], c: InOut[T16]):
        pto.store(c, pto.matmul(a, b, acc=c))
    x = np.ones((16, 16), np.float32)
    ta, tc = Tensor(data=x, name="a"), Tensor(data=x.copy(), name="c")

    @workload
    def w():
        for i in P(Dense[1]):
            mm[i](a=ta, b=ta, c=tc)
    # v9: 3 * 256 + 4096 + 256; A2/A3: 3 * 18 + 10 + 10
    want = {"v9": 5120, "a2a3": 74}[cost_model]
    assert w().compile(cost_model=cost_model).run().total_cycles == want

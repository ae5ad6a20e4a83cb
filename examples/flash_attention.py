"""Flash attention: one task per (batch, head, query block), looping over KV blocks.

Each task keeps its query block, a running row max ``m``, a running row sum ``l`` and the
output accumulator ``o`` in on-chip tiles; per KV block it loads K^T and V tiles at the
block's offset (double-buffered), and rescales with the online softmax. Checked against
numpy softmax(Q K^T / sqrt(D)) V (docs/kernels.md).
"""

import math

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

B, H, S, D, BQ, BK = 2, 2, 128, 64, 32, 32
F32 = DType.F32


def make_kernel(S: int, D: int, BQ: int, BK: int):
    """The kernel of one (batch, head, query block) for sequence length S, head size D."""
    @kernel
    def flash_block(q: In[Tile[BQ, D, F32]], kt: In[Tensor[D, S, F32]],
                    v: In[Tensor[S, D, F32]], o: Out[Tile[BQ, D, F32]]):
        qs = pto.mul(q, 1.0 / math.sqrt(D))
        m = pto.broadcast(pto.constant(-math.inf, F32), (BQ, 1))
        l = pto.alloc((BQ, 1), F32)
        acc = pto.alloc((BQ, D), F32)
        for j in pto.range(S // BK, double_buffer=True):
            k_t = pto.load(kt, row=0, col=j * BK, shape=(D, BK))
            v_t = pto.load(v, row=j * BK, col=0, shape=(BK, D))
            s = pto.matmul(qs, k_t)
            m_new = pto.maximum(m, pto.rowmax(s))
            p = pto.exp(s - m_new)
            alpha = pto.exp(m - m_new)
            l = l * alpha + pto.rowsum(p)
            acc = acc * alpha + pto.matmul(p, v_t)
            m = m_new
        pto.store(o, acc / l)
    return flash_block


def build(q, k, v, out, BQ: int = BQ, BK: int = BK):
    """The workload over numpy q, k, v [B, H, S, D] writing ``out`` [B, H, S, D]."""
    nb, nh, s, d = q.shape
    flash_block = make_kernel(s, d, BQ, BK)
    Q = Tensor(data=q.reshape(nb, nh, s // BQ, BQ, d))
    KT = Tensor(data=k.transpose(0, 1, 3, 2))  # a transposed view, zero-copy
    V, O = Tensor(data=v), Tensor(data=out.reshape(nb, nh, s // BQ, BQ, d))
    batch, heads, qblocks = Dense[nb], Dense[nh], Dense[s // BQ]

    @workload
    def flash_attention():
        for b, h, i in P(batch, heads, qblocks):
            flash_block[b, h, i](q=Q[b][h][i], kt=KT[b][h], v=V[b][h], o=O[b][h][i])
    return flash_attention()


def reference(q, k, v):
    """softmax(q k^T / sqrt(D)) v in numpy."""
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1])
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def main(cost_model: str = "a2a3") -> None:
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((B, H, S, D), np.float32) for _ in range(3))
    out = np.zeros((B, H, S, D), np.float32)
    program = build(q, k, v, out).compile(target="cpu_sim", cost_model=cost_model)
    program.execute()
    program.synchronize()
    err = float(np.abs(out - reference(q, k, v)).max())
    s = program.stats
    print(f"flash attention B={B} H={H} S={S} D={D}: tasks={s.task_count} "
          f"total_cycles={s.total_cycles} max_abs_err={err:.2e}")
    assert err < 1e-4, err


if __name__ == "__main__":
    main()

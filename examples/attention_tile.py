"""One attention tile per (batch, head): O = softmax(Q K^T * scale) V.

Q, K, V are [batch, heads, S, D] f32. The kernel needs K^T as a [D, S] tile; instead of
copying, the workload is given ``K.transpose(0, 1, 3, 2)`` -- a numpy *view* -- which is
passed zero-copy and loaded through its strides. Inside the kernel: a matmul, a scale, a row
softmax (rowmax / exp / rowsum with implicit row broadcasting) and a second matmul.
"""

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

S, D = 64, 32            # sequence tile, head dim
SCALE = 1.0 / np.sqrt(D)
F32 = DType.F32


@kernel
def attn_tile(q: In[Tile[S, D, F32]], kt: In[Tile[D, S, F32]], v: In[Tile[S, D, F32]],
              o: Out[Tile[S, D, F32]]):
    s = pto.mul(pto.matmul(q, kt), float(SCALE))     # [S, S]
    e = pto.exp(pto.sub(s, pto.rowmax(s)))
    p = pto.div(e, pto.rowsum(e))
    pto.store(o, pto.matmul(p, v))


def build(Q: np.ndarray, K: np.ndarray, V: np.ndarray, O: np.ndarray):
    """Attention workload over [batch, heads, S, D] arrays; K^T is a zero-copy view of K."""
    batch, heads = Q.shape[:2]
    KT = K.transpose(0, 1, 3, 2)  # [batch, heads, D, S], non-contiguous
    TQ, TKT, TV, TO = (Tensor(data=a, name=n) for a, n in
                       ((Q, "Q"), (KT, "KT"), (V, "V"), (O, "O")))
    b_ax, h_ax = Dense[batch], Dense[heads]

    @workload
    def attention():
        for b, h in P(b_ax, h_ax):
            attn_tile[b, h](q=TQ[b, h], kt=TKT[b, h], v=TV[b, h], o=TO[b, h])
    return attention()


def reference(Q, K, V):
    q, k, v = (a.astype(np.float64) for a in (Q, K, V))
    s = q @ k.transpose(0, 1, 3, 2) * SCALE
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ v


def main(batch: int = 4, heads: int = 8) -> None:
    rng = np.random.default_rng(0)
    Q, K, V = (rng.standard_normal((batch, heads, S, D), np.float32) for _ in range(3))
    O = np.zeros_like(Q)
    program = build(Q, K, V, O).compile(target="cpu_sim")
    s = program.run()
    ref = reference(Q, K, V)
    err = float(np.abs(O - ref).max())
    print(f"attention_tile b={batch} h={heads} S={S} D={D}: tasks={s.task_count} "
          f"total_cycles={s.total_cycles} max_abs_err={err:.1e} "
          f"compile={s.compile_time_ms:.0f}ms execute={s.execute_time_ms:.2f}ms")
    assert s.task_count == batch * heads
    assert err < 1e-5, err


if __name__ == "__main__":
    main()

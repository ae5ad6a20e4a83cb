"""Sparse mixture-of-experts routing: each token block runs only its selected experts.

Tokens X [blocks, 16, H] are routed (top-k by a gate, computed in numpy here) to a few of E
experts. The routing is a CSR structure ``Sparse(blocks, indptr, indices)``; ``P.sel`` visits
only the selected (block, expert) pairs, one task each:

    Y[blk] += gate[blk, e] * (relu(X[blk] @ W1[e]) @ W2[e])

The gate weights arrive as a [16, 1] tile per (block, expert) and multiply with implicit
row broadcasting. Several experts accumulate into the same Y tile (``InOut``); the runtime
orders them through the inferred read/write dependencies. The routing arrays are runtime
inputs: ``program.set_axis_data("routing", indptr=..., indices=...)`` re-routes without a
rebuild.
"""

import numpy as np

from pto_wsp import (DType, Dense, In, InOut, P, Sparse, Tensor, Tile, kernel, pto,
                     workload)

BT, H, F = 16, 64, 64   # tokens per block, hidden, expert ffn width
F32 = DType.F32


@kernel
def expert_ffn(x: In[Tile[BT, H, F32]], w1: In[Tile[H, F, F32]], w2: In[Tile[F, H, F32]],
               g: In[Tile[BT, 1, F32]], y: InOut[Tile[BT, H, F32]]):
    h = pto.relu(pto.matmul(x, w1))
    out = pto.mul(pto.matmul(h, w2), g)   # [BT, H] * [BT, 1]: row broadcast
    pto.store(y, pto.add(y, out))


def route(gates: np.ndarray, top_k: int):
    """Top-k experts per token block -> CSR (indptr, indices) and dense gate weights."""
    blocks, E = gates.shape[0], gates.shape[2]
    score = gates.mean(axis=1)                       # [blocks, E]
    chosen = np.sort(np.argsort(-score, axis=1)[:, :top_k], axis=1)
    indptr = np.arange(0, blocks * top_k + 1, top_k)
    return indptr, chosen.reshape(-1)


def build(X, W1, W2, G, Y, indptr, indices):
    """MoE workload. X, Y [blocks, BT, H]; W1 [E, H, F]; W2 [E, F, H]; G [blocks, E, BT, 1]."""
    blocks = X.shape[0]
    TX, TW1, TW2, TG, TY = (Tensor(data=a, name=n) for a, n in
                            ((X, "X"), (W1, "W1"), (W2, "W2"), (G, "G"), (Y, "Y")))
    blk = Dense[blocks]
    routing = Sparse(blk, indptr, indices, name="routing")

    @workload
    def moe():
        for b in P(blk):
            for e in P.sel(routing[b]):
                expert_ffn[b, e](x=TX[b], w1=TW1[e], w2=TW2[e], g=TG[b, e], y=TY[b])
    return moe()


def reference(X, W1, W2, G, indptr, indices):
    x, w1, w2, g = (a.astype(np.float64) for a in (X, W1, W2, G))
    y = np.zeros(X.shape)
    for b in range(X.shape[0]):
        for e in indices[indptr[b]:indptr[b + 1]]:
            y[b] += g[b, e] * (np.maximum(x[b] @ w1[e], 0) @ w2[e])
    return y


def main(blocks: int = 32, experts: int = 8, top_k: int = 2) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((blocks, BT, H), np.float32)
    W1 = (rng.standard_normal((experts, H, F)) / np.sqrt(H)).astype(np.float32)
    W2 = (rng.standard_normal((experts, F, H)) / np.sqrt(F)).astype(np.float32)
    logits = rng.standard_normal((blocks, BT, experts)).astype(np.float32)
    gates = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)     # [blocks, BT, E]
    G = gates.transpose(0, 2, 1)[..., None]     # [blocks, E, BT, 1] strided view, zero-copy
    Y = np.zeros_like(X)
    indptr, indices = route(gates, top_k)
    program = build(X, W1, W2, G, Y, indptr, indices).compile(target="cpu_sim")
    s = program.run()
    # program.stats is one object, updated by the next run: keep what we print
    tasks, cycles, ms = s.task_count, s.total_cycles, s.execute_time_ms
    err = float(np.abs(Y - reference(X, W1, W2, G, indptr, indices)).max())
    assert tasks == blocks * top_k
    assert err < 1e-4, err
    # re-route every block to expert (b % E) alone: same artifact, new CSR arrays
    indptr2, indices2 = np.arange(blocks + 1), np.arange(blocks) % experts
    program.set_axis_data("routing", indptr=indptr2, indices=indices2)
    Y[...] = 0
    s2 = program.run()
    err2 = float(np.abs(Y - reference(X, W1, W2, G, indptr2, indices2)).max())
    assert s2.task_count == blocks and err2 < 1e-4, err2
    print(f"moe_routing blocks={blocks} experts={experts} top_k={top_k}: "
          f"tasks={tasks} total_cycles={cycles} max_abs_err={max(err, err2):.1e} "
          f"compile={s.compile_time_ms:.0f}ms execute={ms:.2f}ms "
          f"(re-routed: tasks={s2.task_count}, no rebuild)")


if __name__ == "__main__":
    main()

"""A LLaMA decoder layer: RMSNorm, Q/K/V projections, causal attention, output projection +
residual, RMSNorm, SwiGLU feed-forward + residual, f32.

Written as an NPU engineer would: each projection is one task per 128x128 output block whose
kernel loops over K in 64-wide steps with the accumulator resident (L0C) and double-buffered
operand loads (``examples/gemm_kloop.py`` style); residuals are added by vector tasks on 64x64
tiles; RMSNorm works on 8-row blocks of the hidden dimension;
attention is flash-style per (head, query block) over the ragged causal triangle of key
blocks (``Ragged``: query block i visits key blocks 0..i-1, then the masked diagonal block),
reading K through its transpose (``Tensor(data=k.T)``, zero-copy). No rotary embedding.
``main()`` runs a small shape against numpy; ``benchmarks/llm_layer.py`` runs LLaMA-7B
(hidden 4096, 32 heads x 128, intermediate 11008).
"""

from __future__ import annotations

import numpy as np

from pto_wsp import (DType, Dense, In, InOut, Machine, Out, P, Ragged, Tensor, Tile, kernel,
                     pto, workload)

F32 = DType.F32
TM = 64          # attention block, vector tile edge
BO = 128         # projection output block edge
BK = 64          # projection K step
CUBE_FLOP_PER_CYCLE = 2048  # a2a3 cost model, f32: 16x8x16 MACs per 2 cycles per AIC
RB = 8           # RMSNorm row block
EPS = 1e-5
NEG = -1e30      # masked score (finite: exp(NEG - m) is exactly 0, never NaN)


class Shape:
    """Sequence length and model sizes (default: LLaMA-7B)."""

    def __init__(self, seq: int, hidden: int = 4096, heads: int = 32, ffn: int = 11008):
        self.seq, self.hidden, self.heads, self.ffn = seq, hidden, heads, ffn
        self.head_dim = hidden // heads


def weights(sh: Shape, seed: int = 0) -> dict[str, np.ndarray]:
    """Random f32 inputs of the layer (scaled so activations stay O(1))."""
    rng = np.random.default_rng(seed)
    H, F = sh.hidden, sh.ffn

    def mat(r, c):
        return (rng.standard_normal((r, c), np.float32) / np.float32(np.sqrt(r)))
    return dict(x=rng.standard_normal((sh.seq, H), np.float32),
                w_attn_norm=(1 + 0.1 * rng.standard_normal((1, H))).astype(np.float32),
                w_ffn_norm=(1 + 0.1 * rng.standard_normal((1, H))).astype(np.float32),
                wq=mat(H, H), wk=mat(H, H), wv=mat(H, H), wo=mat(H, H),
                w_gate=mat(H, F), w_up=mat(H, F), w_down=mat(F, H))


def _kernels(sh: Shape):
    """The layer's kernels for this shape (tile types depend on it)."""
    H, D = sh.hidden, sh.head_dim
    T = Tile[TM, TM, F32]
    ROWS = Tile[RB, H, F32]
    VEC = Tile[TM, 1, F32]
    QT, KT = Tile[TM, D, F32], Tile[D, TM, F32]
    scale = float(1 / np.sqrt(D))

    @kernel
    def rmsnorm(x: In[ROWS], w: In[Tile[1, H, F32]], y: Out[ROWS]):
        r = pto.rsqrt(pto.add(pto.rowmean(pto.mul(x, x)), EPS))
        pto.store(y, pto.colmul(pto.rowmul(x, r), w))

    def mm_kloop(K: int):
        @kernel(name=f"mm_k{K}")
        def mm(a: In[Tensor[BO, K, F32]], b: In[Tensor[K, BO, F32]], c: Out[Tile[BO, BO, F32]]):
            acc = pto.alloc((BO, BO), F32)
            for kk in pto.range(K // BK, double_buffer=True):
                at = pto.load(a, row=0, col=kk * BK, shape=(BO, BK))
                bt = pto.load(b, row=kk * BK, col=0, shape=(BK, BO))
                acc = pto.matmul(at, bt, acc)
            pto.store(c, acc)
        return mm

    @kernel
    def add(x: In[T], y: In[T], z: Out[T]):
        pto.store(z, pto.add(x, y))

    @kernel
    def swiglu(g: In[T], u: In[T], y: Out[T]):
        pto.store(y, pto.mul(pto.silu(g), u))

    @kernel
    def attn_init(m: Out[VEC], l: Out[VEC], o: Out[QT]):
        pto.store(m, pto.broadcast(pto.constant(NEG, F32), (TM, 1)))
        pto.store(l, pto.broadcast(pto.constant(0.0, F32), (TM, 1)))
        pto.store(o, pto.broadcast(pto.constant(0.0, F32), (TM, D)))

    def online_softmax_step(s, v, m, l, o):
        mn = pto.maximum(m, pto.rowmax(s))
        p = pto.exp(pto.sub(s, mn))
        alpha = pto.exp(pto.sub(m, mn))
        ln = pto.add(pto.mul(l, alpha), pto.rowsum(p))
        on = pto.add(pto.mul(o, alpha), pto.matmul(p, v))
        return mn, ln, on

    @kernel
    def attn_step(q: In[QT], kt: In[KT], v: In[QT], m: InOut[VEC], l: InOut[VEC],
                  o: InOut[QT]):
        mn, ln, on = online_softmax_step(pto.mul(pto.matmul(q, kt), scale), v, m, l, o)
        pto.store(m, mn)
        pto.store(l, ln)
        pto.store(o, on)

    @kernel
    def attn_last(q: In[QT], kt: In[KT], v: In[QT], mask: In[T], m: In[VEC], l: In[VEC],
                  o: InOut[QT]):
        s = pto.add(pto.mul(pto.matmul(q, kt), scale), mask)
        _, ln, on = online_softmax_step(s, v, m, l, o)
        pto.store(o, pto.div(on, ln))

    return dict(rmsnorm=rmsnorm, mm_h=mm_kloop(H), mm_f=mm_kloop(sh.ffn), add=add, swiglu=swiglu, attn_init=attn_init, attn_step=attn_step, attn_last=attn_last)


def build(sh: Shape, inputs: dict[str, np.ndarray], order: str = "ij"):
    """The layer workload over ``inputs`` (see :func:`weights`); returns (workload, output
    array). ``order``: the projections' output blocks row-block-major ("ij") or
    column-block-major ("ji")."""
    S, H, F, NH, D = sh.seq, sh.hidden, sh.ffn, sh.heads, sh.head_dim
    assert S % BO == 0 and H % BO == 0 and F % BO == 0 and D % TM == 0 and H % RB == 0
    assert order in ("ij", "ji"), order
    k = _kernels(sh)
    t = {n: Tensor(data=a, name=n) for n, a in inputs.items()}
    act = {n: np.zeros(shape, np.float32) for n, shape in (
        ("xn", (S, H)), ("q", (S, H)), ("k", (S, H)), ("v", (S, H)), ("attn", (S, H)),
        ("o", (S, H)), ("h", (S, H)), ("hn", (S, H)), ("gate", (S, F)), ("up", (S, F)),
        ("act", (S, F)), ("d", (S, H)), ("out", (S, H)), ("m", (S, NH)), ("l", (S, NH)))}
    a = {n: Tensor(data=arr, name=n) for n, arr in act.items()}
    a["kt"] = Tensor(data=act["k"].T, name="kt")  # K^T: a view of the same memory
    mask = np.triu(np.full((TM, TM), NEG, np.float32), 1)
    MASK = Tensor(data=mask, name="causal_mask")
    qb = Dense[S // TM]
    tri = Ragged(qb, list(range(S // TM)))  # query block i: key blocks 0 .. i-1

    def tile(X, i, j, e=TM):
        return X[i * e:(i + 1) * e, j * e:(j + 1) * e]

    def project(A, W, C, n_out, mm):
        """C = A @ W, one K-loop task (kernel mm) per BO x BO output block."""
        rows, cols = Dense[S // BO], Dense[n_out // BO]
        for x, y in P(rows, cols) if order == "ij" else P(cols, rows):
            i, j = (x, y) if order == "ij" else (y, x)
            mm[i, j](a=A[i * BO:(i + 1) * BO, :], b=W[:, j * BO:(j + 1) * BO],
                     c=tile(C, i, j, BO))

    def add(X, Y, Z):
        for i, j in P(Dense[S // TM], Dense[H // TM]):
            k["add"][i, j](x=tile(X, i, j), y=tile(Y, i, j), z=tile(Z, i, j))

    def norm(X, W, Y):
        for r in P(Dense[S // RB]):
            k["rmsnorm"][r](x=X[r * RB:(r + 1) * RB, :], w=W, y=Y[r * RB:(r + 1) * RB, :])

    @workload
    def llama_layer():
        norm(t["x"], t["w_attn_norm"], a["xn"])
        for w, out in (("wq", "q"), ("wk", "k"), ("wv", "v")):
            project(a["xn"], t[w], a[out], H, k["mm_h"])
        for h, i in P(Dense[NH], qb):
            rows, cols = slice(i * TM, (i + 1) * TM), slice(h * D, (h + 1) * D)
            q, o = a["q"][rows, cols], a["attn"][rows, cols]
            m, l = a["m"][rows, h:h + 1], a["l"][rows, h:h + 1]
            k["attn_init"][h, i](m=m, l=l, o=o)
            for j in P.seq(tri[i]):
                k["attn_step"][h, i, j](q=q, kt=a["kt"][cols, j * TM:(j + 1) * TM],
                                        v=a["v"][j * TM:(j + 1) * TM, cols], m=m, l=l, o=o)
            k["attn_last"][h, i](q=q, kt=a["kt"][cols, rows], v=a["v"][rows, cols], mask=MASK,
                                 m=m, l=l, o=o)
        project(a["attn"], t["wo"], a["o"], H, k["mm_h"])
        add(t["x"], a["o"], a["h"])
        norm(a["h"], t["w_ffn_norm"], a["hn"])
        project(a["hn"], t["w_gate"], a["gate"], F, k["mm_h"])
        project(a["hn"], t["w_up"], a["up"], F, k["mm_h"])
        for i, j in P(Dense[S // TM], Dense[F // TM]):
            k["swiglu"][i, j](g=tile(a["gate"], i, j), u=tile(a["up"], i, j),
                              y=tile(a["act"], i, j))
        project(a["act"], t["w_down"], a["d"], H, k["mm_f"])
        add(a["h"], a["d"], a["out"])
    return llama_layer(), act["out"]


def reference(sh: Shape, w: dict[str, np.ndarray]) -> np.ndarray:
    """The layer in numpy, in the inputs' dtype (f32 for the benchmark, f64 for checking)."""
    S, NH, D = sh.seq, sh.heads, sh.head_dim
    x = w["x"]

    def rms(z, g):
        return z / np.sqrt((z * z).mean(axis=1, keepdims=True) + EPS) * g
    xn = rms(x, w["w_attn_norm"])
    q, k, v = xn @ w["wq"], xn @ w["wk"], xn @ w["wv"]
    q, k, v = (z.reshape(S, NH, D).transpose(1, 0, 2) for z in (q, k, v))
    s = q @ k.transpose(0, 2, 1) / np.sqrt(D).astype(x.dtype)
    s = s + np.triu(np.full((S, S), -np.inf, x.dtype), 1)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    o = (p / p.sum(axis=-1, keepdims=True)) @ v
    h = x + o.transpose(1, 0, 2).reshape(S, NH * D) @ w["wo"]
    hn = rms(h, w["w_ffn_norm"])
    g = hn @ w["w_gate"]
    return h + (g / (1 + np.exp(-g)) * (hn @ w["w_up"])) @ w["w_down"]


def task_count(sh: Shape) -> int:
    """Tasks the layer submits."""
    S, H, F, NH = sh.seq, sh.hidden, sh.ffn, sh.heads
    nb = S // TM
    mm = (S // BO) * (5 * H + 2 * F) // BO
    attn = NH * (2 * nb + nb * (nb - 1) // 2)
    return 2 * (S // RB) + mm + attn + nb * (F + 2 * H) // TM


def main(seq: int = 128) -> None:
    sh = Shape(seq, hidden=256, heads=2, ffn=384)
    w = weights(sh)
    wl, out = build(sh, w)
    s = wl.compile(num_threads=2, cost_model="a2a3", machine=Machine.a2a3()).run()
    ref = reference(sh, {n: a.astype(np.float64) for n, a in w.items()})
    err = float(np.abs(out - ref).max() / np.abs(ref).max())
    mm = s.kernels[f"mm_k{sh.hidden}"]
    vs_peak = mm.cycles / mm.tasks / (2 * BO * BO * sh.hidden / CUBE_FLOP_PER_CYCLE)
    print(f"llama_layer seq={seq} hidden={sh.hidden} heads={sh.heads} ffn={sh.ffn}: "
          f"tasks={s.task_count} total_cycles={s.total_cycles} max_rel_err={err:.1e} "
          f"projection task / cube peak={vs_peak:.2f}x")
    assert s.task_count == task_count(sh)
    assert err < 1e-5, err
    assert vs_peak < 2, vs_peak  # loads overlap the cube; a 64x64x64 step in series was 4.9x


if __name__ == "__main__":
    main()

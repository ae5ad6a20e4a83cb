"""Every pto.* op through the whole pipeline (trace -> lower -> C -> run) against numpy.

All cases are kernels of one workload, so the module is built once. Tolerances:
f32 element-wise results are exact or within 2 ulp (transcendentals are computed in double
and rounded once); f16/bf16 ops round once per instruction (exact vs numpy's own f16 and
ml_dtypes' bf16 arithmetic); composite ops (gelu, softmax, ...) are checked with rtol 1e-5
(f32) against float64 references.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

R, C = 4, 32
BF16 = ml_dtypes.bfloat16
rng = np.random.default_rng(42)


def _data(dt: DType, positive=False, nonzero=False):
    if dt.is_float:
        x = rng.uniform(0.1, 2.0, (R, C)) if positive else rng.uniform(-2.0, 2.0, (R, C))
        return x.astype(dt.np)
    info = np.iinfo(dt.np)
    lo, hi = (1 if (positive or nonzero) else max(info.min, -50)), min(info.max, 50)
    x = rng.integers(lo, hi, (R, C)).astype(dt.np)
    if nonzero:
        x[x == 0] = 1
    return x


CASES: list[tuple] = []  # (id, fn(a, b) in pto, numpy ref(a, b), dtype, out dtype, kind, tol)


def case(name, fn, ref, dtypes, *, out=None, positive=False, nonzero_b=False, tol=0.0,
         out_shape=(R, C)):
    for dt in dtypes:
        CASES.append((f"{name}-{dt.value}", fn, ref, dt, out(dt) if out else dt, positive,
                      nonzero_b, tol, out_shape))


FLOATS = [DType.F32, DType.F16, DType.BF16]
INTS = [DType.I32, DType.I8, DType.U8, DType.I16, DType.I64, DType.U32]
ALL = FLOATS + INTS + [DType.F64]


def _wrapint(f):
    """numpy reference for integer ops: compute in int64 and wrap to the dtype."""
    def g(a, b):
        return f(a.astype(np.int64), b.astype(np.int64)).astype(a.dtype)
    return g


case("add", pto.add, lambda a, b: a + b, FLOATS + [DType.F64])
case("add", pto.add, _wrapint(lambda a, b: a + b), INTS)
case("sub", pto.sub, lambda a, b: a - b, FLOATS)
case("sub", pto.sub, _wrapint(lambda a, b: a - b), INTS)
case("mul", pto.mul, lambda a, b: a * b, FLOATS)
case("mul", pto.mul, _wrapint(lambda a, b: a * b), INTS)
case("div", pto.div, lambda a, b: a / b, FLOATS, nonzero_b=True, positive=True)
case("div", pto.div, _wrapint(lambda a, b: np.trunc(a / b).astype(np.int64)), INTS,
     nonzero_b=True)
case("maximum", pto.maximum, np.maximum, ALL)
case("minimum", pto.minimum, np.minimum, ALL)
case("adds", lambda a, b: pto.add(a, 2.5), lambda a, b: a + a.dtype.type(2.5), FLOATS)
case("rsubs", lambda a, b: pto.sub(3, a), _wrapint(lambda a, b: 3 - a), INTS)
case("rdivs", lambda a, b: pto.div(1.0, a), lambda a, b: a.dtype.type(1.0) / a, FLOATS,
     positive=True)
case("muls", lambda a, b: a * 3, _wrapint(lambda a, b: a * 3), [DType.I32])
case("maxs", lambda a, b: pto.maximum(a, 0.5), lambda a, b: np.maximum(a, a.dtype.type(0.5)),
     FLOATS)
for nm in ("and", "or", "xor"):
    case(f"bit{nm}", getattr(pto, f"bitwise_{nm}"), getattr(np, f"bitwise_{nm}"), INTS)
case("shl", lambda a, b: pto.shl(a, 3), _wrapint(lambda a, b: a << 3), [DType.I32, DType.U8])
case("shr", lambda a, b: pto.shr(a, 2), lambda a, b: a >> 2, [DType.I32, DType.U32])
case("neg", lambda a, b: pto.neg(a), lambda a, b: -a, FLOATS + [DType.I32])
case("abs", lambda a, b: pto.abs(a), lambda a, b: np.abs(a), FLOATS + [DType.I16])
case("relu", lambda a, b: pto.relu(a), lambda a, b: np.maximum(a, a.dtype.type(0)),
     FLOATS + [DType.I32])


def _unary_ref(f):
    def g(a, b):
        return f(a.astype(np.float64)).astype(a.dtype)
    return g


for nm, f, pos in (("exp", np.exp, False), ("log", np.log, True), ("sqrt", np.sqrt, True),
                   ("rsqrt", lambda x: 1 / np.sqrt(x), True), ("recip", lambda x: 1 / x, True),
                   ("sin", np.sin, False), ("cos", np.cos, False), ("tanh", np.tanh, False)):
    case(nm, lambda a, b, nm=nm: getattr(pto, nm)(a), _unary_ref(f), FLOATS + [DType.F64],
         positive=pos)

for nm, f in (("sum", np.sum), ("max", np.max), ("min", np.min)):
    fr = (lambda a, b, f=f: f(a.astype(np.float64), axis=1, keepdims=True).astype(a.dtype))
    fc = (lambda a, b, f=f: f(a.astype(np.float64), axis=0, keepdims=True).astype(a.dtype))
    case(f"row{nm}", lambda a, b, nm=nm: getattr(pto, f"row{nm}")(a), fr,
         [DType.F32, DType.I32], out_shape=(R, 1), tol=1e-6)
    case(f"col{nm}", lambda a, b, nm=nm: getattr(pto, f"col{nm}")(a), fc,
         [DType.F32, DType.I32], out_shape=(1, C), tol=1e-6)
case("rowsum16", lambda a, b: pto.rowsum(a),
     lambda a, b: a.astype(np.float32).sum(1, keepdims=True).astype(a.dtype), [DType.F16],
     out_shape=(R, 1), tol=1e-3)
case("rowmean", lambda a, b: pto.rowmean(a),
     lambda a, b: a.astype(np.float64).mean(1, keepdims=True), [DType.F32], out_shape=(R, 1),
     tol=1e-6)
case("rowbcast_add", lambda a, b: pto.add(a, pto.rowmax(b)),
     lambda a, b: a + b.max(1, keepdims=True), [DType.F32])
case("rowbcast_sub_left", lambda a, b: pto.sub(pto.rowsum(b), a),
     lambda a, b: b.sum(1, keepdims=True, dtype=np.float64).astype(a.dtype) - a, [DType.F32],
     tol=1e-6)
case("colbcast_mul", lambda a, b: pto.mul(pto.colmax(b), a),
     lambda a, b: a * b.max(0, keepdims=True), [DType.F32, DType.I32])
case("rowdiv", lambda a, b: pto.rowdiv(a, pto.rowmax(b)),
     lambda a, b: a / b.max(1, keepdims=True), [DType.F32], positive=True)
case("colsub", lambda a, b: pto.colsub(a, pto.colmin(b)),
     lambda a, b: a - b.min(0, keepdims=True), [DType.F32])
case("broadcast", lambda a, b: pto.broadcast(pto.rowmin(a), (R, C)),
     lambda a, b: np.broadcast_to(a.min(1, keepdims=True), (R, C)), [DType.F32, DType.U8])
case("softmax", lambda a, b: pto.softmax(a),
     lambda a, b: (np.exp(a - a.max(1, keepdims=True)) /
                   np.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True)), [DType.F32],
     tol=1e-6)
case("sigmoid", lambda a, b: pto.sigmoid(a), lambda a, b: 1 / (1 + np.exp(-a.astype(float))),
     [DType.F32], tol=1e-6)
case("silu", lambda a, b: pto.silu(a), lambda a, b: a / (1 + np.exp(-a.astype(float))),
     [DType.F32], tol=1e-6)
case("gelu", lambda a, b: pto.gelu(a),
     lambda a, b: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))),
     [DType.F32], tol=1e-6)
case("cast_f16", lambda a, b: pto.cast(a, DType.F16), lambda a, b: a.astype(np.float16),
     [DType.F32], out=lambda d: DType.F16)
case("cast_bf16", lambda a, b: pto.cast(a, DType.BF16), lambda a, b: a.astype(BF16),
     [DType.F32], out=lambda d: DType.BF16)
for mode, f in (("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc), ("rint", np.rint)):
    case(f"cast_i32_{mode}", lambda a, b, mode=mode: pto.cast(a * 3, DType.I32, round=mode),
         lambda a, b, f=f: f(a.astype(np.float64) * 3).astype(np.int32), [DType.F32],
         out=lambda d: DType.I32)
case("cast_int_to_f32", lambda a, b: pto.cast(a, DType.F32), lambda a, b: a.astype(np.float32),
     [DType.I32, DType.U8], out=lambda d: DType.F32)
case("cast_bool_select", lambda a, b: pto.select(pto.cast(a, DType.BOOL), b, a),
     lambda a, b: np.where(a != 0, b, a), [DType.U8, DType.F32])
case("cmp_select", lambda a, b: pto.select(pto.cmp(a, b, "lt"), a, b),
     lambda a, b: np.where(a < b, a, b), [DType.F32, DType.I32])
case("cmps_select", lambda a, b: pto.select(pto.cmp(a, 0, "ge"), a, 0.0 if a.dtype.is_float
                                            else 0),
     lambda a, b: np.where(a >= 0, a, 0).astype(a.dtype), [DType.F32, DType.I16])
case("iota", lambda a, b: pto.add(a, pto.iota((R, C), a.dtype, start=5, step=-1)),
     _wrapint(lambda a, b: a + (5 - np.arange(R * C).reshape(R, C))), [DType.I32])
case("slice_even", lambda a, b: pto.interleave(pto.slice_odd(a), pto.slice_even(a)),
     lambda a, b: a.reshape(R, C // 2, 2)[:, :, ::-1].reshape(R, C), [DType.F32, DType.U8])
case("alloc_add", lambda a, b: pto.add(pto.alloc((R, C), a.dtype), a), lambda a, b: a,
     [DType.F32])
case("mov_scalar_const", lambda a, b: pto.mul(a, pto.constant(2, a.dtype)),
     _wrapint(lambda a, b: a * 2), [DType.I64])


def _case_body(cid, fn, dt, odt, oshape):
    def body(a, b, out):
        pto.store(out, fn(a, b))
    body.__name__ = "k_" + cid.replace("-", "_")
    body.__annotations__ = {"a": In[Tile[R, C, dt]], "b": In[Tile[R, C, dt]],
                            "out": Out[Tile[oshape[0], oshape[1], odt]]}
    return body


def _build_kernels():
    kernels, refs = [], []
    for cid, fn, ref, dt, odt, pos, nzb, tol, oshape in CASES:
        kernels.append(kernel(_case_body(cid, fn, dt, odt, oshape)))
        a, b = _data(dt, pos), _data(dt, pos, nzb)
        refs.append((cid, a, b, np.zeros(oshape, odt.np), ref, tol))
    return kernels, refs


@pytest.fixture(scope="module")
def results():
    kernels, refs = _build_kernels()
    tensors = [(Tensor(data=a, name=f"A{i}"), Tensor(data=b, name=f"B{i}"),
                Tensor(data=o, name=f"O{i}")) for i, (_, a, b, o, _, _) in enumerate(refs)]
    one = Dense[1]

    @workload
    def all_ops():
        for z in P(one):
            for k, (A, B, O) in zip(kernels, tensors):
                k[z](a=A, b=B, out=O)
    all_ops().compile(num_threads=2).run()
    return {cid: (a, b, o, ref, tol) for cid, a, b, o, ref, tol in refs}


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_op(results, cid):
    a, b, out, ref, tol = results[cid]
    want = np.asarray(ref(a, b))
    if tol == 0.0 and want.dtype == out.dtype:
        if out.dtype.kind == "f" or out.dtype == BF16:
            np.testing.assert_array_max_ulp(out.astype(np.float64).astype(out.dtype), want,
                                            maxulp=2) if out.dtype.kind == "f" else \
                np.testing.assert_allclose(out.astype(np.float32), want.astype(np.float32),
                                           rtol=2 ** -7)
        else:
            np.testing.assert_array_equal(out, want)
    else:
        rtol = tol or 2e-3
        np.testing.assert_allclose(out.astype(np.float64), want.astype(np.float64), rtol=rtol,
                                   atol=rtol)


MATMUL_CASES = [(DType.F32, 1e-5), (DType.F16, 1e-3), (DType.BF16, 1e-2), (DType.I8, 0)]


@pytest.mark.parametrize("dt,tol", MATMUL_CASES, ids=[c[0].value for c in MATMUL_CASES])
def test_matmul_dtypes_with_accumulator(dt, tol):
    M, K, N = 8, 16, 8
    odt = DType.I32 if dt is DType.I8 else DType.F32

    @kernel
    def mm(a: In[Tile[M, K, dt]], b: In[Tile[K, N, dt]], c0: In[Tile[M, N, odt]],
           out: Out[Tile[M, N, odt]]):
        pto.store(out, pto.matmul(a, b, acc=pto.matmul(a, b, acc=c0)))

    if dt is DType.I8:
        A = rng.integers(-8, 8, (M, K)).astype(np.int8)
        B = rng.integers(-8, 8, (K, N)).astype(np.int8)
        C0 = rng.integers(-100, 100, (M, N)).astype(np.int32)
    else:
        A, B = rng.standard_normal((M, K)).astype(dt.np), rng.standard_normal((K, N)).astype(dt.np)
        C0 = rng.standard_normal((M, N)).astype(np.float32)
    O = np.zeros((M, N), odt.np)
    TA, TB, TC, TO = (Tensor(data=x) for x in (A, B, C0, O))
    one = Dense[1]

    @workload
    def w():
        for z in P(one):
            mm[z](a=TA, b=TB, c0=TC, out=TO)
    w().compile().run()
    ref = C0.astype(np.float64) + 2 * (A.astype(np.float64) @ B.astype(np.float64))
    if tol == 0:
        np.testing.assert_array_equal(O, ref.astype(np.int32))
    else:
        np.testing.assert_allclose(O, ref, rtol=tol, atol=tol)


def _pairs(out):
    """PTO-ISA (value, index) pairs -> values, u32 indices."""
    return out[..., 0::2], out.view(np.uint32)[..., 1::2]


def test_sort32_descending_stable_pairs():
    @kernel
    def srt(x: In[Tile[2, 64, DType.F32]], p: Out[Tile[2, 128, DType.F32]]):
        pto.store(p, pto.sort32(x, pto.iota((2, 64), DType.U32, start=7)))

    x = rng.integers(0, 5, (2, 64)).astype(np.float32)  # many ties
    x[1, 3] = np.nan  # NaN sorts first
    TX, TP = Tensor(data=x), Tensor(data=np.zeros((2, 128), np.float32))

    @workload
    def w():
        for z in P(Dense[1]):
            srt[z](x=TX, p=TP)
    w().compile().run()
    V, I = _pairs(TP.data)
    for r in range(2):
        for blk in range(2):
            seg = x[r, blk * 32:(blk + 1) * 32]
            order = np.lexsort((np.arange(32), -np.nan_to_num(seg, nan=np.inf)))
            np.testing.assert_array_equal(V[r, blk * 32:(blk + 1) * 32], seg[order])
            np.testing.assert_array_equal(I[r, blk * 32:(blk + 1) * 32],
                                          7 + r * 64 + blk * 32 + order)


def test_topk_by_two_merge_levels():
    """TSORT32 then TMRGSORT over 4 lists of 32 and 4 lists of 128 pairs: a sorted row of 512;
    the first k pairs are numpy's top k (ties: lower index first)."""
    K = 10

    @kernel
    def topk(x: In[Tile[1, 512, DType.F32]], p: Out[Tile[1, 2 * K, DType.F32]]):
        s = pto.sort32(x, pto.iota((1, 512), DType.U32))
        s = pto.mrgsort(pto.mrgsort(s, block_len=64), block_len=256)
        pto.store(p, pto.extract(s, 1, 2 * K))

    x = rng.integers(0, 40, (3, 1, 512)).astype(np.float32)
    TX, TP = Tensor(data=x), Tensor(data=np.zeros((3, 1, 2 * K), np.float32))

    @workload
    def w():
        for z in P(Dense[3]):
            topk[z](x=TX[z], p=TP[z])
    w().compile().run()
    V, I = _pairs(TP.data[:, 0])
    order = np.argsort(-x[:, 0], axis=1, kind="stable")[:, :K]
    np.testing.assert_array_equal(I, order)
    np.testing.assert_array_equal(V, np.take_along_axis(x[:, 0], order, 1))

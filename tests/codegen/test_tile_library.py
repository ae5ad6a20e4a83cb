"""The C tile library (runtime_c/pto_tile.h) checked instruction by instruction against numpy.

One cffi module per cost model is built through the project's build cache; every library
function is reached through a single dispatch entry point (see _tilelib_spec.wrappers).
Tolerances: exact (bit-for-bit up to NaN payloads) everywhere, except the transcendentals
(TEXP ... TTANH), which must be within 1 ulp of numpy's float64 result rounded to the dtype
(2 for the vectorised f32 TTANH, whose documented bound is < 1.34 ulp; f64 see below).
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _tilelib_spec as spec  # noqa: E402
from _tilelib_spec import ALL, FLOATS, INTS, NP, SINTS, UINTS  # noqa: E402

from pto_wsp.backends.compose import COMPOSED  # noqa: E402
from pto_wsp.backends.cpu_sim.build import build_extension  # noqa: E402
from pto_wsp.resources import runtime_dir  # noqa: E402

BF16 = ml_dtypes.bfloat16
CATALOGUE = spec.catalogue()
SIGS = {name: (sfx, sig) for name, sfx, sig in CATALOGUE}
RM = {"NONE": 0, "RINT": 1, "ROUND": 2, "FLOOR": 3, "CEIL": 4, "TRUNC": 5, "ODD": 6}
CMP = {"EQ": 0, "NE": 1, "LT": 2, "LE": 3, "GT": 4, "GE": 5}


class Lib:
    """Calls ``pto_<name>`` through the dispatch table; arrays are passed zero-copy."""

    def __init__(self, built, ids):
        self.ffi, self.lib, self.ids = built.ffi, built.lib, ids

    def __call__(self, name, *args):
        fname = "pto_" + name
        sfx, sig = SIGS[fname]
        assert len(args) == len(sig), (name, sig, len(args))
        ffi = self.ffi
        p = ffi.new("void *[8]")
        f = ffi.new("double[8]")
        q = ffi.new("int64_t[8]")
        keep = []
        for k, (ch, a) in enumerate(zip(sig, args)):
            if ch == "T":
                if isinstance(a, tuple):  # (base array, byte offset)
                    base, off = a
                    buf = ffi.from_buffer(base.reshape(-1).view(np.uint8))
                    keep.append(buf)
                    p[k] = ffi.cast("char *", buf) + off
                else:
                    assert a.flags.c_contiguous
                    buf = ffi.from_buffer(a.reshape(-1).view(np.uint8))
                    keep.append(buf)
                    p[k] = buf
            elif ch == "S" and sfx in FLOATS:
                f[k] = float(a)
            else:
                v = int(a)
                q[k] = v - (1 << 64) if v >= (1 << 63) else v
        return self.lib.tl_call(self.ids[fname], p, f, q)


# A small set of entries for the A2/A3 cost-model module (costs only).
COST_ENTRIES = [e for e in CATALOGUE if e[1] in ("f32", "f16", "i8")
                and not e[0].startswith("pto_tcvt_")] + [
    e for e in CATALOGUE if e[0] in ("pto_tcvt_f16_f32", "pto_tcvt_f32_f16", "pto_tload_f64")]


@pytest.fixture(scope="module")
def warn_check():
    """Compile the full wrapper source with -O2 -Wall -Wextra -Werror in the background.

    The verdict depends only on the headers, the wrapper text and the compiler, so a passing
    result is remembered in the build cache and not recomputed on later runs."""
    import hashlib
    import tempfile
    from pto_wsp import knobs
    _, src, _ = spec.wrappers(CATALOGUE)
    h = hashlib.sha256(src.encode())
    for hdr in sorted(Path(runtime_dir()).glob("pto_tile*.h")):
        h.update(hdr.name.encode() + hdr.read_bytes())
    h.update(subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.encode())
    stamp = knobs.cache_dir() / f"tilelib-warnfree-{h.hexdigest()[:24]}"
    if stamp.exists():
        yield None
        return
    d = Path(tempfile.mkdtemp(prefix="tilelib-warn-"))
    (d / "w.c").write_text(src)
    cmd = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-c",
           f"-I{runtime_dir()}", str(d / "w.c"), "-o", str(d / "w.o")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.stamp = stamp
    yield proc
    proc.wait()


@pytest.fixture(scope="module")
def L(warn_check):
    cdef, src, ids = spec.wrappers(CATALOGUE)
    r = build_extension(cdef, src, name_hint="tilelib_test", define_macros=(("PTO_COST_MODEL", "0"),))
    return Lib(r, ids)


@pytest.fixture(scope="module")
def L2():
    """The matmul entries built without the AVX-512 clone: the AVX2+FMA kernel runs."""
    cdef, src, ids = spec.wrappers([e for e in CATALOGUE if e[0].startswith("pto_tmatmul")])
    r = build_extension(cdef, src, name_hint="tilelib_test_mm2",
                        define_macros=(("PTO_COST_MODEL", "0"), ("PTO_TILE_NO_AVX512", "1")))
    return Lib(r, ids)


@pytest.fixture(scope="module")
def L1():
    cdef, src, ids = spec.wrappers(COST_ENTRIES)
    # also built without the AVX2 matmul clone, so the portable kernel is tested too
    r = build_extension(cdef, src, name_hint="tilelib_test_a2",
                        define_macros=(("PTO_COST_MODEL", "1"), ("PTO_TILE_NO_AVX2", "1")))
    return Lib(r, ids)


# ------------------------------------------------------------------------------------------
# helpers

def rand(sfx, shape, rng, scale=3.0):
    if sfx in FLOATS:
        return (rng.standard_normal(shape) * scale).astype(NP[sfx])
    info = np.iinfo(NP[sfx])
    return rng.integers(info.min, info.max, size=shape, dtype=NP[sfx], endpoint=True)


def small_ints(sfx, shape, rng, lo=-20, hi=20):
    if sfx in UINTS:
        lo = 0
    return rng.integers(lo, hi, size=shape).astype(NP[sfx])


def assert_same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if got.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want.astype(got.dtype))
    else:
        with np.errstate(invalid="ignore"):
            g, w = got.astype(np.float64), want.astype(np.float64)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        m = ~np.isnan(g)
        np.testing.assert_array_equal(g[m], w[m])


def wrap(obj, sfx):
    """Python ints -> dtype with two's-complement wrap-around."""
    bits = 8 * spec.ESIZE[sfx]
    u = np.array([int(v) % (1 << bits) for v in np.ravel(obj)], dtype=np.uint64)
    return u.astype(np.dtype(f"u{bits // 8}")).view(NP[sfx]).reshape(np.shape(obj))


def ordered(x):
    """Float bits mapped to integers whose order (and differences) follow the float order."""
    x = np.asarray(x)
    bits = 8 * x.dtype.itemsize
    u = x.view(np.dtype(f"u{bits // 8}")).astype(np.int64 if bits < 64 else object)
    sign = 1 << (bits - 1)
    return np.where(u >= sign, -(u - sign), u)


def ulp_diff(got, want):
    got, want = np.asarray(got), np.asarray(want)
    both_nan = np.isnan(got.astype(np.float64)) & np.isnan(want.astype(np.float64))
    d = np.abs(ordered(got) - ordered(want))
    return np.where(both_nan, 0, d)


def ref_int_binop(op, a, b, sfx):
    bits = 8 * spec.ESIZE[sfx]
    signed = sfx in SINTS
    out = []
    for x, y in zip(np.ravel(a).astype(object), np.ravel(b).astype(object)):
        x, y = int(x), int(y)
        if op == "add":
            r = x + y
        elif op == "sub":
            r = x - y
        elif op == "mul":
            r = x * y
        elif op == "div":
            r = 0 if y == 0 else (abs(x) // abs(y)) * (1 if (x < 0) == (y < 0) else -1)
        elif op == "rem":
            r = 0 if y == 0 else x - y * ((abs(x) // abs(y)) * (1 if (x < 0) == (y < 0) else -1))
        elif op == "max":
            r = max(x, y)
        elif op == "min":
            r = min(x, y)
        elif op == "and":
            r = x & y
        elif op == "or":
            r = x | y
        elif op == "xor":
            r = x ^ y
        elif op == "shl":
            r = 0 if not 0 <= y < bits else x << y
        elif op == "shr":
            r = ((-1 if (signed and x < 0) else 0) if not 0 <= y < bits else x >> y)
        else:
            raise AssertionError(op)
        out.append(r)
    return wrap(np.array(out, dtype=object).reshape(np.shape(a)), sfx)


def ref_float_binop(op, a, b):
    with np.errstate(all="ignore"):
        if op == "rem":
            return np.fmod(a.astype(np.float64), np.asarray(b).astype(np.float64)).astype(a.dtype)
        fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
              "max": np.maximum, "min": np.minimum}[op]
        return fn(a, np.asarray(b, dtype=a.dtype)).astype(a.dtype)


def binop_operands(sfx, op, rng, shape=(5, 24)):
    a, b = rand(sfx, shape, rng), rand(sfx, shape, rng)
    if sfx in FLOATS:
        b.flat[:4] = np.array([0.0, -0.0, np.inf, np.nan]).astype(NP[sfx])
        a.flat[4:8] = np.array([np.nan, 1.0, -np.inf, 0.0]).astype(NP[sfx])
        b.flat[8:10] = a.flat[8:10]
    else:
        info = np.iinfo(NP[sfx])
        b.flat[:4] = np.array([0, 1, info.max, info.min], dtype=NP[sfx])
        a.flat[4:6] = info.min
        if sfx in SINTS:
            b.flat[4] = -1
        if op in ("shl", "shr"):
            bits = 8 * spec.ESIZE[sfx]
            b[2:] = rng.integers(0, bits, size=b[2:].shape).astype(NP[sfx])
    return a, b


# ------------------------------------------------------------------------------------------
# build

def test_warning_free(L, warn_check):
    if warn_check is None:
        return  # this exact header + compiler already passed
    out, _ = warn_check.communicate()
    assert warn_check.returncode == 0, out
    warn_check.stamp.parent.mkdir(parents=True, exist_ok=True)
    warn_check.stamp.write_text("ok\n")


def test_catalogue_is_complete(L):
    assert L.lib.tl_count() == len(CATALOGUE)
    assert len(CATALOGUE) > 850


# ------------------------------------------------------------------------------------------
# element-wise

@pytest.mark.parametrize("sfx", ALL)
def test_binary(L, sfx):
    rng = np.random.default_rng(1)
    ops = ["add", "sub", "mul", "div", "max", "min", "rem"]
    if sfx in INTS:
        ops += ["and", "or", "xor", "shl", "shr"]
    for op in ops:
        a, b = binop_operands(sfx, op, rng)
        dst = np.zeros_like(a)
        cyc = L(f"t{op}_{sfx}", dst, a, b, 5, 24)
        assert cyc == 5 * 24
        want = ref_int_binop(op, a, b, sfx) if sfx in INTS else ref_float_binop(op, a, b)
        assert_same(dst, want)
        # tile-scalar forms: dst = src op s, and the reversed s - src, s / src
        s = b.flat[7] if sfx in INTS else NP[sfx](-1.5)
        L(f"t{op}s_{sfx}", dst, a, s, 5, 24)
        sb = np.full_like(a, s)
        want = ref_int_binop(op, a, sb, sfx) if sfx in INTS else ref_float_binop(op, a, sb)
        assert_same(dst, want)
        if op in ("sub", "div"):
            L(f"tr{op}s_{sfx}", dst, s, a, 5, 24)
            want = ref_int_binop(op, sb, a, sfx) if sfx in INTS else ref_float_binop(op, sb, a)
            assert_same(dst, want)


@pytest.mark.parametrize("sfx", ["f32", "f16", "bf16", "i16"])
def test_inplace_elementwise(L, sfx):
    """dst may be exactly a source buffer for element-wise ops (documented exception)."""
    rng = np.random.default_rng(17)
    a, b = rand(sfx, (4, 40), rng), rand(sfx, (4, 40), rng)
    want = ref_int_binop("add", a, b, sfx) if sfx in INTS else ref_float_binop("add", a, b)
    L(f"tadd_{sfx}", a, a, b, 4, 40)
    assert_same(a, want)
    v = rand(sfx, (4, 1), rng)
    want = (ref_int_binop("mul", b, np.repeat(v, 40, 1), sfx) if sfx in INTS
            else ref_float_binop("mul", b, np.repeat(v, 40, 1)))
    L(f"trowexpandmul_{sfx}", b, b, v, 4, 40)
    assert_same(b, want)


@pytest.mark.parametrize("op", ["exp", "log", "tanh", "sin", "cos", "recip"])
def test_inplace_vectorised_unary_f32(L, op):
    """The vectorised f32 unary kernels also allow dst == src (blocks and the tail)."""
    rng = np.random.default_rng(23)
    a = np.abs(rand("f32", (3, 37), rng)) + 0.1
    a.flat[-1] = 1e30  # the libm fallback of sin/cos, in the tail
    want = np.zeros_like(a)
    L(f"t{op}_f32", want, a, 3, 37)
    L(f"t{op}_f32", a, a, 3, 37)
    assert np.array_equal(a.view(np.uint32), want.view(np.uint32))


def test_int_division_by_zero_defined(L):
    for sfx in INTS:
        a = np.array([7, 0, 5, 1], dtype=NP[sfx]).reshape(1, 4)
        z = np.zeros_like(a)
        d = np.full_like(a, 3)
        L(f"tdiv_{sfx}", d, a, z, 1, 4)
        assert_same(d, np.zeros_like(a))
        L(f"trem_{sfx}", d, a, z, 1, 4)
        assert_same(d, np.zeros_like(a))
        L(f"tdivs_{sfx}", d, a, 0, 1, 4)
        assert_same(d, np.zeros_like(a))
    a = np.array([[np.iinfo(np.int32).min, 9]], np.int32)
    d = np.zeros_like(a)
    L("tdiv_i32", d, a, np.array([[-1, -2]], np.int32), 1, 2)
    assert_same(d, np.array([[np.iinfo(np.int32).min, -4]], np.int32))


TRANS_REF = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x),
             "recip": lambda x: 1.0 / x, "sin": np.sin, "cos": np.cos, "tanh": np.tanh}


@pytest.mark.parametrize("sfx", FLOATS)
def test_unary_float(L, sfx):
    rng = np.random.default_rng(2)
    a = rand(sfx, (6, 32), rng, scale=2.0)
    a.flat[:6] = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0]).astype(NP[sfx])
    dst = np.zeros_like(a)
    with np.errstate(all="ignore"):
        for op, fn in TRANS_REF.items():
            # the v9 cost: one per element and instruction (tanh/sin/cos are compositions,
            # f16/bf16 with their two TCVTs; f64 keeps libm)
            steps = COMPOSED.get(f"t{op}", ())
            n = 1 if sfx == "f64" or not steps else len(steps) + 2 * (sfx != "f32")
            assert L(f"t{op}_{sfx}", dst, a, 6, 32) == 6 * 32 * n
            want = fn(a.astype(np.float64)).astype(NP[sfx])
            # f64: numpy's and glibc's libm differ by a few ulp; narrower: rounding of ~same f64
            # (f32 tanh/sin/cos are compositions: <= 2 representable steps on these inputs)
            tol = 4 if sfx == "f64" else (2 if sfx == "f32" and steps else 1)
            assert ulp_diff(dst, want).max() <= tol, op
        for op, fn in (("abs", np.abs), ("neg", np.negative),
                       ("relu", lambda x: np.maximum(x, np.zeros_like(x)))):
            L(f"t{op}_{sfx}", dst, a, 6, 32)
            assert_same(dst, fn(a))
        L(f"tabs_{sfx}", dst, a, 6, 32)
        assert not np.signbit(dst.astype(np.float64)[~np.isnan(dst.astype(np.float64))]).any()


EXP_EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-30, -1e-30,
             3.4028235e38, -3.4028235e38, 88.72283, 88.722839, 88.7228394, 88.72284, 89.0, 89.5,
             -87.33654, -87.33655, -87.3366, -103.27893, -103.2789, -103.972, -103.97208,
             -103.9721, -104.0, -104.5, -200.0, 1.0, -1.0, 0.5, 0.34657359, -0.34657359,
             0.6931472, 1e-8, -1e-8, 2.9802322e-08, 127.0 * 0.6931472]


def test_exp_f32_dense_sweep(L):
    """f32 TEXP (the vectorised polynomial): every 256th bit pattern (2^24 inputs over the
    whole f32 range, both signs, NaNs and infinities included) plus the edges of overflow,
    underflow and the subnormal range; within 1 ulp of exp in double rounded to f32 (the
    documented bound is < 0.98 ulp, measured exhaustively on all 2^32 inputs)."""
    edges = np.array(EXP_EDGES, np.float32)
    with np.errstate(all="ignore"):
        for c in range(4):  # 4 chunks of 2^22 inputs
            bits = (np.arange(c << 22, (c + 1) << 22, dtype=np.uint64) << 8).astype(np.uint32)
            x = bits.view(np.float32).reshape(1024, 4096)
            dst = np.zeros_like(x)
            L("texp_f32", dst, x, 1024, 4096)
            want = np.exp(x.astype(np.float64)).astype(np.float32)
            assert ulp_diff(dst, want).max() <= 1
            assert np.array_equal(np.isnan(dst), np.isnan(x))
        dst = np.zeros_like(edges)
        L("texp_f32", dst, edges, 1, len(edges))
        want = np.exp(edges.astype(np.float64)).astype(np.float32)
    assert ulp_diff(dst, want).max() <= 1
    exact = ~np.isnan(edges) & ((np.abs(edges) > 80) | (edges == 0))  # 1, inf, 0, subnormals
    assert_same(dst[exact], want[exact])
    assert not np.signbit(dst[~np.isnan(dst)]).any()


def test_exp_f32_avx2_clone_bit_identical(L, L1):
    """L runs the run-time AVX2 clone of f32 TEXP (on AVX2 hosts), L1 is built without it."""
    bits = (np.arange(1 << 20, dtype=np.uint64) * 4093 + 7).astype(np.uint32)
    x = bits.view(np.float32).reshape(256, 4096)
    a, b = np.zeros_like(x), np.ones_like(x)
    with np.errstate(all="ignore"):
        L("texp_f32", a, x, 256, 4096)
        L1("texp_f32", b, x, 256, 4096)
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
    for n in (1, 15, 16, 17, 63, 64, 65, 100):  # the block, tail and dispatch edges
        a, b = np.zeros(n, np.float32), np.zeros(n, np.float32)
        L("texp_f32", a, x.reshape(-1)[:n].copy(), 1, n)
        L1("texp_f32", b, x.reshape(-1)[:n].copy(), 1, n)
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


def test_tanh_f32_dense_sweep(L, L1):
    """f32 TTANH (vectorised, built on the f32 exp): 2^24 inputs over the whole range plus
    edges; <= 2 representable steps from tanh in double rounded to f32 (documented: < 1.34
    ulp, measured exhaustively), odd (tanh(-x) = -tanh(x), the sign of zero kept), +-inf ->
    +-1; and the AVX2 clone (L) is bit-identical to the portable build (L1)."""
    edges = np.array(EXP_EDGES + [0.625, 0.62499994, -0.625, 9.01, 44.4, 1e-3], np.float32)
    with np.errstate(all="ignore"):
        for c in range(4):
            bits = (np.arange(c << 22, (c + 1) << 22, dtype=np.uint64) << 8).astype(np.uint32)
            x = bits.view(np.float32).reshape(1024, 4096)
            dst = np.zeros_like(x)
            L("ttanh_f32", dst, x, 1024, 4096)
            want = np.tanh(x.astype(np.float64)).astype(np.float32)
            assert ulp_diff(dst, want).max() <= 2
            assert np.array_equal(np.isnan(dst), np.isnan(x))
            if c == 0:
                d1 = np.zeros_like(x)
                L1("ttanh_f32", d1, x, 1024, 4096)
                assert np.array_equal(dst.view(np.uint32), d1.view(np.uint32))
        dst = np.zeros_like(edges)
        L("ttanh_f32", dst, edges, 1, len(edges))
        want = np.tanh(edges.astype(np.float64)).astype(np.float32)
    assert ulp_diff(dst, want).max() <= 2
    m = ~np.isnan(edges)
    assert (np.signbit(dst[m]) == np.signbit(edges[m])).all()
    assert_same(dst[np.isinf(edges)], np.sign(edges[np.isinf(edges)]))


def test_log_f32_dense_sweep(L, L1):
    """f32 TLOG (vectorised): 2^24 inputs over the whole range (negative ones give NaN) plus
    subnormals and specials; within 1 ulp of log in double rounded to f32 (documented: < 0.84
    ulp, faithful, measured exhaustively); AVX2 clone bit-identical to the portable build."""
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3e-45, 1.1754942e-38,
                      1.1754944e-38, 1.0, 0.99999994, 1.0000001, 2.0, 0.5, 0.70710677,
                      1.4142135, 3.4028235e38, -1.0, -1e-45, np.e, 10.0], np.float32)
    with np.errstate(all="ignore"):
        for c in range(4):
            bits = (np.arange(c << 22, (c + 1) << 22, dtype=np.uint64) << 8).astype(np.uint32)
            x = bits.view(np.float32).reshape(1024, 4096)
            dst = np.zeros_like(x)
            L("tlog_f32", dst, x, 1024, 4096)
            want = np.log(x.astype(np.float64)).astype(np.float32)
            assert ulp_diff(dst, want).max() <= 1
            assert np.array_equal(np.isnan(dst), np.isnan(want))
            if c == 0:
                d1 = np.zeros_like(x)
                L1("tlog_f32", d1, x, 1024, 4096)
                assert np.array_equal(dst.view(np.uint32), d1.view(np.uint32))
        dst = np.zeros_like(edges)
        L("tlog_f32", dst, edges, 1, len(edges))
        want = np.log(edges.astype(np.float64)).astype(np.float32)
    assert ulp_diff(dst, want).max() <= 1
    assert_same(dst[:4], want[:4])  # -inf, -inf, +inf, NaN
    assert dst[9] == 0.0 and not np.signbit(dst[9])  # log(1) = +0


@pytest.mark.parametrize("op", ["sin", "cos"])
def test_sincos_f32_dense_sweep(L, L1, op):
    """f32 TSIN/TCOS (the PTO-ISA composition, Cody-Waite reduction by pi/2 in three parts):
    2^24 inputs over the whole range plus edges.  For |x| <= 2^16 pi/2 the absolute error is
    below 8e-8 and within 1 ulp up to |x| = 100; beyond 2^16 pi/2 the
    reduction loses accuracy (documented), but finite x still give [-1, 1] and inf/NaN give
    NaN; sin keeps -0 and subnormals; the AVX2 clone (L) is bit-identical to the portable
    build (L1)."""
    fn = getattr(np, op)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, 2.4e-4, -2.5e-4,
                      0.7853982, 1.5707964, 3.1415927, -3.1415927, 6.2831855, 1e5, -1e5,
                      4.2e8, 1e20, 3.4028235e38], np.float32)
    with np.errstate(all="ignore"):
        for c in range(4):
            bits = (np.arange(c << 22, (c + 1) << 22, dtype=np.uint64) << 8).astype(np.uint32)
            x = bits.view(np.float32).reshape(1024, 4096)
            dst = np.zeros_like(x)
            L(f"t{op}_f32", dst, x, 1024, 4096)
            want = fn(x.astype(np.float64))
            ax = np.abs(x)
            assert np.abs(dst - want)[ax <= 102943].max() < 8e-8
            assert ulp_diff(dst[ax <= 100], want[ax <= 100].astype(np.float32)).max() <= 1
            assert np.array_equal(np.isnan(dst), ~np.isfinite(x))
            assert (np.abs(dst[np.isfinite(x)]) <= 1).all()
            if c == 1:
                d1 = np.zeros_like(x)
                L1(f"t{op}_f32", d1, x, 1024, 4096)
                assert np.array_equal(dst.view(np.uint32), d1.view(np.uint32))
        dst = np.zeros_like(edges)
        L(f"t{op}_f32", dst, edges, 1, len(edges))
        want = fn(edges.astype(np.float64))
    near = np.abs(edges) <= 1e5
    assert np.abs(dst - want)[near].max() < 8e-8
    assert np.isnan(dst[2:5]).all() and (np.abs(dst[17:]) <= 1).all()
    if op == "sin":
        assert np.signbit(dst[1]) and dst[5] == edges[5] and dst[6] == edges[6]
    else:
        assert dst[0] == 1.0 and dst[1] == 1.0


@pytest.mark.parametrize("sfx", ["f16", "bf16"])
def test_log_narrow_exhaustive(L, sfx):
    """f16/bf16 TLOG use the f32 kernel: all 65536 inputs within 1 ulp, almost all exact."""
    x = np.arange(1 << 16, dtype=np.uint16).view(NP[sfx]).reshape(256, 256)
    dst = np.zeros_like(x)
    L(f"tlog_{sfx}", dst, x, 256, 256)
    with np.errstate(all="ignore"):
        want = np.log(x.astype(np.float64)).astype(NP[sfx])
    d = ulp_diff(dst, want)
    assert d.max() <= 1
    assert (d != 0).sum() <= 4, int((d != 0).sum())  # measured: f16 1, bf16 0


@pytest.mark.parametrize("sfx", ["f16", "bf16"])
def test_tanh_narrow_exhaustive(L, sfx):
    """f16/bf16 TTANH use the f32 kernel: all 65536 inputs within 1 ulp, almost all exact."""
    x = np.arange(1 << 16, dtype=np.uint16).view(NP[sfx]).reshape(256, 256)
    dst = np.zeros_like(x)
    L(f"ttanh_{sfx}", dst, x, 256, 256)
    with np.errstate(all="ignore"):
        want = np.tanh(x.astype(np.float64)).astype(NP[sfx])
    d = ulp_diff(dst, want)
    assert d.max() <= 1
    assert (d != 0).sum() <= 4, int((d != 0).sum())  # measured: 0 and 0


@pytest.mark.parametrize("sfx", ["f16", "bf16"])
def test_exp_narrow_exhaustive(L, sfx):
    """f16/bf16 TEXP go through the f32 polynomial: every one of the 65536 inputs is within
    1 ulp of the correctly rounded result, and the f32 error is hidden by the final rounding
    for all but a handful of inputs (see docs/tile-library.md)."""
    x = np.arange(1 << 16, dtype=np.uint16).view(NP[sfx]).reshape(256, 256)
    dst = np.zeros_like(x)
    L(f"texp_{sfx}", dst, x, 256, 256)
    with np.errstate(all="ignore"):
        want = np.exp(x.astype(np.float64)).astype(NP[sfx])
    d = ulp_diff(dst, want)
    assert d.max() <= 1
    assert (d != 0).sum() <= 4, int((d != 0).sum())  # measured: f16 2, bf16 0


@pytest.mark.parametrize("sfx", ["f32", "f16"])
def test_recip_correctly_rounded(L, sfx):
    """TRECIP computes 1/x in float: bit-identical to 1/x in double rounded once."""
    rng = np.random.default_rng(21)
    with np.errstate(over="ignore"):
        x = (rng.standard_normal((64, 64)) * np.exp(rng.uniform(-20, 20, (64, 64))))
        x = x.astype(NP[sfx])
    x.flat[:8] = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, 6e-8, 65504]).astype(NP[sfx])
    dst = np.zeros_like(x)
    L(f"trecip_{sfx}", dst, x, 64, 64)
    with np.errstate(all="ignore"):
        assert_same(dst, (1.0 / x.astype(np.float64)).astype(NP[sfx]))


@pytest.mark.parametrize("sfx", INTS)
def test_unary_int(L, sfx):
    rng = np.random.default_rng(3)
    a = rand(sfx, (4, 16), rng)
    a.flat[0] = np.iinfo(NP[sfx]).min
    dst = np.zeros_like(a)
    L(f"tneg_{sfx}", dst, a, 4, 16)
    assert_same(dst, wrap(-a.astype(object), sfx))
    L(f"tnot_{sfx}", dst, a, 4, 16)
    assert_same(dst, np.invert(a))
    L(f"tabs_{sfx}", dst, a, 4, 16)
    assert_same(dst, wrap(np.abs(a.astype(object)), sfx))
    L(f"trelu_{sfx}", dst, a, 4, 16)
    assert_same(dst, np.maximum(a, 0).astype(NP[sfx]))


# ------------------------------------------------------------------------------------------
# reductions and broadcasts

SUM_LANES = 16


def ref_rowsum(x):
    """TROWSUM's documented order on an (R, C) array already in the accumulator dtype:
    C < 16: left to right; else 16 lanes s[l] = x[l] + x[l+16] + ... over the first
    16*floor(C/16) columns, the fixed pairwise tree s[l] += s[l+h] (h = 8, 4, 2, 1), then
    the remaining columns left to right."""
    R, C = x.shape
    if C < SUM_LANES:
        return np.cumsum(x, axis=1, dtype=x.dtype)[:, -1:]
    m = SUM_LANES * (C // SUM_LANES)
    s = x[:, :SUM_LANES].copy()
    for j in range(SUM_LANES, m, SUM_LANES):
        s = s + x[:, j:j + SUM_LANES]
    h = SUM_LANES // 2
    while h >= 1:
        s[:, :h] = s[:, :h] + s[:, h:2 * h]
        h //= 2
    acc = s[:, :1]
    for j in range(m, C):
        acc = acc + x[:, j:j + 1]
    return acc


@pytest.mark.parametrize("sfx", ALL)
# > 256: column chunking of TCOL*; < 16: no lanes; 16, 47, 64: lane edges; 300: lanes + tail
@pytest.mark.parametrize("C", [300, 13, 16, 47, 64])
def test_reductions(L, sfx, C):
    rng = np.random.default_rng(4)
    R = 7
    a = rand(sfx, (R, C), rng)
    if sfx in FLOATS:
        a[2, 5] = np.nan
        a[3, C - 1] = np.nan  # in the tail
    acc = np.float32 if sfx in ("f16", "bf16", "f32") else (np.float64 if sfx == "f64" else None)
    for axis, pre in ((1, "trow"), (0, "tcol")):
        shape = (R, 1) if axis == 1 else (1, C)
        dst = np.zeros(shape, NP[sfx])
        assert L(f"{pre}sum_{sfx}", dst, a, R, C) == (R if axis == 1 else C)
        if acc is not None and axis == 1:  # the documented lane order, in the accumulator type
            want = ref_rowsum(a.astype(acc)).astype(NP[sfx])
        elif acc is not None:  # column sums: sequential over i in the accumulator type
            want = np.cumsum(a.astype(acc), axis=axis, dtype=acc).take([-1], axis=axis)
            want = want.astype(NP[sfx])
        else:
            want = np.add.reduce(a, axis=axis, dtype=NP[sfx], keepdims=True)
        assert_same(dst, want)
        for op, fn in (("max", np.max), ("min", np.min)):
            L(f"{pre}{op}_{sfx}", dst, a, R, C)
            with np.errstate(invalid="ignore"):
                assert_same(dst, fn(a, axis=axis, keepdims=True))


@pytest.mark.parametrize("sfx", FLOATS)
def test_rowsum_accuracy_and_signed_zero(L, sfx):
    """The lane order is at least as accurate as the old left-to-right sum (it is pairwise
    across 16 lanes), and a row of -0.0 still sums to -0.0."""
    rng = np.random.default_rng(41)
    R, C = 64, 1024
    acc = np.float64 if sfx == "f64" else np.float32
    a = (rng.random((R, C)) + 0.5).astype(NP[sfx])  # same signs: error grows with length
    dst = np.zeros((R, 1), NP[sfx])
    L(f"trowsum_{sfx}", dst, a, R, C)
    exact = np.array([[float(sum(Fraction(float(v)) for v in row))] for row in a.astype(acc)])
    seq = np.cumsum(a.astype(acc), axis=1, dtype=acc)[:, -1:]
    if sfx in ("f32", "f64"):  # f16/bf16: the final rounding to the dtype dominates
        assert np.abs(dst.astype(np.float64) - exact).max() <= np.abs(seq - exact).max()
        assert np.abs(dst.astype(np.float64) - exact).mean() < np.abs(seq - exact).mean() / 4
    z = np.full((3, 40), -0.0, NP[sfx])
    L(f"trowsum_{sfx}", dst[:3], z, 3, 40)
    assert np.signbit(dst[:3].astype(np.float64)).all()


@pytest.mark.parametrize("sfx", FLOATS)
def test_rowmaxmin_nan_inf_positions(L, sfx):
    """NaN anywhere in a row (first lane, middle lane, tail, last) wins; +-inf are ordinary."""
    rng = np.random.default_rng(42)
    C = 77
    for pos in (0, 1, 15, 16, 31, 32, 50, 63, 64, 70, 76):
        a = rand(sfx, (3, C), rng)
        a[0, pos] = np.nan
        a[1, pos] = np.inf
        a[2, pos] = -np.inf
        dst = np.zeros((3, 1), NP[sfx])
        for op, fn in (("max", np.max), ("min", np.min)):
            L(f"trow{op}_{sfx}", dst, a, 3, C)
            with np.errstate(invalid="ignore"):
                assert_same(dst, fn(a, axis=1, keepdims=True))


@pytest.mark.parametrize("sfx", ALL)
def test_broadcasts(L, sfx):
    rng = np.random.default_rng(5)
    R, C = 6, 40
    a = rand(sfx, (R, C), rng)
    rv = rand(sfx, (R, 1), rng)
    cv = rand(sfx, (1, C), rng)
    if sfx in INTS:
        rv[0, 0] = 0
        cv[0, 1] = 0
    dst = np.zeros_like(a)
    L(f"trowexpand_{sfx}", dst, rv, R, C)
    assert_same(dst, np.broadcast_to(rv, (R, C)))
    L(f"tcolexpand_{sfx}", dst, cv, R, C)
    assert_same(dst, np.broadcast_to(cv, (R, C)))
    for op in spec.EXPAND_OPS:
        for pre, v in (("trowexpand", rv), ("tcolexpand", cv)):
            assert L(f"{pre}{op}_{sfx}", dst, a, v, R, C) == R * C
            vb = np.ascontiguousarray(np.broadcast_to(v, (R, C)))
            want = ref_int_binop(op, a, vb, sfx) if sfx in INTS else ref_float_binop(op, a, vb)
            assert_same(dst, want)


# ------------------------------------------------------------------------------------------
# matmul

def fma32(a, b, c):
    """IEEE single-precision fused multiply-add, element-wise: a*b + c rounded once.

    a*b is exact in f64 (48 bits). TwoSum gives the f64 sum s and its exact error e; s rounds
    to the right f32 unless s is a tie of the f32 grid, where the sign of e decides."""
    p, c = a.astype(np.float64) * b.astype(np.float64), c.astype(np.float64)
    s = p + c
    bv = s - p
    e = (p - (s - bv)) + (c - bv)
    r = s.astype(np.float32)
    nb = np.nextafter(r, np.where(s > r, np.float32(np.inf), np.float32(-np.inf)))
    tie = (r != s) & (2 * s == r.astype(np.float64) + nb.astype(np.float64))
    return np.where(tie & (e != 0) & ((e > 0) == (nb > r)), nb, r)


def seq_matmul(a, b, c0, acc):
    """C = c0 + sum_k a[:, k] * b[k, :] sequentially in the accumulator type, one fused
    multiply-add per step for floats."""
    c = c0.astype(acc).copy()
    A, B = a.astype(acc), b.astype(acc)
    for p in range(a.shape[1]):
        if acc == np.int32:
            c = (c.astype(np.int64) + A[:, p:p + 1].astype(np.int64) * B[p:p + 1, :]).astype(np.int64)
            c = wrap(c.astype(object), "i32")
        else:
            c = fma32(np.broadcast_to(A[:, p:p + 1], c.shape), np.broadcast_to(B[p:p + 1, :], c.shape), c)
    return c


def test_fma32_reference():
    """The reference fma equals rational arithmetic rounded once to nearest-even, including
    sums that f64 rounds onto a tie of the f32 grid (where a plain f64 sum rounds wrongly)."""
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal(3000).astype(np.float32) for _ in range(3))
    u = np.float32(2 ** -23)
    a[:2], b[:2], c[:2] = [1 + u, -1 - u], 1 - u, 2 ** 24 + 2  # 2^24 + 3 - 2^-46, 2^24 + 1 + 2^-46
    want = []
    for x, y, z in zip(a, b, c):
        v = Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))
        r = np.float32(float(v))
        near = [np.nextafter(r, np.float32(-np.inf)), r, np.nextafter(r, np.float32(np.inf))]
        want.append(min(near, key=lambda q: (abs(Fraction(float(q)) - v), int(q.view(np.uint32)) & 1)))
    assert list(fma32(a, b, c)[:2]) == [2 ** 24 + 2, 2 ** 24 + 2]
    assert_same(fma32(a, b, c), np.array(want, np.float32))


@pytest.mark.parametrize("sfx", spec.MATMUL)
@pytest.mark.parametrize("mkn", [(1, 1, 1), (7, 5, 13), (16, 32, 24), (33, 17, 70)])
def test_matmul(L, sfx, mkn):
    m, k, n = mkn
    rng = np.random.default_rng(6)
    acc = np.int32 if sfx == "i8" else np.float32
    if sfx == "i8":
        a, b = rand("i8", (m, k), rng), rand("i8", (k, n), rng)
    else:
        a, b = rand(sfx, (m, k), rng, 1.0), rand(sfx, (k, n), rng, 1.0)
    c = np.full((m, n), 99, acc)
    assert L(f"tmatmul_{sfx}", c, a, b, m, k, n) == m * k * n
    want = seq_matmul(a, b, np.zeros((m, n), acc), acc)
    assert_same(c, want)
    if sfx != "i8":
        np.testing.assert_allclose(c, a.astype(np.float64) @ b.astype(np.float64),
                                   rtol=1e-4, atol=1e-4 * k)
    c0 = rand("f32", (m, n), rng).astype(acc) if sfx != "i8" else rand("i32", (m, n), rng)
    c = c0.copy()
    L(f"tmatmul_acc_{sfx}", c, a, b, m, k, n)
    assert_same(c, seq_matmul(a, b, c0, acc))


@pytest.mark.parametrize("sfx", ["f32", "f16", "i8"])
@pytest.mark.parametrize("lib", ["L1", "L2"])
def test_matmul_other_kernels(request, lib, sfx):
    """The portable kernel (built with PTO_TILE_NO_AVX2) and the AVX2+FMA clone (built with
    PTO_TILE_NO_AVX512) give the same bits as the fma reference (the AVX-512 one: test_matmul)."""
    rng = np.random.default_rng(16)
    m, k, n = 33, 17, 70
    acc = np.int32 if sfx == "i8" else np.float32
    a, b = rand(sfx, (m, k), rng, 1.0), rand(sfx, (k, n), rng, 1.0)
    c0 = rand("i32" if sfx == "i8" else "f32", (m, n), rng).astype(acc)
    c = c0.copy()
    request.getfixturevalue(lib)(f"tmatmul_acc_{sfx}", c, a, b, m, k, n)
    assert_same(c, seq_matmul(a, b, c0, acc))


@pytest.mark.parametrize("lib", ["L", "L2"])
def test_matmul_strided_operands(request, lib):
    """pto_tmatmul[_acc]_ld_f32 reads A and B with row strides: the same bits as contiguous."""
    rng = np.random.default_rng(17)
    m, k, n = 20, 24, 40
    big_a, big_b = rand("f32", (m + 3, 3 * k), rng, 1.0), rand("f32", (k + 1, 2 * n), rng, 1.0)
    a, b = big_a[2:2 + m, 5:5 + k], big_b[1:, 7:7 + n]
    lib = request.getfixturevalue(lib)
    for acc in (False, True):
        c0 = rand("f32", (m, n), rng)
        c = c0.copy() if acc else np.full((m, n), 99, np.float32)
        name = "tmatmul_acc_ld_f32" if acc else "tmatmul_ld_f32"
        assert lib(name, c, view_args(big_a, a)[0], 3 * k, view_args(big_b, b)[0], 2 * n,
                   m, k, n) == m * k * n
        assert_same(c, seq_matmul(a, b, c0 if acc else np.zeros((m, n), np.float32), np.float32))


@pytest.mark.parametrize("lib", ["L", "L1", "L2"])
def test_matmul_packs_strided_b_for_tall_c(request, lib):
    """With 128 or more rows of C, a strided B is copied into a contiguous tile first (every
    kernel): the same bits as the sequential fma reference."""
    rng = np.random.default_rng(18)
    m, k, n = 131, 5, 40
    big_b = rand("f32", (k, 3 * n), rng, 1.0)
    a, b, c0 = rand("f32", (m, k), rng, 1.0), big_b[:, n:2 * n], rand("f32", (m, n), rng)
    c = c0.copy()
    request.getfixturevalue(lib)("tmatmul_acc_ld_f32", c, a, k, view_args(big_b, b)[0], 3 * n,
                                 m, k, n)
    assert_same(c, seq_matmul(a, b, c0, np.float32))


def test_matmul_large_f16_uses_heap_scratch(L):
    rng = np.random.default_rng(7)
    m, k, n = 64, 96, 80  # m*k + k*n > 4096 floats of stack scratch
    a, b = rand("f16", (m, k), rng, 1.0), rand("f16", (k, n), rng, 1.0)
    c = np.zeros((m, n), np.float32)
    L("tmatmul_f16", c, a, b, m, k, n)
    assert_same(c, seq_matmul(a, b, np.zeros((m, n), np.float32), np.float32))


# ------------------------------------------------------------------------------------------
# loads and stores

def view_args(base, view):
    isz = base.itemsize
    off = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0])
    rs, cs = view.strides[0] // isz, view.strides[1] // isz
    return (base, off), rs, cs


@pytest.mark.parametrize("sfx", ALL)
def test_load_store_strided(L, sfx):
    rng = np.random.default_rng(8)
    base = rand(sfx, (20, 30), rng)
    views = [base[2:10, 3:19], base[2:10:2, 29:3:-3], base.T[4:20, 1:9], base[::-1, ::-2][:7, :5],
             base[5:6, :]]
    for v in views:
        r, c = v.shape
        tile = np.zeros((r, c), NP[sfx])
        g, rs, cs = view_args(base, v)
        assert L(f"tload_{sfx}", tile, g, rs, cs, r, c) == r * c
        assert_same(tile, np.ascontiguousarray(v))
        out = np.zeros_like(base)
        # store the tile into the same view position of a zero array
        g2, rs2, cs2 = view_args(out, _same_view(out, base, v))
        src = rand(sfx, (r, c), rng)
        assert L(f"tstore_{sfx}", g2, src, rs2, cs2, r, c) == r * c
        expect = np.zeros_like(base)
        _same_view(expect, base, v)[...] = src
        assert_same(out, expect)


def _same_view(arr, base, v):
    """The view of ``arr`` with the same offset and strides as ``v`` has in ``base``."""
    off = v.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return np.lib.stride_tricks.as_strided(arr.reshape(-1)[off // base.itemsize:], v.shape,
                                           v.strides)


# ------------------------------------------------------------------------------------------
# compare / select / fill / iota / data movement / sort

@pytest.mark.parametrize("sfx", ALL)
def test_compare_select(L, sfx):
    rng = np.random.default_rng(9)
    R, C = 4, 20
    a, b = small_ints(sfx, (R, C), rng, -3, 3), small_ints(sfx, (R, C), rng, -3, 3)
    if sfx in FLOATS:
        a.flat[0] = np.nan
        b.flat[1] = np.nan
        a.flat[2], b.flat[2] = NP[sfx](-0.0), NP[sfx](0.0)
    m = np.zeros((R, C), np.uint8)
    ops = {"EQ": np.equal, "NE": np.not_equal, "LT": np.less, "LE": np.less_equal,
           "GT": np.greater, "GE": np.greater_equal}
    s = NP[sfx](1)
    with np.errstate(invalid="ignore"):
        for name, fn in ops.items():
            assert L(f"tcmp_{sfx}", m, a, b, CMP[name], R, C) == R * C
            assert_same(m, fn(a, b).astype(np.uint8))
            L(f"tcmps_{sfx}", m, a, s, CMP[name], R, C)
            assert_same(m, fn(a, s).astype(np.uint8))
    m.fill(7)
    L(f"tcmp_{sfx}", m, a, b, 99, R, C)  # unknown mode: all false, never garbage
    assert not m.any()
    mask = (rng.random((R, C)) < 0.5).astype(np.uint8)
    dst = np.zeros_like(a)
    assert L(f"tsel_{sfx}", dst, mask, a, b, R, C) == R * C
    assert_same(dst, np.where(mask.astype(bool), a, b))
    L(f"tsels_{sfx}", dst, mask, a, NP[sfx](2), R, C)
    assert_same(dst, np.where(mask.astype(bool), a, NP[sfx](2)))


@pytest.mark.parametrize("sfx", ALL)
def test_fill_iota_moves(L, sfx):
    rng = np.random.default_rng(10)
    R, C = 3, 16
    dst = np.zeros((R, C), NP[sfx])
    assert L(f"texpands_{sfx}", dst, NP[sfx](5), R, C) == R * C
    assert_same(dst, np.full((R, C), 5, NP[sfx]))
    idx = np.arange(R * C).reshape(R, C)
    L(f"tci_{sfx}", dst, NP[sfx](3), NP[sfx](2), R, C)
    assert_same(dst, (3 + 2 * idx).astype(NP[sfx]))
    if sfx in INTS:  # descending; unsigned wraps modulo 2^bits
        L(f"tci_{sfx}", dst, NP[sfx](10), (1 << (8 * spec.ESIZE[sfx])) - 1 if sfx in UINTS else -1,
          R, C)
        assert_same(dst, wrap(10 - idx.astype(object), sfx))
    else:
        L(f"tci_{sfx}", dst, NP[sfx](10), NP[sfx](-0.5), R, C)
        assert_same(dst, (10 - 0.5 * idx).astype(NP[sfx]))
    a, b = rand(sfx, (R, C), rng), rand(sfx, (R, C), rng)
    L(f"tmov_{sfx}", dst, a, R, C)
    assert_same(dst, a)
    half = np.zeros((R, C // 2), NP[sfx])
    # slices and interleave take the SOURCE shape; the cost counts the dst
    assert L(f"tslice_even_{sfx}", half, a, R, C) == R * C // 2
    assert_same(half, a[:, 0::2])
    L(f"tslice_odd_{sfx}", half, a, R, C)
    assert_same(half, a[:, 1::2])
    a2, b2 = a[:, :C // 2].copy(), b[:, :C // 2].copy()
    assert L(f"tinterleave_{sfx}", dst, a2, b2, R, C // 2) == R * C
    want = np.empty((R, C), NP[sfx])
    want[:, 0::2], want[:, 1::2] = a2, b2
    assert_same(dst, want)


def ref_sort32(vals, idx):
    R, C = vals.shape
    ov, oi = np.empty_like(vals), np.empty_like(idx)
    v64 = vals.astype(np.float64)
    for i in range(R):
        for j0 in range(0, C, 32):
            v = v64[i, j0:j0 + 32]
            nan = np.isnan(v)
            order = np.lexsort((np.arange(len(v)), -np.where(nan, 0, v), -nan.astype(int)))
            ov[i, j0:j0 + 32] = vals[i, j0:j0 + 32][order]
            oi[i, j0:j0 + 32] = idx[i, j0:j0 + 32][order]
    return ov, oi


@pytest.mark.parametrize("sfx", ALL)
def test_sort32(L, sfx):
    rng = np.random.default_rng(11)
    R, C = 3, 72  # two full blocks and a partial block of 8 per row
    vals = small_ints(sfx, (R, C), rng, -4, 4)  # many ties: stability matters
    if sfx in FLOATS:
        vals[0, 3] = vals[0, 10] = np.nan
        vals[1, 0], vals[1, 1] = NP[sfx](-0.0), NP[sfx](0.0)
        vals[2, 5], vals[2, 6] = NP[sfx](np.inf), NP[sfx](-np.inf)
    idx = rng.permutation(R * C).astype(np.uint32).reshape(R, C)
    dv, di = np.zeros_like(vals), np.zeros_like(idx)
    assert L(f"tsort32_{sfx}", dv, di, vals, idx, R, C) == 5 * R * C
    wv, wi = ref_sort32(vals, idx)
    assert_same(dv, wv)
    assert_same(di, wi)
    if sfx in FLOATS:  # -0.0 and +0.0 are equal: original order kept
        assert np.signbit(dv.astype(np.float64)[1][dv[1].astype(np.float64) == 0][0])
    # cross-check a no-tie f32 block against argsort(kind="stable")
    if sfx == "f32":
        v = rng.standard_normal((1, 32)).astype(np.float32)
        ii = np.arange(32, dtype=np.uint32).reshape(1, 32)
        dv, di = np.zeros_like(v), np.zeros_like(ii)
        L("tsort32_f32", dv, di, v, ii, 1, 32)
        order = np.argsort(-v[0], kind="stable")
        assert_same(di[0], order)


# ------------------------------------------------------------------------------------------
# TCVT: exact references from rational arithmetic

FMT = {"f16": (11, -14, 15), "bf16": (8, -126, 127), "f32": (24, -126, 127),
       "f64": (53, -1022, 1023)}


def _round_int(x: Fraction, mode: str) -> int:
    fl = x.numerator // x.denominator
    fr = x - fl
    if fr == 0:
        return fl
    if mode == "FLOOR":
        return fl
    if mode == "CEIL":
        return fl + 1
    if mode == "TRUNC":
        return fl if x > 0 else fl + 1
    if mode == "ODD":
        t = fl if x > 0 else fl + 1
        return t if t % 2 else (t + 1 if x > 0 else t - 1)
    if mode == "ROUND":
        if fr == Fraction(1, 2):
            return fl + 1 if x > 0 else fl
        return fl + (1 if fr > Fraction(1, 2) else 0)
    # RINT / NONE
    if fr == Fraction(1, 2):
        return fl if fl % 2 == 0 else fl + 1
    return fl + (1 if fr > Fraction(1, 2) else 0)


def round_to_format(x: Fraction, fmt: str, mode: str) -> float:
    """Correctly rounded value of x in the format under the mode (IEEE overflow rules)."""
    p, emin, emax = FMT[fmt]
    if x == 0:
        return 0.0
    neg = x < 0
    a = -x if neg else x
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, emin)
    q = Fraction(2) ** (e - p + 1)
    # round the signed quantum count so FLOOR/CEIL act on the signed value
    mq = _round_int(x / q, mode)
    val = mq * q
    big = (2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax
    if abs(val) > big:
        to_inf = {"RINT": True, "NONE": True, "ROUND": True, "TRUNC": False, "ODD": False,
                  "FLOOR": neg, "CEIL": not neg}[mode]
        return (-1 if neg else 1) * (float("inf") if to_inf else float(big))
    if val == 0:
        return -0.0 if neg else 0.0
    return float(val)


def exact(v) -> Fraction | float:
    if isinstance(v, (np.integer, int)):
        return Fraction(int(v))
    f = float(v)
    return f if not np.isfinite(f) else Fraction(f)


def ref_cvt(src, D, mode):
    out = []
    for v in np.ravel(src):
        x = exact(v)
        if D in FLOATS:
            if isinstance(x, float) or x == 0:
                out.append(float(v))  # inf, nan, signed zero pass through
            else:
                out.append(round_to_format(x, D, mode))
        else:
            info = np.iinfo(NP[D])
            if isinstance(x, float):
                out.append(0 if np.isnan(x) else (info.max if x > 0 else info.min))
            elif isinstance(v, (np.integer, int)):
                out.append(int(wrap(np.array([int(v)], dtype=object), D)[0]))
            else:
                out.append(min(max(_round_int(x, mode), int(info.min)), int(info.max)))
    if D in FLOATS:
        return np.array(out, dtype=np.float64).reshape(np.shape(src))
    return np.array(out, dtype=object).reshape(np.shape(src))


def check_cvt(got, want, D, ctx):
    if D in FLOATS:
        g = got.astype(np.float64)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(want), err_msg=ctx)
        m = ~np.isnan(g)
        np.testing.assert_array_equal(g[m], want[m], err_msg=ctx)
        np.testing.assert_array_equal(np.signbit(g[m]), np.signbit(want[m]), err_msg=ctx)
    else:
        assert [int(v) for v in got.ravel()] == [int(v) for v in want.ravel()], ctx


def cvt_inputs(S, D, rng, n=96):
    """Values of dtype S: random ones, exact ties/quarter points of D's grid, specials."""
    vals: list = []
    if S in FLOATS:
        x = rand(S, (n,), rng, 40.0).astype(np.float64)
        vals += list(x)
        if D in FLOATS:
            # D-grid neighbours, midpoints and quarter points around random D values
            p, emin, emax = FMT[D]
            ps, emins, emaxs = FMT[S]
            for _ in range(n):
                e = int(rng.integers(max(emin, emins) - 3, min(emax, emaxs) + 1))
                m = int(rng.integers(1 << (p - 1), 1 << p))
                ulp = Fraction(2) ** (max(e, emin) - p + 1)
                base = Fraction(m) * Fraction(2) ** (e - p + 1)
                sgn = -1 if rng.random() < 0.5 else 1
                for frac in (Fraction(1, 2), Fraction(1, 4), Fraction(3, 4)):
                    vals.append(sgn * (base + frac * ulp))
            big = (2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax
            tiny = Fraction(2) ** (emin - p + 1)
            vals += [big, -big, big + Fraction(2) ** (emax - p), big * Fraction(3, 2), tiny,
                     tiny / 2, -tiny / 2, tiny * Fraction(3, 2), tiny / 4]
        else:
            vals += [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.7, -3.7, 1e30, -1e30, 1e10, -1e10]
        vals += [0.0, -0.0, float("inf"), float("-inf"), float("nan")]
        out = []
        for v in vals:
            try:
                fv = float(v)
            except OverflowError:
                continue
            if not np.isfinite(fv):
                out.append(fv)
                continue
            with np.errstate(all="ignore"):
                cv = np.array([fv]).astype(NP[S])
            if isinstance(v, Fraction) and (not np.isfinite(float(cv[0])) or
                                           Fraction(float(cv[0])) != v):
                continue  # not representable in S
            out.append(float(cv[0]))
        with np.errstate(all="ignore"):
            return np.array(out, dtype=np.float64).astype(NP[S])
    info = np.iinfo(NP[S])
    ints = list(rand(S, (n,), rng).astype(object))
    ints += [0, 1, -1, info.max, info.min, info.max - 1, (1 << 24) + 1, (1 << 24) + 3,
             (1 << 53) + 1, (1 << 53) + 3, -(1 << 24) - 1, 2049, 2051, 257, 259, 65519, 65520]
    ints = [v for v in ints if info.min <= v <= info.max]
    return np.array(ints, dtype=object).astype(NP[S])


@pytest.mark.parametrize("S", ALL)
def test_cvt_all_pairs_rint(L, S):
    rng = np.random.default_rng(12)
    for D in ALL:
        x = cvt_inputs(S, D, rng, n=24).reshape(1, -1)
        dst = np.zeros(x.shape, NP[D])
        assert L(f"tcvt_{D}_{S}", dst, x, RM["RINT"], 1, x.shape[1]) == x.shape[1]
        check_cvt(dst, ref_cvt(x, D, "RINT"), D, f"{S}->{D}")


CVT_MODE_PAIRS = [("f64", "f32"), ("f32", "f16"), ("f32", "bf16"), ("f64", "f16"),
                  ("f64", "bf16"), ("f16", "bf16"), ("bf16", "f16"), ("i64", "f32"),
                  ("i64", "f64"), ("u64", "f64"), ("u64", "bf16"), ("i32", "f16"), ("u32", "f32"),
                  ("f32", "i32"), ("f64", "i64"), ("f16", "i8"), ("f32", "u8"), ("f64", "u64"),
                  ("bf16", "i16"), ("f32", "f32")]


@pytest.mark.parametrize("S,D", CVT_MODE_PAIRS)
def test_cvt_round_modes(L, S, D):
    rng = np.random.default_rng(13)
    x = cvt_inputs(S, D, rng).reshape(1, -1)
    for mode in RM:
        dst = np.zeros(x.shape, NP[D])
        L(f"tcvt_{D}_{S}", dst, x, RM[mode], 1, x.shape[1])
        check_cvt(dst, ref_cvt(x, D, mode), D, f"{S}->{D} {mode}")


def test_bf16_helpers_match_ml_dtypes(L):
    rng = np.random.default_rng(14)
    bits = rng.integers(0, 1 << 32, size=4096, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32).reshape(64, 64)
    dst = np.zeros((64, 64), BF16)
    L("tcvt_bf16_f32", dst, x, RM["RINT"], 64, 64)
    with np.errstate(invalid="ignore"):
        assert_same(dst, x.astype(BF16))
    back = np.zeros((64, 64), np.float32)
    L("tcvt_f32_bf16", back, dst, RM["RINT"], 64, 64)
    assert_same(back, dst.astype(np.float32))
    nan = np.isnan(x)
    assert np.isnan(dst.astype(np.float32)[nan]).all()


# ------------------------------------------------------------------------------------------
# cycle cost models (docs/tile-library.md, "Cycle cost models")

_ALU_SIMPLE = {"tadd", "tsub", "tmul", "tmax", "tmin", "tand", "tor", "txor", "tshl", "tshr",
               "tabs", "tneg", "trelu", "tnot", "tcmp", "tcmps", "tsel", "tsels", "texpands",
               "tci", "tmov", "tslice_even", "tslice_odd", "tinterleave", "tcolexpand",
               "trsubs"}
_TRANS = {"tdiv", "trem", "tdivs", "trems", "trdivs", "tcolexpanddiv"} | {
    t for t in spec.TRANSC}


def _split(name):
    """'pto_tadds_f32' -> ('tadds', 'f32'); tcvt -> ('tcvt', (dst, src))."""
    body = name[4:]
    if body.startswith("tcvt_"):
        _, d, s = body.split("_")
        return "tcvt", (d, s)
    op, sfx = body.rsplit("_", 1)
    return op, ("u8" if sfx == "bool" else sfx)


def cost_class(op):
    if op in _TRANS:
        return "TRANS"
    if op in ("trowsum", "tcolsum"):
        return "REDSUM"
    if op in ("trowmax", "trowmin", "tcolmax", "tcolmin"):
        return "REDMAX"
    if op == "trowexpand":
        return "EXPAND"
    if op.startswith("trowexpand"):
        return "EXPANDOP"
    if (op in _ALU_SIMPLE or op == "tcvt" or op.startswith("tcolexpand")
            or (op.endswith("s") and op[:-1] in _ALU_SIMPLE)):
        return "ALU"
    raise AssertionError(op)


def a2_vec(cls, rows, cols, esize):
    n = rows * cols
    rep = -(-n * esize // 256)
    floor16 = 16 if (cols * esize) % 256 else 0
    if cls == "TRANS":
        return (314 * n + 301000 + 5000) // 10000  # round(0.0314 n + 30.1)
    if cls == "REDSUM":
        return 4 * rep + 62 + floor16
    if cls == "REDMAX":
        return 4 * rep + 48 + floor16
    if cls == "EXPAND":
        return (753 * rep + 3450 + 50) // 100 + floor16  # round(7.53 rep + 34.5)
    if cls == "EXPANDOP":
        return (964 * rep + 3450 + 50) // 100 + floor16  # round(9.64 rep + 34.5)
    return (211 * rep + 50) // 100 + 24 + floor16  # round(2.11 rep) + 24


def expected_cost(model, name, R, C, mkn):
    op, sfx = _split(name)
    if op.startswith("tmatmul"):
        m, k, n = mkn
        if model == 0:
            return m * k * n
        esz = spec.ESIZE[sfx]
        kk = 32 // esz
        krep = 2 if sfx == "f32" else 1
        return 6 + krep * -(-m // 16) * -(-k // kk) * -(-n // 16)
    if op == "tsort32":
        return 5 * R * C if model == 0 else (211 * 4 * R * -(-C // 32) + 50) // 100 + 24
    if op in ("tload", "tstore"):
        if model == 0:
            return R * C
        nbytes = R * C * spec.ESIZE[sfx]
        bw = 1009 if op == "tload" else 1885  # 100.9 / 188.5 GB/s at 1.85 GHz
        return -(-nbytes * 18_500_000_000 // (bw * 2 ** 30))
    steps = COMPOSED.get(op, ()) if sfx != "f64" else ()
    if steps:  # f32 instruction sequences (f16/bf16 with two TCVTs): TEXP and TDIVS are TRANS
        trans = sum(st[0] in ("TEXP", "TDIVS") for st in steps)
        alu = len(steps) - trans + 2 * (sfx != "f32")
        if model == 0:
            return (alu + trans) * R * C
        return alu * a2_vec("ALU", R, C, 4) + trans * a2_vec("TRANS", R, C, 4)
    es = {**spec.ESIZE, "bool": 1}
    esize = max(es[sfx[0]], es[sfx[1]]) if op == "tcvt" else es[sfx]
    cls = cost_class(op)
    if op == "tci":  # one TCI over the tile as a [1, R*C] row (step 1 here)
        R, C = 1, R * C
    elif op in ("tslice_even", "tslice_odd"):  # dims are the source shape; cost counts the dst
        C = C // 2
    elif op == "tinterleave":
        C = 2 * C
    if model == 0:
        if cls.startswith("RED"):
            return R if op.startswith("trow") else C
        return R * C
    return a2_vec(cls, R, C, esize)


def call_for_cost(lib, name, R, C, mkn):
    """Call any library function on zero-filled buffers with dims (R, C) (or mkn)."""
    _, sig = SIGS[name]
    dims = list(mkn) if name.startswith("pto_tmatmul") else [R, C]
    bufs = iter([np.zeros(1 << 17, np.uint8) for _ in range(4)])
    strides = iter([C, 1])
    args = []
    for k, ch in enumerate(sig):
        if ch == "T":
            args.append(next(bufs))
        elif ch == "S":
            args.append(1)
        elif ch == "l":  # tload/tstore strides: row-major contiguous
            args.append(next(strides))
        elif k >= len(sig) - len(dims):
            args.append(dims[k - (len(sig) - len(dims))])
        else:
            args.append(0)  # round / compare mode
    return lib(name[4:], *args)


@pytest.mark.parametrize("model", [0, 1])
def test_cost_tables(L, L1, model):
    lib = L if model == 0 else L1
    entries = CATALOGUE if model == 0 else COST_ENTRIES
    for R, C, mkn in ((32, 128, (64, 64, 64)), (3, 10, (7, 5, 13)), (1, 300, (128, 64, 256))):
        for name, _, _ in entries:
            got = call_for_cost(lib, name, R, C, mkn)
            assert got == expected_cost(model, name, R, C, mkn), (name, R, C, model)


def test_cost_anchors_a2(L1):
    """Published A2/A3 anchors (pto-isa.md 2.4) reproduced by the A2/A3-like model."""
    c = lambda n, R=32, C=128, mkn=(64, 64, 64): call_for_cost(L1, "pto_" + n, R, C, mkn)  # noqa
    assert c("tadd_f32") == 159           # 2.11 * 64 repeats + 24
    assert c("trowsum_f32") == 318        # 0.0625 * 4096 + 61.5
    assert c("trowexpand_f32") == 516     # 0.1176 * 4096 + 34.5
    assert c("texp_f32") == 159           # 0.0314 * 4096 + 30.1
    assert c("tload_f32") == 280          # 16 KB GM->UB
    assert c("tstore_f32") == 150         # 16 KB UB->GM
    assert c("tmatmul_f16") == 70         # 64^3 f16
    assert c("tmatmul_f32") == 262        # 64^3 f32
    assert c("tmatmul_f16", mkn=(128, 64, 256)) == 518


def test_bf16_scalar_rounded_once_from_double(L):
    # 1 + 2^-8 + 2^-30: through float it would become the tie 1 + 2^-8 and round to 1.0
    dst = np.zeros((1, 4), BF16)
    L("texpands_bf16", dst, 1 + 2.0 ** -8 + 2.0 ** -30, 1, 4)
    assert_same(dst, np.full((1, 4), 1 + 2.0 ** -7, BF16))


def test_f16_conversions_exhaustive(L):
    """Software f16 <-> f32 conversions: every f16 value, every f16 midpoint, random f32s."""
    h = np.arange(1 << 16, dtype=np.uint16).view(np.float16).reshape(256, 256)
    f = np.zeros((256, 256), np.float32)
    L("tcvt_f32_f16", f, h, RM["RINT"], 256, 256)
    assert_same(f, h.astype(np.float32))
    assert (np.signbit(f) == np.signbit(h)).all()
    # midpoints between consecutive finite f16 values (ties), and random f32 bit patterns
    fin = np.arange(0, 0x7c00, dtype=np.uint16).view(np.float16).astype(np.float64)
    mids = ((fin[:-1] + fin[1:]) / 2).astype(np.float32)
    rng = np.random.default_rng(15)
    rnd_bits = rng.integers(0, 1 << 32, size=(1 << 16) - 2 * len(mids), dtype=np.uint64)
    x = np.concatenate([mids, -mids, rnd_bits.astype(np.uint32).view(np.float32)])
    x = x[: 1 << 16].reshape(256, 256)
    out = np.zeros((256, 256), np.float16)
    L("tcvt_f16_f32", out, x, RM["RINT"], 256, 256)
    with np.errstate(all="ignore"):
        assert_same(out, x.astype(np.float16))


@pytest.mark.parametrize("S", ALL)
def test_cvt_to_bool(L, S):
    rng = np.random.default_rng(18)
    x = small_ints(S, (3, 16), rng, -2, 3)
    if S in FLOATS:
        x.flat[:4] = np.array([np.nan, -0.0, 0.25, -np.inf]).astype(NP[S])
    elif S in INTS:
        x.flat[0] = 256 % (np.iinfo(NP[S]).max + 1)  # 0 for u8/i8 wrap, 256 otherwise
    dst = np.full((3, 16), 7, np.uint8)
    assert L(f"tcvt_bool_{S}", dst, x, RM["RINT"], 3, 16) == 48
    with np.errstate(invalid="ignore"):
        assert_same(dst, x.astype(bool).astype(np.uint8))


def test_tnot_bool(L):
    m = np.array([[0, 1, 1, 0, 2]], np.uint8)  # any nonzero byte is true
    d = np.zeros_like(m)
    assert L("tnot_bool", d, m, 1, 5) == 5
    assert_same(d, np.array([[1, 0, 0, 1, 0]], np.uint8))


def test_unknown_cost_model_is_a_build_error(tmp_path):
    (tmp_path / "t.c").write_text('#include "pto_tile.h"\n')
    proc = subprocess.run(["gcc", "-std=gnu11", "-fsyntax-only", "-DPTO_COST_MODEL=2",
                           f"-I{runtime_dir()}", str(tmp_path / "t.c")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "PTO_COST_MODEL must be 0" in proc.stderr

/* pto_tile_ew.h -- memory, element-wise, scalar, unary, compare/select, fill/iota and data
 * movement instructions.  Included by pto_tile.h. */
#ifndef PTO_TILE_EW_H
#define PTO_TILE_EW_H

#include "pto_tile_core.h"

/* ---- element operations: OP(sfx, x, y) on compute-type values ------------------------------ */
#define PTO__F_ADD(s, x, y) ((x) + (y))
#define PTO__F_SUB(s, x, y) ((x) - (y))
#define PTO__F_MUL(s, x, y) ((x) * (y))
#define PTO__F_DIV(s, x, y) ((x) / (y))
/* max/min propagate NaN like numpy.maximum/minimum */
#define PTO__F_MAX(s, x, y) (((x) > (y) || (x) != (x)) ? (x) : (y))
#define PTO__F_MIN(s, x, y) (((x) < (y) || (x) != (x)) ? (x) : (y))
#define PTO__F_REM(s, x, y) ((PTO_C_##s)fmod((double)(x), (double)(y))) /* exact */

#define PTO__IU(s, x) ((PTO_W_##s)(PTO_U_##s)(x))
#define PTO__I_ADD(s, x, y) ((PTO_T_##s)(PTO__IU(s, x) + PTO__IU(s, y)))
#define PTO__I_SUB(s, x, y) ((PTO_T_##s)(PTO__IU(s, x) - PTO__IU(s, y)))
#define PTO__I_MUL(s, x, y) ((PTO_T_##s)(PTO__IU(s, x) * PTO__IU(s, y)))
/* C semantics (truncation toward zero); x/0 = 0; signed MIN/-1 wraps to MIN */
#define PTO__S_DIV(s, x, y)                                                                       \
    ((y) == 0 ? (PTO_T_##s)0                                                                      \
              : ((y) == -1 ? (PTO_T_##s)((PTO_W_##s)0 - PTO__IU(s, x)) : (PTO_T_##s)((x) / (y))))
#define PTO__U_DIV(s, x, y) ((y) == 0 ? (PTO_T_##s)0 : (PTO_T_##s)((x) / (y)))
/* C remainder (sign of the dividend, = numpy.fmod); x%0 = 0; signed x%-1 = 0 */
#define PTO__S_REM(s, x, y) (((y) == 0 || (y) == -1) ? (PTO_T_##s)0 : (PTO_T_##s)((x) % (y)))
#define PTO__U_REM(s, x, y) ((y) == 0 ? (PTO_T_##s)0 : (PTO_T_##s)((x) % (y)))
#define PTO__I_MAX(s, x, y) ((x) > (y) ? (x) : (y))
#define PTO__I_MIN(s, x, y) ((x) < (y) ? (x) : (y))
#define PTO__I_AND(s, x, y) ((PTO_T_##s)((x) & (y)))
#define PTO__I_OR(s, x, y) ((PTO_T_##s)((x) | (y)))
#define PTO__I_XOR(s, x, y) ((PTO_T_##s)((x) ^ (y)))
/* shifts: a count outside [0, bits) gives 0 (shl, logical shr) or the sign fill (signed shr) */
#define PTO__I_SHL(s, x, y)                                                                       \
    (PTO__IU(s, y) >= (PTO_W_##s)PTO_BITS_##s ? (PTO_T_##s)0 : (PTO_T_##s)(PTO__IU(s, x) << PTO__IU(s, y)))
#define PTO__U_SHR(s, x, y)                                                                       \
    (PTO__IU(s, y) >= (PTO_W_##s)PTO_BITS_##s ? (PTO_T_##s)0 : (PTO_T_##s)((x) >> PTO__IU(s, y)))
#define PTO__S_SHR(s, x, y)                                                                       \
    (PTO__IU(s, y) >= (PTO_W_##s)PTO_BITS_##s ? (PTO_T_##s)((x) < 0 ? -1 : 0)                      \
                                              : (PTO_T_##s)((x) >> PTO__IU(s, y)))

/* unary OP(sfx, x) */
#define PTO__F_ABS(s, x) ((PTO_C_##s)fabs((double)(x)))
#define PTO__F_NEG(s, x) (-(x))
#define PTO__F_RELU(s, x) (((x) > 0 || (x) != (x)) ? (x) : (PTO_C_##s)0)
#define PTO__I_ABS(s, x) ((x) < 0 ? (PTO_T_##s)((PTO_W_##s)0 - PTO__IU(s, x)) : (x))
#define PTO__I_NEG(s, x) ((PTO_T_##s)((PTO_W_##s)0 - PTO__IU(s, x)))
#define PTO__I_RELU(s, x) ((x) > 0 ? (x) : (PTO_T_##s)0)
#define PTO__I_NOT(s, x) ((PTO_T_##s)(~(x)))

/* double-precision transcendentals D(d) (computed in double, rounded once to the dtype) */
#define PTO__D_EXP(d) exp(d)
#define PTO__D_LOG(d) log(d)
#define PTO__D_SQRT(d) sqrt(d)
#define PTO__D_RSQRT(d) (1.0 / sqrt(d))
#define PTO__D_RECIP(d) (1.0 / (d))
#define PTO__D_SIN(d) sin(d)
#define PTO__D_COS(d) cos(d)
#define PTO__D_TANH(d) tanh(d)

/* f32 exp, pure C that gcc vectorises at plain -O2 (selects are integer masks, not ?:, which gcc
 * would turn into branches under trapping math).  Used by TEXP for f32, f16 and bf16.
 *   n = round(x / ln2), r = x - n*ln2 by Cody-Waite (n*C1 and x - n*C1
 *   are exact), exp(r) = 1 + r + r^2 * P5(r) (Cephes expf coefficients, |r| <= ln2/2),
 *   result = y * 2^n1 * 2^n2 with n1 = floor(n/2), n2 = n - n1 (both scale factors normal, so
 *   the first product is exact and the second rounds once: subnormals and overflow to inf
 *   are IEEE).  x is first clamped to [-104, 89] (exp(89) overflows, exp(-104) rounds to 0);
 *   NaN passes the clamp and the arithmetic.
 * Error (exhaustive over all 2^32 inputs, against exp in double): < 0.98 ulp of the result,
 * i.e. always one of the two floats around the exact value (faithful), and equal to the
 * correctly rounded value for about 99.6% of the inputs.  exp(+-0) = 1, exp(+inf) = +inf,
 * exp(-inf) = +0, NaN -> NaN, overflow -> +inf, underflow -> subnormal/+0. */
static inline float pto__expf(float x)
{
    uint32_t xb;
    memcpy(&xb, &x, sizeof xb);
    const uint32_t mhi = 0u - (uint32_t)(x > 89.0f), mlo = 0u - (uint32_t)(x < -104.0f);
    xb = (xb & ~(mhi | mlo)) | (0x42b20000u & mhi) | (0xc2d00000u & mlo); /* 89.0f, -104.0f */
    memcpy(&x, &xb, sizeof x);
    /* ni = round(x / ln2), half away from zero: truncate x/ln2 + copysign(0.5, x).  (Not the
     * add-and-subtract-2^23 trick: -fassociative-math would fold it away.)  NaN lanes use 0
     * here (float -> int of NaN is undefined) and stay NaN through r. */
    const uint32_t mnan = 0u - (uint32_t)(x != x);
    const uint32_t hb = (0x3f000000u | (xb & 0x80000000u)) & ~mnan; /* +-0.5, or 0 for NaN */
    uint32_t kb;
    const float k = x * 1.44269504088896341f;
    memcpy(&kb, &k, sizeof kb);
    kb &= ~mnan;
    float kc, h;
    memcpy(&kc, &kb, sizeof kc);
    memcpy(&h, &hb, sizeof h);
    const int32_t ni = (int32_t)(kc + h); /* |kc| <= 151 */
    const float n = (float)ni;
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    const float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = (p * z + r) + 1.0f;
    const uint32_t u = (uint32_t)(ni + 256);             /* n + 256, in [105, 385] */
    const uint32_t b1 = ((u >> 1) - 128u + 127u) << 23;  /* 2^floor(n/2) */
    const uint32_t b2 = (u - (u >> 1) - 128u + 127u) << 23; /* 2^(n - floor(n/2)) */
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return (y * s1) * s2;
}
#define PTO__F_EXP(s, x) pto__expf(x)

/* f32 log (fdlibm/musl logf without tables), vectorised like pto__expf.  Subnormal inputs are
 * scaled by 2^23 first; x = 2^k * m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f),
 * log(m) = f - hfsq + s * (hfsq + R(s^2)), plus k * ln2 in two parts.  Specials are selected
 * at the end: log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN -> NaN.
 * Error (exhaustive over all 2^32 inputs, against log in double): < 0.84 ulp (0.8348 at
 * x = 0x1.67cc32p+0), always faithful; 99.69% correctly rounded. */
static inline float pto__logf(float x)
{
    uint32_t ix;
    memcpy(&ix, &x, sizeof ix);
    /* subnormals: scale by 2^23 (exact) and take 23 off the exponent */
    const float xs = x * 0x1p23f;
    uint32_t is;
    memcpy(&is, &xs, sizeof is);
    const uint32_t msub = 0u - (uint32_t)(ix < 0x00800000u);
    ix = (is & msub) | (ix & ~msub);
    const int32_t kadj = (int32_t)(msub & 23u);
    /* x = 2^k * m, m in [sqrt(2)/2, sqrt(2)) */
    ix += 0x3f800000u - 0x3f3504f3u;
    const int32_t k = (int32_t)(ix >> 23) - 0x7f - kadj;
    ix = (ix & 0x007fffffu) + 0x3f3504f3u;
    float m;
    memcpy(&m, &ix, sizeof m);
    const float f = m - 1.0f;
    const float s = f / (2.0f + f);
    const float z = s * s, w = z * z;
    const float t1 = w * (0.40000972152f + w * 0.24279078841f);
    const float t2 = z * (0.66666662693f + w * 0.28498786688f);
    const float R = t2 + t1;
    const float hfsq = 0.5f * f * f;
    const float dk = (float)k;
    const float y = s * (hfsq + R) + dk * 9.0580006145e-06f - hfsq + f + dk * 6.9313812256e-01f;
    /* specials: log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN -> NaN */
    uint32_t yb, xb0;
    memcpy(&yb, &y, sizeof yb);
    memcpy(&xb0, &x, sizeof xb0);
    const uint32_t mz = 0u - (uint32_t)((xb0 & 0x7fffffffu) == 0u);
    const uint32_t mneg = 0u - (uint32_t)(xb0 > 0x80000000u);
    const uint32_t mspec = 0u - (uint32_t)(xb0 >= 0x7f800000u && xb0 <= 0x7fffffffu); /* +inf, NaN */
    yb = (yb & ~(mz | mneg | mspec)) | (0xff800000u & mz) | (0x7fc00000u & mneg)
         | ((xb0 | 0x00400000u * (xb0 != 0x7f800000u)) & mspec);
    float r;
    memcpy(&r, &yb, sizeof r);
    return r;
}
#define PTO__F_LOG(s, x) pto__logf(x)

/* 1/x in float is bit-identical to 1/x in double rounded once to float (or to f16/bf16 from
 * float): a quotient computed with >= 2p+2 bits and rounded again is correctly rounded */
#define PTO__F_RECIP(s, x) (1.0f / (x))

/* ---- generators --------------------------------------------------------------------------- */
#define PTO__DEF_BIN(sfx, name, OP, CLS)                                                          \
    static inline uint64_t pto_##name##_##sfx(PTO_T_##sfx *restrict dst,                          \
                                              const PTO_T_##sfx *restrict a,                      \
                                              const PTO_T_##sfx *restrict b, int rows, int cols)  \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i) {                                                         \
            const PTO_C_##sfx x = PTO_LD_##sfx(a[i]);                                             \
            const PTO_C_##sfx y = PTO_LD_##sfx(b[i]);                                             \
            PTO_STORE_##sfx(dst[i], OP(sfx, x, y));                                                 \
        }                                                                                         \
        return pto__cost_ew(CLS, rows, cols, PTO_ES_##sfx);                                       \
    }

/* tile (op) scalar: dst = src op s */
#define PTO__DEF_BINS(sfx, name, OP, CLS)                                                         \
    static inline uint64_t pto_##name##_##sfx(PTO_T_##sfx *restrict dst,                          \
                                              const PTO_T_##sfx *restrict src, PTO_S_##sfx s,     \
                                              int rows, int cols)                                 \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        const PTO_C_##sfx y = PTO_SC_##sfx(s);                                                    \
        for (int64_t i = 0; i < n; ++i) {                                                         \
            const PTO_C_##sfx x = PTO_LD_##sfx(src[i]);                                           \
            PTO_STORE_##sfx(dst[i], OP(sfx, x, y));                                                 \
        }                                                                                         \
        return pto__cost_ew(CLS, rows, cols, PTO_ES_##sfx);                                       \
    }

/* scalar (op) tile: dst = s op src (argument order as the ISA's TDIVS(dst, s, src)) */
#define PTO__DEF_BINS_REV(sfx, name, OP, CLS)                                                     \
    static inline uint64_t pto_##name##_##sfx(PTO_T_##sfx *restrict dst, PTO_S_##sfx s,          \
                                              const PTO_T_##sfx *restrict src, int rows,          \
                                              int cols)                                           \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        const PTO_C_##sfx x = PTO_SC_##sfx(s);                                                    \
        for (int64_t i = 0; i < n; ++i) {                                                         \
            const PTO_C_##sfx y = PTO_LD_##sfx(src[i]);                                           \
            PTO_STORE_##sfx(dst[i], OP(sfx, x, y));                                                 \
        }                                                                                         \
        return pto__cost_ew(CLS, rows, cols, PTO_ES_##sfx);                                       \
    }

#define PTO__DEF_UN(sfx, name, OP, CLS)                                                           \
    static inline uint64_t pto_##name##_##sfx(PTO_T_##sfx *restrict dst,                          \
                                              const PTO_T_##sfx *restrict src, int rows, int cols)\
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i) {                                                         \
            const PTO_C_##sfx x = PTO_LD_##sfx(src[i]);                                           \
            PTO_STORE_##sfx(dst[i], OP(sfx, x));                                                    \
        }                                                                                         \
        return pto__cost_ew(CLS, rows, cols, PTO_ES_##sfx);                                       \
    }

#define PTO__DEF_UND(sfx, name, FN)                                                               \
    static inline uint64_t pto_##name##_##sfx(PTO_T_##sfx *restrict dst,                          \
                                              const PTO_T_##sfx *restrict src, int rows, int cols)\
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i) {                                                         \
            const double d = PTO_TOD_##sfx(src[i]);                                               \
            dst[i] = PTO_FROMD_##sfx(FN(d));                                                      \
        }                                                                                         \
        return pto__cost_ew(PTO_COST_TRANS, rows, cols, PTO_ES_##sfx);                            \
    }

/* ---- TLOAD / TSTORE (strides in elements; any sign) ---------------------------------------- */
#define PTO__DEF_LDST(sfx, _u)                                                                    \
    static inline uint64_t pto_tload_##sfx(PTO_T_##sfx *restrict dst, const PTO_T_##sfx *src,     \
                                           int64_t row_stride, int64_t col_stride, int rows,      \
                                           int cols)                                              \
    {                                                                                             \
        if (col_stride == 1) {                                                                    \
            for (int i = 0; i < rows; ++i)                                                        \
                memcpy(dst + (int64_t)i * cols, src + (int64_t)i * row_stride,                    \
                       (size_t)cols * sizeof(PTO_T_##sfx));                                       \
        } else {                                                                                  \
            for (int i = 0; i < rows; ++i) {                                                      \
                const PTO_T_##sfx *s_ = src + (int64_t)i * row_stride;                            \
                PTO_T_##sfx *d_ = dst + (int64_t)i * cols;                                        \
                for (int j = 0; j < cols; ++j)                                                    \
                    d_[j] = s_[(int64_t)j * col_stride];                                          \
            }                                                                                     \
        }                                                                                         \
        return pto__cost_gm(0, rows, cols, PTO_ES_##sfx);                                         \
    }                                                                                             \
    static inline uint64_t pto_tstore_##sfx(PTO_T_##sfx *dst, const PTO_T_##sfx *restrict src,    \
                                            int64_t row_stride, int64_t col_stride, int rows,     \
                                            int cols)                                             \
    {                                                                                             \
        if (col_stride == 1) {                                                                    \
            for (int i = 0; i < rows; ++i)                                                        \
                memcpy(dst + (int64_t)i * row_stride, src + (int64_t)i * cols,                    \
                       (size_t)cols * sizeof(PTO_T_##sfx));                                       \
        } else {                                                                                  \
            for (int i = 0; i < rows; ++i) {                                                      \
                const PTO_T_##sfx *s_ = src + (int64_t)i * cols;                                  \
                PTO_T_##sfx *d_ = dst + (int64_t)i * row_stride;                                  \
                for (int j = 0; j < cols; ++j)                                                    \
                    d_[(int64_t)j * col_stride] = s_[j];                                          \
            }                                                                                     \
        }                                                                                         \
        return pto__cost_gm(1, rows, cols, PTO_ES_##sfx);                                         \
    }
PTO__ALL(PTO__DEF_LDST, _)

/* ---- element-wise tile-tile ----------------------------------------------------------------- */
PTO__FLOATS(PTO__DEF_BIN, tadd, PTO__F_ADD, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BIN, tsub, PTO__F_SUB, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BIN, tmul, PTO__F_MUL, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BIN, tdiv, PTO__F_DIV, PTO_COST_TRANS)
PTO__FLOATS(PTO__DEF_BIN, tmax, PTO__F_MAX, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BIN, tmin, PTO__F_MIN, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BIN, trem, PTO__F_REM, PTO_COST_TRANS)
PTO__INTS(PTO__DEF_BIN, tadd, PTO__I_ADD, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BIN, tsub, PTO__I_SUB, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BIN, tmul, PTO__I_MUL, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BIN, tdiv, PTO__S_DIV, PTO_COST_TRANS)
PTO__UINTS(PTO__DEF_BIN, tdiv, PTO__U_DIV, PTO_COST_TRANS)
PTO__INTS(PTO__DEF_BIN, tmax, PTO__I_MAX, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BIN, tmin, PTO__I_MIN, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BIN, trem, PTO__S_REM, PTO_COST_TRANS)
PTO__UINTS(PTO__DEF_BIN, trem, PTO__U_REM, PTO_COST_TRANS)
PTO__INTS(PTO__DEF_BIN, tand, PTO__I_AND, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BIN, tor, PTO__I_OR, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BIN, txor, PTO__I_XOR, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BIN, tshl, PTO__I_SHL, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BIN, tshr, PTO__S_SHR, PTO_COST_ALU)
PTO__UINTS(PTO__DEF_BIN, tshr, PTO__U_SHR, PTO_COST_ALU)

/* ---- tile-scalar ----------------------------------------------------------------------------- */
PTO__FLOATS(PTO__DEF_BINS, tadds, PTO__F_ADD, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BINS, tsubs, PTO__F_SUB, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BINS, tmuls, PTO__F_MUL, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BINS, tdivs, PTO__F_DIV, PTO_COST_TRANS)
PTO__FLOATS(PTO__DEF_BINS, tmaxs, PTO__F_MAX, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BINS, tmins, PTO__F_MIN, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BINS, trems, PTO__F_REM, PTO_COST_TRANS)
PTO__FLOATS(PTO__DEF_BINS_REV, trsubs, PTO__F_SUB, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_BINS_REV, trdivs, PTO__F_DIV, PTO_COST_TRANS)
PTO__INTS(PTO__DEF_BINS, tadds, PTO__I_ADD, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS, tsubs, PTO__I_SUB, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS, tmuls, PTO__I_MUL, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BINS, tdivs, PTO__S_DIV, PTO_COST_TRANS)
PTO__UINTS(PTO__DEF_BINS, tdivs, PTO__U_DIV, PTO_COST_TRANS)
PTO__INTS(PTO__DEF_BINS, tmaxs, PTO__I_MAX, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS, tmins, PTO__I_MIN, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BINS, trems, PTO__S_REM, PTO_COST_TRANS)
PTO__UINTS(PTO__DEF_BINS, trems, PTO__U_REM, PTO_COST_TRANS)
PTO__INTS(PTO__DEF_BINS, tands, PTO__I_AND, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS, tors, PTO__I_OR, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS, txors, PTO__I_XOR, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS, tshls, PTO__I_SHL, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BINS, tshrs, PTO__S_SHR, PTO_COST_ALU)
PTO__UINTS(PTO__DEF_BINS, tshrs, PTO__U_SHR, PTO_COST_ALU)
PTO__INTS(PTO__DEF_BINS_REV, trsubs, PTO__I_SUB, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_BINS_REV, trdivs, PTO__S_DIV, PTO_COST_TRANS)
PTO__UINTS(PTO__DEF_BINS_REV, trdivs, PTO__U_DIV, PTO_COST_TRANS)

/* ---- unary ---------------------------------------------------------------------------------- */
/* f32 TEXP and TLOG (and TTANH/TSIN/TCOS in pto_tile_compose.h): blocks of 16 (a constant trip
 * count, so gcc vectorises the block even when the shape is not a compile-time constant), plus an AVX2 clone chosen at run time on
 * x86-64.  The clone enables AVX2 only, not FMA, so it computes exactly the same IEEE
 * operations: its results are bit-identical to the portable path. */
#if defined(__x86_64__) && !defined(PTO_TILE_NO_AVX2) && !defined(__AVX2__)
#define PTO__UNV_AVX2 1
#endif
#define PTO__UNV_BODY(FN)                                                                         \
    const int64_t nb_ = n - n % 16;                                                               \
    for (int64_t i = 0; i < nb_; i += 16)                                                         \
        for (int l = 0; l < 16; ++l)                                                              \
            dst[i + l] = FN(src[i + l]);                                                          \
    for (int64_t i = nb_; i < n; ++i)                                                             \
        dst[i] = FN(src[i]);
/* pto_<name>_f32 running BODY(ARG) over n = rows*cols elements, with an AVX2 clone picked
 * at run time when available (same code, so bit-identical results) */
#ifdef PTO__UNV_AVX2
#define PTO__DEF_F32_CLONED(name, BODY, ARG)                                                      \
    __attribute__((target("avx2"))) static void pto__##name##_f32_avx2(                           \
        float *restrict dst, const float *restrict src, int64_t n)                                \
    {                                                                                             \
        BODY(ARG)                                                                                 \
    }                                                                                             \
    static inline uint64_t pto_##name##_f32(float *restrict dst, const float *restrict src,       \
                                            int rows, int cols)                                   \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        if (n >= 64 && __builtin_cpu_supports("avx2"))                                            \
            pto__##name##_f32_avx2(dst, src, n);                                                  \
        else {                                                                                    \
            BODY(ARG)                                                                             \
        }                                                                                         \
        return pto__cost_ew(PTO_COST_TRANS, rows, cols, PTO_ES_f32);                              \
    }
#else
#define PTO__DEF_F32_CLONED(name, BODY, ARG)                                                      \
    static inline uint64_t pto_##name##_f32(float *restrict dst, const float *restrict src,       \
                                            int rows, int cols)                                   \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        BODY(ARG)                                                                                 \
        return pto__cost_ew(PTO_COST_TRANS, rows, cols, PTO_ES_f32);                              \
    }
#endif
PTO__DEF_F32_CLONED(texp, PTO__UNV_BODY, pto__expf)
PTO__DEF_F32_CLONED(tlog, PTO__UNV_BODY, pto__logf)
PTO__DEF_UN(f16, texp, PTO__F_EXP, PTO_COST_TRANS)
PTO__DEF_UN(bf16, texp, PTO__F_EXP, PTO_COST_TRANS)
PTO__DEF_UND(f64, texp, PTO__D_EXP)
PTO__DEF_UN(f16, tlog, PTO__F_LOG, PTO_COST_TRANS)
PTO__DEF_UN(bf16, tlog, PTO__F_LOG, PTO_COST_TRANS)
PTO__DEF_UND(f64, tlog, PTO__D_LOG)
PTO__FLOATS(PTO__DEF_UND, tsqrt, PTO__D_SQRT)
PTO__FLOATS(PTO__DEF_UND, trsqrt, PTO__D_RSQRT)
PTO__DEF_UN(f32, trecip, PTO__F_RECIP, PTO_COST_TRANS)
PTO__DEF_UN(f16, trecip, PTO__F_RECIP, PTO_COST_TRANS)
PTO__DEF_UN(bf16, trecip, PTO__F_RECIP, PTO_COST_TRANS)
PTO__DEF_UND(f64, trecip, PTO__D_RECIP)
PTO__DEF_UND(f64, tsin, PTO__D_SIN)
PTO__DEF_UND(f64, tcos, PTO__D_COS)
PTO__DEF_UND(f64, ttanh, PTO__D_TANH)
PTO__FLOATS(PTO__DEF_UN, tabs, PTO__F_ABS, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_UN, tneg, PTO__F_NEG, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_UN, trelu, PTO__F_RELU, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_UN, tabs, PTO__I_ABS, PTO_COST_ALU)
PTO__INTS(PTO__DEF_UN, tneg, PTO__I_NEG, PTO_COST_ALU)
PTO__SINTS(PTO__DEF_UN, trelu, PTO__I_RELU, PTO_COST_ALU)
PTO__INTS(PTO__DEF_UN, tnot, PTO__I_NOT, PTO_COST_ALU)
/* logical not of a bool (0/1 byte) tile: !x, which stays 0/1 (the u8 TNOT would give 0xfe/0xff) */
static inline uint64_t pto_tnot_bool(uint8_t *restrict dst, const uint8_t *restrict src, int rows,
                                     int cols)
{
    const int64_t n = (int64_t)rows * cols;
    for (int64_t i = 0; i < n; ++i)
        dst[i] = (uint8_t)(src[i] == 0);
    return pto__cost_ew(PTO_COST_ALU, rows, cols, 1);
}
/* unsigned: |x| = x and relu(x) = x (copies, so every integer dtype has the full unary set) */
#define PTO__U_ID(s, x) (x)
PTO__UINTS(PTO__DEF_UN, tabs, PTO__U_ID, PTO_COST_ALU)
PTO__UINTS(PTO__DEF_UN, trelu, PTO__U_ID, PTO_COST_ALU)

/* ---- compare / select ------------------------------------------------------------------------
 * TCMP/TCMPS write one byte per element (1 = true, 0 = false); comparisons are exact IEEE
 * (NaN compares false except NE).  An unknown mode writes 0 everywhere. */
#define PTO__CMP_LOOP(sfx, OPR, BEXPR)                                                            \
    for (int64_t i = 0; i < n; ++i)                                                               \
        dst[i] = (uint8_t)(PTO_LD_##sfx(a[i]) OPR (BEXPR));
#define PTO__CMP_SWITCH(sfx, BEXPR)                                                               \
    switch (mode) {                                                                               \
    case PTO_CMP_EQ: PTO__CMP_LOOP(sfx, ==, BEXPR) break;                                         \
    case PTO_CMP_NE: PTO__CMP_LOOP(sfx, !=, BEXPR) break;                                         \
    case PTO_CMP_LT: PTO__CMP_LOOP(sfx, <, BEXPR) break;                                          \
    case PTO_CMP_LE: PTO__CMP_LOOP(sfx, <=, BEXPR) break;                                         \
    case PTO_CMP_GT: PTO__CMP_LOOP(sfx, >, BEXPR) break;                                          \
    case PTO_CMP_GE: PTO__CMP_LOOP(sfx, >=, BEXPR) break;                                         \
    default: memset(dst, 0, (size_t)n); break;                                                    \
    }
#define PTO__DEF_CMPSEL(sfx, _u)                                                                  \
    static inline uint64_t pto_tcmp_##sfx(uint8_t *restrict dst, const PTO_T_##sfx *restrict a,   \
                                          const PTO_T_##sfx *restrict b, int mode, int rows,      \
                                          int cols)                                               \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        PTO__CMP_SWITCH(sfx, PTO_LD_##sfx(b[i]))                                                  \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }                                                                                             \
    static inline uint64_t pto_tcmps_##sfx(uint8_t *restrict dst, const PTO_T_##sfx *restrict a,  \
                                           PTO_S_##sfx s, int mode, int rows, int cols)           \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        const PTO_C_##sfx sv = PTO_SC_##sfx(s);                                                   \
        PTO__CMP_SWITCH(sfx, sv)                                                                  \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }                                                                                             \
    static inline uint64_t pto_tsel_##sfx(PTO_T_##sfx *restrict dst,                              \
                                          const uint8_t *restrict mask,                           \
                                          const PTO_T_##sfx *restrict a,                          \
                                          const PTO_T_##sfx *restrict b, int rows, int cols)      \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i)                                                           \
            dst[i] = mask[i] ? a[i] : b[i];                                                       \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }                                                                                             \
    static inline uint64_t pto_tsels_##sfx(PTO_T_##sfx *restrict dst,                             \
                                           const uint8_t *restrict mask,                          \
                                           const PTO_T_##sfx *restrict a, PTO_S_##sfx s,          \
                                           int rows, int cols)                                    \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        const PTO_T_##sfx sv = PTO_ST_##sfx(PTO_SC_##sfx(s));                                     \
        for (int64_t i = 0; i < n; ++i)                                                           \
            dst[i] = mask[i] ? a[i] : sv;                                                         \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }
PTO__ALL(PTO__DEF_CMPSEL, _)

/* ---- fill, iota, copies --------------------------------------------------------------------- */
#define PTO__CI_F(sfx, start, step, idx) PTO_FROMD_##sfx((double)PTO_SC_##sfx(start) + (double)(idx) * (double)PTO_SC_##sfx(step))
#define PTO__CI_I(sfx, start, step, idx) ((PTO_T_##sfx)(PTO__IU(sfx, start) + PTO__IU(sfx, step) * (PTO_W_##sfx)(uint64_t)(idx)))
#define PTO__DEF_FILL(sfx, CI)                                                                    \
    static inline uint64_t pto_texpands_##sfx(PTO_T_##sfx *restrict dst, PTO_S_##sfx s, int rows, \
                                              int cols)                                           \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        const PTO_T_##sfx v = PTO_ST_##sfx(PTO_SC_##sfx(s));                                      \
        for (int64_t i = 0; i < n; ++i)                                                           \
            dst[i] = v;                                                                           \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }                                                                                             \
    /* TCI: dst[i,j] = start + (i*cols + j) * step  (step < 0: descending).  Charged as the   \
     * AICore runs it: PTO-ISA's TCI over the tile as one [1, rows*cols] row, plus TMULS and   \
     * (start != 0) TADDS when the step is not +-1 (backends/kernel_plan.py) */                 \
    static inline uint64_t pto_tci_##sfx(PTO_T_##sfx *restrict dst, PTO_S_##sfx start,            \
                                         PTO_S_##sfx step, int rows, int cols)                    \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i)                                                           \
            dst[i] = CI(sfx, start, step, i);                                                     \
        const PTO_C_##sfx st_ = PTO_SC_##sfx(step);                                               \
        const int unit = st_ == (PTO_C_##sfx)1 || st_ == (PTO_C_##sfx)-1;                         \
        return (uint64_t)(1 + (!unit) * (1 + (PTO_SC_##sfx(start) != (PTO_C_##sfx)0)))           \
               * pto__cost_ew(PTO_COST_ALU, 1, (int)n, PTO_ES_##sfx);                             \
    }                                                                                             \
    static inline uint64_t pto_tmov_##sfx(PTO_T_##sfx *restrict dst,                              \
                                          const PTO_T_##sfx *restrict src, int rows, int cols)    \
    {                                                                                             \
        memcpy(dst, src, (size_t)((int64_t)rows * cols) * sizeof(PTO_T_##sfx));                  \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }                                                                                             \
    /* TEXTRACT: dst (rows x cols) = the window of src (src_cols wide) at (row, col) */         \
    static inline uint64_t pto_textract_##sfx(PTO_T_##sfx *restrict dst,                          \
                                              const PTO_T_##sfx *restrict src, int src_cols,      \
                                              int row, int col, int rows, int cols)               \
    {                                                                                             \
        for (int i = 0; i < rows; ++i)                                                            \
            memcpy(dst + (int64_t)i * cols, src + (int64_t)(row + i) * src_cols + col,            \
                   (size_t)cols * sizeof(PTO_T_##sfx));                                           \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }                                                                                             \
    /* (rows, cols) = SOURCE shape (cols even); dst is rows x cols/2 */                         \
    static inline uint64_t pto_tslice_even_##sfx(PTO_T_##sfx *restrict dst,                       \
                                                 const PTO_T_##sfx *restrict src, int rows,       \
                                                 int cols)                                        \
    {                                                                                             \
        const int h = cols / 2;                                                                   \
        for (int i = 0; i < rows; ++i)                                                            \
            for (int j = 0; j < h; ++j)                                                           \
                dst[(int64_t)i * h + j] = src[(int64_t)i * cols + 2 * j];                         \
        return pto__cost_ew(PTO_COST_ALU, rows, h, PTO_ES_##sfx);                                 \
    }                                                                                             \
    static inline uint64_t pto_tslice_odd_##sfx(PTO_T_##sfx *restrict dst,                        \
                                                const PTO_T_##sfx *restrict src, int rows,        \
                                                int cols)                                         \
    {                                                                                             \
        const int h = cols / 2;                                                                   \
        for (int i = 0; i < rows; ++i)                                                            \
            for (int j = 0; j < h; ++j)                                                           \
                dst[(int64_t)i * h + j] = src[(int64_t)i * cols + 2 * j + 1];                     \
        return pto__cost_ew(PTO_COST_ALU, rows, h, PTO_ES_##sfx);                                 \
    }                                                                                             \
    /* (rows, cols) = SOURCE shape of a and b; dst is rows x 2*cols */                            \
    static inline uint64_t pto_tinterleave_##sfx(PTO_T_##sfx *restrict dst,                       \
                                                 const PTO_T_##sfx *restrict a,                   \
                                                 const PTO_T_##sfx *restrict b, int rows,         \
                                                 int cols)                                        \
    {                                                                                             \
        for (int i = 0; i < rows; ++i)                                                            \
            for (int j = 0; j < cols; ++j) {                                                      \
                dst[(int64_t)i * 2 * cols + 2 * j] = a[(int64_t)i * cols + j];                    \
                dst[(int64_t)i * 2 * cols + 2 * j + 1] = b[(int64_t)i * cols + j];                \
            }                                                                                     \
        return pto__cost_ew(PTO_COST_ALU, rows, 2 * cols, PTO_ES_##sfx);                          \
    }
PTO__FLOATS(PTO__DEF_FILL, PTO__CI_F)
PTO__INTS(PTO__DEF_FILL, PTO__CI_I)

#endif /* PTO_TILE_EW_H */

/* pto_tile_compose.h -- TTANH, TSIN and TCOS (pto-wsp extensions: PTO-ISA has no instruction for
 * them) as the compositions of PTO-ISA instructions that the AICore emitter writes
 * (src/pto_wsp/backends/compose.py).  Every element goes through exactly the operations of that
 * instruction sequence, in the same order, through the same element functions (TCMPS + TSEL are
 * mask selects), so a cpu_sim kernel and its emitted PTO-ISA kernel agree bit for bit; each
 * function returns the summed cost of the sequence.  f16/bf16 widen to f32 (TCVT), run the f32
 * sequence and round back (TCVT RINT).  Included by pto_tile.h; numerics in docs/tile-library.md.
 */
#ifndef PTO_TILE_COMPOSE_H
#define PTO_TILE_COMPOSE_H

#include "pto_tile_cvt.h"

/* TSEL of a TCMPS mask: m ? a : b, as an integer mask (keeps gcc vectorising, see pto__expf) */
static inline float pto__sel_f32(int m, float a, float b)
{
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    const uint32_t k = 0u - (uint32_t)m, r = (ua & k) | (ub & ~k);
    float f;
    memcpy(&f, &r, sizeof f);
    return f;
}

#define PTO__C_MUL(x, y) PTO__F_MUL(f32, x, y)
#define PTO__C_ADD(x, y) PTO__F_ADD(f32, x, y)

/* tanh = compose.TANH: a = |x|, z = a*a, the Cephes tanhf polynomial
 *   small = x + x*(z*P4(z))  (|x| < 0.625),   large = +-(1 - 2/(exp(2a) + 1))
 * with the sign of x put back by a select (exp(2a) overflowing to inf gives exactly +-1). */
static inline float pto__tanhf(float x)
{
    const float a = PTO__F_ABS(f32, x);
    const float z = PTO__C_MUL(a, a);
    float p = PTO__C_MUL(z, -0x1.75e1d4p-8f);
    p = PTO__C_ADD(p, 0x1.52269cp-6f);
    p = PTO__C_MUL(p, z);
    p = PTO__C_ADD(p, -0x1.b83c5ap-5f);
    p = PTO__C_MUL(p, z);
    p = PTO__C_ADD(p, 0x1.110726p-3f);
    p = PTO__C_MUL(p, z);
    p = PTO__C_ADD(p, -0x1.555532p-2f);
    p = PTO__C_MUL(z, p);
    p = PTO__C_ADD(p, 0.0f); /* -0 -> +0, so x + x*p keeps the sign of a zero x */
    p = PTO__C_MUL(x, p);
    const float s = PTO__C_ADD(x, p);
    float e = PTO__C_ADD(a, a);
    e = pto__expf(e);
    e = PTO__C_ADD(e, 1.0f);
    e = PTO__F_DIV(f32, 2.0f, e);
    e = PTO__C_ADD(e, -1.0f);
    const float n = PTO__F_NEG(f32, e);
    e = pto__sel_f32(x < 0.0f, e, n);
    return pto__sel_f32(a < 0.625f, s, e);
}
/* its instructions: 22 ALU-class (TABS TMUL TMULS TADDS TADD TNEG TCMPS TSEL) + TEXP + TDIVS */
#define PTO__TANH_ALU 22

/* sin/cos = compose.sincos: n = rint(x * 2/pi) (TCVT to i32, saturating), y = x - n*pi/2 with
 * pi/2 ~ P1 + P2 + P3 (8 + 7 + 24 bits, each subtracted: n*P1 and n*P2 are exact for
 * |n| < 2^16, and x = -0 stays -0), y clamped to
 * [-16, 16] (only huge |x| reach it; keeps y*y finite), the Cephes sinf/cosf polynomials on
 * |y| <~ pi/4, the quadrant (n, or n + 1 for cos) picked by TANDS + TCMPS + TSEL, the result
 * clamped to [-1, 1] (TMINS, TMAXS) and multiplied by d = (x - x) + 1 (1, or NaN for inf/NaN). */
static inline float pto__sincosf(float x, int want_cos)
{
    float d = PTO__F_SUB(f32, x, x);
    d = PTO__C_ADD(d, 1.0f);
    const float t = PTO__C_MUL(x, 0x1.45f306p-1f);
    int32_t n = pto__f2i_i32(PTO_TOD_f32(t), PTO_RM_RINT);
    const float f = pto__from_d_f32((double)n, PTO_RM_RINT);
    float r = PTO__C_MUL(f, -0x1.92p+0f);
    float u = PTO__C_ADD(x, r);
    r = PTO__C_MUL(f, -0x1.fap-12f);
    u = PTO__C_ADD(u, r);
    r = PTO__C_MUL(f, -0x1.54442ep-20f);
    u = PTO__C_ADD(u, r);
    u = PTO__F_MIN(f32, u, 16.0f);
    u = PTO__F_MAX(f32, u, -16.0f);
    const float z = PTO__C_MUL(u, u);
    float s = PTO__C_MUL(z, -0x1.9943f2p-13f);
    s = PTO__C_ADD(s, 0x1.11073cp-7f);
    s = PTO__C_MUL(s, z);
    s = PTO__C_ADD(s, -0x1.555546p-3f);
    s = PTO__C_MUL(s, z);
    s = PTO__C_ADD(s, 0.0f); /* -0 -> +0, so u + u*s keeps the sign of a zero u */
    s = PTO__C_MUL(s, u);
    s = PTO__C_ADD(u, s);
    float c = PTO__C_MUL(z, 0x1.99eb9cp-16f);
    c = PTO__C_ADD(c, -0x1.6c0c34p-10f);
    c = PTO__C_MUL(c, z);
    c = PTO__C_ADD(c, 0x1.55554ap-5f);
    c = PTO__C_MUL(c, z);
    c = PTO__C_MUL(c, z);
    r = PTO__C_MUL(z, -0.5f);
    c = PTO__C_ADD(c, r);
    c = PTO__C_ADD(c, 1.0f);
    if (want_cos)
        n = PTO__I_ADD(i32, n, 1);
    s = pto__sel_f32(PTO__I_AND(i32, n, 1) != 0, c, s);
    c = PTO__F_NEG(f32, s);
    s = pto__sel_f32(PTO__I_AND(i32, n, 2) != 0, c, s);
    s = PTO__F_MIN(f32, s, 1.0f);
    s = PTO__F_MAX(f32, s, -1.0f);
    return PTO__C_MUL(s, d);
}
/* its instructions: TSUB TADDS TMULS TCVT TCVT 3x(TMULS TADD) TMINS TMAXS TMUL, 8 for the sin
 * and 9 for the cos polynomial, 2x(TANDS TCMPS TSEL) TNEG, TMINS TMAXS TMUL = 41 ALU-class
 * (42 for cos: one more TADDS) */
#define PTO__SIN_ALU 41
#define PTO__COS_ALU 42
static inline float pto__sinf(float x) { return pto__sincosf(x, 0); }
static inline float pto__cosf(float x) { return pto__sincosf(x, 1); }

/* cost of a composition of `alu` ALU-class and `trans` transcendental f32 instructions */
static inline uint64_t pto__cost_compose(int alu, int trans, int rows, int cols)
{
    return (uint64_t)alu * pto__cost_ew(PTO_COST_ALU, rows, cols, 4)
           + (uint64_t)trans * pto__cost_ew(PTO_COST_TRANS, rows, cols, 4);
}

#ifdef PTO__UNV_AVX2
#define PTO__DEF_COMPOSED_F32(name, FN, ALU, TRANS)                                               \
    __attribute__((target("avx2"))) static void pto__##name##_f32_avx2(                           \
        float *restrict dst, const float *restrict src, int64_t n)                                \
    {                                                                                             \
        PTO__UNV_BODY(FN)                                                                         \
    }                                                                                             \
    static inline uint64_t pto_##name##_f32(float *restrict dst, const float *restrict src,       \
                                            int rows, int cols)                                   \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        if (n >= 64 && __builtin_cpu_supports("avx2"))                                            \
            pto__##name##_f32_avx2(dst, src, n);                                                  \
        else {                                                                                    \
            PTO__UNV_BODY(FN)                                                                     \
        }                                                                                         \
        return pto__cost_compose(ALU, TRANS, rows, cols);                                         \
    }
#else
#define PTO__DEF_COMPOSED_F32(name, FN, ALU, TRANS)                                               \
    static inline uint64_t pto_##name##_f32(float *restrict dst, const float *restrict src,       \
                                            int rows, int cols)                                   \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        PTO__UNV_BODY(FN)                                                                         \
        return pto__cost_compose(ALU, TRANS, rows, cols);                                         \
    }
#endif
/* f16/bf16: TCVT to f32, the f32 sequence, TCVT back with RINT (two more ALU instructions) */
#define PTO__DEF_COMPOSED_NARROW(sfx, name, FN, ALU, TRANS)                                       \
    static inline uint64_t pto_##name##_##sfx(PTO_T_##sfx *restrict dst,                          \
                                              const PTO_T_##sfx *restrict src, int rows, int cols)\
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i) {                                                         \
            const float x = PTO__CVT_FF(f32, sfx, src[i], PTO_RM_RINT);                           \
            dst[i] = PTO__CVT_FF(sfx, f32, FN(x), PTO_RM_RINT);                                   \
        }                                                                                         \
        return pto__cost_compose((ALU) + 2, TRANS, rows, cols);                                   \
    }
#define PTO__DEF_COMPOSED(name, FN, ALU, TRANS)                                                   \
    PTO__DEF_COMPOSED_F32(name, FN, ALU, TRANS)                                                   \
    PTO__DEF_COMPOSED_NARROW(f16, name, FN, ALU, TRANS)                                           \
    PTO__DEF_COMPOSED_NARROW(bf16, name, FN, ALU, TRANS)
PTO__DEF_COMPOSED(ttanh, pto__tanhf, PTO__TANH_ALU, 2)
PTO__DEF_COMPOSED(tsin, pto__sinf, PTO__SIN_ALU, 0)
PTO__DEF_COMPOSED(tcos, pto__cosf, PTO__COS_ALU, 0)

#endif /* PTO_TILE_COMPOSE_H */

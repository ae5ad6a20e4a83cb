/* pto_tile_cvt.h -- TCVT between every pair of the 12 dtypes.  Included by pto_tile.h.
 *
 *   pto_tcvt_<dst>_<src>(dst, src, round_mode, rows, cols)
 *
 * float/int -> float: the exact source value is rounded once to the destination format with
 *   the requested mode (RINT/NONE nearest-even, ROUND ties-away, FLOOR, CEIL, TRUNC, ODD),
 *   including subnormals and overflow (RNE/ROUND -> inf; directed modes -> inf or +-max as IEEE
 *   specifies; ODD -> +-max).  NaN stays NaN.
 * float -> int: rounded to an integer with the mode, then saturated to the destination range;
 *   NaN -> 0.
 * int -> int: two's-complement wrap-around (like numpy astype); the mode is ignored. */
#ifndef PTO_TILE_CVT_H
#define PTO_TILE_CVT_H

#include <float.h>
#include "pto_tile_core.h"

PTO__STATIC_ASSERT(LDBL_MANT_DIG >= 64, "pto_tile: long double must hold every 64-bit integer");

static inline uint32_t pto__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline double pto__f32_bits_to_d(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}
static inline uint64_t pto__f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static inline double pto__f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static inline long double pto__f64_bits_to_ld(uint64_t u) { return (long double)pto__f64_from_bits(u); }
static inline double pto__f16_bits_to_d(uint16_t u) { return (double)pto_f16_bits_to_f32(u); }
static inline double pto__bf16_bits_to_d(uint16_t u) { return (double)pto_bf16_to_f32(u); }
static inline uint32_t pto__rne_f32_d(double x) { return pto__f32_bits((float)x); }
static inline uint16_t pto__rne_f16_d(double x) { return pto_f32_to_f16_bits(pto__d2f_odd(x)); }
static inline uint16_t pto__rne_bf16_d(double x) { return pto_f64_to_bf16(x); }
static inline uint64_t pto__rne_f64_ld(long double x) { return pto__f64_bits((double)x); }

/* Round the exact value x (wide type W) to a narrower IEEE format whose bit pattern is BT.
 * r = nearest-even result; t = r stepped one ulp toward zero when |r| > |x| (the truncation);
 * a = t stepped one ulp away from zero.  Sign-magnitude bit patterns make those steps +-1. */
#define PTO__DEF_NARROW(NAME, W, BT, RNE, WIDEN)                                                  \
    static inline BT NAME(W x, int mode)                                                          \
    {                                                                                             \
        const BT r = RNE(x);                                                                      \
        if (mode < PTO_RM_ROUND || mode > PTO_RM_ODD)                                             \
            return r;                                                                             \
        const W wr = WIDEN(r);                                                                    \
        if (wr == x || x != x)                                                                    \
            return r;                                                                             \
        const BT t = (x > 0 ? wr > x : wr < x) ? (BT)(r - 1u) : r;                                \
        const BT aw = (BT)(t + 1u);                                                               \
        switch (mode) {                                                                           \
        case PTO_RM_TRUNC: return t;                                                              \
        case PTO_RM_FLOOR: return x > 0 ? t : aw;                                                 \
        case PTO_RM_CEIL: return x > 0 ? aw : t;                                                  \
        case PTO_RM_ODD: return (t & 1u) ? t : aw;                                                \
        default: return (WIDEN(t) + WIDEN(aw)) / 2 == x ? aw : r; /* ROUND: ties away */          \
        }                                                                                         \
    }
PTO__DEF_NARROW(pto__narrow_f32_d, double, uint32_t, pto__rne_f32_d, pto__f32_bits_to_d)
PTO__DEF_NARROW(pto__narrow_f16_d, double, uint16_t, pto__rne_f16_d, pto__f16_bits_to_d)
PTO__DEF_NARROW(pto__narrow_bf16_d, double, uint16_t, pto__rne_bf16_d, pto__bf16_bits_to_d)
PTO__DEF_NARROW(pto__narrow_f64_ld, long double, uint64_t, pto__rne_f64_ld, pto__f64_bits_to_ld)

/* exact double -> destination float storage with a rounding mode */
static inline double pto__from_d_f64(double x, int mode) { (void)mode; return x; }
static inline float pto__from_d_f32(double x, int mode)
{
    const uint32_t u = pto__narrow_f32_d(x, mode);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline pto_f16_t pto__from_d_f16(double x, int mode) { return pto__f16_from_bits(pto__narrow_f16_d(x, mode)); }
static inline pto_bf16_t pto__from_d_bf16(double x, int mode) { return pto__narrow_bf16_d(x, mode); }
/* exact long double (64-bit integers) -> destination: direct for f64; otherwise round to odd
 * at 53 bits first (53 >= 24 + 2, so the second rounding is exact for every mode) */
static inline double pto__from_ld_f64(long double x, int mode) { return pto__f64_from_bits(pto__narrow_f64_ld(x, mode)); }
static inline double pto__ld_odd(long double x) { return pto__f64_from_bits(pto__narrow_f64_ld(x, PTO_RM_ODD)); }
static inline float pto__from_ld_f32(long double x, int mode) { return pto__from_d_f32(pto__ld_odd(x), mode); }
static inline pto_f16_t pto__from_ld_f16(long double x, int mode) { return pto__from_d_f16(pto__ld_odd(x), mode); }
static inline pto_bf16_t pto__from_ld_bf16(long double x, int mode) { return pto__from_d_bf16(pto__ld_odd(x), mode); }

/* float -> integer with a mode; saturating; NaN -> 0 */
static inline double pto__round_mode(double x, int mode)
{
    switch (mode) {
    case PTO_RM_ROUND: return round(x);
    case PTO_RM_FLOOR: return floor(x);
    case PTO_RM_CEIL: return ceil(x);
    case PTO_RM_TRUNC: return trunc(x);
    case PTO_RM_ODD: {
        double t = trunc(x);
        if (t != x && fmod(t, 2.0) == 0.0)
            t += x > 0 ? 1.0 : -1.0;
        return t;
    }
    default: return rint(x);
    }
}
#define PTO__DEF_F2I(D, _u)                                                                       \
    static inline PTO_T_##D pto__f2i_##D(double x, int mode)                                      \
    {                                                                                             \
        const double v = pto__round_mode(x, mode);                                                \
        if (v != v)                                                                               \
            return 0;                                                                             \
        if (v >= PTO_IHI_##D)                                                                     \
            return (PTO_T_##D)PTO_IMAX_##D;                                                       \
        if (v < PTO_ILO_##D)                                                                      \
            return (PTO_T_##D)PTO_IMIN_##D;                                                       \
        return (PTO_T_##D)v;                                                                      \
    }
PTO__INTS(PTO__DEF_F2I, _)

/* element converters ELEM(D, S, x, mode) */
#define PTO__CVT_FF(D, S, x, m) pto__from_d_##D(PTO_TOD_##S(x), m)
#define PTO__CVT_IF(D, S, x, m) pto__f2i_##D(PTO_TOD_##S(x), m)
#define PTO__CVT_II(D, S, x, m) ((void)(m), (PTO_T_##D)(x))
#define PTO__CVT_FI(D, S, x, m) PTO__CVT_FI_##S(D, x, m)
#define PTO__CVT_FI_i8(D, x, m) pto__from_d_##D((double)(x), m)
#define PTO__CVT_FI_i16(D, x, m) pto__from_d_##D((double)(x), m)
#define PTO__CVT_FI_i32(D, x, m) pto__from_d_##D((double)(x), m)
#define PTO__CVT_FI_u8(D, x, m) pto__from_d_##D((double)(x), m)
#define PTO__CVT_FI_u16(D, x, m) pto__from_d_##D((double)(x), m)
#define PTO__CVT_FI_u32(D, x, m) pto__from_d_##D((double)(x), m)
#define PTO__CVT_FI_i64(D, x, m) pto__from_ld_##D((long double)(x), m)
#define PTO__CVT_FI_u64(D, x, m) pto__from_ld_##D((long double)(x), m)

#define PTO__ES_MAX(a, b) ((a) > (b) ? (a) : (b))
#define PTO__DEF_CVT(S, D, ELEM)                                                                  \
    static inline uint64_t pto_tcvt_##D##_##S(PTO_T_##D *restrict dst,                            \
                                              const PTO_T_##S *restrict src, int mode, int rows,  \
                                              int cols)                                           \
    {                                                                                             \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i)                                                           \
            dst[i] = ELEM(D, S, src[i], mode);                                                    \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO__ES_MAX(PTO_ES_##D, PTO_ES_##S));       \
    }

/* second-level dtype families (a macro cannot expand itself recursively) */
#define PTO__FLOATS2(M, ...) M(f32, __VA_ARGS__) M(f64, __VA_ARGS__) M(f16, __VA_ARGS__) M(bf16, __VA_ARGS__)
#define PTO__INTS2(M, ...)                                                                        \
    M(i8, __VA_ARGS__) M(i16, __VA_ARGS__) M(i32, __VA_ARGS__) M(i64, __VA_ARGS__)                \
    M(u8, __VA_ARGS__) M(u16, __VA_ARGS__) M(u32, __VA_ARGS__) M(u64, __VA_ARGS__)
#define PTO__CVT_TO_FLOAT(D, _u) PTO__FLOATS2(PTO__DEF_CVT, D, PTO__CVT_FF) PTO__INTS2(PTO__DEF_CVT, D, PTO__CVT_FI)
#define PTO__CVT_TO_INT(D, _u) PTO__FLOATS2(PTO__DEF_CVT, D, PTO__CVT_IF) PTO__INTS2(PTO__DEF_CVT, D, PTO__CVT_II)
PTO__FLOATS(PTO__CVT_TO_FLOAT, _)
PTO__INTS(PTO__CVT_TO_INT, _)

/* to bool (one byte 0/1): x != 0, like numpy's astype(bool) -- NaN is true, -0.0 is false.
 * (Converting *from* bool is the u8 conversion, since bool tiles hold 0/1 bytes.) */
#define PTO__DEF_CVT_BOOL(S, _u)                                                                  \
    static inline uint64_t pto_tcvt_bool_##S(uint8_t *restrict dst,                               \
                                             const PTO_T_##S *restrict src, int mode, int rows,   \
                                             int cols)                                            \
    {                                                                                             \
        (void)mode;                                                                               \
        const int64_t n = (int64_t)rows * cols;                                                   \
        for (int64_t i = 0; i < n; ++i)                                                           \
            dst[i] = (uint8_t)(PTO_LD_##S(src[i]) != 0);                                          \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##S);                                \
    }
PTO__ALL(PTO__DEF_CVT_BOOL, _)

#endif /* PTO_TILE_CVT_H */

/* pto_tile_core.h -- dtype traits, bf16/f16 helpers, rounding helpers and the cycle cost models
 * of the pto-wsp C tile library.  Included by pto_tile.h; do not include directly.
 *
 * Conventions (see docs/tile-library.md):
 *   - tiles are contiguous row-major arrays of rows*cols elements (valid region = full shape);
 *   - one function per (instruction, dtype): pto_<instr>_<sfx>(tiles..., scalars/modes..., dims);
 *   - every function returns the cycles of the selected cost model (PTO_COST_MODEL).
 */
#ifndef PTO_TILE_CORE_H
#define PTO_TILE_CORE_H

#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>
#include "pto_tile_types.h"

#ifndef PTO_COST_MODEL
#define PTO_COST_MODEL 0 /* 0 = v9-compatible element-count proxy, 1 = A2/A3-like */
#endif
#if PTO_COST_MODEL != 0 && PTO_COST_MODEL != 1
#error "PTO_COST_MODEL must be 0 (v9-compatible) or 1 (A2/A3-like)"
#endif

/* ---- enums shared with the code generator --------------------------------------------- */
enum {
    PTO_RM_NONE = 0,  /* = RINT */
    PTO_RM_RINT = 1,  /* nearest, ties to even */
    PTO_RM_ROUND = 2, /* nearest, ties away from zero */
    PTO_RM_FLOOR = 3, /* toward -inf */
    PTO_RM_CEIL = 4,  /* toward +inf */
    PTO_RM_TRUNC = 5, /* toward zero */
    PTO_RM_ODD = 6    /* round to odd (von Neumann / sticky) */
};
enum { PTO_CMP_EQ = 0, PTO_CMP_NE = 1, PTO_CMP_LT = 2, PTO_CMP_LE = 3, PTO_CMP_GT = 4, PTO_CMP_GE = 5 };

#ifdef __cplusplus
#define PTO__STATIC_ASSERT static_assert
#else
#define PTO__STATIC_ASSERT _Static_assert
#endif

/* ---- bf16 <-> f32 ------------------------------------------------------------------------ */
static inline float pto_bf16_to_f32(pto_bf16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round-to-nearest-even; NaN stays NaN (quietened, sign and top payload bits kept); overflow
 * rounds to +-inf exactly as IEEE RNE does. */
static inline pto_bf16_t pto_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (pto_bf16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (pto_bf16_t)(u >> 16);
}

/* double -> float rounded to odd (exact when representable).  Used as the first step of the
 * correctly rounded double -> bf16 conversion (24 >= 8 + 2 bits, so no double rounding). */
static inline float pto__d2f_odd(double x)
{
    float f = (float)x;
    if ((double)f == x || x != x)
        return f;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) == 0x7f800000u || (x > 0 ? (double)f > x : (double)f < x))
        u -= 1u; /* magnitude step toward zero: now the truncated value */
    if (!(u & 1u))
        u += 1u; /* even -> the odd neighbour away from zero */
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline pto_bf16_t pto_f64_to_bf16(double x) { return pto_f32_to_bf16(pto__d2f_odd(x)); }

/* ---- f16 <-> f32 -------------------------------------------------------------------------
 * Bit-exact software conversions, branch-free so gcc vectorises them (without -mf16c every
 * _Float16 conversion would be a libgcc call).  f16 -> f32 is exact; f32 -> f16 rounds to
 * nearest-even with IEEE subnormals and overflow; NaN -> quiet NaN with the sign kept. */
static inline float pto_f16_bits_to_f32(uint16_t h)
{
    const uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    const uint32_t em = (uint32_t)h & 0x7fffu;
    uint32_t u = (em << 13) + 0x38000000u;         /* rebias the exponent: 15 -> 127 */
    u = em >= 0x7c00u ? u + 0x38000000u : u;      /* inf / NaN: exponent 31 -> 255 */
    const float subf = (float)(int32_t)em * 0x1p-24f; /* zero and subnormals, exact */
    uint32_t sub;
    memcpy(&sub, &subf, sizeof sub);
    /* mask select, not ?: -- gcc would sink the float ops into a branch (trapping math) and
     * give up vectorising */
    const uint32_t m = 0u - (uint32_t)(em < 0x0400u);
    u = ((sub & m) | (u & ~m)) | sign;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t pto_f32_to_f16_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t a = u & 0x7fffffffu;
    /* normal range: rebias and round to nearest-even on the 13 dropped bits (a carry into
     * the exponent is the correct rounding, up to infinity) */
    const uint32_t norm = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;
    /* below 2^-14: adding 0.5 makes the FPU round at the f16 subnormal quantum 2^-24 */
    float fa;
    memcpy(&fa, &a, sizeof fa);
    fa += 0.5f;
    uint32_t sb;
    memcpy(&sb, &fa, sizeof sb);
    const uint32_t subn = sb - 0x3f000000u;
    const uint32_t m = 0u - (uint32_t)(a < 0x38800000u); /* mask select (see above) */
    uint32_t r = (subn & m) | (norm & ~m);
    const uint32_t mo = 0u - (uint32_t)(a >= 0x47800000u); /* >= 65536: overflow to inf */
    r = (0x7c00u & mo) | (r & ~mo);
    const uint32_t mn = 0u - (uint32_t)(a > 0x7f800000u);  /* NaN */
    r = (0x7e00u & mn) | (r & ~mn);
    return (uint16_t)(r | sign);
}

typedef uint16_t __attribute__((may_alias)) pto__h16;

static inline uint16_t pto__f16_bits(pto_f16_t h)
{
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}
static inline pto_f16_t pto__f16_from_bits(uint16_t u)
{
    pto_f16_t h;
    memcpy(&h, &u, sizeof h);
    return h;
}
static inline float pto_f16_to_f32(pto_f16_t h) { return pto_f16_bits_to_f32(pto__f16_bits(h)); }
static inline pto_f16_t pto_f32_to_f16(float f) { return pto__f16_from_bits(pto_f32_to_f16_bits(f)); }
/* correctly rounded double -> f16 (round to odd at 24 bits first: 24 >= 11 + 2) */
static inline pto_f16_t pto_f64_to_f16(double d) { return pto_f32_to_f16(pto__d2f_odd(d)); }

/* ---- dtype traits ---------------------------------------------------------------------------
 * PTO_T_x   storage type              PTO_C_x   compute type of element-wise arithmetic
 * PTO_LD_x  storage -> compute        PTO_ST_x  compute -> storage (RNE)
 * PTO_S_x   scalar parameter type     PTO_SC_x  scalar parameter -> compute type
 * PTO_TOD_x storage -> double (exact) PTO_FROMD_x double -> storage (RNE, correctly rounded)
 * PTO_ES_x  element size in bytes     PTO_U_x / PTO_W_x  unsigned / wide unsigned (integers)
 */
#define PTO_T_f32 float
#define PTO_T_f64 double
#define PTO_T_f16 pto_f16_t
#define PTO_T_bf16 pto_bf16_t
#define PTO_T_i8 int8_t
#define PTO_T_i16 int16_t
#define PTO_T_i32 int32_t
#define PTO_T_i64 int64_t
#define PTO_T_u8 uint8_t
#define PTO_T_u16 uint16_t
#define PTO_T_u32 uint32_t
#define PTO_T_u64 uint64_t

#define PTO_C_f32 float
#define PTO_C_f64 double
#define PTO_C_f16 float
#define PTO_C_bf16 float
#define PTO_C_i8 int8_t
#define PTO_C_i16 int16_t
#define PTO_C_i32 int32_t
#define PTO_C_i64 int64_t
#define PTO_C_u8 uint8_t
#define PTO_C_u16 uint16_t
#define PTO_C_u32 uint32_t
#define PTO_C_u64 uint64_t

#define PTO_LD_f32(x) (x)
#define PTO_LD_f64(x) (x)
/* f16 elements are read and written through a may_alias uint16_t view: gcc has no vector type
 * for _Float16 without AVX512-FP16, so this is what lets f16 loops vectorise. */
#define PTO_LD_f16(x) pto_f16_bits_to_f32(*(const pto__h16 *)&(x))
#define PTO_LD_bf16(x) pto_bf16_to_f32(x)
#define PTO_LD_i8(x) (x)
#define PTO_LD_i16(x) (x)
#define PTO_LD_i32(x) (x)
#define PTO_LD_i64(x) (x)
#define PTO_LD_u8(x) (x)
#define PTO_LD_u16(x) (x)
#define PTO_LD_u32(x) (x)
#define PTO_LD_u64(x) (x)

#define PTO_ST_f32(x) (x)
#define PTO_ST_f64(x) (x)
#define PTO_ST_f16(x) pto_f32_to_f16(x)
#define PTO_ST_bf16(x) pto_f32_to_bf16(x)
/* PTO_STORE_x(lvalue, compute value): store with rounding to the storage type */
#define PTO_STORE_f32(lv, v) ((lv) = (v))
#define PTO_STORE_f64(lv, v) ((lv) = (v))
#define PTO_STORE_f16(lv, v) (*(pto__h16 *)&(lv) = pto_f32_to_f16_bits(v))
#define PTO_STORE_bf16(lv, v) ((lv) = pto_f32_to_bf16(v))
#define PTO_STORE_i8(lv, v) ((lv) = (v))
#define PTO_STORE_i16(lv, v) ((lv) = (v))
#define PTO_STORE_i32(lv, v) ((lv) = (v))
#define PTO_STORE_i64(lv, v) ((lv) = (v))
#define PTO_STORE_u8(lv, v) ((lv) = (v))
#define PTO_STORE_u16(lv, v) ((lv) = (v))
#define PTO_STORE_u32(lv, v) ((lv) = (v))
#define PTO_STORE_u64(lv, v) ((lv) = (v))
#define PTO_ST_i8(x) (x)
#define PTO_ST_i16(x) (x)
#define PTO_ST_i32(x) (x)
#define PTO_ST_i64(x) (x)
#define PTO_ST_u8(x) (x)
#define PTO_ST_u16(x) (x)
#define PTO_ST_u32(x) (x)
#define PTO_ST_u64(x) (x)

#define PTO_S_f32 float
#define PTO_S_f64 double
#define PTO_S_f16 pto_f16_t
#define PTO_S_bf16 double /* rounded once to bf16 (RNE) on entry, like a bf16 scalar register */
#define PTO_S_i8 int8_t
#define PTO_S_i16 int16_t
#define PTO_S_i32 int32_t
#define PTO_S_i64 int64_t
#define PTO_S_u8 uint8_t
#define PTO_S_u16 uint16_t
#define PTO_S_u32 uint32_t
#define PTO_S_u64 uint64_t

#define PTO_SC_f32(s) (s)
#define PTO_SC_f64(s) (s)
#define PTO_SC_f16(s) pto_f16_to_f32(s)
#define PTO_SC_bf16(s) pto_bf16_to_f32(pto_f64_to_bf16(s))
#define PTO_SC_i8(s) (s)
#define PTO_SC_i16(s) (s)
#define PTO_SC_i32(s) (s)
#define PTO_SC_i64(s) (s)
#define PTO_SC_u8(s) (s)
#define PTO_SC_u16(s) (s)
#define PTO_SC_u32(s) (s)
#define PTO_SC_u64(s) (s)

#define PTO_TOD_f32(x) ((double)(x))
#define PTO_TOD_f64(x) (x)
#define PTO_TOD_f16(x) ((double)pto_f16_to_f32(x))
#define PTO_TOD_bf16(x) ((double)pto_bf16_to_f32(x))

#define PTO_FROMD_f32(d) ((float)(d))
#define PTO_FROMD_f64(d) (d)
#define PTO_FROMD_f16(d) pto_f64_to_f16(d)
#define PTO_FROMD_bf16(d) pto_f64_to_bf16(d)

#define PTO_ES_f32 4
#define PTO_ES_f64 8
#define PTO_ES_f16 2
#define PTO_ES_bf16 2
#define PTO_ES_i8 1
#define PTO_ES_i16 2
#define PTO_ES_i32 4
#define PTO_ES_i64 8
#define PTO_ES_u8 1
#define PTO_ES_u16 2
#define PTO_ES_u32 4
#define PTO_ES_u64 8

#define PTO_U_i8 uint8_t
#define PTO_U_i16 uint16_t
#define PTO_U_i32 uint32_t
#define PTO_U_i64 uint64_t
#define PTO_U_u8 uint8_t
#define PTO_U_u16 uint16_t
#define PTO_U_u32 uint32_t
#define PTO_U_u64 uint64_t
/* wide unsigned: avoids promotion to (signed) int, whose overflow would be undefined */
#define PTO_W_i8 uint32_t
#define PTO_W_i16 uint32_t
#define PTO_W_i32 uint32_t
#define PTO_W_i64 uint64_t
#define PTO_W_u8 uint32_t
#define PTO_W_u16 uint32_t
#define PTO_W_u32 uint32_t
#define PTO_W_u64 uint64_t
#define PTO_BITS_i8 8
#define PTO_BITS_i16 16
#define PTO_BITS_i32 32
#define PTO_BITS_i64 64
#define PTO_BITS_u8 8
#define PTO_BITS_u16 16
#define PTO_BITS_u32 32
#define PTO_BITS_u64 64
/* saturation bounds for float -> int: value >= HI -> MAX, value < LO -> MIN (both exact) */
#define PTO_IMAX_i8 INT8_MAX
#define PTO_IMAX_i16 INT16_MAX
#define PTO_IMAX_i32 INT32_MAX
#define PTO_IMAX_i64 INT64_MAX
#define PTO_IMAX_u8 UINT8_MAX
#define PTO_IMAX_u16 UINT16_MAX
#define PTO_IMAX_u32 UINT32_MAX
#define PTO_IMAX_u64 UINT64_MAX
#define PTO_IMIN_i8 INT8_MIN
#define PTO_IMIN_i16 INT16_MIN
#define PTO_IMIN_i32 INT32_MIN
#define PTO_IMIN_i64 INT64_MIN
#define PTO_IMIN_u8 0
#define PTO_IMIN_u16 0
#define PTO_IMIN_u32 0
#define PTO_IMIN_u64 0
#define PTO_IHI_i8 128.0
#define PTO_IHI_i16 32768.0
#define PTO_IHI_i32 2147483648.0
#define PTO_IHI_i64 9223372036854775808.0
#define PTO_IHI_u8 256.0
#define PTO_IHI_u16 65536.0
#define PTO_IHI_u32 4294967296.0
#define PTO_IHI_u64 18446744073709551616.0
#define PTO_ILO_i8 (-128.0)
#define PTO_ILO_i16 (-32768.0)
#define PTO_ILO_i32 (-2147483648.0)
#define PTO_ILO_i64 (-9223372036854775808.0)
#define PTO_ILO_u8 0.0
#define PTO_ILO_u16 0.0
#define PTO_ILO_u32 0.0
#define PTO_ILO_u64 0.0

/* dtype families: M(sfx, args...) */
#define PTO__FLOATS(M, ...) M(f32, __VA_ARGS__) M(f64, __VA_ARGS__) M(f16, __VA_ARGS__) M(bf16, __VA_ARGS__)
#define PTO__SINTS(M, ...) M(i8, __VA_ARGS__) M(i16, __VA_ARGS__) M(i32, __VA_ARGS__) M(i64, __VA_ARGS__)
#define PTO__UINTS(M, ...) M(u8, __VA_ARGS__) M(u16, __VA_ARGS__) M(u32, __VA_ARGS__) M(u64, __VA_ARGS__)
#define PTO__INTS(M, ...) PTO__SINTS(M, __VA_ARGS__) PTO__UINTS(M, __VA_ARGS__)
#define PTO__SIGNED(M, ...) PTO__FLOATS(M, __VA_ARGS__) PTO__SINTS(M, __VA_ARGS__)
#define PTO__ALL(M, ...) PTO__FLOATS(M, __VA_ARGS__) PTO__INTS(M, __VA_ARGS__)

/* ---- cycle cost models ----------------------------------------------------------------------
 * Classes of vector instructions (only the A2/A3-like model distinguishes them). */
enum {
    PTO_COST_ALU = 0,     /* simple vector ALU op: 2.11*repeat + 24 (+16 count-mode floor) */
    PTO_COST_TRANS = 1,   /* div/sqrt/exp/...: TEXP fitted formula round(0.0314*n + 30.1) */
    PTO_COST_REDSUM = 2,  /* row/col sums: 4*repeat(src) + 62 (+ floor) */
    PTO_COST_REDMAX = 3,  /* row/col max/min: 4*repeat(src) + 48 (+ floor) */
    PTO_COST_EXPAND = 4,  /* row broadcast: round(7.53*repeat + 34.5) (+ floor) */
    PTO_COST_EXPANDOP = 5 /* row broadcast + ALU op: round(9.64*repeat + 34.5) (+ floor) */
};

/* A2/A3-like cost of a vector instruction touching rows x cols elements of esize bytes. */
static inline uint64_t pto__cost_a2(int cls, int rows, int cols, int esize)
{
    const uint64_t n = (uint64_t)(int64_t)rows * (uint64_t)(int64_t)cols;
    const uint64_t bytes = n * (uint64_t)esize;
    const uint64_t rep = (bytes + 255u) / 256u;
    const uint64_t floor16 = (((uint64_t)(int64_t)cols * (uint64_t)esize) % 256u) ? 16u : 0u;
    switch (cls) {
    case PTO_COST_TRANS: return (314u * n + 301000u + 5000u) / 10000u;
    case PTO_COST_REDSUM: return 4u * rep + 62u + floor16;
    case PTO_COST_REDMAX: return 4u * rep + 48u + floor16;
    case PTO_COST_EXPAND: return (753u * rep + 3450u + 50u) / 100u + floor16;
    case PTO_COST_EXPANDOP: return (964u * rep + 3450u + 50u) / 100u + floor16;
    default: return (211u * rep + 50u) / 100u + 24u + floor16;
    }
}

/* element-wise / unary / broadcast / convert / compare ...: (rows, cols) = dst shape */
static inline uint64_t pto__cost_ew(int cls, int rows, int cols, int esize)
{
#if PTO_COST_MODEL == 1
    return pto__cost_a2(cls, rows, cols, esize);
#else
    (void)cls; (void)esize;
    return (uint64_t)(int64_t)rows * (uint64_t)(int64_t)cols;
#endif
}

/* reductions: v9 counts the dst (dst_elems), A2/A3 the source tile (rows x cols) */
static inline uint64_t pto__cost_red(int cls, int rows, int cols, int esize, int dst_elems)
{
#if PTO_COST_MODEL == 1
    (void)dst_elems;
    return pto__cost_a2(cls, rows, cols, esize);
#else
    (void)cls; (void)rows; (void)cols; (void)esize;
    return (uint64_t)(int64_t)dst_elems;
#endif
}

/* GM <-> UB transfers: v9 rows*cols; A2/A3 ceil(bytes * 1.85e9 / (BW_GBps * 2^30)) with
 * GM->UB 100.9 GB/s and UB->GM 188.5 GB/s.  1.85e10 = 2^8 * 72265625. */
static inline uint64_t pto__cost_gm(int is_store, int rows, int cols, int esize)
{
#if PTO_COST_MODEL == 1
    const uint64_t bytes = (uint64_t)(int64_t)rows * (uint64_t)(int64_t)cols * (uint64_t)esize;
    const uint64_t den = (is_store ? 1885u : 1009u) * (uint64_t)4194304u;
    return (bytes * 72265625u + den - 1u) / den;
#else
    (void)is_store; (void)esize;
    return (uint64_t)(int64_t)rows * (uint64_t)(int64_t)cols;
#endif
}

/* cube: v9 M*K*N; A2/A3 6 + k_rep * ceil(M/16) * ceil(K/kK) * ceil(N/16), kK = 32/sizeof(A) */
static inline uint64_t pto__cost_mm(int m, int k, int n, int esize_a, int k_rep)
{
#if PTO_COST_MODEL == 1
    const uint64_t kk = (uint64_t)(32 / esize_a);
    return 6u + (uint64_t)k_rep * (((uint64_t)m + 15u) / 16u) * (((uint64_t)k + kk - 1u) / kk)
                    * (((uint64_t)n + 15u) / 16u);
#else
    (void)esize_a; (void)k_rep;
    return (uint64_t)(int64_t)m * (uint64_t)(int64_t)k * (uint64_t)(int64_t)n;
#endif
}

/* v9 only: the prototype's implicit TMOV (rows x cols) of a matmul result that a vector op
 * reads (L0C -> UB) and of a computed tile used as a matmul operand (UB -> L0A/L0B); 0 in
 * the A2/A3 model. The kernel lowering emits the calls (docs/tile-library.md). */
static inline uint64_t pto__cost_v9_move(int rows, int cols)
{
#if PTO_COST_MODEL == 1
    (void)rows; (void)cols;
    return 0;
#else
    return (uint64_t)(int64_t)rows * (uint64_t)(int64_t)cols;
#endif
}

/* A2/A3 only: a GM transfer that splitting a mixed cube/vector kernel adds (a crossing tile's
 * TSTORE to the workspace and TLOAD back, or a second TLOAD of a tile both units read); 0 in
 * the v9 model, which charges its implicit TMOVs instead (docs/tile-library.md). */
static inline uint64_t pto__cost_split_gm(int is_store, int rows, int cols, int esize)
{
#if PTO_COST_MODEL == 1
    return pto__cost_gm(is_store, rows, cols, esize);
#else
    (void)is_store; (void)rows; (void)cols; (void)esize;
    return 0;
#endif
}

/* TSORT32: v9 5*n; A2/A3 estimate (no published anchor): ALU formula with 4 repeats per
 * 32-element block. */
static inline uint64_t pto__cost_sort(int rows, int cols)
{
#if PTO_COST_MODEL == 1
    const uint64_t blocks = (uint64_t)(int64_t)rows * (((uint64_t)(int64_t)cols + 31u) / 32u);
    return (211u * 4u * blocks + 50u) / 100u + 24u;
#else
    return 5u * (uint64_t)(int64_t)rows * (uint64_t)(int64_t)cols;
#endif
}

/* TMRGSORT of n (value, index) pairs (our estimate; no published anchor): v9 5 x n, A2/A3 one
 * ALU pass over the pairs' bytes */
static inline uint64_t pto__cost_mrgsort(int pairs)
{
#if PTO_COST_MODEL == 1
    const uint64_t rep = ((uint64_t)(int64_t)pairs * 8u + 255u) / 256u;
    return (211u * 2u * rep + 50u) / 100u + 24u;
#else
    return 5u * (uint64_t)(int64_t)pairs;
#endif
}

#endif /* PTO_TILE_CORE_H */

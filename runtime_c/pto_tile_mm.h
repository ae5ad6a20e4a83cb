/* pto_tile_mm.h -- TMATMUL / TMATMUL_ACC.  Included by pto_tile.h.
 *
 * C[M,N] (=|+=) A[M,K] . B[K,N], all row-major contiguous.  Every C element is accumulated in
 * the accumulator type in sequential k order: c = ((c0 + a0*b0) + a1*b1) + ...  (c0 = 0 for
 * TMATMUL, the old C for TMATMUL_ACC).  f16/bf16 products are exact in f32, so the f16/bf16
 * paths widen the operands once and reuse the f32 kernel with identical numerics. */
#ifndef PTO_TILE_MM_H
#define PTO_TILE_MM_H

#include "pto_tile_core.h"

typedef float pto__v4f __attribute__((vector_size(16)));


/* Register-blocked micro-kernel: 4 rows x (2 vectors of W floats) of C held in registers over
 * the whole k range (so every c[i,j] still accumulates in k order), scalar column edge,
 * row edge in i-k-j order.  VT is a gcc vector type of W floats. */
#define PTO__MM_F32_BODY(VT, W)                                                                   \
    int i = 0;                                                                                    \
    for (; i + 4 <= m; i += 4) {                                                                  \
        const float *a0 = a + (int64_t)i * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;           \
        float *c0 = c + (int64_t)i * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;                 \
        int j = 0;                                                                                \
        for (; j + 2 * (W) <= n; j += 2 * (W)) {                                                  \
            VT x00, x01, x10, x11, x20, x21, x30, x31;                                            \
            if (acc) {                                                                            \
                memcpy(&x00, c0 + j, sizeof(VT)); memcpy(&x01, c0 + j + (W), sizeof(VT));         \
                memcpy(&x10, c1 + j, sizeof(VT)); memcpy(&x11, c1 + j + (W), sizeof(VT));         \
                memcpy(&x20, c2 + j, sizeof(VT)); memcpy(&x21, c2 + j + (W), sizeof(VT));         \
                memcpy(&x30, c3 + j, sizeof(VT)); memcpy(&x31, c3 + j + (W), sizeof(VT));         \
            } else {                                                                              \
                x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = (VT){0};                          \
            }                                                                                     \
            const float *bp = b + j;                                                              \
            for (int p = 0; p < k; ++p, bp += n) {                                                \
                VT b0, b1;                                                                        \
                memcpy(&b0, bp, sizeof(VT));                                                      \
                memcpy(&b1, bp + (W), sizeof(VT));                                                \
                const float s0 = a0[p], s1 = a1[p], s2 = a2[p], s3 = a3[p];                       \
                x00 += s0 * b0; x01 += s0 * b1;                                                   \
                x10 += s1 * b0; x11 += s1 * b1;                                                   \
                x20 += s2 * b0; x21 += s2 * b1;                                                   \
                x30 += s3 * b0; x31 += s3 * b1;                                                   \
            }                                                                                     \
            memcpy(c0 + j, &x00, sizeof(VT)); memcpy(c0 + j + (W), &x01, sizeof(VT));             \
            memcpy(c1 + j, &x10, sizeof(VT)); memcpy(c1 + j + (W), &x11, sizeof(VT));             \
            memcpy(c2 + j, &x20, sizeof(VT)); memcpy(c2 + j + (W), &x21, sizeof(VT));             \
            memcpy(c3 + j, &x30, sizeof(VT)); memcpy(c3 + j + (W), &x31, sizeof(VT));             \
        }                                                                                         \
        for (; j < n; ++j) {                                                                      \
            float s0 = acc ? c0[j] : 0.0f, s1 = acc ? c1[j] : 0.0f;                               \
            float s2 = acc ? c2[j] : 0.0f, s3 = acc ? c3[j] : 0.0f;                               \
            for (int p = 0; p < k; ++p) {                                                         \
                const float bv = b[(int64_t)p * n + j];                                           \
                s0 += a0[p] * bv; s1 += a1[p] * bv; s2 += a2[p] * bv; s3 += a3[p] * bv;           \
            }                                                                                     \
            c0[j] = s0; c1[j] = s1; c2[j] = s2; c3[j] = s3;                                       \
        }                                                                                         \
    }                                                                                             \
    for (; i < m; ++i) {                                                                          \
        float *ci = c + (int64_t)i * n;                                                           \
        const float *ai = a + (int64_t)i * k;                                                     \
        if (!acc)                                                                                 \
            for (int j = 0; j < n; ++j)                                                           \
                ci[j] = 0.0f;                                                                     \
        for (int p = 0; p < k; ++p) {                                                             \
            const float s = ai[p];                                                                \
            const float *bp = b + (int64_t)p * n;                                                 \
            for (int j = 0; j < n; ++j)                                                           \
                ci[j] += s * bp[j];                                                               \
        }                                                                                         \
    }

#if defined(__x86_64__) && !defined(PTO_TILE_NO_AVX2) && !defined(__AVX2__)
/* 8-wide AVX2 clone chosen at run time.  Only AVX2 is enabled (not FMA), so products and sums
 * round exactly as in the portable kernel: the results are bit-identical. */
#define PTO__MM_AVX2 1
typedef float pto__v8f __attribute__((vector_size(32)));
__attribute__((target("avx2"))) static void pto__mm_f32_avx2(float *restrict c,
                                                             const float *restrict a,
                                                             const float *restrict b, int m,
                                                             int k, int n, int acc)
{
    PTO__MM_F32_BODY(pto__v8f, 8)
}
#endif

static inline void pto__mm_f32_portable(float *restrict c, const float *restrict a,
                                        const float *restrict b, int m, int k, int n, int acc)
{
#if defined(__AVX2__)
    typedef float pto__vnf __attribute__((vector_size(32)));
    PTO__MM_F32_BODY(pto__vnf, 8)
#else
    PTO__MM_F32_BODY(pto__v4f, 4)
#endif
}

static inline void pto__mm_f32(float *restrict c, const float *restrict a, const float *restrict b,
                               int m, int k, int n, int acc)
{
#ifdef PTO__MM_AVX2
    if (m >= 4 && n >= 16 && __builtin_cpu_supports("avx2")) {
        pto__mm_f32_avx2(c, a, b, m, k, n, acc);
        return;
    }
#endif
    pto__mm_f32_portable(c, a, b, m, k, n, acc);
}

static inline uint64_t pto_tmatmul_f32(float *restrict c, const float *restrict a,
                                       const float *restrict b, int m, int k, int n)
{
    pto__mm_f32(c, a, b, m, k, n, 0);
    return pto__cost_mm(m, k, n, 4, 2);
}
static inline uint64_t pto_tmatmul_acc_f32(float *restrict c, const float *restrict a,
                                           const float *restrict b, int m, int k, int n)
{
    pto__mm_f32(c, a, b, m, k, n, 1);
    return pto__cost_mm(m, k, n, 4, 2);
}

/* f16 / bf16 inputs, f32 accumulator: widen A and B once (exact), then the f32 kernel.  Small
 * operands use a stack buffer; large ones malloc, and if that fails a direct scalar loop runs
 * (same numerics, slower). */
#define PTO__MM_SCRATCH 4096
#define PTO__DEF_MM_HALF(sfx, _u)                                                                 \
    static inline void pto__mm_##sfx(float *restrict c, const PTO_T_##sfx *restrict a,            \
                                     const PTO_T_##sfx *restrict b, int m, int k, int n, int acc) \
    {                                                                                             \
        const int64_t na = (int64_t)m * k, nb = (int64_t)k * n;                                   \
        float stackbuf[PTO__MM_SCRATCH];                                                          \
        float *buf = na + nb <= PTO__MM_SCRATCH ? stackbuf                                        \
                                                : (float *)malloc((size_t)(na + nb) * sizeof(float)); \
        if (buf) {                                                                                \
            for (int64_t q = 0; q < na; ++q)                                                      \
                buf[q] = PTO_LD_##sfx(a[q]);                                                      \
            for (int64_t q = 0; q < nb; ++q)                                                      \
                buf[na + q] = PTO_LD_##sfx(b[q]);                                                 \
            pto__mm_f32(c, buf, buf + na, m, k, n, acc);                                          \
            if (buf != stackbuf)                                                                  \
                free(buf);                                                                        \
            return;                                                                               \
        }                                                                                         \
        for (int i = 0; i < m; ++i)                                                               \
            for (int j = 0; j < n; ++j) {                                                         \
                float s = acc ? c[(int64_t)i * n + j] : 0.0f;                                     \
                for (int p = 0; p < k; ++p)                                                       \
                    s += PTO_LD_##sfx(a[(int64_t)i * k + p]) * PTO_LD_##sfx(b[(int64_t)p * n + j]); \
                c[(int64_t)i * n + j] = s;                                                        \
            }                                                                                     \
    }                                                                                             \
    static inline uint64_t pto_tmatmul_##sfx(float *restrict c, const PTO_T_##sfx *restrict a,    \
                                             const PTO_T_##sfx *restrict b, int m, int k, int n)  \
    {                                                                                             \
        pto__mm_##sfx(c, a, b, m, k, n, 0);                                                       \
        return pto__cost_mm(m, k, n, 2, 1);                                                       \
    }                                                                                             \
    static inline uint64_t pto_tmatmul_acc_##sfx(float *restrict c,                               \
                                                 const PTO_T_##sfx *restrict a,                   \
                                                 const PTO_T_##sfx *restrict b, int m, int k,     \
                                                 int n)                                           \
    {                                                                                             \
        pto__mm_##sfx(c, a, b, m, k, n, 1);                                                       \
        return pto__cost_mm(m, k, n, 2, 1);                                                       \
    }
PTO__DEF_MM_HALF(f16, _)
PTO__DEF_MM_HALF(bf16, _)

/* i8 x i8 -> i32, wrap-around accumulation (never overflows for K < 2^17) */
static inline void pto__mm_i8(int32_t *restrict c, const int8_t *restrict a,
                              const int8_t *restrict b, int m, int k, int n, int acc)
{
    for (int i = 0; i < m; ++i) {
        int32_t *ci = c + (int64_t)i * n;
        if (!acc)
            for (int j = 0; j < n; ++j)
                ci[j] = 0;
        for (int p = 0; p < k; ++p) {
            const int32_t s = a[(int64_t)i * k + p];
            const int8_t *bp = b + (int64_t)p * n;
            for (int j = 0; j < n; ++j)
                ci[j] = (int32_t)((uint32_t)ci[j] + (uint32_t)(s * (int32_t)bp[j]));
        }
    }
}
static inline uint64_t pto_tmatmul_i8(int32_t *restrict c, const int8_t *restrict a,
                                      const int8_t *restrict b, int m, int k, int n)
{
    pto__mm_i8(c, a, b, m, k, n, 0);
    return pto__cost_mm(m, k, n, 1, 1);
}
static inline uint64_t pto_tmatmul_acc_i8(int32_t *restrict c, const int8_t *restrict a,
                                          const int8_t *restrict b, int m, int k, int n)
{
    pto__mm_i8(c, a, b, m, k, n, 1);
    return pto__cost_mm(m, k, n, 1, 1);
}

/* TSTORE with AtomicAdd of an accumulator (f32, i32): dst[i*rs + j*cs] += src[i,j] (f32: one
 * IEEE add; i32: wraps).  A read-modify-write of GM: costs a TLOAD plus a TSTORE of the tile. */
#define PTO__DEF_TSTORE_ADD(sfx, ADD)                                                             \
    static inline uint64_t pto_tstore_add_##sfx(PTO_T_##sfx *dst, const PTO_T_##sfx *restrict src, \
                                                int64_t row_stride, int64_t col_stride, int rows,   \
                                                int cols)                                           \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            const PTO_T_##sfx *s_ = src + (int64_t)i * cols;                                      \
            PTO_T_##sfx *d_ = dst + (int64_t)i * row_stride;                                      \
            for (int j = 0; j < cols; ++j) {                                                      \
                PTO_T_##sfx *e_ = d_ + (int64_t)j * col_stride;                                   \
                *e_ = ADD(*e_, s_[j]);                                                            \
            }                                                                                     \
        }                                                                                         \
        return pto__cost_gm(0, rows, cols, PTO_ES_##sfx) + pto__cost_gm(1, rows, cols, PTO_ES_##sfx); \
    }
#define PTO__ADD_F32(a, b) ((a) + (b))
#define PTO__ADD_I32(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
PTO__DEF_TSTORE_ADD(f32, PTO__ADD_F32)
PTO__DEF_TSTORE_ADD(i32, PTO__ADD_I32)
#undef PTO__ADD_F32
#undef PTO__ADD_I32
#undef PTO__DEF_TSTORE_ADD

#endif /* PTO_TILE_MM_H */

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

static inline pto__v4f pto__v4f_ld(const float *p)
{
    pto__v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void pto__v4f_st(float *p, pto__v4f v) { memcpy(p, &v, sizeof v); }

/* register-blocked 4 x 8 micro-kernel over the full k range, scalar edges */
static inline void pto__mm_f32(float *restrict c, const float *restrict a, const float *restrict b,
                               int m, int k, int n, int acc)
{
    int i = 0;
    for (; i + 4 <= m; i += 4) {
        const float *a0 = a + (int64_t)i * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
        float *c0 = c + (int64_t)i * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            pto__v4f x00 = {0, 0, 0, 0}, x01 = x00, x10 = x00, x11 = x00, x20 = x00, x21 = x00,
                     x30 = x00, x31 = x00;
            if (acc) {
                x00 = pto__v4f_ld(c0 + j); x01 = pto__v4f_ld(c0 + j + 4);
                x10 = pto__v4f_ld(c1 + j); x11 = pto__v4f_ld(c1 + j + 4);
                x20 = pto__v4f_ld(c2 + j); x21 = pto__v4f_ld(c2 + j + 4);
                x30 = pto__v4f_ld(c3 + j); x31 = pto__v4f_ld(c3 + j + 4);
            }
            const float *bp = b + j;
            for (int p = 0; p < k; ++p, bp += n) {
                const pto__v4f b0 = pto__v4f_ld(bp), b1 = pto__v4f_ld(bp + 4);
                const float s0 = a0[p], s1 = a1[p], s2 = a2[p], s3 = a3[p];
                x00 += s0 * b0; x01 += s0 * b1;
                x10 += s1 * b0; x11 += s1 * b1;
                x20 += s2 * b0; x21 += s2 * b1;
                x30 += s3 * b0; x31 += s3 * b1;
            }
            pto__v4f_st(c0 + j, x00); pto__v4f_st(c0 + j + 4, x01);
            pto__v4f_st(c1 + j, x10); pto__v4f_st(c1 + j + 4, x11);
            pto__v4f_st(c2 + j, x20); pto__v4f_st(c2 + j + 4, x21);
            pto__v4f_st(c3 + j, x30); pto__v4f_st(c3 + j + 4, x31);
        }
        for (; j < n; ++j) {
            float s0 = acc ? c0[j] : 0.0f, s1 = acc ? c1[j] : 0.0f;
            float s2 = acc ? c2[j] : 0.0f, s3 = acc ? c3[j] : 0.0f;
            for (int p = 0; p < k; ++p) {
                const float bv = b[(int64_t)p * n + j];
                s0 += a0[p] * bv; s1 += a1[p] * bv; s2 += a2[p] * bv; s3 += a3[p] * bv;
            }
            c0[j] = s0; c1[j] = s1; c2[j] = s2; c3[j] = s3;
        }
    }
    for (; i < m; ++i) {
        float *ci = c + (int64_t)i * n;
        const float *ai = a + (int64_t)i * k;
        if (!acc)
            for (int j = 0; j < n; ++j)
                ci[j] = 0.0f;
        for (int p = 0; p < k; ++p) {
            const float s = ai[p];
            const float *bp = b + (int64_t)p * n;
            for (int j = 0; j < n; ++j)
                ci[j] += s * bp[j];
        }
    }
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

#endif /* PTO_TILE_MM_H */

/* pto_tile_mm.h -- TMATMUL / TMATMUL_ACC.  Included by pto_tile.h.
 *
 * C[M,N] (=|+=) A[M,K] . B[K,N], row-major (contiguous; the _ld forms take row strides of A
 * and B, so operands can be read where they lie in a larger tensor).  Every C element is
 * accumulated in the accumulator type in sequential k order, each float step one fused
 * multiply-add: c = fma(a1, b1, fma(a0, b0, c0)) ...  (c0 = 0 for TMATMUL, the old C for
 * TMATMUL_ACC).  Whichever f32 kernel runs (AVX-512 or AVX2+FMA clone, or the portable loop
 * with fmaf, correctly rounded everywhere) the results are the same bits on any host.
 * f16/bf16 products are exact in f32, so the f16/bf16 paths widen the operands once and reuse
 * the f32 kernel with identical numerics. */
#ifndef PTO_TILE_MM_H
#define PTO_TILE_MM_H

#include "pto_tile_core.h"

/* Rows [i0, m) x columns [j0, n) of C, i-k-j order (vectorisable across j). */
static inline __attribute__((always_inline)) void
pto__mm_f32_rect(float *restrict c, int64_t ldc, const float *restrict a, int64_t lda,
                 const float *restrict b, int64_t ldb, int i0, int m, int j0, int n, int k, int acc)
{
    if (j0 >= n)
        return;
    for (int i = i0; i < m; ++i) {
        float *ci = c + i * ldc;
        const float *ai = a + i * lda;
        if (!acc)
            for (int j = j0; j < n; ++j)
                ci[j] = 0.0f;
        for (int p = 0; p < k; ++p) {
            const float s = ai[p];
            const float *bp = b + p * ldb;
            for (int j = j0; j < n; ++j)
                ci[j] = fmaf(s, bp[j], ci[j]);
        }
    }
}

#if defined(__x86_64__) && !defined(PTO_TILE_NO_AVX2) && !defined(PTO_TILE_NO_MATMUL)
#include <immintrin.h>
#define PTO__MM_SIMD 1
/* Register-blocked micro-kernel chosen at run time: MR rows x (2 vectors of W floats) of C held
 * in registers over the whole k range, operands read in place; the edges by pto__mm_f32_rect. */
#define PTO__MM_F32_SIMD(NAME, TGT, VT, W, MR, LOAD, STORE, SET1, ZERO, FMADD)                     \
    __attribute__((target(TGT))) static void NAME(float *restrict c, int64_t ldc,                  \
                                                  const float *restrict a, int64_t lda,            \
                                                  const float *restrict b, int64_t ldb, int m,     \
                                                  int k, int n, int acc)                           \
    {                                                                                              \
        int i = 0;                                                                                 \
        for (; i + (MR) <= m; i += (MR)) {                                                         \
            int j = 0;                                                                             \
            for (; j + 2 * (W) <= n; j += 2 * (W)) {                                               \
                VT x[MR][2];                                                                       \
                float *cp = c + i * ldc + j;                                                       \
                _Pragma("GCC unroll 8") for (int r = 0; r < (MR); ++r) {                           \
                    x[r][0] = acc ? LOAD(cp + r * ldc) : ZERO();                                   \
                    x[r][1] = acc ? LOAD(cp + r * ldc + (W)) : ZERO();                             \
                }                                                                                  \
                const float *ap = a + i * lda, *bp = b + j;                                        \
                for (int p = 0; p < k; ++p, bp += ldb) {                                           \
                    const VT b0 = LOAD(bp), b1 = LOAD(bp + (W));                                   \
                    _Pragma("GCC unroll 8") for (int r = 0; r < (MR); ++r) {                       \
                        const VT s = SET1(ap[r * lda + p]);                                        \
                        x[r][0] = FMADD(s, b0, x[r][0]);                                           \
                        x[r][1] = FMADD(s, b1, x[r][1]);                                           \
                    }                                                                              \
                }                                                                                  \
                _Pragma("GCC unroll 8") for (int r = 0; r < (MR); ++r) {                           \
                    STORE(cp + r * ldc, x[r][0]);                                                  \
                    STORE(cp + r * ldc + (W), x[r][1]);                                            \
                }                                                                                  \
            }                                                                                      \
            pto__mm_f32_rect(c, ldc, a, lda, b, ldb, i, i + (MR), j, n, k, acc);                   \
        }                                                                                          \
        pto__mm_f32_rect(c, ldc, a, lda, b, ldb, i, m, 0, n, k, acc);                              \
    }
PTO__MM_F32_SIMD(pto__mm_f32_avx512, "avx512f,fma", __m512, 16, 8, _mm512_loadu_ps,
                 _mm512_storeu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_fmadd_ps)
PTO__MM_F32_SIMD(pto__mm_f32_avx2, "avx2,fma", __m256, 8, 4, _mm256_loadu_ps, _mm256_storeu_ps,
                 _mm256_set1_ps, _mm256_setzero_ps, _mm256_fmadd_ps)
#endif

/* C[m,n] (=|+=) A[m,k] . B[k,n] with row strides ldc, lda, ldb: the kernel for this host. */
static inline void pto__mm_f32_run(float *restrict c, int64_t ldc, const float *restrict a,
                                   int64_t lda, const float *restrict b, int64_t ldb, int m,
                                   int k, int n, int acc)
{
#ifdef PTO__MM_SIMD
#ifndef PTO_TILE_NO_AVX512
    if (__builtin_cpu_supports("avx512f")) {
        pto__mm_f32_avx512(c, ldc, a, lda, b, ldb, m, k, n, acc);
        return;
    }
#endif
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        pto__mm_f32_avx2(c, ldc, a, lda, b, ldb, m, k, n, acc);
        return;
    }
#endif
    pto__mm_f32_rect(c, ldc, a, lda, b, ldb, 0, m, 0, n, k, acc);
}

/* Every block of rows of C reads all of B. Rows of B that lie far apart in a wider tensor
 * (often a multiple of 4 KiB apart) evict each other from L1, so when there are enough rows of
 * C to pay for it B is first copied into a contiguous stack tile (measured on 1024^3 in
 * K-loop tasks: 128-row tiles gain, 64-row tiles run faster reading B in place). A copy only:
 * the same bits either way. Rows a page apart defeat the hardware prefetcher, so the copy
 * prefetches the rows below the tile (measured: +15-20% on 512x4096x4096 in 128x128x64 steps
 * with B from DRAM). */
#define PTO__MM_PACK_ROWS 128
#define PTO__MM_PACK_MAX (128 * 128)
static inline void pto__mm_f32(float *restrict c, int64_t ldc, const float *restrict a,
                               int64_t lda, const float *restrict b, int64_t ldb, int m, int k,
                               int n, int acc)
{
    if (ldb != n && m >= PTO__MM_PACK_ROWS && (int64_t)k * n <= PTO__MM_PACK_MAX) {
        float pk[PTO__MM_PACK_MAX] __attribute__((aligned(64)));
        for (int p = 0; p < k; ++p) {
            memcpy(pk + (int64_t)p * n, b + p * ldb, (size_t)n * sizeof(float));
            /* the rows a K loop's next step reads (k further down): fetched while this step
             * computes (a prefetch never faults, wherever it points) */
            const uintptr_t next = (uintptr_t)(b + p * ldb) + (uintptr_t)(k * ldb * 4);
            for (int q = 0; q < n; q += 16)
                __builtin_prefetch((const void *)(next + (uintptr_t)q * 4));
        }
        pto__mm_f32_run(c, ldc, a, lda, pk, n, m, k, n, acc);
        return;
    }
    pto__mm_f32_run(c, ldc, a, lda, b, ldb, m, k, n, acc);
}

static inline uint64_t pto_tmatmul_f32(float *restrict c, const float *restrict a,
                                       const float *restrict b, int m, int k, int n)
{
    pto__mm_f32(c, n, a, k, b, n, m, k, n, 0);
    return pto__cost_mm(m, k, n, 4, 2);
}
static inline uint64_t pto_tmatmul_acc_f32(float *restrict c, const float *restrict a,
                                           const float *restrict b, int m, int k, int n)
{
    pto__mm_f32(c, n, a, k, b, n, m, k, n, 1);
    return pto__cost_mm(m, k, n, 4, 2);
}

/* The same with row strides (elements) of A and B: operands read where they lie in memory. */
static inline uint64_t pto_tmatmul_ld_f32(float *restrict c, const float *restrict a, int64_t lda,
                                          const float *restrict b, int64_t ldb, int m, int k,
                                          int n)
{
    pto__mm_f32(c, n, a, lda, b, ldb, m, k, n, 0);
    return pto__cost_mm(m, k, n, 4, 2);
}
static inline uint64_t pto_tmatmul_acc_ld_f32(float *restrict c, const float *restrict a,
                                              int64_t lda, const float *restrict b, int64_t ldb,
                                              int m, int k, int n)
{
    pto__mm_f32(c, n, a, lda, b, ldb, m, k, n, 1);
    return pto__cost_mm(m, k, n, 4, 2);
}

/* f16 / bf16 inputs, f32 accumulator: widen A and B once (exact), then the f32 kernel.  Small
 * operands use a stack buffer; large ones malloc, and if that fails a direct scalar loop runs
 * (same numerics, slower). */
#define PTO__MM_SCRATCH 4096
#define PTO__DEF_MM_HALF(sfx, _u)                                                                  \
    static inline void pto__mm_##sfx(float *restrict c, const PTO_T_##sfx *restrict a,             \
                                     const PTO_T_##sfx *restrict b, int m, int k, int n, int acc)  \
    {                                                                                              \
        const int64_t na = (int64_t)m * k, nb = (int64_t)k * n;                                    \
        float stackbuf[PTO__MM_SCRATCH];                                                           \
        float *buf = na + nb <= PTO__MM_SCRATCH ? stackbuf                                         \
                                                : (float *)malloc((size_t)(na + nb) * sizeof(float)); \
        if (buf) {                                                                                 \
            for (int64_t q = 0; q < na; ++q)                                                       \
                buf[q] = PTO_LD_##sfx(a[q]);                                                       \
            for (int64_t q = 0; q < nb; ++q)                                                       \
                buf[na + q] = PTO_LD_##sfx(b[q]);                                                  \
            pto__mm_f32(c, n, buf, k, buf + na, n, m, k, n, acc);                                  \
            if (buf != stackbuf)                                                                   \
                free(buf);                                                                         \
            return;                                                                                \
        }                                                                                          \
        for (int i = 0; i < m; ++i)                                                                \
            for (int j = 0; j < n; ++j) {                                                          \
                float s = acc ? c[(int64_t)i * n + j] : 0.0f;                                      \
                for (int p = 0; p < k; ++p)                                                        \
                    s = fmaf(PTO_LD_##sfx(a[(int64_t)i * k + p]),                                  \
                             PTO_LD_##sfx(b[(int64_t)p * n + j]), s);                              \
                c[(int64_t)i * n + j] = s;                                                         \
            }                                                                                      \
    }                                                                                              \
    static inline uint64_t pto_tmatmul_##sfx(float *restrict c, const PTO_T_##sfx *restrict a,     \
                                             const PTO_T_##sfx *restrict b, int m, int k, int n)   \
    {                                                                                              \
        pto__mm_##sfx(c, a, b, m, k, n, 0);                                                        \
        return pto__cost_mm(m, k, n, 2, 1);                                                        \
    }                                                                                              \
    static inline uint64_t pto_tmatmul_acc_##sfx(float *restrict c,                                \
                                                 const PTO_T_##sfx *restrict a,                    \
                                                 const PTO_T_##sfx *restrict b, int m, int k,      \
                                                 int n)                                            \
    {                                                                                              \
        pto__mm_##sfx(c, a, b, m, k, n, 1);                                                        \
        return pto__cost_mm(m, k, n, 2, 1);                                                        \
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

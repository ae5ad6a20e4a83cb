/* pto_tile_red.h -- reductions, row/column broadcasts and TSORT32.  Included by pto_tile.h. */
#ifndef PTO_TILE_RED_H
#define PTO_TILE_RED_H

#include "pto_tile_ew.h"

/* accumulator type of sums: float for f16/bf16 (like the official CPU sim), the dtype for
 * f32/f64, the wide unsigned type (wrap-around) for integers */
#define PTO_A_f32 float
#define PTO_A_f64 double
#define PTO_A_f16 float
#define PTO_A_bf16 float
#define PTO_A_i8 uint32_t
#define PTO_A_i16 uint32_t
#define PTO_A_i32 uint32_t
#define PTO_A_i64 uint64_t
#define PTO_A_u8 uint32_t
#define PTO_A_u16 uint32_t
#define PTO_A_u32 uint32_t
#define PTO_A_u64 uint64_t
/* storage -> accumulator, accumulator -> storage */
#define PTO__AIN_F(s, x) PTO_LD_##s(x)
#define PTO__AOUT_F(s, a) PTO_ST_##s(a)
#define PTO__AIN_I(s, x) PTO__IU(s, x)
#define PTO__AOUT_I(s, a) ((PTO_T_##s)(a))
#define PTO__ASUM(s, a, b) ((a) + (b))

/* row sums: PTO_SUM_LANES (16) fixed partial sums, combined in a fixed pairwise order, so the
 * result is deterministic and host-independent and gcc vectorises the lane loop at plain -O2
 * (no reassociation by the compiler).  With n = cols and m = 16 * floor(n / 16):
 *   n < 16:  ((x0 + x1) + x2) + ...                        (left to right)
 *   n >= 16: s[l] = ((x[l] + x[l+16]) + x[l+32]) + ...     (j < m, l = 0..15)
 *            s[l] += s[l+8]; s[l] += s[l+4]; s[l] += s[l+2]; s[0] += s[1]   (pairwise tree)
 *            then x[m], x[m+1], ..., x[n-1] are added to s[0] left to right.
 * Integer sums wrap, so any order gives the same result; they use the same code. */
#define PTO_SUM_LANES 16
#define PTO__ROW_SUM(sfx, name, OP, AIN, AOUT, ACC, CLS)                                          \
    static inline uint64_t pto_trow##name##_##sfx(PTO_T_##sfx *restrict dst,                      \
                                                  const PTO_T_##sfx *restrict src, int rows,      \
                                                  int cols)                                       \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            const PTO_T_##sfx *r_ = src + (int64_t)i * cols;                                      \
            ACC acc;                                                                              \
            int j;                                                                                \
            if (cols >= PTO_SUM_LANES) {                                                          \
                ACC s_[PTO_SUM_LANES];                                                            \
                _Pragma("GCC unroll 16") for (int l = 0; l < PTO_SUM_LANES; ++l)                  \
                    s_[l] = AIN(sfx, r_[l]);                                                      \
                for (j = PTO_SUM_LANES; j + PTO_SUM_LANES <= cols; j += PTO_SUM_LANES)            \
                    _Pragma("GCC unroll 16") for (int l = 0; l < PTO_SUM_LANES; ++l)              \
                        s_[l] = OP(sfx, s_[l], AIN(sfx, r_[j + l]));                              \
                _Pragma("GCC unroll 4") for (int h = PTO_SUM_LANES / 2; h >= 1; h /= 2)           \
                    _Pragma("GCC unroll 8") for (int l = 0; l < h; ++l)                           \
                        s_[l] = OP(sfx, s_[l], s_[l + h]);                                        \
                acc = s_[0];                                                                      \
            } else {                                                                              \
                acc = AIN(sfx, r_[0]);                                                            \
                j = 1;                                                                            \
            }                                                                                     \
            for (; j < cols; ++j)                                                                 \
                acc = OP(sfx, acc, AIN(sfx, r_[j]));                                              \
            dst[i] = AOUT(sfx, acc);                                                              \
        }                                                                                         \
        return pto__cost_red(CLS, rows, cols, PTO_ES_##sfx, rows);                                \
    }
/* row max/min: the result does not depend on the order (NaN wins wherever it is), so 8
 * interleaved partial results let gcc vectorise; only the sign of a zero result over mixed
 * +-0 may differ from a left-to-right scan. */
#define PTO__ROW_LANES(sfx, name, OP, AIN, AOUT, ACC, CLS)                                        \
    static inline uint64_t pto_trow##name##_##sfx(PTO_T_##sfx *restrict dst,                      \
                                                  const PTO_T_##sfx *restrict src, int rows,      \
                                                  int cols)                                       \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            const PTO_T_##sfx *r_ = src + (int64_t)i * cols;                                      \
            ACC acc;                                                                              \
            int j;                                                                                \
            if (cols >= 16) {                                                                     \
                ACC m_[8];                                                                        \
                for (int l = 0; l < 8; ++l)                               \
                    m_[l] = AIN(sfx, r_[l]);                                                      \
                for (j = 8; j + 8 <= cols; j += 8)                                                \
                    for (int l = 0; l < 8; ++l)                           \
                        m_[l] = OP(sfx, m_[l], AIN(sfx, r_[j + l]));                              \
                const ACC p0 = OP(sfx, m_[0], m_[1]), p1 = OP(sfx, m_[2], m_[3]);                 \
                const ACC p2 = OP(sfx, m_[4], m_[5]), p3 = OP(sfx, m_[6], m_[7]);                 \
                const ACC q0 = OP(sfx, p0, p1), q1 = OP(sfx, p2, p3);                             \
                acc = OP(sfx, q0, q1);                                                            \
            } else {                                                                              \
                acc = AIN(sfx, r_[0]);                                                            \
                j = 1;                                                                            \
            }                                                                                     \
            for (; j < cols; ++j)                                                                 \
                acc = OP(sfx, acc, AIN(sfx, r_[j]));                                              \
            dst[i] = AOUT(sfx, acc);                                                              \
        }                                                                                         \
        return pto__cost_red(CLS, rows, cols, PTO_ES_##sfx, rows);                                \
    }

/* f32 row max/min: the same order independence, with 16 lanes held in four 16-byte gcc vector
 * registers (compare mask + bitwise select, NaN propagating): gcc does not if-convert the
 * scalar form above in straight-line code, so only this form vectorises at plain -O2.  Only the
 * sign of a zero result over mixed +-0 may differ from a left-to-right scan.  (f64/f16/bf16
 * keep the scalar form: the vector form measured no faster for them.) */
#define PTO__V_MAX(a, x) (((x) > (a)) | ((x) != (x)))
#define PTO__V_MIN(a, x) (((x) < (a)) | ((x) != (x)))
#define PTO__DEF_VRED_F32(name, VOP, OP)                                                          \
    static inline float pto__v##name##_f32(const float *restrict x, int n)                        \
    {                                                                                             \
        typedef float va_ __attribute__((vector_size(16)));                                       \
        typedef int32_t vm_ __attribute__((vector_size(16)));                                     \
        enum { NV_ = 4, L_ = 4 * NV_ };                                                           \
        float acc;                                                                                \
        int j;                                                                                    \
        if (n >= 2 * L_) {                                                                        \
            va_ m_[NV_], y_[NV_];                                                                 \
            float t_[L_];                                                                         \
            memcpy(m_, x, sizeof m_);                                                             \
            for (j = L_; j + L_ <= n; j += L_) {                                                  \
                memcpy(y_, x + j, sizeof y_);                                                     \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV_; ++v) {                           \
                    const vm_ k_ = VOP(m_[v], y_[v]);                                             \
                    m_[v] = (va_)(((vm_)y_[v] & k_) | ((vm_)m_[v] & ~k_));                        \
                }                                                                                 \
            }                                                                                     \
            memcpy(t_, m_, sizeof m_);                                                            \
            acc = t_[0];                                                                          \
            for (int l = 1; l < L_; ++l)                                                          \
                acc = OP(f32, acc, t_[l]);                                                        \
        } else {                                                                                  \
            acc = x[0];                                                                           \
            j = 1;                                                                                \
        }                                                                                         \
        for (; j < n; ++j)                                                                        \
            acc = OP(f32, acc, x[j]);                                                             \
        return acc;                                                                               \
    }
PTO__DEF_VRED_F32(max, PTO__V_MAX, PTO__F_MAX)
PTO__DEF_VRED_F32(min, PTO__V_MIN, PTO__F_MIN)
#define PTO__ROW_LANES_F32(sfx, name, OP, AIN, AOUT, ACC, CLS)                                    \
    static inline uint64_t pto_trow##name##_##sfx(PTO_T_##sfx *restrict dst,                      \
                                                  const PTO_T_##sfx *restrict src, int rows,      \
                                                  int cols)                                       \
    {                                                                                             \
        for (int i = 0; i < rows; ++i)                                                            \
            dst[i] = pto__v##name##_f32(src + (int64_t)i * cols, cols);                           \
        return pto__cost_red(CLS, rows, cols, PTO_ES_##sfx, rows);                                \
    }

#define PTO__DEF_RED(sfx, name, OP, AIN, AOUT, ACC, CLS, ROWLANES)                                \
    ROWLANES(sfx, name, OP, AIN, AOUT, ACC, CLS)                                                  \
    /* dst (1 x cols) [j] = reduce_i src[i, j]  (sequential over i) */                            \
    static inline uint64_t pto_tcol##name##_##sfx(PTO_T_##sfx *restrict dst,                      \
                                                  const PTO_T_##sfx *restrict src, int rows,      \
                                                  int cols)                                       \
    {                                                                                             \
        for (int j0 = 0; j0 < cols; j0 += 256) {                                                  \
            const int w = cols - j0 < 256 ? cols - j0 : 256;                                      \
            ACC acc[256];                                                                         \
            for (int j = 0; j < w; ++j)                                                           \
                acc[j] = AIN(sfx, src[j0 + j]);                                                   \
            for (int i = 1; i < rows; ++i) {                                                      \
                const PTO_T_##sfx *r_ = src + (int64_t)i * cols + j0;                             \
                for (int j = 0; j < w; ++j)                                                       \
                    acc[j] = OP(sfx, acc[j], AIN(sfx, r_[j]));                                    \
            }                                                                                     \
            for (int j = 0; j < w; ++j)                                                           \
                dst[j0 + j] = AOUT(sfx, acc[j]);                                                  \
        }                                                                                         \
        return pto__cost_red(CLS, rows, cols, PTO_ES_##sfx, cols);                                \
    }

#define PTO__DEF_REDS_F(sfx, ROWMM)                                                               \
    PTO__DEF_RED(sfx, sum, PTO__ASUM, PTO__AIN_F, PTO__AOUT_F, PTO_A_##sfx, PTO_COST_REDSUM, PTO__ROW_SUM)      \
    PTO__DEF_RED(sfx, max, PTO__F_MAX, PTO__AIN_F, PTO__AOUT_F, PTO_C_##sfx, PTO_COST_REDMAX, ROWMM)     \
    PTO__DEF_RED(sfx, min, PTO__F_MIN, PTO__AIN_F, PTO__AOUT_F, PTO_C_##sfx, PTO_COST_REDMAX, ROWMM)
#define PTO__DEF_REDS_I(sfx, _u)                                                                  \
    PTO__DEF_RED(sfx, sum, PTO__ASUM, PTO__AIN_I, PTO__AOUT_I, PTO_A_##sfx, PTO_COST_REDSUM, PTO__ROW_SUM)      \
    PTO__DEF_RED(sfx, max, PTO__I_MAX, PTO__AIN_F, PTO__AOUT_F, PTO_T_##sfx, PTO_COST_REDMAX, PTO__ROW_LANES)     \
    PTO__DEF_RED(sfx, min, PTO__I_MIN, PTO__AIN_F, PTO__AOUT_F, PTO_T_##sfx, PTO_COST_REDMAX, PTO__ROW_LANES)
PTO__DEF_REDS_F(f32, PTO__ROW_LANES_F32)
PTO__DEF_REDS_F(f64, PTO__ROW_LANES)
PTO__DEF_REDS_F(f16, PTO__ROW_LANES)
PTO__DEF_REDS_F(bf16, PTO__ROW_LANES)
PTO__INTS(PTO__DEF_REDS_I, _)

/* ---- broadcasts ----------------------------------------------------------------------------- */
#define PTO__DEF_EXPAND(sfx, _u)                                                                  \
    /* dst[i, j] = src[i]   (src is rows x 1) */                                                  \
    static inline uint64_t pto_trowexpand_##sfx(PTO_T_##sfx *restrict dst,                        \
                                                const PTO_T_##sfx *restrict src, int rows,        \
                                                int cols)                                         \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            const PTO_T_##sfx v = src[i];                                                         \
            PTO_T_##sfx *d_ = dst + (int64_t)i * cols;                                            \
            for (int j = 0; j < cols; ++j)                                                        \
                d_[j] = v;                                                                        \
        }                                                                                         \
        return pto__cost_ew(PTO_COST_EXPAND, rows, cols, PTO_ES_##sfx);                           \
    }                                                                                             \
    /* dst[i, j] = src[j]   (src is 1 x cols) */                                                  \
    static inline uint64_t pto_tcolexpand_##sfx(PTO_T_##sfx *restrict dst,                        \
                                                const PTO_T_##sfx *restrict src, int rows,        \
                                                int cols)                                         \
    {                                                                                             \
        for (int i = 0; i < rows; ++i)                                                            \
            memcpy(dst + (int64_t)i * cols, src, (size_t)cols * sizeof(PTO_T_##sfx));             \
        return pto__cost_ew(PTO_COST_ALU, rows, cols, PTO_ES_##sfx);                              \
    }

#define PTO__DEF_EXPANDOP(sfx, name, OP, CLS_ROW, CLS_COL)                                        \
    /* dst[i, j] = src0[i, j] op src1[i]   (src1 is rows x 1) */                                  \
    static inline uint64_t pto_trowexpand##name##_##sfx(PTO_T_##sfx *restrict dst,                \
                                                        const PTO_T_##sfx *restrict src0,         \
                                                        const PTO_T_##sfx *restrict src1,         \
                                                        int rows, int cols)                       \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            const PTO_C_##sfx y = PTO_LD_##sfx(src1[i]);                                          \
            const PTO_T_##sfx *a_ = src0 + (int64_t)i * cols;                                     \
            PTO_T_##sfx *d_ = dst + (int64_t)i * cols;                                            \
            for (int j = 0; j < cols; ++j) {                                                      \
                const PTO_C_##sfx x = PTO_LD_##sfx(a_[j]);                                        \
                PTO_STORE_##sfx(d_[j], OP(sfx, x, y));                                              \
            }                                                                                     \
        }                                                                                         \
        return pto__cost_ew(CLS_ROW, rows, cols, PTO_ES_##sfx);                                   \
    }                                                                                             \
    /* dst[i, j] = src0[i, j] op src1[j]   (src1 is 1 x cols) */                                  \
    static inline uint64_t pto_tcolexpand##name##_##sfx(PTO_T_##sfx *restrict dst,                \
                                                        const PTO_T_##sfx *restrict src0,         \
                                                        const PTO_T_##sfx *restrict src1,         \
                                                        int rows, int cols)                       \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            const PTO_T_##sfx *a_ = src0 + (int64_t)i * cols;                                     \
            PTO_T_##sfx *d_ = dst + (int64_t)i * cols;                                            \
            for (int j = 0; j < cols; ++j) {                                                      \
                const PTO_C_##sfx x = PTO_LD_##sfx(a_[j]);                                        \
                const PTO_C_##sfx y = PTO_LD_##sfx(src1[j]);                                      \
                PTO_STORE_##sfx(d_[j], OP(sfx, x, y));                                              \
            }                                                                                     \
        }                                                                                         \
        return pto__cost_ew(CLS_COL, rows, cols, PTO_ES_##sfx);                                   \
    }

PTO__ALL(PTO__DEF_EXPAND, _)
#define PTO__DEF_EXPANDOPS(sfx, P, DIV)                                                           \
    PTO__DEF_EXPANDOP(sfx, add, P##_ADD, PTO_COST_EXPANDOP, PTO_COST_ALU)                          \
    PTO__DEF_EXPANDOP(sfx, sub, P##_SUB, PTO_COST_EXPANDOP, PTO_COST_ALU)                          \
    PTO__DEF_EXPANDOP(sfx, mul, P##_MUL, PTO_COST_EXPANDOP, PTO_COST_ALU)                          \
    PTO__DEF_EXPANDOP(sfx, div, DIV, PTO_COST_EXPANDOP, PTO_COST_TRANS)                            \
    PTO__DEF_EXPANDOP(sfx, max, P##_MAX, PTO_COST_EXPANDOP, PTO_COST_ALU)                          \
    PTO__DEF_EXPANDOP(sfx, min, P##_MIN, PTO_COST_EXPANDOP, PTO_COST_ALU)
PTO__FLOATS(PTO__DEF_EXPANDOPS, PTO__F, PTO__F_DIV)
PTO__SINTS(PTO__DEF_EXPANDOPS, PTO__I, PTO__S_DIV)
PTO__UINTS(PTO__DEF_EXPANDOPS, PTO__I, PTO__U_DIV)

/* ---- TSORT32 ---------------------------------------------------------------------------------
 * Each row is cut into blocks of 32 columns (a last partial block is sorted on its own).  Within
 * a block the (value, index) pairs are sorted by value descending, stably: equal values keep
 * their original (ascending column) order.  NaN sorts above +inf; NaNs are equal to each other;
 * -0.0 == +0.0.  dst_idx receives idx[i, j] of the element now at position j. */
#define PTO__SORT_GT_F(s, x, y) ((x) > (y) || ((x) != (x) && (y) == (y)))
#define PTO__SORT_GT_I(s, x, y) ((x) > (y))
#define PTO__DEF_SORT(sfx, GT)                                                                    \
    static inline uint64_t pto_tsort32_##sfx(PTO_T_##sfx *restrict dst,                           \
                                             uint32_t *restrict dst_idx,                          \
                                             const PTO_T_##sfx *restrict src,                     \
                                             const uint32_t *restrict idx, int rows, int cols)    \
    {                                                                                             \
        for (int i = 0; i < rows; ++i) {                                                          \
            for (int j0 = 0; j0 < cols; j0 += 32) {                                               \
                const int w = cols - j0 < 32 ? cols - j0 : 32;                                    \
                const int64_t o = (int64_t)i * cols + j0;                                         \
                PTO_C_##sfx key[32];                                                              \
                int pos[32];                                                                      \
                for (int j = 0; j < w; ++j) {                                                     \
                    const PTO_C_##sfx v = PTO_LD_##sfx(src[o + j]);                               \
                    int q = j;                                                                    \
                    while (q > 0 && GT(sfx, v, key[q - 1])) {                                     \
                        key[q] = key[q - 1];                                                      \
                        pos[q] = pos[q - 1];                                                      \
                        --q;                                                                      \
                    }                                                                             \
                    key[q] = v;                                                                   \
                    pos[q] = j;                                                                   \
                }                                                                                 \
                for (int j = 0; j < w; ++j) {                                                     \
                    dst[o + j] = src[o + pos[j]];                                                 \
                    dst_idx[o + j] = idx[o + pos[j]];                                             \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
        return pto__cost_sort(rows, cols);                                                        \
    }
PTO__FLOATS(PTO__DEF_SORT, PTO__SORT_GT_F)
PTO__INTS(PTO__DEF_SORT, PTO__SORT_GT_I)

/* ---- PTO-ISA (value, index) pairs: TSORT32 into pairs, TMRGSORT ------------------------------
 * A pair is two f32 slots: the value, then the u32 index's bits (PTO-ISA's packing).
 * pto_tsort32_pairs_f32: dst (rows x 2*cols) holds each 32-column block of src sorted as
 * pto_tsort32_f32 sorts it (descending, stable, NaN first), paired with idx.
 * pto_tmrgsort_f32: one row of `cols` floats holding sorted lists of block_len floats
 * (block_len/2 pairs); each group of 4 consecutive lists is merged into one descending list
 * (cols must be a multiple of 4*block_len); equal values keep list order (the earlier list
 * first), so the merge is stable like the sort. */
static inline uint64_t pto_tsort32_pairs_f32(float *restrict dst, const float *restrict src,
                                             const uint32_t *restrict idx, int rows, int cols)
{
    for (int i = 0; i < rows; ++i)
        for (int j0 = 0; j0 < cols; j0 += 32) {
            const int w = cols - j0 < 32 ? cols - j0 : 32;
            const int64_t o = (int64_t)i * cols + j0;
            float v[32];
            uint32_t ix[32];
            (void)pto_tsort32_f32(v, ix, src + o, idx + o, 1, w);
            for (int j = 0; j < w; ++j) {
                dst[2 * o + 2 * j] = v[j];
                memcpy(&dst[2 * o + 2 * j + 1], &ix[j], sizeof(uint32_t));
            }
        }
    return pto__cost_sort(rows, cols);
}

static inline uint64_t pto_tmrgsort_f32(float *restrict dst, const float *restrict src,
                                        int block_len, int cols)
{
    const int n = block_len / 2; /* pairs per list */
    for (int g = 0; g + 4 * block_len <= cols; g += 4 * block_len) {
        int pos[4] = {0, 0, 0, 0};
        for (int k = 0; k < 4 * n; ++k) {
            int best = -1;
            for (int l = 0; l < 4; ++l) {
                if (pos[l] == n)
                    continue;
                const float x = src[g + l * block_len + 2 * pos[l]];
                if (best < 0 || PTO__SORT_GT_F(f32, x, src[g + best * block_len + 2 * pos[best]]))
                    best = l;
            }
            memcpy(&dst[g + 2 * k], &src[g + best * block_len + 2 * pos[best]], 2 * sizeof(float));
            ++pos[best];
        }
    }
    return pto__cost_mrgsort(cols / 2);
}

#endif /* PTO_TILE_RED_H */

/* pto_orch.h - helpers for generated orchestration code (orchestrate.c). */
#ifndef PTO_ORCH_H
#define PTO_ORCH_H
#include <stdint.h>
#include "pto_orch_abi.h"
#include "pto_rt.h"

#define PTO_ORCH_MAX_RANK 8
#define PTO_ORCH_ESITE 100 /* an error at a source site: index out of bounds, division by 0 */

/* Statement expressions (GNU C): on failure record the site and leave via `done`. */
#define PTO_FAIL_SITE(site, value)                                                           \
    do {                                                                                     \
        err_site = (site);                                                                   \
        err_value = (int64_t)(value);                                                        \
        goto done;                                                                           \
    } while (0)

/* i in [0, n) else fail at site */
#define PTO_IDX(i, n, site)                                                                  \
    ({                                                                                       \
        const int64_t pto_idx_ = (int64_t)(i);                                               \
        if ((uint64_t)pto_idx_ >= (uint64_t)(n)) PTO_FAIL_SITE(site, pto_idx_);              \
        pto_idx_;                                                                            \
    })
#define PTO_ROW(i, n, site) PTO_IDX(i, n, site)

#define PTO_CHK(call)                                                                        \
    do {                                                                                     \
        const int pto_chk_rc_ = (call);                                                      \
        if (pto_chk_rc_) {                                                                   \
            rc = pto_chk_rc_;                                                                \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

#define PTO_SUBMIT(rt, task)                                                                 \
    do {                                                                                     \
        const int64_t pto_sub_id_ = pto_rt_submit((rt), (task));                             \
        if (pto_sub_id_ < 0) {                                                               \
            rc = (int)-pto_sub_id_;                                                          \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

/* Python semantics: floor division and modulo with the divisor's sign; /0 fails at site. */
#define PTO_X_FLOORDIV(T, a, b, site)                                                        \
    ({                                                                                       \
        const T pto_xa_ = (a), pto_xb_ = (b);                                                          \
        if (pto_xb_ == 0) PTO_FAIL_SITE(site, 0);                                                 \
        T pto_xq_ = pto_xa_ / pto_xb_;                                                                      \
        if ((T)(pto_xq_ * pto_xb_) != pto_xa_ && ((pto_xa_ < 0) != (pto_xb_ < 0))) pto_xq_ -= 1;                           \
        pto_xq_;                                                                                  \
    })
#define PTO_X_MOD(T, a, b, site)                                                             \
    ({                                                                                       \
        const T pto_xa_ = (a), pto_xb_ = (b);                                                          \
        if (pto_xb_ == 0) PTO_FAIL_SITE(site, 0);                                                 \
        T pto_xm_ = pto_xa_ % pto_xb_;                                                                      \
        if (pto_xm_ != 0 && ((pto_xm_ < 0) != (pto_xb_ < 0))) pto_xm_ += pto_xb_;                                     \
        pto_xm_;                                                                                  \
    })

static inline int64_t pto_x_min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t pto_x_max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline uint64_t pto_x_min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t pto_x_max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline double pto_x_min_f64(double a, double b) { return a < b ? a : b; }
static inline double pto_x_max_f64(double a, double b) { return a > b ? a : b; }
/* shifts by a count outside [0, 64) give 0 (or the sign fill for a signed right shift) */
static inline int64_t pto_x_shl_i64(int64_t a, int64_t b)
{
    return (b < 0 || b >= 64) ? 0 : (int64_t)((uint64_t)a << b);
}
static inline int64_t pto_x_shr_i64(int64_t a, int64_t b)
{
    return (b < 0 || b >= 64) ? (a < 0 ? -1 : 0) : (a >> b);
}
static inline uint64_t pto_x_shl_u64(uint64_t a, uint64_t b) { return b >= 64 ? 0 : a << b; }
static inline uint64_t pto_x_shr_u64(uint64_t a, uint64_t b) { return b >= 64 ? 0 : a >> b; }

#endif

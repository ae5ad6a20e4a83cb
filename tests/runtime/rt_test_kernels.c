/* Test-only kernels and drivers for the runtime test-suite (compiled into the cffi module). */
#include "pto_rt.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int pto_rt__boxes_overlap(const pto_rt_region *a, const pto_rt_region *b); /* runtime test hook */

/* ---- kernels ---------------------------------------------------------------------------- */
typedef struct {
    int64_t *log;          /* execution log: value appended at an atomic position          */
    int64_t *pos;          /* atomic counter (int64)                                        */
    int64_t value;         /* what to log                                                   */
    int64_t *worker_log;   /* optional: worker index per value                              */
    uint64_t cycles;       /* simulated cycles to report                                    */
    uint64_t sleep_us;     /* real sleep                                                    */
    int32_t rc;            /* return code                                                   */
    int32_t pad;
} rec_args;

int k_record(const void *a, uint64_t *cycles) {
    const rec_args *r = a;
    if (r->sleep_us) usleep((useconds_t)r->sleep_us);
    if (r->log) {
        int64_t i = atomic_fetch_add((_Atomic int64_t *)r->pos, 1);
        r->log[i] = r->value;
        if (r->worker_log) r->worker_log[i] = pto_rt_self_worker();
    }
    *cycles = r->cycles;
    return r->rc;
}

/* dst[i,j] = dst[i,j] * 0.5 + src[i,j] + k over a box (strides in elements). The right-hand
 * side is computed completely before writing, like numpy. */
typedef struct {
    double *dst;
    int64_t rows, cols, drs, dcs;
    double *src;
    int64_t srs, scs;
    double k;
    uint64_t cycles;
} axpy_args;

int k_axpy(const void *a, uint64_t *cycles) {
    const axpy_args *x = a;
    double tmp[64 * 64];
    double *t = x->rows * x->cols <= 64 * 64 ? tmp : malloc(sizeof(double) * x->rows * x->cols);
    if (!t) return 99;
    for (int64_t i = 0; i < x->rows; i++)
        for (int64_t j = 0; j < x->cols; j++)
            t[i * x->cols + j] = x->dst[i * x->drs + j * x->dcs] * 0.5 +
                                 (x->src ? x->src[i * x->srs + j * x->scs] : 0.0) + x->k;
    for (int64_t i = 0; i < x->rows; i++)
        for (int64_t j = 0; j < x->cols; j++) x->dst[i * x->drs + j * x->dcs] = t[i * x->cols + j];
    if (t != tmp) free(t);
    *cycles = x->cycles;
    return 0;
}

int k_empty(const void *a, uint64_t *cycles) {
    (void)a;
    *cycles = 1;
    return 0;
}

/* out[idx] = sum of the n bytes that follow the header in the argument block */
typedef struct { uint64_t *out; uint64_t idx, n; } sum_args;
int k_sum_args(const void *a, uint64_t *cycles) {
    const sum_args *x = a;
    const unsigned char *d = (const unsigned char *)(x + 1);
    uint64_t s = 0;
    for (uint64_t i = 0; i < x->n; i++) s += d[i];
    x->out[x->idx] = s;
    *cycles = 1;
    return 0;
}

/* ---- C drivers (no Python per task) ------------------------------------------------------ */
static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Submit n empty tasks, each read-writing one of ntiles tiles of buf (round robin);
 * records RSS (kB) after n/4 and after n tasks into rss[0], rss[1]. Returns finish(). */
int drive_tiles(pto_rt *rt, uint64_t n, double *buf, uint64_t ntiles, long *rss) {
    pto_rt_region r;
    memset(&r, 0, sizeof r);
    r.rows = 4; r.cols = 4; r.row_stride = 4 * sizeof(double); r.col_stride = sizeof(double);
    r.elem_size = sizeof(double); r.mode = PTO_RT_READWRITE;
    pto_rt_task t;
    memset(&t, 0, sizeof t);
    t.fn = k_empty; t.num_regions = 1; t.regions = &r; t.name = "empty";
    for (uint64_t i = 0; i < n; i++) {
        r.addr = (uintptr_t)(buf + (i % ntiles) * 16);
        if (pto_rt_submit(rt, &t) < 0) return -1;
        if (rss && i + 1 == n / 4) rss[0] = rss_kb();
    }
    int rc = pto_rt_finish(rt);
    if (rss) rss[1] = rss_kb();
    return rc;
}

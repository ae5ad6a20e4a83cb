/* Runtime benchmark drivers (pto_rt side). Built into a cffi module by run_runtime.py; every
 * loop runs in C so no Python is on the per-task path. Empty kernels; the tiles live in a
 * fake address space (the runtime never dereferences regions). */
#include "pto_rt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int k_nop(const void *a, uint64_t *cycles) {
    (void)a;
    *cycles = 1;
    return 0;
}

typedef struct { double *slot; double v; } put_args;
static int k_put(const void *a, uint64_t *cycles) {
    const put_args *p = a;
    *p->slot = p->v;
    *cycles = 1;
    return 0;
}

/* Tile (i, j) of a (32*1024) x (32*1024) float32 matrix at a fake base address. */
#define TILE 32
#define LD (TILE * 1024)
static const uintptr_t FAKE = (uintptr_t)1 << 40;
static void tile(pto_rt_region *r, uint64_t i, uint64_t j, uint32_t mode) {
    r->addr = FAKE + ((i * TILE) * LD + j * TILE) * 4;
    r->rows = TILE; r->cols = TILE; r->row_stride = LD * 4; r->col_stride = 4;
    r->elem_size = 4; r->buf_id = 0; r->mode = mode; r->overlap = 0;
}

static pto_rt *make(uint32_t threads, uint32_t deps, uint64_t window, uint32_t trace) {
    pto_rt_config c;
    pto_rt_config_default(&c);
    c.num_threads = threads;
    c.deps = deps;
    c.window_size = window;
    c.start = PTO_RT_START_IMMEDIATE;
    c.trace = trace;
    c.exec_units = 1u << PTO_RT_UNIT_VECTOR; /* every benchmark task is a vector task */
    pto_rt_error e;
    pto_rt *rt = pto_rt_create(&c, &e);
    if (!rt) fprintf(stderr, "bench: %s\n", e.message);
    return rt;
}

static double done(pto_rt *rt, double t0, pto_rt_stats *st) {
    int rc = pto_rt_finish(rt);
    double t = now_s() - t0;
    if (st) pto_rt_get_stats(rt, st);
    pto_rt_destroy(rt);
    return rc ? -1.0 : t;
}

/* B1: chain of n tasks, each read-writing the same tile. */
double b1_chain(uint32_t threads, uint32_t deps, uint64_t n, pto_rt_stats *st) {
    pto_rt *rt = make(threads, deps, 0, 0);
    if (!rt) return -1;
    pto_rt_region r;
    tile(&r, 0, 0, PTO_RT_READWRITE);
    pto_rt_task t;
    memset(&t, 0, sizeof t);
    t.fn = k_nop; t.regions = &r; t.num_regions = 1; t.name = "chain";
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++)
        if (pto_rt_submit(rt, &t) < 0) return -1;
    return done(rt, t0, st);
}

/* B2: n independent tasks each writing its own tile (and a result slot), then the
 * reduction of the slots after the barrier. window 0 = unbounded. */
double b2_indep(uint32_t threads, uint32_t deps, uint64_t n, uint64_t window, pto_rt_stats *st,
                double *sum_out) {
    double *slots = calloc(n, sizeof *slots);
    pto_rt *rt = make(threads, deps, window, 0);
    if (!rt || !slots) return -1;
    pto_rt_region r;
    put_args a;
    pto_rt_task t;
    memset(&t, 0, sizeof t);
    t.fn = k_put; t.args = &a; t.args_size = sizeof a; t.regions = &r; t.num_regions = 1;
    t.name = "indep";
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        tile(&r, i >> 10, i & 1023, PTO_RT_WRITE);
        a.slot = &slots[i];
        a.v = (double)i;
        if (pto_rt_submit(rt, &t) < 0) return -1;
    }
    int rc = pto_rt_finish(rt);
    double s = 0;
    for (uint64_t i = 0; i < n; i++) s += slots[i];
    double el = now_s() - t0;
    if (st) pto_rt_get_stats(rt, st);
    pto_rt_destroy(rt);
    free(slots);
    *sum_out = s;
    return rc ? -1.0 : el;
}

/* B2r: n tasks writing ntiles tiles round robin (WAW chains of n/ntiles): the orchestration
 * cost without the growth of the region table. */
double b2_reuse(uint32_t threads, uint32_t deps, uint64_t n, uint64_t ntiles, pto_rt_stats *st) {
    pto_rt *rt = make(threads, deps, 0, 0);
    if (!rt) return -1;
    pto_rt_region r;
    pto_rt_task t;
    memset(&t, 0, sizeof t);
    t.fn = k_nop; t.regions = &r; t.num_regions = 1; t.name = "reuse";
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = i % ntiles;
        tile(&r, k >> 6, k & 63, PTO_RT_WRITE);
        if (pto_rt_submit(rt, &t) < 0) return -1;
    }
    return done(rt, t0, st);
}

/* B3: wavefront over an m x m grid of tiles; (i,j) reads (i-1,j) and (i,j-1). */
double b3_wave(uint32_t threads, uint32_t deps, uint64_t m, pto_rt_stats *st) {
    pto_rt *rt = make(threads, deps, 0, 0);
    if (!rt) return -1;
    pto_rt_region r[3];
    pto_rt_task t;
    memset(&t, 0, sizeof t);
    t.fn = k_nop; t.regions = r; t.name = "wave";
    double t0 = now_s();
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < m; j++) {
            uint32_t k = 0;
            tile(&r[k++], i, j, PTO_RT_WRITE);
            if (i) tile(&r[k++], i - 1, j, PTO_RT_READ);
            if (j) tile(&r[k++], i, j - 1, PTO_RT_READ);
            t.num_regions = k;
            if (pto_rt_submit(rt, &t) < 0) return -1;
        }
    return done(rt, t0, st);
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Memory: n tasks cycling over 4096 tiles with a window; RSS after n/10 and after n. */
double mem_flat(uint32_t threads, uint64_t n, uint64_t window, long *rss) {
    pto_rt *rt = make(threads, PTO_RT_DEPS_BYTES_OVERLAP, window, 0);
    if (!rt) return -1;
    pto_rt_region r;
    pto_rt_task t;
    memset(&t, 0, sizeof t);
    t.fn = k_nop; t.regions = &r; t.num_regions = 1; t.name = "mem";
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        tile(&r, (i >> 6) & 63, i & 63, PTO_RT_READWRITE);
        if (pto_rt_submit(rt, &t) < 0) return -1;
        if (i + 1 == n / 10) rss[0] = rss_kb();
    }
    int rc = pto_rt_finish(rt);
    rss[1] = rss_kb();
    double el = now_s() - t0;
    pto_rt_destroy(rt);
    return rc ? -1.0 : el;
}

/* Machine state: cache-line round trip between two threads (ns). The hand-off costs of B1-B3
 * scale with it, and on a shared VM it changes from run to run. */
static _Atomic long pp_flag __attribute__((aligned(64)));
static void *pp_other(void *arg) {
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        while (atomic_load(&pp_flag) != 2 * i + 1) {}
        atomic_store(&pp_flag, 2 * i + 2);
    }
    return NULL;
}

double pingpong_ns(long n) {
    pthread_t th;
    atomic_store(&pp_flag, 0);
    if (pthread_create(&th, NULL, pp_other, &n)) return -1;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        atomic_store(&pp_flag, 2 * i + 1);
        while (atomic_load(&pp_flag) != 2 * i + 2) {}
    }
    double t = now_s() - t0;
    pthread_join(th, NULL);
    return t / (double)n * 1e9;
}

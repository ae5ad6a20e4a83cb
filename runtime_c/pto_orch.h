/* pto_orch.h - helpers for generated orchestration code (orchestrate.c). */
#ifndef PTO_ORCH_H
#define PTO_ORCH_H
#include <stdint.h>
#include <string.h>
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

/* The start of pto_run after the program's configuration: the run's own settings, the
 * runtime created (NULL: out->code and out->message say why). */
static inline pto_rt *pto_orch_begin(pto_rt_config *cfg, const pto_inputs *in, pto_outputs *out)
{
    cfg->num_threads = in->num_threads;
    cfg->channel_latency = in->channel_latency;
    cfg->progress = in->progress;
    cfg->record_path = in->record_path;
    memset(out, 0, sizeof *out);
    out->site = -1;
    pto_rt_error err;
    memset(&err, 0, sizeof err);
    pto_rt *rt = pto_rt_create(cfg, &err);
    if (!rt) {
        out->code = err.code ? err.code : PTO_RT_EINVAL;
        memcpy(out->message, err.message, sizeof out->message);
    }
    return rt;
}

/* The end of pto_run: after the orchestration stopped with rc (and err_site >= 0 when it
 * failed at a source site), wait for the tasks, write the trace (trace != 0), fill out,
 * destroy the runtime. Returns out->code. */
static inline int pto_orch_end(pto_rt *rt, int rc, int err_site, int64_t err_value, int trace,
                               const pto_inputs *in, pto_outputs *out)
{
    if (err_site >= 0) {
        pto_rt_finish(rt);
        out->site = err_site;
        out->bad_value = err_value;
        rc = PTO_ORCH_ESITE;
    }
    if (trace && rc == 0 && in->trace_path) rc = pto_rt_write_trace(rt, in->trace_path);
    if (trace && rc == 0 && in->dot_path) {
        int drc = pto_rt_write_dot(rt, in->dot_path, in->dot_max_nodes);
        if (drc != PTO_RT_EINVAL) rc = drc;
    }
    pto_rt_stats st;
    pto_rt_get_stats(rt, &st);
    out->task_count = st.task_count;
    out->executed = st.executed;
    out->failed = st.failed;
    out->cancelled = st.cancelled;
    out->total_cycles = st.total_cycles;
    out->window_overflows = st.window_overflows;
    out->window_stalls = st.window_stalls;
    out->max_in_flight = st.max_in_flight;
    out->peak_regions = st.peak_regions;
    out->critical_path = st.critical_path;
    for (uint32_t k = 0; k < in->num_kernels; ++k)
        pto_rt_kernel_stats(rt, k, &in->kernel_stats[2 * k], &in->kernel_stats[2 * k + 1]);
    for (uint32_t l = 0; l < in->num_lanes && l < st.num_lanes; ++l)
        pto_rt_lane_stats(rt, l, &in->lane_stats[2 * l], &in->lane_stats[2 * l + 1]);
    out->wall_ms = st.wall_ms;
    out->orchestration_ms = st.orchestration_ms;
    out->num_workers = st.num_workers;
    out->num_lanes = st.num_lanes;
    if (rc != 0 && rc != PTO_ORCH_ESITE) {
        const pto_rt_error *e = pto_rt_error_info(rt);
        out->code = e->code ? e->code : rc;
        out->kernel_rc = e->kernel_rc;
        out->task_id = e->task_id;
        out->kernel_id = e->kernel_id;
        memcpy(out->message, e->message, sizeof out->message);
    } else if (rc == PTO_ORCH_ESITE) {
        out->code = rc;
    }
    pto_rt_destroy(rt);
    return out->code;
}

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


/* ------------------------------------------------------------------------------------------
 * CSP pipelines (P.pipe / connect). Each process of a pipeline is a generated C function run
 * as a coroutine (ucontext) on the single orchestrating thread; a deterministic round-robin
 * scheduler (pto_csp_run) resumes each unfinished process in turn and a process runs until it
 * blocks (send into a full channel, receive from an empty one) or finishes. A round in which
 * no process made progress is a deadlock. Channel tokens and process order are expressed to
 * the runtime as accesses to 1-byte synthetic regions in a reserved (never touched) address
 * range: every task of a process READWRITEs the process's marker; a send's task WRITEs the
 * token's channel slot, the tasks of the consuming body READ it (RAW: body after producer;
 * WAR: the slot's next producer after the body). The accesses are PTO_RT_ORDER, so the v9
 * timing model honours them too. See docs/cpu-sim.md "CSP pipelines".
 * ---------------------------------------------------------------------------------------- */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#define PTO_CSP_STACK ((size_t)8 << 20)         /* per-process coroutine stack            */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PTO_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define PTO_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#define PTO_CSP_ARENA ((size_t)1 << 30)         /* synthetic region addresses per run     */
#define PTO_CSP_BUF_ID 0xFFFFFFFFu              /* buf_id of synthetic regions            */

typedef struct pto_csp_arena {
    unsigned char *base;
    size_t used;
} pto_csp_arena;

static inline void pto_csp_arena_free(pto_csp_arena *a)
{
    if (a->base) munmap(a->base, PTO_CSP_ARENA);
    a->base = NULL;
    a->used = 0;
}

/* n fresh synthetic addresses, or 0 when the reservation failed / is exhausted */
static inline uintptr_t pto_csp_arena_take(pto_csp_arena *a, size_t n)
{
    if (!a->base) {
        void *p = mmap(NULL, PTO_CSP_ARENA, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return 0;
        a->base = (unsigned char *)p;
    }
    if (n > PTO_CSP_ARENA - a->used) return 0;
    uintptr_t r = (uintptr_t)(a->base + a->used);
    a->used += n;
    return r;
}

typedef struct pto_chan {
    const char *name;
    int64_t depth;           /* declared depth (0 = rendezvous)                          */
    int64_t cap;             /* slots = max(depth, 1)                                    */
    int64_t sent, recv;      /* tokens sent / taken so far; token k uses slot k % cap    */
    int64_t producers;       /* producer processes not finished yet; 0 = closed          */
    uintptr_t slot_addr;     /* cap synthetic bytes                                      */
    unsigned char *busy;     /* per slot: sent and not yet released by its consumer      */
} pto_chan;

enum { PTO_CSP_RUNNABLE = 0, PTO_CSP_BLOCKED_SEND = 1, PTO_CSP_BLOCKED_RECV = 2,
       PTO_CSP_DONE = 3 };

typedef struct pto_csp_proc {
    const char *name;
    void (*fn)(void);
    const int32_t *produces; /* channel indices                                          */
    int32_t nproduces;
    int state;
    int32_t blocked_on;      /* channel index while blocked                              */
    uintptr_t marker;        /* synthetic process-order byte                             */
    void *stack;
    ucontext_t uc;
} pto_csp_proc;

typedef struct pto_csp {
    const pto_inputs *in;    /* run context for the process functions                    */
    pto_rt *rt;
    uint64_t *slots;
    const int64_t *env;      /* loop variables captured by the process bodies            */
    pto_csp_proc *procs;
    pto_chan *chans;
    int32_t nprocs, nchans, cur;
    uint64_t progress;
    ucontext_t main;
    int failed, rc, err_site; /* first failure inside a process                          */
    int64_t err_value;
} pto_csp;

static __thread pto_csp *pto_csp_cur;

static inline pto_rt_region pto_csp_region(uintptr_t addr, int mode)
{
    pto_rt_region r = {addr, 1, 1, 1, 1, 1, PTO_CSP_BUF_ID, (uint32_t)mode | PTO_RT_ORDER, 0};
    return r;
}

/* Yield to the scheduler, blocked on channel c. */
static inline void pto_csp_block(pto_csp *cs, int state, int32_t c)
{
    pto_csp_proc *p = &cs->procs[cs->cur];
    p->state = state;
    p->blocked_on = c;
    swapcontext(&p->uc, &cs->main);
    p->state = PTO_CSP_RUNNABLE;
}

/* Wait until the slot of the next token of channel c is free; returns the token value. */
static inline int64_t pto_csp_send_begin(pto_csp *cs, int32_t c)
{
    pto_chan *ch = &cs->chans[c];
    while (ch->busy[ch->sent % ch->cap]) pto_csp_block(cs, PTO_CSP_BLOCKED_SEND, c);
    return ch->sent;
}

static inline void pto_csp_send_end(pto_csp *cs, int32_t c)
{
    pto_chan *ch = &cs->chans[c];
    ch->busy[ch->sent % ch->cap] = 1;
    ch->sent++;
    cs->progress++;
}

static inline uintptr_t pto_csp_slot(const pto_csp *cs, int32_t c, int64_t tok)
{
    return cs->chans[c].slot_addr + (uintptr_t)(tok % cs->chans[c].cap);
}

/* Rendezvous (depth 0): the synthetic byte after the slot. A receiver's take of a token
 * writes it; the sender's join, after which its later tasks come, reads it. */
static inline uintptr_t pto_csp_ack(const pto_csp *cs, int32_t c)
{
    return cs->chans[c].slot_addr + (uintptr_t)cs->chans[c].cap;
}

/* Rendezvous (depth 0): the sender of token tok waits until a receiver has taken it. */
static inline void pto_csp_rendezvous(pto_csp *cs, int32_t c, int64_t tok)
{
    while (cs->chans[c].recv <= tok) pto_csp_block(cs, PTO_CSP_BLOCKED_SEND, c);
}

/* Take the next token of channel c (blocking); -1 when c is closed and empty. */
static inline int64_t pto_csp_recv(pto_csp *cs, int32_t c)
{
    pto_chan *ch = &cs->chans[c];
    while (ch->recv == ch->sent) {
        if (ch->producers == 0) return -1;
        pto_csp_block(cs, PTO_CSP_BLOCKED_RECV, c);
    }
    cs->progress++;
    return ch->recv++;
}

/* The consumer of token tok submitted all its readers: the slot may be reused. */
static inline void pto_csp_release(pto_csp *cs, int32_t c, int64_t tok)
{
    cs->chans[c].busy[tok % cs->chans[c].cap] = 0;
    cs->progress++;
}

/* End of one consume-body iteration: release the slot and let the other processes run (so
 * replicated consumers of one channel take its tokens in turn). */
static inline void pto_csp_consumed(pto_csp *cs, int32_t c, int64_t tok)
{
    pto_csp_release(cs, c, tok);
    swapcontext(&cs->procs[cs->cur].uc, &cs->main);
}

static inline int64_t pto_csp_pending(const pto_csp *cs, int32_t c)
{
    return cs->chans[c].sent > cs->chans[c].recv ? 1 : 0;
}

/* End of a process function (normal or via its `done` label). */
static inline void pto_csp_exit(pto_csp *cs, int rc, int err_site, int64_t err_value)
{
    pto_csp_proc *p = &cs->procs[cs->cur];
    if ((rc || err_site >= 0) && !cs->failed) {
        cs->failed = 1;
        cs->rc = rc;
        cs->err_site = err_site;
        cs->err_value = err_value;
    }
    for (int32_t i = 0; i < p->nproduces; ++i) cs->chans[p->produces[i]].producers--;
    p->state = PTO_CSP_DONE;
    cs->progress++;
}

/* Append to a deadlock message at msg + n what process `name`, blocked in `state` on `ch`,
 * waits for; returns the new length. */
static inline int pto_csp_blocked(char *msg, size_t size, int n, const char *sep,
                                  const char *name, int state, const pto_chan *ch)
{
    if (state == PTO_CSP_BLOCKED_SEND && ch->depth == 0)
        return n + snprintf(msg + n, size - (size_t)n,
                            "%s'%s' waits for a receiver on rendezvous channel '%s'", sep, name,
                            ch->name);
    if (state == PTO_CSP_BLOCKED_SEND)
        return n + snprintf(msg + n, size - (size_t)n,
                            "%s'%s' waits to send on full channel '%s' (depth %lld)", sep, name,
                            ch->name, (long long)ch->depth);
    return n + snprintf(msg + n, size - (size_t)n,
                        "%s'%s' waits to receive on empty channel '%s' (%lld unfinished "
                        "producer(s))", sep, name, ch->name, (long long)ch->producers);
}

static inline void pto_csp_trampoline(void) { pto_csp_cur->procs[pto_csp_cur->cur].fn(); }

/* Run a pipeline to completion. Returns 0; or PTO_ORCH_ESITE with *err_site set (a failure
 * inside a process, or deadlock_site with `msg` describing the blocked processes); or a
 * runtime error code. */
static inline int pto_csp_run(pto_csp *cs, pto_csp_arena *arena, int deadlock_site,
                              int *err_site, int64_t *err_value, char *msg, size_t msg_size)
{
    int rc = 0;
    int32_t started = 0;
    size_t need = (size_t)cs->nprocs;
    for (int32_t c = 0; c < cs->nchans; ++c)  /* slots, and a rendezvous' ack byte */
        need += (size_t)cs->chans[c].cap + (cs->chans[c].depth == 0);
    uintptr_t base = pto_csp_arena_take(arena, need);
    unsigned char *busy = NULL;
    if (!base) {
        snprintf(msg, msg_size, "pipeline: cannot reserve synthetic region addresses");
        return PTO_RT_ENOMEM;
    }
    size_t nslots = need - (size_t)cs->nprocs;
    busy = (unsigned char *)calloc(nslots ? nslots : 1, 1);
    if (!busy) return PTO_RT_ENOMEM;
    for (int32_t c = 0, off = 0; c < cs->nchans; ++c) {
        pto_chan *ch = &cs->chans[c];
        ch->slot_addr = base + (uintptr_t)cs->nprocs + (uintptr_t)off;
        ch->busy = busy + off;
        off += (int32_t)ch->cap + (ch->depth == 0);
    }
    for (int32_t p = 0; p < cs->nprocs; ++p) {
        pto_csp_proc *pr = &cs->procs[p];
        pr->marker = base + (uintptr_t)p;
        for (int32_t i = 0; i < pr->nproduces; ++i) cs->chans[pr->produces[i]].producers++;
    }
    for (; started < cs->nprocs; ++started) {
        pto_csp_proc *pr = &cs->procs[started];
        void *st = mmap(NULL, PTO_CSP_STACK, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (st == MAP_FAILED) {
            rc = PTO_RT_ENOMEM;
            snprintf(msg, msg_size, "pipeline: cannot allocate a coroutine stack");
            goto out;
        }
        pr->stack = st;
        /* AddressSanitizer: a coroutine that never returned (blocked when its pipeline
         * ended) leaves its frames poisoned in the shadow, and munmap does not clear it; a
         * new stack mapped at the same address must start clean */
        PTO_ASAN_UNPOISON(st, PTO_CSP_STACK);
        mprotect(st, 4096, PROT_NONE); /* guard page */
        getcontext(&pr->uc);
        pr->uc.uc_stack.ss_sp = st;
        pr->uc.uc_stack.ss_size = PTO_CSP_STACK;
        pr->uc.uc_link = &cs->main;
        makecontext(&pr->uc, pto_csp_trampoline, 0);
    }
    pto_csp *const saved = pto_csp_cur;
    pto_csp_cur = cs;
    for (;;) {
        uint64_t before = cs->progress;
        int32_t alive = 0;
        for (int32_t p = 0; p < cs->nprocs && !cs->failed; ++p) {
            if (cs->procs[p].state == PTO_CSP_DONE) continue;
            cs->cur = p;
            swapcontext(&cs->main, &cs->procs[p].uc);
            if (cs->procs[p].state != PTO_CSP_DONE) alive++;
        }
        if (cs->failed) {
            if (cs->err_site >= 0) {
                *err_site = cs->err_site;
                *err_value = cs->err_value;
                rc = PTO_ORCH_ESITE;
            } else {
                rc = cs->rc;
            }
            break;
        }
        if (!alive) break;
        if (cs->progress == before) {
            int n = snprintf(msg, msg_size, "deadlock: every process of the pipeline is blocked:");
            const char *sep = " ";
            for (int32_t p = 0; p < cs->nprocs && n > 0 && (size_t)n < msg_size; ++p) {
                const pto_csp_proc *pr = &cs->procs[p];
                if (pr->state == PTO_CSP_DONE) continue;
                n = pto_csp_blocked(msg, msg_size, n, sep, pr->name, pr->state,
                                    &cs->chans[pr->blocked_on]);
                sep = "; ";
            }
            *err_site = deadlock_site;
            *err_value = 0; /* 1: some process waits to send (ChannelFull) */
            for (int32_t p = 0; p < cs->nprocs; ++p)
                if (cs->procs[p].state == PTO_CSP_BLOCKED_SEND) *err_value = 1;
            rc = PTO_ORCH_ESITE;
            break;
        }
    }
    pto_csp_cur = saved;
out:
    for (int32_t p = 0; p < started; ++p) munmap(cs->procs[p].stack, PTO_CSP_STACK);
    free(busy);
    return rc;
}

#endif

/* pto_rt.c - the pto-wsp task-graph runtime: submission, dependency inference, worker pools,
 * ready policies, task window, retirement and the deterministic machine simulation.
 * Design notes: docs/runtime.md. Tracing export lives in pto_rt_trace.c. */
#define _GNU_SOURCE
#include "pto_rt_internal.h"
#include "pto_record.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ========================================================================================
 * Small utilities
 * ====================================================================================== */
static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void spin_lock(atomic_flag *f) {
    unsigned n = 0;
    while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) {
        if (++n < 64) cpu_relax();
        else { sched_yield(); n = 0; }
    }
}
static inline void spin_unlock(atomic_flag *f) { atomic_flag_clear_explicit(f, memory_order_release); }

static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t umax(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t umin(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline size_t round16(size_t x) { return (x + 15u) & ~(size_t)15u; }

const char *pto_rt_strerror(int code) {
    switch (code) {
    case PTO_RT_OK: return "ok";
    case PTO_RT_EINVAL: return "invalid argument";
    case PTO_RT_ENOMEM: return "out of memory";
    case PTO_RT_EKERNEL: return "kernel failed";
    case PTO_RT_EWINDOW: return "task window overflow";
    case PTO_RT_EDEADLOCK: return "deadlock";
    case PTO_RT_ESCOPE: return "unbalanced scopes";
    case PTO_RT_ETOOBIG: return "task too big";
    case PTO_RT_EIO: return "i/o error";
    case PTO_RT_ESTATE: return "invalid state";
    default: return "unknown error";
    }
}

/* pto_rt_kernel_fail's reason, until the kernel returns (a pointer: TLS of the many modules
 * that link the runtime stays small) */
static _Thread_local char *tl_kernel_why;

int pto_rt_kernel_fail(int rc, const char *why) {
    free(tl_kernel_why);
    tl_kernel_why = why ? strdup(why) : NULL;
    return rc;
}

static void fill_error(pto_rt_error *e, int code, const rt_task *t, int krc, const char *fmt,
                       va_list ap) {
    memset(e, 0, sizeof *e);
    e->code = code;
    e->kernel_rc = krc;
    e->task_id = t ? t->task_index : -1;
    e->kernel_id = t ? t->kernel_id : 0;
    e->task_name = t ? t->name : NULL;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

/* Record the first error of the run. Fatal errors (everything but a kernel failure) also
 * stop the run: unstarted tasks are cancelled and further submissions refused. */
static void set_error(pto_rt *rt, int code, const rt_task *t, int krc, const char *fmt, ...) {
    if (code != PTO_RT_EKERNEL) atomic_store(&rt->aborting, 1);
    int exp = 0;
    if (!atomic_compare_exchange_strong(&rt->err_set, &exp, 1)) return;
    va_list ap;
    va_start(ap, fmt);
    fill_error(&rt->err, code, t, krc, fmt, ap);
    va_end(ap);
    atomic_store(&rt->err_set, 2);
}

static int err_code(const pto_rt *rt) {
    return atomic_load(&((pto_rt *)rt)->err_set) == 2 ? rt->err.code : 0;
}

static void err_out(pto_rt_error *err, int code, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    fill_error(err, code, NULL, 0, fmt, ap);
    va_end(ap);
}

uint64_t pto_rt_task_bytes(uint32_t args_size, uint32_t num_regions) {
    return sizeof(rt_task) + round16(args_size) + (uint64_t)num_regions * sizeof(rt_acc);
}

/* ========================================================================================
 * Descriptor and edge-chunk pools. The orchestrating thread allocates from a private free
 * list; the retiring thread returns descriptors on a lock-free stack that the orchestrator
 * takes whole (no ABA: the consumer only ever exchanges the head with NULL).
 * ====================================================================================== */
static int add_slab(pto_rt *rt, void *p) {
    if (rt->nslabs == rt->capslabs) {
        size_t nc = rt->capslabs ? rt->capslabs * 2 : 64;
        void **ns = realloc(rt->slabs, nc * sizeof *ns);
        if (!ns) return -1;
        rt->slabs = ns;
        rt->capslabs = nc;
    }
    rt->slabs[rt->nslabs++] = p;
    return 0;
}

/* Large allocations (slabs, hash tables) are 2 MiB aligned and marked for transparent huge
 * pages: page faults, not work, dominate when millions of tasks are in flight. */
#define RT_HUGE (2u << 20)
static void *big_alloc(size_t bytes, int zero) {
    size_t sz = (bytes + RT_HUGE - 1) & ~(size_t)(RT_HUGE - 1);
    void *p = aligned_alloc(RT_HUGE, sz);
    if (!p) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, sz, MADV_HUGEPAGE);
#endif
    if (zero) memset(p, 0, bytes);
    return p;
}

#define RT_SLAB_BYTES RT_HUGE

static const size_t rt_payload[RT_NCLASSES] = {RT_PAYLOAD_SMALL, RT_PAYLOAD_LARGE, RT_PAYLOAD_HUGE};

static rt_task *alloc_task(pto_rt *rt, int cls) {
    rt_task **loc = &rt->free_task[cls];
    if (!*loc) *loc = atomic_exchange_explicit(&rt->ret_task[cls], NULL, memory_order_acquire);
    if (!*loc) {
        size_t stride = round16(sizeof(rt_task) + rt_payload[cls]);
        size_t per = rt->nslabs < 4 ? 64 : RT_SLAB_BYTES / stride; /* small runs stay small */
        unsigned char *slab = per == 64 ? aligned_alloc(64, stride * per) : big_alloc(stride * per, 0);
        if (!slab || add_slab(rt, slab)) { free(slab); return NULL; }
        for (int i = (int)per - 1; i >= 0; i--) {
            rt_task *t = (rt_task *)(slab + (size_t)i * stride);
            t->cls = (uint8_t)cls;
            t->qnext = *loc;
            *loc = t;
        }
    }
    rt_task *t = *loc;
    *loc = t->qnext;
    return t;
}

static void init_task(rt_task *t, int kind) {
    t->seq = 0;
    atomic_store_explicit(&t->succ, NULL, memory_order_relaxed);
    atomic_store_explicit(&t->pending, 1, memory_order_relaxed);
    atomic_store_explicit(&t->state, ST_PENDING, memory_order_relaxed);
    atomic_store_explicit(&t->poisoned, 0, memory_order_relaxed);
    atomic_store_explicit(&t->refs, 1, memory_order_relaxed);
    atomic_store_explicit(&t->retire_ok, 0, memory_order_relaxed);
    atomic_store_explicit(&t->next_in_order, NULL, memory_order_relaxed);
    t->qnext = NULL;
    t->fn = NULL;
    t->name = NULL;
    t->task_index = -1;
    t->kernel_id = 0;
    t->kind = (uint8_t)kind;
    t->unit = 0;
    t->nacc = 0;
    t->scope_kind = 0;
    t->pool = 0;
    t->args_size = 0;
    t->priority = 0;
    t->aicpu = 0;
    t->stream = 0;
    t->iq = 0;
    t->win_bytes = 0;
    t->worker = -1;
    t->rc = 0;
    t->cycles = 0;
    t->wall_begin = t->wall_end = 0;
    t->last_pred = NULL;
    t->n_inl = 0;
    t->chunks = NULL;
    t->nidx = 0;
}

static rt_edge_chunk *alloc_chunk(pto_rt *rt) {
    if (!rt->free_chunks)
        rt->free_chunks = atomic_exchange_explicit(&rt->ret_chunks, NULL, memory_order_acquire);
    if (!rt->free_chunks) {
        enum { N = 64 };
        rt_edge_chunk *slab = calloc(N, sizeof *slab);
        if (!slab || add_slab(rt, slab)) { free(slab); return NULL; }
        for (int i = N - 1; i >= 0; i--) {
            slab[i].next = rt->free_chunks;
            rt->free_chunks = &slab[i];
        }
    }
    rt_edge_chunk *c = rt->free_chunks;
    rt->free_chunks = c->next;
    c->next = NULL;
    c->used = 0;
    return c;
}

/* Retiring thread (or orchestrator dropping a gate): give a descriptor back. */
static void free_task_shared(pto_rt *rt, rt_task *t) {
    if (t->chunks) {
        rt_edge_chunk *last = t->chunks;
        while (last->next) last = last->next;
        rt_edge_chunk *h = atomic_load_explicit(&rt->ret_chunks, memory_order_relaxed);
        do { last->next = h; } while (!atomic_compare_exchange_weak_explicit(
            &rt->ret_chunks, &h, t->chunks, memory_order_release, memory_order_relaxed));
        t->chunks = NULL;
    }
    _Atomic(rt_task *) *ret = &rt->ret_task[t->cls];
    rt_task *h = atomic_load_explicit(ret, memory_order_relaxed);
    do { t->qnext = h; } while (!atomic_compare_exchange_weak_explicit(
        ret, &h, t, memory_order_release, memory_order_relaxed));
}

static void release_task(pto_rt *rt, rt_task *t) {
    if (t == &rt->dummy) return;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) free_task_shared(rt, t);
}

/* Retiring thread: collect freed descriptors and push each size class once per batch. */
typedef struct { rt_task *head[RT_NCLASSES], *tail[RT_NCLASSES]; rt_edge_chunk *ch, *cht; } rt_freebatch;

static void batch_release(pto_rt *rt, rt_freebatch *b, rt_task *t) {
    if (t == &rt->dummy) return;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
    if (t->chunks) {
        rt_edge_chunk *last = t->chunks;
        while (last->next) last = last->next;
        last->next = b->ch;
        if (!b->ch) b->cht = last;
        b->ch = t->chunks;
        t->chunks = NULL;
    }
    int k = t->cls;
    t->qnext = b->head[k];
    if (!b->head[k]) b->tail[k] = t;
    b->head[k] = t;
}

static void batch_flush(pto_rt *rt, rt_freebatch *b) {
    for (int k = 0; k < RT_NCLASSES; k++) {
        if (!b->head[k]) continue;
        _Atomic(rt_task *) *ret = &rt->ret_task[k];
        rt_task *h = atomic_load_explicit(ret, memory_order_relaxed);
        do { b->tail[k]->qnext = h; } while (!atomic_compare_exchange_weak_explicit(
            ret, &h, b->head[k], memory_order_release, memory_order_relaxed));
        b->head[k] = b->tail[k] = NULL;
    }
    if (b->ch) {
        rt_edge_chunk *h = atomic_load_explicit(&rt->ret_chunks, memory_order_relaxed);
        do { b->cht->next = h; } while (!atomic_compare_exchange_weak_explicit(
            &rt->ret_chunks, &h, b->ch, memory_order_release, memory_order_relaxed));
        b->ch = b->cht = NULL;
    }
}

static inline unsigned char *task_args(rt_task *t) { return t->payload; }
static inline int64_t *task_indices(const rt_task *t) {
    return (int64_t *)(t->payload + round16(t->args_size));
}
static inline rt_acc *task_accs(rt_task *t) {
    return (rt_acc *)(task_indices(t) + t->nidx);
}

/* ========================================================================================
 * Ready queues
 * ====================================================================================== */
static int deque_push(rt_deque *d, rt_task *t) {
    spin_lock(&d->lock);
    if (d->bot - d->top == d->cap) {
        uint64_t nc = d->cap ? d->cap * 2 : 256;
        rt_task **nb = malloc(nc * sizeof *nb);
        if (!nb) { spin_unlock(&d->lock); return -1; }
        for (uint64_t i = d->top; i < d->bot; i++) nb[i & (nc - 1)] = d->buf[i & (d->cap - 1)];
        free(d->buf);
        d->buf = nb;
        d->cap = nc;
    }
    d->buf[d->bot & (d->cap - 1)] = t;
    d->bot++;
    spin_unlock(&d->lock);
    return 0;
}

static rt_task *deque_pop_bottom(rt_deque *d) {
    rt_task *t = NULL;
    spin_lock(&d->lock);
    if (d->bot > d->top) t = d->buf[--d->bot & (d->cap - 1)];
    spin_unlock(&d->lock);
    return t;
}

static rt_task *deque_pop_top(rt_deque *d) {
    rt_task *t = NULL;
    spin_lock(&d->lock);
    if (d->bot > d->top) t = d->buf[d->top++ & (d->cap - 1)];
    spin_unlock(&d->lock);
    return t;
}

static inline int prio_before(const rt_task *a, const rt_task *b) {
    return a->priority > b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static int heap_push(rt_pool *p, rt_task *t) {
    if (p->hn == p->hcap) {
        size_t nc = p->hcap ? p->hcap * 2 : 256;
        rt_task **nh = realloc(p->heap, nc * sizeof *nh);
        if (!nh) return -1;
        p->heap = nh;
        p->hcap = nc;
    }
    size_t i = p->hn++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!prio_before(t, p->heap[par])) break;
        p->heap[i] = p->heap[par];
        i = par;
    }
    p->heap[i] = t;
    return 0;
}

static rt_task *heap_pop(rt_pool *p) {
    if (!p->hn) return NULL;
    rt_task *top = p->heap[0];
    rt_task *last = p->heap[--p->hn];
    size_t i = 0, n = p->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && prio_before(p->heap[c + 1], p->heap[c])) c++;
        if (!prio_before(p->heap[c], last)) break;
        p->heap[i] = p->heap[c];
        i = c;
    }
    if (n) p->heap[i] = last;
    return top;
}

static void wake_pool(rt_pool *p, int all) {
    pthread_mutex_lock(&p->mu);
    if (all) pthread_cond_broadcast(&p->cv);
    else pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* A task was queued in p: wake a sleeping worker. Before execution has started there is
 * nobody to wake (start_now wakes every pool). */
static inline void wake_one(pto_rt *rt, rt_pool *p) {
    if (atomic_load(&p->sleepers) > 0 && atomic_load_explicit(&rt->started, memory_order_relaxed))
        wake_pool(p, 0);
}

static void wake_orch(pto_rt *rt) {
    if (atomic_load(&rt->orch_sleeping)) wake_pool(&rt->pools[0], 1);
}

/* WORK_STEAL placement: the dispatch target's worker, else the pushing worker. */
static uint32_t ws_target(pto_rt *rt, rt_worker *w, rt_task *t) {
    rt_pool *p = &rt->pools[t->pool];
    if (rt->cfg.dispatch != PTO_RT_DISPATCH_WORK_STEAL && t->kind == K_TASK)
        return p->first + (uint32_t)(t->aicpu % p->n);
    if (w && w->pool == t->pool) return w->id;
    return p->first + (uint32_t)(w ? (w->rng++ % p->n) : 0);
}

/* FIFO: append the list head..tail of n tasks to pool p's queue and announce them. */
static void push_task(pto_rt *rt, rt_worker *w, rt_task *t) {
    rt_pool *p = &rt->pools[t->pool];
    int fail = 0;
    switch (rt->cfg.ready) {
    case PTO_RT_READY_FIFO:
        t->qnext = NULL;
        spin_lock(&p->qlock);
        if (p->qtail) p->qtail->qnext = t;
        else {
            p->qhead = t;
            atomic_store_explicit(&p->qseq, t->seq, memory_order_relaxed);
        }
        p->qtail = t;
        spin_unlock(&p->qlock);
        break;
    case PTO_RT_READY_PRIORITY:
        spin_lock(&p->qlock);
        fail = heap_push(p, t);
        spin_unlock(&p->qlock);
        break;
    default:
        fail = deque_push(&rt->workers[ws_target(rt, w, t)].dq, t);
        break;
    }
    if (fail) { /* out of memory growing a queue: nothing sane is left to do */
        fprintf(stderr, "pto_rt: out of memory in a ready queue\n");
        abort();
    }
    atomic_fetch_add(&p->avail, 1);
    wake_one(rt, p);
}

/* ---- the orchestrator's ready ring (FIFO pools) ------------------------------------------
 * Tasks the orchestrator finds ready at submission go through a bounded single-producer,
 * multi-consumer ring with per-slot sequence numbers: the orchestrator publishes with plain
 * stores (no lock, no read-modify-write), workers claim with one CAS. The slot of position
 * pos is free for the producer when seq == pos and holds that position's task when
 * seq == pos + 1. A full ring falls back to the pool's locked queue. Tasks released by
 * workers use the locked queue; a worker takes the older (by submission) of the two heads. */
#define RT_RING 1024u

static int ring_push(pto_rt *rt, rt_pool *p, uint32_t k, rt_task *t) {
    uint64_t pos = rt->rtail[k];
    rt_rslot *s = &p->ring[pos & (RT_RING - 1)];
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != pos) return 0; /* full */
    atomic_store_explicit(&s->t, t, memory_order_relaxed);
    atomic_store_explicit(&s->tseq, t->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
    rt->rtail[k] = pos + 1;
    return 1;
}

/* Submission seq of the task at the ring's head, UINT64_MAX if none (a hint: the slot may
 * be claimed and refilled meanwhile). */
static uint64_t ring_head_seq(rt_pool *p) {
    uint64_t pos = atomic_load_explicit(&p->rhead, memory_order_relaxed);
    rt_rslot *s = &p->ring[pos & (RT_RING - 1)];
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != pos + 1) return UINT64_MAX;
    return atomic_load_explicit(&s->tseq, memory_order_relaxed);
}

/* Claim the head once `need` positions from it on are published (need <= RT_RING). */
static rt_task *ring_pop(rt_pool *p, uint64_t need) {
    uint64_t pos = atomic_load_explicit(&p->rhead, memory_order_relaxed);
    for (;;) {
        rt_rslot *s = &p->ring[pos & (RT_RING - 1)];
        uint64_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q < pos + 1) return NULL; /* nothing published at the head */
        if (need > 1 && q == pos + 1 &&
            atomic_load_explicit(&p->ring[(pos + need - 1) & (RT_RING - 1)].seq,
                                 memory_order_relaxed) != pos + need)
            return NULL;
        if (q > pos + 1) { pos = atomic_load_explicit(&p->rhead, memory_order_relaxed); continue; }
        if (atomic_compare_exchange_weak_explicit(&p->rhead, &pos, pos + 1, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            rt_task *t = atomic_load_explicit(&s->t, memory_order_relaxed);
            atomic_store_explicit(&s->seq, pos + RT_RING, memory_order_release);
            return t;
        }
    }
}

/* Idle check of a pool: queued tasks or a published ring head. */
static inline int pool_has_work(rt_pool *p) {
    if (atomic_load(&p->avail) > 0) return 1;
    if (!p->ring) return 0;
    uint64_t pos = atomic_load(&p->rhead);
    return atomic_load(&p->ring[pos & (RT_RING - 1)].seq) == pos + 1;
}

/* Lost-wakeup protection without a fence per ring push (asymmetric Dekker): a worker about
 * to sleep increments `sleepers` and then forces a barrier on every running thread of the
 * process (membarrier), so either it sees the orchestrator's published slot or the
 * orchestrator's later read of `sleepers` sees it. Where membarrier is unavailable the
 * orchestrator fences after each push instead. */
static int membarrier_ok(void) {
#if defined(__linux__) && defined(__NR_membarrier)
    static atomic_int state; /* 0 unknown, 1 registered, -1 unavailable */
    int st = atomic_load(&state);
    if (!st) {
        st = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 ? 1 : -1;
        atomic_store(&state, st);
    }
    return st > 0;
#else
    return 0;
#endif
}

static void sleeper_barrier(pto_rt *rt) {
#if defined(__linux__) && defined(__NR_membarrier)
    if (!rt->ring_fence) syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
#else
    (void)rt;
#endif
}

/* A busy worker takes ring tasks only once RT_RING_LAG are published, so it trails the
 * orchestrator instead of fighting over the cache lines of the task being submitted; an idle
 * one (lone_ok) takes a lone task after RT_PATIENCE spins (a few microseconds). */
#define RT_RING_LAG 8
#define RT_PATIENCE 32

static rt_task *pop_task(pto_rt *rt, rt_worker *w, int lone_ok) {
    rt_pool *p = &rt->pools[w->pool];
    rt_task *t = NULL;
    if (p->ring) { /* FIFO: the ring unless the locked queue's head is older */
        uint64_t qs = atomic_load_explicit(&p->qseq, memory_order_relaxed);
        if (qs == UINT64_MAX || ring_head_seq(p) < qs) {
            t = ring_pop(p, lone_ok ? 1 : RT_RING_LAG);
            if (t) return t;
        }
    }
    if (atomic_load_explicit(&p->avail, memory_order_relaxed) <= 0) return NULL;
    t = NULL;
    switch (rt->cfg.ready) {
    case PTO_RT_READY_FIFO:
        spin_lock(&p->qlock);
        t = p->qhead;
        if (t) {
            p->qhead = t->qnext;
            if (!p->qhead) p->qtail = NULL;
            atomic_store_explicit(&p->qseq, p->qhead ? p->qhead->seq : UINT64_MAX,
                                  memory_order_relaxed);
        }
        spin_unlock(&p->qlock);
        break;
    case PTO_RT_READY_PRIORITY:
        spin_lock(&p->qlock);
        t = heap_pop(p);
        spin_unlock(&p->qlock);
        break;
    default:
        t = deque_pop_bottom(&w->dq);
        if (!t && p->n > 1) {
            uint32_t start = (uint32_t)(w->rng++ % p->n);
            for (uint32_t k = 0; k < p->n && !t; k++) {
                uint32_t v = p->first + (start + k) % p->n;
                if (v == w->id) continue;
                t = deque_pop_top(&rt->workers[v].dq);
            }
            if (t) w->steals++;
        }
        break;
    }
    if (t) atomic_fetch_sub(&p->avail, 1);
    return t;
}

static void start_now(pto_rt *rt) {
    if (atomic_load(&rt->started)) return;
    atomic_store(&rt->started, 1);
    for (uint32_t i = 0; i < rt->npools; i++) wake_pool(&rt->pools[i], 1);
}

/* ========================================================================================
 * Edges
 * ====================================================================================== */
static rt_edge *edge_node(pto_rt *rt, rt_task *t) {
    if (t->n_inl < RT_INLINE_EDGES) return &t->inl[t->n_inl++];
    if (!t->chunks || t->chunks->used == RT_EDGE_CHUNK) {
        rt_edge_chunk *c = alloc_chunk(rt);
        if (!c) return NULL;
        c->next = t->chunks;
        t->chunks = c;
    }
    return &t->chunks->e[t->chunks->used++];
}

static void edge_unuse(rt_task *t) {
    if (t->chunks) t->chunks->used--;
    else t->n_inl--;
}

/* Record a dependency for the trace (kinds: RT_DEP_* bits); endpoints are kernel tasks or
 * SEQ joins (task_index -2 - id); duplicates are merged when the trace is written. */
static void trace_edge(pto_rt *rt, int64_t from, int64_t to, uint32_t kinds) {
    if (from == -1 || to == -1 || from == to) return;
    if (rt->nted == rt->capted) {
        size_t nc = rt->capted ? rt->capted * 2 : 1024;
        rt_trace_edge *n = realloc(rt->ted, nc * sizeof *n);
        if (!n) return;
        rt->ted = n;
        rt->capted = nc;
    }
    rt->ted[rt->nted].from = from;
    rt->ted[rt->nted].to = to;
    rt->ted[rt->nted].kinds = kinds;
    rt->nted++;
}

/* Add pred -> t unless pred already finished. A finished-but-failed strong pred poisons t.
 * The caller guarantees pred has not been recycled (sequence check or a held reference).
 * The task being submitted (rt->building) counts its edges in rt->nbuilt instead of
 * incrementing `pending`, which starts at RT_BIAS (see pto_rt_submit). */
#define RT_BIAS (1 << 30)

static int add_edge(pto_rt *rt, rt_task *pred, rt_task *t, int strong) {
    if (pred == t) return 0;
    if (t->last_pred == pred && !strong) return 0;
    int st = atomic_load_explicit(&pred->state, memory_order_acquire);
    if (st == ST_PENDING) {
        rt_edge *e = edge_node(rt, t);
        if (!e) return -1;
        e->succ = t;
        e->strong = (uint32_t)strong;
        int biased = t == rt->building;
        if (!biased) atomic_fetch_add_explicit(&t->pending, 1, memory_order_relaxed);
        rt_edge *h = atomic_load_explicit(&pred->succ, memory_order_relaxed);
        for (;;) {
            if (h == RT_CLOSED) {
                if (!biased) atomic_fetch_sub_explicit(&t->pending, 1, memory_order_relaxed);
                edge_unuse(t);
                st = atomic_load_explicit(&pred->state, memory_order_acquire);
                break;
            }
            e->next = h;
            if (atomic_compare_exchange_weak_explicit(&pred->succ, &h, e, memory_order_release,
                                                      memory_order_relaxed)) {
                rt->edges++;
                rt->nbuilt += biased;
                t->last_pred = pred;
                return 0;
            }
        }
    }
    if (strong && (st == ST_FAILED || st == ST_CANCELLED))
        atomic_store_explicit(&t->poisoned, 1, memory_order_relaxed);
    return 0;
}

/* ========================================================================================
 * Region entries: exact table + overlap neighbour graph
 * ====================================================================================== */
static void region_span(const pto_rt_region *r, uintptr_t *lo, uintptr_t *hi) {
    int64_t dr = (r->rows - 1) * r->row_stride, dc = (r->cols - 1) * r->col_stride;
    int64_t mn = (dr < 0 ? dr : 0) + (dc < 0 ? dc : 0);
    int64_t mx = (dr > 0 ? dr : 0) + (dc > 0 ? dc : 0);
    *lo = (uintptr_t)((intptr_t)r->addr + mn);
    *hi = (uintptr_t)((intptr_t)r->addr + mx + (int64_t)r->elem_size);
}

/* Hash of a box key: independent multiplies, then one final mix. */
static uint64_t key_hash(uintptr_t addr, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                         uint32_t elem) {
    uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)rows << 32 ^ (uint64_t)cols) * 0xbf58476d1ce4e5b9ull;
    h ^= (uint64_t)rs * 0x94d049bb133111ebull ^ (uint64_t)cs << 24 ^ (uint64_t)elem << 52;
    return splitmix64(h);
}

static inline uint64_t region_hash(const pto_rt_region *r) {
    return key_hash(r->addr, r->rows, r->cols, r->row_stride, r->col_stride, r->elem_size);
}

static inline int entry_matches(const rt_entry *e, const pto_rt_region *r) {
    return e->addr == r->addr && e->rows == r->rows && e->cols == r->cols &&
           e->rs == r->row_stride && e->cs == r->col_stride && e->elem == r->elem_size;
}

typedef struct { uintptr_t s, e; } rt_run;

static int run_cmp(const void *a, const void *b) {
    const rt_run *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s;
}

#define RT_MAX_RUNS (1u << 22)
#define RT_STACK_RUNS 256

/* Run representation of a box: n runs of len bytes at base + k*step (positive strides). */
typedef struct { intptr_t base; int64_t step, len, n, inner_c, rs, cs; } rt_runrep;

static void run_rep(const rt_entry *x, rt_runrep *o) {
    intptr_t base = (intptr_t)x->addr;
    int64_t rs = x->rs, cs = x->cs, R = x->rows, C = x->cols, E = x->elem;
    if (rs < 0) { base += (R - 1) * rs; rs = -rs; }
    if (cs < 0) { base += (C - 1) * cs; cs = -cs; }
    o->base = base; o->rs = rs; o->cs = cs; o->inner_c = 0;
    if (C == 1 || cs == E) { o->n = R; o->step = rs; o->len = (C - 1) * cs + E; }
    else if (R == 1 || rs == E) { o->n = C; o->step = cs; o->len = (R - 1) * rs + E; }
    else { o->n = R * C; o->step = 0; o->len = E; o->inner_c = C; }
}

/* Byte runs of a box that intersect [clo, chi), sorted and merged, into buf (or a malloc'd
 * array returned through *heap). Returns the count or SIZE_MAX (too many runs). */
static size_t box_runs(const rt_entry *x, uintptr_t clo, uintptr_t chi, rt_run *buf,
                       rt_run **out, rt_run **heap) {
    rt_runrep q;
    run_rep(x, &q);
    *heap = NULL;
    if (q.n > (int64_t)RT_MAX_RUNS) return SIZE_MAX;
    /* restrict k to runs that can intersect [clo, chi) when runs are monotone */
    int64_t k0 = 0, k1 = q.n;
    if (!q.inner_c && q.step > 0) {
        int64_t a = ((intptr_t)clo - q.base - q.len) / q.step;
        int64_t b = ((intptr_t)chi - q.base) / q.step + 1;
        if (a > 0) k0 = a;
        if (b < k1) k1 = b;
    }
    size_t cap = k1 > k0 ? (size_t)(k1 - k0) : 0;
    rt_run *v = buf;
    if (cap > RT_STACK_RUNS) {
        v = malloc(cap * sizeof *v);
        if (!v) return SIZE_MAX;
        *heap = v;
    }
    size_t n = 0;
    int sorted = 1;
    for (int64_t k = k0; k < k1; k++) {
        intptr_t s = q.inner_c ? q.base + (k / q.inner_c) * q.rs + (k % q.inner_c) * q.cs
                               : q.base + k * q.step;
        uintptr_t us = (uintptr_t)s, ue = (uintptr_t)(s + q.len);
        if (ue <= clo || us >= chi) continue;
        if (n && us < v[n - 1].s) sorted = 0;
        v[n].s = us;
        v[n].e = ue;
        n++;
    }
    if (!sorted) qsort(v, n, sizeof *v, run_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && v[i].s <= v[m - 1].e) { if (v[i].e > v[m - 1].e) v[m - 1].e = v[i].e; }
        else v[m++] = v[i];
    }
    *out = v;
    return m;
}

/* Exact test: does any byte belong to both strided boxes? */
static int boxes_overlap(const rt_entry *a, const rt_entry *b) {
    uintptr_t lo = a->lo > b->lo ? a->lo : b->lo, hi = a->hi < b->hi ? a->hi : b->hi;
    if (lo >= hi) return 0;
    if (a->grp && a->grp == b->grp) /* same run stride, no wrap: rectangle intersection */
        return a->row0 < b->row0 + b->nrows && b->row0 < a->row0 + a->nrows &&
               a->col0 < b->col0 + b->ncols && b->col0 < a->col0 + a->ncols;
    rt_run sa[RT_STACK_RUNS], sb[RT_STACK_RUNS];
    rt_run *ra, *rb, *ha, *hb;
    size_t na = box_runs(a, lo, hi, sa, &ra, &ha);
    if (na == SIZE_MAX) return 1;
    size_t nb = box_runs(b, lo, hi, sb, &rb, &hb);
    if (nb == SIZE_MAX) { free(ha); return 1; }
    int hit = 0;
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (ra[i].e <= rb[j].s) i++;
        else if (rb[j].e <= ra[i].s) j++;
        else { hit = 1; break; }
    }
    free(ha);
    free(hb);
    return hit;
}

int pto_rt__boxes_overlap(const pto_rt_region *a, const pto_rt_region *b); /* test hook */
int pto_rt__boxes_overlap(const pto_rt_region *a, const pto_rt_region *b) {
    rt_entry x, y;
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    x.addr = a->addr; x.rows = a->rows; x.cols = a->cols; x.rs = a->row_stride;
    x.cs = a->col_stride; x.elem = a->elem_size;
    y.addr = b->addr; y.rows = b->rows; y.cols = b->cols; y.rs = b->row_stride;
    y.cs = b->col_stride; y.elem = b->elem_size;
    region_span(a, &x.lo, &x.hi);
    region_span(b, &y.lo, &y.hi);
    return boxes_overlap(&x, &y);
}

static int nbr_append(rt_entry *e, rt_entry *n) {
    unsigned c = atomic_load_explicit(&e->nnb, memory_order_relaxed);
    unsigned slot = c % RT_NBR_CHUNK;
    if (slot == 0) {
        rt_nbr_chunk *ch = calloc(1, sizeof *ch);
        if (!ch) return -1;
        if (e->nb_tail) e->nb_tail->next = ch;
        else e->nb_head = ch;
        e->nb_tail = ch;
    }
    e->nb_tail->e[slot] = n;
    atomic_store_explicit(&e->nnb, c + 1, memory_order_release);
    return 0;
}

/* ---- the overlap index ----------------------------------------------------------------
 * "Run boxes" (rows of contiguous bytes at a fixed stride S, not wrapping around S) live in
 * a per-S group and are indexed by cells of a 2-D grid over (byte / S, byte % S); two boxes
 * of one group overlap iff their rectangles intersect. Everything else ("flat": single
 * runs, element-strided boxes) lives in a 1-D index of 4 KiB address chunks. Each new
 * distinct box is compared (exactly) only against candidates from these indexes, once:
 * the resulting neighbour lists are what dependency analysis walks afterwards. */
#define RT_CHUNK_SHIFT 12
#define RT_MAX_ENTRY_CHUNKS 1024
#define RT_MAX_GROUPS 64
#define RT_MAX_BOX_CELLS 64
#define RT_MAX_QUERY_CELLS 4096

static int vec_push(rt_entry ***v, uint32_t *n, uint32_t *cap, rt_entry *e) {
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 4;
        rt_entry **nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = e;
    return 0;
}

static uint64_t slot_hash(uint64_t a, uint64_t b, uint64_t c) {
    return splitmix64(a * 0x9e3779b97f4a7c15ull ^ splitmix64(b ^ splitmix64(c)));
}

/* Find or create the index slot for key (a, b, c). a = 0 for the flat chunk index, else the
 * group number + 1 (b, c = cell row, cell column). */
static rt_chunk_slot *index_slot(pto_rt *rt, uint64_t a, uint64_t b, uint64_t c, int create) {
    if (create && (rt->ccount + 1) * 2 > rt->ccap) {
        size_t nc = rt->ccap ? rt->ccap * 2 : 4096;
        rt_chunk_slot *nt = nc * sizeof *nt >= RT_HUGE ? big_alloc(nc * sizeof *nt, 1) : calloc(nc, sizeof *nt);
        if (!nt) return NULL;
        for (size_t i = 0; i < rt->ccap; i++) {
            if (!rt->ctab[i].used) continue;
            size_t j = rt->ctab[i].h & (nc - 1);
            while (nt[j].used) j = (j + 1) & (nc - 1);
            nt[j] = rt->ctab[i];
        }
        free(rt->ctab);
        rt->ctab = nt;
        rt->ccap = nc;
    }
    if (!rt->ccap) return NULL;
    uint64_t h = slot_hash(a, b, c);
    size_t j = h & (rt->ccap - 1);
    while (rt->ctab[j].used) {
        rt_chunk_slot *s = &rt->ctab[j];
        if (s->h == h && s->ka == a && s->kb == b && s->kc == c) return s;
        j = (j + 1) & (rt->ccap - 1);
    }
    if (!create) return NULL;
    rt_chunk_slot *s = &rt->ctab[j];
    s->used = 1; s->h = h; s->ka = a; s->kb = b; s->kc = c;
    rt->ccount++;
    return s;
}

static int consider_neighbour(pto_rt *rt, rt_entry *e, rt_entry *x) {
    if (x == e || x->stamp == rt->stamp) return 0;
    x->stamp = rt->stamp;
    if (!boxes_overlap(e, x)) return 0;
    if (nbr_append(e, x) || nbr_append(x, e)) return -1;
    return 0;
}

static int consider_list(pto_rt *rt, rt_entry *e, rt_entry **v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (consider_neighbour(rt, e, v[i])) return -1;
    return 0;
}

/* Candidates of group g in rows [r1, r2] and byte columns [c1, c2] (group coordinates). */
static int query_group(pto_rt *rt, rt_entry *e, rt_group *g, uint64_t r1, uint64_t r2,
                       uint64_t c1, uint64_t c2) {
    if (consider_list(rt, e, g->big, g->nbig)) return -1;
    uint64_t R1 = r1 / g->cr, R2 = r2 / g->cr, C1 = c1 / g->cc, C2 = c2 / g->cc;
    if ((R2 - R1 + 1) * (C2 - C1 + 1) > RT_MAX_QUERY_CELLS)
        return consider_list(rt, e, g->all, g->nall);
    for (uint64_t R = R1; R <= R2; R++)
        for (uint64_t Cc = C1; Cc <= C2; Cc++) {
            rt_chunk_slot *s = index_slot(rt, g->id + 1, R, Cc, 0);
            if (s && consider_list(rt, e, s->v, s->n)) return -1;
        }
    return 0;
}

/* Candidates of group g for the bytes [x, x + len) (one run of another box). */
static int query_group_run(pto_rt *rt, rt_entry *e, rt_group *g, uintptr_t x, uint64_t len) {
    uint64_t S = g->S, a = x / S, b = (x + len - 1) / S;
    if (a == b) return query_group(rt, e, g, a, a, x % S, (x + len - 1) % S);
    return query_group(rt, e, g, a, b, 0, S - 1);
}

static inline int spans_meet(uintptr_t lo1, uintptr_t hi1, uintptr_t lo2, uintptr_t hi2) {
    return lo1 < hi2 && lo2 < hi1;
}

/* Flat-index candidates for bytes [lo, hi). */
static int query_flat(pto_rt *rt, rt_entry *e, uintptr_t lo, uintptr_t hi) {
    if (consider_list(rt, e, rt->large_list, (uint32_t)rt->nlarge)) return -1;
    uint64_t c0 = lo >> RT_CHUNK_SHIFT, c1 = (hi - 1) >> RT_CHUNK_SHIFT;
    if (c1 - c0 + 1 > RT_MAX_QUERY_CELLS) {
        for (size_t i = 0; i < rt->nflat; i++)
            if (consider_neighbour(rt, e, rt->flat[i])) return -1;
        return 0;
    }
    for (uint64_t c = c0; c <= c1; c++) {
        rt_chunk_slot *s = index_slot(rt, 0, c, 0, 0);
        if (s && consider_list(rt, e, s->v, s->n)) return -1;
    }
    return 0;
}

/* Boxes lie in a few tensors, so a few byte ranges cover a group's members (or the flat
 * entries): a new box's span merges into the ranges it meets, a ninth range joins the nearest.
 * A span that meets no range meets no member, and its queries are skipped. */
static void extents_add(rt_extents *x, uintptr_t lo, uintptr_t hi) {
    for (uint32_t i = 0; i < x->n;) { /* absorb every range that meets or touches [lo, hi) */
        if (lo <= x->r[i][1] && x->r[i][0] <= hi) {
            if (x->r[i][0] < lo) lo = x->r[i][0];
            if (x->r[i][1] > hi) hi = x->r[i][1];
            x->n--;
            x->r[i][0] = x->r[x->n][0];
            x->r[i][1] = x->r[x->n][1];
        } else i++;
    }
    if (x->n == 8) { /* full: take the nearest range in, then absorb again */
        uint32_t best = 0;
        uintptr_t gap = UINTPTR_MAX;
        for (uint32_t i = 0; i < x->n; i++) {
            uintptr_t d = x->r[i][1] < lo ? lo - x->r[i][1] : x->r[i][0] - hi;
            if (d < gap) { gap = d; best = i; }
        }
        if (x->r[best][0] < lo) lo = x->r[best][0];
        if (x->r[best][1] > hi) hi = x->r[best][1];
        x->n--;
        x->r[best][0] = x->r[x->n][0];
        x->r[best][1] = x->r[x->n][1];
        extents_add(x, lo, hi);
        return;
    }
    x->r[x->n][0] = lo;
    x->r[x->n++][1] = hi;
}

static int extents_meet(const rt_extents *x, uintptr_t lo, uintptr_t hi) {
    for (uint32_t i = 0; i < x->n; i++)
        if (lo < x->r[i][1] && x->r[i][0] < hi) return 1;
    return 0;
}

static uint64_t pow2_at_least(uint64_t x, uint64_t lo) {
    uint64_t p = lo;
    while (p < x) p <<= 1;
    return p;
}

/* Classify a new entry, compute its overlap neighbours, and register it. */
static int index_entry(pto_rt *rt, rt_entry *e) {
    rt->stamp++;
    e->stamp = rt->stamp;
    rt_runrep q;
    run_rep(e, &q);
    rt_group *g = NULL;
    int is_run = !q.inner_c && q.n >= 2 && q.len <= q.step &&
                 (uint64_t)(q.base % q.step) + (uint64_t)q.len <= (uint64_t)q.step;
    if (is_run) {
        for (uint32_t i = 0; i < rt->ngroups; i++)
            if (rt->groups[i].S == (uint64_t)q.step) { g = &rt->groups[i]; break; }
        if (!g && rt->ngroups < RT_MAX_GROUPS) {
            g = &rt->groups[rt->ngroups];
            memset(g, 0, sizeof *g);
            g->id = rt->ngroups++;
            g->S = (uint64_t)q.step;
            g->cr = pow2_at_least((uint64_t)q.n, 1);
            g->cc = pow2_at_least((uint64_t)q.len, 16);
            g->lo = e->lo;
            g->hi = e->hi;
        }
    }
    if (g) {
        e->grp = g;
        e->row0 = (uint64_t)q.base / g->S;
        e->nrows = (uint64_t)q.n;
        e->col0 = (uint64_t)q.base % g->S;
        e->ncols = (uint64_t)q.len;
    }
    /* 1. same-group and other-group candidates */
    for (uint32_t i = 0; i < rt->ngroups; i++) {
        rt_group *h = &rt->groups[i];
        if (!h->nall || !spans_meet(e->lo, e->hi, h->lo, h->hi) ||
            !extents_meet(&h->ext, e->lo, e->hi))
            continue;
        if (h == g) {
            if (query_group(rt, e, h, e->row0, e->row0 + e->nrows - 1, e->col0,
                            e->col0 + e->ncols - 1)) return -1;
        } else if (!q.inner_c && q.n <= 256) {
            for (int64_t k = 0; k < q.n; k++)
                if (query_group_run(rt, e, h, (uintptr_t)(q.base + k * q.step), (uint64_t)q.len))
                    return -1;
        } else {
            uint64_t S = h->S, a = e->lo / S, b = (e->hi - 1) / S;
            if (a == b) { if (query_group(rt, e, h, a, a, e->lo % S, (e->hi - 1) % S)) return -1; }
            else if (query_group(rt, e, h, a, b, 0, S - 1)) return -1;
        }
    }
    /* 2. flat candidates */
    if (rt->nflat && extents_meet(&rt->flat_ext, e->lo, e->hi)) {
        if (!q.inner_c && q.n <= 256 && q.step > 0) {
            for (int64_t k = 0; k < q.n; k++) {
                uintptr_t x = (uintptr_t)(q.base + k * q.step);
                if (query_flat(rt, e, x, x + (uint64_t)q.len)) return -1;
            }
        } else if (query_flat(rt, e, e->lo, e->hi)) return -1;
    }
    /* 3. register */
    if (g) {
        if (vec_push(&g->all, &g->nall, &g->capall, e)) return -1;
        e->pos = g->nall - 1;
        if (e->lo < g->lo) g->lo = e->lo;
        if (e->hi > g->hi) g->hi = e->hi;
        extents_add(&g->ext, e->lo, e->hi);
        uint64_t R1 = e->row0 / g->cr, R2 = (e->row0 + e->nrows - 1) / g->cr;
        uint64_t C1 = e->col0 / g->cc, C2 = (e->col0 + e->ncols - 1) / g->cc;
        if ((R2 - R1 + 1) * (C2 - C1 + 1) > RT_MAX_BOX_CELLS)
            return vec_push(&g->big, &g->nbig, &g->capbig, e);
        for (uint64_t R = R1; R <= R2; R++)
            for (uint64_t Cc = C1; Cc <= C2; Cc++) {
                rt_chunk_slot *s = index_slot(rt, g->id + 1, R, Cc, 1);
                if (!s || vec_push(&s->v, &s->n, &s->cap, e)) return -1;
            }
        return 0;
    }
    if (rt->nflat == rt->capflat) {
        size_t nc = rt->capflat ? rt->capflat * 2 : 64;
        rt_entry **nv = realloc(rt->flat, nc * sizeof *nv);
        if (!nv) return -1;
        rt->flat = nv;
        rt->capflat = nc;
    }
    e->pos = rt->nflat;
    rt->flat[rt->nflat++] = e;
    extents_add(&rt->flat_ext, e->lo, e->hi);
    uint64_t c0 = e->lo >> RT_CHUNK_SHIFT, c1 = (e->hi - 1) >> RT_CHUNK_SHIFT;
    if (c1 - c0 + 1 > RT_MAX_ENTRY_CHUNKS) {
        if (rt->nlarge == rt->caplarge) {
            size_t nc = rt->caplarge ? rt->caplarge * 2 : 16;
            rt_entry **nl = realloc(rt->large_list, nc * sizeof *nl);
            if (!nl) return -1;
            rt->large_list = nl;
            rt->caplarge = nc;
        }
        rt->large_list[rt->nlarge++] = e;
        return 0;
    }
    for (uint64_t c = c0; c <= c1; c++) {
        rt_chunk_slot *s = index_slot(rt, 0, c, 0, 1);
        if (!s || vec_push(&s->v, &s->n, &s->cap, e)) return -1;
    }
    return 0;
}

/* ---- removal from the overlap index (reclamation of entries without neighbours) ---- */
static void list_remove(rt_entry **v, size_t *n, rt_entry *e) {
    for (size_t i = 0; i < *n; i++)
        if (v[i] == e) { v[i] = v[--*n]; return; }
}

/* Backward-shift deletion in a linear-probing table: with a hole at i, the element at j
 * (home slot k) must stay where it is iff k lies cyclically in (i, j]. */
static inline int home_stays(size_t i, size_t j, size_t k) {
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

/* Delete an index slot (backward-shift deletion, as in the region table). */
static void slot_delete(pto_rt *rt, rt_chunk_slot *s) {
    size_t mask = rt->ccap - 1, i = (size_t)(s - rt->ctab), j = i;
    free(s->v);
    for (;;) {
        j = (j + 1) & mask;
        if (!rt->ctab[j].used) break;
        if (home_stays(i, j, rt->ctab[j].h & mask)) continue;
        rt->ctab[i] = rt->ctab[j];
        i = j;
    }
    memset(&rt->ctab[i], 0, sizeof rt->ctab[i]);
    rt->ccount--;
}

static void slot_remove(pto_rt *rt, uint64_t a, uint64_t b, uint64_t c, rt_entry *e) {
    rt_chunk_slot *s = index_slot(rt, a, b, c, 0);
    if (!s) return;
    size_t n = s->n;
    list_remove(s->v, &n, e);
    s->n = (uint32_t)n;
    if (!s->n) slot_delete(rt, s);
}

/* Take an entry out of every index list index_entry put it in. */
static void unindex_entry(pto_rt *rt, rt_entry *e) {
    rt_group *g = e->grp;
    if (g) {
        rt_entry *last = g->all[--g->nall];
        g->all[e->pos] = last;
        last->pos = e->pos;
        uint64_t R1 = e->row0 / g->cr, R2 = (e->row0 + e->nrows - 1) / g->cr;
        uint64_t C1 = e->col0 / g->cc, C2 = (e->col0 + e->ncols - 1) / g->cc;
        if ((R2 - R1 + 1) * (C2 - C1 + 1) > RT_MAX_BOX_CELLS) {
            size_t n = g->nbig;
            list_remove(g->big, &n, e);
            g->nbig = (uint32_t)n;
            return;
        }
        for (uint64_t R = R1; R <= R2; R++)
            for (uint64_t Cc = C1; Cc <= C2; Cc++) slot_remove(rt, g->id + 1, R, Cc, e);
        return;
    }
    rt_entry *last = rt->flat[--rt->nflat];
    rt->flat[e->pos] = last;
    last->pos = e->pos;
    uint64_t c0 = e->lo >> RT_CHUNK_SHIFT, c1 = (e->hi - 1) >> RT_CHUNK_SHIFT;
    if (c1 - c0 + 1 > RT_MAX_ENTRY_CHUNKS) { list_remove(rt->large_list, &rt->nlarge, e); return; }
    for (uint64_t c = c0; c <= c1; c++) slot_remove(rt, 0, c, 0, e);
}

/* An entry of kind ovl (0 exact, 1 overlap-tracked), zeroed. */
static rt_entry *alloc_entry(pto_rt *rt, int ovl) {
    size_t sz = rt->entry_size[ovl];
    rt_entry *e = rt->entry_free[ovl];
    if (e) {
        rt->entry_free[ovl] = e->free_next;
        memset(e, 0, sz);
        return e;
    }
    if (!rt->entry_free_n[ovl]) {
        size_t per = rt->ecount < 1024 ? 256 : RT_SLAB_BYTES / sz;
        unsigned char *slab = per == 256 ? aligned_alloc(64, per * sz) : big_alloc(per * sz, 1);
        if (slab && per == 256) memset(slab, 0, per * sz);
        if (!slab || add_slab(rt, slab)) { free(slab); return NULL; }
        rt->entry_slab[ovl] = slab;
        rt->entry_slab_n[ovl] = per;
        rt->entry_free_n[ovl] = per;
    }
    return (rt_entry *)(rt->entry_slab[ovl] + (rt->entry_slab_n[ovl] - rt->entry_free_n[ovl]--) * sz);
}

static int rq_push(pto_rt *rt, rt_entry *e);

static rt_entry *entry_get(pto_rt *rt, const pto_rt_region *r) {
    uint64_t h = region_hash(r);
    size_t j = 0;
    if (rt->ecap) {
        j = h & (rt->ecap - 1);
        while (rt->etab[j].e) {
            if (rt->etab[j].h == h && entry_matches(rt->etab[j].e, r)) return rt->etab[j].e;
            j = (j + 1) & (rt->ecap - 1);
        }
    }
    int grow = (rt->ecount + 1) * 2 > rt->ecap;
    if (grow) {
        size_t nc = rt->ecap ? rt->ecap * 2 : 4096;
        rt_eslot *nt = nc * sizeof *nt >= RT_HUGE ? big_alloc(nc * sizeof *nt, 1) : calloc(nc, sizeof *nt);
        if (!nt) return NULL;
        for (size_t i = 0; i < rt->ecap; i++) {
            if (!rt->etab[i].e) continue;
            size_t j = rt->etab[i].h & (nc - 1);
            while (nt[j].e) j = (j + 1) & (nc - 1);
            nt[j] = rt->etab[i];
        }
        free(rt->etab);
        rt->etab = nt;
        rt->ecap = nc;
    }
    int ovl = rt->use_overlap || r->overlap;
    rt_entry *e = alloc_entry(rt, ovl);
    if (!e) return NULL;
    e->ovl = (uint8_t)ovl;
    e->addr = r->addr;
    e->rows = r->rows;
    e->cols = r->cols;
    e->rs = r->row_stride;
    e->cs = r->col_stride;
    e->elem = r->elem_size;
    e->w_index = -1;
    if (ovl) {
        region_span(r, &e->lo, &e->hi);
        if (index_entry(rt, e)) return NULL;
    }
    if (rt->reclaim && rq_push(rt, e)) return NULL;
    if (grow) {
        j = h & (rt->ecap - 1);
        while (rt->etab[j].e) j = (j + 1) & (rt->ecap - 1);
    }
    rt->etab[j].h = h;
    rt->etab[j].e = e;
    if (++rt->ecount > rt->epeak) rt->epeak = rt->ecount;
    return e;
}

/* ---- reclamation (TENSOR_MAP_EXACT) ------------------------------------------------------
 * An entry is forgotten once (a) every task that accessed it has retired, so no edge can
 * start from it and no descriptor points at it, and (b) no task waiting in the simulation
 * refers to it and its simulated end times are <= sim_lb: every later task starts at or
 * after sim_lb, so those ends can no longer move any simulated start. A forgotten region that is accessed again gets a
 * fresh entry, exactly as if it had been kept. Poisoned entries are kept (they cancel
 * readers). A ring holds the entries roughly in order of last use; each submission drops
 * from its front until the first entry still needed, which goes to the back. The table
 * thus stays proportional to the regions in flight, at O(1) work per submission. */
#define RT_RECLAIM_MIN 4096           /* below this many entries nothing is examined        */
#define RT_RECLAIM_BUDGET 16          /* entries dropped at most per submission             */

static int rq_push(pto_rt *rt, rt_entry *e) {
    if (rt->rq_n == rt->rq_cap) {
        size_t nc = rt->rq_cap ? rt->rq_cap * 2 : 4096;
        rt_entry **nq = malloc(nc * sizeof *nq);
        if (!nq) return -1;
        for (size_t i = 0; i < rt->rq_n; i++) nq[i] = rt->rq[(rt->rq_head + i) & (rt->rq_cap - 1)];
        free(rt->rq);
        rt->rq = nq;
        rt->rq_cap = nc;
        rt->rq_head = 0;
    }
    rt->rq[(rt->rq_head + rt->rq_n++) & (rt->rq_cap - 1)] = e;
    return 0;
}

/* Remove e from the open-addressing table (backward-shift deletion) and free it. */
static void entry_drop(pto_rt *rt, rt_entry *e) {
    size_t mask = rt->ecap - 1, j;
    size_t i = key_hash(e->addr, e->rows, e->cols, e->rs, e->cs, e->elem) & mask;
    while (rt->etab[i].e != e) i = (i + 1) & mask;
    j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!rt->etab[j].e) break;
        if (home_stays(i, j, rt->etab[j].h & mask)) continue;
        rt->etab[i] = rt->etab[j];
        i = j;
    }
    rt->etab[i].e = NULL;
    rt->etab[i].h = 0;
    rt->ecount--;
    if (e->ovl) unindex_entry(rt, e);
    if (e->rd != e->rd_inl) free(e->rd);
    e->free_next = rt->entry_free[e->ovl];
    rt->entry_free[e->ovl] = e;
}

static void reclaim_entries(pto_rt *rt) {
    uint64_t done = atomic_load_explicit(&rt->retire_next, memory_order_acquire);
    uint64_t lb = atomic_load_explicit(&rt->sim_lb, memory_order_acquire);
    for (int k = 0; k < RT_RECLAIM_BUDGET && rt->rq_n; k++) {
        rt_entry *e = rt->rq[rt->rq_head];
        rt->rq_head = (rt->rq_head + 1) & (rt->rq_cap - 1);
        rt->rq_n--;
        if (e->last_seq < done &&
            !atomic_load_explicit(&e->sim_refs, memory_order_acquire) &&
            e->sim_w_end <= lb && e->sim_r_end <= lb &&
            !atomic_load_explicit(&e->poisoned, memory_order_relaxed) &&
            (!e->ovl || !atomic_load_explicit(&e->nnb, memory_order_relaxed))) {
            entry_drop(rt, e);
            continue;
        }
        /* still needed: to the back (the ring has room, one slot was just freed); the
         * entries behind it are mostly no older, so stop for this submission */
        rt->rq[(rt->rq_head + rt->rq_n++) & (rt->rq_cap - 1)] = e;
        break;
    }
}

/* Iterate an entry and, if it is overlap-tracked (ovl_), its neighbours. */
#define FOR_ENTRY_AND_NBRS(ovl_, e_, X_, BODY)                                                \
    do {                                                                                      \
        rt_entry *X_ = (e_);                                                                  \
        BODY;                                                                                 \
        if (ovl_) {                                                                           \
            unsigned n__ = atomic_load_explicit(&(e_)->nnb, memory_order_acquire);            \
            /* nb_head only once published: the submitter may be setting it right now */   \
            rt_nbr_chunk *c__ = n__ ? (e_)->nb_head : NULL;                                   \
            for (unsigned i__ = 0; i__ < n__; i__++) {                                        \
                if (i__ && i__ % RT_NBR_CHUNK == 0) c__ = c__->next;                          \
                X_ = c__->e[i__ % RT_NBR_CHUNK];                                              \
                BODY;                                                                         \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* done: retire_next as read by the caller; tasks with seq >= done are not recycled. */
static int add_reader(rt_entry *e, rt_task *t, uint64_t done) {
    if (!e->rd) { e->rd = e->rd_inl; e->caprd = 2; }
    if (e->nrd == e->caprd) {
        /* drop finished readers before growing */
        uint32_t m = 0;
        for (uint32_t i = 0; i < e->nrd; i++) {
            rt_tref r = e->rd[i];
            if (r.seq >= done && atomic_load_explicit(&r.t->state, memory_order_relaxed) == ST_PENDING)
                e->rd[m++] = r;
        }
        e->nrd = m;
        if (m * 2 > e->caprd) {
            uint32_t nc = e->caprd * 2;
            rt_tref *n = e->rd == e->rd_inl ? malloc(nc * sizeof *n) : realloc(e->rd, nc * sizeof *n);
            if (!n) return -1;
            if (e->rd == e->rd_inl) memcpy(n, e->rd_inl, sizeof e->rd_inl);
            e->rd = n;
            e->caprd = nc;
        }
    }
    e->rd[e->nrd].t = t;
    e->rd[e->nrd].seq = t->seq;
    e->nrd++;
    return 0;
}

/* ========================================================================================
 * In-order list, retirement and the simulation
 * ====================================================================================== */
static void link_task(pto_rt *rt, rt_task *t) {
    t->seq = rt->next_seq++;
    atomic_store_explicit(&rt->tail->next_in_order, t, memory_order_release);
    rt->tail = t;
}

/* v9: the task's AICPU, else the earliest-free one (ties to the lowest index). */
static uint32_t v9_pick_lane(pto_rt *rt, rt_task *t) {
    if (t->aicpu != UINT32_MAX) return t->aicpu;
    uint32_t best = 0;
    for (uint32_t a = 1; a < rt->cfg.num_aicpus; a++)
        if (rt->lane_free[a] < rt->lane_free[best]) best = a;
    return best;
}

static void v9_heap_push(pto_rt *rt, uint64_t v) {
    size_t i = rt->v9_hn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (rt->v9_heap[p] <= v) break;
        rt->v9_heap[i] = rt->v9_heap[p];
        i = p;
    }
    rt->v9_heap[i] = v;
}

static uint64_t v9_heap_pop(pto_rt *rt) {
    uint64_t top = rt->v9_heap[0], last = rt->v9_heap[--rt->v9_hn];
    size_t i = 0, n = rt->v9_hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && rt->v9_heap[c + 1] < rt->v9_heap[c]) c++;
        if (rt->v9_heap[c] >= last) break;
        rt->v9_heap[i] = rt->v9_heap[c];
        i = c;
    }
    if (n) rt->v9_heap[i] = last;
    return top;
}

static void trace_task(pto_rt *rt, rt_task *t, int st, uint32_t lane, uint64_t s, uint64_t e) {
    if (rt->ntev == rt->captev) {
        size_t nc = rt->captev ? rt->captev * 2 : 1024;
        rt_trace_ev *n = realloc(rt->tev, nc * sizeof *n);
        if (!n) return;
        rt->tev = n;
        rt->captev = nc;
    }
    rt_trace_ev *v = &rt->tev[rt->ntev++];
    v->task_index = t->task_index;
    v->seq = t->seq;
    v->name = t->name;
    v->kernel_id = t->kernel_id;
    v->lane = lane;
    v->worker = t->worker;
    v->status = st;
    v->sim_start = s;
    v->sim_end = e;
    v->wall_begin = t->wall_begin;
    v->wall_end = t->wall_end;
    v->nidx = t->nidx;
    memcpy(v->idx, task_indices(t), t->nidx * sizeof(int64_t));
}

/* Record an access ending at `end` (simulated) / `cp_end` (critical path); a LATENCY write
 * becomes visible to later readers `latency` cycles after it ended, on both clocks. */
static void cp_access(rt_entry *e, uint32_t mode, uint64_t cp_end, uint64_t latency) {
    if (mode & PTO_RT_WRITE) {
        e->cp_w_end = cp_end + (mode & PTO_RT_LATENCY ? latency : 0);
        e->cp_r_end = 0;
    } else {
        e->cp_r_end = umax(e->cp_r_end, cp_end);
    }
}

static void sim_access(rt_entry *e, uint32_t mode, uint64_t end, uint64_t cp_end, uint64_t latency) {
    if (mode & PTO_RT_WRITE) {
        e->sim_w_end = end + (mode & PTO_RT_LATENCY ? latency : 0);
        e->sim_r_end = 0;
    } else {
        e->sim_r_end = umax(e->sim_r_end, end);
    }
    cp_access(e, mode, cp_end, latency);
}

/* Per-kernel totals (retiring thread); 0 or -1 when out of memory (the stats then stop
 * growing for new kernel ids, nothing else is affected). */
static int kernel_account(pto_rt *rt, uint32_t kid, uint64_t cyc) {
    if (kid >= rt->nkernels) {
        uint32_t n = kid < 16 ? 16 : kid * 2;
        uint64_t *a = realloc(rt->kernel_tasks, n * sizeof *a);
        if (!a) return -1;
        rt->kernel_tasks = a;
        uint64_t *b = realloc(rt->kernel_cycles, n * sizeof *b);
        if (!b) return -1;
        rt->kernel_cycles = b;
        memset(a + rt->nkernels, 0, (n - rt->nkernels) * sizeof *a);
        memset(b + rt->nkernels, 0, (n - rt->nkernels) * sizeof *b);
        rt->nkernels = n;
    }
    rt->kernel_tasks[kid]++;
    rt->kernel_cycles[kid] += cyc;
    return 0;
}

/* ---- the event-driven simulation (not v9) ------------------------------------------------
 * Each AICPU hands its eligible tasks to its free cores of the right unit, work-conserving: at
 * every simulated instant, every free lane (lowest number first) takes the eligible task of
 * its unit with the lowest submission number that is given to its AICPU (or to any AICPU).
 * A task is eligible once its predecessors have ended and every issue bound (structure,
 * stream, window, timing policy) is met. Tasks enter in submission order as they retire and
 * wait as nodes with edges to their predecessors; the clock advances only as far as no task
 * still to come could be eligible (the window bounds that; without one, everything is
 * decided at finish). Joins are nodes without a lane: the end of a scope iteration or batch. */

static void *sring_at(rt_ring *r, size_t i) { return r->v + ((r->head + i) & (r->cap - 1)) * r->sz; }

static int sring_push(rt_ring *r, const void *x) {
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        unsigned char *nv = malloc(nc * r->sz);
        if (!nv) return -1;
        for (size_t i = 0; i < r->n; i++) memcpy(nv + i * r->sz, sring_at(r, i), r->sz);
        free(r->v);
        r->v = nv;
        r->cap = nc;
        r->head = 0;
    }
    r->n++;
    memcpy(sring_at(r, r->n - 1), x, r->sz);
    return 0;
}

static void sring_pop(rt_ring *r) {
    r->head = (r->head + 1) & (r->cap - 1);
    r->n--;
}

/* Heap order: by submission number (eligible heaps) or by (ready, number) (the future heap). */
static int sn_before(const rt_snode *a, const rt_snode *b, int by_ready) {
    if (by_ready && a->ready != b->ready) return a->ready < b->ready;
    return a->k < b->k;
}

static int sheap_push(rt_sheap *h, rt_snode *x, int by_ready) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        rt_snode **nv = realloc(h->v, nc * sizeof *nv);
        if (!nv) return -1;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0 && sn_before(x, h->v[(i - 1) / 2], by_ready)) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
    return 0;
}

static rt_snode *sheap_pop(rt_sheap *h, int by_ready) {
    rt_snode *top = h->v[0], *last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && sn_before(h->v[c + 1], h->v[c], by_ready)) c++;
        if (!sn_before(h->v[c], last, by_ready)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

static rt_snode *snode_new(pto_rt *rt, uint32_t nacc, int join) {
    const size_t sz = sizeof(rt_snode) + nacc * sizeof(rt_sacc);
    rt_snode *n = rt->sn_free[nacc];
    if (n) {
        rt->sn_free[nacc] = n->next_free;
        memset(n, 0, sz);
    } else if (!(n = calloc(1, sz))) {
        set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation");
        return NULL;
    }
    n->join = (uint8_t)join;
    n->npred = (uint32_t)join; /* a join is open until sealed */
    n->tev = SIZE_MAX;
    n->ev = n->inl;
    n->cape = 2;
    n->nacc = nacc;
    return n;
}

static void snode_free(pto_rt *rt, rt_snode *n) {
    if (n->ev != n->inl) free(n->ev);
    n->next_free = rt->sn_free[n->nacc];
    rt->sn_free[n->nacc] = n;
}

static void sq_push(pto_rt *rt, rt_squeue *q, rt_snode *n) {
    int r;
    rt->sn_pushes++;
    if (!q->f.n || n->k > q->last) {
        r = sring_push(&q->f, &n);
        q->last = n->k;
    } else {
        r = sheap_push(&q->h, n, 0);
    }
    if (r) set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation");
}

/* The queue's first task by number, or NULL. */
static rt_snode *sq_top(rt_squeue *q) {
    rt_snode *f = q->f.n ? *(rt_snode **)sring_at(&q->f, 0) : NULL;
    rt_snode *h = q->h.n ? q->h.v[0] : NULL;
    return !f || (h && h->k < f->k) ? h : f;
}

static void sq_pop(rt_squeue *q, rt_snode *top) {
    if (q->f.n && *(rt_snode **)sring_at(&q->f, 0) == top) sring_pop(&q->f);
    else sheap_pop(&q->h, 0);
}

static void wl_push(pto_rt *rt, rt_snode *n) {
    if (rt->wl_n == rt->wl_cap) {
        size_t nc = rt->wl_cap ? rt->wl_cap * 2 : 64;
        rt_snode **v = realloc(rt->wl, nc * sizeof *v);
        if (!v) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation"); return; }
        rt->wl = v;
        rt->wl_cap = nc;
    }
    rt->wl[rt->wl_n++] = n;
}

/* One predecessor of n has finished, n may start no earlier than t. */
static void sn_release(pto_rt *rt, rt_snode *n, uint64_t t) {
    n->ready = umax(n->ready, t);
    if (--n->npred == 0) wl_push(rt, n);
}

/* n waits for p: p's end + lat (or, on_resolve, p's start bound). */
static void sn_edge(pto_rt *rt, rt_snode *p, rt_snode *n, uint64_t lat, int on_resolve) {
    if (p->state == SN_STARTED || (on_resolve && p->state == SN_RESOLVED)) {
        n->ready = umax(n->ready, on_resolve ? p->ready : p->end + lat);
        return;
    }
    if (p->ne == p->cape) {
        uint32_t nc = p->cape * 2;
        rt_sedge *v = p->ev == p->inl ? malloc(nc * sizeof *v) : realloc(p->ev, nc * sizeof *v);
        if (!v) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation"); return; }
        if (p->ev == p->inl) memcpy(v, p->inl, sizeof p->inl);
        p->ev = v;
        p->cape = nc;
    }
    p->ev[p->ne++] = (rt_sedge){n, lat, (uint32_t)on_resolve};
    n->npred++;
}

static void sn_wait_lazy(pto_rt *rt, rt_lazy v, rt_snode *n) {
    n->ready = umax(n->ready, v.c);
    if (v.n) sn_edge(rt, v.n, n, 0, 0);
}

static void sn_seal(pto_rt *rt, rt_snode *j) { sn_release(rt, j, 0); }

/* A new open join that starts at v at the earliest. */
static rt_snode *sn_join_from(pto_rt *rt, rt_lazy v) {
    rt_snode *j = snode_new(rt, 0, 1);
    if (j) sn_wait_lazy(rt, v, j);
    return j;
}

static void sn_fire(pto_rt *rt, rt_snode *n, int on_resolve) {
    for (uint32_t i = 0; i < n->ne; i++)
        if (n->ev[i].on_resolve == (uint32_t)on_resolve)
            sn_release(rt, n->ev[i].to, (on_resolve ? n->ready : n->end) + n->ev[i].lat);
}

static uint32_t sn_queue(const pto_rt *rt, uint32_t aicpu, uint32_t unit) {
    return (aicpu == UINT32_MAX ? rt->cfg.num_aicpus : aicpu) * 2 + (unit == PTO_RT_UNIT_CUBE);
}

/* Nodes whose predecessors have all finished: joins end at once (and are freed), tasks go to
 * the eligible heap of their queue or, if their start bound is later, the future heap. */
static void sn_drain(pto_rt *rt) {
    while (rt->wl_n) {
        rt_snode *n = rt->wl[--rt->wl_n];
        if (n->join) {
            n->end = n->ready;
            n->state = SN_STARTED;
            for (int d = 0; d <= rt->sdepth; d++)
                if (rt->sframes[d].base.n == n) rt->sframes[d].base = (rt_lazy){umax(rt->sframes[d].base.c, n->end), NULL};
            if (rt->batch_rel.n == n) rt->batch_rel = (rt_lazy){umax(rt->batch_rel.c, n->end), NULL};
            sn_fire(rt, n, 0);
            snode_free(rt, n);
            continue;
        }
        n->state = SN_RESOLVED;
        if (rt->iq_n && rt->iq_n[n->iq] == n) {
            rt->iclock[n->iq] = n->ready;
            rt->iq_n[n->iq] = NULL;
        }
        sn_fire(rt, n, 1);
        if (n->ready <= rt->now) sq_push(rt, &rt->elig[sn_queue(rt, n->aicpu, n->unit)], n);
        else if (sheap_push(&rt->fut, n, 1))
            set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation");
    }
}

/* Tasks 0..j have started: the window gates waiting for them open. */
static void sn_open_gates(pto_rt *rt) {
    while (rt->gates.n) {
        struct { rt_snode *n; int64_t j; } *g = sring_at(&rt->gates, 0);
        if ((uint64_t)g->j >= rt->pstart) break;
        uint64_t pm = *(uint64_t *)sring_at(&rt->ph, (size_t)((uint64_t)g->j - rt->ph_base));
        sn_release(rt, g->n, pm);
        sring_pop(&rt->gates);
    }
}

/* Start task n on lane l at the clock. */
static void sn_start(pto_rt *rt, rt_snode *n, uint32_t l) {
    const uint64_t s = rt->now, e = s + n->cyc;
    n->end = e;
    n->state = SN_STARTED;
    rt->lane_free[l] = e;
    rt->lane_tasks[l]++;
    rt->lane_busy[l] += n->cyc;
    rt->makespan = umax(rt->makespan, e);
    if (n->tev != SIZE_MAX) {
        rt->tev[n->tev].lane = l;
        rt->tev[n->tev].sim_start = s;
        rt->tev[n->tev].sim_end = e;
    }
    for (uint32_t i = 0; i < n->nacc; i++) {
        rt_sacc *a = &n->acc[i];
        rt_entry *x = a->e;
        if (a->mode & PTO_RT_WRITE) {
            if (x->sim_pw != n) continue;
            x->sim_w_end = e + x->sim_pw_lat;
            x->sim_r_end = 0;
            x->sim_pw = NULL;
        } else {
            x->sim_r_end = umax(x->sim_r_end, e);
            if (!a->linked) continue;
            if (a->prev) a->prev->next = a->next; else x->sim_prd = a->next;
            if (a->next) a->next->prev = a->prev;
            a->linked = 0;
        }
        atomic_fetch_sub_explicit(&x->sim_refs, 1, memory_order_release);
    }
    if (rt->stream_n && rt->stream_n[n->stream] == n) {
        rt->stream_end[n->stream] = e;
        rt->stream_n[n->stream] = NULL;
    }
    sn_fire(rt, n, 0);
    /* the started prefix grows: record its max end, free its nodes, open window gates */
    while (rt->ord.n) {
        rt_snode *f = *(rt_snode **)sring_at(&rt->ord, 0);
        if (f->state != SN_STARTED) break;
        rt->pmax = umax(rt->pmax, f->end);
        if (rt->cfg.window_size && sring_push(&rt->ph, &rt->pmax))
            set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation");
        rt->pstart++;
        sring_pop(&rt->ord);
        snode_free(rt, f);
    }
    sn_open_gates(rt);
}

/* The window's lower bound on the start of any task still to come is after time t. */
static int sn_safe(pto_rt *rt, uint64_t t) {
    const pto_rt_config *c = &rt->cfg;
    if (!c->window_size || c->window_mode == PTO_RT_WINDOW_BENCHMARK) return 0;
    int64_t j = rt->j_last;
    if (c->window_unit == PTO_RT_WINDOW_TASKS && rt->wq.n && rt->wq_bytes + 1 > c->window_size)
        j = *(int64_t *)sring_at(&rt->wq, 0);
    if (j < 0) return 0;
    if ((uint64_t)j < rt->pstart)
        return t < *(uint64_t *)sring_at(&rt->ph, (size_t)((uint64_t)j - rt->ph_base));
    return (*(rt_snode **)sring_at(&rt->ord, 0))->cyc > 0; /* task pstart ends after t */
}

/* Advance the clock as far as is decided (final: everything). */
static void sim_run(pto_rt *rt, int final) {
    const pto_rt_config *c = &rt->cfg;
    const uint32_t V = c->vector_lanes, G = V + c->cube_lanes, any = c->num_aicpus * 2;
    sn_drain(rt);
    for (;;) {
        if (!final && !sn_safe(rt, rt->now)) break;
        while (rt->fut.n && rt->fut.v[0]->ready <= rt->now) {
            rt_snode *n = sheap_pop(&rt->fut, 1);
            sq_push(rt, &rt->elig[sn_queue(rt, n->aicpu, n->unit)], n);
        }
        /* one pass over the lanes, lowest first; again if tasks became eligible now */
        const uint64_t pushes = rt->sn_pushes;
        uint64_t nl = UINT64_MAX;
        for (uint32_t l = 0; l < rt->nlanes; l++) {
            uint32_t u = l % G >= V;
            rt_squeue *q = &rt->elig[(l / G) * 2 + u], *qa = &rt->elig[any + u];
            rt_snode *n = sq_top(q), *na = sq_top(qa);
            if (na && (!n || na->k < n->k)) { n = na; q = qa; }
            if (n && rt->lane_free[l] <= rt->now) {
                sq_pop(q, n);
                sn_start(rt, n, l);
                sn_drain(rt);
            }
            if (rt->lane_free[l] > rt->now) nl = umin(nl, rt->lane_free[l]);
        }
        if (rt->sn_pushes != pushes) continue;
        uint64_t nt = rt->fut.n ? rt->fut.v[0]->ready : UINT64_MAX;
        for (uint32_t i = 0; i <= any + 1; i++)
            if (rt->elig[i].f.n || rt->elig[i].h.n) { nt = umin(nt, nl); break; }
        if (nt == UINT64_MAX || (!final && !sn_safe(rt, nt))) break;
        rt->now = nt;
    }
    while (rt->ph.n && rt->ph_base < (uint64_t)(rt->j_last < 0 ? 0 : rt->j_last)) {
        sring_pop(&rt->ph);
        rt->ph_base++;
    }
    atomic_store_explicit(&rt->sim_lb, rt->now, memory_order_release);
}

/* Finish (every task retired): close the open batch join and decide everything, holding
 * the retiring thread's lock. */
static void sim_finish_locked(pto_rt *rt) {
    if (rt->cfg.v9_compat) return;
    while (atomic_exchange(&rt->retire_busy, 1)) sched_yield();
    if (rt->batch_acc) { sn_seal(rt, rt->batch_acc); rt->batch_acc = NULL; }
    sim_run(rt, 1);
    atomic_store(&rt->retire_busy, 0);
}

/* The simulation's memory (its nodes are all freed once decided). */
static void sim_free(pto_rt *rt) {
    free(rt->lane_free); free(rt->lane_tasks); free(rt->lane_busy);
    free(rt->stream_end); free(rt->stream_last); free(rt->stream_cp); free(rt->iclock);
    free(rt->stream_n); free(rt->iq_n);
    free(rt->v9_heap);
    if (rt->elig)
        for (uint32_t i = 0; i < (rt->cfg.num_aicpus + 1) * 2; i++) {
            free(rt->elig[i].f.v);
            free(rt->elig[i].h.v);
        }
    for (uint32_t i = 0; i <= PTO_RT_MAX_REGIONS; i++)
        for (rt_snode *n = rt->sn_free[i], *nx; n; n = nx) { nx = n->next_free; free(n); }
    free(rt->elig); free(rt->fut.v); free(rt->wl);
    free(rt->ord.v); free(rt->ph.v); free(rt->gates.v); free(rt->wq.v);
}

/* A kernel task enters the simulation (in submission order): a node waiting for what its
 * start depends on. */
static void sim_enter(pto_rt *rt, rt_task *t, int st, uint64_t cyc, uint64_t k, uint64_t *cp) {
    const pto_rt_config *c = &rt->cfg;
    rt_sframe *top = &rt->sframes[rt->sdepth];
    rt_acc *acc = task_accs(t);
    rt_snode *n = snode_new(rt, t->nacc, 0);
    if (!n) return;
    n->k = k;
    n->cyc = cyc;
    n->aicpu = t->aicpu;
    n->unit = t->unit;
    n->stream = t->stream;
    n->iq = t->iq;
    n->npred = 1; /* guard while edges are added */
    sn_wait_lazy(rt, top->base, n);
    for (uint32_t i = 0; i < t->nacc; i++) {
        uint32_t m = acc[i].mode;
        FOR_ENTRY_AND_NBRS(acc[i].ovl, acc[i].e, X, {
            n->ready = umax(n->ready, X->sim_w_end);
            *cp = umax(*cp, X->cp_w_end);
            if (X->sim_pw) sn_edge(rt, X->sim_pw, n, X->sim_pw_lat, 0);
            if (m & PTO_RT_WRITE) {
                n->ready = umax(n->ready, X->sim_r_end);
                *cp = umax(*cp, X->cp_r_end);
                for (rt_sacc *r = X->sim_prd; r; r = r->next) sn_edge(rt, r->n, n, 0, 0);
            }
        });
    }
    for (uint32_t i = 0; i < t->nacc; i++) {
        rt_entry *e = acc[i].e;
        rt_sacc *a = &n->acc[i];
        *a = (rt_sacc){e, n, NULL, NULL, acc[i].mode, 0};
        if (acc[i].mode & PTO_RT_WRITE) {
            uint32_t drop = (e->sim_pw != NULL);
            for (rt_sacc *r = e->sim_prd; r; r = r->next) { r->linked = 0; drop++; }
            e->sim_prd = NULL;
            e->sim_pw = n;
            e->sim_pw_lat = acc[i].mode & PTO_RT_LATENCY ? c->channel_latency : 0;
            atomic_fetch_add_explicit(&e->sim_refs, 1, memory_order_relaxed);
            if (drop) atomic_fetch_sub_explicit(&e->sim_refs, drop, memory_order_release);
        } else {
            a->next = e->sim_prd;
            if (a->next) a->next->prev = a;
            e->sim_prd = a;
            a->linked = 1;
            atomic_fetch_add_explicit(&e->sim_refs, 1, memory_order_relaxed);
        }
    }
    if (c->num_streams) {
        *cp = umax(*cp, rt->stream_cp[t->stream]);
        rt->stream_cp[t->stream] = *cp + cyc;
        if (rt->stream_n[t->stream]) sn_edge(rt, rt->stream_n[t->stream], n, 0, 0);
        else n->ready = umax(n->ready, rt->stream_end[t->stream]);
        rt->stream_n[t->stream] = n;
    }
    if (c->window_size && c->window_mode != PTO_RT_WINDOW_BENCHMARK) {
        uint64_t b = c->window_unit == PTO_RT_WINDOW_TASKS ? 1 : t->win_bytes;
        int64_t j = -1;
        while (rt->wq.n && rt->wq_bytes + b > c->window_size) {
            j = *(int64_t *)sring_at(&rt->wq, 0);
            rt->wq_bytes -= *(uint64_t *)((char *)sring_at(&rt->wq, 0) + 8);
            sring_pop(&rt->wq);
        }
        if (j >= 0) {
            rt->j_last = j;
            if ((uint64_t)j < rt->pstart) {
                n->ready = umax(n->ready, *(uint64_t *)sring_at(&rt->ph, (size_t)((uint64_t)j - rt->ph_base)));
            } else {
                struct { rt_snode *n; int64_t j; } g = {n, j};
                if (sring_push(&rt->gates, &g)) set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation");
                else n->npred++;
            }
        }
        uint64_t kb[2] = {k, b};
        if (sring_push(&rt->wq, kb)) set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulated window");
        rt->wq_bytes += b;
    }
    switch (c->timing) {
    case PTO_RT_TIMING_BATCHED:
        sn_wait_lazy(rt, rt->batch_rel, n);
        if (!rt->batch_acc) rt->batch_acc = sn_join_from(rt, rt->batch_rel);
        if (rt->batch_acc) sn_edge(rt, n, rt->batch_acc, 0, 0);
        if ((k + 1) % c->timing_param == 0 && rt->batch_acc) {
            rt->batch_rel = (rt_lazy){0, rt->batch_acc};
            rt->batch_acc = NULL;
            sn_seal(rt, rt->batch_rel.n);
        }
        break;
    case PTO_RT_TIMING_RATE_LIMIT: {
        unsigned __int128 q = (unsigned __int128)k * c->clock_khz;
        n->ready = umax(n->ready, (uint64_t)((q + c->timing_param - 1) / c->timing_param));
        break;
    }
    case PTO_RT_TIMING_INTERLEAVED:
        if (rt->iq_n[t->iq]) sn_edge(rt, rt->iq_n[t->iq], n, 0, 1);
        else n->ready = umax(n->ready, rt->iclock[t->iq]);
        rt->iq_n[t->iq] = n;
        break;
    default:
        break;
    }
    if (top->acc) sn_edge(rt, n, top->acc, 0, 0);
    if (sring_push(&rt->ord, &n)) set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory in the simulation");
    if (c->trace) {
        trace_task(rt, t, st, 0, 0, 0);
        if (rt->ntev && rt->tev[rt->ntev - 1].seq == t->seq) n->tev = rt->ntev - 1;
    }
    sn_release(rt, n, 0); /* the guard */
}

/* Simulate one retired item. Runs in submission order on the retiring thread, so the result
 * depends only on the submitted program and the kernels' reported cycles. v9: the task is
 * placed at once; otherwise it enters the event-driven simulation (sim_enter). */
static void simulate(pto_rt *rt, rt_task *t, int st) {
    const pto_rt_config *c = &rt->cfg;
    rt_sframe *top = &rt->sframes[rt->sdepth];
    if (t->kind == K_BEGIN) {
        if (rt->sdepth < (int)PTO_RT_MAX_SCOPE_DEPTH) {
            rt_sframe *f = &rt->sframes[++rt->sdepth];
            f->kind = t->scope_kind;
            f->base = top->base;
            f->cur_end = top->base.c;
            f->acc = c->v9_compat ? NULL : sn_join_from(rt, top->base);
            f->cp_base = f->cp_cur_end = top->cp_base;
        }
        return;
    }
    if (t->kind == K_NEXT) {
        if (top->acc) { /* base = the end so far: seal it, keep accumulating after it */
            rt_snode *b = top->acc;
            top->base = (rt_lazy){0, b};
            top->acc = sn_join_from(rt, top->base);
            sn_seal(rt, b);
        } else {
            top->base.c = umax(top->base.c, top->cur_end);
        }
        top->cp_base = umax(top->cp_base, top->cp_cur_end);
        return;
    }
    if (t->kind == K_END) {
        if (rt->sdepth > 0) {
            rt_sframe *ch = top;
            rt_sframe *par = &rt->sframes[--rt->sdepth];
            if (ch->acc) {
                if (par->acc) sn_edge(rt, ch->acc, par->acc, 0, 0);
                sn_seal(rt, ch->acc);
            }
            par->cur_end = umax(par->cur_end, umax(ch->cur_end, ch->base.c));
            par->cp_cur_end = umax(par->cp_cur_end, umax(ch->cp_cur_end, ch->cp_base));
            *ch = (rt_sframe){0};
        }
        return;
    }
    uint64_t cyc = (st == ST_DONE || st == ST_FAILED) ? t->cycles : 0;
    uint64_t k = rt->sim_k++;
    uint64_t cp = top->cp_base;
    rt_acc *acc = task_accs(t);
    if (c->v9_compat) {
        uint64_t ready = top->base.c, issue;
        for (uint32_t i = 0; i < t->nacc; i++)
            if (acc[i].mode & PTO_RT_ORDER) {
                ready = umax(ready, acc[i].e->sim_w_end);
                cp = umax(cp, acc[i].e->cp_w_end);
                if (acc[i].mode & PTO_RT_WRITE) {
                    ready = umax(ready, acc[i].e->sim_r_end);
                    cp = umax(cp, acc[i].e->cp_r_end);
                }
            }
        issue = umax(rt->v9_issue, ready);
        if (c->window_size && c->window_mode != PTO_RT_WINDOW_BENCHMARK &&
            rt->v9_hn >= c->window_size)
            issue = umax(issue, v9_heap_pop(rt));
        rt->v9_issue = issue;
        uint32_t lane = v9_pick_lane(rt, t);
        uint64_t start = umax(rt->lane_free[lane], issue), end = start + cyc;
        for (uint32_t i = 0; i < t->nacc; i++)
            if (acc[i].mode & PTO_RT_ORDER)
                sim_access(acc[i].e, acc[i].mode, end, cp + cyc, c->channel_latency);
        if (c->window_size && c->window_mode != PTO_RT_WINDOW_BENCHMARK) v9_heap_push(rt, end);
        rt->lane_free[lane] = end;
        rt->lane_tasks[lane]++;
        rt->lane_busy[lane] += cyc;
        top->cur_end = umax(top->cur_end, end);
        rt->makespan = umax(rt->makespan, end);
        if (c->trace) trace_task(rt, t, st, lane, start, end);
    } else {
        sim_enter(rt, t, st, cyc, k, &cp);
        for (uint32_t i = 0; i < t->nacc; i++)
            cp_access(acc[i].e, acc[i].mode, cp + cyc, c->channel_latency);
    }
    top->cp_cur_end = umax(top->cp_cur_end, cp + cyc);
    rt->critical_path = umax(rt->critical_path, cp + cyc);
    kernel_account(rt, t->kernel_id, cyc);
}

/* Retiring thread, v9: publish the minimum free time over all lanes, no earlier than the
 * issue clock (every later task starts no earlier). Amortised: recomputed after >= nlanes/8
 * tasks. The event-driven simulation publishes its clock instead (sim_run). */
static void update_sim_lb(pto_rt *rt) {
    uint64_t lb = UINT64_MAX;
    for (uint32_t l = 0; l < rt->nlanes; l++) lb = umin(lb, rt->lane_free[l]);
    atomic_store_explicit(&rt->sim_lb, umax(lb, rt->v9_issue), memory_order_release);
    rt->lb_at = rt->sim_k;
}

static void publish_retired(pto_rt *rt, uint64_t nt, uint64_t nb) {
    uint64_t t = atomic_load_explicit(&rt->retired_tasks, memory_order_relaxed) + nt;
    if (rt->cfg.progress) __atomic_store_n(&rt->cfg.progress[1], t, __ATOMIC_RELAXED);
    if (!rt->cfg.window_size) { /* only statistics read it */
        atomic_store_explicit(&rt->retired_tasks, t, memory_order_relaxed);
        return;
    }
    atomic_store(&rt->retired_tasks, t);
    atomic_store(&rt->retired_bytes, atomic_load_explicit(&rt->retired_bytes, memory_order_relaxed) + nb);
}

static void try_retire(pto_rt *rt) {
    for (;;) {
        if (atomic_exchange(&rt->retire_busy, 1)) return;
        rt_task *a = rt->anchor;
        uint64_t nt = 0, nb = 0;
        int progressed = 0;
        rt_freebatch fb;
        memset(&fb, 0, sizeof fb);
        for (;;) {
            rt_task *t = atomic_load_explicit(&a->next_in_order, memory_order_acquire);
            if (!t) break;
            if (!atomic_load_explicit(&t->retire_ok, memory_order_acquire)) {
                /* publish progress, then re-check (pairs with complete()'s check) */
                atomic_store(&rt->retire_next, t->seq);
                if (!atomic_load(&t->retire_ok)) break;
            }
            int st = atomic_load_explicit(&t->state, memory_order_acquire);
            simulate(rt, t, st);
            if (t->kind == K_TASK) { nt++; nb += t->win_bytes; }
            batch_release(rt, &fb, a);
            a = t;
            progressed = 1;
            if (nt >= 64) {
                publish_retired(rt, nt, nb);
                nt = nb = 0;
                batch_flush(rt, &fb);
            }
        }
        rt->anchor = a;
        if (!rt->cfg.v9_compat)
            sim_run(rt, 0);
        else if (rt->reclaim && (rt->sim_k - rt->lb_at) * 8 >= rt->nlanes)
            update_sim_lb(rt);
        atomic_store(&rt->retire_next, a->seq + 1);
        publish_retired(rt, nt, nb);
        batch_flush(rt, &fb);
        atomic_store(&rt->retire_busy, 0);
        if (progressed) wake_orch(rt);
        rt_task *t = atomic_load(&a->next_in_order);
        if (!t || !atomic_load(&t->retire_ok)) return;
    }
}

/* ========================================================================================
 * Execution
 * ====================================================================================== */
static inline int can_run_here(pto_rt *rt, rt_worker *w, rt_task *s) {
    if (s->pool != w->pool || rt->cfg.ready == PTO_RT_READY_PRIORITY) return 0;
    if (rt->cfg.ready == PTO_RT_READY_WORK_STEAL && s->kind == K_TASK &&
        rt->cfg.dispatch != PTO_RT_DISPATCH_WORK_STEAL)
        return ws_target(rt, w, s) == w->id;
    return 1;
}

/* Retirement is batched per worker: a worker that completes the task at the head of the
 * in-order list owes a try_retire, which it pays after RT_RETIRE_BATCH more completions or
 * once it has found no ready task for RT_PATIENCE spins (it never sleeps owing one; the
 * orchestrator pays before it waits or goes back to submitting). Nobody else retires past
 * that head meanwhile, so the debt cannot be lost. */
#define RT_RETIRE_BATCH 32

static void retire_due_now(pto_rt *rt, rt_worker *w) {
    w->retire_due = 0;
    try_retire(rt);
}

/* Publish t's final state, release its successors; returns one successor to run next on
 * this thread (no queue round trip) or NULL. */
static rt_task *complete(pto_rt *rt, rt_worker *w, rt_task *t, int status) {
    uint64_t seq = t->seq;
    if (status != ST_DONE && t->kind == K_TASK) {
        rt_acc *acc = task_accs(t);
        for (uint32_t i = 0; i < t->nacc; i++)
            if (acc[i].mode & PTO_RT_WRITE) atomic_store(&acc[i].e->poisoned, 1);
    }
    atomic_store(&t->state, status);
    rt_edge *e = atomic_exchange(&t->succ, RT_CLOSED);
    rt_task *next = NULL;
    while (e) {
        rt_edge *nx = e->next;
        rt_task *s = e->succ;
        if (status != ST_DONE && e->strong)
            atomic_store_explicit(&s->poisoned, 1, memory_order_relaxed);
        if (atomic_fetch_sub_explicit(&s->pending, 1, memory_order_acq_rel) == 1) {
            if (!next && w && can_run_here(rt, w, s)) next = s;
            else push_task(rt, w, s);
        }
        e = nx;
    }
    /* from here on t belongs to the retiring thread (it may be recycled at once) */
    atomic_store(&t->retire_ok, 1);
    if (w->retire_due) {
        if (++w->retire_due > RT_RETIRE_BATCH) retire_due_now(rt, w);
    } else if (seq == atomic_load(&rt->retire_next)) {
        w->retire_due = 1;
    }
    wake_orch(rt);
    return next;
}

/* Threads that run kernels and the task each is running, for the fatal-signal report. A
 * fixed table rather than thread-local storage: every generated module links its own copy
 * of the runtime, and TLS of a dlopen'd module is either allocated lazily (not safe to touch
 * in a signal handler) or taken from the static TLS surplus (exhausted by many modules). */
#define RT_MAX_RUNNING 4096
static rt_running rt_running_tab[RT_MAX_RUNNING];

/* A slot for the calling thread, or NULL when all are taken (its crashes go unreported). */
static rt_running *running_claim(void) {
    uintptr_t self = (uintptr_t)pthread_self();
    for (size_t i = 0; i < RT_MAX_RUNNING; i++) {
        uintptr_t z = 0;
        if (!atomic_load_explicit(&rt_running_tab[i].thread, memory_order_relaxed) &&
            atomic_compare_exchange_strong(&rt_running_tab[i].thread, &z, self))
            return &rt_running_tab[i];
    }
    return NULL;
}

static void running_release(rt_running *r) {
    if (!r) return;
    atomic_store(&r->task, NULL);
    atomic_store(&r->thread, 0);
}

static inline void running_set(rt_worker *w, const rt_task *t) {
    if (w->run) atomic_store_explicit(&w->run->task, t, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
}

static rt_task *execute(pto_rt *rt, rt_worker *w, rt_task *t) {
    int status;
    int poisoned = atomic_load_explicit(&t->poisoned, memory_order_relaxed);
    if (t->kind != K_TASK) {
        status = poisoned ? ST_CANCELLED : ST_DONE;
    } else if (poisoned || atomic_load_explicit(&rt->aborting, memory_order_relaxed)) {
        status = ST_CANCELLED;
        w->cancelled++;
    } else if (rt->cfg.window_mode == PTO_RT_WINDOW_BENCHMARK) {
        status = ST_DONE;
        t->worker = (int32_t)w->id;
    } else {
        uint64_t cyc = 0;
        int wall = (rt->cfg.trace & PTO_RT_TRACE_WALL) != 0;
        if (wall) t->wall_begin = now_ns() - rt->t0_ns;
        running_set(w, t);
        int rc = t->fn ? t->fn(task_args(t), &cyc) : 0;
        running_set(w, NULL);
        if (wall) t->wall_end = now_ns() - rt->t0_ns;
        t->cycles = cyc;
        t->rc = rc;
        t->worker = (int32_t)w->id;
        w->executed++;
        status = ST_DONE;
        if (rc) {
            status = ST_FAILED;
            w->failed++;
            set_error(rt, PTO_RT_EKERNEL, t, rc, "kernel '%s' (id %u) of task %lld failed with %d%s%s",
                      t->name ? t->name : "?", t->kernel_id, (long long)t->task_index, rc,
                      tl_kernel_why ? ": " : "", tl_kernel_why ? tl_kernel_why : "");
        }
        free(tl_kernel_why);
        tl_kernel_why = NULL;
    }
    return complete(rt, w, t, status);
}

static _Thread_local int32_t tl_worker = -1;

int32_t pto_rt_self_worker(void) { return tl_worker; }

/* Hand a task that is ready at submission to its pool. When pool 0's ring is full and
 * execution has started, the orchestrator (worker 0 of pool 0) runs the ring's oldest task
 * itself: the workers are behind, and helping beats queueing behind a lock. */
static void orch_push(pto_rt *rt, rt_task *t) {
    rt_pool *p = &rt->pools[t->pool];
    rt_worker *w = &rt->workers[0];
    if (!p->ring) { push_task(rt, w, t); return; }
    while (!ring_push(rt, p, t->pool, t)) {
        rt_task *h = t->pool == 0 && atomic_load_explicit(&rt->started, memory_order_relaxed)
                         ? ring_pop(p, 1) : NULL;
        if (!h) { push_task(rt, w, t); return; }
        int32_t saved = tl_worker;
        tl_worker = 0; /* pto_rt_self_worker() inside the kernel */
        rt_task *next = execute(rt, w, h);
        tl_worker = saved;
        if (next) push_task(rt, w, next);
        if (w->retire_due) retire_due_now(rt, w); /* never hold retirement while submitting */
    }
    if (rt->ring_fence) atomic_thread_fence(memory_order_seq_cst);
    else atomic_signal_fence(memory_order_seq_cst);
    wake_one(rt, p);
}

/* ========================================================================================
 * Fatal signals inside kernels: say which task crashed, then chain (see pto_rt.h)
 * ====================================================================================== */
static const int rt_fatal_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define RT_NFATAL (sizeof rt_fatal_sigs / sizeof rt_fatal_sigs[0])
static struct sigaction rt_prev_action[RT_NFATAL];
static pthread_once_t rt_signals_once = PTHREAD_ONCE_INIT;
#define RT_ALTSTACK_BYTES ((size_t)64 << 10)

/* async-signal-safe output: the report is assembled in a buffer on the (alternate) signal
 * stack and written with one write(2), so reports of threads crashing at once never interleave */
typedef struct { char b[512]; size_t n; } rt_sigbuf;

static void sig_puts(rt_sigbuf *o, const char *s) {
    while (*s && o->n < sizeof o->b - 1) o->b[o->n++] = *s++;
}

static void sig_putnum(rt_sigbuf *o, uint64_t v, int neg, unsigned base) {
    char buf[24], *p = buf + sizeof buf;
    *--p = 0;
    do { *--p = "0123456789abcdef"[v % base]; v /= base; } while (v);
    if (base == 16) { *--p = 'x'; *--p = '0'; }
    if (neg) *--p = '-';
    sig_puts(o, p);
}

static void sig_puti(rt_sigbuf *o, int64_t v) {
    sig_putnum(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10);
}

static void sig_flush(rt_sigbuf *o) {
    if (o->n == sizeof o->b - 1) o->b[o->n - 1] = '\n'; /* cut: still one whole line */
    const char *s = o->b;
    size_t n = o->n;
    while (n) {
        ssize_t k = write(2, s, n);
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

static const char *sig_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGFPE: return "SIGFPE (arithmetic error)";
    case SIGILL: return "SIGILL (illegal instruction)";
    default: return "SIGABRT (abort)";
    }
}

static void on_fatal_signal(int sig, siginfo_t *si, void *uctx) {
    int saved_errno = errno;
    const rt_task *t = NULL;
    uintptr_t self = (uintptr_t)pthread_self();
    for (size_t i = 0; i < RT_MAX_RUNNING && !t; i++)
        if (atomic_load_explicit(&rt_running_tab[i].thread, memory_order_relaxed) == self)
            t = atomic_load_explicit(&rt_running_tab[i].task, memory_order_relaxed);
    if (t) {
        rt_sigbuf o;
        o.n = 0;
        sig_puts(&o, "pto-wsp: fatal signal ");
        sig_puts(&o, sig_name(sig));
        sig_puts(&o, " in kernel '");
        sig_puts(&o, t->name ? t->name : "?");
        sig_puts(&o, "' (id ");
        sig_puti(&o, t->kernel_id);
        sig_puts(&o, "), task ");
        sig_puti(&o, t->task_index);
        sig_puts(&o, ", indices [");
        const int64_t *ix = task_indices(t);
        for (uint32_t i = 0; i < t->nidx; i++) {
            if (i) sig_puts(&o, ", ");
            sig_puti(&o, ix[i]);
        }
        sig_puts(&o, "]");
        if ((sig == SIGSEGV || sig == SIGBUS) && si) {
            sig_puts(&o, ", address ");
            sig_putnum(&o, (uint64_t)(uintptr_t)si->si_addr, 0, 16);
        }
        sig_puts(&o, "\n");
        sig_flush(&o);
    }
    size_t k = 0;
    while (k < RT_NFATAL && rt_fatal_sigs[k] != sig) k++;
    const struct sigaction *prev = &rt_prev_action[k < RT_NFATAL ? k : 0];
    errno = saved_errno;
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction) prev->sa_sigaction(sig, si, uctx);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* default action (an ignored fault would only repeat): ends the process once the
         * handler returns and the signal is unblocked */
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static void install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < RT_NFATAL; i++) sigaction(rt_fatal_sigs[i], &sa, &rt_prev_action[i]);
}

/* Give this thread an alternate signal stack unless it has one; returns it (to free with
 * altstack_off) or NULL. */
static void *altstack_on(void) {
    stack_t old;
    if (sigaltstack(NULL, &old) || !(old.ss_flags & SS_DISABLE)) return NULL;
    stack_t ss = {.ss_sp = malloc(RT_ALTSTACK_BYTES), .ss_flags = 0, .ss_size = RT_ALTSTACK_BYTES};
    if (!ss.ss_sp) return NULL;
    if (sigaltstack(&ss, NULL)) { free(ss.ss_sp); return NULL; }
    return ss.ss_sp;
}

static void altstack_off(void *sp) {
    if (!sp) return;
    stack_t ss = {.ss_sp = NULL, .ss_flags = SS_DISABLE, .ss_size = 0};
    sigaltstack(&ss, NULL);
    free(sp);
}

#define RT_SPIN 4000

static void *worker_main(void *arg) {
    rt_worker *w = arg;
    pto_rt *rt = w->rt;
    rt_pool *p = &rt->pools[w->pool];
    tl_worker = (int32_t)w->id;
    void *altstack = altstack_on();
    w->run = running_claim();
    for (;;) {
        if (atomic_load_explicit(&rt->stop, memory_order_relaxed)) break;
        if (atomic_load_explicit(&rt->started, memory_order_acquire)) {
            rt_task *t = pop_task(rt, w, 0);
            if (t) {
                while (t) t = execute(rt, w, t);
                continue;
            }
            int k;
            for (k = 0; k < RT_SPIN; k++) {
                if (atomic_load_explicit(&rt->stop, memory_order_relaxed)) break;
                if (pool_has_work(p) && (t = pop_task(rt, w, k >= RT_PATIENCE))) break;
                if (k == RT_PATIENCE && w->retire_due) retire_due_now(rt, w);
                /* yield now and then: on an oversubscribed host the producer may share
                 * this core, and pure spinning would starve it */
                if ((k & 127) == 127) sched_yield();
                else cpu_relax();
            }
            while (t) t = execute(rt, w, t);
            if (k < RT_SPIN) continue;
        }
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);
        sleeper_barrier(rt);
        while (!atomic_load(&rt->stop) && !(atomic_load(&rt->started) && pool_has_work(p)))
            pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
    }
    running_release(w->run);
    altstack_off(altstack);
    return NULL;
}

typedef int (*rt_cond_fn)(pto_rt *rt, void *arg);

/* The orchestrating thread waits for cond, executing pool-0 tasks meanwhile. */
static void orch_wait(pto_rt *rt, rt_cond_fn cond, void *arg) {
    start_now(rt);
    rt_worker *w = &rt->workers[0];
    rt_pool *p = &rt->pools[0];
    int32_t saved = tl_worker;
    tl_worker = 0;
    for (;;) {
        if (cond(rt, arg)) { tl_worker = saved; return; }
        rt_task *t = pop_task(rt, w, 1);
        if (t) {
            while (t) t = execute(rt, w, t);
            continue;
        }
        if (w->retire_due) { retire_due_now(rt, w); continue; }
        int k;
        for (k = 0; k < RT_SPIN; k++) {
            if (pool_has_work(p) || cond(rt, arg)) break;
            if ((k & 127) == 127) sched_yield();
            else cpu_relax();
        }
        if (k < RT_SPIN) continue;
        pthread_mutex_lock(&p->mu);
        atomic_store(&rt->orch_sleeping, 1);
        atomic_fetch_add(&p->sleepers, 1);
        while (!cond(rt, arg) && !pool_has_work(p)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
        atomic_fetch_sub(&p->sleepers, 1);
        atomic_store(&rt->orch_sleeping, 0);
        pthread_mutex_unlock(&p->mu);
    }
}

static int cond_all_retired(pto_rt *rt, void *arg) {
    (void)arg;
    return atomic_load(&rt->retire_next) == rt->next_seq;
}

typedef struct { uint64_t bytes; } rt_win_arg;

static int window_full(pto_rt *rt, uint64_t bytes) {
    const pto_rt_config *c = &rt->cfg;
    if (c->window_unit == PTO_RT_WINDOW_TASKS)
        return rt->submitted_tasks - atomic_load(&rt->retired_tasks) >= c->window_size;
    return rt->submitted_bytes - atomic_load(&rt->retired_bytes) + bytes > c->window_size;
}

/* A stalled submitter resumes at a low-water mark (1/8 of the window below full, at most 64
 * tasks) so that it does not bounce between submitting and helping for every task. */
static int cond_window_room(pto_rt *rt, void *arg) {
    const pto_rt_config *c = &rt->cfg;
    uint64_t slack = c->window_size / 8;
    if (c->window_unit == PTO_RT_WINDOW_TASKS && slack > 64) slack = 64;
    if (c->window_unit == PTO_RT_WINDOW_BYTES && slack > 64 * sizeof(rt_task)) slack = 64 * sizeof(rt_task);
    uint64_t need = ((rt_win_arg *)arg)->bytes;
    int room;
    if (c->window_unit == PTO_RT_WINDOW_TASKS)
        room = rt->submitted_tasks - atomic_load(&rt->retired_tasks) + slack < c->window_size;
    else {
        uint64_t inflight = rt->submitted_bytes - atomic_load(&rt->retired_bytes);
        room = inflight == 0 || inflight + need + slack <= c->window_size;
    }
    return room || atomic_load(&rt->aborting);
}

typedef struct { rt_tref *v; size_t n; } rt_wait_set;

static int cond_refs_done(pto_rt *rt, void *arg) {
    rt_wait_set *s = arg;
    while (s->n) { /* seq >= retire_next: not recycled, so its state is its own */
        rt_tref r = s->v[s->n - 1];
        if (r.seq >= atomic_load(&rt->retire_next) && atomic_load(&r.t->state) == ST_PENDING) return 0;
        s->n--;
    }
    return 1;
}

/* ========================================================================================
 * Public API
 * ====================================================================================== */
void pto_rt_config_default(pto_rt_config *c) {
    memset(c, 0, sizeof *c);
    c->num_threads = 0;
    c->deps = PTO_RT_DEPS_BYTES_OVERLAP;
    c->ready = PTO_RT_READY_FIFO;
    c->pools = PTO_RT_POOLS_SINGLE;
    c->dispatch = PTO_RT_DISPATCH_ROUND_ROBIN;
    c->num_aicpus = 1;
    c->vector_lanes = 1;
    c->cube_lanes = 1;
    c->timing = PTO_RT_TIMING_IMMEDIATE;
    c->clock_khz = 1000000;
    c->window_size = 8192;
    c->window_unit = PTO_RT_WINDOW_TASKS;
    c->window_mode = PTO_RT_WINDOW_STALL;
    c->start = PTO_RT_START_AFTER_ORCHESTRATION;
}

static int validate(const pto_rt_config *c, pto_rt_error *err) {
#define BAD(...) do { err_out(err, PTO_RT_EINVAL, __VA_ARGS__); return -1; } while (0)
    if (c->deps > PTO_RT_DEPS_HYBRID) BAD("deps mode %u is not one of TENSOR_MAP_EXACT/BYTES_OVERLAP/EXPLICIT/HYBRID", c->deps);
    if (c->ready > PTO_RT_READY_PRIORITY) BAD("ready policy %u is not one of FIFO/WORK_STEAL/PRIORITY", c->ready);
    if (c->pools > PTO_RT_POOLS_CUSTOM) BAD("pools kind %u is not one of SINGLE/BY_EXEC_UNIT/CUSTOM", c->pools);
    if (c->dispatch > PTO_RT_DISPATCH_WORK_STEAL) BAD("dispatch policy %u is unknown", c->dispatch);
    if (c->num_aicpus < 1 || c->num_aicpus > 65536) BAD("num_aicpus must be in 1..65536 (got %u)", c->num_aicpus);
    if (c->vector_lanes < 1 || c->cube_lanes < 1 || c->vector_lanes > 1024 || c->cube_lanes > 1024)
        BAD("vector_lanes and cube_lanes must be in 1..1024 (got %u, %u)", c->vector_lanes, c->cube_lanes);
    if (c->num_streams > 65536) BAD("num_streams must be <= 65536 (got %u)", c->num_streams);
    if (c->timing > PTO_RT_TIMING_RATE_LIMIT) BAD("timing policy %u is unknown", c->timing);
    if (c->timing != PTO_RT_TIMING_IMMEDIATE && c->timing_param < 1)
        BAD("timing policy %u needs timing_param >= 1", c->timing);
    if (c->timing == PTO_RT_TIMING_INTERLEAVED && c->timing_param > 65536)
        BAD("TIMING_INTERLEAVED supports at most 65536 queues (got %llu)", (unsigned long long)c->timing_param);
    if (c->clock_khz < 1) BAD("clock_khz must be >= 1");
    if (c->window_unit > PTO_RT_WINDOW_BYTES) BAD("window unit %u is not TASKS or BYTES", c->window_unit);
    if (c->window_mode > PTO_RT_WINDOW_BENCHMARK) BAD("window mode %u is not STALL/ABORT/BENCHMARK", c->window_mode);
    if (c->start > PTO_RT_START_THRESHOLD) BAD("start policy %u is unknown", c->start);
    if (c->start == PTO_RT_START_THRESHOLD && c->start_threshold < 1) BAD("START_THRESHOLD needs start_threshold >= 1");
    if (c->trace & ~3u) BAD("trace flags 0x%x: only PTO_RT_TRACE_CYCLES|PTO_RT_TRACE_WALL exist", c->trace);
    if (c->v9_compat && c->window_size && c->window_unit != PTO_RT_WINDOW_TASKS)
        BAD("v9 compatibility timing supports TASKS windows only");
    if (c->pools == PTO_RT_POOLS_CUSTOM && (c->num_pools < 1 || c->num_pools > PTO_RT_MAX_POOLS))
        BAD("POOLS_CUSTOM needs num_pools in 1..%u (got %u)", PTO_RT_MAX_POOLS, c->num_pools);
    if (c->pools == PTO_RT_POOLS_CUSTOM)
        for (uint32_t i = 0; i < c->num_pools; i++)
            if (c->pool_workers[i] < 1 || c->pool_workers[i] > 1024)
                BAD("pool %u needs 1..1024 workers (got %u): a pool without workers would deadlock", i, c->pool_workers[i]);
    if (c->pools == PTO_RT_POOLS_BY_EXEC_UNIT && (c->pool_workers[0] || c->pool_workers[1]) &&
        (c->pool_workers[0] < 1 || c->pool_workers[1] < 1 || c->pool_workers[0] > 1024 || c->pool_workers[1] > 1024))
        BAD("POOLS_BY_EXEC_UNIT needs 1..1024 vector and cube workers (got %u, %u)", c->pool_workers[0], c->pool_workers[1]);
    if (c->exec_units & ~3u) BAD("exec_units 0x%x: only bits 1<<VECTOR and 1<<CUBE exist", c->exec_units);
    if (c->num_threads > 1024) BAD("num_threads must be <= 1024 (got %u)", c->num_threads);
#undef BAD
    return 0;
}

pto_rt *pto_rt_create(const pto_rt_config *cfg_in, pto_rt_error *err) {
    pto_rt_config cfg;
    if (cfg_in) cfg = *cfg_in;
    else pto_rt_config_default(&cfg);
    if (validate(&cfg, err)) return NULL;
    pto_rt *rt = aligned_alloc(64, (sizeof(pto_rt) + 63) & ~(size_t)63);
    if (!rt) { err_out(err, PTO_RT_ENOMEM, "out of memory"); return NULL; }
    memset(rt, 0, sizeof *rt);
    rt->cfg = cfg;
    uint32_t nthreads = cfg.num_threads;
    if (!nthreads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (uint32_t)n : 1;
    }
    uint32_t counts[PTO_RT_MAX_POOLS] = {0};
    if (cfg.pools == PTO_RT_POOLS_SINGLE) {
        rt->npools = 1;
        counts[0] = nthreads;
    } else if (cfg.pools == PTO_RT_POOLS_BY_EXEC_UNIT) {
        rt->npools = 2;
        if (cfg.pool_workers[0]) { counts[0] = cfg.pool_workers[0]; counts[1] = cfg.pool_workers[1]; }
        else {
            uint32_t n = nthreads < 2 ? 2 : nthreads;
            counts[1] = n / 2;
            counts[0] = n - n / 2;
        }
    } else {
        rt->npools = cfg.num_pools;
        for (uint32_t i = 0; i < cfg.num_pools; i++) counts[i] = cfg.pool_workers[i];
    }
    rt->nworkers = 0;
    for (uint32_t i = 0; i < rt->npools; i++) rt->nworkers += counts[i];
    rt->use_data = cfg.deps != PTO_RT_DEPS_EXPLICIT;
    rt->use_overlap = cfg.deps == PTO_RT_DEPS_BYTES_OVERLAP || cfg.deps == PTO_RT_DEPS_HYBRID;
    rt->ring_fence = !membarrier_ok();
    rt->unit_mask = cfg.exec_units ? cfg.exec_units : 3u;
    rt->reclaim = rt->use_data && !cfg.trace;
    atomic_store(&rt->sim_lb, 0); /* (v9 timing keeps sim times of ORDER accesses only) */
    /* an exact-tracked entry never touches the overlap tail */
    rt->entry_size[0] = (offsetof(rt_entry, lo) + 63) & ~(size_t)63;
    rt->entry_size[1] = sizeof(rt_entry);
    rt->nlanes = cfg.v9_compat ? cfg.num_aicpus : cfg.num_aicpus * (cfg.vector_lanes + cfg.cube_lanes);
    rt->workers = aligned_alloc(64, ((rt->nworkers * sizeof(rt_worker)) + 63) & ~(size_t)63);
    rt->lane_free = calloc(rt->nlanes, sizeof(uint64_t));
    rt->lane_tasks = calloc(rt->nlanes, sizeof(uint64_t));
    rt->lane_busy = calloc(rt->nlanes, sizeof(uint64_t));
    if (!cfg.v9_compat) rt->elig = calloc((cfg.num_aicpus + 1) * 2, sizeof(rt_squeue));
    for (uint32_t i = 0; rt->elig && i < (cfg.num_aicpus + 1) * 2; i++) rt->elig[i].f.sz = sizeof(rt_snode *);
    if (cfg.num_streams) {
        rt->stream_end = calloc(cfg.num_streams, sizeof(uint64_t));
        rt->stream_last = calloc(cfg.num_streams, sizeof(rt_tref));
        rt->stream_cp = calloc(cfg.num_streams, sizeof(uint64_t));
        rt->stream_n = calloc(cfg.num_streams, sizeof(rt_snode *));
    }
    if (cfg.timing == PTO_RT_TIMING_INTERLEAVED) {
        rt->iclock = calloc(cfg.timing_param, sizeof(uint64_t));
        rt->iq_n = calloc(cfg.timing_param, sizeof(rt_snode *));
    }
    if (cfg.v9_compat && cfg.window_size) rt->v9_heap = malloc((cfg.window_size + 1) * sizeof(uint64_t));
    rt->ord.sz = sizeof(rt_snode *);
    rt->ph.sz = sizeof(uint64_t);
    rt->gates.sz = rt->wq.sz = 16;
    rt->j_last = -1;
    if (!rt->workers || !rt->lane_free || !rt->lane_tasks || !rt->lane_busy ||
        (!cfg.v9_compat && !rt->elig) ||
        (cfg.num_streams && (!rt->stream_end || !rt->stream_last || !rt->stream_cp || !rt->stream_n)) ||
        (cfg.timing == PTO_RT_TIMING_INTERLEAVED && (!rt->iclock || !rt->iq_n)) ||
        (cfg.v9_compat && cfg.window_size && !rt->v9_heap)) {
        err_out(err, PTO_RT_ENOMEM, "out of memory creating the runtime");
        free(rt->workers);
        sim_free(rt);
        free(rt);
        return NULL;
    }
    memset(rt->workers, 0, rt->nworkers * sizeof(rt_worker));
    if (cfg.record_path && !(rt->record = fopen(cfg.record_path, "wb"))) {
        err_out(err, PTO_RT_EIO, "cannot open the stream record file %s", cfg.record_path);
        free(rt->workers);
        sim_free(rt);
        free(rt);
        return NULL;
    }
    init_task(&rt->dummy, K_BEGIN);
    atomic_store(&rt->dummy.state, ST_DONE);
    atomic_store(&rt->dummy.retire_ok, 1);
    rt->tail = rt->anchor = &rt->dummy;
    rt->next_seq = 1;
    atomic_store(&rt->retire_next, 1);
    rt->t0_ns = now_ns();
    uint32_t wid = 0;
    for (uint32_t p = 0; p < rt->npools; p++) {
        rt_pool *pl = &rt->pools[p];
        pl->first = wid;
        pl->n = counts[p];
        atomic_flag_clear(&pl->qlock);
        atomic_store(&pl->qseq, UINT64_MAX);
        if (cfg.ready == PTO_RT_READY_FIFO) {
            pl->ring = aligned_alloc(64, RT_RING * sizeof(rt_rslot));
            if (!pl->ring) {
                err_out(err, PTO_RT_ENOMEM, "out of memory creating the runtime");
                rt->npools = p; /* pools [0, p) are initialised */
                pto_rt_destroy(rt);
                return NULL;
            }
            for (uint32_t i = 0; i < RT_RING; i++) atomic_init(&pl->ring[i].seq, i);
        }
        pthread_mutex_init(&pl->mu, NULL);
        pthread_cond_init(&pl->cv, NULL);
        for (uint32_t i = 0; i < counts[p]; i++, wid++) {
            rt_worker *w = &rt->workers[wid];
            w->rt = rt;
            w->id = wid;
            w->pool = p;
            w->idx = i;
            w->rng = splitmix64(wid + 1);
            atomic_flag_clear(&w->dq.lock);
        }
    }
    atomic_store(&rt->started, cfg.start == PTO_RT_START_IMMEDIATE);
    pthread_once(&rt_signals_once, install_signal_handlers);
    rt->altstack = altstack_on();
    rt->workers[0].run = running_claim(); /* the orchestrating thread */
    for (uint32_t i = 1; i < rt->nworkers; i++) {
        rt_worker *w = &rt->workers[i];
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            err_out(err, PTO_RT_ENOMEM, "could not start worker thread %u", i);
            pto_rt_destroy(rt);
            return NULL;
        }
        w->has_thread = 1;
    }
    return rt;
}

static int64_t fail_submit(pto_rt *rt, int code, const char *fmt, const char *name, unsigned a,
                           unsigned b) {
    set_error(rt, code, NULL, 0, fmt, name ? name : "?", a, b);
    return -(int64_t)code;
}

/* A box is tracked one way: an exact entry is invisible to overlap queries, so one box
 * submitted both exact- and overlap-tracked could miss dependencies (EINVAL). */
static int tracking_conflict(pto_rt *rt, const rt_entry *e, const pto_rt_region *r,
                             const rt_task *t) {
    if (e->ovl == (rt->use_overlap || r->overlap)) return 0;
    set_error(rt, PTO_RT_EINVAL, t, 0,
              "region at %#llx (%lldx%lld, buffer %u) is submitted both exact-tracked and "
              "overlap-tracked: every access to a box must use the same `overlap` flag",
              (unsigned long long)r->addr, (long long)r->rows, (long long)r->cols, r->buf_id);
    return 1;
}

static int struct_edges(pto_rt *rt, rt_task *t) {
    rt_frame *f = &rt->frames[rt->depth];
    if (rt->cfg.trace) {
        if (f->gate) trace_edge(rt, f->gate->task_index, t->task_index, RT_DEP_STRUCT);
        if (f->join) trace_edge(rt, t->task_index, f->join->task_index, RT_DEP_STRUCT);
    }
    if (f->gate && add_edge(rt, f->gate, t, 1)) return -1;
    if (f->join && add_edge(rt, t, f->join, 1)) return -1;
    return 0;
}

int64_t pto_rt_submit(pto_rt *rt, const pto_rt_task *d) {
    const pto_rt_config *c = &rt->cfg;
    if (atomic_load_explicit(&rt->aborting, memory_order_relaxed)) {
        int code = err_code(rt);
        return -(int64_t)(code ? code : PTO_RT_ESTATE);
    }
    if (!rt->submitted_any) { rt->submitted_any = 1; rt->first_submit_ns = now_ns(); }
    if (d->args_size > PTO_RT_MAX_ARGS_BYTES)
        return fail_submit(rt, PTO_RT_ETOOBIG, "task '%s': argument block of %u bytes exceeds the %u-byte limit",
                           d->name, d->args_size, PTO_RT_MAX_ARGS_BYTES);
    if (d->num_regions > PTO_RT_MAX_REGIONS)
        return fail_submit(rt, PTO_RT_ETOOBIG, "task '%s': %u region accesses exceed the limit of %u",
                           d->name, d->num_regions, PTO_RT_MAX_REGIONS);
    if (d->num_indices > PTO_RT_MAX_INDICES)
        return fail_submit(rt, PTO_RT_ETOOBIG, "task '%s': %u loop indices exceed the limit of %u",
                           d->name, d->num_indices, PTO_RT_MAX_INDICES);
    if (d->exec_unit > PTO_RT_UNIT_CUBE)
        return fail_submit(rt, PTO_RT_EINVAL, "task '%s': exec_unit %u is not VECTOR(0) or CUBE(1) (%u)", d->name, d->exec_unit, d->exec_unit);
    if (!(rt->unit_mask >> d->exec_unit & 1))
        return fail_submit(rt, PTO_RT_EINVAL, "task '%s': exec unit %u is not among the configured exec_units (mask 0x%x)",
                           d->name, d->exec_unit, rt->unit_mask);
    uint32_t pool = 0;
    if (c->pools == PTO_RT_POOLS_BY_EXEC_UNIT) pool = d->exec_unit;
    else if (c->pools == PTO_RT_POOLS_CUSTOM) {
        if (d->pool >= rt->npools)
            return fail_submit(rt, PTO_RT_EINVAL, "task '%s': pool %u does not exist (%u pools)", d->name, d->pool, rt->npools);
        pool = d->pool;
    }
    if (c->dispatch == PTO_RT_DISPATCH_BY && d->dispatch_key >= c->num_aicpus)
        return fail_submit(rt, PTO_RT_EINVAL, "task '%s': dispatch_by chose AICPU %u but only %u exist",
                           d->name, (unsigned)d->dispatch_key, c->num_aicpus);
    for (uint32_t i = 0; i < d->num_regions; i++) {
        const pto_rt_region *r = &d->regions[i];
        if (r->rows < 0 || r->cols < 0 || r->elem_size < 1 || !(r->mode & PTO_RT_READWRITE) ||
            r->mode > (PTO_RT_READWRITE | PTO_RT_ORDER | PTO_RT_LATENCY) || r->overlap > 1)
            return fail_submit(rt, PTO_RT_EINVAL, "task '%s': region %u is malformed (negative extent, zero element size, bad mode %u or overlap flag)",
                               d->name, i, r->mode);
    }
    uint64_t bytes = pto_rt_task_bytes(d->args_size, d->num_regions);
    /* ---- task window ---- */
    if (c->window_size) {
        if (c->window_unit == PTO_RT_WINDOW_BYTES && bytes > c->window_size)
            return fail_submit(rt, PTO_RT_EDEADLOCK, "task '%s' needs %u bytes of metadata but the task window holds only %u bytes",
                               d->name, (unsigned)bytes, (unsigned)c->window_size);
        if (window_full(rt, bytes)) {
            rt->overflows++;
            if (c->window_mode == PTO_RT_WINDOW_ABORT) {
                set_error(rt, PTO_RT_EWINDOW, NULL, 0,
                          "task window of %llu %s overflowed at task %llu ('%s') in ABORT mode",
                          (unsigned long long)c->window_size,
                          c->window_unit == PTO_RT_WINDOW_TASKS ? "tasks" : "bytes",
                          (unsigned long long)rt->submitted_tasks, d->name ? d->name : "?");
                return -(int64_t)PTO_RT_EWINDOW;
            }
            if (c->window_mode == PTO_RT_WINDOW_STALL) {
                rt->stalls++;
                if (!atomic_load(&rt->started) && c->start == PTO_RT_START_THRESHOLD) {
                    set_error(rt, PTO_RT_EDEADLOCK, NULL, 0,
                              "deadlock: the task window of %llu %s is full after %llu tasks but StartPolicy.threshold(%llu) "
                              "keeps execution from starting",
                              (unsigned long long)c->window_size,
                              c->window_unit == PTO_RT_WINDOW_TASKS ? "tasks" : "bytes",
                              (unsigned long long)rt->submitted_tasks, (unsigned long long)c->start_threshold);
                    return -(int64_t)PTO_RT_EDEADLOCK;
                }
                rt_win_arg wa = {bytes};
                orch_wait(rt, cond_window_room, &wa);
                if (atomic_load(&rt->aborting)) return -(int64_t)err_code(rt);
            }
        }
    }
    /* ---- descriptor ---- */
    size_t payload = round16(d->args_size) + d->num_indices * sizeof(int64_t) +
                     (size_t)(rt->use_data ? d->num_regions : 0) * sizeof(rt_acc);
    rt_task *t = alloc_task(rt, payload <= RT_PAYLOAD_SMALL ? 0 : payload <= RT_PAYLOAD_LARGE ? 1 : 2);
    if (!t) return fail_submit(rt, PTO_RT_ENOMEM, "task '%s': out of memory for a descriptor (%u args bytes, %u regions)", d->name, d->args_size, d->num_regions);
    init_task(t, K_TASK);
    /* Incoming edges are counted in rt->nbuilt while pending holds a bias that no pred can
     * exhaust; at the end the bias minus the edges is taken off once (no atomic per edge,
     * and none at all when every pred has already finished). */
    atomic_store_explicit(&t->pending, RT_BIAS, memory_order_relaxed);
    rt->building = t;
    rt->nbuilt = 0;
    t->fn = d->fn;
    t->name = d->name;
    t->kernel_id = d->kernel_id;
    t->unit = (uint8_t)d->exec_unit;
    t->pool = (uint16_t)pool;
    t->priority = d->priority;
    t->args_size = (uint16_t)d->args_size;
    t->win_bytes = (uint32_t)bytes;
    if (d->args_size) memcpy(task_args(t), d->args, d->args_size);
    t->nidx = (uint8_t)d->num_indices;
    if (d->num_indices) memcpy(task_indices(t), d->indices, d->num_indices * sizeof(int64_t));
    int64_t index = (int64_t)rt->submitted_tasks;
    t->task_index = index;
    switch (c->dispatch) {
    case PTO_RT_DISPATCH_ROUND_ROBIN: t->aicpu = (uint32_t)(rt->rr_counter++ % c->num_aicpus); break;
    case PTO_RT_DISPATCH_AFFINITY: t->aicpu = (uint32_t)(d->dispatch_key % c->num_aicpus); break;
    case PTO_RT_DISPATCH_HASH: t->aicpu = (uint32_t)(splitmix64(d->dispatch_key) % c->num_aicpus); break;
    case PTO_RT_DISPATCH_BY: t->aicpu = (uint32_t)d->dispatch_key; break;
    default: t->aicpu = UINT32_MAX; break;
    }
    if (rt->record) pto_record_task(rt->record, d, t->aicpu);
    if (c->num_streams)
        t->stream = (uint32_t)((c->stream_round_robin ? (uint64_t)index : d->stream_key) % c->num_streams);
    if (c->timing == PTO_RT_TIMING_INTERLEAVED) t->iq = (uint32_t)(d->stream_key % c->timing_param);
    link_task(rt, t);
    /* Tasks with seq >= done have not retired, so their descriptors are not recycled (only
     * this thread reallocates, and t was allocated before this load): edges to older tasks
     * are never needed, and their descriptors are never touched. */
    uint64_t done = atomic_load_explicit(&rt->retire_next, memory_order_acquire);
    /* ---- dependencies ---- */
    if (rt->use_data) {
        rt_acc *acc = task_accs(t);
        uint32_t n = 0;
        for (uint32_t i = 0; i < d->num_regions; i++) {
            const pto_rt_region *r = &d->regions[i];
            if (!r->rows || !r->cols) continue; /* empty box: touches nothing */
            rt_entry *e = entry_get(rt, r);
            if (!e) { set_error(rt, PTO_RT_ENOMEM, t, 0, "out of memory in the region table"); break; }
            if (tracking_conflict(rt, e, r, t)) break;
            uint32_t m = r->mode;
            e->last_seq = t->seq;
            acc[n].e = e;
            acc[n].mode = m;
            acc[n].ovl = e->ovl;
            n++;
            int bad = 0;
            FOR_ENTRY_AND_NBRS(e->ovl, e, X, {
                if (atomic_load_explicit(&X->poisoned, memory_order_acquire))
                    atomic_store_explicit(&t->poisoned, 1, memory_order_relaxed);
                if (X->w && X->w_seq >= done) bad |= add_edge(rt, X->w, t, 1);
                if (c->trace && X->w_index >= 0)
                    trace_edge(rt, X->w_index, index, (m & PTO_RT_READ ? RT_DEP_RAW : 0) |
                                                          (m & PTO_RT_WRITE ? RT_DEP_WAW : 0));
                if (m & PTO_RT_WRITE)
                    for (uint32_t q = 0; q < X->nrd; q++)
                        if (X->rd[q].seq >= done) {
                            if (c->trace) trace_edge(rt, X->rd[q].t->task_index, index, RT_DEP_WAR);
                            bad |= add_edge(rt, X->rd[q].t, t, 0);
                        }
            });
            if (m & PTO_RT_WRITE) {
                e->w = t;
                e->w_seq = t->seq;
                e->w_index = index;
                e->nrd = 0;
            } else {
                bad |= add_reader(e, t, done);
            }
            if (bad) { set_error(rt, PTO_RT_ENOMEM, t, 0, "out of memory adding dependency edges"); break; }
        }
        t->nacc = (uint8_t)n;
        if (rt->reclaim && rt->ecount > RT_RECLAIM_MIN) reclaim_entries(rt);
    }
    if (struct_edges(rt, t))
        set_error(rt, PTO_RT_ENOMEM, t, 0, "out of memory adding structural edges");
    if (c->num_streams) {
        rt_tref *sl = &rt->stream_last[t->stream];
        if (sl->t && sl->seq >= done) {
            if (c->trace) trace_edge(rt, sl->t->task_index, index, RT_DEP_STREAM);
            add_edge(rt, sl->t, t, 0);
        }
        sl->t = t;
        sl->seq = t->seq;
    }
    rt->submitted_tasks++;
    rt->submitted_bytes += bytes;
    if (c->progress) __atomic_store_n(&c->progress[0], rt->submitted_tasks, __ATOMIC_RELAXED);
    uint64_t inflight = rt->submitted_tasks - atomic_load_explicit(&rt->retired_tasks, memory_order_relaxed);
    if (inflight > rt->max_inflight) rt->max_inflight = inflight;
    rt->building = NULL;
    int rest = RT_BIAS - (int)rt->nbuilt;
    if (atomic_load_explicit(&t->pending, memory_order_acquire) == rest ||
        atomic_fetch_sub_explicit(&t->pending, rest, memory_order_acq_rel) == rest)
        orch_push(rt, t);
    if (c->start == PTO_RT_START_THRESHOLD && rt->submitted_tasks >= c->start_threshold) start_now(rt);
    return index;
}

/* ---- structured scopes ---- */
static rt_task *new_marker(pto_rt *rt, int kind, int scope_kind) {
    rt_task *m = alloc_task(rt, 0);
    if (!m) return NULL;
    init_task(m, kind);
    m->scope_kind = (uint8_t)scope_kind;
    if (kind == K_NEXT) m->task_index = -2 - rt->njoins++; /* a SEQ join: its trace id */
    return m;
}

static void link_done_marker(pto_rt *rt, rt_task *m) {
    atomic_store(&m->state, ST_DONE);
    atomic_store(&m->succ, RT_CLOSED);
    atomic_store(&m->retire_ok, 1);
    link_task(rt, m);
    /* the link is this marker's completion: order it before reading retire_next (pairs with
     * the retirer's store of retire_next followed by its re-check of the list) */
    atomic_thread_fence(memory_order_seq_cst);
    if (m->seq == atomic_load(&rt->retire_next)) try_retire(rt);
}

/* Link a join and drop its construction guard. */
static void release_join(pto_rt *rt, rt_task *j) {
    link_task(rt, j);
    if (atomic_fetch_sub_explicit(&j->pending, 1, memory_order_acq_rel) == 1)
        push_task(rt, &rt->workers[0], j);
}

static void drop_gate(pto_rt *rt, rt_frame *f) {
    if (f->owns_gate && f->gate) release_task(rt, f->gate);
    f->owns_gate = 0;
}

static int scope_fail(pto_rt *rt, const char *msg) {
    set_error(rt, PTO_RT_ESCOPE, NULL, 0, "%s", msg);
    return PTO_RT_ESCOPE;
}

int pto_rt_scope_begin(pto_rt *rt, int kind) {
    if (atomic_load(&rt->aborting)) return err_code(rt);
    if (kind != PTO_RT_SCOPE_PAR && kind != PTO_RT_SCOPE_SEQ) {
        set_error(rt, PTO_RT_EINVAL, NULL, 0, "scope kind %d is not PAR(0) or SEQ(1)", kind);
        return PTO_RT_EINVAL;
    }
    if (rt->depth >= (int)PTO_RT_MAX_SCOPE_DEPTH) return scope_fail(rt, "scopes nested deeper than PTO_RT_MAX_SCOPE_DEPTH");
    if (rt->record) pto_record_scope(rt->record, 'B', kind);
    rt_frame *par = &rt->frames[rt->depth];
    rt_frame *f = &rt->frames[rt->depth + 1];
    f->kind = kind;
    f->gate = par->gate;
    f->owns_gate = 0;
    f->join = par->join;
    rt_task *m = new_marker(rt, K_BEGIN, kind);
    if (!m) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory"); return PTO_RT_ENOMEM; }
    link_done_marker(rt, m);
    if (kind == PTO_RT_SCOPE_SEQ) {
        rt_task *j = new_marker(rt, K_NEXT, kind);
        if (!j) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory"); return PTO_RT_ENOMEM; }
        f->join = j;
    }
    rt->depth++;
    return 0;
}

int pto_rt_scope_next(pto_rt *rt) {
    if (atomic_load(&rt->aborting)) return err_code(rt);
    if (rt->depth == 0 || rt->frames[rt->depth].kind != PTO_RT_SCOPE_SEQ)
        return scope_fail(rt, "pto_rt_scope_next outside a SEQ scope");
    if (rt->record) pto_record_scope(rt->record, 'N', 0);
    rt_frame *f = &rt->frames[rt->depth];
    rt_task *j = f->join;
    rt_task *nj = new_marker(rt, K_NEXT, PTO_RT_SCOPE_SEQ);
    if (!nj) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory"); return PTO_RT_ENOMEM; }
    add_edge(rt, j, nj, 1); /* empty iterations still chain */
    if (rt->cfg.trace) trace_edge(rt, j->task_index, nj->task_index, RT_DEP_STRUCT);
    atomic_fetch_add(&j->refs, 1);
    drop_gate(rt, f);
    f->gate = j;
    f->owns_gate = 1;
    f->join = nj;
    release_join(rt, j);
    return 0;
}

int pto_rt_scope_end(pto_rt *rt) {
    if (rt->depth == 0) return scope_fail(rt, "pto_rt_scope_end without a matching scope_begin");
    if (rt->record) pto_record_scope(rt->record, 'E', 0);
    rt_frame *f = &rt->frames[rt->depth];
    rt_frame *par = &rt->frames[rt->depth - 1];
    if (f->kind == PTO_RT_SCOPE_SEQ) {
        rt_task *j = f->join;
        j->kind = K_END;
        if (par->join) {
            add_edge(rt, j, par->join, 1);
            if (rt->cfg.trace) trace_edge(rt, j->task_index, par->join->task_index, RT_DEP_STRUCT);
        }
        drop_gate(rt, f);
        release_join(rt, j);
    } else {
        drop_gate(rt, f);
        rt_task *m = new_marker(rt, K_END, f->kind);
        if (!m) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory"); return PTO_RT_ENOMEM; }
        link_done_marker(rt, m);
    }
    rt->depth--;
    return 0;
}

int pto_rt_wait_region(pto_rt *rt, const pto_rt_region *r) {
    if (r->rows < 0 || r->cols < 0 || r->elem_size < 1 || r->overlap > 1) {
        set_error(rt, PTO_RT_EINVAL, NULL, 0, "pto_rt_wait_region: malformed region");
        return PTO_RT_EINVAL;
    }
    if (rt->record) pto_record_wait(rt->record, r);
    if (!rt->use_data) {
        orch_wait(rt, cond_all_retired, NULL);
        return err_code(rt);
    }
    if (!r->rows || !r->cols) return err_code(rt);
    rt_entry *e = entry_get(rt, r);
    if (!e) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory"); return PTO_RT_ENOMEM; }
    if (tracking_conflict(rt, e, r, NULL)) return PTO_RT_EINVAL;
    size_t cap = 1 + (e->ovl ? atomic_load(&e->nnb) : 0), n = 0;
    rt_tref *v = malloc(cap * sizeof *v);
    if (!v) { set_error(rt, PTO_RT_ENOMEM, NULL, 0, "out of memory"); return PTO_RT_ENOMEM; }
    FOR_ENTRY_AND_NBRS(e->ovl, e, X, {
        if (X->w && n < cap) { v[n].t = X->w; v[n].seq = X->w_seq; n++; }
    });
    rt_wait_set ws = {v, n};
    orch_wait(rt, cond_refs_done, &ws);
    free(v);
    return err_code(rt);
}

int pto_rt_finish(pto_rt *rt) {
    if (rt->depth > 0) {
        set_error(rt, PTO_RT_ESCOPE, NULL, 0, "%d scope(s) still open at finish: every scope_begin needs a scope_end",
                  rt->depth);
        while (rt->depth > 0) pto_rt_scope_end(rt);
    }
    uint64_t t_orch_end = now_ns();
    if (rt->submitted_any && !rt->orch_ns) rt->orch_ns = t_orch_end - rt->first_submit_ns;
    orch_wait(rt, cond_all_retired, NULL);
    sim_finish_locked(rt);
    rt->finish_ns = now_ns();
    return err_code(rt);
}

void pto_rt_destroy(pto_rt *rt) {
    if (!rt) return;
    if (rt->workers && rt->nworkers) {
        while (rt->depth > 0) pto_rt_scope_end(rt);
        orch_wait(rt, cond_all_retired, NULL);
        sim_finish_locked(rt);
        atomic_store(&rt->stop, 1);
        for (uint32_t p = 0; p < rt->npools; p++) wake_pool(&rt->pools[p], 1);
        for (uint32_t i = 1; i < rt->nworkers; i++)
            if (rt->workers[i].has_thread) pthread_join(rt->workers[i].th, NULL);
        for (uint32_t i = 0; i < rt->nworkers; i++) free(rt->workers[i].dq.buf);
        running_release(rt->workers[0].run);
    }
    for (uint32_t p = 0; p < rt->npools; p++) {
        free(rt->pools[p].heap);
        free(rt->pools[p].ring);
        pthread_mutex_destroy(&rt->pools[p].mu);
        pthread_cond_destroy(&rt->pools[p].cv);
    }
    for (size_t i = 0; i < rt->ecap; i++) {
        rt_entry *e = rt->etab[i].e;
        if (!e) continue;
        if (e->rd != e->rd_inl) free(e->rd);
        if (e->ovl)
            for (rt_nbr_chunk *c = e->nb_head; c;) { rt_nbr_chunk *n = c->next; free(c); c = n; }
    }
    free(rt->etab);
    free(rt->rq);
    for (size_t i = 0; i < rt->ccap; i++) free(rt->ctab[i].v);
    free(rt->ctab);
    free(rt->large_list);
    free(rt->flat);
    for (uint32_t i = 0; i < rt->ngroups; i++) { free(rt->groups[i].all); free(rt->groups[i].big); }
    for (size_t i = 0; i < rt->nslabs; i++) free(rt->slabs[i]);
    free(rt->slabs);
    free(rt->workers);
    sim_free(rt);
    free(rt->kernel_tasks); free(rt->kernel_cycles);
    free(rt->tev); free(rt->ted);
    altstack_off(rt->altstack);
    if (rt->record) fclose(rt->record);
    free(rt);
}

const pto_rt_error *pto_rt_error_info(const pto_rt *rt) { return &rt->err; }

void pto_rt_get_stats(const pto_rt *rt, pto_rt_stats *s) {
    memset(s, 0, sizeof *s);
    s->task_count = rt->submitted_tasks;
    for (uint32_t i = 0; i < rt->nworkers; i++) {
        s->executed += rt->workers[i].executed;
        s->failed += rt->workers[i].failed;
        s->cancelled += rt->workers[i].cancelled;
        s->steals += rt->workers[i].steals;
    }
    s->total_cycles = rt->makespan;
    s->window_overflows = rt->overflows;
    s->window_stalls = rt->stalls;
    s->max_in_flight = rt->max_inflight;
    s->edges = rt->edges;
    s->wall_ms = rt->submitted_any && rt->finish_ns > rt->first_submit_ns
                     ? (double)(rt->finish_ns - rt->first_submit_ns) / 1e6 : 0.0;
    s->orchestration_ms = (double)rt->orch_ns / 1e6;
    s->num_workers = rt->nworkers;
    s->num_lanes = rt->nlanes;
    s->peak_regions = rt->epeak;
    s->critical_path = rt->critical_path;
}

int pto_rt_kernel_stats(const pto_rt *rt, uint32_t kid, uint64_t *tasks, uint64_t *cycles) {
    int in = kid < rt->nkernels;
    if (tasks) *tasks = in ? rt->kernel_tasks[kid] : 0;
    if (cycles) *cycles = in ? rt->kernel_cycles[kid] : 0;
    return 0;
}

int64_t pto_rt_worker_executed(const pto_rt *rt, uint32_t worker) {
    return worker < rt->nworkers ? (int64_t)rt->workers[worker].executed : -1;
}

int32_t pto_rt_worker_pool(const pto_rt *rt, uint32_t worker) {
    return worker < rt->nworkers ? (int32_t)rt->workers[worker].pool : -1;
}

int pto_rt_lane_stats(const pto_rt *rt, uint32_t lane, uint64_t *tasks, uint64_t *busy) {
    if (lane >= rt->nlanes) return PTO_RT_EINVAL;
    if (tasks) *tasks = rt->lane_tasks[lane];
    if (busy) *busy = rt->lane_busy[lane];
    return 0;
}

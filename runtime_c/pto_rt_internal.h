/* pto_rt_internal.h - private data structures of the pto-wsp runtime (not an API).
 * Shared by pto_rt.c (submission, dependencies, workers, simulation) and pto_rt_trace.c.
 * See docs/runtime.md for the design. */
#ifndef PTO_RT_INTERNAL_H
#define PTO_RT_INTERNAL_H

#include "pto_rt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct rt_task rt_task;
typedef struct rt_entry rt_entry;

/* A dependency edge pred -> succ. The node is owned by succ (inline or in succ's overflow
 * chunks) and pushed onto pred's lock-free successor stack. */
typedef struct rt_edge {
    rt_task *succ;
    struct rt_edge *next;
    uint32_t strong; /* 1: a failed/cancelled pred poisons succ (RAW, WAW, structure) */
} rt_edge;

#define RT_EDGE_CHUNK 30
typedef struct rt_edge_chunk {
    struct rt_edge_chunk *next;
    uint32_t used;
    rt_edge e[RT_EDGE_CHUNK];
} rt_edge_chunk;

enum { K_TASK = 0, K_BEGIN = 1, K_NEXT = 2, K_END = 3 };
enum { ST_PENDING = 0, ST_DONE = 1, ST_FAILED = 2, ST_CANCELLED = 3 };

typedef struct rt_acc {
    rt_entry *e;
    uint32_t mode;
    uint32_t ovl;                     /* e->ovl, read here by the simulation (e's first
                                         lines belong to the orchestrator)                  */
} rt_acc;

#define RT_INLINE_EDGES 3
/* Descriptor size classes by payload (arguments, indices, accesses): small, large (arguments
 * up to 256 bytes), huge (up to PTO_RT_MAX_ARGS_BYTES); each has its own free lists. */
#define RT_NCLASSES 3
#define RT_PAYLOAD_SMALL 96u
#define RT_PAYLOAD_LARGE (256u + PTO_RT_MAX_INDICES * sizeof(int64_t) + \
                          PTO_RT_MAX_REGIONS * sizeof(rt_acc))
#define RT_PAYLOAD_HUGE (PTO_RT_MAX_ARGS_BYTES + PTO_RT_MAX_INDICES * sizeof(int64_t) + \
                         PTO_RT_MAX_REGIONS * sizeof(rt_acc))

struct rt_task {
    uint64_t seq;                     /* position in the in-order list (set when linked)   */
    _Atomic(rt_edge *) succ;          /* successor stack; RT_CLOSED once completed          */
    atomic_int pending;               /* unfinished preds + 1 guard while being built       */
    atomic_int state;                 /* ST_*                                               */
    atomic_int poisoned;              /* a strong pred failed/cancelled                     */
    atomic_int refs;                  /* joins: held by the orchestrator as a gate          */
    atomic_int retire_ok;             /* completion fully done (successors released): the
                                         retiring thread may simulate and recycle it        */
    _Atomic(rt_task *) next_in_order; /* submission-order list                              */
    rt_task *qnext;                   /* ready queue / free list link                       */
    pto_kernel_fn fn;
    const char *name;
    int64_t task_index;               /* kernel-task index; markers: -1, SEQ joins -2 - id  */
    uint32_t kernel_id;
    uint8_t kind, unit, nacc, scope_kind;
    uint8_t cls, nidx, pad8[2];       /* size class; nidx: loop indices in the payload     */
    uint16_t pool, args_size;
    int32_t priority;
    uint32_t aicpu;                   /* dispatch target, UINT32_MAX = decided by the sim   */
    uint32_t stream, iq;
    uint32_t win_bytes;
    int32_t worker, rc;
    uint64_t cycles;
    uint64_t wall_begin, wall_end;    /* ns since runtime creation (TRACE_WALL)             */
    rt_task *last_pred;               /* cheap duplicate-edge filter                        */
    uint32_t n_inl;
    rt_edge inl[RT_INLINE_EDGES];
    rt_edge_chunk *chunks;
    _Alignas(16) unsigned char payload[]; /* args (rounded to 16), int64 indices[nidx], then
                                             rt_acc[nacc]                                     */
};

/* Neighbour list of an entry (BYTES_OVERLAP): append-only chunks, count published with
 * release so the simulating thread can read while the orchestrator appends. */
#define RT_NBR_CHUNK 14
typedef struct rt_nbr_chunk {
    struct rt_nbr_chunk *next;
    rt_entry *e[RT_NBR_CHUNK];
} rt_nbr_chunk;

typedef struct rt_tref {
    rt_task *t;
    uint64_t seq;
} rt_tref;

/* One distinct region (exact box). Real-execution fields belong to the orchestrating
 * thread; sim fields to the retiring thread. Exact-tracked entries are allocated without
 * the overlap tail (from their own slabs). */
struct rt_entry {
    uintptr_t addr;                   /* key: the box                                       */
    int64_t rows, cols, rs, cs;
    uint32_t elem;
    _Atomic(uint8_t) poisoned;        /* a failed/cancelled task wrote it                   */
    uint8_t ovl;                      /* tracked by byte overlap (has the overlap tail)     */
    uint8_t pad[2];
    /* real execution (orchestrator; 128 bytes up to here; what reclamation reads first) */
    uint64_t last_seq;                /* seq of the newest task accessing it                */
    union {
        rt_task *w;                   /* last writer (may be finished)                      */
        rt_entry *free_next;          /* TENSOR_MAP_EXACT: on the free list once reclaimed  */
    };
    uint64_t w_seq;
    int64_t w_index;                  /* trace: kernel-task index of the last writer        */
    rt_tref *rd;                      /* readers since the last write (may be finished)    */
    uint32_t nrd, caprd;
    rt_tref rd_inl[2];                /* first readers live here (no malloc)                */
    /* simulation: written by the retiring thread, on a cache line of its own */
    _Alignas(64) uint64_t sim_w_end;
    uint64_t sim_r_end;
    uint64_t cp_w_end, cp_r_end;      /* the same without lanes or issue limits (critical path) */
    struct rt_snode *sim_pw;          /* last writer not yet started in simulated time      */
    struct rt_sacc *sim_prd;          /* readers since then not yet started (list)          */
    uint64_t sim_pw_lat;              /* latency of sim_pw's write                          */
    atomic_uint sim_refs;             /* sim_pw + sim_prd: reclamation waits for 0          */
    /* ---- overlap-tracked entries only (ovl): exact ones are allocated without it ---- */
    uintptr_t lo, hi;                 /* byte span [lo, hi)                                 */
    uint64_t stamp;                   /* neighbour-search dedup                             */
    rt_nbr_chunk *nb_head, *nb_tail;  /* overlap neighbours                                 */
    atomic_uint nnb;
    /* overlap index: run boxes of a group are rectangles in (byte / S, byte % S) */
    struct rt_group *grp;
    uint64_t row0, nrows, col0, ncols;
    size_t pos;                       /* index in grp->all, or in the runtime's flat list   */
};

typedef struct rt_extents {           /* <= 8 disjoint byte ranges [lo, hi) covering a set  */
    uintptr_t r[8][2];                /* of boxes (they never shrink)                       */
    uint32_t n;
} rt_extents;

typedef struct rt_group {             /* run boxes sharing one run stride S                 */
    uint32_t id;
    uint64_t S, cr, cc;               /* stride; cell size in rows and bytes                */
    uintptr_t lo, hi;                 /* byte span of all members                           */
    rt_extents ext;                   /* ... and the ranges of the tensors they lie in      */
    rt_entry **all;                   /* every member                                       */
    uint32_t nall, capall;
    rt_entry **big;                   /* members covering too many cells                    */
    uint32_t nbig, capbig;
} rt_group;

typedef struct rt_eslot {
    uint64_t h;
    rt_entry *e;
} rt_eslot;

typedef struct rt_deque {
    atomic_flag lock;
    rt_task **buf;
    uint64_t cap, top, bot;
} rt_deque;

typedef struct rt_running {         /* a thread that runs kernels (fatal-signal report)    */
    _Atomic uintptr_t thread;         /* pthread_self(), 0 = free slot                      */
    _Atomic(const rt_task *) task;    /* the kernel task it is running, or NULL             */
} rt_running;

typedef struct rt_worker {
    pto_rt *rt;
    rt_running *run;
    uint32_t id, pool, idx;
    pthread_t th;
    int has_thread;
    rt_deque dq;
    uint64_t executed, failed, cancelled, steals;
    uint64_t rng;
    uint32_t retire_due;              /* completions since it took on the head's retirement */
    char pad[64];
} rt_worker;

typedef struct rt_rslot {            /* ready-ring slot (see pto_rt.c, ring_push)          */
    _Atomic uint64_t seq;
    _Atomic(rt_task *) t;
    _Atomic uint64_t tseq;            /* t's submission seq (for the FIFO head comparison)  */
} rt_rslot;

typedef struct rt_pool {
    uint32_t first, n;                /* workers [first, first+n)                           */
    rt_rslot *ring;                   /* FIFO: the orchestrator's ready ring                */
    char pad_r[64];
    _Atomic uint64_t rhead;           /* next ring position to claim (workers)              */
    char pad_h[64];
    atomic_flag qlock;
    rt_task *qhead, *qtail;           /* FIFO: locked queue (tasks released by workers)     */
    atomic_uint_fast64_t qseq;        /* seq of qhead, UINT64_MAX when empty                */
    rt_task **heap;                   /* PRIORITY                                           */
    size_t hn, hcap;
    char pad0[64];
    atomic_long avail;                /* queued tasks in this pool                          */
    atomic_int sleepers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char pad1[64];
} rt_pool;

typedef struct rt_frame {             /* orchestrator-side structured scope                 */
    int kind;
    rt_task *join;                    /* SEQ: join of the current iteration (or NULL)       */
    rt_task *gate;                    /* join every task of this iteration waits for        */
    int owns_gate;                    /* this frame holds a reference on gate               */
} rt_frame;

/* ---- the event-driven simulation (not v9): tasks wait as nodes until they start ---- */
typedef struct rt_snode rt_snode;
typedef struct rt_sedge {             /* to becomes ready lat after this node ends (or, with
                                         on_resolve, when this node's start bound is known) */
    rt_snode *to;
    uint64_t lat;
    uint32_t on_resolve;
} rt_sedge;

typedef struct rt_sacc {              /* a simulated task's access to one of its entries    */
    rt_entry *e;
    rt_snode *n;
    struct rt_sacc *prev, *next;      /* e's pending readers, while linked                  */
    uint32_t mode, linked;
} rt_sacc;

enum { SN_WAIT = 0, SN_RESOLVED = 1, SN_STARTED = 2 };

struct rt_snode {                     /* a kernel task, or a join (no lane, no cycles)      */
    rt_snode *next_free;
    uint64_t k;                       /* kernel-task number: lower goes first               */
    uint64_t ready;                   /* start bound from finished predecessors             */
    uint64_t cyc, end;
    size_t tev;                       /* its trace event, or SIZE_MAX                       */
    uint32_t npred;                   /* predecessors not finished (+1 while a join is open)*/
    uint32_t aicpu, stream, iq;
    uint8_t join, state, unit, pad;
    uint32_t ne, cape, nacc;
    rt_sedge *ev;
    rt_sedge inl[2];
    rt_sacc acc[];
};

typedef struct rt_lazy { uint64_t c; rt_snode *n; } rt_lazy; /* max(c, end of join n)      */

typedef struct rt_sheap { rt_snode **v; size_t n, cap; } rt_sheap;

typedef struct rt_ring { unsigned char *v; size_t cap, head, n, sz; } rt_ring;

typedef struct rt_squeue {            /* eligible tasks by number: those arriving in order in
                                         a FIFO ring, the others in a heap                   */
    rt_ring f;
    rt_sheap h;
    uint64_t last;                    /* number of the FIFO's newest node                   */
} rt_squeue;

typedef struct rt_sframe {            /* simulation-side structured scope                   */
    int kind;
    rt_lazy base;                     /* every task of the current iteration starts after   */
    uint64_t cur_end;                 /* v9: the end of the scope so far                    */
    rt_snode *acc;                    /* open join: the end of the scope so far (depth > 0) */
    uint64_t cp_base, cp_cur_end;     /* the same for the critical path                     */
} rt_sframe;

typedef struct rt_trace_ev {
    int64_t task_index;
    uint64_t seq;
    const char *name;
    uint32_t kernel_id, lane;
    int32_t worker, status;
    uint64_t sim_start, sim_end;
    uint64_t wall_begin, wall_end;
    uint32_t nidx;
    int64_t idx[PTO_RT_MAX_INDICES];
} rt_trace_ev;

enum { RT_DEP_RAW = 1, RT_DEP_WAR = 2, RT_DEP_WAW = 4, RT_DEP_STRUCT = 8, RT_DEP_STREAM = 16 };

typedef struct rt_trace_edge {
    int64_t from, to;                 /* kernel-task indices, or SEQ joins (-2 - id)        */
    uint32_t kinds;                   /* RT_DEP_* bits                                      */
} rt_trace_edge;

typedef struct rt_chunk_slot {        /* overlap index slot: (0, chunk, 0) or (group+1, row cell, col cell) */
    uint64_t h, ka, kb, kc;
    int used;
    rt_entry **v;
    uint32_t n, cap;
} rt_chunk_slot;

/* Fields are grouped by the thread that writes them, each group on its own cache lines:
 * orchestrator-written and retirer-written fields sharing a line would bounce it between
 * the cores on every submission. */
struct pto_rt {
    /* ---- read-mostly: configuration and run state ---- */
    pto_rt_config cfg;
    pto_rt_error err;
    atomic_int err_set;               /* 0 none, 1 being written, 2 written                 */
    atomic_int aborting;              /* fatal error: cancel everything not yet run         */
    atomic_int started, stop;
    atomic_int orch_sleeping;
    uint32_t nworkers, npools, nlanes;
    rt_worker *workers;
    int use_data;
    int use_overlap;                  /* every region overlap-tracked (BYTES_OVERLAP/HYBRID)*/
    int ring_fence;                   /* no membarrier: fence after each ring push          */
    int reclaim;                      /* exact-mode reclamation on (no tracing)             */
    uint32_t unit_mask;               /* declared exec units (bit per pto_rt_exec_unit)     */
    size_t entry_size[2];             /* bytes of an exact / an overlap-tracked entry       */
    uint64_t t0_ns, first_submit_ns, orch_ns, finish_ns;
    FILE *record;                     /* cfg.record_path opened, or NULL                    */
    void *altstack;                   /* the orchestrating thread's, if the runtime set it  */
    int submitted_any;
    rt_pool pools[PTO_RT_MAX_POOLS];

    /* ---- written by the retiring thread, read by the orchestrator ---- */
    _Alignas(64) atomic_uint_fast64_t retire_next; /* seq of the next task to retire       */
    atomic_int retire_busy;
    atomic_uint_fast64_t retired_tasks, retired_bytes;
    atomic_uint_fast64_t sim_lb;      /* a lower bound of any later simulated start: the
                                         event clock (v9: the earliest lane free time)
                                         (region reclamation)                               */
    _Atomic(rt_task *) ret_task[RT_NCLASSES]; /* descriptors returned, per size class  */
    _Atomic(rt_edge_chunk *) ret_chunks;

    /* ---- retiring thread: in-order list head and the simulation ---- */
    _Alignas(64) rt_task *anchor;
    uint64_t lb_at;                   /* sim_k when sim_lb was last computed                */
    uint64_t *lane_free, *lane_tasks, *lane_busy;
    uint64_t *stream_end, *iclock;
    uint64_t now;                     /* event clock: everything before it is decided       */
    rt_sheap fut;                     /* resolved tasks ready after now, by (ready, k)      */
    rt_squeue *elig;                  /* per (AICPU, or any) x unit: eligible tasks         */
    uint64_t sn_pushes;               /* tasks made eligible so far                         */
    rt_ring ord;                      /* task nodes from the first unstarted one, in order  */
    uint64_t pstart, pmax;            /* tasks 0..pstart-1 have started; max of their ends  */
    rt_ring ph;                       /* pmax after task j, for j from ph_base on           */
    uint64_t ph_base;
    rt_ring gates;                    /* (node, j): waits for tasks 0..j to end (window)    */
    int64_t j_last;                   /* the window's last released task, or -1             */
    rt_lazy batch_rel;                /* BATCHED: end of the previous batches               */
    rt_snode *batch_acc;              /* ... and of the current one (open join)             */
    rt_snode **stream_n, **iq_n;      /* per stream: last task unstarted; per issue queue:
                                         last task unresolved                               */
    rt_snode *sn_free[PTO_RT_MAX_REGIONS + 1]; /* decided nodes for reuse, by accesses  */
    rt_snode **wl;                    /* nodes whose predecessors all finished              */
    size_t wl_n, wl_cap;
    uint64_t sim_k;                   /* kernel tasks simulated                             */
    uint64_t batch_release, batch_max;
    uint64_t makespan;
    uint64_t critical_path;           /* longest dependency chain in cycles (infinite lanes) */
    uint64_t *stream_cp;              /* per stream: critical-path end of its last task     */
    uint64_t *kernel_tasks, *kernel_cycles; /* per kernel_id (grown on demand)             */
    uint32_t nkernels;
    rt_ring wq;                       /* window: (task number, units) in flight             */
    uint64_t wq_bytes;
    rt_sframe sframes[PTO_RT_MAX_SCOPE_DEPTH + 1];
    int sdepth;
    uint64_t v9_issue;
    uint64_t *v9_heap;
    size_t v9_hn;
    rt_trace_ev *tev;
    size_t ntev, captev;

    /* ---- orchestrating thread ---- */
    _Alignas(64) rt_task *free_task[RT_NCLASSES]; /* private free lists per size class  */
    rt_edge_chunk *free_chunks;
    void **slabs;
    size_t nslabs, capslabs;
    rt_task *tail;                    /* in-order list tail                                 */
    uint64_t next_seq;
    uint64_t submitted_tasks, submitted_bytes;
    uint64_t rr_counter;
    uint64_t overflows, stalls, max_inflight, edges;
    uint64_t rtail[PTO_RT_MAX_POOLS]; /* next ring position per FIFO pool                   */
    rt_task *building;                /* the task pto_rt_submit is adding edges to          */
    uint32_t nbuilt;                  /* ... and the edges it got so far                    */
    rt_eslot *etab;                   /* region table                                       */
    size_t ecap, ecount, epeak;
    unsigned char *entry_slab[2];     /* per kind (index: ovl)                              */
    size_t entry_slab_n[2], entry_free_n[2];
    rt_entry **rq;                    /* exact mode: live entries, oldest use first (ring)  */
    size_t rq_cap, rq_head, rq_n;
    rt_entry *entry_free[2];
    rt_chunk_slot *ctab;              /* overlap index                                      */
    size_t ccap, ccount;
    rt_entry **large_list;            /* flat entries spanning too many chunks              */
    size_t nlarge, caplarge;
    rt_entry **flat;                  /* all flat entries                                   */
    size_t nflat, capflat;
    rt_extents flat_ext;              /* ranges covering every flat entry                   */
    rt_group groups[64];
    uint32_t ngroups;
    uint64_t stamp;
    rt_tref *stream_last;
    rt_frame frames[PTO_RT_MAX_SCOPE_DEPTH + 1];
    int depth;
    int scope_error;
    rt_trace_edge *ted;
    size_t nted, capted;
    int64_t njoins;                   /* SEQ joins created (trace ids)                      */

    /* ---- the in-order list's initial anchor (never freed) ---- */
    _Alignas(64) rt_task dummy;
    unsigned char dummy_payload[16];
};

#define RT_CLOSED ((rt_edge *)(uintptr_t)1)

#endif

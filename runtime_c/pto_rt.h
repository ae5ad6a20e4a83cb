/* pto_rt.h - the pto-wsp C task-graph runtime (public API).
 *
 * Generated orchestration code (orchestrate.c) creates a runtime, submits tasks in program
 * order, opens/closes structured scopes around loops, and calls pto_rt_finish(). The runtime
 *   1. really executes the tasks on a pool of threads, honouring dependencies inferred from
 *      the tasks' tensor-region accesses (and/or from program structure), and
 *   2. computes a deterministic *simulated* makespan (total_cycles) of the target machine by
 *      list scheduling over the submitted tasks in submission order.
 * Both are documented in docs/runtime.md. All functions are called from ONE orchestrating
 * thread (the thread that created the runtime); kernels run on worker threads and on the
 * orchestrating thread while it waits (finish / window stall / wait_region).
 *
 * Error convention: functions returning int return 0 (PTO_RT_OK) or a PTO_RT_E* code; the
 * first error of a run is kept and described by pto_rt_error_info(). Once an error is
 * recorded, further submissions are refused with that error and unstarted tasks are cancelled.
 */
#ifndef PTO_RT_H
#define PTO_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Limits
 * ---------------------------------------------------------------------------------------- */
#define PTO_RT_MAX_ARGS_BYTES 2048u  /* argument block copied into the task descriptor      */
#define PTO_RT_MAX_REGIONS 16u       /* tensor-region accesses per task                      */
#define PTO_RT_MAX_POOLS 8u          /* worker pools (Pools.custom)                          */
#define PTO_RT_MAX_SCOPE_DEPTH 64u   /* nesting depth of structured scopes                   */
#define PTO_RT_MAX_INDICES 8u        /* loop indices recorded per task (traces, crash report) */

/* ------------------------------------------------------------------------------------------
 * Error codes
 * ---------------------------------------------------------------------------------------- */
enum {
    PTO_RT_OK = 0,
    PTO_RT_EINVAL = 1,    /* bad configuration or argument (message says which)            */
    PTO_RT_ENOMEM = 2,    /* allocation failed                                              */
    PTO_RT_EKERNEL = 3,   /* a kernel returned nonzero; its dependents were cancelled       */
    PTO_RT_EWINDOW = 4,   /* task window overflow in WINDOW_ABORT mode                      */
    PTO_RT_EDEADLOCK = 5, /* nothing can ever make progress (e.g. start threshold > window) */
    PTO_RT_ESCOPE = 6,    /* unbalanced scope_begin/scope_end/scope_next                    */
    PTO_RT_ETOOBIG = 7,   /* argument block or region count above the limits               */
    PTO_RT_EIO = 8,       /* a trace/dot file could not be written                          */
    PTO_RT_ESTATE = 9     /* call not valid in the current state (e.g. trace not enabled)   */
};

/* ------------------------------------------------------------------------------------------
 * Configuration enums
 * ---------------------------------------------------------------------------------------- */
typedef enum {                 /* Deps: which data dependencies are inferred. Program
                                  structure (SEQ scopes) orders tasks in every mode; data
                                  dependencies come on top of it.                          */
    PTO_RT_DEPS_TENSOR_MAP_EXACT = 0, /* same region key (addr + box) -> RAW/WAR/WAW         */
    PTO_RT_DEPS_BYTES_OVERLAP = 1,    /* any overlapping byte of two strided 2-D boxes       */
    PTO_RT_DEPS_EXPLICIT = 2,         /* no data dependencies: only program structure        */
    PTO_RT_DEPS_HYBRID = 3            /* = BYTES_OVERLAP (kept for the spec's spelling)      */
} pto_rt_deps_mode;

typedef enum {
    PTO_RT_READY_FIFO = 0,       /* one shared FIFO queue per pool                          */
    PTO_RT_READY_WORK_STEAL = 1, /* per-worker deques: owner LIFO, thieves FIFO             */
    PTO_RT_READY_PRIORITY = 2    /* shared max-heap per pool on task priority, ties FIFO    */
} pto_rt_ready_policy;

typedef enum {
    PTO_RT_POOLS_SINGLE = 0,       /* one pool of num_threads workers                       */
    PTO_RT_POOLS_BY_EXEC_UNIT = 1, /* pool 0 = VECTOR tasks, pool 1 = CUBE tasks            */
    PTO_RT_POOLS_CUSTOM = 2        /* num_pools pools; task.pool selects one                */
} pto_rt_pools_kind;

typedef enum {
    PTO_RT_DISPATCH_ROUND_ROBIN = 0, /* aicpu = (kernel-task index) % num_aicpus            */
    PTO_RT_DISPATCH_AFFINITY = 1,    /* aicpu = dispatch_key % num_aicpus                   */
    PTO_RT_DISPATCH_HASH = 2,        /* aicpu = splitmix64(dispatch_key) % num_aicpus       */
    PTO_RT_DISPATCH_BY = 3,          /* aicpu = dispatch_key; must be < num_aicpus (EINVAL) */
    PTO_RT_DISPATCH_WORK_STEAL = 4   /* aicpu whose lane frees earliest (idealised stealing)*/
} pto_rt_dispatch_policy;

typedef enum {
    PTO_RT_TIMING_IMMEDIATE = 0,   /* no issue constraint                                   */
    PTO_RT_TIMING_BATCHED = 1,     /* groups of timing_param tasks; group k issues when
                                      every task of group k-1 has ended                     */
    PTO_RT_TIMING_INTERLEAVED = 2, /* timing_param in-order issue queues (stream_key % n):
                                      a task issues no earlier than the previous task of its
                                      queue issued, nor before it is ready                  */
    PTO_RT_TIMING_RATE_LIMIT = 3   /* at most timing_param tasks per simulated millisecond:
                                      task k issues >= ceil(k * clock_khz / timing_param)   */
} pto_rt_timing_policy;

typedef enum { PTO_RT_WINDOW_TASKS = 0, PTO_RT_WINDOW_BYTES = 1 } pto_rt_window_unit;
typedef enum {
    PTO_RT_WINDOW_STALL = 0,    /* submitter blocks (and helps execute) until a slot frees  */
    PTO_RT_WINDOW_ABORT = 1,    /* submission fails with PTO_RT_EWINDOW                     */
    PTO_RT_WINDOW_BENCHMARK = 2 /* count overflows, never block; kernels are NOT executed   */
} pto_rt_window_mode;

typedef enum {
    PTO_RT_START_IMMEDIATE = 0,          /* workers take tasks as soon as they are ready    */
    PTO_RT_START_AFTER_ORCHESTRATION = 1,/* nothing runs until the orchestrator first waits
                                            (finish, wait_region or a window stall)          */
    PTO_RT_START_THRESHOLD = 2           /* nothing runs until start_threshold tasks were
                                            submitted (or finish/wait_region is called);
                                            a STALL before that is PTO_RT_EDEADLOCK          */
} pto_rt_start_policy;

enum { PTO_RT_TRACE_CYCLES = 1u, PTO_RT_TRACE_WALL = 2u }; /* bit flags, 0 = off */

typedef enum { PTO_RT_UNIT_VECTOR = 0, PTO_RT_UNIT_CUBE = 1 } pto_rt_exec_unit;
/* PTO_RT_ORDER (or-ed into a mode): the access expresses program order rather than data (CSP
 * process markers and channel slots): the v9 timing model, which otherwise ignores regions,
 * honours its dependencies too. */
typedef enum { PTO_RT_READ = 1, PTO_RT_WRITE = 2, PTO_RT_READWRITE = 3,
               PTO_RT_ORDER = 4, PTO_RT_LATENCY = 8 } pto_rt_access_mode;
/* PTO_RT_LATENCY (or-ed into a WRITE): in simulated time, later accesses see this write
 * cfg.channel_latency cycles after its task ended (a CSP token's transfer). */
typedef enum { PTO_RT_SCOPE_PAR = 0, PTO_RT_SCOPE_SEQ = 1 } pto_rt_scope_kind;

/* ------------------------------------------------------------------------------------------
 * Configuration. Start from pto_rt_config_default() and change fields.
 * ---------------------------------------------------------------------------------------- */
typedef struct pto_rt_config {
    uint32_t num_threads;        /* threads executing tasks INCLUDING the orchestrating thread
                                    (it helps while waiting); 0 = all host cores            */
    uint32_t deps;               /* pto_rt_deps_mode                                        */
    uint32_t ready;              /* pto_rt_ready_policy                                     */
    uint32_t pools;              /* pto_rt_pools_kind                                       */
    uint32_t num_pools;          /* CUSTOM only: number of pools (1..PTO_RT_MAX_POOLS)      */
    uint32_t pool_workers[PTO_RT_MAX_POOLS]; /* BY_EXEC_UNIT/CUSTOM: workers per pool (>=1);
                                    the orchestrating thread counts as one worker of pool 0.
                                    All zero with BY_EXEC_UNIT = split num_threads.          */
    uint32_t dispatch;           /* pto_rt_dispatch_policy                                  */
    uint32_t num_aicpus;         /* simulated AICPUs = dispatch targets (ROUND_ROBIN(n): n) */
    uint32_t vector_lanes;       /* simulated vector (AIV) lanes per AICPU, >= 1            */
    uint32_t cube_lanes;         /* simulated cube (AIC) lanes per AICPU, >= 1              */
    uint32_t num_streams;        /* streams(n): 0 = off; else tasks with equal
                                    stream_key % n run (really and simulated) in submission
                                    order, one at a time                                    */
    uint64_t channel_latency;    /* simulated cycles of a PTO_RT_LATENCY write (CSP token) */
    uint32_t stream_round_robin; /* streams(n) without stream_by: the stream of a task is
                                    its kernel-task index % n instead of stream_key % n      */
    uint32_t timing;             /* pto_rt_timing_policy                                    */
    uint64_t timing_param;       /* BATCHED n / INTERLEAVED n queues / RATE_LIMIT tasks/ms  */
    uint64_t clock_khz;          /* simulated clock (cycles per ms) for RATE_LIMIT; 1e6     */
    uint64_t window_size;        /* 0 = unbounded                                           */
    uint32_t window_unit;        /* pto_rt_window_unit                                      */
    uint32_t window_mode;        /* pto_rt_window_mode                                      */
    uint32_t start;              /* pto_rt_start_policy                                     */
    uint64_t start_threshold;    /* START_THRESHOLD n                                       */
    uint32_t trace;              /* PTO_RT_TRACE_* bits                                     */
    uint32_t v9_compat;          /* 1 = reproduce the v9 prototype's timing model           */
    uint32_t exec_units;         /* bit mask of the exec units tasks use: 1 << VECTOR,
                                    1 << CUBE; 0 = both. A task of an undeclared unit is
                                    EINVAL. Lanes of undeclared units never bound the
                                    simulation, so TENSOR_MAP_EXACT can forget finished
                                    regions sooner (docs/runtime.md, "Region table")        */
    uint64_t *progress;          /* NULL, or 2 words the runtime keeps current while it runs
                                    (relaxed atomic stores, for another thread to poll):
                                    [0] kernel tasks submitted, [1] kernel tasks retired    */
    const char *record_path;     /* NULL, or a file the submitted stream (tasks, scopes,
                                    region waits) is written to as it arrives, in the
                                    records of pto_record.h (a test aid)                    */
} pto_rt_config;

/* ------------------------------------------------------------------------------------------
 * Tasks
 * ---------------------------------------------------------------------------------------- */
/* A kernel: returns 0 on success, nonzero on failure; writes its simulated cycles. */
typedef int (*pto_kernel_fn)(const void *args, uint64_t *cycles_out);
/* A failing kernel may say why: returns rc, and the run's error message ends with `why`
 * (kept per thread until the kernel returns). */
int pto_rt_kernel_fail(int rc, const char *why);

/* One tensor-region access: a strided 2-D box of elements. Byte b of element (i, j) is at
 * addr + i*row_stride + j*col_stride + b, 0 <= i < rows, 0 <= j < cols, 0 <= b < elem_size.
 * Strides are in bytes and may be negative (a flipped view). */
typedef struct pto_rt_region {
    uintptr_t addr;          /* absolute address of element (0, 0)                          */
    int64_t rows, cols;
    int64_t row_stride;      /* bytes between rows                                          */
    int64_t col_stride;      /* bytes between columns (= elem_size when rows are contiguous)*/
    uint32_t elem_size;      /* bytes per element                                           */
    uint32_t buf_id;         /* tensor id for diagnostics/traces                            */
    uint32_t mode;           /* pto_rt_access_mode: READ, WRITE or READWRITE, | ORDER       */
    uint32_t overlap;        /* TENSOR_MAP_EXACT: 1 = relate this box to others by byte
                                overlap, 0 = only to the identical box. Boxes that share
                                bytes must be identical or both overlap-tracked, and a box
                                keeps one flag (else EINVAL). Other modes: ignored, every
                                box is overlap-tracked (BYTES_OVERLAP, HYBRID) or untracked
                                (EXPLICIT)                                                   */
} pto_rt_region;

typedef struct pto_rt_task {
    pto_kernel_fn fn;               /* NULL = no-op task (0 cycles)                         */
    const void *args;               /* copied; may be NULL when args_size == 0              */
    uint32_t args_size;             /* <= PTO_RT_MAX_ARGS_BYTES                             */
    uint32_t num_regions;           /* <= PTO_RT_MAX_REGIONS                                */
    const pto_rt_region *regions;   /* copied into the runtime's tables                     */
    uint32_t exec_unit;             /* pto_rt_exec_unit                                     */
    uint32_t pool;                  /* CUSTOM pools: target pool index                      */
    uint64_t dispatch_key;          /* AFFINITY / HASH / DISPATCH_BY input                  */
    uint64_t stream_key;            /* streams / INTERLEAVED queue input                    */
    int32_t priority;               /* READY_PRIORITY: larger runs first                    */
    uint32_t kernel_id;             /* for errors and traces                                */
    const char *name;               /* kernel name (static storage; may be NULL)            */
    uint32_t num_indices;           /* <= PTO_RT_MAX_INDICES (else ETOOBIG)                 */
    const int64_t *indices;         /* the task's loop indices, copied; shown in traces and
                                       in the fatal-signal report                           */
} pto_rt_task;

/* ------------------------------------------------------------------------------------------
 * Results
 * ---------------------------------------------------------------------------------------- */
typedef struct pto_rt_stats {
    uint64_t task_count;        /* kernel tasks submitted                                   */
    uint64_t executed;          /* kernels that ran (including failed ones)                 */
    uint64_t failed;            /* kernels that returned nonzero                            */
    uint64_t cancelled;         /* tasks that did not run (failed dependency or abort)     */
    uint64_t total_cycles;      /* simulated makespan                                       */
    uint64_t window_overflows;  /* submissions that found the window full                   */
    uint64_t window_stalls;     /* STALL mode: submissions that had to wait                 */
    uint64_t steals;            /* WORK_STEAL: tasks taken from another worker's deque      */
    uint64_t max_in_flight;     /* peak number of unretired kernel tasks                    */
    uint64_t edges;             /* real dependency edges added                              */
    double wall_ms;             /* first submission .. end of the last finish               */
    double orchestration_ms;    /* time spent inside submit calls (incl. stalls)            */
    uint32_t num_workers;       /* real threads executing tasks (incl. orchestrator)        */
    uint32_t num_lanes;         /* simulated lanes                                          */
    uint64_t peak_regions;      /* most distinct regions tracked at once                    */
    uint64_t critical_path;     /* simulated cycles of the longest dependency chain (data,
                                   structure, streams; lanes and issue limits ignored): the
                                   makespan with unlimited lanes                            */
} pto_rt_stats;

typedef struct pto_rt_error {
    int code;                   /* PTO_RT_E*, 0 when none                                   */
    int kernel_rc;              /* EKERNEL: the kernel's return value                       */
    int64_t task_id;            /* kernel-task index (submission order) or -1               */
    uint32_t kernel_id;
    const char *task_name;      /* the name given at submission (may be NULL)               */
    char message[1024];         /* human-readable description                               */
} pto_rt_error;

typedef struct pto_rt pto_rt;

/* ------------------------------------------------------------------------------------------
 * Functions
 * ---------------------------------------------------------------------------------------- */
void pto_rt_config_default(pto_rt_config *cfg);

/* Create a runtime (starts the worker threads). Returns NULL on failure; if err is not NULL
 * it receives the reason (e.g. an invalid configuration). */
pto_rt *pto_rt_create(const pto_rt_config *cfg, pto_rt_error *err);
/* Waits for all tasks (as pto_rt_finish), stops the threads and frees everything. */
void pto_rt_destroy(pto_rt *rt);

/* Submit a task. Returns its kernel-task index (>= 0, submission order) or -PTO_RT_E*. */
int64_t pto_rt_submit(pto_rt *rt, const pto_rt_task *task);

/* Structured scopes (program structure). SEQ: every task of iteration i+1 depends on every
 * task of iteration i (pto_rt_scope_next separates iterations). PAR: no constraint among
 * children. Structure orders real execution and simulated time in every deps mode (one
 * join node per SEQ iteration); the v9 timing model uses only structure. */
int pto_rt_scope_begin(pto_rt *rt, int kind);
int pto_rt_scope_next(pto_rt *rt);
int pto_rt_scope_end(pto_rt *rt);

/* Block (helping execute) until every submitted writer of the region has finished.
 * DEPS_TENSOR_MAP_EXACT: writers of the same region key; BYTES_OVERLAP/HYBRID: writers of
 * any overlapping region; DEPS_EXPLICIT (no data tracking): all submitted tasks.
 * Returns 0, or the run's error code if one occurred. */
int pto_rt_wait_region(pto_rt *rt, const pto_rt_region *region);

/* Wait until every submitted task finished (or was cancelled). Returns 0 or the first error
 * code. More tasks may be submitted afterwards; finish can be called again. */
int pto_rt_finish(pto_rt *rt);

const pto_rt_error *pto_rt_error_info(const pto_rt *rt);
void pto_rt_get_stats(const pto_rt *rt, pto_rt_stats *out);
/* Per real worker (0 = the orchestrating thread): kernels executed; -1 if out of range. */
int64_t pto_rt_worker_executed(const pto_rt *rt, uint32_t worker);
/* Inside a kernel: index of the worker executing it (0 = orchestrating thread); else -1. */
int32_t pto_rt_self_worker(void);
/* Pool of a worker, or -1. */
int32_t pto_rt_worker_pool(const pto_rt *rt, uint32_t worker);
/* Per simulated lane: tasks placed and busy cycles. Lane numbering: aicpu a has lanes
 * a*(V+C) .. a*(V+C)+V-1 (vector) then C cube lanes. v9 mode: one lane per AICPU. */
int pto_rt_lane_stats(const pto_rt *rt, uint32_t lane, uint64_t *tasks, uint64_t *busy_cycles);
/* Per kernel id: kernel tasks simulated (incl. cancelled) and their simulated cycles. */
int pto_rt_kernel_stats(const pto_rt *rt, uint32_t kernel_id, uint64_t *tasks, uint64_t *cycles);
/* Bytes a task occupies in a BYTES window (descriptor incl. args and region records). */
uint64_t pto_rt_task_bytes(uint32_t args_size, uint32_t num_regions);

/* Tracing (config.trace != 0), after finish. Chrome-trace JSON (Perfetto): one track per
 * simulated lane (ts in cycles shown as microseconds) and per real worker (WALL); each task
 * event names its kernel and carries its loop indices; flow arrows for dependencies. DOT:
 * task graph, at most max_nodes tasks (else PTO_RT_EINVAL), one edge per task pair labelled
 * with its kinds (RAW, WAR, WAW, stream; structure edges pass through SEQ join points). */
int pto_rt_write_trace(pto_rt *rt, const char *path);
int pto_rt_write_dot(pto_rt *rt, const char *path, uint64_t max_nodes);
/* Number of recorded trace events and one event (simulated placement of a kernel task). */
uint64_t pto_rt_trace_count(const pto_rt *rt);
int pto_rt_trace_event(const pto_rt *rt, uint64_t i, int64_t *task_id, uint32_t *lane,
                       uint64_t *sim_start, uint64_t *sim_end, int32_t *worker);

const char *pto_rt_strerror(int code);

/* Fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) raised while a kernel runs print
 * "pto-wsp: fatal signal ... in kernel '<name>' (id k), task n, indices [...]" to stderr
 * (async-signal-safe) and then go on to the handler installed before (or the default
 * action: the process ends). Installed once per process image by pto_rt_create; worker
 * threads (and an orchestrating thread without one) get an alternate signal stack, so a
 * kernel's stack overflow is reported too. */

#ifdef __cplusplus
}
#endif
#endif /* PTO_RT_H */

#pragma once
/* pto_orch_abi.h - the ABI between Program (Python, via cffi) and a generated orchestrate.c.
 * Also read by the Python side as the cffi cdef: plain declarations only (lines starting
 * with '#' are dropped there). */
#include <stdint.h>

typedef struct pto_inputs {
    void **tensors;                /* base pointer of each tensor (element 0, 0, ...)     */
    const int64_t *strides;        /* element strides, [num_tensors][PTO_ORCH_MAX_RANK]   */
    const int64_t *axis_size;      /* per axis: extent (dense, dense_dyn) / outer size   */
    const int64_t *const *axis_a;  /* ragged lengths / sparse indptr, per axis            */
    const int64_t *const *axis_b;  /* sparse indices, per axis                            */
    const uint64_t *sym_u;         /* integer symbols (bit pattern)                       */
    const double *sym_f;           /* float symbols                                       */
    uint32_t num_threads;          /* 0 = all host cores                                  */
    const char *trace_path;        /* Chrome trace JSON written here when tracing         */
    const char *dot_path;          /* DOT task graph written here when tracing            */
    uint64_t dot_max_nodes;
    const uint32_t *overlap;       /* per tensor: 1 = its regions are overlap-tracked     */
    uint64_t channel_latency;      /* simulated cycles of a CSP token's transfer          */
    uint64_t *kernel_stats;        /* out: per kernel id, tasks then simulated cycles     */
    uint32_t num_kernels;
    uint64_t *lane_stats;          /* out: per simulated lane, tasks then busy cycles     */
    uint32_t num_lanes;
    uint64_t *progress;            /* out, while running: tasks submitted, tasks retired  */
    const char *record_path;       /* test aid: the submitted stream is written here      */
    /* what the plan interpreter (pto_plan.h) checks a plan against; pto_run needs none   */
    const int64_t *shapes;         /* per tensor: extents, [num_tensors][PTO_ORCH_MAX_RANK] */
    const int64_t *axis_len;       /* per axis: elements of axis_a[a], of axis_b[a]       */
    uint32_t num_tensors, num_axes, num_symbols;
} pto_inputs;

typedef struct pto_outputs {
    uint64_t task_count, executed, failed, cancelled, total_cycles;
    uint64_t window_overflows, window_stalls, max_in_flight, peak_regions, critical_path;
    double wall_ms, orchestration_ms;
    uint32_t num_workers, num_lanes;
    int code;                      /* 0, a PTO_RT_E* code, or PTO_ORCH_ESITE              */
    int kernel_rc;
    int64_t task_id;
    uint32_t kernel_id;
    char message[1024];
    int site;                      /* PTO_ORCH_ESITE: index of the failing source site    */
    int64_t bad_value;             /* ... and the offending value                         */
    uint64_t slots[64];            /* final values of the runtime slots                   */
} pto_outputs;

int pto_run(const pto_inputs *in, pto_outputs *out);

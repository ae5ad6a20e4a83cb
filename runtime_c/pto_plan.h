/* pto_plan.h - the task-generation plan and its interpreter (docs/ascend.md, "Plan format").
 *
 * A plan is the workload compiled to a compact, versioned bytecode
 * (src/pto_wsp/backends/ascend/plan.py: compile_plan). The fixed interpreter here expands it
 * into the same task stream the generated orchestrate.c submits: loops over axes, P.when
 * branches, slot operations, scopes, CSP pipelines (processes as resumable cursors), and per
 * kernel call its argument block, tensor regions, dispatch/stream keys and priority. Dynamic sizes (DenseDyn extents, ragged lengths, CSR
 * arrays), symbols and slots are read from pto_inputs at expansion time: a plan never holds
 * them, so new sizes need no new plan.
 *
 * Kernels are named by kernel id (the index of the kernel in the module, as in cpu_sim's
 * kernel stats). The program that links the interpreter defines the kernel table below.
 *
 * Any plan is safe to expand: the interpreter checks the format and every operand, keeps
 * every view it builds inside its tensor's memory (pto_inputs.shapes, strides) and every
 * axis array read inside its length (pto_inputs.axis_len), and terminates unless a CSP
 * pipeline passes tokens around a cycle forever (as it would on cpu_sim). What it
 * cannot check is that a plan belongs to the program: a kernel trusts its view to be as
 * large as its tile, as compile_plan makes it.
 */
#ifndef PTO_PLAN_H
#define PTO_PLAN_H
#include <stddef.h>
#include <stdint.h>
#include "pto_orch_abi.h"
#include "pto_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PTO_PLAN_MAGIC 0x574F5450u /* bytes "PTOW" read as a little-endian uint32      */
#define PTO_PLAN_VERSION 2u
#define PTO_PLAN_ALL_AICPUS 0xFFFFFFFFu /* pto_plan_expand: every task, whatever its AICPU */

/* Error codes of the interpreter (out->code), beside PTO_RT_E* and PTO_ORCH_ESITE. */
enum {
    PTO_PLAN_EFORMAT = 200,   /* malformed plan: bad magic/version, truncated, an operand out
                                 of range; out->message says what and at which byte        */
    PTO_PLAN_EDISPATCH = 201, /* per-AICPU expansion asked of a dispatch policy that decides
                                 placement only while running (work_steal)                 */
    PTO_PLAN_EBUDGET = 202    /* pto_plan_record: more instructions than max_steps          */
};

/* One kernel of the program, indexed by kernel id. */
typedef struct pto_plan_kernel {
    pto_kernel_fn fn;      /* the kernel's entry point                                       */
    pto_kernel_fn cost_fn; /* TracePolicy.cycles(...): runs fn and reports the cycles stored
                              after the argument block; NULL when the kernel has no cost fn  */
    const char *name;
} pto_plan_kernel;

/* Defined by the program that links the interpreter (generated next to the kernels). */
extern const pto_plan_kernel pto_plan_kernels[];
extern const uint32_t pto_plan_num_kernels;

/* Where an expansion sends what it generates, in program order. Each returns 0 or a
 * PTO_RT_E* code (submit: the task's index >= 0 or -PTO_RT_E*). `aicpu` is the AICPU the
 * dispatch policy gives the task (UINT32_MAX: decided while running, work_steal). */
typedef struct pto_plan_sink {
    void *ctx;
    int64_t (*submit)(void *ctx, const pto_rt_task *task, uint32_t aicpu);
    int (*scope_begin)(void *ctx, int kind);
    int (*scope_next)(void *ctx);
    int (*scope_end)(void *ctx);
    /* slot_load_u64: wait until every writer of the region submitted so far has finished */
    int (*wait_region)(void *ctx, const pto_rt_region *region);
} pto_plan_sink;

/* Check a plan (header, sections, every instruction's operands) without running it.
 * Returns 0 or PTO_PLAN_EFORMAT with the reason in msg. */
int pto_plan_check(const uint8_t *plan, uint64_t plan_bytes, char *msg, size_t msg_size);

/* The runtime configuration the plan's schedule asks for (pto_rt_config_default + the plan's
 * fields). Returns 0 or PTO_PLAN_EFORMAT. */
int pto_plan_config(const uint8_t *plan, uint64_t plan_bytes, pto_rt_config *cfg,
                    char *msg, size_t msg_size);

/* Expand the plan into `sink`. aicpu = PTO_PLAN_ALL_AICPUS: every task; else only the tasks
 * the dispatch policy gives that AICPU (scopes and slot operations are expanded on every
 * AICPU). On error returns (and sets out->code to) a PTO_RT_E*, PTO_PLAN_E* or PTO_ORCH_ESITE
 * code, with out->site / out->bad_value / out->message as pto_run sets them; out's other
 * fields are not touched. */
int pto_plan_expand(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                    uint32_t aicpu, const pto_plan_sink *sink, pto_outputs *out);

/* Run the plan: create the runtime with the plan's configuration, expand every task into it,
 * finish, and fill `out` -- the same contract as the generated pto_run(in, out). */
int pto_plan_run(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                 pto_outputs *out);

/* Expand for one AICPU (or PTO_PLAN_ALL_AICPUS) into `path` as the records of pto_record.h,
 * without running anything (a test aid: region waits are recorded, not waited for, so slot
 * loads read the tensors as they are), executing at most max_steps instructions (0: no
 * limit; else PTO_PLAN_EBUDGET past it). path NULL: nothing is written, out->task_count
 * counts the tasks (the expansion alone, for measurements). Returns as pto_plan_expand. */
int pto_plan_record(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                    uint32_t aicpu, const char *path, uint64_t max_steps, pto_outputs *out);

#ifdef __cplusplus
}
#endif
#endif /* PTO_PLAN_H */

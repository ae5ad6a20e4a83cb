/* pto_record.h - the task-stream recorder (test aid): what an orchestration hands the runtime,
 * in order, as binary records. The runtime writes them when pto_rt_config.record_path is set;
 * the plan interpreter writes the same records for a per-AICPU expansion (pto_plan_record).
 * Records (native byte order):
 *   'T' kernel_id aicpu exec_unit pool (u32) dispatch_key stream_key (u64) priority (i32)
 *       has_fn (u32) args_size (u32) args[args_size] num_regions (u32) regions (pto_rt_region)
 *       num_indices (u32) indices (i64) name_len (u32) name[name_len]
 *   'B' kind (i32)   'N'   'E'   'W' region (pto_rt_region)
 * aicpu is the dispatch target (UINT32_MAX: decided while running, work_steal). */
#ifndef PTO_RECORD_H
#define PTO_RECORD_H
#include <stdio.h>
#include <string.h>
#include "pto_rt.h"

static inline void pto_record_u32(FILE *f, uint32_t v) { fwrite(&v, sizeof v, 1, f); }

static inline void pto_record_task(FILE *f, const pto_rt_task *d, uint32_t aicpu)
{
    const uint32_t head[4] = {d->kernel_id, aicpu, d->exec_unit, d->pool};
    const uint64_t keys[2] = {d->dispatch_key, d->stream_key};
    fputc('T', f);
    fwrite(head, sizeof head, 1, f);
    fwrite(keys, sizeof keys, 1, f);
    fwrite(&d->priority, sizeof d->priority, 1, f);
    pto_record_u32(f, d->fn != NULL);
    pto_record_u32(f, d->args_size);
    if (d->args_size) fwrite(d->args, 1, d->args_size, f);
    pto_record_u32(f, d->num_regions);
    if (d->num_regions) fwrite(d->regions, sizeof *d->regions, d->num_regions, f);
    pto_record_u32(f, d->num_indices);
    if (d->num_indices) fwrite(d->indices, sizeof *d->indices, d->num_indices, f);
    const uint32_t n = d->name ? (uint32_t)strlen(d->name) : 0;
    pto_record_u32(f, n);
    if (n) fwrite(d->name, 1, n, f);
}

static inline void pto_record_scope(FILE *f, char what, int kind)
{
    fputc(what, f);
    if (what == 'B') fwrite(&kind, sizeof kind, 1, f);
}

static inline void pto_record_wait(FILE *f, const pto_rt_region *r)
{
    fputc('W', f);
    fwrite(r, sizeof *r, 1, f);
}
#endif

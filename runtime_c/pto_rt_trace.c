/* pto_rt_trace.c - trace export of the pto-wsp runtime: Chrome-trace JSON (Perfetto) and DOT.
 * Events are recorded by the retiring thread in submission order (pto_rt.c); nothing here
 * runs unless config.trace is set. */
#include "pto_rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static const char *status_name(int st) {
    switch (st) {
    case ST_DONE: return "ok";
    case ST_FAILED: return "failed";
    case ST_CANCELLED: return "cancelled";
    default: return "pending";
    }
}

/* Map kernel-task index -> trace event (indices are dense, events in submission order). */
static size_t *event_index(const pto_rt *rt) {
    size_t n = (size_t)rt->submitted_tasks;
    size_t *m = malloc((n ? n : 1) * sizeof *m);
    if (!m) return NULL;
    for (size_t i = 0; i < n; i++) m[i] = SIZE_MAX;
    for (size_t i = 0; i < rt->ntev; i++) {
        int64_t k = rt->tev[i].task_index;
        if (k >= 0 && (size_t)k < n) m[k] = i;
    }
    return m;
}

static int i64_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int edge_cmp(const void *a, const void *b) {
    const rt_trace_edge *x = a, *y = b;
    if (x->from != y->from) return x->from < y->from ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to;
}

/* The recorded dependencies sorted, one per (from, to) with the union of their kinds
 * (malloc'd; *n receives the count). */
static rt_trace_edge *merged_edges(const pto_rt *rt, size_t *n) {
    rt_trace_edge *v = malloc((rt->nted ? rt->nted : 1) * sizeof *v);
    if (!v) return NULL;
    if (rt->nted) memcpy(v, rt->ted, rt->nted * sizeof *v);
    qsort(v, rt->nted, sizeof *v, edge_cmp);
    size_t k = 0;
    for (size_t i = 0; i < rt->nted; i++) {
        if (k && v[k - 1].from == v[i].from && v[k - 1].to == v[i].to) v[k - 1].kinds |= v[i].kinds;
        else v[k++] = v[i];
    }
    *n = k;
    return v;
}

static void edge_label(uint32_t kinds, char *buf, size_t n) {
    static const char *names[] = {"RAW", "WAR", "WAW", "structure", "stream"};
    size_t len = 0;
    buf[0] = 0;
    for (int b = 0; b < 5; b++)
        if (kinds >> b & 1) len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "," : "", names[b]);
}

/* Task events' common args: kernel name and loop indices. */
static void ev_args(FILE *f, const rt_trace_ev *v) {
    fprintf(f, "\"kernel\":");
    json_str(f, v->name ? v->name : "task");
    fprintf(f, ",\"index\":[");
    for (uint32_t i = 0; i < v->nidx; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)v->idx[i]);
    fprintf(f, "],");
}

static void lane_name(const pto_rt *rt, uint32_t lane, char *buf, size_t n) {
    const pto_rt_config *c = &rt->cfg;
    if (c->v9_compat) { snprintf(buf, n, "aicpu %u (v9 worker)", lane); return; }
    uint32_t G = c->vector_lanes + c->cube_lanes, a = lane / G, l = lane % G;
    if (l < c->vector_lanes) snprintf(buf, n, "aicpu %u vector lane %u", a, l);
    else snprintf(buf, n, "aicpu %u cube lane %u", a, l - c->vector_lanes);
}

int pto_rt_write_trace(pto_rt *rt, const char *path) {
    if (!rt->cfg.trace) return PTO_RT_ESTATE;
    FILE *f = fopen(path, "w");
    if (!f) return PTO_RT_EIO;
    size_t *idx = event_index(rt), ned = 0;
    rt_trace_edge *ed = merged_edges(rt, &ned);
    if (!idx || !ed) { free(idx); free(ed); fclose(f); return PTO_RT_ENOMEM; }
    int cyc = (rt->cfg.trace & PTO_RT_TRACE_CYCLES) != 0, wall = (rt->cfg.trace & PTO_RT_TRACE_WALL) != 0;
    fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    int first = 1;
#define SEP() do { if (!first) fputs(",\n", f); first = 0; } while (0)
    char buf[96];
    if (cyc) {
        SEP();
        fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"simulated NPU (1 cycle shown as 1 us)\"}}");
        for (uint32_t l = 0; l < rt->nlanes; l++) {
            lane_name(rt, l, buf, sizeof buf);
            SEP();
            fprintf(f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":\"%s\"}}", l, buf);
        }
    }
    if (wall) {
        SEP();
        fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,\"args\":{\"name\":\"host workers (wall clock)\"}}");
        for (uint32_t w = 0; w < rt->nworkers; w++) {
            SEP();
            fprintf(f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":%u,\"args\":{\"name\":\"worker %u%s (pool %u)\"}}",
                    w, w, w == 0 ? " = orchestrator" : "", rt->workers[w].pool);
        }
    }
    for (size_t i = 0; i < rt->ntev; i++) {
        const rt_trace_ev *v = &rt->tev[i];
        if (cyc) {
            SEP();
            fprintf(f, "{\"name\":");
            json_str(f, v->name ? v->name : "task");
            fprintf(f, ",\"cat\":\"task\",\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%llu,\"dur\":%llu,"
                       "\"args\":{", v->lane, (unsigned long long)v->sim_start,
                    (unsigned long long)(v->sim_end - v->sim_start));
            ev_args(f, v);
            fprintf(f, "\"task\":%lld,\"kernel_id\":%u,\"worker\":%d,\"status\":\"%s\"}}",
                    (long long)v->task_index, v->kernel_id, v->worker, status_name(v->status));
        }
        if (wall && v->worker >= 0 && v->status != ST_CANCELLED) {
            SEP();
            fprintf(f, "{\"name\":");
            json_str(f, v->name ? v->name : "task");
            fprintf(f, ",\"cat\":\"task\",\"ph\":\"X\",\"pid\":2,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,"
                       "\"args\":{", v->worker, (double)v->wall_begin / 1e3,
                    (double)(v->wall_end - v->wall_begin) / 1e3);
            ev_args(f, v);
            fprintf(f, "\"task\":%lld,\"status\":\"%s\"}}", (long long)v->task_index,
                    status_name(v->status));
        }
    }
    /* flow arrows for dependencies: on the simulated tracks when present, else host tracks */
    for (size_t k = 0; k < ned; k++) {
        const rt_trace_edge *e = &ed[k];
        if ((size_t)e->from >= rt->submitted_tasks || (size_t)e->to >= rt->submitted_tasks) continue;
        size_t a = idx[e->from], b = idx[e->to];
        if (a == SIZE_MAX || b == SIZE_MAX) continue;
        const rt_trace_ev *x = &rt->tev[a], *y = &rt->tev[b];
        if (cyc) {
            SEP();
            fprintf(f, "{\"name\":\"dep\",\"cat\":\"dep\",\"ph\":\"s\",\"id\":%zu,\"pid\":1,\"tid\":%u,\"ts\":%llu}",
                    k + 1, x->lane, (unsigned long long)x->sim_end);
            SEP();
            fprintf(f, "{\"name\":\"dep\",\"cat\":\"dep\",\"ph\":\"f\",\"bp\":\"e\",\"id\":%zu,\"pid\":1,\"tid\":%u,\"ts\":%llu}",
                    k + 1, y->lane, (unsigned long long)y->sim_start);
        } else if (x->worker >= 0 && y->worker >= 0) {
            SEP();
            fprintf(f, "{\"name\":\"dep\",\"cat\":\"dep\",\"ph\":\"s\",\"id\":%zu,\"pid\":2,\"tid\":%d,\"ts\":%.3f}",
                    k + 1, x->worker, (double)x->wall_end / 1e3);
            SEP();
            fprintf(f, "{\"name\":\"dep\",\"cat\":\"dep\",\"ph\":\"f\",\"bp\":\"e\",\"id\":%zu,\"pid\":2,\"tid\":%d,\"ts\":%.3f}",
                    k + 1, y->worker, (double)y->wall_begin / 1e3);
        }
    }
#undef SEP
    fprintf(f, "\n]}\n");
    free(idx);
    free(ed);
    return fclose(f) == 0 ? PTO_RT_OK : PTO_RT_EIO;
}

int pto_rt_write_dot(pto_rt *rt, const char *path, uint64_t max_nodes) {
    if (!rt->cfg.trace) return PTO_RT_ESTATE;
    if (rt->ntev > max_nodes) return PTO_RT_EINVAL;
    FILE *f = fopen(path, "w");
    if (!f) return PTO_RT_EIO;
    fprintf(f, "digraph pto_tasks {\n  rankdir=TB;\n  node [shape=box, fontsize=10];\n");
    char buf[96];
    for (size_t i = 0; i < rt->ntev; i++) {
        const rt_trace_ev *v = &rt->tev[i];
        lane_name(rt, v->lane, buf, sizeof buf);
        fprintf(f, "  t%lld [label=\"", (long long)v->task_index);
        for (const char *s = v->name ? v->name : "task"; *s; s++) {
            if (*s == '"' || *s == '\\') fputc('\\', f);
            fputc(*s, f);
        }
        fprintf(f, " #%lld\\n%s\\n[%llu, %llu)\"%s];\n", (long long)v->task_index, buf,
                (unsigned long long)v->sim_start, (unsigned long long)v->sim_end,
                v->status == ST_FAILED ? ", color=red" : v->status == ST_CANCELLED ? ", style=dashed" : "");
    }
    size_t ned = 0;
    rt_trace_edge *ed = merged_edges(rt, &ned);
    if (!ed) { fclose(f); return PTO_RT_ENOMEM; }
    /* SEQ joins (structure edges pass through them) are points; nodes are t<task>, j<join> */
    int64_t *joins = malloc((2 * ned + 1) * sizeof *joins);
    if (!joins) { free(ed); fclose(f); return PTO_RT_ENOMEM; }
    size_t nj = 0;
    for (size_t k = 0; k < ned; k++) {
        if (ed[k].from <= -2) joins[nj++] = -2 - ed[k].from;
        if (ed[k].to <= -2) joins[nj++] = -2 - ed[k].to;
    }
    qsort(joins, nj, sizeof *joins, i64_cmp);
    for (size_t k = 0; k < nj; k++)
        if (!k || joins[k] != joins[k - 1]) fprintf(f, "  j%lld [shape=point];\n", (long long)joins[k]);
    free(joins);
    char lab[64];
    for (size_t k = 0; k < ned; k++) {
        const rt_trace_edge *e = &ed[k];
        edge_label(e->kinds, lab, sizeof lab);
        fprintf(f, "  %c%lld -> %c%lld [label=\"%s\"%s];\n", e->from <= -2 ? 'j' : 't',
                (long long)(e->from <= -2 ? -2 - e->from : e->from), e->to <= -2 ? 'j' : 't',
                (long long)(e->to <= -2 ? -2 - e->to : e->to), lab,
                e->kinds == RT_DEP_STRUCT ? ", style=dotted" : "");
    }
    free(ed);
    fprintf(f, "}\n");
    return fclose(f) == 0 ? PTO_RT_OK : PTO_RT_EIO;
}

uint64_t pto_rt_trace_count(const pto_rt *rt) { return rt->ntev; }

int pto_rt_trace_event(const pto_rt *rt, uint64_t i, int64_t *task_id, uint32_t *lane,
                       uint64_t *sim_start, uint64_t *sim_end, int32_t *worker) {
    if (i >= rt->ntev) return PTO_RT_EINVAL;
    const rt_trace_ev *v = &rt->tev[i];
    if (task_id) *task_id = v->task_index;
    if (lane) *lane = v->lane;
    if (sim_start) *sim_start = v->sim_start;
    if (sim_end) *sim_end = v->sim_end;
    if (worker) *worker = v->worker;
    return 0;
}

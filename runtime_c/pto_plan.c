/* pto_plan.c - the plan interpreter (pto_plan.h; format in docs/ascend.md, "Plan format").
 *
 * pto_plan_check validates a plan once (header, configuration, every instruction's operands
 * and jump targets); the interpreter then needs to check only what depends on the running
 * state: the value stack, loop frames, arrays absent from the inputs. Every loop runs a
 * bounded number of iterations and every other jump goes forward, so any plan that passes
 * the check terminates. */
#include "pto_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pto_orch.h"
#include "pto_record.h"

enum { /* opcodes: src/pto_wsp/backends/ascend/plan.py OPS */
    OP_PUSH = 0x01, OP_VAR, OP_SYM_U, OP_SYM_F, OP_SLOT, OP_AXIS_SIZE, OP_AXIS_A, OP_AXIS_B,
    OP_DUP, OP_SWAP, OP_IDX, OP_CVT, OP_BIN, OP_NEG, OP_INV, OP_TEST, OP_NOT, OP_JZ, OP_JMP,
    OP_AND_JZ, OP_OR_JNZ, OP_SET, OP_FOR, OP_NEXT, OP_SEQ_NEXT, OP_SCOPE_BEGIN, OP_SCOPE_NEXT,
    OP_SCOPE_END, OP_SLOT_SET, OP_VIEW, OP_VIEW_IDX, OP_SLOT_LOAD, OP_TASK, OP_ARG, OP_ARG_VIEW,
    OP_TASK_KEYS, OP_TASK_INDEX, OP_TASK_COST, OP_SUBMIT, OP_PIPE, OP_CHAN, OP_PROC, OP_PEND,
    OP_CLOSE, OP_SEND_BEGIN, OP_SEND_END, OP_RENDEZVOUS, OP_RECV, OP_RELEASE, OP_CONSUME,
    OP_CONSUMED, OP_PENDING, OP_NOOP, OP_CSP_REGION, OP_COUNT
};
/* operand bytes per opcode (0xFF: no such opcode) */
static const uint8_t op_len[OP_COUNT] = {
    0xFF, 8, 2, 2, 2, 1, 2, 2, 2, 0, 0, 10, 3, 4, 1, 1, 1, 1, 4, 4, 4, 4, 2, 6, 0, 0, 1, 0, 0,
    1, 0, 13, 38, 10, 4, 40, 0, 0, 0, 0, 6, 14, 8, 0, 2, 4, 2, 4, 6, 4, 8, 8, 2, 4, 6};

enum { K_I64 = 0, K_U64 = 1, K_F64 = 2 };                 /* value kinds            */
enum { C_I8, C_I16, C_I32, C_I64, C_U8, C_U16, C_U32, C_U64, C_F32, C_F64, C_NONE };
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_FLOORDIV, B_MOD, B_AND, B_OR, B_XOR, B_SHL, B_SHR, B_LT,
       B_LE, B_GT, B_GE, B_EQ, B_NE, B_LAND, B_LOR, B_MIN, B_MAX, B_COUNT };
static const uint8_t ct_size[C_NONE] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8};

#define HEADER_BYTES 28u
#define NCONFIG 32u
#define STACK 256   /* > MAX_EXPR_DEPTH (128) + what a statement keeps on the stack */
#define FRAMES 256  /* nested loops */
#define ARGS_MAX 512
#define CHAN_DEPTH_MAX (1u << 20) /* slots of one channel */

typedef struct plan_hdr {
    uint32_t total, kernels, tensors, axes, symbols, regs, nconfig, nstrings;
    uint64_t strings;   /* string section [strings, code): NUL-terminated names          */
    uint64_t code, end; /* code section [code, end)                                       */
} plan_hdr;

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int fmt_err(char *msg, size_t n, const char *fmt, ...)
{
    if (msg && n) {
        va_list ap;
        va_start(ap, fmt);
        int k = snprintf(msg, n, "malformed plan: ");
        if (k > 0 && (size_t)k < n) vsnprintf(msg + k, n - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return PTO_PLAN_EFORMAT;
}

static int parse_header(const uint8_t *p, uint64_t n, plan_hdr *h, char *msg, size_t ms)
{
    if (!p || n < HEADER_BYTES) return fmt_err(msg, ms, "%llu bytes, shorter than its header",
                                               (unsigned long long)n);
    if (rd32(p) != PTO_PLAN_MAGIC) return fmt_err(msg, ms, "bad magic 0x%08x", rd32(p));
    if (rd16(p + 4) != PTO_PLAN_VERSION)
        return fmt_err(msg, ms, "version %u, this interpreter reads version %u", rd16(p + 4),
                       PTO_PLAN_VERSION);
    if (rd16(p + 6) != 0) return fmt_err(msg, ms, "unknown flags 0x%x", rd16(p + 6));
    h->total = rd32(p + 8);
    if (h->total != n)
        return fmt_err(msg, ms, "the header says %u bytes, %llu were given", h->total,
                       (unsigned long long)n);
    h->kernels = rd16(p + 12);
    h->tensors = rd16(p + 14);
    h->axes = rd16(p + 16);
    h->symbols = rd16(p + 18);
    h->regs = rd16(p + 20);
    h->nconfig = rd16(p + 22);
    h->nstrings = rd32(p + 24);
    h->strings = HEADER_BYTES + 9ull * h->nconfig;
    h->code = h->strings + h->nstrings;
    h->end = n;
    if (h->code > n) return fmt_err(msg, ms, "truncated configuration or string section");
    if (h->nstrings && p[h->code - 1] != 0)
        return fmt_err(msg, ms, "the string section does not end with a NUL");
    if (h->kernels > pto_plan_num_kernels)
        return fmt_err(msg, ms, "%u kernels, the program has %u", h->kernels,
                       pto_plan_num_kernels);
    return 0;
}

/* CONFIG_FIELDS of plan.py, in order: where each lives in pto_rt_config */
#define F32(f) {offsetof(pto_rt_config, f), 4}
#define F64(f) {offsetof(pto_rt_config, f), 8}
static const struct { size_t off, size; } cfg_fields[] = {
    F32(deps), F32(ready), F32(pools), F32(num_pools), F32(pool_workers[0]),
    F32(pool_workers[1]), F32(pool_workers[2]), F32(pool_workers[3]), F32(pool_workers[4]),
    F32(pool_workers[5]), F32(pool_workers[6]), F32(pool_workers[7]), F32(dispatch),
    F32(num_aicpus), F32(vector_lanes), F32(cube_lanes), F32(num_streams),
    F32(stream_round_robin), F32(timing), F64(timing_param), F64(window_size),
    F32(window_unit), F32(window_mode), F32(start), F64(start_threshold), F32(trace),
    F32(v9_compat), F32(exec_units), F64(clock_khz)};
#undef F32
#undef F64

static int parse_config(const uint8_t *p, const plan_hdr *h, pto_rt_config *cfg, char *msg,
                        size_t ms)
{
    pto_rt_config_default(cfg);
    for (uint32_t i = 0; i < h->nconfig; ++i) {
        const uint8_t *e = p + HEADER_BYTES + 9 * i;
        const uint64_t v = rd64(e + 1);
        if (e[0] >= sizeof cfg_fields / sizeof cfg_fields[0])
            return fmt_err(msg, ms, "unknown configuration field %u", e[0]);
        if (cfg_fields[e[0]].size == 4) {
            if (v > UINT32_MAX)
                return fmt_err(msg, ms, "configuration field %u = %llu does not fit 32 bits",
                               e[0], (unsigned long long)v);
            const uint32_t w = (uint32_t)v;
            memcpy((char *)cfg + cfg_fields[e[0]].off, &w, 4);
        } else {
            memcpy((char *)cfg + cfg_fields[e[0]].off, &v, 8);
        }
    }
    return 0;
}

int pto_plan_config(const uint8_t *plan, uint64_t plan_bytes, pto_rt_config *cfg, char *msg,
                    size_t msg_size)
{
    plan_hdr h;
    int rc = parse_header(plan, plan_bytes, &h, msg, msg_size);
    return rc ? rc : parse_config(plan, &h, cfg, msg, msg_size);
}

/* The operand checks of one instruction at pc (operands at o). */
static int check_insn(const plan_hdr *h, uint64_t pc, const uint8_t *o, uint8_t op,
                      uint64_t next, char *msg, size_t ms)
{
#define NEED(cond, ...) do { if (!(cond)) return fmt_err(msg, ms, __VA_ARGS__); } while (0)
    switch (op) {
    case OP_VAR: case OP_SET:
        NEED(rd16(o) < h->regs, "register %u of %u at byte %llu", rd16(o), h->regs,
             (unsigned long long)pc);
        break;
    case OP_FOR:
        NEED(rd16(o) < h->regs, "register %u of %u at byte %llu", rd16(o), h->regs,
             (unsigned long long)pc);
        NEED(rd32(o + 2) <= h->end - next, "jump past the end at byte %llu",
             (unsigned long long)pc);
        break;
    case OP_SYM_U: case OP_SYM_F:
        NEED(rd16(o) < h->symbols, "symbol %u of %u at byte %llu", rd16(o), h->symbols,
             (unsigned long long)pc);
        break;
    case OP_SLOT: case OP_SLOT_SET:
        NEED(o[0] < 64, "slot %u at byte %llu", o[0], (unsigned long long)pc);
        break;
    case OP_AXIS_SIZE: case OP_AXIS_A: case OP_AXIS_B:
        NEED(rd16(o) < h->axes, "axis %u of %u at byte %llu", rd16(o), h->axes,
             (unsigned long long)pc);
        break;
    case OP_CVT:
        NEED(o[0] <= K_F64 && o[1] <= C_NONE && o[2] <= K_F64, "bad conversion at byte %llu",
             (unsigned long long)pc);
        break;
    case OP_BIN:
        NEED(o[0] < B_COUNT && o[0] != B_LAND && o[0] != B_LOR && o[1] <= K_F64,
             "bad binary operator %u/%u at byte %llu", o[0], o[1], (unsigned long long)pc);
        NEED(!((o[1] == K_F64) && (o[0] == B_FLOORDIV || o[0] == B_MOD || o[0] == B_AND ||
                                   o[0] == B_OR || o[0] == B_XOR || o[0] == B_SHL ||
                                   o[0] == B_SHR)) && !(o[1] != K_F64 && o[0] == B_DIV),
             "operator %u on kind %u at byte %llu", o[0], o[1], (unsigned long long)pc);
        break;
    case OP_NEG: case OP_TEST: case OP_NOT:
        NEED(o[0] <= K_F64, "bad kind at byte %llu", (unsigned long long)pc);
        break;
    case OP_INV:
        NEED(o[0] <= K_U64, "bad kind at byte %llu", (unsigned long long)pc);
        break;
    case OP_JZ: case OP_JMP: case OP_AND_JZ: case OP_OR_JNZ:
        NEED(rd32(o) <= h->end - next, "jump past the end at byte %llu",
             (unsigned long long)pc);
        break;
    case OP_SCOPE_BEGIN:
        NEED(o[0] <= 1, "scope kind %u at byte %llu", o[0], (unsigned long long)pc);
        break;
    case OP_VIEW_IDX:
        NEED(rd16(o) < h->tensors && o[2] < PTO_ORCH_MAX_RANK, "tensor %u dim %u at byte %llu",
             rd16(o), o[2], (unsigned long long)pc);
        break;
    case OP_SLOT_LOAD:
        NEED(rd16(o) < h->tensors && o[2] < C_NONE && o[3] < 64 && o[28] < PTO_ORCH_MAX_RANK &&
             o[37] < PTO_ORCH_MAX_RANK, "bad slot load at byte %llu", (unsigned long long)pc);
        break;
    case OP_TASK:
        NEED(rd16(o) < h->kernels && rd16(o + 2) <= ARGS_MAX - 16 && o[4] <= 1 &&
             o[5] < PTO_RT_MAX_POOLS, "bad task at byte %llu", (unsigned long long)pc);
        break;
    case OP_ARG:
        NEED(o[2] <= K_F64 && o[3] < C_NONE && rd16(o) + ct_size[o[3]] <= ARGS_MAX - 16,
             "bad argument at byte %llu", (unsigned long long)pc);
        break;
    case OP_CHAN:
        NEED(rd64(o) <= CHAN_DEPTH_MAX && rd32(o + 10) < h->nstrings,
             "bad channel (depth or name) at byte %llu", (unsigned long long)pc);
        break;
    case OP_PROC:
        NEED(rd32(o) < h->nstrings && rd32(o + 4) <= h->end - next,
             "bad process (name or length) at byte %llu", (unsigned long long)pc);
        break;
    case OP_NOOP:
        NEED(rd32(o) < h->nstrings, "bad task name at byte %llu", (unsigned long long)pc);
        break;
    case OP_SEND_BEGIN: case OP_RENDEZVOUS: case OP_RECV: case OP_RELEASE:
        NEED(rd16(o + 2) < h->regs, "register %u of %u at byte %llu", rd16(o + 2), h->regs,
             (unsigned long long)pc);
        break;
    case OP_CONSUME: case OP_CONSUMED:
        NEED(rd16(o + 2) < h->regs, "register %u of %u at byte %llu", rd16(o + 2), h->regs,
             (unsigned long long)pc);
        NEED(op == OP_CONSUME ? rd32(o + 4) <= h->end - next : rd32(o + 4) <= next - h->code,
             "jump outside the code at byte %llu", (unsigned long long)pc);
        break;
    case OP_CSP_REGION:
        NEED(o[0] <= 2 && rd16(o + 3) < h->regs && (o[5] & PTO_RT_READWRITE) &&
             (o[5] & ~(PTO_RT_READWRITE | PTO_RT_LATENCY)) == 0,
             "bad channel region at byte %llu", (unsigned long long)pc);
        break;
    case OP_ARG_VIEW:
        NEED(rd16(o) < h->tensors && rd16(o + 2) + 40u <= ARGS_MAX - 16 && o[4] >= 1 &&
             (o[5] & PTO_RT_READWRITE) && o[5] <= PTO_RT_READWRITE &&
             o[30] < PTO_ORCH_MAX_RANK && o[39] < PTO_ORCH_MAX_RANK,
             "bad view argument at byte %llu", (unsigned long long)pc);
        break;
    default:
        break;
    }
    return 0;
#undef NEED
}

/* Where a jump or skip at pc (operands o) lands, or 0 for other instructions. */
static uint64_t jump_target(uint8_t op, const uint8_t *o, uint64_t next)
{
    switch (op) {
    case OP_JZ: case OP_JMP: case OP_AND_JZ: case OP_OR_JNZ: return next + rd32(o);
    case OP_FOR: return next + rd32(o + 2);
    case OP_TASK: return next + rd32(o + 6);
    case OP_PROC: return next + rd32(o + 4);
    case OP_CONSUME: return next + rd32(o + 4);
    case OP_CONSUMED: return next - rd32(o + 4);
    default: return 0;
    }
}

int pto_plan_check(const uint8_t *plan, uint64_t plan_bytes, char *msg, size_t msg_size)
{
    plan_hdr h;
    pto_rt_config cfg;
    int rc = parse_header(plan, plan_bytes, &h, msg, msg_size);
    if (!rc) rc = parse_config(plan, &h, &cfg, msg, msg_size);
    if (rc) return rc;
    /* pass 1: instructions and their operands; which bytes start an instruction */
    uint8_t *start = calloc(h.end - h.code + 1, 1);
    if (!start) return PTO_RT_ENOMEM;
    for (uint64_t pc = h.code; !rc && pc < h.end;) {
        const uint8_t op = plan[pc];
        if (op >= OP_COUNT || op_len[op] == 0xFF) {
            rc = fmt_err(msg, msg_size, "unknown opcode 0x%02x at byte %llu", op,
                         (unsigned long long)pc);
            break;
        }
        const uint64_t next = pc + 1 + op_len[op];
        if (next > h.end) {
            rc = fmt_err(msg, msg_size, "instruction 0x%02x at byte %llu is truncated", op,
                         (unsigned long long)pc);
            break;
        }
        start[pc - h.code] = 1;
        rc = check_insn(&h, pc, plan + pc + 1, op, next, msg, msg_size);
        pc = next;
    }
    start[h.end - h.code] = 1; /* the end */
    /* pass 2: every jump lands on an instruction (or the end); a task's skip on its SUBMIT,
     * a process's end right after its PEND, a CONSUMED back on its CONSUME */
    for (uint64_t pc = h.code; !rc && pc < h.end; pc += 1 + op_len[plan[pc]]) {
        const uint8_t op = plan[pc];
        const uint64_t to = jump_target(op, plan + pc + 1, pc + 1 + op_len[op]);
        if (to && (to > h.end || to < h.code || !start[to - h.code] ||
                   (op == OP_TASK && (to == h.end || plan[to] != OP_SUBMIT)) ||
                   (op == OP_PROC && (!start[to - 1 - h.code] || plan[to - 1] != OP_PEND)) ||
                   (op == OP_CONSUMED && (plan[to] != OP_CONSUME ||
                                          memcmp(plan + to + 1, plan + pc + 1, 4)))))
            rc = fmt_err(msg, msg_size, "the jump at byte %llu does not land on %s",
                         (unsigned long long)pc,
                         op == OP_TASK ? "its task's SUBMIT" : op == OP_PROC ?
                         "the end of its process" : op == OP_CONSUMED ? "its CONSUME" :
                         "an instruction");
    }
    free(start);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

typedef struct loop_frame {
    uint32_t reg;
    int64_t lo, hi;
    uint64_t body;
} loop_frame;

/* A CSP pipeline being run (PIPE): its processes as resumable cursors (where each resumes,
 * its own loop frames while switched out) and its channels, with the semantics and order of
 * cpu_sim's pto_csp_run (runtime_c/pto_orch.h). */
typedef struct csp_proc {
    uint64_t pc;
    const char *name;
    int state;          /* PTO_CSP_*                                 */
    int32_t blocked_on; /* channel while blocked                     */
    uintptr_t marker;
    uint32_t nfr;       /* its loop frames (above the pipeline's)    */
    loop_frame *fr;
} csp_proc;

typedef struct csp_pipe {
    csp_proc *procs;
    pto_chan *chans;
    uint32_t nprocs, nchans, cur, base; /* base: the loop frames below the processes' */
    uint64_t progress;
} csp_pipe;

typedef struct interp {
    const uint8_t *p;
    plan_hdr h;
    pto_rt_config cfg;
    const pto_inputs *in;
    const pto_plan_sink *sink;
    uint32_t aicpu;
    uint64_t *slots;
    int64_t *regs;
    uint8_t *locked;
    uint64_t st[STACK];
    uint32_t sp;
    loop_frame fr[FRAMES];
    uint32_t nfr;
    uint64_t rr;           /* tasks submitted (ROUND_ROBIN's counter)     */
    int64_t off;           /* element offset of the view being built      */
    uint64_t budget;       /* instructions left (pto_plan_record), 0: none */
    int64_t *span;         /* per tensor: lowest, highest element offset, empty flag */
    /* the task being built */
    _Alignas(16) unsigned char args[ARGS_MAX];
    uint32_t kid, args_size, unit, pool, nreg, nidx, has_cost;
    uint64_t dkey, skey, cycles;
    int32_t prio;
    pto_rt_region reg[PTO_RT_MAX_REGIONS];
    int64_t idx[PTO_RT_MAX_INDICES];
    const char *noop;      /* the task being built is a CSP no-op task of this name */
    csp_pipe *pipe;        /* the pipeline running, or NULL                         */
    pto_csp_arena *arena;  /* synthetic region addresses of pipelines               */
    pto_outputs *out;
} interp;

static uint64_t f2w(double d) { uint64_t w; memcpy(&w, &d, 8); return w; }
static double w2f(uint64_t w) { double d; memcpy(&d, &w, 8); return d; }

/* from kind -> C type -> to kind, as C casts do */
#define PTO_CVT_TO(T, y, to)                                                                 \
    ((to) == K_I64 ? (uint64_t)(int64_t)(y) : (to) == K_U64 ? (uint64_t)(y) : f2w((double)(y)))
#define PTO_CVT_FROM(x)                                                                      \
    switch (ct) {                                                                            \
    case C_I8: return PTO_CVT_TO(int8_t, (int8_t)(x), to);                                   \
    case C_I16: return PTO_CVT_TO(int16_t, (int16_t)(x), to);                                \
    case C_I32: return PTO_CVT_TO(int32_t, (int32_t)(x), to);                                \
    case C_I64: return PTO_CVT_TO(int64_t, (int64_t)(x), to);                                \
    case C_U8: return PTO_CVT_TO(uint8_t, (uint8_t)(x), to);                                 \
    case C_U16: return PTO_CVT_TO(uint16_t, (uint16_t)(x), to);                              \
    case C_U32: return PTO_CVT_TO(uint32_t, (uint32_t)(x), to);                              \
    case C_U64: return PTO_CVT_TO(uint64_t, (uint64_t)(x), to);                              \
    case C_F32: return PTO_CVT_TO(float, (float)(x), to);                                    \
    case C_F64: return PTO_CVT_TO(double, (double)(x), to);                                  \
    default: return PTO_CVT_TO(__typeof__(x), (x), to);                                      \
    }

static uint64_t cvt(uint64_t w, int from, int ct, int to)
{
    if (from == K_I64) { const int64_t x = (int64_t)w; PTO_CVT_FROM(x) }
    if (from == K_U64) { const uint64_t x = w; PTO_CVT_FROM(x) }
    const double x = w2f(w);
    PTO_CVT_FROM(x)
}

static int truthy(uint64_t w, int k) { return k == K_F64 ? w2f(w) != 0.0 : w != 0; }

/* a op b; *site_fail set when a division by zero must fail at the instruction's site */
static uint64_t binop(int op, int k, uint64_t a, uint64_t b, int *div0)
{
    const int64_t ia = (int64_t)a, ib = (int64_t)b;
    const double fa = w2f(a), fb = w2f(b);
#define CMP(o) (k == K_F64 ? (uint64_t)(fa o fb) : k == K_I64 ? (uint64_t)(ia o ib) : (uint64_t)(a o b))
    switch (op) {
    case B_ADD: return k == K_F64 ? f2w(fa + fb) : a + b;
    case B_SUB: return k == K_F64 ? f2w(fa - fb) : a - b;
    case B_MUL: return k == K_F64 ? f2w(fa * fb) : a * b;
    case B_DIV: return f2w(fa / fb);
    case B_FLOORDIV:
    case B_MOD:
        if (b == 0) { *div0 = 1; return 0; }
        if (k == K_U64) return op == B_FLOORDIV ? a / b : a % b;
        if (ia == INT64_MIN && ib == -1) return op == B_FLOORDIV ? a : 0; /* wraps */
        if (op == B_FLOORDIV) {
            int64_t q = ia / ib;
            if (q * ib != ia && ((ia < 0) != (ib < 0))) q -= 1;
            return (uint64_t)q;
        } else {
            int64_t m = ia % ib;
            if (m != 0 && ((m < 0) != (ib < 0))) m += ib;
            return (uint64_t)m;
        }
    case B_AND: return a & b;
    case B_OR: return a | b;
    case B_XOR: return a ^ b;
    case B_SHL: return k == K_I64 ? (uint64_t)pto_x_shl_i64(ia, ib) : pto_x_shl_u64(a, b);
    case B_SHR: return k == K_I64 ? (uint64_t)pto_x_shr_i64(ia, ib) : pto_x_shr_u64(a, b);
    case B_LT: return CMP(<);
    case B_LE: return CMP(<=);
    case B_GT: return CMP(>);
    case B_GE: return CMP(>=);
    case B_EQ: return CMP(==);
    case B_NE: return CMP(!=);
    case B_MIN: return k == K_F64 ? f2w(pto_x_min_f64(fa, fb))
                     : k == K_I64 ? (uint64_t)pto_x_min_i64(ia, ib) : pto_x_min_u64(a, b);
    default: return k == K_F64 ? f2w(pto_x_max_f64(fa, fb))
                   : k == K_I64 ? (uint64_t)pto_x_max_i64(ia, ib) : pto_x_max_u64(a, b);
    }
#undef CMP
}

static uint64_t splitmix64(uint64_t x) /* pto_rt.c's HASH dispatch */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t task_aicpu(interp *I)
{
    const uint32_t n = I->cfg.num_aicpus ? I->cfg.num_aicpus : 1;
    switch (I->cfg.dispatch) {
    case PTO_RT_DISPATCH_ROUND_ROBIN: return (uint32_t)(I->rr % n);
    case PTO_RT_DISPATCH_AFFINITY: return (uint32_t)(I->dkey % n);
    case PTO_RT_DISPATCH_HASH: return (uint32_t)(splitmix64(I->dkey) % n);
    case PTO_RT_DISPATCH_BY: return (uint32_t)I->dkey;
    default: return UINT32_MAX;
    }
}

static void store(unsigned char *dst, int ct, uint64_t w, int kind)
{
    const uint64_t v = cvt(w, kind, ct, ct == C_F32 || ct == C_F64 ? K_F64 :
                           (ct >= C_U8 && ct <= C_U64) ? K_U64 : K_I64);
    switch (ct) {
    case C_I8: case C_U8: { uint8_t x = (uint8_t)v; memcpy(dst, &x, 1); break; }
    case C_I16: case C_U16: { uint16_t x = (uint16_t)v; memcpy(dst, &x, 2); break; }
    case C_I32: case C_U32: { uint32_t x = (uint32_t)v; memcpy(dst, &x, 4); break; }
    case C_F32: { float x = (float)w2f(v); memcpy(dst, &x, 4); break; }
    default: memcpy(dst, &v, 8); break;
    }
}

static uint64_t load_elem(const void *p, int ct) /* (uint64_t)*p */
{
    switch (ct) {
    case C_I8: return (uint64_t)*(const int8_t *)p;
    case C_I16: return (uint64_t)*(const int16_t *)p;
    case C_I32: return (uint64_t)*(const int32_t *)p;
    case C_I64: return (uint64_t)*(const int64_t *)p;
    case C_U8: return (uint64_t)*(const uint8_t *)p;
    case C_U16: return (uint64_t)*(const uint16_t *)p;
    case C_U32: return (uint64_t)*(const uint32_t *)p;
    case C_U64: return *(const uint64_t *)p;
    case C_F32: return (uint64_t)*(const float *)p;
    default: return (uint64_t)*(const double *)p;
    }
}

static int fail_site(interp *I, uint16_t site, int64_t value)
{
    I->out->site = site;
    I->out->bad_value = value;
    return PTO_ORCH_ESITE;
}

#define BAD(...) return fmt_err(I->out->message, sizeof I->out->message, __VA_ARGS__)
#define POP() (I->sp ? I->st[--I->sp] : (stack_err = 1, 0))
#define PUSH(v)                                                                              \
    do {                                                                                     \
        if (I->sp >= STACK) BAD("value stack overflow at byte %llu", (unsigned long long)pc);\
        I->st[I->sp++] = (v);                                                                \
    } while (0)

/* The box of rows x cols elements at element offset off (strides rs, cs in elements) lies
 * inside tensor t's memory. */
static int inside(const interp *I, uint16_t t, int64_t off, int64_t rows, int64_t cols,
                  int64_t rs, int64_t cs)
{
    if (rows < 0 || cols < 0) return 0;
    if (!rows || !cols) return 1;
    int64_t a, b, lo = off, hi = off;
    if (__builtin_mul_overflow(rows - 1, rs, &a) || __builtin_mul_overflow(cols - 1, cs, &b) ||
        (a < 0 ? __builtin_add_overflow(lo, a, &lo) : __builtin_add_overflow(hi, a, &hi)) ||
        (b < 0 ? __builtin_add_overflow(lo, b, &lo) : __builtin_add_overflow(hi, b, &hi)))
        return 0;
    const int64_t *sp = I->span + 3 * t;
    return !sp[2] && lo >= sp[0] && hi <= sp[1];
}

/* span[3t..3t+2]: lowest and highest element offset of tensor t, and 1 if it is empty */
static void tensor_spans(const pto_inputs *in, uint32_t n, int64_t *span)
{
    for (uint32_t t = 0; t < n; ++t) {
        int64_t lo = 0, hi = 0, empty = 0;
        for (uint32_t d = 0; d < PTO_ORCH_MAX_RANK; ++d) {
            const int64_t s = in->shapes[t * PTO_ORCH_MAX_RANK + d];
            int64_t e;
            if (s <= 0) { empty = 1; break; }
            if (__builtin_mul_overflow(s - 1, in->strides[t * PTO_ORCH_MAX_RANK + d], &e) ||
                (e < 0 ? __builtin_add_overflow(lo, e, &lo) : __builtin_add_overflow(hi, e, &hi))) {
                empty = 1;
                break;
            }
        }
        span[3 * t] = lo;
        span[3 * t + 1] = hi;
        span[3 * t + 2] = empty;
    }
}

static const int64_t *axis_array(const int64_t *const *arr, uint16_t a)
{
    return arr ? arr[a] : NULL;
}

#define RUN_YIELD (-1) /* exec: the running process yields (blocked, consumed, finished) */

static int run_pipe(interp *I, uint64_t pc, uint64_t *after);

/* The channel operand of a CSP instruction, inside a running pipeline. */
#define CHANNEL(ch, at)                                                                      \
    do {                                                                                     \
        if (!I->pipe || rd16(at) >= I->pipe->nchans)                                        \
            BAD("channel %u outside its pipeline at byte %llu", rd16(at),                    \
                (unsigned long long)pc);                                                     \
        ch = &I->pipe->chans[rd16(at)];                                                      \
    } while (0)
/* The running process yields in `state_` (blocked on channel c), resuming at `at`. */
#define YIELD(state_, c, at)                                                                 \
    do {                                                                                     \
        if (I->sp) BAD("values left on the stack where a process yields (byte %llu)",        \
                       (unsigned long long)pc);                                              \
        I->pipe->procs[I->pipe->cur].state = (state_);                                       \
        I->pipe->procs[I->pipe->cur].blocked_on = (int32_t)(c);                              \
        *pcp = (at);                                                                         \
        return RUN_YIELD;                                                                    \
    } while (0)
/* A token register written by a CSP instruction (not a running loop's counter). */
#define TOKEN_REG(r)                                                                         \
    do {                                                                                     \
        if (I->locked[r]) BAD("register %u is a running loop's counter (byte %llu)", r,      \
                              (unsigned long long)pc);                                       \
    } while (0)

/* Execute from *pcp: the main code to its end (returns 0), or a process until it yields
 * (RUN_YIELD, *pcp where it resumes); or an error code. */
static int exec(interp *I, uint64_t *pcp)
{
    const uint8_t *p = I->p;
    const pto_inputs *in = I->in;
    const pto_plan_sink *sk = I->sink;
    int stack_err = 0;
    pto_chan *ch;
    for (uint64_t pc = *pcp; pc < I->h.end;) {
        const uint8_t op = p[pc];
        if (I->budget && !--I->budget) {
            snprintf(I->out->message, sizeof I->out->message, "the expansion ran out of its "
                     "instruction budget at byte %llu", (unsigned long long)pc);
            return PTO_PLAN_EBUDGET;
        }
        const uint8_t *o = p + pc + 1;
        const uint64_t next = pc + 1 + op_len[op];
        uint64_t a, b;
        int rc = 0;
        switch (op) {
        case OP_PUSH: PUSH(rd64(o)); break;
        case OP_VAR: PUSH((uint64_t)I->regs[rd16(o)]); break;
        case OP_SYM_U: PUSH(in->sym_u[rd16(o)]); break;
        case OP_SYM_F: PUSH(f2w(in->sym_f[rd16(o)])); break;
        case OP_SLOT: PUSH(I->slots[o[0]]); break;
        case OP_AXIS_SIZE: PUSH((uint64_t)in->axis_size[rd16(o)]); break;
        case OP_AXIS_A: case OP_AXIS_B: {
            const int64_t *arr = axis_array(op == OP_AXIS_A ? in->axis_a : in->axis_b, rd16(o));
            if (!arr) BAD("axis %u has no %s array (byte %llu)", rd16(o),
                          op == OP_AXIS_A ? "length/indptr" : "indices", (unsigned long long)pc);
            a = POP();
            if (a >= (uint64_t)in->axis_len[2 * rd16(o) + (op == OP_AXIS_B)])
                BAD("index %lld outside axis %u's array (byte %llu)", (long long)a, rd16(o),
                    (unsigned long long)pc);
            PUSH((uint64_t)arr[a]);
            break;
        }
        case OP_DUP: a = POP(); PUSH(a); PUSH(a); break;
        case OP_SWAP: b = POP(); a = POP(); PUSH(b); PUSH(a); break;
        case OP_IDX:
            a = POP();
            if (!stack_err && a >= rd64(o)) return fail_site(I, rd16(o + 8), (int64_t)a);
            PUSH(a);
            break;
        case OP_CVT: a = POP(); PUSH(cvt(a, o[0], o[1], o[2])); break;
        case OP_BIN: {
            int div0 = 0;
            b = POP();
            a = POP();
            const uint64_t r = binop(o[0], o[1], a, b, &div0);
            if (div0 && !stack_err) {
                if (rd16(o + 2) == 0xFFFF) BAD("division without a site at byte %llu",
                                               (unsigned long long)pc);
                return fail_site(I, rd16(o + 2), 0);
            }
            PUSH(r);
            break;
        }
        case OP_NEG: a = POP(); PUSH(o[0] == K_F64 ? f2w(-w2f(a)) : 0 - a); break;
        case OP_INV: a = POP(); PUSH(~a); break;
        case OP_TEST: a = POP(); PUSH((uint64_t)truthy(a, o[0])); break;
        case OP_NOT: a = POP(); PUSH((uint64_t)!truthy(a, o[0])); break;
        case OP_JZ: if (POP() == 0) { pc = next + rd32(o); continue; } break;
        case OP_JMP: pc = next + rd32(o); continue;
        case OP_AND_JZ: case OP_OR_JNZ:
            if (!I->sp) BAD("value stack underflow at byte %llu", (unsigned long long)pc);
            if ((I->st[I->sp - 1] != 0) == (op == OP_OR_JNZ)) { pc = next + rd32(o); continue; }
            I->sp--;
            break;
        case OP_SET:
            if (I->locked[rd16(o)]) BAD("register %u is a running loop's counter (byte %llu)",
                                        rd16(o), (unsigned long long)pc);
            I->regs[rd16(o)] = (int64_t)POP();
            break;
        case OP_FOR: {
            const int64_t hi = (int64_t)POP(), lo = (int64_t)POP();
            const uint16_t r = rd16(o);
            if (stack_err) break;
            if (lo >= hi) { pc = next + rd32(o + 2); continue; }
            if (I->nfr >= FRAMES || I->locked[r])
                BAD("loops nested too deep or register %u reused at byte %llu", r,
                    (unsigned long long)pc);
            I->fr[I->nfr++] = (loop_frame){r, lo, hi, next};
            I->regs[r] = lo;
            I->locked[r] = 1;
            break;
        }
        case OP_NEXT: {
            if (!I->nfr || (I->pipe && I->nfr <= I->pipe->base))
                BAD("NEXT outside a loop at byte %llu", (unsigned long long)pc);
            loop_frame *f = &I->fr[I->nfr - 1];
            if (++I->regs[f->reg] < f->hi) { pc = f->body; continue; }
            I->locked[f->reg] = 0;
            I->nfr--;
            break;
        }
        case OP_SEQ_NEXT:
            if (!I->nfr || (I->pipe && I->nfr <= I->pipe->base))
                BAD("SEQ_NEXT outside a loop at byte %llu", (unsigned long long)pc);
            if (I->regs[I->fr[I->nfr - 1].reg] > I->fr[I->nfr - 1].lo) rc = sk->scope_next(sk->ctx);
            break;
        case OP_SCOPE_BEGIN: rc = sk->scope_begin(sk->ctx, o[0]); break;
        case OP_SCOPE_NEXT: rc = sk->scope_next(sk->ctx); break;
        case OP_SCOPE_END: rc = sk->scope_end(sk->ctx); break;
        case OP_SLOT_SET: I->slots[o[0]] = POP(); break;
        case OP_VIEW: I->off = 0; break;
        case OP_VIEW_IDX: {
            a = POP();
            if (!stack_err && a >= rd64(o + 3)) return fail_site(I, rd16(o + 11), (int64_t)a);
            I->off = (int64_t)((uint64_t)I->off +
                               a * (uint64_t)in->strides[rd16(o) * PTO_ORCH_MAX_RANK + o[2]]);
            break;
        }
        case OP_SLOT_LOAD: {
            const uint16_t t = rd16(o);
            const int ct = o[2];
            const int64_t *S = in->strides + t * PTO_ORCH_MAX_RANK;
            const int64_t e = (int64_t)((uint64_t)I->off +
                                        rd64(o + 4) * (rd64(o + 20) * (uint64_t)S[o[28]]) +
                                        rd64(o + 12) * (rd64(o + 29) * (uint64_t)S[o[37]]));
            if (!inside(I, t, e, 1, 1, 0, 0))
                BAD("slot load outside tensor %u (byte %llu)", t, (unsigned long long)pc);
            const char *ptr = (const char *)in->tensors[t] + e * ct_size[ct];
            const pto_rt_region r = {(uintptr_t)ptr, 1, 1, ct_size[ct], ct_size[ct], ct_size[ct],
                                     t, PTO_RT_READ, in->overlap[t]};
            rc = sk->wait_region(sk->ctx, &r);
            if (!rc) I->slots[o[3]] = load_elem(ptr, ct);
            break;
        }
        case OP_TASK:
            if (I->aicpu != PTO_PLAN_ALL_AICPUS &&
                I->cfg.dispatch == PTO_RT_DISPATCH_ROUND_ROBIN &&
                I->rr % (I->cfg.num_aicpus ? I->cfg.num_aicpus : 1) != I->aicpu) {
                I->rr++; /* another AICPU's task: not built here (past its SUBMIT) */
                pc = next + rd32(o + 6) + 1;
                continue;
            }
            I->kid = rd16(o);
            I->args_size = rd16(o + 2);
            I->unit = o[4];
            I->pool = o[5];
            memset(I->args, 0, sizeof I->args);
            I->nreg = I->nidx = I->has_cost = 0;
            I->noop = NULL;
            break;
        case OP_NOOP: /* a CSP no-op task: regions only, kernel 0, vector unit, keys 0 */
            I->noop = (const char *)p + I->h.strings + rd32(o);
            I->kid = I->args_size = I->nreg = I->nidx = I->has_cost = I->pool = 0;
            I->unit = PTO_RT_UNIT_VECTOR;
            I->dkey = I->skey = 0;
            I->prio = 0;
            break;
        case OP_ARG:
            if (rd16(o) + ct_size[o[3]] > I->args_size)
                BAD("argument outside the task's block at byte %llu", (unsigned long long)pc);
            store(I->args + rd16(o), o[3], POP(), o[2]);
            break;
        case OP_ARG_VIEW: {
            const uint16_t t = rd16(o), fo = rd16(o + 2);
            const uint32_t el = o[4];
            const int64_t *S = in->strides + t * PTO_ORCH_MAX_RANK;
            const int64_t f[4] = {(int64_t)(rd64(o + 22) * (uint64_t)S[o[30]]),
                                  (int64_t)(rd64(o + 31) * (uint64_t)S[o[39]]),
                                  (int64_t)rd64(o + 6), (int64_t)rd64(o + 14)};
            if (fo + 40u > I->args_size || I->nreg >= PTO_RT_MAX_REGIONS)
                BAD("view argument outside the task at byte %llu", (unsigned long long)pc);
            if (!inside(I, t, I->off, f[2], f[3], f[0], f[1]))
                BAD("view outside tensor %u (byte %llu)", t, (unsigned long long)pc);
            char *ptr = (char *)in->tensors[t] + I->off * (int64_t)el;
            memcpy(I->args + fo, &ptr, sizeof ptr);
            memcpy(I->args + fo + 8, f, sizeof f);
            I->reg[I->nreg++] = (pto_rt_region){(uintptr_t)ptr, f[2], f[3],
                                               (int64_t)((uint64_t)f[0] * el),
                                               (int64_t)((uint64_t)f[1] * el), el, t, o[5],
                                               in->overlap[t]};
            break;
        }
        case OP_TASK_KEYS:
            I->prio = (int32_t)(int64_t)POP();
            I->skey = POP();
            I->dkey = POP();
            break;
        case OP_TASK_INDEX:
            if (I->nidx >= PTO_RT_MAX_INDICES) BAD("too many task indices at byte %llu",
                                                   (unsigned long long)pc);
            I->idx[I->nidx++] = (int64_t)POP();
            break;
        case OP_TASK_COST:
            if (!pto_plan_kernels[I->kid].cost_fn)
                BAD("kernel %u has no cost function (byte %llu)", I->kid, (unsigned long long)pc);
            I->cycles = POP();
            I->has_cost = 1;
            break;
        case OP_SUBMIT: {
            const pto_plan_kernel *k = &pto_plan_kernels[I->kid];
            uint32_t size = I->args_size;
            if (I->has_cost) { /* struct { args a; uint64_t cycles; } */
                size = (size + 7u) & ~7u;
                memcpy(I->args + size, &I->cycles, 8);
                size += 8;
            }
            const pto_rt_task t = {I->noop ? NULL : I->has_cost ? k->cost_fn : k->fn,
                                   I->noop ? NULL : I->args, I->noop ? 0 : size, I->nreg,
                                   I->reg, I->unit, I->pool, I->dkey, I->skey, I->prio, I->kid,
                                   I->noop ? I->noop : k->name, I->nidx, I->idx};
            const uint32_t cpu = task_aicpu(I);
            I->rr++;
            if (I->aicpu == PTO_PLAN_ALL_AICPUS || cpu == I->aicpu) {
                const int64_t id = sk->submit(sk->ctx, &t, cpu);
                if (id < 0) rc = (int)-id;
            }
            break;
        }
        case OP_PIPE:
            if (I->pipe) BAD("a pipeline inside a process at byte %llu", (unsigned long long)pc);
            if (I->sp) BAD("values left on the stack at a pipeline (byte %llu)",
                           (unsigned long long)pc);
            rc = run_pipe(I, pc, &a);
            if (rc) return rc;
            pc = a;
            continue;
        case OP_SEND_BEGIN: /* wait until the slot of the channel's next token is free */
            CHANNEL(ch, o);
            TOKEN_REG(rd16(o + 2));
            if (ch->busy[ch->sent % ch->cap]) YIELD(PTO_CSP_BLOCKED_SEND, rd16(o), pc);
            I->regs[rd16(o + 2)] = ch->sent;
            break;
        case OP_SEND_END:
            CHANNEL(ch, o);
            ch->busy[ch->sent % ch->cap] = 1;
            ch->sent++;
            I->pipe->progress++;
            break;
        case OP_RENDEZVOUS: /* the sender waits until a receiver took its token */
            CHANNEL(ch, o);
            if (ch->recv <= I->regs[rd16(o + 2)]) YIELD(PTO_CSP_BLOCKED_SEND, rd16(o), pc);
            break;
        case OP_RECV:
        case OP_CONSUME: /* take the next token (blocking); closed and empty: fail / leave */
            CHANNEL(ch, o);
            TOKEN_REG(rd16(o + 2));
            if (ch->recv == ch->sent) {
                if (ch->producers > 0) YIELD(PTO_CSP_BLOCKED_RECV, rd16(o), pc);
                if (op == OP_CONSUME) { pc = next + rd32(o + 4); continue; }
                if (rd16(o + 4) == 0xFFFF) BAD("closed channel without a site at byte %llu",
                                               (unsigned long long)pc);
                return fail_site(I, rd16(o + 4), 0);
            }
            I->pipe->progress++;
            I->regs[rd16(o + 2)] = ch->recv++;
            break;
        case OP_RELEASE:
        case OP_CONSUMED: { /* the token's readers are submitted: its slot may be reused */
            CHANNEL(ch, o);
            const int64_t tok = I->regs[rd16(o + 2)];
            if (tok < 0) BAD("no token in register %u at byte %llu", rd16(o + 2),
                             (unsigned long long)pc);
            ch->busy[tok % ch->cap] = 0;
            I->pipe->progress++;
            if (op == OP_CONSUMED) YIELD(PTO_CSP_RUNNABLE, -1, next - rd32(o + 4));
            break;
        }
        case OP_PENDING:
            CHANNEL(ch, o);
            PUSH((uint64_t)(ch->sent > ch->recv));
            break;
        case OP_CLOSE: /* a producer of the channel finished */
            CHANNEL(ch, o);
            ch->producers--;
            break;
        case OP_PEND:
            if (!I->pipe || I->nfr != I->pipe->base)
                BAD("PEND outside a process or inside a loop at byte %llu",
                    (unsigned long long)pc);
            I->pipe->progress++;
            YIELD(PTO_CSP_DONE, -1, next);
        case OP_CSP_REGION: { /* 0: the process's marker, 1: token slot, 2: rendezvous ack */
            CHANNEL(ch, o + 1);
            const int64_t tok = I->regs[rd16(o + 3)];
            if (I->nreg >= PTO_RT_MAX_REGIONS || (o[0] == 1 && tok < 0))
                BAD("bad channel region at byte %llu", (unsigned long long)pc);
            const uintptr_t at = o[0] == 0 ? I->pipe->procs[I->pipe->cur].marker
                                 : o[0] == 1 ? ch->slot_addr + (uintptr_t)(tok % ch->cap)
                                             : ch->slot_addr + (uintptr_t)ch->cap;
            I->reg[I->nreg++] = pto_csp_region(at, o[5]);
            break;
        }
        default: /* CHAN, PROC: read by their PIPE only */
            BAD("opcode 0x%02x out of place at byte %llu", op, (unsigned long long)pc);
        }
        if (stack_err) BAD("value stack underflow at byte %llu", (unsigned long long)pc);
        if (rc) return rc;
        pc = next;
    }
    if (I->pipe) BAD("a process runs past the end of the code");
    return 0;
}

/* Run the pipeline at pc (its header: PIPE, its CHANs, its PROCs each with its body) as
 * pto_csp_run runs it: rounds resuming each unfinished process in order until it yields; a
 * round without progress is a deadlock (the site dsite, the message naming who waits for
 * what). *after: the code after the pipeline. */
static int run_pipe(interp *I, uint64_t pc, uint64_t *after)
{
    const uint8_t *p = I->p;
    const uint32_t np = rd16(p + pc + 1), nc = rd16(p + pc + 3);
    const uint16_t dsite = rd16(p + pc + 5);
    char *msg = I->out->message;
    const size_t ms = sizeof I->out->message;
    uint64_t q = pc + 1 + op_len[OP_PIPE];
    for (uint32_t c = 0; c < nc; ++c, q += 1 + op_len[OP_CHAN]) /* its header first */
        if (q >= I->h.end || p[q] != OP_CHAN) /* (instruction starts: the check's pass 2) */
            return fmt_err(msg, ms, "channel %u of the pipeline at byte %llu is missing", c,
                           (unsigned long long)pc);
    for (uint32_t i = 0; i < np; ++i, q += 1 + op_len[OP_PROC] + rd32(p + q + 5))
        if (q >= I->h.end || p[q] != OP_PROC)
            return fmt_err(msg, ms, "process %u of the pipeline at byte %llu is missing", i,
                           (unsigned long long)pc);
    *after = q;
    csp_pipe pp = {NULL, NULL, np, nc, 0, I->nfr, 0};
    loop_frame *frames = calloc((size_t)(np ? np : 1) * FRAMES, sizeof *frames);
    unsigned char *busy = NULL;
    pp.procs = calloc(np ? np : 1, sizeof *pp.procs);
    pp.chans = calloc(nc ? nc : 1, sizeof *pp.chans);
    int rc = frames && pp.procs && pp.chans ? 0 : PTO_RT_ENOMEM;
    size_t need = np;
    q = pc + 1 + op_len[OP_PIPE];
    for (uint32_t c = 0; !rc && c < nc; ++c, q += 1 + op_len[OP_CHAN]) {
        pto_chan *ch = &pp.chans[c];
        ch->depth = (int64_t)rd64(p + q + 1);
        ch->cap = ch->depth > 0 ? ch->depth : 1;
        ch->producers = rd16(p + q + 9);
        ch->name = (const char *)p + I->h.strings + rd32(p + q + 11);
        need += (size_t)ch->cap + (ch->depth == 0);
    }
    for (uint32_t i = 0; !rc && i < np; ++i) {
        csp_proc *pr = &pp.procs[i];
        pr->name = (const char *)p + I->h.strings + rd32(p + q + 1);
        pr->pc = q + 1 + op_len[OP_PROC];
        pr->fr = frames + (size_t)i * FRAMES;
        q = pr->pc + rd32(p + q + 5);
    }
    const uintptr_t base = rc ? 0 : pto_csp_arena_take(I->arena, need);
    if (!rc && !base) {
        snprintf(msg, ms, "pipeline: cannot reserve synthetic region addresses");
        rc = PTO_RT_ENOMEM;
    }
    if (!rc && !(busy = calloc(need - np + 1, 1))) rc = PTO_RT_ENOMEM;
    for (uint32_t c = 0, off = 0; !rc && c < nc; ++c) { /* as pto_csp_run lays them out */
        pp.chans[c].slot_addr = base + np + off;
        pp.chans[c].busy = busy + off;
        off += (uint32_t)pp.chans[c].cap + (pp.chans[c].depth == 0);
    }
    for (uint32_t i = 0; !rc && i < np; ++i) pp.procs[i].marker = base + i;
    I->pipe = rc ? NULL : &pp;
    while (!rc) {
        const uint64_t before = pp.progress;
        uint32_t alive = 0;
        for (uint32_t i = 0; !rc && i < np; ++i) {
            csp_proc *pr = &pp.procs[i];
            if (pr->state == PTO_CSP_DONE) continue;
            pp.cur = i;
            memcpy(I->fr + pp.base, pr->fr, pr->nfr * sizeof *pr->fr);
            I->nfr = pp.base + pr->nfr;
            pr->state = PTO_CSP_RUNNABLE;
            rc = exec(I, &pr->pc);
            if (rc != RUN_YIELD) break; /* an error (a process never ends without PEND) */
            rc = 0;
            pr->nfr = I->nfr - pp.base;
            memcpy(pr->fr, I->fr + pp.base, pr->nfr * sizeof *pr->fr);
            alive += pr->state != PTO_CSP_DONE;
        }
        if (rc || !alive) break;
        if (pp.progress == before) { /* cpu_sim's message */
            int n = snprintf(msg, ms, "deadlock: every process of the pipeline is blocked:");
            const char *sep = " ";
            int64_t sending = 0;
            for (uint32_t i = 0; i < np && n > 0 && (size_t)n < ms; ++i) {
                const csp_proc *pr = &pp.procs[i];
                if (pr->state == PTO_CSP_DONE) continue;
                n = pto_csp_blocked(msg, ms, n, sep, pr->name, pr->state,
                                    &pp.chans[pr->blocked_on]);
                sep = "; ";
            }
            for (uint32_t i = 0; i < np; ++i)
                sending |= pp.procs[i].state == PTO_CSP_BLOCKED_SEND;
            rc = fail_site(I, dsite, sending);
        }
    }
    I->pipe = NULL;
    I->nfr = pp.base;
    free(busy);
    free(frames);
    free(pp.procs);
    free(pp.chans);
    return rc;
}
#undef BAD
#undef POP
#undef PUSH

static int expand(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                  uint32_t aicpu, const pto_plan_sink *sink, uint64_t budget,
                  pto_csp_arena *arena, pto_outputs *out)
{
    interp *I = calloc(1, sizeof *I);
    if (!I) return out->code = PTO_RT_ENOMEM;
    int rc = pto_plan_check(plan, plan_bytes, out->message, sizeof out->message);
    if (!rc) rc = pto_plan_config(plan, plan_bytes, &I->cfg, NULL, 0);
    if (!rc) {
        parse_header(plan, plan_bytes, &I->h, NULL, 0);
        if (I->h.tensors > in->num_tensors || I->h.axes > in->num_axes ||
            I->h.symbols > in->num_symbols || (I->h.tensors && !in->shapes) ||
            (I->h.axes && !in->axis_len))
            rc = fmt_err(out->message, sizeof out->message, "it needs %u tensors, %u axes and "
                         "%u symbols with their extents; the inputs give %u, %u and %u",
                         I->h.tensors, I->h.axes, I->h.symbols, in->num_tensors, in->num_axes,
                         in->num_symbols);
    }
    if (!rc) {
        if (aicpu != PTO_PLAN_ALL_AICPUS && I->cfg.dispatch == PTO_RT_DISPATCH_WORK_STEAL) {
            snprintf(out->message, sizeof out->message, "work_steal places tasks while they "
                     "run: a plan cannot be expanded per AICPU under it");
            rc = PTO_PLAN_EDISPATCH;
        }
    }
    if (!rc) {
        I->p = plan;
        I->in = in;
        I->sink = sink;
        I->aicpu = aicpu;
        I->slots = out->slots;
        I->out = out;
        I->budget = budget;
        I->arena = arena;
        I->regs = calloc(I->h.regs + 1u, sizeof *I->regs);
        I->locked = calloc(I->h.regs + 1u, 1);
        I->span = calloc(3u * I->h.tensors + 1u, sizeof *I->span);
        if (I->span) tensor_spans(in, I->h.tensors, I->span);
        uint64_t pc = I->h.code;
        rc = (I->regs && I->locked && I->span) ? exec(I, &pc) : PTO_RT_ENOMEM;
        free(I->regs);
        free(I->locked);
        free(I->span);
    }
    free(I);
    if (rc && rc != PTO_ORCH_ESITE && rc >= PTO_PLAN_EFORMAT) out->code = rc;
    return rc;
}

int pto_plan_expand(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                    uint32_t aicpu, const pto_plan_sink *sink, pto_outputs *out)
{
    pto_csp_arena arena = {NULL, 0};
    const int rc = expand(plan, plan_bytes, in, aicpu, sink, 0, &arena, out);
    pto_csp_arena_free(&arena);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static int64_t rt_submit(void *ctx, const pto_rt_task *t, uint32_t aicpu)
{
    (void)aicpu; /* the runtime places the task itself, by the same policy */
    return pto_rt_submit((pto_rt *)ctx, t);
}
static int rt_begin(void *ctx, int kind) { return pto_rt_scope_begin((pto_rt *)ctx, kind); }
static int rt_next(void *ctx) { return pto_rt_scope_next((pto_rt *)ctx); }
static int rt_end(void *ctx) { return pto_rt_scope_end((pto_rt *)ctx); }
static int rt_wait(void *ctx, const pto_rt_region *r) { return pto_rt_wait_region((pto_rt *)ctx, r); }

int pto_plan_run(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                 pto_outputs *out)
{
    pto_rt_config cfg;
    memset(out, 0, sizeof *out);
    out->site = -1;
    if (pto_plan_check(plan, plan_bytes, out->message, sizeof out->message) ||
        pto_plan_config(plan, plan_bytes, &cfg, out->message, sizeof out->message))
        return out->code = PTO_PLAN_EFORMAT;
    pto_rt *rt = pto_orch_begin(&cfg, in, out);
    if (!rt) return out->code;
    const pto_plan_sink sink = {rt, rt_submit, rt_begin, rt_next, rt_end, rt_wait};
    /* a pipeline's synthetic region addresses stay reserved until the tasks finished */
    pto_csp_arena arena = {NULL, 0};
    int rc = expand(plan, plan_bytes, in, PTO_PLAN_ALL_AICPUS, &sink, 0, &arena, out);
    int err_site = -1;
    int64_t err_value = 0;
    if (rc >= PTO_PLAN_EFORMAT) { /* the message is the plan's; keep it */
        pto_rt_finish(rt);
        pto_rt_destroy(rt);
        pto_csp_arena_free(&arena);
        return out->code = rc;
    }
    if (rc == PTO_ORCH_ESITE) {
        err_site = out->site;
        err_value = out->bad_value;
        rc = 0;
    } else if (!rc) {
        rc = pto_rt_finish(rt);
    }
    rc = pto_orch_end(rt, rc, err_site, err_value, cfg.trace != 0, in, out);
    pto_csp_arena_free(&arena);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

static int64_t rec_submit(void *ctx, const pto_rt_task *t, uint32_t aicpu)
{
    pto_record_task((FILE *)ctx, t, aicpu);
    return 0;
}
static int rec_begin(void *ctx, int kind) { pto_record_scope((FILE *)ctx, 'B', kind); return 0; }
static int rec_next(void *ctx) { pto_record_scope((FILE *)ctx, 'N', 0); return 0; }
static int rec_end(void *ctx) { pto_record_scope((FILE *)ctx, 'E', 0); return 0; }
static int rec_wait(void *ctx, const pto_rt_region *r) { pto_record_wait((FILE *)ctx, r); return 0; }

static int64_t null_submit(void *ctx, const pto_rt_task *t, uint32_t aicpu)
{
    (void)t, (void)aicpu;
    return (int64_t)(*(uint64_t *)ctx)++;
}
static int null_begin(void *ctx, int kind) { (void)ctx, (void)kind; return 0; }
static int null_op(void *ctx) { (void)ctx; return 0; }
static int null_wait(void *ctx, const pto_rt_region *r) { (void)ctx, (void)r; return 0; }

int pto_plan_record(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                    uint32_t aicpu, const char *path, uint64_t max_steps, pto_outputs *out)
{
    memset(out, 0, sizeof *out);
    out->site = -1;
    if (!path) { /* expansion alone: tasks counted in out->task_count */
        const pto_plan_sink sink = {&out->task_count, null_submit, null_begin, null_op, null_op,
                                    null_wait};
        pto_csp_arena arena = {NULL, 0};
        out->code = expand(plan, plan_bytes, in, aicpu, &sink, max_steps, &arena, out);
        pto_csp_arena_free(&arena);
        return out->code;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(out->message, sizeof out->message, "cannot open %s", path);
        return out->code = PTO_RT_EIO;
    }
    const pto_plan_sink sink = {f, rec_submit, rec_begin, rec_next, rec_end, rec_wait};
    pto_csp_arena arena = {NULL, 0};
    int rc = expand(plan, plan_bytes, in, aicpu, &sink, max_steps, &arena, out);
    pto_csp_arena_free(&arena);
    fclose(f);
    return out->code = rc;
}

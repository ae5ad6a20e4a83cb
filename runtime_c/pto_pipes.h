/* pto_pipes.h -- the pipe-level timing of a kernel (docs/tile-library.md, "Pipe timing").
 *
 * Under the A2/A3 model (PTO_COST_MODEL 1) every instruction a kernel runs is issued, in
 * program order, to its pipe (MTE2 loads, V vector, M cube, MTE3 stores, FIX stores of cube
 * results): it starts when its pipe is free, its source buffers are written and its
 * destination buffers are no longer read or written by earlier instructions, and takes the
 * cycles its cost model gives. The kernel's cycles are the makespan. A buffer reused by the
 * next loop iteration (single buffering) therefore makes the next load wait for this
 * iteration's consumers; ping-pong buffers let it overlap them. The v9-compatible model
 * (PTO_COST_MODEL 0) keeps the plain sum. */
#ifndef PTO_PIPES_H
#define PTO_PIPES_H

#include <stdint.h>

enum { PTO_PIPE_V, PTO_PIPE_M, PTO_PIPE_MTE2, PTO_PIPE_MTE3, PTO_PIPE_FIX, PTO_NPIPES };

typedef struct {
    uint64_t pipe[PTO_NPIPES]; /* when each pipe is free */
    uint64_t end;              /* makespan so far */
    uint64_t charged;          /* the plain sum already issued */
} pto_pipes;

static inline uint64_t pto__max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Issue an instruction of `cost` cycles on `pipe` reading buffers src[0..nsrc) and writing
 * dst[0..ndst); rdy[b] is when buffer b was last written, rd[b] when its last read ended. */
static inline void pto_issue(pto_pipes *s, uint64_t *rdy, uint64_t *rd, int pipe,
                             uint64_t cost, const int *src, int nsrc, const int *dst, int ndst)
{
#if PTO_COST_MODEL == 1
    uint64_t t = s->pipe[pipe];
    for (int i = 0; i < nsrc; ++i)
        t = pto__max64(t, rdy[src[i]]);
    for (int i = 0; i < ndst; ++i)
        t = pto__max64(t, pto__max64(rdy[dst[i]], rd[dst[i]]));
    const uint64_t e = t + cost;
    s->pipe[pipe] = e;
    for (int i = 0; i < nsrc; ++i)
        rd[src[i]] = pto__max64(rd[src[i]], e);
    for (int i = 0; i < ndst; ++i)
        rdy[dst[i]] = e;
    s->end = pto__max64(s->end, e);
#else
    (void)rdy; (void)rd; (void)pipe; (void)src; (void)nsrc; (void)dst; (void)ndst;
    s->end += cost;
#endif
}

/* An iteration of a loop that is not pipelined: every pipe waits for all issued work. */
static inline void pto_barrier(pto_pipes *s)
{
    for (int i = 0; i < PTO_NPIPES; ++i)
        s->pipe[i] = s->end;
}

/* A copy of no cost (a loop's carried tile, a merged tile): buffer dst takes src's value. */
static inline void pto_pass(uint64_t *rdy, uint64_t *rd, int dst, int src)
{
    const uint64_t t = pto__max64(rdy[src], pto__max64(rdy[dst], rd[dst]));
    rdy[dst] = t;
    rd[src] = pto__max64(rd[src], t);
}

#endif

"""Builds the C runtime (runtime_c/pto_rt*.c) plus test kernels through the project's cffi
build cache, and offers a small Python wrapper (`Runtime`) to drive it from tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

CDEF = r"""
typedef int (*pto_kernel_fn)(const void *args, uint64_t *cycles_out);
typedef struct pto_rt_config {
    uint32_t num_threads, deps, ready, pools, num_pools;
    uint32_t pool_workers[8];
    uint32_t dispatch, num_aicpus, vector_lanes, cube_lanes, num_streams, timing;
    uint64_t timing_param, clock_khz, window_size;
    uint32_t window_unit, window_mode, start;
    uint64_t start_threshold;
    uint32_t trace, v9_compat, exec_units;
} pto_rt_config;
typedef struct pto_rt_region {
    uintptr_t addr; int64_t rows, cols, row_stride, col_stride;
    uint32_t elem_size, buf_id, mode;
} pto_rt_region;
typedef struct pto_rt_task {
    pto_kernel_fn fn; const void *args; uint32_t args_size; uint32_t num_regions;
    const pto_rt_region *regions; uint32_t exec_unit; uint32_t pool; uint64_t dispatch_key;
    uint64_t stream_key; int32_t priority; uint32_t kernel_id; const char *name;
} pto_rt_task;
typedef struct pto_rt_stats {
    uint64_t task_count, executed, failed, cancelled, total_cycles, window_overflows,
             window_stalls, steals, max_in_flight, edges;
    double wall_ms, orchestration_ms;
    uint32_t num_workers, num_lanes;
    uint64_t peak_regions;
} pto_rt_stats;
typedef struct pto_rt_error {
    int code; int kernel_rc; int64_t task_id; uint32_t kernel_id; const char *task_name;
    char message[320];
} pto_rt_error;
typedef struct pto_rt pto_rt;
void pto_rt_config_default(pto_rt_config *cfg);
pto_rt *pto_rt_create(const pto_rt_config *cfg, pto_rt_error *err);
void pto_rt_destroy(pto_rt *rt);
int64_t pto_rt_submit(pto_rt *rt, const pto_rt_task *task);
int pto_rt_scope_begin(pto_rt *rt, int kind);
int pto_rt_scope_next(pto_rt *rt);
int pto_rt_scope_end(pto_rt *rt);
int pto_rt_wait_region(pto_rt *rt, const pto_rt_region *region);
int pto_rt_finish(pto_rt *rt);
const pto_rt_error *pto_rt_error_info(const pto_rt *rt);
void pto_rt_get_stats(const pto_rt *rt, pto_rt_stats *out);
int64_t pto_rt_worker_executed(const pto_rt *rt, uint32_t worker);
int32_t pto_rt_self_worker(void);
int32_t pto_rt_worker_pool(const pto_rt *rt, uint32_t worker);
int pto_rt_lane_stats(const pto_rt *rt, uint32_t lane, uint64_t *tasks, uint64_t *busy_cycles);
uint64_t pto_rt_task_bytes(uint32_t args_size, uint32_t num_regions);
int pto_rt_write_trace(pto_rt *rt, const char *path);
int pto_rt_write_dot(pto_rt *rt, const char *path, uint64_t max_nodes);
uint64_t pto_rt_trace_count(const pto_rt *rt);
int pto_rt_trace_event(const pto_rt *rt, uint64_t i, int64_t *task_id, uint32_t *lane,
                       uint64_t *sim_start, uint64_t *sim_end, int32_t *worker);
const char *pto_rt_strerror(int code);
int pto_rt__boxes_overlap(const pto_rt_region *a, const pto_rt_region *b);

typedef struct { int64_t *log; int64_t *pos; int64_t value; int64_t *worker_log;
                 uint64_t cycles; uint64_t sleep_us; int32_t rc; int32_t pad; } rec_args;
typedef struct { double *dst; int64_t rows, cols, drs, dcs; double *src; int64_t srs, scs;
                 double k; uint64_t cycles; } axpy_args;
int k_record(const void *a, uint64_t *cycles);
int k_axpy(const void *a, uint64_t *cycles);
int k_empty(const void *a, uint64_t *cycles);
int drive_tiles(pto_rt *rt, uint64_t n, double *buf, uint64_t ntiles, long *rss);
"""


def _build():
    from pto_wsp.backends.cpu_sim.build import build_extension
    from pto_wsp.resources import runtime_dir

    rdir = Path(runtime_dir())
    extra = {p.name: p.read_text() for p in sorted(rdir.glob("pto_rt*.c"))}
    source = '#include "pto_rt.h"\n' + (HERE / "rt_test_kernels.c").read_text()
    # The test kernels define their own symbols; the runtime sources are extra units.
    return build_extension(CDEF, source, name_hint="rt_test", extra_sources=extra)


@pytest.fixture(scope="session")
def rtlib():
    if not os.environ.get("PTO_WSP_CACHE_DIR"):
        os.environ["PTO_WSP_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "pto_wsp_rt_test_cache")
    r = _build()
    return r.ffi, r.lib


# Constants mirrored from pto_rt.h (checked against the header by test_api.py).
C = dict(
    EXACT=0, OVERLAP=1, EXPLICIT=2, HYBRID=3,
    FIFO=0, WORK_STEAL=1, PRIORITY=2,
    SINGLE=0, BY_EXEC_UNIT=1, CUSTOM=2,
    RR=0, AFFINITY=1, HASH=2, BY=3, DWS=4,
    IMMEDIATE=0, BATCHED=1, INTERLEAVED=2, RATE_LIMIT=3,
    TASKS=0, BYTES=1, STALL=0, ABORT=1, BENCHMARK=2,
    START_IMMEDIATE=0, AFTER_ORCH=1, THRESHOLD=2,
    TRACE_CYCLES=1, TRACE_WALL=2,
    VECTOR=0, CUBE=1, READ=1, WRITE=2, RW=3, PAR=0, SEQ=1,
    OK=0, EINVAL=1, ENOMEM=2, EKERNEL=3, EWINDOW=4, EDEADLOCK=5, ESCOPE=6, ETOOBIG=7, EIO=8,
    ESTATE=9,
)


class Runtime:
    """Thin wrapper: owns the pto_rt, keeps cffi buffers alive, logs execution order."""

    def __init__(self, rtlib, log_size=4096, **cfg):
        self.ffi, self.lib = rtlib
        c = self.ffi.new("pto_rt_config *")
        self.lib.pto_rt_config_default(c)
        c.start = C["START_IMMEDIATE"]
        c.window_size = 0
        for k, v in cfg.items():
            if k == "pool_workers":
                for i, x in enumerate(v):
                    c.pool_workers[i] = x
            else:
                setattr(c, k, v)
        self.cfg = c
        self.err = self.ffi.new("pto_rt_error *")
        self.rt = self.lib.pto_rt_create(c, self.err)
        if self.rt == self.ffi.NULL:
            raise ValueError(self.ffi.string(self.err.message).decode())
        self.keep = []
        self.log = self.ffi.new("int64_t[]", log_size)
        self.wlog = self.ffi.new("int64_t[]", log_size)
        self.pos = self.ffi.new("int64_t *")
        self.names = {}

    def name(self, s):
        if s not in self.names:
            self.names[s] = self.ffi.new("char[]", s.encode())
        return self.names[s]

    def region(self, addr, rows, cols, rs, cs, elem, mode, buf_id=0):
        return dict(addr=addr, rows=rows, cols=cols, row_stride=rs, col_stride=cs,
                    elem_size=elem, mode=mode, buf_id=buf_id)

    def submit(self, fn="k_record", args=None, regions=(), unit=0, pool=0, dkey=0, skey=0,
               prio=0, kid=0, name="task", raw_args_size=None):
        t = self.ffi.new("pto_rt_task *")
        t.fn = getattr(self.lib, fn) if isinstance(fn, str) else fn
        if args is not None:
            t.args = args
            t.args_size = raw_args_size if raw_args_size is not None else self.ffi.sizeof(args[0])
            self.keep.append(args)
        regs = self.ffi.new("pto_rt_region[]", max(1, len(regions)))
        for i, r in enumerate(regions):
            for k, v in r.items():
                setattr(regs[i], k, v)
        t.regions = regs
        t.num_regions = len(regions)
        t.exec_unit, t.pool, t.dispatch_key, t.stream_key = unit, pool, dkey, skey
        t.priority, t.kernel_id, t.name = prio, kid, self.name(name)
        return self.lib.pto_rt_submit(self.rt, t)

    def rec(self, value, cycles=0, sleep_us=0, rc=0, regions=(), **kw):
        a = self.ffi.new("rec_args *")
        a.log, a.pos, a.value, a.worker_log = self.log, self.pos, value, self.wlog
        a.cycles, a.sleep_us, a.rc = cycles, sleep_us, rc
        return self.submit("k_record", a, regions, **kw)

    def tile(self, addr, mode, rows=4, cols=4, elem=8):
        return self.region(addr, rows, cols, cols * elem, elem, elem, mode)

    def begin(self, kind):
        assert self.lib.pto_rt_scope_begin(self.rt, kind) == 0

    def next(self):
        assert self.lib.pto_rt_scope_next(self.rt) == 0

    def end(self):
        assert self.lib.pto_rt_scope_end(self.rt) == 0

    def finish(self):
        return self.lib.pto_rt_finish(self.rt)

    def stats(self):
        s = self.ffi.new("pto_rt_stats *")
        self.lib.pto_rt_get_stats(self.rt, s)
        return s

    def error(self):
        e = self.lib.pto_rt_error_info(self.rt)
        return e.code, self.ffi.string(e.message).decode(), e.task_id, e.kernel_id

    def order(self):
        return [self.log[i] for i in range(self.pos[0])]

    def workers(self):
        return [self.wlog[i] for i in range(self.pos[0])]

    def lane(self, i):
        t = self.ffi.new("uint64_t *")
        b = self.ffi.new("uint64_t *")
        assert self.lib.pto_rt_lane_stats(self.rt, i, t, b) == 0
        return t[0], b[0]

    def events(self):
        out = []
        tid = self.ffi.new("int64_t *"); lane = self.ffi.new("uint32_t *")
        s = self.ffi.new("uint64_t *"); e = self.ffi.new("uint64_t *"); w = self.ffi.new("int32_t *")
        for i in range(self.lib.pto_rt_trace_count(self.rt)):
            assert self.lib.pto_rt_trace_event(self.rt, i, tid, lane, s, e, w) == 0
            out.append((tid[0], lane[0], s[0], e[0], w[0]))
        return out

    def close(self):
        if self.rt is not None:
            self.lib.pto_rt_destroy(self.rt)
            self.rt = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def make_rt(rtlib):
    made = []

    def make(**cfg):
        r = Runtime(rtlib, **cfg)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()

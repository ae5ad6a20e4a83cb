"""Builds the C runtime (runtime_c/pto_rt*.c) plus test kernels through the project's cffi
build cache, and offers a small Python wrapper (`Runtime`) to drive it from tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# The runtime API comes from pto_rt.h (build.runtime_cdef); these are the test additions.
TEST_CDEF = r"""
int pto_rt__boxes_overlap(const pto_rt_region *a, const pto_rt_region *b);

typedef struct { int64_t *log; int64_t *pos; int64_t value; int64_t *worker_log;
                 uint64_t cycles; uint64_t sleep_us; int32_t rc; int32_t pad; } rec_args;
typedef struct { double *dst; int64_t rows, cols, drs, dcs; double *src; int64_t srs, scs;
                 double k; uint64_t cycles; } axpy_args;
int k_record(const void *a, uint64_t *cycles);
int k_axpy(const void *a, uint64_t *cycles);
int k_empty(const void *a, uint64_t *cycles);
typedef struct { uint64_t *out; uint64_t idx, n; } sum_args;
int k_sum_args(const void *a, uint64_t *cycles);
int drive_tiles(pto_rt *rt, uint64_t n, double *buf, uint64_t ntiles, long *rss);
"""


def _build():
    from pto_wsp.backends.cpu_sim.build import build_extension, runtime_cdef
    from pto_wsp.resources import runtime_dir

    rdir = Path(runtime_dir())
    extra = {p.name: p.read_text() for p in sorted(rdir.glob("pto_rt*.c"))}
    source = '#include "pto_rt.h"\n' + (HERE / "rt_test_kernels.c").read_text()
    # The test kernels define their own symbols; the runtime sources are extra units.
    return build_extension(runtime_cdef() + TEST_CDEF, source, name_hint="rt_test",
                           extra_sources=extra)


@pytest.fixture(scope="session")
def rtlib():
    if not os.environ.get("PTO_WSP_CACHE_DIR"):
        os.environ["PTO_WSP_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "pto_wsp_rt_test_cache")
    r = _build()
    return r.ffi, r.lib


# Short names for the pto_rt.h constants the tests use.
C = dict(
    EXACT=0, OVERLAP=1, EXPLICIT=2, HYBRID=3,
    FIFO=0, WORK_STEAL=1, PRIORITY=2,
    SINGLE=0, BY_EXEC_UNIT=1, CUSTOM=2,
    RR=0, AFFINITY=1, HASH=2, BY=3, DWS=4,
    IMMEDIATE=0, BATCHED=1, INTERLEAVED=2, RATE_LIMIT=3,
    TASKS=0, BYTES=1, STALL=0, ABORT=1, BENCHMARK=2,
    START_IMMEDIATE=0, AFTER_ORCH=1, THRESHOLD=2,
    TRACE_CYCLES=1, TRACE_WALL=2,
    VECTOR=0, CUBE=1, READ=1, WRITE=2, RW=3, ORDER=4, PAR=0, SEQ=1,
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

    def region(self, addr, rows, cols, rs, cs, elem, mode, buf_id=0, overlap=0):
        return dict(addr=addr, rows=rows, cols=cols, row_stride=rs, col_stride=cs,
                    elem_size=elem, mode=mode, buf_id=buf_id, overlap=overlap)

    def submit(self, fn="k_record", args=None, regions=(), unit=0, pool=0, dkey=0, skey=0,
               prio=0, kid=0, name="task", raw_args_size=None, indices=()):
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
        if indices:
            ix = self.ffi.new("int64_t[]", list(indices))
            self.keep.append(ix)
            t.indices, t.num_indices = ix, len(indices)
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

"""``compile()`` and :class:`Program`: a built workload bound to numpy arrays (spec 5).

``execute()`` starts the native run on a background thread (the C call releases the GIL) and
returns; ``synchronize()`` waits and raises any error of the run. Runtime inputs -- dynamic
axis sizes, ragged lengths, CSR arrays, symbols and tensor data of the same shape -- change
without rebuilding. Arrays are passed zero-copy after their shapes, dtypes and strides are
checked against the declarations.
"""

from __future__ import annotations

import atexit
import json
import mmap
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import (ChannelClosed, ChannelFull, CompileError, DeadlockError, ExecutionError,
                     KernelError, PtoError, ScheduleError, SourceLoc, TypeCheckError,
                     WindowOverflowError, user_location)
from . import knobs, logs
from .ir import nodes as ir
from .ir.tracking import overlap_tensors, written_tensors
from .machine import Machine
from .stats import KernelStats, LaneStats, ProgramStats
from .types import INT64_MAX, as_array, check_csr, index_array

if TYPE_CHECKING:
    from .language.workload import Workload

TARGETS = ("cpu_sim", "ascend_npu")

# runtime error codes (runtime_c/pto_rt.h) and PTO_ORCH_ESITE (runtime_c/pto_orch.h)
_E_KERNEL, _E_WINDOW, _E_DEADLOCK, _E_SITE = 3, 4, 5, 100


_running: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()
_trace_dirs: set[Path] = set()  # of live programs; removed when the program is freed


@atexit.register
def _join_running() -> None:
    """A run still going at interpreter exit uses arrays Python is about to free: wait.
    Then remove the trace directories of the programs still alive."""
    for t in list(_running):
        t.join()
    for d in list(_trace_dirs):
        _remove_trace_dir(d)


def _remove_trace_dir(d: Path) -> None:
    _trace_dirs.discard(d)
    shutil.rmtree(d, ignore_errors=True)


def _int_in(value, lo: int, hi: int, what: str) -> int:
    """``value`` as an int in [lo, hi], else a located TypeCheckError (no wrapping, no
    truncation of floats)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise TypeCheckError(f"a {what} symbol takes an integer in [{lo}, {hi}], got {value!r}",
                             user_location())
    return int(value)


#: The prototype's runtime symbol for the channel latency (feature catalog 11).
CHANNEL_LATENCY_SYMBOL = "__pto_wsp_channel_latency_cycles"


def compile(source: Workload | ir.Module | str | os.PathLike[str],  # noqa: A001 - spec name
            target: str = "cpu_sim", **options: Any) -> Program:
    """Compile a traced workload, an IR module, or a ``.pto`` file (path) for ``target``.

    Options: ``num_threads`` (0 = all cores), ``machine`` (a :class:`~pto_wsp.Machine` or
    ``"a2a3"``; ``num_aicpus``, ``vector_lanes``, ``cube_lanes`` override its fields),
    ``cost_model`` ("v9" | "a2a3"), ``v9_compat``. Tensors of a module or a
    ``.pto`` file get their data with ``program.set_tensor`` / ``execute(**arrays)``.
    """
    from .language.workload import Workload
    loc = user_location()
    if isinstance(source, Workload):
        return source.compile(target, **options)
    if isinstance(source, (str, Path)):
        from .ir.parser import parse_module
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CompileError(f"cannot read {source}: {e}", loc) from None
        source = parse_module(text, str(source))
    if not isinstance(source, ir.Module):
        raise CompileError(f"compile() takes a workload, a module or a .pto path, got "
                           f"{type(source).__name__}", loc)
    return compile_module(source, {}, target, loc, **options)


@dataclass(frozen=True)
class CompiledKernel:
    """One kernel compiled for a target: ``code`` is its C (``cpu_sim``, what the tile library
    runs) or its PTO-ISA C++ translation unit (``ascend_npu``, see docs/ascend.md)."""
    name: str
    target: str
    code: str


def compile_kernel(k: ir.Kernel, target: str, loc: SourceLoc | None) -> CompiledKernel:
    """Spec 6.5: the code of one kernel for ``target``."""
    if target not in TARGETS:
        raise CompileError(f"unknown target {target!r}", loc,
                           hint="use one of " + ", ".join(TARGETS))
    if target == "ascend_npu":
        from .backends.ascend.aicore import emit_kernel
        return CompiledKernel(k.name, target, emit_kernel(k))
    from .backends.cpu_sim.codegen import kernel_code
    from .backends.cpu_sim.lower_kernel import lower_kernel
    return CompiledKernel(k.name, target, kernel_code(lower_kernel(k)))


def compile_module(m: ir.Module, tensors: dict, target: str, loc: SourceLoc | None,
                   *, num_threads: int = 0, machine: Machine | str | None = None,
                   num_aicpus: int | None = None, vector_lanes: int | None = None,
                   cube_lanes: int | None = None, cost_model: str = "v9",
                   v9_compat: bool = False):
    """Compile ``m`` for ``target``. See :meth:`Workload.compile`."""
    if target not in TARGETS:
        raise CompileError(f"unknown target {target!r}", loc,
                           hint="use one of " + ", ".join(TARGETS))
    check_layouts_for_compile(m, loc)
    from .backends.applicability import check_applicable
    check_applicable(m.schedule, target, loc)
    mc = _compile_machine(loc, machine, num_aicpus, vector_lanes, cube_lanes)
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or \
            not 0 <= num_threads <= 1024:
        raise ScheduleError(f"num_threads must be an int in [0, 1024] (0 = all cores), got "
                            f"{num_threads!r}", loc)
    if target == "ascend_npu":
        from .backends.ascend.tree import build
    else:
        from .backends.cpu_sim.codegen import build
    t0 = time.perf_counter()
    art = build(m, machine=mc, v9_compat=v9_compat, cost_model=cost_model)
    prog = (AscendProgram if target == "ascend_npu" else Program)(m, art, tensors, num_threads)
    prog._compile_ms = ms = (time.perf_counter() - t0) * 1e3
    if art.build.compiled:
        logs.info("compiled %s for %s in %.1f s", m.name, target, ms / 1e3)
    else:
        logs.info("%s for %s (cached, %.0f ms)", m.name, target, ms)
    return prog


def _compile_machine(loc, machine, num_aicpus, vector_lanes, cube_lanes) -> Machine:
    """The simulated machine of the compile options (``machine=`` refined by the others)."""
    given = {k: v for k, v in (("num_aicpus", num_aicpus), ("vector_lanes", vector_lanes),
                               ("cube_lanes", cube_lanes)) if v is not None}
    return replace(_machine(machine, loc), **given).check(loc)


def write_ascend_tree(m: ir.Module, out: Path, loc: SourceLoc | None = None, *,
                      machine: Machine | str | None = None, num_aicpus: int | None = None,
                      vector_lanes: int | None = None, cube_lanes: int | None = None,
                      cost_model: str = "v9", v9_compat: bool = False) -> int:
    """Write the ``ascend_npu`` source tree of ``m`` under ``out`` without building it (the
    checks of :func:`compile_module` apply). Returns the number of files written."""
    from .backends.ascend.tree import emit, write_tree
    check_layouts_for_compile(m, loc)
    from .backends.applicability import check_applicable
    check_applicable(m.schedule, "ascend_npu", loc)
    mc = _compile_machine(loc, machine, num_aicpus, vector_lanes, cube_lanes)
    files, _, _ = emit(m, mc, v9_compat, cost_model)
    try:
        write_tree(files, Path(out))
    except OSError as e:
        raise CompileError(f"cannot write the tree to {out}: {e}", loc) from None
    return len(files)


def _machine(machine, loc: SourceLoc | None) -> Machine:
    """The ``machine=`` compile option: a :class:`Machine`, ``"a2a3"`` or None (default)."""
    if machine is None:
        return Machine()
    if machine == "a2a3":
        return Machine.a2a3()
    if isinstance(machine, Machine):
        return machine
    raise ScheduleError(f"machine must be a pto_wsp.Machine or 'a2a3', got {machine!r}", loc,
                        hint="e.g. machine=Machine.a2a3() or Machine(num_aicpus=2, "
                             "vector_lanes=4, cube_lanes=2, clock_mhz=1800)")


def check_layouts_for_compile(m: ir.Module, loc: SourceLoc | None) -> None:
    """Layouts at compile time: a layout that uses mesh axes needs ``spatial_map(grid=...)``
    (checked against it), and a declared memory layout must be strided (tiled/blocked
    layouts have no per-dimension strides, so views cannot address them yet)."""
    from .ir.layouts import check_tensor_mesh, decl_layout, uses_mesh
    grid = m.schedule.spatial_grid
    for t in m.tensors:
        if t.layout is None:
            continue
        lay = decl_layout(t.shape, t.layout)
        if uses_mesh(lay):
            if grid is None:
                raise CompileError(
                    f"tensor '{t.name}' is distributed ({lay}) but the workload has no mesh",
                    loc, hint="add .spatial_map(grid=(...)) before compile(), or declare the "
                              "tensor replicated")
            check_tensor_mesh(t.name, t.shape, lay, grid, loc)
        if lay.mem is not None and not lay.mem.is_strided:
            raise CompileError(
                f"tensor '{t.name}' has the tiled memory layout {lay.mem}, which is not "
                "executable yet: views are addressed through per-dimension strides", loc,
                hint="declare a strided memory layout (row_major, col_major or permute)")


def _mem_hint(mem) -> str:
    from .layout import MemLayout
    if mem == MemLayout.row_major(mem.shape):
        return "pass np.ascontiguousarray(arr)"
    if mem == MemLayout.col_major(mem.shape):
        return "pass np.asfortranarray(arr)"
    order = sorted(range(mem.rank), key=lambda d: (-mem.strides()[d], d))
    return (f"pass np.ascontiguousarray(arr.transpose({tuple(order)}))"
            f".transpose({tuple(int(i) for i in np.argsort(order))})")


class Program:
    """A compiled cpu_sim workload. Bind arrays, execute, read stats and traces."""

    target = "cpu_sim"

    def __init__(self, m: ir.Module, artifact, tensors: dict, num_threads: int = 0):
        self.module = m
        self.machine: Machine = artifact.orch.machine  # the simulated target compiled for
        self._art = artifact
        self._lib = artifact.build.lib
        self._ffi = artifact.build.ffi
        self.num_threads = num_threads
        self._channel_latency = 0
        self._record_path = None  # test aid: runtime_c/pto_record.h records written here
        self._arrays: dict[str, np.ndarray] = {}
        for t in m.tensors:
            src = tensors.get(t.name)
            if src is not None and getattr(src, "data", None) is not None:
                self._arrays[t.name] = src.data
        self._axis_size = {a.name: a.size for a in m.axes}
        self._axis_arrays = {a.name: (np.asarray(a.lengths or a.indptr, np.int64),
                                      np.asarray(a.indices, np.int64)) for a in m.axes}
        self._symbols = {s.name: s.default for s in m.symbols}
        self._thread: threading.Thread | None = None
        self._result: tuple | None = None
        self._stats = ProgramStats(compiled=artifact.build.compiled)
        self._crash: PtoError | None = None
        # tasks submitted / retired while running; shared memory: an isolated run's child
        # updates it too
        self._progress = np.frombuffer(mmap.mmap(-1, 16), np.uint64)
        #: run in a child process (a crash becomes a KernelError); None = PTO_WSP_ISOLATE
        self.isolate: bool | None = None
        self._compile_ms = 0.0
        self._trace_dir: Path | None = None
        self.slots = np.zeros(64, np.uint64)
        tg = m.schedule.task_graph
        self._deps = tg.deps.kind if tg else "tensor_map_exact"
        self._static_overlap = overlap_tensors(m) if self._deps == "tensor_map_exact" else {}
        self._bound_overlap: dict[str, str] = {}

    # -- introspection ----------------------------------------------------------------
    def __repr__(self) -> str:
        m, s = self.module, self._stats
        names = ", ".join(k.name for k in m.kernels[:4]) + (", ..." if len(m.kernels) > 4 else "")
        tensors = ", ".join(f"{t.name}{list(t.shape)} {t.dtype.value}" for t in m.tensors[:4])
        run = (f"last run {s.task_count:,} tasks in {s.total_cycles:,} cycles"
               if s.num_workers else "not run yet")
        return (f"<Program '{m.name}' {self._target_text()}: {len(m.kernels)} kernel(s) "
                f"({names}); "
                f"tensors {tensors}{', ...' if len(m.tensors) > 4 else ''}; "
                f"{self.machine}: {len(self._art.orch.lanes)} simulated lane(s); {run}>")

    def _target_text(self) -> str:
        return self.target

    @property
    def sources(self) -> dict[str, str]:
        """Every lowering stage's output (IR text, view models, generated C)."""
        return dict(self._art.sources)

    @property
    def codegen_artifact_dir(self) -> str:
        """Directory of the built module and its C sources."""
        return str(self._art.build.directory)

    @property
    def overlap_tracked(self) -> dict[str, str]:
        """Tensors whose accesses are related by byte overlap rather than by identical
        region (docs/runtime.md, "Per-tensor tracking"), each with the reason: the compile-time
        view analysis and, after ``execute``, the bound arrays (self-aliasing or shared
        memory). Under ``Deps.explicit()`` no data is tracked (empty)."""
        if self._deps in ("bytes_overlap", "hybrid"):
            return {t.name: f"the program uses Deps {self._deps}" for t in self.module.tensors}
        return {**self._static_overlap, **self._bound_overlap}

    @property
    def stats(self) -> ProgramStats:
        """A snapshot of the last run's statistics (and the compile time)."""
        return replace(self._stats, compile_time_ms=self._compile_ms)

    # -- runtime inputs -----------------------------------------------------------------
    def set_tensor(self, name: str, array: np.ndarray) -> None:
        """Bind new data (same shape and dtype as declared) to tensor ``name``: a numpy array or
        any CPU array speaking DLPack or the buffer protocol, used in place (zero-copy)."""
        decl = self.module.tensor(name)
        if decl is None:
            raise TypeCheckError(f"no tensor named '{name}'", user_location(),
                                 hint="tensors: " + ", ".join(t.name for t in self.module.tensors))
        array = as_array(array, f"tensor '{name}'", user_location())
        self._check_array(decl, array, user_location())
        self._arrays[name] = array

    def set_axis_sizes(self, **sizes: int) -> None:
        """Change dynamic (DenseDyn) axis sizes; no rebuild."""
        loc = user_location()
        for name, n in sizes.items():
            a = self.module.axis(name)
            if a is None or a.kind != "dense_dyn":
                raise TypeCheckError(f"'{name}' is not a DenseDyn axis of this program", loc)
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= INT64_MAX:
                raise TypeCheckError(f"axis size must be an int in [0, 2**63), got {n!r}", loc)
            self._axis_size[name] = int(n)

    def set_axis_data(self, name: str, *, lengths=None, indptr=None, indices=None) -> None:
        """New ragged ``lengths`` or sparse ``indptr``/``indices`` (same outer size)."""
        loc = user_location()
        a = self.module.axis(name)
        if a is None or a.kind not in ("ragged", "sparse"):
            raise TypeCheckError(f"'{name}' is not a Ragged or Sparse axis of this program", loc)
        if a.kind == "ragged":
            if lengths is None:
                raise TypeCheckError(f"ragged axis '{name}' needs lengths=", loc)
            arr = index_array(lengths, f"ragged axis '{name}': lengths", loc)
            if arr.shape != (a.size,):
                raise TypeCheckError(f"ragged axis '{name}' needs {a.size} lengths, got "
                                     f"{arr.size}", loc)
            self._axis_arrays[name] = (arr, np.zeros(0, np.int64))
        else:
            if indptr is None or indices is None:
                raise TypeCheckError(f"sparse axis '{name}' needs indptr= and indices=", loc)
            ip = index_array(indptr, f"sparse axis '{name}': indptr", loc)
            ix = index_array(indices, f"sparse axis '{name}': indices", loc)
            check_csr(a.size, ip, ix, loc)
            self._axis_arrays[name] = (ip, ix)

    def set_channel_latency(self, cycles: int) -> None:
        """Simulated cycles from a channel token's producer task ending to its consumers
        seeing it (CSP pipelines; default 0). No rebuild. Also settable as the prototype's
        runtime symbol: ``set_symbol_u64("__pto_wsp_channel_latency_cycles", cycles)``."""
        self._channel_latency = _int_in(cycles, 0, 2**63 - 1, "channel latency")

    def _set_symbol(self, name, value, kind) -> None:
        loc = user_location()
        if name == CHANNEL_LATENCY_SYMBOL and kind == "int":
            self.set_channel_latency(value)
            return
        decl = next((s for s in self.module.symbols if s.name == name), None)
        if decl is None:
            raise TypeCheckError(f"the program has no symbol '{name}'", loc,
                                 hint="symbols: " + (", ".join(s.name for s in
                                                               self.module.symbols) or "none"))
        if (kind == "float") != decl.dtype.is_float:
            raise TypeCheckError(f"symbol '{name}' is {decl.dtype.value}", loc)
        self._symbols[name] = value

    def set_symbol_u64(self, name: str, value: int) -> None:
        self._set_symbol(name, _int_in(value, 0, 2**64 - 1, "u64"), "int")

    def set_symbol_i64(self, name: str, value: int) -> None:
        self._set_symbol(name, _int_in(value, -2**63, 2**63 - 1, "i64") & (2**64 - 1), "int")

    def set_symbol_f32(self, name: str, value: float) -> None:
        self._set_symbol(name, float(np.float32(value)), "float")

    def set_symbol_ptr(self, name: str, value: int) -> None:
        self._set_symbol(name, _int_in(value, 0, 2**64 - 1, "pointer"), "int")

    # -- running ------------------------------------------------------------------------
    def execute(self, **arrays) -> None:
        """Start running (asynchronously); ``arrays`` rebind tensors by name first."""
        loc = user_location()
        if self._thread is not None and self._thread.is_alive():
            raise ExecutionError("the program is already running", loc,
                                 hint="call synchronize() first")
        for name, arr in arrays.items():
            self.set_tensor(name, arr)
        arrays_ = self._bound_arrays(loc)
        self._result = None
        self._progress[:] = 0
        if knobs.flag(knobs.ISOLATE) if self.isolate is None else self.isolate:
            self._execute_isolated(arrays_, loc)
            return
        inputs, keep = self._inputs(arrays_, loc)

        def run():
            out = self._ffi.new("pto_outputs *")
            t0 = time.perf_counter()
            rc = self._lib.pto_run(inputs, out)
            self._result = (rc, out, (time.perf_counter() - t0) * 1e3, keep)
        self._start(run)

    def _execute_isolated(self, arrays: list[np.ndarray], loc) -> None:
        """Run in a forked child on shared copies of the arrays (see ``isolate``)."""
        from .isolate import SharedArrays, crash_error, run_in_child
        shared = SharedArrays(arrays)
        inputs, keep = self._inputs(shared.views, loc)
        written = self.written_tensors()
        which = [t.name in written for t in self.module.tensors]
        finish = run_in_child(self._lib, self._ffi, inputs, keep[-2:])

        def run():
            rc, out, ms, crash = finish()
            if crash is None:
                shared.copy_back(arrays, which)
                self._result = (rc, out, ms, keep)
            else:
                self._result = (None, None, ms, keep)
                self._crash = crash_error(self.module, *crash)
        self._start(run)

    def _start(self, run) -> None:
        self._thread = threading.Thread(target=run, name="pto_wsp.execute", daemon=True)
        self._thread.start()
        _running.add(self._thread)

    def is_complete(self) -> bool:
        """True once the last ``execute()`` has finished (whether or not synchronized)."""
        return self._result is not None and (self._thread is None
                                             or not self._thread.is_alive())

    def synchronize(self) -> None:
        """Wait for the run to finish; raise its error, if any."""
        if self._thread is None:
            raise ExecutionError("synchronize() before execute()", user_location())
        from .progress import wait_with_progress
        wait_with_progress(self._thread, self._progress, self.module.name,
                           traced=self._art.orch.trace)
        rc, out, ms, _keep = self._result
        self._thread = None
        if self._crash is not None:
            crash, self._crash = self._crash, None
            self._stats = ProgramStats(compiled=self._stats.compiled, execute_time_ms=ms)
            raise crash
        s = self._stats
        s.execute_time_ms = ms
        s.task_count, s.total_cycles = int(out.task_count), int(out.total_cycles)
        s.executed, s.cancelled = int(out.executed), int(out.cancelled)
        s.window_overflows, s.window_stalls = int(out.window_overflows), int(out.window_stalls)
        s.max_in_flight, s.num_workers = int(out.max_in_flight), int(out.num_workers)
        s.peak_regions = int(out.peak_regions)
        s.critical_path = int(out.critical_path)
        s.wall_ms, s.orchestration_ms = float(out.wall_ms), float(out.orchestration_ms)
        s.drain_ms = max(0.0, s.wall_ms - s.orchestration_ms)
        ks, ls = _keep[-2], _keep[-1]
        s.kernels = {k.name: KernelStats(int(ks[2 * i]), int(ks[2 * i + 1]))
                     for i, k in enumerate(self.module.kernels)}
        total = max(s.total_cycles, 1)
        s.lanes = [LaneStats(name, int(ls[2 * i]), int(ls[2 * i + 1]), int(ls[2 * i + 1]) / total)
                   for i, name in enumerate(self._art.orch.lanes)]
        self.slots = np.frombuffer(self._ffi.buffer(out.slots), np.uint64).copy()
        if rc != 0:
            raise self._error(out)

    def run(self, **arrays) -> ProgramStats:
        """``execute`` then ``synchronize``; returns a snapshot of the stats."""
        self.execute(**arrays)
        self.synchronize()
        return self.stats

    def _error(self, out) -> PtoError:
        msg = self._ffi.string(out.message).decode(errors="replace")
        code = int(out.code)
        if code == _E_SITE:
            site = self._art.orch.sites[int(out.site)]
            kind = getattr(site, "kind", "index")
            if kind == "deadlock":  # CSP pipeline: the message names the blocked processes
                cls = ChannelFull if int(out.bad_value) else DeadlockError  # a full channel
                return cls(msg or site.what, site.loc,
                                     hint="check the channels' depths and that every "
                                          "consumed channel has a producer that sends enough")
            if kind == "closed":
                return ChannelClosed(site.what, site.loc,
                                     hint="send (record) one token per synchronize")
            return ExecutionError(f"{site.what} (value {int(out.bad_value)})", site.loc)
        if code == _E_KERNEL:
            k = self.module.kernels[int(out.kernel_id)]
            why = re.search(r" failed with -?\d+: (.*)", msg, re.S)  # pto_rt_kernel_fail
            return KernelError(f"kernel '{k.name}' failed in task {int(out.task_id)} "
                               f"(returned {int(out.kernel_rc)}); its dependents were cancelled"
                               + (f": {why[1]}" if why else ""), k.loc)
        tg = self.module.schedule.task_graph
        window_loc = tg.window.loc if tg and tg.window else None
        if code == _E_WINDOW:
            return WindowOverflowError(msg or "task window overflow", window_loc,
                                       hint="enlarge TaskWindow(size) or use WindowMode.STALL")
        if code == _E_DEADLOCK:
            return DeadlockError(msg or "deadlock", window_loc,
                                 hint="a StartPolicy.threshold larger than a STALL window can "
                                      "never start")
        return ExecutionError(f"run failed (code {code}): {msg}")

    # -- input marshalling ----------------------------------------------------------------
    def _check_array(self, decl: ir.TensorDecl, arr: np.ndarray, loc) -> None:
        if arr.shape != decl.shape:
            raise TypeCheckError(f"tensor '{decl.name}' is declared {list(decl.shape)}, the "
                                 f"array has shape {list(arr.shape)}", loc)
        if arr.dtype != decl.dtype.np:
            raise TypeCheckError(f"tensor '{decl.name}' is declared {decl.dtype.value}, the "
                                 f"array is {arr.dtype}", loc,
                                 hint=f"use arr.astype({decl.dtype.np.name})")
        if any(s % arr.itemsize for s in arr.strides):
            raise TypeCheckError(f"array for '{decl.name}' has strides {arr.strides} that are "
                                 "not multiples of its element size", loc,
                                 hint="pass np.ascontiguousarray(arr)")
        if decl.layout is not None:
            from .ir.layouts import decl_layout
            mem = decl_layout(decl.shape, decl.layout).mem
            if mem is not None and not mem.matches(arr):
                want = tuple(s * arr.itemsize for s in mem.strides())
                raise TypeCheckError(
                    f"tensor '{decl.name}' is declared with memory layout {mem} (byte strides "
                    f"{want}), the array has strides {arr.strides}", loc,
                    hint=_mem_hint(mem))

    def written_tensors(self) -> set[str]:
        """Names of the tensors some task writes (Out or InOut)."""
        return written_tensors(self.module)

    def _bound_arrays(self, loc) -> list[np.ndarray]:
        """The arrays of every tensor, checked against their declarations."""
        written = self.written_tensors()
        arrays = []
        for t in self.module.tensors:
            arr = self._arrays.get(t.name)
            if arr is None:
                raise ExecutionError(f"tensor '{t.name}' has no data", loc,
                                     hint=f"program.set_tensor('{t.name}', array) or "
                                          f"execute({t.name}=array)")
            self._check_array(t, arr, loc)
            if t.name in written:
                if not arr.flags.writeable:
                    raise TypeCheckError(f"tensor '{t.name}' is written but its array is "
                                         "read-only", loc)
                if 0 in arr.strides and arr.size > 1:
                    raise TypeCheckError(f"tensor '{t.name}' is written but its array has a "
                                         "zero stride (a broadcast view)", loc)
            arrays.append(arr)
        return arrays

    def _inputs(self, arrays: list[np.ndarray], loc):
        m, ffi = self.module, self._ffi
        self._bind_tracking(arrays, self.written_tensors(), loc)
        keep = list(arrays)
        ptrs = ffi.new("void *[]", max(1, len(arrays)))
        from .backends.cpu_sim.lower_orch import MAX_RANK
        strides = np.zeros(max(1, len(arrays)) * MAX_RANK, np.int64)
        shapes = np.ones_like(strides)
        for i, arr in enumerate(arrays):
            ptrs[i] = ffi.cast("void *", arr.__array_interface__["data"][0])
            shapes[i * MAX_RANK:i * MAX_RANK + arr.ndim] = arr.shape
            strides[i * MAX_RANK:i * MAX_RANK + arr.ndim] = [s // arr.itemsize
                                                              for s in arr.strides]
        n_ax = max(1, len(m.axes))
        sizes = np.zeros(n_ax, np.int64)
        ax_a = ffi.new("int64_t *[]", n_ax)
        ax_b = ffi.new("int64_t *[]", n_ax)
        ax_len = np.zeros(2 * n_ax, np.int64)
        for i, a in enumerate(m.axes):
            sizes[i] = self._axis_size[a.name]
            aa, bb = (np.ascontiguousarray(x) for x in self._axis_arrays[a.name])
            ax_len[2 * i:2 * i + 2] = aa.size, bb.size
            keep += [aa, bb]
            ax_a[i] = ffi.cast("int64_t *", ffi.from_buffer(aa))
            ax_b[i] = ffi.cast("int64_t *", ffi.from_buffer(bb))
        n_sym = max(1, len(m.symbols))
        sym_u = np.zeros(n_sym, np.uint64)
        sym_f = np.zeros(n_sym, np.float64)
        for i, s in enumerate(m.symbols):
            v = self._symbols[s.name]
            if s.dtype.is_float:
                sym_f[i] = float(v)
            else:
                sym_u[i] = int(v) & (2**64 - 1)
        inp = ffi.new("pto_inputs *")
        inp.tensors = ptrs
        inp.strides = ffi.cast("int64_t *", ffi.from_buffer(strides))
        inp.axis_size = ffi.cast("int64_t *", ffi.from_buffer(sizes))
        inp.axis_a = ax_a
        inp.axis_b = ax_b
        inp.sym_u = ffi.cast("uint64_t *", ffi.from_buffer(sym_u))
        inp.sym_f = ffi.cast("double *", ffi.from_buffer(sym_f))
        inp.num_threads = self.num_threads
        inp.channel_latency = self._channel_latency
        overlap = np.array([t.name in self.overlap_tracked for t in m.tensors] or [0], np.uint32)
        inp.overlap = ffi.cast("uint32_t *", ffi.from_buffer(overlap))
        inp.shapes = ffi.cast("int64_t *", ffi.from_buffer(shapes))
        inp.axis_len = ffi.cast("int64_t *", ffi.from_buffer(ax_len))
        inp.num_tensors, inp.num_axes, inp.num_symbols = len(arrays), len(m.axes), len(m.symbols)
        keep += [ptrs, strides, sizes, ax_a, ax_b, sym_u, sym_f, overlap, shapes, ax_len]
        if self._art.orch.trace:
            d = self._trace_directory()
            tp = ffi.new("char[]", str(d / "trace.json").encode())
            dp = ffi.new("char[]", str(d / "graph.dot").encode())
            inp.trace_path, inp.dot_path = tp, dp
            inp.dot_max_nodes = 2**64 - 1  # to_dot(max_nodes=...) applies the limit
            keep += [tp, dp]
        inp.progress = ffi.cast("uint64_t *", ffi.from_buffer(self._progress))
        if self._record_path is not None:  # test aid: the submitted stream, as records
            rp = ffi.new("char[]", str(self._record_path).encode())
            inp.record_path = rp
            keep.append(rp)
        kstats = np.zeros(2 * max(1, len(m.kernels)), np.uint64)
        lstats = np.zeros(2 * max(1, len(self._art.orch.lanes)), np.uint64)
        inp.kernel_stats = ffi.cast("uint64_t *", ffi.from_buffer(kstats))
        inp.num_kernels = len(m.kernels)
        inp.lane_stats = ffi.cast("uint64_t *", ffi.from_buffer(lstats))
        inp.num_lanes = len(self._art.orch.lanes)
        keep += [kstats, lstats]  # read back by synchronize (the last two)
        return inp, keep

    def _trace_directory(self) -> Path:
        """This program's trace directory (removed when the program is freed, or at exit),
        emptied for the next run so that a failed run leaves no stale trace."""
        if self._trace_dir is None:
            self._trace_dir = d = Path(tempfile.mkdtemp(prefix="pto_trace_"))
            _trace_dirs.add(d)
            weakref.finalize(self, _remove_trace_dir, d).atexit = False
        for name in ("trace.json", "graph.dot"):
            (self._trace_dir / name).unlink(missing_ok=True)
        return self._trace_dir

    def _bind_tracking(self, arrays, written, loc) -> None:
        """Written arrays whose own elements alias, and tensors sharing memory with a
        written one, are switched to byte-overlap tracking (exact region matching cannot
        relate their accesses). ``Deps.explicit()`` tracks no data: sharing is an error."""
        self._bound_overlap = {}
        if self._deps in ("bytes_overlap", "hybrid"):
            return
        names = [t.name for t in self.module.tensors]
        bound = {}
        for name, arr in zip(names, arrays):
            if name in written and elements_alias(arr):
                bound[name] = f"its array's elements overlap in memory (strides {arr.strides})"
        for i in range(len(arrays)):
            for j in range(i + 1, len(arrays)):
                if (names[i] in written or names[j] in written) and \
                        shares_memory(arrays[i], arrays[j]):
                    if self._deps == "explicit":
                        raise TypeCheckError(
                            f"tensors '{names[i]}' and '{names[j]}' share memory and one is "
                            "written: Deps.explicit() tracks no data, so nothing relates "
                            "their accesses", loc,
                            hint="use the default Deps.infer_tensor_map_exact() or "
                                 "Deps.hybrid(), which track shared memory by byte overlap")
                    for a, b in ((i, j), (j, i)):
                        bound.setdefault(names[a], f"it shares memory with '{names[b]}'")
        if self._deps == "tensor_map_exact":
            self._bound_overlap = bound

    # -- traces -------------------------------------------------------------------------
    def _trace_file(self, name: str) -> Path:
        if not self._art.orch.trace:
            raise ExecutionError("this program was compiled without tracing", user_location(),
                                 hint="schedule .task_graph(trace=TracePolicy.cycles())")
        if self._trace_dir is None or not (self._trace_dir / name).exists():
            raise ExecutionError("no trace yet: execute() and synchronize() first",
                                 user_location())
        return self._trace_dir / name

    def trace(self) -> dict:
        """The last run's Chrome trace (as a dict)."""
        return json.loads(self._trace_file("trace.json").read_text())

    def to_chrome_trace(self, path: str) -> None:
        shutil.copyfile(self._trace_file("trace.json"), path)

    def report(self, path: str) -> None:
        """Write the last run as one self-contained HTML file: the simulated timeline per lane
        (when the program is traced), utilisation per lane and per kernel, the top kernels."""
        from .report import render
        if not self._stats.num_workers:
            raise ExecutionError("no run to report yet: run() (or execute() and "
                                 "synchronize()) first", user_location())
        trace = None
        if self._art.orch.trace and self._trace_dir and (self._trace_dir / "trace.json").exists():
            trace = self.trace()
        Path(path).write_text(render(self.module.name, self.stats, trace), encoding="utf-8")

    def to_dot(self, path: str, max_nodes: int | None = 2000) -> None:
        """Write the last run's task graph as Graphviz DOT. Graphs of more than ``max_nodes``
        tasks are an error (they are slow to lay out); ``max_nodes=None`` lifts the limit."""
        loc = user_location()
        if max_nodes is not None and (isinstance(max_nodes, bool) or
                                      not isinstance(max_nodes, int) or max_nodes < 0):
            raise ExecutionError(f"to_dot(max_nodes=...) takes an int >= 0 or None, got "
                                 f"{max_nodes!r}", loc)
        text = self._trace_file("graph.dot").read_text()
        nodes = len(re.findall(r'^  t\d+ \[label="', text, re.M))
        if max_nodes is not None and nodes > max_nodes:
            raise ExecutionError(
                f"the task graph has {nodes} tasks, more than to_dot's max_nodes={max_nodes}; "
                "nothing was written", loc,
                hint=f"pass to_dot(path, max_nodes={nodes}) (or max_nodes=None) to write it")
        Path(path).write_text(text)


def elements_alias(arr: np.ndarray) -> bool:
    """May two distinct elements of ``arr`` share a byte? Conservative: False is proven by a
    stride order in which each stride covers the span of all smaller dimensions."""
    span = arr.itemsize
    for stride, n in sorted((abs(s), n) for s, n in zip(arr.strides, arr.shape) if n > 1):
        if stride < span:
            return True
        span += stride * (n - 1)
    return False


def shares_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """Do ``a`` and ``b`` share a byte? (bounded exact test; too hard counts as yes)"""
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=100_000))
    except np.exceptions.TooHardError:
        return True


class AscendProgram(Program):
    """A compiled ``ascend_npu`` workload: its Ascend source tree (``codegen_artifact_dir``;
    ``sources`` maps each path to its text), run here in the **host emulation** of that tree
    (docs/ascend.md): the host runner copies every tensor to (emulated) device memory, the
    AICPU scheduler and the AICores run as threads, written tensors are copied back."""

    target = "ascend_npu"
    emulated = True  #: runs are the host emulation of the tree, not an NPU

    def _target_text(self) -> str:
        return "ascend_npu (host emulation)"

    @property
    def host_library(self) -> str:
        """The built host emulation (``libpto_wsp_host.so``: the C API of
        ``host/pto_wsp_host.h``, loadable with ``cffi.FFI().dlopen``)."""
        return str(self._art.build.module.path)

    def execute(self, **arrays) -> None:
        logs.info("running %s: ascend_npu tree in host emulation", self.module.name)
        super().execute(**arrays)

    _AICORE_RC = {  # common/pto_handshake.h
        101: "no kernel of that id on the AICore's unit (a pto-wsp bug)",
        102: "a view's shape or column stride does not fit the PTO-ISA kernel: its GlobalTensor "
             "needs contiguous columns (element stride 1)",
        103: "a PTO-ISA check failed (the message is on stderr)",
        104: "the AICPU could not allocate the kernel's GM workspace"}

    def _error(self, out) -> PtoError:
        rc = int(out.kernel_rc)
        if int(out.code) == _E_KERNEL and rc in self._AICORE_RC:
            k = self.module.kernels[int(out.kernel_id)]
            return KernelError(f"kernel '{k.name}' failed in task {int(out.task_id)} on its "
                               f"AICore: {self._AICORE_RC[rc]}", k.loc,
                               hint="pass arrays whose last dimension is contiguous "
                                    "(np.ascontiguousarray)" if rc == 102 else None)
        return super()._error(out)

    def _bind_tracking(self, arrays, written, loc) -> None:
        """Each tensor is its own device allocation: arrays sharing memory with a written one
        would silently stop sharing it."""
        names = [t.name for t in self.module.tensors]
        for i in range(len(arrays)):
            for j in range(i + 1, len(arrays)):
                if (names[i] in written or names[j] in written) and \
                        shares_memory(arrays[i], arrays[j]):
                    raise TypeCheckError(
                        f"tensors '{names[i]}' and '{names[j]}' share memory and one is "
                        "written: on ascend_npu each tensor is its own device allocation", loc,
                        hint="pass separate arrays (np.copy), or run on cpu_sim")
        super()._bind_tracking(arrays, written, loc)

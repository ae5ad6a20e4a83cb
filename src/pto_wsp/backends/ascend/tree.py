"""``target="ascend_npu"``: the Ascend source tree of a module and its host-emulation build.

The tree (docs/ascend.md, "The tree") is rendered from one template manifest
(``templates/ascend/``) and the same IR and view models as cpu_sim: the AICore kernels from
:mod:`.aicore`, the task generator as a plan (:mod:`.plan`, ``aicpu/plan.bin``, embedded in
``aicpu/plan.c``) for the plan interpreter, the runtime (``runtime_c/pto_rt*``,
``pto_plan.c``) and the host PTO-ISA layer (``runtime_c/pto/``) copied in as sources.
It is cached like cpu_sim's builds (a key over its whole text); the host emulation is built
from it with CMake into a second cache entry holding ``libpto_wsp_host.so`` (loaded with cffi
in ABI mode, the Python shim) beside the emulated device binaries it loads.
"""

from __future__ import annotations

import atexit
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import cffi

from ... import knobs, logs
from ...errors import CompileError
from ...ir import nodes as ir
from ...ir.kloops import OPCODES
from ...ir.tracking import overlap_tensors, written_tensors
from ...machine import Machine
from ...resources import runtime_dir
from ...types import DType
from .. import template_env
from ..cpu_sim.build import BuildResult, _cached, _key, _run_cc, runtime_library
from ..cpu_sim.c_syntax import file_stem, ident, scalar, string
from ..cpu_sim.codegen import COST_MODELS, Artifact, abi_cdef, check_executable
from ..cpu_sim.lower_kernel import args_type, kernel_fn, scalar_ctype
from ..cpu_sim.lower_orch import lower_orchestration
from .aicore import CXX_TYPE, cxx_ident, lower_aicore, lower_custom, render, render_custom
from .plan import compile_plan, plan_glue

# (template under templates/ascend/, path in the tree); kernels add aicore/kernel_<name>.cpp
MANIFEST = [(f, f) for f in (
    "CMakeLists.txt", "README.md", "common/pto_handshake.h", "common/kernel_args.h",
    "aicore/entry.cpp", "aicore/aicore_dispatch.h", "aicore/dispatch.cpp",
    "aicpu/pto_aicpu.h", "aicpu/kernels.h", "aicpu/kernel_table.c", "aicpu/scheduler.c",
    "host/pto_wsp_host.h", "host/pto_device.h", "host/runner.c", "host/api.c",
    "host/program_info.c", "host/pto_wsp_host.py", "host/acl_stub/acl/acl.h",
    "host/acl_stub/acl_stub.c")]
RUNTIME = ("pto_rt.c", "pto_rt_trace.c", "pto_rt.h", "pto_rt_internal.h", "pto_orch.h",
           "pto_orch_abi.h", "pto_plan.c", "pto_plan.h", "pto_record.h")
LIBRARY = "libpto_wsp_host.so"
DEVICE_LIBRARIES = ("libpto_wsp_aicore.so", "libpto_wsp_aicpu.so")  # loaded by the host one
_AXIS_KIND = {"dense": 0, "dense_dyn": 1, "ragged": 2, "sparse": 3}
_UNIT = {"vector": "PTO_HS_UNIT_VECTOR", "cube": "PTO_HS_UNIT_CUBE"}


def host_cdef() -> str:
    """The cffi cdef of the host library: the run ABI and the host C API."""
    return abi_cdef() + HOST_CDEF


#: the host C API, as cffi declares it (host/pto_wsp_host.h)
HOST_CDEF = """
typedef struct pto_wsp_host pto_wsp_host;
pto_wsp_host *pto_wsp_host_open(void);
void pto_wsp_host_close(pto_wsp_host *h);
const char *pto_wsp_host_error(const pto_wsp_host *h);
int pto_wsp_host_set_tensor(pto_wsp_host *h, const char *name, void *data,
                            const int64_t *strides);
int pto_wsp_host_set_axis_size(pto_wsp_host *h, const char *name, int64_t size);
int pto_wsp_host_set_axis_data(pto_wsp_host *h, const char *name, const int64_t *a,
                               const int64_t *b);
int pto_wsp_host_set_symbol_u64(pto_wsp_host *h, const char *name, uint64_t value);
int pto_wsp_host_set_symbol_f64(pto_wsp_host *h, const char *name, double value);
void pto_wsp_host_set_num_threads(pto_wsp_host *h, uint32_t n);
int pto_wsp_host_run(pto_wsp_host *h, pto_outputs *out);
int pto_wsp_host_run_inputs(pto_wsp_host *h, const pto_inputs *in, pto_outputs *out);
"""


@dataclass
class KernelEntry:
    """One kernel as the tree sees it: its task-table entry, argument block and AICore
    entries (one part per entry: several when the kernel mixes cube and vector work)."""
    id: int
    fn: str
    args: str
    file: str
    name_str: str
    parts: list[dict]
    ws_bytes: int
    c_fields: list[str]
    cxx_fields: list[str]
    checks: list[str]
    piped: int = 0  # a kernel with loops: its cycles are the pipe clocks' (aicore_dispatch.h)


def _kernel_entry(kid: int, k: ir.Kernel) -> tuple[KernelEntry, str]:
    if k.custom is not None:  # a C++ body against PTO-ISA: runs on the unit it declares
        vm = lower_custom(k)
        entries = [(vm.entry, "cube" if k.exec_unit == "cube" else "vector", None, vm.params)]
        code, ws = render_custom(vm), 0
    else:
        vm = lower_aicore(k)
        entries = [(e.entry, e.unit, e.guard, e.params) for e in vm.entries]
        code, ws = render(vm), vm.workspace_bytes
    e = KernelEntry(kid, kernel_fn(k.name), args_type(k.name), f"kernel_{file_stem(k.name)}.cpp",
                    string(k.name), [], ws, [], [], [],
                    int(k.custom is None and any(op.opcode in OPCODES for op in k.ops)))
    call = []
    strided = set() if k.custom is not None else set(vm.entries[0].strided)  # DN views
    for p in k.params:
        c, x = ident(p.name), cxx_ident(p.name)
        if isinstance(p.type, (ir.TileType, ir.TensorType)):
            e.c_fields += [f"void *{c};", f"int64_t {c}_rs, {c}_cs, {c}_rows, {c}_cols;"]
            e.cxx_fields += [f"void *{x};", f"int64_t {x}_rs, {x}_cs, {x}_rows, {x}_cols;"]
            layout = (f"(a->{x}_cs != 1 && a->{x}_rs != 1)" if p.name in strided
                      else f"a->{x}_cs != 1")
            rows, cols = ((p.type.rows, p.type.cols) if isinstance(p.type, ir.TileType)
                          else p.type.shape)
            e.checks.append(f"{layout} || a->{x}_rows != {rows} || a->{x}_cols != {cols}")
            call += [f"(__gm__ {CXX_TYPE[p.type.dtype]} *)a->{x}", f"a->{x}_rs"]
            if p.name in strided:
                call.append(f"a->{x}_cs")
        else:
            t = scalar_ctype(p.type.dtype)
            e.c_fields.append(f"{t} {c};")
            e.cxx_fields.append(f"{t} {x};")
            call.append(f"a->{x}")
    for entry, unit, guard, params in entries:
        e.parts.append(dict(entry=entry, unit_name=unit, unit=_UNIT[unit], guard=guard,
                            params=params, call=call + (["(__gm__ uint8_t *)ws"] if ws else [])))
    return e, code


def emit(m: ir.Module, machine: Machine = Machine(), v9_compat: bool = False,
         cost_model: str = "v9"):
    """The tree of ``m``: {path: text}, the orchestration view model, the kernel entries."""
    if cost_model not in COST_MODELS:
        raise CompileError(f"unknown cost_model {cost_model!r}",
                           hint="use one of " + ", ".join(COST_MODELS))
    check_executable(m, "ascend_npu")
    kernels, files = [], {}
    for kid, k in enumerate(m.kernels):
        e, code = _kernel_entry(kid, k)
        kernels.append(e)
        files[f"aicore/{e.file}"] = code
    orch = lower_orchestration(m, machine, v9_compat)
    plan = compile_plan(m, machine, v9_compat)
    orch.sites = plan.sites  # the plan's error sites (numbered as the orchestration's)
    files["aicpu/plan.c"] = plan_glue(m, plan)
    files["aicpu/plan.bin"] = plan.data
    written = written_tensors(m)
    overlap = overlap_tensors(m)
    ctx = dict(
        name=m.name, kernels=kernels, args_bytes=_args_bytes(m), cdef=host_cdef(),
        num_kernels=len(kernels), num_lanes=len(orch.lanes), cost_model=COST_MODELS[cost_model],
        vector=[e.file for e in kernels if any(p["unit_name"] == "vector" for p in e.parts)],
        cube=[e.file for e in kernels if any(p["unit_name"] == "cube" for p in e.parts)],
        tensors=[dict(name=string(t.name), rank=len(t.shape), elem=t.dtype.itemsize,
                      written=int(t.name in written), overlap=int(t.name in overlap),
                      shape=", ".join(map(str, t.shape)) or "0") for t in m.tensors],
        axes=[dict(name=string(a.name), kind=_AXIS_KIND[a.kind], size=a.size,
                   a=", ".join(map(str, a.lengths or a.indptr)) or "0",
                   b=", ".join(map(str, a.indices)) or "0") for a in m.axes],
        symbols=[dict(name=string(s.name), is_float=int(s.dtype.is_float),
                      u=0 if s.dtype.is_float else int(s.default) & (2**64 - 1),
                      f=scalar(float(s.default) if s.dtype.is_float else 0.0, DType.F64))
                 for s in m.symbols])
    env = template_env()
    for tmpl, path in MANIFEST:
        files[path] = env.get_template(f"ascend/{tmpl}.j2").render(**ctx)
    rt = runtime_dir()
    for f in RUNTIME:
        files[f"aicpu/runtime/{f}"] = (rt / f).read_text()
    for p in sorted(rt.glob("pto_tile*.h")) + sorted((rt / "pto").rglob("*.hpp")):
        files[f"third_party/pto-isa-host/{p.relative_to(rt)}"] = p.read_text()
    return files, orch, kernels


def _args_bytes(m: ir.Module) -> int:
    """Mailbox bytes for the largest argument block (a tile or tensor parameter is a pointer
    and four int64s, a scalar at most 8 bytes), in whole 64-byte lines."""
    most = max((sum(40 if isinstance(p.type, (ir.TileType, ir.TensorType)) else 8
                    for p in k.params)
                for k in m.kernels), default=0)
    return max(64, -(-most // 64) * 64)


def write_tree(files: dict[str, str | bytes], out: Path) -> None:
    """Write the tree's files under ``out``."""
    for path, data in files.items():
        p = out / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)


def _cmake() -> str:
    exe = shutil.which("cmake")
    if exe is None:
        raise CompileError("the ascend_npu host emulation is built with CMake, which is not "
                           "installed", hint="install cmake (>= 3.16)")
    return exe


def build(m: ir.Module, *, machine: Machine = Machine(), v9_compat: bool = False,
          cost_model: str = "v9") -> Artifact:
    """Emit the tree (cached) and build its host emulation (cached); load the host library."""
    files, orch, _ = emit(m, machine, v9_compat, cost_model)
    tree_key = _key("ascend-tree", sorted(files.items()))
    tree, _ = _cached(tree_key, "CMakeLists.txt", lambda stage: write_tree(files, stage))
    cc, opt = knobs.CC.get(), knobs.OPT.get() + " " + knobs.CFLAGS.get()
    rt = runtime_library()  # the same runtime cpu_sim links (cached once for both)
    build_key = _key("ascend-build", tree_key, cc, opt, str(rt))

    def produce(stage: Path) -> None:
        logs.info("building the ascend_npu tree of %s (host emulation) ...", m.name)
        b = stage / "build"
        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        _run_cc([_cmake(), "-S", str(tree), "-B", str(b), *gen, f"-DCMAKE_C_COMPILER={cc}",
                 f"-DCMAKE_C_FLAGS={opt}", f"-DCMAKE_CXX_FLAGS={knobs.OPT.get()}",
                 "-DCMAKE_BUILD_TYPE=None", f"-DPTO_WSP_RUNTIME_LIBRARY={rt}"],
                stage, f"ascend-{build_key[:16]}")
        _run_cc([_cmake(), "--build", str(b)], stage, f"ascend-{build_key[:16]}")
        for lib in (*DEVICE_LIBRARIES, LIBRARY):
            shutil.copy(b / lib, stage / lib)
        shutil.rmtree(b)  # its CMake cache names this staging directory

    t0 = time.perf_counter()
    bdir, compiled = _cached(build_key, LIBRARY, produce)
    lib = _load(bdir / LIBRARY)
    return Artifact(BuildResult(lib, build_key, tree, compiled,
                                (time.perf_counter() - t0) * 1e3), files, orch)


_handles: dict[Path, SimpleNamespace] = {}


def _load(path: Path) -> SimpleNamespace:
    """The host library through cffi (ABI mode, the tree's cdef): ``.ffi``, and
    ``.lib.pto_run(in, out)`` running the device on one open handle (as the cpu_sim module's
    ``pto_run``)."""
    if path in _handles:
        return _handles[path]
    ffi = cffi.FFI()
    ffi.cdef(host_cdef())
    dl = ffi.dlopen(str(path))
    h = dl.pto_wsp_host_open()
    if h == ffi.NULL:
        raise CompileError(f"the ascend_npu host library {path} could not open the (emulated) "
                           "device", hint="its reason is on stderr")
    atexit.register(dl.pto_wsp_host_close, h)
    mod = SimpleNamespace(path=path, ffi=ffi, dl=dl, handle=h, lib=SimpleNamespace(
        pto_run=lambda inp, out: dl.pto_wsp_host_run_inputs(h, inp, out)))
    _handles[path] = mod
    return mod

"""The cpu_sim pipeline: named stages from IR to a built native module.

Stages (each output can be dumped with ``PTO_WSP_DUMP=dir`` and is in ``program.sources``):

1. ``ir``                  -- the verified module as ``.pto`` text
2. ``lower_kernels``       -- per kernel: argument struct, tile buffers, tile-library calls
3. ``lower_orchestration`` -- the workload as a tree of C statements + runtime config
4. ``render``              -- Jinja2 templates -> ``kernels.h``, ``kernels.c``, ``orchestrate.c``
                              (plus one unit ``kernel_<name>.c`` per custom-body kernel)
5. ``build``               -- cffi + the C compiler -> cached extension module
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

import jinja2

from ... import knobs
from ...errors import CompileError
from ...ir import nodes as ir
from ...ir.printer import print_module
from ...ir.verify import verify_module
from ...resources import runtime_dir
from .. import template_env
from .build import BuildResult, CCError, build_extension, compiler_summary, runtime_library
from .c_syntax import file_stem, string
from .lower_kernel import KernelVM, ctype, lower_kernel, scalar_ctype
from ...machine import Machine
from .lower_orch import MAX_RANK, OrchVM, lower_orchestration

COST_MODELS = {"v9": 0, "a2a3": 1}
# what a program built with PTO_WSP_ORCHESTRATION=plan exports beside pto_run
PLAN_CDEF = """
extern const uint8_t pto_plan_main[];
extern const uint64_t pto_plan_main_bytes;
int pto_plan_check(const uint8_t *plan, uint64_t plan_bytes, char *msg, size_t msg_size);
int pto_plan_record(const uint8_t *plan, uint64_t plan_bytes, const pto_inputs *in,
                    uint32_t aicpu, const char *path, uint64_t max_steps, pto_outputs *out);
"""


@dataclass
class Artifact:
    build: BuildResult
    sources: dict[str, str]
    orch: OrchVM


def _env() -> jinja2.Environment:
    env = template_env()
    env.globals.update(ctype=ctype, scalar_ctype=scalar_ctype)
    return env


def abi_cdef() -> str:
    """The cffi cdef: ``runtime_c/pto_orch_abi.h`` without its preprocessor lines."""
    text = (runtime_dir() / "pto_orch_abi.h").read_text()
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))


def generate(m: ir.Module, machine: Machine, v9_compat: bool
             ) -> tuple[dict[str, str], list[KernelVM], OrchVM]:
    """Stages 1-4: the C sources of a module."""
    check_executable(m, "cpu_sim")
    stages: dict[str, str] = {"ir.pto": print_module(m)}
    kvms = [lower_kernel(k) for k in m.kernels]
    stages["lower_kernels.json"] = _dump(kvms)
    orch = lower_orchestration(m, machine, v9_compat)
    stages["lower_orchestration.json"] = _dump(orch)
    stages["kernels.h"], stages["kernels.c"] = render_kernels(kvms)
    for k in kvms:
        if _own_unit(k):
            stages[custom_unit_file(k)] = kernel_code(k)
    stages["orchestrate.c"] = orchestration_code(orch)
    _maybe_dump(m.name, stages)
    return stages, kvms, orch


def check_executable(m: ir.Module, target: str) -> None:
    """Verify ``m`` and refuse what ``target``'s task generator cannot run (collectives,
    tensors above rank MAX_RANK)."""
    verify_module(m)
    from ...ir.layouts import not_executable
    not_executable(m, target)  # collectives: type-checked, not lowered yet
    for t in m.tensors:
        if len(t.shape) > MAX_RANK:
            raise CompileError(f"tensor '{t.name}' has rank {len(t.shape)}; {target} supports "
                               f"up to {MAX_RANK}", t.loc)


def orchestration_code(orch: OrchVM) -> str:
    """``orchestrate.c``: the task generator of a lowered workload (``pto_run``)."""
    return _env().get_template("cpu_sim/orchestrate.c.j2").render(
        config=orch.config, body=orch.body, trace=orch.trace)


def render_kernels(kvms: list[KernelVM]) -> tuple[str, str]:
    """``kernels.h`` and ``kernels.c`` of lowered kernels."""
    env = _env()
    return (env.get_template("cpu_sim/kernels.h.j2").render(kernels=kvms),
            env.get_template("cpu_sim/kernels.c.j2").render(
                kernels=kvms, scratch=max((k.scratch for k in kvms), default=0),
                matmul=any(k.matmul for k in kvms)))


def _own_unit(k: KernelVM) -> bool:
    return k.unit is not None or k.custom is not None or k.cxx is not None


def kernel_code(k: KernelVM) -> str:
    """The code of one lowered kernel: its own unit (custom bodies; C++ ones on the host
    PTO-ISA layer), else kernels.h + kernels.c."""
    if not _own_unit(k):
        return "\n".join(render_kernels([k]))
    fname = custom_unit_file(k)
    if k.cxx is not None:
        text = _env().get_template("cpu_sim/custom_kernel.cpp.j2").render(
            k=k.cxx, a=k.entry, lines=True)
    else:
        text = _env().get_template("cpu_sim/custom_kernel.c.j2").render(k=k)
    return _resume_line(text, fname)


def custom_unit_file(k: KernelVM) -> str:
    """The file of a custom-body kernel's own translation unit."""
    return f"kernel_{file_stem(k.name)}.{'cpp' if k.cxx is not None else 'c'}"


def _resume_line(text: str, fname: str) -> str:
    """Replace ``#line RESUME`` (after a user's body) by this file's own line number."""
    lines = text.split("\n")
    for i in reversed(range(len(lines))):  # the template's marker follows the user's text
        if lines[i] == "#line RESUME":
            lines[i] = f"#line {i + 2} {string(fname)}"
            break
    return "\n".join(lines)


def build(m: ir.Module, *, machine: Machine = Machine(), v9_compat: bool = False,
          cost_model: str = "v9") -> Artifact:
    """All stages: generate the C and build (or fetch from cache) the native module."""
    if cost_model not in COST_MODELS:
        raise CompileError(f"unknown cost_model {cost_model!r}",
                           hint="use one of " + ", ".join(COST_MODELS))
    orchestration = knobs.ORCHESTRATION.get()
    if orchestration not in ("c", "plan"):
        raise CompileError(f"{knobs.ORCHESTRATION.env}={orchestration!r} is not an "
                           "orchestration", hint="use 'c' or 'plan'")
    stages, kvms, orch = generate(m, machine, v9_compat)
    extra = {n: t for n, t in stages.items()
             if n.startswith("kernel") and n.endswith((".c", ".h", ".cpp"))}
    main, cdef = stages["orchestrate.c"], abi_cdef()
    if orchestration == "plan":
        from ..ascend.plan import compile_plan, plan_glue
        plan = compile_plan(m, machine, v9_compat)
        orch.sites = plan.sites
        main = stages["plan_main.c"] = plan_glue(m, plan)
        extra["pto_plan.c"] = (runtime_dir() / "pto_plan.c").read_text()
        cdef += "\n" + PLAN_CDEF
    try:
        res = build_extension(cdef, main, name_hint=m.name,
                              extra_sources=extra, libraries=(runtime_library(),),
                              define_macros=(("PTO_COST_MODEL", str(COST_MODELS[cost_model])),))
    except CCError as e:
        raise _located(e, m, kvms) from None
    return Artifact(res, stages, orch)


def _located(e: CCError, m: ir.Module, kvms: list[KernelVM]) -> CompileError:
    """A C compiler error said at the user's source: the custom kernel whose unit failed,
    else the module (the generated C failed: our bug, or unusual CC/CFLAGS)."""
    k = next((k for k in kvms if _own_unit(k) and e.source == custom_unit_file(k)), None)
    if k is not None:
        ir_k = m.kernel(k.name)
        what = f"C++ {ir_k.custom.kind}" if k.cxx is not None else \
            "C unit" if k.unit is not None else "C body"
        return CompileError(f"kernel '{k.name}': its custom {what} does not compile:"
                            f"{compiler_summary(e.details)}", ir_k.loc, hint=e.hint,
                            details=e.details)
    return CompileError(f"the C generated for '{m.name}' does not compile:"
                        f"{compiler_summary(e.details)}", m.loc,
                        hint="a pto-wsp bug unless CC, CFLAGS or PTO_WSP_OPT are unusual; "
                             + e.hint, details=e.details)


def _dump(obj) -> str:
    def conv(o):
        if is_dataclass(o):
            return {k: conv(v) for k, v in asdict(o).items()}
        if isinstance(o, (list, tuple)):
            return [conv(x) for x in o]
        if isinstance(o, dict):
            return {k: conv(v) for k, v in o.items()}
        return o if isinstance(o, (int, float, str, bool, type(None))) else str(o)
    return json.dumps(conv(obj), indent=1)


def _maybe_dump(name: str, stages: dict[str, str]) -> None:
    d = knobs.DUMP.get()
    if not d:
        return
    out = Path(d) / file_stem(name)
    out.mkdir(parents=True, exist_ok=True)
    for fname, text in stages.items():
        (out / fname).write_text(text)

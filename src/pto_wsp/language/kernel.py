"""``@kernel`` / ``@jit_kernel``: typed kernel signatures and traced tile bodies (spec 6).

Annotations: ``In[...]``, ``Out[...]``, ``InOut[...]`` wrap ``Tile[rows, cols, dtype]`` or
``Tensor``; ``Scalar[dtype]`` and ``Constexpr[type]`` are by-value parameters. The body is
traced once per set of constexpr values into kernel IR. A kernel may instead carry a custom
body (``cpp_src``, ``cpp_body_path`` or ``cpp_tu_path``) that calls our tile library.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Sequence, overload

from ..errors import SourceLoc, TypeCheckError, user_location
from ..ir.nodes import (ConstexprType, CustomBody, Kernel, Param, ScalarType, TensorType,
                        TileType)
from ..types import DType, Tensor, TensorShape
from .kloops import renumber
from .tracing import ParamValue, Tracer

if TYPE_CHECKING:
    from ..program import CompiledKernel
    from .workload import BoundKernel, TaskHandle

__all__ = ["kernel", "jit_kernel", "In", "Out", "InOut", "Constexpr", "Tile", "Scalar",
           "KernelRef"]


class _Annot:
    def __init__(self, direction: str | None, inner):
        self.direction = direction
        self.inner = inner


class _Direction:
    def __init__(self, direction: str):
        self.direction = direction

    def __getitem__(self, inner):
        return _Annot(self.direction, inner)

    def __repr__(self) -> str:
        return {"in": "In", "out": "Out", "inout": "InOut"}[self.direction]


In = _Direction("in")
Out = _Direction("out")
InOut = _Direction("inout")


class _TileMeta(type):
    def __getitem__(cls, spec) -> TileType:
        loc = user_location()
        if not isinstance(spec, tuple) or len(spec) != 3:
            raise TypeCheckError(f"Tile takes [rows, cols, dtype], got {spec!r}", loc)
        r, c, dt = spec
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in (r, c)):
            raise TypeCheckError(f"Tile rows/cols must be positive ints, got {r!r}, {c!r}", loc)
        return TileType(r, c, DType.of(dt))


class Tile(metaclass=_TileMeta):
    """``Tile[rows, cols, dtype]``: a statically shaped 2-D tile parameter."""


class _ScalarMeta(type):
    def __getitem__(cls, dt) -> ScalarType:
        return ScalarType(DType.of(dt))


class Scalar(metaclass=_ScalarMeta):
    """``Scalar[dtype]``: a by-value scalar parameter (runtime value per task)."""


class _ConstexprMeta(type):
    def __getitem__(cls, t) -> ConstexprType:
        if t is int:
            return ConstexprType(DType.I64)
        if t is float:
            return ConstexprType(DType.F64)
        if t is bool:
            return ConstexprType(DType.BOOL)
        return ConstexprType(DType.of(t))


class Constexpr(metaclass=_ConstexprMeta):
    """``Constexpr[int]``: a compile-time constant; each distinct value specialises the kernel."""


def _param(name: str, annot, default, loc) -> Param:
    direction = None
    if isinstance(annot, _Direction):
        raise TypeCheckError(f"parameter '{name}': write {annot!r}[Tile[...]] or "
                             f"{annot!r}[Tensor]", loc)
    if isinstance(annot, _Annot):
        direction, annot = annot.direction, annot.inner
    t: TileType | TensorType | ScalarType | ConstexprType
    if annot is Tensor:
        t = TensorType()
    elif isinstance(annot, TensorShape):
        t = TensorType(annot.dtype, (annot.rows, annot.cols))
    elif isinstance(annot, (TileType, TensorType)):
        t = annot
    elif isinstance(annot, (ScalarType, ConstexprType)):
        if direction is not None:
            raise TypeCheckError(f"parameter '{name}': scalars are passed by value; drop "
                                 f"In/Out", loc)
        t = annot
    elif annot is inspect.Parameter.empty:
        raise TypeCheckError(f"kernel parameter '{name}' needs an annotation", loc,
                             hint="e.g. x: In[Tile[16, 128, DType.F32]] or y: Out[Tensor]")
    else:
        raise TypeCheckError(f"parameter '{name}' has an unsupported annotation {annot!r}", loc,
                             hint="use In/Out/InOut[Tile[...] | Tensor], Scalar[dtype] or "
                                  "Constexpr[type]")
    if isinstance(t, (TileType, TensorType)) and direction is None:
        raise TypeCheckError(f"tile/tensor parameter '{name}' needs a direction", loc,
                             hint="write In[...], Out[...] or InOut[...]")
    if default is not inspect.Parameter.empty:
        if not isinstance(t, (ScalarType, ConstexprType)):
            raise TypeCheckError(f"only scalar parameters may have defaults ('{name}')", loc)
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            raise TypeCheckError(f"default of '{name}' must be a number", loc)
    else:
        default = None
    return Param(name, t, direction, default, loc)


def _annotation_scope(fn: Callable[..., Any]) -> dict[str, Any]:
    """The local names a kernel's string annotations (``from __future__ import annotations``)
    may use besides its globals: the locals of the frame that defined ``fn`` and of the frames
    lexically enclosing it (found on the call stack: a frame whose code holds the inner code
    as a constant), inner names first, then ``fn``'s closure."""
    scope: dict[str, Any] = {}
    code, chain = fn.__code__, []
    f: FrameType | None = sys._getframe(1)
    while f is not None:
        if code in f.f_code.co_consts:
            chain.append(f.f_locals)
            code = f.f_code
        f = f.f_back
    for ns in reversed(chain):
        scope.update(ns)
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            scope[var] = cell.cell_contents
        except ValueError:  # not assigned yet
            pass
    return scope


class KernelRef:
    """A kernel: signature plus traced (or custom) body. Index with axes to call it."""

    def __init__(self, fn, custom: CustomBody | None, name: str | None,
                 unit: str | None = None, budget: dict | None = None):
        self.fn = fn
        self.unit = unit
        self.hints = _hints(budget, SourceLoc(fn.__code__.co_filename,
                                              fn.__code__.co_firstlineno))
        self.name = name or fn.__name__
        code = fn.__code__
        self.loc = SourceLoc(code.co_filename, code.co_firstlineno)
        try:
            annots = inspect.get_annotations(fn, eval_str=True, locals=_annotation_scope(fn))
        except Exception as e:
            raise TypeCheckError(f"cannot evaluate the annotations of kernel '{self.name}': {e}",
                                 self.loc) from None
        sig = inspect.signature(fn)
        self.params = tuple(
            _param(n, annots.get(n, inspect.Parameter.empty), p.default,
                   SourceLoc(code.co_filename, code.co_firstlineno))
            for n, p in sig.parameters.items())
        self.custom = custom
        self._specs: dict[tuple, Kernel] = {}
        if not any(isinstance(p.type, ConstexprType) for p in self.params):
            self.ir()  # trace now: errors surface at definition

    @property
    def symbol(self) -> str:
        """The name the kernel is linked by in the IR and ``.pto`` text (``@symbol``);
        constexpr specialisations append their values."""
        return self.name

    @property
    def module(self) -> str:
        """The Python module that defines the kernel."""
        return self.fn.__module__

    @property
    def signature(self) -> tuple[Param, ...]:
        """The parameters (name, type, direction, default) from the annotations."""
        return self.params

    def lower(self, target: str = "cpu_sim", **constexprs: Any) -> CompiledKernel:
        """Spec 6.3: the same as :meth:`compile` (``.code`` for ``target``)."""
        return self.compile(target, **constexprs)

    @property
    def runtime_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not isinstance(p.type, ConstexprType))

    def ir(self, constexprs: tuple = ()) -> Kernel:
        """The kernel IR for one tuple of constexpr values (traced once, cached)."""
        if constexprs not in self._specs:
            self._specs[constexprs] = self._trace(constexprs)
        return self._specs[constexprs]

    def _trace(self, constexprs: tuple) -> Kernel:
        name = self.name + "".join(f"_{_mangle(v)}" for v in constexprs)
        params = self.runtime_params
        tr = Tracer(name, params)
        cvals = iter(constexprs)
        args = {p.name: (next(cvals) if isinstance(p.type, ConstexprType) else
                         ParamValue(next(q for q in params if q.name == p.name), tr))
                for p in self.params}
        with tr:
            out = self.fn(**args)
        if tr.regions:
            raise TypeCheckError(
                f"kernel '{self.name}': a pto.range loop was left early", tr.regions[-1].loc,
                hint="break and return inside pto.range loops are not supported; use "
                     "pto.when for conditional work")
        if out is not None:
            raise TypeCheckError(f"kernel '{self.name}' returned a value", self.loc,
                                 hint="kernels write results with pto.store(out_param, value)")
        if tr.ops and self.custom is not None:
            raise TypeCheckError(f"kernel '{self.name}' has both pto ops and a custom body",
                                 self.loc)
        if tr.ops:
            for p in params:
                if p.direction == "out" and p.name not in tr.stored:
                    raise TypeCheckError(
                        f"kernel '{self.name}' never stores to Out parameter '{p.name}'",
                        self.loc, hint="every Out tile must be written: pto.store(out, value)")
        unit = self.unit or ("cube" if any(op.opcode.startswith("tmatmul") for op in tr.ops)
                             else "vector")
        return Kernel(name, params, tuple(renumber(tr.ops)), self.custom, unit, self.loc,
                      self.hints)

    def compile(self, target: str = "cpu_sim", **constexprs: Any) -> CompiledKernel:
        """Spec 6.5: this kernel's code for ``target`` (``.code``: C for ``cpu_sim``, PTO-ISA
        C++ for ``ascend_npu``); constexpr parameters are given by name."""
        from ..program import compile_kernel
        loc = user_location()
        names = [p.name for p in self.params if isinstance(p.type, ConstexprType)]
        unknown = sorted(set(constexprs) - set(names))
        missing = [n for n in names if n not in constexprs]
        if unknown or missing:
            raise TypeCheckError(
                f"kernel '{self.name}': " + (f"no constexpr parameter {unknown[0]!r}" if unknown
                                              else f"constexpr parameter '{missing[0]}' needs "
                                                   "a value"), loc,
                hint="constexpr parameters: " + (", ".join(names) or "none"))
        return compile_kernel(self.ir(tuple(constexprs[n] for n in names)), target, loc)

    def __getitem__(self, axes: Any) -> BoundKernel:
        from .workload import BoundKernel
        return BoundKernel(self, axes if isinstance(axes, tuple) else (axes,), user_location())

    def at(self, **axes: Any) -> BoundKernel:
        from .workload import BoundKernel
        return BoundKernel(self, tuple(axes.values()), user_location())

    def __call__(self, *args: Any, **kwargs: Any) -> TaskHandle:
        from .workload import BoundKernel
        return BoundKernel(self, (), user_location())(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<kernel {self.name}>"


def _mangle(v) -> str:
    s = str(v).replace("-", "m").replace(".", "p")
    return "".join(c if c.isalnum() else "_" for c in s)


@overload
def kernel(fn: Callable[..., Any]) -> KernelRef: ...
@overload
def kernel(*, name: str | None = None, cpp_src: str | None = None,
           cpp_includes: Sequence[str] = (), cpp_body_path: str | None = None,
           cpp_tu_path: str | None = None,
           language: str | None = None, unit: str | None = None,
           budget: dict[str, int] | None = None) -> Callable[[Callable[..., Any]], KernelRef]: ...


def kernel(fn: Callable[..., Any] | None = None, *, name: str | None = None,
           cpp_src: str | None = None, cpp_includes: Sequence[str] = (),
           cpp_body_path: str | None = None, cpp_tu_path: str | None = None,
           language: str | None = None, unit: str | None = None,
           budget: dict[str, int] | None = None
           ) -> KernelRef | Callable[[Callable[..., Any]], KernelRef]:
    """Define a kernel. Usable bare (``@kernel``) or with options. docs/kernels.md teaches
    writing kernels (loops, tensor tiles, memory levels, double buffering).

    ``unit``: "vector" or "cube" (default: cube if the kernel has a matmul). ``budget``:
    bytes per memory level for the kernel's live tiles, e.g. ``{"UB": 64 * 1024}`` (default
    and maximum: the A2/A3 capacities).

    ``cpp_src`` / ``cpp_body_path``: a body snippet inserted into the generated kernel
    function; ``cpp_tu_path``: a whole translation unit defining it. ``language`` "c" or
    "c++" (default: C++ for .cpp/.cc/.cxx files and for snippets including .hpp or pto/
    headers, else C). C: ``int pto_kernel_<name>(const void *args, uint64_t *cycles)`` over
    the tile library; C++: the PTO-ISA entry ``kernel_<name>(__gm__ T *p, int64_t pto_rs_p,
    ..., scalars)``. docs/api.md ("Custom bodies") lists the names a body can use.
    """
    loc = user_location()
    if unit not in (None, "vector", "cube"):
        raise TypeCheckError(f"unit must be 'vector' or 'cube', got {unit!r}", loc)

    def wrap(f: Callable[..., Any]) -> KernelRef:
        return KernelRef(f, _custom(loc, cpp_src, tuple(cpp_includes), cpp_body_path,
                                    cpp_tu_path, language), name, unit, budget)
    return wrap(fn) if fn is not None else wrap


jit_kernel = kernel


def _custom(loc, src, includes, body_path, tu_path, language) -> CustomBody | None:
    given = [x for x in (src, body_path, tu_path) if x is not None]
    if not given:
        if includes:
            raise TypeCheckError("cpp_includes given without a custom body", loc)
        return None
    if len(given) > 1:
        raise TypeCheckError("give only one of cpp_src, cpp_body_path, cpp_tu_path", loc)
    if language not in (None, "c", "c++"):
        raise TypeCheckError(f"language must be 'c' or 'c++', got {language!r}", loc)
    if src is not None:
        if language is None:  # C++ when it includes C++ headers (PTO-ISA's)
            language = "c++" if any(i.endswith(_CXX_HEADERS) or i.startswith("pto/")
                                    for i in includes) else "c"
        return CustomBody("body", language, src, includes)
    path = body_path or tu_path
    base = os.path.dirname(loc.file) if loc else "."
    full = Path(path) if os.path.isabs(path) else Path(base) / path
    if not full.is_file():
        raise TypeCheckError(f"custom kernel source {path!r} not found (looked at {full})", loc)
    if language is None:
        language = "c++" if full.suffix in (".cpp", ".cc", ".cxx") else "c"
    return CustomBody("unit" if tu_path is not None else "body", language, full.read_text(),
                      includes, str(full))


_CXX_HEADERS = (".hpp", ".hh", ".hxx")


def _hints(budget, loc) -> tuple:
    """``budget={"UB": bytes, ...}`` as sorted kernel hints (checked by the verifier)."""
    if budget is None:
        return ()
    if not isinstance(budget, dict):
        raise TypeCheckError(f"budget must be a dict of level -> bytes, got {budget!r}", loc)
    return tuple(sorted((f"budget_{level}", v) for level, v in budget.items()))

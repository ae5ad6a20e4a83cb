"""AICore kernels as PTO-ISA C++: a kernel plan (``backends/kernel_plan.py``) printed against
the public PTO-ISA API (``templates/ascend/aicore/kernel.cpp.j2``).

The entry is ``extern "C" __global__ AICORE void kernel_<name>(...)`` taking, per tile
parameter, its GM pointer (``__gm__ T *``, the task's view base) and the view's row stride in
elements (``int64_t pto_rs_<name>``; a matmul operand also takes its column stride,
``pto_cs_<name>``, so a transposed view loads as DN), and each scalar parameter by value. A
kernel mixing cube and vector work has one entry per part (``kernel_<name>_c0`` ...), each
also taking the GM workspace ``pto_ws``. User names go through :func:`cxx_ident`; generated
locals start with ``pto_`` (a prefix user names never keep).
The same source builds against the real library or pto-wsp's host layer (``runtime_c/pto/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import CompileError
from ...ir import nodes as ir
from ...ir.kloops import OPCODES
from ...types import DType
from ..cpu_sim.c_syntax import MANGLED, header_name_ok, ident, scalar, string
from .. import template_env
from ..kernel_plan import WS_PREFIX, Buffer, Crossing, Instr, KernelPlan, plan_parts

CXX_TYPE = {DType.F32: "float", DType.F64: "double", DType.F16: "half", DType.BF16: "bfloat16_t",
            DType.I8: "int8_t", DType.I16: "int16_t", DType.I32: "int32_t", DType.I64: "int64_t",
            DType.U8: "uint8_t", DType.U16: "uint16_t", DType.U32: "uint32_t",
            DType.U64: "uint64_t"}
_SCALAR_PARAM = {DType.F16: "float", DType.BF16: "float"}  # as cpu_sim passes them


@dataclass
class EntryVM:
    """One AICore entry: a whole single-unit kernel, or one part of a split kernel."""
    entry: str
    unit: str
    guard: str | None = None  # the macro that excludes it from the other unit's build
    strided: list[str] = field(default_factory=list)  # tile params also taking a column stride
    params: list[str] = field(default_factory=list)
    globals: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)


@dataclass
class AicoreVM:
    name: str
    entries: list[EntryVM]
    workspace_bytes: int = 0


# C++ keywords and the names PTO-ISA code sees unqualified (``using namespace pto``)
_CXX_TAKEN = frozenset("""
    alignas alignof and and_eq asm bitand bitor bool catch char8_t char16_t char32_t class compl
    concept consteval constexpr constinit const_cast co_await co_return co_yield decltype delete
    dynamic_cast explicit export false friend mutable namespace new noexcept not not_eq nullptr
    operator or or_eq private protected public reinterpret_cast requires static_assert
    static_cast template this thread_local throw true try typeid typename using virtual
    wchar_t xor xor_eq half bfloat16_t pto std detail cpu_sim Tile TileLeft TileRight TileAcc
    Shape Stride GlobalTensor TileType BLayout SLayout PadValue Layout CmpMode RoundMode AtomicType
    set_flag wait_flag pipe_barrier get_block_idx get_block_num pipe_t event_t
""".split())


def cxx_ident(name: str) -> str:
    """The C++ identifier of a user name: :func:`ident`, also mangling C++ keywords and the
    PTO-ISA names in scope (the same injective scheme)."""
    c = ident(name)
    if c not in _CXX_TAKEN:
        return c
    return MANGLED + "".join(ch if ch.isalnum() else f"_{ord(ch):x}_" for ch in name)


def entry_name(kernel: str, part: str = "") -> str:
    """The AICore entry of a kernel, or of one part of a split kernel (``kernel_<name>_c0``)."""
    return f"kernel_{cxx_ident(kernel)}" + (f"_{part}" if part else "")


def tile_type(b: Buffer, view: bool = False) -> str:
    t = CXX_TYPE[b.dtype]
    if b.role == "Vec":
        if view:  # the RowMajor [1, rows*cols] view (of a ColMajor [R, 1] buffer: its row)
            return f"Tile<TileType::Vec, {t}, 1, {b.rows * b.cols}>"
        if b.layout == "ColMajor":
            return f"Tile<TileType::Vec, {t}, {b.rows}, 1, BLayout::ColMajor>"
        return f"Tile<TileType::Vec, {t}, {b.rows}, {b.cols}>"
    if b.role == "Mat":  # NZ (from an ND view); the ZN view of the same bytes takes a DN view
        outer, inner = ("RowMajor", "ColMajor") if view else ("ColMajor", "RowMajor")
        return (f"Tile<TileType::Mat, {t}, {b.rows}, {b.cols}, BLayout::{outer}, {b.rows}, "
                f"{b.cols}, SLayout::{inner}, 512>")
    return f"Tile{b.role}<{t}, {b.rows}, {b.cols}>"


def _mat_views(plan: KernelPlan) -> dict[str, str]:
    """Mat buffers loaded from a user's view -> that parameter: they also take DN views."""
    return {ins.operands[0]: ins.operands[1][6:] for ins in plan.instrs
            if ins.name == "TLOAD" and plan.buffers[ins.operands[0]].role == "Mat"
            and not ins.operands[1].startswith("param:" + WS_PREFIX)}


def lower_aicore(k: ir.Kernel) -> AicoreVM:
    if k.custom is None and any(op.opcode in OPCODES for op in k.ops):
        from .aicore_loops import lower_loop_aicore
        return lower_loop_aicore(k)
    split = plan_parts(k)
    vm = AicoreVM(k.name, [], split.workspace_bytes)
    strided = {p for part in split.parts for p in _mat_views(part.plan).values()}
    for part in split.parts:
        e = EntryVM(entry_name(k.name, part.name), part.unit)
        if part.name:
            e.guard = "__DAV_C220_VEC__" if part.unit == "cube" else "__DAV_C220_CUBE__"
        _signature(k, e, strided)
        if split.workspace_bytes:
            e.params.append("__gm__ uint8_t *pto_ws")
        _lower_plan(part.plan, {c.param: c for c in split.crossings}, e)
        vm.entries.append(e)
    return vm


def _lower_plan(plan: KernelPlan, ws: dict[str, Crossing], vm: EntryVM) -> None:
    gts: dict[tuple[str, str], str] = {}
    dn = _mat_views(plan)
    declare_tiles(plan, vm, dn)
    for ins in plan.instrs:
        for src, dst in ins.waits:
            vm.body.append(f"set_flag(PIPE_{src}, PIPE_{dst}, EVENT_ID0);")
            vm.body.append(f"wait_flag(PIPE_{src}, PIPE_{dst}, EVENT_ID0);")
        vm.body += instr_lines(plan, ins, gts, ws, vm, dn)


def declare_tiles(plan, vm: EntryVM, dn=()) -> None:
    """Each buffer's tile (and its RowMajor [1, R] / ZN views), TASSIGNed to its address."""
    for name, b in plan.buffers.items():
        vm.tiles += [f"{tile_type(b)} pto_{name};", f"TASSIGN(pto_{name}, 0x{b.addr:x});"]
        if name in plan.views:
            v = plan.views[name]
            vm.tiles += [f"{tile_type(b, view=True)} pto_{v};", f"TASSIGN(pto_{v}, 0x{b.addr:x});"]
        if name in dn:
            vm.tiles += [f"{tile_type(b, view=True)} pto_{name}zn;",
                         f"TASSIGN(pto_{name}zn, 0x{b.addr:x});"]


def instr_lines(plan, ins: Instr, gts: dict, ws: dict[str, Crossing], vm: EntryVM,
                dn=()) -> list[str]:
    """The C++ of one planned instruction (``dn``: Mat buffers that also take DN views)."""
    mat = next((o for o in ins.operands if o in dn), None)
    if mat is not None:  # ND view -> NZ tile, or DN (transposed) view -> ZN tile
        c = cxx_ident(dn[mat])
        if ins.name == "TLOAD":
            p = next(p for p in plan.kernel.params if p.name == dn[mat])
            t, r, cols = CXX_TYPE[p.type.dtype], p.type.rows, p.type.cols
            gt, shape, stride = _gt_type(t, r, cols, True, "Stride<1, 1, 1, 1, DYNAMIC>")
            if (c, "dn") not in gts:
                gts[(c, "dn")] = f"pto_gt_{c}"
                vm.globals.append(f"{gt} pto_gt_{c}({c}, {shape}(), {stride}(pto_cs_{c}));")
            nd = f"TLOAD(pto_{mat}, {_operand(plan, ins, ins.operands[1], gts, ws, vm)});"
            return [f"if (pto_cs_{c} == 1) {nd} else TLOAD(pto_{mat}zn, pto_gt_{c});"]
        d = ins.operands[0]  # TMOV to L0A/L0B from whichever tile the load filled
        return [f"if (pto_cs_{c} == 1) TMOV(pto_{d}, pto_{mat}); else TMOV(pto_{d}, pto_{mat}zn);"]
    args = [_operand(plan, ins, o, gts, ws, vm) for o in ins.operands]
    if ins.name == "TCI":  # TCI<TileT, T, descending>(dst, S), on the tile's row view
        b, a = plan.buffers[ins.writes[0]], ins.attrs
        t = CXX_TYPE[b.dtype]
        return [f"TCI<{tile_type(b, view=True)}, {t}, {int(a['step'] < 0)}>({args[0]}, "
                f"{t}({scalar(a['start'], b.dtype, ins.op.loc)}));"]
    if ins.name == "TMRGSORT":
        args.append(str(ins.attrs["block_len"]))
    elif ins.name in ("TCMP", "TCMPS"):
        args.append(f"CmpMode::{ins.attrs['mode'].upper()}")
    elif ins.name == "TCVT":
        args.append(f"RoundMode::CAST_{ins.attrs['round'].upper()}")
    name = ins.name
    if "atomic" in ins.attrs:  # TSTORE<TileData, GlobalData, AtomicType>(dst, src)
        name += f"<decltype({args[1]}), decltype({args[0]}), AtomicType::{ins.attrs['atomic']}>"
    return [f"{name}({', '.join(args)});"]


def _signature(k: ir.Kernel, vm: EntryVM, strided=frozenset()) -> None:
    """Per tile parameter its pointer and row stride (and column stride for the ``strided``
    ones: matmul operands, which also take transposed views); scalars by value."""
    for p in k.params:
        c = cxx_ident(p.name)
        if isinstance(p.type, ir.TileType):
            vm.params += [f"__gm__ {CXX_TYPE[p.type.dtype]} *{c}", f"int64_t pto_rs_{c}"]
            if p.name in strided:
                vm.params.append(f"int64_t pto_cs_{c}")
                vm.strided.append(p.name)
        elif isinstance(p.type, ir.TensorType):
            if p.type.shape is None:
                raise CompileError(f"kernel '{k.name}': tensor parameter '{p.name}' has no tile "
                                   "shape for PTO-ISA", k.loc,
                                   hint="give it a shape, In[Tensor[R, C, dtype]]")
            vm.params += [f"__gm__ {CXX_TYPE[p.type.dtype]} *{c}", f"int64_t pto_rs_{c}"]
        else:
            dt = p.type.dtype
            vm.params.append(f"{_SCALAR_PARAM.get(dt, CXX_TYPE[dt])} {c}")


def _operand(plan: KernelPlan, ins: Instr, o: str, gts: dict, ws: dict[str, Crossing],
             vm: EntryVM) -> str:
    op = ins.op
    if o.startswith("param:"):
        tile = plan.buffers[next(x for x in ins.operands if not x.startswith("param:"))]
        if o[6:] in ws:
            return _workspace(ws[o[6:]], tile, gts, vm)
        return _global(next(p for p in plan.kernel.params if p.name == o[6:]), tile, gts, vm)
    if o.startswith("lit:"):  # an immediate of a composition (backends/compose.py)
        _, dt, v = o.split(":", 2)
        t = DType(dt)
        return f"{CXX_TYPE[t]}({scalar(float(v) if t.is_float else int(v), t, op.loc)})"
    if o.startswith("imm:"):
        x = op.operands[int(o[4:])]
        if isinstance(x, ir.ParamRef):
            p = next(p for p in plan.kernel.params if p.name == x.name)
            return f"{CXX_TYPE[p.type.dtype]}({cxx_ident(x.name)})"
        return f"{CXX_TYPE[x.dtype]}({scalar(x.value, x.dtype, op.loc)})"
    return "pto_" + o


def _gt_type(t: str, rows: int, cols: int, dn: bool, stride: str) -> tuple[str, str, str]:
    shape = f"Shape<1, 1, 1, {rows}, {cols}>"
    return (f"GlobalTensor<{t}, {shape}, {stride}{', Layout::DN' if dn else ''}>", shape, stride)


def _global(p: ir.Param, tile: Buffer, gts: dict, vm: EntryVM) -> str:
    """The GlobalTensor of a parameter (DN for a ColMajor [R, 1] tile), declared once."""
    dn = tile.layout == "ColMajor"
    c = cxx_ident(p.name)
    key = (c, dn)
    if key not in gts:
        gts[key] = f"pto_gdn_{c}" if dn else f"pto_g_{c}"
        gt, shape, stride = _gt_type(CXX_TYPE[p.type.dtype], p.type.rows, p.type.cols, dn,
                                     "Stride<1, 1, 1, DYNAMIC, 1>")
        vm.globals.append(f"{gt} {gts[key]}({c}, {shape}(), {stride}(pto_rs_{c}));")
    return gts[key]


def _workspace(c: Crossing, tile: Buffer, gts: dict, vm: EntryVM) -> str:
    """The GlobalTensor of a crossing tile in the GM workspace, stored as the tile is laid
    out (a ColMajor [R, 1] tile as DN)."""
    key = (c.param, "ws")
    if key not in gts:
        gts[key] = f"pto_gw{c.value}"
        t, r, cols = CXX_TYPE[tile.dtype], c.type.rows, c.type.cols
        dn = tile.layout == "ColMajor"
        gt, shape, stride = _gt_type(t, r, cols, dn, f"Stride<1, 1, 1, {1 if dn else cols}, "
                                                    f"{r if dn else 1}>")
        vm.globals.append(f"{gt} {gts[key]}((__gm__ {t} *)(pto_ws + {c.offset}));")
    return gts[key]


@dataclass
class CustomVM:
    """A C++ custom kernel: the user's body (or whole unit) and the entry it defines."""
    name: str
    entry: str
    params: list[str]
    includes: tuple[str, ...]
    line: str  # the user's file (or a description) as a C string, for ``#line``
    body: str | None = None
    unit: str | None = None


def lower_custom(k: ir.Kernel) -> CustomVM:
    """The view model of a C++ custom kernel (``cpp_src``/``cpp_body_path``: a body of the
    entry; a ``.cpp`` ``cpp_tu_path``: a unit defining it), checked for what C++ can take."""
    c = k.custom
    if c.language != "c++":
        raise CompileError(f"kernel '{k.name}': a custom C body has no PTO-ISA form", k.loc,
                           hint="trace it with pto.* ops, or write its body in C++ against "
                                "PTO-ISA (language='c++' or a .cpp file)")
    for p in k.params:
        if cxx_ident(p.name) != p.name:
            raise CompileError(f"kernel '{k.name}': a C++ custom body cannot use the parameter "
                               f"name '{p.name}'", k.loc,
                               hint="rename it to a plain identifier (not a C++ keyword, a "
                                    "PTO-ISA name, or a name starting with pto_ or holding __)")
    bad = next((i for i in c.includes if not header_name_ok(i)), None)
    if bad is not None:
        raise CompileError(f"kernel '{k.name}': include {bad!r} is not a header name", k.loc,
                           hint="give a file name such as \"pto/pto-inst.hpp\"")
    vm = EntryVM(entry_name(k.name), "custom")
    _signature(k, vm)
    line = string(c.path or f"custom {c.kind} of kernel '{k.name}'")
    src = c.source if c.source.endswith("\n") else c.source + "\n"
    return CustomVM(k.name, vm.entry, vm.params, c.includes, line,
                    body=src if c.kind == "body" else None, unit=src if c.kind == "unit" else None)


def render(vm: AicoreVM) -> str:
    return template_env().get_template("ascend/aicore/kernel.cpp.j2").render(k=vm)


def render_custom(vm: CustomVM, lines: bool = False) -> str:
    """A C++ custom kernel as its AICore unit; ``lines``: with ``#line`` directives naming the
    user's source (and a ``#line RESUME`` marker after it), as cpu_sim builds it."""
    return template_env().get_template("ascend/aicore/custom_kernel.cpp.j2").render(
        k=vm, lines=lines)


def emit_kernel(k: ir.Kernel) -> str:
    """The PTO-ISA C++ translation unit of a kernel (traced, or a C++ custom body)."""
    if k.custom is not None:
        return render_custom(lower_custom(k))
    return render(lower_aicore(k))

"""Stage ``lower_kernels``: kernel IR -> a view model of C (arg structs, tile buffers, calls).

Each SSA tile value gets a buffer; buffers are reused once their value is dead (liveness
over the straight-line op list), never aliasing an instruction's own operands (the tile
library takes ``restrict`` pointers). A kernel's buffers live on the stack up to
``STACK_BYTES`` in all; a kernel needing more takes them from a per-thread heap scratch
(``pto_scratch`` in ``kernels.c``, allocated once per thread, not per task). ``tmatmul_acc`` accumulates in place when
its accumulator dies there. The view model holds ready-made C strings; the template only
loops over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import CompileError
from ...ir import kloops as irk
from ...ir import nodes as ir
from ...ir.ops import CMP_MODES, ROUND_MODES
from ...types import DType
from ..kernel_loop_plan import zero_acc_fills
from ..kernel_plan import gm_accumulations, matmul_results_read_by_vector_ops, split_kernel
from . import lower_kloops
from .c_syntax import header_name_ok, ident, readable, scalar, string


def sfx(dt: DType) -> str:
    """Tile-library type suffix of a dtype (bool tiles are u8)."""
    return "u8" if dt is DType.BOOL else dt.value


def ctype(dt: DType) -> str:
    return {DType.BF16: "pto_bf16_t", DType.BOOL: "uint8_t"}.get(dt, dt.c_type)


_VIEW_FIELDS = ("rs", "cs", "rows", "cols")  # beside a view parameter's pointer
MAX_ARGS_BYTES = 2048  # the runtime's PTO_RT_MAX_ARGS_BYTES: a task's copied argument block
STACK_BYTES = 512 * 1024  # a kernel's tile buffers beyond this come from the heap scratch


def args_type(kernel: str) -> str:
    """C name of a kernel's argument struct."""
    return f"pto_args_{ident(kernel)}"


def kernel_fn(kernel: str) -> str:
    """C name of a kernel's entry point."""
    return f"pto_kernel_{ident(kernel)}"


@dataclass
class KernelVM:
    name: str
    c_name: str
    args: str
    fields: list[str] = field(default_factory=list)
    buffers: list[str] = field(default_factory=list)
    scratch: int = 0  # bytes of per-thread heap scratch its buffers need (0: on the stack)
    body: list[str] = field(default_factory=list)
    custom: str | None = None  # a C body snippet
    unit: str | None = None  # a whole C translation unit defining the kernel function
    includes: tuple[str, ...] = ()
    line: str = ""  # a custom body's or unit's file name for ``#line``, as a C string
    params: list[ir.Param] = field(default_factory=list)
    cycles: str = "cyc"  # the C expression of its cycles: the sum, or the pipe makespan
    matmul: bool = False  # calls a tile-library matmul (kernels.c then needs the SIMD kernels)
    cxx: object = None  # a C++ custom kernel: its AICore view model (ascend.aicore.CustomVM)
    entry: dict = field(default_factory=dict)  # ... and how cpu_sim calls it (cxx_entry)


def lower_kernel(k: ir.Kernel) -> KernelVM:
    vm = KernelVM(k.name, kernel_fn(k.name), args_type(k.name), params=list(k.params))
    owner: dict[str, str] = {}  # C field -> the parameter it belongs to
    for p in k.params:
        c = ident(p.name)
        names = [c] + ([f"{c}_{s}" for s in _VIEW_FIELDS]
                       if isinstance(p.type, (ir.TileType, ir.TensorType)) else [])
        for f in names:
            if f in owner:
                raise CompileError(f"kernel '{k.name}': parameters '{owner[f]}' and '{p.name}' "
                                   f"both need the C name '{f}'", k.loc,
                                   hint=f"rename one ('{c}' has the view fields "
                                        + ", ".join(f"{c}_{s}" for s in _VIEW_FIELDS) + ")")
            owner[f] = p.name
        if isinstance(p.type, (ir.TileType, ir.TensorType)):
            dt = p.type.dtype
            vm.fields += [f"{ctype(dt) if dt else 'void'} *{c};",
                          "int64_t " + ", ".join(names[1:]) + ";"]
        else:
            vm.fields.append(f"{scalar_ctype(p.type.dtype)} {c};")
    nbytes = sum(8 * (1 + len(_VIEW_FIELDS)) if isinstance(p.type, (ir.TileType, ir.TensorType))
                 else 8 for p in k.params)  # every field is at most 8 bytes
    if nbytes > MAX_ARGS_BYTES:
        raise CompileError(f"kernel '{k.name}' needs up to {nbytes} bytes of task arguments "
                           f"({len(k.params)} parameters); a task carries at most "
                           f"{MAX_ARGS_BYTES}", k.loc,
                           hint="pass fewer scalars (e.g. a tensor of values instead)")
    if k.custom is not None and k.custom.language == "c++":
        from ..ascend.aicore import lower_custom
        vm.cxx = lower_custom(k)
        vm.entry = cxx_entry(k) | {"fields": vm.fields}
        return vm
    if k.custom is not None:
        for inc in k.custom.includes:
            if not header_name_ok(inc):
                raise CompileError(f"kernel '{k.name}': include {inc!r} is not a header name",
                                   k.loc, hint="give a file name such as \"math.h\"")
        vm.includes = k.custom.includes
        vm.line = string(k.custom.path or f"custom {k.custom.kind} of kernel '{k.name}'")
        if k.custom.kind == "unit":
            vm.unit = k.custom.source
            return vm
        for p in k.params:  # the body names its parameters as they are
            if not readable(p.name) or p.name == "cycles":
                raise CompileError(f"kernel '{k.name}': a custom body cannot use the parameter "
                                   f"name '{p.name}' in C", k.loc,
                                   hint="rename it to a plain C identifier (not a keyword, "
                                        "'cycles', or a name with '__')")
        vm.custom = k.custom.source
        return vm
    if not k.ops:
        raise CompileError(f"kernel '{k.name}' has no body", k.loc,
                           hint="write pto.* ops in it, or give a custom body with cpp_src=...")
    _Lowerer(k, vm).run()
    return vm


def cxx_entry(k: ir.Kernel) -> dict:
    """How cpu_sim calls a C++ custom kernel's PTO-ISA entry ``kernel_<name>(__gm__ T *p,
    int64_t pto_rs_p, ..., scalars)``: the call's arguments from the task's argument block,
    and the checks before it (the entry takes row-strided views with contiguous columns)."""
    from ..ascend.aicore import CXX_TYPE
    call, checks = [], []
    for p in k.params:
        c = ident(p.name)
        if isinstance(p.type, ir.TileType):
            call += [f"({CXX_TYPE[p.type.dtype]} *)pto_a->{c}", f"pto_a->{c}_rs"]
            if p.type.cols > 1:
                checks.append((f"pto_a->{c}_cs != 1", string(
                    f"kernel '{k.name}': the view passed as '{p.name}' has non-contiguous "
                    "columns; a PTO-ISA entry takes views with a row stride only (pass a "
                    "row-major view)")))
        else:
            call.append(f"pto_a->{c}")
    return {"c_name": kernel_fn(k.name), "args": args_type(k.name), "name": string(k.name),
            "call": call, "checks": checks}


def scalar_ctype(dt: DType) -> str:
    """C type of a by-value scalar parameter (f16/bf16 scalars travel as float)."""
    return {DType.F16: "float", DType.BF16: "float"}.get(dt, ctype(dt))


class _Lowerer:
    def __init__(self, k: ir.Kernel, vm: KernelVM):
        self.k, self.vm = k, vm
        self.buf_of: dict[int, int] = {}
        self.buf_key: list[tuple[str, int]] = []
        self.bufs: list[tuple[str, str, int, int]] = []  # (C type, name, elements, bytes)
        self.free: dict[tuple[str, int], list[int]] = {}
        self.last_use = {v: e for v, (_, e) in irk.live_ranges(k.ops).items()}
        self.dies_at: dict[int, list[int]] = {}
        for v, e in self.last_use.items():
            self.dies_at.setdefault(e, []).append(v)
        self.types: dict[int, ir.TileType] = {}
        self.alias: dict[int, str] = {}  # loaded values read in place; ping-pong pointers
        self.ld: dict[int, str] = {}  # row stride of f32 matmul operands read in place
        self.loc = k.loc  # of the instruction being lowered
        self.loaded = {v for op in k.ops if op.opcode in ("tload", "tload_at")
                       for v in op.results}
        self.to_vector = matmul_results_read_by_vector_ops(
            [op for op in k.ops if op.opcode not in irk.CONTROL_OPS])
        # loops (lower_kloops.py): open loops (index, buffers, held ping-pong buffers), the
        # opening op of each closing op, ping-pong depths, values' buffer-id variables
        self.loops: list[tuple[int, int, list[int]]] = []
        self.open_at = {e: s for s, e in irk.regions(k.ops).items()}
        self.depth = irk.load_depth(k.ops)
        self.pp: dict[int, str] = {}
        self.into = lower_kloops.in_place_carries(k.ops)  # op -> carried value it writes
        self.timing_only: set[int] = set()  # buffers only pipe timing sees (never declared)
        # pipe timing (runtime_c/pto_pipes.h): buffer ids are parameters first, then buffers
        # kernels with loops only: straight-line kernels keep the sum, as the AICore host
        # layer does for the emitted PTO-ISA (docs/tile-library.md, "Pipe timing")
        self.piped = any(op.opcode == "kfor" for op in k.ops)
        self.n_params = len(k.params)
        self.levels = irk.value_levels(k.ops)
        # C += A @ B into GM (TMATMUL + atomic add store); kernels with loops never split
        self.looped = any(op.opcode in irk.OPCODES for op in k.ops)
        self.gm_acc = {} if self.looped else gm_accumulations(k.ops)
        self.gm_loads = {ld for ld, _ in self.gm_acc.values()}
        self.gm_stores = {st for _, st in self.gm_acc.values()}
        # a K loop's Acc starts from a zero fill the AICore never makes (its first TMATMUL
        # overwrites the Acc): computed here, charged nothing (kernel_loop_plan.py)
        self.free_fills = zero_acc_fills(k.ops) if self.looped else set()
        # the GM transfers of the cube/vector split (kernel_plan.split_kernel), charged by the
        # A2/A3 model only: each crossing's store after its producer, its loads before readers
        self.split = None if self.looped else split_kernel(k)
        self.ws_store_after: dict[int, int] = {}
        if self.split:
            defs = {v: j for j, o in enumerate(k.ops) for v in o.results}
            self.ws_store_after = {defs[c.value]: c.value for c in self.split.crossings}

    def run(self) -> None:
        for i, op in enumerate(self.k.ops):
            self.op(i, op)
        self.place_buffers()

    def place_buffers(self) -> None:
        """Declare the buffers: stack arrays, or 64-byte aligned slices of the scratch; and
        the pipe-timing state of every parameter and buffer."""
        if self.piped:
            n = self.n_params + len(self.buf_key)
            self.vm.buffers += ["pto_pipes sb_ = {{0}, 0, 0};",
                                f"uint64_t rdy_[{n}] = {{0}}, rd_[{n}] = {{0}};"]
            self.vm.cycles = "sb_.end"
        bufs = [b for j, b in enumerate(self.bufs) if j not in self.timing_only]
        total = sum(-(-n // 64) * 64 for *_, n in bufs)
        if total <= STACK_BYTES:
            self.vm.buffers += [f"_Alignas(64) {ct} {name}[{count}];"
                                for ct, name, count, _ in bufs]
            return
        self.vm.scratch = total
        self.vm.buffers += ["unsigned char *const scr = pto_scratch();",
                            "if (!scr) return PTO_SCRATCH_ENOMEM;"]
        off = 0
        for ct, name, _, n in bufs:
            self.vm.buffers.append(f"{ct} *const restrict {name} = ({ct} *)(scr + {off});")
            off += -(-n // 64) * 64

    # -- buffers --------------------------------------------------------------------
    def buffer(self, ct: str, name: str, count: int, itemsize: int) -> None:
        self.bufs.append((ct, name, count, count * itemsize))

    def alloc(self, v: int, t: ir.TileType, reuse: int | None = None, fresh: bool = False) -> str:
        key = (ctype(t.dtype), t.rows * t.cols)
        if reuse is not None:
            b = reuse
        elif self.free.get(key) and not fresh:
            b = self.free[key].pop()
            self.timing_only.discard(b)
        else:
            b = len(self.buf_key)
            self.buf_key.append(key)
            self.buffer(key[0], f"b{b}", key[1], t.dtype.itemsize)
        self.buf_of[v] = b
        self.types[v] = t
        return f"b{b}"

    def release_dead(self, i: int) -> None:
        """Free the buffers of the values whose live range ends at op ``i``."""
        for v in self.dies_at.get(i, ()):
            b = self.buf_of.pop(v, None)
            if b is not None and b not in self.buf_of.values():
                self.free.setdefault(self.buf_key[b], []).append(b)

    def bid(self, v: int) -> str:
        """The pipe-timing id of value ``v``'s buffer (a C expression)."""
        return self.pp.get(v) or str(self.n_params + self.buf_of[v])

    def pid(self, name: str) -> int:
        return next(j for j, p in enumerate(self.k.params) if p.name == name)

    def issue(self, op: ir.KernelOp, srcs: list[str]) -> None:
        """Issue ``op`` to its pipe, reading ``srcs`` and writing its results (or the tensor
        it stores to): runtime_c/pto_pipes.h."""
        code = op.opcode
        if not self.piped:
            return
        if code in ("tstore", "tstore_at"):
            v = op.operands[-1].index
            pipe = "FIX" if self.levels.get(v) == "L0C" else "MTE3"
            dsts = [str(self.pid(op.operands[0].name))]
        else:
            pipe = {"tload": "MTE2", "tload_at": "MTE2", "tmatmul": "M",
                    "tmatmul_acc": "M"}.get(code, "V")
            dsts = [self.bid(r) for r in op.results]


        def arr(xs):
            return f"(const int[]){{{', '.join(xs)}}}, {len(xs)}" if xs else "NULL, 0"
        self.vm.body.append(f"pto_issue(&sb_, rdy_, rd_, PTO_PIPE_{pipe}, cyc - sb_.charged, "
                            f"{arr(srcs)}, {arr(dsts)});\n    sb_.charged = cyc;")

    def ref(self, o) -> str:
        if isinstance(o, ir.ValueRef):
            if o.index in self.alias or o.index in self.buf_of:
                return self.alias.get(o.index) or f"b{self.buf_of[o.index]}"
            return f"s{o.index}"  # an index scalar (lower_kloops.py)
        if isinstance(o, ir.ParamRef):
            return f"a->{ident(o.name)}"
        return scalar(o.value, o.dtype, self.loc)

    # -- instructions -----------------------------------------------------------------
    def op(self, i: int, op: ir.KernelOp) -> None:
        self.loc = op.loc
        if i in self.gm_loads:  # read by the store's atomic add
            return
        if op.opcode in irk.CONTROL_OPS or op.opcode in irk.SCALAR_OPS + ("scmp",):
            lower_kloops.lower(self, i, op)
            self.release_dead(i)
            return
        srcs = [self.bid(o.index) for o in op.operands
                if isinstance(o, ir.ValueRef) and isinstance(self.types.get(o.index),
                                                             ir.TileType)]
        if op.opcode in ("tload", "tload_at"):
            srcs.append(str(self.pid(op.operands[0].name)))
        if op.opcode == "tload_at" or op.opcode == "tstore_at":
            lower_kloops.lower(self, i, op)
        else:
            for v in self.split.loads_before.get(i, ()) if self.split else ():
                self.split_transfer(v, store=False)
            self.tile_op(i, op)
        if i in self.free_fills:
            self.vm.body[-1] = self.vm.body[-1].replace("cyc += ", "(void)", 1)
        else:
            self.issue(op, srcs)
        if i in self.ws_store_after:
            self.split_transfer(self.ws_store_after[i], store=True)
        self.release_dead(i)

    def split_transfer(self, v: int, store: bool) -> None:
        """A crossing tile's TSTORE to the workspace, or a TLOAD of it (or a reload) in a
        later part, priced by pto__cost_split_gm (0 under v9). Split kernels have no loops,
        so their cycles are the plain sum (no pipe timing)."""
        t = self.types[v]
        self.vm.body.append(f"cyc += pto__cost_split_gm({int(store)}, {t.rows}, {t.cols}, "
                            f"PTO_ES_{sfx(t.dtype)});")

    def tile_op(self, i: int, op: ir.KernelOp) -> None:
        code, body = op.opcode, self.vm.body
        ops = op.operands
        if i in self.gm_acc:
            t = op.types[0]
            body.append(self._matmul(op, self.alloc(op.results[0], t),
                                     [self.ref(o) for o in ops[1:]], "tmatmul"))
            return
        if code == "tstore":
            p, v = ops
            t = self.types[v.index]
            p = ident(p.name)
            fn = "tstore_add" if i in self.gm_stores else "tstore"
            body.append(f"cyc += pto_{fn}_{sfx(t.dtype)}(a->{p}, {self.ref(v)}, "
                        f"a->{p}_rs, a->{p}_cs, {t.rows}, {t.cols});")
            return
        if code == "tload" and self.can_read_in_place(i, op):
            t = op.types[0]
            p = ident(ops[0].name)
            buf = self.alloc(op.results[0], t)
            v = op.results[0]
            ptr = self.alias[v] = f"g{v}"
            es = f"PTO_ES_{sfx(t.dtype)}"
            inplace = f"a->{p}_cs == 1"
            if self.matmul_operand_only(i, v):  # any row stride: the kernel takes it
                self.ld[v] = f"ld{v}"
                body.append(f"const int64_t ld{v} = {inplace} ? a->{p}_rs : {t.cols};")
            else:
                inplace += f" && ({t.rows} == 1 || a->{p}_rs == {t.cols})"
            body.append(
                f"const {ctype(t.dtype)} *{ptr} = ({inplace}) ? a->{p} : {buf};\n    "
                f"if ({ptr} == {buf}) (void)pto_tload_{sfx(t.dtype)}({buf}, a->{p}, a->{p}_rs, "
                f"a->{p}_cs, {t.rows}, {t.cols});\n    "
                f"cyc += pto__cost_gm(0, {t.rows}, {t.cols}, {es});")
            return
        if i in self.into:  # the next value of a loop-carried tile, in the carried buffer
            t, r, phi = op.types[0], op.results[0], self.into[i]
            fresh = len(self.buf_key)
            self.alloc(r, t)  # the buffer the pipe timing sees, as if the value were copied
            if self.buf_of[r] == fresh:
                self.timing_only.add(fresh)
            dst = self.alias[r] = f"b{self.buf_of[phi]}"
            if code == "tmatmul_acc" and ops[0].index == phi:
                body.append(self._matmul(op, dst, [self.ref(o) for o in ops[1:]]))
            else:
                body.append(self.call(op, [dst], [self.ref(o) for o in ops]))
            return
        if code == "tmatmul_acc" and self.last_use.get(ops[0].index) == i:
            # accumulate in place: the accumulator dies here
            t = op.types[0]
            dst = self.alloc(op.results[0], t, reuse=self.buf_of.pop(ops[0].index))
            srcs = [self.ref(o) for o in ops[1:]]
            body.append(self._matmul(op, dst, srcs))
            return
        srcs = [self.ref(o) for o in ops]
        dsts = [self.alloc(r, t) for r, t in zip(op.results, op.types)]
        body.append(self.call(op, dsts, srcs))

    def can_read_in_place(self, i: int, op: ir.KernelOp) -> bool:
        """A loaded tile whose rows are contiguous in global memory can be read where it is
        (no copy; the TLOAD is still charged) if nothing is stored while it is alive and it is
        never accumulated into in place."""
        v = op.results[0]
        last = self.last_use.get(v, i)
        for later in self.k.ops[i + 1:last + 1]:
            if later.opcode in ("tstore", "tstore_at") or (later.opcode == "tmatmul_acc"
                                            and later.operands[0] == ir.ValueRef(v)):
                return False
        return True

    def matmul_operand_only(self, i: int, v: int) -> bool:
        """Whether f32 tile ``v`` (loaded at op ``i``) is read only as a left or right matmul
        operand, which the tile library reads with any row stride."""
        if self.types[v].dtype is not DType.F32:
            return False
        uses = [(later, j) for later in self.k.ops[i + 1:self.last_use.get(v, i) + 1]
                for j, o in enumerate(later.operands) if o == ir.ValueRef(v)]
        return bool(uses) and all(later.opcode in ("tmatmul", "tmatmul_acc")
                                  and j >= len(later.operands) - 2 for later, j in uses)

    def _matmul(self, op: ir.KernelOp, dst: str, srcs: list[str], fn: str = "") -> str:
        """The matmul plus the v9 model's implicit moves (docs/tile-library.md): one per
        computed (not loaded) operand, one for a result that vector ops read."""
        self.vm.matmul = True
        a, b = (self.types[o.index] for o in op.operands[-2:])
        moved = [self.types[o.index] for o in op.operands[-2:] if o.index not in self.loaded]
        if op.results[0] in self.to_vector:
            moved.append(op.types[0])
        va, vb = (o.index for o in op.operands[-2:])
        if va in self.ld or vb in self.ld:
            call = (f"cyc += pto_{fn or op.opcode}_ld_f32({dst}, {srcs[0]}, "
                    f"{self.ld.get(va, a.cols)}, {srcs[1]}, {self.ld.get(vb, b.cols)}, "
                    f"{a.rows}, {a.cols}, {b.cols});")
        else:
            call = (f"cyc += pto_{fn or op.opcode}_{sfx(a.dtype)}({dst}, {srcs[0]}, {srcs[1]}, "
                    f"{a.rows}, {a.cols}, {b.cols});")
        return "\n    ".join(
            [call] +
            [f"cyc += pto__cost_v9_move({t.rows}, {t.cols});" for t in moved])

    def call(self, op: ir.KernelOp, dsts: list[str], srcs: list[str]) -> str:
        code = op.opcode
        t = op.types[0]
        R, C = t.rows, t.cols
        attrs = dict(op.attrs)
        src_t = [self.types[o.index] for o in op.operands if isinstance(o, ir.ValueRef)]
        s0 = sfx(src_t[0].dtype) if src_t else sfx(t.dtype)
        d = dsts[0]
        if code == "tload":
            p = ident(op.operands[0].name)
            return (f"cyc += pto_tload_{sfx(t.dtype)}({d}, a->{p}, a->{p}_rs, a->{p}_cs, "
                    f"{R}, {C});")
        if code == "tmatmul":
            return self._matmul(op, d, srcs)
        if code == "tmatmul_acc":
            return f"memcpy({d}, {srcs[0]}, {t.rows * t.cols * t.dtype.itemsize});\n    " + \
                self._matmul(op, d, srcs[1:])
        if code in ("trowsum", "trowmax", "trowmin", "tcolsum", "tcolmax", "tcolmin",
                    "tslice_even", "tslice_odd", "tinterleave"):
            st = src_t[0]  # shape-changing ops take the source shape
            return f"cyc += pto_{code}_{s0}({d}, {', '.join(srcs)}, {st.rows}, {st.cols});"
        if code == "tmrgsort":
            return f"cyc += pto_tmrgsort_f32({d}, {srcs[0]}, {attrs['block_len']}, {C});"
        if code == "textract":
            return (f"cyc += pto_textract_{s0}({d}, {srcs[0]}, {src_t[0].cols}, "
                    f"{attrs['row']}, {attrs['col']}, {R}, {C});")
        if C == 1:  # element-wise work on an [R,1] tile runs on its [1,R] row alias on the
            R, C = 1, R  # AICore (same bytes, see kernel_plan) and is charged for that shape
        if code == "tcvt":
            mode = f"PTO_RM_{attrs['round'].upper()}"
            assert attrs["round"] in ROUND_MODES
            dst = "bool" if t.dtype is DType.BOOL else sfx(t.dtype)  # bool: x != 0
            return f"cyc += pto_tcvt_{dst}_{s0}({d}, {srcs[0]}, {mode}, {R}, {C});"
        if code in ("tcmp", "tcmps"):
            assert attrs["mode"] in CMP_MODES
            mode = f"PTO_CMP_{attrs['mode'].upper()}"
            return f"cyc += pto_{code}_{s0}({d}, {', '.join(srcs)}, {mode}, {R}, {C});"
        if code == "texpands":
            return f"cyc += pto_texpands_{sfx(t.dtype)}({d}, {srcs[0]}, {R}, {C});"
        if code == "tci":
            dt = t.dtype
            return (f"cyc += pto_tci_{sfx(dt)}({d}, {scalar(attrs['start'], dt, op.loc)}, "
                    f"{scalar(attrs['step'], dt, op.loc)}, {R}, {C});")
        if code == "tsort32":  # source shape
            st = src_t[0]
            return (f"cyc += pto_tsort32_pairs_f32({d}, {srcs[0]}, {srcs[1]}, {st.rows}, "
                    f"{st.cols});")
        if code == "trdivs":  # s / x takes (dst, s, src)
            return f"cyc += pto_{code}_{s0}({d}, {srcs[1]}, {srcs[0]}, {R}, {C});"
        if code == "trsubs":  # as the AICore computes it (no reverse subtract): (-x) + s
            return (f"cyc += pto_tneg_{s0}({d}, {srcs[0]}, {R}, {C});\n    "
                    f"cyc += pto_tadds_{s0}({d}, {d}, {srcs[1]}, {R}, {C});")
        if code == "tsel":
            return f"cyc += pto_tsel_{sfx(t.dtype)}({d}, {', '.join(srcs)}, {R}, {C});"
        # element-wise, scalar forms, unary, mov: (dst, srcs..., R, C)
        return f"cyc += pto_{code}_{s0}({d}, {', '.join(srcs)}, {R}, {C});"

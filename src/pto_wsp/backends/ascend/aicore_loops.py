"""AICore kernels with loops as PTO-ISA C++: a loop plan (``backends/kernel_loop_plan.py``)
printed with ``for``/``if``, index arithmetic on ``int64_t``, a ``GlobalTensor`` per tile load
or store at its computed offset (a tensor parameter comes as its GM pointer and row stride,
``__gm__ T *x, int64_t pto_rs_x``), ping-pong buffers re-``TASSIGN``ed by the iteration index,
and the plan's flags (docs/ascend.md, "Kernels with loops")."""

from __future__ import annotations

from ...ir import nodes as ir
from ..kernel_loop_plan import LoopPlan, plan_loop_kernel
from .aicore import (CXX_TYPE, AicoreVM, EntryVM, _gt_type, _signature, cxx_ident,
                     declare_tiles, entry_name, instr_lines)

_WRAP = {"sadd": "+", "ssub": "-", "smul": "*"}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def lower_loop_aicore(k: ir.Kernel) -> AicoreVM:
    plan = plan_loop_kernel(k)
    e = EntryVM(entry_name(k.name), plan.unit)
    _signature(k, e)
    declare_tiles(plan, e)
    body, depth, gts = e.body, 0, {}
    body += plan.head
    for i, ins in enumerate(plan.instrs):
        pad = "    " * depth
        if ins.name == "END":
            depth -= 1
            body.append("    " * depth + "}")
        else:
            body += [pad + ln for ln in ins.attrs.get("pre", [])]
        if ins.name == "FOR":
            body.append(f"{pad}for (int64_t {ins.attrs['line']} = 0; {ins.attrs['line']} < "
                        f"{_index(ins.op.operands[0])}; ++{ins.attrs['line']}) {{")
            depth += 1
            if ins.attrs["pipeline"] == 0:  # each iteration waits for all work so far
                body.append("    " * depth + "pipe_barrier(PIPE_ALL);")
        elif ins.name == "IF":
            body.append(f"{pad}if ({_index(ins.op.operands[0])}) {{")
            depth += 1
        elif ins.name != "END":
            body += [pad + ln for ln in _lines(plan, i, ins, gts, e)]
        pad = "    " * depth
        body += [pad + ln for ln in ins.attrs.get("post", [])]
    body += plan.tail
    return AicoreVM(k.name, [e])


def _index(o) -> str:
    """C++ of an integer scalar operand."""
    if isinstance(o, ir.Imm):
        return f"INT64_C({int(o.value)})"
    if isinstance(o, ir.ParamRef):
        return f"(int64_t){cxx_ident(o.name)}"
    return f"pto_s{o.index}"


def _scalar(op: ir.KernelOp) -> str:
    """Index arithmetic as cpu_sim does it: wrapping + - *, Python's floor // and %."""
    x, y = (_index(o) for o in op.operands)
    r, code = f"pto_s{op.results[0]}", op.opcode
    if code in _WRAP:
        return f"const int64_t {r} = (int64_t)((uint64_t){x} {_WRAP[code]} (uint64_t){y});"
    if code == "scmp":
        return f"const bool {r} = {x} {_CMP[op.attr('mode')]} {y};"
    off = f"({x} % {y} != 0 && ({x} % {y} < 0) != ({y} < 0))"
    if code == "sdiv":
        return f"const int64_t {r} = {x} / {y} - {off};"
    return f"const int64_t {r} = {x} % {y} + ({off} ? {y} : 0);"


def _lines(plan: LoopPlan, i: int, ins, gts: dict, e: EntryVM) -> list[str]:
    if ins.name == "SCALAR":
        return [_scalar(ins.op)]
    if ins.name == "TASSIGN":  # this iteration's ping-pong buffer
        name = ins.attrs["line"]
        addrs = plan.pingpong[name]
        var = ins.attrs["var"]
        step = addrs[1] - addrs[0]
        lines = [f"TASSIGN(pto_{name}, 0x{addrs[0]:x} + {var} % {len(addrs)} * 0x{step:x});"]
        if name in plan.views:
            lines.append(f"TASSIGN(pto_{plan.views[name]}, "
                         f"0x{addrs[0]:x} + {var} % {len(addrs)} * 0x{step:x});")
        return lines
    if "first" in ins.attrs:  # a K loop's zero-initialised Acc: its first step overwrites it
        acc, left, right = (f"pto_{o}" for o in ins.operands)
        return [f"if ({ins.attrs['first']} == 0) TMATMUL({acc}, {left}, {right}); "
                f"else TMATMUL_ACC({acc}, {left}, {right});"]
    if "at" in ins.attrs:  # a tile of a tensor parameter at a computed offset
        tile = next(o for o in ins.operands if not o.startswith("param:"))
        p = plan.kernel.param(next(o for o in ins.operands if o.startswith("param:"))[6:])
        b = plan.buffers[tile]
        c, t = cxx_ident(p.name), CXX_TYPE[p.type.dtype]
        dn = b.layout == "ColMajor"
        gt, shape, stride = _gt_type(t, b.rows, b.cols, dn, "Stride<1, 1, 1, DYNAMIC, 1>")
        row, col = (_index(o) for o in ins.attrs["at"])
        g = f"pto_g{i}"
        call = f"TLOAD(pto_{tile}, {g});" if ins.name == "TLOAD" else f"TSTORE({g}, pto_{tile});"
        return [f"{gt} {g}({c} + {row} * pto_rs_{c} + {col}, {shape}(), {stride}(pto_rs_{c}));",
                call]
    return instr_lines(plan, ins, gts, {}, e)


"""Round trips over the .pto corpus: parse(print(ir)) == ir and print(parse(text)) == text."""

from pathlib import Path

import pytest

from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.pto"))


def _strip_leading_comments(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("//"):
        lines.pop(0)
    return "".join(lines)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_is_canonical(path):
    text = path.read_text()
    m = parse_module(text, str(path))
    assert print_module(m) == _strip_leading_comments(text)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_ir_round_trip(path):
    m = parse_module(path.read_text(), str(path))
    assert parse_module(print_module(m)) == m


def _collect(node, seen: set):
    if hasattr(node, "__dataclass_fields__"):
        seen.add(type(node))
        for attr in ("kind", "op", "opcode", "location", "unit", "mode"):
            v = getattr(node, attr, None)
            if isinstance(v, str) or hasattr(v, "value"):
                seen.add((type(node).__name__, attr, getattr(v, "value", v)))
        for f in node.__dataclass_fields__:
            if f != "loc":
                _collect(getattr(node, f), seen)
    elif isinstance(node, tuple):
        for x in node:
            _collect(x, seen)


def test_corpus_covers_every_node_and_kind():
    """Adding an IR node, operator, opcode or policy kind must come with corpus coverage."""
    import typing

    from pto_wsp import schedule as sch
    from pto_wsp.ir import expr as irx
    from pto_wsp.ir import nodes as ir
    from pto_wsp.ir.ops import OPS
    from pto_wsp.types import Location

    seen: set = set()
    for path in CORPUS:
        _collect(parse_module(path.read_text(), str(path)), seen)
    exprs = {c for c in vars(irx).values() if isinstance(c, type)
             and issubclass(c, irx.ScalarExpr) and c is not irx.ScalarExpr}
    nodes = set(typing.get_args(ir.Stmt)) | {
        ir.Process, ir.ChannelDecl, ir.Index, ir.Slice, ir.Domain, ir.TileType, ir.ScalarType,
        ir.TensorType, ir.CustomBody, ir.Imm, ir.ValueRef, ir.ParamRef, ir.Param, ir.Kernel,
        ir.KernelOp, ir.TensorDecl, ir.AxisDecl, ir.SymbolDecl, ir.Workload, ir.Module,
        sch.Schedule, sch.TaskGraph, sch.DispatchPolicy, sch.TimingPolicy, sch.TaskWindow,
        sch.Deps, sch.Pools, sch.ReadyPolicy, sch.StartPolicy, sch.TracePolicy}
    assert exprs | nodes <= {x for x in seen if isinstance(x, type)}
    from pto_wsp.ir.kloops import OPCODES as LOOP_OPS
    kinds = {("KernelOp", "opcode", op) for op in set(OPS) | LOOP_OPS}
    kinds |= {("Binary", "op", op) for op in irx.BINARY_OPS}
    kinds |= {("Unary", "op", op) for op in irx.UNARY_OPS}
    kinds |= {("For", "kind", k) for k in ("par", "seq", "sel")}
    kinds |= {("Block", "kind", k) for k in ("par", "seq")}
    kinds |= {("AxisDecl", "kind", k) for k in ("dense", "dense_dyn", "ragged", "sparse")}
    kinds |= {("TensorDecl", "location", loc.value) for loc in Location}
    from pto_wsp.ir.layouts import COLLECTIVES
    kinds |= {("Collective", "kind", k) for k in COLLECTIVES}
    kinds |= {("DispatchPolicy", "kind", k) for k in
              ("round_robin", "affinity", "hash", "dispatch_by", "work_steal")}
    kinds |= {("TimingPolicy", "kind", k) for k in
              ("immediate", "batched", "interleaved", "rate_limit")}
    kinds |= {("Deps", "kind", k) for k in ("bytes_overlap", "explicit", "hybrid")}
    kinds |= {("Pools", "kind", k) for k in ("by_exec_unit", "custom")}
    kinds |= {("ReadyPolicy", "kind", k) for k in ("work_steal", "priority")}
    kinds |= {("TaskWindow", "unit", k) for k in ("tasks", "bytes")}
    kinds |= {("TaskWindow", "mode", m.value) for m in sch.WindowMode}
    assert not kinds - seen, sorted(kinds - seen)

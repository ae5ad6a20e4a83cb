"""Targeted printer/parser properties: expression precedence, literal types, normal forms,
and lossless round trips of IR the verifier would reject."""

import math

import pytest

from pto_wsp import DType, Dense, P, Tensor, kernel, pto, In, Out, Tile, workload
from pto_wsp.ir import expr as irx
from pto_wsp.ir import nodes as ir
from pto_wsp.ir.parser import parse_expr, parse_module
from pto_wsp.ir.printer import format_expr, print_module
from pto_wsp.schedule import Schedule, TaskGraph
from pto_wsp.types import Location

V = irx.Var
C = irx.Const


def B(op, a, b):
    return irx.Binary(op, a, b)


@pytest.mark.parametrize("text, tree", [
    ("%a + 1 - 2", B("sub", B("add", V("a"), C(1)), C(2))),
    ("%a - (1 - 2)", B("sub", V("a"), B("sub", C(1), C(2)))),
    ("%a + 2 * 3", B("add", V("a"), B("mul", C(2), C(3)))),
    ("(%a + 2) * 3", B("mul", B("add", V("a"), C(2)), C(3))),
    ("%a * 2 / 3 % 4", B("mod", B("div", B("mul", V("a"), C(2)), C(3)), C(4))),
    ("%a << 1 + 2", B("shl", V("a"), B("add", C(1), C(2)))),
    ("%a < 1 == %b > 2", B("eq", B("lt", V("a"), C(1)), B("gt", V("b"), C(2)))),
    ("%a & 1 ^ 2 | 3", B("or", B("xor", B("and", V("a"), C(1)), C(2)), C(3))),
    ("%a || %b && %c", B("lor", V("a"), B("land", V("b"), V("c")))),
    ("-%a * 2", B("mul", irx.Unary("neg", V("a")), C(2))),
    ("-(%a * 2)", irx.Unary("neg", B("mul", V("a"), C(2)))),
    ("-3 * %a", B("mul", C(-3), V("a"))),
    ("%a - -3", B("sub", V("a"), C(-3))),
    ("-(3)", irx.Unary("neg", C(3))),
    ("!(%a < 1)", irx.Unary("not", B("lt", V("a"), C(1)))),
    ("~~%a", irx.Unary("inv", irx.Unary("inv", V("a")))),
    ("min(%a, max(1, 2))", B("min", V("a"), B("max", C(1), C(2)))),
    ("floordiv(%a, 2)", B("floordiv", V("a"), C(2))),
    ("where(%a, 1.5, f32(2.0))", irx.Where(V("a"), C(1.5, DType.F64), C(2.0, DType.F32))),
    ("cast(%a, u8)", irx.Cast(DType.U8, V("a"))),
    ("size(%ax) + size(%r[%a])", B("add", irx.AxisSize("ax"), irx.AxisSize("r", V("a")))),
    ("slot(63) + $s + $t:i64", B("add", B("add", irx.Slot(63), irx.Symbol("s")),
                                 irx.Symbol("t", DType.I64))),
])
def test_expression_trees(text, tree):
    assert parse_expr(text) == tree
    assert format_expr(tree) == text


@pytest.mark.parametrize("const, text", [
    (C(3), "3"), (C(-3), "-3"), (C(3.0, DType.F64), "3.0"), (C(True, DType.BOOL), "true"),
    (C(3, DType.I32), "i32(3)"), (C(3.0, DType.I32), "i32(3.0)"),
    (C(True, DType.I64), "i64(true)"), (C(1, DType.BOOL), "bool(1)"),
    (C(0.1, DType.F32), "f32(0.1)"), (C(1e-300, DType.F64), "1e-300"),
    (C(2 ** 64 - 1, DType.U64), "u64(18446744073709551615)"),
    (C(float("-inf"), DType.F64), "-inf"), (C(-0.0, DType.F64), "-0.0"),
])
def test_literals_keep_value_type_and_dtype(const, text):
    assert format_expr(const) == text
    back = parse_expr(text)
    assert back == const and type(back.value) is type(const.value)
    assert math.copysign(1, back.value) == math.copysign(1, const.value)


def test_nan_prints_and_parses():
    e = parse_expr(format_expr(C(float("nan"), DType.F32)))
    assert e.dtype is DType.F32 and math.isnan(e.value)


def test_expr_repr_uses_pto_syntax():
    from pto_wsp.language.scalar import Expr
    assert repr(Expr(B("add", V("b"), C(1)))) == "Expr(%b + 1)"


def test_fmt_normalises_defaults_spacing_and_order():
    text = """module @m
axis %n : dense 4
tensor %X : [4,16,16] f32 global layout< R , R,R ; row_major( 4,16,16 ) >
kernel @k(%x: inout tile<16x16xf32>) vector {
  %0 = tload %x : tile<16x16xf32>
  tstore %x,%0
}
schedule { streams = 2 task_graph { pools = single ready = fifo start = after_orchestration
  deps = tensor_map_exact trace = none } }
workload @m { parallel_for %i in %n { call @k[ ](x = %X[((%i))]) } }
"""
    m = parse_module(text)
    assert m.schedule == Schedule(streams=2, task_graph=TaskGraph())
    assert m.tensors[0].layout == "layout<R,R,R; row_major(4,16,16)>"
    out = print_module(m)
    assert out == """module @m

tensor %X : [4, 16, 16] f32 global layout<R,R,R; row_major(4,16,16)>
axis %n : dense 4

kernel @k(%x: inout tile<16x16xf32>) vector {
  %0 = tload %x : tile<16x16xf32>
  tstore %x, %0
}

workload @m {
  parallel_for %i in %n {
    call @k(x = %X[%i])
  }
}

schedule {
  streams = 2
  task_graph {
  }
}
"""
    assert print_module(parse_module(out)) == out


def _mod(body=(), kernels=(), **kw):
    base = dict(name="m", tensors=(ir.TensorDecl("X", (4, 16), DType.F32),),
                axes=(ir.AxisDecl("n", "dense", 4),), symbols=(), kernels=kernels,
                workload=ir.Workload("w", body))
    base.update(kw)
    return ir.Module(**base)


@pytest.mark.parametrize("module", [
    # constexpr parameters, a kernel with both ops and a custom body, ops of any shape
    _mod(kernels=(ir.Kernel("k", (ir.Param("c", ir.ConstexprType(DType.I64), None, 3),
                                  ir.Param("t", ir.TensorType(), "in")),
                            (ir.KernelOp("tfoo", (ir.Imm(True, DType.BOOL), ir.Imm(2, DType.F32)),
                                         (), (ir.ScalarType(DType.F32),),
                                         (("flag", True), ("x", 1.5), ("s", "a\nb"))),),
                            ir.CustomBody("body", "c", "x;\n"), "weird"),)),
    # unusual but representable field values
    _mod(body=(ir.When(((V("a"), ()),), ()), ir.When(((C(True, DType.BOOL), ()),), None),
               ir.Block("seq", ()), ir.Pipe((), ()),
               ir.SlotLoad(70, ir.ViewExpr("X", (ir.Slice(C(0), 2, 3),)), 1, 0),
               ir.Call("k", (), (("x", ir.ViewExpr("Y", ())),)))),
    _mod(axes=(ir.AxisDecl("d", "dense", 3, lengths=(1, 2), indices=(0,)),
               ir.AxisDecl("s", "sparse", 0), ir.AxisDecl("q", "mystery", 1)),
         tensors=(ir.TensorDecl("E", (), DType.BOOL, Location.UB),)),
    _mod(symbols=(ir.SymbolDecl("f", DType.F64, 2.5), ir.SymbolDecl("b", DType.BOOL, True))),
])
def test_unverified_ir_round_trips(module):
    text = print_module(module)
    back = parse_module(text, verify=False)
    assert back == module
    assert print_module(back) == text


def test_every_node_gets_a_location():
    text = open(__file__.replace("test_printer_parser.py", "corpus/dynamic.pto")).read()
    m = parse_module(text, "dyn.pto")
    seen = 0

    def check(node):
        nonlocal seen
        if hasattr(node, "loc") and hasattr(node, "__dataclass_fields__"):
            loc = node.loc
            assert loc is not None and loc.file == "dyn.pto" and loc.line >= 1 and loc.col >= 1,\
                node
            seen += 1
        if hasattr(node, "__dataclass_fields__"):
            for f in node.__dataclass_fields__:
                if f != "loc":
                    check(getattr(node, f))
        elif isinstance(node, tuple):
            for x in node:
                check(x)

    check(m)
    assert seen > 100
    call = m.workload.body[0].body[0].body[0].body[0].branches[0][1][0]
    assert (call.loc.line, call.loc.col) == (36, 11)
    assert call.loc.source_line().strip().startswith("call @attn")


def test_authored_workload_with_tiny_kernel():
    X = Tensor(shape=(2, 4, 8), dtype=DType.F32)
    n = Dense[2]()

    @kernel
    def k(x: In[Tile[4, 8, DType.F32]], y: Out[Tile[4, 8, DType.F32]]):
        pto.store(y, pto.load(x))

    @workload
    def w():
        for i in P(n):
            k[i](x=X[i], y=X[1 - i])

    wl = w()
    assert parse_module(wl.to_pto()) == wl.module

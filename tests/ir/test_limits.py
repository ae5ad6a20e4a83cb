"""Deep programs: nesting and expression depth have documented limits, checked up front with a
located error in every front end (.pto text, Python), never a RecursionError in a later stage;
a program at the limits runs."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from pto_wsp import DType, Dense, InOut, P, Tensor, Tile, kernel, pto, workload
from pto_wsp.errors import CompileError
from pto_wsp.ir.limits import MAX_EXPR_DEPTH, MAX_NESTING
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module

F32 = DType.F32


def pto_text(levels: int, terms: int = 0) -> str:
    """``levels`` nested sequential loops around a `when` whose predicate adds 1 ``terms``
    times (a left-deep chain)."""
    pred = "%i0" + " + 1" * terms + " >= 0"
    lines = ["module @deep", "tensor %X : [2, 8] f32 global", "axis %a : dense 1",
             "kernel @k(%x: inout tile<1x8xf32>) vector {", "  %0 = tload %x : tile<1x8xf32>",
             "  tstore %x, %0", "}", "workload @deep {"]
    lines += [f"for_each %i{i} in %a {{" for i in range(levels)]
    lines += [f"when {pred} {{", "call @k[%i0](x = %X[%i0])", "}"]
    lines += ["}"] * levels + ["}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [MAX_NESTING, 300, 1200])
def test_pto_nesting_beyond_the_limit_is_located(levels):
    with pytest.raises(CompileError) as ei:
        parse_module(pto_text(levels), "deep.pto")
    assert f"the limit is {MAX_NESTING}" in str(ei.value)
    # the statement at level MAX_NESTING + 1 (the loops start on line 9)
    assert (ei.value.loc.file, ei.value.loc.line) == ("deep.pto", 9 + MAX_NESTING)


@pytest.mark.parametrize("terms", [MAX_EXPR_DEPTH - 1, 600, 5000])
def test_pto_expression_chains_beyond_the_limit_are_located(terms):
    with pytest.raises(CompileError) as ei:
        parse_module(pto_text(1, terms), "deep.pto")
    assert f"deeper than the limit of {MAX_EXPR_DEPTH}" in str(ei.value)
    assert ei.value.loc.line == 10


@kernel
def bump(x: InOut[Tile[1, 8, F32]]):
    pto.store(x, pto.add(x, 1.0))


def python_workload(X, levels: int, terms: int):
    ax = Dense[1]

    @contextlib.contextmanager
    def seq(name):
        for v in P.seq(ax, names=[name]):
            yield v

    @workload
    def deep():
        with contextlib.ExitStack() as stack:
            vs = [stack.enter_context(seq(f"v{i}")) for i in range(levels)]
            e = vs[0]
            for _ in range(terms):
                e = e + 1
            with P.when(e >= terms):
                bump[vs[0]](x=X[vs[0]])
    return deep()


def test_python_limits_are_located_at_the_user_line():
    X = Tensor(data=np.zeros((2, 8), np.float32))
    with pytest.raises(CompileError) as ei:
        python_workload(X, MAX_NESTING, 0)
    assert ei.value.loc.file == __file__ and f"limit is {MAX_NESTING}" in str(ei.value)
    with pytest.raises(CompileError) as ei:
        python_workload(X, 1, 2000)
    assert ei.value.loc.file == __file__ and "limit of" in str(ei.value)


def test_a_program_at_the_limits_round_trips_and_runs():
    x = np.zeros((2, 8), np.float32)
    # MAX_NESTING - 1 loops + the when; the predicate has MAX_EXPR_DEPTH levels (a comparison
    # over MAX_EXPR_DEPTH - 2 additions over a leaf)
    w = python_workload(Tensor(data=x), MAX_NESTING - 1, MAX_EXPR_DEPTH - 2)
    m = parse_module(w.to_pto())
    assert print_module(m) == w.to_pto()
    w.compile().run()
    assert x[0].tolist() == [1.0] * 8 and x[1].tolist() == [0.0] * 8

"""Names of tensors and axes: taken from variables for reading, unique per module; a
user-given ``name=`` is strict."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, In, Out, P, Tensor, Tile, TypeCheckError, combine, kernel,
                     pto, sequential, workload)
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module

F32 = DType.F32


@kernel
def inc(x: In[Tile[1, 16, F32]], y: Out[Tile[1, 16, F32]]):
    pto.store(y, x + 1.0)


def _xy():
    x = Tensor(data=np.arange(4 * 8 * 16, dtype=np.float32).reshape(4, 8, 16), name="X")
    return x, Tensor(data=np.zeros((4, 8, 16), np.float32), name="Y")


def line_of(marker: str) -> int:
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if marker in line and "line_of(" not in line)


def test_combine_of_inline_axes_runs_with_unique_names():
    X, Y = _xy()

    @workload
    def w1():
        for b in P(Dense[4]):
            inc[b](x=X[b, 0], y=Y[b, 0])

    @workload
    def w2():
        for b in P(Dense[2]):
            inc[b](x=X[b, 1], y=Y[b, 1])
    m = combine(w1(), w2()).module
    assert [(a.name, a.size) for a in m.axes] == [("dense", 4), ("dense1", 2)]
    assert parse_module(print_module(m)) == m
    combine(w1(), w2()).compile(num_threads=1).run()
    want = np.zeros((4, 8, 16), np.float32)
    want[:, 0] = X.data[:, 0] + 1
    want[:2, 1] = X.data[:2, 1] + 1
    np.testing.assert_array_equal(Y.data, want)


def test_helper_called_twice_with_axes_of_one_parameter_name():
    X, Y = _xy()
    shared = Dense[3]

    @workload
    def proj(row, nj, src):
        for j in P(nj):
            inc[j](x=src[row, j], y=Y[row, j])
    seq = sequential(proj(0, Dense[4], X), proj(1, Dense[2], X), proj(2, shared, X),
                     proj(3, shared, Tensor(data=np.ones((4, 8, 16), np.float32))))
    m = seq.module
    assert [(a.name, a.size) for a in m.axes] == [("nj", 4), ("nj1", 2), ("nj2", 3)]
    assert [t.name for t in m.tensors] == ["X", "Y", "src"]  # named X; the unnamed one: src
    text = print_module(m)
    assert parse_module(text) == m and print_module(parse_module(text)) == text
    seq.compile(num_threads=2).run()
    np.testing.assert_array_equal(Y.data[0, :4], X.data[0, :4] + 1)
    np.testing.assert_array_equal(Y.data[1, :2], X.data[1, :2] + 1)
    np.testing.assert_array_equal(Y.data[2, :3], X.data[2, :3] + 1)
    np.testing.assert_array_equal(Y.data[3, :3], 2.0)
    assert not Y.data[1, 2:].any()


def test_renaming_is_deterministic_and_keeps_free_names():
    X, Y = _xy()

    @workload
    def a(n):
        for i in P(n):
            inc[i](x=X[i, 0], y=Y[i, 0])

    @workload
    def b(n, n1):
        for i in P(n):
            for k in P(n1):
                inc[i, k](x=X[i, k], y=Y[i, k])
    one = combine(a(Dense[4]), b(Dense[2], Dense[3])).module
    two = combine(a(Dense[4]), b(Dense[2], Dense[3])).module
    assert one == two and print_module(one) == print_module(two)
    # b's own `n1` keeps its name; b's `n` (taken by a) gets the next free one
    assert [(x.name, x.size) for x in one.axes] == [("n", 4), ("n2", 2), ("n1", 3)]


def test_given_names_win_over_variable_names():
    X, Y = _xy()

    @workload
    def w(n):
        for i in P(n):
            inc[i](x=X[i, 0], y=Y[i, 0])
        for i in P(Dense(2, name="n")):
            inc[i](x=X[i, 1], y=Y[i, 1])
    m = w(Dense[4]).module
    assert {x.name: x.size for x in m.axes} == {"n": 2, "n1": 4}
    assert m.workload.body[1].domain.axis == "n" and m.workload.body[0].domain.axis == "n1"


def test_two_axes_given_one_name_are_a_located_error():
    X, Y = _xy()
    n4, n2 = Dense(4, name="n"), Dense(2, name="n")

    @workload
    def w():
        for i in P(n4):
            inc[i](x=X[i, 0], y=Y[i, 0])
        for i in P(n2):  # MARK-dup-axis
            inc[i](x=X[i, 1], y=Y[i, 1])
    with pytest.raises(TypeCheckError, match="two different axes are named 'n'") as ei:
        w()
    assert ei.value.loc.line == line_of("MARK-dup-axis")
    assert "name=" in ei.value.hint and str(n4.loc) in ei.value.hint

    @workload
    def a(ax):
        for i in P(ax):
            inc[i](x=X[i, 0], y=Y[i, 0])
    with pytest.raises(TypeCheckError, match="two different axes are named 'n'") as ei:
        combine(a(n4), a(n2))  # MARK-dup-combine
    assert ei.value.loc.line == line_of("MARK-dup-combine")
    with pytest.raises(TypeCheckError, match="two different tensors are named 'X'"):
        @workload
        def b():
            for i in P(n4):
                inc[i](x=Tensor(data=np.zeros((4, 16), np.float32), name="X")[i], y=Y[i, 0])
        combine(a(n4), b())


def test_collective_results_are_named_like_other_tensors():
    from pto_wsp import relayout
    X, Y = _xy()
    Z = Tensor(data=np.zeros((4, 8, 16), np.float32), name="Z")

    @workload
    def moved(src):
        y = relayout(src, to="layout<R,R,R>")
        for i in P(Dense[4]):
            inc[i](x=y[i, 0], y=Y[i, 0])
    m = sequential(moved(X), moved(Z)).module
    assert [(s.src, s.dst) for s in m.workload.body[0].parts[0] + m.workload.body[0].parts[1]
            if not hasattr(s, "domain")] == [("X", "y"), ("Z", "y1")]
    assert parse_module(print_module(m)) == m

    @workload
    def named(src):
        relayout(src, to="layout<R,R,R>", name="moved")
    m = combine(named(X), named(Z)).module  # a collective's name= is made unique too
    assert [s.dst for part in m.workload.body[0].parts for s in part] == ["moved", "moved1"]

"""Verifier checks for hand-built IR that the parser enforces on text: schedule policy kinds
and values, scalar argument dtype classes, and channel reads in schedule keys."""

from dataclasses import replace

import pytest

from pto_wsp.errors import ScheduleError, TypeCheckError
from pto_wsp.ir import expr as irx
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.verify import verify_module
from pto_wsp.schedule import (Deps, DispatchPolicy, Pools, ReadyPolicy, Schedule, StartPolicy,
                              TaskGraph, TimingPolicy)
from pto_wsp.types import DType

SRC = """module @m
tensor %T : [8, 16, 16] f32 global
axis %n : dense 8

kernel @k(%t: inout tile<16x16xf32>, %i: scalar<i64> = 0, %f: scalar<f32> = 0) vector {
  %0 = tload %t : tile<16x16xf32>
  tstore %t, %0
}

workload @m {
  parallel_for %b in %n {
    call @k(t = %T[%b], i = %b, f = %b)
  }
}
"""


def _mod():
    return parse_module(SRC)


def test_base_module_verifies_int_to_float_scalar_is_fine():
    verify_module(_mod())


@pytest.mark.parametrize("sched, words", [
    (Schedule(dispatch=DispatchPolicy("bogus")), "unknown dispatch policy kind"),
    (Schedule(dispatch=DispatchPolicy("round_robin")), "round_robin needs"),
    (Schedule(dispatch=DispatchPolicy("round_robin", 0)), "positive int"),
    (Schedule(dispatch=DispatchPolicy("hash", 2)), "needs key"),
    (Schedule(dispatch=DispatchPolicy("work_steal", 2, irx.Const(1))), "takes no key"),
    (Schedule(streams=0), "streams must be"),
    (Schedule(timing=TimingPolicy("sometimes", 1)), "unknown timing policy kind"),
    (Schedule(timing=TimingPolicy("batched", 0)), "positive count"),
    (Schedule(timing=TimingPolicy("immediate", 3)), "takes no count"),
    (Schedule(spatial_grid=(2, 0)), "spatial_map grid"),
    (Schedule(task_graph=TaskGraph(deps=Deps("psychic"))), "unknown deps kind"),
    (Schedule(task_graph=TaskGraph(pools=Pools("custom", 0, 2))), "positive worker counts"),
    (Schedule(task_graph=TaskGraph(pools=Pools("single", 1, 0))), "take no worker counts"),
    (Schedule(task_graph=TaskGraph(ready=ReadyPolicy("lifo"))), "unknown ready policy kind"),
    (Schedule(task_graph=TaskGraph(ready=ReadyPolicy("priority"))), "needs a key"),
    (Schedule(task_graph=TaskGraph(start=StartPolicy("threshold", 0))), "positive count"),
    (Schedule(task_graph=TaskGraph(start=StartPolicy("whenever"))), "unknown start policy"),
])
def test_hand_built_schedule_policies_are_checked(sched, words):
    with pytest.raises(ScheduleError, match=words):
        verify_module(replace(_mod(), schedule=sched))


def test_float_expression_to_integer_scalar_param_is_an_error():
    m = _mod()
    call = m.workload.body[0].body[0]
    bad = replace(call, args=(("t", call.args[0][1]),
                              ("i", irx.Const(1.5, DType.F64)), ("f", irx.Var("b"))))
    loop = replace(m.workload.body[0], body=(bad,))
    with pytest.raises(TypeCheckError, match=r"'i' of 'k' is scalar<i64>, got a f64") as e:
        verify_module(replace(m, workload=replace(m.workload, body=(loop,))))
    assert "cast(" in e.value.hint


def test_float_expression_to_integer_scalar_in_text_is_located():
    src = SRC.replace("i = %b,", "i = 2.5,")
    with pytest.raises(TypeCheckError) as e:
        parse_module(src, "x.pto")
    assert e.value.loc.line == 12


def test_schedule_key_cannot_read_a_channel():
    m = _mod()
    key = irx.Binary("add", irx.Var("b"), irx.ChannelPending("ch"))
    with pytest.raises(TypeCheckError, match="schedule key cannot read channel 'ch'"):
        verify_module(replace(m, schedule=Schedule(dispatch=DispatchPolicy("hash", 2, key))))
    with pytest.raises(TypeCheckError, match="cannot read channel"):
        verify_module(replace(m, schedule=Schedule(stream_by=irx.ChannelPending("ch"),
                                                   streams=2)))


def test_kernel_loop_ops_take_tile_values_not_parameters():
    """Malformed loop instructions in .pto text are located errors (not crashes later)."""
    import pytest
    from pto_wsp.errors import PtoError
    from pto_wsp.ir.parser import parse_module
    head = "module @m\n\nkernel @k(%x: in tile<8x8xf32>, %A: inout tensor<8x8xf32>) vector {\n"
    ok = ("  %0 = tload %x : tile<8x8xf32>\n"
          "  %1, %2 = kfor i64(2), %0 : scalar<i64>, tile<8x8xf32>\n"
          "  %3 = kendfor %2 : tile<8x8xf32>\n"
          "  tstore_at %A, i64(0), i64(0), %3\n")
    tail = "}\n\nworkload @m {\n}\n"
    parse_module(head + ok + tail)
    for bad in (ok.replace("kfor i64(2), %0", "kfor i64(2), %x"),
                ok.replace("kendfor %2", "kendfor %x"),
                ok.replace("%A, i64(0), i64(0), %3", "%A, i64(0), i64(0), %x"),
                ok.replace("i64(2), %0 :", "i64(2), %0 {pipeline = 3} :"),
                ok.replace("  %3 = kendfor %2 : tile<8x8xf32>\n", "")):
        with pytest.raises(PtoError):
            parse_module(head + bad + tail)

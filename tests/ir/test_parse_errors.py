"""Parse errors are PtoSyntaxError with the exact line and column and a caret snippet."""

import pytest

from pto_wsp.errors import IRConversionError, PtoSyntaxError, TypeCheckError
from pto_wsp.ir.parser import get_parser, parse_module

HEAD = "module @m\n"
K = ("kernel @k(%x: in tile<16x16xf32>, %y: out tile<16x16xf32>) vector {\n"
     "  %0 = tload %x : tile<16x16xf32>\n  tstore %y, %0\n}\n")


def _err(text, cls=PtoSyntaxError):
    with pytest.raises(cls) as info:
        parse_module(text, "bad.pto")
    return info.value


@pytest.mark.parametrize("text, line, col, words", [
    ("", 1, 1, "unexpected end of file: expected 'module'"),
    ("tensor %X : [1] f32 global\n", 1, 1, "expected 'module'"),
    (HEAD + "tensor %X : [1] f33 global\n", 2, 17, "expected a dtype"),
    (HEAD + "tensor %X : [1] f32 globl\n", 2, 21, "unknown memory location 'globl'"),
    (HEAD + "tensor %X : [1, 2] f32 global layout<R,Q>\n", 2, 40, "bad layout text"),
    (HEAD + "workload @w {\n  slot(1) = 3 + * 4\n}\n", 3, 17, "unexpected '*': expected an "
     "expression"),
    (HEAD + "workload @w {\n  call @k(x = %X[#])\n}\n", 3, 18, "unexpected '#'"),
    (HEAD + "workload @w {\n  parallel_for %b in %a {\n}\n", 5, 1, "unexpected end of file"),
    (HEAD + "workload @w {\n}\nworkload @v {\n}\n", 4, 1, "exactly one workload"),
    (HEAD, 1, 1, "has no workload block"),
    (HEAD + "workload @w {\n}\nschedule {\n  streams = 2\n  streams = 3\n}\n", 6, 3,
     "'streams' is given twice"),
    (HEAD + "workload @w {\n}\nschedule {\n  dispatch = rr(aicpus = 2)\n}\n", 5, 14,
     "unknown dispatch policy 'rr'"),
    (HEAD + "workload @w {\n}\nschedule {\n  task_graph {\n    trace = all\n  }\n}\n", 6, 13,
     "unknown trace policy 'all'"),
    (HEAD + "workload @w {\n}\nschedule {\n  task_graph {\n    window = 0 tasks stall\n"
     "  }\n}\n", 6, 5, "TaskWindow size must be a positive int"),
    (HEAD + 'kernel @k() vector custom body "c" <<<EOF\nabc\n', 2, 36, "unterminated heredoc"),
    (HEAD + 'kernel @k() vector custom body "fortran" "x"\nworkload @w {\n}\n', 2, 32,
     "unknown custom body language 'fortran'"),
    (HEAD + 'tensor %"abc : [1] f32 global\n', 2, 8, "unterminated quoted name"),
    (HEAD + 'tensor %"a\\qb" : [1] f32 global\n', 2, 8, "malformed string literal"),
    (HEAD + 'workload @w {\n  slot(1) = "x"\n}\n', 3, 13, "a string is not a scalar"),
    (HEAD + "workload @w {\n  slot(1) = i32(f32(1))\n}\n", 3, 17, "takes a plain number"),
    (HEAD + "tensor %X : [16, 16] f32 global\n" + K + "workload @w {\n  call @k(x = %X, "
     "y = %X[])\n}\n", 8, 15, "write %X[] to pass the whole tensor"),
    (HEAD + K + "workload @w {\n}\n// trailing\n\n  %", 10, 3, "unexpected '%'"),
])
def test_syntax_errors_are_located(text, line, col, words):
    e = _err(text)
    assert words in e.message
    assert (e.loc.file, e.loc.line, e.loc.col) == ("bad.pto", line, col)
    rendered = str(e)
    assert f"--> bad.pto:{line}:{col}" in rendered
    if text.splitlines()[line - 1:line]:
        src = text.splitlines()[line - 1]
        assert f"{line} | {src}" in rendered
        assert rendered.splitlines()[rendered.splitlines().index(f"{line} | {src}") + 1] \
            .endswith(" " * (col - 1) + "^")


def test_verifier_errors_point_into_the_text():
    e = _err(HEAD + "workload @w {\n  call @nope()\n}\n", IRConversionError)
    assert "unknown kernel 'nope'" in e.message and (e.loc.line, e.loc.col) == (3, 3)
    e = _err(HEAD + "tensor %X : [16, 16] f32 global\n" + K +
             "workload @w {\n  call @k(x = %X[], y = %X[], z = %X[])\n}\n", TypeCheckError)
    assert "no parameter 'z'" in e.message and e.loc.line == 8
    e = _err(HEAD + "kernel @k(%x: in tile<16x16xf32>) vector {\n  %0 = tload %x : "
             "tile<16x16xf16>\n}\nworkload @w {\n}\n", TypeCheckError)
    assert (e.loc.line, e.loc.col) == (3, 3)
    e = _err(HEAD + "kernel @k() vector {\n  %0 = texpands f32(1.0) {dtype = \"f32\"} : "
             "tile<1x1xf32>\n}\nworkload @w {\n}\n", TypeCheckError)
    assert "malformed attribute" in e.message and e.loc.line == 3


def test_grammar_is_strict_lalr():
    pytest.importorskip("interegular")  # lark's strict mode needs it for collision checks
    parser = get_parser(strict=True)  # no shift/reduce conflicts, no terminal collisions
    assert parser.options.parser == "lalr"


@pytest.mark.parametrize("item, words", [
    ("streams = 0", "streams must be a positive integer"),
    ("spatial_map = []", "at least one mesh dimension"),
    ("spatial_map = [2, 0]", "spatial_map dimension must be a positive"),
    ("timing = batched", "batched needs a count"),
    ("timing = immediate(3)", "immediate takes no count"),
    ("timing = rate_limit(0)", "must be a positive integer"),
    ("dispatch = round_robin()", "round_robin needs the number of AICPUs"),
    ("dispatch = round_robin(3)", "round_robin takes no key expression"),
    ("dispatch = hash(aicpus = 2)", "hash needs a key expression"),
    ("dispatch = affinity(1, aicpus = 0)", "aicpus must be a positive integer"),
    ("task_graph {\n    pools = custom\n  }", "custom pools take"),
    ("task_graph {\n    pools = single(1, 2)\n  }", "'single' pools take no worker counts"),
    ("task_graph {\n    pools = custom(0, 2)\n  }", "vector_workers must be a positive"),
    ("task_graph {\n    ready = priority\n  }", "priority needs a key expression"),
    ("task_graph {\n    ready = fifo(1)\n  }", "'fifo' takes no key"),
    ("task_graph {\n    start = threshold\n  }", "threshold needs a count"),
    ("task_graph {\n    window = 8 tasks\n  }", "unexpected '}'"),
])
def test_schedule_values_are_checked(item, words):
    e = _err(HEAD + "workload @w {\n}\nschedule {\n  " + item + "\n}\n")
    assert words in e.message
    assert e.loc.line >= 5


def test_slot_statements_are_range_checked():
    e = _err(HEAD + "workload @w {\n  slot(64) = 1\n}\n", IRConversionError)
    assert "slot index 64 out of range" in e.message and (e.loc.line, e.loc.col) == (3, 3)

"""Names and literals that reach generated C: mangled, escaped, exact; never injected.

Every .pto file `pto-wsp check` accepts runs or fails with a located PtoError; crafted names
(comment ends, newlines + preprocessor lines, quotes, backslashes, paths) compile and run;
seeded random names and literals allowed by the grammar compile and give numpy's numbers.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import PtoError, cli
from pto_wsp.backends.cpu_sim import c_syntax
from pto_wsp.ir.parser import parse_module
from pto_wsp.program import compile_module

CORPUS = sorted((Path(__file__).parent.parent / "ir" / "corpus").glob("*.pto"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_corpus_file_runs_or_fails_located(path, capsys):
    args = cli.build_parser().parse_args(["run", str(path), "--threads", "2"])
    try:
        assert args._run(args) == 0  # as `pto-wsp run`, with generated inputs
    except PtoError as e:
        assert e.loc is not None, str(e)
        assert not re.search(r"\.c:\d+:\d+: (error|warning)", e.message), str(e)


def q(name: str) -> str:
    """A .pto name after its sigil: quoted with JSON escapes."""
    return json.dumps(name)


def program(names: dict, kernel_lit: str, call_lit: str, tadds_lit: str, slots: list[str]):
    """A module with every kind of name from ``names`` and the given literals."""
    n = {k: q(v) for k, v in names.items()}
    slot_lines = "".join(f"    slot({i}) = {lit}\n" for i, lit in enumerate(slots))
    return f"""module @{n['module']}

tensor %{n['x']} : [4, 8, 8] f32 global
tensor %{n['y']} : [4, 8, 8] f32 global
axis %{n['axis']} : dense 4
symbol ${n['sym']} = 1

kernel @{n['kernel']}(%{n['p0']}: in tile<8x8xf32>, %{n['p1']}: out tile<8x8xf32>, %{n['p2']}: scalar<f32> = {kernel_lit}) vector {{
  %0 = tload %{n['p0']} : tile<8x8xf32>
  %1 = tmuls %0, %{n['p2']} : tile<8x8xf32>
  %2 = tadds %1, f32({tadds_lit}) : tile<8x8xf32>
  tstore %{n['p1']}, %2
}}

workload @{n['workload']} {{
  parallel_for %{n['var']} in %{n['axis']} {{
{slot_lines}    when ${n['sym']} > 0 {{
      call @{n['kernel']}[%{n['var']}]({n['p0']} = %{n['x']}[%{n['var']}], {n['p1']} = %{n['y']}[%{n['var']}], {n['p2']} = f32({call_lit}))
    }}
  }}
}}
"""


def run_program(text: str, *, with_default: bool = False):
    m = parse_module(text, "<test>")
    prog = compile_module(m, {}, "cpu_sim", None, num_threads=2)
    x = np.random.default_rng(0).standard_normal((4, 8, 8)).astype(np.float32)
    y = np.zeros_like(x)
    prog.run(**{m.tensors[0].name: x, m.tensors[1].name: y})
    return prog, x, y


def f32(lit: str) -> np.float32:
    with np.errstate(over="ignore"):
        return np.float32(float(lit))


def check(text: str, call_lit: str, tadds_lit: str, slots: list[str]):
    prog, x, y = run_program(text)
    with np.errstate(invalid="ignore", over="ignore"):
        want = x * f32(call_lit) + f32(tadds_lit)
    np.testing.assert_array_equal(y, want)
    assert (np.signbit(y) == np.signbit(want))[~np.isnan(want)].all()
    for i, lit in enumerate(slots):
        v = {"true": 1, "false": 0}.get(lit)
        if v is None:
            inner = re.fullmatch(r"\w+\((.*)\)", lit)
            v = int({"true": "1", "false": "0"}.get(inner[1], inner[1]) if inner else lit)
        assert int(prog.slots[i]) == v % 2 ** 64, lit
    return prog


CRAFTED = {
    "module": "../../x", "x": "in */ int injected; /* put", "y": 'o\n#define float int\nut',
    "axis": "the \"axis\"\\", "sym": "s\n#line 1 \"evil.c\"", "kernel": "k/../../a*/b",
    "p0": "0", "p1": 'out"q', "p2": "x_rs", "workload": "w\n#include </etc/passwd>",
    "var": "??=\u00e9 linux",
}


def test_crafted_names_cannot_inject_and_dumps_stay_inside(tmp_path, monkeypatch):
    dump = tmp_path / "dump" / "inner"
    monkeypatch.setenv("PTO_WSP_DUMP", str(dump))
    slots = ["-9223372036854775808", "18446744073709551615", "true", "i64(true)"]
    prog = check(program(CRAFTED, "nan", "-0.0", "-0.0", slots), "-0.0", "-0.0", slots)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(dump in p.parents for p in written)
    for fname, text in prog.sources.items():
        if fname.endswith((".c", ".h")):
            lines = {ln.strip() for ln in text.splitlines()}
            assert not lines & {"#define float int", '#line 1 "evil.c"', "#include </etc/passwd>",
                                "ut", "ut\"q"}
            assert " int injected;" not in text


def test_custom_unit_kernel_named_with_a_slash_runs(tmp_path):
    fn = "pto_kernel_" + c_syntax.ident("a/b")
    unit = tmp_path / "u.c"
    unit.write_text('#include "kernels.h"\n'
                    f"int {fn}(const void *argp, uint64_t *cycles) {{\n"
                    f"    const pto_args_{c_syntax.ident('a/b')} *a = argp;\n"
                    "    for (int j = 0; j < 8; ++j) a->y[j] = a->x[j] + 1;\n"
                    "    *cycles = 1; return 0;\n}\n")
    text = f"""module @m
tensor %X : [1, 8] f32 global
tensor %Y : [1, 8] f32 global
axis %n : dense 1
kernel @"a/b"(%x: in tile<1x8xf32>, %y: out tile<1x8xf32>) vector custom unit "c" path {q(str(unit))} <<<EOF
{unit.read_text()}
EOF
workload @m {{
  parallel_for %i in %n {{
    call @"a/b"[%i](x = %X[%i], y = %Y[%i])
  }}
}}
"""
    m = parse_module(text, "<test>")
    prog = compile_module(m, {}, "cpu_sim", None, num_threads=1)
    x = np.arange(8, dtype=np.float32).reshape(1, 8)
    y = np.zeros_like(x)
    prog.run(X=x, Y=y)
    np.testing.assert_array_equal(y, x + 1)


_ALPHABET = list("abcXYZ019_ ") + ["\n", '"', "\\", "*/", "/*", "#", "/", "..", "?",
                                    "\t", "\u00e9", "\u65e5", "'", "%", "$", "@", "{", "}"]
_WORDS = ["int", "errno", "linux", "a", "cycles", "in", "out", "rt", "slots", "v_x", "x__y",
          "pto_args_k", "PTO_RT_READ", "NULL", "I", "_Bool", "uint64_t", "main", "0"]


def _random_name(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(_WORDS)
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 8)))


_FLOATS = ["0.0", "-0.0", "1.5", "inf", "-inf", "nan", "0.1", "1e-45", "3.4028235e+38",
           "1e+39", "-2.5e-08", "65504.0"]
_INTS = ["0", "-1", "-9223372036854775808", "9223372036854775807", "18446744073709551615",
         "true", "false", "i8(-128)", "i16(32767)", "i32(-2147483648)", "u8(255)",
         "u16(65535)", "u32(4294967295)", "u64(18446744073709551615)", "bool(1)", "i64(true)"]


@pytest.mark.parametrize("seed", range(3))
def test_random_names_and_literals_compile_and_run(seed):
    rng = random.Random(seed)
    while True:
        names = {k: _random_name(rng) for k in CRAFTED}
        params = [c_syntax.ident(names[p]) for p in ("p0", "p1", "p2")]
        views = {f"{c}_{s}" for c in params[:2] for s in ("rs", "cs", "rows", "cols")}
        if len({names["x"], names["y"]}) == 2 and len(set(params)) == 3 \
                and not views & set(params):
            break
    slots = [rng.choice(_INTS) for _ in range(6)]
    lits = [rng.choice(_FLOATS) for _ in range(3)]
    check(program(names, *lits, slots), lits[1], lits[2], slots)


def test_ident_is_injective_and_readable():
    rng = random.Random(7)
    names = {_random_name(rng) for _ in range(3000)} | set(_WORDS)
    idents = {c_syntax.ident(n) for n in names}
    assert len(idents) == len(names)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", i) for i in idents)
    for n in ("x", "out", "my_var", "A", "Q_tile"):
        assert c_syntax.ident(n) == n
    for n in ("int", "errno", "linux", "x__y", "_x", "NULL", "uint64_t", "pto_x", "I"):
        assert c_syntax.ident(n) != n
    assert c_syntax.file_stem("../../x") == c_syntax.ident("../../x")
    assert len(c_syntax.file_stem("x" * 5000)) < 100


def test_literals_are_exact_c():
    assert c_syntax.integer(-2 ** 63) == "INT64_MIN"
    assert c_syntax.integer(2 ** 64 - 1) == "UINT64_C(18446744073709551615)"
    assert c_syntax.integer(True) == "INT64_C(1)"
    with pytest.raises(PtoError, match="does not fit u8"):
        c_syntax.integer(256, c_syntax.DType.U8)
    assert c_syntax.floating(0.1, c_syntax.DType.F32) == f"({float(np.float32(0.1)).hex()})"
    assert c_syntax.floating(-0.0) == "(-0x0.0p+0)"
    assert c_syntax.floating(math.nan) == "NAN"
    assert c_syntax.floating(1e39, c_syntax.DType.F32) == "INFINITY"
    assert c_syntax.string('a"\\\n*/?\u00e9') == r'"a\"\\\012*/\?\303\251"'


def test_crafted_channel_process_and_token_names_run():
    ch, t, i = q('c"h*/\n#define x 1'), q("t\n#line 9 \"x\""), q("i/..\\")
    loader, storer = q("load*/er"), q("st\\ore")
    text = f"""module @m

tensor %In : [4, 1, 8] f32 global
tensor %Buf : [4, 1, 8] f32 global
tensor %Out : [4, 1, 8] f32 global
axis %n : dense 4

kernel @copy(%src: in tile<1x8xf32>, %dst: out tile<1x8xf32>) vector {{
  %0 = tload %src : tile<1x8xf32>
  tstore %dst, %0
}}

workload @m {{
  pipe {{
    channel %{ch} depth 2
    channel %"ev */" depth 1
    process @{loader} produces(%{ch}, %"ev */") {{
      for_each %{i} in %n {{
        send %{ch}, call @copy[%{i}](src = %In[%{i}], dst = %Buf[%{i}])
      }}
      send %"ev */"
    }}
    process @{storer} consumes(%{ch}, %"ev */") {{
      consume %{ch} as %{t} {{
        call @copy[%{t}](src = %Buf[%{t}], dst = %Out[%{t}])
      }}
      wait %"ev */"
    }}
  }}
}}
"""
    prog = compile_module(parse_module(text, "<test>"), {}, "cpu_sim", None, num_threads=2)
    x = np.random.default_rng(0).standard_normal((4, 1, 8)).astype(np.float32)
    out = np.zeros_like(x)
    prog.run(In=x, Buf=np.zeros_like(x), Out=out)
    np.testing.assert_array_equal(out, x)
    src = prog.sources["orchestrate.c"]
    assert '"c\\"h*/\\012#define x 1"' in src and '"load*/er"' in src


@pytest.mark.parametrize("body, ok", [("for (int j = 0; j < 8; ++j) y[j] = x[j] + 1;", True),
                                      ("y[0] = 1;\ny[1] = nope;", False)])
def test_custom_body_of_a_crafted_kernel_name(body, ok):
    name = 'k"\n#define y 0 */ ../'
    text = f"""module @m
tensor %X : [1, 8] f32 global
tensor %Y : [1, 8] f32 global
axis %n : dense 1
kernel @{q(name)}(%x: in tile<1x8xf32>, %y: out tile<1x8xf32>) vector custom body "c" {q(body)}
workload @m {{
  parallel_for %i in %n {{
    call @{q(name)}[%i](x = %X[%i], y = %Y[%i])
  }}
}}
"""
    m = parse_module(text, "<test>")
    if not ok:
        with pytest.raises(PtoError) as ei:
            compile_module(m, {}, "cpu_sim", None, num_threads=1)
        assert ei.value.message.startswith(f"kernel '{name}': its custom C body does not compile")
        assert ":2:" in ei.value.message and "nope" in ei.value.details
        return
    prog = compile_module(m, {}, "cpu_sim", None, num_threads=1)
    x = np.arange(8, dtype=np.float32).reshape(1, 8)
    y = np.zeros_like(x)
    prog.run(X=x, Y=y)
    np.testing.assert_array_equal(y, x + 1)

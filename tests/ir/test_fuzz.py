"""Fuzz the parser with random mutations of the corpus: it only ever raises PtoError
subclasses (syntax errors are PtoSyntaxError), never a raw lark/Python exception, and every
case finishes quickly."""

import random
import re
import time
from pathlib import Path

import pytest

from pto_wsp.errors import PtoError, PtoSyntaxError
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.pto"))
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[%@$]?[A-Za-z0-9_.]+|<<<|\S')
VOCAB = ["{", "}", "(", ")", "[", "]", ",", ":", "=", "+", "-", "*", "<<<EOF\n", "\nEOF",
         '"', "%", "@", "$", "%0", "%x", "@k", "$s", "call", "when", "else", "elif", "slot",
         "kernel", "tensor", "axis", "module", "workload", "schedule", "tile<1x1xf32>",
         "layout<R>", "f32", "i64", "1e999", "-", "inf", "nan", "9" * 30, "\x00", "é", "\r",
         "part", "combine", "pipe", "process", "send", "consume", "//", "where(", "cast(",
         "wait", "pending(", "select", "for_each", "allreduce", "allgather", "relayout",
         "reduce_scatter", "mesh_axis", "dim", "layout<S(0),R>", "layout<R | P(0,sum)>"]
CASES_PER_FILE = 40


def _mutate(rng: random.Random, text: str) -> str:
    kind = rng.randrange(6)
    n = len(text)
    if kind == 0:  # delete a span
        i = rng.randrange(n)
        return text[:i] + text[i + rng.randint(1, 40):]
    if kind == 1:  # duplicate a span
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 80))
        return text[:j] + text[i:j] + text[j:]
    if kind == 2:  # flip bytes
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(n)] = chr(rng.choice([rng.randrange(32, 127),
                                                     rng.randrange(0, 0x3000)]))
        return "".join(chars)
    toks = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    if kind == 3:  # swap two tokens
        (a0, a1), (b0, b1) = sorted(rng.sample(toks, 2))
        return text[:a0] + text[b0:b1] + text[a1:b0] + text[a0:a1] + text[b1:]
    if kind == 4:  # insert a token
        i = rng.choice(toks)[rng.randrange(2)]
        return text[:i] + " " + rng.choice(VOCAB) + " " + text[i:]
    a0, a1 = rng.choice(toks)  # replace a token
    return text[:a0] + rng.choice(VOCAB) + text[a1:]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_mutations_raise_only_pto_errors(path):
    rng = random.Random(f"pto-fuzz:{path.name}")
    text = path.read_text()
    outcomes = {"ok": 0, "syntax": 0, "other": 0}
    for case in range(CASES_PER_FILE):
        mutated = text
        for _ in range(rng.randint(1, 3)):
            mutated = _mutate(rng, mutated)
        start = time.perf_counter()
        try:
            m = parse_module(mutated, "fuzz.pto")
        except PtoSyntaxError as e:
            outcomes["syntax"] += 1
            assert e.loc is not None and e.loc.line >= 1, (case, mutated)
            str(e)  # renders
        except PtoError as e:
            outcomes["other"] += 1
            str(e)
        except Exception as e:  # noqa: BLE001 - the point of the test
            pytest.fail(f"case {case}: raw {type(e).__name__}: {e}\n--- input ---\n{mutated}")
        else:
            outcomes["ok"] += 1
            # whatever parses and verifies prints canonically and round-trips (compared as
            # text: a mutation may produce nan, which never equals itself)
            text = print_module(m)
            assert print_module(parse_module(text)) == text
        assert time.perf_counter() - start < 2.0, (case, mutated)
    assert outcomes["syntax"] > 0


def test_deep_nesting_is_a_located_error():
    deep = "module @m\nworkload @w {\n  slot(0) = " + "(" * 5000 + "1" + ")" * 5000 + "\n}\n"
    try:
        parse_module(deep)
    except PtoError:
        pass
    long_sum = "module @m\nworkload @w {\n  slot(0) = " + " + ".join(["1"] * 3000) + "\n}\n"
    try:
        m = parse_module(long_sum)
    except PtoError:
        pass
    else:
        assert m.workload.body

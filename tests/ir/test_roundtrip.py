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

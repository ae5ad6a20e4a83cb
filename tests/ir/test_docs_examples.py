"""Every ```pto example in docs/pto-format.md is quoted verbatim from the tested corpus."""

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.pto"))


def _occurs(block: str, text: str) -> bool:
    """``block`` (dedented) equals consecutive lines of ``text`` indented by one common k."""
    want = textwrap.dedent(block).strip("\n").splitlines()
    have = text.splitlines()
    for k in range(0, 9):
        shifted = [(" " * k + w) if w else w for w in want]
        for i in range(len(have) - len(want) + 1):
            if have[i:i + len(want)] == shifted:
                return True
    return False


def test_doc_examples_are_in_the_corpus():
    doc = (ROOT / "docs" / "pto-format.md").read_text()
    blocks = re.findall(r"```pto\n(.*?)```", doc, re.S)
    assert len(blocks) >= 10
    texts = [p.read_text() for p in CORPUS]
    for block in blocks:
        assert any(_occurs(block, t) for t in texts), f"not in tests/ir/corpus:\n{block}"

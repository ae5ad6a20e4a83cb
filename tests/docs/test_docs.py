"""The documentation's (and the README's) Python examples run, in order, one namespace per
page."""

import linecache
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["tutorial.md", "api.md", "cpu-sim.md", "kernels.md", "../README.md"]


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page):
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{page} has no python examples"
    ns: dict = {"__name__": f"docs_{page}"}
    for i, code in enumerate(blocks):
        name = f"{page}[block {i}]"
        # like a file on disk: loop variables are named from the source lines
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        exec(compile(code, name, "exec"), ns)


def test_knob_table_is_current():
    from pto_wsp import knobs
    text = (DOCS / "knobs.md").read_text()
    assert knobs.table() in text, "regenerate docs/knobs.md: python -m pto_wsp knobs"


def test_readme_lists_every_page():
    readme = (DOCS.parent / "README.md").read_text()
    missing = [p.name for p in DOCS.glob("*.md") if f"(docs/{p.name})" not in readme]
    assert not missing, f"list these in the README's documentation table: {missing}"

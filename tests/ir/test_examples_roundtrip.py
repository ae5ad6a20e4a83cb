"""Every example script's workloads round-trip through .pto (the scripts stop at compile)."""

from pathlib import Path

import pytest

from pto_wsp.cli import _final, _run_script
from pto_wsp.ir.parser import parse_module
from pto_wsp.ir.printer import print_module

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_workloads_round_trip(path):
    compiled, top, created = _run_script(str(path), [])
    workloads = compiled or top or _final(created)
    assert workloads, f"{path.name} built no workload"
    for w in workloads:
        text = print_module(w.module)
        m = parse_module(text, path.name)
        assert m == w.module
        assert print_module(m) == text

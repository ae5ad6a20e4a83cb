"""The IR is the hub: ``types.py`` (the floor), ``ir/``, ``schedule.py`` and the backends never
import the authoring layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pto_wsp

SRC = Path(pto_wsp.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
    return out


def test_ir_side_does_not_import_language():
    files = (sorted((SRC / "ir").glob("*.py")) + sorted((SRC / "backends").rglob("*.py"))
             + [SRC / "schedule.py", SRC / "types.py"])
    bad = {f.name: sorted(m for m in _imports(f) if "language" in m) for f in files}
    assert not {f: m for f, m in bad.items() if m}

"""Locations of the package data shipped beside the code (templates, grammar, C runtime, docs).

A wheel installs the top-level ``templates/``, ``grammar/``, ``runtime_c/`` and ``docs/``
directories inside the package (``pto_wsp/templates`` ...); a source checkout or an editable install finds
them at the repository root, two levels above ``src/pto_wsp``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def _data_dir(name: str) -> Path:
    for cand in (_HERE / name, _HERE.parent.parent / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"pto_wsp package data '{name}/' is missing: reinstall pto-wsp")


def templates_dir() -> Path:
    """Directory of the Jinja2 templates (top-level ``templates/``)."""
    return _data_dir("templates")


def grammar_path() -> Path:
    """The Lark grammar of the ``.pto`` text format (top-level ``grammar/pto.lark``)."""
    return _data_dir("grammar") / "pto.lark"


def docs_dir() -> Path:
    """The documentation (top-level ``docs/``, shipped in the wheel)."""
    return _data_dir("docs")


def runtime_dir() -> Path:
    """Directory of the hand-written C runtime and tile library (top-level ``runtime_c/``)."""
    return _data_dir("runtime_c")

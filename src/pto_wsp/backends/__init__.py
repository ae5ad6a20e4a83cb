"""Backends: cpu_sim (C over the tile library) and ascend (PTO-ISA C++), both printed from the
IR through Jinja2 templates (``templates/``) and, for kernels, from one kernel plan
(``kernel_plan.py``)."""

from __future__ import annotations

import jinja2

from ..resources import templates_dir


def template_env() -> jinja2.Environment:
    """The Jinja2 environment of every backend template (strict, no autoescape)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)

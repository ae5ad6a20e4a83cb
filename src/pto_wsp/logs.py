"""The ``pto_wsp`` logger: a line when a cold compile starts and when a compile ends.

Shown on stderr by default in interactive use (a terminal, outside pytest); ``PTO_WSP_VERBOSE``
= 1 always shows it, = 0 never. A program that configures logging itself (a handler on the
``pto_wsp`` logger or the root logger) decides with its own levels instead.
"""

from __future__ import annotations

import logging
import os
import sys

from . import knobs

log = logging.getLogger("pto_wsp")
_handler: logging.Handler | None = None


def _shown() -> bool:
    setting = knobs.VERBOSE.get().strip()
    if setting:
        return knobs.flag(knobs.VERBOSE)
    return sys.stderr.isatty() and "PYTEST_CURRENT_TEST" not in os.environ


def info(msg: str, *args) -> None:
    global _handler
    configured = (log.handlers and log.handlers != [_handler]) or logging.getLogger().handlers
    if not configured:
        if not _shown():
            return
        if _handler is None:
            _handler = logging.StreamHandler()
            _handler.setFormatter(logging.Formatter("pto_wsp: %(message)s"))
            log.addHandler(_handler)
            log.setLevel(logging.INFO)
            log.propagate = False
    log.info(msg, *args)

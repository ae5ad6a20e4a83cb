"""Every environment knob of pto-wsp, read at use time, documented in one table.

``python -m pto_wsp knobs`` prints the table (docs/knobs.md is generated from it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Knob:
    env: str
    default: str
    doc: str

    def get(self) -> str:
        return os.environ.get(self.env, self.default)


CACHE_DIR = Knob("PTO_WSP_CACHE_DIR", "",
                 "Build cache directory (else $XDG_CACHE_HOME/pto_wsp, else ~/.cache/pto_wsp).")
DUMP = Knob("PTO_WSP_DUMP", "", "If set, a directory where every lowering stage's output is written.")
VERBOSE = Knob("PTO_WSP_VERBOSE", "",
               "1: a line when a compile starts and ends, and compiler errors in full; 0: "
               "quiet; unset: the lines in interactive use (a terminal) only. A configured "
               "'pto_wsp' or root logger decides by its own level instead.")
REBUILD = Knob("PTO_WSP_REBUILD", "0",
               "1: ignore cache entries from earlier processes and compile everything again.")
DEBUG = Knob("PTO_WSP_DEBUG", "0", "1: the CLI also prints the Python traceback of user errors.")
CC = Knob("CC", "gcc", "C compiler used for cpu_sim artifacts.")
CXX = Knob("CXX", "g++", "C++ compiler for C++ custom kernels (bodies on the host PTO-ISA layer).")
CFLAGS = Knob("CFLAGS", "", "Extra flags appended to the C compiler command line.")
OPT = Knob("PTO_WSP_OPT", "-O2", "Optimisation flags for generated C.")
ISOLATE = Knob("PTO_WSP_ISOLATE", "0",
               "1: run programs in a child process, so that a crash inside a kernel becomes a "
               "KernelError (tensors are copied to shared memory and back); `program.isolate` "
               "overrides it per program.")

PROGRESS = Knob("PTO_WSP_PROGRESS", "",
                "1: a progress bar (tasks done / submitted, on stderr) while waiting for a run "
                "that takes over a second or is traced; 0: never; unset: only on a terminal.")

ORCHESTRATION = Knob("PTO_WSP_ORCHESTRATION", "c",
                     "How a cpu_sim program submits its tasks: c = the generated orchestrate.c; "
                     "plan = the task-generation plan expanded by its interpreter "
                     "(runtime_c/pto_plan.c, the Ascend AICPU's path; docs/ascend.md). Same "
                     "tasks, results and cycles (CSP pipelines too).")

ALL = [CACHE_DIR, DUMP, VERBOSE, REBUILD, DEBUG, CC, CXX, CFLAGS, OPT, ISOLATE, PROGRESS,
       ORCHESTRATION]


def cache_dir() -> Path:
    if CACHE_DIR.get():
        return Path(CACHE_DIR.get())
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "pto_wsp"


def flag(knob: Knob) -> bool:
    return knob.get().strip().lower() not in ("", "0", "false", "no", "off")


def table() -> str:
    """The knob table as Markdown."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{k.env}` | `{k.default}` | {k.doc} |" for k in ALL]
    return "\n".join(rows)

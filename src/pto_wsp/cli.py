"""The ``pto-wsp`` command line (also ``python -m pto_wsp``).

Subcommands::

    pto-wsp check FILE.pto...       parse and verify; located diagnostics; exit 1 on error
    pto-wsp fmt FILE.pto [-i]       print the canonical text (or rewrite the file in place)
    pto-wsp show script.py [args]   run a Python script, print its workloads as .pto
    pto-wsp compile FILE.pto        build it for cpu_sim (cached); --target ascend_npu -o DIR
                                    writes its Ascend source tree
    pto-wsp run FILE.pto [...]      build and run it on .npy or generated inputs
    pto-wsp cache info|clear        where the build cache is and how big; empty it
    pto-wsp docs                    where the documentation is installed, and its pages
    pto-wsp knobs                   the environment knobs, as a Markdown table

Every subcommand is one ``(name, configure, run)`` entry of :data:`COMMANDS`; ``run(args)``
returns the exit code. A :class:`~pto_wsp.errors.PtoError` is printed as a compiler
diagnostic on stderr (exit 1); a Python traceback is only shown for internal errors, or for
every error when ``PTO_WSP_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Callable

from .errors import CompileError, PtoError, entry_point

__all__ = ["main", "COMMANDS", "build_parser"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- output helpers


def _error(e: PtoError) -> None:
    print(f"error: {e}", file=sys.stderr)
    from . import knobs
    if knobs.flag(knobs.DEBUG):
        traceback.print_exception(e, file=sys.stderr)


def _read(path: str) -> tuple[str, str]:
    """(text, display name) of a .pto file, ``-`` meaning stdin."""
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(path).read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as e:
        raise PtoError(f"cannot read {path}: {e.strerror if isinstance(e, OSError) else e}",
                       hint="pass a readable UTF-8 .pto file") from None


def _parse_files(paths: list[str]) -> tuple[list, int]:
    """[(path, text, display name, module)] of the files that parse and verify, and the exit
    status (1 if any did not; their diagnostics are printed)."""
    from .ir.parser import parse_module
    parsed, status = [], 0
    for path in paths:
        try:
            text, name = _read(path)
            parsed.append((path, text, name, parse_module(text, name)))
        except PtoError as e:
            _error(e)
            status = 1
    return parsed, status


# ---------------------------------------------------------------- check


def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE.pto", help=".pto files ('-' for stdin)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def _run_check(args) -> int:
    from .ir.printer import quote_name
    parsed, status = _parse_files(args.files)
    for _, text, name, m in parsed:
        if not args.quiet:
            counts = ", ".join(f"{n} {w}{'' if n == 1 else 's'}" for n, w in (
                (len(m.tensors), "tensor"), (len(m.axes), "axis"), (len(m.kernels), "kernel")))
            print(f"{name}: ok (module @{quote_name(m.name)}: {counts.replace('axiss', 'axes')})")
    return status


# ---------------------------------------------------------------- fmt


def _configure_fmt(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE.pto", help=".pto files ('-' for stdin)")
    p.add_argument("-i", "--in-place", action="store_true",
                   help="rewrite the files instead of printing them")
    p.add_argument("--check", action="store_true",
                   help="print nothing; exit 1 if a file is not in canonical form")
    p.add_argument("--drop-comments", action="store_true",
                   help="allow --in-place to drop comments inside the module (the leading "
                        "comment block is always kept)")


def _header(text: str) -> str:
    """The leading block of ``//`` comment lines (and blank lines between them)."""
    out = []
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s.startswith("//"):
            out.append(line if line.endswith("\n") else line + "\n")
        elif s == "" and out:
            out.append(line if line.endswith("\n") else "\n")
        elif s == "":
            continue
        else:
            break
    while out and not out[-1].strip():
        out.pop()
    return "".join(out)


def _run_fmt(args) -> int:
    from .ir.parser import comment_lines
    from .ir.printer import print_module
    if args.in_place and args.check:
        print("error: give --in-place or --check, not both", file=sys.stderr)
        return 2
    parsed, status = _parse_files(args.files)
    for path, text, name, m in parsed:
        head = _header(text)
        out = head + print_module(m)
        kept = len(head.splitlines())
        lost = [n for n in comment_lines(text) if n > kept]
        if args.check:
            if out != text:
                print(f"{name}: not in canonical form", file=sys.stderr)
                status = 1
            continue
        if lost:
            where = ", ".join(str(n) for n in lost[:8]) + (", ..." if len(lost) > 8 else "")
            if args.in_place and path != "-" and not args.drop_comments:
                print(f"error: {name}: fmt keeps only the leading comment block; the comments "
                      f"on line(s) {where} would be lost\nhelp: move them to the top of the "
                      f"file, or pass --drop-comments", file=sys.stderr)
                status = 1
                continue
            print(f"warning: {name}: dropped the comments on line(s) {where}", file=sys.stderr)
        if args.in_place and path != "-":
            if out != text:
                Path(path).write_text(out, encoding="utf-8")
        else:
            sys.stdout.write(out)
    return status


# ---------------------------------------------------------------- show


def _configure_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("script", metavar="script.py",
                   help="a Python script that builds workloads (or a .pto file)")
    p.add_argument("script_args", nargs=argparse.REMAINDER,
                   help="arguments passed to the script as sys.argv[1:]")
    p.add_argument("--all", action="store_true",
                   help="print every workload the script built, including intermediate ones")
    p.add_argument("--run", action="store_true",
                   help="let the script compile and run its workloads (by default it stops at "
                        "the first .compile() and that workload is shown)")
    p.add_argument("--name", metavar="NAME", action="append",
                   help="print only the workload(s) whose module is called NAME")
    p.add_argument("-o", "--output-dir", metavar="DIR",
                   help="write each workload to DIR/<name>.pto instead of printing it")


class _StopAtCompile(BaseException):
    """Raised by the patched ``Workload.compile`` to end the script (``show`` without --run)."""


def _run_script(path: str, argv: list[str], run: bool = False) -> tuple[list, list, list]:
    """Run ``path`` as ``__main__``; return (compiled Workloads, module-level Workloads, every
    Workload created). Unless ``run``, the first ``.compile()`` records its workload and ends
    the script."""
    import runpy

    from .language.workload import Workload
    created: list = []
    compiled: list = []
    orig_init, orig_compile = Workload.__init__, Workload.compile

    def init(self, *a, **kw):
        orig_init(self, *a, **kw)
        created.append(self)

    def compile_(self, *a, **kw):
        compiled.append(self)
        if not run:
            raise _StopAtCompile()
        return orig_compile(self, *a, **kw)

    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path] + list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    Workload.__init__, Workload.compile = init, compile_
    scope: dict = {}
    try:
        try:
            scope = runpy.run_path(path, run_name="__main__")
        except _StopAtCompile:
            pass
        except SystemExit as e:
            if e.code not in (None, 0):
                raise
    finally:
        Workload.__init__, Workload.compile = orig_init, orig_compile
        sys.argv, sys.path[:] = old_argv, old_path
    seen, top = set(), []
    for v in scope.values():
        if isinstance(v, Workload) and id(v) not in seen:
            seen.add(id(v))
            top.append(v)
    return compiled, top, created


def _final(created: list) -> list:
    """Workloads not superseded by a schedule combinator (which shares the tensor dict)."""
    last = {}
    for w in created:
        last[id(w.tensors)] = w
    keep = {id(w) for w in last.values()}
    return [w for w in created if id(w) in keep]


def _user_traceback(e: BaseException) -> str:
    """The traceback of an exception raised by a user script, without our own frames."""
    te = traceback.TracebackException.from_exception(e)
    frames = [f for f in te.stack
              if not os.path.abspath(f.filename).startswith(_PKG_DIR)
              and "runpy" not in os.path.basename(f.filename)]
    te.stack = traceback.StackSummary.from_list(frames)
    return "".join(te.format())


def _run_show(args) -> int:
    from .ir.parser import parse_module
    from .ir.printer import print_module
    if args.script.endswith(".pto"):
        text, name = _read(args.script)
        modules = [parse_module(text, name)]
    else:
        if not Path(args.script).is_file():
            raise PtoError(f"no such script: {args.script}")
        try:
            compiled, top, created = _run_script(args.script, args.script_args, args.run)
        except PtoError:
            raise
        except SystemExit as e:
            print(f"error: {args.script} exited with status {e.code}", file=sys.stderr)
            return e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # noqa: BLE001 - the user's script failed
            if isinstance(e, KeyboardInterrupt):
                raise
            print(f"error: {args.script} raised {type(e).__name__}: {e}\n"
                  f"{_user_traceback(e)}", file=sys.stderr, end="")
            return 1
        workloads = created if args.all else (compiled or top or _final(created))
        modules = [w.module for w in workloads]
    if args.name:
        modules = [m for m in modules if m.name in args.name]
    if not modules:
        what = f" named {', '.join(args.name)}" if args.name else ""
        raise PtoError(f"{args.script} built no workload{what}",
                       hint="call a @workload function at module level (w = my_workload(...))")
    texts, unique = [], []
    for m in modules:  # identical modules (e.g. a combinator that changed nothing) print once
        text = print_module(m)
        if text not in texts:
            texts.append(text)
            unique.append(m)
    modules = unique
    if args.output_dir:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        used: dict[str, int] = {}
        for m, text in zip(modules, texts):
            n = used[m.name] = used.get(m.name, 0) + 1
            stem = m.name if n == 1 else f"{m.name}_{n}"
            (out / f"{_safe(stem)}.pto").write_text(text, encoding="utf-8")
            print(out / f"{_safe(stem)}.pto")
    else:
        sys.stdout.write("\n".join(texts))
    return 0


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "workload"


# ---------------------------------------------------------------- docs
def _run_docs(args) -> int:
    from .resources import docs_dir
    d = docs_dir()
    print(f"{d}\n" + "\n".join(f"  {p.name}" for p in sorted(d.glob("*.md"))))
    return 0


# ---------------------------------------------------------------- cache
def _configure_cache(p) -> None:
    p.add_argument("action", choices=("info", "clear"),
                   help="info: where the build cache is, how many entries, how big; "
                        "clear: remove everything in it")


def _run_cache(args) -> int:
    from .backends.cpu_sim.build import cache_info, clear_cache
    if args.action == "clear":
        print(f"removed {_mib(clear_cache())} from {cache_info()['directory']}")
        return 0
    info = cache_info()
    print(f"directory: {info['directory']}\nentries:   {info['entries']} "
          f"({info['failed']} failed builds kept)\nsize:      {_mib(info['bytes'])}")
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


# ---------------------------------------------------------------- knobs


def _run_knobs(args) -> int:
    from . import knobs
    print(knobs.table())
    return 0


# ---------------------------------------------------------------- compile / run


def _configure_build(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.pto", help="a .pto program ('-' for stdin)")
    p.add_argument("--cost-model", choices=("v9", "a2a3"), default="v9",
                   help="instruction cycle model (default v9)")
    p.add_argument("--v9-compat", action="store_true", help="the v9 prototype's timing model")
    p.add_argument("--aicpus", type=int, default=None, help="simulated AICPUs")
    p.add_argument("--threads", type=int, default=0, help="worker threads (0 = all cores)")
    p.add_argument("--target", choices=("cpu_sim", "ascend_npu"), default="cpu_sim",
                   help="cpu_sim (default), or ascend_npu: the Ascend source tree, run in its "
                        "host emulation")


def _compile_file(args, trace: bool = False):
    """(program, display name) of the .pto file ``args.file``; ``trace`` turns tracing on
    (cycles) if its schedule has none."""
    from dataclasses import replace

    from .ir.parser import parse_module
    from .program import compile_module
    from .schedule import TaskGraph, TracePolicy
    text, name = _read(args.file)
    m = parse_module(text, name)
    tg = m.schedule.task_graph or TaskGraph()
    if trace and tg.trace == TracePolicy.none():
        m = replace(m, schedule=m.schedule.with_(
            task_graph=replace(tg, trace=TracePolicy.cycles())))
    prog = compile_module(m, {}, args.target, None, num_threads=args.threads,
                          num_aicpus=args.aicpus, cost_model=args.cost_model,
                          v9_compat=args.v9_compat)
    return prog, name


def _configure_compile(p: argparse.ArgumentParser) -> None:
    _configure_build(p)
    p.add_argument("-o", "--output", metavar="DIR",
                   help="with --target ascend_npu: write the source tree to DIR (not built; "
                        "cmake -S DIR -B build builds it)")


def _run_compile(args) -> int:
    if args.output is not None:
        if args.target != "ascend_npu":
            raise CompileError("-o writes an Ascend source tree: add --target ascend_npu",
                               hint="cpu_sim builds are cached; `compile` prints where")
        from .ir.parser import parse_module
        from .program import write_ascend_tree
        text, name = _read(args.file)
        n = write_ascend_tree(parse_module(text, name), Path(args.output),
                              num_aicpus=args.aicpus, cost_model=args.cost_model,
                              v9_compat=args.v9_compat)
        print(f"wrote the ascend_npu tree of {name} to {args.output} ({n} files)")
        return 0
    prog, name = _compile_file(args)
    state = "compiled" if prog.stats.compiled else "cached"
    print(f"{state} {name} -> {prog.codegen_artifact_dir} "
          f"({prog.stats.compile_time_ms:.0f} ms)")
    return 0


def _configure_run(p: argparse.ArgumentParser) -> None:
    _configure_build(p)
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="data of tensor NAME (others are generated from --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of generated inputs")
    p.add_argument("--axis", action="append", default=[], metavar="NAME=N",
                   help="size of a dense_dyn axis")
    p.add_argument("--symbol", action="append", default=[], metavar="NAME=VALUE",
                   help="value of a runtime symbol")
    p.add_argument("--save", metavar="DIR", help="write every tensor the workload writes to "
                                                 "DIR/NAME.npy")
    p.add_argument("--trace", metavar="FILE.json",
                   help="write the Chrome trace (tracing simulated cycles if the schedule "
                        "has no trace policy)")
    p.add_argument("--summary", action="store_true",
                   help="print the run's statistics: per kernel, per simulated lane, critical "
                        "path, host time split")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise PtoError(f"{what} takes NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def _generated(decl, rng):
    dt = decl.dtype
    if dt.is_float:
        return rng.standard_normal(decl.shape).astype(dt.np)
    if dt.value == "bool":
        return rng.integers(0, 2, decl.shape).astype(dt.np)
    return rng.integers(0, 8, decl.shape).astype(dt.np)


def _run_program(args, trace: bool):
    """Compile ``args.file``, bind the given or generated inputs, run it: (program, stats,
    arrays)."""
    import numpy as np
    prog, file = _compile_file(args, trace=trace)
    m = prog.module
    given = _pairs(args.input, "--input")
    for name in given:
        if m.tensor(name) is None:
            raise PtoError(f"--input names '{name}', which is not a tensor of {file}",
                           hint="tensors: " + ", ".join(t.name for t in m.tensors))
    rng = np.random.default_rng(args.seed)
    arrays = {}
    for t in m.tensors:
        if t.name in given:
            try:
                arrays[t.name] = np.load(given[t.name], allow_pickle=False)
            except (OSError, ValueError) as e:
                raise PtoError(f"cannot load {given[t.name]}: {e}") from None
        else:
            arrays[t.name] = _generated(t, rng)
    for name, v in _pairs(args.axis, "--axis").items():
        try:
            prog.set_axis_sizes(**{name: int(v)})
        except ValueError:
            raise PtoError(f"--axis {name} needs an integer, got {v!r}") from None
    for name, v in _pairs(args.symbol, "--symbol").items():
        decl = next((s for s in m.symbols if s.name == name), None)
        if decl is None:
            raise PtoError(f"{file} has no symbol '{name}'")
        try:
            if decl.dtype.is_float:
                prog.set_symbol_f32(name, float(v))
            else:
                prog.set_symbol_u64(name, int(v, 0))
        except ValueError:
            raise PtoError(f"--symbol {name}: bad value {v!r}") from None
    return prog, prog.run(**arrays), arrays


def _run_run(args) -> int:
    import numpy as np
    prog, stats, arrays = _run_program(args, trace=bool(args.trace))
    print(f"tasks={stats.task_count} total_cycles={stats.total_cycles} "
          f"execute_ms={stats.execute_time_ms:.2f} compile_ms={stats.compile_time_ms:.0f} "
          f"({'compiled' if stats.compiled else 'cached'})")
    if args.summary:
        print(stats)
    if args.trace:
        prog.to_chrome_trace(args.trace)
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        for name in sorted(prog.written_tensors()):
            np.save(out / f"{_safe(name)}.npy", arrays[name])
    return 0


def _configure_report(p: argparse.ArgumentParser) -> None:
    _configure_run(p)
    p.add_argument("-o", "--output", metavar="FILE.html", default="report.html",
                   help="where to write the report (default: report.html)")


def _run_report(args) -> int:
    prog, stats, _ = _run_program(args, trace=True)
    prog.report(args.output)
    print(f"tasks={stats.task_count} total_cycles={stats.total_cycles} -> {args.output}")
    return 0


# ---------------------------------------------------------------- entry point

#: name -> (help, configure(subparser), run(args) -> exit code). Add subcommands here.
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "check": ("parse and verify .pto files", _configure_check, _run_check),
    "fmt": ("print .pto files in canonical form", _configure_fmt, _run_fmt),
    "show": ("run a Python script and print the workloads it builds as .pto",
             _configure_show, _run_show),
    "compile": ("build a .pto program for cpu_sim (cached), or write its ascend_npu source "
                "tree (--target ascend_npu -o DIR)", _configure_compile, _run_compile),
    "run": ("build and run a .pto program on given or generated inputs", _configure_run,
            _run_run),
    "report": ("run a .pto program and write an HTML report of the run (timeline, "
               "utilisation, top kernels)", _configure_report, _run_report),
    "cache": ("show or clear the build cache", _configure_cache, _run_cache),
    "docs": ("print where the documentation is installed, and its pages", lambda p: None,
             _run_docs),
    "knobs": ("list the environment knobs", lambda p: None, _run_knobs),
}


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="pto-wsp", description="pto-wsp: workload-schedule programming for tile-based "
                                    "NPUs. The .pto text format is described in "
                                    "docs/pto-format.md.")
    parser.add_argument("--version", action="version", version=f"pto-wsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_, configure, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        configure(p)
        p.set_defaults(_run=run)
    return parser


@entry_point
def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2
    try:
        return args._run(args)
    except PtoError as e:
        _error(e)
        return 1
    except BrokenPipeError:  # e.g. `pto-wsp fmt x.pto | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:  # pragma: no cover
            pass
        return 0
    except KeyboardInterrupt:
        return 130

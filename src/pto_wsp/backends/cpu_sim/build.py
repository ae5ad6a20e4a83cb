"""cffi build cache: C source -> cached, importable extension module.

The module (and its file) is named after a sha256 key over everything that affects the binary (the
cdef and C source, the shipped runtime and template files, extra sources, compiler argv,
Python/cffi/pto-wsp versions and codegen knobs). A build happens in a staging directory that
is renamed into place under a per-key file lock, so concurrent processes compiling the same
program all succeed and only one compiles. A corrupt entry is rebuilt. The generated C is kept
beside the module.

We call ``FFI.emit_c_code`` and run the compiler ourselves: ``FFI.compile`` changes the
working directory (unsafe across threads) and hides compiler output.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import cffi
from cffi.recompiler import recompile

from ... import knobs, logs
from ...errors import CompileError
from ...resources import runtime_dir, templates_dir

log = logging.getLogger("pto_wsp")

_VERSION = "0.1.0"
_EXT = importlib.machinery.EXTENSION_SUFFIXES[0]
_loaded: dict[str, ModuleType] = {}


@dataclass
class BuildResult:
    """A loaded extension: ``module.ffi`` / ``module.lib``, where it lives, and whether it compiled."""

    module: ModuleType
    key: str
    directory: Path
    compiled: bool
    compile_time_ms: float
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ffi(self):
        return self.module.ffi

    @property
    def lib(self):
        return self.module.lib


def _shipped_files_digest() -> str:
    h = hashlib.sha256()
    for root in (runtime_dir(), templates_dir()):
        for p in sorted(Path(root).rglob("*")):
            if p.is_file() and p.suffix in (".h", ".hpp", ".c", ".j2"):
                h.update(p.name.encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def compiler_argv() -> list[str]:
    """Compiler command prefix: ``$CC``, fixed flags, optimisation flags, then ``$CFLAGS``."""
    # implicit declarations are errors: a call of a missing tile-library function must not
    # become an unresolved symbol at load time
    return (shlex.split(knobs.CC.get()) + ["-std=gnu11", "-fPIC", "-pthread",
                                           "-Werror=implicit-function-declaration"]
            + shlex.split(knobs.OPT.get()) + shlex.split(knobs.CFLAGS.get()))


def cxx_argv() -> list[str]:
    """C++ compiler command prefix (C++ custom kernels on the host PTO-ISA layer, which needs
    C++20): ``$CXX``, fixed flags, optimisation flags, then ``$CFLAGS``."""
    return (shlex.split(knobs.CXX.get()) + ["-std=c++20", "-fPIC", "-pthread"]
            + shlex.split(knobs.OPT.get()) + shlex.split(knobs.CFLAGS.get()))


def _key(*parts) -> str:
    h = hashlib.sha256()
    for part in parts + (sys.version, cffi.__version__, _VERSION):
        h.update(str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def runtime_cdef() -> str:
    """The runtime's public API (``runtime_c/pto_rt.h``) as cffi cdef text: comments, the C++
    guard and preprocessor lines dropped, the integer limits substituted where they are used."""
    text = re.sub(r"/\*.*?\*/", "", (runtime_dir() / "pto_rt.h").read_text(), flags=re.S)
    limits, lines, in_cpp = {}, [], False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#ifdef __cplusplus"):
            in_cpp = True
        elif in_cpp:
            in_cpp = not s.startswith("#endif")
        elif m := re.fullmatch(r"#define\s+(\w+)\s+(\d+)u?", s):
            limits[m[1]] = m[2]
        elif not s.startswith("#"):
            lines.append(line)
    body = "\n".join(lines)
    return re.sub(r"\b(" + "|".join(limits) + r")\b", lambda m: limits[m[1]], body)


def runtime_library() -> Path:
    """The C task runtime (``runtime_c/pto_rt*.c``) compiled once into a cached archive."""
    rt = runtime_dir()
    sources = {p.name: p.read_text() for p in sorted(rt.glob("pto_rt*.c"))}
    argv = compiler_argv()
    headers = {p.name: p.read_text() for p in sorted(rt.glob("*.h"))}
    key = _key("runtime", sorted(sources.items()), sorted(headers.items()), argv)
    name = "libpto_rt.a"

    def produce(stage: Path) -> None:
        objs = []
        for fname, text in sources.items():
            (stage / fname).write_text(text)
            obj = stage / (fname[:-2] + ".o")
            _run_cc(argv + ["-c", f"-I{rt}", str(stage / fname), "-o", str(obj)], stage,
                    f"runtime-{key[:16]}")
            objs.append(str(obj))
        _run_cc(["ar", "rcs", str(stage / name)] + objs, stage, f"runtime-{key[:16]}")
    final, _ = _cached(key, name, produce)
    return final / name


def build_extension(cdef: str, source: str, *, name_hint: str = "ext",
                    extra_sources: dict[str, str] | None = None,
                    libraries: tuple[Path, ...] = (),
                    define_macros: tuple[tuple[str, str], ...] = (),
                    knob_values: tuple = ()) -> BuildResult:
    """Build (or fetch from cache) and import a cffi extension.

    ``source`` is the C text cffi wraps (the module's own translation unit); ``extra_sources``
    maps file names to the text of further files written beside it: ``.c`` and ``.cpp`` files
    are compiled (with ``$CC`` / ``$CXX``) and linked in, others (headers) are only available
    to ``#include "..."``. ``libraries``
    are archives linked in (their paths carry their own cache keys). ``runtime_c/`` is always
    on the include path. ``knob_values`` are folded into the key.
    """
    extra_sources = dict(extra_sources or {})
    macros = [f"-D{k}={v}" for k, v in define_macros]
    argv = compiler_argv() + macros
    cxx = [f for f in extra_sources if f.endswith(".cpp")]
    cxx_cmd = cxx_argv() + macros if cxx else []
    key = _key(cdef, source, sorted(extra_sources.items()), argv, cxx_cmd, [str(x) for x in libraries],
               knob_values, _shipped_files_digest())
    modname = f"_pto_{key[:24]}"  # from the key alone: programs with the same C share it
    if modname in _loaded:
        return BuildResult(_loaded[modname], key, _entry_dir(key), False, 0.0)

    def produce(stage: Path) -> None:
        logs.info("compiling %s for cpu_sim ...", name_hint)
        ffi = cffi.FFI()
        try:
            ffi.cdef(cdef)
        except cffi.CDefError as e:  # our generator's bug, but say where the text is
            (stage / "cdef.h").write_text(cdef)
            raise CompileError(f"internal cdef error: {e}") from None
        mod_c = stage / (modname + ".c")
        # = ffi.emit_c_code, without its "generating ..." print (no stdout swapping: builds
        # may run on several threads)
        recompile(ffi, modname, source, c_file=str(mod_c), call_c_compiler=False,
                  uses_ffiplatform=False, compiler_verbose=False)
        for fname, text in extra_sources.items():
            (stage / fname).write_text(text)
        py_inc = sysconfig.get_paths()["include"]
        objs = []
        # each file on its own: a compiler error names the file it is in
        for src in [mod_c.name] + [f for f in extra_sources if f.endswith(".c")] + cxx:
            objs.append(src.rsplit(".", 1)[0] + ".o")
            _run_cc((cxx_cmd if src in cxx else argv)
                    + ["-c", f"-I{runtime_dir()}", f"-I{py_inc}", src, "-o", objs[-1]],
                    stage, modname, source=src)
        _run_cc((cxx_cmd or argv) + ["-shared"] + objs + [str(x) for x in libraries]
                + ["-o", str(stage / (modname + _EXT)), "-lm"], stage, modname)

    t0 = time.perf_counter()
    final, compiled = _cached(key, modname + _EXT, produce)
    try:
        module = _import(modname, final / (modname + _EXT))
    except ImportError as e:
        if compiled:
            raise CompileError(f"the freshly built module does not load: {e}",
                               hint=f"sources are in {final}") from None
        # A cached entry passed the digest check but does not load: rebuild it once.
        shutil.rmtree(final, ignore_errors=True)
        final, compiled = _cached(key, modname + _EXT, produce)
        module = _import(modname, final / (modname + _EXT))
    ms = (time.perf_counter() - t0) * 1e3
    _loaded[modname] = module
    return BuildResult(module, key, final, compiled, ms)


def _entry_dir(key: str) -> Path:
    return knobs.cache_dir() / key[:2] / key


def _cached(key: str, artifact: str, produce) -> tuple[Path, bool]:
    """The cache entry ``key`` holding ``artifact``, produced by ``produce(stage_dir)`` if
    missing or corrupt: built in a staging directory and renamed into place under a per-key
    file lock. Returns (entry directory, whether it was built now). A complete entry is served
    without the lock (entries appear by rename), so a read-only cache serves its hits."""
    final = _entry_dir(key)
    reuse = key in _built_here or not knobs.flag(knobs.REBUILD)
    if reuse and _entry_ok(final, final / artifact):
        return final, False
    root = knobs.cache_dir()
    with _cache_errors(root):
        root.mkdir(parents=True, exist_ok=True)
        with _file_lock(_lock_path(root, key)):
            if reuse and _entry_ok(final, final / artifact):
                return final, False
            if final.exists() and reuse:
                log.warning("pto_wsp: rebuilding corrupt cache entry %s", final)
                shutil.rmtree(final, ignore_errors=True)
            _sweep_stale_stages(root)
            stage = Path(tempfile.mkdtemp(prefix=f"stage-{key[:32]}-", dir=root))
            try:
                produce(stage)
                (stage / "OK").write_text(
                    hashlib.sha256((stage / artifact).read_bytes()).hexdigest())
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.rmtree(final, ignore_errors=True)  # PTO_WSP_REBUILD: replaced
                os.rename(stage, final)
            except BaseException:
                shutil.rmtree(stage, ignore_errors=True)
                raise
            _built_here.add(key)
            return final, True


_built_here: set[str] = set()  # keys this process built (PTO_WSP_REBUILD builds each once)


def cache_info() -> dict:
    """The build cache: its directory, complete entries, failed builds kept, bytes in all."""
    root = knobs.cache_dir()
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    return {"directory": str(root),
            "entries": sum(1 for p in root.glob("??/*/OK")) if root.is_dir() else 0,
            "failed": sum(1 for p in root.glob("failed-*")) if root.is_dir() else 0,
            "bytes": sum(p.stat().st_size for p in files)}


def clear_cache() -> int:
    """Remove every entry, failed build and staging directory; returns the bytes freed.
    Modules loaded by running processes stay usable (their files are unlinked, not changed)."""
    root = knobs.cache_dir()
    freed = cache_info()["bytes"]
    if root.is_dir():
        with _cache_errors(root):
            for p in root.iterdir():
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.suffix != ".lock":  # a lock may be held by a build in progress
                    p.unlink()
    return freed


STALE_STAGE_S = 600  # a staging directory this old, whose key nobody is building, is debris


def _lock_path(root: Path, key: str) -> Path:
    return root / f"{key[:32]}.lock"


def _sweep_stale_stages(root: Path) -> None:
    """Remove staging directories left by killed builds: older than STALE_STAGE_S and not
    held by a process building their key (its lock is free)."""
    now = time.time()
    for stage in root.glob("stage-*-*"):
        key32 = stage.name.split("-")[1]
        try:
            if now - stage.stat().st_mtime < STALE_STAGE_S:
                continue
            fd = os.open(_lock_path(root, key32), os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # being built right now (or by us: flock is per open file)
            os.close(fd)
            continue
        shutil.rmtree(stage, ignore_errors=True)
        os.close(fd)


class _cache_errors:
    """OS errors of the build cache itself (read-only or full file system, a path through a
    regular file) become a CompileError that says where to point the cache."""

    def __init__(self, root: Path):
        self.root = root

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        if typ is None or not issubclass(typ, OSError) or isinstance(e, CompileError):
            return False
        what = {errno.ENOSPC: "the file system is full", errno.EDQUOT: "the disk quota is used up",
                errno.EROFS: "it is read-only", errno.EACCES: "it is not writable",
                errno.EPERM: "it is not writable",
                errno.ENOTDIR: "part of its path is a regular file"}.get(e.errno, e.strerror)
        raise CompileError(
            f"the build cache {self.root} cannot hold a new build: {what} ({e.filename or e})",
            hint="free space there, or point PTO_WSP_CACHE_DIR at a writable directory with "
                 "room (a cache that already holds the build is only read)") from None


def _entry_ok(final: Path, path: Path) -> bool:
    stamp = final / "OK"
    if not (path.is_file() and stamp.is_file()):
        return False
    return stamp.read_text().strip() == hashlib.sha256(path.read_bytes()).hexdigest()


class _file_lock:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class CCError(CompileError):
    """The C compiler (or archiver) failed on ``source`` (a file name in the build
    directory; None for a link or archive step). ``details`` holds its whole output."""

    def __init__(self, message: str, hint: str, details: str, source: str | None):
        super().__init__(message, hint=hint, details=details)
        self.source = source


def compiler_summary(output: str) -> str:
    """What an error message shows of a compiler's output: the first line that says
    ``error``, or (``PTO_WSP_VERBOSE``) all of it on the following lines."""
    if knobs.flag(knobs.VERBOSE):
        return "\n" + output
    lines = output.splitlines()
    return " " + next((ln for ln in lines if re.search(r": (fatal )?error: ", ln)),
                      next((ln for ln in lines if "error" in ln), lines[0] if lines else ""))


def _run_cc(cmd: list[str], stage: Path, what: str, source: str | None = None) -> None:
    """Run a compiler/archiver command in ``stage``; on failure keep the sources and raise
    :class:`CCError` (the whole output only with ``PTO_WSP_VERBOSE``, else in ``details``)."""
    with open(stage / "build.sh", "a") as f:
        f.write(shlex.join(cmd) + "\n")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=stage)
    except OSError as e:
        raise CompileError(f"cannot run the C compiler {cmd[0]!r}: {e}",
                           hint="install gcc or point $CC at a C11 compiler") from None
    if proc.returncode != 0:
        kept = knobs.cache_dir() / f"failed-{what}"
        shutil.rmtree(kept, ignore_errors=True)
        os.rename(stage, kept)  # moved, not copied: no space needed (the stage is dropped)
        output = (proc.stdout + proc.stderr).rstrip()
        raise CCError(f"C compilation failed (exit {proc.returncode}):{compiler_summary(output)}",
                      f"PTO_WSP_VERBOSE=1 (or the error's .details) shows the whole compiler "
                      f"output; the generated C source is kept in {kept}", output, source)


def _import(modname: str, so_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(modname, so_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {so_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

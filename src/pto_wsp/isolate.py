"""Isolated runs (``PTO_WSP_ISOLATE=1`` or ``program.isolate = True``): the native run happens
in a forked child process, so that a crash inside a kernel (a custom C body storing through
NULL, ...) becomes a :class:`KernelError` in the caller instead of ending it.

The tensors' memory is copied into one shared anonymous mapping (arrays sharing memory keep
sharing it: overlapping byte spans are copied as one block), the child runs on views of it,
and after a successful run the written tensors are copied back into the caller's arrays. The
child's stderr is captured: the runtime's crash line names the kernel, task and loop indices.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import re
import signal
import sys
import tempfile
import time

import numpy as np

_CRASH = re.compile(r"pto-wsp: fatal signal (.*) in kernel '(.*)' \(id (\d+)\), (task .*)")


def _span(arr: np.ndarray) -> tuple[int, int]:
    """[lo, hi) bytes of ``arr``'s elements (empty for an empty array)."""
    lo = hi = arr.__array_interface__["data"][0]
    if arr.size == 0:
        return lo, lo
    for s, n in zip(arr.strides, arr.shape):
        lo, hi = lo + min(0, s * (n - 1)), hi + max(0, s * (n - 1))
    return lo, hi + arr.itemsize


class SharedArrays:
    """Copies of ``arrays`` in one shared mapping, laid out like the originals."""

    def __init__(self, arrays: list[np.ndarray]):
        spans = sorted({_span(a) for a in arrays if a.size})
        blocks: list[list[int]] = []  # merged [lo, hi)
        for lo, hi in spans:
            if blocks and lo < blocks[-1][1]:
                blocks[-1][1] = max(blocks[-1][1], hi)
            else:
                blocks.append([lo, hi])
        self.map = mmap.mmap(-1, max(1, sum(hi - lo for lo, hi in blocks)))
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.map))  # valid while map lives
        where, off = [], 0
        for lo, hi in blocks:
            ctypes.memmove(base + off, lo, hi - lo)
            where.append((lo, hi, off))
            off += hi - lo
        self.views = []
        for a in arrays:
            ptr = a.__array_interface__["data"][0]
            lo = _span(a)[0]
            o = next((o + ptr - blo for blo, bhi, o in where if blo <= lo < bhi), 0)
            self.views.append(np.ndarray(a.shape, a.dtype, buffer=self.map, offset=o,
                                         strides=a.strides) if a.size else a.copy())

    def copy_back(self, arrays: list[np.ndarray], which: list[bool]) -> None:
        for a, v, w in zip(arrays, self.views, which):
            if w:
                np.copyto(a, v)


def run_in_child(lib, ffi, inputs, stats_arrays: list[np.ndarray]):
    """Fork; the child runs ``pto_run(inputs)`` and hands back the outputs, the stats arrays
    (filled in place) and its run time. Returns ``finish``: it waits, and returns
    ``(rc, out, ms, None)``, or ``(None, None, ms, (how the child ended, its stderr))``."""
    out_size = ffi.sizeof("pto_outputs")
    result = mmap.mmap(-1, out_size + sum(a.nbytes for a in stats_arrays) + 8)
    err = tempfile.TemporaryFile()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: only native code and os._exit from here
        code = 70
        try:
            os.dup2(err.fileno(), 2)
            out = ffi.new("pto_outputs *")
            t0 = time.perf_counter()
            lib.pto_run(inputs, out)  # its error code is in `out`
            ms = (time.perf_counter() - t0) * 1e3
            blob = bytes(ffi.buffer(out)) + b"".join(a.tobytes() for a in stats_arrays)
            result[:len(blob)] = blob
            result[len(blob):len(blob) + 8] = np.float64(ms).tobytes()
            code = 0
        finally:
            os._exit(code)

    def finish():
        t0 = time.perf_counter()
        _, status = os.waitpid(pid, 0)
        ms = (time.perf_counter() - t0) * 1e3
        err.seek(0)
        text = err.read().decode(errors="replace")
        err.close()
        if text:
            sys.stderr.write(text)  # the child's stderr, forwarded
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            out = ffi.new("pto_outputs *")
            ffi.memmove(out, result[:out_size], out_size)
            pos = out_size
            for a in stats_arrays:
                a[...] = np.frombuffer(result[pos:pos + a.nbytes], a.dtype).reshape(a.shape)
                pos += a.nbytes
            ms = float(np.frombuffer(result[pos:pos + 8], np.float64)[0])
            result.close()
            return int(out.code), out, ms, None
        result.close()
        if os.WIFSIGNALED(status):
            how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            how = f"exited with status {os.WEXITSTATUS(status)}"
        return None, None, ms, (how, text)
    return finish


def crash_error(module, how: str, text: str):
    """The caller's error for a child that did not finish: a KernelError at the kernel when
    the runtime named one, else an ExecutionError."""
    from .errors import ExecutionError, KernelError
    m = _CRASH.search(text)
    hint = ("the tensors keep their values from before the run; run without isolation (or "
            "under gdb) to debug the kernel")
    if m and int(m.group(3)) < len(module.kernels):
        k = module.kernels[int(m.group(3))]
        return KernelError(f"kernel '{k.name}' crashed with {m.group(1)} in {m.group(4)} "
                           f"(the isolated run {how})", k.loc, hint=hint)
    where = "outside any kernel" if "killed" in how else \
        f"({text.strip().splitlines()[-1] if text.strip() else 'no message'})"
    return ExecutionError(f"the isolated run {how} {where}", None, hint=hint)

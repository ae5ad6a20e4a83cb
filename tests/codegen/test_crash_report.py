"""A crash inside a kernel (issue 14): the fatal-signal handler names the kernel, the task
and its loop indices, then the previous handler (or the default action) ends the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

CRASHING = textwrap.dedent('''
    import ctypes, faulthandler, sys
    import numpy as np
    from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, workload
    F32 = DType.F32

    @kernel(cpp_src="if (pto_a->y_rows > 0 && y[0] < 0) { volatile float *p = 0; *p = 1; }"
                    " y[0] = x[0];")
    def null_store(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass

    x = np.ones((3, 4, 1, 8), np.float32)
    y = np.zeros_like(x)
    y[2, 1, 0, 0] = -1  # task (i=2, j=1) dereferences NULL
    X, Y = Tensor(data=x), Tensor(data=y)

    @workload
    def w():
        for i, j in P(Dense[3], Dense[4]):
            null_store[i, j](x=X[i, j], y=Y[i, j])

    prog = w().compile(num_threads=int(sys.argv[1]))
    if sys.argv[2] == "outside":
        y[2, 1, 0, 0] = 0
        prog.run()  # fine: the handler is installed, but the crash below is not in a kernel
        ctypes.string_at(0)
    prog.run()
''')


def _crash(tmp_path, threads: int, mode: str, faulthandler: bool):
    script = tmp_path / "crash.py"
    script.write_text(CRASHING)
    env = dict(os.environ, PYTHONFAULTHANDLER="1" if faulthandler else "")
    if not faulthandler:
        env.pop("PYTHONFAULTHANDLER")
    return subprocess.run([sys.executable, str(script), str(threads), mode], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("threads", [1, 3])
def test_crash_in_a_kernel_names_kernel_task_and_indices(tmp_path, threads):
    r = _crash(tmp_path, threads, "kernel", faulthandler=False)
    assert r.returncode == -signal.SIGSEGV, r.stderr
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("pto-wsp: fatal signal")]
    assert line == ["pto-wsp: fatal signal SIGSEGV (invalid memory access) in kernel "
                    "'null_store' (id 0), task 9, indices [2, 1], address 0x0"], r.stderr


def test_crash_report_chains_to_the_previous_handler(tmp_path):
    """Python's faulthandler (installed first) still prints the Python stack after ours."""
    r = _crash(tmp_path, 2, "kernel", faulthandler=True)
    assert r.returncode == -signal.SIGSEGV
    assert "in kernel 'null_store' (id 0), task 9, indices [2, 1]" in r.stderr
    assert "Fatal Python error: Segmentation fault" in r.stderr
    assert r.stderr.index("pto-wsp: fatal signal") < r.stderr.index("Fatal Python error")


def test_crash_outside_kernels_is_left_to_the_previous_handler(tmp_path):
    r = _crash(tmp_path, 2, "outside", faulthandler=True)
    assert r.returncode == -signal.SIGSEGV
    assert "pto-wsp: fatal signal" not in r.stderr
    assert "Fatal Python error: Segmentation fault" in r.stderr


ISOLATED = textwrap.dedent('''
    import numpy as np
    from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, workload, KernelError
    F32 = DType.F32

    @kernel(cpp_src="if (x[0] < 0) { volatile float *p = 0; *p = 1; } y[0] = x[0] * 2; "
                    "cycles = 3;")
    def null_store(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass

    base = np.arange(32, dtype=np.float32).reshape(4, 1, 8)
    x = base[::-1]       # a negative-stride view: copied with its layout
    y = np.zeros((4, 1, 8), np.float32)
    X, Y = Tensor(data=x), Tensor(data=y)

    @workload
    def w():
        for i in P(Dense[4]):
            null_store[i](x=X[i], y=Y[i])

    prog = w().compile(num_threads=2)
    prog.isolate = True
    s = prog.run()
    assert (y[:, 0, 0] == 2 * x[:, 0, 0]).all() and s.task_count == 4, y
    assert s.kernels["null_store"].tasks == 4 and s.total_cycles == 3
    base[1, 0, 0] = -1   # x[2]: task 2 crashes
    y[:] = 7
    try:
        prog.run()
    except KernelError as e:
        print("CAUGHT", str(e).splitlines()[0])
        print("LOC", e.loc.line)
    assert (y == 7).all()  # nothing copied back
    base[1, 0, 0] = 8
    prog.run()           # the program is still usable
    assert y[2, 0, 0] == 16
    print("ALIVE")
''')


def test_isolated_run_turns_a_crash_into_a_kernel_error(tmp_path):
    script = tmp_path / "iso.py"
    script.write_text(ISOLATED)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert ("CAUGHT kernel 'null_store' crashed with SIGSEGV (invalid memory access) in task 2, "
            "indices [2], address 0x0 (the isolated run was killed by SIGSEGV)") in r.stdout
    assert "LOC 6" in r.stdout  # the @kernel line and "ALIVE" in r.stdout
    assert "pto-wsp: fatal signal" in r.stderr  # the child's report is forwarded too


OVERFLOW = textwrap.dedent('''
    import sys
    import numpy as np
    from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, workload
    F32 = DType.F32

    # a 1 GiB stack array: the stack pointer lands far below the thread's stack, so the
    # handler only runs on an alternate signal stack
    @kernel(cpp_src="volatile char big[1 << 30]; big[0] = 1; y[0] = x[0] + big[0];")
    def deep(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
        pass

    X, Y = (Tensor(data=np.zeros((2, 1, 8), np.float32)) for _ in range(2))

    @workload
    def w():
        for i in P(Dense[2]):
            deep[i](x=X[i], y=Y[i])

    w().compile(num_threads=int(sys.argv[1])).run()
''')


@pytest.mark.parametrize("threads", [1, 3])
def test_stack_overflow_in_a_kernel_is_reported(tmp_path, threads):
    script = tmp_path / "deep.py"
    script.write_text(OVERFLOW)
    env = dict(os.environ)
    env.pop("PYTHONFAULTHANDLER", None)
    r = subprocess.run([sys.executable, str(script), str(threads)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == -signal.SIGSEGV, r.stderr
    assert "pto-wsp: fatal signal SIGSEGV (invalid memory access) in kernel 'deep' (id 0), " \
           "task " in r.stderr

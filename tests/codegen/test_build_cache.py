"""The cffi build cache: keys, concurrency, corruption, compiler errors, CC/CFLAGS, dumps."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import CompileError, DType, Dense, In, Out, P, Tensor, Tile, kernel, workload
from pto_wsp.backends.cpu_sim import build as build_mod

F32 = DType.F32

SCRIPT = textwrap.dedent("""
    import numpy as np
    from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

    @kernel
    def double(x: In[Tile[2, 8, DType.F32]], y: Out[Tile[2, 8, DType.F32]]):
        pto.store(y, pto.mul(x, 2.0))

    X = Tensor(data=np.arange(32, dtype=np.float32).reshape(2, 2, 8))
    Y = Tensor(data=np.zeros((2, 2, 8), np.float32))
    n = Dense[2]

    @workload
    def cache_probe():
        for i in P(n):
            double[i](x=X[i], y=Y[i])

    prog = cache_probe().compile()
    prog.run()
    assert (Y.data == 2 * X.data).all()
    print("COMPILED" if prog.stats.compiled else "CACHED")
""")


def _run(script: str, cache: Path, **env) -> subprocess.Popen:
    e = dict(os.environ, PTO_WSP_CACHE_DIR=str(cache), **env)
    return subprocess.Popen([sys.executable, "-c", script], env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_four_processes_compiling_at_once_all_succeed_and_one_compiles(tmp_path):
    procs = [_run(SCRIPT, tmp_path) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    words = sorted(o[0].strip() for o in outs)
    assert words == ["CACHED", "CACHED", "CACHED", "COMPILED"]
    # a fresh process now hits the cache
    p = _run(SCRIPT, tmp_path)
    assert p.communicate(timeout=300)[0].strip() == "CACHED"


def test_corrupt_entry_is_rebuilt(tmp_path):
    p = _run(SCRIPT, tmp_path)
    assert p.communicate(timeout=300)[0].strip() == "COMPILED"
    (so,) = [f for f in tmp_path.rglob("*.so") if "stage" not in str(f)]
    so.write_bytes(b"garbage")
    p = _run(SCRIPT, tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert out.strip() == "COMPILED"


TWO_NAMES = SCRIPT.replace("cache_probe", "probe_a").replace(
    'print("COMPILED" if prog.stats.compiled else "CACHED")', textwrap.dedent("""
    first = prog.stats.compiled

    @workload
    def probe_b():
        for i in P(n):
            double[i](x=X[i], y=Y[i])

    second = probe_b().compile()
    second.run()
    print(first, second.stats.compiled)
    """))


def test_workloads_differing_only_in_name_share_one_cache_entry(tmp_path):
    p = _run(TWO_NAMES, tmp_path, PTO_WSP_VERBOSE="1")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert out.split() == ["True", "False"]  # the same C: built once
    p = _run(TWO_NAMES, tmp_path, PTO_WSP_VERBOSE="1")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert out.split() == ["False", "False"]  # a fresh process compiles nothing
    assert "rebuilding" not in err and "compiled" not in err


def _one_task_workload(body: str):
    @kernel(cpp_src=body)
    def custom(x: In[Tile[2, 8, F32]], y: Out[Tile[2, 8, F32]]):
        pass
    X = Tensor(data=np.zeros((2, 8), np.float32))
    Y = Tensor(data=np.zeros((2, 8), np.float32))
    one = Dense[1]

    @workload
    def w():
        for i in P(one):
            custom[i](x=X, y=Y)
    return w()


def test_compiler_errors_carry_output_and_kept_source():
    w = _one_task_workload("this is not C;")
    with pytest.raises(CompileError) as ei:
        w.compile()
    e = ei.value
    assert "does not compile" in str(e) and "error" in str(e)
    assert "error" in e.details and e.details.count("\n") >= e.message.count("\n")
    kept = Path(e.hint.split("kept in ")[1])
    assert (kept / "kernel_custom.c").is_file()
    assert "this is not C;" in (kept / "kernel_custom.c").read_text()


def test_generated_c_failure_is_located_without_a_dump(monkeypatch, tmp_path):
    monkeypatch.setenv("PTO_WSP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CFLAGS", "-Dpto_rt_create=(")
    w = _one_task_workload("(void)x; (void)y;")
    with pytest.raises(CompileError) as ei:
        w.compile()
    e = ei.value
    assert e.message.startswith(f"the C generated for '{w.module.name}' does not compile: ")
    assert e.loc is not None and e.loc.file == __file__
    assert "\n" not in e.message and "error" in e.details
    monkeypatch.setenv("PTO_WSP_VERBOSE", "1")
    with pytest.raises(CompileError) as ei:
        w.compile()
    assert ei.value.details in ei.value.message  # verbose: the whole output


def test_cflags_and_cc_are_honoured(monkeypatch, tmp_path):
    monkeypatch.setenv("PTO_WSP_CACHE_DIR", str(tmp_path))  # counts builds: its own cache
    w = _one_task_workload("(void)x; (void)y; cycles = PTO_TEST_CYCLES;")
    monkeypatch.setenv("CFLAGS", "-DPTO_TEST_CYCLES=1234")
    prog = w.compile()
    assert prog.run().total_cycles == 1234
    monkeypatch.setenv("CFLAGS", "-DPTO_TEST_CYCLES=99")
    prog2 = w.compile()
    assert prog2.stats.compiled  # flags are part of the key
    assert prog2.run().total_cycles == 99
    monkeypatch.setenv("CC", "no-such-compiler-pto")
    with pytest.raises(CompileError, match="cannot run the C compiler"):
        _one_task_workload("(void)x; (void)y; cycles = 3;").compile()


def test_dump_knob_and_program_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("PTO_WSP_DUMP", str(tmp_path))
    w = _one_task_workload("(void)x; (void)y; cycles = 5;")
    prog = w.compile()
    names = {"ir.pto", "lower_kernels.json", "lower_orchestration.json", "kernels.h",
             "kernels.c", "orchestrate.c"}
    assert names <= set(prog.sources)
    dumped = {p.name for p in (tmp_path / w.module.name).iterdir()}
    assert names <= dumped
    assert Path(prog.codegen_artifact_dir, "kernels.c").is_file()


def test_in_process_reload_after_clearing_memo_uses_disk_cache():
    w = _one_task_workload("(void)x; (void)y; cycles = 11;")
    w.compile()
    build_mod._loaded.clear()
    prog = w.compile()
    assert not prog.stats.compiled and prog.run().total_cycles == 11


def test_cache_dir_precedence(monkeypatch, tmp_path):
    from pto_wsp import knobs
    monkeypatch.setenv("PTO_WSP_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert knobs.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("PTO_WSP_CACHE_DIR")
    assert knobs.cache_dir() == tmp_path / "x" / "pto_wsp"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert knobs.cache_dir() == tmp_path / "h" / ".cache" / "pto_wsp"

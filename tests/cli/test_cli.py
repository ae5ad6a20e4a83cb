"""The pto-wsp command line: check, fmt, show, knobs; exit codes and diagnostics."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pto_wsp.cli import COMMANDS, main
from pto_wsp.ir.parser import parse_module

CORPUS = sorted((Path(__file__).parent.parent / "ir" / "corpus").glob("*.pto"))
BAD = "module @m\nworkload @w {\n  call @k(x = %X[#])\n}\n"


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_check_ok_and_summary(capsys):
    assert main(["check", *map(str, CORPUS)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (module @") == len(CORPUS)


def test_check_reports_located_syntax_error(tmp_path, capsys):
    bad = _write(tmp_path, "bad.pto", BAD)
    good = CORPUS[0]
    assert main(["check", str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: unexpected '#': expected an expression or ']'\n")
    assert f"--> {bad}:3:18" in captured.err
    assert "3 |   call @k(x = %X[#])\n  |                  ^" in captured.err
    assert "Traceback" not in captured.err
    assert f"{good}: ok" in captured.out  # later files are still checked


def test_check_reports_verifier_error(tmp_path, capsys):
    p = _write(tmp_path, "v.pto", "module @m\nworkload @w {\n  call @nope()\n}\n")
    assert main(["check", "-q", str(p)]) == 1
    err = capsys.readouterr().err
    assert "error: call of unknown kernel 'nope'" in err and f"{p}:3:3" in err


def test_check_missing_file_and_stdin(tmp_path, capsys, monkeypatch):
    assert main(["check", str(tmp_path / "missing.pto")]) == 1
    assert "cannot read" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(CORPUS[0].read_text()))
    assert main(["check", "-"]) == 0
    assert "<stdin>: ok" in capsys.readouterr().out


def test_fmt_prints_canonical_text_and_keeps_the_header(tmp_path, capsys):
    src = ("// header comment\n\n// second line\nmodule   @m\naxis %n : dense 2\n"
           "workload @m { parallel_for %i in %n { slot(0) = (%i) } }\n")
    p = _write(tmp_path, "a.pto", src)
    assert main(["fmt", str(p)]) == 0
    out = capsys.readouterr().out
    assert out == ("// header comment\n\n// second line\nmodule @m\n\naxis %n : dense 2\n\n"
                   "workload @m {\n  parallel_for %i in %n {\n    slot(0) = %i\n  }\n}\n")
    assert main(["fmt", "--check", str(p)]) == 1
    assert main(["fmt", "-i", str(p)]) == 0
    assert p.read_text() == out
    assert main(["fmt", "--check", str(p)]) == 0


def test_fmt_check_corpus_is_canonical():
    assert main(["fmt", "--check", *map(str, CORPUS)]) == 0


def test_fmt_in_place_refuses_to_drop_inner_comments(tmp_path, capsys):
    src = "module @m\n// inner\nworkload @m {\n}\n"
    p = _write(tmp_path, "c.pto", src)
    assert main(["fmt", "-i", str(p)]) == 1
    assert "line(s) 2 would be lost" in capsys.readouterr().err
    assert p.read_text() == src
    assert main(["fmt", "-i", "--drop-comments", str(p)]) == 0
    assert p.read_text() == "module @m\n\nworkload @m {\n}\n"
    assert main(["fmt", str(_write(tmp_path, "d.pto", src))]) == 0
    assert "dropped the comments on line(s) 2" in capsys.readouterr().err


def test_fmt_error(tmp_path, capsys):
    assert main(["fmt", str(_write(tmp_path, "bad.pto", BAD))]) == 1
    assert "bad.pto:3:18" in capsys.readouterr().err


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from pto_wsp import *

    @kernel
    def cp(x: In[Tile[4, 8, DType.F32]], y: Out[Tile[4, 8, DType.F32]]):
        pto.store(y, pto.load(x))

    X = Tensor(data=np.zeros((2, 4, 8), np.float32), shape=(2, 4, 8), dtype=DType.F32)
    Y = Tensor(data=np.zeros((2, 4, 8), np.float32), shape=(2, 4, 8), dtype=DType.F32)
    n = Dense[2]()

    @workload
    def copy():
        for i in P(n):
            cp[i](x=X[i], y=Y[i])

    @workload
    def copy_back():
        for i in P(n):
            cp[i](x=Y[i], y=X[i])

    def build():
        return copy().dispatch(DispatchPolicy.round_robin(int(sys.argv[1])))

    if __name__ == "__main__":
        W = build() if len(sys.argv) > 1 else None
""")


def test_show_prints_module_level_workloads(tmp_path, capsys):
    p = _write(tmp_path, "s.py", SCRIPT + "    B = copy_back()\n")
    assert main(["show", str(p), "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("module @") == 2 and "dispatch = round_robin(aicpus = 3)" in out
    texts = ["module @" + t for t in out.split("module @")[1:]]
    assert [parse_module(t.rstrip("\n") + "\n").name for t in texts] == ["copy", "copy_back"]
    assert main(["show", "--name", "copy_back", str(p), "3"]) == 0
    assert capsys.readouterr().out.count("module @") == 1


def test_show_falls_back_to_workloads_built_while_running(tmp_path, capsys):
    p = _write(tmp_path, "s.py", SCRIPT + "    build()\n")
    assert main(["show", str(p), "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("module @copy") == 1 and "round_robin(aicpus = 2)" in out
    assert main(["show", "--all", str(p), "2"]) == 0
    assert capsys.readouterr().out.count("module @copy") == 2  # before and after .dispatch
    assert main(["show", "-o", str(tmp_path / "out"), str(p), "2"]) == 0
    assert (tmp_path / "out" / "copy.pto").read_text().startswith("module @copy\n")


def test_show_errors(tmp_path, capsys):
    p = _write(tmp_path, "none.py", "x = 1\n")
    assert main(["show", str(p)]) == 1
    assert "built no workload" in capsys.readouterr().err
    p = _write(tmp_path, "boom.py", "def f():\n    raise ValueError('boom')\nf()\n")
    assert main(["show", str(p)]) == 1
    err = capsys.readouterr().err
    assert "raised ValueError: boom" in err and "boom.py\", line 2" in err
    assert "runpy" not in err and "cli.py" not in err
    p = _write(tmp_path, "pto.py", "from pto_wsp import *\n\n@kernel\ndef k(x):\n    pass\n")
    assert main(["show", str(p)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: kernel parameter 'x' needs an annotation")
    assert "Traceback" not in err
    p = _write(tmp_path, "exit.py", "raise SystemExit(3)\n")
    assert main(["show", str(p)]) == 3
    assert main(["show", str(tmp_path / "missing.py")]) == 1
    assert main(["show", str(CORPUS[0])]) == 0  # a .pto file is shown canonically


def test_knobs_usage_and_version(capsys):
    assert main(["knobs"]) == 0
    assert "PTO_WSP_CACHE_DIR" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["--version"]) == 0
    assert "pto-wsp" in capsys.readouterr().out
    assert set(COMMANDS) >= {"check", "fmt", "show", "knobs"}


def test_module_and_console_script_share_main(tmp_path):
    bad = _write(tmp_path, "bad.pto", BAD)
    r = subprocess.run([sys.executable, "-m", "pto_wsp", "check", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "bad.pto:3:18" in r.stderr and "Traceback" not in r.stderr
    exe = shutil.which("pto-wsp")
    if exe is None:
        pytest.skip("pto-wsp console script not on PATH")
    r = subprocess.run([exe, "fmt", str(CORPUS[0])], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == CORPUS[0].read_text()


def test_debug_knob_shows_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PTO_WSP_DEBUG", "1")
    assert main(["check", str(_write(tmp_path, "bad.pto", BAD))]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_show_stops_at_compile_unless_run(tmp_path, capsys):
    script = SCRIPT + ("    w = build()\n    print('compiling')\n    w.compile(target='nowhere')\n"
                       "    print('after compile')\n")
    p = _write(tmp_path, "c.py", script)
    assert main(["show", str(p), "5"]) == 0
    out = capsys.readouterr().out
    assert "compiling" in out and "after compile" not in out
    assert out.count("module @copy") == 1 and "round_robin(aicpus = 5)" in out
    assert main(["show", "--run", str(p), "5"]) == 1  # the script's own compile error
    assert "nowhere" in capsys.readouterr().err

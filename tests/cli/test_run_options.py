"""`pto-wsp run`: --trace turns tracing on, '-' reads stdin, and errors never point at the
launcher (their location is the .pto file's, or none)."""

import io
import json
import subprocess
import sys
from pathlib import Path

from pto_wsp.cli import main

RMSNORM = Path(__file__).resolve().parents[1] / "ir" / "corpus" / "rmsnorm.pto"


def test_run_trace_turns_tracing_on(tmp_path, capsys):
    assert "trace" not in RMSNORM.read_text()  # the schedule has no trace policy
    out = tmp_path / "t.json"
    assert main(["run", str(RMSNORM), "--threads", "1", "--trace", str(out)]) == 0
    assert "tasks=2" in capsys.readouterr().out
    tasks = [e for e in json.loads(out.read_text())["traceEvents"] if e.get("cat") == "task"]
    assert len(tasks) == 2 and all(e["dur"] > 0 for e in tasks)


def test_run_and_compile_read_stdin(monkeypatch, capsys):
    for cmd in ("run", "compile"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(RMSNORM.read_text()))
        assert main([cmd, "-", "--threads", "1"]) == 0
        out = capsys.readouterr().out
        assert ("tasks=2" in out) if cmd == "run" else ("<stdin> ->" in out)
    monkeypatch.setattr(sys, "stdin", io.StringIO(RMSNORM.read_text()))
    assert main(["run", "-", "--symbol", "q=1"]) == 1
    assert "<stdin> has no symbol 'q'" in capsys.readouterr().err


def test_cli_errors_do_not_point_at_the_launcher(capsys):
    assert main(["run", str(RMSNORM), "--axis", "batch=3"]) == 1
    err = capsys.readouterr().err
    assert "'batch' is not a DenseDyn axis" in err and "-->" not in err
    r = subprocess.run([sys.executable, "-m", "pto_wsp", "run", str(RMSNORM), "--axis",
                        "batch=3"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "'batch' is not a DenseDyn axis" in r.stderr
    assert "-->" not in r.stderr and "runpy" not in r.stderr

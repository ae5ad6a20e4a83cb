"""`program.report(path)` / `pto-wsp report` (issue 15): one self-contained HTML file with the
simulated timeline per lane, utilisation per lane and per kernel and the top kernels; loaded
in headless Chromium (when installed) to check it renders the run's numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import Dense, ExecutionError, P, Tensor, TracePolicy, workload
from pto_wsp.cli import main

from _shared_kernels import five, ten


def _program(trace: bool):
    X, Y, Z = (Tensor(data=np.zeros((4, 1, 8), np.float32)) for _ in range(3))

    @workload
    def chains():
        for i in P(Dense[4]):
            ten[i](x=X[i], y=Y[i])
            five[i](x=Y[i], y=Z[i])
    w = chains()
    if trace:
        w = w.task_graph(trace=TracePolicy.cycles())
    return w.compile(num_threads=2)


def _self_contained(text: str) -> None:
    for bad in ("<script", "<link", "src=", "url(", "@import"):
        assert bad not in text
    assert re.findall(r"https?://[^\"' ]+", text) == ["http://www.w3.org/2000/svg"]  # a name


def test_report_has_timeline_utilisation_and_kernels(tmp_path):
    prog = _program(trace=True)
    with pytest.raises(ExecutionError, match="no run to report yet"):
        prog.report(str(tmp_path / "r.html"))
    prog.run()
    out = tmp_path / "r.html"
    prog.report(str(out))
    text = out.read_text()
    _self_contained(text)
    assert "<tr><th>simulated cycles</th><td>25</td></tr>" in text
    assert "15 cycles (60% of total)" in text
    # timeline: 8 task boxes on the 4 vector lanes, with kernel, loop index and cycles
    boxes = re.findall(r"<title>(\w+)\[(\d)\] task (\d): cycles (\d+)\.\.(\d+)</title>", text)
    assert sorted(boxes)[:2] == [("five", "0", "1", "10", "15"), ("five", "1", "3", "10", "15")]
    assert len(boxes) == 8
    # kernels by cycles, with share and utilisation of all 8 lanes x 25 cycles
    rows = re.findall(r'</span>(\w+)</td><td class="n">(\d+)</td><td class="n">(\d+)</td>'
                      r'<td class="n">([\d.]+%)</td><td class="n">([\d.]+%)</td>', text)
    assert rows == [("ten", "4", "40", "66.7%", "20.0%"), ("five", "4", "20", "33.3%", "10.0%")]
    lanes = re.findall(r"<tr><td>(aicpu [^<]+)</td><td class=\"n\">(\d+)</td>"
                       r"<td class=\"n\">(\d+)</td><td class=\"n\">([\d.]+%)</td>", text)
    assert lanes[0] == ("aicpu 0 vector 0", "2", "20", "80.0%") and len(lanes) == 8


def test_report_without_trace_says_how_to_get_the_timeline(tmp_path):
    prog = _program(trace=False)
    prog.run()
    prog.report(str(tmp_path / "r.html"))
    text = (tmp_path / "r.html").read_text()
    assert "No trace: compile with" in text and "<svg" not in text
    assert '</span>ten</td><td class="n">4</td>' in text


def test_cli_report(tmp_path, capsys):
    corpus = Path(__file__).resolve().parents[1] / "ir" / "corpus" / "rmsnorm.pto"
    out = tmp_path / "rep.html"
    assert main(["report", str(corpus), "--threads", "1", "-o", str(out)]) == 0
    assert f"-> {out}" in capsys.readouterr().out
    text = out.read_text()
    _self_contained(text)
    assert "<svg" in text and "<title>" in text  # traced automatically


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="headless Chromium not installed (Debian: apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    prog = _program(trace=True)
    prog.run()
    page = tmp_path / "report.html"
    prog.report(str(page))
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    # the browser's DOM holds the run's numbers where the page puts them
    assert re.search(r"<th>simulated cycles</th><td>25</td>", dom)
    assert re.search(r"<th>critical path</th><td>15 cycles \(60% of total\)</td>", dom)
    assert dom.count("<rect") == 8 + 8  # a background per lane and one box per task
    shot = tmp_path / "report.png"  # kept as the test's artifact
    subprocess.run(base + [f"--screenshot={shot}", "--window-size=1300,900", page.as_uri()],
                   capture_output=True, timeout=120)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

"""Long or traced runs show a progress bar (tqdm, on stderr) while synchronize() waits:
kernel tasks retired / submitted, read from counters the runtime keeps current."""

from __future__ import annotations

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, TracePolicy, kernel, workload
from pto_wsp import progress

F32 = DType.F32


@kernel(cpp_src="y[0] = x[0] + 1; cycles = 1;")
def inc(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
    pass


def _program(trace: bool):
    X, Y = (Tensor(data=np.zeros((64, 1, 8), np.float32)) for _ in range(2))

    @workload
    def many():
        for i in P(Dense[64]):
            inc[i](x=X[i], y=Y[i])
    w = many()
    if trace:
        w = w.task_graph(trace=TracePolicy.cycles())
    return w.compile(num_threads=2)


def test_traced_run_shows_tasks_done_of_submitted(monkeypatch, capsys):
    monkeypatch.setenv("PTO_WSP_PROGRESS", "1")
    prog = _program(trace=True)
    prog.run()
    err = capsys.readouterr().err
    assert "pto_wsp: running many" in err and "64/64" in err
    assert tuple(int(x) for x in prog._progress) == (64, 64)
    monkeypatch.setenv("PTO_WSP_PROGRESS", "0")
    prog.run()
    assert capsys.readouterr().err == ""


def test_short_untraced_run_shows_nothing(monkeypatch, capsys):
    monkeypatch.setenv("PTO_WSP_PROGRESS", "1")
    _program(trace=False).run()
    assert capsys.readouterr().err == ""


def test_bar_follows_the_counters(monkeypatch):
    """While the run goes on, the bar shows the runtime's counters (a stand-in run)."""
    import threading
    import time
    monkeypatch.setenv("PTO_WSP_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_S", 0.05)
    counters = np.zeros(2, np.uint64)
    seen = []

    class Bar:
        def __init__(self, **kw):
            self.total, self.n = None, 0

        def __enter__(self):
            return self

        def __exit__(self, *a):
            pass

        def refresh(self):
            seen.append((self.n, self.total))

    def run():
        for k in range(1, 4):
            counters[:] = (10 * k, 5 * k)
            time.sleep(0.15)
    import tqdm
    monkeypatch.setattr(tqdm, "tqdm", Bar)
    t = threading.Thread(target=run)
    t.start()
    progress.wait_with_progress(t, counters, "w", traced=False)
    assert seen[-1] == (15, 30) and (10, 20) in seen
    assert all(n <= total for n, total in seen)

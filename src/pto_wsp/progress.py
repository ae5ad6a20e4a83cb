"""A progress bar (tqdm) while ``synchronize()`` waits for a long or traced run: kernel tasks
retired / submitted, read from two counters the runtime keeps current (``pto_rt_config.
progress``). Shown on a terminal, after a second (at once for a traced run); knob
``PTO_WSP_PROGRESS``."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from . import knobs

DELAY_S = 1.0    # runs shorter than this show nothing
POLL_S = 0.1


def _wanted() -> bool:
    v = knobs.PROGRESS.get().strip().lower()
    if v in ("0", "false", "no", "off"):
        return False
    return bool(v) or sys.stderr.isatty()


def wait_with_progress(thread: threading.Thread, counters: np.ndarray, name: str,
                       traced: bool) -> None:
    """Join ``thread``; meanwhile show ``counters`` ([submitted, retired]) as a bar."""
    if not _wanted():
        thread.join()
        return
    if not traced:  # a traced run always shows its bar (at least the final count)
        thread.join(DELAY_S)
        if not thread.is_alive():
            return
    from tqdm import tqdm
    with tqdm(desc=f"pto_wsp: running {name}", unit=" tasks", file=sys.stderr,
              dynamic_ncols=True, leave=False) as bar:
        while True:
            submitted, done = (int(x) for x in counters)
            bar.total = max(submitted, done)
            bar.n = done
            bar.refresh()
            if not thread.is_alive():
                break
            thread.join(POLL_S)

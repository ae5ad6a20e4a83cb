"""Resident memory stays flat with a task window (fixed-size descriptors are recycled)."""

import pytest

from conftest import C


@pytest.mark.slow
@pytest.mark.parametrize("deps", ["EXACT", "OVERLAP"])
def test_rss_flat_with_window(make_rt, deps):
    rt = make_rt(num_threads=2, deps=C[deps], window_size=1024)
    buf = rt.ffi.new("double[]", 4096 * 16)
    rss = rt.ffi.new("long[2]")
    n = 3_000_000
    assert rt.lib.drive_tiles(rt.rt, n, buf, 4096, rss) == 0
    s = rt.stats()
    assert s.task_count == n and s.executed == n and s.max_in_flight <= 1024
    growth_kb = rss[1] - rss[0]
    assert growth_kb < 8 * 1024, f"RSS grew by {growth_kb} kB between {n // 4} and {n} tasks"


def test_descriptors_are_recycled(make_rt):
    rt = make_rt(num_threads=1, window_size=64)
    buf = rt.ffi.new("double[]", 64 * 16)
    assert rt.lib.drive_tiles(rt.rt, 200_000, buf, 64, rt.ffi.NULL) == 0
    s = rt.stats()
    assert s.executed == 200_000 and s.max_in_flight <= 64

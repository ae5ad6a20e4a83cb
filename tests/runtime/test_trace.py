"""Chrome-trace JSON (Perfetto) and DOT export."""

import json

from conftest import C


def build(make_rt, trace):
    rt = make_rt(num_threads=2, num_aicpus=2, trace=trace)
    buf = rt.ffi.new("double[]", 256)
    a = int(rt.ffi.cast("uintptr_t", buf))
    rt.rec(0, cycles=100, regions=[rt.tile(a, C["WRITE"])], name='load "q"')
    rt.rec(1, cycles=50, regions=[rt.tile(a, C["READ"]), rt.tile(a + 128, C["WRITE"])], name="mm",
           indices=(7, -2))
    rt.rec(2, cycles=20, regions=[rt.tile(a + 128, C["READ"])], name="store")
    rt.rec(3, cycles=5, name="other")
    assert rt.finish() == 0
    return rt


def test_chrome_trace_cycles_and_wall(make_rt, tmp_path):
    rt = build(make_rt, C["TRACE_CYCLES"] | C["TRACE_WALL"])
    p = tmp_path / "t.json"
    assert rt.lib.pto_rt_write_trace(rt.rt, str(p).encode()) == 0
    doc = json.loads(p.read_text())
    ev = doc["traceEvents"]
    names = {(e["pid"], e.get("tid")): e["args"]["name"] for e in ev if e["name"] == "thread_name"}
    assert names[(1, 0)] == "aicpu 0 vector lane 0" and names[(1, 3)] == "aicpu 1 cube lane 0"
    assert names[(2, 0)].startswith("worker 0 = orchestrator")
    sim = [e for e in ev if e["ph"] == "X" and e["pid"] == 1]
    host = [e for e in ev if e["ph"] == "X" and e["pid"] == 2]
    assert len(sim) == 4 and len(host) == 4
    by_task = {e["args"]["task"]: e for e in sim}
    assert (by_task[1]["ts"], by_task[1]["dur"], by_task[1]["tid"]) == (100, 50, 2)
    assert by_task[0]["name"] == 'load "q"'
    assert by_task[1]["args"]["kernel"] == "mm" and by_task[1]["args"]["index"] == [7, -2]
    assert by_task[0]["args"]["index"] == []
    assert {e["args"]["index"] == [7, -2] for e in host if e["args"]["task"] == 1} == {True}
    flows = [e for e in ev if e["ph"] in ("s", "f")]
    assert len(flows) == 4  # two dependency edges
    assert {e["id"] for e in flows if e["ph"] == "s"} == {e["id"] for e in flows if e["ph"] == "f"}


def test_dot_dump(make_rt, tmp_path):
    rt = build(make_rt, C["TRACE_CYCLES"])
    p = tmp_path / "g.dot"
    assert rt.lib.pto_rt_write_dot(rt.rt, str(p).encode(), 100) == 0
    text = p.read_text()
    assert text.startswith("digraph")
    assert 't0 -> t1 [label="RAW"];' in text and 't1 -> t2 [label="RAW"];' in text
    assert "t3 [label=" in text
    assert rt.lib.pto_rt_write_dot(rt.rt, str(p).encode(), 2) == C["EINVAL"]


def test_trace_off_is_an_error_to_export(make_rt, tmp_path):
    rt = make_rt(num_threads=1)
    rt.rec(0)
    assert rt.finish() == 0
    assert rt.lib.pto_rt_write_trace(rt.rt, str(tmp_path / "x.json").encode()) == C["ESTATE"]
    assert rt.lib.pto_rt_trace_count(rt.rt) == 0


def test_trace_unwritable_path(make_rt, tmp_path):
    rt = build(make_rt, C["TRACE_CYCLES"])
    assert rt.lib.pto_rt_write_trace(rt.rt, str(tmp_path / "nodir" / "x.json").encode()) == C["EIO"]


def test_wall_only_trace_has_host_tracks(make_rt, tmp_path):
    rt = build(make_rt, C["TRACE_WALL"])
    p = tmp_path / "w.json"
    assert rt.lib.pto_rt_write_trace(rt.rt, str(p).encode()) == 0
    ev = json.loads(p.read_text())["traceEvents"]
    assert all(e["pid"] == 2 for e in ev if e["ph"] == "X")
    assert all(e["dur"] >= 0 for e in ev if e["ph"] == "X")


def test_dot_edges_are_merged_and_labelled(make_rt, tmp_path):
    """One edge per task pair with the union of its kinds; WAR/WAW/stream/structure named;
    SEQ structure passes through join points."""
    rt = make_rt(num_threads=1, num_aicpus=2, trace=C["TRACE_CYCLES"], num_streams=1)
    buf = rt.ffi.new("double[]", 256)
    a = int(rt.ffi.cast("uintptr_t", buf))
    rt.rec(0, regions=[rt.tile(a, C["WRITE"]), rt.tile(a + 128, C["WRITE"])])  # t0
    rt.rec(1, regions=[rt.tile(a, C["READ"]), rt.tile(a + 128, C["READ"])])    # t1: RAW x2
    rt.rec(2, regions=[rt.tile(a, C["WRITE"])])                                # t2: WAR+WAW
    rt.begin(C["SEQ"])
    rt.rec(3)                                                                  # t3
    rt.next()
    rt.rec(4)                                                                  # t4
    rt.end()
    assert rt.finish() == 0
    p = tmp_path / "g.dot"
    assert rt.lib.pto_rt_write_dot(rt.rt, str(p).encode(), 100) == 0
    lines = [ln.strip() for ln in p.read_text().splitlines() if "->" in ln]
    assert 't0 -> t1 [label="RAW,stream"];' in lines
    assert 't1 -> t2 [label="WAR,stream"];' in lines
    assert 't0 -> t2 [label="WAW"];' in lines
    pairs = [ln.split(" [")[0] for ln in lines]
    assert len(pairs) == len(set(pairs))  # de-duplicated
    assert 't3 -> j0 [label="structure", style=dotted];' in lines
    assert 'j0 -> t4 [label="structure", style=dotted];' in lines
    assert "j0 [shape=point];" in p.read_text()

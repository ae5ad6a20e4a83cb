"""The task-generation plan (backends/ascend/plan.py) and its interpreter (runtime_c/pto_plan.c)
against the generated orchestration: the same submitted stream (kernel ids, argument bytes,
regions, scopes, keys, indices; per AICPU too), bit-equal outputs, equal simulated cycles;
dynamic inputs through the same plan; malformed plans rejected with a clear code."""

from __future__ import annotations

import importlib.util
import random
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import DispatchPolicy, TracePolicy
from pto_wsp.backends.ascend import plan as planmod
from pto_wsp.errors import CompileError
from pto_wsp.resources import runtime_dir

ROOT = Path(__file__).resolve().parents[2]
REGION = 56  # sizeof(pto_rt_region)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DIFF = _load(ROOT / "tests/codegen/test_differential.py", "pto_wsp_test_plan_differential")


def records(data: bytes) -> list[tuple[str, bytes, int | None]]:
    """The records of runtime_c/pto_record.h: (kind, bytes, aicpu of a task)."""
    out, i = [], 0
    while i < len(data):
        kind, j = chr(data[i]), i + 1
        aicpu = None
        if kind == "T":
            aicpu = struct.unpack_from("<I", data, j + 4)[0]
            j += 16 + 16 + 4 + 4
            for unit in (1, REGION, 8, 1):  # args, regions, indices, name
                n = struct.unpack_from("<I", data, j)[0]
                j += 4 + n * unit
        elif kind == "B":
            j += 4
        elif kind == "W":
            j += REGION
        else:
            assert kind in "NE", kind
        out.append((kind, data[i:j], aicpu))
        i = j
    return out


def compile_with(monkeypatch, w, orchestration: str, **kw):
    monkeypatch.setenv("PTO_WSP_ORCHESTRATION", orchestration)
    try:
        return w.compile(**kw)
    finally:
        monkeypatch.delenv("PTO_WSP_ORCHESTRATION")


def run_both(monkeypatch, tmp_path, w, arrays: list[np.ndarray], setup=lambda p: None, **kw):
    """Run ``w`` through the generated C and through the plan on the same arrays (restored
    in between); assert equal streams, outputs and cycles. Returns the plan program."""
    init = [a.copy() for a in arrays]
    got = {}
    for orch in ("c", "plan"):
        for a, i in zip(arrays, init):
            a[...] = i
        prog = compile_with(monkeypatch, w, orch, **kw)
        setup(prog)
        prog._record_path = tmp_path / f"{orch}.rec"
        stats = prog.run()
        got[orch] = (prog, stats, [a.copy() for a in arrays], prog._record_path.read_bytes())
    (_, sc, oc, rc), (prog, sp, op, rp) = got["c"], got["plan"]
    assert records(rp) == records(rc)
    assert any(k == "T" for k, _, _ in records(rc))
    for a, b in zip(oc, op):
        assert a.tobytes() == b.tobytes()
    assert (sp.task_count, sp.total_cycles, sp.critical_path) == \
        (sc.task_count, sc.total_cycles, sc.critical_path)
    return prog, records(rp)


def per_aicpu_streams_match(prog, full, tmp_path, num_aicpus: int) -> None:
    """Each AICPU's own expansion is the subsequence of the full stream placed on it."""
    inputs, keep = prog._inputs(prog._bound_arrays(None), None)
    out = prog._ffi.new("pto_outputs *")
    for a in range(num_aicpus):
        path = tmp_path / f"aicpu{a}.rec"
        assert prog._lib.pto_plan_record_main(inputs, a, str(path).encode(), out) == 0
        mine = [r for r in records(path.read_bytes()) if r[0] == "T"]
        assert mine == [r for r in full if r[0] == "T" and r[2] == a]


def _example_workloads():
    return list(_load(ROOT / "tests/examples/test_examples.py",
                      "pto_wsp_test_plan_examples")._example_workloads())


@pytest.mark.parametrize("index", range(5), ids=["rmsnorm", "softmax", "tiled_matmul",
                                                  "attention_tile", "moe_routing"])
def test_examples_expand_to_the_generated_stream(monkeypatch, tmp_path, index):
    name, w = _example_workloads()[index]
    arrays = [t.data for t in w.tensors.values()]
    prog, full = run_both(monkeypatch, tmp_path, w, arrays, num_threads=2)
    assert name
    per_aicpu_streams_match(prog, full, tmp_path, len({r[2] for r in full if r[0] == "T"}))


@pytest.mark.parametrize("seed", range(12))
def test_differential_workloads_expand_to_the_generated_stream(monkeypatch, tmp_path, seed):
    w, A, B, axes, cut = DIFF.gen_workload(seed)
    ref_b = B.data.copy()
    DIFF.Ref(w.module, {"A": A.data, "B": ref_b}, axes, {"cut": cut}).run(
        w.module.workload.body, {})
    w = w.dispatch(DispatchPolicy.round_robin(3))
    setup = (lambda p: p.set_symbol_u64("cut", cut)) if w.module.symbols else (lambda p: None)
    prog, full = run_both(monkeypatch, tmp_path, w, [B.data], setup, num_threads=2)
    np.testing.assert_array_equal(B.data, ref_b)
    if not any(isinstance(s, planmod.ir.SlotLoad) for s in planmod.ir.walk_stmts(
            w.module.workload.body)):
        per_aicpu_streams_match(prog, full, tmp_path, 3)


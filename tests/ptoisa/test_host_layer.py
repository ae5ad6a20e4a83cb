"""The host PTO-ISA layer (runtime_c/pto/): hand-written PTO-ISA C++ kernels built with g++
against it run bit-equal (values and cycles) to the same kernels traced with pto.* and run by
cpu_sim, and every rule it checks catches a deliberately broken kernel with its message."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, TracePolicy, kernel, pto, workload
from pto_wsp.resources import runtime_dir

HERE = Path(__file__).parent
CXX = ["g++", "-std=c++20", f"-I{runtime_dir()}"]
F32, F16 = DType.F32, DType.F16

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")


@pytest.fixture(scope="module")
def host_bin(tmp_path_factory):
    exe = tmp_path_factory.mktemp("ptoisa") / "host_kernels"
    subprocess.run(CXX + ["-O1", "-Wall", "-Wextra", "-Werror", str(HERE / "host_kernels.cpp"),
                          "-o", str(exe)], check=True)
    return exe


def run(exe, case, tmp_path, **inputs):
    """Run one kernel of host_kernels.cpp; returns (cycles, {param: output bytes})."""
    for name, arr in inputs.items():
        np.ascontiguousarray(arr).tofile(tmp_path / f"{name}.bin")
    out = subprocess.run([exe, case, tmp_path], capture_output=True, text=True)
    if out.returncode:
        return None, out.stdout
    outs = {p.name.split(".")[0]: p.read_bytes() for p in tmp_path.glob("*.out.bin")}
    return int(out.stdout.split()[1]), outs


# ---- the same kernels traced with pto.* (instruction for instruction) -------------------------
@kernel
def vec_k(x: In[Tile[16, 64, F32]], y: In[Tile[16, 64, F32]], z: Out[Tile[16, 64, F32]],
          s: Out[Tile[16, 1, F32]]):
    e = pto.exp(pto.add(x, y))
    pto.store(z, e)
    pto.store(s, pto.rowsum(e))


@kernel
def mm_k(a: In[Tile[16, 32, F16]], b: In[Tile[32, 16, F16]], c: Out[Tile[16, 16, F32]]):
    pto.store(c, pto.matmul(a, b))


@kernel
def rms(x: In[Tile[16, 128, F32]], out: Out[Tile[16, 128, F32]]):
    pto.store(out, pto.rowmul(x, pto.rsqrt(pto.rowmean(pto.mul(x, x)))))


@kernel
def sel_k(x: In[Tile[8, 64, F16]], y: Out[Tile[8, 64, F32]]):
    pto.store(y, pto.cast(pto.select(x > 0.5, x, pto.neg(x)), F32))


@kernel
def scale2(x: In[Tile[8, 64, F32]], y: Out[Tile[8, 64, F32]]):
    pto.store(y, pto.mul(x, 2.0))


@pytest.fixture(scope="module")
def cpu_sim_runs():
    """Every kernel once (scale2 four times, like stream_k) in one cpu_sim program:
    {kernel: (outputs, [cycles per task])}."""
    rng = np.random.default_rng(7)
    d = {
        "vec_k": dict(x=rng.standard_normal((16, 64), np.float32),
                      y=rng.standard_normal((16, 64), np.float32),
                      z=np.zeros((16, 64), np.float32), s=np.zeros((16, 1), np.float32)),
        "mm_k": dict(a=rng.standard_normal((16, 32)).astype(np.float16),
                     b=rng.standard_normal((32, 16)).astype(np.float16),
                     c=np.zeros((16, 16), np.float32)),
        "rms": dict(x=rng.standard_normal((16, 128), np.float32),
                    out=np.zeros((16, 128), np.float32)),
        "sel_k": dict(x=rng.uniform(-2, 2, (8, 64)).astype(np.float16),
                      y=np.zeros((8, 64), np.float32)),
        "stream_k": dict(x=rng.standard_normal((4, 8, 64), np.float32),
                         y=np.zeros((4, 8, 64), np.float32)),
    }
    d["sel_k"]["x"][0, :4] = 0.5  # ties of the comparison
    T = {k: {n: Tensor(data=a if k == "stream_k" else a.reshape((1,) + a.shape))
             for n, a in v.items()} for k, v in d.items()}

    @workload
    def all_kernels():
        for t in P(Dense[1]):
            vec_k[t](**{n: v[t] for n, v in T["vec_k"].items()})
            mm_k[t](**{n: v[t] for n, v in T["mm_k"].items()})
            rms[t](**{n: v[t] for n, v in T["rms"].items()})
            sel_k[t](**{n: v[t] for n, v in T["sel_k"].items()})
        for i in P(Dense[4]):
            scale2[i](x=T["stream_k"]["x"][i], y=T["stream_k"]["y"][i])

    prog = all_kernels().task_graph(trace=TracePolicy.cycles()).compile()
    prog.execute()
    prog.synchronize()
    cycles: dict[str, list[int]] = {}
    for e in prog.trace()["traceEvents"]:
        if e.get("ph") == "X":
            name = "stream_k" if e["name"] == "scale2" else e["name"]
            cycles.setdefault(name, []).append(e["dur"])
    return {k: (d[k], cycles[k]) for k in d}


INPUTS = {"vec_k": ("x", "y"), "mm_k": ("a", "b"), "rms": ("x",), "sel_k": ("x",),
          "stream_k": ("x",)}
# host_kernels.cpp reads its inputs as x, y and writes its outputs as z, s or y
FILES = {"vec_k": {"x": "x", "y": "y", "z": "z", "s": "s"}, "mm_k": {"a": "x", "b": "y", "c": "z"},
         "rms": {"x": "x", "out": "y"}, "sel_k": {"x": "x", "y": "y"},
         "stream_k": {"x": "x", "y": "y"}}


@pytest.mark.parametrize("case", list(INPUTS))
def test_bit_equal_to_cpu_sim(host_bin, cpu_sim_runs, tmp_path, case):
    arrays, sim_cycles = cpu_sim_runs[case]
    files = FILES[case]
    cycles, outs = run(host_bin, case, tmp_path, **{files[n]: arrays[n] for n in INPUTS[case]})
    assert cycles is not None, outs
    assert cycles == sum(sim_cycles)
    for name, want in arrays.items():
        if name in INPUTS[case]:
            continue
        got = np.frombuffer(outs[files[name]][:want.nbytes], want.dtype).reshape(want.shape)
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), name


def test_values_match_numpy(cpu_sim_runs):
    """The reference side itself is right (so bit-equality means correct, not equally wrong)."""
    v = cpu_sim_runs["vec_k"][0]
    e = np.exp(v["x"].astype(np.float64) + v["y"])
    np.testing.assert_allclose(v["z"], e, rtol=1e-6)
    np.testing.assert_allclose(v["s"][:, 0], e.sum(1), rtol=1e-5)
    m = cpu_sim_runs["mm_k"][0]
    np.testing.assert_allclose(m["c"], m["a"].astype(np.float32) @ m["b"].astype(np.float32),
                               rtol=1e-5, atol=1e-5)
    s = cpu_sim_runs["sel_k"][0]
    x = s["x"].astype(np.float32)
    assert np.array_equal(s["y"], np.where(x > 0.5, x, -x))


def test_valid_regions_and_5d_views(host_bin, tmp_path):
    x = np.arange(4096, dtype=np.float32)
    y = np.full(4096, -1.0, np.float32)
    cycles, outs = run(host_bin, "views_k", tmp_path, x=x, y=y)
    assert cycles is not None, outs
    got = np.frombuffer(outs["y"], np.float32)[:4096]
    want = y.copy()
    want[:5 * 64].reshape(5, 64)[:, :40] = x[:5 * 64].reshape(5, 64)[:, :40]
    want[2048:3072] = np.concatenate([x[:512], x[1024:1536]])
    assert np.array_equal(got, want)
    assert cycles == 5 * 40 * 2 + 16 * 64 * 2  # v9: elements moved by each TLOAD and TSTORE


# ---- rules: each broken kernel in host_kernels.cpp is caught with the rule's message --------
BROKEN = {
    "no_flag": ["kernel 'no_flag'", "TADD at", "[sync]", "TLOAD (PIPE_MTE2)",
                "set_flag/wait_flag(PIPE_MTE2, PIPE_V)"],
    "no_back_edge": ["TLOAD at", "[sync]", "overwrites", "TMULS (PIPE_V)",
                     "set_flag/wait_flag(PIPE_V, PIPE_MTE2)"],
    "overlap": ["TADD at", "[TASSIGN overlap]", "UB[0x0, 0x1000)", "TEXPANDS (PIPE_V)",
                "UB[0x800, 0x1800)", "while it was live"],
    "ub_budget": ["TASSIGN at", "[buffer budget]", "65536-byte tile at UB 0x20000",
                  "188416 bytes", "last 8 KB"],
    "l0a_budget": ["TASSIGN at", "[buffer budget]", "L0A 0x100", "65536 bytes"],
    "unaligned": ["TASSIGN at", "[alignment]", "not 32-byte aligned"],
    "hang": ["wait_flag at", "EVENT_ID3", "would hang"],
    "uninit": ["TADD at", "[uninitialised read]"],
    "shape": ["TLOAD at", "[shape]", "GlobalTensor shape 16x32", "valid region 16x64"],
    "partial_add": ["TADD at", "[valid region]", "all columns valid"],
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_kernel_is_caught(host_bin, tmp_path, case):
    cycles, msg = run(host_bin, case, tmp_path)
    assert cycles is None
    assert msg.startswith(f"CheckError: PTO-ISA check failed in kernel '{case}'")
    assert "host_kernels.cpp:" in msg
    for part in BROKEN[case]:
        assert part in msg, (part, msg)


# compile-time rules (static_assert, as in the real library): (kernel body whose last line
# breaks the rule, message part)
STATIC = {
    "vec_to_matmul": ("Tile<TileType::Vec, float, 16, 16> a, b, c;\n"
                      "TASSIGN(a, 0); TASSIGN(b, 0x400); TASSIGN(c, 0x800);\n"
                      "TMATMUL(c, a, b);", "tile role: TMATMUL takes (Acc, Left, Right)"),
    "rowmajor_column": ("Tile<TileType::Vec, float, 16, 1> r;", "32-byte row rule"),
    "scalar_on_colmajor": ("Tile<TileType::Vec, float, 16, 1, BLayout::ColMajor> r;\n"
                           "TASSIGN(r, 0); TADDS(r, r, 1.0f);", "need RowMajor tiles"),
    "acc_to_vec": ("TileAcc<float, 16, 16> a; Tile<TileType::Vec, float, 16, 16> v;\n"
                   "TASSIGN(a, 0); TASSIGN(v, 0); TMOV(v, a);", "separate cores"),
}


@pytest.mark.parametrize("case", list(STATIC))
def test_static_rule(tmp_path, case):
    body, part = STATIC[case]
    src = tmp_path / "k.cpp"
    src.write_text("#include <pto/pto-inst.hpp>\nusing namespace pto;\n"
                   f"extern \"C\" __global__ AICORE void {case}_kernel()\n{{\n{body}\n}}\n")
    out = subprocess.run(CXX + ["-fsyntax-only", str(src)], capture_output=True, text=True)
    assert out.returncode != 0
    assert part in out.stderr, out.stderr
    last = 5 + body.count("\n")  # the diagnostic points at the kernel's offending line
    assert f"k.cpp:{last}:" in out.stderr, out.stderr

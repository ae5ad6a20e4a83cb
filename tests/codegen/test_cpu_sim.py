"""End-to-end cpu_sim: generated kernels + orchestration against numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from pto_wsp import (DType, Dense, DenseDyn, Deps, DispatchPolicy, ExecutionError, In, InOut,
                     KernelError, Out, P, Ragged, Scalar, Sparse, Tensor, Tile, TypeCheckError,
                     kernel, pto, slot_load_u64, slot_u64, symbol_u64, workload)

F32 = DType.F32


@kernel
def rmsnorm_tile(x: In[Tile[16, 128, F32]], out: Out[Tile[16, 128, F32]]):
    inv = pto.rsqrt(pto.rowmean(pto.mul(x, x)))
    pto.store(out, pto.mul(x, inv))


def _rms_ref(x):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True))


def _rmsnorm_workload(X, Y, n):
    tiles = Dense[n]

    @workload
    def rmsnorm():
        for t in P(tiles):
            rmsnorm_tile[t](x=X[t], out=Y[t])
    return rmsnorm()


# v9 cost model: TLOAD 2048 + TMUL 2048 + TROWSUM 16 + TMULS 16 + TRSQRT 16
#                + TROWEXPANDMUL 2048 + TSTORE 2048
RMS_TASK_CYCLES = 4 * 2048 + 3 * 16


def test_rmsnorm_matches_numpy_and_reports_cycles():
    x = np.random.default_rng(1).standard_normal((8, 16, 128), np.float32)
    y = np.zeros_like(x)
    w = _rmsnorm_workload(Tensor(data=x), Tensor(data=y), 8)
    prog = w.dispatch(DispatchPolicy.round_robin(2)).compile()
    assert not prog.is_complete()
    prog.execute()
    prog.synchronize()
    assert prog.is_complete()
    np.testing.assert_allclose(y, _rms_ref(x), rtol=1e-5, atol=1e-6)
    assert prog.stats.task_count == 8
    # 8 independent tasks round-robin over 2 simulated AICPUs: 4 back to back on each
    assert prog.stats.total_cycles == 4 * RMS_TASK_CYCLES


def test_parallel_equals_one_thread_and_rerun_does_not_compile():
    x = np.random.default_rng(2).standard_normal((16, 16, 128), np.float32)
    y1, y2 = np.zeros_like(x), np.zeros_like(x)
    X, Y = Tensor(data=x, name="X"), Tensor(data=y1, name="Y")
    w = _rmsnorm_workload(X, Y, 16)
    p1 = w.compile(num_threads=1)
    p1.run()
    p2 = w.compile(num_threads=2)
    assert not p2.stats.compiled  # same C, same cache entry
    p2.run(Y=y2)
    np.testing.assert_array_equal(y1, y2)
    assert p1.stats.total_cycles == p2.stats.total_cycles
    # new data of the same shape: no rebuild, new results
    x2 = x * 2
    p2.run(X=x2, Y=y2)
    np.testing.assert_allclose(y2, _rms_ref(x2), rtol=1e-5, atol=1e-6)


def test_non_contiguous_input_views_are_read_through_their_strides():
    base = np.random.default_rng(3).standard_normal((128, 4, 16), np.float32)
    x = base.transpose(1, 2, 0)  # [4, 16, 128], strided
    assert not x.flags.c_contiguous
    y = np.zeros((4, 16, 128), np.float32)
    _rmsnorm_workload(Tensor(data=x), Tensor(data=y), 4).compile().run()
    np.testing.assert_allclose(y, _rms_ref(np.ascontiguousarray(x)), rtol=1e-5, atol=1e-6)


@kernel
def mm_acc(a: In[Tile[16, 16, F32]], b: In[Tile[16, 16, F32]], c: InOut[Tile[16, 16, F32]]):
    pto.store(c, pto.matmul(a, b, acc=c))


def test_tiled_matmul_with_seq_reduction_loop():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((32, 48), np.float32)
    B = rng.standard_normal((48, 32), np.float32)
    C = np.zeros((32, 32), np.float32)
    TA, TB, TC = Tensor(data=A), Tensor(data=B), Tensor(data=C)
    mi, nj, kk = Dense[2], Dense[2], Dense[3]

    @workload
    def matmul():
        for i, j in P(mi, nj):
            for k in P.seq(kk):
                mm_acc[i, j, k](a=TA[i * 16:i * 16 + 16, k * 16:k * 16 + 16],
                                b=TB[k * 16:k * 16 + 16, j * 16:j * 16 + 16],
                                c=TC[i * 16:i * 16 + 16, j * 16:j * 16 + 16])
    prog = matmul().compile()
    prog.run()
    np.testing.assert_allclose(C, A @ B, rtol=1e-4, atol=1e-4)
    assert prog.stats.task_count == 12


def test_dynamic_axis_size_changes_without_rebuild_and_is_bounds_checked():
    x = np.ones((6, 16, 128), np.float32)
    y = np.zeros_like(x)
    X, Y = Tensor(data=x), Tensor(data=y)
    n = DenseDyn(2)

    @workload
    def dyn():
        for t in P(n):
            rmsnorm_tile[t](x=X[t], out=Y[t])
    prog = dyn().compile()
    assert prog.run().task_count == 2
    prog.set_axis_sizes(n=6)
    assert prog.run().task_count == 6
    prog.set_axis_sizes(n=7)
    with pytest.raises(ExecutionError) as ei:
        prog.run()
    assert "out of bounds" in str(ei.value) and "(value 6)" in str(ei.value)
    assert ei.value.loc is not None and ei.value.loc.file == __file__


@kernel
def scale_row(x: In[Tile[1, 32, F32]], out: Out[Tile[1, 32, F32]], s: Scalar[F32] = 2.0):
    pto.store(out, pto.mul(x, s))


def test_ragged_sparse_when_symbols_and_slots():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 32), np.float32)
    y = np.zeros_like(x)
    flags = np.array([[7, 0]], np.int64)
    X, Y, F = Tensor(data=x), Tensor(data=y), Tensor(data=flags)
    b = Dense[3]
    lens = Ragged(b, [1, 4, 2])
    routing = Sparse(b, [0, 1, 1, 3], [2, 0, 3])
    cut = symbol_u64("cut")

    @workload
    def dynamic():
        slot_load_u64(0, F, 0, 0)
        for i in P(b):
            for t in P(lens[i]):
                with P.when(t < cut):
                    scale_row[i, t](x=X[i, t], out=Y[i, t], s=3.0)
                with P.otherwise():
                    scale_row[i, t](x=X[i, t], out=Y[i, t])
            for e in P.sel(routing[i]):
                with P.when(slot_u64(0) == 7):
                    scale_row[i, e](x=X[i, e], out=Y[i, e], s=-1.0)
    prog = dynamic().compile()
    prog.set_symbol_u64("cut", 1)
    prog.run()
    ref = np.zeros_like(x)
    for i, n in enumerate([1, 4, 2]):
        for t in range(n):
            ref[i, t] = x[i, t] * (3.0 if t < 1 else 2.0)
    for i, cols in enumerate([[2], [], [0, 3]]):
        for e in cols:
            ref[i, e] = -x[i, e]
    np.testing.assert_array_equal(y, ref)
    assert prog.stats.task_count == 7 + 3
    assert prog.slots[0] == 7
    # new ragged lengths without a rebuild
    prog.set_axis_data("lens", lengths=[0, 0, 1])
    assert prog.run().task_count == 1 + 3


def test_kernel_failure_surfaces_with_the_kernel_name():
    @kernel(cpp_src="(void)x; (void)out; return 3;")
    def failing(x: In[Tile[16, 128, F32]], out: Out[Tile[16, 128, F32]]):
        pass

    x = np.zeros((2, 16, 128), np.float32)
    X, Y = Tensor(data=x), Tensor(data=np.zeros_like(x))
    n = Dense[2]

    @workload
    def wl():
        for t in P(n):
            failing[t](x=X[t], out=Y[t])
    with pytest.raises(KernelError, match="kernel 'failing' failed"):
        wl().compile().run()


def test_array_checks_before_running():
    x = np.zeros((2, 16, 128), np.float32)
    X, Y = Tensor(data=x), Tensor(data=np.zeros_like(x), name="Y")
    prog = _rmsnorm_workload(X, Y, 2).compile()
    with pytest.raises(TypeCheckError, match="declared f32"):
        prog.run(Y=np.zeros((2, 16, 128), np.float64))
    with pytest.raises(TypeCheckError, match="shape"):
        prog.run(Y=np.zeros((2, 16, 64), np.float32))
    ro = np.zeros((2, 16, 128), np.float32)
    ro.flags.writeable = False
    with pytest.raises(TypeCheckError, match="read-only"):
        prog.run(Y=ro)


def test_aliasing_outputs_are_overlap_tracked():
    """Tensors bound to shared memory are tracked by byte overlap under the default deps
    (decided at bind time, no rebuild); Deps.explicit() tracks no data and says so."""
    buf = np.random.default_rng(6).standard_normal((2, 16, 128), np.float32)
    X, Y = Tensor(data=buf, name="X"), Tensor(data=buf[:, :, :], name="Y")  # same memory
    w = _rmsnorm_workload(X, Y, 2)
    ref = _rms_ref(buf.copy())
    prog = w.compile()
    assert prog.overlap_tracked == {}
    prog.run()
    np.testing.assert_allclose(buf, ref, rtol=1e-5, atol=1e-6)
    assert set(prog.overlap_tracked) == {"X", "Y"} and "shares memory" in prog.overlap_tracked["Y"]
    prog.run(X=np.ones_like(buf))  # separate arrays again: back to exact tracking
    assert prog.overlap_tracked == {}
    with pytest.raises(TypeCheckError, match=r"share memory .*Deps.explicit\(\) tracks no data"):
        w.task_graph(deps=Deps.explicit()).compile().run()


def test_stats_are_snapshots_per_run():
    x = np.ones((4, 16, 128), np.float32)
    X, Y = Tensor(data=x), Tensor(data=np.zeros_like(x))
    n = DenseDyn(4)

    @workload
    def dyn():
        for t in P(n):
            rmsnorm_tile[t](x=X[t], out=Y[t])
    prog = dyn().compile()
    s1 = prog.run()
    prog.set_axis_sizes(n=1)
    s2 = prog.run()
    assert (s1.task_count, s2.task_count) == (4, 1) and s1 is not s2


def test_exit_during_a_run_waits_for_it(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "exit_early.py"
    script.write_text(
        "import numpy as np\n"
        "from pto_wsp import *\n"
        "@kernel(cpp_src='(void)x; usleep(100000); y[0] = 7; cycles = 1;',"
        " cpp_includes=['unistd.h'])\n"
        "def slow(x: In[Tile[1, 8, DType.F32]], y: Out[Tile[1, 8, DType.F32]]):\n"
        "    pass\n"
        "X = Tensor(data=np.zeros((2, 1, 8), np.float32))\n"
        "Y = Tensor(data=np.zeros((2, 1, 8), np.float32))\n"
        "n = Dense[2]\n"
        "@workload\n"
        "def w():\n"
        "    for i in P(n):\n"
        "        slow[i](x=X[i], y=Y[i])\n"
        "w().compile().execute()  # no synchronize: exit must wait, not crash\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr


def test_only_kernels_with_a_matmul_compile_the_simd_matmul():
    """kernels.c skips the SIMD matmul kernels (and <immintrin.h>, most of its compile time)
    unless a kernel calls a matmul, straight-line or inside a kernel loop."""
    import importlib.util
    from pathlib import Path

    from pto_wsp.backends.cpu_sim.codegen import render_kernels
    from pto_wsp.backends.cpu_sim.lower_kernel import lower_kernel
    path = Path(__file__).resolve().parents[2] / "examples" / "gemm_kloop.py"
    spec = importlib.util.spec_from_file_location("ex_gemm_kloop", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)

    @kernel
    def mm(a: In[Tile[16, 16, DType.F32]], b: In[Tile[16, 16, DType.F32]],
           c: Out[Tile[16, 16, DType.F32]]):
        pto.store(c, pto.matmul(a, b))

    @kernel
    def ex_only(a: In[Tile[16, 16, DType.F32]], c: Out[Tile[16, 16, DType.F32]]):
        pto.store(c, pto.exp(a))

    def skips(*ks):
        return "#define PTO_TILE_NO_MATMUL" in render_kernels([lower_kernel(k.ir()) for k in ks])[1]
    assert skips(ex_only)
    assert not skips(mm) and not skips(ex_only, mm) and not skips(ex.make_gemm(True))

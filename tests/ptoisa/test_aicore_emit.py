"""Every traced kernel of examples/ and tests/ir/corpus/ either becomes PTO-ISA C++ that g++
builds against the host layer and that runs bit-equal (values and cycles) to the cpu_sim
kernel on the same random inputs, or is a located CompileError saying why."""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np
import pytest

from pto_wsp import (Constexpr, DType, In, InOut, Out, Scalar, Tensor, Tile, kernel, pto,
                     ptoisa,
                     ptoisa_kernel)
from pto_wsp.backends.ascend.aicore import (CXX_TYPE, cxx_ident, emit_kernel, entry_name,
                                           lower_aicore)
from pto_wsp.backends.kernel_plan import matmul_results_read_by_vector_ops, plan_parts
from pto_wsp.backends.cpu_sim.c_syntax import ident, scalar
from pto_wsp.backends.cpu_sim.codegen import render_kernels
from pto_wsp.backends.cpu_sim.lower_kernel import args_type, kernel_fn, lower_kernel
from pto_wsp.errors import CompileError, TypeCheckError
from pto_wsp.ir import nodes as ir
from pto_wsp.ir.kloops import OPCODES
from pto_wsp.ir.ops import EXTENSION_OPS, OPS
from pto_wsp.ir.parser import parse_module
from pto_wsp.language.kernel import KernelRef
from pto_wsp.resources import runtime_dir

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")


def example(f: Path):
    spec = importlib.util.spec_from_file_location(f"ex_{f.stem}", f)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def all_kernels() -> dict[str, ir.Kernel]:
    ks: dict[str, ir.Kernel] = {}
    for f in sorted((ROOT / "examples").glob("*.py")):
        m = example(f)
        for v in vars(m).values():
            # C++ custom kernels have no C twin here; examples/topk.py runs its C++ kernel
            # bit-equal to the traced one, tests/codegen/test_cxx_kernels.py the rest
            if isinstance(v, KernelRef) and (v.custom is None or v.custom.language == "c"):
                ks.setdefault(v.name, v.ir())
        factories = {"make_gemm": ((False,), (True,)), "make_kernel": ((64, 32, 16, 16),)}
        for fn, calls in factories.items():  # kernels examples build in factory functions
            for args in calls if hasattr(m, fn) else ():
                k = getattr(m, fn)(*args).ir()
                ks.setdefault(k.name, k)
    for f in sorted((ROOT / "tests/ir/corpus").glob("*.pto")):
        for k in parse_module(f.read_text(), str(f)).kernels:
            ks.setdefault(k.name, k)
    return ks


F32 = DType.F32


@kernel
def cxx_names(new: In[Tile[8, 8, F32]], half: In[Tile[8, 8, F32]], pto_t0: Out[Tile[8, 8, F32]],
              t0: Out[Tile[8, 8, F32]], Tile: Scalar[F32] = 1.0):  # noqa: N803
    """C++ keywords, PTO-ISA names and generated-looking names as parameter names."""
    y = pto.add(pto.mul(new, Tile), half)
    pto.store(pto_t0, y)
    pto.store(t0, pto.exp(y))


@ptoisa_kernel
def axpy_rowmax(x: In[Tile[8, 64, F32]], y: InOut[Tile[8, 64, F32]], m: Out[Tile[8, 64, F32]]):
    """An instruction-level body: emitted through the same plan."""
    s = ptoisa.TADD(ptoisa.TMULS(ptoisa.TLOAD(x), 2.0), ptoisa.TLOAD(y))
    ptoisa.TSTORE(y, s)
    ptoisa.TSTORE(m, ptoisa.TROWEXPAND(ptoisa.TROWMAX(s), cols=64))


BF16, F16, I32, I8 = DType.BF16, DType.F16, DType.I32, DType.I8


@kernel
def col_ops(x: In[Tile[16, 64, F32]], y: In[Tile[16, 64, F32]], o: Out[Tile[16, 64, F32]],
            s: Out[Tile[1, 64, F32]]):
    """Column reductions and broadcasts, tile compares and selects, s / x, copies."""
    m = pto.colmax(x)
    a = pto.coladd(pto.colsub(pto.colmul(pto.coldiv(x, m), pto.colmin(y)), m), m)
    b = pto.select(pto.cmp(a, y, "lt"), pto.div(2.0, y), pto.mov(a))
    pto.store(o, pto.maximum(pto.minimum(b, 3.0), pto.broadcast(pto.colsum(y), (16, 64))))
    pto.store(s, pto.colsum(b))


@kernel
def cvt_ops(x: In[Tile[16, 64, F32]], h: Out[Tile[16, 64, F16]], b: Out[Tile[16, 64, BF16]],
            i: Out[Tile[16, 64, I32]]):
    """Conversions with rounding modes, and f16/bf16 arithmetic."""
    hx = pto.cast(x, F16, round="rint")
    pto.store(h, pto.mul(pto.add(hx, hx), hx))
    pto.store(b, pto.sub(pto.cast(x, BF16, round="odd"), pto.cast(x, BF16, round="trunc")))
    pto.store(i, pto.cast(pto.mul(x, 3.0), I32, round="floor"))


@kernel
def int_bits(x: In[Tile[8, 32, I32]], y: In[Tile[8, 32, I32]], o: Out[Tile[8, 32, I32]]):
    """Bitwise and shift operations, integer reductions."""
    a = pto.bitwise_xor(pto.bitwise_and(x, y), pto.bitwise_or(x, 5))
    a = pto.shl(a, pto.bitwise_and(y, 3))
    pto.store(o, pto.rowsub(pto.shr(a, 1), pto.rowmax(x)))


@kernel
def mm_i8(a: In[Tile[16, 32, I8]], b: In[Tile[32, 32, I8]], c: Out[Tile[16, 32, I32]],
          d: Out[Tile[16, 32, I32]]):
    """i8 x i8 -> i32 on the cube, accumulating into a live accumulator (TMATMUL_ACC 4 args)."""
    p = pto.matmul(a, b)
    pto.store(c, p)
    pto.store(d, pto.matmul(a, b, acc=p))


@kernel
def rsub_ops(x: In[Tile[16, 64, F32]], h: In[Tile[16, 64, F16]], i: In[Tile[8, 32, I32]],
             o: Out[Tile[16, 64, F32]], oh: Out[Tile[16, 64, F16]], oi: Out[Tile[8, 32, I32]],
             r: Out[Tile[16, 1, F32]]):
    """s - x (no PTO-ISA instruction: TNEG + TADDS, bit-equal), also on a [R,1] row sum."""
    pto.store(o, pto.sub(0.3, x))
    pto.store(oh, pto.sub(1.5, h))
    pto.store(oi, pto.sub(7, i))
    pto.store(r, pto.sub(2.0, pto.rowsum(x)))


@kernel
def fills(m: Out[Tile[64, 1, F32]], l: Out[Tile[64, 1, F32]], o: Out[Tile[64, 64, F32]]):
    """Constant fills stored to [R,1] and [R,C] outputs (the LLaMA example's attention init)."""
    pto.store(m, pto.broadcast(pto.constant(-1e30, F32), (64, 1)))
    pto.store(l, pto.broadcast(pto.constant(0.0, F32), (64, 1)))
    pto.store(o, pto.broadcast(pto.constant(0.0, F32), (64, 64)))


@kernel
def trig_ops(x: In[Tile[16, 64, F32]], h: In[Tile[16, 64, F16]], b: In[Tile[16, 64, BF16]],
             o: Out[Tile[16, 64, F32]], oh: Out[Tile[16, 64, F16]], ob: Out[Tile[16, 64, BF16]],
             r: Out[Tile[16, 1, F32]]):
    """tanh, sin and cos composed from PTO-ISA instructions (backends/compose.py): both signs,
    both tanh branches, large sin arguments; f16/bf16 through TCVT; on a ColMajor [R,1] tile."""
    w = pto.sub(pto.mul(x, 12.0), 13.0)  # [-10, 11]
    pto.store(o, pto.add(pto.mul(pto.sin(pto.mul(x, 3.0e4)), pto.cos(w)), pto.tanh(w)))
    pto.store(oh, pto.sin(pto.tanh(pto.sub(pto.mul(h, 4.0), 4.5))))
    pto.store(ob, pto.cos(pto.sub(pto.mul(b, 50.0), 60.0)))
    pto.store(r, pto.cos(pto.rowsum(w)))


@kernel
def when_stats(x: In[Tensor[8, 256, F32]], mx: Out[Tile[8, 1, F32]], sm: Out[Tile[8, 1, F32]],
               n: Scalar[I32]):
    """A running max and a pto.when-merged running sum over a scalar number of blocks."""
    m = pto.broadcast(pto.constant(-math.inf, F32), (8, 1))
    s = pto.alloc((8, 1), F32)
    for j in pto.range(n):
        t = pto.load(x, row=0, col=j * 32, shape=(8, 32))
        m = pto.maximum(m, pto.rowmax(t))
        with pto.when(j % 2 == 1):
            s = s + pto.rowsum(t)
    pto.store(mx, m)
    pto.store(sm, s)


@kernel
def iotas(a: Out[Tile[8, 32, I32]], b: Out[Tile[4, 16, DType.I16]], c: Out[Tile[16, 1, F32]],
          e: Out[Tile[8, 32, I32]]):
    """Iotas of several rows and steps: TCI over the tile's [1, R*C] row view, then TMULS and
    TADDS for a step other than +-1 (integers wrap, so exact)."""
    pto.store(a, pto.iota((8, 32), I32, 5, step=-3))
    pto.store(b, pto.iota((4, 16), DType.I16, 0, step=7))
    pto.store(c, pto.iota((16, 1), F32, 2.5, step=-1))
    pto.store(e, pto.iota((8, 32), I32, 100))


KERNELS = all_kernels() | {k.name: k.ir() for k in (cxx_names, axpy_rowmax, col_ops, cvt_ops,
                                                    int_bits, mm_i8, rsub_ops, fills, trig_ops,
                                                    when_stats, iotas)}
# why each kernel that is not emitted yet is refused (the rest must be emitted)
REFUSED = {
    "float_ops": "no PTO-ISA instruction",
    "scale": "custom C body", "whole": "tensor parameter 'x' has no tile shape",
    "windows_text": "custom C body",
    "empty_body": "custom C body",
    "blocks": "mixes cube work (tmatmul) and vector work",
    "flash_block": "mixes cube work (tmatmul) and vector work",
}
LOOPED = {n for n, k in KERNELS.items() if any(op.opcode in OPCODES for op in k.ops)}


def test_refusals_are_located_compile_errors():
    for name, why in REFUSED.items():
        with pytest.raises(CompileError) as e:
            emit_kernel(KERNELS[name])
        assert why in str(e.value), (name, str(e.value))
        assert e.value.loc is not None and e.value.loc.line > 0, name


def _inputs(k: ir.Kernel, rng) -> tuple[list[np.ndarray], list[str]]:
    """Random data per tile parameter; C literals per scalar parameter."""
    arrays, scalars = [], []
    for p in k.params:
        dt = p.type.dtype
        if isinstance(p.type, (ir.TileType, ir.TensorType)):
            shape = (p.type.rows, p.type.cols) if isinstance(p.type, ir.TileType) \
                else p.type.shape
            a = rng.uniform(0.25, 2.0, shape) if dt.is_float else rng.integers(-20, 20, shape)
            arrays.append(a.astype(dt.np))
        else:
            scalars.append(scalar(0.75 if dt.is_float else 3, dt))
    return arrays, scalars


def _call_lines(k: ir.Kernel, scalars: list[str], cxx: bool) -> str:
    """Fill the kernel's arguments from buf[i] (tile parameter i) and call it."""
    out, ti, si = [], 0, 0
    args = []
    strided = set(lower_aicore(k).entries[0].strided) if cxx else set()
    for p in k.params:
        c = ident(p.name)
        if isinstance(p.type, (ir.TileType, ir.TensorType)):
            dt = p.type.dtype
            t = (CXX_TYPE[dt] if cxx else
                 ("pto_bf16_t" if dt is DType.BF16 else dt.c_type))
            r, cols = (p.type.rows, p.type.cols) if isinstance(p.type, ir.TileType) \
                else p.type.shape
            if cxx:  # matmul operands also take a column stride (DN views)
                args += [f"({t} *)buf[{ti}]", str(cols)] + (["1"] if p.name in strided else [])
            else:
                out.append(f"a.{c} = ({t} *)buf[{ti}]; a.{c}_rs = {cols}; a.{c}_cs = 1; "
                           f"a.{c}_rows = {r}; a.{c}_cols = {cols};")
            ti += 1
        else:
            if cxx:
                args.append(scalars[si])
            else:
                out.append(f"a.{c} = {scalars[si]};")
            si += 1
    if cxx and k.name in LOOPED:  # pipe-timed (docs/tile-library.md, "Pipe timing")
        out += [f'pto::cpu_sim::begin_kernel("{k.name}");', f"{entry_name(k.name)}({', '.join(args)});",
                "cyc = pto::cpu_sim::read_pipe_cycles();"]
    elif cxx:  # the parts in order, each on a fresh core, sharing the GM workspace
        split = plan_parts(k)
        if split.workspace_bytes:
            out.append(f"static uint8_t ws[{split.workspace_bytes}];")
            args.append("ws")
        for part in split.parts:
            out.append(f'pto::cpu_sim::begin_kernel("{entry_name(k.name, part.name)}");')
            out.append(f"{entry_name(k.name, part.name)}({', '.join(args)});")
            out.append("cyc += pto::cpu_sim::read_cycles();")
    else:
        out.append(f"{kernel_fn(k.name)}(&a, &cyc);")
    return "\n        ".join(out)


MAIN = jinja2.Template("""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
{{ head }}
static void *buf[16];
static size_t len[16];
int main(int argc, char **argv)
{
    const char *name = argv[1], *dir = argv[2];
    char path[4096];
    for (int i = 0; i < argc - 3; ++i) {
        len[i] = (size_t)atol(argv[3 + i]);
        buf[i] = calloc(1, len[i] + 64);
        snprintf(path, sizeof path, "%s/%d.bin", dir, i);
        FILE *f = fopen(path, "rb");
        if (!f || fread(buf[i], 1, len[i], f) != len[i]) return 2;
        fclose(f);
    }
    unsigned long long cyc = 0;
{% for k in kernels %}
    if (!strcmp(name, "{{ k.name }}")) {
        {{ k.args_decl }}
        {{ k.call }}
    }
{% endfor %}
    for (int i = 0; i < argc - 3; ++i) {
        snprintf(path, sizeof path, "%s/%d.out", dir, i);
        FILE *f = fopen(path, "wb");
        fwrite(buf[i], 1, len[i], f);
        fclose(f);
    }
    printf("%llu\\n", cyc);
    return 0;
}
""")


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """A cpu_sim harness (the generated kernels.c) and a host-layer harness (every emitted
    kernel), each built for both cost models (PTO_COST_MODEL 0 and 1)."""
    d = tmp_path_factory.mktemp("aicore")
    emitted = {n: k for n, k in KERNELS.items() if n not in REFUSED}
    rng = np.random.default_rng(3)
    data = {n: _inputs(k, rng) for n, k in emitted.items()}
    h, c = render_kernels([lower_kernel(k) for k in emitted.values()])
    (d / "kernels.h").write_text(h)
    (d / "kernels.c").write_text(c)
    for n, k in emitted.items():
        (d / f"kernel_{ident(n)}.cpp").write_text(emit_kernel(k))
    fail = ('int pto_rt_kernel_fail(int rc, const char *why) '  # the runtime's, for loop kernels
            '{ fprintf(stderr, "%s\\n", why); exit(3); return rc; }')
    c_main = MAIN.render(head='#include "kernels.h"\n' + fail, kernels=[
        dict(name=n, args_decl=f"{args_type(n)} a; memset(&a, 0, sizeof a);",
             call=_call_lines(k, data[n][1], False)) for n, k in emitted.items()])
    (d / "broken.cpp").write_text(_without_back_edge(emit_kernel(KERNELS["gemm_k_db"])))
    cxx_head = "\n".join(f'#include "kernel_{ident(n)}.cpp"' for n in emitted)
    cxx_main = MAIN.render(head=cxx_head + '\n#include "broken.cpp"', kernels=[
        dict(name=n, args_decl="",
             call=_call_lines(k, data[n][1], True)) for n, k in emitted.items()] + [
        dict(name=BROKEN, args_decl="", call=_call_lines(
            KERNELS["gemm_k_db"], [], True).replace("gemm_k_db", BROKEN))])
    (d / "c_main.c").write_text(c_main)
    (d / "cxx_main.cpp").write_text(cxx_main)
    rt = f"-I{runtime_dir()}"
    procs = [p for m in (0, 1) for p in (
        subprocess.Popen(["gcc", "-std=gnu11", "-O1", f"-DPTO_COST_MODEL={m}", rt, f"-I{d}",
                          "c_main.c", "kernels.c", "-lm", "-o", f"c_main{m}"], cwd=d),
        subprocess.Popen(["g++", "-std=c++20", "-O1", "-Wall", "-Werror", f"-DPTO_COST_MODEL={m}",
                          rt, f"-I{d}", "cxx_main.cpp", "-o", f"cxx_main{m}"], cwd=d))]
    assert [p.wait() for p in procs] == [0] * 4
    return d, emitted, data


BROKEN = "gemm_k_db_broken"
BACK_EDGE = "wait_flag(PIPE_M, PIPE_MTE2, pto_s1 % 2 ? EVENT_ID1 : EVENT_ID0);"


def _without_back_edge(code: str) -> str:
    """The double-buffered GEMM with the wait before its A load removed (the back edge
    that keeps the load from overwriting a Mat buffer the cube still reads)."""
    assert code.count(BACK_EDGE) == 1
    return code.replace(BACK_EDGE, "").replace("kernel_gemm_k_db(", f"kernel_{BROKEN}(")


def test_a_removed_flag_is_caught_by_the_host_layer(builds, tmp_path):
    d, _, data = builds
    arrays = data["gemm_k_db"][0]
    for i, a in enumerate(arrays):
        a.tofile(tmp_path / f"{i}.bin")
    out = subprocess.run([d / "cxx_main1", BROKEN, tmp_path] + [str(a.nbytes) for a in arrays],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert f"PTO-ISA check failed in kernel '{BROKEN}': TLOAD at " in out.stderr, out.stderr
    assert ("[sync] overwrites the tile TASSIGNed to L1[0x0, 0x1000)" in out.stderr
            and "TMOV (PIPE_MTE1)" in out.stderr
            and "no set_flag/wait_flag(PIPE_MTE1, PIPE_MTE2)" in out.stderr), out.stderr


def _run(exe: Path, name: str, arrays, tmp: Path):
    tmp.mkdir()
    for i, a in enumerate(arrays):
        a.tofile(tmp / f"{i}.bin")
    out = subprocess.run([exe, name, tmp] + [str(a.nbytes) for a in arrays],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return int(out.stdout), [np.fromfile(tmp / f"{i}.out", a.dtype).reshape(a.shape)
                             for i, a in enumerate(arrays)]


@pytest.mark.parametrize("model", (0, 1))
@pytest.mark.parametrize("name", sorted(n for n in KERNELS if n not in REFUSED))
def test_emitted_kernel_bit_equal_to_cpu_sim(builds, tmp_path, name, model):
    d, emitted, data = builds
    arrays = data[name][0]
    sim_cyc, sim = _run(d / f"c_main{model}", name, arrays, tmp_path / "c")
    cxx_cyc, got = _run(d / f"cxx_main{model}", name, arrays, tmp_path / "cxx")
    assert cxx_cyc == sim_cyc + (_v9_split_delta(emitted[name])
                                 if model == 0 and name not in LOOPED else 0)
    for p, a, b in zip([p for p in emitted[name].params
                        if isinstance(p.type, (ir.TileType, ir.TensorType))],
                       got, sim):
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), p.name


def _v9_split_delta(k: ir.Kernel) -> int:
    """Under the v9 model a split kernel's parts report their workspace transfers (rows x cols
    each), while cpu_sim keeps the prototype's implicit moves instead (docs/tile-library.md):
    the difference, from the documented rules."""
    split = plan_parts(k)
    n = lambda t: t.rows * t.cols  # noqa: E731
    transfers = sum(n(c.type) * (1 + len(c.dsts)) for c in split.crossings)
    transfers += sum(n(t) for _, t in split.reloads)
    types = {v: t for op in k.ops for v, t in zip(op.results, op.types)}
    loaded = {v for op in k.ops if op.opcode == "tload" for v in op.results}
    to_vector = matmul_results_read_by_vector_ops(k.ops)
    moves = sum(n(types[o.index]) for op in k.ops if op.opcode.startswith("tmatmul")
                for o in op.operands[-2:] if o.index not in loaded)
    moves += sum(n(types[v]) for v in to_vector)
    return transfers - moves


def test_mixed_kernels_split_into_parts():
    """attention: cube (q @ kt), vector (softmax), cube (p @ v); the two crossing [64, 64]
    f32 tiles take 2 x 16 KiB of workspace; v9 charges its moves, A2/A3 the GM round trips."""
    split = plan_parts(KERNELS["attn_tile"])
    assert [(p.name, p.unit) for p in split.parts] == [("c0", "cube"), ("v1", "vector"),
                                                        ("c2", "cube")]
    assert [(c.src, c.dsts, c.offset) for c in split.crossings] == [(0, (1,), 0),
                                                                    (1, (2,), 16384)]
    assert split.workspace_bytes == 32768 and split.reloads == []
    code = emit_kernel(KERNELS["attn_tile"])
    for e in ("kernel_attn_tile_c0", "kernel_attn_tile_v1", "kernel_attn_tile_c2"):
        assert f"void {e}(" in code and code.count("__gm__ uint8_t *pto_ws)") == 3
    assert _v9_split_delta(KERNELS["attn_tile"]) == 4 * 4096 - 2 * 4096
    single = plan_parts(KERNELS["rmsnorm_tile"])
    assert [p.name for p in single.parts] == [""] and single.workspace_bytes == 0


def test_every_kernel_is_emitted_or_refused():
    assert set(REFUSED) <= set(KERNELS)
    assert len(KERNELS) - len(REFUSED) >= 8


def test_budget_overflow_names_the_buffer_and_sizes():
    @kernel
    def big(x: In[Tile[256, 256, F32]], y: Out[Tile[256, 256, F32]]):
        pto.store(y, pto.exp(x))
    with pytest.raises(CompileError) as e:
        emit_kernel(big.ir())
    msg = str(e.value)
    assert "UB overflows" in msg and "262144 bytes" in msg and "188416 bytes" in msg
    assert e.value.loc.line > 0


def test_float_iota_with_a_step_is_a_located_error():
    @kernel
    def halves(o: Out[Tile[8, 8, F32]]):
        pto.store(o, pto.iota((8, 8), F32, 0.0, step=0.5))
    with pytest.raises(CompileError, match="exactly for integers only") as e:
        emit_kernel(halves.ir())
    assert "pto.iota" in e.value.loc.source_line()


def test_row_rule_is_a_located_error():
    @kernel
    def odd(x: In[Tile[4, 3, F32]], y: Out[Tile[4, 3, F32]]):
        pto.store(y, pto.exp(x))
    with pytest.raises(CompileError, match="32-byte row rule"):
        emit_kernel(odd.ir())


def test_docs_quote_the_emitted_rmsnorm_and_k_loop_gemm():
    for name in ("rmsnorm_tile", "gemm_k_db"):
        code = emit_kernel(KERNELS[name]).rstrip("\n")
        assert f"```cpp\n{code}\n```" in (ROOT / "docs/ascend.md").read_text(), name


@kernel
def scaled(x: In[Tile[8, 8, F32]], y: Out[Tile[8, 8, F32]], k: Constexpr[float]):
    pto.store(y, pto.mul(x, k))


def test_kernel_compile_per_spec_6_5():
    """my_kernel.compile(target=...).code and my_kernel.ir dumps, for both targets."""
    ascend = cxx_names.compile(target="ascend_npu")
    assert (ascend.target, ascend.name) == ("ascend_npu", "cxx_names")
    assert ascend.code == emit_kernel(cxx_names.ir())
    assert 'extern "C" __global__ AICORE void kernel_cxx_names(' in ascend.code
    sim = cxx_names.compile()
    assert sim.target == "cpu_sim" and "int pto_kernel_cxx_names(const void *argp" in sim.code
    text = cxx_names.ir().dump()
    assert text == str(cxx_names.ir()) and text.startswith("kernel @cxx_names(")
    assert "tmuls" in text
    code = scaled.compile(target="ascend_npu", k=0.5).code
    assert "float((0x1.0000000000000p-1))" in code
    with pytest.raises(TypeCheckError, match="constexpr parameter 'k' needs a value"):
        scaled.compile(target="ascend_npu")
    with pytest.raises(TypeCheckError, match="no constexpr parameter 'j'"):
        scaled.compile(k=1.0, j=2)
    with pytest.raises(CompileError, match="unknown target"):
        cxx_names.compile(target="gpu")


@kernel
def acc_elsewhere(a: In[Tile[16, 16, F32]], c: In[Tile[16, 16, F32]],
                  d: Out[Tile[16, 16, F32]]):
    pto.store(d, pto.matmul(a, a, acc=c))


def test_kernel_compile_refusal_points_at_the_op():
    """An accumulator loaded from one view and stored to another has no Acc form."""
    with pytest.raises(CompileError) as e:
        acc_elsewhere.compile(target="ascend_npu")
    assert "pto.matmul(a, a, acc=c)" in e.value.loc.source_line()
    assert "TLOAD cannot fill an Acc tile" in str(e.value)


def test_gm_accumulator_is_an_atomic_add_store():
    """C += A @ B into the loaded view: TMATMUL, then TSTORE with AtomicAdd (no TLOAD of C)."""
    code = emit_kernel(KERNELS["mm_tile"])
    assert "TMATMUL(pto_t3, " in code and "TMATMUL_ACC" not in code
    assert "TSTORE<decltype(pto_t3), decltype(pto_g_c), AtomicType::AtomicAdd>(pto_g_c, pto_t3);" \
        in code
    assert "pto_g_c(c," in code and "TLOAD(pto_t2" not in code


# the public PTO-ISA API names an emitted kernel may use (docs/ascend.md; the reference's
# section 1), beside C++ and the kernel's own names (pto_*, kernel_*, parameters)
PUBLIC = set("""
    include pto inst hpp using namespace extern C __global__ AICORE __gm__ void int64_t float
    double half bfloat16_t int8_t int16_t int32_t uint8_t uint16_t uint32_t uint64_t
    Tile TileType Vec Mat Left Right Acc BLayout RowMajor ColMajor SLayout TileLeft TileRight
    TileAcc GlobalTensor Shape Stride DYNAMIC Layout DN TASSIGN TLOAD TSTORE TMOV TMATMUL
    TMATMUL_ACC set_flag wait_flag PIPE_MTE1 PIPE_MTE2 PIPE_MTE3 PIPE_V PIPE_M PIPE_FIX
    EVENT_ID0 EVENT_ID1 EVENT_ID2 EVENT_ID3 EVENT_ID4 EVENT_ID5 EVENT_ID6 EVENT_ID7 event_t
    pipe_barrier PIPE_ALL for const bool true false if else ifndef endif decltype AtomicType AtomicAdd __DAV_C220_CUBE__ __DAV_C220_VEC__
    CmpMode EQ NE LT LE GT GE RoundMode CAST_RINT CAST_ROUND CAST_FLOOR CAST_CEIL
    CAST_TRUNC CAST_ODD INT64_C UINT64_C INT64_MIN NAN INFINITY
""".split()) | {op.upper() for op in OPS
                if op not in EXTENSION_OPS | {"tslice_even", "tslice_odd", "tinterleave"}}


def test_emitted_kernels_use_only_public_names():
    import re
    for name, k in KERNELS.items():
        if name in REFUSED:
            continue
        code = emit_kernel(k)
        body = "\n".join(ln for ln in code.splitlines() if not ln.startswith("//"))
        body = re.sub(r"\b0x[0-9a-fA-F.]+p[+-]?\d+", "", body)  # hex float literals
        params = {cxx_ident(p.name) for p in k.params}
        for word in set(re.findall(r"\b[A-Za-z_]\w*\b", body)) - PUBLIC - params:
            assert word.startswith(("pto_", "kernel_")), (name, word)


@kernel
def mm_dn(a: In[Tile[16, 32, F32]], bt: In[Tile[32, 16, F32]], c: Out[Tile[16, 16, F32]]):
    """A matmul operand that tasks may pass as a transposed (column-contiguous) view."""
    pto.store(c, pto.matmul(a, bt))


DN_MAIN = """
#include <stdio.h>
#include <string.h>
{head}
int main(void)
{{
    static float a[16 * 32], b[16 * 32], c[16 * 16];   /* bt = b^T: rs 1, cs 32 */
    for (int i = 0; i < 16 * 32; ++i) {{ a[i] = (float)((i * 7) % 13) / 8.0f - 0.5f;
                                          b[i] = (float)((i * 5) % 11) / 4.0f - 1.0f; }}
    unsigned long long cyc = 0;
    {call}
    for (int i = 0; i < 16 * 16; ++i) printf("%a\\n", c[i]);
    printf("%llu\\n", cyc);
    return 0;
}}
"""


def test_transposed_matmul_operand_is_a_dn_global_tensor(tmp_path):
    """bt is a DN GlobalTensor with a runtime column stride, loaded into a ZN Mat tile (the
    ND path keeps the NZ tile): bit-equal to cpu_sim reading the same transposed view."""
    k = mm_dn.ir()
    code = emit_kernel(k)
    assert "int64_t pto_rs_bt, int64_t pto_cs_bt" in code and "pto_cs_a" in code
    assert ("GlobalTensor<float, Shape<1, 1, 1, 32, 16>, Stride<1, 1, 1, 1, DYNAMIC>, "
            "Layout::DN> pto_gt_bt(bt, Shape<1, 1, 1, 32, 16>(), Stride<1, 1, 1, 1, "
            "DYNAMIC>(pto_cs_bt));") in code
    assert "BLayout::RowMajor, 32, 16, SLayout::ColMajor, 512> pto_t1zn;" in code
    assert "if (pto_cs_bt == 1) TLOAD(pto_t1, pto_g_bt); else TLOAD(pto_t1zn, pto_gt_bt);" in code
    h, c = render_kernels([lower_kernel(k)])
    (tmp_path / "kernels.h").write_text(h)
    (tmp_path / "kernels.c").write_text(c)
    (tmp_path / "k.cpp").write_text(code)
    sim_call = (f"{args_type('mm_dn')} s; memset(&s, 0, sizeof s);\n"
                "s.a = a; s.a_rs = 32; s.a_cs = 1; s.a_rows = 16; s.a_cols = 32;\n"
                "s.bt = b; s.bt_rs = 1; s.bt_cs = 32; s.bt_rows = 32; s.bt_cols = 16;\n"
                "s.c = c; s.c_rs = 16; s.c_cs = 1; s.c_rows = 16; s.c_cols = 16;\n"
                f"{kernel_fn('mm_dn')}(&s, &cyc);")
    cxx_call = ('pto::cpu_sim::begin_kernel("mm_dn");\n'
                f"{entry_name('mm_dn')}(a, 32, 1, b, 1, 32, c, 16);\n"
                "cyc = pto::cpu_sim::read_cycles();")
    (tmp_path / "s.c").write_text(DN_MAIN.format(head='#include "kernels.h"', call=sim_call))
    (tmp_path / "x.cpp").write_text(DN_MAIN.format(head='#include "k.cpp"', call=cxx_call))
    rt = f"-I{runtime_dir()}"
    outs = []
    for cc, src in (("gcc", ["s.c", "kernels.c", "-lm"]), ("g++", ["x.cpp"])):
        std = "-std=gnu11" if cc == "gcc" else "-std=c++20"
        subprocess.run([cc, std, "-O1", "-DPTO_COST_MODEL=1", rt, f"-I{tmp_path}", *src,
                        "-o", f"{cc}.out"], cwd=tmp_path, check=True)
        outs.append(subprocess.run([tmp_path / f"{cc}.out"], capture_output=True, text=True,
                                   check=True).stdout)
    assert outs[0] == outs[1]
    a = np.array([((i * 7) % 13) / 8 - 0.5 for i in range(512)], np.float32).reshape(16, 32)
    b = np.array([((i * 5) % 11) / 4 - 1.0 for i in range(512)], np.float32).reshape(16, 32)
    got = np.array([float.fromhex(x) for x in outs[1].split()[:-1]]).reshape(16, 16)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.T, rtol=1e-5, atol=1e-5)

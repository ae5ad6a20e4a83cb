"""Every traced kernel of examples/ and tests/ir/corpus/ either becomes PTO-ISA C++ that g++
builds against the host layer and that runs bit-equal (values and cycles) to the cpu_sim
kernel on the same random inputs, or is a located CompileError saying why."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np
import pytest

from pto_wsp import Constexpr, DType, In, Out, Scalar, Tile, kernel, pto
from pto_wsp.backends.ascend.aicore import emit_kernel, entry_name
from pto_wsp.backends.cpu_sim.c_syntax import ident, scalar
from pto_wsp.backends.cpu_sim.codegen import render_kernels
from pto_wsp.backends.cpu_sim.lower_kernel import args_type, kernel_fn, lower_kernel
from pto_wsp.errors import CompileError, TypeCheckError
from pto_wsp.ir import nodes as ir
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
        for v in vars(example(f)).values():
            if isinstance(v, KernelRef):
                ks.setdefault(v.name, v.ir())
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


KERNELS = all_kernels() | {"cxx_names": cxx_names.ir()}
# why each kernel that is not emitted yet is refused (the rest must be emitted)
REFUSED = {
    "attn_tile": "mixing cube and vector", "expert_ffn": "mixing cube and vector",
    "mm_tile": "TLOAD cannot fill an Acc tile", "float_ops": "no PTO-ISA instruction",
    "int_ops": "no PTO-ISA instruction",
    "scale": "custom C body", "whole": "custom C body", "windows_text": "custom C body",
    "empty_body": "custom C body",
}


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
        if isinstance(p.type, ir.TileType):
            shape = (p.type.rows, p.type.cols)
            a = rng.uniform(0.25, 2.0, shape) if dt.is_float else rng.integers(-20, 20, shape)
            arrays.append(a.astype(dt.np))
        else:
            scalars.append(scalar(0.75 if dt.is_float else 3, dt))
    return arrays, scalars


def _call_lines(k: ir.Kernel, scalars: list[str], cxx: bool) -> str:
    """Fill the kernel's arguments from buf[i] (tile parameter i) and call it."""
    out, ti, si = [], 0, 0
    args = []
    for p in k.params:
        c = ident(p.name)
        if isinstance(p.type, ir.TileType):
            t = {DType.F16: "half", DType.BF16: "bfloat16_t"}.get(p.type.dtype, p.type.dtype.c_type) \
                if cxx else ("pto_bf16_t" if p.type.dtype is DType.BF16 else p.type.dtype.c_type)
            r, cols = p.type.rows, p.type.cols
            if cxx:
                args += [f"({t} *)buf[{ti}]", str(cols)]
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
    if cxx:
        out.append(f"{entry_name(k.name)}({', '.join(args)});")
        out.append("cyc = pto::cpu_sim::read_cycles();")
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
    """One cpu_sim harness (the generated kernels.c) and one host-layer harness (every
    emitted kernel) for all emitted kernels; {name: (kernel, scalars)}."""
    d = tmp_path_factory.mktemp("aicore")
    emitted = {n: k for n, k in KERNELS.items() if n not in REFUSED}
    rng = np.random.default_rng(3)
    data = {n: _inputs(k, rng) for n, k in emitted.items()}
    h, c = render_kernels([lower_kernel(k) for k in emitted.values()])
    (d / "kernels.h").write_text(h)
    (d / "kernels.c").write_text(c)
    for n, k in emitted.items():
        (d / f"kernel_{ident(n)}.cpp").write_text(emit_kernel(k))
    c_main = MAIN.render(head='#include "kernels.h"', kernels=[
        dict(name=n, args_decl=f"{args_type(n)} a; memset(&a, 0, sizeof a);",
             call=_call_lines(k, data[n][1], False)) for n, k in emitted.items()])
    cxx_head = "\n".join(f'#include "kernel_{ident(n)}.cpp"' for n in emitted)
    cxx_main = MAIN.render(head=cxx_head, kernels=[
        dict(name=n, args_decl=f'pto::cpu_sim::begin_kernel("{n}");',
             call=_call_lines(k, data[n][1], True)) for n, k in emitted.items()])
    (d / "c_main.c").write_text(c_main)
    (d / "cxx_main.cpp").write_text(cxx_main)
    rt = f"-I{runtime_dir()}"
    procs = [subprocess.Popen(["gcc", "-std=gnu11", "-O1", rt, f"-I{d}", "c_main.c", "kernels.c",
                               "-lm", "-o", "c_main"], cwd=d),
             subprocess.Popen(["g++", "-std=c++20", "-O1", "-Wall", "-Werror", rt, f"-I{d}",
                               "cxx_main.cpp", "-o", "cxx_main"], cwd=d)]
    assert [p.wait() for p in procs] == [0, 0]
    return d, emitted, data


def _run(exe: Path, name: str, arrays, tmp: Path):
    tmp.mkdir()
    for i, a in enumerate(arrays):
        a.tofile(tmp / f"{i}.bin")
    out = subprocess.run([exe, name, tmp] + [str(a.nbytes) for a in arrays],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return int(out.stdout), [np.fromfile(tmp / f"{i}.out", a.dtype).reshape(a.shape)
                             for i, a in enumerate(arrays)]


@pytest.mark.parametrize("name", sorted(n for n in KERNELS if n not in REFUSED))
def test_emitted_kernel_bit_equal_to_cpu_sim(builds, tmp_path, name):
    d, emitted, data = builds
    arrays = data[name][0]
    sim_cyc, sim = _run(d / "c_main", name, arrays, tmp_path / "c")
    cxx_cyc, got = _run(d / "cxx_main", name, arrays, tmp_path / "cxx")
    assert cxx_cyc == sim_cyc
    for p, a, b in zip([p for p in emitted[name].params if isinstance(p.type, ir.TileType)],
                       got, sim):
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), p.name


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


def test_row_rule_is_a_located_error():
    @kernel
    def odd(x: In[Tile[4, 3, F32]], y: Out[Tile[4, 3, F32]]):
        pto.store(y, pto.exp(x))
    with pytest.raises(CompileError, match="32-byte row rule"):
        emit_kernel(odd.ir())


def test_docs_quote_the_emitted_rmsnorm():
    code = emit_kernel(KERNELS["rmsnorm_tile"]).rstrip("\n")
    assert f"```cpp\n{code}\n```" in (ROOT / "docs/ascend.md").read_text()


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


def test_kernel_compile_refusal_points_at_the_op():
    attn_tile = example(ROOT / "examples/attention_tile.py").attn_tile
    with pytest.raises(CompileError) as e:
        attn_tile.compile(target="ascend_npu")
    assert "pto.mul(pto.matmul(q, kt)" in e.value.loc.source_line()

"""Type checking: mypy (with our plugin, as pyproject.toml configures it) finds nothing wrong in
the examples, sees real types through the public API and `pto.*`, and still reports user
mistakes."""

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]

USER_CODE = textwrap.dedent("""\
    from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, Constexpr, kernel, pto, workload

    @kernel
    def k(x: In[Tile[16, 16, DType.F32]], y: Out[Tile[16, 16, DType.F32]], n: Constexpr[int] = 2):
        reveal_type(x)
        reveal_type(n)
        t = pto.exp(x)
        reveal_type(t)
        pto.store(y, pto.rowmax(t) * 2.0)
        pto.tanhh(x)
        pto.exp(x, 2)

    rows = 64
    axis = Dense[rows // 16]
    reveal_type(axis)
    reveal_type(k)

    @workload
    def w(X: Tensor, Y: Tensor) -> None:
        for i in P(axis):
            k[i](x=X[i], y=Y[i])

    reveal_type(w)
    """)


def test_examples_and_user_code_type_check(tmp_path):
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE)
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
    out, err, _ = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
                                str(tmp_path / "cache"), *examples, str(user)])
    lines = [ln for ln in out.splitlines() if ": " in ln and not ln.startswith("Found")]
    assert not [ln for ln in lines if not ln.startswith(str(user))], out + err
    got = {int(ln.split(":")[1]): ln.split(": ", 2)[-1] for ln in lines}
    expected = {  # line -> words of mypy's message (its exact wording varies by version)
        5: "tracing.ParamValue", 6: 'int"', 8: "tracing.Value",
        10: 'no attribute "tanhh"', 11: 'Too many arguments for "exp"',
        15: "types.DenseAxis", 16: "kernel.KernelRef",
        23: "(X: pto_wsp.types.Tensor, Y: pto_wsp.types.Tensor) -> "
            "pto_wsp.language.workload.Workload",
    }
    assert sorted(got) == sorted(expected), out
    for line, words in expected.items():
        assert words in got[line], (line, got[line])


"""`pto-wsp compile` and `pto-wsp run` on .pto files."""

from pathlib import Path

import numpy as np

from pto_wsp.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "ir" / "corpus"


def test_compile_then_run_with_inputs_and_saved_outputs(tmp_path, capsys):
    src = CORPUS / "rmsnorm.pto"
    assert main(["compile", str(src)]) == 0
    assert "->" in capsys.readouterr().out
    x = np.random.default_rng(3).standard_normal((1, 2, 16, 128)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    rc = main(["run", str(src), "--input", f"X={tmp_path / 'x.npy'}", "--save",
               str(tmp_path / "out"), "--threads", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and "tasks=2" in out and "(cached)" in out
    y = np.load(tmp_path / "out" / "Y.npy")
    np.testing.assert_allclose(y, x / np.sqrt((x * x).mean(-1, keepdims=True)), rtol=1e-5,
                               atol=1e-6)


def test_run_errors_are_diagnostics(tmp_path, capsys):
    src = CORPUS / "rmsnorm.pto"
    np.save(tmp_path / "bad.npy", np.zeros((3,), np.float32))
    assert main(["run", str(src), "--input", f"X={tmp_path / 'bad.npy'}"]) == 1
    assert "declared [1, 2, 16, 128]" in capsys.readouterr().err
    assert main(["run", str(src), "--input", "Nope=x.npy"]) == 1
    assert "not a tensor" in capsys.readouterr().err
    assert main(["run", str(CORPUS / "dynamic.pto")]) == 1  # its window is ABORT, too small
    err = capsys.readouterr().err
    assert "ABORT" in err and "dynamic.pto:" in err

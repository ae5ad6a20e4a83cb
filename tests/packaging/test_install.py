"""The package installs (non-editable) into a fresh virtual environment with its data files."""

from __future__ import annotations

import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts)
             for p in (ROOT / "src").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject packages: {sorted(found - listed)}"


def test_package_data_globs_cover_every_runtime_file():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["pto_wsp.runtime_c"]
    rt = ROOT / "runtime_c"
    shipped = {p for g in globs for p in rt.glob(g)}
    missing = [p.relative_to(rt).as_posix() for p in rt.rglob("*")
               if p.is_file() and p not in shipped and not p.name.startswith(".")]
    assert not missing, f"add package-data globs for {missing}"


@pytest.mark.slow
def test_fresh_venv_non_editable_install(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", str(ROOT)], check=True, cwd=tmp_path)
    probe = (
        "import pathlib, pto_wsp, pto_wsp.resources as r\n"
        "site = pathlib.Path(pto_wsp.__file__).parent\n"
        "for d in (r.runtime_dir(), r.templates_dir(), r.grammar_path().parent):\n"
        "    assert site in d.parents or d.parent == site, d\n"
        "assert r.grammar_path().is_file()\n"
        "assert (r.runtime_dir() / 'pto_rt.h').is_file()\n"
        "assert site in r.docs_dir().parents and (r.docs_dir() / 'api.md').is_file()\n"
        "assert (r.runtime_dir() / 'pto' / 'pto-inst.hpp').is_file()\n"
        "assert (site / 'py.typed').is_file()\n"
        "import pto_wsp.cli, pto_wsp.ir.parser\n"
        "print('ok')\n")
    out = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    cli = subprocess.run([env_dir / "bin" / "pto-wsp", "--help"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr


def test_license_file_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"  # SPDX expression, not the deprecated table form
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")

"""The build cache in hostile places: read-only, full, under a regular file, and debris of
killed builds. Each is served or is a CompileError that says where to point the cache."""

from __future__ import annotations

import errno
import fcntl
import os
import time

import pytest

from pto_wsp import CompileError
from pto_wsp.backends.cpu_sim import build as build_mod

CDEF = "int probe(int);"
SRC = "int probe(int x) { return x + %d; }"


def build(n=1):
    return build_mod.build_extension(CDEF, SRC % n, name_hint="hostile")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PTO_WSP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(build_mod, "_loaded", {})  # every build goes to the cache
    return tmp_path / "cache"


def _fail_with(code):
    def fail(*a, **k):
        raise OSError(code, os.strerror(code), "somewhere")
    return fail


def test_read_only_cache_serves_its_hits(cache, monkeypatch):
    assert build().compiled
    monkeypatch.setattr(build_mod, "_loaded", {})
    # nothing may be written any more: no lock, no directory, no staging
    monkeypatch.setattr(build_mod._file_lock, "__enter__", _fail_with(errno.EROFS))
    monkeypatch.setattr(build_mod.tempfile, "mkdtemp", _fail_with(errno.EROFS))
    r = build()
    assert not r.compiled and r.lib.probe(41) == 42


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"),
                                         (errno.ENOSPC, "file system is full")])
def test_unwritable_or_full_cache_is_a_compile_error(cache, monkeypatch, code, words):
    monkeypatch.setattr(build_mod.tempfile, "mkdtemp", _fail_with(code))
    with pytest.raises(CompileError) as ei:
        build(2)
    assert words in str(ei.value) and "PTO_WSP_CACHE_DIR" in str(ei.value)


def test_cache_path_under_a_regular_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("PTO_WSP_CACHE_DIR", str(tmp_path / "file" / "cache"))
    monkeypatch.setattr(build_mod, "_loaded", {})
    with pytest.raises(CompileError) as ei:
        build(3)
    assert "regular file" in str(ei.value) and "PTO_WSP_CACHE_DIR" in str(ei.value)


def test_a_failed_compile_keeps_its_sources_without_copying(cache, monkeypatch):
    monkeypatch.setattr(build_mod.shutil, "copytree", _fail_with(errno.ENOSPC))
    with pytest.raises(CompileError) as ei:
        build_mod.build_extension(CDEF, "int probe(int x) { return x + ; }", name_hint="bad")
    kept = [p for p in cache.iterdir() if p.name.startswith("failed-")]
    assert len(kept) == 1 and any(p.suffix == ".c" for p in kept[0].iterdir())
    assert str(kept[0]) in str(ei.value)
    assert not list(cache.glob("stage-*"))


def test_stale_staging_directories_are_swept(cache):
    build(4)
    old = time.time() - 2 * build_mod.STALE_STAGE_S
    debris = cache / f"stage-{'a' * 32}-x1"          # killed long ago, key not being built
    young = cache / f"stage-{'b' * 32}-x2"           # a build that may still be running
    held = cache / f"stage-{'c' * 32}-x3"            # old, but its key's lock is held
    for d in (debris, young, held):
        d.mkdir()
        (d / "kernels.c").write_text("")
    os.utime(debris, (old, old))
    os.utime(held, (old, old))
    fd = os.open(cache / f"{'c' * 32}.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        build(5)  # any new build sweeps
    finally:
        os.close(fd)
    assert not debris.exists() and young.exists() and held.exists()

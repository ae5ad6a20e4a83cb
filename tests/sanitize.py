"""Run the runtime's stress tests and compiled workloads under gcc's sanitizers.

    python tests/sanitize.py [address] [thread]      (default: both, one after the other)

For each sanitizer: a fresh build cache, the C runtime and every generated module compiled with
``-fsanitize=...`` (through ``$CFLAGS``, which the build cache keys on), the sanitizer's runtime
preloaded into Python, and the selected tests run; the first report stops the run with a
nonzero exit. ``address`` also enables UndefinedBehaviorSanitizer. Results are recorded in
docs/runtime.md ("Sanitizers"). Not part of the regular suite: it takes several minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/runtime", "tests/codegen/test_differential.py", "tests/codegen/test_csp_e2e.py",
         "tests/codegen/test_cpu_sim.py", "tests/codegen/test_region_reclaim.py",
         "tests/examples/test_examples.py", "tests/codegen/test_plan.py"]
SANITIZERS = {
    "address": ("-fsanitize=address,undefined -fno-sanitize-recover=undefined "
                "-fno-omit-frame-pointer -g", "libasan.so",
                {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",  # Python itself leaks
                 "UBSAN_OPTIONS": "print_stacktrace=1"}),
    "thread": ("-fsanitize=thread -g", "libtsan.so",
               {"TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1"}),
}


def run(kind: str) -> int:
    cflags, lib, options = SANITIZERS[kind]
    preload = subprocess.run([os.environ.get("CC", "gcc"), f"-print-file-name={lib}"],
                             capture_output=True, text=True, check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix=f"pto_wsp_{kind}_"))
    # reports go to files: pytest captures the test's stderr, and a halting report ends the
    # process before pytest could show it
    options = {k: f"{v}:log_path={work / 'report'}" for k, v in options.items()}
    env = dict(os.environ, CFLAGS=cflags, LD_PRELOAD=preload, **options,
               PTO_WSP_CACHE_DIR=str(work / "cache"))
    print(f"== {kind}: CFLAGS={cflags!r}, LD_PRELOAD={preload}", flush=True)
    rc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                         *TESTS], cwd=ROOT, env=env).returncode
    findings = 0
    for r in sorted(work.glob("report*")):
        text = r.read_text()
        print(f"-- {r}\n{text}")
        # notes such as ASan's "does not fully support makecontext" are not findings
        findings += bool(re.search(r"ERROR: |runtime error: |WARNING: ThreadSanitizer", text))
    return rc or findings


def main(argv: list[str]) -> int:
    kinds = argv or list(SANITIZERS)
    unknown = [k for k in kinds if k not in SANITIZERS]
    if unknown:
        sys.exit(f"unknown sanitizer(s) {unknown}; choose from {list(SANITIZERS)}")
    failed = [k for k in kinds if run(k)]
    print("sanitizers: " + ("clean" if not failed else f"reports under {failed}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Test-wide setup: a private build cache per test session unless CI chose one."""

import os
import tempfile

if not os.environ.get("PTO_WSP_CACHE_DIR"):
    os.environ["PTO_WSP_CACHE_DIR"] = tempfile.mkdtemp(prefix="pto_wsp_test_cache_")

"""Test-wide setup: a private build cache per test session unless CI chose one; property tests
without wall-clock deadlines (the 2-core CI machines are shared, timing is not what they test)."""

import os
import tempfile

from hypothesis import settings

if not os.environ.get("PTO_WSP_CACHE_DIR"):
    os.environ["PTO_WSP_CACHE_DIR"] = tempfile.mkdtemp(prefix="pto_wsp_test_cache_")

settings.register_profile("pto_wsp", deadline=None)
settings.load_profile("pto_wsp")

"""Shared test configuration.

Under CI (the environment variable CI is set, as `.ci/run` runs) hypothesis draws the same
examples on every run, so that a red build always reproduces; locally it explores new ones each
time (and remembers failures in .hypothesis/).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The parser's grammar cache (`causal_dsl.syntax_cache`) goes to a directory of this run, not to
# the user's ~/.cache: the tests see a cold cache first, then the one they wrote.
if "CAUSAL_DSL_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["CAUSAL_DSL_CACHE_DIR"] = tempfile.mkdtemp(prefix="causal-dsl-cache-")
    atexit.register(shutil.rmtree, os.environ["CAUSAL_DSL_CACHE_DIR"], ignore_errors=True)

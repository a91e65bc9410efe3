"""Start-up of `causal run` (issue 16): the quick start imports only what its plan needs.

Not a timing test: it runs the quick start in a fresh interpreter and lists the heavy modules
left in ``sys.modules``. scipy.special is needed (the t reference of OLS intervals: stdtr,
stdtrit; the propensity score's expit); scipy.optimize (Rosenbaum bounds' root, about 0.25 s
with HiGHS), scipy.stats, scipy.linalg, scikit-learn, statsmodels, matplotlib and networkx are
not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Neither the quick start's plan (matching, matching, OLS with their cross-checks and fitted
# robustness) nor its output needs any of these: each costs from 0.1 s (scipy.optimize) to over
# a second (scikit-learn) of import time.
NOT_NEEDED = ("scipy.optimize", "scipy.stats", "scipy.linalg", "scipy.interpolate", "sklearn",
              "statsmodels", "matplotlib", "networkx")

DRIVER = """
import contextlib, io, json, sys
sys.argv = ["causal", "run", {file!r}, "-q"]
from causal_dsl.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as done:
        code = done.code
print(json.dumps({{"code": code, "out": out.getvalue(),
                  "modules": sorted(m for m in sys.modules
                              if any(m == h or m.startswith(h + ".") for h in {heavy!r}))}}))
"""


def _run_quick_start(file: str = "examples/heart_drug.causal") -> dict[str, object]:
    code = DRIVER.format(file=file, heavy=NOT_NEEDED)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_quick_start_imports_nothing_its_plan_does_not_need() -> None:
    got = _run_quick_start()
    assert got["code"] == 0
    assert "matching" in str(got["out"]) and "ols" in str(got["out"])  # it did estimate
    assert got["modules"] == [], f"imported by `causal run` of the quick start: {got['modules']}"

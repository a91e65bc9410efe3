"""The estimators, by name: an explicit registry the planner and the CLI consult.

In: a method name as written after ``using`` (or given to ``--method``). Out: the estimator
function ``(frame, design, extra) -> EstimatorResult``. Each estimator lives in its own module:

* ``ols`` — regression adjustment (`causal_dsl.estimators.ols`);
* ``matching`` — nearest-neighbour propensity-score matching (`causal_dsl.estimators.matching`);
* ``did`` — difference-in-differences / two-way fixed effects (`causal_dsl.estimators.did`).

>>> sorted(ESTIMATORS)
['did', 'matching', 'ols']
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..results import EstimatorResult
from . import did, matching, ols
from .common import Design

Estimator = Callable[[pd.DataFrame, Design, "pd.DataFrame | None"], EstimatorResult]

ESTIMATORS: dict[str, Estimator] = {
    "ols": ols.estimate,
    "matching": matching.estimate,
    "did": did.estimate,
}

DESCRIPTIONS: dict[str, str] = {
    "ols": "least squares of the outcome on the treatment and the adjustment set",
    "matching": "nearest-neighbour matching on the propensity score",
    "did": "difference-in-differences with unit and period fixed effects",
}

__all__ = ["DESCRIPTIONS", "ESTIMATORS", "Design", "Estimator"]

"""The estimators, by name: an explicit registry the planner and the CLI consult.

In: a method name as written after ``using`` (or given to ``--method``). Out: the estimator
function ``(frame, design, extra) -> EstimatorResult``. Each estimator lives in its own module:

* ``ols`` — regression adjustment (`causal_dsl.estimators.ols`);
* ``matching`` — nearest-neighbour propensity-score matching (`causal_dsl.estimators.matching`);
* ``stratification`` — exact stratification on discrete covariates
  (`causal_dsl.estimators.stratification`);
* ``did`` — difference-in-differences / two-way fixed effects (`causal_dsl.estimators.did`);
* ``callaway_santanna`` — staggered adoption: group-time ATT(g, t) and their aggregations
  (`causal_dsl.estimators.staggered`; Goodman-Bacon decomposition in `.bacon`);
* ``iv`` — instrumental variables, two-stage least squares (`causal_dsl.estimators.iv`);
* ``frontdoor`` — front-door estimation through mediators (`causal_dsl.estimators.frontdoor`).

>>> sorted(ESTIMATORS)
['callaway_santanna', 'did', 'frontdoor', 'iv', 'matching', 'ols', 'stratification']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pandas as pd

from ..results import EstimatorResult
from .common import Design
from .guard import guarded

Estimator = Callable[[pd.DataFrame, Design, "pd.DataFrame | None"], EstimatorResult]

# name -> (module in this package, function). The modules are imported when their estimator
# first runs, not here: `causal run` of a matching study need not import IV's optimisers and
# networkx, nor the staggered-adoption code (start-up time, issue 16).
MODULES: dict[str, tuple[str, str]] = {
    "ols": ("ols", "estimate"),
    "matching": ("matching", "estimate"),
    "stratification": ("stratification", "estimate"),
    "did": ("did", "estimate"),
    "callaway_santanna": ("staggered", "callaway_santanna"),
    "iv": ("iv", "estimate"),
    "frontdoor": ("frontdoor", "estimate"),
}


def _lazy(name: str) -> Estimator:
    module, function = MODULES[name]

    def run(frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
            ) -> EstimatorResult:
        estimator: Estimator = getattr(importlib.import_module(f"{__name__}.{module}"), function)
        return estimator(frame, design, extra)

    run.__name__ = run.__qualname__ = f"{module}.{function}"
    return run


# Every estimator handed out is guarded (`.guard`): a constant outcome or an oversized dummy
# design is refused before it runs, and a non-finite estimate is an error, never an answer.
ESTIMATORS: dict[str, Estimator] = {name: guarded(name, _lazy(name)) for name in MODULES}

DESCRIPTIONS: dict[str, str] = {
    "ols": "least squares of the outcome on the treatment and the adjustment set",
    "matching": "nearest-neighbour matching on the propensity score",
    "stratification": "exact stratification: within-cell differences in means, weighted by the "
    "target population's cell shares",
    "did": "difference-in-differences with unit and period fixed effects",
    "callaway_santanna": "Callaway & Sant'Anna (2021) group-time DiD for staggered adoption, "
    "aggregated to an overall ATT and an event study",
    "iv": "two-stage least squares, the treatment instrumented (first stage, effective F, "
    "Anderson–Rubin set)",
    "frontdoor": "front-door estimation through mediators that carry the whole effect",
}

__all__ = ["DESCRIPTIONS", "ESTIMATORS", "MODULES", "Design", "Estimator"]

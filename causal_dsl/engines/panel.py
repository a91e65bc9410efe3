"""Two-way fixed effects in the engine without iterating: period effects as dummies, unit
effects swept out exactly by the unit means, both from aggregates — no table is written.

In: an `Engine`, the SELECT of y, c0..c{p-1} (treatment and covariates) with raw columns
``_u`` (unit), ``_t`` (period) and ``_g`` (cluster) over the kept rows, the regressors' names,
the periods. Out: a `LinearFit` for the regressors (the period dummies' coefficients dropped),
CR1 by ``_g``, or None when the clusters are not nested in the units (the caller then runs the
alternating projections of `sufficient.demean`).

Why it is exact. By Frisch–Waugh–Lovell, the coefficient of the two-way regression equals that
of the unit-demeaned regression of y on [X, period dummies] — one-way demeaning is exact on any
panel, balanced or not — and the residuals are the same, so the clustered sandwich of the X
block is the same too. Unit demeaning needs no pass that writes rows:
X̃'X̃ = X'X − Σ_u S_u S_u'/n_u with S_u = Σ_{i∈u} zᵢ (one aggregate of raw products and one of
per-unit sums). For the meat, with rᵢ = yᵢ − zᵢ'β on the raw columns, the unit-demeaned
residual is rᵢ − r̄_u, and a unit's score is Σ_{i∈u} zᵢrᵢ − S_u·Σ_{i∈u} rᵢ/n_u; units nested in
clusters add up to the cluster scores. Period dummies make the design p + T − 1 wide: used up to
`MAX_PERIODS` periods. Raises what `sufficient.solve` raises (E510) and E511 (one cluster).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import Diagnostic, EstimationError, Span
from ..estimators.ols import LinearFit
from . import sufficient
from .source import Engine

MAX_PERIODS = 60


def _lit(v: object) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return sufficient._num(float(v))
    return "'" + str(v).replace("'", "''") + "'"


def twfe(eng: Engine, table: str, names: Sequence[str], periods: Sequence[object],
         span: Span | None = None) -> LinearFit | None:
    """The fit (see the module docstring); None when clusters are not nested in units."""
    nested, = eng.one(f"SELECT COUNT(*) FROM (SELECT _u FROM ({table}) w GROUP BY _u HAVING "
                      "COUNT(DISTINCT _g) > 1) x")
    if nested:
        return None
    p = len(names)
    dummies = [f"(CASE WHEN _t = {_lit(v)} THEN 1.0 ELSE 0.0 END)" for v in periods[1:]]
    q = p + len(dummies)
    zs = [f"c{j}" for j in range(p)] + [f"z{j}" for j in range(len(dummies))]
    rows = (f"SELECT *, {', '.join(f'{e} AS z{j}' for j, e in enumerate(dummies))} FROM "
            f"({table}) b") if dummies else table
    raw, n = sufficient.gram(eng, rows, [*zs, "y"])
    sums = ", ".join(f"SUM({c}) / SQRT(COUNT(*)) AS s_{c}" for c in [*zs, "y"])
    between, units = sufficient.gram(eng, f"SELECT {sums} FROM ({rows}) r GROUP BY _u",
                                     [f"s_{c}" for c in [*zs, "y"]])
    within = raw - between
    all_names = [*names, *(f"period[{v}]" for v in periods[1:])]
    beta, xtx_inv = sufficient.solve(within[:q, :q], within[:q, q], all_names, span)
    k = q
    if n - k < 1:
        raise EstimationError(Diagnostic(
            "E412", f"too few rows: {n} complete rows for a regression with {k} parameters",
            span, help="a regression needs more rows than parameters"))
    resid = "(y - (" + " + ".join(f"{sufficient._num(b)} * {c}" for b, c in
                                   zip(beta, zs, strict=True)) + "))"
    per_unit = ", ".join(f"SUM({c} * r) - SUM({c}) * SUM(r) / COUNT(*) AS a_{c}" for c in zs)
    scores = ", ".join(f"SUM(a_{c}) AS s_{c}" for c in zs)
    meat, g = sufficient.gram(
        eng, f"SELECT {scores} FROM (SELECT ANY_VALUE(_g) AS _g, {per_unit} FROM (SELECT *, "
        f"{resid} AS r FROM ({rows}) r0) r1 GROUP BY _u) a GROUP BY _g",
        [f"s_{c}" for c in zs])
    if g < 2:
        raise EstimationError(Diagnostic(
            "E511", f"clustered standard errors need at least two clusters; found {g}", span,
            help="cluster on a column with several values"))
    cov = g / (g - 1) * (n - 1) / (n - k) * (xtx_inv @ meat @ xtx_inv)
    kind = (f"cluster-robust CR1 with {g} clusters: small-sample factor G/(G−1)·(N−1)/(N−K) "
            f"with K = {k} (Stata, pyfixest); t({g - 1}) reference")
    del units
    return LinearFit(tuple(names), beta[:p], cov[:p, :p], n, k, n - k, g - 1, kind, g,
                     within[:p, :p])

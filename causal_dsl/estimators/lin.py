"""Lin's (2013) fully interacted regression adjustment, for randomised treatments.

In: a coded estimation frame with a binary (0/1) treatment and `Design.covariates` measured
before treatment (the planner passes the observed causes of the outcome that the treatment cannot
affect). Out: an `EstimatorResult` with the ATE (or ATT / ATC) and the regression table.

Method (Lin 2013, *Annals of Applied Statistics* 7(1)): least squares of
Y on 1 + D + (X − x̄) + D·(X − x̄), with x̄ the covariate means of the target population (all
units for the ATE, the treated for the ATT, the controls for the ATC). The coefficient on D is then
the difference between the two arms' regression predictions averaged over the target: adjustment
that can never hurt asymptotic precision, unlike the additive ANCOVA form (Freedman 2008).
Standard errors are heteroskedasticity-consistent, HC2 by default — the convention of
`estimatr::lm_lin` (HC2 on the centred, interacted design; statsmodels gives the same numbers);
``se`` may name another HC type. Reference distribution t(n − k).

Covariates that are constant in the sample are dropped with a note (they carry no information and
would make the design singular). Raises what `fit_linear` raises (E412 too few rows, E510 a
rank-deficient design) and E508 for an unknown ``se``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import Check, Estimate, EstimatorResult, Table
from .common import Design, design_matrix, numeric, option_error
from .ols import fit_linear

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """Lin's interacted OLS for `design` (see the module docstring)."""
    se = str(design.option("se") or "HC2")
    if se not in HC_TYPES:
        raise option_error(design, f"Lin's estimator takes se = {', '.join(HC_TYPES)}; got "
                           f"'{se}'", "HC2 is the convention of estimatr::lm_lin")
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    x, names = design_matrix(frame, design.covariates)
    checks: list[Check] = []
    varies = x.std(axis=0) > 0 if x.shape[1] else np.zeros(0, dtype=bool)
    constant = [n for n, v in zip(names, varies, strict=True) if not v]
    if constant:
        checks.append(Check("note", "constant in the sample, left out: " + ", ".join(constant)))
    x = x[:, varies]
    names = [n for n, v in zip(names, varies, strict=True) if v]
    target = {"att": d == 1, "atc": d == 0}.get(design.estimand, np.ones(len(d), dtype=bool))
    centre = x[target].mean(axis=0) if x.shape[1] else np.zeros(0)
    xc = x - centre
    cols = [np.ones(len(y)), d, *xc.T, *(d[:, None] * xc).T]
    labels = ["(intercept)", design.treatment, *(f"{n} − mean" for n in names),
              *(f"{design.treatment} × ({n} − mean)" for n in names)]
    fit = fit_linear(np.column_stack(cols), y, labels, se=se, span=design.span)
    label = design.estimand.upper()
    raw = fit.estimate(design.treatment, label)
    where = {"att": "the treated", "atc": "the controls"}.get(design.estimand, "all units")
    est = Estimate.from_se(raw.effect, raw.se, n=raw.n, label=label, df=raw.df,
                           se_kind=f"{se} (heteroskedasticity-consistent; estimatr::lm_lin "
                           "convention)")
    rows = tuple((nm, float(fit.params[i]), float(fit.se[i])) for i, nm in enumerate(labels))
    table = Table("Lin (2013) interacted regression (covariates centred at the means of "
                  f"{where})", ("term", "coef", "SE"), rows)
    checks.append(Check("note", "randomised treatment: the covariates only sharpen the "
                        "estimate (Lin 2013); the difference in means is unbiased without them"))
    desc = (f"Lin (2013) regression adjustment: {design.outcome} on {design.treatment}, the "
            f"centred covariates ({' + '.join(names) or 'none'}) and their interactions with "
            f"{design.treatment}; {fit.nobs} rows")
    details: tuple[tuple[str, object], ...] = (("covariates", tuple(names)), ("se", se),
                                               ("k", fit.k))
    return EstimatorResult("lin", design.estimand, est, desc, tuple(checks), (table,), details)

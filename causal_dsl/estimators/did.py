"""Difference-in-differences: two-way fixed effects on panels, the 2×2 design, event studies.

In: a coded estimation frame with a binary (0/1) treatment, and either

* a panel — `Design.unit` and `Design.time` name integer-coded columns of `extra` (time codes in
  sorted order of the periods); options ``cluster`` (default: the unit) and ``event_study``
  (default: when the design allows it); or
* a repeated cross-section 2×2 — options ``group`` and ``period`` name binary variables, and the
  treatment must equal group × period.

Out: an `EstimatorResult` with the ATT (the effect on the units that switched on), a table of the
group × period means (2×2 designs), the regression form, and an event-study table with a joint
pre-trend test where there are at least two pre-periods.

Method. Panel: Yᵢₜ = αᵢ + λₜ + τ·Dᵢₜ + Xᵢₜβ + εᵢₜ fitted by the within transformation —
alternating projections that subtract unit and period means until nothing changes (exact in one
sweep for balanced panels) — then least squares on the demeaned columns. No dummy columns for
units. Covariates that never change within a unit are absorbed by the unit effects and dropped
(with a note). Standard errors are clustered (CR1, the convention of Stata's reghdfe and of
fixest/pyfixest): V = G/(G−1)·(N−1)/(N−K)·(X̃'X̃)⁻¹ Σ_g X̃_g'ẽ_g ẽ_g'X̃_g (X̃'X̃)⁻¹, with K the slope
coefficients plus the T−1 period effects; unit effects are nested in unit clusters and not
counted. Reference distribution t(G−1). (linearmodels counts the absorbed unit effects in K, so on
a two-period panel its standard errors are larger by about √2.)

Raises `DataError` E409 (duplicate unit-period rows), E414 (treatment is not group × period),
`EstimationError` E505 (the treatment never switches on within a unit), E508 (options).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic, EstimationError
from ..results import Check, Estimate, EstimatorResult, Table, fmt
from .cells import cell_estimate, is_cell_table
from .common import Design, design_matrix, group_sums, numeric, option_error, refuse_weights
from .ols import LinearFit, fit_linear

EVENT_WINDOW = 10  # event times beyond ±10 periods are binned into the end points
FEW_CLUSTERS = 30


# --------------------------------------------------------------------------------------------
# the within transformation
# --------------------------------------------------------------------------------------------
def demean(
    z: np.ndarray, groupings: list[np.ndarray], *, tol: float = 1e-10, max_iter: int = 10_000,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Project out the fixed effects of every grouping (integer codes) by alternating
    projections (Gauss–Seidel demeaning). Returns the residual columns, the number of sweeps
    and whether it converged. With `weights` the group means are weighted (the projection of
    weighted least squares, as pyfixest and reghdfe demean with weights)."""
    z = np.array(z, dtype=np.float64, copy=True)
    if z.ndim == 1:
        z = z[:, None]
    counts = [np.bincount(g, weights=weights) for g in groupings]
    scale = np.maximum(np.abs(z).max(axis=0), 1.0)
    for sweep in range(1, max_iter + 1):
        change = 0.0
        for g, c in zip(groupings, counts, strict=True):
            sums = group_sums(g, z if weights is None else z * weights[:, None], len(c))
            means = sums / np.where(c > 0, c, 1)[:, None]
            z -= means[g]
            change = max(change, float((np.abs(means).max(axis=0) / scale).max()))
        if change < tol or len(groupings) == 1:
            return z, sweep, True
    return z, max_iter, False


def absorption(
    x: np.ndarray, unit: np.ndarray, time: np.ndarray, *, rtol: float = 1e-7
) -> list[str | None]:
    """For each column: "unit" if it is constant within units, "period" if constant within
    periods, "both" if it is a unit-level plus a period-level part (so the two sets of fixed
    effects absorb it jointly), or None if it varies within unit and period (a control)."""
    if x.ndim == 1:
        x = x[:, None]
    scale = np.maximum(x.std(axis=0), 1e-300)
    out: list[str | None] = []
    flat = [demean(x, [g])[0].std(axis=0) <= rtol * scale for g in (unit, time)]
    two, _, _ = demean(x, [unit, time])
    joint = two.std(axis=0) <= 1e-6 * scale
    for j in range(x.shape[1]):
        out.append("unit" if flat[0][j] else "period" if flat[1][j] else
                   "both" if joint[j] else None)
    return out


ABSORBED_BY = {"unit": "constant within units: unit fixed effects",
               "period": "constant within periods: period fixed effects",
               "both": "a unit-level plus a period-level part: both sets of fixed effects"}


def absorbed_columns(
    x: np.ndarray, names: list[str], unit: np.ndarray, time: np.ndarray
) -> tuple[np.ndarray, list[str], Check | None]:
    """Drop the columns the fixed effects absorb, with a note that names them: adjusting for
    them is already done by the fixed effects, and keeping them would make the design singular."""
    kinds = absorption(x, unit, time)
    if not any(kinds):
        return x, names, None
    parts = []
    for kind, text in ABSORBED_BY.items():
        hit = [n for n, k in zip(names, kinds, strict=True) if k == kind]
        if hit:
            parts.append(f"{', '.join(hit)} ({text})")
    keep = np.array([k is None for k in kinds])
    note = Check("note", "absorbed by the fixed effects and left out of the regression: "
                 + "; ".join(parts))
    return x[:, keep], [n for n, k in zip(names, keep, strict=True) if k], note


@dataclass(frozen=True)
class Pattern:
    """How the treatment unfolds over time in a panel."""

    n_units: int
    n_periods: int
    switchers: int  # units that go from 0 to 1
    switch_off: int  # units that go from 1 to 0 at least once
    always: int  # treated in their first observed period
    never: int
    cohorts: int  # distinct adoption periods among switchers
    max_pre: int  # most periods observed before adoption, over switchers
    balanced: bool
    adoption: np.ndarray  # per unit: adoption period code, or -1


def treatment_pattern(unit: np.ndarray, time: np.ndarray, d: np.ndarray) -> Pattern:
    """Who switches on, off, is always or never treated (vectorised over sorted rows)."""
    n_u = int(unit.max()) + 1 if len(unit) else 0
    n_t = int(time.max()) + 1 if len(time) else 0
    order = np.lexsort((time, unit))
    us, ds, ts = unit[order], d[order], time[order]
    same = us[1:] == us[:-1]
    step = np.diff(ds)
    on_units = np.unique(us[1:][same & (step > 0)])
    off_units = np.unique(us[1:][same & (step < 0)])
    first = np.ones(len(us), dtype=bool)
    first[1:] = ~same
    always_units = us[first & (ds == 1)]
    ever = np.bincount(unit, weights=d, minlength=n_u) > 0
    adoption = np.full(n_u, -1)
    on_rows = np.ones(len(us), dtype=bool)
    on_rows[1:] = ~same | (step > 0)
    on_rows &= ds == 1
    # the first switch-on of each switcher unit: its adoption period
    sw = np.isin(us, on_units) & on_rows & ~first
    firsts = pd.Series(ts[sw]).groupby(us[sw]).min()
    adoption[firsts.index.to_numpy()] = firsts.to_numpy()
    pre = np.zeros(n_u, dtype=np.int64)
    if len(on_units):
        before = (ts < adoption[us]) & (adoption[us] >= 0)
        pre = np.bincount(us[before], minlength=n_u)
    per_unit = np.bincount(unit, minlength=n_u)
    return Pattern(
        n_units=int((per_unit > 0).sum()),
        n_periods=len(np.unique(time)),
        switchers=len(on_units),
        switch_off=len(off_units),
        always=len(always_units),
        never=int(((~ever) & (per_unit > 0)).sum()),
        cohorts=len(np.unique(adoption[adoption >= 0])),
        max_pre=int(pre.max()) if len(pre) else 0,
        balanced=bool(per_unit.min() == per_unit.max() == n_t) if n_u else True,
        adoption=adoption,
    )


# --------------------------------------------------------------------------------------------
# estimator
# --------------------------------------------------------------------------------------------
def _within_fit(
    y: np.ndarray, cols: np.ndarray, names: list[str], unit: np.ndarray, time: np.ndarray,
    clusters: np.ndarray, design: Design, n_periods: int, weights: np.ndarray | None = None,
) -> tuple[LinearFit, int, bool]:
    z, sweeps, converged = demean(np.column_stack([y, cols]), [unit, time],
                                  weights=weights)
    nested = bool((pd.Series(clusters).groupby(unit).nunique() == 1).all())
    extra_k = (n_periods - 1) + (0 if nested else len(np.unique(unit)))
    fit = fit_linear(z[:, 1:], z[:, 0], names, se="cluster", clusters=clusters,
                     extra_k=extra_k, span=design.span, weights=weights,
                     weight_kind=design.weight_kind)
    return fit, sweeps, converged


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    if design.option("group") is not None or design.option("period") is not None:
        return _cross_section(frame, design, extra)
    if design.unit is None or design.time is None or extra is None:
        raise option_error(design, "difference-in-differences needs panel data or a 2×2 design",
                           "bind panel data with `data \"f.csv\" panel(unit = u, time = t)`, or "
                           "give did(group = g, period = p) for repeated cross-sections")
    return _panel(frame, design, extra)


def _panel(frame: pd.DataFrame, design: Design, extra: pd.DataFrame) -> EstimatorResult:
    unit = extra[design.unit].to_numpy()
    time = extra[design.time].to_numpy()
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    key = unit.astype(np.int64) * (int(time.max()) + 1) + time
    _, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        dup = int((counts > 1).sum())
        raise DataError(Diagnostic(
            "E409",
            f"the panel has {dup} (unit, period) pair(s) with more than one row "
            f"({design.unit}, {design.time})",
            design.span,
            help="each unit must appear once per period; aggregate the rows or fix the "
            "unit/time columns",
        ))
    pat = treatment_pattern(unit, time, d)
    if pat.switchers == 0:
        raise EstimationError(Diagnostic(
            "E505",
            f"the treatment '{design.treatment}' never switches on within a unit: "
            f"{pat.always} unit(s) always treated, {pat.never} never treated",
            design.span,
            help="difference-in-differences compares units before and after they start "
            "treatment; it needs units observed untreated and then treated",
        ))
    cluster_name = design.cluster or design.unit
    clusters = extra[cluster_name].to_numpy()
    xc, cnames = design_matrix(frame, design.covariates)
    checks: list[Check] = []
    if xc.shape[1]:
        xc, cnames, note = absorbed_columns(xc, cnames, unit, time)
        if note:
            checks.append(note)
    cols = np.column_stack([d, xc])
    names = [design.treatment, *cnames]
    fit, sweeps, converged = _within_fit(y, cols, names, unit, time, clusters, design,
                                         pat.n_periods, design.weights)
    est = fit.estimate(design.treatment, "ATT")
    g = fit.n_clusters or 0
    se_kind = (f"clustered by {cluster_name} (CR1: G/(G−1)·(N−1)/(N−K), G = {g}, K = {fit.k} "
               f"counting the period effects; Stata reghdfe / pyfixest convention); t({g - 1})")
    est = Estimate.from_se(est.effect, est.se, n=est.n, label="ATT", se_kind=se_kind,
                           df=est.df)
    tables: list[Table] = []
    details: dict[str, object] = {
        "units": pat.n_units, "periods": pat.n_periods, "switchers": pat.switchers,
        "never_treated": pat.never, "always_treated": pat.always, "switch_off": pat.switch_off,
        "cohorts": pat.cohorts, "balanced": pat.balanced, "clusters": g, "k": fit.k,
        "demeaning_sweeps": sweeps,
    }
    if not converged:
        checks.append(Check("warning", f"the within transformation did not converge in {sweeps}"
                            " sweeps; the estimate may be imprecise"))
    checks.append(Check(
        "note",
        f"{pat.n_units} units over {pat.n_periods} periods ("
        + ("balanced" if pat.balanced else "unbalanced") + f"); {pat.switchers} switch on, "
        f"{pat.never} never treated, {pat.always} treated throughout",
    ))
    if design.estimand != "att":
        checks.append(Check("note", f"difference-in-differences identifies the effect on the "
                            f"units that switched on (ATT), not the {design.estimand.upper()}"))
    if pat.switch_off:
        checks.append(Check("warning", f"the treatment switches off again in {pat.switch_off} "
                            "unit(s): two-way fixed effects then assume the effect stops at once"))
    if pat.cohorts > 1:
        checks.append(Check(
            "warning",
            f"staggered adoption ({pat.cohorts} adoption periods): if effects change over time, "
            "two-way fixed effects can give some comparisons negative weight (Goodman-Bacon "
            "2021); compare with an estimator built for staggered designs (Callaway & "
            "Sant'Anna 2021)",
        ))
    if pat.never == 0:
        checks.append(Check("note", "no never-treated units: the comparison rests on units not "
                            "yet treated"))
    if not est.se > 1e-8 * max(1.0, abs(est.effect)):
        checks.append(Check("warning", f"the clustered standard error is numerically zero: with "
                            f"{g} clusters the scores cancel within clusters, so the variance "
                            f"cannot be estimated; cluster on {design.unit} (the default)"))
    if g < FEW_CLUSTERS:
        checks.append(Check("warning", f"only {g} clusters: cluster-robust standard errors are "
                            f"unreliable with fewer than about {FEW_CLUSTERS}"))
    # 2×2: two periods, one adoption period, never-treated comparison group ---------------
    if pat.n_periods == 2 and pat.never > 0 and pat.always == 0 and pat.switch_off == 0:
        group = (pat.adoption[unit] >= 0).astype(np.float64)
        post = (time == time.max()).astype(np.float64)
        tables += _two_by_two(y, group, post, clusters, design, details)
    # event study -----------------------------------------------------------------------------
    want = design.option("event_study")
    possible = pat.max_pre >= 2 and pat.never > 0 and pat.switch_off == 0
    if want is True and not possible:
        checks.append(Check("note", "event study not possible: it needs at least two periods "
                            "before adoption, never-treated units and a treatment that stays on"))
    if possible and want is not False:
        tbl, check, figures = _event_study(y, d, xc, cnames, unit, time, pat, clusters, design)
        tables.append(tbl)
        checks.append(check)
        details.update(figures)
    elif pat.max_pre < 2 and want is not True:
        checks.append(Check("note", "pre-trends cannot be tested: fewer than two periods are "
                            "observed before adoption"))
    covs = " + ".join(cnames) if cnames else "no covariates"
    desc = (f"two-way fixed effects: {design.outcome} on {design.treatment} with {design.unit} "
            f"and {design.time} fixed effects ({covs}); within transformation, {fit.nobs} rows")
    return EstimatorResult("did", "att", est, desc, tuple(checks), tuple(tables),
                           tuple(details.items()))


def _two_by_two(
    y: np.ndarray, group: np.ndarray, post: np.ndarray, clusters: np.ndarray | None,
    design: Design, details: dict[str, object], se: str = "cluster",
) -> list[Table]:
    """Group × period means and the regression form Y ~ 1 + G + P + G·P."""
    means = np.full((2, 2), np.nan)
    for gi in (0, 1):
        for pi in (0, 1):
            sel = (group == gi) & (post == pi)
            if sel.any():
                means[gi, pi] = y[sel].mean()
    did_means = (means[1, 1] - means[1, 0]) - (means[0, 1] - means[0, 0])
    tbl = Table(
        "Group × period means (2×2)",
        ("group", "before", "after", "change"),
        (
            ("treated group", means[1, 0], means[1, 1], means[1, 1] - means[1, 0]),
            ("comparison group", means[0, 0], means[0, 1], means[0, 1] - means[0, 0]),
            ("difference-in-differences", "", "", did_means),
        ),
    )
    x = np.column_stack([np.ones(len(y)), group, post, group * post])
    names = ["(intercept)", "group", "post", "group × post"]
    fit = fit_linear(x, y, names, se=se if clusters is not None else "HC1", clusters=clusters,
                     span=design.span, weights=design.weights, weight_kind=design.weight_kind)
    e = fit.estimate("group × post", "ATT")
    details.update({"did_of_means": float(did_means), "regression_form": e.effect,
                    "regression_form_se": e.se})
    reg = Table(
        "Regression form: Y ~ 1 + group + post + group × post",
        ("term", "coef", "SE", "p"),
        tuple((nm, float(fit.params[i]), float(fit.se[i]),
               fit.estimate(nm, "").p_value) for i, nm in enumerate(names)),
    )
    return [tbl, reg]


def _event_study(
    y: np.ndarray, d: np.ndarray, xc: np.ndarray, cnames: list[str], unit: np.ndarray,
    time: np.ndarray, pat: Pattern, clusters: np.ndarray, design: Design,
) -> tuple[Table, Check, dict[str, object]]:
    """Leads and lags around adoption (reference: the period before), with a joint Wald test
    that the leads are zero. Units treated throughout are left out (they have no 'before')."""
    adopt = pat.adoption[unit]
    # units treated from their first observed period have no 'before': leave them out, or they
    # would pose as untreated comparisons
    ever = np.bincount(unit, weights=d, minlength=len(pat.adoption)) > 0
    keep = ~(ever & (pat.adoption < 0))[unit]
    e = np.where(adopt >= 0, time - adopt, np.iinfo(np.int64).min)
    switcher = adopt >= 0
    e_clip = np.clip(e, -EVENT_WINDOW, EVENT_WINDOW)
    events = sorted(set(np.unique(e_clip[switcher]).tolist()) - {-1})
    cols = np.column_stack([(switcher & (e_clip == k)).astype(np.float64) for k in events])
    x = np.column_stack([cols, xc]) if xc.shape[1] else cols
    names = [f"e{k:+d}" for k in events] + cnames
    w = None if design.weights is None else design.weights[keep]
    fit, _, _ = _within_fit(y[keep], x[keep], names, unit[keep], time[keep], clusters[keep],
                            design, pat.n_periods, w)
    rows = []
    for i, k in enumerate(events):
        est = fit.estimate(names[i], "")
        rows.append((k, est.effect, est.se, est.ci_low, est.ci_high, est.p_value))
    rows.append((-1, 0.0, 0.0, 0.0, 0.0, float("nan")))
    rows.sort(key=lambda r: r[0])
    leads = [i for i, k in enumerate(events) if k <= -2]
    b = fit.params[leads]
    v = fit.cov[np.ix_(leads, leads)]
    q = len(leads)
    wald = float(b @ np.linalg.pinv(v) @ b)
    g = fit.n_clusters or 2
    from scipy import special  # here: a quarter of a second to import, pre-trend tests only

    p = float(special.fdtrc(q, g - 1, wald / q))
    table = Table(
        f"Event study (periods relative to adoption; reference −1; ends binned at "
        f"±{EVENT_WINDOW})",
        ("event time", "coef", "SE", "95% low", "95% high", "p"),
        tuple(rows),
    )
    if p < 0.05:
        check = Check(
            "warning",
            f"pre-trends differ: the {q} pre-adoption coefficient(s) are jointly non-zero "
            f"(F = {fmt(wald / q, 3)}, p = {fmt(p, 3)}): the treated units were already on a "
            "different path before treatment, so the parallel-trends assumption behind the "
            "estimate is doubtful",
        )
    else:
        check = Check(
            "ok",
            f"pre-trends: the {q} pre-adoption coefficient(s) are jointly compatible with zero "
            f"(F = {fmt(wald / q, 3)}, p = {fmt(p, 3)})",
        )
    return table, check, {"pretrend_F": wald / q, "pretrend_p": p, "pretrend_leads": q}


def _cross_section(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None
) -> EstimatorResult:
    gname, pname = design.option("group"), design.option("period")
    if gname is None or pname is None:
        raise option_error(design, "a 2×2 design needs both group = ... and period = ...",
                           "e.g. did(group = treated_state, period = after)")
    for nm in (gname, pname):
        if nm not in frame.columns:
            raise option_error(design, f"'{nm}' is not a variable in the sample",
                               "group and period must be declared binary variables")
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    grp, post = numeric(frame, gname), numeric(frame, pname)
    for nm, v in ((gname, grp), (pname, post)):
        if not np.isin(v, [0.0, 1.0]).all():
            raise option_error(design, f"'{nm}' must be binary (0/1) for a 2×2 design",
                               f"declare {nm} as binary")
    if is_cell_table(design, grp, post):
        refuse_weights(design, "did on a 2×2 table of cell means")
        return cell_estimate(frame, design, y, d, grp, post)
    mismatch = int((d != grp * post).sum())
    if mismatch:
        raise DataError(Diagnostic(
            "E414",
            f"in a 2×2 design the treatment '{design.treatment}' must be 1 exactly in the "
            f"treated group after the change ({gname} × {pname}); {mismatch} row(s) differ",
            design.span,
            help="check the group and period columns, or bind panel data instead",
        ))
    clusters = extra[design.cluster].to_numpy() if (design.cluster and extra is not None) \
        else None
    details: dict[str, object] = {}
    tables = _two_by_two(y, grp, post, clusters, design, details,
                         se="cluster" if clusters is not None else "HC1")
    # the 2×2 regression has group, period and their product already: no term twice
    same = [c for c in design.covariates if c in (gname, pname, design.treatment)]
    xc, cnames = design_matrix(frame, [c for c in design.covariates if c not in same])
    x = np.column_stack([np.ones(len(y)), grp, post, grp * post, xc])
    names = ["(intercept)", gname, pname, design.treatment, *cnames]
    fit = fit_linear(x, y, names, se="cluster" if clusters is not None else "HC1",
                     clusters=clusters, span=design.span, weights=design.weights,
                     weight_kind=design.weight_kind)
    est = fit.estimate(design.treatment, "ATT")
    checks = [Check("note", "repeated cross-sections: each period's rows are different units; "
                    "parallel trends of the group means is assumed, not testable with two "
                    "periods")]
    if same:
        checks.append(Check("note", f"{', '.join(same)}: already in the 2×2 regression as group, "
                            "period or their product; not added again"))
    desc = (f"2×2 difference-in-differences: {design.outcome} on {gname} + {pname} + "
            f"{gname} × {pname}" + (f" + {' + '.join(cnames)}" if cnames else ""))
    return EstimatorResult("did", "att", est, desc, tuple(checks), tuple(tables),
                           tuple(details.items()))

"""Nearest-neighbour matching on the propensity score (ATT, ATC, ATE).

In: a coded estimation frame with a binary (0/1) treatment, and a `Design` with options
``k`` (matches per unit, default 1), ``caliper`` (maximum distance in standard deviations of the
logit score), ``replace`` (default true), ``exact`` (variables to match exactly on),
``se`` ("abadie-imbens" (default) or "bootstrap"), ``bootstrap`` (replications, default 500)
and ``bias_adjust`` (Abadie & Imbens 2011 regression bias adjustment, default false).

Out: an `EstimatorResult` with the estimate, a balance table (standardized mean differences
before and after matching, MatchIt's convention: the denominator is the standard deviation of the
treated for the ATT, of the controls for the ATC, and the pooled sqrt((s²₁+s²₀)/2) for the ATE,
always computed before matching) and an overlap report.

Method. The propensity score is a logistic regression (scikit-learn, unpenalised, Newton-Cholesky
up to 50,000 rows and L-BFGS to 1e-10 beyond, covariates standardised) of the treatment on the
adjustment set (categorical variables as dummies); units are matched on its logit. Nearest
neighbours come from a sorted 1-D search (`np.searchsorted` plus a window of k candidates on each
side): O(n log n), no n x n distance matrix. With ``exact`` the sort key is (stratum, score) and
candidates from another stratum are excluded. Without replacement matching is greedy, targets in
descending order of the score (MatchIt's default).

Standard errors: Abadie & Imbens (2006, Econometrica 74(1), eq. 14 and Theorem 7), the
variance of the matching estimator for the population effect, treating the score as known:
V = 1/N² [ Σ_targets (Ŷ₁ᵢ − Ŷ₀ᵢ − τ̂)² + Σ_j ((sⱼ + K̃ⱼ)² − (sⱼ + Qⱼ)) σ̂²ⱼ ], where K̃ⱼ is the
weight with which unit j serves as a match (times used divided by the number of matches of the
unit it serves), Qⱼ the sum of those weights squared, sⱼ = 1 when j is itself a target, and
σ̂²ⱼ = J/(J+1)·(Yⱼ − mean of its J = 2 nearest same-arm neighbours)² (Stata's ``nn(2)``). With
k fixed matches this is AI's ((K/M)² + (2M−1)/M·K/M) for the ATE and K(K−1)/M² for the ATT.
Abadie & Imbens (2016) show that ignoring the estimation of the score makes this conservative
for the ATE. The bootstrap option resamples rows and re-runs score and matching; note that
Abadie & Imbens (2008) show the bootstrap is not valid for matching with replacement and a fixed
number of matches, so it is offered for comparison only.

Raises `DataError` E413 when there is no overlap (no target unit has a match), E508 for bad
options, and `EstimationError` E512 when the score model cannot be fitted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic, EstimationError
from ..results import Check, Estimate, EstimatorResult, Table, fmt
from .common import Design, design_matrix, numeric, option_error

SMD_WARN = 0.1  # the usual threshold for "balanced" standardized mean differences
J_VAR = 2  # neighbours used to estimate the conditional variance (Stata's nn(2))
NEWTON_MAX_N = 50_000  # the score model's solver: Newton up to here, L-BFGS beyond


# --------------------------------------------------------------------------------------------
# propensity score
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    logit: np.ndarray
    converged: bool
    dropped_constant: tuple[str, ...]


def propensity_logit(x: np.ndarray, d: np.ndarray, names: list[str]) -> Score:
    """Logit of the fitted propensity score from an unpenalised logistic regression."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    sd = x.std(axis=0)
    keep = sd > 0
    dropped = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    if not keep.any():
        p = float(d.mean())
        return Score(np.full(len(d), np.log(p / (1 - p))), True, dropped)
    z = x[:, keep] if not keep.all() else x.copy()  # one copy, standardised in place
    z -= z.mean(axis=0)
    z /= sd[keep]
    # C = inf is "no penalty" (MatchIt fits an ordinary glm). Newton-Cholesky needs a few
    # exact steps, each forming an n x p x p Hessian: cheapest on small data, where L-BFGS's
    # many tiny iterations cost more. On large data L-BFGS with a tight tolerance reaches the
    # same scores (to ~1e-5 on the logit) with matrix-vector products only, 3-15x faster.
    if len(d) <= NEWTON_MAX_N:
        model = LogisticRegression(C=np.inf, solver="newton-cholesky", max_iter=200)
    else:
        model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000, tol=1e-10)
    converged = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            model.fit(z, d)
        except ConvergenceWarning:
            converged = False
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(z, d)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise EstimationError(Diagnostic(
                "E512", f"the propensity score model could not be fitted: {exc}",
                help="check the adjustment set for variables that predict the treatment "
                "perfectly",
            )) from exc
    return Score(model.decision_function(z), converged, dropped)


# --------------------------------------------------------------------------------------------
# nearest neighbours on a sorted 1-D key
# --------------------------------------------------------------------------------------------
def nearest_sorted(
    target: np.ndarray, donors_sorted: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each target value, positions of its k nearest values in `donors_sorted` and the
    distances. The k nearest in 1-D lie among the k values either side of the insertion point,
    so a window of 2k candidates is exact. Ties go to the lower position."""
    n_d = len(donors_sorted)
    pos = np.searchsorted(donors_sorted, target)
    cand = pos[:, None] + np.arange(-k, k)[None, :]
    valid = (cand >= 0) & (cand < n_d)
    cand = np.clip(cand, 0, max(n_d - 1, 0))
    dist = np.abs(donors_sorted[cand] - target[:, None])
    dist[~valid] = np.inf
    sel = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cand, sel, 1), np.take_along_axis(dist, sel, 1)


def _greedy_without_replacement(
    target: np.ndarray, donors_sorted: np.ndarray, k: int, limit: float,
    target_stratum: np.ndarray, donor_stratum: np.ndarray,
) -> np.ndarray:
    """Greedy matching without replacement: targets in descending score order take the nearest
    donor still free (k rounds). Free donors are found with 'next free to the left/right'
    pointers and path compression, so each lookup is nearly O(1)."""
    n_t, n_d = len(target), len(donors_sorted)
    out = np.full((n_t, k), -1, dtype=np.int64)

    def find(ptr: list[int], i: int) -> int:
        root = i
        while ptr[root] != root:
            root = ptr[root]
        while ptr[i] != root:  # path compression
            ptr[i], i = root, ptr[i]
        return root

    # Free positions are fixed points. left_p[p + 1] stands for position p and index 0 for "none
    # to the left"; right_p[p] stands for position p and index n_d for "none to the right".
    left_p = list(range(n_d + 1))
    right_p = list(range(n_d + 1))
    order = np.argsort(-target, kind="stable")
    ins = np.searchsorted(donors_sorted, target)
    vals = donors_sorted.tolist()
    tstr = target_stratum.tolist()
    dstr = donor_stratum.tolist()
    tv = target.tolist()
    for r in range(k):
        for i in order.tolist():
            if r > 0 and out[i, r - 1] < 0:
                continue
            p = int(ins[i])
            lp = find(left_p, p) - 1  # nearest free position < p
            rp = find(right_p, p)  # nearest free position >= p
            best, bd = -1, limit
            if lp >= 0 and dstr[lp] == tstr[i]:
                dl = tv[i] - vals[lp]
                if dl <= bd:
                    best, bd = lp, dl
            if rp < n_d and dstr[rp] == tstr[i]:
                dr = vals[rp] - tv[i]
                if dr < bd or (best < 0 and dr <= bd):
                    best, bd = rp, dr
            if best >= 0:
                out[i, r] = best
                left_p[best + 1] = best  # position best is taken: skip to the left of it
                right_p[best] = best + 1
    return out


# --------------------------------------------------------------------------------------------
# the matching estimator
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Matches:
    """Who was matched to whom: for each target row, its donor rows (-1 = none)."""

    targets: np.ndarray  # row indices of target units
    donors: np.ndarray  # (n_targets, k) row indices, -1 where missing


def match(
    score: np.ndarray,
    d: np.ndarray,
    target_arm: int,
    *,
    k: int = 1,
    caliper: float | None = None,
    replace: bool = True,
    strata: np.ndarray | None = None,
) -> Matches:
    """Match every unit with ``d == target_arm`` to k units of the other arm on `score`.

    `caliper` is an absolute distance on the score scale; `strata` (integer codes) restricts
    matches to the same stratum."""
    n = len(score)
    strata = np.zeros(n, dtype=np.int64) if strata is None else strata.astype(np.int64)
    targets = np.flatnonzero(d == target_arm)
    donor_rows = np.flatnonzero(d != target_arm)
    # Composite key: strata laid side by side with a gap wider than any score difference.
    lo = float(score.min())
    gap = float(score.max() - lo) * 2 + 1.0
    key = (score - lo) + strata * gap
    order = np.argsort(key[donor_rows], kind="stable")
    donors_sorted_rows = donor_rows[order]
    donor_key = key[donors_sorted_rows]
    limit = np.inf if caliper is None else float(caliper)
    if len(donor_rows) == 0:
        return Matches(targets, np.full((len(targets), k), -1, dtype=np.int64))
    if replace:
        pos, dist = nearest_sorted(key[targets], donor_key, k)
        same = strata[donors_sorted_rows[pos]] == strata[targets][:, None]
        ok = same & (dist <= limit) & np.isfinite(dist)
        donors = np.where(ok, donors_sorted_rows[pos], -1)
    else:
        pos = _greedy_without_replacement(
            key[targets], donor_key, k, limit, strata[targets], strata[donors_sorted_rows]
        )
        donors = np.where(pos >= 0, donors_sorted_rows[np.clip(pos, 0, None)], -1)
    return Matches(targets, donors)


def _within_arm_variance(y: np.ndarray, key: np.ndarray, j: int = J_VAR) -> np.ndarray:
    """σ̂²ᵢ = J/(J+1)·(Yᵢ − mean of the J nearest units of the same arm)², on a 1-D key."""
    n = len(y)
    out = np.zeros(n)
    if n < 2:
        return out
    j = min(j, n - 1)
    order = np.argsort(key, kind="stable")
    ks, ys = key[order], y[order]
    idx = np.arange(n)
    cand = idx[:, None] + np.concatenate([np.arange(-j, 0), np.arange(1, j + 1)])[None, :]
    valid = (cand >= 0) & (cand < n)
    cand = np.clip(cand, 0, n - 1)
    dist = np.abs(ks[cand] - ks[:, None])
    dist[~valid] = np.inf
    sel = np.take_along_axis(cand, np.argsort(dist, axis=1, kind="stable")[:, :j], 1)
    resid = ys - ys[sel].mean(axis=1)
    out[order] = j / (j + 1) * resid**2
    return out


@dataclass(frozen=True)
class _Fit:
    effect: float
    variance: float
    n_targets: int
    weight_t: np.ndarray  # balance weights of treated rows
    weight_c: np.ndarray
    dropped: dict[str, int]
    reuse: dict[str, int]


def _arm_fits(y: np.ndarray, d: np.ndarray, x: np.ndarray) -> dict[int, np.ndarray]:
    """Predictions of a linear regression of y on x fitted within each arm (for the bias
    adjustment): μ̂₀(X) and μ̂₁(X) for every row."""
    xx = np.column_stack([np.ones(len(y)), x])
    out = {}
    for arm in (0, 1):
        sel = d == arm
        beta = np.linalg.lstsq(xx[sel], y[sel], rcond=None)[0]
        out[arm] = xx @ beta
    return out


def _effect(
    y: np.ndarray, d: np.ndarray, score: np.ndarray, estimand: str, *, k: int,
    caliper: float | None, replace: bool, strata: np.ndarray | None, variance: bool = True,
    x_adjust: np.ndarray | None = None,
) -> _Fit:
    n = len(y)
    mu = _arm_fits(y, d, x_adjust) if x_adjust is not None else None
    arms = {"att": (1,), "atc": (0,), "ate": (1, 0)}[estimand]
    kt = np.zeros(n)  # K̃: weight as a donor
    q = np.zeros(n)  # Q: sum of squared donor weights
    self_t = np.zeros(n)  # 1 for retained targets
    contrib: list[np.ndarray] = []  # Ŷ₁ − Ŷ₀ for each retained target
    dropped: dict[str, int] = {}
    for arm in arms:
        m = match(score, d, arm, k=k, caliper=caliper, replace=replace, strata=strata)
        has = m.donors >= 0
        mi = has.sum(axis=1)
        keep = mi > 0
        dropped["treated" if arm == 1 else "control"] = int((~keep).sum())
        tg, dn, hs, mk = m.targets[keep], m.donors[keep], has[keep], mi[keep]
        yhat = np.where(hs, y[np.clip(dn, 0, None)], 0.0).sum(axis=1) / mk
        if mu is not None:
            # Abadie–Imbens (2011): move each match to the target's covariates along the
            # regression fitted in the donors' arm, Y_j + μ̂(X_i) − μ̂(X_j)
            m_arm = mu[1 - arm]
            yhat += m_arm[tg] - np.where(hs, m_arm[np.clip(dn, 0, None)], 0.0).sum(axis=1) / mk
        contrib.append(y[tg] - yhat if arm == 1 else yhat - y[tg])
        w = np.where(hs, 1.0 / mk[:, None], 0.0)
        flat = dn[hs]
        kt += np.bincount(flat, weights=w[hs], minlength=n)
        q += np.bincount(flat, weights=w[hs] ** 2, minlength=n)
        self_t[tg] = 1.0
    diffs = np.concatenate(contrib)
    n_t = len(diffs)
    if n_t == 0:
        return _Fit(np.nan, np.nan, 0, np.zeros(n), np.zeros(n), dropped, {})
    tau = float(diffs.mean())
    var = np.nan
    if variance:
        sig = np.zeros(n)
        for arm in (0, 1):
            rows = np.flatnonzero(d == arm)
            key = score[rows] if strata is None else score[rows] + strata[rows] * (
                float(np.ptp(score)) * 2 + 1.0)
            sig[rows] = _within_arm_variance(y[rows], key)
        coef = (self_t + kt) ** 2 - (self_t + q)
        var = (float(((diffs - tau) ** 2).sum()) + float(coef @ sig)) / n_t**2
    if estimand == "att":
        w_t, w_c = self_t * (d == 1), kt * (d == 0)
    elif estimand == "atc":
        w_t, w_c = kt * (d == 1), self_t * (d == 0)
    else:
        w_t, w_c = (self_t + kt) * (d == 1), (self_t + kt) * (d == 0)
    used = kt > 0
    reuse = {"distinct_donors": int(used.sum()),
             "max_times_used": int(np.round(kt.max() * k)) if n else 0}
    return _Fit(tau, var, n_t, w_t, w_c, dropped, reuse)


def _wmean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w @ x) / w.sum()


def _wvar(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    m = _wmean(x, w)
    return (w @ (x - m) ** 2) / w.sum()


def balance_table(
    x: np.ndarray, names: list[str], d: np.ndarray, w_t: np.ndarray, w_c: np.ndarray,
    estimand: str,
) -> tuple[Table, list[tuple[str, float, float]]]:
    """Standardized mean differences before/after matching (denominator fixed before)."""
    t, c = d == 1, d == 0
    xt, xc = x[t], x[c]
    mt, mc = xt.mean(axis=0), xc.mean(axis=0)
    vt, vc = xt.var(axis=0, ddof=1), xc.var(axis=0, ddof=1)
    denom = {"att": np.sqrt(vt), "atc": np.sqrt(vc)}.get(estimand, np.sqrt((vt + vc) / 2))
    denom = np.where(denom > 0, denom, np.nan)
    smd_before = (mt - mc) / denom
    at, ac = _wmean(xt, w_t[t]), _wmean(xc, w_c[c])
    smd_after = (at - ac) / denom
    vc_after = _wvar(xc, w_c[c])
    vr = _wvar(xt, w_t[t]) / np.where(vc_after > 0, vc_after, np.nan)
    rows = tuple(
        (names[i], float(mt[i]), float(mc[i]), float(smd_before[i]), float(at[i]),
         float(ac[i]), float(smd_after[i]), float(vr[i]))
        for i in range(len(names))
    )
    table = Table(
        f"Balance (standardized mean differences, {_denom_text(estimand)})",
        ("covariate", "mean T", "mean C", "SMD before", "mean T matched", "mean C matched",
         "SMD after", "var ratio after"),
        rows,
    )
    smds = [(names[i], float(smd_before[i]), float(smd_after[i])) for i in range(len(names))]
    return table, smds


def _denom_text(estimand: str) -> str:
    return {"att": "SD of the treated", "atc": "SD of the controls"}.get(
        estimand, "pooled SD sqrt((s²T + s²C)/2)")


def _options(
    design: Design, n_covariates: int
) -> tuple[int, float | None, bool, str, int, bool]:
    k = design.option("k", 1)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise option_error(design, f"k = {k} is not a positive whole number",
                           "use k = 1 (one match per unit) or more")
    caliper = design.option("caliper")
    if caliper is not None and (not isinstance(caliper, (int, float)) or caliper <= 0):
        raise option_error(design, f"caliper = {caliper} must be a positive number",
                           "a caliper is in standard deviations of the logit score, e.g. 0.2")
    replace = design.option("replace", True)
    if not isinstance(replace, bool):
        raise option_error(design, f"replace = {replace} must be true or false", "replace = true")
    se = str(design.option("se", "abadie-imbens")).lower().replace("_", "-")
    if se in ("ai", "abadie-imbens", "abadie imbens"):
        se = "abadie-imbens"
    elif se != "bootstrap":
        raise option_error(design, f"unknown standard-error kind se = \"{se}\" for matching",
                           "use se = \"abadie-imbens\" (default) or se = \"bootstrap\"")
    reps = design.option("bootstrap", 500)
    if not isinstance(reps, int) or reps < 20:
        raise option_error(design, f"bootstrap = {reps}: use at least 20 replications",
                           "e.g. bootstrap = 500")
    if not replace and design.estimand == "ate":
        raise option_error(design, "matching without replacement estimates the ATT or ATC, not "
                           "the ATE", "use replace = true, or ask for att(...) or atc(...)")
    if n_covariates == 0:
        raise option_error(design, "matching needs at least one covariate to match on",
                           "with an empty adjustment set the difference in means is unbiased: "
                           "use ols")
    adjust = design.option("bias_adjust", False)
    if not isinstance(adjust, bool):
        raise option_error(design, f"bias_adjust = {adjust} must be true or false",
                           "bias_adjust = true")
    return k, (float(caliper) if caliper is not None else None), replace, se, reps, adjust


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """Propensity-score matching estimate of the ATT/ATC/ATE with diagnostics."""
    exact = tuple(design.option("exact", ()) or ())
    covs = tuple(design.covariates)
    k, caliper_sd, replace, se_kind, reps, adjust = _options(design, len(covs))
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    x, names = design_matrix(frame, covs)
    score = propensity_logit(x, d, names)
    logit = score.logit
    strata = None
    if exact:
        missing = [e for e in exact if e not in frame.columns]
        if missing:
            raise option_error(design, f"exact = {{{', '.join(missing)}}}: not in the sample",
                               "exact-match variables must be observed variables")
        strata = pd.MultiIndex.from_frame(frame[list(exact)].astype(object)).factorize()[0] \
            if len(exact) > 1 else pd.factorize(frame[exact[0]])[0]
    sd_logit = float(logit.std(ddof=1))
    caliper = caliper_sd * sd_logit if caliper_sd is not None else None
    fit = _effect(y, d, logit, design.estimand, k=k, caliper=caliper, replace=replace,
                  strata=strata, x_adjust=x if adjust else None)
    arms = {"att": "treated", "atc": "control", "ate": "treated and control"}[design.estimand]
    if fit.n_targets == 0:
        raise DataError(Diagnostic(
            "E413",
            f"no overlap: not one {arms} unit has a match"
            + (f" within the caliper of {caliper_sd:g} SD" if caliper_sd else "")
            + (" in its exact-match stratum" if exact else ""),
            design.span,
            help="the treated and untreated differ completely on the adjustment set; widen or "
            "drop the caliper, or question whether the comparison can be made at all",
        ))
    t = d == 1
    p = 1 / (1 + np.exp(-logit))
    pt, pc = p[t], p[~t]
    disjoint = pt.max() < pc.min() or pc.max() < pt.min()
    if disjoint:
        raise DataError(Diagnostic(
            "E413",
            f"no overlap: propensity scores of the treated [{fmt(pt.min())}, {fmt(pt.max())}] and "
            f"of the controls [{fmt(pc.min())}, {fmt(pc.max())}] do not overlap",
            design.span,
            help="the adjustment set predicts the treatment perfectly; no comparison of like "
            "with like is possible",
        ))
    checks: list[Check] = []
    if se_kind == "bootstrap":
        rng = np.random.default_rng(design.seed)
        draws = np.empty(reps)
        n = len(y)
        for b in range(reps):
            ix = rng.integers(0, n, n)
            db = d[ix]
            if db.min() == db.max():
                draws[b] = np.nan
                continue
            lb = propensity_logit(x[ix], db, names).logit
            cb = caliper_sd * float(lb.std(ddof=1)) if caliper_sd is not None else None
            draws[b] = _effect(y[ix], db, lb, design.estimand, k=k, caliper=cb,
                               replace=replace, strata=None if strata is None else strata[ix],
                               variance=False, x_adjust=x[ix] if adjust else None).effect
        se = float(np.nanstd(draws, ddof=1))
        se_text = (f"bootstrap over {reps} resamples (score and matching re-run; seed "
                   f"{design.seed}) — not valid in theory for matching with replacement "
                   "(Abadie & Imbens 2008)")
        checks.append(Check("note", "bootstrap standard errors are shown for comparison; "
                            "Abadie–Imbens errors are the reference"))
    else:
        se = float(np.sqrt(fit.variance))
        se_text = ("Abadie–Imbens (2006) for matching with replacement, score treated as known "
                   "(conservative for the ATE, Abadie & Imbens 2016); normal reference")
    est = Estimate.from_se(fit.effect, se, n=fit.n_targets, label=design.estimand.upper(),
                           se_kind=se_text)
    # ------------------------------------------------------------------ diagnostics
    if not score.converged:
        checks.append(Check("warning", "the propensity model did not converge: some covariate "
                            "(nearly) predicts the treatment perfectly"))
    if score.dropped_constant:
        checks.append(Check("note", "constant in the sample, not used in the score: "
                            + ", ".join(score.dropped_constant)))
    # the score's row and the covariates' rows separately: no n x (p+1) copy of the data
    t_score, s_score = balance_table(logit[:, None], ["propensity score (logit)"], d,
                                     fit.weight_t, fit.weight_c, design.estimand)
    t_cov, s_cov = balance_table(x, names, d, fit.weight_t, fit.weight_c, design.estimand)
    table = Table(t_cov.title, t_cov.columns, t_score.rows + t_cov.rows)
    smds = s_score + s_cov
    bad = [(nm, a) for nm, _, a in smds if np.isfinite(a) and abs(a) > SMD_WARN]
    worst = max(smds, key=lambda r: abs(r[2]) if np.isfinite(r[2]) else -1)
    if bad:
        checks.append(Check(
            "warning",
            "imbalance after matching (|SMD| > 0.1): "
            + ", ".join(f"{nm} ({fmt(a, 2)})" for nm, a in bad)
            + " — the matched groups still differ on these; consider a caliper, exact "
            "matching, or a richer score model",
        ))
    else:
        checks.append(Check(
            "ok",
            f"balance after matching: every |SMD| ≤ 0.1 (largest {fmt(abs(worst[2]), 2)} for "
            f"{worst[0]}; before: largest {fmt(max(abs(s[1]) for s in smds), 2)})",
        ))
    outside_t = int(((pt < pc.min()) | (pt > pc.max())).sum())
    outside_c = int(((pc < pt.min()) | (pc > pt.max())).sum())
    overlap_msg = (
        f"overlap: propensity scores treated [{fmt(pt.min(), 3)}, {fmt(pt.max(), 3)}], controls "
        f"[{fmt(pc.min(), 3)}, {fmt(pc.max(), 3)}]; {outside_t} of {len(pt)} treated and "
        f"{outside_c} of {len(pc)} controls lie outside the other group's range"
    )
    relevant_outside = {"att": outside_t, "atc": outside_c}.get(design.estimand,
                                                              outside_t + outside_c)
    checks.append(Check("warning" if relevant_outside else "ok", overlap_msg))
    dropped_total = sum(fit.dropped.values())
    if dropped_total:
        why = (f"no match within the caliper of {caliper_sd:g} SD of the logit score "
               f"({fmt(caliper, 3)})" if caliper is not None else "no match available")
        if exact:
            why += " in the same exact-match stratum"
        parts = ", ".join(f"{v} {a}" for a, v in fit.dropped.items() if v)
        checks.append(Check(
            "warning",
            f"{parts} unit(s) dropped ({why}); the estimate is the {design.estimand.upper()} of "
            f"the {fit.n_targets} matched units, not of everyone",
        ))
    extreme = int(((p < 0.01) | (p > 0.99)).sum())
    if extreme:
        checks.append(Check("warning", f"{extreme} unit(s) have a propensity score below 0.01 "
                            "or above 0.99: near-violations of positivity"))
    checks.append(Check(
        "note",
        f"{fit.reuse['distinct_donors']} distinct units used as matches; the most reused served "
        f"{fit.reuse['max_times_used']} time(s)" + ("" if replace else " (without replacement)"),
    ))
    opts = [f"k = {k}", "with replacement" if replace else "without replacement (greedy)"]
    if caliper_sd is not None:
        opts.append(f"caliper {caliper_sd:g} SD of the logit score")
    if exact:
        opts.append("exact on " + ", ".join(exact))
    if adjust:
        opts.append("regression bias adjustment (Abadie & Imbens 2011)")
    desc = (f"nearest-neighbour matching on the logit of the propensity score (logistic "
            f"regression of {design.treatment} on {', '.join(covs)}), {', '.join(opts)}")
    details = (
        ("n_treated", int(t.sum())), ("n_control", int((~t).sum())),
        ("n_matched_targets", fit.n_targets), ("dropped", fit.dropped),
        ("caliper_logit", caliper), ("sd_logit", sd_logit), ("k", k), ("replace", replace),
        ("outside_support_treated", outside_t), ("outside_support_control", outside_c),
        ("max_abs_smd_before", float(np.nanmax(np.abs([s[1] for s in smds])))),
        ("max_abs_smd_after", float(np.nanmax(np.abs([s[2] for s in smds])))),
        *fit.reuse.items(),
    )
    return EstimatorResult("matching", design.estimand, est, desc, tuple(checks), (table,),
                           details)

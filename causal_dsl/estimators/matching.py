"""Nearest-neighbour matching on the propensity score (ATT, ATC, ATE).

In: a coded estimation frame with a binary (0/1) treatment, and a `Design` with options
``k`` (matches per unit, default 1), ``ties`` ("all" (default), "first", "random"), ``distance``
("ps" (default) or "logit": the scale matched on), ``caliper`` (maximum distance in standard
deviations of that scale), ``replace`` (default true), ``exact`` (variables to match exactly on),
``se`` ("abadie-imbens" (default) or "bootstrap"), ``bootstrap`` (replications, default 500) and
``bias_adjust`` (Abadie & Imbens 2011 regression bias adjustment; default: on when a covariate is
continuous, i.e. not categorical and with more than two values) and ``score`` (a `terms.Formula`:
the propensity model's terms, default the adjustment set as coded; checked against the set, E514).

Out: an `EstimatorResult` with the estimate, a balance table (standardized mean differences
before and after matching, MatchIt's convention: the denominator is the standard deviation of the
treated for the ATT, of the controls for the ATC, and the pooled sqrt((s²₁+s²₀)/2) for the ATE,
always computed before matching; after matching the units are weighted by the same weights the
Abadie–Imbens variance uses; with a score formula its powers, interactions and spline columns are
rows of their own after the covariates, as cobalt's ``int``/``poly``) and an overlap report.
With ``exact`` covering every adjustment variable, matching is exact stratification and
`causal_dsl.estimators.stratification` computes it.

Method. The propensity score is the maximum-likelihood logistic regression of the treatment on the
adjustment set (`causal_dsl.estimators.propensity`; its convergence is reported). Units are matched
on the score itself by default — MatchIt's default (``distance = "glm"``) and Stata's
``teffects psmatch`` — so that published numbers are reproduced; ``distance = "logit"`` matches on
the linear predictor (MatchIt's ``link = "linear.logit"``), which Austin (2011) recommends for
calipers. The caliper is in SD of the chosen scale over all units (MatchIt's ``std.caliper``).
Neighbours come from a sorted 1-D search (`causal_dsl.estimators.neighbours`), ties kept as
Abadie & Imbens (2006) define the match set. Without replacement matching is greedy, targets in
descending order of the score (MatchIt's default).

Standard errors: Abadie & Imbens (2006, Econometrica 74(1), eq. 14 and Theorem 7), the
variance of the matching estimator for the population effect, treating the score as known:
V = 1/N² [ Σ_targets (Ŷ₁ᵢ − Ŷ₀ᵢ − τ̂)² + Σ_j ((sⱼ + K̃ⱼ)² − (sⱼ + Qⱼ)) σ̂²ⱼ ], where K̃ⱼ is the
weight with which unit j serves as a match (Σ 1/Mᵢ over the units i it serves, Mᵢ the size of
i's match set with ties), Qⱼ the sum of those weights squared, sⱼ = 1 when j is itself a target,
and σ̂²ⱼ from its J = 2 nearest same-arm neighbours (Stata's ``nn(2)``, ties kept). Abadie &
Imbens (2016) show that ignoring the estimation of the score makes this conservative for the ATE
(for the ATT it can go either way). The bootstrap option resamples rows and re-runs score and
matching; Abadie & Imbens (2008) show the bootstrap is not valid for matching with replacement
and a fixed number of matches, so it is offered for comparison only.

Row weights (``data ... weights(w, kind = ...)``), MatchIt's ``s.weights``: the weighted MLE
score; matching itself unweighted; the effect the difference in means weighted by matching weight
× row weight (`neighbours.weighted_pass`; the ATE combines the two arms' by their targets' total
weight); the balance table weighted as cobalt's ``s.weights``; the SE a seeded weighted bootstrap
(``bootstrap`` replications), as no weighted Abadie–Imbens variance is published. Frequency
weights only where this equals the data with rows repeated w times (k = 1, ties = "all", with
replacement; then donors are weighted as in that data, n = Σw).

Raises `DataError` E413 when there is no overlap (no target unit has a match), E508 for bad
options (also: frequency weights otherwise, se = "abadie-imbens" with weights), and
`EstimationError` E512 when the score model cannot be fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .. import progress
from ..errors import DataError, Diagnostic, EstimationError
from ..results import Check, Estimate, EstimatorResult, Table, UnitData, fmt
from ..terms import Formula, check_design
from . import stratification
from .common import Design, design_matrix, numeric, option_error
from .design_matrix import build
from .neighbours import (
    TIES,
    Matches,
    match,
    nearest_sorted,
    sorted_arms,
    weighted_pass,
    within_arm_variance,
)
from .propensity import (
    BALANCE_CHUNK,
    Moments,
    _denom_text,  # noqa: F401  (engines.matching imports it from here)
    arm_regressions,
    balance_table,
    design_moments,
    fit_logit,
    frequency_sd,
    score_checks,
)

SMD_WARN = 0.1  # the usual threshold for "balanced" standardized mean differences
POOR_OVERLAP = 0.1  # share of one arm outside the other's score range that makes the ATE doubtful
DISTANCES = {"ps": "propensity score", "logit": "logit of the propensity score"}
ROLE = {True: "the weights of the balance table and the variance", False: "before row weights"}

# kept for callers of the former names
_within_arm_variance = within_arm_variance
__all__ = ["BALANCE_CHUNK", "Matches", "balance_table", "estimate", "match", "nearest_sorted",
           "within_arm_variance"]


# --------------------------------------------------------------------------------------------
# the matching estimator
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fit:
    effect: float
    variance: float
    n_targets: int
    weight_t: np.ndarray  # balance weights of treated rows (the same K̃ as the variance)
    weight_c: np.ndarray
    dropped: dict[str, int]
    reuse: dict[str, float]
    unmatched: np.ndarray | None = None  # targets left without a match (per row)
    subclass: np.ndarray | None = None  # pair ids without replacement (-1: in no pair)


def matching_effect(
    y: np.ndarray, d: np.ndarray, score: np.ndarray, estimand: str, *, k: int,
    caliper: float | None, replace: bool, strata: np.ndarray | None, variance: bool = True,
    x_adjust: np.ndarray | None = None, ties: str = "all", rng: np.random.Generator | None = None,
    w: np.ndarray | None = None, frequency: bool = False,
    mu: dict[int, np.ndarray] | None = None, moments: Moments | None = None,
) -> _Fit:
    """The matching estimate. With row weights `w` (and then no Abadie–Imbens variance) each
    pass over a target arm gives a weighted difference in means (`weighted_pass`), and the
    passes are combined by their targets' total weight. The bias adjustment's per-arm fits
    come from `x_adjust` (with its `moments`, when given), or as `mu` (the DuckDB engine fits
    them in SQL); only the donors' arms are fitted (the controls' for the ATT)."""
    n = len(y)
    arms = {"att": (1,), "atc": (0,), "ate": (1, 0)}[estimand]
    if x_adjust is not None:
        mu = arm_regressions(y, d, x_adjust, w, tuple(sorted(1 - a for a in arms)), moments)
    kt = np.zeros(n)  # K̃: weight as a donor
    q = np.zeros(n)  # Q: sum of squared donor weights
    uses = np.zeros(n)  # how many targets a unit serves
    self_t = np.zeros(n)  # 1 for retained targets
    contrib: list[np.ndarray] = []  # Ŷ₁ − Ŷ₀ for each retained target
    dropped: dict[str, int] = {}
    sizes: list[np.ndarray] = []
    unmatched = np.zeros(n, dtype=bool)
    subclass = np.full(n, -1, dtype=np.int64) if not replace else None
    passes: list[tuple[float, float]] = []  # weighted: (effect, total target weight) per arm
    # weighted: matching weight × row weight, per row (not allocated without row weights)
    bal = np.zeros(n) if w is not None else np.zeros(0)
    # each arm sorted by the score once, for the matches and the variance's within-arm search
    order = sorted_arms(score, d) if strata is None and ties == "all" and replace else None
    for arm in arms:
        m = match(score, d, arm, k=k, caliper=caliper, replace=replace, strata=strata,
                  ties=ties, rng=rng, arm_order=order)
        mi = m.counts
        keep = mi > 0
        dropped["treated" if arm == 1 else "control"] = int((~keep).sum())
        unmatched[m.targets[~keep]] = True
        if subclass is not None:  # MatchIt's subclass: one id per pair (per match set)
            for pair, (target, row) in enumerate(zip(m.targets, m.donors, strict=True)):
                if (row >= 0).any():
                    subclass[target] = pair + 1
                    subclass[row[row >= 0]] = pair + 1
        tg = m.targets[keep]
        yhat = m.mean(y)[keep]
        if mu is not None:
            # Abadie–Imbens (2011): move each match to the target's covariates along the
            # regression fitted in the donors' arm, Y_j + μ̂(X_i) − μ̂(X_j)
            m_arm = mu[1 - arm]
            yhat += m_arm[tg] - m.mean(m_arm)[keep]
        contrib.append(y[tg] - yhat if arm == 1 else yhat - y[tg])
        if w is not None and len(tg):
            r = y - mu[1 - arm] if mu is not None else y
            passes.append(weighted_pass(m, r, w, arm, n, frequency, bal))
        m.add_weights(kt, q, uses)  # in place: no row-length temporaries
        self_t[tg] = 1.0
        sizes.append(mi[keep])
    diffs = np.concatenate(contrib)
    n_t = len(diffs)
    if n_t == 0:
        return _Fit(np.nan, np.nan, 0, np.zeros(n), np.zeros(n), dropped, {})
    tau = float(diffs.mean())
    if w is not None:
        tau = sum(t * wt for t, wt in passes) / sum(wt for _, wt in passes)
        variance = False
    var = np.nan
    if variance:
        sig = np.zeros(n)
        for arm in (0, 1):
            if order is not None:  # the arm sorted by the score already: no copies of it
                srt = order[arm]
                sig[srt] = within_arm_variance(y[srt], score[srt], presorted=True)
                continue
            rows = np.flatnonzero(d == arm)
            key = score[rows] if strata is None else score[rows] + strata[rows] * (
                float(np.ptp(score)) * 2 + 1.0)
            sig[rows] = within_arm_variance(y[rows], key)
        coef = self_t + kt
        coef **= 2
        coef -= self_t + q
        var = (float(((diffs - tau) ** 2).sum()) + float(coef @ sig)) / n_t**2
    if estimand == "att":
        w_t, w_c = self_t * (d == 1), kt * (d == 0)
    elif estimand == "atc":
        w_t, w_c = kt * (d == 1), self_t * (d == 0)
    else:
        w_t, w_c = (self_t + kt) * (d == 1), (self_t + kt) * (d == 0)
    if w is not None:
        w_t, w_c = bal * (d == 1), bal * (d == 0)
    all_sizes = np.concatenate(sizes)
    reuse = {"distinct_donors": int((kt > 0).sum()), "max_times_used": int(uses.max()),
             "max_donor_weight": float(kt.max()), "mean_match_set": float(all_sizes.mean()),
             "targets_with_ties": int((all_sizes > k).sum())}
    return _Fit(tau, var, n_t, w_t, w_c, dropped, reuse, unmatched, subclass)


@dataclass(frozen=True)
class _Options:
    k: int
    caliper: float | None
    replace: bool
    se: str
    reps: int
    adjust: bool | None  # None: the default (on when a covariate is continuous)
    ties: str
    distance: str


def _choice(design: Design, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = str(design.option(key, default)).lower()
    if value not in allowed:
        raise option_error(design, f"{key} = \"{value}\" is not one of "
                           + ", ".join(f'"{a}"' for a in allowed),
                           f"use {key} = \"{default}\" (the default)")
    return value


def _options(design: Design, n_covariates: int) -> _Options:
    k = design.option("k", 1)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise option_error(design, f"k = {k} is not a positive whole number",
                           "use k = 1 (one match per unit) or more")
    distance = _choice(design, "distance", "ps", tuple(DISTANCES))
    caliper = design.option("caliper")
    if caliper is not None and (not isinstance(caliper, (int, float)) or caliper <= 0):
        raise option_error(design, f"caliper = {caliper} must be a positive number",
                           f"a caliper is in standard deviations of the {DISTANCES[distance]}, "
                           "e.g. 0.2")
    replace_ = design.option("replace", True)
    if not isinstance(replace_, bool):
        raise option_error(design, f"replace = {replace_} must be true or false",
                           "replace = true")
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
    if not replace_ and design.estimand == "ate":
        raise option_error(design, "matching without replacement estimates the ATT or ATC, not "
                           "the ATE", "use replace = true, or ask for att(...) or atc(...)")
    if n_covariates == 0:
        raise option_error(design, "matching needs at least one covariate to match on",
                           "with an empty adjustment set the difference in means is unbiased: "
                           "use ols")
    adjust = design.option("bias_adjust")
    if adjust is not None and not isinstance(adjust, bool):
        raise option_error(design, f"bias_adjust = {adjust} must be true or false",
                           "bias_adjust = true")
    ties = _choice(design, "ties", "all", TIES)
    return _Options(k, float(caliper) if caliper is not None else None, replace_, se, reps,
                    adjust, ties, distance)


def continuous_covariates(frame: pd.DataFrame, covariates: tuple[str, ...]) -> list[str]:
    """Covariates that matching cannot match exactly: not categorical, more than two values."""
    return [c for c in covariates if not isinstance(frame[c].dtype, pd.CategoricalDtype)
            and _more_than_two(numeric(frame, c))]


def _more_than_two(v: np.ndarray) -> bool:
    """Does `v` hold more than two distinct values? Two vectorised comparisons, where a hash
    of every value (``nunique``) costs seconds at 10⁶ rows x 20 covariates."""
    if len(v) == 0:
        return False
    a = v[0]
    other = v != a
    if not other.any():
        return False
    b = v[int(np.argmax(other))]
    return bool((other & (v != b)).any())


def _strata(frame: pd.DataFrame, exact: tuple[str, ...], design: Design) -> np.ndarray | None:
    if not exact:
        return None
    missing = [e for e in exact if e not in frame.columns]
    if missing:
        raise option_error(design, f"exact = {{{', '.join(missing)}}}: not in the sample",
                           "exact-match variables must be observed variables")
    return stratification.cells(frame, exact)[0]


def _via_stratification(frame: pd.DataFrame, design: Design) -> EstimatorResult:
    r = stratification.estimate(frame, design)
    note = Check("note", "matching with exact = every adjustment variable "
                 f"({', '.join(design.covariates)}) is exact stratification: each unit's "
                 "matches are all units of the other arm in its cell; computed as such")
    return replace(r, checks=(note, *r.checks))


def _row_weights(design: Design, o: _Options) -> tuple[np.ndarray | None, bool]:
    """The row weights and whether they are frequency weights; E508 where matching has no
    weighted form: the Abadie–Imbens variance (none is published for weights), and frequency
    weights where matching on the rows is not matching on the expanded data (k > 1 takes the
    k nearest copies, which may all be one row's; without replacement one copy is used up)."""
    if design.weights is None:
        return None, False
    if "se" in design.options and o.se == "abadie-imbens":
        raise option_error(design, "se = \"abadie-imbens\" with row weights: no weighted "
                           "Abadie–Imbens variance is published",
                           "drop the se option: weighted matching uses a seeded weighted "
                           "bootstrap (its replications set by bootstrap = N)")
    problems = []
    if design.weight_kind == "frequency":
        problems += [f"k = {o.k}"] if o.k != 1 else []
        problems += [f"ties = \"{o.ties}\""] if o.ties != "all" else []
        problems += ["replace = false"] if not o.replace else []
    if problems:
        raise option_error(design, "matching takes frequency weights only where the result "
                           "equals matching the data with each row repeated w times (k = 1, "
                           "ties = \"all\", with replacement); here " + ", ".join(problems),
                           "use k = 1, ties = \"all\" and replace = true, or declare "
                           "kind = \"survey\" (MatchIt's s.weights: matching weight × "
                           "sampling weight)")
    return np.asarray(design.weights, dtype=np.float64), design.weight_kind == "frequency"


def _resample(rng: np.random.Generator, n: int, w: np.ndarray | None, frequency: bool
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """One bootstrap resample: rows and their weights. Survey and analytic weights: n rows
    drawn with replacement, each keeping its weight. Frequency weights: Σw copies drawn from
    the Σw copies — the very draw of the expanded data's bootstrap — returned as the rows
    drawn with their counts as frequency weights."""
    if w is None or not frequency:
        ix = rng.integers(0, n, n)
        return ix, None if w is None else w[ix]
    total = round(float(w.sum()))
    rows = np.searchsorted(np.cumsum(w), rng.integers(0, total, total), side="right")
    counts = np.bincount(rows, minlength=n)
    ix = np.flatnonzero(counts)
    return ix, counts[ix].astype(np.float64)


def _weighted_se_text(design: Design, reps: int, frequency: bool) -> str:
    what = ("the Σw copies of the expanded data" if frequency else
            f"the rows, each with its {design.weight_kind} weight")
    return (f"weighted bootstrap over {reps} resamples of {what} (weighted score model and "
            f"matching re-run; seed {design.seed}); no published weighted Abadie–Imbens "
            "variance exists; normal reference")


def _weights_note(design: Design, frequency: bool) -> str:
    if frequency:
        return ("frequency weights: matching on the data with each row repeated w times (k = 1,"
                " ties kept, so a target's copies share its tied donors' copies): the weighted "
                "score model (MLE), a donor weighted wⱼ Σ wᵢ/Σ_{S_i} w, n = Σw; the balance table"
                " is that of the expanded data")
    return (f"{design.weight_kind} weights as MatchIt's s.weights: in the propensity model "
            "(weighted MLE), not in the matching itself (nor in the caliper's SD); the effect "
            "is the difference in means weighted by matching weight × row weight (match_data()'s"
            " weights × s.weights), the ATE the two arms' effects weighted by their targets' "
            "total weight; the balance table's means weighted as cobalt's s.weights, the SMD "
            "denominator from the weighted unmatched sample")


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """Propensity-score matching estimate of the ATT/ATC/ATE with diagnostics."""
    exact = tuple(design.option("exact", ()) or ())
    covs = tuple(design.covariates)
    o = _options(design, len(covs))
    if exact and set(covs) <= set(exact):
        return _via_stratification(frame, design)
    w, frequency = _row_weights(design, o)
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    x, names = design_matrix(frame, covs)
    formula = design.option("score")
    xs, snames = x, names
    if isinstance(formula, Formula):
        problems = check_design(formula, covs, design.treatment, option="score",
                                method="matching", treatment_allowed=False, span=design.span)
        if problems:
            raise EstimationError(problems)
        xs, snames = build(frame, formula, span=design.span)
    score_formula = f"{design.treatment} ~ " + (str(formula) if isinstance(formula, Formula)
                                                else " + ".join(covs))
    score_text = (f"{score_formula}" if isinstance(formula, Formula)
                  else f"of {design.treatment} on {', '.join(covs)}")
    # the balance table: the covariates as coded, then every other column of the score model
    extra = [j for j, nm in enumerate(snames) if nm not in names]
    blocks = [(x, names)] + ([(xs[:, extra], [snames[j] for j in extra])] if extra else [])
    progress.phase("propensity score model")
    # one pass gives the score's column moments and collinearity check and the bias
    # adjustment's per-arm normal equations
    moments = design_moments(x, d) if w is None and xs is x and len(x) else None
    score = fit_logit(xs, d, snames, weights=w, moments=moments)
    scale = DISTANCES[o.distance]
    dist = score.probability if o.distance == "ps" else score.logit
    strata = _strata(frame, exact, design)
    cont = continuous_covariates(frame, covs)
    adjust = bool(cont) if o.adjust is None else o.adjust
    sd_dist = float(dist.std(ddof=1)) if not frequency else frequency_sd(dist, w)
    caliper = o.caliper * sd_dist if o.caliper is not None else None
    rng = np.random.default_rng(design.seed)
    progress.phase("matching")
    fit = matching_effect(y, d, dist, design.estimand, k=o.k, caliper=caliper,
                          replace=o.replace, strata=strata, x_adjust=x if adjust else None,
                          ties=o.ties, rng=rng, w=w, frequency=frequency, moments=moments)
    arms = {"att": "treated", "atc": "control", "ate": "treated and control"}[design.estimand]
    if fit.n_targets == 0:
        raise DataError(Diagnostic(
            "E413",
            f"no overlap: not one {arms} unit has a match"
            + (f" within the caliper of {o.caliper:g} SD of the {scale}" if o.caliper else "")
            + (" in its exact-match stratum" if exact else ""),
            design.span,
            help="the treated and untreated differ completely on the adjustment set; widen or "
            "drop the caliper, or question whether the comparison can be made at all",
        ))
    t = d == 1
    p = score.probability
    pt, pc = p[t], p[~t]
    if pt.max() < pc.min() or pc.max() < pt.min():
        raise DataError(Diagnostic(
            "E413",
            f"no overlap: propensity scores of the treated [{fmt(pt.min())}, {fmt(pt.max())}] and "
            f"of the controls [{fmt(pc.min())}, {fmt(pc.max())}] do not overlap",
            design.span,
            help="the adjustment set predicts the treatment perfectly; no comparison of like "
            "with like is possible",
        ))
    checks: list[Check] = []
    label = design.estimand.upper()
    if o.se == "bootstrap" or w is not None:
        draws = np.empty(o.reps)
        n = len(y)
        for b in range(o.reps):
            progress.step("bootstrap", b, o.reps)
            ix, wb = _resample(rng, n, w, frequency)
            db = d[ix]
            if db.min() == db.max():
                draws[b] = np.nan
                continue
            sb = fit_logit(xs[ix], db, snames, weights=wb)
            lb = sb.probability if o.distance == "ps" else sb.logit
            sd_b = float(lb.std(ddof=1)) if not frequency else frequency_sd(lb, wb)
            cb = o.caliper * sd_b if o.caliper is not None else None
            draws[b] = matching_effect(y[ix], db, lb, design.estimand, k=o.k, caliper=cb,
                               replace=o.replace, strata=None if strata is None else strata[ix],
                               variance=False, x_adjust=x[ix] if adjust else None, ties=o.ties,
                               rng=rng, w=wb, frequency=frequency).effect
        se = float(np.nanstd(draws, ddof=1))
        if w is None:
            se_text = (f"bootstrap over {o.reps} resamples (score and matching re-run; seed "
                       f"{design.seed}) — not valid in theory for matching with replacement "
                       "(Abadie & Imbens 2008)")
            checks.append(Check("note", "bootstrap standard errors are shown for comparison; "
                                "Abadie–Imbens errors are the reference"))
        else:
            se_text = _weighted_se_text(design, o.reps, frequency)
            checks.append(Check("note", "weighted matching: no published weighted "
                                "Abadie–Imbens variance exists, so the standard error is a "
                                "seeded weighted bootstrap; Abadie & Imbens (2008) show the "
                                "bootstrap is not valid in theory for matching with replacement "
                                "and a fixed number of matches — read it as approximate"))
    else:
        se = float(np.sqrt(fit.variance))
        se_text = "Abadie–Imbens (2006), score treated as known"
        if design.estimand == "ate":
            se_text += " (conservative for the ATE, Abadie & Imbens 2016)"
        else:
            se_text += (f" (for the {label} ignoring the score's estimation can err either way, "
                        "Abadie & Imbens 2016)")
        se_text += "; normal reference"
    n_est = fit.n_targets
    if frequency and w is not None and fit.unmatched is not None:
        # n = Σw of the matched targets: the expanded data's count
        tgt = {"att": d == 1, "atc": d == 0}.get(design.estimand, np.ones(len(d), dtype=bool))
        n_est = round(float(np.where(fit.unmatched, 0.0, w) @ tgt))
    est = Estimate.from_se(fit.effect, se, n=n_est, label=label, se_kind=se_text)
    checks += score_checks(score)
    if w is not None:
        checks.append(Check("note", _weights_note(design, frequency)))
    balance, smds = _balance(blocks, d, dist, scale, fit, design.estimand, w, frequency)
    checks += _balance_and_overlap(smds, d, p, design.estimand)
    dropped_total = sum(fit.dropped.values())
    if dropped_total:
        why = (f"no match within the caliper of {o.caliper:g} SD of the {scale} "
               f"({fmt(caliper, 3)})" if caliper is not None else "no match available")
        if exact:
            why += " in the same exact-match stratum"
        parts = ", ".join(f"{v} {a}" for a, v in fit.dropped.items() if v)
        checks.append(Check(
            "warning",
            f"{parts} unit(s) dropped ({why}); the estimate is the {label} of "
            f"the {fit.n_targets} matched units, not of everyone",
        ))
    ties_text = {"all": "ties at the k-th distance all kept and averaged (Abadie–Imbens)",
                 "first": "ties broken by keeping the lower score",
                 "random": f"ties broken at random (seed {design.seed})"}[o.ties]
    if not o.replace:
        ties_text = "ties go to the lower score (greedy matching without replacement)"
    checks.append(Check(
        "note",
        f"{fit.reuse['distinct_donors']} distinct units used as matches; the most reused served "
        f"{fit.reuse['max_times_used']} target(s), largest match weight "
        f"{fmt(fit.reuse['max_donor_weight'], 3)} ({ROLE[w is None]}); mean match-set size "
        f"{fmt(fit.reuse['mean_match_set'], 3)}, "
        f"{fit.reuse['targets_with_ties']} target(s) with more than k = {o.k} matches; "
        + ties_text,
    ))
    if adjust:
        why = ("default: continuous covariate(s) " + ", ".join(cont) if o.adjust is None
               else "bias_adjust = true")
        checks.append(Check("note", "regression bias adjustment (Abadie & Imbens 2011): each "
                            "match moved to its target's covariates along a linear regression "
                            f"of {design.outcome} fitted within the match's arm ({why})"))
    elif o.adjust is None:
        checks.append(Check("note", "no bias adjustment: every covariate is binary or "
                            "categorical (set bias_adjust = true to adjust anyway)"))
    opts = [f"k = {o.k}", f"ties = {o.ties}",
            "with replacement" if o.replace else "without replacement (greedy)"]
    if o.caliper is not None:
        opts.append(f"caliper {o.caliper:g} SD of the {scale}")
    if exact:
        opts.append("exact on " + ", ".join(exact))
    if adjust:
        opts.append("regression bias adjustment (Abadie & Imbens 2011)")
    desc = (f"nearest-neighbour matching on the {scale} (distance = \"{o.distance}\"; "
            f"maximum-likelihood logistic regression {score_text}),"
            f" {', '.join(opts)}")
    outside_t = int(((pt < pc.min()) | (pt > pc.max())).sum())
    outside_c = int(((pc < pt.min()) | (pc > pt.max())).sum())
    details = (
        ("n_treated", int(t.sum())), ("n_control", int((~t).sum())),
        ("n_matched_targets", fit.n_targets), ("dropped", fit.dropped),
        ("distance", o.distance), ("ties", o.ties), ("bias_adjust", adjust),
        ("caliper_distance", caliper), ("sd_distance", sd_dist), ("k", o.k),
        ("replace", o.replace),
        ("outside_support_treated", outside_t), ("outside_support_control", outside_c),
        ("score_loglik", score.loglik), ("score_iterations", score.iterations),
        ("score_converged", score.converged), ("score_formula", score_formula),
        ("score_separated", score.separated),
        ("score_coefficients", dict(zip(score.names, score.coef.tolist(), strict=True))),
        *fit.reuse.items(),
    )
    cols = list(dict.fromkeys((design.treatment, design.outcome, *covs)))
    units = UnitData(
        # the frame itself when it holds just those columns (the planner's does): no copy
        rows=frame if list(frame.columns) == cols else frame[cols],
        treatment=design.treatment, distance=dist, distance_name=scale, score=p,
        weights=fit.weight_t + fit.weight_c,
        dropped=fit.unmatched if fit.unmatched is not None else np.zeros(len(d), dtype=bool),
        outside_support=np.where(t, (p < pc.min()) | (p > pc.max()),
                                 (p < pt.min()) | (p > pt.max())),
        subclass=fit.subclass)
    details += (("random_draws", o.se == "bootstrap" or o.ties == "random"),)
    return EstimatorResult("matching", design.estimand, est, desc, tuple(checks), (balance,),
                           details, units)


def _balance(
    blocks: list[tuple[np.ndarray, list[str]]], d: np.ndarray, dist: np.ndarray, scale: str,
    fit: _Fit, estimand: str, w: np.ndarray | None = None, frequency: bool = False,
) -> tuple[Table, list[tuple[str, float, float]]]:
    # the score's row, the covariates' rows and the score formula's other columns each from
    # their own array: no n x (p+1) copy of the data
    tables = [balance_table(dist[:, None], [scale], d, fit.weight_t, fit.weight_c, estimand,
                            w, frequency)]
    tables += [balance_table(x, names, d, fit.weight_t, fit.weight_c, estimand, w, frequency)
               for x, names in blocks]
    first = tables[1][0]
    rows = tuple(r for t, _ in tables for r in t.rows)
    return Table(first.title, first.columns, rows), [s for _, ss in tables for s in ss]


def _balance_and_overlap(
    smds: list[tuple[str, float, float]], d: np.ndarray, p: np.ndarray, estimand: str,
) -> list[Check]:
    out: list[Check] = []
    bad = [(nm, a) for nm, _, a in smds if np.isfinite(a) and abs(a) > SMD_WARN]
    worst = max(smds, key=lambda r: abs(r[2]) if np.isfinite(r[2]) else -1)
    if bad:
        out.append(Check(
            "warning",
            "imbalance after matching (|SMD| > 0.1): "
            + ", ".join(f"{nm} ({fmt(a, 2)})" for nm, a in bad)
            + " — the matched groups still differ on these; consider a caliper, exact "
            "matching, or a richer score model",
        ))
    else:
        out.append(Check(
            "ok",
            f"balance after matching: every |SMD| ≤ 0.1 (largest {fmt(abs(worst[2]), 2)} for "
            f"{worst[0]}; before: largest {fmt(max(abs(s[1]) for s in smds), 2)})",
        ))
    t = d == 1
    pt, pc = p[t], p[~t]
    outside_t = int(((pt < pc.min()) | (pt > pc.max())).sum())
    outside_c = int(((pc < pt.min()) | (pc > pt.max())).sum())
    out.append(Check(
        "warning" if {"att": outside_t, "atc": outside_c}.get(estimand, outside_t + outside_c)
        else "ok",
        f"overlap: propensity scores treated [{fmt(pt.min(), 3)}, {fmt(pt.max(), 3)}], controls "
        f"[{fmt(pc.min(), 3)}, {fmt(pc.max(), 3)}]; {outside_t} of {len(pt)} treated and "
        f"{outside_c} of {len(pc)} controls lie outside the other group's range",
    ))
    if estimand == "ate":
        share_c, share_t = outside_c / len(pc), outside_t / len(pt)
        if share_c > POOR_OVERLAP and share_t <= POOR_OVERLAP:
            out.append(Check(
                "warning",
                f"the ATE is poorly supported: {outside_c} of {len(pc)} controls "
                f"({fmt(100 * share_c, 3)}%) have propensity scores outside the treated's range, "
                "so their effects are extrapolated from treated units unlike them; the treated "
                "do have comparable controls — ask for the ATT (`att(...)`) instead",
            ))
        elif share_t > POOR_OVERLAP and share_c <= POOR_OVERLAP:
            out.append(Check(
                "warning",
                f"the ATE is poorly supported: {outside_t} of {len(pt)} treated "
                f"({fmt(100 * share_t, 3)}%) have propensity scores outside the controls' range; "
                "the controls do have comparable treated — ask for the ATC (`atc(...)`) instead",
            ))
    extreme = int(((p < 0.01) | (p > 0.99)).sum())
    if extreme:
        out.append(Check("warning", f"{extreme} unit(s) have a propensity score below 0.01 "
                         "or above 0.99: near-violations of positivity"))
    return out

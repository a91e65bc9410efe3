"""Sensitivity to unobserved confounding (`causal_dsl.checks.sensitivity`, `.rosenbaum`):
sensemakr's Darfur example to the digits R prints and against PySensemakr, E-values against
the formulas on hand-computed cases, Rosenbaum bounds against rbounds' lead example and
scipy's Wilcoxon test, and the declared latent variables named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_dsl
from causal_dsl.checks import (
    evalue,
    evalue_ols,
    evalue_or,
    evalue_risk_difference,
    evalue_rr,
    latent_strengths,
    ols_sensitivity,
    ols_sensitivity_from_t,
    robustness_value,
    rosenbaum_bounds,
)
from causal_dsl.errors import EstimationError

sensemakr = pytest.importorskip("sensemakr")

COVARIATES = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female"]


@pytest.fixture(scope="module")
def darfur() -> pd.DataFrame:
    return sensemakr.load_darfur()


@pytest.fixture(scope="module")
def darfur_sens(darfur: pd.DataFrame):  # type: ignore[no-untyped-def]
    village = pd.get_dummies(darfur["village"], drop_first=True, dtype=float).to_numpy()
    return ols_sensitivity(darfur["peacefactor"].to_numpy(), darfur["directlyharmed"].to_numpy(),
                           {c: darfur[c].to_numpy() for c in COVARIATES},
                           treatment="directlyharmed", outcome="peacefactor",
                           benchmarks=["female"], kd=(1, 2, 3), extra=village)


def test_darfur_matches_sensemakr_printed_digits(darfur_sens) -> None:  # type: ignore[no-untyped-def]
    s = darfur_sens
    # R: summary(sensemakr(model, "directlyharmed", benchmark_covariates = "female", kd = 1:3))
    assert (round(s.estimate, 5), round(s.se, 5), s.dof) == (0.09732, 0.02326, 783)
    assert round(s.t, 3) == 4.184
    assert round(100 * s.r2yd_x, 2) == 2.19  # "Partial R2 of treatment with outcome: 2.19%"
    assert round(100 * s.rv_q, 2) == 13.88  # "Robustness Value, q = 1: 13.88%"
    assert round(100 * s.rv_qa, 2) == 7.63  # "Robustness Value, q = 1, alpha = 0.05: 7.63%"
    printed = [  # Bound Label, R2dz.x, R2yz.dx, Adjusted Estimate (R's bounds table)
        (1, 0.0092, 0.1246, 0.0752),
        (2, 0.0183, 0.2493, 0.0529),
        (3, 0.0275, 0.3741, 0.0304),
    ]
    assert len(s.benchmarks) == 3
    for b, (k, r2d, r2y, est) in zip(s.benchmarks, printed, strict=True):
        assert (b.covariate, b.kd) == ("female", k)
        assert (round(b.r2dz_x, 4), round(b.r2yz_dx, 4)) == (r2d, r2y)
        assert round(b.adjusted_estimate, 4) == est
    assert not s.benchmarks[2].erases(s.estimate) and s.benchmarks[2].insignificant
    assert "3× as strong as `female` would not erase the effect but would make it " \
           "compatible with zero" in str(s)


def test_darfur_matches_pysensemakr(darfur: pd.DataFrame, darfur_sens) -> None:  # type: ignore[no-untyped-def]
    """PySensemakr's `Sensemakr` class fails on pandas 3, so its documented manual path is
    used: t statistics from statsmodels, then its free functions."""
    import statsmodels.formula.api as smf

    rhs = " + ".join(COVARIATES) + " + village"
    fit = smf.ols(f"peacefactor ~ directlyharmed + {rhs}", data=darfur).fit()
    treat = smf.ols(f"directlyharmed ~ {rhs}", data=darfur).fit()
    s = darfur_sens
    t, dof = float(fit.tvalues["directlyharmed"]), float(fit.df_resid)
    assert s.estimate == pytest.approx(fit.params["directlyharmed"], rel=1e-9)
    assert s.se == pytest.approx(fit.bse["directlyharmed"], rel=1e-9)
    assert s.rv_q == pytest.approx(sensemakr.robustness_value(
        t_statistic=np.array([t]), dof=dof)[0], rel=1e-9)
    assert s.rv_qa == pytest.approx(sensemakr.robustness_value(
        t_statistic=np.array([t]), dof=dof, alpha=0.05)[0], rel=1e-9)
    bounds = sensemakr.ovb_partial_r2_bound(
        r2dxj_x=float(sensemakr.partial_r2(t_statistic=treat.tvalues["female"],
                                           dof=treat.df_resid)),
        r2yxj_dx=float(sensemakr.partial_r2(t_statistic=fit.tvalues["female"], dof=dof)),
        kd=[1, 2, 3])
    r2d, r2y = bounds["r2dz_x"].to_numpy(), bounds["r2yz_dx"].to_numpy()
    kw = {"estimate": s.estimate, "se": s.se, "dof": s.dof}
    est = sensemakr.adjusted_estimate(r2d, r2y, **kw)
    se = sensemakr.adjusted_se(r2d, r2y, se=s.se, dof=s.dof)
    tt = sensemakr.adjusted_t(r2d, r2y, **kw)
    for i, b in enumerate(s.benchmarks):
        assert (b.r2dz_x, b.r2yz_dx) == (pytest.approx(r2d[i], rel=1e-8),
                                         pytest.approx(r2y[i], rel=1e-8))
        assert b.adjusted_estimate == pytest.approx(est[i], rel=1e-9)
        assert b.adjusted_se == pytest.approx(se[i], rel=1e-9)
        assert b.adjusted_t == pytest.approx(tt[i], rel=1e-9)
        crit = stats.t.ppf(0.975, s.dof - 1)
        assert b.adjusted_low == pytest.approx(est[i] - crit * se[i], rel=1e-9)


def test_robustness_value_cases() -> None:
    assert robustness_value(0.0, 100) == 0.0
    assert robustness_value(1.0, 100, alpha=0.05) == 0.0  # not significant: nothing to erase
    # the constraint-not-binding branch (f_q > 1/f_crit): huge t, tiny dof
    fq, fc = 50 / math.sqrt(10), abs(stats.t.ppf(0.025, 9)) / 3
    assert robustness_value(50, 10, alpha=0.05) == pytest.approx((fq**2 - fc**2) / (1 + fq**2))
    with pytest.raises(EstimationError, match="positive standard error"):
        ols_sensitivity_from_t(1.0, 0.0, 100)


def test_contour_grid_is_zero_on_the_rv(darfur_sens) -> None:  # type: ignore[no-untyped-def]
    grid = darfur_sens.contour(points=5, lim=darfur_sens.rv_q * 4)
    adj = np.array(grid["adjusted_estimate"])
    assert adj[0, 0] == pytest.approx(darfur_sens.estimate)
    assert adj.shape == (5, 5)
    # the diagonal point (RV, RV) gives an adjusted estimate of zero
    rv = darfur_sens.rv_q
    bias = darfur_sens.se * math.sqrt(darfur_sens.dof) * math.sqrt(rv * rv / (1 - rv))
    assert bias == pytest.approx(darfur_sens.estimate, rel=1e-9)


@pytest.mark.parametrize(("rr", "expected"), [
    (3.9, 3.9 + math.sqrt(3.9 * 2.9)),  # VanderWeele & Ding (2017): 7.26
    (1.0, 1.0),
    (0.8, 1.25 + math.sqrt(1.25 * 0.25)),  # protective: invert first
    (2.0, 2 + math.sqrt(2)),
])
def test_evalue_formula(rr: float, expected: float) -> None:
    assert evalue(rr) == pytest.approx(expected)


def test_evalue_intervals() -> None:
    e = evalue_rr(3.9, 1.8, 8.7)
    assert round(e.point, 2) == 7.26 and round(e.ci, 2) == 3.00  # the paper's example
    assert evalue_rr(0.7, 0.5, 1.1).ci == 1.0  # interval covers the null
    assert evalue_rr(0.7, 0.5, 0.9).ci == pytest.approx(evalue(0.9))  # upper limit is nearer
    assert evalue_rr(1.5, 1.2, 2.0, true=1.2).ci == 1.0
    with pytest.raises(EstimationError):
        evalue_rr(2.0, 2.5, 3.0)


def test_evalue_continuous_outcome_conversion() -> None:
    # R: evalues.MD(0.5, 0.25) and evalues.OLS(est = 1, se = 0.5, sd = 2) are the same case
    for e in (evalue_ols(0.5, 0.25, 1.0), evalue_ols(1.0, 0.5, 2.0)):
        rr = math.exp(0.91 * 0.5)
        assert e.rr == pytest.approx(rr)
        assert e.rr_low == pytest.approx(math.exp(0.91 * 0.5 - 1.78 * 0.25))
        assert e.point == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
        lo = math.exp(0.91 * 0.5 - 1.78 * 0.25)
        assert e.ci == pytest.approx(lo + math.sqrt(lo * (lo - 1)))
        assert "RR ≈ exp(0.91·d)" in e.conversion
    neg = evalue_ols(-1.0, 0.5, 2.0)
    assert neg.point == pytest.approx(evalue_ols(1.0, 0.5, 2.0).point)


def test_evalue_odds_ratio_and_risk_difference() -> None:
    assert evalue_or(4.0, rare=False).rr == pytest.approx(2.0)
    assert evalue_or(4.0, 2.0, 8.0, rare=True).ci == pytest.approx(evalue(2.0))
    rd = evalue_risk_difference(0.1, 0.05, 0.15, baseline=0.2)
    assert rd.rr == pytest.approx(1.5) and rd.rr_low == pytest.approx(1.25)


# Rosenbaum (2002, ch. 4), the lead example of R rbounds' psens/hlsens help pages
LEAD_TRT = [38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45, 39,
            22, 35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27]
LEAD_CTRL = [16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9, 14,
             21, 19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13]


def _psens(trt: list[float], ctrl: list[float], gamma: float) -> tuple[float, float]:
    """rbounds::psens 2.2 (the CRAN source), line for line: zero differences dropped."""
    diff = np.array(trt, float) - np.array(ctrl, float)
    diff = diff[diff != 0]
    ranks = stats.rankdata(np.abs(diff))
    t = float(np.sum((diff > 0) * ranks))
    p_plus, p_minus = gamma / (1 + gamma), 1 / (1 + gamma)
    v = np.sum(ranks**2 * p_plus * (1 - p_plus))
    up = 1 - stats.norm.cdf((t - np.sum(ranks * p_plus)) / np.sqrt(v))
    low = 1 - stats.norm.cdf((t - np.sum(ranks * p_minus)) / np.sqrt(v))
    return round(float(low), 4), round(float(up), 4)


def test_rosenbaum_lead_example_matches_rbounds() -> None:
    gammas = (1, 2, 3, 4, 5, 6)
    b = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, gammas=gammas)
    for g, lo, hi in zip(gammas, b.p_lower, b.p_upper, strict=True):
        assert (round(lo, 4), round(hi, 4)) == _psens(LEAD_TRT, LEAD_CTRL, g)
    assert [round(p, 4) for p in b.p_upper] == [0.0, 0.0018, 0.0131, 0.0367, 0.0694, 0.1073]
    assert b.pairs == 33 and b.zero_pairs == 1  # pair 15 (16 vs 16) is dropped, as psens
    assert 4 < b.gamma_critical < 5  # Rosenbaum: the lead effect is insensitive to Γ = 4
    crit = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, gammas=(b.gamma_critical,))
    assert crit.p_upper[0] == pytest.approx(0.05, abs=1e-6)
    assert "holds until Γ = 4.43" in b.sentence()
    # Γ = 1 is Wilcoxon's signed-rank test without continuity correction (zeros dropped)
    d = np.array(LEAD_TRT, float) - np.array(LEAD_CTRL, float)
    ref = stats.wilcoxon(d, alternative="greater", zero_method="wilcox", correction=False,
                         method="approx")
    assert rosenbaum_bounds(d, gammas=(1,)).p_upper[0] == pytest.approx(ref.pvalue, rel=1e-9)


def test_rosenbaum_gamma_one_is_wilcoxon() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(0.4, 1, size=60)  # continuous: no ties, no zeros
    b = rosenbaum_bounds(d, gammas=(1,))
    ref = stats.wilcoxon(d, alternative="greater", correction=False, method="approx")
    assert b.p_upper[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert b.p_lower[0] == pytest.approx(ref.pvalue, rel=1e-9)
    flipped = rosenbaum_bounds(-d, gammas=(1, 2))
    assert flipped.direction == "negative" and flipped.p_upper == rosenbaum_bounds(
        d, gammas=(1, 2)).p_upper
    with pytest.raises(EstimationError):
        rosenbaum_bounds([1.0], [0.0])


def test_latent_confounders_are_named() -> None:
    m = causal_dsl.load("examples/heart_drug.causal", check_files=False)
    sens = ols_sensitivity_from_t(-5.0, 0.14, 2995, treatment="drug", outcome="severity")
    found = latent_strengths(m, "drug", "severity", {"initial_health", "ward"},
                             sensitivity=sens, evalue=evalue_ols(-5.0, 0.14, 9.5))
    names = {x.name: x for x in found}
    assert set(names) == {"frailty", "drug <-> ward"}
    assert names["frailty"].touches == ("initial_health", "severity")
    text = names["drug <-> ward"].sentence("drug", "severity")
    assert "hidden common cause of drug and ward" in text
    assert f"{100 * sens.rv_q:.1f}% of the residual variance" in text

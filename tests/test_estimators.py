"""Estimators on simulated data with known effects, and their standard errors against references
(statsmodels for OLS, hand computations for the Abadie–Imbens and CR1 formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_dsl.errors import DataError, EstimationError
from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.common import naive_contrast
from causal_dsl.estimators.did import demean, treatment_pattern
from causal_dsl.estimators.matching import _within_arm_variance, match, nearest_sorted
from causal_dsl.estimators.ols import fit_linear

ols, matching, did = ESTIMATORS["ols"], ESTIMATORS["matching"], ESTIMATORS["did"]


def confounded(n: int = 3000, seed: int = 1, effect: float = 2.0) -> pd.DataFrame:
    """The sicker get the drug more often and do worse: the naive contrast has the wrong sign."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    p = 1 / (1 + np.exp(-(1.5 * x1 + x2)))
    d = (rng.uniform(size=n) < p).astype(float)
    y = effect * d - 4 * x1 - 2 * x2 + rng.normal(size=n)
    return pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2})


# --------------------------------------------------------------------------------------------
# OLS
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["HC0", "HC1", "HC2", "HC3", "nonrobust"])
def test_ols_standard_errors_equal_statsmodels(kind: str) -> None:
    rng = np.random.default_rng(0)
    n = 400
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    y = x @ [1.0, 2.0, -1.0, 0.5] + rng.normal(size=n) * (1 + np.abs(x[:, 1]))
    fit = fit_linear(x, y, ["c", "a", "b", "e"], se=kind)
    ref = sm.OLS(y, x).fit(cov_type=kind)
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.se, ref.bse, rtol=1e-10)


def test_ols_cluster_is_cr1_like_statsmodels() -> None:
    rng = np.random.default_rng(3)
    n, g = 600, 40
    groups = rng.integers(0, g, n)
    shock = rng.normal(size=g)[groups]
    x = np.column_stack([np.ones(n), rng.normal(size=n) + shock])
    y = x @ [0.5, 1.0] + shock + rng.normal(size=n)
    fit = fit_linear(x, y, ["c", "x"], se="cluster", clusters=groups)
    ref = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(fit.se, ref.bse, rtol=1e-10)
    assert fit.df_inference == g - 1 and fit.n_clusters == g


def test_ols_estimator_with_categorical_covariate_matches_statsmodels_hc1() -> None:
    df = confounded(800)
    df["ward"] = pd.Categorical(np.where(df.x1 > 0.5, "b", np.where(df.x2 > 0, "c", "a")),
                                categories=["a", "b", "c"])
    r = ols(df, Design("d", "y", "ate", ("x1", "ward")), None)
    x = np.column_stack([np.ones(len(df)), df.d, df.x1, df.ward == "b", df.ward == "c"])
    # p-values use t(n - k) as Stata does; statsmodels does so with use_t=True
    ref = sm.OLS(df.y.to_numpy(), x.astype(float)).fit(cov_type="HC1", use_t=True)
    assert r.estimate.effect == pytest.approx(ref.params[1], rel=1e-10)
    assert r.estimate.se == pytest.approx(ref.bse[1], rel=1e-10)
    assert r.estimate.p_value == pytest.approx(ref.pvalues[1], rel=1e-6)
    low, high = ref.conf_int()[1]
    assert (r.estimate.ci_low, r.estimate.ci_high) == (pytest.approx(low), pytest.approx(high))
    terms = [row[0] for row in r.table("Coefficients").rows]
    assert terms == ["(intercept)", "d", "x1", "ward[b]", "ward[c]"]


def test_rank_deficient_design_names_the_columns() -> None:
    df = confounded(300)
    df["x3"] = 2 * df.x1 - df.x2
    with pytest.raises(EstimationError) as info:
        ols(df, Design("d", "y", "ate", ("x1", "x2", "x3")), None)
    d = info.value.diagnostics[0]
    assert d.code == "E510"
    named = d.message.split(":")[1].split(" are ")[0]
    assert {n.strip() for n in named.split(",")} == {"x1", "x2", "x3"}


def test_constant_covariate_is_rank_deficiency_with_intercept() -> None:
    df = confounded(200)
    df["k"] = 3.0
    with pytest.raises(EstimationError, match="k"):
        ols(df, Design("d", "y", "ate", ("x1", "k")), None)


def test_high_vif_is_a_warning_naming_the_variables() -> None:
    df = confounded(2000)
    rng = np.random.default_rng(9)
    df["x1b"] = df.x1 + rng.normal(size=len(df)) * 0.05
    r = ols(df, Design("d", "y", "ate", ("x1", "x1b", "x2")), None)
    text = " ".join(r.warnings)
    assert "x1" in text and "x1b" in text and "VIF" in text
    assert r.detail("max_vif") > 10
    r2 = ols(df, Design("d", "y", "ate", ("x1", "x2")), None)
    assert not any("VIF" in w for w in r2.warnings)


def test_more_parameters_than_rows_is_too_few_rows() -> None:
    df = confounded(4)
    with pytest.raises(DataError) as info:
        ols(df, Design("d", "y", "ate", ("x1", "x2")), None)
    assert info.value.diagnostics[0].code == "E412"


def test_bad_se_option_is_an_error() -> None:
    with pytest.raises(EstimationError, match="HC5"):
        ols(confounded(100), Design("d", "y", options={"se": "HC5"}), None)


# --------------------------------------------------------------------------------------------
# recovering known effects
# --------------------------------------------------------------------------------------------
def test_naive_has_wrong_sign_and_adjustment_recovers_truth() -> None:
    df = confounded(3000)
    naive = naive_contrast(df.y.to_numpy(), df.d.to_numpy(), binary=True)
    assert naive.ci_high < 0  # confidently wrong
    for estimand in ("ate", "att", "atc"):
        for est in (ols, matching):
            r = est(df, Design("d", "y", estimand, ("x1", "x2")), None)
            assert r.estimate.covers(2.0), (est, estimand, r.estimate)
            assert r.estimate.effect > 0


def test_nonlinear_confounding_matching_right_ols_biased() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.uniform(-2, 2, size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(1.5 * x - 1)))).astype(float)
    y = 1.0 * d + 2 * x**2 + rng.normal(size=n)  # confounding through x², not x
    df = pd.DataFrame({"d": d, "y": y, "x": x})
    m = matching(df, Design("d", "y", "att", ("x",)), None)
    o = ols(df, Design("d", "y", "att", ("x",)), None)
    assert m.estimate.covers(1.0)
    assert not o.estimate.covers(1.0) and o.estimate.ci_low > 1.5
    both = m.estimate.overlaps(o.estimate)
    assert not both  # the disagreement the planner's cross-check flags


def test_bias_adjustment_removes_matching_bias_under_strong_confounding() -> None:
    effects = {False: [], True: []}
    for seed in range(15):
        df = confounded(2000, seed)
        for adj in (False, True):
            r = matching(df, Design("d", "y", "ate", ("x1", "x2"),
                                    options={"bias_adjust": adj}), None)
            effects[adj].append(r.estimate.effect)
    # the plain estimator is biased downwards by ~0.1 here (poor overlap in the tails)
    assert np.mean(effects[False]) < 2 - 0.05
    assert abs(np.mean(effects[True]) - 2) < 0.04


def test_continuous_treatment_ols() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    z = rng.normal(size=n)
    dose = 2 * z + rng.normal(size=n)
    y = 0.7 * dose - 3 * z + rng.normal(size=n)
    df = pd.DataFrame({"dose": dose, "y": y, "z": z})
    r = ols(df, Design("dose", "y", "ate", ("z",), treatment_kind="continuous"), None)
    assert r.estimate.covers(0.7)
    assert "per unit of dose" in r.estimate.label


# --------------------------------------------------------------------------------------------
# matching machinery
# --------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=30),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=30),
    st.integers(1, 4),
)
def test_sorted_search_equals_brute_force(targets: list[float], donors: list[float],
                                          k: int) -> None:
    t, dn = np.array(targets), np.sort(np.array(donors))
    k = min(k, len(dn))
    _, dist = nearest_sorted(t, dn, k)
    brute = np.sort(np.abs(t[:, None] - dn[None, :]), axis=1)[:, :k]
    np.testing.assert_allclose(dist, brute)


def test_match_caliper_exact_and_without_replacement() -> None:
    score = np.array([0.1, 0.5, 0.9, 0.12, 0.45, 0.95, 0.2])
    d = np.array([1, 1, 1, 0, 0, 0, 0])
    assert match(score, d, 1).donors.ravel().tolist() == [3, 4, 5]
    assert match(score, d, 1, caliper=0.03).donors.ravel().tolist() == [3, -1, -1]
    m = match(score, d, 1, k=2, replace=False).donors
    used = m[m >= 0]
    assert len(used) == len(set(used.tolist())) == 4  # four controls, each used once
    strata = np.array([0, 1, 0, 1, 0, 1, 0])  # unit 0 may only match 4 or 6 (stratum 0)
    got = match(score, d, 1, strata=strata).donors.ravel().tolist()
    assert got[0] in (4, 6) and strata[got[1]] == 1 and strata[got[2]] == 0


def _ai_att_by_hand(y: np.ndarray, d: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Abadie–Imbens (2006) ATT with one match, written with loops from the paper's formula."""
    t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    k_count = np.zeros(len(y))
    diffs = []
    for i in t_idx:
        j = c_idx[np.argmin(np.abs(s[c_idx] - s[i]))]
        k_count[j] += 1
        diffs.append(y[i] - y[j])
    tau = float(np.mean(diffs))
    sig = np.zeros(len(y))
    for arm in (0, 1):
        rows = np.flatnonzero(d == arm)
        for i in rows:
            others = rows[rows != i]
            near = others[np.argsort(np.abs(s[others] - s[i]), kind="stable")[:2]]
            sig[i] = 2 / 3 * (y[i] - y[near].mean()) ** 2
    n1 = len(t_idx)
    v = (np.sum((np.array(diffs) - tau) ** 2)
         + np.sum((k_count * (k_count - 1))[c_idx] * sig[c_idx])) / n1**2
    return tau, float(np.sqrt(v))


def test_abadie_imbens_att_matches_hand_computation() -> None:
    rng = np.random.default_rng(11)
    n = 120
    s = rng.normal(size=n)  # distinct scores: no ties
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-s))).astype(float)
    y = d + s + rng.normal(size=n)
    from causal_dsl.estimators.matching import matching_effect

    fit = matching_effect(y, d, s, "att", k=1, caliper=None, replace=True, strata=None)
    tau, se = _ai_att_by_hand(y, d, s)
    assert fit.effect == pytest.approx(tau, rel=1e-12)
    assert np.sqrt(fit.variance) == pytest.approx(se, rel=1e-10)


def test_within_arm_variance_uses_two_nearest_others() -> None:
    y = np.array([0.0, 1.0, 5.0, 2.0])
    key = np.array([0.0, 1.0, 10.0, 2.0])
    sig = _within_arm_variance(y, key)
    # unit 0: nearest others are keys 1 and 2 -> mean 1.5, (0-1.5)^2 * 2/3
    assert sig[0] == pytest.approx(2 / 3 * 1.5**2)
    assert sig[2] == pytest.approx(2 / 3 * (5 - 1.5) ** 2)


def test_balance_table_uses_treated_sd_for_att() -> None:
    df = confounded(1500)
    r = matching(df, Design("d", "y", "att", ("x1", "x2")), None)
    row = next(rw for rw in r.table("Balance").rows if rw[0] == "x1")
    t = df[df.d == 1].x1
    c = df[df.d == 0].x1
    assert row[3] == pytest.approx((t.mean() - c.mean()) / t.std(ddof=1))
    assert abs(row[6]) < abs(row[3]) / 5  # matching removes most of the imbalance
    assert "SD of the treated" in r.table("Balance").title


def test_caliper_drops_are_reported() -> None:
    df = confounded(1500)
    r = matching(df, Design("d", "y", "att", ("x1", "x2"), options={"caliper": 0.01}), None)
    assert r.detail("dropped")["treated"] > 0
    assert any("dropped" in w for w in r.warnings)
    assert r.estimate.n == r.detail("n_matched_targets") < (df.d == 1).sum()


def test_no_overlap_is_a_data_error() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 1, 50), rng.uniform(5, 6, 50)])
    d = np.repeat([0.0, 1.0], 50)
    df = pd.DataFrame({"d": d, "y": x + d, "x": x})
    with pytest.raises((DataError, EstimationError)) as info:
        matching(df, Design("d", "y", "att", ("x",), options={"caliper": 0.1}), None)
    assert info.value.diagnostics[0].code in ("E413", "E512")


def test_exact_matching_keeps_strata() -> None:
    df = confounded(1200)
    df["ward"] = pd.Categorical(np.where(df.x2 > 0, "hi", "lo"))
    r = matching(df, Design("d", "y", "att", ("x1", "ward"), options={"exact": ("ward",)}),
                 None)
    assert "exact on ward" in r.description
    bal = {row[0]: row for row in r.table("Balance").rows}
    assert abs(bal["ward[lo]"][6]) < 1e-12  # exact: identical stratum shares after matching


def test_bootstrap_se_is_reproducible_and_close_to_ai() -> None:
    df = confounded(400)
    opts = {"se": "bootstrap", "bootstrap": 25}
    a = matching(df, Design("d", "y", "ate", ("x1", "x2"), options=opts, seed=3), None)
    b = matching(df, Design("d", "y", "ate", ("x1", "x2"), options=opts, seed=3), None)
    ai = matching(df, Design("d", "y", "ate", ("x1", "x2")), None)
    assert a.estimate.se == b.estimate.se
    assert 0.4 < a.estimate.se / ai.estimate.se < 2.5


# --------------------------------------------------------------------------------------------
# difference-in-differences
# --------------------------------------------------------------------------------------------
def panel(units: int = 200, periods: int = 6, start: int = 3, effect: float = 1.5,
          seed: int = 2, trend_gap: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A panel whose treated units differ by an unobserved, time-invariant level a."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(periods), units)
    a = rng.normal(size=units)
    treated = a + 0.5 * rng.normal(size=units) > 0.3
    d = (treated[unit] & (time >= start)).astype(float)
    y = (effect * d + 3 * a[unit] + 0.5 * time + trend_gap * treated[unit] * time
         + rng.normal(size=len(unit)))
    return pd.DataFrame({"d": d, "y": y}), pd.DataFrame({"u": unit, "t": time})


def test_did_removes_time_invariant_unobserved_confounder() -> None:
    df, extra = panel()
    r = did(df, Design("d", "y", "att", unit="u", time="t"), extra)
    assert r.estimate.covers(1.5)
    naive = naive_contrast(df.y.to_numpy(), df.d.to_numpy(), binary=True)
    assert not naive.covers(1.5)
    assert "CR1" in r.estimate.se_kind
    assert not r.warnings  # parallel trends hold here


def test_twfe_cluster_se_equals_hand_computation_with_dummies() -> None:
    df, extra = panel(units=40, periods=4, start=2)
    r = did(df, Design("d", "y", "att", unit="u", time="t", options={"event_study": False}),
            extra)
    u, t = extra.u.to_numpy(), extra.t.to_numpy()
    n, g, periods = len(u), 40, 4
    x = np.column_stack([df.d, (u[:, None] == np.arange(g)).astype(float),
                         (t[:, None] == np.arange(1, periods)).astype(float)])
    y = df.y.to_numpy()
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    bread = np.linalg.inv(x.T @ x)
    scores = np.array([x[u == c].T @ e[u == c] for c in range(g)])
    k = 1 + (periods - 1)  # slope + period effects; unit effects nested in unit clusters
    v = g / (g - 1) * (n - 1) / (n - k) * bread @ (scores.T @ scores) @ bread
    assert r.estimate.effect == pytest.approx(beta[0], rel=1e-9)
    assert r.estimate.se == pytest.approx(np.sqrt(v[0, 0]), rel=1e-9)
    assert r.detail("k") == k


def test_two_by_two_means_regression_and_twfe_agree() -> None:
    df, extra = panel(units=150, periods=2, start=1)
    r = did(df, Design("d", "y", "att", unit="u", time="t"), extra)
    assert r.detail("did_of_means") == pytest.approx(r.estimate.effect, rel=1e-9)
    assert r.detail("regression_form") == pytest.approx(r.estimate.effect, rel=1e-9)
    means = r.table("Group × period").rows
    assert means[2][3] == pytest.approx(r.estimate.effect)


def test_pretrend_warning_when_trends_differ() -> None:
    df, extra = panel(units=300, periods=8, start=5, trend_gap=0.5)
    r = did(df, Design("d", "y", "att", unit="u", time="t"), extra)
    assert any("pre-trends differ" in w for w in r.warnings)
    assert r.detail("pretrend_p") < 0.05
    ok, extra_ok = panel(units=300, periods=8, start=5)
    r_ok = did(ok, Design("d", "y", "att", unit="u", time="t"), extra_ok)
    assert r_ok.table("Event study") is not None
    assert not any("pre-trends differ" in w for w in r_ok.warnings)


def test_staggered_adoption_and_unbalanced_panel() -> None:
    rng = np.random.default_rng(4)
    df, extra = panel(units=200, periods=6, start=3)
    late = extra.u % 2 == 0
    df.loc[late & (extra.t == 3), "d"] = 0.0  # half the treated adopt a period later
    keep = rng.uniform(size=len(df)) > 0.1  # and drop 10% of rows: unbalanced
    df, extra = df[keep].reset_index(drop=True), extra[keep].reset_index(drop=True)
    r = did(df, Design("d", "y", "att", unit="u", time="t"), extra)
    assert any("staggered adoption" in w for w in r.warnings)
    assert r.detail("balanced") is False
    assert r.estimate.covers(1.5) or abs(r.estimate.effect - 1.5) < 0.5


def test_demean_two_way_matches_dummy_regression_residuals() -> None:
    rng = np.random.default_rng(8)
    u = rng.integers(0, 15, 300)
    t = rng.integers(0, 5, 300)
    z = rng.normal(size=300)
    res, _, ok = demean(z, [u, t])
    dummies = np.column_stack([(u[:, None] == np.arange(15)), (t[:, None] == np.arange(1, 5))])
    beta, *_ = np.linalg.lstsq(dummies.astype(float), z, rcond=None)
    assert ok
    np.testing.assert_allclose(res[:, 0], z - dummies @ beta, atol=1e-8)


def test_treatment_pattern_and_never_switching_error() -> None:
    pat = treatment_pattern(np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 0, 1]),
                            np.array([0, 1, 1, 1, 0, 0.0]))
    assert (pat.switchers, pat.always, pat.never) == (1, 1, 1)
    df = pd.DataFrame({"d": [0, 0, 1, 1.0], "y": [1, 2, 3, 4.0]})
    extra = pd.DataFrame({"u": [0, 0, 1, 1], "t": [0, 1, 0, 1]})
    with pytest.raises(EstimationError) as info:
        did(df, Design("d", "y", unit="u", time="t"), extra)
    assert info.value.diagnostics[0].code == "E505"


def test_duplicate_unit_period_rows_are_an_error() -> None:
    df = pd.DataFrame({"d": [0, 1, 0, 0.0], "y": [1, 2, 3, 4.0]})
    extra = pd.DataFrame({"u": [0, 0, 0, 1], "t": [0, 1, 1, 0]})
    with pytest.raises(DataError) as info:
        did(df, Design("d", "y", unit="u", time="t"), extra)
    assert info.value.diagnostics[0].code == "E409"


def test_repeated_cross_section_two_by_two() -> None:
    rng = np.random.default_rng(6)
    n = 4000
    g = (rng.uniform(size=n) < 0.4).astype(float)
    p = (rng.uniform(size=n) < 0.5).astype(float)
    y = 2 + 3 * g + 1 * p + 0.8 * g * p + rng.normal(size=n)
    df = pd.DataFrame({"d": g * p, "y": y, "g": g, "p": p})
    r = did(df, Design("d", "y", "att", options={"group": "g", "period": "p"}), None)
    assert r.estimate.covers(0.8)
    assert r.detail("did_of_means") == pytest.approx(r.estimate.effect, rel=1e-9)
    bad = df.assign(d=g)
    with pytest.raises(DataError, match=r"E414|group"):
        did(bad, Design("d", "y", "att", options={"group": "g", "period": "p"}), None)

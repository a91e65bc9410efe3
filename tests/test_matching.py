"""Matching by the book: the score against statsmodels' MLE, ties against hand computations,
``distance = "ps"`` against a brute-force matcher, bias adjustment defaults, and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special

from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.neighbours import match
from causal_dsl.estimators.propensity import fit_logit

matching, stratification = ESTIMATORS["matching"], ESTIMATORS["stratification"]


# --------------------------------------------------------------------------------------------
# the propensity model
# --------------------------------------------------------------------------------------------
def test_score_is_the_statsmodels_mle() -> None:
    rng = np.random.default_rng(4)
    n = 800
    x1 = rng.normal(size=n) * 3 + 10  # uncentred and on its own scale
    x2 = rng.gamma(2.0, 1000.0, size=n)  # earnings-like
    g = rng.integers(0, 3, size=n)
    x = np.column_stack([x1, x2, g == 1, g == 2]).astype(float)
    eta = -3 + 0.2 * x1 + 0.0003 * x2 + 0.5 * (g == 1) - 0.7 * (g == 2)
    d = (rng.uniform(size=n) < special.expit(eta)).astype(float)
    s = fit_logit(x, d, ["x1", "x2", "g[1]", "g[2]"])
    ref = sm.Logit(d, sm.add_constant(x)).fit(disp=0, method="newton", tol=1e-14, maxiter=100)
    np.testing.assert_allclose(s.coef, ref.params, rtol=1e-6, atol=1e-9)
    assert s.loglik == pytest.approx(ref.llf, rel=1e-12)
    assert s.converged and not s.separated and 3 <= s.iterations < 20
    assert "converged in" in s.describe()


def test_separation_and_constant_columns_are_reported() -> None:
    x = np.column_stack([np.arange(20.0), np.ones(20)])
    d = (np.arange(20) >= 10).astype(float)  # x > 9.5 predicts d perfectly
    s = fit_logit(x, d, ["x", "one"])
    assert s.separated
    assert s.dropped_constant == ("one",)


def test_collinear_column_is_dropped_not_fatal() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=300)
    x = np.column_stack([a, 2 * a])
    d = (rng.uniform(size=300) < special.expit(a)).astype(float)
    s = fit_logit(x, d, ["a", "a2"])
    assert s.dropped_collinear == ("a2",) and s.converged


# --------------------------------------------------------------------------------------------
# ties
# --------------------------------------------------------------------------------------------
def _ties_table() -> pd.DataFrame:
    # treated at x = 3, 4, 5; controls at 0, 1, 3, 3, 4, 6, 6. x = 5 is equidistant from 4 and 6.
    x = [3, 4, 5, 0, 1, 3, 3, 4, 6, 6]
    d = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    y = [5.0, 7.0, 9.0, 0.0, 1.0, 1.0, 3.0, 4.0, 6.0, 10.0]
    return pd.DataFrame({"d": np.array(d, float), "x": np.array(x, float), "y": y})


def _hand_att_with_ties(df: pd.DataFrame) -> tuple[float, float]:
    """ATT and Abadie–Imbens SE with every tie kept, by brute force on x (the logit score is
    linear in x, so the same neighbours)."""
    x, d, y = df.x.to_numpy(), df.d.to_numpy(), df.y.to_numpy()
    t, c = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    kt, q = np.zeros(len(y)), np.zeros(len(y))
    diffs = []
    for i in t:
        dist = np.abs(x[c] - x[i])
        js = c[dist <= dist.min()]
        diffs.append(y[i] - y[js].mean())
        kt[js] += 1 / len(js)
        q[js] += 1 / len(js) ** 2
    sig = np.zeros(len(y))
    for arm in (0, 1):
        rows = np.flatnonzero(d == arm)
        for i in rows:
            o = rows[rows != i]
            dist = np.abs(x[o] - x[i])
            js = o[dist <= np.sort(dist)[1]]  # the two nearest others and any tie with the 2nd
            sig[i] = len(js) / (len(js) + 1) * (y[i] - y[js].mean()) ** 2
    tau = float(np.mean(diffs))
    v = (np.sum((np.array(diffs) - tau) ** 2) + np.sum((kt**2 - q)[c] * sig[c])) / len(t) ** 2
    return tau, float(np.sqrt(v))


def test_ties_are_all_kept_and_averaged_against_hand_computation() -> None:
    df = _ties_table()
    r = matching(df, Design("d", "y", "att", ("x",),
                            options={"distance": "logit", "bias_adjust": False}), None)
    # by hand: 5 − mean(1, 3) = 3; 7 − 4 = 3; 9 − mean(4, 6, 10) = 3.667
    assert r.estimate.effect == pytest.approx((3 + 3 + 9 - 20 / 3) / 3)
    tau, se = _hand_att_with_ties(df)
    assert r.estimate.effect == pytest.approx(tau, rel=1e-12)
    assert r.estimate.se == pytest.approx(se, rel=1e-10)
    assert r.detail("targets_with_ties") == 2
    assert r.detail("mean_match_set") == pytest.approx(2.0)
    # the balance weights are the K̃ of the variance: the matched control mean of x is
    # Σ K̃ x / Σ K̃ = the mean over treated of their match sets' mean x = (3 + 4 + 16/3) / 3
    row = next(rw for rw in r.table("Balance").rows if rw[0] == "x")
    assert row[5] == pytest.approx((3 + 4 + 16 / 3) / 3)


def test_ties_first_and_random_keep_exactly_k() -> None:
    df = _ties_table()
    s = df.x.to_numpy()
    d = df.d.to_numpy()
    assert match(s, d, 1, ties="first").counts.tolist() == [1, 1, 1]
    assert match(s, d, 1, ties="all").counts.tolist() == [2, 1, 3]
    picks = {tuple(match(s, d, 1, ties="random", rng=np.random.default_rng(i)).donors[:, 0])
             for i in range(20)}
    assert len(picks) > 1  # the tie at x = 3 (rows 5 and 6) goes either way
    assert all(p[0] in (5, 6) for p in picks)
    r = matching(df, Design("d", "y", "att", ("x",), options={"ties": "first"}), None)
    assert "ties broken by keeping the lower score" in " ".join(c.message for c in r.checks)


def test_ties_on_discrete_covariates_recover_stratification() -> None:
    """One discrete covariate: the score is constant within a cell, so matching with every tie
    kept is exact stratification — the cell-table bug the issue found (first donor only) is gone."""
    rng = np.random.default_rng(8)
    n = 3000
    g = rng.integers(0, 4, size=n)
    d = (rng.uniform(size=n) < np.array([0.2, 0.4, 0.6, 0.8])[g]).astype(float)
    y = d * np.array([0.0, 0.5, 1.0, 2.0])[g] + g + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "y": y, "g": pd.Categorical(g)})
    for est in ("ate", "att", "atc"):
        m = matching(df, Design("d", "y", est, ("g",)), None)
        s = stratification(df, Design("d", "y", est, ("g",)), None)
        assert m.estimate.effect == pytest.approx(s.estimate.effect, rel=1e-10), est
        assert m.detail("bias_adjust") is False  # nothing continuous: no adjustment


# --------------------------------------------------------------------------------------------
# the distance scale
# --------------------------------------------------------------------------------------------
def _brute_force_ate(y: np.ndarray, d: np.ndarray, s: np.ndarray, caliper: float) -> float:
    diffs = []
    for i in range(len(y)):
        other = np.flatnonzero(d != d[i])
        dist = np.abs(s[other] - s[i])
        if dist.min() > caliper:
            continue
        js = other[dist <= dist.min() + 1e-12]
        imputed = y[js].mean()
        diffs.append(y[i] - imputed if d[i] == 1 else imputed - y[i])
    return float(np.mean(diffs))


@pytest.mark.parametrize("distance", ["ps", "logit"])
@pytest.mark.parametrize("caliper", [None, 0.05])
def test_distance_equals_brute_force_matcher(distance: str, caliper: float | None) -> None:
    rng = np.random.default_rng(3)
    n = 150
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    d = (rng.uniform(size=n) < special.expit(x1 - 0.5 * x2)).astype(float)
    y = d + x1 + x2 + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2})
    opts: dict[str, object] = {"distance": distance, "bias_adjust": False}
    if caliper is not None:
        opts["caliper"] = caliper
    r = matching(df, Design("d", "y", "ate", ("x1", "x2"), options=opts), None)
    ref = sm.Logit(d, sm.add_constant(np.column_stack([x1, x2]))).fit(disp=0)
    s = ref.predict() if distance == "ps" else ref.fittedvalues  # probability or linear index
    width = np.inf if caliper is None else caliper * s.std(ddof=1)
    assert r.estimate.effect == pytest.approx(_brute_force_ate(y, d, s, width), rel=1e-9)
    assert f'distance = "{distance}"' in r.description
    if caliper is not None:
        assert r.detail("caliper_distance") == pytest.approx(width, rel=1e-6)


def test_the_two_scales_pick_different_neighbours() -> None:
    # a target at p = 0.8, controls at 0.6 and 0.95: 0.95 is nearer on the probability scale
    # (0.15 < 0.2), 0.6 on the logit scale (0.98 < 1.56)
    p = np.array([0.8, 0.6, 0.95])
    d = np.array([1, 0, 0])
    assert match(p, d, 1).donors[0, 0] == 2
    assert match(special.logit(p), d, 1).donors[0, 0] == 1


def test_bad_options_are_errors() -> None:
    df = _ties_table()
    for opts in ({"ties": "some"}, {"distance": "mahalanobis"}, {"bias_adjust": "yes"}):
        with pytest.raises(Exception) as info:
            matching(df, Design("d", "y", "att", ("x",), options=opts), None)
        assert info.value.diagnostics[0].code == "E508"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# bias adjustment, labels and overlap
# --------------------------------------------------------------------------------------------
def _confounded(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    d = (rng.uniform(size=n) < special.expit(1.5 * x1 + x2)).astype(float)
    y = 2.0 * d - 4 * x1 - 2 * x2 + rng.normal(size=n)
    return pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2})


def test_bias_adjustment_is_the_default_with_a_continuous_covariate() -> None:
    df = _confounded()
    on = matching(df, Design("d", "y", "ate", ("x1", "x2")), None)
    off = matching(df, Design("d", "y", "ate", ("x1", "x2"), options={"bias_adjust": False}),
                   None)
    assert on.detail("bias_adjust") is True and off.detail("bias_adjust") is False
    assert "default: continuous covariate(s) x1, x2" in " ".join(c.message for c in on.checks)
    explicit = matching(df, Design("d", "y", "ate", ("x1", "x2"), options={"bias_adjust": True}),
                        None)
    assert on.estimate == explicit.estimate != off.estimate


def test_se_label_says_what_was_computed() -> None:
    df = _confounded()
    ate = matching(df, Design("d", "y", "ate", ("x1", "x2")), None)
    att = matching(df, Design("d", "y", "att", ("x1", "x2")), None)
    assert "conservative for the ATE" in ate.estimate.se_kind
    assert "conservative" not in att.estimate.se_kind and att.estimate.label == "ATT"


def test_ate_without_overlap_for_controls_points_to_att() -> None:
    rng = np.random.default_rng(2)
    xt = rng.normal(1.0, 0.5, size=200)
    xc = rng.normal(-1.5, 1.0, size=2000)  # most controls far below any treated unit
    x = np.concatenate([xt, xc])
    d = np.repeat([1.0, 0.0], [200, 2000])
    df = pd.DataFrame({"d": d, "x": x, "y": d + x + rng.normal(size=len(x))})
    r = matching(df, Design("d", "y", "ate", ("x",)), None)
    msg = " ".join(r.warnings)
    assert "the ATE is poorly supported" in msg and "`att(...)`" in msg
    att = matching(df, Design("d", "y", "att", ("x",)), None)
    assert "poorly supported" not in " ".join(att.warnings)


def test_convergence_is_reported() -> None:
    r = matching(_confounded(), Design("d", "y", "att", ("x1", "x2")), None)
    assert r.detail("score_converged") is True
    assert r.detail("score_iterations") >= 3
    assert any("log-likelihood" in c.message for c in r.checks)


def test_exact_on_every_covariate_is_stratification() -> None:
    rng = np.random.default_rng(5)
    n = 600
    a = rng.integers(0, 3, size=n)
    b = rng.integers(0, 2, size=n).astype(float)
    d = (rng.uniform(size=n) < 0.3 + 0.15 * a).astype(float)
    y = d * (1 + a) + b + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "y": y, "a": pd.Categorical(a), "b": b})
    for est in ("ate", "att", "atc"):
        m = matching(df, Design("d", "y", est, ("a", "b"), options={"exact": ("a", "b")}), None)
        s = stratification(df, Design("d", "y", est, ("a", "b")), None)
        assert m.estimate.effect == s.estimate.effect and m.method == "stratification"
        assert "is exact stratification" in m.checks[0].message

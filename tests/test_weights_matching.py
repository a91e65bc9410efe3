"""Row weights in propensity-score matching: MatchIt's ``s.weights`` convention for the effect
(matching weight × sampling weight), cobalt's for the balance table (weighted means, the SMD's
denominator from the weighted unmatched sample), frequency weights equal to the expanded data
(k = 1, ties kept), the seeded weighted bootstrap, and the refusals (E508)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from causal_dsl.errors import EstimationError
from causal_dsl.estimators import ESTIMATORS
from causal_dsl.estimators.common import Design
from causal_dsl.results import EstimatorResult


def _run(frame: pd.DataFrame, estimand: str, w: np.ndarray | None, kind: str | None,
         covs: tuple[str, ...] = ("x",), **options: object) -> EstimatorResult:
    design = Design("d", "y", estimand, covs, options=options, seed=7, weights=w,
                    weight_kind=kind)
    return ESTIMATORS["matching"](frame, design, None)


def _small() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 24
    x = np.round(rng.normal(size=n), 3)
    d = (rng.uniform(size=n) < special.expit(0.4 * x)).astype(float)
    y = np.round(1.0 + 2.0 * d + x + rng.normal(size=n), 3)
    w = np.round(rng.uniform(0.5, 3.0, n), 2)
    return pd.DataFrame({"d": d, "x": x, "y": y}), w


def _hand(frame: pd.DataFrame, w: np.ndarray, estimand: str) -> tuple[float, np.ndarray]:
    """MatchIt's formula by hand: the weighted logit (statsmodels GLM), 1-NN on the score with
    ties kept (brute force), matching weights K̃ⱼ = Σ 1/Mᵢ ignoring w, then the difference in
    means weighted by matching weight × w; the ATE as the two passes weighted by their
    targets' total weight. Returns the effect and the per-row weights (matching × w)."""
    import statsmodels.api as sm
    x, d, y = (frame[c].to_numpy() for c in ("x", "d", "y"))
    glm = sm.GLM(d, sm.add_constant(x), family=sm.families.Binomial(), freq_weights=w)
    p = glm.fit(tol=1e-14).predict()
    taus, totals = [], []
    combined = np.zeros(len(d))
    for arm in {"att": (1,), "atc": (0,), "ate": (1, 0)}[estimand]:
        k_weight = np.zeros(len(d))
        targets = np.flatnonzero(d == arm)
        donors = np.flatnonzero(d != arm)
        for i in targets:
            dist = np.abs(p[donors] - p[i])
            match_set = donors[dist <= dist.min() + 1e-12]
            k_weight[match_set] += 1.0 / len(match_set)
        mw = k_weight * w
        t_mean = np.average(y[targets], weights=w[targets])
        c_mean = float(mw @ y) / float(mw.sum())
        taus.append(t_mean - c_mean if arm == 1 else c_mean - t_mean)
        totals.append(w[targets].sum())
        combined[targets] += w[targets]
        combined += mw
    return float(np.dot(taus, totals) / np.sum(totals)), combined


@pytest.mark.parametrize("estimand", ["att", "atc", "ate"])
def test_weighted_effect_is_matchits_formula_by_hand(estimand: str) -> None:
    frame, w = _small()
    r = _run(frame, estimand, w, "survey", bias_adjust=False, bootstrap=20)
    tau, _ = _hand(frame, w, estimand)
    assert r.estimate.effect == pytest.approx(tau, rel=1e-9, abs=1e-12)
    unweighted = _run(frame, estimand, None, None, bias_adjust=False)
    assert abs(unweighted.estimate.effect - tau) > 1e-6  # the weights matter here
    assert "weighted bootstrap over 20 resamples" in r.estimate.se_kind
    assert "no published weighted Abadie–Imbens" in r.estimate.se_kind
    assert "seed 7" in r.estimate.se_kind
    assert np.isfinite(r.estimate.se) and r.estimate.se > 0


def test_weighted_balance_smds_equal_a_direct_numpy_computation() -> None:
    frame, w = _small()
    rng = np.random.default_rng(4)
    frame["z"] = np.round(rng.normal(size=len(frame)), 3)
    r = _run(frame, "att", w, "survey", covs=("x", "z"), bias_adjust=False, bootstrap=20)
    import statsmodels.api as sm
    d = frame["d"].to_numpy()
    t = d == 1
    x2 = frame[["x", "z"]].to_numpy()
    p = sm.GLM(d, sm.add_constant(x2), family=sm.families.Binomial(),
               freq_weights=w).fit(tol=1e-14).predict()
    # the matching weights by brute force (1-NN on the score, ties kept), times w
    k_weight = np.zeros(len(d))
    donors = np.flatnonzero(~t)
    for i in np.flatnonzero(t):
        dist = np.abs(p[donors] - p[i])
        ms = donors[dist <= dist.min() + 1e-12]
        k_weight[ms] += 1.0 / len(ms)
    after = np.where(t, w, k_weight * w)
    table = r.tables[0]
    assert "cobalt's s.weights" in table.title
    rows = {row[0]: row for row in table.rows}
    for j, name in enumerate(("x", "z")):
        v = x2[:, j]
        wt = w[t]
        mt = np.average(v[t], weights=wt)
        mc = np.average(v[~t], weights=w[~t])
        var_t = float(wt @ (v[t] - mt) ** 2) / (wt.sum() - (wt**2).sum() / wt.sum())
        smd_before = (mt - mc) / np.sqrt(var_t)  # ATT: the weighted treated SD
        at = np.average(v[t], weights=after[t])
        ac = np.average(v[~t], weights=after[~t])
        row = rows[name]
        np.testing.assert_allclose(row[1:7], [mt, mc, smd_before, at, ac,
                                              (at - ac) / np.sqrt(var_t)], rtol=1e-9)


def _continuous(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    d = (rng.uniform(size=n) < special.expit(0.5 * x - 0.3 * z)).astype(float)
    y = 1.0 + 1.5 * d + x + 0.5 * z + rng.normal(size=n)
    w = rng.integers(1, 4, n).astype(float)
    return pd.DataFrame({"d": d, "x": x, "z": z, "y": y}), w


@pytest.mark.parametrize("estimand", ["att", "ate"])
def test_frequency_weights_equal_the_expanded_data(estimand: str) -> None:
    frame, w = _continuous(90, 5)
    r = _run(frame, estimand, w, "frequency", covs=("x", "z"), se="bootstrap", bootstrap=40)
    big = frame.loc[frame.index.repeat(w.astype(int))].reset_index(drop=True)
    ref = _run(big, estimand, None, None, covs=("x", "z"), se="bootstrap", bootstrap=40)
    assert r.estimate.effect == pytest.approx(ref.estimate.effect, rel=1e-8)
    assert r.estimate.n == ref.estimate.n == (
        int(w[frame["d"] == 1].sum()) if estimand == "att" else int(w.sum()))
    # the same seeded draws of copies: the same bootstrap standard error
    assert r.estimate.se == pytest.approx(ref.estimate.se, rel=1e-6)
    for a, b in zip(r.tables[0].rows, ref.tables[0].rows, strict=True):
        assert a[0] == b[0]
        np.testing.assert_allclose(np.array(a[1:], float), np.array(b[1:], float), rtol=1e-7)
    assert any("frequency weights: matching on the data with each row repeated" in c.message
               for c in r.checks)


@pytest.mark.parametrize(("options", "says"), [
    ({"k": 2}, "k = 2"), ({"ties": "first"}, 'ties = "first"'),
    ({"replace": False}, "replace = false"),
])
def test_frequency_weights_refused_where_not_the_expanded_data(options: dict[str, object],
                                                               says: str) -> None:
    frame, w = _continuous(60, 1)
    with pytest.raises(EstimationError) as info:
        _run(frame, "att", w, "frequency", covs=("x", "z"), **options)
    diag = info.value.diagnostics[0]
    assert diag.code == "E508"
    assert says in diag.message and "repeated w times" in diag.message


def test_weights_refuse_an_explicit_abadie_imbens_variance() -> None:
    frame, w = _continuous(60, 2)
    with pytest.raises(EstimationError) as info:
        _run(frame, "att", w, "survey", covs=("x", "z"), se="abadie-imbens")
    assert info.value.diagnostics[0].code == "E508"
    assert "no weighted Abadie–Imbens variance" in info.value.diagnostics[0].message


def test_survey_weighted_interval_covers_the_population_att() -> None:
    """A population with an effect that varies with s; the sample over-represents s = 1 by a
    factor 4 (weights 1/π). The weighted ATT targets the population's ATT; the unweighted one
    the sample's, which differs by far more than the standard error."""
    rng = np.random.default_rng(11)
    n_pop = 40_000
    x = rng.normal(size=n_pop)
    s = (rng.uniform(size=n_pop) < 0.3).astype(float)
    d = (rng.uniform(size=n_pop) < special.expit(-0.3 + 0.8 * x + 0.5 * s)).astype(float)
    tau = 1.0 + 3.0 * s
    y = 0.5 + x + s + tau * d + rng.normal(size=n_pop)
    truth = float(tau[d == 1].mean())  # the population ATT (to its own sampling error)
    pi = np.where(s == 1, 0.2, 0.05)
    take = rng.uniform(size=n_pop) < pi
    frame = pd.DataFrame({"d": d, "x": x, "s": s, "y": y})[take].reset_index(drop=True)
    w = 1.0 / pi[take]
    r = _run(frame, "att", w, "survey", covs=("x", "s"), bootstrap=200)
    lo, hi = r.estimate.ci_low, r.estimate.ci_high
    assert lo < truth < hi, (lo, truth, hi)
    sample_att = float((1.0 + 3.0 * frame["s"])[frame["d"] == 1].mean())
    assert abs(sample_att - truth) > 3 * r.estimate.se
    assert r.estimate.n == int((frame["d"] == 1).sum())

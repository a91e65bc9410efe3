"""The fast paths of matching (issue 16) against the straightforward computations they replace:
the k-th distance and the windows without binary searches against brute force, the shared sorts,
the one-pass moments against direct sums, the bias adjustment read from them against a
per-arm least-squares fit, and the log-likelihood / probabilities against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from causal_dsl.estimators import neighbours as nb
from causal_dsl.estimators import propensity as pr
from causal_dsl.estimators.matching import matching_effect


def _brute_kth(target: np.ndarray, donors: np.ndarray, k: int, ts: np.ndarray | None = None,
               ds: np.ndarray | None = None) -> np.ndarray:
    out = np.empty(len(target))
    for i, t in enumerate(target):
        dist = np.abs(donors - t)
        if ts is not None and ds is not None:
            dist = dist[ds == ts[i]]
        dist = np.sort(dist)
        out[i] = dist[min(k, len(dist)) - 1] if len(dist) else np.inf
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("discrete", [False, True])
def test_kth_distance_is_brute_force(k: int, discrete: bool) -> None:
    rng = np.random.default_rng(k + 10 * discrete)
    donors = rng.integers(0, 6, 80).astype(float) if discrete else rng.normal(size=80)
    target = rng.integers(-1, 7, 50).astype(float) if discrete else rng.normal(size=50) * 2
    got = nb.kth_distance(np.sort(target), np.sort(donors), k)
    np.testing.assert_array_equal(got, _brute_kth(np.sort(target), donors, k))


def test_kth_distance_within_strata_stops_at_the_stratum() -> None:
    # strata laid side by side as match() does: a stratum with fewer than k donors gives the
    # farthest of those it has, a stratum with none gives inf
    rng = np.random.default_rng(3)
    ds = np.repeat([0, 1, 2], [2, 30, 5])
    donors = np.sort(rng.uniform(size=37)) * 0.5 + ds * 3.0
    order = np.argsort(donors)
    donors, ds = donors[order], ds[order]
    ts = np.array([0, 0, 1, 1, 2, 3])
    target = rng.uniform(size=6) * 0.5 + ts * 3.0
    o = np.argsort(target)
    got = nb.kth_distance(target[o], donors, 3, ds, ts[o])
    np.testing.assert_array_equal(got, _brute_kth(target[o], donors, 3, ts[o], ds))
    assert np.isinf(got[-1])  # stratum 3 has no donor


@pytest.mark.parametrize("width", [1, 2, 4])
def test_window_equals_searchsorted_with_long_runs_of_ties(width: int) -> None:
    rng = np.random.default_rng(width)
    values = np.sort(rng.integers(0, 12, 400).astype(float))
    base = np.searchsorted(values, values, side="left")
    low = values - rng.integers(0, 3, 400)
    high = values + rng.integers(0, 3, 400)
    lo, hi = nb.window(values, base, low, high, width)
    np.testing.assert_array_equal(lo, np.searchsorted(values, low, side="left"))
    np.testing.assert_array_equal(hi, np.searchsorted(values, high, side="right"))


def _slow_within(y: np.ndarray, key: np.ndarray, j: int = 2) -> np.ndarray:
    out = np.zeros(len(y))
    for i in range(len(y)):
        dist = np.abs(key - key[i])
        dist[i] = np.inf
        dj = np.sort(dist)[j - 1]
        near = dist <= dj + 1e-12
        m = near.sum()
        out[i] = m / (m + 1) * (y[i] - y[near].mean()) ** 2
    return out


@pytest.mark.parametrize("discrete", [False, True])
def test_within_arm_variance_is_the_hand_definition(discrete: bool) -> None:
    rng = np.random.default_rng(7)
    key = rng.integers(0, 8, 120).astype(float) if discrete else rng.normal(size=120)
    y = rng.normal(size=120)
    np.testing.assert_allclose(nb.within_arm_variance(y, key), _slow_within(y, key), rtol=1e-12)
    order = np.argsort(key, kind="stable")
    np.testing.assert_array_equal(nb.within_arm_variance(y, key, order=order),
                                  nb.within_arm_variance(y, key))


@pytest.mark.parametrize("k", [1, 3])
def test_shared_sorts_give_the_same_match_sets(k: int) -> None:
    rng = np.random.default_rng(k)
    score = np.round(rng.uniform(size=3000), 3)  # many ties
    d = (rng.uniform(size=3000) < 0.4).astype(float)
    plain = nb.match(score, d, 1, k=k)
    shared = nb.match(score, d, 1, k=k, arm_order=nb.sorted_arms(score, d))
    np.testing.assert_array_equal(plain.counts, shared.counts)
    y = rng.normal(size=3000)
    np.testing.assert_allclose(plain.mean(y), shared.mean(y), rtol=1e-12)
    for a, b in zip(plain.weights(3000), shared.weights(3000), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_design_moments_are_the_direct_sums() -> None:
    rng = np.random.default_rng(1)
    n = pr.MOMENT_CHUNK * 2 + 13  # several blocks and a ragged last one
    x = np.asfortranarray(rng.normal(size=(n, 4)) * [1, 10, 0.1, 1000] + [0, 5, 0, 2000])
    d = (rng.uniform(size=n) < 0.3).astype(float)
    m = pr.design_moments(x, d)
    mu = x.mean(axis=0)
    np.testing.assert_allclose(m.mean, mu, rtol=1e-13)
    np.testing.assert_allclose(m.sd, x.std(axis=0), rtol=1e-12)
    for arm in (0, 1):
        c = x[d == arm] - mu
        np.testing.assert_allclose(m.cross[arm], c.T @ c, rtol=1e-11)
        np.testing.assert_allclose(m.sums[arm], c.sum(axis=0), rtol=1e-8, atol=1e-6)
        assert m.rows[arm] == (d == arm).sum()


def test_bias_adjustment_from_moments_is_least_squares_per_arm() -> None:
    rng = np.random.default_rng(2)
    n = 5000
    x = np.asfortranarray(rng.normal(size=(n, 3)) + np.array([0, 3, 100]))
    d = (rng.uniform(size=n) < 0.5).astype(float)
    y = x @ [1.0, -2.0, 0.5] + d + rng.normal(size=n)
    fits = pr.arm_regressions(y, d, x, moments=pr.design_moments(x, d))
    for arm in (0, 1):
        z = np.column_stack([np.ones(n), x])
        beta = np.linalg.lstsq(z[d == arm], y[d == arm], rcond=None)[0]
        np.testing.assert_allclose(fits[arm], z @ beta, rtol=1e-10)
    # only the donors' arm is fitted for the ATT, and the estimate does not depend on the path
    score = special.expit(x[:, 0] * 0.5)
    with_m = matching_effect(y, d, score, "att", k=1, caliper=None, replace=True, strata=None,
                             x_adjust=x, moments=pr.design_moments(x, d))
    without = matching_effect(y, d, score, "att", k=1, caliper=None, replace=True, strata=None,
                              x_adjust=x)
    assert with_m.effect == pytest.approx(without.effect, rel=1e-12)
    assert with_m.variance == pytest.approx(without.variance, rel=1e-12)


def test_loglik_and_probability_against_scipy() -> None:
    eta = np.concatenate([np.linspace(-800, 800, 2001), [-1e-300, 0.0, 36.0, -745.0]])
    d = (np.arange(len(eta)) % 2).astype(float)
    ll, e = pr._loglik(eta, d)
    ref = float(d @ eta - np.logaddexp(0.0, eta).sum())
    assert ll == pytest.approx(ref, rel=1e-14)
    np.testing.assert_allclose(pr._probability(eta, e), special.expit(eta), rtol=1e-15,
                               atol=1e-300)  # (subnormal tails: ours keeps them)
    w = np.linspace(0.5, 2.0, len(eta))
    llw, _ = pr._loglik(eta, d, w)
    assert llw == pytest.approx(float(w @ (d * eta - np.logaddexp(0.0, eta))), rel=1e-14)


def test_large_fit_equals_statsmodels() -> None:
    # above 2 x WARM_ROWS: the warm start, the chord steps and the one-pass moments all run
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(5)
    n = 2 * pr.WARM_ROWS + 1000
    x = np.asfortranarray(rng.normal(size=(n, 5)) + np.array([0, 0, 50, 0, 0]))
    d = (rng.uniform(size=n) < special.expit(x @ [0.3, -0.2, 0.05, 0.4, 0.0] - 2.5)).astype(float)
    names = [f"x{i}" for i in range(5)]
    s = pr.fit_logit(x, d, names, moments=pr.design_moments(x, d))
    ref = sm.Logit(d, sm.add_constant(x)).fit(disp=0, method="newton", tol=1e-14, maxiter=100)
    np.testing.assert_allclose(s.coef, ref.params, rtol=1e-9, atol=1e-11)
    assert s.loglik == pytest.approx(ref.llf, rel=1e-12)
    plain = pr.fit_logit(x, d, names)
    np.testing.assert_allclose(s.coef, plain.coef, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("kind", ["distinct", "ties", "nan", "signed_zero", "tiny"])
def test_stable_argsort_is_the_stable_order(kind: str) -> None:
    """The fast path must give exactly numpy's stable order: distinct values (the introsort's
    order is then the only sorted one), ties and NaNs (the stable sort itself), -0.0 and 0.0
    (equal, so stable), and lengths 0 and 1."""
    rng = np.random.default_rng(7)
    cases = {
        "distinct": [rng.normal(size=10_001)],
        "ties": [rng.integers(0, 50, size=10_000).astype(float), np.repeat([1.0, 0.5], 3)],
        "nan": [np.where(rng.uniform(size=1000) < 0.1, np.nan, rng.normal(size=1000))],
        "signed_zero": [np.array([0.0, -0.0, 1.0, -0.0, 0.0])],
        "tiny": [np.zeros(0), np.array([3.0])],
    }[kind]
    for v in cases:
        np.testing.assert_array_equal(nb.stable_argsort(v), np.argsort(v, kind="stable"))


@pytest.mark.parametrize("weighted", [False, True])
def test_standardised_cross_and_one_pass_evaluation_are_the_direct_formulas(weighted: bool
                                                                            ) -> None:
    """The Hessian blocks (intercept row from the √w-scaled buffer) and the one-pass
    likelihood + score of a Newton step equal the textbook matrices on the whole design."""
    rng = np.random.default_rng(11)
    n = max(pr.MOMENT_CHUNK, pr.EVAL_ROWS) * 2 + 7  # several blocks and a ragged last one
    x = rng.normal(size=(n, 3)) * [1, 20, 0.5] + [0, 300, -2]
    d = (rng.uniform(size=n) < 0.4).astype(float)
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    mu, sc = x.mean(axis=0), x.std(axis=0)
    z = np.column_stack([np.ones(n), (x - mu) / sc])
    r = rng.normal(size=n)
    wv = np.ones(n) if w is None else w
    h, g = pr.standardised_cross(x, mu, sc, w, r)
    np.testing.assert_allclose(h, z.T @ (z * wv[:, None]), rtol=1e-11, atol=1e-8)
    np.testing.assert_allclose(g, z.T @ r, rtol=1e-10, atol=1e-8)
    b = np.array([0.2, -0.5, 0.3, 0.1])
    point = pr._Point.empty(n)
    ll, score = point.evaluate(x, d, w, mu, sc, b)
    eta = z @ b
    p = special.expit(eta)
    np.testing.assert_allclose(point.eta, eta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(point.p, p, rtol=1e-12)
    assert ll == pytest.approx(float(wv @ (d * eta - np.logaddexp(0.0, eta))), rel=1e-12)
    np.testing.assert_allclose(score, z.T @ (wv * (d - p)), rtol=1e-10, atol=1e-8)

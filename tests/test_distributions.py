"""`causal_dsl.distributions` against mpmath at 40–60 digits, against scipy.special (an
independent implementation: Boost's incomplete beta), and against closed forms.

Errors are measured relative to the problem's own conditioning: a p-value at t carries the
rounding of t²/ν, which moves ln P by about t²ν/(ν + t²) ulps, so the tolerance is
``REL · (1 + t²ν/(ν + t²))``.
"""

from __future__ import annotations

import math

import mpmath
import pytest
from scipy import special

from causal_dsl import distributions as dist

REL = 1e-14  # 45 ulps: TOMS 708's own tolerance is 15 ε per expansion


def _cond(t: float, df: float) -> float:
    return 1.0 + t * t * df / (df + t * t) if math.isfinite(df) else 1.0 + t * t


def _mp_two_sided(t: float, df: float) -> mpmath.mpf:
    """P(|T| ≥ |t|) in mpmath: the incomplete beta where its series converges, else the
    density integrated on a fine grid (the regime of large ν near the centre)."""
    with mpmath.workdps(60):
        tt, v, h = mpmath.mpf(t), mpmath.mpf(df), mpmath.mpf(1) / 2
        x = v / (v + tt * tt)
        if x < 0.5:
            return +mpmath.betainc(v / 2, h, 0, x, regularized=True)
        if v < 100:
            with mpmath.workdps(120):
                y = tt * tt / (v + tt * tt)
                return +(1 - mpmath.betainc(h, v / 2, 0, y, regularized=True))
        c = mpmath.loggamma((v + 1) / 2) - mpmath.loggamma(v / 2) - mpmath.log(v * mpmath.pi) / 2

        def density(s: mpmath.mpf) -> mpmath.mpf:
            return mpmath.exp(c - (v + 1) / 2 * mpmath.log1p(s * s / v))

        grid = [tt + u for u in mpmath.linspace(0, 2, 401)] + [mpmath.inf]
        return 2 * mpmath.quad(density, grid)


SMALL_DF = [0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 7.0, 10.0, 14.9, 15.0, 20.0, 29.0, 30.0, 31.0,
            45.0, 60.0, 99.0]
LARGE_DF = [100.0, 500.0, 2999.0, 1e4, 1e6, 1e8, 1e12, 1e15]
T_GRID = [1e-10, 1e-6, 1e-3, 0.1, 0.5, 1.0, 1.96, 2.5, 4.0, 6.0, 10.0, 20.0, 50.0, 1e3, 1e5]


@pytest.mark.parametrize("df", SMALL_DF)
def test_two_sided_matches_mpmath_for_small_df(df: float) -> None:
    for t in T_GRID:
        ref = _mp_two_sided(t, df)
        ours = dist.t_two_sided(t, df)
        if ref < 1e-300:  # below the doubles' range (ν = 99, t = 1e5: 1e-495)
            assert ours < 1e-290
            continue
        assert abs(ours - ref) <= REL * _cond(t, df) * ref, (df, t, ours, ref)


@pytest.mark.parametrize("df", LARGE_DF)
def test_two_sided_matches_mpmath_in_the_tails_for_large_df(df: float) -> None:
    """t² ≥ ν: the power-series regime (and the underflow of the far tail)."""
    for t in [math.sqrt(df) * k for k in (1.0, 1.3, 2.0, 5.0)]:
        ref = _mp_two_sided(t, df)
        ours = dist.t_two_sided(t, df)
        if ref < 1e-300:
            assert ours < 1e-290
            continue
        assert abs(ours - ref) <= REL * _cond(t, df) * ref, (df, t, ours, ref)


@pytest.mark.parametrize(("df", "t"), [(1e15, 15.0), (1e10, 30.0), (2999.0, 30.0),
                                       (1e4, 20.0), (500.0, 1.0), (1e6, 0.01)])
def test_two_sided_matches_the_integrated_density_near_the_centre(df: float, t: float) -> None:
    """t² < ν with ν large: the asymptotic expansion (BGRAT) against quadrature."""
    ref = _mp_two_sided(t, df)
    ours = dist.t_two_sided(t, df)
    assert abs(ours - ref) <= REL * _cond(t, df) * ref, (df, t, ours, ref)


def test_two_sided_agrees_with_scipy_on_a_dense_grid() -> None:
    worst = 0.0
    for df in SMALL_DF + LARGE_DF + [1e300]:
        for k in range(-80, 61):
            t = 10.0 ** (k / 20)
            theirs = float(special.stdtr(df, -t)) * 2
            if theirs < 1e-300 or (df == 1.0 and t < 1e-3):
                continue  # scipy 1.17: stdtr(1, -1e-8) is 3e-9 off ½ + atan(t)/π (below)
            worst = max(worst, abs(dist.t_two_sided(t, df) - theirs) / theirs / _cond(t, df))
    assert worst < 1e-13


def test_closed_forms() -> None:
    for t in [1e-8, 0.3, 1.0, 7.0, 1e6]:
        cauchy = 0.5 - math.atan(t) / math.pi  # ν = 1
        assert dist.t_cdf(-t, 1.0) == pytest.approx(cauchy, rel=4e-16)
        two = 0.5 - 0.5 * t / math.sqrt(2 + t * t)  # ν = 2
        assert dist.t_cdf(-t, 2.0) == pytest.approx(two, rel=1e-14)
        assert dist.t_two_sided(t, math.inf) == pytest.approx(math.erfc(t / math.sqrt(2)),
                                                              rel=1e-15)
    assert dist.t_quantile(0.75, 1.0) == pytest.approx(1.0, rel=1e-15)
    assert dist.t_quantile(1e-12, 1.0) == pytest.approx(-1 / math.tan(math.pi * 1e-12),
                                                        rel=1e-15)


def test_cdf_is_symmetric_and_monotone() -> None:
    for df in [0.5, 3.0, 40.0, 1e5]:
        last = 0.0
        for k in range(-60, 61):
            t = math.copysign(10.0 ** (abs(k) / 15 - 2), k) if k else 0.0
            value = dist.t_cdf(t, df)
            assert value >= last
            last = value
            assert value + dist.t_cdf(-t, df) == pytest.approx(1.0, abs=1e-15)


QUANTILE_P = [1e-300, 1e-100, 1e-30, 1e-12, 1e-6, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.3, 0.45,
              0.4999, 0.49999999, 0.5000001, 0.6, 0.74, 0.76, 0.9, 0.95, 0.975, 0.99, 0.999]


@pytest.mark.parametrize("df", [0.1, 0.5, 1.0, 1.5, 2.0, 5.0, 7.3, 14.9, 15.0, 29.5, 30.0,
                                100.0, 1e3, 1e6, 1e12, 1e300])
def test_quantile_inverts_the_cdf(df: float) -> None:
    for p in QUANTILE_P:
        t = dist.t_quantile(p, df)
        if math.isinf(t):  # the quantile is beyond the largest double: (C/p)^(1/ν) for tiny ν
            assert df < 1 and p < 1e-90
            continue
        back = dist.t_cdf(t, df)
        tail = min(p, 1 - p)
        # one ulp of t moves the cdf by f(t)·|t|·ε, and the cdf itself rounds t²/ν (a few
        # ulps): the tolerance allows for both
        slack = 2e-15 * abs(t) * math.exp(dist._log_density(t, df)) if t else 0.0
        assert abs(back - p) <= 1e-14 * tail + slack, (df, p, t, back)


def test_quantile_agrees_with_scipy_where_scipy_is_finite() -> None:
    for df in [0.5, 1.5, 3.0, 10.0, 31.0, 1e3, 1e8]:
        for p in QUANTILE_P:
            theirs = float(special.stdtrit(df, p))
            if abs(theirs) > 1e150:  # scipy caps where t² would overflow; ours does not
                continue
            tol = 1e-13 if abs(p - 0.5) > 0.01 else 1e-11  # scipy loses digits near ½
            assert dist.t_quantile(p, df) == pytest.approx(theirs, rel=tol), (df, p)


def test_quantile_near_the_centre_matches_mpmath() -> None:
    """Near p = ½ the quantile is inverted from P(|T| < s) directly, not from 1 − 2·tail."""
    with mpmath.workdps(40):
        for df in [0.5, 2.0, 7.3, 100.0, 1e6]:
            for p in [0.4999, 0.49999999, 0.5000001, 0.6, 0.74]:
                t = dist.t_quantile(p, df)
                tt, v, h = mpmath.mpf(t), mpmath.mpf(df), mpmath.mpf(1) / 2
                centre = mpmath.betainc(h, v / 2, 0, tt * tt / (v + tt * tt), regularized=True)
                back = (1 + centre) / 2 if t > 0 else (1 - centre) / 2
                assert abs(back - p) <= 2e-15 * p, (df, p)


def test_normal() -> None:
    for p in [1e-300, 1e-20, 1e-5, 0.025, 0.3, 0.5, 0.7, 0.975, 1 - 1e-12]:
        assert dist.normal_quantile(p) == pytest.approx(float(special.ndtri(p)), rel=1e-15,
                                                        abs=1e-300)
    with mpmath.workdps(40):
        for x in [-37.0, -10.0, -1.5, 0.0, 0.3, 2.0, 8.0]:
            ref = mpmath.ncdf(x)
            assert abs(dist.normal_cdf(x) - ref) <= 1e-15 * (1 + x * x) * ref


def test_edges_give_nan_or_limits() -> None:
    nan = math.nan
    assert math.isnan(dist.t_cdf(nan, 3.0))
    assert math.isnan(dist.t_two_sided(1.0, 0.0))
    assert math.isnan(dist.t_two_sided(1.0, -2.0))
    assert math.isnan(dist.t_two_sided(1.0, nan))
    assert math.isnan(dist.t_quantile(1.5, 3.0))
    assert math.isnan(dist.t_quantile(nan, 3.0))
    assert math.isnan(dist.normal_quantile(-0.1))
    assert dist.t_cdf(-math.inf, 3.0) == 0.0
    assert dist.t_cdf(math.inf, 3.0) == 1.0
    assert dist.t_two_sided(0.0, 3.0) == 1.0
    assert dist.t_quantile(0.0, 3.0) == -math.inf
    assert dist.t_quantile(1.0, 3.0) == math.inf
    assert dist.t_quantile(0.5, 3.0) == 0.0
    assert dist.t_two_sided(1e200, 3.0) == 0.0
    assert dist.t_two_sided(1e200, 0.1) > 0.0  # ν = 0.1: P ≈ C s^−ν is still a double

"""The normal and Student t distributions an interval needs, in pure Python.

In: a statistic or a probability, and for Student's t its degrees of freedom ν (any real
ν > 0, or ``inf``). Out: floats — `normal_cdf`, `normal_quantile`, `t_cdf`, `t_two_sided`
(P(|T| ≥ |t|), the two-sided p-value), `t_quantile`. Nothing raises: a probability outside
[0, 1], ν ≤ 0 or a NaN gives NaN, as scipy.special does.

Why not scipy.special: importing it costs 0.2 s (scipy 1.17's array-API layer walks every
name of numpy), more than the rest of `causal run` on a small study spends on its estimates.

How, by the book of DiDonato & Morris (ACM TOMS 708, 1992), the algorithm of R's ``pt`` and
scipy's cdflib. Student's tail is a regularised incomplete beta function,
P(|T| ≥ |t|) = I_x(ν/2, ½) with x = ν/(ν + t²), always computed directly (never as 1 − the
other side, which would lose the digits of a small p-value):

* x ≤ 0.7 (|t| ≥ 0.65√ν): the power series in x (TOMS's BPSER);
* x > 0.7 and ν ≥ 30: the asymptotic expansion for a large first parameter (BGRAT), whose
  leading term is the normal tail, so that it stays exact as ν → ∞;
* x > 0.7 and ν < 30: BGRAT at ν/2 + 20, plus the 20 terms that step down to ν/2 (BUP).

ln x is computed as −log1p(t²/ν), so nothing is lost when t² ≪ ν, and Γ(a + ½)/Γ(a) by
Stirling's differences for a ≥ 15 (``lgamma`` itself has an absolute error of ~a·ln a·ε).
Quantiles are found by safeguarded Newton steps on the log of the tail. Against mpmath at
40–60 digits (tests/test_distributions.py), the relative error is below 1e-14 times the
problem's own condition number (1 + t²ν/(ν + t²): the rounding of t²/ν) everywhere tested, ν
from 0.1 to 10¹⁵ and tails down to 1e-300.
"""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)
_LN_SQRT_PI = 0.5 * math.log(math.pi)
_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_EPS = 2.220446049250313e-16
_MAX = 1.7976931348623157e308
_BGRAT_MIN_A = 15.0  # BGRAT's own condition (TOMS 708: a ≥ 15, b ≤ 1)
_BUP_STEPS = 20  # TOMS 708 steps a small first parameter up by 20 before BGRAT
_LN_07 = math.log(0.7)  # below this ln x, the power series (TOMS 708's switch)


# --------------------------------------------------------------------------------------------
# normal
# --------------------------------------------------------------------------------------------
def normal_cdf(x: float) -> float:
    """Φ(x), from ``erfc`` so that the lower tail keeps its relative accuracy.

    >>> round(normal_cdf(1.959963984540054), 12), normal_cdf(-37.0) > 0
    (0.975, True)
    """
    return 0.5 * math.erfc(-x / _SQRT2)


def normal_quantile(p: float) -> float:
    """Φ⁻¹(p): Abramowitz & Stegun 26.2.23 as a start (error < 4.5e-4), then Halley's steps,
    which triple the digits each time.

    >>> round(normal_quantile(0.975), 12), normal_quantile(0.5), normal_quantile(1.0)
    (1.95996398454, 0.0, inf)
    """
    if not 0.0 <= p <= 1.0:  # also NaN
        return math.nan
    if p == 0.5:
        return 0.0
    if p > 0.5:
        return -normal_quantile(1.0 - p)  # exact: 1 − p has no rounding for p ≥ ½
    if p == 0.0:
        return -math.inf
    s = math.sqrt(-2.0 * math.log(p))
    x = -(s - (2.515517 + 0.802853 * s + 0.010328 * s * s)
          / (1.0 + 1.432788 * s + 0.189269 * s * s + 0.001308 * s ** 3))
    for _ in range(8):
        density = math.exp(-0.5 * x * x - _LN_SQRT_2PI)
        if density == 0.0:
            break
        e = (normal_cdf(x) - p) / density
        step = e / (1.0 + 0.5 * x * e)
        x -= step
        if abs(step) <= 4 * _EPS * abs(x):
            break
    return x


# --------------------------------------------------------------------------------------------
# Γ ratios
# --------------------------------------------------------------------------------------------
def _stirling_delta(x: float) -> float:
    """ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π], x ≥ 15: seven terms reach ε."""
    r = 1.0 / (x * x)
    return (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 - r * (1.0 / 1680 - r * (
        1.0 / 1188 - r * (691.0 / 360360 - r / 156)))))) / x


def _ln_gamma_ratio(a: float, b: float) -> float:
    """ln Γ(a + b) − ln Γ(a) for b ≤ 1, exact to a few ε for any a (TOMS 708's ALGDIV)."""
    if a < _BGRAT_MIN_A:
        return math.lgamma(a + b) - math.lgamma(a)
    return ((a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b
            + _stirling_delta(a + b) - _stirling_delta(a))


def _ln_gamma_ratio_over_power(a: float, b: float, nu: float) -> float:
    """ln[Γ(a + b) / (Γ(a) ν^b)] for a ≥ 15 and ν near a, without the cancellation of
    b·ln(a + b) against b·ln ν (each ~345 at a = 10³⁰⁰)."""
    return ((a - 0.5) * math.log1p(b / a) - b + b * math.log1p((a + b - nu) / nu)
            + _stirling_delta(a + b) - _stirling_delta(a))


def _ln_beta_half(a: float) -> float:
    """ln B(a, ½)."""
    return _LN_SQRT_PI - _ln_gamma_ratio(a, 0.5)


# --------------------------------------------------------------------------------------------
# I_x(a, ½): the three methods
# --------------------------------------------------------------------------------------------
def _power_series(a: float, x: float, xa: float) -> float:
    """I_x(a, ½) = x^a / (a B(a, ½)) · [1 + a Σ_j (½)_j / j! · x^j / (a + j)] (BPSER), for
    x ≤ 0.7: every term is positive, so the sum keeps its relative accuracy."""
    term, total = 1.0, 0.0
    for j in range(1, 2000):
        term *= (j - 0.5) / j * x
        add = term / (a + j)
        total += add
        if add <= _EPS * total:
            break
    return xa * math.exp(-math.log(a) - _ln_beta_half(a)) * (1.0 + a * total)


def _step_up(a: float, x: float, y: float, xa: float, n: int) -> float:
    """I_x(a, ½) − I_x(a + n, ½) = Σ_{k<n} x^(a+k) y^½ / ((a + k) B(a + k, ½)) (BUP): positive
    terms, each the one before times x (a + k − ½) / (a + k)."""
    term, total = 1.0, 1.0
    for k in range(1, n):
        term *= x * (a + k - 0.5) / (a + k)
        total += term
    return xa * math.sqrt(y) * math.exp(-math.log(a) - _ln_beta_half(a)) * total


def _large_a_expansion(a: float, ln_x: float) -> float:
    """I_x(a, ½) for a ≥ 15 and x near 1: TOMS 708's BGRAT with b = ½, where the incomplete
    gamma ratio Q(½, z) is erfc(√z). The leading term is the normal tail."""
    b, bm1 = 0.5, -0.5
    nu = a + 0.5 * bm1
    z = -nu * ln_x
    if z <= 0.0:
        return 1.0
    # r = e^−z z^b / Γ(b);  u = r Γ(a + b) / (Γ(a) ν^b)
    ln_r = -z + b * math.log(z) - _LN_SQRT_PI
    ln_u = ln_r + _ln_gamma_ratio_over_power(a, b, nu)
    q = math.erfc(math.sqrt(z))
    if ln_u < -745.0 or q == 0.0:
        return 0.0  # below the smallest double
    j = math.exp(math.log(q) - ln_r)  # Q/r, both near e^−z: a ratio of logs never overflows
    v = 0.25 / (nu * nu)
    t2 = 0.25 * ln_x * ln_x
    total = j
    t = cn = 1.0
    n2 = 0.0
    c: list[float] = []
    d: list[float] = []
    for n in range(1, 31):
        bp2n = b + n2
        j = (bp2n * (bp2n + 1.0) * j + (z + bp2n + 1.0) * t) * v
        n2 += 2.0
        t *= t2
        cn /= n2 * (n2 + 1.0)
        c.append(cn)
        s, coef = 0.0, b - n
        for i in range(1, n):
            s += coef * c[i - 1] * d[n - i - 1]
            coef += b
        d.append(bm1 * cn + s / n)
        dj = d[-1] * j
        total += dj
        if abs(dj) <= 15 * _EPS * total:
            break
    return math.exp(ln_u) * total


def _two_sided(t: float, df: float) -> float:
    """P(|T| ≥ |t|) = I_x(ν/2, ½), x = ν/(ν + t²), for finite t and ν > 0."""
    if t == 0.0:
        return 1.0
    a = 0.5 * df
    w = t * t / df
    if w < 1.0:
        x, y, ln_x = 1.0 / (1.0 + w), w / (1.0 + w), -math.log1p(w)  # exact for t² ≪ ν
    else:
        r = df / abs(t) / abs(t)  # 1/w without t² overflowing
        x, y = r / (1.0 + r), 1.0 / (1.0 + r)
        # when ν/t² is not a normal double, its log comes from the logs of t and ν
        ln_x = math.log(r) - math.log1p(r) if r >= 1e-300 else \
            math.log(df) - 2.0 * math.log(abs(t))
    if ln_x > _LN_07 and a >= _BGRAT_MIN_A:
        return _large_a_expansion(a, ln_x)
    # x^a by `pow` of an x with a 2-ulp error, not exp(a ln x), which carries ulp(a ln x):
    # 1e-13 near 1e-300; when x is not a normal double, as ν^a · |t|^−2a
    xa = math.pow(x, a) if x >= 1e-300 else math.pow(df, a) * math.pow(abs(t), -2.0 * a)
    if not 0.0 < xa < math.inf:
        xa = math.exp(a * ln_x)
    if ln_x <= _LN_07:
        return _power_series(a, x, xa)
    return _step_up(a, x, y, xa, _BUP_STEPS) + _large_a_expansion(a + _BUP_STEPS, ln_x)


# --------------------------------------------------------------------------------------------
# Student's t
# --------------------------------------------------------------------------------------------
def t_two_sided(t: float, df: float) -> float:
    """P(|T_ν| ≥ |t|), the two-sided p-value, without the cancellation of 2·(1 − F).

    >>> round(t_two_sided(2.0, 10), 12), t_two_sided(0.0, 5), t_two_sided(3.0, math.inf) > 0
    (0.073388034771, 1.0, True)
    """
    if math.isnan(t) or not df > 0:
        return math.nan
    if math.isinf(df):
        return math.erfc(abs(t) / _SQRT2)
    if math.isinf(t):
        return 0.0
    return _two_sided(t, df)


def t_cdf(t: float, df: float) -> float:
    """P(T_ν ≤ t) (scipy's ``stdtr(df, t)``).

    >>> round(t_cdf(-2.0, 10), 12), t_cdf(math.inf, 3)
    (0.036694017385, 1.0)
    """
    half = 0.5 * t_two_sided(t, df)  # ½ at t = 0, NaN for a NaN
    return half if t < 0 else 1.0 - half


def _log_density(t: float, df: float) -> float:
    ln_w = 2.0 * math.log(abs(t)) - math.log(df) if t else -math.inf
    spread = math.log1p(t * t / df) if ln_w < 700.0 else ln_w + math.exp(-ln_w)
    return -0.5 * math.log(df) - _ln_beta_half(0.5 * df) - 0.5 * (df + 1.0) * spread


def t_quantile(p: float, df: float) -> float:
    """t with P(T_ν ≤ t) = p (scipy's ``stdtrit(df, p)``).

    >>> round(t_quantile(0.975, 10), 12), round(t_quantile(0.975, math.inf), 12)
    (2.228138851986, 1.95996398454)
    """
    if not (0.0 <= p <= 1.0) or not df > 0:
        return math.nan
    if math.isinf(df):
        return normal_quantile(p)
    if p == 0.5:
        return 0.0
    sign = 1.0 if p > 0.5 else -1.0
    tail = min(p, 1.0 - p)  # the one-sided tail to invert
    if tail == 0.0:
        return sign * math.inf
    if df == 1.0:
        return sign / math.tan(math.pi * tail)  # Cauchy: P(T ≤ −s) = atan(1/s)/π, exact
    centre = abs(2.0 * (p - 0.5))  # P(|T| < s): exact here, where 2·tail is 1 − (small)
    if centre < 0.5:
        return sign * _invert(centre, df, central=True)
    return sign * _invert(2.0 * tail, df, central=False)


def _central(s: float, df: float) -> float:
    """P(|T| < s) = I_y(½, ν/2), y = s²/(ν + s²): BPSER's series in y while ν/2 · y ≤ 0.7 (its
    own condition) and y ≤ 0.99; otherwise 1 − the tail, which is then not small."""
    a = 0.5 * df
    w = s * s / df
    y = w / (1.0 + w)
    if a * y > 0.7 or y > 0.99:
        return 1.0 - _two_sided(s, df)
    term, total = 1.0, 0.0
    for j in range(1, 5000):
        term *= (j - a) / j * y
        add = term / (0.5 + j)
        total += add
        if abs(add) <= _EPS * abs(total):
            break
    log_front = 0.5 * math.log(y) - math.log(0.5) - _ln_beta_half(a)  # y^½ / (½ B(½, ν/2))
    return math.exp(log_front) * (1.0 + 0.5 * total)


def _invert(target: float, df: float, *, central: bool) -> float:
    """The s > 0 with P(|T| ≥ s) = target (or P(|T| < s), when `central`): Newton on the log of
    that probability against ln s — exact in one step for a power-law tail (slope −ν), and
    good for a normal one — taken as a factor on s (so that s keeps its own ulps), inside a
    bracket that each step narrows (its geometric mean, or a factor of 2 outward, when a step
    would leave it)."""
    z = -normal_quantile(0.5 - 0.5 * target) if central else -normal_quantile(0.5 * target)
    # Cornish–Fisher (Abramowitz & Stegun 26.7.5) as the start: exact to O(ν⁻⁵) for large ν
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    r = 1.0 / df
    s = z + r * (g1 + r * (g2 + r * (g3 + r * g4)))
    if not (math.isfinite(s) and s > 0):
        s = max(z, 1.0)
    lo, hi = 0.0, math.inf  # the bracket
    for _ in range(400):
        value = _central(s, df) if central else _two_sided(s, df)
        if value <= 0.0:  # underflow: the tail's answer lies nearer the centre
            hi = s
            s = math.sqrt(lo) * math.sqrt(s) if lo > 0 else 0.5 * s
            continue
        g = math.log(value / target)  # not log(value) − log(target): ~690 ulps apart at 1e-300
        if g == 0.0:
            return s
        if (g > 0) != central:
            lo = s  # the probability is on the side that needs a larger s
        else:
            hi = s
        ln_slope = _log_density(s, df) + math.log(2.0 * s) - math.log(value)  # |d ln P/d ln s|
        step = g / math.exp(ln_slope) if ln_slope < 700.0 else 0.0
        step = -step if central else step
        nxt = s * math.exp(min(step, 700.0))
        if not lo < nxt < hi:
            if math.isinf(hi):  # outward, as far as the step says, up to the largest double
                if s == _MAX:
                    return math.inf  # the quantile lies beyond it
                nxt = min(s * math.exp(min(max(step, math.log(2.0)), 700.0)), _MAX)
            else:
                nxt = math.sqrt(lo) * math.sqrt(hi) if lo > 0 else 0.5 * s
        if abs(nxt - s) <= 2 * _EPS * s:
            return nxt
        s = nxt
    return s

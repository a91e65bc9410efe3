"""Instrumental variables: two-stage least squares with the diagnostics a reviewer asks for.

In: a coded estimation frame and a `Design` whose option ``instrument`` names the excluded
instruments (a tuple of variables, as the resolver stores ``instrument = z`` or ``{z1, z2}``) and
whose `covariates` are the included exogenous variables (a conditional instrument's conditioning
set W, plus anything else adjusted for). Options ``se`` = HC1 (default), HC0, nonrobust or
cluster; ``cluster`` = a column. Out: an `EstimatorResult` whose estimate is the treatment's 2SLS
coefficient, with the first stage (its F statistic and the Montiel Olea–Pflueger effective F),
the Anderson–Rubin confidence set, Sargan's and Hansen's overidentification tests with several
instruments, and the estimand in words (a LATE for a binary treatment).

Conventions are those of `linearmodels.IV2SLS` (tested to 1e-8): HC0 = (X̂'X̂)⁻¹X̂'diag(e²)X̂(X̂'X̂)⁻¹
with X̂ = P_Z X and e = y − Xβ̂ (the structural residuals), HC1 = HC0·n/(n−k) (``debiased=True``),
nonrobust = s²(X̂'X̂)⁻¹ with s² = e'e/(n−k), CR1 = G/(G−1)·(n−1)/(n−k) times the cluster score
outer products; inference by t(n−k), or t(G−1) when clustered. Hansen's J is that of two-step
efficient GMM with the weight from the 2SLS residuals (`linearmodels.IVGMM`'s ``j_stat``).

`instrument_arrows` reads the graph: the arrows whose absence the exclusion restriction and the
instrument's independence rest on (each one, if added, would invalidate the instrument).

Row weights (`data ... weights(w, kind = ...)`): analytic and survey weights give weighted 2SLS,
every statistic computed on the rows scaled by √w (`linearmodels.IV2SLS(weights=...)`, n = rows;
survey weights refuse se = nonrobust, as in OLS); frequency weights give exactly the fit on the
data with each row repeated w times (n = Σw).

Raises `EstimationError` E508 (no instrument, an instrument that is the treatment, the outcome or
a covariate, a bad ``se``), E510 (instruments and covariates linearly dependent) and E520 (the
instruments do not move the treatment at all: the first stage is exactly zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from scipy import linalg, optimize, special

from ..errors import Diagnostic, EstimationError, Span
from ..results import Check, CheckLevel, Estimate, EstimatorResult, Table, fmt
from .common import WEIGHT_CONVENTIONS, Design, design_matrix, group_sums, numeric, option_error
from .ols import _weighted_cross, fit_linear, rank_problem, standard_error_kind

SE_KINDS = ("HC1", "HC0", "nonrobust", "cluster")
# Staiger & Stock (1997)'s rule of thumb: a first-stage F below 10 means weak instruments. It
# approximates Stock & Yogo's critical value for a 2SLS bias above 10% of OLS's with one
# instrument, and it is the number readers know; with heteroskedastic or clustered errors it is
# applied to the effective F (Montiel Olea & Pflueger 2013), as Andrews, Stock & Sun (2019)
# recommend.
WEAK_F = 10.0
# Montiel Olea & Pflueger's conservative ("simplified") critical value for a worst-case bias of
# 10% of the benchmark at the 5% level, valid for any number of instruments.
MOP_CRITICAL = 23.109
AR_GRID = 4001  # points of the Anderson–Rubin search when there are several instruments


@dataclass(frozen=True)
class IVFit:
    """A 2SLS fit: coefficients, covariance, and the pieces the diagnostics reuse."""

    names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    nobs: int
    k: int
    df_inference: float | None
    se_kind: str
    resid: np.ndarray
    n_clusters: int | None = None

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))


def _solve_spd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a⁻¹b for a symmetric positive definite a, scaled to a unit diagonal first."""
    d = np.sqrt(np.diag(a))
    s = a / np.outer(d, d)
    rhs = b / (d[:, None] if b.ndim == 2 else d)
    out = linalg.solve(s, rhs, assume_a="pos", check_finite=False)
    return out / (d[:, None] if b.ndim == 2 else d)


def _meat(m: np.ndarray, e: np.ndarray, codes: np.ndarray | None, g: int,
          fw: np.ndarray | None = None) -> np.ndarray:
    """Σ mᵢmᵢ'eᵢ² (robust) or Σ_g (Σ_{i∈g} mᵢeᵢ)(…)' (clustered).

    On rows scaled by √w with frequency weights `fw`, the robust meat divides by w once more:
    each of the w copies of a row contributes mᵢmᵢ'eᵢ² unscaled, w·mm'e² in all, not w²."""
    if codes is None:
        return _weighted_cross(m, e * e if fw is None else e * e / fw)
    s = group_sums(codes, m * e[:, None], g)
    return s.T @ s


def _se_label(se: str, g: int | None, k: int) -> str:
    return {
        "HC0": "HC0 heteroskedasticity-robust (linearmodels robust, debiased=False)",
        "HC1": "HC1 heteroskedasticity-robust, n/(n−k) correction (linearmodels robust, "
               "debiased=True; Stata's ivregress robust small)",
        "nonrobust": "classical s²(X̂'X̂)⁻¹ with s² = e'e/(n−k) (linearmodels unadjusted, "
                     "debiased=True)",
    }.get(se, f"cluster-robust CR1 with {g} clusters: G/(G−1)·(N−1)/(N−K), K = {k} "
              f"(linearmodels clustered, debiased=True); t({(g or 2) - 1}) reference")


def fit_2sls(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, names: Sequence[str], *, se: str = "HC1",
    clusters: np.ndarray | None = None, fw: np.ndarray | None = None,
) -> IVFit:
    """2SLS of `y` on `x` (endogenous and exogenous columns) with instruments `z` (the excluded
    instruments and the exogenous columns). Solved from cross-products: Π = (Z'Z)⁻¹Z'X,
    β = (Π'Z'X)⁻¹Π'Z'y, so the n x k fitted X̂ = ZΠ is formed only for the robust meat.

    Weighted 2SLS is this on rows scaled by √w (`linearmodels.IV2SLS(weights=...)`: n = rows).
    With frequency weights `fw` (rows already scaled) it is 2SLS on the data with each row
    repeated w times: n = Σw, and the robust meat counts each copy once."""
    n, k = x.shape
    if fw is not None:
        n = round(float(fw.sum()))
    zx = z.T @ x
    pi = _solve_spd(z.T @ z, zx)
    a = zx.T @ pi  # X'P_Z X
    beta = _solve_spd(a, pi.T @ (z.T @ y))
    e = y - x @ beta
    bread = _solve_spd(a, np.eye(k))
    df: float | None = n - k
    g = None
    if se == "nonrobust":
        cov = bread * float(e @ e) / (n - k)
    else:
        codes = None
        if se == "cluster":
            assert clusters is not None
            codes, uniq = pd.factorize(clusters)
            g = len(uniq)
        xhat = z @ pi
        cov = bread @ _meat(xhat, e, codes, g or 0, fw) @ bread
        if se == "HC1":
            cov *= n / (n - k)
        elif se == "cluster":
            assert g is not None
            cov *= g / (g - 1) * (n - 1) / (n - k)
            df = g - 1
    return IVFit(tuple(names), beta, cov, n, k, df, _se_label(se, g, k), e, g)


# --------------------------------------------------------------------------------------------
# weak-instrument-robust inference and overidentification
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ARSet:
    """The Anderson–Rubin confidence set: the values β₀ that the AR test does not reject.

    A union of intervals, possibly unbounded (ends at ±inf) or empty (every value rejected: with
    several instruments, a sign that they disagree)."""

    intervals: tuple[tuple[float, float], ...]
    level: float = 0.95

    @property
    def bounded(self) -> bool:
        return all(np.isfinite(v) for iv in self.intervals for v in iv)

    def text(self) -> str:
        if not self.intervals:
            return "empty (the AR test rejects every value)"
        if self.intervals == ((-np.inf, np.inf),):
            return "the whole real line (unbounded: the data say nothing about the effect)"
        return " ∪ ".join(f"[{fmt(a)}, {fmt(b)}]".replace("[-inf", "(-inf").replace("inf]", "inf)")
                          for a, b in self.intervals)


class _ARStat:
    """AR(β₀) = Wald test (with the chosen covariance) that the excluded instruments have zero
    coefficients in the regression of y − β₀d on all instruments, divided by L.

    After partialling out the exogenous columns, the coefficient is g_y − β₀g_d and its meat is
    a quadratic in β₀, so AR is evaluated for any β₀ from a few L x L matrices."""

    def __init__(self, y: np.ndarray, d: np.ndarray, zx: np.ndarray, w: np.ndarray, se: str,
                 codes: np.ndarray | None, g: int, fw: np.ndarray | None = None) -> None:
        n = len(y) if fw is None else round(float(fw.sum()))
        kz = zx.shape[1] + w.shape[1]
        both = np.column_stack([y, d, zx])
        both -= w @ _solve_spd(w.T @ w, w.T @ both)  # partial out the exogenous columns
        yt, dt, zt = both[:, 0], both[:, 1], both[:, 2:]
        q = zt.T @ zt
        self.qinv = _solve_spd(q, np.eye(q.shape[0]))
        self.gy, self.gd = self.qinv @ (zt.T @ yt), self.qinv @ (zt.T @ dt)
        ry, rd = yt - zt @ self.gy, dt - zt @ self.gd
        self.L = zx.shape[1]
        self.se = se
        if se == "nonrobust":
            self.s = np.array([ry @ ry, ry @ rd, rd @ rd]) / (n - kz)
            self.df = float(n - kz)
        else:
            scale = n / (n - kz) if se == "HC1" else 1.0
            if se == "cluster":
                scale = g / (g - 1) * (n - 1) / (n - kz)
            self.df = float(g - 1) if se == "cluster" else float(n - kz)
            if codes is None:
                myy, mdd = _meat(zt, ry, None, 0, fw), _meat(zt, rd, None, 0, fw)
                myd = _weighted_cross(zt, ry * rd if fw is None else ry * rd / fw)
            else:
                sy = group_sums(codes, zt * ry[:, None], g)
                sd = group_sums(codes, zt * rd[:, None], g)
                myy, mdd, myd = sy.T @ sy, sd.T @ sd, 0.5 * (sy.T @ sd + sd.T @ sy)
            self.m = [scale * (self.qinv @ m @ self.qinv) for m in (myy, myd, mdd)]

    def cov(self, b: float) -> np.ndarray:
        if self.se == "nonrobust":
            s2 = self.s[0] - 2 * b * self.s[1] + b * b * self.s[2]
            return s2 * self.qinv
        return self.m[0] - 2 * b * self.m[1] + b * b * self.m[2]

    def __call__(self, b: float) -> float:
        gam = self.gy - b * self.gd
        return float(gam @ np.linalg.solve(self.cov(b), gam)) / self.L

    def at_infinity(self) -> float:
        """lim AR(β₀) as |β₀| → ∞: the first-stage Wald statistic / L."""
        c = self.s[2] * self.qinv if self.se == "nonrobust" else self.m[2]
        return float(self.gd @ np.linalg.solve(c, self.gd)) / self.L

    def critical(self, level: float) -> float:
        return float(special.fdtri(self.L, self.df, level))

    def p_value(self, b: float) -> float:
        return float(special.fdtrc(self.L, self.df, self(b)))


def ar_confidence_set(stat: _ARStat, center: float, scale: float, level: float = 0.95) -> ARSet:
    """Invert the AR test. One instrument: AR(β₀) ≤ c is a quadratic inequality, solved exactly.
    Several: search β₀ = center + scale·tan(θ) over θ ∈ (−π/2, π/2) (the whole line), then
    refine each crossing with Brent's method."""
    c = stat.critical(level)
    if stat.L == 1:
        gy, gd = float(stat.gy[0]), float(stat.gd[0])
        if stat.se == "nonrobust":
            A, B, C = (float(v) * float(stat.qinv[0, 0]) for v in stat.s)
        else:
            A, B, C = (float(m[0, 0]) for m in stat.m)
        # (gy − b gd)² − c (A − 2bB + b²C) ≤ 0  ⇔  a2 b² + a1 b + a0 ≤ 0
        a2, a1, a0 = gd * gd - c * C, -2 * (gy * gd - c * B), gy * gy - c * A
        disc = a1 * a1 - 4 * a2 * a0
        if a2 > 0:
            if disc < 0:
                return ARSet((), level)
            r = np.sqrt(disc)
            return ARSet((((-a1 - r) / (2 * a2), (-a1 + r) / (2 * a2)),), level)
        if disc <= 0 or a2 == 0:
            return ARSet(((-np.inf, np.inf),), level)
        r = np.sqrt(disc)
        lo, hi = sorted(((-a1 - r) / (2 * a2), (-a1 + r) / (2 * a2)))
        return ARSet(((-np.inf, lo), (hi, np.inf)), level)
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    f = lambda t: stat(center + scale * np.tan(t)) - c  # noqa: E731
    theta = np.linspace(-np.pi / 2, np.pi / 2, AR_GRID)[1:-1]
    vals = np.array([f(t) for t in theta])
    inside = vals <= 0
    end_in = stat.at_infinity() <= c
    out: list[tuple[float, float]] = []
    start: float | None = -np.inf if end_in and inside[0] else None
    for i in range(1, len(theta)):
        if inside[i] != inside[i - 1]:
            t = optimize.brentq(f, theta[i - 1], theta[i], xtol=1e-14)
            b = center + scale * np.tan(t)
            if inside[i]:
                start = b
            else:
                out.append((start if start is not None else -np.inf, b))
                start = None
    if inside[-1]:
        out.append((start if start is not None else -np.inf, np.inf if end_in else
                    center + scale * np.tan(theta[-1])))
    if len(out) >= 2 and out[0][0] == -np.inf and out[-1][1] == np.inf and out[0][1] >= \
            out[-1][0]:
        out = [(-np.inf, np.inf)]
    return ARSet(tuple(out), level)


def overid_tests(y: np.ndarray, x: np.ndarray, z: np.ndarray, e: np.ndarray, se: str,
                 clusters: np.ndarray | None, fw: np.ndarray | None = None,
                 ) -> list[tuple[str, float, int, float]]:
    """(name, statistic, df, p) for Sargan's n·R² (homoskedastic) and, with robust or clustered
    errors, Hansen's J of two-step efficient GMM (linearmodels' IVGMM convention). Weighted:
    on rows scaled by √w, with n = Σw for frequency weights `fw`."""
    n, k = x.shape
    if fw is not None:
        n = round(float(fw.sum()))
    q = z.shape[1] - k
    if q < 1:
        return []
    ez = z.T @ e
    sargan = n * float(ez @ _solve_spd(z.T @ z, ez)) / float(e @ e)
    out = [("Sargan n·R² (homoskedastic errors)", sargan, q, float(special.chdtrc(q, sargan)))]
    if se != "nonrobust":
        codes, g = (None, 0)
        if clusters is not None and se == "cluster":
            codes, uniq = pd.factorize(clusters)
            g = len(uniq)
        s = _meat(z, e, codes, g, fw) / n
        w = np.linalg.inv(s)
        zx, zy = z.T @ x, z.T @ y
        beta = np.linalg.solve(zx.T @ w @ zx, zx.T @ w @ zy)
        gbar = z.T @ (y - x @ beta) / n
        j = n * float(gbar @ w @ gbar)
        kind = "clustered" if codes is not None else "robust"
        out.append((f"Hansen J (two-step GMM, {kind} weight)", j, q, float(special.chdtrc(q, j))))
    return out


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------
def _instruments(design: Design, frame: pd.DataFrame) -> tuple[str, ...]:
    raw = design.option("instrument")
    inst = (raw,) if isinstance(raw, str) else tuple(raw or ())
    if not inst:
        raise option_error(design, "iv needs an instrument",
                           "write `using iv(instrument = z)` or `instrument = {z1, z2}`")
    for z in inst:
        if z in (design.treatment, design.outcome):
            raise option_error(design, f"'{z}' cannot instrument itself or the outcome",
                               "an instrument moves the treatment and reaches the outcome "
                               "only through it")
        if z in design.covariates:
            raise option_error(design, f"'{z}' is both an instrument and a covariate",
                               "an instrument is excluded from the outcome equation: drop it "
                               "from `adjust for`")
        if z not in frame:
            raise ValueError(f"instrument column {z!r} was not prepared")
    return inst


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """2SLS of the outcome on the treatment and covariates, the treatment instrumented."""
    inst = _instruments(design, frame)
    se_norm, clusters = standard_error_kind(design, extra, "iv")
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    w, wnames = design_matrix(frame, design.covariates, intercept=True)
    zx, znames = design_matrix(frame, inst)
    z = np.column_stack([w, zx])
    n = len(y)
    _check_rank(z, wnames + znames, design.span)
    fs = fit_linear(z, d, wnames + znames, se=se_norm, clusters=clusters, span=design.span,
                    weights=design.weights, weight_kind=design.weight_kind)
    fw = None  # weighted 2SLS = 2SLS on rows scaled by √w (linearmodels' convention)
    if design.weights is not None:
        root = np.sqrt(design.weights)
        y, d, w, zx, z = y * root, d * root, w * root[:, None], zx * root[:, None], \
            z * root[:, None]
        if design.weight_kind == "frequency":
            fw = design.weights
            n = round(float(fw.sum()))
    L = zx.shape[1]
    pi, vpi = fs.params[-L:], fs.cov[-L:, -L:]
    x = np.column_stack([d, w])
    names = [design.treatment, *wnames]
    zx_x = z.T @ x
    if rank_problem(zx_x.T @ _solve_spd(z.T @ z, zx_x), names) is not None:
        raise EstimationError(Diagnostic(
            "E520", f"the instruments {', '.join(inst)} do not move {design.treatment}: its "
            "first-stage coefficients are zero (to numerical precision) once the covariates "
            "are accounted for", design.span,
            help="an instrument must be associated with the treatment; check the data"))
    fit = fit_2sls(y, x, z, names, se=se_norm, clusters=clusters, fw=fw)
    binary = design.treatment_kind == "binary"
    label = "LATE (compliers)" if binary else f"2SLS effect per unit of {design.treatment}"
    se_kind = fit.se_kind
    if design.weights is not None:
        se_kind += f"; {WEIGHT_CONVENTIONS.get(design.weight_kind or '', 'weighted')}"
    est = Estimate.from_se(fit.params[0], fit.se[0], n=n, label=label, se_kind=se_kind,
                           df=fit.df_inference)
    # first stage: conventional F from the homoskedastic covariance, robust Wald F, effective F
    wald = float(pi @ np.linalg.solve(vpi, pi)) / L
    q = np.linalg.inv(_solve_spd(z.T @ z, np.eye(z.shape[1]))[-L:, -L:])  # Z̃'Z̃
    f_eff = float(pi @ q @ pi) / float(np.trace(vpi @ q))
    codes, g = (pd.factorize(clusters)[0], fit.n_clusters or 0) if clusters is not None else \
        (None, 0)
    stat = _ARStat(y, d, zx, w, se_norm, codes, g, fw)
    ar = ar_confidence_set(stat, est.effect, est.se)
    overid = overid_tests(y, x, z, fit.resid, se_norm, clusters, fw)
    checks = _checks(design, inst, frame, f_eff, wald, L, ar, overid, est)
    t_crit = est.effect / est.se if est.se > 0 else float("nan")
    coef_rows = tuple((nm, float(b), float(s), float(b / s) if s > 0 else float("nan"))
                      for nm, b, s in zip(names, fit.params, fit.se, strict=True))
    # a coefficient fitted without error (a group with no variation) can come out at −1e−20
    fs_se = np.sqrt(np.clip(np.diag(fs.cov), 0.0, None))
    fs_rows = tuple((nm, float(b), float(s), float(b / s) if s > 0 else float("nan"))
                    for nm, b, s in zip(fs.names, fs.params, fs_se, strict=True))
    diag_rows: list[tuple[str, float, str, float]] = [
        (f"first-stage F (Wald/L, {se_norm})", wald, f"F({L}, {fmt(stat.df)})",
         float(special.fdtrc(L, stat.df, wald))),
        ("effective F (Montiel Olea–Pflueger)", f_eff, f"crit. {MOP_CRITICAL} (τ = 10%)",
         float("nan")),
        ("Anderson–Rubin test of effect = 0", stat(0.0), f"F({L}, {fmt(stat.df)})",
         stat.p_value(0.0)),
        *((nm, s, f"χ²({k})", p) for nm, s, k, p in overid),
    ]
    tables = (
        Table("Second stage (2SLS)", ("term", "coef", "SE", "t"), coef_rows),
        Table(f"First stage: {design.treatment} on instruments and covariates",
              ("term", "coef", "SE", "t"), fs_rows),
        Table("Instrument diagnostics", ("test", "statistic", "reference", "p"),
              tuple(diag_rows)),
    )
    covs = " + ".join(design.covariates) if design.covariates else "nothing else"
    desc = (f"2SLS of {design.outcome} on {design.treatment} + {covs}, {design.treatment} "
            f"instrumented by {', '.join(inst)} ({n} rows)")
    details = (
        ("instruments", inst), ("first_stage_f", wald), ("effective_f", f_eff),
        ("ar_set", tuple(ar.intervals)), ("ar_bounded", ar.bounded), ("k", fit.k),
        ("n_clusters", fit.n_clusters), ("t", t_crit),
        *((f"overid_{nm.split()[0].lower()}", (s, k, p)) for nm, s, k, p in overid),
    )
    return EstimatorResult("iv", "late" if binary else design.estimand, est, desc,
                           tuple(checks), tables, details)


def _check_rank(z: np.ndarray, names: Sequence[str], span: Span | None) -> None:
    bad = rank_problem(z.T @ z, names)
    if bad is not None:
        raise EstimationError(Diagnostic(
            "E510", "the instruments and covariates are linearly dependent: "
            + ", ".join(bad), span,
            help="an instrument that is constant, or a combination of the covariates, carries "
            "no outside variation; drop it"))


def _checks(design: Design, inst: tuple[str, ...], frame: pd.DataFrame, f_eff: float,
            wald: float, L: int, ar: ARSet, overid: list[tuple[str, float, int, float]],
            est: Estimate) -> list[Check]:
    checks: list[Check] = []
    t = design.treatment
    if f_eff < WEAK_F:
        checks.append(Check("warning", (
            f"weak instruments: effective F = {fmt(f_eff, 3)} is below {WEAK_F:g} (the Staiger–"
            "Stock rule of thumb, applied to Montiel Olea–Pflueger's heteroskedasticity-robust "
            "F). The 2SLS estimate is pulled toward OLS and its t interval "
            f"[{fmt(est.ci_low)}, {fmt(est.ci_high)}] can badly under-cover; rely on the "
            f"Anderson–Rubin set {ar.text()}, which is valid however weak the instruments")))
    elif f_eff < MOP_CRITICAL:
        checks.append(Check("note", (
            f"effective F = {fmt(f_eff, 3)}: above the rule of thumb {WEAK_F:g} but below "
            f"Montiel Olea–Pflueger's critical value {MOP_CRITICAL} for a worst-case bias of 10% "
            "at the 5% level; the Anderson–Rubin set is the safer interval")))
    else:
        checks.append(Check("ok", f"strong first stage: effective F = {fmt(f_eff, 3)} "
                            f"(first-stage F {fmt(wald, 3)}, {L} instrument(s))"))
    bounded = "" if ar.bounded else (" — unbounded: the instruments cannot rule out "
                                     "arbitrarily large effects")
    checks.append(Check("ok" if ar.bounded else "warning",
                        f"Anderson–Rubin 95% confidence set (test inversion, valid with weak "
                        f"instruments): {ar.text()}{bounded}"))
    for name, s, k, p in overid:
        level: CheckLevel = "warning" if p < 0.05 else "ok"
        verdict = ("rejects: the instruments disagree, so at least one violates the exclusion "
                   "restriction, or effects are heterogeneous (each instrument then has its own "
                   "LATE)" if p < 0.05 else "does not reject that the instruments agree")
        checks.append(Check(level, f"{name} = {fmt(s, 3)}, χ²({k}), p = {fmt(p, 3)}: {verdict}"))
    if design.treatment_kind == "binary":
        checks += _estimand_checks(design, inst, frame)
    else:
        checks.append(Check("note", (
            f"with a {design.treatment_kind} treatment 2SLS gives a weighted average of the "
            f"per-unit effects of {t} (Angrist, Graddy & Imbens 2000); one number per unit only "
            "when the effect is linear and the same for everyone")))
    return checks


def _estimand_checks(design: Design, inst: tuple[str, ...], frame: pd.DataFrame) -> list[Check]:
    """Say what IV identifies (Imbens & Angrist 1994) and compare it with what was asked."""
    t = design.treatment
    single_binary = len(inst) == 1 and set(np.unique(numeric(frame, inst[0]))) <= {0.0, 1.0}
    who = (f"those whose {t} follows {inst[0]} (compliers)" if single_binary else
           "compliers, averaged over the instruments' values and the covariates with weights "
           "(Angrist & Imbens 1995)")
    out = [Check("note", (
        f"with a binary treatment and effects that differ between people, 2SLS identifies the "
        f"local average treatment effect (LATE) of {who} — not the ATE — assuming monotonicity "
        "(nobody takes the treatment because the instrument discourages it; Imbens & Angrist "
        "1994)"))]
    one_sided = ""
    if single_binary:
        zv, dv = numeric(frame, inst[0]), numeric(frame, t)
        if not np.any(dv[zv == 0] == 1):
            one_sided = "att"
        elif not np.any(dv[zv == 1] == 0):
            one_sided = "atc"
    asked = design.estimand
    if asked == one_sided:
        out.append(Check("ok", (
            f"the query asks for the {asked.upper()}: here it equals the LATE, because "
            + ("nobody with " + inst[0] + " = 0 is treated (one-sided noncompliance: the treated "
               "are all compliers)" if asked == "att" else "everyone with " + inst[0]
               + " = 1 is treated (the untreated are all compliers)"))))
    elif asked in ("att", "atc"):
        out.append(Check("warning", (
            f"the query asks for the {asked.upper()}, but IV gives the LATE of compliers: they "
            "differ unless the effect is the same for everyone")))
    else:
        out.append(Check("note", (
            f"the query asks for the {asked.upper()}; the LATE equals it only if compliers' "
            "effects are those of everyone (e.g. a constant effect)")))
    return out


# --------------------------------------------------------------------------------------------
# the graph assumptions behind an instrument
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IVAssumptions:
    """Missing arrows that carry an IV design: adding any one of them would invalidate z.

    `exclusion`: arrows that would open a causal path from z to the outcome avoiding the
    treatment. `independence`: arrows (``->`` or ``<->``, a shared unobserved cause) that would
    open a non-causal path between z and the outcome given the conditioning set."""

    exclusion: tuple[str, ...]
    independence: tuple[str, ...]

    def sentences(self, z: str) -> tuple[str, ...]:
        out = []
        if self.exclusion:
            out.append(f"Exclusion restriction: the design rests on the absence of "
                       f"{', '.join(self.exclusion)} (each would let {z} reach the outcome "
                       "other than through the treatment).")
        if self.independence:
            out.append(f"Independence: it rests on the absence of {', '.join(self.independence)}"
                       f" (each would confound {z} with the outcome).")
        return tuple(out)


def is_instrument(dag: nx.DiGraph, z: str, treatment: str, outcome: str,
                  given: Iterable[str] = ()) -> bool:
    """z is a (conditional) instrument given W when W has no descendant of the treatment, z is
    d-connected to the treatment given W, and z is d-separated from the outcome given W once the
    treatment's outgoing arrows are cut (Pearl 2009, §7.4.5; latents are nodes of `dag`)."""
    w = set(given)
    if w & (nx.descendants(dag, treatment) | {treatment}) or z in nx.descendants(dag, treatment):
        return False
    if nx.is_d_separator(dag, {z}, {treatment}, w):
        return False
    cut = dag.copy()
    cut.remove_edges_from(list(dag.out_edges(treatment)))
    return bool(nx.is_d_separator(cut, {z}, {outcome}, w))


def with_latents(dag: nx.DiGraph, bidirected: Iterable[tuple[str, str]]) -> nx.DiGraph:
    """A copy of `dag` with each bidirected edge a ↔ b as an explicit latent parent."""
    g = dag.copy()
    for a, b in bidirected:
        u = f"<{a}<->{b}>"
        g.add_edges_from([(u, a), (u, b)])
    return g


def instrument_arrows(dag: nx.DiGraph, latent: Iterable[str], z: str, treatment: str,
                      outcome: str, given: Iterable[str] = (),
                      bidirected: Iterable[tuple[str, str]] = ()) -> IVAssumptions:
    """Each missing arrow between declared variables whose addition would make z invalid.

    Tries every absent ``a -> b`` (that keeps the graph acyclic) and every absent ``a <-> b``
    between observed variables; O(V²) d-separation tests, fine for the graphs people write.

    >>> g = nx.DiGraph([("z", "d"), ("d", "y"), ("u", "d"), ("u", "y")])
    >>> a = instrument_arrows(g, {"u"}, "z", "d", "y")
    >>> a.exclusion, a.independence
    (('z -> u', 'z -> y'), ('u -> z', 'y <-> z'))
    """
    base = with_latents(dag, bidirected)
    lat = set(latent) | (set(base) - set(dag))
    w = tuple(given)
    exclusion: list[str] = []
    independence: list[str] = []
    if not is_instrument(base, z, treatment, outcome, w):
        return IVAssumptions((), ())
    declared = sorted(dag.nodes)
    confounded = {frozenset(p) for p in bidirected}
    for a in declared:
        for b in declared:
            if a == b or base.has_edge(a, b) or base.has_edge(b, a):
                continue
            if b in nx.ancestors(base, a):
                continue  # would close a cycle
            g = base.copy()
            g.add_edge(a, b)
            if is_instrument(g, z, treatment, outcome, w):
                continue
            cut = g.copy()
            cut.remove_node(treatment)
            causal = z in cut and outcome in cut and nx.has_path(cut, z, outcome)
            (exclusion if causal else independence).append(f"{a} -> {b}")
    observed = [v for v in declared if v not in lat]
    for i, a in enumerate(observed):
        for b in observed[i + 1:]:
            if frozenset((a, b)) in confounded or base.has_edge(a, b) or base.has_edge(b, a):
                continue
            g = with_latents(base, [(a, b)])
            if not is_instrument(g, z, treatment, outcome, w):
                independence.append(f"{a} <-> {b}")
    return IVAssumptions(tuple(exclusion), tuple(independence))

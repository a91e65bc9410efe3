"""Sensitivity to unobserved confounding: how strong would a hidden confounder have to be?

In: fitted numbers, never a model object of another library —

* `ols_sensitivity(y, d, covariates, ...)`: the outcome, the treatment and the adjustment
  covariates as arrays (a 2-D block per categorical covariate); or `ols_sensitivity_from_t`
  with an estimate, its standard error and the residual degrees of freedom;
* `evalue_rr`, `evalue_ols`, `evalue_or`, `evalue_risk_difference`: an estimate and its
  confidence limits on their own scale;
* `latent_strengths(model, treatment, outcome, adjustment, ...)`: the study's declared latent
  variables and ``<->`` edges, named with the strength they would need.

Out: frozen values (`OLSSensitivity`, `Benchmark`, `EValue`, `LatentStrength`) with
``to_dict()`` and a plain-text ``str``. Raises `EstimationError` (E520) for inputs that cannot
give a finite answer (fewer than two residual degrees of freedom, a non-positive standard
error or risk ratio, a benchmark so strong that the implied bound is impossible).

Conventions, by the book of the reference implementations:

* Cinelli & Hazlett (2020), R ``sensemakr``: partial R² of the treatment with the outcome
  ``t²/(t² + dof)``; robustness value ``RV_q = ½(√(f_q⁴ + 4f_q²) − f_q²)`` with
  ``f_q = q|t|/√dof``; ``RV_{q,α}`` subtracts the critical ``|t_{α/2, dof−1}|/√(dof − 1)`` (and
  uses ``(f_q² − f_crit²)/(1 + f_q²)`` when that constraint does not bind). Classical (not
  robust) standard errors, as ``lm``. Benchmarks ``kd``/``ky`` times as strong as an observed
  covariate follow ``ovb_partial_r2_bound``; adjusted estimates reduce |estimate| by the bias
  ``se·√dof·√(R²_yz·R²_dz/(1 − R²_dz))``, adjusted intervals use t(dof − 1).
* VanderWeele & Ding (2017), R ``EValue``: ``E = RR + √(RR(RR − 1))`` (RR < 1 inverted); for
  the interval, the limit nearer the null (E = 1 when the interval covers it). A continuous
  outcome is converted as ``evalues.OLS``: d = estimate/SD(outcome), RR ≈ exp(0.91·d), limits
  exp(0.91·d ∓ 1.78·se/SD). An odds ratio of a common outcome (> 15%) is converted by √OR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import distributions
from ..errors import Diagnostic, EstimationError
from ..model import Model
from ._design import fmt, residualize


def _fail(message: str, help: str) -> EstimationError:
    return EstimationError(Diagnostic("E520", message, None, help=help))


# ------------------------------------------------------------------------------------------
# Cinelli & Hazlett (2020)
# ------------------------------------------------------------------------------------------
def partial_r2(t: float, dof: float) -> float:
    """Partial R² of a regressor from its t statistic: t²/(t² + dof).

    >>> round(partial_r2(4.18445, 783), 7)  # sensemakr's Darfur example
    0.0218731
    """
    return float(t * t / (t * t + dof))


def robustness_value(t: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """The partial R² a confounder needs with both treatment and outcome to reduce the
    estimate by 100·q% (alpha None), or to make it not significant at `alpha`.

    >>> rv = robustness_value(4.18445, 783), robustness_value(4.18445, 783, alpha=0.05)
    >>> [round(v, 5) for v in rv]
    [0.13878, 0.07626]
    """
    fq = q * abs(t) / np.sqrt(dof)
    if alpha is None:
        return float(0.5 * (np.sqrt(fq**4 + 4 * fq**2) - fq**2))
    f_crit = abs(distributions.t_quantile(alpha / 2, dof - 1)) / np.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if fq > 1 / f_crit:
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return float(0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A confounder `kd` times as strong as `covariate` with the treatment and `ky` times with
    the outcome (Cinelli & Hazlett's bounds), and what it would do to the estimate."""

    covariate: str
    kd: float
    ky: float
    r2dz_x: float
    r2yz_dx: float
    adjusted_estimate: float
    adjusted_se: float
    adjusted_t: float
    adjusted_low: float
    adjusted_high: float

    def erases(self, estimate: float) -> bool:
        """Would it bring the estimate to zero or past it?"""
        return bool(np.sign(self.adjusted_estimate) != np.sign(estimate))

    @property
    def insignificant(self) -> bool:
        return self.adjusted_low <= 0 <= self.adjusted_high

    def sentence(self, treatment: str, estimate: float) -> str:
        k = f"{self.kd:g}×" if self.kd == self.ky else f"{self.kd:g}× (treatment), " \
            f"{self.ky:g}× (outcome)"
        what = ("would erase the effect" if self.erases(estimate) else
                "would not erase the effect but would make it compatible with zero"
                if self.insignificant else "would not erase the effect")
        return (f"a confounder {k} as strong as `{self.covariate}` {what}: the estimate of "
                f"{treatment} would become {fmt(self.adjusted_estimate)} "
                f"[{fmt(self.adjusted_low)}, {fmt(self.adjusted_high)}]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OLSSensitivity:
    """Cinelli & Hazlett's sensitivity statistics of one OLS coefficient."""

    treatment: str
    outcome: str
    estimate: float
    se: float
    dof: int
    q: float
    alpha: float
    r2yd_x: float  # partial R² of the treatment with the outcome
    rv_q: float
    rv_qa: float
    benchmarks: tuple[Benchmark, ...] = ()
    notes: tuple[str, ...] = ()
    convention: str = ("Cinelli & Hazlett (2020), as R sensemakr: classical OLS standard "
                       "errors; bounds reduce |estimate|")

    @property
    def t(self) -> float:
        return self.estimate / self.se

    def summary(self) -> str:
        """The paragraph sensemakr prints, in words."""
        pct = f"{100 * self.q:g}%"
        lines = [
            f"Sensitivity of the {self.treatment} coefficient ({fmt(self.estimate)}, "
            f"t = {self.t:.2f}, dof = {self.dof}) to an unobserved confounder:",
            f"  partial R² of {self.treatment} with {self.outcome}: "
            f"{100 * self.r2yd_x:.2f}% — a confounder explaining all the residual variance of "
            f"{self.outcome} would need to explain at least this much of {self.treatment} to "
            "erase the estimate",
            f"  robustness value RV: {100 * self.rv_q:.2f}% — confounders explaining "
            f"{100 * self.rv_q:.2f}% of the residual variance of both {self.treatment} and "
            f"{self.outcome} would reduce the estimate by {pct}",
            f"  RV at α = {self.alpha:g}: {100 * self.rv_qa:.2f}% — enough to make the "
            f"{pct}-reduced estimate not significant",
        ]
        for b in self.benchmarks:
            lines.append(f"  {b.sentence(self.treatment, self.estimate)}")
        lines += [f"  {note}" for note in self.notes]
        lines.append(f"  ({self.convention})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def contour(self, points: int = 25, lim: float | None = None) -> dict[str, Any]:
        """The adjusted estimate over a grid of (R²_dz, R²_yz): the data of sensemakr's
        contour plot (the lead's presenter draws it)."""
        top = lim if lim is not None else min(0.99, max(0.4, 1.5 * max(
            [self.rv_q, *(b.r2dz_x for b in self.benchmarks),
             *(b.r2yz_dx for b in self.benchmarks)])))
        grid = np.linspace(0.0, top, points)
        rd, ry = np.meshgrid(grid, grid, indexing="ij")
        bias = self.se * np.sqrt(self.dof) * np.sqrt(ry * rd / (1 - rd))
        adj = np.sign(self.estimate) * (abs(self.estimate) - bias)
        return {"r2dz_x": grid.tolist(), "r2yz_dx": grid.tolist(),
                "adjusted_estimate": adj.tolist(), "threshold": 0.0,
                "benchmarks": [(b.covariate, b.kd, b.r2dz_x, b.r2yz_dx)
                               for b in self.benchmarks]}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["benchmarks"] = [b.to_dict() for b in self.benchmarks]
        d["notes"] = list(self.notes)
        d["t"] = self.t
        return d


def _adjusted(estimate: float, se: float, dof: int, r2dz: float, r2yz: float, alpha: float
              ) -> tuple[float, float, float, float, float]:
    bias = se * np.sqrt(dof) * np.sqrt(r2yz * r2dz / (1 - r2dz))
    est = float(np.sign(estimate) * (abs(estimate) - bias))
    new_se = float(np.sqrt((1 - r2yz) / (1 - r2dz)) * se * np.sqrt(dof / (dof - 1)))
    crit = abs(distributions.t_quantile(alpha / 2, dof - 1))
    return est, new_se, est / new_se, float(est - crit * new_se), float(est + crit * new_se)


def benchmark_bound(r2dxj_x: float, r2yxj_dx: float, kd: float = 1.0, ky: float | None = None
                    ) -> tuple[float, float]:
    """(R²_dz·x, R²_yz·dx) of a confounder kd/ky times as strong as a covariate whose partial
    R² are `r2dxj_x` (with the treatment) and `r2yxj_dx` (with the outcome).

    >>> # sensemakr's Darfur example, from the t statistics of `female` in the two regressions
    >>> [round(v, 4) for v in benchmark_bound(partial_r2(-2.680, 783), partial_r2(-9.789, 783))]
    [0.0092, 0.1246]
    """
    ky = kd if ky is None else ky
    r2dz = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz >= 1:
        raise _fail(f"a confounder {kd:g} times as strong as the benchmark would explain all "
                    "of the treatment", "use a smaller multiple kd")
    r2zxj = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2zxj >= 1:
        raise _fail(f"a confounder {kd:g} times as strong as the benchmark is impossible",
                    "use a smaller multiple kd")
    r2yz = ((np.sqrt(ky) + np.sqrt(r2zxj)) / np.sqrt(1 - r2zxj)) ** 2 * \
        (r2yxj_dx / (1 - r2yxj_dx))
    return float(r2dz), float(min(r2yz, 1.0))


def ols_sensitivity_from_t(estimate: float, se: float, dof: int, *, treatment: str = "treatment",
                           outcome: str = "outcome", q: float = 1.0, alpha: float = 0.05,
                           benchmarks: Iterable[tuple[str, float, float, float, float]] = ()
                           ) -> OLSSensitivity:
    """From the coefficient, its classical standard error and dof alone; `benchmarks` are
    (name, r2dxj_x, r2yxj_dx, kd, ky) tuples when the covariates' partial R² are known."""
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        raise _fail(f"sensitivity needs a finite estimate and a positive standard error "
                    f"(got {estimate}, {se})", "check the fit of the outcome model")
    if dof < 2:
        raise _fail(f"sensitivity needs at least 2 residual degrees of freedom (got {dof})",
                    "more rows, or fewer covariates")
    t = estimate / se
    bench, notes = [], []
    for name, r2d, r2y, kd, ky in benchmarks:
        try:
            r2dz, r2yz = benchmark_bound(r2d, r2y, kd, ky)
        except EstimationError:
            r2dz, r2yz = 1.0, 1.0
        if r2dz >= 1 or r2yz >= 1:  # sensemakr warns and caps; no finite adjusted interval
            notes.append(f"a confounder {kd:g}× as strong as `{name}` is impossible (it would "
                         f"explain all the residual variance of {treatment} or {outcome})")
            continue
        bench.append(Benchmark(name, kd, ky, r2dz, r2yz,
                               *_adjusted(estimate, se, dof, r2dz, r2yz, alpha)))
    return OLSSensitivity(treatment, outcome, float(estimate), float(se), int(dof), q, alpha,
                          partial_r2(t, dof), robustness_value(t, dof, q),
                          robustness_value(t, dof, q, alpha), tuple(bench), tuple(notes))


def ols_sensitivity(y: np.ndarray, d: np.ndarray, covariates: Mapping[str, np.ndarray], *,
                    treatment: str = "treatment", outcome: str = "outcome",
                    benchmarks: Sequence[str] | None = None, kd: Sequence[float] = (1, 2, 3),
                    ky: Sequence[float] | None = None, q: float = 1.0, alpha: float = 0.05,
                    extra: np.ndarray | None = None) -> OLSSensitivity:
    """Fit ``y ~ 1 + d + covariates (+ extra)`` by least squares and return its sensitivity,
    benchmarked against each covariate in `benchmarks` (default: all) at the multiples `kd`
    (and `ky`, default equal). A 2-D covariate (dummies of one categorical variable) is one
    benchmark with its group partial R², as sensemakr's grouped benchmarks. `extra` holds
    columns that are adjusted for but never benchmarked (fixed effects)."""
    y = np.asarray(y, dtype=float)
    d = np.asarray(d, dtype=float).reshape(-1, 1)
    n = len(y)
    blocks = {k: np.asarray(v, dtype=float).reshape(n, -1) for k, v in covariates.items()}
    fixed = [np.ones((n, 1))] + ([np.asarray(extra, dtype=float).reshape(n, -1)]
                                 if extra is not None else [])

    def design(skip: str | None, with_d: bool) -> np.ndarray:
        cols = [*fixed, *(b for k, b in blocks.items() if k != skip)]
        return np.hstack(([d] if with_d else []) + cols)

    full = design(None, True)
    if not np.all(np.isfinite(full)) or not np.all(np.isfinite(y)):
        raise _fail("sensitivity got non-finite values in the data", "remove or impute them")
    beta, *_ = np.linalg.lstsq(full, y, rcond=None)
    e, rank = residualize(y.reshape(-1, 1), full)
    dof = n - rank
    if dof < 2:
        raise _fail(f"sensitivity needs at least 2 residual degrees of freedom (got {dof})",
                    "more rows, or fewer covariates")
    xtx_inv = np.linalg.pinv(full.T @ full)
    se = float(np.sqrt(float(e[:, 0] @ e[:, 0]) / dof * xtx_inv[0, 0]))
    rows = []
    kys = list(ky) if ky is not None else list(kd)
    names = list(blocks) if benchmarks is None else list(benchmarks)
    for name in names:
        if name not in blocks:
            raise _fail(f"benchmark '{name}' is not one of the covariates", "name a covariate")
        r2y = _partial_r2_block(y, design(name, True), blocks[name])
        r2d = _partial_r2_block(d[:, 0], design(name, False), blocks[name])
        rows += [(name, r2d, r2y, float(k1), float(k2)) for k1, k2 in zip(kd, kys, strict=True)]
    return ols_sensitivity_from_t(float(beta[0]), se, dof, treatment=treatment, outcome=outcome,
                                  q=q, alpha=alpha, benchmarks=rows)


def _partial_r2_block(y: np.ndarray, reduced: np.ndarray, block: np.ndarray) -> float:
    """(RSS without the block − RSS with it)/RSS without: the (group) partial R²; equal to
    t²/(t² + dof) for one column and to F·p/(F·p + dof) for several, as sensemakr."""
    e0, _ = residualize(y.reshape(-1, 1), reduced)
    e1, _ = residualize(y.reshape(-1, 1), np.hstack([reduced, block]))
    rss0, rss1 = float(e0[:, 0] @ e0[:, 0]), float(e1[:, 0] @ e1[:, 0])
    return (rss0 - rss1) / rss0 if rss0 > 0 else 0.0


# ------------------------------------------------------------------------------------------
# E-values (VanderWeele & Ding 2017)
# ------------------------------------------------------------------------------------------
def evalue(rr: float) -> float:
    """The E-value of a risk ratio: RR + √(RR(RR − 1)), inverting RR < 1.

    >>> round(evalue(3.9), 2), round(evalue(0.8), 3), evalue(1.0)
    (7.26, 1.809, 1.0)
    """
    if not (np.isfinite(rr) and rr > 0):
        raise _fail(f"an E-value needs a positive, finite risk ratio (got {rr})",
                    "check the estimate and its conversion")
    r = 1 / rr if rr < 1 else rr
    return float(r + np.sqrt(r * (r - 1)))


@dataclass(frozen=True, slots=True)
class EValue:
    """E-values of an estimate and of its confidence limit nearer the null."""

    measure: str  # what was converted: "RR", "OR (rare)", "OR (common)", "mean difference", ...
    estimate: float  # on its own scale
    rr: float
    rr_low: float | None
    rr_high: float | None
    point: float
    ci: float | None
    conversion: str = ""

    def sentence(self) -> str:
        ci = "" if self.ci is None else (
            "; the confidence interval already includes no effect (E-value 1)"
            if self.ci == 1 else f"; for the confidence limit nearer the null, "
            f"{fmt(self.ci)}")
        return (f"E-value {fmt(self.point)}: an unmeasured confounder associated with both the "
                f"treatment and the outcome by a risk ratio of {fmt(self.point)} each, beyond "
                f"the measured covariates, could explain the estimate away{ci}"
                + (f" ({self.conversion})" if self.conversion else ""))

    def __str__(self) -> str:
        return self.sentence()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evalue_rr(rr: float, low: float | None = None, high: float | None = None, *,
              true: float = 1.0, measure: str = "RR", estimate: float | None = None,
              conversion: str = "") -> EValue:
    """E-values of a risk ratio and its interval (R ``EValue::evalues.RR``).

    >>> e = evalue_rr(3.9, 1.8, 8.7)  # VanderWeele & Ding's breastfeeding example
    >>> round(e.point, 2), round(e.ci, 2)
    (7.26, 3.0)
    """
    if low is not None and high is not None and not low <= rr <= high:
        raise _fail(f"the estimate {rr} is outside its interval [{low}, {high}]",
                    "pass the limits in the order (estimate, lower, upper)")
    point = evalue(rr / true)
    if rr == true:
        point = 1.0
    ci: float | None = None
    if low is not None and high is not None:
        ci = 1.0 if low <= true <= high else evalue((low if rr > true else high) / true)
    return EValue(measure, float(rr if estimate is None else estimate), float(rr),
                  None if low is None else float(low), None if high is None else float(high),
                  point, ci, conversion)


def evalue_ols(estimate: float, se: float, sd_outcome: float, *, delta: float = 1.0,
               true: float = 0.0) -> EValue:
    """E-values of a difference in a continuous outcome (``evalues.OLS``): standardise by the
    outcome's SD, RR ≈ exp(0.91·d), limits exp(0.91·d ∓ 1.78·se_d) (VanderWeele 2017).

    >>> e = evalue_ols(0.5, 0.25, 1.0)
    >>> round(e.rr, 4), round(e.point, 4), round(e.ci, 4)
    (1.5762, 2.5291, 1.1108)
    """
    if not (np.isfinite(sd_outcome) and sd_outcome > 0):
        raise _fail(f"the outcome's standard deviation must be positive (got {sd_outcome})",
                    "the outcome is constant in the sample")
    d = abs(delta) * estimate / sd_outcome
    sd_ = abs(delta) * se / sd_outcome
    rr = float(np.exp(0.91 * d))
    lo, hi = float(np.exp(0.91 * d - 1.78 * sd_)), float(np.exp(0.91 * d + 1.78 * sd_))
    conv = (f"continuous outcome: d = estimate/SD(outcome) = {fmt(d)}, RR ≈ exp(0.91·d) "
            f"= {fmt(rr)} (VanderWeele 2017)")
    return evalue_rr(rr, lo, hi, true=float(np.exp(0.91 * true)), measure="mean difference",
                     estimate=estimate, conversion=conv)


def evalue_or(odds_ratio: float, low: float | None = None, high: float | None = None, *,
              rare: bool) -> EValue:
    """E-values of an odds ratio: RR = OR for a rare outcome (< 15%), else √OR."""
    f = (lambda v: v) if rare else np.sqrt
    conv = "odds ratio of a rare outcome: RR ≈ OR" if rare else \
        "odds ratio of a common outcome: RR ≈ √OR (VanderWeele 2017)"
    return evalue_rr(float(f(odds_ratio)), None if low is None else float(f(low)),
                     None if high is None else float(f(high)),
                     measure="OR (rare)" if rare else "OR (common)", estimate=odds_ratio,
                     conversion=conv)


def evalue_risk_difference(rd: float, low: float, high: float, baseline: float) -> EValue:
    """E-values of a risk difference on a binary outcome, as a risk ratio at the untreated
    risk `baseline`: RR = (p₀ + RD)/p₀ (the uncertainty of p₀ itself is ignored)."""
    if not 0 < baseline < 1:
        raise _fail(f"the untreated risk must be strictly between 0 and 1 (got {baseline})",
                    "the outcome is constant among the untreated")

    def rr(v: float) -> float:
        return max((baseline + v) / baseline, 1e-12)

    conv = f"risk difference at untreated risk {fmt(baseline)}: RR = (p₀ + RD)/p₀"
    return evalue_rr(rr(rd), rr(low), rr(high), measure="risk difference", estimate=rd,
                     conversion=conv)


# ------------------------------------------------------------------------------------------
# the declared latent confounders, named
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LatentStrength:
    """A declared latent variable or ``<->`` edge and how strong it would have to be."""

    name: str  # "frailty" or "ward <-> drug"
    kind: str  # "latent" or "bidirected"
    role: str  # what the analysis assumes about it
    rv: float | None = None
    rv_alpha: float | None = None
    evalue: float | None = None
    touches: tuple[str, ...] = field(default=())

    def sentence(self, treatment: str, outcome: str) -> str:
        parts = []
        if self.rv is not None:
            parts.append(f"explain {100 * self.rv:.1f}% of the residual variance of both "
                         f"{treatment} and {outcome} to erase the estimate"
                         + (f" ({100 * self.rv_alpha:.1f}% to make it not significant)"
                            if self.rv_alpha is not None else ""))
        if self.evalue is not None:
            parts.append(f"be associated with both by a risk ratio of {fmt(self.evalue)}")
        need = f"; if it also acted on both, it would have to {' and '.join(parts)}" \
            if parts else ""
        return f"`{self.name}` ({self.role}){need}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["touches"] = list(self.touches)
        return d


def latent_strengths(model: Model, treatment: str, outcome: str,
                     adjustment: Iterable[str] | None, *,
                     sensitivity: OLSSensitivity | None = None,
                     evalue: EValue | None = None) -> tuple[LatentStrength, ...]:
    """Each declared latent variable and each ``<->`` edge, with what the identification
    assumes about it and the strength (RV, E-value) a hidden confounder would need."""
    adj = sorted(adjustment or ())
    children: dict[str, list[str]] = {}
    for e in model.directed_edges:
        children.setdefault(e.source, []).append(e.target)
    rv = sensitivity.rv_q if sensitivity else None
    rva = sensitivity.rv_qa if sensitivity else None
    ev = evalue.point if evalue else None
    out = []
    blocked = f"adjusting for {{{', '.join(adj)}}} is assumed to block it" if adj else \
        "assumed to open no backdoor path"
    for v in model.latents:
        kids = tuple(children.get(v.name, ()))
        both = treatment in kids and outcome in kids
        role = ("a declared confounder of the treatment and the outcome: the effect is not "
                "identified by adjustment" if both else
                f"latent, affects {', '.join(kids) or 'nothing'}; {blocked}")
        out.append(LatentStrength(v.name, "latent", role, rv, rva, ev, kids))
    for e in model.bidirected_edges:
        ends = (e.source, e.target)
        role = (f"a hidden common cause of {e.source} and {e.target}; " +
                ("it confounds the effect directly" if set(ends) == {treatment, outcome}
                 else blocked))
        out.append(LatentStrength(str(e), "bidirected", role, rv, rva, ev, ends))
    return tuple(out)

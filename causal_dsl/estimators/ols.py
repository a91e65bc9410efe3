"""Regression adjustment: the outcome on the treatment plus the adjustment set, by least squares.

In: a coded estimation frame and a `Design` (options ``se`` = HC1 (default), HC0, HC2, HC3,
nonrobust or cluster; ``cluster`` = a column; ``outcome`` = a `terms.Formula`, the terms after the
treatment, default the adjustment set as coded). Out: an `EstimatorResult` whose estimate is the
treatment's coefficient, with the coefficient table, the fitted formula and collinearity
diagnostics. Terms interacting the treatment are centred (Lin 2013, `design_matrix.build`), so
that the coefficient stays the ATE (ATT, ATC).

The fit solves the normal equations with a Cholesky factor of the column-scaled cross-product
(fast: one pass over the data for X'X), falling back to a QR least-squares solve when the design
is ill-conditioned. Standard errors follow statsmodels' conventions exactly (tested):
HC0 = (X'X)⁻¹ X'diag(e²)X (X'X)⁻¹, HC1 = HC0·n/(n−k), HC2/HC3 divide e² by (1−h) / (1−h)²,
nonrobust = s²(X'X)⁻¹; cluster = CR1: G/(G−1)·(n−1)/(n−k) times the sum over clusters of the
score outer products (Stata, pyfixest). Inference uses t(n−k), or t(G−1) when clustered.

Raises `EstimationError` E514 when the outcome formula does not fit the adjustment set, E510
when the design is rank-deficient (naming the columns involved), E508 for a bad option value; a
high condition number or VIF becomes a warning naming the variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic, EstimationError, Span
from ..results import Check, Estimate, EstimatorResult, Table, fmt
from ..terms import Formula, check_design
from .common import (
    WEIGHT_CONVENTIONS,
    Design,
    design_matrix,
    group_sums,
    numeric,
    option_error,
)
from .design_matrix import build

SE_KINDS = ("HC0", "HC1", "HC2", "HC3", "nonrobust", "cluster")

# Thresholds for collinearity warnings: the usual rules of thumb (Belsley's condition index
# of 30 on the centred and scaled covariates; a variance inflation factor of 10).
COND_WARN = 30.0
VIF_WARN = 10.0
# Below this relative eigenvalue of the scaled cross-product the design is treated as singular.
RANK_TOL = 1e-11


@dataclass(frozen=True)
class LinearFit:
    """A least-squares fit with its covariance matrix (for this module, DiD and tests)."""

    names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    nobs: int
    k: int
    df_resid: int
    df_inference: float | None
    se_kind: str
    n_clusters: int | None = None
    xtx: np.ndarray | None = None

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def estimate(self, name: str, label: str) -> Estimate:
        i = self.index(name)
        return Estimate.from_se(self.params[i], self.se[i], n=self.nobs, label=label,
                                se_kind=self.se_kind, df=self.df_inference)


def rank_problem(xtx: np.ndarray, names: Sequence[str]) -> list[str] | None:
    """The columns involved in an exact linear dependence, or None when X has full rank.

    Works on the cross-product scaled to a unit diagonal, so units of measurement do not
    matter; the columns named are those loading on the (near-)null eigenvectors."""
    d = np.sqrt(np.diag(xtx))
    zero = [names[int(i)] for i in np.flatnonzero(d == 0)]
    if zero:
        return zero
    s = xtx / np.outer(d, d)
    w, v = np.linalg.eigh(s)
    null = w < RANK_TOL * w[-1]
    if not null.any():
        return None
    load = np.abs(v[:, null]).max(axis=1)
    return [names[int(i)] for i in np.flatnonzero(load > 0.05)]


def collinearity_checks(
    xtx: np.ndarray, names: Sequence[str], n: float, skip: int = 1
) -> tuple[list[Check], dict[str, float]]:
    """Condition number and VIFs of the centred, scaled regressors after the first `skip`
    columns (the intercept). All computed from the k x k cross-product, not from the data."""
    k = len(names) - skip
    if k < 2:
        return [Check("ok", "collinearity: a single regressor besides the intercept")], {}
    m = xtx[0, skip:] / n
    cov = xtx[skip:, skip:] / n - np.outer(m, m)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    r = cov / np.outer(sd, sd)
    w, v = np.linalg.eigh(r)
    cond = float(np.sqrt(w[-1] / max(w[0], 1e-300)))
    vif = np.diag(np.linalg.pinv(r))
    sub = list(names[skip:])
    checks: list[Check] = []
    high_vif = [(sub[i], float(vif[i])) for i in np.argsort(-vif) if vif[i] > VIF_WARN]
    if high_vif:
        checks.append(Check(
            "warning",
            "high variance inflation: " + ", ".join(f"{a} (VIF {fmt(b, 3)})" for a, b in high_vif)
            + f" — above {VIF_WARN:g}, these regressors are nearly linear combinations of the "
            "others, so their coefficients (and the treatment's, if listed) are imprecise",
        ))
    if cond > COND_WARN:
        involved = [sub[i] for i in np.flatnonzero(np.abs(v[:, 0]) > 0.3)]
        checks.append(Check(
            "warning",
            f"condition number {fmt(cond, 3)} of the centred regressors exceeds {COND_WARN:g}: "
            f"near-collinearity among {', '.join(involved)}",
        ))
    if not checks:
        checks.append(Check(
            "ok",
            f"no collinearity problem: condition number {fmt(cond, 3)}, largest VIF "
            f"{fmt(float(vif.max()), 3)} ({sub[int(np.argmax(vif))]})",
        ))
    return checks, {"condition_number": cond, "max_vif": float(vif.max())}


CHUNK = 131_072  # rows per block when forming X' diag(w) X: bounds the extra memory


def _weighted_cross(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X' diag(w) X in row blocks, so that the n x k weighted copy never exists whole. With
    w ≥ 0 (squared residuals) each block is scaled by √w in a buffer that stays in cache and
    its cross-product is a symmetric rank-k update (half the work of a general product)."""
    out = np.zeros((x.shape[1], x.shape[1]))
    if len(w) and float(w.min()) >= 0:
        step = 8_192
        root = np.sqrt(w)
        buf = np.empty((min(step, len(x)), x.shape[1]))
        for start in range(0, len(x), step):
            b = buf[:min(step, len(x) - start)]
            np.multiply(x[start:start + step], root[start:start + step, None], out=b)
            out += b.T @ b
        return out
    for start in range(0, len(x), CHUNK):
        xb = x[start:start + CHUNK]
        out += xb.T @ (xb * w[start:start + CHUNK, None])
    return out


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    se: str = "HC1",
    clusters: np.ndarray | None = None,
    extra_k: int = 0,
    span: Span | None = None,
    weights: np.ndarray | None = None,
    weight_kind: str | None = None,
) -> LinearFit:
    """Least squares of `y` on `x` with the requested covariance.

    `extra_k` adds parameters absorbed before the fit (fixed effects not nested in the
    clusters) to k in the small-sample factors, as fixest/reghdfe do.

    `weights` make it weighted least squares on the rows scaled by √w (statsmodels' WLS
    "whitening"). Analytic and survey weights then use the formulas above on the scaled rows,
    n = rows (statsmodels WLS, Stata aweight/pweight; survey weights refuse nonrobust). Frequency
    weights are the fit on the data with each row repeated w times: n = Σw in every
    small-sample factor and in the residual degrees of freedom, and the robust meat weights
    e² by w, not w² (Stata fweight, statsmodels freq_weights).
    """
    frequency = weights is not None and weight_kind == "frequency"
    if weights is not None:
        if weight_kind == "survey" and se == "nonrobust":
            raise EstimationError(Diagnostic(
                "E508", "survey weights take robust standard errors only", span,
                help="drop se = \"nonrobust\" (the default HC1 is the sandwich Stata uses "
                "for pweights)"))
        root = np.sqrt(weights)
        x, y = x * root[:, None], y * root
    rows, p = x.shape
    n = round(float(weights.sum())) if frequency and weights is not None else rows
    if n - p - extra_k < 1:
        raise DataError(Diagnostic(
            "E412",
            f"too few rows: {rows} complete rows for a regression with {p + extra_k} parameters "
            f"({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})",
            span,
            help="a regression needs more rows than parameters; use a smaller adjustment set "
            "or categorical variables with fewer levels",
        ))
    xtx = x.T @ x
    bad = rank_problem(xtx, names)
    if bad is not None:
        raise EstimationError(Diagnostic(
            "E510",
            "the regression design is rank-deficient: "
            + (", ".join(bad) if bad else "some columns")
            + (" is constant or a linear combination of the others" if len(bad) == 1
               else " are linearly dependent (one is a combination of the others, or constant)"),
            span,
            help="drop one of them from the adjustment set (`never adjust for {...}`), or check "
            "the data: a covariate that never varies, or duplicates another, cannot be adjusted "
            "for",
        ))
    d = np.sqrt(np.diag(xtx))
    s = xtx / np.outer(d, d)
    xty = x.T @ y
    try:  # numpy's Cholesky (not scipy.linalg: importing it costs a tenth of a second)
        low = np.linalg.cholesky(s)
        s_inv = np.linalg.inv(low)
        s_inv = s_inv.T @ s_inv
        beta = np.linalg.solve(low.T, np.linalg.solve(low, xty / d)) / d
        cond_s = np.linalg.cond(s)
    except np.linalg.LinAlgError:
        cond_s = np.inf
    if not np.isfinite(cond_s) or cond_s > 1e10:
        # ill-conditioned: a QR-based solve loses far less precision than normal equations
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        s_inv = np.linalg.pinv(s)
    xtx_inv = s_inv / np.outer(d, d)
    e = y - x @ beta
    k = p + extra_k
    df_resid = n - k
    kind = se
    df_inf: float | None = df_resid
    n_clusters = None
    if se == "nonrobust":
        sigma2 = float(e @ e) / df_resid
        cov = sigma2 * xtx_inv
    elif se in ("HC0", "HC1", "HC2", "HC3"):
        e2 = e**2 / weights if frequency and weights is not None else e**2
        if se in ("HC2", "HC3"):
            h = np.einsum("ij,jk,ik->i", x, xtx_inv, x, optimize=True)
            if frequency and weights is not None:
                h = h / weights  # the leverage of one copy of the row
            omega = e2 / (1 - h) if se == "HC2" else e2 / (1 - h) ** 2
        else:
            omega = e2
        meat = _weighted_cross(x, omega)
        cov = xtx_inv @ meat @ xtx_inv
        if se == "HC1":
            cov *= n / df_resid
        kind = {
            "HC0": "HC0 heteroskedasticity-robust (White)",
            "HC1": "HC1 heteroskedasticity-robust (White, n/(n−k) correction; Stata's robust)",
            "HC2": "HC2 heteroskedasticity-robust (leverage-corrected)",
            "HC3": "HC3 heteroskedasticity-robust (jackknife-like)",
        }[se]
    elif se == "cluster":
        if clusters is None:
            raise ValueError("cluster standard errors need cluster codes")
        codes, uniq = pd.factorize(clusters)
        g = len(uniq)
        if g < 2:
            raise EstimationError(Diagnostic(
                "E511", "clustered standard errors need at least two clusters; found 1", span,
                help="cluster on a column with several values, or use se = \"HC1\"",
            ))
        scores = group_sums(codes, x * e[:, None], g)
        meat = scores.T @ scores
        factor = g / (g - 1) * (n - 1) / (n - k)
        cov = factor * (xtx_inv @ meat @ xtx_inv)
        df_inf = g - 1
        n_clusters = g
        kind = (f"cluster-robust CR1 with {g} clusters: small-sample factor "
                f"G/(G−1)·(N−1)/(N−K) with K = {k} (Stata, pyfixest); t({g - 1}) reference")
    else:
        raise ValueError(f"unknown se kind {se!r}")
    if se == "nonrobust":
        kind = "classical (homoskedastic) s²(X'X)⁻¹"
    if weights is not None:
        kind += f"; {WEIGHT_CONVENTIONS.get(weight_kind or '', 'weighted')}"
    return LinearFit(tuple(names), beta, cov, n, k, df_resid, df_inf, kind, n_clusters, xtx)


def estimand_label(design: Design) -> str:
    """What the coefficient is. OLS fits one effect for everyone: for an ATT or ATC query
    (a matching cross-check, say) it is not an effect on the treated or the controls, and the
    label says so instead of borrowing the query's estimand."""
    if design.treatment_kind == "binary":
        if design.estimand != "ate":
            return f"coefficient (one effect for all units, not the {design.estimand.upper()})"
        return design.estimand.upper()
    return f"{design.estimand.upper()} per unit of {design.treatment}"


def standard_error_kind(design: Design, extra: pd.DataFrame | None, method: str
                        ) -> tuple[str, np.ndarray | None]:
    """The `se` option of a least-squares method (ols, iv) checked and normalised (HC1 by
    default; cluster when a cluster column is given), with the cluster labels if any."""
    se = str(design.option("se", "cluster" if design.cluster else "HC1"))
    se_norm = {s.lower(): s for s in SE_KINDS}.get(se.lower())
    if se_norm is None:
        raise option_error(design, f"unknown standard-error kind se = \"{se}\" for {method}",
                           "use one of " + ", ".join(SE_KINDS))
    if se_norm == "cluster" and design.cluster is None:
        raise option_error(design, "se = \"cluster\" needs a column to cluster on",
                           f"add cluster = <column> to `using {method}(...)`")
    clusters = None
    if design.cluster is not None:
        if extra is None or design.cluster not in extra:
            raise ValueError(f"cluster column {design.cluster!r} was not prepared")
        clusters = extra[design.cluster].to_numpy()
        se_norm = "cluster"
    return se_norm, clusters


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """OLS of the outcome on the treatment and the adjustment set; the treatment's coefficient."""
    se_norm, clusters = standard_error_kind(design, extra, "ols")
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    formula = design.option("outcome")
    interacted: list[str] = []
    if isinstance(formula, Formula):
        problems = check_design(formula, design.covariates, design.treatment, option="outcome",
                                method="ols", treatment_allowed=True, span=design.span)
        if problems:
            raise EstimationError(problems)
        centre = {"att": d == 1, "atc": d == 0}.get(design.estimand)
        x, names = build(frame, formula, intercept=True, lead=[(design.treatment, d)],
                         treatment=design.treatment, centre=centre, span=design.span)
        interacted = [str(t) for t in formula.terms
                      if design.treatment in t.variables and len(t.factors) > 1]
        rhs = str(formula)
    else:
        x, names = design_matrix(frame, design.covariates, intercept=True,
                                 lead=[(design.treatment, d)])
        rhs = " + ".join(design.covariates)
    n = len(y)
    fit = fit_linear(x, y, names, se=se_norm, clusters=clusters, span=design.span,
                     weights=design.weights, weight_kind=design.weight_kind)
    label = estimand_label(design)
    est = fit.estimate(design.treatment, label)
    assert fit.xtx is not None  # fit_linear always sets it
    checks, figures = collinearity_checks(
        fit.xtx, names, n if design.weights is None else float(fit.xtx[0, 0]))
    if interacted:
        population = {"att": "the treated", "atc": "the controls"}.get(design.estimand,
                                                                        "the sample")
        checks.append(Check(
            "note",
            f"interactions with {design.treatment} ({', '.join(interacted)}): the other factors "
            f"are centred at their mean over {population} before the product (Lin 2013), so the "
            f"coefficient of {design.treatment} is the {design.estimand.upper()} averaged over "
            "the covariates",
        ))
    elif design.treatment_kind == "binary" and design.covariates:
        checks.append(Check(
            "note",
            f"OLS gives one coefficient for {design.treatment}: it equals the "
            f"{design.estimand.upper()} when the effect is the same for everyone; if it varies "
            "with the covariates it is a variance-weighted average of the effects",
        ))
    if design.treatment_kind != "binary":
        checks.append(Check(
            "note",
            f"the effect of {design.treatment} is assumed linear: one number per unit increase",
        ))
    rows = [
        (nm, float(fit.params[i]), float(fit.se[i]), *_t_p(fit, i))
        for i, nm in enumerate(names)
    ]
    table = Table("Coefficients", ("term", "coef", "SE", "t", "p"), tuple(rows))
    fitted = f"{design.outcome} ~ {design.treatment}" + (f" + {rhs}" if rhs else "")
    desc = f"OLS: {fitted} ({n} rows, {fit.k} terms)"
    details = (
        ("formula", fitted), ("k", fit.k), ("df_resid", fit.df_resid),
        ("n_clusters", fit.n_clusters), *figures.items()
    )
    return EstimatorResult("ols", design.estimand, est, desc, tuple(checks), (table,), details)


def _t_p(fit: LinearFit, i: int) -> tuple[float, float]:
    e = fit.estimate(fit.names[i], "")
    t = e.effect / e.se if e.se > 0 else float("nan")
    return t, e.p_value

"""Front-door estimation: the effect of a treatment through mediators that carry all of it.

In: a coded estimation frame and a `Design` whose option ``mediators`` names the front-door set
M (a tuple of variables, as the planner takes it from the graph; ``mediators = {m1, m2}`` in a
query), with ``model`` = auto (default), linear or plugin, ``se`` = delta (default) or
bootstrap and ``bootstrap`` = replications (default 500). The design's covariates must be empty:
the front-door criterion used here conditions on nothing. Out: an `EstimatorResult`.

Two forms (Pearl 2009, §3.3.2):

* linear — the product of coefficients: a_j from M_j on the treatment, b_j from the outcome on
  every M and the treatment; the effect is Σ_j a_j b_j. The delta-method SE uses the joint
  sandwich covariance of (a, b) from the influence functions of the two regressions (each block
  scaled by n/(n−k), so the diagonal blocks are the HC1 covariances).
* plugin — binary treatment and discrete M: E[Y | do(x)] = Σ_m P(m | x) Σ_x' E[Y | m, x'] P(x').
  Its delta-method SE is the sample variance of the influence function (which, for saturated
  discrete models, is the efficient one of Fulcher et al. 2020), with a normal reference. ATT
  and ATC use the front-door formula for the effect on the treated (Shpitser & Pearl 2009):
  E[Y(0) | X = 1] = Σ_m P(m | X = 0) E[Y | m, X = 1].

``auto`` picks plugin when the treatment is binary and every mediator is discrete (categorical,
ordinal or 0/1), else linear. The bootstrap resamples rows (seeded by the design's seed) and
reports the standard deviation of the replicates with a normal interval.

Row weights (`data ... weights(w, kind = ...)`): the linear form fits both regressions by
weighted least squares (the WLS sandwich); the plug-in uses weighted cell probabilities and means,
its SE the linearised variance of the weighted influence function (Σw²φ²/(Σw)², Stata's pweight
convention); frequency weights equal the data with each row repeated w times, including the
bootstrap, which then resamples the Σw copies.

Raises `EstimationError` E508 (no mediators, covariates given, a bad option), E510 (a
rank-deficient regression) and E521 (a mediator value never seen under one treatment arm: the
plug-in formula needs every E[Y | m, x]).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import Diagnostic, EstimationError
from ..results import Check, Estimate, EstimatorResult, Table, fmt
from .common import WEIGHT_CONVENTIONS, Design, design_matrix, numeric, option_error
from .ols import fit_linear

MODELS = ("auto", "linear", "plugin")
SE_KINDS = ("delta", "bootstrap")
DEFAULT_BOOTSTRAP = 500


def _mediators(design: Design, frame: pd.DataFrame) -> tuple[str, ...]:
    raw = design.option("mediators")
    med = (raw,) if isinstance(raw, str) else tuple(raw or ())
    if not med:
        raise option_error(design, "frontdoor needs the mediators that carry the effect",
                           "write `using frontdoor(mediators = {m})`, or let the planner take "
                           "the front-door set from the graph")
    if design.treatment in med or design.outcome in med:
        raise option_error(design, "the treatment and the outcome cannot be mediators",
                           "mediators lie between the treatment and the outcome")
    if design.covariates:
        raise option_error(design, "frontdoor does not adjust for covariates here (got "
                           + ", ".join(design.covariates) + ")",
                           "the front-door criterion used conditions on nothing; remove "
                           "`adjust for`, or use a back-door method if those covariates suffice")
    for m in med:
        if m not in frame:
            raise ValueError(f"mediator column {m!r} was not prepared")
    return med


def _discrete(frame: pd.DataFrame, name: str) -> bool:
    s = frame[name]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    return set(np.unique(s.to_numpy(dtype=float))) <= {0.0, 1.0}


# --------------------------------------------------------------------------------------------
# linear: product of coefficients
# --------------------------------------------------------------------------------------------
def _influence(x: np.ndarray, e: np.ndarray, bread: np.ndarray,
               fw: np.ndarray | None = None) -> np.ndarray:
    """Per-row influence of an OLS fit, n·(X'X)⁻¹xᵢeᵢ, scaled by √(n/(n−k)) (HC1 blocks).

    On rows scaled by √w (weighted least squares) this is the WLS sandwich; with frequency
    weights `fw` each row stands for w copies, so its score is divided by √w (Σ over copies of
    the squared score is w·(xe)², not w²) and n = Σw."""
    n, k = x.shape
    score = x * e[:, None]
    if fw is not None:
        n = round(float(fw.sum()))
        score = score / np.sqrt(fw)[:, None]
    return score @ bread * np.sqrt(n / (n - k))


def linear_effect(d: np.ndarray, y: np.ndarray, m: np.ndarray, mnames: list[str],
                  span: object = None, weights: np.ndarray | None = None,
                  frequency: bool = False,
                  ) -> tuple[float, float, list[tuple[str, float, float]]]:
    """(Σ a_j b_j, delta-method SE, coefficient rows) of the linear front-door model.

    `weights` make both regressions weighted least squares (rows scaled by √w, as statsmodels'
    WLS whitens); `frequency` weights give the fit on the data with rows repeated w times."""
    n = len(y)
    one = np.ones(n)
    xa = np.column_stack([one, d])
    xb = np.column_stack([one, d, m])
    fw = weights if frequency else None
    if weights is not None:
        root = np.sqrt(weights)
        xa, xb, m, y = xa * root[:, None], xb * root[:, None], m * root[:, None], y * root
    fb = fit_linear(xb, y, ["(intercept)", "treatment", *mnames], se="HC1")
    bread_a = np.linalg.inv(xa.T @ xa)
    a = bread_a @ (xa.T @ m)  # 2 x J: intercept and slope of each mediator equation
    ea = m - xa @ a
    psi = [_influence(xa, ea[:, j], bread_a, fw)[:, 1] for j in range(m.shape[1])]
    eb = y - xb @ fb.params
    assert fb.xtx is not None
    psi_b = _influence(xb, eb, np.linalg.inv(fb.xtx), fw)[:, 2:]
    stacked = np.column_stack([*psi, psi_b])
    v = stacked.T @ stacked
    slopes, b = a[1], fb.params[2:]
    grad = np.concatenate([b, slopes])
    effect = float(slopes @ b)
    se = float(np.sqrt(grad @ v @ grad))
    j = m.shape[1]
    rows = [(f"{nm} on treatment (a)", float(slopes[i]), float(np.sqrt(v[i, i])))
            for i, nm in enumerate(mnames)]
    rows += [(f"outcome on {nm} given treatment (b)", float(b[i]),
              float(np.sqrt(v[j + i, j + i]))) for i, nm in enumerate(mnames)]
    return effect, se, rows


# --------------------------------------------------------------------------------------------
# plug-in: the front-door formula on discrete mediators
# --------------------------------------------------------------------------------------------
def plugin_effect(d: np.ndarray, y: np.ndarray, cells: np.ndarray, n_cells: int,
                  estimand: str = "ate", weights: np.ndarray | None = None,
                  ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
    """(effect, influence function per row, cell tables) of the plug-in front-door formula.

    `cells` are integer codes of the mediators' joint values; `d` is 0/1. Every cell seen must
    have rows under both arms (else E[Y | m, x] is undefined: checked by the caller). With
    `weights` every probability and mean is weighted (cell weight sums in place of counts); the
    influence function is then per unit of the weighted population."""
    n = len(y)
    t = d == 1
    wt = np.ones(n) if weights is None else weights
    p1 = float(wt @ t) / float(wt.sum())
    px = np.array([1 - p1, p1])
    cnt = np.zeros((n_cells, 2))
    np.add.at(cnt, (cells, t.astype(int)), wt)
    sy = np.zeros((n_cells, 2))
    np.add.at(sy, (cells, t.astype(int)), wt * y)
    seen = cnt.sum(axis=1) > 0
    if np.any(seen & (cnt.min(axis=1) == 0)):
        raise EstimationError(Diagnostic("E521", "a mediator value is seen under one treatment "
                                         "arm only", None))
    mu = np.divide(sy, cnt, out=np.zeros_like(sy), where=cnt > 0)  # E[Y | m, x]
    pmx = cnt / cnt.sum(axis=0)  # P(m | x)
    xi = t.astype(int)
    theta = mu @ px  # θ(m) = Σ_x' E[Y|m,x'] P(x')
    if estimand == "ate":
        psi = pmx.T @ theta  # E[Y | do(x)] for x = 0, 1
        infl = np.zeros((n, 2))
        for x in (0, 1):
            infl[:, x] = ((xi == x) / px[x] * (theta[cells] - psi[x])
                          + pmx[cells, x] / pmx[cells, xi] * (y - mu[cells, xi])
                          + (pmx[:, x] @ mu)[xi] - psi[x])
        return float(psi[1] - psi[0]), infl[:, 1] - infl[:, 0], {
            "mu": mu, "p_m_given_x": pmx, "count": cnt, "do": psi}
    # effect on the treated (tr = 1) or the controls (tr = 0): E[Y|X=tr] − Σ_m P(m|o) μ(m, tr)
    tr = 1 if estimand == "att" else 0
    o = 1 - tr
    ey = float(np.average(y[xi == tr], weights=wt[xi == tr]))
    phi = float(pmx[:, o] @ mu[:, tr])
    infl_ey = (xi == tr) / px[tr] * (y - ey)
    infl_phi = ((xi == o) / px[o] * (mu[cells, tr] - phi)
                + (xi == tr) * pmx[cells, o] / (pmx[cells, tr] * px[tr]) * (y - mu[cells, tr]))
    sign = 1.0 if tr == 1 else -1.0
    return sign * (ey - phi), sign * (infl_ey - infl_phi), {
        "mu": mu, "p_m_given_x": pmx, "count": cnt, "do": np.array([ey, phi])}


def _cells(frame: pd.DataFrame, med: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    cols = [numeric(frame, m) for m in med]
    keys, codes = np.unique(np.column_stack(cols), axis=0, return_inverse=True)
    labels = []
    for row in keys:
        parts = []
        for m, v in zip(med, row, strict=True):
            s = frame[m]
            if isinstance(s.dtype, pd.CategoricalDtype):
                parts.append(f"{m}={s.cat.categories[int(v)]}")
            else:
                parts.append(f"{m}={fmt(float(v))}")
        labels.append(", ".join(parts))
    return codes.ravel(), labels


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------
def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """The front-door effect of the treatment through `mediators` (see the module docstring)."""
    med = _mediators(design, frame)
    wts = design.weights
    frequency = wts is not None and design.weight_kind == "frequency"
    model = str(design.option("model", "auto")).lower()
    se_kind = str(design.option("se", "delta")).lower()
    reps = int(design.option("bootstrap", DEFAULT_BOOTSTRAP))
    if model not in MODELS:
        raise option_error(design, f"unknown front-door model = \"{model}\"",
                           "use one of " + ", ".join(MODELS))
    if se_kind not in SE_KINDS:
        raise option_error(design, f"unknown standard-error kind se = \"{se_kind}\" for "
                           "frontdoor", "use one of " + ", ".join(SE_KINDS))
    if se_kind == "bootstrap" and reps < 50:
        raise option_error(design, f"bootstrap = {reps} is too few replications",
                           "use at least 50 (the default is 500)")
    binary = design.treatment_kind == "binary"
    discrete = binary and all(_discrete(frame, m) for m in med)
    if model == "plugin" and not discrete:
        raise option_error(design, "the plug-in front-door formula needs a binary treatment and "
                           "discrete mediators", "use model = \"linear\"")
    if model == "auto":
        model = "plugin" if discrete else "linear"
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    n = len(y) if not frequency or wts is None else round(float(wts.sum()))
    checks: list[Check] = []
    tables: list[Table] = []
    details: list[tuple[str, object]] = [("mediators", med), ("model", model)]
    fit: Callable[[np.ndarray, np.ndarray | None], float]
    if model == "linear":
        m, mnames = design_matrix(frame, med)
        effect, se, rows = linear_effect(d, y, m, mnames, weights=wts, frequency=frequency)
        tables.append(Table("Front-door regressions (HC1 SEs)", ("coefficient", "estimate",
                                                                 "SE"), tuple(rows)))
        estimand = "ate" if binary else design.estimand
        label = (f"{design.estimand.upper()} (front-door, linear)" if binary else
                 f"front-door effect per unit of {design.treatment}")
        checks.append(Check("note", (
            "linear front-door: the product of the treatment→mediator and mediator→outcome "
            "coefficients, which assumes each relation is linear and the mediator's effect does "
            "not depend on the treatment (no interaction); the effect is then the same for "
            "everyone, so ATE = ATT = ATC")))

        def fit(idx: np.ndarray, w: np.ndarray | None) -> float:
            return linear_effect(d[idx], y[idx], m[idx], mnames, weights=w)[0]
    else:
        cells, labels = _cells(frame, med)
        k = len(labels)
        cnt = np.zeros((k, 2))
        np.add.at(cnt, (cells, (d == 1).astype(int)), 1.0)
        empty = [(labels[i], arm) for i in range(k) for arm in (0, 1) if cnt[i, arm] == 0]
        if empty:
            raise EstimationError(Diagnostic(
                "E521", "the plug-in front-door formula needs every mediator value under both "
                "treatment arms; never seen: " + "; ".join(
                    f"{lab} with {design.treatment} = {arm}" for lab, arm in empty[:5]),
                design.span, help="merge rare mediator levels, or use model = \"linear\""))
        estimand = design.estimand
        effect, infl, tab = plugin_effect(d, y, cells, k, estimand, wts)
        if wts is None:
            se = float(np.sqrt(infl @ infl)) / n
        else:  # linearised variance of a weighted mean of the influence function
            se = float(np.sqrt((wts if frequency else wts**2) @ infl**2)) / float(wts.sum())
        label = f"{estimand.upper()} (front-door plug-in)"
        pmx, mu, cnt = tab["p_m_given_x"], tab["mu"], tab["count"]
        whole = wts is None or frequency
        cells_rows = tuple((labels[i], *(round(float(c)) if whole else float(c) for c in cnt[i]),
                            float(pmx[i, 0]), float(pmx[i, 1]), float(mu[i, 0]),
                            float(mu[i, 1])) for i in range(k))
        head = ("n (x=0)", "n (x=1)") if whole else ("weight (x=0)", "weight (x=1)")
        tables.append(Table(f"Front-door cells ({', '.join(med)})",
                            ("mediators", *head, "P(m|x=0)", "P(m|x=1)",
                             "E[Y|m,x=0]", "E[Y|m,x=1]"), cells_rows))
        if estimand == "ate":
            details += [("mean_do_0", float(tab["do"][0])), ("mean_do_1", float(tab["do"][1]))]
        checks.append(Check("note", (
            "plug-in front-door formula E[Y|do(x)] = Σ_m P(m|x) Σ_x' E[Y|m,x'] P(x') on the "
            f"{k} observed mediator cell(s): no model for the outcome, so treatment–mediator "
            "interactions are allowed")))

        def fit(idx: np.ndarray, w: np.ndarray | None) -> float:
            return plugin_effect(d[idx], y[idx], cells[idx], k, estimand, w)[0]
    se_text = ("delta method: joint HC1 sandwich of the two regressions" if model == "linear"
               else "delta method: influence function of the plug-in formula (normal reference)")
    if se_kind == "bootstrap":
        se, failed = _bootstrap(fit, len(y), reps, design.seed, wts, frequency)
        se_text = f"nonparametric bootstrap, {reps} row resamples (normal interval)"
        if failed:
            checks.append(Check("warning", f"{failed} of {reps} bootstrap resamples could not "
                                "be estimated (an empty mediator cell or a singular design) "
                                "and were left out of the standard error"))
    if not (np.isfinite(effect) and np.isfinite(se)):
        raise EstimationError(Diagnostic(
            "E521", "the front-door estimate is not finite", design.span,
            help="check the mediators for constant columns or empty cells"))
    if wts is not None:
        se_text += f"; {WEIGHT_CONVENTIONS.get(design.weight_kind or '', 'weighted')}" + (
            ", resampling rows with their weights" if se_kind == "bootstrap" and not frequency
            else ", resampling the Σw copies" if se_kind == "bootstrap" else "")
        checks.append(Check("note", f"{design.weight_kind} weights: weighted regressions "
                            "(linear) or weighted cell probabilities and means (plug-in)"))
    est = Estimate.from_se(effect, se, n=n, label=label, se_kind=se_text)
    checks.append(Check("note", (
        f"identification rests on the front-door criterion for {{{', '.join(med)}}}: it "
        f"intercepts every causal path from {design.treatment} to {design.outcome}, nothing "
        f"confounds {design.treatment} with it, and {design.treatment} blocks every back-door "
        f"path from it to {design.outcome}")))
    desc = (f"front-door ({model}) of {design.outcome} on {design.treatment} through "
            f"{', '.join(med)} ({n} rows)")
    details.append(("estimate_" + model, fmt(effect)))
    return EstimatorResult("frontdoor", estimand, est, desc, tuple(checks), tuple(tables),
                           tuple(details))


def _bootstrap(fit: Callable[[np.ndarray, np.ndarray | None], float], n: int, reps: int,
               seed: int | None, weights: np.ndarray | None = None,
               frequency: bool = False) -> tuple[float, int]:
    """Row resamples. With frequency weights the Σw copies are resampled (each draw picks a
    copy, mapped back to its row), so the draws are those of the bootstrap on the expanded
    data with the same seed; other weights travel with their rows (the weighted bootstrap)."""
    rng = np.random.default_rng(0 if seed is None else seed)
    copies = None
    if frequency and weights is not None:
        copies = np.repeat(np.arange(n), weights.astype(np.int64))
    draws = []
    failed = 0
    for _ in range(reps):
        if copies is not None:
            idx, w = copies[rng.integers(0, len(copies), len(copies))], None
        else:
            idx = rng.integers(0, n, n)
            w = None if weights is None else weights[idx]
        try:
            v = fit(idx, w)
        except (EstimationError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
            failed += 1
            continue
        if np.isfinite(v):
            draws.append(v)
        else:
            failed += 1
    if len(draws) < 2:
        return float("nan"), failed
    return float(np.std(draws, ddof=1)), failed

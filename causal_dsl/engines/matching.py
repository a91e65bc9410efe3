"""Nearest-neighbour matching on the propensity score for engine-bound data (DuckDB): the same
estimator as `causal_dsl.estimators.matching`, with the covariates never loaded.

In: an `Engine`, a checked `Sample`, the `Design` (options as `estimators.matching`). Out: an
`EstimatorResult` ("matching": the estimate, the Abadie–Imbens standard error, MatchIt's balance
table), or None when the options are not pushed down (`pushed_options`: ``ties = "all"`` with
replacement, no ``exact``, no ``score`` formula, Abadie–Imbens errors) — the planner then loads
the declared columns. Raises `DataError` E413 (no overlap), E422 (more than `MAX_MATCH_ROWS`
rows), `EstimationError` E512 (the score model cannot be fitted), E508 (bad options).

How. (1) The logistic score by IRLS in the engine, one aggregate pass per Newton step
(`sufficient.fit_logit`). (2) With bias adjustment, the two within-arm regressions of the outcome
on the covariates from their X'X (one streamed pass each); their predictions μ̂₀(X), μ̂₁(X) are
SQL expressions. (3) The engine computes, per row, the treatment, the outcome, the linear
predictor and the two predictions; only those five doubles per row come to memory (40 bytes a
row: 400 MB at 10⁷ rows, whatever the number of covariates). Matching is a sort and a binary
search per arm on the 1-D score (`estimators.neighbours.match`, ties kept as Abadie & Imbens
define the match set), and the Abadie–Imbens variance — which needs every unit's match weight
K̃ and its within-arm conditional variance — is exact, computed on those arrays; no subsample is
taken. (4) The balance table from weighted moments in one streamed pass over the covariates:
with ties = "all" a unit's weight depends only on its arm and its score (a match set is a window
of score values), so each streamed row gets its weight by a binary search on its score.

Not pushed down: greedy matching without replacement and ties = "first"/"random" (they depend
on the order of rows with equal scores, which an engine does not keep), exact strata, score
formulas, the bootstrap. Beyond `MAX_MATCH_ROWS` rows the five arrays would not fit the memory
goal: refused (E422) with what limits it, rather than sampled silently.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, special

from ..errors import DataError, Diagnostic, EstimationError
from ..estimators.common import Design
from ..estimators.matching import (
    DISTANCES,
    _balance_and_overlap,
    _denom_text,
    _options,
    matching_effect,
)
from ..estimators.matching import _Fit as MatchingFit
from ..model import VarType
from ..results import Check, Estimate, EstimatorResult, Table, fmt
from . import sufficient
from .columns import Sample
from .source import VIEW, Engine

MAX_MATCH_ROWS = 30_000_000  # five float64 arrays of this length: 1.2 GB


def pushed_options(design: Design) -> bool:
    """Whether `estimate` computes this matching design in the engine (module docstring)."""
    ties = str(design.option("ties", "all")).lower()
    se = str(design.option("se", "abadie-imbens")).lower().replace("_", "-")
    return (ties == "all" and design.option("replace", True) is True
            and not design.option("exact") and design.option("score") is None
            and se in ("ai", "abadie-imbens", "abadie imbens")
            and design.weights is None)


def _sql_linear(beta: np.ndarray, cols: list[str]) -> str:
    return " + ".join([sufficient._num(beta[0])] + [
        f"{sufficient._num(b)} * {c}" for b, c in zip(beta[1:], cols, strict=True)])


def _continuous(eng: Engine, s: Sample, design: Design, study_types: dict[str, VarType | None]
                ) -> list[str]:
    """Covariates not categorical and with more than two values (`matching.continuous_covariates`),
    by two aggregates: MIN/MAX, then whether any value lies strictly between."""
    cands = [c for c in design.covariates
             if study_types.get(c) not in (VarType.CATEGORICAL, VarType.ORDINAL)]
    if not cands:
        return []
    where = f"{VIEW} WHERE {s.complete}"
    got = eng.one("SELECT " + ", ".join(f"MIN({s.expr(c)}), MAX({s.expr(c)})" for c in cands)
                  + f" FROM {where}")
    inner = ", ".join(
        f"MAX(CASE WHEN {s.expr(c)} > {sufficient._num(got[2 * i])} AND {s.expr(c)} < "
        f"{sufficient._num(got[2 * i + 1])} THEN 1 ELSE 0 END)" for i, c in enumerate(cands))
    between = eng.one(f"SELECT {inner} FROM {where}")
    return [c for c, b in zip(cands, between, strict=True) if b]


def _arm_fit(eng: Engine, table: str, p: int, arm: int) -> np.ndarray:
    """OLS of y on [1, c0..] within one arm (`matching._arm_fits`): minimum-norm least squares
    when the arm's design is rank-deficient, as there."""
    cols = ["1.0"] + [f"c{j}" for j in range(p)] + ["y"]
    zz, _ = sufficient.gram(eng, f"SELECT * FROM ({table}) a WHERE _d = {arm}", cols)
    h, g = zz[:p + 1, :p + 1], zz[:p + 1, p + 1]
    sc = np.sqrt(np.where(np.diag(h) > 0, np.diag(h), 1.0))
    hs = h / np.outer(sc, sc)
    if np.linalg.cond(hs) < 1e10:
        return np.asarray(linalg.solve(hs, g / sc, assume_a="sym") / sc)
    return np.asarray(np.linalg.lstsq(hs, g / sc, rcond=1e-10)[0] / sc)


def estimate(eng: Engine, s: Sample, design: Design, study_types: dict[str, VarType | None]
             ) -> EstimatorResult:
    """Matching in the engine (see the module docstring)."""
    xs = s.design(design.covariates)
    names = [n for n, _ in xs]
    o = _options(design, len(design.covariates))
    n_rows = s.report.rows_used
    if n_rows > MAX_MATCH_ROWS:
        raise DataError(Diagnostic(
            "E422", f"{n_rows:,} rows: matching in the engine holds five numbers per row in "
            f"memory (score, outcome, treatment, two predictions; 40 bytes a row), and more than "
            f"{MAX_MATCH_ROWS:,} rows exceed the 2 GiB memory goal", design.span,
            help="use `using ols` (pushed down without this limit), or bind a sample"))
    p = len(xs)
    extra = [f"{s.expr(design.treatment)} AS _d"]
    table = sufficient.ols_table(s.complete, s.expr(design.outcome), [x for _, x in xs], extra)
    logit_table = f"SELECT _d AS y, {', '.join(f'c{j}' for j in range(p))} FROM ({table}) l"
    try:
        beta, iters, converged = sufficient.fit_logit(eng, logit_table, p)
    except np.linalg.LinAlgError:
        raise EstimationError(Diagnostic(
            "E512", "the propensity score model could not be fitted: its Hessian is singular "
            "(a covariate is constant or linearly dependent on others)", design.span,
            help="drop the dependent covariate from the adjustment set")) from None
    cols = [f"c{j}" for j in range(p)]
    cont = _continuous(eng, s, design, study_types) if o.adjust is None else []
    adjust = bool(cont) if o.adjust is None else o.adjust
    eta_sql = _sql_linear(beta, cols)
    outs = ["_d", "y", f"({eta_sql}) AS eta"]
    if adjust:
        outs += [f"({_sql_linear(_arm_fit(eng, table, p, a), cols)}) AS mu{a}" for a in (0, 1)]
    got = eng.conn.execute(f"SELECT {', '.join(outs)} FROM ({table}) t").fetchnumpy()
    d = np.asarray(got["_d"], dtype=np.float64)
    y = np.asarray(got["y"], dtype=np.float64)
    eta = np.asarray(got["eta"], dtype=np.float64)
    mu = {a: np.asarray(got[f"mu{a}"], dtype=np.float64) for a in (0, 1)} if adjust else None
    del got
    prob = special.expit(eta)
    dist = prob if o.distance == "ps" else eta
    loglik = float(d @ eta - np.logaddexp(0.0, eta).sum())
    sd_dist = float(dist.std(ddof=1))
    caliper = o.caliper * sd_dist if o.caliper is not None else None
    # the in-memory matcher itself, on the five numbers per row the engine handed over
    fit = matching_effect(y, d, dist, design.estimand, k=o.k, caliper=caliper, replace=True,
                          strata=None, mu=mu)
    scale = DISTANCES[o.distance]
    label = design.estimand.upper()
    t = d == 1
    pt, pc = prob[t], prob[~t]
    if fit.n_targets == 0 or pt.max() < pc.min() or pc.max() < pt.min():
        raise DataError(Diagnostic(
            "E413", "no overlap: not one unit has a match"
            + (f" within the caliper of {o.caliper:g} SD of the {scale}" if o.caliper else "")
            + f" (propensity scores of the treated [{fmt(pt.min())}, {fmt(pt.max())}], of the "
            f"controls [{fmt(pc.min())}, {fmt(pc.max())}])", design.span,
            help="widen or drop the caliper, or question whether the comparison can be made"))
    se_text = "Abadie–Imbens (2006), score treated as known"
    se_text += (" (conservative for the ATE, Abadie & Imbens 2016)" if design.estimand == "ate"
                else f" (for the {label} ignoring the score's estimation can err either way, "
                "Abadie & Imbens 2016)")
    se_text += "; normal reference"
    est = Estimate.from_se(fit.effect, float(np.sqrt(fit.variance)), n=fit.n_targets, label=label,
                           se_kind=se_text)
    balance, smds = _balance(eng, table, eta_sql, p, names, scale, d, dist, fit, o.distance,
                             design.estimand)
    state = (f"converged in {iters} Newton iteration(s)" if converged
             else f"NOT converged after {iters} iteration(s)")
    checks = [Check("note" if converged else "warning", "propensity model (logistic "
                    f"regression, MLE, IRLS in {eng.dialect}): {state}, log-likelihood "
                    f"{loglik:.6g}")]
    checks += _balance_and_overlap(smds, d, prob, design.estimand)
    dropped = fit.dropped
    if sum(dropped.values()):
        parts = ", ".join(f"{v} {a}" for a, v in dropped.items() if v)
        why = (f"no match within the caliper of {o.caliper:g} SD of the {scale} "
               f"({fmt(caliper, 3)})" if caliper is not None else "no match available")
        checks.append(Check("warning", f"{parts} unit(s) dropped ({why}); the estimate is the "
                            f"{label} of the {fit.n_targets} matched units, not of everyone"))
    reuse = fit.reuse
    checks.append(Check(
        "note", f"{reuse['distinct_donors']} distinct units used as matches; the most reused "
        f"served {reuse['max_times_used']} target(s), largest match weight "
        f"{fmt(reuse['max_donor_weight'], 3)}; mean match-set size "
        f"{fmt(reuse['mean_match_set'], 3)}, {reuse['targets_with_ties']} target(s) with more "
        f"than k = {o.k} matches; ties at the k-th distance all kept and averaged "
        "(Abadie–Imbens)"))
    if adjust:
        why = ("default: continuous covariate(s) " + ", ".join(cont) if o.adjust is None
               else "bias_adjust = true")
        checks.append(Check("note", "regression bias adjustment (Abadie & Imbens 2011): each "
                            "match moved to its target's covariates along a linear regression "
                            f"of {design.outcome} fitted within the match's arm ({why})"))
    checks.append(Check("note", f"matched in memory on the 1-D score ({len(d):,} rows × "
                        f"{5 if adjust else 3} numbers); the {p} covariate column(s) stayed in "
                        f"{eng.dialect} (score, bias-adjustment fits and balance by aggregate "
                        "passes); the Abadie–Imbens variance is exact, not subsampled"))
    opts = [f"k = {o.k}", "ties = all", "with replacement"]
    if o.caliper is not None:
        opts.append(f"caliper {o.caliper:g} SD of the {scale}")
    if adjust:
        opts.append("regression bias adjustment (Abadie & Imbens 2011)")
    desc = (f"nearest-neighbour matching on the {scale} (distance = \"{o.distance}\"; "
            f"maximum-likelihood logistic regression of {design.treatment} on "
            f"{', '.join(design.covariates)}; in {eng.dialect}), {', '.join(opts)}")
    details = (("n_treated", int(t.sum())), ("n_control", int((~t).sum())),
               ("n_matched_targets", fit.n_targets), ("dropped", dropped),
               ("distance", o.distance), ("ties", "all"), ("bias_adjust", adjust),
               ("caliper_distance", caliper), ("sd_distance", sd_dist), ("k", o.k),
               ("replace", True), ("score_loglik", loglik), ("score_iterations", iters),
               ("score_converged", converged),
               ("score_coefficients", dict(zip(["(intercept)", *names], beta.tolist(),
                                               strict=True))),
               *reuse.items(), ("random_draws", False))
    return EstimatorResult("matching", design.estimand, est, desc, tuple(checks), (balance,),
                           details)


def _lookup(d: np.ndarray, dist: np.ndarray, w: np.ndarray
            ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per arm, the sorted scores and their weights: a weight is a function of (arm, score)."""
    out = {}
    for arm in (0, 1):
        sel = d == arm
        order = np.argsort(dist[sel], kind="stable")
        out[arm] = (dist[sel][order], w[sel][order])
    return out


def _balance(eng: Engine, table: str, eta_sql: str, p: int, names: list[str], scale: str,
             d: np.ndarray, dist: np.ndarray, fit: MatchingFit, distance: str,
             estimand: str) -> tuple[Table, list[tuple[str, float, float]]]:
    """`matching.balance_table` for the score and the covariates, from weighted moments
    accumulated over one streamed pass (shifted by the first row, as there)."""
    look = _lookup(d, dist, fit.weight_t + fit.weight_c)
    cols = ", ".join(["_d", f"({eta_sql}) AS eta"] + [f"c{j}" for j in range(p)])
    total = np.zeros(4)
    s1 = np.zeros((4, p + 1))
    s2 = np.zeros((4, p + 1))
    shift: np.ndarray | None = None
    for z in sufficient.batches(eng, f"SELECT {cols} FROM ({table}) t"):
        dd = z[:, 0]
        e = z[:, 1]
        x = np.column_stack([special.expit(e) if distance == "ps" else e, z[:, 2:]])
        w = np.empty(len(dd))
        for arm in (0, 1):
            sel = dd == arm
            keys, ws = look[arm]
            pos = np.clip(np.searchsorted(keys, x[sel, 0]), 0, max(len(keys) - 1, 0))
            if len(keys) == 0 or not np.array_equal(keys[pos], x[sel, 0]):
                raise RuntimeError("internal: a streamed score was not among the matched ones")
            w[sel] = ws[pos]
        tt = (dd == 1).astype(np.float64)
        wm = np.column_stack([tt, 1.0 - tt, w * tt, w * (1.0 - tt)])
        if shift is None:
            shift = x[0].copy()
        b = x - shift
        total += wm.sum(axis=0)
        s1 += wm.T @ b
        s2 += wm.T @ (b * b)
    assert shift is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / total[:, None]
        var = np.maximum(s2 / total[:, None] - mean**2, 0.0)
        mean = mean + shift
        n_t, n_c = total[0], total[1]
        vt = var[0] * n_t / (n_t - 1) if n_t > 1 else np.full(p + 1, np.nan)
        vc = var[1] * n_c / (n_c - 1) if n_c > 1 else np.full(p + 1, np.nan)
        mt, mc, at, ac = mean
        denom = {"att": np.sqrt(vt), "atc": np.sqrt(vc)}.get(estimand, np.sqrt((vt + vc) / 2))
        denom = np.where(denom > 0, denom, np.nan)
        before, after = (mt - mc) / denom, (at - ac) / denom
        vr = var[2] / np.where(var[3] > 0, var[3], np.nan)
    labels = [scale, *names]
    rows = tuple((labels[i], float(mt[i]), float(mc[i]), float(before[i]), float(at[i]),
                  float(ac[i]), float(after[i]), float(vr[i])) for i in range(p + 1))
    table_out = Table(
        f"Balance (standardized mean differences, {_denom_text(estimand)})",
        ("covariate", "mean T", "mean C", "SMD before", "mean T matched", "mean C matched",
         "SMD after", "var ratio after"), rows)
    return table_out, [(labels[i], float(before[i]), float(after[i])) for i in range(p + 1)]

"""Nearest-neighbour matching on the propensity score for engine-bound data (DuckDB): the same
estimator as `causal_dsl.estimators.matching`, with the covariates never loaded.

In: an `Engine`, a checked `Sample`, the `Design` (options as `estimators.matching`). Out: an
`EstimatorResult` ("matching": the estimate, the Abadie–Imbens standard error, MatchIt's balance
table), or None when the options are not pushed down (`pushed_options`: ``ties = "all"`` with
replacement, no ``exact``, no ``score`` formula, Abadie–Imbens errors) — the planner then loads
the declared columns. Raises `DataError` E413 (no overlap), E422 (more than `MAX_MATCH_ROWS`
rows), `EstimationError` E512 (the score model cannot be fitted), E508 (bad options).

How. (1) The logistic score by IRLS in the engine, one streamed pass per Newton step
(`sufficient.fit_logit`); its first pass also gives what does not depend on the coefficients
(`_FirstPass`): each arm's Z'Z for the bias adjustment and which covariates take more than two
values (whether it is on by default). (2) With bias adjustment, the two within-arm regressions
of the outcome on the covariates from those Z'Z; their predictions μ̂₀(X), μ̂₁(X) are SQL
expressions. (3) The engine computes, per row, the treatment, the outcome, the linear
predictor and the two predictions; only those five doubles per row come to memory (40 bytes a
row: 400 MB at 10⁷ rows, whatever the number of covariates), and then the connection is
renewed (`release`): a scan's buffers stay with DuckDB's connection (about 0.5 GB at 10⁷ rows)
and would otherwise sit beside the matcher's arrays. Matching is a sort and a binary
search per arm on the 1-D score (`estimators.neighbours.match`, ties kept as Abadie & Imbens
define the match set), and the Abadie–Imbens variance — which needs every unit's match weight
K̃ and its within-arm conditional variance — is exact, computed on those arrays; no subsample is
taken. (4) The balance table from weighted moments in one streamed pass over the covariates:
DuckDB returns the rows of a query in the same order each time (``preserve_insertion_order``),
so a row's match weight is at its position — checked on every row (arm and score equal); where
it is not, the weight is found by a binary search on the score, since with ties = "all" a unit's
weight depends only on its arm and its score (a match set is a window of score values). Passes
over the rows: the IRLS steps (two or three), the per-row fetch and the balance pass.

Not pushed down: greedy matching without replacement and ties = "first"/"random" (they depend
on the order of rows with equal scores, which an engine does not keep), exact strata, score
formulas, the bootstrap. Beyond `MAX_MATCH_ROWS` rows the five arrays would not fit the memory
goal: refused (E422) with what limits it, rather than sampled silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

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


def _candidates(s: Sample, design: Design, study_types: dict[str, VarType | None]
                ) -> list[tuple[str, int]]:
    """`_continuous`'s candidates with their column c{j} in the design."""
    out, j = [], 0
    for c in design.covariates:
        if study_types.get(c) not in (VarType.CATEGORICAL, VarType.ORDINAL):
            out.append((c, j))
        j += len(s.columns[c].exprs)
    return out


def _solve_arms(zz: dict[int, np.ndarray], p: int) -> dict[int, np.ndarray]:
    """OLS of y on [1, c0..] within each arm from Z'Z of z = [1, c0.., y] (`matching._arm_fits`):
    minimum-norm least squares when an arm's design is rank-deficient, as there."""
    out = {}
    for a in (0, 1):
        h, g = zz[a][:p + 1, :p + 1], zz[a][:p + 1, p + 1]
        sc = np.sqrt(np.where(np.diag(h) > 0, np.diag(h), 1.0))
        hs = h / np.outer(sc, sc)
        if np.linalg.cond(hs) < 1e10:
            out[a] = np.asarray(linalg.solve(hs, g / sc, assume_a="sym") / sc)
        else:
            out[a] = np.asarray(np.linalg.lstsq(hs, g / sc, rcond=1e-10)[0] / sc)
    return out


def _arm_fits(eng: Engine, table: str, p: int) -> dict[int, np.ndarray]:
    """The two arm fits by aggregates (Spark, or DuckDB without streaming)."""
    zz = {a: sufficient.gram(eng, f"SELECT * FROM ({table}) a WHERE _d = {a}",
                             ["1.0"] + [f"c{j}" for j in range(p)] + ["y"])[0] for a in (0, 1)}
    return _solve_arms(zz, p)


class _FirstPass:
    """What the first IRLS pass also gives (`sufficient.fit_logit`'s `first`): each arm's
    Z'Z of [1, c0.., y] for the bias-adjustment fits, and which candidate columns take more
    than two values (`_continuous`'s question, by the block minima and maxima: a column has a
    value strictly between its minimum and maximum iff some block has one strictly between its
    own, or the blocks' minima and maxima hold more than two distinct values)."""

    def __init__(self, p: int, cands: list[int], arms: bool) -> None:
        self.p = p
        self.zz = {a: np.zeros((p + 2, p + 2)) for a in (0, 1)} if arms else None
        self.cands = cands
        self.inner = dict.fromkeys(cands, False)
        self.ends: dict[int, set[float]] = {j: set() for j in cands}

    def __call__(self, z: np.ndarray) -> None:
        p = self.p  # rows of z: 1, c0..c{p-1}, d, y
        if self.zz is not None:
            # Z'Z of the whole block (a view, one BLAS call) and of its smaller arm (a copy);
            # the larger arm's is their difference
            arm = z[p + 1] == 1
            small = 1 if 2 * int(arm.sum()) <= len(arm) else 0
            rows = np.r_[0:p + 1, p + 2]
            whole = (z @ z.T)[np.ix_(rows, rows)]
            w = z[np.ix_(rows, arm if small == 1 else ~arm)]
            part = w @ w.T
            self.zz[small] += part
            self.zz[1 - small] += whole - part
        for j in self.cands:
            if self.inner[j]:
                continue
            v = z[1 + j]
            lo, hi = float(v.min()), float(v.max())
            self.inner[j] = bool(np.any((v > lo) & (v < hi)))
            self.ends[j].update((lo, hi))

    def continuous(self) -> list[int]:
        return [j for j in self.cands if self.inner[j] or len(self.ends[j]) > 2]


def _per_row(eng: Engine, sql: str, names: list[str], n: int) -> dict[str, np.ndarray]:
    """The columns `names` of `sql`, streamed into arrays allocated once (n rows): no copy of
    the whole result is held by DuckDB or by Arrow next to them."""
    out = {c: np.empty(n) for c in names}
    at = 0
    for z in sufficient.blocks(eng, sql):
        m = z.shape[1]
        if at + m > n:
            raise RuntimeError("internal: more rows streamed than counted")
        for j, c in enumerate(names):
            out[c][at:at + m] = z[j]
        at += m
    if at != n:
        raise RuntimeError("internal: fewer rows streamed than counted")
    return out


def estimate(eng: Engine, s: Sample, design: Design, study_types: dict[str, VarType | None],
             *, release: Callable[[], None] | None = None) -> EstimatorResult:
    """Matching in the engine (see the module docstring). `release`, when given, is called
    once the rows are in memory: it gives the engine's buffers back (the engine stays usable),
    so that they and the matcher's arrays are never held at once."""
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
    logit_table = f"SELECT _d AS y, {', '.join(f'c{j}' for j in range(p))}, y AS _y FROM " \
        f"({table}) l"
    cols = [f"c{j}" for j in range(p)]
    cands = _candidates(s, design, study_types) if o.adjust is None else []
    streamed = eng.dialect == "duckdb" and sufficient.STREAM
    # on DuckDB the arm fits' moments and the continuity check ride on the first IRLS pass
    first = _FirstPass(p, [j for _, j in cands], o.adjust is not False) if streamed else None
    try:
        beta, iters, converged = sufficient.fit_logit(
            eng, logit_table, p, extra=["_y"] if streamed else (), first=first)
    except np.linalg.LinAlgError:
        raise EstimationError(Diagnostic(
            "E512", "the propensity score model could not be fitted: its Hessian is singular "
            "(a covariate is constant or linearly dependent on others)", design.span,
            help="drop the dependent covariate from the adjustment set")) from None
    if first is not None:
        more = set(first.continuous())
        cont = [c for c, j in cands if j in more]
    else:
        cont = _continuous(eng, s, design, study_types) if o.adjust is None else []
    adjust = bool(cont) if o.adjust is None else o.adjust
    eta_sql = _sql_linear(beta, cols)
    outs = ["_d", "y", f"({eta_sql}) AS eta"]
    if adjust:
        fits = (_solve_arms(first.zz, p) if first is not None and first.zz is not None
                else _arm_fits(eng, table, p))
        outs += [f"({_sql_linear(fits[a], cols)}) AS mu{a}" for a in (0, 1)]
    del first
    # eta is computed in SQL, row by row: equal covariates give bit-equal scores (ties)
    got = _per_row(eng, f"SELECT {', '.join(outs)} FROM ({table}) t",
                   ["_d", "y", "eta"] + (["mu0", "mu1"] if adjust else []), n_rows)
    d, y, eta = got.pop("_d"), got.pop("y"), got.pop("eta")
    mu = {a: got.pop(f"mu{a}") for a in (0, 1)} if adjust else None
    if release is not None:
        release()
    prob = special.expit(eta)
    loglik = float(d @ eta - np.logaddexp(0.0, eta).sum())
    dist = prob if o.distance == "ps" else eta
    del eta  # the distance is all that matching needs (memory: one array of n fewer)
    sd_dist = float(dist.std(ddof=1))
    caliper = o.caliper * sd_dist if o.caliper is not None else None
    # the in-memory matcher itself, on the five numbers per row the engine handed over
    fit = matching_effect(y, d, dist, design.estimand, k=o.k, caliper=caliper, replace=True,
                          strata=None, mu=mu)
    scale = DISTANCES[o.distance]
    label = design.estimand.upper()
    t = d == 1
    pt = (float(np.min(prob, where=t, initial=np.inf)), float(np.max(prob, where=t,
                                                                       initial=-np.inf)))
    pc = (float(np.min(prob, where=~t, initial=np.inf)), float(np.max(prob, where=~t,
                                                                        initial=-np.inf)))
    if fit.n_targets == 0 or pt[1] < pc[0] or pc[1] < pt[0]:
        raise DataError(Diagnostic(
            "E413", "no overlap: not one unit has a match"
            + (f" within the caliper of {o.caliper:g} SD of the {scale}" if o.caliper else "")
            + f" (propensity scores of the treated [{fmt(pt[0])}, {fmt(pt[1])}], of the "
            f"controls [{fmt(pc[0])}, {fmt(pc[1])}])", design.span,
            help="widen or drop the caliper, or question whether the comparison can be made"))
    se_text = "Abadie–Imbens (2006), score treated as known"
    se_text += (" (conservative for the ATE, Abadie & Imbens 2016)" if design.estimand == "ate"
                else f" (for the {label} ignoring the score's estimation can err either way, "
                "Abadie & Imbens 2016)")
    se_text += "; normal reference"
    est = Estimate.from_se(fit.effect, float(np.sqrt(fit.variance)), n=fit.n_targets, label=label,
                           se_kind=se_text)
    # the balance pass needs the arm, the distance and the weights only (memory at 10⁷ rows)
    weight = fit.weight_t + fit.weight_c
    fit = dataclasses.replace(fit, weight_t=np.zeros(0), weight_c=np.zeros(0))
    del y, mu
    balance, smds = _balance(eng, table, eta_sql, p, names, scale, d, dist, weight,
                             o.distance, design.estimand)
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
             d: np.ndarray, dist: np.ndarray, weight: np.ndarray, distance: str,
             estimand: str) -> tuple[Table, list[tuple[str, float, float]]]:
    """`matching.balance_table` for the score and the covariates, from weighted moments
    accumulated over one streamed pass (shifted by the first row, as there)."""
    look: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
    cols = ", ".join(["_d", f"({eta_sql}) AS eta"] + [f"c{j}" for j in range(p)])
    total = np.zeros(4)
    s1 = np.zeros((4, p + 1))
    s2 = np.zeros((4, p + 1))
    shift: np.ndarray | None = None
    at = 0
    for z in sufficient.batches(eng, f"SELECT {cols} FROM ({table}) t"):
        dd = z[:, 0]
        e = z[:, 1]
        x = np.column_stack([special.expit(e) if distance == "ps" else e, z[:, 2:]])
        m = len(dd)
        # DuckDB returns the rows of the same query in the same order (preserve_insertion_order):
        # a row's weight is then at its position; checked on every row (arm and score equal),
        # else found by its (arm, score), on which a weight depends with ties = "all"
        w = weight[at:at + m]
        if len(w) != m or not (np.array_equal(dd, d[at:at + m])
                               and np.array_equal(x[:, 0], dist[at:at + m])):
            look = look if look is not None else _lookup(d, dist, weight)
            w = np.empty(m)
            for arm in (0, 1):
                sel = dd == arm
                keys, ws = look[arm]
                pos = np.clip(np.searchsorted(keys, x[sel, 0]), 0, max(len(keys) - 1, 0))
                if len(keys) == 0 or not np.array_equal(keys[pos], x[sel, 0]):
                    raise RuntimeError("internal: a streamed score was not among the matched "
                                       "ones")
                w[sel] = ws[pos]
        at += m
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

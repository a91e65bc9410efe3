"""Data beyond memory: run a planned query in DuckDB (embedded) or Spark, as sufficient statistics.

In: a `Model` whose data `wants_engine` (an engine binding, a glob or hive folder, or a file of
at least `source.SIZE_THRESHOLD` bytes), a query, its `Plan` and `Design` (made by the planner).
Out: `estimate(...)` — a `QueryResult` computed by aggregate queries (nothing loaded whole), or
None when the plan's method is not pushed down (the planner then calls `load_frame`, which loads
the needed columns only, and refuses beyond `MAX_IN_MEMORY_ROWS` rows with E422).

Pushed down: ``ols`` (HC0, HC1, nonrobust, cluster CR1; categorical dummies in SQL), ``did``
on a panel (two-way fixed effects: period dummies and unit means from aggregates, `panel`, or
alternating projections beyond 60 periods; CR1) and ``matching`` on DuckDB with ties = "all"
and replacement (`matching`: score by IRLS, five numbers per row in memory, exact
Abadie–Imbens variance, balance from moments). The naive contrast is computed the same way;
implication tests by partial correlation (`citests.local_tests`), and the planner's data rules
(`planning.EngineData`: adoption, layout, support as GROUP BY aggregates). Not pushed down:
other matching options, stratification, IV, front-door, Callaway–Sant'Anna, event studies,
2×2 cell tables and the cross-checks (skipped with a note on engine data).

Raises `DataError` (E4xx, `columns` and `source`) and `EstimationError` (E5xx, `sufficient`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic, EstimationError
from ..estimators.common import Design
from ..estimators.ols import collinearity_checks, estimand_label
from ..results import Check, Estimate, EstimatorResult, QueryResult, Table
from .source import SIZE_THRESHOLD, VIEW, Engine, open_engine, wants_engine

if TYPE_CHECKING:
    from ..identify import Identification
    from ..model import Model, Query
    from ..results import Plan
    from . import columns

PUSHED = ("ols", "did", "matching")
MAX_IN_MEMORY_ROWS = 5_000_000


def pushed_down(p: Plan) -> bool:
    """Whether the engine runs this plan itself (see the module docstring)."""
    if p.method == "matching":
        from . import matching  # its optimisers load only for a pushed-down matching query

        return p.treatment_kind == "binary" and matching.pushed_options(
            Design(p.treatment, p.outcome, options=dict(p.options)))
    if p.method == "ols":
        return p.option("outcome") is None and str(p.option("se") or "HC1") not in ("HC2", "HC3")
    return p.method == "did" and p.option("group") is None and p.unit is not None


def estimate(study: Model, query: Query, p: Plan, design: Design,
             ident: Identification | None, *, seed: int, spark: Any = None
             ) -> QueryResult | None:
    """Run `p` in the engine (None when it is not pushed down, see `pushed_down`)."""
    if not pushed_down(p):
        return None
    if p.method == "matching" and (design.weights is not None or (
            study.data is not None and study.data.engine == "spark")):
        return None  # matching streams rows into NumPy: DuckDB only
    eng = open_engine(study, spark=spark)
    try:
        return _estimate(eng, study, query, p, design, ident, seed)
    finally:
        eng.close()


def _estimate(eng: Engine, study: Model, query: Query, p: Plan, design: Design,
              ident: Identification | None, seed: int) -> QueryResult:
    from . import columns  # loaded when an engine runs (start-up)

    names = list(dict.fromkeys([p.treatment, p.outcome, *p.adjustment, *p.precision]))
    extra = list(dict.fromkeys(c for c in (p.unit, p.time, design.cluster) if c))
    source = study.data.source if study.data else "<engine>"
    s = columns.sample(eng, study, names, extra, source)
    columns.require(eng, s, p.treatment, max(4, len(p.adjustment) + 3), f"query '{query.name}'")
    if p.method == "matching":
        from . import matching

        types = {v.name: v.type for v in study.observed}
        result = matching.estimate(eng, s, design, types,
                                   release=lambda: _reconnect(eng, study))
    else:
        result = _ols(eng, s, design) if p.method == "ols" else _twfe(eng, s, design)
    naive = _naive(eng, s, p.treatment, p.outcome, p.treatment_kind == "binary")
    checks = [Check("note", f"estimated in {eng.dialect} from sufficient statistics "
                    f"({s.report.rows_used:,} rows, never loaded whole)")]
    if p.cross_check:
        checks.append(Check("note", f"the cross-check by {p.cross_check} is not run on engine "
                            "data (it is not pushed down)"))
    if np.isfinite(naive.effect) and np.isfinite(result.estimate.effect):
        checks.append(Check("note", f"the estimate differs from the naive contrast "
                            f"({naive.effect:.4g}) by "
                            f"{result.estimate.effect - naive.effect:+.4g}"))
    return QueryResult(query=query.name, plan=p, sample=s.report, result=result, naive=naive,
                       seed=seed, checks=tuple(checks), identification=ident)


def _reconnect(eng: Engine, study: Model) -> None:
    """Give DuckDB's memory back before an in-memory step: a scan's buffers stay with the
    connection after the query (about 0.5 GB at 10⁷ rows × 22 columns), and only closing it
    returns them; a new connection (the same view and settings) replaces it in `eng`."""
    if eng.dialect != "duckdb":
        return
    eng.conn.close()
    eng.conn = open_engine(study).conn


def _ols(eng: Engine, s: columns.Sample, design: Design) -> EstimatorResult:
    from . import sufficient  # loaded when an engine runs (start-up)

    se = str(design.option("se", "cluster" if design.cluster else "HC1"))
    se = {k.lower(): k for k in ("HC0", "HC1", "HC2", "HC3", "nonrobust", "cluster")}.get(
        se.lower(), se)
    lead = [(design.treatment, s.expr(design.treatment))]
    xs = [("(intercept)", "1.0"), *lead, *s.design(design.covariates)]
    extra = [f"{s.raw[design.cluster]} AS _g"] if design.cluster else []
    table = sufficient.ols_table(s.complete, s.expr(design.outcome), [x for _, x in xs], extra)
    names = [n for n, _ in xs]
    fit = sufficient.fit_table(eng, table, names, se="cluster" if design.cluster else se,
                               cluster="_g" if design.cluster else None, span=design.span)
    est = fit.estimate(design.treatment, estimand_label(design))
    assert fit.xtx is not None
    checks, figures = collinearity_checks(fit.xtx, names, fit.nobs)
    rows = tuple((nm, float(fit.params[i]), float(fit.se[i])) for i, nm in enumerate(names))
    fitted = f"{design.outcome} ~ {design.treatment}" + (
        f" + {' + '.join(design.covariates)}" if design.covariates else "")
    desc = f"OLS: {fitted} ({fit.nobs} rows, {fit.k} terms; sufficient statistics in {eng.dialect})"
    return EstimatorResult("ols", design.estimand, est, desc, tuple(checks),
                           (Table("Coefficients", ("term", "coef", "SE"), rows),),
                           (("formula", fitted), ("k", fit.k), ("df_resid", fit.df_resid),
                            ("n_clusters", fit.n_clusters), *figures.items()))


def _twfe(eng: Engine, s: columns.Sample, design: Design) -> EstimatorResult:
    from . import panel, sufficient  # loaded when an engine runs (start-up)

    assert design.unit is not None and design.time is not None
    u, t = s.raw[design.unit], s.raw[design.time]
    g = s.raw[design.cluster or design.unit]
    d = s.expr(design.treatment)
    base = f"{VIEW} WHERE {s.complete}"
    xs = [(design.treatment, d), *s.design(design.covariates)]
    table = sufficient.ols_table(s.complete, s.expr(design.outcome), [x for _, x in xs],
                                 [f"{u} AS _u", f"{t} AS _t", f"{g} AS _g"])
    names = [n for n, _ in xs]
    by_unit = design.cluster is None or design.cluster == design.unit
    top = eng.rows(f"SELECT DISTINCT {t} FROM {base} ORDER BY 1 LIMIT {panel.MAX_PERIODS + 1}")
    facts = None
    if len(top) <= panel.MAX_PERIODS:  # exact: period dummies, units swept out by their means
        periods = [r[0] for r in top]
        n_periods = len(periods)
        facts = panel.units(eng, table, len(xs), periods, cluster_is_unit=by_unit)
        dup = facts.duplicates
        switchers, never, switch_off = facts.switchers, facts.never, facts.switch_off
        always, units, short = facts.always, facts.units, facts.short
    else:
        dup, = eng.one(f"SELECT COUNT(*) FROM (SELECT {u}, {t} FROM {base} GROUP BY {u}, {t} "
                       "HAVING COUNT(*) > 1) x")
        n_periods = int(eng.one(f"SELECT COUNT(DISTINCT {t}) FROM {base}")[0])
    if dup:
        raise DataError(Diagnostic(
            "E409", f"the panel has {dup} (unit, period) pair(s) with more than one row "
            f"({design.unit}, {design.time})", design.span,
            help="each unit must appear once per period; aggregate the rows or fix the columns"))
    if facts is None:
        pattern = eng.one(
            f"SELECT SUM(CASE WHEN f0 < l1 THEN 1 ELSE 0 END), SUM(CASE WHEN l1 IS NULL THEN 1 "
            f"ELSE 0 END), SUM(CASE WHEN f1 < l0 THEN 1 ELSE 0 END), SUM(CASE WHEN f1 = ft THEN "
            f"1 ELSE 0 END), COUNT(*), SUM(CASE WHEN nt < {n_periods} THEN 1 ELSE 0 END) FROM "
            f"(SELECT {u}, MIN(CASE WHEN {d} = 0 THEN {t} END) f0, "
            f"MAX(CASE WHEN {d} = 0 THEN {t} END) l0, MIN(CASE WHEN {d} = 1 THEN {t} END) f1, "
            f"MAX(CASE WHEN {d} = 1 THEN {t} END) l1, MIN({t}) ft, COUNT(*) nt FROM {base} "
            f"GROUP BY {u}) x")
        switchers, never, switch_off, always, units, short = (int(v or 0) for v in pattern)
    if switchers == 0:
        raise EstimationError(Diagnostic(
            "E505", f"the treatment '{design.treatment}' never switches on within a unit: "
            f"{always} unit(s) always treated, {never} never treated", design.span,
            help="difference-in-differences needs units observed untreated and then treated"))
    fit, sweeps, converged = None, 0, True
    if facts is not None:
        fit = panel.twfe(eng, table, names, periods, facts, span=design.span,
                         cluster_is_unit=by_unit)
    if fit is None:  # many periods, or clusters not nested in units: alternating projections
        cols = ["y"] + [f"c{j}" for j in range(len(xs))]
        within, sweeps, converged = sufficient.demean(eng, table, cols, "_u", "_t",
                                                      keep=["_g"])
        nested, = eng.one(f"SELECT COUNT(*) FROM (SELECT _u FROM ({within}) w GROUP BY _u "
                          "HAVING COUNT(DISTINCT _g) > 1) x")
        extra_k = (n_periods - 1) + (0 if nested == 0 else units)
        fit = sufficient.fit_table(eng, within, names, se="cluster", cluster="_g",
                                   extra_k=extra_k, span=design.span)
    est = fit.estimate(design.treatment, "ATT")
    cluster_name = design.cluster or design.unit
    ng = fit.n_clusters or 0
    est = Estimate.from_se(est.effect, est.se, n=est.n, label="ATT", df=est.df, se_kind=(
        f"clustered by {cluster_name} (CR1: G/(G−1)·(N−1)/(N−K), G = {ng}, K = {fit.k} counting "
        f"the period effects; Stata reghdfe / pyfixest convention); t({ng - 1})"))
    checks = [Check("note", f"{units} units over {n_periods} periods ("
                    + ("unbalanced" if short else "balanced") + f"); {switchers} switch on, "
                    f"{never} never treated, {always} treated throughout"),
              Check("note", "event study and absorbed-covariate detection are not run in the "
                    "engine: covariates constant within units make the design singular (E510)")]
    if not converged:
        checks.append(Check("warning", f"the within transformation did not converge in {sweeps} "
                            "sweeps"))
    how = (f"alternating projections in {eng.dialect}, {sweeps} sweeps" if sweeps else
           f"period dummies and unit means from aggregates in {eng.dialect}")
    desc = (f"two-way fixed effects: {design.outcome} on {design.treatment} with {design.unit} "
            f"and {design.time} fixed effects; within transformation ({how}), "
            f"{fit.nobs} rows")
    details = (("units", units), ("periods", n_periods), ("switchers", switchers),
               ("never_treated", never), ("always_treated", always),
               ("switch_off", switch_off), ("balanced", not short), ("clusters", ng),
               ("k", fit.k), ("demeaning_sweeps", sweeps))
    return EstimatorResult("did", "att", est, desc, tuple(checks), (), details)


def _naive(eng: Engine, s: columns.Sample, treatment: str, outcome: str, binary: bool
           ) -> Estimate:
    """`estimators.common.naive_contrast` from moments: Welch, or the HC1 slope."""
    from . import sufficient  # loaded when an engine runs (start-up)

    y, d = s.expr(outcome), s.expr(treatment)
    base = f"{VIEW} WHERE {s.complete}"
    if binary:
        rows = {int(r[0]): r[1:] for r in eng.rows(
            f"SELECT {d}, COUNT(*), AVG({y}), VAR_SAMP({y}) FROM {base} GROUP BY {d}")}
        label = "naive difference in means"
        (n1, m1, v1), (n0, m0, v0) = rows.get(1, (0, 0, 0)), rows.get(0, (0, 0, 0))
        if n1 < 2 or n0 < 2:
            return Estimate.from_se(np.nan, np.nan, n=n1 + n0, label=label, se_kind="Welch")
        a, b = v1 / n1, v0 / n0
        se = float(np.sqrt(a + b))
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1)) if se > 0 else None
        return Estimate.from_se(float(m1 - m0), se, n=n1 + n0, label=label,
                                se_kind="Welch (unequal variances)", df=df)
    table = sufficient.ols_table(s.complete, y, ["1.0", d])
    fit = sufficient.fit_table(eng, table, ["(intercept)", treatment], se="HC1")
    e = fit.estimate(treatment, "naive slope")
    return Estimate.from_se(e.effect, e.se, n=fit.nobs, label="naive slope", se_kind="HC1",
                            df=fit.nobs - 2)


def load_frame(study: Model, *, spark: Any = None, names: set[str] | None = None,
               limit: bool = True) -> pd.DataFrame:
    """The declared columns of engine-bound data as a DataFrame, for a method that is not
    pushed down; refused (E422) beyond `MAX_IN_MEMORY_ROWS` rows, since loading them is what
    the engine is there to avoid."""
    eng = open_engine(study, spark=spark)
    try:
        n = eng.n_rows
        if limit and n > MAX_IN_MEMORY_ROWS:
            raise DataError(Diagnostic(
                "E422", f"{n:,} rows: this method is not computed in {eng.dialect}, and loading "
                f"more than {MAX_IN_MEMORY_ROWS:,} rows into memory is refused", None,
                help="use `using ols` or `using did` (pushed down), or bind a sample of the data"))
        have = {c for c, _ in eng.columns()}
        b = study.data
        wanted = [v.data_column for v in study.observed
                  if names is None or v.name in names] + (
            [b.unit, b.time, b.weights] if b is not None else [])
        cols = [c for c in dict.fromkeys(w for w in wanted if w) if c in have]
        sql = f"SELECT {', '.join(eng.q(c) for c in cols)} FROM {VIEW}"
        if eng.dialect == "spark":
            return eng.conn.sql(sql).toPandas()
        return eng.conn.execute(sql).df()
    finally:
        eng.close()


__all__ = ["MAX_IN_MEMORY_ROWS", "PUSHED", "SIZE_THRESHOLD", "estimate", "load_frame",
           "pushed_down", "wants_engine"]

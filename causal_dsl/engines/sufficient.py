"""Estimators as sufficient statistics computed by the engine: OLS (HC0/HC1/nonrobust/CR1), the
two-way fixed-effects regression (within transformation by group means in SQL, CR1), and the
logistic propensity model (IRLS, one aggregate pass per iteration).

In: an `Engine`, a `Sample` (coded SQL columns and the complete-row predicate), the outcome,
the regressors and options. Out: `causal_dsl.estimators.ols.LinearFit` (the same type and the
same formulas as the in-memory fit, so the two agree to rounding: tests/test_pushdown_properties)
or the logit coefficients. Memory: k x k matrices; the engine streams the rows.

OLS. Pass 1: X'X and X'y — DuckDB codes the rows (categorical dummies as CASE
expressions) and streams them as Arrow batches, one BLAS product per batch (`blocks`, `gram`);
Spark sums SUM(xᵢ·xⱼ) in SQL. Solve with the Cholesky factor of the column-scaled X'X, as
`ols.fit_linear`. Pass 2: the meat — Σ e²xx' (HC0/HC1, streamed the same way), or, clustered,
the cluster score sums S_g = Σ_{i∈g} xᵢeᵢ grouped in the engine and streamed. CR1 factor
G/(G−1)·(N−1)/(N−K), as Stata and pyfixest. Not pushed down: HC2/HC3 (they need each row's
leverage: refused with E421) and the QR fallback for ill-conditioned designs (E510 instead).

Within transformation. Alternating projections (Gauss–Seidel, as `did.demean`): each sweep
subtracts unit means then period means (GROUP BY + JOIN, materialised as a temporary table),
until the largest mean removed is below 1e-10 of the column's scale; a balanced panel is exact
after one sweep. Raises `EstimationError` E421, E510, E511, `DataError` E412.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy import linalg, special

from ..errors import DataError, Diagnostic, EstimationError, Span
from ..estimators.ols import LinearFit, rank_problem
from .source import VIEW, Engine

TOL = 1e-10
MAX_SWEEPS = 1000


def _num(v: float) -> str:
    """A coefficient as a SQL literal that reads back exactly (repr round-trips a double)."""
    return f"CAST({float(v)!r} AS DOUBLE)"


def _pairs(p: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(p) for j in range(i, p)]


def _sym(values: Sequence[float], p: int) -> np.ndarray:
    m = np.zeros((p, p))
    for (i, j), v in zip(_pairs(p), values, strict=True):
        m[i, j] = m[j, i] = float(v or 0.0)
    return m


def _rows(inner: str, y: str, xs: Sequence[str], extra: Sequence[str] = ()) -> str:
    cols = [f"{y} AS y"] + [f"{x} AS c{j}" for j, x in enumerate(xs)] + list(extra)
    return f"SELECT {', '.join(cols)} FROM {inner}"


STREAM = True  # DuckDB streams coded rows to BLAS; False: SUM(xᵢ·xⱼ) in SQL (as Spark)
BATCH = 262_144  # rows per Arrow batch streamed from DuckDB: memory is one batch, whatever n


def blocks(eng: Engine, sql: str) -> Iterator[np.ndarray]:
    """The rows of `sql` (numeric columns) as float64 blocks of shape (columns, rows) — one
    column per row of the block, so a column is contiguous and Z Zᵀ is one BLAS call —
    streamed from DuckDB in Arrow batches; one block is in memory at a time. Every column is
    cast to DOUBLE in the engine (a literal such as 1.0 is a DECIMAL there, and NumPy would
    make it an array of Python objects). DuckDB only (Spark aggregates in SQL)."""
    rel = eng.conn.sql(sql)
    names = [d[0] for d in rel.description]
    rel = eng.conn.sql("SELECT " + ", ".join(f"CAST({eng.q(c)} AS DOUBLE)" for c in names)
                       + f" FROM ({sql}) b")
    # DuckDB >= 1.4 names it to_arrow_reader; earlier releases record_batch
    reader = (rel.to_arrow_reader(BATCH) if hasattr(rel, "to_arrow_reader")
              else rel.record_batch(BATCH))
    for rb in reader:
        m = rb.num_rows
        if not m:
            continue
        z = np.empty((len(names), m))
        for j, col in enumerate(rb.columns):
            z[j] = col.to_numpy(zero_copy_only=False)
        yield z


def batches(eng: Engine, sql: str) -> Iterator[np.ndarray]:
    """`blocks` as (rows, columns) views (a row per observation)."""
    for z in blocks(eng, sql):
        yield z.T


def gram(eng: Engine, sql: str, cols: Sequence[str]) -> tuple[np.ndarray, int]:
    """Σ over the rows of `sql` of zz' for z = `cols` (columns of it), and the row count.

    DuckDB computes and codes the rows and streams them; the products are one BLAS call per
    batch (a SQL SUM per product costs a vector operation per pair: at 22 columns the 253 sums
    took 6 s where the streamed pass takes 2–3 s). Spark: one aggregate query of SUM(zᵢ·zⱼ),
    run on the cluster."""
    p = len(cols)
    if eng.dialect == "duckdb" and STREAM:
        out = np.zeros((p, p))
        n = 0
        sel = ", ".join(f"{c} AS z{j}" for j, c in enumerate(cols))
        for z in blocks(eng, f"SELECT {sel} FROM ({sql}) t"):
            out += z @ z.T
            n += z.shape[1]
        return out, n
    aggs = [f"SUM({cols[i]} * {cols[j]})" for i, j in _pairs(p)]
    got = eng.one(f"SELECT COUNT(*), {', '.join(aggs)} FROM ({sql}) t")
    return _sym(got[1:], p), int(got[0])


def cross_products(eng: Engine, table: str, p: int) -> tuple[np.ndarray, np.ndarray, int]:
    """X'X, X'y and n of the table of columns y, c0..c{p-1}: one pass."""
    zz, n = gram(eng, table, [f"c{j}" for j in range(p)] + ["y"])
    return zz[:p, :p], zz[:p, p].copy(), n


def solve(xtx: np.ndarray, xty: np.ndarray, names: Sequence[str], span: Span | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """β and (X'X)⁻¹ from the normal equations, by the Cholesky factor of the column-scaled
    X'X (as `ols.fit_linear`); E510 when rank-deficient or ill-conditioned."""
    p = len(names)
    bad = rank_problem(xtx, names)
    if bad is not None:
        raise EstimationError(Diagnostic(
            "E510", "the regression design is rank-deficient: " + (", ".join(bad) or "some "
            "columns") + " (constant, or linearly dependent)", span,
            help="drop one of them from the adjustment set (`never adjust for {...}`)"))
    d = np.sqrt(np.diag(xtx))
    s = xtx / np.outer(d, d)
    try:
        cf = linalg.cho_factor(s, check_finite=False)
        beta = linalg.cho_solve(cf, xty / d, check_finite=False) / d
        s_inv = linalg.cho_solve(cf, np.eye(p), check_finite=False)
        cond = float(np.linalg.cond(s))
    except linalg.LinAlgError:
        cond = np.inf
    if not np.isfinite(cond) or cond > 1e10:
        raise EstimationError(Diagnostic(
            "E510", f"the regression design is ill-conditioned (condition number {cond:.3g} of "
            "the scaled X'X): the engine path solves the normal equations, which lose precision "
            "here", span, help="rescale or drop nearly collinear covariates"))
    xtx_inv = s_inv / np.outer(d, d)
    return beta, xtx_inv


def fit_table(eng: Engine, table: str, names: Sequence[str], *, se: str = "HC1",
              cluster: str | None = None, extra_k: int = 0, span: Span | None = None
              ) -> LinearFit:
    """Least squares of y on c0..c{p-1} of `table` (a SELECT), with the covariance of `se`
    ("HC0", "HC1", "nonrobust", "cluster" with `cluster` a column of the table)."""
    p = len(names)
    if se in ("HC2", "HC3"):
        raise EstimationError(Diagnostic(
            "E421", f"se = \"{se}\" is not computed in the engine: it needs every row's leverage",
            span, help="use se = \"HC1\" (the default) or \"cluster\" on engine-bound data"))
    xtx, xty, n = cross_products(eng, table, p)
    k = p + extra_k
    if n - k < 1:
        raise DataError(Diagnostic(
            "E412", f"too few rows: {n} complete rows for a regression with {k} parameters",
            span, help="a regression needs more rows than parameters"))
    beta, xtx_inv = solve(xtx, xty, names, span)
    resid = "(y - (" + " + ".join(f"{_num(b)} * c{j}" for j, b in enumerate(beta)) + "))"
    df_resid = n - k
    n_clusters = None
    df_inf: float | None = df_resid
    if se == "nonrobust":
        sse = float(eng.one(f"SELECT SUM({resid} * {resid}) FROM ({table}) t")[0])
        cov = sse / df_resid * xtx_inv
        kind = "classical (homoskedastic) s²(X'X)⁻¹"
    elif se in ("HC0", "HC1"):
        cov = xtx_inv @ _meat(eng, table, p, beta, resid) @ xtx_inv
        if se == "HC1":
            cov *= n / df_resid
        kind = ("HC1 heteroskedasticity-robust (White, n/(n−k) correction; Stata's robust)"
                if se == "HC1" else "HC0 heteroskedasticity-robust (White)")
    elif se == "cluster":
        assert cluster is not None
        scores = ", ".join(f"SUM(e * c{j}) AS s{j}" for j in range(p))
        meat, g = gram(eng, f"SELECT {scores} FROM (SELECT *, {resid} AS e FROM ({table}) t) r "
                       f"GROUP BY {cluster}", [f"s{j}" for j in range(p)])
        if g < 2:
            raise EstimationError(Diagnostic(
                "E511", f"clustered standard errors need at least two clusters; found {g}", span,
                help="cluster on a column with several values, or use se = \"HC1\""))
        cov = g / (g - 1) * (n - 1) / (n - k) * (xtx_inv @ meat @ xtx_inv)
        df_inf, n_clusters = g - 1, g
        kind = (f"cluster-robust CR1 with {g} clusters: small-sample factor "
                f"G/(G−1)·(N−1)/(N−K) with K = {k} (Stata, pyfixest); t({g - 1}) reference")
    else:
        raise ValueError(f"unknown se kind {se!r}")
    return LinearFit(tuple(names), beta, cov, n, k, df_resid, df_inf, kind, n_clusters, xtx)


def _meat(eng: Engine, table: str, p: int, beta: np.ndarray, resid: str) -> np.ndarray:
    """Σ eᵢ²xᵢxᵢ' (HC0/HC1): streamed from DuckDB with the residuals computed in NumPy per
    batch; Spark sums the products in SQL."""
    if eng.dialect == "duckdb" and STREAM:
        out = np.zeros((p, p))
        cols = ", ".join([f"c{j}" for j in range(p)] + ["y"])
        for z in blocks(eng, f"SELECT {cols} FROM ({table}) t"):
            x = z[:p]
            xe = x * (z[p] - beta @ x)
            out += xe @ xe.T
        return out
    aggs = [f"SUM(e * e * c{i} * c{j})" for i, j in _pairs(p)]
    got = eng.one(f"SELECT {', '.join(aggs)} FROM (SELECT *, {resid} AS e FROM ({table}) t) r")
    return _sym(got, p)


def ols_table(sample_rows: str, y: str, xs: Sequence[str], extra: Sequence[str] = ()) -> str:
    """The SELECT of y, c0.. (and raw `extra` columns) over the kept rows of the view."""
    return _rows(f"{VIEW} WHERE {sample_rows}", y, xs, extra)


# --------------------------------------------------------------------------------------------
# the within transformation
# --------------------------------------------------------------------------------------------
def demean(eng: Engine, table: str, cols: Sequence[str], unit: str, time: str,
           keep: Sequence[str] = (), name: str = "causal_within") -> tuple[str, int, bool]:
    """Two-way demeaning of `cols` of `table` by `unit` and `time` (raw columns in it) by
    alternating projections, each step materialised; returns the table name, the sweeps and
    whether it converged. `keep` columns ride along unchanged."""
    carried = list(dict.fromkeys([unit, time, *keep]))
    scale_sql = ", ".join(f"GREATEST(MAX(ABS({c})), 1.0)" for c in cols)
    scale = np.array([float(v) for v in eng.one(f"SELECT {scale_sql} FROM ({table}) t")])
    current = f"SELECT {', '.join(carried + list(cols))} FROM ({table}) t"
    sweep = 0
    for sweep in range(1, MAX_SWEEPS + 1):
        change = 0.0
        for step, g in enumerate((unit, time)):
            means = ", ".join(f"AVG({c}) AS m_{c}" for c in cols)
            sub = ", ".join(f"t.{c} - m.m_{c} AS {c}" for c in cols)
            out = f"{name}_{step}"
            eng.temp_table(out, f"SELECT {', '.join('t.' + c for c in carried)}, {sub} FROM "
                           f"({current}) t JOIN (SELECT {g}, {means} FROM ({current}) s GROUP BY "
                           f"{g}) m ON t.{g} = m.{g}")
            biggest = ", ".join(f"MAX(ABS(m_{c}))" for c in cols)
            got = eng.one(f"SELECT {biggest} FROM (SELECT {means} FROM ({current}) s "
                          f"GROUP BY {g}) m")
            change = max(change, float((np.array([float(v or 0) for v in got]) / scale).max()))
            current = f"SELECT * FROM {out}"
        if change < TOL:
            return current, sweep, True
    return current, sweep, False


# --------------------------------------------------------------------------------------------
# the logistic propensity model
# --------------------------------------------------------------------------------------------
def fit_logit(eng: Engine, table: str, p: int, *, max_iter: int = 100,
              extra: Sequence[str] = (), first: Callable[[np.ndarray], None] | None = None
              ) -> tuple[np.ndarray, int, bool]:
    """Logistic regression of y (0/1) on an intercept and c0..c{p-1} of `table` by Newton's
    method (IRLS): each iteration is one pass for the gradient X'(d − π) and the Hessian
    X'diag(π(1 − π))X. Stops when the largest step on the standardised coefficients is below
    1e-10 (as `estimators.propensity`). Returns the coefficients (intercept first), the
    iterations (full passes) and whether it converged.

    DuckDB: the rows stream to BLAS, and Newton starts from the fit on the first streamed
    batch (iterated in memory): the same maximum, reached in two or three passes instead of
    six or seven, since Newton's error squares at each step. `first`, when given, is called
    with every block of the first full pass (rows 1, c0..c{p-1}, y, then the `extra` columns
    of `table`), so that a caller's statistics that do not depend on the coefficients ride on
    a pass that is made anyway (compute once). Spark: one aggregate query per iteration, from
    the null model (`first` is not supported there)."""
    if eng.dialect == "duckdb" and STREAM:
        return _logit_streamed(eng, table, p, max_iter, extra, first)
    if first is not None:
        raise ValueError("internal: fit_logit's `first` is for the streamed DuckDB path")
    xs = ["1.0"] + [f"c{j}" for j in range(p)]
    q = p + 1
    mom = eng.one("SELECT AVG(y), " + ", ".join(f"STDDEV_POP(c{j})" for j in range(p))
                  + f" FROM ({table}) t") if p else eng.one(f"SELECT AVG(y) FROM ({table}) t")
    pbar = float(np.clip(mom[0], 1e-12, 1 - 1e-12))
    sd = np.array([1.0] + [float(v) if v else 1.0 for v in mom[1:]])
    beta = np.zeros(q)
    beta[0] = np.log(pbar / (1 - pbar))
    for it in range(1, max_iter + 1):
        eta = " + ".join(f"{_num(b)} * {x}" for b, x in zip(beta, xs, strict=True))
        pi = f"(1.0 / (1.0 + EXP(-({eta}))))"
        aggs = [f"SUM(w * {xs[i]} * {xs[j]})" for i, j in _pairs(q)]
        aggs += [f"SUM((y - pr) * {x})" for x in xs]
        got = eng.one(f"SELECT {', '.join(aggs)} FROM (SELECT *, {pi} AS pr, {pi} * (1.0 - {pi})"
                      f" AS w FROM ({table}) t) r")
        npair = len(_pairs(q))
        hess = _sym(got[:npair], q)
        grad = np.array([float(v) for v in got[npair:]])
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if float(np.max(np.abs(step * sd))) < TOL:
            return beta, it, True
    return beta, max_iter, False


def _newton_terms(z: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hessian and gradient of the log-likelihood on one block (rows 1, c0.., y, ...): the
    design is the block's first q rows, a view (no copy of the block)."""
    q = len(beta)
    x = z[:q]
    pr = special.expit(beta @ x)
    xw = x * (pr * (1.0 - pr))
    return xw @ x.T, x @ (z[q] - pr)


def _logit_streamed(eng: Engine, table: str, p: int, max_iter: int, extra: Sequence[str],
                    first: Callable[[np.ndarray], None] | None
                    ) -> tuple[np.ndarray, int, bool]:
    # the intercept streams as a column: a block's first rows are then the design, as a view
    cols = ", ".join(["1.0 AS _one"] + [f"c{j}" for j in range(p)] + ["y", *extra])
    sql = f"SELECT {cols} FROM ({table}) t"
    q = p + 1
    # standardising scales and the start, from the first batch
    head = next(blocks(eng, sql + f" LIMIT {BATCH}"), None)
    if head is None:
        raise np.linalg.LinAlgError("no rows")
    pbar = float(np.clip(head[q].mean(), 1e-12, 1 - 1e-12))
    beta = np.zeros(q)
    beta[0] = np.log(pbar / (1 - pbar))
    with np.errstate(all="ignore"):
        for _ in range(max_iter):  # in memory; a failure here only means a poorer start
            hess, grad = _newton_terms(head, beta)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                beta = np.zeros(q)
                beta[0] = np.log(pbar / (1 - pbar))
                break
            if not np.all(np.isfinite(step)):
                beta = np.zeros(q)
                beta[0] = np.log(pbar / (1 - pbar))
                break
            beta = beta + step
            if float(np.max(np.abs(step))) < 1e-12 * max(1.0, float(np.max(np.abs(beta)))):
                break
    del head
    s1 = np.zeros(q)
    s2 = np.zeros(q)
    n = 0
    for it in range(1, max_iter + 1):
        hess = np.zeros((q, q))
        grad = np.zeros(q)
        for z in blocks(eng, sql):
            if it == 1:  # the population SDs of the covariates, as the in-memory fit
                x = z[:q]
                s1 += x.sum(axis=1)
                s2 += (x * x).sum(axis=1)
                n += z.shape[1]
                if first is not None:
                    first(z)
            h, g = _newton_terms(z, beta)
            hess += h
            grad += g
        if it == 1:
            var = np.maximum(s2 / n - (s1 / n) ** 2, 0.0)
            sd = np.sqrt(var)
            sd[0] = 1.0
            sd = np.where(sd > 0, sd, 1.0)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if float(np.max(np.abs(step * sd))) < TOL:
            return beta, it, True
    return beta, max_iter, False


def expit(v: np.ndarray) -> np.ndarray:
    return special.expit(v)

"""Two-way fixed effects in the engine without iterating: period effects as dummies, unit
effects swept out exactly by the unit means, both from aggregates — no table is written.

In: an `Engine`, the SELECT of y, c0..c{p-1} (c0 the 0/1 treatment, then the covariates) with
raw columns ``_u`` (unit), ``_t`` (period) and ``_g`` (cluster) over the kept rows, the
regressors' names, the periods. Out: `units(...)` — a `Units`: the panel's facts (duplicate
(unit, period) pairs, switchers, never and always treated, switch-offs, balance, whether the
clusters nest the units) and the between-unit cross-products, all from ONE GROUP BY pass;
`twfe(...)` — a `LinearFit` for the regressors (the period dummies' coefficients dropped), CR1
by ``_g``, or None when the clusters are not nested in the units (the caller then runs the
alternating projections of `sufficient.demean`).

Why it is exact. By Frisch–Waugh–Lovell, the coefficient of the two-way regression equals that
of the unit-demeaned regression of y on [X, period dummies] — one-way demeaning is exact on any
panel, balanced or not — and the residuals are the same, so the clustered sandwich of the X
block is the same too. Unit demeaning needs no pass that writes rows:
X̃'X̃ = X'X − Σ_u S_u S_u'/n_u with S_u = Σ_{i∈u} zᵢ (one streamed pass of raw products and one
GROUP BY of per-unit sums). For the meat, with rᵢ = yᵢ − zᵢ'β on the raw columns, the
unit-demeaned residual is rᵢ − r̄_u, and a unit's score is Σ_{i∈u} zᵢrᵢ − S_u·Σ_{i∈u} rᵢ/n_u;
units nested in clusters add up to the cluster scores. Period dummies make the design p + T − 1
wide: used up to `MAX_PERIODS` periods.

Cost (three passes over the rows, none written): the unit GROUP BY; the raw cross-products,
streamed to BLAS with the period dummies as per-period sums (`np.bincount`, never a column of
the stream); the per-unit scores, a GROUP BY again. On Spark the first two are SUM(zᵢ·zⱼ)
aggregates run on the cluster (`sufficient.gram`), so no per-unit or per-row data reach the
driver. Memory: the engine's hash table of units
(spilled to disk beyond its memory limit) and k × k matrices here. Raises what
`sufficient.solve` raises (E510), E511 (one cluster) and E412 (too few rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import Diagnostic, EstimationError, Span
from ..estimators.ols import LinearFit
from . import sufficient
from .source import Engine

MAX_PERIODS = 60


def _lit(v: object) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return sufficient._num(float(v))
    return "'" + str(v).replace("'", "''") + "'"


def _indexed(table: str, periods: Sequence[object]) -> str:
    """`table` with ``_k``, the period's position in `periods` (0 = the reference period)."""
    when = " ".join(f"WHEN {_lit(v)} THEN {j}" for j, v in enumerate(periods))
    return f"SELECT *, (CASE _t {when} END) AS _k FROM ({table}) b"


@dataclass(frozen=True)
class Units:
    """What one GROUP BY over the units gives: the facts the checks read, and Σ_u S_u S_u'/n_u
    over [c0..c{p-1}, period dummies 1..T−1, y]."""

    rows: int
    units: int
    duplicates: int  # (unit, period) pairs with more than one row
    switchers: int  # a 0 before a 1
    never: int
    switch_off: int  # a 1 before a 0
    always: int  # treated from the unit's first period
    short: int  # units observed in fewer than all periods
    nested: bool  # every unit within one cluster
    between: np.ndarray


def units(eng: Engine, table: str, p: int, periods: Sequence[object], *,
          cluster_is_unit: bool) -> Units:
    """The facts and the between matrix (see `Units`); c0 is the 0/1 treatment."""
    t_n = len(periods)
    sums = [f"SUM(c{j}) AS s{j}" for j in range(p)]
    sums += [f"SUM(CASE WHEN _k = {j} THEN 1.0 ELSE 0.0 END) AS n{j}" for j in range(t_n)]
    inner = ", ".join([
        "COUNT(*) AS nu", *sums, "SUM(y) AS sy",
        "MIN(CASE WHEN c0 = 0 THEN _k END) AS f0", "MAX(CASE WHEN c0 = 0 THEN _k END) AS l0",
        "MIN(CASE WHEN c0 = 1 THEN _k END) AS f1", "MAX(CASE WHEN c0 = 1 THEN _k END) AS l1",
        "MIN(_k) AS ft", "TRUE AS one" if cluster_is_unit else "(MIN(_g) = MAX(_g)) AS one"])
    flag = "CASE WHEN {} THEN 1.0 ELSE 0.0 END"
    dup = " + ".join(flag.format(f"n{j} > 1") for j in range(t_n))
    outer = ", ".join([
        "nu", *(f"s{j}" for j in range(p)), *(f"n{j}" for j in range(1, t_n)), "sy",
        f"({dup}) AS dup", flag.format("f0 < l1") + " AS sw", flag.format("l1 IS NULL") + " AS nv",
        flag.format("f1 < l0") + " AS so", flag.format("f1 = ft") + " AS al",
        flag.format(f"nu < {t_n}") + " AS sh", flag.format("one") + " AS nest"])
    q = p + t_n - 1
    grouped = (f"SELECT {outer} FROM (SELECT {inner} FROM ({_indexed(table, periods)}) r "
               "GROUP BY _u) x")
    if eng.dialect == "spark":  # aggregated on the cluster: nothing per unit comes back
        scaled = [f"({c} / SQRT(nu))" for c in
                  [f"s{j}" for j in range(p)] + [f"n{j}" for j in range(1, t_n)] + ["sy"]]
        products = [f"SUM({scaled[i]} * {scaled[j]})" for i, j in sufficient._pairs(q + 1)]
        got = eng.one("SELECT COUNT(*), SUM(nu), SUM(dup), SUM(sw), SUM(nv), SUM(so), SUM(al), "
                      f"SUM(sh), SUM(nest), {', '.join(products)} FROM ({grouped}) g")  # one job
        count, rows, dup_n, sw, nv, so, al, sh, nest = (round(float(v or 0)) for v in got[:9])
        between = sufficient._sym(got[9:], q + 1)
        return Units(rows, count, dup_n, sw, nv, so, al, sh, nest == count, between)
    between = np.zeros((q + 1, q + 1))
    facts = np.zeros(7)
    rows = count = 0
    for z in sufficient.blocks(eng, grouped):
        nu = z[0]
        s = z[1:q + 2] / np.sqrt(nu)
        between += s @ s.T
        facts += z[q + 2:].sum(axis=1)
        rows += int(nu.sum())
        count += z.shape[1]
    dup_n, sw, nv, so, al, sh, nest = (round(float(v)) for v in facts)
    return Units(rows, count, dup_n, sw, nv, so, al, sh, nest == count, between)


def _raw_gram(eng: Engine, table: str, p: int, periods: Sequence[object]) -> np.ndarray:
    """Σ zz' over the rows for z = [c0..c{p-1}, period dummies 1..T−1, y]: the c and y block
    by BLAS on the streamed rows, the dummy blocks as per-period sums and counts."""
    t_n = len(periods)
    q = p + t_n - 1
    if eng.dialect == "spark":  # SUM(zᵢ·zⱼ) on the cluster, the dummies as CASE columns
        dummies = [f"(CASE WHEN _k = {j} THEN 1.0 ELSE 0.0 END)" for j in range(1, t_n)]
        zz, _ = sufficient.gram(eng, f"SELECT * FROM ({_indexed(table, periods)}) r",
                                [*(f"c{j}" for j in range(p)), *dummies, "y"])
        return zz
    out = np.zeros((q + 1, q + 1))
    cols = ", ".join([f"c{j}" for j in range(p)] + ["y", "_k"])
    idx = [*range(p), q]  # where the c's and y go
    for z in sufficient.blocks(eng, f"SELECT {cols} FROM ({_indexed(table, periods)}) r"):
        xy = z[:p + 1]
        k = z[p + 1].astype(np.int64)
        out[np.ix_(idx, idx)] += xy @ xy.T
        if t_n > 1:
            per = np.stack([np.bincount(k, weights=row, minlength=t_n) for row in xy])[:, 1:]
            out[np.ix_(idx, range(p, q))] += per
            out[np.ix_(range(p, q), idx)] += per.T
            cnt = np.bincount(k, minlength=t_n)[1:]
            out[range(p, q), range(p, q)] += cnt
    return out


def twfe(eng: Engine, table: str, names: Sequence[str], periods: Sequence[object],
         facts: Units, span: Span | None = None, *, cluster_is_unit: bool = False
         ) -> LinearFit | None:
    """The fit (see the module docstring); None when clusters are not nested in units."""
    if not facts.nested:
        return None
    p = len(names)
    t_n = len(periods)
    q = p + t_n - 1
    raw = _raw_gram(eng, table, p, periods)
    n = facts.rows
    within = raw - facts.between
    all_names = [*names, *(f"period[{v}]" for v in periods[1:])]
    k = q
    if n - k < 1:
        raise EstimationError(Diagnostic(
            "E412", f"too few rows: {n} complete rows for a regression with {k} parameters",
            span, help="a regression needs more rows than parameters"))
    beta, xtx_inv = sufficient.solve(within[:q, :q], within[:q, q], all_names, span)
    fe = " ".join(f"WHEN {j} THEN {sufficient._num(beta[p + j - 1])}" for j in range(1, t_n))
    resid = ("(y - (" + " + ".join(f"{sufficient._num(b)} * c{j}" for j, b in
                                    enumerate(beta[:p]))
             + (f" + (CASE _k {fe} ELSE 0.0 END)" if t_n > 1 else "") + "))")
    zs = [f"c{j}" for j in range(p)] + [
        f"(CASE WHEN _k = {j} THEN 1.0 ELSE 0.0 END)" for j in range(1, t_n)]
    per_unit = ", ".join(f"SUM({c} * r) - SUM({c}) * SUM(r) / COUNT(*) AS a{j}"
                         for j, c in enumerate(zs))
    scores = f"SELECT ANY_VALUE(_g) AS _g, {per_unit} FROM (SELECT *, {resid} AS r FROM " \
             f"({_indexed(table, periods)}) r0) r1 GROUP BY _u"
    if not cluster_is_unit:
        sums = ", ".join(f"SUM(a{j}) AS a{j}" for j in range(q))
        scores = f"SELECT {sums} FROM ({scores}) a GROUP BY _g"
    meat, g = sufficient.gram(eng, scores, [f"a{j}" for j in range(q)])
    if g < 2:
        raise EstimationError(Diagnostic(
            "E511", f"clustered standard errors need at least two clusters; found {g}", span,
            help="cluster on a column with several values"))
    cov = g / (g - 1) * (n - 1) / (n - k) * (xtx_inv @ meat @ xtx_inv)
    kind = (f"cluster-robust CR1 with {g} clusters: small-sample factor G/(G−1)·(N−1)/(N−K) "
            f"with K = {k} (Stata, pyfixest); t({g - 1}) reference")
    return LinearFit(tuple(names), beta[:p], cov[:p, :p], n, k, n - k, g - 1, kind, g,
                     within[:p, :p])

"""The partial-correlation test of an implication ``x ⊥ y | S`` from moments, in the engine.

In: an `Engine`, a checked `columns.Sample` holding x, y and S (categorical members as dummies),
the names and the confidence level. Out: `PartialCorrelation` — r, Fisher's z statistic, its
two-sided p-value and interval, n and the conditioning columns — the same formulas as
`causal_dsl.checks.citests._partial_correlation` (DAGitty's ``type = "cis"``), or a reason it
is untested (constant given S, no degrees of freedom left). Raises nothing on a checked sample.

Why moments suffice: the residual cross-products of (x, y) on [1, S] are the Schur complement
M_ab − M_aS M_SS⁻¹ M_Sb of the one-pass cross-product matrix M of [1, S, x, y]. The rows are
never loaded; one aggregate query per implication.

`local_tests` is `checks.citests.local_tests` for engine-bound data (the façade calls it when
`wants_engine(model)`; checks/ sits below engines and cannot): every implication tested by
partial correlation (continuous/count with continuous, count or binary) from moments; the
likelihood-ratio tests (binary–binary, categorical, ordinal), which need iterative fits on the
rows, load only the columns of that implication — x, y and S, 8 bytes a cell — and run the
in-memory test on them, when the source has at most `MAX_IN_MEMORY_ROWS` rows; beyond, that
implication is reported untested with the reason (never dropped, never a row limit applied
silently). The result is assembled by `checks.citests.adjusted`, as in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..checks import citests as memory
from . import columns, sufficient
from .columns import Sample
from .source import VIEW, Engine, open_engine

if TYPE_CHECKING:
    from ..checks.citests import LocalTest, LocalTests
    from ..model import Model


@dataclass(frozen=True)
class PartialCorrelation:
    r: float | None
    z: float | None
    p: float | None
    low: float | None
    high: float | None
    n: int
    columns: int  # conditioning columns (S's design, without the intercept)
    note: str = ""  # why untested, when r is None


def partial_correlation(eng: Engine, s: Sample, x: str, y: str, given: Sequence[str],
                        level: float = 0.95) -> PartialCorrelation:
    """r of x and y given S, with Fisher's z (see the module docstring).

    On a checked sample: `columns.sample(eng, model, [x, y, *given], [], source)`."""
    zs = [e for _, e in s.design(given)]
    cols = ["1.0", *zs, s.expr(x), s.expr(y)]
    m, n = sufficient.gram(eng, f"SELECT * FROM {VIEW} WHERE {s.complete}", cols)
    q = len(zs) + 1
    mss, msa, maa = m[:q, :q], m[:q, q:], m[q:, q:]
    d = np.sqrt(np.where(np.diag(mss) > 0, np.diag(mss), 1.0))
    scaled = mss / np.outer(d, d)
    sv = np.linalg.svd(scaled, compute_uv=False)
    rank = int((sv > sv[0] * 1e-10).sum()) if len(sv) else 0
    coef = np.linalg.lstsq(scaled, msa / d[:, None], rcond=1e-10)[0] / d[:, None]
    res = maa - msa.T @ coef
    sxx, syy, sxy = float(res[0, 0]), float(res[1, 1]), float(res[0, 1])
    scale = max(float(maa[0, 0]), float(maa[1, 1]), 1.0)
    k = rank - 1
    if min(sxx, syy) <= 1e-12 * scale:
        which = x if sxx <= syy else y
        return PartialCorrelation(None, None, None, None, None, n, k,
                                  f"{which} is constant given {', '.join(given) or 'nothing'}")
    dof = n - k - 3
    if dof <= 0:
        return PartialCorrelation(None, None, None, None, None, n, k,
                                  f"{n} rows for {k} conditioning columns: no degrees of "
                                  "freedom left")
    r = float(np.clip(sxy / np.sqrt(sxx * syy), -1 + 1e-15, 1 - 1e-15))
    z = float(np.arctanh(r) * np.sqrt(dof))
    p = float(2 * stats.norm.sf(abs(z)))
    half = stats.norm.ppf(0.5 + level / 2) / np.sqrt(dof)
    return PartialCorrelation(r, z, p, float(np.tanh(np.arctanh(r) - half)),
                              float(np.tanh(np.arctanh(r) + half)), n, k)


def implication_test(model: Model, x: str, y: str, given: Sequence[str], level: float = 0.95
                     ) -> PartialCorrelation:
    """The hook for `checks.citests` on engine-bound data (`engines.wants_engine(model)`):
    opens the engine, checks and codes x, y and S in SQL, and tests from moments."""
    eng = open_engine(model)
    try:
        source = model.data.source if model.data is not None else "<engine>"
        s = columns.sample(eng, model, list(dict.fromkeys([x, y, *given])), [], source)
        return partial_correlation(eng, s, x, y, given, level)
    finally:
        eng.close()


def local_tests(model: Model, implications: Iterable[Any], *, alpha: float = 0.05,
                level: float = 0.95, spark: Any = None) -> LocalTests:
    """`checks.citests.local_tests` on engine-bound data (see the module docstring).

    >>> import causal_dsl
    >>> m = causal_dsl.parse('data "e/*.parquet"\\nvar a: continuous\\n')
    >>> local_tests(m, []).verdict[:41]
    'the model implies no testable conditional'
    """
    imps = list(implications)
    if not imps:
        return memory.adjusted([], implications, alpha=alpha, level=level)
    eng = open_engine(model, spark=spark)
    try:
        raw = [_one(eng, model, imp.x, imp.y, tuple(sorted(imp.given)), level) for imp in imps]
    finally:
        eng.close()
    return memory.adjusted(raw, implications, alpha=alpha, level=level)


def _one(eng: Engine, model: Model, x: str, y: str, given: tuple[str, ...], level: float
         ) -> LocalTest:
    from . import MAX_IN_MEMORY_ROWS  # read when called (a test may lower it)

    names = list(dict.fromkeys([x, y, *given]))
    if not memory.is_linear(model, x, y):
        n = eng.n_rows
        if n > MAX_IN_MEMORY_ROWS:
            return memory.untested(
                x, y, given, "likelihood ratio", n, f"a likelihood-ratio test is not computed "
                f"from moments, and loading its {len(names)} columns is refused beyond "
                f"{MAX_IN_MEMORY_ROWS:,} rows ({n:,} here)")
        return memory.check_one(model, _columns(eng, model, names), x, y, given, level)
    source = model.data.source if model.data is not None else "<engine>"
    s = columns.sample(eng, model, names, [], source)
    test = "partial correlation (Fisher z)"
    n = s.report.rows_used
    if n < memory.MIN_ROWS:
        return memory.untested(x, y, given, test, n, f"{n} complete rows (of "
                               f"{s.report.rows_read}), need {memory.MIN_ROWS}")
    pc = partial_correlation(eng, s, x, y, given, level)
    if pc.r is None:
        return memory.untested(x, y, given, test, pc.n, pc.note)
    return memory.LocalTest(x, y, given, test, "r", pc.r, pc.low, pc.high, pc.z, None, pc.p,
                            None, False, pc.n)


def _columns(eng: Engine, model: Model, names: Sequence[str]) -> pd.DataFrame:
    """The raw data columns of `names` (and only those), as the in-memory reader would."""
    have = {c for c, _ in eng.columns()}
    cols = [c for c in dict.fromkeys(model.variable(n).data_column for n in names) if c in have]
    sql = f"SELECT {', '.join(eng.q(c) for c in cols) or '1 AS _none'} FROM {VIEW}"
    if eng.dialect == "spark":
        frame: pd.DataFrame = eng.conn.sql(sql).toPandas()
        return frame
    return eng.conn.execute(sql).df()

"""The partial-correlation test of an implication ``x ⊥ y | S`` from moments, in the engine.

In: an `Engine`, a checked `columns.Sample` holding x, y and S (categorical members as dummies),
the names and the confidence level. Out: `PartialCorrelation` — r, Fisher's z statistic, its
two-sided p-value and interval, n and the conditioning columns — the same formulas as
`causal_dsl.checks.citests._partial_correlation` (DAGitty's ``type = "cis"``), or a reason it
is untested (constant given S, no degrees of freedom left). Raises nothing on a checked sample.

Why moments suffice: the residual cross-products of (x, y) on [1, S] are the Schur complement
M_ab − M_aS M_SS⁻¹ M_Sb of the one-pass cross-product matrix M of [1, S, x, y]. The rows are
never loaded; one aggregate query per implication. (The checks/ module decides when to call it:
`checks.citests.local_tests` on engine-bound data.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from . import columns, sufficient
from .columns import Sample
from .source import VIEW, Engine, open_engine

if TYPE_CHECKING:
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

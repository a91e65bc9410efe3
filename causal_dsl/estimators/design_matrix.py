"""Model formula → design-matrix columns (numpy), for the score and outcome models.

In: a coded estimation frame (`causal_dsl.data.prepare`) and a `terms.Formula`. Out: a float64
matrix and its column names: ``age``, ``age^2``, ``educ:re74``, ``ns(income, 4)[1]`` …
``[4]``, ``C(ward)[b]``, ``race[black]`` (a categorical variable as coded: a dummy per level
but the first, levels not in the sample skipped, as `common.design_matrix`). An interaction's
columns are the row-wise products of its factors' columns (every pair when a factor has several:
dummies, spline bases). Raises `EstimationError` E514 when a spline has fewer distinct values than
it needs.

Splines are R's ``splines::ns(x, df)`` (the reference for "natural spline"; formulaic and patsy's
``cr`` span the same space with a different basis): df − 1 interior knots at the quantiles
j/df of x (R's ``quantile`` type 7, numpy's default), boundary knots at the range of x, the cubic
B-spline basis on those knots with its first column dropped (no intercept), projected by the QR
decomposition of the second derivatives at the boundary knots so that the fit is linear beyond
them — R's own construction, column for column.

Interactions with the treatment (Lin 2013): in a term containing the treatment, the other
factors' columns are centred at their mean over `centre` (every row for the ATE, the treated for
the ATT, the controls for the ATC) before the product, so the treatment's own coefficient is the
average effect over that population.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import Diagnostic, EstimationError, Span
from ..terms import Categorical, Factor, Formula, Power, Spline, Var
from .common import numeric


def natural_spline(x: np.ndarray, df: int) -> tuple[np.ndarray, np.ndarray]:
    """R's ``ns(x, df)``: the n x df basis and the knots (boundary, interior..., boundary).

    >>> b, knots = natural_spline(np.arange(13.0), 3)
    >>> b.shape, knots.tolist()
    ((13, 3), [0.0, 4.0, 8.0, 12.0])
    """
    from scipy.interpolate import BSpline  # here: half a second to import, splines are rare

    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    inner = np.quantile(x, np.linspace(0, 1, df + 1)[1:-1]) if df > 1 else np.zeros(0)
    t = np.concatenate([[lo] * 4, inner, [hi] * 4])
    nb = len(t) - 4
    spline = BSpline(t, np.eye(nb), 3, extrapolate=True)
    basis = spline(np.clip(x, lo, hi))[:, 1:]
    const = spline.derivative(2)(np.array([lo, hi]))[:, 1:]  # 2 x (nb - 1)
    q, _ = np.linalg.qr(const.T, mode="complete")
    basis = basis @ q[:, 2:]
    return basis, np.concatenate([[lo], inner, [hi]])


def _dummies(codes: np.ndarray, levels: Sequence[object], prefix: str) -> tuple[np.ndarray,
                                                                                  list[str]]:
    present = np.unique(codes[codes >= 0])[1:]
    cols = np.empty((len(codes), len(present)))
    for j, code in enumerate(present):
        cols[:, j] = codes == code
    return cols, [f"{prefix}[{levels[int(c)]}]" for c in present]


def factor_columns(
    frame: pd.DataFrame, factor: Factor, span: Span | None = None
) -> tuple[np.ndarray, list[str]]:
    """The columns of one factor (n x m) and their names."""
    s = frame[factor.name]
    label = str(factor)
    if isinstance(factor, Var) and isinstance(s.dtype, pd.CategoricalDtype):
        return _dummies(s.cat.codes.to_numpy(), list(s.cat.categories), label)
    if isinstance(factor, Categorical):
        if isinstance(s.dtype, pd.CategoricalDtype):
            return _dummies(s.cat.codes.to_numpy(), list(s.cat.categories), label)
        values = s.to_numpy(dtype=np.float64)
        levels = np.unique(values)
        codes = np.searchsorted(levels, values)
        shown = [int(v) if float(v).is_integer() else v for v in levels.tolist()]
        return _dummies(codes, shown, label)
    x = numeric(frame, factor.name)
    if isinstance(factor, Power):
        return (x ** factor.degree)[:, None], [label]
    if isinstance(factor, Spline):
        distinct = len(np.unique(x))
        if distinct < factor.df + 2:
            raise EstimationError(Diagnostic(
                "E514", f"{label} needs at least {factor.df + 2} distinct values of "
                f"'{factor.name}' for its knots; the sample has {distinct}",
                factor.span or span,
                help=f"use fewer degrees of freedom, e.g. ns({factor.name}, "
                f"{max(1, distinct - 2)}), or C({factor.name}) for a few values",
            ))
        basis, _ = natural_spline(x, factor.df)
        return basis, [f"{label}[{j + 1}]" for j in range(factor.df)]
    return x[:, None], [label]


def build(
    frame: pd.DataFrame,
    formula: Formula,
    *,
    intercept: bool = False,
    lead: Sequence[tuple[str, np.ndarray]] = (),
    treatment: str | None = None,
    centre: np.ndarray | None = None,
    span: Span | None = None,
) -> tuple[np.ndarray, list[str]]:
    """The design matrix of `formula` (after an intercept and the `lead` columns, as
    `common.design_matrix`); terms with the `treatment` are centred as the module says.
    A term repeating a lead column (the treatment's main effect) is skipped."""
    n = len(frame)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        blocks.append(np.ones((n, 1)))
        names.append("(intercept)")
    for name, values in lead:
        blocks.append(np.asarray(values, dtype=np.float64)[:, None])
        names.append(name)
    cache: dict[Factor, tuple[np.ndarray, list[str]]] = {}
    for term in formula.terms:
        others = [f for f in term.factors if not (isinstance(f, Var) and f.name == treatment)]
        with_treatment = len(others) < len(term.factors)
        if with_treatment and not others:
            continue  # the treatment's main effect is a lead column already
        cols, labels = np.ones((n, 1)), [""]
        for f in others:
            if f not in cache:
                cache[f] = factor_columns(frame, f, span)
            fc, fl = cache[f]
            cols = (cols[:, :, None] * fc[:, None, :]).reshape(n, -1)
            labels = [f"{a}:{b}" if a else b for a in labels for b in fl]
        if with_treatment:
            assert treatment is not None
            rows = centre if centre is not None else np.ones(n, dtype=bool)
            cols = (cols - cols[rows].mean(axis=0)) * numeric(frame, treatment)[:, None]
            labels = [f"{treatment}:{a}" for a in labels]
        blocks.append(cols)
        names += labels
    x = np.hstack(blocks) if blocks else np.empty((n, 0))
    return np.ascontiguousarray(x, dtype=np.float64), names

"""Pieces every estimator shares: the `Design` it is asked to fit, design matrices, the naive
contrast, and group sums.

In: a coded estimation frame (from `causal_dsl.data.prepare`: binary as 0/1 floats, numeric
as floats, categorical/ordinal as pandas ``Categorical``) and a `Design`. Out: numpy arrays
and names. Raises `EstimationError` (E5xx) only for option values that make no sense.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Diagnostic, EstimationError, Span
from ..results import Estimate


@dataclass(frozen=True)
class Design:
    """What to estimate: the effect of `treatment` on `outcome` adjusting for `covariates`.

    `options` are the method's options as written in the query (``using ols(se = "HC3")``).
    `weights` / `weight_kind` are the study's row weights (analytic, frequency or survey:
    `causal_dsl.model.WEIGHT_KINDS`); estimators that cannot use them refuse (E508).
    `cluster`, `unit` and `time` name raw columns of the `extra` frame handed to the
    estimator. `treatment_kind` is the declared type of the treatment (binary, continuous...).
    """

    treatment: str
    outcome: str
    estimand: str = "ate"
    covariates: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    treatment_kind: str = "binary"
    cluster: str | None = None
    unit: str | None = None
    time: str | None = None
    seed: int | None = None
    span: Span | None = None
    # row weights aligned with the frame (`data ... weights(w, kind = ...)`), and their kind
    weights: np.ndarray | None = field(default=None, compare=False, repr=False)
    weight_kind: str | None = None

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


WEIGHT_CONVENTIONS: dict[str, str] = {
    "analytic": "analytic weights (Stata aweight, statsmodels WLS): weighted least squares, "
    "n = rows",
    "frequency": "frequency weights (Stata fweight, statsmodels freq_weights): as if each row "
    "were repeated w times, n = Σw",
    "survey": "survey weights (Stata pweight): weighted least squares with sandwich standard "
    "errors, n = rows",
}


def refuse_weights(design: Design, method: str) -> None:
    """E508 for an estimator that has no weighted form here: never silently unweighted."""
    if design.weights is not None:
        raise option_error(design, f"{method} does not take row weights "
                           f"({design.weight_kind} weights are declared on the data)",
                           "use ols, stratification or did (they honour weights), or drop "
                           "weights(...) from the data line")


def option_error(design: Design, message: str, help: str) -> EstimationError:
    return EstimationError(Diagnostic("E508", message, design.span, help=help))


def design_matrix(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    intercept: bool = False,
    lead: Sequence[tuple[str, np.ndarray]] = (),
) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are, categorical ones as 0/1 dummies for every level but the
    first (the reference level). Levels never seen in the frame get no dummy, because an
    all-zero column would make the design singular for no reason the user can act on.

    `lead` columns (name, values) come first, after the intercept. The matrix is allocated
    once (column-major) and filled column by column: no intermediate blocks (at 10⁶ x 20 each
    copy is 160 MB).
    """
    n = len(frame)
    specs: list[tuple[str, str, Any]] = []  # (name, kind, payload)
    if intercept:
        specs.append(("(intercept)", "ones", None))
    specs += [(name, "array", values) for name, values in lead]
    for c in columns:
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            present = np.unique(codes[codes >= 0])
            levels = list(s.cat.categories)
            specs += [(f"{c}[{levels[code]}]", "dummy", (codes, code)) for code in present[1:]]
        else:
            specs.append((c, "array", s))
    # column-major: each column is written contiguously (a row-major fill strides through
    # memory, 5x slower at 10⁶ rows), and BLAS takes either layout for X'X
    x = np.empty((n, len(specs)), dtype=np.float64, order="F")
    for j, (_, kind, payload) in enumerate(specs):
        if kind == "ones":
            x[:, j] = 1.0
        elif kind == "dummy":
            codes, code = payload
            np.equal(codes, code, out=x[:, j], casting="unsafe")
        else:
            x[:, j] = np.asarray(payload, dtype=np.float64)
    return x, [name for name, _, _ in specs]


def numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64; an ordinal/categorical column as its level position (0, 1, ...)."""
    s = frame[column]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.float64)
    return s.to_numpy(dtype=np.float64)


def group_sums(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of `values` (n x k) within groups given by integer `codes` (G x k).

    One `np.bincount` per column: O(n k), no n x G indicator matrix."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)
    out = np.empty((n_groups, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_groups)
    return out


def naive_contrast(
    y: np.ndarray, d: np.ndarray, *, binary: bool, label: str = "naive difference"
) -> Estimate:
    """The unadjusted contrast on the same rows: a difference in means with Welch's standard
    error (binary treatment), or the slope of the outcome on the treatment with HC1 errors."""
    n = len(y)
    if binary:
        t = d == 1
        y1, y0 = y[t], y[~t]
        n1, n0 = len(y1), len(y0)
        if n1 < 2 or n0 < 2:
            return Estimate.from_se(np.nan, np.nan, n=n, label=label, se_kind="Welch")
        v1, v0 = y1.var(ddof=1) / n1, y0.var(ddof=1) / n0
        se = float(np.sqrt(v1 + v0))
        # Welch–Satterthwaite degrees of freedom
        df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1)) if se > 0 else None
        return Estimate.from_se(
            float(y1.mean() - y0.mean()), se, n=n, label=label,
            se_kind="Welch (unequal variances)", df=df,
        )
    dc = d - d.mean()
    sxx = float(dc @ dc)
    if sxx == 0 or n < 3:
        return Estimate.from_se(np.nan, np.nan, n=n, label=label, se_kind="HC1")
    slope = float(dc @ (y - y.mean()) / sxx)
    e = y - y.mean() - slope * dc
    se = float(np.sqrt((dc**2 @ e**2) / sxx**2 * n / (n - 2)))
    return Estimate.from_se(slope, se, n=n, label=label, se_kind="HC1", df=n - 2)

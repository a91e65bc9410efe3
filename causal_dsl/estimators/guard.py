"""The checks around every estimator: what it is given, and what it gives back.

In: an estimator function ``(frame, design, extra) -> EstimatorResult`` and its name. Out: the
same function, wrapped (`guarded`), so that the registry in `causal_dsl.estimators` hands out
only guarded estimators. Before the estimator runs:

* DataError E411 when the outcome is constant in the rows used: every contrast is exactly zero
  with no sampling variation, so there is nothing to estimate (a p-value would be 0/0);
* DataError E415 when a numeric column has values beyond ±1e100, whose squares overflow;
* EstimationError E516 when the dummies of categorical covariates would make a dense design
  too large (more than `MAX_DUMMIES` columns, or more than `MAX_DESIGN_BYTES` of memory): a
  confounder with 10,000 levels in 20,000 rows would need a 20,000 x 10,000 matrix. Refused
  before anything is allocated, with what to do instead.

After it: EstimationError E515 when the estimate, its standard error or its interval is not a
finite number, or when linear algebra fails on the data (``LinAlgError``) — a result that is
NaN or infinite is never returned as an answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic, EstimationError
from ..results import EstimatorResult
from .common import Design

EstimatorFn = Callable[[pd.DataFrame, Design, "pd.DataFrame | None"], EstimatorResult]

MAX_DUMMIES = 2_000
# An `Estimate.se_kind` starting with this declares that no standard error exists by design.
NO_STANDARD_ERROR = "none:"
MAX_MAGNITUDE = 1e100  # squares and sums of n of them stay far below float64's 1.8e308
MAX_DESIGN_BYTES = 1 << 30  # 1 GiB of float64 for one copy of the design matrix
# Estimators that never build dummy columns (they compare within cells).
WITHOUT_DUMMIES = frozenset({"stratification"})


def guarded(name: str, estimator: EstimatorFn) -> EstimatorFn:
    """`estimator` with the checks of this module around it (same signature and docstring)."""

    @functools.wraps(estimator)
    def run(frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
            ) -> EstimatorResult:
        require_varying_outcome(frame, design)
        require_representable(frame, design)
        if name not in WITHOUT_DUMMIES:
            require_small_design(frame, design, name)
        try:
            result = estimator(frame, design, extra)
        except (np.linalg.LinAlgError, FloatingPointError) as error:
            raise EstimationError(Diagnostic(
                "E515", f"{name} failed numerically for the effect of '{design.treatment}' on "
                f"'{design.outcome}': {error}", design.span,
                help="look for columns with extreme or nearly identical values; rescale them, "
                "or try another method with `using ...`")) from None
        return require_finite(result, design, name)

    return run


def require_varying_outcome(frame: pd.DataFrame, design: Design) -> None:
    """E411 when the outcome takes one value in the estimation rows.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"d": [0.0, 1.0, 0.0, 1.0], "y": [5.0, 5.0, 5.0, 5.0]})
    >>> require_varying_outcome(f, Design("d", "y"))
    Traceback (most recent call last):
    ...
    causal_dsl.errors.DataError: error[E411]: outcome 'y' is constant (5) in the 4 rows used: ...
    """
    if design.outcome not in frame.columns:
        return
    y = frame[design.outcome]
    values = y.cat.codes.to_numpy() if isinstance(y.dtype, pd.CategoricalDtype) else \
        y.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if len(values) and np.all(values == values[0]):
        shown = y.dropna().iloc[0]
        shown = f"{shown:g}" if isinstance(shown, float) else str(shown)
        raise DataError(Diagnostic(
            "E411",
            f"outcome '{design.outcome}' is constant ({shown}) in the {len(y)} rows used: "
            "every contrast is exactly zero, with no variation to estimate it from",
            design.span,
            help="check the column (and whether missing values removed every other value); "
            "a constant outcome cannot be affected by the treatment in this sample",
        ))


def require_representable(frame: pd.DataFrame, design: Design) -> None:
    """E415 when a numeric column has values so large (beyond ±`MAX_MAGNITUDE`) that their
    squares and cross-products, which every estimator forms, overflow to infinity."""
    for c in dict.fromkeys((design.treatment, design.outcome, *design.covariates)):
        if c not in frame.columns or isinstance(frame[c].dtype, pd.CategoricalDtype):
            continue
        raw = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        # two reductions (missing values ignored) first: no n-long temporaries when all is well
        if len(raw) == 0 or (float(np.fmax.reduce(raw)) <= MAX_MAGNITUDE
                             and float(np.fmin.reduce(raw)) >= -MAX_MAGNITUDE):
            continue
        v = np.abs(raw)
        big = v > MAX_MAGNITUDE
        if big.any():
            raise DataError(Diagnostic(
                "E415", f"column '{c}' has {int(big.sum())} value(s) beyond ±{MAX_MAGNITUDE:g} "
                f"(up to {np.nanmax(v):g}): their squares overflow to infinity, so no estimate "
                "computed from them would be finite", design.span,
                help="rescale the column (e.g. to thousands or millions of the unit)"))


def dummy_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, int]:
    """Per categorical column of `columns`, the dummies a design matrix makes (levels seen
    minus the reference; see `common.design_matrix`)."""
    out: dict[str, int] = {}
    for c in columns:
        if c in frame.columns and isinstance(frame[c].dtype, pd.CategoricalDtype):
            codes = frame[c].cat.codes.to_numpy()
            out[c] = max(int(np.unique(codes[codes >= 0]).size) - 1, 0)
    return out


def require_small_design(frame: pd.DataFrame, design: Design, name: str) -> None:
    """E516 when categorical covariates need more than `MAX_DUMMIES` dummies or the dense
    design would pass `MAX_DESIGN_BYTES`; counted from the codes, nothing allocated."""
    extra = tuple(str(v) for v in (design.option("instrument") or ()) if isinstance(v, str))
    dummies = dummy_columns(frame, tuple(design.covariates) + extra)
    total = sum(dummies.values())
    if not total:
        return
    n, width = len(frame), total + len(design.covariates) + 2
    size = n * width * 8
    if total <= MAX_DUMMIES and size <= MAX_DESIGN_BYTES:
        return
    worst = max(dummies, key=lambda c: dummies[c])
    raise EstimationError(Diagnostic(
        "E516",
        f"the {name} design is too large: categorical '{worst}' has {dummies[worst] + 1:,} "
        f"levels in {n:,} rows, so the model needs {total:,} dummy columns (a {n:,} x "
        f"{width:,} matrix, {size / 2**20:,.0f} MiB)",
        design.span,
        help="group the levels into fewer categories (a coarser column with `as \"...\"`), "
        "or compare within levels with `using stratification` (no dummy columns); the limit is "
        f"{MAX_DUMMIES:,} dummies and {MAX_DESIGN_BYTES // 2**20:,} MiB",
    ))


def require_finite(result: EstimatorResult, design: Design, name: str) -> EstimatorResult:
    """E515 unless the estimate, its standard error and its interval are finite numbers."""
    e = result.estimate
    checked = [("estimate", e.effect), ("standard error", e.se), ("interval", e.ci_low),
               ("interval", e.ci_high)]
    if np.isnan(e.se) and e.se_kind.startswith(NO_STANDARD_ERROR):
        # a point estimate that has no standard error by construction (a table of cell means),
        # said so in its own words: the estimate itself must still be finite
        checked = checked[:1]
    bad = [label for label, value in checked if not np.isfinite(value)]
    if not bad:
        return result
    what = ", ".join(dict.fromkeys(bad))
    raise EstimationError(Diagnostic(
        "E515",
        f"{name} produced a non-finite {what} for the effect of '{design.treatment}' on "
        f"'{design.outcome}' (estimate {e.effect}, standard error {e.se})",
        design.span,
        help="this usually means too little variation left in some part of the design (a "
        "cell, an arm, a cluster); look at the design's diagnostics, or try another method "
        "with `using ...`",
    ))


__all__ = ["MAX_DESIGN_BYTES", "MAX_DUMMIES", "guarded", "require_finite",
           "require_small_design", "require_varying_outcome"]

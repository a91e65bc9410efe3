"""Difference-in-differences from a published table of group × period cell means.

In: a coded frame whose rows are cell means (or means of sub-cells) of the outcome, with binary
``group`` and ``period`` options naming the treated group and the later period, and optionally
``weight`` (how many units each row averages) and ``sd`` (the standard deviation of the outcome
within each row). Out: an `EstimatorResult` with the exact DiD of the (weighted) cell means,
(ȳ₁₁ − ȳ₁₀) − (ȳ₀₁ − ȳ₀₀).

A table is read this way when ``weight`` or ``sd`` is given, or when every group × period cell
has exactly one row (four rows: a regression on them would have no degrees of freedom).

Standard error. Cell means alone carry no information about sampling variance, so without ``sd``
none is computed (it is reported as missing, with a warning saying what would give one). With
``sd`` and ``weight`` the within-cell variance is pooled from the rows,
s²_c = [Σ (nᵣ − 1) sᵣ² + Σ nᵣ (ȳᵣ − ȳ_c)²] / (N_c − 1), and SE = √(Σ_c s²_c / N_c): exactly the
HC2 standard error of the saturated regression Y ~ group·period on the individual rows (each
cell's own variance; statsmodels gives the same number), with reference distribution t(N − 4).
Cells are treated as independent samples (repeated cross-sections); on a panel the same units
sit in both periods and this ignores their correlation (said in a note).

Raises `EstimationError` E508 (``sd`` without ``weight``, non-positive weights, covariates that
cell means cannot adjust for) and `DataError` E412 (an empty cell, or fewer than two units in a
cell when an SE is wanted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic
from ..results import Check, Estimate, EstimatorResult, Table
from .common import Design, numeric, option_error


def is_cell_table(design: Design, group: np.ndarray, period: np.ndarray) -> bool:
    """Is the 2×2 data a table of cell means (see the module docstring)?"""
    if design.option("weight") is not None or design.option("sd") is not None:
        return True
    cells = (2 * group + period).astype(np.int64)
    counts = np.bincount(cells, minlength=4)
    return bool((counts == 1).all())


def _cell_stats(
    y: np.ndarray, w: np.ndarray, s: np.ndarray | None, cells: np.ndarray, size: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(weighted mean, total weight, variance of the mean or None) for each cell."""
    total = np.bincount(cells, weights=w, minlength=size)
    mean = np.bincount(cells, weights=w * y, minlength=size) / np.where(total > 0, total, 1)
    if s is None:
        return mean, total, None
    between = np.bincount(cells, weights=w * (y - mean[cells]) ** 2, minlength=size)
    within = np.bincount(cells, weights=(w - 1) * s**2, minlength=size)
    big = total > 1  # a variance needs two units; callers refuse cells with fewer
    var = np.full(size, np.nan)
    var[big] = (within[big] + between[big]) / (total[big] - 1) / total[big]
    return mean, total, var


def cell_estimate(
    frame: pd.DataFrame, design: Design, y: np.ndarray, d: np.ndarray, group: np.ndarray,
    period: np.ndarray,
) -> EstimatorResult:
    """The exact DiD of cell means (see the module docstring)."""
    gname, pname = str(design.option("group")), str(design.option("period"))
    wname, sname = design.option("weight"), design.option("sd")
    extra_covs = [c for c in design.covariates if c not in (gname, pname, design.treatment)]
    if extra_covs:
        raise option_error(design, "a table of cell means cannot adjust for "
                           f"{', '.join(extra_covs)}: the cells carry no variation in "
                           "covariates within them",
                           "remove them from the query (`adjusting` / `adjust for`), or use the "
                           "individual rows instead of the table")
    if sname is not None and wname is None:
        raise option_error(design, "cell standard deviations need the cell counts too",
                           f"add weight = <column of counts>: did(..., sd = {sname}, weight = n)")
    w = numeric(frame, str(wname)) if wname is not None else np.ones(len(y))
    if not (np.isfinite(w).all() and (w > 0).all()):
        raise option_error(design, f"the weights in '{wname}' must be positive counts",
                           "weight names the number of units each row averages")
    s = numeric(frame, str(sname)) if sname is not None else None
    if s is not None and not (np.isfinite(s).all() and (s >= 0).all()):
        raise option_error(design, f"the standard deviations in '{sname}' must be non-negative",
                           "sd names the within-row standard deviation of the outcome")
    cells = (2 * group + period).astype(np.int64)
    mean, total, var = _cell_stats(y, w, s, cells)
    names = {0: "comparison, before", 1: "comparison, after", 2: "treated, before",
             3: "treated, after"}
    empty = [names[c] for c in range(4) if total[c] == 0]
    if empty:
        raise DataError(Diagnostic("E412", "a 2×2 table needs all four group × period cells; "
                                   "empty: " + ", ".join(empty), design.span,
                                   help=f"check the {gname} and {pname} columns"))
    mismatch = int((d != group * period).sum())
    if mismatch:
        raise DataError(Diagnostic(
            "E414", f"in a 2×2 table the treatment '{design.treatment}' must be 1 exactly in "
            f"the treated group after the change ({gname} × {pname}); {mismatch} row(s) differ",
            design.span, help="check the group and period columns"))
    effect = float((mean[3] - mean[2]) - (mean[1] - mean[0]))
    n = round(float(total.sum())) if wname is not None else len(y)
    checks: list[Check] = []
    if var is None:
        se, df = float("nan"), None
        se_kind = "none: cell means alone carry no sampling variance"
        checks.append(Check("warning", "no standard error: a table of cell means says nothing "
                            "about the spread within the cells; give the cell standard "
                            "deviations and counts (did(..., sd = s, weight = n)) to get one"))
    else:
        small = [names[c] for c in range(4) if total[c] < 2]
        if small:
            raise DataError(Diagnostic("E412", "a standard error needs at least two units in "
                                       "every cell; fewer in: " + ", ".join(small), design.span,
                                       help="check the weight column"))
        se, df = float(np.sqrt(var.sum())), float(total.sum() - 4)
        se_kind = ("from cell SDs and counts: √(Σ s²_c/N_c), the HC2 standard error of the "
                   "saturated regression on the individual rows; cells treated as independent "
                   f"samples; t({int(df)})")
        checks.append(Check("note", "the cells are taken as independent samples (repeated "
                            "cross-sections); on a panel the same units are in both periods "
                            "and their correlation is ignored"))
    est = Estimate.from_se(effect, se, n=n, label="ATT", se_kind=se_kind, df=df)
    table = Table(
        "Group × period means (2×2)" + (f", weighted by {wname}" if wname else ""),
        ("group", "before", "after", "change"),
        (
            ("treated group", mean[2], mean[3], mean[3] - mean[2]),
            ("comparison group", mean[0], mean[1], mean[1] - mean[0]),
            ("difference-in-differences", "", "", effect),
        ),
    )
    tables = [table]
    if wname is not None:
        tables.append(Table(f"Units per cell ({wname})", ("group", "before", "after"),
                            (("treated group", total[2], total[3]),
                             ("comparison group", total[0], total[1]))))
    if design.estimand != "att":
        checks.append(Check("note", f"difference-in-differences identifies the effect on the "
                            f"treated group (ATT), not the {design.estimand.upper()}"))
    desc = (f"2×2 difference-in-differences of {'weighted ' if wname else ''}cell means: "
            f"{design.outcome} by {gname} × {pname}, {len(y)} table rows")
    details: tuple[tuple[str, object], ...] = (
        ("did_of_means", effect), ("cells", tuple(float(m) for m in mean)),
        ("cell_units", tuple(float(t) for t in total)), ("table_rows", len(y)))
    return EstimatorResult("did", "att", est, desc, tuple(checks), tuple(tables), details)


def naive_from_cells(
    frame: pd.DataFrame, design: Design, y: np.ndarray, d: np.ndarray
) -> Estimate:
    """The unadjusted contrast a table implies: the treated cell's mean against the weighted
    mean of the other three (Welch SE when SDs and counts are given, else none)."""
    wname, sname = design.option("weight"), design.option("sd")
    w = numeric(frame, str(wname)) if wname is not None else np.ones(len(y))
    arm = (d == 1).astype(np.int64)
    s = numeric(frame, str(sname)) if sname is not None and wname is not None else None
    stats = _cell_stats(y, w, s, arm, size=2)
    mean, total, var = stats
    effect = float(mean[1] - mean[0])
    n = round(float(total.sum())) if wname is not None else len(y)
    if var is None or (total[:2] < 2).any():
        return Estimate.from_se(effect, float("nan"), n=n, label="naive difference in means",
                                se_kind="none: cell means alone carry no sampling variance")
    return Estimate.from_se(effect, float(np.sqrt(var[0] + var[1])), n=n,
                            label="naive difference in means",
                            se_kind="Welch, from cell SDs and counts")

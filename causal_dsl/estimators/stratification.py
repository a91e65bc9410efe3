"""Exact stratification (subclassification) on discrete covariates: ATE, ATT or ATC.

In: a coded estimation frame with a binary (0/1) treatment and a `Design` whose covariates are
all discrete (binary, categorical, ordinal, or numbers with at most `MAX_LEVELS` distinct values).
Out: an `EstimatorResult` with the estimate, a table of the cells (sizes, arm means, difference,
weight) and checks naming the cells that lack an arm. Raises `EstimationError` E508 when a
covariate is continuous or there is nothing to stratify on, and `DataError` E413 when no cell
has both arms for the estimand.

Method (the textbook estimator, e.g. Imbens & Rubin 2015, ch. 9 and 17; Cunningham's *Mixtape*,
ch. 5): one cell per combination of covariate values; within cell c the difference of means
τ_c = ȳ₁c − ȳ₀c; the estimate is Σ_c w_c τ_c with w_c proportional to the number of units of the
target population in the cell — all units (ATE), the treated (ATT), the controls (ATC). A cell
without treated (controls) cannot give τ_c: it is excluded from the estimands that put weight on
it — a cell of controls only breaks the ATE and ATC, not the ATT — and the estimate is then of
the units in the remaining cells, which the output says with the number of units and the cells.

Standard error: conditional on the cell sizes, V = Σ_c w_c² (s²₁c/n₁c + s²₀c/n₀c) with the
within-cell sample variances (ddof 1); for an arm with a single unit in a cell the arm's pooled
within-cell variance is used instead (said in the output). Normal reference.

`stratification_support` is what the planner asks before preferring this estimator under
``auto``: whether every adjustment variable is discrete and every cell has both arms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, Diagnostic
from ..model import VarType
from ..results import Check, Estimate, EstimatorResult, Table
from .common import Design, numeric, option_error

MAX_LEVELS = 50  # a numeric covariate with more distinct values than this is not "discrete"
MAX_CELLS_SHOWN = 30  # rows of the cell table, and cells named in a message
DISCRETE = (VarType.BINARY, VarType.CATEGORICAL, VarType.ORDINAL)


@dataclass(frozen=True)
class Support:
    """Whether exact stratification can answer every estimand on this data.

    >>> Support(True, 4, 0, "4 cells, each with treated and controls").complete
    True
    """

    complete: bool  # every cell has both arms
    n_cells: int
    n_incomplete: int
    reason: str

    @classmethod
    def of_cells(cls, cells: int, incomplete: int, covariates: Sequence[str]) -> Support:
        """The verdict and its sentence from the cell counts (in memory or in an engine)."""
        names = ", ".join(covariates)
        if incomplete:
            reason = (f"{incomplete} of {cells} cells of {{{names}}} lack treated or controls: "
                      "exact stratification would exclude them")
        else:
            reason = (f"every adjustment variable is discrete and each of the {cells} cells of "
                      f"{{{names}}} has treated and controls")
        return cls(incomplete == 0, cells, incomplete, reason)


def cells(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Integer cell codes (one per row) and a label per cell (``"ward=a, sex=f"``)."""
    if not covariates:
        return np.zeros(len(frame), dtype=np.int64), ["(all)"]
    sub = frame[list(covariates)]
    codes, uniques = pd.MultiIndex.from_frame(sub.astype(object)).factorize()
    labels = [", ".join(f"{c}={_val(v)}" for c, v in zip(covariates, u, strict=True))
              for u in uniques]
    return np.asarray(codes, dtype=np.int64), labels


def _val(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def stratification_support(
    frame: pd.DataFrame, treatment: str, covariates: Sequence[str],
    kinds: Mapping[str, VarType],
) -> Support | None:
    """None when exact stratification does not apply (no covariates, or one is continuous or a
    count); otherwise whether every cell of the covariates has treated and controls.

    `frame` holds the rows that will be used (the planner's prepared frame), the treatment coded
    0/1. The planner prefers stratification under ``auto`` when the answer is complete.

    >>> f = pd.DataFrame({"d": [0, 1, 0, 1, 0], "g": ["a", "a", "b", "b", "b"]})
    >>> s = stratification_support(f, "d", ["g"], {"g": VarType.CATEGORICAL})
    >>> s.complete, s.n_cells
    (True, 2)
    """
    if not covariates or any(kinds.get(c) not in DISCRETE for c in covariates):
        return None
    codes, labels = cells(frame, covariates)
    d = frame[treatment].to_numpy(dtype=np.float64)
    g = len(labels)
    n1 = np.bincount(codes, weights=d, minlength=g)
    n0 = np.bincount(codes, minlength=g) - n1
    return Support.of_cells(g, int(((n1 == 0) | (n0 == 0)).sum()), covariates)


def _check_discrete(frame: pd.DataFrame, design: Design) -> None:
    if not design.covariates:
        raise option_error(design, "stratification needs at least one covariate to stratify on",
                           "with nothing to adjust for the difference in means is unbiased: "
                           "use ols")
    for c in design.covariates:
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        levels = s.nunique()
        if levels > MAX_LEVELS:
            raise option_error(
                design, f"stratification needs discrete covariates; '{c}' has {levels} distinct "
                "values", "use matching (nearest neighbours on the propensity score), or "
                f"coarsen '{c}' into a few categories")


def estimate(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """Exact-stratification estimate of the ATE/ATT/ATC with its cell table."""
    _check_discrete(frame, design)
    est_name = design.estimand
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    codes, labels = cells(frame, design.covariates)
    g = len(labels)
    wt = design.weights if design.weights is not None else np.ones(len(y))
    frequency = design.weights is None or design.weight_kind == "frequency"
    # rows per cell and arm (which cells compare), and their weight (what the cells weigh)
    r1 = np.bincount(codes, weights=d, minlength=g)
    r0 = np.bincount(codes, minlength=g) - r1
    n1 = np.bincount(codes, weights=wt * d, minlength=g)
    n0 = np.bincount(codes, weights=wt, minlength=g) - n1
    s1 = np.bincount(codes, weights=wt * d * y, minlength=g)
    s0 = np.bincount(codes, weights=wt * (1 - d) * y, minlength=g)
    m1 = np.divide(s1, n1, out=np.full(g, np.nan), where=r1 > 0)
    m0 = np.divide(s0, n0, out=np.full(g, np.nan), where=r0 > 0)
    # the variance of each weighted arm mean: s²/n on the data as if rows were repeated w
    # times (frequency weights, and no weights), else the linearised (sandwich) variance
    # Σw²r²/(Σw)²·n/(n−1) of a weighted mean (Stata's mean with aweight/pweight and vce robust)
    r = y - np.where(d == 1, m1[codes], m0[codes])
    power = 1.0 if frequency else 2.0
    ss1 = np.bincount(codes, weights=wt**power * d * r**2, minlength=g)
    ss0 = np.bincount(codes, weights=wt**power * (1 - d) * r**2, minlength=g)
    dof1 = (n1 if frequency else r1) - 1
    dof0 = (n0 if frequency else r0) - 1
    pooled1 = float(ss1.sum() / max(dof1[r1 > 0].sum(), 1))
    pooled0 = float(ss0.sum() / max(dof0[r0 > 0].sum(), 1))
    single = bool(((r1 == 1) | (r0 == 1)).any())
    if frequency:
        v1 = np.where(r1 > 1, ss1 / np.maximum(dof1, 1), pooled1) / np.maximum(n1, 1e-300)
        v0 = np.where(r0 > 1, ss0 / np.maximum(dof0, 1), pooled0) / np.maximum(n0, 1e-300)
    else:
        v1 = np.where(r1 > 1, ss1 * r1 / np.maximum(dof1, 1), pooled1 * r1) / np.maximum(
            n1, 1e-300) ** 2
        v0 = np.where(r0 > 1, ss0 * r0 / np.maximum(dof0, 1), pooled0 * r0) / np.maximum(
            n0, 1e-300) ** 2
    n1, n0 = np.where(r1 > 0, n1, 0.0), np.where(r0 > 0, n0, 0.0)
    both = (n1 > 0) & (n0 > 0)
    size = {"ate": n1 + n0, "att": n1, "atc": n0}[est_name]
    broken = (size > 0) & ~both  # cells the estimand weighs but cannot compare
    used = both & (size > 0)
    if not used.any():
        raise DataError(Diagnostic(
            "E413", f"no overlap: no cell of {{{', '.join(design.covariates)}}} holds both "
            f"treated and controls for the {est_name.upper()}", design.span,
            help="the arms never share a combination of the covariates; coarsen them or use "
            "matching"))
    w = np.where(used, size, 0.0) / size[used].sum()
    tau_c = m1 - m0
    effect = float(np.nansum(w * tau_c))
    var = float(np.nansum(w**2 * np.where(used, v1 + v0, 0.0)))
    n_used = int((r1 + r0)[used].sum())
    if design.weights is not None:
        checks_w = [Check("note", f"{design.weight_kind} weights: weighted cell means, cells "
                          "weighed by their total weight" + ("" if frequency else
                          "; arm-mean variances linearised, Σw²r²/(Σw)²·n/(n−1)"))]
    else:
        checks_w = []
    se_text = ("within-cell variances, cell sizes fixed: V = Σ w²(s²₁/n₁ + s²₀/n₀); normal "
               "reference" + ("; arms with one unit in a cell use that arm's pooled within-cell "
                              "variance" if single else ""))
    est = Estimate.from_se(effect, float(np.sqrt(var)), n=n_used, label=est_name.upper(),
                           se_kind=se_text)
    checks: list[Check] = checks_w
    population = {"ate": "all units", "att": "the treated", "atc": "the controls"}[est_name]
    if broken.any():
        lost = int(size[broken].sum())
        named = [labels[i] for i in np.flatnonzero(broken)][:MAX_CELLS_SHOWN]
        lacking = {"ate": "treated or controls", "att": "controls", "atc": "treated"}[est_name]
        checks.append(Check(
            "warning",
            f"{int(broken.sum())} of {g} cell(s) lack {lacking} and are excluded from the "
            f"{est_name.upper()} ({lost} of {int(size.sum())} of {population}): "
            + "; ".join(named) + ("; ..." if broken.sum() > len(named) else "")
            + f" — the estimate is the {est_name.upper()} of the {n_used} units in the other "
            "cells",
        ))
        if est_name == "ate":
            for other, sz, arm in (("att", n1, "the treated"), ("atc", n0, "the controls")):
                if not ((sz > 0) & ~both).any():
                    checks.append(Check("note", f"every cell holding {arm} also holds the other "
                                        f"arm: the {other.upper()} (`{other}(...)`) is "
                                        f"supported on all of {arm}"))
    else:
        checks.append(Check("ok", f"each of the {int(used.sum())} cell(s) weighed by the "
                            f"{est_name.upper()} has treated and controls"))
    if single:
        checks.append(Check("note", "some cells have a single unit in one arm: its variance is "
                            "the arm's pooled within-cell variance"))
    order = np.argsort(-size, kind="stable")[:MAX_CELLS_SHOWN]
    rows = tuple((labels[i], int(r1[i]), int(r0[i]), float(m1[i]), float(m0[i]),
                  float(tau_c[i]), float(w[i])) for i in order)
    title = (f"Cells (weights: share of {population} in cells with both arms"
             + (f"; {len(order)} largest of {g}" if g > len(order) else "") + ")")
    table = Table(title, ("cell", "n treated", "n control", "mean T", "mean C", "difference",
                          "weight"), rows)
    desc = (f"exact stratification on {{{', '.join(design.covariates)}}} ({g} cells): "
            f"within-cell differences in means weighted by the cell shares of {population} "
            f"({est_name.upper()})")
    details = (("n_cells", g), ("n_cells_used", int(used.sum())),
               ("n_cells_excluded", int(broken.sum())), ("n_used", n_used),
               ("n_treated", int(n1.sum())), ("n_control", int(n0.sum())))
    return EstimatorResult("stratification", est_name, est, desc, tuple(checks), (table,),
                           details)

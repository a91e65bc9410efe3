"""Sensitivity of an estimate already fitted: E-value, robustness value, Rosenbaum bounds.

In: one estimator's answer (`EstimatorResult`) with the `Plan` it came from, the study's
`Model` (for the variables' types) and the estimation sample's outcome and treatment (the
arrays the planner already holds). Nothing is re-estimated: the numbers come from the fitted
estimate, its interval and its own figures. Out: `FittedRobustness` (frozen, ``to_dict()``,
``lines()`` — one sentence per figure for ``causal run``'s details). Raises nothing: a figure
that cannot be computed from what the estimator gives is left out with the reason in `notes`.

Which figure when (only for estimates identified by adjustment: OLS, matching, exact
stratification — a DiD, IV or front-door estimate rests on other assumptions than "no
unmeasured confounder given the set", so there is no such confounder to size):

* **E-value** (VanderWeele & Ding 2017) of the estimate and of the 95% limit nearer the null,
  for every adjustment estimator. Continuous or count outcome: ``evalues.OLS``'s conversion
  d = estimate/SD(outcome) over the estimation sample, RR ≈ exp(0.91·d), limits from the
  estimate's own standard error. Binary outcome and treatment: the risk difference as a risk
  ratio at the untreated risk of the sample, limits from the estimate's interval.
* **Robustness value** (Cinelli & Hazlett 2020) for OLS only, from the estimator's own t (its
  standard-error kind, HC1 by default) and residual degrees of freedom. sensemakr uses the
  classical t; ``causal test`` refits with it and adds the benchmarks.
* **Rosenbaum bounds** for matching with 1:1 pairs: k = 1 and no target with tied matches
  (ties = "all" and none occurred, or ties = "first"), ATT or ATC or ATE. Without replacement
  the pairs are MatchIt's subclasses; with replacement each target's match is found again on
  the stored distance (the same sorted nearest-neighbour search, ties to the lower score), and
  the pairs are used only when the donor counts equal the matching weights (a check that the
  pairs are those the estimate used). Differences are raw outcomes, treated minus control, as
  ``rbounds::psens`` takes them (a bias-adjusted estimate is said so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EstimationError
from ..model import Model
from ..results import EstimatorResult, Plan, UnitData
from ._design import fmt, kind
from .rosenbaum import RosenbaumBounds, rosenbaum_bounds
from .sensitivity import (
    EValue,
    OLSSensitivity,
    evalue_ols,
    evalue_risk_difference,
    ols_sensitivity_from_t,
)

ADJUSTMENT_METHODS = ("ols", "matching", "stratification")


@dataclass(frozen=True, slots=True)
class FittedRobustness:
    """How strong unmeasured confounding would have to be, from the estimate as fitted."""

    evalue: EValue | None = None
    sensitivity: OLSSensitivity | None = None
    rosenbaum: RosenbaumBounds | None = None
    notes: tuple[str, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """One sentence per figure (E-value, robustness value, Rosenbaum bounds), then why
        any is missing: the lines of ``causal run``'s details."""
        out = []
        if self.evalue is not None:
            e = self.evalue
            ci = ("the 95% interval already includes no effect (E-value 1)" if e.ci == 1
                  else f"{fmt(e.ci)} for the 95% limit nearer the null")
            out.append(f"E-value: {fmt(e.point)} for the estimate, {ci} — the risk ratio an "
                       "unmeasured confounder would need with both treatment and outcome to "
                       f"explain it away ({e.conversion})")
        if self.sensitivity is not None:
            s = self.sensitivity
            out.append(f"Robustness value: RV = {100 * s.rv_q:.2f}% (at α = {s.alpha:g}: "
                       f"{100 * s.rv_qa:.2f}%) — confounders explaining that share of the "
                       "residual variance of both treatment and outcome would erase the "
                       f"estimate (Cinelli & Hazlett 2020, from t = {s.t:.3g} and "
                       f"{s.dof} residual dof)")
        if self.rosenbaum is not None:
            out.append(f"Rosenbaum bounds ({self.rosenbaum.pairs} matched pairs): "
                       f"{self.rosenbaum.sentence()}")
        return (*out, *self.notes)

    def to_dict(self) -> dict[str, Any]:
        s = self.sensitivity
        return {"evalue": None if self.evalue is None else {
                    "point": self.evalue.point, "ci": self.evalue.ci,
                    "rr": self.evalue.rr, "measure": self.evalue.measure,
                    "conversion": self.evalue.conversion},
                "robustness_value": None if s is None else {
                    "rv": s.rv_q, "rv_alpha": s.rv_qa, "alpha": s.alpha, "q": s.q,
                    "partial_r2": s.r2yd_x, "t": s.t, "dof": s.dof},
                "rosenbaum": None if self.rosenbaum is None else self.rosenbaum.to_dict(),
                "notes": list(self.notes)}


def fitted_robustness(model: Model, plan: Plan, result: EstimatorResult, y: np.ndarray,
                      d: np.ndarray, *, alpha: float = 0.05) -> FittedRobustness:
    """The figures the fitted `result` allows (see the module docstring); `y` and `d` are the
    outcome and treatment of its estimation sample."""
    if plan.method not in ADJUSTMENT_METHODS:
        return FittedRobustness(notes=(
            f"E-value and robustness value: not computed — the {plan.method} estimate does not "
            "rest on 'no unmeasured confounder given the adjustment set'",))
    notes: list[str] = []
    e = result.estimate
    ky, kd = kind(model, plan.outcome), kind(model, plan.treatment)
    ev: EValue | None = None
    try:
        if ky == "num":
            ev = evalue_ols(e.effect, e.se, float(np.std(y, ddof=1)))
        elif ky == "bin" and kd == "bin":
            base = float(np.mean(y[d == 0])) if np.any(d == 0) else float("nan")
            ev = evalue_risk_difference(e.effect, e.ci_low, e.ci_high, base)
        else:
            notes.append("E-value: not computed — the outcome is binary with a continuous "
                         "treatment, or categorical (no risk-ratio conversion)")
    except EstimationError as err:
        notes.append(f"E-value: not computed — {err.diagnostics[0].message}")
    sens: OLSSensitivity | None = None
    if plan.method == "ols":
        dof = result.detail("df_resid")
        try:
            sens = ols_sensitivity_from_t(e.effect, e.se, int(dof), treatment=plan.treatment,
                                          outcome=plan.outcome, alpha=alpha)
        except (EstimationError, TypeError, ValueError) as err:
            why = err.diagnostics[0].message if isinstance(err, EstimationError) else \
                "no residual degrees of freedom"
            notes.append(f"Robustness value: not computed — {why}")
    rb: RosenbaumBounds | None = None
    if plan.method == "matching":
        pairs = matched_pairs(result, exact=bool(plan.option("exact")))
        if isinstance(pairs, str):
            notes.append(f"Rosenbaum bounds: not computed — {pairs}")
        else:
            try:
                rb = rosenbaum_bounds(*pairs, alpha=alpha)
            except EstimationError as err:
                notes.append(f"Rosenbaum bounds: not computed — {err.diagnostics[0].message}")
            if rb is not None and result.detail("bias_adjust"):
                notes.append("Rosenbaum bounds use the raw pair differences (as rbounds); the "
                             "estimate itself is bias-adjusted")
    return FittedRobustness(ev, sens, rb, tuple(notes))


def matched_pairs(result: EstimatorResult, *, exact: bool = False
                  ) -> tuple[np.ndarray, np.ndarray] | str:
    """(treated outcomes, control outcomes) of the 1:1 pairs a matching estimate used, in
    the order of its targets; or why there are none (a sentence). `exact`: the design matched
    exactly on some variables (their strata are not kept with the result)."""
    units = result.units
    if units is None:
        return "the estimator kept no per-unit data"
    k, ties = result.detail("k", 1), result.detail("ties", "all")
    if k != 1:
        return f"k = {k} matches per unit: Rosenbaum's signed-rank bounds need 1:1 pairs"
    if ties == "random" and result.detail("replace", True):
        return "ties = \"random\" with replacement: the drawn pairs were not kept"
    if int(result.detail("targets_with_ties", 0) or 0) > 0:
        return (f"{result.detail('targets_with_ties')} target(s) have tied matches "
                "(ties = \"all\"): no 1:1 pairs; set ties = \"first\"")
    frame = units.rows.reset_index(drop=True)
    outcome = next(c for c in frame.columns if c != units.treatment)  # (treatment, outcome, ...)
    y = frame[outcome].to_numpy(dtype=float)
    d = frame[units.treatment].to_numpy(dtype=float)
    if units.subclass is not None:
        return _pairs_by_subclass(y, d, units.subclass)
    if exact:
        return "exact matching with replacement: the strata are not kept with the result"
    return _pairs_again(y, d, units, result)


def _pairs_by_subclass(y: np.ndarray, d: np.ndarray, subclass: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray] | str:
    ids = subclass[subclass > 0]
    if len(ids) == 0:
        return "no matched pairs"
    order = np.argsort(subclass, kind="stable")
    s = subclass[order]
    keep = s > 0
    order, s = order[keep], s[keep]
    _, starts, counts = np.unique(s, return_index=True, return_counts=True)
    if np.any(counts != 2):
        return "a matched set is not a pair"
    a, b = order[starts], order[starts + 1]
    treated = np.where(d[a] == 1, a, b)
    control = np.where(d[a] == 1, b, a)
    if np.any(d[treated] != 1) or np.any(d[control] != 0):
        return "a matched set does not hold one treated and one control unit"
    return y[treated], y[control]


def _pairs_again(y: np.ndarray, d: np.ndarray, units: UnitData, result: EstimatorResult
                 ) -> tuple[np.ndarray, np.ndarray] | str:
    """With replacement: each target's nearest donor on the stored distance, checked against
    the matching weights (exact-match strata are not stored: such designs are left out)."""
    from ..estimators.neighbours import match

    arms = {"att": (1,), "atc": (0,), "ate": (1, 0)}.get(result.estimand)
    if arms is None:
        return f"estimand {result.estimand}"
    caliper = result.detail("caliper_distance")
    n = len(y)
    donor_weight = np.zeros(n)
    treated, control = [], []
    dropped = np.asarray(units.dropped, dtype=bool)
    for arm in arms:
        m = match(np.asarray(units.distance, dtype=float), d, arm, k=1, caliper=caliper,
                  replace=True, strata=None, ties="first")
        assert m.pos is not None  # ties = "first": k positions per target
        ok = m.pos[:, 0] >= 0
        donors = np.where(ok, m.sorted_rows[np.clip(m.pos[:, 0], 0, None)], -1)
        if not np.array_equal(~ok, dropped[m.targets]):
            return "the pairs could not be recovered from the stored distance"
        tg, dn = m.targets[ok], donors[ok]
        np.add.at(donor_weight, dn, 1.0)
        treated.append(tg if arm == 1 else dn)
        control.append(dn if arm == 1 else tg)
    w = np.asarray(units.weights, dtype=float)
    if result.estimand == "ate":
        used = donor_weight + (~dropped).astype(float)
    else:
        target_arm = arms[0]
        used = np.where(d == target_arm, (~dropped).astype(float), donor_weight)
    if not np.allclose(used, w, atol=1e-9):
        return "the pairs could not be recovered from the stored distance"
    t, c = np.concatenate(treated), np.concatenate(control)
    return y[t], y[c]

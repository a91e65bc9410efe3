"""Refutations (DoWhy's checks): re-estimate under changes that should not matter, or should.

In: a numeric estimation frame (columns: treatment, outcome, covariates; e.g. from
`design_frame`), the names, an `Estimator` (``(frame, treatment, outcome, covariates) ->
(estimate, se)``; default `ols_effect`, regression adjustment), placebo outcomes, a seed and a
replication budget. Out: `Refutations` — one `Refutation` per check with pass/fail, one
sentence, and its cost (re-estimations and rows). Raises `EstimationError` (E520) when the
original estimate is not finite.

The checks, each seeded from one `numpy.random.Generator`:

* **placebo treatment**: the treatment permuted R times; the mean placebo effect must be
  indistinguishable from 0 (|mean| < z_{1−α/2}·sd/√R). The share of placebo effects at least as
  large as the real one is reported (a permutation p-value).
* **random common cause**: a standard-normal covariate added R times; passes when every
  estimate moves by less than half the original standard error (pure noise moves an OLS
  estimate by about se·|z₁z₂|/√n).
* **data subsets**: R random subsets of 80% of the rows; passes when at least 95% of the
  subset estimates fall inside the full-sample 95% interval.
* **placebo outcome**: for each variable the treatment cannot affect and the adjustment set
  separates from it (`placebo_outcomes`), the effect on it must have a 95% interval covering 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import distributions
from ..errors import Diagnostic, EstimationError
from ..model import Model
from ._design import fmt, kind, residualize, sample

Estimator = Callable[[pd.DataFrame, str, str, Sequence[str]], tuple[float, float]]


def ols_effect(frame: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str]
               ) -> tuple[float, float]:
    """The treatment's OLS coefficient in ``outcome ~ 1 + treatment + covariates`` and its
    HC1 standard error (the project's OLS default)."""
    n = len(frame)
    x = np.column_stack([frame[treatment].to_numpy(float), np.ones(n),
                         *(frame[c].to_numpy(float) for c in covariates)])
    y = frame[outcome].to_numpy(float)
    xd, _ = residualize(x[:, :1], x[:, 1:])  # Frisch–Waugh: the treatment net of the rest
    dd = float(xd[:, 0] @ xd[:, 0])
    if dd <= 1e-12 * max(float(x[:, 0] @ x[:, 0]), 1.0):  # treatment collinear/constant
        return float("nan"), float("nan")
    beta = float(xd[:, 0] @ y) / dd
    e, rank = residualize(y.reshape(-1, 1), x)
    k = rank
    hc0 = float(np.sum((xd[:, 0] * e[:, 0]) ** 2)) / dd**2
    return beta, float(np.sqrt(hc0 * n / max(n - k, 1)))


def design_frame(model: Model, frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The complete rows of `names` as numeric columns (categorical as dummy columns named
    ``var[level]``), ready for an `Estimator`."""
    s = sample(model, frame, names)
    cols: dict[str, np.ndarray] = {}
    for v in names:
        for j, label in enumerate(s.labels[v]):
            cols[label] = s.blocks[v][:, j]
    return pd.DataFrame(cols)


@dataclass(frozen=True, slots=True)
class Refutation:
    """One check: its verdict, in one sentence, and what it cost."""

    name: str
    passed: bool | None  # None: not applicable
    sentence: str
    original: float
    new_effect: float | None
    detail: float | None  # the check's statistic (permutation p, max shift, share, p)
    replications: int
    rows: int

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else "pass" if self.passed else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return d


@dataclass(frozen=True, slots=True)
class Refutations:
    treatment: str
    outcome: str
    original: float
    se: float
    items: tuple[Refutation, ...]
    seed: int
    estimations: int
    seconds: float

    @property
    def failed(self) -> tuple[Refutation, ...]:
        return tuple(r for r in self.items if r.passed is False)

    def __str__(self) -> str:
        lines = [f"Refutations of {self.treatment} -> {self.outcome} "
                 f"(estimate {fmt(self.original)}):"]
        lines += [f"  {r.verdict:<4}  {r.name}: {r.sentence}" for r in self.items]
        lines.append(f"  cost: {self.estimations} re-estimations, {self.seconds:.2f} s "
                     f"(seed {self.seed})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"treatment": self.treatment, "outcome": self.outcome,
                "original": self.original, "se": self.se, "seed": self.seed,
                "estimations": self.estimations, "seconds": self.seconds,
                "checks": [r.to_dict() for r in self.items]}


def placebo_outcomes(model: Model, treatment: str, adjustment: Iterable[str],
                     exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Observed numeric or binary variables that the treatment cannot affect (not its
    descendants) and that `adjustment` d-separates from it once the treatment's own arrows
    are removed: the adjusted effect on them must be zero if the graph is right."""
    import networkx as nx  # only here: `causal run` imports this module, and needs no networkx

    g = nx.DiGraph()
    g.add_nodes_from(v.name for v in model.variables)
    g.add_edges_from((e.source, e.target) for e in model.directed_edges)
    for e in model.bidirected_edges:  # a hidden common cause as an explicit node
        u = f"\0{e.source}<->{e.target}"
        g.add_edges_from([(u, e.source), (u, e.target)])
    adj = set(adjustment)
    banned = nx.descendants(g, treatment) | adj | {treatment} | set(exclude)
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges(treatment)))
    separated = getattr(nx, "is_d_separator", None) or nx.d_separated
    out = []
    for v in model.observed:
        if v.name in banned or kind(model, v.name) == "cat":
            continue
        if separated(cut, {treatment}, {v.name}, adj):
            out.append(v.name)
    return tuple(out)


def refute(frame: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str], *,
           estimator: Estimator = ols_effect, placebo: Mapping[str, pd.DataFrame] | None = None,
           seed: int = 0,
           replications: int = 20, subset_fraction: float = 0.8, alpha: float = 0.05
           ) -> Refutations:
    """Run the four checks with at most ``3·replications + len(placebo) + 1`` estimations.

    `placebo` maps each placebo outcome to the frame to estimate it on (the treatment, the
    covariates and that variable, complete rows: it may have fewer rows than `frame`).

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0); x = rng.normal(size=400); d = x + rng.normal(size=400)
    >>> df = pd.DataFrame({"d": d, "x": x, "y": 2 * d + x + rng.normal(size=400)})
    >>> [r.verdict for r in refute(df, "d", "y", ["x"], replications=10).items]
    ['pass', 'pass', 'pass', 'n/a']
    """
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    covs = list(covariates)
    est, se = estimator(frame, treatment, outcome, covs)
    if not (np.isfinite(est) and np.isfinite(se)):
        raise EstimationError(Diagnostic(
            "E520", f"refutations need a finite estimate of {treatment} -> {outcome} "
            f"(got {est}, se {se})", None, help="check the estimate itself first"))
    n, r = len(frame), max(2, int(replications))
    z = distributions.normal_quantile(1 - alpha / 2)
    checks = []

    # placebo treatment
    perm = frame.copy()
    values = frame[treatment].to_numpy()
    placebo_fx = []
    for _ in range(r):
        perm[treatment] = rng.permutation(values)
        placebo_fx.append(estimator(perm, treatment, outcome, covs)[0])
    pf = np.asarray(placebo_fx, dtype=float)
    mean, sd = float(np.mean(pf)), float(np.std(pf, ddof=1))
    share = float(np.mean(np.abs(pf) >= abs(est)))
    ok = bool(abs(mean) <= z * sd / np.sqrt(r) + 1e-12)
    checks.append(Refutation(
        "placebo treatment", ok,
        f"with {treatment} permuted {r} times the effect averages {fmt(mean)} "
        f"({'≈ 0, as it should' if ok else 'not 0: the estimator finds effects in noise'}); "
        f"{share:.0%} of placebo effects are as large as the real {fmt(est)}",
        est, mean, share, r, n))

    # random common cause
    shifts = []
    name = "\0random_common_cause"
    for _ in range(r):
        extra = frame.assign(**{name: rng.standard_normal(n)})
        shifts.append(estimator(extra, treatment, outcome, [*covs, name])[0] - est)
    sh = np.abs(np.asarray(shifts, dtype=float))
    worst = float(np.max(sh))
    ok = bool(worst < 0.5 * se)
    checks.append(Refutation(
        "random common cause", ok,
        f"adding a random covariate ({r} draws) moves the estimate by at most {fmt(worst)} "
        f"({'under' if ok else 'over'} half its standard error {fmt(se)})",
        est, est + float(np.mean(shifts)), worst, r, n))

    # data subsets
    m = max(2, round(subset_fraction * n))
    low, high = est - z * se, est + z * se
    sub = []
    for _ in range(r):
        rows = rng.choice(n, size=m, replace=False)
        sub.append(estimator(frame.iloc[rows].reset_index(drop=True), treatment, outcome,
                             covs)[0])
    sb = np.asarray(sub, dtype=float)
    inside = float(np.mean((sb >= low) & (sb <= high)))
    ok = bool(inside >= 0.95)
    checks.append(Refutation(
        "data subsets", ok,
        f"on {r} random subsets of {subset_fraction:.0%} of the rows the estimate ranges "
        f"{fmt(float(np.min(sb)))} to {fmt(float(np.max(sb)))}; {inside:.0%} fall inside the "
        f"full-sample interval [{fmt(low)}, {fmt(high)}] (need 95%)",
        est, float(np.mean(sb)), inside, r, m))

    # placebo outcomes
    placebo = dict(placebo or {})
    if not placebo:
        checks.append(Refutation(
            "placebo outcome", None, "the graph has no observed variable that the treatment "
            "cannot affect and the adjustment separates from it", est, None, None, 0, n))
    for v, pframe in placebo.items():
        pe, pse = estimator(pframe, treatment, v, covs)
        p = math.erfc(abs(pe / pse) / math.sqrt(2.0)) if pse > 0 else math.nan  # two-sided
        ok = bool(np.isfinite(p) and p >= alpha)
        checks.append(Refutation(
            f"placebo outcome {v}", ok,
            f"the graph says {treatment} cannot affect {v} given the adjustment; the estimate "
            f"is {fmt(pe)} [{fmt(pe - z * pse)}, {fmt(pe + z * pse)}], "
            + ("compatible with 0" if ok else "not 0: a path the graph does not show"),
            est, pe, p, 1, len(pframe)))
    spent = 1 + 3 * r + len(placebo)
    return Refutations(treatment, outcome, est, se, tuple(checks), seed, spent,
                       time.perf_counter() - start)

"""Rosenbaum bounds for matched pairs: how much hidden bias would change the conclusion?

In: the outcomes of the treated and of their matched controls (one control per treated unit;
with k > 1 controls pass the mean of each treated unit's matches), or the pair differences.
Out: `RosenbaumBounds` — for each Γ (the odds ratio by which a hidden confounder could make one
member of a pair likelier to be treated) the lower and upper bound on the one-sided p-value of
Wilcoxon's signed-rank test, and the Γ at which the upper bound crosses α. Raises
`EstimationError` (E520) for fewer than two pairs or non-finite outcomes.

Convention: R ``rbounds::psens`` 2.2 (Rosenbaum 2002, ch. 4; the current CRAN source): pairs
whose difference is 0 are dropped (as Wilcoxon's test and R's ``wilcox.test`` drop them; their
number is kept in `RosenbaumBounds.zero_pairs`), ranks of |d| with average ranks for ties,
T = Σ ranks of positive d, E(T) = p⁺·Σ ranks, Var(T) = p⁺(1 − p⁺)·Σ ranks², p⁺ = Γ/(1 + Γ),
normal approximation without continuity correction (so at Γ = 1 both bounds equal the p-value
of ``wilcox.test(d, alternative = "greater", exact = FALSE, correct = FALSE)``). The test is of
an effect in the direction of the estimate: when the differences are mostly negative, their
signs are flipped, as ``psens`` does for a negative estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..distributions import normal_cdf
from ..errors import Diagnostic, EstimationError
from ._design import fmt, fmt_p


@dataclass(frozen=True, slots=True)
class RosenbaumBounds:
    """Bounds on Wilcoxon's signed-rank p-value under hidden bias Γ."""

    pairs: int
    statistic: float  # T, the sum of the ranks of the positive differences
    direction: str  # "positive" or "negative": the effect tested
    gammas: tuple[float, ...]
    p_lower: tuple[float, ...]
    p_upper: tuple[float, ...]
    alpha: float
    gamma_critical: float | None  # smallest Γ with upper bound ≥ alpha (None: never, ≤ cap)
    zero_pairs: int = 0  # pairs with difference 0, dropped before ranking (as psens)
    convention: str = ("Wilcoxon signed rank, normal approximation, zero differences dropped, "
                       "as R rbounds::psens 2.2")

    def sentence(self) -> str:
        if self.p_upper and self.p_upper[0] >= self.alpha:
            return (f"without hidden bias (Γ = 1) the effect is already not significant "
                    f"({fmt_p(self.p_upper[0])}): there is no conclusion to overturn")
        if self.gamma_critical is None:
            return (f"the conclusion (p < {self.alpha:g}) holds for every Γ up to "
                    f"{max(self.gammas):g}")
        return (f"the conclusion (p < {self.alpha:g}) holds until Γ = "
                f"{fmt(self.gamma_critical)}: a hidden confounder that made one member of a "
                f"matched pair {fmt(self.gamma_critical)} times as likely to be treated could "
                "explain the effect away")

    def __str__(self) -> str:
        zero = f"; {self.zero_pairs} with difference 0 left out" if self.zero_pairs else ""
        lines = [f"Rosenbaum bounds ({self.pairs} matched pairs{zero}, effect "
                 f"{self.direction}):",
                 f"  {self.sentence()}", "  Γ        lower p   upper p"]
        lines += [f"  {g:<7g}  {lo:.4f}    {hi:.4f}"
                  for g, lo, hi in zip(self.gammas, self.p_lower, self.p_upper, strict=True)]
        lines.append(f"  ({self.convention})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("gammas", "p_lower", "p_upper"):
            d[k] = list(d[k])
        return d


def _p_bounds(ranks: np.ndarray, t: float, gamma: float) -> tuple[float, float]:
    p_plus, p_minus = gamma / (1 + gamma), 1 / (1 + gamma)
    s1, s2 = float(ranks.sum()), float((ranks**2).sum())
    upper = normal_cdf(-(t - p_plus * s1) / math.sqrt(s2 * p_plus * (1 - p_plus)))
    lower = normal_cdf(-(t - p_minus * s1) / math.sqrt(s2 * p_minus * (1 - p_minus)))
    return lower, upper


def rosenbaum_bounds(treated: Sequence[float] | np.ndarray,
                     control: Sequence[float] | np.ndarray | None = None, *,
                     gammas: Sequence[float] = (1, 1.5, 2, 2.5, 3, 4, 5, 6),
                     alpha: float = 0.05, gamma_max: float = 100.0) -> RosenbaumBounds:
    """Bounds for matched pairs (`control` None: `treated` holds the differences).

    >>> b = rosenbaum_bounds([5, 3, 4, 6, 2, 7, 1, 8], [1, 2, 0, 1, 3, 2, 0, 1])
    >>> b.pairs, round(b.p_upper[0], 4)
    (8, 0.012)
    """
    d = np.asarray(treated, dtype=float)
    if control is not None:
        c = np.asarray(control, dtype=float)
        if c.shape != d.shape:
            raise EstimationError(Diagnostic(
                "E520", f"Rosenbaum bounds need one control per treated unit (got {len(d)} "
                f"treated and {len(c)} controls)", None,
                help="pass the mean of each treated unit's matched controls"))
        d = d - c
    if len(d) < 2 or not np.all(np.isfinite(d)):
        raise EstimationError(Diagnostic(
            "E520", f"Rosenbaum bounds need at least two finite pair differences (got {len(d)})",
            None, help="check the matched sample"))
    zeros = int(np.sum(d == 0))
    d = d[d != 0]  # rbounds 2.2: zero differences are dropped before ranking (as Wilcoxon)
    if len(d) < 2:
        raise EstimationError(Diagnostic(
            "E520", f"Rosenbaum bounds need at least two non-zero pair differences (got "
            f"{len(d)}; {zeros} pair(s) differ by 0)", None, help="check the matched sample"))
    ranks = pd.Series(np.abs(d)).rank(method="average").to_numpy()
    t_pos = float(ranks[d > 0].sum())
    direction = "positive"
    if t_pos < 0.5 * ranks.sum():  # mostly negative: test the effect in that direction
        d, direction = -d, "negative"
        t_pos = float(ranks[d > 0].sum())
    lows, highs = zip(*(_p_bounds(ranks, t_pos, float(g)) for g in gammas), strict=True)

    def excess(g: float) -> float:
        return _p_bounds(ranks, t_pos, g)[1] - alpha

    critical: float | None
    if excess(1.0) >= 0:
        critical = 1.0
    elif excess(gamma_max) < 0:
        critical = None
    else:
        from scipy import optimize  # here: linprog's HiGHS makes it slow to import

        critical = float(optimize.brentq(excess, 1.0, gamma_max, xtol=1e-6))
    return RosenbaumBounds(len(d) + zeros, t_pos, direction, tuple(float(g) for g in gammas),
                           tuple(lows), tuple(highs), alpha, critical, zeros)

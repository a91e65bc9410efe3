"""The Goodman-Bacon (2021) decomposition of static two-way fixed effects under staggered timing.

In: a balanced panel as wide arrays — outcome ``y`` and a 0/1 treatment ``d``, both units ×
periods — where the treatment, once on, stays on (`decompose`), or the same as long arrays of
integer unit and period codes (`from_long`). Out: a `BaconDecomposition`: every 2×2 comparison
that static TWFE averages (its kind, the treated and comparison timing groups, its weight and
its DiD estimate), the TWFE coefficient itself, and the share of weight on "forbidden"
comparisons — those that use already-treated units as controls. Raises `EstimationError` E530
when the treatment switches off, E505 when nothing switches on, and `DataError` E409 / E410 for
duplicate or missing (unit, period) cells.

Why: with effects that change over exposure, TWFE's already-treated-as-control comparisons
subtract treatment effects from the comparison group, so TWFE can be far from any average effect
(even of the wrong sign). The decomposition shows how much weight those comparisons carry.

Method (Goodman-Bacon 2021, Theorem 1; the R package ``bacondecomp`` without covariates). Units
are grouped by adoption period: "never" (untreated throughout), "always" (treated from the first
period) and one timing group per adoption period. Each pair of groups with different timing gives
2×2 DiDs on the periods where only one of them changes treatment:

* timing group k vs never treated, or vs always treated: all periods, k switches at its date;
* earlier k vs later ℓ (not yet treated): periods before ℓ adopts;
* later ℓ vs earlier k (already treated — forbidden): periods from k's adoption on.

The weight of a 2×2 is (N_pair/N · T_window/T)² · n(1−n) · p(1−p) / V(D̃), with n the switching
group's share of the pair, p its treated share of the window's periods and V(D̃) the variance of
the two-way-demeaned treatment in the whole panel. The weights sum to one and the weighted sum of
the 2×2 estimates is exactly the TWFE coefficient (checked by `BaconDecomposition.gap`).

>>> import numpy as np
>>> d = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
>>> y = np.array([[1.0, 4.0, 6.0], [2.0, 2.5, 5.0], [0.0, 1.0, 1.5]])
>>> b = decompose(y, d)
>>> round(sum(c.weight for c in b.comparisons), 12), abs(b.gap) < 1e-12
(1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, Diagnostic, EstimationError, Span
from ..results import Table, fmt

NEVER, ALWAYS = "never treated", "always treated"
KINDS = {
    "never": "treated vs never treated",
    "later": "earlier vs later treated (not yet treated as controls)",
    "earlier": "later vs earlier treated (already treated as controls)",
    "always": "treated vs always treated (already treated as controls)",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """One 2×2 DiD inside static TWFE: `treated` switches on at its adoption period (a period
    index) while `control` (an adoption period, or "never treated" / "always treated") does not
    change within the `window` of periods ``[start, stop)``."""

    kind: str
    treated: int
    control: int | str
    window: tuple[int, int]
    weight: float
    estimate: float
    forbidden: bool


@dataclass(frozen=True)
class BaconDecomposition:
    comparisons: tuple[Comparison, ...]
    twfe: float
    units: int
    periods: int

    @property
    def forbidden_weight(self) -> float:
        """Share of TWFE's weight on comparisons that use already-treated units as controls."""
        return float(sum(c.weight for c in self.comparisons if c.forbidden))

    @property
    def weighted_sum(self) -> float:
        return float(sum(c.weight * c.estimate for c in self.comparisons))

    @property
    def gap(self) -> float:
        """Weighted sum of the 2×2 estimates minus the TWFE coefficient (zero up to rounding)."""
        return self.weighted_sum - self.twfe

    def by_kind(self) -> dict[str, tuple[float, float]]:
        """Total weight and weight-averaged estimate of each kind of comparison."""
        out: dict[str, tuple[float, float]] = {}
        for kind in dict.fromkeys(c.kind for c in self.comparisons):
            cs = [c for c in self.comparisons if c.kind == kind]
            w = sum(c.weight for c in cs)
            out[kind] = (w, sum(c.weight * c.estimate for c in cs) / w if w > 0 else np.nan)
        return out

    def table(self, label: str = "period") -> Table:
        rows = tuple(
            (c.kind, f"{label} {c.treated}",
             c.control if isinstance(c.control, str) else f"{label} {c.control}",
             c.weight, c.estimate, "yes" if c.forbidden else "")
            for c in sorted(self.comparisons, key=lambda c: -c.weight)
        )
        rows += (("TWFE (weighted sum)", "", "", 1.0, self.weighted_sum, ""),)
        return Table(
            f"Goodman-Bacon decomposition of static TWFE ({fmt(self.forbidden_weight, 3)} of the "
            "weight on already-treated controls)",
            ("comparison", "treated group", "control group", "weight", "2×2 DiD", "forbidden"),
            rows,
        )


def from_long(
    unit: np.ndarray, time: np.ndarray, y: np.ndarray, d: np.ndarray, span: Span | None = None
) -> BaconDecomposition:
    """`decompose` for long arrays: integer unit codes and period codes (0 … T−1, in order)."""
    unit = np.asarray(unit, dtype=np.int64)
    time = np.asarray(time, dtype=np.int64)
    n_u, n_t = int(unit.max()) + 1, int(time.max()) + 1
    key = unit * n_t + time
    if len(np.unique(key)) != len(key):
        raise DataError(Diagnostic("E409", "the panel has (unit, period) pairs with more than one "
                                   "row", span, help="each unit must appear once per period"))
    if len(key) != n_u * n_t:
        raise DataError(Diagnostic(
            "E410", f"the Goodman-Bacon decomposition needs a balanced panel: {len(key)} rows for "
            f"{n_u} units × {n_t} periods", span,
            help="keep the units observed in every period"))
    yw = np.empty((n_u, n_t))
    dw = np.empty((n_u, n_t))
    yw[unit, time] = y
    dw[unit, time] = d
    return decompose(yw, dw, span=span)


def decompose(y: np.ndarray, d: np.ndarray, span: Span | None = None) -> BaconDecomposition:
    """Decompose the TWFE coefficient of `y` on `d` (units × periods, balanced) into its 2×2s."""
    y = np.asarray(y, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    n, t_len = d.shape
    if not np.isin(d, (0.0, 1.0)).all():
        raise EstimationError(Diagnostic("E530", "the Goodman-Bacon decomposition needs a 0/1 "
                                         "treatment", span, help="declare the treatment binary"))
    if (np.diff(d, axis=1) < 0).any():
        off = int((np.diff(d, axis=1) < 0).any(axis=1).sum())
        raise EstimationError(Diagnostic(
            "E530", f"the treatment switches off again in {off} unit(s); the decomposition (like "
            "Callaway–Sant'Anna) assumes adoption is permanent", span,
            help="use did (two-way fixed effects), which assumes the effect stops at once"))
    on = d.any(axis=1)
    # adoption period: 0 = always treated, T = never treated
    adopt = np.where(on, np.argmax(d, axis=1), t_len)
    groups, inverse, counts = np.unique(adopt, return_inverse=True, return_counts=True)
    if not ((groups > 0) & (groups < t_len)).any():
        raise EstimationError(Diagnostic("E505", "the treatment never switches on within a unit",
                                         span, help="a decomposition needs units that adopt"))
    # group × period means: with a balanced panel the 2×2 DiDs are differences of these
    sums = np.stack([np.bincount(inverse, weights=y[:, s], minlength=len(groups))
                     for s in range(t_len)], axis=1)
    means = sums / counts[:, None]
    # TWFE on the balanced panel: the two-way-demeaned treatment
    dt = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    ssd = float((dt * dt).sum())
    twfe = float((dt * y).sum() / ssd)
    var_d = ssd / (n * t_len)

    def window_did(k: int, c: int, start: int, switch: int, stop: int) -> float:
        post = slice(switch, stop)
        pre = slice(start, switch)
        dk = means[k, post].mean() - means[k, pre].mean()
        dc = means[c, post].mean() - means[c, pre].mean()
        return float(dk - dc)

    def weight(k: int, c: int, start: int, switch: int, stop: int) -> float:
        nk, nc = counts[k], counts[c]
        share = (nk + nc) / n * (stop - start) / t_len
        m = nk / (nk + nc)
        p = (stop - switch) / (stop - start)
        return float(share**2 * m * (1 - m) * p * (1 - p) / var_d)

    out: list[Comparison] = []
    for k, a_k in enumerate(groups):
        if not 0 < a_k < t_len:
            continue
        for c, a_c in enumerate(groups):
            if c == k:
                continue
            if a_c == t_len or a_c == 0:
                kind = "never" if a_c == t_len else "always"
                start, stop = 0, t_len
                control: int | str = NEVER if a_c == t_len else ALWAYS
            elif a_c > a_k:
                kind, start, stop, control = "later", 0, int(a_c), int(a_c)
            else:
                kind, start, stop, control = "earlier", int(a_c), t_len, int(a_c)
            out.append(Comparison(
                KINDS[kind], int(a_k), control, (start, stop),
                weight(k, c, start, int(a_k), stop), window_did(k, c, start, int(a_k), stop),
                forbidden=kind in ("earlier", "always"),
            ))
    return BaconDecomposition(tuple(out), twfe, n, t_len)


__all__ = ["BaconDecomposition", "Comparison", "decompose", "from_long"]

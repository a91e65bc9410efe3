"""Staggered adoption: Callaway & Sant'Anna (2021) group-time effects and their aggregations.

In: a coded estimation frame with a 0/1 treatment that, once on, stays on, and a `Design` whose
`unit` and `time` name integer-coded columns of `extra` (time codes in sorted order of the
periods, as `causal_dsl.data.prepare` makes them); `cluster` (optional) a coarser column, constant
within units. Options: ``control`` = ``"never"`` (default) or ``"notyet"``; ``aggregation`` =
``"simple"`` (default), ``"group"`` or ``"dynamic"`` — which overall ATT is the headline;
``bootstrap`` = number of multiplier-bootstrap draws (default 0: analytic standard errors).

Out: an `EstimatorResult` (method ``callaway_santanna``, estimand ATT) with the overall ATT, the
table of ATT(g, t), the event study by exposure time, the three overall aggregations, the
Goodman-Bacon decomposition of static TWFE on the same panel and a Wald pre-test of parallel
trends. Raises `DataError` E409 (duplicate unit-period rows), E406 (non-finite outcome),
`EstimationError` E505 (nothing switches on), E530 (the treatment switches off), E531 (no
comparison units), E508 (options, time-varying covariates).

Method, by the book of the R package ``did`` (``att_gt`` with ``xformla = ~1``, ``panel = TRUE``,
``base_period = "varying"``, ``anticipation = 0``; without covariates its ``dr``, ``ipw`` and
``reg`` estimators coincide): units not observed in every period are dropped (did's
``allow_unbalanced_panel = FALSE``); units treated from the first period are dropped; with no
never-treated units the last cohort serves as the comparison and later periods are dropped. For
each cohort g (adoption period) and period t ≥ 1, with base period b = g−1 when t ≥ g and t−1
otherwise, ATT(g, t) = mean(Yₜ − Y_b | G = g) − mean(Yₜ − Y_b | C), where C is the never-treated
units or, under ``notyet``, every unit with G > t (other than g). Its influence function is
ψᵢ = N·[1{Gᵢ=g}(ΔYᵢ − m₁)/n_g − 1{i∈C}(ΔYᵢ − m₀)/n_C]; SE = √(Σᵢψᵢ²)/N, or √(Σ_c(Σ_{i∈c}ψᵢ)²)/N
clustered. Aggregations follow ``did::aggte``: ``simple`` averages the post-treatment ATT(g, t)
with weights ∝ cohort size; ``group`` averages each cohort's post-treatment cells, then the cohorts
by size; ``dynamic`` averages cells by exposure e = t − g with cohort-size weights, and its overall
value is the mean over e ≥ 0; the influence functions of ``simple`` and ``dynamic`` include the
estimation of the weights (did's ``wif``). Intervals are pointwise 95%, normal. The bootstrap is
did's ``mboot``: Rademacher multipliers per unit (or cluster), SE = IQR / (z₀.₇₅ − z₀.₂₅).
Exposure and periods count positions in the sorted periods (years only if equally spaced).

Row weights follow did's ``weightsname``: one weight per unit (refused, E508, if it changes within
a unit); the group-time means, the cohort shares of the aggregations and the influence functions
are weighted as in did/DRDID (tested against csdid's ``weights_name``). Frequency weights give the
estimator on the panel with each unit repeated w times (N = Σw), the bootstrap included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DataError, Diagnostic, EstimationError
from ..results import Check, CheckLevel, Estimate, EstimatorResult, Table, fmt
from . import bacon
from .common import Design, design_matrix, numeric, option_error

CONTROLS = {"never": "never-treated units", "notyet": "not-yet-treated units"}
AGGREGATIONS = {
    "simple": 'did::aggte(type = "simple"): post-treatment ATT(g, t) averaged with weights '
              "proportional to cohort size",
    "group": 'did::aggte(type = "group"): each cohort\'s post-treatment average, averaged over '
             "cohorts by size",
    "dynamic": 'did::aggte(type = "dynamic"): the mean over exposure e ≥ 0 of the event-study '
               "effects",
}
FEW_CLUSTERS = 30


def _error(code: str, message: str, design: Design, help: str) -> EstimationError:
    return EstimationError(Diagnostic(code, message, design.span, help=help))


# --------------------------------------------------------------------------------------------
# the panel, wide
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WidePanel:
    """Outcomes by unit × period, and each unit's cohort: its adoption period, or `periods`
    (never treated within the panel used)."""

    y: np.ndarray
    d: np.ndarray
    cohort: np.ndarray
    cluster: np.ndarray | None  # per unit, codes 0..C-1, or None (the unit itself)
    periods: int
    dropped_unbalanced: int
    dropped_always: int
    dropped_periods: int  # trailing periods dropped for lack of never-treated units
    coerced_cohort: int | None  # the last cohort used as never treated
    weight: np.ndarray | None = None  # per unit (did's weightsname, constant within unit)
    frequency: bool = False  # the weights count copies of the unit (frequency weights)

    @property
    def w(self) -> np.ndarray:
        return np.ones(len(self.cohort)) if self.weight is None else self.weight

    @property
    def copies(self) -> np.ndarray | None:
        """Frequency weights: how many units each row of the panel stands for."""
        return self.weight if self.frequency else None

    @property
    def size(self) -> float:
        """N in the influence functions: units, or Σw units with frequency weights."""
        return float(self.w.sum()) if self.frequency else float(len(self.cohort))


def wide_panel(
    unit: np.ndarray, time: np.ndarray, y: np.ndarray, d: np.ndarray, design: Design,
    cluster: np.ndarray | None = None, weights: np.ndarray | None = None,
) -> WidePanel:
    """Reshape long rows to units × periods by their codes (one scatter, no groupby), balance
    the panel, find each unit's adoption period and apply did's rules for the samples.

    Row `weights` must be constant within a unit: did's ``weightsname`` is a unit-level
    weight (it takes the weight of each unit's first period), so a weight that changes over
    time is refused (E508) rather than silently reduced to one period's value."""
    unit = np.asarray(unit, dtype=np.int64)
    time = np.asarray(time, dtype=np.int64)
    n_u, n_t = int(unit.max()) + 1, int(time.max()) + 1
    key = unit * n_t + time
    _, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        raise DataError(Diagnostic(
            "E409", f"the panel has {int((counts > 1).sum())} (unit, period) pair(s) with more "
            f"than one row ({design.unit}, {design.time})", design.span,
            help="each unit must appear once per period; aggregate the rows or fix the "
            "unit/time columns"))
    if not np.isfinite(y).all():
        raise DataError(Diagnostic(
            "E406", f"the outcome '{design.outcome}' has {int((~np.isfinite(y)).sum())} "
            "non-finite value(s) (inf)", design.span, help="recode or drop those rows"))
    if not np.isin(d, (0.0, 1.0)).all():
        raise option_error(design, f"Callaway–Sant'Anna needs a 0/1 treatment; "
                           f"'{design.treatment}' takes other values",
                           "declare the treatment binary")
    yw = np.zeros((n_u, n_t))
    dw = np.zeros((n_u, n_t))
    yw[unit, time] = y
    dw[unit, time] = d
    full = np.bincount(unit, minlength=n_u) == n_t
    clus = None
    if cluster is not None:
        cluster = np.asarray(cluster, dtype=np.int64)
        first = np.full(n_u, -1)
        first[unit] = cluster
        if (first[unit] != cluster).any():
            raise option_error(design, f"the cluster column '{design.cluster}' changes within "
                               f"a {design.unit}", "cluster on a variable that is constant "
                               "within units (did requires a time-invariant cluster)")
        clus = first
    unit_w = None
    if weights is not None:
        unit_w = np.zeros(n_u)
        unit_w[unit] = weights
        moving = unit_w[unit] != weights
        if moving.any():
            raise option_error(design, f"the weights change within a {design.unit} "
                               f"({len(np.unique(unit[moving]))} unit(s)): Callaway–Sant'Anna "
                               "takes one weight per unit (did's weightsname)",
                               "use a weight that is constant within units (e.g. the base-"
                               "period population), or did (two-way fixed effects, which "
                               "weights rows)")
    off = (np.diff(dw, axis=1) < 0).any(axis=1) & full
    if off.any():
        raise _error("E530", f"the treatment '{design.treatment}' switches off again in "
                     f"{int(off.sum())} unit(s): Callaway–Sant'Anna needs adoption that stays "
                     "on (staggered adoption)", design,
                     "use did (two-way fixed effects, which assumes the effect stops at once), "
                     "or define the treatment as 'ever adopted'")
    on = dw.any(axis=1)
    always = full & (dw[:, 0] == 1)
    keep = full & ~always
    adopt = np.where(on, np.argmax(dw, axis=1), n_t)[keep]
    yw, dw = yw[keep], dw[keep]
    if unit_w is not None:
        unit_w = unit_w[keep]
    if clus is not None:
        clus = np.unique(clus[keep], return_inverse=True)[1]
    if not (adopt < n_t).any():
        raise _error("E505", f"the treatment '{design.treatment}' never switches on within a unit"
                     f" observed in every period ({int(keep.sum())} such units)", design,
                     "Callaway–Sant'Anna compares units before and after they adopt")
    periods, coerced, dropped_periods = n_t, None, 0
    if not (adopt == n_t).any():
        # did: "the last treated cohort is being coerced as 'never-treated' units, and data
        # from periods after that is being filtered out"
        coerced = int(adopt.max())
        periods, dropped_periods = coerced, n_t - coerced
        adopt = np.minimum(adopt, periods)
        yw, dw = yw[:, :periods], dw[:, :periods]
        if not (adopt < periods).any():
            raise _error("E531", "no comparison units: every unit adopts at the same period and "
                         "none is never treated", design,
                         "difference-in-differences needs units not (yet) treated to compare "
                         "with")
    return WidePanel(yw, dw, adopt, clus, periods, int((~full).sum()), int((always).sum()),
                     dropped_periods, coerced, unit_w, design.weight_kind == "frequency")


# --------------------------------------------------------------------------------------------
# group-time effects
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupTime:
    group: np.ndarray  # cohort (adoption period) of each cell
    time: np.ndarray  # period of each cell
    base: np.ndarray  # base period of each cell
    att: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray
    inf: np.ndarray  # N × cells influence functions (did's inffunc)


def group_time(panel: WidePanel, control: str = "never") -> GroupTime:
    """ATT(g, t) for every cohort g and period t ≥ 1 (did's varying base period), with the
    influence function of each. Means come from cohort × period sums (one bincount per period);
    each cell then costs a few vector operations over units, never a pass over rows.

    With unit weights w the means are weighted and ψᵢ = N·wᵢ[1{Gᵢ=g}(ΔYᵢ − m₁)/W_g − …] (DRDID's
    weighted influence function, rescaled by did to the full sample); with frequency weights
    ψ is that of one copy of the unit, N = Σw, as on the data with units repeated w times."""
    y, cohort, t_len = panel.y, panel.cohort, panel.periods
    wt = panel.w
    n = panel.size
    factor = 1.0 if panel.frequency or panel.weight is None else wt
    n_coh = np.bincount(cohort, weights=wt, minlength=t_len + 1).astype(np.float64)
    units = n_coh if panel.frequency or panel.weight is None else \
        np.bincount(cohort, minlength=t_len + 1).astype(np.float64)
    sums = np.stack([np.bincount(cohort, weights=wt * y[:, s], minlength=t_len + 1)
                     for s in range(t_len)], axis=1)  # (T+1) × T
    groups = np.unique(cohort[cohort < t_len])
    cells = [(g, t, g - 1 if t >= g else t - 1) for g in groups for t in range(1, t_len)]
    k = len(cells)
    att, n1, n0 = np.empty(k), np.empty(k), np.empty(k)
    inf = np.empty((len(cohort), k))
    levels = np.arange(t_len + 1)
    for j, (g, t, b) in enumerate(cells):
        # never: the never-treated cohort; notyet: every cohort adopting after t, but not g
        ctrl = levels == t_len if control == "never" else (levels > t) & (levels != g)
        nc = float(n_coh[ctrl].sum())
        if nc == 0:
            raise EstimationError(Diagnostic(
                "E531", f"no comparison units for the cohort adopting in period {g} at period {t}",
                None, help='use control = "never" or check the adoption periods'))
        m1 = (sums[g, t] - sums[g, b]) / n_coh[g]
        m0 = float((sums[ctrl, t] - sums[ctrl, b]).sum()) / nc
        att[j], n1[j], n0[j] = m1 - m0, units[g], float(units[ctrl].sum())
        dy = y[:, t] - y[:, b]
        treated = cohort == g
        comp = ctrl[cohort]
        inf[:, j] = n * factor * (np.where(treated, (dy - m1) / n_coh[g], 0.0)
                                  - np.where(comp, (dy - m0) / nc, 0.0))
    g_arr = np.array([c[0] for c in cells], dtype=np.int64)
    t_arr = np.array([c[1] for c in cells], dtype=np.int64)
    b_arr = np.array([c[2] for c in cells], dtype=np.int64)
    return GroupTime(g_arr, t_arr, b_arr, att, n1, n0, inf)


# --------------------------------------------------------------------------------------------
# aggregation (did::aggte)
# --------------------------------------------------------------------------------------------
def _weighted(
    att: np.ndarray, inf: np.ndarray, pg: np.ndarray, group: np.ndarray, cohort: np.ndarray,
    *, estimated_weights: bool, unit_w: np.ndarray | float = 1.0,
) -> tuple[float, np.ndarray]:
    """Σ w_k att_k with w ∝ pg, and its influence function; with `estimated_weights`, plus
    did's ``wif`` term for having estimated the cohort shares pg (vectorised over units).

    With did's unit weights the shares are weighted and the ``wif`` is (w̃ᵢ1{Gᵢ=g} − pg)/Σpg,
    w̃ the weights scaled to mean 1 (`unit_w`); one copy of a frequency-weighted unit has 1."""
    spg = float(pg.sum())
    w = pg / spg
    theta = float(w @ att)
    psi = inf @ w
    if estimated_weights:
        levels = int(max(cohort.max(), group.max())) + 1
        by_cohort_att = np.bincount(group, weights=att, minlength=levels)
        by_cohort_n = np.bincount(group, minlength=levels).astype(np.float64)
        centered_att = unit_w * by_cohort_att[cohort] - float(pg @ att)
        centered_sum = unit_w * by_cohort_n[cohort] - spg
        psi = psi + centered_att / spg - centered_sum * float(pg @ att) / spg**2
    return theta, psi


@dataclass(frozen=True)
class Aggregates:
    simple: tuple[float, np.ndarray]
    group: tuple[float, np.ndarray]
    dynamic: tuple[float, np.ndarray]
    by_group: list[tuple[int, float, np.ndarray]]
    by_event: list[tuple[int, float, np.ndarray, int]]  # e, theta, psi, number of cells


def aggregate(gt: GroupTime, panel: WidePanel) -> Aggregates:
    wt = panel.w
    share = np.bincount(panel.cohort, weights=wt, minlength=panel.periods + 1) / wt.sum()
    uw: np.ndarray | float = 1.0 if panel.frequency or panel.weight is None else \
        wt / wt.mean()
    pg = share[gt.group]
    post = gt.time >= gt.group
    simple = _weighted(gt.att[post], gt.inf[:, post], pg[post], gt.group[post], panel.cohort,
                       estimated_weights=True, unit_w=uw)
    by_group = []
    for g in np.unique(gt.group):
        sel = post & (gt.group == g)
        by_group.append((int(g), float(gt.att[sel].mean()), gt.inf[:, sel].mean(axis=1)))
    g_codes = np.array([g for g, _, _ in by_group], dtype=np.int64)
    g_att = np.array([a for _, a, _ in by_group])
    g_inf = np.column_stack([p for _, _, p in by_group])
    group = _weighted(g_att, g_inf, share[g_codes], g_codes, panel.cohort,
                      estimated_weights=True, unit_w=uw)
    exposure = gt.time - gt.group
    by_event = []
    for e in np.unique(exposure):
        sel = exposure == e
        theta, psi = _weighted(gt.att[sel], gt.inf[:, sel], pg[sel], gt.group[sel],
                               panel.cohort, estimated_weights=True, unit_w=uw)
        by_event.append((int(e), theta, psi, int(sel.sum())))
    pos = [(th, ps) for e, th, ps, _ in by_event if e >= 0]
    dynamic = (float(np.mean([th for th, _ in pos])),
               np.column_stack([ps for _, ps in pos]).mean(axis=1))
    return Aggregates(simple, group, dynamic, by_group, by_event)


# --------------------------------------------------------------------------------------------
# standard errors
# --------------------------------------------------------------------------------------------
def _cluster_sums(inf: np.ndarray, cluster: np.ndarray | None,
                  copies: np.ndarray | None = None) -> np.ndarray:
    if cluster is None:
        return inf
    if copies is not None:  # a cluster holds every copy of its frequency-weighted units
        inf = inf * copies[:, None]
    out = np.empty((int(cluster.max()) + 1, inf.shape[1]))
    for j in range(inf.shape[1]):
        out[:, j] = np.bincount(cluster, weights=inf[:, j], minlength=out.shape[0])
    return out


def _size(inf: np.ndarray, copies: np.ndarray | None) -> float:
    return float(inf.shape[0]) if copies is None else float(copies.sum())


def analytic_se(inf: np.ndarray, cluster: np.ndarray | None = None,
                copies: np.ndarray | None = None) -> np.ndarray:
    """did's ``getSE`` with ``bstrap = FALSE``: √(Σ ψ²)/N, or over cluster sums of ψ. With
    frequency weights (`copies`) ψ is that of one copy: √(Σ wψ²)/Σw, as on expanded data."""
    s = _cluster_sums(inf, cluster, copies)
    sq = s * s if copies is None or cluster is not None else s * s * copies[:, None]
    return np.sqrt(sq.sum(axis=0)) / _size(inf, copies)


def bootstrap_se(
    inf: np.ndarray, draws: int, seed: int | None, cluster: np.ndarray | None = None,
    copies: np.ndarray | None = None,
) -> np.ndarray:
    """did's ``mboot``: Rademacher multipliers per unit (or cluster); SE from the interquartile
    range of the draws. Draws come in blocks so memory stays at a block × units matrix.

    With frequency weights and no coarser cluster, each copy of a unit gets its own multiplier
    (drawn in the order of the expanded data, then summed per unit), so the draws are those of
    the bootstrap on the data with units repeated w times."""
    s = _cluster_sums(inf, cluster, copies)
    per_copy = copies is not None and cluster is None
    nc = round(_size(inf, copies)) if per_copy else s.shape[0]
    starts = None
    if per_copy and copies is not None:
        starts = np.concatenate([[0], np.cumsum(copies.astype(np.int64))[:-1]])
    rng = np.random.default_rng(seed)
    out = np.empty((draws, s.shape[1]))
    block = max(1, min(draws, 2_000_000 // max(nc, 1)))
    for start in range(0, draws, block):
        b = min(block, draws - start)
        v = rng.integers(0, 2, size=(b, nc)).astype(np.float64) * 2 - 1
        if starts is not None:
            v = np.add.reduceat(v, starts, axis=1)
        out[start:start + b] = np.sqrt(nc) * (v @ s) / nc
    out.sort(axis=0)
    q75, q25 = out[int(np.ceil(0.75 * draws)) - 1], out[int(np.ceil(0.25 * draws)) - 1]
    iqr_norm = float(special.ndtri(0.75) - special.ndtri(0.25))
    return (q75 - q25) / iqr_norm * np.sqrt(nc) / _size(inf, copies)


def pretest(gt: GroupTime, cluster: np.ndarray | None = None,
            copies: np.ndarray | None = None) -> tuple[float, int, float] | None:
    """did's Wald pre-test that every pre-treatment ATT(g, t) is zero: W = N·a'V⁻¹a, χ²(q)."""
    pre = gt.group > gt.time
    if not pre.any():
        return None
    s = _cluster_sums(gt.inf[:, pre], cluster, copies)
    n = _size(gt.inf, copies)
    v = (s.T @ (s * copies[:, None]) if copies is not None and cluster is None
         else s.T @ s) / n
    if np.linalg.cond(v) > 1 / np.finfo(float).eps:
        return None
    a = gt.att[pre]
    w = float(n * a @ np.linalg.solve(v, a))
    q = int(pre.sum())
    return w, q, float(special.chdtrc(q, w))


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------
def callaway_santanna(
    frame: pd.DataFrame, design: Design, extra: pd.DataFrame | None = None
) -> EstimatorResult:
    """The registry's ``callaway_santanna``: see the module docstring.

    >>> import numpy as np, pandas as pd
    >>> u, t = np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)
    >>> adopt = np.array([1, 2, 9, 9])[u]
    >>> d = (t >= adopt).astype(float)
    >>> y = np.array([0, 3, 5, 1, 1, 4, 0, 1, 2, 2, 2, 3], dtype=float)
    >>> r = callaway_santanna(pd.DataFrame({"d": d, "y": y}), Design("d", "y", "att",
    ...                       unit="u", time="t"), pd.DataFrame({"u": u, "t": t}))
    >>> r.table("group-time").rows[0][:4]   # cohort 1 at period 1: (3 − 0) − mean(0, 1) = 2.5
    (1, 1, 0, 2.5)
    """
    control = str(design.option("control", "never"))
    if control not in CONTROLS:
        raise option_error(design, f'control = "{control}" is not a comparison group',
                           'use control = "never" (never treated) or "notyet" (not yet treated)')
    headline = str(design.option("aggregation", "simple"))
    if headline not in AGGREGATIONS:
        raise option_error(design, f'aggregation = "{headline}" is not an aggregation',
                           'use "simple", "group" or "dynamic"')
    draws = int(design.option("bootstrap", 0) or 0)
    if draws < 0 or draws == 1:
        raise option_error(design, f"bootstrap = {draws}: need at least 2 draws (0 = analytic)",
                           "e.g. bootstrap = 999")
    if design.unit is None or design.time is None or extra is None:
        raise option_error(design, "Callaway–Sant'Anna needs panel data",
                           "bind it with `data \"f.csv\" panel(unit = u, time = t)`")
    unit = extra[design.unit].to_numpy()
    time = extra[design.time].to_numpy()
    y = numeric(frame, design.outcome)
    d = numeric(frame, design.treatment)
    checks: list[Check] = []
    if design.covariates:
        checks.append(_covariates(frame, design, unit))
    cl_name = design.cluster if design.cluster not in (None, design.unit) else None
    cluster = extra[cl_name].to_numpy() if cl_name is not None else None
    panel = wide_panel(unit, time, y, d, design, cluster, design.weights)
    gt = group_time(panel, control)
    agg = aggregate(gt, panel)
    columns = [gt.inf, agg.simple[1][:, None], agg.group[1][:, None], agg.dynamic[1][:, None],
               *(p[:, None] for _, _, p in agg.by_group),
               *(p[:, None] for _, _, p, _ in agg.by_event)]
    inf_all = np.hstack(columns)
    if draws:
        se = bootstrap_se(inf_all, draws, design.seed, panel.cluster, panel.copies)
        se_kind = (f"multiplier bootstrap as did::mboot (Rademacher weights by "
                   f"{cl_name or design.unit}, B = {draws}, seed {design.seed}; SE from the "
                   "interquartile range); pointwise 95% normal intervals")
    else:
        se = analytic_se(inf_all, panel.cluster, panel.copies)
        se_kind = (f"influence function clustered by {cl_name or design.unit} (did::att_gt "
                   "analytic standard errors, bstrap = FALSE); pointwise 95% normal intervals")
    if not np.isfinite(np.concatenate([gt.att, se])).all():
        raise _error("E531", "the group-time effects are not finite", design,
                     "check the outcome for extreme values")
    k = len(gt.att)
    se_cells, se_simple, se_group, se_dyn = se[:k], se[k], se[k + 1], se[k + 2]
    se_by_group = se[k + 3:k + 3 + len(agg.by_group)]
    se_by_event = se[k + 3 + len(agg.by_group):]
    if design.weights is not None:
        se_kind += (f"; {design.weight_kind} weights per unit as did's weightsname"
                    + (" (units counted w times, as if repeated)" if panel.frequency else
                       " (weighted means and influence functions; N = units)"))
    n_units = round(panel.size)
    overall = {"simple": (agg.simple[0], se_simple), "group": (agg.group[0], se_group),
               "dynamic": (agg.dynamic[0], se_dyn)}
    effect, eff_se = overall[headline]
    est = Estimate.from_se(effect, eff_se, n=n_units * panel.periods, label="ATT",
                           se_kind=se_kind)

    def ci(a: float, s: float) -> tuple[float, float, float, float]:
        e = Estimate.from_se(a, s, n=n_units, label="", se_kind="")
        return e.se, e.ci_low, e.ci_high, e.p_value

    tables = [
        Table("Group-time ATT(g, t) (cohort g = adoption period; periods numbered 0, 1, ... in "
              "order; base = the comparison period)",
              ("cohort g", "period t", "base", "ATT(g,t)", "SE", "95% low", "95% high",
               "treated", "controls"),
              tuple((int(g), int(t), int(b), float(a), *ci(a, s)[:3], int(n1), int(n0))
                    for g, t, b, a, s, n1, n0 in zip(gt.group, gt.time, gt.base, gt.att, se_cells,
                                                     gt.n_treated, gt.n_control, strict=True))),
        Table('Event study by exposure e = t − g (did::aggte type = "dynamic"; e < 0 are '
              "pre-trend placebos against the period before)",
              ("exposure e", "ATT(e)", "SE", "95% low", "95% high", "p", "cells"),
              tuple((e, th, *ci(th, s), cells)
                    for (e, th, _, cells), s in zip(agg.by_event, se_by_event, strict=True))),
        Table("Overall ATT by aggregation (did::aggte)",
              ("aggregation", "ATT", "SE", "95% low", "95% high", "p"),
              tuple((name + (" (headline)" if name == headline else ""), a, *ci(a, s))
                    for name, (a, s) in overall.items())
              + tuple((f"  cohort {g}", a, *ci(a, s))
                      for (g, a, _), s in zip(agg.by_group, se_by_group, strict=True))),
    ]
    details: dict[str, object] = {
        "control": control, "aggregation": headline, "units": n_units,
        "periods": panel.periods, "cohorts": len(agg.by_group),
        "never_treated": int((panel.cohort == panel.periods).sum()),
        "att_simple": agg.simple[0], "se_simple": se_simple, "att_group": agg.group[0],
        "se_group": se_group, "att_dynamic": agg.dynamic[0], "se_dynamic": se_dyn,
        "dropped_unbalanced_units": panel.dropped_unbalanced,
        "dropped_always_treated_units": panel.dropped_always, "bootstrap": draws,
    }
    checks += _sample_checks(panel, design, control)
    checks.append(Check("note", f"overall ATT = {AGGREGATIONS[headline]}; the other "
                        "aggregations are in the table"))
    if design.estimand != "att":
        checks.append(Check("note", f"difference-in-differences identifies the effect on the "
                            f"units that adopted (ATT), not the {design.estimand.upper()}: the "
                            "estimate is labelled ATT"))
    test = pretest(gt, panel.cluster, panel.copies)
    if test is not None:
        w, q, p = test
        details.update({"pretrend_W": w, "pretrend_df": q, "pretrend_p": p})
        level: CheckLevel = "warning" if p < 0.05 else "ok"
        verdict = ("reject parallel pre-trends: the cohorts were already on different paths"
                   if p < 0.05 else "compatible with parallel pre-trends")
        checks.append(Check(level, f"pre-test (did's Wald test that the {q} pre-treatment "
                            f"ATT(g, t) are zero): W = {fmt(w, 4)}, p = {fmt(p, 3)}: {verdict}"))
    else:
        checks.append(Check("note", "no pre-treatment periods to test parallel trends"))
    if panel.weight is None or panel.frequency:
        checks += _bacon_checks(panel, details, tables, effect)
    else:
        checks.append(Check("note", f"{design.weight_kind} weights: group-time means and cohort "
                            "shares are weighted (did's weightsname); the Goodman-Bacon "
                            "decomposition of TWFE, defined for unweighted TWFE, is not shown"))
    g = int(panel.cluster.max()) + 1 if panel.cluster is not None else n_units
    if g < FEW_CLUSTERS:
        checks.append(Check("warning", f"only {g} clusters: influence-function standard errors "
                            f"are unreliable with fewer than about {FEW_CLUSTERS}"))
    desc = (f"Callaway & Sant'Anna (2021): ATT(g, t) of {design.treatment} on {design.outcome} "
            f"for each adoption cohort against {CONTROLS[control]}, unconditional (no "
            f"covariates; did::att_gt, xformla = ~1, varying base period), {n_units} units × "
            f"{panel.periods} periods, aggregated by {AGGREGATIONS[headline]}")
    return EstimatorResult("callaway_santanna", "att", est, desc, tuple(checks), tuple(tables),
                           tuple(details.items()))


def _covariates(frame: pd.DataFrame, design: Design, unit: np.ndarray) -> Check:
    """Unconditional CS cannot use controls: those constant within units only shift levels,
    which the before/after differences remove; time-varying ones are refused, not ignored."""
    x, names = design_matrix(frame, design.covariates)
    s = pd.DataFrame(x).groupby(unit).agg(["min", "max"]).to_numpy()
    varies = (s[:, 1::2] != s[:, 0::2]).any(axis=0)
    moving = [nm for nm, v in zip(names, varies, strict=True) if v]
    if moving:
        raise option_error(design, "Callaway–Sant'Anna here is unconditional (no covariates); "
                           "these vary within units and cannot be used: " + ", ".join(moving),
                           "drop them from `adjusting`, or use did (two-way fixed effects, which "
                           "adjusts for them linearly)")
    return Check("note", "constant within units, so removed by the before/after differences: "
                 + ", ".join(names) + " (parallel trends is assumed unconditionally)")


def _sample_checks(panel: WidePanel, design: Design, control: str) -> list[Check]:
    out = []
    cohorts = np.unique(panel.cohort[panel.cohort < panel.periods])
    sizes = ", ".join(f"period {g}: {int((panel.cohort == g).sum())}" for g in cohorts)
    out.append(Check("note", f"{len(panel.cohort)} units over {panel.periods} periods; adoption "
                     f"cohorts ({sizes}); {int((panel.cohort == panel.periods).sum())} never "
                     f"treated; comparison: {CONTROLS[control]}"))
    if panel.dropped_unbalanced:
        out.append(Check("warning", f"{panel.dropped_unbalanced} {design.unit}(s) not observed in "
                         "every period were dropped (did's balanced-panel rule)"))
    if panel.dropped_always:
        out.append(Check("note", f"{panel.dropped_always} {design.unit}(s) treated from the first "
                         "period were dropped: they have no untreated period to compare"))
    if panel.coerced_cohort is not None:
        out.append(Check("warning", f"no never-treated units: the cohort adopting in period "
                         f"{panel.coerced_cohort} serves as the comparison and the "
                         f"{panel.dropped_periods} period(s) from its adoption on are dropped "
                         "(did's rule)"))
    return out


def _bacon_checks(
    panel: WidePanel, details: dict[str, object], tables: list[Table], effect: float
) -> list[Check]:
    """Static TWFE on the same balanced panel, decomposed: how much weight it puts on
    already-treated controls — the reason to prefer the group-time estimator."""
    copies = panel.copies  # frequency weights: the panel with units repeated w times
    y, d = (panel.y, panel.d) if copies is None else (
        np.repeat(panel.y, copies.astype(np.int64), axis=0),
        np.repeat(panel.d, copies.astype(np.int64), axis=0))
    dec = bacon.decompose(y, d)
    share = dec.forbidden_weight
    details.update({"twfe": dec.twfe, "bacon_forbidden_weight": share})
    tables.append(dec.table())
    level: CheckLevel = "warning" if share > 0.05 else "note"
    return [Check(level, f"static TWFE on the same panel gives {fmt(dec.twfe)} (this estimate: "
                  f"{fmt(effect)}); {fmt(100 * share, 3)}% of its weight is on 2×2 comparisons "
                  "that use already-treated units as controls (Goodman-Bacon 2021), which is "
                  "biased when effects change over exposure")]


estimate = callaway_santanna

__all__ = ["AGGREGATIONS", "CONTROLS", "Aggregates", "GroupTime", "WidePanel", "aggregate",
           "analytic_se", "bootstrap_se", "callaway_santanna", "estimate", "group_time",
           "pretest", "wide_panel"]

"""Facts about a study's design that the planner's rules read: from the graph (is the treatment
randomised? which covariates only sharpen the estimate? which variables descend from the
treatment?) and from the data (which adjustment variables are constant within units or within
periods, and whether the treatment is a deterministic function of them — no overlap).

In: a `Model`, a `Query`, and the prepared estimation rows (`causal_dsl.data.prepare`). Out: small
frozen values (`Layout`) and tuples of names. Raises nothing of its own; reading the data can
raise `DataError` from `causal_dsl.data`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import prepare
from .estimators.common import numeric
from .model import Model, Query, VarType

DISCRETE = (VarType.BINARY, VarType.CATEGORICAL, VarType.ORDINAL)


def _children(model: Model) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in model.directed_edges:
        out.setdefault(e.source, []).append(e.target)
    return out


def descendants(model: Model, name: str) -> frozenset[str]:
    """Every variable reachable from `name` along directed edges (`name` excluded)."""
    ch = _children(model)
    seen: set[str] = set()
    stack = [name]
    while stack:
        for c in ch.get(stack.pop(), ()):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    seen.discard(name)
    return frozenset(seen)


def randomised(model: Model, treatment: str) -> bool:
    """No arrow and no bidirected (confounding) edge points into the treatment: whatever sets
    it — a coin, a lottery — is outside the graph, so nothing confounds it."""
    if any(e.target == treatment for e in model.directed_edges):
        return False
    return not any(treatment in (e.source, e.target) for e in model.bidirected_edges)


def precision_covariates(model: Model, query: Query) -> tuple[str, ...]:
    """Observed direct causes of the outcome that the treatment cannot affect: adjusting for them
    in a randomised trial removes outcome variance without risking bias (Lin 2013)."""
    down = descendants(model, query.treatment) | {query.treatment}
    parents = {e.source for e in model.directed_edges if e.target == query.outcome}
    keep = [v.name for v in model.observed if v.name in parents and v.name not in down
            and v.name not in query.exclude and v.type is not None]
    return tuple(sorted(keep))


@dataclass(frozen=True)
class Layout:
    """How the adjustment variables sit in the data, and whether they leave any overlap."""

    unit_level: tuple[str, ...]  # constant within every unit (panel)
    period_level: tuple[str, ...]  # constant within every period (panel)
    varying: tuple[str, ...]  # the rest: time-varying controls
    determined_by: tuple[str, ...]  # variables whose cells fix the treatment (no overlap), or ()
    cells: int  # cells of `determined_by` in the data
    pair: tuple[str, str] | None = None  # binary (group, period) with treatment = group × period

    @property
    def no_overlap(self) -> bool:
        return bool(self.determined_by)

    @property
    def absorbed(self) -> tuple[str, ...]:
        return tuple(sorted(self.unit_level + self.period_level))


def _constant_within(values: np.ndarray, codes: np.ndarray) -> bool:
    s = pd.Series(values)
    return bool((s.groupby(codes).nunique(dropna=False) <= 1).all())


def _determined(t: np.ndarray, cols: Sequence[np.ndarray]) -> tuple[bool, int]:
    """Is `t` constant within every cell of `cols`? (and how many cells there are)"""
    if not cols:
        return False, 0
    key = pd.MultiIndex.from_arrays(list(cols)) if len(cols) > 1 else pd.Index(cols[0])
    codes = pd.factorize(key)[0]
    ok = _constant_within(t, codes)
    return ok, int(codes.max()) + 1 if len(codes) else 0


def layout(
    model: Model, frame: pd.DataFrame, treatment: str, adjustment: Iterable[str]
) -> Layout:
    """Split `adjustment` into unit-level, period-level and varying variables (on a panel), and
    test overlap: is the treatment constant within every cell of the unit- and period-level
    variables (panel), or of the discrete variables (otherwise)?"""
    adj = sorted(adjustment)
    data = model.data
    panel = data is not None and data.is_panel
    extra = [data.unit, data.time] if panel and data is not None and data.unit and data.time \
        else []
    prep = prepare(model, frame, [treatment, *adj], [c for c in extra if c])
    t = numeric(prep.frame, treatment)
    cols = {a: numeric(prep.frame, a) for a in adj}
    unit_level: list[str] = []
    period_level: list[str] = []
    if panel and data is not None and data.unit and data.time:
        unit, time = prep.extra[data.unit].to_numpy(), prep.extra[data.time].to_numpy()
        for a in adj:
            if _constant_within(cols[a], unit):
                unit_level.append(a)
            elif _constant_within(cols[a], time):
                period_level.append(a)
        fixed = unit_level + period_level
    else:
        fixed = [a for a in adj if model.variable(a).type in DISCRETE]
    varying = [a for a in adj if a not in unit_level + period_level]
    det, cells = _determined(t, [cols[a] for a in fixed])
    pair = None
    if det:
        binary = [a for a in fixed if model.variable(a).type is VarType.BINARY]
        for i, g in enumerate(binary):
            for p in binary[i + 1:]:
                if np.array_equal(t, cols[g] * cols[p]):
                    pair = (g, p) if g in unit_level or p in period_level or not panel else (p, g)
                    break
            if pair:
                break
    return Layout(tuple(unit_level), tuple(period_level), tuple(varying),
                  tuple(fixed) if det else (), cells, pair)

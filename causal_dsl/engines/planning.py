"""What the planner's data rules read, as SQL aggregates in the engine: nothing row-sized loads.

In: a `Model` whose data `source.wants_engine` (a glob, a hive folder, `duckdb(...)`,
`spark(...)` or a big file). Out: `EngineData`, the planner's stand-in for a DataFrame
(`plan_rules.frame_of` makes one), with one method per fact a rule reads — each the exact
counterpart of its in-memory function, on the same rows (listwise-complete in the columns that
function prepares):

* `adoption` — `estimators.did.treatment_pattern`'s units, switchers (a 0 before a 1), units
  switching off (a 1 before a 0) and adoption cohorts (the first period treated after the first
  untreated one, over switchers), from per-unit MIN/MAX aggregates;
* `layout` — `designs.layout`'s split of the adjustment set into unit-level, period-level and
  varying variables (constant within every unit / period: MIN = MAX of each coded column per
  group, both groupings in one scan, and first on the first rows only: a variable seen varying
  there is settled), whether the treatment is constant within every cell of the fixed ones
  (no overlap, with the number of cells) and the (group, period) pair with treatment =
  group × period;
* `switches` — `adoption`'s switchers and units alone (what the DiD rule checks), without the
  window function the cohorts need;
* `support` — `estimators.stratification.stratification_support`'s count of cells lacking
  treated or controls, from per-cell sums.

Each call opens the engine, checks and codes the columns with `columns.sample` (so bad data gets
the same E4xx as estimation) and runs one or two GROUP BY queries. The results are a few
integers per call, whatever the rows. Raises `DataError` (E4xx) from `columns` and `source`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..estimators.stratification import Support
from ..model import VarType
from . import columns
from .source import VIEW, Engine, open_engine

if TYPE_CHECKING:
    from ..model import Model

DISCRETE = (VarType.BINARY, VarType.CATEGORICAL, VarType.ORDINAL)  # as `designs.DISCRETE`


@dataclass(frozen=True)
class Adoption:
    """How the treatment unfolds over time in the panel (the planner's part of `Pattern`)."""

    n_units: int
    switchers: int
    switch_off: int
    cohorts: int


@dataclass(frozen=True)
class LayoutFacts:
    """The fields of `designs.Layout`, computed in the engine."""

    unit_level: tuple[str, ...]
    period_level: tuple[str, ...]
    varying: tuple[str, ...]
    determined_by: tuple[str, ...]
    cells: int
    pair: tuple[str, str] | None


class EngineData:
    """Engine-bound data as the planner's rules see it (see the module docstring).

    >>> import causal_dsl
    >>> EngineData(causal_dsl.parse('data "e/*.parquet"\\n'))
    EngineData('e/*.parquet')
    """

    def __init__(self, model: Model, *, spark: Any = None) -> None:
        self.model = model
        self.spark = spark

    def __repr__(self) -> str:
        return f"EngineData({self.model.data.source if self.model.data else None!r})"

    def _sample(self, eng: Engine, names: Sequence[str], panel: bool) -> columns.Sample:
        b = self.model.data
        assert b is not None
        extra = [c for c in (b.unit, b.time) if c] if panel else []
        return columns.sample(eng, self.model, list(dict.fromkeys(names)), extra, b.source)

    def _panel(self, eng: Engine, treatment: str) -> tuple[columns.Sample, str, str, str]:
        """The checked sample of `treatment` on the panel, and the SQL of its unit, period and
        0/1 treatment."""
        s = self._sample(eng, [treatment], panel=True)
        b = self.model.data
        assert b is not None and b.unit and b.time
        return s, s.raw[b.unit], s.raw[b.time], s.expr(treatment)

    def adoption(self, treatment: str) -> Adoption:
        """Units, switchers, switch-offs and cohorts of `treatment` (0/1) on the panel."""
        eng = open_engine(self.model, spark=self.spark)
        try:
            s, u, t, d = self._panel(eng, treatment)
            # f0: first untreated period; a: the first treated period after it (the first
            # switch-on, as treatment_pattern's first step > 0 on the time-sorted rows)
            per_unit = (
                f"SELECT {u} AS _u, MIN(CASE WHEN _d = 0 THEN _t END) AS f0, "
                f"MAX(CASE WHEN _d = 0 THEN _t END) AS l0, MIN(CASE WHEN _d = 1 THEN _t END) AS "
                f"f1, MAX(CASE WHEN _d = 1 THEN _t END) AS l1, MIN(CASE WHEN _d = 1 AND _t > _f0 "
                f"THEN _t END) AS a FROM (SELECT {u}, {t} AS _t, {d} AS _d, MIN(CASE WHEN {d} = "
                f"0 THEN {t} END) OVER (PARTITION BY {u}) AS _f0 FROM {VIEW} WHERE {s.complete}"
                f") r GROUP BY {u}")
            n, on, off, cohorts = eng.one(
                "SELECT COUNT(*), SUM(CASE WHEN f0 < l1 THEN 1 ELSE 0 END), SUM(CASE WHEN f1 < "
                "l0 THEN 1 ELSE 0 END), COUNT(DISTINCT CASE WHEN f0 < l1 THEN a END) FROM "
                f"({per_unit}) x")
            return Adoption(int(n or 0), int(on or 0), int(off or 0), int(cohorts or 0))
        finally:
            eng.close()

    def switches(self, treatment: str) -> tuple[int, int]:
        """`adoption`'s (switchers, units) alone: per-unit MIN/MAX, no window function."""
        eng = open_engine(self.model, spark=self.spark)
        try:
            s, u, t, d = self._panel(eng, treatment)
            n, on = eng.one(
                "SELECT COUNT(*), SUM(CASE WHEN f0 < l1 THEN 1 ELSE 0 END) FROM (SELECT "
                f"MIN(CASE WHEN {d} = 0 THEN {t} END) AS f0, MAX(CASE WHEN {d} = 1 THEN {t} END) "
                f"AS l1 FROM {VIEW} WHERE {s.complete} GROUP BY {u}) x")
            return int(on or 0), int(n or 0)
        finally:
            eng.close()

    def layout(self, treatment: str, adjustment: Sequence[str]) -> LayoutFacts:
        """`designs.layout` in SQL: the same rows, the same order of the rules."""
        adj = sorted(adjustment)
        b = self.model.data
        panel = b is not None and b.is_panel and bool(b.unit) and bool(b.time)
        kinds = {a: self.model.variable(a).type for a in adj}
        eng = open_engine(self.model, spark=self.spark)
        try:
            s = self._sample(eng, [treatment, *adj], panel=panel)
            d = s.expr(treatment)
            base = f"{VIEW} WHERE {s.complete}"
            unit_level: list[str] = []
            period_level: list[str] = []
            if panel and adj:
                assert b is not None and b.unit and b.time
                by_unit, by_time = _varies_within(eng, s, base, s.raw[b.unit], s.raw[b.time],
                                                  adj)
                for a in adj:
                    if not by_unit[a]:
                        unit_level.append(a)
                    elif not by_time[a]:
                        period_level.append(a)
                fixed = unit_level + period_level
            else:
                fixed = [a for a in adj if kinds[a] in DISCRETE]
            varying = [a for a in adj if a not in unit_level + period_level]
            det, cells = False, 0
            if fixed:
                n_cells, mixed = eng.one(
                    "SELECT COUNT(*), SUM(CASE WHEN lo <> hi THEN 1 ELSE 0 END) FROM (SELECT "
                    f"MIN({d}) AS lo, MAX({d}) AS hi FROM {base}{_by(s, fixed)}) x")
                cells = int(n_cells or 0)
                det = int(mixed or 0) == 0
            pair = None
            if det:
                binary = [a for a in fixed if kinds[a] is VarType.BINARY]
                pairs = [(g, p) for i, g in enumerate(binary) for p in binary[i + 1:]]
                if pairs:
                    got = eng.one("SELECT " + ", ".join(
                        f"SUM(CASE WHEN {d} <> {s.expr(g)} * {s.expr(p)} THEN 1 ELSE 0 END)"
                        for g, p in pairs) + f" FROM {base}")
                    for (g, p), bad in zip(pairs, got, strict=True):
                        if int(bad or 0) == 0:
                            pair = (g, p) if g in unit_level or p in period_level or not panel \
                                else (p, g)
                            break
            return LayoutFacts(tuple(unit_level), tuple(period_level), tuple(varying),
                               tuple(fixed) if det else (), cells, pair)
        finally:
            eng.close()

    def support(self, treatment: str, covariates: Sequence[str]) -> Support:
        """Cells of the (discrete) covariates and how many lack treated or controls."""
        eng = open_engine(self.model, spark=self.spark)
        try:
            s = self._sample(eng, [treatment, *covariates], panel=False)
            d = s.expr(treatment)
            g, bad = eng.one(
                "SELECT COUNT(*), SUM(CASE WHEN n1 = 0 OR n1 = n THEN 1 ELSE 0 END) FROM (SELECT "
                f"SUM({d}) AS n1, COUNT(*) AS n FROM {VIEW} WHERE {s.complete}"
                f"{_by(s, covariates)}) x")
        finally:
            eng.close()
        return Support.of_cells(int(g or 0), int(bad or 0), covariates)


def _by(s: columns.Sample, names: Sequence[str]) -> str:
    """GROUP BY the cells of `names` (a categorical as its dummies: the same cells); none
    when every one takes a single value (one cell: an integer literal would be positional)."""
    keys = [e for _, e in s.design(names)]
    return f" GROUP BY {', '.join(keys)}" if keys else ""


PROBE_ROWS = 100_000  # rows read first by `_varies_within`: a witness there settles a variable


def _varies_within(eng: Engine, s: columns.Sample, base: str, unit: str, time: str,
                   names: Sequence[str]) -> tuple[dict[str, bool], dict[str, bool]]:
    """Per variable: does it take two values within some unit, and within some period?

    First on the first `PROBE_ROWS` rows only: two values within one unit there are two values
    within that unit in the whole data, so a variable seen varying (the usual time-varying
    covariate) is settled without a GROUP BY over every unit; only the others are asked of
    all the rows. Each query is ONE scan (GROUP BY GROUPING SETS: a hash table per grouping);
    the rows are complete, so in the per-unit grouping the period key is NULL and vice versa."""
    by_unit = dict.fromkeys(names, False)
    by_time = dict.fromkeys(names, False)
    for rows in (f"(SELECT * FROM {base} LIMIT {PROBE_ROWS}) p", base):
        todo = [n for n in names if not (by_unit[n] and by_time[n])]
        if not todo:
            break
        inner = []
        for i, n in enumerate(todo):
            test = " OR ".join(f"MIN({e}) <> MAX({e})" for _, e in s.columns[n].exprs) or "FALSE"
            inner.append(f"CASE WHEN {test} THEN 1 ELSE 0 END AS v{i}")
        for r in eng.rows(
                f"SELECT by_unit, {', '.join(f'MAX(v{i})' for i in range(len(todo)))} FROM "
                f"(SELECT ({time} IS NULL) AS by_unit, {', '.join(inner)} FROM {rows} "
                f"GROUP BY GROUPING SETS (({unit}), ({time}))) x GROUP BY by_unit"):
            found = by_unit if r[0] else by_time
            for n, v in zip(todo, r[1:], strict=True):
                found[n] = found[n] or bool(int(v or 0))
    return by_unit, by_time


__all__ = ["Adoption", "EngineData", "LayoutFacts"]

"""Result values of estimation and of a report: data only.

In: numbers computed by the estimators (`causal_dsl.estimators`) and the planner, and the parts
of a report (`causal_dsl.report`). Out: frozen dataclasses — `Estimate` (effect, SE, 95%
interval, p-value), `Table` (balance, coefficients, event study), `Check` (one diagnostic line),
`EstimatorResult` (one estimator's answer plus the diagnostics of its design), `SampleReport`
(rows read, dropped and why, used), `UnitData` (per-row scores and weights of a matching
design), `Plan` (which estimator and why), `QueryResult` (plan +
sample + estimate + naive contrast + cross-check + the query's identification), `RunResult`
(every query), and `Report` / `QuerySection` (what a report says). Each gives ``to_dict()``
(data) and, where it is a whole answer, ``to_json()`` and ``to_frame()`` (`causal_dsl.frames`).

Drawing them as text, Markdown or HTML is the job of `causal_dsl.present`, a later stage this
module must not import: ``str()``, ``summary()``, ``to_markdown()``, ``to_html()`` and Jupyter's
``_repr_html_`` ask `causal_dsl.display`, which `causal_dsl.present.register()` fills, and fall
back to the dataclass ``repr`` when nothing is registered.

Nothing here raises on user input; numbers are spelled by `fmt` / `fmt_p`, which never fail on
NaN or infinite values (``nan`` / ``inf``; ``null`` in JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import display, distributions
from .errors import CausalError, Diagnostic
from .model import Model, Query
from .plans import Plan

if TYPE_CHECKING:
    from .checks import FittedRobustness, StudyChecks
    from .identify import Identification

CheckLevel = Literal["ok", "note", "warning"]


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------
def fmt(
    x: float | int | np.floating[Any] | np.integer[Any] | None, digits: int = 4
) -> str:
    """A number with `digits` significant digits, plain (no exponent) when reasonable.

    >>> fmt(1234.5678), fmt(0.000012345), fmt(float("nan")), fmt(3)
    ('1235', '1.234e-05', 'nan', '3')
    """
    if x is None:
        return "—"
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if 1e-4 <= abs(x) < 1e7:
        out = f"{x:.{digits}g}"
        return out
    return f"{x:.{digits - 1}e}"


def fmt_p(p: float) -> str:
    """A p-value as people read it: ``< 0.001`` below a thousandth.

    >>> fmt_p(0.00001), fmt_p(0.0312)
    ('< 0.001', '0.031')
    """
    if p is None or math.isnan(p):
        return "nan"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "to_dict"):
        return _clean(value.to_dict())
    return str(value)


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its standard error, 95% interval and two-sided p-value.

    `df` is the degrees of freedom of the t reference distribution, or None for the normal.

    >>> e = Estimate.from_se(2.0, 0.5, n=100, label="ATE", se_kind="HC1")
    >>> round(e.ci_low, 3), round(e.ci_high, 3), e.p_value < 0.001
    (1.02, 2.98, True)
    """

    label: str
    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    se_kind: str
    df: float | None = None

    @staticmethod
    def from_se(
        effect: float,
        se: float,
        *,
        n: int,
        label: str,
        se_kind: str,
        df: float | None = None,
        level: float = 0.95,
    ) -> Estimate:
        effect = float(effect)
        se = float(se)
        ok = se > 0 and math.isfinite(se)
        if df is not None and np.isfinite(df) and df > 0:
            crit = distributions.t_quantile(0.5 + level / 2, df)
            p = distributions.t_two_sided(effect / se, df) if ok else math.nan
        else:
            crit = distributions.normal_quantile(0.5 + level / 2)
            p = math.erfc(abs(effect / se) / math.sqrt(2.0)) if ok else math.nan
            df = None
        return Estimate(label, effect, se, effect - crit * se, effect + crit * se, p, int(n),
                        se_kind, df)

    def covers(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    def overlaps(self, other: Estimate) -> bool:
        return self.ci_low <= other.ci_high and other.ci_low <= self.ci_high

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "label": self.label,
                "effect": self.effect,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
                "n": self.n,
                "se_kind": self.se_kind,
                "df": self.df,
            }
        )


@dataclass(frozen=True, slots=True)
class Check:
    """One line of a design's diagnostics: ``ok``, ``note`` or ``warning`` plus plain text."""

    level: CheckLevel
    message: str

    def __str__(self) -> str:
        return _shown("text", self)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "message": self.message}


@dataclass(frozen=True, slots=True)
class Table:
    """A small table (balance, coefficients, event study, group means)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": _clean([list(r) for r in self.rows]),
        }


@dataclass(frozen=True, slots=True)
class SampleReport:
    """Which rows an estimate used: read, dropped for missing values (per column) and used.

    `missing_by_column` counts, for each column the estimator needs, the rows where that column
    is missing (a row missing two columns is counted under both, and once in `dropped`).
    """

    source: str
    rows_read: int
    rows_used: int
    columns: tuple[str, ...]
    missing_by_column: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def dropped(self) -> int:
        return self.rows_read - self.rows_used

    def describe(self) -> str:
        """``1000 rows read from heart.csv; 12 dropped for missing values (age: 10, ...)``.

        A sentence, not a format: every presenter shows it (escaped for its format)."""
        parts = [f"{self.rows_read} rows read from {self.source}"]
        if self.dropped:
            why = ", ".join(f"{c}: {n}" for c, n in self.missing_by_column if n)
            parts.append(
                f"{self.dropped} dropped for missing values in the columns used ({why})"
            )
        else:
            parts.append("none dropped (no missing values in the columns used)")
        parts.append(f"{self.rows_used} used")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "source": self.source,
                "rows_read": self.rows_read,
                "rows_dropped": self.dropped,
                "rows_used": self.rows_used,
                "columns": list(self.columns),
                "missing_by_column": dict(self.missing_by_column),
                "notes": list(self.notes),
            }
        )


@dataclass(frozen=True)
class EstimatorResult:
    """One estimator's answer: the estimate, what was fitted, and the design's diagnostics.

    `details` holds the design's figures by name (condition number, matched counts, number of
    clusters...) for programs; `checks` says in words what they mean; `tables` shows them.
    """

    method: str
    estimand: str
    estimate: Estimate
    description: str
    checks: tuple[Check, ...] = ()
    tables: tuple[Table, ...] = ()
    details: tuple[tuple[str, Any], ...] = ()
    # per-row figures of a design that has them (matching), for `QueryResult.matched_data`
    # and the overlap plot; not part of the JSON (one number per row)
    units: UnitData | None = field(default=None, compare=False, repr=False)

    def detail(self, key: str, default: Any = None) -> Any:
        return dict(self.details).get(key, default)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(c.message for c in self.checks if c.level == "warning")

    def table(self, title_prefix: str) -> Table | None:
        for t in self.tables:
            if t.title.lower().startswith(title_prefix.lower()):
                return t
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "estimand": self.estimand,
            "estimate": self.estimate.to_dict(),
            "description": self.description,
            "checks": [c.to_dict() for c in self.checks],
            "tables": [t.to_dict() for t in self.tables],
            "details": _clean(dict(self.details)),
        }


@dataclass(frozen=True, eq=False)
class UnitData:
    """Per row of the estimation sample, what matching did with it: `rows` the coded columns
    (a DataFrame), `distance` the scale matched on, `score` the propensity score, `weights`
    those of the balance table (0: unused), `dropped` targets without a match, and
    `outside_support`; `subclass` the pair (without replacement only, as MatchIt)."""

    rows: Any
    treatment: str
    distance: np.ndarray
    distance_name: str
    score: np.ndarray
    weights: np.ndarray
    dropped: np.ndarray
    outside_support: np.ndarray
    subclass: np.ndarray | None = None


# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# per query and per run
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryResult:
    """Everything ``causal run`` reports for one query.

    The headline fields (`effect`, `se`, `ci_low`, `ci_high`, `p_value`) are those of the
    planned estimator; `naive` is the unadjusted contrast on the same rows; `cross_check` is
    the other valid adjustment estimator when there is one, and `agreement` says whether the
    two intervals overlap. `robustness`: E-value, RV, Rosenbaum bounds of this fit (planner).
    """

    query: str
    plan: Plan
    sample: SampleReport
    result: EstimatorResult
    naive: Estimate
    cross_check: EstimatorResult | None = None
    agreement: Check | None = None
    seed: int | None = None
    checks: tuple[Check, ...] = field(default=())
    # the identification the plan was made from (filled by the planner), so that a report
    # does not identify the query again; not part of the JSON, which `causal identify` gives
    identification: Identification | None = field(default=None, compare=False, repr=False)
    robustness: FittedRobustness | None = field(default=None, compare=False, repr=False)

    # headline numbers ----------------------------------------------------------------------
    @property
    def estimate(self) -> Estimate:
        return self.result.estimate

    @property
    def effect(self) -> float:
        return self.result.estimate.effect

    @property
    def se(self) -> float:
        return self.result.estimate.se

    @property
    def ci_low(self) -> float:
        return self.result.estimate.ci_low

    @property
    def ci_high(self) -> float:
        return self.result.estimate.ci_high

    @property
    def p_value(self) -> float:
        return self.result.estimate.p_value

    @property
    def method(self) -> str:
        return self.result.method

    @property
    def all_checks(self) -> tuple[Check, ...]:
        extra = (self.agreement,) if self.agreement is not None else ()
        return self.checks + self.result.checks + extra

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(c.message for c in self.all_checks if c.level == "warning")

    # tables for programs (built by causal_dsl.frames) -----------------------------------
    def tidy_rows(self) -> list[dict[str, Any]]:
        """One dict per estimate (planned, cross-check, naive): broom's ``tidy()`` columns."""
        from .frames import tidy_rows

        return tidy_rows(self)

    def to_frame(self) -> Any:
        """The estimates as a pandas DataFrame, one row per estimate (broom's convention:
        estimate, std_error, conf_low, conf_high, p_value; with query, role, estimand, method,
        n and the kind of standard error)."""
        from .frames import tidy_frame

        return tidy_frame(self.tidy_rows())

    def matched_data(self, *, all_units: bool = False) -> Any:
        """The matched sample as a pandas DataFrame, MatchIt's ``match.data()`` convention
        (`causal_dsl.frames.matched_data`); E608 when the query was not estimated by
        matching."""
        from .frames import matched_data

        return matched_data(self, all_units=all_units)

    # formats (drawn by causal_dsl.present) ----------------------------------------------
    def summary(self) -> str:
        """The text ``causal run`` prints for this query."""
        return _shown("text", self)

    def to_markdown(self) -> str:
        return _shown("markdown", self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "plan": self.plan.to_dict(),
            "estimate": self.estimate.to_dict(),
            "result": self.result.to_dict(),
            "naive": self.naive.to_dict(),
            "cross_check": self.cross_check.to_dict() if self.cross_check else None,
            "agreement": self.agreement.to_dict() if self.agreement else None,
            "sample": self.sample.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "warnings": list(self.warnings),
            "seed": self.seed,
            "robustness": _clean(self.robustness.to_dict()) if self.robustness else None,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str | None:
        """Jupyter's view: estimates, forest plot, plan, sample, diagnostics (escaped HTML)."""
        return display.show("html", self)


@dataclass(frozen=True)
class RunResult:
    """The answers to every query of a study (``causal run``)."""

    title: str | None
    source: str
    results: tuple[QueryResult, ...]
    # queries that could not be planned or estimated (only with ``run(keep_going=True)``):
    # (query name, the diagnostics of its error)
    failures: tuple[tuple[str, tuple[Diagnostic, ...]], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def __iter__(self) -> Iterator[QueryResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, key: int | str) -> QueryResult:
        if isinstance(key, int):
            return self.results[key]
        for r in self.results:
            if r.query == key:
                return r
        raise KeyError(key)

    def summary(self) -> str:
        """The text ``causal run`` prints."""
        return _shown("text", self)

    def to_markdown(self) -> str:
        return _shown("markdown", self)

    def to_frame(self) -> Any:
        """Every query's estimates as one pandas DataFrame (`QueryResult.to_frame`'s rows)."""
        from .frames import tidy_frame

        return tidy_frame([row for r in self.results for row in r.tidy_rows()])

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "data": self.source,
            "queries": [r.to_dict() for r in self.results],
            "failures": [{"query": name, "diagnostics": [d.to_dict() for d in diags]}
                         for name, diags in self.failures],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def format(self, kind: str = "text", *, verbose: bool = False) -> str:
        """``text``, ``markdown`` or ``json`` (what ``causal run --format`` prints): the
        summary table, or with `verbose` also every query's details and the comparison."""
        if kind == "json":
            return self.to_json()
        return _shown(f"{kind}-verbose" if verbose else kind, self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str | None:
        """Jupyter's view: every query's estimates (escaped HTML)."""
        return display.show("html", self)


# --------------------------------------------------------------------------------------------
# a report (built by causal_dsl.report, drawn by causal_dsl.present)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuerySection:
    """What a report says about one query: its identification (or why there is none), its
    estimates (or why there are none), and its own diagram when its roles differ from the
    main one."""

    query: Query
    identification: Identification | None = None
    identification_error: CausalError | None = None
    result: QueryResult | None = None
    estimation_error: CausalError | None = None
    diagram_svg: str | None = None
    diagram_mermaid: str | None = None
    highlight: str = "adjustment"


@dataclass(frozen=True)
class Report:
    """Everything in a report, computed once; `to_html` and `to_markdown` only draw it."""

    study: Model
    assumptions: tuple[str, ...]
    implications: tuple[str, ...]
    implications_more: int
    sections: tuple[QuerySection, ...]
    diagram_svg: str | None
    diagram_mermaid: str
    diagram_note: str
    diagram_highlight: str = "adjustment"
    data_note: str | None = None  # why there are no estimates (no data, data error)
    data_error: CausalError | None = None
    estimated: bool = False
    engine: str | None = None
    notes: tuple[str, ...] = field(default=())
    checks: StudyChecks | str | None = None  # the assumptions on trial, or why they are not

    @property
    def title(self) -> str:
        return self.study.title or (Path(self.study.path).stem if self.study.path else
                                    "Causal study")

    def to_html(self) -> str:
        return _shown("html", self)

    def to_markdown(self) -> str:
        return _shown("markdown", self)


def _shown(fmt_: str, value: object) -> str:
    """`value` drawn in `fmt_` by its presenter (`causal_dsl.present`), or its ``repr`` when
    no presenter is registered (this module cannot import that later stage)."""
    drawn = display.show(fmt_, value)
    return drawn if drawn is not None else repr(value)


def agreement_check(a: EstimatorResult, b: EstimatorResult) -> Check:
    """Do two estimators of the same effect agree, i.e. do their 95% intervals overlap?"""
    ea, eb = a.estimate, b.estimate
    if ea.overlaps(eb):
        return Check(
            "ok",
            f"{a.method} and {b.method} agree: their 95% intervals "
            f"[{fmt(ea.ci_low)}, {fmt(ea.ci_high)}] and [{fmt(eb.ci_low)}, {fmt(eb.ci_high)}] "
            "overlap",
        )
    return Check(
        "warning",
        f"{a.method} ({fmt(ea.effect)}) and {b.method} ({fmt(eb.effect)}) disagree beyond "
        f"their 95% intervals [{fmt(ea.ci_low)}, {fmt(ea.ci_high)}] and "
        f"[{fmt(eb.ci_low)}, {fmt(eb.ci_high)}]: suspect a non-linear or interacted relation "
        "between the adjustment set and the outcome (which biases OLS) or poor overlap "
        "(which strains matching); look at the balance table and the overlap report",
    )

"""Result values of estimation and their text, Markdown and JSON forms.

In: numbers computed by the estimators (`causal_dsl.estimators`) and the planner. Out: frozen
dataclasses — `Estimate` (effect, SE, 95% interval, p-value), `Table` (balance, coefficients,
event study), `Check` (one diagnostic line), `EstimatorResult` (one estimator's answer plus the
diagnostics of its design), `SampleReport` (rows read, dropped and why, used), `QueryResult`
(plan + sample + estimate + naive contrast + cross-check) and `RunResult` (every query) — each
with ``summary()`` (text), ``to_markdown()`` and ``to_dict()`` / ``to_json()``.

Nothing here raises on user input; formatting never fails on NaN or infinite values (they are
shown as ``nan`` / ``inf`` in text and ``null`` in JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import special

from .errors import Diagnostic

if TYPE_CHECKING:
    from .planner import Plan

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
        # scipy.special, not scipy.stats: the same functions without seconds of import time
        if df is not None and np.isfinite(df) and df > 0:
            crit = float(special.stdtrit(df, 0.5 + level / 2))
            tail = float(special.stdtr(df, -abs(effect) / se)) if se > 0 else float("nan")
        else:
            crit = float(special.ndtri(0.5 + level / 2))
            tail = float(special.ndtr(-abs(effect) / se)) if se > 0 else float("nan")
            df = None
        ok = se > 0 and np.isfinite(se)
        p = 2 * tail if ok else float("nan")
        return Estimate(label, effect, se, effect - crit * se, effect + crit * se, p, int(n),
                        se_kind, df)

    def covers(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    def overlaps(self, other: Estimate) -> bool:
        return self.ci_low <= other.ci_high and other.ci_low <= self.ci_high

    def line(self) -> str:
        """``ATE = 1.23 (SE 0.10), 95% CI [1.03, 1.43], p < 0.001``."""
        return (
            f"{self.label} = {fmt(self.effect)} (SE {fmt(self.se)}), "
            f"95% CI [{fmt(self.ci_low)}, {fmt(self.ci_high)}], p {_p_phrase(self.p_value)}"
        )

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


def _p_phrase(p: float) -> str:
    s = fmt_p(p)
    return s if s.startswith("<") else f"= {s}"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of a design's diagnostics: ``ok``, ``note`` or ``warning`` plus plain text."""

    level: CheckLevel
    message: str

    def __str__(self) -> str:
        mark = {"ok": "ok", "note": "note", "warning": "WARNING"}[self.level]
        return f"[{mark}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "message": self.message}


@dataclass(frozen=True, slots=True)
class Table:
    """A small table (balance, coefficients, event study, group means)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def text(self, indent: str = "") -> str:
        cells = [list(self.columns)] + [[_cell(v) for v in r] for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [f"{indent}{self.title}"]
        for j, row in enumerate(cells):
            pairs = enumerate(zip(row, widths, strict=True))
            parts = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
            lines.append(indent + "  " + "  ".join(parts).rstrip())
            if j == 0:
                lines.append(indent + "  " + "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def markdown(self) -> str:
        head = "| " + " | ".join(self.columns) + " |"
        sep = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"
        body = ["| " + " | ".join(_cell(v) for v in r) + " |" for r in self.rows]
        return "\n".join([f"**{self.title}**", "", head, sep, *body])

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": _clean([list(r) for r in self.rows]),
        }


def _cell(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return fmt(v, 3)
    return fmt(v) if isinstance(v, (int, np.integer)) else str(v)


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
        """``1000 rows read from heart.csv; 12 dropped for missing values (age: 10, ...)``."""
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


# --------------------------------------------------------------------------------------------
# per query and per run
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryResult:
    """Everything ``causal run`` reports for one query.

    The headline fields (`effect`, `se`, `ci_low`, `ci_high`, `p_value`) are those of the
    planned estimator; `naive` is the unadjusted contrast on the same rows; `cross_check` is
    the other valid adjustment estimator when there is one, and `agreement` says whether the
    two intervals overlap.
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

    # formats -------------------------------------------------------------------------------
    def summary(self) -> str:
        p = self.plan
        lines = [f"Query {self.query}: {p.estimand.upper()}({p.treatment} -> {p.outcome})"]
        lines.append(f"  Plan: {p.method}  [rule: {p.rule}]")
        for r in p.reasons:
            lines.append(f"    - {r}")
        lines.append(f"  Estimate: {self.estimate.line()}")
        lines.append(f"    {self.result.description}")
        lines.append(f"    standard errors: {self.estimate.se_kind}")
        lines.append(f"  Naive (unadjusted) contrast: {self.naive.line()}")
        if self.cross_check is not None:
            lines.append(
                f"  Cross-check ({self.cross_check.method}): {self.cross_check.estimate.line()}"
            )
        lines.append(f"  Sample: {self.sample.describe()}")
        for n in self.sample.notes:
            lines.append(f"    - {n}")
        lines.append("  Diagnostics:")
        for c in self.all_checks:
            lines.append(f"    {c}")
        for t in self.result.tables:
            lines.append(t.text(indent="  "))
        if self.seed is not None:
            lines.append(f"  Seed: {self.seed}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        p = self.plan
        e = self.estimate
        out = [f"## Query `{self.query}`: {p.estimand.upper()}({p.treatment} → {p.outcome})", ""]
        out.append(f"**Plan:** {p.method} (rule: {p.rule})")
        out.append("")
        out += [f"- {r}" for r in p.reasons]
        out.append("")
        out += [
            "| | estimate | SE | 95% CI | p |",
            "|---|---:|---:|---|---:|",
            _md_row(f"**{e.label}** ({self.result.method})", e),
            _md_row("naive contrast", self.naive),
        ]
        if self.cross_check is not None:
            out.append(_md_row(f"cross-check ({self.cross_check.method})",
                               self.cross_check.estimate))
        out += ["", f"{self.result.description}. Standard errors: {e.se_kind}.", ""]
        out.append(f"**Sample:** {self.sample.describe()}.")
        out += [f"- {n}" for n in self.sample.notes]
        out += ["", "**Diagnostics:**", ""]
        out += [f"- {c.level}: {c.message}" for c in self.all_checks]
        for t in self.result.tables:
            out += ["", t.markdown()]
        return "\n".join(out)

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
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Jupyter's view: estimates, forest plot, plan, sample, diagnostics (escaped HTML)."""
        from .report import query_result_html

        return query_result_html(self)


def _md_row(name: str, e: Estimate) -> str:
    return (
        f"| {name} | {fmt(e.effect)} | {fmt(e.se)} | [{fmt(e.ci_low)}, {fmt(e.ci_high)}] "
        f"| {fmt_p(e.p_value)} |"
    )


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
        head = f"Study: {self.title}" if self.title else "Study"
        parts = [f"{head}\nData: {self.source}"]
        parts += [r.summary() for r in self.results]
        parts += [f"Query {name}: not estimated ({', '.join(d.code for d in diags)}: "
                  f"{diags[0].message})" for name, diags in self.failures if diags]
        return "\n\n".join(parts)

    def to_markdown(self) -> str:
        head = f"# {self.title}" if self.title else "# Causal study"
        parts = [f"{head}\n\nData: `{self.source}`"]
        parts += [r.to_markdown() for r in self.results]
        parts += [f"## Query `{name}`: not estimated\n\n"
                  + "\n".join(f"- {d.code}: {d.message}" for d in diags)
                  for name, diags in self.failures]
        return "\n\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "data": self.source,
            "queries": [r.to_dict() for r in self.results],
            "failures": [{"query": name, "diagnostics": [d.to_json() for d in diags]}
                         for name, diags in self.failures],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def format(self, kind: str = "text") -> str:
        """``text``, ``markdown`` or ``json``."""
        if kind == "json":
            return self.to_json()
        if kind == "markdown":
            return self.to_markdown()
        return self.summary()

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Jupyter's view: every query's estimates (escaped HTML)."""
        from .report import run_result_html

        return run_result_html(self)


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


def tables_of(rows: Sequence[Sequence[Any]], title: str, columns: Sequence[str]) -> Table:
    return Table(title, tuple(columns), tuple(tuple(r) for r in rows))

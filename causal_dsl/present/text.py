"""Plain-text presenters: what ``causal run`` (``--format text``), ``causal check`` and
``str(result)`` print, and the tables every format shares (the summary of a run, the comparison
of its estimates, table cells).

In: result values (`Estimate`, `Check`, `Table`, `Plan`, `QueryResult`, `RunResult`,
`Identification`) and a model (its one-screen overview). Out: text for a terminal, aligned
where it is a table, lines within `WIDTH` (100) columns: long sentences wrap with a hanging
indent, and a table too wide is split into column blocks (the first column repeated), as R
prints a wide data frame. Raises nothing. Text needs no escaping: names are printed as the
user wrote them.

Numbers: 4 significant digits everywhere (estimates and table cells alike), p-values as
``< 0.001`` below a thousandth (`fmt_p`) in every column headed ``p``, and a cell with no value
(an event study's reference period has no p-value) as ``—``, never ``nan``.

``causal run`` prints the summary table (query, estimand, method, estimate, 95% CI, n) and the
warnings; with ``--verbose`` (`run_result_text(verbose=True)`) it then prints each distinct
identification once (queries on the same pair with the same reasoning share it), each query's
details, and ends with the comparison of every estimate (planned, cross-check, naive).
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from ..model import Model
from ..results import Check, Estimate, Plan, QueryResult, RunResult, Table, fmt, fmt_p

if TYPE_CHECKING:
    from ..identify import Identification

__all__ = ["WIDTH", "cell_text", "check_text", "comparison_table", "drew_at_random",
           "estimate_line", "identification_badge", "identification_groups",
           "identification_text", "numeric_columns", "plan_text", "query_result_text",
           "run_result_text", "study_text", "summary_table", "table_cells", "table_text",
           "variable_rows", "warning_lines", "wrap"]

WIDTH = 100
_MARKS = {"ok": "ok", "note": "note", "warning": "WARNING"}


def wrap(text: str, indent: str = "", hang: str = "  ", width: int = WIDTH) -> list[str]:
    """`text` as lines of at most `width` columns: the first after `indent`, the others after
    `indent` + `hang`. A word longer than the line (a long path) is broken rather than left
    sticking out.

    >>> wrap("a " * 8, indent="  ", width=10)
    ['  a a a a', '    a a a', '    a']
    """
    return textwrap.wrap(text, width=width, initial_indent=indent,
                         subsequent_indent=indent + hang, break_on_hyphens=False) or [indent]


def cell_text(v: object) -> str:
    """A table cell as text: numbers to 4 significant digits, counts whole, booleans yes/no,
    a missing value (NaN, None) as ``—``.

    >>> cell_text(0.123456), cell_text(12), cell_text(True), cell_text("ward"), cell_text(None)
    ('0.1235', '12', 'yes', 'ward', '—')
    """
    if isinstance(v, str):
        return v
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return "—" if math.isnan(float(v)) else fmt(v, 4)
    return fmt(v) if isinstance(v, (int, np.integer)) else str(v)


_NUMBER = re.compile(r"^(< )?[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^—$|^-?inf$")


def numeric_columns(cells: list[list[str]]) -> list[bool]:
    """Which columns of a table body hold numbers only (right-aligned in every format)."""
    if not cells:
        return []
    return [all(_NUMBER.match(row[i]) for row in cells) for i in range(len(cells[0]))]


def _is_p(column: str) -> bool:
    c = column.strip().lower()
    return c in ("p", "p-value", "p value", "pr(>|t|)", "pr(>|z|)") or c.startswith("p (")


def table_cells(t: Table) -> list[list[str]]:
    """The table's body as text cells, every format's: p-value columns through `fmt_p`.

    >>> table_cells(Table("t", ("term", "coef", "p"), (("x", 1.23456, 1e-9), ("r", 0.0, None))))
    [['x', '1.235', '< 0.001'], ['r', '0', '—']]
    """
    pcols = {i for i, c in enumerate(t.columns) if _is_p(c)}
    out = []
    for row in t.rows:
        cells = []
        for i, v in enumerate(row):
            if i in pcols and isinstance(v, (float, np.floating)) and not math.isnan(float(v)):
                cells.append(fmt_p(float(v)))
            else:
                cells.append(cell_text(v))
        out.append(cells)
    return out


def estimate_line(e: Estimate) -> str:
    """``ATE = 1.23 (SE 0.10), 95% CI [1.03, 1.43], p < 0.001``.

    >>> estimate_line(Estimate.from_se(2.0, 0.5, n=100, label="ATE", se_kind="HC1"))
    'ATE = 2 (SE 0.5), 95% CI [1.02, 2.98], p < 0.001'
    """
    p = fmt_p(e.p_value)
    return (f"{e.label} = {fmt(e.effect)} (SE {fmt(e.se)}), "
            f"95% CI [{fmt(e.ci_low)}, {fmt(e.ci_high)}], p {p if p.startswith('<') else '= ' + p}")


def check_text(c: Check) -> str:
    """``[ok] message``, ``[note] ...`` or ``[WARNING] ...``."""
    return f"[{_MARKS[c.level]}] {c.message}"


def table_text(t: Table, indent: str = "", width: int = WIDTH) -> str:
    """The table under its title, first column left-aligned, the others right-aligned; a table
    wider than `width` is printed in blocks of columns, each repeating the first."""
    body = table_cells(t)
    right = numeric_columns(body) or [False] * len(t.columns)
    cells = [list(t.columns), *body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(t.columns))]
    lines = wrap(t.title, indent, width=width)
    blocks: list[list[int]] = [[]]
    used = len(indent) + 2 + widths[0]
    for i in range(1, len(widths)):
        if blocks[-1] and used + 2 + widths[i] > width:
            blocks.append([])
            used = len(indent) + 2 + widths[0]
        blocks[-1].append(i)
        used += 2 + widths[i]
    for b, block in enumerate(blocks):
        if b:
            lines.append("")
        cols = [0, *block]
        for j, row in enumerate(cells):
            parts = [row[i].rjust(widths[i]) if i and right[i] else row[i].ljust(widths[i])
                     for i in cols]
            lines.append(indent + "  " + "  ".join(parts).rstrip())
            if j == 0:
                lines.append(indent + "  " + "  ".join("-" * widths[i] for i in cols))
    return "\n".join(lines)


def plan_text(p: Plan) -> str:
    """The plan with the rule that fired and its reasons (``str(plan)``)."""
    head = f"plan for {p.query}: {p.estimand}({p.treatment} -> {p.outcome}) by {p.method}"
    if p.options:
        head += "(" + ", ".join(f"{k} = {v}" for k, v in p.options) + ")"
    lines = [head, f"  rule: {p.rule}"]
    lines.append("  adjustment set: {" + ", ".join(p.adjustment) + "}")
    if p.cross_check:
        lines.append(f"  cross-check: {p.cross_check}")
    if p.precision:
        lines.append("  precision covariates: {" + ", ".join(p.precision) + "}")
    lines.append(f"  naive contrast: {p.naive}")
    lines += [f"  - {r}" for r in p.reasons]
    return "\n".join(lines)


def drew_at_random(r: QueryResult) -> bool:
    """Did anything in this answer draw at random (a bootstrap, random tie-breaking)? Only
    then does the seed matter, and only then is it printed. An estimator says so with the
    detail ``random_draws``; otherwise its standard errors or description name a bootstrap."""
    results = [r.result] + ([r.cross_check] if r.cross_check is not None else [])
    for res in results:
        flag = res.detail("random_draws")
        if flag is not None:
            if flag:
                return True
            continue
        text = f"{res.estimate.se_kind} {res.description}".lower()
        if "bootstrap" in text or "random" in text:
            return True
    return False


def identification_badge(ident: Identification | None, plan: Plan | None = None
                         ) -> tuple[str, bool]:
    """How the effect is identified, in a few words, and whether it is: by adjustment, by
    difference-in-differences (parallel trends), by an instrument, by the front door — from
    the plan that estimated it when there is one, else from the graph's answer.

    >>> identification_badge(None)
    ('identification not available', False)
    """
    method = plan.method if plan is not None else None
    if method == "did":
        return "identified by DiD (parallel trends)", True
    if method == "callaway_santanna":
        return "identified by staggered DiD (parallel trends, no anticipation)", True
    if method == "iv":
        return "identified by IV (instrument: relevance, exclusion, no confounding)", True
    if method == "frontdoor":
        return "identified by front-door adjustment", True
    if ident is None:
        return "identification not available", False
    if ident.identifiable:
        return "identified by adjustment (back-door)", True
    if ident.front_door is not None:
        return "identified by front-door adjustment (not by adjustment)", True
    if ident.instruments:
        return "not identified by adjustment; an instrument (IV) may identify it", False
    return "not identified by adjustment", False


def identification_groups(results: tuple[QueryResult, ...]
                          ) -> list[tuple[Identification, list[str]]]:
    """Distinct identifications of a run's queries, each with the queries that share it
    (same treatment, outcome, set and reasons): shown once, not once per query."""
    groups: list[tuple[Identification, list[str]]] = []
    keys: list[tuple[object, ...]] = []
    for r in results:
        ident = r.identification
        if ident is None:
            continue
        key = (ident.treatment, ident.outcome, ident.adjustment_set, ident.reasons)
        if key in keys:
            groups[keys.index(key)][1].append(r.query)
        else:
            keys.append(key)
            groups.append((ident, [r.query]))
    return groups


def _lines(text: str, indent: str, hang: str = "  ") -> list[str]:
    return wrap(text, indent, hang)


def query_result_text(r: QueryResult, *, identification: bool = True) -> str:
    """Everything ``causal run --verbose`` prints for one query (``QueryResult.summary()``);
    without `identification` the query's identification block is left out (the run shows
    each distinct one once)."""
    p = r.plan
    lines = [f"Query {r.query}: {p.estimand.upper()}({p.treatment} -> {p.outcome})"]
    if identification and r.identification is not None:
        lines += _identification_lines(r.identification, [r.query], head="  ")
    lines += _lines(f"Plan: {p.method}  [rule: {p.rule}]", "  ", "    ")
    for x in p.reasons:
        lines += _lines(f"- {x}", "    ")
    lines += _lines(f"Estimate: {estimate_line(r.estimate)}", "  ", "    ")
    lines += _lines(r.result.description, "    ")
    lines += _lines(f"standard errors: {r.estimate.se_kind}", "    ")
    lines += _lines(f"Naive (unadjusted) contrast: {estimate_line(r.naive)}", "  ", "    ")
    if r.cross_check is not None:
        lines += _lines(f"Cross-check ({r.cross_check.method}): "
                        f"{estimate_line(r.cross_check.estimate)}", "  ", "    ")
    lines += _lines(f"Sample: {r.sample.describe()}", "  ", "    ")
    for n in r.sample.notes:
        lines += _lines(f"- {n}", "    ")
    lines.append("  Diagnostics:")
    for c in r.all_checks:
        lines += _lines(check_text(c), "    ", "    ")
    lines += [table_text(t, indent="  ") for t in r.result.tables]
    robust = r.robustness.lines() if r.robustness is not None else ()
    if robust:
        lines.append("  Sensitivity to unmeasured confounding (from this estimate):")
        for x in robust:
            lines += _lines(f"- {x}", "    ")
    if drew_at_random(r) and r.seed is not None:
        lines.append(f"  Seed: {r.seed} (of the random draws above)")
    return "\n".join(lines)


def _identification_lines(ident: Identification, queries: list[str], head: str = ""
                          ) -> list[str]:
    badge, _ = identification_badge(ident)
    who = ("query " if len(queries) == 1 else "queries ") + ", ".join(queries)
    lines = _lines(f"Identification of {ident.treatment} -> {ident.outcome} ({who}): {badge}",
                   head, "    ")
    for reason in ident.reasons:
        lines += _lines(f"- {reason}", head + "  ")
    return lines


def summary_table(run: RunResult) -> Table:
    """The table a run starts with: one row per query (estimand, method, estimate, 95% CI,
    n), the queries that could not be estimated last."""
    rows: list[tuple[object, ...]] = []
    for r in run.results:
        e = r.estimate
        rows.append((r.query, r.plan.estimand.upper(), r.method, fmt(e.effect),
                     f"[{fmt(e.ci_low)}, {fmt(e.ci_high)}]", e.n))
    for name, diags in run.failures:
        rows.append((name, "—", "not estimated", "—",
                     ", ".join(d.code for d in diags) or "—", "—"))
    return Table("Estimates (95% confidence intervals)",
                 ("query", "estimand", "method", "estimate", "95% CI", "n"), tuple(rows))


def comparison_table(run: RunResult) -> Table:
    """Every estimate of every query in one table (the planned estimate, the cross-check and
    the naive contrast), with SE and p: the table a verbose run ends with, the one to paste
    into a paper or a pull request (`RunResult.to_frame` gives the same rows as data)."""
    rows: list[tuple[object, ...]] = []
    for r in run.results:
        for row in r.tidy_rows():
            rows.append((row["query"], row["role"], row["estimand"], row["method"],
                         fmt(row["estimate"]), fmt(row["std_error"]),
                         f"[{fmt(row['conf_low'])}, {fmt(row['conf_high'])}]",
                         fmt_p(row["p_value"]), row["n"]))
    return Table("Comparison of the estimates",
                 ("query", "estimate of", "estimand", "method", "estimate", "SE", "95% CI", "p",
                  "n"), tuple(rows))


def warning_lines(run: RunResult) -> list[tuple[str, str]]:
    """(queries, message) for every distinct warning of the run, in order: a warning about
    the data that several queries share (overlap of the same scores) is listed once, with the
    names of those queries joined by commas."""
    found: dict[str, list[str]] = {}
    for r in run.results:
        for w in r.warnings:
            found.setdefault(w, [])
            if r.query not in found[w]:
                found[w].append(r.query)
    return [(", ".join(queries), w) for w, queries in found.items()]


def run_result_text(run: RunResult, *, verbose: bool = False) -> str:
    """What ``causal run`` prints: the summary table and the warnings; with `verbose` also
    each distinct identification once, each query's details and the comparison table."""
    head = f"Study: {run.title}" if run.title else "Study"
    parts = ["\n".join([*wrap(head), *wrap(f"Data: {run.source}")])]
    parts.append(table_text(summary_table(run)))
    warnings = warning_lines(run)
    if warnings:
        lines = ["Warnings:"]
        for query, w in warnings:
            lines += wrap(f"{query}: {w}", "  ", "    ")
        parts.append("\n".join(lines))
    if not verbose:
        parts.append("Each query's plan, diagnostics and tables: causal run --verbose")
    else:
        for ident, queries in identification_groups(run.results):
            parts.append("\n".join(_identification_lines(ident, queries)))
        parts += [query_result_text(r, identification=False) for r in run.results]
        parts.append(table_text(comparison_table(run)))
    parts += ["\n".join(wrap(f"Query {name}: not estimated ({', '.join(d.code for d in diags)}: "
                             f"{diags[0].message})")) for name, diags in run.failures if diags]
    return "\n\n".join(parts)


def identification_text(ident: Identification) -> str:
    """What ``causal identify`` prints for one query.

    The text is still drawn by `Identification.__str__` (``causal_dsl.identify``, being
    refactored); this is the one entry point presenters and the display table use.
    """
    return str(ident)


def study_text(study: Model) -> str:
    r"""The one-screen overview that ``causal check`` prints (``Study.summary()``).

    >>> import causal_dsl
    >>> print(study_text(causal_dsl.parse('var x: binary\nvar y: count\nlatent u\n'
    ...                                   'u -> {x, y}\nx -> y\nquery q: ate(x -> y)\n')))
    study: (untitled)
    variables: 3 (2 observed, 1 latent)
      binary       x
      count        y
      latent       u
    arrows: 3 directed, 0 bidirected
    queries: 1
      q: ate(x -> y)
    data: none bound
    """
    lines = [f"study: {study.title or '(untitled)'}"]
    lines.append(f"variables: {len(study.variables)} ({len(study.observed)} observed, "
                 f"{len(study.latents)} latent)")
    groups: dict[str, list[str]] = {}
    for v in study.variables:
        kind = ("latent, invariant" if v.invariant else "latent") if v.latent else str(v.type)
        groups.setdefault(kind, []).append(v.name)
    for kind, names in groups.items():
        more = f", … ({len(names) - 12} more)" if len(names) > 12 else ""
        lines.append(f"  {kind:<18} {', '.join(names[:12])}{more}")
    lines.append(f"arrows: {len(study.directed_edges)} directed, "
                 f"{len(study.bidirected_edges)} bidirected")
    lines.append(f"queries: {len(study.queries)}")
    for q in study.queries[:20]:
        extra = f" using {q.method}" if q.method.name != "auto" else ""
        lines.append(f"  {q}{extra}")
    if len(study.queries) > 20:
        lines.append(f"  … ({len(study.queries) - 20} more)")
    if study.data is None:
        lines.append("data: none bound")
    else:
        panel = (f" (panel: unit = {study.data.unit}, time = {study.data.time})"
                 if study.data.is_panel else "")
        lines.append(f"data: {study.data.source}{panel}")
    return "\n".join(lines)


def variable_rows(study: Model) -> list[tuple[str, str, str, str]]:
    """(name, kind, data column, label) for each variable, in declaration order: the
    variables table of a report, in every format."""
    rows = []
    for v in study.variables:
        if v.latent:
            kind = "latent, time-invariant" if v.invariant else "latent"
        else:
            kind = str(v.type) + (f" ({', '.join(v.levels)})" if v.levels else "")
        rows.append((v.name, kind, "—" if v.latent else v.data_column, v.label or ""))
    return rows

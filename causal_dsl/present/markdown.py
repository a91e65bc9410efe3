"""Markdown presenters: ``causal run --format markdown``, ``causal report`` (Markdown), and the
notebook view of a study.

In: result values (`QueryResult`, `RunResult`, `Identification`, `Table`, diagnostics), a
`Report` (built by `causal_dsl.report`) and a study. Out: GitHub-flavoured Markdown. Every user
string goes through `markup.markdown_escape` (``esc`` here; names in code spans through
`markup.code_span`), so a name such as ``ward|*x*`` adds no table column and starts no emphasis,
and ``<script>`` stays text. Raises nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import render
from ..errors import CausalError, Diagnostic
from ..model import ESTIMANDS, Model
from ..results import Estimate, Plan, QueryResult, Report, RunResult, Table, fmt, fmt_p
from .balance import love_text, overlap_text
from .charts import forest_rows, forest_text
from .checks import checks_markdown
from .markup import code_span, spell_set
from .markup import markdown_escape as esc
from .text import (
    comparison_table,
    drew_at_random,
    identification_badge,
    identification_groups,
    numeric_columns,
    study_text,
    summary_table,
    table_cells,
    variable_rows,
    warning_lines,
)

if TYPE_CHECKING:
    from ..identify import Identification
    from ..study import Study

__all__ = ["diagnostics_markdown", "identification_markdown", "query_result_markdown",
           "query_section_markdown", "report_markdown", "run_result_markdown",
           "study_markdown", "table_markdown"]


def _set_(names: Sequence[str] | frozenset[str] | None) -> str:
    return spell_set(names, empty="∅ (nothing)")


# --- building blocks -------------------------------------------------------------------------
def table_markdown(t: Table) -> str:
    """A result table under its bold title; numbers right-aligned."""
    cells = table_cells(t)
    right = numeric_columns(cells) or [False] * len(t.columns)
    head = "| " + " | ".join(esc(c) for c in t.columns) + " |"
    sep = "|" + "|".join("---:" if i and right[i] else "---"
                         for i in range(len(t.columns))) + "|"
    body = ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    return "\n".join([f"**{esc(t.title)}**", "", head, sep, *body])


def diagnostics_markdown(error: CausalError | Sequence[Diagnostic]) -> list[str]:
    """Diagnostics as block quotes: severity and code, message, notes and help."""
    out = []
    for d in error.diagnostics if isinstance(error, CausalError) else error:
        out.append(f"> **{d.severity}\\[{d.code}\\]**: {esc(d.message)}")
        out += [f"> note: {esc(n)}" for n in d.notes]
        if d.help:
            out.append(f"> help: {esc(d.help)}")
        out.append("")
    return out


def _estimate_row(name: str, e: Estimate, *, report: bool) -> str:
    """One row of the estimates table; the report's also has n (and escapes its brackets)."""
    if report:
        return (f"| {name} | {fmt(e.effect)} | {fmt(e.se)} | \\[{fmt(e.ci_low)}, "
                f"{fmt(e.ci_high)}\\] | {esc(fmt_p(e.p_value))} | {e.n} |")
    return (f"| {name} | {fmt(e.effect)} | {fmt(e.se)} | [{fmt(e.ci_low)}, {fmt(e.ci_high)}] "
            f"| {fmt_p(e.p_value)} |")


def _estimate_rows(r: QueryResult, *, report: bool) -> list[str]:
    label, method = esc(r.estimate.label), esc(r.method)
    first = f"**{label} ({method})**" if report else f"**{label}** ({method})"
    rows = [(first, r.estimate), ("naive contrast", r.naive)]
    if r.cross_check is not None:
        rows.append((f"cross-check ({esc(r.cross_check.method)})", r.cross_check.estimate))
    head = (["| | estimate | SE | 95% CI | p | n |", "|---|---:|---:|---|---:|---:|"] if report
            else ["| | estimate | SE | 95% CI | p |", "|---|---:|---:|---|---:|"])
    return head + [_estimate_row(name, e, report=report) for name, e in rows]


def _plan_lines(r: QueryResult) -> list[str]:
    p = r.plan
    return [f"**Plan:** {esc(p.method)} (rule: {esc(p.rule)})", "",
            *(f"- {esc(x)}" for x in p.reasons)]


def _diagnostics_lines(r: QueryResult) -> list[str]:
    return ["**Diagnostics:**", "", *(f"- {c.level}: {esc(c.message)}" for c in r.all_checks)]


def _robustness_lines(r: QueryResult) -> list[str]:
    """E-value, robustness value and Rosenbaum bounds of the estimate, one item each."""
    robust = r.robustness.lines() if r.robustness is not None else ()
    if not robust:
        return []
    return ["", "**Sensitivity to unmeasured confounding** (from this estimate):", "",
            *(f"- {esc(x)}" for x in robust)]


# --- results -------------------------------------------------------------------------------
def query_result_markdown(r: QueryResult, *, identification: bool = True) -> str:
    """One query's answer as a Markdown section (``QueryResult.to_markdown()``, and each
    query of ``causal run --format markdown --verbose``, which shows each distinct
    identification once instead)."""
    p = r.plan
    out = [f"## Query {code_span(r.query)}: {esc(p.estimand.upper())}({esc(p.treatment)} → "
           f"{esc(p.outcome)})", ""]
    if identification and r.identification is not None:
        out += [*_identification_block(r.identification, [r.query]), ""]
    out += [*_plan_lines(r), ""]
    out += _estimate_rows(r, report=False)
    out += ["", f"{esc(r.result.description)}. Standard errors: {esc(r.estimate.se_kind)}.", ""]
    out.append(f"**Sample:** {esc(r.sample.describe())}.")
    out += [f"- {esc(n)}" for n in r.sample.notes]
    out += ["", *_diagnostics_lines(r), *_robustness_lines(r)]
    for t in r.result.tables:
        out += ["", table_markdown(t)]
    out += _balance_plots(r)
    if drew_at_random(r) and r.seed is not None:
        out += ["", f"Seed: {r.seed} (of the random draws above)."]
    return "\n".join(out)


def _balance_plots(r: QueryResult) -> list[str]:
    """The love plot and the overlap of the scores, in text (Markdown has no inline SVG that
    GitHub shows), under the balance table they are drawn from."""
    table = r.result.table("balance")
    out: list[str] = []
    love = love_text(table) if table is not None else None
    if love is not None:  # a fence longer than any backquote run in a covariate's name
        fence = "`" * max(3, _longest_backtick_run(love) + 1)
        out += ["", "**Love plot** (absolute SMD, from the balance table above)", "",
                fence + "text", love, fence]
    overlap = overlap_text(r.result.units)
    if overlap is not None:
        out += ["", "**Overlap of the scores**", "", "```text", overlap, "```"]
    return out


def _identification_block(ident: Identification, queries: list[str]) -> list[str]:
    badge, _ = identification_badge(ident)
    who = ("query " if len(queries) == 1 else "queries ") + ", ".join(
        code_span(q) for q in queries)
    return [f"**Identification** of {esc(ident.treatment)} → {esc(ident.outcome)} ({who}): "
            f"{esc(badge)}", "", *(f"- {esc(x)}" for x in ident.reasons)]


def query_section_markdown(r: QueryResult) -> list[str]:
    """One query's estimates inside a report (under the report's own heading): the table with
    n, a text forest plot, then the plan, estimator, sample, diagnostics and tables."""
    out = [*_estimate_rows(r, report=True), ""]
    out += ["```text", forest_text(forest_rows(r)), "```", ""]
    out += [*_plan_lines(r), ""]
    out += [f"**Estimator:** {esc(r.result.description)}. **Standard errors:** "
            f"{esc(r.estimate.se_kind)}.", ""]
    out += [f"**Sample:** {esc(r.sample.describe())}.", ""]
    out += [f"- {esc(n)}" for n in r.sample.notes]
    out += [*_diagnostics_lines(r), *_robustness_lines(r)]
    for t in r.result.tables:
        out += ["", table_markdown(t)]
    out += _balance_plots(r)
    if drew_at_random(r) and r.seed is not None:
        out += ["", f"Seed: {r.seed} (of the random draws above)."]
    out.append("")
    return out


def run_result_markdown(run: RunResult, *, verbose: bool = False) -> str:
    """``causal run --format markdown``: the title, the data, the summary table and the
    warnings; with `verbose` each distinct identification once, each query, and the
    comparison of every estimate (the table to paste into a paper or a pull request); then the
    queries that could not be estimated with their diagnostics."""
    head = f"# {esc(run.title)}" if run.title else "# Causal study"
    parts = [f"{head}\n\nData: {code_span(run.source)}", table_markdown(summary_table(run))]
    warnings = warning_lines(run)
    if warnings:
        parts.append("**Warnings:**\n\n" + "\n".join(f"- {esc(q)}: {esc(w)}"
                                                   for q, w in warnings))
    if verbose:
        parts += ["\n".join(_identification_block(ident, queries))
                  for ident, queries in identification_groups(run.results)]
        parts += [query_result_markdown(r, identification=False) for r in run.results]
        parts.append(table_markdown(comparison_table(run)))
    parts += [f"## Query {code_span(name)}: not estimated\n\n"
              + "\n".join(f"- {d.code}: {esc(d.message)}" for d in diags)
              for name, diags in run.failures]
    return "\n\n".join(parts) + "\n"


def identification_markdown(ident: Identification, plan: Plan | None = None) -> list[str]:
    """An identification result inside a report: verdict, set, minimal sets, paths, the
    proposed set's check, reasons and instruments."""
    out = ["**Identified by adjustment:** " + ("yes" if ident.identifiable else "**no**"), ""]
    if plan is not None or not ident.identifiable:
        badge, _ = identification_badge(ident, plan)
        out += [f"**How:** {esc(badge)}", ""]
    if ident.identifiable:
        what = "the optimal set (O-set)" if ident.recommended == "optimal" else "a smallest set"
        out += [f"Adjust for **{esc(_set_(ident.adjustment_set))}** ({what}).", ""]
        if ident.minimal_sets:
            sets = "; ".join(_set_(s) for s in ident.minimal_sets[:10])
            out += [f"Minimal sets: {esc(sets)}" + (" and more" if
                                                    ident.minimal_sets_truncated else ""), ""]
    paths = ident.backdoor_paths if ident.identifiable else ident.obstructions
    if paths:
        out += ["| path | status |", "|---|---|"]
        out += [f"| {esc(p)} | {esc(p.status())} |" for p in paths[:20]]
        out.append("")
    if ident.proposed is not None:
        p = ident.proposed
        out.append(f"Your proposed set {esc(_set_(p.adjusting))} is **"
                   f"{'valid' if p.valid else 'not valid'}**.")
        out += [f"- {esc(x)}" for x in (*p.problems, *(f"note: {n}" for n in p.notes))]
        out.append("")
    out += [f"- {esc(r)}" for r in ident.reasons]
    if ident.instruments:
        out += ["", "Instruments: " + esc("; ".join(str(i) for i in ident.instruments))]
    out.append("")
    return out


# --- a study ---------------------------------------------------------------------------------
def study_markdown(study: Study) -> str:
    """Jupyter's Markdown view of a study: title, the one-screen summary, the Mermaid diagram."""
    try:
        diagram = render.to_mermaid(study)
    except CausalError:
        diagram = render.to_mermaid(study, highlight="none")
    head = f"**{esc(study.title)}**\n\n" if study.title else ""
    summary = "\n".join("    " + line for line in study_text(study).splitlines())
    return f"{head}```mermaid\n{diagram}```\n\n{summary}\n"


def _variables_markdown(study: Model) -> list[str]:
    out = ["### Variables", "", "| variable | type | data column | label |", "|---|---|---|---|"]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in variable_rows(study)]
    out.append("")
    return out


# --- a report --------------------------------------------------------------------------------
def report_markdown(rep: Report) -> str:
    """The report as one Markdown document (diagram as Mermaid, forest plots as text)."""
    s = rep.study
    out = [f"# {esc(rep.title)}", ""]
    meta = []
    if s.path:
        meta.append(f"study file: {esc(Path(s.path).name)}")
    if s.data is not None:
        meta.append(f"data: {esc(s.data.source)}" + (
            f" (panel: unit = {esc(s.data.unit)}, time = {esc(s.data.time)})"
            if s.data.is_panel else ""))
    meta.append(f"{len(s.variables)} variables ({len(s.latents)} latent), {len(s.edges)} "
                f"arrows, {len(s.queries)} quer{'y' if len(s.queries) == 1 else 'ies'}")
    out += [" · ".join(meta), "", "## The causal diagram", "", "```mermaid",
            rep.diagram_mermaid.rstrip("\n"), "```", ""]
    if s.queries:
        out += [f"Roles are those of query {esc(s.queries[0].name)}: treatment in blue, outcome "
                "in orange, the adjustment set in green with a double border, latent "
                "variables dashed; a dashed two-headed arrow is a hidden common cause.", ""]
        if rep.diagram_highlight == "paths":
            out += ["Red: open paths no observed set can block; orange: confounding paths an "
                    "adjustment set could block.", ""]
    out += ["## Assumptions", ""]
    out += [f"- {esc(a)}" for a in rep.assumptions]
    out.append("")
    out += _variables_markdown(s)
    if rep.implications:
        more = f" (and {rep.implications_more} more)" if rep.implications_more else ""
        out += ["If the diagram is right, the data should show these conditional "
                f"independences{more}:", ""]
        out += [f"- {esc(i)}" for i in rep.implications]
        out.append("")
    if rep.data_note or rep.data_error:
        out += ["## Data", ""]
        if rep.data_note:
            out += [esc(rep.data_note), ""]
        if rep.data_error is not None:
            out += diagnostics_markdown(rep.data_error)
    for sec in rep.sections:
        q = sec.query
        out += [f"## Query {esc(q.name)}: {q.estimand.upper()} of {esc(q.treatment)} on "
                f"{esc(q.outcome)}", ""]
        out += [esc(ESTIMANDS.get(q.estimand, q.estimand))
                + (f"; method: {esc(q.method)}" if q.method.name != "auto" else "") + ".", ""]
        if sec.diagram_mermaid is not None:
            out += ["```mermaid", sec.diagram_mermaid.rstrip("\n"), "```", ""]
            if sec.highlight == "paths":
                out += ["Red: open paths (not blocked); orange: confounding paths the set "
                        "blocks (or could block).", ""]
        out += ["### Identification", ""]
        if sec.identification is not None:
            out += identification_markdown(sec.identification,
                                           sec.result.plan if sec.result else None)
        elif sec.identification_error is not None:
            out += diagnostics_markdown(sec.identification_error)
        if sec.result is not None:
            out += ["### Estimates", ""]
            out += query_section_markdown(sec.result)
        elif sec.estimation_error is not None:
            out += ["### Estimates", "", "Not estimated:", ""]
            out += diagnostics_markdown(sec.estimation_error)
    out += checks_markdown(rep.checks)
    if s.source:
        # A fence longer than any run of backticks in the source keeps it inside the block.
        ticks = "`" * max(3, _longest_backtick_run(s.source) + 1)
        out += ["## Appendix: the study file", "", "<details><summary>study file</summary>", "",
                ticks + "text", s.source.rstrip("\n"), ticks, "", "</details>", ""]
    for n in rep.notes:
        out += [f"_{esc(n)}_", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _longest_backtick_run(text: str) -> int:
    best = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best

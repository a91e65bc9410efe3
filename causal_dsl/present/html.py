"""HTML presenters: the Jupyter views of results and the pages of ``causal report``.

In: result values (`QueryResult`, `RunResult`, `Identification`, `Table`, checks, diagnostics),
a `Report` (built by `causal_dsl.report`) and a `Study` (for its notebook view). Out: HTML
strings. Every user string (title, names, labels, messages quoting them) goes through
`markup.html_escape` (``esc`` here), so a page has no script and loads nothing (its
Content-Security-Policy says so too). Raises nothing: a missing Graphviz engine gives a
Mermaid listing, or None for the notebook view (Jupyter then uses the Markdown one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import render
from ..errors import CausalError, Diagnostic
from ..model import ESTIMANDS, Model
from ..render import COLOURS
from ..results import Check, Plan, QueryResult, Report, RunResult, Table, fmt, fmt_p
from .balance import love_svg, overlap_svg
from .charts import event_study_svg, forest_caption, forest_rows, forest_svg
from .checks import checks_html
from .markup import html_escape as esc
from .markup import spell_set
from .text import (
    drew_at_random,
    identification_badge,
    study_text,
    summary_table,
    table_cells,
    variable_rows,
)

if TYPE_CHECKING:
    from ..identify import Identification
    from ..study import Study

__all__ = ["CSS", "diagnostics_html", "identification_html", "query_result_html",
           "report_html", "run_result_html", "study_html", "table_html"]


def _set_(names: Iterable[str] | None) -> str:
    return spell_set(names, empty="∅ (nothing)")


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1f;
       max-width: 1000px; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; } h3 { margin-top: 1.3em; }
.meta { color: #555; margin-top: 0; } .muted { color: #666; }
.dag svg { max-width: 100%; height: auto; } .dag { overflow-x: auto; margin: 1em 0; }
.legend { font-size: 0.85em; color: #333; display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; }
.legend span.key { display: inline-block; width: 1.6em; height: 0.95em; vertical-align: -0.1em;
                   margin-right: 0.35em; border-radius: 3px; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f4f6; } td:first-child, th:first-child { text-align: left; }
table.text td, table.text th { text-align: left; }
.badge { display: inline-block; padding: 0.05em 0.55em; border-radius: 1em; font-size: 0.85em;
         font-weight: 600; }
.yes { background: #e6f4ea; color: #1e5e22; } .no { background: #fde8e8; color: #9b1c1c; }
.checks li.warning { color: #8a4b00; } .checks li.warning::marker { content: "⚠ "; }
.checks li.ok::marker { content: "✓ "; color: #2e7d32; }
.error { border-left: 4px solid #d62728; background: #fdf1f1; padding: 0.5em 0.9em; }
pre { background: #f6f8fa; padding: 0.7em; overflow-x: auto; font-size: 0.85em; }
code { background: #f3f4f6; padding: 0 0.25em; border-radius: 3px; }
.forest, .balance { max-width: 100%; height: auto; display: block; }
details summary { cursor: pointer; color: #333; }
"""


def _legend() -> str:
    c = COLOURS
    keys = [
        (f"background:{c['treatment_fill']};border:2px solid {c['treatment_line']}", "treatment"),
        (f"background:{c['outcome_fill']};border:2px solid {c['outcome_line']}", "outcome"),
        (f"background:{c['adjust_fill']};border:3px double {c['adjust_line']}",
         "adjustment set (double border)"),
        (f"border:2px dashed {c['latent_line']};border-radius:50%", "latent (unobserved)"),
        (f"border-top:2px dashed {c['edge']};height:0", "hidden common cause (↔)"),
    ]
    return '<div class="legend">' + "".join(
        f'<span><span class="key" style="{s}"></span>{esc(t)}</span>' for s, t in keys) + "</div>"


def _paths_legend() -> str:
    c = COLOURS
    return ('<div class="legend">'
            f'<span><span class="key" style="border-top:3px solid {c["open_path"]};height:0">'
            '</span>open path (not blocked)</span>'
            f'<span><span class="key" style="border-top:3px solid {c["blocked_path"]};'
            'height:0"></span>confounding path blocked by the set (or blockable)</span></div>')


def _variables_html(study: Model) -> str:
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in variable_rows(study))
    return ('<h3 id="variables">Variables</h3><table class="text"><thead><tr><th>variable</th>'
            "<th>type</th><th>data column</th><th>label</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _diagram_html(svg: str | None, mermaid: str, note: str) -> str:
    if svg is not None:
        return f'<div class="dag">{svg}</div>'
    return (f'<p class="muted">{esc(note)}</p><pre class="mermaid">{esc(mermaid)}</pre>')


def diagnostics_html(error: CausalError | Sequence[Diagnostic]) -> str:
    """Diagnostics as an error box: severity, code, message, notes and help."""
    items = []
    for d in error.diagnostics if isinstance(error, CausalError) else error:
        text = f"<strong>{esc(d.severity)}[{esc(d.code)}]</strong>: {esc(d.message)}"
        for n in d.notes:
            text += f"<br><span class=\"muted\">note: {esc(n)}</span>"
        if d.help:
            text += f"<br><span class=\"muted\">help: {esc(d.help)}</span>"
        items.append(f"<p>{text}</p>")
    return '<div class="error">' + "".join(items) + "</div>"


def table_html(t: Table) -> str:
    """A result table under its title."""
    head = "".join(f"<th>{esc(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in table_cells(t))
    return (f"<h4>{esc(t.title)}</h4><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _estimates_html(r: QueryResult) -> str:
    rows = [(f"{r.estimate.label} ({r.method})", r.estimate, True),
            ("naive contrast", r.naive, False)]
    if r.cross_check is not None:
        rows.append((f"cross-check ({r.cross_check.method})", r.cross_check.estimate, False))
    body = ""
    for name, e, strong in rows:
        cell = f"<strong>{esc(name)}</strong>" if strong else esc(name)
        body += (f"<tr><td>{cell}</td><td>{esc(fmt(e.effect))}</td><td>{esc(fmt(e.se))}</td>"
                 f"<td>[{esc(fmt(e.ci_low))}, {esc(fmt(e.ci_high))}]</td>"
                 f"<td>{esc(fmt_p(e.p_value))}</td><td>{esc(e.n)}</td></tr>")
    return ("<table><thead><tr><th></th><th>estimate</th><th>SE</th><th>95% CI</th><th>p</th>"
            f"<th>n</th></tr></thead><tbody>{body}</tbody></table>")


def _checks_html(checks: Iterable[Check]) -> str:
    items = "".join(f'<li class="{esc(c.level)}">{esc(c.level)}: {esc(c.message)}</li>'
                    for c in checks)
    return f'<ul class="checks">{items}</ul>' if items else ""


def identification_html(ident: Identification, *, heading: bool = False,
                        plan: Plan | None = None) -> str:
    """An identification result as HTML (also its Jupyter view); the badge says how the
    effect is identified (by adjustment, DiD, IV, the front door: from `plan` when the query
    was estimated), not only whether adjustment works."""
    q = ident.query
    out = []
    if heading:
        out.append(f"<h3>{esc(q)}</h3>")
    words, ok = identification_badge(ident, plan)
    badge = f'<span class="badge {"yes" if ok else "no"}">{esc(words)}</span>'
    if plan is not None and not ident.identifiable:
        badge += ' <span class="badge no">not identified by adjustment</span>'
    out.append(f"<p>{badge}</p>")
    if ident.identifiable:
        what = "the optimal set (O-set)" if ident.recommended == "optimal" else "a smallest set"
        out.append(f"<p>Adjust for <strong>{esc(_set_(ident.adjustment_set))}</strong> "
                   f"({esc(what)}).</p>")
        if ident.minimal_sets:
            more = " and more" if ident.minimal_sets_truncated else ""
            sets = "; ".join(_set_(s) for s in ident.minimal_sets[:10])
            out.append(f'<p class="muted">Minimal sets: {esc(sets)}{esc(more)}.</p>')
    paths = ident.backdoor_paths if ident.identifiable else ident.obstructions
    if paths:
        title = ("Backdoor paths and what blocks them" if ident.identifiable
                 else "Open paths no observed set can block")
        rows = "".join(f"<tr><td><code>{esc(p)}</code></td><td>{esc(p.status())}</td></tr>"
                       for p in paths[:20])
        out.append(f'<h4>{esc(title)}</h4><table class="text"><thead><tr><th>path</th>'
                   "<th>status</th></tr>"
                   f"</thead><tbody>{rows}</tbody></table>")
        if len(paths) > 20:
            out.append(f'<p class="muted">… {len(paths) - 20} more paths not shown.</p>')
    if ident.proposed is not None:
        p = ident.proposed
        verdict = "valid" if p.valid else "not valid"
        out.append(f"<p>Your proposed set {esc(_set_(p.adjusting))} is <strong>"
                   f"{esc(verdict)}</strong>.</p>")
        lines = [*p.problems, *(f"note: {n}" for n in p.notes)]
        if lines:
            out.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>")
    if ident.reasons:
        out.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in ident.reasons) + "</ul>")
    if ident.instruments:
        out.append("<p>Instruments: " + esc("; ".join(str(i) for i in ident.instruments))
                   + "</p>")
    return "\n".join(out)


def query_result_html(r: QueryResult, *, heading: bool = True, plot: bool = True) -> str:
    """One query's estimates as HTML: table, forest plot, plan, sample, checks, tables."""
    p = r.plan
    out = []
    if heading:
        out.append(f"<h3>{esc(r.query)}: {esc(p.estimand.upper())}({esc(p.treatment)} → "
                   f"{esc(p.outcome)})</h3>")
    out.append(_estimates_html(r))
    if plot:
        out.append(forest_svg(forest_rows(r), caption=forest_caption(r)))
    out.append(f"<p><strong>Plan:</strong> {esc(p.method)} "
               f'<span class="muted">(rule: {esc(p.rule)})</span></p>')
    out.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in p.reasons) + "</ul>")
    out.append(f"<p><strong>Estimator:</strong> {esc(r.result.description)}. "
               f"<strong>Standard errors:</strong> {esc(r.estimate.se_kind)}.</p>")
    out.append(f"<p><strong>Sample:</strong> {esc(r.sample.describe())}.</p>")
    if r.sample.notes:
        out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in r.sample.notes) + "</ul>")
    out.append("<p><strong>Diagnostics:</strong></p>" + _checks_html(r.all_checks))
    robust = r.robustness.lines() if r.robustness is not None else ()
    if robust:
        out.append("<p><strong>Sensitivity to unmeasured confounding</strong> (from this "
                   "estimate):</p><ul>" + "".join(f"<li>{esc(x)}</li>" for x in robust)
                   + "</ul>")
    for t in r.result.tables:
        out.append(table_html(t))
        if plot and t.title.lower().startswith("event study"):
            picture = event_study_svg(t)
            if picture is not None:
                out.append(picture)
        if plot and t.title.lower().startswith("balance"):
            love = love_svg(t)
            if love is not None:
                out.append('<p class="muted">Love plot: the absolute SMDs of the table above '
                           "(cobalt's convention; dashed line at 0.1).</p>" + love)
    overlap = overlap_svg(r.result.units) if plot else None
    if overlap is not None:
        out.append('<p class="muted">Overlap of the scores: treated above the line, controls '
                   "below; hatched: units the matching did not use.</p>" + overlap)
    if drew_at_random(r) and r.seed is not None:
        out.append(f'<p class="muted">Seed: {esc(r.seed)} (of the random draws above)</p>')
    return "\n".join(out)


def run_result_html(run: RunResult) -> str:
    """Every query's estimates as HTML (the Jupyter view of `RunResult`)."""
    head = f"<h2>{esc(run.title)}</h2>" if run.title else ""
    return (head + f'<p class="muted">Data: {esc(run.source)}</p>'
            + table_html(summary_table(run))
            + "\n".join(query_result_html(r) for r in run.results))


def report_html(rep: Report) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no script)."""
    s = rep.study
    title = rep.title
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No script and nothing fetched: the report is inert whatever the study says.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    meta = []
    if s.path:
        meta.append(f"Study file: <code>{esc(Path(s.path).name)}</code>")
    if s.data is not None:
        panel = (f" (panel: unit = {esc(s.data.unit)}, time = {esc(s.data.time)})"
                 if s.data.is_panel else "")
        meta.append(f"data: <code>{esc(s.data.source)}</code>{panel}")
    meta.append(f"{len(s.variables)} variables ({len(s.latents)} latent), {len(s.edges)} arrows, "
                f"{len(s.queries)} quer{'y' if len(s.queries) == 1 else 'ies'}")
    out.append(f'<p class="meta">{" · ".join(meta)}</p>')

    out.append('<h2 id="diagram">The causal diagram</h2>')
    out.append(_diagram_html(rep.diagram_svg, rep.diagram_mermaid, rep.diagram_note))
    out.append(_legend())
    if rep.diagram_highlight == "paths":
        out.append(_paths_legend())
    if s.queries:
        out.append(f'<p class="muted">Roles are those of query <code>{esc(s.queries[0].name)}'
                   "</code>.</p>")

    out.append('<h2 id="assumptions">Assumptions</h2>')
    out.append("<ul>" + "".join(f"<li>{esc(a)}</li>" for a in rep.assumptions) + "</ul>")
    out.append(_variables_html(s))
    if rep.implications:
        more = (f" (and {rep.implications_more} more)" if rep.implications_more else "")
        out.append("<p>If the diagram is right, the data should show these conditional "
                   f"independences{esc(more)}:</p>")
        out.append("<ul>" + "".join(f"<li><code>{esc(i)}</code></li>" for i in rep.implications)
                   + "</ul>")

    if rep.data_note or rep.data_error:
        out.append('<h2 id="data">Data</h2>')
        if rep.data_note:
            out.append(f"<p>{esc(rep.data_note)}</p>")
        if rep.data_error is not None:
            out.append(diagnostics_html(rep.data_error))

    for sec in rep.sections:
        q = sec.query
        estimand = ESTIMANDS.get(q.estimand, q.estimand)
        out.append(f'<h2 id="query-{esc(q.name)}">Query <code>{esc(q.name)}</code>: '
                   f"{esc(q.estimand.upper())} of "
                   f"{esc(q.treatment)} on {esc(q.outcome)}</h2>")
        out.append(f'<p class="muted">{esc(estimand)}'
                   + (f"; method: {esc(q.method)}" if q.method.name != "auto" else "") + "</p>")
        if sec.diagram_svg is not None or sec.diagram_mermaid is not None:
            out.append(_diagram_html(sec.diagram_svg, sec.diagram_mermaid or "", ""))
            if sec.highlight == "paths":
                out.append(_paths_legend())
        out.append(f'<h3 id="identification-{esc(q.name)}">Identification</h3>')
        if sec.identification is not None:
            out.append(identification_html(sec.identification,
                                           plan=sec.result.plan if sec.result else None))
        elif sec.identification_error is not None:
            out.append(diagnostics_html(sec.identification_error))
        else:
            out.append('<p class="muted">Identification is not available.</p>')
        if sec.result is not None:
            out.append(f'<h3 id="estimates-{esc(q.name)}">Estimates</h3>')
            out.append(query_result_html(sec.result, heading=False))
        elif sec.estimation_error is not None:
            out.append("<h3>Estimates</h3>")
            out.append("<p>Not estimated:</p>" + diagnostics_html(sec.estimation_error))

    out.append(checks_html(rep.checks))

    if s.source:
        out.append("<h2>Appendix: the study file</h2>")
        out.append(f"<details><summary>{esc(Path(s.path).name if s.path else 'study')}"
                   f"</summary><pre>{esc(s.source)}</pre></details>")
    foot = "Generated by causal-dsl"
    if rep.engine:
        foot += f"; diagram laid out by {rep.engine.split(' (')[0]}"
    out.append(f'<p class="muted"><small>{esc(foot)}.</small></p>')
    for n in rep.notes:
        out.append(f'<p class="muted"><small>{esc(n)}</small></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def study_html(study: Study) -> str | None:
    """Jupyter's HTML view of a study: the SVG diagram over the one-screen summary; None when
    no engine can draw it (Jupyter then uses the Markdown view, whose Mermaid needs none)."""
    svg = render.repr_svg(study)
    if svg is None:
        return None
    title = f"<h4>{esc(study.title)}</h4>" if study.title else ""
    return (f'{title}<div style="max-width:100%;overflow-x:auto">{svg}</div>'
            f"<pre>{esc(study_text(study))}</pre>")

"""A study report: one self-contained HTML or Markdown document for a reviewer.

In: a `Study` (and, when it binds data, the answers of the planner and estimators). Out: a
`Report` — title, the DAG (inline SVG in HTML, Mermaid in Markdown), the assumptions in words, and
for each query the identification result and, when data is bound, the estimates with intervals,
the plan's reasons, the design's diagnostics and tables (balance, event study / pre-trends) and a
small forest plot of the naive and adjusted estimates drawn as SVG by hand (text in Markdown).

Problems with one query (not identifiable, a data error) are shown in the report, not raised: a
report is most useful exactly when something is wrong. `write_report` raises `RenderError`
(E605 unknown format, E606 the file cannot be written). Every user string (title, names,
labels, and messages quoting them) is escaped: HTML has no script and loads nothing.

Also here: the Jupyter HTML views of results (`query_result_html`, `run_result_html`,
`identification_html`), which the result classes delegate to.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import render
from .errors import CausalError, Diagnostic, RenderError
from .model import ESTIMANDS, Query, Study
from .render import COLOURS, markdown_escape
from .results import Estimate, QueryResult, RunResult, Table, fmt, fmt_p

REPORT_FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".md": "markdown",
                                  ".markdown": "markdown"}
MAX_IMPLICATIONS = 25  # testable implications listed in the assumptions (the rest counted)


# ---------------------------------------------------------------------------------------------
# the content
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuerySection:
    """What the report says about one query."""

    query: Query
    identification: Any | None = None  # causal_dsl.identify.Identification
    identification_error: CausalError | None = None
    result: QueryResult | None = None
    estimation_error: CausalError | None = None
    diagram_svg: str | None = None  # its own diagram when its roles differ from the main one
    diagram_mermaid: str | None = None
    highlight: str = "adjustment"


@dataclass(frozen=True)
class Report:
    """Everything in a report, computed once; `to_html` and `to_markdown` only format it."""

    study: Study
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

    @property
    def title(self) -> str:
        return self.study.title or (Path(self.study.path).stem if self.study.path else
                                    "Causal study")

    def to_html(self) -> str:
        return _report_html(self)

    def to_markdown(self) -> str:
        return _report_markdown(self)


def assumptions_in_words(study: Study) -> tuple[str, ...]:
    """The DAG as sentences: what affects what, what is unobserved, what shares a hidden cause.

    >>> import causal_dsl
    >>> s = causal_dsl.parse("var a: binary\\nvar b: binary\\nvar c: binary\\nlatent u\\n"
    ...                      "a -> {b, c}\\nu -> b\\nb <-> c\\n")
    >>> for line in assumptions_in_words(s): print(line)
    a affects b and c.
    u affects b.
    u is unobserved (not in the data).
    b and c share an unobserved cause.
    No other direct effects: two variables not joined by an arrow above do not affect each ...
    """
    out: list[str] = []
    targets: dict[str, list[str]] = {}
    for e in study.directed_edges:
        targets.setdefault(e.source, []).append(e.target)
    order = {v.name: i for i, v in enumerate(study.variables)}
    for source in sorted(targets, key=lambda n: order.get(n, 0)):
        out.append(f"{source} affects {_and(targets[source])}.")
    for v in study.latents:
        what = f"{v.name} is unobserved (not in the data)"
        if v.label:
            what = f"{v.name} ({v.label}) is unobserved (not in the data)"
        if v.invariant:
            what += ", and constant over time within each unit"
        out.append(what + ".")
    for e in study.bidirected_edges:
        out.append(f"{e.source} and {e.target} share an unobserved cause.")
    if study.edges:
        out.append("No other direct effects: two variables not joined by an arrow above do "
                   "not affect each other directly.")
    return tuple(out)


def _and(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def build_report(
    study: Study,
    *,
    estimate: bool = True,
    seed: int | None = None,
    engine: str | Path | render.Engine | None = None,
    data: Any | None = None,
) -> Report:
    """Identify every query and, when data is bound (or `data` is a DataFrame) and `estimate`
    is true, estimate it; draw the diagrams. Only a missing engine for SVG degrades (the HTML
    then shows the Mermaid text and a note)."""
    notes: list[str] = []
    eng: render.Engine | None
    try:
        eng = render.find_engine(engine)
    except RenderError as error:
        if engine is not None:
            raise
        eng = None
        notes.append(error.diagnostics[0].message)

    main_query = study.queries[0] if study.queries else None
    sections: list[QuerySection] = []
    idents: dict[str, Any] = {}
    for q in study.queries:
        try:
            idents[q.name] = render.identification_of(study, q)
        except CausalError as error:
            idents[q.name] = error

    frame = None
    data_note: str | None = None
    data_error: CausalError | None = None
    estimated = False
    if estimate and study.queries:
        if data is not None:
            frame = data
        elif study.data is None:
            data_note = "No data is bound to this study (add a line such as data \"file.csv\"): " \
                        "identification only."
        else:
            try:
                from .data import check_data, load_data

                loaded = load_data(study)
                check_data(study, loaded)
                frame = loaded  # only data that passed the checks is estimated on
            except CausalError as error:
                data_error = error
                data_note = "The data could not be used, so nothing was estimated."
            except ImportError:
                data_note = "Estimation is not available in this installation."
        estimated = frame is not None
    elif not estimate:
        data_note = "Estimation was switched off (--no-estimate): identification only."

    main_diagram = _diagram(study, main_query, idents.get(main_query.name) if main_query
                            else None, eng)
    main_key = _roles_key(study, main_query, idents.get(main_query.name) if main_query else None)
    for q in study.queries:
        ident = idents[q.name]
        ident_ok = None if isinstance(ident, CausalError) else ident
        result = est_error = None
        if frame is not None:
            try:
                from .planner import estimate as run_estimate

                result = run_estimate(study, q, data=frame, seed=seed, checked=True)
            except CausalError as error:
                est_error = error
        svg = mmd = None
        highlight = "adjustment"
        if ident_ok is not None and not ident_ok.identifiable:
            highlight = "paths"
        if q is not main_query and _roles_key(study, q, ident_ok) != main_key:
            svg, mmd, _ = _diagram(study, q, ident_ok, eng)
        sections.append(QuerySection(
            query=q,
            identification=ident_ok,
            identification_error=ident if isinstance(ident, CausalError) else None,
            result=result,
            estimation_error=est_error,
            diagram_svg=svg,
            diagram_mermaid=mmd,
            highlight=highlight,
        ))

    implications: tuple[str, ...] = ()
    more = 0
    try:
        found = study.implications()
        listed = [str(i) for i in found]
        implications = tuple(listed[:MAX_IMPLICATIONS])
        more = len(listed) - len(implications)
        if not getattr(found, "complete", True):
            notes.append("The list of testable implications was cut on this large graph.")
    except ImportError:
        pass
    return Report(
        study=study,
        assumptions=assumptions_in_words(study),
        implications=implications,
        implications_more=more,
        sections=tuple(sections),
        diagram_svg=main_diagram[0],
        diagram_mermaid=main_diagram[1],
        diagram_note=main_diagram[2],
        diagram_highlight=_highlight_for(idents.get(main_query.name) if main_query else None),
        data_note=data_note,
        data_error=data_error,
        estimated=estimated,
        engine=str(eng) if eng else None,
        notes=tuple(notes),
    )


def _highlight_for(ident: Any) -> str:
    """Paths when the effect is not identifiable (the reviewer needs to see why)."""
    if ident is None or isinstance(ident, CausalError):
        return "adjustment"
    return "adjustment" if ident.identifiable else "paths"


def _roles_key(study: Study, q: Query | None, ident: Any) -> tuple[Any, ...]:
    if q is None or isinstance(ident, CausalError):
        return (None,)
    roles = render.diagram_roles(study, q, _highlight_for(ident), identification=ident) \
        if ident is not None else render.Roles(query=q, treatment=q.treatment, outcome=q.outcome)
    return (roles.treatment, roles.outcome, roles.adjustment, roles.paths)


def _diagram(study: Study, q: Query | None, ident: Any, eng: render.Engine | None
             ) -> tuple[str | None, str, str]:
    """(inline SVG or None, Mermaid text, a note on how it was drawn) for one query."""
    if isinstance(ident, CausalError):
        ident = None
    highlight = _highlight_for(ident)
    if ident is None and q is not None:
        highlight = "none"  # no identification: draw the roles only, do not retry it
    roles = render.diagram_roles(study, q, highlight, identification=ident) \
        if highlight != "none" else render.Roles(
            query=q, treatment=q.treatment if q else None, outcome=q.outcome if q else None)
    mermaid = _mermaid_with(study, roles)
    if eng is None:
        return None, mermaid, "No Graphviz engine was found, so the diagram is given as Mermaid."
    dot = render.build_dot(study, roles=roles, title=False).to_string()
    try:
        svg = render.svg_fragment(render.run_engine(dot, "svg", eng))
    except RenderError as error:
        return None, mermaid, error.diagnostics[0].message
    return svg, mermaid, f"Drawn with {eng.name}."


def _mermaid_with(study: Study, roles: render.Roles) -> str:
    return render.to_mermaid(study, roles.query, roles.highlight, title=False, roles=roles)


def write_report(
    study: Study,
    path: str | Path,
    *,
    format: str | None = None,  # mirrors the CLI's --format
    estimate: bool = True,
    seed: int | None = None,
    engine: str | Path | render.Engine | None = None,
) -> Path:
    """Build the report and write it as HTML or Markdown (from `format` or the extension)."""
    out = Path(path)
    fmt_ = report_format(out, format)
    rep = build_report(study, estimate=estimate, seed=seed, engine=engine)
    text = rep.to_html() if fmt_ == "html" else rep.to_markdown()
    return render.write_output(out, text)


def report_format(path: str | Path | None, fmt_: str | None = None) -> str:
    """``html`` or ``markdown``: `fmt_` when given, else from the extension (E605)."""
    if fmt_ is not None:
        if fmt_ in ("md", "markdown"):
            return "markdown"
        if fmt_ == "html":
            return "html"
        raise RenderError(Diagnostic("E605", f"unknown report format '{fmt_}'",
                                     help="use html or markdown"))
    if path is None:
        return "markdown"
    ext = Path(path).suffix.lower()
    if ext not in REPORT_FORMATS:
        raise RenderError(Diagnostic(
            "E605", f"cannot tell the report format from '{Path(path).name}'",
            help="name the file .html or .md, or give --format html|markdown"))
    return REPORT_FORMATS[ext]


# ---------------------------------------------------------------------------------------------
# forest plot
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ForestRow:
    label: str
    effect: float
    low: float
    high: float
    emphasis: bool = False


def forest_rows(result: QueryResult) -> tuple[ForestRow, ...]:
    """Naive contrast, the planned estimate and the cross-check of one query, top to bottom."""
    rows = [ForestRow(_est_label(result.naive, "naive contrast"), result.naive.effect,
                      result.naive.ci_low, result.naive.ci_high)]
    e = result.estimate
    rows.append(ForestRow(f"{e.label} by {result.method}", e.effect, e.ci_low, e.ci_high, True))
    if result.cross_check is not None:
        c = result.cross_check.estimate
        rows.append(ForestRow(f"{c.label} by {result.cross_check.method} (cross-check)",
                              c.effect, c.ci_low, c.ci_high))
    return tuple(rows)


def forest_caption(r: QueryResult) -> str:
    p = r.plan
    return (f"effect of {p.treatment} on {p.outcome} (95% intervals; dashed line: no effect)")


def _est_label(e: Estimate, fallback: str) -> str:
    return e.label or fallback


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten).

    >>> nice_ticks(-5.2, 7.1)
    [-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        centre = low if math.isfinite(low) else 0.0
        low, high = centre - 1, centre + 1
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda c: abs(c - raw))
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12) + 0.0)
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12) + 0.0)
    return ticks


def forest_svg(rows: Sequence[ForestRow], *, width: int = 640, caption: str = "") -> str:
    """A forest plot (point and 95% interval per row, a dashed line at zero) as inline SVG;
    `caption` is written under the axis."""
    finite = [v for r in rows for v in (r.low, r.high, r.effect) if math.isfinite(v)]
    lo, hi = (min([*finite, 0.0]), max([*finite, 0.0])) if finite else (-1.0, 1.0)
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    label_w, right_pad, row_h, top = 250, 20, 28, 10
    axis_h = 52 if caption else 34
    plot_w = width - label_w - right_pad
    height = top + row_h * len(rows) + axis_h

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg class="forest" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="forest plot of the estimates">',
        '<g font-family="Helvetica, Arial, sans-serif" font-size="12">',
    ]
    axis_y = top + row_h * len(rows) + 4
    for t in ticks:
        parts.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{axis_y}" '
                     'stroke="#e6e6e6"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y + 16}" text-anchor="middle" '
                     f'fill="#444">{html.escape(fmt(t, 3))}</text>')
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" '
                 'stroke="#888"/>')
    if caption:
        parts.append(f'<text x="{width / 2:.1f}" y="{axis_y + 34}" '
                     f'text-anchor="middle" fill="#555">{html.escape(caption)}</text>')
    if lo <= 0 <= hi:
        parts.append(f'<line x1="{x(0):.1f}" y1="{top}" x2="{x(0):.1f}" y2="{axis_y}" '
                     'stroke="#555" stroke-dasharray="4 3"/>')
    for i, r in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        colour = COLOURS["treatment_line"] if r.emphasis else "#777777"
        weight = "bold" if r.emphasis else "normal"
        parts.append(f'<text x="{label_w - 10}" y="{cy + 4:.1f}" text-anchor="end" '
                     f'font-weight="{weight}" fill="#222">{html.escape(r.label)}</text>')
        if not all(math.isfinite(v) for v in (r.effect, r.low, r.high)):
            parts.append(f'<text x="{label_w + 6}" y="{cy + 4:.1f}" fill="#a00">'
                         'not finite</text>')
            continue
        parts.append(f'<line x1="{x(r.low):.1f}" y1="{cy:.1f}" x2="{x(r.high):.1f}" '
                     f'y2="{cy:.1f}" stroke="{colour}" stroke-width="2"/>')
        for end in (r.low, r.high):
            parts.append(f'<line x1="{x(end):.1f}" y1="{cy - 5:.1f}" x2="{x(end):.1f}" '
                         f'y2="{cy + 5:.1f}" stroke="{colour}" stroke-width="2"/>')
        shape = (f'<rect x="{x(r.effect) - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" '
                 f'fill="{colour}"/>' if r.emphasis else
                 f'<circle cx="{x(r.effect):.1f}" cy="{cy:.1f}" r="4.5" fill="{colour}"/>')
        parts.append(shape)
    parts.append("</g></svg>")
    return "\n".join(parts)


def forest_text(rows: Sequence[ForestRow], width: int = 44) -> str:
    """The forest plot in text, for Markdown: ``|`` marks zero, ``[---o---]`` an interval."""
    finite = [v for r in rows for v in (r.low, r.high, r.effect) if math.isfinite(v)]
    lo, hi = (min([*finite, 0.0]), max([*finite, 0.0])) if finite else (-1.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 1, hi + 1

    def col(v: float) -> int:
        return max(0, min(width - 1, round((v - lo) / (hi - lo) * (width - 1))))

    label_w = max(len(r.label) for r in rows)
    lines = []
    for r in rows:
        cells = [" "] * width
        if lo <= 0 <= hi:
            cells[col(0)] = "|"
        if all(math.isfinite(v) for v in (r.effect, r.low, r.high)):
            a, b = col(r.low), col(r.high)
            for i in range(a, b + 1):
                cells[i] = "-"
            cells[a], cells[b] = "[", "]"
            cells[col(r.effect)] = "#" if r.emphasis else "o"
            shown = f"{fmt(r.effect)} [{fmt(r.low)}, {fmt(r.high)}]"
        else:
            shown = "not finite"
        lines.append(f"{r.label.ljust(label_w)}  {''.join(cells)}  {shown}")
    axis = f"{'':{label_w}}  {fmt(lo, 3)}{'':>{max(1, width - len(fmt(lo, 3)) - len(fmt(hi, 3)))}}"
    lines.append(axis + fmt(hi, 3))
    return "\n".join(lines)


def event_study_svg(table: Table, *, width: int = 640, height: int = 240) -> str | None:
    """The event-study coefficients against event time, with 95% intervals, a dashed zero line
    and a dotted line where treatment starts (between -1 and 0); None when the table does not
    have the event-study columns. Leads (before adoption) are grey, lags blue."""
    cols = [c.lower() for c in table.columns]
    try:
        i_t, i_b = cols.index("event time"), cols.index("coef")
        i_lo, i_hi = cols.index("95% low"), cols.index("95% high")
    except ValueError:
        return None
    points = []
    for row in table.rows:
        try:
            k, b, lo, hi = (float(row[i]) for i in (i_t, i_b, i_lo, i_hi))
        except (TypeError, ValueError):
            continue
        if all(math.isfinite(v) for v in (k, b, lo, hi)):
            points.append((k, b, lo, hi))
    if len(points) < 2:
        return None
    ks = [p[0] for p in points]
    yt = nice_ticks(min(min(p[2] for p in points), 0.0), max(max(p[3] for p in points), 0.0))
    left, right, top, bottom = 56, 16, 12, 42
    pw, ph = width - left - right, height - top - bottom
    k0, k1 = min(ks) - 0.5, max(ks) + 0.5

    def x(k: float) -> float:
        return left + (k - k0) / (k1 - k0) * pw

    def y(v: float) -> float:
        return top + (yt[-1] - v) / (yt[-1] - yt[0]) * ph

    parts = [f'<svg class="forest" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="event-study plot">',
             '<g font-family="Helvetica, Arial, sans-serif" font-size="12">']
    for t in yt:
        parts.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{left + pw}" y2="{y(t):.1f}" '
                     'stroke="#e6e6e6"/>')
        parts.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#444">'
                     f"{html.escape(fmt(t, 3))}</text>")
    parts.append(f'<line x1="{left}" y1="{y(0):.1f}" x2="{left + pw}" y2="{y(0):.1f}" '
                 'stroke="#555" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{x(-0.5):.1f}" y1="{top}" x2="{x(-0.5):.1f}" y2="{top + ph}" '
                 'stroke="#999" stroke-dasharray="1 3"/>')
    for k, b, lo, hi in points:
        colour = "#777777" if k < 0 else COLOURS["treatment_line"]
        parts.append(f'<line x1="{x(k):.1f}" y1="{y(lo):.1f}" x2="{x(k):.1f}" y2="{y(hi):.1f}" '
                     f'stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(k):.1f}" cy="{y(b):.1f}" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{x(k):.1f}" y="{top + ph + 16}" text-anchor="middle" '
                     f'fill="#444">{html.escape(fmt(k))}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 'fill="#555">periods relative to adoption (95% intervals; reference -1)</text>')
    parts.append("</g></svg>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


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
.forest { max-width: 100%; height: auto; }
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
        f'<span><span class="key" style="{s}"></span>{_e(t)}</span>' for s, t in keys) + "</div>"


def _paths_legend() -> str:
    c = COLOURS
    return ('<div class="legend">'
            f'<span><span class="key" style="border-top:3px solid {c["open_path"]};height:0">'
            '</span>open path (not blocked)</span>'
            f'<span><span class="key" style="border-top:3px solid {c["blocked_path"]};'
            'height:0"></span>confounding path blocked by the set (or blockable)</span></div>')


def _variable_rows(study: Study) -> list[tuple[str, str, str, str]]:
    """(name, kind, data column, label) for each variable, in declaration order."""
    rows = []
    for v in study.variables:
        if v.latent:
            kind = "latent, time-invariant" if v.invariant else "latent"
        else:
            kind = str(v.type) + (f" ({', '.join(v.levels)})" if v.levels else "")
        rows.append((v.name, kind, "—" if v.latent else v.data_column, v.label or ""))
    return rows


def _variables_html(study: Study) -> str:
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>"
                   for row in _variable_rows(study))
    return ('<h3 id="variables">Variables</h3><table class="text"><thead><tr><th>variable</th>'
            "<th>type</th><th>data column</th><th>label</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _variables_markdown(study: Study) -> list[str]:
    out = ["### Variables", "", "| variable | type | data column | label |", "|---|---|---|---|"]
    out += ["| " + " | ".join(_m(c) for c in row) + " |" for row in _variable_rows(study)]
    out.append("")
    return out


def _diagram_html(svg: str | None, mermaid: str, note: str) -> str:
    if svg is not None:
        return f'<div class="dag">{svg}</div>'
    return (f'<p class="muted">{_e(note)}</p><pre class="mermaid">{_e(mermaid)}</pre>')


def _set(names: Iterable[str] | None) -> str:
    if names is None:
        return "—"
    names = sorted(names)
    return "{" + ", ".join(names) + "}" if names else "∅ (nothing)"


def _diagnostics_html(error: CausalError) -> str:
    items = []
    for d in error.diagnostics:
        text = f"<strong>{_e(d.severity)}[{_e(d.code)}]</strong>: {_e(d.message)}"
        for n in d.notes:
            text += f"<br><span class=\"muted\">note: {_e(n)}</span>"
        if d.help:
            text += f"<br><span class=\"muted\">help: {_e(d.help)}</span>"
        items.append(f"<p>{text}</p>")
    return '<div class="error">' + "".join(items) + "</div>"


def _table_html(t: Table) -> str:
    from .results import _cell

    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in t.rows)
    return (f"<h4>{_e(t.title)}</h4><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _estimates_table_html(r: QueryResult) -> str:
    rows = [(f"{r.estimate.label} ({r.method})", r.estimate, True),
            ("naive contrast", r.naive, False)]
    if r.cross_check is not None:
        rows.append((f"cross-check ({r.cross_check.method})", r.cross_check.estimate, False))
    body = ""
    for name, e, strong in rows:
        cell = f"<strong>{_e(name)}</strong>" if strong else _e(name)
        body += (f"<tr><td>{cell}</td><td>{_e(fmt(e.effect))}</td><td>{_e(fmt(e.se))}</td>"
                 f"<td>[{_e(fmt(e.ci_low))}, {_e(fmt(e.ci_high))}]</td>"
                 f"<td>{_e(fmt_p(e.p_value))}</td><td>{_e(e.n)}</td></tr>")
    return ("<table><thead><tr><th></th><th>estimate</th><th>SE</th><th>95% CI</th><th>p</th>"
            f"<th>n</th></tr></thead><tbody>{body}</tbody></table>")


def _checks_html(checks: Iterable[Any]) -> str:
    items = "".join(f'<li class="{_e(c.level)}">{_e(c.level)}: {_e(c.message)}</li>'
                    for c in checks)
    return f'<ul class="checks">{items}</ul>' if items else ""


def identification_html(ident: Any, *, heading: bool = False) -> str:
    """An identification result as HTML (also its Jupyter view)."""
    q = ident.query
    out = []
    if heading:
        out.append(f"<h3>{_e(q)}</h3>")
    badge = ('<span class="badge yes">identified by adjustment</span>' if ident.identifiable
             else '<span class="badge no">not identified by adjustment</span>')
    out.append(f"<p>{badge}</p>")
    if ident.identifiable:
        what = "the optimal set (O-set)" if ident.recommended == "optimal" else "a smallest set"
        out.append(f"<p>Adjust for <strong>{_e(_set(ident.adjustment_set))}</strong> "
                   f"({_e(what)}).</p>")
        if ident.minimal_sets:
            more = " and more" if ident.minimal_sets_truncated else ""
            sets = "; ".join(_set(s) for s in ident.minimal_sets[:10])
            out.append(f'<p class="muted">Minimal sets: {_e(sets)}{_e(more)}.</p>')
    paths = ident.backdoor_paths if ident.identifiable else ident.obstructions
    if paths:
        title = ("Backdoor paths and what blocks them" if ident.identifiable
                 else "Open paths no observed set can block")
        rows = "".join(f"<tr><td><code>{_e(p)}</code></td><td>{_e(p.status())}</td></tr>"
                       for p in paths[:20])
        out.append(f'<h4>{_e(title)}</h4><table class="text"><thead><tr><th>path</th>'
                   "<th>status</th></tr>"
                   f"</thead><tbody>{rows}</tbody></table>")
        if len(paths) > 20:
            out.append(f'<p class="muted">… {len(paths) - 20} more paths not shown.</p>')
    if ident.proposed is not None:
        p = ident.proposed
        verdict = "valid" if p.valid else "not valid"
        out.append(f"<p>Your proposed set {_e(_set(p.adjusting))} is <strong>"
                   f"{_e(verdict)}</strong>.</p>")
        lines = [*p.problems, *(f"note: {n}" for n in p.notes)]
        if lines:
            out.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>")
    if ident.reasons:
        out.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in ident.reasons) + "</ul>")
    if ident.instruments:
        out.append("<p>Instruments: " + _e("; ".join(str(i) for i in ident.instruments))
                   + "</p>")
    return "\n".join(out)


def query_result_html(r: QueryResult, *, heading: bool = True, plot: bool = True) -> str:
    """One query's estimates as HTML: table, forest plot, plan, sample, checks, tables."""
    p = r.plan
    out = []
    if heading:
        out.append(f"<h3>{_e(r.query)}: {_e(p.estimand.upper())}({_e(p.treatment)} → "
                   f"{_e(p.outcome)})</h3>")
    out.append(_estimates_table_html(r))
    if plot:
        out.append(forest_svg(forest_rows(r), caption=forest_caption(r)))
    out.append(f"<p><strong>Plan:</strong> {_e(p.method)} "
               f'<span class="muted">(rule: {_e(p.rule)})</span></p>')
    out.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in p.reasons) + "</ul>")
    out.append(f"<p><strong>Estimator:</strong> {_e(r.result.description)}. "
               f"<strong>Standard errors:</strong> {_e(r.estimate.se_kind)}.</p>")
    out.append(f"<p><strong>Sample:</strong> {_e(r.sample.describe())}.</p>")
    if r.sample.notes:
        out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in r.sample.notes) + "</ul>")
    out.append("<p><strong>Diagnostics:</strong></p>" + _checks_html(r.all_checks))
    for t in r.result.tables:
        out.append(_table_html(t))
        if plot and t.title.lower().startswith("event study"):
            picture = event_study_svg(t)
            if picture is not None:
                out.append(picture)
    if r.seed is not None:
        out.append(f'<p class="muted">Seed: {_e(r.seed)}</p>')
    return "\n".join(out)


def run_result_html(run: RunResult) -> str:
    """Every query's estimates as HTML (the Jupyter view of `RunResult`)."""
    head = f"<h2>{_e(run.title)}</h2>" if run.title else ""
    return (head + f'<p class="muted">Data: {_e(run.source)}</p>'
            + "\n".join(query_result_html(r) for r in run.results))


def _report_html(rep: Report) -> str:
    s = rep.study
    title = rep.title
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No script and nothing fetched: the report is inert whatever the study says.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    meta = []
    if s.path:
        meta.append(f"Study file: <code>{_e(Path(s.path).name)}</code>")
    if s.data is not None:
        panel = (f" (panel: unit = {_e(s.data.unit)}, time = {_e(s.data.time)})"
                 if s.data.is_panel else "")
        meta.append(f"data: <code>{_e(s.data.source)}</code>{panel}")
    meta.append(f"{len(s.variables)} variables ({len(s.latents)} latent), {len(s.edges)} arrows, "
                f"{len(s.queries)} quer{'y' if len(s.queries) == 1 else 'ies'}")
    out.append(f'<p class="meta">{" · ".join(meta)}</p>')

    out.append('<h2 id="diagram">The causal diagram</h2>')
    out.append(_diagram_html(rep.diagram_svg, rep.diagram_mermaid, rep.diagram_note))
    out.append(_legend())
    if rep.diagram_highlight == "paths":
        out.append(_paths_legend())
    if s.queries:
        out.append(f'<p class="muted">Roles are those of query <code>{_e(s.queries[0].name)}'
                   "</code>.</p>")

    out.append('<h2 id="assumptions">Assumptions</h2>')
    out.append("<ul>" + "".join(f"<li>{_e(a)}</li>" for a in rep.assumptions) + "</ul>")
    out.append(_variables_html(s))
    if rep.implications:
        more = (f" (and {rep.implications_more} more)" if rep.implications_more else "")
        out.append("<p>If the diagram is right, the data should show these conditional "
                   f"independences{_e(more)}:</p>")
        out.append("<ul>" + "".join(f"<li><code>{_e(i)}</code></li>" for i in rep.implications)
                   + "</ul>")

    if rep.data_note or rep.data_error:
        out.append('<h2 id="data">Data</h2>')
        if rep.data_note:
            out.append(f"<p>{_e(rep.data_note)}</p>")
        if rep.data_error is not None:
            out.append(_diagnostics_html(rep.data_error))

    for sec in rep.sections:
        q = sec.query
        estimand = ESTIMANDS.get(q.estimand, q.estimand)
        out.append(f'<h2 id="query-{_e(q.name)}">Query <code>{_e(q.name)}</code>: '
                   f"{_e(q.estimand.upper())} of "
                   f"{_e(q.treatment)} on {_e(q.outcome)}</h2>")
        out.append(f'<p class="muted">{_e(estimand)}'
                   + (f"; method: {_e(q.method)}" if q.method.name != "auto" else "") + "</p>")
        if sec.diagram_svg is not None or sec.diagram_mermaid is not None:
            out.append(_diagram_html(sec.diagram_svg, sec.diagram_mermaid or "", ""))
            if sec.highlight == "paths":
                out.append(_paths_legend())
        out.append(f'<h3 id="identification-{_e(q.name)}">Identification</h3>')
        if sec.identification is not None:
            out.append(identification_html(sec.identification))
        elif sec.identification_error is not None:
            out.append(_diagnostics_html(sec.identification_error))
        else:
            out.append('<p class="muted">Identification is not available.</p>')
        if sec.result is not None:
            out.append(f'<h3 id="estimates-{_e(q.name)}">Estimates</h3>')
            out.append(query_result_html(sec.result, heading=False))
        elif sec.estimation_error is not None:
            out.append("<h3>Estimates</h3>")
            out.append("<p>Not estimated:</p>" + _diagnostics_html(sec.estimation_error))

    if s.source:
        out.append("<h2>Appendix: the study file</h2>")
        out.append(f"<details><summary>{_e(Path(s.path).name if s.path else 'study')}"
                   f"</summary><pre>{_e(s.source)}</pre></details>")
    foot = "Generated by causal-dsl"
    if rep.engine:
        foot += f"; diagram laid out by {rep.engine.split(' (')[0]}"
    out.append(f'<p class="muted"><small>{_e(foot)}.</small></p>')
    for n in rep.notes:
        out.append(f'<p class="muted"><small>{_e(n)}</small></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
def _m(text: Any) -> str:
    return markdown_escape(str(text))


def _table_md(t: Table) -> str:
    from .results import _cell

    head = "| " + " | ".join(_m(c) for c in t.columns) + " |"
    sep = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(t.columns))) + "|"
    body = ["| " + " | ".join(_m(_cell(v)) for v in row) + " |" for row in t.rows]
    return "\n".join([f"**{_m(t.title)}**", "", head, sep, *body])


def _diagnostics_md(error: CausalError) -> list[str]:
    out = []
    for d in error.diagnostics:
        out.append(f"> **{d.severity}\\[{d.code}\\]**: {_m(d.message)}")
        out += [f"> note: {_m(n)}" for n in d.notes]
        if d.help:
            out.append(f"> help: {_m(d.help)}")
        out.append("")
    return out


def identification_markdown(ident: Any) -> list[str]:
    out = ["**Identified by adjustment:** " + ("yes" if ident.identifiable else "**no**"), ""]
    if ident.identifiable:
        what = "the optimal set (O-set)" if ident.recommended == "optimal" else "a smallest set"
        out += [f"Adjust for **{_m(_set(ident.adjustment_set))}** ({what}).", ""]
        if ident.minimal_sets:
            sets = "; ".join(_set(s) for s in ident.minimal_sets[:10])
            out += [f"Minimal sets: {_m(sets)}" + (" and more" if
                                                   ident.minimal_sets_truncated else ""), ""]
    paths = ident.backdoor_paths if ident.identifiable else ident.obstructions
    if paths:
        out += ["| path | status |", "|---|---|"]
        out += [f"| {_m(p)} | {_m(p.status())} |" for p in paths[:20]]
        out.append("")
    if ident.proposed is not None:
        p = ident.proposed
        out.append(f"Your proposed set {_m(_set(p.adjusting))} is **"
                   f"{'valid' if p.valid else 'not valid'}**.")
        out += [f"- {_m(x)}" for x in (*p.problems, *(f"note: {n}" for n in p.notes))]
        out.append("")
    out += [f"- {_m(r)}" for r in ident.reasons]
    if ident.instruments:
        out += ["", "Instruments: " + _m("; ".join(str(i) for i in ident.instruments))]
    out.append("")
    return out


def query_result_markdown(r: QueryResult) -> list[str]:
    p = r.plan
    rows = [(f"**{_m(r.estimate.label)} ({_m(r.method)})**", r.estimate),
            ("naive contrast", r.naive)]
    if r.cross_check is not None:
        rows.append((f"cross-check ({_m(r.cross_check.method)})", r.cross_check.estimate))
    out = ["| | estimate | SE | 95% CI | p | n |", "|---|---:|---:|---|---:|---:|"]
    out += [f"| {name} | {fmt(e.effect)} | {fmt(e.se)} | \\[{fmt(e.ci_low)}, {fmt(e.ci_high)}\\]"
            f" | {_m(fmt_p(e.p_value))} | {e.n} |" for name, e in rows]
    out += ["", "```text", forest_text(forest_rows(r)), "```", ""]
    out += [f"**Plan:** {_m(p.method)} (rule: {_m(p.rule)})", ""]
    out += [f"- {_m(x)}" for x in p.reasons]
    out += ["", f"**Estimator:** {_m(r.result.description)}. **Standard errors:** "
            f"{_m(r.estimate.se_kind)}.", ""]
    out += [f"**Sample:** {_m(r.sample.describe())}.", ""]
    out += [f"- {_m(n)}" for n in r.sample.notes]
    out += ["**Diagnostics:**", ""]
    out += [f"- {c.level}: {_m(c.message)}" for c in r.all_checks]
    for t in r.result.tables:
        out += ["", _table_md(t)]
    out.append("")
    return out


def _report_markdown(rep: Report) -> str:
    s = rep.study
    out = [f"# {_m(rep.title)}", ""]
    meta = []
    if s.path:
        meta.append(f"study file: {_m(Path(s.path).name)}")
    if s.data is not None:
        meta.append(f"data: {_m(s.data.source)}" + (
            f" (panel: unit = {_m(s.data.unit)}, time = {_m(s.data.time)})"
            if s.data.is_panel else ""))
    meta.append(f"{len(s.variables)} variables ({len(s.latents)} latent), {len(s.edges)} "
                f"arrows, {len(s.queries)} quer{'y' if len(s.queries) == 1 else 'ies'}")
    out += [" · ".join(meta), "", "## The causal diagram", "", "```mermaid",
            rep.diagram_mermaid.rstrip("\n"), "```", ""]
    if s.queries:
        out += [f"Roles are those of query {_m(s.queries[0].name)}: treatment in blue, outcome "
                "in orange, the adjustment set in green with a double border, latent "
                "variables dashed; a dashed two-headed arrow is a hidden common cause.", ""]
        if rep.diagram_highlight == "paths":
            out += ["Red: open paths no observed set can block; orange: confounding paths an "
                    "adjustment set could block.", ""]
    out += ["## Assumptions", ""]
    out += [f"- {_m(a)}" for a in rep.assumptions]
    out.append("")
    out += _variables_markdown(s)
    if rep.implications:
        more = f" (and {rep.implications_more} more)" if rep.implications_more else ""
        out += ["If the diagram is right, the data should show these conditional "
                f"independences{more}:", ""]
        out += [f"- {_m(i)}" for i in rep.implications]
        out.append("")
    if rep.data_note or rep.data_error:
        out += ["## Data", ""]
        if rep.data_note:
            out += [_m(rep.data_note), ""]
        if rep.data_error is not None:
            out += _diagnostics_md(rep.data_error)
    for sec in rep.sections:
        q = sec.query
        out += [f"## Query {_m(q.name)}: {q.estimand.upper()} of {_m(q.treatment)} on "
                f"{_m(q.outcome)}", ""]
        out += [_m(ESTIMANDS.get(q.estimand, q.estimand))
                + (f"; method: {_m(q.method)}" if q.method.name != "auto" else "") + ".", ""]
        if sec.diagram_mermaid is not None:
            out += ["```mermaid", sec.diagram_mermaid.rstrip("\n"), "```", ""]
            if sec.highlight == "paths":
                out += ["Red: open paths (not blocked); orange: confounding paths the set "
                        "blocks (or could block).", ""]
        out += ["### Identification", ""]
        if sec.identification is not None:
            out += identification_markdown(sec.identification)
        elif sec.identification_error is not None:
            out += _diagnostics_md(sec.identification_error)
        if sec.result is not None:
            out += ["### Estimates", ""]
            out += query_result_markdown(sec.result)
        elif sec.estimation_error is not None:
            out += ["### Estimates", "", "Not estimated:", ""]
            out += _diagnostics_md(sec.estimation_error)
    if s.source:
        # A fence longer than any run of backticks in the source keeps it inside the block.
        ticks = "`" * max(3, _longest_backtick_run(s.source) + 1)
        out += ["## Appendix: the study file", "", "<details><summary>study file</summary>", "",
                ticks + "text", s.source.rstrip("\n"), ticks, "", "</details>", ""]
    for n in rep.notes:
        out += [f"_{_m(n)}_", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _longest_backtick_run(text: str) -> int:
    best = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best

"""The assumptions on trial in a report: the DAG against the data, sensitivity, refutations.

In: a `StudyChecks` (`causal_dsl.checks`, computed once by the façade and passed down by the
report) and its parts. Out: hand-drawn inline SVG — the implications' estimates with their
intervals (as DAGitty's ``plotLocalTestResults``) and the Cinelli–Hazlett contour plot of the
adjusted estimate (as sensemakr's ``ovb_contour_plot``) — their text forms for Markdown, and
the three report sections in Markdown and HTML. Colours are the Okabe–Ito palette and every
mark also differs in shape or dash (filled square: rejected; hollow circle: not rejected; the
zero contour thick and dashed), so the plots read in black and white. Every label is escaped
(`markup`). Raises nothing: a value that is not finite is not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..checks._design import fmt
from .charts import nice_ticks
from .markup import html_escape, markdown_escape

if TYPE_CHECKING:
    from ..checks import ImplicationChanges, LocalTest, LocalTests, OLSSensitivity, StudyChecks

__all__ = ["OKABE_ITO", "checks_html", "checks_markdown", "contour_lines", "contour_svg",
           "contour_text", "implication_changes_markdown", "local_tests_svg",
           "local_tests_text"]

# Okabe & Ito (2008), the colour-blind-safe palette
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000"}
FONT = '<g font-family="Helvetica, Arial, sans-serif" font-size="12">'


def _f(v: float | None) -> str:
    return fmt(v)


def _tested(local: LocalTests) -> list[LocalTest]:
    return [t for t in local.items if t.tested and all(
        v is not None and math.isfinite(v) for v in (t.estimate, t.low, t.high))]


# --- the implications' estimates (plotLocalTestResults) -------------------------------------
def local_tests_svg(local: LocalTests, *, width: int = 640) -> str | None:
    """One row per tested implication: its estimate (filled square when rejected, hollow
    circle when not) and interval, a dashed line at 0; one panel per measure (r, log odds
    ratio, mean difference, RMSEA), each with its own axis. None when nothing was tested."""
    rows = _tested(local)
    if not rows:
        return None
    panels: dict[str, list[LocalTest]] = {}
    for t in rows:
        panels.setdefault(t.measure, []).append(t)
    label_w, pad, row_h, axis_h, head_h = 250, 20, 24, 30, 20
    height = sum(head_h + row_h * len(p) + axis_h for p in panels.values()) + 8
    plot_w = width - label_w - pad
    out = [f'<svg class="local-tests" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
           'aria-label="estimates of the testable implications with their intervals">', FONT]
    y0 = 4
    for measure, items in panels.items():
        vals = [v for t in items for v in (t.low, t.high, t.estimate) if v is not None]
        ticks = nice_ticks(min([*vals, 0.0]), max([*vals, 0.0]))
        lo, hi = ticks[0], ticks[-1]

        def x(v: float, lo: float = lo, hi: float = hi) -> float:
            return label_w + (v - lo) / (hi - lo) * plot_w

        out.append(f'<text x="{label_w}" y="{y0 + 14}" font-weight="bold" fill="#222">'
                   f'{html_escape(measure)}</text>')
        top = y0 + head_h
        axis_y = top + row_h * len(items) + 2
        for tk in ticks:
            out.append(f'<line x1="{x(tk):.1f}" y1="{top}" x2="{x(tk):.1f}" y2="{axis_y}" '
                       'stroke="#e6e6e6"/>')
            out.append(f'<text x="{x(tk):.1f}" y="{axis_y + 15}" text-anchor="middle" '
                       f'fill="#444">{html_escape(_f(tk))}</text>')
        out.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" '
                   f'y2="{axis_y}" stroke="#888"/>')
        out.append(f'<line x1="{x(0):.1f}" y1="{top}" x2="{x(0):.1f}" y2="{axis_y}" '
                   'stroke="#000" stroke-dasharray="4 3"/>')
        for i, t in enumerate(items):
            cy = top + row_h * i + row_h / 2
            colour = OKABE_ITO["vermillion"] if t.rejected else OKABE_ITO["blue"]
            assert t.estimate is not None and t.low is not None and t.high is not None
            bold = ' font-weight="bold"' if t.rejected else ""
            out.append(f'<text x="{label_w - 10}" y="{cy + 4:.1f}" text-anchor="end" '
                       f'fill="#222"{bold}>{html_escape(t.text)}</text>')
            out.append(f'<line x1="{x(t.low):.1f}" y1="{cy:.1f}" x2="{x(t.high):.1f}" '
                       f'y2="{cy:.1f}" stroke="{colour}" stroke-width="2"/>')
            if t.rejected:
                out.append(f'<rect x="{x(t.estimate) - 5:.1f}" y="{cy - 5:.1f}" width="10" '
                           f'height="10" fill="{colour}"><title>rejected</title></rect>')
            else:
                out.append(f'<circle cx="{x(t.estimate):.1f}" cy="{cy:.1f}" r="4.5" '
                           f'fill="#fff" stroke="{colour}" stroke-width="2"/>')
        y0 = axis_y + axis_h
    out.append("</g></svg>")
    return "\n".join(out)


def local_tests_text(local: LocalTests, width: int = 40) -> str | None:
    """The same plot in text: ``|`` is zero, ``[--o--]`` an interval, ``#`` a rejected
    implication's estimate; one block per measure."""
    rows = _tested(local)
    if not rows:
        return None
    label_w = max(len(t.text) for t in rows)
    lines: list[str] = []
    for measure in dict.fromkeys(t.measure for t in rows):
        items = [t for t in rows if t.measure == measure]
        vals = [v for t in items for v in (t.low, t.high, t.estimate) if v is not None]
        lo, hi = min([*vals, 0.0]), max([*vals, 0.0])
        if hi <= lo:
            lo, hi = lo - 1, hi + 1

        def col(v: float, lo: float = lo, hi: float = hi) -> int:
            return max(0, min(width - 1, round((v - lo) / (hi - lo) * (width - 1))))

        lines.append(f"{measure}:")
        for t in items:
            assert t.estimate is not None and t.low is not None and t.high is not None
            cells = [" "] * width
            a, b = col(t.low), col(t.high)
            for i in range(a, b + 1):
                cells[i] = "-"
            cells[col(0)] = "|"
            cells[a], cells[b] = "[", "]"
            cells[col(t.estimate)] = "#" if t.rejected else "o"
            mark = "  REJECTED" if t.rejected else ""
            lines.append(f"  {t.text.ljust(label_w)}  {''.join(cells)}  {_f(t.estimate)} "
                         f"[{_f(t.low)}, {_f(t.high)}]{mark}")
        gap = max(1, width - len(_f(lo)) - len(_f(hi)))
        lines.append(f"  {'':{label_w}}  {_f(lo)}{'':>{gap}}{_f(hi)}")
    return "\n".join(lines)


# --- the Cinelli–Hazlett contour plot -------------------------------------------------------
def contour_lines(xs: Sequence[float], ys: Sequence[float], z: Sequence[Sequence[float]],
                  level: float) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Segments of the contour ``z = level`` on the grid (``z[i][j]`` at ``(xs[i], ys[j])``),
    by marching squares with linear interpolation along each cell's edges.

    >>> segs = contour_lines([0, 1], [0, 1], [[0, 1], [1, 2]], 1.0)
    >>> sorted((round(a[0], 2), round(a[1], 2)) for seg in segs for a in seg)
    [(0.0, 1.0), (1.0, 0.0)]
    """
    segs = []
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            corners = [(xs[i], ys[j], z[i][j]), (xs[i + 1], ys[j], z[i + 1][j]),
                       (xs[i + 1], ys[j + 1], z[i + 1][j + 1]), (xs[i], ys[j + 1], z[i][j + 1])]
            if not all(math.isfinite(c[2]) for c in corners):
                continue
            points = []
            for k in range(4):
                (x1, y1, v1), (x2, y2, v2) = corners[k], corners[(k + 1) % 4]
                if (v1 - level) * (v2 - level) < 0 or (v1 == level and v2 != level):
                    s = (level - v1) / (v2 - v1)
                    points.append((x1 + s * (x2 - x1), y1 + s * (y2 - y1)))
            points = list(dict.fromkeys(points))
            if len(points) == 2:
                segs.append((points[0], points[1]))
            elif len(points) == 4:  # a saddle: pair the crossings in order
                segs += [(points[0], points[1]), (points[2], points[3])]
    return segs


def contour_svg(sens: OLSSensitivity, *, size: int = 420, points: int = 41) -> str:
    """sensemakr's contour plot: lines of equal adjusted estimate over the partial R² of a
    confounder with the treatment (x) and with the outcome (y); the line where the estimate
    reaches 0 thick and dashed (vermillion), the others thin (blue) and labelled; the
    unadjusted estimate a triangle at the origin, each benchmark (k × a covariate) a filled
    diamond with its label."""
    grid = sens.contour(points=points)
    xs, ys, z = grid["r2dz_x"], grid["r2yz_dx"], grid["adjusted_estimate"]
    top = xs[-1]
    left, bottom, pad = 56, 46, 16
    plot = size - left - pad
    height = plot + pad + bottom

    def px(v: float) -> float:
        return left + v / top * plot

    def py(v: float) -> float:
        return pad + plot - v / top * plot

    flat = [v for row in z for v in row if math.isfinite(v)]
    levels = [v for v in nice_ticks(min(flat), max(flat), 7) if v != 0.0 and
              min(flat) < v < max(flat)]
    out = [f'<svg class="contour" xmlns="http://www.w3.org/2000/svg" width="{size}" '
           f'height="{height}" viewBox="0 0 {size} {height}" role="img" '
           f'aria-label="sensitivity contour plot of the {html_escape(sens.treatment)} '
           'estimate">', FONT,
           f'<rect x="{left}" y="{pad}" width="{plot}" height="{plot}" fill="none" '
           'stroke="#888"/>']
    for tk in nice_ticks(0.0, top, 5):
        if tk > top + 1e-12:
            continue
        out.append(f'<text x="{px(tk):.1f}" y="{pad + plot + 16}" text-anchor="middle" '
                   f'fill="#444">{tk:g}</text>')
        out.append(f'<text x="{left - 6}" y="{py(tk) + 4:.1f}" text-anchor="end" '
                   f'fill="#444">{tk:g}</text>')
    out.append(f'<text x="{left + plot / 2:.1f}" y="{height - 8}" text-anchor="middle" '
               f'fill="#222">partial R² of the confounder with {html_escape(sens.treatment)}'
               '</text>')
    out.append(f'<text x="14" y="{pad + plot / 2:.1f}" text-anchor="middle" fill="#222" '
               f'transform="rotate(-90 14 {pad + plot / 2:.1f})">partial R² with '
               f'{html_escape(sens.outcome)}</text>')
    for level in [*levels, 0.0]:
        segs = contour_lines(xs, ys, z, level)
        if not segs:
            continue
        zero = level == 0.0
        style = (f'stroke="{OKABE_ITO["vermillion"]}" stroke-width="2.5" '
                 'stroke-dasharray="7 4"' if zero else
                 f'stroke="{OKABE_ITO["blue"]}" stroke-width="1"')
        path = " ".join(f"M{px(a[0]):.1f},{py(a[1]):.1f}L{px(b[0]):.1f},{py(b[1]):.1f}"
                        for a, b in segs)
        out.append(f'<path d="{path}" fill="none" {style}/>')
        lx, ly = max((p for s in segs for p in s), key=lambda p: p[0] + p[1])
        out.append(f'<text x="{px(lx) - 4:.1f}" y="{py(ly) - 4:.1f}" text-anchor="end" '
                   f'fill="#222">{html_escape(_f(level))}{" (zero)" if zero else ""}</text>')
    out.append(f'<path d="M{px(0):.1f},{py(0) - 7:.1f}l6,10h-12z" fill="#000">'
               f'<title>unadjusted: {html_escape(_f(sens.estimate))}</title></path>')
    out.append(f'<text x="{px(0) + 8:.1f}" y="{py(0) - 6:.1f}" fill="#000">unadjusted '
               f'{html_escape(_f(sens.estimate))}</text>')
    for b in sens.benchmarks:
        if not (0 <= b.r2dz_x <= top and 0 <= b.r2yz_dx <= top):
            continue
        cx, cy = px(b.r2dz_x), py(b.r2yz_dx)
        out.append(f'<path d="M{cx:.1f},{cy - 5:.1f}l5,5l-5,5l-5,-5z" fill="#000"/>')
        out.append(f'<text x="{cx + 7:.1f}" y="{cy + 4:.1f}" fill="#000">'
                   f'{html_escape(f"{b.kd:g}× {b.covariate}")} '
                   f'({html_escape(_f(b.adjusted_estimate))})</text>')
    out.append("</g></svg>")
    return "\n".join(out)


def contour_text(sens: OLSSensitivity, *, points: int = 21) -> str:
    """The contour plot in text: rows are the partial R² with the outcome (top: largest),
    columns with the treatment; ``+`` where the adjusted estimate keeps its sign, ``.`` where
    a confounder that strong would bring it to zero or past it, digits the benchmarks."""
    grid = sens.contour(points=points)
    xs, ys, z = grid["r2dz_x"], grid["r2yz_dx"], grid["adjusted_estimate"]
    sign = 1.0 if sens.estimate >= 0 else -1.0
    cells = [["+" if sign * z[i][j] > 0 else "." for i in range(len(xs))]
             for j in range(len(ys))]
    legend = []
    for n, b in enumerate(sens.benchmarks[:9], start=1):
        i = min(range(len(xs)), key=lambda k: abs(xs[k] - b.r2dz_x))
        j = min(range(len(ys)), key=lambda k: abs(ys[k] - b.r2yz_dx))
        if b.r2dz_x <= xs[-1] and b.r2yz_dx <= ys[-1]:
            cells[j][i] = str(n)
        legend.append(f"  {n}: {b.kd:g}× {b.covariate} (R²: {_f(b.r2dz_x)}, "
                      f"{_f(b.r2yz_dx)}) -> {_f(b.adjusted_estimate)}")
    lines = [f"partial R² with {sens.outcome} (up) by partial R² with {sens.treatment} "
             f"(right), 0 to {xs[-1]:.2g}; +: the estimate keeps its sign, .: it is erased"]
    lines += [f"  {ys[j]:5.2f} " + " ".join(cells[j]) for j in reversed(range(len(ys)))]
    lines.append("        " + " ".join("^" if k % 5 == 0 else " " for k in range(len(xs))))
    lines.append("        ticks every " + f"{5 * (xs[1] - xs[0]):.2g}")
    return "\n".join([*lines, *legend])


# --- the report sections --------------------------------------------------------------------
def _bounded(checks: StudyChecks) -> str:
    """The refutations' budget and cost, said in the report (it uses fewer replications)."""
    reps = sorted({r.replications for q in checks.queries if q.refutations
                   for r in q.refutations.items if r.replications > 1})
    reps_text = f"{'/'.join(map(str, reps))} replications each" if reps else "no replications"
    cost = sum(q.refutations.estimations for q in checks.queries if q.refutations)
    secs = sum(q.refutations.seconds for q in checks.queries if q.refutations)
    return (f"Refutations: seeded (seed {checks.seed}), {reps_text}; {cost} re-estimations in "
            f"{secs:.2f} s.")


def checks_markdown(checks: StudyChecks | str | None) -> list[str]:
    """The three sections in Markdown (plots in text, in fenced blocks); `checks` a sentence:
    why there are none."""
    esc = markdown_escape
    out = ["## The assumptions on trial", ""]
    if checks is None or isinstance(checks, str):
        return [*out, esc(checks or "The checks were not run."), ""]
    local = checks.local
    out += ["### The DAG against the data", "", esc(local.verdict[0].upper() + local.verdict[1:])
            + ".", ""]
    plot = local_tests_text(local)
    if plot is not None:
        out += ["```text", plot, "```", ""]
    out += ["```text", str(local), "```", ""]
    out += ["### Sensitivity to unobserved confounding", ""]
    for q in checks.queries:
        out += [f"**Query {esc(q.query)}** ({esc(q.treatment)} → {esc(q.outcome)})", ""]
        if q.skipped:
            out += [f"Not checked: {esc(q.skipped)}.", ""]
            continue
        blocks = [str(b) for b in (q.sensitivity, q.evalue) if b is not None]
        blocks += [x.sentence(q.treatment, q.outcome) for x in q.latents]
        out += [f"- {esc(b)}" for block in blocks for b in block.splitlines() if b.strip()]
        out.append("")
        if q.sensitivity is not None:
            out += ["```text", contour_text(q.sensitivity), "```", ""]
    out += ["### Refutations", "", esc(_bounded(checks)), ""]
    for q in checks.queries:
        if q.refutations is None:
            continue
        out += [f"**Query {esc(q.query)}**", "", "| check | verdict | what it means |",
                "|---|---|---|"]
        out += [f"| {esc(r.name)} | {esc(r.verdict)} | {esc(r.sentence)} |"
                for r in q.refutations.items]
        out.append("")
    return out


def checks_html(checks: StudyChecks | str | None) -> str:
    """The three sections in HTML, with the SVG plots (`checks` a sentence: why none)."""
    esc = html_escape
    out = ['<section id="checks"><h2>The assumptions on trial</h2>']
    if checks is None or isinstance(checks, str):
        out.append(f"<p>{esc(checks or 'The checks were not run.')}</p></section>")
        return "\n".join(out)
    local = checks.local
    out.append("<h3>The DAG against the data</h3>")
    out.append(f"<p>{esc(local.verdict[0].upper() + local.verdict[1:])}.</p>")
    plot = local_tests_svg(local)
    if plot is not None:
        out.append('<p class="muted">Each implication\'s estimate and interval (DAGitty\'s '
                   "plotLocalTestResults): filled squares are rejected, hollow circles are "
                   "not; dashed line: independence.</p>" + plot)
    rows = "".join(
        f"<tr><td>{esc(t.text)}</td><td>{esc(_f(t.estimate))}</td>"
        f"<td>[{esc(_f(t.low))}, {esc(_f(t.high))}]</td><td>{esc(t.short())}</td>"
        f"<td>{'REJECTED' if t.rejected else ''}</td><td>{esc(t.test)}</td></tr>"
        for t in local.items)
    if rows:
        out.append("<table><thead><tr><th>implication</th><th>estimate</th><th>interval</th>"
                   "<th>Holm</th><th></th><th>test</th></tr></thead>"
                   f"<tbody>{rows}</tbody></table>")
    out.append("<h3>Sensitivity to unobserved confounding</h3>")
    for q in checks.queries:
        out.append(f"<h4>Query {esc(q.query)} ({esc(q.treatment)} → {esc(q.outcome)})</h4>")
        if q.skipped:
            out.append(f"<p>Not checked: {esc(q.skipped)}.</p>")
            continue
        blocks = [str(b) for b in (q.sensitivity, q.evalue) if b is not None]
        blocks += [x.sentence(q.treatment, q.outcome) for x in q.latents]
        items = "".join(f"<li>{esc(b.strip())}</li>" for block in blocks
                        for b in block.splitlines() if b.strip())
        out.append(f"<ul>{items}</ul>")
        if q.sensitivity is not None:
            out.append('<p class="muted">Contours of the adjusted estimate (Cinelli &amp; '
                       "Hazlett 2020): the dashed line is where a confounder that strong "
                       "would erase it; diamonds are confounders k times as strong as an "
                       "observed covariate.</p>" + contour_svg(q.sensitivity))
    out.append("<h3>Refutations</h3>")
    out.append(f"<p>{esc(_bounded(checks))}</p>")
    for q in checks.queries:
        if q.refutations is None:
            continue
        body = "".join(f"<tr><td>{esc(r.name)}</td><td>{esc(r.verdict)}</td>"
                       f"<td>{esc(r.sentence)}</td></tr>" for r in q.refutations.items)
        out.append(f"<h4>Query {esc(q.query)}</h4><table><thead><tr><th>check</th>"
                   "<th>verdict</th><th>what it means</th></tr></thead>"
                   f"<tbody>{body}</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


# --- causal diff --data ---------------------------------------------------------------------
def implication_changes_markdown(changes: ImplicationChanges) -> list[str]:
    """``causal diff --data --format markdown``: the verdict and one row per implication."""
    esc = markdown_escape
    out = ["### Implications on the data, before and after", "",
           esc(changes.verdict[0].upper() + changes.verdict[1:]) + ".", "",
           "| implication | status | before | after |", "|---|---|---|---|"]
    for c in changes.items:
        cells = [_change_cell(t) for t in (c.before, c.after)]
        note = f" ({esc(c.note)})" if c.note else ""
        out.append(f"| {esc(c.text)} | {esc(c.status)}{note} | {esc(cells[0])} | "
                   f"{esc(cells[1])} |")
    out.append("")
    return out


def _change_cell(t: LocalTest | None) -> str:
    if t is None:
        return "not implied"
    return t.short() if t.tested else "not tested"

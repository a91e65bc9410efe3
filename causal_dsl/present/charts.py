"""Charts drawn by hand: the forest plot of a query's estimates (SVG, and text for Markdown)
and the event-study plot of a difference-in-differences design (SVG).

In: a `QueryResult` (or its rows) and an event-study `Table`. Out: inline SVG strings (no
script, nothing fetched, every label escaped) or plain text. Raises nothing: rows that are not
finite are drawn as "not finite", and a table without the event-study columns gives None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..render import COLOURS
from ..results import Estimate, QueryResult, Table, fmt
from .markup import html_escape

__all__ = ["ForestRow", "event_study_svg", "forest_caption", "forest_rows", "forest_svg",
           "forest_text", "nice_ticks"]


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
                     f'fill="#444">{html_escape(fmt(t, 3))}</text>')
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" '
                 'stroke="#888"/>')
    if caption:
        parts.append(f'<text x="{width / 2:.1f}" y="{axis_y + 34}" '
                     f'text-anchor="middle" fill="#555">{html_escape(caption)}</text>')
    if lo <= 0 <= hi:
        parts.append(f'<line x1="{x(0):.1f}" y1="{top}" x2="{x(0):.1f}" y2="{axis_y}" '
                     'stroke="#555" stroke-dasharray="4 3"/>')
    for i, r in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        colour = COLOURS["treatment_line"] if r.emphasis else "#777777"
        weight = "bold" if r.emphasis else "normal"
        parts.append(f'<text x="{label_w - 10}" y="{cy + 4:.1f}" text-anchor="end" '
                     f'font-weight="{weight}" fill="#222">{html_escape(r.label)}</text>')
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
        # two-way fixed effects (did) and Callaway–Sant'Anna's dynamic aggregation (staggered)
        i_t = cols.index("event time") if "event time" in cols else cols.index("exposure e")
        i_b = cols.index("coef") if "coef" in cols else cols.index("att(e)")
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
                     f"{html_escape(fmt(t, 3))}</text>")
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
                     f'fill="#444">{html_escape(fmt(k))}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 'fill="#555">periods relative to adoption (95% intervals; reference -1)</text>')
    parts.append("</g></svg>")
    return "\n".join(parts)

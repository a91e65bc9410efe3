"""Balance plots drawn by hand: the love plot (|SMD| per covariate before and after matching)
and the propensity-score overlap plot (the two arms' distributions, the units matching left out
marked), as SVG, and in text for Markdown and terminals.

In: a balance `Table` (the one the matching estimator reports: the plot reads the very numbers
printed in it, so the two cannot disagree) and a `UnitData` (per-row scores and weights of the
same fit). Out: inline SVG strings (no script, nothing fetched, every label escaped) or plain
text; None when the input lacks what the plot needs. Raises nothing.

Conventions. The love plot follows cobalt's ``love.plot`` and MatchIt's ``plot(summary(.))``:
absolute standardized mean differences (MatchIt's default ``abs = TRUE``), covariates in the
order of the balance table (cobalt's default ``var.order``, the distance measure first, as cobalt
keeps it with ``drop.distance = FALSE``), "before" (unadjusted) and "after" (matched) points,
and a dashed threshold line at 0.1. The overlap plot is cobalt's mirrored histogram
(``bal.plot(..., type = "histogram", mirror = TRUE)``): treated above the axis, controls below.

Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies), and every
distinction is also drawn by shape or pattern (hollow circle / filled square, solid / hatched
bars, crosses), so a black-and-white print reads the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..results import Table, UnitData, fmt
from .charts import nice_ticks
from .markup import html_escape

__all__ = ["OKABE_ITO", "SMD_THRESHOLD", "LovePoint", "love_points", "love_svg", "love_text",
           "overlap_svg", "overlap_text"]

SMD_THRESHOLD = 0.1
# Okabe & Ito (2008): distinguishable under deuteranopia, protanopia and tritanopia
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "vermillion": "#D55E00",
             "sky": "#56B4E9", "green": "#009E73", "grey": "#6b6b6b"}
_FONT = '<g font-family="Helvetica, Arial, sans-serif" font-size="12">'


@dataclass(frozen=True, slots=True)
class LovePoint:
    covariate: str
    before: float  # |SMD| before matching
    after: float  # |SMD| after matching


def love_points(table: Table) -> tuple[LovePoint, ...] | None:
    """|SMD| before and after, read from the balance table's own cells (None when the table
    has no "SMD before" / "SMD after" columns)."""
    cols = [c.lower() for c in table.columns]
    try:
        i_b, i_a = cols.index("smd before"), cols.index("smd after")
    except ValueError:
        return None
    points = []
    for row in table.rows:
        b, a = _number(row[i_b]), _number(row[i_a])
        points.append(LovePoint(str(row[0]), abs(b), abs(a)))
    return tuple(points) if points else None


def _number(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _svg_head(width: int, height: int, label: str, css: str) -> list[str]:
    return [f'<svg class="{css}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{html_escape(label)}">', _FONT]


def love_svg(table: Table, *, width: int = 640, threshold: float = SMD_THRESHOLD,
             caption: str = "") -> str | None:
    """The love plot of a balance table as inline SVG (None without SMD columns)."""
    points = love_points(table)
    if points is None:
        return None
    finite = [v for p in points for v in (p.before, p.after) if math.isfinite(v)]
    ticks = nice_ticks(0.0, max([*finite, threshold * 1.5]), 5)
    hi = ticks[-1]
    label_w = min(260, 24 + 7 * max(len(p.covariate) for p in points))
    right, top, row_h = 24, 34, 24
    plot_w = width - label_w - right
    axis_y = top + row_h * len(points) + 4
    height = axis_y + (56 if caption else 40)
    blue, verm = OKABE_ITO["blue"], OKABE_ITO["vermillion"]

    def x(v: float) -> float:
        return label_w + v / hi * plot_w

    parts = _svg_head(width, height, "love plot: absolute standardized mean differences "
                      "before and after matching", "balance love")
    # legend: shape and colour both say which is which
    parts += [f'<circle cx="{label_w + 8}" cy="14" r="5" fill="white" stroke="{verm}" '
              'stroke-width="2"/>',
              f'<text x="{label_w + 18}" y="18" fill="#222">before matching</text>',
              f'<rect x="{label_w + 138}" y="9" width="10" height="10" fill="{blue}"/>',
              f'<text x="{label_w + 154}" y="18" fill="#222">after matching</text>',
              f'<line x1="{label_w + 268}" y1="14" x2="{label_w + 292}" y2="14" stroke="#222" '
              'stroke-dasharray="5 3"/>',
              f'<text x="{label_w + 298}" y="18" fill="#222">threshold {fmt(threshold)}</text>']
    for t in ticks:
        parts.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{axis_y}" '
                     'stroke="#e6e6e6"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y + 16}" text-anchor="middle" '
                     f'fill="#444">{html_escape(fmt(t, 3))}</text>')
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" '
                 'stroke="#888"/>')
    parts.append(f'<line x1="{x(threshold):.1f}" y1="{top}" x2="{x(threshold):.1f}" '
                 f'y2="{axis_y}" stroke="#222" stroke-dasharray="5 3"/>')
    parts.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{axis_y + 32}" text-anchor="middle" '
                 'fill="#555">absolute standardized mean difference</text>')
    if caption:
        parts.append(f'<text x="{width / 2:.1f}" y="{axis_y + 48}" text-anchor="middle" '
                     f'fill="#555">{html_escape(caption)}</text>')
    for i, p in enumerate(points):
        cy = top + row_h * i + row_h / 2
        parts.append(f'<line x1="{label_w}" y1="{cy:.1f}" x2="{label_w + plot_w}" '
                     f'y2="{cy:.1f}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end" '
                     f'fill="#222">{html_escape(p.covariate)}</text>')
        if math.isfinite(p.before):
            parts.append(f'<circle cx="{x(p.before):.1f}" cy="{cy:.1f}" r="5" fill="white" '
                         f'stroke="{verm}" stroke-width="2"><title>before: '
                         f'{html_escape(fmt(p.before, 3))}</title></circle>')
        if math.isfinite(p.after):
            parts.append(f'<rect x="{x(p.after) - 5:.1f}" y="{cy - 5:.1f}" width="10" '
                         f'height="10" fill="{blue}"><title>after: '
                         f'{html_escape(fmt(p.after, 3))}</title></rect>')
        if not (math.isfinite(p.before) and math.isfinite(p.after)):
            parts.append(f'<text x="{label_w + plot_w - 4}" y="{cy + 4:.1f}" text-anchor="end" '
                         'fill="#a00">not finite</text>')
    parts.append("</g></svg>")
    return "\n".join(parts)


def love_text(table: Table, *, width: int = 40, threshold: float = SMD_THRESHOLD) -> str | None:
    """The love plot in text: ``o`` before, ``#`` after (``@`` where they meet), ``:`` the
    threshold; the numbers at the end of each line."""
    points = love_points(table)
    if points is None:
        return None
    finite = [v for p in points for v in (p.before, p.after) if math.isfinite(v)]
    hi = nice_ticks(0.0, max([*finite, threshold * 1.5]), 5)[-1]

    def col(v: float) -> int:
        return max(0, min(width - 1, round(v / hi * (width - 1))))

    label_w = max(len(p.covariate) for p in points)
    lines = [f"{'':{label_w}}  o before, # after matching, : threshold {fmt(threshold)}"]
    for p in points:
        cells = [" "] * width
        cells[col(threshold)] = ":"
        if math.isfinite(p.before):
            cells[col(p.before)] = "o"
        if math.isfinite(p.after):
            c = col(p.after)
            cells[c] = "@" if cells[c] == "o" else "#"
        lines.append(f"{p.covariate.ljust(label_w)}  |{''.join(cells)}  "
                     f"{fmt(p.before, 3)} -> {fmt(p.after, 3)}")
    lines.append(f"{'':{label_w}}  0{'':>{width - len(fmt(hi, 3))}}{fmt(hi, 3)}  |SMD|")
    return "\n".join(lines)


# --- overlap -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Arm:
    name: str
    used: np.ndarray  # counts per bin of units with weight > 0
    unused: np.ndarray  # counts per bin of units matching did not use
    dropped: np.ndarray  # scores of targets left without a match


def _arms(units: UnitData, edges: np.ndarray) -> tuple[_Arm, _Arm]:
    d = np.asarray(units.rows[units.treatment], dtype=np.float64)
    dist = np.asarray(units.distance, dtype=np.float64)
    used = np.asarray(units.weights) > 0
    out = []
    for arm, name in ((1.0, "treated"), (0.0, "control")):
        sel = d == arm
        out.append(_Arm(name, np.histogram(dist[sel & used], edges)[0],
                        np.histogram(dist[sel & ~used], edges)[0],
                        dist[sel & np.asarray(units.dropped)]))
    return out[0], out[1]


def _support(units: UnitData) -> tuple[float, float]:
    """Common support on the distance scale: from the larger of the arms' minima to the
    smaller of their maxima (where each arm has units of the other's range)."""
    d = np.asarray(units.rows[units.treatment], dtype=np.float64)
    dist = np.asarray(units.distance, dtype=np.float64)
    t, c = dist[d == 1], dist[d == 0]
    return max(float(t.min()), float(c.min())), min(float(t.max()), float(c.max()))


def overlap_svg(units: UnitData | None, *, width: int = 640, height: int = 300,
                bins: int = 24) -> str | None:
    """The mirrored histogram of the matching distance by arm: solid bars the units matching
    used (weight > 0), hatched bars those it did not, crosses the targets dropped for want of
    a match within the caliper, grey bands the score range outside common support."""
    if units is None or len(units.distance) < 2:
        return None
    dist = np.asarray(units.distance, dtype=np.float64)
    lo, hi = float(dist.min()), float(dist.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    xt = nice_ticks(lo, hi, 6)
    edges = np.linspace(lo, hi, bins + 1)
    treated, control = _arms(units, edges)
    peak = max(int((treated.used + treated.unused).max()),
               int((control.used + control.unused).max()), 1)
    left, right, top, bottom = 56, 16, 36, 64
    pw, ph = width - left - right, height - top - bottom
    mid = top + ph / 2
    blue, orange, verm = OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"]

    def x(v: float) -> float:
        return left + (v - xt[0]) / (xt[-1] - xt[0]) * pw

    def h(count: float) -> float:
        return count / peak * (ph / 2 - 6)

    parts = _svg_head(width, height, f"overlap plot of the {units.distance_name} by arm",
                      "balance overlap")
    parts.append('<defs>'
                 f'<pattern id="hatch-t" width="5" height="5" patternUnits="userSpaceOnUse" '
                 f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" '
                 f'stroke="{blue}" stroke-width="2"/></pattern>'
                 f'<pattern id="hatch-c" width="5" height="5" patternUnits="userSpaceOnUse" '
                 f'patternTransform="rotate(-45)"><line x1="0" y1="0" x2="0" y2="5" '
                 f'stroke="{orange}" stroke-width="2"/></pattern></defs>')
    s_lo, s_hi = _support(units)
    for a, b in ((xt[0], s_lo), (s_hi, xt[-1])):
        if b > a:
            parts.append(f'<rect x="{x(a):.1f}" y="{top}" width="{x(b) - x(a):.1f}" '
                         f'height="{ph}" fill="#d9d9d9" opacity="0.6"/>')
    for t in xt:
        parts.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{top + ph}" '
                     'stroke="#eeeeee"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{top + ph + 16}" text-anchor="middle" '
                     f'fill="#444">{html_escape(fmt(t, 3))}</text>')
    bar_w = (x(edges[1]) - x(edges[0]))
    for arm, sign, colour, hatch in ((treated, -1, blue, "hatch-t"),
                                     (control, 1, orange, "hatch-c")):
        for i in range(bins):
            x0 = x(edges[i]) + 0.5
            used, unused = h(arm.used[i]), h(arm.unused[i])
            if used > 0:
                y0 = mid - used if sign < 0 else mid
                parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bar_w - 1:.1f}" '
                             f'height="{used:.1f}" fill="{colour}"/>')
            if unused > 0:
                y0 = mid - used - unused if sign < 0 else mid + used
                parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bar_w - 1:.1f}" '
                             f'height="{unused:.1f}" fill="url(#{hatch})" stroke="{colour}" '
                             'stroke-width="0.8"/>')
        ry = top + 4 if sign < 0 else top + ph - 4
        for v in arm.dropped:
            cx = x(float(v))
            parts.append(f'<path d="M{cx - 3:.1f},{ry - 3:.1f} l6,6 m0,-6 l-6,6" '
                         f'stroke="{verm}" stroke-width="1.5"/>')
    parts.append(f'<line x1="{left}" y1="{mid:.1f}" x2="{left + pw}" y2="{mid:.1f}" '
                 'stroke="#222"/>')
    parts.append(f'<text x="{left - 6}" y="{top + 14}" text-anchor="end" fill="{blue}">'
                 'treated</text>')
    parts.append(f'<text x="{left - 6}" y="{top + ph - 6}" text-anchor="end" fill="#8a5a00">'
                 'control</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{top + ph + 34}" text-anchor="middle" '
                 f'fill="#555">{html_escape(units.distance_name)} (the scale matched on)</text>')
    # legend along the top
    lx = left
    parts += [f'<rect x="{lx}" y="8" width="12" height="10" fill="{blue}"/>',
              f'<rect x="{lx + 13}" y="8" width="12" height="10" fill="{orange}"/>',
              f'<text x="{lx + 30}" y="17" fill="#222">matched (weight &gt; 0)</text>',
              f'<rect x="{lx + 168}" y="8" width="12" height="10" fill="url(#hatch-t)" '
              f'stroke="{blue}"/>',
              f'<rect x="{lx + 181}" y="8" width="12" height="10" fill="url(#hatch-c)" '
              f'stroke="{orange}"/>',
              f'<text x="{lx + 198}" y="17" fill="#222">not used</text>',
              f'<path d="M{lx + 262},{9} l8,8 m0,-8 l-8,8" stroke="{verm}" stroke-width="1.5"/>',
              f'<text x="{lx + 276}" y="17" fill="#222">dropped (no match in caliper)</text>',
              f'<rect x="{lx + 452}" y="8" width="14" height="10" fill="#d9d9d9"/>',
              f'<text x="{lx + 470}" y="17" fill="#222">outside support</text>']
    n_drop = len(treated.dropped) + len(control.dropped)
    n_out = int(np.asarray(units.outside_support).sum())
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                 f'fill="#555">{n_drop} unit(s) dropped by the caliper; {n_out} outside the '
                 "other arm's range (common support)</text>")
    parts.append("</g></svg>")
    return "\n".join(parts)


_BLOCKS = " ▁▂▃▄▅▆▇█"


def overlap_text(units: UnitData | None, *, bins: int = 40) -> str | None:
    """The two arms' distributions as one line of block characters each, with the counts
    matching dropped and left outside common support."""
    if units is None or len(units.distance) < 2:
        return None
    dist = np.asarray(units.distance, dtype=np.float64)
    lo, hi = float(dist.min()), float(dist.max())
    if hi <= lo:
        return None
    edges = np.linspace(lo, hi, bins + 1)
    arms = _arms(units, edges)
    peak = max(int((a.used + a.unused).max()) for a in arms) or 1

    def spark(counts: Sequence[int]) -> str:
        return "".join(_BLOCKS[0 if c == 0 else max(1, round(c / peak * 8))] for c in counts)

    lines = [f"{a.name:<8} |{spark(a.used + a.unused)}|" for a in arms]
    lines.append(f"{'':8}  {fmt(lo, 3)}{'':>{max(1, bins - len(fmt(lo, 3)) - len(fmt(hi, 3)))}}"
                 f"{fmt(hi, 3)}  {units.distance_name}")
    n_out = int(np.asarray(units.outside_support).sum())
    lines.append(f"dropped by the caliper: {sum(len(a.dropped) for a in arms)}; outside common "
                 f"support: {n_out}")
    return "\n".join(lines)

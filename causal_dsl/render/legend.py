"""The legend of a standalone diagram: what each fill, border and line means, drawn with the very
styles of the diagram, placed under it (or beside it when the drawing is tall).

In: a `Model` and its `Roles` (which kinds of node and edge the drawing shows). Out: the legend
items; DOT text to measure their labels; and, given the laid-out diagram (Graphviz's ``-Tdot``
output) and those measurements, the diagram with the legend added at fixed positions, ready for
``neato -n2`` (which keeps every position and spline the first layout chose). Raises
`RenderError` E603 when the engine's layout output cannot be read.

Only what the drawing shows is explained: a study without ``<->`` gets no "hidden common cause"
line. The swatch of a node kind is drawn with `writers.node_attrs` of a variable of that kind,
so the legend cannot drift from the drawing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import Diagnostic, RenderError
from ..model import Model, Variable
from .roles import COLOURS, DAGITTY, Roles
from .writers import dot_html, dot_string, node_attrs

SWATCH = (0.5, 0.3)  # inches: a node kind's sample
FONT_SIZE = 11
ROW = 0.38  # inches per legend row
PAD = 0.15  # inches around the legend inside its frame


@dataclass(frozen=True, slots=True)
class LegendItem:
    """One line of the legend: a node swatch (`node`) or an edge sample (`edge`), and text."""

    text: str
    node: dict[str, Any] | None = field(default=None, compare=False)
    edge: dict[str, Any] | None = field(default=None, compare=False)


def _first(model: Model, test: Any) -> Variable | None:
    return next((v for v in model.variables if test(v)), None)


def legend_items(model: Model, roles: Roles) -> tuple[LegendItem, ...]:
    """The legend lines for what this drawing shows, nodes first, then edges."""
    items: list[LegendItem] = []
    dag = roles.dagitty
    kinds = replace(roles, paths=())  # a swatch shows the kind, not a path's colour

    def node(v: Variable | None, text: str) -> None:
        if v is not None:
            attrs = node_attrs(replace(v, label=None), kinds)
            attrs.update(label='""', width=str(SWATCH[0]), height=str(SWATCH[1]),
                         fixedsize="true")
            items.append(LegendItem(text, node=attrs))

    t, y, adj = roles.treatment, roles.outcome, roles.adjustment
    node(_first(model, lambda v: v.name == t), "exposure" if dag else "treatment")
    node(_first(model, lambda v: v.name == y), "outcome")
    if adj:
        node(_first(model, lambda v: v.name in adj),
             "adjusted" if dag else "adjustment set (double border)")
    plain = _first(model, lambda v: v.name not in (t, y) and v.name not in adj
                   and not v.latent and not v.selected)
    if dag is not None:
        names = {"exposure_ancestor": "ancestor of the exposure",
                 "outcome_ancestor": "ancestor of the outcome",
                 "confounder": "ancestor of exposure and outcome",
                 "other": "other variable"}
        for kind, text in names.items():
            node(_first(model, lambda v, k=kind: v.name not in (t, y) and v.name not in adj
                        and not v.latent and not v.selected and dag.ancestry.get(v.name) == k),
                 text)
    else:
        node(plain, "observed variable")
    node(_first(model, lambda v: v.latent and not v.invariant), "latent (unobserved)")
    node(_first(model, lambda v: v.latent and v.invariant),
         "latent, constant within unit (double dashed)")
    node(_first(model, lambda v: v.selected), "selected: data only where it is 1")

    directed = any(not e.bidirected for e in model.edges)
    if directed:
        items.append(LegendItem("causes (->)", edge={}))
    if any(e.bidirected for e in model.edges):
        items.append(LegendItem("hidden common cause (<->)",
                                edge={"dir": "both", "style": "dashed"}))
    colours = {roles.edge_colour(e.source, e.target, e.bidirected) for e in model.edges}
    bold = {"penwidth": "2.5"}
    if dag is not None:
        if DAGITTY["causal_path"] in colours:
            items.append(LegendItem("causal path", edge={"color": DAGITTY["causal_path"], **bold}))
        if DAGITTY["biasing_path"] in colours:
            items.append(LegendItem("biasing path (open, non-causal)",
                                    edge={"color": DAGITTY["biasing_path"], **bold}))
        if not dag.complete:
            items.append(LegendItem("(too many paths: biasing paths not all walked)"))
    else:
        if COLOURS["open_path"] in colours:
            items.append(LegendItem("backdoor path left open", edge={
                "color": COLOURS["open_path"], **bold}))
        if COLOURS["blocked_path"] in colours:
            items.append(LegendItem("backdoor path the set blocks", edge={
                "color": COLOURS["blocked_path"], **bold}))
    return tuple(items)


def measure_dot(items: tuple[LegendItem, ...]) -> str:
    """A graph of the legend's text labels alone, for the engine to measure (``-Tdot``)."""
    lines = ["digraph causal_legend {",
             f"node [fontname=Helvetica, fontsize={FONT_SIZE}, shape=plaintext, margin=0, width=0, "
             "height=0];"]
    for i, item in enumerate(items):
        lines.append(f"legend_text_{i} [label=<{dot_html(item.text)}>];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _bb(laid_out: str) -> tuple[float, float, float, float]:
    match = re.search(r'\bbb="([-\d.e+]+),([-\d.e+]+),([-\d.e+]+),([-\d.e+]+)"', laid_out)
    if match is None:
        raise RenderError(Diagnostic("E603", "the engine's layout has no bounding box (bb)",
                                     help="try another engine with --engine"))
    x0, y0, x1, y1 = (float(g) for g in match.groups())
    return x0, y0, x1, y1


def text_widths(measured: str, n: int) -> list[float]:
    """The width in points of each measured legend label (from the engine's ``-Tdot``)."""
    widths = []
    for i in range(n):
        m = re.search(rf"legend_text_{i}\s*\[([^\]]*)\]", measured)
        w = re.search(r"\bwidth=\"?([\d.]+)", m.group(1)) if m else None
        if w is None:
            raise RenderError(Diagnostic("E603", "cannot read the legend's measurements",
                                         help="try another engine with --engine"))
        widths.append(float(w.group(1)) * 72)
    return widths


def add_legend(laid_out: str, items: tuple[LegendItem, ...], widths: list[float]) -> str:
    """The laid-out diagram with the legend placed under it (beside it when it is taller than
    wide), every legend node pinned, in points, for ``neato -n2``."""
    x0, y0, x1, y1 = _bb(laid_out)
    sw, sh = SWATCH[0] * 72, SWATCH[1] * 72
    col_w = sw + 10 + max(widths, default=0) + 24
    below = (x1 - x0) >= (y1 - y0) * 0.8
    ncol = max(1, min(len(items), int((x1 - x0 - 2 * PAD * 72) // col_w))) if below else 1
    nrow = math.ceil(len(items) / ncol)
    frame_w = ncol * col_w - 24 + 2 * PAD * 72
    frame_h = nrow * ROW * 72 + 2 * PAD * 72 - (ROW * 72 - sh)
    if below:
        left, top = x0, y0 - 14
    else:
        left, top = x1 + 18, y1
    out: list[str] = [
        f'legend_frame [shape=box, style="rounded", color="#bbbbbb", label="", fixedsize=true, '
        f'width={frame_w / 72:.3f}, height={frame_h / 72:.3f}, '
        f'pos="{left + frame_w / 2:.2f},{top - frame_h / 2:.2f}"];'
    ]
    for i, item in enumerate(items):
        r, c = divmod(i, ncol)
        cx = left + PAD * 72 + c * col_w
        cy = top - PAD * 72 - sh / 2 - r * ROW * 72
        if item.node is not None:
            attrs = dict(item.node, pos=f'"{cx + sw / 2:.2f},{cy:.2f}"')
            out.append(f"legend_swatch_{i} [{_attrs(attrs)}];")
        elif item.edge is not None:
            for end, x in (("a", cx), ("b", cx + sw)):
                out.append(f'legend_{end}_{i} [shape=point, style=invis, width=0.01, '
                           f'height=0.01, label="", pos="{x:.2f},{cy:.2f}"];')
            out.append(f"legend_a_{i} -> legend_b_{i} [{_attrs(item.edge)}];")
        tx = cx + sw + 10 + widths[i] / 2
        out.append(f"legend_text_{i} [shape=plaintext, margin=0, width=0, height=0, "
                   f"fontsize={FONT_SIZE}, "
                   f'label={dot_string(item.text)}, pos="{tx:.2f},{cy:.2f}"];')
    close = laid_out.rstrip().rfind("}")
    return laid_out[:close] + "\n".join(out) + "\n}\n"


def _attrs(attrs: dict[str, Any]) -> str:
    parts = []
    for k, v in attrs.items():
        text = str(v)
        if not (text.startswith(("<", '"')) or re.fullmatch(r"[\w.]+", text)):
            text = dot_string(text)
        parts.append(f"{k}={text}")
    return ", ".join(parts)

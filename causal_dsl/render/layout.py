"""Where a diagram's nodes go when the study says so: `layout` positions (DAGitty's ``pos``)
turned into Graphviz inches.

In: a `Model`, its positions (``name -> (x, y)``, DAGitty's coordinates with y pointing down,
in any unit) and a function estimating each node's size in inches. Out: pinned positions in
inches, y pointing up as Graphviz wants. Raises `RenderError` E605 when given positions name no
variable or are not finite numbers.

DAGitty's coordinates have no unit (its examples span 0-1 or a few units), so they are scaled:
the smallest factor at which every pair of node boxes, as estimated, is apart along x or along
y by a gap. Variables without a position are placed in a row under the others, in declaration
order, rather than dropped or left to a force layout that would move the pinned ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..errors import Diagnostic, RenderError

if TYPE_CHECKING:
    from ..model import Model, Variable

Positions = Mapping[str, tuple[float, float]]
GAP = 0.3  # inches between neighbouring boxes


def study_positions(model: Model) -> dict[str, tuple[float, float]]:
    """The study's own ``layout NAME = (x, y)`` positions."""
    return {name: (x, y) for name, x, y in model.layout}


def pinned_positions(
    model: Model, positions: Positions, size: Callable[[Variable], tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Every variable's position in inches (y up), scaled so that no two boxes overlap.

    >>> import causal_dsl
    >>> from causal_dsl.render.writers import node_size
    >>> m = causal_dsl.parse("var a: binary\\nvar b: binary\\nvar c: binary\\na -> b\\n")
    >>> pins = pinned_positions(m, {"a": (0, 0), "b": (1, 0)}, node_size)
    >>> pins["a"], pins["b"][1], pins["c"][1] < 0
    ((0.0, 0.0), 0.0, True)
    """
    names = {v.name for v in model.variables}
    unknown = sorted(set(positions) - names)
    if unknown:
        raise RenderError(Diagnostic("E605", f"positions name no variable: {', '.join(unknown)}",
                                     help="give positions for the study's variables only"))
    bad = sorted(n for n, (x, y) in positions.items()
                 if not (math.isfinite(x) and math.isfinite(y)))
    if bad:
        raise RenderError(Diagnostic("E605", f"positions are not finite numbers: "
                                     f"{', '.join(bad)}", help="give finite x and y"))
    sizes = {v.name: size(v) for v in model.variables}
    placed = [n for n in (v.name for v in model.variables) if n in positions]
    scale = 0.0
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            dx = abs(positions[a][0] - positions[b][0])
            dy = abs(positions[a][1] - positions[b][1])
            need_x = (sizes[a][0] + sizes[b][0]) / 2 + GAP
            need_y = (sizes[a][1] + sizes[b][1]) / 2 + GAP
            options = [need_x / dx if dx > 0 else math.inf, need_y / dy if dy > 0 else math.inf]
            pair = min(options)
            if math.isfinite(pair):  # two nodes at one point: drawn as the user placed them
                scale = max(scale, pair)
    scale = scale or 1.0
    out = {n: (positions[n][0] * scale, -positions[n][1] * scale) for n in placed}
    rest = [v.name for v in model.variables if v.name not in positions]
    if rest:
        left = min((x for x, _ in out.values()), default=0.0)
        bottom = min((y - sizes[n][1] / 2 for n, (_, y) in out.items()), default=0.0)
        row_h = max(sizes[n][1] for n in rest)
        y = bottom - GAP * 2 - row_h / 2 if out else 0.0
        x = left
        for n in rest:
            w = sizes[n][0]
            out[n] = (x + w / 2, y)
            x += w + GAP
    return out

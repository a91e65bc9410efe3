"""DAG diagrams of a study: Graphviz DOT (built with pydot), SVG/PNG through a Graphviz engine,
and Mermaid text that GitHub renders natively.

In: a `Study` (its model, and its graph engine for the roles), optionally one of its queries,
a highlight mode and the query's `Identification` when the caller already has it (it is then
not computed again). Out: DOT or Mermaid text, SVG/PNG bytes from an external Graphviz engine,
or a file written by `render_file`. Raises `RenderError` (codes E6xx): E602 no Graphviz engine
found, E603 the engine failed (its stderr is in the message), E604 the engine timed out, E605
unknown output format or highlight, E606 the output file could not be written. An unknown query
is the model's `ModelError` (E223); errors from identification (`GraphError`) propagate.

The package reads as the steps: `roles` (what the chosen query marks and colours), `writers`
(DOT and Mermaid text, with their escaping), `engines` (finding and running Graphviz), and here
the formats, files and the notebook's SVG.

The diagram is drawn left to right. The treatment and outcome of the chosen query are filled,
latent variables are dashed ellipses, bidirected edges (a hidden common cause) are dashed with two
heads, the adjustment set has a double border, and a declared label is shown under the name.
With ``highlight="paths"`` the backdoor paths are coloured: red where they stay open given the
adjustment set (why an effect is not identifiable), orange where the set blocks them. Layout is
Graphviz's job: we only write DOT. ``highlight="dagitty"`` is DAGitty's view (`highlights`);
`layout` places nodes at the study's positions; SVG, PNG and PDF get a `legend` (laid out
once, then redrawn with ``neato -n2``); PDF is the SVG converted by svglib (`pdf`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CausalError, Diagnostic, RenderError
from ..files import write_atomic
from ..model import Query
from .engines import (
    DEFAULT_TIMEOUT,
    ENGINE_ENV,
    Engine,
    available_engines,
    find_engine,
    run_engine,
)
from .layout import Positions, pinned_positions, study_positions
from .legend import LegendItem, add_legend, legend_items, measure_dot, text_widths
from .pdf import svg_to_pdf
from .roles import (
    COLOURS,
    DAGITTY,
    HIGHLIGHTS,
    DiagramPath,
    Highlight,
    Roles,
    coloured_paths,
    diagram_roles,
    identification_of,
    marked_set,
    pick_query,
)
from .writers import (
    LABEL_WIDTH,
    LARGE_GRAPH,
    build_dot,
    dot_html,
    dot_string,
    mermaid_text,
    safe_ids,
    to_dot,
    to_mermaid,
)

if TYPE_CHECKING:
    from ..identify import Identification
    from ..study import Study

__all__ = [
    "COLOURS", "DAGITTY", "DEFAULT_TIMEOUT", "DRAWN", "ENGINE_ENV", "EXTENSIONS", "FORMATS",
    "HIGHLIGHTS", "LABEL_WIDTH", "LARGE_GRAPH", "PNG_DPI", "DiagramPath", "Engine",
    "Highlight", "LegendItem", "Positions", "Roles", "add_legend", "available_engines",
    "build_dot", "coloured_paths", "diagram_roles", "dot_html", "dot_string", "find_engine",
    "format_for", "identification_of", "legend_items", "marked_set", "measure_dot",
    "mermaid_text", "pick_query", "pinned_positions", "render_bytes", "render_file",
    "repr_svg", "run_engine", "safe_ids", "study_positions", "svg_fragment", "svg_to_pdf",
    "text_widths", "to_dot", "to_mermaid", "write_output",
]

FORMATS: tuple[str, ...] = ("dot", "svg", "png", "pdf", "mermaid")
DRAWN: tuple[str, ...] = ("svg", "png", "pdf")  # the formats a Graphviz engine lays out
PNG_DPI = 96.0  # Graphviz's default resolution for bitmaps
EXTENSIONS: Mapping[str, str] = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The output format: `fmt` when given, else from the file extension (E605 if unknown)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise RenderError(Diagnostic("E605", f"unknown format '{fmt}'",
                                         help="use one of: " + ", ".join(FORMATS)))
        return fmt
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise RenderError(
            Diagnostic(
                "E605",
                f"cannot tell the format from '{Path(path).name}'",
                help="use an extension among " + ", ".join(EXTENSIONS)
                + " or give --format " + "|".join(FORMATS),
            )
        )
    return EXTENSIONS[ext]


def render_bytes(
    study: Study,
    fmt: str,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    engine: str | Path | Engine | None = None,
    identification: Identification | None = None,
    title: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    legend: bool | None = None,
    dpi: float | None = None,
    scale: float | None = None,
    positions: Positions | None = None,
) -> bytes:
    """The diagram in `fmt` (dot, svg, png, pdf, mermaid) as bytes.

    `legend` (default: on for svg, png and pdf) explains the drawing's fills, borders and
    lines; DOT and Mermaid are text for other tools and have none (asking is E605). `dpi`
    (default 96) or `scale` (a factor on 96 dpi) sets a PNG's resolution, E605 elsewhere.
    `positions` (``name -> (x, y)``, y down) overrides the study's `layout` lines. PDF is
    the engine's SVG converted by svglib and reportlab (no system Graphviz or Cairo needed).
    """
    fmt = format_for("", fmt)
    want_legend = fmt in DRAWN if legend is None else legend
    if want_legend and fmt not in DRAWN:
        raise RenderError(Diagnostic("E605", f"{fmt} output has no legend",
                                     help="a legend is drawn in svg, png and pdf; drop --legend"))
    resolution = _png_dpi(fmt, dpi, scale)
    roles = diagram_roles(study, query, highlight, identification)
    if fmt == "mermaid":
        return to_mermaid(study, title=title, roles=roles).encode("utf-8")
    dot = build_dot(study, title=title, roles=roles, positions=positions).to_string()
    if fmt == "dot":
        return dot.encode("utf-8")
    engine_fmt = "svg" if fmt == "pdf" else fmt
    dpi_args = [f"-Gdpi={resolution:g}"] if resolution is not None else []
    items = legend_items(study, roles) if want_legend else ()
    if items:
        eng = find_engine(engine)
        both = run_engine(measure_dot(items) + dot, "dot", eng, timeout=timeout)
        text = both.decode("utf-8")
        split = text.find("digraph causal {")
        if split < 0:
            raise RenderError(Diagnostic("E603", f"{eng} returned no layout of the diagram",
                                         help="try another engine with --engine"))
        final = add_legend(text[split:], items, text_widths(text[:split], len(items)))
        out = run_engine(final, engine_fmt, eng, timeout=timeout,
                         args=["-Kneato", "-n2", *dpi_args])
    else:
        out = run_engine(dot, engine_fmt, engine, timeout=timeout, args=dpi_args)
    return svg_to_pdf(out) if fmt == "pdf" else out


def _png_dpi(fmt: str, dpi: float | None, scale: float | None) -> float | None:
    """The PNG resolution asked for, checked: positive and finite, PNG only, not both."""
    if dpi is None and scale is None:
        return None
    if fmt != "png":
        raise RenderError(Diagnostic("E605", f"--dpi and --scale apply to png, not {fmt}",
                                     help="svg and pdf are vector formats: they scale freely"))
    if dpi is not None and scale is not None:
        raise RenderError(Diagnostic("E605", "give --dpi or --scale, not both",
                                     help="--scale 2 is --dpi 192 (twice Graphviz's 96)"))
    value = dpi if dpi is not None else (scale or 0.0) * PNG_DPI
    if not (math.isfinite(value) and 0 < value <= 2400):
        raise RenderError(Diagnostic("E605", f"PNG resolution {value:g} dpi is out of range",
                                     help="give --dpi between 1 and 2400, or a --scale > 0"))
    return value


def render_file(
    study: Study,
    path: str | Path,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    format: str | None = None,  # mirrors the CLI's --format
    engine: str | Path | Engine | None = None,
    identification: Identification | None = None,
    title: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    legend: bool | None = None,
    dpi: float | None = None,
    scale: float | None = None,
    positions: Positions | None = None,
) -> Path:
    """Write the diagram to `path` (format from `format` or the extension); return the path."""
    out = Path(path)
    data = render_bytes(study, format_for(out, format), query, highlight, engine=engine,
                        identification=identification, title=title, timeout=timeout,
                        legend=legend, dpi=dpi, scale=scale, positions=positions)
    return write_output(out, data)


def write_output(path: str | Path, content: bytes | str) -> Path:
    """Write a diagram or a report (text as UTF-8) with the one writer,
    `causal_dsl.files.write_atomic` (no partial file); a failure is `RenderError` E606."""
    return write_atomic(path, content)


def svg_fragment(svg: bytes | str) -> str:
    """An engine's SVG without the XML declaration, DOCTYPE and comments, for inline HTML."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    return re.sub(r"<!--.*?-->\n?", "", text, flags=re.DOTALL).strip()


def repr_svg(study: Study) -> str | None:
    """Jupyter's SVG view of a study; None (so Jupyter falls back) when no engine can draw it."""
    try:
        return svg_fragment(render_bytes(study, "svg", timeout=30, legend=False))
    except CausalError:
        return None

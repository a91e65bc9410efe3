"""The plots of an estimate as files (``causal plot FILE --kind love|overlap|event|forest``),
and the matched data as a CSV file (``causal run --save-matched out.csv``).

In: a `QueryResult` (one query estimated on its data) and a plot kind. Out: a standalone SVG
document (the same drawing the HTML report and Jupyter show, from `causal_dsl.present.balance`
and `causal_dsl.present.charts`), or the file it was written to (atomically, through
`causal_dsl.files.write_atomic`). SVG only: the PNG path of `causal_dsl.render` runs Graphviz on
DOT text and has no SVG rasteriser, so a ``.png`` name is refused with a hint rather than
pulling in a rasteriser for one format.

Raises `RenderError`: E605 an unknown kind or an output name that is not ``.svg``; E606 the
file cannot be written; E607 the query has no such plot (a love plot needs a balance table,
i.e. matching; an overlap plot the per-unit scores of matching; an event-study plot an event
study, i.e. difference-in-differences on a panel); E608 no query was estimated by matching
(nothing to save as matched data).

>>> import causal_dsl
>>> s = causal_dsl.load("examples/heart_drug.causal")
>>> svg = plot_svg(s.estimate("main"), "love")
>>> svg.startswith('<?xml') and "absolute standardized mean difference" in svg
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import Diagnostic, RenderError
from .files import write_atomic
from .results import QueryResult, RunResult

__all__ = ["PLOT_KINDS", "matched_frame", "plot_svg", "write_matched", "write_plot"]

PLOT_KINDS: dict[str, str] = {
    "love": "absolute standardized mean differences before and after matching",
    "overlap": "the two arms' propensity scores, units dropped or unused marked",
    "event": "event-study coefficients with 95% intervals (difference-in-differences)",
    "forest": "the estimate, its cross-check and the naive contrast with 95% intervals",
}
_NEEDS = {
    "love": "a balance table: estimate it by matching (`using matching`)",
    "overlap": "the per-unit scores of matching (`using matching`)",
    "event": "an event study: difference-in-differences on a panel (`using did`)",
}


def plot_svg(result: QueryResult, kind: str) -> str:
    """One plot of `result` as a standalone SVG document (XML declaration, white background)."""
    from .present.balance import love_svg, overlap_svg
    from .present.charts import event_study_svg, forest_caption, forest_rows, forest_svg

    if kind not in PLOT_KINDS:
        raise RenderError(Diagnostic(
            "E605", f"unknown plot kind '{kind}'",
            help="use one of: " + ", ".join(PLOT_KINDS)))
    drawn: str | None
    if kind == "forest":
        drawn = forest_svg(forest_rows(result), caption=forest_caption(result))
    elif kind == "love":
        table = result.result.table("balance")
        drawn = love_svg(table) if table is not None else None
    elif kind == "overlap":
        drawn = overlap_svg(result.result.units)
    else:
        table = result.result.table("event study")
        drawn = event_study_svg(table) if table is not None else None
    if drawn is None:
        raise RenderError(Diagnostic(
            "E607", f"query '{result.query}' has no {kind} plot: it was estimated by "
            f"{result.method}",
            help=f"this plot needs {_NEEDS[kind]}"))
    return _standalone(drawn)


def _standalone(svg: str) -> str:
    """An inline SVG fragment as a file: an XML declaration and a white background (a
    transparent plot is unreadable on a dark viewer)."""
    head, sep, rest = svg.partition(">")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head + sep
            + '\n<rect width="100%" height="100%" fill="white"/>' + rest + "\n")


def write_plot(result: QueryResult, kind: str, path: str | Path) -> Path:
    """Draw `kind` for `result` and write it to `path` (which must end in ``.svg``)."""
    out = Path(path)
    if out.suffix.lower() != ".svg":
        raise RenderError(Diagnostic(
            "E605", f"plots are written as SVG, not '{out.suffix or out.name}'",
            help="name the file .svg; to get a PNG, open the SVG in a browser or convert it "
            "(e.g. rsvg-convert -o plot.png plot.svg)"))
    return write_atomic(out, plot_svg(result, kind))


def matched_frame(run: RunResult) -> Any:
    """The matched data of every query estimated by matching, as one pandas DataFrame
    (`QueryResult.matched_data`; with several such queries, a first column ``query`` says
    whose rows they are). Raises `RenderError` E608 when no query was estimated by matching."""
    import pandas as pd

    matched = [r for r in run.results if r.result.units is not None]
    if not matched:
        raise RenderError(Diagnostic(
            "E608", "no query was estimated by matching, so there is no matched data to save",
            help="--save-matched needs a query answered by matching (`using matching`)"))
    if len(matched) == 1:
        frame: pd.DataFrame = matched[0].matched_data()
        return frame
    frames = [r.matched_data().assign(query=r.query) for r in matched]
    out = pd.concat(frames, ignore_index=True)
    return out[["query", *[c for c in out.columns if c != "query"]]]


def write_matched(run: RunResult, path: str | Path) -> Path:
    """Write `matched_frame(run)` as CSV to `path`, atomically (no partial file on Ctrl-C or
    a full disk)."""
    return write_atomic(path, matched_frame(run).to_csv(index=False))

"""A study report: one self-contained HTML or Markdown document for a reviewer.

In: a `Study` and, optionally, the `RunResult` of its queries (whose identifications are
reused); otherwise the report identifies each query once and, when data is bound and estimation
is on, estimates it on that identification. Out: a `Report` (`causal_dsl.results`) — the DAG
(inline SVG, and Mermaid), the assumptions in words, the testable implications, and for each
query its identification (a badge saying how the effect is identified: by adjustment, DiD,
IV, the front door) and estimates with their plots (forest, event study, love plot, overlap of
the scores) — drawn by `causal_dsl.present` (``to_html``, ``to_markdown``; every user string
escaped, no script, nothing loaded). Data paths are relative to the study file
(`causal_dsl.present.share`), never the machine's absolute path.

The assumptions on trial (`causal_dsl.checks`: the implications tested on the data with their
plot, the sensitivity of each adjusted estimate with its contour plot, the refutations) come from
one `StudyChecks`, computed once by the façade (``study.test``) and passed down; a report runs
the refutations with `REPORT_REPLICATIONS` replications and says so.

Problems with one query (not identifiable, a data error) are shown in the report, not raised: a
report is most useful exactly when something is wrong. `write_report` raises `RenderError`
(E605 unknown format, E606 the file cannot be written).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import present, render
from .errors import CausalError, Diagnostic, RenderError
from .model import Model, Query
from .present.share import shareable_result
from .results import QueryResult, QuerySection, Report, RunResult

if TYPE_CHECKING:
    import pandas as pd

    from .checks import StudyChecks
    from .identify import Identification
    from .study import Study

__all__ = ["MAX_IMPLICATIONS", "REPORT_FORMATS", "REPORT_REPLICATIONS", "Report",
           "assumptions_in_words", "build_report", "report_format", "write_report"]

REPORT_FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".md": "markdown",
                                  ".markdown": "markdown"}
MAX_IMPLICATIONS = 25  # testable implications listed in the assumptions (the rest counted)
# the refutations' replications in a report (`causal test` uses 20): the report stays quick,
# and says the number it used
REPORT_REPLICATIONS = 10

def assumptions_in_words(study: Model) -> tuple[str, ...]:
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
    No other common causes: two variables share no unmeasured cause unless the diagram draws ...
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
        # The two halves of what a DAG asserts by what it leaves out (Pearl 2009, §1.3): a
        # missing arrow is a claim of no direct effect, a missing latent or <-> a claim of no
        # unmeasured common cause. Reviewers disagree with the second most often.
        out.append("No other direct effects: two variables not joined by an arrow above do "
                   "not affect each other directly.")
        out.append("No other common causes: two variables share no unmeasured cause unless "
                   "the diagram draws one (a latent variable or a two-headed arrow <->).")
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
    data: pd.DataFrame | None = None,
    run: RunResult | None = None,
    checks: StudyChecks | bool = True,
    replications: int = REPORT_REPLICATIONS,
) -> Report:
    """Gather everything the report shows, computing each query's identification once.

    With `run`, its estimates and identifications are reused. Without it, when `estimate` is
    true and data is bound (or `data` is a DataFrame), each query is estimated here on the
    identification computed for it. Only a missing engine for SVG degrades (the HTML then shows
    the Mermaid text and a note).

    `checks`: the `StudyChecks` to show (computed once by the caller, e.g. ``study.test()``),
    True to run them here once (``study.test(replications=replications)``), or False to leave
    them out (``causal report --no-checks``). Without data they are skipped with a note."""
    present.register()
    notes: list[str] = []
    eng: render.Engine | None
    try:
        eng = render.find_engine(engine)
    except RenderError as error:
        if engine is not None:
            raise
        eng = None
        notes.append(error.diagnostics[0].message)

    results: dict[str, QueryResult] = ({r.query: shareable_result(r, study) for r in run}
                                       if run is not None else {})
    failed: dict[str, CausalError] = {}
    if run is not None:
        failed = {name: CausalError(diags) for name, diags in run.failures}
    idents = {q.name: _identified(study, q, results.get(q.name)) for q in study.queries}

    frame, coded, data_note, data_error = (None, None, None, None) if run is not None else \
        _data_for(study, estimate, data)
    if frame is not None:
        from .planner import estimate as estimate_query

        for q in study.queries:
            ident = idents[q.name]
            if isinstance(ident, CausalError):  # the planner would raise the same error
                failed[q.name] = ident
                continue
            try:
                results[q.name] = shareable_result(
                    estimate_query(study, q, identification=ident, data=frame, seed=seed,
                                   checked=True, coded=coded), study)
            except CausalError as error:
                failed[q.name] = error

    sets = {name: None if isinstance(i, CausalError) else i.adjustment_set
            for name, i in idents.items()}  # the checks stress these: identified once
    found_checks, checks_note = _checks_for(study, checks, replications, sets)
    main_query = study.queries[0] if study.queries else None
    main_ident = idents[main_query.name] if main_query else None
    main_diagram = _diagram(study, main_query, main_ident, eng)
    main_key = _roles_key(study, main_query, main_ident)
    sections: list[QuerySection] = []
    for q in study.queries:
        ident = idents[q.name]
        ok = None if isinstance(ident, CausalError) else ident
        svg = mmd = None
        if q is not main_query and _roles_key(study, q, ok) != main_key:
            svg, mmd, _ = _diagram(study, q, ok, eng)
        sections.append(QuerySection(
            query=q,
            identification=ok,
            identification_error=ident if isinstance(ident, CausalError) else None,
            result=results.get(q.name),
            estimation_error=failed.get(q.name),
            diagram_svg=svg,
            diagram_mermaid=mmd,
            highlight=_highlight_for(ok),
        ))

    found = study.implications()
    listed = [str(i) for i in found]
    if not found.complete:
        notes.append("The list of testable implications was cut on this large graph.")
    return Report(
        study=study,
        assumptions=assumptions_in_words(study),
        implications=tuple(listed[:MAX_IMPLICATIONS]),
        implications_more=max(0, len(listed) - MAX_IMPLICATIONS),
        sections=tuple(sections),
        diagram_svg=main_diagram[0],
        diagram_mermaid=main_diagram[1],
        diagram_note=main_diagram[2],
        diagram_highlight=_highlight_for(main_ident),
        data_note=data_note,
        data_error=data_error,
        estimated=frame is not None or run is not None,
        engine=str(eng) if eng else None,
        notes=tuple(notes),
        checks=found_checks if found_checks is not None else checks_note,
    )


def _checks_for(study: Study, checks: StudyChecks | bool, replications: int,
                sets: dict[str, frozenset[str] | None]) -> tuple[StudyChecks | None, str | None]:
    """(the checks to show or None, why there are none): run once here when asked."""
    if checks is False:
        return None, "The checks were switched off (--no-checks)."
    if checks is not True:
        return checks, None
    if study.data is None:
        return None, ("The checks need data: no data is bound to this study, so the DAG was "
                      "not tested against data and no estimate was stressed.")
    try:
        return study.test(replications=replications, adjustment=sets), None
    except CausalError as error:
        return None, f"The checks could not run: {error.diagnostics[0].message}"


def _identified(study: Study, q: Query, result: QueryResult | None
                ) -> Identification | CausalError:
    """The query's identification: the one its estimate rests on, else computed (once)."""
    if result is not None and result.identification is not None:
        return result.identification
    try:
        return render.identification_of(study, q)
    except CausalError as error:
        return error


def _data_for(study: Model, estimate: bool, data: pd.DataFrame | None
              ) -> tuple[pd.DataFrame | None, dict[str, pd.Series] | None, str | None,
                         CausalError | None]:
    """(the checked data to estimate on or None, its columns as `check_data` coded them, for
    every query to reuse, why there is no data, the data's error)."""
    if not estimate:
        return None, None, ("Estimation was switched off (--no-estimate): identification "
                            "only."), None
    if not study.queries:
        return None, None, None, None
    if data is not None:
        return data, None, None, None
    if study.data is None:
        return None, None, ("No data is bound to this study (add a line such as data "
                            "\"file.csv\"): identification only."), None
    from .data import check_data, load_data

    try:
        loaded = load_data(study)
        coded = check_data(study, loaded)
    except CausalError as error:
        return None, None, "The data could not be used, so nothing was estimated.", error
    return loaded, coded, None, None  # only data that passed the checks is estimated on


def _highlight_for(ident: Identification | CausalError | None) -> str:
    """Paths when the effect is not identifiable (the reviewer needs to see why)."""
    if ident is None or isinstance(ident, CausalError):
        return "adjustment"
    return "adjustment" if ident.identifiable else "paths"


def _roles(study: Study, q: Query | None, ident: Identification | CausalError | None
           ) -> render.Roles:
    """The diagram roles of one query, drawn from its identification (never recomputed):
    without one, only the treatment and the outcome are marked."""
    if q is None or ident is None or isinstance(ident, CausalError):
        return render.Roles(query=q, treatment=q.treatment if q else None,
                            outcome=q.outcome if q else None)
    return render.diagram_roles(study, q, _highlight_for(ident), identification=ident)


def _roles_key(study: Study, q: Query | None, ident: Identification | CausalError | None
               ) -> tuple[Any, ...]:
    if q is None or isinstance(ident, CausalError):
        return (None,)
    roles = _roles(study, q, ident)
    return (roles.treatment, roles.outcome, roles.adjustment, roles.paths)


def _diagram(study: Study, q: Query | None, ident: Identification | CausalError | None,
             eng: render.Engine | None) -> tuple[str | None, str, str]:
    """(inline SVG or None, Mermaid text, a note on how it was drawn) for one query."""
    roles = _roles(study, q, ident)
    mermaid = render.to_mermaid(study, roles.query, roles.highlight, title=False, roles=roles)
    if eng is None:
        return None, mermaid, "No Graphviz engine was found, so the diagram is given as Mermaid."
    dot = render.build_dot(study, roles=roles, title=False).to_string()
    try:
        svg = render.svg_fragment(render.run_engine(dot, "svg", eng))
    except RenderError as error:
        return None, mermaid, error.diagnostics[0].message
    return svg, mermaid, f"Drawn with {eng.name}."


def write_report(
    study: Study,
    path: str | Path,
    *,
    format: str | None = None,  # mirrors the CLI's --format
    estimate: bool = True,
    seed: int | None = None,
    engine: str | Path | render.Engine | None = None,
    checks: StudyChecks | bool = True,
) -> Path:
    """Build the report and write it as HTML or Markdown (from `format` or the extension)."""
    out = Path(path)
    fmt_ = report_format(out, format)
    rep = build_report(study, estimate=estimate, seed=seed, engine=engine, checks=checks)
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

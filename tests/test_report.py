"""Study reports: content (assumptions, identification, estimates equal to the planner's,
tables, forest plot), escaping of every user string, degraded cases (no data, bad data, an
effect that cannot be estimated, no Graphviz engine), the CLI, and the Jupyter views of results.
"""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl import RenderError, render
from causal_dsl.cli import main
from causal_dsl.present.charts import (
    ForestRow,
    event_study_svg,
    forest_svg,
    forest_text,
    nice_ticks,
)
from causal_dsl.report import (
    Report,
    assumptions_in_words,
    build_report,
    report_format,
    write_report,
)
from causal_dsl.results import fmt

ROOT = Path(__file__).resolve().parent.parent
HEART = ROOT / "examples" / "heart_drug.causal"
FASTFOOD = ROOT / "examples" / "fastfood.causal"
SVG_NS = "{http://www.w3.org/2000/svg}"
HAS_ENGINE = bool(render.available_engines())

EVIL = "<script>alert(1)</script>"
HOSTILE = f'''study "Title {EVIL} & more"
var `{EVIL}`: binary            "label {EVIL} <img src=x onerror=alert(2)>"
var y: continuous               "outcome \\"quoted\\" | pipe *star* `tick`"
var c: continuous               "<iframe src=javascript:alert(3)>"
latent `u<b>`                   "hidden <svg onload=alert(4)>"
c -> `{EVIL}` -> y
c -> y
`u<b>` -> {{c, y}}
query `q<i>`: ate(`{EVIL}` -> y)
'''


@pytest.fixture(scope="module")
def heart() -> causal_dsl.Study:
    return causal_dsl.load(HEART)


@pytest.fixture(scope="module")
def heart_report(heart: causal_dsl.Study) -> Report:
    return build_report(heart)


@pytest.fixture(scope="module")
def fastfood_report() -> Report:
    return build_report(causal_dsl.load(FASTFOOD))


class Tags(HTMLParser):
    """Every start tag and attribute name in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs


def tags_of(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


# ---------------------------------------------------------------------------------------------
# content
# ---------------------------------------------------------------------------------------------
def test_assumptions_in_words(heart: causal_dsl.Study) -> None:
    words = assumptions_in_words(heart)
    assert "age affects initial_health and severity." in words
    assert "initial_health affects drug and severity." in words
    assert "frailty (Unmeasured frailty) is unobserved (not in the data)." in words
    assert "drug and ward share an unobserved cause." in words
    invariant = assumptions_in_words(causal_dsl.load(FASTFOOD))
    assert any("constant over time within each unit" in w for w in invariant)


def test_html_report_of_the_heart_example(heart: causal_dsl.Study, heart_report: Report) -> None:
    page = heart_report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Heart drug and severity</title>" in page
    # the DAG is inline SVG naming every variable, and the page fetches nothing
    if HAS_ENGINE:
        svg = page[page.index("<svg"): page.index("</svg>") + 6]
        texts = "".join(ET.fromstring(svg).itertext())
        for v in heart.variables:
            assert v.name in texts
    parsed = tags_of(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert not any(name in ("src", "href") for name, _ in parsed.attrs)
    # assumptions, implications and every query
    assert "<li>drug and ward share an unobserved cause.</li>" in page
    assert "conditional independences" in page
    for q in heart.queries:
        assert f'id="query-{q.name}"' in page
    # the estimates are the planner's own numbers
    for section in heart_report.sections:
        assert section.result is not None, section.estimation_error
        r = section.result
        assert r.effect == pytest.approx(heart.estimate(section.query).effect)
        assert f"<td>{fmt(r.effect)}</td>" in page
        assert f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]" in page
        assert html.escape(r.plan.reasons[0]) in page
    assert "Balance (standardized mean differences" in page
    assert page.count('<svg class="forest"') == len(heart.queries)
    assert "identified by adjustment" in page and "Adjust for <strong>{initial_health, ward}" \
        in page


def test_markdown_report_of_the_heart_example(heart_report: Report) -> None:
    md = heart_report.to_markdown()
    assert md.startswith("# Heart drug and severity\n")
    assert "```mermaid\nflowchart LR\n" in md
    assert "- drug and ward share an unobserved cause." in md
    main = heart_report.sections[0].result
    assert main is not None
    assert f"| {fmt(main.effect)} | {fmt(main.se)} |" in md
    assert "```text\nnaive difference in means" in md  # the text forest plot
    assert "**Balance (standardized mean differences" in md
    assert "## Appendix: the study file" in md and "query main: ate(drug -> severity)" in md


def test_report_of_a_panel_study(fastfood_report: Report) -> None:
    page = fastfood_report.to_html()
    (section,) = fastfood_report.sections
    assert section.identification is not None and not section.identification.identifiable
    assert "not identified by adjustment" in page
    assert "min_wage_rise &lt;- economy -&gt; employment" in page  # the open path, escaped
    assert section.result is not None and section.result.method == "did"
    assert "Event study" in page  # the pre-trend table, and its plot
    plot = page[page.index('aria-label="event-study plot"') - 200:]
    plot = plot[plot.index("<svg"): plot.index("</svg>") + 6]
    table = section.result.result.table("Event study")
    assert table is not None
    assert len(list(ET.fromstring(plot).iter(f"{SVG_NS}circle"))) == len(table.rows)
    # the diagram colours the path no set can block, and says what red means
    assert fastfood_report.diagram_highlight == "paths"
    assert "open path (not blocked)" in page
    if HAS_ENGINE:
        assert render.COLOURS["open_path"] in page


def test_report_without_data_identifies_only(tmp_path: Path) -> None:
    study = causal_dsl.parse((ROOT / "tests/golden/render/frontdoor.causal").read_text())
    rep = build_report(study)
    assert rep.data_note is not None and "No data is bound" in rep.data_note
    assert all(s.result is None and s.estimation_error is None for s in rep.sections)
    page = rep.to_html()
    assert "Estimates" not in page and "No data is bound" in page
    # a query whose roles differ from the first gets its own diagram
    assert rep.sections[0].diagram_mermaid is None
    assert rep.sections[1].diagram_mermaid is not None
    assert "v_tar" in rep.sections[1].diagram_mermaid


def test_report_shows_a_query_that_cannot_be_estimated(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("t,y,a\n" + "".join(
        f"{i % 2},{i * 0.5 + (i % 3)},{i % 5}\n" for i in range(40)))
    (tmp_path / "s.causal").write_text(
        'data "d.csv"\nvar t: binary\nvar y: continuous\nvar a: continuous\nlatent u\n'
        "u -> {t, y}\na -> t -> y\nquery blocked: ate(t -> y)\n")
    rep = build_report(causal_dsl.load(tmp_path / "s.causal"))
    (section,) = rep.sections
    assert section.result is None and section.estimation_error is not None
    code = section.estimation_error.diagnostics[0].code
    assert code.startswith("E5")
    page = rep.to_html()
    assert "Not estimated" in page and f"[{code}]" in page


def test_report_shows_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("t,y\n1,2\n0,3\n")
    (tmp_path / "s.causal").write_text(
        'data "d.csv"\nvar t: binary\nvar y: continuous\nvar age: continuous\n'
        "age -> t -> y\nage -> y\nquery q: ate(t -> y)\n")
    rep = build_report(causal_dsl.load(tmp_path / "s.causal"))
    assert rep.data_error is not None and not rep.estimated
    md = rep.to_markdown()
    assert "## Data" in md and "E404" in md and "age" in md


def test_no_estimate_option(heart: causal_dsl.Study) -> None:
    rep = build_report(heart, estimate=False)
    assert not rep.estimated and all(s.result is None for s in rep.sections)
    assert "switched off" in rep.to_markdown()


def test_without_an_engine_the_html_falls_back_to_mermaid(
    heart: causal_dsl.Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(render.ENGINE_ENV, raising=False)
    monkeypatch.setattr(render.engines, "_candidates",
                        lambda: [("dot", None), ("graphviz-pure", None)])
    rep = build_report(heart, estimate=False)
    assert rep.diagram_svg is None and rep.engine is None
    page = rep.to_html()
    assert '<pre class="mermaid">' in page and "No Graphviz engine" in page
    with pytest.raises(RenderError):
        build_report(heart, estimate=False, engine="/no/such/engine")


# ---------------------------------------------------------------------------------------------
# escaping
# ---------------------------------------------------------------------------------------------
def test_user_strings_cannot_inject_markup() -> None:
    study = causal_dsl.parse(HOSTILE)
    rep = build_report(study)
    page = rep.to_html()
    parsed = tags_of(page)
    for bad in ("script", "img", "iframe", "i"):
        assert bad not in parsed.tags, bad
    assert parsed.tags.count("svg") == (1 if HAS_ENGINE else 0)  # the diagram only (no data)
    assert not any(name.startswith("on") for name, _ in parsed.attrs)
    assert "<script" not in page.lower() and "<img" not in page and "<iframe" not in page
    # "onerror=" survives only as escaped text inside attribute values (SVG tooltips): no
    # attribute is named on... (checked above with a real HTML parser)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    md = rep.to_markdown()
    body = md.split("## Appendix")[0]  # the appendix is a fenced code block
    fence = body.split("```mermaid")[1].split("```")[0]
    outside = body.replace(fence, "")
    for needle in ("<script", "<img", "<iframe", "<svg"):
        assert needle not in outside.lower(), needle
    assert "\\*star\\*" in outside and "\\| pipe" in outside and "\\`tick\\`" in outside


def test_forest_plot_svg() -> None:
    rows = (ForestRow("naive <b>", 6.4, 5.8, 7.0), ForestRow("ATE", -4.5, -5.2, -3.8, True))
    svg = forest_svg(rows, caption="effect of a on b")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "naive <b>" in texts and "ATE" in texts and "effect of a on b" in texts
    # the emphasised estimate is a square, left of the naive circle; zero lies between them
    rect = next(root.iter(f"{SVG_NS}rect"))
    circle = next(root.iter(f"{SVG_NS}circle"))
    assert float(rect.get("x")) + 5 < float(circle.get("cx"))
    zero = [ln for ln in root.iter(f"{SVG_NS}line") if ln.get("stroke-dasharray")]
    assert len(zero) == 1
    assert float(rect.get("x")) < float(zero[0].get("x1")) < float(circle.get("cx"))
    # not finite values are said, not drawn
    odd = ET.fromstring(forest_svg((ForestRow("x", math.nan, 0, 1),)))
    assert "not finite" in [t.text for t in odd.iter(f"{SVG_NS}text")]


def test_event_study_plot_needs_its_columns() -> None:
    from causal_dsl.results import Table

    assert event_study_svg(Table("Coefficients", ("term", "coef"), (("x", 1.0),))) is None
    t = Table("Event study", ("event time", "coef", "SE", "95% low", "95% high", "p"),
              ((-2, 0.1, 0.1, -0.1, 0.3, 0.5), (-1, 0, 0, 0, 0, math.nan),
               (0, 2.0, 0.2, 1.6, 2.4, 0.0)))
    root = ET.fromstring(event_study_svg(t) or "")
    ys = [float(c.get("cy")) for c in root.iter(f"{SVG_NS}circle")]
    assert len(ys) == 3 and ys[2] < ys[0] < ys[1]  # 2.0 above 0.1 above 0: higher is up


def test_forest_plot_text() -> None:
    text = forest_text((ForestRow("naive", 2.0, 1.0, 3.0), ForestRow("adj", -1.0, -2.0, 0.5,
                                                                     True)))
    naive, adj, axis = text.splitlines()
    assert naive.index("o") > adj.index("#")  # the larger estimate is further right
    assert "|" in naive and "[" in naive and "]" in naive
    assert axis.strip().startswith("-2") and axis.strip().endswith("3")


def test_nice_ticks() -> None:
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(-0.48, 2.7)
    assert ticks[0] <= -0.48 and ticks[-1] >= 2.7
    assert nice_ticks(3.0, 3.0) == [2.0, 2.5, 3.0, 3.5, 4.0] or len(nice_ticks(3.0, 3.0)) >= 3


# ---------------------------------------------------------------------------------------------
# files and CLI
# ---------------------------------------------------------------------------------------------
def test_report_format() -> None:
    assert report_format("a.html") == "html" and report_format("a.md") == "markdown"
    assert report_format(None) == "markdown" and report_format("a.txt", "html") == "html"
    with pytest.raises(RenderError) as info:
        report_format("a.pdf")
    assert info.value.diagnostics[0].code == "E605"


def test_write_report(tmp_path: Path) -> None:
    study = causal_dsl.load(FASTFOOD)
    out = write_report(study, tmp_path / "r.md", estimate=False)
    assert out.read_text().startswith("# Minimum wage")
    with pytest.raises(RenderError) as info:
        write_report(study, tmp_path / "missing" / "r.html", estimate=False)
    assert info.value.diagnostics[0].code == "E606"


def test_cli_report(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["report", str(FASTFOOD), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "<h1>Minimum wage and fast-food employment</h1>" in out.read_text()
    result = runner.invoke(main, ["report", str(FASTFOOD), "--no-estimate"])
    assert result.exit_code == 0 and result.stdout.startswith("# Minimum wage")
    result = runner.invoke(main, ["report", str(FASTFOOD), "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 1 and "E605" in result.output


# ---------------------------------------------------------------------------------------------
# Jupyter views of results
# ---------------------------------------------------------------------------------------------
def test_result_objects_have_html_views(heart: causal_dsl.Study, heart_report: Report) -> None:
    result = heart_report.sections[0].result
    assert result is not None
    view = result._repr_html_()
    assert "<table>" in view and '<svg class="forest"' in view and fmt(result.effect) in view
    ident = heart.identify()
    assert "identified by adjustment" in ident._repr_html_()
    from causal_dsl.results import RunResult

    run = RunResult(heart.title, "heart_drug.csv", tuple(
        s.result for s in heart_report.sections if s.result is not None))
    page = run._repr_html_()
    assert page.count('<svg class="forest"') == 3 and "<h2>Heart drug and severity</h2>" in page


def test_hostile_identification_view_is_escaped() -> None:
    study = causal_dsl.parse(HOSTILE)
    view = study.identify()._repr_html_()
    assert "<script" not in view and "&lt;script&gt;" in view
    assert re.search(r"<h3>q&lt;i&gt;: ate\(", view)


# ---------------------------------------------------------------------------------------------
# issue 15: both halves of a DAG's assumptions; badges that say how an effect is identified
# ---------------------------------------------------------------------------------------------
def test_assumptions_state_both_halves() -> None:
    lines = assumptions_in_words(causal_dsl.load(HEART))
    assert any(line.startswith("No other direct effects: two variables not joined by an "
                               "arrow") for line in lines)
    assert ("No other common causes: two variables share no unmeasured cause unless the "
            "diagram draws one (a latent variable or a two-headed arrow <->).") in lines
    assert assumptions_in_words(causal_dsl.parse("var x: binary\n")) == ()  # no graph, no claim


@pytest.mark.parametrize(("example", "badge"), [
    ("heart_drug", "identified by adjustment (back-door)"),
    ("kielmc", "identified by DiD (parallel trends)"),
    ("mroz", "identified by IV (instrument: relevance, exclusion, no confounding)"),
    ("frontdoor", "identified by front-door adjustment"),
    ("mpdta", "identified by staggered DiD (parallel trends, no anticipation)"),
])
def test_badges_say_how_the_effect_is_identified(example: str, badge: str) -> None:
    study = causal_dsl.load(ROOT / "examples" / f"{example}.causal")
    rep = build_report(study)
    page = rep.to_html()
    assert f'<span class="badge yes">{html.escape(badge)}</span>' in page
    assert f"**How:** {badge}" in rep.to_markdown().replace("\\(", "(").replace("\\)", ")")
    if example in ("mroz", "frontdoor"):  # the reader still learns adjustment does not work
        assert "not identified by adjustment" in page


def test_badge_without_estimates_says_what_may_work() -> None:
    study = causal_dsl.load(ROOT / "examples" / "frontdoor.causal")
    page = build_report(study, estimate=False).to_html()
    assert "identified by front-door adjustment (not by adjustment)" in page

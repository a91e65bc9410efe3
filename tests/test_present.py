"""The presenters (causal_dsl.present): the escaping helpers as tables, the display table that
`register` fills, a study with hostile names drawn in every format of every verb that has
formats (through the CLI), the golden Markdown of ``causal run`` on it, and one identification
per query in ``causal report``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pydot
import pytest
from click.testing import CliRunner

import causal_dsl
import causal_dsl.identify
from causal_dsl import display, present
from causal_dsl.cli import main
from causal_dsl.present import markup

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "render"
HOSTILE = GOLDEN / "hostile.causal"  # binds hostile.csv beside it
HEART = ROOT / "examples" / "heart_drug.causal"
TREATMENT, CONFOUNDER, OUTCOME, QUERY = "ward|*x*", "<script>alert(1)</script>", "y_[o]&", "q|*1*"
NAMES = (TREATMENT, CONFOUNDER, OUTCOME, QUERY)


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


# ---------------------------------------------------------------------------------------------
# markup: one helper per job
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"),
    ("a|b *c* `d` [e](f)", "a\\|b \\*c\\* \\`d\\` \\[e\\](f)"),
    ("initial_health _x_", "initial_health \\_x\\_"),
    ("two\nlines", "two lines"),
    ("~strike~ \\", "\\~strike\\~ \\\\"),
])
def test_markdown_escape(text: str, expected: str) -> None:
    assert markup.markdown_escape(text) == expected


@pytest.mark.parametrize(("names", "kw", "expected"), [
    ({"b", "a"}, {}, "{a, b}"),
    ((), {}, "{}"),
    ((), {"empty": "∅ (nothing)"}, "∅ (nothing)"),
    (None, {}, "—"),
    (["c", "a", "b"], {"cap": 2}, "{a, b, ... (+1 more)}"),
    ({"my var", "x", "var"}, {"quote": True}, "{`my var`, `var`, x}"),
])
def test_spell_set(names: object, kw: dict[str, object], expected: str) -> None:
    assert markup.spell_set(names, **kw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "table", "expected"), [
    ("a|b", False, "`a|b`"),
    ("a|b", True, "`a\\|b`"),
    ("`x`", False, "`` `x` ``"),
])
def test_code_span(text: str, table: bool, expected: str) -> None:
    assert markup.code_span(text, table=table) == expected


def test_html_escape_quotes_for_attributes() -> None:
    assert markup.html_escape("<a title=\"x\">'&") == "&lt;a title=&quot;x&quot;&gt;&#x27;&amp;"


# ---------------------------------------------------------------------------------------------
# the display table
# ---------------------------------------------------------------------------------------------
def test_register_fills_every_jupyter_display_once() -> None:
    present.register()
    before = dict(display.PRESENTERS)
    present.register()  # idempotent: the same entries, not re-created
    assert before == display.PRESENTERS
    for key in [("html", "QueryResult"), ("html", "RunResult"), ("html", "Identification"),
                ("html", "Report"), ("html", "Study"), ("markdown", "Study"), ("svg", "Study"),
                ("text", "QueryResult"), ("text", "RunResult"), ("text", "Plan"),
                ("markdown", "QueryResult"), ("markdown", "RunResult")]:
        assert key in display.PRESENTERS, key


def test_register_imports_no_presenter_module() -> None:
    """Registering is cheap: each presenter module loads only when first used."""
    code = ("import sys, causal_dsl.present as p; p.register(); "
            "print(sorted(m for m in sys.modules if m.startswith('causal_dsl.present.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]"


def test_results_import_no_presenter() -> None:
    """results.py holds data: importing it loads no presenter module, report nor planner (the
    package's `present` registry, a table of names that `causal_dsl` fills on import, is not a
    presenter)."""
    code = ("import sys, causal_dsl.results; "
            "print([m for m in sys.modules if m.startswith(('causal_dsl.present.', "
            "'causal_dsl.report', 'causal_dsl.planner'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]"


# ---------------------------------------------------------------------------------------------
# hostile names in every format of every verb
# ---------------------------------------------------------------------------------------------
class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def assert_inert_html(page: str) -> None:
    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "iframe" not in parser.tags and "img" not in parser.tags
    assert not any(a.startswith("on") for a in parser.attrs)
    assert "<script" not in page.lower()


_PIPE = re.compile(r"(?<!\\)\|")


def assert_tables_keep_their_columns(md: str) -> int:
    """Every row of every Markdown table has as many cells as its header; returns the number
    of tables seen. Pipes inside code spans count too (GitHub splits cells on them)."""
    lines, tables, i = md.splitlines(), 0, 0
    while i < len(lines):
        if i + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()):
            width = len(_PIPE.findall(lines[i]))
            tables += 1
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert len(_PIPE.findall(lines[j])) == width, lines[j]
                j += 1
            i = j
        else:
            i += 1
    return tables


def assert_markdown_escaped(md: str) -> None:
    assert "<script" not in md.lower() or md.lower().count("<script") == 0
    for raw in ("ward|*x*", "*title*", "<b>bold</b>"):
        outside_code = re.sub(r"``?[^`]*``?", "", md)
        assert raw not in outside_code, raw


def test_run_text_shows_names_as_written() -> None:
    out = cli("run", str(HOSTILE), "--verbose")
    for name in NAMES:
        assert name in out


def test_run_markdown_escapes_names() -> None:
    md = cli("run", str(HOSTILE), "--format", "markdown", "--verbose")
    assert assert_tables_keep_their_columns(md) >= 2
    # text plots are code blocks: shown verbatim, never rendered (as the appendix's fence)
    assert_markdown_escaped(re.sub(r"```text.*?```", "", md, flags=re.DOTALL))
    assert "ward\\|\\*x\\*" in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md


def test_run_json_round_trips_names() -> None:
    data = json.loads(cli("run", str(HOSTILE), "--format", "json"))
    (q,) = data["queries"]
    assert (q["query"], q["plan"]["treatment"], q["plan"]["outcome"]) == (QUERY, TREATMENT,
                                                                           OUTCOME)
    assert q["plan"]["adjustment_set"] == [CONFOUNDER]
    assert data["title"] == causal_dsl.load(HOSTILE).title


@pytest.mark.parametrize("flags", [(), ("--no-estimate",)])
def test_report_html_is_inert(flags: tuple[str, ...]) -> None:
    page = cli("report", str(HOSTILE), "--format", "html", *flags)
    assert_inert_html(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("flags", [(), ("--no-estimate",)])
def test_report_markdown_escapes_names(flags: tuple[str, ...]) -> None:
    md = cli("report", str(HOSTILE), "--format", "markdown", *flags)
    body = md.split("## Appendix")[0]  # the appendix quotes the study file in a fence
    assert assert_tables_keep_their_columns(body) >= 2
    assert_markdown_escaped(re.sub(r"```(mermaid|text).*?```", "", body, flags=re.DOTALL))


def test_render_dot_parses_and_keeps_names() -> None:
    dot = cli("render", str(HOSTILE), "--format", "dot")
    (graph,) = pydot.graph_from_dot_data(dot)
    labels = " ".join(str(n.get("label")) for n in graph.get_nodes())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in labels and "ward|*x*" in labels
    assert "<script>" not in labels


def test_render_mermaid_escapes_names() -> None:
    mmd = cli("render", str(HOSTILE), "--format", "mermaid")
    assert mmd.startswith("%% Hostile")  # the title, as a comment Mermaid does not show
    mmd = mmd.split("\n", 1)[1]
    assert "<script>" not in mmd and "#lt;script#gt;alert(1)#lt;/script#gt;" in mmd
    assert "%%{" not in mmd


def test_render_svg_has_no_script() -> None:
    if not causal_dsl.render.available_engines():
        pytest.skip("no Graphviz engine")
    svg = cli("render", str(HOSTILE), "--format", "svg")
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "script"]


def test_identify_text_and_json() -> None:
    text = cli("identify", str(HOSTILE))
    assert f"adjust for: {{{CONFOUNDER}}}" in text
    data = json.loads(cli("identify", str(HOSTILE), "--json"))
    (q,) = data["queries"]
    assert (q["query"], q["treatment"], q["outcome"]) == (QUERY, TREATMENT, OUTCOME)
    assert q["adjustment_set"] == [CONFOUNDER]


@pytest.fixture(scope="module")
def hostile_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("diff")
    old = where / "old.causal"
    old.write_text(HOSTILE.read_text(encoding="utf-8").replace('data "hostile.csv"\n', ""),
                   encoding="utf-8")
    new = where / "new.causal"
    new.write_text(old.read_text(encoding="utf-8")
                   + 'var `z|*<i>*`: continuous "new | *one*"\n`z|*<i>*` -> `y_[o]&`\n',
                   encoding="utf-8")
    return old, new


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_diff_formats(hostile_pair: tuple[Path, Path], fmt: str) -> None:
    result = CliRunner().invoke(main, ["diff", *map(str, hostile_pair), "--format", fmt])
    assert result.exit_code in (0, 1), result.output
    out = result.stdout
    if fmt == "text":
        assert "z|*<i>*" in out
    elif fmt == "markdown":
        assert_tables_keep_their_columns(out)
        assert "<i>" not in re.sub(r"``.*?``|`[^`]*`", "", out)  # code spans show text as is
    else:
        assert "z|*<i>*" in json.dumps(json.loads(out), ensure_ascii=False)


def test_jupyter_views_escape(tmp_path: Path) -> None:
    study = causal_dsl.load(HOSTILE)
    present.register()
    run = study.run()
    for page in (run._repr_html_(), run[QUERY]._repr_html_(), study.identify(QUERY)._repr_html_()):
        assert page is not None
        assert_inert_html(page)
    md = display.show("markdown", study)
    assert md is not None and md.startswith("**Hostile &lt;script&gt;")
    # the rest is the Mermaid fence and the summary as an indented code block: shown as text
    assert "<script>" not in "\n".join(line for line in md.splitlines()[1:]
                                       if not line.startswith(("    ", "%%")))


# ---------------------------------------------------------------------------------------------
# golden: causal run --format markdown (the escaping fix of issue 9)
# ---------------------------------------------------------------------------------------------
def test_run_markdown_golden() -> None:
    md = cli("run", str(HOSTILE), "--format", "markdown", "--verbose")
    assert str(GOLDEN) not in md  # data paths are relative to the study (issue 15)
    path = GOLDEN / "hostile.run.md"
    if not path.exists():
        path.write_text(md, encoding="utf-8")
        pytest.fail(f"golden file {path.name} was missing and has been written; rerun")
    assert md == path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# causal report identifies each query once
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [("--no-estimate",), ()])
def test_report_identifies_each_query_once(monkeypatch: pytest.MonkeyPatch,
                                           flags: tuple[str, ...]) -> None:
    real = causal_dsl.identify.identify
    calls: list[str] = []

    def counting(*args: object, **kwargs: object) -> object:
        query = args[1] if len(args) > 1 else kwargs["query"]
        calls.append(query.name)  # type: ignore[attr-defined]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(causal_dsl.identify, "identify", counting)
    cli("report", str(HEART), "--format", "html", *flags)
    names = [q.name for q in causal_dsl.load(HEART).queries]
    assert sorted(calls) == sorted(names)

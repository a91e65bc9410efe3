"""DAG diagrams: DOT and Mermaid text against golden files, styling, safe ids and escaping,
both Graphviz engines (SVG parses and names every variable, PNG magic bytes), engine lookup and
failures, the real Mermaid 10 and 11 parsers (when Node is present), the CLI and Jupyter hooks.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest
tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pydot
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl import RenderError, render
from causal_dsl.cli import main
from causal_dsl.present import markup

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "render"
STUDIES = {
    "heart_drug": ROOT / "examples" / "heart_drug.causal",
    "fastfood": ROOT / "examples" / "fastfood.causal",
    "tricky": GOLDEN / "tricky.causal",
    "frontdoor": GOLDEN / "frontdoor.causal",
}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ENGINES = render.available_engines()
SVG_NS = "{http://www.w3.org/2000/svg}"


def load(name: str) -> causal_dsl.Study:
    return causal_dsl.load(STUDIES[name])


def check_golden(path: Path, text: str) -> None:
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {path.name} was missing and has been written; rerun")
    assert text == path.read_text(encoding="utf-8"), f"differs from {path}"


# ---------------------------------------------------------------------------------------------
# golden text
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("highlight", ["adjustment", "paths"])
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_dot_golden(name: str, highlight: str) -> None:
    check_golden(GOLDEN / f"{name}.{highlight}.dot", load(name).to_dot(highlight=highlight))


@pytest.mark.parametrize("highlight", ["adjustment", "paths"])
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_mermaid_golden(name: str, highlight: str) -> None:
    check_golden(GOLDEN / f"{name}.{highlight}.mmd", load(name).to_mermaid(highlight=highlight))


def test_text_output_is_deterministic() -> None:
    a, b = load("tricky"), load("tricky")
    assert a.to_dot() == b.to_dot() and a.to_mermaid() == b.to_mermaid()


# ---------------------------------------------------------------------------------------------
# safe ids
# ---------------------------------------------------------------------------------------------
def test_safe_ids_are_unique_prefixed_and_plain() -> None:
    names = ["end", "node", "graph", "subgraph", "a b", "a_b", "a-b", "x\"y", "<script>",
             "oxygen", "é", "_", "v_end"]
    ids = render.safe_ids(names)
    assert len(set(ids.values())) == len(names)
    for i in ids.values():
        assert re.fullmatch(r"v_[A-Za-z0-9_]+", i), i
    assert ids["end"] == "v_end" and ids["v_end"] == "v_v_end"
    assert ids["a b"] == "v_a_b" and ids["a_b"] == "v_a_b_2" and ids["a-b"] == "v_a_b_3"


def test_dot_parses_back_with_every_node_kept() -> None:
    """pydot drops nodes called node/edge/graph; the ids must keep every variable."""
    study = load("tricky")
    (graph,) = pydot.graph_from_dot_data(study.to_dot())
    ids = render.safe_ids([v.name for v in study.variables])
    got = {n.get_name().strip('"') for n in graph.get_nodes()} - {"node", "edge", "graph"}
    assert got == set(ids.values())
    assert len(graph.get_edges()) == len(study.edges)


# ---------------------------------------------------------------------------------------------
# styling
# ---------------------------------------------------------------------------------------------
def node_attrs(dot: str, node_id: str) -> str:
    match = re.search(rf"^{node_id} \[(.*)\];$", dot, flags=re.MULTILINE)
    assert match, f"no node {node_id}"
    return match.group(1)


def test_dot_roles_for_the_heart_example() -> None:
    study = load("heart_drug")
    dot = study.to_dot()
    assert "rankdir=LR;" in dot
    drug = node_attrs(dot, "v_drug")
    assert "filled" in drug and render.COLOURS["treatment_fill"] in drug
    assert render.COLOURS["outcome_fill"] in node_attrs(dot, "v_severity")
    frailty = node_attrs(dot, "v_frailty")
    assert "style=dashed" in frailty and "shape=ellipse" in frailty
    adjust = study.identify().adjustment_set
    assert adjust  # the example needs adjustment
    for v in study.variables:
        attrs = node_attrs(dot, render.safe_ids([x.name for x in study.variables])[v.name])
        assert ("peripheries=2" in attrs) == (v.name in adjust), v.name
        # the declared label is shown beneath the name
        assert attrs.startswith(f"label=<<b>{v.name}</b>")
        if v.label:
            assert f'<br/><font point-size="10">{v.label.split()[0]}' in attrs
    assert re.search(r"^v_drug -> v_ward \[dir=both, style=dashed, constraint=false\];$", dot,
                     flags=re.MULTILINE)


def test_query_option_changes_roles() -> None:
    study = load("frontdoor")
    dot = study.to_dot(query="tar_effect")
    assert render.COLOURS["treatment_fill"] in node_attrs(dot, "v_tar")
    assert "peripheries=2" in node_attrs(dot, "v_smoking")  # {smoking} is the set for tar
    assert "peripheries" not in node_attrs(study.to_dot(), "v_smoking")


def test_proposed_adjusting_set_is_the_one_marked() -> None:
    study = causal_dsl.parse(
        "var t: binary\nvar y: continuous\nvar a: continuous\nvar b: continuous\n"
        "a -> t -> y\na -> y\nb -> y\nquery q: ate(t -> y) adjusting {a, b}\n")
    dot = study.to_dot()
    assert "peripheries=2" in node_attrs(dot, "v_a")
    assert "peripheries=2" in node_attrs(dot, "v_b")


def test_highlight_none_marks_no_set() -> None:
    dot = load("heart_drug").to_dot(highlight="none")
    assert "peripheries" not in dot
    assert render.COLOURS["treatment_fill"] in node_attrs(dot, "v_drug")


def test_paths_colour_what_is_open_and_what_is_blocked() -> None:
    red, orange = render.COLOURS["open_path"], render.COLOURS["blocked_path"]
    # Not identifiable: the path through the latent genotype is red; the age path, which a
    # set could block, is orange; the causal path through tar is not coloured.
    dot = load("frontdoor").to_dot(highlight="paths")
    assert re.search(rf'^v_genotype -> v_smoking \[color="{red}"', dot, flags=re.MULTILINE)
    assert re.search(rf'^v_genotype -> v_cancer \[color="{red}"', dot, flags=re.MULTILINE)
    assert re.search(rf'^v_age -> v_smoking \[color="{orange}"', dot, flags=re.MULTILINE)
    assert re.search(r"^v_smoking -> v_tar;$", dot, flags=re.MULTILINE)
    assert re.search(r"^v_tar -> v_cancer;$", dot, flags=re.MULTILINE)
    # Identifiable: every confounding path is blocked by the set, so nothing is red.
    heart = load("heart_drug").to_dot(highlight="paths")
    assert red not in heart and orange in heart
    # the default highlight colours no path
    assert red not in load("frontdoor").to_dot() and orange not in load("frontdoor").to_dot()


def test_paths_show_what_a_bad_proposed_set_leaves_open() -> None:
    study = causal_dsl.parse(
        "var t: binary\nvar y: continuous\nvar a: continuous\nvar b: continuous\n"
        "a -> t -> y\na -> y\nb -> t\nb -> y\nquery q: ate(t -> y) adjusting {a}\n")
    dot = study.to_dot(highlight="paths")
    red, orange = render.COLOURS["open_path"], render.COLOURS["blocked_path"]
    assert re.search(rf'^v_b -> v_t \[color="{red}"', dot, flags=re.MULTILINE)
    assert re.search(rf'^v_a -> v_t \[color="{orange}"', dot, flags=re.MULTILINE)
    mmd = study.to_mermaid(highlight="paths")
    assert f"linkStyle 3 stroke:{red}" in mmd  # b -> t is the fourth edge


def test_study_without_query_renders_plain() -> None:
    study = causal_dsl.parse("var x: binary\nvar y: continuous\nx -> y\n")
    dot = study.to_dot()
    assert "filled" not in dot and "peripheries" not in dot
    assert "classDef" in study.to_mermaid() and "class v_" not in study.to_mermaid()


def test_unknown_query_is_the_models_error_and_unknown_highlight_a_render_error() -> None:
    study = load("heart_drug")
    with pytest.raises(causal_dsl.ModelError) as error:
        study.to_dot(query="mian")
    d = error.value.diagnostics[0]
    assert d.code == "E223" and "did you mean 'main'?" in (d.help or "")
    with pytest.raises(RenderError) as info:
        study.to_mermaid(highlight="everything")
    assert info.value.diagnostics[0].code == "E605"


# ---------------------------------------------------------------------------------------------
# escaping
# ---------------------------------------------------------------------------------------------
def test_dot_escapes_user_text() -> None:
    study = load("tricky")
    dot = study.to_dot()
    assert "<script>" not in dot.replace('tooltip="', "\0").split("\0")[0]  # before tooltips
    end = node_attrs(dot, "v_end")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in end and "&quot;hi&quot;" in end
    # a title that looks like an HTML label stays a quoted string
    titled = causal_dsl.parse('study "<b>"\nvar x: binary\n')
    assert 'label="<b>";' in titled.to_dot()
    # backslashes cannot become Graphviz escapes (\N is the node name)
    assert "a \\\\N backslash" in node_attrs(dot, "v_node")


def test_mermaid_escapes_user_text() -> None:
    text = load("tricky").to_mermaid()
    for line in text.splitlines():
        label = re.search(r'\["(.*)"\]|\(\"(.*)\"\)|\[\["(.*)"\]\]', line)
        if label:
            inner = next(g for g in label.groups() if g is not None)
            stripped = re.sub(r"<br/>|</?small>", "", inner)
            assert not re.search(r'[<>"&:`]', stripped), line
    assert "#lt;script#gt;alert(1)#lt;/script#gt;" in text
    # a directive smuggled in a title or a label stays text
    sneaky = causal_dsl.parse('study "%%{init: {\\"theme\\": \\"dark\\"}}%%"\n'
                              'var x: binary "%%{init: {}}%%"\nvar `%%{y}%%`: binary\n')
    out = sneaky.to_mermaid()
    assert "%%{" not in out and "}%%" not in out and "#37;#37;#123;init" in out
    assert render.mermaid_text('a"b') == "a#quot;b"


# ---------------------------------------------------------------------------------------------
# Mermaid: grammar-level check, and the real parsers
# ---------------------------------------------------------------------------------------------
MERMAID_LINE = re.compile(
    r'%% .*'
    r'|flowchart LR'
    r'|    v_\w+(\["[^"\n]*"\]|\("[^"\n]*"\)|\[\["[^"\n]*"\]\])'
    r'|    v_\w+ (-->|<-\.->) v_\w+'
    r'|    classDef \w+ [\w:#,. -]+'
    r'|    class v_\w+(,v_\w+)* \w+'
    r'|    style v_\w+ stroke:#[0-9a-f]{6},stroke-width:\dpx'
    r'|    linkStyle \d+ stroke:#[0-9a-f]{6},stroke-width:\dpx'
)


@pytest.mark.parametrize("highlight", ["adjustment", "paths"])
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_mermaid_lines_fit_the_safe_subset(name: str, highlight: str) -> None:
    text = load(name).to_mermaid(highlight=highlight)
    lines = text.splitlines()
    assert "flowchart LR" in lines[:2]
    for line in lines:
        assert MERMAID_LINE.fullmatch(line), line
    declared = set(re.findall(r"^    (v_\w+)[\[(]", text, flags=re.MULTILINE))
    used = set(re.findall(r"\b(v_\w+)\b", text))
    assert used <= declared
    n_links = len(re.findall(r" (?:-->|<-\.->) ", text))
    for i in map(int, re.findall(r"linkStyle (\d+)", text)):
        assert 0 <= i < n_links


MERMAID_SRC = GOLDEN / "mermaid"


def mermaid_install_dir() -> Path:
    given = os.environ.get("CAUSAL_MERMAID_DIR")
    return Path(given) if given else Path.home() / ".cache" / "causal-dsl" / "mermaid"


@pytest.fixture(scope="session")
def mermaid_dir() -> Path:
    """A directory with Mermaid 10, Mermaid 11 and jsdom installed from the committed lock
    file: ``$CAUSAL_MERMAID_DIR`` or ``~/.cache/causal-dsl/mermaid`` (``.ci/run`` fills it).
    With ``CAUSAL_MERMAID_INSTALL=1`` the test runs ``npm ci`` there itself (about 40 s and
    200 MB once); otherwise it is skipped when the parsers are missing or out of date."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    where = mermaid_install_dir()
    lock = (MERMAID_SRC / "package-lock.json").read_bytes()
    installed = where / "package-lock.json"
    fresh = (where / "node_modules" / "mermaid11").is_dir() and installed.is_file() \
        and installed.read_bytes() == lock
    if not fresh:
        npm = shutil.which("npm")
        if os.environ.get("CAUSAL_MERMAID_INSTALL") != "1" or npm is None:
            pytest.skip(f"Mermaid parsers not installed in {where}: run `npm ci` there with "
                        f"{MERMAID_SRC}/package*.json, or set CAUSAL_MERMAID_INSTALL=1")
        where.mkdir(parents=True, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(MERMAID_SRC / f, where / f)
        try:
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                                  cwd=where, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            pytest.skip("npm ci timed out")
        if proc.returncode != 0:
            pytest.skip(f"npm ci failed (offline?): {proc.stderr[-300:]}")
    shutil.copy(MERMAID_SRC / "check.mjs", where / "check.mjs")
    return where


GOOD = [(n, h) for n in sorted(STUDIES) for h in ("adjustment", "paths", "none")]
BAD = ["flowchart LR\n    a --> end\n", 'flowchart LR\n    a["x" y"]\n']  # the traps we avoid


@pytest.fixture(scope="session")
def mermaid_verdicts(mermaid_dir: Path) -> dict[str, list[str | None]]:
    """One Node process parses every diagram with both versions (loading jsdom and Mermaid
    takes most of the time)."""
    diagrams = [load(n).to_mermaid(highlight=h) for n, h in GOOD] + BAD
    proc = subprocess.run(["node", "check.mjs", "mermaid10", "mermaid11"], cwd=mermaid_dir,
                          input=json.dumps(diagrams), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("version", ["mermaid10", "mermaid11"])
def test_real_mermaid_parsers_accept_our_output(
    mermaid_verdicts: dict[str, list[str | None]], version: str
) -> None:
    verdicts = mermaid_verdicts[version]
    good = dict(zip(GOOD, verdicts[: len(GOOD)], strict=True))
    assert {k: v for k, v in good.items() if v is not None} == {}
    # the check is live: the traps really do fail to parse
    assert all(verdicts[len(GOOD):]), verdicts[len(GOOD):]


# ---------------------------------------------------------------------------------------------
# engines
# ---------------------------------------------------------------------------------------------
def svg_texts(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


@pytest.mark.skipif(not ENGINES, reason="no Graphviz engine installed")
@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
@pytest.mark.parametrize("name", ["heart_drug", "tricky"])
def test_engine_renders_svg_and_png(engine: render.Engine, name: str) -> None:
    study = load(name)
    svg = render.render_bytes(study, "svg", engine=engine)
    texts = svg_texts(svg)
    for v in study.variables:
        assert v.name in texts, v.name
    assert not list(ET.fromstring(svg).iter(f"{SVG_NS}script"))
    png = render.render_bytes(study, "png", engine=engine)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_both_engines_are_found_here() -> None:
    names = [e.name for e in ENGINES]
    assert "graphviz-pure" in names  # a dependency of the package
    here = Path(sys.executable).parent / "graphviz-pure"
    if here.is_file():
        assert next(e for e in ENGINES if e.name == "graphviz-pure").path == here


def fake_engine(tmp_path: Path, body: str, name: str = "fake-dot") -> Path:
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_engine_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_engine(tmp_path, "cat >/dev/null; printf '<svg/>'")
    monkeypatch.setenv(render.ENGINE_ENV, str(fake))
    assert render.find_engine().path == fake
    assert render.render_bytes(load("heart_drug"), "svg", legend=False) == b"<svg/>"
    other = fake_engine(tmp_path, "cat >/dev/null; printf 'explicit'", name="other-dot")
    assert render.find_engine(other).path == other  # an explicit engine beats the variable
    monkeypatch.setenv(render.ENGINE_ENV, str(tmp_path / "missing"))
    with pytest.raises(RenderError) as info:
        render.find_engine()
    assert info.value.diagnostics[0].code == "E602"
    assert render.ENGINE_ENV in info.value.diagnostics[0].message


def test_no_engine_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(render.ENGINE_ENV, raising=False)
    monkeypatch.setattr(render.engines, "_candidates",
                        lambda: [("dot", None), ("graphviz-pure", None)])
    with pytest.raises(RenderError) as info:
        render.find_engine()
    assert info.value.diagnostics[0].code == "E602"
    study = load("heart_drug")
    assert study._repr_svg_() is None and study._repr_html_() is None
    assert "```mermaid" in study._repr_markdown_()  # Jupyter still gets a diagram
    assert study.to_dot()  # text formats need no engine


def test_engine_failure_carries_its_stderr(tmp_path: Path) -> None:
    fake = fake_engine(tmp_path, "cat >/dev/null; echo 'Error: syntax error in line 3' >&2; "
                                 "exit 2")
    with pytest.raises(RenderError) as info:
        render.render_bytes(load("heart_drug"), "svg", engine=fake)
    d = info.value.diagnostics[0]
    assert d.code == "E603" and "exit status 2" in d.message
    assert "Error: syntax error in line 3" in d.notes


def test_engine_timeout(tmp_path: Path) -> None:
    fake = fake_engine(tmp_path, "exec sleep 5")
    with pytest.raises(RenderError) as info:
        render.render_bytes(load("heart_drug"), "png", engine=fake, timeout=0.3)
    assert info.value.diagnostics[0].code == "E604"


@pytest.mark.skipif(not ENGINES, reason="no Graphviz engine installed")
def test_rendering_works_under_python_dash_o(tmp_path: Path) -> None:
    """pydot's own create() returns nothing under -O; we do not use it."""
    out = tmp_path / "dag.svg"
    code = ("import causal_dsl, sys; causal_dsl.load(sys.argv[1]).render(sys.argv[2])")
    subprocess.run([sys.executable, "-O", "-c", code, str(STUDIES["heart_drug"]), str(out)],
                   check=True, cwd=ROOT, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert b"<svg" in out.read_bytes()


# ---------------------------------------------------------------------------------------------
# files, CLI, Jupyter
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext,check", [
    (".dot", lambda b: b.startswith(b"digraph causal {")),
    (".mmd", lambda b: b"flowchart LR" in b),
    pytest.param(".svg", lambda b: b"<svg" in b, marks=pytest.mark.skipif(not ENGINES,
                                                                             reason="no engine")),
    pytest.param(".png", lambda b: b[:4] == b"\x89PNG", marks=pytest.mark.skipif(
        not ENGINES, reason="no engine")),
])
def test_render_file_by_extension(tmp_path: Path, ext: str, check: object) -> None:
    out = load("heart_drug").render(tmp_path / f"dag{ext}")
    assert out == tmp_path / f"dag{ext}" and check(out.read_bytes())  # type: ignore[operator]


def test_render_file_errors(tmp_path: Path) -> None:
    study = load("heart_drug")
    with pytest.raises(RenderError) as info:
        study.render(tmp_path / "dag.txt")
    assert info.value.diagnostics[0].code == "E605"
    with pytest.raises(RenderError) as info:
        study.render(tmp_path / "no" / "such" / "dir" / "dag.dot")
    assert info.value.diagnostics[0].code == "E606"
    assert study.render(tmp_path / "dag.txt", format="dot").read_text().startswith("digraph")


def test_cli_render(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(STUDIES["heart_drug"])
    result = runner.invoke(main, ["render", path, "--format", "dot"])
    assert result.exit_code == 0 and result.stdout.startswith("digraph causal {")
    result = runner.invoke(main, ["render", path, "--format", "mermaid", "--highlight", "paths",
                                  "--query", "linear", "--no-title"])
    assert result.exit_code == 0 and result.stdout.startswith("flowchart LR")
    out = tmp_path / "dag.mmd"
    result = runner.invoke(main, ["render", path, "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("%% Heart drug")
    result = runner.invoke(main, ["render", path, "--query", "nope"])
    assert result.exit_code != 0 and "E223" in result.output
    result = runner.invoke(main, ["render", path, "-o", str(tmp_path / "dag.jpeg")])
    assert result.exit_code == 1 and "E605" in result.output
    result = runner.invoke(main, ["render", path, "--engine", str(tmp_path / "nope"), "-o",
                                  str(tmp_path / "dag.svg")])
    assert result.exit_code == 1 and "E602" in result.output
    result = runner.invoke(main, ["render", str(tmp_path / "missing.causal")])
    assert result.exit_code == 1 and "no such file" in result.output


@pytest.mark.skipif(not ENGINES, reason="no Graphviz engine installed")
def test_cli_render_svg_and_png(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(STUDIES["fastfood"])
    for ext in ("svg", "png"):
        out = tmp_path / f"dag.{ext}"
        result = runner.invoke(main, ["render", path, "-o", str(out), "--engine",
                                      str(ENGINES[-1].path)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 100
    result = runner.invoke(main, ["render", path])  # svg on stdout by default
    assert result.exit_code == 0 and "<svg" in result.stdout


@pytest.mark.skipif(not ENGINES, reason="no Graphviz engine installed")
def test_jupyter_views() -> None:
    study = load("tricky")
    svg = study._repr_svg_()
    assert svg is not None and svg.startswith("<svg") and "<?xml" not in svg
    ET.fromstring(svg)
    page = study._repr_html_()
    assert page is not None and "<svg" in page and "<script" not in page.lower()
    md = study._repr_markdown_()
    assert md.startswith("**Tricky &lt;b&gt;names&lt;/b&gt;")
    assert "```mermaid\n%% Tricky" in md
    # raw user text appears only inside code (the fenced diagram, the indented summary)
    fence = md.split("```")[1]
    for line in md.replace(fence, "").splitlines():
        assert "<script>" not in line or line.startswith("    "), line


def test_markdown_escape() -> None:
    assert markup.markdown_escape("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert markup.markdown_escape("a|b *c* `d` [e](f)") == "a\\|b \\*c\\* \\`d\\` \\[e\\](f)"
    assert markup.markdown_escape("initial_health _x_") == "initial_health \\_x\\_"
    assert markup.markdown_escape("two\nlines") == "two lines"

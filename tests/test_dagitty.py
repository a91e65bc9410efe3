"""DAGitty import and export: published models as fixtures, golden errors, round trips, CLI.

Fixtures in tests/dagitty/: ``NAME.dagitty`` (DAGitty model code of a published DAG from the
examples shipped with dagitty.net) and ``NAME.causal`` (the expected import). Error fixtures in
tests/dagitty/errors/: ``NAME.dagitty`` and ``NAME.txt`` (the rendered diagnostics).
Regenerate the expected files after a deliberate change with ``UPDATE_GOLDEN=1 pytest ...``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl import CausalError, ParseError, RenderError, Study
from causal_dsl.cli import main
from causal_dsl.dagitty import CAUSAL_KEYWORDS, causal_name, from_dagitty, read_dagitty, to_dagitty
from causal_dsl.model import Edge, Query, Variable, VarType

HERE = Path(__file__).resolve().parent
FIXTURES = sorted((HERE / "dagitty").glob("*.dagitty"))
ERRORS = sorted((HERE / "dagitty" / "errors").glob("*.dagitty"))
EXAMPLES = sorted((HERE.parent / "examples").glob("*.causal"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _graph(study: Study) -> tuple[object, ...]:
    """What survives a trip through DAGitty: names, latency, selection, labels, arrows,
    positions, the first query's treatment, outcome and adjustment set (a forced `adjust for`
    comes back as the proposed `adjusting`, which DAGitty's [adjusted] means)."""
    q = study.queries[0] if study.queries else None
    proposed = (q.adjusting if q.adjusting is not None else q.include) if q else None
    return (
        sorted((v.name, v.latent, v.selected, v.label) for v in study.variables),
        sorted((e.source, e.target, e.bidirected) for e in study.edges),
        sorted(study.layout),
        (q.treatment, q.outcome, sorted(proposed or ())) if q else None,
    )


# --- import: published models -------------------------------------------------------------------
def test_fixtures_exist() -> None:
    names = {p.stem for p in FIXTURES}
    assert {"m_bias", "shrier_platt_2008", "thoemmes_2013", "polzer_2012",
            "didelez_2010"} <= names
    assert len(ERRORS) >= 12


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_import_matches_golden(path: Path) -> None:
    out = from_dagitty(path.read_text(encoding="utf-8"), str(path))
    expected = path.with_suffix(".causal")
    if UPDATE:
        expected.write_text(out, encoding="utf-8")
    assert out == expected.read_text(encoding="utf-8")
    # The import is a valid study, every observed variable continuous (DAGitty has no types).
    study = causal_dsl.parse(out)
    assert all(v.type is VarType.CONTINUOUS for v in study.observed)
    assert out.startswith(f"# Imported from DAGitty ({path.name})")


# (fixture, variables, latent, directed, bidirected, queries as "x -> y", adjust for)
EXPECTED_SHAPES = [
    ("m_bias", 3, 0, 1, 2, ["E -> D"], []),
    ("shrier_platt_2008", 13, 0, 19, 0, ["WarmUpExercises -> Injury"], []),
    ("thoemmes_2013", 13, 4, 14, 0, ["x -> y"], ["s2"]),
    ("polzer_2012", 14, 0, 69, 0, ["ToothLoss -> Mortality"], []),
    ("didelez_2010", 7, 0, 11, 0, ["HRT -> TCI"], ["Age"]),
    ("syntax_tour", 7, 1, 7, 1,
     ["smoking status -> lung function", "smoking status -> fev1",
      "exercise -> lung function", "exercise -> fev1"], ["data"]),
]


@pytest.mark.parametrize("row", EXPECTED_SHAPES, ids=lambda r: r[0])
def test_import_structure(row: tuple) -> None:
    name, n_vars, n_latent, n_directed, n_bi, queries, include = row
    study = causal_dsl.parse(from_dagitty((HERE / "dagitty" / f"{name}.dagitty").read_text()))
    assert len(study.variables) == n_vars
    assert len(study.latents) == n_latent
    assert len(study.directed_edges) == n_directed
    assert len(study.bidirected_edges) == n_bi
    assert [f"{q.treatment} -> {q.outcome}" for q in study.queries] == queries
    assert all(sorted(q.adjusting or ()) == include for q in study.queries)
    assert all(q.estimand == "ate" for q in study.queries)


def test_m_bias_keeps_bidirected_edges() -> None:
    study = causal_dsl.parse(from_dagitty((HERE / "dagitty" / "m_bias.dagitty").read_text()))
    assert set(study.bidirected_edges) == {Edge("D", "Z", True), Edge("E", "Z", True)}
    assert study.directed_edges == (Edge("E", "D"),)


def test_syntax_tour_details() -> None:
    out = from_dagitty((HERE / "dagitty" / "syntax_tour.dagitty").read_text())
    study = causal_dsl.parse(out)
    # "a" + "b" concatenation in a label, quoted names, a keyword and a digit-led name
    assert study.variable("smoking status").label == "Smokes daily (self-report)"
    assert "var `data`: continuous" in out and "var `1st_visit`: continuous" in out
    assert study.title == "study_tour"
    # `exercise <- data` is data -> exercise; the repeated arrow is written once
    assert Edge("data", "exercise") in study.edges
    assert out.splitlines().count("`smoking status` -> `lung function`") == 1
    assert study.variable("U").latent  # [unobserved] is DAGitty's synonym for latent
    assert "one query per pair" in out


def test_didelez_selection_node_is_explained() -> None:
    out = from_dagitty((HERE / "dagitty" / "didelez_2010.dagitty").read_text())
    assert "\nselected S" in out
    assert "query effect: ate(HRT -> TCI) adjusting {Age}" in out
    study = causal_dsl.parse(out)
    assert study.selected == {"S"}
    assert study.layout  # DAGitty's pos attributes are kept


@pytest.mark.parametrize(
    ("text", "expected_edges"),
    [
        ("dag { a -> b }", {("a", "b", False)}),
        ("dag name { a <- b }", {("b", "a", False)}),
        ("a -> b -> c", {("a", "b", False), ("b", "c", False)}),
        ("dag { a <-> b }", {("a", "b", True)}),
        ("dag { b <-> a; a <-> b }", {("b", "a", True)}),
        ("dag { a -> {b c} }", {("a", "b", False), ("a", "c", False)}),
        ("dag { a -> {b, c,} }", {("a", "b", False), ("a", "c", False)}),
        ("dag { {a b} -> {c d} }",
         {("a", "c", False), ("a", "d", False), ("b", "c", False), ("b", "d", False)}),
        ("dag { a -> {b -> c} }", {("a", "b", False), ("a", "c", False), ("b", "c", False)}),
        ("dag {\r\n a -> b\r\n}\r\n", {("a", "b", False)}),
        ('dag { "a b" -> "c\\"d" }', {("a b", 'c"d', False)}),
        ('dag { "long \\\nname" -> y }', {("long name", "y", False)}),
        ("DAG { x.1 -> -2 }", {("x.1", "-2", False)}),
        ("strict digraph { a -> b [pos=\"1,2\", beta=0.5] }", {("a", "b", False)}),
        ("dag { a -> b a -> b }", {("a", "b", False)}),
    ],
)
def test_reader_edges(text: str, expected_edges: set[tuple[str, str, bool]]) -> None:
    graph = read_dagitty(text)
    assert {(e.source, e.target, e.bidirected) for e in graph.edges} == expected_edges
    assert len(graph.edges) == len(expected_edges)


def test_reader_attributes_and_synonyms() -> None:
    graph = read_dagitty(
        'dag { x [e] y [o] u [l] v [u] w [a] s [s] t [source] r [target] '
        'q [exposure,pos="0.1,0.2";outcome] p [label="P value"] k [pos="1,2"] }'
    )
    roles = {n.name: n.roles for n in graph.nodes.values()}
    assert roles["x"] == {"exposure"} and roles["t"] == {"exposure"}
    assert roles["y"] == {"outcome"} and roles["r"] == {"outcome"}
    assert roles["u"] == roles["v"] == {"latent"}
    assert roles["w"] == {"adjusted"} and roles["s"] == {"selected"}
    assert roles["q"] == {"exposure", "outcome"}
    assert graph.nodes["p"].label == "P value"
    assert roles["k"] == set()


def test_several_exposures_and_outcomes() -> None:
    out = from_dagitty("dag { a [exposure] b [exposure] y [outcome] z [outcome] "
                       "a -> y b -> z a -> z }")
    study = causal_dsl.parse(out)
    assert [q.name for q in study.queries] == [
        "effect_a_y", "effect_a_z", "effect_b_y", "effect_b_z"]


def test_query_names_stay_unique() -> None:
    out = from_dagitty('dag { "a b" [exposure] a_b [exposure] y [outcome] "a b" -> y a_b -> y }')
    names = [q.name for q in causal_dsl.parse(out).queries]
    assert len(set(names)) == 2


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("dag { x [exposure] x -> y }", "an exposure but no outcome"),
        ("dag { y [outcome] x -> y }", "an outcome but no exposure"),
        ("dag { x [exposure,latent] y [outcome] x -> y }", "x is latent"),
        ("dag { x [exposure,outcome] x -> y }", "both an exposure and an outcome"),
        ("dag { x [exposure] y [outcome] u [adjusted,latent] u -> {x y} x -> y }",
         "it is latent"),
    ],
)
def test_import_explains_what_it_cannot_carry_over(text: str, note: str) -> None:
    out = from_dagitty(text)
    assert note in out
    causal_dsl.parse(out)  # and the result is still a valid study


def test_isolated_and_empty() -> None:
    study = causal_dsl.parse(from_dagitty("dag { lonely }"))
    assert [v.name for v in study.variables] == ["lonely"] and not study.edges
    assert causal_dsl.parse(from_dagitty("dag { }")).variables == ()


def test_keyword_list_matches_grammar() -> None:
    from lark import Lark

    from causal_dsl.syntax import grammar_path

    lark = Lark(grammar_path().read_text(), parser="lalr")
    words = {t.pattern.value for t in lark.terminals
             if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_]+", t.pattern.value)}
    assert words == CAUSAL_KEYWORDS


@pytest.mark.parametrize("word", sorted(CAUSAL_KEYWORDS))
def test_keywords_imported_as_names(word: str) -> None:
    out = from_dagitty(f"dag {{ {word} [exposure] y [outcome] {word} -> y }}")
    study = causal_dsl.parse(out)
    assert study.query().treatment == word
    assert causal_name(word) == f"`{word}`"


# --- import: errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.stem)
def test_import_errors_golden(path: Path) -> None:
    with pytest.raises(ParseError) as info:
        from_dagitty(path.read_text(encoding="utf-8"), path.name)
    rendered = info.value.render() + "\n"
    expected = path.with_suffix(".txt")
    if UPDATE:
        expected.write_text(rendered, encoding="utf-8")
    assert rendered == expected.read_text(encoding="utf-8")
    assert all(re.fullmatch(r"E15[0-4]", d.code) for d in info.value.diagnostics)


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("dag {\n a -- b\n}", "E151", 2, 4),
        ("dag { a @-@ b }", "E151", 1, 9),
        ("mag { a -> b }", "E152", 1, 1),
        ("graph { a -- b }", "E152", 1, 1),
        ("dag { a -> b -> a }", "E153", 1, 7),
        ("dag { a <-> a }", "E153", 1, 7),
        ("dag { graph -> b }", "E154", 1, 7),
        ("dag { a -> b ] }", "E150", 1, 14),
        ("dag { a -> b [exposure }", "E150", 1, 24),
        ("dag { a = }", "E150", 1, 11),
        ("dag { a -> é }", "E150", 1, 12),
        ('dag { "a" + b }', "E150", 1, 13),
        ("dag { a -> b } }", "E150", 1, 16),
        ("dag { a -> b -- c -- d }", "E151", 1, 14),
    ],
)
def test_import_error_positions(text: str, code: str, line: int, column: int) -> None:
    with pytest.raises(ParseError) as info:
        from_dagitty(text, "m.txt")
    first = info.value.diagnostics[0]
    assert first.code == code
    assert first.span is not None and (first.span.line, first.span.column) == (line, column)
    assert first.span.path == "m.txt"
    assert first.help  # every error says what to do


def test_all_undirected_edges_reported_at_once() -> None:
    with pytest.raises(ParseError) as info:
        from_dagitty("dag {\na -- b\nc -> d\ne -- f\n}")
    assert [(d.code, d.span.line) for d in info.value.diagnostics] == [("E151", 2), ("E151", 4)]


# --- export -------------------------------------------------------------------------------------
def test_export_heart_drug() -> None:
    study = causal_dsl.load(HERE.parent / "examples" / "heart_drug.causal")
    out = to_dagitty(study)
    lines = out.splitlines()
    assert lines[0] == "dag {" and lines[-1] == "}"
    assert 'drug [exposure,label="Received the drug"]' in lines
    assert 'severity [outcome,label="Symptom severity at day 30"]' in lines
    assert 'frailty [latent,label="Unmeasured frailty"]' in lines
    assert "drug <-> ward" in lines  # bidirected, stored in name order
    assert "age -> initial_health" in lines
    assert sum("->" in line for line in lines) == len(study.edges)


def test_export_names_and_titles() -> None:
    study = Study(
        title="Smoking",
        variables=(Variable("body mass", VarType.CONTINUOUS, label='the "BMI"'),
                   Variable("x.1", VarType.BINARY), Variable("frailty", latent=True)),
        edges=(Edge("x.1", "body mass"), Edge("frailty", "x.1")),
        queries=(Query("q", "ate", "x.1", "body mass", include=frozenset({"frailty"})),),
    )
    out = to_dagitty(study)
    assert out.startswith("dag Smoking {\n")
    assert '"body mass" [outcome,label="the \\"BMI\\""]' in out
    assert "x.1 [exposure]" in out
    assert 'x.1 -> "body mass"' in out
    back = read_dagitty(out)
    assert back.nodes["body mass"].label == 'the "BMI"'
    assert back.name == "Smoking"
    # A title that is not one word is left out (DAGitty's loader takes only `dag word {`).
    assert to_dagitty(Study(title="Two words")).startswith("dag {\n")


@pytest.mark.parametrize("name", ["graph", "node", "tab\there"])
def test_export_refuses_names_dagitty_cannot_hold(name: str) -> None:
    study = Study(variables=(Variable(name, VarType.BINARY),))
    with pytest.raises(RenderError) as info:
        to_dagitty(study)
    assert info.value.diagnostics[0].code == "E155"


def test_export_flattens_line_breaks_in_labels() -> None:
    study = Study(variables=(Variable("x", VarType.BINARY, label="two\nlines"),))
    assert 'x [label="two lines"]' in to_dagitty(study)


# --- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip(path: Path) -> None:
    study = causal_dsl.load(path)
    back = causal_dsl.parse(from_dagitty(to_dagitty(study)))
    assert _graph(back) == _graph(study)
    # and a second trip changes nothing at all
    assert to_dagitty(back) == to_dagitty(causal_dsl.parse(from_dagitty(to_dagitty(back))))


@pytest.mark.parametrize("path", [p for p in FIXTURES if p.stem != "syntax_tour"],
                         ids=lambda p: p.stem)
def test_fixtures_round_trip(path: Path) -> None:
    # One exposure/outcome pair each: import ∘ export ∘ import is the same model.
    study = causal_dsl.parse(from_dagitty(path.read_text()))
    again = causal_dsl.parse(from_dagitty(to_dagitty(study)))
    assert again.same_as(study)


_NAME_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="`\\"
)
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=8).filter(
    lambda s: s not in ("graph", "node") and s.strip() == s and s != ""
)


@st.composite
def _studies(draw: st.DrawFn) -> Study:
    names = draw(st.lists(_NAMES, min_size=2, max_size=7, unique=True))
    latent = {n for n in names if draw(st.booleans()) and draw(st.booleans())}
    variables = tuple(
        Variable(n, latent=True) if n in latent else
        Variable(n, VarType.CONTINUOUS, label=draw(st.none() | st.text(_NAME_CHARS, max_size=6)))
        for n in names
    )
    edges = []
    for i, a in enumerate(names):  # arrows only forward in the list: always a DAG
        for b in names[i + 1:]:
            kind = draw(st.sampled_from(["none", "none", "->", "<->"]))
            if kind == "->":
                edges.append(Edge(a, b))
            elif kind == "<->":
                edges.append(Edge(*sorted((a, b)), bidirected=True))
    observed = [n for n in names if n not in latent]
    queries: tuple[Query, ...] = ()
    if len(observed) >= 2:
        x, y = observed[0], observed[-1]
        rest = [n for n in observed if n not in (x, y)]
        include = frozenset(draw(st.lists(st.sampled_from(rest), unique=True)) if rest else [])
        queries = (Query("effect", "ate", x, y, include=include),)
    return Study(variables=variables, edges=tuple(edges), queries=queries)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_studies())
def test_random_studies_round_trip(study: Study) -> None:
    text = from_dagitty(to_dagitty(study))
    back = causal_dsl.parse(text)
    # Labels come back without surrounding emptiness: "" means no label in both languages.
    normal = Study(
        variables=tuple(
            Variable(v.name, v.type, v.label or None, latent=v.latent) for v in study.variables
        ),
        edges=study.edges, queries=study.queries,
    )
    assert _graph(back) == _graph(normal)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(
    [*'dag{}[]=,;"\\ \n-><@+ab1.`', "->", "<->", "--", "exposure", "latent", "dag {"]
), max_size=30).map("".join))
def test_import_never_crashes(text: str) -> None:
    # Any input either imports to a valid study or raises ParseError; nothing else escapes.
    try:
        out = from_dagitty(text)
    except ParseError as error:
        assert error.diagnostics and all(d.code.startswith("E15") for d in error.diagnostics)
        return
    causal_dsl.parse(out)


# --- command line ---------------------------------------------------------------------------------
def test_cli_import_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["import", "dagitty", str(HERE / "dagitty" / "m_bias.dagitty")])
    assert result.exit_code == 0, result.output
    assert result.output == (HERE / "dagitty" / "m_bias.causal").read_text()
    study_file = tmp_path / "m.causal"
    study_file.write_text(result.output)
    exported = runner.invoke(main, ["export", "dagitty", str(study_file)])
    assert exported.exit_code == 0, exported.output
    assert 'E [exposure,pos="-2,1"]' in exported.output and "D <-> Z" in exported.output


DAGITTY_FIDELITY = """dag {
H [exposure,pos="0,0"]
T [outcome,pos="1,0"]
A [adjusted,pos="0.5,-1"]
S [selected,pos="1.5,1"]
A -> H
A -> T
H -> T
H -> S
}
"""


def test_selected_adjusted_and_positions_round_trip() -> None:
    """[selected] -> `selected S`, [adjusted] -> `adjusting {A}` (proposed, checked), pos ->
    layout; exporting writes all three back."""
    text = from_dagitty(DAGITTY_FIDELITY)
    assert "selected S" in text and "adjusting {A}" in text and "layout S = (1.5, 1)" in text
    study = causal_dsl.parse(text)
    q = study.queries[0]
    assert q.adjusting == {"A"} and not q.include
    back = to_dagitty(study)
    assert 'S [selected,pos="1.5,1"]' in back and 'A [adjusted,pos="0.5,-1"]' in back
    assert _graph(causal_dsl.parse(from_dagitty(back))) == _graph(study)
    # H -> S with A confounding: DAGitty's criterion finds T connected to S (T <- A -> H -> S)
    ident = study.identify()
    assert not ident.identifiable and not ident.proposed.valid


def test_cli_import_from_stdin() -> None:
    result = CliRunner().invoke(main, ["import", "dagitty", "-"],
                                input="dag { x [exposure] y [outcome] x -> y }")
    assert result.exit_code == 0, result.output
    assert "query effect: ate(x -> y)" in result.output


def test_cli_import_error_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dagitty"
    bad.write_text("dag {\na -- b\n}\n")
    result = CliRunner().invoke(main, ["import", "dagitty", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:3: error[E151]" in result.output
    assert "Traceback" not in result.output


def test_errors_are_causal_errors() -> None:
    with pytest.raises(CausalError):
        from_dagitty("dag { a -- b }")

"""The parser: grammar soundness, parse tables, spans, strings, names, keywords, comments, error
recovery, and text → model round trips (including a hypothesis property over random studies)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

import causal_dsl
from causal_dsl import CausalError, ParseError, Study
from causal_dsl.dagitty import CAUSAL_KEYWORDS, causal_name, causal_string
from causal_dsl.errors import Span
from causal_dsl.model import DataBinding, Edge, Method, Query, Variable, VarType
from causal_dsl.syntax import (
    ArrowStmt,
    CondNode,
    DataStmt,
    FormulaNode,
    Ident,
    LatentStmt,
    LayoutStmt,
    Option,
    QueryStmt,
    SelectedStmt,
    SetClause,
    StudyStmt,
    Term,
    UsingClause,
    Value,
    VarStmt,
    grammar_path,
    parse_syntax,
)

NOWHERE = Span(None, 0, 0, 0, 0)  # spans are not compared: any span will do in expectations


def I(text: str) -> Ident:  # noqa: E743 - short on purpose, used in tables
    return Ident(text, NOWHERE)


def V(kind: str, value: object) -> Value:
    return Value(kind, value, NOWHERE)


def F(op: str, *args: object) -> FormulaNode:
    return FormulaNode(op, args, NOWHERE)  # type: ignore[arg-type]


def T(*names: str, group: bool = False) -> Term:
    return Term(tuple(I(n) for n in names), group, NOWHERE)


# --- the grammar --------------------------------------------------------------------------------
def test_grammar_is_strict_lalr() -> None:
    # strict=True fails on any shift/reduce conflict and on terminals whose regexps collide
    # (checked with interegular), so the grammar is unambiguous as written.
    parser = Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", strict=True)
    assert {"NAME", "QUOTED_NAME", "STRING", "NUMBER", "ARROW"} <= {t.name for t in
                                                                   parser.terminals}


def test_grammar_also_builds_with_the_basic_lexer() -> None:
    Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="basic")


# --- parse tables: text → syntax tree -----------------------------------------------------------
PARSE_TABLE = [
    ('study "Heart"', StudyStmt("Heart", NOWHERE)),
    ('data "d.csv"', DataStmt("d.csv", None, NOWHERE)),
    ('data "d.csv" panel(unit = store, time = "the period",)',
     DataStmt("d.csv", (Option(I("unit"), V("name", "store"), NOWHERE),
                        Option(I("time"), V("string", "the period"), NOWHERE)), NOWHERE)),
    ("var x: binary", VarStmt(I("x"), I("binary"), None, None, None, NOWHERE)),
    ('var x: continuous as "col" "Label"',
     VarStmt(I("x"), I("continuous"), None, "col", "Label", NOWHERE)),
    ('var w: categorical("a", 2, b, 3.5,)',
     VarStmt(I("w"), I("categorical"), (V("string", "a"), V("number", 2), V("name", "b"),
                                        V("number", 3.5)), None, None, NOWHERE)),
    ("var w: ordinal()", VarStmt(I("w"), I("ordinal"), (), None, None, NOWHERE)),
    ('var s: binary(control = "c", treated = 1)',
     VarStmt(I("s"), I("binary"), (V("keyed", (I("control"), V("string", "c"))),
                                   V("keyed", (I("treated"), V("number", 1)))), None, None,
             NOWHERE)),
    ("query q: ate(x -> y) using ols(outcome = a + b^2:c * ns(d, 4) + (e))",
     QueryStmt(I("q"), I("ate"), I("x"), I("y"), (UsingClause(
             I("ols"), (Option(I("outcome"), V("formula", F("+", F("+", F("name", I("a")), F(
                 "*", F(":", F("^", F("name", I("b")), F("number", "2")), F("name", I("c"))),
                 F("call", I("ns"), F("name", I("d")), F("number", "4")))), F("()", F(
                     "name", I("e"))))), NOWHERE),), NOWHERE),), NOWHERE)),
    ("latent u", LatentStmt(I("u"), False, None, NOWHERE)),
    ('latent u invariant "Hidden"', LatentStmt(I("u"), True, "Hidden", NOWHERE)),
    ("latent invariant", LatentStmt(I("invariant"), False, None, NOWHERE)),
    ("a -> b", ArrowStmt((T("a"), T("b")), ("->",), NOWHERE)),
    ("a <- b <-> c -> d",
     ArrowStmt((T("a"), T("b"), T("c"), T("d")), ("<-", "<->", "->"), NOWHERE)),
    ("{a, b,} -> {c}",
     ArrowStmt((T("a", "b", group=True), T("c", group=True)), ("->",), NOWHERE)),
    ("`a b` -> `data`", ArrowStmt((T("a b"), T("data")), ("->",), NOWHERE)),
    ("query q: ate(x -> y)", QueryStmt(I("q"), I("ate"), I("x"), I("y"), (), NOWHERE)),
    ("query q: att(x -> y) using ols",
     QueryStmt(I("q"), I("att"), I("x"), I("y"), (UsingClause(I("ols"), None, NOWHERE),),
               NOWHERE)),
    ("query q: atc(x -> y) never adjust for {} adjusting {a,} adjust for {b, c}"
     " using m(k = 2, f = 0.5, s = \"x\", n = v, set = {a, b}, b = true, e = 1e-3, neg = -1)",
     QueryStmt(I("q"), I("atc"), I("x"), I("y"), (
         SetClause("never_adjust_for", (), NOWHERE),
         SetClause("adjusting", (I("a"),), NOWHERE),
         SetClause("adjust_for", (I("b"), I("c")), NOWHERE),
         UsingClause(I("m"), (
             Option(I("k"), V("number", 2), NOWHERE),
             Option(I("f"), V("number", 0.5), NOWHERE),
             Option(I("s"), V("string", "x"), NOWHERE),
             Option(I("n"), V("name", "v"), NOWHERE),
             Option(I("set"), V("set", (I("a"), I("b"))), NOWHERE),
             Option(I("b"), V("name", "true"), NOWHERE),
             Option(I("e"), V("number", 0.001), NOWHERE),
             Option(I("neg"), V("number", -1), NOWHERE),
         ), NOWHERE),
     ), NOWHERE)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE, ids=[t for t, _ in PARSE_TABLE])
def test_parse_table(text: str, expected: object) -> None:
    (statement,) = parse_syntax(text + "\n").statements
    assert statement == expected
    # The same line without a final newline, indented, with a comment, parses the same.
    (again,) = parse_syntax("   " + text + "   # note").statements
    assert again == expected


def test_number_types() -> None:
    (stmt,) = parse_syntax("var w: ordinal(1, 1.0, .5, 2e2, +3)").statements
    assert isinstance(stmt, VarStmt) and stmt.levels is not None
    values = [v.value for v in stmt.levels]
    assert values == [1, 1.0, 0.5, 200.0, 3]
    assert [type(v) for v in values] == [int, float, float, float, int]


def test_statement_order_is_kept() -> None:
    tree = parse_syntax('query q: ate(a -> b)\nvar a: binary\nstudy "s"\n\n\na -> b\n')
    kinds = [type(s).__name__ for s in tree.statements]
    assert kinds == ["QueryStmt", "VarStmt", "StudyStmt", "ArrowStmt"]


def test_many_lines_of_one_shape_keep_their_own_values() -> None:
    # The parser caches one template per line shape: values must never leak between lines.
    lines = [f'var v{i}: {("binary", "count")[i % 2]} as "c{i}" "label {i}"' for i in range(50)]
    lines += [f"v{i} -> v{i + 1}" for i in range(49)]
    tree = parse_syntax("\n".join(lines))
    decls = [s for s in tree.statements if isinstance(s, VarStmt)]
    assert [d.name.text for d in decls] == [f"v{i}" for i in range(50)]
    assert [d.column for d in decls] == [f"c{i}" for i in range(50)]
    assert decls[7].type_name.text == "count" and decls[8].type_name.text == "binary"
    arrows = [s for s in tree.statements if isinstance(s, ArrowStmt)]
    assert [(a.terms[0].names[0].text, a.terms[1].names[0].text) for a in arrows][-1] == (
        "v48", "v49")
    assert arrows[10].terms[0].names[0].span.line == 61


def test_keyword_in_one_shape_and_name_in_another() -> None:
    # `invariant` is a keyword after a latent's name but a name right after `latent`.
    tree = parse_syntax("latent invariant\nlatent u invariant\nlatent invariant invariant\n")
    assert [(s.name.text, s.invariant) for s in tree.statements] == [  # type: ignore[union-attr]
        ("invariant", False), ("u", True), ("invariant", True)]


# --- text → model ---------------------------------------------------------------------------------
HEART = '''study "Heart drug"
data "heart.csv"
var drug: binary "Received the drug"
var severity: continuous
var ward: categorical("a", "b") as "ward_code"
latent frailty invariant
frailty -> {drug, severity}
drug -> severity <- ward
ward <-> drug
query main: ate(drug -> severity)
query m2: att(drug -> severity) adjusting {ward} never adjust for {frailty} using matching(k = 2)
'''


def test_text_to_model() -> None:
    expected = Study(
        title="Heart drug",
        data=DataBinding("heart.csv", None),
        variables=(
            Variable("drug", VarType.BINARY, "Received the drug"),
            Variable("severity", VarType.CONTINUOUS),
            Variable("ward", VarType.CATEGORICAL, column="ward_code", levels=("a", "b")),
            Variable("frailty", latent=True, invariant=True),
        ),
        edges=(
            Edge("frailty", "drug"), Edge("frailty", "severity"), Edge("drug", "severity"),
            Edge("ward", "severity"), Edge("drug", "ward", bidirected=True),
        ),
        queries=(
            Query("main", "ate", "drug", "severity"),
            Query("m2", "att", "drug", "severity", adjusting=frozenset({"ward"}),
                  exclude=frozenset({"frailty"}), method=Method("matching", (("k", 2),))),
        ),
    )
    assert causal_dsl.parse(HEART) == expected


def test_layout_and_order_do_not_change_the_model() -> None:
    shuffled = '''# the same study, written differently
query m2: att(drug -> severity) using matching(k = 2) never adjust for {frailty} adjusting {ward}
drug <-> ward
severity <- {frailty, ward, drug}
   frailty -> drug
latent frailty invariant
var ward: categorical("a", "b",) as "ward_code"
var severity: continuous
var drug: binary "Received the drug"    # label
query main: ate(drug -> severity)
data "heart.csv"
study "Heart drug"
'''
    assert causal_dsl.parse(shuffled).same_as(causal_dsl.parse(HEART))
    assert not causal_dsl.parse(HEART.replace("k = 2", "k = 3")).same_as(causal_dsl.parse(HEART))


def test_bidirected_edges_are_stored_in_name_order() -> None:
    study = causal_dsl.parse("var b: binary\nvar a: binary\nb <-> a\n")
    assert study.edges == (Edge("a", "b", bidirected=True),)


# --- spans ----------------------------------------------------------------------------------------
SPANNED = '''study "T"   # c1
data "f.csv" panel(unit = store, time = period)
var `age (y)`: continuous as "age" "Age"
a -> {b, c} <- d <-> e
query q: att(x -> y) adjusting {a} using matching(k = 2)
'''


def test_spans() -> None:
    tree = parse_syntax(SPANNED, "s.causal")
    study, data, var, arrows, query = tree.statements
    # A statement's span is its whole line, keyword included, comment excluded.
    assert isinstance(study, StudyStmt) and study.span == Span("s.causal", 1, 1, 1, 10)
    assert data.span == Span("s.causal", 2, 1, 2, 48)
    assert isinstance(data, DataStmt) and data.source_span == Span("s.causal", 2, 6, 2, 13)
    assert data.panel is not None
    assert data.panel[1].value.span == Span("s.causal", 2, 41, 2, 47)  # period
    assert isinstance(var, VarStmt)
    assert var.name.span == Span("s.causal", 3, 5, 3, 14)  # backquotes included
    assert var.name.quoted and var.name.text == "age (y)"
    assert var.type_name.span == Span("s.causal", 3, 16, 3, 26)
    assert var.span == Span("s.causal", 3, 1, 3, 41)  # through the label
    assert isinstance(arrows, ArrowStmt)
    assert arrows.op_spans == (Span("s.causal", 4, 3, 4, 5), Span("s.causal", 4, 13, 4, 15),
                               Span("s.causal", 4, 18, 4, 21))
    assert arrows.terms[1].span == Span("s.causal", 4, 6, 4, 12)  # {b, c} with its braces
    assert arrows.terms[1].names[1].span == Span("s.causal", 4, 10, 4, 11)
    assert arrows.span == Span("s.causal", 4, 1, 4, 23)
    assert isinstance(query, QueryStmt)
    assert query.estimand.span == Span("s.causal", 5, 10, 5, 13)
    assert query.treatment.span == Span("s.causal", 5, 14, 5, 15)
    assert query.outcome.span == Span("s.causal", 5, 19, 5, 20)
    using = query.clauses[1]
    assert isinstance(using, UsingClause) and using.options is not None
    assert using.options[0].span == Span("s.causal", 5, 51, 5, 56)  # k = 2
    assert query.span == Span("s.causal", 5, 1, 5, 57)


def test_model_spans_point_into_the_text() -> None:
    study = causal_dsl.parse(HEART, "h.causal", check_files=False)
    lines = HEART.splitlines()
    for v in study.variables:
        assert v.span is not None
        assert lines[v.span.line - 1][v.span.column - 1 : v.span.end_column - 1] == v.name
    for q in study.queries:
        assert q.span is not None
        assert lines[q.span.line - 1][q.span.column - 1:].startswith(f"query {q.name}:")
    edge = next(e for e in study.edges if e.bidirected)
    assert edge.span is not None and edge.span.line == 9


def test_spans_with_tabs_and_crlf() -> None:
    tree = parse_syntax("var x: binary\r\n\tx -> y\r\n", "t")
    arrow = tree.statements[1]
    assert isinstance(arrow, ArrowStmt)
    assert arrow.span.line == 2 and arrow.terms[0].span.column == 2


# --- strings --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"plain"', "plain"),
        (r'""', ""),
        (r'"a \"quote\""', 'a "quote"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"line\nbreak\ttab\rcr"', "line\nbreak\ttab\rcr"),
        (r'"slash\/"', "slash/"),
        (r'"\u00e9t\u00C9"', "étÉ"),
        (r'"kept \q \u12"', "kept \\q \\u12"),
        (r'"C:\data\x.csv"', "C:\\data\\x.csv"),
        ('"# not a comment"', "# not a comment"),
        ('"unicode ✓ ünïcödé"', "unicode ✓ ünïcödé"),
        (r'"ends with \\"', "ends with \\"),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    study = causal_dsl.parse(f"study {literal}\nvar x: binary {literal}\n")
    assert study.title == value
    assert study.variable("x").label == value


def test_string_round_trip_through_the_writer() -> None:
    for value in ['a"b', "a\\b", "tab\there", "nl\nx", "\\u00e9 literally", "é", ""]:
        assert causal_dsl.parse(f"study {causal_string(value)}\n").title == value


# --- names and keywords -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["age", "_x", "x.y.z", "v2", "age (years)", "2nd", "a-b", "with space", "ünï",
             "a#b", 'q"uote', "x -> y", "{x}"],
)
def test_any_name_can_be_written(name: str) -> None:
    written = causal_name(name)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) is not None
    assert written == (name if plain else f"`{name}`")
    text = (f"var {written}: binary\nvar y: binary\n{written} -> y\n"
            f"query {written}: ate({written} -> y) adjust for {{}}\n")
    study = causal_dsl.parse(text)
    assert study.variables[0].name == name
    assert study.edges == (Edge(name, "y"),)
    assert study.queries[0].name == name


def test_quoted_and_plain_are_the_same_name() -> None:
    study = causal_dsl.parse("var `age`: continuous\nvar y: binary\nage -> `y`\n")
    assert study.edges == (Edge("age", "y"),)


@pytest.mark.parametrize("word", sorted(CAUSAL_KEYWORDS))
def test_keywords_as_backquoted_names(word: str) -> None:
    q = f"`{word}`"
    text = (f"var {q}: binary\nvar y: binary\nvar z: binary\n{q} -> y\nz -> {q}\n"
            f"query {q}: ate({q} -> y) adjust for {{z}} never adjust for {{}}\n"
            f"query q2: ate(z -> y) adjusting {{{q}}} using matching(exact = {{{q}}})\n")
    study = causal_dsl.parse(text)
    assert {e.source for e in study.edges} == {word, "z"}
    assert study.query(word).treatment == word
    assert study.query("q2").adjusting == frozenset({word})


@pytest.mark.parametrize("word", ["study", "data", "var", "latent", "query"])
def test_statement_keywords_need_backquotes_at_line_start(word: str) -> None:
    with pytest.raises(ParseError) as info:
        causal_dsl.parse(f"var `{word}`: binary\nvar y: binary\n{word} -> y\n")
    (d,) = info.value.diagnostics
    assert d.code == "E104" and d.span is not None and d.span.line == 3
    assert f"`{word}`" in (d.help or "")


@pytest.mark.parametrize("word", ["as", "for", "never", "using", "adjust", "invariant", "panel"])
def test_other_keywords_are_names_where_no_keyword_fits(word: str) -> None:
    study = causal_dsl.parse(f"var {word}: binary\nvar y: binary\n{word} -> y\n")
    assert study.edges == (Edge(word, "y"),)


# --- comments -------------------------------------------------------------------------------------
def test_comments_are_collected_with_spans() -> None:
    text = '# header\nvar x: binary "has # inside"  # trailing\n\n   # indented\n# last'
    tree = parse_syntax(text, "c")
    assert [c.text for c in tree.comments] == ["# header", "# trailing", "# indented", "# last"]
    assert [(c.span.line, c.span.column) for c in tree.comments] == [(1, 1), (2, 31), (4, 4),
                                                                   (5, 1)]
    assert tree.comments[1].span.end_column == 41
    (var,) = tree.statements
    assert isinstance(var, VarStmt) and var.label == "has # inside"


def test_only_comments_and_blank_lines() -> None:
    tree = parse_syntax("# one\n\n\n# two\n")
    assert tree.statements == () and len(tree.comments) == 2
    assert causal_dsl.parse("").variables == ()
    assert causal_dsl.parse("\n\n   \n").variables == ()


# --- errors and recovery -------------------------------------------------------------------------
def test_every_broken_line_is_reported() -> None:
    text = "var x binary\nvar y: binary\nx => y\nvar z: binary;\nquery q ate(x -> y)\nx -> y\n"
    with pytest.raises(ParseError) as info:
        parse_syntax(text, "r")
    assert [(d.code, d.span.line) for d in info.value.diagnostics if d.span] == [
        ("E104", 1), ("E104", 3), ("E101", 4), ("E104", 5)]


def test_two_errors_on_one_line_report_the_first() -> None:
    with pytest.raises(ParseError) as info:
        parse_syntax("x => y => z\n")
    assert len(info.value.diagnostics) == 1


def test_syntax_errors_do_not_hide_model_errors() -> None:
    # issue 15: the lines that parse are checked too, and every problem comes in one run, in
    # the order of the file (a ParseError, since the file does not parse)
    with pytest.raises(ParseError) as info:
        causal_dsl.parse("a -> b\nvar c binary\nc -> a\n")
    codes = [(d.code, d.span.line if d.span else None) for d in info.value.diagnostics]
    # `c` is written on the broken line, so it may be declared there: no E201 for it
    assert codes == [("E201", 1), ("E201", 1), ("E104", 2), ("E201", 3)]


def test_parse_rejects_bytes() -> None:
    with pytest.raises(TypeError):
        parse_syntax(b"var x: binary")  # type: ignore[arg-type]


# --- round trip: random studies → text → the same model ------------------------------------------
_PLAIN = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
_ODD = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"),
                             exclude_characters="`"), min_size=1, max_size=6)
_NAMES = st.one_of(_PLAIN, _ODD, st.sampled_from(sorted(CAUSAL_KEYWORDS)))
# C0 controls other than tab, newline and CR are refused (E224, issue 17): labels and levels
# may hold any other character
_C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=_C0)
_LABELS = st.none() | st.text(_TEXT, max_size=10)


@st.composite
def _study_text(draw: st.DrawFn) -> tuple[str, Study]:
    names = draw(st.lists(_NAMES, min_size=2, max_size=6, unique=True))
    variables = []
    lines = []
    for i, name in enumerate(names):
        label = draw(_LABELS)
        shown_label = f" {causal_string(label)}" if label is not None else ""
        if i > 1 and draw(st.booleans()):
            invariant = draw(st.booleans())
            variables.append(Variable(name, label=label, latent=True, invariant=invariant))
            lines.append(f"latent {causal_name(name)}{' invariant' if invariant else ''}"
                         f"{shown_label}")
        else:
            vtype = draw(st.sampled_from(list(VarType)))
            levels: tuple[str, ...] = ()
            shown_levels = ""
            if vtype in (VarType.CATEGORICAL, VarType.ORDINAL) and draw(st.booleans()):
                levels = tuple(draw(st.lists(st.text(_TEXT, max_size=3), max_size=3,
                                             unique=True)))
                shown_levels = "(" + ", ".join(causal_string(v) for v in levels) + ")"
            column = f"col{i}" if draw(st.booleans()) else None
            shown_column = f' as "{column}"' if column else ""
            variables.append(Variable(name, vtype, label, column, levels))
            lines.append(f"var {causal_name(name)}: {vtype.value}{shown_levels}{shown_column}"
                         f"{shown_label}")
    edges = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            op = draw(st.sampled_from(["", "", "->", "<-", "<->"]))
            if not op:
                continue
            lines.append(f"{causal_name(a) if op != '<-' else causal_name(b)} {op} "
                         f"{causal_name(b) if op != '<-' else causal_name(a)}")
            edges.append(Edge(*sorted((a, b)), bidirected=True) if op == "<->" else Edge(a, b))
    observed = [v.name for v in variables if not v.latent]
    queries = []
    if draw(st.booleans()):
        x, y = observed[0], observed[1]
        queries.append(Query("q", draw(st.sampled_from(["ate", "att", "atc"])), x, y))
        lines.append(f"query q: {queries[0].estimand}({causal_name(x)} -> {causal_name(y)})")
    order = draw(st.permutations(lines))
    return "\n".join(order) + "\n", Study(variables=tuple(variables), edges=tuple(edges),
                                          queries=tuple(queries))


@settings(max_examples=80, deadline=None)
@given(_study_text())
def test_random_studies_parse_to_their_model(case: tuple[str, Study]) -> None:
    text, expected = case
    try:
        study = causal_dsl.parse(text)
    except CausalError as error:  # pragma: no cover - shows the text on failure
        pytest.fail(f"{error}\n---\n{text}")
    assert study.same_as(expected), text


# --- issue 12, phase 2: weights, derived treatments, selection, layout --------------------------
def test_weights_clause() -> None:
    (stmt,) = parse_syntax('data "f.csv" panel(unit = u, time = t) weights(popwt, '
                           'kind = "analytic")\n').statements
    assert isinstance(stmt, DataStmt) and stmt.panel is not None and stmt.weights is not None
    assert stmt.weights.column.text == "popwt"
    assert [(o.key.text, o.value.value) for o in stmt.weights.options] == [("kind", "analytic")]


@pytest.mark.parametrize(("text", "shape"), [
    ("a >= 1", (">=",)),
    ("a >= 1 and b == \"x\" or not c < 2", ("or", ("and", (">=",), ("==",)), ("not", ("<",)))),
    ("(a != 1 or b > 2) and c <= 3", ("and", ("()", ("or", ("!=",), (">",))), ("<=",))),
    ("not not a == b", ("not", ("not", ("==",)))),
])
def test_condition_precedence(text: str, shape: tuple) -> None:
    (stmt,) = parse_syntax(f"var d: binary when {text} \"label\"\n").statements
    assert stmt.label == "label" and stmt.derivation is not None

    def tree(node: CondNode) -> tuple:
        kids = [a for a in node.args if isinstance(a, CondNode)]
        return (node.op, *(tree(k) for k in kids))

    assert stmt.derivation.condition is not None
    assert tree(stmt.derivation.condition) == shape


def test_first_treated_selected_and_layout() -> None:
    tree = parse_syntax('var d: binary from first_treated = `first year`\n'
                        'selected s "In hospital"\nlayout `x y` = (-0.5, 1e2)\n')
    d, s, lay = tree.statements
    assert d.derivation.key.text == "first_treated" and d.derivation.value.value == "first year"
    assert isinstance(s, SelectedStmt) and s.label == "In hospital"
    assert isinstance(lay, LayoutStmt) and (lay.name.text, lay.x, lay.y) == ("x y", -0.5, 100.0)
    assert lay.written == ("-0.5", "1e2")


@pytest.mark.parametrize("text", [
    "var d: binary when\n", "var d: binary when a\n", "var d: binary when a = 1\n",
    "layout x = (1)\n", "selected\n", 'data "f.csv" weights()\n',
    "var d: binary when a < b(1)\n",
])
def test_new_constructs_refuse_malformed_lines(text: str) -> None:
    with pytest.raises(ParseError):
        parse_syntax(text)


def test_new_keywords_are_names_elsewhere() -> None:
    study = causal_dsl.parse("var weights: binary\nvar when: continuous\nweights -> `when`\n"
                             "query q: ate(weights -> `when`)\n")
    assert [v.name for v in study.variables] == ["weights", "when"]

"""The language server end to end: a real LSP client (pytest-lsp) talks to `causal lsp` over
stdio, as an editor would. Every feature is checked on what the server answers, against what
the project's own stages say (the formatter, the identification, the diagnostics' codes)."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

import causal_dsl  # noqa: E402
from causal_dsl.fmt import format_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ASYNC = pytest.mark.asyncio(loop_scope="module")  # one server for the whole module

STUDY = """\
study "LSP test"
var drug: binary "Received the drug"
var severity: continuous as "sev" "Severity"
var age: continuous "Age"
latent frailty "Frailty"
# drug is given to the old: age -> drug
age -> drug -> severity
age -> severity
frailty -> {age, severity}
query main: ate(drug -> severity)
"""


@pytest_lsp.fixture(
    loop_scope="module",
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "causal_dsl.cli", "lsp"]),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(),
        initialization_options={"debounce": 0.05},
    ))
    yield
    await lsp_client.shutdown_session()


_counter = iter(range(10_000))


async def open_doc(client: LanguageClient, text: str, path: Path | None = None) -> str:
    """Open a buffer and wait until the server has published its diagnostics."""
    uri = path.as_uri() if path else f"untitled:test{next(_counter)}.causal"
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="causal", version=1, text=text)))
    await wait_diagnostics(client, uri)
    return uri


async def wait_diagnostics(client: LanguageClient, uri: str) -> list[lsp.Diagnostic]:
    for _ in range(400):
        if uri in client.diagnostics:
            return list(client.diagnostics[uri])
        await asyncio.sleep(0.025)
    raise AssertionError(f"no diagnostics published for {uri}")


async def change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def at(text: str, needle: str, nth: int = 0, offset: int = 1) -> lsp.Position:
    """The position `offset` characters into the `nth` occurrence of `needle`."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start)
    column = start - (text.rfind("\n", 0, start) + 1)
    return lsp.Position(line, column + offset)


def apply(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply non-overlapping edits (last first) to `text`."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        a = offsets[e.range.start.line] + e.range.start.character
        b = offsets[e.range.end.line] + e.range.end.character
        text = text[:a] + e.new_text + text[b:]
    return text


# --- diagnostics --------------------------------------------------------------------------------
@ASYNC
async def test_valid_study_has_no_errors(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    errors = [d for d in client.diagnostics[uri]
              if d.severity == lsp.DiagnosticSeverity.Error]
    assert errors == []


@ASYNC
async def test_model_error_has_code_help_and_range(client: LanguageClient):
    text = STUDY.replace("age -> severity", "age -> severty")
    uri = await open_doc(client, text)
    [d] = [d for d in client.diagnostics[uri] if d.code == "E201"]
    assert d.severity == lsp.DiagnosticSeverity.Error
    assert d.source == "causal"
    assert "unknown variable 'severty'" in d.message
    assert "help: did you mean 'severity'?" in d.message
    start = at(text, "severty", offset=0)
    assert d.range == lsp.Range(start, lsp.Position(start.line, start.character + 7))


@ASYNC
async def test_parse_errors_on_every_broken_line(client: LanguageClient):
    text = STUDY.replace("var age: continuous", "var age continuous").replace(
        "query main: ate(", "query main: ate(drug ->")
    uri = await open_doc(client, text)
    lines = sorted(d.range.start.line for d in client.diagnostics[uri])
    assert lines == [3, 9]
    assert all(str(d.code).startswith("E1") for d in client.diagnostics[uri])


@ASYNC
async def test_lint_warnings_are_warnings(client: LanguageClient):
    uri = await open_doc(client, STUDY + "var lonely: count\n")
    [d] = [d for d in client.diagnostics[uri] if d.code == "L101"]
    assert d.severity == lsp.DiagnosticSeverity.Warning
    assert d.range.start.line == STUDY.count("\n")


@ASYNC
async def test_graph_errors_are_reported(client: LanguageClient):
    # `adjust for` a descendant of the treatment: resolve accepts it, identification does not.
    text = STUDY.replace("query main: ate(drug -> severity)",
                         "query main: ate(drug -> age) adjust for {severity}")
    text = text.replace("age -> drug -> severity", "drug -> age\ndrug -> severity")
    uri = await open_doc(client, text)
    # Graph errors come in the second publication, after identification.
    for _ in range(400):
        codes = {str(d.code) for d in client.diagnostics.get(uri, [])}
        if any(c.startswith("E3") for c in codes):
            break
        await asyncio.sleep(0.025)
    assert any(c.startswith("E3") for c in codes), codes
    [d] = [d for d in client.diagnostics[uri] if str(d.code).startswith("E3")]
    assert d.severity == lsp.DiagnosticSeverity.Error and "help: " in d.message


@ASYNC
async def test_changes_are_debounced_and_the_last_one_wins(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    for version, typo in enumerate(["sev", "seve", "sever", "severt"], start=2):
        await change(client, uri, STUDY.replace("age -> severity", f"age -> {typo}"), version)
    params = await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    while params.uri != uri:
        params = await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert params.version == 5
    assert ["unknown variable 'severt'" in d.message for d in params.diagnostics
            if d.code == "E201"] == [True]


@ASYNC
async def test_data_checks_run_on_save(client: LanguageClient, tmp_path: Path):
    study = tmp_path / "s.causal"
    (tmp_path / "d.csv").write_text("drug,sev,age\n1,2.0,30\n0,1.5,40\nmaybe,1.0,50\n")
    text = 'data "d.csv"\n' + STUDY
    study.write_text(text)
    uri = await open_doc(client, text, study)
    codes = {str(d.code) for d in client.diagnostics[uri]}
    assert "E405" in codes  # binary column `drug` has a third value
    (tmp_path / "d.csv").write_text("drug,sev,age\n1,2.0,30\n0,1.5,40\n")
    client.diagnostics.pop(uri)
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(
        lsp.TextDocumentIdentifier(uri)))
    codes = {str(d.code) for d in await wait_diagnostics(client, uri)}
    assert not any(c.startswith("E4") for c in codes), codes


# --- hover, navigation, rename --------------------------------------------------------------------
@ASYNC
async def test_hover_on_a_variable(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), at(STUDY, "age ->", 1)))
    assert hover is not None
    text = hover.contents.value
    assert "**age** · `continuous` · observed" in text
    assert "Age" in text and "data column: `age`" in text
    assert "parents: `frailty`" in text and "children: `drug`, `severity`" in text
    recommended = causal_dsl.parse(STUDY).identify("main").adjustment_set
    assert recommended is not None and "age" in recommended
    assert "`main`: in the recommended adjustment set" in text


@ASYNC
async def test_hover_on_treatment_and_column(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), at(STUDY, "severity)", 0)))
    assert hover is not None
    assert "data column: `sev`" in hover.contents.value
    assert "`main`: outcome" in hover.contents.value


@ASYNC
async def test_hover_shows_mediators_and_colliders(client: LanguageClient):
    text = ('var t: binary\nvar m: continuous\nvar y: continuous\nvar c: continuous\n'
            'var a: continuous\nvar b: continuous\n'
            't -> m -> y\na -> t\nb -> y\na -> c\nb -> c\nquery q: ate(t -> y) adjusting {c}\n')
    uri = await open_doc(client, text)
    hover_m = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), at(text, "m -> y")))
    assert hover_m is not None and "`q`: mediator" in hover_m.contents.value
    hover_c = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), at(text, "c", 2, 0)))
    assert hover_c is not None
    assert "collider on `t <- a -> c <- b -> y`" in hover_c.contents.value
    assert "in the proposed `adjusting` set" in hover_c.contents.value


@ASYNC
async def test_hover_on_a_query_shows_the_verdict(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), at(STUDY, "main")))
    assert hover is not None
    assert "**query main** · ate(drug -> severity)" in hover.contents.value
    assert "Average treatment effect (over everyone)" in hover.contents.value
    assert "**identifiable**" in hover.contents.value


@ASYNC
async def test_hover_keeps_working_on_a_broken_file(client: LanguageClient):
    text = STUDY + "query broken: ate(drug ->\n"
    uri = await open_doc(client, text)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), at(text, "drug ->", 0)))
    assert hover is not None and "**drug** · `binary`" in hover.contents.value


@ASYNC
async def test_definition_and_references(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    where = at(STUDY, "drug", 4)  # in the arrow line
    found = await client.text_document_definition_async(lsp.DefinitionParams(
        lsp.TextDocumentIdentifier(uri), where))
    assert isinstance(found, lsp.Location)
    assert found.range.start == at(STUDY, "drug", 0, 0)  # `var drug`, not the comment
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(uri), position=where,
        context=lsp.ReferenceContext(include_declaration=True)))
    assert refs is not None
    # declaration, the arrow, the query; the two in the comment are not references
    assert sorted(r.range.start.line for r in refs) == [1, 6, 9]


@ASYNC
async def test_rename_touches_every_use_and_no_comment(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    edit = await client.text_document_rename_async(lsp.RenameParams(
        lsp.TextDocumentIdentifier(uri), at(STUDY, "age", 2), "age_years"))
    assert edit is not None and edit.changes is not None
    renamed = apply(STUDY, list(edit.changes[uri]))
    assert "# drug is given to the old: age -> drug" in renamed
    assert renamed.count("age_years") == 4
    before, after = causal_dsl.parse(STUDY), causal_dsl.parse(renamed)
    assert sorted(v.name for v in after.variables) == sorted(
        "age_years" if v.name == "age" else v.name for v in before.variables)
    assert len(after.edges) == len(before.edges)


@ASYNC
async def test_rename_to_a_keyword_backquotes_it(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    edit = await client.text_document_rename_async(lsp.RenameParams(
        lsp.TextDocumentIdentifier(uri), at(STUDY, "age", 2), "data"))
    assert edit is not None and edit.changes is not None
    renamed = apply(STUDY, list(edit.changes[uri]))
    assert "var `data`: continuous" in renamed
    assert "data" in {v.name for v in causal_dsl.parse(renamed).variables}


@ASYNC
async def test_rename_of_a_query(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    edit = await client.text_document_rename_async(lsp.RenameParams(
        lsp.TextDocumentIdentifier(uri), at(STUDY, "main"), "effect"))
    assert edit is not None and edit.changes is not None
    assert [q.name for q in causal_dsl.parse(apply(STUDY, list(edit.changes[uri]))).queries] \
        == ["effect"]


@ASYNC
async def test_rename_to_an_invalid_name_is_refused(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    with pytest.raises(Exception, match="is not a name"):
        await client.text_document_rename_async(lsp.RenameParams(
            lsp.TextDocumentIdentifier(uri), at(STUDY, "age", 2), "two words"))


# --- completion ---------------------------------------------------------------------------------
async def complete(client: LanguageClient, text: str) -> dict[str, lsp.CompletionItem]:
    """Complete at the end of `text`'s last line."""
    uri = await open_doc(client, text)
    lines = text.split("\n")
    result = await client.text_document_completion_async(lsp.CompletionParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(len(lines) - 1, len(lines[-1]))))
    assert isinstance(result, lsp.CompletionList)
    return {i.label: i for i in result.items}


@pytest.mark.parametrize(("tail", "expected", "absent"), [
    ("", {"var", "latent", "query", "study", "data", "drug", "age"}, {"ate"}),
    ("var weight: ", {"binary", "continuous", "count", "categorical", "ordinal"}, {"drug"}),
    ("query q2: ", {"ate", "att", "atc"}, {"binary"}),
    ("age -> ", {"drug", "severity", "frailty"}, {"var"}),
    ("query q2: ate(drug -> severity) ", {"adjusting", "adjust for", "never adjust for",
                                          "using"}, {"drug"}),
    ("query q2: ate(drug -> severity) adjusting {", {"age", "drug"}, {"using"}),
    ("query q2: ate(drug -> severity) using ", {"auto", "ols", "matching"}, {"drug"}),
    ('data "x.csv" panel(', {"unit", "time"}, {"drug"}),
    ('var x: binary "a label ', set(), {"drug", "var"}),
    ("age -> drug  # a comment ", set(), {"drug", "var"}),
    # the statements and clauses added with the language's growth
    ("", {"selected", "layout"}, set()),
    ("data ", {"duckdb", "spark"}, {"drug", "var"}),
    ('data duckdb("w.duckdb", ', {"table"}, {"drug"}),
    ('data "x.csv" ', {"panel", "weights"}, {"drug"}),
    ('data "x.csv" panel(unit = u, time = t) ', {"weights"}, {"panel"}),
    ('data "x.csv" weights(', {"age", "drug"}, {"frailty", "kind"}),
    ('data "x.csv" weights(w, ', {"kind"}, {"drug"}),
    ('data "x.csv" weights(w, kind = ', {"analytic", "frequency", "survey"}, {"drug"}),
    ('data "x.csv" weights(w, kind = "fr', {"analytic", "frequency", "survey"}, {"drug"}),
    ("var d: binary ", {"as", "from", "when"}, {"drug"}),
    ("var d: continuous ", {"as"}, {"from", "when"}),
    ('var d: binary("F", "M") ', {"as"}, {"from", "when"}),
    ("var d: binary(", {"control", "treated"}, {"drug"}),
    ("var d: binary from ", {"first_treated"}, {"drug"}),
    ("var d: binary from first_treated = ", {"age", "drug"}, {"frailty"}),
    ("var d: binary when ", {"age", "not"}, {"frailty", "and", "=="}),
    ("var d: binary when age ", {"==", "!=", "<", "<=", ">", ">="}, {"and", "age"}),
    ("var d: binary when age >= ", {"age"}, {"and", "=="}),
    ("var d: binary when age >= 40 ", {"and", "or"}, {"age", "=="}),
    ("var d: binary when age >= 40 and not (", {"age", "not"}, {"and"}),
    ("query q2: ate(drug -> severity) using ", {"stratification", "iv", "frontdoor"}, set()),
    ("query q2: ate(drug -> severity) using iv(", {"instrument", "se", "cluster"}, {"drug"}),
    ("query q2: ate(drug -> severity) using frontdoor(", {"mediators", "model"}, {"drug"}),
    ("query q2: att(drug -> severity) using matching(score = ",
     {"poly", "ns", "spline", "C", "I", "age"}, {"frailty", "caliper"}),
    ("query q2: ate(drug -> severity) using ols(outcome = ns(age, 3) + ",
     {"poly", "ns", "age"}, {"frailty", "se"}),
    ("query q2: ate(drug -> severity) using ols(outcome = poly(", {"age"}, {"poly", "ns"}),
    ("query q2: ate(drug -> severity) using ols(outcome = age + age^", set(), {"age", "ns"}),
    ("query q2: ate(drug -> severity) using ols(outcome = ns(age, 3), ", {"se", "cluster"},
     {"age", "ns"}),
    ("query q2: ate(drug -> severity) using ols(outcome = ns(age, 3)) ",
     {"adjusting", "using"}, {"ns", "age"}),
    ("layout ", {"drug", "age"}, {"var"}),
    ("selected ", set(), {"drug", "var"}),
])
@ASYNC
async def test_completion_by_context(client: LanguageClient, tail: str, expected: set[str],
                                     absent: set[str]):
    items = await complete(client, STUDY + tail)
    assert expected <= set(items), sorted(items)
    assert not absent & set(items)


@ASYNC
async def test_completion_of_options_carries_their_doc(client: LanguageClient):
    items = await complete(client, STUDY + "query q2: att(drug -> severity) using matching(")
    caliper = items["caliper"]
    assert caliper.insert_text == "caliper = "
    doc = caliper.documentation
    assert isinstance(doc, lsp.MarkupContent)
    assert causal_dsl.model.METHOD_OPTIONS["matching"]["caliper"][1] in doc.value


@ASYNC
async def test_completion_of_a_variable_shows_its_type_and_label(client: LanguageClient):
    items = await complete(client, STUDY + "age -> ")
    assert items["drug"].detail == "binary"
    assert items["drug"].documentation == "Received the drug"
    assert items["frailty"].detail == "latent"


# --- formatting, code actions, code lens --------------------------------------------------------
@ASYNC
async def test_formatting_is_causal_fmt(client: LanguageClient):
    messy = "var y : continuous\nvar  x: binary\nx->y\nquery q :ate( x->y )\n"
    uri = await open_doc(client, messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert edits is not None
    assert apply(messy, list(edits)) == format_text(messy)


@ASYNC
async def test_formatting_a_broken_file_changes_nothing(client: LanguageClient):
    uri = await open_doc(client, "var x binary\n")
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert not edits


async def actions_for(client: LanguageClient, text: str, code: str
                      ) -> tuple[str, list[lsp.CodeAction]]:
    uri = await open_doc(client, text)
    diags = [d for d in client.diagnostics[uri] if d.code == code]
    assert diags, [d.code for d in client.diagnostics[uri]]
    result = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), diags[0].range, lsp.CodeActionContext(diags)))
    assert result is not None
    return uri, [a for a in result if isinstance(a, lsp.CodeAction)]


WITH_METHOD = STUDY + "query linear: ate(drug -> severity) using ols\n"


@pytest.mark.parametrize(("right", "wrong", "code"), [
    ("age -> severity", "age -> severty", "E201"),
    ("var age: continuous", "var age: continous", "E214"),
    ("query main: ate(", "query main: atee(", "E208"),
    ("var age: continuous", "vra age: continuous", "E104"),  # a misspelt keyword
    ("using ols", "using olss", "E209"),
])
@ASYNC
async def test_did_you_mean_quick_fix_repairs_the_file(client: LanguageClient, right: str,
                                                       wrong: str, code: str):
    text = WITH_METHOD.replace(right, wrong)
    uri, actions = await actions_for(client, text, code)
    fix = next(a for a in actions if a.is_preferred)
    assert fix.title.startswith("Replace with")
    assert fix.edit is not None and fix.edit.changes is not None
    fixed = apply(text, list(fix.edit.changes[uri]))
    assert fixed == WITH_METHOD
    causal_dsl.parse(fixed)  # no error left


@ASYNC
async def test_quick_fix_declares_a_missing_variable(client: LanguageClient):
    text = STUDY + "weather -> severity\n"
    uri, actions = await actions_for(client, text, "E201")
    [declare] = [a for a in actions if a.title.startswith("Declare 'weather'")]
    assert declare.is_preferred  # no close name to suggest instead
    assert declare.edit is not None and declare.edit.changes is not None
    fixed = apply(text, list(declare.edit.changes[uri]))
    assert causal_dsl.parse(fixed).variable("weather").type == causal_dsl.VarType.CONTINUOUS


@ASYNC
async def test_code_lens_shows_each_querys_verdict(client: LanguageClient):
    text = STUDY + "query hidden: ate(age -> severity)\n"
    uri = await open_doc(client, text)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(
        lsp.TextDocumentIdentifier(uri)))
    assert lenses is not None
    by_line = {lens.range.start.line: lens.command.title for lens in lenses if lens.command}
    study = causal_dsl.parse(text)
    main = study.identify("main")
    assert main.identifiable and main.adjustment_set is not None
    assert by_line[9].startswith("identifiable · adjust for {" + ", ".join(
        sorted(main.adjustment_set)) + "}")
    assert not study.identify("hidden").identifiable  # frailty confounds age and severity
    assert by_line[10] == "not identifiable by adjustment"


@ASYNC
async def test_code_lens_command_prints_the_identification(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        "causal.identify", [uri, "main"]))
    assert result == str(causal_dsl.parse(STUDY).identify("main"))


@ASYNC
async def test_document_symbols(client: LanguageClient):
    uri = await open_doc(client, STUDY)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        lsp.TextDocumentIdentifier(uri)))
    assert symbols is not None
    assert [s.name for s in symbols] == ["drug", "severity", "age", "frailty", "main"]


# --- the examples -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.causal")))
@ASYNC
async def test_examples_open_without_errors(client: LanguageClient, tmp_path: Path, name: str):
    for f in EXAMPLES.iterdir():
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / name
    uri = await open_doc(client, path.read_text(), path)
    errors = [d for d in client.diagnostics[uri] if d.severity == lsp.DiagnosticSeverity.Error]
    assert errors == []


@ASYNC
async def test_ranges_count_utf16_code_units(client: LanguageClient):
    # '😀' is one character but two UTF-16 code units: the squiggle must move one unit right.
    text = STUDY + "var `😀x`: binary\n`😀x` -> severty\n"
    uri = await open_doc(client, text)
    [d] = [d for d in client.diagnostics[uri] if d.code == "E201"]
    line = text.split("\n").index("`😀x` -> severty")
    column = "`😀x` -> ".__len__() + 1  # in characters
    assert d.range == lsp.Range(lsp.Position(line, column), lsp.Position(line, column + 7))
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(line, 3)))
    assert hover is not None and "**😀x**" in hover.contents.value


def test_without_the_extra_the_verb_says_what_to_install(monkeypatch):
    import importlib.util

    from click.testing import CliRunner

    from causal_dsl.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pygls" else real(name, *a))
    result = CliRunner().invoke(main, ["lsp"])
    assert result.exit_code == 1
    assert "pip install 'causal-dsl[lsp]'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_completion_of_a_large_study_is_cut_and_marked_incomplete():
    from causal_dsl.lsp.analysis import analyze
    from causal_dsl.lsp.complete import MAX_VARIABLES, completions

    text = "".join(f"var v{i}: continuous\n" for i in range(MAX_VARIABLES + 50))
    analysis = analyze(text)
    everything = completions(analysis, "", 1)
    assert everything.is_incomplete
    assert sum(i.kind == lsp.CompletionItemKind.Variable for i in everything.items) \
        == MAX_VARIABLES
    narrowed = completions(analysis, "v12", 4)  # v12, v120..v129
    assert not narrowed.is_incomplete
    assert sorted(i.label for i in narrowed.items
                  if i.kind == lsp.CompletionItemKind.Variable) == sorted(
        ["v12", *(f"v12{d}" for d in range(10))])


# --- the constructs added as the language grew ---------------------------------------------------
NEW = """\
study "New constructs"
data "panel.csv" panel(unit = state, time = year) weights(pop, kind = "analytic")
var year: continuous "Year"
var pop: continuous
var start: continuous
var age: continuous "Age"
var sex: binary("F", "M")
var treat: binary from first_treated = start "Adopted"
var late: binary when year >= 2011 and age < 40 "Late"
var y: continuous
selected s "In the sample"
# age is drawn at the top: layout age = (0, 0), weights(age), when age < 40
{age, sex, year, pop} -> treat -> y
{age, sex, year, pop} -> y
late -> y
age -> s
query main: att(treat -> y) using ols(outcome = age + age^2 + ns(age, 3) + sex + year + pop \
+ treat:age)
query m: att(treat -> y) using matching(score = age + I(age^2*sex) + C(sex) + year + pop)
layout age = (0.1, 0.5)
"""
NEW_LINES = NEW.split("\n")


def line_of(start: str) -> int:
    """The 0-based number of the line of `NEW` that starts with `start`."""
    [number] = [i for i, line in enumerate(NEW_LINES) if line.startswith(start)]
    return number


@ASYNC
async def test_new_constructs_have_no_errors(client: LanguageClient):
    uri = await open_doc(client, NEW)
    assert [d for d in client.diagnostics[uri]
            if d.severity == lsp.DiagnosticSeverity.Error] == []


@pytest.mark.parametrize(("line_start", "needle", "nth"), [
    ("var late", "age", 0),                  # a condition
    ("query main", "age", 0),                # a formula term
    ("query main", "age", 2),                # the argument of ns(...)
    ("query main", "treat:age", 0),          # an interaction (the cursor on `treat`)
    ("query m:", "age^2*sex", 0),            # inside I(...)
    ("layout", "age", 0),                    # a layout line
])
@ASYNC
async def test_definition_from_formulas_conditions_and_layout(client: LanguageClient,
                                                               line_start: str, needle: str,
                                                               nth: int):
    uri = await open_doc(client, NEW)
    number = line_of(line_start)
    line = NEW_LINES[number]
    column = [i for i in range(len(line)) if line.startswith(needle, i)][nth]
    found = await client.text_document_definition_async(lsp.DefinitionParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(number, column + 1)))
    assert isinstance(found, lsp.Location)
    name = needle.split(":")[0].split("^")[0]
    assert found.range.start == lsp.Position(line_of(f"var {name}:"), 4)


async def references_of(client: LanguageClient, uri: str, line: int, column: int
                        ) -> list[tuple[int, int]]:
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(uri), position=lsp.Position(line, column),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert refs is not None
    return sorted((r.range.start.line, r.range.start.character) for r in refs)


@ASYNC
async def test_references_cover_every_place_a_variable_is_written(client: LanguageClient):
    uri = await open_doc(client, NEW)
    found = await references_of(client, uri, line_of("var age"), 5)
    expected = sorted(
        (i, c) for i, line in enumerate(NEW_LINES) if not line.startswith("#")
        for c in range(len(line)) if line.startswith("age", c)
        and not line[c - 1:c].isalnum() and not line[c + 3:c + 4].isalnum())
    assert found == expected
    assert {line for line, _ in found} == {
        line_of(s) for s in ("var age", "var late", "{age, sex, year, pop} -> treat",
                             "{age, sex, year, pop} -> y", "age -> s", "query main",
                             "query m:", "layout")}


@pytest.mark.parametrize(("old", "new", "written"), [
    ("age", "age_years", ["when year >= 2011 and age_years < 40", "outcome = age_years + "
                          "age_years^2 + ns(age_years, 3)", "+ treat:age_years)",
                          "score = age_years + I(age_years^2*sex)",
                          "layout age_years = (0.1, 0.5)"]),
    ("year", "yr", ["panel(unit = state, time = yr)", "when yr >= 2011", "+ yr + pop"]),
    ("pop", "population", ["weights(population, kind", "+ population)"]),
    ("start", "first", ["from first_treated = first "]),
    ("s", "sampled", ['selected sampled "In the sample"', "age -> sampled"]),
])
@ASYNC
async def test_rename_updates_formulas_conditions_weights_layout_and_derivations(
        client: LanguageClient, old: str, new: str, written: list[str]):
    uri = await open_doc(client, NEW)
    declared = next(i for i, line in enumerate(NEW_LINES)
                    if re.match(rf"(var|selected) {old}\b", line))
    column = NEW_LINES[declared].index(f" {old}") + 1
    edit = await client.text_document_rename_async(lsp.RenameParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(declared, column), new))
    assert edit is not None and edit.changes is not None
    renamed = apply(NEW, list(edit.changes[uri]))
    for piece in written:
        assert piece in renamed, piece
    # Every use outside comments and strings is renamed (in NEW, every whole-word `old` outside
    # a comment is a use), comments are untouched, and the study is the same with the name
    # changed.
    expected = "\n".join(line if line.startswith("#") else
                         re.sub(rf"(?<![\w.`\"]){re.escape(old)}(?![\w.`\"])", new, line)
                         for line in NEW_LINES)
    assert renamed == expected
    before, after = causal_dsl.parse(NEW), causal_dsl.parse(renamed)
    assert sorted(v.name for v in after.variables) == sorted(
        new if v.name == old else v.name for v in before.variables)
    assert after.data is not None and before.data is not None
    assert after.data.weights == (new if before.data.weights == old else before.data.weights)


@ASYNC
async def test_a_column_no_variable_reads_is_not_renamed(client: LanguageClient):
    text = NEW.replace('var year: continuous "Year"', 'var year: continuous as "yr" "Year"')
    uri = await open_doc(client, text)
    lines = text.split("\n")
    declared = next(i for i, line in enumerate(lines) if line.startswith("var year"))
    edit = await client.text_document_rename_async(lsp.RenameParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(declared, 5), "period"))
    assert edit is not None and edit.changes is not None
    renamed = apply(text, list(edit.changes[uri]))
    # `year` in panel(...) and in the condition is the data column "year", which the variable
    # (reading "yr") does not read: it stays; the arrows and the formula follow the variable.
    assert "panel(unit = state, time = year)" in renamed and "when year >= 2011" in renamed
    assert "{age, sex, period, pop} -> y" in renamed and "+ period + pop" in renamed


async def hover_at(client: LanguageClient, uri: str, line: int, column: int) -> str:
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(line, column)))
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    return hover.contents.value


@ASYNC
async def test_hover_on_a_selection_node(client: LanguageClient):
    uri = await open_doc(client, NEW)
    text = await hover_at(client, uri, line_of("selected"), 9)
    assert text.startswith("**s** · selection node")
    assert "In the sample" in text
    assert "only the rows with `s` = 1" in text and "conditioned on it" in text
    assert "- parents: `age`" in text
    # and where it is used
    used = await hover_at(client, uri, line_of("age -> s"), 8)
    assert used == text


@ASYNC
async def test_hover_on_derived_treatments(client: LanguageClient):
    uri = await open_doc(client, NEW)
    treat = await hover_at(client, uri, line_of("var treat"), 5)
    assert treat.startswith("**treat** · `binary` · derived")
    assert "`from first_treated = start`" in treat and "first treated period" in treat
    assert "data column" not in treat
    late = await hover_at(client, uri, line_of("var late"), 5)
    assert "`year >= 2011 and age < 40` holds" in late and "never run as code" in late
    # the role in the queries still follows
    assert "`main`: treatment" in treat


@ASYNC
async def test_hover_shows_codes_and_layout(client: LanguageClient):
    uri = await open_doc(client, NEW)
    sex = await hover_at(client, uri, line_of("var sex"), 5)
    assert "codes: `F` is 0, `M` is 1" in sex
    age = await hover_at(client, uri, line_of("layout"), 8)
    assert "drawn at (0.1, 0.5)" in age


@ASYNC
async def test_document_symbols_include_selection_nodes(client: LanguageClient):
    uri = await open_doc(client, NEW)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        lsp.TextDocumentIdentifier(uri)))
    assert symbols is not None
    assert {s.name: s.detail for s in symbols}["s"] == "selected"


@ASYNC
async def test_completion_offers_every_method_and_option_of_the_model(client: LanguageClient):
    methods = await complete(client, STUDY + "query q2: ate(drug -> severity) using ")
    assert set(methods) == set(causal_dsl.model.METHOD_OPTIONS)
    for method, options in causal_dsl.model.METHOD_OPTIONS.items():
        items = await complete(client, STUDY + f"query q2: ate(drug -> severity) using {method}(")
        assert set(items) == set(options), method
        for key, (_, doc) in options.items():
            assert doc in items[key].documentation.value


@ASYNC
async def test_completion_of_weight_kinds_and_formula_functions_carries_their_doc(
        client: LanguageClient):
    from causal_dsl.model import WEIGHT_KINDS
    from causal_dsl.terms import FUNCTIONS

    kinds = await complete(client, STUDY + 'data "x.csv" weights(w, kind = ')
    assert {k: i.insert_text for k, i in kinds.items()} == {k: f'"{k}"' for k in WEIGHT_KINDS}
    assert kinds["survey"].documentation.value == WEIGHT_KINDS["survey"]
    functions = await complete(client, STUDY + "query q2: ate(drug -> severity) using "
                               "ols(outcome = age + ")
    for name, doc in FUNCTIONS.items():
        assert functions[name].insert_text == f"{name}("
        assert functions[name].documentation.value == doc


def test_completion_reads_the_method_options_of_the_model(monkeypatch):
    """Not a copy: a method or option added to `causal_dsl.model.METHOD_OPTIONS` is offered."""
    from causal_dsl.lsp.analysis import analyze
    from causal_dsl.lsp.complete import completions

    monkeypatch.setitem(causal_dsl.model.METHOD_OPTIONS, "newmethod",
                        {"depth": (int, "how deep to go")})
    analysis = analyze(STUDY)
    line = "query q: ate(drug -> severity) using "
    assert "newmethod" in {i.label for i in completions(analysis, line, len(line) + 1).items}
    line += "newmethod("
    [item] = completions(analysis, line, len(line) + 1).items
    assert item.label == "depth" and "how deep to go" in item.detail


ENGINE_ERRORS = {
    "E245": 'data postgres(table = "visits")\nvar x: binary\n',
    "E246": 'data duckdb("warehouse.duckdb")\nvar x: binary\n',
}
NEW_CODE_FILES = sorted(p for p in (ROOT / "tests" / "errors").glob("E2[23]*.causal")
                        if int(p.name[1:4]) >= 225)


@pytest.mark.parametrize("source", [p.name for p in NEW_CODE_FILES] + sorted(ENGINE_ERRORS))
@ASYNC
async def test_new_error_codes_flow_through_unchanged(client: LanguageClient, source: str):
    """The server publishes exactly the diagnostics `causal check` reports: code, position,
    message and help."""
    from causal_dsl.errors import CausalError

    text = ENGINE_ERRORS.get(source) or (ROOT / "tests" / "errors" / source).read_text()
    with pytest.raises(CausalError) as raised:
        causal_dsl.parse(text)
    expected = [(d.code, d.span.line - 1, d.span.column - 1, d.message, d.help)
                for d in raised.value.diagnostics]
    assert {e[0] for e in expected} >= {source[:4]}
    uri = await open_doc(client, text)
    published = [(d.code, d.range.start.line, d.range.start.character, d.message.split("\n")[0],
                  (d.data or {}).get("help"))
                 for d in client.diagnostics[uri] if d.severity == lsp.DiagnosticSeverity.Error]
    assert published == [(c, line, col, m.split("\n")[0], h) for c, line, col, m, h in expected]

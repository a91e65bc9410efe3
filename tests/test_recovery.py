"""A syntax error no longer hides the semantic errors of the rest of the file (issue 15).

`causal_dsl.recover.parse_model` resolves the statements that parse, reports both kinds of
diagnostic sorted by position, and takes the names of broken lines as possibly declared (no
cascade of "unknown variable" errors).
"""

from __future__ import annotations

import pytest

import causal_dsl
from causal_dsl import ModelError, ParseError

# (source, expected (line, code) in order)
CASES: list[tuple[str, str, list[tuple[int, str]]]] = [
    ("semantic after syntax",
     "var x: binary\nx -> \nvar y: continuos\nx -> y\n", [(2, "E105"), (3, "E214")]),
    ("semantic before syntax",
     "var x: binary\nx -> z\nvar y: continuous\ny -> -> x\n", [(2, "E201"), (4, "E105")]),
    ("two syntax errors, one cycle",
     "var a: binary\nvar b: binary\na -> b\nb -> a\nvar : binary\nquery q ate(a -> b)\n",
     [(4, "E205"), (5, "E104"), (6, "E104")]),
    ("only syntax", "var x: binary\nx -> \n", [(2, "E105")]),
]


def _found(text: str) -> tuple[type, list[tuple[int, str]]]:
    with pytest.raises(causal_dsl.CausalError) as caught:
        causal_dsl.parse(text, "s.causal", check_files=False)
    return type(caught.value), [(d.span.line, d.code) for d in caught.value.diagnostics
                                if d.span is not None]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_both_kinds_reported_in_order(name: str, text: str,
                                      expected: list[tuple[int, str]]) -> None:
    kind, found = _found(text)
    assert kind is ParseError  # any syntax error makes it a ParseError
    assert [code[:2] for _, code in found] == [code[:2] for _, code in expected]
    assert [line for line, _ in found] == [line for line, _ in expected]
    assert found == sorted(found)


def test_a_name_declared_on_a_broken_line_does_not_cascade() -> None:
    text = ("var drug: binary\nvar age continuous\nage -> drug\nvar y: continuous\n"
            "drug -> y\nquery q: ate(drug -> y) adjusting {age}\nlayout age = (0, 1)\n"
            "agee -> y\n")
    with pytest.raises(ParseError) as caught:
        causal_dsl.parse(text, "s.causal")
    codes = [(d.span.line, d.code) for d in caught.value.diagnostics if d.span]
    assert codes == [(2, "E104"), (8, "E201")]  # 'agee' is reported, 'age' is not
    broken = caught.value.diagnostics[0]
    assert any("'age' is taken as declared here" in n for n in broken.notes)
    # the suggestion for 'agee' cannot name 'age' (not declared); it still helps
    assert caught.value.diagnostics[1].help


def test_names_in_strings_and_comments_are_not_assumed() -> None:
    text = 'var x: binary "about y" \nx -> -> q  # z\nx -> z\nx -> y\n'
    # the broken line names x and q; z is only in its comment, y in another line's label
    _, found = _found(text)
    assert found == [(2, "E104"), (3, "E201"), (4, "E201")]


def test_without_syntax_errors_nothing_changes() -> None:
    with pytest.raises(ModelError) as caught:
        causal_dsl.parse("var x: binary\nx -> y\n", "s.causal")
    assert [d.code for d in caught.value.diagnostics] == ["E201"]
    assert causal_dsl.parse("var x: binary\nvar y: binary\nx -> y\n").edges


def test_cli_check_shows_both(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from causal_dsl.cli import main

    path = tmp_path / "s.causal"
    path.write_text("var x: binary\nx -> \nvar y: continuos\nx -> y\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["check", str(path)])
    assert out.exit_code == 1
    assert "E104" in out.output and "E214" in out.output
    assert out.output.index("E104") < out.output.index("E214")

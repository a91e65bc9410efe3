"""`causal fmt`: golden files, the layout rules, the CLI, and properties checked with hypothesis:
idempotent, same model, no comment or statement lost — on every example and on generated,
deliberately messy studies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from random import Random
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.errors import ParseError
from causal_dsl.fmt import KEYWORDS, check_text, format_text
from causal_dsl.syntax import parse_syntax

parse, load = causal_dsl.parse, causal_dsl.load

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "fmt"
INPUTS = sorted(GOLDEN.glob("*.in.causal"))
EXAMPLES = sorted((ROOT / "examples").glob("*.causal"))


def comment_texts(text: str) -> Counter[str]:
    return Counter(c.text.rstrip() for c in parse_syntax(text).comments)


def assert_faithful(text: str) -> str:
    """Format `text` and check every promise the formatter makes; return the result."""
    out = format_text(text)
    assert format_text(out) == out, "formatting is not idempotent"
    assert comment_texts(out) == comment_texts(text), "a comment was lost or changed"
    assert len(parse_syntax(out).statements) == len(parse_syntax(text).statements)
    before = causal_dsl.parse(text, check_files=False)
    after = causal_dsl.parse(out, check_files=False)
    assert before.same_as(after), "formatting changed the model"
    assert before.layout == after.layout, "formatting changed the layout"
    assert out == "" or out.endswith("\n")
    assert "\n\n\n" not in out and not out.startswith("\n")
    assert all(line == line.rstrip() for line in out.split("\n"))
    return out


# --- golden files ------------------------------------------------------------------------------
@pytest.mark.parametrize("source", INPUTS, ids=lambda p: p.name.removesuffix(".in.causal"))
def test_golden(source: Path) -> None:
    expected = source.with_name(source.name.replace(".in.", ".out.")).read_text()
    assert assert_faithful(source.read_text()) == expected


def test_golden_outputs_are_formatted() -> None:
    outputs = sorted(GOLDEN.glob("*.out.causal"))
    assert len(outputs) == len(INPUTS) >= 5
    for path in outputs:
        assert check_text(path.read_text(), str(path)) == ""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip(path: Path) -> None:
    assert_faithful(path.read_text())


# --- the layout rules --------------------------------------------------------------------------
def test_sections_in_fixed_order() -> None:
    out = format_text('query q: ate(x -> y)\nx -> y\nlatent u\nvar x: binary\ndata "d.csv"\n'
                      'var y: count\nstudy "S"\nu -> {x, y}\n')
    assert out == (
        'study "S"\ndata "d.csv"\n\nlatent u\nvar x: binary\nvar y: count\n\n'
        "x -> y\nu -> {x, y}\n\nquery q: ate(x -> y)\n"
    )


def test_comments_move_with_their_statement() -> None:
    text = (
        "x -> y  # why x causes y\n"
        "# about y, directly above it\n"
        'var y: count "Y"\n'
        "var x: binary\n"
    )
    lines = format_text(text).splitlines()
    assert lines[0] == "# about y, directly above it"
    assert lines[1].startswith("var y: count") and lines[1].endswith('"Y"')
    assert lines[-1] == "x -> y  # why x causes y"


def test_free_standing_block_keeps_its_blank_line_and_goes_with_next_statement() -> None:
    text = "var x: binary\nvar y: count\nx -> y\n\n# about the query\n\nquery q: ate(x -> y)\n"
    out = format_text(text)
    assert out.endswith("x -> y\n\n# about the query\n\nquery q: ate(x -> y)\n")


def test_header_comments_stay_first_and_footer_last() -> None:
    text = "# header\n\nvar y: count\nstudy \"S\"\nvar x: binary\n\n# footer\n"
    out = format_text(text)
    assert out.startswith('# header\n\nstudy "S"\n')
    assert out.endswith("var x: binary\n\n# footer\n")


def test_blank_lines_inside_a_section_are_kept_once() -> None:
    text = "var a: binary\n\n\n\nvar b: binary\nvar c: binary\n"
    assert format_text(text) == "var a: binary\n\nvar b: binary\nvar c: binary\n"


def test_labels_align_per_paragraph_and_long_heads_do_not_push() -> None:
    text = ('var x: binary "X"\nvar longer_name: continuous "L"\n'
            'var w: categorical("a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") "W"\n'
            '\nvar z: count "Z"\n')
    lines = format_text(text).splitlines()
    assert lines[0].index('"X"') == lines[1].index('"L"') == len("var longer_name: continuous") + 2
    assert lines[2].endswith('")  "W"')
    assert lines[4] == 'var z: count  "Z"'


def test_names_are_quoted_exactly_when_needed() -> None:
    out = format_text("var `plain`: binary\nvar `for`: binary\nvar `two words`: count\n"
                      "`plain` -> `for` -> `two words`\n")
    assert "var plain: binary" in out and "var `for`: binary" in out
    assert "plain -> `for` -> `two words`" in out


def test_clauses_in_canonical_order_and_numbers_as_written() -> None:
    out = format_text("var x: binary\nvar y: count\nvar z: count\n"
                      "query q: ate(x->y) using matching(caliper=1e-3,k=2) never adjust for {z} "
                      "adjusting {z}\n")
    assert out.splitlines()[-1] == (
        "query q: ate(x -> y) adjusting {z} never adjust for {z} "
        "using matching(caliper = 1e-3, k = 2)"
    )


def test_crlf_and_missing_final_newline() -> None:
    # CRLF stays CRLF (issue 17): what the editor wrote is kept; the layout is the same
    text = 'var y: count\r\nvar x: binary  "X" # c\r\nx -> y'
    out = format_text(text)
    assert out.endswith("x -> y\r\n") and "\n" not in out.replace("\r\n", "")
    assert out.replace("\r\n", "\n") == assert_faithful(text.replace("\r\n", "\n"))
    assert format_text(out) == out


def test_byte_order_mark_is_accepted_and_kept() -> None:
    out = format_text("\ufeffvar x:binary\n")
    assert out == "\ufeffvar x: binary\n"
    assert [v.name for v in parse(out).variables] == ["x"]


def test_lone_cr_ends_a_line_for_every_reader(tmp_path: Path) -> None:
    # an editor shows the arrow on its own line; so do parse(), load() and fmt
    text = "var x: binary\nvar y: continuous  # note\rx -> y\n"
    path = tmp_path / "cr.causal"
    path.write_bytes(text.encode())
    assert [str(e) for e in parse(text).edges] == ["x -> y"]
    assert [str(e) for e in load(path).edges] == ["x -> y"]
    assert "x -> y" in format_text(text)


def test_only_comments_and_empty_files() -> None:
    assert format_text("") == ""
    assert format_text("\n\n  \n") == ""
    assert format_text("\n# one\n\n\n# two\n\n") == "# one\n\n# two\n"


def test_semantic_errors_are_formatted_not_fixed() -> None:
    # fmt works on the syntax tree: an unknown name is not its business, and it stays.
    out = format_text("x -> helth\nvar x: binary\n")
    assert out == "var x: binary\n\nx -> helth\n"


def test_unparseable_text_raises_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        format_text("var x: binary\nx -> -> y\n", "bad.causal")
    assert info.value.diagnostics[0].span.line == 2


# --- the command -------------------------------------------------------------------------------
def test_cli_check_prints_diff_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "s.causal"
    path.write_text("x->y\nvar x: binary\nvar y: count\n")
    result = CliRunner().invoke(main, ["fmt", "--check", str(path)])
    assert result.exit_code == 1
    assert "-x->y" in result.output and "+x -> y" in result.output
    assert path.read_text() == "x->y\nvar x: binary\nvar y: count\n"  # --check changes nothing


def test_cli_rewrites_in_place_then_check_passes(tmp_path: Path) -> None:
    path = tmp_path / "s.causal"
    path.write_text("x->y\nvar x: binary\nvar y: count\n")
    assert CliRunner().invoke(main, ["fmt", str(path)]).exit_code == 0
    assert path.read_text() == "var x: binary\nvar y: count\n\nx -> y\n"
    result = CliRunner().invoke(main, ["fmt", "--check", str(path)])
    assert result.exit_code == 0 and "---" not in result.output


def test_cli_stdin_to_stdout() -> None:
    result = CliRunner().invoke(main, ["fmt", "-"], input="var  y:count\n")
    assert result.exit_code == 0
    assert result.stdout == "var y: count\n"


def test_cli_leaves_unparseable_file_alone(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.causal", tmp_path / "bad.causal"
    good.write_text("var  y:count\n")
    bad.write_text("var x: binary\nx -> -> y\n")
    result = CliRunner().invoke(main, ["fmt", str(bad), str(good)])
    assert result.exit_code == 1
    assert f"{bad}:2:6: error[E104]" in result.output
    assert bad.read_text() == "var x: binary\nx -> -> y\n"
    assert good.read_text() == "var y: count\n"  # the other files are still formatted


def test_cli_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fmt", str(tmp_path / "nope.causal")])
    assert result.exit_code == 1 and "E200" in result.output and "Traceback" not in result.output


# --- properties on generated, messy studies ------------------------------------------------------
PLAIN = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True).filter(
    lambda s: s not in KEYWORDS
)
ODD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="`"),
    min_size=1, max_size=6,
).filter(lambda s: s.strip() == s and s != "")
NAMES = st.one_of(PLAIN, PLAIN, PLAIN, st.sampled_from(sorted(KEYWORDS)), ODD)
# labels: printable text and tabs (other control characters are E224, tested elsewhere)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t"),
    max_size=12,
)
COMMENT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=15,
).map(lambda s: "#" + s)
SPACE = st.sampled_from(["", " ", "  ", "\t", " \t "])


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def formulas(observed: list[str], name: Any, ws: Any) -> st.SearchStrategy[str]:
    """Model formulas over the covariates (and the treatment in interactions), with operators
    valid for every variable type: + * : ( ) C()."""
    t, covariates = observed[0], observed[2:]
    atom = st.sampled_from(covariates).map(lambda n: name(n))
    leaf = st.one_of(atom, atom.map(lambda a: f"C({a})"),
                     atom.map(lambda a: f"{name(t)}:{a}"))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "*", ":"]), inner).map(
            lambda p: f"{p[0]}{ws()}{p[1]}{ws()}{p[2]}"),
        inner.map(lambda a: f"({a})"),
    ), max_leaves=6)


def conditions(name: Any, ws: Any) -> st.SearchStrategy[str]:
    """Conditions of `when ...` (issue 12): comparisons joined by and/or/not and parentheses."""
    operand = st.one_of(
        st.sampled_from(["year", "state", "first_year", "data", "when"]).map(lambda n: name(n)),
        st.sampled_from(["2011", "2011.3", "-1", "0", "1e3"]),
        st.sampled_from(['"CA"', '"a \\"b\\""', '""']))
    compare = st.tuples(operand, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                        st.sampled_from(["year", "state"]).map(lambda n: name(n))).map(
        lambda t: f"{t[2]}{ws()} {t[1]} {ws()}{t[0]}")
    return st.recursive(compare, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda c: f"not {c}"),
        inner.map(lambda c: f"({ws()}{c}{ws()})")), max_leaves=5)


@st.composite
def messy_studies(draw: st.DrawFn) -> str:
    names = draw(st.lists(NAMES, min_size=2, max_size=7, unique=True))
    ws = lambda: draw(SPACE)  # noqa: E731 - a draw shorthand

    def name(n: str) -> str:
        plain = n not in KEYWORDS and n.isascii() and (n[0].isalpha() or n[0] == "_") and all(
            c.isalnum() or c in "_." for c in n)
        return n if plain and draw(st.booleans()) else f"`{n}`"

    latent = {n: draw(st.booleans()) for n in names[2:]}
    statements: list[str] = []
    if draw(st.booleans()):
        statements.append(f"study{ws() or ' '}{_string(draw(TEXT))}")
    panel = draw(st.booleans())
    if panel or draw(st.booleans()):
        weights = draw(st.sampled_from(
            ["", ' weights(w, kind = "survey")', f' weights({ws()}pop{ws()},kind="analytic",)']))
        statements.append(f'data "d.csv"{ws()}panel({ws()}unit{ws()}={ws()}u, time = t)'
                          + weights if panel else 'data "d.csv"' + weights)
    for n in names:
        label = f" {_string(draw(TEXT))}" if draw(st.booleans()) else ""
        if latent.get(n):
            statements.append(f"latent {name(n)}{' invariant' if draw(st.booleans()) else ''}"
                              f"{label}")
            continue
        kind = draw(st.sampled_from(["binary", "continuous", "count", "categorical"]))
        levels = '("a", 2, b)' if kind == "categorical" and draw(st.booleans()) else ""
        column = f' as "alias_column_{len(statements)}"' if draw(st.booleans()) else ""
        derived = ""
        if kind == "binary" and draw(st.booleans()):  # derived treatments (issue 12)
            column = ""
            derived = (f" from first_treated = {name('first_year')}" if panel
                       and draw(st.booleans()) else f" when {draw(conditions(name, ws))}")
        statements.append(f"var{ws() or ' '}{name(n)}{ws()}:{ws()}{kind}{levels}{column}"
                          f"{derived}{label}")
    placed = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    for n in placed:
        x, y = draw(st.sampled_from(["0", "-1.5", "2e-1"])), draw(st.sampled_from(["1", "-.5"]))
        statements.append(f"layout {name(n)}{ws()}={ws()}({ws()}{x}{ws()},{y})")
    selected = None
    if draw(st.booleans()):
        selected = "sel_node"
        label = f" {_string(draw(TEXT))}" if draw(st.booleans()) else ""
        statements.append(f"selected{ws() or ' '}{selected}{label}")
        statements.append(f"{name(names[-1])}{ws()}->{ws()}{selected}")
    # Arrows go from earlier to later names, so the graph is acyclic; `<-` is written reversed.
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=8)) if pairs else []
    for a, b in chosen:
        op = draw(st.sampled_from(["->", "<-", "<->"]))
        left, right = (b, a) if op == "<-" else (a, b)
        if draw(st.booleans()):
            statements.append(f"{name(left)}{ws()}{op}{ws()}{{{name(right)}}}")
        else:
            statements.append(f"{name(left)}{ws()}{op}{ws()}{name(right)}")
    observed = [n for n in names if not latent.get(n)]
    if len(observed) >= 2 and draw(st.booleans()):
        t, o = observed[0], observed[1]
        extra = draw(st.sampled_from(["", " adjusting {}", f" never adjust for {{{name(t)}}}",
                                      " using ols()", " using matching(caliper = 0.5, k = 2)"]))
        if len(observed) > 2 and draw(st.booleans()):
            extra = f" using ols({ws()}outcome{ws()}={ws()}{draw(formulas(observed, name, ws))})"
        statements.append(f"query{ws() or ' '}q{ws()}:{ws()}ate({ws()}{name(t)}{ws()}->"
                          f"{ws()}{name(o)})" + extra)
    order = draw(st.permutations(statements))
    lines: list[str] = []
    for statement in order:
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(st.sampled_from(["", "  "])) if draw(st.booleans())
                         else ws() + draw(COMMENT))
        trailing = f"{ws()} {draw(COMMENT)}" if draw(st.booleans()) else ""
        lines.append(ws() + statement + ws() + trailing)
    lines += [draw(COMMENT) for _ in range(draw(st.integers(0, 2)))]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_studies())
def test_property_generated_studies(text: str) -> None:
    assert_faithful(text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(EXAMPLES + INPUTS), st.randoms(use_true_random=False))
def test_property_shuffled_files(path: Path, rng: Random) -> None:
    # A file with its statement lines shuffled (comments dropped) is the same study; formatted,
    # it has the same statement lines as the formatted original, only in another order.
    def statement_lines(text: str) -> list[str]:
        tree = parse_syntax(text)
        lines = text.split("\n")
        kept = (lines[s.span.end_line - 1] for s in tree.statements)
        return sorted(" ".join(line.split("#")[0].split()) for line in kept)

    shuffled = [
        line.split(" #")[0] for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    rng.shuffle(shuffled)
    out = assert_faithful("\n".join(shuffled) + "\n")
    assert statement_lines(out) == statement_lines(format_text(path.read_text()))


def test_pre_commit_hooks_run_real_verbs() -> None:
    import yaml
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"] for h in hooks}
    assert {"causal-fmt", "causal-check", "causal-lint"} <= ids
    for hook in hooks:
        assert hook["language"] == "python" and hook["files"] == r"\.causal$"
        program, verb, *flags = hook["entry"].split()
        assert program == "causal" and verb in main.commands
        # The entry runs on a formatted, valid file and succeeds.
        path = GOLDEN / "comments.out.causal"
        assert CliRunner().invoke(main, [verb, *flags, str(path)]).exit_code == 0, hook["id"]


def test_hooks_report_a_broken_file_once(tmp_path: Path) -> None:
    broken = tmp_path / "broken.causal"
    broken.write_text("var x: binary\nx -> -> y\n")
    messy = tmp_path / "messy.causal"
    messy.write_text("var  x: binary\n")
    outputs = [CliRunner().invoke(main, [verb, "--skip-invalid", *flags, str(broken)]).output
               for verb, flags in (("fmt", ["--check"]), ("lint", []))]
    assert all("E104" not in out and "does not" in out for out in outputs), outputs
    assert "E104" in CliRunner().invoke(main, ["check", "--quiet", str(broken)]).output
    fix = CliRunner().invoke(main, ["fmt", "--check", str(messy)])
    assert fix.exit_code == 1 and f"run `causal fmt {messy}` to fix" in fix.output


FORMULA_LINES = [
    "query q: ate(t -> y) using matching(score=a+a^2+b*c+ns(d,4)+I(a^2*b)+C(g)) # keep",
    "query q: ate(t -> y) using ols(outcome = poly(a,3) + t:a + (b + c):d, se = \"HC3\")",
    'var s: binary(control="c",treated = "d")  # coded',
    'data "d.csv"   panel(unit=u,time=t) weights( w,kind="frequency" )  # weighted',
    'var d: binary when (year>=2011.30 or `and` != "x")and not state=="CA" "T"  # built',
    "var d: binary from first_treated=first_year  # adoption",
    'selected   s "Selected"  # the sample',
    "layout x=( 0.10,-2 )  # where",
]


@pytest.mark.parametrize("line", FORMULA_LINES)
def test_formulas_and_codes_format_idempotently_keeping_comments(line: str) -> None:
    once = format_text(line + "\n")
    assert format_text(once) == once
    assert comment_texts(once) == comment_texts(line)
    assert parse_syntax(once).statements == parse_syntax(line).statements

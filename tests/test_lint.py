"""`causal lint`: each warning fires where it should (and not where it should not), pragmas and
--disable turn them off, the data header is read (CSV, TSV, Parquet), and the command's exit
codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.data import read_header
from causal_dsl.errors import ReviewError
from causal_dsl.lint import CODES, lint, lint_file

ROOT = Path(__file__).resolve().parent.parent


def codes(text: str, **kw: object) -> list[str]:
    return [d.code for d in lint(causal_dsl.parse(text), **kw)]  # type: ignore[arg-type]


def only(text: str, code: str) -> list[causal_dsl.Diagnostic]:
    return [d for d in lint(causal_dsl.parse(text)) if d.code == code]


CLEAN = 'var x: binary "X"\nvar y: continuous "Y"\nvar a: count\na -> {x, y}\nx -> y\n' \
        "query q: ate(x -> y)\n"


def test_a_clean_study_has_no_warnings() -> None:
    assert codes(CLEAN) == []


def test_every_warning_is_a_warning_with_a_known_code_and_help() -> None:
    text = ('var x: binary\nvar y: count\nvar m: count\nvar lonely: binary\nlatent u\n'
            "u -> x\nx -> m -> y\nquery q: ate(x -> y) adjusting {m}\nquery r: ate(x -> y) "
            "adjusting {m}\n")
    found = lint(causal_dsl.parse(text, "s.causal", check_files=False))
    assert {d.code for d in found} == {"L101", "L104", "L106", "L108", "L110"}
    for d in found:
        assert d.severity == "warning" and d.code in CODES and d.help and d.span is not None


def test_L101_variable_without_arrows_points_at_its_declaration() -> None:
    (d,) = only(CLEAN + "var spare: binary\n", "L101")
    assert "'spare'" in d.message and d.span.line == 7 and d.span.column == 5


def test_L102_no_directed_path() -> None:
    text = 'var x: binary "X"\nvar y: count "Y"\nvar c: count\nx -> c <- y\nquery q: ate(x -> y)\n'
    (d,) = only(text, "L102")
    assert d.span.line == 5 and d.span.column == 14  # the treatment inside the query
    assert "no directed path from 'x' to 'y'" in d.message
    assert only(text.replace("x -> c <- y", "x -> c -> y"), "L102") == []


def test_L104_missing_label_on_treatment_or_outcome_only() -> None:
    text = 'var x: binary\nvar y: count "Y"\nvar a: count\na -> {x, y}\nx -> y\n' \
           "query q: ate(x -> y)\n"
    (d,) = only(text, "L104")
    assert "treatment 'x'" in d.message and d.span.line == 1
    assert only(CLEAN, "L104") == []  # 'a' has no label but is neither treatment nor outcome


def test_L106_mediator_in_proposed_set_and_L109_other_descendant() -> None:
    text = ('var x: binary "X"\nvar y: count "Y"\nvar m: count\nvar d: count\n'
            "x -> m -> y\nx -> y\nx -> d\n"
            "query q: ate(x -> y) adjusting {m, d}\nquery r: ate(x -> y) adjust for {m}\n")
    found = lint(causal_dsl.parse(text))
    l106 = [d for d in found if d.code == "L106"]
    l109 = [d for d in found if d.code == "L109"]
    assert [d.span.line for d in l106] == [8, 9]
    assert "mediator" in l106[0].message and "x -> m -> y" in l106[0].notes[0]
    assert l106[0].span.column == text.splitlines()[7].index("m, d") + 1
    assert len(l109) == 1 and "'d'" in l109[0].message
    # A pre-treatment confounder in the set is fine.
    assert only(CLEAN.replace("query q: ate(x -> y)", "query q: ate(x -> y) adjusting {a}"),
                "L106") == []


def test_L108_latent_with_one_child() -> None:
    text = CLEAN + "latent u\nu -> x\nlatent w\nw -> {x, y}\n"
    (d,) = only(text, "L108")
    assert "'u' affects only 'x'" in d.message


def test_L110_duplicate_queries() -> None:
    (d,) = only(CLEAN + "query again: ate(x -> y)\n", "L110")
    assert "'again' asks the same as query 'q'" in d.message
    assert only(CLEAN + "query att: att(x -> y)\n", "L110") == []


# --- the data file -------------------------------------------------------------------------------
def write_study(tmp_path: Path, body: str, columns: list[str], name: str = "d.csv") -> Path:
    frame = pd.DataFrame({c: [0, 1] for c in columns})
    data = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(data)
    else:
        frame.to_csv(data, sep="\t" if name.endswith(".tsv") else ",", index=False)
    path = tmp_path / "s.causal"
    path.write_text(f'data "{name}"\n' + body)
    return path


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.parquet"])
def test_L103_undeclared_columns_read_from_header(tmp_path: Path, name: str) -> None:
    path = write_study(tmp_path, CLEAN, ["x", "y", "a", "patient_id"], name)
    assert read_header(tmp_path / name) == ["x", "y", "a", "patient_id"]
    _, found = lint_file(str(path))
    (d,) = found
    assert d.code == "L103" and "'patient_id'" in d.message and d.span.line == 1


def test_L103_ignores_panel_and_cluster_columns(tmp_path: Path) -> None:
    body = CLEAN.replace("query q: ate(x -> y)", "query q: ate(x -> y) using ols(cluster = site)")
    path = write_study(tmp_path, body, ["x", "y", "a", "unit", "period", "site"])
    panel = '"d.csv" panel(unit = unit, time = period)'
    path.write_text(path.read_text().replace('"d.csv"', panel))
    assert [d.code for d in lint_file(str(path))[1]] == []


def test_L107_declared_column_missing_with_suggestion(tmp_path: Path) -> None:
    body = CLEAN.replace('var a: count', 'var a: count as "age_years"')
    path = write_study(tmp_path, body, ["x", "y", "age_yrs"])
    found = [d for d in lint_file(str(path))[1] if d.code == "L107"]
    (d,) = found
    assert "'age_years'" in d.message and "did you mean 'age_yrs'?" in (d.help or "")


def test_L105_recommended_set_needs_missing_column_with_alternative(tmp_path: Path) -> None:
    # b confounds x and y directly (so the optimal set is {b}); {c} blocks the same path.
    body = ('var x: binary "X"\nvar y: count "Y"\nvar b: count\nvar c: count\n'
            "b -> c -> x -> y\nb -> y\nquery q: ate(x -> y)\n")
    path = write_study(tmp_path, body, ["x", "y", "c"])
    (d,) = [d for d in lint_file(str(path))[1] if d.code == "L105"]
    assert "must adjust for 'b'" in d.message and "lacks column(s) 'b'" in d.message
    assert "{c} also works" in (d.help or "") and "never adjust for {b}" in (d.help or "")


def test_L105_without_alternative(tmp_path: Path) -> None:
    body = ('var x: binary "X"\nvar y: count "Y"\nvar b: count\n'
            "b -> x -> y\nb -> y\nquery q: ate(x -> y)\n")
    path = write_study(tmp_path, body, ["x", "y"])
    (d,) = [d for d in lint_file(str(path))[1] if d.code == "L105"]
    assert "no valid set avoids it" in (d.help or "")


def test_unreadable_data_is_skipped_not_an_error(tmp_path: Path) -> None:
    path = write_study(tmp_path, CLEAN, ["x"])
    (tmp_path / "d.csv").write_bytes(b"")  # empty: pandas cannot read a header
    assert read_header(tmp_path / "d.csv") is None
    assert lint_file(str(path))[1] == []


# --- turning warnings off -------------------------------------------------------------------------
def test_line_pragma_at_end_of_line_and_above() -> None:
    text = CLEAN + "var spare: binary  # causal: disable=L101\n# causal: disable=L101,L999\n" \
                   "var other: binary\nvar third: binary\n"
    found = lint(causal_dsl.parse(text))
    assert [(d.code, d.span.line) for d in found] == [("L100", 8), ("L101", 10)]
    assert "L999" in found[0].message


def test_file_pragma_and_all() -> None:
    text = CLEAN + "var spare: binary\n# causal: disable-file=L101\n"
    assert codes(text) == []
    assert codes(CLEAN + "var spare: binary  # causal: disable=all\n") == []


def test_disable_argument_and_unknown_code() -> None:
    assert codes(CLEAN + "var spare: binary\n", disable=["l101"]) == []
    assert codes(CLEAN + "var spare: binary\n", disable=["L102,L101"]) == []
    with pytest.raises(ReviewError) as info:
        codes(CLEAN, disable=["L10"])
    assert info.value.diagnostics[0].code == "E701"


# --- the command -------------------------------------------------------------------------------
def test_cli_warns_exit_0_and_strict_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "s.causal"
    path.write_text(CLEAN + "var spare: binary\n")
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exit_code == 0
    assert f"{path}:7:5: warning[L101]: variable 'spare' has no arrows" in result.output
    assert "7 | var spare: binary" in result.output
    assert CliRunner().invoke(main, ["lint", "--strict", str(path)]).exit_code == 1
    assert CliRunner().invoke(main, ["lint", "--strict", "--disable", "L101",
                                     str(path)]).exit_code == 0


def test_cli_json_and_broken_file(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.causal", tmp_path / "bad.causal"
    good.write_text(CLEAN + "var spare: binary\n")
    bad.write_text("var x: binary\nx -> nope\n")
    result = CliRunner().invoke(main, ["lint", "--format", "json", str(good), str(bad)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["warnings"] == 1
    assert payload["files"][0]["diagnostics"][0]["code"] == "L101"
    assert payload["files"][1]["ok"] is False
    assert payload["files"][1]["diagnostics"][0]["code"] == "E201"


def test_cli_unknown_disable_code_is_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "s.causal"
    path.write_text(CLEAN)
    result = CliRunner().invoke(main, ["lint", "--disable", "L999", str(path)])
    assert result.exit_code == 2 and "unknown lint code 'L999'" in result.output


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.causal")), ids=lambda p: p.name)
def test_examples_lint_without_crashing(path: Path) -> None:
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exit_code == 0 and "Traceback" not in result.output


# --- selection, layout, weights and derived treatments (issue 12) -------------------------------
def test_L111_selection_node_without_cause() -> None:
    (d,) = only(CLEAN + "selected s\ns -> a\n", "L111")
    assert "'s'" in d.message
    assert only(CLEAN + "selected s\ny -> s\n", "L111") == []


def test_L112_partial_layout() -> None:
    (d,) = only(CLEAN + "layout x = (0, 0)\n", "L112")
    assert "but not" in d.message and "y" in d.message
    full = CLEAN + "layout x = (0, 0)\nlayout y = (1, 0)\nlayout a = (0.5, 1)\n"
    assert only(full, "L112") == []


def test_L113_weights_and_derivation_columns(tmp_path: Path) -> None:
    body = CLEAN.replace("var x: binary", "var x: binary when dose >= 2")
    path = write_study(tmp_path, body, ["y", "a", "pop_wt"])
    path.write_text(path.read_text().replace('"d.csv"', '"d.csv" weights(popwt, kind = '
                                             '"analytic")'))
    found = [d for d in lint_file(str(path))[1]]
    l113 = sorted(d.message for d in found if d.code == "L113")
    assert len(l113) == 2 and "'dose'" in l113[0] and "'popwt'" in l113[1]
    # the derived variable's own column is built, never missing (no L107 for x)
    assert not any(d.code == "L107" for d in found)
    assert not any(d.code == "L103" and "pop_wt" not in d.message for d in found)

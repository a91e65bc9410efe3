"""End-to-end: every example passes `causal check`, and the CLI's exit codes hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from causal_dsl.cli import main

EXAMPLES = sorted(Path(__file__).resolve().parent.parent.joinpath("examples").glob("*.causal"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks(path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "is well formed" in result.output


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"heart_drug.causal", "fastfood.causal"} <= names


def test_check_reports_problems_with_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.causal"
    bad.write_text("var health: continuous\nvar drug: binary\nhealth -> drug -> helth\n")
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3:19: error[E201]: unknown variable 'helth'" in result.output
    assert "did you mean 'health'?" in result.output
    assert "Traceback" not in result.output


def test_check_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.causal"
    bad.write_text("var x: binary\nx -> y\n")
    result = CliRunner().invoke(main, ["check", "--format", "json", str(bad)])
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["ok"] is False
    (diag,) = payload["files"][0]["diagnostics"]
    assert diag["code"] == "E201" and diag["span"]["line"] == 2 and diag["span"]["column"] == 6


def test_usage_error_exits_2() -> None:
    assert CliRunner().invoke(main, ["check"]).exit_code == 2
    assert CliRunner().invoke(main, ["no-such-verb"]).exit_code == 2


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "causal, version" in result.output


def test_examples_are_in_canonical_layout() -> None:
    result = CliRunner().invoke(main, ["fmt", "--check", *map(str, EXAMPLES)])
    assert result.exit_code == 0, result.output

"""Golden diagnostics: every E1xx/E2xx error code and the common syntax mistakes, rendered.

Each ``tests/errors/NAME.causal`` is loaded (from inside tests/errors, so paths print as
``NAME.causal``) and must fail; its rendered diagnostics must equal ``NAME.txt`` byte for byte.
Files named ``E2xx_...`` must produce that code. After a deliberate change to a message, review
the diff of ``UPDATE_GOLDEN=1 python -m pytest tests/test_errors_golden.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl import CausalError, ModelError, ParseError
from causal_dsl.cli import main

HERE = Path(__file__).resolve().parent
ERRORS_DIR = HERE / "errors"
FIXTURES = sorted(ERRORS_DIR.glob("*.causal"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PACKAGE = HERE.parent / "causal_dsl"


def _render(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CausalError, str]:
    monkeypatch.chdir(ERRORS_DIR)
    with pytest.raises(CausalError) as info:
        causal_dsl.load(path.name)
    # A note may show where a data file was looked for: an absolute path, machine-specific.
    rendered = info.value.render().replace(str(ERRORS_DIR), "<tests/errors>") + "\n"
    return info.value, rendered


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_golden(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error, rendered = _render(path, monkeypatch)
    expected = path.with_suffix(".txt")
    if UPDATE:
        expected.write_text(rendered, encoding="utf-8")
    assert rendered == expected.read_text(encoding="utf-8")
    codes = [d.code for d in error.diagnostics]
    named = re.match(r"(E\d{3})_", path.name)
    if named:
        assert named.group(1) in codes
    if path.name.startswith("syntax_"):
        assert isinstance(error, ParseError)
        assert all(c.startswith("E1") for c in codes)
    # Every diagnostic says where and what to do.
    for d in error.diagnostics:
        assert d.help or d.notes, d
        assert d.span is not None or d.code == "E100"


def _codes_in_source() -> set[str]:
    codes: set[str] = set()
    for name in ("syntax.py", "resolve.py", "resolve_options.py", "conditions.py",
                 "__init__.py"):
        codes |= set(re.findall(r'"(E[12]\d\d)"', (PACKAGE / name).read_text(encoding="utf-8")))
    return codes


def test_every_code_has_a_golden_file() -> None:
    covered = {p.name[:4] for p in FIXTURES if re.match(r"E\d{3}_", p.name)}
    # E200 (the file itself cannot be read) has no fixture file by nature: tested below.
    missing = _codes_in_source() - covered - {"E200"}
    assert not missing, f"no golden file for {sorted(missing)}"
    assert len([p for p in FIXTURES if p.name.startswith("syntax_")]) >= 20


def test_every_code_is_documented() -> None:
    docs = (HERE.parent / "docs" / "language.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(E\d{3})` \|", docs, flags=re.M))
    assert _codes_in_source() <= documented
    assert {"E150", "E151", "E152", "E153", "E154", "E155"} <= documented


def test_all_broken_lines_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    error, _ = _render(ERRORS_DIR / "syntax_several_errors.causal", monkeypatch)
    assert [d.span.line for d in error.diagnostics if d.span] == [1, 2, 3, 4]


def test_cli_prints_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ERRORS_DIR)
    result = CliRunner().invoke(main, ["check", "E201_unknown_variable.causal"])
    assert result.exit_code == 1
    expected = (ERRORS_DIR / "E201_unknown_variable.txt").read_text(encoding="utf-8")
    assert result.output == expected
    assert "Traceback" not in result.output


def test_e200_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        causal_dsl.load(tmp_path / "missing.causal")
    assert info.value.diagnostics[0].code == "E200"
    with pytest.raises(ModelError) as info:
        causal_dsl.load(tmp_path)
    assert info.value.diagnostics[0].code == "E200"


def test_json_diagnostics_match(monkeypatch: pytest.MonkeyPatch) -> None:
    error, _ = _render(ERRORS_DIR / "E206_cycle.causal", monkeypatch)
    (payload,) = error.to_dict()
    assert payload["code"] == "E206"
    assert payload["message"] == "the arrows form a cycle: income -> education -> job -> income"
    assert payload["span"]["line"] == 4

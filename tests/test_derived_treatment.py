"""Derived treatments: `var d: binary when <condition>` and `from first_treated = column`.

The indicator is built by the tool (never by Python evaluation), checked against a hand-made
column, its adoption pattern reported, and a DiD on it equals the DiD on the hand-made one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl.derive import adoption_pattern, with_derived
from causal_dsl.errors import DataError, ModelError


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    states = ["CA", "NY", "TX", "WA", "OR", "NV"]
    first = {"CA": 2011, "NY": 2012, "TX": 2012, "WA": 0, "OR": 0, "NV": 0}
    rows = []
    for s in states:
        for year in range(2008, 2016):
            d = int(first[s] > 0 and year >= first[s])
            rows.append({"state": s, "year": year, "first_year": first[s], "treated_hand": d,
                         "y": 0.1 * year + 2.0 * d + rng.normal()})
    return pd.DataFrame(rows)


BODY = """var y: continuous
latent a invariant
a -> {d, y}
d -> y
query q: att(d -> y) using did(event_study = false)
"""


def _study(tmp_path: Path, declaration: str, frame: pd.DataFrame) -> causal_dsl.Study:
    frame.to_csv(tmp_path / "p.csv", index=False)
    (tmp_path / "s.causal").write_text(
        'data "p.csv" panel(unit = state, time = year)\n' + declaration + "\n" + BODY)
    return causal_dsl.load(tmp_path / "s.causal")


@pytest.mark.parametrize("declaration", [
    "var d: binary from first_treated = first_year",
    'var d: binary from first_treated = "first_year"',
    'var d: binary when (year >= 2011 and state == "CA") or (year >= 2012 and '
    '(state == "NY" or state == "TX"))',
    "var d: binary when first_year != 0 and year >= first_year",
])
def test_the_built_indicator_is_the_hand_made_one(tmp_path: Path, declaration: str) -> None:
    frame = _panel()
    study = _study(tmp_path, declaration, frame)
    built = with_derived(study, frame.drop(columns="treated_hand"))["d"]
    np.testing.assert_array_equal(built.to_numpy(), frame["treated_hand"].to_numpy())
    result = study.estimate()
    note = " ".join(result.sample.notes)
    assert "adoption cohorts 2011: 1 unit, 2012: 2 units; never treated: 3 units" in note
    assert "switches on and stays on" in note
    # the same DiD as on the hand-made column
    hand = _study(tmp_path, "var d: binary as \"treated_hand\"", frame).estimate()
    assert result.result.estimate.effect == pytest.approx(hand.result.estimate.effect,
                                                          abs=1e-12)


def test_a_treatment_that_switches_off_is_reported() -> None:
    u = pd.Series([1, 1, 1, 2, 2, 2])
    t = pd.Series([1, 2, 3, 1, 2, 3])
    text = adoption_pattern(u, t, np.array([0, 1, 0, 0, 0, 1.0]))
    assert "switches off again in 1 unit (e.g. 1 in period 3)" in text
    assert "adoption cohorts 2: 1 unit, 3: 1 unit" in text


def test_missing_operands_make_missing_rows_counted(tmp_path: Path) -> None:
    frame = _panel()
    frame.loc[[0, 1], "year"] = np.nan
    m = causal_dsl.parse('data "p.csv" panel(unit = state, time = year)\n'
                         "var d: binary when year >= 2011\n")
    built = with_derived(m, frame)["d"]
    assert built.isna().sum() == 2


@pytest.mark.parametrize(("declaration", "code", "words"), [
    ("var d: binary when zzz >= 1", "E404", "column 'zzz'"),
    ('var d: binary when state >= "CA"', "E406", "orders text"),
    ("var d: binary when state >= 3", "E406", "holds text"),
])
def test_data_errors(tmp_path: Path, declaration: str, code: str, words: str) -> None:
    study = _study(tmp_path, declaration, _panel())
    with pytest.raises(DataError) as info:
        study.estimate()
    assert info.value.diagnostics[0].code == code
    assert words in info.value.diagnostics[0].message


def test_a_derived_column_clashing_with_the_data_is_refused(tmp_path: Path) -> None:
    frame = _panel().rename(columns={"treated_hand": "d"})
    with pytest.raises(DataError) as info:
        _study(tmp_path, "var d: binary when year >= 2011", frame).estimate()
    assert info.value.diagnostics[0].code == "E416"


@pytest.mark.parametrize(("text", "words"), [
    ("var d: continuous when x > 1\n", "binary"),
    ('var d: binary as "col" when x > 1\n', "takes no column"),
    ("var d: binary from first_year = g\n", "unknown derivation"),
    ("var d: binary from first_treated = g\n", "needs a panel"),
    ("var d: binary when 1 > 2\n", "compares two values"),
])
def test_model_errors(text: str, words: str) -> None:
    with pytest.raises(ModelError) as info:
        causal_dsl.parse(text)
    assert info.value.diagnostics[0].code == "E227"
    assert words in info.value.diagnostics[0].message


def test_conditions_are_never_python() -> None:
    # Python syntax is not the language: a call or an attribute does not parse at all.
    for text in ('var d: binary when __import__("os") == 1\n',
                 "var d: binary when x.real() > 1\n"):
        with pytest.raises(causal_dsl.ParseError):
            causal_dsl.parse(text)

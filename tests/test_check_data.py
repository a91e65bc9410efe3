"""`causal check` checks the bound data: header plus a bounded sample, the diagnostics of `run`.

The sample checker (`causal_dsl.datacheck`, no pandas) is compared with the estimation stack's
own checks (`causal_dsl.data.load_data` + `check_data`, what `causal run` does) on a table of
files: the same codes, messages, help and notes, line for line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from causal_dsl import load
from causal_dsl.data import check_data, load_data
from causal_dsl.datacheck import check_bound_data
from causal_dsl.errors import CausalError, DataError

DECLARATIONS = """\
var drug: binary
var sex: binary("F", "M")
var severity: continuous
var visits: count
var ward: categorical("a", "b", "NA")
var stage: ordinal("1", "2", "3")
drug -> severity
{sex, visits, ward, stage} -> severity
query main: ate(drug -> severity)
"""
HEADER = "drug,sex,severity,visits,ward,stage"
GOOD_ROWS = ["1,F,2.5,0,a,1", "0,M,3,2,NA,2", "1,M,,1,b,3", "0,F,4.25,3,a,"]

# (name, header, rows, extra data-line options) -> the file to compare on
CASES: dict[str, tuple[str, list[str]]] = {
    "good": (HEADER, GOOD_ROWS),
    "misspelt column": (HEADER.replace("severity", "severty"), GOOD_ROWS),
    "two missing columns": ("drug,sex,visits,stage", ["1,F,0,1", "0,M,2,2"]),
    "binary 0/1/2": (HEADER, [*GOOD_ROWS, "2,F,1,1,a,1", "2,M,1,1,a,1", "3,F,1,1,a,1"]),
    "binary spelled F/M": ("drug,sex,severity,visits,ward,stage",
                           [r.replace("1,", "F,", 1) if r[0] == "1" else "M" + r[1:]
                            for r in GOOD_ROWS]),
    "binary yes/no/maybe": (HEADER, ["yes,F,1,1,a,1", "no,M,1,1,a,1", "maybe,F,1,1,a,1"]),
    "binary true/false": (HEADER, ["True,F,1,1,a,1", "False,M,1,1,a,1"]),
    "codes wrong case": (HEADER, ["1,f,1,1,a,1", "0,M,1,1,a,1", "0,X,1,1,a,1"]),
    "non-numeric": (HEADER, [*GOOD_ROWS, "1,F,high,1,a,1", "0,M, low ,1,a,1"]),
    "booleans as numbers": (HEADER, ["1,F,True,1,a,1", "0,M,False,1,a,1"]),
    "count fractional": (HEADER, [*GOOD_ROWS, "1,F,1,1.5,a,1", "1,F,1,-2,a,1"]),
    "count negative ints": (HEADER, ["1,F,1,-1,a,1", "0,M,1,2,a,1"]),
    "undeclared level": (HEADER, [*GOOD_ROWS, "1,F,1,1,c,1", "1,F,1,1,A,4"]),
    "numeric levels": (HEADER, ["1,F,1,1,a,1.0", "0,M,1,1,b,2.0", "0,M,1,1,b,5"]),
    "infinite": (HEADER, [*GOOD_ROWS, "1,F,inf,1,a,1", "1,F,-Infinity,1,a,1"]),
    "quoted line break": (HEADER, ['1,F,2,0,"a",1', '0,M,"x\ny",2,b,2', "0,M,3,2,c,2"]),
    "blank line": (HEADER, ["1,F,2,0,a,1", "", "0,M,x,2,b,2"]),
    "duplicate header": ("drug,sex,severity,visits,ward,stage,drug", ["1,F,2,0,a,1,1"]),
    "many values": (HEADER, [f"{v},F,1,1,a,1" for v in (2, 2, 3, 4, 5, 6, 7, 1, 0)]),
}


def _write(tmp: Path, header: str, rows: list[str], data: str = 'data "d.csv"') -> Path:
    (tmp / "d.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    study = tmp / "s.causal"
    study.write_text(f"{data}\n{DECLARATIONS}", encoding="utf-8")
    return study


def _run_side(path: Path) -> list[dict[str, object]]:
    """What `causal run` reports: the reader's refusals, then `check_data`'s."""
    model = load(path)
    try:
        check_data(model, load_data(model))
    except DataError as error:
        return [d.to_dict() for d in error.diagnostics]
    return []


def _check_side(path: Path, rows: int = 10_000) -> list[dict[str, object]]:
    try:
        check_bound_data(load(path), rows)
    except DataError as error:
        return [d.to_dict() for d in error.diagnostics]
    return []


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_reports_what_run_reports(tmp_path: Path, case: str) -> None:
    header, rows = CASES[case]
    path = _write(tmp_path, header, rows)
    run = _run_side(path)
    check = _check_side(path)
    if case == "infinite":
        # the reader refuses infinite values before any other check; check reports them all
        assert [d for d in check if d["code"] == "E415"] == run
        return
    assert check == run
    assert bool(check) == (case not in ("good", "binary true/false", "booleans as numbers"))


def test_every_problem_kind_is_covered(tmp_path: Path) -> None:
    codes = set()
    for header, rows in CASES.values():
        codes |= {d["code"] for d in _check_side(_write(tmp_path, header, rows))}
    assert codes == {"E404", "E405", "E406", "E407", "E408", "E415", "E416"}


def test_a_sample_says_it_is_one(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS * 5, "1,F,oops,1,a,1"]
    path = _write(tmp_path, HEADER, rows)
    assert _check_side(path, rows=5) == []  # the bad row is after the sample
    (problem,) = _check_side(path, rows=len(rows))
    assert problem["code"] == "E406" and not problem["notes"]
    path = _write(tmp_path, HEADER, [*rows, *GOOD_ROWS])
    (problem,) = _check_side(path, rows=len(rows))
    assert any("first 21 rows" in n for n in problem["notes"])  # type: ignore[union-attr]


def test_parquet_schema_and_rows(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"drug": [1, 0, 2], "sex": ["F", "M", "F"], "severity": [1.0, 2.0, 3.0],
                          "visits": [0, 1, 2], "ward": ["a", "b", "z"], "stage": ["1", "2", "3"]})
    frame.to_parquet(tmp_path / "d.parquet")
    path = _write(tmp_path, HEADER, [], data='data "d.parquet"')
    check = _check_side(path)
    assert [d["code"] for d in check] == ["E405", "E407"]
    assert check == _run_side(path)


def test_engine_bindings_are_skipped_with_a_note(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, GOOD_ROWS, data='data duckdb("w.duckdb", table = "t")')
    (tmp_path / "w.duckdb").write_bytes(b"")
    model = load(path, check_files=False)
    result = check_bound_data(model)
    assert result is not None and "duckdb binding not read" in result.summary()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "causal_dsl", *args], capture_output=True,
                          text=True, check=False)


def test_cli_check_reports_data_problems_and_no_data_skips(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER.replace("severity", "severty"), GOOD_ROWS)
    out = _cli("check", str(path))
    assert out.returncode == 1
    assert "error[E404]: variable 'severity': column 'severity' is not in" in out.stderr
    assert "did you mean 'severty'?" in out.stderr
    out = _cli("check", "--no-data", str(path))
    assert out.returncode == 0, out.stderr
    assert "data check: skipped (--no-data)" in out.stdout
    out = _cli("check", "--format", "json", str(path))
    assert json.loads(out.stdout)["files"][0]["diagnostics"][0]["code"] == "E404"


def test_cli_check_says_what_it_read(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, GOOD_ROWS)
    out = _cli("check", str(path))
    assert out.returncode == 0, out.stderr
    assert "header (6 columns) and all 4 rows fit the declarations" in out.stdout
    out = _cli("check", "--quiet", str(path))
    assert out.stdout == "" and out.returncode == 0


def test_syntax_problems_are_not_hidden_by_data(tmp_path: Path) -> None:
    # a study that does not check is reported as before; its data is not read
    path = _write(tmp_path, HEADER.replace("drug", "drugs"), GOOD_ROWS)
    path.write_text(path.read_text() + "x -> \n", encoding="utf-8")
    with pytest.raises(CausalError) as caught:
        load(path)
    assert {d.code for d in caught.value.diagnostics} <= {f"E1{n:02d}" for n in range(100)}
    out = _cli("check", str(path))
    assert out.returncode == 1 and "E404" not in out.stderr


@pytest.mark.parametrize("values", [[0.5, -2.0, 3.25], [1e308, 1e308, -1.0],
                                    [0.5, float("nan"), 2.0], [0.5, float("inf"), 2.0]])
def test_finite_float_columns_skip_the_masks_with_the_same_answer(values: list[float]) -> None:
    """A float64 column with every cell finite is returned as coded after one sum; a sum that
    overflows, a NaN or an inf takes the general path: the same coded values either way, and
    the infinite cell still reported."""
    import numpy as np
    import pandas as pd

    from causal_dsl import parse
    from causal_dsl.data import code_column

    var = parse("var x: continuous\nvar y: continuous\nx -> y\n").variables[0]
    raw = pd.Series(values, name="x")
    coded, problems = code_column(var, raw, "t.csv")
    general, general_problems = code_column(var, raw.astype(object), "t.csv")
    np.testing.assert_array_equal(coded.to_numpy(), general.to_numpy(dtype=float))
    assert coded.dtype == np.float64
    assert [p.code for p in problems] == [p.code for p in general_problems]
    assert bool(problems) == (float("inf") in values)

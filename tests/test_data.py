"""Loading the bound dataset, checking it against the declarations, and listwise deletion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl.data import (
    check_data,
    load_data,
    prepare,
    read_table,
    require_rows,
    require_varying,
)
from causal_dsl.errors import DataError

STUDY = """\
study "t"
data "d.csv"
var drug: binary
var severity: continuous
var health: continuous as "health_score"
var ward: categorical("a", "b", "c")
var visits: count
drug -> severity
health -> drug
health -> severity
ward -> severity
visits -> severity
query main: ate(drug -> severity)
"""

GOOD = pd.DataFrame({
    "drug": [0, 1, 1, 0, 1, 0],
    "severity": [1.0, 2.5, 3.0, 0.5, 2.0, 1.5],
    "health_score": [50.0, 40.0, 35.0, 60.0, None, 55.0],
    "ward": ["a", "b", "c", "a", "b", "c"],
    "visits": [0, 2, 3, 1, 4, 0],
})


def study_at(tmp_path: Path, frame: pd.DataFrame | None = None, name: str = "d.csv",
             text: str = STUDY) -> causal_dsl.Study:
    if frame is not None:
        if name.endswith(".parquet"):
            frame.to_parquet(tmp_path / name)
        elif name.endswith(".tsv"):
            frame.to_csv(tmp_path / name, sep="\t", index=False)
        else:
            frame.to_csv(tmp_path / name, index=False)
    path = tmp_path / "s.causal"
    path.write_text(text.replace('"d.csv"', f'"{name}"'), encoding="utf-8")
    return causal_dsl.load(path, check_files=False)


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.parquet"])
def test_reads_csv_tsv_parquet_and_compressed(tmp_path: Path, name: str) -> None:
    study = study_at(tmp_path, GOOD, name)
    frame = load_data(study)
    assert list(frame.columns) == list(GOOD.columns)
    assert len(frame) == 6
    coded = check_data(study, frame)
    assert coded["drug"].tolist() == [0, 1, 1, 0, 1, 0]
    assert list(coded["ward"].cat.categories) == ["a", "b", "c"]


def test_reads_compressed_csv(tmp_path: Path) -> None:
    GOOD.to_csv(tmp_path / "d.csv.gz", index=False)
    assert read_table(tmp_path / "d.csv.gz").equals(read_table_plain(tmp_path))


def read_table_plain(tmp_path: Path) -> pd.DataFrame:
    GOOD.to_csv(tmp_path / "plain.csv", index=False)
    return read_table(tmp_path / "plain.csv")


def test_missing_file_suggests_a_near_name(tmp_path: Path) -> None:
    GOOD.to_csv(tmp_path / "data.csv", index=False)
    study = study_at(tmp_path, None, "dta.csv")
    with pytest.raises(DataError) as info:
        load_data(study)
    d = info.value.diagnostics[0]
    assert d.code == "E402" and "dta.csv" in d.message and "data.csv" in (d.help or "")


def test_unknown_format_and_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_text("no", encoding="utf-8")
    with pytest.raises(DataError, match="E403"):
        read_table(tmp_path / "x.xlsx")
    (tmp_path / "bad.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataError, match="E403"):
        read_table(tmp_path / "bad.parquet")


def test_no_data_bound_is_e401() -> None:
    study = causal_dsl.parse("var x: binary\nvar y: continuous\nx -> y\n")
    with pytest.raises(DataError, match="E401"):
        load_data(study)


def test_missing_column_names_file_and_suggests(tmp_path: Path) -> None:
    study = study_at(tmp_path, GOOD.rename(columns={"severity": "severty"}))
    with pytest.raises(DataError) as info:
        check_data(study, load_data(study))
    d = info.value.diagnostics[0]
    assert d.code == "E404"
    assert "'severity'" in d.message and "d.csv" in d.message
    assert d.help == "did you mean 'severty'?"
    assert d.span is not None and d.span.line == 4  # points at the declaration


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = GOOD.assign(drug=[0, 1, 2, 0, 1, 0], severity=["1", "x", "3", "", "2", "1"],
                      ward=["a", "b", "d", "a", "b", "c"], visits=[0, -1, 3, 1, 2.5, 0])
    study = study_at(tmp_path, bad)
    with pytest.raises(DataError) as info:
        check_data(study, load_data(study))
    codes = sorted(d.code for d in info.value.diagnostics)
    assert codes == ["E405", "E406", "E407", "E408"]
    by = {d.code: d for d in info.value.diagnostics}
    assert "'2'" in by["E405"].message and "line(s) 4" in by["E405"].message
    assert "'x'" in by["E406"].message and "line(s) 3" in by["E406"].message
    assert "'d'" in by["E407"].message
    assert "declared levels are 'a', 'b', 'c'" in (by["E407"].help or "")


def test_binary_spellings_are_accepted(tmp_path: Path) -> None:
    frame = GOOD.assign(drug=["yes", "No", "TRUE", "false", "1", "0"])
    study = study_at(tmp_path, frame)
    coded = check_data(study, load_data(study))
    assert coded["drug"].tolist() == [1, 0, 1, 0, 1, 0]


def test_listwise_deletion_is_counted_per_column(tmp_path: Path) -> None:
    frame = GOOD.assign(severity=[1.0, None, 3.0, 0.5, 2.0, 1.5],
                        ward=["a", "b", "c", " ", "b", None])
    study = study_at(tmp_path, frame)
    prep = prepare(study, load_data(study), ["drug", "severity", "health", "ward"])
    r = prep.report
    assert (r.rows_read, r.rows_used, r.dropped) == (6, 2, 4)
    assert dict(r.missing_by_column) == {"drug": 0, "severity": 1, "health": 1, "ward": 2}
    assert "4 dropped for missing values" in r.describe()
    assert "ward: 2" in r.describe()
    assert list(prep.frame.columns) == ["drug", "severity", "health", "ward"]
    # a column the estimator does not use costs no rows
    prep2 = prepare(study, load_data(study), ["drug", "ward"])
    assert prep2.report.rows_used == 4


def test_extra_columns_are_coded_in_sorted_order(tmp_path: Path) -> None:
    frame = GOOD.assign(period=["2020", "2019", "2021", "2019", "2020", "2021"])
    study = study_at(tmp_path, frame)
    prep = prepare(study, load_data(study), ["drug"], ["period"])
    assert prep.extra["period"].tolist() == [1, 0, 2, 0, 1, 2]
    with pytest.raises(DataError, match="E404"):
        prepare(study, load_data(study), ["drug"], ["perod"])


def test_constant_treatment_and_too_few_rows(tmp_path: Path) -> None:
    study = study_at(tmp_path, GOOD.assign(drug=1))
    prep = prepare(study, load_data(study), ["drug", "severity"])
    with pytest.raises(DataError) as info:
        require_varying(prep, "drug")
    assert info.value.diagnostics[0].code == "E411"
    with pytest.raises(DataError) as info:
        require_rows(prep, 100, "query 'main'")
    assert info.value.diagnostics[0].code == "E412"
    assert "6 rows were read" in (info.value.diagnostics[0].help or "")


def test_categorical_without_declared_levels_uses_sorted_observed(tmp_path: Path) -> None:
    text = STUDY.replace('categorical("a", "b", "c")', "categorical")
    study = study_at(tmp_path, GOOD.assign(ward=[3, 1, 2, 10, 1, 2]), text=text)
    coded = check_data(study, load_data(study))
    assert list(coded["ward"].cat.categories) == ["1", "2", "3", "10"]


def test_nothing_vanishes_unseen_with_numeric_codes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame({
        "drug": rng.integers(0, 2, n), "severity": rng.normal(size=n),
        "health_score": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.normal(size=n)),
        "ward": rng.choice(["a", "b", "c"], n), "visits": rng.integers(0, 5, n),
    })
    study = study_at(tmp_path, frame)
    prep = prepare(study, load_data(study), ["drug", "severity", "health"])
    missing = int(frame.health_score.isna().sum())
    assert prep.report.rows_used == n - missing
    assert dict(prep.report.missing_by_column)["health"] == missing


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, None]),
                          st.one_of(st.none(), st.floats(-1e6, 1e6)),
                          st.sampled_from(["a", "b", "c", None])), min_size=1, max_size=40))
def test_listwise_deletion_property(rows: list[tuple[float | None, float | None, str | None]]
                                    ) -> None:
    frame = pd.DataFrame(rows, columns=["drug", "severity", "ward"])
    study = causal_dsl.parse(STUDY)
    prep = prepare(study, frame, ["drug", "severity", "ward"])
    complete = frame.notna().all(axis=1)
    assert prep.report.rows_used == int(complete.sum()) == len(prep.frame)
    assert dict(prep.report.missing_by_column) == {c: int(frame[c].isna().sum())
                                                    for c in frame.columns}
    assert not prep.frame.isna().any().any()

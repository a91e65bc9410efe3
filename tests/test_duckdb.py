"""Engine bindings and the DuckDB path: the `data` forms parse, resolve and format; bad bindings
get their diagnostics; globs, hive folders, DuckDB tables and views give the in-memory answer;
the column checks run as SQL and name the column; identifiers are quoted, never run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import planner
from causal_dsl.errors import CausalError
from causal_dsl.fmt import format_text

duckdb = pytest.importorskip("duckdb")

from causal_dsl import engines  # noqa: E402

BODY = """var d: binary
var y: continuous
var x: continuous
d -> y
x -> d
x -> y
query q: ate(d -> y) using ols
"""


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({"d": d, "y": 1 + 2 * d + x + rng.normal(size=n), "x": x,
                         "region": rng.choice(["north", "south"], size=n)})


def _study(tmp: Path, data_line: str, body: str = BODY) -> causal_dsl.Model:
    (tmp / "s.causal").write_text(data_line + "\n" + body)
    return causal_dsl.load(str(tmp / "s.causal"))


def _codes(text: str, tmp: Path | None = None) -> list[str]:
    try:
        if tmp is None:
            causal_dsl.parse(text)
        else:
            (tmp / "s.causal").write_text(text)
            causal_dsl.load(str(tmp / "s.causal"))
    except CausalError as err:
        return [d.code for d in err.diagnostics]
    return []


@pytest.mark.parametrize("line", [
    'data duckdb("warehouse.duckdb", table = "visits")',
    'data duckdb("warehouse.duckdb", table = "main.visits") panel(unit = u, time = t)',
    'data spark(table = "db.visits")',
    'data spark("events/*.parquet")',
    'data "events/*.parquet"',
])
def test_bindings_format_to_themselves(line: str) -> None:
    assert format_text(line + "\n") == line + "\n"
    assert format_text(line.replace(", ", " ,").replace(" = ", "=") + "\n") == line + "\n"


def test_binding_in_the_model() -> None:
    m = causal_dsl.parse('data duckdb("w.duckdb", table = "db.visits")\n')
    assert (m.data.engine, m.data.table, m.data.source) == ("duckdb", "db.visits", "w.duckdb")
    m = causal_dsl.parse('data spark(table = "visits")\n')
    assert (m.data.engine, m.data.table, m.data.path) == ("spark", "visits", None)


@pytest.mark.parametrize(("text", "codes"), [
    ('data dukdb("w.duckdb", table = "v")\n', ["E245"]),
    ('data duckdb("w.duckdb")\n', ["E246"]),
    ('data duckdb("w.duckdb", table = "v; DROP TABLE v")\n', ["E246"]),
    ('data duckdb("w.duckdb", table = v)\n', ["E246"]),
    ('data duckdb("w.duckdb", tabel = "v")\n', ["E246", "E210"]),
    ('data spark("a.parquet", table = "t")\n', ["E246"]),
])
def test_bad_bindings(text: str, codes: list[str]) -> None:
    assert _codes(text) == codes


def test_glob_that_matches_nothing_and_bad_suffix(tmp_path: Path) -> None:
    assert _codes('data "none/*.parquet"\n', tmp_path) == ["E212"]
    assert _codes('data "files/*.xlsx"\n', tmp_path) == ["E213"]
    assert _codes('data duckdb("missing.duckdb", table = "t")\n', tmp_path) == ["E212"]


def _answer(model: causal_dsl.Model) -> tuple[float, float]:
    r = planner.estimate(model, model.queries[0])
    return r.result.estimate.effect, r.result.estimate.se


def test_glob_hive_folder_table_and_view_agree_with_pandas(tmp_path: Path) -> None:
    frame = _frame()
    frame.to_parquet(tmp_path / "all.parquet")
    ref = _study(tmp_path, 'data "all.parquet"')
    r = planner.estimate(ref, ref.queries[0], data=frame)
    want = (r.result.estimate.effect, r.result.estimate.se)
    (tmp_path / "parts").mkdir()
    frame.iloc[:100].to_parquet(tmp_path / "parts" / "a.parquet")
    frame.iloc[100:].to_parquet(tmp_path / "parts" / "b.parquet")
    for region, part in frame.groupby("region"):
        folder = tmp_path / "hive" / f"region={region}"
        folder.mkdir(parents=True)
        part.drop(columns="region").to_parquet(folder / "part.parquet")
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.register("frame", frame)
    conn.execute("CREATE TABLE visits AS SELECT * FROM frame")
    conn.execute('CREATE VIEW "odd name" AS SELECT * FROM visits WHERE TRUE')
    conn.execute("CREATE VIEW recent AS SELECT * FROM visits")
    conn.close()
    lines = ['data "parts/*.parquet"', 'data "hive"', 'data "hive/"',
             'data duckdb("w.duckdb", table = "visits")',
             'data duckdb("w.duckdb", table = "recent")',
             'data duckdb("w.duckdb", table = "main.visits")']
    for line in lines:
        got = _answer(_study(tmp_path, line))
        assert np.allclose(got, want, rtol=1e-9), line
        assert engines.wants_engine(_study(tmp_path, line))


def test_identifier_is_quoted_not_run(tmp_path: Path) -> None:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.register("frame", _frame())
    conn.execute("CREATE TABLE visits AS SELECT * FROM frame")
    conn.close()
    # a valid identifier that is not a table: a read error, not a query of something else
    with pytest.raises(CausalError) as err:
        _answer(_study(tmp_path, 'data duckdb("w.duckdb", table = "visits_x")'))
    assert err.value.diagnostics[0].code == "E403"


@pytest.mark.parametrize(("column", "values", "decl", "code"), [
    ("d", [0, 1, 2], None, "E405"),
    ("x", ["1.5", "abc", "2"], None, "E406"),
    ("x", [1.0, np.inf, 2.0], None, "E415"),
    ("k", [1, -2, 3], "var k: count\nk -> y\n", "E408"),
    ("r", ["a", "b", "zz"], "var r: categorical(a, b)\nr -> y\n", "E407"),
])
def test_column_checks_in_sql(tmp_path: Path, column: str, values: list[object],
                              decl: str | None, code: str) -> None:
    frame = _frame(60)
    frame[column] = (values * 30)[:60]
    frame.to_parquet(tmp_path / "f.parquet")
    body = BODY + (decl or "")
    with pytest.raises(CausalError) as err:
        _answer(_study(tmp_path, 'data "f*.parquet"', body))
    assert code in [d.code for d in err.value.diagnostics]


def test_missing_column_and_constant_treatment(tmp_path: Path) -> None:
    frame = _frame(60).rename(columns={"x": "xx"})
    frame.to_parquet(tmp_path / "f1.parquet")
    with pytest.raises(CausalError) as err:
        _answer(_study(tmp_path, 'data "f*.parquet"'))
    (d,) = err.value.diagnostics
    assert d.code == "E404" and "did you mean 'xx'" in (d.help or "")
    frame = _frame(60)
    frame["d"] = 1
    frame.to_parquet(tmp_path / "f1.parquet")
    with pytest.raises(CausalError) as err:
        _answer(_study(tmp_path, 'data "f*.parquet"'))
    assert err.value.diagnostics[0].code == "E411"


def test_method_not_pushed_down_loads_needed_columns_or_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(400)
    frame.to_parquet(tmp_path / "f1.parquet")
    pushed = _study(tmp_path, 'data "f*.parquet"', BODY.replace("using ols", "using matching"))
    r = planner.estimate(pushed, pushed.queries[0])
    assert "in duckdb" in r.result.description  # the default matching design is pushed down
    body = BODY.replace("using ols", 'using matching(ties = "first")')  # row order: not pushed
    m = _study(tmp_path, 'data "f*.parquet"', body)
    r = planner.estimate(m, m.queries[0])
    ref = planner.estimate(m, m.queries[0], data=frame)
    assert r.result.method == "matching" and "in duckdb" not in r.result.description
    assert r.result.estimate.effect == pytest.approx(ref.result.estimate.effect, rel=1e-12)
    monkeypatch.setattr(engines, "MAX_IN_MEMORY_ROWS", 100)
    with pytest.raises(CausalError) as err:
        planner.estimate(m, m.queries[0])
    assert err.value.diagnostics[0].code == "E422"


def test_run_on_engine_data(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "f1.parquet")
    m = _study(tmp_path, 'data "f*.parquet"')
    run = causal_dsl.Study.of(m).run()
    (q,) = run.results
    assert q.sample.rows_used == 300 and "duckdb" in q.result.description


def test_outside_the_study_tree_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "study"
    inner.mkdir()
    _frame().to_parquet(tmp_path / "f1.parquet")
    m = _study(inner, 'data "../f*.parquet"')
    with pytest.raises(CausalError) as err:
        _answer(m)
    assert err.value.diagnostics[0].code == "E418"

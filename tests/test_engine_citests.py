"""`causal test`'s implication tests on engine-bound data (`engines.citests.local_tests`): the
same `LocalTests` as the in-memory path to 1e-8 on random data bound as Parquet files and as a
DuckDB table — partial correlations from moments (the frame never loaded), likelihood-ratio
tests on only their own columns, and untested with the reason beyond the in-memory row limit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import engines
from causal_dsl.checks.citests import LocalTests, local_tests

duckdb = pytest.importorskip("duckdb")

from causal_dsl.engines import citests  # noqa: E402

BODY = """var a: continuous
var b: continuous
var c: binary
var k: categorical
var e: binary
var f: count
a -> b -> f
a -> c
k -> b
c -> e
k -> e
"""


def _frame(seed: int, n: int = 400, missing: bool = True, violate: bool = False
           ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n) * 3 + 20
    k = rng.choice(["lo", "mid", "hi"], size=n)
    b = 0.5 * a + (k == "hi") + rng.normal(size=n)
    c = (rng.uniform(size=n) < 1 / (1 + np.exp(-(a - 20) / 3))).astype(int)
    e = (rng.uniform(size=n) < 0.3 + 0.4 * c - 0.1 * (k == "lo")).astype(int)
    f = rng.poisson(np.exp(0.1 * (b - 10) + (0.15 * (a - 20) if violate else 0.0)))
    frame = pd.DataFrame({"a": a, "b": b, "c": c, "k": k, "e": e, "f": f})
    if missing:
        frame["b"] = frame["b"].mask(rng.uniform(size=n) < 0.1)
        frame["k"] = frame["k"].mask(rng.uniform(size=n) < 0.05)
    return frame


def _bind(folder: Path, frame: pd.DataFrame, how: str) -> causal_dsl.Study:
    if how == "parquet":
        frame.iloc[: len(frame) // 3].to_parquet(folder / "d1.parquet")
        frame.iloc[len(frame) // 3:].to_parquet(folder / "d2.parquet")
        line = 'data "d*.parquet"'
    else:
        con = duckdb.connect(str(folder / "w.duckdb"))
        con.register("f", frame)
        con.execute("CREATE OR REPLACE TABLE obs AS SELECT * FROM f")
        con.close()
        line = 'data duckdb("w.duckdb", table = "obs")'
    (folder / "s.causal").write_text(line + "\n" + BODY)
    m = causal_dsl.load(str(folder / "s.causal"))
    assert engines.wants_engine(m)
    return m


def _same(got: LocalTests, want: LocalTests) -> None:
    assert got.verdict == want.verdict and str(got).count("\n") == str(want).count("\n")
    assert len(got.items) == len(want.items)
    for g, w in zip(got.items, want.items, strict=True):
        for field in ("x", "y", "given", "test", "measure", "df", "rejected", "n", "tested",
                      "note"):
            assert getattr(g, field) == getattr(w, field), (field, g, w)
        for field in ("estimate", "low", "high", "statistic", "p_value", "p_holm"):
            a, b = getattr(g, field), getattr(w, field)
            assert (a is None) == (b is None), (field, g, w)
            if a is not None:
                assert abs(a - b) <= 1e-8 * max(1.0, abs(a), abs(b)), (field, g, w)


@pytest.mark.parametrize("how", ["parquet", "duckdb"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_tests_match_in_memory(tmp_path: Path, how: str, seed: int) -> None:
    frame = _frame(seed, violate=seed == 2)
    m = _bind(tmp_path, frame, how)
    imps = m.implications()
    got = citests.local_tests(m, imps)
    want = local_tests(m, frame, imps)
    _same(got, want)
    assert bool(got.rejected) is (seed == 2)  # a ⊥ f | b fails when f depends on a
    kinds = {t.test.split(" (")[0] for t in got.items}
    assert kinds == {"partial correlation", "likelihood ratio"}  # both paths exercised


def test_linear_tests_never_load_the_frame(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(3, missing=False)
    m = _bind(tmp_path, frame, "parquet")
    linear = [i for i in m.implications() if "k" not in {i.x, i.y}
              and {i.x, i.y} != {"c", "e"}]
    monkeypatch.setattr(citests, "_columns", _refuse)
    got = citests.local_tests(m, linear)
    assert all(t.test.startswith("partial correlation") and t.tested for t in got.items)
    _same(got, local_tests(m, frame, linear))


def _refuse(*_a: object) -> None:
    raise AssertionError("loaded columns for a partial correlation")


def test_beyond_the_row_limit_likelihood_ratios_are_untested_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(4)
    m = _bind(tmp_path, frame, "duckdb")
    monkeypatch.setattr(engines, "MAX_IN_MEMORY_ROWS", 100)
    got = citests.local_tests(m, m.implications())
    lr = [t for t in got.items if not t.tested]
    assert lr and all("refused beyond 100 rows (400 here)" in t.note for t in lr)
    assert all(t.test.startswith("partial correlation") for t in got.tested)
    assert "could not be tested" in got.verdict
    want = local_tests(m, frame, [i for i in m.implications()
                                  if (i.x, i.y) in {(t.x, t.y) for t in got.tested}])
    for t in got.tested:  # Holm over fewer tests: compare the raw p-values
        (w,) = [u for u in want.items if (u.x, u.y, u.given) == (t.x, t.y, t.given)]
        assert t.p_value == pytest.approx(w.p_value, rel=1e-8, abs=1e-300)


def test_too_few_rows_and_constant_are_untested_alike(tmp_path: Path) -> None:
    frame = _frame(5, n=40)
    frame.loc[5:, "b"] = np.nan  # 5 complete rows of b: below MIN_ROWS
    frame["c"] = 1  # constant: "c is constant given ..."
    m = _bind(tmp_path, frame, "parquet")
    imps = [i for i in m.implications() if "k" not in {i.x, i.y}]
    got = citests.local_tests(m, imps)
    _same(got, local_tests(m, frame, imps))
    notes = " ".join(t.note for t in got.items)
    assert "need 10" in notes and "constant" in notes


_QUERY = "var d: binary\nvar y: continuous\na -> d\na -> y\nd -> y\nquery q: ate(d -> y)\n"


def _with_query(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = (frame["a"] + rng.normal(size=len(frame)) > 20).astype(int)
    return frame.assign(d=d, y=d + 0.2 * frame["a"] + rng.normal(size=len(frame)))


def test_causal_test_on_engine_data_is_the_in_memory_answer(tmp_path: Path) -> None:
    """`Study.test` (``causal test``) on a Parquet binding: implications from the engine, the
    per-query sensitivity and refutations on the loaded columns — the same report as a CSV."""
    frame = _with_query(_frame(5, missing=False), 5)
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "c.causal").write_text('data "d.csv"\n' + BODY + _QUERY)
    want = causal_dsl.load(str(tmp_path / "c.causal")).test()
    m = _bind(tmp_path, frame, "parquet")
    (tmp_path / "s.causal").write_text('data "d*.parquet"\n' + BODY + _QUERY)
    got = causal_dsl.load(str(tmp_path / "s.causal")).test()
    _same(got.local, want.local)
    assert m is not None and not got.queries[0].skipped
    def untimed(text: str) -> str:
        return re.sub(r"\d+\.\d+ s \(seed", "_ s (seed", text)

    assert untimed(str(got.queries[0])) == untimed(str(want.queries[0]))


def test_causal_test_beyond_the_row_limit_says_why_the_query_checks_are_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _with_query(_frame(6, missing=False), 6)
    _bind(tmp_path, frame, "parquet")
    (tmp_path / "s.causal").write_text('data "d*.parquet"\n' + BODY + _QUERY)
    monkeypatch.setattr(engines, "MAX_IN_MEMORY_ROWS", 100)
    got = causal_dsl.load(str(tmp_path / "s.causal")).test()
    assert got.local.tested  # the implications are still tested, from moments
    skipped = got.queries[0].skipped
    assert skipped.startswith("400 rows") and "not loaded" in skipped

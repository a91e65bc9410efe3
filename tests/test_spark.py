"""The Spark path in local mode: the same SQL as DuckDB, the same answer as pandas (OLS with
HC1 and CR1; the two-way fixed-effects regression of `using did` with CR1; matching, which is not
pushed down to Spark and falls back to the in-memory matcher on the loaded columns; the
planner's DiD rules and the implication tests in Spark SQL). One SparkSession for the module:
its start-up is most of the time. Skipped when pyspark or Java is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import planner

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)

from pyspark.sql import SparkSession


@pytest.fixture(scope="module")
def spark() -> SparkSession:
    session = (SparkSession.builder.master("local[2]").appName("causal-dsl-tests")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false").getOrCreate())
    yield session
    session.stop()


def test_ols_on_spark_matches_pandas(tmp_path: Path, spark: SparkSession) -> None:
    rng = np.random.default_rng(3)
    n = 500
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    frame = pd.DataFrame({"d": d, "y": 1 + 2 * d + x + rng.normal(size=n) * (1 + abs(x)),
                          "x": x, "g": rng.integers(0, 20, size=n)})
    frame.to_parquet(tmp_path / "f.parquet")
    for opts in ("", "(cluster = g)"):
        (tmp_path / "s.causal").write_text(
            'data spark("f.parquet")\nvar d: binary\nvar y: continuous\nvar x: continuous\n'
            f"d -> y\nx -> d\nx -> y\nquery q: ate(d -> y) using ols{opts}\n")
        m = causal_dsl.load(str(tmp_path / "s.causal"))
        from causal_dsl import engines
        p = planner.plan(m, m.queries[0])
        design = planner._design(m, p, m.queries[0], 0)
        got = engines.estimate(m, m.queries[0], p, design, None, seed=0, spark=spark)
        ref = planner.estimate(m, m.queries[0], data=frame)
        assert got is not None and "spark" in got.result.description
        a, b = got.result.estimate, ref.result.estimate
        assert a.effect == pytest.approx(b.effect, rel=1e-8)
        assert a.se == pytest.approx(b.se, rel=1e-8)


def _panel(seed: int = 5, units: int = 30, periods: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units) + 2010
    adopt = rng.choice([2011, 2012, 2099], size=units)[u]
    adopt[u == 0], adopt[u == 1] = 2011, 2099  # a switcher and a never-treated unit
    d = (t >= adopt).astype(int)
    z = rng.normal(size=len(u))
    y = rng.normal(size=units)[u] + 0.2 * t + d + 0.5 * z + rng.normal(size=len(u))
    frame = pd.DataFrame({"u": u, "t": t, "d": d, "y": y, "z": z, "s": u // 3,
                          "w": rng.normal(size=units)[u]})
    return frame[(rng.uniform(size=len(u)) >= 0.1) | (u < 2)].reset_index(drop=True)


DID = """data spark("p.parquet") panel(unit = u, time = t)
var d: binary
var y: continuous
var z: continuous
var w: continuous
d -> y
z -> y
w -> d
w -> y
query q: att(d -> y) using did{opts}
"""


@pytest.mark.parametrize("opts", ["", "(cluster = s)"])
def test_twfe_on_spark_matches_pandas(tmp_path: Path, spark: SparkSession, opts: str) -> None:
    """TWFE (period dummies, unit means from aggregates) with CR1 by unit or by a coarser
    cluster; the plan — w absorbed by the unit effects, found in Spark SQL — is the same."""
    frame = _panel()
    frame.to_parquet(tmp_path / "p.parquet")
    (tmp_path / "s.causal").write_text(DID.format(opts=opts))
    m = causal_dsl.load(str(tmp_path / "s.causal"))
    got = planner.estimate(m, m.queries[0])
    ref = planner.estimate(m, m.queries[0], data=frame)
    assert "in spark" in got.result.description
    assert str(got.plan) == str(ref.plan) and got.plan.absorbed == ("w",)
    a, b = got.result.estimate, ref.result.estimate
    assert a.effect == pytest.approx(b.effect, rel=1e-8)
    assert a.se == pytest.approx(b.se, rel=1e-8)
    for key in ("switchers", "never_treated", "always_treated", "units", "periods"):
        assert got.result.detail(key) == ref.result.detail(key), key


def test_matching_on_spark_falls_back_to_memory(tmp_path: Path, spark: SparkSession) -> None:
    """Matching streams rows into NumPy from DuckDB only: on Spark `engines.estimate` declines
    and the planner loads the declared columns (E422 beyond the limit) and matches in memory."""
    from causal_dsl import engines
    rng = np.random.default_rng(8)
    n = 300
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    frame = pd.DataFrame({"d": d, "y": 1 + 2 * d + x + rng.normal(size=n), "x": x})
    frame.to_parquet(tmp_path / "f.parquet")
    (tmp_path / "s.causal").write_text(
        'data spark("f.parquet")\nvar d: binary\nvar y: continuous\nvar x: continuous\n'
        "d -> y\nx -> d\nx -> y\nquery q: att(d -> y) using matching\n")
    m = causal_dsl.load(str(tmp_path / "s.causal"))
    p = planner.plan(m, m.queries[0])
    assert engines.estimate(m, m.queries[0], p, planner._design(m, p, m.queries[0], 0), None,
                            seed=0, spark=spark) is None
    got = planner.estimate(m, m.queries[0])
    ref = planner.estimate(m, m.queries[0], data=frame)
    assert got.result.method == "matching" and "spark" not in got.result.description
    a, b = got.result.estimate, ref.result.estimate
    assert a.effect == pytest.approx(b.effect, rel=1e-8)
    assert a.se == pytest.approx(b.se, rel=1e-8)


def test_implication_tests_in_spark_sql(tmp_path: Path, spark: SparkSession) -> None:
    """`engines.citests.local_tests` on Spark: a partial correlation from moments and a
    likelihood-ratio test on its loaded columns, equal to the in-memory tests."""
    from causal_dsl.checks.citests import local_tests
    from causal_dsl.engines import citests
    rng = np.random.default_rng(9)
    n = 300
    a = rng.normal(size=n) + 5
    b = a + rng.normal(size=n)
    c = (rng.uniform(size=n) < 0.5).astype(int)
    frame = pd.DataFrame({"a": a, "b": b, "f": b + rng.normal(size=n), "c": c,
                          "e": (rng.uniform(size=n) < 0.3 + 0.4 * c).astype(int),
                          "g": (rng.uniform(size=n) < 0.5).astype(int)})
    frame.to_parquet(tmp_path / "c.parquet")
    (tmp_path / "s.causal").write_text(
        'data spark("c.parquet")\nvar a: continuous\nvar b: continuous\nvar f: continuous\n'
        "var c: binary\nvar e: binary\nvar g: binary\na -> b -> f\nc -> e\ng -> e\n")
    m = causal_dsl.load(str(tmp_path / "s.causal"))
    imps = [i for i in m.implications() if {i.x, i.y} in ({"a", "f"}, {"c", "g"})]
    got, want = citests.local_tests(m, imps, spark=spark), local_tests(m, frame, imps)
    assert {t.test.split(" (")[0] for t in got.items} == {"partial correlation",
                                                           "likelihood ratio"}
    for g, w in zip(got.items, want.items, strict=True):
        assert (g.x, g.y, g.given, g.test, g.n) == (w.x, w.y, w.given, w.test, w.n)
        assert g.estimate == pytest.approx(w.estimate, rel=1e-8, abs=1e-12)
        assert g.p_value == pytest.approx(w.p_value, rel=1e-8)
